#!/usr/bin/env python
"""Time methods through the GradBench tool: ``python experiments/gradbench/measure.py lstm``.

Plays the eval's side against ``run.py --mode <method>``, one fresh tool process per (problem,
size, method), so every compiled method compiles in its own ``prepare``: start, define, then the
problem's primal and its derivative function on the same input, each repeated as the eval asks
(``--min-runs``, ``--min-seconds``; GradBench's evals default to 1 run and 1 second). ``--tool``
times another checkout's run.py (a before/after on the same inputs). Prints one CSV row per
evaluation (a tidy table): problem, size, function, method (the one that ran), prepare_s (the
compiling the tool reported, empty for none), runs, min_s and median_s of the ``evaluate``
timings; a derivative row also has ratio_min and ratio_median (derivative / primal, same process).

Sizes are the evals' defaults where they fit this machine (see ``SIZES``): hand tracking on the
synthetic 544-vertex hand at the first two ADBench point counts (no big hand model here), kmeans
and gmm without the sizes whose arrays or forward directions do not fit in memory.
"""

from __future__ import annotations

import argparse
import csv
import json
import statistics
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from experiments.adbench import gmm, ht, kmeans, lstm, particle, saddle  # noqa: E402
from experiments.adbench.spec import TOOL_MODES  # noqa: E402

TOOL = Path(__file__).resolve().parent / "run.py"
Size = tuple[str, Callable[[], dict[str, Any]]]

SIZES: dict[str, list[Size]] = {
    "particle": [("w=0", lambda: particle.generate(0.0))],
    "saddle": [("start=(1,1)", lambda: saddle.generate((1.0, 1.0)))],
    "ht-simple": [(f"npts={n}", lambda n=n: ht.generate(n, False)) for n in (100, 192)],
    "ht-complicated": [(f"npts={n}", lambda n=n: ht.generate(n, True)) for n in (100, 192)],
    "lstm": [(f"l={la},c={c}", lambda la=la, c=c: lstm.generate(la, c)) for la in (2, 4)
             for c in (1024, 4096)],
    "kmeans": [(f"k={k},n={n},d={d}", lambda k=k, n=n, d=d: kmeans.generate(k, n, d))
               for k, n, d in ((10, 1000, 8), (10, 1000, 16), (100, 1000, 8), (10, 10_000, 8))],
    "gmm": [(f"d={d},k={k}", lambda d=d, k=k: gmm.generate(d, k, 1000))
            for d, k in ((2, 5), (2, 25), (10, 5), (10, 25), (20, 50), (32, 100), (64, 100))],
}
MODULE = {"particle": particle, "saddle": saddle, "ht-simple": ht, "ht-complicated": ht,
          "lstm": lstm, "kmeans": kmeans, "gmm": gmm}
PRIMAL = {"ht": "objective", "lstm": "objective", "kmeans": "cost", "gmm": "objective"}
DERIVATIVE = {"ht": "jacobian", "lstm": "jacobian", "kmeans": "dir", "gmm": "jacobian"}
COLUMNS = ["problem", "size", "function", "method", "prepare_s", "runs", "min_s", "median_s",
           "ratio_min", "ratio_median"]


def evaluations(problem: str, method: str) -> list[str]:
    """The functions to evaluate: [primal, derivative], or the variant a nested method runs."""
    module = MODULE[problem]
    if module in (particle, saddle):
        return [method.split("-")[0]]
    return [PRIMAL[module.NAME], DERIVATIVE[module.NAME]]


def default_methods(problem: str) -> list[str]:
    """The tool modes, then every method a mode name does not hide (a mode named ``forward``
    runs ``BEST["forward"]``, so a method named ``forward`` is reached only when it is the best);
    for particle and saddle every method (each names its variant)."""
    module = MODULE[problem]
    if module in (particle, saddle):
        return list(module.METHODS)
    return list(TOOL_MODES) + [m for m in module.METHODS if m not in TOOL_MODES]


def session(problem: str, size: str, raw: dict[str, Any], method: str, min_runs: int,
            min_seconds: float, tool: Path = TOOL) -> Iterator[dict[str, Any]]:
    """One tool process (``tool``: a run.py, by default this repository's): its evaluations' rows."""
    module = MODULE[problem]
    proc = subprocess.Popen([sys.executable, str(tool), "--mode", method], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdin is not None and proc.stdout is not None
    ids = iter(range(10**6))

    def send(message: dict[str, Any]) -> dict[str, Any]:
        proc.stdin.write(json.dumps({"id": next(ids)} | message) + "\n")
        proc.stdin.flush()
        return json.loads(proc.stdout.readline())

    try:
        send({"kind": "start", "eval": module.NAME})
        send({"kind": "define", "module": module.NAME})
        primal = None
        for function in evaluations(problem, method):
            r = send({"kind": "evaluate", "module": module.NAME, "function": function,
                      "input": raw | {"min_runs": min_runs, "min_seconds": min_seconds}})
            if not r.get("success"):
                raise RuntimeError(f"{problem} {size} {function} {method}: {r.get('error')}")
            ev = [t["nanoseconds"] / 1e9 for t in r["timings"] if t["name"] == "evaluate"]
            prep = [t["nanoseconds"] / 1e9 for t in r["timings"] if t["name"] == "prepare"]
            row = {"problem": problem, "size": size, "function": function, "method": r["method"],
                   "prepare_s": prep[0] if prep else "", "runs": len(ev), "min_s": min(ev),
                   "median_s": statistics.median(ev), "ratio_min": "", "ratio_median": ""}
            if r["method"] == "none":
                primal = row
            elif primal is not None:
                row["ratio_min"] = row["min_s"] / primal["min_s"]
                row["ratio_median"] = row["median_s"] / primal["median_s"]
            yield row
    finally:
        proc.stdin.write(json.dumps({"id": -1, "kind": "end"}) + "\n")
        proc.stdin.close()
        proc.wait(timeout=60)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("problem", choices=sorted(SIZES))
    ap.add_argument("--methods", nargs="+", help="methods to time (default: every method)")
    ap.add_argument("--sizes", nargs="+", help="sizes to time, as SIZES spells them (default: all)")
    ap.add_argument("--min-runs", type=int, default=1)
    ap.add_argument("--min-seconds", type=float, default=1.0)
    ap.add_argument("--tool", type=Path, default=TOOL,
                    help="the run.py to time (e.g. another checkout's, for a before/after)")
    args = ap.parse_args(argv)
    methods = args.methods or default_methods(args.problem)
    out = csv.DictWriter(sys.stdout, COLUMNS)
    out.writeheader()
    for size, make in SIZES[args.problem]:
        if args.sizes and size not in args.sizes:
            continue
        raw = make()
        for method in methods:
            for row in session(args.problem, size, raw, method, args.min_runs, args.min_seconds,
                               args.tool):
                out.writerow(row)
                sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
