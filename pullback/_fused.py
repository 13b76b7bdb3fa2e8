"""The fused form of a chain of the library's elementwise primitives, at a float.

Why: a stage that returns a closure costs a call, a closure and a tuple; for a
4-stage chain that is ~16x a plain-Python forward pass, and a loop over
(forward, derivative) pairs is still ~6x. Straight-line code is ~1.25x. So a
chain made only of the library's elementwise primitives is written out once,
from the templates below (the library's own text; user strings and user
rules never enter it), compiled, and cached on the composition. It returns the
value and the product of the local derivatives, multiplied in the order the
backward pass would (last stage first), so with seed 1.0 it gives the same
bits as the stage-by-stage pullbacks. A chain longer than one chunk keeps that
order across chunks too: each chunk but the last hands back its derivatives,
and they are multiplied into one running product, last chunk first (a
product per chunk, multiplied afterwards, rounds differently and can overflow
where the running product does not).

The templates use the ``math`` module directly, which raises where IEEE 754
returns a special value (overflow, ``log(0)``, ``1/0``); the composition then
falls back to the stage-by-stage path, whose rules are IEEE-exact. Each
template is the same arithmetic, in the same order, as its rule in
``_rules`` (the tests compare the two bit for bit).
"""

from __future__ import annotations

import types
import weakref
from collections.abc import Callable, Sequence
from typing import Any

from ._fused_arrays import ArrayKernel, kernel_for, run
from ._rules import elementwise as ew
from ._rules.derived import entry_of
from ._rules.factories import AddConst, Power, Scale
from ._table.scalar import MATH
from ._types import Array

__all__ = ["PRIMITIVES", "FusedChain", "fusible", "plan"]

# One chunk of straight-line code per this many stages: long enough that the
# loop over chunks costs nothing per stage (each chunk but the last hands back
# a tuple of its derivatives and runs a backward function: ~0.4 us a chunk),
# short enough to compile quickly (compiling is linear in the lines anyway).
CHUNK = 128

_NAMESPACE: dict[str, Any] = MATH

# A stage of a library rule is its entry's float code (see _table.scalar): ``x``
# is the running value, ``{d}`` the local derivative of this stage (a fresh
# name per stage); a derivative taken from the input is computed before ``x``
# is overwritten. The same lines are the rule's own float path, so a chain and
# its stages give the same bits.


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
    entry = entry_of(stage)
    template = entry.float_code if entry is not None else None
    return (template, "d", None) if template is not None else None


class FusedChain:
    """Straight-line code for a chain of elementwise primitives, at a float.

    ``value_and_gradient(x) -> (y, dy/dx)`` and ``gradient(x) -> dy/dx`` are
    each compiled on their first call (then replace themselves: Python's
    ``compile`` costs a few microseconds a line, so only what is used is
    compiled), and raise ``ArithmeticError`` or ``ValueError`` where a special
    value occurs. The stages themselves are planned on first use too, from
    ``stages()``, so building a composition costs nothing per stage.

    Nothing here refers back to the chain itself (the placeholders that compile
    on first use hold a weak reference), so a dropped chain is freed at once,
    without waiting for the cycle collector.
    """

    __slots__ = ("__weakref__", "_kernels", "_lines", "_stages", "gradient", "value_and_gradient")
    gradient: Callable[[float], float]
    value_and_gradient: Callable[[float], tuple[float, float]]

    def __init__(self, stages: Callable[[], Sequence[Callable[..., Any]]], eager: bool = False):
        self._stages = stages
        self._lines: list[StageCode] | None = None
        self._kernels: tuple[ArrayKernel, ...] | None = None
        me = weakref.ref(self)
        self.gradient = _CompileOnFirstCall(me, gradient_only=True)
        self.value_and_gradient = _CompileOnFirstCall(me, gradient_only=False)
        if eager:
            self.gradient = self.compile(gradient_only=True)
            self.value_and_gradient = self.compile(gradient_only=False)

    def _plan(self) -> tuple[list[StageCode], tuple[ArrayKernel, ...]]:
        # Benign race: two threads may plan at once; either result is right.
        lines: list[StageCode] = []
        kernels: list[ArrayKernel] = []
        for stage in self._stages():
            stage_lines = _stage_lines(stage)
            kernel = kernel_for(stage)
            if stage_lines is None or kernel is None:  # pragma: no cover - checked by fusible
                raise TypeError(f"{stage!r} is not one of the library's elementwise primitives")
            lines.append(stage_lines)
            kernels.append(kernel)
        self._lines = lines
        self._kernels = tuple(kernels)
        return lines, self._kernels

    def array_value_and_gradient(self, x: Array) -> tuple[Array, Array]:
        """The value and the elementwise derivative at a float64 array (new arrays)."""
        kernels = self._kernels if self._kernels is not None else self._plan()[1]
        if x.ndim == 0:  # NumPy turns 0-d results into scalars; the kernels write into arrays
            y, g = run(kernels, x.reshape(1), True)
            return y.reshape(()), g.reshape(())
        return run(kernels, x, True)

    def array_gradient(self, x: Array) -> Array:
        """The elementwise derivative at a float64 array (a new array)."""
        kernels = self._kernels if self._kernels is not None else self._plan()[1]
        if x.ndim == 0:
            return run(kernels, x.reshape(1), False)[1].reshape(())
        return run(kernels, x, False)[1]

    def compile(self, gradient_only: bool) -> Any:
        """The compiled float code: ``x -> dy/dx``, or ``x -> (y, dy/dx)``."""
        lines = self._lines if self._lines is not None else self._plan()[0]
        size = _chunk_size(lines)
        last = lines[len(lines) - 1 - (len(lines) - 1) % size :]
        final = _chunks(last, size, "chunk_gradient" if gradient_only else "chunk")[0]
        if len(lines) <= size:
            return final
        head = lines[: len(lines) - len(last)]
        return _Chunked(
            _chunks(head, size, "chunk_forward"),
            _chunks(head, size, "chunk_backward"),
            final,
            gradient_only,
        )


class _CompileOnFirstCall:
    """A fused chain's placeholder: compiles the code, puts it in its place, runs it."""

    __slots__ = ("chain", "gradient_only")

    def __init__(self, chain: weakref.ref[FusedChain], gradient_only: bool) -> None:
        self.chain = chain
        self.gradient_only = gradient_only

    def __call__(self, x: float) -> Any:
        chain = self.chain()
        assert chain is not None  # it is the chain's own attribute that is being called
        # Benign race: two threads may compile at once; either result is right.
        compiled = chain.compile(self.gradient_only)
        if self.gradient_only:
            chain.gradient = compiled
        else:
            chain.value_and_gradient = compiled
        return compiled(x)


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
            namespace = dict(_NAMESPACE)
            exec(
                compile(_chunk_source(chunk, variant), "<pullback fused chain>", "exec"), namespace
            )
            # Taken out of its namespace, so the function and its globals are no cycle.
            compiled[key] = namespace.pop(variant)
        # The backward code needs only the constants that are factors (scale's).
        backward = variant == "chunk_backward"
        constants = tuple(
            constant
            for _, factor, constant in chunk
            if constant is not None and (factor == "k" or not backward)
        )
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
    """A long chain: compiled chunks forward, then their derivatives multiplied backward.

    The product must be taken exactly as the stage-by-stage pullbacks take it,
    one local derivative at a time from the last stage (floating-point
    multiplication is not associative: multiplying per-chunk products instead
    can overflow where the running product does not, and differs in the last
    bits elsewhere). So each chunk but the last returns its local derivatives,
    and its backward code multiplies them into the running product, last
    chunk first; the last chunk starts the product itself.
    """

    __slots__ = ("backwards", "final", "forwards", "gradient_only")

    def __init__(
        self,
        forwards: tuple[Callable[[float], tuple[float, ...]], ...],
        backwards: tuple[Callable[[float, tuple[float, ...]], float], ...],
        final: Callable[[float], Any],
        gradient_only: bool,
    ) -> None:
        self.forwards = forwards
        self.backwards = backwards
        self.final = final
        self.gradient_only = gradient_only

    def __call__(self, x: float) -> Any:
        saved: list[tuple[float, ...]] = []
        push = saved.append
        for forward in self.forwards:
            ds = forward(x)  # (y, d0, d1, ...): one tuple, kept for the backward code
            x = ds[0]
            push(ds)
        if self.gradient_only:
            g = self.final(x)
        else:
            x, g = self.final(x)
        backwards = self.backwards
        i = len(saved)
        while i:
            i -= 1
            g = backwards[i](g, saved[i])
        return g if self.gradient_only else (x, g)

    @property
    def chunks(self) -> tuple[Callable[..., Any], ...]:
        """The forward code of every chunk, first to last."""
        return (*self.forwards, self.final)


def _chunk_source(stages: list[StageCode], variant: str) -> str:
    """The source of one chunk's function; ``variant`` says what it computes.

    ``chunk(x) -> (y, product)`` and ``chunk_gradient(x) -> product`` run the
    stages and multiply their local derivatives, last first (the product a
    seed of 1.0 gets from the pullbacks: ``1.0 * d`` is ``d``).
    ``chunk_forward(x) -> (y, d0, d1, ...)`` only runs the stages, and
    ``chunk_backward(g, (y, d0, d1, ...)) -> g * ... * d1 * d0`` multiplies
    them into the running product ``g``, left to right, as the pullbacks would.
    """
    body = []
    factors = []
    saved = []
    params = []
    negative = False
    for i, (lines, factor, constant) in enumerate(stages):
        for line in lines:
            body.append("    " + line.format(d=f"d{i}", k=f"k{i}"))
        if constant is not None and (factor == "k" or variant != "chunk_backward"):
            params.append(f", k{i}=0.0")
        if factor is not None and factor.startswith("-"):
            # Negation is exact and commutes with rounding, so signs are
            # collected and applied once: the same bits as multiplying by -1.
            negative = not negative
            factor = factor[1:] or None
        if factor == "d":
            saved.append(f"d{i}")
        if factor is not None:
            factors.append({"d": f"d{i}", "k": f"k{i}"}.get(factor, factor))
    factors.reverse()
    sign = "-" if negative else ""
    constants = "".join(params)
    if variant == "chunk_backward":
        unpack = f"    _, {', '.join(saved)} = ds\n" if saved else ""
        product = " * ".join(["g", *factors])
        return f"def {variant}(g, ds{constants}):\n{unpack}    return {sign}({product})\n"
    code = "\n".join(body)
    if variant == "chunk_forward":
        returned = ", ".join(["x", *saved]) + ("," if not saved else "")
    else:
        product = f"{sign}({' * '.join(factors) or '1.0'})"
        returned = product if variant == "chunk_gradient" else f"x, {product}"
    return f"def {variant}(x{constants}):\n{code}\n    return {returned}\n"


def fusible(stage: object) -> bool:
    """Whether ``stage`` is one of the library's elementwise primitives (it has fused code)."""
    kind = type(stage)
    if kind is Scale or kind is AddConst or kind is Power:
        return True
    entry = entry_of(stage)
    return entry is not None and entry.float_code is not None and entry.array_kernel is not None


def plan(order: Sequence[Callable[..., Any]], eager: bool = False) -> FusedChain | None:
    """The fused form of stages in application order, or None if one is not fusible."""
    if not order or not all(fusible(stage) for stage in order):
        return None
    stages = tuple(order)
    return FusedChain(lambda: stages, eager)


# Each named primitive on its own, compiled once at import (never changed after):
# ``gradient(sigmoid, x)`` at a float takes the same straight-line path as a chain.
PRIMITIVES: dict[Callable[..., Any], FusedChain] = {
    rule: chain for rule in ew.RULES if (chain := plan((rule,), eager=True)) is not None
}
