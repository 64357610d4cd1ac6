#!/usr/bin/env python
"""Run every experiment, then write the tables, plots and report: ``python experiments/run_all.py``.

Default: the quick profile (a few minutes on 2 cores). ``--full``: the complete grids.
``--only NAME`` (repeatable), ``--out DIR`` (default ``results/``), ``--repeats N`` (timed rounds,
at least 5), ``--force`` (remeasure configurations already recorded on this machine).
Results are appended to ``<out>/<experiment>.csv`` as trials finish; a rerun skips recorded trials.
The exit status is 1 if any trial of this run failed or timed out (after everything is written).
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib
import sys
import time
import traceback
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script from a fresh clone: make ``experiments`` importable
    sys.path.insert(0, str(ROOT))

from experiments import analysis, machine, plots, report  # noqa: E402
from experiments.runner import PROFILES, Context, Method, value_row  # noqa: E402
from experiments.safety import DEFAULT_MEMORY_SHARE  # noqa: E402
from experiments.suite import EXPERIMENTS  # noqa: E402
from experiments.timing import MIN_REPEATS  # noqa: E402

LIBRARY_SPEED = "library_speed"  # the lead's optional module: experiments/library_speed.py


def _has_library_speed() -> bool:
    return (ROOT / "experiments" / f"{LIBRARY_SPEED}.py").exists()


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    names = list(EXPERIMENTS) + ([LIBRARY_SPEED] if _has_library_speed() else [])
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--full", action="store_true", help="the complete grids (long)")
    ap.add_argument("--profile", choices=sorted(PROFILES), default=None,
                    help="quick (default), full, or tiny (for tests)")
    ap.add_argument("--only", action="append", choices=names, metavar="NAME",
                    help=f"run only this experiment (repeatable): {', '.join(names)}")
    ap.add_argument("--out", type=Path, default=ROOT / "results", help="output directory")
    ap.add_argument("--repeats", type=int, default=None, help=f"timed rounds (>= {MIN_REPEATS})")
    ap.add_argument("--force", action="store_true", help="remeasure trials already recorded")
    ap.add_argument("--mem-share", type=float, default=DEFAULT_MEMORY_SHARE,
                    help="skip trials estimated above this share of available memory")
    ap.add_argument("--timeout", type=float, default=None, help="time limit per trial, seconds")
    args = ap.parse_args(argv)
    if args.full and args.profile not in (None, "full"):
        ap.error("--full contradicts --profile " + args.profile)
    args.profile = "full" if args.full else (args.profile or "quick")
    if args.repeats is not None and args.repeats < MIN_REPEATS:
        ap.error(f"--repeats must be at least {MIN_REPEATS}")
    if not 0 < args.mem_share <= 1:
        ap.error("--mem-share must be in (0, 1]")
    args.only = args.only or names
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    start = time.perf_counter()
    out: Path = args.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    profile = PROFILES[args.profile]
    if args.repeats is not None:
        profile = dataclasses.replace(profile, repeats=args.repeats)
    if args.timeout is not None:
        profile = dataclasses.replace(profile, trial_timeout_s=args.timeout)
    info = machine.describe()
    machine.record(out, info)
    ctx = Context(out, profile, info, force=args.force, mem_share=args.mem_share)
    print(f"modes experiments: profile={profile.name} out={out} machine={info['machine_id']} "
          f"({info['cpu_model']}, {info['cpu_logical']} cores)", file=sys.stderr)
    problems: list[str] = []
    for name in args.only:
        t0 = time.perf_counter()
        try:
            if name == LIBRARY_SPEED:
                importlib.import_module(f"experiments.{LIBRARY_SPEED}").run(out, profile.quick)
            else:
                EXPERIMENTS[name].run(ctx)
        except KeyboardInterrupt:
            raise
        except Exception as exc:  # noqa: BLE001 - an experiment crash is recorded and the run goes on
            traceback.print_exc()
            problems.append(f"{name} crashed: {type(exc).__name__}: {exc}")
            if name != LIBRARY_SPEED:
                value_row(ctx, name, {"problem": "experiment"}, Method("run", "harness"),
                          lambda exc=exc: {"status": "failed", "error": f"{type(exc).__name__}: {exc}"})
        print(f"{name}: {time.perf_counter() - t0:.1f} s", file=sys.stderr)
    for step, fn in (("calibration", analysis.write_calibration), ("plots", plots.make_all),
                     ("report", report.write)):
        try:
            fn(out)
        except Exception as exc:  # noqa: BLE001
            traceback.print_exc()
            problems.append(f"{step} failed: {type(exc).__name__}: {exc}")
    wall = time.perf_counter() - start
    failures = ctx.failures
    print(f"wrote {out}/REPORT.md; {failures} failed trial(s) this run; wall time {wall:.1f} s",
          file=sys.stderr)
    for p in problems:
        print("error: " + p, file=sys.stderr)
    return 1 if failures or problems else 0


if __name__ == "__main__":
    sys.exit(main())
