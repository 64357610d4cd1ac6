"""``memory``: peak memory against the number of operations k, reverse vs forward.

f = sum(tanh(tanh(... tanh(x)))) with k steps, on an n-vector (``vector_chain``) and on a Python
float (``scalar_chain``, the per-operation regime). ``reverse``: the gradient (one recording, one
sweep); ``forward``: one JVP (one direction; a forward gradient repeats it per direction, at the
same memory). ``compiled_reverse`` and ``compiled_forward``: the same gradient and JVP through
``modes.compile``, compiled (and called once) in the probe's set-up, before its baseline is read,
so the peak is that of one call of the generated code. Each trial runs in fresh subprocesses
(``experiments.memory_probe``) with the allocator pinned; rows carry the peak RSS above baseline,
the tape's exact bytes (``Tape.nbytes``, interpreted reverse rows), the tape's node count and the
theoretical bytes: one float64 partial per tanh step for reverse (8 n k), two live n-vectors
(value and tangent) for forward (16 n). The first row is the probe's self-test on a known 200 MB
allocation.
"""

from __future__ import annotations

from typing import Any

import numpy as np

import modes
from modes.api import _record

from ..memory_probe import SELF_TEST_BYTES, ProbeTarget
from ..problems import chain
from ..runner import Context, Method, memory_trial

NAME = "memory"
TITLE = "Memory vs number of operations"
# compiling a chain takes time per operation (seconds at k = 10 000): below --full, the forward JVP
# is compiled only up to this k (the compiled gradient, the figure of interest, at every k)
COMPILED_FORWARD_MAX_K = {"tiny": 300, "quick": 300}
METHODS = {  # method: (mode, compiled)
    "reverse": ("reverse", False),
    "forward": ("forward", False),
    "compiled_reverse": ("reverse", True),
    "compiled_forward": ("forward", True),
}


def grid(profile: str) -> list[tuple[str, int, int]]:
    """(problem, n, k) triples (n = 1 for the scalar chain)."""
    if profile == "tiny":
        return [("vector_chain", 10_000, k) for k in (1, 100)]
    if profile == "quick":  # two and four decades; the vector tape stays at 24 MB (k = 300)
        return ([("vector_chain", 10_000, k) for k in (1, 30, 300)]
                + [("scalar_chain", 1, k) for k in (1, 300, 10_000)])
    ks = [1, 3, 10, 30, 100, 300, 1000, 3000, 10_000]
    return ([("vector_chain", n, k) for n in (10_000, 100_000) for k in ks]
            + [("scalar_chain", 1, k) for k in ks])


def theory_bytes(problem: str, mode: str, n: int, k: int) -> int:
    """Residual bytes by theory: reverse keeps one float64 partial per step; forward two live vectors."""
    return 8 * n * k if mode == "reverse" else 16 * n


def estimate_bytes(problem: str, mode: str, n: int, k: int, compiled: bool = False) -> float:
    """For the safety check: theory with headroom (Python objects per node for scalars), plus 64 MiB.

    ``compiled``: plus what compiling holds per operation (its recording keeps the values it was
    traced at: about four n-vectors per step of the vector chain, 6 KB per scalar step, as the
    quick run's baselines showed).
    """
    per_op = 1.5 * 8 * n if problem == "vector_chain" else 1_000.0
    held = (5 * 8.0 * n if problem == "vector_chain" else 8_000.0) * k if compiled else 0.0
    return (per_op * k if mode == "reverse" else 40.0 * n) + held + 64 * 2**20


def exact_gradient(x: Any, k: int) -> Any:
    """d/dx sum(tanh^k(x)) = prod_j (1 - y_j^2) along the chain (plain numpy)."""
    g = np.ones_like(x) if isinstance(x, np.ndarray) else 1.0
    for _ in range(k):
        x = np.tanh(x)
        g = g * (1.0 - x * x)
    return g


def target(problem: str, mode: str, n: int, k: int, compiled: bool = False) -> ProbeTarget:
    """The probe target (runs in the trial subprocess): set-up here, ``compute`` is measured.

    ``compiled``: the gradient (reverse) or the JVP (forward) through ``modes.compile``, compiled
    and called once here; a first call that fell back to the interpreted function raises.
    ``after`` checks the result against ``exact_gradient`` and, for interpreted reverse mode,
    records the chain once more (after the measurement) to read the tape's node count and exact
    bytes.
    """
    f = chain(k)
    x: Any = np.linspace(-1.0, 1.0, n) if problem == "vector_chain" else 0.5
    v: Any = np.ones(n) if problem == "vector_chain" else 1.0
    out: dict[str, Any] = {}
    if compiled:
        def jvp(x: Any) -> Any:
            return modes.jvp(f, (x,), (v,))[1]

        c = modes.compile(modes.grad(f) if mode == "reverse" else jvp, x)
        c(x)  # compiled in the set-up, and called once: the baseline is read after this
        if c.fallbacks or c.retraces:
            raise RuntimeError(f"modes.compile ({mode}, {problem}, k={k}): the first call ran "
                               f"{c.fallbacks} fallback(s) and {c.retraces} retrace(s)")

        def compute() -> None:
            out["d"] = c(x)
    elif mode == "reverse":
        g = modes.grad(f)

        def compute() -> None:
            out["d"] = g(x)
    else:
        def compute() -> None:
            out["d"] = modes.jvp(f, (x,), (v,))[1]

    def after() -> dict[str, Any]:
        exact = exact_gradient(x, k)
        want = exact if mode == "reverse" else np.sum(exact * v)  # J v for the JVP
        res: dict[str, Any] = {"check_err": float(np.max(np.abs(np.asarray(out["d"]) - want)))}
        if mode == "reverse":
            _, tape, _, _ = _record(f, [x], (0,))
            res.update(ops=len(tape), **({} if compiled else {"tape_bytes": tape.nbytes}))
        else:  # the node count does not depend on n: record the chain on one entry
            _, tape, _, _ = _record(f, [x[:1] if isinstance(x, np.ndarray) else x], (0,))
            res["ops"] = len(tape)
        return res

    # Warm-up outside the measurement (imports, first-call caches), on a one-step chain.
    if not compiled:
        modes.grad(chain(1))(x) if mode == "reverse" else modes.jvp(chain(1), (x,), (v,))
    return ProbeTarget(compute, after, {"theory_bytes": theory_bytes(problem, mode, n, k)})


def run(ctx: Context) -> None:
    cells = grid(ctx.profile.name)
    with ctx.progress(NAME, 1 + len(cells) * len(METHODS)) as bar:
        bar.step("probe self-test (200 MB)")
        memory_trial(ctx, NAME, {"problem": "allocation", "n": SELF_TEST_BYTES // 8, "k": 1},
                     Method("selftest", "plain", estimate_bytes=1.2 * SELF_TEST_BYTES),
                     "experiments.memory_probe:allocation", {"nbytes": SELF_TEST_BYTES})
        for problem, n, k in cells:
            for method, (mode, compiled) in METHODS.items():
                bar.step(f"{problem} n={n} k={k} {method}")
                cap = COMPILED_FORWARD_MAX_K.get(ctx.profile.name)
                skip = (f"the {ctx.profile.name} profile compiles the forward JVP only up to k = {cap} "
                        "(compiling takes time per operation); --full measures every k"
                        if method == "compiled_forward" and cap is not None and k > cap else None)
                memory_trial(ctx, NAME, {"problem": problem, "n": n, "k": k},
                             Method(method, mode, skip=skip,
                                    estimate_bytes=estimate_bytes(problem, mode, n, k, compiled)),
                             f"{__name__}:target",
                             {"problem": problem, "mode": mode, "n": n, "k": k, "compiled": compiled})
