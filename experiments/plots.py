"""The figures, drawn from the tables only (``analysis.load``); ``make_all(out_dir)`` writes the PNGs.

Each ``plot_*`` takes one experiment's DataFrame and a path, and returns the path, or ``None`` when
the table has nothing to draw.
"""

from __future__ import annotations

import math
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from . import analysis  # noqa: E402

COLORS = {"f": "0.35", "plain": "0.35", "reverse": "tab:blue", "forward": "tab:orange"}
BOUND = (3.0, 5.0)  # the cheap-gradient principle: a reverse gradient costs a small constant times f
FIGURES = {
    "scalar_gradient_time": "scalar_gradient_time.png",
    "scalar_gradient_ratio": "scalar_gradient_ratio.png",
    "jacobian_heatmap": "jacobian_heatmap.png",
    "memory": "memory.png",
    "gradient_cost": "gradient_cost.png",
}
MEM_FLOOR = 4096.0


def _save(fig: plt.Figure, path: Path) -> Path:
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def _bound_band(ax: plt.Axes, label: bool = True) -> None:
    ax.axhspan(*BOUND, color="tab:green", alpha=0.15,
               label=f"cheap-gradient bound ({BOUND[0]:g}-{BOUND[1]:g})" if label else None)


def plot_scalar_time(df: pd.DataFrame, path: Path) -> Path | None:
    d = analysis.ok(df)
    if d.empty:
        return None
    problems = list(dict.fromkeys(d["problem"]))
    slopes = analysis.time_slopes(df, analysis.LARGE_N)
    fig, axes = plt.subplots(1, len(problems), figsize=(5.2 * len(problems), 5.0), squeeze=False)
    for ax, problem in zip(axes[0], problems):
        g = d[d["problem"] == problem]
        for method in ("f", "reverse", "forward"):
            h = g[g["method"] == method].sort_values("n")
            if h.empty:
                continue
            s = slopes[(slopes["problem"] == problem) & (slopes["method"] == method)]["slope"]
            slope = f", slope {s.iloc[0]:.2f} (n\u2265{analysis.LARGE_N})" if len(s) and np.isfinite(s.iloc[0]) else ""
            name = {"f": "f (plain numpy)", "reverse": "reverse gradient",
                    "forward": "forward gradient"}[method]
            yerr = np.vstack([h["t_median"] - h["t_q1"], h["t_q3"] - h["t_median"]])
            ax.errorbar(h["n"], h["t_median"], yerr=yerr, marker="o", ms=4, capsize=2,
                        color=COLORS[method], label=name + slope)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("n (inputs)")
        ax.set_ylabel("time per call [s] (median, IQR bars)")
        ax.set_title(problem)
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.16), frameon=False)
    fig.suptitle("Scalar f: R^n -> R, time of f and of its whole gradient")
    return _save(fig, path)


def plot_scalar_ratio(df: pd.DataFrame, path: Path, speelpenning: dict | None = None) -> Path | None:
    """Gradient / f against n per problem; ``speelpenning`` (``overhead_report.speelpenning``) adds
    the ratio predicted from the per-operation overhead to Speelpenning's panel."""
    d = analysis.ok(df)
    d = d[d["method"].isin(["reverse", "forward"])] if len(d) else d
    if d.empty:
        return None
    problems = list(dict.fromkeys(d["problem"]))
    fig, axes = plt.subplots(1, len(problems), figsize=(5.2 * len(problems), 5.2), squeeze=False)
    for ax, problem in zip(axes[0], problems):
        _bound_band(ax)
        for method in ("reverse", "forward"):
            h = d[(d["problem"] == problem) & (d["method"] == method)].sort_values("n")
            if h.empty:
                continue
            yerr = np.vstack([h["ratio_median"] - h["ratio_q1"], h["ratio_q3"] - h["ratio_median"]])
            ax.errorbar(h["n"], h["ratio_median"], yerr=yerr, marker="o", ms=4, capsize=2,
                        color=COLORS[method], label=f"{method} gradient / f")
        if problem == "speelpenning" and speelpenning is not None and np.isfinite(speelpenning["predicted"]):
            p = speelpenning
            ax.axhline(p["predicted"], color=COLORS["reverse"], ls=":", lw=1.6,
                       label=f"reverse predicted from per-op overhead: {p['predicted']:.3g}")
            ax.text(0.02, 0.03,
                    f"per element: taped x[i] + p*y {_us(p['taped_step_s'])}\n"
                    f"vs bare numpy {_us(p['bare_step_s'])} (loop step included)\n"
                    f"-> reverse/f \u2248 {p['predicted']:.3g}"
                    + (f", measured {p['measured']:.3g} at n = {p['measured_n']}" if "measured" in p else ""),
                    transform=ax.transAxes, fontsize=7.5, va="bottom", zorder=5,
                    bbox={"boxstyle": "round", "fc": "white", "ec": "0.7", "alpha": 0.9})
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("n (inputs)")
        ax.set_ylabel("time(gradient) / time(f)  (paired, median, IQR)")
        ax.set_title(problem)
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=7.5, loc="upper center", bbox_to_anchor=(0.5, -0.14), frameon=False)
    fig.suptitle("Cost of the gradient relative to f")
    return _save(fig, path)


def _us(seconds: float) -> str:
    return f"{seconds * 1e6:.3g} \u00b5s" if np.isfinite(seconds) else "n/a"


def status_grid(df: pd.DataFrame, problem: str, pairing: str = "batched") -> pd.DataFrame:
    """Per cell (m rows, n columns) of ``problem``: "" where both methods of ``pairing`` were
    measured, else the status of a row that was not ("timeout", "failed", "skipped")."""
    fwd, rev = analysis.PAIRINGS[pairing]
    d = df[(df["problem"] == problem) & df["method"].isin([fwd, rev])] if len(df) else df
    if d.empty:
        return pd.DataFrame()
    order = {"timeout": 0, "failed": 1, "skipped": 2, "ok": 3}
    cells = {}
    for (n, m), g in d.groupby(["n", "m"]):
        worst = min(g["status"], key=lambda v: order.get(v, 9))
        missing = {fwd, rev} - set(g[g["status"] == "ok"]["method"])
        cells[(m, n)] = "" if not missing else (worst if worst != "ok" else "missing")
    s = pd.Series(cells)
    s.index.names = ["m", "n"]
    return s.unstack("n").sort_index().sort_index(axis=1).fillna("missing")


def _index_coord(values: list[float], v: np.ndarray) -> np.ndarray:
    """Fractional index of ``v`` on the log-spaced grid ``values``: linear in log2 between ticks,
    extended beyond the ends with the end steps (so lines reach the edges of the panel)."""
    logs = np.log2(np.asarray(values, dtype=float))
    lv = np.log2(np.asarray(v, dtype=float))
    if len(logs) < 2:
        return np.zeros_like(lv)
    idx = np.interp(lv, logs, np.arange(len(logs)))
    lo, hi = lv < logs[0], lv > logs[-1]
    idx[lo] = (lv[lo] - logs[0]) / (logs[1] - logs[0])
    idx[hi] = len(logs) - 1 + (lv[hi] - logs[-1]) / (logs[-1] - logs[-2])
    return idx


def plot_jacobian_heatmap(df: pd.DataFrame, path: Path, rule: tuple[float, float] | None = None) -> Path | None:
    """log2(t_forward / t_reverse) per (n, m) and pairing; cells not measured hatched and labelled
    by their status; on the batched panels the rule of ``jacobian(mode="auto")`` (``rule`` =
    (REVERSE_WEIGHT, FORWARD_OFFSET), default: modes/cost_model.py's) and the cells it gets wrong."""
    from matplotlib.patches import Rectangle

    d = analysis.ok(df)
    if d.empty:
        return None
    if rule is None:
        from modes import cost_model

        rule = (cost_model.REVERSE_WEIGHT, cost_model.FORWARD_OFFSET)
    w, n0 = rule
    problems = list(dict.fromkeys(d["problem"]))
    grids = {}
    for p in problems:
        for k in analysis.PAIRINGS:
            g, st = analysis.log2_ratio_grid(df, p, k), status_grid(df, p, k)
            if not st.empty:
                g = g.reindex(index=st.index, columns=st.columns)
            grids[(p, k)] = (g, st)
    vals = np.concatenate([g.to_numpy(dtype=float).ravel() for g, _ in grids.values() if not g.empty]
                          or [np.zeros(1)])
    lim = max(1.0, float(np.nanmax(np.abs(vals))) if np.isfinite(vals).any() else 1.0)
    height = 4.8 * len(problems) + 1.0
    fig, axes = plt.subplots(len(problems), len(analysis.PAIRINGS),
                             figsize=(5.6 * len(analysis.PAIRINGS), height), squeeze=False)
    image = None
    legend: dict[str, object] = {}
    rule_label = f"library rule: forward iff n \u2264 {w:.3g} m + {n0:.3g} (modes/cost_model.py)"
    for i, problem in enumerate(problems):
        for j, pairing in enumerate(analysis.PAIRINGS):
            ax = axes[i][j]
            grid, st = grids[(problem, pairing)]
            fwd, rev = analysis.PAIRINGS[pairing]
            ax.set_title(f"{problem}: {fwd} vs {rev}", fontsize=10)
            if grid.empty:
                ax.set_axis_off()
                continue
            ns, ms = list(grid.columns), list(grid.index)
            values = grid.to_numpy(dtype=float)
            image = ax.imshow(values, origin="lower", cmap="RdBu_r", vmin=-lim, vmax=lim, aspect="auto")
            for yi, m in enumerate(ms):
                for xi, n in enumerate(ns):
                    v = values[yi, xi]
                    if np.isfinite(v):
                        ax.text(xi, yi, f"{v:+.1f}", ha="center", va="center", fontsize=7,
                                color="white" if abs(v) > 0.6 * lim else "black")
                        continue
                    status = st.loc[m, n] if m in st.index and n in st.columns else "missing"
                    ax.add_patch(Rectangle((xi - 0.5, yi - 0.5), 1, 1, facecolor="0.88", edgecolor="0.35",
                                           hatch="///", lw=0.0, label="not measured (hatched; status shown)"))
                    ax.text(xi, yi, status or "missing", ha="center", va="center", fontsize=7,
                            color="black", bbox={"boxstyle": "round,pad=0.15", "fc": "white", "ec": "none"})
            ax.set_xticks(range(len(ns)), [str(int(n)) for n in ns])
            ax.set_yticks(range(len(ms)), [str(int(m)) for m in ms])
            ax.set_xlabel("n (inputs)")
            ax.set_ylabel("m (outputs)")
            ax.set_xlim(-0.5, len(ns) - 0.5)
            ax.set_ylim(-0.5, len(ms) - 0.5)
            m_line = np.geomspace(min(ms) / 4.0, max(ms) * 4.0, 400)
            if len(ns) > 1 and len(ms) > 1:
                same = _index_coord(ns, m_line)
                ax.plot(same, _index_coord(ms, m_line), "k-", lw=1.4, label="n = m")
            if pairing == "batched" and len(ns) > 1 and len(ms) > 1:
                ax.plot(_index_coord(ns, w * m_line + n0), _index_coord(ms, m_line), "k--", lw=1.6,
                        label=rule_label)
                for yi, m in enumerate(ms):
                    for xi, n in enumerate(ns):
                        v = values[yi, xi]
                        if not np.isfinite(v):
                            continue
                        picks_forward = n <= w * m + n0
                        if (v > 0 and picks_forward) or (v < 0 and not picks_forward):
                            ax.add_patch(Rectangle((xi - 0.46, yi - 0.46), 0.92, 0.92, fill=False,
                                                   edgecolor="black", lw=1.6,
                                                   label="the library rule picks the slower mode"))
            handles, labels = ax.get_legend_handles_labels()
            legend.update(zip(labels, handles))
    fig.subplots_adjust(left=0.07, right=0.84, bottom=1.35 / height, top=1 - 0.85 / height, wspace=0.28,
                        hspace=0.3)
    if image is not None:
        cax = fig.add_axes((0.87, 0.15, 0.025, 0.7))
        fig.colorbar(image, cax=cax,
                     label="log2(t_forward / t_reverse): >0 reverse faster, <0 forward faster")
    if legend:
        fig.legend(list(legend.values()), list(legend.keys()), loc="lower center", ncol=2,
                   fontsize=9, frameon=False)
    fig.suptitle("Jacobian of f: R^n -> R^m, forward vs reverse mode")
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def plot_memory(df: pd.DataFrame, path: Path, chain: dict | None = None) -> Path | None:
    """Peak RSS, tape bytes and theory against k per panel. The theory line is drawn thick and
    underneath, so it shows where the tape's bytes lie on it; the scalar chain's panel states the
    bytes per operation of RSS against the residuals (``chain``: ``overhead_report.scalar_chain``)."""
    d = analysis.ok(df)
    d = d[d["method"] != "selftest"] if len(d) else d
    if d.empty:
        return None
    fits = analysis.memory_fits(df)
    panels = list(dict.fromkeys(zip(d["problem"], d["n"])))
    fig, axes = plt.subplots(1, len(panels), figsize=(5.6 * len(panels), 4.8), squeeze=False)
    for ax, (problem, n) in zip(axes[0], panels):
        g = d[(d["problem"] == problem) & (d["n"] == n)]
        positive = [float(v) for c in ("peak_rss_delta", "tape_bytes", "theory_bytes")
                    for v in g[c].dropna() if float(v) > 0]
        floor = min(MEM_FLOOR, min(positive) / 2) if positive else MEM_FLOOR
        for mode in ("reverse", "forward"):
            h = g[g["method"] == mode].sort_values("k")  # interpreted (compiled rows: compiled_<mode>)
            if h.empty:
                continue
            ax.plot(h["k"], np.maximum(h["theory_bytes"].astype(float), floor), "-", color=COLORS[mode],
                    lw=6, alpha=0.25, zorder=1, label=f"{mode}: theory")
            ax.plot(h["k"], np.maximum(h["peak_rss_delta"].astype(float), floor), "o-", color=COLORS[mode],
                    zorder=3, label=f"{mode}: peak RSS delta")
            if mode == "reverse" and h["tape_bytes"].notna().any():
                ax.plot(h["k"], np.maximum(h["tape_bytes"].astype(float), floor), "s--", color="black",
                        ms=4, lw=1, zorder=4, label="reverse: tape bytes (Tape.nbytes)")
            c = g[g["method"] == f"compiled_{mode}"].sort_values("k")
            if len(c):
                ax.plot(c["k"], np.maximum(c["peak_rss_delta"].astype(float), floor), "^:",
                        color=COLORS[mode], zorder=3, label=f"compiled {mode}: peak RSS delta")
        f = fits[(fits["problem"] == problem) & (fits["n"] == n) & (fits["mode"] == "reverse")]
        if len(f):
            r = f.iloc[0]
            note = (f"reverse, per operation:\npeak RSS {_per(r['peak_bytes_per_op'], r['peak_flat'])}\n"
                    f"tape residuals {_per(r['tape_bytes_per_op'], False)}, theory {_per(r['theory_bytes_per_op'], False)}")
            if problem == "scalar_chain" and chain is not None:
                note += (f"\none tape node: {chain['rss']:.0f} B of RSS,\n{chain['python']:.0f} B of Python "
                         f"objects, {chain['residual']:.0f} B residual")
            ax.text(0.02, 0.62, note, transform=ax.transAxes, ha="left", va="top", fontsize=7.5,
                    bbox={"boxstyle": "round", "fc": "white", "ec": "0.7", "alpha": 0.9})
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_ylim(bottom=floor * 0.8)
        ax.set_xlabel("k (operations in the chain)")
        ax.set_ylabel("bytes")
        ax.set_title(f"{problem}, n = {n}" if problem == "vector_chain" else f"{problem} (Python float)")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=7, loc="upper left")
    fig.suptitle("Memory vs number of operations k (values at or below the axis floor drawn on it)",
                 fontsize=10)
    return _save(fig, path)


def _per(value: float, flat: bool) -> str:
    if flat:
        return "flat"
    return f"{value:.3g} B" if np.isfinite(value) else "n/a"


def plot_gradient_cost(df: pd.DataFrame, path: Path) -> Path | None:
    t = analysis.gradient_cost_table(df)
    if t.empty:
        return None
    funcs = list(dict.fromkeys(t["problem"]))
    series = sorted(set(zip(t["method"], t["n"])), key=lambda s: (s[0] != "reverse", s[1]))
    width = 0.8 / max(1, len(series))
    fig, ax = plt.subplots(figsize=(max(8.0, 1.3 * len(funcs)) + 2.4, 4.8))
    _bound_band(ax)
    ax.axhline(1.0, color="0.5", lw=0.8)
    shades = {"reverse": plt.cm.Blues, "forward": plt.cm.Oranges}
    for s_i, (method, n) in enumerate(series):
        same = [s for s in series if s[0] == method]
        shade = shades[method](0.45 + 0.5 * same.index((method, n)) / max(1, len(same) - 1 or 1))
        xs, ys, errs = [], [], []
        for f_i, func in enumerate(funcs):
            r = t[(t["problem"] == func) & (t["method"] == method) & (t["n"] == n)]
            if len(r):
                xs.append(f_i + (s_i - (len(series) - 1) / 2) * width)
                ys.append(float(r["ratio_median"].iloc[0]))
                errs.append(float(r["ratio_iqr"].iloc[0]) / 2)
        ax.bar(xs, ys, width, yerr=errs, color=shade, label=f"{method}, n = {n:g}")
    ax.set_yscale("log")
    ax.set_xticks(range(len(funcs)), funcs, rotation=20)
    ax.set_ylabel("time(gradient) / time(f)  (paired median)")
    ax.set_title("Cost of a whole gradient relative to the function")
    ax.grid(True, axis="y", which="both", alpha=0.3)
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0.0)
    return _save(fig, path)


def make_all(out_dir: Path) -> list[Path]:
    """Draw every figure whose table exists in ``out_dir``; returns the written paths."""
    from .suite import overhead_report

    out_dir = Path(out_dir)
    frames = analysis.load(out_dir)
    speel = overhead_report.speelpenning(frames["overhead"], frames["scalar_gradient"])
    chain = overhead_report.scalar_chain(frames["overhead"], frames["memory"])
    jobs = [
        (plot_scalar_time, "scalar_gradient", "scalar_gradient_time", {}),
        (plot_scalar_ratio, "scalar_gradient", "scalar_gradient_ratio", {"speelpenning": speel}),
        (plot_jacobian_heatmap, "jacobian_crossover", "jacobian_heatmap", {}),  # every trial pooled
        (plot_memory, "memory", "memory", {"chain": chain}),
        (plot_gradient_cost, "gradient_cost", "gradient_cost", {}),
    ]
    if len(frames["jacobian_crossover"]):
        frames["jacobian_crossover"] = analysis.pooled_rows(out_dir)
    written = []
    for fn, table, fig, extra in jobs:
        if len(frames[table]):
            p = fn(frames[table], out_dir / FIGURES[fig], **extra)
            if p is not None:
                written.append(p)
    return written
