"""The table's entries as Python's operators record them: names, constant powers, indexing.

Every derivative here comes from the table (``_table``): ``x + y`` records the
entry of ``np.add``, ``x[key]`` the indexing entry. What this module adds is
the names Python's operators use (``x + y`` records the entry of ``np.add``),
constant exponents and bases, and indexing. The float fast paths are the
entries' own (their ``at_floats``).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from . import _ieee as ieee
from ._rules.factories import Scale, power, power_derivative
from ._table import UFUNCS
from ._table.entry import Primitive, batch_of_elementwise, constant
from ._table.library import (
    AFFINE,
    LOG_SOFTMAX,
    LOGSUMEXP,
    RELU,
    SIGMOID,
    SOFTMAX,
    SOFTMAX_CROSS_ENTROPY,
    SOFTPLUS,
)
from ._table.reductions import SUM
from ._table.shapes import INDEX, index_key
from ._values import concrete_of, describe, is_traced

__all__ = [
    "ABS",
    "ADD",
    "AFFINE",
    "COS",
    "DIV",
    "EXP",
    "LOG",
    "LOGSUMEXP",
    "LOG_SOFTMAX",
    "MATMUL",
    "MUL",
    "NEG",
    "RELU",
    "REMAINDER",
    "SIGMOID",
    "SIN",
    "SOFTMAX",
    "SOFTMAX_CROSS_ENTROPY",
    "SOFTPLUS",
    "SQUARE",
    "SUB",
    "SUM",
    "TANH",
    "exponential_of",
    "index",
    "power_of",
    "power_primitive",
    "scale_primitive",
]

ADD = UFUNCS[np.add]
SUB = UFUNCS[np.subtract]
MUL = UFUNCS[np.multiply]
DIV = UFUNCS[np.true_divide]
NEG = UFUNCS[np.negative]
ABS = UFUNCS[np.absolute]
EXP = UFUNCS[np.exp]
LOG = UFUNCS[np.log]
SIN = UFUNCS[np.sin]
COS = UFUNCS[np.cos]
TANH = UFUNCS[np.tanh]
SQUARE = UFUNCS[np.square]
MATMUL = UFUNCS[np.matmul]
REMAINDER = UFUNCS[np.remainder]


# -- constant exponents and bases ---------------------------------------------------------


def power_primitive(n: float) -> Primitive:
    """``x ** n`` for a constant exponent, as a primitive (the rule ``power(n)``).

    The common exponents are made once, at import (``x ** 2`` in a loop costs
    no closures); any other is made on the call.
    """
    common = _COMMON_POWERS.get(n)
    return common if common is not None else _power_primitive(n)


def _power_primitive(n: float) -> Primitive:
    rule = power(n)

    def power_forward(x: Any) -> Any:
        return rule(x)[0]

    def power_pullback(g: Any, y: Any, x: Any) -> Any:
        if rule.n == 0:
            return g * 0.0
        if rule.n != 2:
            return g * (float(rule.n) * power_primitive(rule.n - 1)(x))
        # Traced (a gradient recorded to be differentiated again), each operation is a
        # node that a Hessian pulls back once more, so x ** 2 records as few as it can:
        # x ** 1 is x (not an operation), and at a constant cotangent (the seed's, in the
        # first pass of a Hessian) (2 g) x is not recorded but once. It is g (2 x) bit for
        # bit where neither doubling overflows: a doubling is then exact, and both round
        # the one product 2gx once; elsewhere (inf, nan, huge) it stays g (2 x).
        # (The check is a constant of the values: a compiled recording guards it.)
        if is_traced(x) and not is_traced(g) and constant(_doubles_exactly, g, x):
            return (g * 2.0) * x
        return g * (2.0 * x)

    def power_at_floats(x: float) -> tuple[float, float]:
        return ieee.pow(x, rule.n), power_derivative(x, rule.n)

    return Primitive(
        repr(rule),
        power_forward,
        (power_pullback,),
        1,
        at_floats=power_at_floats,
        batch=batch_of_elementwise(power_pullback),
    )


def _doubles_exactly(*values: Any) -> bool:
    """Whether doubling every element of each value is surely exact (False may be conservative).

    >>> _doubles_exactly(np.array([1.0, -3.0]), 0.5), _doubles_exactly(np.array([1e300]), 0.5)
    (True, False)
    """
    for v in values:
        if type(v) is np.ndarray:
            # A sum of squares is finite only if every element is finite and below
            # 1.3e154 (squares never cancel): one BLAS call, where a max of absolute
            # values is two passes and NumPy's dispatch. Above it, the other order
            # (the same numbers, one node more). Its overflow is the answer: quiet.
            with ieee.quiet():
                total = v.dot(v) if v.ndim == 1 else np.vdot(v, v)
            if not math.isfinite(total):
                return False
        elif not abs(v) < _HALF_MAX:  # a float or float64; nan compares False
            return False
    return True


_HALF_MAX = 2.0**1023  # doubling anything below it is exact


# 0.0 too: x ** 2's derivative is 2 x ** 1, whose own derivative (a Hessian's
# batched pass, any third order) asks for x ** 0 on every call.
_COMMON_POWERS: dict[float, Primitive] = {
    n: _power_primitive(n) for n in (-2.0, -1.0, 0.0, 0.5, 1.0, 2.0, 3.0, 4.0)
}  # made once, at import; never changed after


def _is_number(x: Any) -> bool:
    return not isinstance(x, (bool, np.bool_)) and isinstance(
        x, (int, float, np.integer, np.floating)
    )


def power_of(x: Any, exponent: Any) -> Any:
    """``x ** exponent``: a constant exponent is ``power(n)``; a traced one is ``np.power``."""
    if is_traced(exponent) or (type(exponent) is np.ndarray and exponent.dtype.kind in "iuf"):
        return np.power(x, exponent)
    if not _is_number(exponent):
        return NotImplemented
    return power_primitive(float(exponent))(x)


def exponential_of(base: Any, x: Any) -> Any:
    """``base ** x`` for traced ``x``: ``exp(x log base)`` for a positive base, else np.power."""
    if type(base) is np.ndarray and base.dtype.kind in "iuf":
        return np.power(base, x)
    if not _is_number(base):
        return NotImplemented
    if base > 0:
        return EXP(MUL(x, math.log(base)))
    return np.power(float(base), x)


def scale_primitive(rule: Callable[..., Any]) -> Primitive:
    """A primitive for a ``scale(c)`` or ``add_const(c)`` rule (lifted into traced code)."""
    c = rule.c  # type: ignore[attr-defined]

    def constant_forward(x: Any) -> Any:
        return rule(x)[0]

    if type(rule) is Scale:

        def scale_pullback(g: Any, y: Any, x: Any) -> Any:
            return g * c

        return Primitive(
            repr(rule), constant_forward, (scale_pullback,), 1, batch=(scale_pullback,)
        )

    def add_const_pullback(g: Any, y: Any, x: Any) -> Any:
        return g

    return Primitive(
        repr(rule), constant_forward, (add_const_pullback,), 1, batch=(add_const_pullback,)
    )


def index(x: Any, key: Any) -> Any:
    """``x[key]`` for a traced array: an element is a float, a slice an array."""
    if is_traced(x) and type(concrete_of(x)) is float:
        raise TypeError(f"indexing: a traced float cannot be indexed (got key {describe(key)})")
    return INDEX(x, key=index_key(key))
