"""The memory probe: a known 200 MB allocation is measured within 10%, in a fresh process (forked by
the probe server, or a new interpreter); the server survives noisy, crashing and stuck probes and
dies with its parent, its probe with it."""

from __future__ import annotations

import os

import pytest

from experiments import memory_probe


def test_self_test_200mb_within_10_percent() -> None:
    res = memory_probe.self_test()
    assert abs(res["rel_error"]) <= 0.10, res
    assert res["samples"] >= 5  # the sampling thread really polled
    assert res["baseline_rss"] > 0
    # the allocator setting is pinned in the subprocess
    assert res["malloc_env"] == memory_probe.MALLOC_ENV
    assert os.getpid()  # measured in a child, not here


def test_probe_failure_is_reported() -> None:
    with pytest.raises(memory_probe.ProbeError, match="memory probe"):
        memory_probe.run_probe("experiments.memory_probe:no_such_target", {}, timeout_s=60)


def test_probe_timeout_kills_child() -> None:
    with pytest.raises(memory_probe.subprocess.TimeoutExpired):
        memory_probe.run_probe("experiments.memory_probe:allocation",
                               {"nbytes": 8, "hold_s": 30.0}, timeout_s=2.0)


# ---- the probe server: a fork per probe ------------------------------------------------------------------
def noisy_target() -> memory_probe.ProbeTarget:
    """Prints to stdout and stderr (the server's stdout is its answer channel)."""
    print("chatter on stdout " * 100)
    print("chatter on stderr", file=__import__("sys").stderr)
    return memory_probe.allocation(8, 0.0)


def crashing_target(how: str) -> memory_probe.ProbeTarget:
    if how == "exit":
        os._exit(7)
    raise ValueError("no such input")


def test_server_and_fresh_interpreter_agree() -> None:
    served, fresh = memory_probe.self_test(), memory_probe.self_test(fresh=True)
    for res in (served, fresh):
        assert abs(res["rel_error"]) <= 0.10, res
        assert res["malloc_env"] == memory_probe.MALLOC_ENV
    server = memory_probe.server()
    assert server.alive() and server.proc.pid != os.getpid()


def test_server_survives_noise_crashes_and_timeouts() -> None:
    res = memory_probe.run_probe("tests.test_harness_memory:noisy_target", {}, timeout_s=120)
    assert res["peak_rss_delta"] >= 0  # the printing did not corrupt the answer
    with pytest.raises(memory_probe.ProbeError, match="exit status 7"):
        memory_probe.run_probe("tests.test_harness_memory:crashing_target", {"how": "exit"}, timeout_s=120)
    with pytest.raises(memory_probe.ProbeError, match="ValueError: no such input"):
        memory_probe.run_probe("tests.test_harness_memory:crashing_target", {"how": "raise"}, timeout_s=120)
    pid = memory_probe.server().proc.pid
    with pytest.raises(memory_probe.subprocess.TimeoutExpired):
        memory_probe.run_probe("experiments.memory_probe:allocation", {"nbytes": 8, "hold_s": 30.0},
                               timeout_s=1.0)
    assert memory_probe.server().proc.pid == pid  # the same server goes on
    assert memory_probe.run_probe("experiments.memory_probe:allocation", {"nbytes": 8, "hold_s": 0.0},
                                  timeout_s=120)["theory_bytes"] == 8


def test_server_restarted_when_it_died_or_the_environment_changed(monkeypatch: pytest.MonkeyPatch) -> None:
    first = memory_probe.server()
    first.proc.kill()
    first.proc.wait()
    second = memory_probe.server()
    assert second is not first and second.alive()
    monkeypatch.setenv("MODES_PROBE_TEST_SETTING", "changed")  # e.g. another thread setting
    third = memory_probe.server()
    assert third is not second and third.env["MODES_PROBE_TEST_SETTING"] == "changed"
    monkeypatch.delenv("MODES_PROBE_TEST_SETTING")
    assert memory_probe.run_probe("experiments.memory_probe:allocation", {"nbytes": 8, "hold_s": 0.0},
                                  timeout_s=120)["theory_bytes"] == 8


LONG_PROBE_PARENT = """
from experiments import memory_probe
memory_probe.run_probe("experiments.memory_probe:allocation", {"nbytes": 8, "hold_s": 120.0}, 300.0)
"""


def test_server_and_its_probe_die_with_the_parent() -> None:
    import signal
    import subprocess
    import sys
    import time

    import psutil

    parent = subprocess.Popen([sys.executable, "-c", LONG_PROBE_PARENT], cwd=memory_probe.REPO_ROOT)
    proc = psutil.Process(parent.pid)
    end = time.monotonic() + 120
    kids: list[psutil.Process] = []
    while time.monotonic() < end and len(kids) < 2:  # the server and the probe it forked
        kids = proc.children(recursive=True)
        time.sleep(0.1)
    assert len(kids) >= 2, kids
    parent.send_signal(signal.SIGKILL)
    parent.wait(timeout=60)
    gone, alive = psutil.wait_procs(kids, timeout=60)
    for p in alive:
        p.kill()
    assert not alive, [p.pid for p in alive]
