"""ht: residuals against a loop-by-loop transcription of ADBench's C++ reference (per bone, per
vertex, explicit 4x4 matrices), Jacobians of every method against finite differences and each other; the compiled method against
the interpreted one it replays, also replayed at another input of the same shapes."""

import math

import numpy as np
import pytest

from compiled_check import check
from conftest import assert_close_fd, numerical_jacobian
from experiments.adbench import ht


def reference_vertices(theta, inp):
    m = inp.model
    bones = len(m.parents)
    pose = np.zeros((bones + 3, 3))
    pose[0], pose[1], pose[2] = theta[0:3], 1.0, theta[3:6]
    i_theta, row = 6, 5
    for _ in range(5):
        for i in range(2, 5):
            pose[row, 0] = theta[i_theta]
            i_theta += 1
            if i == 2:
                pose[row, 1] = theta[i_theta]
                i_theta += 1
            row += 1
        row += 1

    def euler(xzy):
        tx, ty, tz = xzy[0], xzy[2], xzy[1]
        Rx = np.array([[1, 0, 0], [0, math.cos(tx), -math.sin(tx)], [0, math.sin(tx), math.cos(tx)]])
        Ry = np.array([[math.cos(ty), 0, math.sin(ty)], [0, 1, 0], [-math.sin(ty), 0, math.cos(ty)]])
        Rz = np.array([[math.cos(tz), -math.sin(tz), 0], [math.sin(tz), math.cos(tz), 0], [0, 0, 1]])
        return Rz @ Ry @ Rx

    absolutes = []
    for i in range(bones):
        tr = np.eye(4)
        tr[:3, :3] = euler(pose[i + 3])
        rel = m.base_relatives[i] @ tr
        absolutes.append(rel if m.parents[i] == -1 else absolutes[m.parents[i]] @ rel)
    verts = np.zeros((m.base_positions.shape[0], 3))
    for i in range(bones):
        moved = (absolutes[i] @ m.inverse_base_absolutes[i] @ m.base_positions.T).T
        verts += moved[:, :3] * m.weights[:, i:i + 1]
    aa = pose[0]
    n = math.sqrt(aa @ aa)
    x, y, z = aa / n
    s, c = math.sin(n), math.cos(n)
    R = np.array([[x * x + (1 - x * x) * c, x * y * (1 - c) - z * s, x * z * (1 - c) + y * s],
                  [x * y * (1 - c) + z * s, y * y + (1 - y * y) * c, y * z * (1 - c) - x * s],
                  [x * z * (1 - c) - y * s, z * y * (1 - c) + x * s, z * z + (1 - z * z) * c]])
    return verts @ R.T + pose[2]


def reference_residuals(theta, us, inp):
    v = reference_vertices(theta, inp)
    out = []
    for i, corr in enumerate(inp.correspondences):
        if inp.complicated:
            a, b, c = inp.model.triangles[corr]
            p = us[i, 0] * v[a] + us[i, 1] * v[b] + (1 - us[i, 0] - us[i, 1]) * v[c]
        else:
            p = v[corr]
        out.extend(inp.points[i] - p)
    return np.array(out)


@pytest.fixture(params=[False, True], ids=["simple", "complicated"])
def inp(request):
    return ht.prepare(ht.generate(npts=6, complicated=request.param, verts=40, seed=4))


def test_residuals_match_reference(inp):
    np.testing.assert_allclose(ht.objective(inp), reference_residuals(inp.theta, inp.us, inp),
                               rtol=1e-12, atol=1e-12)


def test_jacobians_finite_differences_and_agreement(inp):
    fd_theta = numerical_jacobian(lambda t: reference_residuals(t, inp.us, inp), [inp.theta])
    if inp.complicated:
        fd_us = numerical_jacobian(lambda u: reference_residuals(inp.theta, u, inp), [inp.us])
        rows = np.arange(3 * len(inp.points))
        us_part = fd_us[rows, rows // 3, :]                     # each row's own (u0, u1)
        fd = np.concatenate([us_part, fd_theta], axis=1)
    else:
        fd = fd_theta
    results = {m: ht.jacobian(inp, m) for m in ht.METHODS}
    for m, J in results.items():
        assert J.shape == fd.shape, m
        assert_close_fd(J, fd, what=m)
        np.testing.assert_allclose(J, results["reverse-batched"], rtol=1e-11, atol=1e-11, err_msg=m)


def test_mirrored_and_small_rotation():
    inp = ht.prepare(ht.generate(npts=3, complicated=False, verts=20, seed=5))
    flipped = ht.Input(np.zeros(26), inp.us, ht.Model(**{**inp.model.__dict__, "is_mirrored": True}),
                       inp.correspondences, inp.points)
    assert np.all(np.isfinite(ht.objective(flipped)))  # zero rotation takes the identity branch
    assert np.all(np.isfinite(ht.jacobian(flipped, "forward-chunked")))


@pytest.mark.parametrize("complicated", [False, True])
def test_compiled_jacobian_replays_on_another_hand(complicated):
    first = ht.prepare(ht.generate(npts=5, complicated=complicated, verts=30, seed=4))
    second = ht.prepare(ht.generate(npts=5, complicated=complicated, verts=30, seed=9))
    assert not np.allclose(first.theta, second.theta)
    check(ht, ht.jacobian, first, second, ht._program, replays_second=True)
