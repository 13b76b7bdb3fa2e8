"""Finite differences: ``numerical_gradient`` (the textbook check) and ``check_rule``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar, overload

import numpy as np
from typing_extensions import TypeVarTuple, Unpack

from . import _ieee as ieee
from ._api import pullback
from ._stage_errors import rule_name
from ._types import Array, MultiRule, RealArray, Rule, Value, Y
from ._values import as_value, require_callable, require_step

__all__ = ["check_rule", "numerical_gradient"]

_X = TypeVar("_X")
_Args = TypeVarTuple("_Args")


# A rule's value, or a plain function's; a float in gives a float out, an array an array.
@overload
def numerical_gradient(f: Rule[float, Y], x: float, /, *, eps: float = ...) -> float: ...
@overload
def numerical_gradient(f: Rule[Array, Y], x: RealArray, /, *, eps: float = ...) -> Array: ...
@overload
def numerical_gradient(
    f: MultiRule[float, float, Y], x: float, y: float, /, *, eps: float = ...
) -> tuple[float, float]: ...
@overload
def numerical_gradient(
    f: MultiRule[Unpack[_Args], Y], /, *xs: Unpack[_Args], eps: float = ...
) -> tuple[Unpack[_Args]]: ...
@overload
def numerical_gradient(  # type: ignore[overload-overlap]
    f: Callable[[float], float | Array], x: float, /, *, eps: float = ...
) -> float: ...
@overload
def numerical_gradient(  # type: ignore[overload-overlap]
    f: Callable[[Array], float | Array], x: RealArray, /, *, eps: float = ...
) -> Array: ...
@overload
def numerical_gradient(
    f: Callable[[float, float], float | Array], x: float, y: float, /, *, eps: float = ...
) -> tuple[float, float]: ...
@overload
def numerical_gradient(
    f: Callable[[Unpack[_Args]], float | Array], /, *xs: Unpack[_Args], eps: float = ...
) -> tuple[Unpack[_Args]]: ...


def numerical_gradient(f: Callable[..., Any], /, *xs: Any, eps: float = 1e-4) -> Any:  # type: ignore[misc]
    """The gradient of ``f`` by central differences: ``(f(x+h) - f(x-h)) / 2h``.

    This is the check the textbooks use to test backpropagation. ``f`` may be
    a rule (its value is used) or a plain function returning a value; an
    array value is summed, as :func:`pullback.gradient` seeds it with ones.

    Args:
        f: a rule or a function of ``xs`` returning a value.
        *xs: the arguments, floats or float64 arrays; they are not modified.
        eps: the step ``h``.

    Returns:
        Shaped like :func:`pullback.gradient`'s result: one float or array for
        one argument, a tuple for several.

    Raises:
        TypeError: ``f`` is not callable, or an argument is not a value.
        ValueError: ``eps`` is not a positive finite number.

    >>> from pullback import exp, numerical_gradient
    >>> round(numerical_gradient(exp, 0.0), 6)
    1.0
    """
    require_callable(f, "numerical_gradient", "a rule or a function of values")
    eps = require_step(eps, "numerical_gradient")
    name = rule_name(f)
    if not xs:
        raise TypeError(
            f"numerical_gradient({name}): no argument to differentiate at; "
            "call numerical_gradient(f, x)"
        )
    args = [as_value(x, f"numerical_gradient({name})") for x in xs]
    where = f"numerical_gradient({name}): the value of {name}"
    grads = [_central(f, args, i, eps, _TWO_POINT, 1.0, where) for i in range(len(args))]
    return grads[0] if len(grads) == 1 else tuple(grads)


# Stencils: (offsets in h, weights); the difference is sum(w * f(x + o*h)) / h.
_TWO_POINT = ((1.0, 0.5), (-1.0, -0.5))
_FIVE_POINT = ((2.0, -1.0 / 12.0), (1.0, 8.0 / 12.0), (-1.0, -8.0 / 12.0), (-2.0, 1.0 / 12.0))


def _value_of(f: Callable[..., Any], args: list[Value], seed: Any, where: str) -> float:
    out = f(*args)
    if type(out) is tuple and len(out) == 2 and callable(out[1]):
        out = out[0]
    if type(out) is not float:
        out = as_value(out, where)  # a string or None is refused, naming the function
    with ieee.quiet():  # an overflowing step gives inf, as the rule's own arithmetic does
        return float(np.sum(np.multiply(seed, out)))


def _central(
    f: Callable[..., Any],
    args: list[Value],
    i: int,
    eps: float,
    stencil: tuple[tuple[float, float], ...],
    seed: Any,
    where: str,
) -> Any:
    x = args[i]
    if type(x) is float:
        return _difference(f, args, i, x, eps, stencil, seed, where)
    flat = np.asarray(x).ravel()
    out = np.empty(flat.shape)
    for k in range(flat.size):
        # Move one element at a time, in a copy: the caller's array is never touched.
        def with_element(v: float, k: int = k) -> Any:
            moved = flat.copy()
            moved[k] = v
            return moved.reshape(np.shape(x))

        out[k] = _difference(f, args, i, float(flat[k]), eps, stencil, seed, where, with_element)
    return out.reshape(np.shape(x))


def _difference(
    f: Callable[..., Any],
    args: list[Value],
    i: int,
    x: float,
    h: float,
    stencil: tuple[tuple[float, float], ...],
    seed: Any,
    where: str,
    place: Callable[[float], Any] | None = None,
) -> float:
    total = 0.0
    for offset, weight in stencil:
        moved = list(args)
        v = x + offset * h
        moved[i] = place(v) if place is not None else v
        total += weight * _value_of(f, moved, seed, where)
    return total / h


@overload
def check_rule(
    rule: Rule[float, Y], x: float, /, *, rtol: float = ..., atol: float = ..., eps: float = ...
) -> None: ...
@overload
def check_rule(
    rule: Rule[Array, Y], x: RealArray, /, *, rtol: float = ..., atol: float = ..., eps: float = ...
) -> None: ...
@overload
def check_rule(
    rule: Rule[_X, Y], x: _X, /, *, rtol: float = ..., atol: float = ..., eps: float = ...
) -> None: ...
@overload
def check_rule(
    rule: MultiRule[float, float, Y],
    x: float,
    y: float,
    /,
    *,
    rtol: float = ...,
    atol: float = ...,
    eps: float = ...,
) -> None: ...
@overload
def check_rule(
    rule: MultiRule[Unpack[_Args], Y],
    /,
    *xs: Unpack[_Args],
    rtol: float = ...,
    atol: float = ...,
    eps: float = ...,
) -> None: ...
def check_rule(  # type: ignore[misc]
    rule: Callable[..., Any],
    /,
    *xs: Any,
    rtol: float = 1e-6,
    atol: float = 1e-9,
    eps: float = 1e-3,
) -> None:
    """Check a rule's pullback against finite differences; raise if they differ.

    For every argument (every element of an array argument) it compares the
    pullback, seeded with ones, with a 5-point central difference using the
    step ``eps * max(1, |x|)``. It also checks that the pullback is linear
    (``back(2.5 * dy) == 2.5 * back(dy)``) and gives the same answer when
    called twice.

    Args:
        rule: the rule to check.
        *xs: the point at which to check it.
        rtol: relative tolerance of the comparison.
        atol: absolute tolerance of the comparison.
        eps: relative finite-difference step.

    Returns:
        None when everything agrees.

    Raises:
        AssertionError: the message shows, for each argument, the analytic and
            the numeric value.
        TypeError: an argument is not a value or ``rule`` is not a rule.
        ValueError: ``eps`` is not a positive finite number, or ``rtol`` or ``atol``
            is not a non-negative one.

    >>> from pullback import check_rule, mul, sigmoid
    >>> check_rule(sigmoid, 0.3)
    >>> check_rule(mul, 2.0, -3.0)
    >>> def bad_square(x):
    ...     return x * x, lambda dy: dy * x  # forgot the 2
    >>> check_rule(bad_square, 3.0)
    Traceback (most recent call last):
    ...
    AssertionError: check_rule(bad_square): the pullback disagrees with finite differences
      argument 1 at 3.0: analytic 3.0, numeric 6.0
    """
    require_callable(rule, "check_rule")
    eps = require_step(eps, "check_rule")
    rtol = require_step(rtol, "check_rule", "rtol", zero=True)
    atol = require_step(atol, "check_rule", "atol", zero=True)
    name = rule_name(rule)
    y, back = pullback(rule, *xs)
    args = [as_value(x, f"check_rule({name})") for x in xs]
    seed: Any = 1.0 if type(y) is float else np.ones_like(y)
    analytic = _as_tuple(back(seed), len(args))
    again = _as_tuple(back(seed), len(args))
    scaled_seed = seed * 2.5 if type(seed) is float else np.asarray(seed * 2.5)  # 0-d stays
    scaled = _as_tuple(back(scaled_seed), len(args))
    problems = []
    for k, x in enumerate(args):
        step = eps * max(1.0, float(np.max(np.abs(x)))) if np.size(x) else eps
        numeric = _central(rule, args, k, step, _FIVE_POINT, seed, f"check_rule({name})")
        where = f"argument {k + 1} at {_show(x)}"
        if not np.allclose(analytic[k], numeric, rtol=rtol, atol=atol, equal_nan=True):
            problems.append(f"{where}: analytic {_show(analytic[k])}, numeric {_show(numeric)}")
        if not np.array_equal(analytic[k], again[k], equal_nan=True):
            problems.append(
                f"{where}: a second call of the pullback gave {_show(again[k])}, "
                f"the first {_show(analytic[k])}"
            )
        if not np.allclose(scaled[k], 2.5 * np.asarray(analytic[k]), rtol=1e-12, equal_nan=True):
            problems.append(
                f"{where}: not linear: back(2.5*dy) = {_show(scaled[k])}, "
                f"2.5*back(dy) = {_show(2.5 * np.asarray(analytic[k]))}"
            )
    if problems:
        raise AssertionError(
            f"check_rule({name}): the pullback disagrees with finite differences\n  "
            + "\n  ".join(problems)
        )


def _as_tuple(g: Any, n: int) -> tuple[Any, ...]:
    return (g,) if n == 1 else tuple(g)


def _show(v: Any) -> str:
    if isinstance(v, float):
        return repr(float(f"{v:.12g}"))
    return np.array2string(np.asarray(v), precision=10, threshold=20)
