"""Code generation: a recorded ``Graph`` as straight-line Python source, one line per operation.

The source is compiled twice, into two namespaces: the *fast* one binds every primitive to its
numpy implementation (and scalar operations on Python floats to ``math``), the *traced* one to
the registry's primitives, so the same program also runs on values of an enclosing transformation
(a compiled gradient can be differentiated again). Operations nobody reads are dropped; guards
are checked right after the value they test, and raise ``GuardFailed``.
"""

from __future__ import annotations

import keyword
import math
from array import array
from collections.abc import Sequence
from typing import Any

import numpy as np

from . import fused
from .registry import plain
from .staging import Graph, Op, Sym, _collect, registered, shape_signature
from .tracing import OPS

ndarray = np.ndarray


class GuardFailed(Exception):
    """A compiled program met a value its trace did not see (another branch, shape or dtype)."""


class Namespace:
    """Attribute access to a table of callables: ``prim.tanh`` in the generated source."""

    def __init__(self, table: dict[str, Any]) -> None:
        self.__dict__.update(table)


# Scalar operations on Python floats run through math (a numpy ufunc costs ~0.5 us on a float).
_MATH = {np.exp: "exp", np.log: "log", np.log1p: "log1p", np.expm1: "expm1", np.sqrt: "sqrt",
         np.sin: "sin", np.cos: "cos", np.tan: "tan", np.arcsin: "asin", np.arccos: "acos",
         np.arctan: "atan", np.sinh: "sinh", np.cosh: "cosh", np.tanh: "tanh",
         np.arcsinh: "asinh", np.arccosh: "acosh", np.arctanh: "atanh", np.arctan2: "atan2",
         np.hypot: "hypot", np.log2: "log2", np.log10: "log10"}
_BINARY = {"add": "+", "subtract": "-", "multiply": "*", "divide": "/", "matmul": "@"}
_COMPARE = {"<", "<=", ">", ">=", "==", "!=", "&", "|", "^"}


# From this many statements a program names its values by register and keeps scalar residuals in
# a flat buffer: memory per operation near the 8 bytes of a float64, at no cost in speed.
REGISTERS_FROM = 1000
REGISTERS_FROM_BYTES = 1 << 22  # ... or whose values would hold this many bytes all at once


class _Plan:
    """Register allocation of a long program (see ``Generator._plan``)."""

    def __init__(self, reads: dict[int, list[Sym]], last: dict[Sym, float],
                 residual: dict[Sym, int], carried: dict[Sym, Sym]) -> None:
        self.reads = reads
        self.last = last
        self.residual = residual
        self.carried = carried
        self.carried_from = {id(s) for s in carried.values()}  # ids: == on a Sym records an op
        self.in_sweep = False
        self.count = 0


class Program:
    """Generated source and the functions compiled from it (the traced one on first use)."""

    def __init__(self, source: str, traced_source: str, fast: Any, name: str,
                 traced_namespace: dict[str, Any]) -> None:
        self.source = source
        self.traced_source = traced_source
        self.fast = fast
        self._name = name
        self._traced_namespace = traced_namespace
        self._traced: Any = None

    @property
    def traced(self) -> Any:
        """The program on values of an enclosing transformation (compiled when first needed)."""
        if self._traced is None:
            self._traced = _compile(self.traced_source, self._name, self._traced_namespace)
        return self._traced


def _identifier(name: str) -> str:
    ident = "".join(c if c.isalnum() or c == "_" else "_" for c in name) or "op"
    if ident[0].isdigit() or keyword.iskeyword(ident):
        ident = "_" + ident
    return ident


def _is_scalar_float(x: Any) -> bool:
    return type(x) is float or type(x) is np.float64


class Generator:
    """Turns one graph into a Python function ``def name(*inputs): ... return outputs``.

    ``names`` may preassign names to symbols (bars: ``x_bar``); the rest are named ``w1, w2, ...``
    in order (the talk's Wengert list), or ``t1, t2, ...`` from operation ``temp_from`` on.
    ``accumulate`` maps an operation's output to the symbol it adds to (``x_bar += c``, in place
    where ``inplace`` holds its output).
    """

    def __init__(self, graph: Graph, input_names: Sequence[str], names: dict[Sym, str] | None = None,
                 temp_from: int | None = None, accumulate: dict[Sym, Sym] | None = None,
                 inplace: set[Sym] | None = None, registers: bool | None = None,
                 backend: str = "python") -> None:
        self.graph = graph
        self.names: dict[Sym, str] = dict(names or {})
        for s, nm in zip(graph.inputs, input_names):
            self.names[s] = nm
        self.preassigned = set(self.names)
        self.temp_from = len(graph.ops) if temp_from is None else temp_from
        self.accumulate = accumulate or {}
        self.inplace = inplace or set()
        # registers: name values r0, r1, ... reused once dead and keep the sweep's scalar residuals
        # in a flat float buffer (None: for programs longer than REGISTERS_FROM statements)
        self.registers = registers
        self._regs: set[str] = set()
        self.backend = backend  # "python", or "fused": runs of elementwise operations via numexpr
        self.fast: dict[str, Any] = {"GuardFailed": GuardFailed, "ndarray": ndarray,
                                     "float64": np.float64, "float": float, "type": type,
                                     "math": math, "slice": slice, "inf": math.inf,
                                     "array": array}
        self.traced: dict[str, Any] = dict(self.fast)
        self.traced["math"] = _TracedMath()
        self.fast_prims: dict[str, Any] = {}
        self.traced_prims: dict[str, Any] = {}
        self.fast_nodiff: dict[str, Any] = {}
        self.traced_nodiff: dict[str, Any] = {}
        self._prim_ident: dict[int, str] = {}
        self._ident_count: dict[str, int] = {}
        self._consts: dict[int, str] = {}
        self._const_keep: list[Any] = []

    # ---- names and constants --------------------------------------------------------------------
    def name(self, s: Sym) -> str:
        return self.names[s]

    def const(self, x: Any) -> str:
        t = type(x)
        if x is None or t is bool or t is int or t is str:
            return repr(x)
        if t is float or t is np.float64:
            if math.isfinite(x):
                return repr(float(x))
            return "inf" if x > 0 else ("-inf" if x < 0 else "float('nan')")
        if x is Ellipsis:
            return "..."
        key = id(x)
        if key not in self._consts:
            nm = f"c{len(self._consts)}"
            self._consts[key] = nm
            self._const_keep.append(x)
            self.fast[nm] = x
            self.traced[nm] = x
        return self._consts[key]

    def expr(self, x: Any) -> str:
        t = type(x)
        if t is Sym:
            return self.name(x)
        if t is tuple:
            inner = ", ".join(self.expr(v) for v in x)
            return f"({inner},)" if len(x) == 1 else f"({inner})"
        if t is list:
            return "[" + ", ".join(self.expr(v) for v in x) + "]"
        if t is slice:
            return f"slice({self.expr(x.start)}, {self.expr(x.stop)}, {self.expr(x.step)})"
        return self.const(x)

    def _callable(self, op: Op, scalar: bool) -> str:
        prim = op.prim
        if prim is None:
            key = id(op.fn)
            if key not in self._prim_ident:
                ident = self._fresh_ident(_identifier(op.name), self.fast_nodiff)
                self._prim_ident[key] = ident
                self.fast_nodiff[ident] = op.fn
                self.traced_nodiff[ident] = op.traced
            return "nodiff." + self._prim_ident[key]
        if scalar and prim.fn in _MATH:
            return "math." + _MATH[prim.fn]
        key = id(prim)
        if key not in self._prim_ident:
            ident = self._fresh_ident(_identifier(prim.name), self.fast_prims)
            self._prim_ident[key] = ident
            self.fast_prims[ident] = prim.fn
            self.traced_prims[ident] = prim
        return "prim." + self._prim_ident[key]

    def _fresh_ident(self, base: str, table: dict[str, Any]) -> str:
        """``base``, or ``base_2``, ``base_3``, ... when taken (a counter per base: no probing)."""
        k = self._ident_count.get(base, 0) + 1
        self._ident_count[base] = k
        ident = base if k == 1 else f"{base}_{k}"
        while ident in table:
            k += 1
            self._ident_count[base] = k
            ident = f"{base}_{k}"
        return ident

    def op_expr(self, op: Op, traced: bool = False) -> str:
        """The right-hand side computing ``op`` (``traced``: in the program run on boxes)."""
        prim = op.prim
        args = op.args
        if not traced and prim is not None:
            special = self._special(op)
            if special is not None:
                return special
        if prim is not None and not op.kwargs and len(args) == 2 and prim.name in _BINARY \
                and prim is getattr(OPS, prim.name, None):
            return f"{self.operand(args[0])} {_BINARY[prim.name]} {self.operand(args[1])}"
        if prim is not None and prim is OPS.negative and len(args) == 1:
            return f"-{self.operand(args[0])}"
        if prim is not None and prim is OPS.getitem and list(op.kwargs) == ["index"]:
            return f"{self.operand(args[0])}[{self._index(op.kwargs['index'])}]"
        if prim is None and op.name == "=":
            return self.expr(args[0])
        if (prim is not None and prim.name in ("power", "power_by_constant") and len(args) == 2
                and type(args[0]) is Sym and type(args[0]._example) is ndarray and not op.kwargs):
            return f"{self.operand(args[0])} ** {self.operand(args[1])}"
        if prim is None and op.name in _COMPARE and len(args) == 2 and not op.kwargs:
            return f"{self.operand(args[0])} {op.name} {self.operand(args[1])}"
        if prim is None and op.name == "~" and len(args) == 1:
            return f"~{self.operand(args[0])}"
        scalar = all(_is_scalar_float(a._example) for a in op.syms()) and bool(op.syms())
        parts = [self.expr(a) for a in args]
        parts += [f"{k}={self.expr(v)}" for k, v in op.kwargs.items()]
        return f"{self._callable(op, scalar)}({', '.join(parts)})"

    def _special(self, op: Op) -> str | None:
        """Cheaper numpy spellings of a primitive for the types the trace saw (fast program only:
        the traced one keeps the primitive, so that it differentiates)."""
        prim = op.prim
        name = prim.name  # type: ignore[union-attr]
        args, kw = op.args, op.kwargs
        if len(args) != 1 or type(args[0]) is not Sym or registered(name) is not prim:
            return None
        a = args[0]
        ex = a._example
        if name == "reshape" and list(kw) == ["shape"]:
            if type(ex) is ndarray:
                return f"{self.name(a)}.reshape({self.expr(kw['shape'])})"
            if _is_scalar_float(ex):
                return f"full({self.expr(kw['shape'])}, {self.name(a)})"
        if name == "broadcast_to" and list(kw) == ["shape"] and np.size(ex) == 1 \
                and np.asarray(ex).dtype == np.float64:
            return f"full({self.expr(kw['shape'])}, {self.name(a)})"
        return None

    def operand(self, x: Any) -> str:
        text = self.expr(x)
        if type(x) is not Sym and text.startswith("-"):
            return f"({text})"
        return text

    # ---- the program ----------------------------------------------------------------------------
    def needed(self, outputs: Sequence[Any]) -> list[bool]:
        """Which operations the outputs and guards read (dead code dropped)."""
        ops = self.graph.ops
        live: set[Sym] = set()
        for x in outputs:
            found: list[Sym] = []
            _collect(x, found)
            live.update(found)
        for g in self.graph.guards:
            live.add(g.sym)
        keep = [False] * len(ops)
        for i in range(len(ops) - 1, -1, -1):
            op = ops[i]
            if op.out in live:
                keep[i] = True
                live.update(op.syms())
        return keep

    def generate(self, fn_name: str, outputs: Sequence[Any], finite: Sequence[bool] = (),
                 as_tuple: bool = False) -> Program:
        """``outputs``: the values returned (a tuple if more than one, or ``as_tuple``);
        ``finite[i]`` makes the program raise ``FloatingPointError`` when output i holds a nan or
        an inf."""
        graph = self.graph
        keep = self.needed(outputs)
        by_sym: dict[Sym, list[Any]] = {}
        for g in graph.guards:
            by_sym.setdefault(g.sym, []).append(g)
        counter = {"w": 0, "t": 0}
        for i, op in enumerate(graph.ops):
            if keep[i] and op.out not in self.names:
                prefix = "w" if i < self.temp_from else "t"
                counter[prefix] += 1
                self.names[op.out] = f"{prefix}{counter[prefix]}"
        inputs = [self.name(s) for s in graph.inputs]
        body: list[str] = []
        traced_head: list[str] = []
        fast_head: list[str] = []
        for s in graph.inputs:
            nm = self.name(s)
            fast_head.append(f"    if {self._signature_test(nm, s._example)}: raise GuardFailed")
            traced_head.append(f"    if sig({nm}) != {self.const(_sig(s._example))}: raise GuardFailed")
            for g in by_sym.get(s, ()):
                body.append(self._guard_line(g))
        uses = self._uses(keep, outputs)
        inlined = self._inlinable(keep, uses)
        traced_body = list(body)
        statements = sum(1 for i, op in enumerate(graph.ops) if keep[i] and op.out not in inlined)
        registers = self.registers
        if registers is None:  # long programs, or programs holding many bytes in temporaries
            # (a fused program has few temporaries left: registers by its length only)
            registers = statements > REGISTERS_FROM or self.backend != "fused" and sum(
                getattr(op.out._example, "nbytes", 8) for i, op in enumerate(graph.ops)
                if keep[i]) > REGISTERS_FROM_BYTES
        plan = self._plan(keep, inlined, outputs, by_sym) if registers else None
        inside: set[Sym] = set()
        roots: set[Sym] = set()
        if self.backend == "fused" and plan is None:
            inside, roots = self._fusion(keep, uses, inlined)
        free: list[str] = []
        for i, op in enumerate(graph.ops):
            if not keep[i] or op.out in inlined:
                continue
            if plan is not None:
                self._allocate(plan, i, op, free)
            fast_line, traced_line = self._lines(op, inlined)
            if op.out in inside:  # written into a fused expression of the fast program
                traced_body.append("    " + traced_line)
                continue
            if op.out in roots:
                leaves: dict[str, None] = {}
                text = fused.expression(op, inside | inlined, self.name, graph.ops, leaves)
                names = ", ".join(f"{nm!r}: {nm}" for nm in leaves)
                fast_line = f"{self.name(op.out)} = fused({text!r}, {{{names}}})"
            if op.prim is None and op.name == "=" and fast_line == f"{self.name(op.out)} = " \
                    f"{self.name(op.out)}":
                continue  # a register carrying a value on to its next name
            body.append("    " + fast_line)
            traced_body.append("    " + traced_line)
            for g in by_sym.get(op.out, ()):
                body.append(self._guard_line(g))
                traced_body.append(self._guard_line(g))
            if plan is not None and op.out in plan.residual:
                line = f"    R[{plan.residual[op.out]}] = {self.names[op.out]}"
                body.append(line)
                traced_body.append(line)
                if plan.last.get(op.out, i) <= i:
                    self._release(op.out, free)
        if plan is not None:
            count = plan.count
            n = len(plan.residual)
            note = f"    # {statements} operations: values in registers r0..r{max(count - 1, 0)}"
            if n:
                body.insert(0, note + f", the sweep's {n} scalar residuals in the flat buffer R "
                                      "(8 bytes each)")
                body.insert(1, f"    R = array('d', (0.0,)) * {n}")
                traced_body.insert(0, f"    R = [None] * {n}")
            else:
                body.insert(0, note)
        result = [self.expr(o) for o in outputs]
        tail = []
        for o, want in zip(outputs, finite):
            if want and type(o) is Sym:
                nm = self.name(o)
                ex = o._example
                if _is_scalar_float(ex):
                    tail.append(f"    if {nm} - {nm} != 0: raise FloatingPointError")
                elif type(ex) is ndarray and ex.ndim == 1:
                    tail.append(f"    if not isfinite({nm}.dot({nm})): raise FloatingPointError")
                else:
                    tail.append(f"    if not finite({nm}): raise FloatingPointError")
        ret = result[0] if len(result) == 1 and not as_tuple else (
            "(" + ", ".join(result) + ("," if len(result) == 1 else "") + ")")
        tail.append(f"    return {ret}")
        head = f"def {fn_name}({', '.join(inputs)}):"
        source = "\n".join([head] + fast_head + body + tail) + "\n"
        traced_source = "\n".join([head] + traced_head + traced_body + tail) + "\n"
        self.fast["prim"] = Namespace(self.fast_prims)
        self.traced["prim"] = Namespace(self.traced_prims)
        self.fast["nodiff"] = Namespace(self.fast_nodiff)
        self.traced["nodiff"] = Namespace(self.traced_nodiff)
        self.fast["finite"] = _finite
        self.traced["finite"] = _finite
        self.fast["isfinite"] = math.isfinite
        self.fast["full"] = np.full
        if self.backend == "fused":
            evaluate = fused.evaluator()
            self.fast["fused"] = lambda text, values: evaluate(text, local_dict=values)
        self.traced["isfinite"] = _traced_isfinite
        self.traced["sig"] = _traced_sig
        self.fast["same"] = self.traced["same"] = _same
        self.fast["shapes"] = shape_signature
        self.traced["shapes"] = _traced_shapes
        fast_fn = _compile(source, fn_name, self.fast)
        return Program(source, traced_source, fast_fn, fn_name, self.traced)

    def _plan(self, keep: list[bool], inlined: set[Sym], outputs: Sequence[Any],
              by_sym: dict[Sym, list[Any]]) -> list[Any]:
        """For a long program: the symbols each statement reads, each symbol's last read (as a
        register: a residual's last read in the nominal pass), the scalar residuals' slots in R,
        and the symbols that continue another's register (``x_bar += c``, in-place accumulations)."""
        ops = self.graph.ops
        reads: dict[int, list[Sym]] = {}
        last: dict[Sym, float] = {}
        carried: dict[Sym, Sym] = {}
        for i, op in enumerate(ops):
            if not keep[i] or op.out in inlined:
                continue
            rs = list(op.syms())
            for s in list(rs):
                if s in inlined:
                    rs.extend(ops[s._index].syms())
            rs = [s for s in rs if s not in inlined]
            rs += [g.sym for g in by_sym.get(op.out, ())]
            reads[i] = rs
            if op.out in self.accumulate:
                carried[op.out] = self.accumulate[op.out]
            elif op.prim is None and op.name.startswith("accumulate "):
                carried[op.out] = op.args[0]
        inputs = set(self.graph.inputs)
        residual: dict[Sym, int] = {}
        for i, rs in reads.items():
            for s in rs:
                if i >= self.temp_from and s not in inputs and s._index < self.temp_from \
                        and _is_scalar_float(s._example) and s not in residual:
                    residual[s] = len(residual)
        for i, rs in reads.items():
            for s in rs:
                if s in residual and i >= self.temp_from:
                    continue
                last[s] = i
        found: list[Sym] = []
        _collect(tuple(outputs), found)
        for s in found:
            last[s] = math.inf
        return _Plan(reads, last, residual, carried)

    def _release(self, s: Sym, free: list[str]) -> None:
        nm = self.names[s]
        if nm in self._regs:
            self._regs.discard(nm)
            free.append(nm)

    def _allocate(self, plan: _Plan, i: int, op: Op, free: list[str]) -> None:
        """Name ``op``'s result by a register, reusing those whose values are dead."""
        if i >= self.temp_from and not plan.in_sweep:
            plan.in_sweep = True
            for s, j in plan.residual.items():
                self.names[s] = f"R[{j}]"
        for s in plan.reads[i]:
            if plan.last.get(s) == i and id(s) not in plan.carried_from:
                self._release(s, free)
        target = plan.carried.get(op.out)
        if target is not None:
            self.names[op.out] = self.names[target]
            return
        if free:
            reg = free.pop()
        else:
            reg = f"r{plan.count}"
            plan.count += 1
        self.names[op.out] = reg
        self._regs.add(reg)

    def _signature_test(self, nm: str, example: Any) -> str:
        t = type(example)
        if t is float:
            return f"type({nm}) is not float"
        if t is np.float64:
            return f"type({nm}) is not float64"
        if t is ndarray:
            return (f"type({nm}) is not ndarray or {nm}.shape != {example.shape!r} or "
                    f"{nm}.dtype != {self.const(example.dtype)}")
        return f"type({nm}) is not {self.const(t)}"

    def _guard_line(self, g: Any) -> str:
        nm = self.name(g.sym)
        if g.kind == "truth":
            return f"    if {'not ' if g.expected else ''}{nm}: raise GuardFailed"
        if g.kind == "index":
            return f"    if int({nm}) != {g.expected!r}: raise GuardFailed"
        if g.kind == "shape":
            return f"    if shapes({nm}) != {self.const(g.expected)}: raise GuardFailed"
        return f"    if not same({nm}, {self.const(g.expected)}): raise GuardFailed"

    def _uses(self, keep: list[bool], outputs: Sequence[Any]) -> dict[Sym, int]:
        uses: dict[Sym, int] = {}
        for i, op in enumerate(self.graph.ops):
            if keep[i]:
                for s in op.syms():
                    uses[s] = uses.get(s, 0) + 1
        found: list[Sym] = []
        _collect(tuple(outputs), found)
        for s in found:
            uses[s] = uses.get(s, 0) + 2
        for g in self.graph.guards:
            uses[g.sym] = uses.get(g.sym, 0) + 2
        return uses

    def _fusion(self, keep: list[bool], uses: dict[Sym, int], inlined: set[Sym]) -> tuple[
            set[Sym], set[Sym]]:
        """The fusable operations written inside their single reader (``inside``) and the
        expressions' roots (computed by one numexpr call each)."""
        ops = self.graph.ops
        ok = {op.out for i, op in enumerate(ops) if keep[i] and fused.fusable(op)}
        for s in list(ok):
            # an accumulation whose product is written into it must fuse that product too
            if any(type(a) is Sym and a in inlined and a not in ok for a in ops[s._index].args):
                ok.discard(s)
        inside = set()
        for s in ok:
            for a in ops[s._index].args:
                if type(a) is Sym and a in ok and uses.get(a, 0) == 1 and a._index >= 0:
                    inside.add(a)
        roots = {s for s in ok - inside
                 if any(type(a) is Sym and a in inside for a in ops[s._index].args)}
        return inside, roots

    def _inlinable(self, keep: list[bool], uses: dict[Sym, int]) -> set[Sym]:
        """Products read once, by an accumulation: written into it (``x_bar += w1_bar * y``)."""
        out: set[Sym] = set()
        ops = {op.out: op for i, op in enumerate(self.graph.ops) if keep[i]}
        for acc, target in self.accumulate.items():
            op = ops.get(acc)
            if op is None:
                continue
            other = op.args[1] if op.args[0] is target else op.args[0]
            if type(other) is Sym and uses.get(other, 0) == 1 and other not in self.preassigned:
                src = ops.get(other)
                if src is not None and src.prim is OPS.multiply and not src.kwargs:
                    out.add(other)
        return out

    def _rhs(self, x: Any, inlined: set[Sym]) -> str:
        if type(x) is Sym and x in inlined:
            return self._rhs_op(self.graph.ops[x._index], inlined)
        return self.expr(x)

    def _rhs_op(self, op: Op, inlined: set[Sym]) -> str:
        return self.op_expr(op)

    def _lines(self, op: Op, inlined: set[Sym]) -> tuple[str, str]:
        """The statement computing ``op`` in the fast program and in the traced one."""
        nm = self.name(op.out)
        target = self.accumulate.get(op.out)
        if target is not None:
            other = op.args[1] if op.args[0] is target else op.args[0]
            rhs = self._rhs(other, inlined)
            out_of_place = f"{nm} = {self.name(target)} + {rhs}"
            if op.out in self.inplace or _is_scalar_float(op.out._example):
                return f"{nm} += {rhs}", out_of_place
            return out_of_place, out_of_place
        if op.prim is not None:
            return f"{nm} = {self._rhs_op(op, inlined)}", f"{nm} = {self.op_expr(op, True)}"
        if op.name.startswith("accumulate "):  # the registry's in-place rule: a statement
            call = self.op_expr(op)
            return call, f"{nm} = {call}"
        line = f"{nm} = {self._rhs_op(op, inlined)}"
        return line, line

    def _index(self, index: Any) -> str:
        if type(index) is tuple and index:
            return ", ".join(self._index(i) for i in index)
        if type(index) is slice:
            parts = ["" if v is None else self.expr(v) for v in (index.start, index.stop, index.step)]
            text = f"{parts[0]}:{parts[1]}"
            return text + (f":{parts[2]}" if parts[2] else "")
        if index is None:
            return "None"
        return self.expr(index)


def _sig(x: Any) -> tuple:
    t = type(x)
    if t is ndarray:
        return (t, x.shape, x.dtype)
    return (t,)


def _traced_sig(x: Any) -> tuple:
    return _sig(plain(x))


def _same(x: Any, expected: Any) -> bool:
    """The value a guard saw: equal shape, kind and entries (nan equal to nan). A numpy scalar
    and the Python number of the same value are the same (a replay may produce either)."""
    a, b = np.asarray(plain(x)), np.asarray(expected)
    if a.shape != b.shape or (a.dtype.kind == "b") != (b.dtype.kind == "b"):
        return False
    return bool(np.array_equal(a, b, equal_nan=a.dtype.kind in "fc" and b.dtype.kind in "fc"))


def _traced_shapes(x: Any) -> Any:
    t = type(x)
    if t is tuple or t is list:
        return tuple(_traced_shapes(v) for v in x)
    return shape_signature(plain(x))


def _traced_isfinite(x: Any) -> bool:
    return math.isfinite(plain(x))


def _finite(x: Any) -> bool:
    from .nonfinite import all_finite
    return all_finite((x,))


class _TracedMath:
    """``math.tanh(x)`` in the traced namespace: the registry's primitive, which traces."""

    def __getattr__(self, name: str) -> Any:
        from .primitives import REGISTRY
        for fn, mname in _MATH.items():
            if mname == name:
                for prim in REGISTRY.values():
                    if prim.fn is fn:
                        return prim
        raise AttributeError(name)


def _compile(source: str, name: str, namespace: dict[str, Any]) -> Any:
    code = compile(source, f"<modes.compile {name}>", "exec")
    exec(code, namespace)  # noqa: S102  the source is generated from the registry, not user text
    return namespace[name]


__all__ = ["Generator", "GuardFailed", "Program"]
