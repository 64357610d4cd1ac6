"""Non-finite values stay local: a nan or inf reaches a derivative only where the chain rule puts it.

A derivative is a sum of products of local partials with tangents (forward) or bars (reverse).
IEEE arithmetic makes ``inf * 0`` and ``nan * 0`` nan, so one non-finite partial would poison the
derivatives with respect to every other input carried in the same chunk or batch. The convention
here: an exact zero on either side of such a product gives an exact zero.

Checking every partial would slow every primitive, so the check is made once, on the result: a
derivative computed with plain IEEE products differs from the convention's only by nans (a nan
spreads through every later sum and product of tangents), so a fully finite result is already
right. When a result holds a nan or inf, the transformation is run again under ``nan_safe()``,
where every elementwise product takes an exact zero on either side as zero.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from math import isfinite
from typing import Any

import numpy as np

from . import context
from .registry import Traced

_STATE = context.STATE
ndarray = np.ndarray


def all_finite(leaves: Iterable[Any]) -> bool:
    """Whether every number in ``leaves`` (floats, arrays, traced values: their values) is finite.

    May answer False for finite values above 1e154 in magnitude (a squared sum overflows); that
    only costs a rerun with the same result.
    """
    for b in leaves:
        t = type(b)
        if t is float:
            if b - b != 0:  # inf - inf and nan - nan are nan
                return False
            continue
        if isinstance(b, Traced):
            while isinstance(b, Traced):  # the numbers, read without a guard of modes.compile:
                b = b.value  # type: ignore[attr-defined]  # its replay checks finiteness itself
            t = type(b)
        if t is ndarray:
            if b.dtype.kind not in "fc" or not b.size:
                continue
            s = np.vdot(b, b) if b.ndim != 1 else b.dot(b)
        elif b is None:
            continue
        else:
            s = b * b
        if not isfinite(s):
            return False
    return True


@contextmanager
def nan_safe() -> Iterator[None]:
    """Compute derivatives with exact-zero products (see the module docstring) inside the block."""
    _STATE.nan_safe += 1
    context.open_slow_path()
    try:
        yield
    finally:
        context.close_slow_path()
        _STATE.nan_safe -= 1
