"""Honest resume and a run that says what it did.

A recorded row is reused only by the same machine fingerprint and the same code version (a content
hash of ``modes`` and of the experiment's modules); anything else remeasures. The fingerprint takes
in the CPU, cores, Python, numpy, the BLAS and its thread settings; the code version changes with
the experiment's own modules and with ``modes``, not with the report's. Every timeout and failure
is printed on a line of its own as it is recorded (above the progress bar) and kept for the summary.
"""

from __future__ import annotations

import dataclasses
import io
from pathlib import Path

import pytest

from experiments import machine
from experiments.runner import PROFILES, Context, Method, memory_trial, timing_trial, value_row
from experiments.store import load_csv


def _ctx(tmp_path: Path, version: str = "A", machine_id: str = "m1", **kw: object) -> Context:
    return Context(tmp_path, PROFILES["tiny"], {"machine_id": machine_id, "blas_threads": "1"},
                   code_versions={"t": version, "mem": version}, **kw)  # type: ignore[arg-type]


def _trial(ctx: Context, calls: list[int]) -> list[dict]:
    def setup():  # noqa: ANN202
        calls.append(1)
        return {"f": lambda: 1.0, "g": lambda: 2.0}, {}

    return timing_trial(ctx, "t", {"problem": "p", "n": 3}, [Method("f", "plain"), Method("g", "reverse")],
                        setup)


def test_reused_only_for_the_same_machine_and_code_version(tmp_path: Path) -> None:
    calls: list[int] = []
    first = _ctx(tmp_path)
    rows = _trial(first, calls)
    assert len(calls) == 1 and {r["code_version"] for r in rows} == {"A"}
    assert {r["machine"] for r in rows} == {"m1"} and {r["blas_threads"] for r in rows} == {"1"}
    assert (first.log.tally("t").measured, first.log.tally("t").reused) == (2, 0)

    same = _ctx(tmp_path)
    again = _trial(same, calls)
    assert len(calls) == 1  # reused: nothing ran
    assert [r["t_median"] for r in again] == [r["t_median"] for r in rows]
    assert (same.log.tally("t").measured, same.log.tally("t").reused) == (0, 2)

    changed = _ctx(tmp_path, version="B")  # the code changed: the hash differs
    fresh = _trial(changed, calls)
    assert len(calls) == 2 and {r["code_version"] for r in fresh} == {"B"}
    assert (changed.log.tally("t").measured, changed.log.tally("t").reused) == (2, 0)

    other = _ctx(tmp_path, version="B", machine_id="m2")  # another machine (or BLAS, or threads)
    _trial(other, calls)
    assert len(calls) == 3
    df = load_csv(tmp_path / "t.csv")
    assert sorted(zip(df["machine"], df["code_version"])) == [("m1", "B"), ("m1", "B"), ("m2", "B"),
                                                              ("m2", "B")]
    assert len((tmp_path / "t.csv").read_text().splitlines()) == 1 + 6  # every row kept in the file

    forced = _ctx(tmp_path, version="B", force=True)
    _trial(forced, calls)
    assert len(calls) == 4 and forced.log.tally("t").reused == 0


def test_memory_trial_reused_only_for_the_same_code_version(tmp_path: Path) -> None:
    def probe(ctx: Context) -> dict:
        return memory_trial(ctx, "mem", {"problem": "allocation", "n": 1000}, Method("alloc", "plain"),
                            "experiments.memory_probe:allocation", {"nbytes": 8000, "hold_s": 0.0})

    first = probe(_ctx(tmp_path))
    assert first["status"] == "ok", first
    ctx = _ctx(tmp_path)
    assert probe(ctx)["timestamp"] == first["timestamp"] and ctx.log.tally("mem").reused == 1
    ctx = _ctx(tmp_path, version="B")
    assert probe(ctx)["code_version"] == "B" and ctx.log.tally("mem").measured == 1


def test_value_rows_are_checks_rerun_every_time_and_counted_as_such(tmp_path: Path) -> None:
    ctx = _ctx(tmp_path)
    for _ in range(2):
        value_row(ctx, "t", {"problem": "v"}, Method("value", "plain"), lambda: {"value": 1.0})
    value_row(ctx, "t", {"problem": "w"}, Method("value", "plain"),
              lambda: {"status": "skipped", "error": "tool not installed"})
    tally = ctx.log.tally("t")
    assert (tally.checked, tally.measured, tally.reused, tally.skipped) == (2, 0, 0, 1)


# ---- the fingerprint --------------------------------------------------------------------------------
REQUIRED = ("cpu_model", "cpu_logical", "python", "numpy", "blas", "env_OPENBLAS_CORETYPE",
            "env_OMP_NUM_THREADS", "env_OPENBLAS_NUM_THREADS", "env_MKL_NUM_THREADS", "blas_threads",
            "blas_threads_used")


def test_fingerprint_changes_with_every_timing_relevant_setting() -> None:
    info = machine.describe()
    base = machine.fingerprint(info)
    assert info["machine_id"] == base and len(base) == 12
    for key in REQUIRED:
        assert key in machine.FINGERPRINT_KEYS, key
        assert machine.fingerprint({**info, key: info.get(key, "") + "-changed"}) != base, key
    for key in ("hostname", "git_commit", "executable", "modes_source"):  # recorded, not identity
        assert machine.fingerprint({**info, key: "elsewhere"}) == base, key


def test_describe_records_blas_and_threads_actually_in_use() -> None:
    info = machine.describe()
    assert info["blas"] and info["blas"] != "unknown"  # numpy's build configuration names it
    assert info["blas_threads"] == machine.blas_threads_setting()
    if info["blas_threads_used"] != "unknown":  # the library answered
        assert int(info["blas_threads_used"]) >= 1
    for var in ("OPENBLAS_CORETYPE", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        assert f"env_{var}" in info


def test_thread_setting_parsed_and_read_before_numpy() -> None:
    assert machine.check_blas_threads("4") == "4" and machine.check_blas_threads("Default") == "default"
    for bad in ("0", "-1", "1.5", "", "many"):
        with pytest.raises(ValueError, match="at least 1"):
            machine.check_blas_threads(bad)
    assert machine.blas_threads_from_argv(["--out", "x"]) == "1"  # pinned to one by default
    assert machine.blas_threads_from_argv(["--blas-threads", "3"]) == "3"
    assert machine.blas_threads_from_argv(["--blas-threads=default"]) == "default"


def test_pinning_sets_the_environment_and_the_loaded_library(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in machine.THREAD_ENV + (machine.SETTING_ENV,):
        monkeypatch.delenv(var, raising=False)
    try:
        assert machine.pin_blas_threads("2") == "2"
        assert all(machine.os.environ[var] == "2" for var in machine.THREAD_ENV)
        used = machine.blas_runtime()["blas_threads_used"]
        assert used in ("2", "unknown")
        machine.pin_blas_threads("default")  # leaves the environment and the library alone
        assert machine.os.environ[machine.SETTING_ENV] == "default"
        assert machine.os.environ["OMP_NUM_THREADS"] == "2"
    finally:
        machine.pin_blas_threads("1")
    assert machine.blas_runtime()["blas_threads_used"] in ("1", "unknown")


# ---- the code version -------------------------------------------------------------------------------
def _tree(root: Path) -> None:
    files = {
        "modes/__init__.py": "x = 1\n",
        "experiments/__init__.py": "",
        "experiments/report.py": "# the report\n",
        "experiments/helper.py": "def y():\n    return 1\n",
        "experiments/unrelated.py": "z = 3\n",
        "experiments/suite/__init__.py": "from . import exp, other\n",
        "experiments/suite/exp.py": "from ..helper import y\nfrom .. import report\n",
        "experiments/suite/exp_report.py": "# its report section\n",
        "experiments/suite/other.py": "import experiments.unrelated\n",
    }
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)


def test_code_version_follows_the_experiment_and_modes_not_the_report(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _tree(tmp_path)
    monkeypatch.setattr(machine, "REPO_ROOT", tmp_path)
    files = {p.relative_to(tmp_path).as_posix() for p in machine.experiment_files("experiments.suite.exp")}
    assert files == {"experiments/suite/exp.py", "experiments/helper.py"}
    v0 = machine.code_version("experiments.suite.exp")
    modes0, exp0 = v0.split("-")
    for rel in ("experiments/report.py", "experiments/suite/exp_report.py", "experiments/unrelated.py"):
        (tmp_path / rel).write_text("# edited\n")
        assert machine.code_version("experiments.suite.exp") == v0, rel
    (tmp_path / "experiments/helper.py").write_text("def y():\n    return 2\n")  # what it imports
    v1 = machine.code_version("experiments.suite.exp")
    assert v1.split("-")[0] == modes0 and v1.split("-")[1] != exp0
    (tmp_path / "modes/__init__.py").write_text("x = 2\n")  # the library
    v2 = machine.code_version("experiments.suite.exp")
    assert v2.split("-")[0] != modes0 and v2.split("-")[1] == v1.split("-")[1]
    assert machine.code_version("experiments.suite.other") != v2  # each experiment its own


def test_real_experiments_hash_their_own_modules() -> None:
    files = {p.name for p in machine.experiment_files("experiments.suite.memory")}
    assert {"memory.py", "runner.py", "timing.py", "memory_probe.py", "problems.py"} <= files
    assert not files & {"report.py", "analysis.py", "plots.py", "memory_report.py", "store.py"}
    peers = {p.relative_to(machine.REPO_ROOT).as_posix()
             for p in machine.experiment_files("experiments.suite.peers")}
    assert "experiments/peers/casadi_peer.py" in peers  # loaded by name: the subpackage counts whole


# ---- problems printed when they happen ----------------------------------------------------------------
class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def _spin() -> None:
    while True:
        pass


@pytest.mark.parametrize("tty", [False, True])
def test_timeout_and_failure_printed_on_their_own_line_when_they_happen(tmp_path: Path, tty: bool) -> None:
    stream = _Terminal() if tty else io.StringIO()
    profile = dataclasses.replace(PROFILES["tiny"], trial_timeout_s=0.3)
    ctx = Context(tmp_path, profile, {"machine_id": "m", "code_version": "v"}, stream=stream)
    with ctx.progress("t", 3) as bar:
        bar.step("first")
        timing_trial(ctx, "t", {"problem": "stuck", "n": 1}, [Method("f", "plain"), Method("g", "reverse")],
                     lambda: ({"f": _spin, "g": lambda: 1.0}, {}))
        at_timeout = stream.getvalue()
        bar.step("second")
        value_row(ctx, "t", {"problem": "broken", "n": 2}, Method("value", "plain"),
                  lambda: 1 / 0)  # type: ignore[arg-type, return-value]
        bar.step("third")
    text = stream.getvalue()
    timeout = "TIMEOUT: t stuck n=1 [f, g]: time limit of 0.3 s exceeded"
    failed = "FAILED: t broken n=2 [value]: ZeroDivisionError: division by zero"
    assert timeout in at_timeout  # printed as it happened, before the next trial
    lines = text.replace("\r", "\n").split("\n")
    assert timeout in lines and any(line.startswith(failed) for line in lines)  # each a line of its own
    assert text.index(timeout) < text.index("second") < text.index(failed) < text.index("third")
    if tty:  # the bar was cleared before the message and drawn again after it
        assert "\r" + " " * 10 in text and text.index(timeout) < text.rindex("first")
    problems = [(p.experiment, p.trial, p.methods, p.status) for p in ctx.log.problems]
    assert problems == [("t", "stuck n=1", "f, g", "timeout"), ("t", "broken n=2", "value", "failed")]
    assert ctx.failures == 3


def test_summary_lists_experiment_trial_status_and_reason(tmp_path: Path) -> None:
    from experiments import run_all

    ctx = Context(tmp_path, PROFILES["tiny"], {"machine_id": "m", "code_version": "v"},
                  stream=io.StringIO())
    assert run_all.summary(ctx.log) == "no trial failed or timed out in this run"
    value_row(ctx, "t", {"problem": "broken", "n": 2}, Method("value", "plain"),
              lambda: {"status": "timeout", "error": "time limit of 9 s exceeded"})
    text = run_all.summary(ctx.log)
    assert text.splitlines()[0].startswith("1 trial(s) failed or timed out in this run")
    assert "  t  broken n=2 [value]  timeout: time limit of 9 s exceeded" in text.splitlines()


def test_an_experiment_run_on_its_own_hashes_its_module(tmp_path: Path) -> None:
    """``python -m experiments.suite.peers`` and other direct uses give no versions: the Context
    hashes the suite module itself, so such rows are never reused by other code either."""
    ctx = Context(tmp_path, PROFILES["tiny"], {"machine_id": "m"})
    assert ctx.code_version("memory") == machine.code_version("experiments.suite.memory")
    assert ctx.code_version("no_such_experiment") is None
    assert ctx.store("memory").code_version == ctx.code_version("memory")


# ---- threads reach every process -------------------------------------------------------------------------
def threads_target() -> object:
    """A probe target (runs in the probe subprocess) reporting the thread settings it inherited."""
    import os

    from experiments.memory_probe import ProbeTarget

    info = {"env_" + var: os.environ.get(var) for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS",
                                                          "MKL_NUM_THREADS", machine.SETTING_ENV)}
    info["used"] = machine.blas_runtime()["blas_threads_used"]
    return ProbeTarget(lambda: None, info=info)


def test_pinning_happens_before_numpy_and_reaches_probe_subprocesses() -> None:
    import subprocess
    import sys

    code = ("import sys; import experiments.machine as m; assert 'numpy' not in sys.modules; "
            "m.pin_blas_threads('1'); import numpy; print(m.blas_runtime()['blas_threads_used'])")
    res = subprocess.run([sys.executable, "-c", code], cwd=machine.REPO_ROOT, capture_output=True,
                         text=True, timeout=300, env={k: v for k, v in machine.os.environ.items()
                                                      if k not in machine.THREAD_ENV})
    assert res.returncode == 0, res.stderr  # machine imports no numpy: run_all can pin first
    assert res.stdout.strip() in ("1", "unknown")
    from experiments.memory_probe import run_probe

    machine.pin_blas_threads("1")
    out = run_probe("tests.test_harness_resume:threads_target", {}, timeout_s=300)
    assert out["env_OMP_NUM_THREADS"] == out["env_OPENBLAS_NUM_THREADS"] == "1"
    assert out["env_" + machine.SETTING_ENV] == "1" and out["used"] in ("1", "unknown")
