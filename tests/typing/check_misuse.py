"""Misuse: every marked line is an error under both checkers (checked, never run).

A line ending in ``# type: ignore[code]`` must be an error of that code under
mypy (``warn_unused_ignores``) and an error under pyright
(``reportUnnecessaryTypeIgnoreComment``: pyright honours the comment and says
when it is not needed). ``tests/typing/count.py`` strips the comments and
counts, per checker, the marked lines that are still caught.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

import pullback as pb
from pullback import Array, Pullback


def cube(x: float) -> tuple[float, Pullback[float, float]]:
    return x**3, lambda dy: dy * 3.0 * x * x


def row_sum(x: Array) -> tuple[float, Callable[[float], Array]]:
    return float(np.sum(x)), lambda dy: np.full_like(x, dy)


def to_str(x: float) -> tuple[str, Callable[[str], float]]:
    return str(x), lambda dy: 0.0


def to_pair(x: float) -> tuple[tuple[float, float], Callable[[tuple[float, float]], float]]:
    return (x, x), lambda dy: dy[0]


def fourth(x: float) -> float:
    return x**4


def says(x: float) -> str:
    return str(x)


def rosenbrock_of(v: Array) -> float:
    value: float = (1 - v[0]) ** 2 + 100 * (v[1] - v[0] ** 2) ** 2  # NumPy types v[0] as Any
    return value


def misuse_values(a: Array) -> None:
    pb.gradient(pb.exp, "1.0")  # type: ignore[arg-type, type-var]
    pb.gradient(pb.exp, None)  # type: ignore[arg-type, type-var]
    pb.gradient(pb.exp, [1.0, 2.0])  # type: ignore[arg-type, type-var]
    pb.gradient(pb.exp, 1j)  # type: ignore[arg-type, type-var]
    pb.gradient(pb.mul, 2.0, "3")  # type: ignore[arg-type, call-arg, type-var]
    pb.gradient(cube, a)  # type: ignore[arg-type]
    pb.gradient(row_sum, 1.0)  # type: ignore[arg-type]
    pb.gradient(pb.mul, 2.0)  # type: ignore[arg-type]
    pb.gradient(pb.mul, 2.0, 3.0, 4.0)  # type: ignore[call-arg, misc]
    pb.gradient(3.0, 1.0)  # type: ignore[arg-type]
    pb.gradient(pb.softmax, 1.0)  # type: ignore[arg-type]
    pb.exp("1.0")  # type: ignore[type-var]
    pb.value_and_gradient(cube, a)  # type: ignore[arg-type]
    pb.pullback(cube, "x")  # type: ignore[misc]


def misuse_results(a: Array) -> None:
    s: str = pb.gradient(pb.exp, 1.0)  # type: ignore[assignment]
    g: float = pb.gradient(pb.exp, a)  # type: ignore[assignment]
    t: float = pb.gradient(pb.mul, 2.0, 3.0)  # type: ignore[assignment]
    u: Array = pb.gradient(pb.exp, 1.0)  # type: ignore[assignment]
    v: tuple[float, float] = pb.value_and_gradient(pb.div, a, a)  # type: ignore[assignment, call-arg, misc]
    y, back = pb.pullback(pb.exp, 1.0)
    back(a)  # type: ignore[arg-type]
    back("1")  # type: ignore[arg-type]
    print(y.shape)  # type: ignore[attr-defined]
    del s, g, t, u, v


def misuse_outputs() -> None:
    pb.gradient(to_str, 1.0)  # type: ignore[type-var]
    pb.gradient(to_pair, 1.0)  # type: ignore[type-var]
    pb.value_and_gradient(to_str, 1.0)  # type: ignore[type-var]
    pb.check_rule(to_str, 1.0)  # type: ignore[type-var]
    pb.jacobian(to_str, 1.0)  # type: ignore[arg-type]


def misuse_compose(a: Array) -> None:
    pb.compose(row_sum, cube)  # type: ignore[misc]
    pb.compose(pb.exp, 3)  # type: ignore[call-overload]
    pb.compose(*[1, 2])  # type: ignore[arg-type]
    pb.compose(pb.mul)  # type: ignore[arg-type]
    float_rules = [cube, cube]
    pb.gradient(pb.compose(*float_rules), a)  # type: ignore[arg-type]
    pb.gradient(pb.compose(cube, pb.sin), a)  # type: ignore[misc]
    pb.compose(cube).stages = ()  # type: ignore[misc]
    pb.compose(cube).forward(a)  # type: ignore[arg-type]
    pb.compose(cube).value_and_gradient(a)  # type: ignore[arg-type]
    x: str = pb.compose(cube).value_and_gradient(1.0)[0]  # type: ignore[assignment]
    pb.compose(pb.exp).forward("1")  # type: ignore[type-var]
    six = pb.compose(cube, pb.sin, cube, pb.exp, cube, pb.tanh)
    pb.gradient(six, a)  # type: ignore[arg-type]
    ten = pb.compose(cube, pb.sin, cube, pb.exp, cube, pb.tanh, cube, cube, pb.sin, cube)
    pb.gradient(ten, a)  # type: ignore[arg-type]
    pb.compose(cube, pb.sin, cube, row_sum, cube, pb.tanh)  # type: ignore[misc]
    del x


def misuse_higher(a: Array) -> None:
    pb.jacobian(pb.mul, a)  # type: ignore[arg-type]
    j: float = pb.jacobian(pb.square, a)  # type: ignore[assignment]
    pb.jacobian(cube, a)  # type: ignore[arg-type]
    pb.jacobian(pb.sin, a, mode="sideways")  # type: ignore[call-overload]
    pb.jacobian(pb.sin, "a")  # type: ignore[call-overload]
    rosenbrock = pb.trace(rosenbrock_of)
    h: float = pb.hessian(rosenbrock, a)  # type: ignore[assignment]
    pb.hessian(rosenbrock, 1.0)  # type: ignore[arg-type]
    pb.hessian(pb.mul, 1.0)  # type: ignore[arg-type]
    k: Array = pb.hessian(pb.trace(fourth), 1.0)  # type: ignore[assignment]
    del j, h, k


def misuse_checks(a: Array) -> None:
    pb.check_rule(pb.mul, 2.0)  # type: ignore[arg-type]
    pb.check_rule(cube, "0.7")  # type: ignore[misc]
    pb.check_rule(cube, a)  # type: ignore[arg-type]
    pb.check_rule(cube, 0.7, rtol="tight")  # type: ignore[call-overload]
    n: float = pb.numerical_gradient(pb.mul, 2.0, 3.0)  # type: ignore[assignment]
    m: Array = pb.numerical_gradient(cube, 1.0)  # type: ignore[assignment]
    pb.numerical_gradient(cube, "1")  # type: ignore[arg-type]
    pb.numerical_gradient(says, 1.0)  # type: ignore[arg-type]
    pb.numerical_gradient(cube, 1.0, eps="small")  # type: ignore[call-overload]
    del n, m


def misuse_lift_and_trace(a: Array) -> None:
    pb.lift(cube)(a)  # type: ignore[arg-type]
    pb.lift(pb.mul)(2.0)  # type: ignore[call-arg]
    pb.lift(3.0)  # type: ignore[arg-type]
    s: str = pb.lift(pb.exp)(1.0)  # type: ignore[assignment]
    pb.gradient(pb.trace(fourth), a)  # type: ignore[arg-type]
    pb.trace(3.0)  # type: ignore[call-overload]
    pb.gradient(pb.trace(rosenbrock_of), 1.0)  # type: ignore[arg-type]
    del s


def misuse_walkthrough() -> None:
    w = pb.walkthrough(pb.sigmoid, 1.0)
    w.value.upper()  # type: ignore[attr-defined]
    print(w.gradient.shape)  # type: ignore[attr-defined]
    w.steps[0].value.upper()  # type: ignore[union-attr]
    w.steps = ()  # type: ignore[misc]
    pb.walkthrough(pb.sigmoid, "1.0")  # type: ignore[arg-type, type-var]
    pb.walkthrough(pb.sigmoid, 1.0, name=3)  # type: ignore[call-overload]
    pb.walkthrough(cube, np.ones(2))  # type: ignore[arg-type]
    t: tuple[float, float] = pb.walkthrough(pb.sigmoid, 1.0).gradient  # type: ignore[assignment]
    del t


def misuse_forward(a: Array) -> None:
    pb.pushforward(pb.exp, "1.0")  # type: ignore[arg-type, type-var]
    _y, push = pb.pushforward(pb.exp, 1.0)
    push(a)  # type: ignore[arg-type]
    pb.jvp(pb.exp, (1.0,), (a,))  # type: ignore[arg-type]
    pb.jvp(pb.exp, 1.0, 1.0)  # type: ignore[call-overload]
    pb.hvp(pb.exp, 1.0, a)  # type: ignore[arg-type, type-var]
    pb.hvp(cube, a, a)  # type: ignore[arg-type]
    q: str = pb.hvp(pb.sin, 1.0, 1.0)  # type: ignore[assignment]
    pb.pushforward(cube, a)  # type: ignore[arg-type]
    del q


def misuse_training(a: Array) -> None:
    pb.softmax_cross_entropy(np.ones((2, 3)), 1.0)  # type: ignore[arg-type]
    pb.softmax_cross_entropy(np.ones((2, 3)), ["a", "b"])  # type: ignore[arg-type]
    pb.affine(a, a)  # type: ignore[call-arg]
    pb.softmax(1.0)  # type: ignore[arg-type]
    loss: str = pb.softmax_cross_entropy(a, a)[0]  # type: ignore[assignment]
    del loss
