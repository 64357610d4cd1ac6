"""Children never outlive the run: probe subprocesses and trial workers die with their parent.

Each test starts a parent in a subprocess, waits until it has a child, signals the parent
(SIGKILL, SIGTERM or SIGINT) and checks that no child is left. Deadlines are generous: nothing here
asserts a tight time.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import psutil
import pytest

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "experiments" / "run_all.py"
DEADLINE_S = 60.0
SIGNALS = [signal.SIGKILL, signal.SIGTERM, signal.SIGINT]

# A parent that runs one long memory probe (a subprocess) the way run_all does.
PROBE_PARENT = """
import sys
from experiments import lifeline, memory_probe
with lifeline.interruptible():
    try:
        memory_probe.run_probe("experiments.memory_probe:allocation", {"nbytes": 8, "hold_s": 120.0}, 300.0)
    except lifeline.Interrupted as exc:
        print("stopped by", exc.signame, file=sys.stderr)
        sys.exit(128 + exc.signum)
"""

# A parent whose trial is stuck in a C call the alarm cannot interrupt, in a forked worker.
WORKER_PARENT = """
import ctypes, signal, sys, tempfile
from pathlib import Path
from experiments import lifeline
from experiments.runner import PROFILES, Context, Method, timing_trial

def stuck():
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGALRM})
    ctypes.CDLL(None).sleep(120)

ctx = Context(Path(tempfile.mkdtemp()), PROFILES["tiny"], {"machine_id": "m"}, isolate=True)
with lifeline.interruptible():
    try:
        timing_trial(ctx, "t", {"problem": "p"}, [Method("f", "plain")], lambda: ({"f": stuck}, {}))
    except lifeline.Interrupted as exc:
        print("stopped by", exc.signame, file=sys.stderr)
        sys.exit(128 + exc.signum)
"""


# A parent whose child follows it with the polling thread (the fallback where prctl is missing).
WATCHER_PARENT = """
import subprocess, sys
child = (\"from experiments import lifeline; lifeline._arm_parent_death_signal = lambda: False; \"
         \"assert lifeline.die_with_parent() == 'watcher'; import time; time.sleep(120)\")
subprocess.run([sys.executable, "-c", child])
"""


def _start(code: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", textwrap.dedent(code)], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _wait_for_child(parent: subprocess.Popen, marker: str | None = None) -> list[psutil.Process]:
    """The parent's descendants once one exists (whose command line contains ``marker``, if given)."""
    proc = psutil.Process(parent.pid)
    end = time.monotonic() + DEADLINE_S
    while time.monotonic() < end:
        assert parent.poll() is None, parent.communicate()
        kids = proc.children(recursive=True)
        if any(marker is None or marker in " ".join(_cmdline(k)) for k in kids):
            return kids
        time.sleep(0.05)
    raise AssertionError(f"no child of the parent appeared within {DEADLINE_S} s")


def _cmdline(p: psutil.Process) -> list[str]:
    try:
        return p.cmdline()
    except psutil.Error:
        return []


def _alive(p: psutil.Process) -> bool:
    try:
        return p.is_running() and p.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def _assert_all_gone(kids: list[psutil.Process]) -> None:
    end = time.monotonic() + DEADLINE_S
    while any(_alive(k) for k in kids) and time.monotonic() < end:
        time.sleep(0.1)
    left = [k for k in kids if _alive(k)]
    for k in left:  # do not leave them to the next test
        k.kill()
    assert not left, f"children outlived their parent: {[(k.pid, _cmdline(k)) for k in left]}"


def _signal_and_check(parent: subprocess.Popen, kids: list[psutil.Process], sig: int) -> None:
    parent.send_signal(sig)
    parent.wait(timeout=DEADLINE_S)
    _assert_all_gone(kids)  # before reading: a surviving child would hold the output pipes open
    _, err = parent.communicate(timeout=DEADLINE_S)
    if sig == signal.SIGKILL:
        assert parent.returncode == -signal.SIGKILL
    else:
        assert parent.returncode == 128 + sig, err
        assert f"stopped by {signal.Signals(sig).name}" in err, err


@pytest.mark.parametrize("sig", SIGNALS, ids=lambda s: signal.Signals(s).name)
def test_probe_subprocess_dies_with_parent(sig: int) -> None:
    parent = _start(PROBE_PARENT)
    kids = _wait_for_child(parent, "experiments.memory_probe")
    time.sleep(0.5)  # let the probe reach its measurement (past interpreter start-up)
    _signal_and_check(parent, kids, sig)


@pytest.mark.parametrize("sig", SIGNALS, ids=lambda s: signal.Signals(s).name)
def test_trial_worker_dies_with_parent(sig: int) -> None:
    parent = _start(WORKER_PARENT)
    kids = _wait_for_child(parent)
    time.sleep(0.5)  # the worker is inside its C call by now
    _signal_and_check(parent, kids, sig)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL], ids=lambda s: signal.Signals(s).name)
def test_run_all_stopped_during_memory_experiment(tmp_path: Path, sig: int) -> None:
    out = tmp_path / "res"
    parent = subprocess.Popen([sys.executable, str(SCRIPT), "--profile", "tiny", "--only", "memory",
                               "--out", str(out)], cwd=tmp_path, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)
    kids = _wait_for_child(parent, "experiments.memory_probe")
    _signal_and_check(parent, kids, sig)
    if (out / "memory.csv").exists():  # what was written is readable
        from experiments.store import load_csv

        df = load_csv(out / "memory.csv")
        assert set(df["status"]) <= {"ok", "failed", "timeout", "skipped"}


def test_watcher_thread_follows_parent_without_prctl() -> None:
    parent = _start(WATCHER_PARENT)
    kids = _wait_for_child(parent, "lifeline")
    time.sleep(1.0)  # the child's watcher is running by now
    _signal_and_check(parent, kids, signal.SIGKILL)
