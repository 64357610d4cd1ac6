"""The report's sparse-Jacobian section and its figure, from ``sparse_jacobian.csv`` only.

``section(out_dir)`` returns markdown (empty when there is no data) and writes
``sparse_jacobian_times.png`` (per problem at its largest size with dense rows: the time of the
best dense, the best coloured call and the best reused colouring).
"""

from __future__ import annotations

import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from .. import analysis  # noqa: E402
from ..report import num, seconds, size, table  # noqa: E402
from ..store import load_csv  # noqa: E402

NAME = "sparse_jacobian"
FIGURE = "sparse_jacobian_times.png"
TIMED = ("dense_forward", "dense_reverse", "forward_coloured", "reverse_coloured", "forward_reused",
         "reverse_reused", "detect")
STRUCTURE = ("nnz", "col_colours", "col_bound", "row_colours", "row_bound")


def _rows(out_dir: Path) -> pd.DataFrame:
    current = getattr(analysis, "current_rows", None)
    if current is not None:
        return current(Path(out_dir), NAME)
    df = load_csv(Path(out_dir) / f"{NAME}.csv")
    machine = analysis.current_machine(Path(out_dir)).get("machine_id")
    if machine and len(df):
        df = df[df["machine"].astype(str) == machine]
    return df


def _structure(value: object) -> dict[str, float]:
    try:
        got = json.loads(str(value))
    except (TypeError, ValueError):
        return {}
    return {k: float(got[k]) for k in STRUCTURE if isinstance(got, dict) and k in got}


def summary(out_dir: Path) -> pd.DataFrame:
    """One row per (problem, n, m): the structure, each method's median time, the speed-ups."""
    df = _rows(out_dir)
    if df.empty:
        return pd.DataFrame()
    keys = ["problem", "n", "m"]
    ok = df[df["status"] == "ok"]
    if ok.empty:
        return pd.DataFrame()
    times = ok[ok["method"].isin(TIMED)].pivot_table(index=keys, columns="method", values="t_median")
    times = times.reindex(columns=list(TIMED))
    firsts = df.dropna(subset=["value"]).groupby(keys).first()
    struct = pd.DataFrame([_structure(v) for v in firsts["value"]], index=firsts.index)
    struct["auto_choice"] = firsts["auto_choice"]
    out = struct.join(times, how="inner").reset_index()
    out["best_dense"] = out[["dense_forward", "dense_reverse"]].min(axis=1, skipna=True)
    out["best_coloured"] = out[["forward_coloured", "reverse_coloured"]].min(axis=1, skipna=True)
    out["best_reused"] = out[["forward_reused", "reverse_reused"]].min(axis=1, skipna=True)
    out["speedup_call"] = out["best_dense"] / out["best_coloured"]
    out["speedup_reused"] = out["best_dense"] / out["best_reused"]
    faster = np.where(out["forward_reused"] <= out["reverse_reused"], "forward", "reverse")
    both = out[["forward_reused", "reverse_reused"]].notna().all(axis=1)
    out["faster_reused"] = np.where(both, faster, None)
    order = {p: i for i, p in enumerate(pd.unique(df["problem"]))}
    return out.sort_values(["problem", "n"], key=lambda c: c.map(order) if c.name == "problem" else c)


def _plot(out_dir: Path, s: pd.DataFrame) -> bool:
    dense = s.dropna(subset=["best_dense"])
    if dense.empty:
        return False
    top = dense.loc[dense.groupby("problem", sort=False)["n"].idxmax()]
    fig, ax = plt.subplots(figsize=(7.6, 4.2))
    x = np.arange(len(top))
    for k, (col, label) in enumerate((("best_dense", "dense (best mode)"),
                                      ("best_coloured", "coloured call (pattern + colouring + passes)"),
                                      ("best_reused", "coloured, pattern reused"))):
        ax.bar(x + (k - 1) * 0.27, top[col], width=0.27, label=label)
    ax.set_yscale("log")
    ax.set_xticks(x)
    ax.set_xticklabels([f"{p}\nn={size(n)}" for p, n in zip(top["problem"], top["n"])], fontsize=8)
    ax.set_ylabel("seconds per Jacobian")
    ax.set_title("Sparse Jacobians: dense against coloured")
    ax.grid(True, axis="y", which="both", alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(Path(out_dir) / FIGURE, dpi=110)
    plt.close(fig)
    return True


def _colours(r: pd.Series, side: str) -> str:
    return f"{int(r[f'{side}_colours'])} / {int(r[f'{side}_bound'])}"


def section(out_dir: Path) -> str:
    """Markdown for the report; every number computed from ``sparse_jacobian.csv``."""
    out_dir = Path(out_dir)
    s = summary(out_dir)
    if s.empty:
        return ""
    rows = []
    for _, r in s.iterrows():
        rows.append((r["problem"], size(r["n"]), size(r["m"]), size(r["nnz"]), _colours(r, "col"),
                     _colours(r, "row"), r["auto_choice"],
                     *(seconds(r[c]) for c in TIMED), num(r["speedup_call"]), num(r["speedup_reused"])))
    lines = [
        "## Sparse Jacobians by colouring",
        "",
        "The sparsity pattern is read off one recorded tape; columns are coloured so that no two of "
        "a colour share a row (one forward direction per colour), rows so that no two share a column "
        "(one reverse cotangent per colour); the compressed Jacobian is decompressed into a "
        "`scipy.sparse` matrix. *Coloured call*: `jacobian(f, sparse=True, mode=...)` from scratch "
        "(recording, pattern, colouring, passes); *reused*: a `ColouredJacobian` detected once and "
        "evaluated again (each further Newton step); *detect*: pattern and both colourings alone. "
        "Colours are shown against their lower bound (columns: the most nonzeros in a row; rows: the "
        "most in a column). Speed-up: the faster dense mode's time over the faster coloured one's. "
        "Every Jacobian was checked against one written by hand (bundle adjustment: ADBench's "
        "structure-exploiting method).",
        "",
        table(["problem", "n", "m", "nonzeros", "column colours / bound", "row colours / bound", "auto",
               "dense fwd", "dense rev", "coloured fwd", "coloured rev", "reused fwd", "reused rev",
               "detect", "speed-up (call)", "speed-up (reused)"], rows),
        "",
    ]
    for problem, g in s.groupby("problem", sort=False):
        big = g.iloc[-1]
        at_bound = [side for side in ("col", "row") if big[f"{side}_colours"] == big[f"{side}_bound"]]
        text = (f"* **{problem}** (n = {size(big['n'])}): {int(big['col_colours'])} column colours "
                f"(bound {int(big['col_bound'])}) and {int(big['row_colours'])} row colours (bound "
                f"{int(big['row_bound'])}) against {size(big['n'])} and {size(big['m'])} dense passes; "
                + ("both at their bound" if len(at_bound) == 2 else
                   "the column colouring at its bound" if at_bound == ["col"] else
                   "the row colouring at its bound" if at_bound == ["row"] else "above both bounds"))
        dense = g.dropna(subset=["best_dense"])
        if len(dense):
            d = dense.iloc[-1]
            text += (f". At n = {size(d['n'])} the coloured call is **{num(d['speedup_call'])}×** the "
                     f"speed of the faster dense Jacobian ({seconds(d['best_coloured'])} against "
                     f"{seconds(d['best_dense'])}), the reused colouring **{num(d['speedup_reused'])}×** "
                     f"({seconds(d['best_reused'])})")
        else:
            text += "; dense Jacobians were over the time budget at every size"
        lines.append(text + ".")
    judged = s.dropna(subset=["faster_reused"])
    if len(judged):
        hits = int((judged["faster_reused"] == judged["auto_choice"]).sum())
        lines += ["", f"The auto rule (forward while column colours ≤ REVERSE_WEIGHT × row colours + "
                  f"FORWARD_OFFSET, `modes.cost_model`) picked the faster coloured direction (reused "
                  f"timings) in {hits} of {len(judged)} cells."]
    if _plot(out_dir, s):
        lines += ["", f"![dense against coloured Jacobians]({FIGURE})", ""]
    return "\n".join(lines) + "\n"
