"""``saddle``: the saddle point of f(p1, p2) = (x1^2 + y1^2) - (x2^2 + y2^2) by nested descent.

r1 = argmin over p1 of [max over p2 of f(p1, p2)] (the inner max by gradient ascent, inside the
outer descent's objective: nested AD), then r2 = argmax over p2 of f(r1, p2). Every descent
starts at the input point ``start`` (``gd``'s solver). The output is [r1, r2] (4 numbers). The
function name picks the modes: outer (the argmin, and the final argmax) then inner (the nested
argmax), ``f`` forward and ``r`` reverse.

Compiled methods (``ff-compiled`` ... ``rr-compiled``, ``experiments.adbench.compiled``): each
descent's objective with its outer gradient (one ``value_and_grad``, a function of the point and
the start, or r1), compiled once (staging the whole inner ascent, inner gradients included) and
replayed at every step: one replay answers the descent's f(x) and then g(x). The inner ascent's
path does not depend on p1 (f separates p1 from p2), so its branches replay for every p1 without a
re-trace. ``build`` compiles them at the input's start (reported as ``prepare``); another start
whose branches differ traces again. Same steps, same numbers.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

import modes

from . import gd
from .compiled import Descent, Programs, base, compiled, is_compiled
from .spec import Function

NAME = "saddle"
VARIANTS = ("ff", "fr", "rf", "rr")
METHODS = VARIANTS + tuple(compiled(v) for v in VARIANTS)
BEST = {"forward": "ff-compiled", "reverse": "rr-compiled", "auto": "rr-compiled",
        **{v: compiled(v) for v in VARIANTS}}
MODE = {"f": "forward", "r": "reverse"}
PROGRAMS = Programs(size=8)


def f(p1: Any, p2: Any) -> Any:
    return (p1[0] * p1[0] + p1[1] * p1[1]) - (p2[0] * p2[0] + p2[1] * p2[1])


def solve(start: np.ndarray, variant: str) -> np.ndarray:
    """[r1, r2] from ``start`` with the outer and inner modes ``variant`` names (a method name:
    ``rr-compiled`` replays the compiled descents of ``rr``)."""
    if variant not in METHODS:
        raise ValueError(f"saddle: unknown variant {variant!r}; choose one of {', '.join(METHODS)}")
    if is_compiled(variant):
        return _solve_compiled(start, base(variant))
    outer, inner = gd.gradient(MODE[variant[0]]), gd.gradient(MODE[variant[1]])
    r1 = gd.argmin(outer, lambda p1: gd.maximum(inner, lambda p2: f(p1, p2), start), start)
    r2 = gd.argmax(outer, lambda p2: f(r1, p2), start)
    return np.concatenate([r1, r2])


def _max_over_p2(p1: Any, start: Any, inner: str) -> Any:
    """max over p2 of f(p1, p2) by gradient ascent from ``start`` (inner gradients in ``inner``)."""
    return gd.maximum(gd.gradient(inner), lambda p2: f(p1, p2), start)


def _minus_f(p2: Any, r1: Any) -> Any:
    return -f(r1, p2)  # the final argmax over p2 is the argmin of -f (as gd.argmax has it)


def _programs(variant: str, start: np.ndarray) -> tuple[Any, Any]:
    """The compiled value and outer gradient of both descents' objectives for ``variant``, each a
    function of (point, start or r1), traced at ``start``."""
    outer, inner = MODE[variant[0]], MODE[variant[1]]

    def make() -> tuple[Any, Any]:
        F = lambda p1, s: _max_over_p2(p1, s, inner)  # noqa: E731
        return (modes.compile(modes.value_and_grad(F, mode=outer), start, start),
                modes.compile(modes.value_and_grad(_minus_f, mode=outer), start, start))

    return PROGRAMS.get((variant, start.shape), make)


def _solve_compiled(start: np.ndarray, variant: str) -> np.ndarray:
    F, H = _programs(variant, start)
    first = Descent(lambda p: F(p, start))
    r1 = gd.argmin(lambda _: first.gradient, first.objective, start)
    second = Descent(lambda p: H(p, r1))
    r2 = gd.argmin(lambda _: second.gradient, second.objective, start)
    return np.concatenate([r1, r2])


def build(start: np.ndarray, method: str) -> bool:
    """Compile a compiled method's programs for ``start`` (before the timed runs)."""
    if not is_compiled(method):
        return False
    _programs(base(method), start)
    return True


def prepare(raw: Mapping[str, Any]) -> np.ndarray:
    start = np.asarray(raw["start"], dtype=np.float64)
    if start.shape != (2,):
        raise ValueError(f"saddle: start must have 2 entries, got {start.shape}")
    return start


def outer_gradient(start: np.ndarray, variant: str) -> np.ndarray:
    """One step's derivative: d/dp1 of max over p2 of f(p1, p2), at p1 = p2 = start (a compiled
    method: by its compiled program)."""
    if is_compiled(variant):
        return _programs(base(variant), start)[0](start, start)[1]
    inner = gd.gradient(MODE[variant[1]])
    return modes.grad(lambda p1: gd.maximum(inner, lambda p2: f(p1, p2), start),
                      mode=MODE[variant[0]])(start)


def _variant(name: str) -> Function:
    """The eval's function ``name``: runs the method the protocol picks for it (``name`` itself or
    ``name + "-compiled"``)."""
    return Function(prepare, lambda start, method: solve(start, method),
                    tape_probe=lambda start, method: outer_gradient(start, method), build=build)


FUNCTIONS = {v: _variant(v) for v in VARIANTS}


def generate(start: tuple[float, float] = (1.0, 1.0)) -> dict[str, Any]:
    """The eval's input: the starting point ((1, 1) in the eval)."""
    return {"start": [float(start[0]), float(start[1])]}
