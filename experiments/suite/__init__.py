"""The experiments, one module each, in the order ``run_all`` runs them.

Each module has ``NAME`` (also its CSV's name), ``TITLE`` and ``run(ctx: runner.Context) -> None``,
which measures its grid for ``ctx.profile`` and records one row per trial in ``ctx.store(NAME)``.
"""

from __future__ import annotations

from types import ModuleType

from . import (
    benchmarks,
    checkpointing,
    gradient_cost,
    jacobian_crossover,
    memory,
    peers,
    scalar_gradient,
    seed,
)

EXPERIMENTS: dict[str, ModuleType] = {
    mod.NAME: mod
    for mod in (seed, scalar_gradient, jacobian_crossover, memory, gradient_cost, checkpointing,
                benchmarks, peers)
}
