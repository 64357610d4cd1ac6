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
