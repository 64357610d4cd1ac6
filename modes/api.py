"""The public transformations: grad, value_and_grad, jvp, vjp, jacobian, hessian, hvp."""

from __future__ import annotations

import gc
from collections.abc import Callable, Sequence
from typing import Any, Literal

import numpy as np

from . import cost_model, levels, memory
from .levels import check_open
from .compiled import Transform
from .nonfinite import all_finite, nan_safe
from .forward import Dual
from .pytree import TreeDef, describe, flatten, is_container, map_leaves, unflatten
from .registry import Traced, plain, value_at_level
from .tracing import lift_object_array
from .reverse import Tape, Var, reverse_sweep
from .unbroadcast import shape_of

Mode = Literal["forward", "reverse"]
ndarray = np.ndarray
float64 = np.float64
_F64 = np.dtype(np.float64)
ArgNum = int | Sequence[int]


# ---- inputs -----------------------------------------------------------------------------------------
def as_float_input(x: Any, what: str = "input") -> Any:
    """Python floats, float arrays and traced values pass; ints and bools become float64.

    Complex and non-numeric inputs are rejected with a ``TypeError``.
    """
    if isinstance(x, (float, Traced)):
        return x
    if isinstance(x, (bool, int)):
        return float(x)
    arr = np.asarray(x) if not isinstance(x, np.ndarray) else x
    kind = arr.dtype.kind
    if kind == "f":
        return x if isinstance(x, (np.ndarray, np.floating)) else arr
    if kind in "iub":
        return arr.astype(np.float64)
    if kind == "c":
        raise TypeError(
            f"{what} is complex ({arr.dtype}); modes differentiates real functions only. Split it "
            "into real and imaginary parts and differentiate with respect to each."
        )
    raise TypeError(f"{what} has dtype {arr.dtype}; pass a float (or int) number or array.")


def _argnums(argnum: ArgNum, nargs: int) -> tuple[tuple[int, ...], bool]:
    single = isinstance(argnum, (int, np.integer))
    nums = (int(argnum),) if single else tuple(int(a) for a in argnum)  # type: ignore[union-attr]
    for a in nums:
        if not -nargs <= a < nargs:
            raise ValueError(f"argnum={a} is out of range for a call with {nargs} positional arguments")
    return tuple(a % nargs for a in nums), single


def _check_mode(mode: str, allowed: tuple[str, ...]) -> None:
    if mode not in allowed:
        raise ValueError(f"mode={mode!r} is not one of {', '.join(map(repr, allowed))}")


def _size(shape: tuple[int, ...]) -> int:
    n = 1
    for s in shape:
        n *= s
    return n


def _fresh(b: Any, shape: tuple[int, ...]) -> Any:
    """A derivative the caller may keep: zeros for a missing adjoint, a copy of read-only views."""
    if b is None:
        return np.zeros(shape) if shape else 0.0
    if isinstance(b, np.ndarray) and not b.flags.writeable:
        return np.array(b)
    return b


# ---- forward mode -------------------------------------------------------------------------------------
def _forward_pass(f: Callable[..., Any], args: list, tangents: dict[int, Any],
                  k: int) -> tuple[Any, Any]:
    """Run f once on Duals; ``tangents[i]`` has shape (k,) + args[i].shape.

    Returns ``(out, out_tangent)`` with ``out_tangent`` of shape (k,) + out.shape, or None (zero).
    """
    level = levels.enter()
    try:
        boxed = list(args)
        for i, t in tangents.items():
            boxed[i] = Dual(args[i], t, level)
        out = f(*boxed)
        if type(out) is np.ndarray and out.dtype.hasobject:  # np.array([x, y]) of traced entries
            out = lift_object_array(out)
    finally:
        levels.leave()
    if type(out) is Dual and out._level == level:
        return out.value, out.tangent
    return out, None


_EYES: dict[int, np.ndarray] = {}


def _seed_block(n: int, start: int, stop: int) -> np.ndarray:
    """Rows start..stop of the n x n identity: one seed direction per row (read-only)."""
    if n <= 256:
        eye = _EYES.get(n)
        if eye is None:
            eye = _EYES[n] = np.eye(n)
            eye.flags.writeable = False
        return eye[start:stop]
    seeds = np.zeros((stop - start, n))
    seeds[np.arange(stop - start), np.arange(start, stop)] = 1.0
    return seeds


def _enclosing_directions(a: Any) -> int:
    """How many directions the forward transformations enclosing this one carry on ``a``: a chunk
    of k directions here multiplies every intermediate's tangent entries by k again, so the chunk
    cap counts them (forward-over-forward at n = 1000 would otherwise hold n^3 entries per value)."""
    width = 1
    while isinstance(a, Traced):
        t = getattr(a, "tangent", None)
        if t is not None and type(a) is Dual:
            width *= max(1, shape_of(t)[0]) if shape_of(t) else 1
        a = a.value  # type: ignore[attr-defined]
    return width


def _forward_jacobian(f: Callable[..., Any], args: list, argnums: tuple[int, ...],
                      chunk_size: int | None) -> tuple[Any, np.ndarray]:
    """Columns of the Jacobian by chunked forward passes: returns (out, J) with J (n, m)."""
    shapes = []
    n = 0
    biggest = 1
    casts = None  # inputs that are not float64: their tangents take the input's precision
    for i in argnums:
        a = args[i]
        if type(a) is float:
            shape = ()
        else:
            shape = shape_of(a)
            if a.dtype is not _F64:
                casts = casts or {}
                casts[i] = a.dtype
        shapes.append(shape)
        size = _size(shape)
        n += size
        biggest = max(biggest, size * _enclosing_directions(a) if isinstance(a, Traced) else size)
    k = chunk_size or cost_model.default_chunk(n, biggest)
    out = None
    parts = []
    for start in range(0, n or 1, k):  # n = 0 (empty inputs): one pass with no directions
        stop = min(n, start + k)
        seeds = _seed_block(n, start, stop)
        tangents = {}
        offset = 0
        for i, shape in zip(argnums, shapes):
            if shape:
                size = _size(shape)
                tangents[i] = seeds[:, offset : offset + size].reshape((stop - start,) + shape)
                offset += size
            else:
                tangents[i] = seeds[:, offset]
                offset += 1
        if casts is not None:
            for i, dtype in casts.items():
                tangents[i] = tangents[i].astype(dtype)
        out, t = _forward_pass(f, args, tangents, stop - start)
        out_shape = () if type(out) is float else shape_of(out)
        if t is None:
            t = np.zeros((stop - start, _size(out_shape)))
        elif out_shape != ():
            t = np.reshape(t, (stop - start, _size(out_shape)))
        parts.append(t)  # (k, m), or (k,) for a scalar output
    cols = parts[0] if len(parts) == 1 else np.concatenate(parts, axis=0)
    if type(cols) is np.ndarray and not cols.flags.writeable:
        cols = np.array(cols)
    return out, cols


# ---- reverse mode ---------------------------------------------------------------------------------------
def _record(f: Callable[..., Any], args: list, argnums: tuple[int, ...],
            keep_values: bool = False) -> tuple[Any, Tape, list[Var], int]:
    """The nominal pass: run f on tape variables for the arguments in ``argnums``."""
    level = levels.enter()
    # The tape holds no reference cycles; pausing the cyclic collector while it grows avoids
    # repeated scans of a long Wengert list (twice faster on a 10^5-node chain).
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        tape = Tape(keep_values)
        boxed, leaves = tape.leaves(args, argnums, level)
        out = f(*boxed)
        if type(out) is np.ndarray and out.dtype.hasobject:  # np.array([x, y]) of traced entries
            out = lift_object_array(out)
    finally:
        levels.leave()
        if gc_was_enabled:
            gc.enable()
    memory.sample()
    return out, tape, leaves, level


def _out_value(out: Any, tape: Tape, level: int) -> Any:
    return out.value if type(out) is Var and out._level == level and out._tape is tape else out


def _pull(out: Any, tape: Tape, leaves: list[Var], level: int, seed: Any, batch_ndim: int,
          retain: bool) -> list[Any]:
    batch = shape_of(seed)[:batch_ndim]
    if not (type(out) is Var and out._level == level and out._tape is tape):
        return [_fresh(None, batch + shape_of(leaf.value)) for leaf in leaves]
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        bars = reverse_sweep(tape, out._index, seed, batch_ndim, [leaf._index for leaf in leaves],
                             retain)
    finally:
        if gc_was_enabled:
            gc.enable()
    return [b if type(b) is float else
            _like(_fresh(b if b is not seed or isinstance(b, Traced) else np.array(b),
                         batch + shape_of(leaf.value)), leaf.value)
            for b, leaf in zip(bars, leaves)]


def _widest_value(tape: Tape) -> int:
    """The most entries of a traced value on the tape (the parents' shapes its nodes record):
    a sweep with k cotangents holds k times that in one bar, so the chunk cap counts it (an inner
    forward pass keeps (chunk, n) tangents). Constants (the A of A @ x) carry no bar: not counted."""
    widest = 0
    for node in tape.nodes:
        if node is None:
            continue
        for edge in (node[0] if len(node) == 4 else node[1]):
            shape = edge[2]
            if shape:
                widest = max(widest, _size(shape))
    return widest


def _no_leak(leaves: Sequence[Any], what: str) -> None:
    """A traced value among the results must belong to an enclosing, still open transformation."""
    for x in leaves:
        if isinstance(x, Traced):
            check_open(x, what)


def _rerun_nan_safe(derivatives: Sequence[Any], what: str) -> bool:
    """Whether the derivatives hold a nan or inf and were not computed nan-safe yet (see
    ``modes.nonfinite``): the caller then computes them again inside ``nan_safe()``. A traced
    value of a transformation that has ended among them raises ``LeakedTracerError``."""
    rerun = False
    for b in derivatives:
        if type(b) is float:
            if b - b != 0:  # inf - inf and nan - nan are nan
                rerun = True
            continue
        if isinstance(b, Traced):
            check_open(b, what)
        if not all_finite((b,)):
            rerun = True
    return rerun and not levels.nan_safe_active()


def _scalar_check(value: Any) -> None:
    t = type(value)
    if t is float or t is float64:
        return
    if is_container(value):
        raise TypeError(
            f"grad needs a function that returns a scalar, but it returned a {type(value).__name__}. "
            "Use modes.jacobian (or modes.vjp) for several outputs, or has_aux=True if f returns "
            "(value, extra data)."
        )
    shape = shape_of(value)
    if shape != () and _size(shape) != 1:
        raise ValueError(
            f"grad needs a function that returns a scalar (or one entry), but it returned shape {shape}. Use "
            "modes.jacobian for vector outputs, or modes.vjp to pull back a cotangent."
        )


# ---- containers, keyword arguments, auxiliary outputs ------------------------------------------------
class _Inputs:
    """The differentiated arguments of one call, flattened into leaves.

    ``fn`` is ``f`` seen as a function of ``args`` (plain arguments in place, the differentiated
    ones replaced by their leaves) and ``nums`` the positions of those leaves. With no containers
    and no keyword arguments ``fn`` is ``f`` itself: the hot path adds nothing.
    """

    __slots__ = ("fn", "args", "nums", "defs", "spans", "originals")

    def __init__(self, f: Callable[..., Any], args: tuple, kwargs: dict, nums: tuple[int, ...]) -> None:
        self.originals = [args[i] for i in nums]
        if not kwargs and not any(is_container(args[i]) for i in nums):
            self.fn = f
            self.args = list(args)
            for i in nums:
                self.args[i] = as_float_input(args[i], f"argument {i}")
            self.nums = nums
            self.defs = None
            self.spans = None
            return
        leaves: list[Any] = []
        defs = []
        spans = []
        for i in nums:
            ls, d = flatten(args[i])
            spans.append((len(leaves), len(leaves) + len(ls)))
            leaves += [as_float_input(x, f"argument {i} ({_where_in(d, k)})" if not d.is_leaf
                                      else f"argument {i}") for k, x in enumerate(ls)]
            defs.append(d)
        fixed = list(args)

        def fn(*flat: Any) -> Any:
            call = list(fixed)
            for i, d, (a, b) in zip(nums, defs, spans):
                call[i] = unflatten(d, flat[a:b])
            return f(*call, **kwargs)

        self.fn = fn
        self.args = leaves
        self.nums = tuple(range(len(leaves)))
        self.defs = defs
        self.spans = spans

    def per_argument(self, flat: Sequence[Any]) -> list[Any]:
        """One result per differentiated argument, in its structure, from one result per leaf."""
        flat = [_like(r, x) for r, x in zip(flat, self.args if self.defs is not None else
                                                  [self.args[i] for i in self.nums])]
        if self.defs is None:
            return flat
        return [unflatten(d, flat[a:b]) for d, (a, b) in zip(self.defs, self.spans)]


def _where_in(d: TreeDef, k: int) -> str:
    return f"leaf {k} of {describe(d)}"


def _like(result: Any, x: Any) -> Any:
    """A derivative with respect to ``x`` in ``x``'s precision; complex derivatives are an error."""
    t = type(result)
    if t is float or t is ndarray and result.dtype is _F64 and (
            type(x) is float or type(x) is ndarray and x.dtype is _F64):
        return result
    dtype = getattr(result, "dtype", None)
    if dtype is not None and dtype.kind == "c":
        raise TypeError(
            "a complex value entered the computation (a complex input or constant, such as "
            "x * 1j); modes differentiates real functions only, and a complex derivative of a "
            "real input would be wrong. Split complex quantities into real and imaginary parts.")
    want = getattr(x, "dtype", None)
    if want is not None and dtype is not None and want != dtype and want.kind == "f" \
            and not isinstance(result, Traced):
        return result.astype(want)
    return result


class _Output:
    """Wraps ``f`` so the transformations see one array: splits off ``aux`` (``has_aux=True``) and
    ravels a container output into one vector, remembering its structure and leaf shapes."""

    __slots__ = ("f", "has_aux", "aux", "treedef", "shapes", "allow_container")

    def __init__(self, f: Callable[..., Any], has_aux: bool, allow_container: bool = True) -> None:
        self.f = f
        self.has_aux = has_aux
        self.allow_container = allow_container
        self.aux = None
        self.treedef: TreeDef | None = None
        self.shapes: list[tuple[int, ...]] = []

    def __call__(self, *args: Any) -> Any:
        out = self.f(*args)
        if self.has_aux:
            if not (isinstance(out, tuple) and len(out) == 2):
                raise TypeError("with has_aux=True, f must return a pair (output, aux); it returned "
                                f"{type(out).__name__}")
            out, self.aux = out
        if self.allow_container and is_container(out) and out is not None:
            leaves, self.treedef = flatten(out)
            if not leaves:
                raise TypeError(f"f returned a container with no arrays in it: {describe(self.treedef)}")
            self.shapes = [shape_of(x) for x in leaves]
            return np.concatenate([np.reshape(x, (-1,)) for x in leaves]) if len(leaves) > 1 \
                else np.reshape(leaves[0], (-1,))
        return out

    def split(self, flat: Any, lead: tuple[int, ...] = ()) -> Any:
        """A raveled output (with ``lead`` leading axes) back into the output's structure."""
        if self.treedef is None:
            return flat
        parts = []
        offset = 0
        for shape in self.shapes:
            size = _size(shape)
            block = np.reshape(flat[(slice(None),) * len(lead) + (slice(offset, offset + size),)],
                               lead + shape)
            parts.append(block[()] if type(block) is np.ndarray and not block.ndim else block)
            offset += size
        return unflatten(self.treedef, parts)

    def strip_aux(self, level: int) -> Any:
        """``aux`` without the boxes of the finished transformation (values, not traced values)."""
        return map_leaves(lambda x: value_at_level(x, level), self.aux)


def _check_output(value: Any, what: str) -> None:
    t = type(value)
    if t is float or (t is np.ndarray or t is np.float64) and value.dtype.kind == "f":
        return
    if value is None:
        raise TypeError(f"{what}: f returned None; it must return the number to differentiate "
                        "(a missing return statement?)")
    if isinstance(value, (bool, np.bool_)) or getattr(value, "dtype", None) == np.bool_:
        raise TypeError(f"{what}: f returned a boolean (a comparison?), which has no derivative; "
                        "return the number itself")
    dtype = getattr(value, "dtype", None)
    if dtype is not None and dtype.kind == "c" or isinstance(value, complex):
        raise TypeError(f"{what}: f returned a complex value; modes differentiates real functions "
                        "only (take np.real or np.abs inside f, of real quantities)")
    if dtype is not None and dtype.kind not in "fiu" and dtype.kind != "b":
        raise TypeError(f"{what}: f returned {type(value).__name__} of dtype {dtype}; return a "
                        "number or a float array")


# ---- public API ---------------------------------------------------------------------------------------------
def value_and_grad(f: Callable[..., Any], argnum: ArgNum = 0, mode: Mode = "reverse",
                   has_aux: bool = False) -> Callable[..., Any]:
    """``value_and_grad(f)(*args, **kwargs) -> (f(*args, **kwargs), gradient)``.

    The gradient has the structure of ``args[argnum]`` (an array, a number, or a dict/list/tuple
    of them; a tuple of gradients if ``argnum`` is a tuple) and each leaf its dtype. ``f`` must
    return a scalar. Keyword arguments go to ``f`` undifferentiated. ``has_aux=True``: f returns
    ``(value, aux)`` and the result is ``((value, aux), gradient)``. ``mode="reverse"``: one
    nominal pass and one reverse sweep; ``mode="forward"``: chunked forward passes.
    """
    _check_mode(mode, ("forward", "reverse"))

    cache: dict[int, tuple[tuple[int, ...], bool]] = {}

    def value_and_grad_f(*args: Any, **kwargs: Any) -> tuple[Any, Any]:
        nargs = len(args)
        if nargs not in cache:
            cache[nargs] = _argnums(argnum, nargs)
        nums, single = cache[nargs]
        inputs = None
        fn = f
        args_l = list(args)
        if not kwargs and not has_aux:  # the hot path: floats and float arrays go straight in
            for i in nums:
                a = args_l[i]
                t = type(a)
                if t is float or t is ndarray and a.dtype.kind == "f":
                    continue
                if is_container(a):
                    inputs = _Inputs(f, args, kwargs, nums)
                    break
                args_l[i] = as_float_input(a, f"argument {i}")
        else:
            inputs = _Inputs(f, args, kwargs, nums)
        if inputs is not None:
            fn = inputs.fn
            args_l = inputs.args
            nums = inputs.nums
        wrapped = None
        if has_aux:
            fn = wrapped = _Output(fn, has_aux, allow_container=False)
        if mode == "reverse":
            out, tape, leaves, level = _record(fn, args_l, nums)
            value = _out_value(out, tape, level)
            tv = type(value)
            if tv is float or tv is float64:
                seed = 1.0
            else:
                _check_output(value, "grad")
                _scalar_check(value)
                seed = 1.0 if not shape_of(value) else np.ones(shape_of(value))
            flat = _pull(out, tape, leaves, level, seed, 0, retain=False)
        else:
            level = levels.upcoming() if has_aux else 0
            value, cols = _forward_jacobian(fn, args_l, nums, None)
            tv = type(value)
            if tv is not float and tv is not float64:
                _check_output(value, "grad")
                _scalar_check(value)
            flat = []
            offset = 0
            col = cols if len(shape_of(cols)) == 1 else cols[:, 0]
            values = col.tolist() if isinstance(col, np.ndarray) else None
            for i in nums:
                shape = shape_of(args_l[i])
                if shape:
                    size = _size(shape)
                    flat.append(_like(np.reshape(col[offset : offset + size], shape), args_l[i]))
                    offset += size
                else:  # a Python float, as reverse mode returns for scalar inputs
                    flat.append(values[offset] if values is not None else col[offset])
                    offset += 1
        for b in flat:  # the scalar hot path: finite floats need no further check
            if type(b) is not float or b - b != 0:
                break
        else:
            b = None
        if b is not None and _rerun_nan_safe(flat, "the gradient"):
            with nan_safe():
                return value_and_grad_f(*args, **kwargs)
        if type(value) is not float and isinstance(value, Traced):
            check_open(value, "the value f returned")
        # Reverse-mode bars come back from _pull in their input's dtype already.
        grads = flat if inputs is None else inputs.per_argument(flat)
        g = grads[0] if single else tuple(grads)
        if wrapped is not None:
            aux = wrapped.strip_aux(level)
            _no_leak(flatten(aux)[0], "the aux value f returned")
            return (value, aux), g
        return value, g

    value_and_grad_f.__modes_transform__ = Transform(  # type: ignore[attr-defined]
        "value_and_grad", f, argnum, mode, has_aux)
    return value_and_grad_f


def grad(f: Callable[..., Any], argnum: ArgNum = 0, mode: Mode = "reverse",
         has_aux: bool = False) -> Callable[..., Any]:
    """``grad(f)(*args, **kwargs)``: the gradient of scalar ``f`` in the structure of
    ``args[argnum]``.

    ``mode="reverse"`` (default) or ``"forward"``; ``argnum`` may be a tuple (returns a tuple);
    ``has_aux=True`` returns ``(gradient, aux)`` for an f returning ``(value, aux)``. Raises
    ``ValueError`` if ``f`` does not return a scalar, ``TypeError`` if it returns None or a bool.
    """
    vg = value_and_grad(f, argnum, mode, has_aux)

    if has_aux:
        def grad_aux_f(*args: Any, **kwargs: Any) -> Any:
            (_, aux), g = vg(*args, **kwargs)
            return g, aux

        grad_aux_f.__modes_transform__ = Transform(  # type: ignore[attr-defined]
            "grad", f, argnum, mode, has_aux)
        return grad_aux_f

    def grad_f(*args: Any, **kwargs: Any) -> Any:
        return vg(*args, **kwargs)[1]

    grad_f.__modes_transform__ = Transform("grad", f, argnum, mode, has_aux)  # type: ignore[attr-defined]
    return grad_f


def jvp(f: Callable[..., Any], primals: Sequence[Any], tangents: Sequence[Any]) -> tuple[Any, Any]:
    """Forward mode: ``(f(*primals), J @ tangents)`` in one pass.

    One tangent per primal, with the primal's structure and shapes (containers allowed); the
    output tangent has the output's structure.
    """
    primals, tangents = tuple(primals), tuple(tangents)
    if len(primals) != len(tangents):
        raise ValueError(f"jvp got {len(primals)} primals but {len(tangents)} tangents; give one "
                         "tangent per primal, with the primal's shape")
    p_leaves, p_def = flatten(primals)
    t_leaves, t_def = flatten(tangents)
    if p_def != t_def:
        raise ValueError(f"jvp: the tangents' structure {describe(t_def)} differs from the "
                         f"primals' {describe(p_def)}; give one tangent per primal leaf")
    args = [as_float_input(p, f"primal leaf {i}") for i, p in enumerate(p_leaves)]
    ts = {}
    for i, (p, t) in enumerate(zip(args, t_leaves)):
        t = as_float_input(t, f"tangent leaf {i}")
        if shape_of(t) != shape_of(p):
            where = "" if all(not is_container(q) for q in primals) else " (leaves, in order)"
            raise ValueError(f"tangent {i} has shape {shape_of(t)} but primal {i} has shape "
                             f"{shape_of(p)}{where}; they must match")
        dtype = getattr(p, "dtype", None)
        if dtype is not None and not isinstance(t, Traced) and getattr(t, "dtype", dtype) != dtype:
            t = np.asarray(t, dtype=dtype)
        ts[i] = np.reshape(t, (1,) + shape_of(p))
    wrapped = _Output(lambda *leaves: f(*unflatten(p_def, leaves)), False)
    out, t_out = _forward_pass(wrapped, args, ts, 1)
    if _rerun_nan_safe((t_out,), "the tangent"):
        with nan_safe():
            out, t_out = _forward_pass(wrapped, args, ts, 1)
    _check_output(out, "jvp")
    _no_leak((out,), "the value f returned")
    t_out = _fresh(None, shape_of(out)) if t_out is None else t_out[0]
    _like(t_out, None)
    return wrapped.split(out), wrapped.split(t_out)


def vjp(f: Callable[..., Any], *primals: Any, has_aux: bool = False) -> tuple[Any, ...]:
    """Reverse mode: ``(f(*primals), pullback)`` (``(out, pullback, aux)`` with ``has_aux``).

    ``pullback(cotangent)`` returns a tuple with one cotangent per primal, in the primal's
    structure and shapes; the cotangent has the output's structure. With ``batched=True`` every
    cotangent leaf has a leading axis of k rows, pulled back in one sweep (results get the same
    leading axis). The tape is kept, so the pullback may be called many times; ``pullback.tape``
    is it (``len(pullback.tape)`` nodes, ``pullback.tape.nbytes`` bytes of residuals).
    """
    inputs = _Inputs(f, primals, {}, tuple(range(len(primals))))
    wrapped = _Output(inputs.fn, has_aux)
    out, tape, leaves, level = _record(wrapped, inputs.args, inputs.nums)
    value = _out_value(out, tape, level)
    _check_output(value, "vjp")
    out_shape = shape_of(value)

    def pullback(cotangent: Any, batched: bool = False) -> tuple:
        if wrapped.treedef is not None:
            c_leaves, c_def = flatten(cotangent)
            if c_def != wrapped.treedef:
                raise ValueError(f"the cotangent's structure {describe(c_def)} differs from the "
                                 f"output's {describe(wrapped.treedef)}")
            lead = shape_of(c_leaves[0])[:1] if batched else ()
            for c, shape in zip(c_leaves, wrapped.shapes):
                if shape_of(c) != lead + shape:
                    raise ValueError(f"a cotangent leaf has shape {shape_of(c)} where the output "
                                     f"leaf has shape {shape}{' (after the batch axis)' if batched else ''}")
            cotangent = np.concatenate([np.reshape(as_float_input(c, "cotangent"), lead + (-1,))
                                        for c in c_leaves], axis=-1)
        c = as_float_input(cotangent, "cotangent")
        cshape = shape_of(c)
        want = cshape[:1] + out_shape if batched else out_shape
        if cshape != want or (batched and not cshape):
            raise ValueError(
                f"cotangent has shape {cshape} but the output has shape {out_shape}; pass an array of "
                f"the output's shape{' with a leading batch axis' if batched else ''}"
            )
        flat = _pull(out, tape, leaves, level, c, 1 if batched else 0, retain=True)
        if _rerun_nan_safe(flat, "the pulled-back cotangent"):
            with nan_safe():
                flat = _pull(out, tape, leaves, level, c, 1 if batched else 0, retain=True)
        return tuple(inputs.per_argument(flat))

    _no_leak((value,), "the value f returned")
    pullback.tape = tape  # type: ignore[attr-defined]  # its size: len(tape), tape.nbytes
    result = wrapped.split(value)
    if has_aux:
        aux = wrapped.strip_aux(level)
        _no_leak(flatten(aux)[0], "the aux value f returned")
        return result, pullback, aux
    return result, pullback


def jacobian(f: Callable[..., Any], argnum: ArgNum = 0,
             mode: Literal["auto", "forward", "reverse"] = "auto",
             chunk_size: int | None = None, has_aux: bool = False,
             sparse: bool = False) -> Callable[..., Any]:
    """``jacobian(f)(*args, **kwargs)``: shape ``out.shape + args[argnum].shape``.

    Containers nest as in JAX: the output's structure, each leaf holding the input's structure
    of blocks ``out_leaf.shape + in_leaf.shape``; a tuple ``argnum`` gives a tuple over the
    arguments. ``forward``: chunks of ``chunk_size`` directions per pass; ``reverse``: one nominal
    pass, then batches of ``chunk_size`` cotangent rows per sweep; ``auto``: picks by
    ``modes.cost_model.choose_mode`` from the input and output sizes (f is evaluated once on plain
    values to learn the output size). ``has_aux=True`` returns ``(jacobian, aux)``.
    ``sparse=True``: a ``scipy.sparse.csr_array`` (out.size x arg.size) from the sparsity pattern
    and one pass or sweep per colour (``modes.sparse_jacobian``; ``auto`` compares colour counts).
    """
    _check_mode(mode, ("auto", "forward", "reverse"))
    if chunk_size is not None and chunk_size < 1:
        raise ValueError(f"chunk_size must be a positive integer, got {chunk_size}")

    def jacobian_f(*args: Any, **kwargs: Any) -> Any:
        if sparse:
            from . import sparse_jacobian
            return sparse_jacobian.jacobian(f, argnum, mode, chunk_size, has_aux)(*args, **kwargs)
        nums, single = _argnums(argnum, len(args))
        inputs = _Inputs(f, args, kwargs, nums)
        wrapped = _Output(inputs.fn, has_aux)
        args_l, flat_nums = inputs.args, inputs.nums
        in_shapes = [shape_of(args_l[i]) for i in flat_nums]
        n = sum(_size(s) for s in in_shapes)
        chosen = mode
        if mode == "auto":
            probe = _Output(inputs.fn, has_aux)
            m = _size(shape_of(probe(*args_l)))
            chosen = cost_model.choose_mode(n, m)
        if chosen == "forward":
            level = levels.upcoming()
            out, cols = _forward_jacobian(wrapped, args_l, flat_nums, chunk_size)
            _check_output(out, "jacobian")
            out_shape = shape_of(out)
            rows = np.transpose(np.reshape(cols, (n, _size(out_shape))))
        else:
            out, tape, leaves, level = _record(wrapped, args_l, flat_nums)
            value = _out_value(out, tape, level)
            _check_output(value, "jacobian")
            out_shape = shape_of(value)
            m = _size(out_shape)
            k = chunk_size or (cost_model.default_chunk(m, max(n, m, _widest_value(tape))) if m > 1 else 1)
            parts = []
            for start in range(0, m or 1, k):  # m = 0 (an empty output): one empty sweep
                stop = min(m, start + k)
                seed = np.zeros((stop - start, m), dtype=_result_dtype(value))
                seed[np.arange(stop - start), np.arange(start, stop)] = 1.0
                bars = _pull(out, tape, leaves, level, seed.reshape((stop - start,) + out_shape), 1,
                             retain=stop < m)
                parts.append(np.concatenate([np.reshape(b, (stop - start, -1)) for b in bars], axis=1)
                             if len(bars) > 1 else np.reshape(bars[0], (stop - start, n)))
            rows = parts[0] if len(parts) == 1 else np.concatenate(parts, axis=0)
        if _rerun_nan_safe((rows,), "the Jacobian"):
            with nan_safe():
                return jacobian_f(*args, **kwargs)
        _no_leak((out,) if chosen == "forward" else (value,), "the value f returned")
        result = _assemble_tree(rows, out_shape, wrapped, inputs, single)
        if not has_aux:
            return result
        aux = wrapped.strip_aux(level)
        _no_leak(flatten(aux)[0], "the aux value f returned")
        return result, aux

    return jacobian_f


def _result_dtype(value: Any) -> Any:
    dtype = getattr(value, "dtype", None)
    return dtype if dtype is not None and dtype.kind == "f" else np.float64


def _assemble_tree(rows: Any, out_shape: tuple[int, ...], wrapped: _Output, inputs: _Inputs,
                   single: bool) -> Any:
    """Split the (m, n) Jacobian into blocks: output structure, then argument structures."""
    leaf_args = [inputs.args[i] for i in inputs.nums]
    out_leaves = [(0, _size(out_shape), out_shape)]
    if wrapped.treedef is not None:
        out_leaves = []
        offset = 0
        for shape in wrapped.shapes:
            out_leaves.append((offset, offset + _size(shape), shape))
            offset += _size(shape)
    per_out = []
    for a, b, oshape in out_leaves:
        blocks = []
        col = 0
        for x in leaf_args:
            xshape = shape_of(x)
            size = _size(xshape)
            block = np.reshape(rows[a:b, col : col + size], oshape + xshape)
            blocks.append(_like(block[()] if shape_of(block) == () else block, x))
            col += size
        grouped = inputs.per_argument(blocks)
        per_out.append(grouped[0] if single else tuple(grouped))
    if wrapped.treedef is None:
        return per_out[0]
    return unflatten(wrapped.treedef, per_out)


SecondOrderMode = Literal["forward-over-forward", "forward-over-reverse", "reverse-over-forward",
                          "reverse-over-reverse"]
SECOND_ORDER_MODES: tuple[str, ...] = ("forward-over-forward", "forward-over-reverse",
                                       "reverse-over-forward", "reverse-over-reverse")


def _outer_inner(mode: str) -> tuple[Mode, Mode]:
    """``"forward-over-reverse"`` -> ("forward", "reverse"): the outer mode differentiates the
    inner mode's gradient."""
    _check_mode(mode, SECOND_ORDER_MODES)
    outer, _, inner = mode.partition("-over-")
    return outer, inner  # type: ignore[return-value]


def hessian(f: Callable[..., Any], argnum: int = 0,
            mode: SecondOrderMode = "forward-over-reverse", sparse: bool = False) -> Callable[..., Any]:
    """``hessian(f)(*args, **kwargs)``: shape ``arg.shape + arg.shape`` (nested for containers).

    ``mode`` names the composition, outer over inner: the outer mode's Jacobian of the inner
    mode's gradient. All four agree to rounding; their costs differ (``experiments/suite/second_order``).
    ``sparse=True``: a symmetric ``scipy.sparse.csr_array`` (arg.size x arg.size) by star colouring
    of the gradient's sparsity pattern (``modes.sparse_jacobian``).
    """
    if sparse:
        from . import sparse_jacobian
        return sparse_jacobian.hessian(f, argnum, mode)
    outer, inner = _outer_inner(mode)
    return jacobian(grad(f, argnum, mode=inner), argnum, mode=outer)


def _tree_vdot(a: Any, b: Any) -> Any:
    """The sum over leaves of ``sum(a_leaf * b_leaf)`` of two trees of the same structure."""
    la, da = flatten(a)
    lb, db = flatten(b)
    if da != db:
        raise ValueError(f"hvp: v must have the structure of x: x is {describe(da)}, v is {describe(db)}")
    total = 0.0
    for p, q in zip(la, lb):
        total = total + np.sum(p * q)
    return total


def hvp(f: Callable[..., Any], x: Any, v: Any, mode: SecondOrderMode = "forward-over-reverse",
        **kwargs: Any) -> Any:
    """Hessian-vector product ``H(x) @ v`` of scalar ``f``; ``x`` and ``v`` may be containers of
    the same structure; other keyword arguments go to ``f``.

    ``mode``: ``"forward-over-reverse"`` (default: one forward pass over one reverse sweep),
    ``"reverse-over-reverse"`` (the gradient of ``<grad f, v>``), ``"reverse-over-forward"`` (the
    gradient of the directional derivative ``jvp(f, x, v)``), ``"forward-over-forward"`` (a forward
    pass over the forward gradient: as many passes as ``x`` has entries).
    """
    outer, inner = _outer_inner(mode)

    def fx(y: Any) -> Any:
        return f(y, **kwargs)

    if inner == "reverse" and outer == "forward" or inner == outer == "forward":
        return jvp(grad(fx, mode=inner), (x,), (v,))[1]
    if inner == "reverse":  # reverse-over-reverse
        return grad(lambda y: _tree_vdot(grad(fx)(y), v))(x)
    return grad(lambda y: jvp(fx, (y,), (v,))[1])(x)  # reverse-over-forward
