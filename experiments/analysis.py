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

from . import calibration
from .store import load_csv

EXPERIMENT_FILES = ("seed", "scalar_gradient", "jacobian_crossover", "memory", "gradient_cost",
                    "checkpointing", "benchmarks", "peers", "overhead")
LARGE_N = 1000  # asymptotic slopes use n >= LARGE_N (interpretive overhead dominates below)
RSS_RESOLUTION = 4096.0  # bytes: RSS moves by pages, so a fitted growth below one page is flat
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


@dataclass
class Split:
    """One experiment's rows of this machine: those the report uses, and older ones it leaves out.

    ``current``: the rows (last per configuration) of the code version that wrote the most recent
    row, ``version``. ``older``: the last rows of configurations measured only by other code
    versions, which the report names (with their dates and versions) but never puts in a table.
    """

    current: pd.DataFrame
    older: pd.DataFrame
    version: str | None


def split_versions(df: pd.DataFrame) -> Split:
    """``df`` split by code version (see ``Split``); rows without versions at all are all current."""
    if df.empty or "code_version" not in df or df["code_version"].isna().all():
        return Split(df, df.iloc[0:0], None)
    versions = df["code_version"].fillna("unknown").astype(str)
    stamps = df["timestamp"].fillna("").astype(str) if "timestamp" in df else pd.Series([""] * len(df))
    latest = stamps.to_numpy()
    last = max(range(len(df)), key=lambda i: (latest[i], i))
    version = versions.iloc[last]
    cur = (versions == version).to_numpy()
    return Split(df[cur].reset_index(drop=True), df[~cur].reset_index(drop=True), version)


def _machine_rows(df: pd.DataFrame, machine_id: str | None) -> pd.DataFrame:
    if machine_id and len(df):
        df = df[df["machine"].astype(str) == machine_id]
    return df.reset_index(drop=True)


NOT_EXPERIMENTS = ("machine", "library_speed")  # CSVs in an output directory that hold no trial rows


def experiment_names(out_dir: Path) -> tuple[str, ...]:
    """``EXPERIMENT_FILES`` and every other ``<name>.csv`` in ``out_dir`` that holds trial rows."""
    others = sorted(p.stem for p in Path(out_dir).glob("*.csv")
                    if p.stem not in EXPERIMENT_FILES and p.stem not in NOT_EXPERIMENTS and _trial_table(p))
    return EXPERIMENT_FILES + tuple(others)


def _trial_table(path: Path) -> bool:
    """True if the CSV's header names the harness's ``status`` and ``config_key`` columns."""
    try:
        with open(path, "rb") as fh:
            head = fh.readline().decode("utf-8", "replace").strip().split(",")
    except OSError:
        return False
    return "status" in head and "config_key" in head


def load_split(out_dir: Path, machine_id: str | None = None,
               names: tuple[str, ...] | None = None) -> dict[str, Split]:
    """Each experiment's ``Split`` for ``machine_id`` (default: the last machine of machine.csv);
    ``names`` defaults to ``experiment_names(out_dir)``.

    The current code version is decided per experiment from its own rows (an experiment a run
    left out keeps its version and dates, which the report's provenance table states).
    """
    out_dir = Path(out_dir)
    machine_id = machine_id or current_machine(out_dir).get("machine_id")
    out = {}
    for name in names if names is not None else experiment_names(out_dir):
        out[name] = split_versions(_machine_rows(load_csv(out_dir / f"{name}.csv"), machine_id))
    return out


def load(out_dir: Path, machine_id: str | None = None) -> dict[str, pd.DataFrame]:
    """Each experiment's table as the report uses it: this machine, current code version (``Split``)."""
    return {name: s.current for name, s in load_split(out_dir, machine_id).items()}


def current_rows(out_dir: Path, name: str) -> pd.DataFrame:
    """The rows of one experiment the report uses (see ``Split``)."""
    return load_split(out_dir, names=(name,))[name].current


def all_trials(out_dir: Path, name: str, machine_id: str | None = None) -> pd.DataFrame:
    """Every recorded row of ``name`` (earlier trials of a configuration too, which ``load`` drops)
    of this machine and the current code version: repeated runs with ``--force`` add trials."""
    path = Path(out_dir) / f"{name}.csv"
    split = load_split(out_dir, machine_id, (name,))[name]
    if split.current.empty:
        return split.current
    load_csv(path)  # repairs a torn or unreadable line first
    try:
        rows = pd.read_csv(path)
    except (ValueError, pd.errors.ParserError):  # a legacy file pandas cannot read raw: last rows only
        return split.current
    rows = _machine_rows(rows, machine_id or current_machine(Path(out_dir)).get("machine_id"))
    if split.version is not None:
        rows = rows[rows["code_version"].fillna("unknown").astype(str) == split.version]
    return rows.reset_index(drop=True)


def pooled_rows(out_dir: Path, name: str = "jacobian_crossover") -> pd.DataFrame:
    """The rows ``load`` gives for ``name``, each ``ok`` row's ``t_median`` replaced by the median
    over the rounds of every trial of its configuration (``all_trials``): the times the calibration
    fits, so that the tables and figures beside it show the same cells."""
    cur = current_rows(out_dir, name)
    every = all_trials(out_dir, name)
    if cur.empty or every.empty or "times" not in every:
        return cur
    good = every[every["status"] == "ok"]
    pooled = {}
    for key, g in good.groupby("config_key"):
        rounds = [v for cell in g["times"] for v in _rounds(cell)]
        pooled[key] = float(np.median(rounds)) if rounds else float(g["t_median"].median())
    cur = cur.copy()
    ok_rows = cur["status"] == "ok"
    cur.loc[ok_rows, "t_median"] = [pooled.get(k, t) for k, t in zip(cur.loc[ok_rows, "config_key"],
                                                                      cur.loc[ok_rows, "t_median"])]
    return cur


def _rounds(cell: Any) -> list[float]:
    if isinstance(cell, str) and cell.startswith("["):
        return [float(v) for v in json.loads(cell)]
    return []


def provenance(splits: dict[str, Split], since: str | None = None) -> pd.DataFrame:
    """Per experiment with rows: the version used, its rows and dates, and the older rows left out.

    ``since`` (a run's start, same format as ``timestamp``): rows of the current version older than
    it were reused from an earlier run of the same code (``reused``).
    """
    out = []
    for name, s in splits.items():
        if s.current.empty and s.older.empty:
            continue
        cur = s.current["timestamp"].dropna().astype(str) if len(s.current) else pd.Series(dtype=str)
        old = s.older
        older = []
        if len(old):
            for v, g in old.groupby(old["code_version"].fillna("unknown").astype(str)):
                ts = g["timestamp"].dropna().astype(str)
                older.append({"version": v, "rows": len(g), "first": ts.min() if len(ts) else "",
                              "last": ts.max() if len(ts) else ""})
        out.append({"experiment": name, "version": s.version or "", "rows": len(s.current),
                    "first": cur.min() if len(cur) else "", "last": cur.max() if len(cur) else "",
                    "reused": int((cur < since).sum()) if since else 0,
                    "older_rows": len(old), "older": older})
    return pd.DataFrame(out)


def ok(df: pd.DataFrame) -> pd.DataFrame:
    return df[df["status"] == "ok"] if len(df) else df


def not_ok(df: pd.DataFrame) -> pd.DataFrame:
    """The rows that were not measured: skipped, failed or timed out."""
    return df[df["status"] != "ok"] if len(df) else df


def status_counts(frames: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Rows per experiment and status."""
    rows = []
    for name, df in frames.items():
        if df.empty:
            continue
        for status in ("ok", "skipped", "failed", "timeout"):
            rows.append({"experiment": name, "status": status,
                         "rows": int((df["status"] == status).sum()) if len(df) else 0})
    if not rows:
        return pd.DataFrame(columns=["ok", "skipped", "failed", "timeout"])
    return pd.DataFrame(rows).pivot(index="experiment", columns="status", values="rows")


# ---- fits ------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Fit:
    """``log10 y = slope * log10 x + intercept`` (or a straight line for ``linear_fit``).

    ``se``: the slope's standard error (nan with fewer than three points: no noise estimate).
    """

    slope: float
    intercept: float
    r2: float
    points: int
    x_min: float
    x_max: float
    se: float = math.nan


def _fit(x: np.ndarray, y: np.ndarray) -> Fit:
    lo, hi = (float(x.min()), float(x.max())) if len(x) else (math.nan, math.nan)
    if len(x) < 2 or np.ptp(x) == 0:
        return Fit(math.nan, math.nan, math.nan, len(x), lo, hi)
    slope, intercept = np.polyfit(x, y, 1)
    pred = slope * x + intercept
    ss = float(np.sum((y - y.mean()) ** 2))
    res = float(np.sum((y - pred) ** 2))
    r2 = 1.0 - res / ss if ss > 0 else 1.0
    sxx = float(np.sum((x - x.mean()) ** 2))
    se = math.sqrt(res / (len(x) - 2) / sxx) if len(x) > 2 else math.nan
    return Fit(float(slope), float(intercept), r2, len(x), lo, hi, se)


def is_flat(fit: Fit, resolution: float = 0.0) -> bool:
    """True when a fitted slope is indistinguishable from zero.

    Either it lies within two standard errors of zero, or the change it implies over the fitted
    range of x is below ``resolution`` (what the measurement can resolve: a page of RSS).
    """
    if not math.isfinite(fit.slope):
        return False
    if math.isfinite(fit.se) and abs(fit.slope) <= 2 * fit.se:
        return True
    return abs(fit.slope) * (fit.x_max - fit.x_min) < resolution


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


INTERPRETED_MEMORY = ("reverse", "forward")  # the memory experiment's interpreted methods


def memory_fits(df: pd.DataFrame, methods: tuple[str, ...] = INTERPRETED_MEMORY) -> pd.DataFrame:
    """Per (problem, n, method) among ``methods`` (default: the interpreted ones, whose method is
    their mode): bytes per operation (slope in k) of peak RSS, tape bytes and theory."""
    d = ok(df)
    d = d[d["method"].isin(methods)] if len(d) else d
    rows = []
    for (problem, n, method), g in d.groupby(["problem", "n", "method"]):
        peak = linear_fit(g["k"], g["peak_rss_delta"])
        tape = linear_fit(g["k"], g["tape_bytes"]) if g["tape_bytes"].notna().any() else None
        theory = linear_fit(g["k"], g["theory_bytes"])
        big = g.loc[g["k"].idxmax()]
        rows.append({
            "problem": problem, "n": int(n), "method": method, "mode": str(g["mode"].iloc[0]),
            "trials": len(g), "k_max": int(big["k"]),
            "peak_bytes_per_op": _bytes(peak.slope), "peak_r2": peak.r2, "peak_se": peak.se,
            "peak_flat": is_flat(peak, RSS_RESOLUTION), "k_min": int(g["k"].min()),
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
    """Best (weight, offset) for ``forward iff n <= weight * m + offset`` over the measured cells
    (the medians of ``df``), by ``experiments.calibration``'s search (least geometric-mean slowdown)."""
    cells = _cells(df, pairing)
    if cells.empty:
        return None
    n, m = cells["n"].to_numpy(float), cells["m"].to_numpy(float)
    rules = calibration.candidates(n, m)
    slow, right = calibration.scores(calibration.forward_mask(rules, n, m),
                                     cells["t_fwd"].to_numpy(float), cells["t_rev"].to_numpy(float))
    i = calibration._argmin_first(slow)
    return AffineRule(float(rules[i, 0]), float(rules[i, 1]), float(slow[i]), int(right[i]), len(cells))


def current_offset() -> float:
    """The library's FORWARD_OFFSET (forward iff n <= w m + offset in ``choose_mode``)."""
    from modes import cost_model

    return float(getattr(cost_model, "FORWARD_OFFSET", 0.0))


def auto_mistakes(df: pd.DataFrame, weight: float, pairing: str = "batched",
                  offset: float | None = None) -> pd.DataFrame:
    """Cells where choose_mode(n, m) with ``weight`` and ``offset`` (default: the library's)
    picks the slower mode, with the slowdown."""
    cells = _cells(df, pairing)
    if cells.empty:
        return cells
    offset = current_offset() if offset is None else offset
    forward = cells["n"] <= weight * cells["m"] + offset
    chosen = np.where(forward, cells["t_fwd"], cells["t_rev"])
    best = np.minimum(cells["t_fwd"], cells["t_rev"])
    cells = cells.assign(choice=np.where(forward, "forward", "reverse"), slowdown=chosen / best)
    return cells[cells["slowdown"] > 1].sort_values("slowdown", ascending=False)


def library_weight() -> float:
    """The library's REVERSE_WEIGHT."""
    from modes import cost_model

    return float(cost_model.REVERSE_WEIGHT)


def crossover_calibration(out_dir: Path, resamples: int = calibration.RESAMPLES) -> dict[str, Any] | None:
    """``experiments.calibration.calibrate`` on every trial of this run's Jacobian rows, against the
    library's rule in force."""
    rows = all_trials(out_dir, "jacobian_crossover")
    if rows.empty:
        return None
    return calibration.calibrate(rows, library_weight(), current_offset(), resamples)


def write_calibration(out_dir: Path, resamples: int = calibration.RESAMPLES) -> Path | None:
    """Write ``cost_model_calibration.json``: the crossover fit with its bootstrap statement and
    verdict (``crossover``; adopt it with ``python -m experiments.calibration adopt DIR``) and the
    one-parameter fit through the origin (``origin_rule``), if Jacobian data exist."""
    frames = load(out_dir)
    rec = crossover_calibration(out_dir, resamples)
    if rec is None:
        return None
    origin = calibrate(frames["jacobian_crossover"])
    path = Path(out_dir) / CALIBRATION_FILE
    payload = {"crossover": rec, "origin_rule": asdict(origin) if origin is not None else None,
               "machine": current_machine(out_dir).get("machine_id", "")}
    path.write_text(json.dumps(calibration._finite(payload), indent=2) + "\n")
    return path


def read_calibration(out_dir: Path) -> dict[str, Any] | None:
    """The ``crossover`` record ``write_calibration`` wrote into ``out_dir`` (None if absent or old)."""
    path = Path(out_dir) / CALIBRATION_FILE
    if not path.exists():
        return None
    try:
        return json.loads(path.read_text()).get("crossover")
    except (ValueError, AttributeError):
        return None


# ---- gradient cost ------------------------------------------------------------------------------------------------
def gradient_cost_table(df: pd.DataFrame) -> pd.DataFrame:
    """One row per (function, mode, n): the paired ratio to f and its IQR."""
    d = ok(df)
    d = d[d["method"].isin(["reverse", "forward"])] if len(d) else d
    cols = ["problem", "note", "method", "n", "ratio_median", "ratio_iqr", "t_median", "f_median"]
    return d[cols].sort_values(["problem", "method", "n"]).reset_index(drop=True) if len(d) else d
