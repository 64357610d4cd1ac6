"""Sparse Jacobians and Hessians by colouring: compress, one pass or sweep per colour, decompress.

A Jacobian J (m x n) with few nonzeros per row needs far fewer than n forward directions: columns
that never share a row (structurally orthogonal) can share one direction, the sum of their unit
vectors. With a column colouring of p colours, forward mode computes the compressed Jacobian
B = J S (S: n x p, S[j, colour[j]] = 1) with p directions, and every nonzero is read back as
J[i, j] = B[i, colour[j]]. Row colouring does the same in reverse mode: p cotangent rows W
(W[colour[i], i] = 1), one batched sweep of the tape, J[i, j] = (W J)[colour[i], j].

The steps, for ``jacobian(f, sparse=True)(x)``:

1. *nominal pass*: record the tape once (reverse mode) and read the sparsity pattern off it
   (``modes.sparsity``: structural, conservative, valid at this point);
2. *colour* columns and rows greedily (``modes.colouring``); the direction with the fewer passes
   wins, weighed by the cost model: forward while
   ``col_colours <= REVERSE_WEIGHT * row_colours + FORWARD_OFFSET`` (``modes.cost_model``: the
   rule of dense Jacobians with colour counts in place of n and m);
3. *compressed derivative*: forward passes carrying the p column seeds in chunks, or reverse
   sweeps of the tape already recorded in step 1 carrying the p row seeds;
4. *decompress* into a ``scipy.sparse.csr_array`` with one stored entry per pattern entry (an entry
   that happens to be 0 at this point stays stored: the pattern is structural).

Hessians are symmetric: ``hessian(f, sparse=True)`` colours the pattern of ``grad(f)`` with a
star colouring (fewer colours than columns need) and reads each off-diagonal entry from the side
where it stands alone in its colour.

``ColouredJacobian`` keeps a pattern and its colouring to evaluate again at other points (the
pattern must still hold there: same branches taken).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from . import api, colouring, cost_model, levels
from .nonfinite import nan_safe
from .pytree import flatten
from .registry import Traced
from .sparsity import scipy_sparse, tape_pattern
from .unbroadcast import shape_of

JACOBIAN_MODES = ("auto", "forward", "reverse")
HESSIAN_MODES = ("forward-over-reverse", "reverse-over-reverse", "forward-over-forward",
                 "reverse-over-forward")


def _size(shape: tuple[int, ...]) -> int:
    n = 1
    for s in shape:
        n *= int(s)
    return n


def choose_mode(col_colours: int, row_colours: int) -> str:
    """``"forward"`` or ``"reverse"`` for a coloured Jacobian: the dense rule of
    ``modes.cost_model.choose_mode`` with the colour counts as the numbers of passes."""
    return cost_model.choose_mode(col_colours, row_colours)


# ---- one call -----------------------------------------------------------------------------------------------------
class _Call:
    """One call's flattened inputs; after ``record()`` also its tape, output and the pattern."""

    def __init__(self, f: Callable[..., Any], argnum: Any, has_aux: bool, args: tuple,
                 kwargs: dict, what: str) -> None:
        nums, _ = api._argnums(argnum, len(args))
        self.inputs = api._Inputs(f, args, kwargs, nums)
        self.args, self.nums = self.inputs.args, self.inputs.nums
        for i in self.nums:
            if isinstance(self.args[i], Traced):
                raise TypeError(
                    f"{what} returns a scipy.sparse matrix, which cannot carry derivatives, but it "
                    "was called inside another transformation (an input is traced). Use "
                    "sparse=False there, or differentiate the function that calls it.")
        self.what = what
        self.has_aux = has_aux
        self.f = self.inputs.fn
        self.shapes = [tuple(shape_of(self.args[i])) for i in self.nums]
        self.n = sum(_size(s) for s in self.shapes)
        self.out = self.tape = self.leaves = self.value = None
        self.wrapped = api._Output(self.f, has_aux)
        self.level = 0

    def record(self) -> _Call:
        """The nominal pass on the tape (reverse mode)."""
        self.out, self.tape, self.leaves, self.level = api._record(self.wrapped, self.args, self.nums)
        self.value = api._out_value(self.out, self.tape, self.level)
        self.check(self.value)
        return self

    def check(self, value: Any) -> None:
        api._check_output(value, self.what)
        self.out_shape = tuple(shape_of(value))
        self.m = _size(self.out_shape)

    def pattern(self) -> Any:
        return tape_pattern(self.tape, self.out, self.leaves, self.level, self.out_shape)

    def dtype(self) -> Any:
        dtypes = [getattr(self.args[i], "dtype", np.dtype(np.float64)) for i in self.nums]
        dtype = np.result_type(*dtypes) if dtypes else np.dtype(np.float64)
        return dtype if dtype.kind == "f" else np.dtype(np.float64)

    def aux(self) -> Any:
        aux = self.wrapped.strip_aux(self.level)
        api._no_leak(flatten(aux)[0], "the aux value f returned")
        return aux


def _chunk(chunk_size: int | None, p: int, width: int) -> int:
    return chunk_size or cost_model.default_chunk(p, width)


def _forward_compressed(call: _Call, colours: np.ndarray, p: int, chunk_size: int | None,
                        fresh: bool) -> np.ndarray:
    """(p, m): row c is J @ (sum of the unit vectors of colour c), by chunked forward passes.
    ``fresh``: the call has not been recorded; the passes give its output (and aux)."""
    n = colours.size
    wrapped = call.wrapped if fresh else api._Output(call.f, call.has_aux)
    if fresh:
        call.level = levels.upcoming()
    k = _chunk(chunk_size, p, max(n, 1))
    coloured = np.flatnonzero(colours >= 0)
    parts = []
    for start in range(0, p or (1 if fresh else 0), k):  # p = 0 at a new point: one pass for the output
        stop = min(p, start + k)
        seeds = np.zeros((stop - start, n))
        sel = coloured[(colours[coloured] >= start) & (colours[coloured] < stop)]
        seeds[colours[sel] - start, sel] = 1.0
        tangents = {}
        offset = 0
        for i, shape in zip(call.nums, call.shapes):
            size = _size(shape)
            t = seeds[:, offset:offset + size].reshape((stop - start,) + shape)
            dtype = getattr(call.args[i], "dtype", None)
            tangents[i] = t.astype(dtype) if dtype is not None and dtype != t.dtype else t
            offset += size
        out, t_out = api._forward_pass(wrapped, call.args, tangents, stop - start)
        if fresh and start == 0:
            call.value = out
            call.check(out)
        parts.append(np.zeros((stop - start, call.m)) if t_out is None
                     else np.reshape(t_out, (stop - start, call.m)))
    return np.concatenate(parts, axis=0) if parts else np.zeros((0, call.m))


def _reverse_compressed(call: _Call, colours: np.ndarray, p: int, chunk_size: int | None) -> np.ndarray:
    """(p, n): row c is (sum of the unit rows of colour c) @ J, by batched sweeps of the tape."""
    m, n = call.m, call.n
    k = _chunk(chunk_size, p, max(n, m, 1))
    coloured = np.flatnonzero(colours >= 0)
    parts = []
    for start in range(0, p, k):
        stop = min(p, start + k)
        seeds = np.zeros((stop - start, m), dtype=api._result_dtype(call.value))
        sel = coloured[(colours[coloured] >= start) & (colours[coloured] < stop)]
        seeds[colours[sel] - start, sel] = 1.0
        bars = api._pull(call.out, call.tape, call.leaves, call.level,
                         seeds.reshape((stop - start,) + call.out_shape), 1, retain=stop < p)
        parts.append(np.concatenate([np.reshape(b, (stop - start, -1)) for b in bars], axis=1))
    return np.concatenate(parts, axis=0) if parts else np.zeros((0, n))


def _plain_values(compressed: Any, what: str) -> None:
    if isinstance(compressed, Traced):
        raise TypeError(
            f"{what} returns a scipy.sparse matrix, which cannot carry derivatives, but f uses a "
            "value traced by an enclosing transformation (a closure over its input?). Use "
            "sparse=False inside other transformations.")


def _csr(sp: Any, pattern: Any, vals: np.ndarray, dtype: Any) -> Any:
    return sp.csr_array((np.asarray(vals, dtype=dtype), pattern.indices.copy(), pattern.indptr.copy()),
                        shape=pattern.shape)


def _rows_of(pattern: Any) -> np.ndarray:
    return np.repeat(np.arange(pattern.shape[0]), np.diff(pattern.indptr))


# ---- the reusable plan --------------------------------------------------------------------------------------------
class ColouredJacobian:
    """A sparsity pattern with its colourings: evaluates the sparse Jacobian at any point where
    the pattern holds (``plan(*args, **kwargs)`` -> ``scipy.sparse.csr_array``).

    Attributes: ``pattern`` (m x n boolean CSR), ``mode`` (``"forward"`` or ``"reverse"``, the
    direction used), ``column_colours`` (n,) and ``row_colours`` (m,) (-1: an empty column/row;
    None when that direction was not asked for), ``n_column_colours`` / ``n_row_colours`` (their
    counts), ``column_bound`` / ``row_bound`` (the lower bounds: most nonzeros in a row / in a
    column), ``directions`` (seed vectors per evaluation: the chosen colour count) and ``passes``
    (forward passes or reverse sweeps, in chunks of ``chunk_size``).
    """

    def __init__(self, f: Callable[..., Any], pattern: Any, argnum: Any = 0, mode: str = "auto",
                 chunk_size: int | None = None, has_aux: bool = False) -> None:
        api._check_mode(mode, JACOBIAN_MODES)
        self.f, self.argnum, self.chunk_size, self.has_aux = f, argnum, chunk_size, has_aux
        self.pattern = pattern
        m, n = pattern.shape
        self.column_colours = colouring.column_colouring(pattern) if mode != "reverse" else None
        self.row_colours = colouring.row_colouring(pattern) if mode != "forward" else None
        self.n_column_colours = (colouring.n_colours(self.column_colours)
                                 if self.column_colours is not None else None)
        self.n_row_colours = (colouring.n_colours(self.row_colours)
                              if self.row_colours is not None else None)
        self.column_bound = colouring.column_lower_bound(pattern)
        self.row_bound = colouring.row_lower_bound(pattern)
        if mode == "auto":
            mode = choose_mode(self.n_column_colours, self.n_row_colours)  # type: ignore[arg-type]
        self.mode = mode
        self.directions = self.n_column_colours if mode == "forward" else self.n_row_colours
        k = _chunk(chunk_size, self.directions or 1, max(m, n, 1))  # type: ignore[arg-type]
        self.passes = cost_model.passes(self.directions, k) if self.directions else 0  # type: ignore[arg-type]

    @classmethod
    def detect(cls, f: Callable[..., Any], *args: Any, argnum: Any = 0, mode: str = "auto",
               chunk_size: int | None = None, has_aux: bool = False, **kwargs: Any) -> ColouredJacobian:
        """Trace ``f`` once at ``args`` for its pattern and colour it."""
        call = _Call(f, argnum, has_aux, args, kwargs, "sparse jacobian").record()
        return cls(f, call.pattern(), argnum, mode, chunk_size, has_aux)

    def __repr__(self) -> str:
        m, n = self.pattern.shape
        return (f"<ColouredJacobian {m}x{n}, {self.pattern.nnz} nonzeros: {self.mode}, "
                f"{self.directions} colours (lower bound "
                f"{self.column_bound if self.mode == 'forward' else self.row_bound})>")

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        call = _Call(self.f, self.argnum, self.has_aux, args, kwargs, "sparse jacobian")
        return self._evaluate(call.record() if self.mode == "reverse" else call, args, kwargs)

    def _evaluate(self, call: _Call, args: tuple, kwargs: dict) -> Any:
        """The compressed derivative at ``call``'s point, decompressed. ``call`` is recorded
        (its tape is swept in reverse mode) or, for forward mode, possibly not."""
        sp = scipy_sparse()
        pattern = self.pattern
        if call.n != pattern.shape[1]:
            raise ValueError(f"this ColouredJacobian is for {pattern.shape[1]} inputs; the "
                             f"arguments have {call.n}")
        if self.mode == "forward":
            p = self.n_column_colours or 0
            B = _forward_compressed(call, self.column_colours, p, self.chunk_size,
                                    fresh=call.tape is None)
            _plain_values(B, call.what)
        if call.m != pattern.shape[0]:
            raise ValueError(f"this ColouredJacobian is for {pattern.shape[0]} outputs; f at these "
                             f"arguments has {call.m}")
        if self.mode == "forward":
            vals = B[self.column_colours[pattern.indices], _rows_of(pattern)] if p else np.zeros(0)
        else:
            p = self.n_row_colours or 0
            C = _reverse_compressed(call, self.row_colours, p, self.chunk_size)
            _plain_values(C, call.what)
            vals = C[self.row_colours[_rows_of(pattern)], pattern.indices] if p else np.zeros(0)
        if api._rerun_nan_safe((vals,), "the sparse Jacobian"):
            with nan_safe():
                return self(*args, **kwargs)
        api._no_leak((call.value,), "the value f returned")
        result = _csr(sp, pattern, vals, call.dtype())
        if not self.has_aux:
            return result
        return result, call.aux()


# ---- the transformations ------------------------------------------------------------------------------------------
def jacobian(f: Callable[..., Any], argnum: Any = 0, mode: str = "auto", chunk_size: int | None = None,
             has_aux: bool = False) -> Callable[..., Any]:
    """``jacobian(f)(*args, **kwargs)``: the Jacobian as a ``scipy.sparse.csr_array`` of shape
    ``(out.size, arg.size)`` (outputs and inputs raveled in C order; containers and a tuple
    ``argnum``: leaves concatenated in flatten order), from one recording, a colouring and one
    forward pass per column colour (``mode="forward"``) or one reverse sweep per row colour
    (``"reverse"``), in chunks of ``chunk_size``; ``"auto"``: the direction with fewer passes by
    the cost model. ``has_aux=True`` returns ``(matrix, aux)``. This is what
    ``modes.jacobian(f, sparse=True)`` calls.
    """
    api._check_mode(mode, JACOBIAN_MODES)
    if chunk_size is not None and chunk_size < 1:
        raise ValueError(f"chunk_size must be a positive integer, got {chunk_size}")

    def sparse_jacobian_f(*args: Any, **kwargs: Any) -> Any:
        scipy_sparse()
        call = _Call(f, argnum, has_aux, args, kwargs, "jacobian(sparse=True)").record()
        plan = ColouredJacobian(f, call.pattern(), argnum, mode, chunk_size, has_aux)
        return plan._evaluate(call, args, kwargs)  # reverse mode sweeps the tape just recorded

    return sparse_jacobian_f


class ColouredHessian:
    """A symmetric sparsity pattern with a star colouring: ``plan(*args, **kwargs)`` evaluates
    the sparse Hessian (``scipy.sparse.csr_array``, n x n, exactly symmetric).

    Attributes: ``pattern``, ``colours`` (n,; -1 for an input with no entry), ``n_colours``, ``n_column_colours`` (what a
    non-symmetric column colouring of the same pattern needs, for comparison), ``column_bound``
    (the most nonzeros in a row: the lower bound of the non-symmetric colouring; a star
    colouring may go below it) and ``mode`` (one of ``HESSIAN_MODES``).
    """

    def __init__(self, f: Callable[..., Any], pattern: Any, argnum: int = 0,
                 mode: str = "forward-over-reverse", chunk_size: int | None = None) -> None:
        api._check_mode(mode, HESSIAN_MODES)
        sp = scipy_sparse()
        pattern = sp.csr_array(pattern, dtype=bool)
        pattern = sp.csr_array(pattern + pattern.T)
        pattern.sum_duplicates()
        pattern.sort_indices()
        self.f, self.argnum, self.mode, self.chunk_size = f, argnum, mode, chunk_size
        self.pattern = pattern
        colours = colouring.star_colouring(pattern)
        colours[np.diff(pattern.indptr) == 0] = -1  # an input the gradient never reads: no seed
        used = np.unique(colours[colours >= 0])
        self.colours = np.where(colours >= 0, np.searchsorted(used, colours), -1)
        self.n_colours = colouring.n_colours(self.colours)
        self.n_column_colours = colouring.n_colours(colouring.column_colouring(pattern))
        self.column_bound = colouring.column_lower_bound(pattern)
        self.outer, self.inner = mode.split("-over-")
        self.gradient = api.grad(f, argnum, mode=self.inner)  # type: ignore[arg-type]
        # Read each off-diagonal entry from the side where its column's colour is unique.
        rows = _rows_of(pattern)
        cols = pattern.indices
        n = pattern.shape[0]
        p = max(self.n_colours, 1)
        key = rows * p + self.colours[cols]
        uniq, counts = np.unique(key[rows != cols], return_counts=True)
        alone = np.zeros(rows.size, dtype=bool)
        where = np.searchsorted(uniq, key)
        alone[rows != cols] = counts[np.minimum(where[rows != cols], uniq.size - 1)] == 1
        alone[rows == cols] = True
        upper = rows <= cols
        self._upper = (rows[upper], cols[upper])
        # entry (i, j), i <= j: B[i, colour j] where j stands alone among i's neighbours of its
        # colour, else B[j, colour i] (the star colouring guarantees one of the two).
        self._from_row = alone[upper]
        self._n = n

    @classmethod
    def detect(cls, f: Callable[..., Any], *args: Any, argnum: int = 0,
               mode: str = "forward-over-reverse", chunk_size: int | None = None,
               **kwargs: Any) -> ColouredHessian:
        """Trace ``grad(f)`` once at ``args`` for the Hessian's pattern and star-colour it."""
        api._check_mode(mode, HESSIAN_MODES)
        return cls(f, _hessian_call(f, argnum, args, kwargs).pattern(), argnum, mode, chunk_size)

    def __repr__(self) -> str:
        return (f"<ColouredHessian {self._n}x{self._n}, {self.pattern.nnz} nonzeros: {self.mode}, "
                f"{self.n_colours} star colours ({self.n_column_colours} by columns)>")

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        call = _Call(self.gradient, self.argnum, False, args, kwargs, "hessian(sparse=True)")
        return self._evaluate(call.record() if self.outer == "reverse" else call, args, kwargs)

    def _evaluate(self, call: _Call, args: tuple, kwargs: dict) -> Any:
        sp = scipy_sparse()
        p = self.n_colours
        if call.n != self._n:
            raise ValueError(f"this ColouredHessian is for {self._n} inputs; the arguments have {call.n}")
        if self.outer == "forward":
            B = _forward_compressed(call, self.colours, p, self.chunk_size,
                                    fresh=call.tape is None).T                   # (n, p) = H S
        else:
            B = _reverse_compressed(call, self.colours, p, self.chunk_size).T    # (S^T H)^T = H S
        _plain_values(B, call.what)
        if api._rerun_nan_safe((B,), "the sparse Hessian"):
            with nan_safe():
                return self(*args, **kwargs)
        i, j = self._upper
        vals = np.where(self._from_row, B[i, self.colours[j]], B[j, self.colours[i]]) if p else np.zeros(0)
        off = i != j
        coo = sp.coo_array((np.concatenate([vals, vals[off]]).astype(call.dtype()),
                            (np.concatenate([i, j[off]]), np.concatenate([j, i[off]]))),
                           shape=(self._n, self._n))
        result = sp.csr_array(coo)
        result.sort_indices()
        return result


def _hessian_call(f: Callable[..., Any], argnum: int, args: tuple, kwargs: dict) -> _Call:
    """``grad(f)`` (reverse mode) recorded on a tape: its Jacobian pattern is the Hessian's. The
    pattern is read off a reverse-mode gradient whatever mode then evaluates the Hessian: a
    forward-mode gradient multiplies by constant seed vectors, whose zeros the structural rules
    do not exploit (the pattern would come out dense)."""
    g = api.grad(f, argnum, mode="reverse")
    return _Call(g, argnum, False, args, kwargs, "hessian(sparse=True)").record()


def hessian(f: Callable[..., Any], argnum: int = 0, mode: str = "forward-over-reverse",
            chunk_size: int | None = None) -> Callable[..., Any]:
    """``hessian(f)(*args, **kwargs)``: the Hessian of scalar ``f`` as a ``scipy.sparse.csr_array``
    (``arg.size x arg.size``, raveled; exactly symmetric), from the pattern of ``grad(f)`` traced
    once, a star colouring and one Hessian-vector product per colour: forward passes over the
    gradient (``"forward-over-..."``) or reverse sweeps of its tape (``"reverse-over-..."``);
    the inner part names the gradient's mode. This is what ``modes.hessian(f, sparse=True)`` calls.
    """
    api._check_mode(mode, HESSIAN_MODES)

    def sparse_hessian_f(*args: Any, **kwargs: Any) -> Any:
        scipy_sparse()
        call = _hessian_call(f, argnum, args, kwargs)
        plan = ColouredHessian(f, call.pattern(), argnum, mode, chunk_size)
        if plan.inner == "reverse":  # the recorded gradient is the one to differentiate
            return plan._evaluate(call, args, kwargs)
        return plan(*args, **kwargs)

    return sparse_hessian_f


__all__ = ["ColouredHessian", "ColouredJacobian", "HESSIAN_MODES", "JACOBIAN_MODES", "choose_mode",
           "hessian", "jacobian"]
