"""modes.compile: the talk's example as generated source, guards and re-tracing, nesting, the
fallbacks that keep replay from ever being silently wrong, and operation counts by hand."""

from __future__ import annotations

import math
import threading
import warnings
from typing import Any

import numpy as np
import pytest

import modes
from modes import codegen
from modes.explain import wengert_list


def talk(x: Any, y: Any, z: Any) -> Any:
    w1 = x * y
    w2 = x + y
    w3 = w2 * z
    return w1 + w3


def _body(source: str) -> list[str]:
    """The statements of a generated function (no header, guards or finite checks)."""
    return [line.strip() for line in source.splitlines()[1:]
            if "raise" not in line and not line.strip().startswith(("return", "#"))]


# ---- the talk's example ------------------------------------------------------------------------------
def test_talk_source_is_its_wengert_list() -> None:
    compiled = modes.compile(talk, 1.0, -3.0, 2.0)
    steps = wengert_list(talk, 1.0, -3.0, 2.0, sweep=False).steps
    symbols = {"multiply": "*", "add": "+"}
    expected = []
    for step in steps[3:]:
        a, b = (steps[r].name if kind == "node" else repr(r) for kind, r in step.args)
        expected.append(f"{step.name} = {a} {symbols[step.prim]} {b}")
    assert _body(compiled.source) == expected == [
        "w1 = x * y", "w2 = x + y", "w3 = w2 * z", "w4 = w1 + w3"]
    assert compiled(1.0, -3.0, 2.0) == talk(1.0, -3.0, 2.0) == -7.0


def test_talk_gradient_source_is_the_talks_sweep() -> None:
    compiled = modes.compile(modes.value_and_grad(talk, argnum=(0, 1, 2)), 1.0, -3.0, 2.0)
    assert _body(compiled.source) == [
        "w1 = x * y", "w2 = x + y", "w3 = w2 * z", "w4 = w1 + w3",
        "w4_bar = 1.0",
        "w1_bar = w4_bar", "w3_bar = w4_bar",
        "w2_bar = w3_bar * z", "z_bar = w3_bar * w2",
        "x_bar = w2_bar", "y_bar = w2_bar",
        "x_bar += w1_bar * y", "y_bar += w1_bar * x",
    ]
    for point in [(1.0, -3.0, 2.0), (0.5, 2.0, -4.0)]:
        x, y, z = point
        value, grad = compiled(*point)
        assert value == talk(*point)
        assert grad == (y + z, x + z, x + y)  # the talk's (y + z, x + z, x + y), exactly


def test_talk_operation_counts_by_hand() -> None:
    counts = modes.count_ops(talk, 1.0, -3.0, 2.0, argnum=(0, 1, 2))
    assert counts.f == 4  # w1, w2, w3, V
    # the sweep: w2_bar, z_bar (2 products), x_bar and y_bar (a product and an add each)
    assert counts.sweep == 6
    assert counts.reverse == 10
    assert counts.f_mul == 2 and counts.reverse_mul == 6  # x*y, w2*z; then 4 products
    assert counts.within_griewank
    assert counts.residual_bytes == 4 * 8  # x, y, z and w2, as the interpreted tape keeps
    assert counts.residual_bytes == modes.api._record(talk, [1.0, -3.0, 2.0], (0, 1, 2))[1].nbytes
    # forward: one pass of 3 tangents; every operation on values and on tangents
    assert counts.passes == 1 and counts.chunk == 3
    assert counts.forward > counts.f
    skipped = modes.count_ops(talk, 1.0, -3.0, 2.0, argnum=(0, 1, 2), forward=False)
    assert skipped.forward is None and skipped.reverse == counts.reverse


def test_operation_counts_of_speelpenning_and_matmul() -> None:
    def speelpenning(x: Any) -> Any:
        p = x[0]
        for xi in x[1:]:
            p = p * xi
        return p

    counts = modes.count_ops(speelpenning, np.linspace(0.5, 1.5, 10))
    assert counts.f_mul == 9  # n - 1 products
    assert counts.reverse_mul == 27  # and two per product in the sweep: 3 (n - 1), Griewank's bound
    assert counts.within_griewank

    a = np.arange(12.0).reshape(3, 4)
    counts = modes.count_ops(lambda x: np.sum(a @ x), np.ones(4))
    assert counts.f == 2 * 3 * 4 + 3  # the matrix-vector product, then the sum
    # the sweep: a's transpose times the bar (2 * 3 * 4); the sum's bar is only broadcast
    assert counts.sweep == 24


# ---- guards and re-tracing ---------------------------------------------------------------------------
def test_branch_guard_retraces_for_the_other_branch() -> None:
    def f(x: Any) -> Any:
        if x > 0:
            return x * x
        return -3.0 * x

    compiled = modes.compile(modes.grad(f), 2.0)
    assert compiled(2.0) == 4.0
    assert compiled(-1.0) == -3.0  # a replay of the x > 0 trace would say -2.0
    assert compiled(3.0) == 6.0 and compiled(-5.0) == -3.0
    assert len(compiled.versions) == 2 and compiled.retraces == 1


def test_loop_count_from_a_value_is_a_guard() -> None:
    def f(x: Any, n: Any) -> Any:
        for _ in range(int(n)):
            x = np.sin(x)
        return x

    compiled = modes.compile(modes.grad(f), 0.3, 2.0)
    for n in (2.0, 3.0, 2.0):
        assert compiled(0.3, n) == pytest.approx(modes.grad(f)(0.3, n), rel=1e-15)
    assert len(compiled.versions) == 2


def test_shape_and_dtype_changes_retrace() -> None:
    def f(x: Any) -> Any:
        return np.sum(np.sin(x) * x)

    compiled = modes.compile(modes.grad(f), np.ones(3))
    for x in (np.arange(3.0), np.arange(5.0), np.arange(5, dtype=np.float32), np.ones((2, 2))):
        got = compiled(x)
        want = modes.grad(f)(x)
        assert got.shape == want.shape and got.dtype == want.dtype
        np.testing.assert_allclose(got, want, rtol=1e-6 if x.dtype == np.float32 else 1e-15)
    assert len(compiled.versions) == 4


def test_plain_value_read_is_a_guard() -> None:
    def f(x: Any) -> Any:
        scale = float(modes.plain(np.max(x)))  # a constant for the derivative, read by value
        return np.sum(x * x) * scale

    compiled = modes.compile(modes.grad(f), np.array([1.0, 2.0]))
    np.testing.assert_allclose(compiled(np.array([1.0, 3.0])), [6.0, 18.0])
    assert len(compiled.versions) == 2


def test_where_and_masks_replay_without_guards() -> None:
    def relu_loss(x: Any) -> Any:
        return np.sum(np.where(x > 0, x, 0.0) ** 2)

    compiled = modes.compile(modes.grad(relu_loss), np.array([1.0, -1.0, 2.0]))
    np.testing.assert_allclose(compiled(np.array([-1.0, 1.0, 2.0])), [0.0, 2.0, 4.0])
    assert len(compiled.versions) == 1


def test_static_arguments_are_part_of_a_version() -> None:
    def f(x: Any, power: int) -> Any:
        return np.sum(x ** power)

    compiled = modes.compile(modes.grad(f), np.ones(2), 2)
    np.testing.assert_allclose(compiled(np.array([1.0, 2.0]), 2), [2.0, 4.0])
    np.testing.assert_allclose(compiled(np.array([1.0, 2.0]), 3), [3.0, 12.0])
    assert len(compiled.versions) == 2


def test_too_many_versions_run_interpreted_with_one_warning() -> None:
    def f(x: Any) -> Any:
        return np.sum(x * x)

    compiled = modes.compile(modes.grad(f), np.ones(1), max_versions=2)
    compiled(np.ones(2))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        np.testing.assert_allclose(compiled(np.ones(3)), [2.0, 2.0, 2.0])
        np.testing.assert_allclose(compiled(np.ones(4)), [2.0] * 4)
    assert len(compiled.versions) == 2 and compiled.fallbacks == 2
    assert len([w for w in caught if "max_versions" in str(w.message)]) == 1
    with pytest.raises(ValueError, match="max_versions"):
        modes.compile(f, 1.0, max_versions=0)


# ---- never silently wrong -----------------------------------------------------------------------------
def test_nonfinite_derivative_follows_the_interpreted_convention() -> None:
    def f(x: Any) -> Any:
        return np.sum(np.sqrt(x) * np.array([0.0, 1.0]))

    compiled = modes.compile(modes.grad(f), np.array([1.0, 4.0]))
    # sqrt'(0) = inf times a zero bar: IEEE gives nan, modes' convention 0 (the interpreted sweep)
    with np.errstate(divide="ignore", invalid="ignore"):
        got = compiled(np.array([0.0, 4.0]))
    np.testing.assert_array_equal(got, modes.grad(f)(np.array([0.0, 4.0])))
    np.testing.assert_array_equal(got, [0.0, 0.25])
    assert compiled.fallbacks == 1


def test_float_domain_errors_answer_like_the_interpreted_mode() -> None:
    def f(x: Any) -> Any:
        return np.log(x) * 2.0

    compiled = modes.compile(modes.value_and_grad(f), 2.0)
    assert compiled(4.0) == (2.0 * math.log(4.0), 0.5)
    with np.errstate(divide="ignore", invalid="ignore"):
        (value, grad), (v2, g2) = compiled(-1.0), modes.value_and_grad(f)(-1.0)
    assert math.isnan(value) and math.isnan(v2) and grad == g2 == -2.0  # math.log raised: numpy's nan
    assert compiled.fallbacks == 1


def test_checkpointed_segments_are_inlined() -> None:
    def f(x: Any) -> Any:
        once = modes.checkpoint(lambda v: np.sin(v) * v)(x)
        return np.sum(modes.checkpointed_loop(lambda v: np.sin(v) * 1.1, once, 6, snapshots=2))

    compiled = modes.compile(modes.grad(f), np.ones(3))
    x = np.array([0.1, -0.4, 0.9])
    np.testing.assert_allclose(compiled(x), modes.grad(f)(x), rtol=1e-14)
    assert "checkpoint" not in compiled.source  # straight-line code keeps every residual instead


def test_grad_of_a_vector_function_is_refused_like_grad() -> None:
    with pytest.raises(ValueError, match="scalar"):
        modes.compile(modes.grad(lambda x: x * 2.0), np.ones(3))


# ---- nesting and transformed functions -----------------------------------------------------------------
def test_compiled_gradient_differentiates_again() -> None:
    compiled = modes.compile(modes.grad(talk, argnum=(0, 1, 2)), 1.0, -3.0, 2.0)
    # d/dy of x_bar = y + z is 1, d/dz of y_bar = x + z is 1, d/dx of x_bar is 0
    assert modes.grad(lambda y: compiled(1.0, y, 2.0)[0])(-3.0) == 1.0
    assert modes.grad(lambda z: compiled(1.0, -3.0, z)[1])(2.0) == 1.0
    assert modes.grad(lambda x: compiled(x, -3.0, 2.0)[0])(1.0) == 0.0

    def rosenbrock(x: Any) -> Any:
        return np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)

    x = np.array([0.3, -0.7, 1.1, 0.4])
    g = modes.compile(modes.grad(rosenbrock), x)
    for mode in ("forward", "reverse"):
        np.testing.assert_allclose(modes.jacobian(g, mode=mode)(x), modes.hessian(rosenbrock)(x),
                                   rtol=1e-12)


@pytest.mark.parametrize("transform", ["jacobian-forward", "jacobian-reverse", "hessian",
                                       "grad-forward", "jvp"])
def test_transformed_functions_compile(transform: str) -> None:
    a = np.arange(6.0).reshape(2, 3) / 7

    def f(x: Any) -> Any:
        return np.tanh(a @ x)

    def s(x: Any) -> Any:
        return np.sum(np.sin(x) * x)

    g: Any = {
        "jacobian-forward": modes.jacobian(f, mode="forward"),
        "jacobian-reverse": modes.jacobian(f, mode="reverse"),
        "hessian": modes.hessian(s),
        "grad-forward": modes.grad(s, mode="forward"),
        "jvp": lambda x: modes.jvp(f, (x,), (np.ones(3),))[1],
    }[transform]
    compiled = modes.compile(g, np.ones(3))
    for x in (np.ones(3), np.array([0.2, -1.0, 3.0])):
        np.testing.assert_allclose(compiled(x), g(x), rtol=1e-13)
    assert len(compiled.versions) == 1, compiled.versions[-1].guards


def test_containers_aux_and_value() -> None:
    def f(p: Any) -> Any:
        return np.sum(p["a"] * p["b"]) + p["c"][0] ** 2, {"mean": np.mean(p["a"])}

    params = {"a": np.ones(3), "b": np.arange(3.0), "c": [2.0]}
    compiled = modes.compile(modes.value_and_grad(f, has_aux=True), params)
    (value, aux), grad = compiled(params)
    (v2, aux2), g2 = modes.value_and_grad(f, has_aux=True)(params)
    assert value == v2 and aux == aux2
    np.testing.assert_array_equal(grad["a"], g2["a"])
    np.testing.assert_array_equal(grad["b"], g2["b"])
    assert grad["c"] == g2["c"] == [4.0]


def test_results_are_fresh_arrays() -> None:
    c = np.array([1.0, 2.0])
    compiled = modes.compile(modes.grad(lambda x: np.sum(x * c)), np.ones(2))
    first = compiled(np.ones(2))
    first[:] = 99.0
    np.testing.assert_array_equal(compiled(np.ones(2)), [1.0, 2.0])
    np.testing.assert_array_equal(c, [1.0, 2.0])


# ---- long programs: registers and the flat residual buffer ------------------------------------------
def test_long_chain_keeps_scalar_residuals_in_a_flat_buffer() -> None:
    def chain(x: Any) -> Any:
        for _ in range(codegen.REGISTERS_FROM):
            x = np.tanh(x)
        return x

    compiled = modes.compile(modes.grad(chain), 0.5)
    assert "R = array('d'" in compiled.source
    for x in (0.5, -0.2):
        assert compiled(x) == pytest.approx(modes.grad(chain)(x), rel=1e-12)
    # the registers in use stay few however long the chain
    registers = {w for line in compiled.source.splitlines() for w in line.replace("=", " ").split()
                 if w.startswith("r") and w[1:].isdigit()}
    assert len(registers) <= 4


def test_threads_share_a_compiled_function() -> None:
    compiled = modes.compile(modes.grad(talk, argnum=(0, 1, 2)), 1.0, -3.0, 2.0)
    wrong = []

    def work(k: int) -> None:
        for i in range(300):
            x, y, z = float(k), float(i), -1.0
            if compiled(x, y, z) != (y + z, x + z, x + y):
                wrong.append((k, i))

    threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not wrong


def test_readme_shows_the_generated_source() -> None:
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    section = readme[readme.index("### Compiled: record once, replay as code"):]
    shown = section[section.index("```text\n") + len("```text\n"):]
    shown = shown[: shown.index("```")]
    compiled = modes.compile(modes.value_and_grad(talk, argnum=(0, 1, 2)), 1.0, -3.0, 2.0)
    assert shown == compiled.source.replace("talk_value_and_grad", "f_value_and_grad")
    assert compiled(2.0, 3.0, 4.0) == (26.0, (7.0, 6.0, 5.0))


# ---- the fused backend (the 'fused' extra) ------------------------------------------------------------
def test_fused_backend_matches_the_python_backend() -> None:
    pytest.importorskip("numexpr")
    from modes.fused import FUSE_FROM

    def loss(x: Any) -> Any:
        r = 100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2
        return np.sum(np.where(x[1:] > 0, r, np.tanh(r) * 0.5)) + np.sum(np.exp(-x * x))

    rng = np.random.default_rng(3)
    x = rng.uniform(-1.0, 1.5, FUSE_FROM + 5)
    fused = modes.compile(modes.value_and_grad(loss), x, backend="fused")
    python = modes.compile(modes.value_and_grad(loss), x)
    assert "fused(" in fused.source and "fused(" not in python.source
    for point in (x, rng.uniform(-1.0, 1.5, x.size)):
        (v1, g1), (v2, g2) = fused(point), python(point)
        np.testing.assert_allclose(v1, v2, rtol=1e-13)
        np.testing.assert_allclose(g1, g2, rtol=1e-12, atol=1e-12)
    # the traced program keeps the registry's primitives: the fused gradient differentiates again
    grad = modes.compile(modes.grad(loss), x, backend="fused")
    assert "fused(" in grad.source
    v = rng.normal(size=x.size)
    np.testing.assert_allclose(modes.jvp(grad, (x,), (v,))[1], modes.hvp(loss, x, v), rtol=1e-10,
                               atol=1e-10)


def test_fused_backend_without_numexpr_says_which_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    import builtins

    real_import = builtins.__import__

    def no_numexpr(name: str, *args: Any, **kwargs: Any) -> Any:
        if name == "numexpr":
            raise ImportError("No module named 'numexpr'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_numexpr)
    with pytest.raises(modes.ModesError, match=r"\[fused\]"):
        modes.compile(modes.grad(talk), 1.0, 2.0, 3.0, backend="fused")
    assert modes.compile(modes.grad(talk), 1.0, 2.0, 3.0)(1.0, 2.0, 3.0) == 5.0  # python backend
    with pytest.raises(ValueError, match="backend"):
        modes.compile(talk, 1.0, 2.0, 3.0, backend="numba")


def test_value_guard_accepts_a_python_scalar_for_a_numpy_one() -> None:
    # outer forward over an inner reverse gradient: a guard on np.False_ replays as a Python bool
    def f(w: Any) -> Any:
        return modes.grad(lambda x: 1.0 / np.sqrt(x * x + w), mode="reverse")(1.0)

    g = modes.grad(f, mode="forward")
    compiled = modes.compile(g, 0.5)
    for w in (0.5, 0.7, 2.0):
        assert compiled(w) == pytest.approx(g(w), rel=1e-14)
    assert compiled.retraces == 0 and compiled.fallbacks == 0
    assert codegen._same(True, np.True_) and codegen._same(np.float64(2.0), 2.0)
    assert not codegen._same(1.0, True) and not codegen._same(np.ones(2), np.ones(3))
    assert codegen._same(np.array([np.nan, 1.0]), np.array([np.nan, 1.0]))
