"""Hand-computed values and numpy parity for the composed numpy functions (tests/cases_composites.py
checks their derivatives against finite differences)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import modes
from modes.errors import UnsupportedFunctionError  # noqa: F401

MODES = ("forward", "reverse")


def both(f, x):
    return [np.asarray(modes.jacobian(f, mode=m)(np.asarray(x, dtype=float))) for m in MODES]


@pytest.mark.parametrize("mode", MODES)
def test_linspace_derivatives_are_the_interpolation_weights(mode: str) -> None:
    j = modes.jacobian(lambda v: np.linspace(v[0], v[1], 5), mode=mode)(np.array([1.0, 3.0]))
    t = np.linspace(0, 1, 5)
    np.testing.assert_allclose(j, np.stack([1 - t, t], axis=1), atol=1e-15)
    j1 = modes.jacobian(lambda v: np.linspace(v[0], v[1], 1), mode=mode)(np.array([1.0, 3.0]))
    np.testing.assert_array_equal(j1, [[1.0, 0.0]])


def test_linspace_values_match_numpy() -> None:
    seen = []
    a, b = np.array([0.1, -2.0]), np.array([1.3, 5.0])
    for kw in ({"num": 5}, {"num": 4, "endpoint": False}, {"num": 1}, {"num": 0},
               {"num": 3, "axis": 1}):
        modes.grad(lambda v: (seen.append(np.linspace(v, b, **kw)), v.sum())[1])(a)
        np.testing.assert_array_equal(modes.plain(seen[-1]), np.linspace(a, b, **kw))


def test_nan_to_num_derivative_is_one_where_finite() -> None:
    x = np.array([1.0, np.nan, np.inf, -np.inf, -2.0])
    for j in both(lambda v: np.nan_to_num(v, posinf=9.0), x):
        np.testing.assert_array_equal(np.diag(j), [1, 0, 0, 0, 1])
    out = []
    modes.grad(lambda v: (out.append(np.nan_to_num(v, nan=-1.0)), v[0])[1])(x)
    np.testing.assert_array_equal(modes.plain(out[0]), np.nan_to_num(x, nan=-1.0))


def test_dot_nd_matches_numpy_and_tensordot() -> None:
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(2, 3, 4)), rng.normal(size=(5, 4, 2))
    got = []
    modes.grad(lambda v: (got.append(np.dot(v, b)), np.sum(v))[1])(a)
    np.testing.assert_allclose(modes.plain(got[0]), np.dot(a, b), rtol=1e-14)
    g = modes.grad(lambda v: np.sum(np.dot(v, b)))(a)
    np.testing.assert_allclose(g, np.broadcast_to(b.sum(axis=(0, 2)), a.shape), rtol=1e-13)


@pytest.mark.parametrize("mode", MODES)
def test_cross_hand_values(mode: str) -> None:
    # d(a x b)/da = -[b]_x (the cross-product matrix of b)
    b = np.array([1.0, 2.0, 3.0])
    j = modes.jacobian(lambda a: np.cross(a, b), mode=mode)(np.array([0.5, -1.0, 2.0]))
    bx = np.array([[0, -3, 2], [3, 0, -1], [-2, 1, 0]], dtype=float)
    np.testing.assert_array_equal(j, -bx)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        g = modes.grad(lambda a: np.cross(a, np.array([3.0, 4.0])), mode=mode)(np.array([1.0, 2.0]))
    np.testing.assert_array_equal(g, [4.0, -3.0])


def test_cross_refuses_other_lengths() -> None:
    with pytest.raises(ValueError, match="dimension must be 2 or 3"):
        modes.grad(lambda a: np.sum(np.cross(a, a)))(np.ones(4))


@pytest.mark.parametrize("mode", MODES)
def test_trapezoid_weights(mode: str) -> None:
    g = modes.grad(lambda y: np.trapezoid(y, dx=0.5), mode=mode)(np.arange(4.0))
    np.testing.assert_array_equal(g, [0.25, 0.5, 0.5, 0.25])
    # d/dx of the area under y = (0, 1, 2) at x = (0, 1, 3): (-(y0+y1), (y0+y1)-(y1+y2), y1+y2) / 2
    g = modes.grad(lambda x: np.trapezoid(np.array([0.0, 1.0, 2.0]), x), mode=mode)(
        np.array([0.0, 1.0, 3.0]))
    np.testing.assert_array_equal(g, [-0.5, -1.0, 1.5])


def test_cov_corrcoef_values_match_numpy_and_weights_are_refused() -> None:
    x = np.random.default_rng(1).normal(size=(3, 5))
    got = []
    modes.grad(lambda v: (got.extend([np.cov(v), np.corrcoef(v), np.cov(v, ddof=0, rowvar=False)]),
                          np.sum(v))[1])(x)
    for g, ref in zip(got, (np.cov(x), np.corrcoef(x), np.cov(x, ddof=0, rowvar=False))):
        np.testing.assert_allclose(modes.plain(g), ref, rtol=1e-13, atol=1e-15)
    with pytest.raises(TypeError, match="aweights"):
        modes.grad(lambda v: np.sum(np.cov(v, aweights=np.ones(5))))(x)


def test_var_gradient_through_cov_is_hand_value() -> None:
    x = np.array([1.0, 2.0, 4.0])
    # cov of one row is the sample variance: d/dx_i = 2 (x_i - mean) / (n - 1)
    np.testing.assert_allclose(modes.grad(np.cov)(x), (x - x.mean()), rtol=1e-14)


def test_nanvar_nanstd_match_numpy_and_zero_gradient_at_nans() -> None:
    x = np.array([[1.0, np.nan, 3.0], [np.nan, np.nan, 2.0]])
    out = []
    g = modes.grad(lambda v: (out.append(np.nanstd(v, axis=1, ddof=1)), np.nansum(
        np.nanvar(v, axis=0)))[1])(x)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        np.testing.assert_array_equal(modes.plain(out[0]), np.nanstd(x, axis=1, ddof=1))
    assert np.all(g[np.isnan(x)] == 0)


def test_nancumsum_nancumprod_values() -> None:
    x = np.array([2.0, np.nan, 3.0])
    for f, d in ((np.nancumsum, [[1, 0, 0], [1, 0, 0], [1, 0, 1]]),
                 (np.nancumprod, [[1, 0, 0], [1, 0, 0], [3, 0, 2]])):
        for j in both(f, x):
            np.testing.assert_array_equal(j, d)


@pytest.mark.parametrize("mode", MODES)
def test_gradient_is_central_differences(mode: str) -> None:
    j = modes.jacobian(lambda f: np.gradient(f, 0.5), mode=mode)(np.arange(4.0) ** 2)
    np.testing.assert_array_equal(j, [[-2, 2, 0, 0], [-1, 0, 1, 0], [0, -1, 0, 1], [0, 0, -2, 2]])
    f = np.arange(12.0).reshape(3, 4) ** 2
    out = []
    modes.grad(lambda v: (out.append(np.gradient(v, 2.0, 0.5)), np.sum(v))[1])(f)
    for a, b in zip(out[0], np.gradient(f, 2.0, 0.5)):
        np.testing.assert_array_equal(modes.plain(a), b)


def test_gradient_refuses_coordinates_and_edge_order_2() -> None:
    with pytest.raises(TypeError, match="edge_order"):
        modes.grad(lambda v: np.sum(np.gradient(v, edge_order=2)))(np.ones(4))
    with pytest.raises(TypeError, match="spacing"):
        modes.grad(lambda v: np.sum(np.gradient(v, np.arange(4.0))))(np.ones(4))


@pytest.mark.parametrize("mode", MODES)
def test_polyfit_is_linear_in_y(mode: str) -> None:
    x = np.array([0.0, 1.0, 2.0, 4.0])
    v = np.vander(x, 2)
    j = modes.jacobian(lambda y: np.polyfit(x, y, 1), mode=mode)(np.array([1.0, 0.5, 2.0, 3.0]))
    np.testing.assert_allclose(j, np.linalg.pinv(v), rtol=1e-12, atol=1e-14)
    out = []
    y = np.array([1.0, 0.5, 2.0, 3.0])
    modes.grad(lambda t: (out.append(np.polyfit(x, t, 2)), t[0])[1])(y)
    np.testing.assert_allclose(modes.plain(out[0]), np.polyfit(x, y, 2), rtol=1e-13)


def test_piecewise_functions_see_only_their_entries() -> None:
    x = np.array([-1.0, 4.0, 0.25])
    # sqrt is never evaluated (or differentiated) at the negative entry: no nan in the gradient
    for j in both(lambda v: np.piecewise(v, [v < 0, v >= 0], [lambda u: u * u, np.sqrt]), x):
        np.testing.assert_array_equal(np.diag(j), [-2.0, 0.25, 1.0])
    out = []
    modes.grad(lambda v: (out.append(np.piecewise(v, [v < 0], [7.0, lambda u: 2 * u])), v[0])[1])(x)
    np.testing.assert_array_equal(modes.plain(out[0]), [7.0, 8.0, 0.5])


def test_delete_block_stacks_match_numpy() -> None:
    x = np.arange(6.0).reshape(2, 3)
    out = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        calls = (lambda v: np.delete(v, 1, axis=1), lambda v: np.delete(v, [0, 4]),
                 lambda v: np.block([[v, np.ones((2, 1))], [np.zeros((1, 4))]]),
                 lambda v: np.dstack([v, v]), lambda v: np.column_stack([v[0], v[1]]),
                 lambda v: np.row_stack([v, v[0]]), lambda v: np.rollaxis(v[None], 2, 1),
                 lambda v: np.broadcast_arrays(v, np.ones((4, 1, 1)))[0],
                 lambda v: np.reshape(v, (3, 2), order="F"), lambda v: np.ravel(v, "F"),
                 lambda v: np.vecdot(v, v), lambda v: np.linalg.outer(v[0], v[1]))
        modes.grad(lambda v: (out.extend(f(v) for f in calls), np.sum(v))[1])(x)
        for got, f in zip(out, calls):
            np.testing.assert_array_equal(modes.plain(got), f(x))


def test_reductions_with_initial_and_where_match_numpy() -> None:
    x = np.array([[1.0, -2.0, 3.0], [0.5, 4.0, -1.0]])
    m = np.array([[True, False, True], [False, False, True]])
    calls = (lambda v: np.sum(v, axis=1, initial=2.0, where=m), lambda v: np.prod(v, initial=3.0),
             lambda v: np.max(v, axis=0, initial=0.0, where=m), lambda v: np.min(v, initial=-5.0),
             lambda v: np.max(v, axis=1, keepdims=True, initial=2.0),
             lambda v: np.mean(v, axis=0, where=m | np.array([True, True, False])))
    out = []
    modes.grad(lambda v: (out.extend(f(v) for f in calls), np.sum(v))[1])(x)
    for got, f in zip(out, calls):
        np.testing.assert_array_equal(modes.plain(got), f(x))
    # initial wins: the maximum does not move with x; where= drops the masked entries
    np.testing.assert_array_equal(modes.grad(lambda v: np.max(v, initial=10.0))(x), np.zeros((2, 3)))
    np.testing.assert_array_equal(modes.grad(lambda v: np.sum(v, where=m))(x), m.astype(float))
    with pytest.raises(ValueError, match="initial"):
        modes.grad(lambda v: np.max(v, where=m))(x)


def test_angle_fix_real_if_close() -> None:
    x = np.array([-1.5, 0.5, 2.7])
    for f in (np.angle, np.fix):
        g = modes.grad(lambda v: np.sum(f(v) * v))(x)
        np.testing.assert_array_equal(g, f(x))
    np.testing.assert_array_equal(modes.grad(lambda v: np.sum(np.real_if_close(v) ** 2))(x), 2 * x)


@pytest.mark.parametrize("mode", ("forward", "reverse"))
def test_max_of_a_tuple_of_traced_scalars(mode: str) -> None:
    # numpy reduces the tuple itself (no dispatch): it compares the values and returns the larger
    # traced entry, whose derivative is 1 in it and 0 in the other.
    g = modes.grad(lambda a, b: np.max((a * 2.0, b)), argnum=(0, 1), mode=mode)(1.5, 2.0)
    assert g == (2.0, 0.0)
    g = modes.grad(lambda a, b: np.max((a * 2.0, b)), argnum=(0, 1), mode=mode)(0.5, 2.0)
    assert g == (0.0, 1.0)
