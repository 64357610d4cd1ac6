"""Tracing state is per thread: threads differentiating at once give the results of one thread.

Each check runs several threads started together (a barrier), switching every microsecond, each
repeating its computation many times; every result must equal the one computed alone beforehand.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import modes

THREADS = 4
RUNS = 250  # per thread: 1000 concurrent runs per check


@pytest.fixture(autouse=True)
def fast_switching():
    previous = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    yield
    sys.setswitchinterval(previous)


def run_concurrently(jobs: list[Callable[[], Any]], runs: int = RUNS) -> list[list[Any]]:
    """Run each job ``runs`` times in its own thread, all started at once; results per job."""
    barrier = threading.Barrier(len(jobs))
    results: list[list[Any]] = [[] for _ in jobs]
    errors: list[BaseException] = []

    def worker(k: int) -> None:
        try:
            barrier.wait()
            for _ in range(runs):
                results[k].append(jobs[k]())
        except BaseException as e:  # noqa: BLE001  reported below, in the main thread
            errors.append(e)

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(len(jobs))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]
    return results


def sqrt_times_x(x):
    return np.sum(np.sqrt(x) * x) + 15.0 * x[1] ** 2 / 4.0


def rosenbrock(x):
    return np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)


def wrong(results: list[Any], want: Any) -> int:
    return sum(not np.array_equal(np.asarray(r), np.asarray(want)) for r in results)


def test_forward_through_sqrt_at_zero_beside_other_threads():
    # sqrt at 0 makes an infinite tangent, handled by the level's infinity tracking: another
    # thread ending its own level must not clear this one's.
    x = np.array([0.0, 4.0])
    want = modes.grad(sqrt_times_x, mode="forward")(x)
    assert np.allclose(want, [0.0, 3.0 + 30.0])
    y = np.linspace(0.5, 1.5, 5)
    want_r = modes.grad(rosenbrock, mode="forward")(y)
    jobs = [lambda: modes.grad(sqrt_times_x, mode="forward")(x),
            lambda: modes.grad(rosenbrock, mode="forward")(y)] * (THREADS // 2)
    results = run_concurrently(jobs)
    assert sum(wrong(r, want if k % 2 == 0 else want_r) for k, r in enumerate(results)) == 0


def test_reverse_and_forward_threads_at_once():
    x = np.linspace(-1.0, 1.0, 7)
    want_rev = modes.grad(rosenbrock)(x)
    want_fwd = modes.grad(rosenbrock, mode="forward")(x)
    np.testing.assert_allclose(want_rev, want_fwd, rtol=1e-12)
    talk = modes.grad(lambda a, b, c: a * b + (a + b) * c, argnum=(0, 1, 2))
    jobs = [lambda: modes.grad(rosenbrock)(x), lambda: modes.grad(rosenbrock, mode="forward")(x),
            lambda: talk(1.0, 2.0, 3.0), lambda: modes.grad(sqrt_times_x)(np.array([0.0, 4.0]))]
    wants = [want_rev, want_fwd, (5.0, 4.0, 3.0), modes.grad(sqrt_times_x)(np.array([0.0, 4.0]))]
    results = run_concurrently(jobs)
    assert [wrong(r, w) for r, w in zip(results, wants)] == [0, 0, 0, 0]


def test_nested_derivatives_in_threads():
    x = np.array([0.3, -0.2, 0.9])
    hess = modes.hessian(rosenbrock)
    want = hess(x)
    np.testing.assert_allclose(want, modes.jacobian(modes.grad(rosenbrock, mode="forward"),
                                                    mode="reverse")(x), rtol=1e-10)

    def perturbation():  # d/dx [x * d/dy (x + y)] = 1: mixing levels would give 2
        return modes.grad(lambda a: a * modes.grad(lambda b: a + b, mode="forward")(1.0))(2.0)

    jobs = [lambda: hess(x), perturbation, lambda: modes.hvp(rosenbrock, x, np.ones(3)),
            perturbation]
    want_hvp = modes.hvp(rosenbrock, x, np.ones(3))
    np.testing.assert_allclose(want_hvp, want @ np.ones(3), rtol=1e-12)
    wants = [want, 1.0, want_hvp, 1.0]
    results = run_concurrently(jobs, runs=100)
    assert [wrong(r, w) for r, w in zip(results, wants)] == [0, 0, 0, 0]


def test_explain_text_is_not_mixed_between_threads():
    def talk(x, y, z):
        return x * y + (x + y) * z

    def other(a, b):
        return np.sin(a) * b

    want_talk = modes.explain(talk, 1.0, 2.0, 3.0)
    want_other = modes.explain(other, 0.5, 2.0)
    jobs = [lambda: modes.explain(talk, 1.0, 2.0, 3.0), lambda: modes.explain(other, 0.5, 2.0)] * 2
    results = run_concurrently(jobs, runs=60)
    assert [sum(t != (want_talk if k % 2 == 0 else want_other) for t in r)
            for k, r in enumerate(results)] == [0, 0, 0, 0]


def test_memory_tracking_counts_each_threads_own_tapes():
    x = np.linspace(0.1, 1.0, 2000)

    def peak() -> int:
        with modes.memory.track() as meter:
            modes.grad(rosenbrock)(x)
        return meter.peak_bytes

    want = peak()
    assert want > 0
    results = run_concurrently([peak] * THREADS, runs=50)
    assert sum(wrong(r, want) for r in results) == 0


def test_a_value_traced_in_another_thread_is_refused():
    box: list[Any] = []
    started, done = threading.Event(), threading.Event()

    def keep_tracing(x):
        box.append(x)
        started.set()
        done.wait(10)
        return x * 2.0

    t = threading.Thread(target=lambda: modes.grad(keep_tracing)(1.0))
    t.start()
    try:
        assert started.wait(10)
        # Its transformation is still running, but in the other thread: not a level of ours.
        with pytest.raises(modes.LeakedTracerError, match="another thread"):
            modes.grad(lambda y: y * box[0])(3.0)
    finally:
        done.set()
        t.join()
