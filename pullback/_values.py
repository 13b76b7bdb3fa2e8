"""Checking what a rule received, and turning it into a float or a float64 array.

Every public entry point calls :func:`as_value` on what it was given, so a
string, ``None`` or a complex number is refused where it arrived, with the
name of the rule that refused it.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ._types import Array, V, Value

__all__ = [
    "as_value",
    "concrete_of",
    "cotangent_for",
    "describe",
    "is_traced",
    "nd",
    "owned",
    "real_array",
    "require_callable",
    "require_step",
]

_ACCEPTED = "a value (a float, an int, or a real NumPy array, used as float64)"


def describe(x: object) -> str:
    """Name the type of ``x`` (and a short repr) for an error message."""
    try:
        text = repr(x)
    except RecursionError:  # a tree nested too deeply for repr
        text = f"<{type(x).__name__} nested too deeply to show>"
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
        new float (from an int or a NumPy real scalar) or a new, plain float64
        array (from an integer, float16, float32 or longdouble array, or an
        ndarray subclass). The input is never modified.

    Raises:
        TypeError: ``x`` is not a real number or a real array (a str, None,
            a complex number, a list, a bool, an object array, ...), or it is
            an ``np.matrix`` or a masked array (their semantics would be lost).
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
        if isinstance(x, np.matrix):
            raise TypeError(
                f"{where}: got an np.matrix, whose * is the matrix product; the rules are "
                "elementwise: pass np.asarray(m)"
            )
        if isinstance(x, np.ma.MaskedArray):
            raise TypeError(
                f"{where}: got a masked array, whose mask the rules would lose; pass "
                "m.filled(value) or m.compressed() to say what the masked entries are"
            )
        if x.dtype.kind in "iuf":
            # Another dtype or ndarray subclass becomes a plain float64 array (a new
            # one): float16/float32 and integers exactly, longdouble rounded.
            return np.array(x, dtype=np.float64)
        raise TypeError(
            f"{where}: expected {_ACCEPTED}, got {describe(x)}; "
            "only real (integer or floating) dtypes can be differentiated"
        )
    if is_traced(x):
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


def cotangent_for(
    dy: Any, like: Any, where: str, what: str = "cotangent", of: str = "the value"
) -> Value:
    """Check a cotangent against the value it is the cotangent of; return it as a value.

    One rule for every checked pullback: the cotangent of a float is a float
    (an int or a NumPy real scalar is taken as one), the cotangent of an array
    is an array of the same shape (an integer array is taken as float64; for a
    0-d array a NumPy real scalar is taken as a 0-d array).

    Args:
        dy: the cotangent given to a pullback.
        like: the value the pullback is of (a float or an array).
        where: what to name in an error, e.g. ``"the pullback of exp"``.
        what: what ``dy`` is called in an error (a ``"tangent"`` in forward mode).
        of: what ``like`` is called in an error (``"argument 2"``).

    Returns:
        ``dy`` as a float or a float64 array.

    Raises:
        TypeError: ``dy`` is not a value, or not of the value's kind.
        ValueError: ``dy`` is an array of another shape than the value.

    >>> import numpy as np
    >>> cotangent_for(2, 1.0, "the pullback of exp")
    2.0
    >>> cotangent_for(np.ones(3), 1.0, "the pullback of mul")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    TypeError: the pullback of mul: the value is a float, so the cotangent must be a float, ...
    >>> cotangent_for(np.ones(2), np.zeros(3), "the pullback of exp")
    Traceback (most recent call last):
    ...
    ValueError: the pullback of exp: the cotangent has shape (2,) but the value has shape (3,)
    """
    if type(like) is float or isinstance(like, (np.floating, np.integer)):
        # (a NumPy scalar value, from a rule of the user's, is a float as well)
        if type(dy) is float:
            return dy
        if isinstance(dy, np.ndarray):
            raise TypeError(
                f"{where}: {of} is a float, so the {what} must be a float, got {describe(dy)}"
            )
        checked: Value = as_value(dy, where)
        return checked
    shape = np.shape(like)
    if not shape and isinstance(dy, (np.floating, np.integer)) and not isinstance(dy, np.bool_):
        # NumPy's arithmetic turns 0-d arrays into NumPy scalars (2.5 * np.ones(())
        # is np.float64), so for a 0-d value a NumPy scalar counts as a 0-d array.
        dy = np.asarray(dy, dtype=np.float64)
    if not (type(dy) is np.ndarray and dy.dtype == np.float64):
        dy = as_value(dy, where)
        if type(dy) is float:
            raise TypeError(
                f"{where}: {of} is an array of shape {shape}, so the {what} must be "
                f"an array of that shape, got float {dy!r}"
            )
    if dy.shape != shape:
        raise ValueError(f"{where}: the {what} has shape {dy.shape} but {of} has shape {shape}")
    array: Array = dy
    return array


def real_array(g: object) -> Array | None:
    """``g`` as a float64 array if it is a real number or a real array, else None.

    Args:
        g: a cotangent returned by a pullback.

    Returns:
        A float64 array (``g`` itself when it is one, else a new array; a
        number gives a 0-d array), or None for a complex number, a bool, a
        string, None, a traced value or anything NumPy cannot read as real.

    >>> real_array(2), real_array(1j)
    (array(2.), None)
    """
    if isinstance(g, (bool, np.bool_, str, bytes)) or g is None:
        return None
    if is_traced(g):
        return None
    try:
        out = np.asarray(g)
    except Exception:  # an object NumPy cannot take in at all
        return None
    if out.dtype.kind not in "iuf":  # complex, object, strings, bools
        return None
    return out.astype(np.float64, copy=False)


def _memory_root(a: np.ndarray[Any, Any]) -> object:
    """The ndarray that owns ``a``'s memory, or the foreign object that does."""
    while True:
        base = a.base
        if base is None:
            return a
        if not isinstance(base, np.ndarray):
            return base  # a buffer of another object: never the caller's own
        a = base


def owned(outputs: list[Any], inputs: tuple[Any, ...]) -> list[Any]:
    """Make every array of ``outputs`` the caller's own; return the list.

    An array is copied when it is read-only (a broadcast view), when its
    memory is not that of an ndarray (a buffer of another object), or when it
    shares its memory owner with one of ``inputs`` or with an earlier output;
    otherwise it is kept as it is (a fresh result costs no copy). Floats and
    anything else pass unchanged.

    Args:
        outputs: the values about to be returned (changed in place).
        inputs: what the caller holds already (arguments, the cotangent given).

    Returns:
        ``outputs``.

    >>> import numpy as np
    >>> x = np.ones(2)
    >>> a, b = owned([x, x], (x,))
    >>> a is x or b is x or a is b
    False
    """
    # Called on every traced gradient (its value, then its cotangents): one set of
    # the inputs' memory owners, then one membership test per output array.
    taken = {
        id(x if x.base is None else _memory_root(x)) for x in inputs if isinstance(x, np.ndarray)
    }
    for i, a in enumerate(outputs):
        if isinstance(a, np.ndarray):
            if a.base is None and type(a) is np.ndarray:  # the common case: a fresh array
                key = id(a)
                if key not in taken and a.flags.writeable:
                    taken.add(key)
                    continue
            root = a if a.base is None else _memory_root(a)
            if (
                id(root) in taken
                or type(a) is not np.ndarray
                or not isinstance(root, np.ndarray)
                or not a.flags.writeable
            ):
                a = outputs[i] = np.array(a, dtype=np.float64)
                root = a
            taken.add(id(root))
    return outputs


_A_RULE = "a rule (a callable returning (value, pullback))"


def require_callable(f: object, api: str, expected: str = _A_RULE) -> None:
    """Raise a TypeError naming ``api`` unless ``f`` is callable.

    Args:
        f: what was passed where a rule (or a function) belongs.
        api: the function to name, e.g. ``"jacobian"``.
        expected: what the message says belongs there.

    Raises:
        TypeError: ``f`` is not callable.

    >>> require_callable(3, "jacobian")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    TypeError: jacobian: the first argument must be a rule (a callable returning ...), got int 3
    """
    if not callable(f):
        raise TypeError(f"{api}: the first argument must be {expected}, got {describe(f)}")


def require_step(eps: object, api: str, name: str = "eps", zero: bool = False) -> float:
    """``eps`` as a positive finite float (or zero, if allowed), else an error naming ``api``.

    Args:
        eps: the step or tolerance given.
        api: the function to name, e.g. ``"check_rule"``.
        name: the parameter to name.
        zero: whether 0 is allowed (a tolerance) or not (a step).

    Returns:
        ``eps`` as a float.

    Raises:
        TypeError: ``eps`` is not a real number.
        ValueError: ``eps`` is negative, zero (unless allowed), inf or nan.

    >>> require_step(0.0, "numerical_gradient")
    Traceback (most recent call last):
    ...
    ValueError: numerical_gradient: eps must be a positive finite number, got float 0.0
    >>> require_step(0, "check_rule", "atol", zero=True)
    0.0
    """
    expected = "a non-negative finite number" if zero else "a positive finite number"
    real = (int, float, np.integer, np.floating)
    if isinstance(eps, (bool, np.bool_)) or not isinstance(eps, real):
        raise TypeError(f"{api}: {name} must be {expected}, got {describe(eps)}")
    step = float(eps)
    if not ((step >= 0.0 if zero else step > 0.0) and step < math.inf):
        raise ValueError(f"{api}: {name} must be {expected}, got {describe(eps)}")
    return step


def is_traced(x: Any) -> bool:
    """Whether ``x`` is a traced value (its type answers the library's protocol).

    >>> is_traced(2.0)
    False
    """
    return hasattr(type(x), "__pullback_concrete__")


def concrete_of(x: Any) -> Any:
    """The plain value under any traced layers (``x`` itself when it is not traced).

    >>> concrete_of(np.ones(2))
    array([1., 1.])
    """
    return x.__pullback_concrete__() if is_traced(x) else x
