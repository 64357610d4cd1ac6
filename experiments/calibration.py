"""The crossover rule of ``jacobian(mode="auto")``, fitted with a confidence statement, and adopted.

**Data.** The ``jacobian_crossover`` rows of one machine and one code version: per cell
(problem, n, m) one or more trials (a rerun with ``--force`` adds one), each timing
``forward_chunked`` and ``reverse_batched`` interleaved round by round (column ``times``). A cell's
times are the medians over all its rounds.

**Fit.** ``choose_mode`` picks forward iff ``n <= w * m + n0``. The rule minimises the
geometric-mean slowdown of its choice against the faster mode over all cells. A choice changes
only where ``(n - n0) / m`` crosses ``w``, so the candidates are: n0 = 0 or a measured n, and for
each one w in every gap between consecutive ratios (geometric midpoint; beyond the extremes, half
or twice them). Ties keep the first candidate (the smallest n0, then the smallest w).

**Confidence.** A two-level bootstrap, ``RESAMPLES`` resamples: for each cell its trials are drawn
with replacement, then within each drawn trial its rounds (a round gives both modes' times, so
pairs stay paired); the cell's times are the medians of the drawn rounds. Each resample is fitted
again (the spread of w, n0 and of the boundary n = w m + n0 at each m), and both the library's
rule and the fit (as fitted on all rounds) are scored on it (hit counts, slowdowns).

**Adoption** (``CRITERION``). The library's constants change only if the fit is clearly better
across the resamples: its geometric-mean slowdown is below the library rule's in at least
``ADOPT_SHARE`` of them, and below it by at least ``ADOPT_GAIN`` in the median resample.
Otherwise a difference the resamples cannot confirm is noise, and the constants stay.

``python -m experiments.calibration measure DIR --trials 3`` runs the full grid three times (each
run appends a trial of every cell) and writes the calibration; ``python -m experiments.calibration adopt
DIR`` reads ``DIR/cost_model_calibration.json``
(written by ``analysis.write_calibration`` after each run), sets the constants of
``modes/cost_model.py`` to the fit if the criterion holds (``--force``: whatever it says), and
in every case copies the record to ``modes/cost_model_calibration.json`` and regenerates the
calibration paragraph of ``cost_model.py``'s docstring and its constants from it
(``render_cost_model``): the module states exactly what its record holds, and a test checks it.
"""

from __future__ import annotations

import argparse
import json
import math
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .store import load_csv

ROOT = Path(__file__).resolve().parent.parent
COST_MODEL = ROOT / "modes" / "cost_model.py"
RECORD = ROOT / "modes" / "cost_model_calibration.json"
RECORD_NAME = "modes/cost_model_calibration.json"
FORWARD, REVERSE = "forward_chunked", "reverse_batched"
RESAMPLES = 1000
SEED = 0
PAIR_S = 120.0  # a trial's rows are written together: seconds apart at most
LEVEL = 0.95  # two-sided percentile intervals
ADOPT_SHARE = 0.95
ADOPT_GAIN = 0.01
CRITERION = (f"the fit's geometric-mean slowdown is below the library rule's in at least "
             f"{ADOPT_SHARE:.0%} of the resamples and by at least {ADOPT_GAIN:.0%} in the median one")
DOC_START, DOC_END = ".. calibration:start", ".. calibration:end"
CODE_START, CODE_END = "# calibration:start", "# calibration:end"


# ---- the cells and their rounds -------------------------------------------------------------------------
@dataclass
class Cells:
    """Per cell: n, m, problem, and for every trial the paired rounds (forward, reverse seconds)."""

    problem: np.ndarray
    n: np.ndarray
    m: np.ndarray
    trials: list[list[np.ndarray]]  # cell -> trial -> array (rounds, 2)

    def __len__(self) -> int:
        return len(self.n)

    def medians(self) -> tuple[np.ndarray, np.ndarray]:
        pooled = [np.concatenate(t) for t in self.trials]
        return (np.array([np.median(p[:, 0]) for p in pooled]),
                np.array([np.median(p[:, 1]) for p in pooled]))

    @property
    def trial_counts(self) -> list[int]:
        return [len(t) for t in self.trials]

    @property
    def round_counts(self) -> list[int]:
        return [sum(len(r) for r in t) for t in self.trials]


def _times(cell: Any) -> list[float]:
    if isinstance(cell, str) and cell.startswith("["):
        return [float(v) for v in json.loads(cell)]
    return []


def cells_from_rows(rows: pd.DataFrame) -> Cells:
    """The cells of ``rows`` (every trial of one machine and code version, not only the last).

    A trial is a ``forward_chunked`` row and the ``reverse_batched`` row timed with it: the one
    of the same cell with the nearest ``timestamp`` (within ``PAIR_S``). Their ``times`` are paired
    round by round; a row without ``times`` contributes its median as one round.
    """
    d = rows[(rows["status"] == "ok") & rows["method"].isin([FORWARD, REVERSE])]
    out: dict[tuple[str, int, int], list[np.ndarray]] = {}
    for (problem, n, m), g in d.groupby(["problem", "n", "m"], sort=True):
        when = pd.to_datetime(g["timestamp"], errors="coerce") if "timestamp" in g else None
        fws = [(i, r) for i, r in g.iterrows() if r["method"] == FORWARD]
        rvs = {i: r for i, r in g.iterrows() if r["method"] == REVERSE}
        trials = []
        for i, fw_row in fws:
            if not rvs:
                break
            if when is None or pd.isna(when[i]):
                j = next(iter(rvs))
            else:
                j = min(rvs, key=lambda k: abs((when[k] - when[i]).total_seconds())
                        if pd.notna(when[k]) else math.inf)
                if pd.isna(when[j]) or abs((when[j] - when[i]).total_seconds()) > PAIR_S:
                    continue
            rv_row = rvs.pop(j)
            fw, rv = _times(fw_row["times"]), _times(rv_row["times"])
            if not fw or len(fw) != len(rv):
                fw, rv = [float(fw_row["t_median"])], [float(rv_row["t_median"])]
            trials.append(np.column_stack([fw, rv]))
        if trials:
            out[(str(problem), int(n), int(m))] = trials
    keys = list(out)
    return Cells(np.array([k[0] for k in keys]), np.array([k[1] for k in keys], dtype=float),
                 np.array([k[2] for k in keys], dtype=float), [out[k] for k in keys])


# ---- the rule and its fit -------------------------------------------------------------------------------
def candidates(n: np.ndarray, m: np.ndarray) -> np.ndarray:
    """Candidate (w, n0) rows in tie-breaking order (see the module docstring)."""
    rows = []
    for offset in [0.0] + sorted({float(v) for v in n}):
        ratios = sorted({float(r) for r in (n - offset) / m})
        edges = [-math.inf] + ratios + [math.inf]
        for lo, hi in zip(edges[:-1], edges[1:]):
            if math.isinf(lo):
                w = hi - 1 if hi <= 0 else hi / 2
            elif math.isinf(hi):
                w = lo + 1 if lo <= 0 else 2 * lo
            else:
                w = math.sqrt(lo * hi) if lo > 0 else (lo + hi) / 2
            rows.append((w, offset))
    return np.array(rows)


def forward_mask(rules: np.ndarray, n: np.ndarray, m: np.ndarray) -> np.ndarray:
    """(rules, cells): True where ``n <= w m + n0`` (forward mode chosen)."""
    return n[None, :] <= rules[:, :1] * m[None, :] + rules[:, 1:2]


def scores(mask: np.ndarray, t_fwd: np.ndarray, t_rev: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per rule: geometric-mean slowdown against the faster mode, and cells where it picks it."""
    best = np.minimum(t_fwd, t_rev)
    lf, lr = np.log2(t_fwd / best), np.log2(t_rev / best)
    slow = 2 ** ((mask @ lf + (~mask) @ lr) / len(best))
    right = (mask & (t_fwd <= t_rev)).sum(1) + (~mask & (t_rev <= t_fwd)).sum(1)
    return slow, right


def _argmin_first(values: np.ndarray) -> int:
    """The first index whose value is within 1e-12 (relative) of the minimum."""
    best = values.min()
    return int(np.flatnonzero(values <= best * (1 + 1e-12))[0])


def crossing_ratio(c: Cells, t_fwd: np.ndarray, t_rev: np.ndarray) -> float:
    """Geometric mean over (problem, m) of n*/m, n* the first log-interpolated sign change of
    log2(t_fwd / t_rev) from <= 0 to > 0 along n (rows with no crossing are left out)."""
    v_all = np.log2(t_fwd / t_rev)
    out = []
    for problem in dict.fromkeys(c.problem):
        for m in sorted(set(c.m[c.problem == problem])):
            sel = (c.problem == problem) & (c.m == m)
            order = np.argsort(c.n[sel])
            ns, v = c.n[sel][order], v_all[sel][order]
            for i in range(len(v) - 1):
                if v[i] <= 0 < v[i + 1]:
                    a, b = math.log2(ns[i]), math.log2(ns[i + 1])
                    out.append(2 ** (a + (b - a) * (0 - v[i]) / (v[i + 1] - v[i])) / m)
                    break
    return float(2 ** np.mean(np.log2(out))) if out else math.nan


def _groups(c: Cells) -> list[tuple[np.ndarray, np.ndarray | None]]:
    """Cells grouped by their shape (rounds of each trial): (cell indices, array (cells, trials,
    rounds, 2) when every trial of the group has the same rounds, else None)."""
    shapes: dict[tuple[int, ...], list[int]] = {}
    for i, trials in enumerate(c.trials):
        shapes.setdefault(tuple(len(t) for t in trials), []).append(i)
    out: list[tuple[np.ndarray, np.ndarray | None]] = []
    for shape, idx in shapes.items():
        data = np.stack([np.stack(c.trials[i]) for i in idx]) if len(set(shape)) == 1 else None
        out.append((np.array(idx), data))
    return out


def _resample(c: Cells, rng: np.random.Generator, groups: list | None = None) -> tuple[np.ndarray, np.ndarray]:
    """One bootstrap resample: per cell, trials drawn with replacement, then rounds within each."""
    fw, rv = np.empty(len(c)), np.empty(len(c))
    for idx, data in groups if groups is not None else _groups(c):
        if data is not None:  # cells whose trials have equal rounds: all drawn at once
            n_cells, n_trials, n_rounds, _ = data.shape
            ti = rng.integers(0, n_trials, (n_cells, n_trials))
            ri = rng.integers(0, n_rounds, (n_cells, n_trials, n_rounds))
            drawn = data[np.arange(n_cells)[:, None, None], ti[:, :, None], ri]
            med = np.median(drawn.reshape(n_cells, n_trials * n_rounds, 2), axis=1)
            fw[idx], rv[idx] = med[:, 0], med[:, 1]
            continue
        for i in idx:
            trials = c.trials[i]
            picked = [trials[j] for j in rng.integers(0, len(trials), len(trials))]
            d = np.concatenate([t[rng.integers(0, len(t), len(t))] for t in picked])
            fw[i], rv[i] = np.median(d[:, 0]), np.median(d[:, 1])
    return fw, rv


def _interval(values: Any) -> list[float]:
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    if not len(v):
        return [math.nan, math.nan]
    lo, hi = np.percentile(v, [50 * (1 - LEVEL), 100 - 50 * (1 - LEVEL)])
    return [float(lo), float(hi)]


def calibrate(rows: pd.DataFrame, weight: float, offset: float, resamples: int = RESAMPLES,
              seed: int = SEED) -> dict[str, Any] | None:
    """The fit, its bootstrap statement and the adoption verdict for ``rows`` (see the docstring).

    ``weight``, ``offset``: the library's rule in force. ``None`` when no cell has both modes.
    """
    c = cells_from_rows(rows)
    if not len(c):
        return None
    rules = candidates(c.n, c.m)
    masks = forward_mask(rules, c.n, c.m)
    library = np.array([[weight, offset]])
    lib_mask = forward_mask(library, c.n, c.m)
    t_fwd, t_rev = c.medians()
    slow, right = scores(masks, t_fwd, t_rev)
    best = _argmin_first(slow)
    fit_mask = masks[best:best + 1]
    lib_slow, lib_right = scores(lib_mask, t_fwd, t_rev)
    rng = np.random.default_rng(seed)
    boot: dict[str, list[float]] = {k: [] for k in (
        "w", "n0", "fit_right", "fit_slow", "lib_right", "lib_slow", "refit_right", "refit_slow",
        "crossing")}
    ms = sorted({float(v) for v in c.m})
    bounds: dict[float, list[float]] = {m: [] for m in ms}
    groups = _groups(c)
    for _ in range(resamples):
        fw, rv = _resample(c, rng, groups)
        s, r = scores(masks, fw, rv)
        i = _argmin_first(s)
        w, n0 = rules[i]
        boot["w"].append(w)
        boot["n0"].append(n0)
        boot["refit_slow"].append(s[i])
        boot["refit_right"].append(r[i])
        fs, fr = scores(fit_mask, fw, rv)
        ls, lr = scores(lib_mask, fw, rv)
        boot["fit_slow"].append(fs[0])
        boot["fit_right"].append(fr[0])
        boot["lib_slow"].append(ls[0])
        boot["lib_right"].append(lr[0])
        boot["crossing"].append(crossing_ratio(c, fw, rv))
        for m in ms:
            bounds[m].append(w * m + n0)
    fit_s, lib_s = np.array(boot["fit_slow"]), np.array(boot["lib_slow"])
    share = float(np.mean(fit_s < lib_s * (1 - 1e-12))) if resamples else math.nan
    gain = float(np.median(1 - fit_s / lib_s)) if resamples else math.nan
    same = bool(np.array_equal(fit_mask, lib_mask))
    adopt = (not same) and share >= ADOPT_SHARE and gain >= ADOPT_GAIN
    stamps = rows["timestamp"].dropna().astype(str) if "timestamp" in rows else pd.Series(dtype=str)
    versions = sorted({str(v) for v in rows["code_version"].dropna()}) if "code_version" in rows else []
    machines = sorted({str(v) for v in rows["machine"].dropna()}) if "machine" in rows else []
    w_fit, n0_fit = (float(v) for v in rules[best])
    ratios = (c.n - n0_fit) / c.m
    below, above = ratios[ratios <= w_fit], ratios[ratios > w_fit]
    w_range = [max(0.0, float(below.max())) if len(below) else 0.0,
               float(above.min()) if len(above) else math.inf]
    return {
        "experiment": "jacobian_crossover", "pairing": f"{FORWARD} vs {REVERSE}",
        "problems": sorted(set(c.problem)), "cells": len(c),
        "n_values": sorted({int(v) for v in c.n}), "m_values": [int(v) for v in ms],
        "trials_per_cell": [min(c.trial_counts), max(c.trial_counts)],
        "rounds_per_cell": [min(c.round_counts), max(c.round_counts)],
        "machine": ", ".join(machines), "code_version": ", ".join(versions),
        "measured": [stamps.min(), stamps.max()] if len(stamps) else [None, None],
        "resamples": resamples, "seed": seed, "level": LEVEL,
        "library": {"REVERSE_WEIGHT": weight, "FORWARD_OFFSET": offset,
                    "right": int(lib_right[0]), "mean_slowdown": float(lib_slow[0]),
                    "right_interval": _interval(boot["lib_right"]),
                    "slowdown_interval": _interval(boot["lib_slow"])},
        "fit": {"REVERSE_WEIGHT": w_fit, "FORWARD_OFFSET": n0_fit,
                "right": int(right[best]), "mean_slowdown": float(slow[best]),
                "right_interval": _interval(boot["fit_right"]),
                "slowdown_interval": _interval(boot["fit_slow"]),
                "weight_range": w_range, "same_choices_as_library": same},
        "refit": {"weight_interval": _interval(boot["w"]), "offset_interval": _interval(boot["n0"]),
                  "right_interval": _interval(boot["refit_right"]),
                  "boundary": [{"m": int(m), "n": w_fit * m + n0_fit, "interval": _interval(bounds[m])}
                               for m in ms]},
        "crossing_n_over_m": crossing_ratio(c, t_fwd, t_rev),
        "crossing_interval": _interval(boot["crossing"]),
        "fit_better_share": share, "median_gain": gain,
        "criterion": CRITERION, "adopt": adopt,
    }


# ---- the library's statement, generated from the record ---------------------------------------------------
def _n(x: float, digits: int = 3) -> str:
    return f"{x:.{digits}g}" if isinstance(x, (int, float)) and math.isfinite(x) else "n/a"


def interval_text(iv: list[float], fmt: Any = _n, pct: str = "95%") -> str:
    """``"95% interval a to b"``, or ``"a in at least 95% of the resamples"`` when both ends print alike."""
    a, b = fmt(iv[0]), fmt(iv[1])
    return f"{a} in at least {pct} of the resamples" if a == b else f"{pct} interval {a} to {b}"


def count(x: float) -> str:
    return str(int(round(x))) if math.isfinite(x) else "n/a"


def sentences(rec: dict[str, Any]) -> dict[str, str]:
    """The statements about a calibration record that both ``cost_model.py`` and the report print."""
    lib, fit, cells = rec["library"], rec["fit"], rec["cells"]
    pct = f"{rec['level']:.0%}"
    t0, t1 = rec["trials_per_cell"]
    r0, r1 = rec["rounds_per_cell"]
    trials = f"{t0}" if t0 == t1 else f"{t0} to {t1}"
    rounds = f"{r0}" if r0 == r1 else f"{r0} to {r1}"
    day = (rec["measured"][1] or "")[:10]
    data = (f"{cells} cells of the ``jacobian_crossover`` experiment ({', '.join(rec['problems'])}; "
            f"n in {', '.join(map(str, rec['n_values']))}; m likewise), {trials} trial(s) per cell of "
            f"{rounds} interleaved rounds in all, measured {day} on machine ``{rec['machine']}``, "
            f"code version ``{rec['code_version']}``")
    rule = (f"n <= {_n(lib['REVERSE_WEIGHT'])} m + {_n(lib['FORWARD_OFFSET'])} picks the faster mode "
            f"in {lib['right']} of {cells} cells (bootstrap: {interval_text(lib['right_interval'], count, pct)}), "
            f"a geometric-mean slowdown of {_n(lib['mean_slowdown'], 4)} "
            f"({interval_text(lib['slowdown_interval'], lambda v: _n(v, 4), pct)}) over always picking the faster")
    if "replaced" in rec:
        old = rec["replaced"]
        verdict = (f"these constants{f' ({_range(fit)})' if _range(fit) else ''} "
                   f"replaced n <= {_n(old['REVERSE_WEIGHT'])} m + "
                   f"{_n(old['FORWARD_OFFSET'])} ({old['right']} of {cells} cells, slowdown "
                   f"{_n(old['mean_slowdown'], 4)}): they were better in {rec['fit_better_share']:.0%} "
                   f"of {rec['resamples']} resamples, by {rec['median_gain']:.1%} in the median one")
    elif fit["same_choices_as_library"]:
        verdict = f"the best fit on these cells makes the same choices{f'; {_range(fit)}' if _range(fit) else ''}"
    else:
        outcome = ("it meets the criterion" if rec["adopt"] else "it does not meet the criterion")
        if rec.get("held_back"):
            outcome = f"it meets the criterion but was not adopted: {rec['held_back']}"
        verdict = (f"the best fit, n <= {_n(fit['REVERSE_WEIGHT'])} m + {_n(fit['FORWARD_OFFSET'])} "
                   f"({fit['right']} of {cells} cells, slowdown {_n(fit['mean_slowdown'], 4)}"
                   f"{f'; {_range(fit)}' if _range(fit) else ''}), was "
                   f"better in {rec['fit_better_share']:.0%} of {rec['resamples']} resamples, by "
                   f"{rec['median_gain']:.1%} in the median one: {outcome}")
    b = rec["refit"]["boundary"]
    edges = [b[0], b[-1]] if len(b) > 1 else b
    spread = "; ".join(f"at m = {e['m']}, n = {_n(e['n'])} ({interval_text(e['interval'], _n, pct)})" for e in edges)
    return {"data": data, "rule": rule, "verdict": verdict,
            "boundary": f"the boundary n = w m + n0 refitted on each resample lies {spread}",
            "criterion": f"criterion for changing the constants: {rec['criterion']}"}


def _range(fit: dict[str, Any]) -> str:
    """``"with n0 = c, every w with a <= w < b makes the same choices"`` (how finely the cells pin
    the weight down), or '' when the record does not say."""
    r = fit.get("weight_range")
    if not r:
        return ""
    bound = f"w >= {_n(r[0])}" if r[1] is None or not math.isfinite(r[1]) else f"{_n(r[0])} <= w < {_n(r[1])}"
    return f"with n0 = {_n(fit['FORWARD_OFFSET'])}, every w with {bound} makes the same choices"


def _wrap(text: str, width: int = 100) -> list[str]:
    words, lines, line = text.split(), [], ""
    for w in words:
        if line and len(line) + 1 + len(w) > width:
            lines.append(line)
            line = w
        else:
            line = f"{line} {w}" if line else w
    return lines + ([line] if line else [])


def render_cost_model(rec: dict[str, Any]) -> tuple[str, str]:
    """(docstring paragraph, constants block) of ``modes/cost_model.py`` for the record ``rec``."""
    s = sentences(rec)
    text = (f"Calibration (generated from ``{RECORD_NAME}`` by ``python -m experiments.calibration "
            f"adopt``; do not edit by hand): {s['data']}. With these constants the rule {s['rule']}; "
            f"{s['verdict']} ({s['criterion']}); {s['boundary']}.")
    doc = "\n".join([DOC_START, *_wrap(text), DOC_END])
    lib = rec["library"] if not rec["adopt"] else rec["fit"]
    code = "\n".join([CODE_START, f"REVERSE_WEIGHT = {_const(lib['REVERSE_WEIGHT'])}",
                      f"FORWARD_OFFSET = {_const(lib['FORWARD_OFFSET'])}", CODE_END])
    return doc, code


def _const(v: float) -> str:
    return str(int(v)) if float(v).is_integer() else f"{v:.3g}"


def apply(source: str, rec: dict[str, Any]) -> str:
    """``source`` (cost_model.py) with its generated paragraph and constants replaced from ``rec``."""
    doc, code = render_cost_model(rec)
    for start, end, block in ((DOC_START, DOC_END, doc), (CODE_START, CODE_END, code)):
        pattern = re.compile(re.escape(start) + r".*?" + re.escape(end), re.S)
        if not pattern.search(source):
            raise ValueError(f"{COST_MODEL}: no block between {start!r} and {end!r}")
        source = pattern.sub(lambda _: block, source, count=1)
    return source


def in_force(rec: dict[str, Any]) -> dict[str, Any]:
    """The record as the library holds it after adoption: ``library`` is the rule in force."""
    rec = json.loads(json.dumps(rec))
    if rec["adopt"]:
        old, new = rec["library"], rec["fit"]
        rec["replaced"] = {k: old[k] for k in ("REVERSE_WEIGHT", "FORWARD_OFFSET", "right", "mean_slowdown")}
        rec["library"] = {**new, "same_choices_as_library": True}
        rec["fit"] = {**new, "same_choices_as_library": True}
        rec["adopt"] = False  # the rule now in force is the fit
    return rec


def adopt(out_dir: Path, force: bool = False, keep: str | None = None, cost_model: Path = COST_MODEL,
          record: Path = RECORD) -> dict[str, Any]:
    """Read ``out_dir``'s calibration, adopt it (see the module docstring); returns the record.

    ``force``: take the fit whatever the criterion says; ``keep``: keep the constants although the
    criterion holds, for the reason given (stated in the docstring with the numbers)."""
    from .analysis import CALIBRATION_FILE

    rec = json.loads((Path(out_dir) / CALIBRATION_FILE).read_text())["crossover"]
    if rec is None:
        raise ValueError(f"{out_dir}: the calibration has no Jacobian cells")
    if force and not rec["fit"]["same_choices_as_library"]:
        rec["adopt"] = True
    if keep and rec["adopt"]:
        rec["adopt"], rec["held_back"] = False, keep
    held = in_force(rec)
    record.write_text(json.dumps(_finite(held), indent=2) + "\n")
    cost_model.write_text(apply(cost_model.read_text(), held))
    return held


def load_record(path: Path = RECORD) -> dict[str, Any] | None:
    """The calibration ``modes/cost_model.py`` states (``None`` if there is none)."""
    return json.loads(path.read_text()) if path.exists() else None


def _finite(obj: Any) -> Any:
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, dict):
        return {k: _finite(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_finite(v) for v in obj]
    return obj


def measure(out_dir: Path, trials: int = 3, profile: str = "full", resamples: int = RESAMPLES) -> Path | None:
    """Run ``run_all.py --only jacobian_crossover --force`` ``trials`` times into ``out_dir`` (each
    pass adds a trial of every cell, rows appended), then write the calibration. Trials measured by
    different code (a content hash in ``code_version``) are never pooled: the calibration uses
    those of the current version and says how many there are."""
    import subprocess

    from . import analysis

    out_dir = Path(out_dir)
    for i in range(trials):
        print(f"calibration: trial {i + 1} of {trials}", file=sys.stderr, flush=True)
        subprocess.run([sys.executable, str(ROOT / "experiments" / "run_all.py"), "--only",
                        "jacobian_crossover", "--force", "--profile", profile, "--out", str(out_dir)],
                       cwd=ROOT, check=False)
    return analysis.write_calibration(out_dir, resamples)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m experiments.calibration",
                                 description="Measure and adopt the Jacobian crossover calibration of "
                                             "modes/cost_model.py.")
    sub = ap.add_subparsers(dest="cmd", required=True)
    me = sub.add_parser("measure", help="run the jacobian_crossover grid several times into DIR and "
                                        "write DIR/cost_model_calibration.json")
    me.add_argument("dir", type=Path)
    me.add_argument("--trials", type=int, default=3, help="passes over the grid (default 3)")
    me.add_argument("--profile", default="full", choices=("tiny", "quick", "full"),
                    help="the grid (default full: n, m in 1, 4, ..., 1024; quick's four sizes pin the "
                         "weight down only coarsely)")
    a = sub.add_parser("adopt", help="update modes/cost_model.py and its record from DIR's calibration")
    a.add_argument("dir", type=Path, help="an output directory of run_all.py")
    a.add_argument("--force", action="store_true", help="take the fit even if the criterion fails")
    a.add_argument("--keep", metavar="REASON", help="keep the constants although the criterion holds, "
                                                    "for REASON (stated in the docstring)")
    args = ap.parse_args(argv)
    if args.cmd == "measure":
        path = measure(args.dir, args.trials, args.profile)
        rec = json.loads(path.read_text())["crossover"] if path else None
        if rec is None:
            print("calibration: no Jacobian cells measured", file=sys.stderr)
            return 1
        s = sentences(rec)
        print(f"wrote {path}: {s['rule']}; {s['verdict']}.")
        return 0
    rec = adopt(args.dir, force=args.force, keep=args.keep)
    s = sentences(rec)
    print(f"{'constants changed' if 'replaced' in rec else 'constants kept'}: "
          f"REVERSE_WEIGHT = {_const(rec['library']['REVERSE_WEIGHT'])}, "
          f"FORWARD_OFFSET = {_const(rec['library']['FORWARD_OFFSET'])}; the rule {s['rule']}.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
