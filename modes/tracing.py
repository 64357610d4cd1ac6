"""numpy-native tracing: operators, ``__array_ufunc__`` and ``__array_function__`` for traced values.

Both modes' boxes (``Dual`` and ``Var``) inherit ``ArrayBox``, so a user's function written with
``import numpy as np`` runs unchanged on them. numpy calls are looked up in two tables filled by
``modes.numpy_bindings``; a call with no entry raises ``UnsupportedFunctionError``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from .errors import MutationError, TracedConversionError, UnsupportedFunctionError
from .registry import Traced, plain

UFUNC_HANDLERS: dict[np.ufunc, Callable[..., Any]] = {}
FUNCTION_HANDLERS: dict[Callable[..., Any], Callable[..., Any]] = {}


class _Ops(dict):
    """Primitives behind the Python operators, bound by ``modes.primitives`` (attribute access is
    the fast path used by the operator methods below)."""

    def __setitem__(self, name: str, prim: Any) -> None:
        super().__setitem__(name, prim)
        setattr(self, name, prim)


OPS: Any = _Ops()
_NOKW: dict = {}


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
        return np.shape(plain(self))

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def size(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64))

    @property
    def dtype(self) -> np.dtype:
        return np.asarray(plain(self)).dtype

    def __len__(self) -> int:
        s = self.shape
        if not s:
            raise TypeError("len() of a 0-d traced value")
        return s[0]

    def __iter__(self):  # type: ignore[no-untyped-def]
        for i in range(len(self)):
            yield self[i]

    def __bool__(self) -> bool:
        # Branches freeze at the nominal values, as in any tracing AD tool.
        return bool(plain(self))

    # ---- conversions that would lose the derivative --------------------------------------------
    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        raise TracedConversionError(
            "a traced value was converted to a plain numpy array (np.asarray, np.array, or storing it "
            "into a plain array), which would drop its derivative. Build arrays from traced values "
            "with np.stack / np.concatenate, and keep the computation in numpy functions."
        )

    def __float__(self) -> float:
        raise TracedConversionError(
            "float() of a traced value would drop its derivative; keep it as an array/number in "
            "numpy operations (use modes.plain(x) if you really want the value without derivative)."
        )

    __int__ = __float__  # type: ignore[assignment]
    __complex__ = __float__  # type: ignore[assignment]

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
            raise UnsupportedFunctionError(f"np.{ufunc.__name__}.{method}")
        handler = UFUNC_HANDLERS.get(ufunc)
        if handler is None:
            raise UnsupportedFunctionError(f"np.{ufunc.__name__}")
        if kwargs:
            dtype = kwargs.pop("dtype", None)
            if kwargs or (dtype is not None and np.dtype(dtype).kind != "f"):
                raise TypeError(
                    f"np.{ufunc.__name__}: keyword arguments {sorted(kwargs)} are not supported on "
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

    # Comparisons carry no derivative: they act on the values underneath.
    def __lt__(self, other: Any) -> Any:
        return plain(self) < plain(other)

    def __le__(self, other: Any) -> Any:
        return plain(self) <= plain(other)

    def __gt__(self, other: Any) -> Any:
        return plain(self) > plain(other)

    def __ge__(self, other: Any) -> Any:
        return plain(self) >= plain(other)

    def __eq__(self, other: Any) -> Any:  # type: ignore[override]
        return plain(self) == plain(other)

    def __ne__(self, other: Any) -> Any:  # type: ignore[override]
        return plain(self) != plain(other)

    # ---- array methods ---------------------------------------------------------------------------
    @property
    def T(self) -> Any:
        return np.transpose(self)

    @property
    def mT(self) -> Any:
        return np.swapaxes(self, -1, -2)

    def sum(self, axis: Any = None, keepdims: bool = False) -> Any:
        return np.sum(self, axis=axis, keepdims=keepdims)

    def mean(self, axis: Any = None, keepdims: bool = False) -> Any:
        return np.mean(self, axis=axis, keepdims=keepdims)

    def prod(self, axis: Any = None, keepdims: bool = False) -> Any:
        return np.prod(self, axis=axis, keepdims=keepdims)

    def max(self, axis: Any = None, keepdims: bool = False) -> Any:
        return np.max(self, axis=axis, keepdims=keepdims)

    def min(self, axis: Any = None, keepdims: bool = False) -> Any:
        return np.min(self, axis=axis, keepdims=keepdims)

    def cumsum(self, axis: Any = None) -> Any:
        return np.cumsum(self, axis=axis)

    def dot(self, other: Any) -> Any:
        return np.dot(self, other)

    def reshape(self, *shape: Any) -> Any:
        if len(shape) == 1 and not isinstance(shape[0], int):
            shape = tuple(shape[0])
        return np.reshape(self, shape)

    def ravel(self) -> Any:
        return np.ravel(self)

    flatten = ravel

    def squeeze(self, axis: Any = None) -> Any:
        return np.squeeze(self, axis=axis)

    def transpose(self, *axes: Any) -> Any:
        if len(axes) == 1 and (axes[0] is None or not isinstance(axes[0], int)):
            axes = axes[0]
        return np.transpose(self, axes or None)

    def swapaxes(self, a: int, b: int) -> Any:
        return np.swapaxes(self, a, b)

    def clip(self, a_min: Any = None, a_max: Any = None) -> Any:
        return np.clip(self, a_min, a_max)

    def copy(self) -> Any:
        return self

    def astype(self, dtype: Any) -> Any:
        if np.dtype(dtype).kind != "f":
            raise TracedConversionError(
                f"astype({dtype!r}) on a traced value would drop its derivative; only float types "
                "are allowed."
            )
        return self

    def item(self) -> Any:
        raise TracedConversionError(
            "item() of a traced value would drop its derivative; index it (x[()] or x[0]) instead."
        )
