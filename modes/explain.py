"""``explain``: the talk made executable.

Prints the Wengert list of the nominal pass, the forward-mode tangents (one chunk carrying every
input direction) and the reverse sweep step by step with every adjoint ("bar"), for a small
function such as V = x*y + (x+y)*z.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import numpy as np

from . import context, levels
from .context import STATE
from .api import _record, as_float_input
from .pytree import flatten, is_container, leaf_paths, unflatten
from .forward import Dual
from .registry import plain
from .reverse import reverse_sweep
from .unbroadcast import shape_of

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


def explain(f: Callable[..., Any], *args: Any) -> str:
    """A step-by-step account of both modes differentiating ``f`` at ``args`` (all arguments).

    ``f`` must return a scalar. Returns plain text: nominal pass (Wengert list), forward tangents,
    reverse sweep with every bar, and the gradient from both modes.
    """
    if any(is_container(a) for a in args):  # containers: explain f as a function of the leaves
        arg_names = _input_names(f, len(args))
        names = [f"{nm}{path}" for nm, a in zip(arg_names, args) for path in leaf_paths(a)]
        leaves, treedef = flatten(tuple(args))
        return _explain(lambda *ls: f(*unflatten(treedef, ls)), leaves, names)
    return _explain(f, args, _input_names(f, len(args)))


def _explain(f: Callable[..., Any], args: Any, names: list[str]) -> str:
    vals = [as_float_input(a, f"argument {i}") for i, a in enumerate(args)]
    lines: list[str] = []

    # ---- nominal pass, recorded on a tape ---------------------------------------------------------
    nums = tuple(range(len(vals)))
    out, tape, leaves, level = _record(f, vals, nums, keep_values=True)
    if shape_of(plain(out)) != ():
        raise ValueError(f"explain needs a function that returns a scalar, got shape {shape_of(plain(out))}")
    node_name: dict[int, str] = {leaf._index: nm for leaf, nm in zip(leaves, names)}
    lines.append("Nominal pass (Wengert list): each intermediate w_i is one primitive")
    for leaf, nm in zip(leaves, names):
        lines.append(f"  {nm} = {_fmt(leaf.value)}")
    assert tape.names is not None and tape.values is not None
    w = 0
    for i, (entry, value) in enumerate(zip(tape.names, tape.values)):
        if tape.nodes[i] is None:
            continue
        w += 1
        node_name[i] = f"w{w}"
        prim_name, refs, kwargs = entry
        arg_text = [node_name[r] if kind == "node" else _fmt(r) for kind, r in refs]
        lines.append(f"  w{w} = {_expr(prim_name, arg_text, kwargs)} = {_fmt(value)}")
    out_index = getattr(out, "_index", None)
    out_name = node_name.get(out_index, "(constant)") if out_index is not None else "(constant)"
    lines.append(f"  output: {out_name} = {_fmt(out)}")

    # ---- forward mode: one pass with a chunk of every input direction ------------------------------------
    sizes = [int(np.size(plain(v))) for v in vals]
    n = sum(sizes)
    directions = []
    for nm, v, size in zip(names, vals, sizes):
        directions += [f"d/d{nm}"] if shape_of(v) == () else [f"d/d{nm}[{k}]" for k in range(size)]
    lines.append("")
    lines.append(f"Forward mode: one pass, each tangent a chunk of {n} directions ({', '.join(directions)})")
    eye = np.eye(n)
    record: list = []
    lvl = levels.enter()
    try:
        boxed = []
        offset = 0
        dual_name: dict[int, str] = {}
        for nm, v, size in zip(names, vals, sizes):
            d = Dual(v, eye[:, offset : offset + size].reshape((n,) + shape_of(v)), lvl)
            dual_name[id(d)] = nm
            boxed.append(d)
            lines.append(f"  {nm}_dot = {_fmt_chunk(d.tangent)}")
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
    for k, (prim, fargs, res) in enumerate(record, start=1):
        dual_name[id(res)] = f"w{k}"
        fvals = [a.value if type(a) is Dual and a._level == lvl else a for a in fargs]
        terms = []
        for i, a in enumerate(fargs):
            if type(a) is Dual and a._level == lvl:
                dot = f"{dual_name.get(id(a), '?')}_dot"
                if prim.partials is not None and prim.partials[i] is not None:
                    terms.append(f"{_fmt(prim.partials[i](res.value, *fvals))} * {dot}")
                else:
                    terms.append(f"jvp_{prim.name}({dot})")
        lines.append(f"  w{k}_dot = {' + '.join(terms)} = {_fmt_chunk(res.tangent)}")
    forward_grad = (np.asarray(plain(fout.tangent)) if type(fout) is Dual and fout._level == lvl
                    else np.zeros(n))

    # ---- reverse sweep -----------------------------------------------------------------------------------
    lines.append("")
    lines.append("Reverse sweep: every bar starts at 0, the output's at 1; walk the list backwards")
    totals: dict[int, Any] = {}

    def on_step(i: int, g: Any, steps: list) -> None:
        lines.append(f"  from {node_name[i]} (bar = {_fmt(g)}):")
        for j, c, p in steps:
            totals[j] = c if j not in totals else plain(totals[j]) + plain(c)
            if p is not None:
                how = f"d{node_name[i]}/d{node_name[j]} * {node_name[i]}_bar = {_fmt(p)} * {_fmt(g)}"
            else:
                how = f"vjp_{tape.names[i][0]}({node_name[i]}_bar)"  # type: ignore[index]
            lines.append(f"    {node_name[j]}_bar += {how} = {_fmt(c)}   -> {node_name[j]}_bar = {_fmt(totals[j])}")

    if out_index is not None and type(out) is not float:
        lines.append(f"  {out_name}_bar = 1")
        bars = reverse_sweep(tape, out_index, 1.0, 0, [leaf._index for leaf in leaves], retain=True,
                             on_step=on_step)
    else:
        bars = [None] * len(leaves)
    reverse_grad = np.concatenate([np.ravel(np.zeros(shape_of(v)) if b is None else plain(b))
                                   for b, v in zip(bars, vals)]) if vals else np.zeros(0)

    lines.append("")
    lines.append("Gradient")
    for d, fg, rg in zip(directions, forward_grad.ravel(), reverse_grad):
        lines.append(f"  dV/{d[2:]}: forward {_fmt(fg)}, reverse {_fmt(rg)}")
    agree = np.allclose(forward_grad.ravel(), reverse_grad, rtol=1e-12, atol=1e-12)
    lines.append(f"  forward and reverse agree: {'yes' if agree else 'NO'}")
    lines.append(f"  cost: forward carried {n} tangents through {len(record)} steps; reverse kept "
                 f"{len(tape) - len(leaves)} nodes ({tape.nbytes} residual bytes) and made one sweep")
    return "\n".join(lines)
