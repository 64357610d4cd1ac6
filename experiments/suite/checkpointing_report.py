"""The report's checkpointing section and its two figures, from ``checkpointing.csv`` only.

``section(out_dir)`` returns markdown (empty when there is no data) and writes
``checkpointing_frontier.png`` (peak memory against runtime, one point per schedule) and
``checkpointing_memory.png`` (peak memory against the number of steps s).
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

from .. import analysis  # noqa: E402
from ..report import nbytes, num, seconds, size, table  # noqa: E402

FRONTIER = "checkpointing_frontier.png"
MEMORY = "checkpointing_memory.png"
TARGETS = {"revolve_memory_cut": 50.0, "revolve_time_ratio": 4.0, "blocks_memory_share": 0.1,
           "blocks_time_ratio": 2.0}


def _label(schedule: str, c: float) -> str:
    named = {"none": "plain tape", "blocks": "checkpoint(fn), blocks of 100"}
    if schedule in named:
        return named[schedule]
    return f"{schedule}, c = {int(c)}" if pd.notna(c) else str(schedule)


def summary(out_dir: Path) -> pd.DataFrame:
    """One row per (n, s, schedule, c): runtimes (f, plain tape, schedule), memory, recomputation."""
    df = analysis.current_rows(Path(out_dir), "checkpointing")
    df = df[df["status"] == "ok"] if len(df) else df
    if df.empty:
        return pd.DataFrame()
    keys = ["n", "ops", "schedule", "snapshots"]
    times = df[df["method"].isin(["f", "plain_tape", "schedule"])].pivot_table(
        index=keys, columns="method", values="t_median")
    times = times.rename(columns={"f": "t_f", "plain_tape": "t_plain", "schedule": "t_schedule"})
    mem = df[df["method"] == "memory"].set_index(keys)[["peak_rss_delta", "tape_bytes", "theory_bytes"]]
    rec = df[df["method"] == "recomputation"].set_index(keys)[["advances", "theory_advances"]]
    out = times.join(mem, how="outer").join(rec, how="outer").reset_index()
    out["time_vs_plain"] = out["t_schedule"] / out["t_plain"]
    plain = out[out["schedule"] == "none"].set_index(["n", "ops"])
    for col, src in (("plain_rss", "peak_rss_delta"), ("plain_tape_bytes", "tape_bytes")):
        out[col] = [plain[src].get((n, s), float("nan")) for n, s in zip(out["n"], out["ops"])]
    out["memory_cut_tape"] = out["plain_tape_bytes"] / out["tape_bytes"]
    return out


def series_styles(s: pd.DataFrame) -> dict[tuple[str, float], dict[str, str]]:
    """One colour and marker per series (schedule, c), the same in both figures."""
    keys = sorted({(str(a), float(b)) for a, b in zip(s["schedule"], s["snapshots"].fillna(0.0))},
                  key=lambda k: (ORDER.index(k[0]) if k[0] in ORDER else len(ORDER), k[1]))
    colors = plt.get_cmap("tab10").colors
    markers = "osD^v<>ph*"
    return {k: {"color": colors[i % len(colors)], "marker": markers[i % len(markers)]}
            for i, k in enumerate(keys)}


ORDER = ("none", "blocks", "uniform", "revolve")


def _key(schedule: object, c: object) -> tuple[str, float]:
    return (str(schedule), 0.0 if pd.isna(c) else float(c))


def _plots(out_dir: Path, s: pd.DataFrame) -> None:
    styles = series_styles(s)
    big = s[s["ops"] == s["ops"].max()].dropna(subset=["t_schedule", "tape_bytes"])
    fig, ax = plt.subplots(figsize=(6.4, 4.4))
    for _, row in big.iterrows():
        st = styles[_key(row["schedule"], row["snapshots"])]
        ax.scatter(row["t_schedule"], row["tape_bytes"], s=40, color=st["color"], marker=st["marker"])
        ax.annotate(_label(row["schedule"], row["snapshots"]), (row["t_schedule"], row["tape_bytes"]),
                    textcoords="offset points", xytext=(5, 4), fontsize=8, color=st["color"])
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("gradient time (s)")
    ax.set_ylabel("peak tape bytes")
    if len(big):
        ax.set_title(f"Memory against time: s = {size(big['ops'].iloc[0])} steps, "
                     f"n = {size(big['n'].iloc[0])}")
    ax.grid(True, which="both", alpha=0.3)
    fig.tight_layout()
    fig.savefig(Path(out_dir) / FRONTIER, dpi=110)
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(7.8, 4.4))
    for (schedule, c), grp in s.groupby(["schedule", "snapshots"], dropna=False):
        grp = grp.sort_values("ops").dropna(subset=["tape_bytes"])
        st = styles[_key(schedule, c)]
        if len(grp):
            ax.plot(grp["ops"], grp["tape_bytes"], marker=st["marker"], color=st["color"],
                    ls="-" if len(grp) >= 2 else "none", label=_label(schedule, c))
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("steps s")
    ax.set_ylabel("peak tape bytes")
    ax.set_title("Peak tape memory against the number of steps")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0.0)
    fig.tight_layout()
    fig.savefig(Path(out_dir) / MEMORY, dpi=110)
    plt.close(fig)


def section(out_dir: Path) -> str:
    """Markdown for the report; every number computed from ``checkpointing.csv``."""
    out_dir = Path(out_dir)
    s = summary(out_dir)
    if s.empty:
        return ""
    _plots(out_dir, s)
    rows = []
    for _, r in s.sort_values(["ops", "schedule", "snapshots"]).iterrows():
        rows.append((size(r["ops"]), _label(r["schedule"], r["snapshots"]), seconds(r["t_schedule"]),
                     num(r["time_vs_plain"]), nbytes(r["tape_bytes"]), nbytes(r["theory_bytes"]),
                     nbytes(r["peak_rss_delta"]), num(r["memory_cut_tape"]),
                     "" if pd.isna(r["advances"]) else f"{int(r['advances'])} / {int(r['theory_advances'])}"))
    lines = [
        "## Checkpointing: memory against recomputation",
        "",
        "The map x_{i+1} = tanh(x_i)·0.9 + 0.1·x_i on an n-vector, s steps, loss sum(x_s^2); its plain "
        "tape keeps one n-vector per step. `revolve` keeps c snapshots (binomial schedule), `uniform` a "
        "snapshot every ceil(s/c) steps, `checkpoint(fn)` wraps blocks of 100 steps. Runtime: the "
        "gradient timed interleaved with the plain tape's; memory: peak tape bytes "
        "(`modes.memory.track()`) and peak RSS above baseline in a fresh subprocess; recomputation: "
        "untaped step evaluations measured / by theory (revolve: Griewank's optimum + 1).",
        "",
        table(["s", "schedule", "gradient time", "× plain tape", "peak tape bytes", "theory (bound)",
               "peak RSS Δ", "tape memory cut", "untaped steps / theory"], rows),
        "",
    ]
    top = s[s["ops"] == s["ops"].max()]
    rev = top[top["schedule"] == "revolve"]
    if len(rev):
        r20 = rev.iloc[(rev["snapshots"] - 20).abs().argsort()[:1]].iloc[0]
        ok_mem = r20["memory_cut_tape"] >= TARGETS["revolve_memory_cut"]
        ok_time = r20["time_vs_plain"] <= TARGETS["revolve_time_ratio"]
        lines.append(
            f"* **revolve, c = {int(r20['snapshots'])}, s = {size(r20['ops'])}, n = {size(r20['n'])}**: "
            f"peak tape memory {nbytes(r20['tape_bytes'])} against {nbytes(r20['plain_tape_bytes'])} for "
            f"the plain tape, a cut of **{num(r20['memory_cut_tape'])}×** (target ≥ "
            f"{num(TARGETS['revolve_memory_cut'])}×: {'met' if ok_mem else 'not met'}); peak RSS "
            f"{nbytes(r20['peak_rss_delta'])} against {nbytes(r20['plain_rss'])}; runtime "
            f"**{num(r20['time_vs_plain'])}×** the plain tape's gradient (target ≤ "
            f"{num(TARGETS['revolve_time_ratio'])}×: {'met' if ok_time else 'not met'}). It evaluated "
            f"{int(r20['advances'])} untaped steps, {num(r20['advances'] / r20['ops'])} per step, "
            f"equal to the optimum {int(r20['theory_advances'])}.")
    blk = top[top["schedule"] == "blocks"]
    if len(blk):
        b = blk.iloc[0]
        share = b["tape_bytes"] / b["plain_tape_bytes"]
        lines.append(
            f"* **checkpoint(fn) on blocks of 100 steps, s = {size(b['ops'])}**: peak tape memory "
            f"{num(share, 2)} of the plain tape's (target ≤ {TARGETS['blocks_memory_share']}: "
            f"{'met' if share <= TARGETS['blocks_memory_share'] else 'not met'}), runtime "
            f"{num(b['time_vs_plain'])}× (target ≤ {num(TARGETS['blocks_time_ratio'])}×: "
            f"{'met' if b['time_vs_plain'] <= TARGETS['blocks_time_ratio'] else 'not met'}).")
    lines += ["", f"![memory against runtime]({FRONTIER})", "",
              f"![memory against steps]({MEMORY})", ""]
    return "\n".join(lines)
