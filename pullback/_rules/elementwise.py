"""Elementwise primitives: the table of derivatives.

Each rule reads like a line of a textbook's table: the forward value, then its
named pullback with the derivative. Derivatives are written from the output
``y`` where the maths allows. A float gives a float, an array an array of the
same shape; special values follow IEEE 754 (see ``_ieee``).
"""

from __future__ import annotations

import numpy as np

from .. import _ieee as ieee
from .._types import Pullback, V
from .._values import as_value, nd

__all__ = ["absolute", "cos", "exp", "log", "relu", "sigmoid", "sin", "square", "tanh"]


def square(x: V) -> tuple[V, Pullback[V, V]]:
    """Square: ``y = x**2``, ``dx = dy * 2x``.

    Args:
        x: a float or a float64 array.

    Returns:
        ``(y, square_pullback)``.

    Raises:
        TypeError: ``x`` is not a value.

    >>> y, back = square(3.0)
    >>> y, back(1.0)
    (9.0, 6.0)
    """
    if type(x) is not float:  # a float needs no checking
        x = as_value(x, "square")
    y = ieee.mul(x, x)

    def square_pullback(dy: V) -> V:
        return ieee.mul(dy, ieee.mul(2.0, x))

    return y, square_pullback


def exp(x: V) -> tuple[V, Pullback[V, V]]:
    """Exponential: ``y = e**x``, ``dx = dy * y``; ``exp(1000.0)`` is ``inf``.

    Args:
        x: a float or a float64 array.

    Returns:
        ``(y, exp_pullback)``.

    Raises:
        TypeError: ``x`` is not a value.

    >>> y, back = exp(0.0)
    >>> y, back(2.0)
    (1.0, 2.0)
    """
    if type(x) is not float:  # a float needs no checking
        x = as_value(x, "exp")
    y = ieee.exp(x)

    def exp_pullback(dy: V) -> V:
        return ieee.mul(dy, y)

    return y, exp_pullback


def log(x: V) -> tuple[V, Pullback[V, V]]:
    """Natural logarithm: ``y = ln x``, ``dx = dy / x``; ``log(0.0) = -inf``, ``log(-1.0) = nan``.

    Args:
        x: a float or a float64 array.

    Returns:
        ``(y, log_pullback)``.

    Raises:
        TypeError: ``x`` is not a value.

    >>> y, back = log(2.0)
    >>> round(y, 6), back(1.0)
    (0.693147, 0.5)
    """
    if type(x) is not float:  # a float needs no checking
        x = as_value(x, "log")
    y = ieee.log(x)

    def log_pullback(dy: V) -> V:
        return ieee.mul(dy, ieee.div(1.0, x))

    return y, log_pullback


def sin(x: V) -> tuple[V, Pullback[V, V]]:
    """Sine: ``y = sin x``, ``dx = dy * cos x``.

    Args:
        x: a float or a float64 array.

    Returns:
        ``(y, sin_pullback)``.

    Raises:
        TypeError: ``x`` is not a value.

    >>> y, back = sin(0.0)
    >>> y, back(1.0)
    (0.0, 1.0)
    """
    if type(x) is not float:  # a float needs no checking
        x = as_value(x, "sin")
    y = ieee.sin(x)

    def sin_pullback(dy: V) -> V:
        return ieee.mul(dy, ieee.cos(x))

    return y, sin_pullback


def cos(x: V) -> tuple[V, Pullback[V, V]]:
    """Cosine: ``y = cos x``, ``dx = -dy * sin x``.

    Args:
        x: a float or a float64 array.

    Returns:
        ``(y, cos_pullback)``.

    Raises:
        TypeError: ``x`` is not a value.

    >>> y, back = cos(0.0)
    >>> y, back(1.0)
    (1.0, -0.0)
    """
    if type(x) is not float:  # a float needs no checking
        x = as_value(x, "cos")
    y = ieee.cos(x)

    def cos_pullback(dy: V) -> V:
        return ieee.mul(dy, -ieee.sin(x))

    return y, cos_pullback


def tanh(x: V) -> tuple[V, Pullback[V, V]]:
    """Hyperbolic tangent: ``y = tanh x``, ``dx = dy / cosh(x)**2``.

    The derivative is taken as ``1/cosh²`` rather than ``1 - y²``: in the
    tails ``y`` rounds to ±1 and ``1 - y²`` to 0, while ``1/cosh(20)²`` is
    still 1.7e-17.

    Args:
        x: a float or a float64 array.

    Returns:
        ``(y, tanh_pullback)``.

    Raises:
        TypeError: ``x`` is not a value.

    >>> y, back = tanh(0.0)
    >>> y, back(1.0)
    (0.0, 1.0)
    """
    if type(x) is not float:  # a float needs no checking
        x = as_value(x, "tanh")
    y = ieee.tanh(x)

    def tanh_pullback(dy: V) -> V:
        c = ieee.cosh(x)
        return ieee.mul(dy, ieee.div(1.0, ieee.mul(c, c)))

    return y, tanh_pullback


def sigmoid(x: V) -> tuple[V, Pullback[V, V]]:
    """Logistic sigmoid: ``y = 1/(1+e**-x)``, ``dx = dy * σ(x)·σ(-x)``.

    Both tails are exact: with ``e = exp(-|x|)`` (which cannot overflow),
    ``σ(|x|) = 1/(1+e)`` and ``σ(-|x|) = e/(1+e)``. The derivative is their
    product ``e/(1+e)²``, so ``σ'(40) = 4.248e-18`` where ``y·(1-y)`` would
    give 0.

    Args:
        x: a float or a float64 array.

    Returns:
        ``(y, sigmoid_pullback)``.

    Raises:
        TypeError: ``x`` is not a value.

    >>> y, back = sigmoid(0.0)
    >>> y, back(1.0)
    (0.5, 0.25)
    """
    if type(x) is not float:  # a float needs no checking
        x = as_value(x, "sigmoid")
    y, d = sigmoid_and_derivative(x)

    def sigmoid_pullback(dy: V) -> V:
        return ieee.mul(dy, d)

    return y, sigmoid_pullback


def sigmoid_and_derivative(x: V) -> tuple[V, V]:
    """``(σ(x), σ(x)·σ(-x))``, computed once from ``e = exp(-|x|)``, ``t = 1 + e``.

    ``σ(|x|) = 1/t`` and ``σ(-|x|) = e/t``, each one rounding; the derivative
    is their product, ``e/t²``.
    """
    if isinstance(x, float):
        e = ieee.exp(-abs(x))
        t = 1.0 + e
        return (1.0 / t if x >= 0.0 else e / t), e / (t * t)
    with ieee.quiet():
        e = ieee.exp(-np.abs(x))
        t = 1.0 + e
        return nd(np.where(x >= 0.0, 1.0, e) / t), nd(e / (t * t))


def relu(x: V) -> tuple[V, Pullback[V, V]]:
    """Rectifier: ``y = max(x, 0)``, ``dx = dy`` where ``x > 0`` else 0.

    Kink convention: ``relu'(0) = 0`` (also at ``-0.0``); ``relu(nan)`` is nan
    with derivative nan, so a nan is never hidden.

    Args:
        x: a float or a float64 array.

    Returns:
        ``(y, relu_pullback)``.

    Raises:
        TypeError: ``x`` is not a value.

    >>> y, back = relu(-2.0)
    >>> y, back(1.0)
    (0.0, 0.0)
    >>> relu(3.0)[1](1.0)
    1.0
    """
    if type(x) is not float:  # a float needs no checking
        x = as_value(x, "relu")
    if isinstance(x, float):
        y = 0.0 if x <= 0.0 else x
        # From the output: y is +0.0, positive, or nan (nan * 0.0 stays nan).
        d = 1.0 if y > 0.0 else y * 0.0
    else:
        y = nd(np.where(x <= 0.0, 0.0, x))
        d = np.sign(y)

    def relu_pullback(dy: V) -> V:
        return ieee.mul(dy, d)

    return y, relu_pullback


def absolute(x: V) -> tuple[V, Pullback[V, V]]:
    """Absolute value: ``y = |x|``, ``dx = dy * sign(x)``; kink convention ``|x|'(±0) = +0``.

    Args:
        x: a float or a float64 array.

    Returns:
        ``(y, absolute_pullback)``.

    Raises:
        TypeError: ``x`` is not a value.

    >>> y, back = absolute(-3.0)
    >>> y, back(1.0)
    (3.0, -1.0)
    """
    if type(x) is not float:  # a float needs no checking
        x = as_value(x, "absolute")
    if isinstance(x, float):
        y = abs(x)
        # +0.0 at both zeros and nan at nan, as np.sign gives on arrays.
        d = 1.0 if x > 0.0 else (-1.0 if x < 0.0 else abs(x) * 0.0)
    else:
        y = nd(np.abs(x))
        d = nd(np.sign(x))

    def absolute_pullback(dy: V) -> V:
        return ieee.mul(dy, d)

    return y, absolute_pullback
