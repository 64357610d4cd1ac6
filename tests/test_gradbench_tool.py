"""The GradBench tool driven through its protocol by a test playing the eval's side: start, define,
evaluate (outputs checked with GradBench's own criterion against independent values), analysis,
an unknown module, a malformed line and an unknown message kind, answered with errors, not crashes.
Also: the method each answer names is the one that ran (particle's and saddle's variants name their
own), ``min_runs: 0`` is accepted, the tape-bytes pass runs only when asked for, and BLAS threads
are pinned to one unless told otherwise, and reported."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from experiments.adbench import MODULES, ba, gmm, hello, ht, kmeans, llsq, lstm, particle, saddle
from experiments.gradbench.protocol import Session, method_used, run_timed
from experiments.adbench.spec import Function

TOOL = Path(__file__).resolve().parents[1] / "experiments" / "gradbench" / "run.py"


def mismatches(expected, actual, path="$"):
    """GradBench's validation: same JSON structure, numbers within
    |x - y| / max(1, |x| + |y|) <= 1e-4 elementwise."""
    if isinstance(expected, dict):
        assert isinstance(actual, dict) and set(actual) == set(expected), f"{path}: keys {actual}"
        return [m for k in expected for m in mismatches(expected[k], actual[k], f"{path}.{k}")]
    if isinstance(expected, list):
        assert isinstance(actual, list) and len(actual) == len(expected), f"{path}: length"
        return [m for i, (e, a) in enumerate(zip(expected, actual)) for m in mismatches(e, a, f"{path}[{i}]")]
    if isinstance(expected, bool) or isinstance(expected, str):
        return [] if expected == actual else [path]
    if abs(expected - actual) / max(1.0, abs(expected) + abs(actual)) > 1e-4:
        return [f"{path}: {expected} != {actual}"]
    return []


class Tool:
    """The tool as a subprocess, started from an unrelated directory."""

    def __init__(self, mode, cwd, *flags, env=None):
        self.proc = subprocess.Popen([sys.executable, str(TOOL), "--mode", mode, *flags], cwd=cwd,
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env)
        self.next_id = 0

    def raw(self, line):
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()
        return json.loads(self.proc.stdout.readline())

    def send(self, message):
        message = {"id": self.next_id} | message
        self.next_id += 1
        response = self.raw(json.dumps(message))
        assert response["id"] == message["id"]
        return response

    def close(self):
        self.proc.stdin.write(json.dumps({"id": self.next_id, "kind": "end"}) + "\n")
        self.proc.stdin.close()
        assert self.proc.wait(timeout=30) == 0
        assert self.proc.stdout.read() == ""  # no response to "end"


def expected_outputs():
    """(module, function, input, expected JSON output) computed in-process, independently of the
    tool's protocol code (gmm, ba and ht Jacobians by their reverse methods; the tool's forward)."""
    cases = []
    raw = llsq.generate(n=9, m=3, seed=1)
    inp = llsq.prepare(raw)  # the gradient of |s - T x|^2 / 2 is T^T (T x - s)
    cases.append(("llsq", "gradient", raw, (inp.T.T @ (inp.T @ inp.x - inp.s)).tolist()))
    raw = gmm.generate(2, 3, 10, seed=2)
    gi = gmm.prepare(raw)
    cases.append(("gmm", "objective", raw, float(gmm.value(gi))))
    cases.append(("gmm", "jacobian", raw, gmm.jacobian_output(gmm.gradient(gi, "reverse"), gi)))
    raw = ba.generate(2, 3, 16, seed=3)
    bi = ba.prepare(raw)
    cases.append(("ba", "jacobian", raw, ba.jacobian_output(ba.jacobian(bi, "reverse"), bi)))
    cases.append(("ba", "objective", raw, ba.objective_output(ba.objective(bi), bi)))
    for comp in (False, True):
        raw = ht.generate(npts=4, complicated=comp, verts=30, seed=4)
        hi = ht.prepare(raw)
        cases.append(("ht", "jacobian", raw, ht.jacobian(hi, "reverse").tolist()))
    raw = kmeans.generate(k=3, n=30, d=2, seed=5)
    cases.append(("kmeans", "dir", raw, kmeans.direction(kmeans.prepare(raw), "reverse").tolist()))
    return cases


@pytest.mark.parametrize("mode", ["forward", "reverse", "auto"])
def test_protocol_session(tmp_path, mode):
    tool = Tool(mode, tmp_path, "--tape-bytes")
    try:
        start = tool.send({"kind": "start", "eval": "hello"})
        assert start["tool"] == "modes" and start["config"]["mode"] == mode
        assert start["config"]["tape_bytes"] is True
        assert tool.send({"kind": "define", "module": "hello"}) == {"id": 1, "success": True}
        r = tool.send({"kind": "evaluate", "module": "hello", "function": "double", "input": 3.0})
        assert r["success"] and r["output"] == 6.0 and len(r["timings"]) == 1
        assert tool.send({"kind": "analysis", "of": 2, "valid": True}) == {"id": 3}
        # repetitions: at least min_runs, and until min_seconds have passed
        r = tool.send({"kind": "evaluate", "module": "hello", "function": "square",
                       "input": {"x": 2.0, "min_runs": 3, "min_seconds": 0}})
        assert r["output"] == 4.0 and len(r["timings"]) == 3
        assert all(t["name"] == "evaluate" and isinstance(t["nanoseconds"], int) for t in r["timings"])
        r = tool.send({"kind": "evaluate", "module": "llsq", "function": "primal",
                       "input": llsq.generate(n=50, m=4) | {"min_runs": 1, "min_seconds": 0.02}})
        assert sum(t["nanoseconds"] for t in r["timings"]) >= 0.02e9
        for module, function, raw, want in expected_outputs():
            assert tool.send({"kind": "define", "module": module})["success"]
            r = tool.send({"kind": "evaluate", "module": module, "function": function,
                           "input": raw | {"min_runs": 1, "min_seconds": 0}})
            assert r["success"], r.get("error")
            assert mismatches(want, r["output"]) == [], (module, function)
            assert isinstance(r["tape_bytes"], int) and r["tape_bytes"] >= 0
            tool.send({"kind": "analysis", "of": r["id"], "valid": True})
        # failures are answered, and the session goes on
        bad = tool.send({"kind": "define", "module": "no_such_eval"})
        assert bad["success"] is False and "no_such_eval" in bad["error"]
        bad = tool.send({"kind": "evaluate", "module": "gmm", "function": "hessian", "input": {}})
        assert bad["success"] is False and "hessian" in bad["error"]
        bad = tool.send({"kind": "evaluate", "module": "llsq", "function": "gradient", "input": {"x": [1.0]}})
        assert bad["success"] is False and "KeyError" in bad["error"]
        assert tool.raw("this is not json {")["success"] is False
        assert tool.raw("[1, 2]")["error"].startswith("expected a JSON object")
        assert tool.send({"kind": "dance"})["success"] is False
        r = tool.send({"kind": "evaluate", "module": "hello", "function": "double", "input": 1.5})
        assert r["output"] == 3.0
    finally:
        tool.close()


def test_mode_decides_the_method():
    for mode, method in (("forward", "forward-chunked-compiled"), ("reverse", "reverse-batched"),
                         ("auto", "forward-chunked-compiled"), ("reverse", "reverse-batched"),
                         ("forward-chunked", "forward-chunked")):
        r = Session(mode, track_tape=False).handle(
            {"id": 0, "kind": "evaluate", "module": "ht", "function": "jacobian",
             "input": ht.generate(npts=2, complicated=False, verts=10)})
        assert r["method"] == method
    message = {"id": 1, "kind": "evaluate", "module": "gmm", "function": "jacobian",
               "input": gmm.generate(2, 2, 5)}
    reverse = Session("reverse", track_tape=True).handle(message)
    forward = Session("forward", track_tape=True).handle(message)
    assert reverse["tape_bytes"] > 0 and forward["tape_bytes"] == 0
    assert reverse["method"] == "reverse-compiled"  # its tape: the interpreted method's, so named
    assert reverse["tape_scope"] == "evaluation of reverse (the interpreted method reverse-compiled replays)"
    assert Session("forward-chunked", track_tape=True).handle(
        {"id": 0, "kind": "evaluate", "module": "ht", "function": "jacobian",
         "input": ht.generate(npts=2, complicated=False, verts=10)})["tape_scope"] == "evaluation"
    primal = Session("reverse").handle({"id": 2, "kind": "evaluate", "module": "gmm", "function": "objective",
                                        "input": gmm.generate(2, 2, 5)})
    assert primal["method"] == "none"  # differentiates nothing
    with pytest.raises(ValueError, match="unknown mode"):
        Session("sideways")


@pytest.mark.parametrize("module", [particle, saddle])
@pytest.mark.parametrize("mode", ["forward", "reverse", "auto"])
def test_particle_and_saddle_report_the_variant_that_ran(monkeypatch, module, mode):
    """The eval names the variant (``ff`` ... ``rr``: outer then inner mode); that variant runs,
    by its best method (``BEST[variant]``, e.g. ``rr-compiled``), and the answer names that method,
    whatever the tool's mode (it used to name the mode's default, ``rr`` or ``ff``, for all four).
    The full descents take minutes, so ``solve`` is replaced by a stub that records the method it
    is asked for (``build``, the compiling, by one that does nothing)."""
    ran = []
    monkeypatch.setattr(module, "solve", lambda start, method: ran.append(method) or 0.0)
    monkeypatch.setattr(module, "_programs" if module is saddle else "_program", lambda *a: None)
    raw = {"w": 0.0} if module is particle else {"start": [1.0, 1.0]}
    session = Session(mode)
    for variant in module.VARIANTS:
        best = module.BEST[variant]
        assert best in (variant, variant + "-compiled")
        assert method_used(module, variant, module.FUNCTIONS[variant], mode) == best
        r = session.handle({"id": 0, "kind": "evaluate", "module": module.NAME, "function": variant,
                            "input": raw})
        assert r["success"], r.get("error")
        assert r["method"] == best and ran[-1] == best
        assert "tape_bytes" not in r  # no extra pass unless asked for
    assert ran == [module.BEST[v] for v in module.VARIANTS]


def test_method_used_for_every_module_and_mode():
    for name, module in MODULES.items():
        for function, fn in module.FUNCTIONS.items():
            for mode in ("forward", "reverse", "auto"):
                method = method_used(module, function, fn, mode)
                if not fn.derivative:
                    assert method == "none", (name, function)
                else:
                    assert method in module.METHODS, (name, function, mode)
                    if function not in module.METHODS:
                        assert method == module.BEST[mode]


def test_run_timed_counts_runs_and_seconds():
    calls = []
    fn = Function(lambda raw: raw, lambda inp, method: calls.append(inp) or len(calls))
    result, times = run_timed(fn, 7, "-", min_runs=4, min_seconds=0)
    assert result == 4 and len(times) == 4
    # min_runs 0: accepted; the output still needs one run, which is timed and reported
    result, times = run_timed(fn, 7, "-", min_runs=0, min_seconds=0)
    assert result == 5 and len(times) == 1
    with pytest.raises(ValueError, match="min_runs"):
        run_timed(fn, 7, "-", min_runs=-1, min_seconds=0)
    with pytest.raises(ValueError, match="min_seconds"):
        run_timed(fn, 7, "-", min_runs=1, min_seconds=-1.0)


def test_min_runs_zero_through_the_protocol():
    r = Session("reverse").handle({"id": 5, "kind": "evaluate", "module": "hello", "function": "double",
                                   "input": {"x": 2.5, "min_runs": 0, "min_seconds": 0}})
    assert r["success"] and r["output"] == 5.0 and len(r["timings"]) == 1
    bad = Session("reverse").handle({"id": 6, "kind": "evaluate", "module": "hello", "function": "double",
                                     "input": {"x": 2.5, "min_runs": -2}})
    assert bad["success"] is False and "min_runs" in bad["error"]


def test_build_is_timed_apart_as_prepare(monkeypatch):
    """A function's ``build`` (compiling a method) runs once, before the timed runs, and its time
    comes first in ``timings`` as ``prepare``; nothing is reported when it builds nothing."""
    calls = []
    fn = hello.FUNCTIONS["double"]

    def build(x, method):
        calls.append(("build", method))
        return method == "reverse"

    monkeypatch.setitem(hello.FUNCTIONS, "double", Function(
        fn.prepare, lambda x, m: calls.append(("run", m)) or 2 * x, derivative=True, build=build))
    monkeypatch.setattr(hello, "BEST", {"forward": "forward", "reverse": "reverse", "auto": "reverse"})
    message = {"id": 0, "kind": "evaluate", "module": "hello", "function": "double",
               "input": {"x": 1.5, "min_runs": 3}}
    r = Session("reverse").handle(message)
    assert r["success"] and r["output"] == 3.0
    assert [t["name"] for t in r["timings"]] == ["prepare", "evaluate", "evaluate", "evaluate"]
    assert calls == [("build", "reverse")] + [("run", "reverse")] * 3
    calls.clear()
    r = Session("forward").handle(message)
    assert [t["name"] for t in r["timings"]] == ["evaluate"] * 3
    assert calls == [("build", "forward")] + [("run", "forward")] * 3


def test_compiled_method_through_the_protocol():
    raw = lstm.generate(1, 4, b=3)
    lstm.PROGRAMS.clear()
    r = Session("reverse-compiled").handle({"id": 0, "kind": "evaluate", "module": "lstm",
                                            "function": "jacobian", "input": raw | {"min_runs": 2}})
    assert r["success"] and r["method"] == "reverse-compiled"
    assert [t["name"] for t in r["timings"]] == ["prepare", "evaluate", "evaluate"]
    np.testing.assert_allclose(r["output"], lstm.gradient(lstm.prepare(raw), "reverse"), rtol=1e-10)
    r = Session("forward").handle({"id": 1, "kind": "evaluate", "module": "lstm",
                                   "function": "jacobian", "input": raw})
    assert r["method"] == "forward" and [t["name"] for t in r["timings"]] == ["evaluate"]


def test_tape_pass_only_when_asked(monkeypatch):
    """Without ``--tape-bytes`` no evaluation runs a second time (nor reports tape bytes)."""
    runs = []
    fn = hello.FUNCTIONS["double"]
    monkeypatch.setitem(hello.FUNCTIONS, "double", Function(fn.prepare, lambda x, m: runs.append(1) or 2 * x,
                                                            derivative=fn.derivative))
    message = {"id": 0, "kind": "evaluate", "module": "hello", "function": "double",
               "input": {"x": 1.0, "min_runs": 3}}
    r = Session("reverse").handle(message)
    assert len(runs) == 3 and "tape_bytes" not in r
    runs.clear()
    r = Session("reverse", track_tape=True).handle(message)
    assert len(runs) == 4 and r["tape_bytes"] == 0  # three timed runs, one untimed tape pass


@pytest.mark.parametrize("flags, setting, used", [((), "1", "1"), (("--blas-threads", "2"), "2", "2"),
                                                   (("--blas-threads", "default"), "default", None)])
def test_blas_threads_pinned_before_numpy_and_reported(tmp_path, flags, setting, used):
    env = {k: v for k, v in os.environ.items()
           if k not in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "MODES_BLAS_THREADS")}
    tool = Tool("reverse", tmp_path, *flags, env=env)
    try:
        config = tool.send({"kind": "start", "eval": "hello"})["config"]
        assert config["blas_threads"] == setting and config["tape_bytes"] is False
        if used is not None:
            assert config["blas_threads_used"] == used  # what the loaded BLAS itself reports
        else:  # the library's own default: one thread per core here, or what it cannot tell
            assert config["blas_threads_used"] == "unknown" or int(config["blas_threads_used"]) >= 1
        r = tool.send({"kind": "evaluate", "module": "hello", "function": "double", "input": 2.0})
        assert r["output"] == 4.0 and "tape_bytes" not in r
    finally:
        tool.close()


def test_bad_blas_threads_rejected(tmp_path):
    res = subprocess.run([sys.executable, str(TOOL), "--blas-threads", "0"], cwd=tmp_path,
                         capture_output=True, text=True, input="", timeout=120)
    assert res.returncode == 2 and "at least 1" in res.stderr
