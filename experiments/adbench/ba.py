"""``ba``: ADBench's bundle adjustment residuals and their sparse Jacobian.

n cameras (11 parameters: angle-axis rotation r, centre C, focal f, principal point x0, radial
k1 k2), m points X, p observations (camera, point) with weights w and features. For observation
i: Xcam = rodrigues(r, X - C), proj = distort(Xcam[:2] / Xcam[2]) f + x0 with
distort(v) = v (1 + k1 |v|^2 + k2 |v|^4), reproj_err_i = w_i (proj - feat_i) (2 values) and
w_err_i = 1 - w_i^2. Vectorised over observations.

The Jacobian (3p x (11n + 3m + p)) is sparse: the two rows of observation i depend on its camera
(11), its point (3) and its weight (1) only; row 2p + i (w_err_i) on w_i only. It is returned in
ADBench's CSR layout (row pointers, columns, values: for each reprojection row the 11 camera
columns, then 3 point columns, then the weight column; then one entry per w_err row).

Methods: ``forward`` and ``reverse``: ``modes.jacobian`` of all 3p residuals over all
11n + 3m + p parameters (dense; small problems only), the nonzeros then read off. The structure-
exploiting ones: ``forward-blocks``: one forward pass with 15 directions, each moving the same
local parameter of *every* observation at once (observation i's residuals read only its own copy),
giving all p 2 x 15 blocks; ``reverse-blocks``: one recording of the residuals as a function of the
gathered per-observation parameters (p, 15) and one batched sweep of 2 cotangents (every x
residual, every y residual). w_err is elementwise: one direction (forward) or one sweep (reverse).

JSON: the eval sends one camera, point, weight and feature, replicated n, m, p times, with
observation i = (i mod n, i mod m); the outputs are summarised as the eval expects (ADBench's
``ba.hpp`` serialisation): the objective as the first residual pair and w_err with repeat counts,
the Jacobian as the first 30 entries of rows, cols and vals plus the last of each.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

import modes

from .spec import Function, check_method, to_json

NAME = "ba"
METHODS = ("forward", "reverse", "forward-blocks", "reverse-blocks")
BEST = {"forward": "forward-blocks", "reverse": "reverse-blocks", "auto": "reverse-blocks"}
N_CAM = 11
BLOCK = N_CAM + 3 + 1   # nonzeros of one reprojection row
SHOWN = 2 * BLOCK       # entries of rows/cols/vals shown in the JSON output (plus the last)


@dataclass(frozen=True)
class Input:
    cams: np.ndarray   # (n, 11)
    X: np.ndarray      # (m, 3)
    w: np.ndarray      # (p,)
    obs: np.ndarray    # (p, 2) camera and point index
    feats: np.ndarray  # (p, 2)


@dataclass(frozen=True)
class SparseJacobian:
    """CSR: ``rows`` (3p + 1 pointers), ``cols`` and ``vals`` (15 per reprojection row, 1 per w row)."""

    rows: np.ndarray
    cols: np.ndarray
    vals: np.ndarray
    shape: tuple[int, int]

    def dense(self) -> np.ndarray:
        out = np.zeros(self.shape)
        for r in range(self.shape[0]):
            lo, hi = self.rows[r], self.rows[r + 1]
            out[r, self.cols[lo:hi]] = self.vals[lo:hi]
        return out


def _cross(a: Any, b: Any) -> Any:
    return np.stack([a[:, 1] * b[:, 2] - a[:, 2] * b[:, 1],
                     a[:, 2] * b[:, 0] - a[:, 0] * b[:, 2],
                     a[:, 0] * b[:, 1] - a[:, 1] * b[:, 0]], axis=1)


def rodrigues_rotate(rot: Any, pt: Any) -> Any:
    """Rotate each row of ``pt`` (p, 3) by the angle-axis rows of ``rot``; the first-order formula
    pt + rot x pt where |rot| = 0, as ADBench."""
    sqtheta = np.sum(rot * rot, axis=1, keepdims=True)
    zero = modes.plain(sqtheta) == 0.0
    theta = np.sqrt(np.where(zero, 1.0, sqtheta))      # safe where the other branch is taken
    w = rot / theta
    cos, sin = np.cos(theta), np.sin(theta)
    rotated = pt * cos + _cross(w, pt) * sin + w * (np.sum(w * pt, axis=1, keepdims=True) * (1.0 - cos))
    if not np.any(zero):
        return rotated
    return np.where(zero, pt + _cross(rot, pt), rotated)


def reprojection(z: Any, feats: np.ndarray) -> Any:
    """(p, 2) weighted reprojection errors from the gathered per-observation parameters z (p, 15):
    camera (11), point (3), weight (1)."""
    cam, X, w = z[:, :N_CAM], z[:, N_CAM:N_CAM + 3], z[:, N_CAM + 3:]
    xcam = rodrigues_rotate(cam[:, 0:3], X - cam[:, 3:6])
    proj = xcam[:, :2] / xcam[:, 2:3]
    rsq = np.sum(proj * proj, axis=1, keepdims=True)
    proj = proj * (1.0 + cam[:, 9:10] * rsq + cam[:, 10:11] * rsq * rsq)
    proj = proj * cam[:, 6:7] + cam[:, 7:9]
    return w * (proj - feats)


def gathered(cams: Any, X: Any, w: Any, obs: np.ndarray) -> Any:
    """z (p, 15): each observation's camera, point and weight side by side."""
    return np.concatenate([cams[obs[:, 0]], X[obs[:, 1]], w[:, None]], axis=1)


def w_error(w: Any) -> Any:
    return 1.0 - w * w


def objective(inp: Input) -> tuple[Any, Any]:
    """(reproj_err (p, 2), w_err (p,))."""
    z = gathered(inp.cams, inp.X, inp.w, inp.obs)
    return reprojection(z, inp.feats), w_error(inp.w)


def _pattern(inp: Input) -> tuple[np.ndarray, np.ndarray]:
    """CSR row pointers and column indices of the Jacobian's nonzeros."""
    n, m, p = inp.cams.shape[0], inp.X.shape[0], inp.w.shape[0]
    cam_cols = N_CAM * inp.obs[:, 0:1] + np.arange(N_CAM)
    pt_cols = N_CAM * n + 3 * inp.obs[:, 1:2] + np.arange(3)
    w_cols = (N_CAM * n + 3 * m + np.arange(p))[:, None]
    block = np.concatenate([cam_cols, pt_cols, w_cols], axis=1)                 # (p, 15)
    cols = np.concatenate([np.repeat(block, 2, axis=0).ravel(), w_cols.ravel()])
    rows = np.concatenate([np.arange(2 * p + 1) * BLOCK, 2 * p * BLOCK + np.arange(1, p + 1)])
    return rows, cols


def _assemble(inp: Input, blocks: np.ndarray, dw: np.ndarray) -> SparseJacobian:
    """From blocks (p, 2, 15) = d reproj_i / d z_i and dw (p,) = d w_err_i / d w_i."""
    n, m, p = inp.cams.shape[0], inp.X.shape[0], inp.w.shape[0]
    rows, cols = _pattern(inp)
    vals = np.concatenate([np.ravel(blocks), dw])
    return SparseJacobian(rows, cols, vals, (3 * p, N_CAM * n + 3 * m + p))


def _flat(inp: Input) -> np.ndarray:
    return np.concatenate([inp.cams.ravel(), inp.X.ravel(), inp.w])


def _all_residuals(v: Any, inp: Input) -> Any:
    n, m = inp.cams.shape[0], inp.X.shape[0]
    cams = np.reshape(v[:N_CAM * n], (n, N_CAM))
    X = np.reshape(v[N_CAM * n:N_CAM * n + 3 * m], (m, 3))
    w = v[N_CAM * n + 3 * m:]
    z = gathered(cams, X, w, inp.obs)
    return np.concatenate([np.ravel(reprojection(z, inp.feats)), w_error(w)])


def jacobian(inp: Input, method: str) -> SparseJacobian:
    """The sparse Jacobian by ``method`` (see the module docstring)."""
    check_method(NAME, method, METHODS)
    p = inp.w.shape[0]
    if method in ("forward", "reverse"):
        J = modes.jacobian(lambda v: _all_residuals(v, inp), mode=method)(_flat(inp))
        rows, cols = _pattern(inp)
        row_of = np.repeat(np.arange(3 * p), np.diff(rows))
        return SparseJacobian(rows, cols, J[row_of, cols], J.shape)
    z = gathered(inp.cams, inp.X, inp.w, inp.obs)
    if method == "forward-blocks":
        blocks = modes.jacobian(lambda c: reprojection(z + c, inp.feats), mode="forward",
                                chunk_size=BLOCK)(np.zeros(BLOCK))               # (p, 2, 15)
        dw = modes.jvp(w_error, (inp.w,), (np.ones(p),))[1]
    else:
        _, pullback = modes.vjp(lambda z: reprojection(z, inp.feats), z)
        seeds = np.zeros((2, p, 2))
        seeds[0, :, 0] = 1.0
        seeds[1, :, 1] = 1.0
        blocks = np.swapaxes(pullback(seeds, batched=True)[0], 0, 1)            # (p, 2, 15)
        dw = modes.vjp(w_error, inp.w)[1](np.ones(p))[0]
    return _assemble(inp, blocks, dw)


def prepare(raw: Mapping[str, Any]) -> Input:
    """The eval's replicated input: one camera, point, weight and feature, n, m, p copies."""
    n, m, p = int(raw["n"]), int(raw["m"]), int(raw["p"])
    cam = np.asarray(raw["cam"], dtype=np.float64).reshape(N_CAM)
    x = np.asarray(raw["x"], dtype=np.float64).reshape(3)
    feat = np.asarray(raw["feat"], dtype=np.float64).reshape(2)
    i = np.arange(p)
    return Input(np.tile(cam, (n, 1)), np.tile(x, (m, 1)), np.full(p, float(raw["w"])),
                 np.stack([i % n, i % m], axis=1), np.tile(feat, (p, 1)))


def objective_output(result: tuple[np.ndarray, np.ndarray], inp: Input) -> Any:
    reproj, werr = result
    reproj, werr = np.asarray(reproj), np.asarray(werr)
    return {"reproj_error": {"elements": to_json(reproj[0]), "repeated": int(reproj.shape[0])},
            "w_err": {"element": float(werr[0]), "repeated": int(werr.shape[0])}}


def jacobian_output(J: SparseJacobian, inp: Input) -> Any:
    def head_and_last(a: np.ndarray) -> list:
        return to_json(np.concatenate([a[:SHOWN], a[-1:]]))

    return {"rows": head_and_last(J.rows), "cols": head_and_last(J.cols), "vals": head_and_last(J.vals)}


FUNCTIONS = {
    "objective": Function(prepare, lambda inp, method: objective(inp), objective_output,
                          derivative=False),
    "jacobian": Function(prepare, jacobian, jacobian_output),
}


def random_instance(n: int, m: int, p: int, seed: int = 31337) -> Input:
    """Distinct cameras, points, weights and features (for tests and benchmarks): points in front
    of the cameras, observation i = (i mod n, random point)."""
    rng = np.random.default_rng(seed)
    cams = np.concatenate([rng.uniform(-0.3, 0.3, (n, 3)), rng.uniform(-1, 1, (n, 2)),
                           rng.uniform(-12, -8, (n, 1)), rng.uniform(300, 500, (n, 1)),
                           rng.uniform(-10, 10, (n, 2)), rng.uniform(-1e-3, 1e-3, (n, 2))], axis=1)
    X = rng.uniform(-1, 1, (m, 3))
    obs = np.stack([np.arange(p) % n, rng.integers(0, m, p)], axis=1)
    return Input(cams, X, rng.uniform(0.5, 1.5, p), obs, rng.uniform(-50, 50, (p, 2)))


def generate(n: int, m: int, p: int, seed: int = 31337) -> dict[str, Any]:
    """The eval's input format (one camera/point/weight/feature, replicated)."""
    inst = random_instance(1, 1, 1, seed)
    return {"n": n, "m": m, "p": p, "cam": inst.cams[0].tolist(), "x": inst.X[0].tolist(),
            "w": float(inst.w[0]), "feat": inst.feats[0].tolist()}
