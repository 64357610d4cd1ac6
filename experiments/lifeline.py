"""Process lifetime: children never outlive the run, and the run stops cleanly on SIGTERM or SIGINT.

Child side: ``die_with_parent(parent_pid)``, called first thing in a child, arms the kernel's
parent-death signal (Linux ``prctl(PR_SET_PDEATHSIG, SIGKILL)``), so the child is killed whenever its
parent ends, even by SIGKILL. Elsewhere (or if ``prctl`` fails) a daemon thread polls the parent
every ``POLL_S`` seconds instead. Either way the parent is checked once after arming: if it died
before that, the child exits at once.

Parent side: inside ``interruptible()``, SIGTERM and SIGINT raise ``Interrupted`` where the run is,
so ``finally`` blocks kill the worker or probe of the current trial. Inside ``uninterrupted()``
(a row being written) the exception waits until the block ends: a row is written whole or not at all.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

PARENT_ENV = "MODES_HARNESS_PARENT_PID"  # set for probe subprocesses: whose death they must follow
PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>
POLL_S = 0.2
STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


def _arm_parent_death_signal() -> bool:
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return int(libc.prctl(PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)) == 0
    except (OSError, AttributeError):
        return False


def _watch(parent_pid: int) -> None:
    while os.getppid() == parent_pid:
        time.sleep(POLL_S)
    os.kill(os.getpid(), signal.SIGKILL)


def detach_forked_child(parent_pid: int) -> None:
    """First thing in a forked worker or probe: its own process group (a terminal's Ctrl-C reaches
    the run only), the default actions for SIGTERM/SIGINT, and death with ``parent_pid``."""
    os.setpgid(0, 0)
    for s in STOP_SIGNALS:
        signal.signal(s, signal.SIG_DFL)
    die_with_parent(parent_pid)


def die_with_parent(parent_pid: int | None = None) -> str:
    """End this process when ``parent_pid`` (default: the current parent) ends.

    Returns the mechanism, ``"pdeathsig"`` or ``"watcher"``. Exits at once (status 1) if the parent
    is already gone.
    """
    parent = os.getppid() if parent_pid is None else parent_pid
    how = "pdeathsig" if _arm_parent_death_signal() else "watcher"
    if how == "watcher":
        threading.Thread(target=_watch, args=(parent,), daemon=True, name="lifeline").start()
    if os.getppid() != parent:  # the parent died before the signal was armed: nobody would send it
        os._exit(1)
    return how


def parent_from_env() -> int | None:
    """The parent pid a probe subprocess was given in ``PARENT_ENV`` (``None`` if unset)."""
    value = os.environ.get(PARENT_ENV)
    return int(value) if value else None


# ---- the parent: stopping on SIGTERM / SIGINT ----------------------------------------------------------
class Interrupted(BaseException):
    """SIGTERM or SIGINT reached the run (a BaseException: no ``except Exception`` swallows it)."""

    def __init__(self, signum: int) -> None:
        self.signum = signum
        self.signame = signal.Signals(signum).name
        super().__init__(f"stopped by {self.signame}")


_deferred = 0
_pending: int | None = None


def _on_signal(signum: int, frame: Any) -> None:
    global _pending
    if _deferred:
        _pending = signum
        return
    raise Interrupted(signum)


@contextmanager
def interruptible() -> Iterator[None]:
    """SIGTERM and SIGINT raise ``Interrupted`` in the body (main thread only); old handlers after."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    old = {s: signal.signal(s, _on_signal) for s in STOP_SIGNALS}
    try:
        yield
    finally:
        for s, handler in old.items():
            signal.signal(s, handler)


@contextmanager
def uninterrupted() -> Iterator[None]:
    """Hold back ``Interrupted`` until the body is done (it is raised at the end of the block)."""
    global _deferred, _pending
    _deferred += 1
    try:
        yield
    finally:
        _deferred -= 1
        if not _deferred and _pending is not None:
            signum, _pending = _pending, None
            raise Interrupted(signum)
