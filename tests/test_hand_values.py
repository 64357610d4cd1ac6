"""Hand-computed derivatives: values worked out on paper, so no helper can let everything pass."""

import numpy as np
import pytest

import modes

MODES = ["forward", "reverse"]


def talk(x, y, z):
    w1 = x * y
    w2 = x + y
    w3 = w2 * z
    return w1 + w3


@pytest.mark.parametrize("mode", MODES)
def test_talk_example_gradient(mode):
    # V = x*y + (x+y)*z, dV = (y+z, x+z, x+y); at (1, -3, 2): (-1, 3, -2).
    value, grads = modes.value_and_grad(talk, argnum=(0, 1, 2), mode=mode)(1.0, -3.0, 2.0)
    assert value == -7.0
    assert tuple(float(g) for g in grads) == (-1.0, 3.0, -2.0)


@pytest.mark.parametrize("mode", MODES)
def test_talk_example_gradient_vector_input(mode):
    g = modes.grad(lambda v: talk(v[0], v[1], v[2]), mode=mode)(np.array([2.0, 5.0, 7.0]))
    np.testing.assert_array_equal(g, [12.0, 9.0, 7.0])


def rosenbrock(x):
    return np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)


def rosenbrock_grad_by_hand(x):
    g = np.zeros_like(x)
    t = x[1:] - x[:-1] ** 2
    g[:-1] += -400.0 * x[:-1] * t - 2.0 * (1.0 - x[:-1])
    g[1:] += 200.0 * t
    return g


def rosenbrock_hessian_by_hand(x):
    n = x.size
    h = np.zeros((n, n))
    for i in range(n - 1):
        h[i, i] += 1200.0 * x[i] ** 2 - 400.0 * x[i + 1] + 2.0
        h[i, i + 1] += -400.0 * x[i]
        h[i + 1, i] += -400.0 * x[i]
        h[i + 1, i + 1] += 200.0
    return h


@pytest.mark.parametrize("mode", MODES)
def test_rosenbrock_gradient(mode):
    x = np.array([-1.2, 1.0, 0.5, 2.0, -0.3])
    np.testing.assert_allclose(modes.grad(rosenbrock, mode=mode)(x), rosenbrock_grad_by_hand(x),
                               rtol=1e-13, atol=1e-12)


def test_rosenbrock_gradient_at_minimum_is_zero():
    np.testing.assert_array_equal(modes.grad(rosenbrock)(np.ones(6)), np.zeros(6))


def test_rosenbrock_hessian_and_hvp():
    x = np.array([-1.2, 1.0, 0.5, 2.0])
    h = rosenbrock_hessian_by_hand(x)
    np.testing.assert_allclose(modes.hessian(rosenbrock)(x), h, rtol=1e-13)
    v = np.array([0.3, -1.0, 2.0, 0.5])
    np.testing.assert_allclose(modes.hvp(rosenbrock, x, v), h @ v, rtol=1e-13)


def speelpenning(x):
    """Speelpenning's product, one scalar multiplication at a time."""
    y = 1.0
    for i in range(len(x)):
        y = y * x[i]
    return y


@pytest.mark.parametrize("mode", MODES)
def test_speelpenning_product(mode):
    x = np.array([1.5, -2.0, 0.5, 3.0, 1.25])
    expected = np.array([np.prod(np.delete(x, i)) for i in range(x.size)])
    np.testing.assert_allclose(modes.grad(speelpenning, mode=mode)(x), expected, rtol=1e-14)


@pytest.mark.parametrize("mode", MODES)
def test_speelpenning_with_scalar_floats(mode):
    xs = (1.5, -2.0, 0.5, 3.0)
    grads = modes.grad(lambda *a: speelpenning(a), argnum=(0, 1, 2, 3), mode=mode)(*xs)
    assert [float(g) for g in grads] == [-3.0, 2.25, -9.0, -1.5]


@pytest.mark.parametrize("mode", ["forward", "reverse", "auto"])
def test_jacobian_of_linear_map_is_the_matrix(mode):
    a = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    np.testing.assert_array_equal(modes.jacobian(lambda x: a @ x, mode=mode)(np.ones(3)), a)


def test_jacobian_of_elementwise_square_is_diagonal():
    x = np.array([1.0, -2.0, 3.0])
    np.testing.assert_array_equal(modes.jacobian(lambda v: v * v)(x), np.diag(2 * x))


def test_jacobian_shape_is_out_shape_plus_arg_shape():
    x = np.ones((2, 3))
    j = modes.jacobian(lambda m: np.sum(m, axis=0) * 2.0, mode="reverse")(x)
    assert j.shape == (3, 2, 3)
    assert j[1, 0, 1] == 2.0 and j[1, 0, 0] == 0.0


def test_jvp_and_vjp_by_hand():
    f = lambda x, y: np.sin(x) * y  # noqa: E731
    out, t = modes.jvp(f, (0.5, 2.0), (1.0, 0.0))
    assert out == pytest.approx(np.sin(0.5) * 2.0)
    assert t == pytest.approx(np.cos(0.5) * 2.0)
    out, pullback = modes.vjp(f, 0.5, 2.0)
    bx, by = pullback(1.0)
    assert bx == pytest.approx(2.0 * np.cos(0.5)) and by == pytest.approx(np.sin(0.5))
    # The pullback can be used again (the tape is kept).
    bx3, _ = pullback(3.0)
    assert bx3 == pytest.approx(6.0 * np.cos(0.5))


def test_integer_inputs_are_promoted_to_float():
    g = modes.grad(lambda x: np.sum(x * x))(np.array([1, 2, 3]))
    assert g.dtype == np.float64
    np.testing.assert_array_equal(g, [2.0, 4.0, 6.0])
    assert modes.grad(lambda x: x * x * x)(2) == 12.0


@pytest.mark.parametrize("mode", MODES)
def test_function_independent_of_input_has_zero_gradient(mode):
    np.testing.assert_array_equal(modes.grad(lambda x: 3.0, mode=mode)(np.ones(3)), np.zeros(3))
    np.testing.assert_array_equal(
        modes.jacobian(lambda x: np.ones(2), mode=mode)(np.ones(3)), np.zeros((2, 3)))


def test_returned_derivatives_are_writeable_copies():
    # sum's bar is a broadcast view internally; the user must get an array they can modify.
    g = modes.grad(lambda x: np.sum(x))(np.ones(100_000))
    g[0] = 5.0
    assert g.flags.writeable
    j = modes.jacobian(lambda x: x, mode="forward")(np.ones(3))
    j[0, 0] = 2.0
    np.testing.assert_array_equal(modes.jacobian(lambda x: x, mode="forward")(np.ones(3)), np.eye(3))


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
@pytest.mark.parametrize("f, x, expected", [
    # sqrt'(0) = inf meets a zero partial further on: 0 * inf is taken as 0 in both modes.
    (lambda a: np.sqrt(np.sum(a * a)), np.zeros(3), np.zeros(3)),
    (lambda a: np.sqrt(np.sum(a * a)) * 2.0 + np.sum(a), np.zeros(3), np.ones(3)),
    (lambda a: np.sum(0.0 * np.sqrt(a) + a), np.zeros(2), np.ones(2)),
    # ... and a zero tangent or bar meets sqrt'(0) = inf: also 0, the other entries untouched.
    (lambda a: np.sum(np.sqrt(a)), np.array([0.0, 4.0]), np.array([np.inf, 0.25])),
])
@pytest.mark.parametrize("mode", MODES)
def test_zero_times_infinite_derivative_is_zero_in_both_modes(f, x, expected, mode):
    np.testing.assert_array_equal(modes.grad(f, mode=mode)(x), expected)
