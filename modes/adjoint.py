"""The reverse sweep of a recorded ``Graph``, staged into the same graph as straight-line code.

Walking the operations backwards, each one's rules (from the registry, the same ones the
interpreted sweep calls) are evaluated on symbolic values, so the sweep itself is recorded:
``w2_bar = w3_bar * z`` for the multiply ``w3 = w2 * z``. Bars start at the first contribution and
are accumulated (``x_bar += w1_bar * y``) afterwards, in place where the bar is an array this sweep
owns. A rule whose result depends on values (it calls ``modes.plain``) is not staged: the program
calls the rule itself on the replayed values, which is always right.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .errors import ModesError
from .registry import Primitive
from .staging import Graph, Op, Sym, registered
from .tracing import OPS
from .unbroadcast import ShapeOnly, shape_of, unbroadcast

ndarray = np.ndarray


def _identity(x: Any) -> Any:
    return x


class Uniform:
    """A bar equal to one scalar over a whole shape (the bar of a sum's operand): kept as the
    scalar, so the sweep multiplies numbers instead of arrays of ones, until an operation needs
    the array itself."""

    __slots__ = ("value", "shape")

    def __init__(self, value: Any, shape: tuple[int, ...]) -> None:
        self.value = value
        self.shape = shape


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
        self._accumulators: dict[Primitive, tuple[Any, Any]] = {}

    def copy_of(self, x: Any, name: str) -> Sym:
        """A named copy of ``x`` (an alias in Python: no data is copied)."""
        return self.graph.record(None, "=", _identity, _identity, (x,), {})

    def add_to(self, parent: Sym, c: Any, owned: bool) -> None:
        """``parent_bar += c`` (``parent_bar = c`` for the first contribution); ``owned``: c is a
        new array nobody else holds."""
        name = self.names[parent] + "_bar"
        old = self.bars.get(parent)
        if type(c) is Uniform or type(old) is Uniform:
            self._add_uniform(parent, old, c, name)
            return
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

    def _add_uniform(self, parent: Sym, old: Any, c: Any, name: str) -> None:
        if old is None:
            self.bars[parent] = c
        elif type(old) is Uniform and type(c) is Uniform:
            self.bars[parent] = Uniform(self.graph.apply(OPS.add, (old.value, c.value), {}), c.shape)
        elif type(old) is Uniform:  # an array plus the scalar: broadcasting spreads it
            new = self.graph.apply(OPS.add, (c, old.value), {})
            self.names[new] = name
            self.owned.add(new)
            self.bars[parent] = new
        else:
            new = self.graph.apply(OPS.add, (old, c.value), {})
            self.names[new] = name
            self.accumulate[new] = old
            if old in self.owned and type(new._example) is ndarray \
                    and np.shape(old._example) == np.shape(new._example):
                self.inplace.add(new)
            self.owned.add(new)
            self.bars[parent] = new

    def _product(self, g: Any, p: Any) -> Any:
        """``g * p``; a scalar bar times a partial ``k * y`` (k a number) as ``(g * k) * y``, one
        pass over the array instead of two."""
        graph = self.graph
        if type(p) is Sym and p._index >= self.temp_from and np.ndim(_value(g)) == 0:
            op = graph.ops[p._index]
            if op.prim is OPS.multiply and not op.kwargs and len(op.args) == 2:
                k, y = op.args
                if type(y) in (int, float):
                    k, y = y, k
                if type(k) in (int, float) and type(y) is Sym and type(y._example) is ndarray:
                    return graph.apply(OPS.multiply, (graph.apply(OPS.multiply, (g, k), {}), y), {})
        return graph.apply(OPS.multiply, (g, p), {})

    def _is_one(self, x: Any) -> bool:
        """Whether ``x`` is the constant 1.0 (the seed) or a name for it."""
        while type(x) is Sym and x._index >= 0:
            op = self.graph.ops[x._index]
            if op.prim is not None or op.name != "=":
                return False
            x = op.args[0]
        return type(x) is float and x == 1.0

    def materialize(self, s: Sym) -> Any:
        """The bar of ``s`` as an array (``full(shape, value)`` for a uniform one)."""
        bar = self.bars.get(s)
        if type(bar) is not Uniform:
            return bar
        arr = self.graph.record(None, "full", np.full, np.full, (bar.shape, bar.value), {})
        self.names[arr] = self.names[s] + "_bar"
        self.owned.add(arr)
        self.bars[s] = arr
        return arr

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
            if type(g) is Uniform and op.prim.partials is None:
                g = self.materialize(op.out)
            self._reverse(op, g)

    def _as_uniform(self, c: Any) -> Any:
        """``c`` as a ``Uniform`` bar when the rule that made it broadcast one number
        (``broadcast_to(reshape(g, (1,)), shape)``: the bar of a full sum), else ``c``."""
        if type(c) is not Sym or c._index < self.temp_from:
            return c
        ops = self.graph.ops
        op = ops[c._index]
        if op.prim is None or op.prim is not registered("broadcast_to") or not op.args:
            return c
        v = op.args[0]
        reshape = registered("reshape")
        while type(v) is Sym and v._index >= 0 and ops[v._index].prim is reshape \
                and np.size(v._example) == 1:
            v = ops[v._index].args[0]
        if np.ndim(_value(v)) != 0 or not isinstance(_value(v), (float, np.floating)):
            return c
        return Uniform(v, np.shape(c._example))

    def _reverse(self, op: Op, g: Any) -> None:
        prim = op.prim
        assert prim is not None
        args, ans = op.args, op.out
        if prim.vjp_joint is not None:
            raise ModesError(
                f"modes.compile cannot compile {prim.name!r} (a checkpointed segment recomputed "
                "during the sweep); compile the function without modes.checkpoint, or keep it "
                "interpreted (modes.grad)")
        if prim.partials is not None:
            uniform = type(g) is Uniform
            gv = g.value if uniform else g  # type: ignore[attr-defined]
            for i, a in enumerate(args):
                rule = prim.partials[i] if i < len(prim.partials) else None
                if type(a) is not Sym or rule is None:
                    continue
                p = self.staged(rule, (ans,) + tuple(args), {}, f"partial_{prim.name}_{i}")
                if type(p) is int and (p == 1 or p == -1):
                    c = gv if p == 1 else self.graph.apply(OPS.negative, (gv,), {})
                    owned = p == -1
                elif type(p) is Sym and type(p._example) is ndarray and self._is_one(gv):
                    c, owned = p, False  # a seed of 1 times an array: no pass over the array
                else:
                    c = self._product(gv, p)
                    owned = True
                shape = shape_of(a._example)
                if uniform and shape_of(c) == ():
                    if shape == g.shape:  # type: ignore[attr-defined]
                        self.add_to(a, Uniform(c, shape), owned=False)
                        continue
                    c = self.graph.record(None, "full", np.full, np.full,
                                          (g.shape, c), {})  # type: ignore[attr-defined]
                if shape_of(c) != shape:
                    c = self.fit(c, shape, prim, i)
                    owned = False
                self.add_to(a, c, owned)
            return
        if self._accumulate(op, g):
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
            self.add_to(a, self._as_uniform(c), owned=False)


    def _accumulate(self, op: Op, g: Any) -> bool:
        """The registry's in-place cotangent rule (``vjp_accumulate``: getitem's ``bar[index] +=
        g``), into a bar this sweep owns: no zeros-and-add per slice. The traced program adds the
        primitive's ``vjp`` instead (boxes are not written in place)."""
        prim = op.prim
        assert prim is not None
        acc = prim.vjp_accumulate
        args = op.args
        if acc is None or not prim.linear or len(args) != 1 or type(args[0]) is not Sym:
            return False
        (a,) = args
        if type(a._example) is not ndarray or a._example.dtype.kind != "f":
            return False
        graph = self.graph
        if type(g) is Uniform:
            g = g.value if np.shape(op.out._example) == g.shape else self.materialize(op.out)
        b = self.materialize(a)
        if b is None:
            b = graph.record(None, "zeros", np.zeros, np.zeros, (a._example.shape,), {})
            self.names[b] = self.names[a] + "_bar"
            self.owned.add(b)
        elif b not in self.owned:
            return False
        fast, traced = self._accumulators.get(prim) or self._accumulators.setdefault(
            prim, _accumulators(prim))
        shapes = (ShapeOnly(np.shape(op.out._example)), ShapeOnly(a._example.shape))
        new = graph.record(None, "accumulate " + prim.name, _returning_bar(fast), traced,
                           (b, g) + shapes, op.kwargs)
        graph.ops[new._index].fn = fast  # the program calls the rule itself, as a statement
        self.names[new] = self.names[b]
        self.owned.add(new)
        self.bars[a] = new
        return True


def _returning_bar(acc: Any) -> Any:
    """An in-place rule as a function returning the bar (to evaluate it while tracing)."""
    def evaluate(bar: Any, *args: Any, **kw: Any) -> Any:
        acc(bar, *args, **kw)
        return bar
    return evaluate


def _accumulators(prim: Primitive) -> tuple[Any, Any]:
    """``prim``'s in-place cotangent rule (called as it is: it returns nothing) and its traced
    twin, which returns the new bar."""
    vjp = prim.vjp_rule(0)

    def traced(bar: Any, g: Any, ans: Any, x: Any, **kw: Any) -> Any:
        return bar + vjp(g, ans, x, **kw)  # type: ignore[misc]

    traced.__name__ = f"accumulate_{prim.name}"
    return prim.vjp_accumulate, traced


def _is_constant(x: Any) -> bool:
    return not isinstance(x, Sym) and not hasattr(x, "_level") and (
        isinstance(x, (int, float, np.number, ndarray)))


def _value(x: Any) -> Any:
    return x._example if type(x) is Sym else x


__all__ = ["Sweep", "Uniform"]
