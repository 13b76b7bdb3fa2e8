"""Independent finite differences for the tests (not the library's own check)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np


def five_point(f: Callable[[float], float], x: float, h: float) -> float:
    """The 5-point central difference of a float function at ``x`` with step ``h``."""
    return (-f(x + 2 * h) + 8 * f(x + h) - 8 * f(x - h) + f(x - 2 * h)) / (12 * h)


def value_of(rule: Callable[[Any], tuple[Any, Any]]) -> Callable[[float], float]:
    """The forward value of a one-argument rule, as a float function."""

    def f(x: float) -> float:
        return float(rule(x)[0])

    return f


def relative_step(x: float) -> float:
    """A step that scales with ``x`` (1e-3 relative, 1e-3 absolute near 0)."""
    return 1e-3 * max(1.0, abs(x))


def same(a: Any, b: Any) -> bool:
    """Bitwise-equal values, nan equal to nan, and the same kind (float or array)."""
    if isinstance(a, float) and isinstance(b, float):
        return a == b or (a != a and b != b)
    return (
        isinstance(a, np.ndarray)
        and isinstance(b, np.ndarray)
        and a.shape == b.shape
        and np.array_equal(a, b, equal_nan=True)
    )
