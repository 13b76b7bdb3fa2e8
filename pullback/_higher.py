"""``jacobian`` and ``hessian``: all rows in one batched pullback, a gradient differentiated."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, Literal, overload

import numpy as np

from ._api import gradient, pullback
from ._batching import Unbatchable, in_stacks, pull_back_batch, widest
from ._forward import jacobian_forward
from ._stage_errors import rule_name
from ._trace import TracedRule, lift, trace
from ._types import Array, MultiRule, RealArray, Rule
from ._values import as_value, concrete_of, is_traced, require_callable

__all__ = ["Mode", "hessian", "jacobian"]

Mode = Literal["auto", "forward", "reverse"]
"""How :func:`jacobian` builds the matrix: by pullbacks, by pushforwards, or the cheaper."""


@overload
def jacobian(f: Rule[float, float], x: float, mode: Mode = ...) -> float: ...
@overload
def jacobian(f: Rule[float, Array], x: float, mode: Mode = ...) -> Array: ...
@overload
def jacobian(f: Rule[Array, float], x: RealArray, mode: Mode = ...) -> Array: ...
@overload
def jacobian(f: Rule[Array, Array], x: RealArray, mode: Mode = ...) -> Array: ...
# An untyped lambda, traced (mypy): nothing is known of its types, so neither of the result's.
@overload
def jacobian(f: MultiRule[Any, Any], x: float | RealArray, mode: Mode = ...) -> Any: ...


def jacobian(f: Callable[..., Any], x: Any, mode: str = "auto") -> Any:
    """The Jacobian of a rule at ``x``: every output element pulled back in one sweep, or pushed.

    The seeds (one per output element) are pulled back together, stacked
    along a leading axis, in one backward pass over the recorded graph (see
    ``pullback._batching``); inside traced code they are pulled back one by one.

    Args:
        f: a rule of one argument (library, composition, traced or your own).
        x: a float or a float64 array (or a traced value, inside traced code).
        mode: ``"reverse"`` (a pullback of every output element), ``"forward"``
            (a pushforward of every input element, see :func:`pushforward`), or
            ``"auto"``: forward when ``x`` has fewer elements than the output.

    Returns:
        An array of shape ``y.shape + x.shape`` (``J[i, j] = dy_i/dx_j``); a
        float when both are floats; the gradient's shape for a float output.

    Raises:
        TypeError: ``f`` is not a rule, or ``x`` is not a value.
        ValueError: ``mode`` is not one of the three.

    >>> import numpy as np
    >>> from pullback import jacobian, square
    >>> jacobian(square, np.array([1.0, 2.0]))
    array([[2., 0.],
           [0., 4.]])
    >>> jacobian(square, np.array([1.0, 2.0]), mode="forward")
    array([[2., 0.],
           [0., 4.]])
    """
    require_callable(f, "jacobian")
    if mode not in ("auto", "forward", "reverse"):
        raise ValueError(f"jacobian: mode must be 'auto', 'forward' or 'reverse', got {mode!r}")
    if mode == "forward":
        return jacobian_forward(f, x)
    nested = is_traced(x)  # inside traced code: the Jacobian is itself traced
    if not nested:
        x = as_value(x, f"jacobian({rule_name(f)})")
        # Traced (a rule lifted), so that its graph is there to pull a stack of seeds back.
        f = f if isinstance(f, TracedRule) else trace(lift(f))
        y, back = f(x)  # a traced rule checks its argument; its pullback is the graph's
    else:
        y, back = pullback(f, x)
    if mode == "auto" and 0 < np.size(x) < math.prod(np.shape(y)):
        return jacobian_forward(f, x)  # fewer inputs than outputs: a push per input
    return _rows(y, back, x, nested)


def _rows(y: Any, back: Any, x: Any, nested: bool) -> Any:
    """The Jacobian from one forward call ``y, back``: every output element pulled back.

    All the seeds at once, stacked, when ``x`` is concrete; one by one inside
    traced code (so that they are recorded) or for a graph the batched pass
    cannot carry.
    """
    shape = np.shape(y)
    if not shape and type(concrete_of(y)) is float:
        return back(1.0)
    n_out = math.prod(shape)
    if n_out == 0 or np.size(x) == 0:  # no element to seed, or none to differentiate
        return np.zeros(shape + np.shape(x))
    if not nested:
        try:
            rows = in_stacks(lambda seeds: pull_back_batch(back, seeds), shape, widest(back))
        except Unbatchable:
            pass  # a node of a rule of yours: one pullback per row, below
        else:
            return rows.reshape(shape + np.shape(x))  # (the method: no NumPy dispatch)
    rows = []
    for i in range(n_out):
        seed = np.zeros(shape)
        seed.flat[i] = 1.0
        row = back(seed)
        rows.append(row if nested or is_traced(row) else np.asarray(row, dtype=np.float64))
    return np.reshape(np.stack(rows), shape + np.shape(x))


@overload
def hessian(f: Rule[float, float], x: float) -> float: ...
@overload
def hessian(f: Rule[Array, float], x: RealArray) -> Array: ...
@overload
def hessian(f: Rule[Array, Array], x: RealArray) -> Array: ...
@overload
def hessian(f: MultiRule[Any, Any], x: float | RealArray) -> Any: ...
def hessian(f: Callable[..., Any], x: Any) -> Any:
    """The Hessian of a float-valued rule at ``x``: the Jacobian of its gradient.

    The gradient is itself traced and differentiated again, so ``f`` must be
    made of traceable pieces: a traced function, a library primitive or a
    composition of them.

    Args:
        f: a float-valued rule of one argument.
        x: a float or a float64 array.

    Returns:
        A float for a float ``x``; an array of shape ``x.shape + x.shape``.

    Raises:
        TypeError: ``f`` is not a rule, ``x`` is not a value, or ``f`` is not traceable.

    >>> import numpy as np
    >>> from pullback import hessian, ops, trace
    >>> rosenbrock = trace(lambda v: (1 - v[0]) ** 2 + 100 * (v[1] - v[0] ** 2) ** 2)
    >>> hessian(rosenbrock, np.array([1.0, 1.0]))
    array([[ 802., -400.],
           [-400.,  200.]])
    """
    require_callable(f, "hessian")
    traced = f if isinstance(f, TracedRule) else trace(lift(f))
    nested = is_traced(x)
    if not nested:
        x = as_value(x, f"hessian({rule_name(f)})")
    gradient_of = trace(lambda v: gradient(traced, v))
    # Reverse over reverse: the traced gradient's rows, all pulled back in one batched
    # pass. (Forward over reverse, every basis tangent pushed through the gradient's
    # transpose at once, measured 1.4-1.8x slower at every n from 2 to 100: it records
    # one backward pass more.) Straight to the rows: jacobian's checks are done here.
    y, back = pullback(gradient_of, x) if nested else gradient_of(x)
    return _rows(y, back, x, nested)
