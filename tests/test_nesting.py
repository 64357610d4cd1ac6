"""Nested derivatives in all four combinations, with perturbations kept apart by level."""

import numpy as np
import pytest

import modes

MODES = ["forward", "reverse"]
PAIRS = [(outer, inner) for outer in MODES for inner in MODES]


@pytest.mark.parametrize("outer,inner", PAIRS)
def test_perturbation_confusion(outer, inner):
    # d/dx [ x * d/dy (x + y) ] at x = 1 is 1; confusing the perturbations gives 2.
    def f(x):
        return x * modes.grad(lambda y: x + y, mode=inner)(1.0)

    assert modes.grad(f, mode=outer)(1.0) == 1.0


@pytest.mark.parametrize("outer,inner", PAIRS)
def test_closure_over_outer_variable(outer, inner):
    # d/dx [ x * d/dy (x * y) ] = d/dx [ x * x ] = 2x.
    def f(x):
        return x * modes.grad(lambda y: x * y, mode=inner)(1.0)

    assert modes.grad(f, mode=outer)(3.0) == 6.0


@pytest.mark.parametrize("outer,inner", PAIRS)
def test_second_derivative_of_sin(outer, inner):
    d2 = modes.grad(modes.grad(np.sin, mode=inner), mode=outer)
    for x in (0.3, 1.1, -2.0):
        assert d2(x) == pytest.approx(-np.sin(x), rel=1e-14)


@pytest.mark.parametrize("outer,inner", PAIRS)
def test_hessian_of_cubic_form(outer, inner):
    # f(x) = sum(x^3) + x0*x1*x2: H = diag(6x) + the off-diagonal x_k.
    def f(x):
        return np.sum(x ** 3) + x[0] * x[1] * x[2]

    x = np.array([1.0, 2.0, -1.5])
    expected = np.diag(6 * x) + np.array([[0, x[2], x[1]], [x[2], 0, x[0]], [x[1], x[0], 0]])
    h = modes.jacobian(modes.grad(f, mode=inner), mode=outer)(x)
    np.testing.assert_allclose(h, expected, rtol=1e-14)


def test_third_derivative_three_levels():
    d3 = modes.grad(modes.grad(modes.grad(lambda x: x ** 4, mode="reverse"), mode="forward"))
    assert d3(2.0) == pytest.approx(24 * 2.0)


def test_hvp_matches_hessian_for_matrix_function():
    a = np.array([[2.0, 1.0], [1.0, 3.0]])
    f = lambda x: np.sum(np.tanh(a @ x) ** 2)  # noqa: E731
    x = np.array([0.3, -0.2])
    v = np.array([1.0, 2.0])
    np.testing.assert_allclose(modes.hvp(f, x, v), modes.hessian(f)(x) @ v, rtol=1e-12)
