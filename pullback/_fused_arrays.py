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
from ._rules.derived import entry_of
from ._rules.factories import AddConst, Power, Scale, power_derivative
from ._table.kernels import ArrayKernel, Derivative, out_buffer
from ._types import Array

__all__ = ["ArrayKernel", "kernel_for", "run"]

# The kernels of the table's entries live with them (_table.kernels); the
# factories' kernels, which take their constant, are here.


_out = out_buffer


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


def kernel_for(stage: Callable[..., Any]) -> ArrayKernel | None:
    """The array kernel of a library primitive, or None for any other rule."""
    kind = type(stage)
    if kind is Scale:
        return _scale_kernel(stage.c)  # type: ignore[attr-defined]
    if kind is AddConst:
        return _add_const_kernel(stage.c)  # type: ignore[attr-defined]
    if kind is Power:
        return _power_kernel(stage.n)  # type: ignore[attr-defined]
    entry = entry_of(stage)
    kernel: ArrayKernel | None = entry.array_kernel if entry is not None else None
    return kernel


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
