"""Many cotangents in one backward pass: the rows of a Jacobian in one sweep.

A Jacobian pulls back one seed per output element (or, forward, pushes one
tangent per input element). Pulling them back one by one is one Python-level
backward pass per row. Here the seeds are stacked along a leading batch axis,
``gs.shape == (B, *shape(y))``, and one backward pass over the recorded graph
carries the whole stack: each node's cotangent is the stack ``(B, *shape)``.

Each recorded operation's entry says how its vjp runs on a stack (its
``batch`` rules, in the table beside its vjps; see ``Primitive``): elementwise
entries broadcast, reductions, reshapes and indexing move their parameters one
axis along, matmul multiplies the stack at once. An entry without a rule, or
a rule that declines a case, runs its vjp once per cotangent of the stack, so
the pass is always right; a node that is not an entry's (a rule of yours,
lifted) makes the whole pass fall back to one pass per row.

The derivatives are the table's; nothing here knows any. The stacks are
concrete arrays: inside traced code (a Jacobian of traced values) the rows are
pulled back one by one, as before, so they are recorded.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from ._graph import Vjp, _Partials, concrete
from ._ieee import quiet
from ._table.entry import shape_of
from ._trace import _TracePullback

__all__ = ["Unbatchable", "backward_batch", "in_stacks", "pull_back_batch", "widest"]


class Unbatchable(Exception):
    """A node the batched pass cannot carry (not an entry's): the caller pulls back per row."""


def pull_back_batch(back: Any, gs: Any) -> Any:
    """The cotangents of a traced pullback's one argument for a stack of seeds.

    Args:
        back: the pullback of a traced function of one value (a float or an array).
        gs: the seeds, stacked: shape ``(B, *shape(y))``.

    Returns:
        The stack of the argument's cotangents, a new array of shape
        ``(B, *shape(x))``; ``back(gs[k])`` is its ``k``-th row.

    Raises:
        Unbatchable: ``back`` is not such a pullback, or its graph has a node
            that is not an entry's.

    >>> import numpy as np
    >>> from pullback import trace
    >>> y, back = trace(lambda v: np.sin(v) * v[0])(np.array([0.0, 1.0]))
    >>> pull_back_batch(back, np.eye(2))
    array([[0.        , 0.        ],
           [0.84147098, 0.        ]])
    """
    if type(back) is not _TracePullback:
        raise Unbatchable("not the pullback of a traced function of one value")
    root, parents, backs, leaves = back.graph()
    if len(leaves) != 1:
        raise Unbatchable("not the pullback of a traced function of one value")
    target = (shape_of(gs)[0], *shape_of(concrete(leaves[0])))
    table = backward_batch(parents, backs, root, leaves, gs)
    g = table[0]
    if g is None:
        return np.zeros(target)
    if shape_of(g) != target:
        g = np.broadcast_to(g, target)
    return np.array(g, dtype=np.float64)  # the caller's own (a seed or a rule's may be g)


def backward_batch(
    parents: Sequence[Any],
    backs: Sequence[Any],
    root: int,
    leaves: tuple[Any, ...],
    gs: Any,
) -> list[Any]:
    """Pull the stack ``gs`` back from node ``root``; each node gets a stack of cotangents.

    The batched form of the tracer's ``backward``: the same loop over the
    nodes, last first, each vjp applied to a stack.

    Args:
        parents: each recorded node's operand positions (the tracer's ``Trace.parents``).
        backs: each node's partials or vjp (``Trace.backs``; the leaves first).
        root: the position of the output node (-1: the output is a constant).
        leaves: the arguments' values.
        gs: the seeds, ``(B, *shape(y))``.

    Returns:
        The table of stacks, by node position: the leaves' (None where nothing
        arrived); every operation's stack is released once it is pulled back.

    Raises:
        Unbatchable: a node is not an entry's, or its operands' shapes are unknown.
    """
    n_leaves = len(leaves)
    table: list[Any] = [None] * max(root + 1, n_leaves)
    if root < 0:
        return table
    table[root] = gs
    sums: set[int] = set()  # the positions whose stack is a sum this pass made (see _send)
    b = shape_of(gs)[0]
    with quiet():  # once for the pass: IEEE specials arrive quietly (~1 µs a node saved)
        for position in range(root, n_leaves - 1, -1):
            g = table[position]
            if g is None:
                continue
            # Released once pulled back (only the leaves' stacks are read after the pass):
            # a stack is B cotangents, and keeping every node's to the end made the
            # allocator take fresh pages for each (414 page faults per n = 100 Hessian).
            table[position] = None
            operands, back = parents[position], backs[position]
            kind = type(back)
            if kind is Vjp:  # the common node of a nested trace: inlined, no tuple built
                _entry_batch(back, g, b, table, sums)
                continue
            grads: tuple[Any, ...]
            if kind is float:  # one operand at floats: its position and the partial
                operands, grads = (operands,), (g * back,)
            elif kind is tuple:  # two operands at floats: their partials
                grads = (g * back[0], g * back[1])
            elif kind is _Partials:  # partials at floats of several operands
                partials = back.partials
                grads = (
                    tuple(g * d for d in partials) if type(partials) is tuple else (g * partials,)
                )
            else:  # a closure: per cotangent, at operands whose shapes we know
                # (a lifted rule of yours, which has a first-order pullback only)
                shapes = [_shape(backs, leaves, p) if p >= 0 else () for p in operands]
                grads = _closure_per_row(back, g, b, shapes, operands)
            for p, gp in zip(operands, grads):  # noqa: B905  (same length by construction)
                if p >= 0 and gp is not None:
                    _send(table, sums, p, gp)
    return table


def _entry_batch(vjp: Vjp, gs: Any, b: int, table: list[Any], sums: set[int]) -> None:
    """One recorded entry's vjps on a stack, added into ``table``: batch rules, or per row."""
    primitive = vjp.primitive
    vjps = primitive.vjps
    if vjps is None:
        raise Unbatchable(f"{primitive.name} has no vjps")
    rules = primitive.batch
    variadic = primitive.arity < 0
    # (y, *xs) as the node's vjps read them (a float value as a float64), made once by
    # the node: this runs once per node of every Jacobian's pass.
    args, params, xs = vjp.args, vjp.params, vjp.xs
    for i, p in enumerate(vjp.parents):
        if p < 0:
            continue
        index = 0 if variadic else i
        f = vjps[index]
        if f is None:
            continue
        rule = rules[index] if rules is not None else None
        if variadic:
            r = NotImplemented if rule is None else rule(i, gs, *args, **params)
            if r is NotImplemented:
                r = [f(i, gs[k], *args, **params) for k in range(b)]
        else:
            r = NotImplemented if rule is None else rule(gs, *args, **params)
            if r is NotImplemented:
                r = [f(gs[k], *args, **params) for k in range(b)]
        x = xs[i]
        shape = x.shape if type(x) is np.ndarray else shape_of(x)
        if not (type(r) is np.ndarray and r.shape == (b, *shape)):
            r = _stack(r, b, shape)
        held = table[p]  # _send, inlined: a reused value sums its stacks
        if held is None:
            table[p] = r
        elif p in sums:
            np.add(held, r, out=held)
        else:
            table[p] = held + r
            sums.add(p)


def _send(table: list[Any], sums: set[int], p: int, gp: Any) -> None:
    """Add the stack ``gp`` into node ``p``'s: a reused value sums its cotangents.

    The first stack to arrive is held as it is (a vjp may return its cotangent
    itself, or a view, so it may be another node's too); the first sum is a new
    array, which is this pass's own, so later stacks are added into it in place.
    """
    held = table[p]
    if held is None:
        table[p] = gp
    elif p in sums:
        np.add(held, gp, out=held)  # quiet (the pass's context): the IEEE sum
    else:
        table[p] = held + gp
        sums.add(p)


def _closure_per_row(
    vjp: Any, gs: Any, b: int, shapes: list[tuple[int, ...] | None], operands: Any
) -> tuple[Any, ...]:
    """A node whose vjp is a closure (partials at floats, a rule's pullback), per row."""
    known = [shape for shape in shapes if shape is not None]
    if len(known) != len(shapes):
        raise Unbatchable("an operand of a rule's pullback has an unknown shape")
    scalar = np.ndim(gs) == 1
    with quiet():
        rows = [vjp(float(gs[k]) if scalar else gs[k]) for k in range(b)]
    if len(known) == 1:
        return (_stack(rows, b, known[0]),)
    per_operand: list[Any] = []
    for i, shape in enumerate(known):
        if operands[i] < 0:  # a constant operand: its cotangent goes nowhere
            per_operand.append(None)
            continue
        column = [row[i] for row in rows]
        per_operand.append(None if any(c is None for c in column) else _stack(column, b, shape))
    return tuple(per_operand)


def _shape(backs: Sequence[Any], leaves: tuple[Any, ...], p: int) -> tuple[int, ...] | None:
    """The shape of node ``p``'s value, where the graph records it (None: unknown)."""
    if p < 0:
        return ()
    if p < len(leaves):
        return shape_of(concrete(leaves[p]))
    back = backs[p]
    if type(back) is Vjp:
        return shape_of(back.y)
    if type(back) is float or type(back) is tuple or type(back) is _Partials:
        return ()  # partials at floats: the operation had float operands, and a float value
    return None


def _stack(r: Any, b: int, shape: tuple[int, ...]) -> Any:
    """A stack of cotangents as an array ``(b, *shape)``; a list of rows is stacked first.

    A vjp may give a cotangent NumPy broadcasts to its operand's shape (a
    number for an array); the per-row pass broadcasts it where it arrives.
    """
    target = (b, *shape)
    if type(r) is list:
        r = np.stack([np.broadcast_to(row, shape) for row in r]) if b else np.zeros(target)
    elif shape_of(r) != target:
        r = np.broadcast_to(r, target)
    return r


_BUDGET = 1 << 22  # numbers per stack (32 MB): a larger Jacobian is pulled back in chunks


def widest(back: Any) -> int:
    """The most numbers one cotangent of ``back``'s graph holds (a stack holds B of them).

    Args:
        back: the pullback of a traced function.

    Returns:
        The largest size among its arguments and its recorded entries'
        values and operands (at least 1).

    Raises:
        Unbatchable: ``back`` is not the pullback of a traced function.

    >>> import numpy as np
    >>> from pullback import trace
    >>> widest(trace(lambda v: np.sum(np.outer(v, v)))(np.ones(3))[1])
    9
    """
    if type(back) is not _TracePullback:
        raise Unbatchable("not the pullback of a traced function")
    _, _, backs, leaves = back.graph()
    most = 1
    for leaf in leaves:
        most = max(most, int(np.size(concrete(leaf))))
    ndarray = np.ndarray
    for vjp in backs:  # a plain loop: it runs on every Jacobian, and a graph has many nodes
        if type(vjp) is Vjp:  # the other forms are partials at floats: size 1
            y = vjp.y
            if type(y) is ndarray and y.size > most:
                most = y.size
            for x in vjp.xs:  # float operands are float64 scalars: size 1
                if type(x) is ndarray:
                    if x.size > most:
                        most = x.size
                elif type(x) is not np.float64 and np.size(x) > most:
                    most = int(np.size(x))
    return most


def in_stacks(pull: Any, seed_shape: tuple[int, ...], width: int) -> Any:
    """``pull`` applied to the basis seeds of ``seed_shape``, stacked, in chunks that fit.

    Args:
        pull: ``pull(seeds) -> rows``, seeds ``(c, *seed_shape)`` to rows ``(c, ...)``.
        seed_shape: the shape the basis vectors have.
        width: the most numbers one cotangent of the pass holds (:func:`widest`):
            a chunk of ``c`` seeds makes stacks of up to ``c * width`` numbers.

    Returns:
        The rows of every basis seed, in order: ``(n, ...)`` for ``n`` seed elements.

    >>> in_stacks(lambda seeds: 2.0 * seeds, (2,), 2)
    array([[2., 0.],
           [0., 2.]])
    """
    n = math.prod(seed_shape)
    chunk = max(1, min(n, _BUDGET // max(n, width, 1)))
    parts = []
    for start in range(0, n, chunk):
        stop = min(n, start + chunk)
        seeds = np.zeros((stop - start, n))
        seeds.flat[start :: n + 1] = 1.0  # seeds[k, start + k] = 1, without index arrays
        parts.append(pull(seeds.reshape((stop - start, *seed_shape))))
    return parts[0] if len(parts) == 1 else np.concatenate(parts)
