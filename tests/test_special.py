"""Hand values and drop-in checks for the scipy.special rows, modes.scipy, and the newer elementwise
rows (conventions at jumps and zeros). The registry tests check every rule against finite
differences; these pin values a formula gives, and compare the drop-ins with scipy itself.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

pytest.importorskip("scipy")
import scipy.special as sc  # noqa: E402
import scipy.stats as ss  # noqa: E402

import modes  # noqa: E402
import modes.scipy.special as sp  # noqa: E402
import modes.scipy.stats as ms  # noqa: E402
from case_table import MODES  # noqa: E402
from conftest import assert_close_fd, numerical_jacobian  # noqa: E402
from modes.errors import RuleError  # noqa: E402
from modes.registry import Traced  # noqa: E402
from modes.tracing import ArrayBox  # noqa: E402

NESTINGS = [(o, i) for o in MODES for i in MODES]


def d(f: Callable[..., Any], mode: str, argnum: int = 0) -> Callable[..., Any]:
    return modes.grad(f, argnum, mode=mode)


def d2(f: Callable[..., Any], outer: str, inner: str, argnum: int = 0) -> Callable[..., Any]:
    return modes.grad(modes.grad(f, argnum, mode=inner), argnum, mode=outer)


# ---- scipy.special hand values ------------------------------------------------------------------
@pytest.mark.parametrize("mode", MODES)
def test_special_hand_values(mode: str) -> None:
    assert d(sc.expit, mode)(0.0) == pytest.approx(0.25, rel=1e-15)
    assert d(sc.erf, mode)(0.0) == pytest.approx(2 / np.sqrt(np.pi), rel=1e-15)
    assert d(sc.erfc, mode)(0.0) == pytest.approx(-2 / np.sqrt(np.pi), rel=1e-15)
    assert d(sc.ndtr, mode)(0.0) == pytest.approx(1 / np.sqrt(2 * np.pi), rel=1e-15)
    assert d(sc.ndtri, mode)(0.5) == pytest.approx(np.sqrt(2 * np.pi), rel=1e-15)
    assert d(sc.gammaln, mode)(1.0) == pytest.approx(-np.euler_gamma, rel=1e-14)
    assert d(sc.digamma, mode)(1.0) == pytest.approx(np.pi ** 2 / 6, rel=1e-14)
    assert d(sc.gamma, mode)(2.0) == pytest.approx(1 - np.euler_gamma, rel=1e-14)
    assert d(sc.logit, mode)(0.5) == pytest.approx(4.0, rel=1e-15)
    assert d(sc.i0, mode)(0.0) == 0.0
    assert d(sc.i1, mode)(0.0) == pytest.approx(0.5, rel=1e-15)
    assert d(sc.i0e, mode)(0.0) == 0.0  # the kink of exp(-|x|) gets sign(0) = 0
    assert d(lambda y: sc.xlogy(0.0, y), mode)(0.0) == 0.0  # xlogy(0, y) = 0 for every y
    assert d(lambda x: sc.xlogy(x, 2.0), mode)(0.0) == pytest.approx(np.log(2.0), rel=1e-15)


@pytest.mark.parametrize("outer, inner", NESTINGS)
def test_special_second_derivatives(outer: str, inner: str) -> None:
    assert d2(sc.expit, outer, inner)(0.0) == pytest.approx(0.0, abs=1e-16)
    assert d2(sc.erf, outer, inner)(1.0) == pytest.approx(-4 / np.sqrt(np.pi) * np.exp(-1.0),
                                                          rel=1e-14)
    assert d2(sc.gammaln, outer, inner)(1.0) == pytest.approx(np.pi ** 2 / 6, rel=1e-14)
    assert d2(sc.i1, outer, inner)(0.0) == pytest.approx(0.0, abs=1e-16)
    assert d2(sc.i0, outer, inner)(0.0) == pytest.approx(0.5, rel=1e-15)


@pytest.mark.parametrize("mode", MODES)
def test_calling_scipy_directly(mode: str) -> None:
    x = np.linspace(-2.0, 2.0, 7)
    g = modes.grad(lambda x: np.sum(sc.expit(x)), mode=mode)(x)
    np.testing.assert_allclose(g, sc.expit(x) * (1 - sc.expit(x)), rtol=1e-14)


@pytest.mark.parametrize("mode", MODES)
def test_log_ndtr_is_stable_in_the_lower_tail(mode: str) -> None:
    # d/dx log Phi(x) = phi(x) / Phi(x) ~ -x for x -> -inf, where phi and Phi both underflow.
    g = d(sc.log_ndtr, mode)(-40.0)
    assert np.isfinite(g) and g == pytest.approx(40.0, rel=1e-3)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("call, name", [
    (lambda n: sp.polygamma(n, 1.5), "polygamma"),
    (lambda v: sc.iv(v, 1.5), "iv"),
    (lambda v: sc.jv(v, 1.5), "jv"),
    (lambda a: sc.gammainc(a, 1.5), "gammainc"),
])
def test_constant_arguments_raise_naming_the_function(call: Any, name: str, mode: str) -> None:
    with pytest.raises(RuleError, match=f"scipy.special.{name}"):
        d(call, mode)(2.0)


# ---- drop-ins against scipy on plain input -------------------------------------------------------
A = np.random.default_rng(0).normal(size=(3, 4))
B = np.random.default_rng(1).uniform(-0.5, 1.0, size=(3, 4))


@pytest.mark.parametrize("kw", [{}, {"axis": 0}, {"axis": 1, "keepdims": True}, {"axis": (0, 1)},
                                {"b": B}, {"b": B, "axis": 1}, {"b": B, "return_sign": True},
                                {"b": np.abs(B), "axis": 0, "return_sign": True}])
def test_logsumexp_matches_scipy(kw: dict) -> None:
    mine, theirs = sp.logsumexp(A, **kw), sc.logsumexp(A, **kw)
    if kw.get("return_sign"):
        np.testing.assert_allclose(mine[0], theirs[0], rtol=1e-14)
        np.testing.assert_array_equal(mine[1], theirs[1])
    else:
        assert np.shape(mine) == np.shape(theirs)
        np.testing.assert_allclose(mine, theirs, rtol=1e-14)


def test_drop_ins_match_scipy() -> None:
    assert sp.logsumexp(2.0) == pytest.approx(sc.logsumexp(2.0), rel=1e-15)
    np.testing.assert_allclose(sp.logsumexp(np.array([1000.0, 1000.0])), 1000 + np.log(2.0))
    for axis in (None, 0, 1, -1):
        np.testing.assert_allclose(sp.softmax(A, axis=axis), sc.softmax(A, axis=axis), rtol=1e-14)
        np.testing.assert_allclose(sp.log_softmax(A, axis=axis), sc.log_softmax(A, axis=axis),
                                   rtol=1e-14)
    for dim in (1, 2, 4):
        a = np.array([2.1, 3.7])
        np.testing.assert_allclose(sp.multigammaln(a, dim), sc.multigammaln(a, dim), rtol=1e-14)
    with pytest.raises(ValueError):
        sp.multigammaln(0.9, 3)
    for n in (0, 1, 2, 5):
        np.testing.assert_allclose(sp.polygamma(n, A + 3), sc.polygamma(n, A + 3), rtol=1e-14)


X = np.array([-1.5, -0.2, 0.0, 0.3, 0.9, 1.0, 2.5])
Q = np.array([1e-6, 0.1, 0.5, 0.9, 1 - 1e-6])


@pytest.mark.parametrize("method", ["logpdf", "pdf", "cdf", "logcdf", "sf", "logsf"])
def test_norm_matches_scipy(method: str) -> None:
    for loc, scale in ((0.0, 1.0), (0.4, 2.5), (np.array([0.1, -0.3]), np.array([[0.5], [1.7]]))):
        mine = getattr(ms.norm, method)(X[:, None, None], loc, scale)
        theirs = getattr(ss.norm, method)(X[:, None, None], loc, scale)
        np.testing.assert_allclose(mine, theirs, rtol=1e-13)
    assert np.isnan(getattr(ms.norm, method)(1.0, 0.0, -1.0))
    np.testing.assert_allclose(ms.norm.ppf(Q, 0.3, 1.2), ss.norm.ppf(Q, 0.3, 1.2), rtol=1e-13)


def test_other_distributions_match_scipy() -> None:
    unit = np.array([-0.1, 0.0, 0.2, 0.5, 0.9, 1.0, 1.3])
    for method in ("logpdf", "pdf"):
        for a in (0.5, 1.0, 3.5):
            np.testing.assert_allclose(getattr(ms.gamma, method)(X, a, -0.5, 1.5),
                                       getattr(ss.gamma, method)(X, a, -0.5, 1.5), rtol=1e-13)
            for b in (0.7, 1.0, 2.0):
                np.testing.assert_allclose(getattr(ms.beta, method)(unit, a, b),
                                           getattr(ss.beta, method)(unit, a, b), rtol=1e-13)
        for df in (1.0, 3.5, 30.0):
            np.testing.assert_allclose(getattr(ms.t, method)(X, df, 0.2, 1.3),
                                       getattr(ss.t, method)(X, df, 0.2, 1.3), rtol=1e-13)
    k = np.array([-1.0, 0.0, 1.0, 2.5, 3.0, 12.0])
    for mu in (0.0, 0.4, 6.0):
        np.testing.assert_allclose(ms.poisson.logpmf(k, mu), ss.poisson.logpmf(k, mu), rtol=1e-13)
        np.testing.assert_allclose(ms.poisson.pmf(k, mu, 1), ss.poisson.pmf(k, mu, 1), rtol=1e-13)
    assert np.isnan(ms.gamma.logpdf(1.0, -1.0)) and np.isnan(ss.gamma.logpdf(1.0, -1.0))


# ---- drop-ins against central differences, both modes ----------------------------------------------
DROP_INS = [
    ("logsumexp", lambda a: sp.logsumexp(a), (A,)),
    ("logsumexp(axis=1)", lambda a: np.sum(np.arange(1.0, 4.0) * sp.logsumexp(a, axis=1)), (A,)),
    ("logsumexp(a,b) in a", lambda a, b: sp.logsumexp(a, b=b), (A, np.abs(B))),
    ("softmax", lambda a: np.sum(np.arange(12.0).reshape(3, 4) * sp.softmax(a, axis=0)), (A,)),
    ("log_softmax", lambda a: np.sum(np.arange(12.0).reshape(3, 4) * sp.log_softmax(a)), (A,)),
    ("multigammaln", lambda a: np.sum(sp.multigammaln(a, 3)), (np.array([1.5, 2.5, 4.0]),)),
    ("norm.logpdf in loc", lambda s: np.sum(ms.norm.logpdf(X, 0.3, s)), (np.array([1.3]),)),
    ("gamma.logpdf in a", lambda a: np.sum(ms.gamma.logpdf(X[X > 0], a, 0.0, 1.5)), (2.5,)),
    ("poisson.logpmf in mu", lambda mu: np.sum(ms.poisson.logpmf(np.arange(5.0), mu)), (1.7,)),
]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("label, f, args", DROP_INS, ids=[c[0] for c in DROP_INS])
def test_drop_ins_match_finite_differences(label: str, f: Any, args: tuple, mode: str) -> None:
    assert_close_fd(modes.grad(f, mode=mode)(*args), numerical_jacobian(f, args), what=label)


@pytest.mark.parametrize("mode", MODES)
def test_logsumexp_gradient_is_the_softmax(mode: str) -> None:
    np.testing.assert_allclose(modes.grad(sp.logsumexp, mode=mode)(A), sc.softmax(A), rtol=1e-14)
    g = modes.grad(lambda a: sp.logsumexp(a, b=B, return_sign=True)[0], mode=mode)(A)
    w = B * np.exp(A)
    np.testing.assert_allclose(g, w / np.sum(w), rtol=1e-13)  # d log|s| = ds / s, either sign
    gb = modes.grad(lambda b: sp.logsumexp(A, b=b), mode=mode)(np.abs(B))
    np.testing.assert_allclose(gb, np.exp(A) / np.sum(np.abs(B) * np.exp(A)), rtol=1e-13)


def test_poisson_count_is_not_differentiated() -> None:
    with pytest.raises(TypeError, match="poisson.logpmf"):
        modes.grad(lambda k: ms.poisson.logpmf(k, 2.0))(3.0)


# ---- elementwise conventions --------------------------------------------------------------------
@pytest.mark.parametrize("mode", MODES)
def test_remainder_at_its_jumps(mode: str) -> None:
    # At x = 2, y = 1 remainder jumps; the rule takes the branch that holds there: x - 2 y.
    for rem in (np.remainder, np.mod):
        assert d(rem, mode, 0)(2.0, 1.0) == 1.0
        assert d(rem, mode, 1)(2.0, 1.0) == -2.0
        assert d(rem, mode, 1)(-0.5, 2.0) == 1.0  # floor(-1/4) = -1
    assert d(np.fmod, mode, 1)(-3.5, 1.5) == 2.0  # trunc(-7/3) = -2
    assert d(np.fmod, mode, 1)(3.0, 1.5) == -2.0


@pytest.mark.skipif("__mod__" not in vars(ArrayBox), reason="% is not bound in tracing.py yet")
@pytest.mark.parametrize("mode", MODES)
def test_percent_operator_is_remainder(mode: str) -> None:
    assert d(lambda x, y: x % y, mode, 1)(2.0, 1.0) == -2.0
    assert d(lambda x: 3.5 % x, mode)(1.5) == -2.0


@pytest.mark.parametrize("mode", MODES)
def test_copysign_convention(mode: str) -> None:
    assert d(np.copysign, mode, 0)(1.5, -2.0) == -1.0
    assert d(np.copysign, mode, 0)(-1.5, -2.0) == 1.0
    assert d(np.copysign, mode, 0)(0.0, -2.0) == 0.0  # as abs'(0) = 0: copysign(x, 1) is |x|
    assert d(np.copysign, mode, 1)(1.5, -2.0) == 0.0


@pytest.mark.parametrize("outer, inner", NESTINGS)
def test_sinc_at_zero(outer: str, inner: str) -> None:
    assert d(np.sinc, inner)(0.0) == 0.0
    assert d2(np.sinc, outer, inner)(0.0) == pytest.approx(-np.pi ** 2 / 3, rel=1e-14)
    d4 = modes.grad(modes.grad(d2(np.sinc, outer, inner), mode=inner), mode=outer)
    assert d4(0.0) == pytest.approx(np.pi ** 4 / 5, rel=1e-12)


@pytest.mark.parametrize("mode", MODES)
def test_angles_and_scaling(mode: str) -> None:
    assert d(np.deg2rad, mode)(30.0) == pytest.approx(np.pi / 180, rel=1e-15)
    assert d(np.degrees, mode)(1.0) == pytest.approx(180 / np.pi, rel=1e-15)
    assert d(lambda x: np.ldexp(x, 3), mode)(0.7) == 8.0
    assert d(lambda x: np.float_power(x, 3.0), mode)(2.0) == pytest.approx(12.0, rel=1e-15)
    assert d(lambda x: np.logaddexp2(x, x), mode)(0.3) == pytest.approx(1.0, rel=1e-15)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("f", [
    lambda x: np.floor_divide(x, 0.3), lambda x: np.heaviside(x, 0.5), lambda x: np.round(x, 1),
    lambda x: np.around(x), lambda x: np.round(x, decimals=2), lambda x: np.imag(x),
], ids=["floor_divide", "heaviside", "round", "around", "round(decimals=)", "imag"])
def test_piecewise_constant_results_are_plain(f: Any, mode: str) -> None:
    x = np.array([-1.234, 0.456, 2.5])

    def g(x: Any) -> Any:
        y = f(x)
        assert not isinstance(y, Traced)
        return np.sum(x * y)

    np.testing.assert_array_equal(modes.grad(g, mode=mode)(x), f(x))


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("f", [np.real, np.conj, np.conjugate], ids=["real", "conj", "conjugate"])
def test_real_and_conj_are_the_identity(f: Any, mode: str) -> None:
    x = np.array([-1.2, 0.4, 2.0])
    np.testing.assert_allclose(modes.grad(lambda x: np.sum(f(x) * x), mode=mode)(x), 2 * x)


# ---- without scipy ------------------------------------------------------------------------------
def test_modes_imports_without_scipy() -> None:
    tests = Path(__file__).parent
    code = (
        "import sys; sys.modules['scipy'] = None\n"
        f"sys.path[:0] = [{str(tests)!r}, {str(tests.parent)!r}]\n"
        "import modes, cases_special\n"
        "assert not [n for n in modes.REGISTRY if n.startswith('scipy')]\n"
        "assert cases_special.CASES == {}\n"
        "try:\n    import modes.scipy.special\nexcept ImportError as e:\n"
        "    assert 'modes[scipy]' in str(e)\nelse:\n    raise AssertionError('imported')\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
