"""numpy's function API on traced values: each numpy function mapped to registered primitives.

A handler normalises numpy's arguments (axes, shapes, sequences of arrays) and calls primitives, or
composes them (``stack`` is ``expand_dims`` + ``concatenate``), so it adds no derivative rule of its
own. Functions that return no derivative (shapes, comparisons, argmax, ...) act on plain values.
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
from . import linalg as la
from . import structural as st
from .bind import FUNC, UFUNC, no_derivative


def _axes(axis: Any, ndim: int) -> tuple[int, ...] | None:
    if axis is None:
        return None
    if isinstance(axis, (int, np.integer)):
        axis = (axis,)
    out = []
    for a in axis:
        a = operator.index(a)
        if not -ndim <= a < max(ndim, 1):
            raise np.exceptions.AxisError(a, ndim)
        out.append(a % ndim if ndim else 0)
    return tuple(sorted(out))


def _no_extra(name: str, kwargs: dict, allowed: Sequence[str] = ()) -> None:
    bad = [k for k, v in kwargs.items() if k not in allowed and v is not None]
    if bad:
        raise TypeError(f"np.{name}: keyword arguments {bad} are not supported on traced values")


def _reduction(prim: Any, name: str) -> Callable[..., Any]:
    def handler(a: Any, axis: Any = None, dtype: Any = None, out: Any = None,
                keepdims: bool = False, **kwargs: Any) -> Any:
        if out is not None:
            raise MutationError(f"np.{name}(..., out=...) writes in place; drop out=.")
        _no_extra(name, kwargs)
        if kwargs.get("initial") is not None or kwargs.get("where") is not None:
            raise TypeError(f"np.{name}: initial= and where= are not supported on traced values")
        kw = {"axis": _axes(axis, len(shape_of(a))), "keepdims": bool(keepdims)}
        if isinstance(a, Traced):  # the only argument, so the innermost box: skip the dispatch
            return a._apply(prim, (a,), kw)
        return prim(a, **kw)

    handler.__name__ = name
    return handler


def _extreme(prim: Any, name: str) -> Callable[..., Any]:
    def handler(a: Any, axis: Any = None, out: Any = None, keepdims: bool = False,
                **kwargs: Any) -> Any:
        if out is not None:
            raise MutationError(f"np.{name}(..., out=...) writes in place; drop out=.")
        _no_extra(name, kwargs)
        kw = {"axis": _axes(axis, len(shape_of(a))), "keepdims": bool(keepdims)}
        if isinstance(a, Traced):  # the only argument, so the innermost box: skip the dispatch
            return a._apply(prim, (a,), kw)
        return prim(a, **kw)

    return handler


def _mean(a: Any, axis: Any = None, dtype: Any = None, out: Any = None,
          keepdims: bool = False, **kwargs: Any) -> Any:
    if out is not None:
        raise MutationError("np.mean(..., out=...) writes in place; drop out=.")
    shape = shape_of(a)
    axes = _axes(axis, len(shape))
    count = int(np.prod([shape[i] for i in (axes if axes is not None else range(len(shape)))]))
    return st.sum_(a, axis=axes, keepdims=bool(keepdims)) / count


def _reshape(a: Any, shape: Any = None, order: str = "C", **kwargs: Any) -> Any:
    if shape is None:
        shape = kwargs.pop("newshape")
    if order != "C":
        raise TypeError("np.reshape: only order='C' is supported on traced values")
    if isinstance(shape, (int, np.integer)):
        shape = (int(shape),)
    # Resolve -1 on the value so the rules see the concrete shape.
    return st.reshape(a, shape=np.reshape(np.empty(shape_of(a), dtype=np.bool_), shape).shape)


def _transpose(a: Any, axes: Any = None) -> Any:
    nd = len(shape_of(a))
    axes = tuple(range(nd))[::-1] if axes is None else tuple(operator.index(i) % nd for i in axes)
    return st.transpose(a, axes=axes)


def _swapaxes(a: Any, axis1: int, axis2: int) -> Any:
    nd = len(shape_of(a))
    perm = list(range(nd))
    i, j = axis1 % nd, axis2 % nd
    perm[i], perm[j] = perm[j], perm[i]
    return st.transpose(a, axes=tuple(perm))


def _moveaxis(a: Any, source: Any, destination: Any) -> Any:
    nd = len(shape_of(a))
    src = [operator.index(i) % nd for i in np.atleast_1d(source)]
    dst = [operator.index(i) % nd for i in np.atleast_1d(destination)]
    order = [i for i in range(nd) if i not in src]
    for d, s in sorted(zip(dst, src)):
        order.insert(d, s)
    return st.transpose(a, axes=tuple(order))


def _ravel(a: Any, order: str = "C") -> Any:
    return _reshape(a, (-1,), order)


def _squeeze(a: Any, axis: Any = None) -> Any:
    shape = shape_of(a)
    axes = _axes(axis, len(shape))
    if axes is None:
        axes = tuple(i for i, n in enumerate(shape) if n == 1)
    for i in axes:
        if shape[i] != 1:
            raise ValueError(f"np.squeeze: cannot select an axis of length {shape[i]} to squeeze")
    return st.reshape(a, shape=tuple(n for i, n in enumerate(shape) if i not in axes))


def _expand_dims(a: Any, axis: Any) -> Any:
    shape = np.expand_dims(np.empty(shape_of(a), dtype=np.bool_), axis).shape
    return st.reshape(a, shape=shape)


def _broadcast_to(a: Any, shape: Any, subok: bool = False) -> Any:
    shape = (int(shape),) if isinstance(shape, (int, np.integer)) else tuple(shape)
    if tuple(shape_of(a)) == shape:
        return a
    return st.broadcast_to(a, shape=shape)


def _atleast(nd: int) -> Callable[..., Any]:
    def handler(*arys: Any) -> Any:
        res = []
        for a in arys:
            shape = shape_of(a)
            if len(shape) >= nd:
                res.append(a)
                continue
            if nd == 1:
                new = (1,) * (1 - len(shape)) + shape
            elif nd == 2:
                new = (1,) * (2 - len(shape)) + shape
            else:
                new = {0: (1, 1, 1), 1: (1,) + shape + (1,), 2: shape + (1,)}[len(shape)]
            res.append(st.reshape(a, shape=new))
        return res[0] if len(res) == 1 else tuple(res)

    return handler


def _concatenate(arrays: Sequence[Any], axis: Any = 0, out: Any = None, **kwargs: Any) -> Any:
    if out is not None:
        raise MutationError("np.concatenate(..., out=...) writes in place; drop out=.")
    arrays = list(arrays)
    if axis is None:
        arrays = [_ravel(a) for a in arrays]
        axis = 0
    nd = len(shape_of(arrays[0]))
    return st.concatenate(*arrays, axis=operator.index(axis) % nd)


def _stack(arrays: Sequence[Any], axis: int = 0, out: Any = None, **kwargs: Any) -> Any:
    arrays = list(arrays)
    nd = len(shape_of(arrays[0])) + 1
    axis = operator.index(axis) % nd
    return st.concatenate(*[_expand_dims(a, axis) for a in arrays], axis=axis)


def _hstack(tup: Sequence[Any], **kwargs: Any) -> Any:
    arrs = [_atleast(1)(a) for a in tup]
    return _concatenate(arrs, axis=0 if len(shape_of(arrs[0])) == 1 else 1)


def _vstack(tup: Sequence[Any], **kwargs: Any) -> Any:
    return _concatenate([_atleast(2)(a) for a in tup], axis=0)


def _cumsum(a: Any, axis: Any = None, dtype: Any = None, out: Any = None) -> Any:
    if out is not None:
        raise MutationError("np.cumsum(..., out=...) writes in place; drop out=.")
    if axis is None:
        return st.cumsum(_ravel(a), axis=0)
    return st.cumsum(a, axis=operator.index(axis) % len(shape_of(a)))


def _dot(a: Any, b: Any, out: Any = None) -> Any:
    if out is not None:
        raise MutationError("np.dot(..., out=...) writes in place; drop out=.")
    na, nb = len(shape_of(a)), len(shape_of(b))
    if na == 0 or nb == 0:
        return ew.multiply(a, b)
    if na <= 2 and nb <= 2:
        return la.matmul(a, b)
    if nb == 1:
        return la.matmul(a, b)
    raise UnsupportedFunctionError("np.dot of arrays with more than 2 dimensions (use np.matmul)")


def _inner(a: Any, b: Any) -> Any:
    na, nb = len(shape_of(a)), len(shape_of(b))
    if na == 0 or nb == 0:
        return ew.multiply(a, b)
    if nb == 1:
        return la.matmul(a, b)
    return la.matmul(a, _swapaxes(b, -1, -2)) if nb == 2 else _unsupported("np.inner (>2-D)")


def _outer(a: Any, b: Any, out: Any = None) -> Any:
    return ew.multiply(st.reshape(a, shape=(_size(a), 1)), st.reshape(b, shape=(1, _size(b))))


def _size(a: Any) -> int:
    return int(np.prod(shape_of(a), dtype=np.int64))


def _vdot(a: Any, b: Any) -> Any:
    return la.matmul(_ravel(a), _ravel(b))


def _unsupported(name: str) -> Any:
    raise UnsupportedFunctionError(name)


def _where(condition: Any, x: Any = None, y: Any = None) -> Any:
    if x is None and y is None:
        return np.where(plain(condition))
    return ew.where(condition, x, y)


def _clip(a: Any, a_min: Any = None, a_max: Any = None, out: Any = None, **kwargs: Any) -> Any:
    if out is not None:
        raise MutationError("np.clip(..., out=...) writes in place; drop out=.")
    a_min = kwargs.pop("min", a_min)
    a_max = kwargs.pop("max", a_max)
    lo = -np.inf if a_min is None else a_min
    hi = np.inf if a_max is None else a_max
    return ew.clip(a, lo, hi)


def _full_like(a: Any, fill_value: Any, dtype: Any = None, order: str = "K", subok: bool = True,
               shape: Any = None, **kwargs: Any) -> Any:
    """Constant in ``a``; the fill value, when traced, is broadcast (its derivative sums back)."""
    shape = shape_of(a) if shape is None else ((shape,) if isinstance(shape, int) else tuple(shape))
    if isinstance(fill_value, Traced):
        return _broadcast_to(fill_value, shape)
    return np.full(shape, fill_value, dtype=dtype if dtype is not None else np.asarray(plain(a)).dtype)


def _copyto(dst: Any, src: Any, *args: Any, **kwargs: Any) -> None:
    raise MutationError(
        "np.copyto (also used by np.full_like(plain, traced) and np.put-like code) writes a traced "
        "value into an existing array, which would drop its derivative. Build a new array instead: "
        "np.broadcast_to(v, shape), np.where(mask, v, x), or collect values in a list and np.stack."
    )


_copyto.refuses = True  # type: ignore[attr-defined]


def _copy(a: Any, *args: Any, **kwargs: Any) -> Any:
    return a





FUNC.update({
    np.sum: _reduction(st.sum_, "sum"),
    np.prod: _reduction(st.prod, "prod"),
    np.max: _extreme(st.max_, "max"),
    np.min: _extreme(st.min_, "min"),
    np.amax: _extreme(st.max_, "amax"),
    np.amin: _extreme(st.min_, "amin"),
    np.mean: _mean,
    np.reshape: _reshape,
    np.transpose: _transpose,
    np.swapaxes: _swapaxes,
    np.moveaxis: _moveaxis,
    np.ravel: _ravel,
    np.squeeze: _squeeze,
    np.expand_dims: _expand_dims,
    np.broadcast_to: _broadcast_to,
    np.atleast_1d: _atleast(1),
    np.atleast_2d: _atleast(2),
    np.atleast_3d: _atleast(3),
    np.concatenate: _concatenate,
    np.stack: _stack,
    np.hstack: _hstack,
    np.vstack: _vstack,
    np.cumsum: _cumsum,
    np.dot: _dot,
    np.inner: _inner,
    np.outer: _outer,
    np.vdot: _vdot,
    np.where: _where,
    np.clip: _clip,
    np.copy: _copy,
    np.full_like: _full_like,
    np.copyto: _copyto,
    np.asanyarray: _copy,
})

# Functions whose result carries no derivative: shapes, predicates, index computations.
for _f in (np.shape, np.ndim, np.size, np.argmax, np.argmin, np.argsort, np.nonzero, np.isclose,
           np.allclose, np.array_equal, np.zeros_like, np.ones_like, np.empty_like,
           np.result_type, np.iscomplexobj, np.isrealobj, np.count_nonzero, np.searchsorted,
           np.any, np.all):
    FUNC[_f] = no_derivative(_f)

# Ufuncs with a zero derivative or a non-float result (comparisons, predicates, rounding).
for _u in (np.sign, np.floor, np.ceil, np.trunc, np.rint, np.less, np.less_equal, np.greater,
           np.greater_equal, np.equal, np.not_equal, np.isfinite, np.isinf, np.isnan, np.signbit,
           np.logical_and, np.logical_or, np.logical_not, np.logical_xor):
    UFUNC[_u] = no_derivative(_u)
UFUNC[np.matmul] = la.matmul
UFUNC[np.square] = ew.square
