"""One trial -> rows of the tidy table: runtime groups, memory probes and plain recorded values.

Every path ends in rows, whatever happens: a trial over the memory cap or past the time budget is a
``skipped`` row with its reason; one that raises is a ``failed`` row with its error; one that runs out
of time is a ``timeout`` row. The run goes on after each. A configuration whose ``ok`` rows are
already in the store, measured on the same machine (fingerprint) by the same code (the content hash
in ``code_version``), is not rerun unless ``Context.force``. ``Context.log`` counts, per experiment,
the trials reused and measured, and prints every timeout and failure on a line of its own as it is
recorded (``RunLog``); ``run_all`` prints the counts and a summary of the problems at the end.

Time limits: a trial's own alarm (``safety.time_limit``) stops Python code at the limit. With
``Context.isolate`` (``run_all`` sets it) each timing trial and value row also runs in a forked worker
(``experiments.worker``): set-up, checks and timing all happen in it, so timings are unchanged, and a
worker still busy ``GRACE_S`` after the limit (stuck in one C call) is killed and its rows become
``timeout`` rows. Set-up side effects then stay in the worker: experiments pass results back in rows
only. Memory trials already run in subprocesses with their own time-outs. Rows are written with
SIGTERM and SIGINT held back (``lifeline.uninterrupted``): a row is in the CSV whole or not at all.
"""

from __future__ import annotations

import os
import sys
import time
import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import numpy as np

from . import lifeline, machine, memory_probe, safety, worker
from .progress import Progress
from .store import FAILED, Store, config_key
from .timing import MIN_REPEATS, measure, paired_ratios, quartiles

Fns = dict[str, Callable[[], Any]]
CHECK_TOL = 1e-8  # a derivative further than this (relative) from the exact one fails its row
Extras = dict[str, dict[str, Any]]
Rows = dict[str, dict[str, Any]]  # method name -> row
GRACE_S = 1.0  # an isolated trial still running this long after its limit is killed


@dataclass(frozen=True)
class Profile:
    """Per-trial settings (part of every configuration key) and the grid size of a run."""

    name: str                 # "tiny" (tests), "quick" (default), "full"
    target_s: float = 0.02    # auto-ranging target: one timed batch lasts at least this
    repeats: int = 5          # timed rounds per runtime trial
    mem_repeats: int = 3      # fresh subprocesses per memory trial
    trial_timeout_s: float = 120.0
    call_budget_s: float = 0.5  # forward mode stops growing n when one call would exceed this

    def __post_init__(self) -> None:
        if self.repeats < MIN_REPEATS or self.mem_repeats < 1:
            raise ValueError(f"profile {self.name}: repeats must be >= {MIN_REPEATS} and mem_repeats "
                             f">= 1, got {self.repeats} and {self.mem_repeats}")
        for what in ("target_s", "trial_timeout_s", "call_budget_s"):
            try:
                safety.check_seconds(getattr(self, what))
            except ValueError as exc:
                raise ValueError(f"profile {self.name}: {what}: {exc}") from None

    @property
    def quick(self) -> bool:
        return self.name != "full"


PROFILES: dict[str, Profile] = {
    "tiny": Profile("tiny", target_s=0.002, mem_repeats=1, trial_timeout_s=60.0, call_budget_s=0.05),
    # quick: timed batches of 10 ms (five interleaved rounds, paired ratios), one fresh subprocess
    # per memory trial (a peak RSS with the allocator pinned varies far less than a subprocess costs
    # to start: numpy, modes and scipy take 1.5-4 s on 2 loaded cores)
    "quick": Profile("quick", target_s=0.01, mem_repeats=1, call_budget_s=2.0),
    "full": Profile("full", target_s=0.05, trial_timeout_s=900.0, call_budget_s=8.0),
}


@dataclass
class Tally:
    """Rows of one experiment in this run: timing and memory trials reused from the store or
    measured, skipped rows, and checks (``value_row``: recomputed every run, never reused)."""

    reused: int = 0
    measured: int = 0
    skipped: int = 0
    checked: int = 0


@dataclass(frozen=True)
class Problem:
    """A trial that failed or timed out in this run: one line of the end-of-run summary."""

    experiment: str
    trial: str    # the configuration, e.g. "tanh_affine n=1024 m=1024"
    methods: str  # the rows (methods) it concerns, comma-separated
    status: str   # failed / timeout
    reason: str

    def line(self) -> str:
        return f"{self.status.upper()}: {self.experiment} {self.trial} [{self.methods}]: {self.reason}"


@dataclass
class RunLog:
    """What a run did, shared by every copy of its ``Context`` (``dataclasses.replace`` keeps it)."""

    tallies: dict[str, Tally] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    bar: Progress | None = None

    def tally(self, experiment: str) -> Tally:
        return self.tallies.setdefault(experiment, Tally())


TRIAL_FIELDS = ("problem", "n", "m", "k", "ops", "schedule", "snapshots")


def describe_trial(row: Mapping[str, Any]) -> str:
    """A row's configuration as ``problem n=.. m=..`` (the fields that are set)."""
    parts = []
    for name in TRIAL_FIELDS:
        value = row.get(name)
        if value is None or (isinstance(value, float) and value != value) or value == "":
            continue
        parts.append(str(value) if name == "problem" else f"{name}={value}")
    return " ".join(parts) or "(no configuration)"


@dataclass
class Context:
    """Everything an experiment needs: where to write, what profile, which machine, the safety knobs.

    ``code_versions``: experiment name -> the code version its rows carry and must match to be
    reused (``machine.code_version``); an experiment missing from it falls back to
    ``machine["code_version"]`` (tests give a fixed one), else to the hash of its suite module.
    ``blas_threads``: the BLAS thread setting recorded in every row (``machine["blas_threads"]`` if
    unset).
    """

    out_dir: Path
    profile: Profile
    machine: dict[str, str]
    force: bool = False
    mem_share: float = safety.DEFAULT_MEMORY_SHARE
    isolate: bool = False  # run each trial in a killable forked worker (run_all sets it): _run_trial
    stream: TextIO = field(default_factory=lambda: sys.stderr)
    stores: dict[str, Store] = field(default_factory=dict)
    code_versions: Mapping[str, str] = field(default_factory=dict)
    blas_threads: str | None = None
    log: RunLog = field(default_factory=RunLog)

    @property
    def machine_id(self) -> str:
        return self.machine["machine_id"]

    def code_version(self, experiment: str) -> str | None:
        if experiment in self.code_versions:
            return self.code_versions[experiment]
        if "code_version" in self.machine:
            return self.machine["code_version"]
        module = f"experiments.suite.{experiment}"  # an experiment run on its own: hash it here
        version = machine.code_version(module) if machine._module_path(module) else None
        self.code_versions = {**self.code_versions, experiment: version}  # type: ignore[dict-item]
        return version

    def store(self, experiment: str) -> Store:
        """The store of ``experiment`` (``<out_dir>/<experiment>.csv``), opened once per run."""
        if experiment not in self.stores:
            self.stores[experiment] = Store(self.out_dir / f"{experiment}.csv", self.machine_id,
                                            self.code_version(experiment))
        return self.stores[experiment]

    def progress(self, label: str, total: int) -> Progress:
        bar = Progress(label, total, self.stream)
        self.log.bar = bar
        return bar

    def say(self, text: str) -> None:
        """``text`` on a line of its own, now (above the progress bar if one is drawn)."""
        bar = self.log.bar
        if bar is not None and not bar.closed:
            bar.note(text)
        else:
            self.stream.write(text + "\n")
            self.stream.flush()

    def recorded(self, experiment: str, rows: list[dict[str, Any]] | Any, check: bool = False) -> None:
        """Count freshly measured ``rows`` (``check``: value rows) and announce those that failed or
        timed out, one line per trial and outcome (rows of one trial failing alike share a line)."""
        rows = list(rows)
        tally = self.log.tally(experiment)
        tally.skipped += sum(1 for r in rows if r.get("status") == "skipped")
        done = sum(1 for r in rows if r.get("status") != "skipped")
        if check:
            tally.checked += done
        else:
            tally.measured += done
        groups: dict[tuple[str, str, str], list[str]] = {}
        for row in rows:
            if row.get("status") in FAILED:
                key = (describe_trial(row), str(row["status"]), str(row.get("error") or ""))
                groups.setdefault(key, []).append(str(row.get("method")))
        for (trial, status, reason), methods in groups.items():
            problem = Problem(experiment, trial, ", ".join(methods), status, reason)
            self.log.problems.append(problem)
            self.say(problem.line())

    @property
    def failures(self) -> int:
        return sum(s.failures for s in self.stores.values())


@dataclass
class Method:
    """One row of a trial: a callable's name, its mode, what it may cost, and row fields of its own.

    ``skip``: a reason decided by the experiment (a time budget); memory is checked here from
    ``estimate_bytes``.
    """

    name: str
    mode: str
    estimate_bytes: float = 0.0
    skip: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def _error(exc: BaseException) -> str:
    last = traceback.extract_tb(exc.__traceback__)[-1:] if exc.__traceback__ else []
    where = f" at {Path(last[0].filename).name}:{last[0].lineno}" if last else ""
    return f"{type(exc).__name__}: {exc}{where}"[:500]


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S")


def _base_row(ctx: Context, config: Mapping[str, Any], method: Method, key: str) -> dict[str, Any]:
    row: dict[str, Any] = {k: v for k, v in config.items() if k != "experiment_params"}
    row.update(method=method.name, mode=method.mode, config_key=key, machine=ctx.machine_id,
               code_version=ctx.code_version(str(config.get("experiment"))),
               blas_threads=ctx.blas_threads or ctx.machine.get("blas_threads"), timestamp=_now(),
               load_avg=os.getloadavg()[0] if hasattr(os, "getloadavg") else None)
    row.update(method.extra)
    return row


def _skip_reason(ctx: Context, method: Method) -> tuple[str | None, int]:
    cap = safety.memory_cap(ctx.mem_share)
    if method.skip:
        return method.skip, cap
    return safety.memory_verdict(method.estimate_bytes, ctx.mem_share, cap), cap


def _record_skips(ctx: Context, experiment: str, store: Store, rows: list[dict[str, Any]]) -> None:
    """Record skipped rows unless the same skip is already the recorded state of that configuration."""
    ctx.log.tally(experiment).skipped += len(rows)
    fresh = [r for r in rows if store.status(r["config_key"]) != "skipped"
             or store.get(r["config_key"]).get("error") != r["error"]]  # type: ignore[union-attr]
    with lifeline.uninterrupted():
        store.record(fresh)


def timing_trial(ctx: Context, experiment: str, config: Mapping[str, Any], methods: list[Method],
                 setup: Callable[[], tuple[Fns, Extras]],
                 check: Callable[[dict[str, Any]], dict[str, float]] | None = None) -> list[dict[str, Any]]:
    """Time a group of callables together (interleaved); the first method must be ``"f"``.

    ``setup()`` returns ``(fns, extras)``: a zero-argument callable per method name, and row fields
    per method name (key ``"*"``: for every row). ``check(outputs)`` gets each callable's warm-up
    output and returns a per-method error (``check_err``). Returns this group's rows (recorded ones
    when resumed). Derivative rows get ``f_median`` and round-by-round ratios to ``f``.
    """
    assert methods and methods[0].name == "f", "the plain function 'f' must be timed first"
    store = ctx.store(experiment)
    prof = ctx.profile
    full_cfg = dict(config, experiment=experiment)
    keys = {m.name: config_key(dict(full_cfg, method=m.name, repeats=prof.repeats,
                                    target_s=prof.target_s)) for m in methods}
    skipped, planned = [], []
    for m in methods:
        reason, cap = _skip_reason(ctx, m)
        if reason is None and m.name != "f" and not planned:
            reason = "the plain function f was skipped"
        row = _base_row(ctx, full_cfg, m, keys[m.name])
        row.update(repeats=prof.repeats, target_s=prof.target_s, mem_estimate=m.estimate_bytes,
                   mem_cap=cap)
        if reason is not None:
            row.update(status="skipped", error=reason)
            skipped.append(row)
        else:
            planned.append((m, row))
    _record_skips(ctx, experiment, store, skipped)
    if not planned or (not ctx.force and all(store.is_done(keys[m.name]) for m, _ in planned)):
        ctx.log.tally(experiment).reused += len(planned)
        return [store.get(keys[m.name]) or r for m, r in planned] + skipped  # type: ignore[misc]

    rows = {m.name: r for m, r in planned}
    start = time.perf_counter()

    def body(send: Callable[[Any], None]) -> Rows:
        _time_group(rows, setup, check, prof, send)
        return rows

    rows = _run_trial(ctx, body, rows)
    wall = time.perf_counter() - start
    for row in rows.values():
        row["wall_s"] = wall
    with lifeline.uninterrupted():
        store.record(rows.values())
    ctx.recorded(experiment, rows.values())
    return list(rows.values()) + skipped


def _time_group(rows: Rows, setup: Callable[[], tuple[Fns, Extras]],
                check: Callable[[dict[str, Any]], dict[str, float]] | None, prof: Profile,
                send: Callable[[Any], None]) -> None:
    """Set up, warm up, check and time one group, filling in ``rows``; ``send(rows)`` after each stage."""
    try:
        with safety.time_limit(prof.trial_timeout_s):
            fns, extras = setup()
            for name, row in rows.items():
                row.update(extras.get("*", {}))
                row.update(extras.get(name, {}))
            send(rows)
            outputs: dict[str, Any] = {}
            alive: Fns = {}
            for name in rows:
                try:
                    outputs[name] = fns[name]()
                    alive[name] = fns[name]
                except safety.TrialTimeout:
                    raise
                except Exception as exc:  # noqa: BLE001 - recorded as a failed row
                    rows[name].update(status="failed", error=_error(exc))
            if check is not None:
                try:
                    for name, err in check(outputs).items():
                        if name in rows:
                            rows[name]["check_err"] = err
                            if not err <= CHECK_TOL and name in alive:  # wrong (or NaN): not timed
                                rows[name].update(status="failed", error=f"check failed: relative "
                                                  f"error {err:.3g} > {CHECK_TOL:g}")
                                del alive[name]
                except Exception as exc:  # noqa: BLE001
                    for name in alive:
                        rows[name]["note"] = f"check failed: {_error(exc)}"
            send(rows)
            if alive:
                timings = measure(alive, prof.repeats, prof.target_s, warmup=0)
                for name, t in timings.items():
                    rows[name].update(status="ok", loops=t.loops, t_median=t.median, t_q1=t.q1,
                                      t_q3=t.q3, t_iqr=t.iqr, t_min=t.min, t_max=t.max,
                                      times=list(t.times))
                if "f" in timings:
                    for name, t in timings.items():
                        ratios = paired_ratios(t, timings["f"])
                        q1, med, q3 = quartiles(ratios)
                        rows[name].update(f_median=timings["f"].median, ratio_median=med, ratio_q1=q1,
                                          ratio_q3=q3, ratio_iqr=q3 - q1, ratios=list(ratios))
    except safety.TrialTimeout as exc:
        for row in rows.values():
            if row.get("status") is None:
                row.update(status="timeout", error=str(exc))
    except Exception as exc:  # noqa: BLE001 - set-up or measurement failed
        for row in rows.values():
            if row.get("status") is None:
                row.update(status="failed", error=_error(exc))


def _run_trial(ctx: Context, body: Callable[[Callable[[Any], None]], Rows], rows: Rows) -> Rows:
    """``body(send)`` -> the finished rows: in a killable worker if ``ctx.isolate``, else here.

    ``body`` records its own time-outs (the alarm of ``safety.time_limit``). A worker that is still
    running ``GRACE_S`` after the limit is stuck in a call the alarm cannot interrupt: it is killed,
    and the rows it had not finished (as last sent) become ``timeout`` rows. A worker that dies by
    itself fails them.
    """
    if not ctx.isolate:
        return body(lambda _: None)
    limit = ctx.profile.trial_timeout_s
    out = worker.run_forked(body, limit + GRACE_S)
    if out.done:
        return out.value  # type: ignore[no-any-return]
    rows = out.partial if out.partial is not None else rows
    if out.killed:
        status, error = "timeout", (f"time limit of {limit:g} s exceeded: stuck in a call the alarm "
                                    f"could not interrupt; its worker was killed after {out.seconds:.1f} s")
    else:
        status, error = "failed", f"worker failed: {out.error or out.crash}"
    for row in rows.values():
        if row.get("status") is None:
            row.update(status=status, error=error)
    return rows


def memory_trial(ctx: Context, experiment: str, config: Mapping[str, Any], method: Method,
                 setup: str, params: Mapping[str, Any]) -> dict[str, Any]:
    """Peak RSS of ``setup(**params)`` (a ``memory_probe`` target) over ``mem_repeats`` fresh subprocesses.

    The row keeps every subprocess's peak (``rss_peaks``) and their median (``peak_rss_delta``), and
    the fields the probe reports (``tape_bytes``, ``ops``, ``theory_bytes`` ...).
    """
    store = ctx.store(experiment)
    prof = ctx.profile
    full_cfg = dict(config, experiment=experiment)
    key = config_key(dict(full_cfg, method=method.name, mem_repeats=prof.mem_repeats))
    row = _base_row(ctx, full_cfg, method, key)
    reason, cap = _skip_reason(ctx, method)
    row.update(repeats=prof.mem_repeats, mem_estimate=method.estimate_bytes, mem_cap=cap)
    if reason is not None:
        row.update(status="skipped", error=reason)
        _record_skips(ctx, experiment, store, [row])
        return row
    if not ctx.force and store.is_done(key):
        ctx.log.tally(experiment).reused += 1
        return store.get(key)  # type: ignore[return-value]
    start = time.perf_counter()
    results = []
    try:
        for _ in range(prof.mem_repeats):
            results.append(memory_probe.run_probe(setup, dict(params), prof.trial_timeout_s))
    except memory_probe.subprocess.TimeoutExpired:
        row.update(status="timeout", error=f"memory probe exceeded {prof.trial_timeout_s:g} s")
    except Exception as exc:  # noqa: BLE001
        row.update(status="failed", error=_error(exc))
    else:
        peaks = [r["peak_rss_delta"] for r in results]
        hwms = [r["peak_hwm_delta"] for r in results if r.get("peak_hwm_delta") is not None]
        last = results[-1]
        row.update(status="ok", peak_rss_delta=float(np.median(peaks)), rss_peaks=peaks,
                   peak_hwm_delta=float(np.median(hwms)) if hwms else None,
                   baseline_rss=float(np.median([r["baseline_rss"] for r in results])),
                   malloc_env=" ".join(f"{k}={v}" for k, v in last["malloc_env"].items()),
                   times=[r["compute_s"] for r in results])
        for col in ("tape_bytes", "theory_bytes", "ops", "value", "check_err"):
            if last.get(col) is not None:
                row[col] = last[col]
        err = max((r["check_err"] for r in results if r.get("check_err") is not None), default=0.0)
        if not err <= CHECK_TOL:
            row.update(status="failed", error=f"check failed: error {err:.3g} > {CHECK_TOL:g}")
    row["wall_s"] = time.perf_counter() - start
    with lifeline.uninterrupted():
        store.record([row])
    ctx.recorded(experiment, [row])
    return row


def value_row(ctx: Context, experiment: str, config: Mapping[str, Any], method: Method,
              compute: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """A row whose content is computed by ``compute()`` (fields; ``status`` defaults to ok).

    Such rows are cheap checks (some depend on what is installed, or write files into the output
    folder), so they are recomputed every run and counted as checks, not trials.
    """
    store = ctx.store(experiment)
    full_cfg = dict(config, experiment=experiment)
    key = config_key(dict(full_cfg, method=method.name))
    rows = {method.name: _base_row(ctx, full_cfg, method, key)}
    start = time.perf_counter()

    def body(send: Callable[[Any], None]) -> Rows:
        row = rows[method.name]
        try:
            with safety.time_limit(ctx.profile.trial_timeout_s):
                row.update(compute())
            row.setdefault("status", "ok")
        except safety.TrialTimeout as exc:
            row.update(status="timeout", error=str(exc))
        except Exception as exc:  # noqa: BLE001
            row.update(status="failed", error=_error(exc))
        return rows

    row = _run_trial(ctx, body, rows)[method.name]
    row["wall_s"] = time.perf_counter() - start
    with lifeline.uninterrupted():
        store.record([row])
    ctx.recorded(experiment, [row], check=True)
    return row


class Budget:
    """Predicts a method's single-call time at a larger size from its last measured size.

    ``predict(key, n)`` assumes time grows as ``n ** exponent`` from the largest measured ``n``.
    After ``stop(key, n, why)`` (a failure or timeout) every larger ``n`` is skipped.
    """

    def __init__(self, exponent: float = 2.0) -> None:
        self.exponent = exponent
        self.seen: dict[Any, tuple[float, float]] = {}
        self.stopped: dict[Any, tuple[float, str]] = {}

    def observe(self, key: Any, n: float, seconds: float | None) -> None:
        if seconds is None or not np.isfinite(seconds):
            return
        if key not in self.seen or n >= self.seen[key][0]:
            self.seen[key] = (n, seconds)

    def stop(self, key: Any, n: float, why: str) -> None:
        if key not in self.stopped or n < self.stopped[key][0]:
            self.stopped[key] = (n, why)

    def record(self, key: Any, n: float, row: Mapping[str, Any]) -> None:
        """Observe an ``ok`` row's median time, or stop after a failed / timed-out row."""
        status = row.get("status")
        if status == "ok":
            self.observe(key, n, float(row["t_median"]))
        elif status in ("failed", "timeout"):
            self.stop(key, n, f"{status} at n={n:g}")

    def predict(self, key: Any, n: float) -> float | None:
        if key not in self.seen:
            return None
        n0, t0 = self.seen[key]
        return t0 * (n / n0) ** self.exponent if n > n0 else t0

    def over(self, key: Any, n: float, budget_s: float) -> str | None:
        """A skip reason if the method stopped below ``n`` or one call is predicted over ``budget_s``."""
        if key in self.stopped and n > self.stopped[key][0]:
            return f"not run: this method {self.stopped[key][1]}"
        t = self.predict(key, n)
        if t is not None and t > budget_s:
            return (f"predicted {t:.3g} s per call (from n={self.seen[key][0]:g}, growth n^"
                    f"{self.exponent:g}) exceeds the per-call budget of {budget_s:g} s")
        return None
