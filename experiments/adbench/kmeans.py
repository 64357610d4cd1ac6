"""``kmeans``: the k-means cost and one Newton direction J H^{-1} (H: the Hessian's diagonal).

cost(C) = sum_i min_j |P_i - C_j|^2 for points P (n, d) and centroids C (k, d). ``dir`` returns
J / h with J = d cost / d C (k, d) and h the diagonal of the Hessian (k, d) (the Hessian is
diagonal, so h = H 1: one Hessian-vector product with the all-ones direction).

Methods (nested AD for h): ``forward``: J by forward mode (k d directions), h = jvp of that forward
gradient along 1 (forward over forward); ``reverse``: J by reverse mode, h = gradient of sum(J)
(reverse over reverse, H symmetric); ``forward-over-reverse``: J by reverse mode and h by one
forward pass through the reverse gradient (``modes.hvp``).

Compiled methods (``reverse-compiled``, ``forward-over-reverse-compiled``;
``experiments.adbench.compiled``): the whole direction function of (centroids, points), compiled
by ``modes.compile`` (staged through the interpreted modes, as nested transformations are) and
replayed. The derivative rule of ``np.min`` reads the distances themselves (``modes.plain``, to
share ties), so the nested programs guard on them: new points or centroids trace again (tens of
milliseconds at the eval's sizes) and repeated runs on one input replay. ``build`` compiles for
the input before the timed runs (reported as ``prepare``). Forward over forward is not compiled:
its k d directions of numpy work leave nothing to gain (measured equal, after 1-4 s compiling).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

import modes

from .compiled import Programs, base, compiled, is_compiled, shapes
from .spec import Function, check_method

NAME = "kmeans"
METHODS = ("forward", "reverse", "forward-over-reverse", compiled("reverse"),
           compiled("forward-over-reverse"))
BEST = {"forward": "forward", "reverse": "reverse-compiled", "auto": "reverse-compiled"}
PROGRAMS = Programs(size=4)


@dataclass(frozen=True)
class Input:
    points: np.ndarray     # (n, d)
    centroids: np.ndarray  # (k, d)


def cost(C: Any, P: np.ndarray) -> Any:
    """sum over points of the squared distance to the nearest centroid."""
    diff = P[:, None, :] - C[None, :, :]                  # (n, k, d)
    return np.sum(np.min(np.sum(diff * diff, axis=2), axis=1))


def direction(inp: Input, method: str) -> np.ndarray:
    """J / diag(H) at the centroids, by ``method``."""
    check_method(NAME, method, METHODS)
    if is_compiled(method):
        return _program(inp, method)(inp.centroids, inp.points)
    return _direction(inp.centroids, inp.points, method)


def _program(inp: Input, method: str) -> Any:
    """The compiled direction function of ``method`` for inputs of ``inp``'s shapes."""
    interpreted = base(method)
    return PROGRAMS.get((method, shapes(inp.centroids, inp.points)), lambda: modes.compile(
        lambda C, P: _direction(C, P, interpreted), inp.centroids, inp.points))


def build(inp: Input, method: str) -> bool:
    """Compile a compiled method for ``inp`` (before the timed runs)."""
    if not is_compiled(method):
        return False
    _program(inp, method)
    return True


def _direction(C: Any, P: Any, method: str) -> Any:
    ones = np.ones_like(C)
    if method == "forward":
        g = modes.grad(cost, mode="forward")
        J, h = modes.jvp(lambda c: g(c, P), (C,), (ones,))
    elif method == "reverse":
        g = modes.grad(cost, mode="reverse")
        J = g(C, P)
        h = modes.grad(lambda c: np.sum(g(c, P)), mode="reverse")(C)
    else:
        J = modes.grad(cost, mode="reverse")(C, P)
        h = modes.hvp(lambda c: cost(c, P), C, ones)
    return J / h


def prepare(raw: Mapping[str, Any]) -> Input:
    P = np.asarray(raw["points"], dtype=np.float64)
    C = np.asarray(raw["centroids"], dtype=np.float64)
    if P.ndim != 2 or C.ndim != 2 or P.shape[1] != C.shape[1]:
        raise ValueError(f"kmeans: points {P.shape} and centroids {C.shape} must be (n, d), (k, d)")
    return Input(P, C)


FUNCTIONS = {
    "cost": Function(prepare, lambda inp, method: cost(inp.centroids, inp.points), derivative=False),
    "dir": Function(prepare, direction, build=build),
}


def generate(k: int, n: int, d: int, seed: int = 31337) -> dict[str, Any]:
    """The eval's input: n uniform points in [0, 1)^d, the last k of them as centroids (so every
    centroid is the nearest one of at least one point)."""
    points = np.random.default_rng(seed).random((n, d))
    return {"points": points.tolist(), "centroids": points[-k:].tolist()}
