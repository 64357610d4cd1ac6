"""jacobian in forward mode == reverse mode == finite differences on realistic functions.

Every chunk size (None: the default, 1, 3) in both modes, and mode="auto" equal to both.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import modes
from conftest import assert_close_fd, assert_modes_agree, numerical_jacobian

_r = np.random.default_rng(20240611)
A = _r.normal(size=(4, 3))
W1 = _r.normal(size=(5, 3)) / np.sqrt(3)
B1 = _r.normal(size=5)
W2 = _r.normal(size=(2, 5)) / np.sqrt(5)
B2 = _r.normal(size=2)
XBATCH = _r.normal(size=(6, 3))


def tanh_ax(x: Any) -> Any:
    return np.tanh(A @ x)


def mlp(x: Any) -> Any:
    return W2 @ np.tanh(W1 @ x + B1) + B2


def mlp_wrt_w1(w1: Any) -> Any:
    """A batch of inputs through the 2-layer MLP, as a function of the first layer's weights."""
    return np.tanh(XBATCH @ w1.T + B1) @ W2.T + B2


def mlp_wrt_b1(b1: Any) -> Any:
    return np.tanh(XBATCH @ W1.T + b1) @ W2.T + B2


def softmax(x: Any) -> Any:
    e = np.exp(x - np.max(x))
    return e / np.sum(e)


def softmax_rows(x: Any) -> Any:
    e = np.exp(x - np.max(x, axis=1, keepdims=True))
    return e / np.sum(e, axis=1, keepdims=True)


def logsumexp(x: Any) -> Any:
    m = np.max(x)
    return m + np.log(np.sum(np.exp(x - m)))


def rosenbrock(x: Any) -> Any:
    return np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)


def rosenbrock_grad(x: Any) -> Any:
    """Rosenbrock's gradient written out by hand (its Jacobian is the Hessian)."""
    head = -400.0 * x[:-1] * (x[1:] - x[:-1] ** 2) - 2.0 * (1.0 - x[:-1])
    tail = 200.0 * (x[1:] - x[:-1] ** 2)
    return np.concatenate([head, np.zeros(1)]) + np.concatenate([np.zeros(1), tail])


_x = np.random.default_rng(7)
FUNCTIONS: list[tuple[str, Callable[[Any], Any], np.ndarray]] = [
    ("tanh(Ax)", tanh_ax, _x.normal(size=3)),
    ("mlp", mlp, _x.normal(size=3)),
    ("mlp_wrt_W1", mlp_wrt_w1, W1.copy()),
    ("softmax", softmax, _x.normal(size=5)),
    ("softmax_rows", softmax_rows, _x.normal(size=(2, 4))),
    ("logsumexp", logsumexp, _x.normal(size=6)),
    ("rosenbrock", rosenbrock, _x.uniform(-1.5, 1.5, size=5)),
    ("rosenbrock_grad", rosenbrock_grad, _x.uniform(-1.5, 1.5, size=4)),
]


def _rosenbrock_gradient_by_formula(x: np.ndarray) -> np.ndarray:
    g = np.zeros_like(x)
    for i in range(len(x) - 1):
        g[i] += -400.0 * x[i] * (x[i + 1] - x[i] ** 2) - 2.0 * (1.0 - x[i])
        g[i + 1] += 200.0 * (x[i + 1] - x[i] ** 2)
    return g


def _cases(modes_: tuple[str, ...]) -> list[Any]:
    return [pytest.param(name, f, x, chunk, mode, id=f"{name}-chunk{chunk}-{mode}")
            for name, f, x in FUNCTIONS for chunk in (None, 1, 3) for mode in modes_]


@pytest.mark.parametrize("name, f, x, chunk_size, mode", _cases(("forward", "reverse")))
def test_jacobian_matches_finite_differences(name: str, f: Callable[[Any], Any], x: np.ndarray,
                                             chunk_size: int | None, mode: str) -> None:
    jac = modes.jacobian(f, mode=mode, chunk_size=chunk_size)(x)
    assert_close_fd(jac, numerical_jacobian(f, [x]), what=f"{name} {mode} chunk={chunk_size}")


@pytest.mark.parametrize("name, f, x, chunk_size, mode", _cases(("both",)))
def test_forward_equals_reverse(name: str, f: Callable[[Any], Any], x: np.ndarray,
                                chunk_size: int | None, mode: str) -> None:
    fwd = modes.jacobian(f, mode="forward", chunk_size=chunk_size)(x)
    rev = modes.jacobian(f, mode="reverse", chunk_size=chunk_size)(x)
    assert_modes_agree(fwd, rev, what=f"{name} chunk={chunk_size}")
    # every chunk size gives the same matrix as the default
    assert_modes_agree(fwd, modes.jacobian(f, mode="forward")(x), what=f"{name} forward chunks")


@pytest.mark.parametrize("name, f, x", FUNCTIONS, ids=[c[0] for c in FUNCTIONS])
def test_auto_equals_both(name: str, f: Callable[[Any], Any], x: np.ndarray) -> None:
    auto = modes.jacobian(f, mode="auto")(x)
    assert_modes_agree(auto, modes.jacobian(f, mode="forward")(x), what=f"{name} auto vs forward")
    assert_modes_agree(auto, modes.jacobian(f, mode="reverse")(x), what=f"{name} auto vs reverse")
    assert_close_fd(auto, numerical_jacobian(f, [x]), what=f"{name} auto")


@pytest.mark.parametrize("mode", ["forward", "reverse"])
def test_rosenbrock_gradient_matches_formula(mode: str) -> None:
    x = np.array([-1.2, 1.0, 0.3, 2.0, -0.5])
    g = modes.grad(rosenbrock, mode=mode)(x)
    np.testing.assert_allclose(g, _rosenbrock_gradient_by_formula(x), rtol=1e-13, atol=1e-12)
    np.testing.assert_allclose(modes.jacobian(rosenbrock, mode=mode)(x),
                               _rosenbrock_gradient_by_formula(x), rtol=1e-13, atol=1e-12)


@pytest.mark.parametrize("mode", ["forward", "reverse"])
def test_softmax_jacobian_matches_formula(mode: str) -> None:
    x = np.array([0.3, -1.0, 2.0, 0.5])
    s = np.exp(x) / np.sum(np.exp(x))
    np.testing.assert_allclose(modes.jacobian(softmax, mode=mode)(x), np.diag(s) - np.outer(s, s),
                               rtol=1e-12, atol=1e-15)
    # logsumexp's gradient is the softmax
    np.testing.assert_allclose(modes.grad(logsumexp, mode=mode)(x), s, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("mode", ["forward", "reverse"])
def test_tanh_ax_jacobian_matches_formula(mode: str) -> None:
    x = np.array([0.2, -0.7, 1.1])
    expected = (1.0 - np.tanh(A @ x) ** 2)[:, None] * A
    np.testing.assert_allclose(modes.jacobian(tanh_ax, mode=mode)(x), expected, rtol=1e-13, atol=1e-15)


@pytest.mark.parametrize("mode", ["forward", "reverse"])
@pytest.mark.parametrize("chunk_size", [None, 1, 4])
def test_mlp_jacobian_wrt_bias(mode: str, chunk_size: int | None) -> None:
    """A bias (5,) broadcast over a batch of inputs (6, 5): its bar is summed over the batch rows."""
    expected = numerical_jacobian(mlp_wrt_b1, [B1])
    jac = modes.jacobian(mlp_wrt_b1, mode=mode, chunk_size=chunk_size)(B1)
    assert_close_fd(jac, expected, what=f"mlp d/d b1 {mode}")
