"""``llsq``: the linear least-squares objective of cmpad and its gradient.

y(x) = 1/2 sum_i (s_i - sum_j x_j t_i^j)^2 with t_i = -1 + 2 i / (n - 1) and s_i = sign(t_i);
m = len(x) coefficients, n sample points. Vectorised: y = 1/2 |s - T x|^2 with T[i, j] = t_i^j.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

import modes

from .spec import Function, check_method

NAME = "llsq"
METHODS = ("forward", "reverse")
BEST = {"forward": "forward", "reverse": "reverse", "auto": "reverse"}


@dataclass(frozen=True)
class Input:
    """x (m,), and the constants T (n, m) and s (n,) built from n."""

    x: np.ndarray
    T: np.ndarray
    s: np.ndarray


def design(n: int, m: int) -> tuple[np.ndarray, np.ndarray]:
    """(T, s): T[i, j] = t_i ** j (with 0 ** 0 = 1) and s = sign(t)."""
    if n < 2:
        raise ValueError(f"llsq needs n >= 2 sample points, got n={n}")
    t = -1.0 + np.arange(n) * 2.0 / (n - 1)
    return t[:, None] ** np.arange(m)[None, :], np.sign(t)


def objective(x: Any, T: np.ndarray, s: np.ndarray) -> Any:
    """1/2 |s - T x|^2."""
    r = s - T @ x
    return 0.5 * np.sum(r * r)


def primal(inp: Input) -> Any:
    return objective(inp.x, inp.T, inp.s)


def gradient(inp: Input, method: str) -> np.ndarray:
    """dy/dx by ``modes`` in mode ``method``."""
    check_method(NAME, method, METHODS)
    return modes.grad(objective, mode=method)(inp.x, inp.T, inp.s)


def prepare(raw: Mapping[str, Any]) -> Input:
    x = np.asarray(raw["x"], dtype=np.float64)
    T, s = design(int(raw["n"]), x.size)
    return Input(x, T, s)


FUNCTIONS = {
    "primal": Function(prepare, lambda inp, method: primal(inp), derivative=False),
    "gradient": Function(prepare, gradient),
}


def generate(n: int, m: int, seed: int = 31337) -> dict[str, Any]:
    """The eval's input: m uniform coefficients in [0, 1) and the number of points n."""
    return {"x": np.random.default_rng(seed).random(m).tolist(), "n": int(n)}
