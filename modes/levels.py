"""Nesting levels: each transformation traces at a level above every level enclosing it.

Boxes are tagged with their level, and a primitive is handled by its highest-level argument, so
the perturbations of nested derivatives never mix (d/dx [x * d/dy (x + y)] is 1, not 2). Level ids
are unique in the process (``context.new_level_id``) and the open ones are kept per thread, so a
level that has ended, or belongs to another thread, is never taken for an open one.
"""

from __future__ import annotations

from typing import Any

from . import context
from .errors import LeakedTracerError
from .registry import Traced

_STATE = context.STATE


_new_id = context.new_level_id
_SLOW = context.SLOW


def enter() -> int:
    """Open a new innermost level and return it. Pair with ``leave()`` in a ``finally``."""
    level = _new_id()
    _STATE.levels.append(level)
    return level


def current() -> int:
    """The innermost open level of this thread (0 outside every transformation). Every level
    opened later has a larger id."""
    stack = _STATE.levels
    return stack[-1] if stack else 0


def upcoming() -> int:
    """A lower bound of the id of every level opened from now on (to strip their boxes later)."""
    return context.new_level_id()


def leave() -> None:
    """Close the innermost level (and forget that its tangents held an infinity)."""
    state = _STATE
    level = state.levels.pop()
    if _SLOW[0] and level in state.infinite and level not in state.levels:
        state.infinite.discard(level)
        context.close_slow_path()


def reenter(level: int) -> None:
    """Open ``level`` again (recomputing a checkpoint records at its level during the sweep).
    Pair with ``leave()`` in a ``finally``."""
    _STATE.levels.append(level)


def is_open(level: int) -> bool:
    """Whether ``level`` belongs to a transformation still running in this thread."""
    return level in _STATE.levels


def nan_safe_active() -> bool:
    """Whether this thread computes derivatives nan-safe now (``modes.nonfinite``)."""
    return _STATE.nan_safe > 0


def mark_infinite(level: int) -> None:
    """Note that a tangent of ``level`` holds an infinity: its products take 0 * inf as 0 from now
    on, until the level is left."""
    state = _STATE
    if level not in state.infinite:
        state.infinite.add(level)
        context.open_slow_path()


def check_open(box: Any, where: Any) -> None:
    """Raise ``LeakedTracerError`` unless every box in ``box``'s chain of values belongs to a level
    open in this thread; ``where`` (a primitive or a description) names the place of use."""
    stack = _STATE.levels
    while isinstance(box, Traced):
        if box._level not in stack:
            name = getattr(where, "name", None)
            raise LeakedTracerError(box, f"was passed to {name!r}" if name is not None
                                    else f"came back in {where}")
        box = box.value  # type: ignore[attr-defined]
