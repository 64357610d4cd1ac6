"""The cost model behind ``jacobian(mode="auto")`` and the default chunk size.

A Jacobian of f: R^n -> R^m costs about n forward directions or m reverse sweeps. One reverse
sweep costs more than one forward direction (it first records a tape, then walks it), and for
few inputs one chunked forward pass beats recording plus sweeping whatever m is, so forward mode
is chosen while ``n <= REVERSE_WEIGHT * m + FORWARD_OFFSET``.

Both constants come from the ``jacobian_crossover`` experiment (results/cost_model_calibration.json,
"affine_rule"): on its 72 measured cells (tanh(A x) and a small MLP, n, m in 1..1024) this rule
picks the faster mode in 71, against 59 for the best rule through the origin (n <= 2 m).
"""

from __future__ import annotations

import math

REVERSE_WEIGHT = 1.68
FORWARD_OFFSET = 64
# Cap on the number of tangent (or cotangent) entries one chunk carries per intermediate.
CHUNK_ELEMENTS = 1 << 22


def choose_mode(n_in: int, n_out: int, reverse_weight: float = REVERSE_WEIGHT,
                forward_offset: float = FORWARD_OFFSET) -> str:
    """``"forward"`` or ``"reverse"`` for a Jacobian with ``n_in`` inputs and ``n_out`` outputs."""
    return "forward" if n_in <= reverse_weight * n_out + forward_offset else "reverse"


def default_chunk(n_directions: int, size: int) -> int:
    """Directions per pass: all of them while the chunk stays under ``CHUNK_ELEMENTS`` entries."""
    if n_directions <= 0:
        return 1
    return max(1, min(n_directions, CHUNK_ELEMENTS // max(1, size)))


def passes(n_directions: int, chunk: int) -> int:
    return math.ceil(n_directions / max(1, chunk))
