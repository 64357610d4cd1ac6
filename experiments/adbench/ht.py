"""``ht``: ADBench's hand tracking residuals and their dense Jacobian (simple and complicated).

theta (26): global rotation (angle-axis, 3), global translation (3), then for each of 5 fingers 4
angles (the first finger bone bends about two axes). Pose parameters (3 + bones, 3): rotation,
scale (ones), translation, then one xzy Euler triple per bone, filled from theta as ADBench's
``to_pose_params`` does. The model skins every vertex by linear blend skinning (vertex transform =
sum of bone transforms weighted), mirrors x if asked, applies the global transform, and

* simple (``us`` empty): residual i = points[i] - vertex[correspondences[i]];
* complicated: residual i = points[i] - (u0 v0 + u1 v1 + (1 - u0 - u1) v2) with (v0, v1, v2) the
  vertices of triangle correspondences[i] and (u0, u1) = us[i].

The Jacobian has 3 npts rows. Simple: 26 columns (d/d theta). Complicated: ADBench's compressed
layout, 2 + 26 columns: residual i's derivative with respect to its own (u0, u1), then theta (the
full us-part is block diagonal, one 3 x 2 block per point).

Methods: ``forward`` (``modes.jacobian`` forward over every input: theta, and in the complicated
case all 2 npts us entries too), ``reverse`` (one reverse sweep per residual row: row-by-row),
``forward-chunked`` (one forward pass carrying 26 theta directions plus, in the complicated case,
2 "colour" directions that move every u0 (every u1) at once: the block-diagonal us-part needs only
2 directions), ``reverse-batched`` (one recording, all 3 npts cotangent rows in one batched sweep),
``forward-chunked-compiled`` (``experiments.adbench.compiled``: the chunked forward Jacobian as a
function of theta (z) and every array of the input, compiled by ``modes.compile`` once per input
shape and replayed; its branches are the bones' parents, the mirror flag and the angle-axis
threshold, so inputs of the same shapes and hand replay). ``build`` compiles before the timed runs
(reported as ``prepare``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np

import modes

from .compiled import Programs, is_compiled, shapes
from .spec import Function, check_method

NAME = "ht"
METHODS = ("forward", "reverse", "forward-chunked", "reverse-batched", "forward-chunked-compiled")
BEST = {"forward": "forward-chunked-compiled", "reverse": "reverse-batched",
        "auto": "forward-chunked-compiled"}
PROGRAMS = Programs(size=4)
N_THETA = 26
N_FINGERS = 5


@dataclass(frozen=True)
class Model:
    parents: np.ndarray                 # (bones,) parent index, -1 for the root; parents come first
    base_relatives: np.ndarray          # (bones, 4, 4)
    inverse_base_absolutes: np.ndarray  # (bones, 4, 4)
    base_positions: np.ndarray          # (verts, 4) homogeneous
    weights: np.ndarray                 # (verts, bones)
    triangles: np.ndarray               # (tris, 3) vertex indices
    is_mirrored: bool


@dataclass(frozen=True)
class Input:
    theta: np.ndarray            # (26,)
    us: np.ndarray               # (npts, 2), or (0, 2) for the simple variant
    model: Model
    correspondences: np.ndarray  # (npts,) vertex (simple) or triangle (complicated) indices
    points: np.ndarray           # (npts, 3)

    @property
    def complicated(self) -> bool:
        return self.us.shape[0] > 0


@lru_cache(maxsize=8)
def pose_index(bones: int) -> np.ndarray:
    """(3 + bones, 3) indices into [theta (26), 0, 1]: ADBench's ``to_pose_params`` as one gather."""
    zero, one = N_THETA, N_THETA + 1
    idx = np.full((3 + bones, 3), zero, dtype=np.intp)
    idx[0] = [0, 1, 2]
    idx[1] = one
    idx[2] = [3, 4, 5]
    i_theta, row = 6, 5
    for _ in range(N_FINGERS):
        for bone in range(3):
            idx[row, 0] = i_theta
            i_theta += 1
            if bone == 0:
                idx[row, 1] = i_theta
                i_theta += 1
            row += 1
        row += 1
    return idx


def _rows_to_matrix(entries: list[Any], lead: tuple[int, ...]) -> Any:
    """Stack 9 arrays of shape ``lead`` (row-major entries) into shape lead + (3, 3)."""
    return np.reshape(np.stack(entries, axis=-1), lead + (3, 3))


def euler_to_rotation(xzy: Any) -> Any:
    """(B, 3) xzy Euler angles -> (B, 3, 3) rotations Rz @ Ry @ Rx (ADBench's convention)."""
    tx, tz, ty = xzy[:, 0], xzy[:, 1], xzy[:, 2]
    B = xzy.shape[0]
    zero, one = np.zeros(B), np.ones(B)
    cx, sx, cy, sy, cz, sz = np.cos(tx), np.sin(tx), np.cos(ty), np.sin(ty), np.cos(tz), np.sin(tz)
    rx = _rows_to_matrix([one, zero, zero, zero, cx, -sx, zero, sx, cx], (B,))
    ry = _rows_to_matrix([cy, zero, sy, zero, one, zero, -sy, zero, cy], (B,))
    rz = _rows_to_matrix([cz, -sz, zero, sz, cz, zero, zero, zero, one], (B,))
    return rz @ ry @ rx


def angle_axis_to_rotation(aa: Any) -> Any:
    """Rodrigues' rotation for an angle-axis 3-vector (identity below norm 1e-4, as ADBench)."""
    sqnorm = np.sum(aa * aa)
    # |aa| < 1e-4, decided before the sqrt (infinite slope at 0). A comparison, not modes.plain:
    # compiled code then guards on its outcome, not on the value (which every input changes)
    if sqnorm < 1e-8:
        return np.eye(3)
    norm = np.sqrt(sqnorm)
    x, y, z = aa[0] / norm, aa[1] / norm, aa[2] / norm
    s, c = np.sin(norm), np.cos(norm)
    return _rows_to_matrix([x * x + (1 - x * x) * c, x * y * (1 - c) - z * s, x * z * (1 - c) + y * s,
                            x * y * (1 - c) + z * s, y * y + (1 - y * y) * c, y * z * (1 - c) - x * s,
                            x * z * (1 - c) - y * s, z * y * (1 - c) + x * s, z * z + (1 - z * z) * c],
                           ())


def vertex_positions(theta: Any, model: Model) -> Any:
    """(verts, 3) posed, skinned and globally transformed vertices."""
    bones = model.parents.shape[0]
    pose = np.concatenate([theta, np.array([0.0, 1.0])])[pose_index(bones)]   # (3 + bones, 3)
    rot = euler_to_rotation(pose[3:])                                          # (bones, 3, 3)
    top = np.concatenate([rot, np.zeros((bones, 3, 1))], axis=2)               # (bones, 3, 4)
    bottom = np.broadcast_to(np.array([0.0, 0.0, 0.0, 1.0]), (bones, 1, 4))
    relatives = model.base_relatives @ np.concatenate([top, bottom], axis=1)   # (bones, 4, 4)
    absolutes: list[Any] = []
    for i in range(bones):
        p = int(model.parents[i])
        absolutes.append(relatives[i] if p < 0 else absolutes[p] @ relatives[i])
    transforms = np.stack(absolutes) @ model.inverse_base_absolutes            # (bones, 4, 4)
    # only the top 3 rows of the blended transforms move a vertex: blend those (12 of 16 entries),
    # then apply each vertex's to its position as a (3, 4) @ (4, 1) product (in forward mode one
    # batched matmul per chunk: far faster there than a product summed over a last axis of 4)
    top_rows = np.reshape(transforms[:, :3, :], (bones, 12))
    blended = np.reshape(model.weights @ top_rows, (-1, 3, 4))                 # (verts, 3, 4)
    positions = (blended @ model.base_positions[:, :, None])[:, :, 0]          # (verts, 3)
    if model.is_mirrored:
        positions = positions * np.array([-1.0, 1.0, 1.0])
    R = angle_axis_to_rotation(pose[0]) * pose[1]   # scale column j by pose[1, j]
    return positions @ np.transpose(R) + pose[2]


def residuals(theta: Any, us: Any, inp: Input) -> Any:
    """The 3 npts residuals (flat, point by point) at ``theta`` and ``us``."""
    verts = vertex_positions(theta, inp.model)
    if not inp.complicated:
        return np.ravel(inp.points - verts[inp.correspondences])
    tri = inp.model.triangles[inp.correspondences]                              # (npts, 3)
    u0, u1 = us[:, 0:1], us[:, 1:2]
    hand = u0 * verts[tri[:, 0]] + u1 * verts[tri[:, 1]] + (1.0 - u0 - u1) * verts[tri[:, 2]]
    return np.ravel(inp.points - hand)


def objective(inp: Input) -> Any:
    return residuals(inp.theta, inp.us, inp)


def _compressed(z: Any, inp: Input) -> Any:
    """Residuals as a function of z = [c (2), theta (26)] with every u shifted by c (the colouring):
    d residual_i / d c = d residual_i / d u_i, since residual i reads only its own u."""
    return residuals(z[2:], inp.us + z[:2], inp)


def _row_by_row(f: Any, x: np.ndarray) -> np.ndarray:
    """Reverse mode, one sweep per output row: (m, n) Jacobian of f at x."""
    out, pullback = modes.vjp(f, x)
    m = out.shape[0]
    rows = np.empty((m, x.size))
    seed = np.zeros(m)
    for i in range(m):
        seed[i] = 1.0
        rows[i] = pullback(seed)[0]
        seed[i] = 0.0
    return rows


def _data(inp: Input) -> tuple[Any, ...]:
    """Every array and constant ``residuals`` reads besides theta, as plain arguments."""
    m = inp.model
    return (inp.us, inp.points, inp.correspondences, m.triangles, m.base_relatives,
            m.inverse_base_absolutes, m.base_positions, m.weights,
            tuple(int(p) for p in m.parents), m.is_mirrored)


def _residuals_of(theta: Any, us: Any, points: Any, correspondences: Any, triangles: Any,
                  base_relatives: Any, inverse_base_absolutes: Any, base_positions: Any,
                  weights: Any, parents: tuple[int, ...], is_mirrored: bool, shift: Any = None) -> Any:
    """``residuals`` with the input given array by array (``shift``: added to every u)."""
    model = Model(np.array(parents, dtype=np.intp), base_relatives, inverse_base_absolutes,
                  base_positions, weights, triangles, is_mirrored)
    inp = Input(theta, us, model, correspondences, points)
    return residuals(theta, us if shift is None else us + shift, inp)


def _simple_of(theta: Any, *data: Any) -> Any:
    return _residuals_of(theta, *data)


def _compressed_of(z: Any, *data: Any) -> Any:
    return _residuals_of(z[2:], *data, shift=z[:2])


def _program(inp: Input, method: str) -> Any:
    """The compiled chunked forward Jacobian for ``inp``'s shapes (and hand: parents, mirror)."""
    data = _data(inp)
    key = (method, inp.complicated, shapes(inp.theta, *data[:-2]), data[-2], data[-1])
    f, n = (_compressed_of, 2 + N_THETA) if inp.complicated else (_simple_of, N_THETA)
    return PROGRAMS.get(key, lambda: modes.compile(
        modes.jacobian(f, mode="forward", chunk_size=n), _jacobian_point(inp), *data))


def _jacobian_point(inp: Input) -> np.ndarray:
    return np.concatenate([np.zeros(2), inp.theta]) if inp.complicated else inp.theta


def build(inp: Input, method: str) -> bool:
    """Compile a compiled method for ``inp``'s shapes (before the timed runs)."""
    if not is_compiled(method):
        return False
    _program(inp, method)
    return True


def jacobian(inp: Input, method: str) -> np.ndarray:
    """The (3 npts, 26) or (3 npts, 28) Jacobian in ADBench's layout, by ``method``."""
    check_method(NAME, method, METHODS)
    if is_compiled(method):
        return _program(inp, method)(_jacobian_point(inp), *_data(inp))
    if not inp.complicated:
        f = lambda theta: residuals(theta, inp.us, inp)  # noqa: E731
        if method == "forward":
            return modes.jacobian(f, mode="forward")(inp.theta)
        if method == "forward-chunked":
            return modes.jacobian(f, mode="forward", chunk_size=N_THETA)(inp.theta)
        if method == "reverse":
            return _row_by_row(f, inp.theta)
        return modes.jacobian(f, mode="reverse", chunk_size=3 * inp.points.shape[0])(inp.theta)
    z = np.concatenate([np.zeros(2), inp.theta])
    g = lambda z: _compressed(z, inp)  # noqa: E731
    if method == "forward-chunked":
        return modes.jacobian(g, mode="forward", chunk_size=z.size)(z)
    if method == "reverse-batched":
        return modes.jacobian(g, mode="reverse", chunk_size=3 * inp.points.shape[0])(z)
    if method == "reverse":
        return _row_by_row(g, z)
    # forward over every input (us and theta), then ADBench's compression of the us-part
    npts = inp.points.shape[0]
    full_in = np.concatenate([np.ravel(inp.us), inp.theta])
    h = lambda v: residuals(v[2 * npts:], np.reshape(v[:2 * npts], (npts, 2)), inp)  # noqa: E731
    J = modes.jacobian(h, mode="forward")(full_in)
    rows = np.arange(3 * npts)
    us_part = np.stack([J[rows, 2 * (rows // 3)], J[rows, 2 * (rows // 3) + 1]], axis=1)
    return np.concatenate([us_part, J[:, 2 * npts:]], axis=1)


def _matrices(raw: Any) -> np.ndarray:
    return np.asarray(raw, dtype=np.float64)


def prepare(raw: Mapping[str, Any]) -> Input:
    data, m = raw["data"], raw["data"]["model"]
    model = Model(
        parents=np.asarray(m["parents"], dtype=np.intp),
        base_relatives=_matrices(m["base_relatives"]),
        inverse_base_absolutes=_matrices(m["inverse_base_absolutes"]),
        base_positions=_matrices(m["base_positions"]),
        weights=_matrices(m["weights"]),
        triangles=np.asarray(m["triangles"], dtype=np.intp).reshape(-1, 3),
        is_mirrored=bool(m["is_mirrored"]),
    )
    bones = model.parents.shape[0]
    if any(int(p) >= i for i, p in enumerate(model.parents)):
        raise ValueError("ht: every bone's parent must come before it")
    if model.weights.shape != (model.base_positions.shape[0], bones):
        raise ValueError(f"ht: weights {model.weights.shape} do not match "
                         f"{model.base_positions.shape[0]} vertices x {bones} bones")
    theta = np.asarray(raw["theta"], dtype=np.float64)
    if theta.shape != (N_THETA,):
        raise ValueError(f"ht: theta must have {N_THETA} entries, got {theta.shape}")
    us = np.asarray(raw.get("us", []), dtype=np.float64).reshape(-1, 2)
    points = np.asarray(data["points"], dtype=np.float64).reshape(-1, 3)
    corr = np.asarray(data["correspondences"], dtype=np.intp)
    if us.shape[0] not in (0, points.shape[0]):
        raise ValueError(f"ht: {us.shape[0]} us pairs for {points.shape[0]} points")
    pose_index(bones)
    return Input(theta, us, model, corr, points)


FUNCTIONS = {
    "objective": Function(prepare, lambda inp, method: objective(inp), derivative=False),
    "jacobian": Function(prepare, jacobian, build=build),
}


# ---- a synthetic hand, shaped like ADBench's -------------------------------------------------------------
def _rigid(rng: np.random.Generator, scale: float) -> np.ndarray:
    a, b, c = rng.uniform(-0.3, 0.3, 3)
    R = euler_to_rotation(np.array([[a, b, c]]))[0]
    T = np.eye(4)
    T[:3, :3] = R
    T[:3, 3] = rng.uniform(-scale, scale, 3)
    return T


def generate(npts: int, complicated: bool, verts: int = 544, seed: int = 31337) -> dict[str, Any]:
    """A hand-tracking input in GradBench's JSON format.

    ADBench's hand model files cannot be fetched here, so the model is synthetic with the same
    structure: 22 bones (wrist, 5 fingers of 4 bones, forearm; parents before children), rigid base
    transforms, ``verts`` vertices each weighted on up to 3 bones (weights summing to 1), random
    triangles, and ``npts`` correspondences with observed points near the posed model.
    """
    rng = np.random.default_rng(seed)
    bones = 2 + 4 * N_FINGERS
    parents = [-1]
    for f in range(N_FINGERS):
        parents += [0] + [1 + 4 * f + j for j in range(3)]
    parents.append(0)
    relatives = np.stack([_rigid(rng, 1.0) for _ in range(bones)])
    absolutes = []
    for i, p in enumerate(parents):
        absolutes.append(relatives[i] if p < 0 else absolutes[p] @ relatives[i])
    inverse_absolutes = np.stack([np.linalg.inv(a) for a in absolutes])
    positions = np.concatenate([rng.uniform(-3, 3, (verts, 3)), np.ones((verts, 1))], axis=1)
    weights = np.zeros((verts, bones))
    for v in range(verts):
        chosen = rng.choice(bones, size=3, replace=False)
        weights[v, chosen] = rng.dirichlet(np.ones(3))
    triangles = rng.integers(0, verts, size=(2 * verts, 3))
    theta = rng.uniform(-0.5, 0.5, N_THETA)
    corr = rng.integers(0, len(triangles) if complicated else verts, size=npts)
    return {
        "theta": theta.tolist(),
        "us": rng.uniform(0, 0.5, (npts, 2)).tolist() if complicated else [],
        "data": {
            "model": {
                "bone_count": bones,
                "bone_names": ["wrist"] + [f"finger{f}_{j}" for f in range(N_FINGERS) for j in range(4)]
                + ["forearm"],
                "parents": parents,
                "base_relatives": relatives.tolist(),
                "inverse_base_absolutes": inverse_absolutes.tolist(),
                "base_positions": positions.tolist(),
                "weights": weights.tolist(),
                "triangles": triangles.tolist(),
                "is_mirrored": False,
            },
            "correspondences": corr.tolist(),
            "points": rng.uniform(-5, 5, (npts, 3)).tolist(),
        },
    }
