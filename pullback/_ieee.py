"""IEEE 754 arithmetic, identical for Python floats and float64 arrays.

Python's ``math`` module raises where IEEE 754 returns a special value
(``math.exp(1000.0)`` is an ``OverflowError``, ``math.log(0.0)`` and
``math.sin(inf)`` are ``ValueError``, ``1.0 / 0.0`` is ``ZeroDivisionError``,
``(-8.0) ** 0.5`` is a complex number). Each function here takes the fast
``math`` route for a float and, only when that raises, asks NumPy for the IEEE
answer of the same operation, so a float and a one-element array always agree.
Array arithmetic runs with NumPy's floating-point warnings silenced: the
special values are the documented result, not an accident to warn about.
"""

from __future__ import annotations

import functools
import importlib
import math
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any

import numpy as np

from ._types import Array, V
from ._values import nd

__all__ = [
    "add",
    "cos",
    "cosh",
    "div",
    "exp",
    "log",
    "mul",
    "pow",
    "quiet",
    "restore",
    "silence",
    "sin",
    "tanh",
]


try:
    # np.errstate costs ~2 us to enter (NumPy 2.x), more than a whole small
    # array operation; setting the context variable it sets costs ~0.3 us.
    # It is private NumPy API, so the public errstate is the fallback.
    _umath = importlib.import_module("numpy._core._multiarray_umath")
    _extobj_contextvar: Any = _umath._extobj_contextvar
    _ignore = _umath._make_extobj(all="ignore")
except (ImportError, AttributeError, TypeError):  # pragma: no cover - other NumPy versions
    _extobj_contextvar = None
    _ignore = None


class _Quiet:
    """A context in which NumPy's special values arrive without RuntimeWarnings.

    Like ``np.errstate(all="ignore")``: per thread and per context, never global.
    """

    __slots__ = ("_token",)

    def __enter__(self) -> None:
        self._token = _extobj_contextvar.set(_ignore)

    def __exit__(self, *exc: object) -> None:
        _extobj_contextvar.reset(self._token)


def _errstate() -> AbstractContextManager[Any]:  # pragma: no cover - other NumPy versions
    return np.errstate(all="ignore")


def _errstate_silence() -> Any:  # pragma: no cover - other NumPy versions
    state = np.errstate(all="ignore")
    state.__enter__()
    return state


def _errstate_restore(state: Any) -> None:  # pragma: no cover - other NumPy versions
    state.__exit__(None, None, None)


# The class itself where NumPy's context variable is reachable: ``quiet()`` makes the
# context with no Python frame of its own (it is entered several times a training step).
quiet: Callable[[], AbstractContextManager[Any]] = (
    _Quiet if _extobj_contextvar is not None else _errstate
)

# ``quiet`` without a context manager, for the traced operations' hot paths (each node
# of a training step enters it twice): ``token = silence()``, then ``restore(token)``
# in a ``finally``. Two C calls where ``with quiet()`` makes an object and runs two
# Python methods: a third of the time (0.13 against 0.46 µs).
silence: Callable[[], Any] = (
    functools.partial(_extobj_contextvar.set, _ignore)
    if _extobj_contextvar is not None
    else _errstate_silence
)
restore: Callable[[Any], None] = (
    _extobj_contextvar.reset if _extobj_contextvar is not None else _errstate_restore
)


def mul(a: float | V, b: float | V) -> V:
    """``a * b``; on arrays, overflow and ``0 * inf`` give inf and nan quietly."""
    if isinstance(a, float) and isinstance(b, float):
        return a * b  # type: ignore[return-value]
    with quiet():
        return nd(a * b)


def add(a: float | V, b: float | V) -> V:
    """``a + b``; on arrays, overflow and ``inf - inf`` give inf and nan quietly."""
    if isinstance(a, float) and isinstance(b, float):
        return a + b  # type: ignore[return-value]
    with quiet():
        return nd(a + b)


def _ieee_float(ufunc: Callable[..., Any], *args: float) -> float:
    # Reached only when math raised: NumPy's float64 scalar maths is IEEE 754.
    with np.errstate(all="ignore"):
        return float(ufunc(*(np.float64(a) for a in args)))


def exp(x: V) -> V:
    """``e**x``; inf on overflow."""
    if isinstance(x, float):
        try:
            return math.exp(x)
        except OverflowError:
            return math.inf
    with quiet():
        return nd(np.exp(x))


def cosh(x: V) -> V:
    """``cosh(x)``; inf on overflow."""
    if isinstance(x, float):
        try:
            return math.cosh(x)
        except OverflowError:
            return math.inf
    with quiet():
        return nd(np.cosh(x))


def tanh(x: V) -> V:
    """``tanh(x)`` (never overflows)."""
    if isinstance(x, float):
        return math.tanh(x)
    return nd(np.tanh(x))


def log(x: V) -> V:
    """Natural log; ``log(0) = -inf``, ``log(x < 0) = nan``."""
    if isinstance(x, float):
        try:
            return math.log(x)
        except ValueError:
            return _ieee_float(np.log, x)
    with quiet():
        return nd(np.log(x))


def sin(x: V) -> V:
    """``sin(x)``; nan at ±inf."""
    if isinstance(x, float):
        try:
            return math.sin(x)
        except ValueError:
            return math.nan
    with quiet():
        return nd(np.sin(x))


def cos(x: V) -> V:
    """``cos(x)``; nan at ±inf."""
    if isinstance(x, float):
        try:
            return math.cos(x)
        except ValueError:
            return math.nan
    with quiet():
        return nd(np.cos(x))


def pow(x: V, n: float) -> V:
    """``x**n`` by C99 ``pow``: never complex, ``0**-1 = inf``, ``(-8)**(1/3) = nan``.

    ``n`` is an ``int`` when the exponent is integral, so a negative base keeps
    its sign (``(-2.0)**3 = -8``). ``x**2`` is ``x*x`` and ``x**-1`` is ``1/x``,
    both correctly rounded, as pow's are.
    """
    if isinstance(x, float):
        if type(n) is int:
            if n == 2:
                return x * x
            if n == -1:
                return div(1.0, x)
            if n == 1:
                return x
        try:
            # An integral n goes to ``**`` as a float (half the cost of an int
            # exponent, the same C pow); a non-integral one to math.pow, which
            # raises where ``**`` would silently return a complex number.
            return x ** float(n) if type(n) is int else math.pow(x, n)
        except (OverflowError, ZeroDivisionError, ValueError):
            return _ieee_float(np.power, x, n)
    if n == 1:
        return x.copy()  # a new array, like every other rule's value
    with quiet():
        if type(n) is int and 0 < abs(n) <= _SMALL_POWER:
            return nd(_small_power(x, n))
        if n == 0.5:
            # NumPy computes x**0.5 as sqrt(x), which differs from pow at the
            # edges: sqrt(-0) = -0 and sqrt(-inf) = nan, pow gives +0 and +inf.
            root = np.sqrt(x)
            root += 0.0  # -0 + 0 = +0
            return nd(np.where(x == -math.inf, math.inf, root))
        return nd(np.power(x, n))


_SMALL_POWER = 8


def _small_power(x: Array, n: int) -> Array:
    # On arrays libm's pow costs ~60 ns an element (NumPy fast-paths only
    # n = -1 and 2), so small integral powers are multiplied out by binary
    # exponentiation: a few roundings for |n| <= 8 where pow has one, so an
    # array element may differ from the float result in the last bit. A
    # negative power is the reciprocal of the positive one, which keeps the
    # IEEE specials: 0**-k = ±inf by the sign of zero for odd k, inf**-k = 0.
    k = abs(n)
    result: Array | None = None
    base = x
    while True:
        if k & 1:
            result = base if result is None else result * base
        k >>= 1
        if not k:
            break
        base = base * base
    assert result is not None
    out = nd(result if n > 0 else div(1.0, result))
    if n in (-1, 1, 2):
        return out  # one correctly rounded operation (1/x, x, x*x): pow's answer exactly
    return _pow_at_the_edges(x, nd(result), out, n)


# The normal range of the positive power x**|n| inside which the multiplied-out
# result is pow's to the last bit or two: from the smallest normal float up to
# 2**1022, so that a reciprocal of it is normal too.
_TINY = 2.2250738585072014e-308
_HUGE = 2.0**1022


def _pow_at_the_edges(x: Array, positive: Array, out: Array, n: int) -> Array:
    # Where x**|n| overflows or underflows, the multiplied-out roundings are no
    # longer pow's: 1/(x*x) at x = 1e160 is 1/inf = 0 where pow gives the
    # subnormal 1e-320, and a product that underflows step by step can lose
    # what pow keeps. Those elements (zeros, infinities, nan and extreme
    # values: rare) are asked of pow itself, so floats and arrays agree there.
    magnitude: Array = np.abs(positive)
    if magnitude.size == 0 or (magnitude.min() >= _TINY and magnitude.max() <= _HUGE):
        return out
    edge = ~((magnitude >= _TINY) & (magnitude <= _HUGE))
    out[edge] = np.power(x[edge], n)
    result: Array = out
    return result


def div(a: float | V, b: V) -> V:
    """``a / b`` with ``1/0 = inf``, ``0/0 = nan``, ``1/-0.0 = -inf``."""
    if isinstance(a, float) and isinstance(b, float):
        try:
            return a / b
        except ZeroDivisionError:
            return _ieee_float(np.divide, a, b)
    with quiet():
        return nd(np.divide(a, b))
