"""Registry cases for linear algebra: numpy.linalg and the modes.scipy.linalg drop-ins, as users call them.

Inputs are structured (well-conditioned, SPD, symmetric with separated eigenvalues, distinct
singular values) so finite differences are well defined; tuple results (eigh, svd, qr) are combined
into one array with the sign of each singular/eigenvector fixed, so they are smooth functions.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

import modes.scipy.linalg as sla
from case_table import Case, on
from conftest import NONZERO, REAL, UNIT


# ---- structured domains -----------------------------------------------------------------------------
def _stacked(one: Callable[[np.random.Generator, int, int], np.ndarray]) -> Callable[..., np.ndarray]:
    def draw(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
        lead, (m, n) = shape[:-2], shape[-2:]
        mats = [one(rng, m, n) for _ in range(math.prod(lead))]
        return np.asarray(np.reshape(mats, shape), dtype=np.float64)

    return draw


def _orthonormal(rng: np.random.Generator, m: int, k: int) -> np.ndarray:
    return np.linalg.qr(rng.normal(size=(m, k)))[0]


# Diagonally dominant: every triangle and every leading block is well conditioned.
WELL = _stacked(lambda rng, m, n: rng.uniform(-1.0, 1.0, (m, n)) + 2.5 * np.eye(m, n))
# A well-conditioned square matrix in disguise: the (prod, prod) reshape tensorsolve/tensorinv use.
def WELL_TENSOR(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    k = int(math.isqrt(math.prod(shape)))
    return np.reshape(rng.uniform(-1.0, 1.0, (k, k)) + 2.5 * np.eye(k), shape)


SPD = _stacked(lambda rng, m, n: (lambda b: b @ b.T / n + 0.5 * np.eye(n))(rng.uniform(-1, 1, (n, n))))


def _sym(rng: np.random.Generator, m: int, n: int) -> np.ndarray:
    w = rng.permutation(np.array([-1.7, -0.4, 0.9, 2.2, 3.5])[:n]) + rng.uniform(-0.1, 0.1, n)
    q = _orthonormal(rng, n, n)
    return (q * w) @ q.T


SYM = _stacked(_sym)


def _separated(rng: np.random.Generator, m: int, n: int) -> np.ndarray:
    k = min(m, n)
    s = np.array([2.6, 1.7, 1.0, 0.6, 0.3])[:k] + rng.uniform(-0.05, 0.05, k)
    return (_orthonormal(rng, m, k) * s) @ _orthonormal(rng, n, k).T


SEP = _stacked(_separated)


def _low_rank(deficit: int) -> Callable[..., np.ndarray]:
    """Square matrices of rank n - deficit (at most), where det's derivatives below order deficit vanish."""
    return _stacked(lambda rng, m, n: rng.uniform(-1, 1, (m, max(n - deficit, 0)))
                    @ rng.uniform(-1, 1, (max(n - deficit, 0), n)))


RANK_N1, RANK_N2 = _low_rank(1), _low_rank(2)


# ---- tuple results as one smooth array ------------------------------------------------------------
def _mT(x: Any) -> Any:
    return np.swapaxes(x, -1, -2)


def eigh_out(a: Any, **kw: Any) -> Any:
    w, v = np.linalg.eigh(a, **kw)
    v = v * np.sign(v[..., :1, :])
    return np.concatenate([np.expand_dims(w, -2), v], axis=-2)


def svd_out(a: Any, **kw: Any) -> Any:
    u, s, vh = np.linalg.svd(a, **kw)
    sign = np.sign(u[..., :1, :])
    return np.concatenate([u * sign, np.expand_dims(s, -2), _mT(vh) * sign], axis=-2)


def svd_first_k(a: Any) -> Any:
    """svd(a) with full_matrices=True, using only the first k = min(m, n) singular vectors."""
    u, s, vh = np.linalg.svd(a)
    k = np.shape(s)[-1]
    u, v = u[..., :, :k], _mT(vh[..., :k, :])
    sign = np.sign(u[..., :1, :])
    return np.concatenate([u * sign, np.expand_dims(s, -2), v * sign], axis=-2)


def qr_out(a: Any) -> Any:
    q, r = np.linalg.qr(a)
    sign = np.sign(np.sum(r * np.eye(*np.shape(r)[-2:]), axis=-1))  # a positive diagonal: the unique QR
    q, r = q * np.expand_dims(sign, -2), r * np.expand_dims(sign, -1)
    return np.concatenate([np.reshape(q, np.shape(q)[:-2] + (-1,)), np.reshape(r, np.shape(r)[:-2] + (-1,))],
                          axis=-1)


def cho_factor_out(a: Any, lower: bool = False) -> Any:
    c, low = sla.cho_factor(a, lower=lower)
    n = np.shape(a)[-1]
    # scipy leaves arbitrary data in the other triangle
    return c * (np.tril(np.ones((n, n))) if low else np.triu(np.ones((n, n))))


def two(label: str, fn: Callable[..., Any], d0: Any, d1: Any, *shapes: tuple[Any, Any]) -> Case:
    return Case(label, fn, tuple(shapes), (d0, d1))


CASES: dict[str, list[Case]] = {
    "solve": [
        two("np.linalg.solve", np.linalg.solve, WELL, REAL,
            ((3, 3), (3,)), ((3, 3), (3, 2)), ((2, 3, 3), (2, 3, 1)), ((2, 3, 3), (3, 2)),
            ((2, 3, 3), (3,)), ((3, 3), (2, 3, 1))),
        on("np.linalg.inv", np.linalg.inv, (3, 3), (2, 3, 3), (1, 1), domain=WELL),
        on("matrix_power(a,-2)", lambda a: np.linalg.matrix_power(a, -2), (3, 3), domain=WELL),
        on("cond(a,'fro')", lambda a: np.linalg.cond(a, "fro"), (3, 3), (2, 3, 3), domain=WELL),
        on("cond(a,1)", lambda a: np.linalg.cond(a, 1), (3, 3), domain=WELL),
        on("cond(a,-inf)", lambda a: np.linalg.cond(a, -np.inf), (3, 3), domain=WELL),
        on("cond(a,'nuc')", lambda a: np.linalg.cond(a, "nuc"), (3, 3), domain=WELL),
        two("np.linalg.tensorsolve", np.linalg.tensorsolve, WELL_TENSOR, REAL,
            ((6, 2, 3), (6,)), ((2, 3, 6), (2, 3))),
        Case("tensorsolve(a,b,axes=(0,))", lambda a, b: np.linalg.tensorsolve(a, b, axes=(0,)),
             (((6, 2, 3), (2, 3)),), (WELL_TENSOR, REAL)),
        on("np.linalg.tensorinv", np.linalg.tensorinv, (2, 3, 6), domain=WELL_TENSOR),
        on("tensorinv(a,ind=1)", lambda a: np.linalg.tensorinv(a, ind=1), (4, 2, 2), domain=WELL_TENSOR),
    ],
    "det": [
        on("np.linalg.det", np.linalg.det, (3, 3), (2, 3, 3), (4, 4), (1, 1), domain=WELL),
        on("det(x) of a general matrix", np.linalg.det, (3, 3), domain=REAL),
        # singular matrices: the cofactors are signed minors, each a det again (exact at every order)
        on("det of rank n-1", np.linalg.det, (3, 3), (4, 4), (2, 3, 3), (2, 2), domain=RANK_N1),
        on("det of rank n-2", np.linalg.det, (3, 3), (4, 4), domain=RANK_N2),
    ],
    "slogdet": [
        on("slogdet(a)[1]", lambda a: np.linalg.slogdet(a)[1], (3, 3), (2, 3, 3), domain=WELL),
        on("sign*exp(logabsdet)", lambda a: (lambda r: r.sign * np.exp(r.logabsdet))(np.linalg.slogdet(a)),
           (3, 3), domain=REAL),
    ],
    "cholesky": [
        on("np.linalg.cholesky", np.linalg.cholesky, (3, 3), (2, 3, 3), (4, 4), domain=SPD),
        on("cholesky(a,upper=True)", lambda a: np.linalg.cholesky(a, upper=True), (3, 3), domain=SPD),
        on("sla.cho_factor(a)", cho_factor_out, (3, 3), domain=SPD),
        on("sla.cho_factor(a,lower=True)", lambda a: cho_factor_out(a, lower=True), (3, 3), domain=SPD),
    ],
    "eigh": [
        on("np.linalg.eigh", eigh_out, (3, 3), (2, 3, 3), (4, 4), domain=SYM),
        on("eigh(a,UPLO='U')", lambda a: eigh_out(a, UPLO="U"), (3, 3), domain=SYM),
        on("eigh(a).eigenvalues", lambda a: np.linalg.eigh(a).eigenvalues, (3, 3), domain=SYM),
        on("V diag(w) V^T", lambda a: (lambda w, v: (v * w) @ v.T)(*np.linalg.eigh(a)), (3, 3),
           domain=SYM),
    ],
    "eigvalsh": [
        on("np.linalg.eigvalsh", np.linalg.eigvalsh, (3, 3), (2, 3, 3), domain=SYM),
        on("eigvalsh(a,UPLO='U')", lambda a: np.linalg.eigvalsh(a, UPLO="U"), (3, 3), domain=SYM),
    ],
    "svd": [
        on("svd(a,full_matrices=False)", lambda a: svd_out(a, full_matrices=False),
           (3, 3), (4, 3), (3, 4), (2, 4, 3), domain=SEP),
        on("svd(a) square", svd_out, (3, 3), domain=SEP),
        on("U diag(s) Vh", lambda a: (lambda u, s, vh: (u * s) @ vh)(*np.linalg.svd(a, full_matrices=False)),
           (4, 3), domain=SEP),
    ],
    # full_matrices=True of a non-square matrix: the extra vectors carry no derivative, the rest does
    "svd_complement": [
        on("svd(a).S", lambda a: np.linalg.svd(a).S, (4, 3), (3, 4), (2, 4, 3), domain=SEP),
        on("svd(a)[0][:, :k] tall", lambda a: svd_first_k(a), (4, 3), (2, 5, 3), domain=SEP),
        on("svd(a)[2][:k] wide", lambda a: svd_first_k(a), (3, 4), domain=SEP),
    ],
    "svdvals": [
        on("np.linalg.svdvals", np.linalg.svdvals, (3, 4), (2, 3, 3), domain=SEP),
        on("np.linalg.cond", np.linalg.cond, (3, 4), (2, 3, 3), domain=SEP),
        on("cond(a,2)", lambda a: np.linalg.cond(a, 2), (4, 3), domain=SEP),
        on("cond(a,-2)", lambda a: np.linalg.cond(a, -2), (3, 3), domain=SEP),
        on("svd(a,compute_uv=False)", lambda a: np.linalg.svd(a, compute_uv=False), (4, 3), domain=SEP),
        on("norm(a,2)", lambda a: np.linalg.norm(a, 2), (3, 4), domain=SEP),
        on("norm(a,-2)", lambda a: np.linalg.norm(a, -2), (4, 3), domain=SEP),
        on("norm(a,'nuc')", lambda a: np.linalg.norm(a, "nuc"), (3, 3), (3, 4), domain=SEP),
        on("norm(a,2,axis=(0,2),keepdims)", lambda a: np.linalg.norm(a, 2, axis=(0, 2), keepdims=True),
           (3, 2, 4), domain=REAL),
        on("matrix_norm(a,ord='nuc')", lambda a: np.linalg.matrix_norm(a, ord="nuc"), (2, 3, 3),
           domain=SEP),
    ],
    "qr": [
        on("np.linalg.qr", qr_out, (3, 3), (4, 3), (2, 4, 3), domain=WELL),
        on("qr(a,mode='r')", lambda a: np.abs(np.linalg.qr(a, mode="r")), (4, 3), domain=WELL),
        on("qr of a wide matrix", qr_out, (3, 5), (2, 2, 4), domain=WELL),
        on("qr(a,mode='r') wide", lambda a: np.abs(np.linalg.qr(a, mode="r")), (3, 4), domain=WELL),
        on("qr(a,mode='complete') wide", lambda a: np.abs(np.linalg.qr(a, mode="complete")[1]), (2, 3),
           domain=WELL),
    ],
    "pinv": [
        on("np.linalg.pinv", np.linalg.pinv, (3, 3), (4, 3), (3, 4), (2, 4, 3), domain=SEP),
    ],
    "lstsq": [
        two("lstsq(a,b)[0]", lambda a, b: np.linalg.lstsq(a, b)[0], SEP, REAL,
            ((4, 3), (4,)), ((4, 3), (4, 2)), ((3, 3), (3,)), ((3, 4), (3, 2))),
    ],
    "solve_triangular": [
        two("sla.solve_triangular(lower)", lambda a, b: sla.solve_triangular(a, b, lower=True), WELL, REAL,
            ((3, 3), (3,)), ((3, 3), (3, 2)), ((2, 3, 3), (2, 3, 1))),
        two("sla.solve_triangular(upper,trans=1)", lambda a, b: sla.solve_triangular(a, b, trans=1),
            WELL, REAL, ((3, 3), (3, 2))),
        two("sla.solve_triangular(trans='T',unit_diagonal)",
            lambda a, b: sla.solve_triangular(a, b, trans="T", lower=True, unit_diagonal=True),
            WELL, REAL, ((3, 3), (3,))),
        two("sla.cho_solve(cho_factor(a),b)", lambda a, b: sla.cho_solve(sla.cho_factor(a), b), SPD, REAL,
            ((3, 3), (3,)), ((3, 3), (3, 2))),
        two("sla.cho_solve(cho_factor(a,lower=True),b)",
            lambda a, b: sla.cho_solve(sla.cho_factor(a, lower=True), b), SPD, REAL, ((3, 3), (3,))),
    ],
    "expm": [
        on("sla.expm", sla.expm, (3, 3), (2, 3, 3), (1, 1), domain=UNIT),
    ],
    # ---- compositions: matrix_power and multi_dot on matmul, trace on a gather, matrix norms -----
    "matmul": [
        on("matrix_power(a,2)", lambda a: np.linalg.matrix_power(a, 2), (3, 3), (2, 3, 3)),
        on("matrix_power(a,3)", lambda a: np.linalg.matrix_power(a, 3), (3, 3), domain=UNIT),
        on("matrix_power(a,5)", lambda a: np.linalg.matrix_power(a, 5), (3, 3), domain=UNIT),
        Case("multi_dot(3)", lambda a, b, c: np.linalg.multi_dot([a, b, c]),
             (((2, 3), (3, 4), (4, 2)), ((4, 2), (2, 3), (3, 1))), (REAL, REAL, REAL)),
        Case("multi_dot(4, vector ends)", lambda a, b, c, d: np.linalg.multi_dot([a, b, c, d]),
             (((3,), (3, 4), (4, 2), (2,)), ((3,), (3, 2), (2, 4), (4, 3))), (REAL,) * 4),
        Case("multi_dot(2)", lambda a, b: np.linalg.multi_dot([a, b]), (((2, 3), (3,)),), (REAL, REAL)),
    ],
    "getitem": [
        on("np.trace(a)", np.trace, (3, 3), (3, 4), (2, 3, 3)),
        on("np.trace(a,offset=1)", lambda a: np.trace(a, offset=1), (3, 4), (3, 3)),
        on("np.trace(a,offset=-1)", lambda a: np.trace(a, offset=-1), (4, 3)),
        on("np.trace(a,axis1=0,axis2=2)", lambda a: np.trace(a, axis1=0, axis2=2), (3, 2, 3)),
        on("np.trace(a,-1,axis1=-1,axis2=1)", lambda a: np.trace(a, -1, axis1=-1, axis2=1), (2, 3, 4)),
    ],
    "max": [
        on("norm(a,1)", lambda a: np.linalg.norm(a, 1), (3, 4), domain=NONZERO),
        on("norm(a,inf)", lambda a: np.linalg.norm(a, np.inf), (3, 4), domain=NONZERO),
        on("norm(a,inf,axis=(2,0),keepdims)", lambda a: np.linalg.norm(a, np.inf, axis=(2, 0), keepdims=True),
           (3, 2, 4), domain=NONZERO),
        on("norm(a,1,axis=(1,0))", lambda a: np.linalg.norm(a, 1, axis=(1, 0)), (3, 4), domain=NONZERO),
    ],
    "min": [
        on("norm(a,-1)", lambda a: np.linalg.norm(a, -1), (3, 4), domain=NONZERO),
        on("norm(a,-inf,axis=(0,2))", lambda a: np.linalg.norm(a, -np.inf, axis=(0, 2)), (3, 2, 4),
           domain=NONZERO),
    ],
    "l2norm": [
        on("norm(a,'fro',axis=(2,0),keepdims)",
           lambda a: np.linalg.norm(a, "fro", axis=(2, 0), keepdims=True), (3, 2, 4)),
        on("norm(a,None,axis=(0,1))", lambda a: np.linalg.norm(a, axis=(0, 1)), (3, 4)),
        on("matrix_norm(a)", np.linalg.matrix_norm, (2, 3, 4)),
        on("vector_norm(a)", np.linalg.vector_norm, (3, 4)),
    ],
    "power": [
        on("norm(x,ord=-3)", lambda x: np.linalg.norm(x, ord=-3), (4,), domain=NONZERO),
        on("vector_norm(a,axis=(0,2),ord=3)", lambda a: np.linalg.vector_norm(a, axis=(0, 2), ord=3),
           (3, 2, 4), domain=NONZERO),
        on("norm(x,ord=0.5,axis=1,keepdims)", lambda x: np.linalg.norm(x, ord=0.5, axis=1, keepdims=True),
           (3, 4), domain=NONZERO),
    ],
}
