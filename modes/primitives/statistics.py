"""Reductions and statistics: variance, averages, nan-aware reductions, differences, convolutions.

Most functions compose existing primitives the way numpy computes them, so values agree with numpy
to the last bit and derivatives come from the primitives' rules:

* ``var``/``std`` (ddof, correction, mean=): mean, subtract, multiply, sum (then sqrt).
* ``average`` (weights, traced too; returned=; keepdims): sum(a * w) / sum(w).
* ``nansum``/``nanprod``/``nanmean``/``nanmax``/``nanmin``: ``where(isnan, identity, a)`` then the
  reduction; the gradient is 0 at the nans. An all-nan slice gives nan (nanmax, nanmin, nanmean)
  with a zero gradient.
* ``ptp`` = max - min (ties share equally, as in max/min).
* ``diff`` (n, axis, prepend, append) and ``ediff1d``: slices and subtract.
* ``cumprod``: a parallel prefix scan, log2(n) rounds of ``y * shifted(y)``: multiplications only, so
  exact with zeros at every order (it never divides by x).
* ``polyval``: Horner's scheme, with traced coefficients and/or points.

Three are primitives with rules here:

* ``convolve``/``correlate`` (1-D, modes 'full', 'same', 'valid'; real values): bilinear, each
  rule is a product with the Toeplitz matrix of the other operand (a gather), so it is
  differentiable again.
* ``interp``: differentiable in ``x`` (the slope of the segment x lies in; outside [xp[0], xp[-1]]
  0; at an interior knot the right segment's slope, at xp[-1] the left one's: one-sided), in ``fp``
  (it is linear in fp) and in the knots ``xp`` (moving the ends of x's segment; xp must stay
  increasing). ``period=`` is not supported; ``left``/``right`` must be constants.

Cost (``modes.flops``): convolve and correlate one multiply-add (2) per product ``a[j] * v[i]``
that lands in a kept output (2 n m in 'full' mode, fewer in 'same' and 'valid'); interp per point
of x a binary search over the knots (bit_length(len(xp)) comparisons) and 6 operations for the
segment's slope and the interpolated value. The compositions are counted by their primitives.
"""

from __future__ import annotations

import functools
import math
import operator
from typing import Any

import numpy as np

from ..errors import MutationError
from ..flops import size
from ..registry import Traced, plain
from ..unbroadcast import shape_of
from . import elementwise as ew
from . import linalg as la
from . import structural as st
from .bind import FUNC, structural
from .numpy_api import _axes


def _array(x: Any) -> Any:
    """A plain argument as a float array (lists, scalars); traced values unchanged."""
    return x if isinstance(x, Traced) else np.asarray(x, dtype=float)


def _check_out(name: str, out: Any) -> None:
    if out is not None:
        raise MutationError(f"np.{name}(..., out=...) writes in place; drop out= and use the result.")


def _no_where(name: str, where: Any) -> None:
    if where is not None and where is not np._NoValue and where is not True:
        raise TypeError(f"np.{name}(where=...) is not supported on traced values; mask the input "
                        "with np.where before reducing")


def _kd(keepdims: Any) -> bool:
    return False if keepdims is np._NoValue else bool(keepdims)


def _count(shape: tuple[int, ...], axes: tuple[int, ...] | None) -> int:
    return math.prod(shape if axes is None else [shape[i] for i in axes])


# ---- variance, standard deviation, average --------------------------------------------------------
def _var(a: Any, axis: Any = None, dtype: Any = None, out: Any = None, ddof: Any = 0,
         keepdims: Any = False, *, where: Any = None, mean: Any = None, correction: Any = None) -> Any:
    _check_out("var", out)
    _no_where("var", where)
    if correction is not None and correction is not np._NoValue:
        if ddof != 0:
            raise ValueError("np.var: ddof and correction can't be provided simultaneously.")
        ddof = correction
    shape = shape_of(a)
    axes = _axes(axis, len(shape))
    n = _count(shape, axes)
    if mean is None or mean is np._NoValue:
        mean = st.sum_(a, axis=axes, keepdims=True) / n
    d = a - mean
    return st.sum_(d * d, axis=axes, keepdims=_kd(keepdims)) / max(n - plain(ddof), 0)


def _std(a: Any, *args: Any, **kwargs: Any) -> Any:
    return ew.sqrt(_var(a, *args, **kwargs))


def _average(a: Any, axis: Any = None, weights: Any = None, returned: bool = False, *,
             keepdims: Any = False) -> Any:
    shape = shape_of(a)
    order = None if axis is None else tuple(
        operator.index(i) % max(len(shape), 1) for i in np.atleast_1d(axis))
    axes = _axes(axis, len(shape))
    kd = _kd(keepdims)
    if weights is None:
        avg = st.sum_(a, axis=axes, keepdims=kd) / _count(shape, axes)
        scl = np.float64(math.prod(shape) / max(math.prod(shape_of(avg)), 1))
    else:
        weights = _array(weights)
        wshape = shape_of(weights)
        if wshape != shape:
            if order is None:
                raise TypeError("Axis must be specified when shapes of a and weights differ.")
            if wshape != tuple(shape[i] for i in order):
                raise ValueError("Shape of weights must be consistent with shape of a along "
                                 "specified axis.")
            weights = np.transpose(weights, tuple(int(i) for i in np.argsort(order)))
            weights = np.reshape(weights, tuple(s if i in order else 1 for i, s in enumerate(shape)))
        scl = st.sum_(weights, axis=axes, keepdims=kd)
        if np.any(np.asarray(plain(scl)) == 0.0):
            raise ZeroDivisionError("Weights sum to zero, can't be normalized")
        avg = st.sum_(a * weights, axis=axes, keepdims=kd) / scl
    if not returned:
        return avg
    if shape_of(scl) != shape_of(avg):
        scl = np.broadcast_to(scl, shape_of(avg))
        scl = scl if isinstance(scl, Traced) else scl.copy()
    return avg, scl


# ---- nan-aware reductions -------------------------------------------------------------------------
def _nan_reduction(name: str, prim: Any, fill: float, all_nan_is_nan: bool) -> Any:
    def handler(a: Any, axis: Any = None, dtype: Any = None, out: Any = None,
                keepdims: Any = False, initial: Any = None, where: Any = None) -> Any:
        _check_out(name, out)
        _no_where(name, where)
        if initial is not None and initial is not np._NoValue:
            raise TypeError(f"np.{name}(initial=...) is not supported on traced values")
        axes = _axes(axis, len(shape_of(a)))
        kd = _kd(keepdims)
        nans = np.isnan(plain(a))
        if np.any(nans):
            a = ew.where(nans, fill, a)
        res = prim(a, axis=axes, keepdims=kd)
        if all_nan_is_nan:
            empty = np.all(nans, axis=axes, keepdims=kd)
            if np.any(empty):
                res = ew.where(empty, np.nan, res)
        return res

    handler.__name__ = name
    return handler


def _nanmean(a: Any, axis: Any = None, dtype: Any = None, out: Any = None, keepdims: Any = False,
             *, where: Any = None) -> Any:
    _check_out("nanmean", out)
    _no_where("nanmean", where)
    axes = _axes(axis, len(shape_of(a)))
    kd = _kd(keepdims)
    nans = np.isnan(plain(a))
    if np.any(nans):
        a = ew.where(nans, 0.0, a)
    count = np.sum(~nans, axis=axes, keepdims=kd)
    if not np.any(count == 0):
        return st.sum_(a, axis=axes, keepdims=kd) / count
    # All-nan slices: nan, without dividing by the zero count (which would poison the gradient).
    return ew.where(count == 0, np.nan, st.sum_(a, axis=axes, keepdims=kd) / np.maximum(count, 1))


def _ptp(a: Any, axis: Any = None, out: Any = None, keepdims: Any = False) -> Any:
    _check_out("ptp", out)
    kw = {"axis": _axes(axis, len(shape_of(a))), "keepdims": _kd(keepdims)}
    return st.max_(a, **kw) - st.min_(a, **kw)


# ---- cumulative product ---------------------------------------------------------------------------
def _cumprod(a: Any, axis: Any = None, dtype: Any = None, out: Any = None) -> Any:
    _check_out("cumprod", out)
    if axis is None:
        a, axis = np.ravel(a), 0
    shape = shape_of(a)
    (axis,) = _axes(operator.index(axis), len(shape))
    n = shape[axis]
    # A parallel prefix scan: after the step with shift s, y[k] is the product of x[k-2s+1..k].
    # Multiplications only, so it is exact with zeros at every order; log2(n) steps.
    y, s = a, 1
    while s < n:
        ones = np.ones(shape[:axis] + (s,) + shape[axis + 1:])
        head = y[(slice(None),) * axis + (slice(0, n - s),)]
        y = y * np.concatenate([ones, head], axis=axis)
        s *= 2
    return y


# ---- differences ----------------------------------------------------------------------------------
def _diff(a: Any, n: int = 1, axis: int = -1, prepend: Any = np._NoValue,
          append: Any = np._NoValue) -> Any:
    if n == 0:
        return a
    if n < 0:
        raise ValueError("order must be non-negative but got " + repr(n))
    shape = shape_of(a)
    nd = len(shape)
    if nd == 0:
        raise ValueError("diff requires input that is at least one dimensional")
    (axis,) = _axes(operator.index(axis), nd)
    parts = []
    for extra in (prepend, None, append):
        if extra is None:
            parts.append(a)
        elif extra is not np._NoValue:
            extra = _array(extra)
            if not shape_of(extra):
                extra = np.broadcast_to(extra, shape[:axis] + (1,) + shape[axis + 1:])
            parts.append(extra)
    if len(parts) > 1:
        a = np.concatenate(parts, axis)
    later = (slice(None),) * axis + (slice(1, None),)
    earlier = (slice(None),) * axis + (slice(None, -1),)
    for _ in range(n):
        a = a[later] - a[earlier]
    return a


def _ediff1d(ary: Any, to_end: Any = None, to_begin: Any = None) -> Any:
    ary = np.ravel(ary)
    parts = [ary[1:] - ary[:-1]]
    if to_begin is not None:
        parts.insert(0, np.ravel(_array(to_begin)))
    if to_end is not None:
        parts.append(np.ravel(_array(to_end)))
    return parts[0] if len(parts) == 1 else np.concatenate(parts)


# ---- convolve, correlate --------------------------------------------------------------------------
_MODES = {"valid": "valid", "same": "same", "full": "full", 0: "valid", 1: "same", 2: "full"}


@functools.lru_cache(maxsize=256)
def _toeplitz_indices(kind: str, mode: str, n: int, m: int) -> tuple[np.ndarray, np.ndarray]:
    """Index tables with ``out[r] = sum_j a[j] * vpad[iv[r, j]] = sum_i v[i] * apad[ia[r, i]]``
    (``vpad``/``apad``: the operand with a zero appended, index m/n for "no term")."""
    length = {"full": n + m - 1, "same": max(n, m), "valid": max(n, m) - min(n, m) + 1}[mode]
    # Offset of the kept outputs within the full result (numpy swaps the operands when m > n).
    if mode == "full":
        start = 0
    elif mode == "valid":
        start = min(n, m) - 1
    elif kind == "convolve":
        start = min(n, m) - 1 - min(n, m) // 2
    else:
        start = m - 1 - m // 2 if n >= m else n // 2
    r = np.arange(length)[:, None]
    j, i = np.arange(n)[None, :], np.arange(m)[None, :]
    # A term a[j] * v[i] lands on r = j + i - start (convolve) or j - i + m - 1 - start (correlate).
    if kind == "convolve":
        iv, ia = r + start - j, r + start - i
    else:
        iv, ia = j + m - 1 - start - r, r + start - (m - 1) + i
    iv = np.where((iv >= 0) & (iv < m), iv, m)
    ia = np.where((ia >= 0) & (ia < n), ia, n)
    iv.flags.writeable = ia.flags.writeable = False  # cached: shared by every call
    return iv, ia


def _pad(x: Any) -> Any:
    return np.concatenate([x, np.zeros(1)])


def _toeplitz(kind: str, mode: str, a: Any, v: Any, which: int) -> Any:
    """The matrix T with out = T @ (a if which == 0 else v): shape (len(out), len(operand))."""
    iv, ia = _toeplitz_indices(kind, mode, shape_of(a)[0], shape_of(v)[0])
    return _pad(v)[iv] if which == 0 else _pad(a)[ia]


def _bilinear(kind: str, fn: Any) -> Any:
    def jvp(which: int) -> Any:
        return lambda g, ans, a, v, mode: la.mm(g, np.swapaxes(_toeplitz(kind, mode, a, v, which), 0, 1))

    def vjp(which: int) -> Any:
        return lambda g, ans, a, v, mode: la.mm(g, _toeplitz(kind, mode, a, v, which))

    def cost(ans: Any, a: Any, v: Any, mode: str) -> int:
        iv, _ = _toeplitz_indices(kind, mode, shape_of(a)[0], shape_of(v)[0])
        return 2 * int(np.count_nonzero(iv != shape_of(v)[0]))

    return structural(lambda a, v, mode: fn(a, v, mode=mode), kind,
                      jvp=(jvp(0), jvp(1)), vjp=(vjp(0), vjp(1)), cost=cost)


convolve = _bilinear("convolve", np.convolve)
correlate = _bilinear("correlate", np.correlate)


def _conv_handler(prim: Any, default: str) -> Any:
    def handler(a: Any, v: Any, mode: Any = default) -> Any:
        if not isinstance(mode, (str, int)) or mode not in _MODES:
            raise ValueError(f"np.{prim.name}: mode must be 'full', 'same' or 'valid', not {mode!r}")
        ops = []
        for x in (a, v):
            x = _array(x)
            nd = len(shape_of(x))
            if nd > 1 or (nd == 0 and prim is correlate):  # numpy's convolve takes scalars
                raise ValueError(f"np.{prim.name} takes 1-D arrays, got a {nd}-D one")
            if shape_of(x) == (0,):
                raise ValueError(f"np.{prim.name}: an operand is empty")
            ops.append(st.reshape(x, shape=(1,)) if nd == 0 else x)
        return prim(*ops, mode=_MODES[mode])

    handler.__name__ = prim.name
    return handler


# ---- interp ---------------------------------------------------------------------------------------
def _segments(x: Any, xp: Any, fp: Any) -> tuple[Any, ...]:
    """For each point of x (flattened): its segment's knots k, k1 (plain), the masks below xp[0],
    above xp[-1] and inside, its position t in the segment and the segment's slope (traced where
    x, xp, fp are, so the rules below are differentiable again)."""
    xv, xpv = np.asarray(plain(x), dtype=float).reshape(-1), np.asarray(plain(xp), dtype=float)
    k = np.clip(np.searchsorted(xpv, xv, side="right") - 1, 0, max(len(xpv) - 2, 0))
    k1 = np.minimum(k + 1, len(xpv) - 1)
    below, above = xv < xpv[0], xv > xpv[-1]
    width = xp[k1] - xp[k]
    if np.any(k1 == k):  # a single knot: no segment
        width = np.where(k1 > k, width, 1.0)
    t = (np.reshape(x, (-1,)) - xp[k]) / width
    return k, k1, below, above, ~(below | above), t, (fp[k1] - fp[k]) / width


def _interp_dx(x: Any, xp: Any, fp: Any) -> Any:
    """d interp / dx: the slope of x's segment, 0 outside [xp[0], xp[-1]] (shape of x)."""
    *_, inside, t, slope = _segments(x, xp, fp)
    return np.reshape(slope * inside, shape_of(x))


def _interp_dfp(x: Any, xp: Any, fp: Any, left: Any, right: Any) -> Any:
    """The matrix (x.size, len(fp)) of d interp / d fp: the two interpolation weights inside,
    1 at fp's end outside when left/right are not given."""
    k, k1, below, above, inside, t, _ = _segments(x, xp, fp)
    eye, t, inside = np.eye(shape_of(fp)[0]), np.reshape(t, (-1, 1)), inside[:, None]
    ends = eye[0] * (below[:, None] & (left is None)) + eye[-1] * (above[:, None] & (right is None))
    return eye[k] * inside * (1 - t) + eye[k1] * inside * t + ends


def _interp_dxp(x: Any, xp: Any, fp: Any) -> Any:
    """The matrix (x.size, len(xp)) of d interp / d xp: moving a knot of x's segment."""
    k, k1, below, above, inside, t, slope = _segments(x, xp, fp)
    eye, inside = np.eye(shape_of(fp)[0]), inside[:, None]
    t, slope = np.reshape(t, (-1, 1)), np.reshape(slope, (-1, 1))
    return eye[k] * inside * (slope * (t - 1)) - eye[k1] * inside * (slope * t)


def _batch(g: Any, x: Any) -> tuple[int, ...]:
    return shape_of(g)[: len(shape_of(g)) - len(shape_of(x))]


def _matrix_jvp(g: Any, x: Any, arg: Any, matrix: Any) -> Any:
    """g (batch + arg shape) through the matrix (x.size, arg size): batch + x shape."""
    return np.reshape(la.mm(g, np.swapaxes(matrix, 0, 1)), _batch(g, arg) + shape_of(x))


def _matrix_vjp(g: Any, ans: Any, x: Any, matrix: Any) -> Any:
    """g (batch + x shape) back through the matrix: batch + (arg size,)."""
    return la.mm(np.reshape(g, _batch(g, ans) + (math.prod(shape_of(x)),)), matrix)


interp = structural(
    lambda x, xp, fp, left, right: np.interp(x, xp, fp, left=left, right=right), "interp",
    jvp=(lambda g, ans, x, xp, fp, left, right: g * _interp_dx(x, xp, fp),
         lambda g, ans, x, xp, fp, left, right: _matrix_jvp(g, x, xp, _interp_dxp(x, xp, fp)),
         lambda g, ans, x, xp, fp, left, right: _matrix_jvp(
             g, x, fp, _interp_dfp(x, xp, fp, left, right))),
    vjp=(lambda g, ans, x, xp, fp, left, right: g * _interp_dx(x, xp, fp),
         lambda g, ans, x, xp, fp, left, right: _matrix_vjp(g, ans, x, _interp_dxp(x, xp, fp)),
         lambda g, ans, x, xp, fp, left, right: _matrix_vjp(
             g, ans, x, _interp_dfp(x, xp, fp, left, right))),
    cost=lambda ans, x, xp, fp, left, right: size(x) * (shape_of(xp)[0].bit_length() + 6),
)


def _interp(x: Any, xp: Any, fp: Any, left: Any = None, right: Any = None, period: Any = None) -> Any:
    if period is not None:
        raise TypeError("np.interp(period=...) is not supported on traced values; reduce x modulo "
                        "the period and extend xp, fp by one period yourself")
    if isinstance(left, Traced) or isinstance(right, Traced):
        raise TypeError("np.interp: left= and right= must be constants on traced values; use "
                        "np.where(x < xp[0], left, np.interp(x, xp, fp)) for a traced one")
    xp, fp = _array(xp), _array(fp)
    if not isinstance(x, float):
        x = _array(x)
    if len(shape_of(xp)) != 1 or shape_of(xp) != shape_of(fp) or shape_of(xp) == (0,):
        raise ValueError("np.interp: xp and fp must be non-empty 1-D sequences of the same length")
    return interp(x, xp, fp, left=left, right=right)


# ---- polyval --------------------------------------------------------------------------------------
def _polyval(p: Any, x: Any) -> Any:
    p = _array(p)
    x = x if isinstance(x, float) else _array(x)
    # numpy starts from zeros_like(x): y = 0 * x + p[0] = p[0], then y = y * x + p[i].
    y = p[0] + np.zeros(shape_of(x))
    for i in range(1, shape_of(p)[0]):
        y = y * x + p[i]
    return y


# ---- integrals, gradients -------------------------------------------------------------------------
def _trapezoid(y: Any, x: Any = None, dx: Any = 1.0, axis: int = -1) -> Any:
    """numpy's sum of ``d * (y[1:] + y[:-1]) / 2`` (d = diff(x) or dx; any of them traced)."""
    y = _array(y)
    nd = len(shape_of(y))
    (axis,) = _axes(operator.index(axis), nd)
    later = (slice(None),) * axis + (slice(1, None),)
    earlier = (slice(None),) * axis + (slice(None, -1),)
    if x is None:
        d = dx
    else:
        x = _array(x)
        d = np.diff(x)
        if len(shape_of(x)) == 1:
            d = np.reshape(d, tuple(-1 if i == axis else 1 for i in range(nd)))
        else:
            d = np.diff(x, axis=axis)
    return st.sum_(d * (y[later] + y[earlier]) / 2.0, axis=(axis,), keepdims=False)


def _spacing(name: str, varargs: tuple, n: int) -> list[Any]:
    if not varargs:
        return [1.0] * n
    if len(varargs) == 1 and len(shape_of(varargs[0])) == 0:
        return [varargs[0]] * n
    if len(varargs) != n:
        raise TypeError(f"np.{name}: invalid number of arguments")
    for d in varargs:
        if len(shape_of(d)) != 0:
            raise TypeError(f"np.{name}: on traced values the spacing must be scalars (one per "
                            "axis); for coordinates, differentiate np.diff(f) / np.diff(x) yourself")
    return list(varargs)


def _gradient(f: Any, *varargs: Any, axis: Any = None, edge_order: int = 1) -> Any:
    """Central differences inside, one-sided ones (edge_order 1) at the ends: slices and joins."""
    if edge_order != 1:
        raise TypeError("np.gradient(edge_order=2) is not supported on traced values; use "
                        "edge_order=1")
    f = _array(f)
    shape = shape_of(f)
    nd = len(shape)
    axes = tuple(range(nd)) if axis is None else tuple(
        operator.index(a) % nd for a in np.atleast_1d(axis))
    out = []
    for ax, h in zip(axes, _spacing("gradient", varargs, len(axes))):
        if shape[ax] < edge_order + 1:
            raise ValueError("Shape of array too small to calculate a numerical gradient, at "
                             "least (edge_order + 1) elements are required.")
        head = (slice(None),) * ax
        interior = (f[head + (slice(2, None),)] - f[head + (slice(None, -2),)]) / (2.0 * h)
        first = (f[head + (slice(1, 2),)] - f[head + (slice(0, 1),)]) / h
        last = (f[head + (slice(-1, None),)] - f[head + (slice(-2, -1),)]) / h
        out.append(np.concatenate([first, interior, last], axis=ax))
    return out[0] if len(out) == 1 else tuple(out)


# ---- covariance, correlation ----------------------------------------------------------------------
def _cov(m: Any, y: Any = None, rowvar: bool = True, bias: bool = False, ddof: Any = None,
         fweights: Any = None, aweights: Any = None, *, dtype: Any = None) -> Any:
    if fweights is not None or aweights is not None:
        raise TypeError("np.cov(fweights=..., aweights=...) is not supported on traced values; "
                        "weight the centred observations yourself: (X * w) @ X.T / (sum(w) - ddof)")
    if ddof is not None and ddof != int(ddof):
        raise ValueError("ddof must be integer")
    m = _array(m)
    if len(shape_of(m)) > 2:
        raise ValueError("m has more than 2 dimensions")
    X = np.atleast_2d(m)
    if not rowvar and shape_of(X)[0] != 1:
        X = np.transpose(X)
    if shape_of(X)[0] == 0:
        return np.array([]).reshape(0, 0)
    if y is not None:
        y = _array(y)
        if len(shape_of(y)) > 2:
            raise ValueError("y has more than 2 dimensions")
        y = np.atleast_2d(y)
        if not rowvar and shape_of(y)[0] != 1:
            y = np.transpose(y)
        X = np.concatenate([X, y], axis=0)
    if ddof is None:
        ddof = 0 if bias else 1
    n = shape_of(X)[1]
    fact = n - ddof
    if fact <= 0:
        import warnings
        warnings.warn("Degrees of freedom <= 0 for slice", RuntimeWarning, stacklevel=3)
        fact = 0.0
    X = X - st.sum_(X, axis=(1,), keepdims=True) / n
    c = np.matmul(X, np.transpose(X)) / fact
    return np.squeeze(c)


def _corrcoef(x: Any, y: Any = None, rowvar: bool = True, *, dtype: Any = None, **kwargs: Any) -> Any:
    if kwargs:
        raise TypeError(f"np.corrcoef: keyword arguments {sorted(kwargs)} are not supported")
    c = _cov(x, y, rowvar)
    if len(shape_of(c)) == 0:
        return c / c
    s = ew.sqrt(np.diagonal(c))
    c = c / s[:, None]
    c = c / s[None, :]
    return np.clip(c, -1, 1)


# ---- nan-aware cumulative sums and products, variance --------------------------------------------
def _nan_cumulative(name: str, func: Any, fill: float) -> Any:
    def handler(a: Any, axis: Any = None, dtype: Any = None, out: Any = None) -> Any:
        _check_out(name, out)
        a = _array(a)
        nans = np.isnan(plain(a))
        if np.any(nans):
            a = ew.where(nans, fill, a)
        return func(a, axis=axis)

    handler.__name__ = name
    return handler


def _nanvar(a: Any, axis: Any = None, dtype: Any = None, out: Any = None, ddof: Any = 0,
            keepdims: Any = False, *, where: Any = None, mean: Any = None,
            correction: Any = None, _sqrt: bool = False) -> Any:
    """var (std) of the entries that are not nan; a slice with ddof or more nans is nan there,
    with a zero gradient."""
    name = "nanstd" if _sqrt else "nanvar"
    _check_out(name, out)
    _no_where(name, where)
    if mean is not None and mean is not np._NoValue:
        raise TypeError(f"np.{name}(mean=...) is not supported on traced values")
    if correction is not None and correction is not np._NoValue:
        if ddof != 0:
            raise ValueError(f"np.{name}: ddof and correction can't be provided simultaneously.")
        ddof = correction
    a = _array(a)
    axes = _axes(axis, len(shape_of(a)))
    kd = _kd(keepdims)
    keep = ~np.isnan(plain(a))
    arr = ew.where(keep, a, 0.0) if not np.all(keep) else a
    cnt = np.sum(keep, axis=axes, keepdims=True)
    avg = st.sum_(arr, axis=axes, keepdims=True) / np.maximum(cnt, 1)
    d = arr - avg
    if not np.all(keep):
        d = ew.where(keep, d, 0.0)
    dof = np.sum(keep, axis=axes, keepdims=kd) - plain(ddof)
    bad = dof <= 0
    var = st.sum_(d * d, axis=axes, keepdims=kd) / np.where(bad, 1, dof)
    if np.any(bad):
        var = ew.where(bad, 1.0, var)  # finite where it is replaced, so sqrt's rule stays finite
    res = ew.sqrt(var) if _sqrt else var
    return ew.where(bad, np.nan, res) if np.any(bad) else res


def _nanstd(a: Any, *args: Any, **kwargs: Any) -> Any:
    return _nanvar(a, *args, _sqrt=True, **kwargs)


# ---- polyfit --------------------------------------------------------------------------------------
def _polyfit(x: Any, y: Any, deg: Any, rcond: Any = None, full: bool = False, w: Any = None,
             cov: Any = False) -> Any:
    """numpy's scaled least squares on the Vandermonde matrix (np.linalg.lstsq, which has rules in
    both arguments, so x may be traced too)."""
    if full or cov:
        raise TypeError("np.polyfit(full=True / cov=True) is not supported on traced values; "
                        "call np.polyfit for the coefficients only")
    order = operator.index(deg) + 1
    x, y = _array(x), _array(y)
    if order < 1:
        raise ValueError("expected deg >= 0")
    if len(shape_of(x)) != 1:
        raise TypeError("expected 1D vector for x")
    if shape_of(x)[0] == 0:
        raise TypeError("expected non-empty vector for x")
    if len(shape_of(y)) not in (1, 2):
        raise TypeError("expected 1D or 2D array for y")
    if shape_of(x)[0] != shape_of(y)[0]:
        raise TypeError("expected x and y to have same length")
    if rcond is None:
        rcond = shape_of(x)[0] * np.finfo(float).eps
    # Columns x**deg, ..., x, 1 by repeated products (no x**0 at x = 0).
    cols = [np.ones(shape_of(x))]
    for _ in range(order - 1):
        cols.append(cols[-1] * x)
    lhs, rhs = np.stack(cols[::-1], axis=1), y
    if w is not None:
        w = _array(w)
        if len(shape_of(w)) != 1 or shape_of(w)[0] != shape_of(y)[0]:
            raise TypeError("expected a 1-d array for weights of the length of y")
        lhs = lhs * w[:, None]
        rhs = rhs * (w if len(shape_of(rhs)) == 1 else w[:, None])
    scale = ew.sqrt(st.sum_(lhs * lhs, axis=(0,), keepdims=False))
    lhs = lhs / scale
    c = np.linalg.lstsq(lhs, rhs, rcond=rcond)[0]
    return c / scale if len(shape_of(c)) == 1 else c / scale[:, None]



FUNC.update({
    np.var: _var,
    np.std: _std,
    np.average: _average,
    np.nansum: _nan_reduction("nansum", st.sum_, 0.0, False),
    np.nanprod: _nan_reduction("nanprod", st.prod, 1.0, False),
    np.nanmax: _nan_reduction("nanmax", st.max_, -np.inf, True),
    np.nanmin: _nan_reduction("nanmin", st.min_, np.inf, True),
    np.nanmean: _nanmean,
    np.ptp: _ptp,
    np.cumprod: _cumprod,
    np.diff: _diff,
    np.ediff1d: _ediff1d,
    np.convolve: _conv_handler(convolve, "full"),
    np.correlate: _conv_handler(correlate, "valid"),
    np.interp: _interp,
    np.polyval: _polyval,
    np.polyfit: _polyfit,
    np.trapezoid: _trapezoid,
    np.gradient: _gradient,
    np.cov: _cov,
    np.corrcoef: _corrcoef,
    np.nancumsum: _nan_cumulative("nancumsum", np.cumsum, 0.0),
    np.nancumprod: _nan_cumulative("nancumprod", np.cumprod, 1.0),
    np.nanvar: _nanvar,
    np.nanstd: _nanstd,
})
