"""NumPy ufuncs written with other entries: those of several outputs (divmod, modf, frexp),
the vector products of NumPy 2 (vecdot, matvec, vecmat), and copysign, ldexp, heaviside,
conjugate.

The dispatch calls these for ``__array_ufunc__`` as it calls a composite for
``__array_function__``: their derivatives are those of the entries they are
made of (``remainder``, ``ldexp``, ``matmul``), and their values NumPy's.

>>> import numpy as np
>>> from pullback import gradient, trace
>>> gradient(trace(lambda x: np.sum(np.modf(x)[0])), np.array([-2.5, 0.25, 3.0]))
array([1., 1., 1.])
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._values import concrete_of
from .entry import Composite, constant, float_if_0d, ndim_of, refuse_keywords

__all__ = ["UFUNC_COMPOSITES"]


def divmod_(a: Any, b: Any) -> tuple[Any, Any]:
    # The quotient is a constant (floor_divide's derivative is 0 where it exists).
    return np.floor_divide(a, b), np.remainder(a, b)


def modf_(x: Any) -> tuple[Any, Any]:
    # The fractional part x - trunc(x), with NumPy's signs: of x itself, so
    # -(trunc(x) - x) below zero (modf(-2.0) is (-0.0, -2.0), where x - trunc(x)
    # would be +0.0); ±0 at ±inf, not inf - inf. Its derivative is 1; trunc(x)'s is 0.
    whole = np.trunc(x)
    negative = np.signbit(x)  # a constant ufunc: a plain mask
    fraction = np.where(negative, -(whole - x), x - whole)
    infinite = np.isinf(x)
    if np.any(infinite):
        fraction = np.where(infinite, constant(_signed_zero, x), fraction)
    return fraction, whole


def _signed_zero(x: Any) -> Any:
    return np.copysign(0.0, x)


def _exponent(x: Any) -> Any:
    return np.frexp(x)[1]


def frexp_(x: Any) -> tuple[Any, Any]:
    # x = m 2^e with |m| in [0.5, 1): e is a constant integer (of x's value, at
    # every call of compiled code too), m = x 2^-e is exact.
    exponent = constant(_exponent, x)
    return np.ldexp(x, -exponent), exponent


def copysign_(a: Any, b: Any) -> Any:
    # a or -a, as the signs agree (exactly NumPy's value, nan's sign bit too): ∂/∂a = ±1,
    # and b only chooses.
    agree = np.equal(np.signbit(a), np.signbit(b))  # constant ufuncs: plain masks
    return np.where(agree, a, np.negative(a))


def ldexp_(x: Any, n: Any) -> Any:
    # x 2^n for an integer (constant) n: a product by a power of two, exact as
    # ldexp itself. Past ±1000, where 2^n alone would overflow or vanish, the
    # power comes in two halves; within, the second factor is 1 (exact too).
    kind = np.asarray(concrete_of(n)).dtype.kind
    if kind not in "iub":
        raise TypeError(f"np.ldexp: the exponent must be an integer array, got dtype kind {kind!r}")
    return x * constant(_first_power, n) * constant(_second_power, n)


def _first_power(n: Any) -> Any:
    n = np.asarray(n)
    return _as_scale(np.ldexp(1.0, np.where(np.abs(n) <= 1000, n, n // 2)))


def _second_power(n: Any) -> Any:
    n = np.asarray(n)
    return _as_scale(np.ldexp(1.0, np.where(np.abs(n) <= 1000, 0, n - n // 2)))


def _as_scale(s: Any) -> Any:
    return float(s) if np.ndim(s) == 0 else s


def heaviside_(x1: Any, x2: Any) -> Any:
    # 0 below zero, 1 above, x2 at zero (differentiable in x2 there), nan at nan;
    # the step in x1 has derivative 0.
    step = np.where(np.less(x1, 0.0), 0.0, np.where(np.greater(x1, 0.0), 1.0, x2))
    return float_if_0d(np.where(np.isnan(x1), np.nan, step))


def conjugate_(x: Any) -> Any:
    return np.positive(x)  # a real value is its own conjugate


def vecdot_(x1: Any, x2: Any, /, *, axis: int = -1, **kwargs: Any) -> Any:
    refuse_keywords("np.vecdot", **kwargs)
    # A row times a column per vector (NumPy's numbers, bit for bit).
    a = np.moveaxis(x1, axis, -1)[..., None, :]
    b = np.moveaxis(x2, axis, -1)[..., :, None]
    return np.matmul(a, b)[..., 0, 0]


def matvec_(x1: Any, x2: Any, /, **kwargs: Any) -> Any:
    refuse_keywords("np.matvec", **kwargs)
    if ndim_of(x1) < 2 or ndim_of(x2) < 1:
        raise ValueError("np.matvec: expected a (stack of) matrices and a (stack of) vectors")
    return np.matmul(x1, x2[..., :, None])[..., 0]


def vecmat_(x1: Any, x2: Any, /, **kwargs: Any) -> Any:
    refuse_keywords("np.vecmat", **kwargs)
    if ndim_of(x1) < 1 or ndim_of(x2) < 2:
        raise ValueError("np.vecmat: expected a (stack of) vectors and a (stack of) matrices")
    return np.matmul(x1[..., None, :], x2)[..., 0, :]


UFUNC_COMPOSITES: dict[Any, Composite] = {
    np.divmod: Composite("divmod", divmod_, "(floor_divide, remainder); the quotient a constant."),
    np.modf: Composite("modf", modf_, "(fraction, trunc); d fraction = 1, the rest a constant."),
    np.frexp: Composite("frexp", frexp_, "(mantissa, exponent) = (x 2^-e, e); e a constant."),
    np.copysign: Composite("copysign", copysign_, "|a| with the sign of b; da = ±1, b chooses."),
    np.ldexp: Composite("ldexp", ldexp_, "x · 2^n for an integer n (a constant); dx = 2^n."),
    np.heaviside: Composite("heaviside", heaviside_, "The step: 0, x2 at 0, 1; d x2 = 1 at 0."),
    np.conjugate: Composite("conjugate", conjugate_, "A real value is its own conjugate; d = 1."),
    np.vecdot: Composite("vecdot", vecdot_, "Dot products of vectors along an axis: matmul."),
    np.matvec: Composite("matvec", matvec_, "Matrix-vector products: matmul."),
    np.vecmat: Composite("vecmat", vecmat_, "Vector-matrix products: matmul."),
}
"""NumPy ufunc -> its implementation with entries."""
