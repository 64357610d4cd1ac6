"""``compiled``: each mode interpreted and compiled (``modes.compile``), beside f and the peers.

Per trial f and every method are timed interleaved in one process (``runner.timing_trial``), so
every ratio to f is paired round by round. Methods:

* ``interpreted_forward``, ``interpreted_reverse``: ``modes.grad(f, mode=...)`` (scalar problems)
  or ``modes.jacobian(f, mode=...)`` (``tanh_affine``), as users call them;
* ``compiled_forward``, ``compiled_reverse``: the same transformation through ``modes.compile``,
  compiled in the set-up together with one call (``setup_s``); a compiled callable whose first
  call retraced or fell back to the interpreted function fails its row, so a compiled row always
  times generated code;
* ``fused_reverse``, ``hand_reverse`` (Rosenbrock only): ``modes.compile(..., backend="fused")``
  (the ``fused`` extra; skipped rows without numexpr) and the hand-written numpy gradient;
* ``casadi:<mode>``, ``autograd:reverse``: the peers' own gradients and Jacobians
  (``experiments.peers``; a tool that is not installed gives ``skipped`` rows).

Problems: the talk's V = x*y + (x+y)*z at (1, -3, 2) on Python floats (gradient with respect to
all three); extended Rosenbrock (vectorised) and Speelpenning's product as a Python loop
(``experiments.problems``) over n; the Jacobian of tanh(A x) over an (n, m) grid. Every result is
checked before it is timed against the exact derivative (``check_err``; a row above
``runner.CHECK_TOL`` fails and is not timed). The scalar problems' rows carry the operation counts
of ``modes.count_ops`` (``experiments.counts``): OPS(f), OPS(reverse), OPS(forward) and their
multiplicative parts, from which the report splits every time ratio into algorithm (operation
ratio) and overhead (time ratio / operation ratio). Forward mode stops growing n once one call
is predicted over the profile's per-call budget; compiling it stages one interpreted forward
gradient, so it stops with it.
"""

from __future__ import annotations

import importlib.util

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

import modes
from modes import cost_model

from ..counts import count_forward, row_counts
from ..peers import base, workloads
from ..peers.base import mismatch
from ..peers.workloads import Workload
from ..problems import make_scalar, make_vector, scalar_work_bytes
from ..runner import Budget, Context, Extras, Fns, Method, timing_trial
from ..safety import memory_verdict
from .scalar_gradient import forward_bytes

NAME = "compiled"
TITLE = "Interpreted vs compiled modes"
MODES_METHODS = {  # method: (mode, compiled)
    "interpreted_forward": ("forward", False),
    "interpreted_reverse": ("reverse", False),
    "compiled_forward": ("forward", True),
    "compiled_reverse": ("reverse", True),
}
# Rosenbrock only: the fused backend (the 'fused' extra, numexpr; threads pinned with BLAS's) and
# the hand-written numpy gradient it is measured against.
FUSED_METHODS = {"fused_reverse": "reverse", "hand_reverse": "reverse"}
PEER_METHODS = {  # problem kind: the peers' methods, "<tool>:<mode>"
    "gradient": ("casadi:reverse", "autograd:reverse"),
    "jacobian": ("casadi:forward", "casadi:reverse"),
}
TOOLS = ("casadi", "autograd")


@dataclass(frozen=True)
class Grid:
    """The sizes of one profile."""

    rosenbrock: tuple[int, ...]
    speelpenning: tuple[int, ...]
    jacobian: tuple[int, ...]  # n and m each take every value
    setup_budget_s: float      # CasADi graphs predicted to take longer to build are skipped


GRIDS = {
    "tiny": Grid((10,), (10,), (1, 10), 2.0),
    "quick": Grid((10, 100, 1000, 100_000), (10, 100, 1000), (1, 100), 5.0),
    "full": Grid((10, 100, 1000, 10_000, 100_000, 1_000_000), (10, 30, 100, 300, 1000, 3000, 10_000),
                 (1, 10, 100, 1000), 120.0),
}


def grid(profile: str) -> list[tuple[str, int, int]]:
    """(problem, n, m) triples of a profile, in the order they run."""
    g = GRIDS[profile]
    return ([("talk", 3, 1)] + [("rosenbrock", n, 1) for n in g.rosenbrock]
            + [("speelpenning", n, 1) for n in g.speelpenning]
            + [("tanh_affine", n, m) for n in g.jacobian for m in g.jacobian])


# ---- the problems ------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Case:
    """One trial's function: plain ``f`` at ``args``, its exact derivative (flat), the same function
    as a peers' ``Workload``, and whether its derivative is a gradient or a Jacobian."""

    problem: str
    n: int
    m: int
    f: Callable[..., Any]
    args: tuple[Any, ...]
    argnum: int | tuple[int, ...]
    exact: np.ndarray
    workload: Workload
    kind: str  # "gradient" or "jacobian"


def speelpenning_workload(n: int) -> Workload:
    """Speelpenning's loop for every tool, at the point of ``problems.make_scalar("speelpenning", n)``."""
    x0 = make_scalar("speelpenning", n).x0

    def build(ns: Any) -> Callable[[Any], Any]:
        def speelpenning(x: Any) -> Any:
            p = x[0]
            for i in range(1, n):
                p = p * x[i]
            return p
        return speelpenning

    return Workload("speelpenning", build, (x0,), n=n, ops=n - 1)


def make_case(problem: str, n: int, m: int = 1) -> Case:
    if problem == "talk":
        w = workloads.talk()
        x, y, z = w.args
        return Case(problem, 3, 1, w.numpy_f(), w.args, (0, 1, 2), np.array([y + z, x + z, x + y]),
                    w, "gradient")
    if problem in ("rosenbrock", "speelpenning"):
        p = make_scalar(problem, n)
        w = workloads.rosenbrock(n) if problem == "rosenbrock" else speelpenning_workload(n)
        return Case(problem, n, 1, p.f, (p.x0,), 0, p.grad(p.x0).ravel(), w, "gradient")
    if problem == "tanh_affine":
        v = make_vector(problem, n, m)
        return Case(problem, n, m, v.f, (v.x0,), 0, v.jac(v.x0).ravel(), workloads.tanh_affine(n, m),
                    "jacobian")
    raise KeyError(f"unknown problem {problem!r}")


def kind_of(problem: str) -> str:
    return "jacobian" if problem == "tanh_affine" else "gradient"


def transform(case: Case, mode: str) -> Callable[..., Any]:
    """The interpreted derivative of ``case`` in ``mode``, as a user writes it."""
    if case.kind == "jacobian":
        return modes.jacobian(case.f, mode=mode)  # type: ignore[arg-type]
    return modes.grad(case.f, argnum=case.argnum, mode=mode)


def chunk(case_kind: str, mode: str, n: int, m: int) -> int | None:
    """Directions (forward) or cotangent rows (reverse Jacobian) per pass, as ``modes`` picks
    them (``None``: a reverse gradient, one sweep)."""
    if mode == "forward":
        return cost_model.default_chunk(n, n)
    return None if case_kind == "gradient" else cost_model.default_chunk(m, max(n, m))


class CompileFellBack(RuntimeError):
    """A compiled callable answered by the interpreted function: its timing would not be compiled."""


def build(case: Case, method: str) -> tuple[Callable[[], Any], dict[str, Any]]:
    """The zero-argument callable of ``method`` on ``case`` and row fields about it."""
    if method == "hand_reverse":
        grad = make_scalar(case.problem, case.n).grad
        return (lambda: grad(*case.args)), {}
    if method == "fused_reverse":
        c = modes.compile(modes.grad(case.f), *case.args, backend="fused")
        c(*case.args)
        if c.fallbacks or c.retraces:
            raise CompileFellBack(f"modes.compile(fused reverse of {case.problem}): its first call "
                                  "fell back or retraced")
        fused_lines = sum("fused(" in line for line in c.source.splitlines())
        return (lambda: c(*case.args)), {"note": f"{fused_lines} fused expression(s)"}
    if method in MODES_METHODS:
        mode, compiled = MODES_METHODS[method]
        g = transform(case, mode)
        if not compiled:
            return (lambda: g(*case.args)), {}
        c = modes.compile(g, *case.args)
        c(*case.args)
        if c.fallbacks or c.retraces:
            raise CompileFellBack(f"modes.compile({method.split('_')[1]} of {case.problem}): its first "
                                  f"call at the example arguments ran {c.fallbacks} fallback(s) and "
                                  f"{c.retraces} retrace(s)")
        lines = len(c.source.splitlines())
        return (lambda: c(*case.args)), {"note": f"{lines} lines of generated code"}
    tool, mode = method.split(":")
    p = base.get(tool)
    fn = p.gradient(case.workload) if case.kind == "gradient" else p.jacobian(case.workload, mode)
    args = p.inputs(case.workload)
    return (lambda: fn(*args)), {}


def flat(method: str, out: Any) -> np.ndarray:
    """A method's result as one flat float64 vector (a tuple of gradients concatenated)."""
    if ":" in method:
        return base.get(method.split(":")[0]).flat(out)
    if isinstance(out, (tuple, list)):
        return np.concatenate([np.ravel(np.asarray(o, dtype=np.float64)) for o in out])
    return np.ravel(np.asarray(out, dtype=np.float64))


def _failing(exc: Exception) -> Callable[[], Any]:
    def call() -> Any:
        raise exc
    return call


# ---- the trial ---------------------------------------------------------------------------------------------
def setup_for(problem: str, n: int, m: int, methods: list[str],
              counted_forward: bool) -> Callable[[], tuple[Fns, Extras]]:
    """Set-up of one trial: every planned method built (a build that raises fails its row only),
    and, for a gradient, the operation counts (every row)."""
    def setup() -> tuple[Fns, Extras]:
        case = make_case(problem, n, m)
        fns: Fns = {"f": lambda: case.f(*case.args)}
        extras: Extras = {"*": {}}
        if case.kind == "gradient":
            extras["*"] = row_counts(case.f, case.args, case.argnum, chunk("gradient", "forward", n, m),
                                     forward=counted_forward)
        for method in methods:
            t0 = time.perf_counter()
            try:
                fns[method], fields = build(case, method)
            except Exception as exc:  # noqa: BLE001 - this method's row fails, the others run
                fns[method], fields = _failing(exc), {}
            extras[method] = dict(fields, setup_s=time.perf_counter() - t0)
        return fns, extras

    return setup


def check_for(problem: str, n: int, m: int) -> Callable[[dict[str, Any]], dict[str, float]]:
    """Every method's warm-up result against the exact derivative (peers too)."""
    def check(outputs: dict[str, Any]) -> dict[str, float]:
        exact = make_case(problem, n, m).exact
        return {name: mismatch(flat(name, out), exact) for name, out in outputs.items() if name != "f"}

    return check


def estimate(problem: str, method: str, n: int, m: int) -> float:
    """Bytes for the safety check."""
    if problem == "tanh_affine":
        est = 8.0 * 12 * n * m + 8.0 * 40 * (n + m)
        return est + (600.0 * n * m if method.startswith("casadi") else 0.0)
    if method.startswith("casadi"):
        return 2500.0 * n
    mode = MODES_METHODS.get(method, ("reverse", False))[0]
    return scalar_work_bytes(problem if problem != "talk" else "rosenbrock", n) if mode == "reverse" \
        else forward_bytes(n)


class Budgets:
    """Per-call budgets of the modes methods and set-up budgets of CasADi's graphs, per problem."""

    def __init__(self) -> None:
        self.calls = {"forward": Budget(2.0), "reverse": Budget(1.2), "jacobian": Budget(1.0)}
        self.setup = Budget(1.0)

    def _calls(self, problem: str, method: str) -> Budget:
        if kind_of(problem) == "jacobian":
            return self.calls["jacobian"]
        if method in FUSED_METHODS:
            return self.calls[FUSED_METHODS[method]]
        mode = MODES_METHODS[method][0] if method in MODES_METHODS else method.split(":")[1]
        return self.calls[mode]

    @staticmethod
    def size(problem: str, n: int, m: int) -> int:
        return max(n, m)

    @staticmethod
    def work(method: str, n: int, m: int) -> int:
        """What building a CasADi callable grows with: directions times the graph (n m)."""
        mode = method.split(":")[1]
        return (n if mode == "forward" else m) * n * m

    def skip(self, problem: str, method: str, n: int, m: int, call_budget_s: float,
             setup_budget_s: float) -> str | None:
        size = self.size(problem, n, m)
        reason = self._calls(problem, method).over((problem, method), size, call_budget_s)
        if method == "compiled_forward":  # compiling stages one interpreted forward gradient
            first = self._calls(problem, "interpreted_forward").over(
                (problem, "interpreted_forward"), size, call_budget_s)
            if reason is None and first is not None:
                reason = f"compiling stages one interpreted forward call: {first}"
        if method.startswith("casadi") and reason is None:
            key, work = (problem, method), self.work(method, n, m)
            t = self.setup.predict(key, work)
            if t is not None and t > setup_budget_s:
                reason = (f"CasADi SX graph build predicted {t:.3g} s (from work {self.setup.seen[key][0]:g},"
                          f" linear) exceeds this profile's set-up budget of {setup_budget_s:g} s")
        return reason

    def record(self, problem: str, n: int, m: int, row: dict[str, Any]) -> None:
        method = str(row.get("method"))
        if method == "f":
            return
        if method in MODES_METHODS or method in FUSED_METHODS or method.startswith(TOOLS):
            self._calls(problem, method).record((problem, method), self.size(problem, n, m), row)
        setup = row.get("setup_s")
        if method.startswith("casadi") and row.get("status") == "ok" and setup is not None \
                and float(setup) >= MIN_SETUP_S:
            self.setup.observe((problem, method), self.work(method, n, m), float(setup))


MIN_SETUP_S = 0.05  # CasADi build times below this are overhead, not growth: not extrapolated


def methods_for(ctx: Context, problem: str, n: int, m: int, budgets: Budgets,
                missing: dict[str, str | None]) -> list[Method]:
    """f, the four modes methods and the peers' of one trial, each with its skip reason if any."""
    g = GRIDS[ctx.profile.name]
    kind = kind_of(problem)
    out = [Method("f", "plain", estimate_bytes=8.0 * 10 * n * m)]
    for name, (mode, compiled) in MODES_METHODS.items():
        extra = {"chunk": chunk(kind, mode, n, m)}
        est = estimate(problem, name, n, m)
        skip = budgets.skip(problem, name, n, m, ctx.profile.call_budget_s, g.setup_budget_s)
        out.append(Method(name, mode, est, extra=extra, skip=skip or memory_verdict(est, ctx.mem_share)))
    if problem == "rosenbrock":
        fused_missing = None if importlib.util.find_spec("numexpr") is not None else (
            "numexpr is not installed (the fused backend's extra: pip install -e '.[fused]')")
        for name, mode in FUSED_METHODS.items():
            est = estimate(problem, name, n, m)
            skip = (fused_missing if name == "fused_reverse" else None) or budgets.skip(
                problem, name, n, m, ctx.profile.call_budget_s, g.setup_budget_s)
            out.append(Method(name, mode, est, skip=skip or memory_verdict(est, ctx.mem_share)))
    for name in PEER_METHODS[kind]:
        tool, mode = name.split(":")
        est = estimate(problem, name, n, m)
        skip = missing.get(tool) or budgets.skip(problem, name, n, m, ctx.profile.call_budget_s,
                                                 g.setup_budget_s)
        out.append(Method(name, mode, est, skip=skip or memory_verdict(est, ctx.mem_share)))
    return out


def run(ctx: Context) -> None:
    cells = grid(ctx.profile.name)
    missing = {tool: base.unavailable_reason(tool) for tool in TOOLS}
    for tool, why in missing.items():
        if why is not None:
            ctx.say(f"{NAME}: {tool} skipped: {why}")
    budgets = Budgets()
    with ctx.progress(NAME, len(cells)) as bar:
        for problem, n, m in cells:
            bar.step(f"{problem} n={n}" + (f" m={m}" if problem == "tanh_affine" else ""))
            methods = methods_for(ctx, problem, n, m, budgets, missing)
            planned = [x.name for x in methods if x.name != "f" and x.skip is None]
            forward = count_forward(n, "interpreted_forward" in planned)
            rows = timing_trial(ctx, NAME, {"problem": problem, "n": n, "m": m}, methods,
                                setup_for(problem, n, m, planned, forward), check_for(problem, n, m))
            for row in rows:
                budgets.record(problem, n, m, row)
