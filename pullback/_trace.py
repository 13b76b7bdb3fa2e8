"""``trace`` and ``lift``: ordinary Python code as a rule, and a rule as a function.

``trace(f)`` is a rule: calling it runs ``f`` once on traced values, which
records the graph of the operations, node by node, in a list that belongs to
that call alone and is frozen into a tuple when ``f`` returns (creation order
is a topological order). The pullback walks it backwards in a loop (no
recursion), accumulating cotangents in a table local to each pullback call.
Nothing survives the call but the pullback itself.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, TypeVar, overload

import numpy as np
from typing_extensions import TypeVarTuple, Unpack

from . import _ieee as ieee
from . import _traced_ops as ops
from ._compose import Composition
from ._graph import Primitive, Trace, Traced, apply, concrete
from ._rules import nn
from ._rules.derived import entry_of
from ._rules.factories import AddConst, Power, Scale
from ._stage_errors import rule_name
from ._trees import flatten, leaf_paths, unflatten
from ._types import ElementwiseFunction, ElementwiseRule, MultiRule, Rule
from ._values import as_value, cotangent_for, describe, owned, real_array

__all__ = ["Recording", "TracedRule", "lift", "trace", "traceable"]

_X = TypeVar("_X")
_X2 = TypeVar("_X2")
_Y = TypeVar("_Y")
_Args = TypeVarTuple("_Args")


class TracedRule:
    """The rule that :func:`trace` makes of a function.

    ``traced(*xs) -> (y, pullback)``; the pullback returns one cotangent per
    argument, shaped like the argument (a tree for a tree).
    """

    __slots__ = ("__name__", "__wrapped__", "function")
    # The API layer passes trees of values through to us and leaves the
    # cotangents as we shape them.
    __pullback_checks_arguments__ = True

    def __init__(self, function: Callable[..., Any]) -> None:
        if not callable(function):
            raise TypeError(f"trace: expected a function, got {describe(function)}")
        self.function = function
        self.__wrapped__ = function
        self.__name__ = getattr(function, "__name__", type(function).__name__)

    def __repr__(self) -> str:
        return f"trace({self.__name__})"

    def __call__(self, *xs: Any) -> tuple[Any, Callable[[Any], Any]]:
        call, _ = self._run(xs, False)
        return call[6], _TracePullback(call)

    def __pullback_gradient__(self, xs: tuple[Any, ...]) -> tuple[Any, Any]:
        """``(y, gradient)`` at ``xs``: forward and backward with no pullback object made.

        The protocol ``gradient`` and ``value_and_gradient`` look for (the API
        layer knows nothing of the tracer): the same numbers as calling the
        rule and its pullback with the seed, in fewer frames.

        Args:
            xs: the arguments, as for calling the rule.

        Returns:
            The value and its gradient, as :func:`pullback.value_and_gradient`
            gives them.

        >>> trace(lambda a, b: a * b).__pullback_gradient__((2.0, 3.0))
        (6.0, (3.0, 2.0))
        """
        trace_, leaves, specs, out = self._enter(xs)
        if specs is None and type(out) is Traced and out.owner is trace_:
            y = out.value
            if type(y) is float:  # float arguments, a float value: the seed is 1.0, unchecked
                parents, backs = trace_.finish()
                table = backward(parents, backs, out.position, len(xs), 1.0)
                return y, _float_cotangents(table, xs)
        call, _ = self._graph(xs, trace_, leaves, specs, out, False)
        y = call[6]
        return y, _pull_back(call, 1.0 if type(y) is float else _seed(y))

    def with_aux(self, *xs: Any) -> tuple[Any, Callable[[Any], Any], Any]:
        """Run a function that returns ``(value, aux)``: the value, its pullback, and the aux.

        The aux is any tree (metrics, predictions) with its traced values made
        plain (their derivatives are not wanted); :func:`pullback.withgradient`
        calls this.

        Args:
            *xs: the arguments, as for calling the rule.

        Returns:
            ``(y, pullback, aux)``.

        Raises:
            TypeError: the function does not return a pair ``(value, aux)``.

        >>> from pullback import trace
        >>> y, back, aux = trace(lambda x: (x * x, {"x": x})).with_aux(3.0)
        >>> y, back(1.0), aux
        (9.0, 6.0, {'x': 3.0})
        """
        call, extra = self._run(xs, True)
        return call[6], _TracePullback(call), extra

    def _run(self, xs: tuple[Any, ...], aux: bool) -> tuple[tuple[Any, ...], Any]:
        """Run the function once on traced values: the call's graph (see _pull_back), the aux."""
        trace_, leaves, specs, out = self._enter(xs)
        return self._graph(xs, trace_, leaves, specs, out, aux)

    def _enter(self, xs: tuple[Any, ...]) -> tuple[Trace, tuple[Any, ...], Any, Any]:
        """Box the arguments in a new trace, call the function: trace, leaves, specs, output."""
        running = _RUNNING.get()
        specs: tuple[tuple[Any, int], ...] | None = None
        for x in xs:
            if type(x) is not float:
                trace_, leaves, specs, args = self._trees(xs, running)
                break
        else:  # the common case: float arguments, no tree to flatten
            # Made with _new and slot stores (see _graph._new): this runs on every call.
            trace_ = _new(Trace)
            n = len(xs)
            trace_.depth, trace_.parents, trace_.backs, trace_.log = (
                running + 1, [()] * n, [None] * n, None
            )  # fmt: skip
            leaves = xs
            args = []
            for i, x in enumerate(xs):
                box = _new(Traced)
                box.value, box.owner, box.position = x, trace_, i
                args.append(box)
        token = _RUNNING.set(trace_.depth)
        try:
            out = self.function(*args)
        finally:
            _RUNNING.reset(token)
        return trace_, leaves, specs, out

    def _graph(
        self,
        xs: tuple[Any, ...],
        trace_: Trace,
        leaves: tuple[Any, ...],
        specs: Any,
        out: Any,
        aux: bool,
    ) -> tuple[tuple[Any, ...], Any]:
        """The graph of a call that has returned ``out`` (checked here), and its aux."""
        parents, backs = trace_.finish()  # handed over: nothing is recorded after the call
        extra = None
        if aux:
            if not (type(out) in (tuple, list) and len(out) == 2):
                raise TypeError(
                    f"trace({self.__name__}): with aux the function must return a pair "
                    f"(value, aux), got {describe(out)}"
                )
            out, extra = out
            extra = _plain_tree(extra)
        if type(out) is Traced and out.owner is trace_:
            y = out.value
            root = out.position
        elif type(out) is Traced and out.owner.finished:
            raise ValueError(
                f"trace({self.__name__}): the function returned a traced value of an earlier "
                "call that has already returned; a traced value cannot outlive its call "
                "(pass the value in as an argument instead)"
            )
        elif type(out) is Traced or _is_output_value(out):
            y = out if type(out) is Traced else as_value(out, f"trace({self.__name__})")
            if type(y) is np.ndarray and y is out:
                y = y.copy()  # a constant of the function's own: the caller gets a copy
            root = -1  # the output does not depend on the arguments
        else:
            raise TypeError(
                f"trace({self.__name__}): the function returned {describe(out)}; a traced "
                "function must return a value (a float or a float64 array)"
            )
        if type(y) is np.ndarray:
            y = owned([y], leaves)[0]  # ``lambda v: v`` returns its argument: copy it
        if root + 1 < len(backs):  # nodes after the output's are not needed by its pullback
            del parents[root + 1 :], backs[root + 1 :]
        # specs is None for float arguments (no tree); then every cotangent is a float.
        flat = True
        for spec, _ in specs or ():  # a loop, not all(): no generator on every call
            if spec is not None:
                flat = False
                break
        return (root, parents, backs, leaves, specs, len(xs), y, self.__name__, flat), extra

    def record(self, *xs: Any) -> Recording:
        """Run the function once and keep every node's name and value (for a walkthrough).

        Args:
            *xs: the arguments, as for calling the rule.

        Returns:
            A :class:`Recording` of the call.

        >>> from pullback import trace
        >>> r = trace(lambda a, b: a * b + a).record(2.0, 3.0)
        >>> r.names, r.values
        (('a', 'b', 'mul', 'add'), (2.0, 3.0, 6.0, 8.0))
        """
        log: list[tuple[str, Any, tuple[Any, ...]]] = []
        trace_, leaves, _, args = self._trees(xs, _RUNNING.get(), log)
        token = _RUNNING.set(trace_.depth)
        try:
            out = self.function(*args)
        finally:
            _RUNNING.reset(token)
        parents, backs = trace_.finish()
        if not (type(out) is Traced and out.owner is trace_):
            raise TypeError(
                f"trace({self.__name__}): the output does not depend on the arguments "
                f"(got {describe(out)}); there is nothing to walk through"
            )
        names = []
        for x, param in zip(xs, self._parameter_names(len(xs)), strict=True):
            names.extend(leaf_paths(x, param))
        return Recording(
            names=tuple(names) + tuple(entry[0] for entry in log),
            values=tuple(leaves) + tuple(entry[1] for entry in log),
            constants=tuple(() for _ in leaves) + tuple(entry[2] for entry in log),
            parents=tuple(parents),
            root=out.position,
            arguments=len(leaves),
            _backs=tuple(backs),
        )

    def _parameter_names(self, count: int) -> list[str]:
        try:
            params = list(inspect.signature(self.function).parameters)
        except (TypeError, ValueError):
            params = []
        return [params[i] if i < len(params) else f"x{i + 1}" for i in range(count)]

    def _trees(
        self,
        xs: tuple[Any, ...],
        running: int,
        log: list[tuple[str, Any, tuple[Any, ...]]] | None = None,
    ) -> tuple[Trace, tuple[Any, ...], tuple[tuple[Any, int], ...], list[Any]]:
        """Flatten trees of values (and traced values of an enclosing trace)."""
        leaves: list[Any] = []
        specs = []
        depth = running + 1
        for position, x in enumerate(xs, start=1):
            kind = type(x)
            if kind is dict or kind is list or kind is tuple:
                arg_leaves, spec = flatten(x)
            else:  # a single value: no tree to flatten
                arg_leaves, spec = [x], None
            for i, leaf in enumerate(arg_leaves):
                leaf_kind = type(leaf)
                if leaf_kind is np.ndarray and leaf.dtype is _FLOAT64:
                    continue  # the common leaf: a float64 array (a parameter, a batch)
                if leaf_kind is Traced:
                    depth = max(depth, leaf.owner.depth + 1)
                elif leaf_kind is np.ndarray and leaf.dtype.kind in "iu":
                    arg_leaves[i] = leaf.astype(np.float64)  # as_value's copy (class indices)
                elif not (
                    leaf_kind is float or (leaf_kind is np.ndarray and leaf.dtype == _FLOAT64)
                ):
                    where = f"trace({self.__name__}), argument {position}"
                    arg_leaves[i] = as_value(leaf, where)
            leaves.extend(arg_leaves)
            specs.append((spec, len(arg_leaves)))
        trace_ = Trace(depth, len(leaves), log)
        boxed = []
        for i, leaf in enumerate(leaves):
            box = _new(Traced)  # see _new: a box per leaf, on every call
            box.value, box.owner, box.position = leaf, trace_, i
            boxed.append(box)
        args = []
        start = 0
        for spec, count in specs:
            args.append(
                boxed[start] if spec is None else unflatten(spec, boxed[start : start + count])
            )
            start += count
        return trace_, tuple(leaves), tuple(specs), args


# The depth of the traced call running in this context (0: none). A traced
# call made while another runs is nested in it, whatever its arguments: so a
# function traced inside another may close over the outer call's traced values
# (perturbation confusion, as Siskind and Pearlmutter call the bug, cannot
# happen). Per context (so per thread), set for the call and reset after it:
# nothing is left behind.
_RUNNING: ContextVar[int] = ContextVar("pullback_running_trace_depth", default=0)

# A trace and its argument boxes made without a class call, as _graph makes traced
# values (see _graph._new: half the time, on every traced call).
_new = object.__new__


@dataclass(frozen=True)
class Recording:
    """One traced call, node by node: the arguments first, then each operation.

    Attributes:
        names: an argument's name (``a``, ``params['w']``) or an operation's.
        values: each node's forward value.
        constants: for an operation, its constant operands (None where an
            operand is another node); empty for an argument.
        parents: for an operation, the positions of its operand nodes (-1 for
            a constant).
        root: the position of the output node.
        arguments: how many nodes are arguments.
    """

    names: tuple[str, ...]
    values: tuple[Any, ...]
    constants: tuple[tuple[Any, ...], ...]
    parents: tuple[tuple[int, ...], ...]
    root: int
    arguments: int
    _backs: tuple[Any, ...] = field(repr=False)

    def pull_back(self, dy: Any = 1.0) -> tuple[tuple[Any, ...], tuple[tuple[Any, ...], ...]]:
        """Run the backward pass from the output with seed ``dy``.

        Args:
            dy: the seed.

        Returns:
            ``(arrived, sent)``: each node's cotangent (None if none reached it)
            and the cotangents it sent to its operands.

        >>> from pullback import trace
        >>> trace(lambda a, b: a * b).record(2.0, 3.0).pull_back(1.0)
        ((3.0, 2.0, 1.0), ((), (), (3.0, 2.0)))
        """
        sent: dict[int, tuple[Any, ...]] = {}

        def keep(position: int, arrived: Any, out: tuple[Any, ...]) -> None:
            sent[position] = out

        table = backward(self.parents, self._backs, self.root, self.arguments, dy, keep)
        arrived = tuple(table[i] if i < len(table) else None for i in range(len(self.names)))
        return arrived, tuple(sent.get(i, ()) for i in range(len(self.names)))


def _plain_tree(tree: Any) -> Any:
    """An aux tree with its traced values made plain and its arrays copied (the caller's own)."""
    leaves, spec = flatten(tree)
    plain = []
    for leaf in leaves:
        value = concrete(leaf)
        plain.append(value.copy() if type(value) is np.ndarray else value)
    return unflatten(spec, plain)


def _is_output_value(out: Any) -> bool:
    if isinstance(out, (bool, np.bool_)):
        return False
    if isinstance(out, np.ndarray):
        return out.dtype.kind in "iuf"
    return isinstance(out, (float, int, np.floating, np.integer))


class _TracePullback:
    """The backward pass of one traced call: a loop over its nodes, last first.

    Cotangents live in a list local to each call, indexed by node position, so
    the pullback can be called any number of times, from any thread.
    """

    # One tuple, not ten attributes: it is made on every traced call.
    __slots__ = ("_call",)

    def __init__(self, call: tuple[Any, ...]) -> None:
        # (root, parents, backs, leaves, specs, arity, y, name, flat), made by the traced
        # call as one tuple: eight arguments passed one by one would cost as much again.
        self._call = call

    def graph(self) -> tuple[int, list[Any], list[Any], tuple[Any, ...]]:
        """The recorded graph, read-only: the root's position, parents, backs, the leaves."""
        root, parents, backs, leaves = self._call[:4]
        return root, parents, backs, leaves

    def __call__(self, dy: Any) -> Any:
        return _pull_back(self._call, dy)


def _pull_back(call: tuple[Any, ...], dy: Any) -> Any:
    """The cotangents of one traced call's arguments for the cotangent ``dy`` of its value.

    ``call`` is ``(root, parents, backs, leaves, specs, arity, y, name, flat)``, as
    :meth:`TracedRule._run` makes it; nothing in it is changed.
    """
    root, parents, backs, leaves, specs, arity, y, name, flat = call
    if not (type(dy) is float and type(y) is float) and not (
        type(dy) is Traced or type(y) is Traced
    ):
        # One rule for every checked pullback: the cotangent has the value's kind and shape.
        dy = cotangent_for(dy, y, f"the pullback of trace({name})")
    table = backward(parents, backs, root, len(leaves), dy)
    if specs is None:
        return _float_cotangents(table, leaves)
    cotangents = [_like(table[i], leaf) for i, leaf in enumerate(leaves)]
    owned(cotangents, (*leaves, dy, y))  # each array the caller's own: not an argument...
    if flat:
        return cotangents[0] if arity == 1 else tuple(cotangents)
    per_argument = []
    start = 0
    for spec, count in specs:
        per_argument.append(unflatten(spec, cotangents[start : start + count]))
        start += count
    return per_argument[0] if arity == 1 else tuple(per_argument)


def _float_cotangents(table: list[Any], leaves: tuple[Any, ...]) -> Any:
    """The cotangents of float arguments: floats where they arrived, else ``_like``'s."""
    if len(leaves) == 1:
        g = table[0]
        return g if type(g) is float else _like(g, leaves[0])
    cotangents = table[: len(leaves)]
    for g in cotangents:
        if type(g) is not float:  # not reached (None), or a traced value (nested)
            pairs = zip(cotangents, leaves, strict=True)
            cotangents = [_like(g, leaf) for g, leaf in pairs]
            break
    return tuple(cotangents)


def _seed(y: Any) -> Any:
    """Ones shaped like an array value (1.0 for a float, also under nested tracing)."""
    base = concrete(y)
    return 1.0 if type(base) is float else np.ones_like(base)


def backward(
    parents: Sequence[Any],
    backs: Sequence[Any],
    root: int,
    n_leaves: int,
    dy: Any,
    visit: Callable[[int, Any, tuple[Any, ...]], None] | None = None,
) -> list[Any]:
    """Pull ``dy`` back from node ``root`` to every node; return the cotangent table.

    The nodes are in the forms ``Trace`` describes: a float partial for one
    operand, two for two, else a vjp. ``visit(position, arrived, sent)``, if
    given, sees each node's cotangent and what it sends to its operands (for a
    walkthrough, whose nodes are all of the third form).
    """
    # A conditional, not max(): this runs on every traced call, and max() costs a call.
    table: list[Any] = [None] * (root + 1 if root >= n_leaves else n_leaves)
    if root < 0:
        return table
    table[root] = dy
    # The positions whose cotangent is an array this pass made (a sum of two), held by
    # that slot alone until the node is pulled back: later terms are added into it in
    # place. Any other array may be g itself, a view of an argument or a value another
    # slot holds too (a vjp may return g for both operands): never written into.
    # Made at the first such sum (a float graph never needs it).
    summed: set[int] | None = None
    for position in range(root, n_leaves - 1, -1):  # the operations, last first
        g = table[position]
        if g is None:
            continue
        back = backs[position]
        kind = type(back)
        # A reused value sums its cotangents; floats inline, anything else in _accumulate.
        # The float forms are never a walkthrough's, whose table is read whole: their
        # cotangent is dropped once sent, and the next one reuses its memory.
        if kind is float:  # one operand: its position and the partial
            table[position] = None
            p = parents[position]
            gp, held = g * back, table[p]
            if held is None:
                table[p] = gp
            else:
                table[p] = held + gp if type(held) is type(gp) is float else _accumulate(held, gp)
        elif kind is tuple:  # two operands: their positions and partials
            table[position] = None
            p, q = parents[position]
            gp, held = g * back[0], table[p]
            if held is None:
                table[p] = gp
            else:
                table[p] = held + gp if type(held) is type(gp) is float else _accumulate(held, gp)
            gq, held = g * back[1], table[q]
            if held is None:
                table[q] = gq
            else:
                table[q] = held + gq if type(held) is type(gq) is float else _accumulate(held, gq)
        else:
            operands = parents[position]
            sent = back(g)
            if len(operands) == 1:
                sent = (sent,)
            if visit is None:
                # Dropped once pulled back, as the float forms' are: an array cotangent
                # is freed while the pass runs, not at its end.
                table[position] = None
            else:
                visit(position, g, tuple(sent))
            for p, gp in zip(operands, sent):  # noqa: B905  (same length by construction)
                if p >= 0:
                    held = table[p]
                    if held is None:
                        table[p] = gp
                    elif summed is not None and p in summed:  # a sum this pass made for p
                        table[p] = _accumulate_into(held, gp)  # only p's slot holds it
                    else:
                        table[p] = total = _accumulate(held, gp)
                        if type(total) is np.ndarray and visit is None:
                            if summed is None:
                                summed = set()
                            summed.add(p)
    return table


def _accumulate(a: Any, b: Any) -> Any:
    """A value used several times gets the sum of its cotangents."""
    if type(a) is float and type(b) is float:
        return a + b
    if type(a) is Traced or type(b) is Traced:
        return apply(ops.ADD, a, b)
    return ieee.add(a, b)


_FLOAT64 = np.dtype(np.float64)


def _accumulate_into(total: Any, b: Any) -> Any:
    """``total + b`` for an array ``total`` this pass made: into it, when ``b`` fits."""
    kind = type(b)
    if kind is Traced or not (
        kind is float or (kind is np.ndarray and b.shape == total.shape) or kind is np.float64
    ):
        return _accumulate(total, b)  # a traced term, or one that broadcasts: a new sum
    token = ieee.silence()  # quiet(), without a context manager (see _ieee.silence)
    try:
        np.add(total, b, out=total)
    finally:
        ieee.restore(token)
    return total


def _like(g: Any, leaf: Any) -> Any:
    """The cotangent of one leaf: zero if nothing reached it, of the leaf's kind."""
    if (
        type(g) is np.ndarray
        and type(leaf) is np.ndarray
        and g.shape == leaf.shape
        and g.dtype is _FLOAT64
    ):
        return g  # the common case: an array's cotangent, as it arrived
    if type(leaf) is float:
        if type(g) is float:
            return g
        if g is None:
            return 0.0
    base = concrete(leaf)
    if g is None:
        return 0.0 if type(base) is float else np.zeros_like(base)
    if type(g) is Traced:
        return g
    if type(g) is np.ndarray and g.dtype == np.float64:
        out = g
    else:
        real = real_array(g)
        if real is None:
            raise TypeError(
                f"a pullback in traced code returned {describe(g)} as a cotangent; "
                "a cotangent is real: a float or a float64 array"
            )
        out = real
    if type(base) is float:
        return float(np.sum(out))
    if out.shape == base.shape:
        return out
    return np.broadcast_to(out, base.shape).copy()


@overload
def trace(f: Callable[[_X], _Y]) -> Rule[_X, _Y]: ...
@overload
def trace(f: Callable[[Unpack[_Args]], _Y]) -> MultiRule[Unpack[_Args], _Y]: ...
def trace(f: Callable[..., Any]) -> Any:
    """Turn an ordinary Python function of values into a rule (works as a decorator).

    Inside ``f`` the arguments are traced values: write ordinary Python and
    NumPy (operators, ``np.exp``, ``np.sum(x, axis=1)``, ``x @ w``, methods,
    indexing; see docs/numpy.md), comparisons on their concrete values for
    control flow (the gradient is that of the branch taken), and the functions
    of :mod:`pullback.ops`. A traced function called while another runs is
    nested in it and may use its traced values (a closure): derivatives of
    derivatives. Arguments may be floats, arrays, or nested tuples,
    lists and dicts of them (a model's parameters); the gradient has the same
    structure. An argument the output does not depend on gets a zero cotangent.

    Args:
        f: a function of one or more values returning a value.

    Returns:
        A rule: ``trace(f)(*xs) -> (y, pullback)``, accepted by ``gradient``,
        ``compose``, ``check_rule`` and every other API.

    Raises:
        TypeError: ``f`` is not callable (here); when the rule runs, an argument
            that is not a value, an output that is not a value, or code that
            turns a traced value into a plain float (``math.exp(x)``).

    >>> from pullback import gradient, ops, trace
    >>> gradient(trace(lambda a, n, t: a * n * t), 100.0, 2.0, 1.1)
    (2.2, 110.00000000000001, 200.0)
    >>> @trace
    ... def f(x):
    ...     return ops.exp(x * x) if x > 0 else -x
    >>> gradient(f, 0.5), gradient(f, -2.0)
    (1.2840254166877414, -1.0)
    """
    return TracedRule(f)


def traceable(rule: Callable[..., Any]) -> TracedRule:
    """A rule as a traced rule, to be differentiated on traced arguments (nested).

    >>> from pullback import exp, gradient, trace
    >>> gradient(trace(lambda x: gradient(exp, x)), 0.0)    # d/dx exp'(x) = exp(x)
    1.0
    """
    if isinstance(rule, TracedRule):
        return rule
    traced = TracedRule(lift(rule))
    object.__setattr__(traced, "__name__", rule_name(rule))
    return traced


@overload
def lift(rule: ElementwiseRule) -> ElementwiseFunction: ...
@overload
def lift(rule: Rule[_X, _Y]) -> Callable[[_X], _Y]: ...
@overload
def lift(rule: MultiRule[_X, _X2, Unpack[_Args], _Y]) -> Callable[[_X, _X2, Unpack[_Args]], _Y]: ...
def lift(rule: Callable[..., Any]) -> Callable[..., Any]:
    """Turn a rule into a value-level function for traced code.

    The lifted function computes the rule's value; on traced values it records
    the rule, whose own pullback is then the derivative. A user's rule can be
    lifted too (its derivative is first-order only: nested differentiation
    needs the functions of :mod:`pullback.ops` or traced code).

    Args:
        rule: a rule of one or more arguments, such as ``exp``, ``mul``,
            ``scale(2.0)``, a composition, or your own.

    Returns:
        A function of values (or traced values) returning the rule's value.

    Raises:
        TypeError: ``rule`` is not callable.

    >>> from pullback import exp, gradient, lift, trace
    >>> my_exp = lift(exp)
    >>> my_exp(0.0)
    1.0
    >>> gradient(trace(lambda x: my_exp(2.0 * x)), 0.0)
    2.0
    """
    if not callable(rule):
        raise TypeError(f"lift: expected a rule, got {describe(rule)}")
    if type(rule) is Composition:
        stages = tuple(lift(stage) for stage in rule.stages[::-1])
        return _LiftedChain(stages, repr(rule))
    if rule is nn.softmax or rule is nn.log_softmax:  # their entries, over the last axis
        return _LiftedLastAxis(ops.SOFTMAX if rule is nn.softmax else ops.LOG_SOFTMAX)
    primitive = _primitive_for(rule)
    return _Lifted(primitive, rule)


def _primitive_for(rule: Callable[..., Any]) -> Primitive:
    kind = type(rule)
    if kind is Scale or kind is AddConst:
        return ops.scale_primitive(rule)
    if kind is Power:
        return ops.power_primitive(rule.n)  # type: ignore[attr-defined]
    entry = entry_of(rule)
    if entry is not None:  # a library rule: its entry in the table
        return entry
    return Primitive.of_rule(rule_name(rule), rule, _arity(rule))


def _arity(rule: Callable[..., Any]) -> int:
    try:
        parameters = inspect.signature(rule).parameters.values()
    except (TypeError, ValueError):
        return 1
    positional = [p for p in parameters if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    return max(1, len(positional))


class _Lifted:
    """A rule as a value-level function (see :func:`lift`)."""

    __slots__ = ("__name__", "__signature__", "primitive")

    def __init__(self, primitive: Primitive, rule: Callable[..., Any]) -> None:
        self.primitive = primitive
        self.__name__ = primitive.name
        signature: inspect.Signature | None
        try:  # the rule's parameter names, for walkthroughs and errors
            signature = inspect.signature(rule)
        except (TypeError, ValueError):
            signature = None
        self.__signature__ = signature

    def __call__(self, *args: Any) -> Any:
        primitive = self.primitive
        if len(args) != primitive.arity:
            raise TypeError(
                f"{primitive.name} takes {primitive.arity} argument"
                f"{'s' if primitive.arity != 1 else ''}, got {len(args)}"
            )
        return apply(primitive, *args)

    def __repr__(self) -> str:
        return f"lift({self.primitive.name})"


class _LiftedLastAxis:
    """``softmax`` or ``log_softmax`` lifted: the table's entry over the last axis."""

    __slots__ = ("primitive",)

    def __init__(self, primitive: Primitive) -> None:
        self.primitive = primitive

    def __call__(self, x: Any) -> Any:
        return apply(self.primitive, x, axis=(max(np.ndim(x), 1) - 1,))

    def __repr__(self) -> str:
        return f"lift({self.primitive.name})"


class _LiftedChain:
    """A lifted composition: its stages' lifted functions, applied in order."""

    __slots__ = ("name", "stages")

    def __init__(self, stages: tuple[Callable[[Any], Any], ...], name: str) -> None:
        self.stages = stages
        self.name = name

    def __call__(self, x: Any) -> Any:
        if not self.stages and type(x) is np.ndarray:
            return x.copy()  # the identity's value is an array of its own
        for stage in self.stages:
            x = stage(x)
        return x

    def __repr__(self) -> str:
        return f"lift({self.name})"
