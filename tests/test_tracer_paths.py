"""The tracer's float fast paths: operators with constants, NumPy ufuncs, the node forms.

Every fast path must give the bits the general path gives (a walkthrough's
recording keeps every node in the general form, so it is the reference), the
derivatives of the table (checked against 5-point central differences and by
hand), and the same IEEE answers at special values.
"""

from __future__ import annotations

import math
import threading
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import pullback as pb
from pullback import ops, trace
from pullback._trace import TracedRule

from .helpers import five_point, same

OPERATORS: dict[str, Any] = {
    "x + c": lambda x, c: x + c,
    "c + x": lambda x, c: c + x,
    "x - c": lambda x, c: x - c,
    "c - x": lambda x, c: c - x,
    "x * c": lambda x, c: x * c,
    "c * x": lambda x, c: c * x,
    "x / c": lambda x, c: x / c,
    "c / x": lambda x, c: c / x,
}
BY_HAND: dict[str, Any] = {
    "x + c": lambda x, c: 1.0,
    "c + x": lambda x, c: 1.0,
    "x - c": lambda x, c: 1.0,
    "c - x": lambda x, c: -1.0,
    "x * c": lambda x, c: c,
    "c * x": lambda x, c: c,
    "x / c": lambda x, c: 1.0 / c,
    "c / x": lambda x, c: -c / (x * x),
}


def _recorded_gradient(f: Any, *xs: float) -> tuple[Any, ...]:
    """The gradient through the general node form (a recording keeps every node in it)."""
    arrived, _ = TracedRule(f).record(*xs).pull_back(1.0)
    return tuple(0.0 if g is None else g for g in arrived[: len(xs)])


@pytest.mark.parametrize("name", sorted(OPERATORS))
def test_an_operator_with_a_constant_matches_the_derivative_by_hand(name: str) -> None:
    op = OPERATORS[name]
    for x, c in [(0.7, 1.3), (-2.5, 0.25), (3.0, -4.0)]:

        def f(v: Any, c: float = c) -> Any:
            return op(v, c) * v

        g = pb.gradient(trace(f), x)
        expected = BY_HAND[name](x, c) * x + op(x, c)
        assert math.isclose(g, expected, rel_tol=1e-12, abs_tol=1e-12)
        assert math.isclose(g, five_point(f, x, 1e-4), rel_tol=1e-8, abs_tol=1e-9)


@pytest.mark.parametrize("name", sorted(OPERATORS))
def test_an_operator_with_a_constant_gives_the_bits_of_the_general_path(name: str) -> None:
    op = OPERATORS[name]

    def f(v: Any, w: Any) -> Any:
        return op(v * w, 0.3) + op(w, -1.7) * v

    assert pb.gradient(trace(f), 0.9, -1.1) == _recorded_gradient(f, 0.9, -1.1)


def test_a_recording_still_shows_the_constant_operand() -> None:
    recording = TracedRule(lambda a: 2.0 * a - 1.0).record(3.0)
    assert recording.parents == ((), (-1, 0), (1, -1))
    assert recording.constants == ((), (2.0, None), (None, 1.0))
    arrived, sent = recording.pull_back(1.0)
    assert arrived == (2.0, 1.0, 1.0)
    assert sent[1] == (3.0, 2.0)  # the constant's share is shown, as it always was


@pytest.mark.parametrize(
    ("f", "x", "expected"),
    [
        (lambda v: v / 0.0, 1.0, math.inf),  # Python raises at 1/0: the entry's IEEE answer
        (lambda v: 1.0 / v, 0.0, -math.inf),
        (lambda v: v * math.inf, 2.0, math.inf),
        (lambda v: (v * 0.0) * math.inf, 2.0, math.nan),
        (lambda v: np.exp(v * 1000.0), 1.0, math.inf),  # math.exp overflows: NumPy's inf
        (lambda v: np.log(v * 0.0), 1.0, math.inf * 0.0),  # log(0) raises in math: -inf, nan
    ],
)
def test_special_values_take_the_entry_ieee_answer(f: Any, x: float, expected: float) -> None:
    g = pb.gradient(trace(f), x)
    assert same(g, expected)
    assert same(g, _recorded_gradient(f, x)[0])


def test_the_sign_of_a_zero_cotangent_is_kept() -> None:
    g = pb.gradient(trace(lambda v: v * -0.0), 1.0)
    assert g == 0.0 and math.copysign(1.0, g) == -1.0

    def product(v: Any, w: Any) -> Any:
        return v * w

    g = pb.gradient(trace(product), -0.0, 1.0)
    assert math.copysign(1.0, g[1]) == -1.0


UNARY_UFUNCS = [np.sin, np.cos, np.tanh, np.exp, np.log, np.negative, np.square, np.absolute]


@pytest.mark.parametrize("ufunc", UNARY_UFUNCS)
def test_numpy_ufuncs_on_traced_floats_record_their_entry(ufunc: Any) -> None:
    by_ops = {np.negative: lambda v: -v, np.absolute: abs}.get(ufunc) or getattr(
        ops, ufunc.__name__
    )
    x = 0.8
    assert pb.gradient(trace(lambda v: ufunc(v) * v), x) == pb.gradient(
        trace(lambda v: by_ops(v) * v), x
    )
    for at in (x, -x, 0.0):  # a negative value and a zero too (log: nan and -inf, IEEE's)
        got, expected = (
            pb.value_and_gradient(trace(ufunc), at),
            pb.value_and_gradient(trace(by_ops), at),
        )
        assert same(got[0], expected[0]) and same(got[1], expected[1])
    assert math.isclose(
        pb.gradient(trace(lambda v: ufunc(v)), x), five_point(ufunc, x, 1e-4), rel_tol=1e-8
    )


@pytest.mark.parametrize("ufunc", [np.add, np.subtract, np.multiply, np.divide])
def test_numpy_binary_ufuncs_match_the_operators(ufunc: Any) -> None:
    def by_numpy(a: Any, b: Any) -> Any:
        return ufunc(ufunc(a, b), 1.5) + ufunc(2.5, b)

    operator = {np.add: "+", np.subtract: "-", np.multiply: "*", np.divide: "/"}[ufunc]

    def by_operator(a: Any, b: Any) -> Any:
        return eval(f"(a {operator} b) {operator} 1.5 + (2.5 {operator} b)")

    assert pb.gradient(trace(by_numpy), 0.7, 1.9) == pb.gradient(trace(by_operator), 0.7, 1.9)


def test_a_ufunc_with_keywords_still_goes_through_the_dispatch() -> None:
    out = np.empty(())
    with pytest.raises(TypeError, match="in place"):
        pb.gradient(trace(lambda v: np.sin(v, out=out)), 0.5)


def test_a_leaked_traced_value_is_refused_by_the_fast_path() -> None:
    leaked: list[Any] = []

    def f(v: Any) -> Any:
        leaked.append(v)
        return v * 2.0

    pb.gradient(trace(f), 1.0)
    uses: list[Any] = [lambda v: v * 2.0, lambda v: 2.0 - v, lambda v: v + v, np.sin]
    for use in uses:
        with pytest.raises(ValueError, match="outlive its call"):
            use(leaked[0])


def test_second_derivatives_through_constants_and_ufuncs() -> None:
    # f = 1.5 x² sin x, so f'' = 3 sin x + 6 x cos x - 1.5 x² sin x.
    def f(v: Any) -> Any:
        return 3.0 * v * v * np.sin(v) / 2.0

    def second_by_hand(x: float) -> float:
        return 1.5 * (2.0 * math.sin(x) + 4.0 * x * math.cos(x) - x * x * math.sin(x))

    x = 0.6
    second = pb.gradient(trace(lambda v: pb.gradient(trace(f), v)), x)
    assert math.isclose(second, second_by_hand(x), rel_tol=1e-12)


def test_a_long_loop_pulls_back_without_recursion() -> None:
    def loop(x: Any) -> Any:
        for _ in range(5000):  # 20,000 operations
            x = x * 0.999 + np.sin(x) * 1e-3
        return x

    d, x = 1.0, 0.5
    for _ in range(5000):
        d *= 0.999 + math.cos(x) * 1e-3
        x = x * 0.999 + math.sin(x) * 1e-3
    assert math.isclose(pb.gradient(trace(loop), 0.5), d, rel_tol=1e-12)


def test_threads_trace_at_once_and_agree() -> None:
    f = trace(lambda a, b: np.sin(a * b) + np.exp(b) / (1.0 + a * a) - np.tanh(a * 0.5) * b)
    expected = pb.gradient(f, 0.3, 0.4)
    results: list[Any] = []

    def work() -> None:
        results.extend(pb.gradient(f, 0.3, 0.4) for _ in range(300))

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 1200 and all(r == expected for r in results)


ARITHMETIC = ["+", "-", "*", "/"]


@settings(max_examples=60, deadline=None)
@given(
    st.recursive(
        st.sampled_from(["x", "y", "0.75", "-1.25"]),
        lambda children: st.tuples(st.sampled_from(ARITHMETIC), children, children),
        max_leaves=10,
    ),
    st.floats(0.5, 2.0),
    st.floats(-2.0, -0.5),
)
def test_float_paths_give_the_bits_of_the_array_paths(tree: Any, x: float, y: float) -> None:
    # + - * / are exact IEEE operations in Python and in NumPy alike, so the
    # float fast paths and the entries' array pullbacks must agree to the bit.
    def evaluate(node: Any, a: Any, b: Any) -> Any:
        if node == "x":
            return a
        if node == "y":
            return b
        if isinstance(node, str):
            return float(node)
        left, right = evaluate(node[1], a, b), evaluate(node[2], a, b)
        if node[0] == "+":
            return left + right
        if node[0] == "-":
            return left - right
        if node[0] == "*":
            return left * right
        return left / (right * right + 1.0)  # a denominator of at least 1: no pole

    def f(a: Any, b: Any) -> Any:
        return evaluate(tree, a, b) * a + b  # depends on both, whatever the tree

    floats = pb.gradient(trace(f), x, y)
    arrays = pb.gradient(trace(f), np.array([x]), np.array([y]))
    assert floats == (float(arrays[0][0]), float(arrays[1][0]))
    assert floats == _recorded_gradient(f, x, y)
