"""The report's section on batched reverse Jacobians, from ``batched_reverse.csv`` only.

For each (n, m): forward, the reverse Jacobian in one batched sweep, the library's default reverse
Jacobian, and m separate sweeps (scaled from the sampled rows), with the ratio of the batched
sweep to the faster of forward and separate sweeps (the target: at most 2).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from .. import analysis
from ..report import num, seconds, size, table

TARGET = 2.0


def summary(out_dir: Path) -> pd.DataFrame:
    """One row per (n, m): seconds of each method (m separate sweeps scaled to all rows)."""
    df = analysis.current_rows(out_dir, "batched_reverse")
    if df.empty:
        return pd.DataFrame()
    ok = df[df["status"] == "ok"].copy()
    ok["seconds"] = ok["t_median"].astype(float)
    sep = ok["method"] == "reverse_separate"
    ok.loc[sep, "seconds"] = ok.loc[sep, "t_median"].astype(float) * ok.loc[sep, "m"].astype(float) \
        / ok.loc[sep, "k"].astype(float)
    out = ok.pivot_table(index=["n", "m"], columns="method", values="seconds").reset_index()
    for col in ("forward", "reverse_batched", "reverse_separate", "reverse_default"):
        if col not in out:
            out[col] = float("nan")
    best_other = out[["forward", "reverse_separate"]].min(axis=1)
    out["batched_vs_best"] = out["reverse_batched"] / best_other
    out["default_vs_best"] = out["reverse_default"] / best_other
    return out


def section(out_dir: Path) -> str:
    s = summary(out_dir)
    if s.empty:
        return ""
    body = [[size(r["n"]), size(r["m"]), seconds(r["forward"]), seconds(r["reverse_batched"]),
             seconds(r["reverse_default"]), seconds(r["reverse_separate"]), num(r["batched_vs_best"], 2),
             num(r["default_vs_best"], 2)] for _, r in s.iterrows()]
    text = ["## Batched reverse Jacobians\n",
            "The reverse Jacobian of tanh(A x) carries a batch of cotangent rows through one sweep; "
            "at matmul the batch meets A in one 2-D BLAS call. Median seconds per Jacobian; m "
            "separate sweeps are scaled from the sampled rows; the ratios divide by the faster of "
            f"forward and m separate sweeps (target: at most {num(TARGET, 2)}).\n",
            table(["n", "m", "forward", "reverse, one sweep", "reverse, default chunk",
                   "m separate sweeps", "one sweep / best", "default / best"], body) + "\n"]
    biggest = s.iloc[(s["n"] * s["m"]).argmax()]
    ratio = biggest["batched_vs_best"]
    if pd.notna(ratio):
        verdict = "within" if ratio <= TARGET else "outside"
        text.append(f"At n = {size(biggest['n'])}, m = {size(biggest['m'])} the batched sweep takes "
                    f"{num(ratio, 2)}x the faster alternative: {verdict} the {num(TARGET, 2)}x target.\n")
    return "\n".join(text)
