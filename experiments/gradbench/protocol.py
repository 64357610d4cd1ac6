"""The GradBench protocol, tool side: one JSON object per line in, one response per line out.

Messages (each has an ``id``; the response echoes it):

* ``start`` -> ``{"id", "tool": "modes", "config": {"mode", "blas_threads", "blas_threads_used"}}``
  (the BLAS thread setting, pinned to 1 by ``run.py`` unless told otherwise, and the threads the
  loaded BLAS reports);
* ``define`` (``module``) -> ``{"id", "success": true}``, or ``success: false`` with an ``error``
  for a module this tool does not implement;
* ``evaluate`` (``module``, ``function``, ``input``) -> ``{"id", "success": true, "output",
  "timings": [{"name": "evaluate", "nanoseconds"}, ...]}``: the function is run at least
  ``input.min_runs`` times (or ``runs``; default 1; 0 is accepted: the output still takes one run,
  which is timed) and until ``input.min_seconds`` (default 0) have passed, one timing per run;
  reading the JSON input and writing the output are outside the timed region. A compiled method
  (``...-compiled``) is compiled for the input first, outside the ``evaluate`` timings: that time
  comes first in ``timings`` as ``{"name": "prepare", "nanoseconds"}`` (as GradBench's C++ tools
  report their own set-up; about 0 when an earlier evaluation compiled the same shapes). Extra
  fields: ``method`` (the derivative method actually run: the tool mode's best method for the
  module, or, for a function that names its own variant, as particle's and saddle's ``ff``/``fr``/
  ``rf``/``rr`` do, that variant's best method, or the variant's method the tool's mode names, e.g.
  ``rr-compiled``; ``none`` for a function that differentiates nothing) and, only when the session
  tracks tapes (``run.py --tape-bytes``), ``tape_bytes`` (peak residual bytes held by reverse-mode
  tapes, from ``modes.memory.track()`` over one extra untimed run, or a representative part of it,
  of the interpreted method for a compiled one: ``tape_scope``). Failures answer ``success: false``
  with ``error``;
* ``analysis`` -> ``{"id"}``; ``end`` -> no response, the session ends.

A line that is not a JSON object, or a message of unknown kind, gets ``{"id": <id or null>,
"success": false, "error": ...}``; the session goes on.
"""

from __future__ import annotations

import json
import time
import traceback
from collections.abc import Iterable, Mapping
from typing import IO, Any

from types import ModuleType

import modes
from experiments import machine
from experiments.adbench import MODULES
from experiments.adbench.compiled import base
from experiments.adbench.spec import TOOL_MODES, Function, method_for, variant_method

TOOL = "modes"


def run_timed(fn: Function, prepared: Any, method: str, min_runs: int,
              min_seconds: float) -> tuple[Any, list[int]]:
    """Run ``fn`` at least ``min_runs`` times (at least once: the output needs a result) and until
    ``min_seconds`` have passed (summed run times); returns the last result and every run's
    nanoseconds."""
    if min_runs < 0:
        raise ValueError(f"min_runs must be a whole number >= 0, got {min_runs}")
    if not min_seconds >= 0:
        raise ValueError(f"min_seconds must be >= 0, got {min_seconds}")
    times: list[int] = []
    elapsed = 0
    result = None
    while len(times) < max(1, min_runs) or elapsed < min_seconds * 1e9:
        start = time.perf_counter_ns()
        result = fn.run(prepared, method)
        took = time.perf_counter_ns() - start
        times.append(took)
        elapsed += took
    return result, times


def tape_peak(fn: Function, prepared: Any, method: str) -> tuple[int, str]:
    """(peak tape bytes, scope) of one untimed run (or of ``fn.tape_probe``). A compiled method
    keeps its residuals in its own registers and buffer, which ``modes.memory`` does not see: its
    answer is the tape of the interpreted method it replays, and the scope says so."""
    probe = fn.tape_probe or fn.run
    interpreted = base(method)
    with modes.memory.track() as meter:
        probe(prepared, interpreted)
    scope = "evaluation" if fn.tape_probe is None else "one outer gradient"
    if interpreted != method:
        scope += f" of {interpreted} (the interpreted method {method} replays)"
    return int(meter.peak_bytes), scope


def method_used(module: ModuleType, function: str, fn: Function, mode: str) -> str:
    """The method ``fn`` (``module.FUNCTIONS[function]``) really runs under the tool mode ``mode``.

    A function named after one of its module's methods runs that variant whatever the mode
    (particle's and saddle's ``ff``, ``fr``, ``rf``, ``rr``: the eval names the variant), by the
    variant's best method, or by the variant's method the mode names (``variant_method``); other
    derivatives run the mode's method (``method_for``); a primal runs none.
    """
    if not fn.derivative:
        return "none"
    if function in module.METHODS:
        return variant_method(module, function, mode)
    return method_for(module, mode)


def prepare_timed(fn: Function, prepared: Any, method: str) -> list[dict[str, Any]]:
    """``fn.build`` for ``method`` (compiling it), timed: ``[{"name": "prepare", ...}]``, or no
    timing when there is nothing to build."""
    if fn.build is None or method == "none":
        return []
    start = time.perf_counter_ns()
    built = fn.build(prepared, method)
    took = time.perf_counter_ns() - start
    return [{"name": "prepare", "nanoseconds": took}] if built else []


class Session:
    """One tool session; ``mode`` is ``forward``, ``reverse``, ``auto`` or a method name.

    ``track_tape``: also measure the peak tape bytes of each evaluation (one extra untimed run).
    """

    def __init__(self, mode: str = "auto", track_tape: bool = False) -> None:
        if mode not in TOOL_MODES and not any(mode in m.METHODS for m in MODULES.values()):
            # a method name is accepted when some module has it (e.g. "forward-chunked")
            raise ValueError(f"unknown mode {mode!r}: use one of {', '.join(TOOL_MODES)}")
        self.mode = mode
        self.track_tape = track_tape
        self.defined: set[str] = set()
        self.done = False

    def handle_line(self, line: str) -> str | None:
        """The response line to one input line (None for ``end`` and blank lines)."""
        if not line.strip():
            return None
        try:
            message = json.loads(line)
        except json.JSONDecodeError as exc:
            return json.dumps({"id": None, "success": False, "error": f"malformed JSON: {exc}"})
        if not isinstance(message, dict):
            return json.dumps({"id": None, "success": False,
                               "error": f"expected a JSON object, got {type(message).__name__}"})
        response = self.handle(message)
        return None if response is None else json.dumps(response)

    def handle(self, message: Mapping[str, Any]) -> dict[str, Any] | None:
        """The response to one message (None for ``end``)."""
        mid = message.get("id")
        kind = message.get("kind")
        try:
            if kind == "start":
                threads = machine.blas_runtime()["blas_threads_used"]
                return {"id": mid, "tool": TOOL,
                        "config": {"mode": self.mode, "blas_threads": machine.blas_threads_setting(),
                                   "blas_threads_used": threads, "tape_bytes": self.track_tape}}
            if kind == "define":
                return self._define(mid, message)
            if kind == "evaluate":
                return self._evaluate(mid, message)
            if kind == "analysis":
                return {"id": mid}
            if kind == "end":
                self.done = True
                return None
            return {"id": mid, "success": False, "error": f"unknown message kind {kind!r}"}
        except Exception as exc:  # noqa: BLE001 - every failure is answered, never a crash
            return {"id": mid, "success": False,
                    "error": f"{type(exc).__name__}: {exc}\n{traceback.format_exc(limit=3)}"}

    def _define(self, mid: Any, message: Mapping[str, Any]) -> dict[str, Any]:
        name = message.get("module")
        if name not in MODULES:
            return {"id": mid, "success": False,
                    "error": f"module {name!r} is not implemented by {TOOL}; available: "
                             f"{', '.join(MODULES)}"}
        self.defined.add(name)
        return {"id": mid, "success": True}

    def _evaluate(self, mid: Any, message: Mapping[str, Any]) -> dict[str, Any]:
        name, function = message.get("module"), message.get("function")
        module = MODULES.get(name)  # type: ignore[arg-type]
        if module is None:
            return {"id": mid, "success": False, "error": f"unknown module {name!r}"}
        fn = module.FUNCTIONS.get(function)
        if fn is None:
            return {"id": mid, "success": False,
                    "error": f"module {name!r} has no function {function!r}; available: "
                             f"{', '.join(module.FUNCTIONS)}"}
        raw = message.get("input")
        opts = raw if isinstance(raw, Mapping) else {}
        min_runs = int(opts.get("min_runs", opts.get("runs", 1)))
        min_seconds = float(opts.get("min_seconds", 0.0))
        method = method_used(module, function, fn, self.mode)
        prepared = fn.prepare(raw)
        timings = prepare_timed(fn, prepared, method)
        result, times = run_timed(fn, prepared, method, min_runs, min_seconds)
        timings += [{"name": "evaluate", "nanoseconds": t} for t in times]
        response = {"id": mid, "success": True, "output": fn.output(result, prepared),
                    "timings": timings, "method": method}
        if self.track_tape:
            response["tape_bytes"], response["tape_scope"] = tape_peak(fn, prepared, method)
        return response


def serve(lines: Iterable[str], out: IO[str], mode: str = "auto", track_tape: bool = False) -> None:
    """Answer every line of ``lines`` on ``out`` (flushed per line) until ``end`` or the input ends."""
    session = Session(mode, track_tape)
    for line in lines:
        response = session.handle_line(line)
        if response is not None:
            out.write(response + "\n")
            out.flush()
        if session.done:
            break
