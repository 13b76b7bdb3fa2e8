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

from . import _traced_ops as _ops
from ._ieee import restore, silence
from ._table import UFUNCS as _UFUNC_ENTRIES
from ._table.entry import Primitive
from ._tracing import dispatch
from ._tracing.methods import ArrayMethods

__all__ = ["Primitive", "Trace", "Traced", "Vjp", "apply", "apply1", "apply2", "concrete"]


class Trace:
    """One call of a traced function: its nesting depth and the nodes it records.

    A node is an entry of two lists, ``parents`` and ``backs``, at the node's
    position. The arguments are the first nodes, with no parents and no back.
    Nodes are appended as operations run, which is a topological order; when
    the call returns, the lists pass to its pullback and are never changed again.
    An operation's node is one of three forms (what the backward pass reads):

    - one traced operand at floats: its position (an int) and the local
      partial derivative (a float) — the common case, a constant operand
      (``x * 0.5``) included;
    - two traced operands at floats: their positions and partials (two pairs);
    - anything else: the operands' positions (a tuple, -1 for a constant) and
      the vector-Jacobian product (a callable: one cotangent for one operand, a
      tuple for several).

    The two float forms hold only numbers, so the cyclic garbage collector has
    nothing to walk in a long graph. Walkthroughs (``log`` set) keep every node
    in the third form, with all its operands, so that constants show.
    """

    __slots__ = ("backs", "depth", "log", "parents")

    def __init__(
        self, depth: int, arguments: int, log: list[tuple[str, Any, tuple[Any, ...]]] | None = None
    ):
        self.depth = depth
        self.parents: Any = [()] * arguments
        self.backs: Any = [None] * arguments
        # For a walkthrough only: each node's name, value and constant operands.
        self.log = log

    def finish(self) -> tuple[list[Any], list[Any]]:
        """Hand over the nodes when the call returns; a later operation on its values is refused."""
        nodes = self.parents, self.backs
        self.parents = self.backs = _FINISHED
        return nodes

    @property
    def finished(self) -> bool:
        """Whether the call that owns this trace has returned."""
        return self.parents is _FINISHED


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

# Traced values and traces are made as ``_new(Traced)`` and three slot stores, not
# ``Traced(y, trace, i)``: a class call runs ``__init__`` through the type's slot
# (a frame the interpreter cannot inline), about twice the time of the stores alone,
# and one is made for every traced operation.
_new = object.__new__


class _Partials:
    """A node's partials at floats as its vjp (``g`` times each), for the third node form.

    The form of a node of three or more operands, and of every node in a walkthrough.
    """

    __slots__ = ("partials",)

    def __init__(self, partials: Any) -> None:
        self.partials = partials  # a float for one operand, a tuple for several

    def __call__(self, g: Any) -> Any:
        partials = self.partials
        if type(partials) is tuple:
            return tuple(g * d for d in partials)
        return g * partials


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
    positions = []
    nested = False
    for a in args:
        if type(a) is Traced and a.owner is trace:
            value = a.value
            values.append(value)
            positions.append(a.position)
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
            positions.append(-1)
    parents = tuple(positions)
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
        back: Any = Vjp(primitive, y, tuple(values), params, parents)
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
    parents: tuple[int, ...],
) -> tuple[Any, Any]:
    """The value and the node's vjp, at concrete values."""
    rule = primitive.rule
    if rule is not None:  # a user's rule: its own pullback
        return rule(*values)
    residuals = primitive.residuals
    token = silence()  # quiet(), without a context manager (see _ieee.silence)
    try:
        if residuals is None:
            y, res = primitive.forward(*values, **params), None
        else:  # the forward keeps what the vjps read (see Primitive)
            y, res = residuals(*values, **params)
    finally:
        restore(token)
    if type(y) is not float and not (type(y) is np.ndarray and y.ndim and y.dtype is _FLOAT64):
        y = _as_traced_value(y, primitive, values)
    return y, Vjp(primitive, y, tuple(values), params, parents, res)


_FLOAT64 = np.dtype(np.float64)  # a traced array's dtype (another object of it: checked above)


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
    parents: tuple[int, ...],
    values: list[Any] | tuple[Any, ...],
) -> Traced:
    """Append the node of one operation in the form the backward pass reads (see Trace)."""
    node: Any = parents
    log = trace.log
    if log is None:
        kind = type(back)
        if kind is float or kind is tuple:
            operands = [i for i, p in enumerate(parents) if p >= 0]
            partials: Any = back if kind is tuple else (back,)
            if len(operands) == 1 and type(partials[operands[0]]) is float:
                node, back = parents[operands[0]], partials[operands[0]]  # one operand
            elif not (
                len(parents) == 2 == len(operands)
                and type(partials[0]) is float
                and type(partials[1]) is float
            ):
                back = _Partials(back)  # several operands, or partials not floats
    elif type(back) is float or type(back) is tuple:
        back = _Partials(back)
    trace.parents.append(node)
    backs = trace.backs
    backs.append(back)
    if log is not None:
        constants = tuple(None if p >= 0 else v for p, v in zip(parents, values, strict=True))
        log.append((primitive.name, y, constants))
    out = _new(Traced)
    out.value, out.owner, out.position = y, trace, len(backs) - 1
    return out


def apply1(primitive: Primitive, a: Any) -> Any:
    """:func:`apply` for one operand, with the common cases first."""
    if type(a) is not Traced:
        return apply(primitive, a)
    value = a.value
    trace = a.owner
    at_floats = primitive.at_floats
    if type(value) is float and at_floats is not None:
        if trace.log is None:
            try:
                y, d = at_floats(value)
            except (ArithmeticError, ValueError):
                pass  # a special value: the entry's NumPy form gives the IEEE answer
            else:
                if type(d) is float:  # the node: the operand's position and the partial
                    trace.parents.append(a.position)
                    backs = trace.backs
                    backs.append(d)
                    out = _new(Traced)
                    out.value, out.owner, out.position = y, trace, len(backs) - 1
                    return out
    elif type(value) is not Traced:
        y, back = _forward(primitive, [value], {}, (a.position,))
        return _record(trace, primitive, y, back, (a.position,), (value,))
    return apply(primitive, a)


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
    return _record(trace, primitive, y, back, parents, (va, vb))


def _floor_divide(a: Any, b: Any) -> Any:
    """``a // b`` on the values under any traced layers: a float for floats, as Python's."""
    q = np.floor_divide(concrete(a), concrete(b))
    return float(q) if type(concrete(a)) is float and type(concrete(b)) is float else q


def _operator(entry: Primitive, reflected: bool) -> Callable[[Traced, Any], Any]:
    """``Traced.__mul__`` and the like (``__rmul__`` when reflected): floats first, inline.

    In traced scalar code every operator lands here, so the float case is
    written out in one frame: the entry's ``at_floats`` gives the value and the
    partials, and the node keeps the partial of each traced operand (one
    operand when the other is a constant, ``x * 0.5``). Everything else is
    :func:`apply2`, where the same entry decides.
    """
    at_floats = entry.at_floats
    assert at_floats is not None
    mine = 1 if reflected else 0  # which operand the traced value is

    def operator(self: Traced, other: Any) -> Any:
        kind = type(other)
        value = self.value
        trace = self.owner
        if type(value) is float and trace.log is None:
            if kind is float:
                try:
                    y, back = at_floats(other, value) if reflected else at_floats(value, other)
                except (ArithmeticError, ValueError):
                    pass  # a special value: the entry's NumPy form gives the IEEE answer
                else:
                    node: Any = None
                    if type(back) is tuple:
                        if type(back[mine]) is float:  # this operand's position and partial
                            node, back = self.position, back[mine]
                    elif type(back) is not float:  # the entry's pullback (division's)
                        node = (-1, self.position) if reflected else (self.position, -1)
                    if node is not None:
                        trace.parents.append(node)
                        backs = trace.backs
                        backs.append(back)
                        out = _new(Traced)
                        out.value, out.owner, out.position = y, trace, len(backs) - 1
                        return out
            elif kind is Traced and other.owner is trace and not reflected:
                vb = other.value
                if type(vb) is float:
                    try:
                        y, back = at_floats(value, vb)
                    except (ArithmeticError, ValueError):
                        pass
                    else:
                        if type(back) is not float:  # the two partials, or division's pullback
                            trace.parents.append((self.position, other.position))
                            backs = trace.backs
                            backs.append(back)
                            out = _new(Traced)
                            out.value, out.owner, out.position = y, trace, len(backs) - 1
                            return out
        if kind is float or (kind is Traced and not reflected):
            return apply2(entry, other, self) if reflected else apply2(entry, self, other)
        return _binary(entry, other, self) if reflected else _binary(entry, self, other)

    operator.__name__ = f"__r{entry.name}__" if reflected else f"__{entry.name}__"
    return operator


class Vjp:
    """The vector-Jacobian product of one recorded operation: its entry's vjps, bound.

    At first order the operands are concrete and the vjps run NumPy; when they
    are traced values of an outer trace (nested differentiation), the same
    vjps record themselves there, so they can be differentiated again.
    """

    __slots__ = ("args", "keywords", "params", "parents", "primitive", "res", "xs", "y")

    def __init__(
        self,
        primitive: Primitive,
        y: Any,
        xs: tuple[Any, ...],
        params: dict[str, Any],
        parents: tuple[int, ...],
        res: Any = None,
    ) -> None:
        self.primitive = primitive
        self.y = y
        # Python floats raise at 1/0 and overflow where IEEE 754 gives inf:
        # the vjps see NumPy float64 scalars, whose arithmetic is IEEE's.
        for x in xs:  # a loop, not map(): arrays are the common operands here
            if type(x) is float:
                xs = tuple(np.float64(x) if type(x) is float else x for x in xs)
                break
        self.xs = xs
        self.params = params
        self.parents = parents
        # What the entry's forward kept for its vjps (None: nothing; see Primitive),
        # passed as res= with the parameters (the batched vjps take none: self.params).
        self.res = res
        # The vjps' arguments after g, and their keywords (None: none to pass).
        self.args = (np.float64(y) if type(y) is float else y, *xs)
        self.keywords = (params or None) if res is None else {**params, "res": res}

    def __call__(self, g: Any) -> Any:
        primitive = self.primitive
        vjps = primitive.vjps
        assert vjps is not None
        if type(g) is float:
            g = np.float64(g)
        args, keywords, parents = (g, *self.args), self.keywords, self.parents
        token = silence()  # quiet(), without a context manager (see _ieee.silence)
        try:
            if primitive.arity < 0:
                vjp = vjps[0]
                assert vjp is not None
                kw = keywords or {}
                out = tuple(
                    _cotangent(vjp(i, *args, **kw)) if p >= 0 else None
                    for i, p in enumerate(parents)
                )
                return out[0] if len(out) == 1 else out
            if len(parents) == 1:  # one operand: its cotangent alone
                vjp = vjps[0]
                if vjp is None or parents[0] < 0:
                    return None
                r = vjp(*args) if keywords is None else vjp(*args, **keywords)
                return r if type(r) is np.ndarray and r.ndim else _cotangent(r)
            # A loop, not a generator: this runs once per node of every backward pass.
            sent: list[Any] = []
            for vjp, p in zip(vjps, parents):  # noqa: B905  (same length by construction)
                if p < 0 or vjp is None:
                    sent.append(None)
                else:
                    r = vjp(*args) if keywords is None else vjp(*args, **keywords)
                    sent.append(r if type(r) is np.ndarray and r.ndim else _cotangent(r))
        finally:
            restore(token)
        return tuple(sent)


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

    @property
    def shape(self) -> tuple[int, ...]:
        # The concrete value's, read directly (no np.shape: layers check shapes per call).
        value = self.value
        while type(value) is Traced:
            value = value.value
        return value.shape if type(value) is np.ndarray else ()

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
        if method == "__call__" and not kwargs:  # np.sin(x), np.add(x, y): the entry, directly
            entry = _UFUNC_ENTRIES.get(ufunc)
            if entry is not None:
                if len(inputs) == 1:
                    return apply1(entry, inputs[0])
                if len(inputs) == 2:
                    return apply2(entry, inputs[0], inputs[1])
        return dispatch.array_ufunc(ufunc, method, inputs, kwargs)

    def __array_function__(self, func: Any, types: Any, args: Any, kwargs: Any) -> Any:
        return dispatch.array_function(func, args, kwargs)

    def __array__(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise TypeError(_TO_ARRAY)

    # Arithmetic is recorded; see _traced_ops for the primitives, _operator for the floats.
    __add__ = _operator(_ops.ADD, reflected=False)
    __radd__ = _operator(_ops.ADD, reflected=True)
    __sub__ = _operator(_ops.SUB, reflected=False)
    __rsub__ = _operator(_ops.SUB, reflected=True)
    __mul__ = _operator(_ops.MUL, reflected=False)
    __rmul__ = _operator(_ops.MUL, reflected=True)
    __truediv__ = _operator(_ops.DIV, reflected=False)
    __rtruediv__ = _operator(_ops.DIV, reflected=True)

    def __matmul__(self, other: Any) -> Any:
        return _binary(_ops.MATMUL, self, other)

    def __rmatmul__(self, other: Any) -> Any:
        return _binary(_ops.MATMUL, other, self)

    def __mod__(self, other: Any) -> Any:
        return _binary(_ops.REMAINDER, self, other)

    def __rmod__(self, other: Any) -> Any:
        return _binary(_ops.REMAINDER, other, self)

    # x // y is floor_divide, a constant (its derivative is 0 where it has one), as
    # NumPy's; divmod pairs it with the remainder, which is recorded.
    def __floordiv__(self, other: Any) -> Any:
        return _floor_divide(self, other)

    def __rfloordiv__(self, other: Any) -> Any:
        return _floor_divide(other, self)

    def __divmod__(self, other: Any) -> Any:
        return _floor_divide(self, other), self % other

    def __rdivmod__(self, other: Any) -> Any:
        return _floor_divide(other, self), other % self

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
