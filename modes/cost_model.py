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
``2716c6e549-0684ecf16c``. With these constants the rule n <= 0.375 m + 64 picks the faster mode in
70 of 72 cells (bootstrap: 95% interval 68 to 70), a geometric-mean slowdown of 1.006 (95% interval
1.005 to 1.019) over always picking the faster; these constants (with n0 = 64, every w with 0.188 <=
w < 0.75 makes the same choices) replaced n <= 1.68 m + 64 (68 of 72 cells, slowdown 1.022): they
were better in 99% of 1000 resamples, by 1.3% in the median one (criterion for changing the
constants: the fit's geometric-mean slowdown is below the library rule's in at least 95% of the
resamples and by at least 1% in the median one); the boundary n = w m + n0 refitted on each resample
lies at m = 1, n = 64.4 (95% interval 64.4 to 64.8); at m = 1024, n = 448 (95% interval 448 to 923).
.. calibration:end
"""

from __future__ import annotations

import math

# calibration:start
REVERSE_WEIGHT = 0.375
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
