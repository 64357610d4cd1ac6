"""The second-order experiment on the tiny profile: every composition's row is checked against a
hand-written Hessian, and the report section's sentences follow from the rows."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from experiments.runner import PROFILES, Context
from experiments.store import load_csv
from experiments.suite import second_order, second_order_report
from modes.api import SECOND_ORDER_MODES


@pytest.fixture(scope="module")
def out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("second_order")
    (d / "machine.csv").write_text("machine_id\nm\n")
    second_order.run(Context(d, PROFILES["tiny"], {"machine_id": "m", "code_version": "v"}))
    return d


def test_every_cell_has_a_row_per_composition(out: Path) -> None:
    df = load_csv(out / "second_order.csv")
    for name, n in second_order.grid("tiny"):
        for kind in second_order.KINDS:
            cell = df[(df["problem"] == f"{name}:{kind}") & (df["n"] == n)]
            assert set(cell["method"]) >= {"f", *SECOND_ORDER_MODES}, (name, n, kind)
    ok = df[df["method"].isin(SECOND_ORDER_MODES) & (df["status"] == "ok")]
    assert len(ok) > 0
    assert (ok["check_err"].astype(float) <= 1e-8).all()
    assert set(df["status"]) <= {"ok", "skipped"}


@pytest.mark.parametrize("name", second_order.PROBLEMS)
def test_hand_written_hessians_match_finite_differences(name: str) -> None:
    """The references the rows are checked against are themselves right."""
    f, x, exact = second_order.problem(name, 20)
    h, n = 1e-4, x.size
    e = np.eye(n) * h
    fd = np.array([[(f(x + e[i] + e[j]) - f(x + e[i] - e[j]) - f(x - e[i] + e[j]) + f(x - e[i] - e[j]))
                    / (4 * h * h) for j in range(n)] for i in range(n)])
    np.testing.assert_allclose(exact(x), fd, rtol=1e-5, atol=1e-5 * np.abs(fd).max())


def test_report_section_follows_the_rows(out: Path) -> None:
    text = second_order_report.section(out)
    assert text.startswith("## Second order")
    assert (out / second_order_report.FIGURE).stat().st_size > 0
    s = second_order_report.summary(out)
    w = second_order_report.winners(s)
    for _, r in w.iterrows():
        g = s[(s["name"] == r["name"]) & (s["kind"] == r["kind"]) & (s["n"] == r["n"]) & (s["status"] == "ok")]
        assert r["t_best"] == g["t_median"].min()
        assert r["ran"] == len(g)
    n_skipped = int((s["status"] == "skipped").sum())
    if n_skipped:
        assert f"{n_skipped} composition(s) skipped" in text
    else:
        assert "skipped in the tables" not in text
