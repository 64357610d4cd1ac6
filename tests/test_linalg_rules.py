"""Linear algebra rules: hand-computed values, the conventions at degenerate points, errors, and the
adjoint identity <vjp(u), v> == <u, jvp(v)>. Values the tests trust are typed by hand or come from
plain numpy (finite differences), never from modes."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import scipy.linalg as sl

import modes
import modes.scipy.linalg as sla
from case_table import MODES
from cases_linalg import RANK_N2, SEP, SPD, SYM, WELL, eigh_out, qr_out, svd_out
from conftest import assert_close_fd, numerical_jacobian


def _grad(f: Callable[..., Any], x: np.ndarray, mode: str) -> np.ndarray:
    return np.asarray(modes.grad(f, mode=mode)(x))


def _jac(f: Callable[..., Any], x: np.ndarray, mode: str) -> np.ndarray:
    return np.asarray(modes.jacobian(f, mode=mode)(x))


# ---- hand-computed values -------------------------------------------------------------------------
@pytest.mark.parametrize("mode", MODES)
def test_det_2x2_by_hand(mode: str) -> None:
    a = np.array([[2.0, 1.0], [3.0, 4.0]])  # det = 5, d det/dA = [[d, -c], [-b, a]]
    np.testing.assert_allclose(_grad(np.linalg.det, a, mode), [[4.0, -3.0], [-1.0, 2.0]], rtol=1e-14)
    # d logabsdet / dA = A^-T = [[4, -3], [-1, 2]] / 5
    g = _grad(lambda a: np.linalg.slogdet(a)[1], a, mode)
    np.testing.assert_allclose(g, np.array([[4.0, -3.0], [-1.0, 2.0]]) / 5, rtol=1e-14)


@pytest.mark.parametrize("mode", MODES)
def test_inv_and_solve_by_hand(mode: str) -> None:
    a = np.diag([2.0, 4.0])
    # d inv(A)[0, 1] / dA = -(A^-T e0)(e1^T A^-T) = -1/8 at (0, 1)
    g = _grad(lambda a: np.linalg.inv(a)[0, 1], a, mode)
    np.testing.assert_allclose(g, [[0.0, -0.125], [0.0, 0.0]], atol=1e-16)
    # x = A^-1 b: dx/db = A^-1, dx/dA[i, j] = -A^-1[:, i] x[j]
    b = np.array([1.0, 1.0])
    jb = modes.jacobian(np.linalg.solve, 1, mode=mode)(a, b)
    np.testing.assert_allclose(jb, np.diag([0.5, 0.25]), atol=1e-16)
    ja = modes.jacobian(np.linalg.solve, 0, mode=mode)(a, b)
    expected = np.zeros((2, 2, 2))
    expected[0, 0] = [-0.25, -0.125]
    expected[1, 1] = [-0.125, -0.0625]
    np.testing.assert_allclose(ja, expected, atol=1e-16)


@pytest.mark.parametrize("mode", MODES)
def test_cholesky_by_hand_reads_the_lower_triangle(mode: str) -> None:
    a = np.array([[4.0, 2.0], [2.0, 5.0]])  # L = [[2, 0], [1, 2]]
    # L10 = A10 / sqrt(A00): d/dA10 = 1/2, d/dA00 = -A10 / (2 A00^1.5) = -1/8; A01 is never read
    g = _grad(lambda a: np.linalg.cholesky(a)[1, 0], a, mode)
    np.testing.assert_allclose(g, [[-0.125, 0.0], [0.5, 0.0]], rtol=1e-14, atol=1e-16)
    g = _grad(lambda a: np.linalg.cholesky(a, upper=True)[0, 1], a, mode)
    np.testing.assert_allclose(g, [[-0.125, 0.5], [0.0, 0.0]], rtol=1e-14, atol=1e-16)
    np.testing.assert_allclose(_grad(lambda a: np.linalg.cholesky(a)[0, 0], np.array([[9.0]]), mode),
                               [[1 / 6]], rtol=1e-14)


def test_eigh_by_hand() -> None:
    a = np.diag([1.0, 3.0])
    w, v = np.linalg.eigh(a)
    e10 = np.array([[0.0, 0.0], [1.0, 0.0]])  # the lower entry: the symmetric direction E10 + E01
    (dw, dv) = modes.jvp(lambda a: tuple(np.linalg.eigh(a)), (a,), (e10,))[1]
    np.testing.assert_allclose(dw, [0.0, 0.0], atol=1e-16)
    # dV = V (F o V^T dA V) with F_ij = 1 / (w_j - w_i)
    np.testing.assert_allclose(dv, v @ (np.array([[0.0, 0.5], [-0.5, 0.0]]) * (v.T @ (e10 + e10.T) @ v)),
                               atol=1e-15)
    _, tangent = modes.jvp(lambda a: np.linalg.eigh(a)[1], (a,), (e10.T,))  # the upper entry: unread
    np.testing.assert_array_equal(tangent, np.zeros((2, 2)))
    for mode in MODES:
        np.testing.assert_allclose(_jac(np.linalg.eigvalsh, a, mode),
                                   [[[1.0, 0.0], [0.0, 0.0]], [[0.0, 0.0], [0.0, 1.0]]], atol=1e-15)


@pytest.mark.parametrize("mode", MODES)
def test_svd_and_trace_and_expm_by_hand(mode: str) -> None:
    a = np.array([[3.0, 0.0], [0.0, 1.0], [0.0, 0.0]])
    jac = _jac(np.linalg.svdvals, a, mode)  # ds_i / dA = u_i v_i^T
    np.testing.assert_allclose(jac[0], [[1.0, 0.0], [0.0, 0.0], [0.0, 0.0]], atol=1e-15)
    np.testing.assert_allclose(jac[1], [[0.0, 0.0], [0.0, 1.0], [0.0, 0.0]], atol=1e-15)
    g = _grad(lambda a: np.trace(a, offset=1), np.zeros((3, 3)), mode)
    np.testing.assert_array_equal(g, [[0.0, 1.0, 0.0], [0.0, 0.0, 1.0], [0.0, 0.0, 0.0]])
    # d expm(A) at A = 0 is the identity map; at diag(a, b) the diagonal moves as exp
    jac = _jac(sla.expm, np.zeros((2, 2)), mode)
    np.testing.assert_allclose(jac, np.eye(4).reshape(2, 2, 2, 2), atol=1e-14)
    g = _grad(lambda a: sla.expm(a)[0, 0], np.diag([0.5, -1.0]), mode)
    np.testing.assert_allclose(g, [[np.exp(0.5), 0.0], [0.0, 0.0]], rtol=1e-13, atol=1e-15)


def test_matrix_power_zero_is_a_constant_identity() -> None:
    a = np.array([[1.0, 2.0], [3.0, 4.0]])
    for mode in MODES:
        np.testing.assert_array_equal(_jac(lambda a: np.linalg.matrix_power(a, 0) + a, a, mode),
                                      np.eye(4).reshape(2, 2, 2, 2))


# ---- degenerate points ---------------------------------------------------------------------------
@pytest.mark.parametrize("mode", MODES)
def test_det_of_singular_matrix_uses_the_cofactor_matrix(mode: str) -> None:
    a = np.array([[1.0, 2.0], [2.0, 4.0]])  # rank 1: cofactors [[d, -c], [-b, a]]
    np.testing.assert_allclose(_grad(np.linalg.det, a, mode), [[4.0, -2.0], [-2.0, 1.0]], rtol=1e-12)
    rng = np.random.default_rng(0)
    b = rng.normal(size=(3, 2)) @ rng.normal(size=(2, 3))  # rank 2: the cofactors are 2x2 minors
    cof = np.array([[(-1) ** (i + j) * np.linalg.det(np.delete(np.delete(b, i, 0), j, 1))
                     for j in range(3)] for i in range(3)])
    np.testing.assert_allclose(_grad(np.linalg.det, b, mode), cof, rtol=1e-10, atol=1e-12)
    c = np.outer([1.0, 2.0, 3.0], [1.0, -1.0, 0.5])  # rank 1: every 2x2 minor vanishes
    np.testing.assert_allclose(_grad(np.linalg.det, c, mode), np.zeros((3, 3)), atol=1e-12)


def _det_hessian_fd(a: np.ndarray, h: float = 0.5) -> np.ndarray:
    """Second central differences of plain np.linalg.det: exact up to rounding for any h, as det is
    affine in each entry (the diagonal terms vanish, the mixed ones have no h^2 error)."""
    n2, x = a.size, a.ravel()
    hess = np.zeros((n2, n2))
    for i in range(n2):
        for j in range(n2):
            def f(di: float, dj: float) -> float:
                y = x.copy()
                y[i] += di
                y[j] += dj
                return float(np.linalg.det(y.reshape(a.shape)))
            hess[i, j] = (f(h, h) - f(h, -h) - f(-h, h) + f(-h, -h)) / (4 * h * h)
    return hess.reshape(a.shape + a.shape)


def _of_rank(rng: np.random.Generator, n: int, r: int) -> np.ndarray:
    return rng.uniform(-1, 1, (n, r)) @ rng.uniform(-1, 1, (r, n))


NESTINGS = [(outer, inner) for outer in MODES for inner in MODES]


@pytest.mark.parametrize("outer, inner", NESTINGS)
@pytest.mark.parametrize("n, rank", [(3, 2), (3, 1), (3, 0), (4, 3), (4, 2), (4, 1), (4, 0), (1, 0)])
def test_det_hessian_is_exact_at_singular_matrices(n: int, rank: int, outer: str, inner: str) -> None:
    a = _of_rank(np.random.default_rng(10 * n + rank), n, rank)
    assert np.linalg.matrix_rank(a) == rank
    hess = modes.jacobian(modes.grad(np.linalg.det, mode=inner), mode=outer)(a)
    np.testing.assert_allclose(hess, _det_hessian_fd(a), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("outer, inner", NESTINGS)
def test_det_hessian_of_the_reported_rank_one_matrix(outer: str, inner: str) -> None:
    a = np.outer([1.0, 2.0, 3.0], [1.0, -1.0, 0.5])  # was off by up to 3.0 through the SVD adjugate
    hess = modes.jacobian(modes.grad(np.linalg.det, mode=inner), mode=outer)(a)
    np.testing.assert_allclose(hess, _det_hessian_fd(a), rtol=1e-12, atol=1e-12)
    # a stack mixing a singular and an invertible matrix takes the minors for both
    b = np.stack([a, np.diag([1.0, 2.0, 3.0])])
    hess = modes.jacobian(modes.grad(lambda b: np.sum(np.linalg.det(b)), mode=inner), mode=outer)(b)
    np.testing.assert_allclose(hess[0, :, :, 0], _det_hessian_fd(a), atol=1e-12)
    np.testing.assert_allclose(hess[1, :, :, 1], _det_hessian_fd(b[1]), atol=1e-12)
    np.testing.assert_array_equal(hess[0, :, :, 1], np.zeros((3, 3, 3, 3)))


def test_det_third_derivative_by_hand() -> None:
    # d^3 det(A)[E_ij, E_kl, E_pq] = sign(i, k, p) sign(j, l, q) for distinct rows and columns, else 0:
    # a constant, so it must come out exactly at a rank-1 matrix (where det, its gradient and its
    # Hessian's structure all degenerate)
    perms = list(itertools.permutations(range(3)))
    expected = np.zeros((3,) * 6)
    for rows in perms:
        for cols in perms:
            i, k, p = rows
            j, l, q = cols
            expected[i, j, k, l, p, q] = np.linalg.det(np.eye(3)[list(rows)]) * np.linalg.det(
                np.eye(3)[list(cols)])
    a = np.outer([1.0, 2.0, 3.0], [1.0, -1.0, 0.5])
    for m1, m2, m3 in itertools.product(MODES, repeat=3):
        f = modes.jacobian(modes.jacobian(modes.grad(np.linalg.det, mode=m1), mode=m2), mode=m3)
        np.testing.assert_allclose(f(a), expected, atol=1e-12, err_msg=f"{m3} over {m2} over {m1}")


@pytest.mark.parametrize("mode", MODES)
def test_eigh_at_repeated_eigenvalues(mode: str) -> None:
    a = np.diag([1.0, 1.0, 3.0])
    # functions of the eigenvalues alone are exact: tr(A^3) and tr(A)
    g = _grad(lambda a: np.sum(np.linalg.eigh(a)[0] ** 3), a, mode)
    np.testing.assert_allclose(g, np.tril(3 * a @ a * (2 - np.eye(3))), atol=1e-12)
    g = _grad(lambda a: np.sum(np.linalg.eigvalsh(a)), a, mode)
    np.testing.assert_allclose(g, np.eye(3), atol=1e-12)

    # the projector onto the degenerate eigenspace is smooth and its derivative exact
    def projector(a: Any) -> Any:
        v = np.linalg.eigh(a)[1][:, :2]
        return v @ v.T

    assert_close_fd(_jac(projector, a, mode), numerical_jacobian(projector, [a]), what="projector")
    # eigenvectors themselves have no derivative there: finite, with the degenerate terms dropped
    assert np.all(np.isfinite(_jac(lambda a: np.linalg.eigh(a)[1], a, mode)))


@pytest.mark.parametrize("mode", MODES)
def test_svd_at_repeated_and_zero_singular_values(mode: str) -> None:
    # nuclear norm at the identity: gradient U V^T = I (a symmetric function of the s_i)
    np.testing.assert_allclose(_grad(lambda a: np.linalg.norm(a, "nuc"), np.eye(3), mode), np.eye(3),
                               atol=1e-12)
    a = np.array([[2.0, 0.0], [0.0, 0.0], [0.0, 0.0]])  # a zero singular value of a tall matrix
    jac = _jac(lambda a: svd_out(a, full_matrices=False), a, mode)
    assert np.all(np.isfinite(jac))
    np.testing.assert_allclose(_jac(np.linalg.svdvals, a, mode)[0], [[1.0, 0.0], [0.0, 0.0], [0.0, 0.0]],
                               atol=1e-15)


def test_pinv_of_rank_deficient_matrix_on_its_rank_manifold() -> None:
    u, v = np.array([1.0, 2.0, -1.0]), np.array([0.5, 1.5])
    du, dv = np.array([0.3, -0.2, 0.7]), np.array([-1.0, 0.4])
    a, da = np.outer(u, v), np.outer(du, v) + np.outer(u, dv)  # a rank-1 curve and its tangent
    t = 1e-6
    fd = (np.linalg.pinv(np.outer(u + t * du, v + t * dv))
          - np.linalg.pinv(np.outer(u - t * du, v - t * dv))) / (2 * t)
    _, tangent = modes.jvp(np.linalg.pinv, (a,), (da,))
    np.testing.assert_allclose(tangent, fd, rtol=1e-6, atol=1e-9)
    _, pull = modes.vjp(np.linalg.pinv, a)
    w = np.random.default_rng(1).normal(size=(2, 3))
    np.testing.assert_allclose(np.sum(pull(w)[0] * da), np.sum(w * tangent), rtol=1e-12)


@pytest.mark.parametrize("shape", [(4, 2), (2, 4), (2, 3, 5)])
def test_full_svd_of_non_square_matrix(shape: tuple[int, ...]) -> None:
    a = np.random.default_rng(4).normal(size=shape)
    k = min(shape[-2:])
    (u, s, vh), _ = modes.vjp(lambda a: tuple(np.linalg.svd(a)), a)
    for got, want in zip((u, s, vh), np.linalg.svd(a)):  # numpy's values, extra vectors included
        np.testing.assert_array_equal(got, want)

    def nuc_sq(a: Any) -> Any:  # only s: d sum(s^2) / dA = 2 A
        return np.sum(np.linalg.svd(a).S ** 2)

    def leading(a: Any) -> Any:  # only the first k singular vectors: a smooth function of A
        u, s, vh = np.linalg.svd(a)
        return (u[..., :, :k] * s[..., None, :]) @ vh[..., :k, :]  # = A

    for mode in MODES:
        np.testing.assert_allclose(_grad(nuc_sq, a, mode), 2 * a, rtol=1e-12)
        np.testing.assert_allclose(_jac(leading, a, mode), np.eye(a.size).reshape(shape + shape),
                                   atol=1e-12)

    def extra(a: Any) -> Any:  # reads the extra vectors, which have no derivative
        u, _, vh = np.linalg.svd(a)
        return np.sum(u ** 3) + np.sum(vh ** 3)

    with pytest.raises(TypeError, match=r"np\.linalg\.svd.*full_matrices=False"):
        _grad(extra, a, "reverse")
    assert np.all(np.isnan(_grad(extra, a, "forward")))  # forward mode: NaN, never a number


# ---- errors ----------------------------------------------------------------------------------------
def _traced_call(f: Callable[..., Any], *args: Any) -> None:
    modes.grad(lambda *a: np.sum(f(*a)), mode="reverse")(*args)


def test_errors_name_the_function_and_say_what_to_do() -> None:
    with pytest.raises(np.linalg.LinAlgError):
        _traced_call(np.linalg.cholesky, np.array([[1.0, 2.0], [2.0, 1.0]]))  # not SPD
    with pytest.raises(np.linalg.LinAlgError):
        _traced_call(np.linalg.solve, np.array([[1.0, 2.0], [2.0, 4.0]]), np.ones(2))
    with pytest.raises(np.linalg.LinAlgError, match="slogdet.*singular.*np.linalg.det"):
        _traced_call(lambda a: np.linalg.slogdet(a)[1], np.array([[1.0, 2.0], [2.0, 4.0]]))
    with pytest.raises(TypeError, match="full_matrices=False"):
        _traced_call(lambda a: np.linalg.svd(a)[0], np.ones((3, 2)))
    with pytest.raises(TypeError, match="hermitian"):
        _traced_call(lambda a: np.linalg.svd(a, hermitian=True)[0], np.eye(2))
    with pytest.raises(np.linalg.LinAlgError):  # a wide qr needs its leading square block invertible
        _traced_call(lambda a: np.linalg.qr(a)[0], np.ones((2, 3)))
    with pytest.raises(TypeError, match="mode='complete'"):
        _traced_call(lambda a: np.linalg.qr(a, mode="complete")[0], np.ones((3, 2)))
    with pytest.raises(np.linalg.LinAlgError):  # cond(a, 'fro') of a singular matrix is inf
        _traced_call(lambda a: np.linalg.cond(a, "fro"), np.array([[1.0, 2.0], [2.0, 4.0]]))
    with pytest.raises(TypeError, match="mode='raw'"):
        _traced_call(lambda a: np.linalg.qr(a, mode="raw")[0], np.ones((3, 2)))
    with pytest.raises(ValueError, match="UPLO"):
        _traced_call(lambda a: np.linalg.eigh(a, UPLO="X")[0], np.eye(2))
    with pytest.raises(np.linalg.LinAlgError, match="square"):
        _traced_call(np.linalg.det, np.ones((2, 3)))
    with pytest.raises(ValueError, match="Invalid norm order"):
        _traced_call(lambda a: np.linalg.norm(a, "nuc", axis=0), np.ones((2, 3)))
    with pytest.raises(ValueError, match="Improper number of dimensions"):
        _traced_call(lambda a: np.linalg.norm(a, 2), np.ones((2, 3, 2)))
    with pytest.raises(ValueError, match="trans"):
        _traced_call(lambda a: sla.solve_triangular(a, np.ones(2), trans=3), np.eye(2))
    with pytest.raises(TypeError, match="complex"):
        modes.jvp(lambda a: np.linalg.det(a * (1 + 1j)), (np.eye(2),), (np.eye(2),))


# ---- plain arrays: the drop-ins return what scipy returns ------------------------------------------
def test_scipy_dropins_on_plain_arrays() -> None:
    rng = np.random.default_rng(2)
    a, b = SPD(rng, (3, 3)), rng.normal(size=(3, 2))
    for lower in (False, True):
        c, low = sla.cho_factor(a, lower=lower)
        c0, low0 = sl.cho_factor(a, lower=lower)
        np.testing.assert_array_equal(c, c0)
        assert low == low0
        np.testing.assert_array_equal(sla.cho_solve((c, low), b), sl.cho_solve((c0, low0), b))
    np.testing.assert_array_equal(sla.solve_triangular(a, b, lower=True),
                                  sl.solve_triangular(a, b, lower=True))
    np.testing.assert_array_equal(sla.expm(a), sl.expm(a))


def test_traced_values_agree_with_numpy_and_scipy() -> None:
    rng = np.random.default_rng(3)
    a, b = SPD(rng, (3, 3)), rng.normal(size=(3,))
    for lower in (False, True):
        got, _ = modes.vjp(lambda a, b: sla.cho_solve(sla.cho_factor(a, lower=lower), b), a, b)
        np.testing.assert_allclose(got, sl.cho_solve(sl.cho_factor(a, lower=lower), b), rtol=1e-14)
    x = rng.normal(size=(4, 3))
    y = rng.normal(size=(4,))
    (sol, resid, rank, s), _ = modes.vjp(lambda x, y: np.linalg.lstsq(x, y), x, y)
    sol0, resid0, rank0, s0 = np.linalg.lstsq(x, y)
    np.testing.assert_allclose(sol, sol0, rtol=1e-14)
    np.testing.assert_allclose(resid, resid0, rtol=1e-10)
    assert rank == rank0 and np.shape(resid) == np.shape(resid0)
    np.testing.assert_allclose(s, s0, rtol=1e-14)
    # the residuals are differentiable: d/dy |y - x sol|^2 = 2 (y - x sol)
    g = modes.grad(lambda y: np.linalg.lstsq(x, y)[1][0])(y)
    np.testing.assert_allclose(g, 2 * (y - x @ sol0), rtol=1e-9, atol=1e-12)


# ---- the adjoint identity: <vjp(u), v> == <u, jvp(v)> ------------------------------------------------
ADJOINT = [
    ("solve", lambda a, b: np.linalg.solve(a, b), (WELL, (2, 3, 3)), (None, (3, 2))),
    ("det", lambda a: np.linalg.det(a), (WELL, (2, 3, 3))),
    ("slogdet", lambda a: np.linalg.slogdet(a)[1], (WELL, (3, 3))),
    ("cholesky", np.linalg.cholesky, (SPD, (2, 3, 3))),
    ("eigh", eigh_out, (SYM, (3, 3))),
    ("svd", lambda a: svd_out(a, full_matrices=False), (SEP, (3, 4))),
    ("svd tall", lambda a: svd_out(a, full_matrices=False), (SEP, (4, 3))),
    ("qr", qr_out, (WELL, (4, 3))),
    ("qr wide", qr_out, (WELL, (3, 5))),
    ("det singular", lambda a: np.linalg.det(a), (RANK_N2, (2, 4, 4))),
    ("pinv", np.linalg.pinv, (SEP, (3, 4))),
    ("lstsq", lambda a, b: np.linalg.lstsq(a, b)[0], (SEP, (4, 3)), (None, (4, 2))),
    ("solve_triangular", lambda a, b: sla.solve_triangular(a, b, trans=1, lower=True), (WELL, (3, 3)),
     (None, (3, 2))),
    ("expm", sla.expm, (None, (3, 3))),
]


@pytest.mark.parametrize("f, specs", [pytest.param(f, s, id=n) for n, f, *s in ADJOINT])
def test_adjoint_identity(f: Callable[..., Any], specs: list, rng: np.random.Generator) -> None:
    args = [rng.uniform(-0.8, 0.8, shape) if dom is None else dom(rng, shape) for dom, shape in specs]
    dirs = [rng.normal(size=np.shape(x)) for x in args]
    out, tangent = modes.jvp(f, tuple(args), tuple(dirs))
    u = rng.normal(size=np.shape(out))
    _, pull = modes.vjp(f, *args)
    bars = pull(u)
    lhs = sum(np.sum(b * d) for b, d in zip(bars, dirs))
    np.testing.assert_allclose(lhs, np.sum(u * tangent), rtol=1e-10)


def test_svd_extra_vectors_refuse_a_traced_cotangent() -> None:
    # Inside a second derivative the cotangent on numpy's arbitrary extra singular vectors may
    # vanish at the point but not nearby: refused rather than taken as a constant zero.
    a = np.arange(6.0).reshape(3, 2) + np.eye(3, 2)

    def f(a):
        u = np.linalg.svd(a)[0]
        return np.sum(np.linalg.svd(a)[1]) + (np.sum(a) - 17.0) * np.sum(u[:, 2] ** 2)  # 0 here

    with pytest.raises(TypeError, match="svd"):
        modes.jacobian(modes.grad(f), mode="reverse")(a)
