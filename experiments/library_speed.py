"""The library's speed figures (the `modes` issue's benchmarks), measured on this machine.

``python experiments/library_speed.py`` (or ``run_all.py --only library_speed``) times:

* the talk's V = x*y + (x+y)*z on Python floats: one reverse-mode gradient, and one forward-mode
  gradient (a single pass with a chunk of 3 directions);
* the extended Rosenbrock function: reverse gradient time at n = 10 and the ratio
  gradient-time / f-time at n = 10^6, beside a hand-written numpy gradient (the floor);
* a chain of 10^5 scalar operations differentiated in reverse mode (time per operation).

Each f and its derivatives are timed interleaved in one process (``experiments.timing``), so the
ratios are paired round by round. Writes ``library_speed.csv`` (one row per figure) and
``library_speed.md`` (the table with the targets) into the output directory.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import modes  # noqa: E402
from experiments.timing import measure, paired_ratios, quartiles  # noqa: E402

# Targets from the issue, with the figures it quotes for other tools on a machine like this one.
TARGETS = {
    "talk_reverse_us": (10.0, "autograd ~136 us, PyTorch ~46 us, CasADi SX ~18 us, JAX jit ~36 us"),
    "talk_forward_us": (10.0, ""),
    "rosenbrock_n10_reverse_us": (40.0, "autograd ~155 us, PyTorch ~78 us"),
    "rosenbrock_n1e6_ratio": (2.5, "autograd ~9.8x, JAX no-jit ~12x, CasADi ~10.7x, PyTorch ~6.3x, "
                                   "hand-written numpy ~1.6x"),
    "chain_1e5_us_per_op": (3.0, ""),
}


def talk(x: Any, y: Any, z: Any) -> Any:
    return x * y + (x + y) * z


def rosenbrock(x: Any) -> Any:
    return np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)


def rosenbrock_grad_by_hand(x: np.ndarray) -> np.ndarray:
    a, b = x[:-1], x[1:]
    t = b - a * a
    g = np.zeros_like(x)
    g[:-1] = -400.0 * t * a - 2.0 * (1.0 - a)
    g[1:] += 200.0 * t
    return g


def chain(x: Any, k: int = 100_000) -> Any:
    for _ in range(k):
        x = x * 0.9999999 + 1e-7
    return x


def _row(figure: str, value: float, q1: float, q3: float, unit: str, **extra: Any) -> dict:
    target, reference = TARGETS.get(figure, (float("nan"), ""))
    return {"figure": figure, "value": value, "q1": q1, "q3": q3, "unit": unit, "target": target,
            "meets_target": bool(value <= target), "reference": reference, **extra}


def measure_all(quick: bool = True) -> list[dict]:
    """Every figure as one row: median with quartiles over the repeats."""
    repeats = 7 if quick else 15
    rows = []

    g_rev = modes.grad(talk, argnum=(0, 1, 2))
    g_fwd = modes.grad(talk, argnum=(0, 1, 2), mode="forward")
    assert tuple(map(float, g_rev(1.0, -3.0, 2.0))) == (-1.0, 3.0, -2.0)
    assert tuple(map(float, g_fwd(1.0, -3.0, 2.0))) == (-1.0, 3.0, -2.0)
    t = measure({"f": lambda: talk(1.0, -3.0, 2.0), "reverse": lambda: g_rev(1.0, -3.0, 2.0),
                 "forward": lambda: g_fwd(1.0, -3.0, 2.0)}, repeats=repeats, target_s=0.05)
    for mode in ("reverse", "forward"):
        rows.append(_row(f"talk_{mode}_us", t[mode].median * 1e6, t[mode].q1 * 1e6,
                         t[mode].q3 * 1e6, "us per gradient", f_us=t["f"].median * 1e6))

    rng = np.random.default_rng(0)
    x10 = rng.uniform(-1, 1, 10)
    g = modes.grad(rosenbrock)
    np.testing.assert_allclose(g(x10), rosenbrock_grad_by_hand(x10), rtol=1e-12)
    t = measure({"f": lambda: rosenbrock(x10), "reverse": lambda: g(x10)}, repeats=repeats,
                target_s=0.05)
    rows.append(_row("rosenbrock_n10_reverse_us", t["reverse"].median * 1e6, t["reverse"].q1 * 1e6,
                     t["reverse"].q3 * 1e6, "us per gradient", f_us=t["f"].median * 1e6,
                     ratio=t["reverse"].median / t["f"].median))

    x = rng.uniform(-1, 1, 10**6)
    np.testing.assert_allclose(g(x), rosenbrock_grad_by_hand(x), rtol=1e-12)
    t = measure({"f": lambda: rosenbrock(x), "reverse": lambda: g(x),
                 "hand": lambda: rosenbrock_grad_by_hand(x)}, repeats=repeats, target_s=0.2)
    for name, figure in (("reverse", "rosenbrock_n1e6_ratio"), ("hand", "rosenbrock_n1e6_hand_ratio")):
        q1, med, q3 = quartiles(paired_ratios(t[name], t["f"]))
        rows.append(_row(figure, med, q1, q3, "x f time", f_ms=t["f"].median * 1e3,
                         grad_ms=t[name].median * 1e3))

    k = 100_000
    assert abs(modes.grad(chain)(0.5) - 0.9999999**k) < 1e-9
    times = []
    for _ in range(3 if quick else 7):
        t0 = time.perf_counter()
        modes.grad(chain)(0.5)
        times.append((time.perf_counter() - t0) / (2 * k) * 1e6)
    q1, med, q3 = quartiles(times)
    rows.append(_row("chain_1e5_us_per_op", med, q1, q3, "us per scalar operation (2 per step)",
                     ops=2 * k))
    return rows


def to_markdown(rows: list[dict]) -> str:
    lines = ["| figure | measured (median, IQR) | target | met | other tools (issue's figures) |",
             "|---|---|---|---|---|"]
    for r in rows:
        target = "" if np.isnan(r["target"]) else f"<= {r['target']:g}"
        met = "" if not target else ("yes" if r["meets_target"] else "**no**")
        lines.append(f"| {r['figure']} | {r['value']:.3g} {r['unit']} ({r['q1']:.3g} to "
                     f"{r['q3']:.3g}) | {target} | {met} | {r['reference']} |")
    return "\n".join(lines) + "\n"


def run(out_dir: Path, quick: bool = True) -> list[dict]:
    """Measure, then write ``library_speed.csv`` and ``library_speed.md`` into ``out_dir``."""
    import pandas as pd

    print("library_speed: timing the talk's example, Rosenbrock and a 1e5-op chain",
          file=sys.stderr)
    rows = measure_all(quick)
    out_dir.mkdir(parents=True, exist_ok=True)
    pd.DataFrame(rows).to_csv(out_dir / "library_speed.csv", index=False)
    (out_dir / "library_speed.md").write_text(to_markdown(rows))
    return rows


if __name__ == "__main__":
    import argparse

    ap = argparse.ArgumentParser(description="Time the modes library's headline figures.")
    ap.add_argument("--out", type=Path, default=ROOT / "results")
    ap.add_argument("--full", action="store_true", help="more repeats")
    args = ap.parse_args()
    print(to_markdown(run(args.out, quick=not args.full)))
