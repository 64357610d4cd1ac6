"""Report and plots generated from synthetic tables with known answers.

The tables hold what made earlier reports contradict themselves: skipped, failed and timed-out
rows, a tool that is not installed (with older rows of it from other code), single-size cases, a
memory growth within noise of zero. Every sentence checked here is checked against the rows.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from experiments import analysis, calibration, machine, plots, report
from experiments.store import Store, load_csv
from experiments.suite import overhead_report

MID = "synthetic01"
NEW, OLD = "new0000001", "old0000001"
NOW, THEN = "2026-02-01T10:00:00", "2026-01-01T00:00:00"


def _rec(out: Path, exp: str, rows: list[dict], version: str = NEW, stamp: str = NOW,
         prefix: str = "") -> None:
    store = Store(out / f"{exp}.csv", MID)
    for i, r in enumerate(rows):
        r.setdefault("status", "ok")
        r.setdefault("config_key", f"{exp}-{prefix}{i}")
        r.setdefault("experiment", exp)
        r.setdefault("timestamp", stamp)
        r.setdefault("code_version", version)
        r.setdefault("load_avg", 1.0)
    store.record(rows)


def _timed(t: float, rounds: int = 5, noise: float = 0.0, seed: int = 0) -> dict:
    rng = np.random.default_rng(seed)
    times = [t * (1 + noise * rng.standard_normal()) for _ in range(rounds)]
    return {"t_median": float(np.median(times)), "t_q1": t, "t_q3": t, "times": times}


def _rows(out: Path) -> None:
    sg = []
    for n in (10, 100, 1000, 10_000, 100_000):
        tf, tr = 1e-7 * n, 4e-7 * n
        sg.append({"problem": "rosenbrock", "method": "f", "mode": "plain", "n": n, "t_median": tf,
                   "t_q1": tf, "t_q3": tf, "ratio_median": 1.0, "ratio_q1": 1.0, "ratio_q3": 1.0,
                   "ratio_iqr": 0.0, "repeats": 5, "target_s": 0.01})
        sg.append({"problem": "rosenbrock", "method": "reverse", "mode": "reverse", "n": n,
                   "t_median": tr, "t_q1": tr, "t_q3": tr, "ratio_median": 4.0, "ratio_q1": 4.0,
                   "ratio_q3": 4.0, "ratio_iqr": 0.0, "repeats": 5, "target_s": 0.01})
        if n <= 1000:
            tw = 1e-7 * n * n
            sg.append({"problem": "rosenbrock", "method": "forward", "mode": "forward", "n": n,
                       "t_median": tw, "t_q1": tw, "t_q3": tw, "ratio_median": tw / tf,
                       "ratio_q1": tw / tf, "ratio_q3": tw / tf, "ratio_iqr": 0.0})
        else:
            sg.append({"problem": "rosenbrock", "method": "forward", "mode": "forward", "n": n,
                       "status": "skipped", "error": "predicted over budget"})
    for method, ratio in (("f", 1.0), ("reverse", 60.0), ("forward", 80.0)):  # one size only
        sg.append({"problem": "speelpenning", "method": method, "mode": method, "n": 1000,
                   "t_median": ratio * 1e-4, "t_q1": ratio * 1e-4, "t_q3": ratio * 1e-4,
                   "ratio_median": ratio, "ratio_q1": ratio, "ratio_q3": ratio, "ratio_iqr": 0.0,
                   "ops": 2001})
    _rec(out, "scalar_gradient", sg)

    env = "MALLOC_MMAP_THRESHOLD_=65536"
    mem = [{"problem": "allocation", "method": "selftest", "mode": "plain", "n": 1, "k": 1,
            "peak_rss_delta": 2.02e8, "theory_bytes": 2e8, "rss_peaks": [2.02e8], "peak_hwm_delta": 2e8,
            "malloc_env": env}]
    wobble = {1: 5000.0, 10: 5003.0, 100: 4998.0, 1000: 5001.0}  # flat: a fit within noise of zero
    for k in (1, 10, 100, 1000):
        mem.append({"problem": "vector_chain", "method": "reverse", "mode": "reverse", "n": 1000, "k": k,
                    "peak_rss_delta": 8000.0 * k + 1000, "tape_bytes": 8000.0 * k,
                    "theory_bytes": 8000 * k, "malloc_env": env})
        mem.append({"problem": "vector_chain", "method": "forward", "mode": "forward", "n": 1000, "k": k,
                    "peak_rss_delta": wobble[k] - 0.066 * k, "theory_bytes": 16000, "malloc_env": env})
        mem.append({"problem": "scalar_chain", "method": "reverse", "mode": "reverse", "n": 1, "k": k,
                    "peak_rss_delta": 392.0 * k + 80_000, "tape_bytes": 8.0 * k, "theory_bytes": 8 * k,
                    "malloc_env": env})
        mem.append({"problem": "scalar_chain", "method": "forward", "mode": "forward", "n": 1, "k": k,
                    "peak_rss_delta": 86_016.0, "theory_bytes": 16, "malloc_env": env})
    _rec(out, "memory", mem)

    jac = []
    for n in (1, 4, 16, 64):
        for m in (1, 4, 16, 64):
            for j, (method, t) in enumerate((("f", 1e-6), ("forward_chunked", 1e-6 * n),
                                             ("reverse_batched", 2e-6 * m), ("forward_1", 1e-6 * n),
                                             ("reverse_1", 1e-6 * m))):
                row = {"problem": "tanh_affine", "method": method, "n": n, "m": m,
                       "reverse_weight": 8.0, "mode": method.split("_")[0], **_timed(t, seed=n + m + j),
                       "config_key": f"jac-{n}-{m}-{method}"}
                if (n, m, method) == (64, 1, "reverse_batched"):
                    row = {k: v for k, v in row.items() if not k.startswith("t")}
                    row.update(status="timeout", error="time limit of 60 s exceeded")
                if (n, m, method) == (64, 64, "forward_1"):
                    row = {k: v for k, v in row.items() if not k.startswith("t")}
                    row.update(status="failed", error="MemoryError at api.py:1")
                jac.append(row)
    _rec(out, "jacobian_crossover", jac)
    # two more trials of the cell n = m = 4; in the last alone forward looks slower (3x), pooled
    # over all three it is faster: every Jacobian figure must use the pooled times
    for stamp, factor in (("2026-02-01T10:05:00", 1.0), ("2026-02-01T10:10:00", 3.0)):
        _rec(out, "jacobian_crossover", [
            {"problem": "tanh_affine", "method": meth, "n": 4, "m": 4, "mode": meth.split("_")[0],
             "reverse_weight": 8.0, "config_key": f"jac-4-4-{meth}", **_timed(t)}
            for meth, t in (("f", 1e-6), ("forward_chunked", 4e-6 * factor), ("reverse_batched", 8e-6))],
             stamp=stamp)

    gc = []  # one size only
    for func in ("rosenbrock", "logsumexp"):
        for method, ratio in (("reverse", 3.5), ("forward", 300.0)):
            gc.append({"problem": func, "method": method, "mode": method, "n": 1000, "note": "vectorised",
                       "ratio_median": ratio, "ratio_iqr": 0.1, "t_median": ratio * 1e-5, "f_median": 1e-5})
    _rec(out, "gradient_cost", gc)
    _rec(out, "seed", [{"problem": "V", "method": "value", "value": 26.0, "check_err": 0.0}])

    peers = [{"problem": "versions", "method": "modes", "mode": "info", "note": "modes 0.1.0", "check_err": 0.0},
             {"problem": "versions", "method": "autograd", "mode": "info", "status": "skipped",
              "error": "autograd is not installed"},
             {"problem": "talk", "method": "f", "mode": "plain", "t_median": 1e-7},
             {"problem": "talk", "method": "modes:reverse", "mode": "reverse", "t_median": 2e-5,
              "t_q1": 2e-5, "t_q3": 2e-5, "check_err": 0.0}]
    _rec(out, "peers", peers)
    # autograd measured by older code: left out of every table, named with its date and version
    _rec(out, "peers", [{"problem": "talk", "method": "autograd:reverse", "mode": "reverse",
                         "t_median": 1.14e-4, "t_q1": 1.14e-4, "t_q3": 1.14e-4, "check_err": 0.0}],
         version=OLD, stamp=THEN, prefix="old")

    _rec(out, "benchmarks", [
        {"problem": "gmm", "method": "f", "mode": "plain", "n": 1, "m": 1, "k": 1, "note": "d=2",
         "t_median": 1e-4},
        {"problem": "gmm", "method": "reverse", "mode": "reverse", "n": 1, "m": 1, "k": 1, "note": "d=2",
         "t_median": 4.01e-4, "ratio_median": 4.01, "ratio_q1": 4.0, "ratio_q3": 4.02, "check_err": 0.0}])

    ov = []
    costs = {"loop": {"f": 50e-9}, "step": {"f": 250e-9, "record": 5.05e-6, "reverse": 9.05e-6, "forward": 6.05e-6},
             "multiply": {"f": 130e-9, "record": 2.05e-6, "reverse": 4.05e-6, "forward": 3.05e-6}}
    nodes = {"loop": 0, "step": 2, "multiply": 1}
    for kind, per in costs.items():
        for k in (300, 3000):
            for method, s in per.items():
                ov.append({"problem": kind, "method": method, "mode": method, "n": 1, "k": k,
                           "t_median": 2e-6 + s * k, "ops": nodes[kind] * k + 2})
    for k in (3000, 30_000):
        ov.append({"problem": "tanh", "method": "tape", "mode": "reverse", "n": 1, "k": k, "ops": k + 1,
                   "peak_rss_delta": 400.0 * (k + 1) + 8192, "value": 380.0 * (k + 1), "tape_bytes": 8.0 * (k + 1)})
    _rec(out, "overhead", ov)
    # an experiment this module does not know, and a CSV that holds no trials
    _rec(out, "extra_experiment", [{"problem": "p", "method": "f", "mode": "plain", "t_median": 1e-6},
                                   {"problem": "p", "method": "g", "mode": "plain", "status": "failed",
                                    "error": "ValueError at x.py:1"}])
    (out / "notes.csv").write_text("figure,value\na,1\n")


def _make(out: Path) -> Path:
    info = {k: "x" for k in machine.FINGERPRINT_KEYS}
    info.update(machine_id=MID, cpu_model="Synthetic CPU", numpy="9.9", blas="fastblas 1.0")
    machine.record(out, info)
    _rows(out)
    return out


@pytest.fixture
def synthetic(tmp_path: Path) -> Path:
    return _make(tmp_path)


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """The tables, their calibration, figures and report, built once for the report tests."""
    out = _make(tmp_path_factory.mktemp("report"))
    assert analysis.write_calibration(out, resamples=200) is not None
    plots.make_all(out)
    return out, report.write(out).read_text()


def _section(text: str, title: str) -> str:
    start = text.index(title)
    nxt = text.find("\n## ", start + len(title))
    return text[start:nxt if nxt >= 0 else len(text)]


def _table_after(text: str, marker: str) -> list[list[str]]:
    """The rows (cells) of the first markdown table after ``marker``."""
    lines = text[text.index(marker):].splitlines()
    start = next(i for i, ln in enumerate(lines) if ln.startswith("|"))
    rows = []
    for ln in lines[start + 2:]:
        if not ln.startswith("|"):
            break
        rows.append([c.strip() for c in ln.strip("|").split("|")])
    return rows


def _sentence_counts(sentence_text: str) -> tuple[int, int]:
    m = re.search(r"Of the (\d+) row\(s\) behind this table, (none|\d+) (?:was|were)", sentence_text)
    assert m, sentence_text
    return int(m.group(1)), 0 if m.group(2) == "none" else int(m.group(2))


# ---- analysis --------------------------------------------------------------------------------------------
def test_analysis_recovers_known_numbers(synthetic: Path) -> None:
    frames = analysis.load(synthetic)
    sg = frames["scalar_gradient"]
    slopes = analysis.time_slopes(sg[sg["problem"] == "rosenbrock"]).set_index("method")["slope"]
    assert slopes["f"] == pytest.approx(1.0) and slopes["reverse"] == pytest.approx(1.0)
    assert slopes["forward"] == pytest.approx(2.0)
    fits = analysis.memory_fits(frames["memory"]).set_index(["problem", "mode"])
    assert fits.loc[("vector_chain", "reverse"), "peak_bytes_per_op"] == pytest.approx(8000.0)
    assert not fits.loc[("vector_chain", "reverse"), "peak_flat"]
    assert fits.loc[("vector_chain", "forward"), "peak_flat"]  # -0.066 B/op is noise: flat
    jac = analysis.pooled_rows(synthetic)  # every trial of a cell, as the calibration sees them
    assert analysis.calibrate(frames["jacobian_crossover"]).best_right == 14  # the last trial alone misleads
    cal = analysis.calibrate(jac)
    # forward is faster iff n < 2 m: on sizes in powers of 4 any 1 <= w < 4 is right everywhere
    assert (cal.interval_lo, cal.interval_hi, cal.best_weight) == (1.0, 4.0, 2.0)
    assert cal.best_right == cal.cells == 15  # the timed-out cell has no reverse time
    aff = analysis.calibrate_affine(jac)
    assert aff is not None and aff.right == aff.cells == 15 and aff.offset == 0.0
    st = analysis.selftest(frames["memory"])
    assert st["rel_error"] == pytest.approx(0.01)


def test_rows_of_older_code_are_left_out(synthetic: Path) -> None:
    split = analysis.load_split(synthetic)["peers"]
    assert split.version == NEW
    assert list(split.older["method"]) == ["autograd:reverse"]
    assert "autograd:reverse" not in set(split.current["method"])
    prov = analysis.provenance(analysis.load_split(synthetic)).set_index("experiment")
    assert prov.loc["peers", "older"] == [{"version": OLD, "rows": 1, "first": THEN, "last": THEN}]
    assert prov.loc["memory", "older_rows"] == 0


def test_flat_fit() -> None:
    x = np.array([1.0, 10, 100, 1000])
    assert analysis.is_flat(analysis.linear_fit(x, 5000 + np.array([0, 3, -2, 1]) - 0.066 * x), 4096)
    assert not analysis.is_flat(analysis.linear_fit(x, 392 * x), 4096)
    assert analysis.is_flat(analysis.linear_fit([1, 2], [100.0, 100.5]), 4096)  # below one page


def test_overhead_explains_with_known_costs(synthetic: Path) -> None:
    frames = analysis.load(synthetic)
    t = overhead_report.op_times(frames["overhead"]).set_index("kind")
    assert t.loc["step", "f_s"] == pytest.approx(200e-9)
    assert t.loc["step", "reverse_s"] == pytest.approx(9e-6)
    assert t.loc["step", "ops_per_step"] == pytest.approx(2.0)
    assert t.loc["multiply", "sweep_s"] == pytest.approx(2e-6)
    p = overhead_report.speelpenning(frames["overhead"], frames["scalar_gradient"])
    assert p["predicted"] == pytest.approx((0.05 + 9) / (0.05 + 0.2))
    assert p["measured"] == 60.0 and p["measured_n"] == 1000
    b = overhead_report.node_bytes(frames["overhead"]).set_index("kind")
    assert b.loc["tanh", "rss"] == pytest.approx(400.0) and b.loc["tanh", "residual"] == pytest.approx(8.0)
    c = overhead_report.scalar_chain(frames["overhead"], frames["memory"])
    assert c["measured"] == pytest.approx(392.0) and c["python"] == pytest.approx(380.0)


# ---- the report: each sentence against the rows -------------------------------------------------------------
def test_status_table_and_sentences_match_rows(built: tuple[Path, str]) -> None:
    out, text = built
    frames = analysis.load(out)
    rows = _table_after(text, "Rows per experiment and status")
    shown = {r[0]: tuple(int(c) for c in r[1:]) for r in rows}
    for name, df in frames.items():
        if df.empty:
            assert name not in shown
            continue
        want = tuple(int((df["status"] == s).sum()) for s in ("ok", "skipped", "failed", "timeout"))
        assert shown[name] == want, name
    assert "extra_experiment" in shown and "notes" not in frames
    every = pd.concat([df for df in frames.values() if len(df)])
    bad = every[every["status"] != "ok"]
    method = _section(text, "## How it was measured")
    assert _sentence_counts(method) == (len(every), len(bad))
    assert f"{int((bad['status'] == 'skipped').sum())} skipped" in method
    assert f"{int((bad['status'] == 'timeout').sum())} timed out" in method
    listed = _section(text, "## Skipped and failed trials")
    assert _sentence_counts(listed) == (len(every), len(bad))
    assert len(_table_after(listed, "| experiment")) == len(bad)
    assert "predicted over budget" in listed and "time limit of 60 s exceeded" in listed


def test_missing_tool_is_only_named(built: tuple[Path, str]) -> None:
    out, text = built
    peers = _section(text, "## modes and the other tools")
    versions = _table_after(peers, "| tool | version")
    assert ["autograd", "", "", "skipped: autograd is not installed"] in versions
    talk = _table_after(peers, "### The talk's example")
    assert [r[0] for r in talk] == ["modes"]  # autograd's 114 µs of older code is not shown
    assert "114 µs" not in text and "autograd (" not in peers.split("### The talk's example")[1]
    assert "not measured: autograd" in peers
    df = analysis.current_rows(out, "peers")
    assert _sentence_counts(peers.split("### Checks, skips and failures")[1]) == (
        len(df), int((df["status"] != "ok").sum()))
    prov = _section(text, "## Which rows this report uses")
    assert f"1 of `{OLD}` ({THEN})" in prov


def test_no_range_over_one_value_and_no_negative_bytes(built: tuple[Path, str]) -> None:
    _, text = built
    for a, b in re.findall(r"(-?\d[\d.e+\u2009]*(?: [µmk]?s| [KMG]iB| B)?) to (-?\d[\d.e+\u2009]*(?: [µmk]?s| [KMG]iB| B)?)", text):
        assert a != b, f"a range over one value: {a} to {b}"
    assert not re.search(r"-\d[\d.e+]* bytes", text)
    assert "over 1 size" not in text and "1 size(s)" not in text
    claim2 = _section(text, "## Claim 2")
    assert "forward mode's peak is flat in k" in claim2
    k = report.size(1000)
    assert f"| vector_chain | {k} | forward | 4 | 1 to {k} | flat |" in claim2
    assert "ratio 3.5; 2 of 2 function(s) within the bound" in text  # gradient cost at one size
    assert f"at n = {k} (one size): 60." in text  # Speelpenning at one size
    assert "ratio gradient/objective 4.01 at one size" in text


def test_overhead_sentences(built: tuple[Path, str]) -> None:
    _, text = built
    pred = (0.05 + 9) / (0.05 + 0.2)
    claim1 = _section(text, "## Claim 1")
    assert (f"predicted reverse/f \u2248 **{report.num(pred)}**, measured **60** (at n = "
            f"{report.size(1000)}; its tape holds 2 nodes per element)") in claim1
    claim2 = _section(text, "## Claim 2")
    assert "holding 400 bytes of RSS" in claim2 and "380 of them Python objects" in claim2
    assert "only 8 residual bytes" in claim2 and "measured 392" in claim2
    section = _section(text, "## The cost of one taped operation")
    assert f"| p * x[i] (Speelpenning's step) | 300, {report.size(3000)} | 200 ns |" in section


def test_calibration_statements_match_their_records(built: tuple[Path, str]) -> None:
    out, text = built
    rec = json.loads((out / analysis.CALIBRATION_FILE).read_text())["crossover"]
    jac = _section(text, "## The Jacobian crossover")
    s = calibration.sentences(rec)
    for key in ("rule", "verdict", "boundary"):
        assert s[key] in jac, key
    held = calibration.load_record()
    if held is not None:
        assert calibration.sentences(held)["rule"] in jac
    lib = rec["library"]
    rec_cells = analysis._cells(analysis.load(out)["jacobian_crossover"], "batched")
    right = lib["right"]
    assert rec["cells"] == len(rec_cells)
    assert f"picks the faster mode in {right} of {len(rec_cells)} cells" in jac
    # the cells listed as mistakes are the ones the calibration counts (every trial pooled)
    pooled = analysis._cells(analysis.pooled_rows(out), "batched")
    picks = pooled["n"] <= lib["REVERSE_WEIGHT"] * pooled["m"] + lib["FORWARD_OFFSET"]
    assert lib["right"] == int(((pooled["t_fwd"] <= pooled["t_rev"]) == picks).sum())
    if lib["right"] < rec["cells"]:
        assert len(_table_after(jac, "Cells where the library's rule")) == rec["cells"] - lib["right"]
    assert rec["trials_per_cell"] == [1, 3]


def test_plots_from_tables_only(built: tuple[Path, str]) -> None:
    out, text = built
    for fig in plots.FIGURES.values():
        assert (out / fig).exists() and f"]({fig})" in text
    frames = analysis.load(out)
    grid = plots.status_grid(frames["jacobian_crossover"], "tanh_affine", "batched")
    assert grid.loc[1, 64] == "timeout" and grid.loc[4, 4] == ""
    one = plots.status_grid(frames["jacobian_crossover"], "tanh_affine", "one_at_a_time")
    assert one.loc[64, 64] == "failed"


def test_report_from_tables_only(built: tuple[Path, str]) -> None:
    _, text = built
    assert "Synthetic CPU" in text and "fastblas 1.0" in text
    assert re.search(r"Over all sizes: f 1\.00 .*reverse 1\.00 .*forward 2\.00", text)  # fitted slopes
    assert "8e+03 bytes of peak RSS per operation" in text
    assert "MALLOC_MMAP_THRESHOLD_=65536" in text


# ---- calibration ----------------------------------------------------------------------------------------
def _cells(truth: float, noise: float, trials: int, seed: int = 0) -> pd.DataFrame:
    """Jacobian rows where forward costs n and reverse ``truth`` m (times with noise per round)."""
    rng = np.random.default_rng(seed)
    rows = []
    for t in range(trials):
        for n in (1, 4, 16, 64, 256):
            for m in (1, 4, 16, 64, 256):
                stamp = f"2026-02-0{t + 1}T10:00:00"
                for method, base in (("forward_chunked", 1e-6 * n), ("reverse_batched", truth * 1e-6 * m)):
                    times = list(base * np.exp(noise * rng.standard_normal(5)))
                    rows.append({"problem": "p", "n": n, "m": m, "method": method, "status": "ok",
                                 "t_median": float(np.median(times)), "times": json.dumps(times),
                                 "timestamp": stamp, "code_version": NEW, "machine": MID})
    return pd.DataFrame(rows)


def test_clearly_better_fit_is_adopted() -> None:
    # forward costs n, reverse 2 m: forward is faster iff n < 2 m; the library's n <= 16 m is
    # wrong on 7 of 25 cells by factors up to 8
    rec = calibration.calibrate(_cells(2.0, 0.05, 3), weight=16.0, offset=0.0, resamples=200)
    assert rec["trials_per_cell"] == [3, 3] and rec["rounds_per_cell"] == [15, 15]
    assert rec["fit"]["right"] == rec["cells"] == 25
    assert rec["fit_better_share"] >= calibration.ADOPT_SHARE and rec["adopt"]
    lo, hi = rec["refit"]["weight_interval"]
    assert lo <= rec["fit"]["REVERSE_WEIGHT"] <= hi
    # sizes in powers of 4: every 1 <= w < 4 (with n0 = 0) makes the right choices
    assert rec["fit"]["FORWARD_OFFSET"] == 0.0 and rec["fit"]["weight_range"] == [1.0, 4.0]
    assert "every w with 1 <= w < 4 makes the same choices" in calibration.sentences(rec)["verdict"]


def test_noise_level_difference_is_not_adopted() -> None:
    # the library's rule n <= m differs from any fit only on the tie line n = m, where the
    # modes cost the same up to noise: no fit can be clearly better
    rec = calibration.calibrate(_cells(1.0, 0.3, 3, seed=1), weight=1.0, offset=0.0, resamples=200)
    assert not rec["adopt"]
    assert rec["fit_better_share"] < calibration.ADOPT_SHARE or rec["median_gain"] < calibration.ADOPT_GAIN


def test_generated_cost_model_block(tmp_path: Path) -> None:
    rec = calibration.calibrate(_cells(2.0, 0.05, 2), weight=16.0, offset=0.0, resamples=50)
    src = tmp_path / "cost_model.py"
    src.write_text(calibration.COST_MODEL.read_text())
    held = calibration.in_force(rec)
    src.write_text(calibration.apply(src.read_text(), held))
    text = src.read_text()
    assert f"REVERSE_WEIGHT = {calibration._const(rec['fit']['REVERSE_WEIGHT'])}" in text
    assert calibration.apply(text, held) == text  # idempotent: the module states its record
    assert "replaced n <= 16 m + 0" in " ".join(text.split())
    assert math.isfinite(held["library"]["mean_slowdown"])


def test_loaded_tables_keep_one_row_per_configuration(synthetic: Path) -> None:
    df = load_csv(synthetic / "peers.csv")
    assert len(df) == 5 and df["config_key"].is_unique
