"""Arithmetic cost of one evaluation of a primitive, from shapes only: the counts the registry states.

Each primitive has a cost rule ``cost(ans, *args, **kw) -> int`` with the arguments of its other
rules. It reads shapes (``shape_of``), never values, so ``ans`` and the arguments may be numbers,
arrays, ``ShapeOnly`` stand-ins or traced values; options (axes, ints, None) pass through unread.

Convention (machine independent, as in Griewank's cheap-gradient bound): one operation per scalar
add, multiply, division, comparison or call of a transcendental or special function; a
multiply-add is 2 (so a matrix product is 2 m n k); moving, copying or selecting data is free.
Dense linear algebra uses the leading-order counts of Golub & Van Loan, "Matrix Computations",
times the number of matrices in the stack.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .unbroadcast import shape_of


def size(x: Any) -> int:
    """Number of scalars in ``x`` (1 for a number)."""
    return math.prod(shape_of(x))


def thirds(x: int) -> int:
    """``x / 3`` rounded to the nearest integer (flop counts such as 2 n^3 / 3)."""
    return (x + 1) // 3


# ---- the defaults by form (registry.Primitive.cost) -------------------------------------------------
def one_per_element(ans: Any, *args: Any, **kw: Any) -> int:
    """Elementwise (partials form): one operation per element of the broadcast result."""
    return size(ans)


def moves_data(ans: Any, *args: Any, **kw: Any) -> int:
    """Structural (jvp/vjp form): reshapes, transposes, indexing, joining and selection cost 0."""
    return 0


# ---- helpers the primitive tables state their counts with -------------------------------------------
def per_element(k: int) -> Any:
    """``k`` operations per element of the result (clip: two comparisons)."""

    def rule(ans: Any, *args: Any, **kw: Any) -> int:
        return k * size(ans)

    return rule


def per_input_element(ans: Any, x: Any, *args: Any, **kw: Any) -> int:
    """Reductions and scans: one operation per element of the input."""
    return size(x)


def stack(*xs: Any) -> int:
    """Number of matrices in the broadcast stack of ``(..., m, n)`` arguments."""
    return math.prod(np.broadcast_shapes(*(tuple(shape_of(x)[:-2]) for x in xs)))


def per_matrix(count: Any) -> Any:
    """A square-matrix count ``count(n)`` times the number of matrices in the argument's stack."""

    def rule(ans: Any, a: Any, *args: Any, **kw: Any) -> int:
        return stack(a) * count(shape_of(a)[-1])

    return rule
