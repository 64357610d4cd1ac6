"""Exceptions raised by modes. Each message says what was wrong and what to do."""

from __future__ import annotations


class ModesError(Exception):
    """Base class of every error modes raises on purpose."""


class RuleError(ModesError, TypeError):
    """A primitive is missing a derivative rule, or its rules are malformed."""


class UnsupportedFunctionError(ModesError, TypeError):
    """A numpy function with no registered derivative rule was called on a traced value."""

    def __init__(self, fname: str, message: str | None = None) -> None:
        self.function = fname
        if message is not None:
            super().__init__(message)
            return
        super().__init__(
            f"{fname} has no derivative rule in modes, so it cannot be applied to a traced value. "
            f"Register it once with modes.primitive(fn, name={fname!r}, partials=(...)) for an "
            "elementwise function or modes.primitive(fn, name=..., jvp=(...), vjp=(...)) otherwise, "
            "and call the returned function in place of the numpy one."
        )


class UnsupportedMethodError(UnsupportedFunctionError, AttributeError):
    """An ndarray method with no derivative rule was called on a traced value."""


class MutationError(ModesError, TypeError):
    """In-place mutation of a traced array (or storing a traced value into a plain array)."""


class TracedConversionError(ModesError, TypeError):
    """A traced value was converted to a plain number or array, which would lose its derivative."""


class LeakedTracerError(ModesError):
    """A traced value outlived the transformation that created it and was used, or returned, later."""

    def __init__(self, box: object, where: str) -> None:
        kind = type(box).__name__
        mode = {"Var": "reverse-mode", "Dual": "forward-mode"}.get(kind, "traced")
        super().__init__(
            f"a {mode} {kind} leaked out of a transformation that has already ended (or that runs "
            f"in another thread) and {where}. A traced value lives only while its f runs: "
            "return what you need from f (has_aux=True returns extra values), or keep its number "
            "with modes.plain(v) before it escapes through a global, a closure or a container."
        )
