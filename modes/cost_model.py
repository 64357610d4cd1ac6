"""The cost model behind ``jacobian(mode="auto")`` and the default chunk size.

A Jacobian of f: R^n -> R^m costs about n forward directions or m reverse sweeps. One reverse
sweep costs more than one forward direction (it first records a tape, then walks it), and for
few inputs one chunked forward pass beats recording plus sweeping whatever m is, so forward mode
is chosen while ``n <= REVERSE_WEIGHT * m + FORWARD_OFFSET``.

Both constants are fitted by the ``jacobian_crossover`` experiment and changed only when a new fit
is clearly better across bootstrap resamples of repeated, interleaved measurements
(``experiments/calibration.py`` states the criterion). The paragraph below and the constants are
generated from the record of that calibration; a test checks that they match it.

.. calibration:start
Calibration (generated from ``modes/cost_model_calibration.json`` by ``python -m
experiments.calibration adopt``; do not edit by hand): 72 cells of the ``jacobian_crossover``
experiment (mlp, tanh_affine; n in 1, 4, 16, 64, 256, 1024; m likewise), 2 trial(s) per cell of 10
interleaved rounds in all, measured 2026-12-03 on machine ``9c7ce9218f43``, code version
``896ae8d8d6-63034cb89a``. With these constants the rule n <= 1.68 m + 64 picks the faster mode in
68 of 72 cells (bootstrap: 95% interval 68 to 70), a geometric-mean slowdown of 1.018 (95% interval
1.014 to 1.023) over always picking the faster; the best fit on these cells makes the same choices
(criterion for changing the constants: the fit's geometric-mean slowdown is below the library rule's
in at least 95% of the resamples and by at least 1% in the median one); the boundary n = w m + n0
refitted on each resample lies at m = 1, n = 65.7 (65.7 in at least 95% of the resamples); at m =
1024, n = 1.78e+03 (1.78e+03 in at least 95% of the resamples).
.. calibration:end
"""

from __future__ import annotations

import math

# calibration:start
REVERSE_WEIGHT = 1.68
FORWARD_OFFSET = 64
# calibration:end
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
