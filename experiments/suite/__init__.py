"""The experiments, one module each, in the order ``run_all`` runs them.

Each module has ``NAME`` (also its CSV's name), ``TITLE`` and ``run(ctx: runner.Context) -> None``,
which measures its grid for ``ctx.profile`` and records one row per trial in ``ctx.store(NAME)``.
``EXPERIMENTS`` maps each name to its module, imported when first looked up: a memory probe that
loads one experiment module does not import every other one. ``EXPECTED`` is what ``run_all``
bases its "expect about N min" on.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator, Mapping
from types import ModuleType

ORDER = ("seed", "scalar_gradient", "jacobian_crossover", "memory", "gradient_cost", "checkpointing",
         "benchmarks", "peers")


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

# profile -> experiment -> (seconds into an empty --out, rows it then writes), measured on the
# 2-core reference machine while other work loaded it (load average about 2-3); ``run_all`` sums the
# seconds of the experiments it runs, each scaled by the share of its rows not yet recorded.
# ``library_speed`` (the lead's module) writes its own table and is timed in full every run.
EXPECTED: dict[str, dict[str, tuple[float, int]]] = {
    "tiny": {"seed": (3, 4), "scalar_gradient": (10, 15), "jacobian_crossover": (10, 40),
             "memory": (15, 5), "gradient_cost": (5, 6), "checkpointing": (15, 20),
             "benchmarks": (60, 50), "peers": (40, 60), "library_speed": (10, 0)},
    "quick": {"seed": (3, 4), "scalar_gradient": (25, 54), "jacobian_crossover": (60, 360),
              "memory": (45, 21), "gradient_cost": (10, 48), "checkpointing": (35, 45),
              "benchmarks": (55, 51), "peers": (60, 149), "library_speed": (15, 0)},
    "full": {"seed": (3, 4), "scalar_gradient": (300, 60), "jacobian_crossover": (600, 360),
             "memory": (400, 57), "gradient_cost": (200, 100), "checkpointing": (500, 160),
             "benchmarks": (1800, 150), "peers": (3600, 600), "library_speed": (30, 0)},
}
