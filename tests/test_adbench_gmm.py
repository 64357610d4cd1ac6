"""gmm: the vectorised log-posterior against a slow direct formula (explicit densities, determinants
and the Wishart log-density), its gradient against finite differences and across modes, both
JSON formats, and the compiled reverse gradient against the interpreted one (at another input of
the same shapes it traces again: the logsumexp shift is a value read by modes.plain)."""

import math

import numpy as np
import pytest

from compiled_check import assert_same, check
from conftest import assert_close_fd, assert_modes_agree, numerical_jacobian
from experiments.adbench import gmm


def slow_log_posterior(alpha, mu, q, l, x, gamma, m):
    """log of prod_i sum_k phi_k N(x_i | mu_k, (Q_k^T Q_k)^-1) times prod_k Wishart(Q_k^T Q_k)."""
    k, d = mu.shape
    phi = np.exp(alpha) / np.sum(np.exp(alpha))
    precisions = []
    for c in range(k):
        Q = np.diag(np.exp(q[c]))
        pos = 0
        for col in range(d):
            for row in range(col + 1, d):
                Q[row, col] = l[c, pos]
                pos += 1
        precisions.append(Q.T @ Q)
    loglik = 0.0
    for xi in x:
        total = 0.0
        for c in range(k):
            P = precisions[c]
            diff = xi - mu[c]
            total += phi[c] * math.sqrt(np.linalg.det(P) / (2 * math.pi) ** d) * math.exp(-0.5 * diff @ P @ diff)
        loglik += math.log(total)
    nw = d + m + 1
    log_multigamma = d * (d - 1) / 4 * math.log(math.pi) + sum(math.lgamma(nw / 2 + (1 - j) / 2)
                                                              for j in range(1, d + 1))
    V = np.eye(d) / gamma ** 2
    logprior = 0.0
    for P in precisions:
        logprior += ((nw - d - 1) / 2 * math.log(np.linalg.det(P)) - np.trace(np.linalg.inv(V) @ P) / 2
                     - nw * d / 2 * math.log(2) - nw / 2 * math.log(np.linalg.det(V)) - log_multigamma)
    return loglik + logprior


@pytest.mark.parametrize("d,k,m,gamma", [(1, 2, 0, 1.0), (2, 3, 0, 1.0), (3, 2, 2, 0.7)])
def test_objective_matches_slow_formula(d, k, m, gamma):
    inp = gmm.prepare(gmm.generate(d, k, 12, m=m, gamma=gamma, seed=d + k))
    want = slow_log_posterior(*inp.params, inp.x, inp.gamma, inp.m)
    assert gmm.value(inp) == pytest.approx(want, rel=1e-10)


def test_gradient_finite_differences_and_modes():
    inp = gmm.prepare(gmm.generate(3, 3, 15, m=1, seed=5))
    grads = {mode: gmm.gradient(inp, mode) for mode in ("forward", "reverse")}
    for i in range(4):
        fd = numerical_jacobian(lambda *p: gmm.objective(*p, inp.x, inp.gamma, inp.m), inp.params, i)
        assert_close_fd(grads["reverse"][i], fd, what=f"param {i}")
        assert_modes_agree(grads["forward"][i], grads["reverse"][i], what=f"param {i}")


def test_json_formats():
    raw = gmm.generate(3, 2, 5, seed=6)
    inp = gmm.prepare(raw)
    out = gmm.FUNCTIONS["jacobian"].output(gmm.gradient(inp, "reverse"), inp)
    assert set(out) == {"alpha", "mu", "q", "l"}
    assert np.shape(out["mu"]) == (2, 3) and np.shape(out["l"]) == (2, 3) and len(out["alpha"]) == 2
    legacy = {"d": 3, "k": 2, "n": 5, "m": 0, "gamma": 1.0, "x": raw["x"], "alpha": raw["alpha"],
              "means": raw["mu"], "icf": np.concatenate([raw["q"], raw["l"]], axis=1).tolist()}
    linp = gmm.prepare(legacy)
    assert gmm.value(linp) == gmm.value(inp)
    flat = gmm.FUNCTIONS["jacobian"].output(gmm.gradient(linp, "reverse"), linp)
    assert len(flat) == 2 + 2 * 3 + 2 * (3 + 3)  # K + K D + K (D + D(D-1)/2)
    np.testing.assert_allclose(flat[:2], out["alpha"])
    np.testing.assert_allclose(flat[8:11], out["q"][0])
    np.testing.assert_allclose(flat[11:14], out["l"][0])


def test_compiled_gradient():
    first = gmm.prepare(gmm.generate(3, 4, 12, seed=2))
    second = gmm.prepare(gmm.generate(3, 4, 12, seed=3))
    check(gmm, gmm.gradient, first, second, gmm._program, replays_second=False)
    # gamma and m are constants of the trace: another gamma is another program, not a wrong one
    other = gmm.prepare(gmm.generate(3, 4, 12, gamma=2.0, seed=2))
    assert gmm._program(other, "reverse-compiled") is not gmm._program(first, "reverse-compiled")
    assert_same(gmm.gradient(other, "reverse-compiled"), gmm.gradient(other, "reverse"))
