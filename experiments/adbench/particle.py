"""``particle``: a charged particle's trajectory, and the charge position w that aims it at the origin.

Two unit charges at (10, 10 - w) and (10, 0); the particle starts at (0, 8) with velocity
(0.75, 0). Naive Euler steps of dt = 0.1 with acceleration -grad_x p(x; w),
p(x; w) = sum over charges of 1 / |x - charge|, until the next step would cross y = 0; linear
interpolation to the crossing gives x(t_f), and the objective is x_0(t_f)^2. ``argmin`` over w by
``gd.argmin`` from the input w.

Nested AD: the outer gradient (d objective / dw, for the descent) differentiates through every
Euler step, each of which takes an inner gradient (d p / dx). The function name picks the modes:
``ff``, ``fr``, ``rf``, ``rr`` = outer then inner, ``f`` forward and ``r`` reverse.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

import modes

from . import gd
from .spec import Function

NAME = "particle"
VARIANTS = ("ff", "fr", "rf", "rr")
METHODS = VARIANTS
BEST = {"forward": "ff", "reverse": "rr", "auto": "rr"}
DT = 0.1
MODE = {"f": "forward", "r": "reverse"}


def potential(x0: Any, x1: Any, w: Any) -> Any:
    """p(x; w) at the position (x0, x1)."""
    dx = x0 - 10.0
    dy = x1 - (10.0 - w)
    return 1.0 / np.sqrt(dx * dx + dy * dy) + 1.0 / np.sqrt(dx * dx + x1 * x1)


def landing(w: Any, inner: str) -> Any:
    """x_0(t_f)^2 for the control w (plain or traced); d p / dx is taken in mode ``inner``.

    The state is four scalars (position and velocity), the cheapest form for a scalar problem.
    """
    force = modes.grad(lambda a, b: potential(a, b, w), argnum=(0, 1), mode=inner)
    x0, x1, v0, v1 = 0.0, 8.0, 0.75, 0.0
    while True:
        g0, g1 = force(x0, x1)
        n0, n1 = x0 + DT * v0, x1 + DT * v1
        if not n1 > 0:
            break
        x0, x1, v0, v1 = n0, n1, v0 - DT * g0, v1 - DT * g1
    dt_f = -x1 / v1
    x_t_f = x0 + dt_f * v0
    return x_t_f * x_t_f


def solve(w0: float, variant: str) -> float:
    """The final w from the start w0, outer and inner derivatives in the modes ``variant`` names."""
    if variant not in VARIANTS:
        raise ValueError(f"particle: unknown variant {variant!r}; choose one of {', '.join(VARIANTS)}")
    outer = gd.gradient(MODE[variant[0]])
    inner = MODE[variant[1]]
    w = gd.argmin(outer, lambda v: landing(v[0], inner), np.array([w0]))
    return float(w[0])


def prepare(raw: Mapping[str, Any]) -> float:
    return float(raw["w"])


def outer_gradient(w: float, variant: str) -> float:
    """One step's derivative d landing / dw in the modes ``variant`` names (the descent's unit)."""
    return modes.grad(lambda v: landing(v, MODE[variant[1]]), mode=MODE[variant[0]])(w)


def _variant(name: str) -> Function:
    return Function(prepare, lambda w0, method: solve(w0, name),
                    tape_probe=lambda w0, method: outer_gradient(w0, name))


FUNCTIONS = {v: _variant(v) for v in VARIANTS}


def generate(w: float = 0.0) -> dict[str, Any]:
    """The eval's input: the starting w (0 in the eval)."""
    return {"w": float(w)}
