"""Smoke run of ``experiments/run_all.py`` on the tiny profile, from another directory, into a tmp dir."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "experiments" / "run_all.py"


def _run(out: Path, cwd: Path, *extra: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(SCRIPT), "--profile", "tiny", "--only", "seed",
                           "--only", "memory", "--out", str(out), *extra],
                          cwd=cwd, capture_output=True, text=True, timeout=300)


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
    assert (mem["status"] == "ok").all()
    assert set(mem["method"]) == {"selftest", "reverse", "forward"}
    assert progress_lines(first.stderr) >= 5  # one line per trial on a non-terminal
    report = (out / "REPORT.md").read_text()
    assert "bytes of peak RSS per operation" in report and "](memory.png)" in report

    lines_before = len((out / "memory.csv").read_text().splitlines())
    again = _run(out, tmp_path)
    assert again.returncode == first.returncode
    assert len((out / "memory.csv").read_text().splitlines()) == lines_before  # all resumed

    forced = _run(out, tmp_path, "--force")
    assert len((out / "memory.csv").read_text().splitlines()) == lines_before + len(mem)


def progress_lines(stderr: str) -> int:
    return sum(1 for line in stderr.splitlines() if line.startswith("memory ") and "[" in line)


def test_bad_arguments_rejected(tmp_path: Path) -> None:
    res = subprocess.run([sys.executable, str(SCRIPT), "--repeats", "2", "--out", str(tmp_path)],
                         capture_output=True, text=True, timeout=120)
    assert res.returncode == 2 and "at least 5" in res.stderr
