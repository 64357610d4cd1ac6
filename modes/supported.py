"""What modes differentiates, generated from the binding tables (the README's list is this text).

``python -m modes.supported`` prints the markdown; ``tests/test_readme_supported.py`` checks that
the README holds exactly this text, so the list cannot drift from the registry.
"""

from __future__ import annotations

import importlib
import inspect
from typing import Any

from . import primitives as _primitives  # noqa: F401  (fills the tables)
from .tracing import FUNCTION_HANDLERS, UFUNC_HANDLERS, ArrayBox, _numpy_name, ufunc_name

# The module that binds a function decides its section; piecewise-constant bindings have their own.
SECTIONS = (
    ("modes.primitives.elementwise", "Elementwise"),
    ("modes.primitives.numpy_api", "Shapes, joining, reductions, products"),
    ("modes.primitives.building", "Building and slicing"),
    ("modes.primitives.contractions", "Contractions"),
    ("modes.primitives.decompositions", "Linear algebra"),
    ("modes.primitives.order", "Sorting and order statistics"),
    ("modes.primitives.statistics", "Reductions and statistics"),
    ("modes.primitives.special", "scipy.special ufuncs (with scipy installed)"),
)
NO_DERIVATIVE = "No derivative (piecewise constant; the result is a plain value)"
DROP_INS = ("modes.scipy.special", "modes.scipy.stats", "modes.scipy.linalg")
OPERATORS = "`+ - * / ** @ % //`, unary `-`, `abs()`, `divmod()`, comparisons (no derivative)"


def _entries() -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    sections = dict(SECTIONS)
    for table, name_of in ((UFUNC_HANDLERS, ufunc_name), (FUNCTION_HANDLERS, _numpy_name)):
        for key, handler in table.items():
            if getattr(handler, "refuses", False):  # bound only to explain a MutationError
                continue
            if getattr(handler, "piecewise_constant", None) is not None:
                section = NO_DERIVATIVE
            else:
                section = sections.get(table.origin.get(key, ""), "Other")
            found.setdefault(section, set()).add(name_of(key))
    return found


def _drop_ins(module_name: str) -> list[str]:
    try:
        module = importlib.import_module(module_name)
    except ImportError:
        return []
    names = getattr(module, "__all__", None)
    if names is None:
        names = [n for n, v in vars(module).items() if not n.startswith("_")
                 and (inspect.isfunction(v) or not inspect.ismodule(v) and callable(v))
                 and getattr(v, "__module__", module_name) == module_name]
    return sorted(names)


def _methods() -> list[str]:
    names = []
    for name, value in vars(ArrayBox).items():
        if name.startswith("_") or name in ("sort", "fill"):  # in place: MutationError
            continue
        target = value.fget if isinstance(value, property) else value
        if getattr(target, "installed", False):  # ufunc names for object loops, or refusals
            continue
        names.append(name)
    return sorted(names)


def supported_markdown() -> str:
    """The README's list of supported functions, one bullet per section."""
    found = _entries()
    lines = [f"- **Operators**: {OPERATORS}."]
    for section in [s for _, s in SECTIONS] + ["Other", NO_DERIVATIVE]:
        names = sorted(found.get(section, ()))
        if names:
            lines.append(f"- **{section}** ({len(names)}): " + ", ".join(f"`{n}`" for n in names) + ".")
    lines.append("- **Array methods and attributes of traced values**: "
                 + ", ".join(f"`.{n}`" for n in _methods()) + ".")
    for module_name in DROP_INS:
        names = _drop_ins(module_name)
        if names:
            lines.append(f"- **`{module_name}`** (drop-ins for scipy's Python-level functions): "
                         + ", ".join(f"`{n}`" for n in names) + ".")
    return "\n".join(lines) + "\n"


def _main() -> Any:
    print(supported_markdown(), end="")


if __name__ == "__main__":
    _main()
