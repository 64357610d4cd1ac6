"""The functions the experiments differentiate, with inputs and exact derivatives to check against.

All are plain numpy code (they run unchanged on floats/arrays and on modes' traced values), built
deterministically from ``(name, n[, m], seed)``:

* scalar functions f: R^n -> R (``make_scalar``): vectorised ones (a handful of whole-array
  operations, cost O(n) in numpy) and Speelpenning's product as a scalar loop (n - 1 separate
  multiplications: the per-operation regime, where interpretive overhead per operation dominates);
* vector functions f: R^n -> R^m (``make_vector``): ``tanh(A x)`` and a one-hidden-layer MLP;
* chains of k elementwise steps (``chain``), for memory against the number of operations.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

Array = np.ndarray


@dataclass(frozen=True)
class ScalarProblem:
    """f: R^n -> R at the point ``x0``, with its exact gradient ``grad`` (plain numpy)."""

    name: str
    n: int
    f: Callable[[Any], Any]
    grad: Callable[[Array], Array]
    x0: Array
    regime: str  # "vectorised" or "scalar loop"


@dataclass(frozen=True)
class VectorProblem:
    """f: R^n -> R^m at ``x0`` with its exact Jacobian ``jac`` (m, n)."""

    name: str
    n: int
    m: int
    f: Callable[[Any], Any]
    jac: Callable[[Array], Array]
    x0: Array


# ---- scalar functions -------------------------------------------------------------------------------
def rosenbrock(x: Any) -> Any:
    """Extended Rosenbrock, vectorised: sum 100 (x[i+1] - x[i]^2)^2 + (1 - x[i])^2."""
    return np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)


def rosenbrock_grad(x: Array) -> Array:
    g = np.zeros_like(x)
    d = x[1:] - x[:-1] ** 2
    g[:-1] += -400.0 * x[:-1] * d - 2.0 * (1.0 - x[:-1])
    g[1:] += 200.0 * d
    return g


def speelpenning(x: Any) -> Any:
    """Speelpenning's product x[0] * x[1] * ... as a scalar loop: n - 1 separate multiplications."""
    p = x[0]
    for i in range(1, len(x)):
        p = p * x[i]
    return p


def product_grad(x: Array) -> Array:
    return np.prod(x) / x


def product(x: Any) -> Any:
    """Speelpenning's product as one vectorised reduction."""
    return np.prod(x)


def logsumexp(x: Any) -> Any:
    c = np.max(x)
    return c + np.log(np.sum(np.exp(x - c)))


def logsumexp_grad(x: Array) -> Array:
    e = np.exp(x - np.max(x))
    return e / np.sum(e)


def ackley(x: Any) -> Any:
    n = x.shape[0]
    s = np.sum(x * x) / n
    c = np.sum(np.cos(2.0 * np.pi * x)) / n
    return -20.0 * np.exp(-0.2 * np.sqrt(s)) - np.exp(c) + 20.0 + np.e


def ackley_grad(x: Array) -> Array:
    n = x.shape[0]
    r = np.sqrt(np.sum(x * x) / n)
    c = np.sum(np.cos(2.0 * np.pi * x)) / n
    return 4.0 * np.exp(-0.2 * r) * x / (n * r) + np.exp(c) * 2.0 * np.pi * np.sin(2.0 * np.pi * x) / n


def styblinski_tang(x: Any) -> Any:
    return 0.5 * np.sum(x ** 4 - 16.0 * x ** 2 + 5.0 * x)


def styblinski_tang_grad(x: Array) -> Array:
    return 0.5 * (4.0 * x ** 3 - 32.0 * x + 5.0)


def sin_gauss(x: Any) -> Any:
    return np.sum(np.sin(x) * np.exp(-x * x))


def sin_gauss_grad(x: Array) -> Array:
    e = np.exp(-x * x)
    return np.cos(x) * e - 2.0 * x * np.sin(x) * e


LOGISTIC_ROWS = 16


def _logistic(n: int, rng: np.random.Generator) -> tuple[Callable[[Any], Any], Callable[[Array], Array]]:
    a = rng.standard_normal((LOGISTIC_ROWS, n)) / np.sqrt(n)
    y = np.where(rng.random(LOGISTIC_ROWS) < 0.5, -1.0, 1.0)

    def logistic_loss(x: Any) -> Any:
        return np.sum(np.log1p(np.exp(-y * (a @ x)))) + 0.5 * np.sum(x * x)

    def grad(x: Array) -> Array:
        z = a @ x
        return a.T @ (-y / (1.0 + np.exp(y * z))) + x

    return logistic_loss, grad


SCALAR_PROBLEMS: dict[str, tuple[str, Any, Any]] = {
    # name: (regime, f, grad) -- f/grad None: built per n (data-dependent)
    "rosenbrock": ("vectorised", rosenbrock, rosenbrock_grad),
    "logsumexp": ("vectorised", logsumexp, logsumexp_grad),
    "logistic": ("vectorised", None, None),
    "ackley": ("vectorised", ackley, ackley_grad),
    "styblinski_tang": ("vectorised", styblinski_tang, styblinski_tang_grad),
    "sin_gauss": ("vectorised", sin_gauss, sin_gauss_grad),
    "product": ("vectorised", product, product_grad),
    "speelpenning": ("scalar loop", speelpenning, product_grad),
}


def make_scalar(name: str, n: int, seed: int = 0) -> ScalarProblem:
    """The scalar problem ``name`` at size ``n`` (inputs chosen so values stay well scaled)."""
    regime, f, grad = SCALAR_PROBLEMS[name]
    rng = np.random.default_rng(seed)
    if name in ("product", "speelpenning"):
        x0 = 1.0 + rng.uniform(-1.0, 1.0, n) / max(n, 1)  # the product stays near 1
    else:
        x0 = rng.uniform(-1.0, 1.5, n)
    if name == "logistic":
        f, grad = _logistic(n, rng)
    return ScalarProblem(name, n, f, grad, x0, regime)


def scalar_work_bytes(name: str, n: int) -> float:
    """Rough bytes a reverse gradient of ``name`` holds at size n (tape, temporaries, data), for safety."""
    data = LOGISTIC_ROWS * n * 8 if name == "logistic" else 0
    if name == "speelpenning":
        return 2_000.0 * n  # Python objects per node dominate
    return 40.0 * 8 * n + 2 * data


# ---- vector functions ---------------------------------------------------------------------------------
MLP_HIDDEN = 32


def make_vector(name: str, n: int, m: int, seed: int = 0) -> VectorProblem:
    """``tanh_affine``: tanh(A x); ``mlp``: W2 tanh(W1 x + b1) + b2 (hidden width ``MLP_HIDDEN``)."""
    rng = np.random.default_rng(seed)
    x0 = rng.standard_normal(n)
    if name == "tanh_affine":
        a = rng.standard_normal((m, n)) / np.sqrt(n)

        def tanh_affine(x: Any) -> Any:
            return np.tanh(a @ x)

        def jac(x: Array) -> Array:
            return (1.0 - np.tanh(a @ x) ** 2)[:, None] * a

        return VectorProblem(name, n, m, tanh_affine, jac, x0)
    if name == "mlp":
        h = MLP_HIDDEN
        w1 = rng.standard_normal((h, n)) / np.sqrt(n)
        b1 = rng.standard_normal(h) * 0.1
        w2 = rng.standard_normal((m, h)) / np.sqrt(h)
        b2 = rng.standard_normal(m) * 0.1

        def mlp(x: Any) -> Any:
            return w2 @ np.tanh(w1 @ x + b1) + b2

        def jac_mlp(x: Array) -> Array:
            return w2 @ ((1.0 - np.tanh(w1 @ x + b1) ** 2)[:, None] * w1)

        return VectorProblem(name, n, m, mlp, jac_mlp, x0)
    raise KeyError(f"unknown vector problem {name!r}")


VECTOR_PROBLEMS = ("tanh_affine", "mlp")


# ---- chains of k operations ------------------------------------------------------------------------------
def chain(k: int) -> Callable[[Any], Any]:
    """x -> sum(tanh(tanh(... tanh(x)))) with k tanh steps: k + 1 recorded operations (k + 2 nodes)."""

    def f(x: Any) -> Any:
        for _ in range(k):
            x = np.tanh(x)
        return np.sum(x)

    return f


def rel_err(got: Any, want: Any) -> float:
    """max |got - want| / max(1, max |want|)."""
    got = np.asarray(got, dtype=float)
    want = np.asarray(want, dtype=float)
    return float(np.max(np.abs(got - want)) / max(1.0, float(np.max(np.abs(want)))))
