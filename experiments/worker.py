"""One call in a forked worker process the parent can kill: a time limit that holds inside C calls.

``run_forked(body, kill_after_s)`` forks. The child calls ``body(send)`` and sends its return value
back through a pipe (pickled); ``send(obj)`` passes a partial result on the way, and the parent keeps
the latest. A child still running ``kill_after_s`` after the fork is killed (SIGKILL): the parent
returns with ``killed`` set and the last partial result. A child that dies on its own (a signal,
the out-of-memory killer, an exit) gives ``crash``.

Forking means the child inherits everything: closures need not pickle, and a trial's set-up made
in the parent is there already. The child runs in its own process group (a terminal's Ctrl-C
reaches the parent only, which then kills it: ``lifeline.interruptible``) and dies with the parent
(``lifeline.die_with_parent``). It ends with ``os._exit``: no ``atexit`` handler or inherited buffer
of the parent runs twice.

Where fork is missing, or unsafe because a library whose thread pools do not survive a fork is
loaded (``FORK_UNSAFE``), ``body`` runs in this process instead and cannot be killed
(``Outcome.forked`` is False).
"""

from __future__ import annotations

import gc
import os
import pickle
import select
import signal
import struct
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from . import lifeline

FORK_UNSAFE = ("jax", "torch", "tensorflow")
_HEADER = struct.Struct("<Q")  # a message: its length, then the pickled ("partial" | "done" | "error", obj)


@dataclass
class Outcome:
    """What became of ``body``: exactly one of ``value`` (with ``done``), ``error``, ``killed``, ``crash``."""

    done: bool = False
    value: Any = None
    partial: Any = None
    error: str | None = None    # body raised (type and message)
    killed: bool = False        # still running at the deadline: killed
    crash: str | None = None    # the worker died by itself (how)
    seconds: float = 0.0        # from the fork to the end of the worker
    forked: bool = True


def can_fork() -> str | None:
    """``None`` if a worker can be forked here, else why not."""
    if not hasattr(os, "fork"):
        return "os.fork is not available on this platform"
    loaded = [m for m in FORK_UNSAFE if m in sys.modules]
    if loaded:
        return f"{', '.join(loaded)} is loaded (its thread pools do not survive a fork)"
    return None


def run_forked(body: Callable[[Callable[[Any], None]], Any], kill_after_s: float) -> Outcome:
    """Run ``body(send)`` in a forked worker, killed after ``kill_after_s`` (see the module docstring)."""
    if can_fork() is not None:
        return _run_here(body)
    for stream in (sys.stdout, sys.stderr):  # else the child would print the parent's buffered text again
        stream.flush()
    parent = os.getpid()
    r, w = os.pipe()
    start = time.perf_counter()
    # Frozen objects are left alone by the collector: the worker's collections do not write to (and
    # so copy) every page of the parent's heap.
    gc.freeze()
    pid = os.fork()
    if pid == 0:  # the worker
        os.close(r)
        _child(body, w, parent)
    gc.unfreeze()
    os.close(w)
    out = Outcome()
    status = None
    try:
        out, status = _collect(r, pid, start + kill_after_s)
    finally:
        os.close(r)
        if status is None:  # killed at the deadline, or the parent was interrupted meanwhile
            _kill(pid)
            _, status = os.waitpid(pid, 0)
    out.seconds = time.perf_counter() - start
    if not (out.done or out.error or out.killed):
        out.crash = _describe_exit(status)
    return out


def _run_here(body: Callable[[Callable[[Any], None]], Any]) -> Outcome:
    start = time.perf_counter()
    out = Outcome(forked=False)
    try:
        out.value, out.done = body(lambda obj: None), True
    except Exception as exc:  # noqa: BLE001 - reported like the worker's
        out.error = f"{type(exc).__name__}: {exc}"
    out.seconds = time.perf_counter() - start
    return out


def _child(body: Callable[[Callable[[Any], None]], Any], w: int, parent: int) -> None:
    code = 0
    try:
        lifeline.detach_forked_child(parent)
        value = body(lambda obj: _send(w, "partial", obj))
        _send(w, "done", value)
    except BaseException as exc:  # noqa: BLE001 - everything goes back to the parent
        code = 1
        try:
            _send(w, "error", f"{type(exc).__name__}: {exc}")
        except BaseException:  # noqa: BLE001 - the parent then reports an exit status of 1
            pass
    finally:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            os._exit(code)


def _send(w: int, kind: str, obj: Any) -> None:
    data = pickle.dumps((kind, obj), protocol=pickle.HIGHEST_PROTOCOL)
    frame = memoryview(_HEADER.pack(len(data)) + data)
    # a time-limit alarm in the middle of a message would leave half of it in the pipe: hold it back
    old = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGALRM})
    try:
        while frame:
            frame = frame[os.write(w, frame):]
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


def _collect(r: int, pid: int, deadline: float) -> tuple[Outcome, int | None]:
    """Read messages until the worker is done or the deadline; the exit status if it was reaped."""
    out = Outcome()
    buf = b""
    while True:
        left = deadline - time.perf_counter()
        if left <= 0:
            out.killed = True
            return out, None
        ready, _, _ = select.select([r], [], [], left)
        if not ready:
            continue
        chunk = os.read(r, 1 << 16)
        if chunk:
            buf += chunk
            buf = _parse(buf, out)
            if not (out.done or out.error):
                continue
        # the final message arrived or the pipe closed: the worker is exiting
        _, status = os.waitpid(pid, 0)
        return out, status


def _parse(buf: bytes, out: Outcome) -> bytes:
    while len(buf) >= _HEADER.size:
        (n,) = _HEADER.unpack_from(buf)
        if len(buf) < _HEADER.size + n:
            break
        kind, obj = pickle.loads(buf[_HEADER.size:_HEADER.size + n])
        buf = buf[_HEADER.size + n:]
        if kind == "partial":
            out.partial = obj
        elif kind == "done":
            out.done, out.value = True, obj
        else:
            out.error = obj
    return buf


def _kill(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def _describe_exit(status: int | None) -> str:
    if status is None:
        return "unknown exit"
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        name = signal.Signals(sig).name if sig in signal.Signals._value2member_map_ else str(sig)
        hint = " (the out-of-memory killer?)" if sig == signal.SIGKILL else ""
        return f"the worker process was killed by {name}{hint}"
    return f"the worker process exited with status {os.waitstatus_to_exitcode(status)} without a result"
