"""Adjoint identity on random compositions: <vjp(u), v> == <u, jvp(v)>, and batched pullbacks.

hypothesis draws a short program (a sequence of unary, binary and structural steps, tracking the
shape as it goes) over two inputs ``x`` and ``y``; numpy draws the point and the directions. The
forward tangent is also checked against a central difference, so both sides are tied to f itself.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import modes
from conftest import RTOL, assert_modes_agree, numerical_directional

Shape = tuple[int, ...]
SETTINGS = settings(max_examples=40, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@dataclass(frozen=True)
class Step:
    """One step of a program: ``fn(v, x, y) -> new v``; ``label`` for the failure report."""

    label: str
    fn: Callable[[Any, Any, Any], Any]

    def __repr__(self) -> str:
        return self.label


# ---- smooth unary steps, safe on all of R ------------------------------------------------------------
UNARY: dict[str, Callable[[Any], Any]] = {
    "sin": np.sin, "cos": np.cos, "tanh": np.tanh, "arctan": np.arctan, "arcsinh": np.arcsinh,
    "exp(tanh)": lambda v: np.exp(np.tanh(v)),
    "log1p(v^2)": lambda v: np.log1p(v * v),
    "sqrt(1+v^2)": lambda v: np.sqrt(1.0 + v ** 2),
    "1/(1+v^2)": lambda v: 1.0 / (1.0 + np.square(v)),
    "v*sin(v)": lambda v: v * np.sin(v),
    "-v/3": lambda v: -v / 3.0,
    "logaddexp(v,0.5)": lambda v: np.logaddexp(v, 0.5),
    "hypot(v,1)": lambda v: np.hypot(v, 1.0),
    "cbrt(2+sin)": lambda v: np.cbrt(2.0 + np.sin(v)),
    "2**sin": lambda v: 2.0 ** np.sin(v),
}


# ---- operands built from y with a given shape ----------------------------------------------------------
def _resized(y: Any, shape: Shape) -> Any:
    """Entries of y (cycled) laid out in ``shape``: getitem on the flattened y, then reshape."""
    size = int(np.prod(shape, dtype=np.int64))
    n = int(np.prod(np.shape(y), dtype=np.int64))
    flat = np.reshape(y, (-1,)) if np.ndim(y) else np.reshape(y, (1,))
    return np.reshape(flat[np.arange(size) % n], shape)


def _operand(kind: str, y: Any, shape: Shape) -> Any:
    if kind == "same":
        return np.sin(_resized(y, shape))
    if kind == "keepdims":  # same rank, stretched along axis 0
        return np.sum(np.cos(_resized(y, shape)), axis=0, keepdims=True)
    if kind == "row":  # rank - 1: broadcast adds the leading axis
        return np.mean(_resized(y, shape), axis=0)
    assert kind == "scalar"
    return np.sum(np.tanh(y))


BINARY: dict[str, Callable[[Any, Any], Any]] = {
    "+": lambda v, w: v + w,
    "-": lambda v, w: w - v,
    "*": lambda v, w: v * w,
    "/(1+w^2)": lambda v, w: v / (1.0 + w * w),
    "logaddexp": np.logaddexp,
    "arctan2(v,2+w^2)": lambda v, w: np.arctan2(v, 2.0 + w ** 2),
    "hypot(v,1+w^2)": lambda v, w: np.hypot(v, 1.0 + w ** 2),
    "(1.5+v^2)**tanh(w)": lambda v, w: (1.5 + v ** 2) ** np.tanh(w),
    "where(v>w,v,2w)": lambda v, w: np.where(v > w, v, 2.0 * w),
}


def _structural(shape: Shape) -> list[tuple[Step, Shape]]:
    """Shape-changing steps valid on ``shape``, with the shape they produce."""
    out: list[tuple[Step, Shape]] = []
    nd = len(shape)
    if nd == 0:
        out.append((Step("stack([v,v^2])", lambda v, x, y: np.stack([v, v * v])), (2,)))
        out.append((Step("broadcast_to(3,)", lambda v, x, y: np.broadcast_to(v, (3,))), (3,)))
        return out
    out.append((Step("sum", lambda v, x, y: np.sum(v)), ()))
    out.append((Step("sum(axis=0)", lambda v, x, y: np.sum(v, axis=0)), shape[1:]))
    out.append((Step("mean(axis=-1,keepdims)", lambda v, x, y: np.mean(v, axis=-1, keepdims=True)),
                shape[:-1] + (1,)))
    out.append((Step("prod(axis=0)", lambda v, x, y: np.prod(1.0 + 0.1 * v, axis=0)), shape[1:]))
    out.append((Step("max(axis=-1)", lambda v, x, y: np.max(v, axis=-1)), shape[:-1]))
    out.append((Step("norm(axis=0)", lambda v, x, y: np.linalg.norm(1.0 + v * v, axis=0)), shape[1:]))
    out.append((Step("v[::-1]", lambda v, x, y: v[::-1]), shape))
    out.append((Step("v[[0,0,-1]]", lambda v, x, y: v[[0, 0, -1]]), (3,) + shape[1:]))
    out.append((Step("cumsum(axis=0)", lambda v, x, y: np.cumsum(v, axis=0)), shape))
    out.append((Step("concatenate([v,sin v])", lambda v, x, y: np.concatenate([v, np.sin(v)])),
                (2 * shape[0],) + shape[1:]))
    out.append((Step("reshape(-1)", lambda v, x, y: np.reshape(v, -1)), (int(np.prod(shape)),)))
    out.append((Step("expand_dims(0)", lambda v, x, y: np.expand_dims(v, 0)), (1,) + shape))
    out.append((Step("broadcast_to(2,...)", lambda v, x, y: np.broadcast_to(v, (2,) + shape)),
                (2,) + shape))
    # matmul with a matrix made from y: both factors traced
    out.append((Step("v @ Y", lambda v, x, y, n=shape[-1]: v @ _resized(y, (n, 2))),
                shape[:-1] + (2,)))
    n = shape[-2] if nd >= 2 else shape[0]  # the axis of v that Y @ v contracts
    out.append((Step("Y @ v", lambda v, x, y, n=n: np.matmul(_resized(y, (2, n)), v)),
                (2,) if nd == 1 else shape[:-2] + (2, shape[-1])))
    if nd >= 2:
        out.append((Step("v.T", lambda v, x, y: v.T), shape[::-1]))
        out.append((Step("swapaxes(0,-1)", lambda v, x, y: np.swapaxes(v, 0, -1)),
                    (shape[-1],) + shape[1:-1] + (shape[0],)))
        out.append((Step("v[1:,::2]", lambda v, x, y: v[1:, ::2]),
                    (shape[0] - 1,) + ((shape[1] + 1) // 2,) + shape[2:]))
    return [(s, sh) for s, sh in out if 0 not in sh and len(sh) <= 4 and int(np.prod(sh)) <= 48]


@st.composite
def programs(draw: st.DrawFn) -> tuple[Shape, list[Step]]:
    shape: Shape = draw(st.sampled_from([(), (3,), (2, 3), (3, 1), (2, 2, 2)]))
    start = shape
    steps: list[Step] = []
    for _ in range(draw(st.integers(1, 5))):
        kind = draw(st.sampled_from(["unary", "binary", "structural"]))
        if kind == "unary":
            name = draw(st.sampled_from(sorted(UNARY)))
            steps.append(Step(name, lambda v, x, y, f=UNARY[name]: f(v)))
        elif kind == "binary":
            name = draw(st.sampled_from(sorted(BINARY)))
            kinds = ["same", "scalar"] if shape == () else ["same", "keepdims", "row", "scalar"]
            operand = draw(st.sampled_from(kinds))
            steps.append(Step(
                f"{name}[{operand}]",
                lambda v, x, y, f=BINARY[name], o=operand, s=shape: f(v, _operand(o, y, s))))
        else:
            step, shape = draw(st.sampled_from(_structural(shape)))
            steps.append(step)
    # x enters again at the end (same shape as v), so the output always depends on it
    steps.append(Step("+ 0.3 sin(x)", lambda v, x, y, s=shape: v + 0.3 * np.sin(_resized(x, s))))
    return start, steps


def _make(start: Shape, steps: list[Step]) -> Callable[[Any, Any], Any]:
    def f(x: Any, y: Any) -> Any:
        v = x
        for s in steps:
            v = s.fn(v, x, y)
        return v

    return f


def _draw(rng: np.random.Generator, shape: Shape) -> Any:
    return float(rng.uniform(-1.5, 1.5)) if shape == () else rng.uniform(-1.5, 1.5, shape)


def _dot(a: Any, b: Any) -> float:
    return float(np.sum(np.asarray(a) * np.asarray(b)))


@SETTINGS
@given(prog=programs(), seed=st.integers(0, 2**32 - 1))
def test_adjoint_identity(prog: tuple[Shape, list[Step]], seed: int) -> None:
    start, steps = prog
    f = _make(start, steps)
    rng = np.random.default_rng(seed)
    x, y = _draw(rng, start), _draw(rng, start)
    out, pullback = modes.vjp(f, x, y)
    u = _draw(rng, np.shape(out))
    bx, by = pullback(u)
    assert np.shape(bx) == np.shape(x) and np.shape(by) == np.shape(y)
    vx, vy = _draw(rng, start), _draw(rng, start)
    out_f, t = modes.jvp(f, (x, y), (vx, vy))
    np.testing.assert_allclose(out_f, out, rtol=1e-13, atol=0)
    assert np.shape(t) == np.shape(out)

    # the tangent is the directional derivative of f (central differences on plain numpy)
    fd = numerical_directional(f, (x, y), (vx, vy))
    scale = max(1.0, float(np.max(np.abs(fd), initial=0.0)))
    np.testing.assert_allclose(t, fd, rtol=RTOL, atol=RTOL * scale, err_msg=f"jvp vs FD: {steps}")

    lhs = _dot(bx, vx) + _dot(by, vy)
    rhs = _dot(u, t)
    magnitude = (float(np.sum(np.abs(np.asarray(bx) * vx))) + float(np.sum(np.abs(np.asarray(by) * vy)))
                 + float(np.sum(np.abs(np.asarray(u) * np.asarray(t)))))
    assert abs(lhs - rhs) <= 1e-11 * max(1.0, magnitude), (steps, lhs, rhs)


def _check_batched(f: Callable[[Any, Any], Any], x: Any, y: Any, k: int, rng: np.random.Generator,
                   what: str) -> None:
    out, pullback = modes.vjp(f, x, y)
    U = rng.uniform(-1.0, 1.0, (k,) + np.shape(out))
    bx, by = pullback(U, batched=True)
    singles = [pullback(U[i] if np.shape(out) else float(U[i])) for i in range(k)]
    assert np.shape(bx) == (k,) + np.shape(x) and np.shape(by) == (k,) + np.shape(y)
    assert_modes_agree(bx, np.stack([np.asarray(s[0]) for s in singles]), what=f"d/dx {what}")
    assert_modes_agree(by, np.stack([np.asarray(s[1]) for s in singles]), what=f"d/dy {what}")


@SETTINGS
@given(prog=programs(), k=st.integers(1, 4), seed=st.integers(0, 2**32 - 1))
def test_batched_pullback_equals_stacked_pullbacks(prog: tuple[Shape, list[Step]], k: int,
                                                   seed: int) -> None:
    start, steps = prog
    f = _make(start, steps)
    rng = np.random.default_rng(seed)
    _check_batched(f, _draw(rng, start), _draw(rng, start), k, rng, str(steps))


# ---- fixed programs ------------------------------------------------------------------------------------
FIXED = [
    ("mlp", (3,), lambda x, y: np.tanh(np.outer(y, x) @ x + y) @ np.cos(y)),
    ("softmax-ish", (2, 3), lambda x, y: np.exp(x - np.max(x, axis=1, keepdims=True)) * y),
    ("index+concat", (4,), lambda x, y: np.concatenate([x[[0, 2, 2]], y[1:] * x[:3]])),
    ("stacked matmul", (2, 2, 2), lambda x, y: np.matmul(x, y).sum(axis=0)),
]


@pytest.mark.parametrize("k", [1, 2, 3])
@pytest.mark.parametrize("name, shape, f", FIXED, ids=[c[0] for c in FIXED])
def test_batched_pullback_fixed(name: str, shape: Shape, f: Callable[..., Any], k: int) -> None:
    rng = np.random.default_rng(k)
    _check_batched(f, _draw(rng, shape), _draw(rng, shape), k, rng, name)


def test_batched_pullback_rank_promotion() -> None:
    """A lower-rank operand broadcast against the batch: its bar is summed after the batch axis.

    The batch size equals the broadcast axis (3), so summing over the wrong axis would still give
    the right shape: only the values tell.
    """
    X = np.arange(12.0).reshape(3, 4)
    y = np.linspace(0.5, 2.0, 4)
    U = np.random.default_rng(0).normal(size=(3, 3, 4))
    _, pullback = modes.vjp(lambda y: X * y, y)
    (batched,) = pullback(U, batched=True)
    # by hand: d/dy sum(U_i * X * y) = sum over rows of U_i * X
    np.testing.assert_allclose(batched, np.sum(U * X, axis=1), rtol=1e-14)
    np.testing.assert_allclose(pullback(U[0])[0], np.sum(U[0] * X, axis=0), rtol=1e-14)
    # a Python-float parameter broadcast over the whole output
    _, pullback = modes.vjp(lambda a: a * X, 2.0)
    (batched,) = pullback(U, batched=True)
    np.testing.assert_allclose(batched, np.sum(U * X, axis=(1, 2)), rtol=1e-14)
