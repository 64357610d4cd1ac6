"""Differentiable ``scipy.stats`` densities: ``from modes.scipy.stats import norm`` in place of scipy's.

scipy's distribution objects convert their arguments with ``np.asarray``, so dispatch never reaches
them. These drop-ins keep scipy's call signatures (``norm.logpdf(x, loc=0, scale=1)``, ...), are
composed of registered primitives (every argument but a count may be traced), and return scipy's
values on plain input: -inf (log) or 0 outside the support, nan for invalid parameters.

    norm      logpdf pdf cdf logcdf sf logsf ppf        (x, loc=0, scale=1)
    t         logpdf pdf                                (x, df, loc=0, scale=1)
    gamma     logpdf pdf                                (x, a, loc=0, scale=1)
    beta      logpdf pdf                                (x, a, b, loc=0, scale=1)
    poisson   logpmf pmf                                (k, mu, loc=0); k is a constant count
"""

from __future__ import annotations

from typing import Any

import numpy as np

try:
    import scipy.special as sc
except ImportError as e:  # pragma: no cover - exercised only without the extra
    raise ImportError("modes.scipy.stats needs scipy: pip install 'modes[scipy]'") from e

from ..registry import Traced, plain

__all__ = ["beta", "gamma", "norm", "poisson", "t"]

_HALF_LOG_2PI = float(0.5 * np.log(2 * np.pi))


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


norm = _Norm()
t = _T()
gamma = _Gamma()
beta = _Beta()
poisson = _Poisson()
