"""ba: residuals against a per-observation scalar transcription, every Jacobian method against the
finite-difference Jacobian (including its sparsity pattern), and the eval's JSON summaries."""

import math

import numpy as np
import pytest

from conftest import assert_close_fd, numerical_jacobian
from experiments.adbench import ba


def reference(inp):
    reproj, werr = [], []
    for i, (ci, pi) in enumerate(inp.obs):
        cam, X = inp.cams[ci], inp.X[pi]
        r, C, f, x0, k = cam[0:3], cam[3:6], cam[6], cam[7:9], cam[9:11]
        Xo = X - C
        th = math.sqrt(r @ r)
        w = r / th
        Xc = Xo * math.cos(th) + np.cross(w, Xo) * math.sin(th) + w * (w @ Xo) * (1 - math.cos(th))
        p = Xc[:2] / Xc[2]
        rsq = p @ p
        p = p * (1 + k[0] * rsq + k[1] * rsq * rsq) * f + x0
        reproj.append(inp.w[i] * (p - inp.feats[i]))
        werr.append(1 - inp.w[i] ** 2)
    return np.array(reproj), np.array(werr)


def test_objective_matches_reference():
    inp = ba.random_instance(3, 7, 12, seed=1)
    got, want = ba.objective(inp), reference(inp)
    np.testing.assert_allclose(got[0], want[0], rtol=1e-12)
    np.testing.assert_allclose(got[1], want[1], rtol=1e-14)


def test_zero_rotation_branch():
    inp = ba.random_instance(2, 3, 4, seed=2)
    cams = inp.cams.copy()
    cams[0, :3] = 0.0
    z = ba.gathered(cams, inp.X, inp.w, inp.obs)
    assert np.all(np.isfinite(ba.reprojection(z, inp.feats)))
    zero_inp = ba.Input(cams, inp.X, inp.w, inp.obs, inp.feats)
    assert np.all(np.isfinite(ba.jacobian(zero_inp, "reverse-blocks").vals))


@pytest.mark.parametrize("method", ba.METHODS)
def test_jacobian_against_finite_differences(method):
    inp = ba.random_instance(2, 4, 6, seed=3)
    fd = numerical_jacobian(lambda v: ba._all_residuals(v, inp), [ba._flat(inp)])
    J = ba.jacobian(inp, method)
    assert J.rows.shape == (3 * 6 + 1,) and J.cols.shape == J.vals.shape == (2 * 6 * 15 + 6,)
    assert_close_fd(J.dense(), fd, what=method)  # also: no nonzero outside the pattern


def test_json_summaries():
    raw = ba.generate(n=3, m=5, p=20, seed=4)
    inp = ba.prepare(raw)
    out = ba.FUNCTIONS["objective"].output(ba.objective(inp), inp)
    assert out["reproj_error"]["repeated"] == 20 and out["w_err"]["repeated"] == 20
    assert len(out["reproj_error"]["elements"]) == 2
    J = ba.jacobian(inp, "forward-blocks")
    jout = ba.FUNCTIONS["jacobian"].output(J, inp)
    assert all(len(jout[key]) == 31 for key in ("rows", "cols", "vals"))
    assert jout["rows"][:3] == [0, 15, 30] and jout["rows"][-1] == 2 * 20 * 15 + 20
    assert jout["cols"][:11] == list(range(11)) and jout["cols"][-1] == 11 * 3 + 3 * 5 + 19
    assert jout["vals"][-1] == pytest.approx(-2 * raw["w"])
    assert all(isinstance(v, int) for v in jout["rows"] + jout["cols"])
