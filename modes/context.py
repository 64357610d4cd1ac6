"""The tracing state of each thread: open levels, infinity tracking, explain's record, memory meters.

A transformation runs in the thread that called it, so everything it tracks lives in ``STATE``, a
``threading.local``: two threads differentiating at once never see each other's levels, steps or
tapes. Level ids come from one process-wide counter, so a value traced in one thread (or by a
transformation that has ended) can never pass for a value of another live level.

Two process-wide counts let the hot paths skip reading ``STATE`` when nothing is special:
``SLOW[0]``, how many slow paths (an infinite tangent, a recording ``explain``, a nan-safe rerun)
are open in any thread, and ``TRACKING[0]``, how many ``memory.track()`` blocks. When another thread
opens one, this thread merely takes the checked path, which gives the same numbers.
"""

from __future__ import annotations

import itertools
import sys
import threading
from collections.abc import Callable
from typing import Any


class TraceState(threading.local):
    """One thread's tracing state (each thread sees its own fresh copy)."""

    def __init__(self) -> None:
        self.levels: list[int] = []  # open nesting levels, innermost last
        self.infinite: set[int] = set()  # levels whose tangents may hold an infinity (sqrt at 0)
        self.nan_safe = 0  # > 0 while a derivative is recomputed with exact-zero products
        self.records: dict[int, list] = {}  # explain(): level -> forward steps (prim, args, result)
        self.live_tapes: Any = None  # a WeakSet of every tape alive while memory.track() is on
        self.meters: list[Any] = []  # the memory.track() meters open in this thread


STATE = TraceState()
SLOW = [0]
TRACKING = [0]  # how many memory.track() blocks are open in any thread (0: no tape registers)

_lock = threading.Lock()
_ids = itertools.count(1)
# new_level_id() -> int: a level id never handed out before, in any thread.
if getattr(sys, "_is_gil_enabled", lambda: True)():
    new_level_id: Callable[[], int] = _ids.__next__  # one C call: atomic under the GIL
else:  # free-threaded CPython
    def new_level_id() -> int:
        with _lock:
            return next(_ids)


def open_slow_path() -> None:
    """Make forward mode's hot path consult ``STATE`` (pair with ``close_slow_path``)."""
    with _lock:
        SLOW[0] += 1


def close_slow_path() -> None:
    with _lock:
        SLOW[0] -= 1


def count_tracking(step: int) -> None:
    """``step`` = 1 when a ``memory.track()`` block opens, -1 when it closes."""
    with _lock:
        TRACKING[0] += step
