"""The public transformations: grad, value_and_grad, jvp, vjp, jacobian, hessian, hvp."""

from __future__ import annotations

import gc
from collections.abc import Callable, Sequence
from typing import Any, Literal

import numpy as np

from . import cost_model, forward, levels, memory
from .forward import Dual
from .registry import Traced
from .reverse import Tape, Var, reverse_sweep
from .unbroadcast import shape_of

Mode = Literal["forward", "reverse"]
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
    finally:
        levels.leave()
        forward.INF_LEVELS.discard(level)
    if type(out) is Dual and out._level == level:
        return out.value, out.tangent
    if isinstance(out, (tuple, list)):
        raise TypeError("the function returned a tuple/list; modes differentiates functions that "
                        "return one array or number")
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


def _forward_jacobian(f: Callable[..., Any], args: list, argnums: tuple[int, ...],
                      chunk_size: int | None) -> tuple[Any, np.ndarray]:
    """Columns of the Jacobian by chunked forward passes: returns (out, J) with J (n, m)."""
    shapes = []
    n = 0
    biggest = 1
    for i in argnums:
        a = args[i]
        shape = () if type(a) is float else shape_of(a)
        shapes.append(shape)
        size = _size(shape)
        n += size
        biggest = max(biggest, size)
    k = chunk_size or cost_model.default_chunk(n, biggest)
    out = None
    parts = []
    for start in range(0, n, k):
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
    finally:
        levels.leave()
        if gc_was_enabled:
            gc.enable()
    memory.sample()
    if isinstance(out, (tuple, list)):
        raise TypeError("the function returned a tuple/list; modes differentiates functions that "
                        "return one array or number")
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
            _fresh(b if b is not seed else np.array(b), batch + shape_of(leaf.value))
            for b, leaf in zip(bars, leaves)]


def _scalar_check(value: Any) -> None:
    shape = shape_of(value)
    if shape != ():
        raise ValueError(
            f"grad needs a function that returns a scalar, but it returned shape {shape}. Use "
            "modes.jacobian for vector outputs, or modes.vjp to pull back a cotangent."
        )


# ---- public API ---------------------------------------------------------------------------------------------
def value_and_grad(f: Callable[..., Any], argnum: ArgNum = 0,
                   mode: Mode = "reverse") -> Callable[..., tuple[Any, Any]]:
    """``value_and_grad(f)(*args) -> (f(*args), gradient)``.

    The gradient has the shape of ``args[argnum]`` (a tuple of gradients if ``argnum`` is a tuple).
    ``f`` must return a scalar. ``mode="reverse"``: one nominal pass and one reverse sweep;
    ``mode="forward"``: chunked forward passes, one direction per input entry.
    """
    _check_mode(mode, ("forward", "reverse"))

    cache: dict[int, tuple[tuple[int, ...], bool]] = {}

    def value_and_grad_f(*args: Any) -> tuple[Any, Any]:
        nargs = len(args)
        if nargs not in cache:
            cache[nargs] = _argnums(argnum, nargs)
        nums, single = cache[nargs]
        args_l = list(args)
        for i in nums:
            args_l[i] = as_float_input(args_l[i], f"argument {i}")
        if mode == "reverse":
            out, tape, leaves, level = _record(f, args_l, nums)
            value = _out_value(out, tape, level)
            _scalar_check(value)
            grads = _pull(out, tape, leaves, level, 1.0, 0, retain=False)
        else:
            value, cols = _forward_jacobian(f, args_l, nums, None)
            _scalar_check(value)
            grads = []
            offset = 0
            col = cols if len(shape_of(cols)) == 1 else cols[:, 0]
            values = col.tolist() if isinstance(col, np.ndarray) else None
            for i in nums:
                shape = shape_of(args_l[i])
                if shape:
                    size = _size(shape)
                    grads.append(np.reshape(col[offset : offset + size], shape))
                    offset += size
                else:  # a Python float, as reverse mode returns for scalar inputs
                    grads.append(values[offset] if values is not None else col[offset])
                    offset += 1
        return value, (grads[0] if single else tuple(grads))

    return value_and_grad_f


def grad(f: Callable[..., Any], argnum: ArgNum = 0, mode: Mode = "reverse") -> Callable[..., Any]:
    """``grad(f)(*args)``: the gradient of scalar ``f`` with the shape of ``args[argnum]``.

    ``mode="reverse"`` (default) or ``"forward"``; ``argnum`` may be a tuple (returns a tuple).
    Raises ``ValueError`` if ``f`` does not return a scalar.
    """
    vg = value_and_grad(f, argnum, mode)

    def grad_f(*args: Any) -> Any:
        return vg(*args)[1]

    return grad_f


def jvp(f: Callable[..., Any], primals: tuple, tangents: tuple) -> tuple[Any, Any]:
    """Forward mode: ``(f(*primals), J @ tangents)`` with one tangent per primal, same shapes."""
    if len(primals) != len(tangents):
        raise ValueError(f"jvp got {len(primals)} primals but {len(tangents)} tangents; give one "
                         "tangent per primal, with the primal's shape")
    args = [as_float_input(p, f"primal {i}") for i, p in enumerate(primals)]
    ts = {}
    for i, (p, t) in enumerate(zip(args, tangents)):
        t = as_float_input(t, f"tangent {i}")
        if shape_of(t) != shape_of(p):
            raise ValueError(f"tangent {i} has shape {shape_of(t)} but primal {i} has shape "
                             f"{shape_of(p)}; they must match")
        ts[i] = np.reshape(t, (1,) + shape_of(p)) if not isinstance(t, Traced) else t[None]
    out, t_out = _forward_pass(f, args, ts, 1)
    if t_out is None:
        return out, _fresh(None, shape_of(out))
    return out, t_out[0]


def vjp(f: Callable[..., Any], *primals: Any) -> tuple[Any, Callable[..., tuple]]:
    """Reverse mode: ``(f(*primals), pullback)``.

    ``pullback(cotangent)`` returns a tuple with one cotangent per primal (primal shapes). The
    cotangent has the output's shape, or with ``batched=True`` shape ``(k,) + out.shape``: k rows
    pulled back in one sweep (results then have shape ``(k,) + primal.shape``). The tape is kept,
    so the pullback may be called many times; ``pullback.tape`` is it (``len(pullback.tape)``
    nodes, ``pullback.tape.nbytes`` bytes of residuals).
    """
    args = [as_float_input(p, f"primal {i}") for i, p in enumerate(primals)]
    nums = tuple(range(len(args)))
    out, tape, leaves, level = _record(f, args, nums)
    value = _out_value(out, tape, level)
    out_shape = shape_of(value)

    def pullback(cotangent: Any, batched: bool = False) -> tuple:
        c = as_float_input(cotangent, "cotangent")
        cshape = shape_of(c)
        want = cshape[:1] + out_shape if batched else out_shape
        if cshape != want or (batched and not cshape):
            raise ValueError(
                f"cotangent has shape {cshape} but the output has shape {out_shape}; pass an array of "
                f"the output's shape{' with a leading batch axis' if batched else ''}"
            )
        return tuple(_pull(out, tape, leaves, level, c, 1 if batched else 0, retain=True))

    pullback.tape = tape  # type: ignore[attr-defined]  # its size: len(tape), tape.nbytes
    return value, pullback


def jacobian(f: Callable[..., Any], argnum: int = 0,
             mode: Literal["auto", "forward", "reverse"] = "auto",
             chunk_size: int | None = None) -> Callable[..., np.ndarray]:
    """``jacobian(f)(*args)``: array of shape ``out.shape + args[argnum].shape``.

    ``forward``: chunks of ``chunk_size`` directions per pass; ``reverse``: one nominal pass, then
    batches of ``chunk_size`` cotangent rows per sweep; ``auto``: evaluates f once on plain values
    to learn the output size, then picks by ``modes.cost_model.choose_mode``.
    ``chunk_size=None`` uses ``modes.cost_model.default_chunk``.
    """
    _check_mode(mode, ("auto", "forward", "reverse"))
    if chunk_size is not None and chunk_size < 1:
        raise ValueError(f"chunk_size must be a positive integer, got {chunk_size}")

    def jacobian_f(*args: Any) -> np.ndarray:
        nums, _ = _argnums(argnum, len(args))
        i = nums[0]
        args_l = list(args)
        args_l[i] = as_float_input(args_l[i], f"argument {i}")
        in_shape = shape_of(args_l[i])
        n = _size(in_shape)
        chosen = mode
        if mode == "auto":
            m = _size(shape_of(f(*args_l)))
            chosen = cost_model.choose_mode(n, m)
        if chosen == "forward":
            out, cols = _forward_jacobian(f, args_l, (i,), chunk_size)
            if len(shape_of(cols)) == 1:
                cols = np.reshape(cols, (n, 1))
            return _assemble(np.transpose(cols), shape_of(out), in_shape)
        out, tape, leaves, level = _record(f, args_l, (i,))
        out_shape = shape_of(_out_value(out, tape, level))
        m = _size(out_shape)
        k = chunk_size or cost_model.default_chunk(m, max(n, m))
        parts = []
        for start in range(0, m, k):
            stop = min(m, start + k)
            seed = np.zeros((stop - start, m))
            seed[np.arange(stop - start), np.arange(start, stop)] = 1.0
            (bar,) = _pull(out, tape, leaves, level, seed.reshape((stop - start,) + out_shape), 1,
                           retain=stop < m)
            parts.append(np.reshape(bar, (stop - start, n)))
        rows = parts[0] if len(parts) == 1 else np.concatenate(parts, axis=0)
        return _assemble(rows, out_shape, in_shape)

    return jacobian_f


def _assemble(rows: Any, out_shape: tuple[int, ...], in_shape: tuple[int, ...]) -> Any:
    j = np.reshape(rows, out_shape + in_shape)
    return j[()] if shape_of(j) == () else j


def hessian(f: Callable[..., Any], argnum: int = 0) -> Callable[..., np.ndarray]:
    """``hessian(f)(*args)``: shape ``arg.shape + arg.shape``, by forward-over-reverse."""
    return jacobian(grad(f, argnum, mode="reverse"), argnum, mode="forward")


def hvp(f: Callable[..., Any], x: Any, v: Any) -> Any:
    """Hessian-vector product ``H(x) @ v`` of scalar ``f`` (one forward pass over reverse)."""
    return jvp(grad(f), (x,), (v,))[1]
