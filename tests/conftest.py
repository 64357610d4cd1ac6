"""Shared helpers for the registry-driven tests: finite differences and random inputs on safe domains.

Every derivative the tests trust comes from here (central finite differences on plain numpy) or from
a formula written in the test itself, never from ``modes``.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pytest

# Central differences: truncation error ~ STEP**2 * f''' / 6 ~ 1e-13, rounding ~ 1e-16 * |f| / STEP
# ~ 1e-10 * |f|, far below the tolerance.
STEP = 1e-6
RTOL = 1e-6

# ---- domains ------------------------------------------------------------------------------------------
# A domain is (low, high) for a uniform draw, or NONZERO: magnitude in [0.5, 1.5] with a random sign
# (safe for 1/x, |x|, prod, cbrt, hypot: away from 0 and their kinks).
REAL = (-2.0, 2.0)
POS = (0.5, 2.0)
UNIT = (-0.8, 0.8)
NONZERO = "nonzero"
# A domain may also be a callable ``draw(rng, shape) -> array`` for inputs with structure (a
# symmetric positive definite matrix, distinct entries, ...).
Domain = tuple[float, float] | str | Callable[[np.random.Generator, tuple[int, ...] | None], Any]


def sample(rng: np.random.Generator, shape: tuple[int, ...] | None, domain: Domain = REAL) -> Any:
    """A random input: ``shape=None`` gives a Python float, otherwise a float64 array."""
    size = () if shape is None else shape
    if callable(domain):
        return domain(rng, shape)
    if domain == NONZERO:
        v = rng.uniform(0.5, 1.5, size) * rng.choice([-1.0, 1.0], size)
    else:
        lo, hi = domain  # type: ignore[misc]
        v = rng.uniform(lo, hi, size)
    return float(v) if shape is None else np.asarray(v, dtype=np.float64)


def shape_str(shape: tuple[int, ...] | None) -> str:
    return "float" if shape is None else "(" + ",".join(map(str, shape)) + ")"


# ---- finite differences -------------------------------------------------------------------------------
def numerical_jacobian(f: Callable[..., Any], args: Sequence[Any], argnum: int = 0,
                       step: float = STEP) -> np.ndarray:
    """Central-difference Jacobian of ``f(*args)`` w.r.t. ``args[argnum]``: shape out.shape + in.shape.

    ``f`` is called on plain numbers/arrays only. A Python-float argument stays a Python float.
    """
    args = list(args)
    x = args[argnum]
    is_float = not isinstance(x, np.ndarray)
    x0 = np.array(x, dtype=np.float64)

    def at(xv: np.ndarray) -> np.ndarray:
        a = list(args)
        a[argnum] = float(xv) if is_float else xv
        return np.asarray(f(*a), dtype=np.float64)

    y0 = at(x0.copy())
    jac = np.empty(y0.shape + x0.shape)
    for idx in np.ndindex(x0.shape):
        xp, xm = x0.copy(), x0.copy()
        xp[idx] += step
        xm[idx] -= step
        jac[(Ellipsis,) + idx] = (at(xp) - at(xm)) / (xp[idx] - xm[idx])
    return jac


def numerical_directional(f: Callable[..., Any], args: Sequence[Any], dirs: Sequence[Any],
                          step: float = STEP) -> np.ndarray:
    """Central difference of ``f`` along the direction ``dirs`` (one per argument, same shapes)."""
    plus = [np.asarray(a, dtype=np.float64) + step * np.asarray(d) for a, d in zip(args, dirs)]
    minus = [np.asarray(a, dtype=np.float64) - step * np.asarray(d) for a, d in zip(args, dirs)]
    return (np.asarray(f(*plus), dtype=np.float64) - np.asarray(f(*minus), dtype=np.float64)) / (2 * step)


def assert_close_fd(actual: Any, expected: np.ndarray, rtol: float = RTOL, what: str = "") -> None:
    """Compare a derivative with a finite-difference one: ``rtol`` relative, and an absolute floor
    of ``rtol`` times the largest entry (entries that are exactly zero have no relative scale)."""
    actual = np.asarray(actual, dtype=np.float64)
    assert actual.shape == expected.shape, f"{what}: shape {actual.shape} != {expected.shape}"
    assert np.all(np.isfinite(actual)), f"{what}: non-finite derivative {actual}"
    scale = max(1.0, float(np.max(np.abs(expected), initial=0.0)))
    np.testing.assert_allclose(actual, expected, rtol=rtol, atol=rtol * scale, err_msg=what)


def assert_modes_agree(a: Any, b: Any, what: str = "") -> None:
    """Forward and reverse results: equal up to rounding (they evaluate the same rules)."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    assert a.shape == b.shape, f"{what}: shape {a.shape} != {b.shape}"
    scale = max(1.0, float(np.max(np.abs(b), initial=0.0)))
    np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12 * scale, err_msg=what)


# ---- fixtures -----------------------------------------------------------------------------------------
@pytest.fixture
def rng(request: pytest.FixtureRequest) -> np.random.Generator:
    """A generator seeded from the test's id: reproducible, different for every test case."""
    return np.random.default_rng(zlib.crc32(request.node.nodeid.encode()))
