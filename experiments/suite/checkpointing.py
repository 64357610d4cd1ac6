"""``checkpointing``: reverse mode with bounded memory, the memory / runtime trade-off.

The iterated map x_{i+1} = tanh(x_i) * 0.9 + 0.1 * x_i on an n-vector for s steps, loss sum(x_s^2).
Its plain tape keeps one n-vector per step (tanh's result). Schedules:

* ``none``: the plain tape; ``uniform``: a snapshot every ceil(s/c) steps, each segment re-taped
  once; ``revolve``: binomial checkpointing with c snapshots (proven-optimal recomputation);
* ``blocks``: ``modes.checkpoint`` around blocks of 100 steps (a plain loop of checkpointed blocks).

Per (s, schedule, c): runtime rows (f, the plain-tape gradient and the schedule's gradient timed
interleaved, so each ratio to the plain tape is paired round by round) and a memory row (a fresh
subprocess: peak RSS above baseline, and the tape's peak residual bytes from
``modes.memory.track()``, beside the theory). A value row records the untaped step evaluations
(the recomputation count) against revolve's optimum.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

import modes
from modes import revolve

from ..memory_probe import ProbeTarget
from ..runner import Context, Method, memory_trial, timing_trial, value_row

NAME = "checkpointing"
TITLE = "Checkpointing: memory against recomputation"
BLOCK = 100
CHECK_TOL = 1e-12


def step(x: Any) -> Any:
    return np.tanh(x) * 0.9 + 0.1 * x


def plain_loop(x: Any, s: int) -> Any:
    for _ in range(s):
        x = step(x)
    return x


def loss_fn(schedule: str, s: int, c: int) -> Callable[[Any], Any]:
    """The loss under a schedule (``blocks``: checkpointed blocks of BLOCK steps)."""
    if schedule == "blocks":
        block = modes.checkpoint(lambda x: plain_loop(x, BLOCK))

        def f(x: Any) -> Any:
            for _ in range(s // BLOCK):
                x = block(x)
            return np.sum(plain_loop(x, s % BLOCK) ** 2)
        return f

    def g(x: Any) -> Any:
        return np.sum(modes.checkpointed_loop(step, x, s, snapshots=c or None, schedule=schedule) ** 2)
    return g


def theory_bytes(schedule: str, n: int, s: int, c: int) -> int:
    """Residual bytes at the peak by theory, an upper bound (one n-vector per taped step)."""
    state = 8 * n
    if schedule == "none":
        return s * state
    if schedule == "revolve":
        return (c + 1) * state + state  # snapshots + working state, and one step's tape
    if schedule == "uniform":
        return c * state + math.ceil(s / c) * state
    return (s // BLOCK + 1) * state + BLOCK * state  # block inputs, and one block's tape


def theory_advances(schedule: str, s: int, c: int) -> int:
    """Untaped step evaluations by theory (the nominal pass included)."""
    if schedule == "revolve":
        return revolve.optimal_advances(s, c) + 1
    if schedule == "none":
        return 0  # every step is taped in the nominal pass
    return s  # uniform / blocks: each step runs untaped once in the nominal pass


def grid(profile: str) -> list[tuple[int, int, list[tuple[str, int]]]]:
    """(n, s, [(schedule, c), ...]) cells."""
    if profile == "tiny":
        return [(100, 200, [("none", 0), ("revolve", 5), ("uniform", 14), ("blocks", 0)])]
    if profile == "quick":  # one length: s = 10 000 took minutes per schedule on 2 loaded cores
        return [(1000, 500, [("none", 0), ("revolve", 5), ("revolve", 20), ("uniform", 22),
                             ("blocks", 0)])]
    cells = []
    for s in (100, 1000, 3000, 10_000):
        scheds = [("none", 0), ("revolve", 5), ("revolve", 10), ("revolve", 20), ("revolve", 50),
                  ("revolve", 100), ("uniform", 20), ("uniform", math.isqrt(s)), ("blocks", 0)]
        cells.append((1000, s, [sc for sc in scheds if sc[1] < s]))
    return cells


def target(schedule: str, n: int, s: int, c: int) -> ProbeTarget:
    """Probe target: the gradient under ``schedule`` (measured), then the tape's peak bytes."""
    x0 = np.linspace(-1.0, 1.0, n)
    g = modes.grad(loss_fn(schedule, s, c))
    out: dict[str, Any] = {}

    def compute() -> None:
        out["d"] = g(x0)

    def after() -> dict[str, Any]:
        with modes.memory.track() as meter:
            again = g(x0)
        ref = modes.grad(loss_fn("none", s, c))(x0) if s * n <= 10**8 else again
        err = float(np.max(np.abs(out["d"] - ref)) / max(1.0, float(np.max(np.abs(ref)))))
        return {"tape_bytes": meter.peak_bytes, "check_err": err, "ops": s}

    modes.grad(loss_fn(schedule, 2 if schedule != "blocks" else BLOCK, 2))(x0)  # warm-up
    return ProbeTarget(compute, after, {"theory_bytes": theory_bytes(schedule, n, s, c)})


def _count_advances(schedule: str, n: int, s: int, c: int) -> dict[str, Any]:
    calls = {"n": 0}

    def counted(x: Any) -> Any:
        if not isinstance(x, modes.Var):
            calls["n"] += 1  # an untaped evaluation (a Var argument means it is being taped)
        return step(x)

    x0 = np.linspace(-1.0, 1.0, n)
    if schedule == "blocks":
        return {"advances": None, "theory_advances": theory_advances(schedule, s, c)}
    modes.grad(lambda x: np.sum(modes.checkpointed_loop(counted, x, s, snapshots=c or None,
                                                        schedule=schedule) ** 2))(x0)
    return {"advances": calls["n"], "theory_advances": theory_advances(schedule, s, c),
            "recompute_factor": calls["n"] / s}


def run(ctx: Context) -> None:
    cells = grid(ctx.profile.name)
    total = sum(len(scheds) * 3 for _, _, scheds in cells)
    with ctx.progress(NAME, total) as bar:
        for n, s, scheds in cells:
            x0 = np.linspace(-1.0, 1.0, n)
            ref_grad = modes.grad(loss_fn("none", s, 0))
            for schedule, c in scheds:
                config = {"problem": "tanh_map", "n": n, "m": 1, "ops": s,
                          "schedule": schedule, "snapshots": c}
                bar.step(f"s={s} {schedule} c={c} runtime")
                grad = modes.grad(loss_fn(schedule, s, c))
                est = theory_bytes(schedule, n, s, c) * 1.5 + 64 * 2**20
                plain_est = theory_bytes("none", n, s, c) * 1.5 + 64 * 2**20

                def setup(grad: Any = grad) -> tuple[dict, dict]:
                    fns = {"f": lambda: np.sum(plain_loop(x0, s) ** 2), "plain_tape": lambda: ref_grad(x0),
                           "schedule": lambda: grad(x0)}
                    return fns, {}

                def check(outputs: dict[str, Any]) -> dict[str, float]:
                    ref = outputs["plain_tape"]
                    scale = max(1.0, float(np.max(np.abs(ref))))
                    return {"schedule": float(np.max(np.abs(outputs["schedule"] - ref))) / scale}

                timing_trial(ctx, NAME, config,
                             [Method("f", "plain"), Method("plain_tape", "reverse", plain_est),
                              Method("schedule", "reverse", est)], setup, check)
                bar.step(f"s={s} {schedule} c={c} memory")
                memory_trial(ctx, NAME, config, Method("memory", "reverse", est),
                             "experiments.suite.checkpointing:target",
                             {"schedule": schedule, "n": n, "s": s, "c": c})
                bar.step(f"s={s} {schedule} c={c} recomputation")
                value_row(ctx, NAME, config, Method("recomputation", "reverse"),
                          lambda schedule=schedule, s=s, c=c: _count_advances(schedule, n, s, c))
