"""Drop-ins for ``scipy.linalg``: ``solve_triangular``, ``cho_factor``, ``cho_solve``, ``expm``.

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
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.linalg as _sl

from ..primitives.bind import structural
from ..primitives.decompositions import _cholesky, _mT
from ..primitives.structural import _nb
from ..registry import Traced, plain
from ..unbroadcast import expand_tangent, shape_of, unbroadcast

__all__ = ["solve_triangular", "cho_factor", "cho_solve", "expm"]


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
