"""Value-level functions for traced code: ``ops.exp(x)`` where a rule would be ``exp``.

Each is made from the rule of the same name, so its derivative is the rule's
own pullback. On plain floats and arrays they simply compute the value; on
traced values (inside a function given to :func:`pullback.trace`) they also
record the operation. They can be differentiated again (nested ``gradient``,
``hessian``).

>>> from pullback import gradient, ops, trace
>>> ops.exp(0.0)
1.0
>>> gradient(trace(lambda x: ops.sin(x) * ops.exp(x)), 0.0)
1.0
"""

from __future__ import annotations

from typing import Any, TypeVar

import numpy as np

from . import _traced_ops as _t
from ._graph import apply as _apply
from ._graph import apply1 as _apply1
from ._graph import apply2 as _apply2
from ._rules.nn import check_shapes
from ._table.entry import shape_of
from ._table.library import logsumexp_axes
from ._trace import lift
from ._types import Array, Labels, V
from ._values import describe

__all__ = [
    "absolute",
    "add",
    "affine",
    "cos",
    "div",
    "exp",
    "lift",
    "log",
    "log_softmax",
    "logsumexp",
    "mul",
    "power",
    "relu",
    "sigmoid",
    "sin",
    "softmax",
    "softmax_cross_entropy",
    "softplus",
    "square",
    "sub",
    "sum",
    "tanh",
]

_T = TypeVar("_T")


def exp(x: V) -> V:
    """``e**x`` (the rule :func:`pullback.exp`).

    >>> exp(0.0)
    1.0
    """
    result: V = _apply1(_t.EXP, x)
    return result


def log(x: V) -> V:
    """Natural logarithm (the rule :func:`pullback.log`).

    >>> log(1.0)
    0.0
    """
    result: V = _apply1(_t.LOG, x)
    return result


def sin(x: V) -> V:
    """Sine (the rule :func:`pullback.sin`).

    >>> sin(0.0)
    0.0
    """
    result: V = _apply1(_t.SIN, x)
    return result


def cos(x: V) -> V:
    """Cosine (the rule :func:`pullback.cos`).

    >>> cos(0.0)
    1.0
    """
    result: V = _apply1(_t.COS, x)
    return result


def tanh(x: V) -> V:
    """Hyperbolic tangent (the rule :func:`pullback.tanh`).

    >>> tanh(0.0)
    0.0
    """
    result: V = _apply1(_t.TANH, x)
    return result


def sigmoid(x: V) -> V:
    """Logistic sigmoid, stable in both tails (the rule :func:`pullback.sigmoid`).

    >>> sigmoid(0.0)
    0.5
    """
    result: V = _apply1(_t.SIGMOID, x)
    return result


def relu(x: V) -> V:
    """Rectifier, ``relu'(0) = 0`` (the rule :func:`pullback.relu`).

    >>> relu(-1.0)
    0.0
    """
    result: V = _apply1(_t.RELU, x)
    return result


def square(x: V) -> V:
    """``x**2`` (the rule :func:`pullback.square`).

    >>> square(3.0)
    9.0
    """
    result: V = _apply1(_t.SQUARE, x)
    return result


def absolute(x: V) -> V:
    """``|x|`` with ``|x|'(0) = 0``; ``abs(x)`` on a traced value is the same.

    >>> absolute(-2.0)
    2.0
    """
    result: V = _apply1(_t.ABS, x)
    return result


def add(a: V, b: V) -> V:
    """``a + b`` with broadcasting (the rule :func:`pullback.add`).

    >>> add(1.0, 2.0)
    3.0
    """
    result: V = _apply2(_t.ADD, a, b)
    return result


def sub(a: V, b: V) -> V:
    """``a - b`` with broadcasting (the rule :func:`pullback.sub`).

    >>> sub(1.0, 2.0)
    -1.0
    """
    result: V = _apply2(_t.SUB, a, b)
    return result


def mul(a: V, b: V) -> V:
    """``a * b`` with broadcasting (the rule :func:`pullback.mul`).

    >>> mul(2.0, 3.0)
    6.0
    """
    result: V = _apply2(_t.MUL, a, b)
    return result


def div(a: V, b: V) -> V:
    """``a / b`` with broadcasting and IEEE division (the rule :func:`pullback.div`).

    >>> div(1.0, 0.0)
    inf
    """
    result: V = _apply2(_t.DIV, a, b)
    return result


def power(x: V, n: float) -> V:
    """``x**n`` for a constant ``n`` (the rule :func:`pullback.power`).

    >>> power(2.0, 3)
    8.0
    """
    result: V = _apply(_t.power_primitive(_exponent(n)), x)
    return result


def _exponent(n: object) -> float:
    if isinstance(n, bool) or not isinstance(n, (int, float, np.integer, np.floating)):
        raise TypeError(f"ops.power: the exponent must be a real number, got {describe(n)}")
    return float(n)


def sum(x: V) -> float:
    """The sum of an array's elements, a float (of a float, itself); ``np.sum`` is the same.

    >>> sum(np.array([1.0, 2.0, 3.0]))
    6.0
    """
    result: float = _apply(_t.SUM, x, axis=None, keepdims=False)
    return result


def softplus(x: V) -> V:
    """Softplus ``log(1 + e**x)``, with no overflow at ±1000; its derivative is sigmoid.

    >>> round(softplus(0.0), 6)
    0.693147
    """
    result: V = _apply1(_t.SOFTPLUS, x)
    return result


def logsumexp(x: Array, axis: int | tuple[int, ...] | None = None, keepdims: bool = False) -> Any:
    """``log Σ exp(x)`` over ``axis`` (all axes for None), shifted by the max: no overflow.

    All ``-inf`` gives ``-inf`` with gradient 0 (not nan).

    >>> round(logsumexp(np.array([1000.0, 1000.0])), 6)
    1000.693147
    """
    axes = logsumexp_axes(x, axis, "ops.logsumexp")
    return _apply(_t.LOGSUMEXP, x, axis=axes, keepdims=bool(keepdims))


def affine(x: Array, w: Array, b: Array) -> Array:
    """The affine layer ``x W + b`` of a batch (the rule :func:`pullback.affine`).

    >>> import numpy as np
    >>> affine(np.ones((1, 2)), np.ones((2, 3)), np.zeros(3))
    array([[2., 2., 2.]])
    """
    check_shapes("affine", shape_of(x), shape_of(w), shape_of(b))
    result: Array = _apply(_t.AFFINE, x, w, b)
    return result


def softmax(x: Array, axis: int = -1) -> Array:
    """Softmax over ``axis`` (the last by default; the rule :func:`pullback.softmax`).

    >>> softmax(np.array([0.0, 0.0]))
    array([0.5, 0.5])
    >>> softmax(np.zeros((2, 2)), axis=0)
    array([[0.5, 0.5],
           [0.5, 0.5]])
    """
    result: Array = _apply(_t.SOFTMAX, x, axis=_one_axis(x, axis, "ops.softmax"))
    return result


def log_softmax(x: Array, axis: int = -1) -> Array:
    """Log-softmax over ``axis`` (the last by default; the rule :func:`pullback.log_softmax`).

    >>> log_softmax(np.array([0.0])).tolist()
    [0.0]
    """
    result: Array = _apply(_t.LOG_SOFTMAX, x, axis=_one_axis(x, axis, "ops.log_softmax"))
    return result


def _one_axis(x: Any, axis: int, where: str) -> tuple[int, ...]:
    if np.ndim(x) == 0:
        raise TypeError(f"{where}: expected an array, got a float")
    axes = logsumexp_axes(x, axis, where)
    assert axes is not None
    return axes


def softmax_cross_entropy(logits: Array, labels: Labels) -> float:
    """Mean softmax cross-entropy (the rule :func:`pullback.softmax_cross_entropy`).

    >>> import numpy as np
    >>> round(softmax_cross_entropy(np.array([[0.0, 0.0]]), np.array([0])), 6)
    0.693147
    """
    check_shapes("softmax_cross_entropy", shape_of(logits), shape_of(labels))
    result: float = _apply2(_t.SOFTMAX_CROSS_ENTROPY, logits, labels)
    return result
