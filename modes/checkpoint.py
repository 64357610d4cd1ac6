"""``checkpoint(fn)``: a segment whose intermediates stay off the tape and are recomputed.

In reverse mode, calling the checkpointed function records ONE node on the tape, keeping only the
segment's inputs. During the reverse sweep that node runs ``fn`` again on a local tape, at the same
nesting level, sweeps it with the incoming bar and hands the input bars on. In forward mode (and on
plain values) it is simply ``fn``.

Values the segment closes over rather than takes as arguments still get their derivatives: during
the nominal pass the segment runs one level up, so whatever it does with a closed-over traced
value is recorded on the enclosing tape as usual (those operations are kept, the rest are not); in
the recomputation they are constants. Pass large traced parameters as arguments to keep the tape
small.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from . import levels, memory
from .pytree import flatten, is_container, unflatten
from .registry import Primitive, Traced, value_at_level
from .reverse import Tape, Var, reverse_sweep
from .unbroadcast import shape_of


def top_box(args: Sequence[Any]) -> Any:
    """The argument traced at the innermost level, or None."""
    top = None
    for a in args:
        if isinstance(a, Traced) and (top is None or a._level > top._level):
            top = a
    return top


def record_segment(fn: Callable[..., Any], args: Sequence[Any], argnums: Sequence[int],
                   level: int) -> Any:
    """Run ``fn`` on a local tape at ``level`` with ``args[i]`` traced for i in ``argnums``.

    The enclosing tape's values that ``fn`` closes over are constants here. Returns
    ``(out, tape, leaves)``; ``memory.sample()`` is taken once the segment is recorded.
    """
    levels.reenter(level)
    try:
        tape = Tape(foreign_constants=True)
        boxed, leaves = tape.leaves(args, argnums, level)
        out = fn(*boxed)
    finally:
        levels.leave()
    memory.sample()
    return out, tape, leaves


def pull_segment(out: Any, tape: Tape, leaves: list[Var], level: int, g: Any) -> list[Any]:
    """Sweep a recorded segment from its output with bar ``g``; one bar (or None) per leaf."""
    if not (type(out) is Var and out._level == level and out._tape is tape):
        return [None] * len(leaves)
    batch_ndim = len(shape_of(g)) - len(shape_of(out.value))
    return reverse_sweep(tape, out._index, g, batch_ndim, [leaf._index for leaf in leaves])


def _checkpoint_vjp(g: Any, ans: Any, argnums: list[int], *args: Any, fn: Callable[..., Any],
                    level: int, n_inputs: int, consume: bool = True) -> list[Any]:
    inputs = [a for a in argnums if a < n_inputs]
    bars = dict.fromkeys(argnums)
    if inputs:
        out, tape, leaves = record_segment(fn, args[:n_inputs], inputs, level)
        for a, b in zip(inputs, pull_segment(out, tape, leaves, level, g)):
            bars[a] = b
    if n_inputs in bars:  # the closed-over part of the output passes its bar straight through
        bars[n_inputs] = g
    return [bars[a] for a in argnums]


def checkpoint(fn: Callable[..., Any]) -> Callable[..., Any]:
    """``fn`` whose internal intermediates are recomputed in the reverse sweep instead of taped.

    Same signature and results as ``fn``; only its inputs are kept on the enclosing tape. Nests,
    and composes with forward mode (where it is ``fn`` itself).
    """
    name = getattr(fn, "__name__", "fn")
    prim = Primitive(fn, f"checkpoint({name})", jvp=_no_jvp, vjp=_no_vjp)
    prim.vjp_joint = _checkpoint_vjp

    @functools.wraps(fn)
    def checkpointed(*args: Any) -> Any:
        if not any(is_container(a) for a in args):
            top = top_box(args)
            if type(top) is not Var:
                return fn(*args)
            return _record_checkpoint(fn, prim, top, args)
        leaves, treedef = flatten(args)
        top = top_box(leaves)
        if type(top) is not Var:
            return fn(*args)
        out_def: list[Any] = [None, ()]

        def flat_fn(*ls: Any) -> Any:  # containers in and out, seen as leaves in, one array out
            out = fn(*unflatten(treedef, ls))
            o_leaves, o_def = flatten(out)
            if o_def.is_leaf:
                return out
            out_def[:] = [o_def, [shape_of(o) for o in o_leaves]]
            return np.concatenate([np.reshape(o, (-1,)) for o in o_leaves])

        flat = _record_checkpoint(flat_fn, prim, top, tuple(leaves))
        if out_def[0] is None:
            return flat
        parts, offset = [], 0
        for shape in out_def[1]:
            size = math.prod(shape)
            parts.append(np.reshape(flat[offset : offset + size], shape))
            offset += size
        return unflatten(out_def[0], parts)

    return checkpointed


def _record_checkpoint(fn: Callable[..., Any], prim: Primitive, top: Var, args: tuple) -> Any:
    level, tape = top._level, top._tape
    argnums = [i for i, a in enumerate(args)
               if type(a) is Var and a._level == level and a._tape is tape]
    vals = [a.value if i in argnums else a for i, a in enumerate(args)]
    # Nominal pass one level up, on a tape that is dropped at once: only operations on values the
    # segment closes over reach the enclosing tape.
    inner = levels.enter()
    try:
        scratch = Tape()
        boxed = list(vals)
        for i in argnums:
            boxed[i] = scratch.leaf(vals[i], inner)
        out = fn(*boxed)
    finally:
        levels.leave()
    y = value_at_level(out, inner)
    del out, boxed, scratch
    closed_over = type(y) is Var and y._level == level and y._tape is tape
    value = y.value if closed_over else y
    parents = [(i, args[i]._index, shape_of(vals[i])) for i in argnums]
    if closed_over:
        parents.append((len(vals), y._index, shape_of(value)))
    if not parents:
        return value
    tape.nodes.append((prim, parents, None, vals + [None],
                       {"fn": fn, "level": level, "n_inputs": len(vals)}))
    return Var(value, tape, len(tape.nodes) - 1, level)


def _no_jvp(tangents: list, ans: Any, *args: Any, **kw: Any) -> Any:  # pragma: no cover
    raise AssertionError("a checkpoint runs fn itself in forward mode")


def _no_vjp(i: int, g: Any, ans: Any, *args: Any, **kw: Any) -> Any:  # pragma: no cover
    raise AssertionError("a checkpoint's cotangents come from its joint rule")
