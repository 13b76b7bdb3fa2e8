"""Elementwise functions of two operands, with NumPy's broadcasting.

Each entry gives the two local partial derivatives ``(∂y/∂a, ∂y/∂b)`` as
functions of ``a``, ``b`` and the output ``y``; the pullback multiplies them by
the cotangent and sums each back to its operand's shape where NumPy broadcast
it. Ties of ``maximum``/``minimum`` share the cotangent equally (as JAX and
PyTorch do), the convention of every max/min in the table.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from .elementwise import strong_zero
from .entry import Primitive, shape_of, unbroadcast

__all__ = ["BINARY", "binary"]

BINARY: dict[Any, Primitive] = {}
"""Each NumPy ufunc of two operands and its entry."""

Partials = Callable[[Any, Any, Any], tuple[Any, Any]]


def binary(*ufuncs: Any, edge: str = "") -> Callable[[Partials], Primitive]:
    """Make an entry from its partial derivatives ``(a, b, y) -> (∂y/∂a, ∂y/∂b)``.

    Args:
        *ufuncs: the NumPy ufuncs this entry answers (the first computes the value).
        edge: the convention at the edges, for the reference page.

    Returns:
        A decorator turning the partials into the :class:`Primitive`.
    """

    def make(partials: Callable[[Any, Any, Any], tuple[Any, Any]]) -> Primitive:
        name = partials.__name__

        def first_pullback(g: Any, y: Any, a: Any, b: Any) -> Any:
            return unbroadcast(strong_zero(g, g * partials(a, b, y)[0]), shape_of(a))

        def second_pullback(g: Any, y: Any, a: Any, b: Any) -> Any:
            return unbroadcast(strong_zero(g, g * partials(a, b, y)[1]), shape_of(b))

        first_pullback.__name__ = first_pullback.__qualname__ = f"{name}_pullback_a"
        second_pullback.__name__ = second_pullback.__qualname__ = f"{name}_pullback_b"
        doc = (partials.__doc__ or "").strip().splitlines()[0]
        entry = Primitive(name, ufuncs[0], (first_pullback, second_pullback), 2, doc=doc, edge=edge)
        for ufunc in ufuncs:
            BINARY[ufunc] = entry
        return entry

    return make


def _tie_share(a: Any, b: Any, wins: Any) -> tuple[Any, Any]:
    # wins is where a is the result; ties (a == b) give each operand half.
    tie = a == b
    share = np.where(tie, 0.5, np.where(wins, 1.0, 0.0))
    return share, np.where(tie, 0.5, 1.0 - share)


# -- arithmetic -----------------------------------------------------------------------


@binary(np.add)
def add(a: Any, b: Any, y: Any) -> tuple[Any, Any]:
    """a + b; (1, 1)."""
    return 1.0, 1.0


@binary(np.subtract)
def sub(a: Any, b: Any, y: Any) -> tuple[Any, Any]:
    """a - b; (1, -1)."""
    return 1.0, -1.0


@binary(np.multiply)
def mul(a: Any, b: Any, y: Any) -> tuple[Any, Any]:
    """a * b, the book's multiply node; (b, a)."""
    return b, a


def div_pullback_a(g: Any, y: Any, a: Any, b: Any) -> Any:
    return unbroadcast(g / b, shape_of(a))


def div_pullback_b(g: Any, y: Any, a: Any, b: Any) -> Any:
    # The cotangent is divided first, as the rule does: stored partials 1/b and
    # -y/b would overflow first at a tiny b (then 0 * inf = nan where this is 0).
    return unbroadcast(-(g / b) * y, shape_of(b))


div = Primitive(
    "div",
    np.true_divide,
    (div_pullback_a, div_pullback_b),
    2,
    doc="a / b; (dy/b, -(dy/b) y).",
    edge="1/0 = inf, 0/0 = nan (IEEE 754)",
)
BINARY[np.true_divide] = div


def _power_partials(a: Any, b: Any, y: Any) -> tuple[Any, Any]:
    # ∂/∂a = b a^(b-1), with a zero exponent giving 0 (x**0 is the constant 1,
    # even at x = 0 where 0 * 0**-1 would be nan); ∂/∂b = y ln a, 0 at a = 0
    # (the limit of y ln a for a positive power of zero).
    da = np.where(np.equal(b, 0), 0.0, b * np.power(a, b - 1.0))
    return da, y * np.log(np.where(np.equal(a, 0), 1.0, a))


@binary(np.power, edge="0**b: ∂/∂a as power(n) (ChainRules); ∂/∂b = 0 at a = 0; a < 0: ∂/∂b nan")
def power(a: Any, b: Any, y: Any) -> tuple[Any, Any]:
    """a ** b (never complex: a negative base to a fractional power is nan); (b a^(b-1), y ln a)."""
    return _power_partials(a, b, y)


@binary(np.float_power, edge="as power")
def float_power(a: Any, b: Any, y: Any) -> tuple[Any, Any]:
    """a ** b in float64; (b a^(b-1), y ln a)."""
    return _power_partials(a, b, y)


@binary(
    np.remainder, edge="kinks where a/b is an integer: the derivative of the piece to the right"
)
def remainder(a: Any, b: Any, y: Any) -> tuple[Any, Any]:
    """a mod b with the sign of b (Python's %); (1, -floor(a/b))."""
    return 1.0, -np.floor(a / b)


@binary(np.fmod, edge="as remainder")
def fmod(a: Any, b: Any, y: Any) -> tuple[Any, Any]:
    """C's fmod, with the sign of a; (1, -trunc(a/b))."""
    return 1.0, -np.trunc(a / b)


# -- max and min: ties share ---------------------------------------------------------


@binary(np.maximum, edge="a tie gives each operand half; a nan wins (as NumPy)")
def maximum(a: Any, b: Any, y: Any) -> tuple[Any, Any]:
    """The larger, nan-propagating; (1, 0) where a wins."""
    return _tie_share(a, b, (a > b) | np.isnan(a))


@binary(np.minimum, edge="a tie gives each operand half; a nan wins (as NumPy)")
def minimum(a: Any, b: Any, y: Any) -> tuple[Any, Any]:
    """The smaller, nan-propagating; (1, 0) where a wins."""
    return _tie_share(a, b, (a < b) | np.isnan(a))


@binary(np.fmax, edge="a tie gives each operand half; a nan loses")
def fmax(a: Any, b: Any, y: Any) -> tuple[Any, Any]:
    """The larger, ignoring nan; (1, 0) where a wins."""
    return _tie_share(a, b, (a > b) | np.isnan(b))


@binary(np.fmin, edge="a tie gives each operand half; a nan loses")
def fmin(a: Any, b: Any, y: Any) -> tuple[Any, Any]:
    """The smaller, ignoring nan; (1, 0) where a wins."""
    return _tie_share(a, b, (a < b) | np.isnan(b))


# -- geometry and log-space ------------------------------------------------------------


def _zero_where(mask: Any, x: Any) -> Any:
    return np.where(mask, 0.0, x)


@binary(np.hypot, edge="at the origin the gradient is 0 (as the norm of the zero vector)")
def hypot(a: Any, b: Any, y: Any) -> tuple[Any, Any]:
    """√(a² + b²); (a/y, b/y)."""
    origin = np.equal(y, 0.0)
    safe = np.where(origin, 1.0, y)
    return _zero_where(origin, a / safe), _zero_where(origin, b / safe)


@binary(np.arctan2, edge="at the origin the gradient is 0 (JAX gives nan)")
def arctan2(a: Any, b: Any, y: Any) -> tuple[Any, Any]:
    """The angle of (b, a); (b/(a² + b²), -a/(a² + b²))."""
    r2 = a * a + b * b
    origin = np.equal(r2, 0.0)
    safe = np.where(origin, 1.0, r2)
    return _zero_where(origin, b / safe), _zero_where(origin, -a / safe)


@binary(np.logaddexp, edge="both -inf: value -inf, gradient 0 (not nan)")
def logaddexp(a: Any, b: Any, y: Any) -> tuple[Any, Any]:
    """log(e^a + e^b) without overflow; (e^(a-y), e^(b-y))."""
    empty = np.equal(y, -math.inf)
    safe = np.where(empty, 0.0, y)
    return _zero_where(empty, np.exp(a - safe)), _zero_where(empty, np.exp(b - safe))


@binary(np.logaddexp2, edge="both -inf: value -inf, gradient 0 (not nan)")
def logaddexp2(a: Any, b: Any, y: Any) -> tuple[Any, Any]:
    """log2(2^a + 2^b) without overflow; (2^(a-y), 2^(b-y))."""
    empty = np.equal(y, -math.inf)
    safe = np.where(empty, 0.0, y)
    return _zero_where(empty, np.exp2(a - safe)), _zero_where(empty, np.exp2(b - safe))
