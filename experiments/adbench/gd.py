"""The gradient-descent solver of GradBench's ``particle`` and ``saddle`` evals.

The same (deliberately simple) algorithm as the reference: step x - eta g; stop when |g| <= 1e-5
or the step is <= 1e-5; accept a step that lowers f (and after 10 accepted steps double eta),
otherwise halve eta. It runs on plain or traced values alike, so it can sit inside an outer AD
(the nested case): comparisons are taken at the nominal values.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

import modes

TOL = 1e-5
ETA0 = 1e-5
Grad = Callable[[Callable[[Any], Any]], Callable[[Any], Any]]


def gradient(mode: str) -> Grad:
    """``gradient(mode)(f)``: the gradient function of scalar f of one 1-D array, in ``mode``."""
    if mode not in ("forward", "reverse"):
        raise ValueError(f"mode must be 'forward' or 'reverse', got {mode!r}")
    return lambda f: modes.grad(f, mode=mode)


def _norm(v: Any) -> Any:
    return np.sqrt(np.sum(v * v))


def argmin(grad: Grad, f: Callable[[Any], Any], x: Any) -> Any:
    """Minimise f from x by the reference's gradient descent; returns the final x."""
    g = grad(f)
    fx, gx = f(x), g(x)
    eta, i = ETA0, 0
    while True:
        if _norm(gx) <= TOL:
            return x
        if i == 10:
            eta, i = 2.0 * eta, 0
            continue
        x_new = x - eta * gx
        if _norm(x - x_new) <= TOL:
            return x
        fx_new = f(x_new)
        if fx_new < fx:
            x, fx, gx, i = x_new, fx_new, g(x_new), i + 1
        else:
            eta, i = eta / 2.0, 0


def argmax(grad: Grad, f: Callable[[Any], Any], x: Any) -> Any:
    return argmin(grad, lambda v: -f(v), x)


def maximum(grad: Grad, f: Callable[[Any], Any], x: Any) -> Any:
    return f(argmax(grad, f, x))
