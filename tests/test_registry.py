"""Registry-driven checks: every registered primitive, in both modes, against finite differences.

``TABLE`` maps each name in ``modes.REGISTRY`` to ways of calling it (numpy expressions on traced
inputs, with a safe domain per argument and several shapes). ``test_table_covers_registry`` fails as
soon as a primitive is registered without an entry, and every case asserts that it really reaches
its primitive. Hand-computed values pin the conventions at kinks, ties and zeros.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from pathlib import Path
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest

import modes
from case_table import MODES, Case, Shape, binary, on, unary, reduction_cases  # noqa: F401
from conftest import (
    NONZERO,
    POS,
    REAL,
    UNIT,
    Domain,
    assert_close_fd,
    assert_modes_agree,
    numerical_jacobian,
    sample,
    shape_str,
)

COND = np.array([[True, False, True, True], [False, False, True, False], [True, True, False, True]])
MASK34 = np.array([[True, False, False, True], [False, True, True, False], [True, False, True, True]])
MASK4 = np.array([True, False, True, True])
C23 = np.arange(6.0).reshape(2, 3) - 2.5

TABLE: dict[str, list[Case]] = {
    # ---- arithmetic -----------------------------------------------------------------------------
    "add": [binary("x+y", lambda x, y: x + y), binary("np.add", np.add),
            unary("x+1.5", lambda x: x + 1.5), unary("2.0+x", lambda x: 2.0 + x)],
    "subtract": [binary("x-y", lambda x, y: x - y), binary("np.subtract", np.subtract),
                 unary("1.0-x", lambda x: 1.0 - x)],
    "multiply": [binary("x*y", lambda x, y: x * y), binary("np.multiply", np.multiply),
                 unary("3.0*x", lambda x: 3.0 * x),
                 binary("np.outer", np.outer, shapes=(((3,), (4,)), ((2, 2), (3,))))],
    "divide": [binary("x/y", lambda x, y: x / y, REAL, NONZERO),
               binary("np.divide", np.divide, REAL, NONZERO),
               binary("np.true_divide", np.true_divide, REAL, NONZERO, shapes=(((3, 4), (4,)),)),
               unary("1.0/x", lambda x: 1.0 / x, NONZERO), unary("x/4.0", lambda x: x / 4.0)],
    "power": [binary("x**y", lambda x, y: x ** y, POS, REAL),
              binary("np.power", np.power, POS, REAL),
              unary("x**3", lambda x: x ** 3), unary("x**0.5", lambda x: x ** 0.5, POS),
              unary("x**-2", lambda x: x ** -2, NONZERO), unary("2.0**x", lambda x: 2.0 ** x)],
    "negative": [unary("np.negative", np.negative), unary("-x", lambda x: -x)],
    "absolute": [unary("np.abs", np.abs, NONZERO), unary("abs(x)", lambda x: abs(x), NONZERO),
                 unary("np.fabs", np.fabs, NONZERO),
                 on("norm(x,ord=1)", lambda x: np.linalg.norm(x, ord=1), (5,), domain=NONZERO),
                 on("norm(x,ord=1,axis=1)", lambda x: np.linalg.norm(x, ord=1, axis=1), (3, 4),
                    domain=NONZERO)],
    "square": [unary("np.square", np.square)],
    "reciprocal": [unary("np.reciprocal", np.reciprocal, NONZERO)],
    "sqrt": [unary("np.sqrt", np.sqrt, POS)],
    "cbrt": [unary("np.cbrt", np.cbrt, NONZERO)],
    # ---- exponentials and logarithms ------------------------------------------------------------
    "exp": [unary("np.exp", np.exp)],
    "exp2": [unary("np.exp2", np.exp2)],
    "expm1": [unary("np.expm1", np.expm1)],
    "log": [unary("np.log", np.log, POS)],
    "log1p": [unary("np.log1p", np.log1p, (-0.5, 2.0))],
    "log2": [unary("np.log2", np.log2, POS)],
    "log10": [unary("np.log10", np.log10, POS)],
    "logaddexp": [binary("np.logaddexp", np.logaddexp)],
    # ---- trigonometric and hyperbolic -------------------------------------------------------------
    "sin": [unary("np.sin", np.sin)],
    "cos": [unary("np.cos", np.cos)],
    "tan": [unary("np.tan", np.tan, (-1.2, 1.2))],
    "arcsin": [unary("np.arcsin", np.arcsin, UNIT)],
    "arccos": [unary("np.arccos", np.arccos, UNIT)],
    "arctan": [unary("np.arctan", np.arctan)],
    "sinh": [unary("np.sinh", np.sinh)],
    "cosh": [unary("np.cosh", np.cosh)],
    "tanh": [unary("np.tanh", np.tanh)],
    "arcsinh": [unary("np.arcsinh", np.arcsinh)],
    "arccosh": [unary("np.arccosh", np.arccosh, (1.2, 3.0))],
    "arctanh": [unary("np.arctanh", np.arctanh, UNIT)],
    "arctan2": [binary("np.arctan2(y,x)", np.arctan2, REAL, POS)],  # x > 0: away from the cut
    "hypot": [binary("np.hypot", np.hypot, NONZERO, NONZERO)],
    # ---- piecewise ------------------------------------------------------------------------------
    "maximum": [binary("np.maximum", np.maximum)],
    "minimum": [binary("np.minimum", np.minimum)],
    "fmax": [binary("np.fmax", np.fmax)],
    "fmin": [binary("np.fmin", np.fmin)],
    "where": [
        binary("np.where(C,x,y)", lambda x, y: np.where(COND, x, y),
               shapes=(((3, 4), (3, 4)), ((3, 1), (4,)), (None, (3, 4)), ((3, 4), None))),
        unary("np.where(x>0,x,0)", lambda x: np.where(x > 0, x, 0.0)),
        unary("np.where(x>0,x,0.1x)", lambda x: np.where(x > 0, x, 0.1 * x)),
    ],
    "clip": [
        Case("np.clip(x,lo,hi)", lambda x, lo, hi: np.clip(x, lo, hi),
             ((None, None, None), ((5,), (5,), (5,)), ((3, 4), (4,), (3, 1)), ((3, 4), None, None)),
             (REAL, (-1.0, -0.2), (0.2, 1.0))),
        unary("np.clip(x,-0.5,0.5)", lambda x: np.clip(x, -0.5, 0.5)),
        unary("np.clip(x,None,0.5)", lambda x: np.clip(x, None, 0.5)),
        unary("np.clip(x,-0.5,None)", lambda x: np.clip(x, -0.5, None)),
        unary("x.clip(-0.5,0.5)", lambda x: x.clip(-0.5, 0.5), shapes=((5,), (3, 4))),
    ],
    # ---- shape ----------------------------------------------------------------------------------
    "reshape": [
        on("x.reshape(4,3)", lambda x: x.reshape(4, 3), (3, 4)),
        on("x.reshape((2,-1))", lambda x: x.reshape((2, -1)), (3, 4)),
        on("np.reshape(x,-1)", lambda x: np.reshape(x, -1), (3, 4)),
        on("np.reshape(x,(2,-1,2))", lambda x: np.reshape(x, (2, -1, 2)), (3, 4)),
        on("np.ravel", np.ravel, (2, 3, 2)),
        on("x.ravel()", lambda x: x.ravel(), (3, 4)),
        on("x.flatten()", lambda x: x.flatten(), (3, 4)),
        on("np.squeeze", np.squeeze, (3, 1, 4), (1, 5, 1)),
        on("np.squeeze(x,axis=1)", lambda x: np.squeeze(x, axis=1), (3, 1, 1)),
        on("x.squeeze()", lambda x: x.squeeze(), (1, 4)),
        on("np.expand_dims(x,0)", lambda x: np.expand_dims(x, 0), (5,), (3, 4)),
        on("np.expand_dims(x,-1)", lambda x: np.expand_dims(x, -1), (5,), (3, 4)),
        on("np.expand_dims(x,(0,2))", lambda x: np.expand_dims(x, (0, 2)), (3, 4)),
        on("np.atleast_1d", np.atleast_1d, None),
        on("np.atleast_2d", np.atleast_2d, None, (5,)),
        on("np.atleast_3d", np.atleast_3d, (5,), (3, 4)),
    ],
    "transpose": [
        on("x.T", lambda x: x.T, (3, 4), (2, 3, 4)),
        on("np.transpose", np.transpose, (3, 4), (2, 3, 4)),
        on("np.transpose(x,(1,2,0))", lambda x: np.transpose(x, (1, 2, 0)), (2, 3, 4)),
        on("x.transpose(2,0,1)", lambda x: x.transpose(2, 0, 1), (2, 3, 4)),
        on("np.swapaxes(x,0,2)", lambda x: np.swapaxes(x, 0, 2), (2, 3, 4)),
        on("x.swapaxes(-1,-2)", lambda x: x.swapaxes(-1, -2), (3, 4), (2, 3, 4)),
        on("np.moveaxis(x,0,-1)", lambda x: np.moveaxis(x, 0, -1), (2, 3, 4)),
        on("np.moveaxis(x,[0,1],[-1,0])", lambda x: np.moveaxis(x, [0, 1], [-1, 0]), (2, 3, 4)),
        on("x.mT", lambda x: x.mT, (2, 3, 4)),
    ],
    "broadcast_to": [
        on("np.broadcast_to(x,(3,4))", lambda x: np.broadcast_to(x, (3, 4)),
           None, (4,), (3, 1), (1, 4)),
        on("np.broadcast_to(x,(2,3,4))", lambda x: np.broadcast_to(x, (2, 3, 4)), (3, 1), (2, 1, 4)),
    ],
    # ---- reductions -----------------------------------------------------------------------------
    "sum": reduction_cases("np.sum", np.sum, REAL) + [
        on("x.sum(axis=0)", lambda x: x.sum(axis=0), (3, 4)),
        on("x.sum()", lambda x: x.sum(), (3, 4)),
        on("np.add.reduce(x,axis=1)", lambda x: np.add.reduce(x, axis=1), (3, 4)),
        on("np.mean", np.mean, (5,), (3, 4)),
        on("np.mean(x,axis=1)", lambda x: np.mean(x, axis=1), (3, 4)),
        on("np.mean(x,axis=(0,2),keepdims=True)", lambda x: np.mean(x, axis=(0, 2), keepdims=True),
           (2, 3, 4)),
        on("x.mean(axis=0)", lambda x: x.mean(axis=0), (3, 4)),
        on("np.trace", np.trace, (3, 3), (3, 4)),
    ],
    "max": reduction_cases("np.max", np.max, REAL) + [
        on("np.amax(x,axis=0)", lambda x: np.amax(x, axis=0), (3, 4)),
        on("x.max(axis=1)", lambda x: x.max(axis=1), (3, 4)),
        on("np.maximum.reduce(x,axis=0)", lambda x: np.maximum.reduce(x, axis=0), (3, 4)),
        on("norm(x,ord=inf)", lambda x: np.linalg.norm(x, ord=np.inf), (5,), domain=NONZERO),
        on("norm(x,ord=inf,axis=0)", lambda x: np.linalg.norm(x, ord=np.inf, axis=0), (3, 4),
           domain=NONZERO),
    ],
    "min": reduction_cases("np.min", np.min, REAL) + [
        on("np.amin(x,axis=1,keepdims=True)", lambda x: np.amin(x, axis=1, keepdims=True), (3, 4)),
        on("x.min()", lambda x: x.min(), (3, 4)),
        on("norm(x,ord=-inf)", lambda x: np.linalg.norm(x, ord=-np.inf), (5,), domain=NONZERO),
    ],
    "prod": reduction_cases("np.prod", np.prod, NONZERO) + [
        on("x.prod(axis=0)", lambda x: x.prod(axis=0), (3, 4), domain=NONZERO),
        on("np.multiply.reduce(x,axis=1)", lambda x: np.multiply.reduce(x, axis=1), (3, 4),
           domain=NONZERO),
    ],
    "cumsum": [
        on("np.cumsum(x)", np.cumsum, (5,), (3, 4)),
        on("np.cumsum(x,axis=0)", lambda x: np.cumsum(x, axis=0), (5,), (3, 4)),
        on("np.cumsum(x,axis=1)", lambda x: np.cumsum(x, axis=1), (3, 4), (2, 3, 4)),
        on("np.cumsum(x,axis=-1)", lambda x: np.cumsum(x, axis=-1), (2, 3, 4)),
        on("x.cumsum(axis=0)", lambda x: x.cumsum(axis=0), (3, 4)),
    ],
    # ---- indexing -------------------------------------------------------------------------------
    "getitem": [
        on("x[1:,::2]", lambda x: x[1:, ::2], (3, 4)),
        on("x[1]", lambda x: x[1], (5,), (3, 4)),
        on("x[-1,2]", lambda x: x[-1, 2], (3, 4)),
        on("x[...,1]", lambda x: x[..., 1], (3, 4), (2, 3, 4)),
        on("x[None,:,1]", lambda x: x[None, :, 1], (3, 4)),
        on("x[::-1]", lambda x: x[::-1], (5,), (3, 4)),
        on("x[[0,2,2]]", lambda x: x[[0, 2, 2]], (4,), (4, 3)),
        on("x[:,[0,0,2]]", lambda x: x[:, [0, 0, 2]], (3, 4)),
        on("x[[0,1,1],[2,2,3]]", lambda x: x[[0, 1, 1], [2, 2, 3]], (3, 4)),
        on("x[idx2d]", lambda x: x[np.array([[0, 1], [2, 2]])], (4,), (4, 3)),
        on("x[mask]", lambda x: x[MASK34], (3, 4)),
        on("x[mask4]", lambda x: x[MASK4], (4,)),
        on("x[:,mask4]", lambda x: x[:, MASK4], (3, 4)),
        on("x[x>0]", lambda x: x[x > 0], (5,), (3, 4)),
    ],
    "untake": [
        on("untake([0,2,2])", lambda g: modes.REGISTRY["untake"](
            g, index=(np.array([0, 2, 2]),), shape=(4,), nb=0), (3,)),
        on("untake(1:,::2)", lambda g: modes.REGISTRY["untake"](
            g, index=(slice(1, None), slice(None, None, 2)), shape=(3, 4), nb=0), (2, 2)),
        on("untake(mask)", lambda g: modes.REGISTRY["untake"](
            g, index=(MASK34,), shape=(3, 4), nb=0), (int(MASK34.sum()),)),
    ],
    # ---- joining --------------------------------------------------------------------------------
    "concatenate": [
        binary("np.concatenate([x,y])", lambda x, y: np.concatenate([x, y]),
               shapes=(((3,), (4,)), ((2, 3), (1, 3)))),
        binary("np.concatenate([x,y],axis=1)", lambda x, y: np.concatenate([x, y], axis=1),
               shapes=(((3, 2), (3, 4)),)),
        binary("np.concatenate([x,y],axis=-1)", lambda x, y: np.concatenate((x, y), axis=-1),
               shapes=(((2, 3, 1), (2, 3, 2)),)),
        binary("np.concatenate([x,y],axis=None)", lambda x, y: np.concatenate([x, y], axis=None),
               shapes=(((2, 3), (4,)),)),
        binary("np.concatenate([x,C,y])", lambda x, y: np.concatenate([x, C23, y]),
               shapes=(((1, 3), (2, 3)),)),
        binary("np.stack([x,y])", lambda x, y: np.stack([x, y]),
               shapes=((None, None), ((3,), (3,)), ((2, 3), (2, 3)))),
        binary("np.stack([x,y],axis=1)", lambda x, y: np.stack([x, y], axis=1),
               shapes=(((3,), (3,)), ((2, 3), (2, 3)))),
        binary("np.stack([x,y],axis=-1)", lambda x, y: np.stack([x, y], axis=-1),
               shapes=(((2, 3), (2, 3)),)),
        binary("np.hstack", lambda x, y: np.hstack([x, y]),
               shapes=(((3,), (2,)), ((2, 3), (2, 1)))),
        binary("np.vstack", lambda x, y: np.vstack([x, y]),
               shapes=(((3,), (3,)), ((2, 3), (1, 3)))),
    ],
    # ---- linear algebra -------------------------------------------------------------------------
    "matmul": [
        binary("x@y", lambda x, y: x @ y, shapes=(
            ((4,), (4,)), ((3, 4), (4,)), ((4,), (4, 5)), ((3, 4), (4, 5)),
            ((2, 3, 4), (2, 4, 5)), ((2, 3, 4), (4, 5)), ((3, 4), (2, 4, 5)),
            ((2, 3, 4), (4,)), ((4,), (2, 4, 5)), ((2, 1, 3, 4), (5, 4, 2)))),
        binary("np.matmul", np.matmul, shapes=(((3, 4), (4, 2)), ((2, 3, 4), (2, 4, 2)))),
        binary("np.dot", np.dot, shapes=(((4,), (4,)), ((3, 4), (4,)), ((4,), (4, 2)),
                                         ((3, 4), (4, 2)))),
        # ndarray.dot does not dispatch to traced arguments: only the method's owner is traced
        Case("x.dot(y)", lambda x, y: x.dot(y), (((3, 4), (4,)), ((4,), (4, 2))), (REAL, REAL), (0,)),
        binary("np.inner", np.inner, shapes=(((4,), (4,)), ((3, 4), (4,)), ((3, 4), (2, 4)))),
        binary("np.vdot", np.vdot, shapes=(((4,), (4,)), ((2, 3), (3, 2)))),
    ],
    "l2norm": [
        on("norm(x)", np.linalg.norm, (5,), (3, 4), (2, 3, 2)),
        on("norm(x,'fro')", lambda x: np.linalg.norm(x, "fro"), (3, 4)),
        on("norm(x,2)", lambda x: np.linalg.norm(x, 2), (5,)),
        on("norm(x,axis=1)", lambda x: np.linalg.norm(x, axis=1), (3, 4), (2, 3, 4)),
        on("norm(x,axis=0,keepdims=True)", lambda x: np.linalg.norm(x, axis=0, keepdims=True), (3, 4)),
        on("norm(x,axis=(0,2))", lambda x: np.linalg.norm(x, axis=(0, 2)), (2, 3, 4)),
        on("norm(x,keepdims=True)", lambda x: np.linalg.norm(x, keepdims=True), (3, 4)),
    ],
}

# ord=3 vector norms exercise power on top of absolute and sum.
TABLE["power"] += [
    on("norm(x,ord=3)", lambda x: np.linalg.norm(x, ord=3), (5,), domain=NONZERO),
    on("norm(x,ord=3,axis=1)", lambda x: np.linalg.norm(x, ord=3, axis=1), (3, 4), domain=NONZERO),
]


# The tables of the other families of primitives: every ``tests/cases_*.py`` defines ``CASES``.
for _path in sorted(Path(__file__).parent.glob("cases_*.py")):
    for _name, _cases in importlib.import_module(_path.stem).CASES.items():
        TABLE.setdefault(_name, []).extend(_cases)


def test_table_covers_registry() -> None:
    """Fails when a primitive is registered without a table entry (or an entry names no primitive)."""
    missing = sorted(set(modes.REGISTRY) - set(TABLE))
    assert not missing, f"registered primitives with no TABLE entry in tests/test_registry.py: {missing}"
    stale = sorted(set(TABLE) - set(modes.REGISTRY))
    assert not stale, f"TABLE entries that are not registered primitives: {stale}"


@pytest.mark.parametrize("name", sorted(modes.REGISTRY))
def test_every_registered_primitive_has_cases(name: str) -> None:
    assert TABLE.get(name), f"primitive {name!r} has no test case in TABLE"


def _params() -> list[Any]:
    params = []
    for name in sorted(TABLE):
        for case in TABLE[name]:
            for shapes in case.shapes:
                for argnum in case.argnums or range(len(shapes)):
                    for mode in MODES:
                        sid = "x".join(shape_str(s) for s in shapes)
                        params.append(pytest.param(
                            name, case, shapes, argnum, mode,
                            id=f"{name}-{case.label}-{sid}-arg{argnum}-{mode}"))
    return params


def _count_calls(monkeypatch: pytest.MonkeyPatch, name: str) -> list[int]:
    """Wrap the primitive's implementation to count how often a traced evaluation reaches it."""
    prim = modes.REGISTRY[name]
    calls = [0]
    inner = prim.fn

    def counting(*args: Any, **kwargs: Any) -> Any:
        calls[0] += 1
        return inner(*args, **kwargs)

    monkeypatch.setattr(prim, "fn", counting)
    return calls


@pytest.mark.parametrize("name, case, shapes, argnum, mode", _params())
def test_jacobian_matches_finite_differences(name: str, case: Case, shapes: tuple[Shape, ...],
                                             argnum: int, mode: str, rng: np.random.Generator,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    args = [sample(rng, s, d) for s, d in zip(shapes, case.domains)]
    expected_value = np.asarray(case.fn(*args))
    expected = numerical_jacobian(case.fn, args, argnum)

    calls = _count_calls(monkeypatch, name)
    jac = modes.jacobian(case.fn, argnum, mode=mode)(*args)
    assert calls[0] > 0, f"{case.label} never reached primitive {name!r}"
    assert_close_fd(jac, expected, what=f"{case.label} d/d arg{argnum} ({mode})")

    # The traced evaluation computes the same value as plain numpy.
    if mode == "forward":
        value, _ = modes.jvp(case.fn, tuple(args), tuple(np.zeros_like(np.asarray(a)) if
                                                         isinstance(a, np.ndarray) else 0.0
                                                         for a in args))
    else:
        value, _ = modes.vjp(case.fn, *args)
    np.testing.assert_allclose(np.asarray(value), expected_value, rtol=1e-14, atol=0)
    assert np.shape(value) == expected_value.shape


# ---- second order: every rule differentiated again, in the four nestings ---------------------------
NESTINGS = (("forward", "forward"), ("forward", "reverse"), ("reverse", "forward"), ("reverse", "reverse"))
SECOND_STEP = 1e-4  # nested central differences: truncation ~ 1e-8, rounding ~ 1e-16 / 1e-8


def _second_order_params() -> list[Any]:
    """One variant per case (the first with an array argument, else the first): each rule is
    differentiated twice, by each (outer, inner) pair of modes."""
    params = []
    for name in sorted(TABLE):
        for case in TABLE[name]:
            shapes = next((v for v in case.shapes if any(s for s in v)), case.shapes[0])
            argnum = (case.argnums or (0,))[0]
            for outer, inner in NESTINGS:
                sid = "x".join(shape_str(s) for s in shapes)
                params.append(pytest.param(name, case, shapes, argnum, outer, inner,
                                           id=f"{name}-{case.label}-{sid}-{outer}-over-{inner}"))
    return params


def _central_gradient(f: Callable[..., Any], args: list, argnum: int) -> np.ndarray:
    return numerical_jacobian(f, args, argnum, step=SECOND_STEP)


@pytest.mark.parametrize("name, case, shapes, argnum, outer, inner", _second_order_params())
def test_second_order_matches_finite_differences(name: str, case: Case, shapes: tuple[Shape, ...],
                                                 argnum: int, outer: str, inner: str,
                                                 rng: np.random.Generator) -> None:
    """The Hessian of ``sum(w * fn(x))``: ``outer`` mode over ``inner`` mode, against second
    central differences of the plain function."""
    args = [sample(rng, s, d) for s, d in zip(shapes, case.domains)]
    w = rng.uniform(0.5, 1.5, np.shape(case.fn(*args)))

    def scalar(*a: Any) -> Any:
        return np.sum(w * case.fn(*a))

    def plain_gradient(*a: Any) -> np.ndarray:
        return _central_gradient(scalar, list(a), argnum)

    expected = numerical_jacobian(plain_gradient, args, argnum, step=SECOND_STEP)
    hess = modes.jacobian(modes.grad(scalar, argnum, mode=inner), argnum, mode=outer)(*args)
    assert_close_fd(hess, expected, rtol=2e-5, what=f"{case.label} {outer}-over-{inner}")


# ---- hand-computed values: repeated indices, masks ---------------------------------------------------
@pytest.mark.parametrize("mode", MODES)
def test_repeated_integer_indices_accumulate(mode: str) -> None:
    x = np.array([1.0, 2.0, 3.0, 4.0])
    g = modes.grad(lambda x: np.sum(x[[0, 2, 2]]), mode=mode)(x)
    np.testing.assert_array_equal(g, [1.0, 0.0, 2.0, 0.0])
    jac = modes.jacobian(lambda x: x[[0, 2, 2]], mode=mode)(x)
    np.testing.assert_array_equal(jac, [[1, 0, 0, 0], [0, 0, 1, 0], [0, 0, 1, 0]])
    # weighted: the two picks of x[2] add their cotangents
    g = modes.grad(lambda x: x[[0, 2, 2]] @ np.array([5.0, 6.0, 7.0]), mode=mode)(x)
    np.testing.assert_array_equal(g, [5.0, 0.0, 13.0, 0.0])
    # rows of a matrix
    m = np.arange(12.0).reshape(4, 3)
    g = modes.grad(lambda m: np.sum(m[[3, 1, 3, 3]]), mode=mode)(m)
    np.testing.assert_array_equal(g, np.array([[0.0] * 3, [1.0] * 3, [0.0] * 3, [3.0] * 3]))


def test_repeated_integer_indices_pullback() -> None:
    x = np.array([1.0, 2.0, 3.0, 4.0])
    out, pull = modes.vjp(lambda x: x[[0, 2, 2, 0, 1]], x)
    np.testing.assert_array_equal(out, [1.0, 3.0, 3.0, 1.0, 2.0])
    (bar,) = pull(np.array([1.0, 10.0, 100.0, 1000.0, 10000.0]))
    np.testing.assert_array_equal(bar, [1001.0, 10000.0, 110.0, 0.0])


@pytest.mark.parametrize("mode", MODES)
def test_boolean_mask_indexing(mode: str) -> None:
    x = np.array([[1.0, -2.0, 3.0], [-4.0, 5.0, -6.0]])
    mask = x > 0
    g = modes.grad(lambda x: np.sum(x[mask] ** 2), mode=mode)(x)
    np.testing.assert_array_equal(g, np.where(mask, 2 * x, 0.0))
    jac = modes.jacobian(lambda x: x[mask], mode=mode)(x)
    expected = np.zeros((3, 2, 3))
    for k, (i, j) in enumerate(zip(*np.nonzero(mask))):
        expected[k, i, j] = 1.0
    np.testing.assert_array_equal(jac, expected)


# ---- ties in max / min: ties share the derivative equally ----------------------------------------------
TIES = [
    # (function, input, hand-computed gradient of sum(f(x)))
    ("max", lambda x: np.max(x), [1.0, 3.0, 3.0, 2.0], [0.0, 0.5, 0.5, 0.0]),
    ("max3", lambda x: np.max(x), [3.0, 3.0, 3.0], [1 / 3, 1 / 3, 1 / 3]),
    ("min", lambda x: np.min(x), [2.0, -1.0, 5.0, -1.0], [0.0, 0.5, 0.0, 0.5]),
    ("max_axis1", lambda x: np.sum(np.max(x, axis=1)), [[1.0, 1.0, 0.0], [2.0, 0.0, 2.0]],
     [[0.5, 0.5, 0.0], [0.5, 0.0, 0.5]]),
    ("max_axis0_keepdims", lambda x: np.sum(np.max(x, axis=0, keepdims=True) * np.array([1.0, 2.0, 3.0])),
     [[1.0, 4.0, 0.0], [1.0, 2.0, 0.0]], [[0.5, 2.0, 1.5], [0.5, 0.0, 1.5]]),
    ("min_axis_tuple", lambda x: np.min(x, axis=(0, 1)) @ np.array([1.0, 10.0]),
     [[[1.0, 0.0], [1.0, 5.0]], [[3.0, 0.0], [1.0, 0.0]]],
     [[[1 / 3, 10 / 3], [1 / 3, 0.0]], [[0.0, 10 / 3], [1 / 3, 10 / 3]]]),
    ("x.max()", lambda x: x.max(), [[2.0, 2.0], [2.0, 1.0]], [[1 / 3, 1 / 3], [1 / 3, 0.0]]),
    ("norm_inf", lambda x: np.linalg.norm(x, ord=np.inf), [-2.0, 2.0, 1.0], [-0.5, 0.5, 0.0]),
]


@pytest.mark.parametrize("f, x, expected", [pytest.param(f, x, e, id=i) for i, f, x, e in TIES])
def test_max_min_ties_share_equally(f: Callable[..., Any], x: list, expected: list) -> None:
    x = np.array(x)
    fwd = modes.grad(f, mode="forward")(x)
    rev = modes.grad(f, mode="reverse")(x)
    np.testing.assert_allclose(fwd, expected, rtol=1e-15, atol=1e-15)
    np.testing.assert_allclose(rev, expected, rtol=1e-15, atol=1e-15)
    assert_modes_agree(fwd, rev)


@pytest.mark.parametrize("mode", MODES)
def test_max_tie_jacobian(mode: str) -> None:
    x = np.array([[1.0, 3.0, 3.0], [0.0, 0.0, -1.0]])
    jac = modes.jacobian(lambda x: np.max(x, axis=1), mode=mode)(x)
    expected = np.zeros((2, 2, 3))
    expected[0, 0, 1:] = 0.5
    expected[1, 1, :2] = 0.5
    np.testing.assert_array_equal(jac, expected)


# ---- prod with zeros: the exact derivative is the product of the others -------------------------------
def _prod_others(x: np.ndarray, axis: int) -> np.ndarray:
    """By hand: d prod / d x_i = product of the other entries of x_i's slice along ``axis``."""
    out = np.empty_like(x)
    xm = np.moveaxis(x, axis, -1)
    om = np.moveaxis(out, axis, -1)
    for idx in np.ndindex(xm.shape[:-1]):
        row = xm[idx]
        for i in range(row.size):
            om[idx + (i,)] = np.prod(np.delete(row, i))
    return out


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("x, expected", [
    ([2.0, 0.0, 3.0], [0.0, 6.0, 0.0]),
    ([2.0, 0.0, 3.0, 0.0], [0.0, 0.0, 0.0, 0.0]),
    ([0.0], [1.0]),
    ([-1.5, 0.0, 4.0, 2.0], [0.0, -12.0, 0.0, 0.0]),
])
def test_prod_with_zeros_vector(mode: str, x: list, expected: list) -> None:
    g = modes.grad(np.prod, mode=mode)(np.array(x))
    np.testing.assert_array_equal(g, expected)
    assert np.all(np.isfinite(g))


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("axis", [0, 1])
@pytest.mark.parametrize("keepdims", [False, True])
def test_prod_with_zeros_axis(mode: str, axis: int, keepdims: bool) -> None:
    x = np.array([[2.0, 0.0, 3.0, 0.5], [1.0, 2.0, -4.0, 0.0], [0.0, 0.0, 2.0, 3.0]])
    jac = modes.jacobian(lambda x: np.prod(x, axis=axis, keepdims=keepdims), mode=mode)(x)
    others = _prod_others(x, axis)
    # Each output depends only on the entries of its slice; the diagonal blocks are the "others".
    expected = np.zeros(np.prod(x, axis=axis, keepdims=keepdims).shape + x.shape)
    for idx in np.ndindex(x.shape):
        out_idx = tuple(0 if (keepdims and k == axis) else i for k, i in enumerate(idx)
                        if keepdims or k != axis)
        expected[out_idx + idx] = others[idx]
    np.testing.assert_array_equal(jac, expected)
    # prod is multilinear: central differences are exact up to rounding, zeros included
    assert_close_fd(jac, numerical_jacobian(lambda x: np.prod(x, axis=axis, keepdims=keepdims), [x]))


@pytest.mark.parametrize("mode", MODES)
def test_prod_with_zeros_all_axes(mode: str) -> None:
    x = np.array([[2.0, 0.0], [3.0, 5.0]])
    g = modes.grad(lambda x: np.prod(x), mode=mode)(x)
    np.testing.assert_array_equal(g, [[0.0, 30.0], [0.0, 0.0]])


# ---- kink conventions, both modes, and forward == reverse ----------------------------------------------
def _both(f: Callable[..., Any], *args: Any, argnum: int = 0) -> np.ndarray:
    fwd = modes.jacobian(f, argnum, mode="forward")(*args)
    rev = modes.jacobian(f, argnum, mode="reverse")(*args)
    np.testing.assert_array_equal(np.asarray(fwd), np.asarray(rev))
    return np.asarray(fwd)


def test_abs_derivative_at_zero_is_zero() -> None:
    np.testing.assert_array_equal(_both(np.abs, 0.0), 0.0)
    np.testing.assert_array_equal(_both(np.abs, np.array([0.0, 2.0, -3.0])),
                                  np.diag([0.0, 1.0, -1.0]))
    np.testing.assert_array_equal(_both(lambda x: abs(x), np.array([0.0, -0.0])), np.zeros((2, 2)))
    for mode in MODES:
        assert modes.grad(np.abs, mode=mode)(0.0) == 0.0


@pytest.mark.parametrize("fn, first", [(np.maximum, 0.5), (np.minimum, 0.5), (np.fmax, 0.5),
                                       (np.fmin, 0.5)])
def test_maximum_minimum_ties_give_half(fn: Callable[..., Any], first: float) -> None:
    x = np.array([1.0, 2.0, 3.0])
    y = np.array([1.0, 0.0, 5.0])
    dx = _both(fn, x, y, argnum=0)
    dy = _both(fn, x, y, argnum=1)
    win_x = 1.0 if fn in (np.maximum, np.fmax) else 0.0
    np.testing.assert_array_equal(dx, np.diag([0.5, win_x, 1.0 - win_x]))
    np.testing.assert_array_equal(dy, np.diag([0.5, 1.0 - win_x, win_x]))
    # scalars, and a tie against a constant
    np.testing.assert_array_equal(_both(fn, 2.0, 2.0, argnum=0), 0.5)
    np.testing.assert_array_equal(_both(lambda x: fn(x, 0.0), 0.0), 0.5)
    # relu via maximum: d/dx max(x, x) = 0.5 + 0.5
    np.testing.assert_array_equal(_both(lambda x: fn(x, x), 1.5), 1.0)


def test_clip_derivative_on_closed_interval() -> None:
    x = np.array([-1.0, -0.5, 0.0, 0.5, 1.0])
    f = lambda x: np.clip(x, -0.5, 0.5)  # noqa: E731
    np.testing.assert_array_equal(_both(f, x), np.diag([0.0, 1.0, 1.0, 1.0, 0.0]))
    # None bounds are open on that side
    np.testing.assert_array_equal(_both(lambda x: np.clip(x, None, 0.5), x),
                                  np.diag([1.0, 1.0, 1.0, 1.0, 0.0]))
    np.testing.assert_array_equal(_both(lambda x: np.clip(x, -0.5, None), x),
                                  np.diag([0.0, 1.0, 1.0, 1.0, 1.0]))
    # derivatives with respect to the bounds: lo where x < lo, hi where x > hi, 0 at the ends
    lo, hi = -0.5, 0.5
    g_lo = _both(lambda lo: np.sum(np.clip(x, lo, hi)), lo)
    g_hi = _both(lambda hi: np.sum(np.clip(x, lo, hi)), hi)
    assert g_lo == 1.0 and g_hi == 1.0
    lo_arr = np.array([-0.5, -0.5, 0.0, -0.5, -0.5])
    np.testing.assert_array_equal(_both(lambda lo: np.clip(x, lo, 0.5), lo_arr),
                                  np.diag([1.0, 0.0, 0.0, 0.0, 0.0]))


def test_sqrt_derivative_at_zero_is_plus_inf() -> None:
    with np.errstate(divide="ignore"):
        for mode in MODES:
            assert modes.grad(np.sqrt, mode=mode)(0.0) == np.inf
        np.testing.assert_array_equal(_both(np.sqrt, 0.0), np.inf)
        g = modes.grad(lambda x: np.sum(np.sqrt(x)), mode="reverse")(np.array([0.0, 4.0]))
        np.testing.assert_array_equal(g, [np.inf, 0.25])


@pytest.mark.parametrize("mode", MODES)
def test_infinite_partial_times_zero_is_zero(mode: str) -> None:
    """sqrt'(0) = +inf must not turn a direction that leaves x[0] alone into nan (inf * 0)."""
    x = np.array([0.0, 4.0])
    with np.errstate(divide="ignore", invalid="ignore"):
        g_sum = modes.grad(lambda x: np.sum(np.sqrt(x)), mode=mode)(x)
        g_one = modes.grad(lambda x: np.sqrt(x)[1], mode=mode)(x)
        jac = modes.jacobian(np.sqrt, mode=mode)(x)
        jac_pow = modes.jacobian(lambda x: x ** 0.5, mode=mode)(x)
        jac_cbrt = modes.jacobian(np.cbrt, mode=mode)(np.array([0.0, 8.0]))
        g_pow = modes.grad(lambda x: (x ** 0.5)[1] + 2.0 * x[0], mode=mode)(x)
    np.testing.assert_array_equal(g_sum, [np.inf, 0.25])
    np.testing.assert_array_equal(g_one, [0.0, 0.25])
    np.testing.assert_array_equal(jac, [[np.inf, 0.0], [0.0, 0.25]])
    np.testing.assert_array_equal(jac_pow, [[np.inf, 0.0], [0.0, 0.25]])
    np.testing.assert_allclose(jac_cbrt, [[np.inf, 0.0], [0.0, 1.0 / 12.0]], rtol=1e-15)
    np.testing.assert_array_equal(g_pow, [2.0, 0.25])


def test_norm_gradient_is_zero_at_origin() -> None:
    np.testing.assert_array_equal(_both(np.linalg.norm, np.zeros(3)), np.zeros(3))
    np.testing.assert_array_equal(_both(np.linalg.norm, np.zeros((2, 3))), np.zeros((2, 3)))
    np.testing.assert_array_equal(_both(lambda x: np.linalg.norm(x, "fro"), np.zeros((2, 2))),
                                  np.zeros((2, 2)))
    for ord_ in (1, np.inf, 2):
        np.testing.assert_array_equal(_both(lambda x: np.linalg.norm(x, ord=ord_), np.zeros(4)),
                                      np.zeros(4))
    # one zero row among non-zero rows: that row's gradient is 0, the other is x / |x|
    x = np.array([[0.0, 0.0], [3.0, 4.0]])
    jac = _both(lambda x: np.linalg.norm(x, axis=1), x)
    expected = np.zeros((2, 2, 2))
    expected[1, 1] = [0.6, 0.8]
    np.testing.assert_array_equal(jac, expected)
    # hypot follows the same convention
    np.testing.assert_array_equal(_both(np.hypot, 0.0, 0.0, argnum=0), 0.0)
    np.testing.assert_array_equal(_both(np.hypot, 0.0, 0.0, argnum=1), 0.0)
    for mode in MODES:
        assert np.all(modes.grad(np.linalg.norm, mode=mode)(np.zeros(3)) == 0.0)


def test_sign_has_zero_derivative() -> None:
    x = np.array([-2.0, 0.0, 3.0])
    np.testing.assert_array_equal(_both(np.sign, x), np.zeros((3, 3)))
    # sign is a constant factor: d/dx sum(sign(x) * x^2) = 2 x sign(x)
    np.testing.assert_array_equal(_both(lambda x: np.sum(np.sign(x) * x ** 2), x), 2 * x * np.sign(x))
    for mode in MODES:
        assert modes.grad(lambda x: np.sign(x) * 3.0, mode=mode)(2.0) == 0.0
