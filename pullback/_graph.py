"""Tracing: ordinary Python code on traced values records an immutable graph.

A traced value carries its concrete value, the node that made it, and the
trace it belongs to. There is no tape and no global: the graph is the nodes
linked through their parents, and the only thing shared between the forward
and the backward pass is the pullback closure that ``trace`` returns.

Nesting (``gradient`` of a function that calls ``gradient``) gives each trace a
depth, one more than the deepest traced value among its arguments. An
operation belongs to the deepest trace among its operands; to that trace, a
value of a shallower trace is a constant-like value, whose arithmetic is
recorded in its own trace. This is how HIPS autograd's boxes nest.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NoReturn

import numpy as np

__all__ = ["Primitive", "Trace", "Traced", "apply", "apply1", "apply2", "concrete"]


class Trace:
    """One call of a traced function: its nesting depth and the nodes it records.

    A node is ``(parents, vjp)``: the positions of the operands that are traced
    values of this trace (-1 for a constant), and the vector-Jacobian product,
    which maps the output's cotangent to the operands' (a tuple when there are
    several, one cotangent for one). The arguments are the first nodes, with no
    parents and no vjp. Nodes are appended as operations run, which is a
    topological order; when the call returns, the list is frozen into a tuple.
    """

    __slots__ = ("depth", "log", "nodes")

    def __init__(self, depth: int, log: list[tuple[str, Any, tuple[Any, ...]]] | None = None):
        self.depth = depth
        self.nodes: list[tuple[tuple[int, ...], Any]] = []
        # For a walkthrough only: each node's name, value and constant operands.
        self.log = log


class Primitive:
    """An operation that traced code can record.

    Args:
        name: how errors name it.
        rule: the concrete rule: ``rule(*values) -> (y, pullback)``.
        at_floats: optional ``at_floats(*floats) -> (y, partials)``: the value and
            the local partial derivatives (a float, or a tuple of floats), for
            operands that are all floats; it may raise ArithmeticError or
            ValueError at a special value, and then the rule is used.
        nested_vjp: ``nested_vjp(xs, y, dy) -> cotangents``, written with
            traceable operations, used when an operand is itself a traced value
            of an outer trace (nested differentiation); None if there is none.
        arity: the number of operands.
    """

    __slots__ = ("arity", "at_floats", "name", "nested_vjp", "rule")

    def __init__(
        self,
        name: str,
        rule: Callable[..., tuple[Any, Any]],
        nested_vjp: Callable[[tuple[Any, ...], Any, Any], tuple[Any, ...]] | None,
        arity: int,
        at_floats: Callable[..., tuple[float, Any]] | None = None,
    ) -> None:
        self.name = name
        self.rule = rule
        self.nested_vjp = nested_vjp
        self.arity = arity
        self.at_floats = at_floats

    def __repr__(self) -> str:
        return self.name


def concrete(x: Any) -> Any:
    """The float or array under any number of traced layers."""
    while type(x) is Traced:
        x = x.value
    return x


def apply(primitive: Primitive, *args: Any) -> Any:
    """Apply ``primitive`` to ``args``, recording it in the deepest trace among them."""
    trace: Trace | None = None
    for a in args:
        if type(a) is Traced and (trace is None or a.trace.depth > trace.depth):
            trace = a.trace
    if trace is None:
        return primitive.rule(*args)[0]  # no tracing here: a plain value
    values = []
    parents = []
    nested = False
    for a in args:
        if type(a) is Traced and a.trace is trace:
            value = a.value
            values.append(value)
            parents.append(a.position)
            if type(value) is Traced:
                nested = True
        else:
            if type(a) is Traced:
                if a.trace.depth == trace.depth:
                    raise ValueError(
                        f"{primitive.name}: the operands come from two different traced "
                        "calls; a traced value cannot leave the call that made it"
                    )
                nested = True
            values.append(a)
            parents.append(-1)
    if nested:
        vjp = primitive.nested_vjp
        if vjp is None:
            raise TypeError(
                f"{primitive.name}: nested differentiation needs a pullback written with "
                "traceable operations, and this lifted rule has none; write its function "
                "with pullback.ops (or trace it) instead of lifting it"
            )
        y = _nested_value(primitive, values)
        back: Any = _NestedVjp(vjp, tuple(values), y, primitive.arity == 1)
    else:
        at_floats = primitive.at_floats
        if (
            at_floats is not None
            and type(values[0]) is float
            and (len(values) == 1 or type(values[1]) is float)
        ):
            # The common case in traced scalar code: the node keeps the partial
            # derivatives as numbers instead of a pullback closure.
            try:
                y, back = at_floats(*values)
            except (ArithmeticError, ValueError):
                y, back = primitive.rule(*values)
        else:
            y, back = primitive.rule(*values)
    nodes = trace.nodes
    nodes.append((tuple(parents), back))
    if trace.log is not None:
        constants = tuple(None if p >= 0 else v for p, v in zip(parents, values, strict=True))
        trace.log.append((primitive.name, y, constants))
    return Traced(y, trace, len(nodes) - 1)


def apply1(primitive: Primitive, a: Any) -> Any:
    """:func:`apply` for one operand, with the common cases first."""
    if type(a) is not Traced:
        return primitive.rule(a)[0]
    value = a.value
    at_floats = primitive.at_floats
    if type(value) is float and at_floats is not None:
        try:
            y, back = at_floats(value)
        except (ArithmeticError, ValueError):
            y, back = primitive.rule(value)
    elif type(value) is Traced:
        return apply(primitive, a)  # nested: the general path
    else:
        y, back = primitive.rule(value)
    trace = a.trace
    nodes = trace.nodes
    nodes.append(((a.position,), back))
    if trace.log is not None:
        trace.log.append((primitive.name, y, (None,)))
    return Traced(y, trace, len(nodes) - 1)


def apply2(primitive: Primitive, a: Any, b: Any) -> Any:
    """:func:`apply` for two operands, with the common cases first."""
    if type(a) is Traced:
        trace = a.trace
        if type(b) is Traced:
            if b.trace is not trace:
                return apply(primitive, a, b)  # two traces: the general path decides
            va, vb, parents = a.value, b.value, (a.position, b.position)
        else:
            va, vb, parents = a.value, b, (a.position, -1)
    elif type(b) is Traced:
        trace = b.trace
        va, vb, parents = a, b.value, (-1, b.position)
    else:
        return primitive.rule(a, b)[0]
    at_floats = primitive.at_floats
    if type(va) is float and type(vb) is float and at_floats is not None:
        try:
            y, back = at_floats(va, vb)
        except (ArithmeticError, ValueError):
            y, back = primitive.rule(va, vb)
    elif type(va) is Traced or type(vb) is Traced:
        return apply(primitive, a, b)  # nested: the general path
    else:
        y, back = primitive.rule(va, vb)
    nodes = trace.nodes
    nodes.append((parents, back))
    if trace.log is not None:
        constants = (None if parents[0] >= 0 else va, None if parents[1] >= 0 else vb)
        trace.log.append((primitive.name, y, constants))
    return Traced(y, trace, len(nodes) - 1)


def _nested_value(primitive: Primitive, values: list[Any]) -> Any:
    # The value of an operation on outer traced values is itself recorded in
    # the outer trace: the same primitive, one level down.
    return apply(primitive, *values)


class _NestedVjp:
    """The vjp of an operation on outer traced values: traceable code, recorded again."""

    __slots__ = ("unary", "vjp", "xs", "y")

    def __init__(
        self, vjp: Callable[..., tuple[Any, ...]], xs: tuple[Any, ...], y: Any, unary: bool
    ) -> None:
        self.vjp = vjp
        self.xs = xs
        self.y = y
        self.unary = unary

    def __call__(self, dy: Any) -> Any:
        cotangents = self.vjp(self.xs, self.y, dy)
        return cotangents[0] if self.unary else cotangents


_TO_PLAIN = (
    "a traced value cannot become a plain number: {what} would drop its derivative. "
    "In traced code use pullback.ops (ops.exp, ops.log, ops.sin, ops.sigmoid, ...) "
    "instead of math or NumPy functions, and compare values with <, > for control flow"
)


class Traced:
    """A value inside traced code: its value, its trace, its node's position there.

    It supports ``+ - * / **``, unary minus, ``abs``, comparisons (on the
    concrete value, for control flow) and the functions of ``pullback.ops``.
    Turning it into a plain float (``float(x)``, ``math.exp(x)``) or a NumPy
    array raises a TypeError that says what to use instead.
    """

    __slots__ = ("position", "trace", "value")

    def __init__(self, value: Any, trace: Trace, position: int) -> None:
        self.value = value
        self.trace = trace
        self.position = position

    def __pullback_concrete__(self) -> Any:
        return concrete(self)

    def __repr__(self) -> str:
        return f"Traced({concrete(self)!r})"

    @property
    def shape(self) -> tuple[int, ...]:
        return np.shape(concrete(self))

    @property
    def ndim(self) -> int:
        return int(np.ndim(concrete(self)))

    def __len__(self) -> int:
        return len(concrete(self))

    def __getitem__(self, key: Any) -> Any:
        return _ops.index(self, key)

    # Arithmetic is recorded; see _traced_ops for the primitives.
    def __add__(self, other: Any) -> Any:
        if type(other) is Traced or type(other) is float:
            return apply2(_ops.ADD, self, other)
        return _binary(_ops.ADD, self, other)

    def __radd__(self, other: Any) -> Any:
        if type(other) is float:
            return apply2(_ops.ADD, other, self)
        return _binary(_ops.ADD, other, self)

    def __sub__(self, other: Any) -> Any:
        if type(other) is Traced or type(other) is float:
            return apply2(_ops.SUB, self, other)
        return _binary(_ops.SUB, self, other)

    def __rsub__(self, other: Any) -> Any:
        if type(other) is float:
            return apply2(_ops.SUB, other, self)
        return _binary(_ops.SUB, other, self)

    def __mul__(self, other: Any) -> Any:
        if type(other) is Traced or type(other) is float:
            return apply2(_ops.MUL, self, other)
        return _binary(_ops.MUL, self, other)

    def __rmul__(self, other: Any) -> Any:
        if type(other) is float:
            return apply2(_ops.MUL, other, self)
        return _binary(_ops.MUL, other, self)

    def __truediv__(self, other: Any) -> Any:
        if type(other) is Traced or type(other) is float:
            return apply2(_ops.DIV, self, other)
        return _binary(_ops.DIV, self, other)

    def __rtruediv__(self, other: Any) -> Any:
        if type(other) is float:
            return apply2(_ops.DIV, other, self)
        return _binary(_ops.DIV, other, self)

    def __pow__(self, exponent: Any) -> Any:
        return _ops.power_of(self, exponent)

    def __rpow__(self, base: Any) -> Any:
        return _ops.exponential_of(base, self)

    def __neg__(self) -> Any:
        return apply1(_ops.NEG, self)

    def __pos__(self) -> Any:
        return self

    def __abs__(self) -> Any:
        return apply1(_ops.ABS, self)

    # Comparisons look at the concrete value: the gradient is of the branch taken.
    def __lt__(self, other: Any) -> Any:
        return concrete(self) < concrete(other)

    def __le__(self, other: Any) -> Any:
        return concrete(self) <= concrete(other)

    def __gt__(self, other: Any) -> Any:
        return concrete(self) > concrete(other)

    def __ge__(self, other: Any) -> Any:
        return concrete(self) >= concrete(other)

    def __eq__(self, other: object) -> Any:
        return concrete(self) == concrete(other)

    def __ne__(self, other: object) -> Any:
        return concrete(self) != concrete(other)

    __hash__ = object.__hash__

    def __bool__(self) -> bool:
        return bool(concrete(self))

    def __float__(self) -> NoReturn:
        raise TypeError(_TO_PLAIN.format(what="float(x) or math.exp(x)"))

    def __int__(self) -> NoReturn:
        raise TypeError(_TO_PLAIN.format(what="int(x)"))

    def __index__(self) -> NoReturn:
        raise TypeError(_TO_PLAIN.format(what="using it as an index"))

    def __complex__(self) -> NoReturn:
        raise TypeError(_TO_PLAIN.format(what="complex(x)"))

    def __array_ufunc__(self, ufunc: Any, method: str, *inputs: Any, **kwargs: Any) -> Any:
        # ``array + traced`` reaches here through NumPy: arithmetic is recorded;
        # any other NumPy function would silently drop the derivative.
        primitive = _ops.UFUNCS.get(ufunc) if method == "__call__" and not kwargs else None
        if primitive is None:
            raise TypeError(_TO_PLAIN.format(what=f"np.{ufunc.__name__}(x)"))
        return apply(primitive, *inputs)

    def __array__(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise TypeError(_TO_PLAIN.format(what="np.exp(x), np.asarray(x) or another NumPy call"))


def _binary(primitive: Primitive, a: Any, b: Any) -> Any:
    for operand in (a, b):
        if type(operand) is not Traced and not _is_value(operand):
            return NotImplemented
    return apply(primitive, a, b)


def _is_value(x: Any) -> bool:
    kind = type(x)
    if kind is float or kind is int or kind is np.ndarray:
        return True
    if isinstance(x, (bool, np.bool_)):
        return False
    return isinstance(x, (float, int, np.floating, np.integer))


from . import _traced_ops as _ops  # noqa: E402  (its primitives use the classes above)
