"""Compiled methods of the problems: ``modes.compile`` once per input shape, replays after.

A method ``<name>-compiled`` is the method ``<name>`` recorded once by ``modes.compile`` and
replayed as generated straight-line Python. Each problem keeps its compiled callables in a
``Programs`` cache, keyed by the method and what the trace depends on besides the numbers (the
input's shapes, and constants such as gmm's ``gamma``): every array the computation reads is an
argument of the compiled function, never a constant of its trace, so a second input of the same
shapes replays the same program (its guards decide; a guard that fails traces again, correctly).

Timing (GradBench's protocol): a problem's ``build`` compiles before the timed runs and the
protocol reports that time as ``prepare``; ``evaluate`` times replays only (a re-trace caused by a
failed guard during a run is timed with that run). Called without ``build`` (the ``benchmarks``
experiment), the first ``run`` compiles.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any

import numpy as np

SUFFIX = "-compiled"


def compiled(method: str) -> str:
    """The compiled name of ``method``: ``reverse`` -> ``reverse-compiled``."""
    return method + SUFFIX


def is_compiled(method: str) -> bool:
    return method.endswith(SUFFIX)


def base(method: str) -> str:
    """The interpreted method a compiled one replays: ``rr-compiled`` -> ``rr``."""
    return method[: -len(SUFFIX)] if is_compiled(method) else method


class Programs:
    """Compiled callables by key, made on first use and kept (the ``size`` used last)."""

    def __init__(self, size: int = 4) -> None:
        self.size = size
        self._kept: OrderedDict[Hashable, Any] = OrderedDict()

    def get(self, key: Hashable, make: Callable[[], Any]) -> Any:
        program = self._kept.get(key)
        if program is None:
            program = make()
            self._kept[key] = program
            while len(self._kept) > self.size:
                self._kept.popitem(last=False)
        else:
            self._kept.move_to_end(key)
        return program

    def clear(self) -> None:
        self._kept.clear()

    def __len__(self) -> int:
        return len(self._kept)


def shapes(*arrays: Any) -> tuple[Any, ...]:
    """The shapes and dtypes of ``arrays``: the part of a key the inputs contribute."""
    return tuple((getattr(a, "shape", None), str(getattr(a, "dtype", type(a).__name__)))
                 for a in arrays)


class Descent:
    """A compiled ``value_and_grad`` serving ``gd.argmin``'s two questions: the descent asks for
    f(x) and, when it accepts x, for g(x) at the same point; one call answers both (the gradient
    of the last point asked for is kept; a rejected point's gradient is computed for nothing)."""

    def __init__(self, value_and_grad: Callable[[Any], tuple[Any, Any]]) -> None:
        self.value_and_grad = value_and_grad
        self._at: Any = None
        self._grad: Any = None

    def objective(self, x: Any) -> Any:
        value, self._grad = self.value_and_grad(x)
        self._at = x
        return value

    def gradient(self, x: Any) -> Any:
        at = self._at
        if at is None or not (x is at or np.array_equal(x, at)):
            self.objective(x)
        return self._grad
