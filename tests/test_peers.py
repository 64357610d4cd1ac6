"""The peer adapters (``experiments/peers``) against ``modes``, and a tiny run of the ``peers`` experiment.

Each tool's tests are skipped when the tool is not installed. ``modes`` itself is checked against
exact formulas; every other tool against ``modes``: value, gradient, JVP, both Jacobians and
checkpointing, on small inputs.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest

from experiments import problems
from experiments.peers import base, workloads
from experiments.peers.base import mismatch
from experiments.store import Store

TOL = 1e-12
TOOLS = {"autograd": "autograd", "jax": "jax", "jax_jit": "jax", "torch": "torch", "casadi": "casadi"}


@pytest.fixture(params=sorted(TOOLS))
def peer(request: pytest.FixtureRequest) -> base.Peer:
    pytest.importorskip(TOOLS[request.param])
    return base.get(request.param)


@pytest.fixture(scope="module")
def ref() -> base.Peer:
    return base.get("modes")


def _run(p: base.Peer, fn: object, w: workloads.Workload) -> np.ndarray:
    return p.flat(fn(*p.inputs(w)))  # type: ignore[operator]


# ---- modes against exact formulas ---------------------------------------------------------------------------
def test_modes_peer_exact(ref: base.Peer) -> None:
    w = workloads.talk((2.0, 3.0, 4.0))
    assert mismatch(_run(ref, ref.gradient(w), w), [7.0, 6.0, 5.0]) == 0.0
    w = workloads.rosenbrock(9)
    assert mismatch(_run(ref, ref.gradient(w), w), problems.rosenbrock_grad(w.args[0])) < TOL
    w = workloads.tanh_affine(5, 3)
    exact = problems.make_vector("tanh_affine", 5, 3).jac(w.args[0])
    for mode in ("forward", "reverse"):
        assert mismatch(_run(ref, ref.jacobian(w, mode), w), exact) < TOL
    v = np.linspace(0.5, 1.5, 5)
    assert mismatch(ref.flat(ref.jvp(w)(w.args[0], v)[1]), exact @ v) < TOL


def test_workloads_match_problems() -> None:
    """The tool-neutral workloads are the harness's functions at the harness's points."""
    w = workloads.rosenbrock(50)
    x = problems.make_scalar("rosenbrock", 50).x0
    assert np.array_equal(w.args[0], x) and w.numpy_f()(x) == problems.rosenbrock(x)
    w = workloads.tanh_affine(6, 4)
    p = problems.make_vector("tanh_affine", 6, 4)
    assert np.array_equal(w.args[0], p.x0) and np.allclose(w.numpy_f()(p.x0), p.f(p.x0), rtol=0, atol=0)
    w = workloads.chain(7, 5)
    assert w.numpy_f()(w.args[0]) == problems.chain(5)(w.args[0])


# ---- every other tool against modes -------------------------------------------------------------------------
@pytest.mark.parametrize("w", [workloads.talk(), workloads.rosenbrock(8), workloads.chain(6, 4)],
                         ids=["talk", "rosenbrock", "chain"])
def test_value_and_gradient(peer: base.Peer, ref: base.Peer, w: workloads.Workload) -> None:
    assert mismatch(_run(peer, peer.value(w), w), _run(ref, ref.value(w), w)) < TOL
    assert mismatch(_run(peer, peer.gradient(w), w), _run(ref, ref.gradient(w), w)) < TOL


@pytest.mark.parametrize("n,m", [(5, 3), (3, 5), (4, 1), (1, 4)])
def test_jacobians_and_jvp(peer: base.Peer, ref: base.Peer, n: int, m: int) -> None:
    w = workloads.tanh_affine(n, m)
    want = _run(ref, ref.jacobian(w, "reverse"), w)
    for mode in ("forward", "reverse"):
        got = peer.jacobian(w, mode)(*peer.inputs(w))
        assert peer.to_numpy(got).shape == (m, n), f"{mode}: shape"
        assert mismatch(peer.flat(got), want) < TOL, mode
    v = np.linspace(0.5, 1.5, n)
    (x,) = peer.inputs(w)
    y, jv = peer.jvp(w)(x, peer.ns.asarray(v))
    y_ref, jv_ref = ref.jvp(w)(w.args[0], v)
    assert mismatch(peer.flat(y), y_ref) < TOL and mismatch(peer.flat(jv), jv_ref) < TOL


def test_checkpointing(peer: base.Peer, ref: base.Peer) -> None:
    if not peer.has_checkpoint:
        with pytest.raises(ValueError):
            workloads.tanh_map(4, 150, blocks=True).build(peer.ns)
        return
    plain, blocks = workloads.tanh_map(6, 230), workloads.tanh_map(6, 230, blocks=True)
    want = _run(ref, ref.gradient(plain), plain)
    assert mismatch(_run(peer, peer.gradient(blocks), blocks), want) < 1e-12
    assert mismatch(_run(peer, peer.gradient(plain), plain), want) < 1e-12


def test_memory_target(peer: base.Peer, ref: base.Peer) -> None:
    """The probe target runs one checked gradient (here in-process, without the probe)."""
    w = workloads.chain(20, 3)
    target = peer.memory_target(w, lambda: _run(ref, ref.gradient(w), w))
    target.compute()
    assert target.after is not None and target.after()["check_err"] < TOL


# ---- registry ------------------------------------------------------------------------------------------------
def test_missing_tool_is_a_one_line_notice(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(base.REGISTRY, "ghost", ("no_such_tool_xyz", "x:Y", "pip install ghost"))
    monkeypatch.setattr(base, "_NOTIFIED", set())
    out = io.StringIO()
    found = base.available(["modes", "ghost"], stream=out)
    base.available(["ghost"], stream=out)
    assert [p.name for p in found] == ["modes"]
    assert out.getvalue().count("\n") == 1 and "ghost skipped" in out.getvalue()
    assert base.unavailable_reason("ghost") and base.unavailable_reason("modes") is None
    with pytest.raises(base.PeerUnavailable):
        base.get("ghost")
    with pytest.raises(KeyError):
        base.get("not_registered")


# ---- the experiment and its report section -------------------------------------------------------------------
def test_peers_experiment_tiny(tmp_path: Path) -> None:
    """The tiny profile with whatever tools are installed: every row ok or skipped, a report section."""
    from experiments import machine
    from experiments.runner import PROFILES, Context
    from experiments.suite import peers, peers_report

    info = machine.describe()
    machine.record(tmp_path, info)
    ctx = Context(tmp_path, PROFILES["tiny"], info, stream=io.StringIO())
    peers.run(ctx)
    assert ctx.failures == 0
    df = Store(tmp_path / "peers.csv", info["machine_id"]).load()
    assert set(df["status"]) <= {"ok", "skipped"}, df[df["status"] != "ok"][["method", "error"]]
    installed = {p.name for p in base.available(stream=io.StringIO())}
    versions = df[df["problem"] == "versions"].set_index("method")["status"]
    assert {name for name, s in versions.items() if s == "ok"} == installed
    for problem in ("talk", "rosenbrock", "tanh_affine", "chain", "tanh_map"):
        rows = df[(df["problem"] == problem) & (df["status"] == "ok")]
        assert "modes" in {str(m).split(":")[0] for m in rows["method"]}, problem
    text = peers_report.section(tmp_path)
    assert text.startswith("## modes and the other tools")
    assert "**Target** (modes reverse faster than every tool without jit" in text or installed == {"modes"}
    for png in ("peers_talk.png", "peers_rosenbrock_ratio.png", "peers_memory.png"):
        assert (tmp_path / png).exists(), png


def _synthetic(out: Path, modes_talk: float, ratios: dict[str, float]) -> None:
    rows = [{"problem": "talk", "method": "f", "mode": "plain", "t_median": 1e-7}]
    for tool, t in {"modes": modes_talk, "autograd": 1e-4, "casadi": 1.2e-5}.items():
        rows.append({"problem": "talk", "method": f"{tool}:reverse", "mode": "reverse", "t_median": t,
                     "t_q1": t, "t_q3": t, "check_err": 0.0})
    for tool, r in ratios.items():
        rows.append({"problem": "rosenbrock", "method": f"{tool}:reverse", "mode": "reverse", "n": 10**6,
                     "t_median": r * 1e-3, "f_median": 1e-3, "ratio_median": r, "ratio_q1": r,
                     "ratio_q3": r, "check_err": 0.0})
    for i, r in enumerate(rows):
        r.update(status="ok", config_key=f"k{i}", experiment="peers")
    Store(out / "peers.csv", "synthetic").record(rows)


def test_report_targets_computed(tmp_path: Path) -> None:
    from experiments.suite import peers_report

    met, missed = tmp_path / "met", tmp_path / "missed"
    met.mkdir()
    missed.mkdir()
    _synthetic(met, 9e-6, {"modes": 3.0, "autograd": 10.0, "jax": 12.0})
    _synthetic(missed, 2e-5, {"modes": 3.0, "autograd": 5.0, "jax": 12.0})
    good, bad = peers_report.section(met), peers_report.section(missed)
    assert "CasADi): **met**" in good and "modes 3, **met**" in good
    assert "CasADi): **not met**" in bad and "modes 3, **not met**" in bad
    from experiments.report import size

    assert f"modes reverse is 3.33× faster than autograd at n = {size(10**6)}" in good
