"""Hand-computed derivatives of the order and statistics functions, in both modes: sort (the bug of
a silent zero derivative), median, quantiles, conventions at ties, nan-aware reductions with nans
present, cumprod at zeros, convolutions, interp at its knots, and the errors."""

from __future__ import annotations

import contextlib
import itertools
import warnings
from collections.abc import Iterator

import numpy as np
import pytest

import modes
from modes.errors import MutationError

MODES = ("forward", "reverse")


def jac(f, x, mode):  # noqa: ANN001, ANN202
    return modes.jacobian(f, mode=mode)(x)


# ---- sort: a gather by the permutation -------------------------------------------------------------
@pytest.mark.parametrize("mode", MODES)
def test_grad_of_weighted_sort_is_the_weights_permuted_back(mode: str) -> None:
    x = np.array([3.0, -1.0, 2.0, 0.5])
    w = np.array([10.0, 20.0, 30.0, 40.0])
    g = modes.grad(lambda x: np.sum(np.sort(x) * w), mode=mode)(x)
    # sorted order: x[1], x[3], x[2], x[0] get weights 10, 20, 30, 40
    np.testing.assert_array_equal(g, [40.0, 10.0, 30.0, 20.0])
    j = jac(np.sort, x, mode)
    np.testing.assert_array_equal(j, np.eye(4)[[1, 3, 2, 0]])


@pytest.mark.parametrize("mode", MODES)
def test_sort_along_axes_and_take_along_axis(mode: str) -> None:
    x = np.array([[3.0, 1.0, 2.0], [0.0, 5.0, 4.0]])
    w = np.arange(1.0, 7.0).reshape(2, 3)
    g = modes.grad(lambda x: np.sum(np.sort(x, axis=0) * w), mode=mode)(x)
    np.testing.assert_array_equal(g, [[4.0, 2.0, 3.0], [1.0, 5.0, 6.0]])
    g = modes.grad(lambda x: np.sum(np.sort(x, axis=None) * w.ravel()), mode=mode)(x)
    np.testing.assert_array_equal(g, [[4.0, 2.0, 3.0], [1.0, 6.0, 5.0]])
    idx = np.array([[0, 0], [2, 1]])
    g = modes.grad(lambda x: np.sum(np.take_along_axis(x, idx, axis=1)), mode=mode)(x)
    np.testing.assert_array_equal(g, [[2.0, 0.0, 0.0], [0.0, 1.0, 1.0]])


@pytest.mark.parametrize("mode", MODES)
def test_ties_follow_the_stable_argsort(mode: str) -> None:
    x = np.array([1.0, 1.0, 0.0])
    np.testing.assert_array_equal(jac(np.sort, x, mode), np.eye(3)[[2, 0, 1]])
    # median of [3, 1, 1]: sorted positions (1, 2, 0); the middle one is x[2]
    np.testing.assert_array_equal(modes.grad(np.median, mode=mode)(np.array([3.0, 1.0, 1.0])),
                                  [0.0, 0.0, 1.0])
    # partition: each output position follows one input entry (a permutation matrix)
    p = jac(lambda x: np.partition(x, 1), np.array([2.0, 2.0, 0.0, 2.0]), mode)
    assert sorted(p.sum(axis=0)) == [1.0] * 4 and sorted(p.sum(axis=1)) == [1.0] * 4


# ---- median, quantile ------------------------------------------------------------------------------
@pytest.mark.parametrize("mode", MODES)
def test_median_of_odd_and_even_vectors(mode: str) -> None:
    odd = np.array([5.0, 1.0, 4.0, 2.0, 3.0])
    value, _ = modes.vjp(np.median, odd)
    assert value == 3.0
    np.testing.assert_array_equal(modes.grad(np.median, mode=mode)(odd), [0, 0, 0, 0, 1.0])
    even = np.array([5.0, 1.0, 4.0, 2.0])
    value, _ = modes.vjp(np.median, even)
    assert value == 3.0
    np.testing.assert_array_equal(modes.grad(np.median, mode=mode)(even), [0, 0, 0.5, 0.5])
    m = np.array([[5.0, 1.0, 4.0], [0.0, 2.0, -1.0]])
    np.testing.assert_array_equal(modes.grad(lambda m: np.sum(np.median(m, axis=1)), mode=mode)(m),
                                  [[0, 0, 1.0], [1.0, 0, 0]])


@pytest.mark.parametrize("mode", MODES)
def test_quantile_interpolates_between_neighbours(mode: str) -> None:
    x = np.array([6.0, 0.0, 10.0, 1.0, 3.0])  # sorted 0 1 3 6 10
    # q = 0.3: virtual index 1.2 between sorted[1] = x[3] and sorted[2] = x[4]
    np.testing.assert_allclose(modes.grad(lambda x: np.quantile(x, 0.3), mode=mode)(x),
                               [0, 0, 0, 0.8, 0.2], rtol=1e-14)
    np.testing.assert_allclose(modes.grad(lambda x: np.percentile(x, 30), mode=mode)(x),
                               [0, 0, 0, 0.8, 0.2], rtol=1e-14)
    # in q: the slope (sorted[2] - sorted[1]) * (n - 1)
    assert modes.grad(lambda q: np.quantile(x, q), mode=mode)(0.3) == pytest.approx(8.0)
    for method, pick in (("lower", 3), ("higher", 4), ("nearest", 3)):
        g = modes.grad(lambda x, m=method: np.quantile(x, 0.3, method=m), mode=mode)(x)
        np.testing.assert_array_equal(g, np.eye(5)[pick])
    g = modes.grad(lambda x: np.quantile(x, 0.3, method="midpoint"), mode=mode)(x)
    np.testing.assert_array_equal(g, [0, 0, 0, 0.5, 0.5])
    # q = 0 and q = 1: the extremes
    j = jac(lambda x: np.quantile(x, [0.0, 1.0]), x, mode)
    np.testing.assert_array_equal(j, np.eye(5)[[1, 2]])


def test_order_values_match_numpy() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(3, 4, 5))
    x[1, 2, 3] = np.nan
    x[2, 0, :] = np.nan
    calls = [
        lambda x: np.median(x, axis=(0, 2), keepdims=True),
        lambda x: np.nanmedian(x, axis=2),
        lambda x: np.nanmedian(x, axis=(0, 1)),
        lambda x: np.quantile(x, [[0.1, 0.5], [0.7, 1.0]], axis=1),
        lambda x: np.nanquantile(x, [0.25, 0.8], axis=-1, keepdims=True),
        lambda x: np.nanpercentile(x, 33.0, axis=None, method="hazen"),
        lambda x: np.percentile(x, [0, 50, 100], axis=0, method="nearest"),
    ]
    for f in calls:
        with _nowarn():  # all-nan slices warn in numpy
            value, _ = modes.vjp(f, x)
            expected = f(x)
        np.testing.assert_array_equal(np.asarray(value), expected)


@contextlib.contextmanager
def _nowarn() -> Iterator[None]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        yield


# ---- nan-aware reductions: the gradient is 0 at the nans ------------------------------------------
X_NAN = np.array([[1.0, np.nan, 3.0], [np.nan, -2.0, 0.5]])


@pytest.mark.parametrize("mode", MODES)
def test_nan_reductions_ignore_the_nans(mode: str) -> None:
    nan = np.isnan(X_NAN)
    g = modes.grad(np.nansum, mode=mode)(X_NAN)
    np.testing.assert_array_equal(g, np.where(nan, 0.0, 1.0))
    g = modes.grad(np.nanmean, mode=mode)(X_NAN)
    np.testing.assert_array_equal(g, np.where(nan, 0.0, 0.25))
    g = modes.grad(lambda x: np.sum(np.nanmean(x, axis=0)), mode=mode)(X_NAN)
    np.testing.assert_array_equal(g, [[1.0, 0.0, 0.5], [0.0, 1.0, 0.5]])
    g = modes.grad(np.nanmax, mode=mode)(X_NAN)
    np.testing.assert_array_equal(g, [[0, 0, 1.0], [0, 0, 0]])
    g = modes.grad(lambda x: np.sum(np.nanmin(x, axis=1)), mode=mode)(X_NAN)
    np.testing.assert_array_equal(g, [[1.0, 0, 0], [0, 1.0, 0]])
    g = modes.grad(np.nanprod, mode=mode)(X_NAN)
    np.testing.assert_array_equal(g, [[-3.0, 0, -1.0], [0, 1.5, -6.0]])
    g = modes.grad(np.nanmedian, mode=mode)(X_NAN)  # numbers -2, 0.5, 1, 3: median (0.5 + 1) / 2
    np.testing.assert_array_equal(g, [[0.5, 0, 0], [0, 0, 0.5]])
    g = modes.grad(lambda x: np.nanquantile(x, 0.5), mode=mode)(X_NAN)
    np.testing.assert_array_equal(g, [[0.5, 0, 0], [0, 0, 0.5]])


@pytest.mark.parametrize("mode", MODES)
def test_all_nan_slices_give_nan_and_a_zero_gradient(mode: str) -> None:
    x = np.array([[np.nan, np.nan], [1.0, 2.0]])
    for f in (np.nanmax, np.nanmin, np.nanmean, np.nanmedian):
        with _nowarn():
            value, _ = modes.vjp(lambda x, f=f: f(x, axis=1), x)
            np.testing.assert_array_equal(value, f(x, axis=1))
        g = modes.grad(lambda x, f=f: f(x, axis=1)[1], mode=mode)(x)
        assert np.all(g[0] == 0.0) and np.all(np.isfinite(g)), (f.__name__, g)
    # np.median (not nan-aware) of a slice with a nan is nan, as in numpy
    value, _ = modes.vjp(lambda x: np.median(x, axis=1), x)
    np.testing.assert_array_equal(value, [np.nan, 1.5])


# ---- var, std, average ----------------------------------------------------------------------------
@pytest.mark.parametrize("mode", MODES)
def test_var_std_average_by_hand(mode: str) -> None:
    x = np.array([1.0, 2.0, 4.0, 5.0])  # mean 3
    np.testing.assert_allclose(modes.grad(np.var, mode=mode)(x), 2 * (x - 3) / 4, rtol=1e-14)
    np.testing.assert_allclose(modes.grad(lambda x: np.var(x, ddof=1), mode=mode)(x),
                               2 * (x - 3) / 3, rtol=1e-14)
    std = np.sqrt(2.5)
    np.testing.assert_allclose(modes.grad(np.std, mode=mode)(x), (x - 3) / (4 * std), rtol=1e-14)
    w = np.array([1.0, 1.0, 2.0, 4.0])  # sum 8, average (1 + 2 + 8 + 20) / 8
    avg = 31 / 8
    g = modes.grad(lambda w: np.average(x, weights=w), mode=mode)(w)
    np.testing.assert_allclose(g, (x - avg) / 8, rtol=1e-14)
    g = modes.grad(lambda x: np.average(x, weights=w), mode=mode)(x)
    np.testing.assert_allclose(g, w / 8, rtol=1e-14)
    (avg_v, scl), _ = modes.vjp(lambda x: np.average(np.stack([x, x]), axis=1, weights=w,
                                                     returned=True), x)
    np.testing.assert_array_equal(scl, [8.0, 8.0])


# ---- cumprod, diff, polyval ------------------------------------------------------------------------
def _cumprod_derivatives(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """First and second derivatives of cumprod by brute force (products of the other entries)."""
    n = len(x)
    d1, d2 = np.zeros((n, n)), np.zeros((n, n, n))
    for k, j in itertools.product(range(n), range(n)):
        if j <= k:
            d1[k, j] = np.prod([x[i] for i in range(k + 1) if i != j])
            for i in range(k + 1):
                if i != j:
                    d2[k, j, i] = np.prod([x[t] for t in range(k + 1) if t not in (i, j)])
    return d1, d2


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("x", [np.array([2.0, 0.0, 3.0, 0.0, 5.0]), np.array([0.0, 1.5, -2.0]),
                               np.array([1.5, -0.5, 2.0, 3.0, 0.0, 1.0, 0.0, 0.5, 2.0])])
def test_cumprod_is_exact_at_zeros_to_second_order(mode: str, x: np.ndarray) -> None:
    d1, d2 = _cumprod_derivatives(x)
    np.testing.assert_allclose(jac(np.cumprod, x, mode), d1, rtol=1e-14, atol=0)
    w = np.arange(1.0, len(x) + 1)
    hess = modes.jacobian(modes.grad(lambda x: np.sum(w * np.cumprod(x)), mode=mode), mode=mode)(x)
    np.testing.assert_allclose(hess, np.einsum("k,kji->ji", w, d2), rtol=1e-14, atol=1e-14)


@pytest.mark.parametrize("mode", MODES)
def test_diff_and_polyval_by_hand(mode: str) -> None:
    x = np.array([1.0, 4.0, 9.0])
    np.testing.assert_array_equal(jac(lambda x: np.diff(x, n=2), x, mode), [[1.0, -2.0, 1.0]])
    np.testing.assert_array_equal(jac(lambda p: np.diff(x, prepend=p), 0.5, mode), [-1, 0, 0])
    p = np.array([1.0, -2.0, 3.0])  # x**2 - 2x + 3
    assert modes.grad(lambda x: np.polyval(p, x), mode=mode)(2.0) == 2.0
    np.testing.assert_array_equal(modes.grad(lambda p: np.polyval(p, 2.0), mode=mode)(p),
                                  [4.0, 2.0, 1.0])
    np.testing.assert_array_equal(jac(lambda x: np.polyval([7.0], x), x, mode), np.zeros((3, 3)))


# ---- convolve, correlate ---------------------------------------------------------------------------
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("fn", [np.convolve, np.correlate])
def test_convolutions_are_bilinear_for_every_length_and_mode(mode: str, fn) -> None:  # noqa: ANN001
    rng = np.random.default_rng(1)
    for n, m, cmode in itertools.product(range(1, 5), range(1, 5), ("full", "same", "valid")):
        a, v = rng.normal(size=n), rng.normal(size=m)
        ja = np.stack([fn(e, v, cmode) for e in np.eye(n)], axis=-1)
        jv = np.stack([fn(a, e, cmode) for e in np.eye(m)], axis=-1)
        got = modes.jacobian(lambda a, v: fn(a, v, cmode), (0, 1), mode=mode)(a, v)
        np.testing.assert_allclose(got[0], ja, rtol=1e-14, atol=1e-15, err_msg=f"{n} {m} {cmode}")
        np.testing.assert_allclose(got[1], jv, rtol=1e-14, atol=1e-15, err_msg=f"{n} {m} {cmode}")


# ---- interp ----------------------------------------------------------------------------------------
XP = np.array([0.0, 1.0, 3.0])
FP = np.array([1.0, 3.0, 2.0])


@pytest.mark.parametrize("mode", MODES)
def test_interp_slopes_and_knots(mode: str) -> None:
    x = np.array([-1.0, 0.0, 0.5, 1.0, 2.0, 3.0, 4.0])
    # outside: 0; at xp[0] and the interior knot: the right segment; at xp[-1]: the left one
    np.testing.assert_array_equal(np.diag(jac(lambda x: np.interp(x, XP, FP), x, mode)),
                                  [0.0, 2.0, 2.0, -0.5, -0.5, -0.5, 0.0])
    w = jac(lambda fp: np.interp(x, XP, fp), FP, mode)
    np.testing.assert_array_equal(w, [[1, 0, 0], [1, 0, 0], [0.5, 0.5, 0], [0, 1, 0],
                                      [0, 0.5, 0.5], [0, 0, 1], [0, 0, 1]])
    w = jac(lambda fp: np.interp(x, XP, fp, left=0.0, right=9.0), FP, mode)
    assert w[0].sum() == 0 and w[-1].sum() == 0
    # the mixed derivative: d/dfp of the slope
    g = modes.grad(lambda fp: modes.grad(lambda x: np.interp(x, XP, fp), mode=mode)(2.0),
                   mode=mode)(FP)
    np.testing.assert_array_equal(g, [0.0, -0.5, 0.5])
    # in the knots: at x = 2.5 (t = 0.75 on [1, 3], slope -0.5), moving xp[1] or xp[2]
    g = modes.grad(lambda xp: np.interp(2.5, xp, FP), mode=mode)(XP)
    np.testing.assert_array_equal(g, [0.0, -0.5 * (0.75 - 1), 0.5 * 0.75])


# ---- errors ----------------------------------------------------------------------------------------
def test_unsupported_options_raise_clear_errors() -> None:
    x = np.array([3.0, 1.0, 2.0])

    def grad(f):  # noqa: ANN001, ANN202
        return modes.grad(f, mode="reverse")(x)

    with pytest.raises(ValueError, match="np.percentile: method='inverted_cdf'.*'linear'"):
        grad(lambda x: np.percentile(x, 50, method="inverted_cdf"))
    with pytest.raises(TypeError, match="weights"):
        grad(lambda x: np.quantile(x, 0.5, weights=np.ones(3), method="inverted_cdf"))
    with pytest.raises(ValueError, match="range"):
        grad(lambda x: np.quantile(x, 1.5))
    with pytest.raises(MutationError, match="out="):
        grad(lambda x: np.median(x, out=np.empty(())))
    with pytest.raises(TypeError, match="order="):
        grad(lambda x: np.sum(np.sort(x, order="a")))
    with pytest.raises(TypeError, match="period"):
        grad(lambda x: np.sum(np.interp(x, [0.0, 1.0], [0.0, 1.0], period=1.0)))
    with pytest.raises(ValueError, match="np.convolve: mode"):
        grad(lambda x: np.sum(np.convolve(x, x, mode="f")))
    with pytest.raises(ValueError, match="1-D"):
        grad(lambda x: np.sum(np.correlate(np.stack([x, x]), x)))
    with pytest.raises(ZeroDivisionError, match="Weights sum to zero"):
        grad(lambda x: np.average(x, weights=np.array([1.0, -1.0, 0.0])))
    with pytest.raises(TypeError, match="where"):
        grad(lambda x: np.var(x, where=np.array([True, False, True])))
