"""Fault drill: SIGKILL ``run_all`` at three points, rerun it, and compare with an uninterrupted run.

``python -m experiments.fault_drill --out DIR`` runs ``run_all.py --profile tiny`` (or ``--profile
quick``) twice:

* ``DIR/reference``: once, uninterrupted;
* ``DIR/drilled``: SIGKILLed at each point of ``KILL_POINTS`` in turn (every rerun resumes the
  last), then rerun to completion.

After each kill, no process of the killed run may be left (its session, found with psutil). At the
end every CSV must load, no measured trial may be recorded twice (value rows are recomputed on every
run by design), every row on disk at a kill must still be there, the set of trial keys must equal
the reference run's, and the only lines in ``.rejected`` files may be torn last lines (reported).
It prints a table and exits 1 on any violation (2 if ``DIR`` already holds a drill).

``benchmarks`` is left out (over two minutes alone on the tiny profile: the drill would take twice
that); ``library_speed`` writes figures, not trial rows. The drill takes under two minutes on
2 cores.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import psutil

from .store import REJECTED_SUFFIX, load_csv
from .suite import EXPERIMENTS

ROOT = Path(__file__).resolve().parent.parent
RUN_ALL = ROOT / "experiments" / "run_all.py"
LEFT_OUT = ("benchmarks",)
DRILLED = [name for name in EXPERIMENTS if name not in LEFT_OUT]
POLL_S = 0.02
RUN_DEADLINE_S = 600.0  # one run of the drill, at most
GONE_DEADLINE_S = 10.0  # for the killed run's children to disappear
PROBE = "experiments.memory_probe"

Key = tuple[str, str]  # (experiment, config_key)


# ---- what is on disk -----------------------------------------------------------------------------------
@dataclass
class Disk:
    """The experiment CSVs of a folder as a strict reader sees their complete lines."""

    lines: dict[str, pd.DataFrame] = field(default_factory=dict)  # every complete line, in order
    torn: list[str] = field(default_factory=list)  # files whose last line is incomplete
    unreadable: list[str] = field(default_factory=list)  # files a strict reader refuses (why)

    @property
    def keys(self) -> set[Key]:
        return {(name, key) for name, df in self.lines.items() for key in df["config_key"]}

    @property
    def duplicates(self) -> list[Key]:
        """Measured trials (timing and memory rows, which a rerun resumes) with more than one ok line."""
        counts = Counter((name, key) for name, df in self.lines.items()
                         for key, status in zip(df["config_key"], df["status"])
                         if status == "ok" and _measured(key))
        return sorted(k for k, n in counts.items() if n > 1)


def _measured(config_key: str) -> bool:
    """True for a timing or memory trial's key; false for a value row's (recomputed on every run)."""
    config = json.loads(config_key)
    return "repeats" in config or "mem_repeats" in config


def read_disk(folder: Path) -> Disk:
    """Read without repairing anything: a torn last line is noted and left where it is."""
    disk = Disk()
    for name in DRILLED:
        path = folder / f"{name}.csv"
        if not path.exists():
            continue
        data = path.read_bytes()
        if data and not data.endswith(b"\n"):
            disk.torn.append(path.name)
        complete = data[:data.rfind(b"\n") + 1]
        try:
            disk.lines[name] = pd.read_csv(io.BytesIO(complete), dtype=str, keep_default_na=False)
        except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
            disk.unreadable.append(f"{path.name}: {type(exc).__name__}: {exc}")
    return disk


def rows_so_far(folder: Path, name: str) -> int:
    """Lines after the header of ``<folder>/<name>.csv`` (0 if there is none yet)."""
    path = folder / f"{name}.csv"
    return max(0, path.read_bytes().count(b"\n") - 1) if path.exists() else 0


def rejected_entries(folder: Path) -> list[str]:
    """The reasons recorded in every ``.rejected`` file (``# <csv> line <n>: <why>``)."""
    return [line.split(": ", 1)[1] for path in sorted(folder.glob(f"*{REJECTED_SUFFIX}"))
            for line in path.read_text(errors="replace").splitlines() if line.startswith("# ")]


def load_problems(folder: Path) -> list[str]:
    """Every CSV of ``folder`` through the harness's reader and a strict one: what fails to load."""
    problems = []
    for path in sorted(folder.glob("*.csv")):
        try:
            with contextlib.redirect_stderr(io.StringIO()):
                load_csv(path)
            pd.read_csv(path)
        except Exception as exc:  # noqa: BLE001 - reported as a violation
            problems.append(f"{path.name} does not load: {type(exc).__name__}: {exc}")
    return problems


# ---- a run, its children, and when to kill it ----------------------------------------------------------
@dataclass
class Run:
    """``run_all.py --profile <profile>`` into ``out``, in a session of its own (so that every
    descendant can be found)."""

    out: Path
    log: Path
    profile: str
    proc: subprocess.Popen = field(init=False)
    start: float = field(default_factory=time.perf_counter)

    def __post_init__(self) -> None:
        only = [arg for name in DRILLED for arg in ("--only", name)]
        with open(self.log, "w") as log:
            self.proc = subprocess.Popen([sys.executable, str(RUN_ALL), "--profile", self.profile, "--out",
                                          str(self.out), *only], cwd=ROOT, stdin=subprocess.DEVNULL,
                                         stdout=log, stderr=log, start_new_session=True)

    def children(self) -> list[psutil.Process]:
        try:
            return psutil.Process(self.proc.pid).children(recursive=True)
        except psutil.NoSuchProcess:
            return []

    def session(self) -> list[psutil.Process]:
        """Every live process of the run's session but the run itself."""
        found = []
        for p in psutil.process_iter():
            try:
                if p.pid != self.proc.pid and os.getsid(p.pid) == self.proc.pid and _alive(p):
                    found.append(p)
            except (OSError, psutil.Error):
                continue
        return found

    def wait(self) -> int:
        return self.proc.wait(timeout=RUN_DEADLINE_S)


def _alive(p: psutil.Process) -> bool:
    try:
        return p.is_running() and p.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def _cmdline(p: psutil.Process) -> str:
    try:
        return " ".join(p.cmdline())
    except psutil.Error:
        return ""


def _probe_alive(kids: list[psutil.Process]) -> bool:
    return any(PROBE in _cmdline(k) for k in kids)


def _worker_alive(run: Run, kids: list[psutil.Process]) -> bool:
    """A forked trial worker: a child with its parent's command line."""
    parent = " ".join(run.proc.args)  # type: ignore[arg-type]
    return any(_cmdline(k) == parent for k in kids)


Ready = Callable[[Run, list[psutil.Process], dict[str, int]], bool]  # (run, its children, reference rows)


def _early_timing(run: Run, kids: list[psutil.Process], ref: dict[str, int]) -> bool:
    return rows_so_far(run.out, "scalar_gradient") >= 2 and _worker_alive(run, kids)


def _memory_probe(run: Run, kids: list[psutil.Process], ref: dict[str, int]) -> bool:
    return _probe_alive(kids) and rows_so_far(run.out, "checkpointing") == 0  # memory runs before it


def _mid_checkpointing(run: Run, kids: list[psutil.Process], ref: dict[str, int]) -> bool:
    return rows_so_far(run.out, "checkpointing") >= ref["checkpointing"] // 2 and bool(kids)


@dataclass(frozen=True)
class KillPoint:
    name: str
    when: str
    ready: Ready


KILL_POINTS = [
    KillPoint("timing", "scalar_gradient has 2 rows and a trial worker runs", _early_timing),
    KillPoint("memory", "a memory_probe child of the memory experiment runs", _memory_probe),
    KillPoint("later", "checkpointing has half its rows and a child runs", _mid_checkpointing),
]


@dataclass
class Kill:
    """What one kill found."""

    point: KillPoint
    children: int = 0    # descendants seen at the kill
    left: int = 0        # of them (and of its session), still alive GONE_DEADLINE_S later
    keys: set[Key] = field(default_factory=set)  # trial keys on disk after the kill
    duplicates: int = 0
    torn: list[str] = field(default_factory=list)
    unreadable: list[str] = field(default_factory=list)


def kill_at(run: Run, point: KillPoint, ref_rows: dict[str, int]) -> Kill | str:
    """SIGKILL ``run`` once ``point`` is reached; what was found, or why the point was never reached."""
    end = time.monotonic() + RUN_DEADLINE_S
    while time.monotonic() < end:
        if run.proc.poll() is not None:
            return f"the run ended (exit {run.proc.returncode}) before kill point {point.name!r}"
        kids = run.children()
        if point.ready(run, kids, ref_rows):
            os.kill(run.proc.pid, signal.SIGKILL)
            run.wait()
            return _after_kill(run, point, kids)
        time.sleep(POLL_S)
    return f"kill point {point.name!r} not reached within {RUN_DEADLINE_S:g} s"


def _after_kill(run: Run, point: KillPoint, kids: list[psutil.Process]) -> Kill:
    suspects = {p.pid: p for p in kids + run.session()}
    end = time.monotonic() + GONE_DEADLINE_S
    while any(_alive(p) for p in suspects.values()) and time.monotonic() < end:
        time.sleep(0.1)
    left = [p for p in suspects.values() if _alive(p)]
    for p in left:  # a violation: reported, and cleaned up so the drill can go on
        p.kill()
    disk = read_disk(run.out)
    return Kill(point, len(kids), len(left), disk.keys, len(disk.duplicates), disk.torn,
                disk.unreadable)


def finish(run: Run, what: str, violations: list[str]) -> float:
    """Wait for a run that must complete by itself; its wall time."""
    code = run.wait()
    log = run.log.read_text(errors="replace")
    if code not in (0, 1) or "Traceback" in log or "wrote " not in log:
        violations.append(f"{what} did not complete cleanly (exit {code}); see {run.log}")
    return time.perf_counter() - run.start


# ---- the drill -----------------------------------------------------------------------------------------
def drill(out: Path, profile: str = "tiny") -> int:
    ref_dir, drilled, logs = out / "reference", out / "drilled", out / "logs"
    if ref_dir.exists() or drilled.exists():
        print(f"fault_drill: error: {out} already holds a drill; choose a fresh --out", file=sys.stderr)
        return 2
    logs.mkdir(parents=True, exist_ok=True)
    violations: list[str] = []
    _say(f"profile {profile}, experiments: {', '.join(DRILLED)} (left out: {', '.join(LEFT_OUT)})")
    seconds = finish(Run(ref_dir, logs / "reference.log", profile), "the reference run", violations)
    reference = read_disk(ref_dir)
    ref_rows = {name: len(df) for name, df in reference.lines.items()}
    _say(f"reference run: {len(reference.keys)} trial rows in {seconds:.0f} s")

    kills: list[Kill] = []
    for i, point in enumerate(KILL_POINTS, 1):
        run = Run(drilled, logs / f"drilled-{i}-{point.name}.log", profile)
        found = kill_at(run, point, ref_rows)
        if isinstance(found, str):
            violations.append(found)
            break
        kills.append(found)
        _say(f"killed at {point.name} ({point.when}) after {time.perf_counter() - run.start:.1f} s")
    seconds = finish(Run(drilled, logs / "drilled-final.log", profile), "the final rerun", violations)
    _say(f"final rerun: {seconds:.0f} s")

    final = read_disk(drilled)
    rejected = rejected_entries(drilled)
    torn_rejected = [why for why in rejected if why.startswith("torn last line")]
    violations += _judge(kills, final, reference, rejected, torn_rejected)
    violations += load_problems(ref_dir) + load_problems(drilled)
    if reference.duplicates:
        violations.append(f"the reference run recorded {len(reference.duplicates)} trials twice")
    _table(kills, final, reference, torn_rejected)
    for v in violations:
        print(f"VIOLATION: {v}")
    print("fault drill: " + ("FAILED" if violations else "passed"))
    return 1 if violations else 0


def _judge(kills: list[Kill], final: Disk, reference: Disk, rejected: list[str],
           torn_rejected: list[str]) -> list[str]:
    found = []
    for k in kills:
        if k.left:
            found.append(f"{k.left} process(es) of the run killed at {k.point.name} outlived it")
        if k.unreadable:
            found.append(f"after the {k.point.name} kill, lines other than the last are damaged: "
                         f"{k.unreadable}")
        if k.keys - final.keys:
            found.append(f"{len(k.keys - final.keys)} row(s) on disk at the {k.point.name} kill were lost")
    if final.duplicates:
        found.append(f"trials recorded twice: {final.duplicates[:3]}")
    if final.keys != reference.keys:
        found.append(f"trial keys differ from the reference run: {len(final.keys - reference.keys)} "
                     f"extra, {len(reference.keys - final.keys)} missing")
    others = [why for why in rejected if why not in torn_rejected]
    if others:
        found.append(f"{len(others)} rejected line(s) that are not torn last lines: {others[:3]}")
    if final.torn or final.unreadable:
        found.append(f"damaged CSVs after the final rerun: {final.torn + final.unreadable}")
    return found


def _table(kills: list[Kill], final: Disk, reference: Disk, torn_rejected: list[str]) -> None:
    """One line per kill (rows on disk just after it, and how many of them the end still has),
    then the final rerun and the reference run."""
    row = "{:<10} {:>8} {:>12} {:>12} {:>12} {:>10} {:>10}".format
    print(row("point", "children", "children", "rows on disk", "of them kept", "duplicates", "torn"))
    print(row("", "at kill", "left after", "", "at the end", "", "lines"))
    for k in kills:
        print(row(k.point.name, k.children, k.left, len(k.keys), len(k.keys & final.keys), k.duplicates,
                  len(k.torn)))
    print(row("final", "-", "-", len(final.keys), "-", len(final.duplicates), len(torn_rejected)))
    print(row("reference", "-", "-", len(reference.keys), "-", len(reference.duplicates), "-"))
    same = "equal" if final.keys == reference.keys else "DIFFERENT"
    torn_files = sorted({name for k in kills for name in k.torn})
    print(f"trial keys of the final rerun and the reference run: {same}; torn last lines set aside "
          f"in .rejected: {len(torn_rejected)}" + (f" ({', '.join(torn_files)})" if torn_files else ""))


def _say(message: str) -> None:
    print(f"fault_drill: {message}", file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, required=True, help="a fresh folder for both runs and their logs")
    ap.add_argument("--profile", choices=("tiny", "quick"), default="tiny",
                    help="run_all's profile (quick takes much longer)")
    args = ap.parse_args(argv)
    return drill(args.out.resolve(), args.profile)


if __name__ == "__main__":
    sys.exit(main())
