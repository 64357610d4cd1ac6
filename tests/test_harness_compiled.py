"""The ``compiled`` experiment and its report: the overhead split computed from a synthetic table
with known answers, Griewank's verdict both ways, the Jacobian grid's best modes and crossover,
checks that fail a wrong derivative, operation counts without the forward gradient equal to
``count_ops``' own, and a tiny-profile run that writes rows with the new columns. Never timings."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import modes
from experiments import counts, report
from experiments.runner import CHECK_TOL, PROFILES, Context, timing_trial
from experiments.store import COLUMNS, Store, load_csv
from experiments.suite import compiled, compiled_report, memory

MID = "synthetic01"


def _rec(out: Path, exp: str, rows: list[dict]) -> None:
    store = Store(out / f"{exp}.csv", MID)
    for i, r in enumerate(rows):
        r.setdefault("status", "ok")
        r.setdefault("config_key", f"{exp}-{i}")
        r.setdefault("experiment", exp)
        r.setdefault("timestamp", "2026-02-01T10:00:00")
        r.setdefault("code_version", "v1")
    store.record(rows)


# (problem, n): (ops_f, ops_reverse, ops_forward, mul_f, mul_reverse); times: method -> ratio to f
CELLS = {("rosen", 10): ((80, 200, 880, 40, 110), {"interpreted_reverse": 10.0, "compiled_reverse": 2.0,
                                                   "interpreted_forward": 22.0, "compiled_forward": 5.5}),
         ("loop", 100): ((100, 400, 30_000, 100, 300), {"interpreted_reverse": 80.0,
                                                        "compiled_reverse": 4.0})}


def _synthetic(out: Path) -> None:
    (out / "machine.csv").write_text(f"machine_id\n{MID}\n")
    rows = []
    for (problem, n), ((of, orv, ofw, mf, mr), ratios) in CELLS.items():
        c = {"ops_f": of, "ops_reverse": orv, "ops_forward": ofw, "mul_f": mf, "mul_reverse": mr}
        tf = 1e-5
        rows.append({"problem": problem, "n": n, "m": 1, "method": "f", "mode": "plain", "t_median": tf,
                     "f_median": tf, "ratio_median": 1.0, **c})
        for method, r in ratios.items():
            rows.append({"problem": problem, "n": n, "m": 1, "method": method,
                         "mode": compiled.MODES_METHODS[method][0], "t_median": r * tf, "f_median": tf,
                         "ratio_median": r, "check_err": 0.0, **c})
    # the Jacobian grid: interpreted forward wins below n = m, compiled forward everywhere,
    # CasADi twice as fast as the best compiled mode in every cell
    for n in (1, 100):
        for m in (1, 100):
            t = {"interpreted_forward": 1e-4 * n, "interpreted_reverse": 1e-4 * m,
                 "compiled_forward": 1e-5, "compiled_reverse": 2e-5}
            t["casadi:forward"] = t["casadi:reverse"] = min(t["compiled_forward"], t["compiled_reverse"]) / 2
            rows.append({"problem": "tanh_affine", "n": n, "m": m, "method": "f", "t_median": 1e-6})
            for method, s in t.items():
                rows.append({"problem": "tanh_affine", "n": n, "m": m, "method": method,
                             "mode": method.split(":")[-1].split("_")[-1], "t_median": s,
                             "ratio_median": s / 1e-6})
    rows.append({"problem": "rosen", "n": 10_000, "m": 1, "method": "compiled_forward", "mode": "forward",
                 "status": "skipped", "error": "predicted over budget"})
    _rec(out, "compiled", rows)


@pytest.fixture
def synthetic(tmp_path: Path) -> Path:
    _synthetic(tmp_path)
    return tmp_path


def test_overhead_split_from_a_synthetic_table(synthetic: Path) -> None:
    df = compiled_report.load(synthetic)
    s = compiled_report.overhead_split(df).set_index(["problem", "n", "method"])
    (of, orv, ofw, _, _), ratios = CELLS[("rosen", 10)]
    r = s.loc[("rosen", 10, "interpreted_reverse")]
    assert r["op_ratio"] == pytest.approx(orv / of) and r["overhead"] == pytest.approx(10.0 / (orv / of))
    f = s.loc[("rosen", 10, "compiled_forward")]
    assert f["op_ratio"] == pytest.approx(ofw / of) and f["overhead"] == pytest.approx(5.5 / (ofw / of))
    assert f["time_per_direction"] == pytest.approx(5.5 / 10)
    text = compiled_report.section(synthetic)
    line = next(ln for ln in text.splitlines() if ln.startswith("* **rosen, n = 10**"))
    assert "The reverse algorithm costs 2.5x f (operation count; multiplicative 2.75x)" in line
    assert "interpreted reverse 10x, of which 4x is per-operation overhead" in line
    assert "compiled reverse 2x, of which 0.8x is per-operation overhead" in line
    assert "The forward algorithm costs 11x f" in line and "compiled forward 5.5x, of which 0.5x" in line
    assert "every one is within it" in text and "omega = 3" in text
    assert f"Of the {len(df)} row(s) behind this table, 1 were not measured (1 skipped)" in text
    assert "predicted over budget" in text  # the skipped row is listed with its reason


def test_griewank_verdict_names_a_pair_over_the_bound(synthetic: Path) -> None:
    df = compiled_report.load(synthetic).copy()
    df.loc[df["problem"] == "loop", "mul_reverse"] = 301  # 3.01 times f's 100
    text = compiled_report.griewank_sentence(df, report)
    assert "1 exceed it: loop n = 100 (3.01x)" in text


def test_jacobian_best_modes_and_crossover(synthetic: Path) -> None:
    cells = compiled_report.jacobian_cells(compiled_report.load(synthetic)).set_index(["n", "m"])
    assert list(cells["compiled_vs_casadi"]) == pytest.approx([2.0] * 4)
    assert cells.loc[(100, 1), "interpreted_faster"] == "reverse"
    assert cells.loc[(1, 100), "interpreted_faster"] == "forward"
    assert (cells["compiled_faster"] == "forward").all()
    text = compiled_report.section(synthetic)
    assert "The best compiled mode takes 2 times CasADi's best mode over 4 cell(s)" in text
    assert "it changes at n = 100, m = 1 (interpreted reverse, compiled forward)" in text
    cross = compiled_report.crossovers(cells.reset_index())
    c1 = cross[(cross["tool"] == "interpreted") & (cross["m"] == 1)].iloc[0]
    assert c1["kind"] == "crossing" and 1 <= c1["n_star"] < 100  # equal times at n = m = 1
    assert (cross[cross["tool"] == "compiled"]["kind"] == "forward faster everywhere").all()


def test_gradient_cost_section_splits_its_ratios(tmp_path: Path) -> None:
    rows = []
    for method, ratio in (("f", 1.0), ("reverse", 7.5), ("forward", 30.0)):
        rows.append({"problem": "rosenbrock", "method": method, "mode": method, "n": 1000,
                     "note": "vectorised", "ratio_median": ratio, "ratio_iqr": 0.1,
                     "t_median": ratio * 1e-5, "f_median": 1e-5,
                     "ops_f": 100, "ops_reverse": 250, "ops_forward": 1500, "mul_f": 50, "mul_reverse": 140})
    _rec(tmp_path, "gradient_cost", rows)
    text = report._gradient_cost(tmp_path, {"gradient_cost": load_csv(tmp_path / "gradient_cost.csv")})
    assert "**Algorithm and overhead.**" in text
    assert f"| rosenbrock | {report.size(1000)} | 100 | 2.5 | 2.8 | 15 | 7.5 (3x) | 30 (2x) |" in text
    assert "the reverse gradient needs 2.8 times f's" in text and "every one is within it" in text


def test_new_columns_are_in_the_store() -> None:
    assert set(counts.COLUMNS) | {"setup_s"} <= set(COLUMNS)


def test_reverse_only_counts_equal_count_ops() -> None:
    x = np.linspace(0.5, 1.5, 30)
    f = compiled.make_case("speelpenning", 30).f
    full = counts.row_counts(f, (x,), 0, 30, forward=True)
    c = modes.count_ops(f, x, chunk_size=30)
    assert full == {"ops_f": c.f, "ops_reverse": c.reverse, "ops_forward": c.forward, "mul_f": c.f_mul,
                    "mul_reverse": c.reverse_mul, "mul_forward": c.forward_mul}
    rev = counts.row_counts(f, (x,), 0, 30, forward=False)
    assert rev == dict(full, ops_forward=None, mul_forward=None)
    skipped = modes.count_ops(f, x, chunk_size=30, forward=False)
    assert skipped.forward is None and skipped.reverse == c.reverse
    assert counts.count_forward(1000, True) and not counts.count_forward(1001, True)
    assert not counts.count_forward(10, False)


def test_checks_fail_a_wrong_derivative(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    check = compiled.check_for("talk", 3, 1)
    assert check({"compiled_reverse": (-1.0, 3.0, -2.0)})["compiled_reverse"] == 0.0
    assert check({"compiled_reverse": (-1.0, 3.0, -2.5)})["compiled_reverse"] > CHECK_TOL
    assert check({"casadi:reverse": np.zeros(2)})["casadi:reverse"] == float("inf")  # wrong size
    real = compiled.make_case

    def wrong(problem: str, n: int, m: int = 1) -> compiled.Case:
        case = real(problem, n, m)
        return compiled.Case(**{**case.__dict__, "exact": case.exact + 1e-3})

    monkeypatch.setattr(compiled, "make_case", wrong)
    ctx = Context(tmp_path, PROFILES["tiny"], {"machine_id": "m", "code_version": "v"})
    methods = compiled.methods_for(ctx, "rosenbrock", 10, 1, compiled.Budgets(), {"casadi": "absent",
                                                                                   "autograd": "absent"})
    names = [m.name for m in methods if m.name != "f" and m.skip is None]
    assert names == list(compiled.MODES_METHODS) + list(compiled.FUSED_METHODS)  # numexpr: in dev
    rows = timing_trial(ctx, compiled.NAME, {"problem": "rosenbrock", "n": 10, "m": 1}, methods,
                        compiled.setup_for("rosenbrock", 10, 1, names, True),
                        compiled.check_for("rosenbrock", 10, 1))
    by = {r["method"]: r for r in rows}
    for name in names:
        assert by[name]["status"] == "failed" and "check failed" in by[name]["error"], by[name]
    assert {by[t]["status"] for t in ("casadi:reverse", "autograd:reverse")} == {"skipped"}


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("compiled")
    (d / "machine.csv").write_text("machine_id\nm\n")
    compiled.run(Context(d, PROFILES["tiny"], {"machine_id": "m", "code_version": "v"}))
    return d


def test_tiny_run_writes_rows_with_the_new_columns(tiny: Path) -> None:
    df = load_csv(tiny / "compiled.csv")
    for problem, n, m in compiled.grid("tiny"):
        cell = df[(df["problem"] == problem) & (df["n"] == n) & (df["m"] == m)]
        assert set(cell["method"]) >= {"f", *compiled.MODES_METHODS}, (problem, n, m)
    done = df[df["method"] != "f"]
    assert set(done["status"]) <= {"ok", "skipped"}
    ok = done[done["status"] == "ok"]
    assert (ok["check_err"].astype(float) <= CHECK_TOL).all()
    assert ok["setup_s"].notna().all()
    grads = df[df["problem"] != "tanh_affine"]
    assert grads["ops_f"].notna().all() and grads["ops_reverse"].notna().all()
    assert (grads["ops_forward"].astype(float) > grads["ops_f"].astype(float)).all()  # counted: n <= 1000
    assert df[df["problem"] == "tanh_affine"]["ops_f"].isna().all()
    comp = ok[ok["method"].str.startswith("compiled")]
    assert comp["note"].str.contains("lines of generated code").all()
    talk = df[(df["problem"] == "talk") & (df["method"] == "f")].iloc[0]
    assert (talk["ops_f"], talk["ops_reverse"]) == tuple(float(v) for v in _talk_counts())


def _talk_counts() -> tuple[int, int]:
    c = modes.count_ops(lambda x, y, z: x * y + (x + y) * z, 1.0, -3.0, 2.0, argnum=(0, 1, 2))
    return c.f, c.reverse


def test_tiny_report_section(tiny: Path) -> None:
    text = compiled_report.section(tiny)
    assert text.startswith("## Interpreted vs compiled modes")
    assert not (tiny / compiled_report.FIGURE).exists()  # one size per problem: no curve against n
    t = compiled_report.time_ratios(compiled_report.load(tiny)).set_index(["problem", "method"])
    c, i = t.loc[("talk", "compiled_reverse")], t.loc[("talk", "interpreted_reverse")]
    assert f"interpreted reverse {report.seconds(i['t_median'])}" in text
    assert f"Compiled reverse takes {report.seconds(c['t_median'])} per gradient" in text
    assert re.search(r"### Jacobians of tanh\(A x\)", text)


def test_compiled_memory_target_is_checked() -> None:
    for mode in ("reverse", "forward"):
        t = memory.target("scalar_chain", mode, 1, 50, compiled=True)
        t.compute()
        res = t.after()
        assert res["check_err"] <= 1e-12 and "tape_bytes" not in res
    fits = pd.DataFrame()  # the interpreted fits leave compiled rows out
    rows = [{"problem": "scalar_chain", "n": 1, "k": k, "method": meth, "mode": meth.split("_")[-1],
             "status": "ok", "peak_rss_delta": per * k, "theory_bytes": 8 * k, "tape_bytes": None,
             "peak_hwm_delta": None}
            for k in (1, 100, 1000) for meth, per in (("reverse", 400.0), ("compiled_reverse", 8.0))]
    from experiments import analysis

    fits = analysis.memory_fits(pd.DataFrame(rows))
    assert list(fits["method"]) == ["reverse"] and fits["peak_bytes_per_op"].iloc[0] == pytest.approx(400)
    both = analysis.memory_fits(pd.DataFrame(rows), compiled_report.MEMORY_METHODS).set_index("method")
    assert both.loc["compiled_reverse", "peak_bytes_per_op"] == pytest.approx(8.0)


def test_ratio_figure_needs_two_sizes(tmp_path: Path) -> None:
    rows = [{"problem": "rosen", "n": n, "method": m, "mode": compiled.MODES_METHODS[m][0],
             "time_ratio": r * n ** 0.1, "op_ratio": 2.5, "overhead": r / 2.5}
            for n in (10, 1000) for m, r in (("interpreted_reverse", 10.0), ("compiled_reverse", 2.0))]
    path = compiled_report.plot_ratios(pd.DataFrame(rows), tmp_path / "r.png")
    assert path is not None and path.stat().st_size > 0
    assert compiled_report.plot_ratios(pd.DataFrame(rows[:2]), tmp_path / "s.png") is None


def test_memory_held_between_calls_is_the_baseline_difference(tmp_path: Path) -> None:
    (tmp_path / "machine.csv").write_text(f"machine_id\n{MID}\n")
    rows = []
    for k in (1, 100, 1000):
        for method, per, base in (("reverse", 400.0, 5e7), ("compiled_reverse", 8.0, 5e7 + 5000.0 * k)):
            rows.append({"problem": "scalar_chain", "n": 1, "k": k, "method": method, "mode": "reverse",
                         "peak_rss_delta": per * k + 1e5, "theory_bytes": 8 * k, "baseline_rss": base})
    _rec(tmp_path, "memory", rows)
    held = compiled_report.resident(tmp_path).iloc[0]
    assert (held["method"], held["k"], held["held"]) == ("compiled_reverse", 1000, 5e6)
    text = compiled_report.section(tmp_path)  # no compiled.csv: the memory part stands alone
    assert "No data" in text
    part = compiled_report._memory(tmp_path, report)
    assert "compiled reverse 8 bytes per operation against interpreted 400 bytes (0.02 times" in part
    assert f"compiled reverse {report.nbytes(5e6)} at k = {report.size(1000)}" in part


def test_fused_section_compares_with_the_hand_written_gradient() -> None:
    from experiments import report as fmt
    from experiments.suite import compiled_report

    rows = [{"problem": "rosenbrock", "n": n, "m": 1, "method": method, "mode": "reverse",
             "status": "ok", "ratio_median": r, "t_median": r * 1e-3, "f_median": 1e-3}
            for n, ratios in ((1000, (1.2, 1.6, 2.0)), (1_000_000, (1.7, 2.1, 1.4)))
            for method, r in zip(("hand_reverse", "compiled_reverse", "fused_reverse"), ratios)]
    df = pd.DataFrame(rows)
    wide = compiled_report.fused_table(df)
    assert list(wide["n"]) == [1000, 1_000_000]
    text = compiled_report._fused(df, fmt)
    assert "costs 1.4x f, below the hand-written numpy gradient's 1.7x" in text
    slower = df.assign(ratio_median=[1.2, 1.6, 2.0, 1.3, 2.1, 1.4])
    assert "not below the hand-written numpy gradient's 1.3x" in compiled_report._fused(slower, fmt)
    assert compiled_report._fused(df[df["method"] != "fused_reverse"], fmt) == ""
