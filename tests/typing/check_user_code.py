"""Realistic user code: correct, fully annotated, and every line accepted by both checkers.

Checked by ``mypy --strict`` and ``pyright`` (strict), never run. Each
``assert_type`` states the type both checkers must infer (an ``Any`` or an
``Unknown`` there is a failure); every other line must simply be accepted.
``tests/typing/count.py`` counts the lines either checker rejects.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypedDict, assert_type

import numpy as np

import pullback as pb
from pullback import Array, Composition, Pullback, Rule


# A user's rules: one argument, two arguments, an array rule.
def cube(x: float) -> tuple[float, Pullback[float, float]]:
    def cube_pullback(dy: float) -> float:
        return dy * 3.0 * x * x

    return x**3, cube_pullback


def hypot_rule(a: float, b: float) -> tuple[float, Pullback[float, tuple[float, float]]]:
    r = (a * a + b * b) ** 0.5

    def hypot_pullback(dy: float) -> tuple[float, float]:
        return dy * a / r, dy * b / r

    return r, hypot_pullback


def total(x: Array) -> tuple[float, Callable[[float], Array]]:
    def total_pullback(dy: float) -> Array:
        return np.full_like(x, dy)

    return float(np.sum(x)), total_pullback


# Traced functions of floats, arrays, dicts and TypedDicts.
def price(apple: float, apples: float, tax: float) -> float:
    return apple * apples * tax


def fourth(x: float) -> float:
    return x**4


def rosenbrock_of(v: Array) -> float:
    value: float = (1 - v[0]) ** 2 + 100 * (v[1] - v[0] ** 2) ** 2  # NumPy types v[0] as Any
    return value


def squares(v: Array) -> Array:
    return v * v


class Params(TypedDict):
    w: Array
    b: float


def model_loss(params: Params, x: Array) -> float:
    return pb.ops.sum((x @ params["w"] + params["b"]) ** 2) / len(x)


def dict_loss(params: dict[str, Array | float], x: Array) -> float:
    return pb.ops.sum(x * params["w"] + params["b"])


def sgd(params: Params, grads: Params, learning_rate: float) -> Params:
    return {
        "w": params["w"] - learning_rate * grads["w"],
        "b": params["b"] - learning_rate * grads["b"],
    }


# Higher-order helpers of the user's own.
def twice(f: Rule[float, float]) -> Rule[float, float]:
    return pb.compose(f, f)


def slope_at(f: Rule[float, float], x: float) -> float:
    return pb.gradient(f, x)


def chain_of(rules: Sequence[Rule[float, float]]) -> Composition[float, float]:
    return pb.compose(*rules)


def stage_count(c: Composition[float, float]) -> int:
    return len(c.stages)


def seeds_examples() -> None:
    a: Array = np.array([-1.0, 0.0, 1.0])
    f = pb.compose(pb.square, pb.exp, pb.square)
    assert_type(pb.gradient(f, 0.5), float)
    sigmoid = pb.compose(pb.power(-1), pb.add_const(1), pb.exp, pb.scale(-1))
    y, back = pb.pullback(sigmoid, 1.0)
    assert_type(y, float)
    assert_type(back(1.0), float)
    assert_type(pb.gradient(sigmoid, a), Array)
    assert_type(pb.gradient(pb.mul, 2.0, 3.0), tuple[float, float])
    assert_type(pb.value_and_gradient(pb.mul, a, a), tuple[Array, tuple[Array, Array]])
    assert_type(pb.value_and_gradient(pb.sigmoid, 0.0), tuple[float, float])


def compositions() -> None:
    a: Array = np.zeros(3)
    sigmoid = pb.compose(pb.power(-1), pb.add_const(1), pb.exp, pb.scale(-1))
    assert_type(len(sigmoid.stages), int)
    y, back = sigmoid.forward(1.0)
    assert_type(y, float)
    assert_type(back(1.0), float)
    assert_type(sigmoid.value_and_gradient(1.0), tuple[float, float])
    assert_type(sigmoid.value_and_gradient(a), tuple[Array, Array])
    mixed = pb.compose(pb.exp, cube, pb.scale(2.0))
    assert_type(mixed, Composition[float, float])
    assert_type(mixed.value_and_gradient(1.0), tuple[float, float])
    assert_type(mixed.forward(1.0)[1](1.0), float)
    assert_type(pb.gradient(pb.compose(pb.sin, cube), 0.5), float)
    six = pb.compose(cube, pb.sin, cube, pb.exp, cube, pb.tanh)
    assert_type(six, Composition[float, float])
    ten = pb.compose(cube, pb.sin, cube, pb.exp, cube, pb.tanh, cube, cube, pb.sin, cube)
    assert_type(pb.gradient(ten, 0.1), float)
    assert_type(pb.compose(total, pb.exp), Composition[Array, float])
    assert_type(pb.gradient(pb.compose(total, pb.exp), a), Array)
    assert_type(twice(cube)(1.0)[0], float)
    assert_type(slope_at(pb.sin, 0.0), float)
    assert_type(stage_count(mixed), int)
    assert_type(stage_count(chain_of([cube, pb.sin])), int)
    assert_type(pb.gradient(chain_of([cube, cube]), 1.0), float)
    assert_type(stage_count(sigmoid), int)


def ints_and_scalars() -> None:
    assert_type(pb.gradient(pb.exp, 1), float)
    assert_type(pb.gradient(pb.mul, 2, 3), tuple[float, float])
    assert_type(pb.gradient(pb.square, np.arange(3)), Array)
    assert_type(pb.gradient(pb.exp, np.float64(0.5)), float)
    assert_type(pb.gradient(cube, 2), float)
    assert_type(pb.value_and_gradient(pb.sin, 0), tuple[float, float])
    assert_type(pb.pullback(pb.tanh, 1)[0], float)


def user_rules() -> None:
    a: Array = np.ones(3)
    pb.check_rule(cube, 0.7)
    pb.check_rule(hypot_rule, 3.0, 4.0)
    pb.check_rule(total, a)
    pb.check_rule(pb.mul, 2.0, -3.0)
    assert_type(pb.gradient(hypot_rule, 3.0, 4.0), tuple[float, float])
    assert_type(pb.gradient(total, a), Array)
    assert_type(pb.numerical_gradient(cube, 0.5), float)
    assert_type(pb.numerical_gradient(hypot_rule, 3.0, 4.0), tuple[float, float])
    assert_type(pb.numerical_gradient(total, a), Array)
    assert_type(pb.numerical_gradient(pb.exp, 0.0), float)
    assert_type(pb.numerical_gradient(fourth, 1.0), float)
    assert_type(pb.numerical_gradient(rosenbrock_of, a, eps=1e-5), Array)


def traced() -> None:
    a: Array = np.array([1.0, 1.0])
    assert_type(pb.gradient(pb.trace(price), 100.0, 2.0, 1.1), tuple[float, float, float])
    assert_type(pb.gradient(pb.trace(fourth), 0.5), float)
    rosenbrock = pb.trace(rosenbrock_of)
    assert_type(pb.gradient(rosenbrock, a), Array)
    assert_type(pb.hessian(rosenbrock, a), Array)
    assert_type(pb.hessian(pb.trace(fourth), 1.0), float)
    assert_type(pb.jacobian(pb.trace(squares), a), Array)
    assert_type(pb.jacobian(pb.sin, a, mode="forward"), Array)
    assert_type(pb.jacobian(pb.sin, 1.0), float)
    assert_type(pb.jacobian(total, a), Array)
    params: Params = {"w": np.zeros(2), "b": 0.0}
    grads, dx = pb.gradient(pb.trace(model_loss), params, np.ones((4, 2)))
    assert_type(grads, Params)
    assert_type(dx, Array)
    params = sgd(params, grads, 0.1)
    loose: dict[str, Array | float] = {"w": np.zeros(2), "b": 0.5}
    assert_type(pb.gradient(pb.trace(dict_loss), loose, a)[0], dict[str, Array | float])
    my_exp = pb.lift(pb.exp)
    assert_type(my_exp(0.0), float)
    assert_type(my_exp(a), Array)
    assert_type(pb.lift(cube)(1.0), float)
    assert_type(pb.lift(pb.mul)(2.0, 3.0), float)


def training() -> None:
    x, w1, b1 = np.ones((8, 4)), np.ones((4, 5)), np.zeros(5)
    labels = np.array([0, 1, 2, 1, 0, 2, 1, 0])
    loss, back = pb.softmax_cross_entropy(pb.affine(x, w1, b1)[0], labels)
    assert_type(loss, float)
    assert_type(back(1.0), tuple[Array, Array])
    one_hot: Array = np.eye(5)[labels]
    assert_type(pb.softmax_cross_entropy(np.ones((8, 5)), one_hot)[0], float)
    assert_type(pb.ops.softmax_cross_entropy(np.ones((8, 5)), labels), float)


def walkthroughs() -> None:
    w = pb.walkthrough(pb.sigmoid, 1.0)
    assert_type(w.value, float)
    assert_type(w.gradient, float)
    assert_type(w.steps[0].value, float | Array)
    assert_type(w.steps[0].cotangent, float | Array | None)
    assert_type(str(w), str)
    wm = pb.walkthrough(pb.mul, 2.0, 3.0, name="mul")
    assert_type(wm.gradient, tuple[float, float])
    assert_type(pb.walkthrough(total, np.ones(3)).gradient, Array)


def forward_mode() -> None:
    a: Array = np.zeros(3)
    y, push = pb.pushforward(pb.sin, 0.5)
    assert_type(push(1.0), float)
    assert_type(pb.pushforward(pb.exp, 1)[0], float)
    assert_type(pb.jvp(pb.mul, (2.0, 3.0), (1.0, 0.0)), tuple[float, float])
    assert_type(pb.hvp(pb.trace(rosenbrock_of), a, a), Array)
    assert_type(pb.hvp(pb.sin, 0.5, 1.0), float)
    assert_type(y, float)
