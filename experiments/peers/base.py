"""One interface for every AD tool, and the registry of tools with an availability check.

A ``Peer`` turns a ``Workload`` (``experiments.peers.workloads``) into callables of the tool:
``value``, ``gradient`` (reverse mode, with respect to every argument), ``jacobian(mode)`` (forward
or reverse; shape (m, n)) and ``jvp``. Each callable takes the tool's inputs, ``peer.inputs(w)``
(converted once, outside any timing), and returns the tool's own output type, ready to use (JAX
results are waited for); ``peer.flat(result)`` gives it as one flat float64 numpy vector for checks.
Building a callable (tracing, a CasADi graph, a jit compilation at the first call) is set-up, not
part of a timed call. ``memory_target`` is the probe target of a reverse-mode memory trial.

``available()`` lists the peers whose tool imports, printing one line per missing tool (never an
error); ``get(name)`` returns one peer or raises ``PeerUnavailable``.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable
from importlib import metadata
from typing import Any, ClassVar, TextIO

import numpy as np

from ..memory_probe import ProbeTarget
from .workloads import Namespace, Workload

Mode = str  # "forward" or "reverse"


class PeerUnavailable(ImportError):
    """The tool behind a peer is not installed (or fails to import)."""


def mismatch(got: np.ndarray, want: np.ndarray) -> float:
    """max |got - want| / max(1, max |want|) over equal-size flat vectors; ``inf`` if sizes differ."""
    got = np.asarray(got, dtype=np.float64).ravel()
    want = np.asarray(want, dtype=np.float64).ravel()
    if got.size != want.size:
        return float("inf")
    if not got.size:
        return 0.0
    return float(np.max(np.abs(got - want)) / max(1.0, float(np.max(np.abs(want)))))


class Peer(ABC):
    """An AD tool behind the common interface (see the module docstring)."""

    name: ClassVar[str]          # the row label, e.g. "jax_jit"
    tool: ClassVar[str]          # the distribution (and import) name, e.g. "jax"
    jit: ClassVar[bool] = False  # compiled ahead of the timed calls (not "called from Python")
    ns: Namespace

    # ---- description ---------------------------------------------------------------------------
    def version(self) -> str:
        return metadata.version(self.tool)

    def details(self) -> str:
        """How the tool runs here (threads, jit, ...), for the report."""
        return ""

    @property
    def has_checkpoint(self) -> bool:
        return self.ns.checkpoint is not None

    # ---- inputs and outputs ------------------------------------------------------------------------
    def inputs(self, w: Workload) -> tuple[Any, ...]:
        """The workload's arguments as the tool takes them (Python floats stay floats)."""
        return tuple(a if isinstance(a, float) else self.ns.asarray(a) for a in w.args)

    def to_numpy(self, leaf: Any) -> np.ndarray:
        """One output array of the tool as a numpy array."""
        return np.asarray(leaf, dtype=np.float64)

    def flat(self, result: Any) -> np.ndarray:
        """A result (array, number, or tuple of them) as one flat float64 vector."""
        if isinstance(result, (tuple, list)):
            parts = [self.flat(r) for r in result]
            return np.concatenate(parts) if parts else np.zeros(0)
        return self.to_numpy(result).ravel()

    # ---- transformations -------------------------------------------------------------------------------
    @abstractmethod
    def value(self, w: Workload) -> Callable[..., Any]:
        """f evaluated by the tool."""

    @abstractmethod
    def gradient(self, w: Workload) -> Callable[..., Any]:
        """Reverse-mode gradient of scalar f: one array per argument (a tuple for several)."""

    @abstractmethod
    def jacobian(self, w: Workload, mode: Mode) -> Callable[[Any], Any]:
        """The (m, n) Jacobian of f: R^n -> R^m, by ``mode`` "forward" or "reverse"."""

    @abstractmethod
    def jvp(self, w: Workload) -> Callable[[Any, Any], tuple[Any, Any]]:
        """``(x, v) -> (f(x), J v)`` in forward mode."""

    # ---- memory ------------------------------------------------------------------------------------------
    def residual_bytes(self, w: Workload, gradient: Callable[..., Any]) -> int | None:
        """Bytes the tool keeps for the reverse sweep of ``w``, if it says (``None``: it does not).

        ``gradient`` is the callable ``self.gradient(w)`` returned.
        """
        return None

    def memory_target(self, w: Workload, reference: Callable[[], np.ndarray]) -> ProbeTarget:
        """Probe target: one reverse gradient of ``w`` (measured) after a warm-up call.

        Set-up (tracing, graph building, compilation) and the warm-up happen before the baseline is
        read, so the peak is that of one gradient call. ``after`` checks the result against
        ``reference()`` (``check_err``) and adds ``residual_bytes`` as ``tape_bytes`` when known.
        """
        g = self.gradient(w)
        args = self.inputs(w)
        self.flat(g(*args))  # warm-up: compile caches, first-call allocations
        out: dict[str, Any] = {}

        def compute() -> None:
            out["d"] = g(*args)

        def after() -> dict[str, Any]:
            res: dict[str, Any] = {"check_err": mismatch(self.flat(out["d"]), reference())}
            residuals = self.residual_bytes(w, g)
            if residuals is not None:
                res["tape_bytes"] = residuals
            return res

        return ProbeTarget(compute, after)


# ---- registry -------------------------------------------------------------------------------------------
# name: (tool import name, "module:class", install hint). Order: modes first, then the peers.
REGISTRY: dict[str, tuple[str, str, str]] = {
    "modes": ("modes", "experiments.peers.modes_peer:ModesPeer", 'pip install -e .'),
    "autograd": ("autograd", "experiments.peers.autograd_peer:AutogradPeer", 'pip install -e ".[peers]"'),
    "jax": ("jax", "experiments.peers.jax_peer:JaxPeer", "pip install jax jaxlib"),
    "jax_jit": ("jax", "experiments.peers.jax_peer:JaxJitPeer", "pip install jax jaxlib"),
    "torch": ("torch", "experiments.peers.torch_peer:TorchPeer",
              "pip install torch --index-url https://download.pytorch.org/whl/cpu"),
    "casadi": ("casadi", "experiments.peers.casadi_peer:CasadiPeer", 'pip install -e ".[peers]"'),
}
_NOTIFIED: set[str] = set()
_CACHE: dict[str, Peer] = {}


def get(name: str) -> Peer:
    """The peer ``name`` (one instance per process); ``PeerUnavailable`` if its tool is missing."""
    if name in _CACHE:
        return _CACHE[name]
    if name not in REGISTRY:
        raise KeyError(f"unknown peer {name!r}; known: {', '.join(REGISTRY)}")
    tool, target, hint = REGISTRY[name]
    if importlib.util.find_spec(tool) is None:
        raise PeerUnavailable(f"{tool} is not installed ({hint})")
    module, _, cls = target.partition(":")
    try:
        peer = getattr(importlib.import_module(module), cls)()
    except ImportError as exc:
        raise PeerUnavailable(f"{tool} does not import: {exc} ({hint})") from exc
    _CACHE[name] = peer
    return peer


def unavailable_reason(name: str) -> str | None:
    """Why peer ``name`` cannot run here, or ``None`` if it can."""
    try:
        get(name)
    except PeerUnavailable as exc:
        return str(exc)
    return None


def available(names: Iterable[str] | None = None, stream: TextIO | None = None) -> list[Peer]:
    """The peers among ``names`` (default: all) whose tool is installed.

    Each missing tool is reported once per process as one line on ``stream`` (stderr).
    """
    stream = stream if stream is not None else sys.stderr
    peers = []
    for name in names if names is not None else REGISTRY:
        reason = unavailable_reason(name)
        if reason is None:
            peers.append(get(name))
        elif name not in _NOTIFIED:
            _NOTIFIED.add(name)
            print(f"peers: {name} skipped: {reason}", file=stream)
    return peers
