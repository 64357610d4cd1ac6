#!/usr/bin/env python
"""Run every experiment, then write the tables, plots and report: ``python experiments/run_all.py``.

Default: the quick profile (a few minutes on 2 cores). ``--full``: the complete grids.
``--only NAME`` (repeatable), ``--out DIR`` (default ``results/``), ``--repeats N`` (timed rounds,
at least 5), ``--force`` (remeasure configurations already recorded on this machine),
``--timeout S`` (seconds per trial, > 0 and at most a week; default: the profile's),
``--mem-share X`` (in (0, 1]).
Results are appended to ``<out>/<experiment>.csv`` as trials finish; a rerun skips recorded trials.
Every option is checked, and the output directory too, before any trial runs (exit status 2).
Each trial runs in a forked worker that is killed if it overruns its time limit by a second.
SIGTERM or SIGINT stops the run cleanly: the current trial's worker or probe is killed, the rows
written so far stay, and the exit status is 128 + the signal number; rerun the same command to
resume. The exit status is 1 if any trial of this run failed or timed out (after everything is
written).
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

from experiments import analysis, lifeline, machine, plots, report  # noqa: E402
from experiments.runner import PROFILES, Context, Method, value_row  # noqa: E402
from experiments.safety import DEFAULT_MEMORY_SHARE, MAX_SECONDS  # noqa: E402
from experiments.store import StoreError, preflight  # noqa: E402
from experiments.suite import EXPERIMENTS  # noqa: E402
from experiments.timing import MIN_REPEATS  # noqa: E402

LIBRARY_SPEED = "library_speed"  # the lead's optional module: experiments/library_speed.py


def _has_library_speed() -> bool:
    return (ROOT / "experiments" / f"{LIBRARY_SPEED}.py").exists()


# ---- option types: a bad value is one line, "run_all.py: error: argument --x: must be ...", exit 2 ----
def _timeout(text: str) -> float:
    value = _number(text, "a positive number of seconds")
    if not 0 < value <= MAX_SECONDS:  # also false for nan; longer would overflow the timers
        raise argparse.ArgumentTypeError(f"must be a positive number of seconds, at most "
                                         f"{MAX_SECONDS:g} (a week), got {text}; omit it for the "
                                         "profile's default")
    return value


def _repeats(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a whole number, at least {MIN_REPEATS}; "
                                         f"got {text}") from None
    if value < MIN_REPEATS:
        raise argparse.ArgumentTypeError(f"must be at least {MIN_REPEATS} (timed rounds per "
                                         f"trial), got {value}")
    return value


def _mem_share(text: str) -> float:
    value = _number(text, "a share of available memory in (0, 1]")
    if not 0 < value <= 1:  # also false for nan
        raise argparse.ArgumentTypeError(f"must be in (0, 1] (the share of available memory "
                                         f"a trial's estimate may use), got {text}")
    return value


def _number(text: str, what: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be {what}, got {text!r}") from None


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
    ap.add_argument("--repeats", type=_repeats, default=None, help=f"timed rounds (>= {MIN_REPEATS})")
    ap.add_argument("--force", action="store_true", help="remeasure trials already recorded")
    ap.add_argument("--mem-share", type=_mem_share, default=DEFAULT_MEMORY_SHARE,
                    help="skip trials estimated above this share of available memory, in (0, 1]")
    ap.add_argument("--timeout", type=_timeout, default=None,
                    help="time limit per trial, seconds (> 0; default: the profile's)")
    args = ap.parse_args(argv)
    if args.full and args.profile not in (None, "full"):
        ap.error("--full contradicts --profile " + args.profile)
    args.profile = "full" if args.full else (args.profile or "quick")
    args.only = args.only or names
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    start = time.perf_counter()
    out: Path = args.out.resolve()
    try:
        preflight(out, [out / f"{name}.csv" for name in args.only] + [out / "machine.csv"])
    except StoreError as exc:
        print(f"run_all.py: error: {exc}", file=sys.stderr)
        return 2
    with lifeline.interruptible():
        try:
            return _run(args, out, start)
        except lifeline.Interrupted as exc:
            print(f"run_all.py: stopped by {exc.signame} after {time.perf_counter() - start:.1f} s; "
                  f"the trial in progress (if any) was abandoned and its worker or probe killed; "
                  f"every row written so far is kept in {out}; rerun the same command to resume", file=sys.stderr)
            return 128 + exc.signum


def _run(args: argparse.Namespace, out: Path, start: float) -> int:
    profile = PROFILES[args.profile]
    if args.repeats is not None:
        profile = dataclasses.replace(profile, repeats=args.repeats)
    if args.timeout is not None:
        profile = dataclasses.replace(profile, trial_timeout_s=args.timeout)
    info = machine.describe()
    with lifeline.uninterrupted():
        machine.record(out, info)
    ctx = Context(out, profile, info, force=args.force, mem_share=args.mem_share, isolate=True)
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
