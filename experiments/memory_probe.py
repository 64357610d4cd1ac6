"""Peak resident memory of one computation, measured with psutil in a fresh process.

Parent side: ``run_probe(setup, params)`` runs one probe in a fresh process and returns its JSON
result, or raises ``ProbeError`` (``subprocess.TimeoutExpired`` on a timeout, the process being
killed). The fresh process is forked by a *probe server* (``ProbeServer``: ``python -m
experiments.memory_probe --serve``, started once per run with the allocator pinned and numpy,
psutil and ``modes`` imported): each probe costs a fork, not a Python start-up (1.5-4 s on 2 loaded
cores). ``MALLOC_ENV`` pins the allocator: glibc otherwise keeps freed temporaries resident, so RSS
could read several times the live bytes; with a fixed mmap threshold every array above it is
mmap'd and given back to the system when freed. The forked probe starts from the server's clean
state (imports done, nothing measured yet); its baseline is read after its own set-up, so what it
inherited is not counted. ``run_probe(..., fresh=True)`` (or extra ``env``) starts a new
interpreter instead, as every probe did before the server. Every probe process runs in its own
process group (a terminal's Ctrl-C reaches the parent only, which kills it on the way out) and
dies with its parent even on SIGKILL (``lifeline.die_with_parent``: the probe follows the server,
the server the run).

Child side (``probe``): import ``setup`` ("module:function"), call it with ``params``; it returns
a ``ProbeTarget``. After set-up the child collects garbage, reads the baseline RSS, starts a thread
that polls ``psutil.Process().memory_info().rss`` about every millisecond, runs ``compute()``,
stops the thread and reports ``peak - baseline``. As a cross-check it also reports the kernel's
high-water mark (VmHWM, reset through /proc/self/clear_refs just before) minus the baseline. Then
``after()`` (if any) adds figures that must not disturb the peak, e.g. the tape's exact bytes.
"""

from __future__ import annotations

import atexit
import gc
import importlib
import json
import os
import select
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil

from . import lifeline

REPO_ROOT = Path(__file__).resolve().parent.parent
# Pinned in every trial subprocess; stated in the report. 64 KiB: a float64 array of 8192 or more
# entries is mmap'd, so it is returned to the system as soon as it is freed.
MALLOC_ENV: dict[str, str] = {"MALLOC_MMAP_THRESHOLD_": "65536"}
SAMPLE_INTERVAL_S = 0.001
RESULT_MARK = "MEMORY_PROBE_RESULT "
SELF_TEST_BYTES = 200_000_000


class ProbeError(RuntimeError):
    """The probe subprocess failed; the message carries the end of its stderr."""


@dataclass
class ProbeTarget:
    """What a probe measures: ``compute()`` (its peak is measured), then ``after()`` -> extra fields."""

    compute: Callable[[], Any]
    after: Callable[[], dict[str, Any]] | None = None
    info: dict[str, Any] = field(default_factory=dict)


class RssSampler(threading.Thread):
    """Polls this process's RSS every ``interval`` seconds and keeps the maximum."""

    def __init__(self, interval: float = SAMPLE_INTERVAL_S) -> None:
        super().__init__(daemon=True)
        self.interval = interval
        self.proc = psutil.Process()
        self.peak = self.proc.memory_info().rss
        self.samples = 0
        self._halt = threading.Event()

    def run(self) -> None:
        while not self._halt.is_set():
            rss = self.proc.memory_info().rss
            if rss > self.peak:
                self.peak = rss
            self.samples += 1
            self._halt.wait(self.interval)

    def stop(self) -> int:
        """Stop polling; returns the peak RSS seen (including one final reading)."""
        self._halt.set()
        self.join()
        self.peak = max(self.peak, self.proc.memory_info().rss)
        return self.peak


def _vm_hwm() -> int | None:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def _reset_hwm() -> bool:
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def probe(target: ProbeTarget) -> dict[str, Any]:
    """Measure ``target`` in this process (the child side; see the module docstring)."""
    gc.collect()
    proc = psutil.Process()
    baseline = proc.memory_info().rss
    hwm_ok = _reset_hwm()
    old_switch = sys.getswitchinterval()
    sys.setswitchinterval(SAMPLE_INTERVAL_S / 2)  # let the sampler get the GIL about every 0.5 ms
    sampler = RssSampler()
    sampler.start()
    start = time.perf_counter()
    try:
        result = target.compute()
    finally:
        seconds = time.perf_counter() - start
        peak = sampler.stop()
        sys.setswitchinterval(old_switch)
    hwm = _vm_hwm() if hwm_ok else None
    del result
    out: dict[str, Any] = {
        "baseline_rss": baseline,
        "peak_rss": peak,
        "peak_rss_delta": peak - baseline,
        "peak_hwm_delta": (hwm - baseline) if hwm is not None else None,
        "samples": sampler.samples,
        "compute_s": seconds,
        "malloc_env": {k: os.environ.get(k, "") for k in MALLOC_ENV},
        **target.info,
    }
    if target.after is not None:
        out.update(target.after())
    return out


def allocation(nbytes: int = SELF_TEST_BYTES, hold_s: float = 0.05) -> ProbeTarget:
    """The self-test target: allocate and touch ``nbytes`` (float64 ones), hold, free."""
    import numpy as np

    def compute() -> None:
        block = np.ones(int(nbytes) // 8)
        time.sleep(hold_s)
        del block

    return ProbeTarget(compute, info={"theory_bytes": int(nbytes)})


def _load(setup: str) -> Callable[..., ProbeTarget]:
    module, _, name = setup.partition(":")
    return getattr(importlib.import_module(module), name)


def main(argv: list[str]) -> int:
    """Child entry points: ``python -m experiments.memory_probe '{"setup": ..., "params": {...}}'``
    (one probe in this interpreter) or ``python -m experiments.memory_probe --serve`` (the server)."""
    lifeline.die_with_parent(lifeline.parent_from_env())
    if argv and argv[0] == "--serve":
        return serve()
    spec = json.loads(argv[0])
    target = _load(spec["setup"])(**spec.get("params", {}))
    result = probe(target)
    print(RESULT_MARK + json.dumps(result), flush=True)
    return 0


# ---- the probe server: a fork per probe ------------------------------------------------------------
PRELOAD = ("numpy", "psutil", "modes")  # what every probe imports anyway


def serve(stdin: Any = None, stdout: Any = None) -> int:
    """The server loop: per request line ``{"setup", "params", "result", "stderr"}`` fork a probe
    process, answer ``{"pid"}``, wait for it, answer ``{"pid", "exit"}`` (its exit status, or
    ``-signal``). The probe writes its result (JSON) to the file ``result`` and its stderr to the
    file ``stderr``. Ends when its input ends."""
    stdin = stdin or sys.stdin
    stdout = stdout or sys.stdout
    for name in PRELOAD:
        try:
            importlib.import_module(name)
        except Exception:  # noqa: BLE001 - a probe that needs it will report the error itself
            pass
    gc.collect()
    server = os.getpid()
    for line in stdin:
        if not line.strip():
            continue
        spec = json.loads(line)
        for stream in (sys.stdout, sys.stderr):
            stream.flush()
        pid = os.fork()
        if pid == 0:
            _probe_child(spec, server)
        stdout.write(json.dumps({"pid": pid}) + "\n")
        stdout.flush()
        _, status = os.waitpid(pid, 0)
        code = -os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.waitstatus_to_exitcode(status)
        stdout.write(json.dumps({"pid": pid, "exit": code}) + "\n")
        stdout.flush()
    return 0


def _probe_child(spec: dict[str, Any], server: int) -> None:
    """The forked probe: its own process group, dies with the server, then one probe; never returns."""
    code = 1
    try:
        lifeline.detach_forked_child(server)
        err = os.open(spec["stderr"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        for fd in (1, 2):  # the server's stdout is its answer channel: nothing else may reach it
            os.dup2(err, fd)
        os.close(err)
        sys.stdout = open(1, "w", closefd=False)  # noqa: SIM115 - this process ends below
        sys.stderr = open(2, "w", closefd=False)  # noqa: SIM115
        target = _load(spec["setup"])(**spec.get("params", {}))
        result = probe(target)
        with open(spec["result"], "w") as fh:
            json.dump(result, fh)
        code = 0
    except BaseException:  # noqa: BLE001 - reported through the stderr file and the exit status
        import traceback

        traceback.print_exc()
    finally:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            os._exit(code)


class ProbeServer:
    """The parent's handle on one probe server (see the module docstring)."""

    START_TIMEOUT_S = 300.0  # importing numpy and modes on a loaded machine

    def __init__(self) -> None:
        self.env = child_env()
        self.proc = subprocess.Popen([sys.executable, "-m", "experiments.memory_probe", "--serve"],
                                     cwd=REPO_ROOT, env=self.env, stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True, process_group=0)
        self.dir = tempfile.mkdtemp(prefix="modes-probe-")

    def alive(self) -> bool:
        return self.proc.poll() is None

    def close(self) -> None:
        """End the server now (a probe it is running dies with it: ``die_with_parent``)."""
        if self.alive():
            self.proc.kill()
        self.proc.wait()
        for stream in (self.proc.stdin, self.proc.stdout):
            if stream is not None:
                try:
                    stream.close()
                except OSError:
                    pass
        for name in os.listdir(self.dir) if os.path.isdir(self.dir) else []:
            os.unlink(os.path.join(self.dir, name))
        if os.path.isdir(self.dir):
            os.rmdir(self.dir)

    def _answer(self, deadline: float) -> dict[str, Any] | None:
        """The server's next answer line, or None at the deadline."""
        out = self.proc.stdout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            ready, _, _ = select.select([out], [], [], left)  # type: ignore[list-item]
            if ready:
                line = out.readline()  # type: ignore[union-attr]
                if not line:
                    raise ProbeError(f"the memory probe server ended (exit status {self.proc.wait()})")
                return json.loads(line)

    def run(self, setup: str, params: dict[str, Any], timeout_s: float) -> dict[str, Any]:
        result = os.path.join(self.dir, "result.json")
        stderr = os.path.join(self.dir, "stderr.txt")
        for path in (result, stderr):
            if os.path.exists(path):
                os.unlink(path)
        spec = {"setup": setup, "params": params, "result": result, "stderr": stderr}
        try:
            self.proc.stdin.write(json.dumps(spec) + "\n")  # type: ignore[union-attr]
            self.proc.stdin.flush()  # type: ignore[union-attr]
        except OSError as exc:
            raise ProbeError(f"the memory probe server is gone ({exc})") from None
        started = self._answer(time.monotonic() + self.START_TIMEOUT_S)
        if started is None:
            raise ProbeError("the memory probe server did not start a probe")
        pid, done = int(started["pid"]), None
        try:
            done = self._answer(time.monotonic() + timeout_s)
        finally:
            if done is None:  # timed out, or the parent was interrupted: kill the probe
                _kill_group(pid)
                self._answer(time.monotonic() + 30.0)  # the server reaps it and says so
        if done is None:
            raise subprocess.TimeoutExpired(f"memory probe {setup}", timeout_s)
        if done["exit"] != 0 or not os.path.exists(result):
            tail = _tail(stderr) or f"exit status {done['exit']}"
            raise ProbeError(f"memory probe {setup} failed: {tail}")
        with open(result) as fh:
            return json.load(fh)  # type: ignore[no-any-return]


def _kill_group(pid: int) -> None:
    for kill in (lambda: os.killpg(pid, signal.SIGKILL), lambda: os.kill(pid, signal.SIGKILL)):
        try:
            kill()
            return
        except (ProcessLookupError, PermissionError):
            continue


def _tail(path: str, lines: int = 3) -> str:
    try:
        with open(path, errors="replace") as fh:
            return " | ".join(fh.read().strip().splitlines()[-lines:])
    except OSError:
        return ""


_SERVER: ProbeServer | None = None


def server() -> ProbeServer:
    """This process's probe server, started on first use (again if it ended, or if the environment
    it was started with changed: a thread or allocator setting must reach the probes)."""
    global _SERVER
    if _SERVER is not None and (not _SERVER.alive() or _SERVER.env != child_env()):
        _SERVER.close()
        _SERVER = None
    if _SERVER is None:
        _SERVER = ProbeServer()
    return _SERVER


@atexit.register
def _close_server() -> None:
    if _SERVER is not None:
        _SERVER.close()


def child_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The environment of a probe subprocess: ours, with the repo importable and ``MALLOC_ENV``."""
    env = dict(os.environ)
    env.update(MALLOC_ENV)
    env["PYTHONPATH"] = os.pathsep.join([str(REPO_ROOT)] + [p for p in [env.get("PYTHONPATH")] if p])
    env[lifeline.PARENT_ENV] = str(os.getpid())
    if extra:
        env.update(extra)
    return env


def run_probe(setup: str, params: dict[str, Any] | None = None, timeout_s: float = 120.0,
              env: dict[str, str] | None = None, fresh: bool = False) -> dict[str, Any]:
    """Run one probe in a fresh process (see the module docstring); returns its result dict.

    The process is forked by the probe server unless ``fresh`` or ``env`` (extra environment
    variables) asks for a new interpreter. ``timeout_s`` bounds the probe (import, set-up, compute).
    """
    if not fresh and env is None and hasattr(os, "fork"):
        return server().run(setup, dict(params or {}), timeout_s)
    spec = json.dumps({"setup": setup, "params": params or {}})
    proc = subprocess.run([sys.executable, "-m", "experiments.memory_probe", spec], cwd=REPO_ROOT,
                          env=child_env(env), capture_output=True, text=True, timeout=timeout_s,
                          process_group=0)
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith(RESULT_MARK)]
    if proc.returncode != 0 or not lines:
        tail = " | ".join(proc.stderr.strip().splitlines()[-3:]) or f"exit status {proc.returncode}"
        raise ProbeError(f"memory probe {setup} failed: {tail}")
    return json.loads(lines[-1][len(RESULT_MARK):])


def self_test(nbytes: int = SELF_TEST_BYTES, timeout_s: float = 60.0, fresh: bool = False) -> dict[str, Any]:
    """Measure a known allocation of ``nbytes`` in a probe process; adds ``rel_error`` to the result."""
    res = run_probe("experiments.memory_probe:allocation", {"nbytes": nbytes}, timeout_s, fresh=fresh)
    res["rel_error"] = (res["peak_rss_delta"] - nbytes) / nbytes
    return res


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
