"""Derivatives through an order: sort, partition and everything built on them (a gather by the permutation).

No rule lives here. Each function computes, on the plain values, the flat indices of the entries it
picks (``np.argsort`` of the value, taken along the axis), and picks them from the traced input with
one ``getitem`` (integer index arrays): the tangent is gathered by the same permutation and the
cotangent is scattered back by ``getitem``'s VJP, so every function is differentiable again.
Interpolating functions (``median`` of an even count, ``quantile``) combine the two picked
neighbours linearly with plain weights, exactly as numpy does.

Conventions at ties (equal entries): the permutation of a stable ``argsort`` decides (for
``partition``: ``np.argpartition``'s), so the derivative of each output position is that of one
input entry, a valid one-sided derivative: the one seen when the tied entries move apart keeping
their original order. Entries are never averaged across ties (unlike ``max``/``min``, which share).

Supported: ``np.sort``, ``np.partition``, ``np.take_along_axis``, ``np.median``, ``np.quantile``,
``np.percentile``, ``np.nanmedian``, ``np.nanquantile``, ``np.nanpercentile`` (axis None, int or
tuple; keepdims). Quantile methods: 'linear' (default), 'lower', 'higher', 'nearest', 'midpoint',
'weibull', 'hazen', 'median_unbiased', 'normal_unbiased', 'interpolated_inverted_cdf'; the
continuous ones are differentiable in ``q`` too. The discrete Hyndman-Fan methods
('inverted_cdf', 'averaged_inverted_cdf', 'closest_observation') and ``weights=`` raise.
``np.argpartition`` acts on the plain value (an index has no derivative).
"""

from __future__ import annotations

import math
import operator
from typing import Any

import numpy as np

from ..errors import MutationError
from ..registry import Traced, plain
from ..unbroadcast import shape_of
from . import elementwise as ew
from . import structural as st
from .bind import FUNC
from .numpy_api import _axes

# Virtual index (alpha, beta) of the continuous Hyndman-Fan methods; 'linear' is (1, 1), computed
# as numpy does, (n - 1) * q.
_CONTINUOUS = {"weibull": (0.0, 0.0), "hazen": (0.5, 0.5), "interpolated_inverted_cdf": (0.0, 1.0),
               "median_unbiased": (1 / 3.0, 1 / 3.0), "normal_unbiased": (3 / 8.0, 3 / 8.0)}
_DISCRETE = ("lower", "higher", "nearest", "midpoint")
METHODS = ("linear",) + tuple(_CONTINUOUS) + _DISCRETE


# ---- plain index computations ---------------------------------------------------------------------
def _values(a: Any) -> np.ndarray:
    return np.asarray(plain(a))


def _gather(a: Any, flat: np.ndarray) -> Any:
    """``a.ravel()[flat]`` as one getitem of ``a``: result shape ``flat.shape``."""
    shape = shape_of(a)
    if not shape:
        a, shape = st.reshape(a, shape=(1,)), (1,)
    return st.getitem(a, index=np.unravel_index(flat, shape))


def _along(shape: tuple[int, ...], axis: Any) -> tuple[np.ndarray, int]:
    """Flat indices of an array of ``shape`` (1-D for axis None) and the normalised single axis."""
    flat = np.arange(math.prod(shape)).reshape(shape)
    if axis is None:
        return flat.reshape(-1), 0
    (ax,) = _axes(operator.index(axis), len(shape))
    return flat, ax


def _merged(shape: tuple[int, ...], axis: Any) -> tuple[np.ndarray, tuple[int, ...]]:
    """Flat indices laid out as ``rest + (n,)`` with the reduced axes merged last; the keepdims shape."""
    axes = _axes(axis, len(shape))
    flat = np.arange(math.prod(shape)).reshape(shape)
    if axes is None:
        return flat.reshape(-1), (1,) * len(shape)
    kept = [i for i in range(len(shape)) if i not in axes]
    flat = np.transpose(flat, kept + list(axes)).reshape([shape[i] for i in kept] + [-1])
    return flat, tuple(1 if i in axes else n for i, n in enumerate(shape))


def _sorted_flat(a: Any, axis: Any) -> tuple[np.ndarray, np.ndarray, tuple[int, ...]]:
    """For a reduction over ``axis``: flat indices of ``a`` in stable sorted order along the last
    (merged) axis, the plain values in that order, and the keepdims shape. Nans sort last."""
    v = _values(a)
    flat, keep = _merged(v.shape, axis)
    if flat.shape[-1] == 0:
        raise ValueError("order statistics (median, quantile) of an empty slice are undefined")
    vals = v.reshape(-1)[flat]
    perm = np.argsort(vals, axis=-1, kind="stable")
    return np.take_along_axis(flat, perm, -1), np.take_along_axis(vals, perm, -1), keep


def _finish(res: Any, nan_slices: np.ndarray, shape: tuple[int, ...]) -> Any:
    """Nan where a slice has no answer (plain mask, so no derivative there); then the final shape."""
    if np.any(nan_slices):
        res = ew.where(nan_slices, np.nan, res)
    return res if shape_of(res) == shape else st.reshape(res, shape=shape)


def _check_out(name: str, out: Any) -> None:
    if out is not None:
        raise MutationError(f"np.{name}(..., out=...) writes in place; drop out= and use the result.")


# ---- sort, partition, take_along_axis -------------------------------------------------------------
def _sort(a: Any, axis: Any = -1, kind: Any = None, order: Any = None, *, stable: Any = None) -> Any:
    if order is not None:
        raise TypeError("np.sort(order=...) sorts structured arrays; not supported on traced values")
    v = _values(a)
    flat, ax = _along(v.shape, axis)
    perm = np.argsort(v.reshape(flat.shape), axis=ax, kind="stable")
    return _gather(a, np.take_along_axis(flat, perm, ax))


def _partition(a: Any, kth: Any, axis: Any = -1, kind: str = "introselect", order: Any = None) -> Any:
    if order is not None:
        raise TypeError("np.partition(order=...) is for structured arrays; not supported on traced values")
    v = _values(a)
    flat, ax = _along(v.shape, axis)
    perm = np.argpartition(v.reshape(flat.shape), plain(kth), axis=ax)
    return _gather(a, np.take_along_axis(flat, perm, ax))


def _take_along_axis(arr: Any, indices: Any, axis: Any = -1) -> Any:
    flat = np.arange(math.prod(shape_of(arr))).reshape(shape_of(arr))
    return _gather(arr, np.take_along_axis(flat, np.asarray(plain(indices)), axis))


def _argpartition(a: Any, kth: Any, axis: Any = -1, kind: str = "introselect", order: Any = None) -> Any:
    return np.argpartition(_values(a), plain(kth), axis=axis, kind=kind, order=order)


# ---- median ---------------------------------------------------------------------------------------
def _mean_of_pair(a: Any, order: np.ndarray, lo: Any, hi: Any) -> Any:
    """(a at sorted position lo + a at sorted position hi) / 2, per slice: numpy's mean of two."""
    picks = np.stack(np.broadcast_arrays(lo, hi), axis=-1)
    pair = _gather(a, np.take_along_axis(order, picks, -1))
    return st.sum_(pair, axis=(len(shape_of(pair)) - 1,), keepdims=False) / 2


def _median(a: Any, axis: Any = None, out: Any = None, overwrite_input: bool = False,
            keepdims: bool = False) -> Any:
    _check_out("median", out)
    order, vals, keep = _sorted_flat(a, axis)
    n = order.shape[-1]
    res = _mean_of_pair(a, order, np.full(order.shape[:-1], (n - 1) // 2), n // 2)
    return _finish(res, np.isnan(vals[..., -1]), keep if keepdims else order.shape[:-1])


def _nanmedian(a: Any, axis: Any = None, out: Any = None, overwrite_input: bool = False,
               keepdims: bool = False) -> Any:
    _check_out("nanmedian", out)
    order, vals, keep = _sorted_flat(a, axis)
    m = np.sum(~np.isnan(vals), axis=-1)  # nans sort last: the first m entries are the numbers
    res = _mean_of_pair(a, order, np.maximum((m - 1) // 2, 0), m // 2 - (m == 0))
    return _finish(res, m == 0, keep if keepdims else order.shape[:-1])


# ---- quantile -------------------------------------------------------------------------------------
def _virtual_index(n: Any, q: Any, method: str) -> Any:
    """numpy's virtual index per method (traced in q for the continuous methods)."""
    if method == "linear":
        return (n - 1) * q
    if method in _CONTINUOUS:
        alpha, beta = _CONTINUOUS[method]
        return n * q + (alpha + q * (1 - alpha - beta)) - 1
    q = np.asarray(plain(q))
    if method == "lower":
        return np.floor((n - 1) * q).astype(np.intp)
    if method == "higher":
        return np.ceil((n - 1) * q).astype(np.intp)
    if method == "nearest":
        return np.around((n - 1) * q).astype(np.intp)
    return 0.5 * (np.floor((n - 1) * q) + np.ceil((n - 1) * q))  # midpoint


def _lerp(a: Any, b: Any, t: Any) -> Any:
    """numpy's two-sided linear interpolation (exact at both ends)."""
    d = b - a
    return ew.where(np.asarray(plain(t)) >= 0.5, b - d * (1 - t), a + d * t)


def _quantile_of(a: Any, q: Any, axis: Any, method: str, keepdims: bool, name: str,
                 skip_nans: bool) -> Any:
    if method not in METHODS:
        raise ValueError(
            f"np.{name}: method={method!r} is not supported on traced values; use one of {METHODS} "
            "(the discrete methods 'inverted_cdf', 'averaged_inverted_cdf', 'closest_observation' "
            "have no derivative rule here)")
    order, vals, keep = _sorted_flat(a, axis)
    rest = order.shape[:-1]
    qshape = shape_of(q)
    if qshape:
        q = np.reshape(q, qshape + (1,) * len(rest))
    if skip_nans:
        n = np.sum(~np.isnan(vals), axis=-1)  # nans sort last: the first n entries are the numbers
        nan_slices = np.broadcast_to(n == 0, qshape + rest)
    else:
        n = order.shape[-1]
        nan_slices = np.broadcast_to(np.isnan(vals[..., -1]), qshape + rest)
    n_safe = np.maximum(n, 1)
    virtual = _virtual_index(n_safe, q, method)
    vplain = np.broadcast_to(np.asarray(plain(virtual)), qshape + rest)
    order = np.broadcast_to(order, qshape + order.shape)

    def pick(k: np.ndarray) -> Any:
        return _gather(a, np.take_along_axis(order, k[..., None], -1)[..., 0])

    if vplain.dtype.kind == "i":
        res = pick(vplain)
    else:
        prev = np.floor(vplain).astype(np.intp)
        nxt = prev + 1
        above = vplain >= n_safe - 1
        prev = np.where(above, n_safe - 1, np.where(vplain < 0, 0, prev))
        nxt = np.where(above, n_safe - 1, np.where(vplain < 0, 0, nxt))
        if method == "midpoint":
            gamma = np.where(vplain % 1 == 0, 0.0, 0.5)
        else:
            gamma = virtual - prev
        res = _lerp(pick(prev), pick(nxt), gamma)
    return _finish(res, nan_slices, qshape + (keep if keepdims else rest))


def _quantile_handler(name: str, scale: float, skip_nans: bool) -> Any:
    what = "Percentiles" if scale == 100 else "Quantiles"

    def handler(a: Any, q: Any, axis: Any = None, out: Any = None, overwrite_input: bool = False,
                method: str = "linear", keepdims: bool = False, *, weights: Any = None,
                interpolation: Any = None) -> Any:
        _check_out(name, out)
        if weights is not None:
            raise TypeError(f"np.{name}(weights=...) (method 'inverted_cdf') is not supported on "
                            "traced values; drop weights=")
        if interpolation is not None:
            raise TypeError(f"np.{name}: interpolation= is deprecated in numpy; use method=")
        if isinstance(q, (list, tuple)):
            q = np.asarray(q, dtype=float)
        if not np.all((0 <= _values(q)) & (_values(q) <= scale)):
            raise ValueError(f"{what} must be in the range [0, {scale:g}]")
        if scale != 1:
            q = q / 100.0 if isinstance(q, Traced) else np.true_divide(q, 100)
        return _quantile_of(a, q, axis, method, bool(keepdims), name, skip_nans)

    handler.__name__ = name
    return handler


FUNC.update({
    np.sort: _sort,
    np.partition: _partition,
    np.take_along_axis: _take_along_axis,
    np.argpartition: _argpartition,
    np.median: _median,
    np.nanmedian: _nanmedian,
    np.quantile: _quantile_handler("quantile", 1, False),
    np.percentile: _quantile_handler("percentile", 100, False),
    np.nanquantile: _quantile_handler("nanquantile", 1, True),
    np.nanpercentile: _quantile_handler("nanpercentile", 100, True),
})
