"""modes.primitive: a user registers a rule once and both modes (and nesting) use it."""

import numpy as np
import pytest

import modes

# softplus, stated once with its partial.
softplus = modes.primitive(lambda x: np.logaddexp(0.0, x), name="softplus",
                           partials=(lambda ans, x: 1.0 / (1.0 + np.exp(-x)),))

# A structural primitive: reverse the last axis, linear, with JVP and VJP side by side.
flip_last = modes.primitive(
    lambda x: x[..., ::-1], name="flip_last",
    jvp=(lambda g, ans, x: g[..., ::-1],),
    vjp=(lambda g, ans, x: g[..., ::-1],),
    linear=True,
)


@pytest.mark.parametrize("mode", ["forward", "reverse"])
def test_user_elementwise_primitive(mode):
    x = np.array([-1.0, 0.0, 2.0])
    g = modes.grad(lambda v: np.sum(softplus(v)), mode=mode)(x)
    np.testing.assert_allclose(g, 1.0 / (1.0 + np.exp(-x)), rtol=1e-14)


def test_user_primitive_works_on_plain_arrays():
    np.testing.assert_allclose(softplus(np.array([0.0])), [np.log(2.0)])
    np.testing.assert_array_equal(flip_last(np.array([1.0, 2.0, 3.0])), [3.0, 2.0, 1.0])


@pytest.mark.parametrize("mode", ["forward", "reverse"])
def test_user_structural_primitive(mode):
    w = np.array([1.0, 10.0, 100.0])
    x = np.array([0.5, 0.25, 2.0])
    g = modes.grad(lambda v: np.sum(w * flip_last(v)), mode=mode)(x)
    np.testing.assert_array_equal(g, w[::-1])


def test_user_primitive_second_derivative():
    # softplus'' = s(x)(1 - s(x)) with s the logistic function: the rule is itself differentiated.
    x = 0.7
    s = 1.0 / (1.0 + np.exp(-x))
    for outer in ("forward", "reverse"):
        assert modes.grad(modes.grad(softplus), mode=outer)(x) == pytest.approx(s * (1 - s), rel=1e-13)
