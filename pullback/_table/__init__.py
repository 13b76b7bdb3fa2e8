"""The table of primitives: one entry per operation, grouped by family.

``ENTRIES`` lists every entry once; ``UFUNCS`` and ``FUNCTIONS`` map NumPy's own
ufuncs and functions to them, for the tracer's dispatch and the reference page.
"""

from __future__ import annotations

from typing import Any

from . import (  # noqa: F401
    arrangements,
    binary,
    calculus,
    chains,
    elementwise,
    library,
    linalg,
    reductions,
    shapes,
    spectral,
    statistics,
    windows,
)
from .entry import Composite, Primitive

__all__ = ["FUNCTIONS", "UFUNCS", "Composite", "Primitive"]

UFUNCS: dict[Any, Primitive] = {**elementwise.UNARY, **binary.BINARY, **linalg.UFUNCS}
"""NumPy ufunc -> entry (``np.exp(x)``, ``a + b``, ``a @ b``)."""

FUNCTIONS: dict[Any, Primitive | Composite] = {
    **reductions.FUNCTIONS,
    **statistics.FUNCTIONS,
    **shapes.FUNCTIONS,
    **linalg.FUNCTIONS,
    **spectral.FUNCTIONS,
    **chains.FUNCTIONS,
    **windows.FUNCTIONS,
    **arrangements.FUNCTIONS,
    **calculus.FUNCTIONS,
}
"""NumPy function -> entry (``np.sum``, ``np.reshape``, ``np.linalg.inv``)."""
