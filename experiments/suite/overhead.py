"""``overhead``: what one taped operation costs, in time and in bytes, against the call it wraps.

The per-operation regime (Speelpenning's product as a loop, the scalar chain of ``memory``) is
set by this cost, not by arithmetic. Each kind is a loop of k identical operations:

* ``loop``: the empty loop (``for i in range(k): pass``), bare only: the loop's own cost per step;
* ``step``: ``p = p * x[i]``, Speelpenning's element: one indexing of a float64 array and one
  multiply, two tape nodes, every one on the path to the output (a node off that path would be
  skipped by the sweep, so its cost would not show);
* ``multiply``: ``p = p * y`` on numpy float64 scalars (Speelpenning's multiply alone; both traced);
* ``tanh``: ``p = np.tanh(p)`` on a Python float (the scalar chain of ``memory``);
* ``small_array``: ``p = p * y`` on float64 arrays of ``SMALL`` entries.

**Time** (one trial per kind and k; all methods interleaved, ``experiments.timing``): ``f`` the
bare loop on plain values, ``record`` the nominal pass alone (the tape is recorded, nothing
swept), ``reverse`` the whole gradient (recording and reverse sweep), ``forward`` one JVP (one
tangent direction). Two or more loop lengths per kind: the cost per operation is the slope of time
in k (``experiments.analysis.overhead_times``), free of the per-call costs.

**Bytes** (``memory_probe``, a fresh subprocess per trial): the nominal pass of the ``tanh`` and
``multiply`` loops with the tape held: peak RSS above baseline (``peak_rss_delta``), the tape's
nodes (``ops``), its residual bytes (``tape_bytes``, ``Tape.nbytes``: the floats its rules read)
and, in ``value``, the bytes Python allocated for the held tape as counted by ``tracemalloc``
(node tuples, edge lists, shapes, the floats: the Python objects). Bytes per node: slopes in k.
"""

from __future__ import annotations

import gc
import tracemalloc
from collections.abc import Callable
from typing import Any

import numpy as np

import modes
from modes.api import _record

from ..memory_probe import ProbeTarget
from ..problems import rel_err
from ..runner import Context, Extras, Fns, Method, memory_trial, timing_trial
from .memory import exact_gradient

NAME = "overhead"
TITLE = "Per-operation overhead of the tape and of dual numbers"
KINDS = ("loop", "step", "multiply", "tanh", "small_array")
MEMORY_KINDS = ("tanh", "multiply")
SMALL = 10
TIMED = ("record", "reverse", "forward")


def grid(profile: str) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """(loop lengths of the timing trials, loop lengths of the memory trials) for a profile."""
    if profile == "tiny":
        return (30, 300), (1000, 10_000)
    if profile == "quick":
        return (300, 3000), (3000, 30_000)
    return (1000, 3000, 10_000), (3000, 30_000, 100_000)


def size(kind: str) -> int:
    """Entries per operand: ``SMALL`` for ``small_array``, 1 for the scalar kinds."""
    return SMALL if kind == "small_array" else 1


def loop(kind: str, k: int) -> tuple[Callable[[Any], Any], np.ndarray | float]:
    """The loop of ``k`` operations of ``kind`` as f(x) -> scalar, and its input."""
    if kind == "loop":
        def f(x: Any) -> Any:
            for _ in range(k):
                pass
            return x
        return f, 0.5
    if kind == "step":
        def f(x: Any) -> Any:
            p = x[0]
            for i in range(k):
                p = p * x[i]
            return p
        return f, 1.0 + np.linspace(-0.5, 0.5, max(k, 1)) / max(k, 1)
    if kind == "multiply":
        def f(x: Any) -> Any:
            y, p = x[0], x[1]
            for _ in range(k):
                p = p * y
            return p
        return f, np.array([1.0, 0.5])
    if kind == "tanh":
        def f(x: Any) -> Any:
            for _ in range(k):
                x = np.tanh(x)
            return x
        return f, 0.5
    if kind == "small_array":
        def f(x: Any) -> Any:
            y, p = x[1], x[0]
            for _ in range(k):
                p = p * y
            return np.sum(p)
        return f, np.vstack([np.full(SMALL, 0.5), np.ones(SMALL)])
    raise KeyError(f"unknown overhead kind {kind!r}; expected one of {KINDS}")


def tangent(x: Any) -> Any:
    """The JVP's direction: ones in x's shape (1.0 for a float)."""
    return np.ones_like(x) if isinstance(x, np.ndarray) else 1.0


def exact(kind: str, k: int, x: Any) -> tuple[Any, float]:
    """(gradient, J @ tangent(x)) of ``loop(kind, k)`` at its input, by hand."""
    if kind == "step":  # x0 * prod_{i<k} x_i: x0 appears twice
        g = np.zeros_like(x)
        total = x[0] * np.prod(x[:k])
        g[:k] = total / x[:k]
        g[0] += total / x[0]
        return g, float(g.sum())
    if kind == "multiply":  # p0 * y^k with y = 1, p0 = 0.5
        g = np.array([k * x[1] * x[0] ** (k - 1), x[0] ** k])
        return g, float(g.sum())
    if kind == "tanh":
        g = exact_gradient(x, k)
        return g, float(g)
    if kind == "small_array":  # sum(p0 * y^k), y = 1
        g = np.vstack([x[1] ** k, k * x[0] * x[1] ** (k - 1)])
        return g, float(g.sum())
    raise KeyError(kind)


def run(ctx: Context) -> None:
    ks, mem_ks = grid(ctx.profile.name)
    with ctx.progress(NAME, len(KINDS) * len(ks) + len(MEMORY_KINDS) * len(mem_ks)) as bar:
        for kind in KINDS:
            for k in ks:
                bar.step(f"{kind} k={k}")
                methods = [Method("f", "plain", estimate_bytes=64.0 * k * size(kind))]
                if kind != "loop":
                    est = 2_000.0 * k * size(kind)
                    methods += [Method("record", "reverse", estimate_bytes=est),
                                Method("reverse", "reverse", estimate_bytes=est),
                                Method("forward", "forward", estimate_bytes=64.0 * k * size(kind))]
                timing_trial(ctx, NAME, {"problem": kind, "n": size(kind), "k": k}, methods,
                             _setup(kind, k), _check(kind, k))
        for kind in MEMORY_KINDS:
            for k in mem_ks:
                bar.step(f"{kind} k={k} tape bytes")
                memory_trial(ctx, NAME, {"problem": kind, "n": size(kind), "k": k},
                             Method("tape", "reverse", estimate_bytes=2_000.0 * k + 64 * 2**20),
                             f"{__name__}:target", {"kind": kind, "k": k})


def _setup(kind: str, k: int) -> Callable[[], tuple[Fns, Extras]]:
    def setup() -> tuple[Fns, Extras]:
        f, x = loop(kind, k)
        fns: Fns = {"f": lambda: f(x)}
        if kind == "loop":
            return fns, {}
        g = modes.grad(f)
        v = tangent(x)
        fns.update(record=lambda: _record(f, [x], (0,)), reverse=lambda: g(x),
                   forward=lambda: modes.jvp(f, (x,), (v,))[1])
        _, tape, _, _ = _record(f, [x], (0,))
        return fns, {"*": {"ops": len(tape)}, "record": {"tape_bytes": tape.nbytes},
                     "reverse": {"tape_bytes": tape.nbytes}}

    return setup


def _check(kind: str, k: int) -> Callable[[dict[str, Any]], dict[str, float]]:
    def check(outputs: dict[str, Any]) -> dict[str, float]:
        if kind == "loop":
            return {}
        _, x = loop(kind, k)
        grad, jv = exact(kind, k, x)
        errs: dict[str, float] = {}
        if "reverse" in outputs:
            errs["reverse"] = rel_err(outputs["reverse"], grad)
        if "forward" in outputs:
            errs["forward"] = rel_err(outputs["forward"], jv)
        if "record" in outputs:
            f, _ = loop(kind, k)
            out = outputs["record"][0]
            errs["record"] = rel_err(getattr(out, "value", out), f(x))
        return errs

    return check


def target(kind: str, k: int) -> ProbeTarget:
    """The probe target: the nominal pass of ``loop(kind, k)``, its tape held while measured.

    ``after`` reads the tape's nodes and residual bytes, then records it once more under
    ``tracemalloc`` (the Python objects' bytes while it is held, in ``value``).
    """
    f, x = loop(kind, k)
    held: dict[str, Any] = {}

    def compute() -> None:
        held["trace"] = _record(f, [x], (0,))

    def after() -> dict[str, Any]:
        _, tape, _, _ = held.pop("trace")
        res: dict[str, Any] = {"ops": len(tape), "tape_bytes": tape.nbytes, "check_err": 0.0}
        del tape
        gc.collect()
        tracemalloc.start()
        before = tracemalloc.get_traced_memory()[0]
        trace = _record(f, [x], (0,))
        res["value"] = float(tracemalloc.get_traced_memory()[0] - before)
        tracemalloc.stop()
        del trace
        return res

    _record(loop(kind, 10)[0], [loop(kind, 10)[1]], (0,))  # warm-up outside the measurement
    return ProbeTarget(compute, after, {})
