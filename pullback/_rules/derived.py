"""Public rules made from entries of the table: ``pullback.sqrt`` is the table's ``sqrt``.

A derived rule checks its argument, computes the entry's value and returns
the entry's own pullback, so nothing of the derivative is written twice.
"""

from __future__ import annotations

from typing import Any, NoReturn

import numpy as np

from .. import _ieee as ieee
from .._table.elementwise import UNARY
from .._table.entry import Primitive, as_float_if_scalar
from .._table.library import SOFTPLUS
from .._types import ElementwiseRule, Pullback, V
from .._values import as_value

__all__ = ["TableRule", "softplus", "sqrt"]


class TableRule:
    """The rule ``x -> (y, pullback)`` of an elementwise entry of the table."""

    __slots__ = ("entry",)
    entry: Primitive

    def __init__(self, entry: Primitive) -> None:
        object.__setattr__(self, "entry", entry)

    def __call__(self, x: V, /) -> tuple[V, Pullback[V, V]]:
        return self._call(x)  # type: ignore[no-any-return]

    def _call(self, x: Any) -> Any:
        entry = self.entry
        if type(x) is not float:  # a float needs no checking
            x = as_value(x, entry.name)
        with ieee.quiet():
            y = as_float_if_scalar(entry.forward(x))
        vjps = entry.vjps
        assert vjps is not None and vjps[0] is not None
        vjp = vjps[0]
        # NumPy float64 scalars: IEEE arithmetic where Python's floats raise.
        xs = np.float64(x) if type(x) is float else x
        ys = np.float64(y) if type(y) is float else y

        def pullback(dy: Any) -> Any:
            with ieee.quiet():
                dx = vjp(np.float64(dy) if type(dy) is float else dy, ys, xs)
            return float(dx) if type(x) is float else np.array(dx, dtype=np.float64)

        pullback.__name__ = pullback.__qualname__ = f"{entry.name}_pullback"
        return y, pullback

    def __repr__(self) -> str:
        return self.entry.name

    def __setattr__(self, name: str, value: object) -> NoReturn:
        raise AttributeError(f"{self!r} is immutable")


sqrt: ElementwiseRule = TableRule(UNARY[np.sqrt])
"""Square root, ``sqrt'(0) = +inf``: the table's entry as a rule.

>>> from pullback import gradient, sqrt
>>> gradient(sqrt, 4.0), gradient(sqrt, 0.0)
(0.25, inf)
"""

softplus: ElementwiseRule = TableRule(SOFTPLUS)
"""Softplus ``log(1 + e**x)``, no overflow at ±1000; its derivative is sigmoid.

>>> from pullback import gradient, softplus
>>> gradient(softplus, 0.0)
0.5
"""
