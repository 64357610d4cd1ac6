"""Building and slicing arrays: numpy functions composed of registered primitives, no new rules.

Most of them only move entries around (tile, repeat, rot90, take, diagonal, pad with the
edge/reflect/symmetric/wrap modes, insert): numpy applied to an array of entry numbers gives the
map, and the result is one gather (``getitem`` of the ravelled input with an index array), whose
rules scatter-add cotangents back, so repeated entries accumulate. Functions that also place
zeros (diag of a vector, diagflat, constant padding) gather from the input with one zero
appended; tril and triu are ``where`` with a constant mask; split, flip and roll are basic
slices (roll joins two per axis).
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ..errors import MutationError, UnsupportedFunctionError
from ..registry import Traced, plain
from ..unbroadcast import shape_of
from . import elementwise as ew
from . import numpy_api as api
from . import structural as st
from .bind import FUNC


def _arr(x: Any) -> Any:
    """A traced value as it is; anything else (lists, numbers) as a numpy array."""
    return x if isinstance(x, Traced) else np.asarray(x)


def _entry_numbers(x: Any) -> np.ndarray:
    shape = shape_of(x)
    return np.arange(int(np.prod(shape, dtype=np.int64))).reshape(shape)


def _gather(x: Any, ids: Any) -> Any:
    """The entries of ``x`` at flat positions ``ids`` (an integer array of the result's shape)."""
    return st.getitem(api._ravel(x), index=(np.asarray(ids, dtype=np.intp),))


def _gather_or_zero(x: Any, ids1: np.ndarray) -> Any:
    """Like ``_gather`` with ``ids1`` = 1 + flat position, and 0 where the result is zero."""
    flat = api._ravel(x)
    if not np.all(ids1):
        flat = st.concatenate(flat, np.zeros(1), axis=0)
    return st.getitem(flat, index=(np.asarray(ids1, dtype=np.intp) - 1,))  # -1: the appended zero


def _entry_map(func: Callable[..., Any]) -> Callable[..., Any]:
    """The binding of a numpy function that only moves the entries of its first argument."""

    def handler(a: Any, *args: Any, **kwargs: Any) -> Any:
        a = _arr(a)
        args = tuple(plain(v) for v in args)
        kwargs = {k: plain(v) for k, v in kwargs.items()}
        return _gather(a, func(_entry_numbers(a), *args, **kwargs))

    handler.__name__ = func.__name__
    return handler


def _has_traced(v: Any) -> bool:
    if isinstance(v, (list, tuple)):
        return any(_has_traced(u) for u in v)
    return isinstance(v, Traced)


# ---- gathers --------------------------------------------------------------------------------------
def _take(a: Any, indices: Any, axis: Any = None, out: Any = None, mode: str = "raise") -> Any:
    if out is not None:
        raise MutationError("np.take(..., out=...) writes in place; drop out=.")
    return _gather(a, np.take(_entry_numbers(_arr(a)), np.asarray(plain(indices)), axis=axis,
                              mode=mode))


def _diag(v: Any, k: int = 0) -> Any:
    v = _arr(v)
    if len(shape_of(v)) == 1:
        return _gather_or_zero(v, np.diag(_entry_numbers(v) + 1, k))
    return _gather(v, np.diag(_entry_numbers(v), k))


def _diagflat(v: Any, k: int = 0) -> Any:
    v = _arr(v)
    return _gather_or_zero(v, np.diagflat(_entry_numbers(v) + 1, k))


_PAD_MODES = ("constant", "edge", "reflect", "symmetric", "wrap")


def _pad(array: Any, pad_width: Any, mode: Any = "constant", **kwargs: Any) -> Any:
    """np.pad for the modes that copy entries or constants; constant_values must be plain."""
    if not isinstance(mode, str) or mode not in _PAD_MODES:
        raise UnsupportedFunctionError(
            f"np.pad with mode={mode!r} (on traced values np.pad supports the modes "
            f"{', '.join(_PAD_MODES)})")
    if kwargs.get("reflect_type", "even") != "even":
        raise UnsupportedFunctionError(
            "np.pad with reflect_type='odd' (on traced values only reflect_type='even' is supported)")
    array, pad_width = _arr(array), plain(pad_width)
    if mode != "constant":
        return _gather(array, np.pad(_entry_numbers(array), pad_width, mode=mode, **kwargs))
    values = kwargs.pop("constant_values", 0)
    if _has_traced(values):
        raise TypeError("np.pad: constant_values must be plain numbers on traced values; to "
                        "differentiate with respect to the padding, build it with np.concatenate")
    out = _gather_or_zero(array, np.pad(_entry_numbers(array) + 1, pad_width, mode="constant",
                                        **kwargs))
    fill = np.pad(np.zeros(shape_of(array)), pad_width, mode="constant", constant_values=values)
    return out + fill if np.any(fill) else out


def _insert(arr: Any, obj: Any, values: Any, axis: Any = None) -> Any:
    arr, values = _arr(arr), _arr(values)
    first = _entry_numbers(arr)
    second = first.size + _entry_numbers(values)
    obj = obj if isinstance(obj, slice) else np.asarray(plain(obj))
    ids = np.insert(first, obj, second, axis=axis)
    return st.getitem(st.concatenate(api._ravel(arr), api._ravel(values), axis=0), index=(ids,))


def _append(arr: Any, values: Any, axis: Any = None) -> Any:
    arr, values = _arr(arr), _arr(values)
    if axis is None:
        return st.concatenate(api._ravel(arr), api._ravel(values), axis=0)
    return api._concatenate([arr, values], axis=axis)


# ---- slices ---------------------------------------------------------------------------------------
def _flip(m: Any, axis: Any = None) -> Any:
    nd = len(shape_of(m))
    if nd == 0:
        return m
    axes = range(nd) if axis is None else api._axes(axis, nd)
    return st.getitem(m, index=tuple(slice(None, None, -1) if i in axes else slice(None)
                                     for i in range(nd)))


def _fliplr(m: Any) -> Any:
    if len(shape_of(m)) < 2:
        raise ValueError("np.fliplr: input must be >= 2-d.")
    return _flip(m, 1)


def _flipud(m: Any) -> Any:
    if len(shape_of(m)) < 1:
        raise ValueError("np.flipud: input must be >= 1-d.")
    return _flip(m, 0)


def _roll(a: Any, shift: Any, axis: Any = None) -> Any:
    """np.roll as two slices joined per rolled axis (no gather)."""
    a = _arr(a)
    shape = shape_of(a)
    if axis is None:
        return api._reshape(_roll(api._ravel(a), shift, 0), shape)
    total: dict[int, int] = {}
    for s, ax in np.broadcast(plain(shift), axis):
        ax = api._axes(int(ax), len(shape))[0]
        total[ax] = total.get(ax, 0) + int(s)
    for ax, s in sorted(total.items()):
        n = shape[ax]
        s = s % n if n else 0
        if s:
            head = (slice(None),) * ax
            a = st.concatenate(st.getitem(a, index=head + (slice(n - s, None),)),
                               st.getitem(a, index=head + (slice(None, n - s),)), axis=ax)
    return a


def _split_along(ary: Any, sections: Any, axis: Any, strict: bool) -> list[Any]:
    nd = len(shape_of(ary))
    axis = operator.index(axis)
    if not -nd <= axis < nd:
        raise np.exceptions.AxisError(axis, nd)
    axis %= nd
    pieces = (np.split if strict else np.array_split)(
        np.arange(shape_of(ary)[axis]), plain(sections))
    out = []
    for p in pieces:
        cut = slice(int(p[0]), int(p[-1]) + 1) if len(p) else slice(0, 0)
        out.append(st.getitem(ary, index=(slice(None),) * axis + (cut,)))
    return out


def _split(ary: Any, indices_or_sections: Any, axis: int = 0) -> list[Any]:
    return _split_along(ary, indices_or_sections, axis, strict=True)


def _array_split(ary: Any, indices_or_sections: Any, axis: int = 0) -> list[Any]:
    return _split_along(ary, indices_or_sections, axis, strict=False)


def _nd_split(name: str, min_ndim: int, axis: Callable[[int], int]) -> Callable[..., Any]:
    def handler(ary: Any, indices_or_sections: Any) -> list[Any]:
        nd = len(shape_of(ary))
        if nd < min_ndim:
            raise ValueError(f"np.{name} only works on arrays of {min_ndim} or more dimensions")
        return _split_along(ary, indices_or_sections, axis(nd), strict=True)

    return handler


# ---- masks and broadcasts -------------------------------------------------------------------------
def _tril(m: Any, k: int = 0) -> Any:
    return ew.where(np.tri(*shape_of(m)[-2:], k=k, dtype=bool), m, 0.0)


def _triu(m: Any, k: int = 0) -> Any:
    return ew.where(~np.tri(*shape_of(m)[-2:], k=k - 1, dtype=bool), m, 0.0)


def _select(condlist: Sequence[Any], choicelist: Sequence[Any], default: Any = 0) -> Any:
    """The first true condition picks its choice: nested ``where`` from the last one back."""
    if len(condlist) != len(choicelist):
        raise ValueError("np.select: list of cases must be same length as list of conditions")
    if len(condlist) == 0:
        raise ValueError("np.select: select with an empty condition list is not possible")
    result = default
    for k in reversed(range(len(condlist))):
        cond = np.asarray(plain(condlist[k]))
        if cond.dtype != bool:
            raise TypeError(f"np.select: invalid entry {k} in condlist: should be boolean ndarray")
        result = ew.where(cond, choicelist[k], result)
    return result


def _meshgrid(*xi: Any, copy: bool = True, sparse: bool = False, indexing: str = "xy") -> tuple:
    if indexing not in ("xy", "ij"):
        raise ValueError("np.meshgrid: valid values for `indexing` are 'xy' and 'ij'.")
    nd = len(xi)
    shapes = [[1] * nd for _ in xi]
    for i, x in enumerate(xi):
        shapes[i][i] = -1
    if indexing == "xy" and nd > 1:
        shapes[0][:2], shapes[1][:2] = [1, -1], [-1, 1]
    out = [api._reshape(_arr(x), tuple(s)) for x, s in zip(xi, shapes)]
    if not sparse:
        full = np.broadcast_shapes(*(shape_of(o) for o in out))
        out = [api._broadcast_to(o, full) for o in out]
    return tuple(out)


# ---- ranges and stacks ----------------------------------------------------------------------------
def _linspace(start: Any, stop: Any, num: Any = 50, endpoint: bool = True, retstep: bool = False,
              dtype: Any = None, axis: int = 0, *, device: Any = None) -> Any:
    """numpy's own steps: ``arange(num) * step + start`` with the last entry ``stop`` (a join)."""
    num = operator.index(num)
    if num < 0:
        raise ValueError(f"Number of samples, {num}, must be non-negative.")
    if dtype is not None and not np.issubdtype(dtype, np.floating):
        raise TypeError(f"np.linspace(dtype={np.dtype(dtype).name}) of traced start/stop: an "
                        "integer or complex result has no real derivative; compute it on "
                        "modes.plain(start), modes.plain(stop)")
    start, stop = _arr(start), _arr(stop)
    div = num - 1 if endpoint else num
    delta = stop - start
    shape = shape_of(delta)
    y = np.arange(num, dtype=float).reshape((-1,) + (1,) * len(shape))
    if div > 0:
        step = delta / div
        y = y * step + start
    else:
        step = np.nan
        y = y * delta + start
    if endpoint and num > 1:
        last = api._broadcast_to(stop, shape) if shape_of(stop) != shape else stop
        y = st.concatenate(y[:-1], api._reshape(last, (1,) + shape), axis=0)
    if axis != 0:
        y = np.moveaxis(y, 0, axis)
    return (y, step) if retstep else y


def _dstack(tup: Sequence[Any]) -> Any:
    return api._concatenate([api._atleast(3)(_arr(a)) for a in tup], axis=2)


def _column_stack(tup: Sequence[Any]) -> Any:
    cols = []
    for a in tup:
        a = _arr(a)
        if len(shape_of(a)) < 2:
            a = api._reshape(a, (-1, 1))
        cols.append(a)
    return api._concatenate(cols, axis=1)


def _row_stack(tup: Sequence[Any], **kwargs: Any) -> Any:
    import warnings
    warnings.warn("`row_stack` alias is deprecated. Use `np.vstack` directly.",
                  DeprecationWarning, stacklevel=3)
    return api._vstack([_arr(a) for a in tup], **kwargs)


def _block_depth(arrays: Any, where: str) -> int:
    if isinstance(arrays, tuple):
        raise TypeError(f"{where} is a tuple. Only lists can be used to arrange blocks, and np.block "
                        "does not allow implicit conversion from tuple to ndarray.")
    if not isinstance(arrays, list):
        return 0
    if not arrays:
        raise ValueError(f"List at {where} cannot be empty")
    depths = {_block_depth(a, f"{where}[{i}]") for i, a in enumerate(arrays)}
    if len(depths) != 1:
        raise ValueError(f"List depths are mismatched at {where}: all blocks must be nested as "
                         "deeply")
    return 1 + depths.pop()


def _block(arrays: Any) -> Any:
    """Nested lists joined from the innermost out: depth d joins along axis -1, d - 1 along -2..."""
    depth = _block_depth(arrays, "arrays")

    def leaves(x: Any) -> list[Any]:
        return [v for a in x for v in leaves(a)] if isinstance(x, list) else [x]

    ndim = max(depth, *(len(shape_of(_arr(v))) for v in leaves(arrays)))

    def join(x: Any, level: int) -> Any:
        if not isinstance(x, list):
            x = _arr(x)
            shape = shape_of(x)
            return api._reshape(x, (1,) * (ndim - len(shape)) + shape) if len(shape) < ndim else x
        parts = [join(a, level + 1) for a in x]
        return parts[0] if len(parts) == 1 else st.concatenate(*parts, axis=ndim - (depth - level))

    return join(arrays, 0)


def _delete(arr: Any, obj: Any, axis: Any = None) -> Any:
    arr = _arr(arr)
    obj = obj if isinstance(obj, slice) else np.asarray(plain(obj))
    return _gather(arr, np.delete(_entry_numbers(arr), obj, axis=axis))


def _piecewise(x: Any, condlist: Any, funclist: Sequence[Any], *args: Any, **kw: Any) -> Any:
    """Each function sees only the entries its condition selects (a gather), as in numpy, so it is
    never evaluated (or differentiated) outside its piece; the pieces are placed back with a gather
    and joined with ``where`` (later conditions win)."""
    x = _arr(x)
    shape = shape_of(x)
    # numpy's reading of condlist: one condition or a list of them, each broadcast to x.
    if isinstance(condlist, Traced) or np.isscalar(condlist) or (
            not isinstance(condlist[0], (list, np.ndarray, Traced)) and len(shape) != 0):
        condlist = [condlist]
    conds = list(np.asarray([plain(c) for c in condlist], dtype=bool))
    if len(funclist) == len(conds) + 1:
        conds.append(~np.any(conds, axis=0))
    elif len(funclist) != len(conds):
        raise ValueError(f"with {len(conds)} condition(s), either {len(conds)} or {len(conds) + 1} "
                         "functions are expected")
    if len(shape) == 0:  # a scalar: one entry of a vector
        x, conds = api._reshape(x, (1,)), [np.reshape(c, (1,)) for c in conds]
        return api._reshape(_piecewise(x, conds, funclist, *args, **kw), ())
    conds = [np.broadcast_to(c, shape) for c in conds]
    y: Any = np.zeros(shape)
    for cond, func in zip(conds, funclist):
        if not callable(func):
            if isinstance(func, Traced):
                raise TypeError("np.piecewise: a traced constant in funclist; pass a function "
                                "(lambda v: c) instead")
            y = ew.where(cond, func, y)
            continue
        if not np.any(cond):
            continue
        vals = func(st.getitem(x, index=(cond,)), *args, **kw)
        vals = api._broadcast_to(_arr(vals), (int(np.sum(cond)),))
        ids1 = np.zeros(shape, dtype=np.intp)
        ids1[cond] = np.arange(1, int(np.sum(cond)) + 1)
        y = ew.where(cond, _gather_or_zero(vals, ids1), y)
    return y



FUNC.update({
    np.take: _take,
    np.roll: _roll,
    np.rot90: _entry_map(np.rot90),
    np.tile: _entry_map(np.tile),
    np.repeat: _entry_map(np.repeat),
    np.diagonal: _entry_map(np.diagonal),
    np.diag: _diag,
    np.diagflat: _diagflat,
    np.pad: _pad,
    np.insert: _insert,
    np.append: _append,
    np.flip: _flip,
    np.fliplr: _fliplr,
    np.flipud: _flipud,
    np.split: _split,
    np.array_split: _array_split,
    np.hsplit: _nd_split("hsplit", 1, lambda nd: 1 if nd > 1 else 0),
    np.vsplit: _nd_split("vsplit", 2, lambda nd: 0),
    np.dsplit: _nd_split("dsplit", 3, lambda nd: 2),
    np.tril: _tril,
    np.triu: _triu,
    np.select: _select,
    np.meshgrid: _meshgrid,
    np.linspace: _linspace,
    np.dstack: _dstack,
    np.column_stack: _column_stack,
    np.block: _block,
    np.delete: _delete,
    np.piecewise: _piecewise,
})
if hasattr(np, "row_stack"):  # deprecated in numpy 2.0
    FUNC[np.row_stack] = _row_stack
