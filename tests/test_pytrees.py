"""Containers of parameters: nested dicts, lists, tuples and namedtuples as arguments and outputs
of every transformation, has_aux, keyword arguments and tuple argnums. Expected values are written
from calculus or compared with central differences of the plain function."""

from __future__ import annotations

from collections import namedtuple
from typing import Any

import numpy as np
import pytest

import modes
from conftest import numerical_jacobian
from modes.pytree import describe, flatten, register_pytree, unflatten

MODES = ("forward", "reverse")
Params = namedtuple("Params", "w b")


def mlp_loss(params: dict, x: np.ndarray, y: np.ndarray) -> Any:
    h = np.tanh(x @ params["layers"][0]["W"] + params["layers"][0]["b"])
    pred = h @ params["layers"][1]["W"] + params["layers"][1]["b"]
    return np.mean((pred - y) ** 2) + params["decay"] * np.sum(params["layers"][0]["W"] ** 2)


def _params(rng: np.random.Generator) -> dict:
    return {"layers": [{"W": rng.normal(size=(3, 4)), "b": rng.normal(size=4)},
                       {"W": rng.normal(size=(4, 2)), "b": rng.normal(size=2)}],
            "decay": 0.1}


def _fd_tree_grad(f: Any, tree: Any, *rest: Any) -> Any:
    """Central differences leaf by leaf, with the plain function."""
    leaves, treedef = flatten(tree)
    out = []
    for k, leaf in enumerate(leaves):
        def at(v: Any, k: int = k) -> Any:
            ls = list(leaves)
            ls[k] = v
            return f(unflatten(treedef, ls), *rest)
        out.append(numerical_jacobian(at, [leaf]))
    return unflatten(treedef, out)


def _assert_tree_close(a: Any, b: Any, rtol: float = 1e-6) -> None:
    la, da = flatten(a)
    lb, db = flatten(b)
    assert da == db, f"{describe(da)} != {describe(db)}"
    for x, y in zip(la, lb):
        assert np.shape(x) == np.shape(y)
        np.testing.assert_allclose(x, y, rtol=rtol, atol=rtol)


def test_flatten_unflatten_round_trip() -> None:
    tree = {"a": [1.0, (np.ones(2), None)], "p": Params(np.zeros(3), 2.0)}
    leaves, treedef = flatten(tree)
    assert len(leaves) == 4
    back = unflatten(treedef, leaves)
    assert back["a"][1][1] is None and isinstance(back["p"], Params)
    assert describe(treedef) == "{'a': [*, (*, None)], 'p': Params(*, *)}"


@pytest.mark.parametrize("mode", MODES)
def test_grad_of_nested_dict_of_parameters(mode: str, rng: np.random.Generator) -> None:
    params = _params(rng)
    x, y = rng.normal(size=(5, 3)), rng.normal(size=(5, 2))
    g = modes.grad(mlp_loss, mode=mode)(params, x, y)
    _assert_tree_close(g, _fd_tree_grad(mlp_loss, params, x, y))
    assert type(g["layers"]) is list and isinstance(g["decay"], float)


@pytest.mark.parametrize("mode", MODES)
def test_namedtuple_and_tuple_arguments(mode: str) -> None:
    def f(p: Params, xs: tuple) -> Any:
        return np.sum((p.w * xs[0] + p.b) ** 2) + xs[1]

    p = Params(np.array([1.0, 2.0]), 0.5)
    xs = (np.array([3.0, -1.0]), 4.0)
    gp, gx = modes.grad(f, argnum=(0, 1), mode=mode)(p, xs)
    r = p.w * xs[0] + p.b  # residuals 3.5, -1.5
    assert isinstance(gp, Params)
    np.testing.assert_allclose(gp.w, 2 * r * xs[0])
    assert gp.b == pytest.approx(float(np.sum(2 * r)))
    np.testing.assert_allclose(gx[0], 2 * r * p.w)
    assert gx[1] == pytest.approx(1.0)


@pytest.mark.parametrize("mode", MODES)
def test_keyword_arguments_pass_through_undifferentiated(mode: str) -> None:
    g = modes.grad(lambda x, scale=1.0: scale * x * x, mode=mode)(3.0, scale=2.0)
    assert g == pytest.approx(12.0)
    v, g = modes.value_and_grad(lambda x, *, k: np.sum(x ** k), mode=mode)(np.array([1.0, 2.0]), k=3)
    assert v == pytest.approx(9.0)
    np.testing.assert_allclose(g, [3.0, 12.0])


@pytest.mark.parametrize("mode", MODES)
def test_has_aux(mode: str) -> None:
    def f(x: Any) -> Any:
        loss = np.sum(x * x)
        return loss, {"loss": loss, "twice": 2 * x}

    x = np.array([1.0, -2.0])
    g, aux = modes.grad(f, has_aux=True, mode=mode)(x)
    np.testing.assert_allclose(g, 2 * x)
    assert not isinstance(aux["loss"], modes.registry.Traced)
    assert float(aux["loss"]) == pytest.approx(5.0)
    np.testing.assert_allclose(aux["twice"], 2 * x)
    (v, aux2), g2 = modes.value_and_grad(f, has_aux=True, mode=mode)(x)
    assert v == pytest.approx(5.0) and float(aux2["loss"]) == pytest.approx(5.0)
    with pytest.raises(TypeError, match="has_aux=True, f must return a pair"):
        modes.grad(lambda x: x * x, has_aux=True)(1.0)


@pytest.mark.parametrize("mode", ("forward", "reverse", "auto"))
def test_jacobian_nests_output_then_input_structure(mode: str) -> None:
    def f(d: dict) -> dict:
        return {"prod": d["a"] * d["b"], "total": np.sum(d["b"])}

    d = {"a": 2.0, "b": np.array([1.0, 3.0])}
    j = modes.jacobian(f, mode=mode)(d)
    np.testing.assert_allclose(j["prod"]["a"], d["b"])
    np.testing.assert_allclose(j["prod"]["b"], 2.0 * np.eye(2))
    assert float(j["total"]["a"]) == 0.0
    np.testing.assert_allclose(j["total"]["b"], [1.0, 1.0])


@pytest.mark.parametrize("mode", ("forward", "reverse"))
def test_jacobian_tuple_argnum(mode: str) -> None:
    x, y = np.array([1.0, 2.0]), np.array([3.0, 5.0])
    jx, jy = modes.jacobian(lambda a, b: a * b + a, argnum=(0, 1), mode=mode)(x, y)
    np.testing.assert_allclose(jx, np.diag(y + 1))
    np.testing.assert_allclose(jy, np.diag(x))


@pytest.mark.parametrize("mode", ("forward", "reverse"))
def test_jacobian_has_aux_and_kwargs(mode: str) -> None:
    j, aux = modes.jacobian(lambda x, c=1.0: (c * x ** 2, "note"), mode=mode, has_aux=True)(
        np.array([1.0, 2.0]), c=3.0)
    np.testing.assert_allclose(j, np.diag([6.0, 12.0]))
    assert aux == "note"


def test_hessian_and_hvp_of_a_dict() -> None:
    f = lambda d: d["a"] ** 2 * d["b"] + np.sum(d["v"] ** 3)  # noqa: E731
    d = {"a": 2.0, "b": 3.0, "v": np.array([1.0, -1.0])}
    h = modes.hessian(f)(d)
    assert float(h["a"]["a"]) == pytest.approx(6.0) and float(h["a"]["b"]) == pytest.approx(4.0)
    np.testing.assert_allclose(h["v"]["v"], np.diag(6 * d["v"]))
    hv = modes.hvp(f, d, {"a": 1.0, "b": 0.0, "v": np.array([1.0, 0.0])})
    assert float(hv["a"]) == pytest.approx(6.0) and float(hv["b"]) == pytest.approx(4.0)
    np.testing.assert_allclose(hv["v"], [6.0, 0.0])


def test_vjp_and_jvp_of_containers() -> None:
    f = lambda d: [d["a"] * 2, d["a"] * d["b"]]  # noqa: E731
    d = {"a": 2.0, "b": np.array([1.0, 4.0])}
    out, pullback = modes.vjp(f, d)
    assert float(out[0]) == 4.0
    (bar,) = pullback([1.0, np.array([1.0, 1.0])])
    assert float(bar["a"]) == pytest.approx(2.0 + 5.0)
    np.testing.assert_allclose(bar["b"], [2.0, 2.0])
    (rows,) = pullback([np.array([1.0, 0.0]), np.array([[0.0, 0.0], [1.0, 0.0]])], batched=True)
    np.testing.assert_allclose(rows["a"], [2.0, 1.0])
    with pytest.raises(ValueError, match="structure"):
        pullback((1.0, np.ones(2)))
    out, tan = modes.jvp(f, (d,), ({"a": 1.0, "b": np.zeros(2)},))
    assert float(tan[0]) == pytest.approx(2.0)
    np.testing.assert_allclose(tan[1], d["b"])
    with pytest.raises(ValueError, match="structure"):
        modes.jvp(f, (d,), ({"a": 1.0},))


def test_vjp_has_aux() -> None:
    out, pullback, aux = modes.vjp(lambda x: (x * 3.0, {"x": x}), 2.0, has_aux=True)
    assert out == 6.0 and aux == {"x": 2.0}
    assert pullback(1.0) == (3.0,)


def test_user_registered_container() -> None:
    class Pair:
        def __init__(self, a: Any, b: Any) -> None:
            self.a, self.b = a, b

    register_pytree(Pair, lambda p: ((p.a, p.b), None), lambda aux, ch: Pair(*ch))
    g = modes.grad(lambda p: p.a * p.b ** 2)(Pair(2.0, 3.0))
    assert isinstance(g, Pair) and g.a == pytest.approx(9.0) and g.b == pytest.approx(12.0)


@pytest.mark.parametrize("mode", MODES)
def test_grad_of_a_container_output_is_a_clear_error(mode: str) -> None:
    with pytest.raises(TypeError, match="jacobian"):
        modes.grad(lambda x: [x, x], mode=mode)(1.0)


def test_checkpoint_and_explain_accept_containers() -> None:
    seg = modes.checkpoint(lambda p, x: np.tanh(p["w"] * x + p["b"]))
    loss = lambda p, x: np.sum(seg(p, x) ** 2)  # noqa: E731
    p = {"w": np.array([0.5, -1.0]), "b": 0.25}
    x = np.array([1.0, 2.0])
    _assert_tree_close(modes.grad(loss)(p, x), _fd_tree_grad(loss, p, x))
    text = modes.explain(lambda d: d["x"] * d["y"] + (d["x"] + d["y"]) * d["z"],
                         {"x": 1.0, "y": -3.0, "z": 2.0})
    assert "w1 = d['x'] * d['y'] = -3" in text and "forward and reverse agree: yes" in text


def test_checkpointed_loop_over_a_container_state_keeps_memory_bounded() -> None:
    step = lambda s, p: {"x": np.tanh(s["x"]) * p["a"] + 0.1 * s["v"], "v": s["v"] * 0.5}  # noqa: E731
    s0 = {"x": np.array([1.0, -0.5]), "v": np.array([0.3, 2.0])}
    p0 = {"a": 0.9}

    def plain_loss(s: dict, p: dict) -> Any:
        for _ in range(60):
            s = step(s, p)
        return np.sum(s["x"])

    peaks = {}
    for schedule in ("revolve", "none"):
        loss = lambda s, p, sch=schedule: np.sum(  # noqa: E731
            modes.checkpointed_loop(step, s, 60, snapshots=3, schedule=sch, params=(p,))["x"])
        with modes.memory.track() as m:
            gs, gp = modes.grad(loss, argnum=(0, 1))(s0, p0)
        peaks[schedule] = m.peak_bytes
        _assert_tree_close(gs, _fd_tree_grad(plain_loss, s0, p0))
        _assert_tree_close(gp, _fd_tree_grad(lambda p, s: plain_loss(s, p), p0, s0))
    assert peaks["revolve"] < peaks["none"] / 4
