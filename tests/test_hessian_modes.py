"""Hessians and Hessian-vector products by the four compositions (forward-over-forward,
forward-over-reverse, reverse-over-forward, reverse-over-reverse): each agrees with second-order
central differences of f and with hand-written Hessians, for arrays, scalars and containers."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import modes
from modes.api import SECOND_ORDER_MODES
from test_hand_values import rosenbrock_hessian_by_hand

RNG = np.random.default_rng(7)


def rosenbrock(x: Any) -> Any:
    return np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2)


rosenbrock_hessian = rosenbrock_hessian_by_hand


W1 = RNG.standard_normal((6, 4))
X_DATA = RNG.standard_normal((9, 4))
Y_DATA = RNG.standard_normal(9)


def mlp_loss(w: Any) -> Any:
    """A one-hidden-layer network with its output weights w: mean squared error."""
    hidden = np.tanh(X_DATA @ W1.T)
    return np.mean((hidden @ w - Y_DATA) ** 2)


def log_likelihood(theta: Any) -> Any:
    """Logistic regression's log-likelihood in its coefficients."""
    z = X_DATA @ theta
    return np.sum(Y_DATA * z - np.log1p(np.exp(z)))


def fd_hessian(f: Any, x: np.ndarray, h: float = 1e-4) -> np.ndarray:
    n = x.size
    out = np.empty((n, n))
    e = np.eye(n) * h
    for i in range(n):
        for j in range(n):
            out[i, j] = (f(x + e[i] + e[j]) - f(x + e[i] - e[j]) - f(x - e[i] + e[j])
                         + f(x - e[i] - e[j])) / (4 * h * h)
    return out


CASES = {
    "rosenbrock": (rosenbrock, RNG.standard_normal(5)),
    "mlp_loss": (mlp_loss, RNG.standard_normal(6)),
    "log_likelihood": (log_likelihood, 0.3 * RNG.standard_normal(4)),
}


@pytest.mark.parametrize("mode", SECOND_ORDER_MODES)
@pytest.mark.parametrize("case", sorted(CASES))
def test_hessian_agrees_with_finite_differences(mode: str, case: str) -> None:
    f, x = CASES[case]
    h = modes.hessian(f, mode=mode)(x)
    assert h.shape == (x.size, x.size)
    np.testing.assert_allclose(h, fd_hessian(f, x), rtol=1e-5, atol=1e-5 * np.abs(h).max())


@pytest.mark.parametrize("mode", SECOND_ORDER_MODES)
def test_hessian_of_rosenbrock_by_hand(mode: str) -> None:
    x = np.array([0.5, -1.2, 2.0, 0.1])
    np.testing.assert_allclose(modes.hessian(rosenbrock, mode=mode)(x), rosenbrock_hessian(x),
                               rtol=1e-13, atol=1e-10)


@pytest.mark.parametrize("mode", SECOND_ORDER_MODES)
@pytest.mark.parametrize("case", sorted(CASES))
def test_hvp_is_hessian_times_v(mode: str, case: str) -> None:
    f, x = CASES[case]
    v = RNG.standard_normal(x.size)
    want = fd_hessian(f, x) @ v
    got = modes.hvp(f, x, v, mode=mode)
    assert got.shape == x.shape
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5 * np.abs(want).max())


@pytest.mark.parametrize("mode", SECOND_ORDER_MODES)
def test_the_four_compositions_agree_to_rounding(mode: str) -> None:
    x = RNG.standard_normal(6)
    v = RNG.standard_normal(6)
    reference = rosenbrock_hessian(x)
    np.testing.assert_allclose(modes.hessian(rosenbrock, mode=mode)(x), reference,
                               rtol=1e-12, atol=1e-9)
    np.testing.assert_allclose(modes.hvp(rosenbrock, x, v, mode=mode), reference @ v,
                               rtol=1e-12, atol=1e-9)


@pytest.mark.parametrize("mode", SECOND_ORDER_MODES)
def test_scalar_input(mode: str) -> None:
    def f(t: Any) -> Any:
        return np.sin(t) * t ** 3

    t = 0.8
    want = -np.sin(t) * t ** 3 + 6 * t ** 2 * np.cos(t) + 6 * t * np.sin(t)
    np.testing.assert_allclose(modes.hessian(f, mode=mode)(t), want, rtol=1e-13)
    np.testing.assert_allclose(modes.hvp(f, t, 2.0, mode=mode), 2.0 * want, rtol=1e-13)


@pytest.mark.parametrize("mode", SECOND_ORDER_MODES)
def test_hvp_of_a_container(mode: str) -> None:
    def f(p: dict) -> Any:
        return np.sum(p["a"] ** 2 * p["b"]) + np.sum(np.sin(p["a"]))

    a, b = np.array([0.3, -0.7]), np.array([1.5, 2.0])
    va, vb = np.array([1.0, -2.0]), np.array([0.5, 0.25])
    got = modes.hvp(f, {"a": a, "b": b}, {"a": va, "b": vb}, mode=mode)
    # d2f/da2 = 2b - sin(a) (diagonal), d2f/da db = 2a (diagonal), d2f/db2 = 0
    np.testing.assert_allclose(got["a"], (2 * b - np.sin(a)) * va + 2 * a * vb, rtol=1e-13)
    np.testing.assert_allclose(got["b"], 2 * a * va, rtol=1e-13)


def test_hvp_passes_keywords_to_f() -> None:
    def f(x: Any, scale: float = 1.0) -> Any:
        return scale * np.sum(x ** 3)

    x, v = np.array([1.0, 2.0]), np.array([1.0, 1.0])
    for mode in SECOND_ORDER_MODES:
        np.testing.assert_allclose(modes.hvp(f, x, v, mode=mode, scale=2.0), 2.0 * 6 * x)


def test_default_is_forward_over_reverse() -> None:
    x = np.array([0.5, -1.2, 2.0])
    np.testing.assert_array_equal(modes.hessian(rosenbrock)(x),
                                  modes.hessian(rosenbrock, mode="forward-over-reverse")(x))


def test_unknown_mode_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="forward-over-reverse"):
        modes.hessian(rosenbrock, mode="reverse")
    with pytest.raises(ValueError, match="reverse-over-reverse"):
        modes.hvp(rosenbrock, np.ones(3), np.ones(3), mode="backward-over-forward")


def test_hvp_structure_mismatch_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="structure of x"):
        modes.hvp(lambda p: np.sum(p["a"] ** 2), {"a": np.ones(2)}, [np.ones(2)],
                  mode="reverse-over-reverse")


@pytest.mark.parametrize("mode", SECOND_ORDER_MODES)
def test_small_chunks_give_the_same_hessian(mode: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from modes import cost_model

    monkeypatch.setattr(cost_model, "CHUNK_ELEMENTS", 64)
    x = RNG.standard_normal(12)
    np.testing.assert_allclose(modes.hessian(rosenbrock, mode=mode)(x), rosenbrock_hessian(x),
                               rtol=1e-12, atol=1e-9)


def test_nested_chunks_count_the_enclosing_directions(monkeypatch: pytest.MonkeyPatch) -> None:
    """An inner forward pass under an outer one with k directions holds k times the entries per
    value, and a sweep over an inner forward pass k times the widest tangent: the chunk cap sees
    those sizes, not the input's alone (else forward-over-forward at n = 1000 holds n^3 floats)."""
    from modes import api, cost_model

    seen: list[tuple[int, int]] = []
    real = cost_model.default_chunk
    monkeypatch.setattr(cost_model, "default_chunk", lambda n, size: seen.append((n, size)) or real(n, size))
    x = RNG.standard_normal(12)
    api.hessian(rosenbrock, mode="forward-over-forward")(x)
    assert seen[0] == (12, 12) and seen[1] == (12, 144), seen
    seen.clear()
    api.hessian(rosenbrock, mode="reverse-over-forward")(x)
    inner, outer = seen[0], seen[1]
    assert inner == (12, 12) and outer[1] >= 12 * 11, seen  # the (12, 11) tangents of x[1:]
