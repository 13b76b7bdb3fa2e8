"""The vocabulary as types: values, pullbacks and rules (no logic lives here)."""

from __future__ import annotations

from typing import Protocol, TypeVar

import numpy as np
from numpy.typing import NDArray
from typing_extensions import TypeVarTuple, Unpack

__all__ = [
    "Array",
    "ElementwiseRule",
    "MultiRule",
    "Pullback",
    "Rule",
    "V",
]

Array = NDArray[np.float64]
"""A NumPy ``float64`` array of any shape."""

V = TypeVar("V", float, Array)
"""A value: a Python ``float`` or a ``float64`` array (constrained, so a rule keeps its kind)."""

Value = float | Array

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


class MultiRule(Protocol[Unpack[_Args], _Out]):
    """A rule of several arguments: its pullback returns one cotangent per argument."""

    def __call__(self, *xs: Unpack[_Args]) -> tuple[_Out, Pullback[_Out, tuple[Unpack[_Args]]]]: ...
