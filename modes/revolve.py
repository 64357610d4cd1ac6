"""Binomial checkpointing (Griewank's revolve): the schedule's arithmetic.

Reversing s steps of x_{i+1} = step(x_i) with c snapshots (the initial state included) costs at
least ``optimal_advances(s, c)`` untaped step evaluations (the first forward sweep included), and
the treeverse recursion with ``split`` attains it: advance from a to m, keep a snapshot at m,
reverse [m, b) with one snapshot fewer, free it, then reverse [a, m). With r the least number of
repetitions such that beta(c, r) = C(c + r, c) >= s, the optimum is r*s - beta(c + 1, r - 1).
"""

from __future__ import annotations

from math import comb


def beta(c: int, r: int) -> int:
    """C(c + r, c): the most steps c snapshots reverse when no step is advanced more than r times."""
    return comb(c + r, c) if r >= 0 else 0


def repetitions(steps: int, snapshots: int) -> int:
    """The least r with beta(snapshots, r) >= steps."""
    r = 0
    while beta(snapshots, r) < steps:
        r += 1
    return r


def optimal_advances(steps: int, snapshots: int) -> int:
    """Untaped step evaluations of an optimal reversal (Griewank and Walther's closed form)."""
    if steps <= 1:
        return 0
    if snapshots == 1:
        return steps * (steps - 1) // 2
    r = repetitions(steps, snapshots)
    return r * steps - beta(snapshots + 1, r - 1)


def split(steps: int, snapshots: int) -> int:
    """Where to put the next snapshot (an offset in 1 .. steps-1) so the reversal stays optimal.

    Needs ``steps >= 2`` and ``snapshots >= 2``: the second part must be reversible with one
    snapshot fewer and the same repetitions, the first with one repetition fewer.
    """
    r = repetitions(steps, snapshots)
    return max(1, steps - beta(snapshots - 1, r), beta(snapshots, r - 2))


def first_sweep(steps: int, snapshots: int) -> list[int]:
    """The states a revolve reversal snapshots on its first forward sweep (state 0 included)."""
    positions = [0]
    a, c = 0, snapshots
    while steps - a > 1 and c > 1:
        a += split(steps - a, c)
        positions.append(a)
        c -= 1
    return positions
