"""The vocabulary as types: values, pullbacks and rules (no logic lives here)."""

from __future__ import annotations

from typing import Any, Protocol, TypeVar

import numpy as np
from numpy.typing import NDArray
from typing_extensions import TypeVarTuple, Unpack

__all__ = [
    "Array",
    "ElementwiseFunction",
    "ElementwiseRule",
    "Labels",
    "MultiRule",
    "Pullback",
    "RealArray",
    "Rule",
    "V",
    "Y",
]

Array = NDArray[np.float64]
"""A NumPy ``float64`` array of any shape."""

V = TypeVar("V", float, Array)
"""A value: a Python ``float`` or a ``float64`` array (constrained, so a rule keeps its kind)."""

Value = float | Array

RealArray = NDArray[np.floating[Any] | np.integer[Any]]
"""An array the API accepts: any real float or integer dtype (converted to a new ``float64`` array).

A Python ``int`` and a NumPy float scalar need no alias: ``float`` accepts both
statically (``int`` by promotion, ``np.float64`` as a subclass).
"""

Labels = Array | NDArray[np.integer[Any]]
"""Labels of a classifier: one-hot (or probability) rows, or class indices (an integer array)."""

Y = TypeVar("Y", bound=float | np.floating[Any] | np.integer[Any] | NDArray[Any])
"""A rule's output where a derivative needs a value: a number or an array, never a str or a pair.

NumPy scalars are in the bound because NumPy's own functions are typed to return them
(``np.sum(x)``), and the library takes them as the float they are.
"""

_In = TypeVar("_In")
_Out = TypeVar("_Out")
_Dy = TypeVar("_Dy", contravariant=True)
_Dx = TypeVar("_Dx", covariant=True)
_Args = TypeVarTuple("_Args")


class Pullback(Protocol[_Dy, _Dx]):
    """The backward closure of one forward call: maps ``dy`` to ``dx``."""

    def __call__(self, dy: _Dy, /) -> _Dx: ...


class Rule(Protocol[_In, _Out]):
    """A rule of one argument: ``rule(x) -> (y, pullback)`` with ``pullback(dy) -> dx``.

    Any function of this shape is a rule; its type parameters are invariant,
    so a ``float`` rule and an array rule do not mix.
    """

    def __call__(self, x: _In, /) -> tuple[_Out, Pullback[_Out, _In]]: ...


class ElementwiseRule(Protocol):
    """A rule that works on floats and on arrays alike (``exp``, ``scale(2.0)``, ...)."""

    def __call__(self, x: V, /) -> tuple[V, Pullback[V, V]]: ...


class ElementwiseFunction(Protocol):
    """A value-level elementwise function (what :func:`pullback.lift` makes of ``exp``)."""

    def __call__(self, x: V, /) -> V: ...


class MultiRule(Protocol[Unpack[_Args], _Out]):
    """A rule of several arguments: its pullback returns one cotangent per argument."""

    def __call__(self, *xs: Unpack[_Args]) -> tuple[_Out, Pullback[_Out, tuple[Unpack[_Args]]]]: ...
