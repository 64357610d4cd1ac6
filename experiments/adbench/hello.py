"""``hello``: square(x) = x * x and its derivative double(x) = 2 x (the protocol smoke test)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import modes

from .spec import Function, check_method

NAME = "hello"
METHODS = ("forward", "reverse")
BEST = {"forward": "forward", "reverse": "reverse", "auto": "reverse"}


def square(x: Any) -> Any:
    """x * x."""
    return x * x


def double(x: float, method: str) -> float:
    """d square / dx at ``x`` by ``modes`` in the mode ``method``."""
    check_method(NAME, method, METHODS)
    return modes.grad(square, mode=method)(x)


def prepare(raw: Any) -> float:
    x = raw["x"] if isinstance(raw, Mapping) else raw  # hello's input is the bare number
    return float(x)


FUNCTIONS = {
    "square": Function(prepare, lambda x, method: square(x), derivative=False),
    "double": Function(prepare, double),
}


def generate(x: float = 1.0) -> float:
    """hello's input: a bare number."""
    return float(x)
