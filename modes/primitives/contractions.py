"""Contractions: the einsum primitive (JVP and VJP side by side); tensordot and kron composed.

The ``np.einsum`` binding normalises every call (implicit output, ellipsis, the interleaved
``einsum(a, [0, 1], b, [1, 2])`` form) to explicit, ellipsis-free subscripts such as
``"ij,jk->ik"``, so the rules below only see one letter per axis. Size-1 axes may broadcast
against the same label in another operand, as numpy allows.

Cost (``modes.flops``): each contraction step, evaluated as written, does ``len(terms) - 1``
multiplies at every point of its index space and one add there when a label is summed: ``2 m n k``
for "ij,jk->ik", ``m n`` for the outer product "i,j->ij", ``n`` for the trace "ii->", 0 for a
transpose or a diagonal. With ``optimize`` (and three or more operands) the steps are those of
numpy's contraction path, planned from the shapes alone.
"""

from __future__ import annotations

import math
import operator
import string
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..errors import MutationError
from ..registry import Traced
from ..unbroadcast import shape_of
from . import elementwise as ew
from . import linalg as la
from . import structural as st
from .bind import FUNC, structural
from .structural import _nb

_LETTERS = string.ascii_letters


def _arr(x: Any) -> Any:
    """A traced value as it is; anything else (lists, numbers) as a numpy array."""
    return x if isinstance(x, Traced) else np.asarray(x)


def _fresh(used: set[str], n: int) -> str:
    """``n`` letters not in ``used`` (and adds them to it)."""
    out = [c for c in _LETTERS if c not in used][:n]
    if len(out) < n:
        raise ValueError(
            "np.einsum: more than 52 distinct axis labels would be needed (the operands' labels, "
            "their ellipsis axes and the derivative's batch axes); split the contraction in two."
        )
    used.update(out)
    return "".join(out)


def _terms(subscripts: str) -> tuple[list[str], str]:
    lhs, out = subscripts.split("->")
    return lhs.split(","), out


# Multiply-adds above which a rule's contraction takes numpy's greedy path (pairwise tensordot, so
# BLAS) even when the nominal call asked for optimize=False: numpy's unoptimised einsum never calls
# BLAS, and a rule contracts a whole batch of tangents or cotangents, k times the nominal work.
# Planning the path costs some 50 us, the unoptimised loop about that much at this size.
BLAS_WORK = 1 << 18


def _rule_optimize(optimize: Any, subscripts: str, ops: Sequence[Any]) -> Any:
    """The ``optimize`` for a rule's einsum ``subscripts`` over ``ops``."""
    if isinstance(optimize, (list, tuple)):  # a path belongs to the nominal operands, not these
        return "greedy"
    if optimize is False:
        sizes: dict[str, int] = {}
        for term, op in zip(_terms(subscripts)[0], ops):
            for lab, n in zip(term, shape_of(op)):
                sizes[lab] = max(sizes.get(lab, 1), n)
        if math.prod(sizes.values()) > BLAS_WORK:
            return "greedy"
    return optimize


# ---- the primitive --------------------------------------------------------------------------------
def _einsum_jvp(tangents: list, ans: Any, *ops: Any, subscripts: str, optimize: Any = False) -> Any:
    """Sum over operands of the einsum with the tangent (batch axes first) in place of operand i."""
    ins, out = _terms(subscripts)
    total = None
    for i, t in enumerate(tangents):
        if t is None:
            continue
        batch = _fresh(set(subscripts), _nb(t, ops[i]))
        terms = list(ins)
        terms[i] = batch + terms[i]
        args = list(ops)
        args[i] = t
        sub = ",".join(terms) + "->" + batch + out
        term = einsum(*args, subscripts=sub, optimize=_rule_optimize(optimize, sub, args))
        total = term if total is None else total + term
    return total


def _einsum_vjp(i: int, g: Any, ans: Any, *ops: Any, subscripts: str, optimize: Any = False) -> Any:
    """Operand i's cotangent: g contracted with the other operands onto operand i's subscripts.

    A label repeated in operand i ('ii') is renamed and tied to its first occurrence by an identity
    matrix, so the cotangent is zero off the diagonal; a label that occurs only in operand i was
    summed out and is broadcast back; a size-1 axis that broadcast is summed back to size 1.
    """
    ins, out = _terms(subscripts)
    used = set(subscripts)
    nb = _nb(g, ans)
    batch = _fresh(used, nb)
    xshape = shape_of(ops[i])
    target, eyes, eye_terms, seen = [], [], [], set()
    for lab, n in zip(ins[i], xshape):
        if lab in seen:
            new = _fresh(used, 1)
            eyes.append(np.eye(n))
            eye_terms.append(lab + new)
            target.append(new)
        else:
            seen.add(lab)
            target.append(lab)
    others = [j for j in range(len(ops)) if j != i]
    available = set(out).union(*(ins[j] for j in others), *eye_terms)
    present = [k for k, lab in enumerate(target) if lab in available]
    terms = [batch + out] + [ins[j] for j in others] + eye_terms
    sub = ",".join(terms) + "->" + batch + "".join(target[k] for k in present)
    args = [g, *(ops[j] for j in others), *eyes]
    bar = einsum(*args, subscripts=sub, optimize=_rule_optimize(optimize, sub, args))
    bshape = shape_of(bar)
    stretched = tuple(nb + p for p, k in enumerate(present)
                      if xshape[k] == 1 and bshape[nb + p] != 1)
    if stretched:
        bar = np.sum(bar, axis=stretched, keepdims=True)
    if len(present) < len(target):
        batch_shape = shape_of(g)[:nb]
        full = batch_shape + tuple(xshape)
        bar = np.reshape(bar, batch_shape + tuple(n if k in present else 1
                                                  for k, n in enumerate(xshape)))
        bar = np.broadcast_to(bar, full)
    return bar


def _step_cost(terms: Sequence[str], out: str, sizes: dict[str, int]) -> int:
    labels = set("".join(terms))
    points = math.prod(sizes[lab] for lab in labels | set(out))
    return points * (len(terms) - 1 + bool(labels - set(out)))


def _einsum_cost(ans: Any, *ops: Any, subscripts: str, optimize: Any = False) -> int:
    ins, out = _terms(subscripts)
    sizes: dict[str, int] = {}
    for term, op in zip(ins, ops):
        for lab, n in zip(term, shape_of(op)):
            sizes[lab] = max(sizes.get(lab, 1), n)
    if optimize is False or len(ins) < 3:
        return _step_cost(ins, out, sizes)
    if isinstance(optimize, (list, tuple)):
        path = optimize
    else:  # stand-ins of the operands' shapes (zero strides): the path depends on shapes only
        stand_ins = [np.broadcast_to(0.0, shape_of(op)) for op in ops]
        path = np.einsum_path(subscripts, *stand_ins, optimize=optimize)[0]
    terms, total = list(ins), 0
    for step in (s for s in path if not isinstance(s, str)):
        picked = [terms[i] for i in step]
        terms = [t for i, t in enumerate(terms) if i not in step]
        kept = set("".join(picked)) & (set("".join(terms)) | set(out))
        result = out if not terms else "".join(sorted(kept))
        total += _step_cost(picked, result, sizes)
        terms.append(result)
    return total


einsum = structural(
    lambda *ops, subscripts, optimize=False: np.einsum(subscripts, *ops, optimize=optimize),
    "einsum", jvp=_einsum_jvp, vjp=_einsum_vjp, cost=_einsum_cost,
)


# ---- the np.einsum binding: normalising subscripts ------------------------------------------------
def _sublist_letters(sub: Sequence[Any]) -> str:
    """numpy's interleaved labels: 0-25 are 'A'-'Z', 26-51 are 'a'-'z', Ellipsis is '...'."""
    out = []
    for s in sub:
        if s is Ellipsis:
            out.append("...")
            continue
        s = operator.index(s)
        if not 0 <= s < 52:
            raise ValueError(f"np.einsum: subscript {s} in a sublist is not in [0, 52)")
        out.append(string.ascii_uppercase[s] if s < 26 else string.ascii_lowercase[s - 26])
    return "".join(out)


def _from_interleaved(args: Sequence[Any]) -> tuple[str, list[Any]]:
    ops = list(args[0::2])
    subs = list(args[1::2])
    out = None
    if len(ops) > len(subs):  # an odd count: the last item is the output sublist
        out = ops.pop()
    text = ",".join(_sublist_letters(s) for s in subs)
    if out is not None:
        text += "->" + _sublist_letters(out)
    return text, ops


def normalize_subscripts(subscripts: str, shapes: Sequence[tuple[int, ...]]) -> str:
    """Explicit, ellipsis-free subscripts equivalent to numpy's reading of ``subscripts``."""
    s = subscripts.replace(" ", "")
    lhs, arrow, rhs = s.partition("->")
    terms = lhs.split(",")
    if len(terms) != len(shapes):
        raise ValueError(f"np.einsum: {len(terms)} subscript terms in {subscripts!r} but "
                         f"{len(shapes)} operands")
    for t in terms + ([rhs] if arrow else []):
        letters = t.replace("...", "", 1)
        if not all(c in _LETTERS for c in letters):
            raise ValueError(f"np.einsum: invalid subscript {t!r} in {subscripts!r} (use letters "
                             "and at most one '...' per term)")
    used = set(s)
    counts: dict[str, int] = {}
    for t in terms:
        for c in t.replace("...", ""):
            counts[c] = counts.get(c, 0) + 1
    ell_dims = []
    for t, shape in zip(terms, shapes):
        n = len(t.replace("...", ""))
        k = len(shape) - n if "..." in t else 0
        if k < 0 or ("..." not in t and n != len(shape)):
            raise ValueError(f"np.einsum: term {t!r} of {subscripts!r} does not match an operand "
                             f"of shape {tuple(shape)}")
        ell_dims.append(k)
    ell = _fresh(used, max(ell_dims, default=0))
    terms = [t.replace("...", ell[len(ell) - k:] if k else "") for t, k in zip(terms, ell_dims)]
    if not arrow:
        rhs = ell + "".join(sorted(c for c, n in counts.items() if n == 1))
    elif "..." in rhs:
        rhs = rhs.replace("...", ell)
    elif ell:
        raise ValueError("np.einsum: output has more dimensions than subscripts given in einstein "
                         "sum, but no '...' ellipsis provided to broadcast the extra dimensions.")
    return ",".join(terms) + "->" + rhs


def _einsum(*operands: Any, out: Any = None, optimize: Any = False, dtype: Any = None,
            order: str = "K", casting: str = "safe") -> Any:
    if out is not None:
        raise MutationError("np.einsum(..., out=...) writes in place; drop out=.")
    if dtype is not None and np.dtype(dtype).kind != "f":
        raise TypeError(f"np.einsum: dtype={dtype!r} on traced values; only float dtypes are supported")
    if isinstance(operands[0], str):
        subscripts, ops = operands[0], list(operands[1:])
    else:
        subscripts, ops = _from_interleaved(operands)
    ops = [_arr(o) for o in ops]
    subscripts = normalize_subscripts(subscripts, [shape_of(o) for o in ops])
    return einsum(*ops, subscripts=subscripts, optimize=optimize)


# ---- compositions ---------------------------------------------------------------------------------
def _permuted(x: Any, axes: list[int]) -> Any:
    return x if axes == sorted(axes) else st.transpose(x, axes=tuple(axes))


def _tensordot(a: Any, b: Any, axes: Any = 2) -> Any:
    """np.tensordot as numpy computes it: transpose and reshape both to matrices, one matmul."""
    a, b = _arr(a), _arr(b)
    sa, sb = tuple(shape_of(a)), tuple(shape_of(b))
    na, nb = len(sa), len(sb)
    if isinstance(axes, (int, np.integer)):
        n = operator.index(axes)
        if n < 0 or n > min(na, nb):
            raise ValueError(f"np.tensordot: axes={n} must be in [0, {min(na, nb)}] for operands "
                             f"of shapes {sa} and {sb}")
        a_axes, b_axes = list(range(na - n, na)), list(range(n))
    else:
        a_axes, b_axes = axes
        a_axes = [a_axes] if isinstance(a_axes, (int, np.integer)) else list(a_axes)
        b_axes = [b_axes] if isinstance(b_axes, (int, np.integer)) else list(b_axes)
        if len(a_axes) != len(b_axes):
            raise ValueError("np.tensordot: shape-mismatch for sum (the two axes sequences differ "
                             "in length)")
    a_axes = [operator.index(i) % na for i in a_axes]
    b_axes = [operator.index(i) % nb for i in b_axes]
    if any(sa[i] != sb[j] for i, j in zip(a_axes, b_axes)):
        raise ValueError(f"np.tensordot: shape-mismatch for sum ({sa} on axes {a_axes}, {sb} on "
                         f"axes {b_axes})")
    free_a = [i for i in range(na) if i not in a_axes]
    free_b = [j for j in range(nb) if j not in b_axes]
    k = math.prod(sa[i] for i in a_axes)
    a2 = st.reshape(_permuted(a, free_a + a_axes), shape=(math.prod(sa[i] for i in free_a), k))
    b2 = st.reshape(_permuted(b, b_axes + free_b), shape=(k, math.prod(sb[j] for j in free_b)))
    out = tuple(sa[i] for i in free_a) + tuple(sb[j] for j in free_b)
    return st.reshape(la.matmul(a2, b2), shape=out)


def _kron(a: Any, b: Any) -> Any:
    """np.kron: the outer product with a's and b's axes interleaved, then merged pairwise."""
    a, b = _arr(a), _arr(b)
    sa, sb = tuple(shape_of(a)), tuple(shape_of(b))
    if not sa or not sb:
        return ew.multiply(a, b)
    nd = max(len(sa), len(sb))
    sa, sb = (1,) * (nd - len(sa)) + sa, (1,) * (nd - len(sb)) + sb
    a2 = st.reshape(a, shape=tuple(n for m in sa for n in (m, 1)))
    b2 = st.reshape(b, shape=tuple(n for m in sb for n in (1, m)))
    return st.reshape(ew.multiply(a2, b2), shape=tuple(m * n for m, n in zip(sa, sb)))


FUNC.update({
    np.einsum: _einsum,
    np.tensordot: _tensordot,
    np.kron: _kron,
})
