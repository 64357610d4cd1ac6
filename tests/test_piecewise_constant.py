"""Every binding that claims "no derivative" is checked: only piecewise-constant functions may make
that claim (sign, floor, comparisons, argmax, shapes...). At generic random points a central
difference of each is exactly 0, and under both modes it returns the plain numpy result (no
traced value, no silent zero standing in for a real derivative)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import modes
from modes.registry import Traced
from modes.tracing import FUNCTION_HANDLERS, UFUNC_HANDLERS

C = np.array([0.3, -0.7, 1.9, -1.2])

# One call per piecewise-constant binding, on a float array x of shape (4,).
SPECS: dict[Any, Callable[[Any], Any]] = {
    np.shape: np.shape, np.ndim: np.ndim, np.size: np.size,
    np.argmax: np.argmax, np.argmin: np.argmin, np.argsort: np.argsort,
    np.nonzero: lambda x: np.nonzero(x > 0)[0],
    np.isclose: lambda x: np.isclose(x, C), np.allclose: lambda x: np.allclose(x, C),
    np.array_equal: lambda x: np.array_equal(x, C),
    np.zeros_like: np.zeros_like, np.ones_like: np.ones_like,
    np.empty_like: lambda x: np.empty_like(x).shape,
    np.result_type: lambda x: np.result_type(x, 1.0).itemsize,
    np.iscomplexobj: np.iscomplexobj, np.isrealobj: np.isrealobj,
    np.count_nonzero: lambda x: np.count_nonzero(x > 0),
    np.searchsorted: lambda x: np.searchsorted(np.sort(C), x),
    np.any: lambda x: np.any(x > 1.5), np.all: lambda x: np.all(x > -1.5),
    np.sign: np.sign, np.floor: np.floor, np.ceil: np.ceil, np.trunc: np.trunc, np.rint: np.rint,
    np.less: lambda x: np.less(x, C), np.less_equal: lambda x: np.less_equal(x, C),
    np.greater: lambda x: np.greater(x, C), np.greater_equal: lambda x: np.greater_equal(x, C),
    np.equal: lambda x: np.equal(x, C), np.not_equal: lambda x: np.not_equal(x, C),
    np.isfinite: np.isfinite, np.isinf: np.isinf, np.isnan: np.isnan, np.signbit: np.signbit,
    np.logical_and: lambda x: np.logical_and(x > 0, x < 1),
    np.logical_or: lambda x: np.logical_or(x > 0, x < -1),
    np.logical_not: lambda x: np.logical_not(x > 0),
    np.logical_xor: lambda x: np.logical_xor(x > 0, x < 1),
    np.floor_divide: lambda x: np.floor_divide(x, 0.7),
    np.heaviside: lambda x: np.heaviside(x, 0.5),
    np.round: lambda x: np.round(x, 1), np.around: lambda x: np.around(x),
    np.fix: np.fix,
    np.angle: np.angle,
}


def _bindings() -> dict[Any, Any]:
    found = {}
    for table in (FUNCTION_HANDLERS, UFUNC_HANDLERS):
        for func, handler in table.items():
            if getattr(handler, "piecewise_constant", None) is not None:
                found[func] = handler
    return found


def test_every_piecewise_constant_binding_has_a_check() -> None:
    missing = [getattr(f, "__name__", repr(f)) for f in _bindings() if f not in SPECS]
    assert not missing, f"bindings with no derivative and no check in SPECS: {missing}"


@pytest.mark.parametrize("func", sorted(_bindings(), key=lambda f: f.__name__),
                         ids=lambda f: f.__name__)
@pytest.mark.parametrize("mode", ("forward", "reverse"))
def test_piecewise_constant_at_generic_points(func: Any, mode: str,
                                              rng: np.random.Generator) -> None:
    call = SPECS[func]
    for _ in range(3):
        x = rng.uniform(-2, 2, 4)
        base = np.asarray(call(x), dtype=float)
        for i in range(4):
            step = np.zeros(4)
            step[i] = 1e-7
            plus = np.asarray(call(x + step), dtype=float)
            minus = np.asarray(call(x - step), dtype=float)
            np.testing.assert_array_equal(plus, minus, err_msg=f"{func.__name__} moves: not constant")
        seen = []

        def f(v: Any) -> Any:
            r = call(v)
            seen.append(r)
            return np.sum(v) * 0.0 + 1.0

        modes.grad(f, mode=mode)(x)
        out = seen[-1]
        assert not isinstance(out, Traced), f"{func.__name__} returned a traced value"
        np.testing.assert_array_equal(np.asarray(out, dtype=float), base)
