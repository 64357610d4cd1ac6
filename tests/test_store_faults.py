"""The store under faults: a writer killed mid-row, damaged lines, unwritable places.

Each fault ends with every complete row readable exactly once, the damaged lines named by file and
line number and kept in ``<csv>.rejected``, or (for unwritable places) a one-line ``StoreError``.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from experiments.store import COLUMNS, Store, StoreError, load_csv, preflight, row_line

ROOT = Path(__file__).resolve().parent.parent
AS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0


def _row(i: int) -> dict:
    return {"experiment": "e", "method": "m", "n": i, "status": "ok", "t_median": 0.5 + i,
            "times": [1.0, 2.0], "error": "", "config_key": f'{{"n":{i}}}', "machine": "m1"}


def _write(path: Path, n: int) -> None:
    Store(path, "m1").record(_row(i) for i in range(n))


def _keys_on_disk(path: Path) -> list[str]:
    """The config keys of the file as a strict reader sees them (raises on any damage)."""
    return list(pd.read_csv(path, dtype=str)["config_key"])


def _rejected(path: Path) -> bytes:
    return path.with_name(path.name + ".rejected").read_bytes()


# ---- a torn last line -------------------------------------------------------------------------------
def test_torn_last_line_dropped_with_warning_and_kept_aside(tmp_path: Path, capsys) -> None:
    path = tmp_path / "e.csv"
    _write(path, 3)
    fragment = row_line(_row(3))[:40]
    with path.open("ab") as fh:
        fh.write(fragment)
    df = load_csv(path)
    err = capsys.readouterr().err
    assert f"{path} line 5: torn last line" in err  # header, three rows, then the fragment
    assert list(df["n"]) == [0, 1, 2]
    assert fragment in _rejected(path)
    Store(path, "m1").record([_row(3)])
    assert _keys_on_disk(path) == [_row(i)["config_key"] for i in range(4)]


def test_append_never_joins_a_torn_line(tmp_path: Path, capsys) -> None:
    """The writer itself finds the fragment (another process tore the file after this store loaded)."""
    path = tmp_path / "e.csv"
    store = Store(path, "m1")
    store.record([_row(0), _row(1)])
    with path.open("ab") as fh:
        fh.write(row_line(_row(9))[:-10])
    store.record([_row(2)])
    assert f"{path} line 4: torn last line" in capsys.readouterr().err
    assert _keys_on_disk(path) == [_row(i)["config_key"] for i in range(3)]
    assert Store(path, "m1").is_done(_row(2)["config_key"]) and not capsys.readouterr().err


def test_torn_header_alone(tmp_path: Path, capsys) -> None:
    path = tmp_path / "e.csv"
    path.write_bytes(",".join(COLUMNS[:5]).encode())
    assert load_csv(path).empty and "line 1: torn last line" in capsys.readouterr().err
    Store(path, "m1").record([_row(0)])
    assert _keys_on_disk(path) == [_row(0)["config_key"]]


# ---- unreadable lines -------------------------------------------------------------------------------
def _extra_field(line: bytes) -> bytes:
    return line[:-1] + b",surplus\n"


def _unterminated_quote(line: bytes) -> bytes:
    return line.replace(b",ok,", b',"ok,', 1)


def _invalid_utf8(line: bytes) -> bytes:
    return line.replace(b",ok,", b",caf\xe9,", 1)


def _nul_bytes(line: bytes) -> bytes:
    return b"\x00" * 20 + line


@pytest.mark.parametrize("damage, why", [
    (_extra_field, f"{len(COLUMNS) + 1} fields, expected {len(COLUMNS)}"),
    (_unterminated_quote, "unreadable CSV"),
    (_invalid_utf8, "invalid UTF-8"),
    (_nul_bytes, "NUL bytes"),
])
def test_unreadable_line_set_aside_every_valid_row_kept(tmp_path: Path, capsys, damage, why) -> None:
    path = tmp_path / "e.csv"
    _write(path, 5)
    lines = path.read_bytes().splitlines(keepends=True)
    bad = damage(row_line(_row(99)))
    path.write_bytes(b"".join(lines[:3] + [bad] + lines[3:]))  # the bad line is line 4
    df = load_csv(path)
    err = capsys.readouterr().err
    assert f"{path} line 4: {why}" in err and ".rejected" in err
    assert sorted(df["n"]) == [0, 1, 2, 3, 4]
    assert bad in _rejected(path)
    assert _keys_on_disk(path) == [_row(i)["config_key"] for i in range(5)]  # rewritten clean
    assert len(load_csv(path)) == 5 and not capsys.readouterr().err  # reported once


def test_rejected_lines_accumulate_across_repairs(tmp_path: Path, capsys) -> None:
    path = tmp_path / "e.csv"
    _write(path, 2)
    first, second = _extra_field(row_line(_row(7))), _invalid_utf8(row_line(_row(8)))
    with path.open("ab") as fh:
        fh.write(first)
    load_csv(path)
    with path.open("ab") as fh:
        fh.write(second)
    Store(path, "m1").record([_row(2)])
    err = capsys.readouterr().err
    assert err.count(f"{path} line 4:") == 2  # each was line 4 of the file at its time
    assert first in _rejected(path) and second in _rejected(path)
    assert _keys_on_disk(path) == [_row(i)["config_key"] for i in range(3)]


def test_line_breaks_in_a_cell_stay_one_line(tmp_path: Path) -> None:
    path = tmp_path / "e.csv"
    Store(path, "m1").record([{**_row(0), "status": "failed", "error": 'bad\nthing, "quoted"\r\n'}])
    assert len(path.read_bytes().splitlines()) == 2
    assert load_csv(path)["error"][0] == 'bad\\nthing, "quoted"\\n'


def test_legacy_multiline_cell_and_old_header_are_kept(tmp_path: Path, capsys) -> None:
    """pandas wrote a cell's line break raw, inside quotes, under an older column set."""
    path = tmp_path / "e.csv"
    old = [{"experiment": "e", "status": "failed", "error": "two\nlines", "config_key": "a", "machine": "m1"},
           {"experiment": "e", "status": "ok", "error": "", "config_key": "b", "machine": "m1"}]
    pd.DataFrame(old).to_csv(path, index=False)
    assert list(load_csv(path)["config_key"]) == ["a", "b"] and not capsys.readouterr().err
    store = Store(path, "m1")
    assert store.is_done("b") and store.status("a") == "failed"
    store.record([_row(0)])
    assert path.read_bytes().startswith(row_line(dict(zip(COLUMNS, COLUMNS))))  # current header
    df = load_csv(path)
    assert list(df["config_key"]) == ["a", "b", _row(0)["config_key"]]
    assert df["error"][0] == "two\\nlines"


# ---- a writer killed mid-run ------------------------------------------------------------------------
CHILD = """
import os, sys, time
from experiments.store import Store, row_line
path, mode = sys.argv[1], sys.argv[2]
def row(i):
    return {"experiment": "e", "n": i, "status": "ok", "error": "x" * 300, "config_key": f"k{i}"}
store = Store(path, "m1")
for i in range(10**9 if mode == "loop" else 5):
    store.record([row(i)])
    print(i, flush=True)
if mode == "torn":  # what a kill in the middle of a write leaves behind
    line = row_line({**row(5), "machine": "m1"})
    fd = os.open(path, os.O_WRONLY | os.O_APPEND)
    os.write(fd, line[: len(line) // 2])
    print("torn", flush=True)
time.sleep(600)
"""


def _killed_writer(path: Path, mode: str, acknowledged: int) -> int:
    """Run the writer child until it has acknowledged ``acknowledged`` rows (and torn one if
    ``mode == "torn"``), SIGKILL it; the number of rows it acknowledged as written."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(path), mode], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True, env=env, cwd=ROOT)
    seen = 0
    try:
        for line in child.stdout:  # type: ignore[union-attr]
            seen += line.strip() != "torn"
            if (mode == "loop" and seen >= acknowledged) or line.strip() == "torn":
                break
        else:
            pytest.fail(f"writer exited early: {child.stderr.read()}")  # type: ignore[union-attr]
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=60)
    assert child.returncode == -signal.SIGKILL
    return seen


def _resume_and_check(path: Path, total: int, acknowledged: int) -> None:
    store = Store(path, "m1")
    assert all(store.is_done(f"k{i}") for i in range(acknowledged))  # fsynced before acknowledged
    for i in range(total):
        if not store.is_done(f"k{i}"):
            store.record([{"experiment": "e", "n": i, "status": "ok", "config_key": f"k{i}"}])
    assert _keys_on_disk(path) == [f"k{i}" for i in range(total)]  # each row once, in order, readable
    assert sorted(load_csv(path)["n"]) == list(range(total))


def test_killed_writer_torn_line_then_resume(tmp_path: Path, capsys) -> None:
    path = tmp_path / "e.csv"
    assert _killed_writer(path, "torn", 5) == 5
    fragment = path.read_bytes().rsplit(b"\n", 1)[1]
    assert fragment  # the file ends inside row 5
    _resume_and_check(path, 10, 5)
    assert f"{path} line 7: torn last line" in capsys.readouterr().err
    assert fragment in _rejected(path)


def test_writer_killed_anywhere_then_resume(tmp_path: Path) -> None:
    path = tmp_path / "e.csv"
    acknowledged = _killed_writer(path, "loop", 40)
    _resume_and_check(path, acknowledged + 40, acknowledged)


# ---- preflight --------------------------------------------------------------------------------------
def _one_line_error(out: Path, csvs: tuple[Path, ...] = ()) -> str:
    with pytest.raises(StoreError) as info:
        preflight(out, csvs)
    message = str(info.value)
    assert "\n" not in message and "--out" in message
    return message


def test_preflight_out_below_a_file(tmp_path: Path) -> None:
    (tmp_path / "f").write_text("")
    assert "is below" in _one_line_error(tmp_path / "f" / "results" / "deeper")
    assert "is a file" in _one_line_error(tmp_path / "f")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["f"]  # created nothing


def test_preflight_csv_that_is_a_directory(tmp_path: Path) -> None:
    (tmp_path / "e.csv").mkdir()
    assert "not a regular file" in _one_line_error(tmp_path, (tmp_path / "e.csv",))


def test_preflight_passes_and_creates_only_the_directory(tmp_path: Path) -> None:
    out = tmp_path / "a" / "res"
    preflight(out, [out / "e.csv"])
    assert out.is_dir() and list(out.iterdir()) == []
    _write(out / "e.csv", 1)
    preflight(out, [out / "e.csv"])
    assert sorted(p.name for p in out.iterdir()) == ["e.csv"]


@pytest.mark.skipif(AS_ROOT, reason="root ignores permissions")
def test_preflight_read_only_directory_and_csv(tmp_path: Path) -> None:
    out = tmp_path / "res"
    _write(out / "e.csv", 1)
    (out / "e.csv").chmod(0o444)
    try:
        assert "cannot append" in _one_line_error(out, (out / "e.csv",))
        out.chmod(0o555)
        assert "cannot write in" in _one_line_error(out)
        assert "cannot create" in _one_line_error(out / "sub")
    finally:
        out.chmod(0o755)


@pytest.mark.skipif(not Path("/proc/self").is_dir(), reason="needs Linux /proc")
def test_preflight_uncreatable_and_unwritable_even_as_root() -> None:
    assert "cannot create" in _one_line_error(Path("/proc/modes-results"))
    assert "cannot write in" in _one_line_error(Path("/proc/self"))
