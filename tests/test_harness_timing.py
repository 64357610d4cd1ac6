"""The timing core: auto-ranging, repeats, statistics, interleaving and GC handling."""

from __future__ import annotations

import gc
import time

import pytest

from experiments.timing import MIN_REPEATS, Timing, autorange, measure, paired_ratios, quartiles


def _busy(seconds: float) -> None:
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        pass


def test_sleep_function_measured_with_generous_bounds() -> None:
    t = measure({"sleep": lambda: time.sleep(0.005)}, repeats=5, target_s=0.01)["sleep"]
    assert len(t.times) == 5
    assert t.loops >= 2  # 1 call of 5 ms < 10 ms target: auto-ranging went on
    assert 0.0045 <= t.median <= 0.015
    assert t.q1 <= t.median <= t.q3 and t.iqr >= 0 and t.min <= t.q1 and t.q3 <= t.max


def test_autorange_follows_timeit_sequence_and_reaches_target() -> None:
    calls = []
    loops, secs = autorange(lambda: calls.append(1), 0.002)
    assert secs >= 0.002
    digits = str(loops).rstrip("0")
    assert digits in ("1", "2", "5")  # 1, 2, 5, 10, 20, 50, ...
    assert loops >= 10  # an empty call is far below 2 ms
    # a slow function needs one call only
    loops, secs = autorange(lambda: _busy(0.004), 0.002)
    assert loops == 1 and secs >= 0.004


def test_interleaved_ratio_of_busy_functions() -> None:
    t = measure({"f": lambda: _busy(0.001), "g": lambda: _busy(0.002)}, repeats=5, target_s=0.005)
    ratios = paired_ratios(t["g"], t["f"])
    assert len(ratios) == 5
    q1, med, q3 = quartiles(ratios)
    assert 1.6 <= med <= 2.5, ratios
    assert q1 <= med <= q3


def test_gc_disabled_only_inside_timed_region() -> None:
    seen = []
    assert gc.isenabled()
    measure({"probe": lambda: seen.append(gc.isenabled())}, repeats=5, target_s=0.001, warmup=0)
    assert seen and not any(seen)
    assert gc.isenabled()


def test_gc_restored_after_exception_and_exception_propagates() -> None:
    state = {"n": 0}

    def flaky() -> None:
        state["n"] += 1
        if state["n"] > 3:
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        measure({"flaky": flaky}, repeats=5, target_s=10.0, warmup=1)
    assert gc.isenabled()


def test_repeats_below_minimum_rejected() -> None:
    with pytest.raises(ValueError):
        measure({"x": lambda: None}, repeats=MIN_REPEATS - 1)


def test_timing_statistics() -> None:
    t = Timing("x", 1, (1.0, 2.0, 3.0, 4.0, 100.0))
    assert t.median == 3.0 and t.q1 == 2.0 and t.q3 == 4.0 and t.iqr == 2.0
    assert t.min == 1.0 and t.max == 100.0
