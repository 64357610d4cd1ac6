"""Nesting levels: each transformation traces at a level one above the one enclosing it.

Boxes are tagged with their level, and a primitive is handled by its highest-level argument, so
the perturbations of nested derivatives never mix (d/dx [x * d/dy (x + y)] is 1, not 2).
"""

from __future__ import annotations

_current = 0


def enter() -> int:
    """Open a new innermost level and return it. Pair with ``leave()`` in a ``finally``."""
    global _current
    _current += 1
    return _current


def current() -> int:
    """The innermost open level (0 outside every transformation)."""
    return _current


def leave() -> None:
    global _current
    _current -= 1


def set_current(level: int) -> int:
    """Make ``level`` the innermost open level (recomputing a checkpoint re-enters its level);
    returns the previous one, to be restored with ``set_current`` in a ``finally``."""
    global _current
    previous = _current
    _current = level
    return previous
