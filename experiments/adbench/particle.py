"""``particle``: a charged particle's trajectory, and the charge position w that aims it at the origin.

Two unit charges at (10, 10 - w) and (10, 0); the particle starts at (0, 8) with velocity
(0.75, 0). Naive Euler steps of dt = 0.1 with acceleration -grad_x p(x; w),
p(x; w) = sum over charges of 1 / |x - charge|, until the next step would cross y = 0; linear
interpolation to the crossing gives x(t_f), and the objective is x_0(t_f)^2. ``argmin`` over w by
``gd.argmin`` from the input w.

Nested AD: the outer gradient (d objective / dw, for the descent) differentiates through every
Euler step, each of which takes an inner gradient (d p / dx). The function name picks the modes:
``ff``, ``fr``, ``rf``, ``rr`` = outer then inner, ``f`` forward and ``r`` reverse.

Compiled methods (``rf-compiled``, ``rr-compiled``; ``experiments.adbench.compiled``): the
descent's objective with its outer gradient (one ``value_and_grad``: a replay answers the
descent's f(x) and then g(x)), compiled once, staging every Euler step's inner gradient, and
replayed at every step of the descent. The reference's loop stops on a value (``while`` the next
step stays above y = 0), so for ``modes.compile`` every number of Euler steps is another trace (the
eval's descent meets 351 to 354 steps: 4 traces of seconds each, and a replay first runs through
the versions that do not fit). The compiled methods therefore run the same steps branch-free
(``landing_blocks``): blocks of ``BLOCK`` steps in which a step that would cross y = 0 leaves the
state as it is, one branch per block; the same numbers, one trace for the whole descent. ``build``
compiles at the input's w (reported as ``prepare``). ``ff`` and ``fr`` are not compiled: outer
forward mode compares its dual numbers by value, so every step's comparison is a value guard and
``ff`` re-traces per step count even branch-free (compiling did not pay), and ``fr``'s replays
fail a guard at the very point they were traced at (a comparison's result is a numpy bool in the
trace, a Python bool on replay), so every call would fall back to the interpreted modes.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

import modes

from . import gd
from .compiled import Descent, Programs, base, compiled, is_compiled
from .spec import Function

NAME = "particle"
VARIANTS = ("ff", "fr", "rf", "rr")
COMPILED = ("rf", "rr")  # the variants with a compiled method (see the module's docstring)
METHODS = VARIANTS + tuple(compiled(v) for v in COMPILED)
BEST = {"forward": "ff", "reverse": "rr-compiled", "auto": "rr-compiled",
        "ff": "ff", "fr": "fr", "rf": "rf-compiled", "rr": "rr-compiled"}
DT = 0.1
BLOCK = 64  # Euler steps per branch-free block of the compiled landing
MODE = {"f": "forward", "r": "reverse"}
PROGRAMS = Programs(size=4)


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


def landing_blocks(w: Any, inner: str) -> Any:
    """``landing`` with the Euler loop branch-free, for ``modes.compile``: blocks of ``BLOCK``
    steps; a step whose next position would not stay above y = 0 keeps the state (a 0/1 factor
    selects it, exactly: a * 1.0 + b * 0.0 == a), so the state stops at the last step before the
    crossing, as the reference's loop does, and stays there to the block's end. One branch per
    block (has the particle landed?): one trace fits every w that lands within the same block."""
    force = modes.grad(lambda a, b: potential(a, b, w), argnum=(0, 1), mode=inner)
    x0, x1, v0, v1 = 0.0, 8.0, 0.75, 0.0
    while True:
        for _ in range(BLOCK):
            g0, g1 = force(x0, x1)
            n1 = x1 + DT * v1
            step = (n1 > 0) * 1.0  # a comparison: no derivative, replayed on new values
            stay = 1.0 - step
            x0, x1, v0, v1 = ((x0 + DT * v0) * step + x0 * stay, n1 * step + x1 * stay,
                              (v0 - DT * g0) * step + v0 * stay, (v1 - DT * g1) * step + v1 * stay)
        if not x1 + DT * v1 > 0:
            break
    dt_f = -x1 / v1
    x_t_f = x0 + dt_f * v0
    return x_t_f * x_t_f


def _program(variant: str, w0: float) -> Any:
    """The compiled value and outer gradient of the descent's objective (a function of v = [w]),
    traced at w0."""
    outer, inner = MODE[variant[0]], MODE[variant[1]]
    objective = lambda v: landing_blocks(v[0], inner)  # noqa: E731
    return PROGRAMS.get(variant, lambda: modes.compile(
        modes.value_and_grad(objective, mode=outer), np.array([float(w0)])))


def build(w0: float, method: str) -> bool:
    """Compile a compiled method's programs at w0 (before the timed runs)."""
    if not is_compiled(method):
        return False
    _program(base(method), w0)
    return True


def solve(w0: float, variant: str) -> float:
    """The final w from the start w0, outer and inner derivatives in the modes ``variant`` names
    (a method name: ``rr-compiled`` replays the compiled programs of ``rr``)."""
    if variant not in METHODS:
        raise ValueError(f"particle: unknown variant {variant!r}; choose one of {', '.join(METHODS)}")
    if is_compiled(variant):
        descent = Descent(_program(base(variant), w0))
        w = gd.argmin(lambda _: descent.gradient, descent.objective, np.array([w0]))
        return float(w[0])
    outer = gd.gradient(MODE[variant[0]])
    inner = MODE[variant[1]]
    w = gd.argmin(outer, lambda v: landing(v[0], inner), np.array([w0]))
    return float(w[0])


def prepare(raw: Mapping[str, Any]) -> float:
    return float(raw["w"])


def outer_gradient(w: float, variant: str) -> float:
    """One step's derivative d landing / dw in the modes ``variant`` names (the descent's unit; a
    compiled method: by its compiled program)."""
    if is_compiled(variant):
        return float(_program(base(variant), w)(np.array([float(w)]))[1][0])
    return modes.grad(lambda v: landing(v, MODE[variant[1]]), mode=MODE[variant[0]])(w)


def _variant(name: str) -> Function:
    """The eval's function ``name``: runs the method the protocol picks for it (``name`` itself or
    ``name + "-compiled"``)."""
    return Function(prepare, lambda w0, method: solve(w0, method),
                    tape_probe=lambda w0, method: outer_gradient(w0, method), build=build)


FUNCTIONS = {v: _variant(v) for v in VARIANTS}


def generate(w: float = 0.0) -> dict[str, Any]:
    """The eval's input: the starting w (0 in the eval)."""
    return {"w": float(w)}
