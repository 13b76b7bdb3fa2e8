"""Parametrised elementwise primitives: ``scale(c)``, ``add_const(c)``, ``power(n)``.

A factory checks its constant once and returns an immutable rule object whose
``__call__`` works on floats and arrays alike; its ``repr`` is the call that
made it (``scale(-1.0)``), which is how compositions name their stages. The
constant is not differentiated.
"""

from __future__ import annotations

import math
from typing import NoReturn

import numpy as np

from .. import _ieee as ieee
from .._types import Pullback, V
from .._values import as_value, describe

__all__ = ["AddConst", "Power", "Scale", "add_const", "power", "scale"]


def _constant(c: object, factory: str) -> float:
    real = (int, float, np.integer, np.floating)
    if isinstance(c, (bool, np.bool_)) or not isinstance(c, real):
        raise TypeError(f"{factory}: the constant must be a real number, got {describe(c)}")
    try:
        return float(c)
    except OverflowError:
        raise ValueError(
            f"{factory}: the constant {describe(c)} is too large for a float64"
        ) from None


class _Frozen:
    __slots__ = ()

    def __setattr__(self, name: str, value: object) -> NoReturn:
        raise AttributeError(f"{self!r} is immutable")

    def __delattr__(self, name: str) -> NoReturn:
        raise AttributeError(f"{self!r} is immutable")


class Scale(_Frozen):
    """The rule ``x -> c*x`` made by :func:`scale`."""

    __slots__ = ("c",)
    c: float

    def __init__(self, c: float) -> None:
        object.__setattr__(self, "c", c)

    def __call__(self, x: V, /) -> tuple[V, Pullback[V, V]]:
        if type(x) is not float:  # a float needs no checking
            x = as_value(x, self)
        c = self.c

        def scale_pullback(dy: V) -> V:
            return ieee.mul(dy, c)

        return ieee.mul(c, x), scale_pullback

    def __repr__(self) -> str:
        return f"scale({self.c!r})"

    def __eq__(self, other: object) -> bool:
        return type(other) is Scale and other.c == self.c

    def __hash__(self) -> int:
        return hash(("scale", self.c))


class AddConst(_Frozen):
    """The rule ``x -> x + c`` made by :func:`add_const`."""

    __slots__ = ("c",)
    c: float

    def __init__(self, c: float) -> None:
        object.__setattr__(self, "c", c)

    def __call__(self, x: V, /) -> tuple[V, Pullback[V, V]]:
        if type(x) is not float:  # a float needs no checking
            x = as_value(x, self)
        return ieee.add(x, self.c), add_const_pullback

    def __repr__(self) -> str:
        return f"add_const({self.c!r})"

    def __eq__(self, other: object) -> bool:
        return type(other) is AddConst and other.c == self.c

    def __hash__(self) -> int:
        return hash(("add_const", self.c))


def add_const_pullback(dy: V) -> V:
    """The pullback of ``x + c``: the cotangent passes through (an array as a copy of its own)."""
    return dy.copy() if type(dy) is np.ndarray else dy


class Power(_Frozen):
    """The rule ``x -> x**n`` made by :func:`power`."""

    __slots__ = ("n",)
    n: float | int

    def __init__(self, n: float | int) -> None:
        object.__setattr__(self, "n", n)

    def __call__(self, x: V, /) -> tuple[V, Pullback[V, V]]:
        if type(x) is not float:  # a float needs no checking
            x = as_value(x, self)
        n = self.n
        y = ieee.pow(x, n)

        def power_pullback(dy: V) -> V:
            return ieee.mul(dy, power_derivative(x, n))

        return y, power_pullback

    def __repr__(self) -> str:
        return f"power({self.n!r})"

    def __eq__(self, other: object) -> bool:
        return type(other) is Power and other.n == self.n

    def __hash__(self) -> int:
        return hash(("power", self.n))


def power_derivative(x: V, n: float | int) -> V:
    """``n * x**(n-1)``; at ``x = 0`` this gives the ChainRules table.

    n = 1 -> 1 (``0**0 = 1``); n > 1 -> 0; 0 < n < 1 -> +inf; n < 0 -> ±inf
    (the sign of ``0**(n-1)`` follows the sign of zero for odd ``n - 1``).
    n = 0 is the constant 1, whose derivative is 0 everywhere, even where
    ``0 * x**-1`` would be ``0 * inf = nan``.
    """
    if n == 0:
        return 0.0 if isinstance(x, float) else np.zeros_like(x)
    if n == -1:
        # From the output y = 1/x: -y² costs a multiply where x**-2 costs a pow
        # (and is -inf at ±0, 0 at ±inf, as the table says).
        y = ieee.div(1.0, x)
        return -ieee.mul(y, y)
    return ieee.mul(float(n), ieee.pow(x, n - 1))


def scale(c: float) -> Scale:
    """The rule ``x -> c*x`` (``dx = c*dy``) for a constant ``c``.

    Args:
        c: the constant factor (a real number; not differentiated).

    Returns:
        An immutable rule, named ``scale(c)`` in compositions and errors.

    Raises:
        TypeError: ``c`` is not a real number.

    >>> double = scale(2.0)
    >>> y, back = double(3.0)
    >>> y, back(1.0)
    (6.0, 2.0)
    >>> double
    scale(2.0)
    """
    return Scale(_constant(c, "scale"))


def add_const(c: float) -> AddConst:
    """The rule ``x -> x + c`` (``dx = dy``) for a constant ``c``.

    Args:
        c: the constant to add (a real number; not differentiated).

    Returns:
        An immutable rule, named ``add_const(c)`` in compositions and errors.

    Raises:
        TypeError: ``c`` is not a real number.

    >>> y, back = add_const(1)(2.0)
    >>> y, back(5.0)
    (3.0, 5.0)
    """
    return AddConst(_constant(c, "add_const"))


def power(n: float) -> Power:
    """The rule ``x -> x**n`` (``dx = dy * n x**(n-1)``) for a constant exponent ``n``.

    An integral ``n`` (``2`` or ``2.0``) is applied as an integer power, so a
    negative base keeps its sign; a negative base to a non-integral power is
    nan, never a complex number. At ``x = 0`` the derivative follows the
    ChainRules table: n = 1 -> 1; n = 0 or n > 1 -> 0; 0 < n < 1 -> +inf;
    n < 0 -> ±inf. Nothing raises.

    Args:
        n: the exponent (a real number; not differentiated).

    Returns:
        An immutable rule, named ``power(n)`` in compositions and errors.

    Raises:
        TypeError: ``n`` is not a real number.

    >>> y, back = power(3)(2.0)
    >>> y, back(1.0)
    (8.0, 12.0)
    >>> power(0.5)(-4.0)[0]
    nan
    """
    value = _constant(n, "power")
    exponent: float | int = int(value) if math.isfinite(value) and value.is_integer() else value
    return Power(exponent)
