"""explain(): the talk's example made executable, with values checked by hand."""

import numpy as np
import pytest

import modes


def talk(x, y, z):
    return x * y + (x + y) * z


def test_talk_example_wengert_list_and_bars():
    text = modes.explain(talk, 1.0, -3.0, 2.0)
    for line in [
        "w1 = x * y = -3",
        "w2 = x + y = -2",
        "w3 = w2 * z = -4",
        "w4 = w1 + w3 = -7",
        "w1_dot = -3 * x_dot + 1 * y_dot = (-3, 1, 0)",
        "w4_dot = 1 * w1_dot + 1 * w3_dot = (-1, 3, -2)",
        "w4_bar = 1",
        "z_bar += dw3/dz * w3_bar = -2 * 1 = -2",
        "x_bar += dw1/dx * w1_bar = -3 * 1 = -3   -> x_bar = -1",
        "y_bar += dw1/dy * w1_bar = 1 * 1 = 1   -> y_bar = 3",
        "forward and reverse agree: yes",
    ]:
        assert line in text, line
    # The gradient is (y+z, x+z, x+y) at (1, -3, 2).
    assert "dV/dx: forward -1, reverse -1" in text
    assert "dV/dy: forward 3, reverse 3" in text
    assert "dV/dz: forward -2, reverse -2" in text


def test_explain_array_function():
    text = modes.explain(lambda v: np.sum(np.sin(v) * v), np.array([1.0, 2.0]))
    assert "w1 = sin(x)" in text or "w1 = sin(v)" in text
    assert "forward and reverse agree: yes" in text


def test_explain_needs_a_scalar():
    with pytest.raises(ValueError, match="scalar"):
        modes.explain(lambda v: v * 2.0, np.ones(2))
