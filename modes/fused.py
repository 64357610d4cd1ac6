"""The fused backend of ``modes.compile`` (``backend="fused"``, the ``fused`` extra: numexpr).

Runs of elementwise operations on large float arrays, in the nominal pass and in the sweep, are
written as one numexpr expression each: one pass over memory instead of one per operation (and
no temporaries in between). A value read twice, a guard's value or a result is computed once and
named, as in the pure-Python program; everything else (reductions, indexing, contractions) stays
numpy. Only the fast program is fused: the traced one, run on an enclosing transformation's
values, keeps the registry's primitives.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .errors import ModesError
from .staging import Op, Sym
from .tracing import OPS

ndarray = np.ndarray

# Arrays from this many entries are fused (below, numexpr's call costs more than the passes saved).
FUSE_FROM = 1 << 15

_BINARY = {"add": "+", "subtract": "-", "multiply": "*", "divide": "/"}
_FUNCTIONS = {"sin": "sin", "cos": "cos", "tan": "tan", "tanh": "tanh", "sinh": "sinh",
              "cosh": "cosh", "arcsin": "arcsin", "arccos": "arccos", "arctan": "arctan",
              "exp": "exp", "expm1": "expm1", "log": "log", "log1p": "log1p", "sqrt": "sqrt",
              "absolute": "abs", "arctan2": "arctan2", "where": "where"}
_COMPARE = {"<", "<=", ">", ">=", "==", "!=", "&", "|"}


def evaluator() -> Any:
    """numexpr's ``evaluate``, or an error naming the extra to install."""
    try:
        import numexpr  # type: ignore[import-not-found]
    except ImportError:
        raise ModesError("modes.compile(..., backend='fused') needs numexpr, the 'fused' extra: "
                         "pip install -e '.[fused]' (or pip install numexpr); backend='python' "
                         "needs nothing") from None
    return numexpr.evaluate


def _big_float(x: Any, shape: tuple[int, ...]) -> bool:
    return type(x) is ndarray and x.shape == shape and x.dtype.kind in "fb" and x.dtype.itemsize in (
        1, 8)


def fusable(op: Op) -> bool:
    """Whether numexpr can compute ``op`` on the types its trace saw."""
    out = op.out._example
    if type(out) is not ndarray or out.size < FUSE_FROM or out.dtype.kind not in "fb" or op.kwargs:
        return False
    prim = op.prim
    if prim is None:
        if op.name not in _COMPARE and op.name != "~":
            return False
    elif not (prim.name in _BINARY and prim is getattr(OPS, prim.name, None)) \
            and prim is not OPS.negative and prim.name not in _FUNCTIONS \
            and prim.name != "power":
        return False
    if prim is not None and prim.name == "power":
        exponent = op.args[1] if len(op.args) == 2 else None
        if type(exponent) not in (int, float) or not math.isfinite(exponent):
            return False
    for a in op.args:
        if type(a) is Sym:
            ex = a._example
            if not (_big_float(ex, out.shape) or (np.ndim(ex) == 0 and np.asarray(ex).dtype.kind == "f")):
                return False
        elif type(a) in (int, float, bool):
            if type(a) is float and not math.isfinite(a):
                return False
        else:
            return False
    return True


def expression(op: Op, inside: set[Sym], name_of: Any, ops: list[Op],
               leaves: dict[str, None]) -> str:
    """numexpr text computing ``op``; operands in ``inside`` are written in place (recursively),
    the others by name (collected into ``leaves``)."""
    def operand(a: Any) -> str:
        if type(a) is Sym:
            if a in inside:
                return "(" + expression(ops[a._index], inside, name_of, ops, leaves) + ")"
            nm = name_of(a)
            leaves[nm] = None
            return nm
        if type(a) is bool:
            return "True" if a else "False"
        return repr(float(a)) if type(a) is float else repr(a)

    prim = op.prim
    args = [operand(a) for a in op.args]
    if prim is None:
        return f"~{args[0]}" if op.name == "~" else f"{args[0]} {op.name} {args[1]}"
    if prim.name in _BINARY and len(args) == 2:
        return f"{args[0]} {_BINARY[prim.name]} {args[1]}"
    if prim is OPS.negative:
        return f"-{args[0]}"
    if prim.name == "power":
        return f"{args[0]} ** {args[1]}"
    return f"{_FUNCTIONS[prim.name]}({', '.join(args)})"


__all__ = ["FUSE_FROM", "evaluator", "expression", "fusable"]
