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

from .elementwise import strong_product, strong_zero
from .entry import Primitive, summed_back
from .library import SIGMOID

__all__ = ["BINARY", "binary"]

BINARY: dict[Any, Primitive] = {}
"""Each NumPy ufunc of two operands and its entry."""

Partials = Callable[[Any, Any, Any], tuple[Any, Any]]
Partial = Callable[[Any, Any, Any], Any]

_LN2 = math.log(2.0)


def binary(
    *ufuncs: Any,
    edge: str = "",
    at_floats: Callable[..., tuple[float, Any]] | None = None,
    each: tuple[Partial, Partial] | None = None,
) -> Callable[[Partials], Primitive]:
    """Make an entry from its partial derivatives ``(a, b, y) -> (∂y/∂a, ∂y/∂b)``.

    Args:
        *ufuncs: the NumPy ufuncs this entry answers (the first computes the value).
        edge: the convention at the edges, for the reference page.
        at_floats: the value and the partials at two floats in Python's own
            arithmetic (the hot path of scalar code), raising at a special value.
        each: the two partials as two functions ``(a, b, y) -> ∂y/∂a`` and
            ``(a, b, y) -> ∂y/∂b``, of which the decorated function gives the
            pair: each operand's pullback then computes its own partial only
            (power's ∂/∂b takes a logarithm that ∂/∂a has no use for, and a
            constant exponent is never pulled back to).

    Returns:
        A decorator turning the partials into the :class:`Primitive`.
    """

    def make(partials: Callable[[Any, Any, Any], tuple[Any, Any]]) -> Primitive:
        name = partials.__name__
        first, second = each if each is not None else (_nth(partials, 0), _nth(partials, 1))

        def first_products(g: Any, y: Any, a: Any, b: Any) -> Any:
            return _times(g, first(a, b, y))

        def second_products(g: Any, y: Any, a: Any, b: Any) -> Any:
            return _times(g, second(a, b, y))

        first_pullback, first_batch = summed_back(first_products, 0, f"{name}_pullback_a")
        second_pullback, second_batch = summed_back(second_products, 1, f"{name}_pullback_b")

        def plain(g: Any, y: Any, a: Any, b: Any) -> tuple[Any, Any]:
            da, db = partials(a, b, y)
            return g * da, g * db

        plain.__name__ = plain.__qualname__ = f"{name}_products"
        doc = (partials.__doc__ or "").strip().splitlines()[0]
        entry = Primitive(
            name,
            ufuncs[0],
            (first_pullback, second_pullback),
            2,
            doc=doc,
            edge=edge,
            at_floats=at_floats,
            plain=plain,
            batch=(first_batch, second_batch),
        )
        for ufunc in ufuncs:
            BINARY[ufunc] = entry
        return entry

    return make


def _nth(partials: Partials, i: int) -> Partial:
    def nth(a: Any, b: Any, y: Any) -> Any:
        return partials(a, b, y)[i]

    return nth


def _any(mask: Any) -> bool:
    # A mask from a comparison: a bool array or a NumPy bool (a comparison of
    # traced values is a constant, so the branch taken has the same numbers).
    return bool(mask.any() if type(mask) is np.ndarray else mask)


# The edges' masks (a zero base, the origin, equal infinities) usually select
# nothing: then they are skipped, with the same numbers and fewer operations,
# each of which is recorded when a traced pullback is differentiated again.


def _zero_where(mask: Any, x: Any) -> Any:
    return np.where(mask, 0.0, x) if _any(mask) else x


def _times(g: Any, partial: Any) -> Any:
    # A constant partial (add's 1, sub's -1) cannot turn a number into nan:
    # no multiplication by 1 and no check for the strong zero.
    if type(partial) is float:
        return g if partial == 1.0 else g * partial
    return strong_product(g, partial)


def _tie_share(a: Any, b: Any, wins: Any) -> tuple[Any, Any]:
    # wins is where a is the result; ties (a == b) give each operand half.
    # wins and tie never meet (a nan equals nothing), so a's share is wins + tie/2
    # and b's the rest: 1, 0 or 1/2 each, exactly.
    share = np.add(wins, np.multiply(np.equal(a, b), 0.5))
    return share, 1.0 - share


# -- arithmetic -----------------------------------------------------------------------


# At two floats: the value and the partials in Python's arithmetic, which
# raises at a special value (1/0); the entry's NumPy form then gives the IEEE answer.


def add_at_floats(a: float, b: float) -> tuple[float, tuple[float, float]]:
    return a + b, (1.0, 1.0)


def sub_at_floats(a: float, b: float) -> tuple[float, tuple[float, float]]:
    return a - b, (1.0, -1.0)


def mul_at_floats(a: float, b: float) -> tuple[float, tuple[float, float]]:
    return a * b, (b, a)


def div_at_floats(a: float, b: float) -> tuple[float, Callable[[Any], tuple[Any, Any]]]:
    # A pullback, not stored partials 1/b and -y/b, which overflow first at a
    # tiny b (then 0 * inf = nan where the entry gives 0): the cotangent is
    # divided first, as the entry's pullback does.
    y = a / b

    def div_pullback(g: Any) -> tuple[Any, Any]:
        da = g / b
        return da, -da * y

    return y, div_pullback


@binary(np.add, at_floats=add_at_floats)
def add(a: Any, b: Any, y: Any) -> tuple[Any, Any]:
    """a + b; (1, 1)."""
    return 1.0, 1.0


@binary(np.subtract, at_floats=sub_at_floats)
def sub(a: Any, b: Any, y: Any) -> tuple[Any, Any]:
    """a - b; (1, -1)."""
    return 1.0, -1.0


@binary(np.multiply, at_floats=mul_at_floats)
def mul(a: Any, b: Any, y: Any) -> tuple[Any, Any]:
    """a * b, the book's multiply node; (b, a)."""
    return b, a


def div_products(g: Any, y: Any, a: Any, b: Any) -> tuple[Any, Any]:
    # The cotangent is divided first: stored partials 1/b and -y/b would
    # overflow first at a tiny b (then 0 * inf = nan where this is 0).
    da = g / b
    return da, -da * y


def _div_products_a(g: Any, y: Any, a: Any, b: Any) -> Any:
    # strong_zero: a zero cotangent stays zero at b = 0 (0/0 would be nan), as in
    # every entry; the derivative 0.5/y of sqrt is such a division, and without it
    # the second derivative of np.where(x > 0, np.sqrt(x), 0.0) was nan at x = 0.
    return strong_zero(g, g / b)


def _div_products_b(g: Any, y: Any, a: Any, b: Any) -> Any:
    # The cotangent is divided first, as the rule does: stored partials 1/b and
    # -y/b would overflow first at a tiny b (then 0 * inf = nan where this is 0).
    return strong_zero(g, -(g / b) * y)


div_pullback_a, _div_batch_a = summed_back(_div_products_a, 0, "div_pullback_a")
div_pullback_b, _div_batch_b = summed_back(_div_products_b, 1, "div_pullback_b")


div = Primitive(
    "div",
    np.true_divide,
    (div_pullback_a, div_pullback_b),
    2,
    doc="a / b; (dy/b, -(dy/b) y).",
    edge="1/0 = inf, 0/0 = nan (IEEE 754)",
    at_floats=div_at_floats,
    plain=div_products,
    batch=(_div_batch_a, _div_batch_b),
)
BINARY[np.true_divide] = div


def _power_da(a: Any, b: Any, y: Any) -> Any:
    # ∂/∂a = b a^(b-1), with a zero exponent giving 0 (x**0 is the constant 1,
    # even at x = 0 where 0 * 0**-1 would be nan; only there, so that b a^(b-1)
    # is still differentiated in b at b = 0, a != 0).
    da = b * np.power(a, b - 1.0)
    zero_power = np.equal(b, 0) & np.equal(a, 0)
    return _zero_where(zero_power, da)


def _power_db(a: Any, b: Any, y: Any) -> Any:
    # ∂/∂b = y ln a, 0 at a = 0: 0**b is 0 for every b > 0 and inf for every
    # b < 0, constant either way (the choice is made after the product, since
    # inf * ln 1 would be nan at b < 0).
    zero_base = np.equal(a, 0)
    if not _any(zero_base):
        return y * np.log(a)
    return np.where(zero_base, 0.0, y * np.log(np.where(zero_base, 1.0, a)))


@binary(
    np.power,
    edge="0**b: ∂/∂a as power(n) (ChainRules); ∂/∂b = 0 at a = 0; a < 0: ∂/∂b nan",
    each=(_power_da, _power_db),
)
def power(a: Any, b: Any, y: Any) -> tuple[Any, Any]:
    """a ** b (never complex: a negative base to a fractional power is nan); (b a^(b-1), y ln a)."""
    return _power_da(a, b, y), _power_db(a, b, y)


@binary(np.float_power, edge="as power", each=(_power_da, _power_db))
def float_power(a: Any, b: Any, y: Any) -> tuple[Any, Any]:
    """a ** b in float64; (b a^(b-1), y ln a)."""
    return _power_da(a, b, y), _power_db(a, b, y)


@binary(
    np.remainder,
    edge="kinks where a/b is an integer k: the derivative of the piece a - k b the value is on",
)
def remainder(a: Any, b: Any, y: Any) -> tuple[Any, Any]:
    """a mod b with the sign of b (Python's %); (1, -floor(a/b))."""
    # floor_divide, not floor(a / b): the quotient a / b rounds (1.0 / 0.1 is 10.0),
    # while 1.0 % 0.1 = 0.0999... is the value of the piece a - 9b; NumPy computes
    # floor_divide and remainder together, so they always name the same piece.
    return 1.0, -np.floor_divide(a, b)


@binary(np.fmod, edge="as remainder")
def fmod(a: Any, b: Any, y: Any) -> tuple[Any, Any]:
    """C's fmod, with the sign of a; (1, -trunc(a/b))."""
    # The integer n of y = a - n b, read from the value (fmod is exact, so (a - y)/b
    # is within a few ulps of n): trunc(a / b) rounds to the next piece at a kink.
    return 1.0, -np.rint((a - y) / b)


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


@binary(np.hypot, edge="at the origin the gradient is 0 (as the norm of the zero vector)")
def hypot(a: Any, b: Any, y: Any) -> tuple[Any, Any]:
    """√(a² + b²); (a/y, b/y)."""
    origin = np.equal(y, 0.0)
    if not _any(origin):
        return a / y, b / y
    safe = np.where(origin, 1.0, y)
    return np.where(origin, 0.0, a / safe), np.where(origin, 0.0, b / safe)


@binary(np.arctan2, edge="at the origin the gradient is 0 (JAX gives nan)")
def arctan2(a: Any, b: Any, y: Any) -> tuple[Any, Any]:
    """The angle of (b, a); (b/(a² + b²), -a/(a² + b²))."""
    # (b/r)/r with r = hypot(a, b), not b/(a² + b²): the squares overflow past 1e154
    # and underflow below 1e-154 (arctan2 at (1e-300, 1e-300) had gradient 0, the
    # origin's, instead of 5e299).
    r = np.hypot(a, b)
    origin = np.equal(r, 0.0)
    if not _any(origin):
        return b / r / r, -a / r / r
    safe = np.where(origin, 1.0, r)
    return np.where(origin, 0.0, b / safe / safe), np.where(origin, 0.0, -a / safe / safe)


def _difference(a: Any, b: Any) -> Any:
    # a - b, with 0 where a and b are the same infinity (not nan); only there, so
    # that the difference is still differentiated at a finite tie.
    same = np.equal(a, b) & np.isinf(a)
    if not _any(same):
        return a - b
    return np.where(same, 0.0, a - np.where(same, 0.0, b))


def _shares(a: Any, b: Any, d: Any) -> tuple[Any, Any]:
    # The weights e^a/(e^a + e^b) = σ(d) and σ(-d), d = a - b (times ln 2 for base
    # 2): the library's sigmoid, two-branched, so nothing overflows, they sum to 1,
    # and their derivative is smooth at a tie. Not e^(a - y): y rounds to a at
    # a = b = 1e300 (both weights were 1, not 1/2), and inf - inf made the
    # gradient of logaddexp(inf, 1) nan. Both -inf: 0 (there is nothing to share).
    empty = np.equal(a, -math.inf) & np.equal(b, -math.inf)
    if not _any(empty):
        return SIGMOID(d), SIGMOID(-d)
    return np.where(empty, 0.0, SIGMOID(d)), np.where(empty, 0.0, SIGMOID(-d))


@binary(np.logaddexp, edge="both -inf: value -inf, gradient 0 (not nan)")
def logaddexp(a: Any, b: Any, y: Any) -> tuple[Any, Any]:
    """log(e^a + e^b) without overflow; (σ(a - b), σ(b - a))."""
    return _shares(a, b, _difference(a, b))


@binary(np.logaddexp2, edge="both -inf: value -inf, gradient 0 (not nan)")
def logaddexp2(a: Any, b: Any, y: Any) -> tuple[Any, Any]:
    """log2(2^a + 2^b) without overflow; (σ((a - b) ln 2), σ((b - a) ln 2))."""
    return _shares(a, b, _difference(a, b) * _LN2)
