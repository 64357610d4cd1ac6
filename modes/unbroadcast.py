"""Shape helpers shared by both modes: summing a broadcast result back to an argument's shape."""

from __future__ import annotations

from typing import Any

import math

import numpy as np


def shape_of(x: Any) -> tuple[int, ...]:
    """Shape of a float, an ndarray or a traced value (Python scalars have shape ())."""
    s = getattr(x, "shape", None)
    return () if s is None else s


class ShapeOnly:
    """Stand-in for an argument whose rules need only its shape (kept on the tape instead of values)."""

    __slots__ = ("shape",)
    dtype = np.dtype(float)

    def __init__(self, shape: tuple[int, ...]) -> None:
        self.shape = shape

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def size(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64))

    def __repr__(self) -> str:
        return f"ShapeOnly{self.shape}"


def unbroadcast(v: Any, shape: tuple[int, ...], nb: int = 0) -> Any:
    """Sum ``v`` over the axes that broadcasting added or stretched, so that it has ``shape``.

    ``shape`` includes any leading batch axes; ``nb`` says how many: the axes broadcasting added to
    a lower-rank argument sit right after them. Works on traced values (it uses ``np.sum``).
    """
    vshape = shape_of(v)
    if vshape == shape:
        return v
    lead = len(vshape) - len(shape)
    if lead < 0:  # v is smaller than the target: it was a constant broadcast inside a rule.
        return np.broadcast_to(v, shape)
    axes = tuple(range(nb, nb + lead)) + tuple(
        lead + i for i in range(nb, len(shape)) if shape[i] == 1 and vshape[lead + i] != 1
    )
    if axes:
        v = np.sum(v, axis=axes)
        if len(shape_of(v)) != len(shape):
            v = np.reshape(v, shape)
    if shape_of(v) != shape:
        v = np.broadcast_to(v, shape)
    return v


def has_inf(x: Any) -> bool:
    """True if the value under any boxes holds an infinity."""
    while hasattr(x, "_level"):  # a traced value: look at the number underneath
        x = x.value
    if type(x) is float:
        return x in (math.inf, -math.inf)
    return bool(np.isinf(x).any())


def expand_tangent(t: Any, ndim_out: int, nb: int) -> Any:
    """Insert unit axes after the batch axes so a tangent of a lower-rank argument broadcasts."""
    tshape = shape_of(t)
    missing = ndim_out - (len(tshape) - nb)
    if missing <= 0:
        return t
    return np.reshape(t, tshape[:nb] + (1,) * missing + tshape[nb:])
