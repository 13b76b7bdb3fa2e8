"""Elementwise functions of one operand: the table of derivatives.

Each entry reads like a line of a textbook's table: the NumPy ufunc, then the
local derivative as a function of the input ``x`` and the output ``y``
(written from the output where the maths allows, as ``exp``'s ``y``). The
pullback is ``g * derivative``, with one rule for every entry: a cotangent of
exactly zero stays zero even where the derivative is infinite or undefined, so
``np.where(x > 0, np.sqrt(x), 0.0)`` has gradient 0 at ``x <= 0`` (JAX gives
nan there, and says so in its FAQ).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from . import kernels as k
from .entry import Primitive, batch_of_elementwise
from .kernels import ArrayKernel

__all__ = ["UNARY", "strong_product", "strong_zero", "unary"]

UNARY: dict[Any, Primitive] = {}
"""Each NumPy ufunc of one operand and its entry (aliases such as fabs share one)."""


def strong_zero(g: Any, r: Any) -> Any:
    """``r = g * d``, but 0 where ``g`` is exactly 0 and ``d`` was inf or nan.

    >>> strong_zero(0.0, 0.0 * math.inf)
    0.0
    """
    if type(r) is float:
        return r if r == r else (0.0 if g == 0.0 else r)
    bad = np.isnan(r)  # a constant, also for traced r (isnan is not differentiable)
    if not (bad.any() if type(bad) is np.ndarray else bad):  # the method: no np.any wrapper
        return r
    return np.where(bad & (np.asarray(g == 0) if np.ndim(g) else g == 0), 0.0, r)


def strong_product(g: Any, d: Any) -> Any:
    """``g * d`` with the strong zero: 0 where ``g`` is exactly 0 and ``d`` is inf or nan.

    The numbers of ``strong_zero(g, g * d)``, checked on ``d`` rather than on
    the product: where ``g`` is 0 the product is nan only if ``d`` is inf or
    nan, so a finite plain ``d`` needs no look at the product (in a batched
    pass ``g`` is a stack of cotangents, the product B times ``d``'s size).

    Args:
        g: the cotangent (a float, an array, a stack of them, or traced).
        d: the local derivative, broadcasting against ``g``.

    Returns:
        The product, with the strong zero where it applies.

    >>> strong_product(0.0, math.inf), strong_product(2.0, math.inf)
    (0.0, inf)
    >>> strong_product(np.array([0.0, 1.0]), np.array([math.nan, 2.0]))
    array([0., 2.])
    """
    if type(d) is np.ndarray:
        # A sum of squares is nan if an entry is nan and inf if one is infinite
        # (squares never cancel): one BLAS call, where isnan(r).any() is two passes
        # over the product. An overflow of the sum only sends a finite d to the
        # full check, which gives the same numbers.
        finite = math.isfinite(d.dot(d) if d.ndim == 1 else np.vdot(d, d))
    elif isinstance(d, float):  # a Python or NumPy float
        finite = d - d == 0.0  # nan for inf and nan: no call
    else:
        # A traced d is checked through NumPy's protocols, on the product, as
        # before: a compiled call records that check (a guard) and replays it.
        return strong_zero(g, g * d)
    return g * d if finite else strong_zero(g, g * d)


def unary(
    *ufuncs: Any,
    edge: str = "",
    forward: Callable[..., Any] | None = None,
    float_code: tuple[str, ...] | None = None,
    array_kernel: ArrayKernel | None = None,
) -> Callable[[Callable[[Any, Any], Any]], Primitive]:
    """Make an entry from its local derivative ``d(x, y)``; the function's name is the entry's.

    Args:
        *ufuncs: the NumPy ufuncs this entry answers (the first computes the value
            unless ``forward`` is given).
        edge: the convention at the edges, for the reference page.
        forward: the value, when it is not the ufunc itself (the library's own
            functions, such as sigmoid).
        float_code: the value and derivative at a float as ``math`` code, for
            the float fast paths and fused chains (see ``scalar``).
        array_kernel: the value and derivative on an array into the call's own
            buffers, for fused array chains and the public rule (see ``kernels``).

    Returns:
        A decorator turning ``d(x, y)`` into the :class:`Primitive`.
    """

    def make(derivative: Callable[[Any, Any], Any]) -> Primitive:
        name = derivative.__name__

        def pullback(g: Any, y: Any, x: Any) -> Any:
            return strong_product(g, derivative(x, y))

        pullback.__name__ = pullback.__qualname__ = f"{name}_pullback"
        doc = (derivative.__doc__ or "").strip().splitlines()[0]
        value = forward if forward is not None else ufuncs[0]
        entry = Primitive(
            name,
            value,
            (pullback,),
            1,
            doc=doc,
            edge=edge,
            float_code=float_code,
            array_kernel=array_kernel,
            batch=batch_of_elementwise(pullback),
        )
        for ufunc in ufuncs:
            UNARY[ufunc] = entry
        return entry

    return make


_LN2 = math.log(2.0)
_LN10 = math.log(10.0)
_RADIANS_PER_DEGREE = math.pi / 180.0  # once, not on every call
_DEGREES_PER_RADIAN = 180.0 / math.pi


# -- exponentials and logarithms --------------------------------------------------


@unary(
    np.exp,
    edge="exp(1000) = inf, exp'(x) = exp(x)",
    float_code=("x = exp(x)", "{d} = x"),
    array_kernel=k.exp_kernel,
)
def exp(x: Any, y: Any) -> Any:
    """e**x; d = y."""
    return y


@unary(np.exp2)
def exp2(x: Any, y: Any) -> Any:
    """2**x; d = y ln 2."""
    return y * _LN2


@unary(np.expm1, edge="expm1'(-40) = e^-40 = 4.2e-18 (not y + 1, which rounds to 0)")
def expm1(x: Any, y: Any) -> Any:
    """e**x - 1, accurate near 0; d = e**x."""
    # Not y + 1: for x < -37, y = expm1(x) rounds to -1.0 and y + 1 to 0, while
    # exp(x) keeps every digit of the tail.
    return np.exp(x)


@unary(
    np.log,
    edge="log(0) = -inf, log'(0) = +inf; log(x < 0) = nan",
    float_code=("{d} = 1.0 / x", "x = log(x)"),
    array_kernel=k.log_kernel,
)
def log(x: Any, y: Any) -> Any:
    """Natural logarithm; d = 1/x."""
    return 1.0 / x


@unary(np.log2, edge="as log")
def log2(x: Any, y: Any) -> Any:
    """Base-2 logarithm; d = 1/(x ln 2)."""
    return 1.0 / (x * _LN2)


@unary(np.log10, edge="as log")
def log10(x: Any, y: Any) -> Any:
    """Base-10 logarithm; d = 1/(x ln 10)."""
    return 1.0 / (x * _LN10)


@unary(np.log1p, edge="log1p(-1) = -inf, its derivative +inf")
def log1p(x: Any, y: Any) -> Any:
    """log(1 + x), accurate near 0; d = 1/(1 + x)."""
    return 1.0 / (1.0 + x)


# -- powers and roots -----------------------------------------------------------------


@unary(np.sqrt, edge="sqrt'(0) = +inf (as ChainRules); sqrt(x < 0) = nan")
def sqrt(x: Any, y: Any) -> Any:
    """Square root; d = 1/(2y)."""
    return 0.5 / y


@unary(np.cbrt, edge="cbrt'(0) = +inf; defined for x < 0")
def cbrt(x: Any, y: Any) -> Any:
    """Cube root; d = 1/(3y²)."""
    return 1.0 / (3.0 * (y * y))


@unary(np.square, float_code=("{d} = 2.0 * x", "x = x * x"), array_kernel=k.square_kernel)
def square(x: Any, y: Any) -> Any:
    """x²; d = 2x."""
    return 2.0 * x


@unary(np.reciprocal, edge="1/0 = inf, its derivative -inf")
def reciprocal(x: Any, y: Any) -> Any:
    """1/x; d = -y²."""
    return -(y * y)


# -- trigonometric ---------------------------------------------------------------------


@unary(np.sin, float_code=("{d} = cos(x)", "x = sin(x)"), array_kernel=k.sin_kernel)
def sin(x: Any, y: Any) -> Any:
    """Sine; d = cos x."""
    return np.cos(x)


@unary(np.cos, float_code=("{d} = -sin(x)", "x = cos(x)"), array_kernel=k.cos_kernel)
def cos(x: Any, y: Any) -> Any:
    """Cosine; d = -sin x."""
    return -np.sin(x)


@unary(np.tan, edge="poles at π/2 + kπ give huge finite values, as tan does")
def tan(x: Any, y: Any) -> Any:
    """Tangent; d = 1 + y²."""
    return 1.0 + y * y


@unary(np.arcsin, edge="arcsin'(±1) = +inf; |x| > 1 gives nan")
def arcsin(x: Any, y: Any) -> Any:
    """Inverse sine; d = 1/√(1 - x²)."""
    return 1.0 / np.sqrt(1.0 - x * x)


@unary(np.arccos, edge="arccos'(±1) = -inf; |x| > 1 gives nan")
def arccos(x: Any, y: Any) -> Any:
    """Inverse cosine; d = -1/√(1 - x²)."""
    return -1.0 / np.sqrt(1.0 - x * x)


@unary(np.arctan)
def arctan(x: Any, y: Any) -> Any:
    """Inverse tangent; d = 1/(1 + x²)."""
    return 1.0 / (1.0 + x * x)


@unary(np.deg2rad, np.radians)
def deg2rad(x: Any, y: Any) -> Any:
    """Degrees to radians; d = π/180."""
    return _RADIANS_PER_DEGREE


@unary(np.rad2deg, np.degrees)
def rad2deg(x: Any, y: Any) -> Any:
    """Radians to degrees; d = 180/π."""
    return _DEGREES_PER_RADIAN


# -- hyperbolic ------------------------------------------------------------------------


@unary(np.sinh)
def sinh(x: Any, y: Any) -> Any:
    """Hyperbolic sine; d = cosh x."""
    return np.cosh(x)


@unary(np.cosh)
def cosh(x: Any, y: Any) -> Any:
    """Hyperbolic cosine; d = sinh x."""
    return np.sinh(x)


@unary(
    np.tanh,
    edge="d = 1/cosh² (not 1 - y², which rounds to 0 in the tails)",
    float_code=("r = 1.0 / cosh(x)", "{d} = r * r", "x = tanh(x)"),
    array_kernel=k.tanh_kernel,
)
def tanh(x: Any, y: Any) -> Any:
    """Hyperbolic tangent; d = 1/cosh²x."""
    # (1/cosh x)² rather than 1/(cosh x)²: cosh² overflows past |x| = 355, while
    # 1/cosh² is still a (subnormal) number up to |x| = 372.
    r = 1.0 / np.cosh(x)
    return r * r


@unary(np.arcsinh)
def arcsinh(x: Any, y: Any) -> Any:
    """Inverse hyperbolic sine; d = 1/√(x² + 1)."""
    # hypot(x, 1) is √(x² + 1) without squaring x: x² overflows past 1.3e154 and
    # gave arcsinh'(1e300) = 0 instead of 1e-300.
    return 1.0 / np.hypot(x, 1.0)


@unary(np.arccosh, edge="arccosh'(1) = +inf; x < 1 gives nan")
def arccosh(x: Any, y: Any) -> Any:
    """Inverse hyperbolic cosine; d = 1/√(x² - 1)."""
    # √(x - 1)·√(x + 1), not √(x² - 1): x² overflows past 1.3e154 (arccosh'(1e300)
    # was 0, not 1e-300), and x - 1 is exact near 1.
    return 1.0 / (np.sqrt(x - 1.0) * np.sqrt(x + 1.0))


@unary(np.arctanh, edge="arctanh'(±1) = +inf; |x| > 1 gives nan")
def arctanh(x: Any, y: Any) -> Any:
    """Inverse hyperbolic tangent; d = 1/(1 - x²)."""
    return 1.0 / (1.0 - x * x)


# -- signs and kinks -------------------------------------------------------------------


@unary(
    np.absolute,
    np.fabs,
    edge="kink: |x|'(0) = 0",
    # +0 at both zeros (abs(x) * 0.0) and nan at nan, as np.sign gives.
    float_code=("{d} = 1.0 if x > 0.0 else (-1.0 if x < 0.0 else abs(x) * 0.0)", "x = abs(x)"),
    array_kernel=k.absolute_kernel,
)
def absolute(x: Any, y: Any) -> Any:
    """|x|; d = sign x."""
    return np.sign(x)


@unary(np.negative, float_code=("x = -x", "{d} = -1.0"))
def negative(x: Any, y: Any) -> Any:
    """-x; d = -1."""
    return -1.0


@unary(np.positive)
def positive(x: Any, y: Any) -> Any:
    """+x (a copy); d = 1."""
    return 1.0
