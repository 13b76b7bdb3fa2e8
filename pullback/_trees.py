"""Nested tuples, lists and dicts of values (a model's parameters): flatten and rebuild."""

from __future__ import annotations

from typing import Any

__all__ = ["TreeSpec", "flatten", "leaf_paths", "unflatten"]

# A spec is None for a leaf, or (kind, keys, children) for a container.
TreeSpec = Any


def flatten(tree: Any) -> tuple[list[Any], TreeSpec]:
    """The leaves of ``tree`` in a fixed order, and the spec to rebuild it.

    Tuples, lists and dicts are containers (dict keys in sorted order when they
    sort, else in insertion order); anything else is a leaf. The walk keeps its
    own stack, so a tree nested thousands of levels deep is no RecursionError.

    >>> leaves, spec = flatten({"b": (1.0, 2.0), "a": [3.0]})
    >>> leaves
    [3.0, 1.0, 2.0]
    >>> unflatten(spec, [x * 10 for x in leaves])
    {'a': [30.0], 'b': (10.0, 20.0)}
    """
    leaves: list[Any] = []
    if not _is_container(tree):
        leaves.append(tree)
        return leaves, None
    kind, keys, items = _open(tree)
    for item in items:
        item_kind = type(item)  # _is_container, inline: once per leaf of every call
        if item_kind is dict or item_kind is tuple or item_kind is list:
            break
    else:  # one level of leaves (a model's dict of arrays): no stack to walk
        return list(items), (kind, keys, [None] * len(items))
    root: TreeSpec = (kind, keys, [])
    stack = [(iter(items), root[2])]
    while stack:
        remaining, children = stack[-1]
        for item in remaining:
            if _is_container(item):
                kind, keys, inner = _open(item)
                child: TreeSpec = (kind, keys, [])
                children.append(child)
                stack.append((iter(inner), child[2]))
                break
            leaves.append(item)  # a leaf, handled here: most trees are a dict of arrays
            children.append(None)
        else:
            stack.pop()
    return leaves, root


def _is_container(x: Any) -> bool:
    kind = type(x)
    return kind is dict or kind is tuple or kind is list


def _open(tree: Any) -> tuple[type, list[Any] | None, Any]:
    """A container's kind, its keys (for a dict, else None) and its items in order."""
    kind = type(tree)
    if kind is dict:
        keys = list(tree)
        try:  # noqa: SIM105  (contextlib.suppress costs a microsecond on a hot path)
            keys.sort()
        except TypeError:  # keys of mixed types: insertion order
            pass
        return kind, keys, [tree[k] for k in keys]
    return kind, None, tree


def unflatten(spec: TreeSpec, leaves: list[Any]) -> Any:
    """Rebuild a tree of the shape ``spec`` from ``leaves`` (in flatten's order)."""
    if spec is None:
        return leaves[0]
    kind, keys, children = spec
    if not any(children):
        # One level of leaves (flatten's fast case): built directly.
        if kind is dict:
            return dict(zip(keys, leaves, strict=True))
        return list(leaves) if kind is list else kind(leaves)
    position = iter(leaves)
    # Each frame: a container's spec and the items built for it so far.
    stack: list[tuple[TreeSpec, list[Any]]] = [(spec, [])]
    while True:
        (kind, keys, children), built = stack[-1]
        i = len(built)
        while i < len(children) and children[i] is None:
            built.append(next(position))
            i += 1
        if i < len(children):
            stack.append((children[i], []))
            continue
        stack.pop()
        if kind is dict:
            value: Any = dict(zip(keys, built, strict=True))
        else:
            value = built if kind is list else kind(built)
        if not stack:
            return value
        stack[-1][1].append(value)


def leaf_paths(tree: Any, name: str) -> list[str]:
    """A readable name for each leaf, in flatten's order: ``p['w']``, ``p['b'][0]``.

    >>> leaf_paths({"w": 1.0, "b": [2.0, 3.0]}, "p")
    ["p['b'][0]", "p['b'][1]", "p['w']"]
    """
    _, spec = flatten(tree)
    out: list[str] = []
    stack: list[tuple[TreeSpec, str]] = [(spec, name)]
    while stack:
        node, prefix = stack.pop()
        if node is None:
            out.append(prefix)
            continue
        kind, keys, children = node
        labels = [repr(k) for k in keys] if kind is dict else [str(i) for i in range(len(children))]
        # Pushed last first, so they are named first to last (flatten's order).
        for label, child in reversed(list(zip(labels, children, strict=True))):
            stack.append((child, f"{prefix}[{label}]"))
    return out
