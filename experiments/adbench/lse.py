"""``lse``: LogSumExp with the max shift, a + log(sum(exp(x - a))), a = max(x), and its gradient.

Written with the primitive elements (max, exp, sum, log) as the eval asks; the max is traced, so
its (cancelling) derivative goes through the AD too.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

import modes

from .spec import Function, check_method

NAME = "lse"
METHODS = ("forward", "reverse")
BEST = {"forward": "forward", "reverse": "reverse", "auto": "reverse"}


def primal(x: Any) -> Any:
    """LSE(x) for a 1-D array ``x``."""
    a = np.max(x)
    return a + np.log(np.sum(np.exp(x - a)))


def gradient(x: np.ndarray, method: str) -> np.ndarray:
    """d LSE / dx (the softmax of x) by ``modes`` in mode ``method``."""
    check_method(NAME, method, METHODS)
    return modes.grad(primal, mode=method)(x)


def prepare(raw: Mapping[str, Any]) -> np.ndarray:
    return np.asarray(raw["x"], dtype=np.float64)


FUNCTIONS = {
    "primal": Function(prepare, lambda x, method: primal(x), derivative=False),
    "gradient": Function(prepare, gradient),
}


def generate(n: int, seed: int = 31337) -> dict[str, Any]:
    """The eval's input: n uniform numbers in [0, 1)."""
    return {"x": np.random.default_rng(seed).random(n).tolist()}
