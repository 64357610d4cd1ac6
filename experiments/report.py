"""``REPORT.md``, generated from the CSVs in the output directory only: ``write(out_dir)``.

Every number in the report is computed here or in ``experiments.analysis`` from the tables; the
text around them states what was measured and how. ``python -m experiments.report [DIR]`` rebuilds
the figures and the report from existing tables without measuring anything.
"""

from __future__ import annotations

import importlib
import math
import sys
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from . import analysis, calibration, counts, plots
from .memory_probe import MALLOC_ENV
from .suite import compiled_report, overhead_report

REPORT_FILE = "REPORT.md"


# ---- formatting ---------------------------------------------------------------------------------------------
def num(x: Any, digits: int = 3) -> str:
    """A number with ``digits`` significant digits ("n/a" when missing)."""
    try:
        v = float(x)
    except (TypeError, ValueError):
        return "n/a"
    if not math.isfinite(v):
        return "n/a"
    if v != 0 and (abs(v) >= 10**6 or abs(v) < 10**-3):
        return f"{v:.{digits - 1}e}"
    return f"{v:.{digits}g}"


def seconds(x: Any) -> str:
    try:
        v = float(x)
    except (TypeError, ValueError):
        return "n/a"
    if not math.isfinite(v):
        return "n/a"
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("µs", 1e-6), ("ns", 1e-9)):
        if abs(v) >= scale:
            return f"{v / scale:.3g} {unit}"
    return f"{v / 1e-9:.3g} ns"


def nbytes(x: Any) -> str:
    try:
        v = float(x)
    except (TypeError, ValueError):
        return "n/a"
    if not math.isfinite(v):
        return "n/a"
    for unit, scale in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if abs(v) >= scale:
            return f"{v / scale:.3g} {unit}"
    return f"{v:.3g} B"


def size(n: Any) -> str:
    try:
        v = int(float(n))
    except (TypeError, ValueError):
        return "n/a"
    return f"{v:,}".replace(",", "\u2009")


def table(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """A GitHub markdown table."""
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
    return "\n".join(lines)


def span(lo: Any, hi: Any, fmt: Any = num) -> str:
    """``"a to b"``, or the single value when both print the same (never "4.01 to 4.01")."""
    a, b = fmt(lo), fmt(hi)
    return a if a == b else f"{a} to {b}"


def span_list(values: Iterable[Any], fmt: Any = num) -> str:
    """The values, comma-separated (one value alone)."""
    return ", ".join(fmt(v) for v in values)


def sizes(n_min: Any, n_max: Any, count: int, name: str = "n") -> str:
    """``"at n = 10"`` for one size, ``"over n = 10 to 1 000 (3 sizes)"`` for several."""
    if count <= 1 or size(n_min) == size(n_max):
        return f"at {name} = {size(n_max)}"
    return f"over {name} = {size(n_min)} to {size(n_max)} ({count} sizes)"


def not_measured(rows: pd.DataFrame) -> str:
    """The sentence that states what ``rows`` (the rows behind the table beside it) hold that was
    not measured, counted from those rows only."""
    bad = analysis.not_ok(rows)
    if bad.empty:
        return f"Of the {len(rows)} row(s) behind this table, none was skipped, failed or timed out."
    counts = bad["status"].value_counts()
    parts = [f"{int(counts[s])} {word}" for s, word in (("skipped", "skipped"), ("failed", "failed"),
                                                       ("timeout", "timed out")) if s in counts]
    return (f"Of the {len(rows)} row(s) behind this table, {len(bad)} were not measured "
            f"({', '.join(parts)}); each is listed with its reason.")


def _figure(out_dir: Path, key: str, caption: str) -> str:
    name = plots.FIGURES[key]
    return f"![{caption}]({name})\n\n*{caption}*\n" if (out_dir / name).exists() else ""


def _values(df: pd.DataFrame, col: str) -> list[str]:
    if not len(df) or col not in df:
        return []
    return sorted({str(v) for v in df[col].dropna()})


# ---- sections --------------------------------------------------------------------------------------------------
def _machine(out_dir: Path, frames: dict[str, pd.DataFrame]) -> str:
    m = analysis.current_machine(out_dir)
    if not m:
        return "## Machine\n\nNo `machine.csv` found.\n"
    rows = [("CPU", m.get("cpu_model", "")), ("cores (logical / physical)",
            f"{m.get('cpu_logical', '')} / {m.get('cpu_physical', '')}"),
            ("memory", f"{m.get('memory_total_gib', '')} GiB"), ("OS", m.get("os", "")),
            ("Python", f"{m.get('python', '')} ({m.get('python_impl', '')})"),
            ("numpy", m.get("numpy", "")), ("BLAS", m.get("blas", ""))]
    if m.get("blas_threads") or m.get("blas_threads_used"):
        rows.append(("BLAS threads (setting / in use)",
                     f"{m.get('blas_threads', 'n/a') or 'n/a'} / {m.get('blas_threads_used', 'n/a') or 'n/a'}"))
    rows += [("modes", m.get("modes", "")), ("pandas / matplotlib / psutil",
             f"{m.get('pandas', '')} / {m.get('matplotlib', '')} / {m.get('psutil', '')}")]
    env = [f"`{k[4:]}={v}`" for k, v in m.items() if k.startswith("env_") and v]
    rows.append(("environment", ", ".join(env) or "none of the BLAS/allocator variables set"))
    commits = sorted({c for df in frames.values() for c in _values(df, "code_version")})
    rows.append(("code version(s) of the rows used", ", ".join(f"`{c}`" for c in commits) or "n/a"))
    threads = sorted({c for df in frames.values() for c in _values(df, "blas_threads")})
    if threads:
        rows.append(("BLAS threads of the rows used", ", ".join(threads)))
    rows.append(("machine id", f"`{m.get('machine_id', '')}`"))
    return "## Machine\n\n" + table(["", ""], rows) + "\n"


def _provenance(splits: dict[str, analysis.Split], since: str | None = None) -> str:
    """Which rows the tables use and which older ones they leave out, per experiment; with
    ``since`` (the run's start), how many of the used rows this run measured."""
    p = analysis.provenance(splits, since)
    if p.empty:
        return ""
    rows = []
    for _, r in p.iterrows():
        older = "; ".join(f"{o['rows']} of `{o['version']}` ({span(o['first'], o['last'], str)})"
                          for o in r["older"]) or "none"
        fresh = (f"{int(r['rows']) - int(r['reused'])} measured in this run, {int(r['reused'])} "
                 "reused" if since else "")
        rows.append((r["experiment"], f"`{r['version']}`" if r["version"] else "not recorded",
                     int(r["rows"]), *([fresh] if since else []),
                     span(r["first"], r["last"], str) if r["rows"] else "", older))
    left = int(p["older_rows"].sum())
    note = ("Every row on record is of the version its experiment uses." if left == 0 else
            f"{left} older row(s) were measured by other code versions: they are named here and "
            "appear in no table, figure or statement below.")
    return ("## Which rows this report uses\n\n"
            "Each experiment's tables use its rows of one code version: the version that wrote its "
            "most recent row (rows of configurations measured by older code are left out, never "
            "mixed in). " + note + "\n\n"
            + table(["experiment", "code version used", "rows", *(["this run"] if since else []),
                     "measured", "older rows left out"], rows)
            + "\n")


def _method(frames: dict[str, pd.DataFrame]) -> str:
    timing = pd.concat([frames[k] for k in ("scalar_gradient", "jacobian_crossover", "gradient_cost")])
    timing = analysis.ok(timing)
    reps = ", ".join(_values(timing, "repeats")) or "n/a"
    targets = ", ".join(seconds(t) for t in sorted({float(v) for v in _values(timing, "target_s")})) or "n/a"
    mem = frames["memory"]
    malloc = ", ".join(f"`{v}`" for v in _values(analysis.ok(mem), "malloc_env")) or \
        ", ".join(f"`{k}={v}`" for k, v in MALLOC_ENV.items())
    mem_reps = ", ".join(_values(analysis.ok(mem), "repeats")) or "n/a"
    caps = [float(v) for df in frames.values() if len(df) for v in df["mem_cap"].dropna()]
    cap = span(min(caps), max(caps), nbytes) if caps else "n/a"
    loads = [float(v) for df in frames.values() if "load_avg" in df for v in df["load_avg"].dropna()]
    load_line = (f"The 1-minute load average at the start of the trials was {span(min(loads), max(loads), lambda v: num(v, 2))} "
                 f"(median {num(float(pd.Series(loads).median()), 2)}; the harness "
                 "itself accounts for about 1): other work on the machine slows trials down and widens "
                 "their IQR.") if loads else ""
    present = [analysis.ok(df) for df in frames.values() if len(df)]
    checked = pd.concat(present) if present else pd.DataFrame(columns=["check_err"])
    errs = checked["check_err"].dropna().astype(float) if len(checked) else pd.Series(dtype=float)
    check_line = (f"Every derivative computed in a trial was checked against the exact derivative: "
                  f"the largest relative error over {len(errs)} checked rows is {num(errs.max(), 2)} "
                  "(column `check_err`).") if len(errs) else ""
    counts = analysis.status_counts(frames)
    status = table(["experiment", "ok", "skipped", "failed", "timeout"],
                   [(e, *(int(counts.loc[e, s]) for s in ("ok", "skipped", "failed", "timeout")))
                    for e in counts.index])
    used = pd.concat([df for df in frames.values() if len(df)]) if any(len(df) for df in frames.values()) \
        else pd.DataFrame(columns=["status"])
    st = analysis.selftest(mem)
    self_line = ("The probe's self-test allocates a known "
                 f"{num(st['expected'] / 1e6)} MB in a fresh subprocess and "
                 f"measured {num(st['measured'] / 1e6)} MB: a relative error of {st['rel_error']:+.2%} "
                 f"(worst of {st['subprocesses']} subprocess(es): {st['worst_rel_error']:.2%}; the kernel's "
                 f"high-water mark gives {num(st['hwm'] / 1e6)} MB).") if st else \
        "The probe's self-test was not run (no `selftest` row)."
    return f"""## How it was measured

* **Runtime.** Each trial times f (plain numpy) and its derivatives in the same process,
  interleaved: after a warm-up call (whose output is checked against the exact derivative,
  `check_err`), each callable's loop count is auto-ranged timeit-style (1, 2, 5, 10, ... calls until a
  batch lasts at least {targets}); then {reps} rounds each time one batch of every callable, with the
  garbage collector disabled inside each batch. Every repeat is kept (`times`); the tables show the
  median and the interquartile range (IQR). Ratios to f are paired round by round.
* **Memory.** Each memory trial runs in fresh subprocesses ({mem_reps} per trial). After set-up
  the baseline RSS is read; a thread polls RSS with psutil about every millisecond during the
  derivative computation; the peak minus the baseline is recorded (median over the subprocesses),
  beside the tape's exact residual bytes (`Tape.nbytes`) and the theoretical bytes. The allocator is
  pinned in every trial subprocess with {malloc} (glibc would otherwise keep freed temporaries
  resident and inflate RSS). {self_line} A fitted growth that is within two standard errors of
  zero, or below one page ({nbytes(analysis.RSS_RESOLUTION)}) over the fitted range, is reported as
  **flat**.
* **Safety.** Each trial's memory is estimated beforehand and the trial is skipped (with its reason)
  above a share of the available memory (the cap was {cap}); every trial has a time limit; a failed
  or timed-out trial is a row with its error and the run goes on. Forward mode stops growing n once
  one call is predicted to exceed the per-call budget; those sizes are `skipped` rows.
  {load_line}
* **Checks.** {check_line}

Rows per experiment and status (the rows this report uses). {not_measured(used)}

{status}
"""


def _ratio_line(what: str, r: pd.Series) -> str:
    """The reverse-ratio sentence of one problem: a range over several sizes, a value at one."""
    if int(r["sizes"]) == 1:
        return (f"* **{what}** (paired median ratio) at n = {size(r['n_max'])} (one size): "
                f"{num(r['ratio_max'])}.")
    big = (f"; maximum over n \u2265 {size(analysis.LARGE_N)}: {num(r['ratio_max_large_n'])}"
           if math.isfinite(r["ratio_max_large_n"]) else "")
    vary = (f" Across a {num(r['n_max'] / r['n_min'])}-fold range of n the ratio varies by a factor "
            f"{num(r['ratio_max'] / r['ratio_min'])}." if r["ratio_max"] != r["ratio_min"] else
            " The ratio is the same at every size.")
    return (f"* **{what}** (paired median ratio) {sizes(r['n_min'], r['n_max'], int(r['sizes']))}: "
            f"{span(r['ratio_min'], r['ratio_max'])}; maximum {num(r['ratio_max'])} at n = "
            f"{size(r['n_at_max'])}; {num(r['ratio_at_largest_n'])} at the largest n{big}.{vary}")


def _slope_text(s: pd.DataFrame, problem: str, method: str) -> str:
    r = s[(s["problem"] == problem) & (s["method"] == method)]
    if r.empty or not math.isfinite(r["slope"].iloc[0]):
        return "n/a"
    r = r.iloc[0]
    fit = analysis.Fit(r["slope"], r["intercept"], r["r2"], int(r["points"]), r["x_min"], r["x_max"],
                       r.get("se", math.nan))
    value = "flat" if analysis.is_flat(fit) else f"{r['slope']:.2f}"
    return f"{value} (n = {size(r['x_min'])} to {size(r['x_max'])}, {int(r['points'])} sizes)"


def _claim1(out_dir: Path, frames: dict[str, pd.DataFrame]) -> str:
    df = frames["scalar_gradient"]
    tab = analysis.scalar_table(df)
    if tab.empty:
        return "## Claim 1: the gradient costs a small constant multiple of f\n\nNo data.\n"
    rs = analysis.ratio_summary(df, "reverse").set_index("problem")
    fs = analysis.ratio_summary(df, "forward").set_index("problem")
    slopes_big = analysis.time_slopes(df, analysis.LARGE_N)
    slopes_all = analysis.time_slopes(df, 0)
    speel = overhead_report.speelpenning(frames["overhead"], df)

    parts = ["## Claim 1: the whole gradient costs a small constant multiple of f\n"]
    for problem, g in tab.groupby("problem", sort=False):
        regime = "vectorised numpy" if problem != "speelpenning" else "a scalar loop, one multiply per element"
        lines = [f"### {problem} ({regime})\n"]
        if problem in rs.index:
            lines.append(_ratio_line("Reverse gradient / f", rs.loc[problem]))
        if problem in fs.index:
            r = fs.loc[problem]
            g_f = analysis.ok(df)
            g_f = g_f[(g_f["problem"] == problem) & (g_f["method"] == "forward")].sort_values("n")
            first, last = g_f["ratio_median"].iloc[0], g_f["ratio_median"].iloc[-1]
            if int(r["sizes"]) == 1:
                lines.append(f"* **Forward gradient / f** at n = {size(r['n_max'])} (one size, up to "
                             f"the per-call budget): {num(first)}.")
            else:
                lines.append(
                    f"* **Forward gradient / f** {sizes(r['n_min'], r['n_max'], int(r['sizes']))}, up to "
                    f"the per-call budget: {num(first)} at the smallest n, {num(last)} at the largest "
                    f"(× {num(last / first)} over a {num(r['n_max'] / r['n_min'])}-fold range of n).")
        names = {"f": "f", "reverse": "reverse gradient", "forward": "forward gradient"}
        big = [f"{names[m]} {_slope_text(slopes_big, problem, m)}" for m in names
               if _slope_text(slopes_big, problem, m) != "n/a"]
        every = [f"{m} {_slope_text(slopes_all, problem, m)}" for m in names
                 if _slope_text(slopes_all, problem, m) != "n/a"]
        if big or every:
            lines.append("* **Log-log slopes of time vs n**"
                         + (f" (n \u2265 {size(analysis.LARGE_N)}): " + "; ".join(big) + "." if big else "")
                         + ((" Over all sizes: " if big else " over all sizes: ") + ", ".join(every) + "."
                            if every else ""))
        if problem == "speelpenning":
            lines.append("* " + (overhead_report.speelpenning_sentence(speel, sys.modules[__name__])
                                 if speel is not None else
                                 "The per-operation overhead that sets this ratio is measured by the "
                                 "`overhead` experiment, which has no rows here."))
        rows = []
        for _, r in g.iterrows():
            rows.append((size(r["n"]), seconds(r.get("t_f")), seconds(r.get("t_reverse")),
                         seconds(r.get("t_forward")),
                         f"{num(r.get('ratio_reverse'))} ± {num(r.get('ratio_iqr_reverse'), 2)}",
                         f"{num(r.get('ratio_forward'))}"))
        lines.append("\n" + table(["n", "f", "reverse grad", "forward grad", "reverse/f (IQR)",
                                   "forward/f"], rows) + "\n")
        parts.append("\n".join(lines))
    parts.append(_figure(out_dir, "scalar_gradient_time",
                         "Time of f, of the reverse gradient and of the forward gradient vs n "
                         "(log-log; slopes fitted for n \u2265 " + size(analysis.LARGE_N) + ")"))
    parts.append(_figure(out_dir, "scalar_gradient_ratio",
                         "Gradient time / f time vs n; the band marks the cheap-gradient bound"
                         + ("; the dotted line is the ratio predicted from the per-operation overhead"
                            if speel is not None else "")))
    return "\n".join(parts)


def _per_op(value: float, flat: bool) -> str:
    return "flat" if flat else num(value)


def _claim2(out_dir: Path, frames: dict[str, pd.DataFrame]) -> str:
    fits = analysis.memory_fits(frames["memory"])
    if fits.empty:
        return "## Claim 2: reverse mode pays with memory\n\nNo data.\n"
    lines = ["## Claim 2: reverse mode pays with memory that grows with the number of operations\n",
             "Straight-line fits of bytes against k, the number of tanh steps in the chain "
             "(slope = bytes per operation; **flat**: no growth the measurement can resolve):\n"]
    rows = []
    for _, r in fits.iterrows():
        rows.append((r["problem"], size(r["n"]), r["mode"], int(r["trials"]),
                     span(r["k_min"], r["k_max"], size),
                     "flat" if r["peak_flat"] else f"{num(r['peak_bytes_per_op'])} (R² {num(r['peak_r2'], 3)})",
                     num(r["tape_bytes_per_op"]), num(r["theory_bytes_per_op"]),
                     nbytes(r["peak_at_k_max"]), nbytes(r["tape_at_k_max"])))
    lines.append(table(["problem", "n", "mode", "trials", "k", "peak RSS bytes/op",
                        "tape bytes/op", "theory bytes/op", "peak at k max", "tape at k max"], rows))
    chain = overhead_report.scalar_chain(frames["overhead"], frames["memory"])
    for (problem, n), g in fits.groupby(["problem", "n"], sort=False):
        rev = g[g["mode"] == "reverse"]
        fwd = g[g["mode"] == "forward"]
        if rev.empty or fwd.empty:
            continue
        rv, fw = rev.iloc[0], fwd.iloc[0]
        what = f"n = {size(n)}" if problem == "vector_chain" else "a Python float"
        if rv["peak_flat"]:
            reverse = f"reverse mode's peak RSS is flat in k ({span(rv['peak_min'], rv['peak_max'], nbytes)})"
        else:
            ratio = rv["peak_bytes_per_op"] / rv["theory_bytes_per_op"] if rv["theory_bytes_per_op"] else math.nan
            reverse = (f"reverse mode holds {num(rv['peak_bytes_per_op'])} bytes of peak RSS per operation "
                       f"({num(ratio)} × the theoretical {num(rv['theory_bytes_per_op'])}; the tape itself "
                       f"reports {num(rv['tape_bytes_per_op'])})")
        forward = ("forward mode's peak is flat in k" if fw["peak_flat"] else
                   f"forward mode {num(fw['peak_bytes_per_op'])} bytes per operation")
        lines.append(
            f"\n* **{problem}** ({what}): {reverse}; {forward}, "
            f"{'staying at' if nbytes(fw['peak_min']) == nbytes(fw['peak_max']) else 'its peak between'} "
            f"{span(fw['peak_min'], fw['peak_max'], nbytes).replace(' to ', ' and ')} up to k = {size(fw['k_max'])}, "
            f"where reverse mode peaks at {nbytes(rv['peak_at_k_max'])} "
            f"({num(rv['peak_at_k_max'] / max(fw['peak_at_k_max'], 1.0))} × forward).")
        if problem == "scalar_chain":
            lines.append("* " + (overhead_report.scalar_chain_sentence(chain, sys.modules[__name__])
                                 if chain is not None else
                                 "The bytes of one tape node that set this figure are measured by "
                                 "the `overhead` experiment, which has no rows here."))
    lines.append("\n" + _figure(out_dir, "memory", "Peak RSS above baseline, tape bytes and theory vs "
                                                   "the number of operations k (log-log)"))
    return "\n".join(lines)


def _crossover_record(out_dir: Path, df: pd.DataFrame) -> dict[str, Any] | None:
    """The calibration of this report's Jacobian rows: the file ``write_calibration`` wrote if it
    describes exactly these rows against the constants in force, else computed now (the same
    function)."""
    rec = analysis.read_calibration(out_dir)
    d = analysis.ok(df)
    lib = (rec or {}).get("library", {})
    if (lib.get("REVERSE_WEIGHT"), lib.get("FORWARD_OFFSET")) != (analysis.library_weight(),
                                                                   analysis.current_offset()):
        rec = None  # written against constants no longer in force: evaluate the rule in force
    if rec is not None and len(d):
        stamps = d["timestamp"].dropna().astype(str)
        versions = ", ".join(sorted({str(v) for v in df["code_version"].dropna()}))
        if (rec.get("code_version") == versions and len(stamps)
                and (rec.get("measured") or [None, None])[1] == stamps.max()):
            return rec
    return analysis.crossover_calibration(out_dir)


def _jacobian(out_dir: Path, frames: dict[str, pd.DataFrame]) -> str:
    df = frames["jacobian_crossover"]
    rec = _crossover_record(out_dir, df) if len(analysis.ok(df)) else None
    df = analysis.pooled_rows(out_dir) if rec is not None else df  # every trial, as calibrated
    if rec is None:
        return "## Jacobian crossover\n\nNo data.\n"
    lines = ["## The Jacobian crossover between the modes\n",
             "A full Jacobian of f: R^n -> R^m costs about n forward directions or m reverse sweeps, so "
             "the n = m line is the naive boundary. Measured, per problem (`log2(t_forward / t_reverse)` "
             "> 0 means reverse mode is faster; each time the median over the rounds of every trial of "
             "its cell, as calibrated):\n"]
    for problem in dict.fromkeys(analysis.ok(df)["problem"]):
        for pairing, (fwd, rev) in analysis.PAIRINGS.items():
            cp = analysis.crossover_points(analysis.log2_ratio_grid(df, problem, pairing))
            if cp.empty:
                continue
            cross = cp[cp["kind"] == "crossing"]
            desc = ", ".join(f"m = {int(r['m'])}: n* ≈ {num(r['n_star'], 2)}" for _, r in cross.iterrows())
            other = ", ".join(f"m = {int(r['m'])}: {r['kind']}" for _, r in cp[cp["kind"] != "crossing"].iterrows())
            gm = (2 ** pd.Series([math.log2(v) for v in cross["n_star_over_m"]]).mean()) if len(cross) else math.nan
            mean = f"; geometric mean n*/m = {num(gm)}" if len(cross) > 1 else ""
            if len(cross):
                lines.append(f"* **{problem}, {fwd} vs {rev}**: forward is faster below n* ({desc}"
                             f"{'; ' + other if other else ''}){mean}.")
            else:
                lines.append(f"* **{problem}, {fwd} vs {rev}**: no crossing ({other}).")
    s = calibration.sentences(rec)
    pct = f"{rec['level']:.0%}"
    lines.append(
        f"\n**The calibration on these rows of `jacobian(mode=\"auto\")`** (`{analysis.CALIBRATION_FILE}`, by "
        f"`experiments/calibration.py`: a bootstrap over trials and rounds, {rec['resamples']} "
        f"resamples). Data: {s['data'].replace('``', '`')}. The library's rule {s['rule']}; "
        f"{s['verdict']}; {s['boundary']}"
        + (f"; the measured crossings give n*/m ≈ {num(rec['crossing_n_over_m'])} "
           f"({calibration.interval_text(rec['crossing_interval'], num, pct)}), against 1 for the n = m line"
           if math.isfinite(rec["crossing_n_over_m"] or math.nan) else "; no crossing was measured")
        + f". The {s['criterion']}.")
    lines.append("\n" + _library_statement(out_dir, rec))
    mistakes = analysis.auto_mistakes(df, rec["library"]["REVERSE_WEIGHT"], offset=rec["library"]["FORWARD_OFFSET"])
    one = analysis.calibrate(df, "one_at_a_time", rec["library"]["REVERSE_WEIGHT"])
    if one is not None:
        lines.append(
            f"\nWith one direction or one row per pass (`forward_1` vs `reverse_1`) the best rule "
            f"through the origin would be n \u2264 {num(one.best_weight)} m (any w with "
            f"{num(one.interval_lo)} \u2264 w < {num(one.interval_hi)} makes the same choices): chunking "
            "and batching, not the sweep count alone, move the batched boundary.")
    if len(mistakes):
        rows = [(r["problem"], size(r["n"]), size(r["m"]), r["choice"], seconds(r["t_fwd"]),
                 seconds(r["t_rev"]), num(r["slowdown"])) for _, r in mistakes.head(12).iterrows()]
        shown = f"all {len(mistakes)}" if len(mistakes) <= 12 else f"12 of {len(mistakes)}"
        lines.append(f"\nCells where the library's rule picks the slower mode on these rows (largest "
                     f"slowdowns first; {shown}):\n\n"
                     + table(["problem", "n", "m", "auto picks", "forward", "reverse", "slowdown"], rows))
    lines.append("\n" + _figure(out_dir, "jacobian_heatmap",
                                "log2(t_forward / t_reverse) over (n, m); solid: n = m; dashed: the "
                                "library's rule (modes/cost_model.py); framed: cells where it picks the "
                                "slower mode; hatched: not measured, with the row's status"))
    return "\n".join(lines)


def _library_statement(out_dir: Path, run: dict[str, Any] | None) -> str:
    """What ``modes/cost_model.py`` states about its constants, from the same record it is
    generated from, and whether the record still matches the module."""
    from modes import cost_model

    held = calibration.load_record()
    w, n0 = cost_model.REVERSE_WEIGHT, cost_model.FORWARD_OFFSET
    if held is None:
        return (f"**The constants in `modes/cost_model.py`** (n \u2264 {num(w)} m + {num(n0)}) have no "
                f"calibration record (`{calibration.RECORD_NAME}`).")
    s = calibration.sentences(held)
    lib = held["library"]
    stale = "" if (lib["REVERSE_WEIGHT"], lib["FORWARD_OFFSET"]) == (w, n0) else (
        f" **The module's constants (n \u2264 {num(w)} m + {num(n0)}) differ from that record.**")
    adopt = ""
    if run is not None:
        adopt = (" The fit on these rows meets the criterion: `python -m experiments.calibration adopt "
                 f"{out_dir}` would change the constants." if run["adopt"] else
                 " The fit on these rows does not meet the criterion for changing them.")
    return (f"**The constants in `modes/cost_model.py`** come from `{calibration.RECORD_NAME}` (its "
            f"docstring is generated from the same record): {s['data'].replace('``', '`')}; there the rule "
            f"{s['rule']}; {s['verdict']}.{stale}{adopt}")


def _gradient_cost(out_dir: Path, frames: dict[str, pd.DataFrame]) -> str:
    t = analysis.gradient_cost_table(frames["gradient_cost"])
    if t.empty:
        return "## Gradient cost over a suite of functions\n\nNo data.\n"
    cols = sorted(set(zip(t["method"], t["n"])), key=lambda s: (s[0] != "reverse", s[1]))
    rows = []
    for func, g in t.groupby("problem", sort=False):
        cells = []
        for method, n in cols:
            r = g[(g["method"] == method) & (g["n"] == n)]
            cells.append(f"{num(r['ratio_median'].iloc[0])} ± {num(r['ratio_iqr'].iloc[0], 2)}" if len(r) else "")
        rows.append((func, g["note"].iloc[0], *cells))
    lines = ["## Gradient cost over a suite of functions\n",
             "Paired median time(gradient) / time(f) (± IQR; an empty cell was not measured, see "
             "the skipped trials):\n",
             table(["function", "regime", *(f"{m} n={size(n)}" for m, n in cols)], rows)]
    rev = t[(t["method"] == "reverse") & (t["note"] == "vectorised")]
    if len(rev):
        top = rev[rev["n"] == rev["n"].max()]
        inside = int((top["ratio_median"] <= plots.BOUND[1]).sum())
        same = num(top["ratio_median"].min()) == num(top["ratio_median"].max())
        ratio = (f"ratio {num(top['ratio_median'].iloc[0])}" if same else
                 f"ratio {span(top['ratio_median'].min(), top['ratio_median'].max())} (median "
                 f"{num(top['ratio_median'].median())})")
        lines.append(
            f"\n* Vectorised functions, reverse mode at the largest n = {size(top['n'].iloc[0])}: {ratio}; "
            f"{inside} of {len(top)} function(s) within the bound of {num(plots.BOUND[1])}.")
        small = rev[rev["n"] == rev["n"].min()]
        if small["n"].iloc[0] != top["n"].iloc[0]:
            lines.append(
                f"* At n = {size(small['n'].iloc[0])} the same ratios are "
                f"{span(small['ratio_median'].min(), small['ratio_median'].max())}: at small sizes a fixed "
                "interpretive cost per operation, not the arithmetic, sets the ratio.")
    fwd = t[(t["method"] == "forward") & (t["note"] == "vectorised")]
    if len(fwd):
        for n, g in fwd.groupby("n"):
            lines.append(f"* Forward mode at n = {size(n)}: ratio "
                         f"{span(g['ratio_median'].min(), g['ratio_median'].max())} ({len(g)} function(s)).")
    loop = t[t["note"] == "scalar loop"]
    for (method, n), g in loop.groupby(["method", "n"]):
        lines.append(f"* Scalar loop ({g['problem'].iloc[0]}), {method} at n = {size(n)}: ratio "
                     f"{num(g['ratio_median'].iloc[0])}.")
    split = compiled_report.split_table(frames["gradient_cost"], compiled_report.GRADIENT_COST_METHODS,
                                        sys.modules[__name__])
    if split:
        lines.append("\n**Algorithm and overhead.** " + compiled_report.OVERHEAD_NOTE
                     + " Per function and size (forward counted only where it was timed, up to n = "
                     f"{size(counts.FORWARD_COUNT_MAX_N)}):\n\n" + split + "\n\n"
                     + compiled_report.griewank_sentence(frames["gradient_cost"], sys.modules[__name__]))
    lines.append("\n" + _figure(out_dir, "gradient_cost",
                                "time(gradient) / time(f) per function, both modes; the band marks "
                                f"the cheap-gradient bound {num(plots.BOUND[0])}-{num(plots.BOUND[1])}"))
    return "\n".join(lines)


def _summary(out_dir: Path, frames: dict[str, pd.DataFrame]) -> str:
    """The headline figures, one line per claim (details in the sections below)."""
    lines = []
    sg = frames["scalar_gradient"]
    rs = analysis.ratio_summary(sg, "reverse").set_index("problem") if len(sg) else pd.DataFrame()
    slopes = analysis.time_slopes(sg, analysis.LARGE_N) if len(sg) else pd.DataFrame()
    for problem in rs.index:
        r = rs.loc[problem]
        parts = [f"{m} {_slope_text(slopes, problem, m).split(' (')[0]}" for m in ("reverse", "forward")
                 if _slope_text(slopes, problem, m) != "n/a"]
        slope = (f"; time slope in n for n \u2265 {size(analysis.LARGE_N)}: {', '.join(parts)}"
                 if parts else "")
        if int(r["sizes"]) == 1:
            lines.append(f"* **{problem}**: reverse gradient / f = {num(r['ratio_max'])} at n = "
                         f"{size(r['n_max'])} (one size){slope}.")
        else:
            lines.append(f"* **{problem}**: reverse gradient / f = {span(r['ratio_min'], r['ratio_max'])} "
                         f"{sizes(r['n_min'], r['n_max'], int(r['sizes']))} (max {num(r['ratio_max'])} at "
                         f"n = {size(r['n_at_max'])}, {num(r['ratio_at_largest_n'])} at the largest n){slope}.")
    speel = overhead_report.speelpenning(frames["overhead"], sg)
    if speel is not None and "measured" in speel:
        lines.append(f"* **Per-operation overhead** (Speelpenning): predicted reverse/f "
                     f"{num(speel['predicted'])} from the cost of one taped element (an indexing and a "
                     f"multiply: {seconds(speel['taped_step_s'])} against {seconds(speel['bare_step_s'])} "
                     f"in numpy), measured {num(speel['measured'])} at n = {size(speel['measured_n'])}.")
    fits = analysis.memory_fits(frames["memory"])
    for (problem, n), g in (fits.groupby(["problem", "n"], sort=False) if len(fits) else []):
        by = g.set_index("mode")
        if {"reverse", "forward"} <= set(by.index):
            rv, fw = by.loc["reverse"], by.loc["forward"]
            lines.append(f"* **Memory, {problem}** ({'n = ' + size(n) if problem == 'vector_chain' else 'float'}): "
                         f"reverse {_per_op(rv['peak_bytes_per_op'], rv['peak_flat'])} bytes of peak RSS per "
                         f"operation (theory {num(rv['theory_bytes_per_op'])}), forward "
                         f"{_per_op(fw['peak_bytes_per_op'], fw['peak_flat'])}"
                         f"{'' if fw['peak_flat'] else ' bytes per operation'}.")
    df = frames["jacobian_crossover"]
    rec = _crossover_record(out_dir, df) if len(analysis.ok(df)) else None
    if rec is not None:
        lib, pct = rec["library"], f"{rec['level']:.0%}"
        lines.append(f"* **Jacobian crossover**: `jacobian(mode=\"auto\")`'s rule (forward iff n \u2264 "
                     f"{num(lib['REVERSE_WEIGHT'])}·m + {num(lib['FORWARD_OFFSET'])}) picks the faster mode "
                     f"in {lib['right']} of {rec['cells']} cells of these rows (bootstrap: "
                     f"{calibration.interval_text(lib['right_interval'], calibration.count, pct)})"
                     + (f"; measured n*/m \u2248 {num(rec['crossing_n_over_m'])} "
                        f"({calibration.interval_text(rec['crossing_interval'], num, pct)})"
                        if math.isfinite(rec["crossing_n_over_m"] or math.nan) else "")
                     + ("; the best fit on these cells makes the same choices." if rec["fit"]["same_choices_as_library"]
                        else f"; the best fit {'meets' if rec['adopt'] else 'does not meet'} the criterion "
                             "for changing the constants."))
    t = analysis.gradient_cost_table(frames["gradient_cost"])
    rev = t[(t["method"] == "reverse") & (t["note"] == "vectorised")] if len(t) else t
    if len(rev):
        top = rev[rev["n"] == rev["n"].max()]
        lines.append(f"* **Gradient cost suite** ({len(top)} vectorised function(s), n = {size(top['n'].iloc[0])}): "
                     f"reverse gradient / f = {span(top['ratio_median'].min(), top['ratio_median'].max())}.")
    return "## Summary\n\n" + ("\n".join(lines) if lines else "No data yet.") + "\n"


def _seed(out_dir: Path, frames: dict[str, pd.DataFrame]) -> str:
    df = frames["seed"]
    if df.empty:
        return "## The seed example\n\nNo data.\n"
    rows = [(r["method"], r["status"], num(r["value"]), num(r["check_err"]),
             str(r["note"]) if pd.notna(r["note"]) else str(r["error"]) if pd.notna(r["error"]) else "")
            for _, r in df.iterrows()]
    link = "[`seed_explain.md`](seed_explain.md)" if (out_dir / "seed_explain.md").exists() else "(missing)"
    return ("## The seed example V = x*y + (x+y)*z\n\n"
            f"`modes.explain` output: {link}. Checks against V and its gradient (y+z, x+z, x+y):\n\n"
            + table(["row", "status", "value", "max abs error", "note"], rows) + "\n")


def _problems(frames: dict[str, pd.DataFrame]) -> str:
    rows = []
    for name, df in frames.items():
        if df.empty:
            continue
        bad = analysis.not_ok(df)
        for _, r in bad.iterrows():
            where = ", ".join(f"{c}={size(r[c])}" for c in ("n", "m", "k") if pd.notna(r[c]))
            rows.append((name, r["problem"], r["method"], where, r["status"], str(r["error"])[:160]))
    used = [df for df in frames.values() if len(df)]
    sentence = not_measured(pd.concat(used) if used else pd.DataFrame(columns=["status"]))
    if not rows:
        return "## Skipped and failed trials\n\n" + sentence + "\n"
    shown = rows[:60]
    more = f"\n\n({len(rows) - len(shown)} more not shown.)" if len(rows) > len(shown) else ""
    return ("## Skipped and failed trials\n\n" + sentence + "\n\n"
            + table(["experiment", "problem", "method", "size", "status", "reason"], shown) + more + "\n")


def _library_speed(out_dir: Path, frames: dict[str, pd.DataFrame]) -> str:
    """The library's headline speed figures (``experiments/library_speed.py``), if measured.

    That table records no code version: it is dated by its file and said to be apart from the rows.
    """
    md = out_dir / "library_speed.md"
    if not md.exists():
        return ""
    written = time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(md.stat().st_mtime))
    stamps = [str(v) for df in frames.values() if len(df) for v in df["timestamp"].dropna()]
    when = ""
    if stamps and written < min(stamps):
        when = " It was written before every row this report uses, so it may describe older code."
    return ("## Library speed\n\n"
            "Measured separately by `experiments/library_speed.py` (f and its derivatives timed "
            "interleaved in one process; median and interquartile range over the repeats). Its table "
            f"records no code version; the file was written {written}.{when} Its figures are not "
            "compared with the tables above.\n\n" + md.read_text())


# Sections that experiments contribute themselves: module path -> its ``section(out_dir) -> str``.
# These come first, in this order; every other ``experiments/suite/*_report.py`` follows by name.
EXTRA_SECTIONS = ("experiments.suite.overhead_report", "experiments.suite.checkpointing_report",
                  "experiments.suite.benchmarks_report", "experiments.suite.peers_report")


def section_modules() -> list[str]:
    """``EXTRA_SECTIONS`` and then every other ``experiments/suite/*_report.py``, by name."""
    suite = Path(__file__).resolve().parent / "suite"
    found = sorted(f"experiments.suite.{p.stem}" for p in suite.glob("*_report.py"))
    return list(EXTRA_SECTIONS) + [m for m in found if m not in EXTRA_SECTIONS]


def _extra_sections(out_dir: Path) -> list[str]:
    """Each contributed section; a module that is absent is passed over, one that fails says so."""
    out = []
    for name in section_modules():
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError:
            continue
        try:
            out.append(module.section(out_dir))
        except Exception as exc:  # noqa: BLE001 - a broken section must not lose the rest
            out.append(f"## {name}\n\nThis section could not be built: {type(exc).__name__}: {exc}\n")
    return out


def build(out_dir: Path, since: str | None = None) -> str:
    """The report's markdown for the tables in ``out_dir``; ``since``: the run's start (format of
    the ``timestamp`` column), to say which rows it measured and which it reused."""
    out_dir = Path(out_dir)
    splits = analysis.load_split(out_dir)
    frames = {name: sp.current for name, sp in splits.items()}
    stamps = [str(v) for df in frames.values() if len(df) for v in df["timestamp"].dropna()]
    when = f"trials measured {span(min(stamps), max(stamps), str)}" if stamps else "no trials"
    head = (f"# Forward vs reverse mode: measurements\n\n"
            f"Generated {time.strftime('%Y-%m-%d %H:%M:%S')} from the CSV tables in this directory "
            f"({when}). Rerun with `python experiments/run_all.py` (quick) or "
            f"`--full`; `python -m experiments.report` rebuilds this file from the tables alone. "
            "Every number below is computed from the tables, each experiment's from the rows of one "
            "code version (see \"Which rows this report uses\").\n")
    sections = [head, _summary(out_dir, frames), _machine(out_dir, frames), _provenance(splits, since),
                _method(frames), _claim1(out_dir, frames), _claim2(out_dir, frames),
                _jacobian(out_dir, frames), _gradient_cost(out_dir, frames), _seed(out_dir, frames),
                *_extra_sections(out_dir), _library_speed(out_dir, frames), _problems(frames)]
    return "\n".join(s for s in sections if s).rstrip() + "\n"


def write(out_dir: Path, since: str | None = None) -> Path:
    """Write ``<out_dir>/REPORT.md`` (see ``build``)."""
    path = Path(out_dir) / REPORT_FILE
    path.write_text(build(out_dir, since))
    return path


def main(argv: list[str]) -> int:
    out = Path(argv[0]) if argv else Path(__file__).resolve().parent.parent / "results"
    analysis.write_calibration(out)
    plots.make_all(out)
    print(write(out))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
