"""The cost model behind ``jacobian(mode="auto")`` and the default chunk size.

A Jacobian of f: R^n -> R^m costs about n forward directions or m reverse sweeps. One reverse
sweep costs more than one forward direction (it first records a tape, then walks it), so forward
mode is chosen while ``n <= REVERSE_WEIGHT * m``. The weight is calibrated by the
``jacobian_crossover`` experiment on this machine; see results/REPORT.md.
"""

from __future__ import annotations

import math

REVERSE_WEIGHT = 2.0
# Cap on the number of tangent (or cotangent) entries one chunk carries per intermediate.
CHUNK_ELEMENTS = 1 << 22


def choose_mode(n_in: int, n_out: int, reverse_weight: float = REVERSE_WEIGHT) -> str:
    """``"forward"`` or ``"reverse"`` for a Jacobian with ``n_in`` inputs and ``n_out`` outputs."""
    return "forward" if n_in <= reverse_weight * n_out else "reverse"


def default_chunk(n_directions: int, size: int) -> int:
    """Directions per pass: all of them while the chunk stays under ``CHUNK_ELEMENTS`` entries."""
    if n_directions <= 0:
        return 1
    return max(1, min(n_directions, CHUNK_ELEMENTS // max(1, size)))


def passes(n_directions: int, chunk: int) -> int:
    return math.ceil(n_directions / max(1, chunk))
