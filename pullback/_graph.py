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

from typing import Any, NoReturn

import numpy as np

from . import _traced_ops as _ops
from ._ieee import quiet
from ._table.entry import Primitive
from ._tracing import dispatch
from ._tracing.methods import ArrayMethods

__all__ = ["Primitive", "Trace", "Traced", "Vjp", "apply", "apply1", "apply2", "concrete"]


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
        self.nodes: Any = []
        # For a walkthrough only: each node's name, value and constant operands.
        self.log = log

    def finish(self) -> tuple[tuple[tuple[int, ...], Any], ...]:
        """Freeze the nodes when the call returns; a later operation on its values is refused."""
        nodes = tuple(self.nodes)
        self.nodes = _FINISHED
        return nodes

    @property
    def finished(self) -> bool:
        """Whether the call that owns this trace has returned."""
        return self.nodes is _FINISHED


class _Finished:
    """The nodes of a call that has returned: appending is the error of a leaked value."""

    __slots__ = ()

    def append(self, node: object) -> None:
        raise ValueError(
            "a traced value was used after the traced call that made it had returned; a "
            "traced value cannot outlive its call (pass the value in as an argument instead)"
        )

    def __len__(self) -> int:
        return 0


_FINISHED = _Finished()


def concrete(x: Any) -> Any:
    """The float or array under any number of traced layers."""
    while type(x) is Traced:
        x = x.value
    return x


def apply(primitive: Primitive, *args: Any, **params: Any) -> Any:
    """Apply ``primitive`` to ``args``, recording it in the deepest trace among them.

    ``params`` are the primitive's static parameters (an axis, a shape, an
    index), passed to its forward computation and to its vjps, never differentiated.
    """
    trace: Trace | None = None
    for a in args:
        if type(a) is Traced and (trace is None or a.owner.depth > trace.depth):
            trace = a.owner
    if trace is None:  # a plain value, or a value whose type stages it (the table's hook)
        return primitive(*args, **params)
    values = []
    parents = []
    nested = False
    for a in args:
        if type(a) is Traced and a.owner is trace:
            value = a.value
            values.append(value)
            parents.append(a.position)
            if type(value) is Traced:
                nested = True
        else:
            if type(a) is Traced:
                if a.owner.depth == trace.depth:
                    raise ValueError(
                        f"{primitive.name}: the operands come from two different traced "
                        "calls; a traced value cannot leave the call that made it"
                    )
                nested = True
            values.append(a)
            parents.append(-1)
    if nested:
        if primitive.vjps is None:
            raise TypeError(
                f"{primitive.name}: nested differentiation needs a pullback written with "
                "traceable operations, and this lifted rule has none; write its function "
                "with NumPy or pullback.ops (or trace it) instead of lifting it"
            )
        # The value of an operation on outer traced values is itself recorded in
        # the outer trace: the same primitive, one level down.
        y = apply(primitive, *values, **params)
        back: Any = Vjp(primitive, y, tuple(values), params, tuple(parents))
    else:
        at_floats = primitive.at_floats
        if at_floats is not None and not params and all(type(v) is float for v in values):
            # The common case in traced scalar code: the node keeps the partial
            # derivatives as numbers instead of a pullback closure.
            try:
                y, back = at_floats(*values)
            except (ArithmeticError, ValueError):
                y, back = _forward(primitive, values, params, parents)
        else:
            y, back = _forward(primitive, values, params, parents)
    return _record(trace, primitive, y, back, parents, values)


def _forward(
    primitive: Primitive,
    values: list[Any],
    params: dict[str, Any],
    parents: list[int] | tuple[int, ...],
) -> tuple[Any, Any]:
    """The value and the node's vjp, at concrete values."""
    rule = primitive.rule
    if rule is not None:  # a user's rule: its own pullback
        return rule(*values)
    with quiet():
        y = primitive.forward(*values, **params)
    if type(y) is not float:
        y = _as_traced_value(y, primitive, values)
    return y, Vjp(primitive, y, tuple(values), params, tuple(parents))


def _as_traced_value(y: Any, primitive: Primitive, values: list[Any]) -> Any:
    # A traced value is a float or a float64 array. NumPy makes scalars of 0-d
    # results: they become floats (float in, float out), or 0-d arrays again
    # where an operand was a 0-d array (a 0-d array is an array, on every path).
    if (type(y) is np.ndarray and y.ndim == 0) or isinstance(y, (np.floating, np.integer)):
        if any(type(v) is np.ndarray and v.ndim == 0 for v in values):
            return np.array(y, dtype=np.float64)
        return float(y)
    if type(y) is np.ndarray:
        if y.dtype != np.float64:
            if y.dtype.kind not in "iufb":
                raise TypeError(f"{primitive.name}: gave an array of dtype {y.dtype}")
            return y.astype(np.float64)
        return y
    if isinstance(y, (float, int, np.floating, np.integer)):
        return float(y)
    raise TypeError(f"{primitive.name}: gave {type(y).__name__}, not a value")


def _record(
    trace: Trace,
    primitive: Primitive,
    y: Any,
    back: Any,
    parents: list[int] | tuple[int, ...],
    values: list[Any] | tuple[Any, ...],
) -> Traced:
    nodes = trace.nodes
    nodes.append((tuple(parents), back))
    if trace.log is not None:
        constants = tuple(None if p >= 0 else v for p, v in zip(parents, values, strict=True))
        trace.log.append((primitive.name, y, constants))
    return Traced(y, trace, len(nodes) - 1)


def apply1(primitive: Primitive, a: Any) -> Any:
    """:func:`apply` for one operand, with the common cases first."""
    if type(a) is not Traced:
        return apply(primitive, a)
    value = a.value
    at_floats = primitive.at_floats
    if type(value) is float and at_floats is not None:
        try:
            y, back = at_floats(value)
        except (ArithmeticError, ValueError):
            y, back = _forward(primitive, [value], {}, (a.position,))
    elif type(value) is Traced:
        return apply(primitive, a)  # nested: the general path
    else:
        y, back = _forward(primitive, [value], {}, (a.position,))
    trace = a.owner
    nodes = trace.nodes
    nodes.append(((a.position,), back))
    if trace.log is not None:
        trace.log.append((primitive.name, y, (None,)))
    return Traced(y, trace, len(nodes) - 1)


def apply2(primitive: Primitive, a: Any, b: Any) -> Any:
    """:func:`apply` for two operands, with the common cases first."""
    if type(a) is Traced:
        trace = a.owner
        if type(b) is Traced:
            if b.owner is not trace:
                return apply(primitive, a, b)  # two traces: the general path decides
            va, vb, parents = a.value, b.value, (a.position, b.position)
        else:
            va, vb, parents = a.value, b, (a.position, -1)
    elif type(b) is Traced:
        trace = b.owner
        va, vb, parents = a, b.value, (-1, b.position)
    else:
        return apply(primitive, a, b)
    at_floats = primitive.at_floats
    if type(va) is float and type(vb) is float and at_floats is not None:
        try:
            y, back = at_floats(va, vb)
        except (ArithmeticError, ValueError):
            y, back = _forward(primitive, [va, vb], {}, parents)
    elif type(va) is Traced or type(vb) is Traced:
        return apply(primitive, a, b)  # nested: the general path
    else:
        y, back = _forward(primitive, [va, vb], {}, parents)
    nodes = trace.nodes
    nodes.append((parents, back))
    if trace.log is not None:
        constants = (None if parents[0] >= 0 else va, None if parents[1] >= 0 else vb)
        trace.log.append((primitive.name, y, constants))
    return Traced(y, trace, len(nodes) - 1)


class Vjp:
    """The vector-Jacobian product of one recorded operation: its entry's vjps, bound.

    At first order the operands are concrete and the vjps run NumPy; when they
    are traced values of an outer trace (nested differentiation), the same
    vjps record themselves there, so they can be differentiated again.
    """

    __slots__ = ("params", "parents", "primitive", "xs", "y")

    def __init__(
        self,
        primitive: Primitive,
        y: Any,
        xs: tuple[Any, ...],
        params: dict[str, Any],
        parents: tuple[int, ...],
    ) -> None:
        self.primitive = primitive
        self.y = y
        # Python floats raise at 1/0 and overflow where IEEE 754 gives inf:
        # the vjps see NumPy float64 scalars, whose arithmetic is IEEE's.
        self.xs = tuple(np.float64(x) if type(x) is float else x for x in xs)
        self.params = params
        self.parents = parents

    def __call__(self, g: Any) -> Any:
        primitive = self.primitive
        vjps = primitive.vjps
        assert vjps is not None
        y = np.float64(self.y) if type(self.y) is float else self.y
        if type(g) is float:
            g = np.float64(g)
        xs, params = self.xs, self.params
        with quiet():
            if primitive.arity < 0:
                vjp = vjps[0]
                assert vjp is not None
                out = tuple(
                    _cotangent(vjp(i, g, y, *xs, **params)) if p >= 0 else None
                    for i, p in enumerate(self.parents)
                )
            else:
                out = tuple(
                    _cotangent(vjp(g, y, *xs, **params)) if p >= 0 and vjp is not None else None
                    for vjp, p in zip(vjps, self.parents, strict=True)
                )
        return out[0] if len(out) == 1 else out


def _cotangent(g: Any) -> Any:
    kind = type(g)
    if kind is float or (kind is np.ndarray and g.ndim):
        return g
    if kind is Traced:
        return g
    return float(g)


_TO_PLAIN = (
    "a traced value cannot become a plain number: {what} would drop its derivative. "
    "In traced code use NumPy's functions (np.exp, np.log, ...) or pullback.ops on the "
    "traced value itself, and compare values with <, > for control flow"
)

_TO_ARRAY = (
    "a traced value cannot become a plain NumPy array (np.asarray(x), np.array(x), or "
    "np.array([a, b]) of traced pieces): its derivative would be lost. Build arrays of traced "
    "values with np.stack([a, b]) (or np.concatenate), and call NumPy's functions on the "
    "traced value itself"
)

_IN_PLACE = (
    "x {op}= y on a traced array: traced arrays cannot be changed in place (another name "
    "may share the array); write x = x {op} y, which makes a new value"
)


class Traced(ArrayMethods):
    """A value inside traced code: its value, its trace, its node's position there.

    It answers NumPy's protocols (``np.exp(x)``, ``np.sum(x, axis=0)``, ``x @ w``),
    the ndarray methods and attributes (``x.T``, ``x.sum()``, ``x.shape``), Python's
    operators, and comparisons (on the concrete value, for control flow: the
    gradient is that of the branch taken). Turning it into a plain float
    (``float(x)``, ``math.exp(x)``) or a plain array raises a TypeError that says
    what to write instead.
    """

    __slots__ = ("owner", "position", "value")

    def __init__(self, value: Any, trace: Trace, position: int) -> None:
        self.value = value
        self.owner = trace
        self.position = position

    def __pullback_concrete__(self) -> Any:
        return concrete(self)

    @staticmethod
    def __pullback_differentiate__(rule: Any) -> Any:
        # gradient(exp, x) on a traced x: the rule, lifted and traced (nested in
        # the running trace). The tracing module imports this one, so it is
        # reached at call time.
        from ._trace import traceable

        return traceable(rule)

    @staticmethod
    def __pullback_apply__(
        primitive: Primitive, args: tuple[Any, ...], params: dict[str, Any]
    ) -> Any:
        return apply(primitive, *args, **params)

    def __repr__(self) -> str:
        return f"Traced({concrete(self)!r})"

    def __format__(self, spec: str) -> str:
        # Showing a value (a loss printed inside a traced step) drops nothing.
        return format(concrete(self), spec)

    def __round__(self, ndigits: int | None = None) -> Any:
        return round(concrete(self), ndigits)  # a constant, like floor: no derivative

    def __len__(self) -> int:
        return len(concrete(self))

    def __iter__(self) -> Any:
        for i in range(len(self)):
            yield self[i]

    def __getitem__(self, key: Any) -> Any:
        return _ops.index(self, key)

    # NumPy's protocols: each ufunc and function to its entry in the table.
    def __array_ufunc__(self, ufunc: Any, method: str, *inputs: Any, **kwargs: Any) -> Any:
        return dispatch.array_ufunc(ufunc, method, inputs, kwargs)

    def __array_function__(self, func: Any, types: Any, args: Any, kwargs: Any) -> Any:
        return dispatch.array_function(func, args, kwargs)

    def __array__(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise TypeError(_TO_ARRAY)

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

    def __matmul__(self, other: Any) -> Any:
        return _binary(_ops.MATMUL, self, other)

    def __rmatmul__(self, other: Any) -> Any:
        return _binary(_ops.MATMUL, other, self)

    def __mod__(self, other: Any) -> Any:
        return _binary(_ops.REMAINDER, self, other)

    def __rmod__(self, other: Any) -> Any:
        return _binary(_ops.REMAINDER, other, self)

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

    # In place: a traced float is immutable like any float (the name is rebound);
    # a traced array is refused, since NumPy would change every view of it.
    def __iadd__(self, other: Any) -> Any:
        return self._in_place("+", self.__add__, other)

    def __isub__(self, other: Any) -> Any:
        return self._in_place("-", self.__sub__, other)

    def __imul__(self, other: Any) -> Any:
        return self._in_place("*", self.__mul__, other)

    def __itruediv__(self, other: Any) -> Any:
        return self._in_place("/", self.__truediv__, other)

    def _in_place(self, op: str, method: Any, other: Any) -> Any:
        if type(concrete(self)) is not float:
            raise TypeError(_IN_PLACE.format(op=op))
        return method(other)

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


def _binary(primitive: Primitive, a: Any, b: Any) -> Any:
    for operand in (a, b):
        if type(operand) is not Traced and not _is_constant(operand):
            return NotImplemented
    return apply(primitive, a, b)


def _is_constant(x: Any) -> bool:
    """A plain operand of traced arithmetic: a number, or a real or boolean array (a mask)."""
    kind = type(x)
    if kind is float or kind is int:
        return True
    if kind is np.ndarray:
        return bool(x.dtype.kind in "iufb")
    return isinstance(x, (float, int, np.floating, np.integer, np.bool_))
