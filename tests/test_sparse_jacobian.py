"""Sparse Jacobians and Hessians by colouring (``modes.sparse_jacobian``, ``modes.sparsity``).

Coloured Jacobians equal dense ones (to rounding) on banded, arrow, block-diagonal, bundle-
adjustment and random sparse structures (random gathers and masks), in every mode; the detected
pattern contains every nonzero of dense Jacobians at random points (conservative); a few values
are written out by hand; a missing scipy is a clear error naming the extra.
"""

from __future__ import annotations

import sys
from typing import Any

import numpy as np
import pytest

import modes
from modes import colouring as C
from modes import sparse_jacobian as SJ
from modes.sparsity import SCIPY_MISSING, jacobian_sparsity

sp = pytest.importorskip("scipy.sparse")

MODES = ("forward", "reverse", "auto")


def dense_jac(f: Any, x: np.ndarray) -> np.ndarray:
    J = modes.jacobian(f, mode="reverse")(x)
    return np.reshape(J, (-1, np.size(x)))


def close(J: Any, D: np.ndarray) -> None:
    assert isinstance(J, sp.csr_array)
    assert J.shape == D.shape
    np.testing.assert_allclose(J.toarray(), D, rtol=1e-12, atol=1e-12 * max(1.0, np.abs(D).max()))


# ---- problems ----------------------------------------------------------------------------------------------
def tridiagonal(x: Any) -> Any:
    """A discretised -u'' + u^3 with boundary rows."""
    inner = -x[:-2] + 2 * x[1:-1] - x[2:] + x[1:-1] ** 3
    return np.concatenate([x[:1] - 1.0, inner, x[-1:] ** 2])


def pentadiagonal(x: Any) -> Any:
    pad = np.concatenate([np.zeros(2), x, np.zeros(2)])
    return np.sin(pad[:-4]) * pad[1:-3] + pad[2:-2] ** 2 - np.exp(pad[3:-1] * 0.1) * pad[4:]


def arrowhead(x: Any) -> Any:
    """Dense first row and first column, diagonal elsewhere."""
    rest = np.tanh(x[1:]) * x[0] + x[1:] ** 2
    return np.concatenate([np.sum(x * x, keepdims=True), rest])


def column_arrow(x: Any) -> Any:
    """Every output reads x_0: the columns colour with 2, the rows need n."""
    return x ** 2 + np.sin(x[0])


def row_arrow(x: Any) -> Any:
    """One output reads every input: the rows colour with 2, the columns need n."""
    return np.concatenate([np.exp(x[:-1]), np.sum(x, keepdims=True)])


BLOCKS = np.random.default_rng(7).normal(size=(6, 3, 3))


def block_diagonal(x: Any) -> Any:
    z = np.reshape(x, (6, 3, 1))
    return np.ravel(np.tanh(BLOCKS @ z) + z * z)


def block_einsum(x: Any) -> Any:
    z = np.reshape(x, (6, 3))
    return np.ravel(np.einsum("bij,bj->bi", BLOCKS, np.sin(z)) * z[:, ::-1])


PROBLEMS = {
    "tridiagonal": (tridiagonal, 12), "pentadiagonal": (pentadiagonal, 13), "arrowhead": (arrowhead, 9),
    "column_arrow": (column_arrow, 10), "row_arrow": (row_arrow, 10),
    "block_diagonal": (block_diagonal, 18), "block_einsum": (block_einsum, 18),
}


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("name", sorted(PROBLEMS))
def test_coloured_equals_dense(name: str, mode: str) -> None:
    f, n = PROBLEMS[name]
    x = np.random.default_rng(len(name)).uniform(-1, 1, n)
    close(modes.jacobian(f, sparse=True, mode=mode)(x), dense_jac(f, x))
    close(SJ.jacobian(f, mode=mode, chunk_size=1)(x), dense_jac(f, x))  # one pass per colour


@pytest.mark.parametrize("name", sorted(PROBLEMS))
def test_colours_of_the_structured_problems(name: str) -> None:
    f, n = PROBLEMS[name]
    x = np.random.default_rng(1).uniform(-1, 1, n)
    plan = SJ.ColouredJacobian.detect(f, x, mode="auto")
    plan_f = SJ.ColouredJacobian.detect(f, x, mode="forward")
    plan_r = SJ.ColouredJacobian.detect(f, x, mode="reverse")
    want = {  # (column colours, row colours), counted by hand
        "tridiagonal": (3, 3), "pentadiagonal": (5, 5), "arrowhead": (n, n), "column_arrow": (2, n),
        "row_arrow": (n, 2), "block_diagonal": (3, 3), "block_einsum": (3, 3),
    }[name]
    assert (plan_f.n_column_colours, plan_r.n_row_colours) == want
    assert plan_f.n_column_colours >= plan_f.column_bound and plan_r.n_row_colours >= plan_r.row_bound
    assert plan.mode == SJ.choose_mode(want[0], want[1])
    assert plan.directions == (want[0] if plan.mode == "forward" else want[1])


def test_auto_picks_the_direction_with_fewer_passes() -> None:
    x = np.linspace(0.1, 1.0, 300)
    assert SJ.ColouredJacobian.detect(column_arrow, x).mode == "forward"   # 2 directions vs 300 sweeps
    assert SJ.ColouredJacobian.detect(row_arrow, x).mode == "reverse"      # 300 directions vs 2 sweeps
    assert SJ.choose_mode(3, 3) == modes.cost_model.choose_mode(3, 3)


def test_hand_computed_values() -> None:
    def f(x: Any) -> Any:
        return np.stack([x[0] * x[1], x[1] ** 2, np.sin(x[2]), 3.0 * x[0]])

    x = np.array([2.0, -1.0, 0.5])
    for mode in MODES:
        J = modes.jacobian(f, sparse=True, mode=mode)(x)
        assert J.nnz == 5
        assert J[0, 0] == -1.0 and J[0, 1] == 2.0 and J[1, 1] == -2.0
        assert J[2, 2] == np.cos(0.5) and J[3, 0] == 3.0
        assert J[1, 0] == 0.0 and J[3, 2] == 0.0


# ---- random sparse structures ---------------------------------------------------------------------------------
def random_structure(seed: int) -> tuple[Any, int, int]:
    """f: R^n -> R^m whose outputs each read a few random inputs (gathers), combined elementwise,
    through a random mask (an elementwise product with constants), a gathered sum and a scatter."""
    rng = np.random.default_rng(seed)
    n, m = int(rng.integers(4, 30)), int(rng.integers(3, 30))
    k = int(rng.integers(1, 4))
    picks = rng.integers(0, n, (k, m))
    mask = (rng.random(m) < 0.7).astype(float)
    groups = rng.integers(0, m, n)
    weights = rng.uniform(0.5, 1.5, m)

    def f(x: Any) -> Any:
        out = np.sin(x[picks[0]]) * weights
        for row in picks[1:]:
            out = out * np.cos(x[row]) + x[row] ** 2
        out = out * mask + 0.1 * x[picks[-1]]
        onehot = (groups[None, :] == np.arange(m)[:, None]).astype(float)   # (m, n) constant
        return out + onehot @ np.tanh(x) * 0.5

    return f, n, m


@pytest.mark.parametrize("seed", range(25))
def test_random_structures_coloured_equal_dense(seed: int) -> None:
    f, n, m = random_structure(seed)
    x = np.random.default_rng(seed + 1000).uniform(-1, 1, n)
    D = dense_jac(f, x)
    for mode in MODES:
        close(SJ.jacobian(f, mode=mode)(x), D)
    plan = SJ.ColouredJacobian.detect(f, x, mode="forward")
    assert C.is_column_colouring(plan.pattern, plan.column_colours)
    assert C.is_row_colouring(plan.pattern, SJ.ColouredJacobian.detect(f, x, mode="reverse").row_colours)


def contains(pattern: Any, J: np.ndarray) -> bool:
    return not np.any((J != 0) & ~pattern.toarray())


@pytest.mark.parametrize("seed", range(25))
def test_pattern_is_conservative_at_random_points(seed: int) -> None:
    f, n, m = random_structure(seed)
    rng = np.random.default_rng(seed)
    P = jacobian_sparsity(f)(rng.uniform(-1, 1, n))
    assert P.shape == (m, n) and P.dtype == bool
    for _ in range(3):
        assert contains(P, dense_jac(f, rng.uniform(-2, 2, n)))


def many_operations(x: Any) -> Any:
    """Structural primitives of every kind the pattern rules know, and some they do not."""
    a = np.reshape(x, (3, 4))
    b = np.transpose(a)[::-1]                              # transpose, reversed slice
    c = np.cumsum(a, axis=1) * np.max(a, axis=0)           # cumsum, max (ties shared), broadcast
    d = np.where(a > 0, a ** 2, np.exp(a))                 # both branches
    e = np.maximum(a, a[:, ::-1])
    f_ = np.concatenate([np.ravel(b[1:]), np.ravel(c), np.ravel(d * e)])
    g = np.pad(np.prod(a, axis=1), 1) + np.roll(x[:5], 2)
    h = np.linalg.solve(np.eye(2) + 0.1 * np.reshape(x[:4], (2, 2)), x[4:6])  # dense rule
    i = np.convolve(x[:4], x[8:11]) + np.sum(np.sqrt(x[6:8] ** 2 + 1.0))
    return np.concatenate([f_, g, h, i, np.linalg.norm(a, axis=0), np.take(x, [3, 3, 1]) * x[0]])


def test_pattern_of_many_operations_is_conservative() -> None:
    rng = np.random.default_rng(5)
    P = jacobian_sparsity(many_operations)(rng.uniform(-1, 1, 12))
    for _ in range(5):
        x = rng.uniform(-2, 2, 12)
        J = dense_jac(many_operations, x)
        assert contains(P, J)
        for mode in MODES:
            close(SJ.jacobian(many_operations, mode=mode)(x), J)
    assert P.nnz < P.shape[0] * P.shape[1]  # and not simply dense


def test_data_dependent_zeros_stay_structural() -> None:
    def f(x: Any) -> Any:
        return np.concatenate([x[:1] * x[1:2], np.maximum(x[2:3], x[3:4])])

    x = np.array([2.0, 0.0, 5.0, -1.0])  # d(x0 x1)/dx0 = x1 = 0; maximum picks x2 alone
    P = jacobian_sparsity(f)(x).toarray()
    assert P.tolist() == [[True, True, False, False], [False, False, True, True]]
    J = modes.jacobian(f, sparse=True)(x)
    assert J.nnz == 4 and J[0, 0] == 0.0 and J[1, 3] == 0.0  # stored, zero here


def test_constant_zeros_in_a_product_are_respected() -> None:
    A = np.diag(np.ones(5)) + np.diag(np.ones(4), 1)
    P = jacobian_sparsity(lambda x: A @ np.sin(x))(np.ones(5))
    assert np.array_equal(P.toarray(), A != 0)


def test_branches_are_taken_at_the_point() -> None:
    def f(x: Any) -> Any:
        return x * x[0] if modes.plain(x[0]) > 0 else x * 2.0

    assert jacobian_sparsity(f)(np.ones(3)).nnz == 5
    assert jacobian_sparsity(f)(-np.ones(3)).nnz == 3


# ---- the bundle-adjustment problem -----------------------------------------------------------------------
def test_bundle_adjustment_matches_dense_and_its_known_structure() -> None:
    from experiments.adbench import ba

    inp = ba.random_instance(3, 8, 24)
    v = ba._flat(inp)

    def f(v: Any) -> Any:
        return ba._all_residuals(v, inp)

    D = dense_jac(f, v)
    rows, cols = ba._pattern(inp)
    known = sp.csr_array((np.ones(cols.size, dtype=bool), cols, rows), shape=D.shape).toarray()
    P = jacobian_sparsity(f)(v).toarray()
    assert not np.any(P & ~known)            # within ADBench's structure...
    assert not np.any((D != 0) & ~P)         # ...and containing every nonzero
    for mode in MODES:
        close(modes.jacobian(f, sparse=True, mode=mode)(v), D)
    plan = SJ.ColouredJacobian.detect(f, v)
    assert plan.mode == "forward" and plan.n_column_colours == plan.column_bound == 14


# ---- reuse, containers, options --------------------------------------------------------------------------------
@pytest.mark.parametrize("mode", ["forward", "reverse"])
def test_a_plan_evaluates_at_other_points(mode: str) -> None:
    x = np.linspace(-1, 1, 11)
    plan = SJ.ColouredJacobian.detect(pentadiagonal, x, mode=mode)
    for y in (x * 2, np.cos(x)):
        close(plan(y), dense_jac(pentadiagonal, y))
    assert "5 colours" in repr(plan)
    with pytest.raises(ValueError, match="11 inputs"):
        plan(np.ones(4))


def test_containers_kwargs_aux_and_argnum() -> None:
    def f(p: Any, scale: float = 1.0) -> Any:
        out = {"u": p["a"] * p["b"], "v": np.sin(p["a"]) * scale}
        return out, {"total": np.sum(p["a"])}

    params = {"a": np.array([0.5, 1.0, 2.0]), "b": np.array([1.0, -2.0, 3.0])}
    for mode in MODES:
        J, aux = modes.jacobian(f, sparse=True, mode=mode, has_aux=True)(params, scale=2.0)
        want = np.zeros((6, 6))
        want[[0, 1, 2], [0, 1, 2]] = params["b"]
        want[[0, 1, 2], [3, 4, 5]] = params["a"]
        want[[3, 4, 5], [0, 1, 2]] = 2.0 * np.cos(params["a"])
        close(J, want)
        assert aux["total"] == 3.5 and not isinstance(aux["total"], modes.Var)

    def g(x: Any, y: Any) -> Any:
        return x * y[::-1]

    x, y = np.array([1.0, 2.0]), np.array([3.0, 4.0])
    J = SJ.jacobian(g, argnum=(0, 1))(x, y)
    close(J, np.array([[4.0, 0.0, 0.0, 1.0], [0.0, 3.0, 2.0, 0.0]]))
    close(SJ.jacobian(g, argnum=1)(x, y), np.array([[0.0, 1.0], [2.0, 0.0]]))


def test_dtype_scalars_and_degenerate_functions() -> None:
    x32 = np.linspace(0.1, 1, 5, dtype=np.float32)
    J = SJ.jacobian(tridiagonal, mode="forward")(x32)
    assert J.dtype == np.float32
    J = SJ.jacobian(lambda x: np.sin(x) * 2.0)(0.3)
    assert J.shape == (1, 1) and J[0, 0] == pytest.approx(2 * np.cos(0.3))
    for mode in MODES:
        J = SJ.jacobian(lambda x: np.ones(3), mode=mode)(np.ones(4))   # constant: no dependency
        assert J.shape == (3, 4) and J.nnz == 0
        J = SJ.jacobian(lambda x: x, mode=mode)(np.ones(4))            # the identity
        close(J, np.eye(4))


def test_nan_and_inf_stay_local() -> None:
    x = np.array([0.0, 1.0, 4.0])
    for mode in MODES:
        with np.errstate(divide="ignore"):  # sqrt's partial at 0
            J = SJ.jacobian(lambda x: np.sqrt(x) * 2.0, mode=mode)(x)
        assert J[0, 0] == np.inf and J[1, 1] == 1.0 and J[2, 2] == 0.5


def test_bad_arguments_are_named() -> None:
    with pytest.raises(ValueError, match="mode='sideways'"):
        SJ.jacobian(tridiagonal, mode="sideways")
    with pytest.raises(ValueError, match="chunk_size"):
        SJ.jacobian(tridiagonal, chunk_size=0)
    with pytest.raises(TypeError, match="cannot carry derivatives.*sparse=False"):
        modes.grad(lambda x: SJ.jacobian(tridiagonal)(x).sum())(np.ones(4))
    for outer in ("forward", "reverse"):  # a closure over the enclosing transformation's input
        with pytest.raises(TypeError, match="jacobian.*cannot carry derivatives"):
            modes.grad(lambda a: modes.jacobian(lambda x: a * x, sparse=True)(np.ones(3)).sum(),
                       mode=outer)(1.0)
        with pytest.raises(TypeError, match="hessian.*cannot carry derivatives"):
            modes.grad(lambda a: modes.hessian(lambda x: np.sum(a * x ** 3), sparse=True)(np.ones(3)).sum(),
                       mode=outer)(1.0)


# ---- Hessians ------------------------------------------------------------------------------------------------
def rosenbrock(x: Any) -> Any:
    return np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)


def arrow_objective(x: Any) -> Any:
    return x[0] * np.sum(np.sin(x)) + np.sum(x ** 4)


def block_objective(x: Any) -> Any:
    z = np.reshape(x, (4, 3))
    return np.sum(np.exp(np.sum(z, axis=1) * 0.3)) + np.sum(z ** 3)


@pytest.mark.parametrize("mode", SJ.HESSIAN_MODES)
@pytest.mark.parametrize("f", [rosenbrock, arrow_objective, block_objective], ids=lambda f: f.__name__)
def test_sparse_hessians_equal_dense(f: Any, mode: str) -> None:
    x = np.random.default_rng(3).uniform(-1, 1, 12)
    H = modes.hessian(f)(x)
    Hs = modes.hessian(f, sparse=True, mode=mode)(x)
    close(Hs, H)
    assert (Hs != Hs.T).nnz == 0  # exactly symmetric


def test_inputs_the_gradient_never_reads_need_no_seed() -> None:
    def f(x: Any) -> Any:
        return np.sum(x[:3] ** 3) + x[0] * x[1] + 2.0 * x[4]   # x3..x5 enter linearly or not at all

    plan = SJ.ColouredHessian.detect(f, np.ones(6))
    assert plan.colours.tolist()[3:] == [-1, -1, -1] and plan.n_colours == 2
    x = np.arange(6.0)
    for mode in SJ.HESSIAN_MODES:
        close(modes.hessian(f, sparse=True, mode=mode)(x), modes.hessian(f)(x))
    assert SJ.ColouredHessian.detect(np.sum, np.ones(4)).n_colours == 0
    assert modes.hessian(np.sum, sparse=True)(np.ones(4)).nnz == 0


def test_star_colouring_pays_on_hessians() -> None:
    x = np.linspace(-1, 1, 20)
    arrow = SJ.ColouredHessian.detect(arrow_objective, x)
    assert arrow.n_colours == 2 and arrow.n_column_colours == 20   # a star graph
    rosen = SJ.ColouredHessian.detect(rosenbrock, x)
    assert rosen.n_colours == 3                                    # tridiagonal
    assert C.is_star_colouring(arrow.pattern, arrow.colours)
    y = np.cos(x)
    close(arrow(y), modes.hessian(arrow_objective)(y))
    for mode in SJ.HESSIAN_MODES:
        plan = SJ.ColouredHessian.detect(rosenbrock, x, mode=mode)
        close(plan(y), modes.hessian(rosenbrock)(y))


# ---- scipy missing ------------------------------------------------------------------------------------------
def test_missing_scipy_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "scipy", None)
    monkeypatch.setitem(sys.modules, "scipy.sparse", None)
    for call in (lambda: modes.jacobian(tridiagonal, sparse=True)(np.ones(4)),
                 lambda: SJ.jacobian(tridiagonal, mode="reverse")(np.ones(4)),
                 lambda: jacobian_sparsity(tridiagonal)(np.ones(4)),
                 lambda: modes.hessian(rosenbrock, sparse=True)(np.ones(4))):
        with pytest.raises(ImportError) as err:
            call()
        assert 'pip install -e ".[scipy]"' in str(err.value)
    assert "[scipy]" in SCIPY_MISSING
    # the dense paths do not need it
    assert modes.jacobian(tridiagonal)(np.ones(4)).shape == (4, 4)


# ---- the experiment ---------------------------------------------------------------------------------------
def test_the_experiments_hand_written_jacobians() -> None:
    from experiments.suite import sparse_jacobian as E

    for name in E.PROBLEMS:
        p = E.make(name, 12 if name == "ba" else 16)
        want = p.jac(p.x0).toarray()
        np.testing.assert_allclose(dense_jac(p.f, p.x0), want, rtol=1e-12, atol=1e-12 * np.abs(want).max())


def test_the_experiment_runs_and_reports(tmp_path: Any) -> None:
    pytest.importorskip("pandas")
    pytest.importorskip("matplotlib")
    from experiments import machine
    from experiments.runner import PROFILES, Context
    from experiments.store import load_csv
    from experiments.suite import sparse_jacobian as E
    from experiments.suite import sparse_jacobian_report as R

    info = machine.describe()
    machine.record(tmp_path, info)
    E.run(Context(tmp_path, PROFILES["tiny"], info))
    rows = load_csv(tmp_path / f"{E.NAME}.csv")
    assert set(rows["status"]) == {"ok"}
    assert set(rows["method"]) == {"f", "detect", *E.METHODS}
    text = R.section(tmp_path)
    assert text.startswith("## Sparse Jacobians by colouring")
    assert "| tridiagonal | 16 | 16 | 46 | 3 / 3 | 3 / 3 | forward |" in text
    assert "| column_arrow | 16 | 16 | 31 | 2 / 2 | 16 / 16 | forward |" in text
    assert (tmp_path / R.FIGURE).exists()
