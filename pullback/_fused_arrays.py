"""The fused form of a chain of the library's elementwise primitives, on arrays.

Why: stage by stage, every primitive allocates its value and keeps its
derivative for a pullback closure, and the backward pass multiplies the
cotangent through every stage: about 2.5x the hand-written NumPy derivative
on a million elements. Here the stages run in order, each kernel writing into
buffers that the call itself allocated (never into the caller's array), and
the local derivatives are then multiplied into one accumulator, in place, last
stage first; a sign (scale(-1), power(-1)) costs no pass. The value of the
last stage is skipped when only the gradient is wanted.

Each kernel is the same arithmetic as its rule in ``_rules``, and the
products are taken in the order of the backward pass, so the result is the
stage-by-stage gradient bit for bit (the tests compare them).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from . import _ieee as ieee
from ._rules import elementwise as ew
from ._rules.factories import AddConst, Power, Scale, power_derivative
from ._types import Array

__all__ = ["ArrayKernel", "kernel_for", "run"]

# kernel(x, own, need_value) -> (value, local derivative, constant factor).
# ``own`` says the kernel may overwrite ``x`` (a buffer of this call, never the
# caller's array). The local derivative is the array times the factor; the
# array is None where it is 1 (scale, add_const).
Derivative = tuple[Array, "Array | None", float]
ArrayKernel = Callable[[Array, bool, bool], Derivative]


def _out(x: Array, own: bool) -> Array:
    return x if own else np.empty_like(x)


def square_kernel(x: Array, own: bool, need_value: bool) -> Derivative:
    d = np.multiply(2.0, x)
    return np.multiply(x, x, out=_out(x, own)), d, 1.0


def exp_kernel(x: Array, own: bool, need_value: bool) -> Derivative:
    y = np.exp(x, out=_out(x, own))
    return y, y, 1.0


def log_kernel(x: Array, own: bool, need_value: bool) -> Derivative:
    d = np.divide(1.0, x)
    return np.log(x, out=_out(x, own)), d, 1.0


def sin_kernel(x: Array, own: bool, need_value: bool) -> Derivative:
    d = np.cos(x)
    return np.sin(x, out=_out(x, own)), d, 1.0


def cos_kernel(x: Array, own: bool, need_value: bool) -> Derivative:
    d = np.sin(x)  # the derivative is -sin: the sign goes into the factor, exactly
    return np.cos(x, out=_out(x, own)), d, -1.0


def tanh_kernel(x: Array, own: bool, need_value: bool) -> Derivative:
    c = np.cosh(x)
    np.multiply(c, c, out=c)
    np.divide(1.0, c, out=c)
    return np.tanh(x, out=_out(x, own)), c, 1.0


def sigmoid_kernel(x: Array, own: bool, need_value: bool) -> Derivative:
    # As sigmoid_and_derivative: e = exp(-|x|), t = 1 + e, y = (1 or e)/t, d = e/t².
    e = np.abs(x)
    np.negative(e, out=e)
    np.exp(e, out=e)
    t = np.add(e, 1.0)
    if need_value:
        y = np.where(x >= 0.0, 1.0, e)
        np.divide(y, t, out=y)
    else:
        y = x  # not wanted: the last stage of a gradient
    np.multiply(t, t, out=t)
    np.divide(e, t, out=e)
    return y, e, 1.0


def relu_kernel(x: Array, own: bool, need_value: bool) -> Derivative:
    y = np.where(x <= 0.0, 0.0, x)
    return y, np.sign(y), 1.0


def _scale_kernel(c: float) -> ArrayKernel:
    def scale_kernel(x: Array, own: bool, need_value: bool) -> Derivative:
        return np.multiply(c, x, out=_out(x, own)), None, c

    return scale_kernel


def _add_const_kernel(c: float) -> ArrayKernel:
    def add_const_kernel(x: Array, own: bool, need_value: bool) -> Derivative:
        return np.add(x, c, out=_out(x, own)), None, 1.0

    return add_const_kernel


def _power_kernel(n: float | int) -> ArrayKernel:
    def power_kernel(x: Array, own: bool, need_value: bool) -> Derivative:
        if n == -1:  # y = 1/x, d = -y², as power_derivative
            y = np.divide(1.0, x, out=_out(x, own))
            return y, np.multiply(y, y), -1.0
        return ieee.pow(x, n), power_derivative(x, n), 1.0

    return power_kernel


_KERNELS: dict[Callable[..., Any], ArrayKernel] = {
    ew.square: square_kernel,
    ew.exp: exp_kernel,
    ew.log: log_kernel,
    ew.sin: sin_kernel,
    ew.cos: cos_kernel,
    ew.tanh: tanh_kernel,
    ew.sigmoid: sigmoid_kernel,
    ew.relu: relu_kernel,
}


def kernel_for(stage: Callable[..., Any]) -> ArrayKernel | None:
    """The array kernel of a library primitive, or None for any other rule."""
    kind = type(stage)
    if kind is Scale:
        return _scale_kernel(stage.c)  # type: ignore[attr-defined]
    if kind is AddConst:
        return _add_const_kernel(stage.c)  # type: ignore[attr-defined]
    if kind is Power:
        return _power_kernel(stage.n)  # type: ignore[attr-defined]
    try:
        return _KERNELS.get(stage)
    except TypeError:  # an unhashable user rule
        return None


def run(kernels: tuple[ArrayKernel, ...], x: Array, need_value: bool) -> tuple[Array, Array]:
    """Run the kernels on ``x``; return the value and the elementwise derivative.

    The local derivatives are kept and multiplied last stage first, with the
    constants at their places, as the stages' own pullbacks would (seeded with
    ones): the same operations in the same order, so the same bits. Only signs
    are gathered and applied once (negation is exact).
    """
    derivatives: list[tuple[Array | None, float]] = []
    own = False
    last = len(kernels) - 1
    with ieee.quiet():
        for i, kernel in enumerate(kernels):
            x, d, factor = kernel(x, own, need_value or i < last)
            derivatives.append((d, factor))
            # The derivative may be the running value itself (exp): then the
            # next stage writes a new buffer instead of overwriting it.
            own = d is not x
        g: Array | None = None
        scalar = 1.0  # the product while it is still the same for every element
        negative = False
        for d, factor in reversed(derivatives):
            if factor == -1.0:
                negative = not negative
            elif factor != 1.0:
                if g is None:
                    scalar = scalar * factor
                else:
                    np.multiply(g, factor, out=g)
            if d is not None:
                if g is None:
                    # d becomes the accumulator, written in place from here on,
                    # unless it is the value itself (exp last), which is returned.
                    g = (
                        d
                        if scalar == 1.0 and d is not x
                        else np.multiply(d, scalar, out=_out(d, False))
                    )
                else:
                    np.multiply(g, d, out=g)
        if g is None:
            g = np.full(x.shape, scalar)
        if negative:
            np.negative(g, out=g)
    return x, g
