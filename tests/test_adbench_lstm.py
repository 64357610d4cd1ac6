"""lstm: the vectorised loss against a scalar-loop transcription of the reference, the gradient
against finite differences and across modes; the compiled reverse gradient against the interpreted
one, also replayed at another input of the same shapes."""

import math

import numpy as np
import pytest

from compiled_check import check
from conftest import assert_close_fd, assert_modes_agree, numerical_jacobian
from experiments.adbench import lstm


def scalar_loss(mp, ep, state, seq):
    layers, b, c = mp.shape[0] // 2, seq.shape[1], seq.shape[0]
    sig = lambda v: 1 / (1 + math.exp(-v))  # noqa: E731
    st = state.copy()
    total = 0.0
    for t in range(c - 1):
        x = [seq[t][i] * ep[0][i] for i in range(b)]
        for lay in range(layers):
            w, bias, h, cell = mp[2 * lay], mp[2 * lay + 1], st[2 * lay], st[2 * lay + 1]
            for i in range(b):
                f = sig(x[i] * w[i] + bias[i])
                ig = sig(h[i] * w[b + i] + bias[b + i])
                o = sig(x[i] * w[2 * b + i] + bias[2 * b + i])
                ch = math.tanh(h[i] * w[3 * b + i] + bias[3 * b + i])
                cell[i] = cell[i] * f + ig * ch
                h[i] = o * math.tanh(cell[i])
            x = list(h)
        y = [x[i] * ep[1][i] + ep[2][i] for i in range(b)]
        lse = math.log(sum(math.exp(v) for v in y) + 2)
        total += sum(seq[t + 1][i] * (y[i] - lse) for i in range(b))
    return -total / ((c - 1) * b)


def test_loss_matches_scalar_loop():
    inp = lstm.prepare(lstm.generate(l=2, c=5, b=3, seed=1))
    want = scalar_loss(inp.main_params, inp.extra_params, inp.state, inp.sequence)
    assert lstm.value(inp) == pytest.approx(want, rel=1e-12)


def test_gradient_finite_differences_and_modes():
    inp = lstm.prepare(lstm.generate(l=1, c=4, b=2, seed=2))
    f = lambda v: lstm.objective(v[:16].reshape(2, 8), v[16:].reshape(3, 2), inp.state, inp.sequence)  # noqa: E731
    v = np.concatenate([inp.main_params.ravel(), inp.extra_params.ravel()])
    fd = numerical_jacobian(f, [v])
    grads = [lstm.gradient(inp, m) for m in ("forward", "reverse")]
    assert_close_fd(grads[1], fd)
    assert_modes_agree(grads[0], grads[1])


def test_shape_errors():
    raw = lstm.generate(l=1, c=3, b=2)
    raw["state"] = [[0.0, 0.0]]
    with pytest.raises(ValueError, match="inconsistent shapes"):
        lstm.prepare(raw)


def test_compiled_gradient_replays_on_another_input():
    first = lstm.prepare(lstm.generate(2, 6, b=4, seed=1))
    second = lstm.prepare(lstm.generate(2, 6, b=4, seed=2))
    check(lstm, lstm.gradient, first, second, lstm._program, replays_second=True)
