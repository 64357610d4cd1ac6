"""The reverse sweep of a recorded ``Graph``, staged into the same graph as straight-line code.

Walking the operations backwards, each one's rules (from the registry, the same ones the
interpreted sweep calls) are evaluated on symbolic values, so the sweep itself is recorded:
``w2_bar = w3_bar * z`` for the multiply ``w3 = w2 * z``. Bars start at the first contribution and
are accumulated (``x_bar += w1_bar * y``) afterwards, in place where the bar is an array this sweep
owns. A rule whose result depends on values (it calls ``modes.plain``) is not staged: the program
calls the rule itself on the replayed values, which is always right.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .errors import ModesError
from .registry import Primitive
from .staging import Graph, Op, Sym
from .tracing import OPS
from .unbroadcast import shape_of, unbroadcast

ndarray = np.ndarray


def _identity(x: Any) -> Any:
    return x


class Sweep:
    """The staged reverse sweep: which symbol holds each bar, and how to name and emit them."""

    def __init__(self, graph: Graph, names: dict[Sym, str], stage_all: bool = False) -> None:
        self.graph = graph
        # stage_all: record every rule op by op even where it reads values (for counting its
        # operations; such a program is valid only at the traced values)
        self.stage_all = stage_all
        self.names = names  # nominal values by name; bars get "<name>_bar"
        self.bars: dict[Sym, Any] = {}
        self.owned: set[Sym] = set()  # bars that are arrays this sweep created (safe to += into)
        self.accumulate: dict[Sym, Sym] = {}
        self.inplace: set[Sym] = set()
        self.temp_from = len(graph.ops)

    def copy_of(self, x: Any, name: str) -> Sym:
        """A named copy of ``x`` (an alias in Python: no data is copied)."""
        return self.graph.record(None, "=", _identity, _identity, (x,), {})

    def add_to(self, parent: Sym, c: Any, owned: bool) -> None:
        """``parent_bar += c`` (``parent_bar = c`` for the first contribution); ``owned``: c is a
        new array nobody else holds."""
        name = self.names[parent] + "_bar"
        old = self.bars.get(parent)
        if old is None:
            if type(c) is not Sym or c._index < self.temp_from or c in self.names:
                c = self.copy_of(c, name)  # an alias: a name for a value held elsewhere too
                owned = False
            self.names[c] = name
            self.bars[parent] = c
            if owned and type(c._example) is ndarray:
                self.owned.add(c)
            return
        new = self.graph.apply(OPS.add, (old, c), {})
        self.names[new] = name
        self.accumulate[new] = old
        ex_old, ex_new = old._example, new._example
        if (old in self.owned and type(ex_old) is ndarray and type(ex_new) is ndarray
                and ex_old.shape == ex_new.shape and ex_old.dtype == ex_new.dtype):
            self.inplace.add(new)
        if type(ex_new) is ndarray:
            self.owned.add(new)
        self.bars[parent] = new

    def staged(self, rule: Any, args: tuple, kwargs: dict, label: str) -> Any:
        """``rule(*args, **kwargs)`` recorded op by op, or as one call when it reads values."""
        graph = self.graph
        mark = graph.mark()
        try:
            result = rule(*args, **kwargs)
            clean = self.stage_all or len(graph.guards) == mark[1]
        except Exception:  # noqa: BLE001  a rule the symbolic values cannot follow: call it whole
            clean = False
            result = None
        if clean and (type(result) is Sym or _is_constant(result)):
            return result
        graph.rollback(mark)

        def call(*a: Any, **kw: Any) -> Any:
            return rule(*a, **kw)

        call.__name__ = label
        return graph.record(None, "rule " + label, call, call, args, kwargs)

    def fit(self, c: Any, shape: tuple[int, ...], prim: Primitive, argnum: int) -> Any:
        if shape_of(c) == shape:
            return c
        fitted = self.staged(unbroadcast, (c, shape), {}, "unbroadcast")
        if shape_of(fitted) != shape:
            raise prim.shape_error("vjp", argnum, shape_of(c), shape)
        return fitted

    def run(self, out: Sym, seed: Any) -> None:
        """Stage the sweep from ``out`` (bar = ``seed``) back to the inputs."""
        graph = self.graph
        nominal = graph.ops[: self.temp_from]
        self.add_to(out, seed, owned=False)
        for op in reversed(nominal):
            g = self.bars.get(op.out)
            if g is None or op.prim is None:
                continue
            self._reverse(op, g)

    def _reverse(self, op: Op, g: Sym) -> None:
        prim = op.prim
        assert prim is not None
        args, ans = op.args, op.out
        if prim.vjp_joint is not None:
            raise ModesError(
                f"modes.compile cannot compile {prim.name!r} (a checkpointed segment recomputed "
                "during the sweep); compile the function without modes.checkpoint, or keep it "
                "interpreted (modes.grad)")
        if prim.partials is not None:
            for i, a in enumerate(args):
                rule = prim.partials[i] if i < len(prim.partials) else None
                if type(a) is not Sym or rule is None:
                    continue
                p = self.staged(rule, (ans,) + tuple(args), {}, f"partial_{prim.name}_{i}")
                if type(p) is int and (p == 1 or p == -1):
                    c = g if p == 1 else self.graph.apply(OPS.negative, (g,), {})
                    owned = p == -1
                else:
                    c = self.graph.apply(OPS.multiply, (g, p), {})
                    owned = True
                shape = shape_of(a._example)
                if shape_of(c) != shape:
                    c = self.fit(c, shape, prim, i)
                    owned = False
                self.add_to(a, c, owned)
            return
        if prim is OPS.getitem and self._scatter(op, g):
            return
        for i, a in enumerate(args):
            if type(a) is not Sym:
                continue
            rule = prim.vjp_rule(i)
            if rule is None:
                continue
            c = self.staged(rule, (g, ans) + tuple(args), op.kwargs, f"vjp_{prim.name}_{i}")
            shape = shape_of(a._example)
            if shape_of(c) != shape:
                c = self.fit(c, shape, prim, i)
            self.add_to(a, c, owned=False)


    def _scatter(self, op: Op, g: Sym) -> bool:
        """``x_bar[index] += g`` in place for a basic index of an array (no zeros-and-add per
        slice, as a hand-written adjoint does it)."""
        (a,) = op.args
        index = op.kwargs.get("index")
        if list(op.kwargs) != ["index"] or type(a) is not Sym or type(a._example) is not ndarray or not _basic(index) \
                or a._example.dtype.kind != "f":
            return False
        graph = self.graph
        b = self.bars.get(a)
        if b is None:
            b = graph.record(None, "zeros", np.zeros, np.zeros, (a._example.shape,), {})
            self.names[b] = self.names[a] + "_bar"
            self.owned.add(b)
        elif b not in self.owned:
            return False
        shape = a._example.shape

        def scatter_add(b: Any, g: Any, index: Any) -> Any:
            b[index] += g
            return b

        def traced_scatter_add(b: Any, g: Any, index: Any) -> Any:  # boxes: no writes in place
            from .primitives import REGISTRY
            return b + REGISTRY["untake"](g, index=index, shape=shape, nb=0)

        new = graph.record(None, "scatter_add", scatter_add, traced_scatter_add, (b, g),
                           {"index": index})
        self.names[new] = self.names[b]
        self.owned.add(new)
        self.bars[a] = new
        return True


def _basic(index: Any) -> bool:
    """A basic index (ints, slices of ints, None, ...): its cotangent scatters without repeats."""
    if type(index) is tuple:
        return all(_basic(i) for i in index)
    if type(index) is slice:
        return all(v is None or type(v) is int for v in (index.start, index.stop, index.step))
    return type(index) is int or index is None or index is Ellipsis


def _is_constant(x: Any) -> bool:
    return not isinstance(x, Sym) and not hasattr(x, "_level") and (
        isinstance(x, (int, float, np.number, ndarray)))


def differentiable_inputs(graph: Graph, wrt: Sequence[Sym]) -> None:
    """Raise if an input to differentiate with respect to is not a float value."""
    for s in wrt:
        kind = np.asarray(s._example).dtype.kind
        if kind != "f":
            raise TypeError(f"modes.compile: cannot differentiate with respect to an input of dtype "
                            f"{np.asarray(s._example).dtype}; pass floats")


__all__ = ["Sweep"]
