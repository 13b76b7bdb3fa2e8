"""Forward mode: ``pushforward``, ``jvp``, ``hvp`` and forward Jacobians, from the one table.

There is no second table of derivatives here. Forward mode is the transpose of
reverse mode: for one forward call ``y, back = pullback(f, x)``, the pullback
``u -> back(u) = Jᵀu`` is linear in the cotangent ``u``, and the pullback of
*that* linear map is ``dx -> J dx``, the pushforward. Because every entry's
vjp is NumPy code, ``back`` can be called on a traced ``u``: the backward pass
is recorded once, per :func:`pushforward` call, as a graph of its own, and
each tangent pushed forward is one backward pass over that recorded graph.
A rule that is not a traced function (a library primitive, a composition, a
rule of yours) is lifted and traced first, so its pullback is the table's
vjps (or, for your rule, your pullback, which must then be NumPy code on the
cotangent; one that is not is a TypeError that says so).

The cotangent ``u`` the backward pass is recorded at is ones shaped like the
value (the map is linear, so any point gives the same derivative; ones rather
than zeros keep the traced vjps' strong zero, which keys on a cotangent of
exactly 0, from zeroing a tangent that is not 0).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol, TypeVar, overload

import numpy as np
from typing_extensions import TypeVarTuple, Unpack

from ._api import gradient, pullback
from ._batching import Unbatchable, in_stacks, pull_back_batch, widest
from ._stage_errors import rule_name
from ._trace import TracedRule, lift, trace
from ._trees import flatten
from ._types import Array, MultiRule, RealArray, Rule, Y
from ._values import as_value, concrete_of, cotangent_for, describe, is_traced, require_callable

__all__ = [
    "MultiPushforward",
    "Pushforward",
    "hvp",
    "jacobian_forward",
    "jvp",
    "pushforward",
]

_X = TypeVar("_X")
_Dx = TypeVar("_Dx", contravariant=True)
_Dy = TypeVar("_Dy", covariant=True)
_Out = TypeVar("_Out", covariant=True)
_Args = TypeVarTuple("_Args")
_NO_ARGUMENT: Any = object()  # pushforward(f) with nothing to push forward at


class Pushforward(Protocol[_Dx, _Dy]):
    """The forward map of one forward call: maps an input tangent ``dx`` to ``dy = J dx``."""

    def __call__(self, dx: _Dx, /) -> _Dy: ...


class MultiPushforward(Protocol[Unpack[_Args], _Out]):
    """The forward map of a rule of several arguments: one tangent per argument in."""

    def __call__(self, *dxs: Unpack[_Args]) -> _Out: ...


@overload
def pushforward(  # type: ignore[overload-overlap]
    f: Rule[float, Y], x: float, /
) -> tuple[Y, Pushforward[float, Y]]: ...
@overload
def pushforward(  # type: ignore[overload-overlap]
    f: Rule[Array, Y], x: RealArray, /
) -> tuple[Y, Pushforward[Array, Y]]: ...
@overload
def pushforward(f: Rule[_X, Y], x: _X, /) -> tuple[Y, Pushforward[_X, Y]]: ...
@overload
def pushforward(
    f: MultiRule[float, float, Y], x: float, y: float, /
) -> tuple[Y, MultiPushforward[float, float, Y]]: ...
@overload
def pushforward(
    f: MultiRule[Unpack[_Args], Y], /, *xs: Unpack[_Args]
) -> tuple[Y, MultiPushforward[Unpack[_Args], Y]]: ...
def pushforward(f: Any, x: Any = _NO_ARGUMENT, /, *more: Any) -> tuple[Any, Any]:  # type: ignore[misc]
    """Run ``f`` at ``xs``; return its value and its pushforward (forward mode).

    The pushforward is the dual of the pullback: ``push(*dxs)`` maps one
    tangent per argument (shaped like the argument: a float for a float, an
    array of its shape for an array, a tree for a tree) to the tangent of the
    value, ``J dx``. It can be called any number of times and is pure. It is
    the transpose of the pullback, whose backward pass is recorded once, here.

    Args:
        f: a rule: a library primitive, a composition, a traced function, or
            your own rule whose pullback is written with NumPy operations.
        *xs: the arguments, floats or float64 arrays (trees of them for a
            traced function).

    Returns:
        ``(y, push)``. ``push`` raises TypeError for a tangent of the wrong
        kind, structure or count, and ValueError for one of the wrong shape.

    Raises:
        TypeError: ``f`` is not callable, an argument is not a value, or the
            pullback of ``f`` cannot be traced (it turns the cotangent into a
            plain number, or does not depend on it): forward mode needs the
            pullback of a traced function or of the library's rules.

    >>> import numpy as np
    >>> from pullback import mul, pushforward, sin, trace
    >>> y, push = pushforward(sin, 0.0)
    >>> y, push(1.0), push(2.0)
    (0.0, 1.0, 2.0)
    >>> y, push = pushforward(mul, 2.0, 3.0)
    >>> push(1.0, 0.0), push(0.0, 1.0)
    (3.0, 2.0)
    >>> y, push = pushforward(trace(lambda v: v * v), np.array([1.0, 2.0]))
    >>> push(np.array([1.0, 1.0]))
    array([2., 4.])
    """
    xs = () if x is _NO_ARGUMENT else (x, *more)
    require_callable(f, "pushforward")
    name = rule_name(f)
    if not xs:
        raise TypeError(
            f"pushforward({name}): no argument to push forward at; call pushforward(f, x)"
        )
    if isinstance(f, TracedRule):
        traced: Any = f
    else:  # the library's rules, compositions, a rule of yours: recorded by the tracer
        xs = _checked_values(xs, f"pushforward({name})")
        traced = trace(lift(f))
    y, back = pullback(traced, *xs)
    shapes = tuple(_shape_of(x) for x in xs)
    linear = _Linear(back, len(xs), name)
    base = concrete_of(y)
    u0: Any = 1.0 if type(base) is float else np.ones_like(base)
    _, transpose = trace(linear)(u0)  # the graph's own pullback; _Push checks the tangents
    return y, _Push(transpose, shapes, name)


def _not_traceable(name: str, why: str) -> TypeError:
    return TypeError(
        f"pushforward({name}): forward mode needs a traceable pullback, and {why}. "
        "Forward mode transposes the pullback, so the pullback must be written with NumPy "
        "operations on the cotangent (no float(dy), math.exp(dy) or np.asarray(dy)): use a "
        "traced function (trace(f)) or the library's rules"
    )


class _Linear:
    """``u -> back(u)``: the pullback as a function of the cotangent, to be traced."""

    __slots__ = ("__name__", "_arity", "_back", "_name")

    def __init__(self, back: Any, arity: int, name: str) -> None:
        self._back = back
        self._arity = arity
        self._name = name
        self.__name__ = f"pullback_of_{name}"

    def __call__(self, u: Any) -> Any:
        try:
            g = self._back(u)
        except TypeError as err:
            raise _not_traceable(self._name, f"its pullback raised TypeError: {err}") from err
        gs = (g,) if self._arity == 1 else g
        leaves: list[Any] = []
        for gi in gs:
            leaves.extend(flatten(gi)[0])
        for leaf in leaves:
            if not is_traced(leaf) and np.any(np.asarray(leaf) != 0.0):
                raise _not_traceable(
                    self._name,
                    f"its pullback returned {describe(leaf)}, which does not depend on the "
                    "cotangent it was given (a pullback is linear in its cotangent)",
                )
        if len(leaves) == 1:
            return leaves[0]
        return np.concatenate([np.reshape(leaf, (-1,)) for leaf in leaves])


class _Push:
    """The pushforward that :func:`pushforward` returns: checks the tangents, pulls back."""

    __slots__ = ("_name", "_shapes", "transpose")

    def __init__(self, transpose: Any, shapes: tuple[Any, ...], name: str) -> None:
        self.transpose = transpose  # the pullback of the recorded backward pass
        self._shapes = shapes  # per argument: its tree spec and each leaf's shape (None: float)
        self._name = name

    def __call__(self, *dxs: Any) -> Any:
        shapes = self._shapes
        if len(dxs) != len(shapes):
            raise TypeError(
                f"the pushforward of {self._name} takes {len(shapes)} tangent"
                f"{'s' if len(shapes) != 1 else ''} (one per argument), got {len(dxs)}"
            )
        leaves: list[Any] = []
        for position, (dx, (spec, leaf_shapes)) in enumerate(zip(dxs, shapes, strict=True), 1):
            dx_leaves, dx_spec = flatten(dx)
            if dx_spec != spec or len(dx_leaves) != len(leaf_shapes):
                raise TypeError(
                    f"the pushforward of {self._name}: the tangent of argument {position} must "
                    f"have the argument's structure, got {describe(dx)}"
                )
            for leaf, shape in zip(dx_leaves, leaf_shapes, strict=True):
                leaves.append(_tangent(leaf, shape, f"the pushforward of {self._name}", position))
        if len(leaves) == 1:
            return self.transpose(leaves[0])
        return self.transpose(np.concatenate([np.reshape(leaf, (-1,)) for leaf in leaves]))

    def __repr__(self) -> str:
        return f"<pushforward of {self._name}>"


def _shape_of(x: Any) -> tuple[Any, tuple[tuple[int, ...] | None, ...]]:
    """An argument's tree spec and, per leaf, its shape (None for a float)."""
    leaves, spec = flatten(x)
    shapes = []
    for leaf in leaves:
        base = concrete_of(leaf)
        shapes.append(None if type(base) is float else np.shape(base))
    return spec, tuple(shapes)


def _tangent(dx: Any, shape: tuple[int, ...] | None, where: str, position: int) -> Any:
    """A tangent checked against its argument: a float for a float, an array of its shape."""
    base = concrete_of(dx)
    if is_traced(dx):  # nested: a tangent from an enclosing trace
        kind_ok = (type(base) is float) == (shape is None)
        if kind_ok and (shape is None or np.shape(base) == shape):
            return dx
        raise ValueError(
            f"{where}: the tangent of argument {position} has the wrong kind or shape "
            f"({describe(base)})"
        )
    like = 0.0 if shape is None else np.broadcast_to(0.0, shape)  # its kind and shape only
    return cotangent_for(
        dx, like, f"{where}, tangent of argument {position}", "tangent", f"argument {position}"
    )


def _checked_values(xs: tuple[Any, ...], where: str) -> tuple[Any, ...]:
    if len(xs) == 1:
        return xs if is_traced(xs[0]) else (as_value(xs[0], where),)
    return tuple(
        x if is_traced(x) else as_value(x, f"{where}, argument {i}")
        for i, x in enumerate(xs, start=1)
    )


@overload
def jvp(f: Rule[float, Y], xs: tuple[float], dxs: tuple[float], /) -> tuple[Y, Y]: ...
@overload
def jvp(f: Rule[Array, Y], xs: tuple[RealArray], dxs: tuple[RealArray], /) -> tuple[Y, Y]: ...
@overload
def jvp(f: Rule[_X, Y], xs: tuple[_X], dxs: tuple[_X], /) -> tuple[Y, Y]: ...
@overload
def jvp(
    f: MultiRule[float, float, Y], xs: tuple[float, float], dxs: tuple[float, float], /
) -> tuple[Y, Y]: ...
@overload
def jvp(
    f: MultiRule[Unpack[_Args], Y],
    xs: tuple[Unpack[_Args]],
    dxs: tuple[Unpack[_Args]],
    /,
) -> tuple[Y, Y]: ...
def jvp(f: Any, xs: Any, dxs: Any, /) -> tuple[Any, Any]:
    """The value of ``f`` at ``xs`` and its Jacobian-vector product with ``dxs``.

    As ``jax.jvp``: the primals and the tangents are tuples, one entry per
    argument.

    Args:
        f: a rule, as for :func:`pushforward`.
        xs: a tuple of the arguments.
        dxs: a tuple of their tangents, each shaped like its argument.

    Returns:
        ``(y, dy)``: the value and its tangent ``J dx``.

    Raises:
        TypeError: as :func:`pushforward`, or ``xs``/``dxs`` are not tuples of
            the same length.
        ValueError: a tangent has a shape that does not fit its argument.

    >>> import numpy as np
    >>> from pullback import exp, jvp, mul
    >>> jvp(exp, (0.0,), (2.0,))
    (1.0, 2.0)
    >>> jvp(mul, (2.0, 3.0), (1.0, 1.0))
    (6.0, 5.0)
    """
    require_callable(f, "jvp")
    name = rule_name(f)
    for what, given in (("primals", xs), ("tangents", dxs)):
        if not isinstance(given, (tuple, list)):
            raise TypeError(
                f"jvp({name}): the {what} must be a tuple (one entry per argument), "
                f"got {describe(given)}; write jvp(f, (x,), (dx,))"
            )
    if len(xs) != len(dxs):
        raise TypeError(
            f"jvp({name}): {len(xs)} primal{'s' if len(xs) != 1 else ''} but "
            f"{len(dxs)} tangent{'s' if len(dxs) != 1 else ''}; give one tangent per argument"
        )
    y, push = pushforward(f, *xs)
    return y, push(*dxs)


@overload
def hvp(f: Rule[float, Y], x: float, v: float, /) -> float: ...
@overload
def hvp(f: Rule[Array, Y], x: RealArray, v: RealArray, /) -> Array: ...
@overload
def hvp(f: Rule[_X, Y], x: _X, v: _X, /) -> _X: ...
def hvp(f: Callable[..., Any], x: Any, v: Any, /) -> Any:
    """The Hessian of ``f`` at ``x`` times ``v``, without forming the Hessian.

    Reverse over reverse: the traced gradient pulled back at ``v`` (for a
    tree of values, the gradient with respect to ``x`` of the inner product
    ``<∇f(x), v>``), one traced gradient differentiated once more (on the
    benchmark it is faster than pushing ``v`` forward through the gradient).
    For an array-valued ``f`` it is the Hessian of the sum of its elements, as
    :func:`gradient` seeds ones.

    Args:
        f: a rule of one argument: a traced function, a library primitive or a
            composition of them.
        x: a float, a float64 array (or a tree of them for a traced function).
        v: the direction, shaped like ``x``.

    Returns:
        ``H v``, shaped like ``x``.

    Raises:
        TypeError: ``f`` is not a rule, ``x`` or ``v`` is not a value, ``v``
            does not have the structure of ``x``, or ``f`` is not traceable (a
            rule of your own, lifted, has a first-order pullback only).
        ValueError: ``v`` does not have the shape of ``x``.

    >>> import numpy as np
    >>> from pullback import hvp, sin, trace
    >>> hvp(sin, 0.5, 2.0)                      # sin''(0.5) · 2 = -2 sin(0.5)
    -0.958851077208406
    >>> rosenbrock = trace(lambda p: (1 - p[0]) ** 2 + 100 * (p[1] - p[0] ** 2) ** 2)
    >>> hvp(rosenbrock, np.array([1.0, 1.0]), np.array([1.0, 0.0]))
    array([ 802., -400.])
    """
    require_callable(f, "hvp")
    name = rule_name(f)
    if isinstance(f, TracedRule):
        traced: Any = f
    else:
        x = _checked_values((x,), f"hvp({name})")[0]
        traced = trace(lift(f))
    spec, shapes = _shape_of(x)
    v_leaves, v_spec = flatten(v)
    if v_spec != spec or len(v_leaves) != len(shapes):
        raise TypeError(
            f"hvp({name}): the direction must have the structure of x, got {describe(v)}"
        )
    directions = [_tangent(d, s, f"hvp({name})", 1) for d, s in zip(v_leaves, shapes, strict=True)]
    if spec is None and not is_traced(x):
        # One value: the traced gradient pulled back at v, H^T v = H v. The same numbers
        # as the gradient of <grad f, v> below (whose seed sends v itself back to the
        # gradient), without recording the inner product and pulling it back.
        _, back = trace(lambda p: gradient(traced, p))(x)
        return back(directions[0])

    def directional(p: Any) -> Any:
        g_leaves = flatten(gradient(traced, p))[0]
        total: Any = None
        for gl, d in zip(g_leaves, directions, strict=True):
            if type(d) is float:
                term = gl * d
            elif d.ndim == 1:
                term = gl @ d  # one recorded operation (a quarter faster than sum of products)
            else:
                term = np.sum(gl * d)
            total = term if total is None else total + term
        return total

    directional.__name__ = f"directional_gradient_of_{name}"
    return gradient(trace(directional), x)


def jacobian_forward(f: Callable[..., Any], x: Any) -> Any:
    """The Jacobian of a rule at ``x``, by columns: every input element pushed forward at once.

    The same answer as ``jacobian(f, x)``, which pulls back the rows; forward
    is cheaper when ``x`` has fewer elements than the value. The basis
    tangents are stacked along a leading axis and pushed in one backward pass
    over the recorded transpose (see ``pullback._batching``); inside traced
    code, one by one.

    Args:
        f: a rule of one argument (library, composition, traced, or your own
            with a traceable pullback).
        x: a float or a float64 array.

    Returns:
        An array of shape ``y.shape + x.shape`` (``J[i, j] = dy_i/dx_j``); a
        float when both are floats; the gradient's shape for a float output.

    Raises:
        TypeError: as :func:`pushforward`.

    >>> import numpy as np
    >>> from pullback import square, trace
    >>> jacobian_forward(square, np.array([1.0, 2.0]))
    array([[2., 0.],
           [0., 4.]])
    >>> jacobian_forward(trace(lambda t: np.stack([t, t * t])), 3.0)
    array([1., 6.])
    """
    require_callable(f, "jacobian")
    if not is_traced(x):
        x = as_value(x, f"jacobian({rule_name(f)})")
    y, push = pushforward(f, x)
    base_x = concrete_of(x)
    if type(base_x) is float:
        return push(1.0)
    x_shape = np.shape(base_x)
    y_shape = np.shape(concrete_of(y))
    n = int(np.prod(x_shape))
    if n == 0 or int(np.prod(y_shape)) == 0:
        return np.zeros(y_shape + x_shape)
    if not is_traced(x) and type(push) is _Push:
        # Every basis tangent in one backward pass over the recorded transpose.
        try:
            transpose = push.transpose
            columns = in_stacks(
                lambda seeds: pull_back_batch(transpose, seeds), x_shape, widest(transpose)
            )
        except Unbatchable:
            pass  # a node of a rule of yours: one push per column, below
        else:
            flat = np.reshape(columns, (n, -1)).T
            return np.ascontiguousarray(flat).reshape(y_shape + x_shape)
    columns = []
    for j in range(n):
        e = np.zeros(x_shape)
        e.flat[j] = 1.0
        columns.append(push(e))
    if any(is_traced(c) for c in columns):
        return np.reshape(np.stack(columns, axis=-1), y_shape + x_shape)
    return np.stack([np.asarray(c, dtype=np.float64) for c in columns], axis=-1).reshape(
        y_shape + x_shape
    )
