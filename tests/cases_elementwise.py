"""Registry cases for the elementwise rows added to modes/primitives/elementwise.py after the core.

Domains keep clear of the jumps: remainder and fmod are drawn where floor(x / y) (trunc(x / y)) is
constant, copysign away from x == 0. sinc is drawn near 0 too, where its partial is a series.
"""

from __future__ import annotations

import numpy as np

from case_table import BINARY_SHAPES, binary, unary
from conftest import NONZERO, POS, REAL
from modes.tracing import ArrayBox

# x / y in (2.07, 2.79) and (-2.79, -2.07): floor and trunc are constant there.
UP, DOWN, DIV = (3.1, 3.9), (-3.9, -3.1), (1.4, 1.5)
I34 = np.array([[0, 1, -1, 2], [3, 0, 1, -2], [1, 1, 0, -1]])

CASES = {
    "remainder": [
        binary("np.remainder", np.remainder, (0.1, 0.9), (1.5, 2.5)),
        binary("np.mod(x>0)", np.mod, UP, DIV),
        binary("np.mod(x<0)", np.mod, DOWN, DIV),
        binary("np.remainder(y<0)", np.remainder, UP, (-1.5, -1.4)),
        unary("np.mod(x,0.7)", lambda x: np.mod(x, 0.7), (0.05, 0.65)),
    ],
    "fmod": [
        binary("np.fmod(x>0)", np.fmod, UP, DIV),
        binary("np.fmod(x<0)", np.fmod, DOWN, DIV),
        unary("np.fmod(x,2.5)", lambda x: np.fmod(x, 2.5)),
    ],
    "logaddexp2": [binary("np.logaddexp2", np.logaddexp2)],
    "float_power": [
        binary("np.float_power", np.float_power, POS, REAL),
        unary("np.float_power(x,3.0)", lambda x: np.float_power(x, 3.0)),
        unary("np.float_power(x,0.5)", lambda x: np.float_power(x, 0.5), POS),
    ],
    "deg2rad": [unary("np.deg2rad", np.deg2rad), unary("np.radians", np.radians)],
    "rad2deg": [unary("np.rad2deg", np.rad2deg), unary("np.degrees", np.degrees)],
    "copysign": [
        binary("np.copysign", np.copysign, NONZERO, NONZERO),
        unary("np.copysign(x,-1.0)", lambda x: np.copysign(x, -1.0), NONZERO),
        unary("np.copysign(1.5,x)", lambda x: np.copysign(1.5, x), NONZERO),
    ],
    "ldexp": [
        unary("np.ldexp(x,3)", lambda x: np.ldexp(x, 3)),
        unary("np.ldexp(x,I)", lambda x: np.ldexp(x, I34), shapes=((3, 4), (4,))),
    ],
    "sinc": [
        unary("np.sinc", np.sinc),
        unary("np.sinc(near 0)", np.sinc, (-0.09, 0.09)),
        unary("np.sinc(across 0.1)", np.sinc, (-0.3, 0.3)),
    ],
}

# The % operator, once tracing.py binds it to OP["remainder"].
if "__mod__" in vars(ArrayBox):
    CASES["remainder"] += [
        binary("x%y", lambda x, y: x % y, UP, DIV, shapes=BINARY_SHAPES),
        unary("x%0.7", lambda x: x % 0.7, (0.05, 0.65)),
        unary("3.5%x", lambda x: 3.5 % x, DIV),
    ]
