"""Registry cases for the order functions (modes/primitives/order.py): all reach ``getitem``.

Inputs have distinct, well-separated entries so that no finite difference crosses a tie. The
nan-aware functions put nans at fixed positions themselves (never a whole slice): the inputs stay
finite, so the finite differences see a zero derivative there.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from case_table import Case, on

# Flat positions of the nans, per shape: no slice along any axis is all nan.
NAN_AT = {(5,): [1, 3], (4,): [2], (3, 4): [1, 4, 10], (2, 3, 2): [0, 5, 9]}


def distinct(rng: np.random.Generator, shape: tuple[int, ...] | None) -> Any:
    """Entries at least 0.25 apart, in random order."""
    size = 1 if shape is None else math.prod(shape)
    v = (rng.permutation(size) - size / 2) * 0.3 + rng.uniform(0.0, 0.05, size)
    return float(v[0]) if shape is None else v.reshape(shape)


def with_nans(x: Any) -> Any:
    """x with nans at the positions NAN_AT gives for its shape (np.where on a plain mask)."""
    mask = np.zeros(np.shape(x), dtype=bool)
    mask.reshape(-1)[NAN_AT[np.shape(x)]] = True
    return np.where(mask, np.nan, x)


def nan_aware(fn: Any) -> Any:
    return lambda x, *args, **kw: fn(with_nans(x), *args, **kw)


# (shape, axis, keepdims): odd and even counts, every kind of axis, <= 12 entries.
LAYOUTS = [((5,), None, False), ((4,), 0, False), ((4,), -1, True), ((3, 4), None, False),
           ((3, 4), None, True), ((3, 4), 0, False), ((3, 4), -1, False), ((3, 4), 1, True),
           ((3, 4), (0, 1), False), ((2, 3, 2), 1, False), ((2, 3, 2), (0, 2), True),
           ((2, 3, 2), (-1, 0), False)]


def layouts(name: str, fn: Any, domain: Any = distinct) -> list[Case]:
    return [on(f"{name}(x,axis={a},keepdims={k})", lambda x, a=a, k=k: fn(x, axis=a, keepdims=k),
               s, domain=domain) for s, a, k in LAYOUTS]


IDX34 = np.array([[2, 0, 0], [1, 1, 3], [0, 3, 2]])  # repeated picks along axis 1

SORTS = [
    on("np.sort(x)", np.sort, (5,), (3, 4), (2, 3, 2), domain=distinct),
    on("np.sort(x,axis=0)", lambda x: np.sort(x, axis=0), (3, 4), (2, 3, 2), domain=distinct),
    on("np.sort(x,axis=1)", lambda x: np.sort(x, axis=1), (2, 3, 2), domain=distinct),
    on("np.sort(x,axis=None)", lambda x: np.sort(x, axis=None), (3, 4), domain=distinct),
    on("np.sort(x,kind='stable')", lambda x: np.sort(x, kind="stable"), (5,), domain=distinct),
    on("np.sort(x)*w", lambda x: np.sort(x) * np.arange(1.0, 6.0), (5,), domain=distinct),
    on("np.partition(x,2)", lambda x: np.partition(x, 2), (5,), (3, 4), domain=distinct),
    on("np.partition(x,[0,2],axis=0)", lambda x: np.partition(x, [0, 2], axis=0), (3, 4),
       domain=distinct),
    on("np.partition(x,3,axis=None)", lambda x: np.partition(x, 3, axis=None), (3, 4),
       domain=distinct),
    on("take_along_axis(x,argsort(x),1)",
       lambda x: np.take_along_axis(x, np.argsort(x, axis=1), axis=1), (3, 4), domain=distinct),
    on("take_along_axis(x,IDX,1)", lambda x: np.take_along_axis(x, IDX34, axis=1), (3, 4)),
    on("take_along_axis(x,[4,0,4],None)",
       lambda x: np.take_along_axis(x, np.array([4, 0, 4]), axis=None), (5,), (3, 4)),
]

QUANTILES = [
    *layouts("np.median", np.median),
    *layouts("np.quantile(.,0.3)", lambda x, **kw: np.quantile(x, 0.3, **kw)),
    *layouts("np.percentile(.,[10,50,85])", lambda x, **kw: np.percentile(x, [10, 50, 85], **kw)),
    on("np.quantile(x,[0,1])", lambda x: np.quantile(x, [0.0, 1.0]), (5,), domain=distinct),
    on("np.quantile(x,0.5)", lambda x: np.quantile(x, 0.5), None, (4,), domain=distinct),
    *[on(f"np.quantile(x,[0.1,0.45,0.9],axis=1,method={m!r})",
         lambda x, m=m: np.quantile(x, [0.1, 0.45, 0.9], axis=1, method=m), (3, 4), domain=distinct)
      for m in ("lower", "higher", "nearest", "midpoint", "weibull", "hazen", "median_unbiased",
                "normal_unbiased", "interpolated_inverted_cdf")],
    *layouts("np.nanmedian", nan_aware(np.nanmedian)),
    on("np.nanquantile(x,[0.2,0.7],axis=0)",
       lambda x: np.nanquantile(with_nans(x), [0.2, 0.7], axis=0), (3, 4), domain=distinct),
    on("np.nanpercentile(x,40,axis=1,keepdims=True)",
       lambda x: np.nanpercentile(with_nans(x), 40, axis=1, keepdims=True), (3, 4),
       domain=distinct),
    on("np.nanpercentile(x,[5,60])", lambda x: np.nanpercentile(with_nans(x), [5, 60]), (5,),
       (2, 3, 2), domain=distinct),
    on("np.nanmedian(x) without nans", lambda x: np.nanmedian(x, axis=0), (3, 4), domain=distinct),
]

# Differentiated in q too: the slope of the piecewise-linear interpolation between order statistics.
IN_Q = [
    Case("np.quantile(x,q)", lambda x, q: np.quantile(x, q), (((5,), None), ((3, 4), (2,))),
         (distinct, (0.05, 0.95))),
    Case("np.percentile(x,q,axis=0)", lambda x, q: np.percentile(x, q, axis=0),
         (((3, 4), (3,)),), (distinct, (5.0, 95.0))),
    Case("np.quantile(x,q,method='hazen')", lambda x, q: np.quantile(x, q, method="hazen"),
         (((4,), None),), (distinct, (0.2, 0.8))),
    Case("np.nanquantile(x,q,axis=1)", lambda x, q: np.nanquantile(with_nans(x), q, axis=1),
         (((3, 4), (2,)),), (distinct, (0.05, 0.95))),
]

CASES: dict[str, list[Case]] = {
    "getitem": SORTS + QUANTILES,
    "multiply": IN_Q,
}
