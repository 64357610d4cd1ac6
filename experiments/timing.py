"""Runtime measurement: timeit-style auto-ranging, warm-up, interleaved repeats, GC off while timing.

Contract of ``measure(fns)``: every callable is warmed up, then its loop count is auto-ranged the way
``timeit.Timer.autorange`` does it (1, 2, 5, 10, 20, 50, ... calls until one batch lasts at least
``target_s``); then ``repeats`` rounds follow, and each round times one batch of every callable in
turn. Interleaving makes slow drifts (frequency scaling, other load) hit all callables alike, and
lets ratios be paired round by round (``paired_ratios``). Garbage collection is disabled inside each
timed batch and restored after it, even on an exception. Every repeat is kept (per-call seconds).
Every function takes ``clock`` (default ``time.perf_counter``): tests inject a synthetic clock and
check the loop counts and statistics exactly, without timing anything real.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

MIN_REPEATS = 5
MAX_LOOPS = 10**7


@dataclass(frozen=True)
class Timing:
    """Per-call seconds of each repeat of one callable, measured with ``loops`` calls per batch."""

    name: str
    loops: int
    times: tuple[float, ...]

    @property
    def median(self) -> float:
        return float(np.median(self.times))

    @property
    def q1(self) -> float:
        return float(np.percentile(self.times, 25))

    @property
    def q3(self) -> float:
        return float(np.percentile(self.times, 75))

    @property
    def iqr(self) -> float:
        return self.q3 - self.q1

    @property
    def min(self) -> float:
        return float(np.min(self.times))

    @property
    def max(self) -> float:
        return float(np.max(self.times))


Clock = Callable[[], float]


def time_batch(fn: Callable[[], object], loops: int, clock: Clock = time.perf_counter) -> float:
    """Seconds taken by ``loops`` calls of ``fn``, with the garbage collector disabled meanwhile."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        start = clock()
        for _ in range(loops):
            fn()
        return clock() - start
    finally:
        if was_enabled:
            gc.enable()


def autorange(fn: Callable[[], object], target_s: float,
              clock: Clock = time.perf_counter) -> tuple[int, float]:
    """``(loops, seconds)``: the first of 1, 2, 5, 10, 20, 50, ... whose batch lasts >= ``target_s``."""
    i = 1
    while True:
        for j in (1, 2, 5):
            loops = i * j
            t = time_batch(fn, loops, clock)
            if t >= target_s or loops >= MAX_LOOPS:
                return loops, t
        i *= 10


def measure(fns: Mapping[str, Callable[[], object]], repeats: int = MIN_REPEATS,
            target_s: float = 0.02, warmup: int = 1, clock: Clock = time.perf_counter) -> dict[str, Timing]:
    """Time every callable in ``fns`` (see the module docstring); returns one ``Timing`` per name.

    ``repeats`` must be at least ``MIN_REPEATS``; ``warmup`` calls of each callable precede the
    auto-ranging. Exceptions from a callable propagate (the caller records the failure).
    """
    if repeats < MIN_REPEATS:
        raise ValueError(f"repeats={repeats}: at least {MIN_REPEATS} repeats are required")
    if target_s <= 0:
        raise ValueError(f"target_s must be positive, got {target_s}")
    for fn in fns.values():
        for _ in range(warmup):
            fn()
    loops = {name: autorange(fn, target_s, clock)[0] for name, fn in fns.items()}
    gc.collect()
    times: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            times[name].append(time_batch(fn, loops[name], clock) / loops[name])
    return {name: Timing(name, loops[name], tuple(times[name])) for name in fns}


def paired_ratios(num: Timing, den: Timing) -> tuple[float, ...]:
    """Round-by-round ratios ``num.times[r] / den.times[r]`` of two interleaved measurements."""
    return tuple(a / b for a, b in zip(num.times, den.times))


def quartiles(values: Sequence[float]) -> tuple[float, float, float]:
    """``(q1, median, q3)`` of ``values`` (linear interpolation, as numpy's percentile)."""
    q1, med, q3 = np.percentile(np.asarray(values, dtype=float), [25, 50, 75])
    return float(q1), float(med), float(q3)
