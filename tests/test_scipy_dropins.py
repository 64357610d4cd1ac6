"""The modes.scipy drop-ins against scipy itself: values on plain input, derivatives against central
differences in both modes, hand values of the new scipy.special rows, and the errors for shape
parameters no rule differentiates. The registry cases (tests/cases_special.py) check every rule
broadly; these pin what scipy returns and what a formula gives.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

pytest.importorskip("scipy")
import scipy.linalg as sl  # noqa: E402
import scipy.special as sc  # noqa: E402
import scipy.stats as ss  # noqa: E402

import modes  # noqa: E402
import modes.scipy.linalg as sla  # noqa: E402
import modes.scipy.stats as ms  # noqa: E402
from case_table import MODES  # noqa: E402
from conftest import assert_close_fd, numerical_jacobian  # noqa: E402
from modes.errors import RuleError  # noqa: E402

NESTINGS = [(o, i) for o in MODES for i in MODES]
RNG = np.random.default_rng(7)
X = np.array([-1.5, -0.2, 0.0, 0.3, 0.9, 1.0, 2.5])
UNIT = np.array([-0.1, 0.0, 0.2, 0.5, 0.9, 1.0, 1.3])


def d(f: Callable[..., Any], mode: str, argnum: int = 0) -> Callable[..., Any]:
    return modes.grad(f, argnum, mode=mode)


# ---- new scipy.special rows: hand values -----------------------------------------------------------
@pytest.mark.parametrize("mode", MODES)
def test_new_special_hand_values(mode: str) -> None:
    x = 1.3
    assert d(sc.j0, mode)(x) == pytest.approx(-sc.j1(x), rel=1e-14)
    assert d(sc.j1, mode)(0.0) == pytest.approx(0.5, rel=1e-15)
    assert d(sc.j1, mode)(x) == pytest.approx(sc.j0(x) - sc.j1(x) / x, rel=1e-13)
    assert d(sc.y0, mode)(x) == pytest.approx(-sc.y1(x), rel=1e-14)
    assert d(sc.y1, mode)(x) == pytest.approx(sc.y0(x) - sc.y1(x) / x, rel=1e-14)
    assert d(lambda x: sc.jn(3, x), mode)(x) == pytest.approx(
        (sc.jn(2, x) - sc.jn(4, x)) / 2, rel=1e-14)
    assert d(lambda x: sc.yn(2, x), mode)(x) == pytest.approx(
        (sc.yn(1, x) - sc.yn(3, x)) / 2, rel=1e-14)
    assert d(lambda x: sc.kv(0.5, x), mode)(x) == pytest.approx(
        -(sc.kv(-0.5, x) + sc.kv(1.5, x)) / 2, rel=1e-14)
    assert d(sc.rgamma, mode)(1.0) == pytest.approx(np.euler_gamma, rel=1e-14)
    assert d(sc.beta, mode, 0)(1.0, 1.0) == pytest.approx(-1.0, rel=1e-14)  # B(a, 1) = 1 / a
    assert d(sc.erfi, mode)(0.0) == pytest.approx(2 / np.sqrt(np.pi), rel=1e-15)
    assert d(sc.dawsn, mode)(0.0) == 1.0
    assert d(sc.exp10, mode)(0.0) == pytest.approx(np.log(10.0), rel=1e-15)
    assert d(sc.sindg, mode)(0.0) == pytest.approx(np.pi / 180, rel=1e-15)
    assert d(sc.cotdg, mode)(45.0) == pytest.approx(-np.pi / 90, rel=1e-14)
    assert d(lambda m: sc.radian(10.0, m, 0.0), mode)(5.0) == pytest.approx(np.pi / 180 / 60)
    assert d(lambda x: sc.betainc(1.0, 1.0, x), mode)(0.3) == pytest.approx(1.0, rel=1e-14)
    assert d(lambda x: sc.stdtr(1.0, x), mode)(0.0) == pytest.approx(1 / np.pi, rel=1e-14)


@pytest.mark.parametrize("outer, inner", NESTINGS)
def test_new_special_second_derivatives(outer: str, inner: str) -> None:
    def d2(f: Callable[..., Any]) -> Callable[..., Any]:
        return modes.grad(modes.grad(f, mode=inner), mode=outer)

    # j0'' = -j1' = -(j0 - j2) / 2 = -1/2 at 0; erfi'' = 4 x e^{x^2} / sqrt(pi); dawsn'' at 0 = 0.
    assert d2(sc.j0)(0.0) == pytest.approx(-0.5, rel=1e-15)
    assert d2(sc.erfi)(1.0) == pytest.approx(4 * np.e / np.sqrt(np.pi), rel=1e-14)
    assert d2(sc.dawsn)(0.0) == pytest.approx(0.0, abs=1e-16)
    assert d2(sc.expm1)(0.0) == pytest.approx(1.0, rel=1e-15)


def test_scipy_copies_reuse_numpys_rules() -> None:
    for name in ("expm1", "log1p", "cbrt", "exp2"):
        assert modes.REGISTRY[f"scipy.special.{name}"].partials == modes.REGISTRY[name].partials
    assert sc.sinc is np.sinc  # no second ufunc: numpy's binding covers it


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("call, name", [
    (lambda n: sc.yn(n, 1.5), "yn"),
    (lambda v: sc.kv(v, 1.5), "kv"),
    (lambda a: sc.betainc(a, 2.0, 0.3), "betainc"),
    (lambda df: sc.stdtr(df, 0.3), "stdtr"),
])
def test_constant_orders_raise_naming_the_function(call: Any, name: str, mode: str) -> None:
    with pytest.raises(RuleError, match=f"scipy.special.{name}"):
        d(call, mode)(2.0)


# ---- scipy.stats: values --------------------------------------------------------------------------
LOC_SCALE = ("expon", "laplace", "cauchy", "logistic", "uniform")
METHODS = ("logpdf", "pdf", "cdf", "logcdf", "sf", "logsf")


@pytest.mark.parametrize("name", LOC_SCALE)
@pytest.mark.parametrize("method", METHODS)
def test_loc_scale_families_match_scipy(name: str, method: str) -> None:
    for loc, scale in ((0.0, 1.0), (-0.2, 1.3), (np.array([0.1, -0.3]), np.array([[0.5], [1.7]]))):
        mine = getattr(getattr(ms, name), method)(X[:, None, None], loc, scale)
        theirs = getattr(getattr(ss, name), method)(X[:, None, None], loc, scale)
        np.testing.assert_allclose(mine, theirs, rtol=1e-13)
    assert np.isnan(getattr(getattr(ms, name), method)(1.0, 0.0, -1.0))


@pytest.mark.parametrize("method", ["logpdf", "pdf", "cdf", "logcdf", "sf"])
def test_shape_families_match_scipy(method: str) -> None:
    for a in (0.5, 1.0, 3.5):
        for dist in ("gamma", "chi2", "t"):
            np.testing.assert_allclose(getattr(getattr(ms, dist), method)(X, a, -0.5, 1.5),
                                       getattr(getattr(ss, dist), method)(X, a, -0.5, 1.5),
                                       rtol=1e-13)
        for b in (0.7, 1.0, 2.0):
            np.testing.assert_allclose(getattr(ms.beta, method)(UNIT, a, b),
                                       getattr(ss.beta, method)(UNIT, a, b), rtol=1e-13)
    assert np.isnan(getattr(ms.gamma, method)(1.0, -1.0))


def test_poisson_distribution_functions_match_scipy() -> None:
    k = np.array([-1.0, 0.0, 1.0, 2.5, 3.0, 12.0])
    for mu in (0.0, 0.4, 6.0):
        for loc in (0, 1):
            np.testing.assert_allclose(ms.poisson.cdf(k, mu, loc), ss.poisson.cdf(k, mu, loc),
                                       rtol=1e-13)
            np.testing.assert_allclose(ms.poisson.sf(k, mu, loc), ss.poisson.sf(k, mu, loc),
                                       rtol=1e-13)
    assert np.isnan(ms.poisson.cdf(1.0, -1.0))
    with pytest.raises(TypeError, match="poisson.cdf"):
        modes.grad(lambda k: ms.poisson.cdf(k, 2.0))(3.0)


def _spd(d: int) -> np.ndarray:
    a = RNG.normal(size=(d, d))
    return a @ a.T + d * np.eye(d)


@pytest.mark.parametrize("x_shape", [(3,), (5, 3), (1, 3), (2, 4, 3)])
def test_multivariate_normal_matches_scipy(x_shape: tuple[int, ...]) -> None:
    x, mean, cov = RNG.normal(size=x_shape), RNG.normal(size=3), _spd(3)
    for method in ("logpdf", "pdf"):
        mine = getattr(ms.multivariate_normal, method)(x, mean, cov)
        theirs = getattr(ss.multivariate_normal, method)(x, mean, cov)
        assert np.shape(mine) == np.shape(theirs)
        np.testing.assert_allclose(mine, theirs, rtol=1e-12)


def test_multivariate_normal_parameter_forms_match_scipy() -> None:
    x = np.array([0.3, -0.2, 1.1])
    for mean, cov in ((None, np.eye(3) * 2.0), ([0.0, 1.0, 0.5], 2.0),
                      ([0.0, 1.0, 0.5], np.array([2.0, 0.5, 1.5]))):
        np.testing.assert_allclose(ms.multivariate_normal.logpdf(x, mean, cov),
                                   ss.multivariate_normal.logpdf(x, mean, cov), rtol=1e-13)
    # d == 1: an (n,) x is n points, as scipy
    np.testing.assert_allclose(ms.multivariate_normal.logpdf(x, 0.2, 1.7),
                               ss.multivariate_normal.logpdf(x, 0.2, 1.7), rtol=1e-13)
    with pytest.raises(np.linalg.LinAlgError, match="multivariate_normal"):
        ms.multivariate_normal.logpdf(x, None, -np.eye(3))


def test_dirichlet_matches_scipy() -> None:
    alpha = np.array([0.5, 2.0, 3.0])
    x = np.array([0.2, 0.3, 0.5])
    xs = RNG.dirichlet(alpha, size=4).T
    for q in (x, x[:2], xs, xs[:2]):
        for method in ("logpdf", "pdf"):
            mine = getattr(ms.dirichlet, method)(q, alpha)
            theirs = getattr(ss.dirichlet, method)(q, alpha)
            assert np.shape(mine) == np.shape(theirs)
            np.testing.assert_allclose(mine, theirs, rtol=1e-13)
    with pytest.raises(ValueError, match="simplex"):
        ms.dirichlet.logpdf(np.array([0.2, 0.3, 0.6]), alpha)


# ---- scipy.stats: derivatives ---------------------------------------------------------------------
STATS_FD = [
    ("expon.logpdf in scale", lambda s: np.sum(ms.expon.logpdf(X[X > 0], 0.0, s)), (1.3,)),
    ("laplace.cdf in x", lambda x: np.sum(ms.laplace.cdf(x, 0.1, 0.7)), (X,)),
    ("cauchy.logpdf in loc", lambda m: np.sum(ms.cauchy.logpdf(X, m, 0.8)), (0.3,)),
    ("logistic.logsf in x", lambda x: np.sum(ms.logistic.logsf(x, 0.2, 1.4)), (X,)),
    ("chi2.logpdf in df", lambda df: np.sum(ms.chi2.logpdf(X[X > 0], df)), (3.5,)),
    ("t.cdf in scale", lambda s: np.sum(ms.t.cdf(X, 2.5, 0.1, s)), (1.2,)),
    ("gamma.cdf in x", lambda x: np.sum(ms.gamma.cdf(x, 1.7)), (np.array([0.3, 1.0, 2.5]),)),
    ("beta.cdf in x", lambda x: np.sum(ms.beta.cdf(x, 0.7, 2.0)), (np.array([0.2, 0.5, 0.9]),)),
    ("poisson.cdf in mu", lambda mu: np.sum(ms.poisson.cdf(np.arange(5.0), mu)), (1.7,)),
    ("mvn.logpdf in cov", lambda c: np.sum(ms.multivariate_normal.logpdf(
        np.ones((4, 3)) * np.arange(4.0)[:, None] / 4, np.zeros(3), c)), (_spd(3),)),
    ("mvn.logpdf in mean", lambda m: ms.multivariate_normal.logpdf(np.ones(3), m, 2 * np.eye(3)),
     (np.zeros(3),)),
    ("dirichlet.logpdf in alpha", lambda a: ms.dirichlet.logpdf(np.array([0.2, 0.3, 0.5]), a),
     (np.array([0.5, 2.0, 3.0]),)),
]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("label, f, args", STATS_FD, ids=[c[0] for c in STATS_FD])
def test_stats_match_finite_differences(label: str, f: Any, args: tuple, mode: str) -> None:
    assert_close_fd(modes.grad(f, mode=mode)(*args), numerical_jacobian(f, args), what=label)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("call, what", [
    (lambda df: ms.t.cdf(0.3, df), "t.cdf"),
    (lambda df: ms.t.sf(0.3, df), "t.sf"),
    (lambda a: ms.gamma.cdf(0.3, a), "gamma.cdf"),
    (lambda a: ms.gamma.logcdf(0.3, a), "gamma.logcdf"),
    (lambda b: ms.beta.cdf(0.3, 2.0, b), "beta.cdf"),
    (lambda a: ms.beta.sf(0.3, a, 2.0), "beta.sf"),
    (lambda df: ms.chi2.cdf(0.3, df), "chi2.cdf"),
])
def test_cdf_shape_parameters_raise(call: Any, what: str, mode: str) -> None:
    with pytest.raises(RuleError, match=what.replace(".", r"\.")):
        d(call, mode)(2.0)


# ---- scipy.linalg --------------------------------------------------------------------------------
A = RNG.uniform(-1.0, 1.0, (4, 4)) + 2.5 * np.eye(4)
S = _spd(4)
B = RNG.normal(size=(4, 2))
_traced_b = _spd(4)


def test_linalg_plain_values_are_scipys() -> None:
    np.testing.assert_array_equal(sla.inv(A), sl.inv(A))
    assert sla.det(A) == sl.det(A)
    np.testing.assert_array_equal(sla.solve(S, B, assume_a="pos"), sl.solve(S, B, assume_a="pos"))
    np.testing.assert_array_equal(sla.cholesky(S), sl.cholesky(S))
    np.testing.assert_array_equal(sla.sqrtm(S), sl.sqrtm(S))
    np.testing.assert_array_equal(sla.norm(A, 1), sl.norm(A, 1))


def _traced_value(f: Callable[..., Any], *args: Any) -> Any:
    """f's value on traced input (the drop-in's differentiable path), via a reverse pass."""
    return modes.vjp(f, *args)[0]


@pytest.mark.parametrize("assume_a, lower", [(None, False), ("gen", False), ("sym", False),
                                             ("sym", True), ("pos", True), ("upper triangular", 0),
                                             ("lower triangular", 0), ("diagonal", 0),
                                             ("tridiagonal", 0), ("banded", 0)])
def test_solve_and_inv_read_what_scipy_reads(assume_a: Any, lower: bool) -> None:
    a = S + np.triu(RNG.normal(size=(4, 4)), 1)  # the upper triangle differs from the lower
    band = np.abs(np.subtract.outer(np.arange(4), np.arange(4)))
    if assume_a in ("banded", "tridiagonal"):
        a = a * (band <= 1)  # scipy's banded and tridiagonal solvers agree on such a matrix
    if assume_a == "diagonal":
        a = a * (band == 0)
    kw = {"assume_a": assume_a, "lower": lower}
    for transposed in (False, True):
        np.testing.assert_allclose(
            _traced_value(lambda a, b: sla.solve(a, b, transposed=transposed, **kw), a, B),
            sl.solve(a, B, transposed=transposed, **kw), rtol=1e-12)
    if assume_a in ("banded", "tridiagonal"):
        with pytest.raises(ValueError, match="assume_a"):
            modes.grad(lambda a: np.sum(sla.inv(a, **kw)))(a)
        return
    np.testing.assert_allclose(_traced_value(lambda a: sla.inv(a, **kw), a), sl.inv(a, **kw),
                               rtol=1e-12)


def test_linalg_traced_values_match_scipy() -> None:
    np.testing.assert_allclose(_traced_value(sla.cholesky, S), sl.cholesky(S), rtol=1e-13)
    np.testing.assert_allclose(_traced_value(lambda a: sla.cholesky(a, lower=True), S),
                               sl.cholesky(S, lower=True), rtol=1e-13)
    np.testing.assert_allclose(_traced_value(sla.det, A), sl.det(A), rtol=1e-13)
    np.testing.assert_allclose(_traced_value(lambda a: sla.eigh(a, eigvals_only=True), S),
                               sl.eigh(S, eigvals_only=True), rtol=1e-13)
    w, v = _traced_value(lambda a, b: sla.eigh(a, b), S, _traced_b)
    w2, v2 = sl.eigh(S, _traced_b)
    np.testing.assert_allclose(w, w2, rtol=1e-12)
    np.testing.assert_allclose(np.abs(v), np.abs(v2), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(_traced_value(lambda a: sla.svd(a, compute_uv=False), A),
                               sl.svd(A, compute_uv=False), rtol=1e-13)
    np.testing.assert_allclose(_traced_value(sla.sqrtm, A), sl.sqrtm(A), rtol=1e-12)
    q = RNG.normal(size=(4, 2))
    b2 = np.array([[2.0, 0.3], [-0.4, 1.5]])
    np.testing.assert_allclose(_traced_value(lambda a: sla.solve_sylvester(a, b2, q), A),
                               sl.solve_sylvester(A, b2, q), rtol=1e-12)


LINALG_FD = [
    ("inv", lambda a: np.sum(sla.inv(a) * np.arange(16.0).reshape(4, 4)), (A,)),
    ("det", sla.det, (A,)),
    ("solve(pos) in a", lambda a: np.sum(sla.solve(a, B, assume_a="pos")), (S,)),
    ("solve(sym,lower) in b", lambda b: np.sum(sla.solve(S, b, assume_a="sym", lower=True) ** 2),
     (B,)),
    ("cholesky (upper)", lambda a: np.sum(sla.cholesky(a) * np.arange(16.0).reshape(4, 4)), (S,)),
    ("eigh eigenvalues", lambda a: np.sum(np.arange(4.0) * sla.eigh(a, eigvals_only=True)), (S,)),
    ("eigh(a, b) in b", lambda b: np.sum(np.arange(4.0) * sla.eigh(S, b)[0]), (_traced_b,)),
    ("svd values", lambda a: np.sum(np.arange(4.0) * sla.svd(a, compute_uv=False)), (A,)),
    ("norm(fro)", lambda a: sla.norm(a), (A,)),
    ("norm(ord=1, axis=0)", lambda a: np.sum(sla.norm(a, 1, axis=0) * np.arange(4.0)), (A,)),
    ("sqrtm(spd)", lambda a: np.sum(sla.sqrtm(a) * np.arange(16.0).reshape(4, 4)), (S,)),
    ("sqrtm(general)", lambda a: np.sum(sla.sqrtm(a) * np.arange(16.0).reshape(4, 4)), (A,)),
    ("solve_sylvester in b", lambda b: np.sum(sla.solve_sylvester(A, b, B) ** 2),
     (np.array([[2.0, 0.3], [-0.4, 1.5]]),)),
]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("label, f, args", LINALG_FD, ids=[c[0] for c in LINALG_FD])
def test_linalg_match_finite_differences(label: str, f: Any, args: tuple, mode: str) -> None:
    assert_close_fd(modes.grad(f, mode=mode)(*args), numerical_jacobian(f, args), what=label)


@pytest.mark.parametrize("outer, inner", NESTINGS)
def test_sqrtm_second_order(outer: str, inner: str) -> None:
    # sqrtm(x I + N) for a fixed N: d^2/dx^2 against nested central differences of scipy.
    n = np.array([[0.0, 0.3, 0.1], [0.2, 0.0, -0.4], [0.1, 0.5, 0.0]])

    def f(x: Any) -> Any:
        return np.sum(sla.sqrtm(x * np.eye(3) + n) * np.arange(9.0).reshape(3, 3))

    h = 1e-3
    fd = (sla.sqrtm((2 + h) * np.eye(3) + n) - 2 * sla.sqrtm(2 * np.eye(3) + n)
          + sla.sqrtm((2 - h) * np.eye(3) + n)) / h ** 2
    expected = np.sum(fd * np.arange(9.0).reshape(3, 3))
    got = modes.grad(modes.grad(f, mode=inner), mode=outer)(2.0)
    assert got == pytest.approx(expected, rel=1e-5)


def test_sqrtm_without_a_real_root_raises() -> None:
    with pytest.raises(ValueError, match="no real square root"):
        modes.grad(lambda a: np.sum(sla.sqrtm(a)))(np.diag([1.0, -2.0]) + 0.1)


def test_linalg_errors_name_the_function() -> None:
    with pytest.raises(ValueError, match="assume_a"):
        modes.grad(lambda a: np.sum(sla.solve(a, B, assume_a="nonsense")))(A)
    with pytest.raises(np.linalg.LinAlgError):
        modes.grad(lambda a: np.sum(sla.solve(a, B, assume_a="pos")))(-S)
    with pytest.raises(TypeError, match="subset_by_index"):
        modes.grad(lambda a: np.sum(sla.eigh(a, subset_by_index=[0, 1])[0]))(S)
    with pytest.raises(ValueError, match="solve_sylvester"):
        modes.grad(lambda a: np.sum(sla.solve_sylvester(a, A, B)))(A)
