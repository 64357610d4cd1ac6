"""``ode``: cmpad's ODE solved by s steps of classical Runge-Kutta (RK4) from t = 0 to t = 2.

y_0' = x_0, y_i' = x_i y_{i-1} (i > 0), y(0) = 0. ``primal`` returns y(2) (n values); ``gradient``
is the gradient of its last entry y_{n-1}(2) with respect to x (n values).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

import modes

from .spec import Function, check_method

NAME = "ode"
METHODS = ("forward", "reverse")
BEST = {"forward": "forward", "reverse": "reverse", "auto": "reverse"}
T_FINAL = 2.0


@dataclass(frozen=True)
class Input:
    x: np.ndarray
    s: int


def rhs(x: Any, y: Any) -> Any:
    """z_0 = x_0, z_i = x_i y_{i-1}."""
    return np.concatenate([x[:1], x[1:] * y[:-1]])


def solve(x: Any, s: int) -> Any:
    """y(T_FINAL) by s RK4 steps of size h = T_FINAL / s."""
    if s < 1:
        raise ValueError(f"ode needs s >= 1 steps, got s={s}")
    h = T_FINAL / s
    y = np.zeros(x.shape)
    for _ in range(s):
        k1 = rhs(x, y)
        k2 = rhs(x, y + h * k1 / 2.0)
        k3 = rhs(x, y + h * k2 / 2.0)
        k4 = rhs(x, y + h * k3)
        y = y + h * (k1 + 2.0 * k2 + 2.0 * k3 + k4) / 6.0
    return y


def last(x: Any, s: int) -> Any:
    """y_{n-1}(T_FINAL): the output the gradient is taken of."""
    return solve(x, s)[-1]


def gradient(inp: Input, method: str) -> np.ndarray:
    check_method(NAME, method, METHODS)
    return modes.grad(last, mode=method)(inp.x, inp.s)


def prepare(raw: Mapping[str, Any]) -> Input:
    return Input(np.asarray(raw["x"], dtype=np.float64), int(raw["s"]))


FUNCTIONS = {
    "primal": Function(prepare, lambda inp, method: solve(inp.x, inp.s), derivative=False),
    "gradient": Function(prepare, gradient),
}


def generate(n: int, s: int, seed: int = 31337) -> dict[str, Any]:
    """The eval's input: n uniform numbers in [0, 1) and s steps."""
    return {"x": np.random.default_rng(seed).random(n).tolist(), "s": int(s)}
