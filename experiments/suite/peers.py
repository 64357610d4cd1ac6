"""``peers``: modes beside autograd, JAX (with and without jit), PyTorch and CasADi, same machine, same run.

Every tool runs through ``experiments.peers`` (one adapter each, one interface; a tool that is not
installed is skipped with a one-line notice and a ``skipped`` row). Workloads:

* ``versions``: one row per tool: its version and how it runs (``note``), and a check of every
  interface call (value, gradient, JVP, both Jacobians, checkpointing) against ``modes`` on a small
  input (``check_err``);
* ``talk``: V = x*y + (x+y)*z on Python floats: time per gradient, every tool timed interleaved;
* ``rosenbrock``: the gradient across n; ratio gradient-time / plain-numpy-f-time, paired;
* ``tanh_affine``: the full Jacobian of tanh(A x) over an (n, m) grid, forward and reverse;
* ``chain``: peak RSS of one reverse gradient of sum(tanh^k(x)) against k, in fresh subprocesses
  (``casadi:reverse+build`` also counts building CasADi's graph, which the others build per call);
* ``tanh_map`` (``experiments.suite.peers_checkpointing``): checkpointing, where the tool has it.

Method names are ``"<tool>:<mode>"``. Each tool's result is checked before it is timed: ``modes``
against the exact derivative, every other tool against ``modes`` (``check_err``; a row above
``runner.CHECK_TOL`` fails and is not timed). Building a tool's callable (tracing, CasADi graphs)
is set-up, recorded in ``note``; jit compilation happens in the untimed warm-up call.
``python -m experiments.suite.peers [--profile tiny|quick|full] [--out DIR] [--blas-threads N]``
runs it alone (BLAS pinned to one thread unless told otherwise, as ``run_all``).
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .. import machine
from ..memory_probe import ProbeTarget
from ..peers import base, workloads
from ..peers.base import Peer, mismatch
from ..peers.trial import Entry, bound, setup_seconds, timed_group
from ..problems import make_vector, rosenbrock_grad
from ..runner import PROFILES, Budget, Context, Method, memory_trial, value_row
from . import peers_checkpointing
from .memory import exact_gradient

NAME = "peers"
TITLE = "modes and the other tools"
MODES = ("forward", "reverse")


@dataclass(frozen=True)
class Grid:
    """The sizes of one profile."""

    rosenbrock: tuple[int, ...]
    jacobian: tuple[tuple[int, int], ...]   # (n, m)
    memory_n: int          # float64 n-vectors of 8 n >= 64 KiB are mmap'd (memory_probe.MALLOC_ENV)
    memory_k: tuple[int, ...]
    checkpoint: tuple[tuple[int, int], ...]  # (n, s)
    checkpoint_memory: bool
    mem_repeats: int       # fresh subprocesses per memory trial
    setup_budget_s: float  # CasADi graphs predicted to take longer to build are skipped
    casadi_nodes: float    # CasADi memory trials above n * k graph nodes are skipped
    casadi_build: bool = True  # also measure CasADi's memory with its graph build in the call


def _square(sizes: tuple[int, ...]) -> tuple[tuple[int, int], ...]:
    return tuple((n, m) for n in sizes for m in sizes)


GRIDS: dict[str, Grid] = {
    "tiny": Grid((10, 1000), ((16, 2), (2, 16)), 10_000, (10,), ((100, 150),), False, 1, 2.0, 1e6,
                 casadi_build=False),
    # quick: two chain lengths thirtyfold apart; checkpointing timed; its memory and CasADi's
    # memory with the graph build in --full only (fresh subprocesses that import every tool cost
    # 3-4 s each on 2 loaded cores)
    "quick": Grid((10, 1000, 100_000, 1_000_000), ((4, 4), (4, 512), (64, 64), (512, 4), (512, 512)),
                  10_000, (10, 300),
                  ((3000, 300),), False, 1, 5.0, 2e6, casadi_build=False),
    "full": Grid((10, 30, 100, 300, 1000, 3000, 10_000, 30_000, 100_000, 300_000, 1_000_000),
                 _square((1, 4, 16, 64, 256, 1024)), 10_000, (1, 10, 100, 300, 1000, 3000),
                 ((10_000, 1000), (10_000, 3000)), True, 3, 120.0, 2e7),
}


# ---- workloads ---------------------------------------------------------------------------------------------
def _versions(ctx: Context, bar: Any) -> None:
    for name in base.REGISTRY:
        bar.step(f"{name} version and checks")
        value_row(ctx, NAME, {"problem": "versions"}, Method(name, "info"),
                  lambda name=name: _describe(name))


def _describe(name: str) -> dict[str, Any]:
    reason = base.unavailable_reason(name)
    if reason is not None:
        return {"status": "skipped", "error": reason}
    p = base.get(name)
    errs = interface_errors(p)
    worst = max(errs.values())
    out: dict[str, Any] = {"note": f"{p.tool} {p.version()}; {p.details()}", "check_err": worst}
    bad = [k for k, v in errs.items() if not v <= 1e-10]
    if bad:
        out.update(status="failed", error="disagrees with modes: " + ", ".join(
            f"{k} ({errs[k]:.3g})" for k in bad))
    return out


def interface_errors(p: Peer) -> dict[str, float]:
    """Every interface call of ``p`` against ``modes`` on small inputs: relative error per call."""
    ref = base.get("modes")
    out: dict[str, float] = {}
    cases = [workloads.talk(), workloads.rosenbrock(7), workloads.chain(5, 3)]
    for w in cases:
        out[f"{w.name} value"] = mismatch(p.flat(p.value(w)(*p.inputs(w))),
                                          ref.flat(ref.value(w)(*w.args)))
        out[f"{w.name} gradient"] = mismatch(p.flat(p.gradient(w)(*p.inputs(w))),
                                             ref.flat(ref.gradient(w)(*w.args)))
    w = workloads.tanh_affine(5, 3)
    v = np.linspace(0.5, 1.5, 5)
    (x,) = p.inputs(w)
    out["jvp"] = mismatch(p.flat(p.jvp(w)(x, p.ns.asarray(v))), ref.flat(ref.jvp(w)(w.args[0], v)))
    for mode in MODES:
        out[f"{mode} jacobian"] = mismatch(p.flat(p.jacobian(w, mode)(x)),
                                           ref.flat(ref.jacobian(w, "reverse")(w.args[0])))
    if p.has_checkpoint:
        plain, blocks = workloads.tanh_map(8, 150), workloads.tanh_map(8, 150, blocks=True)
        out["checkpoint"] = mismatch(p.flat(p.gradient(blocks)(*p.inputs(blocks))),
                                     ref.flat(ref.gradient(plain)(*plain.args)))
    return out


def _talk(ctx: Context, peers: list[Peer]) -> None:
    w = workloads.talk()
    x, y, z = w.args
    exact = np.array([y + z, x + z, x + y])
    modes_peer = base.get("modes")
    entries = []
    for p in peers:
        entries.append(Entry(f"{p.name}:reverse", p, lambda p=p: bound(p.gradient(w), p.inputs(w))))
        if p.name == "modes":
            entries.append(Entry("modes:forward", p, lambda p=p: bound(p.forward_gradient(w), w.args)))
    timed_group(ctx, NAME, {"problem": "talk", "n": 3, "m": 1}, w, entries, exact,
                lambda: modes_peer.flat(modes_peer.gradient(w)(*w.args)))


MIN_SETUP_S = 0.05  # CasADi build times below this are overhead, not growth: not extrapolated


def _observe_setup(setup: Budget, key: Any, size: float, row: dict[str, Any]) -> None:
    seconds = setup_seconds(row) if row.get("status") == "ok" else None
    if seconds is not None and seconds >= MIN_SETUP_S:
        setup.observe(key, size, seconds)


def _casadi_skip(setup: Budget, key: Any, size: float, budget_s: float) -> str | None:
    t = setup.predict(key, size)
    if t is not None and t > budget_s:
        return (f"CasADi SX graph build predicted {t:.3g} s (from size {setup.seen[key][0]:g}, linear) "
                f"exceeds this profile's set-up budget of {budget_s:g} s")
    return None


def _rosenbrock(ctx: Context, peers: list[Peer], grid: Grid, bar: Any) -> None:
    calls = Budget(1.2)
    setup = Budget(1.0)
    modes_peer = base.get("modes")
    for n in grid.rosenbrock:
        bar.step(f"rosenbrock n={n}")
        w = workloads.rosenbrock(n)
        entries = []
        for p in peers:
            method = f"{p.name}:reverse"
            skip = calls.over(method, n, math.inf)  # only after a failure: sizes are modest
            est = 40.0 * 8 * n
            if p.name == "casadi":
                skip = skip or _casadi_skip(setup, "rosenbrock", n, grid.setup_budget_s)
                est = 2500.0 * n
            entries.append(Entry(method, p, lambda p=p, w=w: bound(p.gradient(w), p.inputs(w)),
                                 est, skip))
        rows = timed_group(ctx, NAME, {"problem": "rosenbrock", "n": n, "m": 1}, w, entries,
                           rosenbrock_grad(w.args[0]),
                           lambda w=w: modes_peer.flat(modes_peer.gradient(w)(*w.args)))
        for row in rows:
            if row.get("method", "").endswith(":reverse"):
                calls.record(row["method"], n, row)
            if row.get("method") == "casadi:reverse":
                _observe_setup(setup, "rosenbrock", n, row)


def _jacobians(ctx: Context, peers: list[Peer], grid: Grid, bar: Any) -> None:
    calls = Budget(1.0)
    setup = Budget(1.0)
    modes_peer = base.get("modes")
    for n, m in grid.jacobian:
        bar.step(f"tanh_affine n={n} m={m}")
        w = workloads.tanh_affine(n, m)
        entries = []
        for p in peers:
            for mode in MODES:
                method = f"{p.name}:{mode}"
                skip = calls.over(method, max(n, m), ctx.profile.call_budget_s)
                est = 8.0 * 12 * n * m + 8.0 * 40 * (n + m)
                if p.name == "casadi":  # building takes ~ directions * graph size = dirs * n * m
                    work = (n if mode == "forward" else m) * n * m
                    skip = skip or _casadi_skip(setup, mode, work, grid.setup_budget_s)
                    est += 600.0 * n * m
                entries.append(Entry(method, p, lambda p=p, w=w, mode=mode: bound(
                    p.jacobian(w, mode), p.inputs(w)), est, skip))
        exact = make_vector("tanh_affine", n, m).jac(w.args[0])
        rows = timed_group(ctx, NAME, {"problem": "tanh_affine", "n": n, "m": m}, w, entries, exact,
                           lambda w=w: modes_peer.flat(modes_peer.jacobian(w, "reverse")(*w.args)))
        for row in rows:
            method = str(row.get("method"))
            if ":" in method:
                calls.record(method, max(n, m), row)
            if method.startswith("casadi:"):
                mode = method.split(":")[1]
                _observe_setup(setup, mode, (n if mode == "forward" else m) * n * m, row)


# ---- memory ------------------------------------------------------------------------------------------------
def memory_target(peer: str, n: int, k: int, build: bool = False) -> ProbeTarget:
    """Probe target (runs in the trial subprocess): one reverse gradient of ``workloads.chain(n, k)``.

    ``build``: the measured call also builds the tool's callable (CasADi's graph and its reverse
    Function), as a tape-based tool does in every call. Checked in ``after``: ``modes`` against the
    exact gradient, the other tools against ``modes``.
    """
    p = base.get(peer)
    w = workloads.chain(n, k)
    x = w.args[0]

    def reference() -> np.ndarray:
        if peer == "modes":
            return exact_gradient(x, k)
        m = base.get("modes")
        return m.flat(m.gradient(w)(x))

    if not build:
        return p.memory_target(w, reference)
    args = p.inputs(w)
    small = workloads.chain(n, 1)
    p.flat(p.gradient(small)(*p.inputs(small)))  # warm-up on a one-step chain
    out: dict[str, Any] = {}

    def compute() -> None:
        out["d"] = p.gradient(w)(*args)

    def after() -> dict[str, Any]:
        return {"check_err": mismatch(p.flat(out["d"]), reference())}

    return ProbeTarget(compute, after)


def memory_estimate(peer: str, n: int, k: int, build: bool) -> float:
    """Bytes for the safety check: a few n-vectors per step, CasADi ~300 B per graph node."""
    per_step = 3 * 8.0 * n + 2000.0
    graph = 300.0 * n * (k + 1) if peer == "casadi" else 0.0
    return per_step * (k + 1) + graph + 64 * 2**20


def _memory(ctx: Context, peers: list[Peer], grid: Grid, bar: Any) -> None:
    mctx = dataclasses.replace(ctx, profile=dataclasses.replace(ctx.profile, mem_repeats=grid.mem_repeats))
    n = grid.memory_n
    for k in grid.memory_k:
        for p in peers:
            for build in ((False, True) if p.name == "casadi" and grid.casadi_build else (False,)):
                method = f"{p.name}:reverse+build" if build else f"{p.name}:reverse"
                bar.step(f"chain n={n} k={k} {method} memory")
                skip = None
                if p.name == "casadi" and n * k > grid.casadi_nodes:
                    skip = (f"CasADi SX graph of n*k = {n * k:g} nodes exceeds this profile's limit of "
                            f"{grid.casadi_nodes:g}")
                memory_trial(mctx, NAME, {"problem": "chain", "n": n, "k": k, "ops": k + 1},
                             Method(method, "reverse", memory_estimate(p.name, n, k, build), skip),
                             "experiments.suite.peers:memory_target",
                             {"peer": p.name, "n": n, "k": k, "build": build})


# ---- the experiment -------------------------------------------------------------------------------------------
def steps(grid: Grid, peers: list[Peer]) -> int:
    """Progress steps of one run."""
    mem = sum(2 if p.name == "casadi" and grid.casadi_build else 1 for p in peers) * len(grid.memory_k)
    return (len(base.REGISTRY) + 1 + len(grid.rosenbrock) + len(grid.jacobian) + mem
            + peers_checkpointing.steps(grid.checkpoint, grid.checkpoint_memory, peers))


def run(ctx: Context) -> None:
    grid = GRIDS[ctx.profile.name]
    peers = base.available(stream=ctx.stream)
    with ctx.progress(NAME, steps(grid, peers)) as bar:
        _versions(ctx, bar)
        bar.step("talk example")
        _talk(ctx, peers)
        _rosenbrock(ctx, peers, grid, bar)
        _jacobians(ctx, peers, grid, bar)
        _memory(ctx, peers, grid, bar)
        mctx = dataclasses.replace(ctx, profile=dataclasses.replace(ctx.profile,
                                                                    mem_repeats=grid.mem_repeats))
        peers_checkpointing.run(mctx, NAME, peers, grid.checkpoint, grid.checkpoint_memory, bar)


def main(argv: list[str] | None = None) -> int:
    """Run this experiment alone into ``--out`` and write its figures (as ``run_all`` would)."""
    ap = argparse.ArgumentParser(description="modes beside the other AD tools")
    ap.add_argument("--profile", choices=sorted(PROFILES), default="quick")
    ap.add_argument("--out", type=Path, default=Path(__file__).resolve().parents[2] / "results")
    ap.add_argument("--force", action="store_true")
    ap.add_argument("--blas-threads", default=machine.DEFAULT_BLAS_THREADS, metavar="N|default",
                    help="BLAS/OpenMP threads (default 1, as run_all)")
    args = ap.parse_args(argv)
    try:
        machine.pin_blas_threads(machine.check_blas_threads(args.blas_threads))
    except ValueError as exc:
        ap.error(f"argument --blas-threads: {exc}")
    out = args.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    info = machine.describe()
    machine.record(out, info)
    ctx = Context(out, PROFILES[args.profile], info, force=args.force)
    t0 = time.perf_counter()
    run(ctx)
    from . import peers_report

    peers_report.section(out)
    print(f"peers: {time.perf_counter() - t0:.1f} s; {ctx.failures} failed trial(s); wrote "
          f"{out / (NAME + '.csv')}", file=sys.stderr)
    return 1 if ctx.failures else 0


if __name__ == "__main__":
    sys.exit(main())
