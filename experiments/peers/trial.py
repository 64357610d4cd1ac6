"""Several tools' derivatives of one workload, timed together through ``runner.timing_trial``.

``timed_group`` times the workload's plain numpy f and one callable per ``Entry`` interleaved in
this process, so every ratio to f is paired round by round. Building each callable is timed as
set-up (``note``: ``"set-up 1.2 s"``, read back by ``setup_seconds``); a tool whose build fails gets
a failed row and the others run. Each result is checked before it is timed: ``modes`` against the
exact derivative, any other tool against ``modes``.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from .. import safety
from ..runner import Context, Extras, Fns, Method, timing_trial
from .base import Peer, mismatch
from .workloads import Workload


@dataclass
class Entry:
    """One tool's timed callable: ``make()`` builds it (set-up) and returns the zero-argument call.

    ``method`` is ``"<tool>:<what>"``; ``mode`` (the row's ``mode``) defaults to ``<what>``.
    """

    method: str
    peer: Peer
    make: Callable[[], Callable[[], Any]]
    estimate_bytes: float = 0.0
    skip: str | None = None
    mode: str | None = None


def bound(fn: Callable[..., Any], args: tuple[Any, ...]) -> Callable[[], Any]:
    """``fn`` with its arguments fixed: the zero-argument callable the timer calls."""
    return lambda: fn(*args)


def _failing(exc: Exception) -> Callable[[], Any]:
    def call() -> Any:
        raise exc
    return call


def setup_seconds(row: dict[str, Any]) -> float | None:
    """The set-up time recorded in a row's ``note``, if any."""
    found = re.search(r"set-up ([0-9.eE+-]+) s", str(row.get("note") or ""))
    return float(found.group(1)) if found else None


def timed_group(ctx: Context, experiment: str, config: dict[str, Any], w: Workload,
                entries: list[Entry], exact: np.ndarray | None,
                reference: Callable[[], np.ndarray]) -> list[dict[str, Any]]:
    """Time the plain numpy f of ``w`` and every entry interleaved; returns the rows.

    Checks: a ``modes`` entry against ``exact`` (``reference()`` when ``exact`` is None), every
    other tool against ``reference()`` (modes' result, computed once). An entry over the memory cap
    (``safety.memory_verdict``) is skipped before anything is built.
    """
    f = w.numpy_f()
    methods = [Method("f", "plain", estimate_bytes=8.0 * 10 * w.n * w.m)]
    for e in entries:
        e.skip = e.skip or safety.memory_verdict(e.estimate_bytes, ctx.mem_share)
        methods.append(Method(e.method, e.mode or e.method.split(":")[1], e.estimate_bytes, e.skip))
    planned = [e for e in entries if e.skip is None]
    by_name = {e.method: e for e in entries}

    def setup() -> tuple[Fns, Extras]:
        fns: Fns = {"f": bound(f, w.args)}
        extras: Extras = {"*": {"ops": w.ops}}
        for e in planned:
            t0 = time.perf_counter()
            try:
                fns[e.method] = e.make()
            except Exception as exc:  # noqa: BLE001 - this tool's row fails, the others run
                fns[e.method] = _failing(exc)
            extras[e.method] = {"note": f"set-up {time.perf_counter() - t0:.3g} s"}
        return fns, extras

    cache: dict[str, np.ndarray] = {}

    def check(outputs: dict[str, Any]) -> dict[str, float]:
        errs = {}
        for name, out in outputs.items():
            if name == "f":
                continue
            e = by_name[name]
            if e.peer.name == "modes" and exact is not None:
                want = exact
            else:
                if "ref" not in cache:
                    cache["ref"] = reference()
                want = cache["ref"]
            errs[name] = mismatch(e.peer.flat(out), want)
        return errs

    return timing_trial(ctx, experiment, config, methods, setup, check)
