"""Staging: run a function once on symbolic values that record every primitive it applies.

A ``Sym`` carries an example value (the numbers of the trace) and records, in its ``Graph``, each
primitive applied to it: the graph is the Wengert list of one run, as data. Everything that made the
run depend on a value (not only on shapes and dtypes) becomes a ``Guard``:

* ``truth``: ``if x > 0:`` or ``while err > tol:`` converted a traced boolean to a Python bool;
* ``index``: ``int(n)`` or ``range(k)`` of a traced integer;
* ``value``: ``modes.plain(x)`` (by the user or inside a rule) took the numbers themselves.

Comparisons and the piecewise-constant functions (``np.sign``, ``np.argmax``, ...) are recorded as
operations without a derivative, so ``np.where(x > 0, x, 0)`` replays on new values without a guard.
The compiled replay (``modes.compiled``) checks every guard and traces again when one fails.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from typing import Any

import numpy as np

from . import levels
from .errors import LeakedTracerError
from .registry import Primitive, Traced
from .tracing import FUNCTION_HANDLERS, OPS, UFUNC_HANDLERS, ArrayBox, lift_args

ndarray = np.ndarray


class Op:
    """One recorded operation ``out = fn(*args, **kwargs)``.

    ``prim`` is the registry primitive (``None`` for an operation without a derivative: a
    comparison, a piecewise-constant function, or a derivative rule called as a whole). ``fn``
    evaluates it on plain values, ``traced`` on values of an enclosing transformation; ``args`` and
    ``kwargs`` hold ``Sym`` values (also inside tuples and lists) and constants.
    """

    __slots__ = ("prim", "name", "fn", "traced", "args", "kwargs", "out", "_syms")

    def __init__(self, prim: Primitive | None, name: str, fn: Callable[..., Any],
                 traced: Callable[..., Any], args: tuple, kwargs: dict, out: Sym) -> None:
        self.prim = prim
        self.name = name
        self.fn = fn
        self.traced = traced
        self.args = args
        self.kwargs = kwargs
        self.out = out
        self._syms: list[Sym] | None = None

    def syms(self) -> list[Sym]:
        """The symbolic values this operation reads, in order (repeats kept)."""
        if self._syms is None:
            found: list[Sym] = []
            _collect(self.args, found)
            if self.kwargs:
                _collect(tuple(self.kwargs.values()), found)
            self._syms = found
        return self._syms

    def __repr__(self) -> str:
        return f"<Op {self.name}>"


class Guard:
    """A dependence of the trace on a value: replay is valid only while it holds."""

    __slots__ = ("sym", "kind", "expected")

    def __init__(self, sym: Sym, kind: str, expected: Any) -> None:
        self.sym = sym
        self.kind = kind  # "truth", "index", "value" or "shape"
        self.expected = expected

    def __repr__(self) -> str:
        return f"<Guard {self.kind} {self.expected!r}>"


class Graph:
    """The recorded program: its inputs, operations in order, and guards."""

    def __init__(self) -> None:
        self.inputs: list[Sym] = []
        self.ops: list[Op] = []
        self.guards: list[Guard] = []
        self.level = 0
        self._seen: dict[Any, Sym] = {}  # one symbol per distinct pure operation (x[:-1] twice)
        self._keys: list[Any] = []  # each operation's key in _seen (None: not shared)

    def mark(self) -> tuple[int, int]:
        return len(self.ops), len(self.guards)

    def rollback(self, mark: tuple[int, int]) -> None:
        """Forget the operations and guards recorded since ``mark``."""
        for key in self._keys[mark[0]:]:
            if key is not None:
                self._seen.pop(key, None)
        del self._keys[mark[0]:]
        del self.ops[mark[0]:]
        del self.guards[mark[1]:]

    def input(self, example: Any) -> Sym:
        s = Sym(self, example)
        self.inputs.append(s)
        return s

    def record(self, prim: Primitive | None, name: str, fn: Callable[..., Any],
               traced: Callable[..., Any], args: tuple, kwargs: dict,
               value_shaped: bool = False) -> Sym:
        """Evaluate ``fn`` on the examples of ``args`` and record it; returns the result's Sym.
        A primitive or comparison already recorded with the same arguments is not repeated.
        ``value_shaped``: the result's shape may depend on values (np.nonzero): a shape guard."""
        key = _key(prim if prim is not None else fn, args, kwargs) \
            if prim is not None or name in _PURE else None
        if key is not None:
            seen = self._seen.get(key)
            if seen is not None:
                return seen
        ans = fn(*_examples(args, self), **_examples_kw(kwargs, self))
        if type(ans) is ndarray and ans.dtype.hasobject:
            raise TypeError(f"{name} returned an object array while compiling; modes.compile needs "
                            "numeric values")
        out = Sym(self, ans, len(self.ops))
        self.ops.append(Op(prim, name, fn, traced, args, kwargs, out))
        self._keys.append(key)
        if key is not None:
            self._seen[key] = out
        if value_shaped or (prim is not None and _holds_sym(kwargs)):
            # a mask index (x[x > 0]) or np.nonzero: the result's shape depends on values
            self.guards.append(Guard(out, "shape", shape_signature(ans)))
        return out

    def apply(self, prim: Primitive, args: tuple, kwargs: dict) -> Sym:
        return self.record(prim, prim.name, prim.fn, prim, args, kwargs)

    def guard(self, sym: Sym, kind: str, expected: Any) -> None:
        self.guards.append(Guard(sym, kind, expected))


def _recorded(name: str, fn: Callable[[Any, Any], Any], reflected: bool = False) -> Any:
    """A binary operator of ``Sym`` recorded without a derivative (a comparison, a bitwise op)."""
    def method(self: Sym, other: Any) -> Any:
        args = (other, self) if reflected else (self, other)
        return self._no_derivative(name, fn, fn, args, {})

    method.__name__ = fn.__name__
    return method


class Sym(ArrayBox):
    """A symbolic value of a ``Graph``: shape, dtype and example value known, numbers recorded."""

    __slots__ = ("_example", "_graph", "_level", "_index", "__weakref__")
    _staged = True

    def __init__(self, graph: Graph, example: Any, index: int = -1) -> None:
        self._example = example
        self._graph = graph
        self._level = graph.level
        self._index = index  # the position of the operation computing it (-1: an input)

    # The numbers under the box, read by modes' own machinery without a guard: the interpreted
    # modes look at values only for their shapes and for checks the replay repeats (finiteness).
    @property
    def value(self) -> Any:
        return self._example

    def concrete(self) -> Any:
        """The example's numbers, taken by ``modes.plain``: the trace now depends on them."""
        self._graph.guard(self, "value", np.copy(self._example) if type(self._example) is ndarray
                          else self._example)
        return self._example

    def __repr__(self) -> str:
        return f"Sym({self._example!r})"

    @property
    def shape(self) -> tuple[int, ...]:
        return np.shape(self._example)

    @property
    def dtype(self) -> np.dtype:
        ex = self._example
        return ex.dtype if type(ex) is ndarray else np.asarray(ex).dtype

    def _apply(self, prim: Primitive, args: tuple, kwargs: dict) -> Any:
        for a in args:
            if type(a) is ndarray and a.dtype.hasobject:  # np.array([x, y]) of symbolic entries
                return prim(*lift_args(args), **kwargs)
        return self._graph.apply(prim, args, kwargs)

    # ---- what makes a trace depend on values -----------------------------------------------------
    def __bool__(self) -> bool:
        answer = bool(self._example)
        self._graph.guard(self, "truth", answer)
        return answer

    def __int__(self) -> int:
        answer = int(self._example)
        self._graph.guard(self, "index", answer)
        return answer

    def __index__(self) -> int:
        ex = self._example
        if int(ex) != ex:
            raise TypeError(f"only integer-valued traced values can be used as an index, got {ex}")
        answer = int(ex)
        self._graph.guard(self, "index", answer)
        return answer

    # ---- operations without a derivative, recorded so that they replay on new values -------------
    def _no_derivative(self, name: str, fn: Callable[..., Any], traced: Callable[..., Any],
                       args: tuple, kwargs: dict) -> Sym:
        return self._graph.record(None, name, fn, traced, args, kwargs,
                                  value_shaped=name not in _PURE)

    __lt__ = _recorded("<", operator.lt)
    __le__ = _recorded("<=", operator.le)
    __gt__ = _recorded(">", operator.gt)
    __ge__ = _recorded(">=", operator.ge)
    __eq__ = _recorded("==", operator.eq)  # type: ignore[assignment]
    __ne__ = _recorded("!=", operator.ne)  # type: ignore[assignment]
    __and__ = _recorded("&", operator.and_)
    __rand__ = _recorded("&", operator.and_, reflected=True)
    __or__ = _recorded("|", operator.or_)
    __ror__ = _recorded("|", operator.or_, reflected=True)
    __xor__ = _recorded("^", operator.xor)
    __rxor__ = _recorded("^", operator.xor, reflected=True)

    def __invert__(self) -> Any:
        return self._no_derivative("~", operator.invert, operator.invert, (self,), {})

    __hash__ = object.__hash__  # identity, as every box (in C: symbols key many dicts)

    def __array_ufunc__(self, ufunc: np.ufunc, method: str, *inputs: Any, **kwargs: Any) -> Any:
        handler = UFUNC_HANDLERS.get(ufunc)
        func = getattr(handler, "piecewise_constant", None)
        if method == "__call__" and func is not None and kwargs.get("out") is None:
            kwargs.pop("out", None)
            return self._no_derivative(ufunc.__name__, func, handler, inputs, kwargs)
        return super().__array_ufunc__(ufunc, method, *inputs, **kwargs)

    def __array_function__(self, func: Any, types: Any, args: tuple, kwargs: dict) -> Any:
        if func in _STATIC:  # shapes and kinds are fixed for a compiled version: no guard needed
            return func(*_strip_static(args), **kwargs)
        handler = FUNCTION_HANDLERS.get(func)
        plain_func = getattr(handler, "piecewise_constant", None)
        if plain_func is not None:
            return self._no_derivative(getattr(func, "__name__", "function"), plain_func, handler,
                                       args, kwargs)
        return super().__array_function__(func, types, args, kwargs)


_STATIC = {np.shape, np.ndim, np.size, np.iscomplexobj, np.isrealobj, np.result_type}


def _strip_static(args: tuple) -> list[Any]:
    return [a._example if type(a) is Sym else a for a in args]


def stage(fn: Callable[..., Any], leaves: list[Any], build: Callable[[list[Any]], tuple]) -> tuple[
        Graph, Any]:
    """Run ``fn(*build(symbolic leaves))`` once; ``leaves[i]`` is made symbolic where it is a
    number or a numeric array (others pass as they are). Returns the graph and fn's result."""
    graph = Graph()
    graph.level = levels.enter()
    try:
        syms = [graph.input(a) if is_traceable_leaf(a) else a for a in leaves]
        args, kwargs = build(syms)
        out = fn(*args, **kwargs)
    finally:
        levels.leave()
    return graph, out


def is_traceable_leaf(a: Any) -> bool:
    """Numbers the compiled program takes as inputs (the rest are constants of the trace)."""
    t = type(a)
    if t is float or t is ndarray and a.dtype.kind in "fiub" and a.dtype.kind != "b":
        return True
    return isinstance(a, np.floating)


_PURE = {"<", "<=", ">", ">=", "==", "!=", "&", "|", "^", "~"}
_HASHABLE = (float, int, bool, str, type(None), type(Ellipsis), np.dtype)


def _part(x: Any) -> Any:
    t = type(x)
    if t is Sym:
        return ("s", id(x))
    if t is tuple or t is list:
        return (t.__name__,) + tuple(_part(v) for v in x)
    if t is slice:
        return ("slice", _part(x.start), _part(x.stop), _part(x.step))
    if isinstance(x, _HASHABLE) or t is np.float64:
        return (t.__name__, x)
    raise TypeError  # arrays and other objects: not worth comparing


def _key(fn: Any, args: tuple, kwargs: dict) -> Any:
    try:
        return (id(fn), _part(args), tuple((k, _part(v)) for k, v in kwargs.items()))
    except TypeError:
        return None


def registered(name: str) -> Any:
    """The shipped primitive called ``name`` (None if there is none)."""
    from .primitives import REGISTRY  # imported late: the primitives import the tracing modules
    return REGISTRY.get(name)


def shape_signature(x: Any) -> Any:
    """Shapes and dtypes of a value (tuples of arrays entry by entry)."""
    t = type(x)
    if t is tuple or t is list:
        return tuple(shape_signature(v) for v in x)
    if t is ndarray:
        return (x.shape, x.dtype.str)
    return (t.__name__,)


def _holds_sym(kwargs: dict) -> bool:
    if not kwargs:
        return False
    found: list[Sym] = []
    _collect(tuple(kwargs.values()), found)
    return bool(found)


def _collect(x: Any, found: list[Sym]) -> None:
    t = type(x)
    if t is Sym:
        found.append(x)
    elif t is tuple or t is list:
        for v in x:
            _collect(v, found)
    elif t is slice:
        _collect((x.start, x.stop, x.step), found)
    elif t is dict:
        _collect(tuple(x.values()), found)


def _example(x: Any, graph: Graph) -> Any:
    t = type(x)
    if t is Sym:
        if x._graph is not graph:
            raise LeakedTracerError(x, "was used by a different compiled trace")
        return x._example
    if t is tuple or t is list:
        return t(_example(v, graph) for v in x)
    if t is slice:
        return slice(_example(x.start, graph), _example(x.stop, graph), _example(x.step, graph))
    if isinstance(x, Traced):
        raise LeakedTracerError(x, "met a compiled trace it does not belong to")
    return x


def _examples(args: tuple, graph: Graph) -> list[Any]:
    return [_example(a, graph) for a in args]


def _examples_kw(kwargs: dict, graph: Graph) -> dict:
    return {k: _example(v, graph) for k, v in kwargs.items()} if kwargs else kwargs


__all__ = ["Graph", "Guard", "Op", "Sym", "registered", "stage", "OPS"]
