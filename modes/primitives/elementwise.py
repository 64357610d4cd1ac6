"""Elementwise primitives: one row per function, its numpy ufunc and its partial derivatives.

Each partial is ``partial_i(ans, *args)``, evaluated pointwise with numpy calls (so it can itself be
differentiated). The integer literals ``1`` and ``-1`` mark constant partials: the modes then pass
the tangent or bar through (negated) without multiplying or storing anything.

Conventions at kinks (forward and reverse agree because both use these same rows):
  abs'(0) = 0 (the sign);  maximum/minimum at ties give 1/2 to each argument;
  clip has derivative 1 on the closed interval [a_min, a_max] and 0 outside;
  sqrt'(0) = +inf (the limit); wherever an infinite derivative meets an exact zero (a zero tangent
  or bar, or a zero partial further on) both modes take the product as 0;  hypot and norms give 0
  at the origin;  sign, floor, ... have 0.
  remainder (np.mod, %) and fmod at their jumps: 1 in x, -floor(x / y) (fmod: -trunc(x / y)) in y,
  the one-sided derivative of the branch that holds there (as autograd and JAX);
  copysign(x, y) is |x| * sign(y): sign(x) * copysign(1, y) in x (0 at x == 0, as abs), nothing in y;
  sinc'(0) = 0 and sinc''(0) = -pi^2 / 3 (a Taylor series near 0, so every order is exact there).
Piecewise-constant functions (floor_divide, heaviside, np.round / np.around) are bound with
``no_derivative``, like floor: they return plain values. Of a real value, np.imag is a plain 0 and
np.real, np.conj are the identity.

Cost (``modes.flops``): every row is one operation per element of the result (the default of the
form), whatever the ufunc does inside: an add and an exp alike. Two rows state their own: ``where``
only selects (0) and ``clip`` compares with both bounds (2 per element).
"""

from __future__ import annotations

import operator

import numpy as np

from ..flops import moves_data, per_element
from ..registry import Primitive, plain
from .bind import FUNC, OP, UFUNC, elementwise, no_derivative

_LN2 = float(np.log(2.0))
_LN10 = float(np.log(10.0))
_DEG = float(np.pi / 180)


def _safe_log(x):  # log(x) where x > 0, 0 at x == 0 (where a power's exponent partial is 0 * log 0)
    return np.log(np.where(x == 0, 1.0, x))


def _nonzero(a):  # a with zeros replaced by 1, for partials that are 0/0 at the origin
    return np.where(a == 0, 1.0, a)


# ---- arithmetic -----------------------------------------------------------------------------------
# add, subtract, multiply and negative evaluate with Python's operators: the same as numpy's ufuncs
# on arrays, and several times faster on Python floats (the scalar-loop regime).
add = elementwise(operator.add, "add", lambda ans, x, y: 1, lambda ans, x, y: 1)
subtract = elementwise(operator.sub, "subtract", lambda ans, x, y: 1, lambda ans, x, y: -1)
multiply = elementwise(operator.mul, "multiply", lambda ans, x, y: y, lambda ans, x, y: x)
divide = elementwise(np.divide, "divide", lambda ans, x, y: 1 / y, lambda ans, x, y: -ans / y)
def _power_partial_base(ans, x, y):
    if type(y) in (int, float) and y == 2:
        return 2 * x  # the common square, in one pass
    return y * x ** (y - 1)


def _power(x, y):
    # ndarray ** scalar takes numpy's fast paths (x ** 2 is a square); np.power keeps real results
    # for Python floats (a negative float to a fractional power is nan, not complex).
    return x ** y if type(x) is np.ndarray else np.power(x, y)


power = elementwise(_power, "power",
                    _power_partial_base,
                    lambda ans, x, y: _safe_log(x) * ans)
negative = elementwise(operator.neg, "negative", lambda ans, x: -1)
absolute = elementwise(np.absolute, "absolute", lambda ans, x: np.sign(x))
square = elementwise(np.square, "square", lambda ans, x: 2 * x)
reciprocal = elementwise(np.reciprocal, "reciprocal", lambda ans, x: -(ans * ans))
sqrt = elementwise(np.sqrt, "sqrt", lambda ans, x: 0.5 / ans)
cbrt = elementwise(np.cbrt, "cbrt", lambda ans, x: 1 / (3 * ans * ans))

# ---- exponentials and logarithms ------------------------------------------------------------------
exp = elementwise(np.exp, "exp", lambda ans, x: ans)
exp2 = elementwise(np.exp2, "exp2", lambda ans, x: _LN2 * ans)
expm1 = elementwise(np.expm1, "expm1", lambda ans, x: ans + 1)
log = elementwise(np.log, "log", lambda ans, x: 1 / x)
log1p = elementwise(np.log1p, "log1p", lambda ans, x: 1 / (1 + x))
log2 = elementwise(np.log2, "log2", lambda ans, x: 1 / (_LN2 * x))
log10 = elementwise(np.log10, "log10", lambda ans, x: 1 / (_LN10 * x))
logaddexp = elementwise(np.logaddexp, "logaddexp",
                        lambda ans, x, y: np.exp(x - ans),
                        lambda ans, x, y: np.exp(y - ans))

# ---- trigonometric and hyperbolic -----------------------------------------------------------------
sin = elementwise(np.sin, "sin", lambda ans, x: np.cos(x))
cos = elementwise(np.cos, "cos", lambda ans, x: -np.sin(x))
tan = elementwise(np.tan, "tan", lambda ans, x: 1 + ans * ans)
arcsin = elementwise(np.arcsin, "arcsin", lambda ans, x: 1 / np.sqrt(1 - x * x))
arccos = elementwise(np.arccos, "arccos", lambda ans, x: -1 / np.sqrt(1 - x * x))
arctan = elementwise(np.arctan, "arctan", lambda ans, x: 1 / (1 + x * x))
sinh = elementwise(np.sinh, "sinh", lambda ans, x: np.cosh(x))
cosh = elementwise(np.cosh, "cosh", lambda ans, x: np.sinh(x))
tanh = elementwise(np.tanh, "tanh", lambda ans, x: 1 - ans * ans)
arcsinh = elementwise(np.arcsinh, "arcsinh", lambda ans, x: 1 / np.sqrt(x * x + 1))
arccosh = elementwise(np.arccosh, "arccosh", lambda ans, x: 1 / np.sqrt(x * x - 1))
arctanh = elementwise(np.arctanh, "arctanh", lambda ans, x: 1 / (1 - x * x))
arctan2 = elementwise(np.arctan2, "arctan2",
                      lambda ans, y, x: x / (x * x + y * y),
                      lambda ans, y, x: -y / (x * x + y * y))
hypot = elementwise(np.hypot, "hypot",
                    lambda ans, x, y: x / _nonzero(ans),
                    lambda ans, x, y: y / _nonzero(ans))

# ---- piecewise ----------------------------------------------------------------------------------
maximum = elementwise(np.maximum, "maximum",
                      lambda ans, x, y: (x > y) + 0.5 * (x == y),
                      lambda ans, x, y: (x < y) + 0.5 * (x == y))
minimum = elementwise(np.minimum, "minimum",
                      lambda ans, x, y: (x < y) + 0.5 * (x == y),
                      lambda ans, x, y: (x > y) + 0.5 * (x == y))
fmax = elementwise(np.fmax, "fmax", *maximum.partials)  # type: ignore[misc]
fmin = elementwise(np.fmin, "fmin", *minimum.partials)  # type: ignore[misc]


def _where(condition, x, y):
    return np.where(condition, x, y)


where = elementwise(_where, "where",
                    None,
                    lambda ans, c, x, y: 1.0 * np.asarray(plain(c), dtype=bool),
                    lambda ans, c, x, y: 1.0 * ~np.asarray(plain(c), dtype=bool),
                    cost=moves_data)


def _clip(x, lo, hi):
    return np.clip(x, lo, hi)


clip = elementwise(_clip, "clip",
                   lambda ans, x, lo, hi: 1.0 * ((x >= lo) & (x <= hi)),
                   lambda ans, x, lo, hi: 1.0 * (x < lo),
                   lambda ans, x, lo, hi: 1.0 * (x > hi),
                   cost=per_element(2))

for _p in (add, subtract, multiply, divide, power, negative, absolute, square, reciprocal, sqrt,
           cbrt, exp, exp2, expm1, log, log1p, log2, log10, logaddexp, sin, cos, tan, arcsin,
           arccos, arctan, sinh, cosh, tanh, arcsinh, arccosh, arctanh, arctan2, hypot, maximum,
           minimum, fmax, fmin):
    UFUNC[getattr(np, _p.name)] = _p
for _p in (sqrt, cbrt):
    _p.strong_zero = True
# x ** y has an infinite partial only for exponents below 1 (at x = 0).
power.strong_zero = lambda ans, x, y: not (type(y) in (int, float) and y >= 1)
# The operator x ** c with a constant c >= 1 (x ** 2 ...) knows that already: the same function
# and the same partials, without the per-call check.
power_by_constant = Primitive(lambda x, y: power.fn(x, y), "power", partials=power.partials)
power_by_constant.ufunc = np.power
OP["power_by_constant"] = power_by_constant
UFUNC[np.true_divide] = divide
UFUNC[np.fabs] = absolute
UFUNC[np.positive] = lambda x: x

for _name in ("add", "subtract", "multiply", "divide", "power", "negative", "absolute"):
    OP[_name] = globals()[_name]
    globals()[_name].ufunc = getattr(np, _name)
UFUNC[np.power] = power


# ---- remainders, angles, signs, scaling -----------------------------------------------------------
remainder = elementwise(np.remainder, "remainder",
                        lambda ans, x, y: 1,
                        lambda ans, x, y: -np.floor(x / y))
fmod = elementwise(np.fmod, "fmod",
                   lambda ans, x, y: 1,
                   lambda ans, x, y: -np.trunc(x / y))
logaddexp2 = elementwise(np.logaddexp2, "logaddexp2",
                         lambda ans, x, y: np.exp2(x - ans),
                         lambda ans, x, y: np.exp2(y - ans))
float_power = elementwise(np.float_power, "float_power",
                          lambda ans, x, y: y * np.float_power(x, y - 1),
                          lambda ans, x, y: _safe_log(x) * ans)
float_power.strong_zero = power.strong_zero
deg2rad = elementwise(np.deg2rad, "deg2rad", lambda ans, x: _DEG)
rad2deg = elementwise(np.rad2deg, "rad2deg", lambda ans, x: 1 / _DEG)
copysign = elementwise(np.copysign, "copysign",
                       lambda ans, x, y: np.sign(plain(x)) * np.copysign(1.0, plain(y)),
                       None)
ldexp = elementwise(np.ldexp, "ldexp", lambda ans, x, i: np.ldexp(1.0, plain(i)), None)

# sinc'(x) = (cos(pi x) - sinc(x)) / x cancels near 0: there its Taylor series, sum over k >= 1 of
# (-1)^k 2k pi^2k x^(2k-1) / (2k+1)!, whose terms past k = 6 are below 1e-16 for |x| < 0.1.
_SINC_SERIES = tuple((-1) ** k * 2 * k * np.pi ** (2 * k) / float(np.prod(np.arange(1, 2 * k + 2)))
                     for k in range(1, 7))


def _sinc_partial(ans, x):
    near = np.abs(plain(x)) < 0.1
    u = x * x
    series = _SINC_SERIES[-1]
    for c in _SINC_SERIES[-2::-1]:
        series = c + u * series
    if not np.any(~near):
        return x * series
    far = np.where(near, 1.0, x)
    return np.where(near, x * series, (np.cos(np.pi * far) - ans) / far)


sinc = elementwise(np.sinc, "sinc", _sinc_partial)

for _p in (remainder, fmod, logaddexp2, float_power, deg2rad, rad2deg, copysign, ldexp):
    UFUNC[getattr(np, _p.name)] = _p
FUNC[np.sinc] = sinc  # a Python function, reached through __array_function__
UFUNC[np.radians] = deg2rad
UFUNC[np.degrees] = rad2deg
OP["remainder"] = remainder
remainder.ufunc = np.remainder


# ---- no derivative: piecewise constant ------------------------------------------------------------
for _u in (np.floor_divide, np.heaviside):
    UFUNC[_u] = no_derivative(_u)
for _f in (np.round, np.around):
    FUNC[_f] = no_derivative(_f)

# ---- complex parts of a real value: complex inputs are rejected when a value is traced ------------
FUNC[np.real] = lambda x: x
FUNC[np.imag] = lambda x: np.imag(plain(x))  # 0: a plain value
UFUNC[np.conjugate] = lambda x: x

ELEMENTWISE: tuple[Primitive, ...] = (
    add, subtract, multiply, divide, power, negative, absolute, square, reciprocal, sqrt, cbrt, exp,
    exp2, expm1, log, log1p, log2, log10, logaddexp, sin, cos, tan, arcsin, arccos, arctan, sinh,
    cosh, tanh, arcsinh, arccosh, arctanh, arctan2, hypot, maximum, minimum, fmax, fmin, where, clip,
    remainder, fmod, logaddexp2, float_power, deg2rad, rad2deg, copysign, ldexp, sinc,
)
