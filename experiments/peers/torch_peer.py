"""PyTorch behind the peer interface, float64 tensors.

Gradient: autograd backward (``torch.autograd.grad`` on leaves that require grad; Python-float
arguments become 0-d tensors inside the call, as a user would write it). Jacobians:
``torch.func.jacfwd`` / ``torch.func.jacrev`` (vmapped over all directions / rows); JVP:
``torch.func.jvp``; checkpointing: ``torch.utils.checkpoint.checkpoint(use_reentrant=False)``.
Creating the peer sets torch's intra-op threads to ``PEERS_TORCH_THREADS`` (default 1, as numpy's
elementwise code): on a 2-core machine torch's default of one thread per core made its timings
erratic (an OpenMP team stalls whenever one core is busy elsewhere). ``details`` reports the count.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import numpy as np
import torch
import torch.func
import torch.utils.checkpoint

from .base import Mode, Peer
from .workloads import Namespace, Workload

F64 = torch.float64
THREADS_ENV = "PEERS_TORCH_THREADS"


def _asarray(a: np.ndarray) -> torch.Tensor:
    return torch.as_tensor(np.asarray(a, dtype=np.float64), dtype=F64)


def _checkpoint(fn: Callable[[Any], Any]) -> Callable[[Any], Any]:
    def checkpointed(x: Any) -> Any:
        return torch.utils.checkpoint.checkpoint(fn, x, use_reentrant=False)
    return checkpointed


class TorchPeer(Peer):
    name = "torch"
    tool = "torch"

    def __init__(self) -> None:
        self.ns = Namespace(tanh=torch.tanh, sum=torch.sum, asarray=_asarray, checkpoint=_checkpoint)
        torch.set_num_threads(int(os.environ.get(THREADS_ENV, "1")))

    def details(self) -> str:
        return (f"eager autograd, float64; {torch.get_num_threads()} intra-op thread(s) "
                f"(${THREADS_ENV}, default 1)")

    def to_numpy(self, leaf: Any) -> np.ndarray:
        if isinstance(leaf, torch.Tensor):
            return leaf.detach().numpy().astype(np.float64)
        return np.asarray(leaf, dtype=np.float64)

    def value(self, w: Workload) -> Callable[..., Any]:
        f = w.build(self.ns)

        def value(*args: Any) -> Any:
            with torch.no_grad():
                return f(*args)
        return value

    def gradient(self, w: Workload) -> Callable[..., Any]:
        f = w.build(self.ns)
        single = len(w.args) == 1

        def leaf(a: Any) -> torch.Tensor:
            if isinstance(a, torch.Tensor):
                return a.detach().requires_grad_(True)
            return torch.tensor(a, dtype=F64, requires_grad=True)

        def grad(*args: Any) -> Any:
            leaves = [leaf(a) for a in args]
            grads = torch.autograd.grad(f(*leaves), leaves)
            return grads[0] if single else grads
        return grad

    def jacobian(self, w: Workload, mode: Mode) -> Callable[[Any], Any]:
        jac = {"forward": torch.func.jacfwd, "reverse": torch.func.jacrev}[mode]
        return jac(w.build(self.ns))

    def jvp(self, w: Workload) -> Callable[[Any, Any], tuple[Any, Any]]:
        f = w.build(self.ns)
        return lambda x, v: torch.func.jvp(f, (x,), (v,))
