"""Safety: memory skips, time limits and failures all become rows, and the run goes on."""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path

import pytest

from experiments import safety
from experiments.runner import PROFILES, Context, Method, memory_trial, timing_trial, value_row
from experiments.store import Store

MACHINE = {"machine_id": "testmachine", "code_version": "test"}


def _ctx(tmp_path: Path, **kw: object) -> Context:
    prof = PROFILES["tiny"]
    return Context(tmp_path, prof, dict(MACHINE), **kw)  # type: ignore[arg-type]


def test_memory_verdict() -> None:
    assert safety.memory_verdict(10, cap=100) is None
    reason = safety.memory_verdict(200 * 2**20, share=0.5, cap=100 * 2**20)
    assert reason and "exceeds the cap" in reason
    assert safety.memory_cap(0.5) <= safety.available_bytes()
    with pytest.raises(ValueError):
        safety.memory_cap(1.5)


def test_time_limit_raises() -> None:
    start = time.perf_counter()
    polls = 0
    with pytest.raises(safety.TrialTimeout, match="time limit of 0.2 s exceeded"):
        with safety.time_limit(0.2):
            while polls < 60_000:  # 10 min of polling: a limit that never fires fails, not hangs
                time.sleep(0.01)
                polls += 1
    assert time.perf_counter() - start >= 0.2  # never early (however late a loaded machine makes it)
    with safety.time_limit(None):
        pass


def test_oversized_trial_skipped_with_reason(tmp_path: Path) -> None:
    ctx = _ctx(tmp_path)
    called = []

    def setup():  # noqa: ANN202
        called.append(1)
        return {"f": lambda: 1.0, "big": lambda: 2.0}, {}

    rows = timing_trial(ctx, "t", {"problem": "p", "n": 1}, [
        Method("f", "plain"), Method("big", "reverse", estimate_bytes=10 * safety.available_bytes())],
        setup)
    by = {r["method"]: r for r in rows}
    assert by["big"]["status"] == "skipped" and "exceeds the cap" in by["big"]["error"]
    assert by["f"]["status"] == "ok" and called  # the rest of the trial still ran
    # a memory trial over the cap never starts a subprocess
    row = memory_trial(ctx, "m", {"problem": "p", "n": 1}, Method("huge", "reverse",
                       estimate_bytes=10 * safety.available_bytes()),
                       "experiments.memory_probe:allocation", {"nbytes": 8})
    assert row["status"] == "skipped"
    df = Store(tmp_path / "m.csv", "testmachine").load()
    assert list(df["status"]) == ["skipped"]


def test_timeout_and_failure_become_rows_and_run_goes_on(tmp_path: Path) -> None:
    ctx = _ctx(tmp_path)
    ctx.profile = dataclasses.replace(PROFILES["tiny"], trial_timeout_s=0.5)

    def boom() -> None:
        raise ValueError("bad input")

    rows = timing_trial(ctx, "t", {"problem": "p", "n": 1},
                        [Method("f", "plain"), Method("broken", "reverse"), Method("slow", "forward")],
                        lambda: ({"f": lambda: 1.0, "broken": boom, "slow": lambda: time.sleep(5)}, {}))
    by = {r["method"]: r for r in rows}
    assert by["broken"]["status"] == "failed" and "ValueError: bad input" in by["broken"]["error"]
    assert by["slow"]["status"] == "timeout" and "time limit" in by["slow"]["error"]
    assert by["f"]["status"] == "timeout"  # it was still being measured when the limit hit
    # the next trial runs normally
    rows = timing_trial(ctx, "t", {"problem": "p", "n": 2}, [Method("f", "plain")],
                        lambda: ({"f": lambda: 1.0}, {}))
    assert rows[0]["status"] == "ok"
    assert ctx.failures == 3
    row = value_row(ctx, "t", {"problem": "v"}, Method("v", "plain"), lambda: 1 / 0)  # type: ignore[arg-type]
    assert row["status"] == "failed" and "ZeroDivisionError" in row["error"]
    df = Store(tmp_path / "t.csv", "testmachine").load()
    assert set(df["status"]) == {"failed", "timeout", "ok"}


def test_setup_failure_fails_every_row(tmp_path: Path) -> None:
    ctx = _ctx(tmp_path)

    def setup():  # noqa: ANN202
        raise MemoryError("no room")

    rows = timing_trial(ctx, "t", {"problem": "p", "n": 1}, [Method("f", "plain"), Method("g", "reverse")],
                        setup)
    assert [r["status"] for r in rows] == ["failed", "failed"]
    assert all("MemoryError" in r["error"] for r in rows)


def test_wrong_derivative_fails_its_row(tmp_path: Path) -> None:
    ctx = _ctx(tmp_path)
    rows = timing_trial(ctx, "t", {"problem": "p", "n": 1},
                        [Method("f", "plain"), Method("good", "reverse"), Method("bad", "forward")],
                        lambda: ({"f": lambda: 1.0, "good": lambda: 2.0, "bad": lambda: 3.0}, {}),
                        check=lambda out: {"good": abs(out["good"] - 2.0), "bad": abs(out["bad"] - 2.0)})
    by = {r["method"]: r for r in rows}
    assert by["good"]["status"] == "ok" and by["good"]["check_err"] == 0.0
    assert by["bad"]["status"] == "failed" and "check failed" in by["bad"]["error"]


def test_time_budget_predicts_and_stops() -> None:
    from experiments.runner import Budget

    b = Budget(2.0)
    assert b.over("fwd", 10, 1.0) is None  # nothing measured yet
    b.record("fwd", 10, {"status": "ok", "t_median": 0.05})
    assert b.over("fwd", 40, 1.0) is None  # 0.05 * 16 = 0.8 s
    reason = b.over("fwd", 100, 1.0)  # 0.05 * 100 = 5 s
    assert reason and "per-call budget" in reason
    b.record("fwd", 40, {"status": "timeout"})
    assert "timeout at n=40" in (b.over("fwd", 50, 100.0) or "")
