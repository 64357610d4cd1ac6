"""checkpoint(fn) and checkpointed_loop: same gradients as the plain tape, bounded memory, and the
recomputation count of the binomial schedule equal to the optimum found by brute force."""

from functools import lru_cache

import numpy as np
import pytest

import modes
from modes import revolve
from modes.loop import LoopRecord


def step(x, w):
    return np.tanh(x * w + 0.1) + 0.05 * x


def loss(schedule, snapshots, steps):
    def f(x0, w):
        xs = modes.checkpointed_loop(step, x0, steps, snapshots=snapshots, schedule=schedule,
                                     params=(w,))
        return np.sum(xs ** 2)
    return f


X0 = np.linspace(-1.0, 1.0, 6)
W = np.linspace(0.5, 1.2, 6)


@pytest.mark.parametrize("schedule", ["revolve", "uniform", "none"])
@pytest.mark.parametrize("steps,snapshots", [(1, 1), (2, 1), (7, 1), (7, 2), (30, 3), (30, 5),
                                             (30, 40), (64, 4)])
def test_loop_gradient_equals_plain_tape(schedule, steps, snapshots):
    gx, gw = modes.grad(loss(schedule, snapshots, steps), argnum=(0, 1))(X0, W)
    rx, rw = modes.grad(loss("none", snapshots, steps), argnum=(0, 1))(X0, W)
    np.testing.assert_allclose(gx, rx, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(gw, rw, rtol=1e-12, atol=1e-14)


def test_loop_against_finite_differences():
    f = loss("revolve", 3, 20)
    g = modes.grad(f)(X0, W)
    h = 1e-6
    fd = np.array([(f(X0 + h * e, W) - f(X0 - h * e, W)) / (2 * h) for e in np.eye(6)])
    np.testing.assert_allclose(g, fd, rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("mode", ["forward", "reverse"])
def test_loop_jacobian_batched_cotangents(mode):
    f = lambda x0: modes.checkpointed_loop(step, x0, 12, snapshots=3, params=(W,))  # noqa: E731
    plain = lambda x0: modes.checkpointed_loop(step, x0, 12, schedule="none", params=(W,))  # noqa
    np.testing.assert_allclose(modes.jacobian(f, mode=mode, chunk_size=4)(X0),
                               modes.jacobian(plain, mode="reverse")(X0), rtol=1e-12)


def test_loop_value_and_forward_mode_are_the_plain_loop():
    x = X0
    for _ in range(9):
        x = step(x, W)
    np.testing.assert_array_equal(modes.checkpointed_loop(step, X0, 9, snapshots=2, params=(W,)), x)
    gf = modes.grad(loss("revolve", 2, 9), mode="forward")(X0, W)
    np.testing.assert_allclose(gf, modes.grad(loss("none", 2, 9))(X0, W), rtol=1e-12)


def test_hessian_through_a_checkpointed_loop():
    h = modes.hessian(lambda x0: loss("revolve", 2, 6)(x0, W))(X0)
    ref = modes.hessian(lambda x0: loss("none", 2, 6)(x0, W))(X0)
    np.testing.assert_allclose(h, ref, rtol=1e-11, atol=1e-13)


@lru_cache(None)
def brute_force(steps, snapshots):
    """The cheapest reversal over every choice of split (untaped step evaluations)."""
    if steps <= 1:
        return 0
    if snapshots == 1:
        return steps * (steps - 1) // 2
    return min(m + brute_force(steps - m, snapshots - 1) + brute_force(m, snapshots)
               for m in range(1, steps))


@pytest.mark.parametrize("steps", list(range(1, 26)))
@pytest.mark.parametrize("snapshots", [1, 2, 3, 4, 6])
def test_closed_form_optimum_matches_brute_force(steps, snapshots):
    assert revolve.optimal_advances(steps, snapshots) == brute_force(steps, snapshots)


def _loop_record(f, *args):
    _, pullback = modes.vjp(f, *args)
    recs = [node[3][0] for node in pullback.tape.nodes
            if node is not None and len(node) == 5 and isinstance(node[3][0], LoopRecord)]
    return pullback, recs[0]


@pytest.mark.parametrize("steps,snapshots", [(1, 1), (5, 1), (12, 2), (20, 3), (25, 4), (40, 3),
                                             (100, 5), (9, 20)])
def test_revolve_recomputations_are_optimal_and_states_bounded(steps, snapshots):
    from modes.api import _pull, _record

    out, tape, leaves, level = _record(loss("revolve", snapshots, steps), [X0, W], (0, 1))
    rec = next(node[3][0] for node in tape.nodes
               if node is not None and len(node) == 5 and isinstance(node[3][0], LoopRecord))
    _pull(out, tape, leaves, level, 1.0, 0, retain=False)
    # The nominal pass runs every step once more than revolve's first sweep (it returns x_steps).
    assert rec.advances == brute_force(steps, snapshots) + (1 if steps else 0)
    assert rec.taped == steps
    assert rec.max_states <= snapshots + 1
    assert rec.states == {} and rec.working is None  # all snapshots freed by the end


def test_pullback_can_reverse_a_loop_twice():
    f = loss("revolve", 3, 20)
    pullback, rec = _loop_record(f, X0, W)
    first = pullback(1.0)
    second = pullback(2.0)
    np.testing.assert_allclose(second[0], 2 * first[0], rtol=1e-14)
    assert rec.states  # vjp keeps its tape, so the loop keeps its snapshots


def test_uniform_schedule_tapes_each_step_once():
    pullback, rec = _loop_record(loss("uniform", 4, 30), X0, W)
    pullback(1.0)
    assert rec.advances == 30 and rec.taped == 30 and rec.max_states <= 4


def test_peak_tape_bytes_bounded_by_snapshots():
    n, steps, c = 2000, 200, 5
    x0, w = np.linspace(-1, 1, n), np.full(n, 0.9)
    state = x0.nbytes
    with modes.memory.track() as plain_meter:
        modes.grad(loss("none", c, steps), argnum=(0, 1))(x0, w)
    with modes.memory.track() as meter:
        modes.grad(loss("revolve", c, steps), argnum=(0, 1))(x0, w)
    # One step's own tape keeps a few states' worth (tanh's result, the product's factor ...).
    one_step = plain_meter.peak_bytes / steps
    assert meter.peak_bytes <= (c + 1) * state + one_step + 4 * state
    assert meter.peak_bytes * 10 < plain_meter.peak_bytes
    assert meter.samples > steps  # sampled while the sweep re-taped each step


def test_checkpoint_gradient_and_memory():
    def block(x):
        for _ in range(50):
            x = np.sin(x) * 1.01
        return x

    cblock = modes.checkpoint(block)
    x = np.linspace(-1, 1, 1000)
    f_plain = lambda v: np.sum(block(block(block(v))) ** 2)  # noqa: E731
    f_ckpt = lambda v: np.sum(cblock(cblock(cblock(v))) ** 2)  # noqa: E731
    with modes.memory.track() as m_plain:
        g_plain = modes.grad(f_plain)(x)
    with modes.memory.track() as m_ckpt:
        g_ckpt = modes.grad(f_ckpt)(x)
    np.testing.assert_allclose(g_ckpt, g_plain, rtol=1e-12)
    # Three blocks taped at once versus one block re-taped at a time.
    assert m_ckpt.peak_bytes < 0.5 * m_plain.peak_bytes
    _, pullback = modes.vjp(f_ckpt, x)
    assert len(pullback.tape) < 10  # the input, three checkpoint nodes, the square and the sum


def test_checkpoint_closing_over_traced_values():
    def f(x, w):
        seg = modes.checkpoint(lambda v: np.tanh(v * w) * w + v)
        return np.sum(seg(seg(x)) ** 2)

    def ref(x, w):
        seg = lambda v: np.tanh(v * w) * w + v  # noqa: E731
        return np.sum(seg(seg(x)) ** 2)

    x, w = np.array([0.3, -0.5, 1.0]), np.array([1.5, 0.7, -0.2])
    for mode in ("reverse", "forward"):
        for got, want in zip(modes.grad(f, (0, 1), mode=mode)(x, w), modes.grad(ref, (0, 1))(x, w)):
            np.testing.assert_allclose(got, want, rtol=1e-12)


def test_nested_checkpoints_and_second_derivatives():
    inner = modes.checkpoint(lambda v: np.sin(v) * v)
    outer = modes.checkpoint(lambda v: inner(inner(v)) + v ** 3)
    ref = lambda v: (lambda u: np.sin(u) * u)(np.sin(v) * v) + v ** 3  # noqa: E731
    x = np.array([0.4, -1.1])
    f = lambda v: np.sum(outer(v))  # noqa: E731
    r = lambda v: np.sum(ref(v))  # noqa: E731
    np.testing.assert_allclose(modes.grad(f)(x), modes.grad(r)(x), rtol=1e-12)
    np.testing.assert_allclose(modes.hessian(f)(x), modes.hessian(r)(x), rtol=1e-12)
    rr = modes.jacobian(modes.grad(f), mode="reverse")(x)  # reverse over reverse
    np.testing.assert_allclose(rr, modes.hessian(r)(x), rtol=1e-12)


def test_checkpoint_on_plain_values_is_the_function():
    f = modes.checkpoint(lambda a, b: a * b + 1.0)
    assert f(2.0, 3.0) == 7.0


@pytest.mark.parametrize("kwargs,message", [
    ({"steps": -1}, "steps must be a non-negative integer"),
    ({"steps": 2.5}, "steps must be a non-negative integer"),
    ({"snapshots": 0}, "snapshots must be an integer >= 1"),
    ({"snapshots": -3}, "snapshots must be an integer >= 1"),
    ({"schedule": "binomial"}, "schedule='binomial' is not one of"),
])
def test_loop_argument_errors(kwargs, message):
    args = {"steps": 4, "snapshots": 2, "schedule": "revolve"} | kwargs
    with pytest.raises(ValueError, match=message):
        modes.checkpointed_loop(step, X0, args["steps"], snapshots=args["snapshots"],
                                schedule=args["schedule"], params=(W,))


def test_loop_step_closing_over_traced_value_is_explained():
    def f(x0, w):
        return np.sum(modes.checkpointed_loop(lambda x: x * w, x0, 3, snapshots=2))

    with pytest.raises(modes.ModesError, match="params="):
        modes.grad(f, argnum=(0, 1))(X0, W)


def test_zero_steps_returns_the_initial_state():
    assert modes.grad(lambda x: modes.checkpointed_loop(step, x, 0, params=(1.0,)) * 2.0)(3.0) == 2.0
