"""``compose``: chains rules into one rule.

A composition keeps its stages in a frozen tuple. Its forward pass is a loop
that collects each stage's pullback; its backward pass is a loop over those
pullbacks in reverse. Neither recurses and no closure nests another, so a
composition of 100,000 stages runs at a constant cost per stage. A chain made
only of the library's elementwise primitives also has a fused form (see
``_fused``) that a float takes when nothing special happens on the way.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial
from typing import TYPE_CHECKING, Any, Generic, NoReturn, TypeVar, overload

import numpy as np

from . import _fused
from . import _ieee as ieee
from ._stage_errors import rule_name, stage_error
from ._types import Array, ElementwiseRule, Pullback, Rule, V
from ._values import as_value, cotangent_for, owned

__all__ = [
    "ChainPullback",
    "Composition",
    "ElementwiseComposition",
    "compose",
    "fused_form",
    "scalar_pullback",
]

_A = TypeVar("_A")
_B = TypeVar("_B")
_C = TypeVar("_C")
_D = TypeVar("_D")
_E = TypeVar("_E")
_F = TypeVar("_F")
_G = TypeVar("_G")
_H = TypeVar("_H")
_I = TypeVar("_I")
_In = TypeVar("_In")
_Out = TypeVar("_Out")


class Composition(Generic[_In, _Out]):
    """One rule made of stages; ``Composition((f, g, h))(x)`` computes ``f(g(h(x)))``.

    Made by :func:`compose`; immutable. ``stages`` lists the rules outermost
    first, as they were given; stage 1 is the one applied first (the last
    listed); a composition among the stages contributes its own stages (it is
    kept as one part and flattened on first use, so nesting is linear).
    ``fused`` is the fused form that floats and float64 arrays take when every
    stage is one of the library's elementwise primitives (else None); it is
    planned and its float code compiled on first use, and kept here, with the
    composition (it does not refer back to it: no reference cycle).

    >>> from pullback import compose, exp, sin
    >>> f = compose(sin, exp)
    >>> f.stages
    (<function sin at 0x...>, <function exp at 0x...>)
    >>> y, back = f(0.0)
    >>> round(y, 12), round(back(1.0), 12)
    (0.841470984808, 0.540302305868)
    """

    __slots__ = ("__weakref__", "_flat", "_parts", "fused")
    _parts: tuple[Callable[..., Any], ...]
    _flat: tuple[tuple[Callable[..., Any], ...], tuple[Callable[..., Any], ...]] | None
    fused: _fused.FusedChain | None

    def __init__(self, stages: Sequence[Callable[..., Any]]) -> None:
        # A nested composition is kept as one part, not copied stage by stage, and
        # the fused form is planned on first use: building compose(compose(...))
        # costs the same at every level, so deep nesting is linear, not quadratic.
        parts = tuple(s for s in stages if not (type(s) is Composition and not s._parts))
        set_ = object.__setattr__
        set_(self, "_parts", parts)
        set_(self, "_flat", None)
        fusible = bool(parts) and all(
            part.fused is not None if type(part) is Composition else _fused.fusible(part)
            for part in parts
        )
        # The fused form gets the parts, never the composition: no reference cycle.
        set_(self, "fused", _fused.FusedChain(partial(_order_of, parts)) if fusible else None)

    @property
    def stages(self) -> tuple[Callable[..., Any], ...]:
        """The rules, outermost first (nested compositions contribute their stages)."""
        return self._flattened()[0]

    @property
    def _order(self) -> tuple[Callable[..., Any], ...]:
        return self._flattened()[1]

    def _flattened(self) -> tuple[tuple[Callable[..., Any], ...], tuple[Callable[..., Any], ...]]:
        flat = self._flat
        if flat is None:  # benign race: two threads may flatten at once, alike
            stages = _flatten(self._parts)
            flat = (stages, stages[::-1])
            object.__setattr__(self, "_flat", flat)
        return flat

    def __setattr__(self, name: str, value: object) -> NoReturn:
        raise AttributeError("a composition is immutable")

    def __repr__(self) -> str:
        return "compose(" + ", ".join(rule_name(s) for s in self.stages) + ")"

    def __call__(self, x: _In, /) -> tuple[_Out, Pullback[_Out, _In]]:
        """Run the stages on ``x``; return ``(y, pullback)``."""
        fused = self.fused
        if fused is not None:
            if type(x) is float:
                try:
                    value, derivative = fused.value_and_gradient(x)  # type: ignore[arg-type]
                except (ArithmeticError, ValueError):
                    pass  # a special value on the way: the stage-by-stage path is IEEE-exact
                else:
                    return value, scalar_pullback(derivative, self)  # type: ignore[return-value]
            elif type(x) is np.ndarray and x.dtype == np.float64:  # type: ignore[attr-defined]
                values, derivatives = fused.array_value_and_gradient(x)  # type: ignore[arg-type]
                return values, array_pullback(derivatives, self)  # type: ignore[return-value]
        return self.forward(x)

    def forward(self, x: _In) -> tuple[_Out, ChainPullback[_Out, _In]]:
        """Run the stages one by one, keeping every pullback (no fused shortcut).

        Args:
            x: the input value.

        Returns:
            ``(y, pullback)``; the pullback holds each stage's own pullback.

        Raises:
            TypeError, ValueError: from a stage, its message naming the stage.

        >>> from pullback import compose, exp, scale
        >>> y, back = compose(exp, scale(2.0)).forward(0.0)
        >>> y, back(1.0), len(back.pullbacks)
        (1.0, 2.0, 2)
        """
        order = self._order
        y: Any = x  # each stage's value in turn, of each stage's own type
        if not order:  # the identity: a value of its own, never the argument itself
            y = as_value(y, "compose()")
            y = y.copy() if type(y) is np.ndarray else y
            return y, ChainPullback(self, (), y)
        pullbacks: list[Callable[[Any], Any]] = []
        push = pullbacks.append
        try:
            for stage in order:
                y, back = stage(y)
                push(back)
        except Exception as err:
            raise self._stage_error(err, len(pullbacks)) from err
        return y, ChainPullback(self, tuple(pullbacks), y)

    def value_and_gradient(self, x: _In) -> tuple[_Out, _In]:
        """The value and the gradient (seed 1.0) at a float in one pass.

        This is what :func:`pullback.gradient` calls for a composition and a
        float; an array, or a float that meets a special value on the way,
        goes through :meth:`forward` and the pullbacks.

        Args:
            x: the input value.

        Returns:
            ``(y, dy/dx)``.

        >>> from pullback import compose, exp, square
        >>> compose(square, exp, square).value_and_gradient(0.5)
        (1.648721270700128, 3.297442541400256)
        """
        fused = self.fused
        if fused is not None:
            if type(x) is float:
                try:
                    return fused.value_and_gradient(x)  # type: ignore[arg-type, return-value]
                except (ArithmeticError, ValueError):
                    pass
            elif type(x) is np.ndarray and x.dtype == np.float64:  # type: ignore[attr-defined]
                return fused.array_value_and_gradient(x)  # type: ignore[arg-type, return-value]
        y, back = self.forward(x)
        seed: Any = 1.0 if type(y) is float else _ones_like(y)
        g = back(seed)
        if type(g) is float:
            return y, g
        out: list[Any] = owned([y, g], (x,))  # a stage of the user's may hand back its argument
        return out[0], out[1]

    def _stage_error(self, err: Exception, index: int) -> Exception:
        stage = self._order[index]
        where = f"stage {index + 1} of {len(self._order)}"
        return stage_error(err, where, rule_name(stage))


class ChainPullback(Generic[_Out, _In]):
    """The pullback of one forward call of a composition: the stages' pullbacks in a row.

    Calling it runs them last stage first, in a loop. It holds no state that a
    call changes, so it can be called any number of times, from any thread.
    Given the forward value, it checks the cotangent as every checked pullback
    does (the value's kind and shape), as the fused paths' pullbacks do.
    """

    __slots__ = ("composition", "pullbacks", "value")
    composition: Composition[_In, _Out]
    pullbacks: tuple[Callable[[Any], Any], ...]
    value: Any

    def __init__(
        self,
        composition: Composition[_In, _Out],
        pullbacks: tuple[Callable[[Any], Any], ...],
        value: Any = None,
    ):
        object.__setattr__(self, "composition", composition)
        object.__setattr__(self, "pullbacks", pullbacks)
        object.__setattr__(self, "value", value)

    def __setattr__(self, name: str, value: object) -> NoReturn:
        raise AttributeError("a pullback is immutable")

    def __call__(self, dy: _Out, /) -> _In:
        y = self.value
        g: Any = dy  # each stage's cotangent in turn, of each stage's own type
        if not (type(g) is float and type(y) is float) and (
            type(y) is float or type(y) is np.ndarray
        ):
            g = cotangent_for(g, y, f"the pullback of {rule_name(self.composition)}")
        pullbacks = self.pullbacks
        i = len(pullbacks)
        if not i:  # the identity's pullback: a cotangent of its own
            return g.copy() if type(g) is np.ndarray else g  # type: ignore[return-value]
        try:
            while i:
                i -= 1
                g = pullbacks[i](g)
        except Exception as err:
            raise self.composition._stage_error(err, i) from err
        return g  # type: ignore[no-any-return]

    def __repr__(self) -> str:
        return f"<pullback of {self.composition!r}>"


def _flatten(parts: tuple[Callable[..., Any], ...]) -> tuple[Callable[..., Any], ...]:
    """The stages of nested parts, outermost first, with an explicit stack (no recursion)."""
    out: list[Callable[..., Any]] = []
    stack = [iter(parts)]
    while stack:
        for part in stack[-1]:
            if type(part) is Composition:
                flat = part._flat
                if flat is not None:
                    out.extend(flat[0])
                    continue
                stack.append(iter(part._parts))
                break
            out.append(part)
        else:
            stack.pop()
    return tuple(out)


def _order_of(parts: tuple[Callable[..., Any], ...]) -> tuple[Callable[..., Any], ...]:
    return _flatten(parts)[::-1]


def fused_form(f: object) -> _fused.FusedChain | None:
    """The compiled float form of a composition or a named primitive, else None."""
    if type(f) is Composition:
        return f.fused
    primitives: dict[Any, _fused.FusedChain] = _fused.PRIMITIVES
    try:
        return primitives.get(f)
    except TypeError:  # an unhashable rule
        return None


def scalar_pullback(derivative: float, rule: object) -> Callable[[float], float]:
    """The pullback of a fused chain at a float: ``dy -> dy * dy/dx``."""

    def chain_pullback(dy: float) -> float:
        if type(dy) is not float:
            checked: Any = cotangent_for(dy, derivative, f"the pullback of {rule_name(rule)}")
            return float(checked * derivative)
        return dy * derivative

    return chain_pullback


def array_pullback(derivatives: Array, rule: object) -> Callable[[Any], Array]:
    """The pullback of a fused chain at an array: ``dy -> dy * dy/dx``, elementwise."""

    def chain_pullback(dy: Any) -> Array:
        if not (
            type(dy) is np.ndarray and dy.dtype == np.float64 and dy.shape == derivatives.shape
        ):
            dy = cotangent_for(dy, derivatives, f"the pullback of {rule_name(rule)}")
        return ieee.mul(dy, derivatives)

    return chain_pullback


def _ones_like(y: Any) -> Any:
    return np.ones_like(y, dtype=np.float64)


if TYPE_CHECKING:

    class ElementwiseComposition(Composition[float, float]):
        """What :func:`compose` returns for library elementwise rules only: floats and arrays alike.

        A static type only: at run time it is :class:`Composition` itself. As a
        ``Composition[float, float]`` it goes wherever one is expected.
        """

        def __call__(self, x: V, /) -> tuple[V, Pullback[V, V]]: ...
        def forward(self, x: V) -> tuple[V, ChainPullback[V, V]]: ...
        def value_and_gradient(self, x: V) -> tuple[V, V]: ...

else:
    ElementwiseComposition = Composition


@overload
def compose(*fs: ElementwiseRule) -> ElementwiseComposition: ...
@overload
def compose(f: Rule[_A, _B], /) -> Composition[_A, _B]: ...
@overload
def compose(f: Rule[_B, _C], g: Rule[_A, _B], /) -> Composition[_A, _C]: ...
@overload
def compose(f: Rule[_C, _D], g: Rule[_B, _C], h: Rule[_A, _B], /) -> Composition[_A, _D]: ...
@overload
def compose(
    f: Rule[_D, _E],
    g: Rule[_C, _D],
    h: Rule[_B, _C],
    i: Rule[_A, _B],
    /,
) -> Composition[_A, _E]: ...
@overload
def compose(
    f: Rule[_E, _F],
    g: Rule[_D, _E],
    h: Rule[_C, _D],
    i: Rule[_B, _C],
    j: Rule[_A, _B],
    /,
) -> Composition[_A, _F]: ...
@overload
def compose(
    f: Rule[_F, _G],
    g: Rule[_E, _F],
    h: Rule[_D, _E],
    i: Rule[_C, _D],
    j: Rule[_B, _C],
    k: Rule[_A, _B],
    /,
) -> Composition[_A, _G]: ...
@overload
def compose(
    f: Rule[_G, _H],
    g: Rule[_F, _G],
    h: Rule[_E, _F],
    i: Rule[_D, _E],
    j: Rule[_C, _D],
    k: Rule[_B, _C],
    n: Rule[_A, _B],
    /,
) -> Composition[_A, _H]: ...
@overload
def compose(
    f: Rule[_H, _I],
    g: Rule[_G, _H],
    h: Rule[_F, _G],
    i: Rule[_E, _F],
    j: Rule[_D, _E],
    k: Rule[_C, _D],
    n: Rule[_B, _C],
    m: Rule[_A, _B],
    /,
) -> Composition[_A, _I]: ...
# Nine stages or more: a chain of one type throughout (a float chain, an array chain).
@overload
def compose(
    f: Rule[_A, _A],
    g: Rule[_A, _A],
    h: Rule[_A, _A],
    i: Rule[_A, _A],
    j: Rule[_A, _A],
    k: Rule[_A, _A],
    n: Rule[_A, _A],
    m: Rule[_A, _A],
    o: Rule[_A, _A],
    /,
    *more: Rule[_A, _A],
) -> Composition[_A, _A]: ...
def compose(*rules: Any) -> Any:
    """Chain rules into one rule: ``compose(f, g, h)(x)`` computes ``f(g(h(x)))``.

    The order is that of mathematics and of Julia's ``∘``: the last rule is
    applied first. ``compose()`` is the identity; a composition given to
    ``compose`` contributes its stages. Any function returning
    ``(value, pullback)`` is a rule.

    Args:
        *rules: the rules, outermost first.

    Returns:
        A :class:`Composition`, itself a rule: ``y, back = c(x)``.

    Raises:
        TypeError: an argument is not callable (raised here, not at the first call).

    >>> from pullback import add_const, compose, exp, power, scale
    >>> sigmoid = compose(power(-1), add_const(1), exp, scale(-1))
    >>> sigmoid
    compose(power(-1), add_const(1.0), exp, scale(-1.0))
    >>> y, back = sigmoid(1.0)
    >>> y, back(1.0)
    (0.7310585786300049, 0.19661193324148188)
    """
    for position, rule in enumerate(rules, start=1):
        if not callable(rule):
            raise TypeError(
                f"compose: argument {position} is not a rule (got {type(rule).__name__} "
                f"{rule!r:.40}); a rule is a callable returning (value, pullback), "
                "such as exp or scale(2.0)"
            )
    return Composition(rules)
