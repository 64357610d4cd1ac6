"""Containers of arrays ("pytrees"): nested dicts, lists, tuples and namedtuples of leaves.

Every transformation flattens its differentiated arguments into a list of leaves (arrays, numbers,
traced values), works on the leaves, and rebuilds the same structure for its results. One
flatten/unflatten pair serves all of them. ``None`` is an empty subtree (no leaves), as in JAX.
Other container types join with ``register_pytree``.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable
from typing import Any, NamedTuple

import numpy as np

_ndarray = np.ndarray
_NODES: dict[type, tuple[Callable[[Any], tuple[Iterable[Any], Hashable]],
                         Callable[[Hashable, list[Any]], Any]]] = {}


class TreeDef(NamedTuple):
    """The structure of a pytree: its node type, the node's static data and the children's defs.

    A leaf is ``TreeDef(None, None, ())``.
    """

    kind: type | None
    aux: Any
    children: tuple[TreeDef, ...]

    @property
    def is_leaf(self) -> bool:
        return self.kind is None

    @property
    def num_leaves(self) -> int:
        if self.kind is None:
            return 1
        return sum(c.num_leaves for c in self.children)


LEAF = TreeDef(None, None, ())


def register_pytree(kind: type, flatten: Callable[[Any], tuple[Iterable[Any], Hashable]],
                    unflatten: Callable[[Hashable, list[Any]], Any]) -> None:
    """Make ``kind`` a container: ``flatten(node) -> (children, aux)``,
    ``unflatten(aux, children) -> node``. Children may themselves be containers."""
    _NODES[kind] = (flatten, unflatten)


def _is_namedtuple(x: Any) -> bool:
    return isinstance(x, tuple) and hasattr(type(x), "_fields")


def is_container(x: Any) -> bool:
    """True for a value with structure (dict, list, tuple, namedtuple, None, registered type)."""
    t = type(x)
    if t is float or t is _ndarray:  # the common leaves, decided first
        return False
    return t is dict or t is list or t is tuple or x is None or t in _NODES or _is_namedtuple(x) \
        or isinstance(x, dict)


def flatten(tree: Any) -> tuple[list[Any], TreeDef]:
    """The leaves of ``tree`` in a fixed order (dict entries in insertion order) and its structure."""
    leaves: list[Any] = []
    return leaves, _flatten(tree, leaves)


def _flatten(x: Any, leaves: list[Any]) -> TreeDef:
    t = type(x)
    if t in _NODES:
        children, aux = _NODES[t][0](x)
        return TreeDef(t, aux, tuple(_flatten(c, leaves) for c in children))
    if isinstance(x, dict):
        keys = tuple(x)
        return TreeDef(t, keys, tuple(_flatten(x[k], leaves) for k in keys))
    if t is list or t is tuple or _is_namedtuple(x):
        return TreeDef(t, len(x), tuple(_flatten(c, leaves) for c in x))
    if x is None:
        return TreeDef(type(None), None, ())
    leaves.append(x)
    return LEAF


def unflatten(treedef: TreeDef, leaves: Iterable[Any]) -> Any:
    """Rebuild the structure ``treedef`` around ``leaves`` (as many as it has)."""
    it = iter(leaves)
    out = _unflatten(treedef, it)
    if next(it, _END) is not _END:
        raise ValueError("unflatten got more leaves than the structure holds")
    return out


_END = object()


def _unflatten(d: TreeDef, it: Any) -> Any:
    if d.kind is None:
        try:
            return next(it)
        except StopIteration:
            raise ValueError("unflatten got fewer leaves than the structure holds") from None
    children = [_unflatten(c, it) for c in d.children]
    kind = d.kind
    if kind in _NODES:
        return _NODES[kind][1](d.aux, children)
    if kind is type(None):
        return None
    if issubclass(kind, dict):
        out = dict(zip(d.aux, children))
        return out if kind is dict else kind(out)
    if kind is list:
        return children
    if kind is tuple:
        return tuple(children)
    return kind(*children)  # a namedtuple


def map_leaves(fn: Callable[..., Any], tree: Any, *rest: Any) -> Any:
    """``fn`` applied leaf by leaf to ``tree`` (and trees of the same structure in ``rest``)."""
    leaves, treedef = flatten(tree)
    others = []
    for r in rest:
        r_leaves, r_def = flatten(r)
        if r_def != treedef:
            raise ValueError(f"structures differ: {describe(treedef)} and {describe(r_def)}")
        others.append(r_leaves)
    return unflatten(treedef, [fn(*xs) for xs in zip(leaves, *others)])


def describe(treedef: TreeDef) -> str:
    """A short readable form of a structure, for error messages: ``{'w': *, 'b': [*, *]}``."""
    d = treedef
    if d.kind is None:
        return "*"
    if d.kind is type(None):
        return "None"
    inner = [describe(c) for c in d.children]
    if isinstance(d.aux, tuple) and issubclass(d.kind, dict):
        return "{" + ", ".join(f"{k!r}: {v}" for k, v in zip(d.aux, inner)) + "}"
    if d.kind is list:
        return "[" + ", ".join(inner) + "]"
    if d.kind is tuple:
        return "(" + ", ".join(inner) + ("," if len(inner) == 1 else "") + ")"
    return f"{d.kind.__name__}(" + ", ".join(inner) + ")"


def leaf_paths(tree: Any) -> list[str]:
    """A readable path per leaf, in ``flatten`` order: ``['w']``, ``[0]``, ``.b``."""
    paths: list[str] = []
    _paths(tree, "", paths)
    return paths


def _paths(x: Any, prefix: str, out: list[str]) -> None:
    t = type(x)
    if t in _NODES:
        children, _ = _NODES[t][0](x)
        for k, c in enumerate(children):
            _paths(c, f"{prefix}[{k}]", out)
    elif isinstance(x, dict):
        for k in x:
            _paths(x[k], f"{prefix}[{k!r}]", out)
    elif _is_namedtuple(x):
        for name, c in zip(type(x)._fields, x):
            _paths(c, f"{prefix}.{name}", out)
    elif t is list or t is tuple:
        for k, c in enumerate(x):
            _paths(c, f"{prefix}[{k}]", out)
    elif x is not None:
        out.append(prefix)
