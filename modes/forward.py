"""Forward mode: dual numbers carrying a chunk of tangents through the nominal pass.

A ``Dual`` holds a value (Python float or ndarray, or a box of an enclosing transformation) and a
tangent of shape ``(k,) + value.shape``: k directional derivatives at once (a "chunk"), so a k-column
Jacobian block costs one pass. Nothing is recorded: once an intermediate is dead, it is gone.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .registry import Primitive, Traced, apply
from .tracing import ArrayBox
from .unbroadcast import expand_tangent, shape_of


# explain() sets this to a list to observe every forward step: (primitive, args, result).
RECORD: list | None = None


class Dual(ArrayBox):
    """A value with a chunk of k tangents (shape ``(k,) + value.shape``), at nesting ``level``."""

    __slots__ = ("value", "tangent", "_level")

    def __init__(self, value: Any, tangent: Any, level: int) -> None:
        self.value = value
        self.tangent = tangent
        self._level = level

    def __repr__(self) -> str:
        return f"Dual({self.value!r}, tangent={self.tangent!r})"

    def _apply(self, prim: Primitive, args: tuple, kwargs: dict) -> Any:
        level = self._level
        vals = []
        tangents = []
        for a in args:
            if type(a) is Dual and a._level == level:
                vals.append(a.value)
                tangents.append(a.tangent)
            else:
                vals.append(a)
                tangents.append(None)
        ans = apply(prim, tuple(vals), kwargs)
        t = forward_tangent(prim, ans, vals, tangents, kwargs)
        if t is None:
            return ans
        out = Dual(ans, t, level)
        if RECORD is not None:
            RECORD.append((prim, args, out))
        return out


def forward_tangent(prim: Primitive, ans: Any, vals: list, tangents: list, kwargs: dict) -> Any:
    """Tangent of ``ans`` from the argument tangents (``None`` = zero), by the primitive's rules."""
    out = None
    if prim.partials is not None:
        ndim_out = len(shape_of(ans))
        for i, t in enumerate(tangents):
            if t is None:
                continue
            rule = prim.partials[i]
            if rule is None:
                continue  # no derivative with respect to this argument (a mask, a condition...)
            p = rule(ans, *vals)
            t = expand_tangent(t, ndim_out, 1)
            if type(p) is int:
                term = t if p == 1 else (-t if p == -1 else p * t)
            else:
                term = p * t
            out = term if out is None else out + term
        if out is not None:
            want = shape_of(out)[:1] + shape_of(ans)
            if shape_of(out) != want:
                out = np.broadcast_to(out, want)
        return out
    jvp = prim.jvp
    if callable(jvp):  # one joint rule taking every tangent (None for zero), e.g. concatenate
        if all(t is None for t in tangents):
            return None
        return jvp(tangents, ans, *vals, **kwargs)
    assert jvp is not None
    for i, t in enumerate(tangents):
        if t is None:
            continue
        rule = jvp[i]
        if rule is None:
            continue
        term = rule(t, ans, *vals, **kwargs)
        out = term if out is None else out + term
    return out


def is_dual_at(x: Any, level: int) -> bool:
    return isinstance(x, Traced) and type(x) is Dual and x._level == level
