"""``gradient_cost``: time(gradient) / time(f) over a suite of functions, in both modes.

Every function of ``experiments.problems.SCALAR_PROBLEMS`` (vectorised ones and Speelpenning's
scalar loop) at a few sizes; f, the reverse gradient and the forward gradient are timed interleaved
in one process, so each ratio is paired round by round. Forward mode is limited by the per-call
budget (its ratio grows about as n), the scalar loop by a size cap.
"""

from __future__ import annotations

from ..problems import SCALAR_PROBLEMS, scalar_work_bytes
from ..runner import Budget, Context, Method, timing_trial
from .scalar_gradient import _check, _setup, forward_bytes

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
