#!/usr/bin/env python
"""Run every experiment, then write the tables, plots and report: ``python experiments/run_all.py``.

Default: the quick profile (3-4 minutes on 2 cores). ``--full``: the complete grids. The run
says at the start how long it expects to take.
``--only NAME`` (repeatable), ``--out DIR`` (default ``results/``), ``--repeats N`` (timed rounds,
at least 5), ``--force`` (remeasure trials already recorded), ``--timeout S`` (seconds per trial,
> 0 and at most a week; default: the profile's), ``--mem-share X`` (in (0, 1]),
``--blas-threads N|default`` (BLAS/OpenMP threads: 1 unless given; ``default``: the library's own),
``--update-reference`` (remeasure everything into ``reference/``).
Results are appended to ``<out>/<experiment>.csv`` as trials finish. A rerun reuses a recorded trial
only if it was measured on the same machine (``machine.fingerprint``: CPU, cores, Python, numpy,
BLAS and its thread settings) by the same code (``machine.code_version``: a hash of ``modes`` and of
the experiment's modules), and says per experiment how many trials it reused and measured.
``reference/`` holds the committed results the README shows: it is never read as a cache, and
``--out reference`` is refused unless ``--update-reference`` is given.
Timeouts and failures are printed on a line of their own as they happen and summarised at the end.
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

# Threads are pinned before numpy loads (every module below imports it); children inherit the setting.
from experiments import machine  # noqa: E402  (imports no numpy)

machine.pin_blas_threads(machine.blas_threads_from_argv(sys.argv[1:]))

from experiments import analysis, lifeline, plots, report  # noqa: E402
from experiments.runner import PROFILES, Context, Method, RunLog, value_row  # noqa: E402
from experiments.safety import DEFAULT_MEMORY_SHARE, MAX_SECONDS  # noqa: E402
from experiments.store import Store, StoreError, preflight  # noqa: E402
from experiments.suite import EXPECTED, EXPERIMENTS, STARTUP_S, Cost  # noqa: E402
from experiments.timing import MIN_REPEATS  # noqa: E402

LIBRARY_SPEED = "library_speed"  # the lead's optional module: experiments/library_speed.py
REFERENCE = ROOT / "reference"  # the committed results the README shows: never a cache


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


def _blas_threads(text: str) -> str:
    try:
        return machine.check_blas_threads(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


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
    ap.add_argument("--out", type=Path, default=None,
                    help="output directory (default: results/; never reference/, see --update-reference)")
    ap.add_argument("--repeats", type=_repeats, default=None, help=f"timed rounds (>= {MIN_REPEATS})")
    ap.add_argument("--force", action="store_true", help="remeasure trials already recorded")
    ap.add_argument("--update-reference", action="store_true",
                    help="measure everything afresh into reference/ (the committed results the README "
                         "shows; implies --force)")
    ap.add_argument("--blas-threads", type=_blas_threads, default=machine.DEFAULT_BLAS_THREADS,
                    metavar="N|default",
                    help="BLAS/OpenMP threads (default 1, pinned before numpy loads; 'default': the "
                         "library's own setting); recorded in every row and in the machine id")
    ap.add_argument("--mem-share", type=_mem_share, default=DEFAULT_MEMORY_SHARE,
                    help="skip trials estimated above this share of available memory, in (0, 1]")
    ap.add_argument("--timeout", type=_timeout, default=None,
                    help="time limit per trial, seconds (> 0; default: the profile's)")
    args = ap.parse_args(argv)
    if args.full and args.profile not in (None, "full"):
        ap.error("--full contradicts --profile " + args.profile)
    if args.update_reference:
        if args.out is not None and not _is_reference(args.out):
            ap.error(f"--update-reference writes {REFERENCE}; it contradicts --out {args.out}")
        args.out, args.force = REFERENCE, True
    elif args.out is None:
        args.out = ROOT / "results"
    elif _is_reference(args.out):
        ap.error(f"--out {args.out} is the reference folder ({REFERENCE}: the committed results the "
                 "README shows, never reused as a cache); write your own results elsewhere (default "
                 "results/), or give --update-reference to remeasure the reference on purpose")
    args.profile = "full" if args.full else (args.profile or "quick")
    args.only = args.only or names
    return args


def _is_reference(path: Path) -> bool:
    path, ref = path.resolve(), REFERENCE.resolve()
    return path == ref or ref in path.parents


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    machine.pin_blas_threads(args.blas_threads)  # already done on import for sys.argv; main(argv) too
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
    versions = {name: machine.code_version(EXPERIMENTS[name].__name__) for name in args.only
                if name in EXPERIMENTS}
    ctx = Context(out, profile, info, force=args.force, mem_share=args.mem_share, isolate=True,
                  code_versions=versions, blas_threads=info["blas_threads"])
    print(f"modes experiments: profile={profile.name} out={out} machine={info['machine_id']} "
          f"({info['cpu_model']}, {info['cpu_logical']} cores; BLAS threads {info['blas_threads']}, "
          f"{info['blas_threads_used']} in use)", file=sys.stderr)
    print(estimate_line(ctx, args.only), file=sys.stderr)
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
        print(done_line(name, time.perf_counter() - t0, ctx.log), file=sys.stderr)
    for step, fn in (("calibration", analysis.write_calibration), ("plots", plots.make_all),
                     ("report", report.write)):
        try:
            fn(out)
        except Exception as exc:  # noqa: BLE001
            traceback.print_exc()
            problems.append(f"{step} failed: {type(exc).__name__}: {exc}")
    wall = time.perf_counter() - start
    failures = ctx.failures
    print(totals_line(ctx.log), file=sys.stderr)
    print(summary(ctx.log), file=sys.stderr)
    print(f"wrote {out}/REPORT.md; {failures} failed or timed-out trial(s) this run; wall time "
          f"{wall:.1f} s", file=sys.stderr)
    for p in problems:
        print("error: " + p, file=sys.stderr)
    return 1 if failures or problems else 0


# ---- what the run says --------------------------------------------------------------------------------
def expected_seconds(ctx: Context, names: list[str]) -> tuple[float, int]:
    """(seconds this run should take, trials already recorded that it will reuse), from
    ``suite.EXPECTED``: each experiment's seconds into an empty folder, its trials' part scaled by
    the share of its trials not yet recorded on this machine by this code, plus ``STARTUP_S``."""
    table = EXPECTED.get(ctx.profile.name, {})
    total, reusable = STARTUP_S.get(ctx.profile.name, 0.0), 0
    for name in names:
        cost = table.get(name, Cost(0.0, 0))
        done = 0
        if name in EXPERIMENTS and not ctx.force and cost.rows:
            done = min(cost.rows, Store(ctx.out_dir / f"{name}.csv", ctx.machine_id,
                                        ctx.code_version(name)).done_count())
        reusable += done
        trials_s = cost.seconds - cost.checks_s
        total += cost.checks_s + (trials_s * (1.0 - done / cost.rows) if cost.rows else trials_s)
    return total, reusable


def estimate_line(ctx: Context, names: list[str]) -> str:
    """``expect about N min (...)``: the estimate of ``expected_seconds`` and what it rests on."""
    seconds, reusable = expected_seconds(ctx, names)
    minutes = seconds / 60
    shown = f"{minutes:.0f}" if minutes >= 10 else f"{minutes:.1f}"
    if ctx.profile.name == "full":
        basis = (f"{seconds:.0f} s, rough: the quick profile's per-trial times on a loaded 2-core "
                 "machine scaled to the full grids, whose largest sizes may take far longer")
    else:
        basis = (f"{seconds:.0f} s: the {ctx.profile.name} profile's time per experiment into an "
                 "empty folder, measured on a loaded 2-core machine")
    reuse = f", less the {reusable} trial(s) already recorded here that it will reuse" if reusable else ""
    return f"expect about {shown} min ({basis}{reuse})"


def done_line(name: str, seconds: float, log: RunLog) -> str:
    t = log.tallies.get(name)
    if t is None:
        return f"{name}: {seconds:.1f} s"
    text = f"{name}: {seconds:.1f} s; measured {t.measured} trial(s), reused {t.reused}"
    if t.reused:
        text += " (recorded earlier on this machine by this code; --force remeasures them)"
    if t.skipped:
        text += f", {t.skipped} skipped"
    if t.checked:
        text += f", {t.checked} check(s) rerun (checks run every time)"
    return text


def totals_line(log: RunLog) -> str:
    t = log.tallies.values()
    measured, reused = sum(x.measured for x in t), sum(x.reused for x in t)
    text = f"in all: measured {measured} trial(s), reused {reused}"
    if measured == 0 and reused:
        text += " (every trial was recorded already: nothing was remeasured; --force remeasures)"
    checked = sum(x.checked for x in t)
    return text + (f"; {checked} check(s) rerun" if checked else "")


def summary(log: RunLog) -> str:
    """The timeouts and failures of this run, one line each: experiment, trial, status, reason."""
    if not log.problems:
        return "no trial failed or timed out in this run"
    lines = [f"{len(log.problems)} trial(s) failed or timed out in this run "
             "(experiment, trial [rows], status: reason):"]
    for p in log.problems:
        lines.append(f"  {p.experiment}  {p.trial} [{p.methods}]  {p.status}: {p.reason}")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
