"""np.concatenate and np.stack of Python lists that hold traced values (``[[x[0] * 2], x]``): the
lists are taken as arrays, as numpy does, in both modes; checked against hand-written gradients."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import modes

MODES = ("reverse", "forward")
X = np.array([0.5, -1.0, 2.0])


@pytest.mark.parametrize("mode", MODES)
def test_concatenate_a_list_holding_a_traced_scalar(mode: str) -> None:
    def f(x: Any) -> Any:
        return np.sum(np.concatenate([[x[0] * 2, 3.0], x]) ** 2)

    want = 2 * X
    want[0] += 2 * (2 * X[0]) * 2
    np.testing.assert_allclose(modes.grad(f, mode=mode)(X), want, rtol=1e-14)


@pytest.mark.parametrize("mode", MODES)
def test_stack_lists_of_traced_scalars(mode: str) -> None:
    def f(x: Any) -> Any:
        m = np.stack([[x[0], x[1]], (x[2], 1.0)])
        return np.sum(m * np.array([[1.0, 2.0], [3.0, 4.0]]))

    np.testing.assert_allclose(modes.grad(f, mode=mode)(X), [1.0, 2.0, 3.0], rtol=1e-14)


@pytest.mark.parametrize("mode", MODES)
def test_hstack_of_a_list_and_an_array(mode: str) -> None:
    def f(x: Any) -> Any:
        return np.sum(np.hstack([[np.sin(x[1])], x]))

    np.testing.assert_allclose(modes.grad(f, mode=mode)(X), [1.0, 1.0 + np.cos(X[1]), 1.0], rtol=1e-14)
