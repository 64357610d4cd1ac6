"""The report section "Interpreted vs compiled modes", from ``compiled.csv`` and ``memory.csv`` only.

Every time ratio to f splits into algorithm and overhead: the algorithm is the ratio of operation
counts (``ops_<mode> / ops_f``, ``modes.count_ops``, in the rows), the overhead factor is the
time ratio divided by it. ``section(out_dir)`` returns the markdown and writes ``compiled_ratio.png``
(time / f against n, interpreted and compiled, beside the operation ratio). ``split_table`` and
``griewank_sentence`` also serve the gradient-cost section of the report (``gradient_cost.csv``
carries the same count columns).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from modes.op_counts import GRIEWANK_OMEGA

NAME = "compiled"
FIGURE = "compiled_ratio.png"
MODES_METHODS = {"interpreted_forward": "forward", "interpreted_reverse": "reverse",
                 "compiled_forward": "forward", "compiled_reverse": "reverse"}
GRADIENT_COST_METHODS = {"reverse": "reverse", "forward": "forward"}
LABELS = {"interpreted_forward": "interpreted forward", "interpreted_reverse": "interpreted reverse",
          "fused_reverse": "fused reverse", "hand_reverse": "hand-written numpy gradient",
          "compiled_forward": "compiled forward", "compiled_reverse": "compiled reverse",
          "casadi:reverse": "CasADi reverse", "casadi:forward": "CasADi forward",
          "autograd:reverse": "autograd reverse", "f": "f (plain)", "reverse": "reverse",
          "forward": "forward"}
JACOBIAN_TOOLS = {"interpreted": ("interpreted_forward", "interpreted_reverse"),
                  "compiled": ("compiled_forward", "compiled_reverse"),
                  "CasADi": ("casadi:forward", "casadi:reverse")}
MEMORY_METHODS = ("reverse", "compiled_reverse", "forward", "compiled_forward")


def load(out_dir: Path) -> pd.DataFrame:
    from .. import analysis

    return analysis.current_rows(Path(out_dir), NAME)


def _ok(df: pd.DataFrame) -> pd.DataFrame:
    return df[df["status"] == "ok"] if len(df) else df


def _float(v: Any) -> float:
    try:
        out = float(v)
    except (TypeError, ValueError):
        return math.nan
    return out


# ---- computed tables ---------------------------------------------------------------------------------------
def counts(df: pd.DataFrame) -> pd.DataFrame:
    """Per (problem, n) with operation counts: the counts, the operation ratios to f (reverse,
    forward, forward per direction), the multiplicative ratio and whether it is within Griewank's
    bound (``mul_reverse <= GRIEWANK_OMEGA * mul_f``)."""
    if df.empty or "ops_f" not in df:
        return pd.DataFrame()
    d = df[pd.to_numeric(df["ops_f"], errors="coerce") > 0]
    rows = []
    for (problem, n), g in d.groupby(["problem", "n"], sort=False):
        r = g.iloc[0]
        ops_f, mul_f = _float(r["ops_f"]), _float(r["mul_f"])
        rows.append({"problem": problem, "n": int(n), "ops_f": ops_f,
                     "ops_reverse": _float(r["ops_reverse"]), "ops_forward": _float(r["ops_forward"]),
                     "mul_f": mul_f, "mul_reverse": _float(r["mul_reverse"]),
                     "reverse_ratio": _float(r["ops_reverse"]) / ops_f,
                     "forward_ratio": _float(r["ops_forward"]) / ops_f,
                     "forward_per_direction": _float(r["ops_forward"]) / ops_f / int(n),
                     "mul_ratio": _float(r["mul_reverse"]) / mul_f if mul_f else math.nan,
                     "within_griewank": bool(_float(r["mul_reverse"]) <= GRIEWANK_OMEGA * mul_f)})
    return pd.DataFrame(rows)


def overhead_split(df: pd.DataFrame, methods: dict[str, str] | None = None) -> pd.DataFrame:
    """Per ``ok`` row of a method in ``methods`` (method -> mode; default: the four modes methods)
    with counts: the paired time ratio to f, the operation ratio of its mode and the overhead
    factor (time ratio / operation ratio); per direction for forward mode too."""
    methods = MODES_METHODS if methods is None else methods
    c = counts(df)
    d = _ok(df)
    if c.empty or d.empty:
        return pd.DataFrame()
    d = d[d["method"].isin(list(methods))]
    rows = []
    for _, r in d.iterrows():
        cell = c[(c["problem"] == r["problem"]) & (c["n"] == int(r["n"]))]
        if cell.empty:
            continue
        mode = methods[str(r["method"])]
        op_ratio = float(cell[f"{mode}_ratio"].iloc[0])
        t = _float(r["ratio_median"])
        rows.append({"problem": r["problem"], "n": int(r["n"]), "method": r["method"], "mode": mode,
                     "time_ratio": t, "op_ratio": op_ratio, "overhead": t / op_ratio,
                     "time_per_direction": t / int(r["n"]) if mode == "forward" else math.nan,
                     "t_median": _float(r["t_median"]), "f_median": _float(r["f_median"])})
    return pd.DataFrame(rows)


def time_ratios(df: pd.DataFrame) -> pd.DataFrame:
    """Per (problem, n, method), every ok derivative row: paired time ratio and median time."""
    d = _ok(df)
    d = d[d["method"] != "f"] if len(d) else d
    if d.empty:
        return pd.DataFrame()
    out = d[["problem", "n", "m", "method", "mode", "ratio_median", "t_median", "f_median"]].copy()
    for col in ("ratio_median", "t_median", "f_median"):
        out[col] = out[col].astype(float)
    return out.astype({"n": int, "m": int}).reset_index(drop=True)


def jacobian_cells(df: pd.DataFrame) -> pd.DataFrame:
    """Per (n, m) of tanh(A x): median seconds of each method, the faster mode per tool, and the
    best compiled mode's time over CasADi's best mode's."""
    d = _ok(df)
    d = d[d["problem"] == "tanh_affine"] if len(d) else d
    if d.empty:
        return pd.DataFrame()
    t = d.pivot_table(index=["n", "m"], columns="method", values="t_median", aggfunc="first")
    t.columns = list(t.columns)
    out = t.reset_index()
    for tool, (fwd, rev) in JACOBIAN_TOOLS.items():
        for col in (fwd, rev):
            if col not in out:
                out[col] = math.nan
        both = out[[fwd, rev]].astype(float)
        out[f"{tool}_best"] = both.min(axis=1, skipna=False)
        out[f"{tool}_faster"] = np.where(both.isna().any(axis=1), "",
                                         np.where(both[fwd] <= both[rev], "forward", "reverse"))
        out[f"{tool}_log2"] = np.log2(both[fwd] / both[rev])
    out["compiled_vs_casadi"] = out["compiled_best"] / out["CasADi_best"]
    out["interpreted_vs_casadi"] = out["interpreted_best"] / out["CasADi_best"]
    return out.astype({"n": int, "m": int}).sort_values(["n", "m"]).reset_index(drop=True)


def crossovers(cells: pd.DataFrame) -> pd.DataFrame:
    """Per tool and output size m: where forward stops being the faster mode as n grows
    (``analysis.crossover_points`` on log2(t_forward / t_reverse))."""
    from .. import analysis

    rows = []
    for tool in JACOBIAN_TOOLS:
        col = f"{tool}_log2"
        if cells.empty or cells[col].isna().all():
            continue
        grid = cells.pivot(index="m", columns="n", values=col).sort_index().sort_index(axis=1)
        for _, r in analysis.crossover_points(grid).iterrows():
            rows.append({"tool": tool, **r.to_dict()})
    return pd.DataFrame(rows)


def memory_fits(out_dir: Path) -> pd.DataFrame:
    """Bytes per operation (slope in k) of the memory experiment's four methods."""
    from .. import analysis

    mem = analysis.current_rows(Path(out_dir), "memory")
    fits = analysis.memory_fits(mem, MEMORY_METHODS) if len(mem) else pd.DataFrame()
    if fits.empty:
        return fits
    order = {m: i for i, m in enumerate(MEMORY_METHODS)}
    fits["_order"] = [order[m] for m in fits["method"]]
    problems = {p: i for i, p in enumerate(dict.fromkeys(mem["problem"]))}
    fits["_problem"] = [problems[p] for p in fits["problem"]]
    return fits.sort_values(["_problem", "n", "_order"]).drop(columns=["_order", "_problem"]) \
        .reset_index(drop=True)


def resident(out_dir: Path) -> pd.DataFrame:
    """Per (problem, n, compiled method) at its largest k: its probe's baseline RSS minus the
    interpreted probe's of the same cell (``held``): what the compiled program keeps resident."""
    from .. import analysis

    mem = _ok(analysis.current_rows(Path(out_dir), "memory"))
    rows = []
    for method in ("compiled_reverse", "compiled_forward"):
        base = method.split("_")[1]
        for (problem, n), g in (mem[mem["method"] == method].groupby(["problem", "n"]) if len(mem) else []):
            k = g["k"].max()
            other = mem[(mem["problem"] == problem) & (mem["n"] == n) & (mem["k"] == k)
                        & (mem["method"] == base)]
            if len(other):
                rows.append({"problem": problem, "n": int(n), "method": method, "k": int(k),
                             "held": float(g[g["k"] == k]["baseline_rss"].iloc[0])
                             - float(other["baseline_rss"].iloc[0])})
    return pd.DataFrame(rows, columns=["problem", "n", "method", "k", "held"])


# ---- the figure --------------------------------------------------------------------------------------------
def plot_ratios(split: pd.DataFrame, path: Path) -> Path | None:
    """Time / f against n, per scalar problem with more than one size: the four modes methods and
    the operation ratio of each mode (the algorithm), log-log."""
    from .. import plots

    if split.empty:
        return None
    problems = [p for p, g in split.groupby("problem", sort=False) if g["n"].nunique() > 1]
    if not problems:
        return None
    plt = plots.plt
    fig, axes = plt.subplots(1, len(problems), figsize=(5.6 * len(problems), 4.8), squeeze=False)
    for ax, problem in zip(axes[0], problems):
        g = split[split["problem"] == problem]
        for method, mode in MODES_METHODS.items():
            h = g[g["method"] == method].sort_values("n")
            if h.empty:
                continue
            style = "o-" if method.startswith("compiled") else "s--"
            ax.plot(h["n"], h["time_ratio"], style, color=plots.COLORS[mode], label=LABELS[method])
        for mode in ("reverse", "forward"):
            h = g[g["mode"] == mode].drop_duplicates("n").sort_values("n")
            if len(h):
                ax.plot(h["n"], h["op_ratio"], ":", color=plots.COLORS[mode], lw=3, alpha=0.5,
                        label=f"{mode}: operation ratio (algorithm)")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("n (inputs)")
        ax.set_ylabel("time(gradient) / time(f)  (paired median)")
        ax.set_title(problem)
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=7)
    fig.suptitle("Interpreted vs compiled: time ratio to f against the operation ratio")
    return plots._save(fig, path)


# ---- sentences ---------------------------------------------------------------------------------------------
def _x(v: float, fmt: Any) -> str:
    return f"{fmt.num(v)}x"


def split_sentence(problem: str, n: int, cell: pd.Series, split: pd.DataFrame, fmt: Any,
                   methods: dict[str, str]) -> str:
    """"problem, n: the algorithm costs Ax f; interpreted reverse Bx, of which Cx is overhead ..."."""
    parts = []
    for mode in ("reverse", "forward"):
        h = split[(split["mode"] == mode)]
        if h.empty or not math.isfinite(cell[f"{mode}_ratio"]):
            continue
        alg = (f"the {mode} algorithm costs {_x(cell[f'{mode}_ratio'], fmt)} f (operation count"
               + (f"; multiplicative {_x(cell['mul_ratio'], fmt)})" if mode == "reverse" else ")"))
        each = [f"{LABELS.get(r['method'], r['method'])} {_x(r['time_ratio'], fmt)}, of which "
                f"{_x(r['overhead'], fmt)} is per-operation overhead"
                for method in methods if methods[method] == mode
                for _, r in h[h["method"] == method].iterrows()]
        if each:
            parts.append(alg + "; " + "; ".join(each))
    text = ". ".join(p[0].upper() + p[1:] for p in parts)
    return f"* **{problem}, n = {fmt.size(n)}**: {text}." if parts else ""


def split_table(df: pd.DataFrame, methods: dict[str, str], fmt: Any) -> str:
    """Per (problem, n): the operation ratios and each method's time ratio (overhead factor)."""
    c = counts(df)
    s = overhead_split(df, methods)
    if c.empty:
        return ""
    header = ["function", "n", "OPS(f)", "reverse OPS / f", "multiplicative", "forward OPS / f"]
    header += [f"{LABELS.get(m, m)} / f (overhead)" for m in methods]
    rows = []
    for _, r in c.iterrows():
        cells = []
        for m in methods:
            h = s[(s["problem"] == r["problem"]) & (s["n"] == r["n"]) & (s["method"] == m)] if len(s) \
                else s
            cells.append(f"{fmt.num(h['time_ratio'].iloc[0])} ({_x(h['overhead'].iloc[0], fmt)})"
                         if len(h) else "")
        rows.append((r["problem"], fmt.size(r["n"]), fmt.size(r["ops_f"]), fmt.num(r["reverse_ratio"]),
                     fmt.num(r["mul_ratio"]),
                     fmt.num(r["forward_ratio"]) if math.isfinite(r["forward_ratio"]) else "not counted",
                     *cells))
    return fmt.table(header, rows)


def griewank_sentence(df: pd.DataFrame, fmt: Any) -> str:
    """Whether every counted (problem, n)'s reverse gradient is within Griewank's bound."""
    c = counts(df)
    if c.empty:
        return ""
    inside = int(c["within_griewank"].sum())
    worst = c.loc[c["mul_ratio"].idxmax()]
    verdict = ("every one is within it" if inside == len(c) else
               f"{len(c) - inside} exceed it: " + ", ".join(
                   f"{r['problem']} n = {fmt.size(r['n'])} ({_x(r['mul_ratio'], fmt)})"
                   for _, r in c[~c["within_griewank"]].iterrows()))
    return (f"Griewank's cheap-gradient bound: a reverse gradient needs at most omega = "
            f"{fmt.num(GRIEWANK_OMEGA)} times f's multiplicative operations (multiplications, "
            f"divisions, nonlinear elementals; Griewank & Walther 2008, section 4.6). Counted by "
            f"`modes.count_ops` for the {len(c)} (function, n) pair(s) above, the reverse gradient "
            f"needs {fmt.span(c['mul_ratio'].min(), c['mul_ratio'].max())} times f's (largest: "
            f"{worst['problem']} at n = {fmt.size(worst['n'])}); {verdict}. Counting every operation, "
            f"{fmt.span(c['reverse_ratio'].min(), c['reverse_ratio'].max())} times.")


OVERHEAD_NOTE = ("The algorithm is the ratio of operation counts (`modes.count_ops`: shapes and the "
                 "registry's cost rules, no clock); the overhead factor is the measured time ratio "
                 "divided by it: 1 when a gradient spends per operation what f does, above 1 for "
                 "bookkeeping per operation (taping, boxing, dispatch), below 1 when f's own time is "
                 "not its arithmetic either (a few numpy calls on small arrays, whose fixed cost "
                 "dominates).")


# ---- sections ----------------------------------------------------------------------------------------------
def _talk(df: pd.DataFrame, fmt: Any) -> str:
    t = time_ratios(df)
    t = t[t["problem"] == "talk"] if len(t) else t
    if t.empty:
        return ""
    by = t.set_index("method")
    rows = [(LABELS.get(m, m), fmt.seconds(r["t_median"]), fmt.num(r["ratio_median"]))
            for m, r in by.sort_values("t_median").iterrows()]
    text = ["### The talk's example V = x*y + (x+y)*z at (1, -3, 2)\n",
            fmt.table(["method", "time per gradient (median)", "time / f"], rows) + "\n"]
    if {"compiled_reverse", "interpreted_reverse"} <= set(by.index):
        c, i = by.loc["compiled_reverse"], by.loc["interpreted_reverse"]
        line = (f"Compiled reverse takes {fmt.seconds(c['t_median'])} per gradient, interpreted "
                f"reverse {fmt.seconds(i['t_median'])}: {fmt.num(i['t_median'] / c['t_median'])} times "
                "faster")
        if "casadi:reverse" in by.index:
            k = by.loc["casadi:reverse"]
            line += (f"; CasADi's reverse gradient (a Function called from Python) takes "
                     f"{fmt.seconds(k['t_median'])}, {fmt.num(k['t_median'] / c['t_median'])} times the "
                     "compiled one")
        text.append(line + ".\n")
    return "\n".join(text)


def _split(df: pd.DataFrame, fmt: Any) -> str:
    c = counts(df)
    s = overhead_split(df)
    if c.empty:
        return ""
    lines = ["### Algorithm and overhead\n", OVERHEAD_NOTE + "\n",
             split_table(df, MODES_METHODS, fmt) + "\n"]
    for _, r in c.iterrows():
        h = s[(s["problem"] == r["problem"]) & (s["n"] == r["n"])] if len(s) else s
        line = split_sentence(r["problem"], int(r["n"]), r, h, fmt, MODES_METHODS)
        if line:
            lines.append(line)
    lines.append("\n" + griewank_sentence(df, fmt))
    return "\n".join(lines) + "\n"


def _speelpenning(df: pd.DataFrame, fmt: Any) -> str:
    s = overhead_split(df)
    s = s[s["problem"] == "speelpenning"] if len(s) else s
    c = counts(df)
    if s.empty:
        return ""
    c = c[c["problem"] == "speelpenning"].set_index("n")
    rows = []
    for n, g in s.groupby("n"):
        by = g.set_index("method")

        def get(method: str, col: str) -> str:
            return fmt.num(by.loc[method, col]) if method in by.index else "not measured"

        rows.append((fmt.size(n), fmt.num(c.loc[n, "reverse_ratio"]),
                     get("interpreted_reverse", "time_ratio"), get("compiled_reverse", "time_ratio"),
                     fmt.num(c.loc[n, "forward_per_direction"]),
                     get("interpreted_forward", "time_per_direction"),
                     get("compiled_forward", "time_per_direction")))
    text = ["### Speelpenning's product as a Python loop\n",
            fmt.table(["n", "reverse OPS / f", "interpreted reverse / f", "compiled reverse / f",
                       "forward OPS / f per direction", "interpreted forward / f per direction",
                       "compiled forward / f per direction"], rows) + "\n"]
    for method, col, what in (("compiled_reverse", "time_ratio", "compiled reverse / f"),
                              ("interpreted_reverse", "time_ratio", "interpreted reverse / f"),
                              ("compiled_forward", "time_per_direction",
                               "compiled forward / f per direction")):
        h = s[s["method"] == method].sort_values("n")
        if len(h):
            text.append(f"* {what}: {fmt.span(h[col].min(), h[col].max())} "
                        f"{fmt.sizes(h['n'].min(), h['n'].max(), len(h))} "
                        f"({fmt.num(h[col].iloc[0])} at the smallest n, {fmt.num(h[col].iloc[-1])} at the "
                        "largest).")
    return "\n".join(text) + "\n"


def _rosenbrock(df: pd.DataFrame, fmt: Any) -> str:
    t = time_ratios(df)
    t = t[t["problem"] == "rosenbrock"] if len(t) else t
    if t.empty:
        return ""
    n = int(t["n"].min())
    by = t[t["n"] == n].set_index("method")
    if "compiled_reverse" not in by.index:
        return ""
    c = by.loc["compiled_reverse"]
    others = [f"{LABELS.get(m, m)} {fmt.seconds(by.loc[m, 't_median'])} "
              f"({fmt.num(by.loc[m, 'ratio_median'])}x f)"
              for m in ("interpreted_reverse", "casadi:reverse", "autograd:reverse") if m in by.index]
    return (f"### Rosenbrock at its smallest size\n\nAt n = {fmt.size(n)} the compiled reverse "
            f"gradient takes {fmt.seconds(c['t_median'])} ({fmt.num(c['ratio_median'])}x f, which takes "
            f"{fmt.seconds(c['f_median'])}); " + ", ".join(others) + ".\n")


def fused_table(df: pd.DataFrame) -> pd.DataFrame:
    """Rosenbrock over n: gradient / f of the hand-written numpy gradient, compiled reverse and the
    fused backend (rows where all three ran)."""
    t = time_ratios(df)
    t = t[t["problem"] == "rosenbrock"] if len(t) else t
    want = ("hand_reverse", "compiled_reverse", "fused_reverse")
    if t.empty or "fused_reverse" not in set(t["method"]):
        return pd.DataFrame()
    wide = t[t["method"].isin(want)].pivot_table(index="n", columns="method", values="ratio_median")
    return wide.dropna(subset=[m for m in want if m in wide.columns]).reset_index()


def _fused(df: pd.DataFrame, fmt: Any) -> str:
    wide = fused_table(df)
    if wide.empty or not {"hand_reverse", "compiled_reverse"} <= set(wide.columns):
        return ""
    rows = [(fmt.size(r["n"]), fmt.num(r["hand_reverse"]), fmt.num(r["compiled_reverse"]),
             fmt.num(r["fused_reverse"])) for _, r in wide.iterrows()]
    big = wide.iloc[-1]
    verdict = "below" if big["fused_reverse"] < big["hand_reverse"] else "not below"
    return ("### The fused backend\n\n`modes.compile(..., backend='fused')` (numexpr, its threads "
            "pinned with BLAS's) writes each run of elementwise operations on large arrays as one "
            "expression. Rosenbrock's gradient / f:\n\n"
            + fmt.table(("n", "hand-written numpy", "compiled reverse", "fused reverse"), rows)
            + f"\n\nAt n = {fmt.size(big['n'])} the fused gradient costs "
            f"{fmt.num(big['fused_reverse'])}x f, {verdict} the hand-written numpy gradient's "
            f"{fmt.num(big['hand_reverse'])}x.\n")


def _jacobian(df: pd.DataFrame, fmt: Any) -> str:
    cells = jacobian_cells(df)
    if cells.empty:
        return ""
    rows = []
    for _, r in cells.iterrows():
        rows.append((fmt.size(r["n"]), fmt.size(r["m"]),
                     *(fmt.seconds(r[m]) for tool in JACOBIAN_TOOLS.values() for m in tool),
                     *(r[f"{tool}_faster"] or "n/a" for tool in JACOBIAN_TOOLS),
                     fmt.num(r["compiled_vs_casadi"])))
    header = ["n", "m", *(LABELS[m] for tool in JACOBIAN_TOOLS.values() for m in tool),
              *(f"faster: {tool}" for tool in JACOBIAN_TOOLS), "best compiled / best CasADi"]
    text = ["### Jacobians of tanh(A x)\n",
            "Median time per full Jacobian (m x n) of each mode, interpreted, compiled and CasADi's, "
            "timed interleaved per cell:\n", fmt.table(header, rows) + "\n"]
    ratio = cells["compiled_vs_casadi"].dropna()
    if len(ratio):
        gm = float(np.exp(np.log(ratio).mean()))
        worst = cells.loc[cells["compiled_vs_casadi"].idxmax()]
        best = cells.loc[cells["compiled_vs_casadi"].idxmin()]
        text.append(f"* The best compiled mode takes {fmt.span(ratio.min(), ratio.max())} times "
                    f"CasADi's best mode over {len(ratio)} cell(s) (geometric mean {fmt.num(gm)}; "
                    f"lowest at n = {fmt.size(best['n'])}, m = {fmt.size(best['m'])}, highest at "
                    f"n = {fmt.size(worst['n'])}, m = {fmt.size(worst['m'])}).")
        ri = cells["interpreted_vs_casadi"].dropna()
        if len(ri):
            text.append(f"* The best interpreted mode takes {fmt.span(ri.min(), ri.max())} times "
                        "CasADi's best mode.")
    same = cells[(cells["interpreted_faster"] != "") & (cells["compiled_faster"] != "")]
    if len(same):
        agree = int((same["interpreted_faster"] == same["compiled_faster"]).sum())
        moved = same[same["interpreted_faster"] != same["compiled_faster"]]
        text.append(f"* The faster mode is the same interpreted and compiled in {agree} of {len(same)} "
                    "cell(s)" + ("." if moved.empty else "; it changes at " + ", ".join(
                        f"n = {fmt.size(r['n'])}, m = {fmt.size(r['m'])} (interpreted "
                        f"{r['interpreted_faster']}, compiled {r['compiled_faster']})"
                        for _, r in moved.iterrows()) + "."))
    cross = crossovers(cells)
    for m, g in (cross.groupby("m") if len(cross) else []):
        parts = [f"{r['tool']}: " + (f"forward faster below n* \u2248 {fmt.num(r['n_star'], 2)}"
                                     if r["kind"] == "crossing" else r["kind"]) for _, r in g.iterrows()]
        over = ", ".join(fmt.size(v) for v in sorted(cells["n"].unique()))
        text.append(f"* Crossover at m = {fmt.size(m)} (as n grows over {over}): " + "; ".join(parts) + ".")
    return "\n".join(text) + "\n"


def _memory(out_dir: Path, fmt: Any) -> str:
    fits = memory_fits(out_dir)
    if fits.empty or not fits["method"].str.startswith("compiled").any():
        return ""
    held = resident(out_dir)
    rows = []
    for _, r in fits.iterrows():
        h = held[(held["problem"] == r["problem"]) & (held["n"] == r["n"]) & (held["method"] == r["method"])]
        rows.append((r["problem"], fmt.size(r["n"]), LABELS.get(r["method"], r["method"]), int(r["trials"]),
                     fmt.span(r["k_min"], r["k_max"], fmt.size),
                     "flat" if r["peak_flat"] else fmt.num(r["peak_bytes_per_op"]),
                     fmt.num(r["theory_bytes_per_op"]), fmt.span(r["peak_min"], r["peak_max"], fmt.nbytes),
                     fmt.nbytes(r["peak_at_k_max"]),
                     fmt.nbytes(h["held"].iloc[0]) if len(h) else ""))
    text = ["### Memory per operation, interpreted and compiled\n",
            "From the `memory` experiment: peak RSS above baseline of one call on the chain of k tanh "
            "steps, the compiled program compiled and called once before the baseline was read; "
            "bytes per operation are the slope in k (**flat**: no growth the measurement resolves; "
            "the range of the peaks over k is beside it). *Held between calls*: the compiled probe's "
            "baseline above the interpreted probe's at the largest k, the memory the compiled "
            "program (and what it keeps of its recording) occupies while idle.\n",
            fmt.table(["problem", "n", "method", "trials", "k", "peak RSS bytes/op", "theory bytes/op",
                       "peaks over k", "peak at k max", "held between calls at k max"], rows) + "\n"]
    for (problem, n), g in fits.groupby(["problem", "n"], sort=False):
        by = g.set_index("method")
        if {"reverse", "compiled_reverse"} <= set(by.index):
            i, c = by.loc["reverse"], by.loc["compiled_reverse"]
            what = f"n = {fmt.size(n)}" if problem == "vector_chain" else "a Python float"
            ci = "flat" if c["peak_flat"] else f"{fmt.num(c['peak_bytes_per_op'])} bytes"
            ii = "flat" if i["peak_flat"] else f"{fmt.num(i['peak_bytes_per_op'])} bytes"
            ratio = (f" ({fmt.num(c['peak_bytes_per_op'] / i['peak_bytes_per_op'])} times the "
                     "interpreted figure)"
                     if not (c["peak_flat"] or i["peak_flat"]) and i["peak_bytes_per_op"] > 0 else "")
            text.append(f"* **{problem}** ({what}): compiled reverse {ci} per operation against "
                        f"interpreted {ii}{ratio}; the theory (one float64 residual per step) is "
                        f"{fmt.num(c['theory_bytes_per_op'])}.")
        if {"forward", "compiled_forward"} <= set(by.index):
            i, c = by.loc["forward"], by.loc["compiled_forward"]
            text.append(f"* **{problem}**, forward (one JVP): compiled "
                        + ("flat in k" if c["peak_flat"] else f"{fmt.num(c['peak_bytes_per_op'])} bytes per "
                           "operation")
                        + f" up to k = {fmt.size(c['k_max'])} (peaks "
                        f"{fmt.span(c['peak_min'], c['peak_max'], fmt.nbytes)}), interpreted "
                        + ("flat" if i["peak_flat"] else f"{fmt.num(i['peak_bytes_per_op'])} bytes per "
                           "operation") + f" up to k = {fmt.size(i['k_max'])} (peaks "
                        f"{fmt.span(i['peak_min'], i['peak_max'], fmt.nbytes)}).")
        h = held[(held["problem"] == problem) & (held["n"] == n)]
        if len(h):
            text.append(f"* **{problem}**, held between calls: " + "; ".join(
                f"{LABELS[r['method']]} {fmt.nbytes(r['held'])} at k = {fmt.size(r['k'])} "
                f"({fmt.nbytes(r['held'] / r['k'])} per operation)" for _, r in h.iterrows()) + ".")
    return "\n".join(text) + "\n"


def section(out_dir: Path) -> str:
    """The markdown of "Interpreted vs compiled modes" for ``<out_dir>/compiled.csv``; writes its PNG."""
    from .. import report as fmt  # formatting helpers (imported here: report imports this module)

    out_dir = Path(out_dir)
    df = load(out_dir)
    title = "## Interpreted vs compiled modes\n\n"
    if df.empty:
        return title + "No data (`compiled.csv` is missing: run `python experiments/run_all.py --only " \
                       "compiled`).\n"
    intro = ("Each mode as users call it (`modes.grad`, `modes.jacobian`: interpreted) and through "
             "`modes.compile` (recorded once, replayed as generated straight-line Python, compiled in "
             "the set-up), beside f and the peers, timed interleaved per trial "
             "(`experiments/suite/compiled.py`). Every result was checked against the exact derivative "
             f"before it was timed. {fmt.not_measured(df)}\n")
    split = overhead_split(df)
    path = plot_ratios(split, out_dir / FIGURE)
    figure = (f"\n![time ratio to f, interpreted and compiled]({FIGURE})\n\n*time(gradient) / time(f) "
              "against n, interpreted (dashed) and compiled (solid), beside each mode's operation ratio "
              "(dotted: the algorithm)*\n" if path is not None else "")
    parts = [title + intro, _talk(df, fmt), _split(df, fmt) + figure, _speelpenning(df, fmt),
             _rosenbrock(df, fmt), _fused(df, fmt), _jacobian(df, fmt), _memory(out_dir, fmt), _problems(df, fmt)]
    return "\n".join(p.rstrip() + "\n" for p in parts if p).rstrip() + "\n"


def _problems(df: pd.DataFrame, fmt: Any) -> str:
    bad = df[df["status"] != "ok"]
    if bad.empty:
        return ""
    rows = [(r["problem"], fmt.size(r["n"]), fmt.size(r["m"]), r["method"], r["status"],
             str(r["error"])[:160]) for _, r in bad.iterrows()]
    return ("### Rows not measured\n\n"
            + fmt.table(["problem", "n", "m", "method", "status", "reason"], rows) + "\n")
