"""The fused form of a chain of the library's elementwise primitives, at a float.

Why: a stage that returns a closure costs a call, a closure and a tuple; for a
4-stage chain that is ~16x a plain-Python forward pass, and a loop over
(forward, derivative) pairs is still ~6x. Straight-line code is ~1.25x. So a
chain made only of the library's elementwise primitives is written out once,
from the templates below (the library's own text; user strings and user
rules never enter it), compiled, and cached on the composition. It returns the
value and the product of the local derivatives, multiplied in the order the
backward pass would (last stage first), so with seed 1.0 it gives the same
bits as the stage-by-stage pullbacks.

The templates use the ``math`` module directly, which raises where IEEE 754
returns a special value (overflow, ``log(0)``, ``1/0``); the composition then
falls back to the stage-by-stage path, whose rules are IEEE-exact. Each
template is the same arithmetic, in the same order, as its rule in
``_rules`` (the tests compare the two bit for bit).
"""

from __future__ import annotations

import math
import types
from collections.abc import Callable, Sequence
from typing import Any

from ._fused_arrays import ArrayKernel, kernel_for, run
from ._rules import elementwise as ew
from ._rules.factories import AddConst, Power, Scale
from ._types import Array

__all__ = ["PRIMITIVES", "FusedChain", "plan"]

# One chunk of straight-line code per this many stages: long enough that the
# loop over chunks costs nothing per stage, short enough to compile quickly.
CHUNK = 64

_NAMESPACE: dict[str, Any] = {
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

# Templates: ``x`` is the running value, ``{d}`` the local derivative of this
# stage (a fresh name per stage); a derivative taken from the input is
# computed before ``x`` is overwritten.
_TEMPLATES: dict[Callable[..., Any], tuple[str, ...]] = {
    ew.square: ("{d} = 2.0 * x", "x = x * x"),
    ew.exp: ("x = exp(x)", "{d} = x"),
    ew.log: ("{d} = 1.0 / x", "x = log(x)"),
    ew.sin: ("{d} = cos(x)", "x = sin(x)"),
    ew.cos: ("{d} = -sin(x)", "x = cos(x)"),
    ew.tanh: ("c = cosh(x)", "{d} = 1.0 / (c * c)", "x = tanh(x)"),
    # The two tails of sigmoid, as in sigmoid_and_derivative: exp(-|x|)
    # cannot overflow. (A nan takes the else branch: exp(nan) is nan.)
    ew.sigmoid: (
        "if x >= 0.0:",
        "    e = exp(-x)",
        "    t = 1.0 + e",
        "    x = 1.0 / t",
        "else:",
        "    e = exp(x)",
        "    t = 1.0 + e",
        "    x = e / t",
        "{d} = e / (t * t)",
    ),
    ew.relu: ("x = 0.0 if x <= 0.0 else x", "{d} = 1.0 if x > 0.0 else x * 0.0"),
}


def _power_expr(v: str, n: float | int) -> str:
    # As ieee.pow on a float: x*x, 1/x, and ``**`` with a float exponent for
    # another integral n (it raises on 0**-k and on overflow); math.pow for a
    # non-integral n (it raises where ``**`` would go complex).
    if type(n) is int:
        special = {0: "1.0", 1: v, 2: f"({v} * {v})", -1: f"(1.0 / {v})"}
        return special.get(n, f"({v} ** {float(n)!r})")
    return f"pow({v}, {n!r})"


# A stage: its lines (``{d}`` its derivative's name, ``{k}`` its constant's),
# its derivative factor ("d", "k" for the constant itself, a literal, None for
# 1; a leading "-" negates it) and its constant (or None). Constants are not
# written into the code but passed as default arguments, so chunks that differ
# only in constants share one compiled code object.
StageCode = tuple[tuple[str, ...], "str | None", "float | None"]


def _stage_lines(stage: Callable[..., Any]) -> StageCode | None:
    """The code of one stage, or None if it is not one of the library's primitives."""
    kind = type(stage)
    if kind is Scale:
        if stage.c == -1.0:  # type: ignore[attr-defined]
            return ("x = -x",), "-", None  # a sign, folded into the product (negation is exact)
        return ("x = {k} * x",), "k", stage.c  # type: ignore[attr-defined]
    if kind is AddConst:
        return ("x = x + {k}",), None, stage.c  # type: ignore[attr-defined]
    if kind is Power:
        n = stage.n  # type: ignore[attr-defined]
        if n == 0:
            return ("x = 1.0",), "0.0", None  # x**0 is 1 even at nan; its derivative is 0
        if n == -1:  # from the output, as power_derivative: -y², its sign folded
            return ("x = 1.0 / x", "{d} = x * x"), "-d", None
        derivative = f"{{d}} = {float(n)!r} * {_power_expr('x', n - 1)}"
        return (derivative, f"x = {_power_expr('x', n)}"), "d", None
    try:
        template = _TEMPLATES.get(stage)
    except TypeError:  # an unhashable user rule
        return None
    return (template, "d", None) if template is not None else None


class FusedChain:
    """Straight-line code for a chain of elementwise primitives, at a float.

    ``value_and_gradient(x) -> (y, dy/dx)`` and ``gradient(x) -> dy/dx`` are
    each compiled on their first call (then replace themselves: Python's
    ``compile`` costs a few microseconds a line, so only what is used is
    compiled), and raise ``ArithmeticError`` or ``ValueError`` where a special
    value occurs.
    """

    __slots__ = ("_kernels", "_lines", "gradient", "value_and_gradient")
    gradient: Callable[[float], float]
    value_and_gradient: Callable[[float], tuple[float, float]]

    def __init__(
        self,
        lines: list[StageCode],
        kernels: tuple[ArrayKernel, ...],
        eager: bool = False,
    ) -> None:
        self._lines = lines
        self._kernels = kernels
        self.gradient = self._compile_then_gradient
        self.value_and_gradient = self._compile_then_value_and_gradient
        if eager:
            self.gradient = self._compile(gradient_only=True)
            self.value_and_gradient = self._compile(gradient_only=False)

    def array_value_and_gradient(self, x: Array) -> tuple[Array, Array]:
        """The value and the elementwise derivative at a float64 array (a new array)."""
        return run(self._kernels, x, True)

    def array_gradient(self, x: Array) -> Array:
        """The elementwise derivative at a float64 array (a new array)."""
        return run(self._kernels, x, False)[1]

    def _compile_then_gradient(self, x: float) -> float:
        # Benign race: two threads may compile at once; either result is right.
        self.gradient = self._compile(gradient_only=True)
        return self.gradient(x)

    def _compile_then_value_and_gradient(self, x: float) -> tuple[float, float]:
        self.value_and_gradient = self._compile(gradient_only=False)
        return self.value_and_gradient(x)

    def _compile(self, gradient_only: bool) -> Any:
        lines = self._lines
        size = _chunk_size(lines)
        if len(lines) > size:
            chunked = _Chunked(self._chunks(lines, size, "chunk"))
            return chunked.gradient if gradient_only else chunked
        return self._chunks(lines, size, "chunk_gradient" if gradient_only else "chunk")[0]

    @staticmethod
    def _chunks(lines: list[StageCode], size: int, variant: str) -> tuple[Any, ...]:
        # Chunks with the same code (a repeated cycle of stages, whatever its
        # constants) share one compiled code object; each chunk binds its own
        # constants as default arguments (read as fast as locals).
        compiled: dict[tuple[Any, ...], Any] = {}
        chunks = []
        for start in range(0, len(lines), size):
            chunk = lines[start : start + size]
            key = tuple((code, factor, constant is None) for code, factor, constant in chunk)
            if key not in compiled:
                body, product, params = _chunk_body(chunk)
                returned = product if variant == "chunk_gradient" else f"x, {product}"
                source = f"def {variant}(x{params}):\n{body}\n    return {returned}\n"
                namespace = dict(_NAMESPACE)
                exec(compile(source, "<pullback fused chain>", "exec"), namespace)
                compiled[key] = namespace[variant]
            constants = tuple(constant for _, _, constant in chunk if constant is not None)
            chunks.append(_with_defaults(compiled[key], constants))
        return tuple(chunks)


def _with_defaults(f: Any, constants: tuple[float, ...]) -> Any:
    return types.FunctionType(f.__code__, f.__globals__, f.__name__, constants or None)


def _chunk_size(lines: list[StageCode]) -> int:
    """CHUNK, or the largest multiple of the stages' period below it.

    A chain that repeats a cycle of p kinds of stage (sigmoid, scale, add_const)
    then cuts into chunks of identical code, compiled once.
    """
    codes = [stage[0] for stage in lines]
    for period in range(1, 17):
        if len(codes) > 2 * period and all(
            codes[i] == codes[i + period] for i in range(len(codes) - period)
        ):
            return (CHUNK // period) * period
    return CHUNK


class _Chunked:
    """A long chain: a loop over compiled chunks, products multiplied last chunk first."""

    __slots__ = ("chunks",)

    def __init__(self, chunks: tuple[Callable[[float], tuple[float, float]], ...]) -> None:
        self.chunks = chunks

    def __call__(self, x: float) -> tuple[float, float]:
        products: list[float] = []
        push = products.append
        for chunk in self.chunks:
            x, p = chunk(x)
            push(p)
        g = 1.0
        for p in reversed(products):
            g = g * p
        return x, g

    def gradient(self, x: float) -> float:
        return self(x)[1]


def _chunk_body(stages: list[StageCode]) -> tuple[str, str, str]:
    """The body, the derivative product, and the constants' parameters of a chunk."""
    body = []
    factors = []
    params = []
    negative = False
    for i, (lines, factor, constant) in enumerate(stages):
        for line in lines:
            body.append("    " + line.format(d=f"d{i}", k=f"k{i}"))
        if constant is not None:
            params.append(f", k{i}=0.0")
        if factor is not None and factor.startswith("-"):
            # Negation is exact and commutes with rounding, so signs are
            # collected and applied once: the same bits as multiplying by -1.
            negative = not negative
            factor = factor[1:] or None
        if factor is not None:
            factors.append({"d": f"d{i}", "k": f"k{i}"}.get(factor, factor))
    product = " * ".join(reversed(factors)) if factors else "1.0"
    if negative:
        product = f"-({product})"
    return "\n".join(body), product, "".join(params)


def plan(order: Sequence[Callable[..., Any]], eager: bool = False) -> FusedChain | None:
    """The fused form of stages in application order, or None if one is not fusible."""
    if not order:
        return None
    lines = []
    kernels = []
    for stage in order:
        stage_lines = _stage_lines(stage)
        kernel = kernel_for(stage)
        if stage_lines is None or kernel is None:
            return None
        lines.append(stage_lines)
        kernels.append(kernel)
    return FusedChain(lines, tuple(kernels), eager)


# Each named primitive on its own, compiled once at import (never changed after):
# ``gradient(sigmoid, x)`` at a float takes the same straight-line path as a chain.
PRIMITIVES: dict[Callable[..., Any], FusedChain] = {
    rule: chain for rule in _TEMPLATES if (chain := plan((rule,), eager=True)) is not None
}
