"""What every problem module of ``experiments.adbench`` provides, and how a mode picks a method.

A problem module (one per GradBench eval) has:

* ``NAME``: the GradBench module name;
* ``FUNCTIONS``: GradBench function name -> ``Function`` (how to prepare its JSON input, run it,
  and turn the result back into the JSON output the eval expects);
* ``METHODS``: the derivative methods it implements, by name (always ``"forward"`` and
  ``"reverse"``; problems with exploitable structure add smarter ones such as
  ``"forward-chunked"`` or ``"reverse-batched"``);
* ``BEST``: for each tool mode (``forward``, ``reverse``, ``auto``) the method it runs: the best
  method *of that mode* for ``forward``/``reverse``, the best overall for ``auto``;
* ``generate(...)``: a deterministic input in the eval's JSON format.

Preparation (JSON -> numpy) and output conversion are never timed; ``Function.run`` is.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import numpy as np

TOOL_MODES = ("forward", "reverse", "auto")


def to_json(value: Any) -> Any:
    """numpy scalars and arrays as plain Python floats and (nested) lists."""
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, (np.floating, np.integer)):
        return value.item()
    if isinstance(value, (list, tuple)):
        return [to_json(v) for v in value]
    if isinstance(value, dict):
        return {k: to_json(v) for k, v in value.items()}
    return value


def _default_output(result: Any, prepared: Any) -> Any:
    return to_json(result)


@dataclass(frozen=True)
class Function:
    """One GradBench function of a module.

    ``prepare(raw_input)`` -> prepared input (untimed); ``run(prepared, method)`` -> result (timed;
    ``method`` is ignored by functions that differentiate nothing); ``output(result, prepared)`` ->
    the JSON value of the response (untimed); ``tape_probe``: see the field's comment.
    """

    prepare: Callable[[Mapping[str, Any]], Any]
    run: Callable[[Any, str], Any]
    output: Callable[[Any, Any], Any] = _default_output
    derivative: bool = True
    # What ``memory.track()`` measures for the tape report: None = one whole ``run``; otherwise a
    # representative part of it (``tape_probe(prepared, method)``), for nested reverse-over-reverse
    # loops where tracking every inner pass would cost time quadratic in the outer tape.
    tape_probe: Callable[[Any, str], Any] | None = None


def method_for(module: ModuleType, mode: str) -> str:
    """The method a tool mode runs for ``module``: ``BEST[mode]`` for a mode of ``TOOL_MODES``, else
    ``mode`` itself if it names one of the module's methods."""
    if mode in TOOL_MODES:
        return module.BEST[mode]
    if mode in module.METHODS:
        return mode
    raise ValueError(f"module {module.NAME!r} has no method for mode {mode!r}; methods: "
                     f"{', '.join(module.METHODS)}; modes: {', '.join(TOOL_MODES)}")


def check_method(module_name: str, method: str, methods: tuple[str, ...]) -> None:
    """Raise a clear ``ValueError`` for a method a module does not implement."""
    if method not in methods:
        raise ValueError(f"{module_name}: unknown method {method!r}; choose one of {', '.join(methods)}")
