"""HIPS autograd behind the peer interface.

Reverse mode: ``autograd.grad`` and ``autograd.jacobian`` (one vector-Jacobian product per output
row, after one recording). Forward mode: ``autograd.make_jvp`` (autograd's own JVP rules), one pass
per input direction for a Jacobian (autograd has no batched forward mode). Checkpointing:
``autograd.checkpoint``; note that autograd builds each node's VJP closure during the forward pass
(``autograd.core.VJPNode``), so a checkpointed block is re-recorded right away and its tape is held
until the reverse sweep: it recomputes without lowering the peak (measured in the ``peers`` experiment).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import autograd
import autograd.numpy as anp
import numpy as np

from .base import Mode, Peer
from .workloads import Namespace, Workload


class AutogradPeer(Peer):
    name = "autograd"
    tool = "autograd"

    def __init__(self) -> None:
        self.ns = Namespace(tanh=anp.tanh, sum=anp.sum, asarray=np.asarray,
                            checkpoint=autograd.checkpoint)

    def details(self) -> str:
        return "reverse: tape of boxed numpy calls; forward: make_jvp, one direction per pass"

    def value(self, w: Workload) -> Callable[..., Any]:
        return w.build(self.ns)

    def gradient(self, w: Workload) -> Callable[..., Any]:
        argnum = 0 if len(w.args) == 1 else tuple(range(len(w.args)))
        return autograd.grad(w.build(self.ns), argnum)

    def jacobian(self, w: Workload, mode: Mode) -> Callable[[Any], Any]:
        f = w.build(self.ns)
        if mode == "reverse":
            return autograd.jacobian(f)
        if mode != "forward":
            raise ValueError(f"mode must be 'forward' or 'reverse', got {mode!r}")
        jvp_at = autograd.make_jvp(f)

        def jacfwd(x: Any) -> Any:
            push = jvp_at(x)
            eye = np.eye(x.size)
            return np.stack([push(eye[j])[1] for j in range(x.size)], axis=-1)
        return jacfwd

    def jvp(self, w: Workload) -> Callable[[Any, Any], tuple[Any, Any]]:
        jvp_at = autograd.make_jvp(w.build(self.ns))
        return lambda x, v: jvp_at(x)(v)
