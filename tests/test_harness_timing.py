"""The timing core: auto-ranging, repeats, statistics, interleaving and GC handling.

No test here times anything real: the callables advance a synthetic clock (``FakeClock``) injected
into ``experiments.timing``, so loop counts, per-call times, paired ratios and quartiles are checked
exactly, whatever the load on the machine. Speed itself is measured by the experiments, not tested.
"""

from __future__ import annotations

import gc
from collections.abc import Callable

import pytest

from experiments.timing import (MIN_REPEATS, Timing, autorange, measure, paired_ratios, quartiles,
                                time_batch)


class FakeClock:
    """A clock that moves only when a callable says it took time (whole "seconds": exact sums)."""

    def __init__(self) -> None:
        self.now = 0.0
        self.reads = 0

    def __call__(self) -> float:
        self.reads += 1
        return self.now

    def costing(self, seconds: float) -> Callable[[], None]:
        """A callable that takes ``seconds`` per call."""

        def fn() -> None:
            self.now += seconds

        return fn


def test_time_batch_reads_the_clock_around_the_batch() -> None:
    clock = FakeClock()
    assert time_batch(clock.costing(0.25), 4, clock) == 1.0
    assert clock.reads == 2  # once before, once after: no clock call inside the loop


def test_autorange_follows_timeit_sequence_and_stops_at_target() -> None:
    clock = FakeClock()
    calls = []

    def fn() -> None:
        calls.append(1)
        clock.now += 1.0

    assert autorange(fn, 4.0, clock) == (5, 5.0)  # 1 call (1 s), 2 (2 s), 5 (5 s >= 4 s)
    assert len(calls) == 1 + 2 + 5
    assert autorange(clock.costing(1.0), 2000.0, clock) == (2000, 2000.0)  # ..., 500, 1000, 2000
    assert autorange(clock.costing(4.0), 2.0, clock) == (1, 4.0)  # a slow call: one is enough


def test_measure_gives_exact_per_call_times_and_interleaved_paired_ratios() -> None:
    """f costs 1 s a call and g 2 s, except in round 3, where other load slows both threefold:
    interleaving makes both see the drift, so the paired ratio stays exactly 2."""
    clock = FakeClock()
    slow = {3: 3.0}  # round -> slowdown
    # calls before the timed rounds: 1 warm-up, then auto-ranging (f: 1+2+5 calls, g: 1+2)
    before = {"f": 1 + 8, "g": 1 + 3}
    loops = {"f": 5, "g": 2}
    calls = {"f": 0, "g": 0}

    def costing(name: str, seconds: float) -> Callable[[], None]:
        def fn() -> None:
            done = calls[name] - before[name]
            calls[name] += 1
            rnd = done // loops[name] if done >= 0 else -1
            clock.now += seconds * slow.get(rnd, 1.0)
        return fn

    t = measure({"f": costing("f", 1.0), "g": costing("g", 2.0)}, repeats=5, target_s=4.0, warmup=1,
                clock=clock)
    assert t["f"].loops == 5 and t["g"].loops == 2  # 5 s >= 4 s; 2 x 2 s = 4 s
    assert calls == {"f": 9 + 25, "g": 4 + 10}
    rounds = (1.0, 1.0, 1.0, 3.0, 1.0)  # per-call seconds of f, round by round
    assert t["f"].times == rounds
    assert t["g"].times == tuple(2 * r for r in rounds)
    assert paired_ratios(t["g"], t["f"]) == (2.0,) * 5  # paired round by round: the drift cancels
    assert (t["f"].median, t["f"].q1, t["f"].q3, t["f"].max) == (1.0, 1.0, 1.0, 3.0)
    assert quartiles(paired_ratios(t["g"], t["f"])) == (2.0, 2.0, 2.0)


def test_quartiles_and_timing_statistics_on_known_values() -> None:
    t = Timing("x", 1, (1.0, 2.0, 3.0, 4.0, 100.0))
    assert t.median == 3.0 and t.q1 == 2.0 and t.q3 == 4.0 and t.iqr == 2.0
    assert t.min == 1.0 and t.max == 100.0
    assert quartiles([4.0, 1.0, 3.0, 2.0]) == (1.75, 2.5, 3.25)  # linear interpolation, unsorted in
    assert quartiles([5.0]) == (5.0, 5.0, 5.0)
    num, den = Timing("g", 1, (2.0, 6.0, 9.0)), Timing("f", 1, (1.0, 2.0, 3.0))
    assert paired_ratios(num, den) == (2.0, 3.0, 3.0)


def test_gc_disabled_only_inside_timed_region() -> None:
    clock = FakeClock()
    seen = []

    def probe() -> None:
        seen.append(gc.isenabled())
        clock.now += 1.0

    assert gc.isenabled()
    measure({"probe": probe}, repeats=5, target_s=0.5, warmup=0, clock=clock)
    assert len(seen) == 1 + 5 and not any(seen)  # one auto-ranging call, then 5 rounds of one
    assert gc.isenabled()


def test_gc_restored_after_exception_and_exception_propagates() -> None:
    clock = FakeClock()
    state = {"n": 0}

    def flaky() -> None:
        state["n"] += 1
        clock.now += 1.0
        if state["n"] > 3:
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        measure({"flaky": flaky}, repeats=5, target_s=10.0, warmup=1, clock=clock)
    assert gc.isenabled()


def test_repeats_below_minimum_and_bad_target_rejected() -> None:
    with pytest.raises(ValueError):
        measure({"x": lambda: None}, repeats=MIN_REPEATS - 1)
    with pytest.raises(ValueError):
        measure({"x": lambda: None}, target_s=0.0)
