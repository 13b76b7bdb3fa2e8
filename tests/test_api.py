"""pullback, gradient, value_and_gradient: kinds, seeds, several arguments, errors, purity."""

from __future__ import annotations

import math
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
import pytest

import pullback as pb
from pullback import Array

SIGMOID_CHAIN = pb.compose(pb.power(-1), pb.add_const(1), pb.exp, pb.scale(-1))


def test_gradient_of_a_float_is_a_float() -> None:
    g = pb.gradient(SIGMOID_CHAIN, 1.0)
    assert type(g) is float
    assert g == pytest.approx(0.19661193324148185, rel=1e-15)
    untyped: Any = pb.gradient  # ints are accepted at run time; mypy wants 1.0
    assert type(untyped(pb.exp, 1)) is float
    assert type(untyped(pb.exp, np.float64(1.0))) is float


def test_gradient_of_an_array_is_an_array_of_its_shape() -> None:
    x = np.linspace(-2.0, 2.0, 12).reshape(3, 4)
    g = pb.gradient(SIGMOID_CHAIN, x)
    assert isinstance(g, np.ndarray) and g.shape == (3, 4) and g.dtype == np.float64
    s = 1 / (1 + np.exp(-x))
    assert np.allclose(g, s * (1 - s), rtol=1e-14)
    zero_d = pb.gradient(pb.exp, np.array(0.0))
    assert isinstance(zero_d, np.ndarray) and zero_d.shape == () and zero_d == 1.0


def test_seed_is_ones_shaped_like_the_output() -> None:
    x = np.array([1.0, 2.0, 3.0])
    assert np.array_equal(pb.gradient(pb.square, x), 2 * x)
    mixed: Any = pb.value_and_gradient  # a float against an array: typed rules want one kind
    y, grads = mixed(pb.mul, x, 2.0)
    assert np.array_equal(y, 2 * x)
    assert np.array_equal(grads[0], [2.0, 2.0, 2.0]) and grads[1] == 6.0


def test_several_arguments_give_a_tuple() -> None:
    assert pb.gradient(pb.mul, 2.0, 3.0) == (3.0, 2.0)
    assert pb.gradient(pb.div, 1.0, 2.0) == (0.5, -0.25)
    y, back = pb.pullback(pb.sub, 5.0, 3.0)
    assert y == 2.0 and back(2.0) == (2.0, -2.0)


def test_value_and_gradient() -> None:
    y, g = pb.value_and_gradient(SIGMOID_CHAIN, 1.0)
    assert y == pytest.approx(0.7310585786300049, rel=1e-15)
    assert g == pytest.approx(0.19661193324148185, rel=1e-15)
    ya, ga = pb.value_and_gradient(pb.sigmoid, np.zeros(2))
    assert np.array_equal(ya, [0.5, 0.5]) and np.array_equal(ga, [0.25, 0.25])


def test_pullback_can_be_called_many_times_and_is_linear() -> None:
    cases: list[tuple[Any, float]] = [
        (SIGMOID_CHAIN, 1.0),
        (pb.sigmoid, 0.3),
        (pb.compose(pb.tanh, cube_rule), 0.4),
    ]
    for f, x in cases:
        _, back = pb.pullback(f, x)
        first = back(1.0)
        assert back(1.0) == first
        assert back(2.0) == 2.0 * first
        assert back(-0.5) == pytest.approx(-0.5 * first, rel=1e-15)
    xa = np.linspace(-1, 1, 5)
    _, back_a = pb.pullback(SIGMOID_CHAIN, xa)
    dy = np.linspace(0.5, 1.5, 5)
    assert np.allclose(back_a(3.0 * dy), 3.0 * back_a(dy), rtol=1e-15)
    assert np.array_equal(back_a(dy), back_a(dy))


def cube_rule(x: float) -> tuple[float, Callable[[float], float]]:
    return x**3, lambda dy: dy * 3 * x * x


def test_nothing_is_written_in_place() -> None:
    x = np.linspace(-1.0, 1.0, 6)
    x.setflags(write=False)
    dy = np.ones(6)
    dy.setflags(write=False)
    for f in (SIGMOID_CHAIN, pb.sigmoid, pb.compose(pb.relu, pb.scale(2.0), pb.sin)):
        _y, back = pb.pullback(f, x)
        g1 = back(dy)
        g2 = back(dy)
        assert np.array_equal(g1, g2)
        pb.gradient(f, x)


def test_one_forward_call_pulled_back_from_eight_threads() -> None:
    x = np.linspace(-3.0, 3.0, 1000)
    untyped: Any = pb.pullback
    calls: list[tuple[Any, ...]] = [(SIGMOID_CHAIN, x), (SIGMOID_CHAIN, 1.0), (pb.mul, x, 2.0)]
    for call in calls:
        y, back = untyped(*call)
        expected = back(np.ones_like(y) if isinstance(y, np.ndarray) else 1.0)
        barrier = threading.Barrier(8)

        def pull(
            i: int, back: Any = back, y: object = y, barrier: threading.Barrier = barrier
        ) -> Any:
            barrier.wait()
            seed = np.ones_like(y) if isinstance(y, np.ndarray) else 1.0
            return [back(seed) for _ in range(50)]

        with ThreadPoolExecutor(8) as pool:
            results = list(pool.map(pull, range(8)))
        for per_thread in results:
            for got in per_thread:
                if isinstance(expected, tuple):
                    assert all(np.array_equal(a, b) for a, b in zip(got, expected, strict=True))
                else:
                    assert np.array_equal(got, expected)


def test_gradients_from_many_threads_agree() -> None:
    xs = [float(v) for v in np.linspace(-5, 5, 64)]
    serial = [pb.gradient(SIGMOID_CHAIN, v) for v in xs]
    with ThreadPoolExecutor(8) as pool:
        parallel = list(pool.map(lambda v: pb.gradient(SIGMOID_CHAIN, v), xs))
    assert parallel == serial


@pytest.mark.parametrize("api", [pb.gradient, pb.value_and_gradient, pb.pullback])
@pytest.mark.parametrize("bad", ["1.0", None, 1j, [1.0, 2.0], object()])
def test_bad_arguments(api: Callable[..., object], bad: object) -> None:
    with pytest.raises(TypeError, match=rf"^{api.__name__}\(exp\): expected a value"):
        api(pb.exp, bad)


def test_wrong_calls_say_how_to_fix_them() -> None:
    gradient: Any = pb.gradient  # the calls below are type errors too
    with pytest.raises(TypeError, match=r"^gradient: the first argument must be a rule"):
        gradient(1.0, pb.exp)
    with pytest.raises(TypeError, match=r"no argument to differentiate at; call gradient\(f, x\)"):
        gradient(pb.exp)
    with pytest.raises(TypeError, match=r"^gradient\(mul\): mul takes 2 arguments \(a, b\), got 1"):
        gradient(pb.mul, 1.0)
    with pytest.raises(TypeError, match=r"^gradient\(exp\): exp takes 1 argument \(x\), got 2"):
        gradient(pb.exp, 1.0, 2.0)
    with pytest.raises(TypeError, match=r"^gradient\(mul\), argument 2: expected a value"):
        gradient(pb.mul, 1.0, "x")


def test_a_rule_that_does_not_return_a_pullback() -> None:
    def not_a_rule(x: float) -> float:
        return x

    with pytest.raises(TypeError, match=r"the rule not_a_rule must return \(value, pullback\)"):
        pb.gradient(not_a_rule, 1.0)  # type: ignore[arg-type]


def test_a_pullback_with_the_wrong_shape_is_caught() -> None:
    def wrong(x: Array) -> tuple[Array, Callable[[Array], Array]]:
        return x, lambda dy: np.ones(7)

    with pytest.raises(ValueError, match=r"the pullback of wrong returned an array"):
        pb.gradient(wrong, np.ones(3))


def test_a_constant_pullback_of_zero_is_shaped_like_the_argument() -> None:
    def constant(x: Array) -> tuple[float, Callable[[float], float]]:
        return 1.0, lambda dy: 0.0

    g = pb.gradient(constant, np.ones(3))  # type: ignore[arg-type]
    assert isinstance(g, np.ndarray) and np.array_equal(g, np.zeros(3))


def test_checked_pullback_refuses_bad_cotangents() -> None:
    _y, back = pb.pullback(pb.exp, np.ones(3))
    with pytest.raises(ValueError, match=r"the cotangent has shape \(4,\)"):
        back(np.ones(4))
    with pytest.raises(TypeError, match=r"the pullback of exp: expected a value"):
        back("1")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"the pullback of exp: the value is an array of shape"):
        back(2.0)  # type: ignore[arg-type]  # one rule: the cotangent has the value's kind


def test_special_values_through_the_api() -> None:
    assert pb.gradient(pb.exp, 1000.0) == math.inf
    assert pb.gradient(pb.log, 0.0) == math.inf
    assert math.isnan(pb.gradient(pb.log, -1.0)) is False  # d/dx log x = 1/x, defined at -1
    assert math.isnan(pb.value_and_gradient(pb.log, -1.0)[0])
    # A chain that meets an overflow falls back to the stage-by-stage IEEE path;
    # a zero derivative times an infinite one is nan there, as in IEEE arithmetic.
    f = pb.compose(pb.sigmoid, pb.exp, pb.exp)
    y, g = pb.value_and_gradient(f, 10.0)
    assert y == 1.0 and math.isnan(g)
    assert pb.value_and_gradient(pb.compose(pb.exp, pb.exp), 10.0) == (math.inf, math.inf)
