"""The primitives that traced code records, each with its nested derivative.

First derivatives come from the rule table itself: recording an operation
calls the rule, and its own pullback is the node's vector-Jacobian product.
Only when an operand is a traced value of an outer trace (``gradient`` inside
``gradient``) is the derivative needed as traceable code; those are the
``*_vjp`` functions below, one line each, written with the same traceable
operations, so they can be differentiated again to any order.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from . import _ieee as ieee
from ._fused import PRIMITIVES
from ._graph import Primitive, Traced, apply, concrete
from ._rules import binary as bi
from ._rules import elementwise as ew
from ._rules import nn
from ._rules.factories import Scale, power, power_derivative, scale
from ._types import Pullback, Value
from ._values import as_value, describe

Xs = tuple[Any, ...]


# -- traceable arithmetic (plain values in, plain values out; traced in, recorded) --


def add(a: Any, b: Any) -> Any:
    return apply(ADD, a, b)


def mul(a: Any, b: Any) -> Any:
    return apply(MUL, a, b)


def div(a: Any, b: Any) -> Any:
    return apply(DIV, a, b)


def neg(a: Any) -> Any:
    return apply(NEG, a)


def _shape(x: Any) -> tuple[int, ...]:
    return np.shape(concrete(x))


def sum_to(g: Any, like: Any) -> Any:
    """``g`` summed back to the shape of ``like`` (undoing broadcasting), traceably."""
    shape = _shape(like)
    if _shape(g) == shape:
        return g
    return apply(_sum_to_primitive(shape, type(concrete(like)) is float), g)


def broadcast(g: Any, shape: tuple[int, ...]) -> Any:
    """``g`` broadcast to ``shape`` (a new array), traceably."""
    if _shape(g) == shape:
        return g
    return apply(_broadcast_primitive(shape), g)


def _sum_to_primitive(shape: tuple[int, ...], to_float: bool) -> Primitive:
    like: Value = 0.0 if to_float else np.zeros(shape)

    def sum_to_rule(g: Any) -> tuple[Any, Pullback[Any, Any]]:
        source_shape = np.shape(g)

        def sum_to_pullback(dy: Any) -> Any:
            return np.broadcast_to(dy, source_shape).copy()

        return bi.unbroadcast(g, like), sum_to_pullback

    def sum_to_vjp(xs: Xs, y: Any, dy: Any) -> tuple[Any]:
        return (broadcast(dy, _shape(xs[0])),)

    return Primitive(f"sum_to{shape}", sum_to_rule, sum_to_vjp, 1)


def _broadcast_primitive(shape: tuple[int, ...]) -> Primitive:
    def broadcast_rule(g: Any) -> tuple[Any, Pullback[Any, Any]]:
        source = as_value(g, "broadcast")

        def broadcast_pullback(dy: Any) -> Any:
            return bi.unbroadcast(dy, source)

        return np.broadcast_to(source, shape).copy(), broadcast_pullback

    def broadcast_vjp(xs: Xs, y: Any, dy: Any) -> tuple[Any]:
        return (sum_to(dy, xs[0]),)

    return Primitive(f"broadcast{shape}", broadcast_rule, broadcast_vjp, 1)


# -- the nested derivatives: one line each --------------------------------------


def add_vjp(xs: Xs, y: Any, dy: Any) -> tuple[Any, Any]:
    return sum_to(dy, xs[0]), sum_to(dy, xs[1])


def sub_vjp(xs: Xs, y: Any, dy: Any) -> tuple[Any, Any]:
    return sum_to(dy, xs[0]), sum_to(neg(dy), xs[1])


def mul_vjp(xs: Xs, y: Any, dy: Any) -> tuple[Any, Any]:
    return sum_to(mul(dy, xs[1]), xs[0]), sum_to(mul(dy, xs[0]), xs[1])


def div_vjp(xs: Xs, y: Any, dy: Any) -> tuple[Any, Any]:
    da = div(dy, xs[1])
    return sum_to(da, xs[0]), sum_to(neg(mul(da, y)), xs[1])


def neg_vjp(xs: Xs, y: Any, dy: Any) -> tuple[Any]:
    return (neg(dy),)


def absolute_vjp(xs: Xs, y: Any, dy: Any) -> tuple[Any]:
    return (mul(dy, np.sign(concrete(xs[0]))),)  # sign is flat: a constant here


def exp_vjp(xs: Xs, y: Any, dy: Any) -> tuple[Any]:
    return (mul(dy, y),)


def log_vjp(xs: Xs, y: Any, dy: Any) -> tuple[Any]:
    return (div(dy, xs[0]),)


def sin_vjp(xs: Xs, y: Any, dy: Any) -> tuple[Any]:
    return (mul(dy, apply(COS, xs[0])),)


def cos_vjp(xs: Xs, y: Any, dy: Any) -> tuple[Any]:
    return (neg(mul(dy, apply(SIN, xs[0]))),)


def tanh_vjp(xs: Xs, y: Any, dy: Any) -> tuple[Any]:
    # 1/cosh², with cosh from exp (inf past |x| = 710, so the derivative is 0 there).
    x = xs[0]
    c = mul(add(apply(EXP, x), apply(EXP, neg(x))), 0.5)
    return (div(dy, mul(c, c)),)


def sigmoid_vjp(xs: Xs, y: Any, dy: Any) -> tuple[Any]:
    return (mul(dy, mul(y, apply(SIGMOID, neg(xs[0])))),)  # σ(x)·σ(−x): exact tails


def relu_vjp(xs: Xs, y: Any, dy: Any) -> tuple[Any]:
    x = concrete(xs[0])
    step = 1.0 if type(x) is float and x > 0.0 else 0.0 if type(x) is float else (x > 0.0) * 1.0
    return (mul(dy, step),)  # flat pieces: a constant here


def square_vjp(xs: Xs, y: Any, dy: Any) -> tuple[Any]:
    return (mul(dy, mul(2.0, xs[0])),)


def sum_vjp(xs: Xs, y: Any, dy: Any) -> tuple[Any]:
    return (broadcast(dy, _shape(xs[0])),)


# -- at floats: the value and the partial derivatives as numbers -------------------
# Each gives exactly what its rule's pullback gives (the partial times dy); Python's
# float arithmetic raises at 1/0 and overflow, and the rule then gives the IEEE answer.


def add_at_floats(a: float, b: float) -> tuple[float, tuple[float, float]]:
    return a + b, (1.0, 1.0)


def sub_at_floats(a: float, b: float) -> tuple[float, tuple[float, float]]:
    return a - b, (1.0, -1.0)


def mul_at_floats(a: float, b: float) -> tuple[float, tuple[float, float]]:
    return a * b, (b, a)


def neg_at_floats(a: float) -> tuple[float, float]:
    return -a, -1.0


def _compiled(rule: Callable[..., Any]) -> Callable[[float], tuple[float, float]]:
    # The library's compiled straight-line code for this primitive (see _fused).
    return PRIMITIVES[rule].value_and_gradient


ADD = Primitive("add", bi.add, add_vjp, 2, add_at_floats)
SUB = Primitive("sub", bi.sub, sub_vjp, 2, sub_at_floats)
MUL = Primitive("mul", bi.mul, mul_vjp, 2, mul_at_floats)
# Division keeps its rule's pullback even at floats: da = dy/b, db = -da*y divides
# the cotangent first, where stored partials 1/b and -y/b would overflow first
# (then 0 * inf = nan where the rule gives 0).
DIV = Primitive("div", bi.div, div_vjp, 2)
NEG = Primitive("neg", scale(-1.0), neg_vjp, 1, neg_at_floats)
ABS = Primitive("abs", ew.absolute, absolute_vjp, 1)
EXP = Primitive("exp", ew.exp, exp_vjp, 1, _compiled(ew.exp))
LOG = Primitive("log", ew.log, log_vjp, 1, _compiled(ew.log))
SIN = Primitive("sin", ew.sin, sin_vjp, 1, _compiled(ew.sin))
COS = Primitive("cos", ew.cos, cos_vjp, 1, _compiled(ew.cos))
TANH = Primitive("tanh", ew.tanh, tanh_vjp, 1, _compiled(ew.tanh))
SIGMOID = Primitive("sigmoid", ew.sigmoid, sigmoid_vjp, 1, _compiled(ew.sigmoid))
RELU = Primitive("relu", ew.relu, relu_vjp, 1, _compiled(ew.relu))
SQUARE = Primitive("square", ew.square, square_vjp, 1, _compiled(ew.square))

# The network rules: first derivatives from the rules themselves (no nested vjp).
AFFINE = Primitive("affine", nn.affine, None, 3)
SOFTMAX = Primitive("softmax", nn.softmax, None, 1)
LOG_SOFTMAX = Primitive("log_softmax", nn.log_softmax, None, 1)
SOFTMAX_CROSS_ENTROPY = Primitive("softmax_cross_entropy", nn.softmax_cross_entropy, None, 2)

# NumPy's arithmetic on a traced operand (``array * traced``) records these.
UFUNCS: dict[Any, Primitive] = {
    np.add: ADD,
    np.subtract: SUB,
    np.multiply: MUL,
    np.true_divide: DIV,
    np.negative: NEG,
}


def sum_rule(x: Any) -> tuple[Any, Pullback[Any, Any]]:
    """``y = Σ x`` (a float), ``dx = dy`` broadcast to ``x``'s shape."""
    x = as_value(x, "sum")
    if type(x) is float:
        return x, _identity
    shape = x.shape

    def sum_pullback(dy: Any) -> Any:
        return np.full(shape, dy, dtype=np.float64)

    return float(np.sum(x)), sum_pullback


def _identity(dy: Any) -> Any:
    return dy


SUM = Primitive("sum", sum_rule, sum_vjp, 1)


def power_primitive(n: float) -> Primitive:
    """``x ** n`` for a constant exponent, as a primitive."""
    rule = power(n)

    def power_vjp(xs: Xs, y: Any, dy: Any) -> tuple[Any]:
        if rule.n == 0:
            return (mul(dy, 0.0),)
        return (mul(dy, mul(float(rule.n), apply(power_primitive(rule.n - 1), xs[0]))),)

    def power_at_floats(x: float) -> tuple[float, float]:
        return ieee.pow(x, rule.n), power_derivative(x, rule.n)

    return Primitive(repr(rule), rule, power_vjp, 1, power_at_floats)


def power_of(x: Any, exponent: Any) -> Any:
    """``x ** exponent`` for traced ``x`` and a constant exponent."""
    if type(exponent) is Traced:
        raise TypeError(
            "x ** y with a traced exponent y is not supported; "
            "write ops.exp(y * ops.log(x)) for a positive x"
        )
    if isinstance(exponent, bool) or not isinstance(
        exponent, (int, float, np.integer, np.floating)
    ):
        return NotImplemented
    return apply(power_primitive(float(exponent)), x)


def exponential_of(base: Any, x: Any) -> Any:
    """``base ** x`` for a constant positive base and traced ``x``: ``exp(x log base)``."""
    if isinstance(base, bool) or not isinstance(base, (int, float, np.integer, np.floating)):
        return NotImplemented
    if not base > 0:
        raise ValueError(f"base ** x needs a positive constant base, got {describe(base)}")
    return apply(EXP, mul(x, math.log(base)))


def scale_primitive(rule: Callable[..., Any]) -> Primitive:
    """A primitive for a ``scale(c)`` or ``add_const(c)`` rule, with its nested vjp."""
    c = rule.c  # type: ignore[attr-defined]
    if type(rule) is Scale:

        def scale_vjp(xs: Xs, y: Any, dy: Any) -> tuple[Any]:
            return (mul(dy, c),)

        return Primitive(repr(rule), rule, scale_vjp, 1)

    def add_const_vjp(xs: Xs, y: Any, dy: Any) -> tuple[Any]:
        return (dy,)

    return Primitive(repr(rule), rule, add_const_vjp, 1)


def index(x: Any, key: Any) -> Any:
    """``x[key]`` for a traced array: an element is a float, a slice an array."""
    return apply(_index_primitive(key), x)


def _index_primitive(key: Any) -> Primitive:
    def index_rule(x: Any) -> tuple[Any, Pullback[Any, Any]]:
        x = as_value(x, "indexing")
        part = x[key]
        shape = np.shape(x)

        def index_pullback(dy: Any) -> Any:
            out = np.zeros(shape)
            np.add.at(out, key, dy)  # repeated indices add up
            return out

        value = float(part) if np.ndim(part) == 0 else np.array(part, dtype=np.float64)
        return value, index_pullback

    def index_vjp(xs: Xs, y: Any, dy: Any) -> tuple[Any]:
        return (apply(_scatter_primitive(key, _shape(xs[0])), dy),)

    return Primitive(f"index[{key!r}]", index_rule, index_vjp, 1)


def _scatter_primitive(key: Any, shape: tuple[int, ...]) -> Primitive:
    def scatter_rule(g: Any) -> tuple[Any, Pullback[Any, Any]]:
        out = np.zeros(shape)
        np.add.at(out, key, g)

        def scatter_pullback(dy: Any) -> Any:
            part = np.asarray(dy)[key]
            return float(part) if np.ndim(part) == 0 else np.array(part, dtype=np.float64)

        return out, scatter_pullback

    def scatter_vjp(xs: Xs, y: Any, dy: Any) -> tuple[Any]:
        return (index(dy, key),)

    return Primitive(f"scatter[{key!r}]", scatter_rule, scatter_vjp, 1)
