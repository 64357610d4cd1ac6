"""Differentiable ``scipy.special``: ``import modes.scipy.special as sp`` in place of scipy's module.

The ufuncs (expit, erf, gammaln, ...) are scipy's own: a traced argument reaches their registered
primitives by dispatch, so calling ``scipy.special.expit`` directly works just as well. logsumexp,
softmax, log_softmax, polygamma and multigammaln are Python functions in scipy (they convert their
arguments with ``np.asarray``, so dispatch never reaches them): these are drop-ins with scipy's
signatures, composed of registered primitives, returning scipy's values on plain input.
"""

from __future__ import annotations

from typing import Any

import numpy as np

try:
    import scipy.special as _sc
except ImportError as e:  # pragma: no cover - exercised only without the extra
    raise ImportError("modes.scipy.special needs scipy: pip install 'modes[scipy]'") from e

from scipy.special import (  # noqa: F401  (re-exported: differentiable through dispatch)
    beta, betainc, betaincc, betaln, cbrt, cosdg, cotdg, dawsn, digamma, entr, erf, erfc, erfcinv,
    erfcx, erfi, erfinv, exp2, exp10, expit, expm1, gamma, gammainc, gammaincc, gammaln, i0, i0e,
    i1, i1e, iv, ive, j0, j1, jn, jv, kv, log1p, log_expit, log_ndtr, loggamma, logit, ndtr, ndtri,
    psi, radian, rgamma, sindg, stdtr, tandg, xlog1py, xlogy, y0, y1, yn,
)

from ..primitives.special import SPECIAL
from ..registry import plain

__all__ = [
    "beta", "betainc", "betaincc", "betaln", "cbrt", "cosdg", "cotdg", "dawsn", "digamma", "entr",
    "erf", "erfc", "erfcinv", "erfcx", "erfi", "erfinv", "exp2", "exp10", "expit", "expm1", "gamma",
    "gammainc", "gammaincc", "gammaln", "i0", "i0e", "i1", "i1e", "iv", "ive", "j0", "j1", "jn",
    "jv", "kv", "log1p", "log_expit", "log_ndtr", "log_softmax", "loggamma", "logit", "logsumexp",
    "multigammaln", "ndtr", "ndtri", "polygamma", "psi", "radian", "rgamma", "sindg", "softmax",
    "stdtr", "tandg", "xlog1py", "xlogy", "y0", "y1", "yn",
]

# polygamma(n, x): the registered primitive (n a constant integer; d/dx is polygamma(n + 1, x)).
polygamma = SPECIAL["polygamma"]


def _shift(a: Any, axis: Any, where: Any = None) -> np.ndarray:
    """The plain max over ``axis`` (keepdims), 0 where it is not finite: it cancels in the
    derivative, so it carries none; it only keeps exp from overflowing."""
    v = np.asarray(plain(a), dtype=np.float64)
    if where is not None:
        v = np.where(where, v, -np.inf)
    m = np.max(v, axis=axis, keepdims=True, initial=-np.inf)
    return np.where(np.isfinite(m), m, 0.0)


def logsumexp(a: Any, axis: Any = None, b: Any = None, keepdims: bool = False,
              return_sign: bool = False) -> Any:
    """``log(sum(b * exp(a), axis))``, computed stably; ``a`` and ``b`` may be traced.

    Its gradient in ``a`` is the (weighted) softmax. With ``return_sign=True`` returns
    ``(log|sum|, sign)``, the sign a plain array; otherwise a negative sum gives nan, as scipy.
    """
    m = _shift(a, axis, None if b is None else plain(b) != 0)
    e = np.exp(a - m)
    if b is not None:
        e = b * e
    s = np.sum(e, axis=axis, keepdims=keepdims)
    m = m if keepdims else np.squeeze(m, axis=axis)
    if return_sign:
        sign = np.sign(plain(s))
        return np.log(np.abs(s)) + m, sign
    with np.errstate(invalid="ignore"):
        return np.log(s) + m


def softmax(x: Any, axis: Any = None) -> Any:
    """``exp(x) / sum(exp(x), axis)``, computed stably; ``x`` may be traced."""
    e = np.exp(x - _shift(x, axis))
    return e / np.sum(e, axis=axis, keepdims=True)


def log_softmax(x: Any, axis: Any = None) -> Any:
    """``x - logsumexp(x, axis)``, computed stably; ``x`` may be traced."""
    shifted = x - _shift(x, axis)
    return shifted - np.log(np.sum(np.exp(shifted), axis=axis, keepdims=True))


def multigammaln(a: Any, d: int) -> Any:
    """The log of the multivariate gamma function of dimension ``d`` (a constant integer)."""
    if not (np.isscalar(d) and int(d) == d and d >= 1):
        raise ValueError(f"multigammaln: d must be a positive integer, got {d!r}")
    d = int(d)
    if np.any(np.asarray(plain(a)) <= 0.5 * (d - 1)):
        raise ValueError(f"multigammaln: condition a > 0.5 * (d - 1) = {0.5 * (d - 1)} not met")
    out = d * (d - 1) * 0.25 * np.log(np.pi)
    for j in range(d):
        out = out + _sc.gammaln(a - 0.5 * j)
    return out
