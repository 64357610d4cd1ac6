"""``modes.compile``: record a function once, replay it as generated straight-line code.

``compile(g, *example_args)`` stages ``g`` at the example arguments (``modes.staging``) and turns
the recorded Wengert list into Python source (``modes.codegen``). For ``modes.grad(f)`` and
``modes.value_and_grad(f)`` in reverse mode the reverse sweep is generated from the registry's
rules (``modes.adjoint``), in the talk's notation; any other function, including other
transformations (``modes.jacobian``, ``modes.hessian``, ``modes.jvp`` inside a function), is
staged through the interpreted modes, whose every primitive call is recorded the same way.

Replay is never silently wrong: input types, shapes and dtypes, branches, integer conversions and
values read by ``modes.plain`` are guards. A call whose guards fail in every compiled version is
traced again (up to ``max_versions`` versions, then it runs interpreted, with one warning). A
replay that raises an arithmetic error (a float division by zero, a math domain error) or yields a
nan or inf derivative runs the interpreted transformation instead, which applies modes'
conventions for non-finite values.
"""

from __future__ import annotations

import inspect
import keyword
import re
import warnings
from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np

from . import context
from .adjoint import Sweep
from .codegen import Generator, GuardFailed, Program
from .errors import ModesError
from .pytree import LEAF, TreeDef, flatten, unflatten
from .registry import Traced, plain
from .staging import Graph, Sym, is_traceable_leaf, stage

ndarray = np.ndarray


class Transform(NamedTuple):
    """What a transformed function is, for ``compile`` (set by ``modes.grad`` and friends)."""

    kind: str  # "grad" or "value_and_grad"
    f: Callable[..., Any]
    argnum: Any
    mode: str
    has_aux: bool


class Version:
    """One compiled program: valid for one input structure, the static leaves and its guards."""

    __slots__ = ("program", "in_def", "statics", "static_at", "out_def", "guards", "kind", "direct")

    def __init__(self, program: Program, in_def: TreeDef, statics: list[Any],
                 static_at: list[int], out_def: TreeDef, graph: Graph, kind: str) -> None:
        self.program = program
        self.in_def = in_def
        self.statics = statics
        self.static_at = static_at
        self.out_def = out_def
        # what the replay checks beyond types and shapes, as (kind, expected) pairs; the recorded
        # graph itself (every intermediate's example value) is not kept
        self.guards = [(g.kind, g.expected) for g in graph.guards]
        self.kind = kind
        # The program's return value is the result as it is: one leaf, or a flat tuple of leaves.
        self.direct = out_def is LEAF or (out_def.kind is tuple and all(
            c.is_leaf for c in out_def.children))

    def matches(self, in_def: TreeDef, leaves: list[Any]) -> bool:
        if in_def != self.in_def:
            return False
        for k, want in zip(self.static_at, self.statics):
            got = leaves[k]
            if type(got) is not type(want) or not _equal(got, want):
                return False
        return True


class Compiled:
    """A compiled function: call it like the original. ``.source`` is the generated code of the
    version traced last; ``.versions`` every version kept; ``.interpreted`` the original."""

    def __init__(self, g: Callable[..., Any], max_versions: int, backend: str = "python") -> None:
        if max_versions < 1:
            raise ValueError(f"max_versions must be at least 1, got {max_versions}")
        if backend not in ("python", "fused"):
            raise ValueError(f"backend must be 'python' or 'fused', got {backend!r}")
        if backend == "fused":
            from .fused import evaluator
            evaluator()  # the extra is installed, or an error says how to install it
        self.backend = backend
        self.interpreted = g
        self.max_versions = max_versions
        self.versions: list[Version] = []
        self.retraces = 0  # traces after the first (a guard, shape or dtype changed)
        self.fallbacks = 0  # calls answered by the interpreted function
        self._flat: Version | None = None  # the version of flat float inputs, tried first
        self._flat_n = -1
        self._warned = False
        self.__name__ = getattr(g, "__name__", "compiled")
        self.__doc__ = getattr(g, "__doc__", None)

    @property
    def source(self) -> str:
        if not self.versions:
            raise ModesError("nothing compiled yet")
        return self.versions[-1].program.source

    def __repr__(self) -> str:
        return f"<modes.compile of {self.__name__}: {len(self.versions)} version(s)>"

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        flat = self._flat
        if flat is not None and not kwargs and len(args) == self._flat_n:
            try:
                out = flat.program.fast(*args)
            except GuardFailed:
                out = None
            except (ArithmeticError, ValueError):
                out = _MISS
            else:
                return out if flat.direct else unflatten(flat.out_def, out)
            if out is _MISS:  # outside the handler: the interpreted call's errors stand alone
                self.fallbacks += 1
                return self.interpreted(*args)
        return self._call(args, kwargs)

    def _call(self, args: tuple, kwargs: dict) -> Any:
        leaves, in_def = flatten((args, kwargs))
        traced = any(isinstance(a, Traced) for a in leaves)
        for version in reversed(self.versions):
            result = self._try(version, in_def, leaves, traced)
            if result is not _MISS:
                return result
        if len(self.versions) >= self.max_versions:
            if not self._warned:
                self._warned = True
                warnings.warn(
                    f"modes.compile({self.__name__}): {self.max_versions} compiled versions did not "
                    "fit this call (branches, shapes or dtypes keep changing); further such calls "
                    "run interpreted. Raise max_versions= or keep the function interpreted.",
                    RuntimeWarning, stacklevel=3)
            self.fallbacks += 1
            return self.interpreted(*args, **kwargs)
        if self.versions:
            self.retraces += 1
        version = self._trace(args, kwargs)
        self.versions.append(version)
        if not version.static_at and version.in_def == _flat_def(len(args)):
            self._flat = version
            self._flat_n = len(args)
        result = self._try(version, in_def, leaves, traced)
        if result is _MISS:  # cannot happen for the values it was traced at; stay correct anyway
            self.fallbacks += 1
            return self.interpreted(*args, **kwargs)
        return result

    def _try(self, version: Version, in_def: TreeDef, leaves: list[Any], traced: bool) -> Any:
        if not version.matches(in_def, leaves):
            return _MISS
        inputs = [a for k, a in enumerate(leaves) if k not in version.static_at] \
            if version.static_at else leaves
        fn = version.program.traced if traced else version.program.fast
        try:
            out = fn(*inputs)
        except GuardFailed:
            return _MISS
        except (ArithmeticError, ValueError):
            out = _MISS
        if out is _MISS:  # outside the handler: the interpreted call's errors stand alone
            self.fallbacks += 1
            args, kwargs = unflatten(in_def, leaves)
            return self.interpreted(*args, **kwargs)
        return out if version.direct else unflatten(version.out_def, out)

    # ---- tracing ----------------------------------------------------------------------------------
    def _trace(self, args: tuple, kwargs: dict) -> Version:
        args = tuple(_strip(a) for a in args)
        kwargs = {k: _strip(v) for k, v in kwargs.items()}
        info: Transform | None = getattr(self.interpreted, "__modes_transform__", None)
        if info is not None and info.mode == "reverse" and info.kind in ("grad", "value_and_grad"):
            return _trace_gradient(info, args, kwargs, self.backend)
        return _trace_function(self.interpreted, args, kwargs, self.backend)


_MISS = object()


def _flat_def(n: int) -> TreeDef:
    return flatten((tuple(range(n)), {}))[1]


def _strip(x: Any) -> Any:
    leaves, d = flatten(x)
    if not any(isinstance(v, Traced) for v in leaves):
        return x
    return unflatten(d, [plain(v) for v in leaves])


def _equal(a: Any, b: Any) -> bool:
    if type(a) is ndarray:
        return a.shape == b.shape and a.dtype == b.dtype and bool(np.array_equal(a, b))
    try:
        return bool(a == b)
    except Exception:  # noqa: BLE001  an object without a usable ==: only itself matches
        return a is b


# ---- input names ------------------------------------------------------------------------------------
_RESERVED = {"prim", "math", "nodiff", "rule", "GuardFailed", "ndarray", "float64", "float", "type",
             "slice", "inf", "array", "finite", "sig", "same"}


def _input_names(f: Callable[..., Any], args: tuple, kwargs: dict) -> list[str]:
    """One name per flat leaf: the parameter's name, ``x_0, x_1, ...`` for a container's leaves."""
    try:
        params = [p.name for p in inspect.signature(f).parameters.values()
                  if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    except (TypeError, ValueError):
        params = []
    names: list[str] = []
    taken: set[str] = set()

    def add(base: str) -> None:
        base = re.sub(r"\W", "_", base) or "a"
        if base[0].isdigit() or keyword.iskeyword(base) or base in _RESERVED \
                or re.fullmatch(r"[wtc]\d+", base) or base.endswith("_bar"):
            base = base + "_"
        nm = base
        k = 1
        while nm in taken:
            k += 1
            nm = f"{base}{k}"
        taken.add(nm)
        names.append(nm)

    for i, a in enumerate(args):
        base = params[i] if i < len(params) else f"a{i}"
        leaves, d = flatten(a)
        if d.is_leaf:
            add(base)
        else:
            for k in range(len(leaves)):
                add(f"{base}_{k}")
    for key, v in kwargs.items():
        leaves, d = flatten(v)
        if d.is_leaf:
            add(str(key))
        else:
            for k in range(len(leaves)):
                add(f"{key}_{k}")
    return names


def _split(args: tuple, kwargs: dict) -> tuple[list[Any], TreeDef, list[int]]:
    leaves, in_def = flatten((args, kwargs))
    static_at = [k for k, a in enumerate(leaves) if not is_traceable_leaf(a)]
    return leaves, in_def, static_at


def _builder(in_def: TreeDef) -> Callable[[list[Any]], tuple]:
    def build(values: list[Any]) -> tuple:
        args, kwargs = unflatten(in_def, values)
        return args, kwargs
    return build


def _name_nominal(graph: Graph, names: dict[Sym, str]) -> None:
    for k, op in enumerate(graph.ops):
        names[op.out] = f"w{k + 1}"


def _version(graph: Graph, gen: Generator, fn_name: str, result: Any, finite: bool | set[Sym],
             leaves: list[Any], in_def: TreeDef, static_at: list[int], kind: str) -> Version:
    """``finite``: which results must be finite (True: every float result), else the replay
    raises FloatingPointError and the interpreted transformation answers."""
    out_leaves, out_def = flatten(result)
    for v in out_leaves:
        if isinstance(v, Traced) and not isinstance(v, Sym):
            raise ModesError(f"modes.compile({fn_name}): the function returned a traced value of a "
                             "transformation that had ended (a leaked tracer); return plain results")
    out_leaves = [_fresh_const(graph, v) for v in out_leaves]
    flags = [type(v) is Sym and np.asarray(v._example).dtype.kind == "f"
             and (finite is True or (finite is not False and v in finite)) for v in out_leaves]
    program = gen.generate(fn_name, out_leaves, flags, as_tuple=out_def is not LEAF)
    statics = [leaves[k] for k in static_at]
    return Version(program, in_def, statics, static_at, out_def, graph, kind)


def _fresh_const(graph: Graph, v: Any) -> Any:
    """A constant array among the results is copied on each call (callers may write into it)."""
    if type(v) is ndarray:
        return graph.record(None, "copy", np.copy, np.copy, (v,), {})
    return v


def _trace_function(g: Callable[..., Any], args: tuple, kwargs: dict, backend: str) -> Version:
    leaves, in_def, static_at = _split(args, kwargs)
    before = context.new_level_id()
    graph, out = stage(g, leaves, _builder(in_def))
    nested = context.new_level_id() - before > 2  # a transformation ran inside g
    names: dict[Sym, str] = {}
    _name_nominal(graph, names)
    input_names = [n for k, n in enumerate(_input_names(g, args, kwargs)) if k not in static_at]
    gen = Generator(graph, input_names, names, backend=backend)
    return _version(graph, gen, _fn_name(g), out, nested, leaves, in_def, static_at, "function")


def _fn_name(g: Callable[..., Any]) -> str:
    name = re.sub(r"\W", "_", getattr(g, "__name__", "compiled")) or "compiled"
    if name[0].isdigit() or keyword.iskeyword(name) or name == "lambda":
        name = "compiled"
    return name


def _trace_gradient(info: Transform, args: tuple, kwargs: dict, backend: str) -> Version:
    """The dedicated path for reverse-mode gradients: nominal pass and generated sweep."""
    from .api import _argnums, _check_output, _scalar_check

    f = info.f
    nums, single = _argnums(info.argnum, len(args))
    leaves, in_def, static_at = _split(args, kwargs)
    spans = []
    start = 0
    for i, a in enumerate(args):
        n = len(flatten(a)[0])
        spans.append((start, start + n))
        start += n
    graph, out = stage(f, leaves, _builder(in_def))
    if info.has_aux:
        if not (isinstance(out, tuple) and len(out) == 2):
            raise TypeError("has_aux=True needs f to return a pair (value, aux)")
        value, aux = out
    else:
        value, aux = out, None
    if type(value) is not Sym:
        raise ModesError(f"modes.compile({_fn_name(f)}): f returned a value that does not depend "
                         "on its inputs; nothing to differentiate")
    _check_output(value._example, "grad")
    _scalar_check(value._example)
    names: dict[Sym, str] = {}
    input_names = _input_names(f, args, kwargs)
    syms_of_leaf: dict[int, Sym] = {}
    k_sym = 0
    for k, a in enumerate(leaves):
        if k not in static_at:
            syms_of_leaf[k] = graph.inputs[k_sym]
            names[graph.inputs[k_sym]] = input_names[k]
            k_sym += 1
    _name_nominal(graph, names)
    sweep = Sweep(graph, names)
    shape = np.shape(value._example)
    seed: Any = 1.0 if not shape else np.ones(shape)
    if type(seed) is ndarray:
        seed = graph.record(None, "ones", np.ones, np.ones, (shape,), {})
    sweep.run(value, seed)
    grads = []
    for i in nums:
        a, b = spans[i]
        arg_leaves, arg_def = flatten(args[i])
        bars = []
        for k in range(a, b):
            s = syms_of_leaf.get(k)
            if s is None:
                raise TypeError(f"modes.compile: argument {i} holds {type(leaves[k]).__name__}, "
                                "which cannot be differentiated; pass floats or float arrays")
            bars.append(_gradient_leaf(graph, sweep, s))
        grads.append(unflatten(arg_def, bars))
    grad = grads[0] if single else tuple(grads)
    if info.kind == "grad":
        result = (grad, aux) if info.has_aux else grad
    else:
        result = ((value, aux), grad) if info.has_aux else (value, grad)
    gen = Generator(graph, [names[s] for s in graph.inputs], names, temp_from=sweep.temp_from,
                    accumulate=sweep.accumulate, inplace=sweep.inplace, backend=backend)
    fn_name = _fn_name(f) + ("_grad" if info.kind == "grad" else "_value_and_grad")
    checked = {v for v in flatten(grad)[0] if type(v) is Sym}
    return _version(graph, gen, fn_name, result, checked, leaves, in_def, static_at, info.kind)


def _gradient_leaf(graph: Graph, sweep: Sweep, s: Sym) -> Any:
    """The bar of input ``s`` as returned to the caller: a fresh array in the input's dtype."""
    bar = sweep.materialize(s)
    ex = s._example
    if bar is None:
        if type(ex) is ndarray:
            return graph.record(None, "zeros", np.zeros, np.zeros, (ex.shape, ex.dtype), {})
        return 0.0
    bex = bar._example
    if type(ex) is ndarray and (bar not in sweep.owned or bex.dtype != ex.dtype
                                or type(bex) is not ndarray):
        return graph.record(None, "array", np.array, np.array, (bar,), {"dtype": ex.dtype})
    return bar


def compile(g: Callable[..., Any], *example_args: Any, max_versions: int = 8,
            backend: str = "python", **example_kwargs: Any) -> Compiled:  # noqa: A001
    """Compile ``g`` for arguments like ``example_args``: a callable with ``.source``.

    ``g`` is any function of floats and float arrays built from registered primitives, including
    a transformed one: ``modes.compile(modes.grad(f, argnum=(0, 1, 2)), 1.0, -3.0, 2.0)``. It is
    traced at once at the example arguments; later calls replay the generated code while the
    input types, shapes and dtypes, branches and other guards hold, and trace again otherwise
    (at most ``max_versions`` versions; beyond that calls run interpreted). Non-numeric
    arguments (ints, strings, options) are constants of a version: another value traces again.
    ``backend="fused"`` (the ``fused`` extra, numexpr) computes each run of elementwise operations
    on large arrays in one pass.
    """
    compiled = Compiled(g, max_versions, backend)
    compiled(*example_args, **example_kwargs)
    return compiled


__all__ = ["Compiled", "Transform", "compile"]
