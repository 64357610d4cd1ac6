"""The checkpointing comparison of the ``peers`` experiment: each tool's own checkpointing.

The map of ``experiments/suite/checkpointing.py``, x -> tanh(x)*0.9 + 0.1*x, for s steps on an
n-vector, loss sum(x_s^2) (``workloads.tanh_map``). Per tool that has checkpointing (``modes.checkpoint``,
``autograd.checkpoint``, ``jax.checkpoint``, ``torch.utils.checkpoint``): ``<tool>:plain`` (the
gradient through the plain tape) and ``<tool>:blocks`` (each block of ``workloads.BLOCK`` steps
checkpointed). Per cell: one timing group (plain numpy f and every gradient interleaved, each checked
against modes' plain-tape gradient) and, if asked, a memory trial per tool and schedule (peak RSS
above baseline in a fresh subprocess, beside ``checkpointing.theory_bytes``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..memory_probe import ProbeTarget
from ..peers import base, workloads
from ..peers.base import Peer
from ..peers.trial import Entry, bound, timed_group
from ..runner import Context, Method, memory_trial
from .checkpointing import theory_bytes

SCHEDULES = {"plain": False, "blocks": True}  # method suffix: blocks?


def with_checkpoint(peers: list[Peer]) -> list[Peer]:
    return [p for p in peers if p.has_checkpoint]


def steps(cells: tuple[tuple[int, int], ...], memory: bool, peers: list[Peer]) -> int:
    """Progress steps for ``cells``."""
    per_cell = 1 + (len(with_checkpoint(peers)) * len(SCHEDULES) if memory else 0)
    return len(cells) * per_cell


def _theory(blocks: bool, n: int, s: int) -> int:
    return theory_bytes("blocks" if blocks else "none", n, s, 0)


def _reference(n: int, s: int) -> np.ndarray:
    m = base.get("modes")
    w = workloads.tanh_map(n, s)
    return m.flat(m.gradient(w)(*w.args))


def target(peer: str, n: int, s: int, blocks: bool) -> ProbeTarget:
    """Probe target (trial subprocess): one gradient of ``tanh_map(n, s, blocks)`` by ``peer``."""
    p = base.get(peer)
    t = p.memory_target(workloads.tanh_map(n, s, blocks), lambda: _reference(n, s))
    t.info["theory_bytes"] = _theory(blocks, n, s)
    return t


def estimate_bytes(blocks: bool, n: int, s: int) -> float:
    """For the safety check: three n-vectors per taped step, plus headroom."""
    taped = workloads.BLOCK + s // workloads.BLOCK if blocks else s
    return 3 * 8.0 * n * taped * 1.5 + 64 * 2**20


def run(ctx: Context, experiment: str, peers: list[Peer], cells: tuple[tuple[int, int], ...],
        memory: bool, bar: Any) -> None:
    """Measure every cell (n, s) into ``experiment``'s table."""
    peers = with_checkpoint(peers)
    for n, s in cells:
        bar.step(f"tanh_map n={n} s={s} runtime")
        plain = workloads.tanh_map(n, s)
        entries = []
        for p in peers:
            for suffix, blocks in SCHEDULES.items():
                w = workloads.tanh_map(n, s, blocks)
                entries.append(Entry(f"{p.name}:{suffix}", p,
                                     lambda p=p, w=w: bound(p.gradient(w), p.inputs(w)),
                                     estimate_bytes(blocks, n, s), mode="reverse"))
        config = {"problem": "tanh_map", "n": n, "m": 1, "k": workloads.BLOCK, "ops": s}
        timed_group(ctx, experiment, config, plain, entries, None, lambda n=n, s=s: _reference(n, s))
        if not memory:
            continue
        for p in peers:
            for suffix, blocks in SCHEDULES.items():
                bar.step(f"tanh_map n={n} s={s} {p.name}:{suffix} memory")
                memory_trial(ctx, experiment, dict(config, schedule=suffix),
                             Method(f"{p.name}:{suffix}", "reverse", estimate_bytes(blocks, n, s)),
                             "experiments.suite.peers_checkpointing:target",
                             {"peer": p.name, "n": n, "s": s, "blocks": blocks})
