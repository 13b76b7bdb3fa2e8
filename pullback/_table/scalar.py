"""The float forms of elementwise entries: straight-line ``math`` code, compiled once.

An entry may give its value and derivative at a float as lines of code (its
``float_code``): ``x`` is the value going in and coming out, ``{d}`` the local
derivative. The same lines are the entry's float fast path here (in traced
scalar code and in the public rule) and its stage in the composition layer's
fused chains, so the three give the same bits. ``math`` raises where IEEE 754
gives a special value (overflow, ``log(0)``, ``1/0``); the caller then takes the
entry's NumPy form, which gives the IEEE answer.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

__all__ = ["MATH", "compile_float_code"]

MATH: dict[str, Any] = {
    "exp": math.exp,
    "log": math.log,
    "sin": math.sin,
    "cos": math.cos,
    "tanh": math.tanh,
    "cosh": math.cosh,
    "pow": math.pow,
    "inf": math.inf,
    "nan": math.nan,
}
"""The names float code may use (besides Python's own ``abs``)."""


def compile_float_code(name: str, lines: tuple[str, ...]) -> Callable[[float], tuple[float, float]]:
    """``f(x) -> (y, dy/dx)`` from an entry's float code (library text, never a user's).

    >>> f = compile_float_code("exp", ("x = exp(x)", "{d} = x"))
    >>> f(0.0)
    (1.0, 1.0)
    """
    body = "\n".join("    " + line.format(d="d") for line in lines)
    source = f"def {name}_at_float(x):\n{body}\n    return x, d\n"
    namespace = dict(MATH)
    exec(compile(source, f"<pullback {name} float code>", "exec"), namespace)
    function: Callable[[float], tuple[float, float]] = namespace.pop(f"{name}_at_float")
    return function
