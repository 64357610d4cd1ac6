"""``checkpointed_loop``: x_{i+1} = step(x_i, *params) for i < steps, reversed with bounded memory.

Schedules for reverse mode:

* ``"revolve"``: binomial checkpointing with ``snapshots`` states kept at once (the initial state
  included) plus the working state; each step is taped on its own when reversed, and the number of
  untaped step evaluations is the proven optimum ``revolve.optimal_advances(steps, snapshots) + 1``
  (the +1: the nominal pass also runs the last step, to return x_steps).
* ``"uniform"``: a snapshot every ``ceil(steps / snapshots)`` steps; each segment is taped again
  once, from its snapshot, during the sweep.
* ``"none"``: the plain tape (every step's intermediates kept).

On plain values and in forward mode the loop simply runs. The loop is one node on the enclosing
tape; its snapshots are that node's residuals (``tape.nbytes`` counts them) and
``modes.memory.track()`` sees them together with each step's local tape.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from . import revolve
from .pytree import describe, flatten, is_container, unflatten
from .checkpoint import pull_segment, record_segment, top_box
from .errors import ModesError
from .registry import Primitive, Traced
from .reverse import Var
from .unbroadcast import shape_of

SCHEDULES = ("revolve", "uniform", "none")


class LoopRecord:
    """What the loop keeps for its reversal: snapshots by step index, and counts of evaluations."""

    def __init__(self, step: Callable[..., Any], steps: int, snapshots: int, schedule: str,
                 params: list[Any], level: int) -> None:
        self.step = step
        self.steps = steps
        self.snapshots = snapshots
        self.schedule = schedule
        self.params = params
        self.level = level
        self.states: dict[int, Any] = {}
        self.working: tuple[int, Any] | None = None  # x_{steps-1}, left by the nominal pass
        self.advances = 0  # untaped step evaluations, the nominal pass included
        self.taped = 0  # step evaluations recorded on a local tape during the sweep
        self.max_states = 0

    def residual_arrays(self) -> list[Any]:
        held = list(self.states.values())
        if self.working is not None:
            held.append(self.working[1])
        return held

    def keep(self, i: int, x: Any) -> None:
        self.states[i] = x
        self.max_states = max(self.max_states, len(self.states) + (self.working is not None))

    def advance(self, x: Any, n: int) -> Any:
        for _ in range(n):
            x = self.step(x, *self.params)
        self.advances += n
        return x


def checkpointed_loop(step: Callable[..., Any], x0: Any, steps: int,
                      snapshots: int | None = None, schedule: str = "revolve",
                      params: Sequence[Any] = ()) -> Any:
    """x_steps of x_{i+1} = step(x_i, *params); reverse mode keeps ``snapshots`` states, not all.

    ``snapshots`` (>= 1) defaults to ceil(sqrt(steps)). Traced values the step depends on must be
    passed in ``params`` (differentiated too); ``step`` may close over constants only.
    """
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 0:
        raise ValueError(f"steps must be a non-negative integer, got {steps!r}")
    if schedule not in SCHEDULES:
        raise ValueError(f"schedule={schedule!r} is not one of {', '.join(map(repr, SCHEDULES))}")
    if snapshots is None:
        snapshots = max(1, math.isqrt(max(steps - 1, 0)) + 1)
    if isinstance(snapshots, bool) or not isinstance(snapshots, int) or snapshots < 1:
        raise ValueError(f"snapshots must be an integer >= 1 (the initial state counts as one), "
                         f"got {snapshots!r}")
    params = list(params)
    if is_container(x0) or any(is_container(p) for p in params):
        return _loop_of_leaves(step, x0, steps, snapshots, schedule, params)
    top = top_box([x0, *params])
    if steps == 0 or schedule == "none" or type(top) is not Var:
        x = x0
        for _ in range(steps):
            x = step(x, *params)
        return x
    return _record_loop(step, x0, steps, snapshots, schedule, params, top)


def _loop_of_leaves(step: Callable[..., Any], x0: Any, steps: int, snapshots: int, schedule: str,
                    params: list[Any]) -> Any:
    """The loop over a container state (and container params): the same loop on one flat vector
    holding every leaf of the state, so the snapshots stay bounded."""
    leaves, treedef = flatten(x0)
    p_leaves, p_def = flatten(tuple(params))
    shapes = [shape_of(x) for x in leaves]
    sizes = [math.prod(s) for s in shapes]

    def unpack(flat: Any) -> Any:
        parts, offset = [], 0
        for shape, size in zip(shapes, sizes):
            parts.append(np.reshape(flat[offset : offset + size], shape))
            offset += size
        return unflatten(treedef, parts)

    def pack(state: Any) -> Any:
        s_leaves, s_def = flatten(state)
        if s_def != treedef:
            raise ModesError(f"checkpointed_loop: step returned the structure {describe(s_def)} "
                             f"for a state of structure {describe(treedef)}; keep it the same")
        return np.concatenate([np.reshape(x, (-1,)) for x in s_leaves])

    def flat_step(flat: Any, *ps: Any) -> Any:
        return pack(step(unpack(flat), *unflatten(p_def, ps)))

    out = checkpointed_loop(flat_step, pack(x0), steps, snapshots, schedule, p_leaves)
    return unpack(out)


def _record_loop(step: Callable[..., Any], x0: Any, steps: int, snapshots: int, schedule: str,
                 params: list[Any], top: Var) -> Any:
    level, tape = top._level, top._tape
    args = [x0, *params]
    argnums = [i for i, a in enumerate(args)
               if type(a) is Var and a._level == level and a._tape is tape]
    vals = [a.value if i in argnums else a for i, a in enumerate(args)]
    rec = LoopRecord(step, steps, snapshots, schedule, vals[1:], level)
    if schedule == "revolve":
        keep_at = set(revolve.first_sweep(steps, snapshots))
    else:
        interval = math.ceil(steps / snapshots)
        keep_at = set(range(0, steps, interval))
    x = vals[0]
    for i in range(steps):
        if i in keep_at:
            rec.keep(i, x)
        if schedule == "revolve" and i == steps - 1:
            rec.working = (i, x)
        x = rec.advance(x, 1)
        if isinstance(x, Traced) and x._level >= level:
            raise ModesError(
                "the loop's step closes over a traced value (it came out traced at the loop's own "
                "level); pass such values through checkpointed_loop(..., params=(...)), where they "
                "are differentiated too"
            )
    if not argnums:
        return x
    parents = [(i, args[i]._index, shape_of(vals[i])) for i in argnums]
    tape.nodes.append((_LOOP, parents, None, [rec], {}))
    return Var(x, tape, len(tape.nodes) - 1, level)


def _loop_vjp(g: Any, ans: Any, argnums: list[int], rec: LoopRecord,
              consume: bool = True) -> list[Any]:
    if not consume:  # the tape is kept for more sweeps: reverse on a copy of the snapshots
        work = LoopRecord(rec.step, rec.steps, rec.snapshots, rec.schedule, rec.params, rec.level)
        work.states, work.working = dict(rec.states), rec.working
        work.max_states = rec.max_states
        bars = _loop_vjp(g, ans, argnums, work, consume=True)
        rec.advances += work.advances
        rec.taped += work.taped
        rec.max_states = max(rec.max_states, work.max_states)
        return bars
    n_params = len(rec.params)
    traced_params = [1 + j for j in range(n_params) if 1 + j in argnums]
    param_bars: dict[int, Any] = {}

    def tape_segment(x: Any, n: int, bar: Any) -> Any:
        """Tape n steps from state x, sweep them with ``bar``: the bar of x (params accumulate)."""
        def segment(state: Any, *ps: Any) -> Any:
            for _ in range(n):
                state = rec.step(state, *ps)
            return state

        out, tape, leaves = record_segment(segment, [x, *rec.params], [0, *traced_params],
                                           rec.level)
        rec.taped += n
        bars = pull_segment(out, tape, leaves, rec.level, bar)
        for p, b in zip(traced_params, bars[1:]):
            if b is not None:
                param_bars[p] = b if p not in param_bars else param_bars[p] + b
        return bars[0] if bars[0] is not None else bar * 0.0

    bar = g
    if rec.schedule == "uniform":
        starts = sorted(rec.states)
        for a, b in zip(reversed(starts), reversed(starts[1:] + [rec.steps])):
            bar = tape_segment(rec.states.pop(a), b - a, bar)
    else:
        bar = _revolve_reverse(rec, bar, tape_segment)
    rec.states.clear()
    rec.working = None
    out = []
    for a in argnums:
        out.append(bar if a == 0 else param_bars.get(a))
    return out


def _revolve_reverse(rec: LoopRecord, bar: Any, tape_segment: Callable[..., Any]) -> Any:
    """Treeverse with an explicit stack; the nominal pass left the first sweep's snapshots."""
    stack: list[tuple] = [("reverse", 0, rec.steps, rec.snapshots)]
    while stack:
        frame = stack.pop()
        if frame[0] == "free":
            del rec.states[frame[1]]
            continue
        _, a, b, c = frame
        if b - a == 1:
            bar = tape_segment(_state(rec, a), 1, bar)
            continue
        if c == 1:
            for i in range(b - 1, a - 1, -1):
                if rec.working is not None and rec.working[0] == i:
                    x = _state(rec, i)
                else:
                    x = rec.advance(rec.states[a], i - a)
                bar = tape_segment(x, 1, bar)
            continue
        m = a + revolve.split(b - a, c)
        if m not in rec.states:
            rec.keep(m, rec.advance(rec.states[a], m - a))
        stack += [("reverse", a, m, c), ("free", m), ("reverse", m, b, c - 1)]
    return bar


def _state(rec: LoopRecord, i: int) -> Any:
    if rec.working is not None and rec.working[0] == i:
        x = rec.working[1]
        rec.working = None  # used once, then freed
        return x
    return rec.states[i]


def _no_rule(*args: Any, **kwargs: Any) -> Any:  # pragma: no cover
    raise AssertionError("a checkpointed loop's cotangents come from its joint rule")


_LOOP = Primitive(lambda *a: None, "checkpointed_loop", jvp=_no_rule, vjp=_no_rule)
_LOOP.vjp_joint = _loop_vjp

__all__ = ["checkpointed_loop", "LoopRecord", "SCHEDULES"]
