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
from typing import Any

import numpy as np

from .errors import ModesError
from .registry import Primitive, Traced, apply, plain
from .tracing import ArrayBox
from .unbroadcast import ShapeOnly, shape_of, unbroadcast

# A node is either
#   (edges,)                                  elementwise: edges = ((parent, partial, parent_shape), ...)
#   (prim, parents, ans, args, kwargs)        structural: parents = ((argnum, parent, shape), ...)
# and a leaf (an input) is None.
Node = tuple | None


class Tape:
    """The Wengert list of one reverse-mode trace.

    ``len(tape)`` is the number of nodes (inputs included); ``tape.nbytes`` the exact bytes of the
    residual arrays the tape holds (each array counted once, however many nodes share it).
    """

    __slots__ = ("nodes", "names", "values")

    def __init__(self, keep_values: bool = False) -> None:
        self.nodes: list[Node] = []
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

    @property
    def nbytes(self) -> int:
        seen: set[int] = set()
        total = 0

        def count(r: Any) -> int:
            r = plain(r)
            if isinstance(r, np.ndarray) and id(r) not in seen:
                seen.add(id(r))
                return r.nbytes
            return 0

        for node in self.nodes:
            if node is None:
                continue
            if len(node) == 1:
                for _, p, _ in node[0]:
                    total += count(p)
            else:
                total += count(node[2])
                for a in node[3]:
                    total += count(a)
        return total

    def __repr__(self) -> str:
        return f"<Tape: {len(self)} nodes, {self.nbytes} residual bytes>"


class Var(ArrayBox):
    """A value traced onto a ``Tape`` at nesting ``level``; ``index`` is its node in the list."""

    __slots__ = ("value", "_tape", "_index", "_level")

    def __init__(self, value: Any, tape: Tape, index: int, level: int) -> None:
        self.value = value
        self._tape = tape
        self._index = index
        self._level = level

    def __repr__(self) -> str:
        return f"Var({self.value!r}, node={self._index})"

    def _apply(self, prim: Primitive, args: tuple, kwargs: dict) -> Any:
        level = self._level
        tape = self._tape
        vals = list(args)
        parents = []
        for i, a in enumerate(args):
            if type(a) is Var and a._level == level:
                if a._tape is not tape:
                    raise ModesError(
                        "a traced value from another reverse-mode trace leaked into this one (for "
                        "example through a global or a closure kept across calls); pass it as an "
                        "argument instead."
                    )
                vals[i] = a.value
                parents.append((i, a._index))
        ans = apply(prim, tuple(vals), kwargs)
        partials = prim.partials
        if partials is not None:
            edges = []
            for i, idx in parents:
                rule = partials[i]
                if rule is not None:
                    edges.append((idx, rule(ans, *vals), shape_of(vals[i])))
            if not edges:
                return ans
            node: Node = (tuple(edges),)
        else:
            vjp = prim.vjp
            assert vjp is not None
            variadic = prim.variadic
            ps = tuple(
                (i, idx, shape_of(vals[i])) for i, idx in parents if variadic or vjp[i] is not None
            )
            if not ps:
                return ans
            if prim.linear:
                node = (prim, ps, ShapeOnly(ans), tuple(_shape_only(v) for v in vals), kwargs)
            else:
                node = (prim, ps, ans, tuple(vals), kwargs)
        nodes = tape.nodes
        nodes.append(node)
        if tape.names is not None:
            refs = [("node", a._index) if type(a) is Var and a._level == level else ("const", a)
                    for a in args]
            tape.names.append((prim.name, refs, kwargs))  # type: ignore[arg-type]
            tape.values.append(ans)  # type: ignore[union-attr]
        return Var(ans, tape, len(nodes) - 1, level)


def _shape_only(v: Any) -> Any:
    return ShapeOnly(v) if isinstance(v, (np.ndarray, Traced)) else v


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
    ``on_step(i, bar_i, [(parent, contribution), ...])`` observes each step (used by ``explain``).
    """
    nodes = tape.nodes
    n = out_index + 1
    bars: list[Any] = [None] * n
    owned = bytearray(n)  # 1 where bars[j] is an ndarray this sweep created and may update in place
    bars[out_index] = seed
    keep = set(wanted)
    batch = shape_of(seed)[:batch_ndim]
    ndarray = np.ndarray
    for i in range(out_index, -1, -1):
        g = bars[i]
        node = nodes[i]
        if node is None or g is None:
            continue
        if i not in keep:
            bars[i] = None
        if not retain:
            nodes[i] = None
        steps: list[tuple[int, Any]] | None = [] if on_step is not None else None
        if len(node) == 1:  # elementwise: bar_parent += unbroadcast(partial * bar)
            for j, p, pshape in node[0]:
                if type(p) is int and (p == 1 or p == -1):
                    c = g if p == 1 else -g
                    fresh = p == -1
                else:
                    c = p * g
                    fresh = True
                target = batch + pshape if batch_ndim else pshape
                if shape_of(c) != target:
                    c = unbroadcast(c, target)
                    fresh = True
                if steps is not None:
                    steps.append((j, c))
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
            if on_step is not None:
                on_step(i, g, steps)  # type: ignore[arg-type]
            continue
        prim, parents, ans, args, kwargs = node
        for argnum, j, pshape in parents:
            b = bars[j]
            target = batch + pshape
            acc = prim.vjp_accumulate
            if acc is not None and type(g) is ndarray and (b is None or owned[j]):
                if b is None:
                    b = np.zeros(target)
                    bars[j] = b
                    owned[j] = 1
                acc(b, g, ans, *args, **kwargs)
                if steps is not None:
                    steps.append((j, prim.vjp_rule(argnum)(g, ans, *args, **kwargs)))  # type: ignore[misc]
                continue
            if prim.variadic:
                c = prim.vjp(argnum, g, ans, *args, **kwargs)  # type: ignore[misc]
            else:
                c = prim.vjp[argnum](g, ans, *args, **kwargs)  # type: ignore[index]
            if shape_of(c) != target:
                c = unbroadcast(c, target)
            if steps is not None:
                steps.append((j, c))
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


def is_var_at(x: Any, level: int) -> bool:
    return type(x) is Var and x._level == level


__all__ = ["Tape", "Var", "reverse_sweep", "apply"]
