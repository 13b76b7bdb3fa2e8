"""Nested tuples, lists and dicts of values (a model's parameters): flatten and rebuild."""

from __future__ import annotations

from typing import Any

__all__ = ["TreeSpec", "flatten", "leaf_paths", "unflatten"]

# A spec is None for a leaf, or (kind, keys, children) for a container.
TreeSpec = Any


def flatten(tree: Any) -> tuple[list[Any], TreeSpec]:
    """The leaves of ``tree`` in a fixed order, and the spec to rebuild it.

    Tuples, lists and dicts are containers (dict keys in sorted order when they
    sort, else in insertion order); anything else is a leaf.

    >>> leaves, spec = flatten({"b": (1.0, 2.0), "a": [3.0]})
    >>> leaves
    [3.0, 1.0, 2.0]
    >>> unflatten(spec, [x * 10 for x in leaves])
    {'a': [30.0], 'b': (10.0, 20.0)}
    """
    leaves: list[Any] = []
    spec = _flatten_into(tree, leaves)
    return leaves, spec


def _flatten_into(tree: Any, leaves: list[Any]) -> TreeSpec:
    kind = type(tree)
    if kind is dict:
        keys = list(tree)
        try:  # noqa: SIM105  (contextlib.suppress costs a microsecond on a hot path)
            keys.sort()
        except TypeError:  # keys of mixed types: insertion order
            pass
        items = [tree[k] for k in keys]
    elif kind is tuple or kind is list:
        keys = None
        items = tree
    else:
        leaves.append(tree)
        return None
    children: list[TreeSpec] = []
    for item in items:
        inner = type(item)
        if inner is dict or inner is tuple or inner is list:
            children.append(_flatten_into(item, leaves))
        else:  # a leaf, handled here: most trees are a dict of arrays
            leaves.append(item)
            children.append(None)
    return (kind, keys, children)


def unflatten(spec: TreeSpec, leaves: list[Any]) -> Any:
    """Rebuild a tree of the shape ``spec`` from ``leaves`` (in flatten's order)."""
    position = iter(leaves)
    return _build(spec, position)


def _build(spec: TreeSpec, position: Any) -> Any:
    if spec is None:
        return next(position)
    kind, keys, children = spec
    items = [next(position) if child is None else _build(child, position) for child in children]
    if kind is dict:
        return dict(zip(keys, items, strict=True))
    return items if kind is list else kind(items)


def leaf_paths(tree: Any, name: str) -> list[str]:
    """A readable name for each leaf, in flatten's order: ``p['w']``, ``p['b'][0]``.

    >>> leaf_paths({"w": 1.0, "b": [2.0, 3.0]}, "p")
    ["p['b'][0]", "p['b'][1]", "p['w']"]
    """
    _, spec = flatten(tree)
    out: list[str] = []
    _paths(spec, name, out)
    return out


def _paths(spec: TreeSpec, prefix: str, out: list[str]) -> None:
    if spec is None:
        out.append(prefix)
        return
    kind, keys, children = spec
    labels = [repr(k) for k in keys] if kind is dict else [str(i) for i in range(len(children))]
    for label, child in zip(labels, children, strict=True):
        _paths(child, f"{prefix}[{label}]", out)
