"""Nesting decided by the dynamic extent of traced calls: closures over traced values."""

from __future__ import annotations

import threading
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pullback import gradient, hessian, trace
from pullback._trace import _RUNNING

from .helpers import five_point


def test_an_inner_function_may_close_over_an_outer_traced_value() -> None:
    # The answer is 1.0: d/dx [d/dy (x·y)] = d/dx x.
    assert gradient(trace(lambda x: gradient(trace(lambda y: x * y), 1.0)), 2.0) == 1.0
    assert gradient(trace(lambda x: x * gradient(trace(lambda y: x + y), 1.0)), 2.0) == 1.0


def test_third_derivative_through_a_closure() -> None:
    # d/dx [d/dy (x y)³ at y = 1] = d/dx 3x³ = 9x².
    g = trace(lambda x: gradient(trace(lambda y: (x * y) ** 3), 1.0))
    assert gradient(g, 2.0) == pytest.approx(36.0, rel=1e-14)
    # and once more: d/dx 9x² = 18x
    assert gradient(trace(lambda x: gradient(g, x)), 2.0) == pytest.approx(36.0, rel=1e-14)


def test_hessian_vector_products_by_closure() -> None:
    w = np.array([[2.0, 1.0, 0.0], [1.0, 3.0, 1.0], [0.0, 1.0, 4.0]])
    f = trace(lambda x: 0.5 * x @ w @ x + np.sum(np.sin(x)))
    x = np.array([0.3, -0.2, 1.1])
    v = np.array([1.0, 0.5, -2.0])
    expected = w @ v - np.sin(x) * v
    # gradient of <∇f(x), v> with respect to x
    hv = gradient(trace(lambda p: np.sum(gradient(f, p) * v)), x)
    np.testing.assert_allclose(hv, expected, rtol=1e-13)
    # the directional derivative of ∇f along v, the direction closed over
    hv2 = gradient(trace(lambda t: np.sum(gradient(f, x + t * v) * v)), 0.0)
    assert hv2 == pytest.approx(float(v @ expected), rel=1e-13)
    np.testing.assert_allclose(hessian(f, x) @ v, expected, rtol=1e-13)


def test_newton_step_on_a_closure() -> None:
    a = 3.0

    def newton(x: Any) -> Any:
        f = trace(lambda y: (y * y - a) ** 2 * x)  # closes over the outer x
        return gradient(f, 1.5)

    # d/dx of x·f'(1.5) where f' does not depend on x otherwise: f'(1.5) = 4·1.5·(1.5² - 3)
    assert gradient(trace(newton), 2.0) == pytest.approx(4 * 1.5 * (1.5**2 - a), rel=1e-14)


def test_nothing_is_left_behind_and_threads_are_separate() -> None:
    def boom(x: Any) -> Any:
        raise RuntimeError("inside")

    with pytest.raises(RuntimeError):
        gradient(trace(lambda x: gradient(trace(boom), x)), 1.0)
    assert _RUNNING.get() == 0
    results: list[float] = []

    def work() -> None:
        for _ in range(50):
            results.append(gradient(trace(lambda x: gradient(trace(lambda y: x * y * y), x)), 1.5))

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # d/dx [2 x y at y = x] = d/dx 2x² = 4x
    assert results == [6.0] * 200


# Bounded functions: nested exponentials grow past what a 5-point difference can check.
_UNARY = [np.sin, np.tanh, np.cos, np.arctan]


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.sampled_from(range(len(_UNARY))), min_size=1, max_size=3),
    st.floats(-1.0, 1.0),
    st.floats(-1.0, 1.0),
)
def test_random_nested_programs_against_differences_of_the_first_derivative(
    ops: list[int], x0: float, y0: float
) -> None:
    def f(x: Any, y: Any) -> Any:
        z = x * y + y
        for i in ops:
            z = _UNARY[i](z) * x
        return z

    def inner_gradient(x: float) -> float:
        value: float = gradient(trace(lambda y: f(x, y)), y0)
        return value

    nested = gradient(trace(lambda x: gradient(trace(lambda y: f(x, y)), y0)), x0)
    assert nested == pytest.approx(five_point(inner_gradient, x0, 1e-3), rel=1e-6, abs=1e-8)


# -- x ** 2 traced to be differentiated again: as few nodes as it can, the same numbers ---------


def _names(back: Any) -> list[str]:
    _root, _parents, backs, _leaves = back.graph()
    return [b.primitive.name for b in backs if hasattr(b, "primitive")]


def test_a_traced_gradient_of_a_square_records_no_power_of_one() -> None:
    f = trace(lambda u: np.sum(3.0 * u**2))
    x = np.array([0.5, -2.0, 4.0])
    g, back = trace(lambda v: gradient(f, v))(x)
    names = _names(back)
    # forward: power(2), mul, sum; backward at the constant cotangent 3: one mul
    assert "power(1)" not in names
    assert names.count("mul") == 2
    np.testing.assert_array_equal(g, 6.0 * x)
    np.testing.assert_array_equal(hessian(f, x), 6.0 * np.eye(3))
    # at a traced cotangent (the square inside another square) x ** 1 is not recorded either
    h = trace(lambda u: np.sum((u**2 - 1.0) ** 2))
    assert "power(1)" not in _names(trace(lambda v: gradient(h, v))(x)[1])
    np.testing.assert_allclose(hessian(h, x), np.diag(12.0 * x**2 - 4.0), rtol=1e-15)


@pytest.mark.parametrize("c", [3.0, 1e308, -1e308, 5e-324, 0.0])
def test_a_traced_gradient_of_a_square_is_the_gradient_bit_for_bit(c: float) -> None:
    # (2 g) x stands in for g (2 x) only where both doublings are exact; at a huge
    # cotangent or argument, inf, nan and the subnormals the numbers are g (2 x)'s.
    big = np.finfo(np.float64).max
    x = np.array([0.25, -0.5, 1e308, big, np.inf, np.nan, -0.0, 5e-324, 3.0])
    f = trace(lambda u: np.sum(c * u**2))
    with np.errstate(all="ignore"):
        expected = c * (2.0 * x)  # the first-order vjp: g (2 x), g = c
    np.testing.assert_array_equal(gradient(f, x), expected)
    traced, _back = trace(lambda v: gradient(f, v))(x)
    np.testing.assert_array_equal(traced, expected)
    for i in range(x.size):  # one element at a time: each takes its own branch
        one = x[i : i + 1]
        np.testing.assert_array_equal(trace(lambda v: gradient(f, v))(one)[0], expected[i : i + 1])
