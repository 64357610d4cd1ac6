"""dtypes, complex values, outputs that are not numbers, arrays built from traced entries, array
methods, and the errors for common mistakes (each says what to do)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import modes

MODES = ("forward", "reverse")


# ---- dtypes -----------------------------------------------------------------------------------------
@pytest.mark.parametrize("mode", MODES)
def test_float32_in_float32_out(mode: str) -> None:
    x = np.array([1.0, -2.0, 0.5], dtype=np.float32)
    g = modes.grad(lambda x: np.sum(np.tanh(x) * x), mode=mode)(x)
    assert g.dtype == np.float32
    expected = np.tanh(x.astype(float)) + x * (1 - np.tanh(x.astype(float)) ** 2)
    np.testing.assert_allclose(g, expected, rtol=1e-6)
    j = modes.jacobian(lambda x: x * x, mode=mode)(x)
    assert j.dtype == np.float32
    np.testing.assert_allclose(j, np.diag(2 * x), rtol=1e-6)


def test_float32_in_jvp_vjp_hessian() -> None:
    x = np.array([1.0, 2.0], dtype=np.float32)
    out, t = modes.jvp(lambda x: x ** 3, (x,), (np.ones(2, dtype=np.float32),))
    assert out.dtype == np.float32 and t.dtype == np.float32
    _, pullback = modes.vjp(lambda x: x ** 3, x)
    assert pullback(np.ones(2, dtype=np.float32))[0].dtype == np.float32
    h = modes.hessian(lambda x: np.sum(x ** 3))(x)
    assert h.dtype == np.float32
    np.testing.assert_allclose(h, np.diag(6 * x), rtol=1e-6)


@pytest.mark.parametrize("mode", MODES)
def test_mixed_precision_each_derivative_in_its_input_dtype(mode: str) -> None:
    a = np.array([1.5, 2.0], dtype=np.float32)
    b = np.array([3.0, -1.0])
    ga, gb = modes.grad(lambda a, b: np.sum(a * b), argnum=(0, 1), mode=mode)(a, b)
    assert ga.dtype == np.float32 and gb.dtype == np.float64
    np.testing.assert_allclose(ga, b)
    np.testing.assert_allclose(gb, a)


@pytest.mark.parametrize("mode", MODES)
def test_integer_input_is_promoted_to_float64(mode: str) -> None:
    g = modes.grad(lambda x: np.sum(x * x), mode=mode)(np.array([1, 2]))
    assert g.dtype == np.float64
    np.testing.assert_allclose(g, [2.0, 4.0])


# ---- complex ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("f", [lambda x: np.sum(np.abs(x * (1 + 0.2j))),
                               lambda x: np.sum(np.real(x * (1 + 0.2j))),
                               lambda x: np.sum(x * (1 + 0.2j))],
                         ids=["abs", "real", "complex-output"])
def test_complex_anywhere_is_a_type_error(mode: str, f: Any) -> None:
    with pytest.raises(TypeError, match="complex"):
        modes.grad(f, mode=mode)(np.ones(2))


def test_complex_input_is_a_type_error() -> None:
    with pytest.raises(TypeError, match="complex"):
        modes.grad(lambda x: np.sum(x))(np.ones(2) * 1j)


# ---- outputs that are not numbers ------------------------------------------------------------------------
@pytest.mark.parametrize("mode", MODES)
def test_bool_and_none_outputs_are_errors(mode: str) -> None:
    with pytest.raises(TypeError, match="boolean"):
        modes.grad(lambda x: np.sum(x) > 0, mode=mode)(np.ones(2))
    with pytest.raises(TypeError, match="None"):
        modes.grad(lambda x: None, mode=mode)(np.ones(2))


# ---- arrays built from traced entries -------------------------------------------------------------------
BUILDERS = [
    ("np.array of scalars", lambda x: np.array([x[0] ** 2, x[1] * x[0], 3.0]),
     lambda x: np.array([[2 * x[0], 0.0], [x[1], x[0]], [0.0, 0.0]])),
    ("np.asarray of arrays", lambda x: np.asarray([x, 2 * x]).ravel(),
     lambda x: np.vstack([np.eye(2), 2 * np.eye(2)])),
    ("np.r_", lambda x: np.r_[x, x[0] * x[1]],
     lambda x: np.vstack([np.eye(2), [[x[1], x[0]]]])),
    ("np.c_", lambda x: np.c_[x, 3 * x].ravel(),
     lambda x: np.array([[1.0, 0], [3, 0], [0, 1], [0, 3]])),
    ("object array times traced", lambda x: x * np.array([x[1], 1.0], dtype=object),
     lambda x: np.array([[x[1], x[0]], [0.0, 1.0]])),
]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("label, f, jac", BUILDERS, ids=[b[0] for b in BUILDERS])
def test_arrays_built_from_traced_entries(mode: str, label: str, f: Any, jac: Any) -> None:
    x = np.array([1.5, -0.5])
    np.testing.assert_allclose(modes.jacobian(f, mode=mode)(x), jac(x), rtol=1e-12)


@pytest.mark.parametrize("mode", MODES)
def test_plain_left_operand_of_dot_and_matmul(mode: str) -> None:
    X = np.arange(6.0).reshape(3, 2)
    W = np.array([[1.0, -1.0], [0.5, 2.0]])
    for f in (lambda W: np.sum(X.dot(W) ** 2), lambda W: np.sum((X @ W) ** 2),
              lambda W: np.sum(np.dot(X, W) ** 2)):
        np.testing.assert_allclose(modes.grad(f, mode=mode)(W), 2 * X.T @ (X @ W), rtol=1e-12)


# ---- array methods --------------------------------------------------------------------------------------
METHODS = [
    ("std", lambda x: x.std(), lambda x: np.std(x)),
    ("var ddof", lambda x: x.var(ddof=1), lambda x: np.var(x, ddof=1)),
    ("cumsum", lambda x: x.cumsum()[-1] * x.cumsum()[0], None),
    ("dot", lambda x: x.dot(x), None),
    ("clip", lambda x: np.sum(x.clip(-0.5, 0.5) * x), None),
    ("reshape/T", lambda x: np.sum(x.reshape(2, 2).T * np.arange(4.0).reshape(2, 2)), None),
    ("item", lambda x: x[1:2].item() ** 2, None),
    ("iteration", lambda x: sum(v * v for v in x), None),
    ("tolist", lambda x: sum(x.tolist()) * x[0], None),
    ("mean prod max min", lambda x: x.mean() + x.prod() + x.max() + x.min(), None),
]


def _central(f: Any, x: np.ndarray) -> np.ndarray:
    g = np.zeros_like(x)
    for i in range(x.size):
        e = np.zeros_like(x)
        e[i] = 1e-6
        g[i] = (f(x + e) - f(x - e)) / 2e-6
    return g


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("label, f, ref", METHODS, ids=[m[0] for m in METHODS])
def test_array_methods(mode: str, label: str, f: Any, ref: Any) -> None:
    x = np.array([0.3, -1.2, 0.8, 2.0])
    np.testing.assert_allclose(modes.grad(f, mode=mode)(x), _central(ref or f, x), rtol=1e-6, atol=1e-8)


def test_format_and_astype() -> None:
    seen = []

    def f(x: Any) -> Any:
        seen.append(f"{np.sum(x):.3f} {x[0]:+.1e} {x}")
        assert x.astype(np.float32) is x
        np.testing.assert_array_equal(x.astype(int), [1, -2])
        return np.sum(x * x)

    modes.grad(f)(np.array([1.25, -2.5]))
    assert seen[0] == f"-1.250 +1.2e+00 {np.array([1.25, -2.5])}"
    g = modes.grad(lambda x: x * float(f"{x:.1f}"))(2.0)
    assert g == pytest.approx(2.0)


def test_method_with_no_rule_names_ndarray_method() -> None:
    with pytest.raises(modes.UnsupportedFunctionError, match=r"ndarray\.choose"):
        modes.grad(lambda x: np.sum(x.choose([0])))(np.ones(2))
    with pytest.raises(modes.UnsupportedFunctionError, match=r"ndarray\.flags"):
        modes.grad(lambda x: np.sum(x) * x.flags.writeable)(np.ones(2))
    with pytest.raises(AttributeError, match="no attribute 'nonsense'"):
        modes.grad(lambda x: x.nonsense)(np.ones(2))


def test_in_place_sort_is_a_mutation_error() -> None:
    with pytest.raises(modes.MutationError, match="np.sort"):
        modes.grad(lambda x: x.sort())(np.ones(2))


# ---- errors that say what to do ---------------------------------------------------------------------------
def test_storing_into_a_preallocated_array_suggests_a_list_and_stack() -> None:
    def simulate(x: Any) -> Any:
        traj = np.zeros((3, 2))
        traj[0] = x
        for i in range(2):
            traj[i + 1] = traj[i] * 0.5
        return np.sum(traj)

    with pytest.raises(modes.TracedConversionError, match="np.stack"):
        modes.grad(simulate)(np.ones(2))


def test_user_primitive_with_wrong_rule_count_is_named() -> None:
    p = modes.primitive(lambda x, y: x * y, "scaled", partials=(lambda ans, x, y: y,))
    with pytest.raises(modes.RuleError, match="'scaled' was called with 2 positional arguments"):
        modes.grad(lambda x: p(x, 2.0))(1.0)


def test_user_vjp_of_wrong_shape_is_named() -> None:
    p = modes.primitive(lambda x: np.sum(x), "total", jvp=(lambda g, ans, x: np.sum(g, axis=-1),),
                        vjp=(lambda g, ans, x: np.ones(7),))
    with pytest.raises(modes.RuleError, match=r"'total': its vjp rule for argument 0 returned shape "
                                              r"\(7,\), but \(3,\) was expected"):
        modes.grad(p)(np.ones(3))


def test_user_jvp_of_wrong_shape_is_named() -> None:
    p = modes.primitive(lambda x: x[:2], "head", jvp=(lambda g, ans, x: g,),
                        vjp=(lambda g, ans, x: np.concatenate([g, np.zeros(g.shape[:-1] + (1,))], -1),))
    with pytest.raises(modes.RuleError, match=r"'head': its jvp rule .* returned shape \(3, 3\)"):
        modes.jacobian(p, mode="forward")(np.ones(3))


def test_unsupported_scipy_ufunc_is_named_as_scipy() -> None:
    special = pytest.importorskip("scipy.special")
    with pytest.raises(modes.UnsupportedFunctionError, match=r"scipy\.special\.struve"):
        modes.grad(lambda x: np.sum(special.struve(1.0, x)))(np.ones(2))


def test_python_level_scipy_function_is_named_with_its_drop_in() -> None:
    special = pytest.importorskip("scipy.special")
    stats = pytest.importorskip("scipy.stats")
    with pytest.raises(modes.UnsupportedFunctionError,
                       match=r"scipy\.special\.logsumexp .*modes\.scipy\.special"):
        modes.grad(lambda x: special.logsumexp(x))(np.ones(2))
    with pytest.raises(modes.UnsupportedFunctionError, match=r"scipy\.stats\..*logpdf .*modes\.scipy\.stats"):
        modes.grad(lambda x: np.sum(stats.norm.logpdf(x)), mode="forward")(np.ones(2))


def test_scipy_functions_are_named_as_users_call_them() -> None:
    linalg = pytest.importorskip("scipy.linalg")
    stats = pytest.importorskip("scipy.stats")
    # Through scipy's private batching wrapper, by the function it wraps; a method of a frozen
    # distribution class by the distribution's name; no drop-in is promised where there is none.
    with pytest.raises(modes.UnsupportedFunctionError, match=r"^scipy\.linalg\.sqrtm is written in Python"):
        modes.grad(lambda x: np.sum(linalg.sqrtm(np.diag(x))))(np.ones(2))
    with pytest.raises(modes.UnsupportedFunctionError, match=r"^scipy\.stats\.multivariate_normal\.logpdf"):
        modes.grad(lambda x: stats.multivariate_normal.logpdf(x, np.zeros(2), np.eye(2)))(np.ones(2))


@pytest.mark.parametrize("mode", MODES)
def test_integer_conversions_are_piecewise_constant(mode: str) -> None:
    W = np.arange(12.0).reshape(3, 4)
    W[:, -1] = [0, 2, 1]
    g = modes.grad(lambda W: W[:, :-1][np.int64(W[:, -1])].sum(), mode=mode)(W)
    np.testing.assert_allclose(g, np.c_[np.ones((3, 3)), np.zeros(3)])
    assert modes.grad(lambda x: x * int(x), mode=mode)(2.5) == pytest.approx(2.0)


@pytest.mark.parametrize("mode", MODES)
def test_grad_of_a_one_entry_output(mode: str) -> None:
    g = modes.grad(lambda x: x[:1] * x[1], mode=mode)(np.array([2.0, 3.0]))
    np.testing.assert_allclose(g, [3.0, 2.0])
    with pytest.raises(ValueError, match="returns a scalar"):
        modes.grad(lambda x: x * 2.0, mode=mode)(np.array([2.0, 3.0]))
