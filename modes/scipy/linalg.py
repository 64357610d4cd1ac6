"""Drop-ins for ``scipy.linalg``: ``solve_triangular cho_factor cho_solve expm inv det solve cholesky
eigh svd norm sqrtm solve_sylvester``.

scipy converts its inputs with ``np.asarray``, so numpy's dispatch never reaches scipy's own
functions; use these instead (``import modes.scipy.linalg as sla``). On plain arrays each returns
exactly what scipy returns; on traced values it is differentiable in both modes.

* ``solve_triangular`` is a primitive (scipy's triangular solve, so values agree with scipy): the
  gradient with respect to ``a`` lives on the triangle scipy reads (strictly, with
  ``unit_diagonal=True``). ``trans`` may be 0/'N', 1/'T' or 2/'C' (real input: 'C' is 'T').
* ``cho_factor`` is ``np.linalg.cholesky`` (bit-for-bit LAPACK's factor). On traced values the
  triangle scipy leaves as arbitrary data is 0. It reads one triangle of ``a`` (the upper one by
  default, as scipy does), so its gradient lives there. A non-SPD matrix raises ``LinAlgError``.
* ``cho_solve`` is two triangular solves with the factor's triangle.
* ``expm`` is a primitive (scipy's Padé scaling and squaring) whose Fréchet derivative comes from
  the block identity ``expm([[A, E], [0, A]]) = [[e^A, L(A, E)], [0, e^A]]``; the cotangent map is
  ``L(A^T, G)``. Both are expm again, so every order is available.
* ``inv``, ``solve`` (``assume_a``, ``lower``, ``transposed``) read the part of ``a`` scipy reads
  (one triangle for 'sym'/'pos'/triangular, the diagonal, the band) and are np.linalg.inv/solve of
  that matrix, so the gradient with respect to ``a`` lives there. ``det``, ``norm``, ``svd`` are
  numpy's (``svd`` of a non-square matrix needs ``full_matrices=False`` on traced values).
* ``cholesky`` defaults to ``lower=False`` as scipy (the upper factor, reading the upper triangle).
* ``eigh`` reads the ``lower`` triangle (default True); with ``b`` it solves the generalized problem
  ``A v = w B v`` (type 1) through ``B = L L^T``. Eigenvectors are determined up to sign: on traced
  values they are numpy's, whose signs may differ from scipy's.
* ``sqrtm`` is a primitive (scipy's value) whose derivative solves the Sylvester equation
  ``X dX + dX X = dA``; ``solve_sylvester`` solves ``A X + X B = Q`` as one linear system
  ``(A (x) I + I (x) B^T) vec X = vec Q`` (n^2 unknowns: for small matrices). A matrix whose square
  root is complex raises.

Cost of the three primitives (``modes.flops``; leading-order flops, a multiply-add is 2, times the
number of matrices in the stack): ``solve_triangular`` n^2 per right-hand side (Golub & Van Loan,
"Matrix Computations", 3rd ed., Sec. 3.1); ``expm`` 44n^3/3, the degree-13 Pade stage of scaling and
squaring (Higham 2005: 6 products and a solve with n right-hand sides), without the squarings,
whose number depends on the norm (values), not on the shape; ``sqrtm`` 85n^3/3, the Schur method
(Higham, "Functions of Matrices", 2008, Alg. 6.3: 25n^3 Schur form, n^3/3 triangular root, 3n^3
back-transformation). The others are compositions, counted by their primitives.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.linalg as _sl

from ..flops import per_matrix, stack, thirds
from ..primitives.bind import structural
from ..primitives.decompositions import _cholesky, _mT
from ..primitives.structural import _nb
from ..registry import Traced, plain
from ..unbroadcast import expand_tangent, shape_of, unbroadcast

__all__ = ["solve_triangular", "cho_factor", "cho_solve", "expm", "inv", "det", "solve", "cholesky",
           "eigh", "svd", "norm", "sqrtm", "solve_sylvester"]


def _traced(*xs: Any) -> bool:
    return any(isinstance(x, Traced) for x in xs)


def _real(name: str, *xs: Any) -> None:
    for x in xs:
        if np.iscomplexobj(plain(x)):
            raise TypeError(f"modes.scipy.linalg.{name}: complex input is not supported; pass real "
                            "float arrays")


# ---- solve_triangular: X = op(T)^-1 B, T the triangle of a that scipy reads ------------------------
def _tri_mask(n: int, lower: bool, unit_diagonal: bool) -> np.ndarray:
    k = 1 if unit_diagonal else 0
    return np.tril(np.ones((n, n)), -k) if lower else np.triu(np.ones((n, n)), k)


def _op(x: Any, trans: int) -> Any:
    return _mT(x) if trans else x


def _st_jvp_a(g: Any, ans: Any, a: Any, b: Any, trans: int, lower: bool, unit_diagonal: bool) -> Any:
    dt = g * _tri_mask(shape_of(a)[-1], lower, unit_diagonal)
    dt = expand_tangent(dt, len(shape_of(ans)), _nb(g, a))
    return -_solve_tri(a, np.matmul(_op(dt, trans), ans), trans=trans, lower=lower,
                       unit_diagonal=unit_diagonal)


def _st_jvp_b(g: Any, ans: Any, a: Any, b: Any, trans: int, lower: bool, unit_diagonal: bool) -> Any:
    return _solve_tri(a, expand_tangent(g, len(shape_of(ans)), _nb(g, b)), trans=trans, lower=lower,
                      unit_diagonal=unit_diagonal)


def _st_bbar(g: Any, a: Any, trans: int, lower: bool, unit_diagonal: bool) -> Any:
    return _solve_tri(a, g, trans=1 - trans, lower=lower, unit_diagonal=unit_diagonal)


def _st_vjp_a(g: Any, ans: Any, a: Any, b: Any, trans: int, lower: bool, unit_diagonal: bool) -> Any:
    nb = _nb(g, ans)
    bbar = _st_bbar(g, a, trans, lower, unit_diagonal)
    outer = np.matmul(ans, _mT(bbar)) if trans else np.matmul(bbar, _mT(ans))
    abar = -outer * _tri_mask(shape_of(a)[-1], lower, unit_diagonal)
    return unbroadcast(abar, shape_of(g)[:nb] + shape_of(a), nb)


def _st_vjp_b(g: Any, ans: Any, a: Any, b: Any, trans: int, lower: bool, unit_diagonal: bool) -> Any:
    nb = _nb(g, ans)
    return unbroadcast(_st_bbar(g, a, trans, lower, unit_diagonal), shape_of(g)[:nb] + shape_of(b), nb)


_solve_tri = structural(
    lambda a, b, trans, lower, unit_diagonal: _sl.solve_triangular(
        a, b, trans=trans, lower=lower, unit_diagonal=unit_diagonal),
    "solve_triangular",
    jvp=(_st_jvp_a, _st_jvp_b),
    vjp=(_st_vjp_a, _st_vjp_b),
    cost=lambda ans, a, b, trans, lower, unit_diagonal: stack(a, b) * shape_of(b)[-2] ** 2 * shape_of(b)[-1],
)

_TRANS = {0: 0, "N": 0, 1: 1, "T": 1, 2: 1, "C": 1}


def solve_triangular(a: Any, b: Any, trans: Any = 0, lower: bool = False, unit_diagonal: bool = False,
                     overwrite_b: bool = False, check_finite: bool = True) -> Any:
    """scipy.linalg.solve_triangular: ``a`` (..., n, n), ``b`` (n,) or (..., n, k)."""
    if not _traced(a, b):
        return _sl.solve_triangular(a, b, trans=trans, lower=lower, unit_diagonal=unit_diagonal,
                                    overwrite_b=overwrite_b, check_finite=check_finite)
    _real("solve_triangular", a, b)
    if trans not in _TRANS:
        raise ValueError(f"modes.scipy.linalg.solve_triangular: trans must be 0, 1, 2, 'N', 'T' or "
                         f"'C', got {trans!r}")
    kw = {"trans": _TRANS[trans], "lower": bool(lower), "unit_diagonal": bool(unit_diagonal)}
    if len(shape_of(b)) == 1:
        return _solve_tri(a, np.expand_dims(b, -1), **kw)[..., 0]
    return _solve_tri(a, b, **kw)


# ---- Cholesky factor and solve ---------------------------------------------------------------------
def cho_factor(a: Any, lower: bool = False, overwrite_a: bool = False,
               check_finite: bool = True) -> tuple[Any, bool]:
    """scipy.linalg.cho_factor: ``(c, lower)``, c's other triangle 0 on traced values."""
    if not _traced(a):
        return _sl.cho_factor(a, lower=lower, overwrite_a=overwrite_a, check_finite=check_finite)
    _real("cho_factor", a)
    return _cholesky(a, upper=not lower), bool(lower)


def cho_solve(c_and_lower: tuple[Any, bool], b: Any, overwrite_b: bool = False,
              check_finite: bool = True) -> Any:
    """scipy.linalg.cho_solve: solves ``A x = b`` given ``cho_factor(A)``."""
    c, lower = c_and_lower
    if not _traced(c, b):
        return _sl.cho_solve((c, lower), b, overwrite_b=overwrite_b, check_finite=check_finite)
    # A = L L^T (lower) or U^T U (upper): the same two solves scipy's potrs does.
    first, second = (0, 1) if lower else (1, 0)
    y = solve_triangular(c, b, trans=first, lower=lower)
    return solve_triangular(c, y, trans=second, lower=lower)


# ---- expm ------------------------------------------------------------------------------------------
def _frechet(a: Any, e: Any) -> Any:
    """L(A, E) by the block identity; ``e`` may carry leading batch axes."""
    n = shape_of(a)[-1]
    a = np.broadcast_to(a, shape_of(e)) if shape_of(a) != shape_of(e) else a
    zero = np.zeros(shape_of(e))
    block = np.concatenate([np.concatenate([a, e], axis=-1), np.concatenate([zero, a], axis=-1)],
                           axis=-2)
    return expm(block)[..., :n, n:]


_expm = structural(
    lambda a: _sl.expm(a), "expm",
    jvp=(lambda g, ans, a: _frechet(a, g),),
    vjp=(lambda g, ans, a: _frechet(_mT(a), g),),
    cost=per_matrix(lambda n: thirds(44 * n ** 3)),
)


def expm(A: Any) -> Any:
    """scipy.linalg.expm of a (..., n, n) array."""
    if not _traced(A):
        return _sl.expm(A)
    _real("expm", A)
    s = shape_of(A)
    if len(s) < 2 or s[-1] != s[-2]:
        raise ValueError(f"modes.scipy.linalg.expm: expected a (..., n, n) array, got shape {s}")
    return _expm(A)


# ---- inv, det, solve: the matrix scipy reads ---------------------------------------------------------
_SYMMETRIC = {"sym", "symmetric", "her", "hermitian", "pos", "positive definite"}
_ASSUME = _SYMMETRIC | {None, "gen", "general", "diagonal", "tridiagonal", "banded",
                        "upper triangular", "lower triangular"}


def _band_mask(n: int, below: int, above: int) -> np.ndarray:
    i, j = np.indices((n, n))
    return ((i - j <= below) & (j - i <= above)).astype(np.float64)


_INV_ASSUME = _ASSUME - {"tridiagonal", "banded", "symmetric", "hermitian", "positive definite"}


def _as_read(name: str, a: Any, assume_a: Any, lower: bool, allowed: set = _ASSUME) -> Any:
    """The matrix scipy's ``name(a, assume_a=..., lower=...)`` works with: only the entries it reads."""
    if assume_a not in allowed:
        raise ValueError(f"modes.scipy.linalg.{name}: assume_a={assume_a!r} is not one of "
                         f"{sorted(x for x in allowed if x)}")
    s = shape_of(a)
    if len(s) < 2 or s[-1] != s[-2]:
        raise ValueError(f"modes.scipy.linalg.{name}: expected a square (..., n, n) array, got "
                         f"shape {s}")
    n = s[-1]
    eye = np.eye(n)
    if assume_a in _SYMMETRIC:
        tri = np.tril(a) if lower else np.triu(a)
        full = tri + _mT(tri) - tri * eye
        if assume_a in ("pos", "positive definite"):
            np.linalg.cholesky(np.asarray(plain(full)))  # LinAlgError unless positive definite
        return full
    if assume_a == "upper triangular":
        return np.triu(a)
    if assume_a == "lower triangular":
        return np.tril(a)
    if assume_a == "diagonal":
        return a * eye
    if assume_a == "tridiagonal":
        return a * _band_mask(n, 1, 1)
    if assume_a == "banded":  # the bandwidths scipy detects from the nonzero entries
        i, j = np.nonzero(np.any(np.asarray(plain(a)) != 0, axis=tuple(range(len(s) - 2))))
        below = int(np.max(i - j, initial=0))
        above = int(np.max(j - i, initial=0))
        return a * _band_mask(n, below, above)
    return a


def inv(a: Any, overwrite_a: bool = False, check_finite: bool = True, *, assume_a: Any = None,
        lower: bool = False) -> Any:
    """scipy.linalg.inv of a (..., n, n) array."""
    if not _traced(a):
        return _sl.inv(a, overwrite_a=overwrite_a, check_finite=check_finite, assume_a=assume_a,
                       lower=lower)
    _real("inv", a)
    return np.linalg.inv(_as_read("inv", a, assume_a, lower, _INV_ASSUME))


def det(a: Any, overwrite_a: bool = False, check_finite: bool = True) -> Any:
    """scipy.linalg.det of a (..., n, n) array."""
    if not _traced(a):
        return _sl.det(a, overwrite_a=overwrite_a, check_finite=check_finite)
    _real("det", a)
    return np.linalg.det(a)


def solve(a: Any, b: Any, lower: bool = False, overwrite_a: bool = False, overwrite_b: bool = False,
          check_finite: bool = True, assume_a: Any = None, transposed: bool = False) -> Any:
    """scipy.linalg.solve: ``a`` (n, n), ``b`` (n,) or (n, k); ``a.T x = b`` if ``transposed``."""
    if not _traced(a, b):
        return _sl.solve(a, b, lower=lower, overwrite_a=overwrite_a, overwrite_b=overwrite_b,
                         check_finite=check_finite, assume_a=assume_a, transposed=transposed)
    _real("solve", a, b)
    full = _as_read("solve", a, assume_a, lower)
    return np.linalg.solve(_mT(full) if transposed else full, b)


# ---- cholesky, eigh, svd, norm -------------------------------------------------------------------------
def cholesky(a: Any, lower: bool = False, overwrite_a: bool = False, check_finite: bool = True) -> Any:
    """scipy.linalg.cholesky: the upper factor ``U`` (``a = U^T U``) unless ``lower=True``."""
    if not _traced(a):
        return _sl.cholesky(a, lower=lower, overwrite_a=overwrite_a, check_finite=check_finite)
    _real("cholesky", a)
    return _cholesky(a, upper=not lower)


def eigh(a: Any, b: Any = None, *, lower: bool = True, eigvals_only: bool = False,
         overwrite_a: bool = False, overwrite_b: bool = False, type: int = 1,
         check_finite: bool = True, subset_by_index: Any = None, subset_by_value: Any = None,
         driver: Any = None) -> Any:
    """scipy.linalg.eigh: ``w`` (ascending) or ``(w, v)``; with ``b``, ``a v = w b v``, v^T b v = I."""
    if not _traced(a, b):
        return _sl.eigh(a, b, lower=lower, eigvals_only=eigvals_only, overwrite_a=overwrite_a,
                        overwrite_b=overwrite_b, type=type, check_finite=check_finite,
                        subset_by_index=subset_by_index, subset_by_value=subset_by_value,
                        driver=driver)
    _real("eigh", a, b if b is not None else 0.0)
    if subset_by_index is not None or subset_by_value is not None or type != 1:
        raise TypeError("modes.scipy.linalg.eigh: subset_by_index, subset_by_value and type != 1 "
                        "are not supported on traced values; compute all eigenpairs and select")
    uplo = "L" if lower else "U"
    if b is None:
        if eigvals_only:
            return np.linalg.eigvalsh(a, UPLO=uplo)
        return tuple(np.linalg.eigh(a, UPLO=uplo))
    # B = L L^T: A v = w B v  <=>  C u = w u with C = L^-1 A L^-T (A as read: its lower triangle),
    # u = L^T v.
    chol = _cholesky(b if lower else _mT(b))
    full = _as_read("eigh", a, "sym", lower)
    c = solve_triangular(chol, _mT(solve_triangular(chol, full, lower=True)), lower=True)
    if eigvals_only:
        return np.linalg.eigvalsh(c)
    w, u = np.linalg.eigh(c)
    return w, solve_triangular(chol, u, trans=1, lower=True)


def svd(a: Any, full_matrices: bool = True, compute_uv: bool = True, overwrite_a: bool = False,
        check_finite: bool = True, lapack_driver: str = "gesdd") -> Any:
    """scipy.linalg.svd: ``(U, s, Vh)`` or ``s``."""
    if not _traced(a):
        return _sl.svd(a, full_matrices=full_matrices, compute_uv=compute_uv,
                       overwrite_a=overwrite_a, check_finite=check_finite,
                       lapack_driver=lapack_driver)
    _real("svd", a)
    out = np.linalg.svd(a, full_matrices=full_matrices, compute_uv=compute_uv)
    return tuple(out) if compute_uv else out


def norm(a: Any, ord: Any = None, axis: Any = None, keepdims: bool = False,
         check_finite: bool = True) -> Any:
    """scipy.linalg.norm: numpy's vector and matrix norms."""
    if not _traced(a):
        return _sl.norm(a, ord=ord, axis=axis, keepdims=keepdims, check_finite=check_finite)
    _real("norm", a)
    return np.linalg.norm(a, ord=ord, axis=axis, keepdims=keepdims)


# ---- Sylvester equations and the matrix square root ----------------------------------------------------
def _sylvester(a: Any, b: Any, q: Any) -> Any:
    """X with A X + X B = Q, as one (m n) x (m n) system on row-major vec X; a (m, m), b (n, n),
    q (..., m, n) (a tangent or cotangent may carry leading axes)."""
    m, n = shape_of(a)[-1], shape_of(b)[-1]
    batch = shape_of(q)[:-2]
    # (A (x) I_n)[i n + j, k n + l] = A[i, k] d_jl;  (I_m (x) B^T)[i n + j, k n + l] = d_ik B[l, j]
    left = np.reshape(np.reshape(a, (m, 1, m, 1)) * np.reshape(np.eye(n), (1, n, 1, n)),
                      (m * n, m * n))
    right = np.reshape(np.reshape(np.eye(m), (m, 1, m, 1)) * np.reshape(_mT(b), (1, n, 1, n)),
                       (m * n, m * n))
    x = np.linalg.solve(left + right, _mT(np.reshape(q, (-1, m * n))))  # (m n, K)
    return np.reshape(_mT(x), batch + (m, n))


def solve_sylvester(a: Any, b: Any, q: Any) -> Any:
    """scipy.linalg.solve_sylvester: X with ``a X + X b = q``; a (m, m), b (n, n), q (m, n)."""
    if not _traced(a, b, q):
        return _sl.solve_sylvester(a, b, q)
    _real("solve_sylvester", a, b, q)
    (m, m2), (n, n2), sq = shape_of(a), shape_of(b), shape_of(q)
    if m != m2 or n != n2 or sq != (m, n):
        raise ValueError(f"modes.scipy.linalg.solve_sylvester: expected a (m, m), b (n, n), "
                         f"q (m, n); got {shape_of(a)}, {shape_of(b)}, {sq}")
    return _sylvester(a, b, q)


def _sqrtm_value(a: Any) -> np.ndarray:
    x = _sl.sqrtm(a)
    if np.iscomplexobj(x):
        if np.allclose(np.imag(x), 0.0):
            return np.real(x)
        raise ValueError("modes.scipy.linalg.sqrtm: this matrix has no real square root (it has "
                         "negative real eigenvalues); complex results are not supported")
    return x


# dX solves X dX + dX X = dA; the cotangent map solves X^T Abar + Abar X^T = G.
_sqrtm = structural(
    _sqrtm_value, "sqrtm",
    jvp=(lambda g, ans, a: _sylvester(ans, ans, g),),
    vjp=(lambda g, ans, a: _sylvester(_mT(ans), _mT(ans), g),),
    cost=per_matrix(lambda n: thirds(85 * n ** 3)),
)


def sqrtm(A: Any, *args: Any, **kwargs: Any) -> Any:
    """scipy.linalg.sqrtm of an (n, n) array with a real principal square root."""
    if not _traced(A):
        return _sl.sqrtm(A, *args, **kwargs)
    _real("sqrtm", A)
    s = shape_of(A)
    if len(s) != 2 or s[0] != s[1]:
        raise ValueError(f"modes.scipy.linalg.sqrtm: expected an (n, n) array, got shape {s}")
    return _sqrtm(A)
