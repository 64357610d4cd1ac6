"""The shape of the registry-driven test table: a ``Case`` is one way to reach a primitive.

``tests/test_registry.py`` holds the table for the core primitives and merges the tables of the
``tests/cases_*.py`` modules (one per family of primitives), so each family's cases live next to
each other and every registered primitive is checked by the same tests.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from conftest import REAL, Domain

MODES = ("forward", "reverse")
Shape = tuple[int, ...] | None


@dataclass(frozen=True)
class Case:
    """One way to reach a primitive: ``fn(*args)`` on inputs of ``shapes`` drawn from ``domains``."""

    label: str
    fn: Callable[..., Any]
    shapes: tuple[tuple[Shape, ...], ...]  # one tuple of argument shapes per variant
    domains: tuple[Domain, ...]
    argnums: tuple[int, ...] | None = None  # the arguments to differentiate (default: all)


UNARY_SHAPES: tuple[Shape, ...] = (None, (5,), (3, 4))
BINARY_SHAPES: tuple[tuple[Shape, Shape], ...] = (
    (None, None), ((5,), (5,)), ((3, 4), (3, 4)),
    ((3, 1), (1, 4)), ((3, 1), (4,)), ((3, 4), (4,)), ((4,), (3, 4)),
    (None, (3,)), ((2, 3), None),
)


def unary(label: str, fn: Callable[..., Any], domain: Domain = REAL,
          shapes: tuple[Shape, ...] = UNARY_SHAPES) -> Case:
    return Case(label, fn, tuple((s,) for s in shapes), (domain,))


def binary(label: str, fn: Callable[..., Any], d0: Domain = REAL, d1: Domain = REAL,
           shapes: tuple[tuple[Shape, Shape], ...] = BINARY_SHAPES) -> Case:
    return Case(label, fn, shapes, (d0, d1))


def on(label: str, fn: Callable[..., Any], *shapes: Shape, domain: Domain = REAL) -> Case:
    """A unary case on the given input shapes."""
    return Case(label, fn, tuple((s,) for s in shapes), (domain,))


def reduction_cases(name: str, fn: Callable[..., Any], domain: Domain) -> list[Case]:
    layouts: list[tuple[tuple[int, ...], Any]] = [
        ((5,), None), ((5,), 0), ((5,), -1),
        ((3, 4), None), ((3, 4), 0), ((3, 4), 1), ((3, 4), -1), ((3, 4), (0, 1)),
        ((2, 3, 4), None), ((2, 3, 4), 1), ((2, 3, 4), (0, 2)), ((2, 3, 4), (-1, 0)),
    ]
    cases = []
    for shape, axis in layouts:
        for keepdims in (False, True):
            cases.append(on(f"{name}(x,axis={axis},keepdims={keepdims})",
                            lambda x, a=axis, k=keepdims: fn(x, axis=a, keepdims=k),
                            shape, domain=domain))
    return cases
