"""Non-finite values stay local, and empty arrays work, in both modes (forward chunks included).

Expected values are analytic: a nan or inf reaches only the derivative entries the chain rule
routes it to; every other entry is the ordinary derivative.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import modes

INF, NAN = np.inf, np.nan


@pytest.fixture(autouse=True)
def quiet():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # numpy's own inf/nan warnings
        yield


def sum_sq(x):
    return np.sum(x * x)


def same(got, want):
    np.testing.assert_array_equal(np.asarray(got, dtype=float), np.asarray(want, dtype=float))


@pytest.mark.parametrize("mode", ["reverse", "forward"])
@pytest.mark.parametrize("x, want", [([INF, 1.0], [INF, 2.0]), ([NAN, 1.0], [NAN, 2.0]),
                                     ([1.0, -INF, 3.0], [2.0, -INF, 6.0])])
def test_gradient_of_sum_of_squares(mode, x, want):
    same(modes.grad(sum_sq, mode=mode)(np.array(x)), want)


@pytest.mark.parametrize("mode", ["reverse", "forward"])
@pytest.mark.parametrize("chunk", [None, 1, 2, 3])
def test_jacobian_rows_and_columns_stay_apart(mode, chunk):
    # J of x*x is diag(2x): an inf or nan on the diagonal must not reach the zeros beside it.
    x = np.array([INF, 1.0, NAN, 2.0])
    want = np.diag([INF, 2.0, NAN, 4.0])
    same(modes.jacobian(lambda v: v * v, mode=mode, chunk_size=chunk)(x), want)


@pytest.mark.parametrize("mode", ["reverse", "forward"])
def test_an_overflowing_intermediate(mode):
    # f = exp(x0) * x1 + x2 with exp(1000) = inf: df/dx = (inf * x1, inf, 1); the x2 entry is 1.
    def f(v):
        return np.exp(v[0]) * v[1] + v[2]

    same(modes.grad(f, mode=mode)(np.array([1000.0, 2.0, 5.0])), [INF, INF, 1.0])


@pytest.mark.parametrize("mode", ["reverse", "forward"])
def test_an_infinite_constant(mode):
    c = np.array([INF, 1.0, -2.0])
    same(modes.grad(lambda v: np.sum(v * c), mode=mode)(np.ones(3)), c)


@pytest.mark.parametrize("mode", ["reverse", "forward"])
def test_a_genuine_nan_derivative_is_kept_where_it_belongs(mode):
    # d/dx sqrt(x) at x = -1 is nan (sqrt(-1) is nan); the other entry is untouched.
    same(modes.grad(lambda v: np.sqrt(v[0]) + 3.0 * v[1], mode=mode)(np.array([-1.0, 2.0])),
         [NAN, 3.0])


@pytest.mark.parametrize("mode", ["reverse", "forward"])
def test_scalar_inputs(mode):
    g = modes.grad(lambda a, b: a * a + 2.0 * b, argnum=(0, 1), mode=mode)
    same(g(INF, 1.0), [INF, 2.0])
    same(g(NAN, 1.0), [NAN, 2.0])


def test_jvp_and_vjp():
    x = np.array([INF, 1.0])
    _, t = modes.jvp(lambda v: v * v, (x,), (np.array([0.0, 1.0]),))
    same(t, [0.0, 2.0])
    _, pullback = modes.vjp(lambda v: v * v, x)
    same(pullback(np.array([0.0, 1.0]))[0], [0.0, 2.0])
    same(pullback(np.eye(2), batched=True)[0], np.diag([INF, 2.0]))


def test_finite_results_are_unchanged():
    # A nan-free computation must not be rerun or altered: compare with the analytic gradient.
    x = np.linspace(-1.0, 1.0, 6)
    for mode in ("reverse", "forward"):
        np.testing.assert_allclose(modes.grad(sum_sq, mode=mode)(x), 2 * x, rtol=1e-15)


# ---- empty arrays ------------------------------------------------------------------------------------
@pytest.mark.parametrize("mode", ["reverse", "forward"])
@pytest.mark.parametrize("shape", [(0,), (2, 0), (0, 3)])
def test_empty_inputs(mode, shape):
    x = np.zeros(shape)
    g = modes.grad(lambda v: np.sum(v * v) + 1.0, mode=mode)(x)
    assert type(g) is np.ndarray and g.shape == shape
    value, g = modes.value_and_grad(lambda v: np.sum(np.sin(v)), mode=mode)(x)
    assert value == 0.0 and g.shape == shape
    assert modes.jacobian(lambda v: v * 2.0, mode=mode)(x).shape == shape + shape
    assert modes.jacobian(lambda v: np.sum(v) * np.ones(3), mode=mode)(x).shape == (3,) + shape


@pytest.mark.parametrize("mode", ["reverse", "forward"])
def test_empty_output(mode):
    J = modes.jacobian(lambda v: v[:0] * v[0], mode=mode)(np.ones(3))
    assert J.shape == (0, 3)


def test_empty_jvp_vjp_hessian():
    x = np.zeros(0)
    out, t = modes.jvp(lambda v: v * v, (x,), (x,))
    assert out.shape == (0,) and t.shape == (0,)
    _, pullback = modes.vjp(lambda v: v * v, x)
    assert pullback(x)[0].shape == (0,)
    assert modes.hessian(sum_sq)(x).shape == (0, 0)
    assert modes.hvp(sum_sq, x, x).shape == (0,)
    # An empty argument beside a non-empty one.
    g = modes.grad(lambda a, b: np.sum(a) * np.sum(b * b), argnum=(0, 1), mode="forward")
    ga, gb = g(np.zeros(0), np.array([1.0, 2.0]))
    assert ga.shape == (0,)
    same(gb, [0.0, 0.0])
