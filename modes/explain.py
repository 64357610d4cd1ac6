"""``explain``: the talk made executable.

Prints the Wengert list of the nominal pass, the forward-mode tangents (one chunk carrying every
input direction) and the reverse sweep step by step with every adjoint ("bar"), for a small
function such as V = x*y + (x+y)*z.

``wengert_list(f, *args)`` returns the same account as data (steps, local partials, sweep
updates); ``explain`` prints it and ``modes.draw`` draws it, so text and picture show the same list.
"""

from __future__ import annotations

import ast
import functools
import inspect
import linecache
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from . import context, levels
from .context import STATE
from .api import _record, as_float_input
from .pytree import flatten, is_container, leaf_paths, unflatten
from .forward import Dual
from .registry import plain
from .reverse import reverse_sweep
from .unbroadcast import shape_of, unbroadcast

_INFIX = {"add": "+", "subtract": "-", "multiply": "*", "divide": "/", "power": "**", "matmul": "@"}


def _fmt(v: Any) -> str:
    v = plain(v)
    if np.ndim(v) == 0:
        x = float(v)
        return repr(int(x)) if x.is_integer() and abs(x) < 1e15 else f"{x:.6g}"
    text = np.array2string(np.asarray(v, dtype=float), precision=4, threshold=12, separator=", ")
    return " ".join(text.split())


def _fmt_chunk(t: Any) -> str:
    t = np.asarray(plain(t))
    if t.ndim == 1:
        return "(" + ", ".join(_fmt(x) for x in t) + ")"
    return _fmt(t)


def _expr(prim_name: str, args: list[str], kwargs: dict) -> str:
    if prim_name in _INFIX and len(args) == 2:
        return f"{args[0]} {_INFIX[prim_name]} {args[1]}"
    if prim_name == "negative":
        return f"-{args[0]}"
    if prim_name == "getitem":
        return f"{args[0]}[{kwargs.get('index')!r}]"
    extra = [f"{k}={v!r}" for k, v in kwargs.items()]
    return f"{prim_name}({', '.join(args + extra)})"


def _input_names(f: Callable[..., Any], nargs: int) -> list[str]:
    try:
        params = [p.name for p in inspect.signature(f).parameters.values()
                  if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    except (TypeError, ValueError):
        params = []
    names = params[:nargs]
    return names + [f"x{i}" for i in range(len(names), nargs)]


# ---- the account as data --------------------------------------------------------------------------

@dataclass
class Step:
    """One entry of the Wengert list: an input (``prim`` is None) or one primitive applied.

    ``args`` holds ``("node", position in steps)`` or ``("const", value)`` per argument.
    ``tangent``: the forward chunk, shape ``(k,) + value shape`` (row i: the i-th seed direction).
    ``bar``: the adjoint after the sweep (None where no bar arrived: zero).
    """

    name: str
    value: Any
    prim: str | None = None
    args: list[tuple[str, Any]] = field(default_factory=list)
    kwargs: dict = field(default_factory=dict)
    tangent: Any = None
    bar: Any = None

    def arg_names(self, steps: list[Step]) -> list[str]:
        """The arguments as ``explain`` writes them: step names, or constants' values."""
        return [steps[r].name if kind == "node" else _fmt(r) for kind, r in self.args]

    def expr(self, steps: list[Step]) -> str:
        """The right-hand side, e.g. ``"x * y"`` (the name for an input)."""
        return self.name if self.prim is None else _expr(self.prim, self.arg_names(steps), self.kwargs)


@dataclass
class Partial:
    """One edge of the graph: the local partial of ``steps[out]`` in argument ``argnum`` (``steps[arg]``).

    ``value`` is the partial at the nominal values (None for a structural primitive: it has a JVP
    and a VJP rule, not one number); ``formula`` the rule's expression in the steps' names
    (``"z"`` for d(w2 * z)/dw2), when its source is short and readable.
    """

    arg: int
    out: int
    argnum: int
    value: Any
    formula: str | None


@dataclass
class Update:
    """One update of the reverse sweep: ``steps[arg].bar += partial * steps[out].bar``.

    ``partial`` indexes ``WengertList.partials``; ``contribution`` is what was added and ``total``
    the bar of ``steps[arg]`` after it.
    """

    partial: int
    arg: int
    out: int
    out_bar: Any
    value: Any
    contribution: Any
    total: Any


@dataclass
class WengertList:
    """What ``explain`` prints, as data: ``steps`` (inputs first), the ``partials`` on the edges, the
    reverse ``updates`` in sweep order (``visits``: each swept step, its bar, its updates), and the
    forward pass carrying one chunk (``directions`` names the ``n`` input directions;
    ``forward_grad`` is the output's tangent chunk, ``reverse_grad`` the flat gradient)."""

    steps: list[Step]
    n_inputs: int
    output: int | None
    value: Any
    directions: list[str]
    partials: list[Partial]
    updates: list[Update]
    visits: list[tuple[int, Any, list[int]]]
    forward: list[tuple[str, str, list[tuple[str, Any]], Any]]  # (name, prim, [(arg, partial)], tangent)
    forward_grad: Any
    reverse_grad: Any
    swept: bool
    tape_nodes: int
    tape_nbytes: int

    @property
    def n(self) -> int:
        """The number of input directions (the total size of the inputs)."""
        return len(self.directions)


def wengert_list(f: Callable[..., Any], *args: Any, sweep: bool = True,
                 seeds: Any = None) -> WengertList:
    """The nominal pass, forward chunk and reverse sweep of ``f`` at ``args``, as data.

    With ``sweep=True`` (what ``explain`` prints) ``f`` must return a scalar (else
    ``NotScalarError``, a ``ValueError``); ``sweep=False`` skips the reverse sweep and accepts any
    output. The forward pass carries one chunk: the rows of ``seeds``, shape ``(k, n)`` with ``n``
    the total size of the inputs (default: the ``n`` unit vectors, every input direction).
    """
    if any(is_container(a) for a in args):  # containers: f as a function of the leaves
        arg_names = _input_names(f, len(args))
        names = [f"{nm}{path}" for nm, a in zip(arg_names, args) for path in leaf_paths(a)]
        leaves, treedef = flatten(tuple(args))
        return _wengert(lambda *ls: f(*unflatten(treedef, ls)), leaves, names, sweep, seeds)
    return _wengert(f, args, _input_names(f, len(args)), sweep, seeds)


def explain(f: Callable[..., Any], *args: Any) -> str:
    """A step-by-step account of both modes differentiating ``f`` at ``args`` (all arguments).

    ``f`` must return a scalar. Returns plain text: nominal pass (Wengert list), forward tangents,
    reverse sweep with every bar, and the gradient from both modes.
    """
    return _text(wengert_list(f, *args))


# ---- recording ------------------------------------------------------------------------------------

class NotScalarError(ValueError):
    """The reverse sweep of ``explain`` and ``draw`` starts from a scalar output; ``shape`` is f's."""

    def __init__(self, message: str, shape: tuple) -> None:
        super().__init__(message)
        self.shape = shape


def _wengert(f: Callable[..., Any], args: Any, names: list[str], sweep: bool,
             seeds: Any = None) -> WengertList:
    vals = [as_float_input(a, f"argument {i}") for i, a in enumerate(args)]

    # ---- nominal pass, recorded on a tape ---------------------------------------------------------
    nums = tuple(range(len(vals)))
    out, tape, leaves, level = _record(f, vals, nums, keep_values=True)
    if sweep and shape_of(plain(out)) != ():
        shape = shape_of(plain(out))
        raise NotScalarError(f"explain needs a function that returns a scalar, got shape {shape}", shape)
    assert tape.names is not None and tape.values is not None
    steps = [Step(nm, leaf.value) for leaf, nm in zip(leaves, names)]
    position: dict[int, int] = {leaf._index: k for k, leaf in enumerate(leaves)}
    for i, (entry, value) in enumerate(zip(tape.names, tape.values)):
        if tape.nodes[i] is None:
            continue
        prim_name, refs, kwargs = entry
        position[i] = len(steps)
        steps.append(Step(f"w{len(steps) - len(leaves) + 1}", value, prim_name,
                          [("node", position[r]) if kind == "node" else (kind, r) for kind, r in refs],
                          kwargs))
    partials = _partials(tape, position, steps)
    out_index = getattr(out, "_index", None)
    output = position.get(out_index) if out_index is not None else None

    # ---- forward mode: one pass with a chunk of every input direction ------------------------------------
    sizes = [int(np.size(plain(v))) for v in vals]
    n = sum(sizes)
    directions = []
    for nm, v, size in zip(names, vals, sizes):
        directions += [f"d/d{nm}"] if shape_of(v) == () else [f"d/d{nm}[{k}]" for k in range(size)]
    eye = np.eye(n) if seeds is None else np.asarray(seeds, dtype=float).reshape(-1, n)
    k_dirs = eye.shape[0]
    record: list = []
    lvl = levels.enter()
    try:
        boxed = []
        offset = 0
        dual_name: dict[int, str] = {}
        for k, (nm, v, size) in enumerate(zip(names, vals, sizes)):
            d = Dual(v, eye[:, offset : offset + size].reshape((k_dirs,) + shape_of(v)), lvl)
            dual_name[id(d)] = nm
            boxed.append(d)
            steps[k].tangent = d.tangent
            offset += size
        STATE.records[lvl] = record
        context.open_slow_path()
        try:
            fout = f(*boxed)
        finally:
            del STATE.records[lvl]
            context.close_slow_path()
    finally:
        levels.leave()
    forward = []
    for k, (prim, fargs, res) in enumerate(record, start=1):
        dual_name[id(res)] = f"w{k}"
        fvals = [a.value if type(a) is Dual and a._level == lvl else a for a in fargs]
        terms = []
        for i, a in enumerate(fargs):
            if type(a) is Dual and a._level == lvl:
                p = None
                if prim.partials is not None and prim.partials[i] is not None:
                    p = prim.partials[i](res.value, *fvals)
                terms.append((dual_name.get(id(a), "?"), p))
        forward.append((f"w{k}", prim.name, terms, res.tangent))
    if len(record) == len(steps) - len(leaves):  # one forward step per tape node, in order
        for step, (_, _, _, tangent) in zip(steps[len(leaves):], forward):
            step.tangent = tangent
    forward_grad = (np.asarray(plain(fout.tangent)) if type(fout) is Dual and fout._level == lvl
                    else np.zeros((k_dirs,) + shape_of(plain(fout))))

    # ---- reverse sweep -----------------------------------------------------------------------------------
    updates: list[Update] = []
    visits: list[tuple[int, Any, list[int]]] = []
    totals: dict[int, Any] = {}
    by_out: dict[int, list[int]] = {}
    for e, p in enumerate(partials):
        by_out.setdefault(p.out, []).append(e)

    def on_step(i: int, g: Any, sweep_steps: list) -> None:
        # The sweep updates bars in place (a bar, a contribution, even g itself): keep copies, and
        # take the bar being propagated from the running totals rather than from g.
        o = position[i]
        g = totals.get(o, g) if o != output else g
        args = [position[j] for j, _, _ in sweep_steps]
        unused = list(by_out.get(o, []))
        done = []
        for a, (j, c, p) in zip(args, sweep_steps):
            if p is not None and args.count(a) > 1:
                # An argument used twice (x * x): its first contribution may already hold the
                # second one, added in place. Each is partial * bar; form it again.
                c = _contribution(p, g, shape_of(steps[a].value))
            c = _snapshot(c)
            totals[a] = c if a not in totals else plain(totals[a]) + plain(c)
            e = next((e for e in unused if partials[e].arg == a), -1)
            if e >= 0:
                unused.remove(e)
            done.append(len(updates))
            updates.append(Update(e, a, o, g, p, c, totals[a]))
        visits.append((o, g, done))

    swept = sweep and out_index is not None and type(out) is not float
    if swept:
        bars = reverse_sweep(tape, out_index, 1.0, 0, [leaf._index for leaf in leaves], retain=True,
                             on_step=on_step)
        if output is not None:
            steps[output].bar = 1.0
        for a, total in totals.items():
            steps[a].bar = total
    else:
        bars = [None] * len(leaves)
    reverse_grad = np.concatenate([np.ravel(np.zeros(shape_of(v)) if b is None else plain(b))
                                   for b, v in zip(bars, vals)]) if vals else np.zeros(0)
    return WengertList(steps, len(leaves), output, plain(out), directions, partials, updates, visits,
                       forward, forward_grad, reverse_grad, swept, len(tape), tape.nbytes)


def _snapshot(v: Any) -> Any:
    return np.array(v) if type(v) is np.ndarray else v


def _contribution(p: Any, g: Any, shape: tuple) -> Any:
    """``partial * bar`` summed to the argument's shape, an exact zero on either side giving 0."""
    c = np.where((np.asarray(p) == 0) | (np.asarray(g) == 0), 0.0, np.multiply(p, g))
    return unbroadcast(c, shape, 0) if c.shape != shape else (c if c.shape else float(c))


def _partials(tape: Any, position: dict[int, int], steps: list[Step]) -> list[Partial]:
    """The local partial on every edge of the tape, evaluated as the sweep evaluates it."""
    out: list[Partial] = []
    for i, node in enumerate(tape.nodes):
        if node is None:
            continue
        o = position[i]
        step = steps[o]
        if len(node) == 4:  # elementwise: one partial rule per differentiable argument
            edges, ans, vals, prim = node
            candidates = [k for k, (kind, r) in enumerate(step.args)
                          if kind == "node" and prim.partials[k] is not None]
            names = [step.name] + step.arg_names(steps)
            for e, (j, rule, _) in enumerate(edges):
                k = candidates[e] if e < len(candidates) else -1
                with np.errstate(all="ignore"):
                    value = rule(ans, *vals)
                out.append(Partial(position[j], o, k, value, _formula(rule, names)))
        else:  # structural: a JVP and a VJP rule per argument
            for argnum, j, _ in node[1]:
                out.append(Partial(position[j], o, argnum, None, None))
    return out


# ---- a partial's formula, read from its rule ------------------------------------------------------------

_MAX_FORMULA = 28


def _formula(rule: Callable[..., Any], names: list[str]) -> str | None:
    """The rule's expression with its parameters renamed (``ans`` -> the step, ``x, y`` -> its
    arguments): ``lambda ans, x, y: y`` for ``w3 = w2 * z`` gives ``"z"``. None where the source
    is unavailable or the expression too long to read on an edge."""
    try:
        tree = _rule_expression(rule)
    except (OSError, TypeError, SyntaxError, ValueError):
        return None
    if tree is None:
        return None
    code = rule.__code__
    params = code.co_varnames[: code.co_argcount]
    rename = dict(zip(params, names))

    class Rename(ast.NodeTransformer):
        def visit_Name(self, node: ast.Name) -> ast.AST:
            return ast.Name(id=rename.get(node.id, node.id.lstrip("_")), ctx=node.ctx)

        def visit_Attribute(self, node: ast.Attribute) -> ast.AST:
            if isinstance(node.value, ast.Name) and node.value.id in ("np", "numpy"):
                return ast.Name(id=node.attr, ctx=node.ctx)  # np.cos(x) -> cos(x)
            return self.generic_visit(node)

    text = ast.unparse(Rename().visit(tree))
    return text if len(text) <= _MAX_FORMULA else None


def _rule_expression(rule: Callable[..., Any]) -> ast.expr | None:
    source = _rule_source(rule)
    return None if source is None else ast.parse(source, mode="eval").body


@functools.lru_cache(maxsize=1024)
def _rule_source(rule: Callable[..., Any]) -> str | None:
    """The source of the rule's expression: a lambda's body, or a def's final return."""
    code = rule.__code__
    if code.co_name == "<lambda>":  # the body's span, from the positions of its instructions
        spans = [p for p in code.co_positions() if None not in p and (p[0], p[2]) != (p[1], p[3])]
        if not spans:
            return None
        start = min((p[0], p[2]) for p in spans)
        end = max((p[1], p[3]) for p in spans)
        lines = [linecache.getline(code.co_filename, k) for k in range(start[0], end[0] + 1)]
        if not all(lines):
            return None
        lines[-1] = lines[-1][: end[1]]
        lines[0] = lines[0][start[1]:]
        return "(" + "".join(lines) + ")"
    # A def: its final return, the general case (earlier returns are fast paths).
    body = ast.parse(inspect.cleandoc("\n" + inspect.getsource(rule))).body
    if len(body) == 1 and isinstance(body[0], ast.FunctionDef):
        last = body[0].body[-1]
        if isinstance(last, ast.Return) and last.value is not None:
            return ast.unparse(last.value)
    return None


# ---- the account as text --------------------------------------------------------------------------------

def _text(wl: WengertList) -> str:
    steps = wl.steps
    lines = ["Nominal pass (Wengert list): each intermediate w_i is one primitive"]
    for step in steps[: wl.n_inputs]:
        lines.append(f"  {step.name} = {_fmt(step.value)}")
    for step in steps[wl.n_inputs:]:
        lines.append(f"  {step.name} = {step.expr(steps)} = {_fmt(step.value)}")
    out_name = steps[wl.output].name if wl.output is not None else "(constant)"
    lines.append(f"  output: {out_name} = {_fmt(wl.value)}")

    lines.append("")
    lines.append(f"Forward mode: one pass, each tangent a chunk of {wl.n} directions "
                 f"({', '.join(wl.directions)})")
    for step in steps[: wl.n_inputs]:
        lines.append(f"  {step.name}_dot = {_fmt_chunk(step.tangent)}")
    for name, prim_name, terms, tangent in wl.forward:
        text = [f"{_fmt(p)} * {arg}_dot" if p is not None else f"jvp_{prim_name}({arg}_dot)"
                for arg, p in terms]
        lines.append(f"  {name}_dot = {' + '.join(text)} = {_fmt_chunk(tangent)}")

    lines.append("")
    lines.append("Reverse sweep: every bar starts at 0, the output's at 1; walk the list backwards")
    if wl.swept:
        lines.append(f"  {out_name}_bar = 1")
    for o, g, done in wl.visits:
        out = steps[o]
        lines.append(f"  from {out.name} (bar = {_fmt(g)}):")
        for u in (wl.updates[k] for k in done):
            arg = steps[u.arg].name
            if u.value is not None:
                how = f"d{out.name}/d{arg} * {out.name}_bar = {_fmt(u.value)} * {_fmt(g)}"
            else:
                how = f"vjp_{out.prim}({out.name}_bar)"
            lines.append(f"    {arg}_bar += {how} = {_fmt(u.contribution)}   -> {arg}_bar = {_fmt(u.total)}")

    lines.append("")
    lines.append("Gradient")
    for d, fg, rg in zip(wl.directions, wl.forward_grad.ravel(), wl.reverse_grad):
        lines.append(f"  dV/{d[2:]}: forward {_fmt(fg)}, reverse {_fmt(rg)}")
    agree = np.allclose(wl.forward_grad.ravel(), wl.reverse_grad, rtol=1e-12, atol=1e-12)
    lines.append(f"  forward and reverse agree: {'yes' if agree else 'NO'}")
    lines.append(f"  cost: forward carried {wl.n} tangents through {len(wl.forward)} steps; reverse kept "
                 f"{wl.tape_nodes - wl.n_inputs} nodes ({wl.tape_nbytes} residual bytes) and made one sweep")
    return "\n".join(lines)
