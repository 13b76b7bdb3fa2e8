"""Binary primitives with NumPy broadcasting: ``add, sub, mul, div``.

The pullback returns one cotangent per input. Where NumPy broadcast an input
(a float against an array, a row against a matrix), its cotangent is summed
back to that input's shape: a float input gets a float cotangent.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from .. import _ieee as ieee
from .._types import Array, Pullback, V, Value
from .._values import as_value, nd

__all__ = ["add", "div", "mul", "sub", "unbroadcast"]


def add(a: V, b: V, /) -> tuple[V, Pullback[V, tuple[V, V]]]:
    """Sum: ``y = a + b``, ``(da, db) = (dy, dy)``.

    Args:
        a: a float or a float64 array.
        b: a float or a float64 array (broadcast against ``a``).

    Returns:
        ``(y, add_pullback)``.

    Raises:
        TypeError: an argument is not a value.
        ValueError: the shapes cannot broadcast.

    >>> y, back = add(2.0, 3.0)
    >>> y, back(1.0)
    (5.0, (1.0, 1.0))
    """
    a, b = as_value(a, "add (argument 1)"), as_value(b, "add (argument 2)")
    y = _apply(np.add, a, b, "add")

    def add_pullback(dy: V) -> tuple[V, V]:
        return unbroadcast(dy, a), unbroadcast(dy, b)

    return y, add_pullback


def sub(a: V, b: V, /) -> tuple[V, Pullback[V, tuple[V, V]]]:
    """Difference: ``y = a - b``, ``(da, db) = (dy, -dy)``.

    Args:
        a: a float or a float64 array.
        b: a float or a float64 array (broadcast against ``a``).

    Returns:
        ``(y, sub_pullback)``.

    Raises:
        TypeError: an argument is not a value.
        ValueError: the shapes cannot broadcast.

    >>> y, back = sub(2.0, 3.0)
    >>> y, back(1.0)
    (-1.0, (1.0, -1.0))
    """
    a, b = as_value(a, "sub (argument 1)"), as_value(b, "sub (argument 2)")
    y = _apply(np.subtract, a, b, "sub")

    def sub_pullback(dy: V) -> tuple[V, V]:
        return unbroadcast(dy, a), unbroadcast(-dy, b)

    return y, sub_pullback


def mul(a: V, b: V, /) -> tuple[V, Pullback[V, tuple[V, V]]]:
    """Product: ``y = a * b``, ``(da, db) = (dy * b, dy * a)`` — the book's multiply node.

    Args:
        a: a float or a float64 array.
        b: a float or a float64 array (broadcast against ``a``).

    Returns:
        ``(y, mul_pullback)``.

    Raises:
        TypeError: an argument is not a value.
        ValueError: the shapes cannot broadcast.

    >>> price, back = mul(100.0, 2.0)
    >>> price, back(1.1)
    (200.0, (2.2, 110.00000000000001))
    """
    a, b = as_value(a, "mul (argument 1)"), as_value(b, "mul (argument 2)")
    y = _apply(np.multiply, a, b, "mul")

    def mul_pullback(dy: V) -> tuple[V, V]:
        return unbroadcast(ieee.mul(dy, b), a), unbroadcast(ieee.mul(dy, a), b)

    return y, mul_pullback


def div(a: V, b: V, /) -> tuple[V, Pullback[V, tuple[V, V]]]:
    """Quotient: ``y = a / b``, ``da = dy / b``, ``db = -da * y``; ``1/0 = inf``.

    Args:
        a: a float or a float64 array.
        b: a float or a float64 array (broadcast against ``a``).

    Returns:
        ``(y, div_pullback)``.

    Raises:
        TypeError: an argument is not a value.
        ValueError: the shapes cannot broadcast.

    >>> y, back = div(1.0, 4.0)
    >>> y, back(1.0)
    (0.25, (0.25, -0.0625))
    """
    a, b = as_value(a, "div (argument 1)"), as_value(b, "div (argument 2)")
    y = _apply(np.divide, a, b, "div")

    def div_pullback(dy: V) -> tuple[V, V]:
        da = ieee.div(dy, b)
        return unbroadcast(da, a), unbroadcast(ieee.mul(-da, y), b)

    return y, div_pullback


_FLOAT_OPS: dict[Any, Callable[[float, float], float]] = {
    np.add: float.__add__,
    np.subtract: float.__sub__,
    np.multiply: float.__mul__,
    np.divide: ieee.div,
}


def _apply(ufunc: Any, a: Value, b: Value, rule: str) -> Any:
    if type(a) is float and type(b) is float:
        return _FLOAT_OPS[ufunc](a, b)
    try:
        with ieee.quiet():
            return nd(ufunc(a, b))
    except ValueError as err:
        raise ValueError(
            f"{rule}: cannot broadcast shapes {np.shape(a)} and {np.shape(b)} ({err})"
        ) from None


def unbroadcast(g: Value, like: Value) -> Any:
    """Sum the cotangent ``g`` back to the shape of the input ``like``.

    Args:
        g: a cotangent shaped like the (broadcast) output.
        like: the input whose cotangent is wanted.

    Returns:
        A float when ``like`` is a float, else a new array of ``like``'s shape
        (never ``g`` itself: ``add``'s two cotangents are two arrays).

    >>> unbroadcast(np.ones((2, 3)), np.zeros(3))
    array([2., 2., 2.])
    >>> unbroadcast(np.ones((2, 3)), 5.0)
    6.0
    """
    if type(like) is float:
        if type(g) is float:
            return g
        with ieee.quiet():
            return float(np.sum(g))
    shape: tuple[int, ...] = like.shape  # type: ignore[union-attr]
    out: Array = np.asarray(g, dtype=np.float64)
    if out.shape == shape:
        return out.copy() if out is g else out
    if out.ndim < len(shape):
        out = np.broadcast_to(out, np.broadcast_shapes(out.shape, shape))
    lead = out.ndim - len(shape)
    axes = tuple(range(lead)) + tuple(
        lead + i for i, n in enumerate(shape) if n == 1 and out.shape[lead + i] != 1
    )
    with ieee.quiet():
        summed = out.sum(axis=axes) if axes else out
    return np.array(summed, dtype=np.float64).reshape(shape)
