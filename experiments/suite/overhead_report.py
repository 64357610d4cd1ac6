"""The report section of the ``overhead`` experiment, and the explanations other sections take from it.

Computed from ``overhead.csv`` only (this machine, current code version; ``analysis.Split``):

* ``op_times``: per kind, seconds per operation of every method: the slope of the median time in
  the loop length k (per-call costs drop out), net of the empty loop's own cost per step;
* ``node_bytes``: per kind, bytes per tape node: peak RSS, Python objects (tracemalloc) and
  residuals (``Tape.nbytes``), each the slope in the number of nodes;
* ``speelpenning``: the reverse/f ratio predicted for Speelpenning's loop (per element one
  indexing and one multiply, plus the loop's step) against the ratio ``scalar_gradient`` measured;
* ``scalar_chain``: bytes per operation predicted for the scalar chain (one taped tanh per step)
  against the reverse-mode peak RSS per operation ``memory`` measured.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pandas as pd

from .. import analysis

NAME = "overhead"
METHODS = ("f", "record", "reverse", "forward")
LABELS = {"step": "p * x[i] (Speelpenning's step)", "multiply": "p * y (float64 scalars)",
          "tanh": "np.tanh(p) (Python float)", "small_array": "p * y (arrays of 10)"}


def op_times(df: pd.DataFrame) -> pd.DataFrame:
    """One row per kind: ``loop_s`` (the empty loop per step) and, per method, seconds per
    operation net of it (``<method>_s``), ``sweep_s`` = reverse - record, ``<method>_ratio`` =
    per-step time (loop included) over the bare loop's, and ``ks`` (loop lengths fitted)."""
    d = analysis.ok(df)
    d = d[d["method"].isin(METHODS)] if len(d) else d
    if d.empty:
        return pd.DataFrame()
    slopes: dict[tuple[str, str], analysis.Fit] = {}
    for (kind, method), g in d.groupby(["problem", "method"]):
        slopes[(kind, method)] = analysis.linear_fit(g["k"], g["t_median"])
    loop = slopes.get(("loop", "f"))
    step = loop.slope if loop is not None and math.isfinite(loop.slope) else math.nan
    rows = []
    for kind in dict.fromkeys(d["problem"]):
        if kind == "loop":
            continue
        row: dict[str, Any] = {"kind": kind, "loop_s": step,
                               "ks": sorted({int(v) for v in d[d["problem"] == kind]["k"]})}
        for method in METHODS:
            fit = slopes.get((kind, method))
            s = fit.slope if fit is not None else math.nan
            row[f"{method}_step_s"] = s
            row[f"{method}_s"] = s - step if math.isfinite(step) else s
        row["sweep_s"] = row["reverse_step_s"] - row["record_step_s"]
        for method in ("record", "reverse", "forward"):
            row[f"{method}_ratio"] = row[f"{method}_step_s"] / row["f_step_s"]
        row["ops_per_step"] = _ops_per_step(d[d["problem"] == kind])
        rows.append(row)
    return pd.DataFrame(rows)


def _ops_per_step(g: pd.DataFrame) -> float:
    """Tape nodes per loop step (slope of ``ops`` in k)."""
    h = g.dropna(subset=["ops"]).drop_duplicates("k")
    return analysis.linear_fit(h["k"], h["ops"]).slope if len(h) >= 2 else math.nan


def node_bytes(df: pd.DataFrame) -> pd.DataFrame:
    """One row per kind with memory rows: bytes per tape node of peak RSS (``rss``, and whether
    it is flat), of Python objects by tracemalloc (``python``), of residuals (``residual``)."""
    d = analysis.ok(df)
    d = d[d["method"] == "tape"] if len(d) else d
    rows = []
    for kind, g in d.groupby("problem", sort=False):
        rss = analysis.linear_fit(g["ops"], g["peak_rss_delta"])
        rows.append({"kind": kind, "points": len(g), "nodes_min": int(g["ops"].min()),
                     "nodes_max": int(g["ops"].max()), "rss": rss.slope,
                     "rss_flat": analysis.is_flat(rss, analysis.RSS_RESOLUTION),
                     "python": analysis.linear_fit(g["ops"], g["value"]).slope,
                     "residual": analysis.linear_fit(g["ops"], g["tape_bytes"]).slope})
    return pd.DataFrame(rows)


def speelpenning(overhead: pd.DataFrame, scalar: pd.DataFrame) -> dict[str, Any] | None:
    """Speelpenning's reverse/f ratio predicted from the per-operation costs, and measured.

    Per element the loop makes one step (``loop_s``) and the ``step`` kind's work: one indexing
    and one multiply, two tape nodes, recorded and swept. Predicted ratio (large n, per-call costs
    negligible): (loop + step_reverse) / (loop + step_f); the ``multiply`` kind alone shows what
    one taped multiply costs against numpy's.
    """
    t = op_times(overhead)
    if t.empty or "step" not in set(t["kind"]):
        return None
    by = t.set_index("kind")
    st = by.loc["step"]
    loop = float(st["loop_s"])
    bare, taped = loop + st["f_s"], loop + st["reverse_s"]
    out: dict[str, Any] = {"loop_s": loop, "step_f_s": st["f_s"], "step_reverse_s": st["reverse_s"],
                           "step_record_s": st["record_s"], "step_sweep_s": st["sweep_s"],
                           "nodes_per_step": st["ops_per_step"], "bare_step_s": bare, "taped_step_s": taped,
                           "predicted": taped / bare, "forward_predicted": (loop + st["forward_s"]) / bare}
    if "multiply" in by.index:
        mul = by.loc["multiply"]
        out.update(multiply_f_s=mul["f_s"], multiply_reverse_s=mul["reverse_s"])
    sg = analysis.ok(scalar)
    sg = sg[(sg["problem"] == "speelpenning") & (sg["method"] == "reverse")] if len(sg) else sg
    if len(sg):
        big = sg[sg["n"] >= analysis.LARGE_N]
        use = big if len(big) else sg
        top = use.loc[use["n"].idxmax()]
        out.update(measured=float(top["ratio_median"]), measured_n=int(top["n"]),
                   measured_median=float(use["ratio_median"].median()), measured_sizes=len(use),
                   measured_n_min=int(use["n"].min()), measured_n_max=int(use["n"].max()),
                   ops_per_element=float(top["ops"]) / float(top["n"]) if pd.notna(top["ops"]) else math.nan)
    return out


def scalar_chain(overhead: pd.DataFrame, memory: pd.DataFrame) -> dict[str, Any] | None:
    """Bytes per operation of the scalar chain's tape predicted (tanh nodes) and measured (memory)."""
    b = node_bytes(overhead)
    if b.empty or "tanh" not in set(b["kind"]):
        return None
    r = b.set_index("kind").loc["tanh"]
    out: dict[str, Any] = {"rss": r["rss"], "python": r["python"], "residual": r["residual"],
                           "nodes_max": int(r["nodes_max"])}
    fits = analysis.memory_fits(memory)
    rev = fits[(fits["problem"] == "scalar_chain") & (fits["mode"] == "reverse")] if len(fits) else fits
    if len(rev):
        out.update(measured=float(rev["peak_bytes_per_op"].iloc[0]),
                   measured_residual=float(rev["tape_bytes_per_op"].iloc[0]),
                   measured_k_max=int(rev["k_max"].iloc[0]))
    return out


# ---- sentences other sections print ---------------------------------------------------------------------
def speelpenning_sentence(p: dict[str, Any], fmt: Any) -> str:
    """The explanation of Speelpenning's reverse/f ratio."""
    s = fmt.seconds
    nodes = p["nodes_per_step"]
    text = (f"Why Speelpenning's loop is far above the cheap-gradient band: each element is one loop "
            f"step ({s(p['loop_s'])}) plus an indexing x[i] and a multiply, which numpy does in "
            f"{s(p['step_f_s'])} and the tape records as {fmt.num(nodes, 2)} nodes: recording and "
            f"sweeping them costs {s(p['step_reverse_s'])} ({s(p['step_record_s'])} to record, "
            f"{s(p['step_sweep_s'])} to sweep; experiment `overhead`)")
    if "multiply_f_s" in p:
        text += (f"; a taped multiply alone costs {s(p['multiply_reverse_s'])} against numpy's "
                 f"{s(p['multiply_f_s'])}")
    text += (f". Per element {s(p['taped_step_s'])} against {s(p['bare_step_s'])}: predicted "
             f"reverse/f \u2248 **{fmt.num(p['predicted'])}**")
    if "measured" in p:
        where = (f"at n = {fmt.size(p['measured_n'])}" if p["measured_sizes"] == 1 else
                 f"at n = {fmt.size(p['measured_n'])}; median {fmt.num(p['measured_median'])} over "
                 f"n = {fmt.size(p['measured_n_min'])} to {fmt.size(p['measured_n_max'])}")
        held = (f"; its tape holds {fmt.num(p['ops_per_element'], 2)} nodes per element"
                if math.isfinite(p.get("ops_per_element", math.nan)) else "")
        text += f", measured **{fmt.num(p['measured'])}** ({where}{held})."
    else:
        text += " (`scalar_gradient` has no Speelpenning rows to compare)."
    return text + (" The ratio is the interpretive cost of a taped operation against one numpy "
                   "scalar call, not arithmetic: vectorised code pays it once per array, not per entry.")


def scalar_chain_sentence(p: dict[str, Any], fmt: Any) -> str:
    """The explanation of the scalar chain's RSS per operation, or '' when it cannot be computed."""
    text = (f"Why the scalar chain holds far more than its residuals: each taped tanh of a Python "
            f"float is one tape node holding {fmt.num(p['rss'])} bytes of RSS (experiment `overhead`, "
            f"up to {fmt.size(p['nodes_max'])} nodes), {fmt.num(p['python'])} of them Python objects "
            f"counted by tracemalloc (the node's tuples and edge list and the Python float it keeps), "
            f"and only {fmt.num(p['residual'])} residual bytes (the one float64 the rule reads)")
    if "measured" in p:
        text += (f": predicted {fmt.num(p['rss'])} bytes per operation, measured "
                 f"{fmt.num(p['measured'])} (experiment `memory`, up to k = {fmt.size(p['measured_k_max'])}, "
                 f"against {fmt.num(p['measured_residual'])} residual bytes).")
    else:
        text += "."
    return text


# ---- the section --------------------------------------------------------------------------------------------
def section(out_dir: Path) -> str:
    """Markdown of "the cost of one taped operation" from ``overhead.csv`` ('' without rows)."""
    from .. import report as fmt

    out_dir = Path(out_dir)
    frames = analysis.load(out_dir)
    df = frames.get(NAME, pd.DataFrame())
    t = op_times(df)
    b = node_bytes(df)
    if t.empty and b.empty:
        return ""
    s = fmt.seconds
    lines = ["## The cost of one taped operation\n",
             "Loops of k identical operations (`experiments/suite/overhead.py`), timed interleaved "
             "with the bare loop; per operation: the slope of time in k (per-call costs drop out), "
             "net of the empty loop's own step"
             + (f" ({s(t['loop_s'].iloc[0])} per step)" if len(t) else "") + ". `record`: the nominal "
             "pass alone; `sweep`: the reverse sweep (reverse - record); `forward`: one JVP, one "
             "tangent direction.\n"]
    if len(t):
        rows = [(LABELS.get(r["kind"], r["kind"]), fmt.span_list(r["ks"], fmt.size), s(r["f_s"]),
                 s(r["record_s"]), s(r["sweep_s"]), s(r["reverse_s"]), s(r["forward_s"]),
                 fmt.num(r["reverse_ratio"]), fmt.num(r["forward_ratio"]), fmt.num(r["ops_per_step"], 2))
                for _, r in t.iterrows()]
        lines.append(fmt.table(["operation", "k", "bare call", "record", "sweep", "reverse (record + sweep)",
                                "forward (1 direction)", "reverse / bare per step",
                                "forward / bare per step", "tape nodes per step"], rows) + "\n")
    if len(b):
        rows = [(LABELS.get(r["kind"], r["kind"]),
                 f"{fmt.size(r['nodes_min'])} to {fmt.size(r['nodes_max'])}" if r["points"] > 1
                 else fmt.size(r["nodes_max"]),
                 "flat" if r["rss_flat"] else fmt.num(r["rss"]), fmt.num(r["python"]),
                 fmt.num(r["residual"])) for _, r in b.iterrows()]
        lines.append("Bytes per tape node while the tape is held (slopes in the number of nodes; peak "
                     "RSS above baseline in a fresh subprocess, Python objects by tracemalloc, "
                     "residuals by `Tape.nbytes`):\n")
        lines.append(fmt.table(["operation", "nodes", "RSS bytes / node", "Python-object bytes / node",
                                "residual bytes / node"], rows) + "\n")
    sp = speelpenning(df, frames.get("scalar_gradient", pd.DataFrame()))
    if sp is not None:
        lines.append(f"* Speelpenning's loop, per element: {s(sp['taped_step_s'])} taped against "
                     f"{s(sp['bare_step_s'])} bare, so reverse/f \u2248 {fmt.num(sp['predicted'])}"
                     + (f"; `scalar_gradient` measured {fmt.num(sp['measured'])} at n = "
                        f"{fmt.size(sp['measured_n'])} (Claim 1 explains it)" if "measured" in sp else "")
                     + ".")
    sc = scalar_chain(df, frames.get("memory", pd.DataFrame()))
    if sc is not None:
        lines.append(f"* The scalar chain, per tanh node: {fmt.num(sc['rss'])} bytes of RSS against "
                     f"{fmt.num(sc['residual'])} residual bytes"
                     + (f"; `memory` measured {fmt.num(sc['measured'])} bytes of peak RSS per operation "
                        "(Claim 2 explains it)" if "measured" in sc else
                        f", {fmt.num(sc['python'])} of them Python objects")
                     + ".")
    return "\n".join(lines).rstrip() + "\n"
