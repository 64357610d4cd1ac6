"""``modes`` itself behind the peer interface: reverse gradient, chunked forward and batched
reverse Jacobians (``modes.jacobian``), ``modes.jvp``, ``modes.checkpoint``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

import modes

from .base import Mode, Peer
from .workloads import Namespace, Workload


class ModesPeer(Peer):
    name = "modes"
    tool = "modes"

    def __init__(self) -> None:
        self.ns = Namespace(tanh=np.tanh, sum=np.sum, asarray=np.asarray, checkpoint=modes.checkpoint)

    def version(self) -> str:
        return modes.__version__

    def details(self) -> str:
        return "reverse: tape; forward: dual-number chunks; plain numpy"

    def value(self, w: Workload) -> Callable[..., Any]:
        return w.build(self.ns)

    def gradient(self, w: Workload) -> Callable[..., Any]:
        argnum = 0 if len(w.args) == 1 else tuple(range(len(w.args)))
        return modes.grad(w.build(self.ns), argnum=argnum)

    def forward_gradient(self, w: Workload) -> Callable[..., Any]:
        """The gradient by chunked forward passes (modes' own second way)."""
        argnum = 0 if len(w.args) == 1 else tuple(range(len(w.args)))
        return modes.grad(w.build(self.ns), argnum=argnum, mode="forward")

    def jacobian(self, w: Workload, mode: Mode) -> Callable[[Any], Any]:
        return modes.jacobian(w.build(self.ns), mode=mode)  # type: ignore[arg-type]

    def residual_bytes(self, w: Workload, gradient: Callable[..., Any]) -> int | None:
        """The tape's residual bytes (``pullback.tape.nbytes``) of one recording of ``w``."""
        _, pullback = modes.vjp(w.build(self.ns), *w.args)
        return int(pullback.tape.nbytes)  # type: ignore[attr-defined]

    def jvp(self, w: Workload) -> Callable[[Any, Any], tuple[Any, Any]]:
        f = w.build(self.ns)
        return lambda x, v: modes.jvp(f, (x,), (v,))
