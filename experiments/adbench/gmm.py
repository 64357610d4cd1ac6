"""``gmm``: the ADBench Gaussian mixture model log-posterior and its gradient.

Parameters: alpha (k,) mixture weights (log scale), mu (k, d) means, q (k, d) log-diagonals and
l (k, d(d-1)/2) strict lower triangles of the precision factors Q_k (Sigma_k^{-1} = Q_k^T Q_k;
l lists column by column: (1,0), (2,0), ..., (d-1,0), (2,1), ...). Data x (n, d); Wishart prior
(gamma, m). The objective (ADBench's ``gmm_objective``)::

    -n d/2 log(2 pi) + sum_i logsumexp_k(alpha_k + sum(q_k) - |Q_k (x_i - mu_k)|^2 / 2)
    - n logsumexp(alpha) + sum_k [gamma^2/2 (|exp(q_k)|^2 + |l_k|^2) - m sum(q_k)] (negated) + k C

with C = n' d (log gamma - log(2)/2) - log Gamma_d(n'/2), n' = d + m + 1. Vectorised over points
and components (one batched product for all Q_k (x_i - mu_k)). The logsumexp shift is a plain
constant (``modes.plain``): LSE's value does not depend on it, so neither does its derivative.

JSON formats: GradBench's current one (``mu``, ``q``, ``l`` as arrays of rows; the jacobian as an
object with the same keys plus ``alpha``) and the older ADBench one (``means``, ``icf`` = [q, l]
per component; the jacobian as one flat list [alpha, means, icf]). The output follows the input's.

``reverse-compiled`` (``experiments.adbench.compiled``): the reverse gradient compiled by
``modes.compile`` (nominal pass and generated sweep) for the input's shapes, gamma and m, and
replayed. The logsumexp shifts are values read by ``modes.plain``, so the program guards on them:
another x or other parameters trace again (14 ms at d = 2, k = 5 to 1.9 s at d = 64, k = 100 here,
about 5 gradients), repeated runs on one input replay. ``build`` compiles before the timed runs
(reported as ``prepare``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np

import modes

from .compiled import Programs, base, is_compiled, shapes
from .spec import Function, check_method, to_json

NAME = "gmm"
METHODS = ("forward", "reverse", "reverse-compiled")
BEST = {"forward": "forward", "reverse": "reverse-compiled", "auto": "reverse-compiled"}
PROGRAMS = Programs(size=4)


@dataclass(frozen=True)
class Input:
    """The differentiable parameters and the constants; ``legacy`` marks the ADBench JSON format."""

    alpha: np.ndarray
    mu: np.ndarray
    q: np.ndarray
    l: np.ndarray  # noqa: E741 - the specification's name
    x: np.ndarray
    gamma: float
    m: int
    legacy: bool = False

    @property
    def params(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        return self.alpha, self.mu, self.q, self.l


@lru_cache(maxsize=64)
def lower_index(d: int) -> np.ndarray:
    """(d, d) indices into [0, l_0, l_1, ...]: L[r, c] = l[idx - 1] below the diagonal, 0 elsewhere."""
    idx = np.zeros((d, d), dtype=np.intp)
    pos = 1
    for c in range(d):
        for r in range(c + 1, d):
            idx[r, c] = pos
            pos += 1
    return idx


def log_gamma_distrib(a: float, p: int) -> float:
    """log of the multivariate gamma function Gamma_p(a)."""
    return 0.25 * p * (p - 1) * math.log(math.pi) + sum(math.lgamma(a + 0.5 * (1 - j))
                                                        for j in range(1, p + 1))


def logsumexp(v: Any, axis: int | None = None) -> Any:
    """log(sum(exp(v))) along ``axis``, shifted by the (untraced) maximum."""
    shift = np.max(modes.plain(v), axis=axis, keepdims=True)
    out = np.log(np.sum(np.exp(v - shift), axis=axis, keepdims=True)) + shift
    return np.squeeze(out, axis=axis) if axis is not None else out.reshape(())


def objective(alpha: Any, mu: Any, q: Any, l: Any, x: np.ndarray, gamma: float, m: int) -> Any:  # noqa: E741
    """The GMM log-posterior (scalar)."""
    n, d = x.shape
    k = alpha.shape[0]
    qdiag = np.exp(q)                                             # (k, d)
    sum_q = np.sum(q, axis=1)                                     # (k,)
    lpad = np.concatenate([np.zeros((k, 1)), l], axis=1)          # (k, 1 + d(d-1)/2)
    L = lpad[:, lower_index(d)]                                   # (k, d, d) strictly lower
    xc = x[None, :, :] - mu[:, None, :]                           # (k, n, d)
    qxc = qdiag[:, None, :] * xc + xc @ np.swapaxes(L, 1, 2)      # (k, n, d): Q_k (x_i - mu_k)
    main = (alpha + sum_q)[:, None] - 0.5 * np.sum(qxc * qxc, axis=2)   # (k, n)
    slse = np.sum(logsumexp(main, axis=0))
    const = -n * d * 0.5 * math.log(2 * math.pi)
    nw = d + m + 1
    c = nw * d * (math.log(gamma) - 0.5 * math.log(2)) - log_gamma_distrib(0.5 * nw, d)
    frob = np.sum(qdiag * qdiag, axis=1) + np.sum(l * l, axis=1)
    prior = k * c - np.sum(0.5 * gamma * gamma * frob - m * sum_q)
    return const + slse - n * logsumexp(alpha) + prior


def value(inp: Input) -> Any:
    return objective(*inp.params, inp.x, inp.gamma, inp.m)


def gradient(inp: Input, method: str) -> tuple[np.ndarray, ...]:
    """(d/d alpha, d/d mu, d/d q, d/d l) by ``modes`` in mode ``method``."""
    check_method(NAME, method, METHODS)
    if is_compiled(method):
        return _program(inp, method)(*inp.params, inp.x)
    return modes.grad(objective, argnum=(0, 1, 2, 3), mode=method)(*inp.params, inp.x, inp.gamma,
                                                                 inp.m)


def _program(inp: Input, method: str) -> Any:
    """The compiled gradient for ``inp``'s shapes, gamma and m (constants of the trace: the prior's
    constant takes math.log of gamma)."""
    gamma, m, mode = inp.gamma, inp.m, base(method)

    def of_params(alpha: Any, mu: Any, q: Any, l: Any, x: Any) -> Any:  # noqa: E741
        return objective(alpha, mu, q, l, x, gamma, m)

    return PROGRAMS.get((method, shapes(*inp.params, inp.x), gamma, m), lambda: modes.compile(
        modes.grad(of_params, argnum=(0, 1, 2, 3), mode=mode), *inp.params, inp.x))


def build(inp: Input, method: str) -> bool:
    """Compile a compiled method for ``inp`` (before the timed runs)."""
    if not is_compiled(method):
        return False
    _program(inp, method)
    return True


def prepare(raw: Mapping[str, Any]) -> Input:
    d, k = int(raw["d"]), int(raw["k"])
    x = np.asarray(raw["x"], dtype=np.float64).reshape(-1, d)
    alpha = np.asarray(raw["alpha"], dtype=np.float64).reshape(k)
    if "icf" in raw:  # ADBench's format
        icf = np.asarray(raw["icf"], dtype=np.float64).reshape(k, -1)
        mu = np.asarray(raw["means"], dtype=np.float64).reshape(k, d)
        q, l, legacy = icf[:, :d], icf[:, d:], True  # noqa: E741
    else:
        mu = np.asarray(raw["mu"], dtype=np.float64).reshape(k, d)
        q = np.asarray(raw["q"], dtype=np.float64).reshape(k, d)
        l = np.asarray(raw["l"], dtype=np.float64).reshape(k, d * (d - 1) // 2)  # noqa: E741
        legacy = False
    if l.shape[1] != d * (d - 1) // 2:
        raise ValueError(f"gmm: expected {d * (d - 1) // 2} lower-triangle entries per component, "
                         f"got {l.shape[1]}")
    lower_index(d)
    return Input(alpha, mu, q, l, np.ascontiguousarray(x), float(raw["gamma"]), int(raw["m"]), legacy)


def jacobian_output(grads: tuple[np.ndarray, ...], inp: Input) -> Any:
    """The gradient in the JSON shape the input's format asks for."""
    ga, gmu, gq, gl = grads
    if inp.legacy:
        return to_json(np.concatenate([np.ravel(ga), np.ravel(gmu),
                                       np.concatenate([gq, gl], axis=1).ravel()]))
    return {"alpha": to_json(ga), "mu": to_json(gmu), "q": to_json(gq), "l": to_json(gl)}


FUNCTIONS = {
    "objective": Function(prepare, lambda inp, method: value(inp), derivative=False),
    "jacobian": Function(prepare, gradient, jacobian_output, build=build),
}


def generate(d: int, k: int, n: int, m: int = 0, gamma: float = 1.0, seed: int = 31337) -> dict[str, Any]:
    """An input in GradBench's format, drawn like the eval does: x ~ N(0, 1), mu ~ U(0, 1),
    q, l, alpha ~ N(0, 1)."""
    rng = np.random.default_rng(seed)
    return {
        "d": d, "k": k, "n": n, "m": m, "gamma": gamma,
        "x": rng.normal(size=(n, d)).tolist(),
        "mu": rng.uniform(size=(k, d)).tolist(),
        "q": rng.normal(size=(k, d)).tolist(),
        "l": rng.normal(size=(k, d * (d - 1) // 2)).tolist(),
        "alpha": rng.normal(size=k).tolist(),
    }
