"""The array forms of elementwise entries: kernels that write into the call's own buffers.

``kernel(x, own, need_value) -> (value, local derivative, constant factor)``.
``own`` says the kernel may overwrite ``x`` (a buffer of this call, never the
caller's array). The local derivative is the array times the factor; the
array is None where it is 1 (scale, add_const). The composition layer's fused
array chains run them in order; an entry's public rule runs its kernel alone,
so the two give the same bits. Each computes what its entry's vjp computes,
in the same operations.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from numpy.typing import NDArray

__all__ = [
    "ArrayKernel",
    "Derivative",
    "absolute_kernel",
    "cos_kernel",
    "exp_kernel",
    "log_kernel",
    "out_buffer",
    "relu_kernel",
    "sigmoid_kernel",
    "sin_kernel",
    "square_kernel",
    "tanh_kernel",
]

Array = NDArray[np.float64]
Derivative = tuple[Array, "Array | None", float]
ArrayKernel = Callable[[Array, bool, bool], Derivative]


def out_buffer(x: Array, own: bool) -> Array:
    """``x`` itself when the call owns it, else a new buffer of its shape."""
    return x if own else np.empty_like(x)


def square_kernel(x: Array, own: bool, need_value: bool) -> Derivative:
    d = np.multiply(2.0, x)
    return np.multiply(x, x, out=out_buffer(x, own)), d, 1.0


def exp_kernel(x: Array, own: bool, need_value: bool) -> Derivative:
    y = np.exp(x, out=out_buffer(x, own))
    return y, y, 1.0


def log_kernel(x: Array, own: bool, need_value: bool) -> Derivative:
    d = np.divide(1.0, x)
    return np.log(x, out=out_buffer(x, own)), d, 1.0


def sin_kernel(x: Array, own: bool, need_value: bool) -> Derivative:
    d = np.cos(x)
    return np.sin(x, out=out_buffer(x, own)), d, 1.0


def cos_kernel(x: Array, own: bool, need_value: bool) -> Derivative:
    d = np.sin(x)  # the derivative is -sin: the sign goes into the factor, exactly
    return np.cos(x, out=out_buffer(x, own)), d, -1.0


def tanh_kernel(x: Array, own: bool, need_value: bool) -> Derivative:
    # (1/cosh)², not 1/cosh²: cosh² overflows past |x| = 355 where (1/cosh)²
    # is still a number (to |x| = 372).
    r = np.cosh(x)
    np.divide(1.0, r, out=r)
    np.multiply(r, r, out=r)
    return np.tanh(x, out=out_buffer(x, own)), r, 1.0


def sigmoid_kernel(x: Array, own: bool, need_value: bool) -> Derivative:
    # As the entry: e = exp(-|x|), t = 1 + e, y = (1 or e)/t, d = e/t².
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


def absolute_kernel(x: Array, own: bool, need_value: bool) -> Derivative:
    d = np.sign(x)  # +0 at both zeros, nan at nan
    return np.abs(x, out=out_buffer(x, own)), d, 1.0
