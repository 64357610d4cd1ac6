"""``gradient_cost``: time(gradient) / time(f) over a suite of functions, in both modes.

Every function of ``experiments.problems.SCALAR_PROBLEMS`` (vectorised ones and Speelpenning's
scalar loop) at a few sizes; f, the reverse gradient and the forward gradient are timed interleaved
in one process, so each ratio is paired round by round. Forward mode is limited by the per-call
budget (its ratio grows about as n), the scalar loop by a size cap.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import modes
from modes.api import _record

from ..problems import SCALAR_PROBLEMS, make_scalar, rel_err, scalar_work_bytes
from ..runner import Budget, Context, Extras, Fns, Method, timing_trial
from .scalar_gradient import forward_bytes

NAME = "gradient_cost"
TITLE = "Cost of a gradient relative to the function"
LOOP_CAP = {"tiny": 100, "quick": 1000, "full": 10_000}  # largest n of the scalar loop


def grid(profile: str) -> list[tuple[str, int]]:
    """(function, n) pairs for a profile."""
    if profile == "tiny":
        return [(p, 100) for p in ("rosenbrock", "speelpenning")]
    sizes = (1000, 100_000) if profile == "quick" else (100, 1000, 10_000, 100_000, 1_000_000)
    loop_sizes = (100, 1000) if profile == "quick" else (100, 1000, 10_000)
    out = []
    for name, (regime, _, _) in SCALAR_PROBLEMS.items():
        for n in (loop_sizes if regime == "scalar loop" else sizes):
            if n <= (LOOP_CAP[profile] if regime == "scalar loop" else n):
                out.append((name, n))
    return out


def run(ctx: Context) -> None:
    cells = grid(ctx.profile.name)
    budgets = {"forward": Budget(2.0), "reverse": Budget(1.2)}
    with ctx.progress(NAME, len(cells)) as bar:
        for problem, n in cells:
            bar.step(f"{problem} n={n}")
            regime = SCALAR_PROBLEMS[problem][0]
            methods = [Method("f", "plain", estimate_bytes=8.0 * 20 * n, extra={"note": regime})]
            for mode in ("reverse", "forward"):
                est = scalar_work_bytes(problem, n) if mode == "reverse" else forward_bytes(n)
                methods.append(Method(mode, mode, estimate_bytes=est, extra={"note": regime},
                                      skip=budgets[mode].over(problem, n, ctx.profile.call_budget_s)))
            rows = timing_trial(ctx, NAME, {"problem": problem, "n": n, "m": 1}, methods,
                                _setup(problem, n), _check(problem, n))
            for row in rows:
                if row.get("method") in budgets:
                    budgets[row["method"]].record(problem, n, row)


def _setup(problem: str, n: int) -> Callable[[], tuple[Fns, Extras]]:
    def setup() -> tuple[Fns, Extras]:
        p = make_scalar(problem, n)
        x = p.x0
        grad_r = modes.grad(p.f, mode="reverse")
        grad_f = modes.grad(p.f, mode="forward")
        _, tape, _, _ = _record(p.f, [x], (0,))
        fns = {"f": lambda: p.f(x), "reverse": lambda: grad_r(x), "forward": lambda: grad_f(x)}
        return fns, {"*": {"ops": len(tape)}, "reverse": {"tape_bytes": tape.nbytes}}

    return setup


def _check(problem: str, n: int) -> Callable[[dict[str, Any]], dict[str, float]]:
    def check(outputs: dict[str, Any]) -> dict[str, float]:
        p = make_scalar(problem, n)
        want = p.grad(p.x0)
        return {name: rel_err(out, want) for name, out in outputs.items() if name != "f"}

    return check
