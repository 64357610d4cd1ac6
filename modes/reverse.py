"""Reverse mode: a tape (Wengert list) recorded in the nominal pass, walked back by the reverse sweep.

During the nominal pass each primitive applied to a ``Var`` appends one node to the ``Tape``: the
indices of its traced parents and only the residuals its rule needs. Elementwise primitives store
their local partials (``x * y`` keeps ``y`` and ``x``; ``x + c`` keeps nothing); structural
primitives keep the arguments their vector-Jacobian rules read (shapes only for linear ones).

The reverse sweep starts every adjoint ("bar") lazily at zero, sets the output's bar to the seed,
walks the nodes backwards accumulating ``bar_parent += ...`` and frees each bar and node once used.
It is a plain loop over the list, so chains of any depth work without recursion.
"""

from __future__ import annotations

from collections.abc import Callable
from sys import getrefcount
from typing import Any

import numpy as np

from . import context
from .errors import LeakedTracerError
from .levels import check_open
from .registry import Primitive, Traced, apply, plain
from .tracing import OPS, ArrayBox, lift_args
from .unbroadcast import ShapeOnly, has_inf, shape_of, unbroadcast

# A node is either
#   (edges, ans, args, prim)                  elementwise: edges = ((parent, partial_rule, parent_shape), ...)
#                                             with ans/args kept only where some partial reads them
#   (prim, parents, ans, args, kwargs)        structural: parents = ((argnum, parent, shape), ...)
# and a leaf (an input) is None.
Node = tuple | None


class Tape:
    """The Wengert list of one reverse-mode trace.

    ``len(tape)`` is the number of nodes (inputs included); ``tape.nbytes`` the exact bytes of the
    residual arrays the tape holds (each array counted once, however many nodes share it).
    """

    __slots__ = ("nodes", "names", "values", "foreign_constants", "__weakref__")

    def __init__(self, keep_values: bool = False, foreign_constants: bool = False) -> None:
        self.nodes: list[Node] = []
        # True for the local tape of a recomputed checkpoint: values of the enclosing tape that
        # the segment closes over are constants here (their own derivatives were recorded there).
        self.foreign_constants = foreign_constants
        if _TRACKING[0]:
            live = _STATE.live_tapes
            if live is not None:
                live.add(self)
        # For explain(): (primitive name, argument refs, kwargs) and value of every node, on request.
        self.names: list[Any] | None = [] if keep_values else None
        self.values: list[Any] | None = [] if keep_values else None

    def __len__(self) -> int:
        return len(self.nodes)

    def leaf(self, value: Any, level: int, name: str = "input") -> Var:
        self.nodes.append(None)
        if self.names is not None:
            self.names.append(name)
            self.values.append(value)  # type: ignore[union-attr]
        return Var(value, self, len(self.nodes) - 1, level)

    def leaves(self, args: Any, argnums: Any, level: int) -> tuple[list[Any], list[Var]]:
        """``args`` with ``args[i]`` made an input of this tape for i in ``argnums``; the inputs."""
        boxed = list(args)
        leaves = []
        for i in argnums:
            leaf = self.leaf(args[i], level)
            boxed[i] = leaf
            leaves.append(leaf)
        return boxed, leaves

    @property
    def nbytes(self) -> int:
        return self.residual_bytes(set())

    def residual_bytes(self, seen: set[int]) -> int:
        """Bytes of the residual arrays not already in ``seen`` (which it extends)."""
        total = 0

        def count(r: Any) -> int:
            r = plain(r)
            if isinstance(r, (np.ndarray, np.generic)):
                if id(r) in seen:
                    return 0
                seen.add(id(r))
                return r.nbytes
            if type(r) is float:  # a Python float residual: its 8 bytes of value
                if id(r) in seen:
                    return 0
                seen.add(id(r))
                return 8
            held = getattr(r, "residual_arrays", None)  # e.g. a checkpointed loop's snapshots
            return sum(count(a) for a in held()) if held is not None else 0

        for node in self.nodes:
            if node is None:
                continue
            if len(node) == 4:
                total += count(node[1])
                for v in node[2]:
                    total += count(v)
            else:
                total += count(node[2])
                for a in node[3]:
                    total += count(a)
        return total

    def __repr__(self) -> str:
        return f"<Tape: {len(self)} nodes, {self.nbytes} residual bytes>"


# While modes.memory.track() is active, STATE.live_tapes holds every tape of this thread alive.
_STATE = context.STATE
_TRACKING = context.TRACKING
_SLOW = context.SLOW

_NONES = [(None,) * n for n in range(8)]
_NOKW: dict = {}
_EVERY = [(1 << (n + 1)) - 2 for n in range(8)]
ndarray = np.ndarray


class Var(ArrayBox):
    """A value traced onto a ``Tape`` at nesting ``level``; ``index`` is its node in the list."""

    __slots__ = ("value", "_tape", "_index", "_level", "_views")

    def __init__(self, value: Any, tape: Tape, index: int, level: int) -> None:
        self.value = value
        self._tape = tape
        self._index = index
        self._level = level
        self._views: dict | None = None  # basic-indexing results already recorded (large arrays)

    def __repr__(self) -> str:
        return f"Var({self.value!r}, node={self._index})"

    def _apply2(self, prim: Primitive, a: Any, b: Any) -> Any:
        """``_apply`` for a binary elementwise operator (the hot path of scalar code)."""
        level = self._level
        tape = self._tape
        da = type(a) is Var and a._level == level
        db = type(b) is Var and b._level == level
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
                or tape.names is not None or (da and a._tape is not tape)
                or (db and b._tape is not tape) or (not da and isinstance(a, Traced))
                or (not db and isinstance(b, Traced))):
            return self._apply(prim, (a, b), _NOKW)
        reads = prim.reads
        need = (reads[0] if da else 0) | (reads[1] if db else 0)  # type: ignore[index]
        ans = None
        if _ELISION[0] and prim.ufunc is not None:
            if _PROBE is not None:
                _PROBE.append((getrefcount(a), getrefcount(b), getrefcount(va), getrefcount(vb)))
            # Temporary elision, as numpy does for plain arrays: an operand that is a dying
            # temporary, whose buffer nobody else holds and no partial reads, takes the result.
            elif (da and not need & 2 and type(va) is ndarray and va.size >= _BIG
                    and getrefcount(a) <= _ELISION[1]
                    and getrefcount(va) <= _ELISION[3] and _reusable(va, vb)):
                ans = prim.ufunc(va, vb, out=va)
            elif (db and not need & 4 and type(vb) is ndarray and vb.size >= _BIG
                    and getrefcount(b) <= _ELISION[2]
                    and getrefcount(vb) <= _ELISION[4] and _reusable(vb, va)):
                ans = prim.ufunc(va, vb, out=vb)
        if ans is None:
            ans = prim.fn(va, vb)
        edges = []
        if da:
            t = type(va)
            edges.append((a._index, partials[0],
                          va.shape if t is ndarray else (() if t is float else shape_of(va))))
        if db:
            t = type(vb)
            edges.append((b._index, partials[1],
                          vb.shape if t is ndarray else (() if t is float else shape_of(vb))))
        nodes = tape.nodes
        nodes.append((edges, ans if need & 1 else None,
                      (va if need & 2 else None, vb if need & 4 else None), prim))
        return Var(ans, tape, len(nodes) - 1, level)

    def __getitem__(self, index: Any) -> Any:
        value = self.value
        tape = self._tape
        if (type(value) is not ndarray or tape.names is not None
                or not (type(index) is slice or type(index) is int or _basic_tuple(index))):
            return self._apply(OPS.getitem, (self,), {"index": index})
        # Basic indexing of a plain array: the getitem primitive's node, recorded directly.
        key = None
        if value.size >= _BIG:
            # The same view taken twice (x[:-1] in two places) is one node: its bar is summed
            # before it is scattered into x's bar, once.
            key = _index_key(index)
            if self._views is not None and key in self._views:
                return self._views[key]
        prim = OPS.getitem
        ans = prim.fn(value, index=index)
        nodes = tape.nodes
        nodes.append((prim, [(0, self._index, value.shape)], ShapeOnly(ans.shape),
                      [ShapeOnly(value.shape)], {"index": index}))
        out = Var(ans, tape, len(nodes) - 1, self._level)
        if key is not None:
            if self._views is None:
                self._views = {}
            self._views[key] = out
        return out

    def _apply(self, prim: Primitive, args: tuple, kwargs: dict) -> Any:
        level = self._level
        tape = self._tape
        vals = list(args)
        parents = []
        nested = False
        for i, a in enumerate(args):
            if type(a) is Var and a._level == level:
                v = vals[i] = a.value
                if isinstance(v, Traced):
                    nested = True
                    check_open(v, prim)
                if a._tape is not tape:
                    if not tape.foreign_constants:
                        raise LeakedTracerError(a, f"was passed to {prim.name!r} in another trace")
                    continue  # recomputing a checkpoint: the enclosing tape's values are constants
                parents.append((i, a._index))
            elif isinstance(a, Traced):
                nested = True
                check_open(a, prim)
            elif type(a) is ndarray and a.dtype.hasobject:  # np.array([x, y]) of traced entries
                return apply(prim, lift_args(args), kwargs)
        # Lower-level boxes underneath: let the enclosing transformation trace this primitive too.
        if nested:
            ans = apply(prim, tuple(vals), kwargs)
        else:
            ans = prim.fn(*vals, **kwargs) if kwargs else prim.fn(*vals)
        partials = prim.partials
        if partials is not None:
            edges = []
            need = 0
            reads = prim.reads
            for i, idx in parents:
                rule = partials[i]
                if rule is not None:
                    v = vals[i]
                    tv = type(v)
                    edges.append((idx, rule, v.shape if tv is ndarray else
                                  (() if tv is float else shape_of(v))))
                    need |= reads[i]  # type: ignore[index]
            if not edges:
                return ans
            # Keep only what the partials read: x + c keeps nothing, x * y keeps the other factor.
            n = len(vals)
            if need == 0:
                node: Node = (edges, None, _NONES[n], prim)
            else:
                every = _EVERY[n]
                if need & every == every:
                    res_vals = vals
                else:
                    res_vals = [v if need >> (k + 1) & 1 else None for k, v in enumerate(vals)]
                node = (edges, ans if need & 1 else None, res_vals, prim)
        else:
            vjp = prim.vjp
            assert vjp is not None
            variadic = prim.variadic
            ps = [(i, idx, shape_of(vals[i])) for i, idx in parents if variadic or vjp[i] is not None]
            if not ps:
                return ans
            if prim.linear:  # the rules read shapes only: keep no values
                node = (prim, ps, ShapeOnly(shape_of(ans)), [_shape_only(v) for v in vals], kwargs)
            else:
                node = (prim, ps, ans, vals, kwargs)
        nodes = tape.nodes
        nodes.append(node)
        if tape.names is not None:
            refs = [("node", a._index) if type(a) is Var and a._level == level else ("const", a)
                    for a in args]
            tape.names.append((prim.name, refs, kwargs))  # type: ignore[arg-type]
            tape.values.append(ans)  # type: ignore[union-attr]
        return Var(ans, tape, len(nodes) - 1, level)


# Temporary elision in the nominal pass: [enabled, max refcount of a dying left / right operand
# inside _apply2, max refcount of its buffer]. Calibrated below on this interpreter: if a dying
# temporary cannot be told from a named value by its reference count, elision stays off.
_ELISION: list[Any] = [False, 0, 0, 0, 0]
# Arrays from this many elements (256 KiB of float64, numpy's own threshold) are worth reusing.
_BIG = 1 << 15
_PROBE: list | None = None
_FLOAT64 = np.dtype(np.float64)


def _reusable(buf: np.ndarray, other: Any) -> bool:
    """``buf`` can take ``op(buf, other)`` in place: it owns its float64 data, nobody else holds
    it, and ``other`` broadcasts to its shape without changing the result type."""
    if buf.dtype is not _FLOAT64 and buf.dtype != _FLOAT64:
        return False
    if not (buf.flags.owndata and buf.flags.writeable):
        return False
    t = type(other)
    if t is float or t is int:
        return True
    if t is ndarray:
        return other.dtype == _FLOAT64 and other.ndim <= buf.ndim and (
            other.shape == buf.shape or np.broadcast_shapes(other.shape, buf.shape) == buf.shape)
    return False


def _calibrate_elision() -> None:
    global _PROBE
    probe: list = []
    tape = Tape()
    x = tape.leaf(np.ones(4), 1)
    _ELISION[0] = True
    _PROBE = probe
    try:
        (x * 2.0) + 1.0  # noqa: B018  a dying temporary on the left
        named = x * 2.0
        named + 1.0  # noqa: B018
        1.0 + (x * 2.0)  # noqa: B018  on the right
        named2 = x * 2.0
        1.0 + named2  # noqa: B018
    finally:
        _PROBE = None
        _ELISION[0] = False
    adds = probe[1::2]  # the even entries are the x * 2.0 products
    if (len(adds) == 4 and adds[0][0] < adds[1][0] and adds[2][1] < adds[3][1]
            and adds[0][2] == adds[1][2] and adds[2][3] == adds[3][3]):
        # [on, dying left Var, dying right Var, its buffer held by the Var alone (left, right)]
        _ELISION[:] = [True, adds[0][0], adds[2][1], adds[0][2], adds[2][3]]


def _index_key(index: Any) -> Any:
    """A hashable stand-in for a basic index (slices are not hashable before Python 3.12)."""
    if type(index) is slice:
        return ("s", index.start, index.stop, index.step)
    if type(index) is tuple:
        return tuple(_index_key(i) for i in index)
    return index


def _basic_tuple(index: Any) -> bool:
    if type(index) is not tuple:
        return False
    for i in index:
        t = type(i)
        if not (t is slice or t is int or i is None or i is Ellipsis):
            return False
    return True


def _shape_only(v: Any) -> Any:
    t = type(v)
    if t is ndarray:
        return ShapeOnly(v.shape)
    return ShapeOnly(v.shape) if isinstance(v, Traced) else v


def _fit(c: Any, target: tuple[int, ...], batch_ndim: int, prim: Primitive, argnum: int) -> Any:
    """A rule's cotangent summed or broadcast to ``target``; a shape that fits neither way is the
    rule's mistake, named as such."""
    try:
        fitted = unbroadcast(c, target, batch_ndim)
    except ValueError:
        fitted = None
    if fitted is None or shape_of(fitted) != target:
        raise prim.shape_error("vjp", argnum, shape_of(c), target)
    return fitted


def reverse_sweep(
    tape: Tape,
    out_index: int,
    seed: Any,
    batch_ndim: int,
    wanted: list[int],
    retain: bool = False,
    on_step: Callable[[int, Any, list[tuple[int, Any]]], None] | None = None,
) -> list[Any]:
    """Accumulate adjoints from node ``out_index`` (bar = ``seed``) back to the nodes in ``wanted``.

    ``seed`` has shape ``batch + out.shape`` with ``batch_ndim`` leading batch axes; every returned
    bar has shape ``batch + node.shape`` or is ``None`` (a zero adjoint). With ``retain=False`` each
    node is dropped from the tape once swept, so the residuals are freed as the sweep goes.
    ``on_step(i, bar_i, [(parent, contribution, partial or None), ...])`` observes each step
    (used by ``explain``).
    """
    nodes = tape.nodes
    n = out_index + 1
    bars: list[Any] = [None] * n
    owned = bytearray(n)  # 1 where bars[j] is an ndarray this sweep created and may update in place
    bars[out_index] = seed
    keep = bytearray(n)
    for j in wanted:
        if j < n:
            keep[j] = 1
    batch = shape_of(seed)[:batch_ndim]
    tracing = on_step is not None
    steps: list[tuple[int, Any, Any]] | None = None
    # 1 where a bar may hold an infinity (from sqrt at 0): its products then take 0 * inf as 0, the
    # convention forward mode follows too.
    infinite = bytearray(n)
    safe = _SLOW[0] and _STATE.nan_safe > 0  # every product takes an exact zero on either side as 0
    for i in range(out_index, -1, -1):
        g = bars[i]
        node = nodes[i]
        if node is None or g is None:
            continue
        if not keep[i]:
            bars[i] = None
        if not retain:
            nodes[i] = None
        if tracing:
            steps = []
        if len(node) == 4:  # elementwise: bar_parent += unbroadcast(partial * bar)
            edges, ans, vals, eprim = node
            strong = eprim.strong_zero
            if safe:
                strong = inf_i = True
            else:
                if strong is not False and strong is not True:
                    strong = strong(ans, *vals)
                inf_i = infinite[i]
            if not tracing and not strong and not inf_i and (type(g) is not ndarray or g.size < _BIG):
                # Scalars and small arrays: no in-place tricks, the fewest checks.
                for j, rule, pshape in edges:
                    p = rule(ans, *vals)
                    if type(p) is int and (p == 1 or p == -1):
                        c = g if p == 1 else -g
                        fresh = p == -1
                    else:
                        c = p * g
                        fresh = True
                    tc = type(c)
                    if tc is ndarray:
                        if c.shape != (batch + pshape if batch_ndim else pshape):
                            c = unbroadcast(c, batch + pshape, batch_ndim)
                            fresh = type(c) is ndarray and c.flags.writeable
                    elif tc is not float or batch_ndim or pshape:
                        target = batch + pshape
                        if shape_of(c) != target:
                            c = unbroadcast(c, target, batch_ndim)
                            fresh = type(c) is ndarray and c.flags.writeable
                    b = bars[j]
                    if b is None:
                        bars[j] = c
                        owned[j] = fresh and type(c) is ndarray
                    elif owned[j] and (type(c) is ndarray or type(c) is float):
                        b += c
                    else:
                        s = b + c
                        bars[j] = s
                        owned[j] = type(s) is ndarray
                continue
            # g is ours to overwrite once released (not kept) if this sweep allocated it.
            g_free = owned[i] and not keep[i]
            last = len(edges) - 1
            for e, (j, rule, pshape) in enumerate(edges):
                p = rule(ans, *vals)
                tp = type(p)
                if inf_i and tp is not int:
                    c = np.where(p == 0, 0.0, p * g)  # a zero partial times an infinite bar is 0
                    fresh = True
                elif tp is int and (p == 1 or p == -1):
                    if p == 1:
                        c = g
                        fresh = False
                        g_free = False  # now shared with bars[j]
                    elif g_free and e == last:
                        c = np.negative(g, out=g)
                        fresh = True
                    elif type(g) is ndarray and g.ndim and not any(g.strides):
                        c = np.broadcast_to(-g[(0,) * g.ndim], g.shape)
                        fresh = False
                    else:
                        c = -g
                        fresh = True
                elif type(g) is not ndarray or g.size < _BIG:
                    c = p * g  # small arrays and scalars: allocation is cheap, checks are not
                    fresh = True
                elif (tp is ndarray and p.shape == g.shape and p.dtype == g.dtype
                      and getrefcount(p) == 2):
                    c = np.multiply(p, g, out=p)  # p is a temporary nobody else holds
                    fresh = True
                elif g_free and e == last and tp is not ndarray and not isinstance(p, Traced):
                    c = np.multiply(g, p, out=g)  # a scalar partial times a bar we own
                    fresh = True
                elif not any(g.strides) and (tp is float or tp is int):
                    # A uniform bar (the broadcast seed of a sum) times a constant stays uniform.
                    c = np.broadcast_to(p * g[(0,) * g.ndim], g.shape)
                    fresh = False
                else:
                    c = p * g
                    fresh = True
                if strong and tp is not int:
                    c = np.where(g == 0, 0.0, c)  # an infinite partial times a zero bar is 0
                    fresh = True
                if (strong or inf_i) and has_inf(c):
                    infinite[j] = 1
                tc = type(c)
                if tc is not float or batch_ndim or pshape:
                    target = batch + pshape if batch_ndim else pshape
                    if (c.shape if tc is ndarray else shape_of(c)) != target:
                        c = unbroadcast(c, target, batch_ndim)
                        fresh = type(c) is ndarray and c.flags.writeable
                if steps is not None:
                    steps.append((j, c, p))
                b = bars[j]
                if b is None:
                    bars[j] = c
                    owned[j] = fresh and type(c) is ndarray
                elif owned[j] and (type(c) is ndarray or type(c) is float):
                    b += c
                else:
                    s = b + c
                    bars[j] = s
                    owned[j] = type(s) is ndarray
            if tracing:
                on_step(i, g, steps)  # type: ignore[arg-type, misc]
            continue
        prim, parents, ans, args, kwargs = node
        joint = prim.vjp_joint
        if joint is not None:
            joint_bars = joint(g, ans, [p[0] for p in parents], *args, consume=not retain, **kwargs)
        for k, (argnum, j, pshape) in enumerate(parents):
            if infinite[i]:
                infinite[j] = 1  # a structural map passes an infinity on (conservatively)
            b = bars[j]
            target = batch + pshape
            if joint is not None:
                c = joint_bars[k]
                if c is None:
                    continue
                if shape_of(c) != target:
                    c = unbroadcast(c, target, batch_ndim)
                if steps is not None:
                    steps.append((j, c, None))
                if b is None:
                    bars[j] = c
                else:
                    bars[j] = b + c
                    owned[j] = type(bars[j]) is ndarray
                continue
            acc = prim.vjp_accumulate
            if acc is not None and (b is None or owned[j]) and (
                    type(g) is ndarray or isinstance(g, (float, np.generic))):
                if b is None:
                    b = np.zeros(target)
                    bars[j] = b
                    owned[j] = 1
                acc(b, g, ans, *args, **kwargs)
                if steps is not None:
                    steps.append((j, prim.vjp_rule(argnum)(g, ans, *args, **kwargs), None))  # type: ignore[misc]
                continue
            if prim.variadic:
                c = prim.vjp(argnum, g, ans, *args, **kwargs)  # type: ignore[misc]
            else:
                c = prim.vjp[argnum](g, ans, *args, **kwargs)  # type: ignore[index]
            if shape_of(c) != target:
                c = _fit(c, target, batch_ndim, prim, argnum)
            if steps is not None:
                steps.append((j, c, None))
            if b is None:
                bars[j] = c
            elif owned[j] and type(c) is ndarray:
                b += c
            else:
                s = b + c
                bars[j] = s
                owned[j] = type(s) is ndarray
        if on_step is not None:
            on_step(i, g, steps)  # type: ignore[arg-type]
    return [bars[j] if j < n else None for j in wanted]


__all__ = ["Tape", "Var", "reverse_sweep"]

_calibrate_elision()
