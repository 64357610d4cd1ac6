"""Report and plots generated from a tiny synthetic table with known answers."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from experiments import analysis, machine, plots, report
from experiments.store import Store

MID = "synthetic01"


def _rows(out: Path) -> None:
    def rec(exp: str, rows: list[dict]) -> None:
        store = Store(out / f"{exp}.csv", MID)
        for i, r in enumerate(rows):
            r.setdefault("status", "ok")
            r.setdefault("config_key", f"{exp}-{i}")
            r.setdefault("experiment", exp)
            r.setdefault("timestamp", "2026-01-01T00:00:00")
            r.setdefault("load_avg", 1.0)
        store.record(rows)

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
    rec("scalar_gradient", sg)

    mem = [{"problem": "allocation", "method": "selftest", "mode": "plain", "n": 1, "k": 1,
            "peak_rss_delta": 2.02e8, "theory_bytes": 2e8, "rss_peaks": [2.02e8], "peak_hwm_delta": 2e8,
            "malloc_env": "MALLOC_MMAP_THRESHOLD_=65536"}]
    for k in (1, 10, 100, 1000):
        mem.append({"problem": "vector_chain", "method": "reverse", "mode": "reverse", "n": 1000, "k": k,
                    "peak_rss_delta": 8000.0 * k + 1000, "tape_bytes": 8000.0 * k,
                    "theory_bytes": 8000 * k, "malloc_env": "MALLOC_MMAP_THRESHOLD_=65536"})
        mem.append({"problem": "vector_chain", "method": "forward", "mode": "forward", "n": 1000, "k": k,
                    "peak_rss_delta": 5000.0, "theory_bytes": 16000, "malloc_env": "MALLOC_MMAP_THRESHOLD_=65536"})
    rec("memory", mem)

    jac = []
    for n in (1, 4, 16, 64):
        for m in (1, 4, 16, 64):
            for method, t in (("f", 1e-6), ("forward_chunked", 1e-6 * n), ("reverse_batched", 2e-6 * m),
                              ("forward_1", 1e-6 * n), ("reverse_1", 1e-6 * m)):
                jac.append({"problem": "tanh_affine", "method": method, "n": n, "m": m, "t_median": t,
                            "reverse_weight": 8.0, "mode": method.split("_")[0]})
    rec("jacobian_crossover", jac)

    gc = []
    for func in ("rosenbrock", "logsumexp"):
        for method, ratio in (("reverse", 3.5), ("forward", 300.0)):
            gc.append({"problem": func, "method": method, "mode": method, "n": 1000, "note": "vectorised",
                       "ratio_median": ratio, "ratio_iqr": 0.1, "t_median": ratio * 1e-5, "f_median": 1e-5})
    rec("gradient_cost", gc)
    rec("seed", [{"problem": "V", "method": "value", "value": 26.0, "check_err": 0.0}])


@pytest.fixture
def synthetic(tmp_path: Path) -> Path:
    info = {k: "x" for k in machine.FINGERPRINT_KEYS}
    info.update(machine_id=MID, cpu_model="Synthetic CPU", numpy="9.9", blas="fastblas 1.0")
    machine.record(tmp_path, info)
    _rows(tmp_path)
    return tmp_path


def test_analysis_recovers_known_numbers(synthetic: Path) -> None:
    frames = analysis.load(synthetic)
    slopes = analysis.time_slopes(frames["scalar_gradient"]).set_index("method")["slope"]
    assert slopes["f"] == pytest.approx(1.0) and slopes["reverse"] == pytest.approx(1.0)
    assert slopes["forward"] == pytest.approx(2.0)
    fits = analysis.memory_fits(frames["memory"]).set_index("mode")
    assert fits.loc["reverse", "peak_bytes_per_op"] == pytest.approx(8000.0)
    assert fits.loc["forward", "peak_bytes_per_op"] == pytest.approx(0.0, abs=1e-9)
    cal = analysis.calibrate(frames["jacobian_crossover"])
    # forward is faster iff n < 2 m: on sizes in powers of 4 any 1 <= w < 4 is right everywhere
    assert (cal.interval_lo, cal.interval_hi, cal.best_weight) == (1.0, 4.0, 2.0)
    assert cal.best_right == cal.cells == 16 and cal.best_mean_slowdown == pytest.approx(1.0)
    assert cal.crossover_n_over_m == pytest.approx(2.0)
    assert cal.current_weight == 8.0 and cal.current_right < cal.cells
    aff = analysis.calibrate_affine(frames["jacobian_crossover"])
    assert aff is not None and aff.right == aff.cells == 16 and aff.offset == 0.0
    st = analysis.selftest(frames["memory"])
    assert st["rel_error"] == pytest.approx(0.01)


def test_report_and_plots_from_tables_only(synthetic: Path) -> None:
    assert analysis.write_calibration(synthetic) is not None
    cal = json.loads((synthetic / analysis.CALIBRATION_FILE).read_text())
    assert cal["REVERSE_WEIGHT"] == 2.0
    written = plots.make_all(synthetic)
    assert {p.name for p in written} == set(plots.FIGURES.values())
    path = report.write(synthetic)
    text = path.read_text()
    assert "Synthetic CPU" in text and "fastblas 1.0" in text
    assert "REVERSE_WEIGHT = 2**" in text
    assert re.search(r"Over all sizes: f 1\.00 .*reverse 1\.00 .*forward 2\.00", text)  # fitted slopes
    assert "8e+03 bytes of peak RSS per operation" in text
    assert "from 4 to 4" in text  # the reverse ratio, constant in n
    assert "MALLOC_MMAP_THRESHOLD_=65536" in text
    assert "predicted over budget" in text  # skipped rows are listed with their reason
    for fig in plots.FIGURES.values():
        assert f"]({fig})" in text
