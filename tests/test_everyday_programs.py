"""Everyday programs a user writes in plain numpy, differentiated in both modes.

Each program is ordinary numpy code (no modes-specific API inside it) and its gradient, in forward
and in reverse mode, is checked against central finite differences of the plain function.
Parameters may be a dict, a list or an array, as users write them.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np
import pytest

import modes

MODES = ("forward", "reverse")
STEP = 1e-6
RTOL = 1e-6
ATOL = 1e-8


# ---- helpers ------------------------------------------------------------------------------------------
def _leaves(tree: Any) -> list:
    """The leaves of a dict/list/tuple of arrays and floats, in a fixed order."""
    if isinstance(tree, dict):
        return [leaf for k in sorted(tree) for leaf in _leaves(tree[k])]
    if isinstance(tree, (list, tuple)):
        return [leaf for item in tree for leaf in _leaves(item)]
    return [tree]


def _rebuild(tree: Any, values: list) -> Any:
    """``tree`` with its leaves taken in order from ``values`` (consumed)."""
    if isinstance(tree, dict):
        return {k: _rebuild(tree[k], values) for k in sorted(tree)}
    if isinstance(tree, (list, tuple)):
        return type(tree)(_rebuild(item, values) for item in tree)
    v = values.pop(0)
    return float(v) if not isinstance(tree, np.ndarray) else v


def _central_grad(f: Callable[..., float], params: Any, *rest: Any) -> list[np.ndarray]:
    """Central differences of scalar ``f(params, *rest)``, one array per leaf of ``params``."""
    leaves = [np.array(leaf, dtype=np.float64) for leaf in _leaves(params)]
    grads = []
    for i, leaf in enumerate(leaves):
        g = np.zeros(leaf.shape)
        for idx in np.ndindex(leaf.shape):
            vals = []
            for sign in (1.0, -1.0):
                moved = [x.copy() for x in leaves]
                moved[i][idx] += sign * STEP
                vals.append(float(f(_rebuild(params, moved), *rest)))
            g[idx] = (vals[0] - vals[1]) / (2 * STEP)
        grads.append(g)
    return grads


def _assert_grad_matches(f: Callable[..., Any], params: Any, *rest: Any, rtol: float = RTOL) -> None:
    """The gradient of ``f`` w.r.t. ``params`` in both modes equals central differences."""
    expected = _central_grad(f, params, *rest)
    for mode in MODES:
        g = modes.grad(f, mode=mode)(params, *rest)
        got = _leaves(g)
        assert len(got) == len(expected), f"{mode}: gradient structure differs from the parameters'"
        for k, (a, e) in enumerate(zip(got, expected)):
            a = np.asarray(a, dtype=np.float64)
            assert a.shape == e.shape, f"{mode}: leaf {k} has shape {a.shape}, expected {e.shape}"
            np.testing.assert_allclose(a, e, rtol=rtol, atol=ATOL * max(1.0, np.max(np.abs(e))),
                                       err_msg=f"{mode} mode, leaf {k}")


# ---- the programs -------------------------------------------------------------------------------------
def test_gaussian_negative_log_likelihood_dict_params():
    rng = np.random.default_rng(0)
    data = rng.normal(1.5, 0.7, size=40)

    def nll(params, x):
        mu, log_sigma = params["mu"], params["log_sigma"]
        sigma = np.exp(log_sigma)
        z = (x - mu) / sigma
        return np.sum(0.5 * z ** 2 + log_sigma + 0.5 * np.log(2 * np.pi))

    _assert_grad_matches(nll, {"mu": 0.3, "log_sigma": -0.2}, data)
    # at the maximum-likelihood point the gradient vanishes
    mle = {"mu": float(np.mean(data)), "log_sigma": float(np.log(np.std(data)))}
    for mode in MODES:
        g = modes.grad(nll, mode=mode)(mle, data)
        assert abs(g["mu"]) < 1e-9 and abs(g["log_sigma"]) < 1e-9


def test_logistic_regression_with_l2_penalty():
    rng = np.random.default_rng(1)
    X = rng.standard_normal((30, 4))
    y = np.sign(rng.standard_normal(30))

    def loss(w, X, y, lam=0.1):
        z = X @ w
        return np.mean(np.logaddexp(0, -y * z)) + lam * np.sum(w ** 2)

    _assert_grad_matches(loss, rng.standard_normal(4), X, y)


def test_two_layer_mlp_tanh_dict_of_parameters():
    rng = np.random.default_rng(2)
    X = rng.standard_normal((8, 3))
    y = rng.standard_normal((8, 2))
    params = {
        "W1": rng.standard_normal((3, 5)) * 0.5, "b1": np.zeros(5),
        "W2": rng.standard_normal((5, 2)) * 0.5, "b2": 0.1 * np.ones(2),
    }

    def mse(p, X, y):
        h = np.tanh(X @ p["W1"] + p["b1"])
        out = h @ p["W2"] + p["b2"]
        return np.mean((out - y) ** 2)

    _assert_grad_matches(mse, params, X, y)


def test_ode_parameter_fit_rk4_states_in_a_list():
    t_obs = np.linspace(0.0, 2.0, 11)
    dt = t_obs[1] - t_obs[0]
    rng = np.random.default_rng(3)
    observed = np.stack([np.exp(-0.8 * t_obs), 0.5 * np.cos(t_obs)], axis=1) + 0.01 * rng.standard_normal((11, 2))

    def rhs(state, theta):
        a, b = theta[0], theta[1]
        return np.array([-a * state[0] + 0.1 * state[1], -b * state[1] * state[0]])

    def loss(theta, y0):
        state = y0
        states = [state]
        for _ in range(len(t_obs) - 1):
            k1 = rhs(state, theta)
            k2 = rhs(state + 0.5 * dt * k1, theta)
            k3 = rhs(state + 0.5 * dt * k2, theta)
            k4 = rhs(state + dt * k3, theta)
            state = state + dt / 6.0 * (k1 + 2 * k2 + 2 * k3 + k4)
            states.append(state)
        trajectory = np.stack(states)
        return np.sum((trajectory - observed) ** 2)

    _assert_grad_matches(loss, np.array([0.7, 0.3]), np.array([1.0, 0.5]))


def test_ode_explicit_euler_gradient_wrt_initial_state():
    def loss(y0, k):
        y = y0
        ys = []
        for _ in range(20):
            y = y + 0.05 * (-k * y + np.sin(y))
            ys.append(y)
        return np.sum(np.stack(ys)[-1] ** 2) + np.mean(np.stack(ys))

    _assert_grad_matches(loss, np.array([0.3, -1.2, 0.8]), 0.9)


def test_softmax_cross_entropy_stable():
    rng = np.random.default_rng(4)
    X = rng.standard_normal((6, 3))
    labels = np.array([0, 2, 1, 1, 0, 2])
    onehot = np.eye(3)[labels]

    def xent(W, X, onehot):
        logits = X @ W
        shifted = logits - np.max(logits, axis=1, keepdims=True)
        log_probs = shifted - np.log(np.sum(np.exp(shifted), axis=1, keepdims=True))
        return -np.mean(np.sum(onehot * log_probs, axis=1))

    _assert_grad_matches(xent, rng.standard_normal((3, 3)), X, onehot)

    def xent_indexed(W, X):  # the same loss with integer-array indexing
        logits = X @ W
        shifted = logits - np.max(logits, axis=1, keepdims=True)
        log_probs = shifted - np.log(np.sum(np.exp(shifted), axis=1, keepdims=True))
        return -np.mean(log_probs[np.arange(len(labels)), labels])

    _assert_grad_matches(xent_indexed, rng.standard_normal((3, 3)), X)


def test_gaussian_process_marginal_likelihood_cholesky():
    rng = np.random.default_rng(5)
    x = np.sort(rng.uniform(-2, 2, 7))
    y = np.sin(x) + 0.1 * rng.standard_normal(7)

    def neg_log_marginal(params, x, y):
        log_ell, log_sf, log_sn = params
        sqdist = (x[:, None] - x[None, :]) ** 2
        K = np.exp(2 * log_sf) * np.exp(-0.5 * sqdist / np.exp(2 * log_ell)) + np.exp(2 * log_sn) * np.eye(len(x))
        L = np.linalg.cholesky(K)
        alpha = np.linalg.solve(K, y)
        return 0.5 * y @ alpha + np.sum(np.log(np.diag(L))) + 0.5 * len(x) * np.log(2 * np.pi)

    _assert_grad_matches(neg_log_marginal, np.array([0.1, 0.2, -1.5]), x, y, rtol=1e-5)


def test_gaussian_process_marginal_likelihood_slogdet():
    rng = np.random.default_rng(6)
    X = rng.standard_normal((6, 2))
    y = rng.standard_normal(6)

    def nlml(params, X, y):
        ell, noise = np.exp(params["log_ell"]), np.exp(params["log_noise"])
        d2 = np.sum((X[:, None, :] - X[None, :, :]) ** 2, -1)
        K = np.exp(-0.5 * d2 / ell ** 2) + noise * np.eye(len(y))
        sign, logdet = np.linalg.slogdet(K)
        return 0.5 * y @ np.linalg.solve(K, y) + 0.5 * logdet

    _assert_grad_matches(nlml, {"log_ell": 0.3, "log_noise": -1.0}, X, y, rtol=1e-5)


def test_polynomial_least_squares_with_polyval():
    x = np.linspace(-1, 1, 15)
    y = 0.5 * x ** 3 - x + 0.2

    def loss(coeffs, x, y):
        return np.sum((np.polyval(coeffs, x) - y) ** 2)

    _assert_grad_matches(loss, np.array([0.3, -0.1, 0.8, 0.05]), x, y)
    # at the least-squares solution the gradient vanishes
    exact = np.polyfit(x, y, 3)
    for mode in MODES:
        assert np.max(np.abs(modes.grad(loss, mode=mode)(exact, x, y))) < 1e-9


def test_statistics_pipeline_standardize_then_percentile_and_median():
    rng = np.random.default_rng(7)
    raw = rng.standard_normal(11) * 2 + 1

    def robust_score(x):
        z = (x - np.mean(x)) / np.std(x)
        spread = np.percentile(z, 75) - np.percentile(z, 25)
        return np.median(z) ** 2 + spread + np.var(z, ddof=1)

    _assert_grad_matches(robust_score, raw, rtol=1e-5)


def test_rosenbrock_in_a_python_loop_over_scalars():
    def rosenbrock(x):
        total = 0.0
        for i in range(len(x) - 1):
            total = total + 100.0 * (x[i + 1] - x[i] ** 2) ** 2 + (1 - x[i]) ** 2
        return total

    x = np.array([-1.2, 1.0, 0.7, 1.4, -0.3])
    _assert_grad_matches(rosenbrock, x)
    for mode in MODES:  # minimum at (1, ..., 1)
        assert np.allclose(modes.grad(rosenbrock, mode=mode)(np.ones(5)), 0.0)


def test_soft_kmeans_assignment():
    rng = np.random.default_rng(8)
    X = rng.standard_normal((12, 2))

    def soft_kmeans_energy(centers, X, beta=2.0):
        d2 = np.sum((X[:, None, :] - centers[None, :, :]) ** 2, axis=2)       # (n, k)
        w = np.exp(-beta * d2)
        resp = w / np.sum(w, axis=1, keepdims=True)
        return np.sum(resp * d2) / X.shape[0]

    _assert_grad_matches(soft_kmeans_energy, rng.standard_normal((3, 2)), X)


def test_rbf_kernel_matrix_from_pairwise_differences():
    rng = np.random.default_rng(9)
    alpha = rng.standard_normal(5)

    def kernel_quadratic_form(X, alpha):
        sq = np.sum((X[:, None, :] - X[None, :, :]) ** 2, -1)
        K = np.exp(-0.5 * sq)
        return alpha @ K @ alpha + np.trace(K @ K) / 10

    _assert_grad_matches(kernel_quadratic_form, rng.standard_normal((5, 3)), alpha)


def test_time_series_diff_and_cumsum():
    rng = np.random.default_rng(10)
    target = np.cumsum(rng.standard_normal(12))

    def loss(increments, target):
        path = np.cumsum(increments)
        smoothness = np.sum(np.diff(path, n=2) ** 2)
        returns = np.diff(np.log1p(np.exp(path)))                     # softplus "prices"
        return np.sum((path - target) ** 2) + 0.5 * smoothness + np.std(returns)

    _assert_grad_matches(loss, rng.standard_normal(12), target)


def test_jacobian_and_hessian_of_a_small_model():
    """A user asks for the Jacobian of predictions and the Hessian of the loss."""
    rng = np.random.default_rng(11)
    X = rng.standard_normal((5, 3))

    def predict(w):
        return np.tanh(X @ w)

    def loss(w):
        return np.sum(predict(w) ** 2) + 0.1 * np.sum(w ** 4)

    w = rng.standard_normal(3)
    t = np.tanh(X @ w)
    J_exact = (1 - t ** 2)[:, None] * X
    for mode in MODES:
        np.testing.assert_allclose(modes.jacobian(predict, mode=mode)(w), J_exact, rtol=1e-12, atol=1e-14)
    g = modes.grad(loss)
    H_fd = np.stack([(g(w + STEP * e) - g(w - STEP * e)) / (2 * STEP) for e in np.eye(3)])
    np.testing.assert_allclose(modes.hessian(loss)(w), H_fd, rtol=1e-6, atol=1e-8)
    v = rng.standard_normal(3)
    np.testing.assert_allclose(modes.hvp(loss, w, v), H_fd @ v, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("mode", MODES)
def test_value_and_grad_with_aux_in_a_training_step(mode):
    """One gradient-descent step on a dict of parameters, reporting the predictions as aux."""
    rng = np.random.default_rng(12)
    X, y = rng.standard_normal((10, 2)), rng.standard_normal(10)
    params = {"w": np.zeros(2), "b": 0.0}

    def loss(p):
        pred = X @ p["w"] + p["b"]
        return np.mean((pred - y) ** 2), pred

    (value, pred), g = modes.value_and_grad(loss, mode=mode, has_aux=True)(params)
    assert np.isclose(value, np.mean(y ** 2))
    np.testing.assert_allclose(np.asarray(pred, dtype=float), np.zeros(10))
    np.testing.assert_allclose(g["w"], -2 * X.T @ y / 10, rtol=1e-12)
    assert np.isclose(g["b"], -2 * np.mean(y))
    new = {k: params[k] - 0.1 * g[k] for k in params}
    assert loss(new)[0] < value
