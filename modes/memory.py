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

from . import reverse


@dataclass
class Meter:
    """Peak and last sampled residual bytes held by all live tapes, and the number of samples."""

    peak_bytes: int = 0
    last_bytes: int = 0
    samples: int = 0
    history: list[int] = field(default_factory=list)


_METERS: list[Meter] = []


@contextmanager
def track() -> Iterator[Meter]:
    """Measure the peak residual bytes of the reverse-mode work done inside the block."""
    meter = Meter()
    previous = reverse.LIVE_TAPES
    if previous is None:
        reverse.LIVE_TAPES = weakref.WeakSet()
    _METERS.append(meter)
    try:
        yield meter
    finally:
        _METERS.remove(meter)
        if previous is None and not _METERS:
            reverse.LIVE_TAPES = None


def sample() -> None:
    """Record the bytes held by every live tape now (no-op unless ``track()`` is active)."""
    live = reverse.LIVE_TAPES
    if live is None or not _METERS:
        return
    seen: set[int] = set()
    total = sum(tape.residual_bytes(seen) for tape in list(live))
    for meter in _METERS:
        meter.samples += 1
        meter.last_bytes = total
        meter.history.append(total)
        meter.peak_bytes = max(meter.peak_bytes, total)
