"""``sparse_jacobian``: sparse Jacobians by colouring against dense ones, forward and reverse.

Problems f: R^n -> R^m with known structure (each with its Jacobian written by hand):
``tridiagonal`` and ``pentadiagonal`` (banded), ``arrowhead`` (a dense first row and column:
colouring cannot help either way), ``column_arrow`` (every output reads x_0: 2 column colours, n
row colours), ``row_arrow`` (one output reads every input: the converse), ``block_diagonal``
(independent blocks of 4) and ``ba``, the bundle-adjustment residuals of ``experiments/adbench/ba``
(its reference Jacobian from the structure-exploiting ``forward-blocks`` method).

Methods, timed interleaved per cell: ``dense_forward`` / ``dense_reverse`` (``modes.jacobian``,
n directions / m cotangents), ``forward_coloured`` / ``reverse_coloured`` (``modes.jacobian(f,
sparse=True, mode=...)``, that is ``modes.sparse_jacobian.jacobian``: one recording for the pattern, a colouring, then one direction per column
colour / one cotangent per row colour), ``forward_reused`` / ``reverse_reused`` (a
``ColouredJacobian`` detected once in set-up, evaluated at the point: what each further Newton step
costs) and ``detect`` (the pattern and both colourings alone). Every row carries the structure
as JSON in ``value`` (``nnz``; ``col_colours`` and ``col_bound``, the most nonzeros in a row;
``row_colours`` and ``row_bound``, the most in a column), ``k`` (the seed vectors the method
carries: n, m or a colour count), ``chunk`` (seeds per pass) and ``auto_choice`` (the direction
``sparse=True, mode="auto"`` takes, by ``modes.sparse_jacobian.choose_mode``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

import modes
from modes import colouring, cost_model
from modes import sparse_jacobian as sj
from modes.sparsity import jacobian_sparsity

from ..runner import Budget, Context, Extras, Fns, Method, timing_trial

NAME = "sparse_jacobian"
TITLE = "Sparse Jacobians by colouring"
PROBLEMS = ("tridiagonal", "pentadiagonal", "arrowhead", "column_arrow", "row_arrow",
            "block_diagonal", "ba")
BLOCK = 4
METHODS = {  # method: (mode, sparse, reused)
    "dense_forward": ("forward", False, False),
    "dense_reverse": ("reverse", False, False),
    "forward_coloured": ("forward", True, False),
    "reverse_coloured": ("reverse", True, False),
    "forward_reused": ("forward", True, True),
    "reverse_reused": ("reverse", True, True),
}
DENSE = ("dense_forward", "dense_reverse")


# ---- the problems, with their Jacobians by hand ---------------------------------------------------------------
@dataclass(frozen=True)
class Problem:
    f: Callable[[Any], Any]
    x0: np.ndarray
    jac: Callable[[np.ndarray], Any]  # the exact Jacobian, a scipy.sparse matrix
    m: int


def _pad(x: Any, k: int) -> Any:
    return np.concatenate([np.zeros(k), x, np.zeros(k)])


def _coo(rows: list, cols: list, vals: list, shape: tuple[int, int]) -> Any:
    import scipy.sparse as sp

    r, c, v = (np.concatenate([np.ravel(a) for a in parts]) for parts in (rows, cols, vals))
    keep = (c >= 0) & (c < shape[1])
    return sp.csr_array((v[keep], (r[keep], c[keep])), shape=shape)


def tridiagonal(x: Any) -> Any:
    """F_i = -x_{i-1} + 2 x_i - x_{i+1} + x_i^3 (zero outside)."""
    p = _pad(x, 1)
    return -p[:-2] + 2.0 * x - p[2:] + x ** 3


def _tridiagonal_jac(x: np.ndarray) -> Any:
    i = np.arange(x.size)
    return _coo([i, i, i], [i, i - 1, i + 1], [2.0 + 3 * x ** 2, -np.ones(x.size), -np.ones(x.size)],
                (x.size, x.size))


def pentadiagonal(x: Any) -> Any:
    """F_i = sin(x_i) + x_{i-1} x_{i+1} + (x_{i-2}^2 + x_{i+2}^2) / 2 (zero outside)."""
    p = _pad(x, 2)
    return np.sin(x) + p[1:-3] * p[3:-1] + 0.5 * (p[:-4] ** 2 + p[4:] ** 2)


def _pentadiagonal_jac(x: np.ndarray) -> Any:
    i = np.arange(x.size)
    p = np.concatenate([np.zeros(2), x, np.zeros(2)])
    return _coo([i] * 5, [i, i - 1, i + 1, i - 2, i + 2],
                [np.cos(x), p[3:-1], p[1:-3], p[:-4], p[4:]], (x.size, x.size))


def arrowhead(x: Any) -> Any:
    """F_0 = sum(x^2); F_i = x_0 tanh(x_i) + x_i^2."""
    return np.concatenate([np.sum(x * x, keepdims=True), x[0] * np.tanh(x[1:]) + x[1:] ** 2])


def _arrowhead_jac(x: np.ndarray) -> Any:
    n = x.size
    i = np.arange(1, n)
    t = np.tanh(x[1:])
    return _coo([np.zeros(n, int), i, i], [np.arange(n), np.zeros(n - 1, int), i],
                [2 * x, t, x[0] * (1 - t * t) + 2 * x[1:]], (n, n))


def column_arrow(x: Any) -> Any:
    """F_i = x_i^2 + sin(x_0)."""
    return x ** 2 + np.sin(x[0])


def _column_arrow_jac(x: np.ndarray) -> Any:
    n = x.size
    i = np.arange(n)
    return _coo([i, i], [i, np.zeros(n, int)], [2 * x, np.full(n, np.cos(x[0]))], (n, n))


def row_arrow(x: Any) -> Any:
    """F_i = exp(x_i) for i < n - 1; F_{n-1} = sum(x)."""
    return np.concatenate([np.exp(x[:-1]), np.sum(x, keepdims=True)])


def _row_arrow_jac(x: np.ndarray) -> Any:
    n = x.size
    i = np.arange(n - 1)
    return _coo([i, np.full(n, n - 1)], [i, np.arange(n)], [np.exp(x[:-1]), np.ones(n)], (n, n))


def _blocks(n: int) -> np.ndarray:
    return np.random.default_rng(4).normal(size=(n // BLOCK, BLOCK, BLOCK)) / 2.0


def make_block_diagonal(n: int) -> tuple[Callable[[Any], Any], Callable[[np.ndarray], Any]]:
    """F = tanh(B_k z_k) + z_k^2 per block z_k of 4 entries."""
    B = _blocks(n)

    def f(x: Any) -> Any:
        z = np.reshape(x, (n // BLOCK, BLOCK, 1))
        return np.ravel(np.tanh(B @ z) + z * z)

    def jac(x: np.ndarray) -> Any:
        z = x.reshape(n // BLOCK, BLOCK, 1)
        t = np.tanh(B @ z)
        blocks = (1 - t * t) * B + 2 * np.eye(BLOCK) * z          # (b, 4, 4): row scaling + diag
        k, r, c = np.indices(blocks.shape)
        return _coo([k * BLOCK + r], [k * BLOCK + c], [blocks], (n, n))

    return f, jac


def ba_sizes(n: int) -> tuple[int, int, int]:
    """(cameras, points, observations) for the bundle-adjustment cell of size n (observations)."""
    return max(2, n // 30), max(4, n // 3), n


def make_ba(n: int) -> Problem:
    from ..adbench import ba

    import scipy.sparse as sp

    inp = ba.random_instance(*ba_sizes(n))

    def f(v: Any) -> Any:
        return ba._all_residuals(v, inp)

    def jac(v: np.ndarray) -> Any:
        J = ba.jacobian(inp, "forward-blocks")
        return sp.csr_array((J.vals, J.cols, J.rows), shape=J.shape)

    x0 = ba._flat(inp)
    return Problem(f, x0, jac, 3 * n)


def make(name: str, n: int) -> Problem:
    """The problem ``name`` at size n (inputs; ``ba``: observations)."""
    if name == "ba":
        return make_ba(n)
    x0 = np.random.default_rng(n).uniform(-1.0, 1.0, n)
    if name == "block_diagonal":
        f, jac = make_block_diagonal(n)
        return Problem(f, x0, jac, n)
    f, jac = {"tridiagonal": (tridiagonal, _tridiagonal_jac),
              "pentadiagonal": (pentadiagonal, _pentadiagonal_jac),
              "arrowhead": (arrowhead, _arrowhead_jac), "column_arrow": (column_arrow, _column_arrow_jac),
              "row_arrow": (row_arrow, _row_arrow_jac)}[name]
    return Problem(f, x0, jac, n)


def grid(profile: str) -> list[tuple[str, int]]:
    """(problem, n) pairs for a profile (``ba``: n observations). Quick: two sizes of the
    tridiagonal and bundle-adjustment problems, one of the others."""
    if profile == "tiny":
        return [(p, 12 if p == "ba" else 16) for p in PROBLEMS]
    if profile == "quick":
        sizes = {"tridiagonal": (100, 1000), "ba": (60, 600)}
        return [(p, n) for p in PROBLEMS for n in sizes.get(p, (500,))]
    return [(p, n) for p in PROBLEMS
            for n in ((60, 200, 600, 2000, 6000) if p == "ba" else (100, 300, 1000, 3000, 10000))]


# ---- the experiment --------------------------------------------------------------------------------------------
def structure(p: Problem) -> dict[str, Any]:
    """Pattern, colours and bounds (row fields), and the direction auto mode takes."""
    pattern = jacobian_sparsity(p.f)(p.x0)
    cols = colouring.n_colours(colouring.column_colouring(pattern))
    rows = colouring.n_colours(colouring.row_colouring(pattern))
    return {"nnz": int(pattern.nnz), "col_colours": cols, "row_colours": rows,
            "col_bound": colouring.column_lower_bound(pattern), "row_bound": colouring.row_lower_bound(pattern)}


def _directions(method: str, n: int, m: int, s: dict[str, Any]) -> int:
    mode, sparse, _ = METHODS[method]
    if not sparse:
        return n if mode == "forward" else m
    return int(s["col_colours"] if mode == "forward" else s["row_colours"])


def _estimate(method: str, n: int, m: int, directions: int, nnz: int) -> float:
    """Rough peak bytes: chunks of directions through about a dozen intermediates of the widest
    size, the Jacobian itself (dense: m x n)."""
    width = max(n, m)
    chunk = min(directions, max(1, cost_model.CHUNK_ELEMENTS // max(1, width)))
    held = 8.0 * 4 * n * m if method in DENSE else 8.0 * 8 * nnz
    return 8.0 * 12 * chunk * width + held


def run(ctx: Context) -> None:
    cells = grid(ctx.profile.name)
    # A call costs about (seed vectors) x (the widest value): n^2 for a dense Jacobian, colours x n
    # for a coloured one. The budget grows that measure linearly from the last size measured.
    budget = Budget(1.0)
    with ctx.progress(NAME, len(cells)) as bar:
        for problem, n in cells:
            bar.step(f"{problem} n={n}")
            p = make(problem, n)
            s = structure(p)
            size = {"n": int(p.x0.size), "m": int(p.m)}
            common = {"value": s, "auto_choice": sj.choose_mode(s["col_colours"], s["row_colours"]),
                      "reverse_weight": cost_model.REVERSE_WEIGHT}
            methods = [Method("f", "plain", estimate_bytes=8.0 * 40 * max(size.values()), extra=dict(common))]
            for name, (mode, sparse, reused) in METHODS.items():
                d = _directions(name, size["n"], size["m"], s)
                chunk = cost_model.default_chunk(d, max(size.values()))
                skip = budget.over((problem, name), d * max(size.values()), ctx.profile.call_budget_s)
                methods.append(Method(name, mode, skip=skip, estimate_bytes=_estimate(
                    name, size["n"], size["m"], d, s["nnz"]), extra=dict(
                    common, k=d, chunk=chunk, note=f"{cost_model.passes(d, chunk)} pass(es)")))
            methods.append(Method("detect", "reverse", extra=dict(common, k=0),
                                  estimate_bytes=8.0 * 16 * s["nnz"]))
            rows = timing_trial(ctx, NAME, {"problem": problem, "n": size["n"], "m": size["m"]},
                                methods, _setup(problem, n), _check(problem, n))
            for row in rows:
                if row.get("method") in METHODS:
                    d = _directions(row["method"], size["n"], size["m"], s)
                    budget.record((problem, row["method"]), d * max(size.values()), row)


def _setup(problem: str, n: int) -> Callable[[], tuple[Fns, Extras]]:
    def setup() -> tuple[Fns, Extras]:
        p = make(problem, n)
        x = p.x0
        fns: Fns = {"f": lambda: p.f(x)}
        for name, (mode, sparse, reused) in METHODS.items():
            if reused:
                plan = sj.ColouredJacobian.detect(p.f, x, mode=mode)
                fns[name] = lambda plan=plan: plan(x)
            else:
                jac = (sj.jacobian if sparse else modes.jacobian)(p.f, mode=mode)  # type: ignore[operator]
                fns[name] = lambda jac=jac: jac(x)

        def detect() -> Any:
            pattern = jacobian_sparsity(p.f)(x)
            return colouring.column_colouring(pattern), colouring.row_colouring(pattern)

        fns["detect"] = detect
        return fns, {}

    return setup


def sparse_rel_err(got: Any, want: Any) -> float:
    """max |got - want| / max(1, max |want|) for a dense or sparse ``got`` and a sparse ``want``."""
    import scipy.sparse as sp

    scale = max(1.0, float(abs(want).max())) if want.nnz else 1.0
    if sp.issparse(got):
        diff = got - want
        return float(abs(diff).max()) / scale if diff.nnz else 0.0
    got = np.reshape(np.asarray(got, dtype=float), want.shape)
    return float(np.max(np.abs(got - want.toarray()))) / scale


def _check(problem: str, n: int) -> Callable[[dict[str, Any]], dict[str, float]]:
    def check(outputs: dict[str, Any]) -> dict[str, float]:
        p = make(problem, n)
        want = p.jac(p.x0)
        errs = {name: sparse_rel_err(out, want) for name, out in outputs.items() if name in METHODS}
        if "detect" in outputs:  # the colourings must be valid for the exact Jacobian's nonzeros
            cols, rows = outputs["detect"]
            exact = want.copy()
            exact.eliminate_zeros()
            ok = colouring.is_column_colouring(exact, cols) and colouring.is_row_colouring(exact, rows)
            errs["detect"] = 0.0 if ok else float("inf")
        return errs

    return check
