"""Linear-algebra primitives: matmul (bilinear) and the Euclidean norm, JVP and VJP side by side.

``dot``, ``inner``, ``outer``, ``vdot`` and the other norms are bound in ``numpy_bindings`` as
compositions of registered primitives, so they need no rules of their own.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..unbroadcast import expand_tangent, shape_of, unbroadcast
from .bind import OP, structural
from .structural import _nb, _shift, _spread


def _mT(a: Any) -> Any:
    return np.swapaxes(a, -1, -2)


def _matmul_jvp_a(g: Any, ans: Any, a: Any, b: Any) -> Any:
    # g: batch + a.shape. Unit axes go after the batch so a's stack axes line up with b's.
    nb = _nb(g, a)
    na, nbd = len(shape_of(a)), len(shape_of(b))
    if nbd == 1:  # (k.., *ba, m, n) @ (n,)
        return np.matmul(g, b)
    if na == 1:  # a row vector per direction: (k.., 1.., 1, n) @ (*bb, n, p)
        return np.matmul(expand_tangent(np.expand_dims(g, -2), nbd, nb), b)[..., 0, :]
    return np.matmul(expand_tangent(g, max(na, nbd), nb), b)


def _matmul_jvp_b(g: Any, ans: Any, a: Any, b: Any) -> Any:
    nb = _nb(g, b)
    na, nbd = len(shape_of(a)), len(shape_of(b))
    if nbd == 1 and na == 2 and nb <= 1:  # one matrix product: (k, n) @ a.T
        return np.matmul(g, _mT(a))
    if nbd == 1:  # a column per direction: (*ba, m, n) @ (k.., 1.., n, 1)
        return np.matmul(a, expand_tangent(np.expand_dims(g, -1), max(na, 2), nb))[..., 0]
    if na == 1:
        return np.matmul(a, g)
    return np.matmul(a, expand_tangent(g, max(na, nbd), nb))


# The vjp rules return exactly batch + arg shape: the stack axes an argument was broadcast over are
# summed here, after the batch axes (the sweep's unbroadcast does not know the batch rank).
def _matmul_vjp_a(g: Any, ans: Any, a: Any, b: Any) -> Any:
    nb = _nb(g, ans)
    na, nbd = len(shape_of(a)), len(shape_of(b))
    if nbd == 1:  # ans = a @ b drops the last axis of a: bar_a = g[..., None] * b
        c = np.expand_dims(g, -1) * b
    elif na == 1:  # ans = a @ b drops the first axis of b's matrices: bar_a = g @ b.T
        c = np.matmul(np.expand_dims(g, -2), _mT(b))[..., 0, :]
    else:
        c = np.matmul(g, _mT(b))
    return unbroadcast(c, shape_of(g)[:nb] + shape_of(a), nb)


def _matmul_vjp_b(g: Any, ans: Any, a: Any, b: Any) -> Any:
    nb = _nb(g, ans)
    na, nbd = len(shape_of(a)), len(shape_of(b))
    if na == 1 and nbd == 1:
        c = np.expand_dims(g, -1) * a
    elif na == 1:  # bar_b = outer(a, g) per batch
        c = np.expand_dims(a, -1) * np.expand_dims(g, -2)
    elif nbd == 1:  # bar_b = g @ a
        c = np.matmul(np.expand_dims(g, -2), a)[..., 0, :]
    else:
        c = np.matmul(_mT(a), g)
    return unbroadcast(c, shape_of(g)[:nb] + shape_of(b), nb)


matmul = structural(
    lambda a, b: np.matmul(a, b), "matmul",
    jvp=(_matmul_jvp_a, _matmul_jvp_b),
    vjp=(_matmul_vjp_a, _matmul_vjp_b),
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
)
