"""Registry cases for the statistics (modes/primitives/statistics.py), keyed by the primitive each
composition reaches; ``convolve``, ``correlate`` and ``interp`` are primitives of their own."""

from __future__ import annotations

from typing import Any

import numpy as np

from case_table import Case, binary, on
from cases_order import distinct, layouts, with_nans
from conftest import NONZERO, POS, REAL

W4 = np.array([0.5, 1.5, 1.0, 2.0])
W22 = np.array([[0.5, 1.5], [1.0, 2.0]])
XP = np.array([-1.0, 0.0, 0.5, 2.0])
FP = np.array([0.5, -1.0, 2.0, 0.3])


def with_zeros(rng: np.random.Generator, shape: tuple[int, ...]) -> Any:
    """Nonzero entries with exact zeros: one in some slices, two in others (for cumprod)."""
    v = rng.uniform(0.5, 1.5, shape) * rng.choice([-1.0, 1.0], shape)
    v.reshape(-1)[[1, 3, 4] if v.size > 5 else [1, 3]] = 0.0
    return v


def off_knots(rng: np.random.Generator, shape: tuple[int, ...] | None) -> Any:
    """Points inside the segments of XP and beyond both ends, at least 0.05 from every knot."""
    lo = np.concatenate([[-2.0], XP])
    hi = np.concatenate([XP, [3.0]])
    seg = rng.integers(0, len(lo), () if shape is None else shape)
    v = lo[seg] + 0.05 + (hi[seg] - lo[seg] - 0.1) * rng.uniform(0.0, 1.0, seg.shape)
    return float(v) if shape is None else v


def knots(rng: np.random.Generator, shape: tuple[int, ...] | None) -> Any:
    """XP moved by at most 0.02: still increasing, and off_knots points stay in their segments."""
    return XP + rng.uniform(-0.02, 0.02, XP.shape)


def _avg_returned(x: Any, w: Any) -> Any:
    avg, scl = np.average(x, axis=1, weights=w, returned=True)
    return avg * scl


VAR = [
    *layouts("np.var", np.var, REAL),
    on("np.var(x,ddof=1)", lambda x: np.var(x, ddof=1), (5,), (3, 4)),
    on("np.var(x,axis=0,ddof=2)", lambda x: np.var(x, axis=0, ddof=2), (4, 3)),
    on("np.var(x,axis=(0,2),correction=1)", lambda x: np.var(x, axis=(0, 2), correction=1),
       (2, 3, 2)),
    on("np.var(x,axis=1,mean=...)",
       lambda x: np.var(x, axis=1, mean=np.mean(x, axis=1, keepdims=True)), (3, 4)),
]
STD = [
    on("np.std(x)", np.std, (5,), (3, 4)),
    on("np.std(x,axis=1,ddof=1)", lambda x: np.std(x, axis=1, ddof=1), (3, 4), (2, 3, 2)),
    on("np.std(x,axis=(0,1),keepdims=True)", lambda x: np.std(x, axis=(0, 1), keepdims=True),
       (2, 3, 2)),
]
AVERAGE = [
    on("np.average(x)", np.average, (5,), (3, 4)),
    on("np.average(x,axis=0,keepdims=True)", lambda x: np.average(x, axis=0, keepdims=True), (3, 4)),
    on("np.average(x,axis=1,weights=W4)", lambda x: np.average(x, axis=1, weights=W4), (3, 4)),
    on("np.average(x,axis=(0,2),weights=W22)",
       lambda x: np.average(x, axis=(0, 2), weights=W22), (2, 3, 2)),
    binary("np.average(x,weights=w)", lambda x, w: np.average(x, weights=w), REAL, POS,
           shapes=(((5,), (5,)), ((3, 4), (3, 4)))),
    binary("np.average(x,axis=1,weights=w)", lambda x, w: np.average(x, axis=1, weights=w), REAL,
           POS, shapes=(((3, 4), (4,)),)),
    binary("np.average(x,axis=(2,0),weights=w,keepdims=True)",
           lambda x, w: np.average(x, axis=(2, 0), weights=w, keepdims=True), REAL, POS,
           shapes=(((2, 3, 2), (2, 2)),)),
    binary("np.average(...,returned=True)", _avg_returned, REAL, POS, shapes=(((3, 4), (4,)),)),
]
NAN = [
    on("np.nansum(x)", lambda x: np.nansum(with_nans(x)), (5,), (3, 4)),
    on("np.nansum(x,axis=0,keepdims=True)", lambda x: np.nansum(with_nans(x), axis=0, keepdims=True),
       (3, 4)),
    on("np.nanmean(x)", lambda x: np.nanmean(with_nans(x)), (5,), (2, 3, 2)),
    on("np.nanmean(x,axis=1)", lambda x: np.nanmean(with_nans(x), axis=1), (3, 4)),
    on("np.nanmean(x,axis=(0,2),keepdims=True)",
       lambda x: np.nanmean(with_nans(x), axis=(0, 2), keepdims=True), (2, 3, 2)),
    on("np.nanprod(x)", lambda x: np.nanprod(with_nans(x)), (5,), domain=NONZERO),
    on("np.nanprod(x,axis=1)", lambda x: np.nanprod(with_nans(x), axis=1), (3, 4), domain=NONZERO),
    on("np.nanmax(x)", lambda x: np.nanmax(with_nans(x)), (5,), (3, 4), domain=distinct),
    on("np.nanmax(x,axis=0)", lambda x: np.nanmax(with_nans(x), axis=0), (3, 4), domain=distinct),
    on("np.nanmin(x,axis=-1,keepdims=True)",
       lambda x: np.nanmin(with_nans(x), axis=-1, keepdims=True), (3, 4), domain=distinct),
    on("np.nanmin(x,axis=(0,1))", lambda x: np.nanmin(with_nans(x), axis=(0, 1)), (2, 3, 2),
       domain=distinct),
]
PTP = [
    on("np.ptp(x)", np.ptp, (5,), (3, 4), domain=distinct),
    on("np.ptp(x,axis=0)", lambda x: np.ptp(x, axis=0), (3, 4), domain=distinct),
    on("np.ptp(x,axis=(0,2),keepdims=True)", lambda x: np.ptp(x, axis=(0, 2), keepdims=True),
       (2, 3, 2), domain=distinct),
]
CUMPROD = [
    on("np.cumprod(x)", np.cumprod, (5,), (3, 4), domain=NONZERO),
    on("np.cumprod(x,axis=0)", lambda x: np.cumprod(x, axis=0), (3, 4), domain=NONZERO),
    on("np.cumprod(x,axis=-1)", lambda x: np.cumprod(x, axis=-1), (3, 4), (2, 3, 2)),
    on("np.cumprod(x,axis=1)", lambda x: np.cumprod(x, axis=1), (2, 3, 2)),
    on("np.cumprod(x,axis=0) n=9", lambda x: np.cumprod(x, axis=0), (9,), domain=NONZERO),
    on("np.cumprod(x) with zeros", np.cumprod, (5,), (3, 4), domain=with_zeros),
    on("np.cumprod(x,axis=1) with zeros", lambda x: np.cumprod(x, axis=1), (3, 4), domain=with_zeros),
]
DIFF = [
    on("np.diff(x)", np.diff, (5,), (3, 4), (2, 3, 2)),
    on("np.diff(x,axis=0)", lambda x: np.diff(x, axis=0), (3, 4), (2, 3, 2)),
    on("np.diff(x,n=2)", lambda x: np.diff(x, n=2), (5,), (3, 4)),
    on("np.diff(x,n=3,axis=1)", lambda x: np.diff(x, n=3, axis=1), (2, 4, 2)),
    on("np.diff(x,prepend=0.5,append=[2,3,4])",
       lambda x: np.diff(x, axis=0, prepend=0.5, append=[[2.0, 3.0, 4.0]]), (3, 3)),
    binary("np.diff(x,prepend=p)", lambda x, p: np.diff(x, prepend=p),
           shapes=(((5,), None), ((3, 4), (3, 2)))),
    binary("np.diff(x,n=2,append=p)", lambda x, p: np.diff(x, n=2, append=p),
           shapes=(((5,), (2,)), ((3, 4), None))),
    on("np.ediff1d(x)", np.ediff1d, (5,), (3, 4)),
    on("np.ediff1d(x,to_end=[1,2])", lambda x: np.ediff1d(x, to_end=[1.0, 2.0]), (3, 2)),
]
# A traced to_begin alone reaches no subtract (x is then constant): keyed by the concatenate.
EDIFF_BEGIN = [binary("np.ediff1d(x,to_begin=b,to_end=e)",
                      lambda x, b: np.ediff1d(x, to_begin=b, to_end=[1.0, 2.0]),
                      shapes=(((5,), None), ((3, 2), (2,))))]
_CONV_SHAPES = (((5,), (3,)), ((3,), (5,)), ((4,), (4,)), ((4,), (2,)), ((2,), (5,)), ((1,), (3,)))


def _conv_cases(fn: Any, name: str) -> list[Case]:
    return [binary(f"np.{name}(a,v,{m!r})", lambda a, v, m=m: fn(a, v, m), shapes=_CONV_SHAPES)
            for m in ("full", "same", "valid")] + [
        binary(f"np.{name}(a,v)", fn, shapes=(((5,), (2,)),)),
        on(f"np.{name}(x,[1,-2,0.5],mode=1)", lambda x: fn(x, [1.0, -2.0, 0.5], mode=1), (5,)),
    ]


INTERP = [
    on("np.interp(x,XP,FP)", lambda x: np.interp(x, XP, FP), None, (5,), (3, 4), domain=off_knots),
    on("np.interp(x,XP,FP,left=3,right=-2)", lambda x: np.interp(x, XP, FP, left=3.0, right=-2.0),
       (6,), domain=off_knots),
    Case("np.interp(x,XP,fp)", lambda x, fp: np.interp(x, XP, fp), (((6,), (4,)), (None, (4,)),
                                                                      ((2, 3), (4,))),
         (off_knots, REAL)),
    Case("np.interp(x,XP,fp,left=0)", lambda x, fp: np.interp(x, XP, fp, left=0.0),
         (((6,), (4,)),), (off_knots, REAL)),
    Case("np.interp(x,xp,fp)", lambda x, xp, fp: np.interp(x, xp, fp),
         (((5,), (4,), (4,)), ((2, 3), (4,), (4,)), (None, (4,), (4,))), (off_knots, knots, REAL)),
    Case("np.interp(x,xp,FP,right=1)", lambda x, xp: np.interp(x, xp, FP, right=1.0),
         (((6,), (4,)),), (off_knots, knots), (1,)),
    Case("np.interp(x,[0.5],fp)", lambda x, fp: np.interp(x, [0.5], fp), (((4,), (1,)),),
         (off_knots, REAL)),
]
POLYVAL = [
    binary("np.polyval(p,x)", np.polyval, shapes=(((4,), (5,)), ((3,), None), ((2,), (3, 4)))),
    on("np.polyval(P,x)", lambda x: np.polyval([1.0, -2.0, 0.5, 3.0], x), None, (3, 4)),
    on("np.polyval(p,0.7)", lambda p: np.polyval(p, 0.7), (4,)),
]

CASES: dict[str, list[Case]] = {
    "sum": VAR + AVERAGE,
    "sqrt": STD,
    "where": NAN,
    "max": PTP,
    "multiply": POLYVAL + CUMPROD,
    "subtract": DIFF,
    "concatenate": EDIFF_BEGIN,
    "convolve": _conv_cases(np.convolve, "convolve") + [
        binary("np.convolve(a,scalar)", np.convolve, shapes=(((4,), None),))],
    "correlate": _conv_cases(np.correlate, "correlate"),
    "interp": INTERP,
}
