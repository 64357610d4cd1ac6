"""jvp differentiated with respect to its tangent and its primal, vjp with respect to its cotangent
and its primal: scalars, 0-d arrays and arrays, outer forward or reverse mode over an inner jvp
(forward) or vjp (reverse), the four nestings. Expected values are written from calculus."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import modes

OUTER = ("forward", "reverse")


def f(y: Any) -> Any:
    return np.sin(y) * y ** 2


def f1(y: Any) -> Any:  # f'
    return np.cos(y) * y ** 2 + 2 * y * np.sin(y)


def f2(y: Any) -> Any:  # f''
    return -np.sin(y) * y ** 2 + 4 * y * np.cos(y) + 2 * np.sin(y)


POINTS = {"float": 0.7, "0-d": np.array(0.7), "array": np.array([0.3, -1.1, 0.7])}


def _sum(v: Any) -> Any:
    return np.sum(v) if np.ndim(v) else v


@pytest.mark.parametrize("outer", OUTER)
@pytest.mark.parametrize("kind", sorted(POINTS))
def test_jvp_differentiated_in_its_tangent(outer: str, kind: str) -> None:
    x = POINTS[kind]
    v = x * 0 + 1.5 if kind != "float" else 1.5
    g = modes.grad(lambda t: _sum(modes.jvp(f, (x,), (t,))[1]), mode=outer)(v)
    np.testing.assert_allclose(g, f1(x), rtol=1e-12)
    assert np.shape(g) == np.shape(x)


@pytest.mark.parametrize("outer", OUTER)
@pytest.mark.parametrize("kind", sorted(POINTS))
def test_jvp_differentiated_in_its_primal(outer: str, kind: str) -> None:
    x = POINTS[kind]
    g = modes.grad(lambda p: _sum(modes.jvp(f, (p,), (x * 0 + 2.0,))[1]), mode=outer)(x)
    np.testing.assert_allclose(g, 2.0 * f2(x), rtol=1e-12)


@pytest.mark.parametrize("outer", OUTER)
@pytest.mark.parametrize("kind", sorted(POINTS))
def test_vjp_differentiated_in_its_cotangent(outer: str, kind: str) -> None:
    x = POINTS[kind]
    c0 = x * 0 + 0.5 if kind != "float" else 0.5
    g = modes.grad(lambda c: _sum(modes.vjp(f, x)[1](c)[0]), mode=outer)(c0)
    np.testing.assert_allclose(g, f1(x), rtol=1e-12)
    assert np.shape(g) == np.shape(x)


@pytest.mark.parametrize("outer", OUTER)
@pytest.mark.parametrize("kind", sorted(POINTS))
def test_vjp_differentiated_in_its_primal(outer: str, kind: str) -> None:
    x = POINTS[kind]
    c0 = x * 0 + 0.5 if kind != "float" else 0.5
    g = modes.grad(lambda p: _sum(modes.vjp(f, p)[1](c0)[0]), mode=outer)(x)
    np.testing.assert_allclose(g, 0.5 * f2(x), rtol=1e-12)


# Functions whose cotangent reaches an input unchanged: the pullback hands the seed itself back.
PASS_THROUGH = [
    ("x + y", lambda y: y + 2.0, 1.0),
    ("atleast_1d", lambda y: np.atleast_1d(y), 1.0),
    ("sum keepdims", lambda y: np.sum(y, keepdims=True), 1.0),
    ("reshape", lambda y: np.reshape(y, (-1,)), 1.0),
]


@pytest.mark.parametrize("outer", OUTER)
@pytest.mark.parametrize("label, fn, slope", PASS_THROUGH, ids=[p[0] for p in PASS_THROUGH])
@pytest.mark.parametrize("kind", sorted(POINTS))
def test_pass_through_cotangents_stay_traced(outer: str, label: str, fn: Any, slope: float,
                                            kind: str) -> None:
    x = POINTS[kind]
    out = fn(x)
    c0 = np.full(np.shape(out), 0.5) if np.ndim(out) else 0.5
    g = modes.grad(lambda c: np.sum(modes.vjp(fn, x)[1](c)[0] * 3.0), mode=outer)(c0)
    # d/dc sum(3 * J^T c) = 3 * J 1: every entry of c reaches the input once with slope 1 (or is
    # summed into it by the keepdims sum, whose output has one entry).
    expected = 3.0 * slope * np.ones(np.shape(out)) * (np.size(x) if label == "sum keepdims" else 1)
    np.testing.assert_allclose(g, expected if np.ndim(out) else float(expected), rtol=1e-12)
    assert np.shape(g) == np.shape(c0)


@pytest.mark.parametrize("outer", OUTER)
def test_two_argument_vjp_cotangent(outer: str) -> None:
    g = modes.grad(lambda c: modes.vjp(lambda a, b: a + b * 3.0, 2.0, 3.0)[1](c)[1], mode=outer)(1.0)
    assert g == pytest.approx(3.0)


@pytest.mark.parametrize("outer", OUTER)
@pytest.mark.parametrize("inner", OUTER)
def test_hessian_of_prod_with_a_zero(outer: str, inner: str) -> None:
    # d2/dxi dxj prod(x) = product of the entries other than i and j: at (2, 0, 3) only the
    # pairs that include the zero survive.
    h = modes.jacobian(modes.grad(np.prod, mode=inner), mode=outer)(np.array([2.0, 0.0, 3.0]))
    np.testing.assert_allclose(h, [[0, 3, 0], [3, 0, 2], [0, 2, 0]])
    h2 = modes.jacobian(modes.grad(lambda x: np.sum(np.prod(x, axis=0)), mode=inner), mode=outer)(
        np.array([[2.0, 1.0], [0.0, 5.0]]))
    np.testing.assert_allclose(h2.reshape(4, 4), [[0, 0, 1, 0], [0, 0, 0, 1], [1, 0, 0, 0],
                                                  [0, 1, 0, 0]])
