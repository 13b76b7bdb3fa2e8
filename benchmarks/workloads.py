"""The scalar workloads the tracer and compiler benchmarks share, with their derivatives by hand.

``lib`` is the module whose ``sin``/``exp``/``tanh`` the code calls: ``math`` for the plain
forward pass, ``numpy`` or ``pullback.ops`` for pullback, ``jax.numpy``, ``torch``, a tracer's.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np


def expression(a: Any, b: Any, c: Any, lib: Any = np) -> Any:
    """Eleven operations of three inputs: ``sin(a*b) + exp(c)/(1+a*a) - tanh(b*c)*a``."""
    return lib.sin(a * b) + lib.exp(c) / (1.0 + a * a) - lib.tanh(b * c) * a


def expression_derivative(a: float, b: float, c: float) -> tuple[float, float, float]:
    """The expression's gradient, by hand."""
    t = math.tanh(b * c)
    dt = 1.0 - t * t
    cab = math.cos(a * b)
    q = 1.0 + a * a
    e = math.exp(c)
    return (b * cab - e * 2.0 * a / (q * q) - t, a * cab - a * c * dt, e / q - a * b * dt)


def loop(x: Any, iterations: int, lib: Any = np) -> Any:
    """``x = x*0.999 + sin(x)*1e-3``, four operations an iteration."""
    for _ in range(iterations):
        x = x * 0.999 + lib.sin(x) * 1e-3
    return x


def loop_derivative(x: float, iterations: int) -> float:
    """The loop's derivative, by hand (forward mode, one multiply a step)."""
    d = 1.0
    for _ in range(iterations):
        d *= 0.999 + math.cos(x) * 1e-3
        x = x * 0.999 + math.sin(x) * 1e-3
    return d
