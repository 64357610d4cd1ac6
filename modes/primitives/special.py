"""scipy.special ufuncs: elementwise partials, registered only when scipy is installed.

scipy's special functions are numpy ufuncs, so a traced argument reaches them through
``__array_ufunc__``: each row registers the primitive ``scipy.special.<name>`` under its ufunc.
Every partial is written with scipy.special functions, so it is differentiable again. polygamma is
a Python function in scipy (it converts its arguments with ``np.asarray``): its primitive here is
the drop-in that ``modes.scipy.special.polygamma`` exports.

Orders and shape parameters with no closed-form derivative (the ``n`` of polygamma and yn, the
``v`` of iv, ive, jv (= jn), kv, the ``a`` of gammainc, gammaincc, the ``a``, ``b`` of betainc,
betaincc, the ``df`` of stdtr) have a rule that raises ``RuleError`` naming the function: pass a
constant there. scipy's own copies of numpy functions (expm1, log1p, cbrt, exp2: other ufunc
objects than numpy's) reuse the numpy row's partials; scipy.special.sinc is np.sinc itself, and
scipy.special.round (piecewise constant) is not bound. Conventions: i0e, i1e, ive carry exp(-|x|), whose kink at 0 gets
sign(0) = 0, as abs; entr, xlogy and xlog1py have infinite partials where their value is finite
(entr at 0, xlogy at y = 0, xlog1py at y = -1), taken as 0 where they meet an exact zero tangent
or bar; xlogy(0, y) and xlog1py(0, y) are 0 for every y, so their partial in y is 0 at x = 0.

Cost (``modes.flops``): one operation per element of the result for every row (the elementwise
default): a special-function call counts as one, like a transcendental ufunc, whatever its series.
"""

from __future__ import annotations

import numpy as np

from ..errors import RuleError
from ..registry import Primitive
from .bind import REGISTRY, UFUNC, elementwise

try:
    import scipy.special as sc
except ImportError:  # the scipy extra is not installed: register nothing
    sc = None

# The registered primitives by scipy name (psi is digamma): empty without scipy.
SPECIAL: dict[str, Primitive] = {}

_TWO_OVER_SQRT_PI = float(2 / np.sqrt(np.pi))
_SQRT_PI_OVER_TWO = float(np.sqrt(np.pi) / 2)
_INV_SQRT_2PI = float(1 / np.sqrt(2 * np.pi))
_SQRT_2PI = float(np.sqrt(2 * np.pi))
_LN10 = float(np.log(10.0))
_DEG = float(np.pi / 180)


def _constant_only(name: str, arg: str):
    """The rule of an argument ``name`` cannot be differentiated in: raises when it is traced."""

    def rule(ans, *args):
        raise RuleError(
            f"scipy.special.{name} has no derivative with respect to {arg!r} in modes; pass a "
            f"constant (a plain number or array) as {arg!r} and trace the other arguments only."
        )

    return rule


def _row(name: str, *partials, fn=None) -> Primitive:
    """Register ``scipy.special.<name>`` (its ufunc unless ``fn`` is given) with its partials."""
    func = getattr(sc, name)
    p = elementwise(fn or func, f"scipy.special.{name}", *partials)
    if isinstance(func, np.ufunc):
        UFUNC[func] = p
    SPECIAL[name] = p
    return p


def _nonzero_where_x(x, y):  # y, with 1 where x == 0: the x * (...) / y partials vanish there
    return np.where(x == 0, 1.0, y)


def _register() -> None:
    # ---- logistic, error function, normal distribution -------------------------------------------
    _row("expit", lambda ans, x: ans * (1 - ans))
    _row("logit", lambda ans, x: 1 / (x * (1 - x)))
    _row("log_expit", lambda ans, x: sc.expit(-x))
    _row("erf", lambda ans, x: _TWO_OVER_SQRT_PI * np.exp(-x * x))
    _row("erfc", lambda ans, x: -_TWO_OVER_SQRT_PI * np.exp(-x * x))
    _row("erfcx", lambda ans, x: 2 * x * ans - _TWO_OVER_SQRT_PI)
    _row("erfinv", lambda ans, x: _SQRT_PI_OVER_TWO * np.exp(ans * ans))
    _row("erfcinv", lambda ans, x: -_SQRT_PI_OVER_TWO * np.exp(ans * ans))
    _row("ndtr", lambda ans, x: _INV_SQRT_2PI * np.exp(-0.5 * x * x))
    # pdf / cdf as one exponential: stable far in the lower tail, where both underflow.
    _row("log_ndtr", lambda ans, x: _INV_SQRT_2PI * np.exp(-0.5 * x * x - ans))
    _row("ndtri", lambda ans, x: _SQRT_2PI * np.exp(0.5 * ans * ans))

    # ---- gamma family ---------------------------------------------------------------------------
    polygamma = _row("polygamma",
                     _constant_only("polygamma", "n"),
                     lambda ans, n, x: polygamma(n + 1, x))
    digamma = _row("digamma", lambda ans, x: polygamma(1, x))
    UFUNC[sc.psi] = digamma
    _row("gammaln", lambda ans, x: sc.digamma(x))
    _row("loggamma", lambda ans, x: sc.digamma(x))
    _row("gamma", lambda ans, x: ans * sc.digamma(x))
    _row("betaln",
         lambda ans, a, b: sc.digamma(a) - sc.digamma(a + b),
         lambda ans, a, b: sc.digamma(b) - sc.digamma(a + b))
    # d/dx P(a, x) = x^(a-1) e^(-x) / Gamma(a), in logs (xlogy: finite at x = 0 for a = 1).
    _row("gammainc",
         _constant_only("gammainc", "a"),
         lambda ans, a, x: np.exp(sc.xlogy(a - 1, x) - x - sc.gammaln(a)))
    _row("gammaincc",
         _constant_only("gammaincc", "a"),
         lambda ans, a, x: -np.exp(sc.xlogy(a - 1, x) - x - sc.gammaln(a)))

    # ---- entropies ------------------------------------------------------------------------------
    for p in (
        _row("xlogy",
             lambda ans, x, y: np.log(y),
             lambda ans, x, y: x / _nonzero_where_x(x, y)),
        _row("xlog1py",
             lambda ans, x, y: np.log1p(y),
             lambda ans, x, y: x / _nonzero_where_x(x, 1 + y)),
        _row("entr", lambda ans, x: -(np.log(x) + 1)),
    ):
        p.strong_zero = True

    # ---- Bessel functions: I_v' = (I_{v-1} + I_{v+1}) / 2, J_v' = (J_{v-1} - J_{v+1}) / 2 -------
    _row("iv",
         _constant_only("iv", "v"),
         lambda ans, v, x: 0.5 * (sc.iv(v - 1, x) + sc.iv(v + 1, x)))
    _row("ive",
         _constant_only("ive", "v"),
         lambda ans, v, x: 0.5 * (sc.ive(v - 1, x) + sc.ive(v + 1, x)) - np.sign(x) * ans)
    _row("jv",
         _constant_only("jv", "v"),
         lambda ans, v, x: 0.5 * (sc.jv(v - 1, x) - sc.jv(v + 1, x)))
    _row("i0", lambda ans, x: sc.i1(x))
    # i1' = i0 - i1 / x = (i0 + i2) / 2: no division, 1/2 at 0.
    _row("i1", lambda ans, x: 0.5 * (sc.i0(x) + sc.iv(2.0, x)))
    _row("i0e", lambda ans, x: sc.i1e(x) - np.sign(x) * ans)
    _row("i1e", lambda ans, x: 0.5 * (sc.i0e(x) + sc.ive(2.0, x)) - np.sign(x) * ans)
    _row("j0", lambda ans, x: -sc.j1(x))
    # j1' = j0 - j1 / x = (j0 - j2) / 2: no division, 1/2 at 0.
    _row("j1", lambda ans, x: 0.5 * (sc.j0(x) - sc.jv(2.0, x)))
    # scipy.special.jn is the jv ufunc itself (one object): jv's row covers it.
    _row("y0", lambda ans, x: -sc.y1(x))
    _row("y1", lambda ans, x: sc.y0(x) - sc.y1(x) / x)
    _row("yn",
         _constant_only("yn", "n"),
         lambda ans, n, x: 0.5 * (sc.yn(n - 1, x) - sc.yn(n + 1, x)))
    # K_v' = -(K_{v-1} + K_{v+1}) / 2
    _row("kv",
         _constant_only("kv", "v"),
         lambda ans, v, x: -0.5 * (sc.kv(v - 1, x) + sc.kv(v + 1, x)))

    # ---- more gamma family, error functions ----------------------------------------------------
    _row("rgamma", lambda ans, x: -ans * sc.digamma(x))
    _row("beta",
         lambda ans, a, b: ans * (sc.digamma(a) - sc.digamma(a + b)),
         lambda ans, a, b: ans * (sc.digamma(b) - sc.digamma(a + b)))
    _row("erfi", lambda ans, x: _TWO_OVER_SQRT_PI * np.exp(x * x))
    _row("dawsn", lambda ans, x: 1 - 2 * x * ans)

    # ---- distribution functions: the derivative in x is the density ------------------------------
    # d/dx I_x(a, b) = x^(a-1) (1-x)^(b-1) / B(a, b), in logs.
    _row("betainc",
         _constant_only("betainc", "a"),
         _constant_only("betainc", "b"),
         lambda ans, a, b, x: np.exp(sc.xlogy(a - 1, x) + sc.xlog1py(b - 1, -x) - sc.betaln(a, b)))
    _row("betaincc",
         _constant_only("betaincc", "a"),
         _constant_only("betaincc", "b"),
         lambda ans, a, b, x: -np.exp(sc.xlogy(a - 1, x) + sc.xlog1py(b - 1, -x)
                                      - sc.betaln(a, b)))
    # Student's t cdf: d/dt is the t density with df degrees of freedom.
    _row("stdtr",
         _constant_only("stdtr", "df"),
         lambda ans, df, t: np.exp(sc.gammaln((df + 1) / 2) - sc.gammaln(df / 2)
                                   - 0.5 * np.log(df * np.pi)
                                   - (df + 1) / 2 * np.log1p(t * t / df)))

    # ---- scipy's own copies of numpy functions: other ufunc objects, numpy's rules ----------------
    for name in ("expm1", "log1p", "cbrt", "exp2"):
        p = _row(name, *REGISTRY[name].partials)
        p.strong_zero = REGISTRY[name].strong_zero
    _row("exp10", lambda ans, x: _LN10 * ans)
    _row("sindg", lambda ans, x: _DEG * sc.cosdg(x))
    _row("cosdg", lambda ans, x: -_DEG * sc.sindg(x))
    _row("tandg", lambda ans, x: _DEG * (1 + ans * ans))
    _row("cotdg", lambda ans, x: -_DEG * (1 + ans * ans))
    # radian(d, m, s) = pi / 180 * (d + m / 60 + s / 3600): linear.
    _row("radian",
         lambda ans, d, m, s: _DEG,
         lambda ans, d, m, s: _DEG / 60,
         lambda ans, d, m, s: _DEG / 3600)


if sc is not None:
    _register()
