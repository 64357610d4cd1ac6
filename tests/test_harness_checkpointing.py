"""The checkpointing experiment on the tiny profile: rows, checks and its report section."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parent.parent


def test_checkpointing_experiment_and_section(tmp_path: Path) -> None:
    out = tmp_path / "res"
    res = subprocess.run([sys.executable, str(ROOT / "experiments" / "run_all.py"), "--profile", "tiny",
                          "--only", "checkpointing", "--out", str(out)],
                         cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr
    df = pd.read_csv(out / "checkpointing.csv")
    assert (df["status"] == "ok").all(), df[df["status"] != "ok"][["method", "error"]]
    rec = df[(df["method"] == "recomputation") & (df["schedule"] == "revolve")].iloc[0]
    assert rec["advances"] == rec["theory_advances"]  # the optimum, counted by calling the step
    mem = df[df["method"] == "memory"].set_index("schedule")
    assert mem.loc["revolve", "tape_bytes"] * 10 < mem.loc["none", "tape_bytes"]
    assert mem.loc["none", "tape_bytes"] >= mem.loc["none", "theory_bytes"]
    report = (out / "REPORT.md").read_text()
    assert "## Checkpointing: memory against recomputation" in report
    assert "](checkpointing_frontier.png)" in report and (out / "checkpointing_frontier.png").exists()
    assert "equal to the optimum" in report
