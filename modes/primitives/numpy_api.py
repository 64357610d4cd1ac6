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


def lift_sequence(a: Any) -> Any:
    """A Python list or tuple holding traced values as one traced array; anything else unchanged."""
    if isinstance(a, (list, tuple)):
        from ..tracing import lift_object_array
        return lift_object_array(np.array(a, dtype=object))
    return a


def _given(v: Any) -> bool:
    return v is not None and v is not np._NoValue


def _mask(name: str, where: Any, shape: tuple[int, ...]) -> np.ndarray | None:
    """The plain boolean ``where=`` mask of a reduction, broadcast to the input (None: all)."""
    if not _given(where) or where is True:
        return None
    mask = np.asarray(plain(where))
    if mask.dtype != bool:
        raise TypeError(f"np.{name}: where= must be a boolean mask, not {mask.dtype}")
    if np.broadcast_shapes(mask.shape, shape) != tuple(shape):
        raise ValueError(f"np.{name}: where= of shape {mask.shape} does not broadcast to the "
                         f"input's shape {tuple(shape)}")
    return np.broadcast_to(mask, shape)


_IDENTITY = {"sum": 0.0, "prod": 1.0}


def _reduction(prim: Any, name: str) -> Callable[..., Any]:
    """sum and prod: ``where=mask`` reduces ``where(mask, a, identity)``; ``initial`` is one more
    term (added to the sum, multiplied into the product)."""

    def handler(a: Any, axis: Any = None, dtype: Any = None, out: Any = None,
                keepdims: bool = False, initial: Any = None, where: Any = None,
                **kwargs: Any) -> Any:
        if out is not None:
            raise MutationError(f"np.{name}(..., out=...) writes in place; drop out=.")
        if kwargs:
            _no_extra(name, kwargs)
        if isinstance(a, Traced) and initial is None and where is None:  # the common call
            return a._apply(prim, (a,), {"axis": None if axis is None else _axes(axis, a.ndim),
                                         "keepdims": bool(keepdims)})
        a = lift_sequence(a)
        shape = shape_of(a)
        kw = {"axis": _axes(axis, len(shape)), "keepdims": bool(keepdims)}
        mask = _mask(name, where, shape)
        if mask is not None:
            a = ew.where(mask, a, _IDENTITY[name])
        if isinstance(a, Traced):  # the only argument, so the innermost box: skip the dispatch
            res = a._apply(prim, (a,), kw)
        else:
            res = prim(a, **kw)
        if _given(initial):
            res = res + initial if name == "sum" else res * initial
        return res

    handler.__name__ = name
    return handler


def _with_initial(a: Any, axes: tuple[int, ...] | None, initial: Any) -> tuple[Any, int]:
    """``a`` with its reduced axes moved last and folded into one, plus one column of ``initial``:
    max/min over that last axis include the initial value as one more entry (ties share)."""
    shape = shape_of(a)
    nd = len(shape)
    axes = tuple(range(nd)) if axes is None else axes
    kept = [i for i in range(nd) if i not in axes]
    lead = tuple(shape[i] for i in kept)
    folded = st.reshape(st.transpose(a, axes=tuple(kept) + axes) if nd else a,
                        shape=lead + (int(np.prod([shape[i] for i in axes], dtype=np.int64)),))
    column = np.broadcast_to(initial, lead + (1,)) if not isinstance(initial, Traced) else \
        _broadcast_to(initial, lead + (1,))
    return st.concatenate(folded, column, axis=len(lead)), len(lead)


def _extreme(prim: Any, name: str) -> Callable[..., Any]:
    """max and min; ``where=mask`` needs ``initial`` (as in numpy), which fills the masked entries
    and counts as one more entry of every slice."""
    fill_name = "maximum" if "max" in name else "minimum"

    def handler(a: Any, axis: Any = None, out: Any = None, keepdims: bool = False,
                initial: Any = None, where: Any = None, **kwargs: Any) -> Any:
        if out is not None:
            raise MutationError(f"np.{name}(..., out=...) writes in place; drop out=.")
        _no_extra(name, kwargs)
        a = lift_sequence(a)
        shape = shape_of(a)
        kw = {"axis": _axes(axis, len(shape)), "keepdims": bool(keepdims)}
        mask = _mask(name, where, shape)
        if not _given(initial):
            if mask is not None:
                raise ValueError(f"reduction operation '{fill_name}' does not have an identity, "
                                 "so to use a where mask one has to specify 'initial'")
            if isinstance(a, Traced):  # the only argument, so the innermost box: skip the dispatch
                return a._apply(prim, (a,), kw)
            return prim(a, **kw)
        if len(shape_of(initial)) != 0:
            raise ValueError(f"np.{name}: initial= must be a scalar")
        if mask is not None:
            a = ew.where(mask, a, initial)
        folded, last = _with_initial(a, kw["axis"], initial)
        res = prim(folded, axis=(last,), keepdims=False)
        if kw["keepdims"]:
            res = st.reshape(res, shape=np.sum(np.empty(shape, dtype=np.bool_), axis=kw["axis"],
                                               keepdims=True).shape)
        return res

    handler.__name__ = name
    return handler


def _mean(a: Any, axis: Any = None, dtype: Any = None, out: Any = None,
          keepdims: bool = False, *, where: Any = None, **kwargs: Any) -> Any:
    if out is not None:
        raise MutationError("np.mean(..., out=...) writes in place; drop out=.")
    _no_extra("mean", kwargs)
    a = lift_sequence(a)
    shape = shape_of(a)
    axes = _axes(axis, len(shape))
    mask = _mask("mean", where, shape)
    if mask is not None:
        count = np.sum(mask, axis=axes, keepdims=bool(keepdims))
        return st.sum_(ew.where(mask, a, 0.0), axis=axes, keepdims=bool(keepdims)) / count
    count = int(np.prod([shape[i] for i in (axes if axes is not None else range(len(shape)))]))
    return st.sum_(a, axis=axes, keepdims=bool(keepdims)) / count


def _fortran(name: str, a: Any, order: Any) -> bool:
    """Whether ``order`` reads and writes entries in Fortran order (first index fastest)."""
    if order is None:
        order = "C"
    if order in ("C", "c"):
        return False
    if order in ("F", "f"):
        return True
    if order in ("A", "a", "K", "k"):  # memory order of the value underneath
        v = np.asarray(plain(a))
        if v.flags.c_contiguous or not v.flags.f_contiguous:
            if order in ("K", "k") and not v.flags.c_contiguous:
                raise TypeError(f"np.{name}(order='K') of a non-contiguous traced value: pass "
                                "order='C' or order='F'")
            return False
        return True
    raise ValueError(f"np.{name}: order must be one of 'C', 'F', 'A', or 'K' (got {order!r})")


def _reverse_axes(a: Any) -> Any:
    return st.transpose(a, axes=tuple(range(len(shape_of(a))))[::-1])


def _reshape(a: Any, shape: Any = None, order: str = "C", **kwargs: Any) -> Any:
    if shape is None:
        shape = kwargs.pop("newshape")
    if isinstance(shape, (int, np.integer)):
        shape = (int(shape),)
    # Resolve -1 on the value so the rules see the concrete shape.
    shape = np.reshape(np.empty(shape_of(a), dtype=np.bool_), shape).shape
    if _fortran("reshape", a, order):
        # Fortran order: reverse the axes, reshape in C order to the reversed shape, reverse back.
        if len(shape_of(a)) > 1:
            a = _reverse_axes(a)
        out = st.reshape(a, shape=shape[::-1])
        return _reverse_axes(out) if len(shape) > 1 else out
    return st.reshape(a, shape=shape)


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
    a = lift_sequence(a)
    return _reshape(a, (-1,), "F" if _fortran("ravel", a, order) else "C")


def _rollaxis(a: Any, axis: int, start: int = 0) -> Any:
    n = len(shape_of(a))
    axis = operator.index(axis)
    if not -n <= axis < n:
        raise np.exceptions.AxisError(axis, n)
    axis %= n
    start = operator.index(start)
    if start < 0:
        start += n
    if not 0 <= start < n + 1:
        raise np.exceptions.AxisError(f"'start' arg requires {-n} <= start < {n + 1}")
    if axis < start:
        start -= 1
    if axis == start:
        return a
    order = [i for i in range(n) if i != axis]
    order.insert(start, axis)
    return st.transpose(a, axes=tuple(order))


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
    arrays = [lift_sequence(a) for a in arrays]  # np.concatenate([[x[0] * 2], x]): a nested list
    if axis is None:
        arrays = [_ravel(a) for a in arrays]
        axis = 0
    nd = len(shape_of(arrays[0]))
    return st.concatenate(*arrays, axis=operator.index(axis) % nd)


def _stack(arrays: Sequence[Any], axis: int = 0, out: Any = None, **kwargs: Any) -> Any:
    arrays = [lift_sequence(a) for a in arrays]
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
    # numpy's rule: sum over the last axis of a and the second-to-last of b.
    return np.tensordot(a, b, axes=([na - 1], [nb - 2]))


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





def _broadcast_arrays(*args: Any, subok: bool = False) -> tuple[Any, ...]:
    shape = np.broadcast_shapes(*(shape_of(a) for a in args))
    return tuple(_broadcast_to(a if isinstance(a, Traced) else np.asarray(a), shape)
                 for a in args)


# ---- products of vectors ----------------------------------------------------------------------------
def _cross(a: Any, b: Any, axisa: int = -1, axisb: int = -1, axisc: int = -1,
           axis: Any = None) -> Any:
    """np.cross of 2- and 3-vectors: slices, multiply and subtract (a missing z is 0)."""
    if axis is not None:
        axisa = axisb = axisc = axis
    a = np.moveaxis(a if isinstance(a, Traced) else np.asarray(a), axisa, -1)
    b = np.moveaxis(b if isinstance(b, Traced) else np.asarray(b), axisb, -1)
    na, nb = shape_of(a)[-1], shape_of(b)[-1]
    if na not in (2, 3) or nb not in (2, 3):
        raise ValueError("incompatible dimensions for cross product\n"
                         "(dimension must be 2 or 3)")
    if na == 2 and nb == 2:
        import warnings
        warnings.warn("Arrays of 2-dimensional vectors are deprecated. Use arrays of "
                      "3-dimensional vectors instead. (deprecated in NumPy 2.0)",
                      DeprecationWarning, stacklevel=3)
        return a[..., 0] * b[..., 1] - a[..., 1] * b[..., 0]
    a0, a1, b0, b1 = a[..., 0], a[..., 1], b[..., 0], b[..., 1]
    z = a0 * b1 - a1 * b0
    if na == 3 and nb == 3:
        a2, b2 = a[..., 2], b[..., 2]
        x, y = a1 * b2 - a2 * b1, a2 * b0 - a0 * b2
    elif na == 3:  # b's z is 0
        a2 = a[..., 2]
        x, y = -(a2 * b1), a2 * b0
    else:  # a's z is 0
        b2 = b[..., 2]
        x, y = a1 * b2, -(a0 * b2)
    c = np.stack(np.broadcast_arrays(x, y, z), axis=-1)
    return np.moveaxis(c, -1, axisc)


def _vecdot(x1: Any, x2: Any, /, *, axis: int = -1) -> Any:
    """The dot product of real vectors along ``axis`` (broadcast over the others)."""
    for x in (x1, x2):
        if np.iscomplexobj(plain(x)):
            raise TypeError("np.vecdot: modes differentiates real functions only")
    nd = len(np.broadcast_shapes(shape_of(x1), shape_of(x2)))
    return st.sum_(ew.multiply(x1, x2), axis=_axes(axis, nd), keepdims=False)


def _linalg_outer(x1: Any, x2: Any, /) -> Any:
    if len(shape_of(x1)) != 1 or len(shape_of(x2)) != 1:
        raise ValueError(f"Input arrays must be one-dimensional, but they are "
                         f"x1.ndim={len(shape_of(x1))} and x2.ndim={len(shape_of(x2))}.")
    return _outer(x1, x2)


# ---- finite values, angles, rounding ------------------------------------------------------------------
def _nan_to_num(x: Any, copy: bool = True, nan: Any = 0.0, posinf: Any = None,
                neginf: Any = None) -> Any:
    """x where finite (derivative 1), the replacement elsewhere (derivative 0)."""
    if any(isinstance(v, Traced) for v in (nan, posinf, neginf)):
        raise TypeError("np.nan_to_num: nan=, posinf=, neginf= must be plain numbers on traced "
                        "values; use np.where(np.isnan(x), value, x) for a traced replacement")
    v = np.asarray(plain(x))
    if np.iscomplexobj(v):
        raise TypeError("np.nan_to_num: modes differentiates real functions only")
    return ew.where(np.isfinite(v), x, np.nan_to_num(v, nan=nan, posinf=posinf, neginf=neginf))


def _angle_of_real(z: Any, deg: bool = False) -> Any:
    """np.angle of a real value: 0 or pi (piecewise constant); complex values are refused."""
    if np.iscomplexobj(z):
        raise TypeError("np.angle of a complex traced value: modes differentiates real functions "
                        "only")
    return np.angle(z, deg=deg)


_angle_of_real.__name__ = "angle"


def _real_if_close(a: Any, tol: Any = 100) -> Any:
    return a  # traced values are real: the identity



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
    np.rollaxis: _rollaxis,
    np.broadcast_arrays: _broadcast_arrays,
    np.cross: _cross,
    np.linalg.vecdot: _vecdot,
    np.linalg.outer: _linalg_outer,
    np.nan_to_num: _nan_to_num,
    np.real_if_close: _real_if_close,
    np.angle: no_derivative(_angle_of_real),
    np.fix: no_derivative(np.fix),
})
if isinstance(np.vecdot, np.ufunc):  # numpy >= 2.0: a gufunc, reached through __array_ufunc__
    UFUNC[np.vecdot] = _vecdot
elif hasattr(np, "vecdot"):
    FUNC[np.vecdot] = _vecdot

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
