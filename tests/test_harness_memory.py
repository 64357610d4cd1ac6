"""The memory probe: a known 200 MB allocation is measured within 10%, in a fresh subprocess."""

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
