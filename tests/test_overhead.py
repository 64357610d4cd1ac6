"""The ``overhead`` experiment: its loops, their exact derivatives, its probe target, and its rows.

No timing is asserted: the loops' values and derivatives are checked in both modes against
formulas written here, the probe target's fields against the tape, and a run of the experiment
(tiny loops) for the rows it writes.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import modes
from experiments import machine, memory_probe
from experiments.runner import PROFILES, Context
from experiments.store import load_csv
from experiments.suite import overhead, overhead_report

TAPED = [k for k in overhead.KINDS if k != "loop"]


@pytest.mark.parametrize("kind", TAPED)
@pytest.mark.parametrize("k", [1, 7])
def test_loops_and_their_exact_derivatives(kind: str, k: int) -> None:
    f, x = overhead.loop(kind, k)
    grad, jv = overhead.exact(kind, k, x)
    np.testing.assert_allclose(modes.grad(f)(x), grad, rtol=1e-12)
    np.testing.assert_allclose(modes.grad(f, mode="forward")(x), grad, rtol=1e-12)
    _, tangent_out = modes.jvp(f, (x,), (overhead.tangent(x),))
    assert float(tangent_out) == pytest.approx(jv, rel=1e-12)


def test_hand_values() -> None:
    # multiply: p0 * y^k at y = 1, p0 = 0.5: d/dy = k p0 = 3.5 for k = 7, d/dp0 = 1
    np.testing.assert_allclose(overhead.exact("multiply", 7, np.array([1.0, 0.5]))[0], [3.5, 1.0])
    g, jv = overhead.exact("step", 2, np.array([2.0, 3.0]))  # x0 * x0 * x1 = 12
    assert list(g) == [12.0, 4.0] and jv == 16.0
    assert overhead.loop("loop", 5)[0](0.5) == 0.5


@pytest.mark.parametrize("kind", TAPED)
def test_nodes_per_step(kind: str) -> None:
    from modes.api import _record

    f, x = overhead.loop(kind, 50)
    g, _ = overhead.loop(kind, 100)
    x2 = overhead.loop(kind, 100)[1]
    nodes = len(_record(g, [x2], (0,))[1]) - len(_record(f, [x], (0,))[1])
    assert nodes == 50 * (2 if kind == "step" else 1)  # Speelpenning's step: x[i] and the multiply


def test_probe_target_reports_the_tape() -> None:
    res = memory_probe.probe(overhead.target("tanh", 2000))
    assert res["ops"] == 2001  # the input and one node per tanh
    assert res["tape_bytes"] == 8 * 2000  # one float64 residual per tanh
    assert res["value"] > res["tape_bytes"]  # the Python objects of the nodes hold far more


def test_grid_per_profile() -> None:
    for profile in ("tiny", "quick", "full"):
        ks, mem_ks = overhead.grid(profile)
        assert len(ks) >= 2 and len(mem_ks) >= 2  # a slope needs two loop lengths
        assert list(ks) == sorted(ks) and list(mem_ks) == sorted(mem_ks)


def test_run_writes_rows(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(overhead, "grid", lambda profile: ((5, 20), (200, 400)))
    monkeypatch.setattr(overhead, "MEMORY_KINDS", ("tanh",))
    info = {k: "x" for k in machine.FINGERPRINT_KEYS}
    info.update(machine_id="synthetic", code_version="test")
    overhead.run(Context(tmp_path, PROFILES["tiny"], info))
    df = load_csv(tmp_path / "overhead.csv")
    assert set(df["status"]) == {"ok"}, df[df["status"] != "ok"][["problem", "method", "error"]]
    timed = df[df["method"] != "tape"]
    assert set(timed["problem"]) == set(overhead.KINDS)
    assert set(timed[timed["problem"] == "step"]["method"]) == {"f", "record", "reverse", "forward"}
    assert set(timed[timed["problem"] == "loop"]["method"]) == {"f"}
    assert (timed[timed["method"] != "f"]["check_err"] <= 1e-12).all()
    tape = df[df["method"] == "tape"]
    assert sorted(tape["ops"]) == [201, 401] and (tape["tape_bytes"] == 8 * (tape["ops"] - 1)).all()
    t = overhead_report.op_times(df)
    assert set(t["kind"]) == set(TAPED)
    per = t.set_index("kind")["ops_per_step"].round(6)
    assert per["step"] == 2.0 and (per.drop("step") == 1.0).all()
    b = overhead_report.node_bytes(df).set_index("kind")
    assert b.loc["tanh", "residual"] == pytest.approx(8.0)
