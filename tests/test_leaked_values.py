"""A traced value used after its transformation ended is an error naming it, in every combination.

The reference gradients are analytic (d/dy sum(y * c) = c); a leaked value must never be taken for
a constant, mixed into the new transformation's tangents, or returned as a result.
"""

from __future__ import annotations

import numpy as np
import pytest

import modes

X = np.array([0.3, -0.7, 1.1])
MODES = ("reverse", "forward")


def leak_from(mode: str, nested_in: str | None = None) -> list:
    """Values traced by a finished ``grad`` in ``mode`` (optionally inside an outer transformation
    in ``nested_in`` that has also finished)."""
    kept: list = []

    def f(x):
        kept.append(x)
        kept.append(np.sin(x))  # an intermediate too
        return np.sum(np.sin(x))

    if nested_in is None:
        modes.grad(f, mode=mode)(X)
    else:
        modes.grad(lambda z: np.sum(modes.grad(f, mode=mode)(z) * z), mode=nested_in)(X)
    return kept


@pytest.mark.parametrize("later", MODES)
@pytest.mark.parametrize("first", MODES)
@pytest.mark.parametrize("nested_in", [None, *MODES])
def test_leaked_value_used_in_a_later_transformation(first, later, nested_in):
    leaked, intermediate = leak_from(first, nested_in)[:2]
    uses = (lambda y: np.sum(y * leaked), lambda y: np.sum(y * intermediate),
            lambda y: np.sum(y * leaked[1]), lambda y: np.sum(y) * np.sum(leaked))
    for use in uses:
        with pytest.raises(modes.LeakedTracerError, match="leaked out of a transformation") as err:
            modes.grad(use, mode=later)(X)
        assert "modes.plain" in str(err.value)


@pytest.mark.parametrize("later", MODES)
@pytest.mark.parametrize("first", MODES)
def test_leaked_value_returned_from_f_is_not_a_result(first, later):
    leaked = leak_from(first)[0]
    with pytest.raises(modes.LeakedTracerError, match="the value f returned"):
        modes.grad(lambda y: leaked[0], mode=later)(X)
    with pytest.raises(modes.LeakedTracerError):
        modes.jacobian(lambda y: leaked * 1.0, mode=later)(X)
    with pytest.raises(modes.LeakedTracerError):
        modes.value_and_grad(lambda y: (np.sum(y), leaked), has_aux=True, mode=later)(X)


@pytest.mark.parametrize("first", MODES)
def test_leaked_value_in_jvp_and_vjp(first):
    leaked = leak_from(first)[0]
    with pytest.raises(modes.LeakedTracerError):
        modes.jvp(lambda y: y * leaked, (X,), (np.ones(3),))
    with pytest.raises(modes.LeakedTracerError):
        modes.vjp(lambda y: y * leaked, X)


@pytest.mark.parametrize("first", MODES)
@pytest.mark.parametrize("later", MODES)
def test_leak_between_sibling_inner_transformations(first, later):
    # Inside one outer transformation, a value leaked by one inner grad into a later inner grad.
    def outer(x):
        kept = []
        modes.grad(lambda y: (kept.append(y), np.sum(y * x))[1], mode=first)(x)
        return np.sum(modes.grad(lambda z: np.sum(z * kept[0]), mode=later)(x))

    with pytest.raises(modes.LeakedTracerError):
        modes.grad(outer)(X)


@pytest.mark.parametrize("mode", MODES)
def test_the_advice_works(mode):
    kept = []

    def f(x):
        kept.append(modes.plain(x))
        return np.sum(np.sin(x))

    modes.grad(f, mode=mode)(X)
    c = kept[0]
    np.testing.assert_allclose(modes.grad(lambda y: np.sum(y * c), mode=mode)(X), X, rtol=1e-15)
    g, aux = modes.grad(lambda y: (np.sum(y ** 2), y * 2.0), has_aux=True, mode=mode)(X)
    np.testing.assert_allclose(g, 2 * X, rtol=1e-15)
    assert type(aux) is np.ndarray
    np.testing.assert_allclose(aux, 2 * X, rtol=1e-15)


def test_legitimate_closures_over_enclosing_levels_still_work():
    # d/dx [x * d/dy (x * y)] at y = 1 is d/dx x^2 = 2x: the inner closure over x is legal.
    for outer in MODES:
        for inner in MODES:
            g = modes.grad(lambda x: x * modes.grad(lambda y: x * y, mode=inner)(1.0), mode=outer)
            assert g(3.0) == pytest.approx(6.0, rel=1e-14)
