"""JAX behind the peer interface, without jit (``jax``) and with it (``jax_jit``); float64 enabled.

``jax.grad``, ``jax.jacfwd`` (all n directions in one vmapped pass), ``jax.jacrev`` (all m
cotangent rows in one vmapped sweep), ``jax.jvp``, ``jax.checkpoint``. Every call waits for its
result (``jax.block_until_ready``: JAX dispatches asynchronously). ``jax_jit`` wraps each
transformation in ``jax.jit``; it is compiled at its first call (the untimed warm-up), and it runs
iterated maps as ``jax.lax.scan`` (an unrolled Python loop of 1000 steps takes seconds to compile).
Importing this module sets ``jax_enable_x64`` (and ``JAX_PLATFORMS=cpu`` unless set).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

os.environ.setdefault("JAX_PLATFORMS", "cpu")

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402

jax.config.update("jax_enable_x64", True)

from .base import Mode, Peer  # noqa: E402
from .workloads import Namespace, Workload  # noqa: E402


def scan_iterate(step: Callable[[Any], Any], x: Any, k: int) -> Any:
    """k applications of ``step`` as one ``lax.scan`` (compiles once whatever k)."""
    if k == 0:
        return x
    y, _ = jax.lax.scan(lambda c, _: (step(c), None), x, None, length=k)
    return y


def _asarray(a: np.ndarray) -> Any:
    return jnp.asarray(a, dtype=jnp.float64)


class JaxPeer(Peer):
    name = "jax"
    tool = "jax"

    def __init__(self) -> None:
        self.ns = Namespace(tanh=jnp.tanh, sum=jnp.sum, asarray=_asarray, checkpoint=jax.checkpoint)

    def details(self) -> str:
        return f"no jit (op-by-op dispatch); backend {jax.default_backend()}, float64"

    def _wrap(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        """The timed callable: ``fn``, waited for (``jit`` wraps it first in ``jax_jit``)."""
        fn = jax.jit(fn) if self.jit else fn

        def call(*args: Any) -> Any:
            return jax.block_until_ready(fn(*args))
        return call

    def value(self, w: Workload) -> Callable[..., Any]:
        return self._wrap(w.build(self.ns))

    def gradient(self, w: Workload) -> Callable[..., Any]:
        argnums = 0 if len(w.args) == 1 else tuple(range(len(w.args)))
        return self._wrap(jax.grad(w.build(self.ns), argnums=argnums))

    def jacobian(self, w: Workload, mode: Mode) -> Callable[[Any], Any]:
        jac = {"forward": jax.jacfwd, "reverse": jax.jacrev}[mode]
        return self._wrap(jac(w.build(self.ns)))

    def jvp(self, w: Workload) -> Callable[[Any, Any], tuple[Any, Any]]:
        f = w.build(self.ns)
        return self._wrap(lambda x, v: jax.jvp(f, (x,), (v,)))


class JaxJitPeer(JaxPeer):
    name = "jax_jit"
    jit = True

    def __init__(self) -> None:
        self.ns = Namespace(tanh=jnp.tanh, sum=jnp.sum, asarray=_asarray, iterate=scan_iterate,
                            checkpoint=jax.checkpoint)

    def details(self) -> str:
        return (f"jax.jit (XLA, compiled at the untimed first call; may use every core); loops as "
                f"lax.scan; backend {jax.default_backend()}, float64")
