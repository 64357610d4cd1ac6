"""Contractions and building/slicing: hand-computed values, plain operands, errors, adjoints.

The finite-difference checks of every case live in ``tests/cases_contractions.py`` (run by
``tests/test_registry.py``); here are the values a helper could not fake.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import modes
from case_table import MODES
from modes.primitives.contractions import normalize_subscripts

A = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
X3 = np.array([0.5, -1.0, 2.0])


# ---- hand-computed values ------------------------------------------------------------------------
@pytest.mark.parametrize("mode", MODES)
def test_einsum_hand_values(mode: str) -> None:
    m = np.array([[1.0, 2.0], [3.0, 4.0]])
    np.testing.assert_array_equal(modes.grad(lambda m: np.einsum("ii", m), mode=mode)(m), np.eye(2))
    # d/dm sum_ij m_ij^2 = 2m; d/dm of the diagonal picks the diagonal only
    np.testing.assert_array_equal(modes.grad(lambda m: np.einsum("ij,ij", m, m), mode=mode)(m), 2 * m)
    jac = modes.jacobian(lambda m: np.einsum("ii->i", m), mode=mode)(m)
    np.testing.assert_array_equal(jac, [[[1, 0], [0, 0]], [[0, 0], [0, 1]]])
    # sum_ik (A B)_ik wrt A: dA_ij = sum_k B_jk
    b = np.array([[1.0, -1.0], [2.0, 0.5], [0.0, 3.0]])
    g = modes.grad(lambda a: np.sum(np.einsum("ij,jk->ik", a, b)), mode=mode)(A)
    np.testing.assert_array_equal(g, np.broadcast_to(b.sum(1), A.shape))
    # a label summed inside one operand: d/dx sum_ijk x_ijk y_i = y broadcast over j, k
    y = np.array([2.0, -3.0])
    g = modes.grad(lambda x: np.einsum("ijk,i->", x, y), mode=mode)(np.ones((2, 3, 2)))
    np.testing.assert_array_equal(g, np.broadcast_to(y[:, None, None], (2, 3, 2)))
    # a size-1 axis that broadcasts: its cotangent sums over the stretched axis
    g = modes.grad(lambda r: np.einsum("ij,ij->", r, A), mode=mode)(np.ones((1, 3)))
    np.testing.assert_array_equal(g, A.sum(0, keepdims=True))


@pytest.mark.parametrize("mode", MODES)
def test_building_hand_values(mode: str) -> None:
    w = np.array([1.0, 10.0, 100.0])
    # the gradient of <w, roll(x, 1)> is w rolled back
    np.testing.assert_array_equal(modes.grad(lambda x: w @ np.roll(x, 1), mode=mode)(X3),
                                  np.roll(w, -1))
    # repeated entries accumulate: each entry counts once per copy
    np.testing.assert_array_equal(
        modes.grad(lambda x: np.sum(np.repeat(x, [1, 0, 2])), mode=mode)(X3), [1.0, 0.0, 2.0])
    np.testing.assert_array_equal(
        modes.grad(lambda x: np.sum(np.tile(x, (2, 2))), mode=mode)(X3), [4.0, 4.0, 4.0])
    # reflect: [x2 x1 | x0 x1 x2 | x1 x0]
    np.testing.assert_array_equal(
        modes.grad(lambda x: np.sum(np.pad(x, 2, mode="reflect")), mode=mode)(X3), [2.0, 3.0, 2.0])
    np.testing.assert_array_equal(
        modes.grad(lambda x: np.sum(np.pad(x, (1, 3), mode="edge")), mode=mode)(X3), [2.0, 1.0, 4.0])
    # constant padding adds constants, which carry no derivative
    value, _ = modes.vjp(lambda x: np.pad(x, 1, constant_values=7.0), X3)
    np.testing.assert_array_equal(value, [7.0, 0.5, -1.0, 2.0, 7.0])
    np.testing.assert_array_equal(
        modes.grad(lambda x: np.sum(np.pad(x, 1, constant_values=7.0)), mode=mode)(X3), np.ones(3))
    # a diagonal built from a vector: zero off the diagonal, derivative one on it
    jac = modes.jacobian(lambda x: np.diag(x, 1), mode=mode)(X3[:2])
    expected = np.zeros((3, 3, 2))
    expected[0, 1, 0] = expected[1, 2, 1] = 1.0
    np.testing.assert_array_equal(jac, expected)
    # np.select: the first true condition wins
    g = modes.grad(lambda x: np.sum(np.select([x > 0, x > -5], [3 * x, x], 0.0)), mode=mode)(X3)
    np.testing.assert_array_equal(g, [3.0, 1.0, 3.0])
    # kron
    kv = np.kron(np.array([1.0, 2.0]), np.array([[1.0, 10.0]]))
    value, _ = modes.vjp(lambda a: np.kron(a, np.array([[1.0, 10.0]])), np.array([1.0, 2.0]))
    np.testing.assert_array_equal(value, kv)
    np.testing.assert_array_equal(
        modes.grad(lambda a: np.sum(np.kron(a, np.array([[1.0, 10.0]]))), mode=mode)(
            np.array([1.0, 2.0])), [11.0, 11.0])


@pytest.mark.parametrize("mode", MODES)
def test_split_returns_a_list_of_traced_pieces(mode: str) -> None:
    x = np.arange(6.0)

    def f(x):
        parts = np.split(x, [1, 4])
        assert isinstance(parts, list) and [np.shape(p) for p in parts] == [(1,), (3,), (2,)]
        return np.sum(parts[0]) + 2.0 * np.sum(parts[1]) + 3.0 * np.sum(parts[2])

    np.testing.assert_array_equal(modes.grad(f, mode=mode)(x), [1, 2, 2, 2, 3, 3])


@pytest.mark.parametrize("subscripts, shapes", [
    ("Ba,aC", [(2, 3), (3, 4)]), ("bA,Ab", [(2, 3), (3, 2)]), ("ji", [(2, 3)]), ("ii", [(3, 3)]),
    ("...ij,...jk", [(1, 2, 3), (2, 3, 4)]), ("i...,i...", [(2, 3, 4), (2, 4)]),
    ("...ii->...i", [(2, 3, 3)]), (" ij , jk -> ki ", [(2, 3), (3, 2)]), ("...,...", [(), (2,)]),
])
def test_einsum_normalised_subscripts_agree_with_numpy(subscripts: str, shapes: list) -> None:
    rng = np.random.default_rng(0)
    ops = [rng.normal(size=s) for s in shapes]
    explicit = normalize_subscripts(subscripts, shapes)
    assert "..." not in explicit and "->" in explicit
    np.testing.assert_allclose(np.einsum(explicit, *ops), np.einsum(subscripts, *ops), rtol=1e-14)


# ---- plain operands mixed with traced ones -------------------------------------------------------
@pytest.mark.parametrize("mode", MODES)
def test_plain_operands(mode: str) -> None:
    x = np.array([1.0, -2.0, 0.5])
    np.testing.assert_allclose(modes.jacobian(lambda x: np.einsum("ij,j->i", A, x), mode=mode)(x), A)
    jac = modes.jacobian(lambda a: np.einsum("ij,j->i", a, x), mode=mode)(A)
    np.testing.assert_allclose(jac, np.einsum("ik,j->ikj", np.eye(2), x))
    np.testing.assert_allclose(
        modes.jacobian(lambda x: np.tensordot(A, x, 1), mode=mode)(x), A)
    np.testing.assert_allclose(
        modes.jacobian(lambda x: np.einsum(A, [0, 1], x, [1], [0]), mode=mode)(x), A)
    # several plain operands around one traced
    g = modes.grad(lambda x: np.einsum("i,ij,j", X3, np.ones((3, 3)), x), mode=mode)(x)
    np.testing.assert_allclose(g, np.full(3, X3.sum()))
    # operands given as lists
    np.testing.assert_allclose(
        modes.grad(lambda x: np.einsum("i,i", [1.0, 2.0, 3.0], x), mode=mode)(x), [1.0, 2.0, 3.0])
    np.testing.assert_allclose(
        modes.grad(lambda x: np.sum(np.kron([1.0, 2.0], x)), mode=mode)(x), [3.0, 3.0, 3.0])
    np.testing.assert_allclose(
        modes.grad(lambda x: np.tensordot([1.0, 2.0, 3.0], x, 1), mode=mode)(x), [1.0, 2.0, 3.0])
    # the result with no traced operand at all is plain numpy
    assert isinstance(np.einsum("ij,j->i", A, x), np.ndarray)


# ---- errors --------------------------------------------------------------------------------------
def _traced_call(fn):
    return lambda: modes.grad(lambda x: np.sum(fn(x)))(np.ones((2, 3)))


@pytest.mark.parametrize("fn, error, match", [
    (lambda x: np.pad(x, 1, mode="mean"), modes.UnsupportedFunctionError, "np.pad with mode='mean'"),
    (lambda x: np.pad(x, 1, mode="linear_ramp"), modes.UnsupportedFunctionError, "constant, edge"),
    (lambda x: np.pad(x, 1, mode="reflect", reflect_type="odd"), modes.UnsupportedFunctionError,
     "reflect_type"),
    (lambda x: np.pad(x, 1, constant_values=x[0, 0]), TypeError, "constant_values"),
    (lambda x: np.einsum("ij,j->i", x, np.ones(3), out=np.empty(2)), modes.MutationError, "out="),
    (lambda x: np.einsum("ij,jk->ik", x), ValueError, "2 subscript terms"),
    (lambda x: np.einsum("ijk->i", x), ValueError, "does not match"),
    (lambda x: np.einsum("...j->j", x), ValueError, "ellipsis"),
    (lambda x: np.einsum("i%->i", x), ValueError, "invalid subscript"),
    (lambda x: np.tensordot(x, x, ([0, 1], [0])), ValueError, "np.tensordot"),
    (lambda x: np.split(x, 2, axis=1), ValueError, "equal division"),
    (lambda x: np.select([np.ones((2, 3), bool)], [x, x]), ValueError, "np.select: list of cases"),
    (lambda x: np.select([x], [x]), TypeError, "boolean"),
    (lambda x: np.meshgrid(x[0], indexing="xz"), ValueError, "indexing"),
    (lambda x: np.take(x, [0], out=np.empty(1)), modes.MutationError, "out="),
    (lambda x: np.vsplit(x[0], 3), ValueError, "vsplit"),
    (lambda x: np.fliplr(x[0]), ValueError, "2-d"),
])
def test_unsupported_options_raise(fn, error, match) -> None:
    with pytest.raises(error, match=match):
        _traced_call(fn)()


@pytest.mark.parametrize("mode", MODES)
def test_traced_default_of_select(mode: str) -> None:
    # numpy dispatches np.select on condlist and choicelist only; a traced default goes through
    # numpy's own np.asarray(default), which needs the lifting of traced values into arrays.
    g = modes.grad(lambda x: np.sum(np.select([X3 > 0], [X3], x)), mode=mode)(np.ones(3))
    np.testing.assert_array_equal(g, [0.0, 1.0, 0.0])


# ---- adjoint identity on random einsums -----------------------------------------------------------
def _random_einsum(rng: np.random.Generator) -> tuple[str, list[tuple[int, ...]]]:
    labels = "abcd"
    sizes = dict(zip(labels, rng.integers(1, 4, size=4)))
    terms = []
    for _ in range(int(rng.integers(1, 4))):
        terms.append("".join(rng.choice(list(labels), size=int(rng.integers(0, 4)))))
    used = sorted(set("".join(terms)))
    out = "".join(rng.permutation(used)[: int(rng.integers(0, len(used) + 1))]) if used else ""
    subscripts = ",".join(terms) + ("" if rng.random() < 0.2 else "->" + out)
    return subscripts, [tuple(int(sizes[c]) for c in t) for t in terms]


@pytest.mark.parametrize("seed", range(40))
def test_einsum_adjoint_identity(seed: int) -> None:
    rng = np.random.default_rng(seed)
    subscripts, shapes = _random_einsum(rng)
    args = [rng.normal(size=s) for s in shapes]
    dirs = [rng.normal(size=s) for s in shapes]

    def f(*ops):
        return np.einsum(subscripts, *ops)

    value, t_out = modes.jvp(f, tuple(args), tuple(dirs))
    np.testing.assert_allclose(value, np.einsum(subscripts, *args), rtol=1e-12, atol=1e-12)
    u = rng.normal(size=np.shape(value))
    _, pullback = modes.vjp(f, *args)
    bars = pullback(u)
    lhs = sum(float(np.sum(b * d)) for b, d in zip(bars, dirs))
    rhs = float(np.sum(u * t_out))
    assert np.isclose(lhs, rhs, rtol=1e-10, atol=1e-10), (subscripts, shapes, lhs, rhs)
    # the forward tangent is the derivative of f itself
    eps = 1e-6
    fd = (np.einsum(subscripts, *[a + eps * d for a, d in zip(args, dirs)])
          - np.einsum(subscripts, *[a - eps * d for a, d in zip(args, dirs)])) / (2 * eps)
    np.testing.assert_allclose(t_out, fd, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("mode", MODES)
def test_einsum_batched_pullback_and_chunked_jacobian(mode: str) -> None:
    rng = np.random.default_rng(1)
    a, b = rng.normal(size=(2, 3, 3)), rng.normal(size=(3, 2))
    f = lambda a, b: np.einsum("...ii,ij->...j", a, b)  # noqa: E731
    jac_a = modes.jacobian(f, 0, mode=mode, chunk_size=4)(a, b)
    jac_b = modes.jacobian(f, 1, mode=mode, chunk_size=4)(a, b)
    # f[p, j] = sum_i a[p, i, i] b[i, j]
    expected_a = np.einsum("pq,xy,xj->pjqxy", np.eye(2), np.eye(3), b)
    expected_b = np.einsum("pii,jk->pjik", a, np.eye(2))
    np.testing.assert_allclose(jac_a, expected_a, rtol=1e-14, atol=1e-14)
    np.testing.assert_allclose(jac_b, expected_b, rtol=1e-14, atol=1e-14)
    # k cotangents pulled back in one sweep
    _, pullback = modes.vjp(f, a, b)
    u = rng.normal(size=(4, 2, 2))
    bar_a, bar_b = pullback(u, batched=True)
    np.testing.assert_allclose(bar_a, np.einsum("kpj,pjqxy->kqxy", u, expected_a), atol=1e-13)
    np.testing.assert_allclose(bar_b, np.einsum("kpj,pjil->kil", u, expected_b), atol=1e-13)


def test_the_package_binds_building_functions() -> None:
    """``import modes`` alone makes np.roll & co. traceable (building.py is imported by the package)."""
    code = ("import numpy as np, modes\n"
            "from modes.tracing import FUNCTION_HANDLERS as F\n"
            "assert np.roll in F and np.pad in F and np.einsum in F, 'building.py is not imported'\n")
    root = Path(__file__).resolve().parents[1]
    subprocess.run([sys.executable, "-c", code], cwd=root, check=True)
