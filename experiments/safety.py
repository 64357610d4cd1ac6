"""Safety: skip trials that would not fit in memory, and bound every trial in time.

* ``memory_verdict(estimate, share)`` compares a trial's estimated bytes with ``share`` of the memory
  available now (``psutil.virtual_memory().available``); it returns a skip reason or ``None``.
* ``time_limit(seconds)`` raises ``TrialTimeout`` in the main thread once ``seconds`` have passed
  (SIGALRM; elsewhere it does nothing). The alarm runs between bytecodes only, so it waits for a long
  C call to return: ``runner`` runs trials in killable workers for a limit that holds there too.
  Subprocess trials use ``subprocess`` timeouts instead.
* ``check_seconds(seconds)`` validates a time limit: a positive number of seconds, at most
  ``MAX_SECONDS`` (a week; far longer would overflow the timers of ``setitimer`` and ``select``).
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import psutil

DEFAULT_MEMORY_SHARE = 0.5
MAX_SECONDS = 7 * 24 * 3600.0  # the longest time limit: a week


class TrialTimeout(BaseException):
    """A trial ran past its time limit (a BaseException, so ``except Exception`` cannot swallow it)."""


def available_bytes() -> int:
    """Memory the system can give without swapping, now (``psutil.virtual_memory().available``)."""
    return int(psutil.virtual_memory().available)


def memory_cap(share: float = DEFAULT_MEMORY_SHARE) -> int:
    """The largest estimate a trial may have: ``share`` of the available memory."""
    if not 0 < share <= 1:
        raise ValueError(f"memory share must be in (0, 1], got {share}")
    return int(share * available_bytes())


def memory_verdict(estimate_bytes: float, share: float = DEFAULT_MEMORY_SHARE,
                   cap: int | None = None) -> str | None:
    """``None`` if the trial fits, else why it is skipped. ``cap`` overrides the computed cap."""
    cap = memory_cap(share) if cap is None else cap
    if estimate_bytes > cap:
        return (f"estimated {estimate_bytes / 2**20:.0f} MiB exceeds the cap of {cap / 2**20:.0f} MiB "
                f"({share:.0%} of available memory)")
    return None


def check_seconds(seconds: float) -> float:
    """``seconds`` as a float if it is in (0, ``MAX_SECONDS``], else ``ValueError`` saying so."""
    value = float(seconds)
    if not 0 < value <= MAX_SECONDS:  # also false for nan
        raise ValueError(f"a time limit must be a positive number of seconds, at most {MAX_SECONDS:g} "
                         f"(a week), got {seconds!r}")
    return value


@contextmanager
def time_limit(seconds: float | None) -> Iterator[None]:
    """Raise ``TrialTimeout`` in the body after ``seconds`` (no limit if ``None`` or off-main-thread).

    ``seconds`` must be positive and finite (``check_seconds``): 0 is an error, not "no limit".
    """
    if seconds is not None:
        seconds = check_seconds(seconds)
    if seconds is None or threading.current_thread() is not threading.main_thread():
        yield
        return

    def _expire(signum: int, frame: object) -> None:
        raise TrialTimeout(f"time limit of {seconds:g} s exceeded")

    old = signal.signal(signal.SIGALRM, _expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)
