"""``experiments/run_all.py`` on the tiny profile, from another directory, into a tmp dir: what it
writes, what it says (the estimate, per experiment the trials measured and reused, the summary), an
honest resume, ``--force``, pinned BLAS threads, and the reference folder it refuses to write."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from experiments import machine

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "experiments" / "run_all.py"


def _run(out: Path, cwd: Path, *extra: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(SCRIPT), "--profile", "tiny", "--only", "seed",
                           "--only", "memory", "--out", str(out), *extra],
                          cwd=cwd, capture_output=True, text=True, timeout=600)


def _tally(stderr: str, name: str) -> tuple[int, int]:
    """(measured, reused) from the line run_all prints when experiment ``name`` ends."""
    match = re.search(rf"^{name}: [\d.]+ s; measured (\d+) trial\(s\), reused (\d+)", stderr, re.M)
    assert match, stderr
    return int(match.group(1)), int(match.group(2))


def test_run_all_tiny_resume_and_force(tmp_path: Path) -> None:
    out = tmp_path / "res"
    first = _run(out, tmp_path)
    assert "Traceback" not in first.stderr, first.stderr
    for name in ("seed.csv", "memory.csv", "machine.csv", "memory.png", "REPORT.md", "seed_explain.md"):
        assert (out / name).exists(), name
    frames = {n: pd.read_csv(out / f"{n}.csv") for n in ("seed", "memory")}
    failed = sum(int(df["status"].isin(["failed", "timeout"]).sum()) for df in frames.values())
    assert (first.returncode != 0) == (failed > 0), first.stderr  # exit status reflects failures
    seed = frames["seed"].set_index("method")
    for method in ("value", "reverse", "forward"):
        assert seed.loc[method, "status"] == "ok" and seed.loc[method, "check_err"] == 0.0
    mem = frames["memory"]
    assert set(mem["method"]) == {"selftest", "reverse", "forward", "compiled_reverse", "compiled_forward"}
    measured = mem["status"] != "skipped"  # a trial over the memory cap (other work) is skipped
    assert (mem.loc[measured, "status"] == "ok").all() and measured.sum() >= 1
    assert progress_lines(first.stderr) >= 5  # one line per trial on a non-terminal
    report = (out / "REPORT.md").read_text()
    assert "bytes of peak RSS per operation" in report and "](memory.png)" in report
    # the estimate first, then per experiment what was measured, then the summary
    assert re.search(r"^expect about [\d.]+ min \(", first.stderr, re.M), first.stderr
    assert _tally(first.stderr, "memory") == (int(measured.sum()), 0)
    assert "no trial failed or timed out in this run" in first.stderr or failed
    # provenance of every row: the machine fingerprint, the code's hash, the BLAS threads (pinned)
    info = pd.read_csv(out / "machine.csv", dtype=str, keep_default_na=False).iloc[-1]
    assert info["blas_threads"] == "1" and info["blas_threads_used"] in ("1", "unknown")
    assert info["env_OPENBLAS_NUM_THREADS"] == "1" and info["env_OMP_NUM_THREADS"] == "1"
    for name, df in frames.items():
        assert (df["machine"] == info["machine_id"]).all()
        # modes' hash as the run recorded it (others may edit modes meanwhile), the experiment's now
        exp_hash = machine.code_version(f"experiments.suite.{name}").split("-")[1]
        assert (df["code_version"] == f"{info['modes_source']}-{exp_hash}").all()
        assert (df["blas_threads"].astype(str) == "1").all()

    lines_before = len((out / "memory.csv").read_text().splitlines())
    again = _run(out, tmp_path)
    assert again.returncode == first.returncode
    assert len((out / "memory.csv").read_text().splitlines()) == lines_before  # all resumed
    assert _tally(again.stderr, "memory") == (0, int(measured.sum()))
    assert "--force remeasures them" in again.stderr
    seed_line = r"^seed: [\d.]+ s; measured 0 trial\(s\), reused 0, [4-9] check\(s\) rerun"
    assert re.search(seed_line, again.stderr, re.M), again.stderr  # checks run every time, and say so
    assert "in all: measured 0 trial(s)" in again.stderr and "nothing was remeasured" in again.stderr
    assert "already recorded here that it will reuse" in again.stderr  # the estimate knew

    forced = _run(out, tmp_path, "--force")
    assert len((out / "memory.csv").read_text().splitlines()) == lines_before + int(measured.sum())
    assert _tally(forced.stderr, "memory") == (int(measured.sum()), 0)

    threads = _run(out, tmp_path, "--blas-threads", "2")  # another setting: another machine id
    df = pd.read_csv(out / "memory.csv")
    assert _tally(threads.stderr, "memory")[1] == 0
    assert set(df.loc[df["blas_threads"].astype(str) == "2", "machine"]) != {info["machine_id"]}


def progress_lines(stderr: str) -> int:
    return sum(1 for line in stderr.splitlines() if line.startswith("memory ") and "[" in line)


def test_bad_arguments_rejected(tmp_path: Path) -> None:
    res = subprocess.run([sys.executable, str(SCRIPT), "--repeats", "2", "--out", str(tmp_path)],
                         capture_output=True, text=True, timeout=120)
    assert res.returncode == 2 and "at least 5" in res.stderr


# ---- the reference folder ---------------------------------------------------------------------------
def test_reference_folder_is_never_an_output_unless_asked(capsys: pytest.CaptureFixture[str]) -> None:
    from experiments import run_all

    ref = run_all.REFERENCE
    for out in (ref, ref / "sub", Path("reference")):
        with pytest.raises(SystemExit) as exc:
            run_all.parse_args(["--out", str(out if out.is_absolute() else ROOT / out)])
        assert exc.value.code == 2
        assert "is the reference folder" in capsys.readouterr().err
    args = run_all.parse_args(["--update-reference"])
    assert args.out == ref and args.force  # remeasured whole: never read as a cache
    assert run_all.parse_args(["--update-reference", "--out", str(ref)]).out == ref
    with pytest.raises(SystemExit):
        run_all.parse_args(["--update-reference", "--out", "/tmp/elsewhere"])
    assert "contradicts" in capsys.readouterr().err
    assert run_all.parse_args([]).out == ROOT / "results" and not run_all.parse_args([]).force


def test_reference_refused_before_anything_is_written(tmp_path: Path) -> None:
    ref = ROOT / "reference"
    before = sorted(p.name for p in ref.iterdir()) if ref.exists() else None
    res = subprocess.run([sys.executable, str(SCRIPT), "--profile", "tiny", "--only", "seed", "--out",
                          str(ref)], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert res.returncode == 2 and "--update-reference" in res.stderr
    assert (sorted(p.name for p in ref.iterdir()) if ref.exists() else None) == before


# ---- the estimate -------------------------------------------------------------------------------------
def test_estimate_from_the_grid_constants_scaled_by_what_is_recorded(tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    from experiments import run_all
    from experiments.runner import PROFILES, Context
    from experiments.store import Store

    Cost = run_all.Cost
    monkeypatch.setitem(run_all.EXPECTED, "quick", {"seed": Cost(60.0, 4), "memory": Cost(180.0, 10)})
    monkeypatch.setitem(run_all.EXPECTED, "full", {"seed": Cost(60.0, 4), "memory": Cost(1800.0, 10)})
    monkeypatch.setitem(run_all.STARTUP_S, "quick", 0.0)
    monkeypatch.setitem(run_all.STARTUP_S, "full", 0.0)
    info = {"machine_id": "m"}
    quick = Context(tmp_path, PROFILES["quick"], info, code_versions={"seed": "s", "memory": "v"})
    assert run_all.expected_seconds(quick, ["seed", "memory"]) == (240.0, 0)
    assert run_all.estimate_line(quick, ["seed", "memory"]).startswith("expect about 4.0 min (240 s: ")
    full = Context(tmp_path, PROFILES["full"], info, code_versions={"seed": "s", "memory": "v"})
    assert run_all.estimate_line(full, ["seed", "memory"]).startswith("expect about 31 min (1860 s, rough: ")
    # half of memory's trials recorded on this machine by this code: half its time left (rows of
    # older code, failed rows and value rows, which are rerun every time, do not count)
    Store(tmp_path / "memory.csv", "m", "v").record(
        [{"config_key": f"k{i}", "status": "ok", "experiment": "memory", "repeats": 1} for i in range(5)]
        + [{"config_key": "old", "status": "ok", "code_version": "older", "repeats": 1},
           {"config_key": "bad", "status": "failed", "repeats": 1},
           {"config_key": "check", "status": "ok"}])
    assert run_all.expected_seconds(quick, ["seed", "memory"]) == (150.0, 5)
    assert "less the 5 trial(s) already recorded here" in run_all.estimate_line(quick, ["memory"])
    forced = Context(tmp_path, PROFILES["quick"], info, force=True, code_versions={"memory": "v"})
    assert run_all.expected_seconds(forced, ["memory"]) == (180.0, 0)
    # an experiment's checks are rerun every time: their seconds are never scaled away
    monkeypatch.setitem(run_all.EXPECTED, "quick", {"memory": Cost(180.0, 10, checks_s=20.0)})
    assert run_all.expected_seconds(quick, ["memory"]) == (20.0 + 160.0 / 2, 5)
