"""Other AD tools behind one interface, so every experiment can run them beside ``modes``.

``base``: the ``Peer`` interface, the registry and the availability check; ``workloads``: the
functions, written once for every tool; one module per tool: ``modes_peer``, ``autograd_peer``,
``jax_peer`` (``jax`` and ``jax_jit``), ``torch_peer``, ``casadi_peer``. Tool modules are imported
only by ``base.get``; a missing tool is skipped with a one-line notice.
"""

from __future__ import annotations

from .base import REGISTRY, Peer, PeerUnavailable, available, get, mismatch, unavailable_reason
from .workloads import Namespace, Workload

__all__ = ["REGISTRY", "Namespace", "Peer", "PeerUnavailable", "Workload", "available", "get",
           "mismatch", "unavailable_reason"]
