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
