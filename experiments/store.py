"""The resumable tidy table: one CSV per experiment, one row per trial, appended as trials finish.

Every row has the columns in ``COLUMNS`` (missing ones are empty). A row is identified by its
``config_key`` (the trial's configuration, see ``config_key``) and its ``machine`` (see
``experiments.machine.fingerprint``). Reading keeps the last row of each (config_key, machine), so a
rerun with ``--force`` replaces earlier results. ``is_done`` is true only for ``ok`` rows of this
machine: failed rows are retried on the next run; skipped rows are re-decided by the experiment.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import pandas as pd

COLUMNS: tuple[str, ...] = (
    # what was measured
    "experiment", "problem", "method", "mode", "n", "m", "k", "ops", "chunk",
    # outcome
    "status", "error", "note",
    # runtime: per-call seconds of every repeat (JSON list) and their statistics
    "repeats", "loops", "target_s", "t_median", "t_q1", "t_q3", "t_iqr", "t_min", "t_max", "times",
    # the function's own plain evaluation timed beside (same process, interleaved) and the ratio
    "f_median", "ratio_median", "ratio_q1", "ratio_q3", "ratio_iqr", "ratios",
    # memory: peak RSS above baseline (median over fresh subprocesses; JSON list of each), tape, theory
    "peak_rss_delta", "peak_hwm_delta", "rss_peaks", "baseline_rss", "tape_bytes", "theory_bytes",
    "mem_estimate", "mem_cap", "malloc_env",
    # checks and decisions
    "check_err", "value", "auto_choice", "reverse_weight",
    # checkpointing: the schedule, its snapshots, and untaped step evaluations against theory
    "schedule", "snapshots", "advances", "theory_advances", "recompute_factor",
    # provenance
    "machine", "code_version", "timestamp", "wall_s", "load_avg", "config_key",
)
STATUSES = ("ok", "failed", "timeout", "skipped")
FAILED = ("failed", "timeout")


def config_key(config: Mapping[str, Any]) -> str:
    """A stable string for a trial configuration (sorted JSON; floats kept exact)."""
    return json.dumps({k: config[k] for k in sorted(config)}, sort_keys=True, separators=(",", ":"),
                      default=str)


def _clean(value: Any) -> Any:
    if isinstance(value, (list, tuple, dict)):
        return json.dumps(value)
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


class Store:
    """The CSV at ``path`` for rows measured on machine ``machine_id``."""

    def __init__(self, path: Path | str, machine_id: str) -> None:
        self.path = Path(path)
        self.machine_id = machine_id
        self._rows: dict[str, dict[str, Any]] = {}
        self._new_failures = 0
        mine = self.load()
        for row in mine.to_dict("records"):
            self._rows[str(row["config_key"])] = row

    def load_all(self) -> pd.DataFrame:
        """Every row of every machine, the last one of each (config_key, machine)."""
        return load_csv(self.path)

    def load(self) -> pd.DataFrame:
        """This machine's rows (last of each configuration)."""
        df = self.load_all()
        return df[df["machine"].astype(str) == self.machine_id].reset_index(drop=True)

    def get(self, key: str) -> dict[str, Any] | None:
        """The last row recorded on this machine for configuration ``key``, if any."""
        return self._rows.get(key)

    def status(self, key: str) -> str | None:
        row = self._rows.get(key)
        return None if row is None else str(row["status"])

    def is_done(self, key: str) -> bool:
        return self.status(key) == "ok"

    @property
    def failures(self) -> int:
        """Failed or timed-out rows recorded through this object (this run)."""
        return self._new_failures

    def record(self, rows: Iterable[Mapping[str, Any]]) -> None:
        """Append ``rows`` (each gets ``machine`` if unset) to the CSV at once."""
        rows = [dict(r) for r in rows]
        if not rows:
            return
        for r in rows:
            r.setdefault("machine", self.machine_id)
            unknown = set(r) - set(COLUMNS)
            if unknown:
                raise KeyError(f"unknown columns {sorted(unknown)}")
            if r.get("status") not in STATUSES:
                raise ValueError(f"status must be one of {STATUSES}, got {r.get('status')!r}")
        frame = pd.DataFrame([{c: _clean(r.get(c)) for c in COLUMNS} for r in rows],
                             columns=list(COLUMNS))
        self.path.parent.mkdir(parents=True, exist_ok=True)
        header = not self.path.exists() or self.path.stat().st_size == 0
        if not header and _header(self.path) != list(COLUMNS):  # schema changed: rewrite merged
            old = pd.read_csv(self.path)
            frame = pd.concat([old.reindex(columns=list(COLUMNS)), frame], ignore_index=True)
            frame.to_csv(self.path, index=False)
        else:
            frame.to_csv(self.path, mode="a", header=header, index=False)
        for r in rows:
            if r["machine"] == self.machine_id:
                self._rows[str(r["config_key"])] = {c: r.get(c) for c in COLUMNS}
            if r["status"] in FAILED:
                self._new_failures += 1


def _header(path: Path) -> list[str]:
    with path.open() as fh:
        return fh.readline().strip().split(",")


def load_csv(path: Path | str) -> pd.DataFrame:
    """Read a harness CSV (empty table with ``COLUMNS`` if missing), last row per configuration."""
    path = Path(path)
    if not path.exists() or path.stat().st_size == 0:
        return pd.DataFrame(columns=list(COLUMNS))
    df = pd.read_csv(path)
    for c in COLUMNS:
        if c not in df.columns:
            df[c] = None
    return df.drop_duplicates(["config_key", "machine"], keep="last").reset_index(drop=True)


def json_list(cell: Any) -> list[float]:
    """Decode a JSON-list cell (``times``, ``ratios``, ``rss_peaks``); empty for a missing cell."""
    if isinstance(cell, (list, tuple)):
        return [float(v) for v in cell]
    if isinstance(cell, str) and cell.startswith("["):
        return [float(v) for v in json.loads(cell)]
    return []
