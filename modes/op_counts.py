"""Operation counts: the arithmetic a function, its reverse-mode gradient and its forward-mode
gradient perform, from the registry's cost rules, independent of any machine.

Each count sums ``Primitive.cost`` over a recorded program (``modes.staging``): ``f`` itself; the
nominal pass plus the reverse sweep that ``modes.compile`` generates from the registry's rules
(operations the gradient does not need dropped, as the compiled program drops them); and the
forward mode's passes, each carrying a chunk of tangents. Operations without a derivative count
one per element (a comparison, a sign); copies, aliases and fresh zeros count nothing. Griewank's
cheap-gradient principle bounds the reverse count: OPS(f and its gradient) <= omega * OPS(f),
omega = 3 counting multiplications (about 4 to 5 counting every operation).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from .adjoint import Sweep
from .codegen import Generator
from .errors import ModesError
from .pytree import flatten
from .staging import Graph, Op, Sym, _examples, _examples_kw, stage

# Griewank & Walther, "Evaluating Derivatives" (2008), section 4.6: the gradient's operation
# count is at most omega times the function's, omega = 3 counting multiplications.
GRIEWANK_OMEGA = 3.0

_FREE = {"=", "zeros", "ones", "copy", "array", "full"}
# Additive operations (Griewank's bound counts multiplicative ones: multiplications, divisions and
# nonlinear elementals); a contraction's 2 m n k splits evenly into multiplies and adds.
_ADDITIVE = {"add", "subtract", "negative", "sum", "untake", "cumsum", "diff", "trace",
             "positive"}
_CONTRACTIONS = {"matmul", "dot", "tensordot", "einsum", "inner", "vdot", "outer"}


@dataclass(frozen=True)
class OpCount:
    """Arithmetic operation counts of ``f`` and of its gradient in each mode.

    ``reverse`` counts the nominal pass and the sweep; ``forward`` every forward pass (``passes``
    of them, each carrying ``chunk`` tangents, recomputing f's values as forward mode does);
    ``residual_bytes`` the bytes of the nominal pass's values the sweep reads (the tape's
    residuals); ``n`` the number of input entries.
    """

    f: int
    reverse: int
    forward: int | None  # None: not counted (count_ops(..., forward=False))
    sweep: int
    passes: int
    chunk: int
    n: int
    residual_bytes: int
    f_mul: int = 0  # the multiplicative part of each count (Griewank's measure)
    reverse_mul: int = 0
    forward_mul: int | None = 0

    @property
    def reverse_ratio(self) -> float:
        """OPS(reverse gradient) / OPS(f)."""
        return self.reverse / self.f if self.f else math.inf

    @property
    def forward_ratio(self) -> float:
        """OPS(forward gradient) / OPS(f) (nan when the forward gradient was not counted)."""
        if self.forward is None:
            return math.nan
        return self.forward / self.f if self.f else math.inf

    @property
    def reverse_mul_ratio(self) -> float:
        """Multiplicative operations of the reverse gradient / those of f (Griewank's ratio)."""
        return self.reverse_mul / self.f_mul if self.f_mul else math.inf

    @property
    def within_griewank(self) -> bool:
        """Whether the reverse gradient respects Griewank's bound: its multiplicative operations
        (multiplications, divisions, nonlinear elementals) at most omega = 3 times f's."""
        return self.reverse_mul <= GRIEWANK_OMEGA * self.f_mul

    def __str__(self) -> str:
        forward = ("forward gradient not counted" if self.forward is None else
                   f"forward gradient {self.forward} ({self.forward_ratio:.2f}x f, "
                   f"{self.passes} pass(es) of {self.chunk} tangent(s))")
        return (f"OPS(f) = {self.f}; reverse gradient {self.reverse} ({self.reverse_ratio:.2f}x f: "
                f"sweep {self.sweep}); {forward}; multiplicative: f "
                f"{self.f_mul}, reverse {self.reverse_mul} ({self.reverse_mul_ratio:.2f}x, "
                f"Griewank's bound {GRIEWANK_OMEGA:g}x); residuals {self.residual_bytes} bytes")


def op_cost(op: Op) -> int:
    """The arithmetic operations of one recorded operation."""
    if op.prim is not None:
        graph = op.out._graph
        return op.prim.cost(op.out._example, _examples(op.args, graph), _examples_kw(op.kwargs, graph))
    if op.name in _FREE:
        return 0
    if op.name.startswith("accumulate "):  # bar += g in place: one add per entry of g
        return int(np.size(op.args[1]._example))
    if op.name.startswith("rule "):
        raise ModesError(f"count_ops: the rule {op.name[5:]!r} reads values (modes.plain), so its "
                         "operations cannot be counted from a trace")
    sizes = [int(np.size(s._example)) for s in op.syms()] + [int(np.size(op.out._example))]
    return max(sizes)


def multiplicative_cost(op: Op) -> int:
    """The multiplications, divisions and nonlinear elementals among ``op_cost(op)``."""
    name = op.prim.name if op.prim is not None else op.name
    if name in _ADDITIVE or (op.prim is None and name not in _FREE and not name.startswith("rule ")):
        return 0  # adds (bars accumulated in place too), operations without a derivative
    n = op_cost(op)
    return n // 2 if name in _CONTRACTIONS else n


def program_cost(graph: Graph, keep: list[bool] | None = None,
                 measure: Callable[[Op], int] = op_cost) -> int:
    """The operations of ``graph`` (only those with ``keep[i]``, when given)."""
    return sum(measure(op) for i, op in enumerate(graph.ops) if keep is None or keep[i])


def count_ops(f: Callable[..., Any], *args: Any, argnum: int | tuple[int, ...] = 0,
              chunk_size: int | None = None, forward: bool = True) -> OpCount:
    """Operation counts of scalar ``f`` at ``args`` and of its gradient in both modes.

    ``argnum`` picks the differentiated arguments (as ``modes.grad``); ``chunk_size`` the forward
    mode's tangents per pass (default: all n directions in one pass). Counts come from shapes and
    the registry's cost rules, so they do not depend on the machine. Counting the forward
    gradient records all its passes (work growing as n^2 for n inputs): ``forward=False`` skips
    it (``.forward`` is then None).
    """
    from .api import _argnums

    nums, _ = _argnums(argnum, len(args))
    leaves, in_def = flatten((args, {}))
    if any(isinstance(a, (list, tuple, dict)) for a in args):
        raise TypeError("count_ops takes numbers and arrays as arguments (no containers)")

    def build(values: list[Any]) -> tuple:
        return tuple(values[: len(args)]), {}

    graph, out = stage(f, list(args), build)
    if type(out) is not Sym or np.size(out._example) != 1:
        raise ValueError("count_ops needs f to return a scalar that depends on its inputs")
    f_ops = program_cost(graph)
    names = {s: f"a{i}" for i, s in enumerate(graph.inputs)}
    for k, op in enumerate(graph.ops):
        names[op.out] = f"w{k + 1}"
    sweep = Sweep(graph, names, stage_all=True)
    sweep.run(out, 1.0)
    wrt = [graph.inputs[i] for i in nums]
    bars = [sweep.materialize(s) for s in wrt if s in sweep.bars]
    gen = Generator(graph, [names[s] for s in graph.inputs], names, temp_from=sweep.temp_from)
    keep = gen.needed(bars)
    sweep_keep = [k and i >= sweep.temp_from for i, k in enumerate(keep)]
    sweep_ops = program_cost(graph, sweep_keep)
    residual = _residual_bytes(graph, sweep.temp_from, sweep_keep)

    n = sum(int(np.size(args[i])) for i in nums)
    chunk = n if chunk_size is None else max(1, min(chunk_size, n))
    fwd_graph = stage(_forward_with_chunk(f, argnum, chunk), list(args), build)[0] if forward \
        else None
    forward_ops = program_cost(fwd_graph) if fwd_graph is not None else None
    f_mul = program_cost(graph, [i < sweep.temp_from for i in range(len(graph.ops))],
                         multiplicative_cost)
    return OpCount(f=f_ops, reverse=f_ops + sweep_ops, forward=forward_ops, sweep=sweep_ops,
                   passes=max(1, -(-n // chunk)), chunk=chunk, n=n, residual_bytes=residual,
                   f_mul=f_mul,
                   reverse_mul=f_mul + program_cost(graph, sweep_keep, multiplicative_cost),
                   forward_mul=program_cost(fwd_graph, None, multiplicative_cost)
                   if fwd_graph is not None else None)


def _forward_with_chunk(f: Callable[..., Any], argnum: Any, chunk: int) -> Callable[..., Any]:
    from .api import jacobian
    return jacobian(f, argnum=argnum, mode="forward", chunk_size=chunk)


def _residual_bytes(graph: Graph, temp_from: int, keep: list[bool]) -> int:
    """Bytes of the nominal pass's values (inputs included) that the kept sweep reads."""
    seen: set[int] = set()
    total = 0
    for i in range(temp_from, len(graph.ops)):
        if not keep[i]:
            continue
        for s in graph.ops[i].syms():
            if (s._index < temp_from) and id(s) not in seen:
                seen.add(id(s))
                ex = s._example
                total += ex.nbytes if hasattr(ex, "nbytes") else 8
    return total


__all__ = ["GRIEWANK_OMEGA", "OpCount", "count_ops", "op_cost", "program_cost"]
