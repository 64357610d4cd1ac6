"""The resumable tidy table: one CSV per experiment, one row per trial, appended as trials finish.

Every row has the columns in ``COLUMNS`` (missing ones are empty). A row is identified by its
``config_key`` (the trial's configuration, see ``config_key``) and its ``machine`` (see
``experiments.machine.fingerprint``). Reading keeps the last row of each (config_key, machine), so a
rerun with ``--force`` replaces earlier results. A ``Store`` opened for a machine and a code version
(``experiments.machine.code_version``) sees only the rows of both: ``is_done`` is true only for
``ok`` rows measured on this machine by this code; failed rows are retried on the next run; skipped
rows are re-decided by the experiment; rows of another machine or code stay in the file, unused.

A row cannot be lost. Each row is one physical line (line breaks inside a text cell are written as
the two characters ``\\n``), appended whole with one write, then fsynced, under an exclusive lock
on the file. A line a killed writer left torn, and any line that cannot be read (wrong number of
fields, a broken quote, bytes that are not UTF-8), are moved to ``<csv>.rejected`` with their line
numbers, reported on stderr, and the CSV is rewritten atomically with every valid row. ``preflight``
checks that the output directory and CSVs are writable before any trial runs.
"""

from __future__ import annotations

import csv
import fcntl
import io
import json
import math
import os
import sys
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pandas is imported where a table is read: a memory probe that imports an
    import pandas as pd  # experiment module (and so this one) does not pay for it

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
    # operation counts (modes.count_ops, machine independent): of f and of its reverse and forward
    # gradients, in all and multiplicative (Griewank's measure); seconds to build the timed callable
    "ops_f", "ops_reverse", "ops_forward", "mul_f", "mul_reverse", "mul_forward", "setup_s",
    # provenance: the machine fingerprint, the code's content hash, the BLAS thread setting
    "machine", "code_version", "blas_threads", "timestamp", "wall_s", "load_avg", "config_key",
)
STATUSES = ("ok", "failed", "timeout", "skipped")
FAILED = ("failed", "timeout")
REJECTED_SUFFIX = ".rejected"
JOIN_MAX = 50  # physical lines a legacy quoted cell may span (pandas wrote line breaks raw)


class StoreError(Exception):
    """A results file or directory that cannot be used; the message says which and what to do."""


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


# ---- writing: one row, one line ------------------------------------------------------------------------
def _cell(value: Any) -> str:
    value = _clean(value)
    if value is None:
        return ""
    if not isinstance(value, (str, int, float)):  # numpy scalars, pandas' NA and NaT
        import pandas as pd

        if pd.api.types.is_scalar(value) and pd.isna(value):
            return ""
    return _flat(str(value))


def _flat(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n").replace("\n", "\\n").replace("\x00", "\\x00")


def _line(cells: Iterable[str]) -> bytes:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerow(list(cells))
    # a lone surrogate in an error message must not cost the row
    return buf.getvalue().encode("utf-8", "backslashreplace")


HEADER = _line(COLUMNS)


def row_line(row: Mapping[str, Any]) -> bytes:
    """``row`` as one complete CSV line in ``COLUMNS`` order (newline-terminated UTF-8)."""
    return _line(_cell(row.get(c)) for c in COLUMNS)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _read_all(fd: int) -> bytes:
    chunks, offset = [], 0
    while chunk := os.pread(fd, 1 << 20, offset):
        chunks.append(chunk)
        offset += len(chunk)
    return b"".join(chunks)


def _open_locked(path: Path, flags: int) -> int:
    """``path`` opened with ``flags`` and exclusively locked; reopened if it was replaced meanwhile."""
    while True:
        fd = os.open(path, flags | os.O_CLOEXEC, 0o666)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            if os.fstat(fd).st_ino == os.stat(path).st_ino:
                return fd
        except FileNotFoundError:
            pass  # the path was removed meanwhile: open (or create) it again
        except BaseException:
            os.close(fd)
            raise
        os.close(fd)


def _append(path: Path, payload: bytes) -> None:
    """Append complete lines ``payload`` to the CSV at ``path`` with one write, fsynced.

    A new or empty file gets ``HEADER`` first. A file with a torn last line or an older header is
    repaired first (see ``load_csv``), so the new rows never join a fragment.
    """
    created = not path.exists()
    while True:
        fd = _open_locked(path, os.O_RDWR | os.O_CREAT | os.O_APPEND)
        try:
            size = os.fstat(fd).st_size
            if size == 0:
                _write_all(fd, HEADER + payload)
            elif os.pread(fd, 1, size - 1) != b"\n" or os.pread(fd, len(HEADER), 0) != HEADER:
                _repair(path, fd, _scan(_read_all(fd), path), remap=True)
                continue  # the file was replaced: lock the new one
            else:
                _write_all(fd, payload)
            os.fsync(fd)
        finally:
            os.close(fd)
        if created:
            _fsync_dir(path.parent)
        return


# ---- reading: line by line, setting aside what cannot be read ------------------------------------------
@dataclass
class _Scan:
    header: list[str]
    header_raw: bytes
    good: list[bytes] = field(default_factory=list)  # raw lines (newline-terminated), in order
    cells: list[list[str]] = field(default_factory=list)
    bad: list[tuple[int, bytes, str]] = field(default_factory=list)  # (line number, raw, why)
    torn: tuple[int, bytes] | None = None


def _parse(raw: bytes) -> list[str] | str:
    """The cells of one record, or why it cannot be read."""
    if b"\x00" in raw:
        return "NUL bytes"
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return f"invalid UTF-8 at byte {exc.start}"
    text = text[:-1] if text.endswith("\n") else text
    try:
        rows = list(csv.reader([text.removesuffix("\r")], strict=True))
    except csv.Error as exc:
        return f"unreadable CSV ({exc})"
    return rows[0] if rows else []


def _open_quote(cells: list[str] | str) -> bool:
    return isinstance(cells, str) and "unexpected end of data" in cells


def _scan(data: bytes, path: Path) -> _Scan:
    lines = [line + b"\n" for line in data.split(b"\n")]
    lines[-1] = lines[-1][:-1]  # after the last newline: b"" or a torn fragment
    complete = len(lines) - 1
    if complete == 0:
        return _Scan([], b"", torn=(1, data) if data else None)
    header = _parse(lines[0])
    if isinstance(header, str) or not header:
        raise StoreError(f"{path} line 1: the header is unreadable ({header or 'empty'}); "
                         "move the file away or repair its first line")
    scan = _Scan(header, lines[0], torn=(len(lines), lines[-1]) if lines[-1] else None)
    i = 1
    while i < complete:
        raw, end, cells = lines[i], i + 1, _parse(lines[i])
        if _open_quote(cells):  # a legacy record whose quoted cell spans lines (pandas wrote them raw)
            for stop in range(i + 2, min(complete, i + JOIN_MAX) + 1):
                attempt = _parse(b"".join(lines[i:stop]))
                if _open_quote(attempt):
                    continue
                if isinstance(attempt, list) and len(attempt) == len(header):
                    raw, end, cells = b"".join(lines[i:stop]), stop, attempt
                break
        if isinstance(cells, list) and len(cells) == len(header):
            scan.good.append(raw)
            scan.cells.append(cells)
        elif cells != []:  # a blank line carries no row
            why = cells if isinstance(cells, str) else f"{len(cells)} fields, expected {len(header)}"
            scan.bad.append((i + 1, lines[i], why))
            end = i + 1
        i = end
    return scan


def _warn(message: str) -> None:
    print(f"warning: {message}", file=sys.stderr)


def _moved(scan: _Scan) -> list[tuple[int, bytes, str]]:
    torn = [] if scan.torn is None else [(*scan.torn, "torn last line (its writer was stopped mid-row)")]
    return scan.bad + torn


def _rejected(path: Path) -> Path:
    return path.with_name(path.name + REJECTED_SUFFIX)


def _repair(path: Path, fd: int, scan: _Scan, remap: bool) -> None:
    """Move the torn and unreadable lines of the locked file ``fd`` to ``<path>.rejected``, then
    replace ``path`` atomically with its header and valid lines (mapped to ``COLUMNS`` if ``remap``),
    and report each moved line on stderr."""
    moved = _moved(scan)
    if moved:
        entries = b"".join(f"# {path.name} line {n}: {why}\n".encode() + raw + (b"" if raw.endswith(b"\n")
                           else b"\n") for n, raw, why in moved)
        with open(_rejected(path), "ab") as fh:  # appended: earlier rejected lines are kept
            fh.write(entries)
            fh.flush()
            os.fsync(fh.fileno())
    if remap and scan.header != list(COLUMNS):
        index = {name: j for j, name in enumerate(scan.header)}
        body = [HEADER] + [_line(_flat(cells[index[c]]) if c in index else "" for c in COLUMNS)
                           for cells in scan.cells]
    else:
        body = [scan.header_raw or HEADER] + scan.good
    tmp_fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name + ".", suffix=".tmp")
    try:
        os.fchmod(tmp_fd, os.fstat(fd).st_mode & 0o7777)
        _write_all(tmp_fd, b"".join(body))
        os.fsync(tmp_fd)
    except BaseException:
        os.close(tmp_fd)
        os.unlink(tmp)
        raise
    os.close(tmp_fd)
    os.replace(tmp, path)
    _fsync_dir(path.parent)
    for n, _, why in moved:
        _warn(f"{path} line {n}: {why}; dropped from the table, kept in {_rejected(path)}")


def load_csv(path: Path | str) -> pd.DataFrame:
    """Read a harness CSV (empty table with ``COLUMNS`` if missing), last row per configuration.

    Every readable row is kept. A torn last line and unreadable lines are reported on stderr by file
    and line number and moved to ``<path>.rejected`` (if the file cannot be rewritten they are only
    left out, with a warning). An unreadable header raises ``StoreError``.
    """
    import pandas as pd

    path = Path(path)
    if not path.exists() or path.stat().st_size == 0:
        return pd.DataFrame(columns=list(COLUMNS))
    fd = _open_locked(path, os.O_RDONLY)
    try:
        scan = _scan(_read_all(fd), path)
        if scan.bad or scan.torn is not None:
            try:
                _repair(path, fd, scan, remap=False)
            except OSError as exc:
                for n, _, why in _moved(scan):
                    _warn(f"{path} line {n}: {why}; left out of the table, not set aside ({exc})")
    finally:
        os.close(fd)
    if not scan.header:
        return pd.DataFrame(columns=list(COLUMNS))
    # pandas reads the rows re-quoted canonically: its own parser never sees a line it could refuse
    df = pd.read_csv(io.BytesIO(b"".join([_line(scan.header)] + [_line(cells) for cells in scan.cells])))
    for c in COLUMNS:
        if c not in df.columns:
            df[c] = None
    return df.drop_duplicates(["config_key", "machine"], keep="last").reset_index(drop=True)


# ---- the store -----------------------------------------------------------------------------------------
class Store:
    """The CSV at ``path`` for rows measured on machine ``machine_id`` by code ``code_version``
    (``None``: by any code)."""

    def __init__(self, path: Path | str, machine_id: str, code_version: str | None = None) -> None:
        self.path = Path(path)
        self.machine_id = machine_id
        self.code_version = code_version
        self._rows: dict[str, dict[str, Any]] = {}
        self._new_failures = 0
        mine = self.load()
        if code_version is not None:
            mine = mine[mine["code_version"].astype(str) == code_version]
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
        """The last row recorded on this machine (by this code) for configuration ``key``, if any."""
        return self._rows.get(key)

    def status(self, key: str) -> str | None:
        row = self._rows.get(key)
        return None if row is None else str(row["status"])

    def is_done(self, key: str) -> bool:
        return self.status(key) == "ok"

    def done_count(self) -> int:
        """How many timing and memory trials (rows with ``repeats``; value rows have none and are
        recomputed every run) have an ``ok`` row of this machine and code: what a rerun reuses."""
        return sum(1 for row in self._rows.values()
                   if str(row["status"]) == "ok" and _cell(row.get("repeats")) != "")

    @property
    def failures(self) -> int:
        """Failed or timed-out rows recorded through this object (this run)."""
        return self._new_failures

    def record(self, rows: Iterable[Mapping[str, Any]]) -> None:
        """Append ``rows`` (each gets ``machine`` and ``code_version`` if unset) to the CSV with one
        fsynced write."""
        rows = [dict(r) for r in rows]
        if not rows:
            return
        for r in rows:
            r.setdefault("machine", self.machine_id)
            if self.code_version is not None:
                r.setdefault("code_version", self.code_version)
            unknown = set(r) - set(COLUMNS)
            if unknown:
                raise KeyError(f"unknown columns {sorted(unknown)}")
            if r.get("status") not in STATUSES:
                raise ValueError(f"status must be one of {STATUSES}, got {r.get('status')!r}")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        _append(self.path, b"".join(row_line(r) for r in rows))
        for r in rows:
            if r["machine"] == self.machine_id and (self.code_version is None
                                                    or r.get("code_version") == self.code_version):
                self._rows[str(r["config_key"])] = {c: r.get(c) for c in COLUMNS}
            if r["status"] in FAILED:
                self._new_failures += 1


# ---- preflight -----------------------------------------------------------------------------------------
def _usable_dir(path: Path, what: str) -> None:
    for parent in (path, *path.parents):
        if parent.exists():
            if not parent.is_dir():
                where = "is" if parent == path else f"is below {parent}, which is"
                raise StoreError(f"{what} {path} {where} a file, not a directory; "
                                 "choose another output directory (--out)")
            break
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StoreError(f"cannot create {what} {path} ({exc.strerror or exc}); choose another output "
                         "directory (--out) or fix its permissions") from None
    try:  # a real probe: os.access is wrong for root, read-only mounts and ACLs
        fd, probe = tempfile.mkstemp(dir=path, prefix=".write-probe-")
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise StoreError(f"cannot write in {what} {path} ({exc.strerror or exc}); choose another output "
                         "directory (--out) or fix its permissions") from None


def preflight(out_dir: Path, csv_paths: Iterable[Path] = ()) -> None:
    """Raise ``StoreError`` (one line: what is wrong, what to do) unless results can be written.

    Checks that ``out_dir`` (and any other directory of a CSV) is, or can be created as, a writable
    directory, and that every existing CSV in ``csv_paths`` and its ``.rejected`` file is a regular
    file open for reading and appending, the CSV with a readable header. Creates those directories
    and nothing else.
    """
    out_dir = Path(out_dir)
    _usable_dir(out_dir, "output directory")
    for csv_path in map(Path, csv_paths):
        if csv_path.parent != out_dir:
            _usable_dir(csv_path.parent, "directory")
        for path in (csv_path, csv_path.with_name(csv_path.name + REJECTED_SUFFIX)):
            if not path.exists():
                continue
            if not path.is_file():
                raise StoreError(f"results file {path} is not a regular file; move it away or choose "
                                 "another output directory (--out)")
            try:
                os.close(os.open(path, os.O_RDWR | os.O_APPEND))
            except OSError as exc:
                raise StoreError(f"cannot append to results file {path} ({exc.strerror or exc}); fix "
                                 "its permissions or choose another output directory (--out)") from None
        if csv_path.is_file():
            _check_header(csv_path)


def _check_header(path: Path) -> None:
    """``StoreError`` if the complete first line of ``path`` is not a readable CSV header."""
    with open(path, "rb") as fh:
        first = fh.readline()
    if first.endswith(b"\n"):  # a torn header alone is repaired on load
        _scan(first, path)


def json_list(cell: Any) -> list[float]:
    """Decode a JSON-list cell (``times``, ``ratios``, ``rss_peaks``); empty for a missing cell."""
    if isinstance(cell, (list, tuple)):
        return [float(v) for v in cell]
    if isinstance(cell, str) and cell.startswith("["):
        return [float(v) for v in json.loads(cell)]
    return []
