"""kmeans: the cost against a loop, and J H^-1 of every method against its closed form
(centroid minus the mean of its points) and finite differences; the compiled methods against the
interpreted ones, at the traced input and another of the same shapes (which traces again: the
derivative of np.min reads the distances)."""

import numpy as np
import pytest

from compiled_check import check
from conftest import assert_close_fd, numerical_jacobian
from experiments.adbench import kmeans


@pytest.fixture
def inp():
    return kmeans.prepare(kmeans.generate(k=4, n=40, d=3, seed=2))


def test_cost_matches_loop(inp):
    want = sum(min(float(np.sum((p - c) ** 2)) for c in inp.centroids) for p in inp.points)
    assert kmeans.cost(inp.centroids, inp.points) == pytest.approx(want, rel=1e-13)


@pytest.mark.parametrize("method", kmeans.METHODS)
def test_direction_closed_form(inp, method):
    C, P = inp.centroids, inp.points
    nearest = np.argmin(((P[:, None] - C[None]) ** 2).sum(axis=2), axis=1)
    want = np.array([C[j] - P[nearest == j].mean(axis=0) for j in range(len(C))])
    np.testing.assert_allclose(kmeans.direction(inp, method), want, rtol=1e-12, atol=1e-12)


def test_gradient_finite_differences(inp):
    fd = numerical_jacobian(lambda c: kmeans.cost(c, inp.points), [inp.centroids])
    J = kmeans.direction(inp, "reverse") * 2 * np.bincount(
        np.argmin(((inp.points[:, None] - inp.centroids[None]) ** 2).sum(axis=2), axis=1))[:, None]
    assert_close_fd(J, fd)


def test_compiled_directions():
    first = kmeans.prepare(kmeans.generate(k=3, n=30, d=2, seed=5))
    second = kmeans.prepare(kmeans.generate(k=3, n=30, d=2, seed=6))
    check(kmeans, kmeans.direction, first, second, kmeans._program, replays_second=False)
