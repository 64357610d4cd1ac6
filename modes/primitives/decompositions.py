"""Linear algebra beyond matmul: solves, determinants, decompositions, norms; JVP and VJP side by side.

The rules follow Giles, "Collected matrix derivative results for forward and reverse mode AD"
(2008); QR follows Walter & Lehmann (2018), pinv and lstsq Golub & Pereyra (1973). Every rule is
written with numpy calls on possibly traced values, so it can be differentiated again. ``g`` carries
leading batch axes; rules address the trailing (stack + matrix) axes only.

A primitive returns one array, so the decompositions return their factors packed along the
second-to-last axis (``eigh``: ``[w; V]``, ``svd``: ``[U; s; V]``, ``qr``: ``[Q; R]``) and the
numpy bindings unpack them (numpy's named tuples hold traced values as well as arrays).
``inv`` is ``solve(a, I)``, ``matrix_power`` repeated ``matmul``, ``multi_dot`` a chain of
``matmul`` in numpy's order, ``trace`` a gather, the matrix norms reductions over ``svdvals``.

Conventions (real float input only; complex input raises TypeError):

* Symmetric input. ``cholesky`` and ``eigh``/``eigvalsh`` read only the lower triangle (as LAPACK
  does; ``UPLO='U'`` / ``upper=True`` read the upper one), so their gradient with respect to the
  matrix is supported on that triangle: ``bar_A = (S + S^T) * W`` with ``W`` ones below the
  diagonal, 1/2 on it, 0 above, where ``S`` is Giles' symmetric-input adjoint. For a symmetric
  parametrisation ``A(theta)`` both this and the symmetric gradient give the same chain rule.
* Degenerate eigenvalues. In ``eigh`` the eigenvector terms ``F_ij = 1/(w_j - w_i)`` with
  ``|w_j - w_i| <= DEGENERATE_RTOL * max|w|`` are dropped (taken as 0). Eigenvalue derivatives stay
  exact. Eigenvector derivatives are exact for cotangents with ``V^T bar_V`` symmetric within each
  degenerate block: functions of the eigenvalues and of the eigenspace projectors. They are not
  for, e.g., ``V f(diag w) V^T`` at exactly repeated eigenvalues, which loses ``f'(w)`` times the
  off-diagonal part of ``V^T dA V`` inside the block.
* Singular values. In ``svd`` the same applies to ``F_ij = 1/(s_j^2 - s_i^2)``, and ``1/s_i`` (in
  the terms of a non-square matrix) is taken as 0 where ``s_i <= DEGENERATE_RTOL * max s``.
  ``svdvals`` at a repeated singular value returns ``diag(U^T dA V)`` for numpy's choice of
  ``U, V``: right for symmetric functions of the singular values (nuclear norm, sums).
* ``det`` uses the cofactor matrix ``det(A) A^-T`` (a solve) when ``A`` has full numerical rank and
  the signed (n-1)x(n-1) minors (gathered, each a ``det`` again) when it does not: both are exact
  formulas, so ``det`` (a polynomial) has exact derivatives of every order at every matrix.
  ``slogdet`` at a singular matrix raises ``LinAlgError`` (logabsdet is -inf, no derivative).
* ``svd(full_matrices=True)`` of a non-square matrix returns numpy's extra singular vectors (the
  columns of U, or rows of Vh, beyond min(m, n)): an arbitrary basis of the complement, with no
  derivative. Reverse mode raises TypeError when they receive a nonzero cotangent; forward mode
  gives them NaN tangents. Results that use only ``s`` and the first min(m, n) vectors are exact.
* ``solve``/``inv`` of a singular matrix and ``cholesky`` of a non-SPD matrix raise numpy's
  ``LinAlgError``. ``pinv``/``lstsq`` differentiate on the manifold of matrices of the rank their
  cutoff detects (exact at full rank). ``qr`` of a wide matrix ``[X | Y]`` (m < n) is
  ``Q [R1 | Q^T Y]`` with ``X = Q R1``: it needs ``X`` invertible, as a tall one needs full column rank.
* ``cond`` follows numpy: ``svdvals`` for p in (None, 2, -2), else ``norm(A, p) * norm(inv(A), p)``
  (a singular matrix raises ``LinAlgError`` there); ``tensorsolve``/``tensorinv`` reshape to
  ``solve``/``inv``.

Cost (``modes.flops``): the leading-order flop counts of Golub & Van Loan, "Matrix Computations"
(3rd ed., ch. 4, 5 and 8; a multiply-add is 2), times the number of matrices in the (broadcast)
stack, with (m, n) a matrix's shape and k = min(m, n): solve 2n^3/3 (LU) + 2n^2 per right-hand
side; det and slogdet 2n^3/3 (LU); cholesky n^3/3; eigh 9n^3 and eigvalsh 4n^3/3 (symmetric QR
algorithm); from GvL's Golub-Reinsch SVD table (m >= n; a wide matrix costs its transpose): the
reduced svd (U1, S, V) 14 m n^2 + 8n^3, the full one (svd_complement) 4 m^2 n + 8 m n^2 + 9n^3,
svdvals 4 m n^2 - 4n^3/3; qr 2n^2 (m - n/3) (Householder) + 2k^2 (m - k/3) to form the thin Q
(LAPACK Working Note 41: xGEQRF, xORGQR); pinv the reduced svd (eigh when hermitian) + 2 m n k for
V S^-1 U^T; lstsq the SVD method of GvL's least-squares table, 4 m n^2 + 8n^3, + 2 (m + n) k per
right-hand side (U^T b and V y). inv is solve(a, I): 2n^3/3 + 2n^3.
"""

from __future__ import annotations

import math
import operator
from typing import Any

import numpy as np

from ..flops import per_matrix, stack, thirds
from ..registry import Traced, plain
from ..unbroadcast import expand_tangent, shape_of, unbroadcast
from . import elementwise as ew
from . import linalg as la
from . import structural as st
from .bind import FUNC, structural
from .structural import _nb

# Eigenvalue / singular value gaps (and singular values) at or below this times the largest are
# treated as degenerate: the terms dividing by them are dropped.
DEGENERATE_RTOL = 1e-10

_LinAlgResults = np.linalg._linalg  # numpy's named tuples: EighResult, SVDResult, ...


# ---- helpers on the trailing (matrix) axes -----------------------------------------------------------
def _mT(x: Any) -> Any:
    return np.swapaxes(x, -1, -2)


def _eye(n: int) -> np.ndarray:
    return np.eye(n)


def _diag(x: Any) -> Any:
    """The diagonals of a stack of square matrices: (..., n, n) -> (..., n)."""
    return np.sum(x * _eye(shape_of(x)[-1]), axis=-1)


def _diag_embed(v: Any) -> Any:
    """(..., n) -> (..., n, n) with v on the diagonals."""
    return np.expand_dims(v, -2) * _eye(shape_of(v)[-1])


def _lower_mask(n: int) -> np.ndarray:
    return np.tril(np.ones((n, n)))


def _half_lower(n: int) -> np.ndarray:
    """Ones below the diagonal, 1/2 on it: Giles' Phi, and the map of S + S^T to a lower gradient."""
    return np.tril(np.ones((n, n))) - 0.5 * np.eye(n)


def _sym_from_lower(g: Any) -> Any:
    """The symmetric matrix a lower-reading function sees: tril(g) + tril(g, -1)^T."""
    n = shape_of(g)[-1]
    return g * _lower_mask(n) + _mT(g * np.tril(np.ones((n, n)), -1))


def _lower_bar(s: Any) -> Any:
    """Adjoint of ``_sym_from_lower``: the gradient on the lower triangle, from Giles' adjoint S."""
    return (s + _mT(s)) * _half_lower(shape_of(s)[-1])


def _gap_inverse(d: Any, scale: np.ndarray) -> Any:
    """1/d where |d| > DEGENERATE_RTOL * scale, 0 elsewhere (and 0 on the diagonal of a gap matrix)."""
    keep = np.abs(np.asarray(plain(d))) > DEGENERATE_RTOL * scale
    return ew.where(keep, 1.0 / ew.where(keep, d, 1.0), 0.0)


def _max_abs(x: Any) -> np.ndarray:
    """max |x| over the last axis, kept as (..., 1, 1) for comparing gap matrices."""
    return np.max(np.abs(np.asarray(plain(x))), axis=-1, keepdims=True)[..., None]


def _real(name: str, *xs: Any) -> None:
    for x in xs:
        if np.iscomplexobj(plain(x)):
            raise TypeError(f"np.linalg.{name}: complex input is not supported by modes; pass real "
                            "float arrays (split a complex problem into real and imaginary parts)")


def _square(name: str, a: Any) -> tuple[int, ...]:
    s = shape_of(a)
    if len(s) < 2 or s[-1] != s[-2]:
        raise np.linalg.LinAlgError(
            f"np.linalg.{name}: expected a (..., n, n) stack of square matrices, got shape {s}")
    return s


# ---- solve ---------------------------------------------------------------------------------------
# b is always a (..., n, k) stack here; the binding turns a vector into a column.
def _solves(a: Any, b: Any) -> Any:
    """``solve(a, b)`` with b's stack axes along which a does not vary (a batch of tangents or
    cotangents) moved into b's columns, when b's matrices are ``la.thin``: each of a's matrices is
    then factorized once, where numpy's solve factorizes a again for every matrix of b."""
    sa, sb = shape_of(a), shape_of(b)
    rank = max(len(sa), len(sb)) - 2
    pa = (1,) * (rank + 2 - len(sa)) + tuple(sa[:-2])
    pb = (1,) * (rank + 2 - len(sb)) + tuple(sb[:-2])
    fold = [i for i in range(rank) if pa[i] == 1 and pb[i] != 1]
    if not fold or not la.thin(sb[-1], sb[-2]):
        return solve(a, b)
    keep = [i for i in range(rank) if i not in fold]
    (n, k), folded = sb[-2:], tuple(pb[i] for i in fold)
    b = la._transposed(np.reshape(b, pb + (n, k)), keep + [rank] + fold + [rank + 1])
    b = np.reshape(b, tuple(pb[i] for i in keep) + (n, math.prod(folded) * k))
    x = solve(np.reshape(a, tuple(pa[i] for i in keep) + tuple(sa[-2:])), b)
    x = np.reshape(x, shape_of(x)[:-1] + folded + (k,))
    place = keep + [rank] + fold + [rank + 1]  # x's axes: back to the stack's order
    return la._transposed(x, sorted(range(len(place)), key=place.__getitem__))


def _solve_jvp_a(g: Any, ans: Any, a: Any, b: Any) -> Any:
    g = expand_tangent(g, len(shape_of(ans)), _nb(g, a))
    return -_solves(a, la.mm(g, ans))


def _solve_jvp_b(g: Any, ans: Any, a: Any, b: Any) -> Any:
    return _solves(a, expand_tangent(g, len(shape_of(ans)), _nb(g, b)))


def _solve_vjp_a(g: Any, ans: Any, a: Any, b: Any) -> Any:
    batch = shape_of(g)[: _nb(g, ans)]
    bar = la.mm(_solves(_mT(a), g), _mT(ans), to=la._target(batch, a, ans))
    return -la._reshaped(bar, batch + shape_of(a))


def _solve_vjp_b(g: Any, ans: Any, a: Any, b: Any) -> Any:
    nb = _nb(g, ans)
    return unbroadcast(_solves(_mT(a), g), shape_of(g)[:nb] + shape_of(b), nb)


def _solve_cost(ans: Any, a: Any, b: Any) -> int:
    n, k = shape_of(b)[-2:]
    return stack(a, b) * (thirds(2 * n ** 3) + 2 * n * n * k)


solve = structural(
    lambda a, b: np.linalg.solve(a, b), "solve",
    jvp=(_solve_jvp_a, _solve_jvp_b),
    vjp=(_solve_vjp_a, _solve_vjp_b),
    cost=_solve_cost,
)


def _inv(a: Any) -> Any:
    return solve(a, _eye(shape_of(a)[-1]))


# ---- determinants ----------------------------------------------------------------------------------
def _expand2(x: Any) -> Any:
    return np.reshape(x, shape_of(x) + (1, 1))


def _minor_index(n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rows, columns and signs gathering the n^2 minors of an n x n matrix: (n, n, n-1, n-1)."""
    keep = np.array([[k for k in range(n) if k != i] for i in range(n)], dtype=np.intp)  # (n, n-1)
    rows = keep[:, None, :, None]  # minor (i, j) keeps the rows other than i ...
    cols = keep[None, :, None, :]  # ... and the columns other than j
    signs = (-1.0) ** np.add.outer(np.arange(n), np.arange(n))
    return rows, cols, signs


def _cofactor(a: Any, ans: Any) -> Any:
    """C with d det(A) = <C, dA>: det(A) A^-T at full numerical rank, else the signed minors.

    Both are exact formulas for the cofactor matrix, the first on the open set of invertible
    matrices, the second everywhere (each minor's ``det`` is this primitive again, one size
    smaller), so every derivative of the rule is exact too: no decomposition with degenerate
    conventions enters. The minors cost n^2 dets of size n-1 per derivative order, and only
    where ``A`` is numerically singular.
    """
    n = shape_of(a)[-1]
    if np.all(np.linalg.matrix_rank(np.asarray(plain(a))) == n):
        return _expand2(ans) * _mT(_inv(a))
    if n == 1:  # d a / d a = 1: the adjugate of a 1x1 matrix
        return np.ones(shape_of(a))
    rows, cols, signs = _minor_index(n)
    return signs * det(a[..., rows, cols])


det = structural(
    lambda a: np.linalg.det(a), "det",
    jvp=(lambda g, ans, a: np.sum(g * _cofactor(a, ans), axis=(-2, -1)),),
    vjp=(lambda g, ans, a: _expand2(g) * _cofactor(a, ans),),
    cost=per_matrix(lambda n: thirds(2 * n ** 3)),
)


def _inv_T(a: Any, ans: Any) -> Any:
    if np.any(np.isneginf(np.asarray(plain(ans)))):
        raise np.linalg.LinAlgError(
            "np.linalg.slogdet: the matrix is singular (logabsdet = -inf), so logabsdet has no "
            "derivative there; differentiate np.linalg.det instead, which is finite at singular matrices")
    return _mT(_inv(a))


slogdet = structural(
    lambda a: np.linalg.slogdet(a)[1], "slogdet",
    jvp=(lambda g, ans, a: np.sum(g * _inv_T(a, ans), axis=(-2, -1)),),
    vjp=(lambda g, ans, a: _expand2(g) * _inv_T(a, ans),),
    cost=per_matrix(lambda n: thirds(2 * n ** 3)),
)


# ---- cholesky: A = L L^T, reading the lower triangle ----------------------------------------------
def _chol_jvp(g: Any, ans: Any, a: Any) -> Any:
    # dL = L Phi(L^-1 dA L^-T), dA symmetric
    t = _solves(ans, _mT(_solves(ans, _sym_from_lower(g))))
    return la.mm(ans, t * _half_lower(shape_of(a)[-1]))


def _chol_vjp(g: Any, ans: Any, a: Any) -> Any:
    # S = L^-T Phi(L^T bar_L) L^-1
    lt = _mT(ans)
    p = la.mm(lt, g) * _half_lower(shape_of(a)[-1])
    return _lower_bar(_solves(lt, _mT(_solves(lt, _mT(p)))))


cholesky = structural(lambda a: np.linalg.cholesky(a), "cholesky", jvp=(_chol_jvp,), vjp=(_chol_vjp,),
                      cost=per_matrix(lambda n: thirds(n ** 3)))


# ---- eigh: A = V diag(w) V^T, reading the lower triangle; packed as [w; V] -------------------------
def _eigh_fn(a: Any) -> np.ndarray:
    w, v = np.linalg.eigh(a)
    return np.concatenate([w[..., None, :], v], axis=-2)


def _eigh_unpack(p: Any) -> tuple[Any, Any]:
    return p[..., 0, :], p[..., 1:, :]


def _eig_gaps(w: Any) -> Any:
    """F_ij = 1/(w_j - w_i), 0 on the diagonal and at degenerate pairs."""
    return _gap_inverse(np.expand_dims(w, -2) - np.expand_dims(w, -1), _max_abs(w))


def _eigh_jvp(g: Any, ans: Any, a: Any) -> Any:
    w, v = _eigh_unpack(ans)
    p = la.mm(la.mm(_mT(v), _sym_from_lower(g)), v)
    dv = la.mm(v, _eig_gaps(w) * p)
    return np.concatenate([np.expand_dims(_diag(p), -2), dv], axis=-2)


def _eigh_vjp(g: Any, ans: Any, a: Any) -> Any:
    w, v = _eigh_unpack(ans)
    wbar, vbar = _eigh_unpack(g)
    inner = _diag_embed(wbar) + _eig_gaps(w) * la.mm(_mT(v), vbar)
    return _lower_bar(la.mm(la.mm(v, inner), _mT(v)))


eigh = structural(_eigh_fn, "eigh", jvp=(_eigh_jvp,), vjp=(_eigh_vjp,),
                  cost=per_matrix(lambda n: 9 * n ** 3))


def _eigh_parts(a: Any) -> tuple[Any, Any]:
    return _eigh_unpack(eigh(a))


def _eigvalsh_jvp(g: Any, ans: Any, a: Any) -> Any:
    _, v = _eigh_parts(a)
    return _diag(la.mm(la.mm(_mT(v), _sym_from_lower(g)), v))


def _eigvalsh_vjp(g: Any, ans: Any, a: Any) -> Any:
    _, v = _eigh_parts(a)
    return _lower_bar(la.mm(v * np.expand_dims(g, -2), _mT(v)))


# numpy computes eigenvalues alone by another LAPACK path: its own primitive so values match numpy.
eigvalsh = structural(lambda a: np.linalg.eigvalsh(a), "eigvalsh",
                      jvp=(_eigvalsh_jvp,), vjp=(_eigvalsh_vjp,),
                      cost=per_matrix(lambda n: thirds(4 * n ** 3)))


# ---- svd: A = U diag(s) V^T (reduced), packed as [U; s; V] -----------------------------------------
def _svd_fn(a: Any) -> np.ndarray:
    u, s, vh = np.linalg.svd(a, full_matrices=False)
    return np.concatenate([u, s[..., None, :], _mT(vh)], axis=-2)


def _svd_unpack(p: Any, a: Any) -> tuple[Any, Any, Any]:
    m = shape_of(a)[-2]
    return p[..., :m, :], p[..., m, :], p[..., m + 1:, :]


def _svd_gaps(s: Any) -> Any:
    """F_ij = 1/(s_j^2 - s_i^2), 0 on the diagonal and at degenerate pairs."""
    s2 = s * s
    return _gap_inverse(np.expand_dims(s2, -2) - np.expand_dims(s2, -1), _max_abs(s) ** 2)


def _svd_inv(s: Any) -> Any:
    scale = np.max(np.abs(np.asarray(plain(s))), axis=-1, keepdims=True)
    return _gap_inverse(s, scale)


def _svd_jvp(g: Any, ans: Any, a: Any) -> Any:
    m, n = shape_of(a)[-2:]
    k = min(m, n)
    u, s, v = _svd_unpack(ans, a)
    f = _svd_gaps(s)
    row, col = np.expand_dims(s, -2), np.expand_dims(s, -1)  # scale columns / rows by s
    p = la.mm(la.mm(_mT(u), g), v)
    pt = _mT(p)
    du = la.mm(u, f * (p * row + col * pt))
    dv = la.mm(v, f * (col * p + pt * row))
    if m > k:  # (I - U U^T) dA V S^-1
        du = du + (la.mm(g, v) - la.mm(u, p)) * np.expand_dims(_svd_inv(s), -2)
    if n > k:  # (I - V V^T) dA^T U S^-1
        du_ = la.mm(_mT(g), u) - la.mm(v, pt)
        dv = dv + du_ * np.expand_dims(_svd_inv(s), -2)
    return np.concatenate([du, np.expand_dims(_diag(p), -2), dv], axis=-2)


def _svd_vjp(g: Any, ans: Any, a: Any) -> Any:
    m, n = shape_of(a)[-2:]
    k = min(m, n)
    u, s, v = _svd_unpack(ans, a)
    ubar, sbar, vbar = _svd_unpack(g, a)
    f = _svd_gaps(s)
    row, col = np.expand_dims(s, -2), np.expand_dims(s, -1)
    utu = la.mm(_mT(u), ubar)
    vtv = la.mm(_mT(v), vbar)
    inner = (f * (utu - _mT(utu))) * row + _diag_embed(sbar) + col * (f * (vtv - _mT(vtv)))
    abar = la.mm(la.mm(u, inner), _mT(v))
    sinv = _svd_inv(s)
    if m > k:  # (I - U U^T) bar_U S^-1 V^T
        abar = abar + la.mm((ubar - la.mm(u, utu)) * np.expand_dims(sinv, -2), _mT(v))
    if n > k:  # U S^-1 bar_V^T (I - V V^T)
        abar = abar + la.mm(u * np.expand_dims(sinv, -2), _mT(vbar - la.mm(v, vtv)))
    return abar


def _tall(a: Any) -> tuple[int, int, int]:
    """(number of matrices, m, n) with m >= n: a wide matrix costs what its transpose does."""
    m, n = shape_of(a)[-2:]
    return (stack(a),) + ((m, n) if m >= n else (n, m))


def _svd_cost(a: Any) -> int:  # the reduced SVD: U1 (m, n), S, V
    c, m, n = _tall(a)
    return c * (14 * m * n * n + 8 * n ** 3)


svd = structural(_svd_fn, "svd", jvp=(_svd_jvp,), vjp=(_svd_vjp,),
                 cost=lambda ans, a: _svd_cost(a))


def _svd_parts(a: Any) -> tuple[Any, Any, Any]:
    """U, s, V^T of the reduced SVD, differentiable."""
    u, s, v = _svd_unpack(svd(a), a)
    return u, s, _mT(v)


def _svdvals_jvp(g: Any, ans: Any, a: Any) -> Any:
    u, _, vh = _svd_parts(a)
    return _diag(la.mm(la.mm(_mT(u), g), _mT(vh)))


def _svdvals_vjp(g: Any, ans: Any, a: Any) -> Any:
    u, _, vh = _svd_parts(a)
    return la.mm(u * np.expand_dims(g, -2), vh)


# ---- svd(full_matrices=True) of a non-square matrix: the extra singular vectors ---------------------
# The columns of U (m > n) or rows of Vh (m < n) beyond min(m, n) are any orthonormal basis of the
# complement: they are not a function of the matrix, so they have no derivative. Their value is
# numpy's basis; a rule asked for their derivative refuses instead of returning an arbitrary one.
def _complement_fn(a: Any) -> np.ndarray:
    m, n = np.shape(a)[-2:]
    u, _, vh = np.linalg.svd(a, full_matrices=True)
    return u[..., :, n:] if m > n else vh[..., m:, :]


def _complement_message(what: str) -> str:
    return (f"np.linalg.svd of a non-square matrix with full_matrices=True (numpy's default): the "
            f"{what} depends on the extra singular vectors (the columns of U, or rows of Vh, beyond "
            "min(m, n)), which are an arbitrary basis of the orthogonal complement and have no "
            "derivative. Pass full_matrices=False, or use only s and the first min(m, n) vectors.")


def _complement_jvp(g: Any, ans: Any, a: Any) -> Any:
    # Forward mode cannot know whether the tangent will be used: NaN marks it as undefined (so a
    # result that reads the extra vectors gets NaN, never an arbitrary number).
    return np.full(shape_of(g)[:_nb(g, a)] + shape_of(ans), np.nan)


def _complement_vjp(g: Any, ans: Any, a: Any) -> Any:
    # A traced cotangent (a derivative of this sweep is taken) may be zero here but not nearby:
    # returning a constant zero would drop that, so it is refused like a nonzero one.
    if isinstance(g, Traced) or np.any(np.asarray(plain(g)) != 0):
        raise TypeError(_complement_message("result"))
    return np.zeros(shape_of(g)[:_nb(g, ans)] + shape_of(a))


def _full_svd_cost(ans: Any, a: Any) -> int:  # U (m, m), S, V
    c, m, n = _tall(a)
    return c * (4 * m * m * n + 8 * m * n * n + 9 * n ** 3)


svd_complement = structural(_complement_fn, "svd_complement",
                            jvp=(_complement_jvp,), vjp=(_complement_vjp,), cost=_full_svd_cost)


# numpy computes singular values alone by another LAPACK path: its own primitive so values match.
def _svdvals_cost(ans: Any, a: Any) -> int:
    c, m, n = _tall(a)
    return c * (4 * m * n * n - thirds(4 * n ** 3))


svdvals = structural(lambda a: np.linalg.svd(a, compute_uv=False), "svdvals",
                     jvp=(_svdvals_jvp,), vjp=(_svdvals_vjp,), cost=_svdvals_cost)


# ---- qr: A = Q R (reduced, m >= n), packed as [Q; R] -----------------------------------------------
def _qr_fn(a: Any) -> np.ndarray:
    q, r = np.linalg.qr(a)
    return np.concatenate([q, r], axis=-2)


def _qr_unpack(p: Any, a: Any) -> tuple[Any, Any]:
    m = shape_of(a)[-2]
    return p[..., :m, :], p[..., m:, :]


def _right_solve(x: Any, r: Any) -> Any:
    """x R^-1."""
    return _mT(_solves(_mT(r), _mT(x)))


def _qr_jvp(g: Any, ans: Any, a: Any) -> Any:
    q, r = _qr_unpack(ans, a)
    n = shape_of(a)[-1]
    gr = _right_solve(g, r)  # dA R^-1
    c = la.mm(_mT(q), gr)
    low = c * np.tril(np.ones((n, n)), -1)
    omega = low - _mT(low)  # Q^T dQ, antisymmetric
    dr = la.mm(c - omega, r)
    dq = gr - la.mm(q, c - omega)
    return np.concatenate([dq, dr], axis=-2)


def _qr_vjp(g: Any, ans: Any, a: Any) -> Any:
    q, r = _qr_unpack(ans, a)
    qbar, rbar = _qr_unpack(g, a)
    n = shape_of(a)[-1]
    mm = la.mm(r, _mT(rbar)) - la.mm(_mT(qbar), q)
    low = mm * np.tril(np.ones((n, n)), -1)
    copyltu = mm * np.eye(n) + low + _mT(low)
    x = qbar + la.mm(q, copyltu)
    return _mT(_solves(r, _mT(x)))  # x R^-T


def _qr_cost(ans: Any, a: Any) -> int:
    m, n = shape_of(a)[-2:]
    k = min(m, n)
    factor = 2 * n * n * m - thirds(2 * n ** 3) if m >= n else 2 * m * m * n - thirds(2 * m ** 3)
    return stack(a) * (factor + 2 * k * k * m - thirds(2 * k ** 3))


qr = structural(_qr_fn, "qr", jvp=(_qr_jvp,), vjp=(_qr_vjp,), cost=_qr_cost)


# ---- pinv and lstsq: Golub & Pereyra, on the manifold of fixed rank -------------------------------
def _pinv_jvp(g: Any, ans: Any, a: Any, **kw: Any) -> Any:
    x, gt = ans, _mT(g)
    t1 = -la.mm(la.mm(x, g), x)
    t2 = la.mm(la.mm(x, _mT(x)), gt - la.mm(la.mm(gt, a), x))
    t3 = la.mm(gt - la.mm(la.mm(x, a), gt), la.mm(_mT(x), x))
    return t1 + t2 + t3


def _pinv_vjp(g: Any, ans: Any, a: Any, **kw: Any) -> Any:
    x, gt = ans, _mT(g)
    xt = _mT(x)
    a1 = -la.mm(la.mm(xt, g), xt)
    a2 = la.mm(gt - la.mm(a, la.mm(x, gt)), la.mm(x, xt))
    a3 = la.mm(la.mm(xt, x), gt - la.mm(la.mm(gt, x), a))
    return a1 + a2 + a3


def _pinv_cost(ans: Any, a: Any, hermitian: bool = False, **kw: Any) -> int:
    m, n = shape_of(a)[-2:]
    product = stack(a) * 2 * m * n * min(m, n)
    return product + (stack(a) * 9 * n ** 3 if hermitian else _svd_cost(a))


pinv = structural(lambda a, **kw: np.linalg.pinv(a, **kw), "pinv", jvp=(_pinv_jvp,), vjp=(_pinv_vjp,),
                  cost=_pinv_cost)


# x = pinv(a) b with b a (m, k) matrix; the rules use X = pinv(a) at lstsq's cutoff.
def _lstsq_pinv(a: Any, rcond: Any) -> Any:
    m, n = shape_of(a)[-2:]
    return pinv(a, rcond=np.finfo(float).eps * max(m, n) if rcond is None else rcond)


def _lstsq_jvp_a(g: Any, ans: Any, a: Any, b: Any, rcond: Any) -> Any:
    x, gt = _lstsq_pinv(a, rcond), _mT(g)
    r = b - la.mm(a, ans)
    w = la.mm(gt, la.mm(_mT(x), ans))
    return (-la.mm(x, la.mm(g, ans)) + la.mm(x, la.mm(_mT(x), la.mm(gt, r)))
            + w - la.mm(x, la.mm(a, w)))


def _lstsq_vjp_a(g: Any, ans: Any, a: Any, b: Any, rcond: Any) -> Any:
    x = _lstsq_pinv(a, rcond)
    xt = _mT(x)
    r = b - la.mm(a, ans)
    return (-la.mm(la.mm(xt, g), _mT(ans)) + la.mm(r, _mT(la.mm(x, la.mm(xt, g))))
            + la.mm(la.mm(xt, ans), _mT(g - la.mm(x, la.mm(a, g)))))


def _lstsq_cost(a: Any, b: Any) -> int:
    c, m, n = _tall(a)
    return c * (4 * m * n * n + 8 * n ** 3 + 2 * (m + n) * n * shape_of(b)[-1])


lstsq = structural(
    lambda a, b, rcond: np.linalg.lstsq(a, b, rcond=rcond)[0], "lstsq",
    jvp=(_lstsq_jvp_a, lambda g, ans, a, b, rcond: la.mm(_lstsq_pinv(a, rcond), g)),
    vjp=(_lstsq_vjp_a, lambda g, ans, a, b, rcond: la.mm(_mT(_lstsq_pinv(a, rcond)), g)),
    cost=lambda ans, a, b, rcond: _lstsq_cost(a, b),
)

DECOMPOSITIONS = (solve, det, slogdet, cholesky, eigh, eigvalsh, svd, svd_complement, svdvals, qr, pinv,
                  lstsq)


# ---- numpy bindings ------------------------------------------------------------------------------------
def _solve(a: Any, b: Any) -> Any:
    _real("solve", a, b)
    _square("solve", a)
    if len(shape_of(b)) == 1:  # numpy: b is a vector only when it is 1-D
        return solve(a, np.expand_dims(b, -1))[..., 0]
    return solve(a, b)


def _inv_handler(a: Any) -> Any:
    _real("inv", a)
    _square("inv", a)
    return _inv(a)


def _det(a: Any) -> Any:
    _real("det", a)
    _square("det", a)
    return det(a)


def _slogdet(a: Any) -> Any:
    _real("slogdet", a)
    _square("slogdet", a)
    sign = np.linalg.slogdet(np.asarray(plain(a)))[0]  # piecewise constant: no derivative
    return _LinAlgResults.SlogdetResult(sign, slogdet(a))


def _cholesky(a: Any, upper: bool = False) -> Any:
    _real("cholesky", a)
    _square("cholesky", a)
    if upper:  # reads the upper triangle: the lower one of a^T
        return _mT(cholesky(_mT(a)))
    return cholesky(a)


def _uplo(name: str, a: Any, UPLO: str) -> Any:
    _real(name, a)
    _square(name, a)
    if UPLO not in ("L", "U"):
        raise ValueError(f"np.linalg.{name}: UPLO must be 'L' or 'U', got {UPLO!r}")
    return a if UPLO == "L" else _mT(a)


def _eigh(a: Any, UPLO: str = "L") -> Any:
    return _LinAlgResults.EighResult(*_eigh_parts(_uplo("eigh", a, UPLO)))


def _eigvalsh(a: Any, UPLO: str = "L") -> Any:
    return eigvalsh(_uplo("eigvalsh", a, UPLO))


def _svd(a: Any, full_matrices: bool = True, compute_uv: bool = True, hermitian: bool = False) -> Any:
    _real("svd", a)
    s = shape_of(a)
    if len(s) < 2:
        raise np.linalg.LinAlgError(f"np.linalg.svd: expected a (..., m, n) array, got shape {s}")
    if hermitian:
        raise TypeError("np.linalg.svd(..., hermitian=True) is not supported on traced values; drop "
                        "hermitian= (or use np.linalg.eigh for a symmetric matrix)")
    if not compute_uv:
        return svdvals(a)
    u, sv, vh = _svd_parts(a)
    if full_matrices and s[-1] != s[-2]:  # numpy's complement basis, with no derivative
        k = min(s[-2:])
        u0, _, vh0 = np.linalg.svd(np.asarray(plain(a)), full_matrices=True)
        u, vh = _snap(u, u0[..., :, :k]), _snap(vh, vh0[..., :k, :])
        extra = svd_complement(a)
        if s[-2] > s[-1]:
            u = np.concatenate([u, extra], axis=-1)
        else:
            vh = np.concatenate([vh, extra], axis=-2)
    return _LinAlgResults.SVDResult(u, sv, vh)


def _snap(x: Any, x0: np.ndarray) -> Any:
    """x moved onto numpy's value x0 by a constant shift, when LAPACK's full and reduced paths differ
    only by rounding (x + (x0 - x) is x0 exactly then); the derivative is x's."""
    d = x0 - np.asarray(plain(x))
    return x + d if np.max(np.abs(d), initial=0.0) <= 1e-12 * np.max(np.abs(x0), initial=1.0) else x


def _svdvals(x: Any) -> Any:
    return _svd(x, compute_uv=False)


def _qr(a: Any, mode: str = "reduced") -> Any:
    _real("qr", a)
    s = shape_of(a)
    if len(s) < 2:
        raise np.linalg.LinAlgError(f"np.linalg.qr: expected a (..., m, n) array, got shape {s}")
    m, n = s[-2:]
    if mode not in ("reduced", "r", "complete") or (mode == "complete" and m > n):
        raise TypeError(f"np.linalg.qr(..., mode={mode!r}) is not supported on traced values; use "
                        "mode='reduced' (or 'r')")
    if m < n:  # [X | Y] = Q [R1 | Q^T Y] with X = Q R1 square: smooth where X is invertible
        x, y = a[..., :, :m], a[..., :, m:]
        q, r1 = _qr_unpack(qr(x), x)
        q0, r0 = np.linalg.qr(np.asarray(plain(a)))
        q, r1 = _snap(q, q0), _snap(r1, r0[..., :, :m])
        r = np.concatenate([r1, _snap(np.matmul(_mT(q), y), r0[..., :, m:])], axis=-1)
        return r if mode == "r" else _LinAlgResults.QRResult(q, r)
    q, r = _qr_unpack(qr(a), a)
    return r if mode == "r" else _LinAlgResults.QRResult(q, r)


def _pinv(a: Any, rcond: Any = None, hermitian: bool = False, **kwargs: Any) -> Any:
    _real("pinv", a)
    kw = dict(kwargs)
    if rcond is not None:
        kw["rcond"] = rcond
    if hermitian:
        kw["hermitian"] = True
    return pinv(a, **kw)


def _lstsq(a: Any, b: Any, rcond: Any = None) -> Any:
    _real("lstsq", a, b)
    sa, sb = shape_of(a), shape_of(b)
    if len(sa) != 2 or len(sb) not in (1, 2):
        raise np.linalg.LinAlgError(f"np.linalg.lstsq: expected a (m, n) matrix and an (m,) or (m, k) "
                                    f"right-hand side, got shapes {sa} and {sb}")
    vector = len(sb) == 1
    x = lstsq(a, np.expand_dims(b, -1) if vector else b, rcond=rcond)
    _, _, rank, _ = np.linalg.lstsq(np.asarray(plain(a)), np.asarray(plain(b)), rcond=rcond)
    m, n = sa
    if rank == n and m > n:
        r = b - np.matmul(a, x[..., 0] if vector else x)
        resid = np.sum(r * r, axis=0)
        resid = np.reshape(resid, (1,)) if vector else resid
    else:
        resid = np.zeros((0,))
    return (x[..., 0] if vector else x), resid, rank, svdvals(a)


def _matrix_power(a: Any, n: int) -> Any:
    """numpy's binary decomposition, so values agree with numpy to the last bit."""
    _square("matrix_power", a)
    n = operator.index(n)
    if n == 0:
        return np.broadcast_to(_eye(shape_of(a)[-1]), shape_of(a)).copy()
    if n < 0:
        a, n = _inv_handler(a), -n
    if n == 1:
        return a
    if n == 2:
        return la.matmul(a, a)
    if n == 3:
        return la.matmul(la.matmul(a, a), a)
    z = result = None
    while n > 0:
        z = a if z is None else la.matmul(z, z)
        n, bit = divmod(n, 2)
        if bit:
            result = z if result is None else la.matmul(result, z)
    return result


def _cond(x: Any, p: Any = None) -> Any:
    """numpy's definitions: singular values for p in (None, 2, -2), else norm(x) * norm(inv(x))."""
    _real("cond", x)
    s = shape_of(x)
    if len(s) < 2:
        raise np.linalg.LinAlgError(f"np.linalg.cond: expected a (..., m, n) array, got shape {s}")
    if p is None or (not isinstance(p, str) and p in (2, -2)):
        sv = svdvals(x)
        return sv[..., -1] / sv[..., 0] if p == -2 else sv[..., 0] / sv[..., -1]
    _square("cond", x)  # a singular matrix raises numpy's LinAlgError (the condition number is inf)
    return _norm(x, p, axis=(-2, -1)) * _norm(_inv_handler(x), p, axis=(-2, -1))


def _tensorsolve(a: Any, b: Any, axes: Any = None) -> Any:
    """numpy's reshape of a to a square matrix, then solve."""
    _real("tensorsolve", a, b)
    an = len(shape_of(a))
    if axes is not None:
        allaxes = list(range(an))
        for k in axes:
            allaxes.remove(k)
            allaxes.insert(an, k)
        a = np.transpose(a, allaxes)
    oldshape = shape_of(a)[-(an - len(shape_of(b))):]
    prod = int(np.prod(oldshape))
    if int(np.prod(shape_of(a))) != prod ** 2:
        raise np.linalg.LinAlgError(
            f"np.linalg.tensorsolve: input arrays must satisfy prod(a.shape[b.ndim:]) == "
            f"prod(a.shape[:b.ndim]), got shapes {shape_of(a)} and {shape_of(b)}")
    x = solve(np.reshape(a, (prod, prod)), np.reshape(b, (prod, 1)))
    return np.reshape(x, oldshape)


def _tensorinv(a: Any, ind: int = 2) -> Any:
    """numpy's reshape of a to a square matrix, then inv."""
    _real("tensorinv", a)
    if ind <= 0:
        raise ValueError("Invalid ind argument.")
    oldshape = shape_of(a)
    invshape = oldshape[ind:] + oldshape[:ind]
    prod = int(np.prod(oldshape[ind:]))
    return np.reshape(_inv_handler(np.reshape(a, (prod, -1))), invshape)


def _chain_order(dims: list[int]) -> list[list[int]]:
    """numpy's optimal parenthesisation of a matrix chain (same tie-breaking)."""
    n = len(dims) - 1
    cost = [[0] * n for _ in range(n)]
    split = [[0] * n for _ in range(n)]
    for length in range(1, n):
        for i in range(n - length):
            j = i + length
            cost[i][j] = np.inf  # type: ignore[call-overload]
            for k in range(i, j):
                c = cost[i][k] + cost[k + 1][j] + dims[i] * dims[k + 1] * dims[j + 1]
                if c < cost[i][j]:
                    cost[i][j], split[i][j] = c, k
    return split


def _multi_dot(arrays: Any, *, out: Any = None) -> Any:
    """numpy's evaluation order (three matrices by cost, more by the chain order), on matmul."""
    if out is not None:
        raise TypeError("np.linalg.multi_dot(..., out=...) writes in place; drop out=.")
    arrays = list(arrays)
    if len(arrays) < 2:
        raise ValueError("Expecting at least two arrays.")
    if len(arrays) == 2:
        return la.matmul(arrays[0], arrays[1])
    first, last = len(shape_of(arrays[0])), len(shape_of(arrays[-1]))
    if first == 1:
        arrays[0] = np.reshape(arrays[0], (1, -1))
    if last == 1:
        arrays[-1] = np.reshape(arrays[-1], (-1, 1))
    if len(arrays) == 3:
        a, b, c = arrays
        (a0, a1), (b1,), (c1,) = shape_of(a), shape_of(b)[1:], shape_of(c)[1:]
        cost1 = a0 * b1 * (a1 + c1)
        cost2 = a1 * c1 * (a0 + b1)
        res = la.matmul(la.matmul(a, b), c) if cost1 < cost2 else la.matmul(a, la.matmul(b, c))
    else:
        split = _chain_order([shape_of(x)[0] for x in arrays] + [shape_of(arrays[-1])[1]])

        def chain(i: int, j: int) -> Any:
            return arrays[i] if i == j else la.matmul(chain(i, split[i][j]), chain(split[i][j] + 1, j))

        res = chain(0, len(arrays) - 1)
    if first == 1 and last == 1:
        return res[0, 0]
    if first == 1 or last == 1:
        return np.reshape(res, (-1,))
    return res


# ---- norms ---------------------------------------------------------------------------------------------
def _vector_norm(x: Any, ord: Any, axis: tuple[int, ...] | None, keepdims: bool) -> Any:
    if ord is None or ord == 2:
        return la.l2norm(x, axis=axis, keepdims=keepdims)
    if isinstance(ord, str):
        raise ValueError(f"Invalid norm order {ord!r} for vectors")
    if ord == 0:  # the number of non-zero entries: piecewise constant
        return np.sum(np.asarray(plain(x)) != 0, axis=axis, keepdims=keepdims).astype(float)
    a = ew.absolute(x)
    if ord == np.inf:
        return st.max_(a, axis=axis, keepdims=keepdims)
    if ord == -np.inf:
        return st.min_(a, axis=axis, keepdims=keepdims)
    if ord == 1:
        return st.sum_(a, axis=axis, keepdims=keepdims)
    p = float(ord)
    return ew.power(st.sum_(ew.power(a, p), axis=axis, keepdims=keepdims), 1.0 / p)


def _matrix_norm_axes(x: Any, ord: Any, row: int, col: int) -> Any:
    if ord in (2, -2, "nuc"):
        s = svdvals(np.moveaxis(x, (row, col), (-2, -1)))
        last = (len(shape_of(s)) - 1,)
        red = {2: st.max_, -2: st.min_, "nuc": st.sum_}[ord]
        return red(s, axis=last, keepdims=False)
    if ord in (None, "fro"):
        return la.l2norm(x, axis=tuple(sorted((row, col))), keepdims=False)
    if ord in (1, -1):  # max/min column sum
        inner, outer = row, col if col < row else col - 1
    elif ord in (np.inf, -np.inf):  # max/min row sum
        inner, outer = col, row if row < col else row - 1
    else:
        raise ValueError(f"Invalid norm order {ord!r} for matrices")
    sums = st.sum_(ew.absolute(x), axis=(inner,), keepdims=False)
    red = st.max_ if ord in (1, np.inf) else st.min_
    return red(sums, axis=(outer,), keepdims=False)


def _norm(x: Any, ord: Any = None, axis: Any = None, keepdims: bool = False) -> Any:
    _real("norm", x)
    shape = shape_of(x)
    nd = len(shape)
    if axis is None:
        if ord is None:
            return la.l2norm(x, axis=None, keepdims=bool(keepdims))
        if nd not in (1, 2):
            raise ValueError("Improper number of dimensions to norm.")
        axis = tuple(range(nd))
    elif isinstance(axis, (int, np.integer)):
        axis = (axis,)
    axis = tuple(operator.index(i) for i in axis)
    for i in axis:
        if not -nd <= i < nd:
            raise np.exceptions.AxisError(i, nd)
    axis = tuple(i % nd for i in axis)
    if len(axis) == 1:
        return _vector_norm(x, ord, axis, bool(keepdims))
    if len(axis) != 2:
        raise ValueError("Improper number of dimensions to norm.")
    row, col = axis
    if row == col:
        raise ValueError("Duplicate axes given.")
    res = _matrix_norm_axes(x, ord, row, col)
    if keepdims:
        res = np.reshape(res, tuple(1 if i in axis else n for i, n in enumerate(shape)))
    return res


def _matrix_norm(x: Any, /, *, keepdims: bool = False, ord: Any = "fro") -> Any:
    return _norm(x, ord=ord, axis=(-2, -1), keepdims=keepdims)


def _vector_norm_handler(x: Any, /, *, axis: Any = None, keepdims: bool = False, ord: Any = 2) -> Any:
    """The reduced axes (all when ``axis=None``) are moved last and flattened into one."""
    _real("vector_norm", x)
    shape = shape_of(x)
    nd = len(shape)
    if isinstance(axis, (int, np.integer)):
        return _vector_norm(x, ord, (operator.index(axis) % nd,), bool(keepdims))
    axes = tuple(range(nd)) if axis is None else tuple(operator.index(i) % nd for i in axis)
    rest = tuple(n for i, n in enumerate(shape) if i not in axes)
    flat = np.reshape(np.moveaxis(x, axes, tuple(range(nd - len(axes), nd))), rest + (-1,))
    res = _vector_norm(flat, ord, (len(rest),), False)
    if keepdims:
        res = np.reshape(res, tuple(1 if i in axes else n for i, n in enumerate(shape)))
    return res


# ---- trace: a gather of the diagonal, then a sum ---------------------------------------------------
def _trace(a: Any, offset: int = 0, axis1: int = 0, axis2: int = 1, dtype: Any = None,
           out: Any = None) -> Any:
    if out is not None:
        raise TypeError("np.trace(..., out=...) writes in place; drop out=.")
    shape = shape_of(a)
    nd = len(shape)
    if nd < 2:
        raise ValueError("diag requires an array of at least two dimensions")
    i1, i2 = operator.index(axis1) % nd, operator.index(axis2) % nd
    if i1 == i2:
        raise ValueError("axis1 and axis2 cannot be the same")
    moved = np.moveaxis(a, (i1, i2), (-2, -1)) if (i1, i2) != (nd - 2, nd - 1) else a
    n1, n2 = shape[i1], shape[i2]
    offset = operator.index(offset)
    length = max(0, min(n1, n2 - offset) if offset >= 0 else min(n1 + offset, n2))
    rows = np.arange(length) + max(0, -offset)
    cols = np.arange(length) + max(0, offset)
    d = st.getitem(moved, index=(slice(None),) * (nd - 2) + (rows, cols))
    return st.sum_(d, axis=(nd - 2,), keepdims=False)


def _plain_only(func: Any) -> Any:
    def handler(*args: Any, **kwargs: Any) -> Any:
        return func(*(plain(x) for x in args), **{k: plain(v) for k, v in kwargs.items()})

    return handler


FUNC.update({
    np.linalg.solve: _solve,
    np.linalg.inv: _inv_handler,
    np.linalg.det: _det,
    np.linalg.slogdet: _slogdet,
    np.linalg.cholesky: _cholesky,
    np.linalg.eigh: _eigh,
    np.linalg.eigvalsh: _eigvalsh,
    np.linalg.svd: _svd,
    np.linalg.qr: _qr,
    np.linalg.pinv: _pinv,
    np.linalg.lstsq: _lstsq,
    np.linalg.matrix_power: _matrix_power,
    np.linalg.multi_dot: _multi_dot,
    np.linalg.norm: _norm,
    np.linalg.cond: _cond,
    np.linalg.tensorsolve: _tensorsolve,
    np.linalg.tensorinv: _tensorinv,
    np.trace: _trace,
    # piecewise constant in the matrix: no derivative
    np.linalg.matrix_rank: _plain_only(np.linalg.matrix_rank),
})
for _name, _handler in (("svdvals", _svdvals), ("matrix_norm", _matrix_norm),
                        ("vector_norm", _vector_norm_handler)):
    if hasattr(np.linalg, _name):  # numpy >= 2.0
        FUNC[getattr(np.linalg, _name)] = _handler
