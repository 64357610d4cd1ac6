"""Operation counts as row fields: ``modes.count_ops`` of f and of its gradients, for the tables.

``row_counts(f, args, argnum, chunk, forward)`` returns the columns ``ops_f``, ``ops_reverse``,
``mul_f``, ``mul_reverse`` and, with ``forward``, ``ops_forward`` and ``mul_forward`` (``ops_*``:
every arithmetic operation; ``mul_*``: the multiplicative ones, Griewank's measure). The counts
depend on shapes and the registry's cost rules only, never on the machine.

Counting the forward gradient records every pass with its chunk of tangents, which costs about
one interpreted forward gradient: it grows as n^2 (0.8 s for Speelpenning's loop at n = 1000, 90 s
at n = 10 000 on a loaded 2-core machine). Without ``forward`` it is skipped
(``count_ops(..., forward=False)``) and the forward columns stay empty.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import modes

FORWARD_COUNT_MAX_N = 1000  # above this many inputs the forward gradient is not counted (n^2 work)
COLUMNS = ("ops_f", "ops_reverse", "ops_forward", "mul_f", "mul_reverse", "mul_forward")


def row_counts(f: Callable[..., Any], args: tuple[Any, ...], argnum: int | tuple[int, ...] = 0,
               chunk: int | None = None, forward: bool = True) -> dict[str, int | None]:
    """The count columns of scalar ``f`` at ``args`` (gradient with respect to ``argnum``; the
    forward gradient with ``chunk`` tangents per pass, as the timed forward gradient runs)."""
    c = modes.count_ops(f, *args, argnum=argnum, chunk_size=chunk, forward=forward)
    return {"ops_f": c.f, "ops_reverse": c.reverse, "ops_forward": c.forward if forward else None,
            "mul_f": c.f_mul, "mul_reverse": c.reverse_mul,
            "mul_forward": c.forward_mul if forward else None}


def count_forward(n: int, timed: bool) -> bool:
    """Whether to count the forward gradient: only when it is timed and n is small enough."""
    return timed and n <= FORWARD_COUNT_MAX_N
