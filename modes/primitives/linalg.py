"""Linear-algebra primitives: matmul (bilinear) and the Euclidean norm, JVP and VJP side by side.

``dot``, ``inner``, ``outer``, ``vdot`` and the other norms are bound in ``numpy_bindings`` as
compositions of registered primitives, so they need no rules of their own.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..unbroadcast import shape_of
from .bind import OP, structural
from .structural import _nb, _shift, _spread


def _mT(a: Any) -> Any:
    return np.swapaxes(a, -1, -2)


def _matmul_jvp_a(g: Any, ans: Any, a: Any, b: Any) -> Any:
    # g: batch + a.shape. A 1-D ``a`` of batch rows is a matrix (k, n): matmul broadcasts right.
    return np.matmul(g, b)


def _matmul_jvp_b(g: Any, ans: Any, a: Any, b: Any) -> Any:
    if len(shape_of(b)) >= 2:
        return np.matmul(a, g)
    return np.matmul(a, g[..., None])[..., 0]


def _matmul_vjp_a(g: Any, ans: Any, a: Any, b: Any) -> Any:
    na, nbd = len(shape_of(a)), len(shape_of(b))
    if nbd == 1:  # ans = a @ b drops the last axis of a: bar_a = g[..., None] * b
        return g[..., None] * b
    if na == 1:  # ans = a @ b drops the first axis: bar_a = g @ b.T
        return np.matmul(g, _mT(b))
    return np.matmul(g, _mT(b))


def _matmul_vjp_b(g: Any, ans: Any, a: Any, b: Any) -> Any:
    na, nbd = len(shape_of(a)), len(shape_of(b))
    if na == 1 and nbd == 1:
        return g[..., None] * a
    if na == 1:  # bar_b = outer(a, g) per batch
        return a[:, None] * g[..., None, :]
    if nbd == 1:  # bar_b = g @ a
        return np.matmul(g[..., None, :], a)[..., 0, :]
    return np.matmul(_mT(a), g)


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
