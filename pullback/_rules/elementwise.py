"""The elementwise rules, each made from its entry in the table of primitives.

``pullback.exp`` is the table's ``exp`` entry as a rule: the value and its
named pullback (``exp_pullback``), a float for a float, an array of the same
shape for an array, IEEE 754 special values (see ``_ieee``). The derivative is
the entry's, in the entry's float code and array kernel; nothing of it is
written here.

>>> y, back = exp(0.0)
>>> y, back(2.0)
(1.0, 2.0)
>>> y, back = sigmoid(0.0)
>>> y, back(1.0)
(0.5, 0.25)
>>> relu(-2.0)[1](1.0), relu(3.0)[1](1.0)
(0.0, 1.0)
>>> absolute(-3.0)[1](1.0), cos(0.0)[1](1.0)
(-1.0, -0.0)
>>> sqrt(4.0)[1](1.0), sqrt(0.0)[1](1.0)
(0.25, inf)
"""

from __future__ import annotations

import numpy as np

from .._table.elementwise import UNARY
from .._table.entry import Primitive
from .._table.library import RELU, SIGMOID, SOFTPLUS
from .._types import ElementwiseRule
from .derived import rule_from

__all__ = [
    "RULES",
    "absolute",
    "cos",
    "exp",
    "log",
    "relu",
    "sigmoid",
    "sin",
    "softplus",
    "sqrt",
    "square",
    "tanh",
]

_DOC = """{summary}

Args:
    x: a float or a float64 array.

Returns:
    ``(y, {name}_pullback)``.

Raises:
    TypeError: ``x`` is not a value.
"""


def _rule(entry: Primitive, summary: str) -> ElementwiseRule:
    rule: ElementwiseRule = rule_from(entry, _DOC.format(summary=summary, name=entry.name))
    return rule


square: ElementwiseRule = _rule(UNARY[np.square], "Square: ``y = x**2``, ``dx = dy * 2x``.")
exp: ElementwiseRule = _rule(
    UNARY[np.exp], "Exponential: ``y = e**x``, ``dx = dy * y``; ``exp(1000.0)`` is ``inf``."
)
log: ElementwiseRule = _rule(
    UNARY[np.log],
    "Natural logarithm: ``y = ln x``, ``dx = dy / x``; ``log(0.0) = -inf``, ``log(-1.0) = nan``.",
)
sin: ElementwiseRule = _rule(UNARY[np.sin], "Sine: ``y = sin x``, ``dx = dy * cos x``.")
cos: ElementwiseRule = _rule(UNARY[np.cos], "Cosine: ``y = cos x``, ``dx = -dy * sin x``.")
tanh: ElementwiseRule = _rule(
    UNARY[np.tanh],
    "Hyperbolic tangent: ``y = tanh x``, ``dx = dy / cosh(x)**2`` (not ``1 - y²``, which "
    "rounds to 0 in the tails: ``1/cosh(20)²`` is 1.7e-17).",
)
sigmoid: ElementwiseRule = _rule(
    SIGMOID,
    "Logistic sigmoid: ``y = 1/(1+e**-x)``, ``dx = dy * σ(x)·σ(-x)``, both tails exact "
    "(from ``e = exp(-|x|)``, which cannot overflow: ``σ'(40) = 4.248e-18``, not 0).",
)
relu: ElementwiseRule = _rule(
    RELU,
    "Rectifier: ``y = max(x, 0)``, ``dx = dy`` where ``x > 0`` else 0; kink convention "
    "``relu'(0) = 0`` (also at ``-0.0``); ``relu(nan)`` is nan with derivative nan.",
)
absolute: ElementwiseRule = _rule(
    UNARY[np.absolute],
    "Absolute value: ``y = |x|``, ``dx = dy * sign(x)``; kink convention ``|x|'(0) = 0``.",
)
sqrt: ElementwiseRule = _rule(
    UNARY[np.sqrt], "Square root: ``y = √x``, ``dx = dy / (2y)``; ``sqrt'(0) = +inf``."
)
softplus: ElementwiseRule = _rule(
    SOFTPLUS,
    "Softplus: ``y = log(1 + e**x)``, no overflow at ±1000; ``dx = dy * sigmoid(x)``.",
)

RULES: tuple[ElementwiseRule, ...] = (
    square,
    exp,
    log,
    sin,
    cos,
    tanh,
    sigmoid,
    relu,
    absolute,
    sqrt,
    softplus,
)
"""Every public elementwise rule, for the composition layer (fused forms) and the tracer."""
