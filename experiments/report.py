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

from . import analysis, plots
from .memory_probe import MALLOC_ENV

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
            ("numpy", m.get("numpy", "")), ("BLAS", m.get("blas", "")),
            ("modes", m.get("modes", "")), ("pandas / matplotlib / psutil",
            f"{m.get('pandas', '')} / {m.get('matplotlib', '')} / {m.get('psutil', '')}")]
    env = [f"`{k[4:]}={v}`" for k, v in m.items() if k.startswith("env_") and v]
    rows.append(("environment", ", ".join(env) or "none of the BLAS/allocator variables set"))
    commits = sorted({c for df in frames.values() for c in _values(df, "code_version")})
    rows.append(("code version(s) of the rows", ", ".join(f"`{c}`" for c in commits) or "n/a"))
    rows.append(("machine id", f"`{m.get('machine_id', '')}`"))
    return "## Machine\n\n" + table(["", ""], rows) + "\n"


def _method(frames: dict[str, pd.DataFrame]) -> str:
    timing = pd.concat([frames[k] for k in ("scalar_gradient", "jacobian_crossover", "gradient_cost")])
    timing = analysis.ok(timing)
    reps = ", ".join(_values(timing, "repeats")) or "n/a"
    targets = ", ".join(seconds(t) for t in sorted({float(v) for v in _values(timing, "target_s")})) or "n/a"
    mem = frames["memory"]
    malloc = ", ".join(f"`{v}`" for v in _values(analysis.ok(mem), "malloc_env")) or \
        ", ".join(f"`{k}={v}`" for k, v in MALLOC_ENV.items())
    mem_reps = ", ".join(_values(analysis.ok(mem), "repeats")) or "n/a"
    caps = [float(v) for df in frames.values() for v in df["mem_cap"].dropna()] if frames else []
    cap = f"{nbytes(min(caps))} to {nbytes(max(caps))}" if caps else "n/a"
    loads = [float(v) for df in frames.values() if "load_avg" in df for v in df["load_avg"].dropna()]
    load_line = (f"The 1-minute load average at the start of the trials was {num(min(loads), 2)} to "
                 f"{num(max(loads), 2)} (median {num(float(pd.Series(loads).median()), 2)}; the harness "
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
  resident and inflate RSS). {self_line}
* **Safety.** Each trial's memory is estimated beforehand and the trial is skipped (with its reason)
  above a share of the available memory (the cap was {cap}); every trial has a time limit; a failed
  or timed-out trial is a row with its error and the run goes on. Forward mode stops growing n once
  one call is predicted to exceed the per-call budget; those sizes are `skipped` rows.
  {load_line}
* **Checks.** {check_line}

Rows per experiment and status:

{status}
"""


def _claim1(out_dir: Path, frames: dict[str, pd.DataFrame]) -> str:
    df = frames["scalar_gradient"]
    tab = analysis.scalar_table(df)
    if tab.empty:
        return "## Claim 1: the gradient costs a small constant multiple of f\n\nNo data.\n"
    rs = analysis.ratio_summary(df, "reverse").set_index("problem")
    fs = analysis.ratio_summary(df, "forward").set_index("problem")
    slopes_big = analysis.time_slopes(df, analysis.LARGE_N)
    slopes_all = analysis.time_slopes(df, 0)

    def slope(problem: str, method: str, big: bool = True) -> str:
        s = slopes_big if big else slopes_all
        r = s[(s["problem"] == problem) & (s["method"] == method)]
        if r.empty or not math.isfinite(r["slope"].iloc[0]):
            return "n/a"
        return (f"{r['slope'].iloc[0]:.2f} (n = {size(r['x_min'].iloc[0])} to {size(r['x_max'].iloc[0])}, "
                f"{int(r['points'].iloc[0])} sizes)")

    parts = ["## Claim 1: the whole gradient costs a small constant multiple of f\n"]
    for problem, g in tab.groupby("problem", sort=False):
        regime = "vectorised numpy" if problem != "speelpenning" else "a scalar loop, one multiply per element"
        lines = [f"### {problem} ({regime})\n"]
        if problem in rs.index:
            r = rs.loc[problem]
            lines.append(
                f"* **Reverse gradient / f** (paired median ratio) over n = {size(r['n_min'])} to "
                f"{size(r['n_max'])} ({int(r['sizes'])} sizes): from {num(r['ratio_min'])} to "
                f"{num(r['ratio_max'])}; maximum {num(r['ratio_max'])} at n = {size(r['n_at_max'])}; "
                f"{num(r['ratio_at_largest_n'])} at the largest n; maximum over n \u2265 "
                f"{size(analysis.LARGE_N)}: {num(r['ratio_max_large_n'])}. Across a "
                f"{num(r['n_max'] / r['n_min'])}-fold range of n the ratio varies by a factor "
                f"{num(r['ratio_max'] / r['ratio_min'])}.")
        if problem in fs.index:
            r = fs.loc[problem]
            g_f = analysis.ok(df)
            g_f = g_f[(g_f["problem"] == problem) & (g_f["method"] == "forward")].sort_values("n")
            first, last = g_f["ratio_median"].iloc[0], g_f["ratio_median"].iloc[-1]
            lines.append(
                f"* **Forward gradient / f** over n = {size(r['n_min'])} to {size(r['n_max'])} "
                f"({int(r['sizes'])} sizes, up to the per-call budget): {num(first)} at the smallest n, "
                f"{num(last)} at the largest (× {num(last / first)} over a {num(r['n_max'] / r['n_min'])}-fold "
                f"range of n).")
        lines.append(
            f"* **Log-log slopes of time vs n** (n \u2265 {size(analysis.LARGE_N)}): f "
            f"{slope(problem, 'f')}; reverse gradient {slope(problem, 'reverse')}; forward gradient "
            f"{slope(problem, 'forward')}. Over all sizes: f {slope(problem, 'f', False)}, reverse "
            f"{slope(problem, 'reverse', False)}, forward {slope(problem, 'forward', False)}.")
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
                         "Gradient time / f time vs n; the band marks the cheap-gradient bound"))
    return "\n".join(parts)


def _claim2(out_dir: Path, frames: dict[str, pd.DataFrame]) -> str:
    fits = analysis.memory_fits(frames["memory"])
    if fits.empty:
        return "## Claim 2: reverse mode pays with memory\n\nNo data.\n"
    lines = ["## Claim 2: reverse mode pays with memory that grows with the number of operations\n",
             "Straight-line fits of bytes against k, the number of tanh steps in the chain "
             "(slope = bytes per operation):\n"]
    rows = []
    for _, r in fits.iterrows():
        rows.append((r["problem"], size(r["n"]), r["mode"], int(r["trials"]), size(r["k_max"]),
                     f"{num(r['peak_bytes_per_op'])} (R² {num(r['peak_r2'], 3)})",
                     num(r["tape_bytes_per_op"]), num(r["theory_bytes_per_op"]),
                     nbytes(r["peak_at_k_max"]), nbytes(r["tape_at_k_max"])))
    lines.append(table(["problem", "n", "mode", "trials", "k max", "peak RSS bytes/op",
                        "tape bytes/op", "theory bytes/op", "peak at k max", "tape at k max"], rows))
    for (problem, n), g in fits.groupby(["problem", "n"], sort=False):
        rev = g[g["mode"] == "reverse"]
        fwd = g[g["mode"] == "forward"]
        if rev.empty or fwd.empty:
            continue
        rv, fw = rev.iloc[0], fwd.iloc[0]
        what = f"n = {size(n)}" if problem == "vector_chain" else "a Python float"
        ratio = rv["peak_bytes_per_op"] / rv["theory_bytes_per_op"] if rv["theory_bytes_per_op"] else math.nan
        lines.append(
            f"\n* **{problem}** ({what}): reverse mode holds {num(rv['peak_bytes_per_op'])} bytes of peak "
            f"RSS per operation ({num(ratio)} × the theoretical {num(rv['theory_bytes_per_op'])}; the tape "
            f"itself reports {num(rv['tape_bytes_per_op'])}); forward mode "
            f"{num(fw['peak_bytes_per_op'])} bytes per operation, its peak staying between "
            f"{nbytes(fw['peak_min'])} and {nbytes(fw['peak_max'])} up to k = {size(fw['k_max'])}, where "
            f"reverse mode peaks at {nbytes(rv['peak_at_k_max'])} "
            f"({num(rv['peak_at_k_max'] / max(fw['peak_at_k_max'], 1.0))} × forward).")
    lines.append("\n" + _figure(out_dir, "memory", "Peak RSS above baseline, tape bytes and theory vs "
                                                   "the number of operations k (log-log)"))
    return "\n".join(lines)


def _jacobian(out_dir: Path, frames: dict[str, pd.DataFrame]) -> str:
    df = frames["jacobian_crossover"]
    cal = analysis.calibrate(df)
    if cal is None:
        return "## Jacobian crossover\n\nNo data.\n"
    lines = ["## The Jacobian crossover between the modes\n",
             "A full Jacobian of f: R^n -> R^m costs about n forward directions or m reverse sweeps, so "
             "the n = m line is the naive boundary. Measured, per problem (`log2(t_forward / t_reverse)` "
             "> 0 means reverse mode is faster):\n"]
    for problem in dict.fromkeys(analysis.ok(df)["problem"]):
        for pairing, (fwd, rev) in analysis.PAIRINGS.items():
            cp = analysis.crossover_points(analysis.log2_ratio_grid(df, problem, pairing))
            if cp.empty:
                continue
            cross = cp[cp["kind"] == "crossing"]
            desc = ", ".join(f"m = {int(r['m'])}: n* ≈ {num(r['n_star'], 2)}" for _, r in cross.iterrows())
            other = ", ".join(f"m = {int(r['m'])}: {r['kind']}" for _, r in cp[cp["kind"] != "crossing"].iterrows())
            gm = (2 ** pd.Series([math.log2(v) for v in cross["n_star_over_m"]]).mean()) if len(cross) else math.nan
            lines.append(f"* **{problem}, {fwd} vs {rev}**: forward is faster below n* ({desc or 'no crossing'}"
                         f"{'; ' + other if other else ''}); geometric mean n*/m = {num(gm)}.")
    mistakes = analysis.auto_mistakes(df, cal.current_weight)
    lines.append(
        f"\n**Calibration of `jacobian(mode=\"auto\")`.** `choose_mode` picks forward iff "
        f"n \u2264 w·m + n0. Against the measured faster of `forward_chunked` and `reverse_batched` over "
        f"{cal.cells} cells (both problems), the library's current rule, w = {num(cal.current_weight)} "
        f"and n0 = {num(analysis.current_offset())}, picks the faster mode in "
        f"{cal.current_right} of {cal.cells} cells, a geometric-mean slowdown of "
        f"{num(cal.current_mean_slowdown, 4)} × over always picking the faster. With n0 = 0 the best weight is "
        f"**REVERSE_WEIGHT = {num(cal.best_weight)}** (every w with {num(cal.interval_lo)} \u2264 w < "
        f"{num(cal.interval_hi)} makes the same choices on this grid): right in {cal.best_right} of "
        f"{cal.cells} cells, slowdown {num(cal.best_mean_slowdown, 4)} ×. The measured crossings give "
        f"n*/m ≈ {num(cal.crossover_n_over_m)} (geometric mean), against 1 for the n = m line. The "
        f"fitted weight is written to `{analysis.CALIBRATION_FILE}` for `modes/cost_model.py`.")
    aff = analysis.calibrate_affine(df)
    if aff is not None:
        lines.append(
            f"\nA two-parameter rule, forward iff n \u2264 w·m + n0, fits best with w = {num(aff.weight)} "
            f"and n0 = {num(aff.offset)}: right in {aff.right} of {aff.cells} cells, slowdown "
            f"{num(aff.mean_slowdown, 4)} × (also in `{analysis.CALIBRATION_FILE}`)."
            + (" With n0 > 0 the measured boundary does not pass through the origin: below about n0 "
               "inputs one chunked forward pass beats a recording plus a sweep whatever m is."
               if aff.offset > 0 else ""))
    one = analysis.calibrate(df, "one_at_a_time", cal.current_weight)
    if one is not None:
        lines.append(
            f"\nWith one direction or one row per pass (`forward_1` vs `reverse_1`) the best weight "
            f"would be {num(one.best_weight)} ({num(one.interval_lo)} \u2264 w < {num(one.interval_hi)}; "
            f"n*/m ≈ {num(one.crossover_n_over_m)}): the batched weight differs from it by what "
            "chunking saves forward mode against what batching saves reverse mode.")
    if len(mistakes):
        rows = [(r["problem"], size(r["n"]), size(r["m"]), r["choice"], seconds(r["t_fwd"]),
                 seconds(r["t_rev"]), num(r["slowdown"])) for _, r in mistakes.head(12).iterrows()]
        lines.append(f"\nCells where the current weight w = {num(cal.current_weight)} picks the slower mode "
                     f"(largest slowdowns first, at most 12):\n\n"
                     + table(["problem", "n", "m", "auto picks", "forward", "reverse", "slowdown"], rows))
    lines.append("\n" + _figure(out_dir, "jacobian_heatmap",
                                "log2(t_forward / t_reverse) over (n, m); solid: n = m, dashed: the "
                                "fitted boundary n = w m"))
    return "\n".join(lines)


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
             "Paired median time(gradient) / time(f) (± IQR):\n",
             table(["function", "regime", *(f"{m} n={size(n)}" for m, n in cols)], rows)]
    rev = t[(t["method"] == "reverse") & (t["note"] == "vectorised")]
    if len(rev):
        top = rev[rev["n"] == rev["n"].max()]
        inside = int((top["ratio_median"] <= plots.BOUND[1]).sum())
        lines.append(
            f"\n* Vectorised functions, reverse mode at the largest n = {size(top['n'].iloc[0])}: ratio "
            f"from {num(top['ratio_median'].min())} to {num(top['ratio_median'].max())} (median "
            f"{num(top['ratio_median'].median())}); {inside} of {len(top)} functions within the bound "
            f"of {num(plots.BOUND[1])}.")
        small = rev[rev["n"] == rev["n"].min()]
        if small["n"].iloc[0] != top["n"].iloc[0]:
            lines.append(
                f"* At n = {size(small['n'].iloc[0])} the same ratios are {num(small['ratio_median'].min())} to "
                f"{num(small['ratio_median'].max())}: at small sizes a fixed interpretive cost per "
                "operation, not the arithmetic, sets the ratio.")
    fwd = t[(t["method"] == "forward") & (t["note"] == "vectorised")]
    if len(fwd):
        for n, g in fwd.groupby("n"):
            lines.append(f"* Forward mode at n = {size(n)}: ratio {num(g['ratio_median'].min())} to "
                         f"{num(g['ratio_median'].max())} ({len(g)} functions).")
    loop = t[t["note"] == "scalar loop"]
    for (method, n), g in loop.groupby(["method", "n"]):
        lines.append(f"* Scalar loop ({g['problem'].iloc[0]}), {method} at n = {size(n)}: ratio "
                     f"{num(g['ratio_median'].iloc[0])}.")
    lines.append("\n" + _figure(out_dir, "gradient_cost",
                                "time(gradient) / time(f) per function, both modes; the band marks "
                                f"the cheap-gradient bound {num(plots.BOUND[0])}-{num(plots.BOUND[1])}"))
    return "\n".join(lines)


def _summary(frames: dict[str, pd.DataFrame]) -> str:
    """The headline figures, one line per claim (details in the sections below)."""
    lines = []
    sg = frames["scalar_gradient"]
    rs = analysis.ratio_summary(sg, "reverse").set_index("problem") if len(sg) else pd.DataFrame()
    slopes = analysis.time_slopes(sg, analysis.LARGE_N) if len(sg) else pd.DataFrame()
    for problem in rs.index:
        r = rs.loc[problem]
        fw = slopes[(slopes["problem"] == problem) & (slopes["method"] == "forward")]["slope"]
        rv = slopes[(slopes["problem"] == problem) & (slopes["method"] == "reverse")]["slope"]
        lines.append(f"* **{problem}**: reverse gradient / f = {num(r['ratio_min'])} to {num(r['ratio_max'])} "
                     f"over n = {size(r['n_min'])} to {size(r['n_max'])} (max {num(r['ratio_max'])} at "
                     f"n = {size(r['n_at_max'])}, {num(r['ratio_at_largest_n'])} at the largest n); time slope "
                     f"in n for n \u2265 {size(analysis.LARGE_N)}: reverse {num(rv.iloc[0] if len(rv) else math.nan)}, "
                     f"forward {num(fw.iloc[0] if len(fw) else math.nan)}.")
    fits = analysis.memory_fits(frames["memory"])
    for (problem, n), g in (fits.groupby(["problem", "n"], sort=False) if len(fits) else []):
        by = g.set_index("mode")
        if {"reverse", "forward"} <= set(by.index):
            lines.append(f"* **Memory, {problem}** ({'n = ' + size(n) if problem == 'vector_chain' else 'float'}): "
                         f"reverse {num(by.loc['reverse', 'peak_bytes_per_op'])} bytes of peak RSS per operation "
                         f"(theory {num(by.loc['reverse', 'theory_bytes_per_op'])}), forward "
                         f"{num(by.loc['forward', 'peak_bytes_per_op'])}.")
    cal = analysis.calibrate(frames["jacobian_crossover"])
    if cal is not None:
        lines.append(f"* **Jacobian crossover**: measured n*/m \u2248 {num(cal.crossover_n_over_m)} (n = m line: 1); "
                     f"`jacobian(mode=\"auto\")`'s rule (forward iff n \u2264 {num(cal.current_weight)}·m + "
                     f"{num(analysis.current_offset())}) picks the faster mode in {cal.current_right} of "
                     f"{cal.cells} cells; the best rule through the origin (w = {num(cal.best_weight)}) in "
                     f"{cal.best_right}.")
    t = analysis.gradient_cost_table(frames["gradient_cost"])
    rev = t[(t["method"] == "reverse") & (t["note"] == "vectorised")] if len(t) else t
    if len(rev):
        top = rev[rev["n"] == rev["n"].max()]
        lines.append(f"* **Gradient cost suite** ({len(top)} vectorised functions, n = {size(top['n'].iloc[0])}): "
                     f"reverse gradient / f = {num(top['ratio_median'].min())} to {num(top['ratio_median'].max())}.")
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
        bad = df[df["status"] != "ok"]
        for _, r in bad.iterrows():
            where = ", ".join(f"{c}={size(r[c])}" for c in ("n", "m", "k") if pd.notna(r[c]))
            rows.append((name, r["problem"], r["method"], where, r["status"], str(r["error"])[:160]))
    if not rows:
        return "## Skipped and failed trials\n\nNone.\n"
    shown = rows[:60]
    more = f"\n\n({len(rows) - len(shown)} more not shown.)" if len(rows) > len(shown) else ""
    return ("## Skipped and failed trials\n\n"
            + table(["experiment", "problem", "method", "size", "status", "reason"], shown) + more + "\n")


def _library_speed(out_dir: Path) -> str:
    """The library's headline speed figures (``experiments/library_speed.py``), if measured."""
    md = out_dir / "library_speed.md"
    if not md.exists():
        return ""
    return ("## Library speed\n\n"
            "Measured by `experiments/library_speed.py` (f and its derivatives timed interleaved in one "
            "process; median and interquartile range over the repeats):\n\n" + md.read_text())


# Sections that experiments contribute themselves: module path -> its ``section(out_dir) -> str``.
EXTRA_SECTIONS = ("experiments.suite.checkpointing_report", "experiments.suite.benchmarks_report",
                  "experiments.suite.peers_report")


def _extra_sections(out_dir: Path) -> list[str]:
    """Each contributed section; a module that is absent is passed over, one that fails says so."""
    out = []
    for name in EXTRA_SECTIONS:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError:
            continue
        try:
            out.append(module.section(out_dir))
        except Exception as exc:  # noqa: BLE001 - a broken section must not lose the rest
            out.append(f"## {name}\n\nThis section could not be built: {type(exc).__name__}: {exc}\n")
    return out


def build(out_dir: Path) -> str:
    """The report's markdown for the tables in ``out_dir``."""
    out_dir = Path(out_dir)
    frames = analysis.load(out_dir)
    stamps = [str(v) for df in frames.values() for v in df["timestamp"].dropna()]
    span = f"{min(stamps)} to {max(stamps)}" if stamps else "n/a"
    head = (f"# Forward vs reverse mode: measurements\n\n"
            f"Generated {time.strftime('%Y-%m-%d %H:%M:%S')} from the CSV tables in this directory "
            f"(trials measured {span}). Rerun with `python experiments/run_all.py` (quick) or "
            f"`--full`; `python -m experiments.report` rebuilds this file from the tables alone. "
            "Every number below is computed from the tables.\n")
    sections = [head, _summary(frames), _machine(out_dir, frames), _method(frames), _claim1(out_dir, frames),
                _claim2(out_dir, frames), _jacobian(out_dir, frames), _gradient_cost(out_dir, frames),
                _seed(out_dir, frames), *_extra_sections(out_dir), _library_speed(out_dir),
                _problems(frames)]
    return "\n".join(s for s in sections if s).rstrip() + "\n"


def write(out_dir: Path) -> Path:
    """Write ``<out_dir>/REPORT.md`` (see ``build``)."""
    path = Path(out_dir) / REPORT_FILE
    path.write_text(build(out_dir))
    return path


def main(argv: list[str]) -> int:
    out = Path(argv[0]) if argv else Path(__file__).resolve().parent.parent / "results"
    analysis.write_calibration(out)
    plots.make_all(out)
    print(write(out))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
