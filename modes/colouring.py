"""Colourings of a sparsity pattern: which columns (or rows) may share one seed vector.

Two columns of a Jacobian are *structurally orthogonal* when no row has a nonzero in both; a
*column colouring* gives structurally orthogonal columns the same colour, so one forward direction
per colour (the sum of that colour's unit vectors) recovers every nonzero: entry (i, j) is read off
as ``(J S)[i, colour[j]]``. A *row colouring* does the same for rows and reverse sweeps. This is a
distance-1 colouring of the column (row) intersection graph, found greedily (Coleman and More,
1983; ColPack's ``GreedyPartialD2Coloring``).

A symmetric matrix (a Hessian) needs fewer colours: a *star colouring* of its adjacency graph (a
distance-1 colouring in which every path on four vertices uses at least three colours; equivalently
each two-coloured subgraph is a union of stars) lets each off-diagonal entry be read from one of
its two sides (Gebremedhin, Manne and Pothen, "What color is your Jacobian?", SIAM Review 2005).

Patterns are scipy.sparse matrices or dense boolean arrays (the structure is what counts: stored
entries, explicit zeros included). A colouring is an integer array, one colour per column (row,
vertex), colours ``0 .. p-1``; a column with no nonzero gets ``-1``: it needs no direction.
"""

from __future__ import annotations

from functools import reduce
from operator import or_
from typing import Any

import numpy as np

ORDERS = ("natural", "largest_first")


def _csc(pattern: Any) -> tuple[np.ndarray, np.ndarray, tuple[int, int]]:
    """(indptr, indices, shape) of the pattern by columns: the rows of column j are
    ``indices[indptr[j]:indptr[j + 1]]``, sorted, without duplicates."""
    if hasattr(pattern, "tocsc"):
        csc = pattern.tocsc(copy=True)
        csc.sum_duplicates()
        csc.sort_indices()
        return np.asarray(csc.indptr, dtype=np.int64), np.asarray(csc.indices, dtype=np.int64), csc.shape
    dense = np.asarray(pattern)
    if dense.ndim != 2:
        raise ValueError(f"a sparsity pattern is a matrix; got an array of shape {dense.shape}")
    cols, rows = np.nonzero(dense.T != 0)
    indptr = np.zeros(dense.shape[1] + 1, dtype=np.int64)
    np.cumsum(np.bincount(cols, minlength=dense.shape[1]), out=indptr[1:])
    return indptr, rows.astype(np.int64), dense.shape


def _transpose(pattern: Any) -> Any:
    return pattern.T if hasattr(pattern, "tocsc") else np.asarray(pattern).T


def n_colours(colours: np.ndarray) -> int:
    """The number of colours used (directions or sweeps needed)."""
    return int(np.max(colours)) + 1 if np.size(colours) else 0


# ---- lower bounds ------------------------------------------------------------------------------------------------
def column_lower_bound(pattern: Any) -> int:
    """Colours any column colouring needs at least: the most nonzeros in one row (those columns
    pairwise share that row)."""
    indptr, indices, shape = _csc(pattern)
    return int(np.max(np.bincount(indices, minlength=shape[0]))) if indices.size else 0


def row_lower_bound(pattern: Any) -> int:
    """Colours any row colouring needs at least: the most nonzeros in one column."""
    indptr, _, _ = _csc(pattern)
    return int(np.max(np.diff(indptr))) if indptr.size > 1 else 0


# ---- distance-1 colouring of columns and rows --------------------------------------------------------------------
def _greedy(indptr: np.ndarray, indices: np.ndarray, n_rows: int, order: np.ndarray) -> np.ndarray:
    """Greedy colouring in ``order``: each column takes the smallest colour no column sharing a
    row has taken. ``used[r]`` is the set of colours already in row r, as the bits of an int."""
    n = indptr.size - 1
    colours = [-1] * n
    used = [0] * n_rows
    starts, rows_all = indptr.tolist(), indices.tolist()
    get = used.__getitem__
    for j in order.tolist():
        a, b = starts[j], starts[j + 1]
        if a == b:
            continue
        rows = rows_all[a:b]
        taken = reduce(or_, map(get, rows), 0)
        c = (~taken & (taken + 1)).bit_length() - 1  # the lowest clear bit
        bit = 1 << c
        for r in rows:
            used[r] |= bit
        colours[j] = c
    return np.asarray(colours, dtype=np.int64)


def _order(indptr: np.ndarray, indices: np.ndarray, n_rows: int, order: str) -> np.ndarray:
    n = indptr.size - 1
    if order == "natural":
        return np.arange(n)
    if order == "largest_first":
        # A column's degree in the column intersection graph, bounded by the other entries of
        # its rows; the most constrained columns first (ties in natural order).
        row_len = np.bincount(indices, minlength=n_rows)
        cols = np.repeat(np.arange(n), np.diff(indptr))
        weight = np.bincount(cols, weights=row_len[indices] - 1, minlength=n)
        weight = np.where(np.diff(indptr) > 0, weight, -1)
        return np.argsort(-weight, kind="stable")
    raise ValueError(f"order={order!r} is not one of {', '.join(map(repr, ORDERS + ('best',)))}")


def column_colouring(pattern: Any, order: str = "best") -> np.ndarray:
    """A distance-1 colouring of the columns of ``pattern`` (m x n): one colour per column, no
    two columns with a nonzero in the same row share one.

    ``order``: ``"natural"`` (left to right: optimal for banded matrices), ``"largest_first"``
    (most constrained columns first) or ``"best"`` (both, keeping the one with fewer colours;
    stops early when natural order meets the lower bound).
    """
    indptr, indices, shape = _csc(pattern)
    if order != "best":
        return _greedy(indptr, indices, shape[0], _order(indptr, indices, shape[0], order))
    best = _greedy(indptr, indices, shape[0], np.arange(shape[1]))
    if n_colours(best) <= (int(np.max(np.bincount(indices, minlength=shape[0]))) if indices.size else 0):
        return best
    other = _greedy(indptr, indices, shape[0], _order(indptr, indices, shape[0], "largest_first"))
    return other if n_colours(other) < n_colours(best) else best


def row_colouring(pattern: Any, order: str = "best") -> np.ndarray:
    """A distance-1 colouring of the rows of ``pattern``: no two rows with a nonzero in the same
    column share a colour (one reverse sweep per colour)."""
    return column_colouring(_transpose(pattern), order)


def is_column_colouring(pattern: Any, colours: Any) -> bool:
    """Whether ``colours`` is a valid column colouring: every column with a nonzero has a colour
    >= 0 and within each row the colours of its nonzeros are distinct."""
    indptr, indices, shape = _csc(pattern)
    colours = np.asarray(colours)
    if colours.shape != (shape[1],):
        return False
    cols = np.repeat(np.arange(shape[1]), np.diff(indptr))
    c = colours[cols]
    if np.any(c < 0):
        return False
    pairs = indices * (int(c.max(initial=0)) + 1) + c  # (row, colour), one per nonzero
    return bool(np.unique(pairs).size == pairs.size)


def is_row_colouring(pattern: Any, colours: Any) -> bool:
    """Whether ``colours`` is a valid row colouring (``is_column_colouring`` of the transpose)."""
    return is_column_colouring(_transpose(pattern), colours)


# ---- star colouring for symmetric patterns -----------------------------------------------------------------------
def _adjacency(pattern: Any) -> list[list[int]]:
    """Neighbour lists of the symmetric pattern's graph (the pattern or its transpose has the
    entry; the diagonal is no edge)."""
    indptr, indices, shape = _csc(pattern)
    if shape[0] != shape[1]:
        raise ValueError(f"a star colouring needs a square (symmetric) pattern; got shape {shape}")
    n = shape[0]
    cols = np.repeat(np.arange(n), np.diff(indptr))
    off = indices != cols
    a, b = np.concatenate([indices[off], cols[off]]), np.concatenate([cols[off], indices[off]])
    keys = np.unique(a * n + b)
    a, b = keys // n, keys % n
    starts = np.searchsorted(a, np.arange(n + 1))
    return [b[starts[v]:starts[v + 1]].tolist() for v in range(n)]


def star_colouring(pattern: Any) -> np.ndarray:
    """A star colouring of the symmetric ``pattern`` (n x n) by the greedy algorithm of
    Gebremedhin, Manne and Pothen (2005, Algorithm 4.1), natural order. Every vertex gets a
    colour (the diagonal needs one even where there is no off-diagonal entry)."""
    adj = _adjacency(pattern)
    n = len(adj)
    colour = [-1] * n
    forbidden = [-1] * (n + 1)  # forbidden[c] == v: colour c is not allowed for v
    for v in range(n):
        for w in adj[v]:
            cw = colour[w]
            if cw >= 0:
                forbidden[cw] = v
            for x in adj[w]:
                cx = colour[x]
                if x == v or cx < 0:
                    continue
                if cw < 0:
                    forbidden[cx] = v  # two vertices sharing an uncoloured neighbour
                else:
                    for y in adj[x]:
                        if y != w and colour[y] == cw:
                            forbidden[cx] = v  # v - w - x - y would take two colours
                            break
        c = 0
        while forbidden[c] == v:
            c += 1
        colour[v] = c
    return np.asarray(colour, dtype=np.int64)


def is_star_colouring(pattern: Any, colours: Any) -> bool:
    """Whether ``colours`` is a star colouring of the symmetric ``pattern``: adjacent vertices
    differ and every two-coloured connected subgraph is a star (no two-coloured path on four
    vertices)."""
    adj = _adjacency(pattern)
    colours = np.asarray(colours)
    n = len(adj)
    if colours.shape != (n,) or np.any(colours < 0):
        return False
    by_pair: dict[tuple[int, int], list[tuple[int, int]]] = {}
    for v in range(n):
        for w in adj[v]:
            if w <= v:
                continue
            cv, cw = int(colours[v]), int(colours[w])
            if cv == cw:
                return False
            by_pair.setdefault((min(cv, cw), max(cv, cw)), []).append((v, w))
    for edges in by_pair.values():
        parent: dict[int, int] = {}

        def find(u: int) -> int:
            while parent.setdefault(u, u) != u:
                parent[u] = parent[parent[u]]
                u = parent[u]
            return u

        degree: dict[int, int] = {}
        for v, w in edges:
            degree[v] = degree.get(v, 0) + 1
            degree[w] = degree.get(w, 0) + 1
            rv, rw = find(v), find(w)
            if rv == rw:
                return False  # a two-coloured cycle (even, so it holds a path on four vertices)
            parent[rv] = rw
        hubs: dict[int, int] = {}
        for u, d in degree.items():
            if d > 1:
                root = find(u)
                hubs[root] = hubs.get(root, 0) + 1
                if hubs[root] > 1:
                    return False  # two vertices of degree > 1 in one tree: a path on four vertices
    return True


__all__ = ["column_colouring", "row_colouring", "star_colouring", "is_column_colouring",
           "is_row_colouring", "is_star_colouring", "column_lower_bound", "row_lower_bound",
           "n_colours", "ORDERS"]
