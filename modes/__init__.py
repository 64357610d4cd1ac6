"""modes: forward-mode and reverse-mode algorithmic differentiation of plain numpy code.

Both modes consume one primitive registry (``modes.primitive`` adds to it):

* forward mode carries dual numbers (a value and a chunk of tangents) through the nominal pass;
* reverse mode records a tape (Wengert list) in the nominal pass and walks it back in the reverse
  sweep, accumulating adjoints ("bars").
"""

from __future__ import annotations

from . import primitives as _primitives  # registers the shipped primitive table
from . import memory
from .api import grad, hessian, hvp, jacobian, jvp, value_and_grad, vjp
from .checkpoint import checkpoint
from .compiled import compile
from .op_counts import count_ops
from .loop import checkpointed_loop
from .cost_model import choose_mode
from .errors import (
    LeakedTracerError,
    ModesError,
    MutationError,
    RuleError,
    TracedConversionError,
    UnsupportedFunctionError,
)
from .explain import explain
from .draw import draw
from .recommend import recommend
from .forward import Dual
from .primitives import REGISTRY
from .registry import Primitive, plain, primitive
from .reverse import Tape, Var

__all__ = [
    "Dual", "LeakedTracerError", "ModesError", "checkpoint", "checkpointed_loop", "compile", "count_ops", "memory", "MutationError", "Primitive", "REGISTRY", "RuleError", "Tape",
    "TracedConversionError", "UnsupportedFunctionError", "Var", "choose_mode", "draw", "explain", "grad",
    "hessian", "hvp", "jacobian", "jvp", "plain", "primitive", "recommend", "value_and_grad", "vjp",
]
__version__ = "0.1.0"
del _primitives
