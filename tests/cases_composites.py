"""Registry cases for numpy functions composed of registered primitives (no rules of their own).

linspace, nan_to_num, n-D dot, rollaxis, dstack/column_stack/row_stack/block, delete,
broadcast_arrays, cross, trapezoid, cov/corrcoef, nancumsum/nancumprod, nanvar/nanstd, vecdot,
linalg.outer, gradient, polyfit, piecewise, and the keyword arguments order='F', initial= and where=
of reshape/ravel and the reductions. Each case is keyed by a primitive the composition reaches.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from case_table import Case, binary, on
from conftest import POS, REAL

NAN6 = np.array([True, False, False, True, False, False])
NAN23 = NAN6.reshape(2, 3)
M34 = np.array([[True, False, True, True], [False, True, True, False], [True, True, False, True]])


def quiet(fn: Any) -> Any:
    """``fn`` with numpy's deprecation warnings (2-vector cross, row_stack) silenced."""
    def call(*args: Any) -> Any:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            return fn(*args)
    return call


def spread_points(rng: np.random.Generator, shape: Any) -> np.ndarray:
    """Distinct abscissae 0, 1, 2, ... jittered by at most 0.3 (a well-conditioned Vandermonde)."""
    n = shape[0]
    return np.arange(n, dtype=float) + rng.uniform(-0.3, 0.3, n)


def with_nans(x: Any, mask: np.ndarray) -> Any:
    return np.where(mask, np.nan, x)


CASES: dict[str, list[Case]] = {
    "multiply": [
        binary("np.linspace(a,b,5)", lambda a, b: np.linspace(a, b, 5),
               shapes=((None, None), ((3,), (3,)), ((2, 1), (3,)))),
        binary("np.linspace(a,b,4,endpoint=False,axis=1)",
               lambda a, b: np.linspace(a, b, 4, endpoint=False, axis=1), shapes=(((3,), (3,)),)),
        binary("np.linspace(a,b,1)", lambda a, b: np.linspace(a, b, 1), shapes=((None, None),)),
        binary("np.linspace(a,b,0) joined",
               lambda a, b: np.concatenate([np.linspace(a, b, 0), np.linspace(a, b, 3)]),
               shapes=((None, None),)),
        on("np.linspace(0,x,3,retstep=True)",
           lambda x: np.linspace(0.0, x, 3, retstep=True)[0] * np.linspace(0.0, x, 3, retstep=True)[1],
           None, (2,)),
        binary("np.cross 3x3", np.cross, shapes=(((3,), (3,)), ((2, 3), (3,)), ((4, 3), (4, 3)))),
        binary("np.cross 2x3, 3x2", np.cross, shapes=(((2,), (3,)), ((3,), (2,)), ((2, 2), (2, 3)))),
        binary("np.cross 2x2", quiet(np.cross), shapes=(((2,), (2,)), ((3, 2), (2,)))),
        binary("np.cross(a,b,axisa=0,axisb=0)", lambda a, b: np.cross(a, b, axisa=0, axisb=0),
               shapes=(((3, 2), (3, 2)),)),
        binary("np.cross(a,b,axis=0)", lambda a, b: np.cross(a, b, axis=0), shapes=(((3, 2), (3, 2)),)),
        binary("np.cross(a,b,axisc=0)", lambda a, b: np.cross(a, b, axisc=0), shapes=(((2, 3), (2, 3)),)),
        on("np.cross(x,const)", lambda x: np.cross(x, [0.5, -1.0, 2.0]), (3,), (2, 3)),
        binary("np.linalg.outer", np.linalg.outer, shapes=(((3,), (2,)),)),
        on("np.nancumprod", lambda x: np.nancumprod(with_nans(x, NAN6)), (6,)),
        on("np.nancumprod(axis=1)", lambda x: np.nancumprod(with_nans(x, NAN23), axis=1), (2, 3)),
    ],
    "where": [
        on("np.nan_to_num", lambda x: np.nan_to_num(with_nans(x, NAN6)), (6,)),
        on("np.nan_to_num(inf,posinf=,neginf=)", lambda x: np.nan_to_num(
            np.where(NAN23, np.inf, np.where(~NAN23 & (np.arange(6).reshape(2, 3) == 1), -np.inf, x)),
            posinf=3.0, neginf=-4.0, nan=1.0), (2, 3)),
        on("np.nan_to_num finite", np.nan_to_num, None, (4,)),
        on("np.piecewise(x,[x<0,x>=0],[f,g])", lambda x: np.piecewise(
            x, [x < 0, x >= 0], [lambda v: v ** 2, lambda v: np.sin(v)]), (6,), (2, 3)),
        on("np.sum(x,where=)", lambda x: np.sum(x, where=M34), (3, 4)),
        on("np.mean(x,where=,axis=1)", lambda x: np.mean(x, axis=1, where=M34), (3, 4)),
    ],
    "getitem": [
        on("np.piecewise(x,x>0.5,[f,1.5])", lambda x: np.piecewise(
            x, x > 0.5, [lambda v: np.sqrt(v), 1.5]), (6,), domain=POS),
        on("np.piecewise(x,[c],[f,g]) otherwise", lambda x: np.piecewise(
            x, [x < 0], [lambda v: -v, lambda v: np.exp(v)]), None, (5,)),
        on("np.delete(x,1)", lambda x: np.delete(x, 1), (5,)),
        on("np.delete(x,[0,2],axis=1)", lambda x: np.delete(x, [0, 2], axis=1), (3, 4)),
        on("np.delete(x,slice(1,3),axis=0)", lambda x: np.delete(x, slice(1, 3), axis=0), (4, 2)),
        on("np.delete(x,[0,5])", lambda x: np.delete(x, [0, 5]), (2, 3)),
        on("np.delete(x,mask)", lambda x: np.delete(x, np.array([True, False, True, False, False])),
           (5,)),
    ],
    "matmul": [
        binary("np.dot n-D", np.dot, shapes=(((2, 3, 2), (2, 2)), ((2, 3), (2, 3, 2)),
                                             ((2, 2, 3), (2, 3, 2)), ((3,), (2, 3, 2)))),
        on("np.dot(x,const 3-D)", lambda x: np.dot(x, np.ones((2, 3, 2))), (2, 3)),
        on("np.cov(x)", np.cov, (5,), (2, 4)),
        on("np.cov(x,rowvar=False,bias=True)", lambda x: np.cov(x, rowvar=False, bias=True), (4, 2)),
        on("np.cov(x,ddof=2)", lambda x: np.cov(x, ddof=2), (2, 4)),
        binary("np.cov(x,y)", np.cov, shapes=(((4,), (4,)), ((2, 4), (4,)))),
        on("np.corrcoef(x)", np.corrcoef, (2, 4), (3, 4)),
        binary("np.corrcoef(x,y)", np.corrcoef, shapes=(((4,), (4,)),)),
        on("np.corrcoef(x,rowvar=False)", lambda x: np.corrcoef(x, rowvar=False), (4, 2)),
    ],
    "transpose": [
        on("np.rollaxis(x,2)", lambda x: np.rollaxis(x, 2), (2, 3, 4)),
        on("np.rollaxis(x,0,3)", lambda x: np.rollaxis(x, 0, 3), (2, 3, 4)),
        on("np.rollaxis(x,-1,1)", lambda x: np.rollaxis(x, -1, 1), (2, 3, 4)),
        on("np.reshape(x,(4,3),order='F')", lambda x: np.reshape(x, (4, 3), order="F"), (3, 4)),
        on("x.reshape(2,-1,order='F')", lambda x: x.reshape(2, -1, order="F"), (2, 3, 2)),
        on("np.ravel(x,order='F')", lambda x: np.ravel(x, order="F"), (3, 4)),
        on("x.ravel('F')", lambda x: x.ravel("F"), (2, 3)),
    ],
    "concatenate": [
        binary("np.dstack", lambda a, b: np.dstack([a, b]), shapes=(((3,), (3,)), ((2, 3), (2, 3)), ((2, 3, 1), (2, 3, 2)))),
        binary("np.column_stack", lambda a, b: np.column_stack((a, b)), shapes=(((3,), (3,)), ((3,), (3, 2)))),
        binary("np.row_stack", quiet(lambda a, b: np.row_stack([a, b])),
               shapes=(((3,), (3,)), ((2, 3), (3,)))),
        binary("np.block([a,b])", lambda a, b: np.block([a, b]), shapes=(((2,), (3,)), (None, (2,)))),
        Case("np.block([[a,b],[c,d]])", lambda a, b, c, d: np.block([[a, b], [c, d]]),
             (((2, 2), (2, 1), (1, 2), (1, 1)), ((2,), (1,), (2,), (1,))), (REAL,) * 4),
        binary("np.block([[a],[b]]) 3-D", lambda a, b: np.block([[a], [b]]),
               shapes=(((1, 2, 2), (1, 1, 2)),)),
        on("np.block([[x,I],[I,x]])", lambda x: np.block([[x, np.eye(2)], [np.eye(2), x]]), (2, 2)),
        on("np.gradient", np.gradient, (5,)),
        on("np.gradient(x,0.5)", lambda x: np.gradient(x, 0.5), (5,)),
        binary("np.gradient(x,h)", lambda x, h: np.gradient(x, h), POS, POS, shapes=(((4,), None),)),
        on("np.gradient(x) 2-D", lambda x: np.concatenate(np.gradient(x, 2.0, 3.0)), (3, 4)),
        on("np.gradient(x,axis=1)", lambda x: np.gradient(x, axis=1), (3, 4)),
        on("np.gradient(x,axis=(0,2))", lambda x: np.stack(np.gradient(x, axis=(0, 2))), (2, 3, 2)),
        on("np.max(x,initial=0.5)", lambda x: np.max(x, initial=0.5), (5,), (3, 4)),
        on("np.min(x,axis=1,initial=-0.5,keepdims=True)",
           lambda x: np.min(x, axis=1, initial=-0.5, keepdims=True), (3, 4)),
    ],
    "max": [
        on("np.max(x,axis=0,initial=0.2,where=)",
           lambda x: np.max(x, axis=0, initial=0.2, where=M34), (3, 4)),
        on("x.max(initial=-3.0)", lambda x: x.max(initial=-3.0), (5,), (2, 3)),
    ],
    "min": [
        on("np.min(x,axis=(0,1),initial=1.0,where=)",
           lambda x: np.min(x, axis=(0, 1), initial=1.0, where=M34), (3, 4)),
    ],
    "broadcast_to": [
        binary("np.broadcast_arrays", lambda a, b: np.stack(np.broadcast_arrays(a, b)),
               shapes=(((3, 1), (4,)), (None, (3,)))),
        on("np.broadcast_arrays(x,const)", lambda x: np.broadcast_arrays(x, np.ones((2, 3)))[0],
           (3,)),
    ],
    "sum": [
        on("np.trapezoid(y)", np.trapezoid, (5,), (2, 4)),
        on("np.trapezoid(y,dx=0.5,axis=0)", lambda y: np.trapezoid(y, dx=0.5, axis=0), (3, 4)),
        on("np.trapezoid(y,x=const)", lambda y: np.trapezoid(y, x=np.array([0.0, 0.5, 1.5, 1.7])),
           (4,), (2, 4)),
        binary("np.trapezoid(y,x)", lambda y, x: np.trapezoid(y, x), shapes=(((4,), (4,)),)),
        binary("np.trapezoid(y,dx=h)", lambda y, h: np.trapezoid(y, dx=h), shapes=(((4,), None),)),
        on("np.nanvar", lambda x: np.nanvar(with_nans(x, NAN6)), (6,)),
        on("np.nanvar(axis=1,ddof=1,keepdims=True)", lambda x: np.nanvar(
            with_nans(x, NAN23), axis=1, ddof=1, keepdims=True), (2, 3)),
        on("np.nanvar no nan", np.nanvar, (4,)),
        binary("np.vecdot", np.vecdot, shapes=(((3,), (3,)), ((2, 3), (3,)))),
        binary("np.linalg.vecdot(axis=0)", lambda a, b: np.linalg.vecdot(a, b, axis=0),
               shapes=(((3, 2), (3, 2)), ((3, 1), (3, 2)))),
        on("np.sum(x,initial=1.5)", lambda x: np.sum(x, initial=1.5), (5,)),
        on("np.sum(x,axis=0,initial=1.0,where=)",
           lambda x: np.sum(x, axis=0, initial=1.0, where=M34), (3, 4)),
    ],
    "prod": [
        on("np.prod(x,initial=2.0)", lambda x: np.prod(x, initial=2.0), (4,)),
        on("np.prod(x,axis=1,where=)", lambda x: np.prod(x, axis=1, where=M34), (3, 4)),
    ],
    "sqrt": [
        on("np.nanstd", lambda x: np.nanstd(with_nans(x, NAN6)), (6,)),
        on("np.nanstd(axis=1,ddof=1)", lambda x: np.nanstd(with_nans(x, NAN23), axis=1, ddof=1),
           (2, 3)),
    ],
    "cumsum": [
        on("np.nancumsum", lambda x: np.nancumsum(with_nans(x, NAN6)), (6,)),
        on("np.nancumsum(axis=0)", lambda x: np.nancumsum(with_nans(x, NAN23), axis=0), (2, 3)),
    ],
    "lstsq": [
        on("np.polyfit(const,y,2)", lambda y: np.polyfit(np.arange(5.0), y, 2), (5,), (5, 2)),
        on("np.polyfit(x,const,1)", lambda x: np.polyfit(x, np.array([0.5, -1.0, 2.0, 0.3]), 1),
           (4,), domain=spread_points),
        Case("np.polyfit(x,y,2)", lambda x, y: np.polyfit(x, y, 2), (((5,), (5,)),),
             (spread_points, REAL)),
        on("np.polyfit(const,y,1,w=)", lambda y: np.polyfit(np.arange(4.0), y, 1,
                                                            w=np.array([1.0, 2.0, 0.5, 1.0])), (4,)),
    ],
    "add": [
        binary("np.sum([x,y],axis=0)", lambda a, b: np.sum([a, b], axis=0), shapes=(((3,), (3,)),)),
    ],
}
