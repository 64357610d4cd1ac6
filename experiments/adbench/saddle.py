"""``saddle``: the saddle point of f(p1, p2) = (x1^2 + y1^2) - (x2^2 + y2^2) by nested descent.

r1 = argmin over p1 of [max over p2 of f(p1, p2)] (the inner max by gradient ascent, inside the
outer descent's objective: nested AD), then r2 = argmax over p2 of f(r1, p2). Every descent
starts at the input point ``start`` (``gd``'s solver). The output is [r1, r2] (4 numbers). The
function name picks the modes: outer (the argmin, and the final argmax) then inner (the nested
argmax), ``f`` forward and ``r`` reverse.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

import modes

from . import gd
from .spec import Function

NAME = "saddle"
VARIANTS = ("ff", "fr", "rf", "rr")
METHODS = VARIANTS
BEST = {"forward": "ff", "reverse": "rr", "auto": "rr"}
MODE = {"f": "forward", "r": "reverse"}


def f(p1: Any, p2: Any) -> Any:
    return (p1[0] * p1[0] + p1[1] * p1[1]) - (p2[0] * p2[0] + p2[1] * p2[1])


def solve(start: np.ndarray, variant: str) -> np.ndarray:
    """[r1, r2] from ``start`` with the outer and inner modes ``variant`` names."""
    if variant not in VARIANTS:
        raise ValueError(f"saddle: unknown variant {variant!r}; choose one of {', '.join(VARIANTS)}")
    outer, inner = gd.gradient(MODE[variant[0]]), gd.gradient(MODE[variant[1]])
    r1 = gd.argmin(outer, lambda p1: gd.maximum(inner, lambda p2: f(p1, p2), start), start)
    r2 = gd.argmax(outer, lambda p2: f(r1, p2), start)
    return np.concatenate([r1, r2])


def prepare(raw: Mapping[str, Any]) -> np.ndarray:
    start = np.asarray(raw["start"], dtype=np.float64)
    if start.shape != (2,):
        raise ValueError(f"saddle: start must have 2 entries, got {start.shape}")
    return start


def outer_gradient(start: np.ndarray, variant: str) -> np.ndarray:
    """One step's derivative: d/dp1 of max over p2 of f(p1, p2), at p1 = p2 = start."""
    inner = gd.gradient(MODE[variant[1]])
    return modes.grad(lambda p1: gd.maximum(inner, lambda p2: f(p1, p2), start),
                      mode=MODE[variant[0]])(start)


def _variant(name: str) -> Function:
    return Function(prepare, lambda start, method: solve(start, name),
                    tape_probe=lambda start, method: outer_gradient(start, name))


FUNCTIONS = {v: _variant(v) for v in VARIANTS}


def generate(start: tuple[float, float] = (1.0, 1.0)) -> dict[str, Any]:
    """The eval's input: the starting point ((1, 1) in the eval)."""
    return {"start": [float(start[0]), float(start[1])]}
