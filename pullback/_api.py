"""``pullback``, ``gradient`` and ``value_and_gradient``: the entry points.

They check what they are given, run the rule once, seed its pullback, and hand
back cotangents of the same kind as the arguments: a float for a float, an
array of the argument's shape for an array.

A rule may offer ``__pullback_gradient__(xs) -> (y, gradient)`` (a traced rule
does): ``gradient`` and ``value_and_gradient`` then call it instead of the rule
and its seeded pullback, for the same numbers with no pullback object made. The
layer above defines it; this one only looks for it (getattr), as it does for
``__pullback_checks_arguments__``, and imports nothing of the tracer.
"""

from __future__ import annotations

import inspect
from typing import Any, TypeVar, overload

import numpy as np
from typing_extensions import TypeVarTuple, Unpack

from ._compose import Composition, array_pullback, fused_form, scalar_pullback
from ._stage_errors import rule_name
from ._types import Array, MultiRule, Pullback, RealArray, Rule, Value, Y
from ._values import (
    as_value,
    concrete_of,
    cotangent_for,
    describe,
    is_traced,
    owned,
    real_array,
    require_callable,
)

__all__ = ["gradient", "pullback", "value_and_gradient", "withgradient"]

_X = TypeVar("_X")
_Y = TypeVar("_Y")
_A = TypeVar("_A")
_Args = TypeVarTuple("_Args")
_NO_ARGUMENT: Any = object()  # gradient(f) with nothing to differentiate at


@overload
def pullback(f: Rule[float, _Y], x: float, /) -> tuple[_Y, Pullback[_Y, float]]: ...
@overload
def pullback(f: Rule[Array, _Y], x: RealArray, /) -> tuple[_Y, Pullback[_Y, Array]]: ...
@overload
def pullback(f: Rule[_X, _Y], x: _X, /) -> tuple[_Y, Pullback[_Y, _X]]: ...
@overload
def pullback(
    f: MultiRule[float, float, _Y], x: float, y: float, /
) -> tuple[_Y, Pullback[_Y, tuple[float, float]]]: ...
@overload
def pullback(
    f: MultiRule[Unpack[_Args], _Y], /, *xs: Unpack[_Args]
) -> tuple[_Y, Pullback[_Y, tuple[Unpack[_Args]]]]: ...
def pullback(f: Any, x: Any = _NO_ARGUMENT, /, *more: Any) -> tuple[Any, Any]:  # type: ignore[misc]
    """Run ``f`` at ``xs``; return its value and a checked pullback.

    The pullback maps a cotangent ``dy`` shaped like the value to the
    cotangent of the argument (one argument) or a tuple with one cotangent
    per argument. It can be called any number of times, with any ``dy``.

    Args:
        f: a rule: ``f(*xs) -> (y, back)``.
        *xs: the arguments, floats or float64 arrays (ints are taken as floats).

    Returns:
        ``(y, back)``.

    Raises:
        TypeError: ``f`` is not callable, an argument is not a value, or ``f``
            does not return ``(value, pullback)``.

    >>> from pullback import compose, exp, pullback, square
    >>> y, back = pullback(compose(square, exp, square), 0.5)
    >>> y
    1.648721270700128
    >>> back(1.0)
    3.297442541400256
    >>> back(2.0)
    6.594885082800512
    """
    # The fused paths are written out in each entry point rather than shared through
    # a helper: on a float chain the helper's call would cost a quarter of the gradient.
    if type(x) is float and not more:
        fused = f.fused if type(f) is Composition else fused_form(f)
        if fused is not None:
            try:
                value, derivative = fused.value_and_gradient(x)
            except (ArithmeticError, ValueError):
                pass  # a special value: the stage-by-stage path below is IEEE-exact
            else:
                # The closure is made here, not by a helper: one call less on the hot path.
                def chain_pullback(dy: Any) -> Any:
                    if type(dy) is float:
                        return dy * derivative
                    return scalar_pullback(derivative, f)(dy)  # checks dy, says what is wrong

                return value, chain_pullback
    elif type(x) is np.ndarray and x.dtype == np.float64 and not more:
        fused = fused_form(f)
        if fused is not None:
            values, derivatives = fused.array_value_and_gradient(x)
            return values, array_pullback(derivatives, f)
    xs = _arguments(x, more)
    traced = _traced_form(f, xs)
    if traced is not None:  # inside traced code: the rule is traced again (nested)
        return traced(*xs)  # type: ignore[no-any-return]
    y, back, args = _forward(f, xs, "pullback")
    if type(y) is np.ndarray:
        y = owned([y], (*xs, *args))[0]  # a rule may hand back its argument: copy it
    return y, CheckedPullback(back, y, args, f)


@overload
def gradient(f: Rule[float, Y], x: float, /) -> float: ...
@overload
def gradient(f: Rule[Array, Y], x: RealArray, /) -> Array: ...
@overload
def gradient(f: Rule[_X, Y], x: _X, /) -> _X: ...
@overload
def gradient(f: MultiRule[float, float, Y], x: float, y: float, /) -> tuple[float, float]: ...
@overload
def gradient(f: MultiRule[Unpack[_Args], Y], /, *xs: Unpack[_Args]) -> tuple[Unpack[_Args]]: ...
def gradient(f: Any, x: Any = _NO_ARGUMENT, /, *more: Any) -> Any:  # type: ignore[misc]
    """The gradient of ``f`` at ``xs``: its pullback seeded with 1.0.

    For an array-valued ``f`` the seed is ones shaped like the value, so the
    result is the gradient of the sum of its elements.

    Args:
        f: a rule: ``f(*xs) -> (y, back)``.
        *xs: the arguments, floats or float64 arrays (ints are taken as floats).

    Returns:
        One cotangent for one argument, a tuple of them for several; each is a
        float for a float argument and an array of its shape for an array.

    Raises:
        TypeError: ``f`` is not callable, an argument is not a value, or ``f``
            does not return ``(value, pullback)``.
        ValueError: a cotangent has a shape that does not fit its argument.

    >>> from pullback import add_const, compose, exp, gradient, mul, power, scale
    >>> gradient(compose(power(-1), add_const(1), exp, scale(-1)), 1.0)
    0.19661193324148188
    >>> gradient(mul, 2.0, 3.0)
    (3.0, 2.0)
    """
    # The hot path, kept to a few bytecodes: a composition or a named primitive at
    # a float runs its compiled straight-line code.
    if type(x) is float and not more:
        fused = f.fused if type(f) is Composition else fused_form(f)
        if fused is not None:
            try:
                return fused.gradient(x)
            except (ArithmeticError, ValueError):
                pass  # a special value: the stage-by-stage path below is IEEE-exact
    elif type(x) is np.ndarray and x.dtype == np.float64 and not more:
        fused = fused_form(f)
        if fused is not None:
            return fused.array_gradient(x)
    if x is not _NO_ARGUMENT:
        own = getattr(f, "__pullback_gradient__", None)
        if own is not None:  # a traced rule: forward and backward in one call (module doc)
            return own((x, *more))[1]
        if getattr(f, "__pullback_checks_arguments__", False):
            y, back = f(x, *more)  # a rule that checks its arguments and shapes its cotangents
            return back(1.0 if type(y) is float else _seed(y))  # the float seed inline
    return _value_and_gradient(f, _arguments(x, more), "gradient")[1]


@overload
def value_and_gradient(f: Rule[float, Y], x: float, /) -> tuple[Y, float]: ...
@overload
def value_and_gradient(f: Rule[Array, Y], x: RealArray, /) -> tuple[Y, Array]: ...
@overload
def value_and_gradient(f: Rule[_X, Y], x: _X, /) -> tuple[Y, _X]: ...
@overload
def value_and_gradient(
    f: MultiRule[float, float, Y], x: float, y: float, /
) -> tuple[Y, tuple[float, float]]: ...
@overload
def value_and_gradient(
    f: MultiRule[Unpack[_Args], Y], /, *xs: Unpack[_Args]
) -> tuple[Y, tuple[Unpack[_Args]]]: ...
def value_and_gradient(f: Any, x: Any = _NO_ARGUMENT, /, *more: Any) -> tuple[Any, Any]:  # type: ignore[misc]
    """The value of ``f`` at ``xs`` and its gradient, from one forward pass.

    Args:
        f: a rule: ``f(*xs) -> (y, back)``.
        *xs: the arguments, floats or float64 arrays.

    Returns:
        ``(y, gradient)``, the gradient as :func:`gradient` gives it.

    Raises:
        TypeError: as :func:`gradient`.
        ValueError: as :func:`gradient`.

    >>> from pullback import value_and_gradient, sigmoid
    >>> value_and_gradient(sigmoid, 0.0)
    (0.5, 0.25)
    """
    if type(x) is float and not more:
        fused = f.fused if type(f) is Composition else fused_form(f)
        if fused is not None:
            try:
                return fused.value_and_gradient(x)
            except (ArithmeticError, ValueError):
                pass  # a special value: the stage-by-stage path below is IEEE-exact
    elif type(x) is np.ndarray and x.dtype == np.float64 and not more:
        fused = fused_form(f)
        if fused is not None:
            return fused.array_value_and_gradient(x)
    if x is not _NO_ARGUMENT:
        own = getattr(f, "__pullback_gradient__", None)
        if own is not None:  # a traced rule: forward and backward in one call (module doc)
            return own((x, *more))  # type: ignore[no-any-return]
        if getattr(f, "__pullback_checks_arguments__", False):
            y, back = f(x, *more)  # a rule that checks its arguments and shapes its cotangents
            return y, back(1.0 if type(y) is float else _seed(y))
    return _value_and_gradient(f, _arguments(x, more), "value_and_gradient")


@overload
def withgradient(f: Rule[_X, tuple[_Y, _A]], x: _X, /) -> tuple[tuple[_Y, _A], _X]: ...
@overload
def withgradient(
    f: MultiRule[Unpack[_Args], tuple[_Y, _A]], /, *xs: Unpack[_Args]
) -> tuple[tuple[_Y, _A], tuple[Unpack[_Args]]]: ...
def withgradient(f: Any, x: Any = _NO_ARGUMENT, /, *more: Any) -> Any:  # type: ignore[misc]
    """The value, the auxiliary output and the gradient of a traced loss, from one forward pass.

    A training loss usually returns metrics too: ``f`` returns ``(loss, aux)``,
    with ``aux`` any tree (accuracy, predictions); the gradient is the loss's
    alone, and the aux comes back plain (no derivative). Zygote's ``withgradient``
    for a tuple output, JAX's ``has_aux``.

    Args:
        f: a traced function (``trace(f)``) returning ``(loss, aux)``.
        *xs: the arguments, as for :func:`gradient`.

    Returns:
        ``((loss, aux), gradient)``, the gradient as :func:`gradient` gives it.

    Raises:
        TypeError: ``f`` is not a traced function, or it does not return a pair.

    >>> import numpy as np
    >>> from pullback import trace, withgradient
    >>> @trace
    ... def loss(w, x):
    ...     predictions = x @ w
    ...     return np.mean(predictions ** 2), {"predictions": predictions}
    >>> (value, aux), (dw, dx) = withgradient(loss, np.array([1.0, 2.0]), np.eye(2))
    >>> value, aux["predictions"], dw
    (2.5, array([1., 2.]), array([1., 2.]))
    """
    require_callable(f, "withgradient")
    with_aux = getattr(f, "with_aux", None)
    if with_aux is None:
        raise TypeError(
            f"withgradient: expected a traced function returning (loss, aux), got "
            f"{rule_name(f)}; write withgradient(trace(f), ...)"
        )
    xs = _arguments(x, more)
    y, back, aux = with_aux(*xs)
    return (y, aux), _cotangents(back(_seed(y)), xs, f)


def _arguments(x: Any, more: tuple[Any, ...]) -> tuple[Any, ...]:
    return () if x is _NO_ARGUMENT else (x, *more)


def _value_and_gradient(f: Any, xs: tuple[Any, ...], api: str) -> tuple[Any, Any]:
    traced = _traced_form(f, xs)
    if traced is not None:  # inside traced code: the rule is traced again (nested)
        f = traced
    y, back, args = _forward(f, xs, api)
    if is_traced(y) or getattr(f, "__pullback_checks_arguments__", False):
        # A traced rule gives values and cotangents of its own (trees of them).
        return y, _cotangents(back(_seed(y)), args, f)
    if type(y) is float:
        g = back(1.0)
        if type(g) is float and len(args) == 1 and type(args[0]) is float:
            return y, g  # the common case, with nothing to convert
        return _owned(y, _cotangents(g, args, f), (*xs, *args))
    return _owned(y, _cotangents(back(np.ones_like(y)), args, f), (*xs, *args))


def _owned(y: Any, g: Any, inputs: tuple[Any, ...]) -> tuple[Any, Any]:
    """The value and the cotangents, every array the caller's own (see ``owned``)."""
    if type(g) is tuple:
        out = owned([y, *g], inputs)
        return out[0], tuple(out[1:])
    y, g = owned([y, g], inputs)
    return y, g


def _seed(y: Any) -> Any:
    """1.0 for a float value, ones shaped like an array value (also under tracing)."""
    if type(y) is float:
        return 1.0
    base = concrete_of(y)
    return 1.0 if type(base) is float else np.ones_like(base)


def _traced_form(f: Any, xs: tuple[Any, ...]) -> Any:
    """For traced arguments (``gradient(exp, x)`` inside traced code): ``f`` as a traced rule.

    The traced value's type says how (``__pullback_differentiate__``), so this
    layer needs nothing of the tracer's; None when no argument is traced or ``f``
    is already a traced rule.
    """
    if getattr(f, "__pullback_checks_arguments__", False) or not callable(f):
        return None
    for x in xs:
        hook = getattr(type(x), "__pullback_differentiate__", None)
        if hook is not None:
            return hook(f)
    return None


def _forward(f: Any, xs: tuple[Any, ...], api: str) -> tuple[Value, Any, tuple[Value, ...]]:
    """Check the call, run ``f`` once, check its answer. Names are made only for errors."""
    if len(xs) == 1 and type(xs[0]) is float and callable(f):
        args: tuple[Value, ...] = xs
    elif xs and getattr(f, "__pullback_checks_arguments__", False):
        args = xs  # a traced rule takes trees and traced values, and checks them itself
    else:
        args = _checked_args(f, xs, api)
    try:
        out = f(*args)
    except TypeError:
        _explain_arity(f, args, api)
        raise
    if not (type(out) is tuple and len(out) == 2 and callable(out[1])):
        raise TypeError(
            f"{api}: the rule {rule_name(f)} must return (value, pullback), got {describe(out)}"
        )
    y = out[0]
    if type(y) is not float and type(y) is not np.ndarray and not is_traced(y):
        y = _as_output(y, f)
    return y, out[1], args


def _checked_args(f: Any, xs: tuple[Any, ...], api: str) -> tuple[Value, ...]:
    require_callable(f, api)
    name = rule_name(f)
    if not xs:
        raise TypeError(f"{api}({name}): no argument to differentiate at; call {api}(f, x)")
    if len(xs) == 1:
        return (as_value(xs[0], f"{api}({name})"),)
    return tuple(as_value(x, f"{api}({name}), argument {i}") for i, x in enumerate(xs, start=1))


def _explain_arity(f: Any, args: tuple[Value, ...], api: str) -> None:
    """Raise a clearer TypeError if ``f`` cannot take ``len(args)`` arguments."""
    try:
        signature = inspect.signature(f)
    except (TypeError, ValueError):  # builtins without a signature
        return
    try:
        signature.bind(*args)
    except TypeError:
        name = rule_name(f)
        params = [p.name for p in signature.parameters.values()]
        count = f"{len(params)} argument{'s' if len(params) != 1 else ''}"
        raise TypeError(
            f"{api}({name}): {name} takes {count} ({', '.join(params)}), got {len(args)}; "
            f"pass one value per argument: {api}({name}, {', '.join(params)})"
        ) from None


def _as_output(y: Any, f: Any) -> Value:
    checked: Value
    if isinstance(y, (np.floating, np.integer, int)) and not isinstance(y, bool):
        checked = float(y)
    else:
        checked = as_value(y, f"the value returned by {rule_name(f)}")
    return checked


def _cotangents(g: Any, args: tuple[Value, ...], f: Any) -> Any:
    if getattr(f, "__pullback_checks_arguments__", False):
        return g  # a traced rule shapes its own cotangents (trees, traced values)
    if len(args) == 1:
        return _like(g, args[0], f, 1)
    if not (isinstance(g, tuple) and len(g) == len(args)):
        raise TypeError(
            f"the pullback of {rule_name(f)} must return a tuple of {len(args)} cotangents "
            f"(one per argument), got {describe(g)}"
        )
    pairs = enumerate(zip(g, args, strict=True), start=1)
    return tuple(_like(gi, x, f, i) for i, (gi, x) in pairs)


def _like(g: Any, x: Value, f: Any, position: int) -> Any:
    """The cotangent ``g`` as the same kind as the argument ``x``."""
    if type(x) is float and type(g) is float:
        return g
    real = real_array(g)
    if real is None:
        raise TypeError(
            f"the pullback of {rule_name(f)} returned {describe(g)} for argument {position}; "
            "a cotangent is real: a float, or a float64 array shaped like its argument"
        )
    if type(x) is float:
        if real.ndim == 0:
            return float(real)
    elif real.shape == x.shape:  # type: ignore[union-attr]
        return real
    elif real.ndim == 0:  # a constant's zero cotangent, say
        return np.full(x.shape, float(real))  # type: ignore[union-attr]
    raise ValueError(
        f"the pullback of {rule_name(f)} returned {describe(g)} for argument {position}, "
        f"which is {describe(x)}; a cotangent has the argument's kind and shape"
    )


class CheckedPullback:
    """The pullback that :func:`pullback` returns: checks ``dy``, shapes the result."""

    __slots__ = ("_args", "_back", "_rule", "_y")

    def __init__(self, back: Any, y: Value, args: tuple[Value, ...], rule: Any) -> None:
        self._back = back
        self._y = y
        self._args = args
        self._rule = rule

    def __call__(self, dy: Any, /) -> Any:
        y = self._y
        rule = self._rule
        if type(dy) is float and type(y) is float:
            g = self._back(dy)
            if type(g) is float and len(self._args) == 1 and type(self._args[0]) is float:
                return g
        elif is_traced(y) or is_traced(dy):  # nested differentiation: the trace checks
            return _cotangents(self._back(dy), self._args, rule)
        else:
            # One rule for every checked pullback: the cotangent has the value's kind and shape.
            dy = cotangent_for(dy, y, f"the pullback of {rule_name(rule)}")
            g = self._back(dy)
        g = _cotangents(g, self._args, rule)
        if getattr(rule, "__pullback_checks_arguments__", False):
            return g  # a traced rule's cotangents are its own already (trees of them)
        inputs = (*self._args, dy, y)
        return tuple(owned(list(g), inputs)) if type(g) is tuple else owned([g], inputs)[0]

    def __repr__(self) -> str:
        return f"<pullback of {rule_name(self._rule)}>"
