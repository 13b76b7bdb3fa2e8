"""numerical_gradient and check_rule."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import pytest

import pullback as pb
from pullback import Array


def test_numerical_gradient_is_the_textbook_central_difference() -> None:
    # (f(x+h) - f(x-h)) / 2h with h = 1e-4, as the book computes it.
    x, h = 0.5, 1e-4
    f = pb.compose(pb.square, pb.exp, pb.square)
    expected = (f(x + h)[0] - f(x - h)[0]) / (2 * h)
    assert pb.numerical_gradient(f, x) == expected


def test_numerical_gradient_of_the_design_example_with_eps_1e_3() -> None:
    f = pb.compose(pb.square, pb.exp, pb.square)
    assert pb.numerical_gradient(f, 0.5, eps=1e-3) == pytest.approx(3.2974513, abs=1e-7)


def test_numerical_gradient_accepts_plain_functions_and_arrays() -> None:
    x = np.array([[1.0, 2.0], [3.0, 4.0]])
    x.setflags(write=False)
    g = pb.numerical_gradient(lambda v: float(np.sum(v**2)), x)
    assert isinstance(g, np.ndarray) and g.shape == (2, 2)
    assert np.allclose(g, 2 * x, rtol=1e-8)
    ga, gb = pb.numerical_gradient(pb.mul, 2.0, 3.0)
    assert (ga, gb) == pytest.approx((3.0, 2.0))


def test_check_rule_passes_good_rules() -> None:
    pb.check_rule(pb.compose(pb.power(-1), pb.add_const(1), pb.exp, pb.scale(-1)), 1.0)
    pb.check_rule(pb.sigmoid, np.linspace(-3, 3, 7))
    pb.check_rule(pb.div, np.array([1.0, 2.0]), 3.0)  # type: ignore[arg-type, call-arg, type-var]


def test_check_rule_shows_both_numbers_for_each_argument() -> None:
    def bad_mul(a: float, b: float) -> tuple[float, Callable[[float], tuple[float, float]]]:
        return a * b, lambda dy: (dy * b, dy * b)  # the second should be dy * a

    with pytest.raises(AssertionError) as info:
        pb.check_rule(bad_mul, 2.0, 3.0)
    message = str(info.value)
    assert message.startswith("check_rule(bad_mul): the pullback disagrees")
    assert "argument 2 at 3.0: analytic 3.0, numeric 2.0" in message
    assert "argument 1" not in message


def test_check_rule_catches_a_pullback_that_is_not_pure() -> None:
    calls = []

    def leaky(x: float) -> tuple[float, Callable[[float], float]]:
        def leaky_pullback(dy: float) -> float:
            calls.append(dy)
            return dy * 2.0 * len(calls)  # like a .grad that accumulates

        return 2.0 * x, leaky_pullback

    with pytest.raises(AssertionError, match="a second call of the pullback gave"):
        pb.check_rule(leaky, 1.0)


def test_check_rule_catches_a_pullback_that_is_not_linear() -> None:
    def affine_back(x: float) -> tuple[float, Callable[[float], float]]:
        return 2.0 * x, lambda dy: 2.0 * dy + (dy - 1.0)  # right at dy = 1 only

    with pytest.raises(AssertionError, match="not linear"):
        pb.check_rule(affine_back, 1.0)


def test_check_rule_on_arrays_names_the_elements() -> None:
    def wrong(x: Array) -> tuple[Array, Callable[[Array], Array]]:
        return x * x, lambda dy: dy * x

    with pytest.raises(AssertionError, match=r"argument 1 at \[1\. 2\.\]: analytic \[1\. 2\.\]"):
        pb.check_rule(wrong, np.array([1.0, 2.0]))


def test_check_rule_refuses_non_values() -> None:
    with pytest.raises(TypeError, match="expected a value"):
        pb.check_rule(pb.exp, "1.0")  # type: ignore[arg-type, type-var]
    assert math.isfinite(pb.numerical_gradient(pb.exp, 1.0))
