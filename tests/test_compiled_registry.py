"""Registry-driven: every registered primitive, compiled, gives the interpreted modes' derivatives.

For each case of ``tests/test_registry.py``'s TABLE (its first and last shape variants), the
compiled reverse gradient of a random linear functional of the case's output and the compiled
forward Jacobian are compared with the interpreted modes, at the traced point and replayed at a
second point of the same shapes (the interpreted modes are themselves checked against finite
differences by ``test_registry.py``).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import modes
from conftest import sample, shape_str
from test_registry import TABLE


def _params() -> list[Any]:
    params = []
    for name in sorted(TABLE):
        for case in TABLE[name]:
            variants = case.shapes if len(case.shapes) < 2 else (case.shapes[0], case.shapes[-1])
            for shapes in dict.fromkeys(variants):
                sid = "x".join(shape_str(s) for s in shapes)
                params.append(pytest.param(name, case, shapes, id=f"{name}-{case.label}-{sid}"))
    return params


def _close(got: Any, want: Any, what: str) -> None:
    got_leaves = got if isinstance(got, tuple) else (got,)
    want_leaves = want if isinstance(want, tuple) else (want,)
    assert len(got_leaves) == len(want_leaves), what
    for g, w in zip(got_leaves, want_leaves):
        g, w = np.asarray(g, dtype=float), np.asarray(w, dtype=float)
        assert g.shape == w.shape, f"{what}: shape {g.shape} != {w.shape}"
        scale = max(1.0, float(np.max(np.abs(w), initial=0.0)))
        np.testing.assert_allclose(g, w, rtol=1e-10, atol=1e-12 * scale, err_msg=what)


@pytest.mark.parametrize("name, case, shapes", _params())
def test_compiled_matches_interpreted(name: str, case: Any, shapes: Any,
                                      rng: np.random.Generator) -> None:
    args = [sample(rng, s, d) for s, d in zip(shapes, case.domains)]
    again = [sample(rng, s, d) for s, d in zip(shapes, case.domains)]
    argnums = tuple(case.argnums if case.argnums is not None else range(len(shapes)))
    shape = np.shape(case.fn(*args))
    weights = rng.normal(size=shape)

    def functional(*a: Any) -> Any:
        out = case.fn(*a)
        if np.shape(out) != shape:  # a mask index: the output's size depends on the values
            return np.sum(np.cos(out))
        return np.sum(out * weights)

    # reverse: the generated sweep
    interpreted = modes.grad(functional, argnum=argnums)
    compiled = modes.compile(interpreted, *args)
    for point in (args, again):
        _close(compiled(*point), interpreted(*point), f"{case.label} compiled reverse")

    # forward: the interpreted forward mode staged into straight-line code
    for k in argnums:
        jac = modes.jacobian(case.fn, argnum=k, mode="forward")
        compiled_jac = modes.compile(jac, *args)
        for point in (args, again):
            _close(compiled_jac(*point), jac(*point), f"{case.label} compiled forward d/d arg{k}")
