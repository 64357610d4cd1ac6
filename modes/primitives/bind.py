"""Helpers that register primitives and bind them to numpy's ufuncs, functions and operators."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..registry import Primitive, Rule
from ..tracing import FUNCTION_HANDLERS as FUNC
from ..tracing import OPS as OP
from ..tracing import UFUNC_HANDLERS as UFUNC

__all__ = ["FUNC", "OP", "UFUNC", "elementwise", "structural", "REGISTRY"]

# Every primitive modes ships, by name: the table the registry-driven tests walk.
REGISTRY: dict[str, Primitive] = {}


def elementwise(fn: Callable[..., Any], name: str, *partials: Rule | None) -> Primitive:
    """Register an elementwise primitive with one partial per positional argument."""
    p = Primitive(fn, name, partials=partials)
    REGISTRY[name] = p
    return p


def structural(
    fn: Callable[..., Any],
    name: str,
    jvp: Any,
    vjp: Any,
    linear: bool = False,
    vjp_accumulate: Rule | None = None,
) -> Primitive:
    """Register a structural or linear primitive with its JVP and VJP rules side by side."""
    p = Primitive(fn, name, jvp=jvp, vjp=vjp, linear=linear, vjp_accumulate=vjp_accumulate)
    REGISTRY[name] = p
    return p
