"""Structural and reduction primitives: JVP and VJP rules side by side.

Every rule receives ``g`` with leading batch axes (``nb`` of them: a forward chunk or a batch of
cotangents) and addresses only the trailing axes, so one rule serves a single direction, a chunk
of k directions and a batch of k cotangents alike. Reduction axes arrive normalised by the numpy
bindings to ``None`` or a tuple of non-negative ints.

Cost (``modes.flops``): reshapes, transposes, broadcasts, indexing and joining only move data (0);
the reductions and cumsum (linear or not) do one operation per input element; untake, getitem's
adjoint, adds each scattered element into its place (one per element of ``g``).
"""

from __future__ import annotations

from typing import Any

import math

import numpy as np

from ..flops import moves_data, per_input_element, size
from ..registry import plain
from ..unbroadcast import expand_tangent, shape_of, unbroadcast
from .bind import OP, structural


def _nb(g: Any, x: Any) -> int:
    return len(shape_of(g)) - len(shape_of(x))


def _shift(axis: tuple[int, ...] | None, ndim: int, nb: int) -> tuple[int, ...]:
    return tuple(range(nb, nb + ndim)) if axis is None else tuple(a + nb for a in axis)


def _keepdims_shape(xshape: tuple[int, ...], axis: tuple[int, ...] | None) -> tuple[int, ...]:
    if axis is None:
        return (1,) * len(xshape)
    return tuple(1 if i in axis else n for i, n in enumerate(xshape))


def _spread(g: Any, x: Any, axis: tuple[int, ...] | None, keepdims: bool) -> Any:
    """Broadcast a reduction's bar (batch + reduced shape) back over the reduced axes of x."""
    if type(g) is float and axis is None and not keepdims:  # the scalar seed of a gradient
        xshape = shape_of(x)
        if not xshape:
            return g  # the sum of a number: its bar passes through
        if math.prod(xshape) <= 1 << 16:
            out = np.empty(xshape)
            out.fill(g)
            return out
        return np.broadcast_to(g, xshape)
    nb = len(shape_of(g)) - (len(shape_of(x)) if keepdims else len(_reduced_shape(x, axis)))
    batch = shape_of(g)[:nb]
    xshape = shape_of(x)
    if shape_of(g) == batch + xshape:
        return g  # nothing was reduced (the sum of a number)
    if not keepdims:
        g = np.reshape(g, batch + _keepdims_shape(xshape, axis))
    return np.broadcast_to(g, batch + xshape)


def _reduced_shape(x: Any, axis: tuple[int, ...] | None) -> tuple[int, ...]:
    xshape = shape_of(x)
    if axis is None:
        return ()
    return tuple(n for i, n in enumerate(xshape) if i not in axis)


# ---- shape ----------------------------------------------------------------------------------------
reshape = structural(
    lambda x, shape: np.reshape(x, shape), "reshape",
    jvp=(lambda g, ans, x, shape: np.reshape(g, shape_of(g)[: _nb(g, x)] + shape_of(ans)),),
    vjp=(lambda g, ans, x, shape: np.reshape(g, shape_of(g)[: _nb(g, ans)] + shape_of(x)),),
    linear=True, cost=moves_data,
)


def _batched_axes(axes: tuple[int, ...], nb: int) -> tuple[int, ...]:
    return tuple(range(nb)) + tuple(a + nb for a in axes)


transpose = structural(
    lambda x, axes: np.transpose(x, axes), "transpose",
    jvp=(lambda g, ans, x, axes: np.transpose(g, _batched_axes(axes, _nb(g, x))),),
    vjp=(lambda g, ans, x, axes:
         np.transpose(g, _batched_axes(tuple(int(i) for i in np.argsort(axes)), _nb(g, ans))),),
    linear=True, cost=moves_data,
)

broadcast_to = structural(
    lambda x, shape: np.broadcast_to(x, shape), "broadcast_to",
    jvp=(lambda g, ans, x, shape: np.broadcast_to(
        expand_tangent(g, len(shape), _nb(g, x)), shape_of(g)[: _nb(g, x)] + tuple(shape)),),
    vjp=(lambda g, ans, x, shape: unbroadcast(g, shape_of(g)[: _nb(g, ans)] + shape_of(x), _nb(g, ans)),),
    linear=True, cost=moves_data,
)

# ---- reductions -----------------------------------------------------------------------------------
def _sum(x: Any, axis: tuple[int, ...] | None, keepdims: bool) -> Any:
    if type(x) is np.ndarray:  # skip np.sum's Python wrapper on the hot path
        return np.add.reduce(x, axis=axis, keepdims=keepdims)
    return np.sum(x, axis=axis, keepdims=keepdims)


sum_ = structural(
    _sum, "sum",
    jvp=(lambda g, ans, x, axis, keepdims:
         np.sum(g, axis=_shift(axis, len(shape_of(x)), _nb(g, x)), keepdims=keepdims),),
    vjp=(lambda g, ans, x, axis, keepdims: _spread(g, x, axis, keepdims),),
    linear=True, cost=per_input_element,
)


def _extreme_weights(x: Any, ans: Any, axis: tuple[int, ...] | None, keepdims: bool) -> np.ndarray:
    """Where x attains the max/min, 1/(number of ties); 0 elsewhere. Ties share equally."""
    xv, av = np.asarray(plain(x)), np.asarray(plain(ans))
    if not keepdims:
        av = np.reshape(av, _keepdims_shape(xv.shape, axis))
    mask = (xv == av).astype(float)
    return mask / np.sum(mask, axis=axis, keepdims=True)


def _extreme(fn: Any, name: str) -> Any:
    return structural(
        lambda x, axis, keepdims: fn(x, axis=axis, keepdims=keepdims), name,
        jvp=(lambda g, ans, x, axis, keepdims: np.sum(
            g * _extreme_weights(x, ans, axis, keepdims),
            axis=_shift(axis, len(shape_of(x)), _nb(g, x)), keepdims=keepdims),),
        vjp=(lambda g, ans, x, axis, keepdims:
             _spread(g, x, axis, keepdims) * _extreme_weights(x, ans, axis, keepdims),),
        cost=per_input_element,  # a comparison per element
    )


max_ = _extreme(np.max, "max")
min_ = _extreme(np.min, "min")


def _prod_others(x: Any, axis: tuple[int, ...] | None, ans: Any) -> Any:
    """Product of the other entries of each reduced slice, exact when x has zeros (``ans``: the
    product itself, reused rather than computed again)."""
    xv = np.asarray(plain(x))
    zeros = np.sum(xv == 0, axis=axis, keepdims=True)
    if not np.any(zeros):
        return np.reshape(ans, _keepdims_shape(shape_of(x), axis)) / x
    # With zeros, a product of the others that is itself differentiable: exclusive prefix times
    # exclusive suffix products along the reduced entries (multiplications only, exact at every
    # order; dividing by x, or a constant for the zero entries, would lose the second derivative).
    shape = shape_of(x)
    nd = len(shape)
    axes = tuple(range(nd)) if axis is None else axis
    kept = [i for i in range(nd) if i not in axes]
    perm = kept + list(axes)
    lead = [shape[i] for i in kept]
    n = math.prod(shape[i] for i in axes)
    flat = np.reshape(np.transpose(x, perm), lead + [n])
    ones = np.ones(lead + [1])
    prefix = np.cumprod(np.concatenate([ones, flat[..., :-1]], axis=-1), axis=-1)
    suffix = np.flip(np.cumprod(np.flip(np.concatenate([flat[..., 1:], ones], axis=-1), axis=-1),
                                axis=-1), axis=-1)
    others = np.reshape(prefix * suffix, lead + [shape[i] for i in axes])
    return np.transpose(others, np.argsort(perm))


prod = structural(
    lambda x, axis, keepdims: np.prod(x, axis=axis, keepdims=keepdims), "prod",
    jvp=(lambda g, ans, x, axis, keepdims: np.sum(
        g * _prod_others(x, axis, ans), axis=_shift(axis, len(shape_of(x)), _nb(g, x)),
        keepdims=keepdims),),
    vjp=(lambda g, ans, x, axis, keepdims: _spread(g, x, axis, keepdims) * _prod_others(x, axis, ans),),
    cost=per_input_element,
)


def _flip(g: Any, axis: int) -> Any:
    return g[(slice(None),) * axis + (slice(None, None, -1),)]


cumsum = structural(
    lambda x, axis: np.cumsum(x, axis=axis), "cumsum",
    jvp=(lambda g, ans, x, axis: np.cumsum(g, axis=axis + _nb(g, x)),),
    vjp=(lambda g, ans, x, axis:
         _flip(np.cumsum(_flip(g, axis + _nb(g, ans)), axis=axis + _nb(g, ans)), axis + _nb(g, ans)),),
    linear=True, cost=per_input_element,
)

# ---- indexing -------------------------------------------------------------------------------------
_BASIC = (int, np.integer, slice, type(None), type(Ellipsis))


def _is_basic(index: Any) -> bool:
    if isinstance(index, tuple):
        return all(isinstance(i, _BASIC) for i in index)
    return isinstance(index, _BASIC)


def normalize_index(index: Any, ndim: int) -> Any:
    """A hashable-free, Ellipsis-free tuple index with boolean masks turned into integer arrays."""
    if not isinstance(index, tuple):
        index = (index,)
    out: list[Any] = []
    for i in index:
        i = plain(i)
        if isinstance(i, list):
            i = np.asarray(i)
        if isinstance(i, np.ndarray) and i.dtype == bool:
            out.extend(np.nonzero(i))
        else:
            out.append(i)
    if any(i is Ellipsis for i in out):
        pos = next(k for k, i in enumerate(out) if i is Ellipsis)
        used = sum(1 for i in out if i is not None and i is not Ellipsis)
        out[pos : pos + 1] = [slice(None)] * (ndim - used)
    return tuple(out)


def _take(x: Any, index: Any, nb: int) -> Any:
    """x[index] where x carries nb leading batch axes that the index skips."""
    if nb == 0:
        return x[index]
    if _is_basic(index):
        idx = index if isinstance(index, tuple) else (index,)
        return x[(slice(None),) * nb + idx]
    xs = shape_of(x)
    idx = normalize_index(index, len(xs) - nb)
    moved = np.moveaxis(x, tuple(range(nb)), tuple(range(-nb, 0)))
    return np.moveaxis(moved[idx], tuple(range(-nb, 0)), tuple(range(nb)))


def _scatter_add(z: np.ndarray, g: Any, index: Any, nb: int) -> None:
    """z[index] += g in place (duplicates accumulate), z with nb leading batch axes."""
    if nb == 0 and type(index) is slice:
        z[index] += g
        return
    g = plain(g)
    if nb == 0 and (type(index) is slice or _is_basic(index)):
        z[index] += g
        return
    if _is_basic(index):
        idx = index if isinstance(index, tuple) else (index,)
        z[(slice(None),) * nb + idx] += g
        return
    idx = normalize_index(index, z.ndim - nb)
    zt = np.moveaxis(z, tuple(range(nb)), tuple(range(-nb, 0))) if nb else z
    gt = np.moveaxis(g, tuple(range(nb)), tuple(range(-nb, 0))) if nb else g
    np.add.at(zt, idx, gt)


def _getitem_accumulate(bar: np.ndarray, g: Any, ans: Any, index: Any, nb: int) -> None:
    """getitem's cotangent added into its parent's bar in place: bar[index] += g."""
    if nb == 0 and (type(index) is slice and type(g) is np.ndarray and g.ndim == len(ans.shape)
                    or type(index) is int and (type(g) is float or type(g) is np.float64)):
        bar[index] += g  # the common cases: a slice, or one entry, and no batch axes
        return
    _scatter_add(bar, g, index, nb + len(shape_of(g)) - len(ans.shape))


def _untake(g: Any, index: Any, shape: tuple[int, ...], nb: int) -> np.ndarray:
    z = np.zeros(shape, dtype=np.result_type(plain(g), float))
    _scatter_add(z, g, index, nb)
    return z


getitem = structural(
    lambda x, index, nb=0: _take(x, index, nb), "getitem",
    jvp=(lambda g, ans, x, index, nb=0: getitem(g, index=index, nb=nb + _nb(g, x)),),
    vjp=(lambda g, ans, x, index, nb=0: untake(
        g, index=index, shape=shape_of(g)[: _nb(g, ans)] + shape_of(x), nb=nb + _nb(g, ans)),),
    linear=True,
    vjp_accumulate=lambda bar, g, ans, x, index, nb=0: _getitem_accumulate(bar, g, ans, index, nb),
    cost=moves_data,
)

untake = structural(
    lambda g, index, shape, nb: _untake(g, index, shape, nb), "untake",
    jvp=(lambda t, ans, g, index, shape, nb: untake(
        t, index=index, shape=shape_of(t)[: _nb(t, g)] + tuple(shape), nb=nb + _nb(t, g)),),
    vjp=(lambda b, ans, g, index, shape, nb: getitem(b, index=index, nb=nb + _nb(b, ans)),),
    linear=True, cost=lambda ans, g, index, shape, nb: size(g),
)

OP["getitem"] = getitem

# ---- joining --------------------------------------------------------------------------------------


def _concat_jvp(tangents: list, ans: Any, *xs: Any, axis: int) -> Any:
    nb = next(_nb(t, x) for t, x in zip(tangents, xs) if t is not None)
    batch = next(shape_of(t)[:nb] for t in tangents if t is not None)
    parts = [t if t is not None else np.zeros(batch + shape_of(x)) for t, x in zip(tangents, xs)]
    return np.concatenate(parts, axis=axis + nb)


def _concat_vjp(i: int, g: Any, ans: Any, *xs: Any, axis: int) -> Any:
    nb = _nb(g, ans)
    start = sum(shape_of(x)[axis] for x in xs[:i])
    stop = start + shape_of(xs[i])[axis]
    return g[(slice(None),) * (axis + nb) + (slice(start, stop),)]


concatenate = structural(
    lambda *xs, axis: np.concatenate(xs, axis=axis), "concatenate",
    jvp=_concat_jvp, vjp=_concat_vjp, linear=True, cost=moves_data,
)

STRUCTURAL = (reshape, transpose, broadcast_to, sum_, max_, min_, prod, cumsum, getitem, untake,
              concatenate)
