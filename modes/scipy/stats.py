"""Differentiable ``scipy.stats`` densities: ``from modes.scipy.stats import norm`` in place of scipy's.

scipy's distribution objects convert their arguments with ``np.asarray``, so dispatch never reaches
them. These drop-ins keep scipy's call signatures (``norm.logpdf(x, loc=0, scale=1)``, ...), are
composed of registered primitives (every argument but a count may be traced), and return scipy's
values on plain input: -inf (log) or 0 outside the support, nan for invalid parameters.

    norm      logpdf pdf cdf logcdf sf logsf ppf        (x, loc=0, scale=1)
    t         logpdf pdf cdf logcdf sf                  (x, df, loc=0, scale=1)
    gamma     logpdf pdf cdf logcdf sf                  (x, a, loc=0, scale=1)
    beta      logpdf pdf cdf logcdf sf                  (x, a, b, loc=0, scale=1)
    chi2      logpdf pdf cdf logcdf sf                  (x, df, loc=0, scale=1)
    expon laplace cauchy logistic uniform
              logpdf pdf cdf logcdf sf logsf            (x, loc=0, scale=1)
    poisson   logpmf pmf cdf sf                         (k, mu, loc=0); k is a constant count
    multivariate_normal  logpdf pdf                     (x, mean=None, cov=1); x (d,) or (n, d)
    dirichlet            logpdf pdf                     (x, alpha); x (K,) or (K, n), as scipy

The distribution functions of t, gamma, beta and chi2 go through stdtr, gammainc(c) and betainc(c),
which modes differentiates in x only: tracing the shape parameter of a cdf/sf (t's df, gamma's a,
beta's a and b, chi2's df) raises ``RuleError`` naming the method and the parameter. Their
densities are differentiable in every parameter.
"""

from __future__ import annotations

from typing import Any

import numpy as np

try:
    import scipy.special as sc
except ImportError as e:  # pragma: no cover - exercised only without the extra
    raise ImportError("modes.scipy.stats needs scipy: pip install 'modes[scipy]'") from e

from ..errors import RuleError
from ..registry import Traced, plain

__all__ = ["beta", "cauchy", "chi2", "dirichlet", "expon", "gamma", "laplace", "logistic",
           "multivariate_normal", "norm", "poisson", "t", "uniform"]

_HALF_LOG_2PI = float(0.5 * np.log(2 * np.pi))
_LOG_2PI = float(np.log(2 * np.pi))
_LOG_PI = float(np.log(np.pi))
_LN2 = float(np.log(2.0))


def _where(ok: Any, value: Any, fill: float) -> Any:
    """``value`` where the plain mask ``ok`` holds, ``fill`` elsewhere (``value`` itself if all hold)."""
    ok = np.asarray(ok)
    if ok.all():
        return value
    return np.where(ok, value, fill)


def _safe(ok: Any, z: Any) -> Any:
    """``z`` with 0.5 where ``ok`` fails: a point of every support, so the discarded branch of
    ``_where`` stays finite and its derivative does not leak nan."""
    ok = np.asarray(ok)
    return z if ok.all() else np.where(ok, z, 0.5)


def _standardize(x: Any, loc: Any, scale: Any) -> Any:
    return (x - loc) / scale


def _constant(method: str, **params: Any) -> None:
    """Raise when a shape parameter that ``method`` cannot be differentiated in is traced."""
    for name, value in params.items():
        if isinstance(value, Traced):
            raise RuleError(
                f"modes.scipy.stats.{method} has no derivative with respect to {name!r} (the "
                f"incomplete beta/gamma functions are differentiated in x only); pass a constant "
                f"{name!r}, or differentiate the density (logpdf/pdf), which supports it.")


def _log(p: Any) -> Any:
    """log(p) of a probability: -inf where p == 0 (p plain there), without a warning."""
    zero = plain(p) == 0
    return _where(~np.asarray(zero), np.log(_safe(~np.asarray(zero), p)), -np.inf)


def _scaled(x: Any, loc: Any, scale: Any, *shapes: Any) -> tuple[Any, Any, Any, tuple]:
    """``(ok, z, scale, shapes)``: ``ok`` the plain mask of valid parameters (scale and shapes > 0),
    the parameters made safe where it fails, and the standardized ``z``."""
    ok = plain(scale) > 0
    for a in shapes:
        ok = ok & (plain(a) > 0)
    scale = _safe(ok, scale)
    shapes = tuple(_safe(ok, a) for a in shapes)
    return ok, _standardize(x, loc, scale), scale, shapes


def _piecewise(z: Any, lo: Any, hi: Any, below: float, above: float, inside: Any) -> Any:
    """``inside(z)`` for lo < z < hi (z made safe elsewhere), ``below``/``above`` outside."""
    zp = plain(z)
    mask = (zp > lo) & (zp < hi)
    value = inside(_safe(mask, z))
    return _where(zp <= lo, below, _where(zp >= hi, above, value))


class _Norm:
    """The normal distribution, ``N(loc, scale**2)``."""

    def logpdf(self, x: Any, loc: Any = 0.0, scale: Any = 1.0) -> Any:
        ok = plain(scale) > 0
        scale = _safe(ok, scale)
        z = _standardize(x, loc, scale)
        return _where(ok, -0.5 * z * z - _HALF_LOG_2PI - np.log(scale), np.nan)

    def pdf(self, x: Any, loc: Any = 0.0, scale: Any = 1.0) -> Any:
        return np.exp(self.logpdf(x, loc, scale))

    def cdf(self, x: Any, loc: Any = 0.0, scale: Any = 1.0) -> Any:
        return _where(plain(scale) > 0, sc.ndtr(_standardize(x, loc, scale)), np.nan)

    def logcdf(self, x: Any, loc: Any = 0.0, scale: Any = 1.0) -> Any:
        return _where(plain(scale) > 0, sc.log_ndtr(_standardize(x, loc, scale)), np.nan)

    def sf(self, x: Any, loc: Any = 0.0, scale: Any = 1.0) -> Any:
        return _where(plain(scale) > 0, sc.ndtr(-_standardize(x, loc, scale)), np.nan)

    def logsf(self, x: Any, loc: Any = 0.0, scale: Any = 1.0) -> Any:
        return _where(plain(scale) > 0, sc.log_ndtr(-_standardize(x, loc, scale)), np.nan)

    def ppf(self, q: Any, loc: Any = 0.0, scale: Any = 1.0) -> Any:
        return _where(plain(scale) > 0, loc + scale * sc.ndtri(q), np.nan)


class _T:
    """Student's t distribution with ``df`` degrees of freedom (finite ``df``)."""

    def logpdf(self, x: Any, df: Any, loc: Any = 0.0, scale: Any = 1.0) -> Any:
        ok = (plain(scale) > 0) & (plain(df) > 0)
        df, scale = _safe(ok, df), _safe(ok, scale)
        z = _standardize(x, loc, scale)
        value = (sc.gammaln((df + 1) / 2) - sc.gammaln(df / 2)
                 - (0.5 * np.log(df * np.pi) + (df + 1) / 2 * np.log1p(z * z / df)) - np.log(scale))
        return _where(ok, value, np.nan)

    def pdf(self, x: Any, df: Any, loc: Any = 0.0, scale: Any = 1.0) -> Any:
        return np.exp(self.logpdf(x, df, loc, scale))

    def cdf(self, x: Any, df: Any, loc: Any = 0.0, scale: Any = 1.0) -> Any:
        _constant("t.cdf", df=df)
        ok, z, scale, (df,) = _scaled(x, loc, scale, df)
        return _where(ok, sc.stdtr(df, z), np.nan)

    def logcdf(self, x: Any, df: Any, loc: Any = 0.0, scale: Any = 1.0) -> Any:
        _constant("t.logcdf", df=df)
        return _log(self.cdf(x, df, loc, scale))

    def sf(self, x: Any, df: Any, loc: Any = 0.0, scale: Any = 1.0) -> Any:
        _constant("t.sf", df=df)
        ok, z, scale, (df,) = _scaled(x, loc, scale, df)
        return _where(ok, sc.stdtr(df, -z), np.nan)


class _Gamma:
    """The gamma distribution with shape ``a``: density ``z**(a-1) exp(-z) / Gamma(a)``, z >= 0."""

    def logpdf(self, x: Any, a: Any, loc: Any = 0.0, scale: Any = 1.0) -> Any:
        ok = (plain(scale) > 0) & (plain(a) > 0)
        a, scale = _safe(ok, a), _safe(ok, scale)
        z = _standardize(x, loc, scale)
        inside = plain(z) >= 0
        z = _safe(inside, z)
        value = sc.xlogy(a - 1, z) - z - sc.gammaln(a) - np.log(scale)
        return _where(ok, _where(inside, value, -np.inf), np.nan)

    def pdf(self, x: Any, a: Any, loc: Any = 0.0, scale: Any = 1.0) -> Any:
        return np.exp(self.logpdf(x, a, loc, scale))

    def cdf(self, x: Any, a: Any, loc: Any = 0.0, scale: Any = 1.0) -> Any:
        _constant("gamma.cdf", a=a)
        ok, z, scale, (a,) = _scaled(x, loc, scale, a)
        return _where(ok, _piecewise(z, 0.0, np.inf, 0.0, 1.0, lambda z: sc.gammainc(a, z)), np.nan)

    def logcdf(self, x: Any, a: Any, loc: Any = 0.0, scale: Any = 1.0) -> Any:
        _constant("gamma.logcdf", a=a)
        return _log(self.cdf(x, a, loc, scale))

    def sf(self, x: Any, a: Any, loc: Any = 0.0, scale: Any = 1.0) -> Any:
        _constant("gamma.sf", a=a)
        ok, z, scale, (a,) = _scaled(x, loc, scale, a)
        return _where(ok, _piecewise(z, 0.0, np.inf, 1.0, 0.0, lambda z: sc.gammaincc(a, z)),
                      np.nan)


class _Beta:
    """The beta distribution: density ``z**(a-1) (1-z)**(b-1) / B(a, b)`` on [0, 1]."""

    def logpdf(self, x: Any, a: Any, b: Any, loc: Any = 0.0, scale: Any = 1.0) -> Any:
        ok = (plain(scale) > 0) & (plain(a) > 0) & (plain(b) > 0)
        a, b, scale = _safe(ok, a), _safe(ok, b), _safe(ok, scale)
        z = _standardize(x, loc, scale)
        inside = (plain(z) >= 0) & (plain(z) <= 1)
        z = _safe(inside, z)
        value = sc.xlog1py(b - 1, -z) + sc.xlogy(a - 1, z) - sc.betaln(a, b) - np.log(scale)
        return _where(ok, _where(inside, value, -np.inf), np.nan)

    def pdf(self, x: Any, a: Any, b: Any, loc: Any = 0.0, scale: Any = 1.0) -> Any:
        return np.exp(self.logpdf(x, a, b, loc, scale))

    def cdf(self, x: Any, a: Any, b: Any, loc: Any = 0.0, scale: Any = 1.0) -> Any:
        _constant("beta.cdf", a=a, b=b)
        ok, z, scale, (a, b) = _scaled(x, loc, scale, a, b)
        return _where(ok, _piecewise(z, 0.0, 1.0, 0.0, 1.0, lambda z: sc.betainc(a, b, z)), np.nan)

    def logcdf(self, x: Any, a: Any, b: Any, loc: Any = 0.0, scale: Any = 1.0) -> Any:
        _constant("beta.logcdf", a=a, b=b)
        return _log(self.cdf(x, a, b, loc, scale))

    def sf(self, x: Any, a: Any, b: Any, loc: Any = 0.0, scale: Any = 1.0) -> Any:
        _constant("beta.sf", a=a, b=b)
        ok, z, scale, (a, b) = _scaled(x, loc, scale, a, b)
        return _where(ok, _piecewise(z, 0.0, 1.0, 1.0, 0.0, lambda z: sc.betaincc(a, b, z)), np.nan)


class _Poisson:
    """The Poisson distribution with mean ``mu``; the count ``k`` is a constant."""

    def logpmf(self, k: Any, mu: Any, loc: Any = 0) -> Any:
        if isinstance(k, Traced) or isinstance(loc, Traced):
            raise TypeError("poisson.logpmf: k and loc are counts, not differentiable; pass them "
                            "as plain numbers or arrays and trace mu only")
        k = np.asarray(k, dtype=np.float64) - loc
        ok = plain(mu) >= 0
        mu = _safe(ok, mu)
        inside = (k >= 0) & (k == np.floor(k))
        k = np.where(inside, k, 0.0)
        value = sc.xlogy(k, mu) - sc.gammaln(k + 1) - mu
        return _where(ok, _where(inside, value, -np.inf), np.nan)

    def pmf(self, k: Any, mu: Any, loc: Any = 0) -> Any:
        return np.exp(self.logpmf(k, mu, loc))

    def _count(self, method: str, k: Any, loc: Any) -> np.ndarray:
        if isinstance(k, Traced) or isinstance(loc, Traced):
            raise TypeError(f"poisson.{method}: k and loc are counts, not differentiable; pass "
                            "them as plain numbers or arrays and trace mu only")
        return np.floor(np.asarray(k, dtype=np.float64) - loc)

    def cdf(self, k: Any, mu: Any, loc: Any = 0) -> Any:
        """P(K <= k) = Q(floor(k) + 1, mu), the regularized upper incomplete gamma (scipy's pdtr)."""
        k = self._count("cdf", k, loc)
        ok = plain(mu) >= 0
        mu = _safe(ok, mu)
        inside = k >= 0
        value = sc.gammaincc(np.where(inside, k, 0.0) + 1, mu)
        return _where(ok, _where(inside, value, 0.0), np.nan)

    def sf(self, k: Any, mu: Any, loc: Any = 0) -> Any:
        """P(K > k) = P(floor(k) + 1, mu) (scipy's pdtrc)."""
        k = self._count("sf", k, loc)
        ok = plain(mu) >= 0
        mu = _safe(ok, mu)
        inside = k >= 0
        value = sc.gammainc(np.where(inside, k, 0.0) + 1, mu)
        return _where(ok, _where(inside, value, 1.0), np.nan)


class _Chi2:
    """The chi-squared distribution with ``df`` degrees of freedom: gamma(df / 2, scale 2)."""

    def logpdf(self, x: Any, df: Any, loc: Any = 0.0, scale: Any = 1.0) -> Any:
        return gamma.logpdf(x, df / 2, loc, 2 * scale)

    def pdf(self, x: Any, df: Any, loc: Any = 0.0, scale: Any = 1.0) -> Any:
        return np.exp(self.logpdf(x, df, loc, scale))

    def cdf(self, x: Any, df: Any, loc: Any = 0.0, scale: Any = 1.0) -> Any:
        _constant("chi2.cdf", df=df)
        return gamma.cdf(x, df / 2, loc, 2 * scale)

    def logcdf(self, x: Any, df: Any, loc: Any = 0.0, scale: Any = 1.0) -> Any:
        _constant("chi2.logcdf", df=df)
        return _log(self.cdf(x, df, loc, scale))

    def sf(self, x: Any, df: Any, loc: Any = 0.0, scale: Any = 1.0) -> Any:
        _constant("chi2.sf", df=df)
        return gamma.sf(x, df / 2, loc, 2 * scale)


class _LocScale:
    """A location-scale family without shape parameters: the standard form's ``_logpdf``,
    ``_cdf``, ``_sf`` (and ``_logcdf``, ``_logsf`` where a stable form exists) of z."""

    def _logcdf(self, z: Any) -> Any:
        return _log(self._cdf(z))

    def _logsf(self, z: Any) -> Any:
        return _log(self._sf(z))

    def _apply(self, method: Any, x: Any, loc: Any, scale: Any, shift_log: bool = False) -> Any:
        ok, z, scale, _ = _scaled(x, loc, scale)
        value = method(z)
        if shift_log:
            value = value - np.log(scale)
        return _where(ok, value, np.nan)

    def logpdf(self, x: Any, loc: Any = 0.0, scale: Any = 1.0) -> Any:
        return self._apply(self._logpdf, x, loc, scale, shift_log=True)

    def pdf(self, x: Any, loc: Any = 0.0, scale: Any = 1.0) -> Any:
        return np.exp(self.logpdf(x, loc, scale))

    def cdf(self, x: Any, loc: Any = 0.0, scale: Any = 1.0) -> Any:
        return self._apply(self._cdf, x, loc, scale)

    def logcdf(self, x: Any, loc: Any = 0.0, scale: Any = 1.0) -> Any:
        return self._apply(self._logcdf, x, loc, scale)

    def sf(self, x: Any, loc: Any = 0.0, scale: Any = 1.0) -> Any:
        return self._apply(self._sf, x, loc, scale)

    def logsf(self, x: Any, loc: Any = 0.0, scale: Any = 1.0) -> Any:
        return self._apply(self._logsf, x, loc, scale)


class _Expon(_LocScale):
    """The exponential distribution: density ``exp(-z)``, z >= 0."""

    def _logpdf(self, z: Any) -> Any:
        inside = plain(z) >= 0
        return _where(inside, -_safe(inside, z), -np.inf)

    def _cdf(self, z: Any) -> Any:
        inside = plain(z) >= 0
        return _where(inside, -np.expm1(-_safe(inside, z)), 0.0)

    def _sf(self, z: Any) -> Any:
        inside = plain(z) >= 0
        return _where(inside, np.exp(-_safe(inside, z)), 1.0)

    def _logsf(self, z: Any) -> Any:
        inside = plain(z) >= 0
        return _where(inside, -_safe(inside, z), 0.0)


class _Laplace(_LocScale):
    """The Laplace distribution: density ``exp(-|z|) / 2``."""

    def _logpdf(self, z: Any) -> Any:
        return -np.abs(z) - _LN2

    def _half_tail(self, z: Any) -> Any:  # exp(-|z|) / 2, with the side z <= 0 differentiated as exp(z)
        return 0.5 * np.exp(np.where(plain(z) > 0, -z, z))

    def _cdf(self, z: Any) -> Any:
        tail = self._half_tail(z)
        return np.where(plain(z) > 0, 1 - tail, tail)

    def _sf(self, z: Any) -> Any:
        return self._cdf(-z)


class _Cauchy(_LocScale):
    """The Cauchy distribution: density ``1 / (pi (1 + z^2))``."""

    def _logpdf(self, z: Any) -> Any:
        return -_LOG_PI - np.log1p(z * z)

    def _cdf(self, z: Any) -> Any:
        return np.arctan2(1.0, -z) / np.pi

    def _sf(self, z: Any) -> Any:
        return np.arctan2(1.0, z) / np.pi


class _Logistic(_LocScale):
    """The logistic distribution: cdf ``expit(z)``."""

    def _logpdf(self, z: Any) -> Any:
        y = -np.abs(z)  # symmetric: abs'(0) = 0 is the true derivative here
        return y - 2 * np.log1p(np.exp(y))

    def _cdf(self, z: Any) -> Any:
        return sc.expit(z)

    def _sf(self, z: Any) -> Any:
        return sc.expit(-z)

    def _logcdf(self, z: Any) -> Any:
        return sc.log_expit(z)

    def _logsf(self, z: Any) -> Any:
        return sc.log_expit(-z)


class _Uniform(_LocScale):
    """The uniform distribution on [loc, loc + scale]."""

    def _logpdf(self, z: Any) -> Any:
        zp = plain(z)
        return np.where((zp >= 0) & (zp <= 1), 0.0, -np.inf)

    def _cdf(self, z: Any) -> Any:
        return np.clip(z, 0.0, 1.0)

    def _sf(self, z: Any) -> Any:
        return np.clip(1 - z, 0.0, 1.0)


# ---- multivariate ----------------------------------------------------------------------------------
def _squeeze(out: Any) -> Any:
    """scipy's ``_squeeze_output``: drop axes of length 1, a 0-d result as a scalar."""
    if 1 in np.shape(out):
        out = np.squeeze(out)
    if isinstance(out, Traced) or np.ndim(out):
        return out
    return np.float64(out)


class _MultivariateNormal:
    """The multivariate normal distribution ``N(mean, cov)`` in d dimensions.

    ``x`` is (d,) for one point or (..., d) for many (for d == 1, a (n,) ``x`` is n points, as
    scipy); ``mean`` (d,) or None (zeros); ``cov`` (d, d), (d,) (a diagonal) or a scalar (times the
    identity). d is inferred as scipy does (from mean, else from a 2-d cov, else 1). All three may
    be traced. The result is squeezed as scipy's.
    """

    def logpdf(self, x: Any, mean: Any = None, cov: Any = 1, allow_singular: bool = False) -> Any:
        # The dimension as scipy infers it: from mean, else from a 2-d cov, else 1.
        d = (np.size(plain(mean)) if mean is not None else
             np.shape(plain(cov))[0] if np.ndim(plain(cov)) == 2 else 1)
        if not isinstance(mean, Traced) and mean is not None:
            mean = np.asarray(mean, dtype=np.float64)
        if not isinstance(cov, Traced):
            cov = np.asarray(cov, dtype=np.float64)
        if not isinstance(x, Traced):
            x = np.asarray(x, dtype=np.float64)
        if np.ndim(plain(cov)) == 0:
            cov = cov * np.eye(d)
        elif np.ndim(plain(cov)) == 1:
            cov = np.eye(d) * cov
        if np.shape(plain(cov)) != (d, d):
            raise ValueError(f"multivariate_normal.logpdf: cov has shape {np.shape(plain(cov))}, "
                             f"expected ({d}, {d})")
        if np.ndim(plain(x)) == 0:
            x = np.reshape(x, (1,))
        if np.ndim(plain(x)) == 1:
            x = np.reshape(x, (-1, 1)) if d == 1 else np.reshape(x, (1, d))
        batch = np.shape(plain(x))[:-1]
        diff = x if mean is None else x - mean
        try:
            chol = np.linalg.cholesky(cov)
        except np.linalg.LinAlgError as e:
            raise np.linalg.LinAlgError(
                "multivariate_normal.logpdf: cov is not symmetric positive definite (modes needs "
                "its Cholesky factor; singular covariances are not supported)") from e
        z = np.linalg.solve(chol, np.transpose(np.reshape(diff, (-1, d))))  # (d, N)
        maha = np.reshape(np.sum(z * z, axis=0), batch)
        logdet = np.linalg.slogdet(cov)[1]
        return _squeeze(-0.5 * (d * _LOG_2PI + logdet + maha))

    def pdf(self, x: Any, mean: Any = None, cov: Any = 1, allow_singular: bool = False) -> Any:
        return np.exp(self.logpdf(x, mean, cov, allow_singular))


class _Dirichlet:
    """The Dirichlet distribution with concentrations ``alpha`` (K,).

    ``x`` is (K,) or (K, n) (components on the first axis, as scipy), or has K - 1 components, the
    last one then ``1 - sum``. Both may be traced; invalid ``x`` raises ValueError as scipy.
    """

    def logpdf(self, x: Any, alpha: Any) -> Any:
        ap = np.asarray(plain(alpha), dtype=np.float64)
        if ap.ndim != 1 or np.min(ap) <= 0:
            raise ValueError("dirichlet.logpdf: alpha must be a 1-d vector of positive numbers")
        xp = np.asarray(plain(x), dtype=np.float64)
        k = ap.shape[0]
        if xp.shape[0] == k - 1:
            x = np.concatenate([x, 1 - np.sum(x, axis=0, keepdims=True)], axis=0)
            xp = np.asarray(plain(x))
        elif xp.shape[0] != k:
            raise ValueError(f"dirichlet.logpdf: x has {xp.shape[0]} entries on its first axis, "
                             f"expected {k} or {k - 1} (alpha.shape = {ap.shape})")
        if np.min(xp) < 0 or np.max(xp) > 1 or np.any(np.abs(np.sum(xp, 0) - 1) > 1e-9):
            raise ValueError("dirichlet.logpdf: each x must lie in the simplex (entries in [0, 1] "
                             "summing to one)")
        a = alpha if xp.ndim == 1 else np.reshape(alpha, (k,) + (1,) * (xp.ndim - 1))
        log_b = np.sum(sc.gammaln(alpha)) - sc.gammaln(np.sum(alpha))
        return _squeeze(np.sum(sc.xlogy(a - 1, x), axis=0) - log_b)

    def pdf(self, x: Any, alpha: Any) -> Any:
        return np.exp(self.logpdf(x, alpha))


norm = _Norm()
t = _T()
gamma = _Gamma()
beta = _Beta()
poisson = _Poisson()
chi2 = _Chi2()
expon = _Expon()
laplace = _Laplace()
cauchy = _Cauchy()
logistic = _Logistic()
uniform = _Uniform()
multivariate_normal = _MultivariateNormal()
dirichlet = _Dirichlet()
