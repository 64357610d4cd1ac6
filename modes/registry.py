"""The primitive registry: every differentiable operation stated once, consumed by both modes.

A primitive is a plain numpy implementation plus its derivative rules, in one of two forms:

* ``partials``: elementwise primitives give one callable per argument, ``partial_i(ans, *args)``,
  the local partial derivative evaluated pointwise (the "partial at each edge" of the graph).
  Forward mode forms ``sum_i partial_i * tangent_i``; reverse mode forms
  ``bar_i += unbroadcast(partial_i * bar_out)``. ``None`` marks an argument with no derivative.
* ``jvp`` / ``vjp``: structural and linear primitives give, per argument, a tangent map
  ``jvp_i(g, ans, *args, **kw)`` (``g``: batch + arg shape -> batch + ans shape) and a cotangent map
  ``vjp_i(g, ans, *args, **kw)`` (``g``: batch + ans shape -> batch + arg shape), side by side.
  ``g`` may carry leading batch axes (a forward "chunk" or a batch of cotangents): rules address
  the trailing axes only.

Every primitive also states the arithmetic cost of one evaluation, ``cost(ans, *args, **kw) -> int``
from shapes only (``modes.flops``): by default one operation per element of ``ans`` for the
partials form and 0 (data movement) for the jvp/vjp form; primitives that compute more state theirs.

Rules are written with numpy calls on possibly traced values, so they can be differentiated again.
"""

from __future__ import annotations

import dis
import inspect
from collections.abc import Callable, Sequence
from typing import Any

from .errors import RuleError
from .flops import moves_data, one_per_element

Rule = Callable[..., Any]


class Primitive:
    """One registered operation: its numpy implementation and its derivative rules."""

    # The numpy ufunc computing ``fn``, when there is one: lets the tape reuse a dying buffer.
    ufunc: Any = None
    # True where a partial can be infinite (sqrt at 0): both modes then take inf * 0 as 0, so a
    # direction that does not move the input is not poisoned with nan. May be a predicate
    # strong_zero(ans, *args) (arguments no partial reads arrive as None) to decide per call.
    strong_zero: Any = False
    # A joint cotangent rule vjp_joint(g, ans, argnums, *args, consume=bool, **kw) -> one cotangent
    # per argnum, for primitives whose cotangents share one expensive computation (a recomputed
    # checkpoint); consume=False when the tape is kept for further sweeps.
    vjp_joint: Any = None

    # Registered by a user (modes.primitive): its rules' results are checked for shape.
    user: bool = False

    __slots__ = ("fn", "name", "partials", "reads", "jvp", "vjp", "linear", "vjp_accumulate",
                 "variadic", "nargs", "cost_rule", "__dict__")

    def __init__(
        self,
        fn: Callable[..., Any],
        name: str,
        partials: Sequence[Rule | None] | None = None,
        jvp: Sequence[Rule | None] | Rule | None = None,
        vjp: Sequence[Rule | None] | None = None,
        linear: bool = False,
        vjp_accumulate: Rule | None = None,
        cost: Rule | None = None,
    ) -> None:
        """See the module docstring for the two forms of rules; ``cost`` is the count rule
        ``cost(ans, *args, **kw) -> int`` (None: the default of the form, see ``cost``)."""
        if partials is not None and (jvp is not None or vjp is not None):
            raise RuleError(f"primitive {name!r}: give either partials=... or jvp=.../vjp=..., not both")
        if partials is None and (jvp is None or vjp is None):
            raise RuleError(
                f"primitive {name!r}: needs partials=(one callable per argument) for an elementwise "
                "function, or both jvp=(...) and vjp=(...) (one callable per argument) otherwise"
            )
        if jvp is not None and not callable(jvp) and vjp is not None and not callable(vjp) and len(
            jvp
        ) != len(vjp):
            raise RuleError(f"primitive {name!r}: jvp has {len(jvp)} rules but vjp has {len(vjp)}")
        self.fn = fn
        self.name = name
        self.partials = tuple(partials) if partials is not None else None
        # For each partial, a bitmask of the values it reads (bit 0: ans, bit k: argument k-1), so
        # the tape keeps exactly those as residuals and evaluates the partial during the sweep.
        self.reads = tuple(reads_mask(r) for r in self.partials) if self.partials is not None else None
        # jvp: one rule per argument, or one joint callable jvp(tangents, ans, *args) taking every
        # argument's tangent at once (None for a zero tangent), for concatenate-like primitives.
        self.jvp = jvp if jvp is None or callable(jvp) else tuple(jvp)
        # vjp: one rule per argument, or for a variadic primitive one callable vjp(i, g, ans, *args).
        self.variadic = callable(vjp)
        self.vjp = vjp if vjp is None or callable(vjp) else tuple(vjp)
        # linear=True: the rules use only the shapes of the arguments, so the tape keeps no values.
        self.linear = linear
        # Optional in-place form of a vjp for a sparse parent (indexing): acc(bar, g, ans, x, **kw).
        self.vjp_accumulate = vjp_accumulate
        # How many positional arguments the rules describe (None: any number).
        rules = self.partials if self.partials is not None else (
            None if self.variadic else self.vjp)
        self.nargs = None if rules is None else len(rules)
        # Operations one evaluation performs, from shapes (None: the default of the form). Read only
        # by the operation counter, never while evaluating.
        self.cost_rule = cost

    def cost(self, ans: Any, args: Sequence[Any], kwargs: dict) -> int:
        """Arithmetic operations (adds, multiplies, divisions, comparisons, transcendental calls,
        one per scalar) of one evaluation that returned ``ans`` from ``args``, ``kwargs``.

        Reads only shapes: ``ans`` and ``args`` may be numbers, arrays, ``ShapeOnly`` or traced
        values. Without a stated rule: one per element of ``ans`` for an elementwise (partials)
        primitive, 0 for a structural one (it only moves data).
        """
        rule = self.cost_rule
        if rule is None:
            rule = one_per_element if self.partials is not None else moves_data
        n = rule(ans, *args, **kwargs)
        if isinstance(n, bool) or int(n) != n or n < 0:
            raise RuleError(f"primitive {self.name!r}: its cost rule returned {n!r}; it must return "
                            "a non-negative integer count of operations")
        return int(n)

    def vjp_rule(self, i: int) -> Rule | None:
        """The cotangent map for argument ``i``: ``rule(g, ans, *args, **kw)``, or None."""
        if self.variadic:
            return lambda g, ans, *args, **kw: self.vjp(i, g, ans, *args, **kw)  # type: ignore[misc]
        return self.vjp[i]  # type: ignore[index]

    def missing(self, kind: str, i: int) -> RuleError:
        return RuleError(
            f"primitive {self.name!r} has no {kind} rule for argument {i}; it is not differentiable "
            f"with respect to that argument. Pass a constant there, or re-register {self.name!r} with "
            "modes.primitive(fn, name=..., partials=(...)) giving a rule for every argument."
        )

    def shape_error(self, kind: str, i: int, got: tuple[int, ...], want: tuple[int, ...]) -> RuleError:
        return RuleError(
            f"primitive {self.name!r}: its {kind} rule for argument {i} returned shape {got}, but "
            f"{want} was expected (the leading batch axes followed by the "
            f"{'argument' if kind == 'vjp' else 'output'}'s shape). Rules receive g with leading "
            "batch axes and must address the trailing axes only."
        )

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return apply(self, args, kwargs)

    def __repr__(self) -> str:
        return f"<modes primitive {self.name}>"


class UserPrimitive(Primitive):
    """A primitive registered with ``modes.primitive``: its calls and its rules' results are
    checked, so a mismatch names the primitive instead of failing deep inside a sweep."""

    user = True
    __slots__ = ()

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if self.nargs is not None and len(args) != self.nargs:
            raise RuleError(
                f"primitive {self.name!r} was called with {len(args)} positional arguments but its "
                f"rules describe {self.nargs}; give one rule per positional argument (None for an "
                "argument with no derivative), and pass options as keyword arguments."
            )
        return apply(self, args, kwargs)


def reads_mask(rule: Rule | None) -> int:
    """Bitmask of the positional parameters ``rule`` reads; all of them when it cannot tell."""
    if rule is None:
        return 0
    code = getattr(rule, "__code__", None)
    if code is None or code.co_flags & (inspect.CO_VARARGS | inspect.CO_VARKEYWORDS):
        return -1  # every bit set
    params = code.co_varnames[: code.co_argcount]
    loaded = {ins.argval for ins in dis.get_instructions(code) if ins.opname.startswith("LOAD_")}
    # A parameter captured by a nested function is read through a cell.
    loaded |= set(code.co_cellvars)
    mask = 0
    for k, name in enumerate(params):
        if name in loaded:
            mask |= 1 << k
    return mask


class Traced:
    """Base of the values that carry derivative information (forward ``Dual``, reverse ``Var``).

    ``_level`` is the nesting level of the transformation that created the value; the highest level
    among a primitive's arguments handles it, treating lower-level values as constants that are
    themselves traced by the enclosing transformation (perturbation tagging).
    """

    __slots__ = ()
    _level: int
    # True for compile's symbolic values (modes.staging.Sym): plain() of one records a guard.
    _staged = False

    def _apply(self, prim: Primitive, args: tuple, kwargs: dict) -> Any:  # pragma: no cover
        raise NotImplementedError


def apply(prim: Primitive, args: tuple, kwargs: dict) -> Any:
    """Evaluate ``prim`` on ``args``, routing to the innermost active transformation if any."""
    top = None
    for a in args:
        if isinstance(a, Traced) and (top is None or a._level > top._level):
            top = a
    if top is None:
        return prim.fn(*args, **kwargs)
    return top._apply(prim, args, kwargs)


def value_at_level(x: Any, level: int) -> Any:
    """Strip the boxes of ``level`` and above (keeps lower-level boxes)."""
    while isinstance(x, Traced) and x._level >= level:
        x = x.value  # type: ignore[attr-defined]
    return x


def plain(x: Any) -> Any:
    """Strip every box: the numeric value underneath."""
    while isinstance(x, Traced):
        x = x.concrete() if x._staged else x.value  # type: ignore[attr-defined]
    return x


def primitive(
    fn: Callable[..., Any],
    name: str | None = None,
    partials: Sequence[Rule | None] | None = None,
    jvp: Sequence[Rule | None] | Rule | None = None,
    vjp: Sequence[Rule | None] | None = None,
    linear: bool = False,
    cost: Rule | None = None,
) -> Primitive:
    """Register ``fn`` as a primitive that works on plain arrays and on traced values of both modes.

    Elementwise: ``partials=(lambda ans, x, y: y, lambda ans, x, y: x)`` (one per positional argument).
    Otherwise: ``jvp=(lambda g, ans, x: ..., )`` and ``vjp=(lambda g, ans, x: ..., )`` where ``g`` has
    leading batch axes (``g.shape == batch + x.shape`` for jvp, ``batch + ans.shape`` for vjp).
    ``None`` in place of a rule marks an argument with no derivative. Keyword arguments are passed to
    ``fn`` and to every rule unchanged and are never differentiated. ``cost(ans, *args, **kw)``
    optionally gives the operation count of one evaluation from shapes (``modes.flops``); by
    default one per element of the result for partials, 0 otherwise.
    """
    return UserPrimitive(fn, name or getattr(fn, "__name__", "primitive"), partials, jvp, vjp,
                         linear, cost=cost)
