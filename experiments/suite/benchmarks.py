"""``benchmarks``: the ADBench / GradBench problems, derivative time / objective time in each mode.

For each problem of ``experiments.adbench`` at a few sizes (quick profile: the smallest, hand
tracking at 10 points, and of the nested problems saddle only), the
objective (``f``) and every derivative method of the problem (forward, reverse, and the
structure-exploiting ones: chunked forward / batched reverse for ht, per-observation blocks for
ba, forward-over-reverse for kmeans) are timed interleaved in one process, so each ratio is paired
round by round. Every derivative is checked against the reverse one before it is timed.

Nested problems (particle, saddle): ``f`` is one objective evaluation of the outer descent (which
already takes inner derivatives in the inner mode the problem name ends with, e.g. ``particle-r``)
and the methods are the outer derivative in each mode, named by the eval's variant (``fr``, ``rr``).
Their full descents from the eval's inputs are run once per variant (``agreement`` rows, full
profile only: the descents take minutes each on 2 cores): the four answers and their largest
difference (``check_err``). In every profile each nested cell checks its two outer modes against
each other before timing them.

Columns: ``problem``, ``n``/``m``/``k`` (the size, spelled out in ``note``), ``method`` (a method
name of the problem), ``mode`` (forward / reverse), the harness's timing and ratio columns,
``tape_bytes`` for reverse methods (``modes.memory.track()`` over one call).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

import modes
from experiments.adbench import ba, det, gd, gmm, ht, kmeans, llsq, lse, lstm, ode, particle, saddle

from ..runner import Budget, Context, Extras, Fns, Method, timing_trial, value_row

NAME = "benchmarks"
TITLE = "Standard benchmarks (ADBench / GradBench)"
AGREEMENT = ("saddle", "particle")  # full descents in the four variants (full profile)


@dataclass(frozen=True)
class Cell:
    """One problem at one size: ``make()`` -> (objective thunk, {method: derivative thunk})."""

    problem: str
    size: tuple[int, int, int]   # recorded as n, m, k
    note: str
    make: Callable[[], tuple[Callable[[], Any], dict[str, Callable[[], Any]]]]
    modes_of: dict[str, str]     # method -> "forward" / "reverse"
    estimate: dict[str, float]   # method -> estimated peak bytes (memory guard)
    track_tape: bool = True


def _plain(mod: Any, fn_name: str, raw: Any) -> tuple[Callable[[], Any], dict[str, Callable[[], Any]]]:
    """Thunks for a module's objective function ``FUNCTIONS[fn_name]`` and derivative methods."""
    obj = next(f for f in mod.FUNCTIONS.values() if not f.derivative)
    der = mod.FUNCTIONS[fn_name]
    inp = obj.prepare(raw)
    return (lambda: obj.run(inp, "none"),
            {m: (lambda m=m: der.run(inp, m)) for m in mod.METHODS})


def _modes(methods: tuple[str, ...]) -> dict[str, str]:
    return {m: ("forward" if m.startswith("forward") or m[0] == "f" else "reverse") for m in methods}


def _cell(problem: str, mod: Any, fn_name: str, raw_fn: Callable[[], Any], size: tuple[int, int, int],
          note: str, n_in: int, work: float) -> Cell:
    """A cell of a single-level problem: forward methods estimated at n_in directions x work bytes."""
    est = {m: (8.0 * work * (n_in if _modes(mod.METHODS)[m] == "forward" else 4)) for m in mod.METHODS}
    return Cell(problem, size, note, lambda: _plain(mod, fn_name, raw_fn()), _modes(mod.METHODS), est)


def _nested(problem: str, inner: str) -> Cell:
    """particle / saddle with the inner derivative in mode ``inner``: f and the two outer modes."""
    mode_letter = inner[0]
    variants = tuple(o + mode_letter for o in "fr")
    if problem == "particle":
        def make() -> tuple[Callable[[], Any], dict[str, Callable[[], Any]]]:
            return (lambda: particle.landing(0.0, inner),
                    {v: (lambda v=v: particle.outer_gradient(0.0, v)) for v in variants})
        note = "w=0: one landing (354 Euler steps, each with an inner gradient)"
    else:
        start = np.array([1.0, 1.0])

        def make() -> tuple[Callable[[], Any], dict[str, Callable[[], Any]]]:
            g = gd.gradient(inner)
            return (lambda: gd.maximum(g, lambda p2: saddle.f(start, p2), start),
                    {v: (lambda v=v: saddle.outer_gradient(start, v)) for v in variants})
        note = "start=(1,1): one inner argmax (gradient ascent)"
    return Cell(f"{problem}-{mode_letter}", (1, 1, 0), f"{note}; inner {inner}", make,
                {v: ("forward" if v[0] == "f" else "reverse") for v in variants},
                {v: 1e7 for v in variants}, track_tape=False)


def grid(profile: str) -> list[Cell]:
    """The cells of a profile (quick and tiny: the smallest size of each problem)."""
    small = profile != "full"

    def sizes(quick: list, full: list) -> list:
        return quick if small else full

    cells: list[Cell] = []
    for n in sizes([1000], [1000, 10_000, 100_000]):
        cells.append(_cell("lse", lse, "gradient", lambda n=n: lse.generate(n), (n, 1, 0), f"n={n}", n, 4 * n))
    for n, m in sizes([(256, 32)], [(256, 32), (4096, 128), (16392, 128)]):
        cells.append(_cell("llsq", llsq, "gradient", lambda n=n, m=m: llsq.generate(n, m), (n, m, 0),
                           f"n={n} points, m={m} coefficients", m, 4 * n * m))
    for ell in sizes([7], [5, 7, 9, 11]):
        cells.append(_cell("det", det, "gradient", lambda ell=ell: det.generate(ell), (ell, 1, 0),
                           f"ell={ell}", ell * ell, 20 * 2 ** ell * ell))
    for n, s in sizes([(100, 10)], [(100, 10), (1000, 10), (1000, 100)]):
        cells.append(_cell("ode", ode, "gradient", lambda n=n, s=s: ode.generate(n, s), (n, s, 0),
                           f"n={n}, s={s} RK4 steps", n, 40 * n * s))
    for d, k in sizes([(2, 5)], [(d, k) for d in (2, 10, 20) for k in (5, 10, 25)]):
        n_in = k + 2 * k * d + k * d * (d - 1) // 2
        cells.append(_cell("gmm", gmm, "jacobian", lambda d=d, k=k: gmm.generate(d, k, 1000),
                           (d, k, 1000), f"d={d}, k={k}, n=1000 ({n_in} inputs)", n_in, 20 * 1000 * k * d))
    for layers, c in sizes([(2, 64)], [(2, 1024), (4, 1024), (2, 4096)]):
        cells.append(_cell("lstm", lstm, "jacobian", lambda la=layers, c=c: lstm.generate(la, c),
                           (layers, c, 14), f"l={layers}, c={c}, b=14", 8 * 14 * layers + 42,
                           200 * c * layers * 14))
    for comp in (False, True):
        for npts in sizes([10], [100, 400, 1600]):  # quick: row-by-row reverse took 20 s a cell at 100
            name = "ht-complicated" if comp else "ht-simple"
            cells.append(_cell(name, ht, "jacobian",
                               lambda npts=npts, comp=comp: ht.generate(npts, comp), (npts, 544, 26),
                               f"{npts} points, 544 vertices, 22 bones", 26 + (2 * npts if comp else 0),
                               60 * 544 * 16))
    for n, m, p in sizes([(5, 50, 200)], [(5, 50, 200), (10, 200, 1000), (49, 7776, 31843)]):
        cols = 11 * n + 3 * m + p
        est = {meth: 8.0 * 60 * 15 * p * (cols if meth in ("forward", "reverse") else 15)
               for meth in ba.METHODS}
        cells.append(Cell("ba", (n, m, p), f"n={n} cameras, m={m} points, p={p} observations "
                          f"({cols} columns; distinct random cameras and points)",
                          lambda n=n, m=m, p=p: _ba_thunks(n, m, p), _modes(ba.METHODS), est))
    for k, n, d in sizes([(10, 1000, 8)], [(10, 1000, 8), (100, 1000, 8), (10, 10_000, 16)]):
        cells.append(_cell("kmeans", kmeans, "dir", lambda k=k, n=n, d=d: kmeans.generate(k, n, d),
                           (n, k, d), f"k={k}, n={n}, d={d}", k * d, 4 * n * k * d))
    for problem in ("particle", "saddle"):
        for inner in ("forward", "reverse"):
            if small and problem == "particle":
                continue  # quick: saddle is the nested example (a particle cell costs 6-13 s)
            cells.append(_nested(problem, inner))
    return cells


def _ba_thunks(n: int, m: int, p: int) -> tuple[Callable[[], Any], dict[str, Callable[[], Any]]]:
    """ba on distinct random cameras and points (``ba.random_instance``), not the eval's copies."""
    inp = ba.random_instance(n, m, p)
    return (lambda: ba.objective(inp),
            {meth: (lambda meth=meth: ba.jacobian(inp, meth)) for meth in ba.METHODS})


def flat(result: Any) -> np.ndarray:
    """Any derivative result (array, tuple of arrays, sparse Jacobian, float) as one flat vector."""
    if isinstance(result, ba.SparseJacobian):
        return np.asarray(result.vals, dtype=float)
    if isinstance(result, (tuple, list)):
        return np.concatenate([np.ravel(np.asarray(r, dtype=float)) for r in result])
    return np.ravel(np.asarray(result, dtype=float))


def _rel(a: np.ndarray, b: np.ndarray) -> float:
    if a.shape != b.shape:
        return float("inf")
    return float(np.max(np.abs(a - b), initial=0.0) / max(1.0, float(np.max(np.abs(b), initial=0.0))))


def _check(outputs: dict[str, Any]) -> dict[str, float]:
    derivs = {k: flat(v) for k, v in outputs.items() if k != "f"}
    ref_name = next((k for k in derivs if k in ("reverse", "rr", "fr")), next(iter(derivs)))
    return {k: _rel(v, derivs[ref_name]) for k, v in derivs.items()}


def run(ctx: Context) -> None:
    cells = grid(ctx.profile.name)
    budget = Budget(2.0)
    descents = AGREEMENT if ctx.profile.name == "full" else ()
    with ctx.progress(NAME, len(cells) + len(descents)) as bar:
        for cell in cells:
            bar.step(f"{cell.problem} {cell.note}")
            n, m, k = cell.size
            extra = {"note": cell.note}
            methods = [Method("f", "plain", extra=extra)]
            for meth, mode in cell.modes_of.items():
                methods.append(Method(meth, mode, estimate_bytes=cell.estimate[meth], extra=extra,
                                      skip=budget.over((cell.problem, meth), n * max(m, 1),
                                                       ctx.profile.call_budget_s)))
            rows = timing_trial(ctx, NAME, {"problem": cell.problem, "n": n, "m": m, "k": k}, methods,
                                _setup(cell), _check)
            for row in rows:
                if row.get("method") in cell.modes_of:
                    budget.record((cell.problem, row["method"]), n * max(m, 1), row)
        for problem in descents:
            bar.step(f"{problem}: full descents in the four variants")
            value_row(ctx, NAME, {"problem": problem, "n": 1, "m": 1, "k": 0},
                      Method("agreement", "nested"), lambda p=problem: _agreement(p))


def _setup(cell: Cell) -> Callable[[], tuple[Fns, Extras]]:
    def setup() -> tuple[Fns, Extras]:
        f, ders = cell.make()
        fns: Fns = {"f": f, **ders}
        extras: Extras = {}
        if cell.track_tape:
            for meth, mode in cell.modes_of.items():
                if mode == "reverse":
                    with modes.memory.track() as meter:
                        ders[meth]()
                    extras[meth] = {"tape_bytes": meter.peak_bytes}
        return fns, extras

    return setup


def _agreement(problem: str) -> dict[str, Any]:
    """The eval's full descents in the four variants; check_err = largest difference."""
    results, times = {}, {}
    for v in ("ff", "fr", "rf", "rr"):
        start = time.perf_counter()
        if problem == "particle":
            results[v] = [particle.solve(0.0, v)]
        else:
            results[v] = saddle.solve(np.array([1.0, 1.0]), v).tolist()
        times[v] = time.perf_counter() - start
    ref = np.array(results["rr"])
    spread = max(float(np.max(np.abs(np.array(r) - ref))) for r in results.values())
    expected = {"particle": [0.2071918746486116], "saddle": [8.246324826140356e-06] * 4}[problem]
    eval_err = max(abs(a - b) / max(1.0, abs(a) + abs(b)) for a, b in zip(results["rr"], expected))
    return {"value": results["rr"][0], "check_err": spread,
            "times": [times[v] for v in ("ff", "fr", "rf", "rr")],
            "note": json.dumps({"results": results, "seconds": times, "eval_expected": expected,
                                "eval_criterion": eval_err})}
