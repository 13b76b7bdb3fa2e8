"""Type tests for the public API, checked by ``mypy --strict`` (never run).

``assert_type`` lines state what mypy must infer; a line ending in
``# type: ignore[code]`` must be an error of that code (mypy --strict warns
about an unused ignore, so an error that goes missing fails the check).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import assert_type

import numpy as np

import pullback as pb
from pullback import Array, Composition, ElementwiseComposition, Pullback


def cube(x: float) -> tuple[float, Callable[[float], float]]:
    return x**3, lambda dy: dy * 3 * x * x


def row_sum(x: Array) -> tuple[Array, Callable[[Array], Array]]:
    return x, lambda dy: dy


def rules_and_values() -> None:
    a: Array = np.zeros(3)
    assert_type(pb.exp(1.0), tuple[float, Pullback[float, float]])
    assert_type(pb.exp(a), tuple[Array, Pullback[Array, Array]])
    assert_type(pb.scale(2.0)(1.0), tuple[float, Pullback[float, float]])
    assert_type(pb.scale(2.0)(a), tuple[Array, Pullback[Array, Array]])
    assert_type(pb.mul(2.0, 3.0), tuple[float, Pullback[float, tuple[float, float]]])
    _y, back = pb.sigmoid(0.5)
    assert_type(back(1.0), float)


def gradients() -> None:
    a: Array = np.zeros(3)
    assert_type(pb.gradient(pb.exp, 1.0), float)
    assert_type(pb.gradient(pb.exp, a), Array)
    assert_type(pb.gradient(pb.mul, 2.0, 3.0), tuple[float, float])
    assert_type(pb.gradient(pb.div, a, a), tuple[Array, Array])
    assert_type(pb.value_and_gradient(pb.sigmoid, 0.0), tuple[float, float])
    assert_type(pb.value_and_gradient(pb.add, 1.0, 2.0), tuple[float, tuple[float, float]])
    y, back = pb.pullback(pb.tanh, 0.5)
    assert_type(y, float)
    assert_type(back(1.0), float)


def compositions() -> None:
    a: Array = np.zeros(3)
    chain = pb.compose(pb.power(-1), pb.add_const(1), pb.exp, pb.scale(-1))
    assert_type(chain, ElementwiseComposition)
    assert_type(pb.gradient(chain, 1.0), float)
    assert_type(pb.gradient(chain, a), Array)
    assert_type(pb.compose(), ElementwiseComposition)
    # A user's float rule composes with library rules; the result is a float rule.
    mixed = pb.compose(pb.exp, cube, pb.scale(2.0))
    assert_type(mixed, Composition[float, float])
    assert_type(pb.gradient(mixed, 1.0), float)
    assert_type(pb.gradient(pb.compose(cube, pb.sin), 1.0), float)
    assert_type(pb.compose(row_sum, pb.exp), Composition[Array, Array])


def expected_errors() -> None:
    a: Array = np.zeros(3)
    # A float-only rule composed with an array-only rule.
    pb.compose(cube, row_sum)  # type: ignore[misc]
    # A string where a value belongs.
    pb.gradient(pb.exp, "1.0")  # type: ignore[arg-type, type-var]
    pb.exp("1.0")  # type: ignore[type-var]
    # Something that is not a rule, in compose and in gradient.
    pb.compose(pb.exp, 3)  # type: ignore[call-overload]
    pb.gradient(3.0, 1.0)  # type: ignore[arg-type]
    # mul with one argument.
    pb.gradient(pb.mul, 2.0)  # type: ignore[arg-type]
    # A float gradient is not a str.
    s: str = pb.gradient(pb.exp, 1.0)  # type: ignore[assignment]
    # A float rule at an array.
    pb.gradient(cube, a)  # type: ignore[arg-type]
    del s


def price(apple: float, count: float, tax: float) -> float:
    return apple * count * tax


def loss(params: dict[str, Array]) -> float:
    return pb.ops.sum(params["w"])


def traced_functions() -> None:
    assert_type(pb.gradient(pb.trace(price), 100.0, 2.0, 1.1), tuple[float, float, float])
    assert_type(pb.gradient(pb.trace(pb.ops.sin), 1.0), float)
    params: dict[str, Array] = {"w": np.zeros(3)}
    assert_type(pb.gradient(pb.trace(loss), params), dict[str, Array])
    assert_type(pb.ops.exp(1.0), float)
    assert_type(pb.hessian(pb.trace(pb.ops.sin), 1.0), float)
    pb.gradient(pb.trace(price), 100.0, 2.0)  # type: ignore[arg-type, call-arg]


def walkthroughs_and_higher_order() -> None:
    w = pb.walkthrough(pb.sigmoid, 1.0)
    assert_type(w, pb.Walkthrough[float, float])
    assert_type(w.table(), str)
    assert_type(w.to_dot(), str)
    assert_type(w.steps, tuple[pb.Step, ...])
    a: Array = np.zeros(2)
    assert_type(pb.jacobian(pb.sin, a), Array)
    y, back = pb.pullback(pb.affine, np.ones((2, 3)), np.ones((3, 4)), np.zeros(4))
    assert_type(y, Array)
    assert_type(back(np.ones((2, 4))), tuple[Array, Array, Array])
    assert_type(pb.softmax_cross_entropy(np.ones((2, 3)), np.array([0.0, 1.0]))[0], float)
    pb.walkthrough(pb.sigmoid, "1.0", name=3)  # type: ignore[call-overload]
