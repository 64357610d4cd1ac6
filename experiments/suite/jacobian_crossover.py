"""``jacobian_crossover``: full Jacobians of f: R^n -> R^m by each mode over an (n, m) grid.

Problems: tanh(A x) and a small MLP. Methods, all through ``modes.jacobian``:
``forward_chunked`` (default chunk: many directions per pass), ``forward_1`` (one direction per
pass), ``reverse_batched`` (one recording, batches of cotangent rows per sweep) and ``reverse_1``
(one row per sweep). Each row also records what ``jacobian(mode="auto")`` would choose
(``auto_choice``) under the library's current ``REVERSE_WEIGHT``; ``experiments.analysis`` finds the
weight that fits the measured crossover.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import modes
from modes import cost_model
from modes.api import _record

from ..problems import MLP_HIDDEN, VECTOR_PROBLEMS, make_vector, rel_err
from ..runner import Budget, Context, Extras, Fns, Method, timing_trial

NAME = "jacobian_crossover"
TITLE = "Jacobian crossover between the modes"
SIZES = (1, 4, 16, 64, 256, 1024)
# quick: eightfold steps with cells on both sides of the auto rule's boundary; the MLP (slower per
# cell) on every other one
QUICK_SIZES = {"tanh_affine": (1, 8, 64, 512), "mlp": (1, 64, 512)}
METHODS = {  # method: (mode, chunk_size)
    "forward_chunked": ("forward", None),
    "forward_1": ("forward", 1),
    "reverse_batched": ("reverse", None),
    "reverse_1": ("reverse", 1),
}


def grid(profile: str) -> list[tuple[str, int, int]]:
    """(problem, n, m) triples for a profile."""
    def sizes(problem: str) -> tuple[int, ...]:
        if profile == "quick":
            return QUICK_SIZES[problem]
        return (1, 16) if profile == "tiny" else SIZES

    return [(p, n, m) for p in VECTOR_PROBLEMS for n in sizes(p) for m in sizes(p)]


def chunk_of(method: str, n: int, m: int) -> int:
    """Directions (forward) or cotangent rows (reverse) per pass, as ``modes.jacobian`` picks them."""
    mode, chunk = METHODS[method]
    if chunk is not None:
        return chunk
    return cost_model.default_chunk(n, n) if mode == "forward" else cost_model.default_chunk(m, max(n, m))


def _bytes(method: str, n: int, m: int) -> float:
    width = max(n, m, MLP_HIDDEN)
    return 12.0 * 8 * chunk_of(method, n, m) * width + 8.0 * 4 * (n * m + width * width)


def run(ctx: Context) -> None:
    cells = grid(ctx.profile.name)
    budget = Budget(1.0)  # one-at-a-time methods grow linearly in the number of passes
    with ctx.progress(NAME, len(cells)) as bar:
        for problem, n, m in cells:
            bar.step(f"{problem} n={n} m={m}")
            auto = cost_model.choose_mode(n, m)
            common = {"auto_choice": auto, "reverse_weight": cost_model.REVERSE_WEIGHT}
            methods = [Method("f", "plain", estimate_bytes=8.0 * 4 * n * m, extra=dict(common))]
            for name, (mode, _) in METHODS.items():
                passes = cost_model.passes(n if mode == "forward" else m, chunk_of(name, n, m))
                skip = budget.over((problem, name), max(n, m), ctx.profile.call_budget_s)
                methods.append(Method(name, mode, estimate_bytes=_bytes(name, n, m), skip=skip,
                                      extra=dict(common, chunk=chunk_of(name, n, m),
                                                 note=f"{passes} pass(es)")))
            rows = timing_trial(ctx, NAME, {"problem": problem, "n": n, "m": m}, methods,
                                _setup(problem, n, m), _check(problem, n, m))
            for row in rows:
                if row.get("method") in METHODS:
                    budget.record((problem, row["method"]), max(n, m), row)


def _setup(problem: str, n: int, m: int) -> Callable[[], tuple[Fns, Extras]]:
    def setup() -> tuple[Fns, Extras]:
        p = make_vector(problem, n, m)
        x = p.x0
        fns: Fns = {"f": lambda: p.f(x)}
        for name, (mode, chunk) in METHODS.items():
            jac = modes.jacobian(p.f, mode=mode, chunk_size=chunk)  # type: ignore[arg-type]
            fns[name] = lambda jac=jac: jac(x)
        _, tape, _, _ = _record(p.f, [x], (0,))
        extras = {"*": {"ops": len(tape)}}
        for name, (mode, _) in METHODS.items():
            if mode == "reverse":
                extras[name] = {"tape_bytes": tape.nbytes}
        return fns, extras

    return setup


def _check(problem: str, n: int, m: int) -> Callable[[dict[str, Any]], dict[str, float]]:
    def check(outputs: dict[str, Any]) -> dict[str, float]:
        p = make_vector(problem, n, m)
        want = p.jac(p.x0)
        return {name: rel_err(out, want.reshape(out.shape) if hasattr(out, "shape") else want)
                for name, out in outputs.items() if name != "f"}

    return check
