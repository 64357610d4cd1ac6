"""The experiments, one module each, in the order ``run_all`` runs them.

Each module has ``NAME`` (also its CSV's name), ``TITLE`` and ``run(ctx: runner.Context) -> None``,
which measures its grid for ``ctx.profile`` and records one row per trial in ``ctx.store(NAME)``.
``EXPERIMENTS`` maps each name to its module, imported when first looked up: a memory probe that
loads one experiment module does not import every other one. ``EXPECTED`` and ``STARTUP_S`` are what
``run_all`` bases its "expect about N min" on.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator, Mapping
from types import ModuleType
from typing import NamedTuple

ORDER = ("seed", "scalar_gradient", "jacobian_crossover", "batched_reverse", "memory", "overhead",
         "gradient_cost", "compiled", "second_order", "sparse_jacobian", "checkpointing", "benchmarks",
         "peers")


class _Experiments(Mapping[str, ModuleType]):
    """name -> module of ``experiments.suite``, in ``ORDER``, imported on first access."""

    def __getitem__(self, name: str) -> ModuleType:
        if name not in ORDER:
            raise KeyError(name)
        return importlib.import_module(f"{__name__}.{name}")

    def __iter__(self) -> Iterator[str]:
        return iter(ORDER)

    def __len__(self) -> int:
        return len(ORDER)


EXPERIMENTS: Mapping[str, ModuleType] = _Experiments()

class Cost(NamedTuple):
    """What an experiment costs into an empty ``--out``: ``seconds`` in all, of which ``checks_s``
    for its checks (value rows, run every time), and the timing and memory ``rows`` it writes."""

    seconds: float
    rows: int
    checks_s: float = 0.0


# profile -> experiment -> Cost, measured on the 2-core reference machine while other work loaded it
# (load average 2-4): quick and tiny are one run each into an empty folder (quick: 202 s in all;
# compiled, memory and gradient_cost from a later run, 228 s in all, once compiled was added);
# full is rough, the quick per-trial times scaled by its number of trials and its longer timed
# batches (no full run was timed here). ``run_all`` sums the experiments it runs, each scaled by
# the share of its trials not yet recorded, plus ``STARTUP_S``. ``library_speed`` (the lead's
# module) is timed in full every run.
EXPECTED: dict[str, dict[str, Cost]] = {
    "tiny": {"seed": Cost(4, 0, 4), "scalar_gradient": Cost(8, 13), "jacobian_crossover": Cost(6, 32),
             "memory": Cost(5, 9), "overhead": Cost(10, 30), "gradient_cost": Cost(3, 6),
             "compiled": Cost(2, 49),
             "checkpointing": Cost(5, 8, 0.3), "benchmarks": Cost(15, 43), "peers": Cost(15, 40, 0.4),
             "library_speed": Cost(16, 0, 16), "batched_reverse": Cost(1, 10), "second_order": Cost(5, 30),
             "sparse_jacobian": Cost(3, 40)},
    "quick": {"seed": Cost(3.6, 0, 3.6), "scalar_gradient": Cost(12.7, 46),
              "jacobian_crossover": Cost(27.9, 125), "batched_reverse": Cost(7.0, 10),
              "memory": Cost(12.2, 24), "overhead": Cost(16.4, 38), "gradient_cost": Cost(6.1, 41),
              "compiled": Cost(20.7, 82),
              "second_order": Cost(7.6, 44), "sparse_jacobian": Cost(28.2, 72),
              "checkpointing": Cost(10.0, 20, 0.9), "benchmarks": Cost(13.6, 43),
              "peers": Cost(22.0, 62, 0.5), "library_speed": Cost(17.8, 0, 17.8)},
    "full": {"seed": Cost(5, 0, 5), "scalar_gradient": Cost(300, 54), "jacobian_crossover": Cost(400, 360),
             "memory": Cost(650, 109), "overhead": Cost(100, 57), "gradient_cost": Cost(170, 114),
             "compiled": Cost(300, 210),
             "checkpointing": Cost(1200, 140, 20), "benchmarks": Cost(2400, 150, 600),
             "peers": Cost(1500, 600, 1), "library_speed": Cost(40, 0, 40), "batched_reverse": Cost(32, 35),
             "second_order": Cost(900, 150), "sparse_jacobian": Cost(400, 280)},
}
# start-up (machine description, code hashes) and the calibration, plots and report at the end
STARTUP_S = {"tiny": 15.0, "quick": 22.0, "full": 60.0}
