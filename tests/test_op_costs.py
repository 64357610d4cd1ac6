"""Operation counts of the primitives: every registered primitive states a count, from shapes only.

Registry-driven: each primitive is evaluated on traced values (the nominal pass of reverse mode,
no sweep: each use of a primitive calls its implementation once; the arrays are far below the
size from which the tape reuses dying buffers) on the sample arguments of its cases in
``tests/test_registry.py``'s TABLE; every evaluation it receives must cost a non-negative int,
the same on ``ShapeOnly`` stand-ins. Then hand-counted values, recorded from real programs, so a
wrong rule or a wrong default fails.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import modes
from conftest import sample
from modes.errors import RuleError
from modes.flops import size
from modes.unbroadcast import ShapeOnly
from test_registry import TABLE


def _record(monkeypatch: pytest.MonkeyPatch, names: Any) -> list[tuple[str, Any, tuple, dict]]:
    """Wrap the implementations of the primitives ``names``: each evaluation is kept as
    (name, ans, args, kwargs)."""
    calls: list[tuple[str, Any, tuple, dict]] = []
    for name in names:
        prim = modes.REGISTRY[name]

        def recording(*args: Any, _inner: Callable[..., Any] = prim.fn, _name: str = name,
                      **kwargs: Any) -> Any:
            ans = _inner(*args, **kwargs)
            calls.append((_name, ans, args, dict(kwargs)))
            return ans

        monkeypatch.setattr(prim, "fn", recording)
    return calls


def _nominal(f: Callable[..., Any], *args: Any, argnums: Any = None) -> Any:
    """Evaluate ``f`` with the arguments ``argnums`` (default all) traced: reverse mode's nominal
    pass, without the sweep (forward mode would call primitives again inside its tangent rules)."""
    argnums = tuple(range(len(args))) if argnums is None else argnums

    def traced(*t: Any) -> Any:
        full = list(args)
        for i, v in zip(argnums, t):
            full[i] = v
        return f(*full)

    return modes.vjp(traced, *(args[i] for i in argnums))[0]


def _costs(f: Callable[..., Any], *args: Any) -> list[tuple[str, int]]:
    """(name, cost) of every primitive evaluation of ``f`` on traced ``args``, in order."""
    with pytest.MonkeyPatch.context() as monkeypatch:
        calls = _record(monkeypatch, sorted(modes.REGISTRY))
        _nominal(f, *args)
    return [(name, modes.REGISTRY[name].cost(ans, a, kw)) for name, ans, a, kw in calls]


def _shape_only(x: Any) -> Any:
    return ShapeOnly(x.shape) if isinstance(x, np.ndarray) else x


# ---- every registered primitive, on its cases' sample arguments -------------------------------------
def test_every_structural_primitive_states_its_cost() -> None:
    """The 0 of the jvp/vjp form is for data movement: a shipped structural primitive says so
    itself (``moves_data``) or gives its count; only elementwise rows may rely on the default."""
    silent = sorted(name for name, p in modes.REGISTRY.items()
                    if p.partials is None and p.cost_rule is None)
    assert not silent, f"structural primitives without a stated cost: {silent}"


@pytest.mark.parametrize("name", sorted(TABLE))
def test_cost_of_every_case_is_a_count_from_shapes(name: str, monkeypatch: pytest.MonkeyPatch,
                                                   rng: np.random.Generator) -> None:
    prim = modes.REGISTRY[name]
    calls = _record(monkeypatch, [name])
    for case in TABLE[name]:
        for shapes in case.shapes:
            args = [sample(rng, s, d) for s, d in zip(shapes, case.domains)]
            del calls[:]
            _nominal(case.fn, *args, argnums=case.argnums)
            assert calls, f"{case.label} never reached primitive {name!r}"
            for _, ans, a, kw in calls:
                cost = prim.cost(ans, a, kw)
                assert type(cost) is int and cost >= 0, f"{case.label}: cost {cost!r}"
                stand_ins = tuple(_shape_only(x) for x in a)
                assert prim.cost(_shape_only(ans), stand_ins, kw) == cost, (
                    f"{case.label}: the cost must depend on shapes only")


@pytest.mark.parametrize("name", sorted(n for n in TABLE if modes.REGISTRY[n].partials is not None))
def test_elementwise_cost_scales_with_the_result(name: str, monkeypatch: pytest.MonkeyPatch,
                                                 rng: np.random.Generator) -> None:
    """A partials-form primitive costs a fixed number of operations per element of its result."""
    prim = modes.REGISTRY[name]
    calls = _record(monkeypatch, [name])
    per = set()
    for case in TABLE[name]:
        for shapes in case.shapes:
            del calls[:]
            args = [sample(rng, s, d) for s, d in zip(shapes, case.domains)]
            _nominal(case.fn, *args, argnums=case.argnums)
            per |= {prim.cost(ans, a, kw) / size(ans) for _, ans, a, kw in calls if size(ans)}
    assert len(per) == 1, f"{name}: operations per element of the result vary: {sorted(per)}"


# ---- hand-counted values ----------------------------------------------------------------------------
A34, B34 = np.arange(12.0).reshape(3, 4), np.ones((3, 4))


def test_elementwise_counts() -> None:
    assert _costs(lambda x, y: x * y, A34, B34) == [("multiply", 12)]
    assert modes.REGISTRY["multiply"].cost(6.0, (2.0, 3.0), {}) == 1
    assert modes.REGISTRY["sin"].cost(np.zeros(7), (np.zeros(7),), {}) == 7
    assert modes.REGISTRY["add"].cost(ShapeOnly((3, 4)), (ShapeOnly((3, 1)), ShapeOnly((1, 4))), {}) == 12


def test_elementwise_counts_in_programs() -> None:
    assert _costs(lambda x, y: x * y, 2.0, 3.0) == [("multiply", 1)]
    assert _costs(np.sin, np.linspace(0.0, 1.0, 7)) == [("sin", 7)]
    # broadcasting: one operation per element of the (3, 4) result, not of either argument
    assert _costs(lambda x, y: x + y, np.ones((3, 1)), np.ones((1, 4))) == [("add", 12)]
    # selection is free; clip compares with both bounds
    assert _costs(lambda x: np.where(x > 5.0, x, 0.0), A34) == [("where", 0)]
    assert _costs(lambda x: np.clip(x, 1.0, 5.0), A34) == [("clip", 24)]


def test_reduction_counts() -> None:
    x56 = np.ones((5, 6))
    assert _costs(np.sum, x56) == [("sum", 30)]
    assert _costs(lambda x: np.sum(x, axis=1), x56) == [("sum", 30)]
    assert _costs(lambda x: np.max(x, axis=0, keepdims=True), x56) == [("max", 30)]
    assert _costs(np.cumsum, x56) == [("reshape", 0), ("cumsum", 30)]  # flattened first
    # mean is a sum and one division per result
    assert _costs(lambda x: np.mean(x, axis=0), x56) == [("sum", 30), ("divide", 6)]
    # ShapeOnly arguments: the count reads the shape only
    assert modes.REGISTRY["sum"].cost(ShapeOnly(()), (ShapeOnly((5, 6)), None, False), {}) == 30
    assert modes.REGISTRY["sum"].cost(ShapeOnly((6,)), (ShapeOnly((5, 6)),),
                                      {"axis": (0,), "keepdims": False}) == 30


def test_data_movement_is_free() -> None:
    assert _costs(lambda x: x.reshape(4, 3), A34) == [("reshape", 0)]
    assert _costs(lambda x: x.T, A34) == [("transpose", 0)]
    assert _costs(lambda x: x[1:, ::2], A34) == [("getitem", 0)]
    assert _costs(lambda x: x[[0, 2, 2]], A34) == [("getitem", 0)]
    assert _costs(lambda x: np.broadcast_to(x, (2, 3, 4)), A34) == [("broadcast_to", 0)]
    assert _costs(lambda x, y: np.concatenate([x, y]), A34, B34) == [("concatenate", 0)]


def test_matmul_counts() -> None:
    a23, b34 = np.ones((2, 3)), np.ones((3, 4))
    assert _costs(lambda a, b: a @ b, a23, b34) == [("matmul", 2 * 2 * 3 * 4)]
    assert _costs(lambda a, v: a @ v, A34, np.ones(4)) == [("matmul", 24)]
    assert _costs(np.dot, np.ones(4), np.ones(4)) == [("matmul", 8)]
    # a stack of 5 products
    assert _costs(np.matmul, np.ones((5, 2, 3)), b34) == [("matmul", 5 * 48)]
    m = modes.REGISTRY["matmul"]
    assert m.cost(ShapeOnly((2, 4)), (ShapeOnly((2, 3)), ShapeOnly((3, 4))), {}) == 48


def test_matmul_cost_on_traced_values() -> None:
    """The counter may hand over the boxes themselves: cost reads their shapes, in both modes."""
    seen = []

    def f(a: Any, b: Any) -> Any:
        out = a @ b
        seen.append(modes.REGISTRY["matmul"].cost(out, (a, b), {}))
        return np.sum(out)

    for mode in ("forward", "reverse"):
        modes.grad(f, mode=mode)(np.ones((2, 3)), np.ones((3, 4)))
    assert seen == [48, 48]


def test_einsum_counts() -> None:
    a23, b34, c45 = np.ones((2, 3)), np.ones((3, 4)), np.ones((4, 5))
    assert _costs(lambda a, b: np.einsum("ij,jk->ik", a, b), a23, b34) == [("einsum", 48)]
    assert _costs(lambda u, v: np.einsum("i,j->ij", u, v), np.ones(3), np.ones(4)) == [
        ("einsum", 12)]
    assert _costs(lambda x: np.einsum("ii->", x), np.eye(3)) == [("einsum", 3)]
    assert _costs(lambda x: np.einsum("ij->ji", x), a23) == [("einsum", 0)]
    # three operands: as written, 2 multiplies and an add at each of 2*3*4*5 points; optimized,
    # (jk,kl->jl) then (ij,jl->il): 2*3*4*5 + 2*2*3*5
    chain = "ij,jk,kl->il"
    assert _costs(lambda *o: np.einsum(chain, *o), a23, b34, c45) == [("einsum", 360)]
    assert _costs(lambda *o: np.einsum(chain, *o, optimize=True), a23, b34, c45) == [
        ("einsum", 180)]


def test_linear_algebra_counts() -> None:
    well = np.eye(3) * 3.0 + 0.1
    batch = np.stack([well, 2.0 * well])
    # a batched solve: 2 matrices of (LU 2*27/3 = 18) + (2 * 3^2 * 1 = 18)
    assert _costs(np.linalg.solve, batch, np.ones((2, 3, 1))) == [("solve", 72)]
    # a vector b is made a column and back: free
    assert _costs(np.linalg.solve, batch, np.ones(3)) == [("reshape", 0), ("solve", 72), ("getitem", 0)]
    # one matrix against a stack of 4 right-hand-side blocks of 2 columns: numpy solves 4 times
    s = modes.REGISTRY["solve"]
    assert s.cost(ShapeOnly((4, 3, 2)), (ShapeOnly((3, 3)), ShapeOnly((4, 3, 2))), {}) == 4 * (18 + 36)
    assert _costs(np.linalg.det, batch) == [("det", 2 * 18)]
    assert _costs(np.linalg.cholesky, batch) == [("cholesky", 2 * 9)]
    assert modes.REGISTRY["eigh"].cost(ShapeOnly((5, 4, 4)), (ShapeOnly((4, 4)),), {}) == 9 * 64
    # the reduced SVD of a wide matrix costs what its transpose does
    svd = modes.REGISTRY["svd"]
    assert svd.cost(None, (ShapeOnly((5, 3)),), {}) == svd.cost(None, (ShapeOnly((3, 5)),), {}) == (
        14 * 5 * 9 + 8 * 27)
    # qr of a (4, 3): Householder 2*9*4 - 18, thin Q the same
    assert modes.REGISTRY["qr"].cost(None, (ShapeOnly((4, 3)),), {}) == 2 * (72 - 18)


def test_other_stated_counts() -> None:
    x = np.arange(1.0, 6.0)
    assert _costs(np.linalg.norm, x) == [("l2norm", 2 * 5 + 1)]
    assert _costs(lambda a, v: np.convolve(a, v), x, np.ones(3)) == [("convolve", 30)]
    assert _costs(lambda a, v: np.convolve(a, v, "valid"), x, np.ones(3)) == [
        ("convolve", 18)]
    # interp: 3 comparisons to find the segment among 4 knots (bit_length(4) = 3), then 6
    assert _costs(lambda t: np.interp(t, [0.0, 1.0, 2.0, 3.0], [0.0, 1.0, 4.0, 9.0]),
                  np.array([0.5, 1.5])) == [("interp", 2 * 9)]
    # untake (getitem's adjoint) adds each of the 3 scattered values
    untake = modes.REGISTRY["untake"]
    assert untake.cost(ShapeOnly((4,)), (ShapeOnly((3,)),),
                       {"index": (np.array([0, 2, 2]),), "shape": (4,), "nb": 0}) == 3


# ---- defaults by form, and user primitives ----------------------------------------------------------
def test_defaults_by_form() -> None:
    cube = modes.primitive(lambda x: x ** 3, name="cube", partials=(lambda ans, x: 3 * x ** 2,))
    assert cube.cost(np.zeros((2, 5)), (np.zeros((2, 5)),), {}) == 10
    assert cube.cost(8.0, (2.0,), {}) == 1
    flip = modes.primitive(lambda x: x[::-1], name="flip", jvp=(lambda g, ans, x: g[..., ::-1],),
                           vjp=(lambda g, ans, x: g[..., ::-1],), linear=True)
    assert flip.cost(ShapeOnly((5,)), (ShapeOnly((5,)),), {}) == 0
    stated = modes.primitive(lambda x: np.cumprod(x), name="cumprod_", jvp=(lambda g, ans, x: g,),
                             vjp=(lambda g, ans, x: g,), cost=lambda ans, x: 2 * size(ans))
    assert stated.cost(ShapeOnly((5,)), (ShapeOnly((5,)),), {}) == 10


def test_a_bad_cost_rule_names_the_primitive() -> None:
    bad = modes.primitive(np.sin, name="bad_sin", partials=(lambda ans, x: np.cos(x),),
                          cost=lambda ans, x: -1)
    with pytest.raises(RuleError, match="bad_sin"):
        bad.cost(0.0, (0.0,), {})
