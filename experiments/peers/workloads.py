"""The functions every tool differentiates, written once, tool-neutrally.

A workload's ``build(ns)`` returns its function in one tool's terms: ``ns`` is a ``Namespace`` (the
tool's ``tanh``, ``sum``, constant conversion, loop and checkpoint), and the function otherwise uses
only Python operators (``+ - * ** @``, slicing), which every tool overloads. ``NUMPY`` builds the
plain numpy function every derivative's time is compared with.

Workloads (inputs are Python floats or float64 numpy arrays, drawn as in ``experiments.problems``):

* ``talk``: the talk's V = x*y + (x+y)*z on three Python floats;
* ``rosenbrock(n)``: extended Rosenbrock (the input of ``problems.make_scalar("rosenbrock", n)``);
* ``tanh_affine(n, m)``: tanh(A x), A and x as in ``problems.make_vector("tanh_affine", n, m)``;
* ``chain(n, k)``: sum(tanh^k(x)), k elementwise steps (``problems.chain``);
* ``tanh_map(n, s, blocks)``: the checkpointing map x -> tanh(x)*0.9 + 0.1*x for s steps, loss
  sum(x_s^2); ``blocks=True`` wraps each block of ``BLOCK`` steps in the tool's checkpoint.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..problems import make_scalar

BLOCK = 100  # steps per checkpointed block (as in experiments/suite/checkpointing.py)
TALK_POINT = (1.0, -3.0, 2.0)


def python_loop(step: Callable[[Any], Any], x: Any, k: int) -> Any:
    """x after k applications of ``step`` (a plain Python loop: every step is traced)."""
    for _ in range(k):
        x = step(x)
    return x


@dataclass(frozen=True)
class Namespace:
    """The operations a workload takes from a tool (operators come with the tool's arrays).

    ``sum``: the sum of all entries (a scalar); ``asarray``: a numpy constant as the tool's constant;
    ``iterate(step, x, k)``: k applications of ``step``; ``checkpoint(fn)``: ``fn`` whose
    intermediates are recomputed in the reverse sweep, or ``None`` if the tool has no checkpointing.
    """

    tanh: Callable[[Any], Any]
    sum: Callable[[Any], Any]
    asarray: Callable[[np.ndarray], Any]
    iterate: Callable[[Callable[[Any], Any], Any, int], Any] = python_loop
    checkpoint: Callable[[Callable[[Any], Any]], Callable[[Any], Any]] | None = None


NUMPY = Namespace(tanh=np.tanh, sum=np.sum, asarray=np.asarray)


@dataclass(frozen=True)
class Workload:
    """A function R^n -> R^m (``m == 1``: scalar output) at the point ``args``.

    ``build(ns)`` returns the function taking ``len(args)`` arguments; ``ops`` is the workload's
    size along its operations axis (recorded operations; for ``tanh_map`` the number of steps).
    """

    name: str
    build: Callable[[Namespace], Callable[..., Any]]
    args: tuple[Any, ...]
    n: int
    m: int = 1
    ops: int | None = None

    def numpy_f(self) -> Callable[..., Any]:
        """The plain numpy function (the baseline every time ratio divides by)."""
        return self.build(NUMPY)


# ---- the workloads -------------------------------------------------------------------------------------
def _talk(ns: Namespace) -> Callable[..., Any]:
    def V(x: Any, y: Any, z: Any) -> Any:
        return x * y + (x + y) * z
    return V


def talk(point: tuple[float, float, float] = TALK_POINT) -> Workload:
    """The talk's example on Python floats; gradient (y+z, x+z, x+y)."""
    return Workload("talk", _talk, tuple(float(v) for v in point), n=3, ops=4)


def _rosenbrock(ns: Namespace) -> Callable[[Any], Any]:
    def rosenbrock(x: Any) -> Any:
        return ns.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)
    return rosenbrock


def rosenbrock(n: int) -> Workload:
    """Extended Rosenbrock at the point of ``problems.make_scalar("rosenbrock", n)``."""
    return Workload("rosenbrock", _rosenbrock, (make_scalar("rosenbrock", n).x0,), n=n, ops=10)


def tanh_affine_data(n: int, m: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(A, x0), the same draws as ``problems.make_vector("tanh_affine", n, m, seed)``."""
    rng = np.random.default_rng(seed)
    x0 = rng.standard_normal(n)
    a = rng.standard_normal((m, n)) / np.sqrt(n)
    return a, x0


def tanh_affine(n: int, m: int) -> Workload:
    """tanh(A x): R^n -> R^m, Jacobian (1 - tanh(A x)^2)[:, None] * A."""
    a, x0 = tanh_affine_data(n, m)

    def build(ns: Namespace) -> Callable[[Any], Any]:
        A = ns.asarray(a)

        def tanh_affine(x: Any) -> Any:
            return ns.tanh(A @ x)
        return tanh_affine

    return Workload("tanh_affine", build, (x0,), n=n, m=m, ops=2)


def chain(n: int, k: int) -> Workload:
    """sum(tanh(tanh(... tanh(x)))) with k steps on linspace(-1, 1, n)."""

    def build(ns: Namespace) -> Callable[[Any], Any]:
        def chain(x: Any) -> Any:
            return ns.sum(ns.iterate(ns.tanh, x, k))
        return chain

    return Workload("chain", build, (np.linspace(-1.0, 1.0, n),), n=n, ops=k + 1)


def tanh_map(n: int, s: int, blocks: bool = False) -> Workload:
    """s steps of x -> tanh(x)*0.9 + 0.1*x from linspace(-1, 1, n), loss sum(x_s^2).

    ``blocks``: each block of ``BLOCK`` steps goes through ``ns.checkpoint`` (``ValueError`` at
    build time if the tool has none).
    """

    def build(ns: Namespace) -> Callable[[Any], Any]:
        def step(x: Any) -> Any:
            return ns.tanh(x) * 0.9 + 0.1 * x

        if not blocks:
            def plain(x: Any) -> Any:
                return ns.sum(ns.iterate(step, x, s) ** 2)
            return plain
        if ns.checkpoint is None:
            raise ValueError("this tool has no checkpointing")
        block = ns.checkpoint(lambda x: ns.iterate(step, x, BLOCK))

        def checkpointed(x: Any) -> Any:
            x = ns.iterate(block, x, s // BLOCK)
            return ns.sum(ns.iterate(step, x, s % BLOCK) ** 2)
        return checkpointed

    name = "tanh_map_blocks" if blocks else "tanh_map"
    return Workload(name, build, (np.linspace(-1.0, 1.0, n),), n=n, ops=s)
