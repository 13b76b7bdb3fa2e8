"""``pullback.compiled``: the public entry point, typed as ``trace`` is."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar, overload

from typing_extensions import TypeVarTuple, Unpack

from .._types import MultiRule, Rule
from .rule import CompiledRule

__all__ = ["compiled"]

_X = TypeVar("_X")
_Y = TypeVar("_Y")
_Args = TypeVarTuple("_Args")


@overload
def compiled(f: Rule[_X, _Y]) -> Rule[_X, _Y]: ...  # type: ignore[overload-overlap]
@overload
def compiled(f: MultiRule[Unpack[_Args], _Y]) -> MultiRule[Unpack[_Args], _Y]: ...
@overload
def compiled(f: Callable[[_X], _Y]) -> Rule[_X, _Y]: ...
@overload
def compiled(f: Callable[[Unpack[_Args]], _Y]) -> MultiRule[Unpack[_Args], _Y]: ...
def compiled(f: Callable[..., Any]) -> Any:
    """A traced function compiled to straight-line code for calls of the same shapes (opt-in).

    The first call with a signature (the arguments' structure, kinds, shapes
    and dtypes) records ``f`` once and writes its operations out as Python
    code, forward and backward, each derivative its table entry's; later calls
    with that signature run that code. The recording keeps guards of what the
    trace depended on (the outcome of every comparison used for control flow,
    the value of anything made an ``int`` or an index): a call that fails one
    is recorded again, and the variants are kept side by side. The gradients
    are the traced path's (``trace(f)``), bit for bit.

    The contract is ``jax.jit``'s: ``f`` must depend only on its arguments.
    Values it reads from elsewhere (a global, a closure, an array it made) are
    constants frozen at the first call of a signature, and side effects
    (printing, appending to a list) happen during that call only. Calls the
    compiler cannot take run the traced path: traced arguments (nested
    differentiation), a derivative taken inside ``f``, a special value met by
    the float code (``exp(1000.0)``), more than eight variants of one signature.

    Args:
        f: a function of values, as for :func:`pullback.trace`, or a traced rule.

    Returns:
        A rule: ``compiled(f)(*xs) -> (y, pullback)``, accepted wherever
        ``trace(f)`` is (``gradient``, ``value_and_gradient``, ``pullback``).

    Raises:
        TypeError: ``f`` is not callable (here); when the rule runs, what
            ``trace(f)`` raises.

    >>> import numpy as np
    >>> from pullback import compiled, gradient
    >>> @compiled
    ... def loss(w, x):
    ...     return np.sum(np.tanh(x @ w) ** 2) if np.all(x > 0) else np.sum(w)
    >>> w, x = np.array([0.5, -0.25]), np.array([[1.0, 2.0], [3.0, 4.0]])
    >>> gradient(loss, w, x)[0]          # recorded and compiled on this call
    array([2.18058594, 2.90744793])
    >>> gradient(loss, w, -x)[0]         # a guard fails: the other branch
    array([1., 1.])
    """
    return CompiledRule(f)
