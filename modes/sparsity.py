"""Sparsity patterns from one trace: which inputs reach which outputs, read off the tape.

One nominal pass records the tape (the Wengert list). Walking it forward, every node gets its
*dependency pattern*: a boolean matrix (node.size x n) whose row r holds the inputs that entry r of
the node can depend on (index-set propagation, stored as a scipy.sparse CSR matrix). The
output's matrix is the Jacobian's sparsity pattern (m x n).

The pattern is **structural and conservative**: an entry that is zero at this point because of the
data (``x * y`` where ``y == 0``, a ``maximum`` that picks the other side, a ``where`` branch not
taken) still counts as a nonzero; only operations that never mix entries keep them apart. It is
detected **at the given point**: Python branches on traced values (``if x[0] > 0:``) run one way
while tracing, and at a point where they run the other way the pattern may differ.

How each kind of node maps its parents' patterns onto its own:

* elementwise (every primitive with partials): entry r depends on the broadcast entries of its
  parents: the union of their rows;
* gathers (``getitem``, ``reshape``, ``transpose``, ``broadcast_to``, ``concatenate``): the
  primitive is run on integer codes of its parents' entries, which says where each entry came from;
  ``untake`` (a scatter) runs ``getitem`` on codes of its output;
* reductions (``sum``, ``max``, ``min``, ``prod``, ``l2norm``, ``cumsum``): each entry depends on its
  reduced group (``cumsum``: on the prefix);
* multilinear products (``matmul``, ``einsum``, ``convolve``, ``correlate``): the primitive's own
  JVP rule applied to unit directions with every traced operand replaced by ones and every
  constant operand by its nonzero mask: the products are sums of nonnegative terms, so nothing
  cancels and the result is exactly the structure (a constant's zeros are respected);
* anything else (decompositions, checkpoints, user primitives with JVP/VJP rules): every entry
  depends on every input that reaches any of its arguments (dense, always safe).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from .registry import Traced, plain
from .reverse import Var
from .unbroadcast import shape_of

SCIPY_MISSING = (
    "sparse Jacobians and Hessians (jacobian(f, sparse=True), modes.sparsity, "
    "modes.sparse_jacobian) return scipy.sparse matrices and need scipy, which is not installed. "
    'Install the optional extra: pip install -e ".[scipy]" (or pip install scipy).'
)
# A multilinear node is probed with at most this many (direction x output) entries; above it, the
# dense rule is used (still conservative).
PROBE_LIMIT = 1 << 24
_PROBE_CHUNK = 1 << 20


def scipy_sparse() -> Any:
    """``scipy.sparse``, or an ``ImportError`` naming the ``[scipy]`` extra."""
    try:
        import scipy.sparse as sp
    except ImportError as exc:
        raise ImportError(SCIPY_MISSING) from exc
    return sp


def _size(shape: tuple[int, ...]) -> int:
    n = 1
    for s in shape:
        n *= int(s)
    return n


# ---- the public entry point -------------------------------------------------------------------------------------
def jacobian_sparsity(f: Callable[..., Any], argnum: Any = 0, has_aux: bool = False) -> Callable[..., Any]:
    """``jacobian_sparsity(f)(*args, **kwargs)``: the Jacobian's sparsity pattern at ``args``.

    A ``scipy.sparse.csr_array`` of booleans, shape ``(out.size, arg.size)``: outputs and inputs
    raveled in C order; with containers or a tuple ``argnum`` their leaves are concatenated in
    flatten order. One nominal pass (reverse-mode recording), no derivative computed. See the
    module docstring for what "structural" means and why the point matters.
    """
    from . import api

    def pattern_f(*args: Any, **kwargs: Any) -> Any:
        nums, _ = api._argnums(argnum, len(args))
        inputs = api._Inputs(f, args, kwargs, nums)
        wrapped = api._Output(inputs.fn, has_aux)
        out, tape, leaves, level = api._record(wrapped, inputs.args, inputs.nums)
        value = api._out_value(out, tape, level)
        api._check_output(value, "jacobian_sparsity")
        return tape_pattern(tape, out, leaves, level, shape_of(value))

    return pattern_f


def tape_pattern(tape: Any, out: Any, leaves: list[Any], level: int, out_shape: tuple[int, ...]) -> Any:
    """The (out.size x n) boolean CSR pattern of the traced ``out`` with respect to ``leaves``
    (``n`` = their total size), from the nodes of ``tape``. The tape is only read."""
    sp = scipy_sparse()
    sizes = [_size(shape_of(leaf.value)) for leaf in leaves]
    n = sum(sizes)
    m = _size(out_shape)
    if not (type(out) is Var and out._level == level and out._tape is tape):
        return sp.csr_array((m, n), dtype=bool)  # f does not depend on its inputs
    nodes = tape.nodes
    top = out._index
    # Which nodes the output needs, the shape each of them has (its consumers record it) and the
    # last node that reads it (its pattern is dropped after that).
    needed = bytearray(top + 1)
    needed[top] = 1
    shapes: dict[int, tuple[int, ...]] = {top: tuple(out_shape)}
    last_use: dict[int, int] = {}
    for i in range(top, -1, -1):
        if not needed[i] or nodes[i] is None:
            continue
        for j, shape in _parents(nodes[i]):
            needed[j] = 1
            shapes.setdefault(j, tuple(shape))
            last_use.setdefault(j, i)
    deps: dict[int, Rows] = {}
    offset = 0
    for leaf, size in zip(leaves, sizes):
        if leaf._index <= top and needed[leaf._index]:
            deps[leaf._index] = Rows(np.arange(size + 1), offset + np.arange(size))
        offset += size
    for i in range(top + 1):
        node = nodes[i]
        if not needed[i] or node is None:
            continue
        deps[i] = _node_pattern(node, shapes[i], deps, n)
        for j, _ in _parents(node):
            if last_use.get(j) == i and j != top:
                deps.pop(j, None)
    rows = deps.get(top)
    if rows is None:  # never reached from the inputs
        return sp.csr_array((m, n), dtype=bool)
    return sp.csr_array((np.ones(rows.indices.size, dtype=bool), rows.indices, rows.indptr), shape=(m, n))


def _parents(node: tuple) -> list[tuple[int, tuple[int, ...]]]:
    if len(node) == 4:
        return [(j, shape) for j, _, shape in node[0]]
    return [(j, shape) for _, j, shape in node[1]]


# ---- index sets, one per entry of a node ----------------------------------------------------------------------
class Rows:
    """The dependency pattern of one node in CSR form: entry r depends on the inputs
    ``indices[indptr[r]:indptr[r + 1]]`` (sorted, distinct). Never modified once built."""

    __slots__ = ("indptr", "indices")

    def __init__(self, indptr: np.ndarray, indices: np.ndarray) -> None:
        self.indptr = np.asarray(indptr, dtype=np.int64)
        self.indices = np.asarray(indices, dtype=np.int64)

    @property
    def size(self) -> int:
        return self.indptr.size - 1

    def same(self, other: Rows) -> bool:
        return (self.indices.size == other.indices.size and np.array_equal(self.indptr, other.indptr)
                and np.array_equal(self.indices, other.indices))

    def take(self, src: np.ndarray) -> Rows:
        """Rows ``src`` (an array of row numbers) in that order."""
        starts = self.indptr[src]
        lengths = self.indptr[src + 1] - starts
        indptr = np.zeros(src.size + 1, dtype=np.int64)
        np.cumsum(lengths, out=indptr[1:])
        pos = np.repeat(starts - indptr[:-1], lengths) + np.arange(indptr[-1])
        return Rows(indptr, self.indices[pos])


# A map from a parent's entries to a node's: (parent, out_rows, src_rows): entry out_rows[k]
# depends on what parent entry src_rows[k] depends on; out_rows None: the identity.
Map = tuple[int, "np.ndarray | None", np.ndarray]


def _combine(maps: list[Map], deps: dict[int, Rows], size: int, n: int) -> Rows:
    """The union, per entry of the node, of the parent entries the maps send to it."""
    aligned: list[Rows] = []  # one row per entry of the node, in order
    scattered: list[tuple[np.ndarray, Rows]] = []  # (out_rows, the rows sent there)
    every = None
    for j, out_rows, src in maps:
        if out_rows is None:
            aligned.append(deps[j])
            continue
        got = deps[j].take(src)
        if out_rows.size == size:
            if every is None:
                every = np.arange(size)
            if np.array_equal(out_rows, every):
                aligned.append(got)
                continue
        scattered.append((out_rows, got))
    if not scattered:
        distinct: list[Rows] = []
        for r in aligned:
            if not any(r is d or r.same(d) for d in distinct):
                distinct.append(r)
        if len(distinct) == 1:
            return distinct[0]
        aligned = distinct
    keys = [np.repeat(np.arange(size), np.diff(r.indptr)) * n + r.indices for r in aligned]
    keys += [np.repeat(out_rows, np.diff(r.indptr)) * n + r.indices for out_rows, r in scattered]
    if not keys:
        return Rows(np.zeros(size + 1, dtype=np.int64), np.zeros(0, dtype=np.int64))
    flat = np.sort(np.concatenate(keys), kind="stable")  # sorted runs: merged in linear time
    if flat.size:
        keep = np.empty(flat.size, dtype=bool)
        keep[0] = True
        np.not_equal(flat[1:], flat[:-1], out=keep[1:])
        flat = flat[keep]
    rows = flat // max(n, 1)
    indptr = np.zeros(size + 1, dtype=np.int64)
    np.cumsum(np.bincount(rows, minlength=size), out=indptr[1:])
    return Rows(indptr, flat - rows * n)


# ---- one node ---------------------------------------------------------------------------------------------------
def _node_pattern(node: tuple, shape: tuple[int, ...], deps: dict[int, Rows], n: int) -> Rows:
    size = _size(shape)
    if len(node) == 4:  # elementwise: the union of the broadcast parents
        maps: list[Map] = []
        for j, _, pshape in node[0]:
            pshape = tuple(pshape)
            if pshape == shape:
                maps.append((j, None, np.zeros(0, dtype=np.int64)))
            else:
                src = np.broadcast_to(np.arange(_size(pshape)).reshape(pshape), shape).ravel()
                maps.append((j, np.arange(size), src))
        return _combine(maps, deps, size, n)
    prim, parents, ans, args, kwargs = node
    rule = _RULES.get(prim)
    if rule is not None:
        try:
            found = rule(prim, parents, ans, args, kwargs, shape)
        except Exception:  # noqa: BLE001 - an unforeseen call form: the dense rule is always safe
            found = None
        if found is not None:
            return _combine(found, deps, size, n)
    return _dense([deps[j] for _, j, _ in parents], size)


def _dense(parents: list[Rows], size: int) -> Rows:
    """Every entry depends on everything any argument depends on."""
    cols = np.unique(np.concatenate([p.indices for p in parents])) if parents else np.zeros(0, int)
    return Rows(np.arange(size + 1) * cols.size, np.tile(cols, size))


# ---- rules by primitive ----------------------------------------------------------------------------------------
def _gather(prim: Any, parents: list, ans: Any, args: list, kwargs: dict,
            shape: tuple[int, ...]) -> list[Map] | None:
    """Run the primitive on integer codes (1 + a running index over its traced arguments; 0 for
    constants): each output entry's code names the one input entry it copies."""
    vals = []
    spans = []
    total = 0
    traced = {argnum: (j, tuple(pshape)) for argnum, j, pshape in parents}
    for k, a in enumerate(args):
        ashape = tuple(shape_of(a))
        if k in traced:
            size = _size(ashape)
            vals.append(np.arange(total + 1, total + 1 + size, dtype=np.int64).reshape(ashape))
            spans.append((traced[k][0], total, size))
            total += size
        else:
            vals.append(np.zeros(ashape, dtype=np.int64))
    codes = np.asarray(prim.fn(*vals, **kwargs))
    if codes.dtype != np.int64 or codes.size != _size(shape):
        return None
    codes = codes.ravel()
    out = []
    for j, start, size in spans:
        rows = np.flatnonzero((codes > start) & (codes <= start + size))
        out.append((j, rows, codes[rows] - start - 1))
    return out


def _scatter(prim: Any, parents: list, ans: Any, args: list, kwargs: dict,
             shape: tuple[int, ...]) -> list[Map] | None:
    """``untake(g, index, shape, nb)``: zeros with g added at ``index``; g's entry e lands on the
    output entry that ``getitem(codes of the output, index)`` puts at e."""
    from .primitives.structural import getitem

    (argnum, j, pshape), = parents
    target = np.arange(_size(shape), dtype=np.int64).reshape(shape)
    landing = np.asarray(getitem.fn(target, index=kwargs["index"], nb=kwargs.get("nb", 0))).ravel()
    if landing.size != _size(tuple(pshape)):
        return None
    return [(j, landing, np.arange(landing.size))]


def _reduction(prim: Any, parents: list, ans: Any, args: list, kwargs: dict,
               shape: tuple[int, ...]) -> list[Map] | None:
    """sum/max/min/prod/l2norm over ``axis``: each input entry feeds the output entry of its group."""
    (argnum, j, pshape), = parents
    pshape = tuple(pshape)
    axis = kwargs.get("axis")
    kept = tuple(1 if axis is None or i in axis else s for i, s in enumerate(pshape))
    if _size(kept) != _size(shape):
        return None
    groups = np.broadcast_to(np.arange(_size(kept)).reshape(kept), pshape).ravel()
    return [(j, groups, np.arange(groups.size))]


def _cumsum(prim: Any, parents: list, ans: Any, args: list, kwargs: dict,
            shape: tuple[int, ...]) -> list[Map] | None:
    """cumsum along ``axis``: entry k of a line depends on entries 0..k of that line."""
    (argnum, j, pshape), = parents
    axis = kwargs.get("axis")
    psize = _size(tuple(pshape))
    grid = np.arange(psize).reshape(pshape)
    if axis is None:
        grid = grid.ravel()
        axis = 0
    lines = np.moveaxis(grid, axis, -1).reshape(-1, grid.shape[axis])
    later, earlier = np.tril_indices(lines.shape[1])
    return [(j, lines[:, later].ravel(), lines[:, earlier].ravel())]


def _multilinear(prim: Any, parents: list, ans: Any, args: list, kwargs: dict,
                 shape: tuple[int, ...]) -> list[Map] | None:
    """A product's JVP applied to unit directions, traced operands as ones, constants as their
    nonzero masks: sums of nonnegative terms, so an entry is nonzero exactly where it depends."""
    traced = {argnum for argnum, _, _ in parents}
    ops = []
    for k, a in enumerate(args):
        if k in traced:
            ops.append(np.ones(shape_of(a)))
        elif isinstance(a, (np.ndarray, np.generic, float, int, Traced)):
            ops.append((np.asarray(plain(a)) != 0).astype(float))
        else:
            ops.append(a)
    size = _size(shape)
    probe_ans = prim.fn(*ops, **kwargs)
    out = []
    for argnum, j, pshape in parents:
        pshape = tuple(pshape)
        psize = _size(pshape)
        if psize * size > PROBE_LIMIT:
            return None
        rows, cols = [], []
        step = max(1, _PROBE_CHUNK // max(1, size))
        for start in range(0, psize, step):
            stop = min(psize, start + step)
            seeds = np.zeros((stop - start, psize))
            seeds[np.arange(stop - start), np.arange(start, stop)] = 1.0
            seeds = seeds.reshape((stop - start,) + pshape)
            if callable(prim.jvp):  # one joint rule taking every operand's tangent
                tangents = [None] * len(ops)
                tangents[argnum] = seeds
                t = prim.jvp(tangents, probe_ans, *ops, **kwargs)
            else:
                t = prim.jvp[argnum](seeds, probe_ans, *ops, **kwargs)
            t = np.reshape(np.asarray(t), (stop - start, size))
            d, r = np.nonzero(t)
            rows.append(r)
            cols.append(d + start)
        out.append((j, np.concatenate(rows), np.concatenate(cols)))
    return out


def _rules() -> dict[Any, Callable[..., list[Map] | None]]:
    from .primitives import contractions, linalg, statistics
    from .primitives import structural as st

    rules: dict[Any, Callable[..., list[Map] | None]] = {}
    for p in (st.reshape, st.transpose, st.broadcast_to, st.getitem, st.concatenate):
        rules[p] = _gather
    rules[st.untake] = _scatter
    for p in (st.sum_, st.max_, st.min_, st.prod, linalg.l2norm):
        rules[p] = _reduction
    rules[st.cumsum] = _cumsum
    for p in (linalg.matmul, contractions.einsum, statistics.convolve, statistics.correlate):
        rules[p] = _multilinear
    return rules


_RULES = _rules()

__all__ = ["jacobian_sparsity", "tape_pattern", "scipy_sparse", "SCIPY_MISSING"]
