"""Forward mode: dual numbers carrying a chunk of tangents through the nominal pass.

A ``Dual`` holds a value (Python float or ndarray, or a box of an enclosing transformation) and a
tangent of shape ``(k,) + value.shape``: k directional derivatives at once (a "chunk"), so a k-column
Jacobian block costs one pass. Nothing is recorded: once an intermediate is dead, it is gone.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from . import context
from .levels import check_open, mark_infinite
from .registry import Primitive, Traced, apply
from .tracing import ArrayBox, lift_args
from .unbroadcast import expand_tangent, has_inf, shape_of

# Nonzero while some thread has a level whose tangents may hold an infinity (sqrt at 0), records
# for explain(), or reruns nan-safe: the hot path then defers to _finish, which reads this thread's
# state (context.STATE) to decide.
_SLOW = context.SLOW
_STATE = context.STATE


ndarray = np.ndarray
_NOKW: dict = {}


class Dual(ArrayBox):
    """A value with a chunk of k tangents (shape ``(k,) + value.shape``), at nesting ``level``."""

    __slots__ = ("value", "tangent", "_level")

    def __init__(self, value: Any, tangent: Any, level: int) -> None:
        self.value = value
        self.tangent = tangent
        self._level = level

    def __repr__(self) -> str:
        return f"Dual({self.value!r}, tangent={self.tangent!r})"

    def _apply2(self, prim: Primitive, a: Any, b: Any) -> Any:
        """``_apply`` for a binary elementwise operator on scalars or arrays (the hot path)."""
        level = self._level
        da = type(a) is Dual and a._level == level
        db = type(b) is Dual and b._level == level
        if da:
            va = a.value
        else:
            va = a
            if type(a) is ndarray and a.dtype.hasobject:  # np.array([x, y]) of traced entries
                return self._apply(prim, (a, b), _NOKW)
        if db:
            vb = b.value
        else:
            vb = b
            if type(b) is ndarray and b.dtype.hasobject:
                return self._apply(prim, (a, b), _NOKW)
        partials = prim.partials
        if (partials is None or isinstance(va, Traced) or isinstance(vb, Traced)
                or _SLOW[0]):
            return self._apply(prim, (a, b), _NOKW)
        ans = prim.fn(va, vb)
        ta = type(ans)
        if ta is not float and (ta is not ndarray or ans.ndim):
            pairs = [(0, a.tangent)] if da else []
            if db:
                pairs.append((1, b.tangent))
            return self._finish(prim, (a, b), [va, vb], ans, pairs)
        t_out = None
        strong = prim.strong_zero
        if strong is not False and strong is not True:
            strong = strong(ans, va, vb)
        if da:
            p = partials[0](ans, va, vb)
            t = a.tangent
            t_out = (t if p == 1 else -t if p == -1 else p * t) if type(p) is int else p * t
            if strong:
                t_out = np.where(t == 0, 0.0, t_out)
                if has_inf(t_out):
                    mark_infinite(level)
        if db:
            p = partials[1](ans, va, vb)
            t = b.tangent
            term = (t if p == 1 else -t if p == -1 else p * t) if type(p) is int else p * t
            if strong:
                term = np.where(t == 0, 0.0, term)
                if has_inf(term):
                    mark_infinite(level)
            t_out = term if t_out is None else t_out + term
        return Dual(ans, t_out, level)

    def _apply(self, prim: Primitive, args: tuple, kwargs: dict) -> Any:
        level = self._level
        vals = list(args)
        pairs = []
        nested = False
        for i, a in enumerate(args):
            if type(a) is Dual and a._level == level:
                v = vals[i] = a.value
                pairs.append((i, a.tangent))
                if isinstance(v, Traced):
                    nested = True
                    check_open(v, prim)
            elif isinstance(a, Traced):
                nested = True
                check_open(a, prim)
            elif type(a) is ndarray and a.dtype.hasobject:  # np.array([x, y]) of traced entries
                return apply(prim, lift_args(args), kwargs)
        if nested:
            ans = apply(prim, tuple(vals), kwargs)
        else:
            ans = prim.fn(*vals, **kwargs) if kwargs else prim.fn(*vals)
        return self._finish(prim, args, vals, ans, pairs, kwargs)

    def _finish(self, prim: Primitive, args: tuple, vals: list, ans: Any, pairs: list,
                kwargs: dict = _NOKW) -> Any:
        """Form the tangent of ``ans`` from the (argnum, tangent) ``pairs`` by the prim's rules."""
        level = self._level
        partials = prim.partials
        if partials is not None:  # tangent = sum_i partial_i * tangent_i
            strong = prim.strong_zero
            if strong is not False and strong is not True:
                strong = strong(ans, *vals)
            careful = False
            if _SLOW[0]:
                state = _STATE
                if state.nan_safe:  # every product takes an exact zero on either side as 0
                    careful = strong = True
                else:
                    careful = level in state.infinite
            t_out = None
            ta = type(ans)
            ndim_out = 0 if ta is float else (ans.ndim if ta is ndarray else len(shape_of(ans)))
            for i, t in pairs:
                rule = partials[i]
                if rule is None:
                    continue  # no derivative with respect to this argument (a mask, a condition...)
                p = rule(ans, *vals)
                if ndim_out and t.ndim - 1 < ndim_out:
                    t = expand_tangent(t, ndim_out, 1)
                if type(p) is int:
                    term = t if p == 1 else (-t if p == -1 else p * t)
                else:
                    term = p * t
                    if strong:
                        term = np.where(t == 0, 0.0, term)  # an infinite partial times 0 is 0
                    if careful:
                        term = np.where(p == 0, 0.0, term)  # 0 times an infinite tangent is 0
                    if (strong or careful) and has_inf(term):
                        mark_infinite(level)
                t_out = term if t_out is None else t_out + term
            if t_out is None:
                return ans
            if ndim_out:
                want = shape_of(ans)
                if shape_of(t_out)[1:] != want:
                    t_out = np.broadcast_to(t_out, shape_of(t_out)[:1] + want)
        else:
            tangents: list[Any] = [None] * len(args)
            for i, t in pairs:
                tangents[i] = t
            t_out = structural_tangent(prim, ans, vals, tangents, kwargs)
            if t_out is None:
                return ans
            if prim.user and shape_of(t_out)[1:] != shape_of(ans):
                want = shape_of(t_out)[:1] + shape_of(ans)
                try:
                    t_out = np.broadcast_to(t_out, want)
                except ValueError:
                    i = next(i for i, t in enumerate(tangents) if t is not None)
                    raise prim.shape_error("jvp", i, shape_of(t_out), want) from None
        out = Dual(ans, t_out, level)
        if _SLOW[0]:
            record = _STATE.records.get(level)
            if record is not None:
                record.append((prim, args, out))
        return out


def structural_tangent(prim: Primitive, ans: Any, vals: list, tangents: list, kwargs: dict) -> Any:
    """Tangent of ``ans`` by a primitive's JVP rules (``None`` in ``tangents`` = zero tangent)."""
    jvp = prim.jvp
    if callable(jvp):  # one joint rule taking every tangent (None for zero), e.g. concatenate
        if all(t is None for t in tangents):
            return None
        return jvp(tangents, ans, *vals, **kwargs)
    assert jvp is not None
    out = None
    for i, t in enumerate(tangents):
        if t is None:
            continue
        rule = jvp[i]
        if rule is None:
            continue
        term = rule(t, ans, *vals, **kwargs)
        out = term if out is None else out + term
    return out

