"""Binary rules with broadcasting, each made from its table entry: ``add, sub, mul, div``.

The pullback returns one cotangent per input. Where NumPy broadcast an input
(a float against an array, a row against a matrix), its cotangent is summed
back to that input's shape: a float input gets a float cotangent. The
derivatives are the entries' (``_table.binary``); nothing of them is written here.

>>> y, back = add(2.0, 3.0)
>>> y, back(1.0)
(5.0, (1.0, 1.0))
>>> y, back = sub(2.0, 3.0)
>>> y, back(1.0)
(-1.0, (1.0, -1.0))
>>> price, back = mul(100.0, 2.0)          # the book's multiply node
>>> price, back(1.1)
(200.0, (2.2, 110.00000000000001))
>>> y, back = div(1.0, 4.0)
>>> y, back(1.0)
(0.25, (0.25, -0.0625))
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

import numpy as np

from .. import _ieee as ieee
from .._table.binary import BINARY
from .._table.entry import Primitive, unbroadcast
from .._types import Pullback, V
from .._values import as_value, nd

__all__ = ["add", "div", "mul", "sub"]

_RULE = """
def {name}(a, b, /):
    a, b = as_value(a, "{name} (argument 1)"), as_value(b, "{name} (argument 2)")
    if type(a) is float and type(b) is float:
        try:
            y, partials = at_floats(a, b)
        except (ArithmeticError, ValueError):  # a special value: the IEEE answer
            y, partials = value(entry, a, b), None
    else:
        y, partials = value(entry, a, b), None

    def {name}_pullback(dy):
        return cotangents(entry, partials, dy, y, a, b)

    return y, {name}_pullback
"""

_DOC = """{summary}

Args:
    a: a float or a float64 array.
    b: a float or a float64 array (broadcast against ``a``).

Returns:
    ``(y, {name}_pullback)``.

Raises:
    TypeError: an argument is not a value.
    ValueError: the shapes cannot broadcast.
"""


class _BinaryRule(Protocol):
    """The static type of add, sub, mul and div: two values of one kind, two cotangents."""

    def __call__(self, a: V, b: V, /) -> tuple[V, Pullback[V, tuple[V, V]]]: ...


def value(entry: Primitive, a: Any, b: Any) -> Any:
    """The entry's value at ``a`` and ``b`` (IEEE 754, no warnings), or a ValueError naming it."""
    try:
        with ieee.quiet():
            y = entry.forward(a, b)
    except ValueError as err:
        raise ValueError(
            f"{entry.name}: cannot broadcast shapes {np.shape(a)} and {np.shape(b)} ({err})"
        ) from None
    return float(y) if type(a) is float and type(b) is float else nd(y)


def cotangents(entry: Primitive, partials: Any, dy: Any, y: Any, a: Any, b: Any) -> tuple[Any, Any]:
    """The two cotangents: from the float partials, or by the entry's vjps."""
    if type(dy) is float:
        if type(partials) is tuple:
            return dy * partials[0], dy * partials[1]
        if partials is not None:
            first, second = partials(dy)
            return first, second
    products = entry.plain
    assert products is not None
    g, ys, xa, xb = (np.float64(v) if type(v) is float else v for v in (dy, y, a, b))
    with ieee.quiet():
        da, db = products(g, ys, xa, xb)
        return _summed(da, a, dy), _summed(db, b, dy, da)


def _summed(r: Any, x: Any, *others: Any) -> Any:
    # Summed back where NumPy broadcast x: a float input gets a float; an array
    # input a new array of its shape, never the cotangent given or the other
    # input's (add's two cotangents are two arrays).
    if type(x) is float:
        return float(r) if np.ndim(r) == 0 else float(np.sum(r))
    r = unbroadcast(np.asarray(r, dtype=np.float64), x.shape)
    if type(r) is np.ndarray and r.shape == x.shape and not any(r is o for o in others):
        return r
    return np.array(r, dtype=np.float64).reshape(x.shape)


def _rule(ufunc: Any, summary: str) -> Callable[..., Any]:
    entry = BINARY[ufunc]
    namespace: dict[str, Any] = {
        "as_value": as_value,
        "at_floats": entry.at_floats,
        "entry": entry,
        "value": value,
        "cotangents": cotangents,
    }
    source = _RULE.format(name=entry.name)
    exec(compile(source, f"<pullback rule {entry.name}>", "exec"), namespace)
    rule: Callable[..., Any] = namespace[entry.name]
    rule.__doc__ = _DOC.format(summary=summary, name=entry.name)
    rule.__module__ = "pullback"
    rule.entry = entry  # type: ignore[attr-defined]
    return rule


# Typed for two values of the same kind (see README, Types): a float against an
# array works at run time.
add: _BinaryRule = _rule(np.add, "Sum: ``y = a + b``, ``(da, db) = (dy, dy)``.")
sub: _BinaryRule = _rule(np.subtract, "Difference: ``y = a - b``, ``(da, db) = (dy, -dy)``.")
mul: _BinaryRule = _rule(
    np.multiply,
    "Product: ``y = a * b``, ``(da, db) = (dy * b, dy * a)`` — the book's multiply node.",
)
div: _BinaryRule = _rule(
    np.true_divide, "Quotient: ``y = a / b``, ``da = dy / b``, ``db = -da * y``; ``1/0 = inf``."
)
