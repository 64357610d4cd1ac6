"""numpy-native tracing: operators, ``__array_ufunc__`` and ``__array_function__`` for traced values.

Both modes' boxes (``Dual`` and ``Var``) inherit ``ArrayBox``, so a user's function written with
``import numpy as np`` runs unchanged on them. numpy calls are looked up in two tables filled by
``modes.numpy_bindings``; a call with no entry raises ``UnsupportedFunctionError``.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable
from typing import Any

import numpy as np

from .errors import MutationError, TracedConversionError, UnsupportedFunctionError, UnsupportedMethodError
from .registry import Traced, plain

class Bindings(dict):
    """numpy function (or ufunc) -> handler, remembering which module bound each one (for the
    generated list of what is supported, ``modes.supported``)."""

    def __init__(self) -> None:
        super().__init__()
        self.origin: dict[Any, str] = {}

    def __setitem__(self, key: Any, handler: Any) -> None:
        super().__setitem__(key, handler)
        self.origin[key] = sys._getframe(1).f_globals.get("__name__", "?")

    def update(self, other: Any = (), **kw: Any) -> None:  # type: ignore[override]
        module = sys._getframe(1).f_globals.get("__name__", "?")
        items = other.items() if hasattr(other, "items") else other
        for key, handler in items:
            super().__setitem__(key, handler)
            self.origin[key] = module


UFUNC_HANDLERS: Bindings = Bindings()
FUNCTION_HANDLERS: Bindings = Bindings()


class _Ops(dict):
    """Primitives behind the Python operators, bound by ``modes.primitives`` (attribute access is
    the fast path used by the operator methods below)."""

    def __setitem__(self, name: str, prim: Any) -> None:
        super().__setitem__(name, prim)
        setattr(self, name, prim)


OPS: Any = _Ops()
_NOKW: dict = {}
ndarray = np.ndarray

_CONVERSION_ADVICE = (
    "a traced value was converted to a plain float (float(x), or storing it into a "
    "preallocated float array such as traj[i + 1] = x), which would drop its derivative. Collect "
    "the values in a Python list and build the array with np.stack(values) (or np.array(values)) "
    "instead of writing into a preallocated array; use modes.plain(x) for the value without its "
    "derivative on purpose."
)


def _down(x: Any) -> Any:
    """The value one box down (a plain value as it is)."""
    return x.value if isinstance(x, Traced) else x


def ufunc_name(ufunc: np.ufunc) -> str:
    """``np.exp``, or ``scipy.special.expit`` for scipy's ufuncs, as users call them."""
    name = ufunc.__name__
    if getattr(np, name, None) is ufunc:
        return f"np.{name}"
    special = sys.modules.get("scipy.special")
    if special is not None and getattr(special, name, None) is ufunc:
        return f"scipy.special.{name}"
    return f"ufunc {name}"


def lift_object_array(arr: np.ndarray) -> Any:
    """An object array of traced and plain numbers (``np.array([x, 2.0])``) as one traced array
    of the same shape (or a plain float array if nothing in it is traced)."""
    flat = arr.reshape(-1).tolist()
    if not any(isinstance(v, Traced) for v in flat):
        try:
            return np.array(flat, dtype=float).reshape(arr.shape)
        except TypeError:
            raise TypeError(f"an object array holding {type(flat[0]).__name__} values met a "
                            "traced computation; use float arrays") from None
    if not flat:
        return np.zeros(arr.shape)
    return np.reshape(np.stack([v if isinstance(v, Traced) else float(v) for v in flat]), arr.shape)


def lift_args(args: Any) -> Any:
    """``args`` with every object array of traced entries replaced by a traced array."""
    return tuple(lift_object_array(a) if type(a) is ndarray and a.dtype.hasobject else a
                 for a in args)


def _scipy_caller() -> str | None:
    """The outermost public scipy function on the call stack (``scipy.special.logsumexp``), if any;
    a private wrapper (``_apply_over_batch.<locals>.wrapper``) is named by what it wraps."""
    frame = sys._getframe(2)
    found = None
    in_scipy = False
    while frame is not None:
        module = frame.f_globals.get("__name__", "")
        if module == "scipy" or module.startswith("scipy."):
            in_scipy = True
            parts = module.split(".")
            name = _public_name(frame)
            if name is not None and name.startswith("scipy."):
                found = name  # a wrapper naming what it wraps
            elif len(parts) > 1 and not parts[1].startswith("_"):
                if name is not None and "<" not in name and not name.startswith("_"):
                    found = f"scipy.{parts[1]}.{name}"
                elif found is None or not found.startswith(f"scipy.{parts[1]}."):
                    found = f"a scipy.{parts[1]} function"
        elif in_scipy:
            break
        frame = frame.f_back
    return found if found is not None or not in_scipy else "a scipy function"


def _public_name(frame: Any) -> str | None:
    """How a user calls the function of ``frame``: ``logsumexp``, ``norm.logpdf`` (a method of a
    scipy.stats distribution), or, for a wrapper, the scipy function it wraps."""
    code = frame.f_code
    local = frame.f_locals
    me = local.get("self")
    dist = getattr(me, "name", None) if me is not None else None
    if isinstance(dist, str) and type(me).__module__.startswith("scipy.stats"):
        return f"{dist}.{code.co_name}"
    owner, _, method = code.co_qualname.rpartition(".")
    if owner.endswith("_gen") and "<" not in owner:  # scipy.stats.multivariate_normal_gen.logpdf
        return f"{owner[:-4]}.{method}"
    if "<locals>" in code.co_qualname:
        for v in local.values():
            mod = getattr(v, "__module__", "") or ""
            fname = getattr(v, "__name__", "")
            if callable(v) and mod.startswith("scipy.") and fname and not fname.startswith("_"):
                sub = mod.split(".")[1]
                return f"scipy.{sub}.{fname}" if not sub.startswith("_") else None
        return None
    return code.co_qualname


def _drop_in_hint(scipy_function: str) -> str:
    """Where the drop-in for ``scipy.sub.name`` lives, or that there is none."""
    parts = scipy_function.split(".")
    if len(parts) >= 3:
        try:
            module = importlib.import_module("modes." + ".".join(parts[:2]))
        except ImportError:
            module = None
        obj = module
        for attr in parts[2:]:
            obj = getattr(obj, attr, None)
            if obj is None:
                break
        if obj is not None:
            return f"use the drop-in modes.{scipy_function}"
    return "modes has no drop-in for it yet: write it with numpy calls, or register it with " \
           "modes.primitive"


def _numpy_name(func: Any) -> str:
    module = getattr(func, "__module__", "numpy") or "numpy"
    module = module.replace("numpy.linalg._linalg", "numpy.linalg").replace("numpy._core", "numpy")
    module = module.replace("numpy.", "np.", 1) if module.startswith("numpy.") else "np"
    return f"{module}.{getattr(func, '__name__', repr(func))}"


class ArrayBox(Traced):
    """Array-like behaviour shared by forward and reverse traced values.

    Subclasses define ``value`` and ``_level``. Properties read from the value underneath.
    """

    __slots__ = ()
    __array_priority__ = 1000.0
    value: Any

    def _apply2(self, prim: Any, a: Any, b: Any) -> Any:
        """A binary operator; subclasses may specialise this hot path."""
        return self._apply(prim, (a, b), _NOKW)

    # ---- array attributes --------------------------------------------------------------------
    @property
    def shape(self) -> tuple[int, ...]:
        v = self.value  # one box down: a symbolic value answers without a guard
        s = getattr(v, "shape", None)
        return () if s is None else s

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def size(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64))

    @property
    def dtype(self) -> np.dtype:
        v = self.value
        return v.dtype if isinstance(v, (Traced, np.ndarray)) else np.asarray(v).dtype

    def __len__(self) -> int:
        s = self.shape
        if not s:
            raise TypeError("len() of a 0-d traced value")
        return s[0]

    def __iter__(self):  # type: ignore[no-untyped-def]
        for i in range(len(self)):
            yield self[i]

    def __bool__(self) -> bool:
        # Branches freeze at the nominal values, as in any tracing AD tool (one box at a time, so
        # that modes.compile's symbolic value underneath records the branch as a guard).
        return bool(self.value)

    # ---- conversions ---------------------------------------------------------------------------
    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        # np.array([x, y]) of traced entries: numpy asks each entry for an array. An object array
        # of traced entries keeps the derivatives; modes turns it into one traced array as soon as
        # it meets a traced operation or is returned (lift_object_array).
        scipy_function = _scipy_caller()
        if scipy_function is not None:
            raise UnsupportedFunctionError(
                scipy_function,
                f"{scipy_function} is written in Python and converts its inputs with np.asarray, "
                f"so modes cannot trace through it: {_drop_in_hint(scipy_function)}.")
        if dtype is not None and np.dtype(dtype) != np.dtype(object):
            if np.dtype(dtype).kind in "iub":  # integers are piecewise constant: no derivative lost
                return np.asarray(plain(self)).astype(dtype)
            raise TracedConversionError(_CONVERSION_ADVICE)
        shape = self.shape
        out = np.empty(shape, dtype=object)
        if not shape:
            out[()] = self
        else:
            for idx in np.ndindex(*shape):
                out[idx] = self[idx]
        return out

    def __float__(self) -> float:
        raise TracedConversionError(_CONVERSION_ADVICE)

    __complex__ = __float__  # type: ignore[assignment]

    def __int__(self) -> int:
        # Piecewise constant in the value: an integer carries no derivative, so this loses none.
        return int(self.value)

    def __index__(self) -> int:
        value = self.value
        if isinstance(value, Traced):
            return value.__index__()  # type: ignore[attr-defined]
        if int(value) != value:
            raise TypeError(f"only integer-valued traced values can be used as an index, got {value}")
        return int(value)

    def __format__(self, spec: str) -> str:
        return format(plain(self), spec)

    def __setitem__(self, key: Any, value: Any) -> None:
        raise MutationError(
            "in-place assignment x[...] = v on a traced array is not supported: the tape would lose "
            "the old value. Build a new array instead, e.g. np.where(mask, v, x) or np.concatenate."
        )

    def __hash__(self) -> int:
        return id(self)

    # ---- numpy protocols -----------------------------------------------------------------------
    def __array_ufunc__(self, ufunc: np.ufunc, method: str, *inputs: Any, **kwargs: Any) -> Any:
        if kwargs.get("out") is not None:
            raise MutationError(
                f"np.{ufunc.__name__}(..., out=...) writes into an array in place, which cannot be "
                "differentiated; drop out= and use the returned array."
            )
        kwargs.pop("out", None)
        if method == "reduce" and ufunc in (np.add, np.multiply, np.maximum, np.minimum):
            reducer = {np.add: np.sum, np.multiply: np.prod, np.maximum: np.max, np.minimum: np.min}
            return FUNCTION_HANDLERS[reducer[ufunc]](*inputs, **kwargs)  # type: ignore[index]
        if method != "__call__":
            raise UnsupportedFunctionError(f"{ufunc_name(ufunc)}.{method}")
        handler = UFUNC_HANDLERS.get(ufunc)
        if handler is None:
            raise UnsupportedFunctionError(ufunc_name(ufunc))
        if kwargs:
            dtype = kwargs.pop("dtype", None)
            if kwargs or (dtype is not None and np.dtype(dtype).kind != "f"):
                raise TypeError(
                    f"{ufunc_name(ufunc)}: keyword arguments {sorted(kwargs)} are not supported on "
                    "traced values; call it with array arguments only."
                )
        return handler(*inputs)

    def __array_function__(self, func: Any, types: Any, args: tuple, kwargs: dict) -> Any:
        handler = FUNCTION_HANDLERS.get(func)
        if handler is None:
            raise UnsupportedFunctionError(_numpy_name(func))
        return handler(*args, **kwargs)

    # ---- operators -----------------------------------------------------------------------------
    def __add__(self, other: Any) -> Any:
        if isinstance(other, Traced) and other._level > self._level:
            return other._apply2(OPS.add, self, other)
        return self._apply2(OPS.add, self, other)

    def __radd__(self, other: Any) -> Any:
        if isinstance(other, Traced) and other._level > self._level:
            return other._apply2(OPS.add, other, self)
        return self._apply2(OPS.add, other, self)

    def __sub__(self, other: Any) -> Any:
        if isinstance(other, Traced) and other._level > self._level:
            return other._apply2(OPS.subtract, self, other)
        return self._apply2(OPS.subtract, self, other)

    def __rsub__(self, other: Any) -> Any:
        if isinstance(other, Traced) and other._level > self._level:
            return other._apply2(OPS.subtract, other, self)
        return self._apply2(OPS.subtract, other, self)

    def __mul__(self, other: Any) -> Any:
        if isinstance(other, Traced) and other._level > self._level:
            return other._apply2(OPS.multiply, self, other)
        return self._apply2(OPS.multiply, self, other)

    def __rmul__(self, other: Any) -> Any:
        if isinstance(other, Traced) and other._level > self._level:
            return other._apply2(OPS.multiply, other, self)
        return self._apply2(OPS.multiply, other, self)

    def __truediv__(self, other: Any) -> Any:
        if isinstance(other, Traced) and other._level > self._level:
            return other._apply2(OPS.divide, self, other)
        return self._apply2(OPS.divide, self, other)

    def __rtruediv__(self, other: Any) -> Any:
        if isinstance(other, Traced) and other._level > self._level:
            return other._apply2(OPS.divide, other, self)
        return self._apply2(OPS.divide, other, self)

    def __pow__(self, other: Any) -> Any:
        if isinstance(other, Traced) and other._level > self._level:
            return other._apply2(OPS.power, self, other)
        if (type(other) is int or type(other) is float) and other >= 1:
            return self._apply2(OPS.power_by_constant, self, other)
        return self._apply2(OPS.power, self, other)

    def __rpow__(self, other: Any) -> Any:
        if isinstance(other, Traced) and other._level > self._level:
            return other._apply2(OPS.power, other, self)
        return self._apply2(OPS.power, other, self)

    def __matmul__(self, other: Any) -> Any:
        if isinstance(other, Traced) and other._level > self._level:
            return other._apply(OPS.matmul, (self, other), _NOKW)
        return self._apply(OPS.matmul, (self, other), _NOKW)

    def __rmatmul__(self, other: Any) -> Any:
        if isinstance(other, Traced) and other._level > self._level:
            return other._apply(OPS.matmul, (other, self), _NOKW)
        return self._apply(OPS.matmul, (other, self), _NOKW)

    def __neg__(self) -> Any:
        return self._apply(OPS.negative, (self,), _NOKW)

    def __pos__(self) -> Any:
        return self

    def __abs__(self) -> Any:
        return self._apply(OPS.absolute, (self,), _NOKW)

    def __getitem__(self, index: Any) -> Any:
        return self._apply(OPS.getitem, (self,), {"index": index})

    # Comparisons carry no derivative: they act on the values underneath (one box at a time, so
    # that modes.compile records them).
    def __lt__(self, other: Any) -> Any:
        return self.value < _down(other)

    def __le__(self, other: Any) -> Any:
        return self.value <= _down(other)

    def __gt__(self, other: Any) -> Any:
        return self.value > _down(other)

    def __ge__(self, other: Any) -> Any:
        return self.value >= _down(other)

    def __eq__(self, other: Any) -> Any:  # type: ignore[override]
        return self.value == _down(other)

    def __ne__(self, other: Any) -> Any:  # type: ignore[override]
        return self.value != _down(other)

    def __mod__(self, other: Any) -> Any:
        return np.remainder(self, other)

    def __rmod__(self, other: Any) -> Any:
        return np.remainder(other, self)

    def __floordiv__(self, other: Any) -> Any:
        return np.floor_divide(self, other)

    def __rfloordiv__(self, other: Any) -> Any:
        return np.floor_divide(other, self)

    def __divmod__(self, other: Any) -> Any:
        return np.floor_divide(self, other), np.remainder(self, other)

    def __rdivmod__(self, other: Any) -> Any:
        return np.floor_divide(other, self), np.remainder(other, self)

    # ---- array methods: ndarray's, each the numpy function of the same name ----------------------
    @property
    def T(self) -> Any:
        return np.transpose(self)

    @property
    def mT(self) -> Any:
        return np.swapaxes(self, -1, -2)

    @property
    def real(self) -> Any:
        return np.real(self)

    @property
    def imag(self) -> Any:
        return np.imag(self)

    def sum(self, axis: Any = None, dtype: Any = None, out: Any = None, keepdims: bool = False,
            **kwargs: Any) -> Any:
        return np.sum(self, axis=axis, dtype=dtype, out=out, keepdims=keepdims, **kwargs)

    def mean(self, axis: Any = None, dtype: Any = None, out: Any = None, keepdims: bool = False,
             **kwargs: Any) -> Any:
        return np.mean(self, axis=axis, dtype=dtype, out=out, keepdims=keepdims, **kwargs)

    def prod(self, axis: Any = None, dtype: Any = None, out: Any = None, keepdims: bool = False,
             **kwargs: Any) -> Any:
        return np.prod(self, axis=axis, dtype=dtype, out=out, keepdims=keepdims, **kwargs)

    def max(self, axis: Any = None, out: Any = None, keepdims: bool = False, **kwargs: Any) -> Any:
        return np.max(self, axis=axis, out=out, keepdims=keepdims, **kwargs)

    def min(self, axis: Any = None, out: Any = None, keepdims: bool = False, **kwargs: Any) -> Any:
        return np.min(self, axis=axis, out=out, keepdims=keepdims, **kwargs)

    def std(self, *args: Any, **kwargs: Any) -> Any:
        return np.std(self, *args, **kwargs)

    def var(self, *args: Any, **kwargs: Any) -> Any:
        return np.var(self, *args, **kwargs)

    def cumsum(self, axis: Any = None, dtype: Any = None, out: Any = None) -> Any:
        return np.cumsum(self, axis=axis, dtype=dtype, out=out)

    def cumprod(self, axis: Any = None, dtype: Any = None, out: Any = None) -> Any:
        return np.cumprod(self, axis=axis, dtype=dtype, out=out)

    def dot(self, other: Any) -> Any:
        return np.dot(self, other)

    def reshape(self, *shape: Any, order: str = "C") -> Any:
        if len(shape) == 1 and not isinstance(shape[0], int):
            shape = tuple(shape[0])
        return np.reshape(self, shape, order=order)

    def ravel(self, order: str = "C") -> Any:
        return np.ravel(self, order)

    flatten = ravel

    def squeeze(self, axis: Any = None) -> Any:
        return np.squeeze(self, axis=axis)

    def transpose(self, *axes: Any) -> Any:
        if len(axes) == 1 and (axes[0] is None or not isinstance(axes[0], int)):
            axes = axes[0]
        return np.transpose(self, axes or None)

    def swapaxes(self, a: int, b: int) -> Any:
        return np.swapaxes(self, a, b)

    def clip(self, min: Any = None, max: Any = None, **kwargs: Any) -> Any:
        return np.clip(self, min, max, **kwargs)

    def round(self, decimals: int = 0, out: Any = None) -> Any:
        return np.round(self, decimals=decimals, out=out)

    def trace(self, *args: Any, **kwargs: Any) -> Any:
        return np.trace(self, *args, **kwargs)

    def diagonal(self, *args: Any, **kwargs: Any) -> Any:
        return np.diagonal(self, *args, **kwargs)

    def repeat(self, *args: Any, **kwargs: Any) -> Any:
        return np.repeat(self, *args, **kwargs)

    def take(self, *args: Any, **kwargs: Any) -> Any:
        return np.take(self, *args, **kwargs)

    def conj(self) -> Any:
        return np.conj(self)

    conjugate = conj

    def argmax(self, *args: Any, **kwargs: Any) -> Any:
        return np.argmax(plain(self), *args, **kwargs)

    def argmin(self, *args: Any, **kwargs: Any) -> Any:
        return np.argmin(plain(self), *args, **kwargs)

    def argsort(self, *args: Any, **kwargs: Any) -> Any:
        return np.argsort(plain(self), *args, **kwargs)

    def nonzero(self) -> Any:
        return np.nonzero(plain(self))

    def any(self, *args: Any, **kwargs: Any) -> Any:
        return np.any(plain(self), *args, **kwargs)

    def all(self, *args: Any, **kwargs: Any) -> Any:
        return np.all(plain(self), *args, **kwargs)

    def copy(self, order: str = "C") -> Any:
        return self  # traced values are never mutated, so a copy is the value itself

    def astype(self, dtype: Any, *args: Any, **kwargs: Any) -> Any:
        kind = np.dtype(dtype).kind
        if kind == "f":
            return self
        if kind == "c":
            raise TypeError(f"astype({dtype!r}): modes differentiates real functions only")
        # Integers and booleans are piecewise constant in the value: no derivative.
        return np.asarray(plain(self)).astype(dtype, *args, **kwargs)

    def item(self, *index: Any) -> Any:
        """The entry as a traced scalar (ndarray.item's Python number would drop the derivative)."""
        if not index:
            if self.size != 1:
                raise ValueError("can only convert an array of size 1 to a scalar")
            return np.reshape(self, ())
        if len(index) == 1 and isinstance(index[0], (int, np.integer)):
            return np.reshape(self, (-1,))[index[0]]
        return self[tuple(index[0]) if len(index) == 1 else index]

    def tolist(self) -> Any:
        if not self.shape:
            return self
        return [self[i].tolist() for i in range(self.shape[0])]

    def sort(self, *args: Any, **kwargs: Any) -> None:
        raise MutationError(
            "x.sort() sorts a traced array in place, which cannot be differentiated; use "
            "x = np.sort(x) instead."
        )

    def fill(self, value: Any) -> None:
        raise MutationError("x.fill(v) writes into a traced array in place; use np.full_like(x, v) "
                            "or np.where to build a new array.")


def install_array_methods() -> None:
    """Give traced values every ndarray method name, once the tables are filled.

    A ufunc's name becomes a method calling its rule (numpy's loops over object arrays call
    ``x.exp()`` on each entry); an ndarray method with no rule raises ``UnsupportedMethodError``
    naming ``ndarray.xxx``. Plain class attributes, not ``__getattr__``: a ``__getattr__`` would
    slow every attribute access of the boxes on the hot path.
    """
    for ufunc, handler in list(UFUNC_HANDLERS.items()):
        name = ufunc.__name__
        if getattr(np, name, None) is ufunc and not hasattr(ArrayBox, name):
            setattr(ArrayBox, name, _ufunc_method(handler, name))
    for name in dir(np.ndarray):
        if not name.startswith("_") and not hasattr(ArrayBox, name):
            setattr(ArrayBox, name, _missing_method(name))


def _ufunc_method(handler: Callable[..., Any], name: str) -> Callable[..., Any]:
    def method(self: Any, *rest: Any) -> Any:
        return handler(self, *rest)

    method.__name__ = name
    method.installed = True  # type: ignore[attr-defined]
    return method


def _missing_method(name: str) -> Any:
    def method(self: Any, *args: Any, **kwargs: Any) -> Any:
        raise UnsupportedMethodError(f"ndarray.{name}")

    method.__name__ = name
    method.installed = True  # type: ignore[attr-defined]
    if isinstance(getattr(np.ndarray, name), property) or not callable(getattr(np.ndarray, name)):
        return property(method)
    return method
