"""``gradient_cost``: time(gradient) / time(f) over a suite of functions, in both modes.

Every function of ``experiments.problems.SCALAR_PROBLEMS`` (vectorised ones and Speelpenning's
scalar loop) at a few sizes; f, the reverse gradient and the forward gradient are timed interleaved
in one process, so each ratio is paired round by round. Forward mode is limited by the per-call
budget (its ratio grows about as n), the scalar loop by a size cap. Every row carries the operation
counts of ``modes.count_ops`` (``experiments.counts``; the forward gradient's only where it is timed
and n <= ``counts.FORWARD_COUNT_MAX_N``), from which the report splits each ratio into algorithm
and overhead.
"""

from __future__ import annotations

from collections.abc import Callable

from modes import cost_model

from ..counts import count_forward, row_counts
from ..problems import SCALAR_PROBLEMS, make_scalar, scalar_work_bytes
from ..runner import Budget, Context, Extras, Fns, Method, timing_trial
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
            forward = count_forward(n, methods[-1].skip is None)
            rows = timing_trial(ctx, NAME, {"problem": problem, "n": n, "m": 1}, methods,
                                counted(problem, n, forward), _check(problem, n))
            for row in rows:
                if row.get("method") in budgets:
                    budgets[row["method"]].record(problem, n, row)


def counted(problem: str, n: int, forward: bool) -> Callable[[], tuple[Fns, Extras]]:
    """``scalar_gradient``'s set-up, with the operation counts in every row."""
    base = _setup(problem, n)

    def setup() -> tuple[Fns, Extras]:
        fns, extras = base()
        p = make_scalar(problem, n)
        extras["*"].update(row_counts(p.f, (p.x0,), 0, cost_model.default_chunk(n, n), forward))
        return fns, extras

    return setup
