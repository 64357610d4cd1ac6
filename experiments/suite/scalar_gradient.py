"""``scalar_gradient``: the whole gradient of f: R^n -> R, reverse vs forward, as n grows.

Problems: extended Rosenbrock (vectorised) and Speelpenning's product as a scalar loop (the
per-operation regime). Each trial times f, the reverse gradient and the (chunked) forward gradient
interleaved in one process. Forward mode stops growing n once one call is predicted to exceed the
profile's per-call budget (its time grows about as n^2 here); the skipped sizes are recorded.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


import modes
from modes import cost_model
from modes.api import _record

from ..problems import make_scalar, rel_err, scalar_work_bytes
from ..runner import Budget, Context, Extras, Fns, Method, timing_trial

NAME = "scalar_gradient"
TITLE = "Scalar gradient: time vs n"
PROBLEMS = ("rosenbrock", "speelpenning")


def _half_decades(lo: int, hi: int) -> list[int]:
    """1, 3, 10, 30, ... times powers of ten, from ``lo`` to ``hi`` inclusive."""
    return [c * 10**d for d in range(12) for c in (1, 3) if lo <= c * 10**d <= hi]


def grid(profile: str) -> list[tuple[str, int]]:
    """(problem, n) pairs for a profile."""
    if profile == "tiny":
        sizes = {"rosenbrock": [10, 100, 1000], "speelpenning": [10, 100]}
    elif profile == "quick":
        sizes = {"rosenbrock": _half_decades(10, 10**6), "speelpenning": _half_decades(10, 3000)}
    else:
        sizes = {"rosenbrock": _half_decades(10, 10**6), "speelpenning": _half_decades(10, 10**5)}
    return [(p, n) for p in PROBLEMS for n in sizes[p]]


def forward_bytes(n: int) -> float:
    """Rough bytes of a chunked forward gradient: a dozen live (chunk, n) tangent arrays."""
    return 12.0 * 8 * cost_model.default_chunk(n, n) * n + 8.0 * 40 * n


def run(ctx: Context) -> None:
    cells = grid(ctx.profile.name)
    budgets = {"forward": Budget(2.0), "reverse": Budget(1.2)}
    with ctx.progress(NAME, len(cells)) as bar:
        for problem, n in cells:
            bar.step(f"{problem} n={n}")
            methods = [Method("f", "plain", estimate_bytes=8.0 * 10 * n)]
            for mode in ("reverse", "forward"):
                est = scalar_work_bytes(problem, n) if mode == "reverse" else forward_bytes(n)
                skip = budgets[mode].over(problem, n, ctx.profile.call_budget_s)
                extra: dict[str, Any] = {}
                if mode == "forward":
                    chunk = cost_model.default_chunk(n, n)
                    extra = {"chunk": chunk}
                methods.append(Method(mode, mode, estimate_bytes=est, skip=skip, extra=extra))
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
        ops, tape_bytes = len(tape), tape.nbytes
        del tape
        fns = {"f": lambda: p.f(x), "reverse": lambda: grad_r(x), "forward": lambda: grad_f(x)}
        extras = {"*": {"ops": ops}, "reverse": {"tape_bytes": tape_bytes}}
        return fns, extras

    return setup


def _check(problem: str, n: int) -> Callable[[dict[str, Any]], dict[str, float]]:
    def check(outputs: dict[str, Any]) -> dict[str, float]:
        p = make_scalar(problem, n)
        want = p.grad(p.x0)
        errs = {name: rel_err(out, want) for name, out in outputs.items() if name != "f"}
        if "f" in outputs:
            errs["f"] = rel_err(outputs["f"], p.f(p.x0))
        return errs

    return check
