"""modes.recommend: the table it builds, the mode it picks, and how it copes with failing methods.

The measured cases have a dimension gap far beyond any noise (reverse about 50-200x faster for a
scalar Rosenbrock of 1000 inputs; forward about 40-80x faster for R^2 -> R^1000), so the picks hold
on a loaded machine; nothing here asserts a timing. The decision rule itself is checked on
synthetic rows with made-up times.
"""

from __future__ import annotations

import os
import sys
import time

import numpy as np
import pytest

import modes
from modes.recommend import (COLUMNS, RecommendError, Recommendation, _blas_thread_functions, _decide,
                             fmt_bytes, fmt_seconds)

pd = pytest.importorskip("pandas")

BUDGET = 0.3
LINUX = sys.platform.startswith("linux") and hasattr(os, "fork")


def rosenbrock(x):
    return np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)


T = np.linspace(0.0, 1.0, 1000)


def wave(x):
    """R^2 -> R^1000: a batched reverse sweep carries 1000 x 1000 cotangents, forward 2 x 1000."""
    a = np.sin(x[0] * T) * np.exp(-x[1] * T)
    b = np.tanh(a * T + x[0])
    return b * b + np.cos(b) * x[1]


def refuses_duals(x):
    if isinstance(x, modes.Dual):
        raise TypeError("refuses_duals: no dual numbers here")
    return np.sum(np.sin(x) ** 2)


def refuses_vars(x):
    if isinstance(x, modes.Var):
        raise TypeError("refuses_vars: no tape variables here")
    return np.sum(np.sin(x) ** 2)


def drops_derivative(x):
    return float(np.sum(x))  # TracedConversionError in both modes


X1000 = np.random.default_rng(0).uniform(-1.0, 1.0, 1000)


@pytest.fixture(scope="module")
def rosen() -> Recommendation:
    return modes.recommend(rosenbrock, X1000, budget=BUDGET)


@pytest.fixture(scope="module")
def waves() -> Recommendation:
    return modes.recommend(wave, np.array([0.3, 0.7]), budget=BUDGET)


# ---- picks from measurement ----------------------------------------------------------------------------
def test_scalar_function_of_1000_inputs_gets_reverse(rosen):
    assert rosen.mode == "reverse"
    assert rosen.scalar and (rosen.n_in, rosen.n_out) == (1000, 1)
    assert rosen.call == 'grad(f, mode="reverse")'
    assert "reverse is" in rosen.reason and "faster than forward" in rosen.reason
    assert "its tape holds" in rosen.reason
    assert rosen.auto_mode == "reverse" and "agrees" in rosen.reason


def test_vector_function_of_2_inputs_gets_forward(waves):
    assert waves.mode == "forward"
    assert not waves.scalar and (waves.n_in, waves.n_out) == (2, 1000)
    assert waves.call.startswith('jacobian(f, mode="forward"')
    assert "it keeps no tape" in waves.reason and "agrees" in waves.reason


def test_scalar_table_rows_and_columns(rosen):
    t = rosen.table
    assert isinstance(t, pd.DataFrame) and list(t.columns) == COLUMNS
    assert list(t["method"]) == ["f", 'grad(f, mode="forward")',
                                 'jacobian(f, mode="forward", chunk_size=125)', 'grad(f, mode="reverse")']
    assert list(t["mode"]) == ["-", "forward", "forward", "reverse"]
    assert list(t["chunk"].astype(object)) == [pd.NA, 1000, 125, 1]
    assert list(t["passes"]) == [1, 1, 8, 1]
    assert (t["status"] == "ok").all() and t["error"].isna().all()
    assert (t["seconds"] > 0).all() and (t["repeats"] >= 1).all()
    assert t["ratio_to_f"].iloc[0] == 1.0
    np.testing.assert_allclose(t["ratio_to_f"], t["seconds"] / t["seconds"].iloc[0])
    assert (t["peak_bytes"] >= 0).all()
    # The reverse row's tape is the one vjp records (memory.track's peak against pullback.tape).
    _, pullback = modes.vjp(rosenbrock, X1000)
    assert t["tape_bytes"].iloc[3] == pullback.tape.nbytes > 2 * 999 * 8
    assert (t["tape_bytes"].iloc[:3] == 0).all()


def test_vector_table_has_chunked_forward_and_batched_reverse(waves):
    t = waves.table
    assert list(t["method"]) == ["f", 'jacobian(f, mode="forward")',
                                 'jacobian(f, mode="forward", chunk_size=1)', 'jacobian(f, mode="reverse")',
                                 'jacobian(f, mode="reverse", chunk_size=125)']
    assert list(t["chunk"].iloc[1:]) == [2, 1, 1000, 125]
    assert list(t["passes"].iloc[1:]) == [1, 2, 1, 8]
    assert (t["status"] == "ok").all()
    assert (t["tape_bytes"].iloc[3:] > 0).all() and (t["tape_bytes"].iloc[:3] == 0).all()
    # One 1000 x 1000 float64 cotangent block is 8 MB: the batched sweep's peak shows it.
    if LINUX:
        assert t["peak_bytes"].iloc[3] >= 8_000_000


@pytest.mark.skipif(not LINUX, reason="peak RSS is read from /proc in a forked child")
def test_peaks_are_seen_after_the_process_freed_much_memory():
    # 100 000 small arrays freed, the heap's top pinned by the last: ~90 MB of free heap the batched
    # sweep's 8 MB blocks would be carved from without the RSS moving (peaks read 0 before malloc_trim).
    junk = [np.ones(100) for _ in range(100_000)]
    keep = junk[-1]
    del junk
    r = modes.recommend(wave, np.array([0.3, 0.7]), budget=BUDGET)
    assert keep.shape == (100,)
    assert r.table["peak_bytes"].iloc[3] >= 8_000_000


def test_printing_shows_the_table_and_the_recommendation_line(rosen):
    text = str(rosen)
    assert repr(rosen) == text
    lines = text.splitlines()
    assert lines[0].startswith("rosenbrock(float64 (1000,)) -> scalar; n_in = 1000")
    assert lines[1].split()[:3] == ["method", "mode", "chunk"]
    assert any(line.startswith('grad(f, mode="reverse")') for line in lines)
    rec = [line for line in lines if line.startswith("recommendation: ")]
    assert rec == [f"recommendation: reverse -- {rosen.reason}"]
    assert lines[-1] == 'use: grad(f, mode="reverse")'


# ---- a method that fails -------------------------------------------------------------------------------
def test_forward_failure_is_shown_and_reverse_is_recommended():
    r = modes.recommend(refuses_duals, np.linspace(0.0, 1.0, 50), budget=BUDGET)
    assert r.mode == "reverse"
    fwd = r.table[r.table["mode"] == "forward"]
    assert len(fwd) == 2 and (fwd["status"] == "error").all()
    assert fwd["error"].str.contains("TypeError: refuses_duals: no dual numbers here").all()
    assert fwd["seconds"].isna().all() and fwd["peak_bytes"].isna().all()
    assert r.table["status"][r.table["mode"] == "reverse"].tolist() == ["ok"]
    assert r.reason.startswith("forward failed (TypeError: refuses_duals: no dual numbers here); reverse takes ")
    # 50 inputs, 1 output: modes' own rule would pick forward, and the reason says it fails here.
    assert r.auto_mode == "forward"
    assert "differs from modes' auto rule" in r.reason and "which fails here" in r.reason
    assert "error: TypeError: refuses_duals" in str(r)


def test_reverse_failure_is_shown_and_forward_is_recommended():
    r = modes.recommend(refuses_vars, np.linspace(0.0, 1.0, 2000), budget=BUDGET)
    assert r.mode == "forward"
    rev = r.table[r.table["mode"] == "reverse"]
    assert rev["status"].tolist() == ["error"]
    assert "refuses_vars: no tape variables here" in rev["error"].iloc[0]
    assert r.reason.startswith("reverse failed (TypeError: refuses_vars")
    assert r.auto_mode == "reverse" and "which picks reverse (which fails here)" in r.reason
    assert 'grad defaults to reverse: pass mode="forward"' in r.reason


def test_both_modes_failing_raises_naming_f():
    with pytest.raises(RecommendError, match=r"no gradient of drops_derivative could be measured, in "
                       r"either mode: both failed with TracedConversionError"):
        modes.recommend(drops_derivative, np.ones(5), budget=BUDGET)


def test_f_failing_on_its_inputs_raises_naming_f():
    def needs_two(x):
        return x[0] * x[1]

    with pytest.raises(RecommendError, match=r"needs_two failed on the given inputs: IndexError"):
        modes.recommend(needs_two, np.ones(1))
    assert issubclass(RecommendError, modes.ModesError)


@pytest.mark.skipif(not LINUX, reason="timeouts need the forked measuring process")
def test_a_method_past_max_seconds_times_out_and_the_other_mode_is_used():
    def slow_forward(x):
        if isinstance(x, modes.Dual):
            time.sleep(30)
        return np.sum(x * x)

    start = time.monotonic()
    r = modes.recommend(slow_forward, np.ones(10), budget=BUDGET, max_seconds=0.5)
    assert time.monotonic() - start < 20
    fwd = r.table[r.table["mode"] == "forward"]
    assert (fwd["status"] == "timeout").all() and fwd["error"].str.contains("took over 0.5 s").all()
    assert r.mode == "reverse" and r.reason.startswith("forward did not finish")


@pytest.mark.skipif(not LINUX, reason="needs the forked measuring process")
def test_a_method_that_kills_its_process_is_an_error_row():
    def exits_in_reverse(x):
        if isinstance(x, modes.Var):
            os._exit(3)
        return np.sum(x * x)

    r = modes.recommend(exits_in_reverse, np.ones(10), budget=BUDGET, isolate=True)
    rev = r.table[r.table["mode"] == "reverse"]
    assert rev["status"].tolist() == ["error"]
    assert rev["error"].iloc[0] == "the measuring process died (exit status 3)"
    assert r.mode == "forward"


def test_a_method_estimated_past_max_seconds_is_skipped_unrun():
    calls = []

    def slowish(x):
        calls.append(type(x).__name__)
        time.sleep(0.01)
        return np.sum(x)

    r = modes.recommend(slowish, np.ones(1000), budget=BUDGET, max_seconds=2.0, chunk_sizes=(1,),
                        isolate=False)
    row = r.table[r.table["method"] == 'jacobian(f, mode="forward", chunk_size=1)'].iloc[0]
    assert row["passes"] == 1000 and row["status"] == "skipped"
    assert "estimated at" in row["error"] and "over max_seconds=2" in row["error"]
    assert calls.count("Dual") < 100  # the 1000 one-direction passes never ran
    assert r.mode in ("forward", "reverse")


# ---- arguments -----------------------------------------------------------------------------------------
def pair(x, y):
    return np.sum(x) * np.sum(y), np.tanh(x) * y[0]


def test_out_index_picks_one_output_of_a_tuple():
    x, y = np.linspace(0.0, 1.0, 20), np.ones(3)
    r = modes.recommend(pair, x, y, out_index=1, budget=BUDGET, isolate=False)
    assert (r.n_in, r.n_out, r.scalar) == (20, 20, False)
    assert r.description.startswith("pair(float64 (20,), float64 (3,))[1] -> 20 outputs")
    assert r.table["method"].iloc[1] == 'jacobian(f, mode="forward")'
    s = modes.recommend(pair, np.ones(3), np.ones(3), out_index=0, budget=BUDGET, isolate=False)
    assert s.scalar and s.table["method"].iloc[1] == 'grad(f, mode="forward")'
    with pytest.raises(RecommendError, match=r"out_index=5 given, but pair returned tuple"):
        modes.recommend(pair, x, y, out_index=5)


def test_argnum_and_containers():
    r = modes.recommend(pair, np.ones(4), np.ones(3), argnum=1, out_index=0, budget=BUDGET, isolate=False)
    assert r.n_in == 3 and r.table["method"].iloc[1] == 'grad(f, argnum=1, mode="forward")'
    params = {"w": np.ones(5), "b": 0.5}
    r = modes.recommend(lambda p: np.sum(p["w"] ** 2) + p["b"], params, budget=BUDGET, isolate=False)
    assert r.n_in == 6 and (r.table["status"] == "ok").all()
    with pytest.raises(ValueError, match="argnum 2 does not name one of the 1 arguments"):
        modes.recommend(rosenbrock, X1000, argnum=2)


def test_chunk_sizes_add_rows():
    r = modes.recommend(lambda x: np.tanh(x) * 2.0, np.ones(40), chunk_sizes=(1, 10, 99), budget=BUDGET,
                        isolate=False)
    for mode in ("forward", "reverse"):
        rows = r.table[r.table["mode"] == mode]
        assert list(rows["chunk"]) == [40, 10, 1]  # the default first; 99 is capped to 40, the default
        assert list(rows["passes"]) == [1, 4, 40]
    assert r.table["method"].iloc[-1] == 'jacobian(f, mode="reverse", chunk_size=1)'


def test_default_reverse_batch_is_the_one_jacobian_uses():
    # The tape keeps tanh's (3000, 2) result: jacobian(mode="reverse") caps its batch of 3000
    # cotangent rows so one bar of that value stays under CHUNK_ELEMENTS entries.
    t3000 = np.linspace(0.0, 1.0, 3000)
    r = modes.recommend(lambda x: np.sum(np.tanh(np.outer(t3000, x)), axis=1), np.array([0.3, 0.7]),
                        budget=BUDGET, isolate=False)
    row = r.table[r.table["method"] == 'jacobian(f, mode="reverse")'].iloc[0]
    assert row["chunk"] == modes.cost_model.CHUNK_ELEMENTS // 6000 == 699 and row["passes"] == 5
    assert r.mode == "forward"


def test_in_process_measurement_gives_the_same_rows(rosen):
    r = modes.recommend(rosenbrock, X1000, budget=BUDGET, isolate=False)
    assert list(r.table["method"]) == list(rosen.table["method"])
    assert r.mode == "reverse" and list(r.table["tape_bytes"]) == list(rosen.table["tape_bytes"])


def test_blas_threads_are_pinned_while_measuring_and_restored():
    functions = _blas_thread_functions()
    if not functions:
        pytest.skip("no BLAS library whose thread count can be read")
    get, put = functions[0]
    seen = []

    def f(x):
        seen.append(get())
        return np.sum(np.tanh(x @ np.ones((5, 5))))

    before = get()
    put(2)
    try:
        r = modes.recommend(f, np.ones(5), budget=BUDGET, isolate=False)
        assert set(seen) == {1} and get() == 2
        assert r.notes[0].endswith("; BLAS threads 1")
        seen.clear()
        r = modes.recommend(f, np.ones(5), budget=BUDGET, isolate=False, blas_threads=None)
        assert set(seen) == {2} and r.notes[0].endswith("; BLAS threads as set")
    finally:
        put(before)
    with pytest.raises(ValueError, match="blas_threads must be a positive integer or None, got 0"):
        modes.recommend(f, np.ones(5), blas_threads=0)


def test_bad_arguments():
    with pytest.raises(TypeError, match="recommend needs a function"):
        modes.recommend(3.0, X1000)
    with pytest.raises(ValueError, match="budget and max_seconds must be positive"):
        modes.recommend(rosenbrock, X1000, budget=0)


# ---- the decision, on synthetic rows (no timing) -------------------------------------------------------
def _row(method, mode, seconds, chunk=None, peak=0, tape=0, status="ok", error=None):
    return {"method": method, "mode": mode, "chunk": chunk, "passes": 1, "seconds": seconds,
            "peak_bytes": peak, "tape_bytes": tape, "status": status, "error": error}


def test_decide_picks_the_fastest_row_and_states_the_numbers():
    rows = [_row("f", "-", 1e-4),
            _row("fw", "forward", 4.9e-3, chunk=1000, peak=30_000_000),
            _row("fw8", "forward", 2.4e-3, chunk=125, peak=4_000_000),
            _row("rv", "reverse", 1.2e-3, chunk=1, tape=3_200_000)]
    mode, reason, win = _decide(rows, 1000, 1, True, "reverse")
    assert (mode, win["method"]) == ("reverse", "rv")
    assert reason == ("reverse is 2x faster than forward (chunk_size=125) (1.2 ms vs 2.4 ms; 12x the time "
                      "of f); its tape holds 3.2 MB; modes' auto rule (cost_model.choose_mode(n_in=1000, "
                      'n_out=1), used by jacobian(mode="auto")) agrees')


def test_decide_forward_win_mentions_no_tape_and_a_large_peak():
    rows = [_row("f", "-", 1e-4),
            _row("fw", "forward", 1e-3, chunk=1000, peak=40_000_000),
            _row("rv", "reverse", 5e-3, chunk=1, peak=1_000_000, tape=500_000)]
    mode, reason, _ = _decide(rows, 1000, 1, True, "reverse")
    assert mode == "forward"
    assert reason.startswith("forward is 5x faster than reverse (1 ms vs 5 ms; 10x the time of f); it keeps "
                             "no tape (reverse's holds 500 kB), but its peak memory is 40 MB against 1 MB")
    assert reason.endswith("which picks reverse (grad defaults to reverse: pass mode=\"forward\")")


def test_decide_within_ten_percent_prefers_less_memory():
    rows = [_row("f", "-", 1e-4),
            _row("fw", "forward", 1.00e-3, peak=20_000_000),
            _row("rv", "reverse", 1.05e-3, peak=1_000_000, tape=2_000_000)]
    mode, reason, _ = _decide(rows, 50, 50, False, "forward")
    assert mode == "reverse"
    assert reason.startswith("forward and reverse take about the same time (1 ms vs 1.05 ms, within 10%), "
                             "so the one needing less memory is recommended: reverse (2 MB vs 20 MB")
    assert "differs from modes' auto rule" in reason and "which picks forward" in reason


def test_decide_names_another_chunk_only_when_clearly_faster_than_the_default():
    rows = [_row("f", "-", 1e-4),
            _row("fw", "forward", 1.05e-3, chunk=2), _row("fw1", "forward", 1.0e-3, chunk=1),
            _row("rv", "reverse", 9e-3, chunk=1000), _row("rv125", "reverse", 5e-3, chunk=125)]
    mode, reason, win = _decide(rows, 2, 1000, False, "forward")
    assert (mode, win["method"]) == ("forward", "fw")  # chunk 1 is within 10%: the default is named
    assert reason.startswith("forward is 4.76x faster than reverse (chunk_size=125) (1.05 ms vs 5 ms;")
    rows[1]["seconds"] = 2e-3
    assert _decide(rows, 2, 1000, False, "forward")[2]["method"] == "fw1"


def test_formatting():
    assert [fmt_seconds(s) for s in (2.5, 1.2e-3, 3.4e-5, 5e-8, None)] == \
        ["2.5 s", "1.2 ms", "34 us", "50 ns", "-"]
    assert [fmt_bytes(b) for b in (0, 999, 24_000, 3_200_000, 2.5e9, None)] == \
        ["0 B", "999 B", "24 kB", "3.2 MB", "2.5 GB", "-"]
