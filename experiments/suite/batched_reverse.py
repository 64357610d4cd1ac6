"""``batched_reverse``: the reverse Jacobian of tanh(A x) with all m cotangent rows in one sweep,
against forward mode and against m separate reverse sweeps.

For n inputs and m outputs, timed interleaved with f: ``forward`` (``modes.jacobian(mode=
"forward")``, its default chunk), ``reverse_batched`` (one recording, one sweep carrying all m rows:
``chunk_size=m``), ``reverse_separate`` (one ``modes.vjp`` recording, its pullback called once per
row, unbatched) and ``reverse_default`` (``mode="reverse"`` with the library's
default chunk). ``reverse_separate`` times a sample of ``k`` rows (all of them while that is
cheap; the row's ``k`` column), so m separate sweeps cost ``t_median * m / k`` (a pullback's cost
does not depend on which row it pulls back). Every row's ``chunk`` is its directions or cotangent
rows per pass (0: the library's default rule).

The target (issue 11, point 3): ``reverse_batched`` within 2x of the faster of ``forward`` and m
separate sweeps at n = m = 1024. The batch of m cotangent rows meets A in one 2-D BLAS call
(``modes.primitives.linalg.mm``), where it used to be a stacked product of m (1, n) rows.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

import modes
from modes import cost_model

from ..problems import make_vector, rel_err
from ..runner import Budget, Context, Extras, Fns, Method, timing_trial

NAME = "batched_reverse"
TITLE = "Batched reverse Jacobians against forward mode and separate sweeps"
PROBLEM = "tanh_affine"
SEPARATE_ROWS = 32  # rows timed one sweep each when m is larger (scaled to m in the report)


def grid(profile: str) -> list[tuple[int, int]]:
    """(n, m) pairs for a profile: square sizes up to 1024 (the quick profile: two of them)."""
    if profile == "tiny":
        return [(16, 16), (64, 48)]
    if profile == "quick":
        return [(256, 256), (1024, 1024)]
    square = [(s, s) for s in (64, 128, 256, 512, 1024)]
    return square + [(1024, 256), (256, 1024)]


def methods_of(profile: str) -> tuple[str, ...]:
    """Every profile times the library's default reverse Jacobian too: what a user gets."""
    return ("forward", "reverse_batched", "reverse_separate", "reverse_default")


def rows_timed(m: int) -> int:
    """How many rows ``reverse_separate`` pulls back per call: all of them up to 2 * SEPARATE_ROWS."""
    return m if m <= 2 * SEPARATE_ROWS else SEPARATE_ROWS


def sample_rows(m: int) -> np.ndarray:
    """The rows ``reverse_separate`` times: evenly spread over the output."""
    return np.unique(np.linspace(0, m - 1, rows_timed(m)).round().astype(int))


def _chunk(method: str, n: int, m: int) -> int:
    """Directions (forward) or cotangent rows (reverse) per pass."""
    if method == "forward":
        return cost_model.default_chunk(n, n)
    if method == "reverse_batched":
        return m
    if method == "reverse_separate":
        return 1
    return 0  # reverse_default: the library decides (recorded as 0: its own rule)


def _bytes(method: str, n: int, m: int) -> float:
    """A generous peak estimate: the Jacobian, A, and a chunk of tangents or cotangents in flight."""
    rows = m if method == "reverse_default" else max(1, _chunk(method, n, m))
    return 8.0 * (4 * n * m + 6 * rows * max(n, m))


def run(ctx: Context) -> None:
    cells = grid(ctx.profile.name)
    names = methods_of(ctx.profile.name)
    budget = Budget(2.0)  # a Jacobian's cost grows about as n * m
    with ctx.progress(NAME, len(cells)) as bar:
        for n, m in cells:
            bar.step(f"{PROBLEM} n={n} m={m}")
            size = float(np.sqrt(n * m))
            methods = [Method("f", "plain", estimate_bytes=8.0 * 2 * n * m)]
            for name in names:
                extra: dict[str, Any] = {"chunk": _chunk(name, n, m)}
                if name == "reverse_separate":
                    k = len(sample_rows(m))
                    extra.update(k=k, note=f"{k} of {m} rows, one sweep each: m sweeps take "
                                           "t * m / k")
                # The sampled sweeps stay cheap at every size: only the full Jacobians are budgeted.
                skip = None if name == "reverse_separate" else budget.over(
                    name, size, ctx.profile.call_budget_s)
                methods.append(Method(name, "forward" if name == "forward" else "reverse",
                                      estimate_bytes=_bytes(name, n, m), extra=extra, skip=skip))
            rows = timing_trial(ctx, NAME, {"problem": PROBLEM, "n": n, "m": m}, methods,
                                _setup(n, m, names), _check(n, m))
            for row in rows:
                if row.get("method") in names:
                    budget.record(row["method"], size, row)


def _setup(n: int, m: int, names: tuple[str, ...]) -> Callable[[], tuple[Fns, Extras]]:
    def setup() -> tuple[Fns, Extras]:
        p = make_vector(PROBLEM, n, m)
        x = p.x0
        jacobians = {
            "forward": modes.jacobian(p.f, mode="forward"),
            "reverse_batched": modes.jacobian(p.f, mode="reverse", chunk_size=m),
            "reverse_default": modes.jacobian(p.f, mode="reverse"),
        }
        fns: Fns = {"f": lambda: p.f(x)}
        for name in names:
            if name in jacobians:
                fns[name] = lambda jac=jacobians[name]: jac(x)
        _, pullback = modes.vjp(p.f, x)
        seeds = np.eye(m)[sample_rows(m)]
        fns["reverse_separate"] = lambda: [pullback(s)[0] for s in seeds]
        return fns, {"*": {"ops": len(pullback.tape)}}

    return setup


def _check(n: int, m: int) -> Callable[[dict[str, Any]], dict[str, float]]:
    def check(outputs: dict[str, Any]) -> dict[str, float]:
        p = make_vector(PROBLEM, n, m)
        want = p.jac(p.x0)
        errs = {name: rel_err(out, want) for name, out in outputs.items()
                if name not in ("f", "reverse_separate")}
        if "reverse_separate" in outputs:
            errs["reverse_separate"] = rel_err(np.stack(outputs["reverse_separate"]),
                                               want[sample_rows(m)])
        return errs

    return check
