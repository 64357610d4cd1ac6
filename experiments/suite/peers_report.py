"""The report section "modes and the other tools", computed from ``peers.csv`` only.

``section(out_dir)`` returns the section's markdown (tables, the tools' versions, computed
statements, the two targets) and writes its figures into ``out_dir``: ``peers_talk.png`` (time per
gradient of the talk's example, per tool), ``peers_rosenbrock_ratio.png`` (gradient / f against n,
one line per tool) and ``peers_memory.png`` (peak RSS against the number of operations, one line
per tool). Rows are those of the machine ``machine.csv`` names last.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd


NAME = "peers"
FIGURES = {"talk": "peers_talk.png", "rosenbrock": "peers_rosenbrock_ratio.png",
           "memory": "peers_memory.png"}
TOOLS = ("modes", "autograd", "jax", "jax_jit", "torch", "casadi")
NO_JIT = ("autograd", "jax", "torch", "casadi")  # the peers the talk target compares with
HALF_OF = ("autograd", "jax")                     # the Rosenbrock target: modes at most half of these
COLORS = {"modes": "tab:blue", "autograd": "tab:green", "jax": "tab:red", "jax_jit": "tab:pink",
          "torch": "tab:orange", "casadi": "tab:purple"}
MEM_FLOOR = 4096.0


# ---- the table ---------------------------------------------------------------------------------------------
def load(out_dir: Path) -> pd.DataFrame:
    """``peers.csv`` as the report uses it (this machine, current code version: ``analysis.Split``),
    with ``tool`` and ``what`` split from ``method``."""
    from .. import analysis

    df = analysis.current_rows(Path(out_dir), NAME).copy()
    method = df["method"].astype(str)
    df["tool"] = [m.split(":")[0] if ":" in m else m for m in method]
    df["what"] = [m.split(":", 1)[1] if ":" in m else "" for m in method]
    return df


def measured_tools(df: pd.DataFrame) -> list[str]:
    """Tools whose ``versions`` row is ok in ``df``: installed and checked in the run of these rows
    (modes always counts; without any ``versions`` row, every tool with rows). Only their rows
    appear in the tables."""
    v = df[df["problem"] == "versions"] if len(df) else df
    if v.empty:  # no versions rows: nothing says which tools ran; every tool with rows counts
        return _order(set(df["tool"]) - {"f"} | {"modes"}) if len(df) else ["modes"]
    return _order(set(v[v["status"] == "ok"]["method"]) | {"modes"})


def for_tables(df: pd.DataFrame) -> pd.DataFrame:
    """The rows of ``df`` the tables show: those of ``measured_tools`` (and plain numpy f)."""
    if df.empty:
        return df
    keep = set(measured_tools(df)) | {"f"}
    return df[df["tool"].isin(keep) | (df["problem"] == "versions")]


def _ok(df: pd.DataFrame) -> pd.DataFrame:
    return df[df["status"] == "ok"] if len(df) else df


def _order(tools: Sequence[str]) -> list[str]:
    return sorted(set(tools), key=lambda t: TOOLS.index(t) if t in TOOLS else len(TOOLS))


def _method_key(method: str) -> tuple[int, str]:
    """Sort key of a ``"<tool>:<what>"`` method: the tools' order, then the method."""
    tool = method.split(":")[0]
    return (TOOLS.index(tool) if tool in TOOLS else len(TOOLS), method)


def _label(tool: str) -> str:
    return {"jax_jit": "JAX + jit", "jax": "JAX (no jit)", "torch": "PyTorch", "casadi": "CasADi",
            "autograd": "autograd", "modes": "modes"}.get(tool, tool)


# ---- computed tables ----------------------------------------------------------------------------------------
def talk_times(df: pd.DataFrame) -> pd.DataFrame:
    """Per talk method: median time, quartiles, and the factor over modes' reverse gradient."""
    d = _ok(df)
    d = d[(d["problem"] == "talk") & (d["method"] != "f")] if len(d) else d
    if d.empty:
        return pd.DataFrame()
    d = d[["tool", "what", "method", "t_median", "t_q1", "t_q3"]].astype({"t_median": float})
    ref = d[d["method"] == "modes:reverse"]["t_median"]
    d["vs_modes"] = d["t_median"] / float(ref.iloc[0]) if len(ref) else math.nan
    return d.sort_values("t_median").reset_index(drop=True)


def rosenbrock_ratios(df: pd.DataFrame) -> pd.DataFrame:
    """Per (tool, n): paired median gradient/f ratio, its quartiles and the gradient's median time."""
    d = _ok(df)
    d = d[(d["problem"] == "rosenbrock") & (d["what"] == "reverse")] if len(d) else d
    if d.empty:
        return pd.DataFrame()
    cols = ["tool", "n", "ratio_median", "ratio_q1", "ratio_q3", "t_median", "f_median"]
    return d[cols].astype({"n": int}).sort_values(["tool", "n"]).reset_index(drop=True)


def jacobian_times(df: pd.DataFrame) -> pd.DataFrame:
    """Per (n, m, tool, mode): the Jacobian's median time."""
    d = _ok(df)
    d = d[(d["problem"] == "tanh_affine") & d["what"].isin(["forward", "reverse"])] if len(d) else d
    if d.empty:
        return pd.DataFrame()
    return d[["n", "m", "tool", "what", "t_median"]].astype({"n": int, "m": int}).reset_index(drop=True)


def memory_rows(df: pd.DataFrame) -> pd.DataFrame:
    """Per (method, k): peak RSS above baseline of one reverse gradient of the chain."""
    d = _ok(df)
    d = d[d["problem"] == "chain"] if len(d) else d
    if d.empty:
        return pd.DataFrame()
    return (d[["tool", "what", "method", "n", "k", "peak_rss_delta", "peak_hwm_delta", "tape_bytes"]]
            .astype({"k": int, "n": int}).sort_values(["method", "k"]).reset_index(drop=True))


def memory_slopes(mem: pd.DataFrame) -> pd.DataFrame:
    """Per method: peak-RSS bytes per operation (least-squares slope in k; ``flat`` when it is within
    noise of zero: ``analysis.is_flat``), the peak and the residual bytes the tool reports at the
    largest k."""
    from .. import analysis

    rows = []
    for method, g in mem.groupby("method", sort=False):
        fit = analysis.linear_fit(g["k"].astype(float), g["peak_rss_delta"].astype(float))
        big = g.loc[g["k"].idxmax()]
        rows.append({"method": method, "tool": g["tool"].iloc[0], "what": g["what"].iloc[0],
                     "n": int(g["n"].iloc[0]), "points": len(g), "k_min": int(g["k"].min()),
                     "bytes_per_op": fit.slope, "flat": analysis.is_flat(fit, analysis.RSS_RESOLUTION),
                     "k_max": int(big["k"]), "peak_at_k_max": float(big["peak_rss_delta"]),
                     "residuals_at_k_max": float(big["tape_bytes"]) if pd.notna(big["tape_bytes"])
                     else math.nan})
    return pd.DataFrame(rows)


def checkpoint_rows(df: pd.DataFrame) -> pd.DataFrame:
    """Per (tool, schedule): time ratio to f and time (timing rows), peak RSS (memory rows)."""
    d = _ok(df)
    d = d[(d["problem"] == "tanh_map") & d["what"].isin(["plain", "blocks"])] if len(d) else d
    if d.empty:
        return pd.DataFrame()
    timing = d[d["schedule"].isna()]
    memory = d[d["schedule"].notna()]
    rows = []
    for (n, s), cell in d.groupby(["n", "ops"]):
        for (tool, what), _ in cell.groupby(["tool", "what"], sort=False):
            t = timing[(timing["n"] == n) & (timing["ops"] == s) & (timing["method"] == f"{tool}:{what}")]
            m = memory[(memory["n"] == n) & (memory["ops"] == s) & (memory["method"] == f"{tool}:{what}")]
            rows.append({"n": int(n), "s": int(s), "tool": tool, "schedule": what,
                         "ratio": float(t["ratio_median"].iloc[0]) if len(t) else math.nan,
                         "t_median": float(t["t_median"].iloc[0]) if len(t) else math.nan,
                         "peak": float(m["peak_rss_delta"].iloc[0]) if len(m) else math.nan,
                         "theory": float(m["theory_bytes"].iloc[0]) if len(m) else math.nan})
    return pd.DataFrame(rows)


# ---- figures -------------------------------------------------------------------------------------------------
def _plt() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(fig: Any, path: Path) -> Path:
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    _plt().close(fig)
    return path


def plot_talk(t: pd.DataFrame, path: Path) -> Path | None:
    if t.empty:
        return None
    plt = _plt()
    t = t.iloc[::-1]
    fig, ax = plt.subplots(figsize=(7.5, 0.45 * len(t) + 1.6))
    ys = np.arange(len(t))
    err = np.vstack([t["t_median"] - t["t_q1"], t["t_q3"] - t["t_median"]]) * 1e6
    ax.barh(ys, t["t_median"] * 1e6, xerr=err, color=[COLORS.get(x, "0.5") for x in t["tool"]],
            alpha=0.9)
    ax.set_yticks(ys, [f"{_label(a)} ({b})" for a, b in zip(t["tool"], t["what"])])
    for y, v in zip(ys, t["t_median"] * 1e6):
        ax.text(v, y, f" {v:.3g} µs", va="center", fontsize=8)
    ax.set_xscale("log")
    ax.set_xlabel("time per gradient [µs] (median, IQR bars; log scale)")
    ax.set_title("V = x*y + (x+y)*z on Python floats: one gradient")
    ax.grid(True, axis="x", which="both", alpha=0.3)
    return _save(fig, path)


def plot_rosenbrock(r: pd.DataFrame, path: Path) -> Path | None:
    if r.empty:
        return None
    plt = _plt()
    fig, ax = plt.subplots(figsize=(7.5, 5.0))
    for tool in _order(r["tool"]):
        g = r[r["tool"] == tool].sort_values("n")
        err = np.vstack([g["ratio_median"] - g["ratio_q1"], g["ratio_q3"] - g["ratio_median"]])
        ax.errorbar(g["n"], g["ratio_median"], yerr=err, marker="o", ms=4, capsize=2,
                    color=COLORS.get(tool, "0.5"), lw=2.2 if tool == "modes" else 1.2, label=_label(tool))
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("n (inputs)")
    ax.set_ylabel("time(gradient) / time(plain numpy f)  (paired median, IQR)")
    ax.set_title("Extended Rosenbrock: reverse gradient relative to plain numpy f")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    return _save(fig, path)


def plot_memory(mem: pd.DataFrame, path: Path) -> Path | None:
    if mem.empty:
        return None
    plt = _plt()
    fig, ax = plt.subplots(figsize=(7.5, 5.0))
    for method in sorted(mem["method"].unique(), key=_method_key):
        g = mem[mem["method"] == method].sort_values("k")
        tool, what = method.split(":", 1)
        label = _label(tool) + (" (graph build included)" if what.endswith("+build") else "")
        ax.plot(g["k"], np.maximum(g["peak_rss_delta"].astype(float), MEM_FLOOR),
                "s--" if what.endswith("+build") else "o-", color=COLORS.get(tool, "0.5"),
                lw=2.2 if tool == "modes" else 1.2, label=label)
    n = int(mem["n"].iloc[0])
    k = np.array(sorted(mem["k"].unique()), dtype=float)
    ax.plot(k, np.maximum(8.0 * n * k, MEM_FLOOR), ":", color="0.4",
            label="8 n k (one float64 n-vector per step)")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("k (tanh steps in the chain)")
    ax.set_ylabel("peak RSS above baseline [bytes]")
    ax.set_title(f"Reverse gradient of sum(tanh^k(x)), n = {n}: memory vs operations\n"
                 f"(values below {MEM_FLOOR:.0f} B drawn at {MEM_FLOOR:.0f} B)", fontsize=10)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=7)
    return _save(fig, path)


# ---- markdown -------------------------------------------------------------------------------------------------
def _figure(out_dir: Path, key: str, caption: str) -> str:
    name = FIGURES[key]
    return f"\n![{caption}]({name})\n\n*{caption}*\n" if (out_dir / name).exists() else ""


def _versions(df: pd.DataFrame, fmt: Any) -> str:
    v = df[df["problem"] == "versions"] if len(df) else df
    if v.empty:
        return "No tool rows.\n"
    rows = []
    for tool in _order(v["method"]):
        r = v[v["method"] == tool].iloc[-1]
        if r["status"] == "ok":
            rows.append((_label(tool), str(r["note"]), fmt.num(r["check_err"], 2), "ok"))
        else:
            rows.append((_label(tool), "", "", f"{r['status']}: {r['error']}"))
    return fmt.table(["tool", "version; how it runs", "interface check vs modes", "status"], rows) + "\n"


def _quartiles(r: pd.Series, fmt: Any) -> str:
    q = fmt.span(r["t_q1"], r["t_q3"], fmt.seconds)
    return f"quartiles {q}" if " to " in q else "quartiles equal"


def _talk(out_dir: Path, df: pd.DataFrame, fmt: Any) -> str:
    t = talk_times(df)
    head = "### The talk's example: V = x*y + (x+y)*z on Python floats\n"
    if t.empty:
        return head + "\nNo data.\n"
    plot_talk(t, out_dir / FIGURES["talk"])
    rows = [(_label(r["tool"]), r["what"],
             f"{fmt.seconds(r['t_median'])} ({_quartiles(r, fmt)})",
             fmt.num(r["vs_modes"])) for _, r in t.iterrows()]
    intro = ("One gradient (all three partials) per call, every tool timed interleaved in one "
             "process; inputs are Python floats, outputs each tool's own type.\n")
    header = ["tool", "mode", "time per gradient (median, IQR)", "× modes reverse"]
    lines = [head, intro, fmt.table(header, rows), ""]
    ref = t[t["method"] == "modes:reverse"]
    if len(ref):
        t_ref = float(ref["t_median"].iloc[0])
        slower = []
        for tool in _order(t["tool"]):
            r = t[(t["tool"] == tool) & (t["what"] == "reverse")]
            if tool == "modes" or r.empty:
                continue
            f = float(r["t_median"].iloc[0]) / t_ref
            word = f"{fmt.num(f)}× faster than" if f >= 1 else f"{fmt.num(1 / f)}× slower than"
            lines.append(f"* modes reverse ({fmt.seconds(t_ref)}) is {word} {_label(tool)} "
                         f"({fmt.seconds(r['t_median'].iloc[0])}).")
            if tool in NO_JIT:
                slower.append(f > 1)
        present = [x for x in NO_JIT if x in set(t["tool"])]
        if present:
            met = all(slower) and len(slower) == len(present)
            lines.append(f"* **Target** (modes reverse faster than every tool without jit: "
                         f"{', '.join(_label(x) for x in present)}): **{'met' if met else 'not met'}**.")
    lines.append(_figure(out_dir, "talk", "time per gradient of the talk's example, per tool and mode"))
    return "\n".join(lines)


def _rosenbrock(out_dir: Path, df: pd.DataFrame, fmt: Any) -> str:
    r = rosenbrock_ratios(df)
    head = "### Extended Rosenbrock: gradient / f across n\n"
    if r.empty:
        return head + "\nNo data.\n"
    plot_rosenbrock(r, out_dir / FIGURES["rosenbrock"])
    ns = sorted(r["n"].unique())
    rows = []
    for tool in _order(r["tool"]):
        g = r[r["tool"] == tool].set_index("n")
        rows.append((_label(tool), *(fmt.num(g.loc[n, "ratio_median"]) if n in g.index else "–"
                                     for n in ns)))
    intro = ("Paired median of time(reverse gradient) / time(plain numpy f), the same f for every "
             "tool (a ratio below 1 means the tool's gradient beats plain numpy's f):\n")
    lines = [head, intro, fmt.table(["tool", *(f"n = {fmt.size(n)}" for n in ns)], rows), ""]
    mine = r[r["tool"] == "modes"].set_index("n")
    if len(mine):
        n_top = int(mine.index.max())
        top = r[r["n"] == n_top].set_index("tool")
        m = top.loc["modes"]
        lines.append(f"At n = {fmt.size(n_top)} (plain numpy f: {fmt.seconds(m['f_median'])}), modes' "
                     f"reverse gradient takes {fmt.seconds(m['t_median'])}, ratio "
                     f"{fmt.num(m['ratio_median'])}:\n")
        for tool in _order(top.index):
            if tool == "modes":
                continue
            o = top.loc[tool]
            speed = o["t_median"] / m["t_median"]
            word = (f"{fmt.num(speed)}× faster than" if speed >= 1
                    else f"{fmt.num(1 / speed)}× slower than")
            lines.append(f"* modes reverse is {word} {_label(tool)} at n = {fmt.size(n_top)} "
                         f"({fmt.seconds(o['t_median'])}; ratio {fmt.num(o['ratio_median'])}, "
                         f"modes' ratio is {fmt.num(m['ratio_median'] / o['ratio_median'])} of it).")
        present = [x for x in HALF_OF if x in top.index]
        if present:
            met = all(m["ratio_median"] <= 0.5 * top.loc[x, "ratio_median"] for x in present)
            missing = [x for x in HALF_OF if x not in top.index]
            others = " and ".join(f"{_label(x)} ({fmt.num(top.loc[x, 'ratio_median'])})" for x in present)
            absent = f" ({', '.join(_label(x) for x in missing)} not measured)" if missing else ""
            lines.append(f"* **Target** (at n = {fmt.size(n_top)}, modes' ratio at most half of {others}): "
                         f"modes {fmt.num(m['ratio_median'])}, **{'met' if met else 'not met'}**{absent}.")
    lines.append(_figure(out_dir, "rosenbrock", "reverse gradient / plain numpy f against n, one line "
                         "per tool"))
    return "\n".join(lines)


def _jacobians(df: pd.DataFrame, fmt: Any) -> str:
    j = jacobian_times(df)
    head = "### Full Jacobians of tanh(A x): R^n -> R^m, forward and reverse\n"
    if j.empty:
        return head + "\nNo data.\n"
    tools = _order(j["tool"])
    lines = [head, ("Median time per Jacobian (each tool's own forward / reverse Jacobian; the "
                    "faster of the two in bold):\n")]
    rows = []
    for (n, m), g in j.groupby(["n", "m"]):
        cells = []
        for tool in tools:
            h = g[g["tool"] == tool].set_index("what")["t_median"]
            parts = []
            best = h.min() if len(h) else math.nan
            for mode in ("forward", "reverse"):
                if mode in h.index:
                    s = fmt.seconds(h[mode])
                    parts.append(f"**{s}**" if h[mode] == best and len(h) > 1 else s)
                else:
                    parts.append("–")
            cells.append(" / ".join(parts))
        rows.append((fmt.size(n), fmt.size(m), *cells))
    lines.append(fmt.table(["n", "m", *(f"{_label(t)} fwd / rev" for t in tools)], rows))
    lines.append("")
    best = j.groupby(["n", "m", "tool"])["t_median"].min().reset_index()
    mine = best[best["tool"] == "modes"].set_index(["n", "m"])["t_median"]
    for tool in tools:
        if tool == "modes":
            continue
        b = best[best["tool"] == tool].set_index(["n", "m"])["t_median"]
        common = b.index.intersection(mine.index)
        if not len(common):
            continue
        ratio = b[common] / mine[common]
        geo = float(np.exp(np.mean(np.log(ratio))))
        wins = int((ratio > 1).sum())
        lines.append(f"* {_label(tool)}: its faster mode takes {fmt.num(geo)}× modes' faster mode "
                     + (f"(one cell)" if len(common) == 1 else
                        f"(geometric mean over {len(common)} cells, range "
                        f"{fmt.span(ratio.min(), ratio.max())})")
                     + f"; modes is faster in {wins} of {len(common)} cell(s).")
    return "\n".join(lines) + "\n"


def _memory(out_dir: Path, df: pd.DataFrame, fmt: Any) -> str:
    mem = memory_rows(df)
    head = "### Reverse-mode memory against the number of operations\n"
    if mem.empty:
        return head + "\nNo data.\n"
    plot_memory(mem, out_dir / FIGURES["memory"])
    n = int(mem["n"].iloc[0])
    ks = sorted(mem["k"].unique())
    fits = memory_slopes(mem)
    fits = fits.iloc[sorted(range(len(fits)), key=lambda i: _method_key(fits["method"].iloc[i]))]
    rows = []
    for _, f in fits.iterrows():
        g = mem[mem["method"] == f["method"]].set_index("k")["peak_rss_delta"]
        label = _label(f["tool"]) + (" (graph build included)" if f["what"].endswith("+build") else "")
        rows.append((label, *(fmt.nbytes(g[k]) if k in g.index else "–" for k in ks),
                     "flat" if f["flat"] else fmt.num(f["bytes_per_op"]),
                     "flat" if f["flat"] else fmt.num(f["bytes_per_op"] / (8.0 * n)),
                     fmt.nbytes(f["residuals_at_k_max"]) if math.isfinite(f["residuals_at_k_max"]) else ""))
    intro = (f"Peak RSS above baseline of one reverse gradient of sum(tanh^k(x)) on n = {fmt.size(n)}, "
             "each in a fresh subprocess. The baseline is read after set-up and one warm-up call, so "
             "CasADi's graph and work vector and a jit compilation are in it; the `graph build "
             "included` line builds CasADi's graph and gradient Function inside the measured call, as "
             "the tape-based tools record their tape in every call. Bytes per step: least-squares "
             f"slope in k (one float64 n-vector is 8 n = {fmt.size(8 * n)} bytes). Residuals: modes' "
             "tape (`Tape.nbytes`) and CasADi's work vector (`sz_w` doubles) at the largest k.\n")
    header = ["tool", *(f"k = {fmt.size(k)}" for k in ks), "bytes per step", "n-vectors per step",
              "residuals"]
    lines = [head, intro, fmt.table(header, rows), ""]
    mine = fits[fits["method"] == "modes:reverse"]
    if len(mine) and not mine["flat"].iloc[0] and mine["bytes_per_op"].iloc[0] > 0:
        b0 = float(mine["bytes_per_op"].iloc[0])
        lines.append(f"modes keeps {fmt.num(b0)} bytes of peak RSS per tanh step "
                     f"({fmt.num(b0 / (8.0 * n))} n-vectors). Against it:\n")
        for _, f in fits.iterrows():
            if f["tool"] == "modes" or not math.isfinite(f["bytes_per_op"]) or f["points"] < 2:
                continue
            label = _label(f["tool"]) + (" with its graph build" if f["what"].endswith("+build") else "")
            span = f"k = {fmt.span(f['k_min'], f['k_max'], fmt.size)}"
            if f["flat"]:
                lines.append(f"* {label}: flat, no growth per step the measurement resolves ({span}; peak "
                             f"{fmt.nbytes(f['peak_at_k_max'])} at k = {fmt.size(f['k_max'])}).")
            else:
                lines.append(f"* {label}: {fmt.num(f['bytes_per_op'] / b0)}× modes' bytes per step "
                             f"({fmt.num(f['bytes_per_op'])} B, {span}).")
    lines.append(_figure(out_dir, "memory", "peak RSS against the number of operations, one line per tool"))
    return "\n".join(lines) + "\n"


def _checkpointing(df: pd.DataFrame, fmt: Any) -> str:
    c = checkpoint_rows(df)
    head = "### Checkpointing: each tool's own, on the map x -> tanh(x)*0.9 + 0.1*x\n"
    if c.empty:
        return head + "\nNo data.\n"
    lines = [head]
    for (n, s), g in c.groupby(["n", "s"]):
        lines.append(f"n = {fmt.size(n)}, s = {fmt.size(s)} steps; `blocks`: each block of 100 steps "
                     "checkpointed (modes.checkpoint, autograd.checkpoint, jax.checkpoint, "
                     "torch.utils.checkpoint); time ratio to plain numpy f (paired median), peak RSS "
                     "above baseline in a fresh subprocess:\n")
        rows, notes = [], []
        for tool in _order(g["tool"]):
            by = g[g["tool"] == tool].set_index("schedule").reindex(["plain", "blocks"])
            plain, blocks = by.loc["plain"], by.loc["blocks"]
            saved = plain["peak"] / blocks["peak"] if blocks["peak"] > 0 else math.nan
            cost = blocks["t_median"] / plain["t_median"]
            rows.append((_label(tool), fmt.num(plain["ratio"]), fmt.nbytes(plain["peak"]),
                         fmt.num(blocks["ratio"]), fmt.nbytes(blocks["peak"]), fmt.num(saved),
                         fmt.num(cost)))
            if math.isfinite(saved) and math.isfinite(cost):
                notes.append(f"* {_label(tool)}: checkpointing divides the peak by {fmt.num(saved)} "
                             f"and multiplies the gradient's time by {fmt.num(cost)}.")
        header = ["tool", "plain: × f", "plain: peak RSS", "blocks: × f", "blocks: peak RSS",
                  "memory saved (plain / blocks)", "time cost (blocks / plain)"]
        lines += [fmt.table(header, rows), ""] + notes
        theory = g[["schedule", "theory"]].dropna().drop_duplicates("schedule").set_index("schedule")
        if len(theory):
            lines.append("\nTheory (one n-vector per taped step): " + ", ".join(
                f"{k} {fmt.nbytes(v)}" for k, v in theory["theory"].items()) + ".")
        if "autograd" in set(g["tool"]):
            lines.append("autograd builds each operation's VJP closure during the forward pass "
                         "(`autograd.core.VJPNode`), so `autograd.checkpoint` re-records a block at once "
                         "and holds its tape until the reverse sweep: it recomputes, and its peak is "
                         "what the table shows.")
    return "\n".join(lines) + "\n"


def _checks_and_problems(df: pd.DataFrame, fmt: Any) -> str:
    d = _ok(df)
    d = d[(d["problem"] != "versions") & (d["method"] != "f")] if len(d) else d
    lines = ["### Checks, skips and failures\n"]
    if len(d):
        worst = d.groupby("tool")["check_err"].agg(["max", "count"])
        each = ", ".join(f"{_label(t)} {fmt.num(worst.loc[t, 'max'], 2)} ({int(worst.loc[t, 'count'])} rows)"
                         for t in _order(worst.index))
        lines.append("Each tool's result was checked before its time was recorded (modes against the "
                     "exact derivative, the others against modes; relative error, limit 1e-8): largest "
                     f"error {each}.\n")
    bad = df[df["status"] != "ok"] if len(df) else df
    lines.append(fmt.not_measured(df) + (" A tool that is not installed is one skipped `versions` "
                                         "row; none of its workloads was run." if len(bad) else ""))
    if len(bad):
        rows = []
        for _, r in bad.head(40).iterrows():
            where = ", ".join(f"{c}={fmt.size(r[c])}" for c in ("n", "m", "k") if pd.notna(r[c]))
            rows.append((r["problem"], r["method"], where, r["status"], str(r["error"])[:150]))
        lines.append("\n" + fmt.table(["problem", "method", "size", "status", "reason"], rows))
        if len(bad) > 40:
            lines.append(f"\n({len(bad) - 40} more not shown.)")
    return "\n".join(lines) + "\n"


def section(out_dir: Path) -> str:
    """The markdown of "modes and the other tools" for ``<out_dir>/peers.csv``; writes its PNGs."""
    from .. import report as fmt  # formatting helpers (imported here: report may import this module)

    out_dir = Path(out_dir)
    df = load(out_dir)
    title = "## modes and the other tools\n\n"
    if df.empty:
        return title + "No data (`peers.csv` is missing: run `python experiments/run_all.py --only peers`).\n"
    tools = measured_tools(df)
    v = df[df["problem"] == "versions"]
    missing = _order(set(v[v["status"] != "ok"]["method"])) if len(v) else []
    stamps = df["timestamp"].dropna().astype(str)
    version = ", ".join(sorted({str(c) for c in df["code_version"].dropna()})) or "not recorded"
    intro = ("The same workloads run through every tool that was installed and passed its interface "
             f"check when these rows were measured ({fmt.span(stamps.min(), stamps.max(), str)}, code "
             f"version `{version}`): {', '.join(_label(t) for t in tools)}"
             + (f"; not measured: {', '.join(_label(t) for t in missing)} (see the table)" if missing else "")
             + ". Only these tools appear in the tables below "
             "(`experiments/suite/peers.py`; adapters in `experiments/peers/`). Times are interleaved "
             "with plain numpy f in one process, so every ratio is paired; JAX results are waited "
             "for; jit compilation and graph building are set-up, not timed. JAX runs without jit "
             "(`jax`) and with it (`jax_jit`). Tools and versions:\n\n")
    shown = for_tables(df)
    parts = [title + intro + _versions(df, fmt), _talk(out_dir, shown, fmt),
             _rosenbrock(out_dir, shown, fmt), _jacobians(shown, fmt), _memory(out_dir, shown, fmt),
             _checkpointing(shown, fmt), _checks_and_problems(df, fmt)]
    return "\n".join(p.rstrip() + "\n" for p in parts if p).rstrip() + "\n"
