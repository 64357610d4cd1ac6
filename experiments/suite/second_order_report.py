"""The report's second-order section and its figure, from ``second_order.csv`` only.

``section(out_dir)`` returns markdown (empty when there is no data) and writes
``second_order.png``: time per call against n of each composition, one panel per problem and kind.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

from modes.api import SECOND_ORDER_MODES  # noqa: E402

from .. import analysis  # noqa: E402
from ..report import nbytes, num, seconds, size, table  # noqa: E402

FIGURE = "second_order.png"
TIE = 1.15  # a runner-up within 15% of the fastest is a tie: medians on a shared machine move that much
COLOURS = dict(zip(SECOND_ORDER_MODES, ("tab:purple", "tab:blue", "tab:orange", "tab:green")))


def summary(out_dir: Path) -> pd.DataFrame:
    """One row per (problem, kind, n, composition): status, time, tape bytes, peak RSS."""
    df = analysis.current_rows(out_dir, "second_order")
    if df.empty:
        return pd.DataFrame()
    df = df.copy()
    parts = df["problem"].astype(str).str.split(":", n=1, expand=True)
    df["name"], df["kind"] = parts[0], parts[1]
    df["n"] = df["n"].astype(int)
    timed = df[df["method"].isin(SECOND_ORDER_MODES)]
    mem = df[df["method"].str.endswith(" memory")].copy()
    mem["method"] = mem["method"].str.removesuffix(" memory")
    keys = ["name", "kind", "n", "method"]
    out = timed[keys + ["status", "error", "t_median", "ratio_median", "tape_bytes"]].merge(
        mem[keys + ["status", "peak_rss_delta"]].rename(columns={"status": "rss_status"}),
        on=keys, how="left")
    return out.sort_values(keys).reset_index(drop=True)


def winners(s: pd.DataFrame) -> pd.DataFrame:
    """Per (problem, kind, n) where at least two compositions ran: the fastest and its margin."""
    rows = []
    ok = s[s["status"] == "ok"]
    for (name, kind, n), g in ok.groupby(["name", "kind", "n"]):
        if len(g) < 2:
            continue
        g = g.sort_values("t_median")
        best, second = g.iloc[0], g.iloc[1]
        rows.append({"name": name, "kind": kind, "n": n, "winner": best["method"],
                     "t_best": best["t_median"], "runner_up": second["method"],
                     "margin": second["t_median"] / best["t_median"], "ran": len(g)})
    return pd.DataFrame(rows)


def _plot(out_dir: Path, s: pd.DataFrame) -> None:
    panels = sorted(set(zip(s["name"], s["kind"])))
    fig, axes = plt.subplots(1, len(panels), figsize=(3.2 * len(panels), 3.4), squeeze=False)
    for ax, (name, kind) in zip(axes[0], panels):
        g = s[(s["name"] == name) & (s["kind"] == kind) & (s["status"] == "ok")]
        for mode in SECOND_ORDER_MODES:
            m = g[g["method"] == mode]
            if len(m):
                ax.plot(m["n"], m["t_median"], "o-", color=COLOURS[mode], label=mode, ms=4)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_title(f"{name}: {kind}", fontsize=9)
        ax.set_xlabel("n")
    axes[0][0].set_ylabel("seconds per call (median)")
    handles, labels = axes[0][0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=4, fontsize=8, frameon=False)
    fig.tight_layout(rect=(0, 0.1, 1, 1))
    fig.savefig(Path(out_dir) / FIGURE, dpi=110)
    plt.close(fig)


def _cell(row: pd.Series) -> str:
    if row["status"] != "ok":
        return f"{row['status']}"
    return seconds(row["t_median"])


def section(out_dir: Path) -> str:
    s = summary(out_dir)
    if s.empty:
        return ""
    _plot(out_dir, s)
    lines = ["## Second order: four ways to a Hessian\n",
             "`hessian(f, mode=...)` and `hvp(f, x, v, mode=...)` by forward-over-forward (fof), "
             "forward-over-reverse (for, the default), reverse-over-forward (rof) and "
             "reverse-over-reverse (ror), each checked against a Hessian written by hand, timed "
             "interleaved with f (median seconds per call; `skipped`: predicted over the per-call "
             f"budget or the memory cap, the reason is in the table). Figure: `{FIGURE}`.\n"]
    short = dict(zip(SECOND_ORDER_MODES, ("fof", "for", "rof", "ror")))
    for kind in ("hessian", "hvp"):
        k = s[s["kind"] == kind]
        if k.empty:
            continue
        body = []
        for (name, n), g in k.groupby(["name", "n"]):
            cells = {r["method"]: r for _, r in g.iterrows()}
            body.append([name, size(n)] + [_cell(cells[m]) if m in cells else "n/a" for m in SECOND_ORDER_MODES]
                        + [" / ".join(nbytes(cells[m]["tape_bytes"]) if m in cells else "n/a"
                                      for m in SECOND_ORDER_MODES)])
        lines.append(f"**{'Hessian' if kind == 'hessian' else 'Hessian-vector product'}**\n")
        lines.append(table(["problem", "n"] + [short[m] for m in SECOND_ORDER_MODES]
                           + ["tape bytes fof / for / rof / ror"], body) + "\n")
    w = winners(s)
    if not w.empty:
        said = []
        for (name, kind), g in w.groupby(["name", "kind"]):
            parts = [f"n = {size(r['n'])}: " + (
                f"{short[r['winner']]} ({seconds(r['t_best'])}, {num(r['margin'], 2)}x ahead of "
                f"{short[r['runner_up']]}" if r["margin"] >= TIE else
                f"a tie within {TIE - 1:.0%} ({short[r['winner']]} {seconds(r['t_best'])}, "
                f"{short[r['runner_up']]} {num(r['margin'], 2)}x") + f"; {r['ran']} ran)"
                for _, r in g.sort_values("n").iterrows()]
            said.append(f"- {name} {kind}: " + "; ".join(parts))
        lines.append("Fastest composition per size, from the rows above:\n\n" + "\n".join(said) + "\n")
    rss = s.dropna(subset=["peak_rss_delta"])
    if not rss.empty:
        body = [[r["name"], r["kind"], size(r["n"]), short[r["method"]], nbytes(r["peak_rss_delta"])]
                for _, r in rss.iterrows()]
        lines.append("Peak RSS of one call (fresh subprocess, psutil):\n\n"
                     + table(["problem", "kind", "n", "composition", "peak RSS"], body) + "\n")
    skipped = s[s["status"] == "skipped"]
    if not skipped.empty:
        reasons = sorted({f"{short[r['method']]} {r['kind']} of {r['name']} at n = {size(r['n'])}: {r['error']}"
                          for _, r in skipped.iterrows()})
        lines.append(f"{len(skipped)} composition(s) skipped in the tables above:\n\n"
                     + "\n".join(f"- {x}" for x in reasons) + "\n")
    return "\n".join(lines)
