"""Linear-algebra primitives: matmul (bilinear) and the Euclidean norm, JVP and VJP side by side.

``dot``, ``inner``, ``outer``, ``vdot`` and the other norms are bound in ``numpy_bindings`` as
compositions of registered primitives, so they need no rules of their own.

Cost (``modes.flops``): a product is one multiply-add (2) per element of the result and per term
of the contracted axis, ``2 m n k`` for (m, k) @ (k, n), the stack included; the norm squares,
sums (2 per element of x) and takes one square root per element of the result.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..flops import size
from ..unbroadcast import expand_tangent, shape_of, unbroadcast
from .bind import OP, structural
from .structural import _nb, _shift, _spread


def _mT(a: Any) -> Any:
    return np.swapaxes(a, -1, -2)


# ---- matmul in as few BLAS calls as the shapes allow ---------------------------------------------
def _reshaped(x: Any, shape: tuple[int, ...]) -> Any:
    return x if shape_of(x) == shape else np.reshape(x, shape)


def _transposed(x: Any, axes: list[int]) -> Any:
    return x if axes == sorted(axes) else np.transpose(x, axes)


def thin(q: int, r: int) -> bool:
    """True when a stack of (., q) right-hand sides against one matrix with r rows is worth
    moving into the columns of one product: they are single columns, or few enough that the copy
    this takes costs less than reading the matrix once per item of the stack."""
    return q == 1 or 16 * q <= r


def mm(x: Any, y: Any, to: tuple[int, ...] | None = None) -> Any:
    """``np.matmul(x, y)``; with ``to`` (a stack shape as long as the result's, 1 on the axes to
    sum), the product summed over those stack axes: ``unbroadcast`` fused into the product.

    numpy multiplies a stack one matrix at a time, slowly for a stack of single rows (a batch of
    cotangents against one matrix). Here a stack axis along which only x varies is folded into x's
    rows (a reshape, no copy) and a summed one along which both vary into the contracted axis, so
    a batch of tangents or cotangents against one matrix is a single 2-D BLAS call. A stack only
    y has goes into the rows of the transposed product ``(y^T x^T)^T`` when y's matrices are
    ``thin``; kept axes along which both vary stay a stack (numpy loops over it).
    """
    xs, ys = shape_of(x), shape_of(y)
    if to is None and len(xs) <= 2 and len(ys) <= 2 or not xs or not ys:
        return np.matmul(x, y)
    r, c = (1,) + xs if len(xs) == 1 else xs[-2:]
    c2, q = ys + (1,) if len(ys) == 1 else ys[-2:]
    rank = max(len(xs), len(ys), 2) - 2
    sx = (1,) * (rank + 2 - max(len(xs), 2)) + tuple(xs[:-2])
    sy = (1,) * (rank + 2 - max(len(ys), 2)) + tuple(ys[:-2])
    if c != c2 or any(p != s and p != 1 and s != 1 for p, s in zip(sx, sy)):
        return np.matmul(x, y)  # numpy's own error message
    out = tuple(s if p == 1 else p for p, s in zip(sx, sy))
    to = out if to is None else tuple(to)
    loop, rows, only_y, contract, sum_x, sum_y = [], [], [], [], [], []
    for i, (p, s, o) in enumerate(zip(sx, sy, out)):
        if o == 1:
            continue
        summed = to[i] == 1
        if p != 1 and s != 1:
            (contract if summed else loop).append(i)
        elif p != 1:
            (sum_x if summed else rows).append(i)
        else:
            (sum_y if summed else only_y).append(i)
    if only_y and not rows and len(ys) > 1 and (len(xs) == 1 or thin(q, r)):
        return mm(_mT(y), x, to) if len(xs) == 1 else _mT(mm(_mT(y), _mT(x), to))
    loop = sorted(loop + only_y)  # numpy broadcasts x over the axes only y has
    x = _reshaped(x, sx + (r, c))
    y = _reshaped(y, sy + (c, q))
    if sum_x:  # summed axes along which one operand varies: sum it first (a cheap reduction)
        x = np.sum(x, axis=tuple(sum_x), keepdims=True)
    if sum_y:
        y = np.sum(y, axis=tuple(sum_y), keepdims=True)
    size = lambda axes: math.prod(out[i] for i in axes)  # noqa: E731
    unit_x = [i for i in range(rank) if i not in loop + rows + contract]
    unit_y = [i for i in range(rank) if i not in loop + contract]
    x = _transposed(x, unit_x + loop + rows + [rank] + contract + [rank + 1])
    y = _transposed(y, unit_y + loop + contract + [rank, rank + 1])
    p = np.matmul(np.reshape(x, tuple(sx[i] for i in loop) + (size(rows) * r, size(contract) * c)),
                  np.reshape(y, tuple(sy[i] for i in loop) + (size(contract) * c, q)))
    p = np.reshape(p, tuple(out[i] for i in loop) + tuple(out[i] for i in rows) + (r, q))
    # p's axes are loop, rows, r, q: put the stack axes back in their order.
    place = loop + rows + [rank, rank + 1]
    p = _transposed(p, sorted(range(len(place)), key=place.__getitem__))
    shape = tuple(to) + ((r,) if len(xs) > 1 else ()) + ((q,) if len(ys) > 1 else ())
    return _reshaped(p, shape)


def _target(batch: tuple[int, ...], arg: Any, ans: Any) -> tuple[int, ...]:
    """The stack shape a cotangent is summed to: the batch, then arg's stack aligned with ans's."""
    stack = shape_of(arg)[:-2]
    return batch + (1,) * (len(shape_of(ans)) - 2 - len(stack)) + stack


# ---- matmul --------------------------------------------------------------------------------------
def _matmul_jvp_a(g: Any, ans: Any, a: Any, b: Any) -> Any:
    # g: batch + a.shape. Unit axes go after the batch so a's stack axes line up with b's.
    nb = _nb(g, a)
    na, nbd = len(shape_of(a)), len(shape_of(b))
    if nbd == 1:  # (k.., *ba, m, n) @ (n,)
        return mm(g, b)
    if na == 1:  # a row vector per direction: (k.., 1.., 1, n) @ (*bb, n, p)
        return mm(expand_tangent(np.expand_dims(g, -2), nbd, nb), b)[..., 0, :]
    return mm(expand_tangent(g, max(na, nbd), nb), b)


def _matmul_jvp_b(g: Any, ans: Any, a: Any, b: Any) -> Any:
    nb = _nb(g, b)
    na, nbd = len(shape_of(a)), len(shape_of(b))
    if nbd == 1 and na <= 2:  # one product: (k.., n) @ a.T (or @ a for a vector a)
        return mm(g, _mT(a) if na == 2 else a)
    if nbd == 1:  # a column per direction: (*ba, m, n) @ (k.., 1.., n, 1)
        return mm(a, expand_tangent(np.expand_dims(g, -1), na, nb))[..., 0]
    if na == 1:
        return mm(a, g)
    return mm(a, expand_tangent(g, max(na, nbd), nb))


# The vjp rules return exactly batch + arg shape: the stack axes an argument was broadcast over are
# summed in the product (``mm``'s ``to``), after the batch axes (the sweep's unbroadcast does not
# know the batch rank).
def _matmul_vjp_a(g: Any, ans: Any, a: Any, b: Any) -> Any:
    nb = _nb(g, ans)
    na, nbd = len(shape_of(a)), len(shape_of(b))
    batch = shape_of(g)[:nb]
    if nbd == 1:  # ans = a @ b drops the last axis of a: bar_a = g[..., None] * b
        return unbroadcast(np.expand_dims(g, -1) * b, batch + shape_of(a), nb)
    if na == 1:  # ans = a @ b drops the first axis of b's matrices: bar_a = sum of g @ b.T
        c = mm(np.expand_dims(g, -2), _mT(b), to=batch + (1,) * (nbd - 2))
    else:
        c = mm(g, _mT(b), to=_target(batch, a, ans))
    return _reshaped(c, batch + shape_of(a))


def _matmul_vjp_b(g: Any, ans: Any, a: Any, b: Any) -> Any:
    nb = _nb(g, ans)
    na, nbd = len(shape_of(a)), len(shape_of(b))
    batch = shape_of(g)[:nb]
    if na == 1 and nbd == 1:
        return np.expand_dims(g, -1) * a
    if na == 1:  # bar_b = outer(a, g) per batch
        return unbroadcast(np.expand_dims(a, -1) * np.expand_dims(g, -2), batch + shape_of(b), nb)
    if nbd == 1:  # bar_b = g @ a, summed over a's stack
        c = mm(np.expand_dims(g, -2), a, to=batch + (1,) * (na - 2))
    else:
        c = mm(_mT(a), g, to=_target(batch, b, ans))
    return _reshaped(c, batch + shape_of(b))


# The nominal product is numpy's own (values bit for bit as numpy computes them); the rules,
# where the batch axes are, multiply through mm.
matmul = structural(
    lambda a, b: np.matmul(a, b), "matmul",
    jvp=(_matmul_jvp_a, _matmul_jvp_b),
    vjp=(_matmul_vjp_a, _matmul_vjp_b),
    cost=lambda ans, a, b: 2 * size(ans) * (shape_of(a) or (1,))[-1],
)
OP["matmul"] = matmul


def _unit(x: Any, ans: Any, axis: tuple[int, ...] | None, keepdims: bool) -> Any:
    """x / ||x|| with the convention 0 at the origin."""
    a = ans if keepdims else np.reshape(ans, _keepdims(shape_of(x), axis))
    return x / np.where(a == 0, 1.0, a)


def _keepdims(xshape: tuple[int, ...], axis: tuple[int, ...] | None) -> tuple[int, ...]:
    return tuple(1 if axis is None or i in axis else n for i, n in enumerate(xshape))


l2norm = structural(
    lambda x, axis, keepdims: np.sqrt(np.sum(x * x, axis=axis, keepdims=keepdims)), "l2norm",
    jvp=(lambda g, ans, x, axis, keepdims: np.sum(
        g * _unit(x, ans, axis, keepdims),
        axis=_shift(axis, len(shape_of(x)), _nb(g, x)), keepdims=keepdims),),
    vjp=(lambda g, ans, x, axis, keepdims: _spread(g, x, axis, keepdims) * _unit(x, ans, axis, keepdims),),
    cost=lambda ans, x, axis, keepdims: 2 * size(x) + size(ans),
)
