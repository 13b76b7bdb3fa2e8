"""A public rule made from an entry of the table: ``pullback.exp`` is the table's ``exp``.

The rule is a short named function (``exp``, returning ``exp_pullback``),
written out once per entry from the two templates below (the library's own
text; nothing of a user's enters it). It computes the entry's value and local
derivative by the entry's own forms: its float code at a float (its NumPy
form at a special value, which gives the IEEE answer), its array kernel on an
array (or its NumPy value and vjp, for an entry without one); the pullback
multiplies the cotangent by that derivative. Nothing of the derivative is
written here.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from .. import _ieee as ieee
from .._table.entry import Primitive, as_float_if_scalar
from .._values import as_value, nd

__all__ = ["entry_of", "rule_from", "value_and_derivative"]

_RULE = """
def {name}(x, /):
    if type(x) is float:  # the common case first: the entry's float code
        try:
            y, d = at_floats(x)
        except (ArithmeticError, ValueError):  # a special value: the IEEE answer
            y, d = value_and_derivative(entry, x)
    else:
        y, d = value_and_derivative(entry, x)

    def {name}_pullback(dy):
        return mul(dy, d)

    return y, {name}_pullback
"""


def rule_from(entry: Primitive, doc: str) -> Callable[..., Any]:
    """The public rule of an elementwise entry: ``rule(x) -> (y, {name}_pullback)``.

    Args:
        entry: an elementwise entry of the table.
        doc: the rule's docstring.

    Returns:
        A function named after the entry, with ``entry`` as an attribute.

    >>> from pullback._table.elementwise import UNARY
    >>> sqrt = rule_from(UNARY[np.sqrt], "Square root.")
    >>> y, back = sqrt(4.0)
    >>> y, back(1.0), back
    (2.0, 0.25, <function sqrt.<locals>.sqrt_pullback at ...>)
    """
    namespace: dict[str, Any] = {
        "at_floats": entry.at_floats or _no_float_code,
        "value_and_derivative": value_and_derivative,
        "entry": entry,
        "mul": ieee.mul,
    }
    source = _RULE.format(name=entry.name)
    exec(compile(source, f"<pullback rule {entry.name}>", "exec"), namespace)
    rule: Callable[..., Any] = namespace[entry.name]
    rule.__doc__ = doc
    rule.__module__ = "pullback"
    rule.entry = entry  # type: ignore[attr-defined]
    return rule


def entry_of(rule: object) -> Primitive | None:
    """The table's entry of a public rule made from one (``exp``, ``mul``, ``affine``), or None.

    >>> from pullback import exp, scale
    >>> entry_of(exp), entry_of(scale(2.0))
    (exp, None)
    """
    entry = getattr(rule, "entry", None)
    return entry if type(entry) is Primitive and getattr(rule, "__code__", None) else None


def _no_float_code(x: float) -> tuple[float, float]:
    raise ValueError("no float code")  # sends the rule to the entry's NumPy form


def value_and_derivative(entry: Primitive, x: Any) -> tuple[Any, Any]:
    """The value and the local derivative ``dy/dx`` (elementwise) of ``entry`` at ``x``.

    Args:
        entry: an elementwise entry of the table.
        x: a float or a float64 array (checked and converted as every rule does).

    Returns:
        ``(y, d)``: floats for a float, new arrays of ``x``'s shape for an array.

    Raises:
        TypeError: ``x`` is not a value.
    """
    if type(x) is not float:
        x = as_value(x, entry.name)
    if type(x) is float:
        y, d = _numpy(entry, np.float64(x))
        return float(y), float(d)
    kernel = entry.array_kernel
    if kernel is None:
        y, d = _numpy(entry, x)
        return nd(y), np.broadcast_to(nd(d), x.shape).copy()
    # A 0-d array runs as one element: kernels write with out=, and NumPy makes
    # scalars of 0-d results.
    flat = x.reshape(1) if x.ndim == 0 else x
    with ieee.quiet():
        y, d, factor = kernel(flat, False, True)
        if d is None:
            d = np.full(flat.shape, factor)
        elif factor != 1.0:
            d = d * factor  # a sign or a constant, as the fused chains apply it
    return y.reshape(x.shape), d.reshape(x.shape)


def _numpy(entry: Primitive, x: Any) -> tuple[Any, Any]:
    vjps = entry.vjps
    assert vjps is not None and vjps[0] is not None
    with ieee.quiet():
        y = entry.forward(x)
        d = vjps[0](np.float64(1.0), y, x)  # the derivative: the vjp of a unit cotangent
    return (as_float_if_scalar(y) if np.ndim(y) == 0 else y), d
