"""Checking what a rule received, and turning it into a float or a float64 array.

Every public entry point calls :func:`as_value` on what it was given, so a
string, ``None`` or a complex number is refused where it arrived, with the
name of the rule that refused it.
"""

from __future__ import annotations

import numpy as np

from ._types import Array, V, Value

__all__ = ["as_value", "describe", "nd"]

_ACCEPTED = "a value (a float, an int, or a real NumPy array, used as float64)"


def describe(x: object) -> str:
    """Name the type of ``x`` (and a short repr) for an error message."""
    text = repr(x)
    if len(text) > 40:
        text = text[:37] + "..."
    if isinstance(x, np.ndarray):
        return f"an array of dtype {x.dtype} and shape {x.shape}"
    return f"{type(x).__name__} {text}"


def as_value(x: V, where: object) -> V:
    """Return ``x`` as a Python float or a float64 array, or raise naming ``where``.

    Args:
        x: what the rule received.
        where: the rule (or stage) to name in an error, e.g. ``"exp"``; a rule
            object is named by its ``repr``, computed only if there is an error.

    Returns:
        ``x`` itself when it is already a float or a float64 ndarray; otherwise a
        new float (from an int or a NumPy real scalar) or a new float64 array.
        The input is never modified.

    Raises:
        TypeError: ``x`` is not a real number or a real array (a str, None,
            a complex number, a list, a bool, an object array, ...).
        ValueError: an int too large for a float.

    >>> as_value(3, "exp")
    3.0
    >>> as_value("3", "exp")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    TypeError: exp: expected a value (a float, an int, or a real NumPy array...), got str '3'
    """
    # Typed for well-typed callers; at run time anything may arrive, and
    # anything that is not already a float or a float64 array is checked.
    kind = type(x)
    if kind is float:
        return x
    if kind is np.ndarray and x.dtype == np.float64:  # type: ignore[attr-defined]
        return x
    return _convert(x, where)  # type: ignore[return-value]


def _convert(x: object, rule: object) -> Value:
    where = rule if isinstance(rule, str) else repr(rule)
    if isinstance(x, (bool, np.bool_)):
        raise TypeError(
            f"{where}: expected {_ACCEPTED}, got bool {x!r}; write 1.0 or 0.0 if a number was meant"
        )
    if isinstance(x, (float, np.floating)):
        return float(x)
    if isinstance(x, (int, np.integer)):
        try:
            return float(x)
        except OverflowError:
            raise ValueError(f"{where}: the int {describe(x)} is too large for a float64") from None
    if isinstance(x, np.ndarray):
        if x.dtype.kind in "iuf":
            return x.astype(np.float64)
        raise TypeError(
            f"{where}: expected {_ACCEPTED}, got {describe(x)}; "
            "only real (integer or floating) dtypes can be differentiated"
        )
    if hasattr(type(x), "__pullback_concrete__"):
        raise TypeError(
            f"{where}: got a traced value; inside traced code use the functions of "
            "pullback.ops, and differentiate there with gradient(trace(f), x)"
        )
    if isinstance(x, (list, tuple)):
        raise TypeError(
            f"{where}: expected {_ACCEPTED}, got {describe(x)}; "
            "wrap it with np.asarray(..., dtype=float) to differentiate elementwise"
        )
    if isinstance(x, (complex, np.complexfloating)):
        raise TypeError(
            f"{where}: expected {_ACCEPTED}, got {describe(x)}; complex numbers are not supported"
        )
    raise TypeError(f"{where}: expected {_ACCEPTED}, got {describe(x)}")


def nd(y: object) -> Array:
    """Keep an array result an ndarray (NumPy turns 0-d results into scalars)."""
    if type(y) is np.ndarray:
        return y
    return np.asarray(y, dtype=np.float64)
