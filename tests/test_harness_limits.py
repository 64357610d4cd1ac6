"""Limits that hold: a trial stuck in a C call, a worker that crashes, and bad options or outputs.

A stuck trial (SIGALRM blocked, then one long C sleep) in an isolated worker becomes ``timeout``
rows soon after its limit; a worker that dies by itself gives ``failed`` rows; the next trial runs
normally. ``run_all.py`` rejects every bad numeric option and every unusable output place with one
error line and exit status 2, before any trial. No test bounds how soon the harness returns
(that depends on the load): each stuck call would last ``STUCK_S``, so returning before it proves
the worker was killed rather than waited for, and the rows say so.
"""

from __future__ import annotations

import argparse
import ctypes
import dataclasses
import faulthandler
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from experiments.runner import GRACE_S, PROFILES, Context, Method, timing_trial, value_row
from experiments.store import load_csv

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "experiments" / "run_all.py"
LIMIT_S = 1.0
STUCK_S = 30  # how long a stuck call would last if nobody killed its worker


def _ctx(tmp_path: Path) -> Context:
    profile = dataclasses.replace(PROFILES["tiny"], trial_timeout_s=LIMIT_S)
    return Context(tmp_path, profile, {"machine_id": "m", "code_version": "test"}, isolate=True)


def _stuck() -> float:
    """One long C call the alarm cannot interrupt (SIGALRM blocked, in this worker only)."""
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGALRM})
    ctypes.CDLL(None).sleep(STUCK_S)
    return 0.0


def _stuck_on_second_call() -> object:
    """Quick at warm-up, stuck when timed."""
    calls = []

    def fn() -> float:
        calls.append(1)
        return 1.0 if len(calls) == 1 else _stuck()

    return fn


def _segfault() -> None:
    faulthandler.disable()  # pytest's handler would print a traceback dump for this worker
    ctypes.string_at(0)  # reads address 0: SIGSEGV


def _boom() -> None:
    raise ValueError("bad input")


def _timed(fn, *args):  # noqa: ANN001, ANN002, ANN202
    start = time.perf_counter()
    out = fn(*args)
    return out, time.perf_counter() - start


def _assert_next_trial_runs(ctx: Context, n: int) -> None:
    rows = timing_trial(ctx, "t", {"problem": "after", "n": n}, [Method("f", "plain")],
                        lambda: ({"f": lambda: 1.0}, {}))
    assert rows[0]["status"] == "ok", rows[0]


def _statuses(tmp_path: Path, experiment: str = "t") -> dict[tuple, str]:
    df = load_csv(tmp_path / f"{experiment}.csv")
    return {(p, m): s for p, m, s in zip(df["problem"], df["method"], df["status"])}


# ---- stuck in one C call ----------------------------------------------------------------------------
def test_timing_trial_stuck_in_c_call_is_a_timeout_soon_after_its_limit(tmp_path: Path) -> None:
    ctx = _ctx(tmp_path)
    rows, elapsed = _timed(timing_trial, ctx, "t", {"problem": "stuck", "n": 1},
                           [Method("f", "plain"), Method("g", "reverse")],
                           lambda: ({"f": _stuck, "g": lambda: 1.0}, {}))
    assert elapsed < STUCK_S  # killed, not waited for
    for row in rows:
        assert row["status"] == "timeout", row
        assert "could not interrupt" in row["error"] and "worker was killed" in row["error"]
        assert LIMIT_S + GRACE_S <= row["wall_s"] <= elapsed  # killed at the deadline, not before
    assert _statuses(tmp_path) == {("stuck", "f"): "timeout", ("stuck", "g"): "timeout"}
    assert ctx.failures == 2
    _assert_next_trial_runs(ctx, 2)


def test_stuck_while_timed_keeps_the_rows_already_decided(tmp_path: Path) -> None:
    """Rows finished before the worker got stuck (as last sent) keep their own outcome."""
    ctx = _ctx(tmp_path)
    rows, elapsed = _timed(timing_trial, ctx, "t", {"problem": "late", "n": 1},
                           [Method("f", "plain"), Method("broken", "reverse")],
                           lambda: ({"f": _stuck_on_second_call(), "broken": _boom}, {}))
    assert elapsed < STUCK_S  # killed, not waited for
    by = {r["method"]: r for r in rows}
    assert by["broken"]["status"] == "failed" and "ValueError: bad input" in by["broken"]["error"]
    assert by["f"]["status"] == "timeout" and "worker was killed" in by["f"]["error"]
    _assert_next_trial_runs(ctx, 2)


def test_stuck_set_up_is_a_timeout(tmp_path: Path) -> None:
    ctx = _ctx(tmp_path)

    def setup():  # noqa: ANN202
        _stuck()
        return {"f": lambda: 1.0}, {}

    rows, elapsed = _timed(timing_trial, ctx, "t", {"problem": "setup", "n": 1},
                           [Method("f", "plain")], setup)
    assert elapsed < STUCK_S  # killed, not waited for
    assert rows[0]["status"] == "timeout"
    _assert_next_trial_runs(ctx, 2)


def test_value_row_stuck_in_c_call_is_a_timeout(tmp_path: Path) -> None:
    ctx = _ctx(tmp_path)
    row, elapsed = _timed(value_row, ctx, "v", {"problem": "stuck"}, Method("value", "plain"),
                          lambda: {"value": _stuck()})
    assert elapsed < STUCK_S  # killed, not waited for
    assert row["status"] == "timeout" and "worker was killed" in row["error"]
    assert LIMIT_S + GRACE_S <= row["wall_s"] <= elapsed  # killed at the deadline, not before
    assert _statuses(tmp_path, "v") == {("stuck", "value"): "timeout"}
    row = value_row(ctx, "v", {"problem": "next"}, Method("value", "plain"), lambda: {"value": 2.0})
    assert row["status"] == "ok" and row["value"] == 2.0


# ---- a worker that dies by itself ---------------------------------------------------------------------
CRASHES = {
    "exit": (lambda: os._exit(3), "exited with status 3"),
    "segfault": (_segfault, "killed by SIGSEGV"),
    "sigkill": (lambda: os.kill(os.getpid(), signal.SIGKILL), "killed by SIGKILL"),
}


@pytest.mark.parametrize("how", sorted(CRASHES))
def test_crashing_worker_fails_its_rows_and_the_run_goes_on(tmp_path: Path, how: str) -> None:
    crash, why = CRASHES[how]
    ctx = _ctx(tmp_path)
    rows, elapsed = _timed(timing_trial, ctx, "t", {"problem": how, "n": 1},
                           [Method("f", "plain"), Method("g", "reverse")],
                           lambda: ({"f": lambda: 1.0, "g": crash}, {}))
    assert elapsed < STUCK_S  # no hang
    for row in rows:
        assert row["status"] == "failed" and "worker failed" in row["error"] and why in row["error"], row
    assert _statuses(tmp_path) == {(how, "f"): "failed", (how, "g"): "failed"}
    _assert_next_trial_runs(ctx, 2)
    row = value_row(ctx, "v", {"problem": how}, Method("value", "plain"), crash)  # type: ignore[arg-type]
    assert row["status"] == "failed" and why in row["error"]


# ---- run_all: numeric options -------------------------------------------------------------------------
BAD_OPTIONS = [
    ("--timeout", "-1"), ("--timeout", "0"), ("--timeout", "nan"), ("--timeout", "inf"),
    ("--timeout", "-inf"), ("--timeout", "abc"), ("--timeout", "1e10"), ("--timeout", ""),
    ("--repeats", "2"), ("--repeats", "5.5"), ("--repeats", "-5"), ("--repeats", "abc"),
    ("--repeats", "nan"), ("--mem-share", "0"), ("--mem-share", "1.5"), ("--mem-share", "-0.5"),
    ("--mem-share", "nan"), ("--mem-share", "inf"), ("--mem-share", "abc"),
    ("--blas-threads", "0"), ("--blas-threads", "-1"), ("--blas-threads", "1.5"),
    ("--blas-threads", "many"), ("--blas-threads", ""),
]


def _run_all(out: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(SCRIPT), "--profile", "tiny", "--only", "seed",
                           "--out", str(out), *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=300)


def _error_lines(stderr: str) -> list[str]:
    """The lines of ``stderr`` other than argparse's usage block."""
    lines = stderr.splitlines()
    if lines and lines[0].startswith("usage:"):
        lines = [line for line in lines[1:] if not line.startswith(" ")]
    return lines


def _assert_rejected(res: subprocess.CompletedProcess, *words: str) -> str:
    assert res.returncode == 2, res.stderr
    assert "Traceback" not in res.stderr, res.stderr
    lines = _error_lines(res.stderr)
    assert len(lines) == 1 and lines[0].startswith("run_all.py: error: "), res.stderr
    for word in words:
        assert word in lines[0], lines[0]
    return lines[0]


def test_bad_options_cover_every_numeric_option(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every option of run_all's parser that converts its value (other than paths) is tried above."""
    from experiments import run_all

    actions: list[argparse.Action] = []
    real = argparse.ArgumentParser.parse_args

    def capture(self, args=None, namespace=None):  # noqa: ANN001, ANN202
        actions.extend(self._actions)
        return real(self, [], namespace)

    monkeypatch.setattr(argparse.ArgumentParser, "parse_args", capture)
    run_all.parse_args([])
    typed = {a.option_strings[0] for a in actions if a.type not in (None, Path)}
    assert typed == {option for option, _ in BAD_OPTIONS}


@pytest.mark.parametrize("option,value", BAD_OPTIONS, ids=lambda v: v or "empty")
def test_bad_numeric_option_rejected_before_anything(tmp_path: Path, option: str, value: str) -> None:
    out = tmp_path / "res"
    res = _run_all(out, f"{option}={value}")
    _assert_rejected(res, f"argument {option}:", "must be")
    assert not out.exists()  # no trial ran, no CSV written


def test_good_numeric_options_accepted(tmp_path: Path) -> None:
    out = tmp_path / "res"
    res = _run_all(out, "--timeout", "30", "--repeats", "5", "--mem-share", "1", "--blas-threads", "2")
    assert res.returncode == 0, res.stderr
    seed = load_csv(out / "seed.csv")
    assert (seed["status"] == "ok").all() and (seed["blas_threads"].astype(str) == "2").all()


# ---- run_all: unusable output places ------------------------------------------------------------------
def test_out_below_a_regular_file_rejected_before_any_trial(tmp_path: Path) -> None:
    blocker = tmp_path / "afile"
    blocker.write_text("not a directory\n")
    res = _run_all(blocker / "res")
    _assert_rejected(res, str(blocker), "a file, not a directory", "--out")
    assert blocker.read_text() == "not a directory\n"


@pytest.mark.parametrize("name", ["seed.csv", "seed.csv.rejected", "machine.csv"])
def test_csv_that_is_a_directory_rejected_before_any_trial(tmp_path: Path, name: str) -> None:
    out = tmp_path / "res"
    (out / name).mkdir(parents=True)
    res = _run_all(out)
    _assert_rejected(res, str(out / name), "not a regular file")
    assert sorted(p.name for p in out.iterdir()) == [name]  # nothing else written: no trial ran


def test_csv_with_an_unreadable_header_rejected_before_any_trial(tmp_path: Path) -> None:
    out = tmp_path / "res"
    out.mkdir()
    (out / "seed.csv").write_bytes(b"\xff\xfe,status\n")
    res = _run_all(out)
    _assert_rejected(res, str(out / "seed.csv"), "line 1", "header is unreadable")
    assert sorted(p.name for p in out.iterdir()) == ["seed.csv"]
    assert (out / "seed.csv").read_bytes() == b"\xff\xfe,status\n"  # left as it was


@pytest.mark.skipif(os.geteuid() == 0, reason="root ignores permission bits")
def test_read_only_out_and_csv_rejected_before_any_trial(tmp_path: Path) -> None:
    out = tmp_path / "res"
    out.mkdir()
    (out / "seed.csv").write_text("x\n")
    (out / "seed.csv").chmod(0o444)
    _assert_rejected(_run_all(out), str(out / "seed.csv"), "cannot append")
    (out / "seed.csv").unlink()
    out.chmod(0o555)
    try:
        _assert_rejected(_run_all(out), str(out), "cannot write")
    finally:
        out.chmod(0o755)
