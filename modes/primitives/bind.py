"""Helpers that register primitives and bind them to numpy's ufuncs, functions and operators."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..registry import Primitive, Rule, plain
from ..tracing import FUNCTION_HANDLERS as FUNC
from ..tracing import OPS as OP
from ..tracing import UFUNC_HANDLERS as UFUNC

__all__ = ["FUNC", "OP", "UFUNC", "elementwise", "no_derivative", "structural", "REGISTRY"]

# Every primitive modes ships, by name: the table the registry-driven tests walk.
REGISTRY: dict[str, Primitive] = {}


def elementwise(fn: Callable[..., Any], name: str, *partials: Rule | None,
                cost: Rule | None = None) -> Primitive:
    """Register an elementwise primitive with one partial per positional argument; ``cost`` (the
    operation count, ``modes.flops``) defaults to one per element of the result."""
    p = Primitive(fn, name, partials=partials, cost=cost)
    REGISTRY[name] = p
    return p


def structural(
    fn: Callable[..., Any],
    name: str,
    jvp: Any,
    vjp: Any,
    linear: bool = False,
    vjp_accumulate: Rule | None = None,
    cost: Rule | None = None,
) -> Primitive:
    """Register a structural or linear primitive with its JVP and VJP rules side by side, and its
    operation count ``cost(ans, *args, **kw)`` (``modes.flops``; 0, data movement, by default)."""
    p = Primitive(fn, name, jvp=jvp, vjp=vjp, linear=linear, vjp_accumulate=vjp_accumulate,
                  cost=cost)
    REGISTRY[name] = p
    return p


def no_derivative(func: Callable[..., Any]) -> Callable[..., Any]:
    """A binding for a function whose result carries no derivative: evaluated on the plain values.

    Only for functions that are piecewise constant in their inputs (sign, floor, comparisons,
    argmax, shapes...): their derivative is 0 wherever it exists, and
    ``tests/test_piecewise_constant.py`` checks each one against finite differences. The handler
    keeps ``func`` as ``handler.piecewise_constant`` so the tests can find every such binding.
    """

    def handler(*args: Any, **kwargs: Any) -> Any:
        args = tuple(
            [plain(a) for a in x] if isinstance(x, (list, tuple)) else plain(x) for x in args
        )
        return func(*args, **{k: plain(v) for k, v in kwargs.items()})

    handler.piecewise_constant = func  # type: ignore[attr-defined]
    handler.__name__ = getattr(func, "__name__", "handler")
    return handler
