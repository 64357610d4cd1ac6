"""The shipped primitive table. Importing this package registers every primitive and binding."""

from . import elementwise, linalg, numpy_api, structural  # noqa: F401
from . import building, contractions, decompositions, order, special, statistics  # noqa: F401
from .bind import REGISTRY
from ..tracing import install_array_methods

install_array_methods()  # after every binding: ufunc-named methods, and errors for the rest

__all__ = ["REGISTRY"]
