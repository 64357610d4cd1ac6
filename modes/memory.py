"""Tape memory at its peak: the bytes every live tape holds together, sampled where it can peak.

``with modes.memory.track() as meter: grad(f)(x)`` then ``meter.peak_bytes``: the largest total of
residual bytes held at once by all tapes (the outer tape, checkpoint snapshots and the local tapes
of recomputed segments), sampled at the end of each nominal pass and each time a checkpointed
segment has been recorded again during the sweep. Without ``track()`` nothing is sampled.
"""

from __future__ import annotations

import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from . import context
from .context import STATE, TRACKING


@dataclass
class Meter:
    """Peak and last sampled residual bytes held by all live tapes, and the number of samples."""

    peak_bytes: int = 0
    last_bytes: int = 0
    samples: int = 0
    history: list[int] = field(default_factory=list)


@contextmanager
def track() -> Iterator[Meter]:
    """Measure the peak residual bytes of the reverse-mode work this thread does inside the block
    (other threads' tapes are not counted; each thread can track its own)."""
    meter = Meter()
    state = STATE
    if state.live_tapes is None:
        state.live_tapes = weakref.WeakSet()
    state.meters.append(meter)
    context.count_tracking(1)
    try:
        yield meter
    finally:
        context.count_tracking(-1)
        state.meters.remove(meter)
        if not state.meters:
            state.live_tapes = None


def sample() -> None:
    """Record the bytes held by every live tape now (no-op unless ``track()`` is active)."""
    if not TRACKING[0]:
        return
    state = STATE
    live = state.live_tapes
    if live is None or not state.meters:
        return
    seen: set[int] = set()
    total = sum(tape.residual_bytes(seen) for tape in list(live))
    for meter in state.meters:
        meter.samples += 1
        meter.last_bytes = total
        meter.history.append(total)
        meter.peak_bytes = max(meter.peak_bytes, total)
