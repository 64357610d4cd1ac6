"""Every number the report states, computed from the tidy tables (never typed by hand).

Inputs are DataFrames as read by ``load`` (``<out>/<experiment>.csv``, this machine's rows).
The only constants here are choices of method, named and stated in the report: which sizes count
as "large" for asymptotic slopes (``LARGE_N``), the candidate weights for the cost-model fit.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .store import load_csv

EXPERIMENT_FILES = ("seed", "scalar_gradient", "jacobian_crossover", "memory", "gradient_cost",
                    "checkpointing", "benchmarks", "peers")
LARGE_N = 1000  # asymptotic slopes use n >= LARGE_N (interpretive overhead dominates below)
PAIRINGS = {  # heatmap/calibration pairings: (forward method, reverse method)
    "batched": ("forward_chunked", "reverse_batched"),
    "one_at_a_time": ("forward_1", "reverse_1"),
}
CALIBRATION_FILE = "cost_model_calibration.json"


# ---- loading ---------------------------------------------------------------------------------------------
def machines(out_dir: Path) -> pd.DataFrame:
    path = Path(out_dir) / "machine.csv"
    if not path.exists():
        return pd.DataFrame()
    return pd.read_csv(path, dtype=str, keep_default_na=False)


def current_machine(out_dir: Path) -> dict[str, str]:
    """The machine recorded last in ``machine.csv`` (the one the report describes)."""
    m = machines(out_dir)
    return {} if m.empty else m.iloc[-1].to_dict()


def load(out_dir: Path, machine_id: str | None = None) -> dict[str, pd.DataFrame]:
    """Each experiment's table (last row per configuration), restricted to ``machine_id``.

    ``machine_id`` defaults to the current machine of ``machine.csv``; tables without it keep all rows.
    """
    out_dir = Path(out_dir)
    machine_id = machine_id or current_machine(out_dir).get("machine_id")
    frames = {}
    for name in EXPERIMENT_FILES:
        df = load_csv(out_dir / f"{name}.csv")
        if machine_id and len(df):
            df = df[df["machine"].astype(str) == machine_id]
        frames[name] = df.reset_index(drop=True)
    return frames


def ok(df: pd.DataFrame) -> pd.DataFrame:
    return df[df["status"] == "ok"] if len(df) else df


def status_counts(frames: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Rows per experiment and status."""
    rows = []
    for name, df in frames.items():
        for status in ("ok", "skipped", "failed", "timeout"):
            rows.append({"experiment": name, "status": status,
                         "rows": int((df["status"] == status).sum()) if len(df) else 0})
    return pd.DataFrame(rows).pivot(index="experiment", columns="status", values="rows")


# ---- fits ------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Fit:
    """``log10 y = slope * log10 x + intercept`` (or a straight line for ``linear_fit``)."""

    slope: float
    intercept: float
    r2: float
    points: int
    x_min: float
    x_max: float


def _fit(x: np.ndarray, y: np.ndarray) -> Fit:
    lo, hi = (float(x.min()), float(x.max())) if len(x) else (math.nan, math.nan)
    if len(x) < 2 or np.ptp(x) == 0:
        return Fit(math.nan, math.nan, math.nan, len(x), lo, hi)
    slope, intercept = np.polyfit(x, y, 1)
    pred = slope * x + intercept
    ss = float(np.sum((y - y.mean()) ** 2))
    r2 = 1.0 - float(np.sum((y - pred) ** 2)) / ss if ss > 0 else 1.0
    return Fit(float(slope), float(intercept), r2, len(x), lo, hi)


def loglog_fit(x: Any, y: Any) -> Fit:
    """Least-squares slope of log10(y) against log10(x) (positive finite points only)."""
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    keep = (x > 0) & (y > 0) & np.isfinite(x) & np.isfinite(y)
    f = _fit(np.log10(x[keep]), np.log10(y[keep]))
    return replace(f, x_min=10 ** f.x_min, x_max=10 ** f.x_max)


def linear_fit(x: Any, y: Any) -> Fit:
    """Least-squares straight line y = slope * x + intercept (finite points)."""
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    keep = np.isfinite(x) & np.isfinite(y)
    return _fit(x[keep], y[keep])


# ---- scalar gradient ----------------------------------------------------------------------------------------
def scalar_table(df: pd.DataFrame) -> pd.DataFrame:
    """One row per (problem, n): median times of f / reverse / forward and the paired ratios."""
    d = ok(df)
    if d.empty:
        return pd.DataFrame(columns=["problem", "n"])
    t = d.pivot_table(index=["problem", "n"], columns="method", values="t_median")
    r = d.pivot_table(index=["problem", "n"], columns="method", values="ratio_median")
    iqr = d.pivot_table(index=["problem", "n"], columns="method", values="ratio_iqr")
    out = t.add_prefix("t_").join(r.add_prefix("ratio_")).join(iqr.add_prefix("ratio_iqr_"))
    return out.reset_index().sort_values(["problem", "n"])


def time_slopes(df: pd.DataFrame, min_n: float = 0) -> pd.DataFrame:
    """Log-log slope of median time vs n per (problem, method), over n >= ``min_n``."""
    d = ok(df)
    rows = []
    for (problem, method), g in d.groupby(["problem", "method"]):
        g = g[g["n"] >= min_n]
        f = loglog_fit(g["n"], g["t_median"])
        rows.append({"problem": problem, "method": method, **asdict(f)})
    return pd.DataFrame(rows)


def ratio_summary(df: pd.DataFrame, method: str = "reverse") -> pd.DataFrame:
    """Per problem: min / median / max of ``method``'s paired ratio to f, and the n of the max."""
    d = ok(df)
    d = d[d["method"] == method]
    rows = []
    for problem, g in d.groupby("problem"):
        i = g["ratio_median"].idxmax()
        big = g[g["n"] >= LARGE_N]
        rows.append({"problem": problem, "sizes": len(g), "n_min": g["n"].min(), "n_max": g["n"].max(),
                     "ratio_min": g["ratio_median"].min(), "ratio_median": g["ratio_median"].median(),
                     "ratio_max": g.loc[i, "ratio_median"], "n_at_max": g.loc[i, "n"],
                     "ratio_max_large_n": big["ratio_median"].max() if len(big) else math.nan,
                     "ratio_at_largest_n": g.loc[g["n"].idxmax(), "ratio_median"]})
    return pd.DataFrame(rows)


# ---- memory ----------------------------------------------------------------------------------------------------
def selftest(df: pd.DataFrame) -> dict[str, float] | None:
    """The probe's self-test: expected and measured bytes, relative error."""
    d = ok(df)
    d = d[d["method"] == "selftest"] if len(d) else d
    if d.empty:
        return None
    r = d.iloc[-1]
    expected = float(r["theory_bytes"])
    peaks = [float(v) for v in json.loads(r["rss_peaks"])] if isinstance(r["rss_peaks"], str) else []
    return {"expected": expected, "measured": float(r["peak_rss_delta"]),
            "rel_error": (float(r["peak_rss_delta"]) - expected) / expected,
            "worst_rel_error": max((abs(p - expected) / expected for p in peaks), default=math.nan),
            "hwm": float(r["peak_hwm_delta"]) if pd.notna(r["peak_hwm_delta"]) else math.nan,
            "subprocesses": len(peaks), "malloc_env": str(r["malloc_env"])}


def _bytes(slope: float) -> float:
    """A fitted bytes-per-operation slope, rounded to 1/1000 byte (fit noise below that is 0)."""
    return 0.0 + round(slope, 3) if math.isfinite(slope) else slope


def memory_fits(df: pd.DataFrame) -> pd.DataFrame:
    """Per (problem, n, mode): bytes per operation (slope in k) of peak RSS, tape bytes and theory."""
    d = ok(df)
    d = d[d["method"] != "selftest"] if len(d) else d
    rows = []
    for (problem, n, mode), g in d.groupby(["problem", "n", "mode"]):
        peak = linear_fit(g["k"], g["peak_rss_delta"])
        tape = linear_fit(g["k"], g["tape_bytes"]) if g["tape_bytes"].notna().any() else None
        theory = linear_fit(g["k"], g["theory_bytes"])
        big = g.loc[g["k"].idxmax()]
        rows.append({
            "problem": problem, "n": int(n), "mode": mode, "trials": len(g), "k_max": int(big["k"]),
            "peak_bytes_per_op": _bytes(peak.slope), "peak_r2": peak.r2,
            "tape_bytes_per_op": _bytes(tape.slope) if tape else math.nan,
            "theory_bytes_per_op": _bytes(theory.slope),
            "peak_at_k_max": float(big["peak_rss_delta"]), "peak_max": float(g["peak_rss_delta"].max()),
            "peak_min": float(g["peak_rss_delta"].min()),
            "tape_at_k_max": float(big["tape_bytes"]) if pd.notna(big["tape_bytes"]) else math.nan,
            "theory_at_k_max": float(big["theory_bytes"]),
            "hwm_at_k_max": float(big["peak_hwm_delta"]) if pd.notna(big["peak_hwm_delta"]) else math.nan,
        })
    return pd.DataFrame(rows)


# ---- Jacobian crossover ---------------------------------------------------------------------------------------------
def log2_ratio_grid(df: pd.DataFrame, problem: str, pairing: str = "batched") -> pd.DataFrame:
    """log2(t_forward / t_reverse) with m as rows and n as columns (positive: reverse faster)."""
    fwd, rev = PAIRINGS[pairing]
    d = ok(df)
    d = d[d["problem"] == problem]
    t = d.pivot_table(index=["n", "m"], columns="method", values="t_median")
    if fwd not in t or rev not in t:
        return pd.DataFrame()
    lr = np.log2(t[fwd] / t[rev]).rename("log2_ratio").reset_index()
    return lr.pivot(index="m", columns="n", values="log2_ratio").sort_index().sort_index(axis=1)


def crossover_points(grid: pd.DataFrame) -> pd.DataFrame:
    """Per output size m: the n where log2(t_fwd / t_rev) first crosses 0 (log-interpolated)."""
    rows = []
    for m, row in grid.iterrows():
        ns = np.array(row.index, dtype=float)
        v = row.to_numpy(dtype=float)
        keep = np.isfinite(v)
        ns, v = ns[keep], v[keep]
        n_star = math.nan
        for i in range(len(v) - 1):
            if v[i] <= 0 < v[i + 1]:
                a, b = math.log2(ns[i]), math.log2(ns[i + 1])
                n_star = 2 ** (a + (b - a) * (0 - v[i]) / (v[i + 1] - v[i]))
                break
        if math.isnan(n_star) and len(v):
            side = "reverse faster everywhere" if (v > 0).all() else (
                "forward faster everywhere" if (v <= 0).all() else "no single crossing")
        else:
            side = "crossing"
        rows.append({"m": int(m), "n_star": n_star, "n_star_over_m": n_star / m, "kind": side})
    return pd.DataFrame(rows)


@dataclass(frozen=True)
class Calibration:
    """The REVERSE_WEIGHT w (forward iff n <= w m) that best fits the measured faster mode."""

    pairing: str
    cells: int
    best_weight: float
    interval_lo: float
    interval_hi: float
    best_mean_slowdown: float     # geometric-mean slowdown of auto vs the faster mode, at best w
    best_right: int               # cells where auto picks the faster mode, at best w
    current_weight: float
    current_mean_slowdown: float
    current_right: int
    crossover_n_over_m: float     # geometric mean of the measured n*/m crossings


def _cells(df: pd.DataFrame, pairing: str) -> pd.DataFrame:
    fwd, rev = PAIRINGS[pairing]
    d = ok(df)
    t = d.pivot_table(index=["problem", "n", "m"], columns="method", values="t_median")
    if fwd not in t or rev not in t:
        return pd.DataFrame(columns=["problem", "n", "m", "t_fwd", "t_rev"])
    t = t[[fwd, rev]].dropna().rename(columns={fwd: "t_fwd", rev: "t_rev"}).reset_index()
    return t


def _evaluate(cells: pd.DataFrame, w: float, offset: float = 0.0) -> tuple[float, int]:
    forward = cells["n"] <= w * cells["m"] + offset
    chosen = np.where(forward, cells["t_fwd"], cells["t_rev"])
    best = np.minimum(cells["t_fwd"], cells["t_rev"])
    return float(2 ** np.mean(np.log2(chosen / best))), int(np.sum(chosen == best))


def calibrate(df: pd.DataFrame, pairing: str = "batched", current_weight: float | None = None) -> Calibration | None:
    """Fit ``REVERSE_WEIGHT`` to the measured cells (all problems) by the least geometric-mean slowdown.

    ``choose_mode`` changes its choice only where w crosses a measured ratio n/m, so the candidate
    weights are one point inside each gap between consecutive ratios (and beyond the extremes). The
    best gap [lo, hi) is reported with its geometric midpoint as the weight (ties: the gap nearest
    the current weight). ``current_weight`` defaults to the one recorded in the rows.
    """
    cells = _cells(df, pairing)
    if cells.empty:
        return None
    if current_weight is None:
        rw = ok(df)["reverse_weight"].dropna()
        current_weight = float(rw.iloc[-1]) if len(rw) else math.nan
    ratios = sorted({float(r) for r in cells["n"] / cells["m"]})
    edges = [0.0] + ratios + [math.inf]
    gaps = []
    for lo, hi in zip(edges[:-1], edges[1:]):
        w = hi / 2 if lo == 0 else (2 * lo if math.isinf(hi) else math.sqrt(lo * hi))
        slow, right = _evaluate(cells, w)
        gaps.append((slow, lo, hi, w, right))
    best = min(g[0] for g in gaps)
    tied = [g for g in gaps if math.isclose(g[0], best, rel_tol=1e-12)]
    ref = current_weight if math.isfinite(current_weight) else 1.0
    b_slow, lo, hi, w_best, b_right = min(tied, key=lambda g: abs(math.log(g[3] / ref)))
    c_slow, c_right = (_evaluate(cells, current_weight, current_offset())
                       if math.isfinite(current_weight) else (math.nan, 0))
    crossings = []
    for problem in cells["problem"].unique():
        cp = crossover_points(log2_ratio_grid(df, problem, pairing))
        crossings += [v for v in cp["n_star_over_m"] if math.isfinite(v)]
    cross = float(2 ** np.mean(np.log2(crossings))) if crossings else math.nan
    return Calibration(pairing, len(cells), w_best, lo, hi, b_slow, b_right, current_weight, c_slow,
                       c_right, cross)


@dataclass(frozen=True)
class AffineRule:
    """A two-parameter alternative: forward iff n <= weight * m + offset (fitted like ``calibrate``)."""

    weight: float
    offset: float
    mean_slowdown: float
    right: int
    cells: int


def calibrate_affine(df: pd.DataFrame, pairing: str = "batched") -> AffineRule | None:
    """Best (weight, offset) for ``forward iff n <= weight * m + offset`` over the measured cells.

    Offsets tried: 0 and each measured n; weights: one inside each gap between measured ratios
    (n - offset) / m, as in ``calibrate``. Least geometric-mean slowdown; ties keep the smaller offset.
    """
    cells = _cells(df, pairing)
    if cells.empty:
        return None
    best: AffineRule | None = None
    for offset in [0.0] + sorted({float(v) for v in cells["n"]}):
        ratios = sorted({float(r) for r in (cells["n"] - offset) / cells["m"]})
        edges = [-math.inf] + ratios + [math.inf]
        for lo, hi in zip(edges[:-1], edges[1:]):
            if math.isinf(lo):
                w = hi - 1 if hi <= 0 else hi / 2
            elif math.isinf(hi):
                w = lo + 1 if lo <= 0 else 2 * lo
            else:
                w = math.sqrt(lo * hi) if lo > 0 else (lo + hi) / 2
            forward = cells["n"] <= w * cells["m"] + offset
            chosen = np.where(forward, cells["t_fwd"], cells["t_rev"])
            fastest = np.minimum(cells["t_fwd"], cells["t_rev"])
            slow = float(2 ** np.mean(np.log2(chosen / fastest)))
            if best is None or slow < best.mean_slowdown * (1 - 1e-12):
                best = AffineRule(w, offset, slow, int(np.sum(chosen == fastest)), len(cells))
    return best


def current_offset() -> float:
    """The library's FORWARD_OFFSET (forward iff n <= w m + offset in ``choose_mode``)."""
    from modes import cost_model

    return float(getattr(cost_model, "FORWARD_OFFSET", 0.0))


def auto_mistakes(df: pd.DataFrame, weight: float, pairing: str = "batched") -> pd.DataFrame:
    """Cells where choose_mode(n, m) with ``weight`` (and the library's offset) picks the slower
    mode, with the slowdown."""
    cells = _cells(df, pairing)
    if cells.empty:
        return cells
    forward = cells["n"] <= weight * cells["m"] + current_offset()
    chosen = np.where(forward, cells["t_fwd"], cells["t_rev"])
    best = np.minimum(cells["t_fwd"], cells["t_rev"])
    cells = cells.assign(choice=np.where(forward, "forward", "reverse"), slowdown=chosen / best)
    return cells[cells["slowdown"] > 1].sort_values("slowdown", ascending=False)


def write_calibration(out_dir: Path) -> Path | None:
    """Write ``cost_model_calibration.json`` (the fitted REVERSE_WEIGHT) if Jacobian data exist."""
    frames = load(out_dir)
    cal = calibrate(frames["jacobian_crossover"])
    if cal is None:
        return None
    path = Path(out_dir) / CALIBRATION_FILE
    affine = calibrate_affine(frames["jacobian_crossover"])
    payload = {"REVERSE_WEIGHT": cal.best_weight, **asdict(cal),
               "affine_rule": asdict(affine) if affine is not None else None,
               "machine": current_machine(out_dir).get("machine_id", ""),
               "how": "jacobian_crossover rows, forward_chunked vs reverse_batched; least "
                      "geometric-mean slowdown of choose_mode vs the faster mode over all cells"}
    payload = {k: (None if isinstance(v, float) and not math.isfinite(v) else v)
               for k, v in payload.items()}
    path.write_text(json.dumps(payload, indent=2) + "\n")
    return path


# ---- gradient cost ------------------------------------------------------------------------------------------------
def gradient_cost_table(df: pd.DataFrame) -> pd.DataFrame:
    """One row per (function, mode, n): the paired ratio to f and its IQR."""
    d = ok(df)
    d = d[d["method"].isin(["reverse", "forward"])] if len(d) else d
    cols = ["problem", "note", "method", "n", "ratio_median", "ratio_iqr", "t_median", "f_median"]
    return d[cols].sort_values(["problem", "method", "n"]).reset_index(drop=True) if len(d) else d
