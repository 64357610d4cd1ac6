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


def plot_scalar_ratio(df: pd.DataFrame, path: Path) -> Path | None:
    d = analysis.ok(df)
    d = d[d["method"].isin(["reverse", "forward"])] if len(d) else d
    if d.empty:
        return None
    problems = list(dict.fromkeys(d["problem"]))
    fig, axes = plt.subplots(1, len(problems), figsize=(5.2 * len(problems), 4.2), squeeze=False)
    for ax, problem in zip(axes[0], problems):
        _bound_band(ax)
        for method in ("reverse", "forward"):
            h = d[(d["problem"] == problem) & (d["method"] == method)].sort_values("n")
            if h.empty:
                continue
            yerr = np.vstack([h["ratio_median"] - h["ratio_q1"], h["ratio_q3"] - h["ratio_median"]])
            ax.errorbar(h["n"], h["ratio_median"], yerr=yerr, marker="o", ms=4, capsize=2,
                        color=COLORS[method], label=f"{method} gradient / f")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("n (inputs)")
        ax.set_ylabel("time(gradient) / time(f)  (paired, median, IQR)")
        ax.set_title(problem)
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8)
    fig.suptitle("Cost of the gradient relative to f")
    return _save(fig, path)


def plot_jacobian_heatmap(df: pd.DataFrame, path: Path) -> Path | None:
    d = analysis.ok(df)
    if d.empty:
        return None
    problems = list(dict.fromkeys(d["problem"]))
    cal = analysis.calibrate(df)
    grids = {(p, k): analysis.log2_ratio_grid(df, p, k) for p in problems for k in analysis.PAIRINGS}
    vals = np.concatenate([g.to_numpy().ravel() for g in grids.values() if not g.empty] or [np.zeros(1)])
    lim = max(1.0, float(np.nanmax(np.abs(vals))))
    fig, axes = plt.subplots(len(problems), len(analysis.PAIRINGS),
                             figsize=(5.6 * len(analysis.PAIRINGS), 4.8 * len(problems)), squeeze=False)
    image = None
    legend: dict[str, object] = {}
    for i, problem in enumerate(problems):
        for j, pairing in enumerate(analysis.PAIRINGS):
            ax = axes[i][j]
            grid = grids[(problem, pairing)]
            fwd, rev = analysis.PAIRINGS[pairing]
            ax.set_title(f"{problem}: {fwd} vs {rev}", fontsize=10)
            if grid.empty:
                ax.set_axis_off()
                continue
            ns, ms = list(grid.columns), list(grid.index)
            image = ax.imshow(grid.to_numpy(), origin="lower", cmap="RdBu_r", vmin=-lim, vmax=lim,
                              aspect="auto")
            for yi, m in enumerate(ms):
                for xi, n in enumerate(ns):
                    v = grid.loc[m, n]
                    if np.isfinite(v):
                        ax.text(xi, yi, f"{v:+.1f}", ha="center", va="center", fontsize=7,
                                color="white" if abs(v) > 0.6 * lim else "black")
            ax.set_xticks(range(len(ns)), [str(n) for n in ns])
            ax.set_yticks(range(len(ms)), [str(m) for m in ms])
            ax.set_xlabel("n (inputs)")
            ax.set_ylabel("m (outputs)")
            # n = m and the calibrated boundary n = w m, in index coordinates (log-spaced sizes)
            step = float(np.mean(np.diff(np.log2(ns)))) if len(ns) > 1 else 1.0
            if ns == ms:
                edge = np.array([-0.5, len(ns) - 0.5])
                ax.plot(edge, edge, "k-", lw=1.5, label="n = m")
                if cal is not None and pairing == "batched":
                    shift = math.log2(cal.best_weight) / step
                    ax.plot(edge + shift, edge, "k--", lw=1.2,
                            label=f"fitted auto boundary n = {cal.best_weight:.3g} m")
                ax.set_xlim(-0.5, len(ns) - 0.5)
                ax.set_ylim(-0.5, len(ms) - 0.5)
                handles, labels = ax.get_legend_handles_labels()
                legend.update(zip(labels, handles))
    fig.subplots_adjust(left=0.07, right=0.84, bottom=0.1, top=0.9, wspace=0.28, hspace=0.3)
    if image is not None:
        cax = fig.add_axes((0.87, 0.15, 0.025, 0.7))
        fig.colorbar(image, cax=cax,
                     label="log2(t_forward / t_reverse): >0 reverse faster, <0 forward faster")
    if legend:
        fig.legend(list(legend.values()), list(legend.keys()), loc="lower center", ncol=len(legend),
                   fontsize=9, frameon=False)
    fig.suptitle("Jacobian of f: R^n -> R^m, forward vs reverse mode")
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def plot_memory(df: pd.DataFrame, path: Path) -> Path | None:
    d = analysis.ok(df)
    d = d[d["method"] != "selftest"] if len(d) else d
    if d.empty:
        return None
    panels = list(dict.fromkeys(zip(d["problem"], d["n"])))
    fig, axes = plt.subplots(1, len(panels), figsize=(5.2 * len(panels), 4.4), squeeze=False)
    for ax, (problem, n) in zip(axes[0], panels):
        g = d[(d["problem"] == problem) & (d["n"] == n)]
        for mode in ("reverse", "forward"):
            h = g[g["mode"] == mode].sort_values("k")
            if h.empty:
                continue
            ax.plot(h["k"], np.maximum(h["peak_rss_delta"], MEM_FLOOR), "o-", color=COLORS[mode],
                    label=f"{mode}: peak RSS delta")
            if mode == "reverse" and h["tape_bytes"].notna().any():
                ax.plot(h["k"], np.maximum(h["tape_bytes"].astype(float), MEM_FLOOR), "s:",
                        color=COLORS[mode], alpha=0.7, label="reverse: tape bytes (Tape.nbytes)")
            ax.plot(h["k"], np.maximum(h["theory_bytes"].astype(float), MEM_FLOOR), "--",
                    color=COLORS[mode], alpha=0.5, label=f"{mode}: theory")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("k (operations in the chain)")
        ax.set_ylabel("bytes")
        ax.set_title(f"{problem}, n = {n}" if problem == "vector_chain" else f"{problem} (Python float)")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=7)
    fig.suptitle(f"Memory vs number of operations k\n(values below {MEM_FLOOR:.0f} B drawn at "
                 f"{MEM_FLOOR:.0f} B)", fontsize=10)
    return _save(fig, path)


def plot_gradient_cost(df: pd.DataFrame, path: Path) -> Path | None:
    t = analysis.gradient_cost_table(df)
    if t.empty:
        return None
    funcs = list(dict.fromkeys(t["problem"]))
    series = sorted(set(zip(t["method"], t["n"])), key=lambda s: (s[0] != "reverse", s[1]))
    width = 0.8 / max(1, len(series))
    fig, ax = plt.subplots(figsize=(max(8.0, 1.3 * len(funcs)), 4.8))
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
    ax.legend(fontsize=7, ncol=2)
    return _save(fig, path)


def make_all(out_dir: Path) -> list[Path]:
    """Draw every figure whose table exists in ``out_dir``; returns the written paths."""
    out_dir = Path(out_dir)
    frames = analysis.load(out_dir)
    jobs = [
        (plot_scalar_time, "scalar_gradient", "scalar_gradient_time"),
        (plot_scalar_ratio, "scalar_gradient", "scalar_gradient_ratio"),
        (plot_jacobian_heatmap, "jacobian_crossover", "jacobian_heatmap"),
        (plot_memory, "memory", "memory"),
        (plot_gradient_cost, "gradient_cost", "gradient_cost"),
    ]
    written = []
    for fn, table, fig in jobs:
        if len(frames[table]):
            p = fn(frames[table], out_dir / FIGURES[fig])
            if p is not None:
                written.append(p)
    return written
