"""Batched rules: a batch of tangents or cotangents through matmul, solve, einsum and the products
built on them gives, row by row, what one unbatched sweep gives, and agrees with forward mode and
finite differences.

The batched products fold the batch into one BLAS call (``linalg.mm``, ``decompositions._solves``,
the rules' einsum path), so these tests compare them with plain numpy on every shape combination
and through the public API. Values and shapes only: speed lives in
``experiments/suite/batched_reverse.py``.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import modes
from conftest import assert_close_fd, assert_modes_agree, numerical_directional, numerical_jacobian
from modes.primitives import contractions, decompositions, linalg
from modes.primitives.bind import REGISTRY


def _draw(rng: np.random.Generator, shape: tuple[int, ...], complex_: bool = False) -> np.ndarray:
    x = rng.standard_normal(shape)
    return x + 1j * rng.standard_normal(shape) if complex_ else x


# ---- mm is np.matmul (summed where asked) --------------------------------------------------------
# (x shape, y shape): vectors, matrices, stacks on one side or both, broadcast stacks, empty axes,
# thin and wide right-hand sides (the transposed product is taken for thin ones).
MM_SHAPES = [
    ((4,), (4,)), ((4,), (4, 3)), ((3, 4), (4,)), ((3, 4), (4, 2)),
    ((5, 3, 4), (4, 2)), ((5, 1, 4), (4, 3)), ((5, 3, 4), (4,)), ((4,), (5, 4, 3)),
    ((3, 4), (5, 4, 2)), ((40, 4), (5, 4, 2)), ((40, 4), (5, 4, 1)), ((1, 40, 4), (2, 5, 4, 1)),
    ((2, 1, 3, 4), (1, 5, 4, 2)), ((2, 5, 3, 4), (5, 4, 2)), ((2, 5, 3, 4), (2, 1, 4, 2)),
    ((6, 2, 1, 3, 4), (2, 5, 4, 2)), ((0, 3, 4), (4, 2)), ((3, 0), (2, 0, 4)),
    ((2, 3, 4), (2, 4, 0)), ((1, 1, 3, 4), (4, 2)), ((1, 5, 3, 4), (2, 5, 4, 2)),
]


@pytest.mark.parametrize("complex_", [False, True], ids=["real", "complex"])
@pytest.mark.parametrize("xs,ys", MM_SHAPES, ids=[f"{x}@{y}" for x, y in MM_SHAPES])
def test_mm_is_numpy_matmul(rng: np.random.Generator, xs: tuple, ys: tuple, complex_: bool) -> None:
    x, y = _draw(rng, xs, complex_), _draw(rng, ys)
    want = np.matmul(x, y)
    got = linalg.mm(x, y)
    assert got.shape == want.shape and got.dtype == want.dtype
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("xs,ys", [s for s in MM_SHAPES if len(s[0]) > 1 and len(s[1]) > 1
                                   and max(len(s[0]), len(s[1])) > 2])
def test_mm_sums_over_the_stack_axes_to_drops(rng: np.random.Generator, xs: tuple, ys: tuple) -> None:
    x, y = _draw(rng, xs, True), _draw(rng, ys)
    full = np.matmul(x, y)
    stack = full.shape[:-2]
    for keep in itertools.product([False, True], repeat=len(stack)):
        to = tuple(n if k else 1 for n, k in zip(stack, keep))
        axes = tuple(i for i, k in enumerate(keep) if not k)
        want = np.sum(full, axis=axes, keepdims=True)
        got = linalg.mm(x, y, to=to)
        assert got.shape == want.shape, (to, got.shape, want.shape)
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12, err_msg=str(to))


def test_mm_shape_errors_are_numpys() -> None:
    for xs, ys in [((2, 3, 4), (5, 2)), ((2, 3, 4), (3, 4, 2)), ((3,), (2, 4, 1))]:
        with pytest.raises(ValueError) as want:
            np.matmul(np.ones(xs), np.ones(ys))
        with pytest.raises(ValueError) as got:
            linalg.mm(np.ones(xs), np.ones(ys))
        assert str(got.value) == str(want.value)


# ---- the matmul rules with 0, 1 and 2 batch axes, called directly --------------------------------
# (a shape, b shape) of every kind numpy's matmul takes.
MATMUL_SHAPES = [
    ("vector@vector", (4,), (4,)), ("vector@matrix", (4,), (4, 3)),
    ("matrix@vector", (3, 4), (4,)), ("matrix@matrix", (3, 4), (4, 2)),
    ("stacked@matrix", (2, 3, 4), (4, 2)), ("matrix@stacked", (3, 4), (2, 4, 2)),
    ("stacked@vector", (2, 3, 4), (4,)), ("vector@stacked", (4,), (2, 4, 3)),
    ("stacked@stacked", (2, 3, 4), (2, 4, 2)), ("broadcast stacks", (2, 1, 3, 4), (1, 2, 4, 2)),
    ("a broadcast over b's stack", (1, 3, 4), (2, 4, 1)), ("tall@thin", (20, 4), (3, 4, 1)),
]
BATCHES = [(), (3,), (2, 3)]


def _linear_map(apply: Callable[[np.ndarray], np.ndarray], in_shape: tuple, dtype: Any) -> np.ndarray:
    """The dense matrix (out size, in size) of a linear map, column by column, by plain numpy."""
    cols = []
    for k in range(int(np.prod(in_shape))):
        e = np.zeros(int(np.prod(in_shape)), dtype=dtype)
        e[k] = 1
        cols.append(np.ravel(apply(e.reshape(in_shape))))
    return np.stack(cols, axis=1)


@pytest.mark.parametrize("complex_", [False, True], ids=["real", "complex"])
@pytest.mark.parametrize("batch", BATCHES, ids=lambda b: f"batch{b}")
@pytest.mark.parametrize("label,sa,sb", MATMUL_SHAPES, ids=[c[0] for c in MATMUL_SHAPES])
def test_matmul_rules_with_batch_axes(rng: np.random.Generator, label: str, sa: tuple, sb: tuple,
                                      batch: tuple, complex_: bool) -> None:
    """jvp_i(g)[k] is the derivative d(a @ b) in direction g[k]; vjp_i(u)[k] is the transpose of
    that linear map applied to u[k] (bilinear: no conjugation), for every batch index k."""
    prim = REGISTRY["matmul"]
    a, b = _draw(rng, sa, complex_), _draw(rng, sb, complex_)
    ans = np.matmul(a, b)
    dtype = ans.dtype
    for i, shape in enumerate((sa, sb)):
        partial = (lambda d: np.matmul(d, b)) if i == 0 else (lambda d: np.matmul(a, d))
        jac = _linear_map(partial, shape, dtype)
        g = _draw(rng, batch + shape, complex_)
        t = prim.jvp[i](g, ans, a, b)
        assert t.shape == batch + ans.shape, (label, i)
        u = _draw(rng, batch + ans.shape, complex_)
        bar = prim.vjp[i](u, ans, a, b)
        assert bar.shape == batch + shape, (label, i)
        for k in np.ndindex(batch):
            np.testing.assert_allclose(np.ravel(t[k]), jac @ np.ravel(g[k]), rtol=1e-12, atol=1e-12)
            np.testing.assert_allclose(np.ravel(bar[k]), jac.T @ np.ravel(u[k]), rtol=1e-12,
                                       atol=1e-12)
            # one batch entry alone (no batch axes) gives the same as inside the batch
            np.testing.assert_allclose(prim.vjp[i](u[k], ans, a, b), bar[k], rtol=1e-12, atol=1e-12)
            np.testing.assert_allclose(prim.jvp[i](g[k], ans, a, b), t[k], rtol=1e-12, atol=1e-12)


# ---- through the public API: batched reverse == per-row sweeps == forward == finite differences --
def _per_row(f: Callable[..., Any], args: tuple, argnum: int) -> np.ndarray:
    """The Jacobian one reverse sweep per output entry (unbatched pullbacks)."""
    value, pullback = modes.vjp(f, *args)
    out_shape = np.shape(value)
    rows = []
    for k in range(int(np.prod(out_shape))):
        e = np.zeros(int(np.prod(out_shape)))
        e[k] = 1.0
        rows.append(np.asarray(pullback(e.reshape(out_shape))[argnum]))
    return np.stack(rows).reshape(out_shape + np.shape(args[argnum]))


def _batched_pullback(f: Callable[..., Any], args: tuple, argnum: int) -> np.ndarray:
    """The Jacobian by one batched pullback of every basis cotangent at once."""
    value, pullback = modes.vjp(f, *args)
    out_shape = np.shape(value)
    m = int(np.prod(out_shape))
    bars = pullback(np.eye(m).reshape((m,) + out_shape), batched=True)[argnum]
    return np.asarray(bars).reshape(out_shape + np.shape(args[argnum]))


def check_all_agree(f: Callable[..., Any], args: tuple, argnum: int, rtol: float = 1e-6,
                    fd_directions: int | None = None) -> None:
    """Reverse (one sweep, chunks of 3 rows, a batched pullback, one row per sweep), forward
    (chunked, chunks of 2) and central differences give one Jacobian of shape out + arg
    (``fd_directions``: differences along that many random directions instead of every input)."""
    out_shape = np.shape(f(*args))
    want_shape = out_shape + np.shape(args[argnum])
    m = max(1, int(np.prod(out_shape)))
    reverse = np.asarray(modes.jacobian(f, argnum, mode="reverse", chunk_size=m)(*args))
    assert reverse.shape == want_shape
    results = {
        "reverse, chunks of 3": modes.jacobian(f, argnum, mode="reverse", chunk_size=3)(*args),
        "reverse, default chunk": modes.jacobian(f, argnum, mode="reverse")(*args),
        "batched pullback": _batched_pullback(f, args, argnum),
        "one sweep per row": _per_row(f, args, argnum),
        "forward": modes.jacobian(f, argnum, mode="forward")(*args),
        "forward, chunks of 2": modes.jacobian(f, argnum, mode="forward", chunk_size=2)(*args),
    }
    for what, jac in results.items():
        assert_modes_agree(jac, reverse, what=what)
    if fd_directions is None:
        assert_close_fd(reverse, numerical_jacobian(f, args, argnum), rtol=rtol,
                        what="finite differences")
        return
    rng = np.random.default_rng(0)
    x = args[argnum]
    for _ in range(fd_directions):
        v = rng.standard_normal(np.shape(x))
        dirs = [np.zeros(np.shape(a)) for a in args]
        dirs[argnum] = v
        want = numerical_directional(f, args, dirs)
        got = np.tensordot(reverse, v, axes=np.ndim(x))
        assert_close_fd(got, want, rtol=rtol, what="finite differences along a direction")


@pytest.mark.parametrize("argnum", [0, 1])
@pytest.mark.parametrize("label,sa,sb", MATMUL_SHAPES, ids=[c[0] for c in MATMUL_SHAPES])
def test_matmul_jacobians_agree(rng: np.random.Generator, label: str, sa: tuple, sb: tuple,
                                argnum: int) -> None:
    a, b = rng.standard_normal(sa), rng.standard_normal(sb)
    check_all_agree(lambda a, b: np.tanh(np.matmul(a, b)), (a, b), argnum)


def test_tanh_affine_batched_reverse_is_forward(rng: np.random.Generator) -> None:
    """The benchmark's function, small: the batch of m cotangent rows goes through one product."""
    a = rng.standard_normal((48, 40)) / 7
    x = rng.standard_normal(40)
    check_all_agree(lambda x: np.tanh(a @ x), (x,), 0)


@pytest.mark.parametrize("name,fn,sa,sb", [
    ("dot matrix", np.dot, (3, 4), (4, 2)), ("dot 3-D", np.dot, (2, 3, 4), (5, 4, 2)),
    ("inner", np.inner, (3, 4), (2, 4)), ("vdot", np.vdot, (3, 4), (12,)),
    ("outer", np.outer, (3,), (2, 2)), ("tensordot", lambda a, b: np.tensordot(a, b, axes=2),
                                        (2, 3, 4), (3, 4, 5)),
    ("kron", np.kron, (2, 2), (3, 1)),
])
@pytest.mark.parametrize("argnum", [0, 1])
def test_products_built_on_matmul_agree(rng: np.random.Generator, name: str, fn: Callable, sa: tuple,
                                        sb: tuple, argnum: int) -> None:
    a, b = rng.standard_normal(sa), rng.standard_normal(sb)
    check_all_agree(lambda a, b: np.sin(fn(a, b)), (a, b), argnum)


def test_hessian_through_stacked_matmul(rng: np.random.Generator) -> None:
    """The rules are differentiated again (mm on traced values): a Hessian against finite
    differences of the gradient written by hand."""
    xs = rng.standard_normal((2, 3, 4)) / 2

    def f(x: Any) -> Any:
        return np.sum(np.tanh(np.matmul(xs, x)) ** 2)

    def grad_by_hand(x: np.ndarray) -> np.ndarray:
        t = np.tanh(xs @ x)
        return np.einsum("sij,si->j", xs, 2 * t * (1 - t * t))

    x = rng.standard_normal(4)
    want = numerical_jacobian(grad_by_hand, (x,))
    np.testing.assert_allclose(modes.grad(f)(x), grad_by_hand(x), rtol=1e-12)
    for mode in ("forward-over-reverse", "reverse-over-forward", "forward-over-forward",
                 "reverse-over-reverse"):
        assert_close_fd(modes.hessian(f, mode=mode)(x), want, what=mode)


# ---- solve and the decompositions whose rules solve and multiply batches -------------------------
SOLVE_SHAPES = [  # (a shape, b shape): vector and thin right-hand sides fold into one solve
    ((5, 5), (5,)), ((5, 5), (5, 1)), ((5, 5), (5, 4)), ((40, 40), (40, 2)),
    ((2, 5, 5), (5,)), ((2, 5, 5), (5, 3)), ((5, 5), (2, 5, 1)), ((2, 1, 5, 5), (3, 5, 1)),
]


def _well_conditioned(rng: np.random.Generator, shape: tuple) -> np.ndarray:
    n = shape[-1]
    return rng.standard_normal(shape) / np.sqrt(n) + 2.0 * np.eye(n)


@pytest.mark.parametrize("sa,sb", [((5, 5), (7, 5, 1)), ((5, 5), (7, 5, 3)), ((40, 40), (3, 40, 2)),
                                   ((2, 1, 5, 5), (1, 3, 5, 1)), ((2, 5, 5), (4, 2, 5, 1)),
                                   ((5, 5), (0, 5, 1)), ((2, 5, 5), (2, 5, 1))])
def test_solves_is_numpy_solve(rng: np.random.Generator, sa: tuple, sb: tuple) -> None:
    a, b = _well_conditioned(rng, sa), rng.standard_normal(sb)
    want = np.linalg.solve(a, b)
    got = decompositions._solves(a, b)
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("argnum", [0, 1])
@pytest.mark.parametrize("sa,sb", SOLVE_SHAPES, ids=[f"{a}\\{b}" for a, b in SOLVE_SHAPES])
def test_solve_jacobians_agree(rng: np.random.Generator, sa: tuple, sb: tuple, argnum: int) -> None:
    a, b = _well_conditioned(rng, sa), rng.standard_normal(sb)
    big = argnum == 0 and sa[-1] == 40  # 1600 inputs: differences along a few directions only
    check_all_agree(lambda a, b: np.tanh(np.linalg.solve(a, b)), (a, b), argnum,
                    fd_directions=3 if big else None)


def _spd(rng: np.random.Generator, shape: tuple) -> np.ndarray:
    m = rng.standard_normal(shape)
    return np.matmul(m, np.swapaxes(m, -1, -2)) + shape[-1] * np.eye(shape[-1])


@pytest.mark.parametrize("name,fn,draw", [
    ("inv", np.linalg.inv, _well_conditioned),
    ("cholesky", np.linalg.cholesky, _spd),
    ("qr", lambda a: np.linalg.qr(a)[1], _well_conditioned),
    ("eigh", lambda a: np.linalg.eigh(a)[1] ** 2, _spd),
    ("pinv", np.linalg.pinv, _well_conditioned),
])
@pytest.mark.parametrize("shape", [(4, 4), (2, 4, 4)])
def test_decompositions_batched_agree(rng: np.random.Generator, name: str, fn: Callable,
                                      draw: Callable, shape: tuple) -> None:
    a = draw(rng, shape)
    if name == "cholesky":  # reads the lower triangle: compare on symmetric perturbations
        def f(a: Any) -> Any:
            return fn(0.5 * (a + np.swapaxes(a, -1, -2)))
    else:
        f = fn
    check_all_agree(f, (a,), 0, rtol=1e-5)


def test_lstsq_batched_agree(rng: np.random.Generator) -> None:
    a, b = rng.standard_normal((6, 3)), rng.standard_normal(6)
    for argnum in (0, 1):
        check_all_agree(lambda a, b: np.linalg.lstsq(a, b, rcond=None)[0], (a, b), argnum)


# ---- einsum: a rule's contraction over a batch takes the BLAS path when it is big ---------------
def test_einsum_rules_take_the_greedy_path_for_big_batches() -> None:
    big = (np.ones((80, 80)), np.ones((80, 80)))
    assert contractions._rule_optimize(False, "Ki,ij->Kj", big) == "greedy"
    small = (np.ones((3, 4)), np.ones((4, 5)))
    assert contractions._rule_optimize(False, "Ki,ij->Kj", small) is False
    assert contractions._rule_optimize([("einsum_path", (0, 1))], "ij,jk->ik", small) == "greedy"
    assert contractions._rule_optimize("optimal", "Ki,ij->Kj", big) == "optimal"


@pytest.mark.parametrize("subscripts,sa,sb", [
    ("ij,j->i", (70, 70), (70,)),  # the batched rule contracts 70 x 70 x 70: greedy
    ("ij,kj->ik", (1, 70), (70, 70)),  # a size-1 axis broadcast against the same label
    ("bij,jk->bik", (2, 3, 70), (70, 70)),
    ("ij,jk->ik", (3, 4), (4, 2)),  # small: numpy's unoptimised loop
])
@pytest.mark.parametrize("argnum", [0, 1])
def test_einsum_jacobians_agree(rng: np.random.Generator, subscripts: str, sa: tuple, sb: tuple,
                                argnum: int) -> None:
    a, b = rng.standard_normal(sa) / 8, rng.standard_normal(sb) / 8
    big = int(np.prod((sa, sb)[argnum])) > 1000  # 4900 inputs: differences along a few directions
    check_all_agree(lambda a, b: np.tanh(np.einsum(subscripts, a, b)), (a, b), argnum,
                    fd_directions=3 if big else None)


# ---- convolve and interp: their rules multiply by a matrix with 0, 1 or 2 batch axes -------------
@pytest.mark.parametrize("batch", BATCHES, ids=lambda b: f"batch{b}")
def test_convolve_rules_with_batch_axes(rng: np.random.Generator, batch: tuple) -> None:
    prim = REGISTRY["convolve"]
    a, v = rng.standard_normal(5), rng.standard_normal(3)
    ans = np.convolve(a, v, mode="full")
    for i, shape in enumerate(((5,), (3,))):
        partial = ((lambda d: np.convolve(d, v, mode="full")) if i == 0 else
                   (lambda d: np.convolve(a, d, mode="full")))
        jac = _linear_map(partial, shape, float)
        g = rng.standard_normal(batch + shape)
        u = rng.standard_normal(batch + ans.shape)
        t, bar = prim.jvp[i](g, ans, a, v, mode="full"), prim.vjp[i](u, ans, a, v, mode="full")
        assert t.shape == batch + ans.shape and bar.shape == batch + shape
        for k in np.ndindex(batch):
            np.testing.assert_allclose(t[k], jac @ g[k], rtol=1e-12, atol=1e-12)
            np.testing.assert_allclose(bar[k], jac.T @ u[k], rtol=1e-12, atol=1e-12)


def test_convolve_and_interp_jacobians_agree(rng: np.random.Generator) -> None:
    v = rng.standard_normal(4)
    check_all_agree(lambda a: np.tanh(np.convolve(a, v)), (rng.standard_normal(6),), 0)
    xp = np.linspace(0.0, 1.0, 7)
    x = np.array([0.13, 0.52, 0.77, 0.91])
    check_all_agree(lambda fp: np.tanh(np.interp(x, xp, fp)), (rng.standard_normal(7),), 0)


# ---- the benchmark's trials compute the right Jacobians (its timings are not checked) ------------
def test_batched_reverse_experiment_tiny_rows(tmp_path: Any) -> None:
    import io

    from experiments.runner import PROFILES, Context
    from experiments.store import load_csv
    from experiments.suite import batched_reverse as br

    ctx = Context(tmp_path, PROFILES["tiny"], {"machine_id": "m", "code_version": "test"},
                  stream=io.StringIO())
    br.run(ctx)
    rows = load_csv(tmp_path / f"{br.NAME}.csv")
    cells = br.grid("tiny")
    assert len(rows) == len(cells) * (1 + len(br.methods_of("tiny")))
    assert set(rows["status"]) == {"ok"}, rows[["method", "status", "error"]]
    derivative = rows[rows["method"] != "f"]
    assert (derivative["check_err"] <= 1e-12).all()
    for (n, m), cell in rows.groupby(["n", "m"]):
        by = cell.set_index("method")
        assert (n, m) in cells
        assert by.loc["reverse_batched", "chunk"] == m
        assert by.loc["reverse_separate", "k"] == len(br.sample_rows(m)) <= m
