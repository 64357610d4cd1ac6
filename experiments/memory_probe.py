"""Peak resident memory of one computation, measured with psutil in a fresh subprocess.

Parent side: ``run_probe(setup, params)`` starts ``python -m experiments.memory_probe SPEC`` with the
allocator pinned (``MALLOC_ENV``: glibc otherwise keeps freed temporaries resident, so RSS could read
several times the live bytes; with a fixed mmap threshold every array above it is mmap'd and given
back to the system when freed). It returns the child's JSON result or raises ``ProbeError``
(``subprocess.TimeoutExpired`` on a timeout, the child being killed). The child runs in its own
process group (a terminal's Ctrl-C reaches the parent only, which kills it on the way out) and dies
with its parent even on SIGKILL (``lifeline.die_with_parent``, armed first thing in ``main``).

Child side (``main``): import ``setup`` ("module:function"), call it with ``params``; it returns a
``ProbeTarget``. After set-up the child collects garbage, reads the baseline RSS, starts a thread
that polls ``psutil.Process().memory_info().rss`` about every millisecond, runs ``compute()``,
stops the thread and reports ``peak - baseline``. As a cross-check it also reports the kernel's
high-water mark (VmHWM, reset through /proc/self/clear_refs just before) minus the baseline. Then
``after()`` (if any) adds figures that must not disturb the peak, e.g. the tape's exact bytes.
"""

from __future__ import annotations

import gc
import importlib
import json
import os
import subprocess
import sys
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
    """Child entry point: ``python -m experiments.memory_probe '{"setup": ..., "params": {...}}'``."""
    lifeline.die_with_parent(lifeline.parent_from_env())
    spec = json.loads(argv[0])
    target = _load(spec["setup"])(**spec.get("params", {}))
    result = probe(target)
    print(RESULT_MARK + json.dumps(result), flush=True)
    return 0


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
              env: dict[str, str] | None = None) -> dict[str, Any]:
    """Run one probe in a fresh subprocess (see the module docstring); returns its result dict."""
    spec = json.dumps({"setup": setup, "params": params or {}})
    proc = subprocess.run([sys.executable, "-m", "experiments.memory_probe", spec], cwd=REPO_ROOT,
                          env=child_env(env), capture_output=True, text=True, timeout=timeout_s,
                          process_group=0)
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith(RESULT_MARK)]
    if proc.returncode != 0 or not lines:
        tail = " | ".join(proc.stderr.strip().splitlines()[-3:]) or f"exit status {proc.returncode}"
        raise ProbeError(f"memory probe {setup} failed: {tail}")
    return json.loads(lines[-1][len(RESULT_MARK):])


def self_test(nbytes: int = SELF_TEST_BYTES, timeout_s: float = 60.0) -> dict[str, Any]:
    """Measure a known allocation of ``nbytes`` in a subprocess; adds ``rel_error`` to the result."""
    res = run_probe("experiments.memory_probe:allocation", {"nbytes": nbytes}, timeout_s)
    res["rel_error"] = (res["peak_rss_delta"] - nbytes) / nbytes
    return res


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
