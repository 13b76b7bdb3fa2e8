"""NumPy's dispatch protocols on traced values: each ufunc and function to its table entry.

``__array_ufunc__`` (NEP 13) brings ``np.exp(x)``, ``a + x`` and ``W @ x`` here;
``__array_function__`` (NEP 18) brings ``np.sum(x, axis=1)``, ``np.reshape``,
``np.linalg.inv``. A function with an entry is recorded; a function with no
derivative (a comparison, ``argmax``, ``floor``) runs on the concrete values
and gives a plain result; anything else is a TypeError that names it as called.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._table import FUNCTIONS, UFUNCS
from .._table.entry import Composite, Primitive, normalize_axes, refuse_keywords
from .._table.reductions import CUMSUM, MAX, MIN, PROD, SUM
from .._table.ufunc_composites import UFUNC_COMPOSITES
from .._values import concrete_of

__all__ = ["CONSTANT_FUNCTIONS", "CONSTANT_UFUNCS", "array_function", "array_ufunc", "numpy_name"]

CONSTANT_UFUNCS = frozenset(
    {
        np.less, np.less_equal, np.greater, np.greater_equal, np.equal, np.not_equal,
        np.logical_and, np.logical_or, np.logical_xor, np.logical_not,
        np.isnan, np.isfinite, np.isinf, np.signbit, np.sign,
        np.floor, np.ceil, np.rint, np.trunc, np.floor_divide,
        np.bitwise_and, np.bitwise_or, np.bitwise_xor, np.invert,
    }
)  # fmt: skip
"""Ufuncs whose derivative is 0 or undefined: they give plain results on traced values."""

CONSTANT_FUNCTIONS = frozenset(
    {
        np.argmax, np.argmin, np.argsort, np.argwhere, np.nonzero, np.flatnonzero,
        np.count_nonzero, np.shape, np.ndim, np.size, np.round, np.around,
        np.zeros_like, np.ones_like, np.empty_like, np.full_like,
        np.all, np.any, np.isclose, np.allclose, np.array_equal, np.array_equiv,
        np.searchsorted, np.unique, np.isreal, np.iscomplex, np.isrealobj, np.iscomplexobj,
        np.sort_complex, np.isneginf, np.isposinf, np.histogram, np.bincount, np.digitize,
        np.result_type, np.can_cast, np.may_share_memory, np.shares_memory,
    }
)  # fmt: skip
"""Functions with no derivative: they run on the concrete values (``np.argmax(x)`` is an int)."""

_REDUCE = {np.add: SUM, np.multiply: PROD, np.maximum: MAX, np.minimum: MIN}


def numpy_name(function: Any) -> str:
    """How a user wrote a NumPy function: ``np.sum``, ``np.linalg.svd``.

    >>> numpy_name(np.linalg.svd), numpy_name(np.exp)
    ('np.linalg.svd', 'np.exp')
    """
    module = getattr(function, "__module__", None) or "numpy"
    if module.startswith("numpy"):
        module = "np" + module[len("numpy") :]
    if module.startswith(("np._", "np.lib._")) or module == "np._core":
        module = "np"
    return f"{module}.{function.__name__}"


def concrete(x: Any) -> Any:
    """The concrete value under any traced layers; containers are unwrapped too."""
    if type(x) is list or type(x) is tuple:
        return type(x)(concrete(item) for item in x)
    return concrete_of(x)


def no_rule(name: str) -> TypeError:
    """The error for a NumPy function with no entry, saying how to give it one."""
    return TypeError(
        f"{name} has no derivative rule in pullback, so it cannot run on a traced value. "
        "Write its derivative as a rule (a function returning (value, pullback)) and call "
        "pullback.lift(rule) in traced code, or add an entry to the table (see docs/numpy.md "
        "for what is supported)"
    )


def array_ufunc(ufunc: Any, method: str, inputs: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """Answer ``__array_ufunc__``: record the entry, compute a constant, or refuse by name."""
    name = numpy_name(ufunc) if method == "__call__" else f"{numpy_name(ufunc)}.{method}"
    if "out" in kwargs:
        raise TypeError(
            f"{name}: writing into an array in place (out=, or x += y on an array with a "
            "traced value) cannot be traced; write x = x + y, which makes a new value"
        )
    if method == "__call__":
        if ufunc in CONSTANT_UFUNCS:
            return ufunc(*(concrete(x) for x in inputs), **kwargs)
        entry = UFUNCS.get(ufunc)
        if entry is not None:
            refuse_keywords(name, **kwargs)
            return entry(*inputs)
        composite = UFUNC_COMPOSITES.get(ufunc)
        if composite is not None:
            return composite.function(*inputs, **kwargs)
    elif method == "reduce" and ufunc in _REDUCE:
        (x,) = inputs
        refuse_keywords(name, **{k: v for k, v in kwargs.items() if k not in ("axis", "keepdims")})
        axis = kwargs.get("axis", 0)
        axes = normalize_axes(axis, np.ndim(x), name)
        return _REDUCE[ufunc](x, axis=axes, keepdims=bool(kwargs.get("keepdims", False)))
    elif method == "accumulate" and ufunc is np.add:
        refuse_keywords(name, **{k: v for k, v in kwargs.items() if k != "axis"})
        return CUMSUM(inputs[0], axis=int(kwargs.get("axis", 0)) % max(np.ndim(inputs[0]), 1))
    elif method == "outer" and ufunc in UFUNCS and ufunc is not np.matmul:
        a, b = inputs
        shape = np.shape(a) + (1,) * np.ndim(b)
        return UFUNCS[ufunc](np.reshape(a, shape), b)
    raise no_rule(name)


def array_function(function: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """Answer ``__array_function__``: the entry's implementation, a constant, or refuse."""
    if function in CONSTANT_FUNCTIONS:
        return function(*concrete(args), **{k: concrete(v) for k, v in kwargs.items()})
    entry = FUNCTIONS.get(function)
    if entry is None:
        raise no_rule(numpy_name(function))
    if type(entry) is Composite:
        return entry.function(*args, **kwargs)
    assert type(entry) is Primitive
    if kwargs:
        refuse_keywords(numpy_name(function), **kwargs)
    return entry(*args)
