"""trace, lift, ops: ordinary code as rules; trees; errors; threads; long traces."""

from __future__ import annotations

import math
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
import pytest

import pullback as pb
from pullback import ops, trace
from pullback._trace import TracedRule

from .helpers import five_point


def test_apples() -> None:
    assert pb.gradient(trace(lambda a, n, t: a * n * t), 100.0, 2.0, 1.1) == pytest.approx(
        (2.2, 110.0, 200.0)
    )


def price(apple: float, apples: float, orange: float, oranges: float, tax: float) -> float:
    return (apple * apples + orange * oranges) * tax


def test_apples_and_oranges() -> None:
    value, grads = pb.value_and_gradient(trace(price), 100.0, 2.0, 150.0, 3.0, 1.1)
    assert value == pytest.approx(715.0)
    assert grads == pytest.approx((2.2, 110.0, 3.3, 165.0, 650.0))


def test_trace_as_decorator_and_in_compose() -> None:
    @trace
    def cube(x: float) -> float:
        return x * x * x

    assert pb.gradient(cube, 2.0) == 12.0
    f = pb.compose(pb.exp, cube, pb.scale(2.0))
    assert pb.gradient(f, 0.3) == pytest.approx(math.exp(0.6**3) * 3 * 0.6**2 * 2, rel=1e-14)
    pb.check_rule(cube, 0.7)
    assert repr(cube) == "trace(cube)"


def test_operators() -> None:
    def f(x: Any, y: Any) -> Any:
        return (-x + 2.0 * y - x / y + 3.0 / x + x**3 - 1.0) * abs(y) + 2.0**x + (+x)

    pb.check_rule(trace(f), 0.7, -1.3)
    pb.check_rule(trace(f), 1.9, 0.4)


def test_value_used_several_times_gets_the_sum() -> None:
    assert pb.gradient(trace(lambda x: x * x + x), 3.0) == 7.0
    assert pb.gradient(trace(lambda x: x + x + x + x), 1.0) == 4.0


def test_unused_argument_gets_zero_of_its_kind() -> None:
    ga, gb = pb.gradient(trace(lambda a, b: a * 2.0), 1.0, np.ones(3))
    assert ga == 2.0 and isinstance(gb, np.ndarray) and np.array_equal(gb, np.zeros(3))
    assert pb.gradient(trace(lambda a: 5.0), 1.0) == 0.0


def test_control_flow_on_concrete_values() -> None:
    @trace
    def f(x: float) -> float:
        if x > 0:
            return ops.exp(x)
        return -x

    assert pb.gradient(f, 1.0) == pytest.approx(math.e)
    assert pb.gradient(f, -1.0) == -1.0


def test_ops_on_plain_values_compute_values() -> None:
    assert ops.exp(0.0) == 1.0
    assert ops.sigmoid(0.0) == 0.5
    assert np.array_equal(ops.square(np.array([1.0, 2.0])), [1.0, 4.0])
    assert ops.div(1.0, 0.0) == math.inf


OPS = {
    "exp": ops.exp,
    "log": ops.log,
    "sin": ops.sin,
    "cos": ops.cos,
    "tanh": ops.tanh,
    "sigmoid": ops.sigmoid,
    "square": ops.square,
    "relu": ops.relu,
    "absolute": ops.absolute,
}


@pytest.mark.parametrize("name", sorted(OPS))
@pytest.mark.parametrize("x", [0.4, 1.7, -0.8])
def test_first_and_second_derivatives_of_every_op(name: str, x: float) -> None:
    if name == "log" and x < 0:
        x = -x
    op = OPS[name]
    traced = trace(op)
    first = trace(lambda v: pb.gradient(traced, v))
    assert pb.gradient(traced, x) == pytest.approx(
        five_point(lambda v: float(op(v)), x, 1e-3), rel=1e-8, abs=1e-10
    )
    assert pb.gradient(first, x) == pytest.approx(
        five_point(lambda v: float(pb.gradient(traced, v)), x, 1e-3), rel=1e-7, abs=1e-9
    )
    assert pb.hessian(traced, x) == pytest.approx(pb.gradient(first, x), rel=1e-15)


@pytest.mark.parametrize(
    "rule", [pb.exp, pb.sin, pb.sigmoid, pb.scale(3.0), pb.add_const(2.0), pb.power(3)], ids=repr
)
def test_hessian_of_library_rules(rule: Any) -> None:
    x = 0.6
    numeric = five_point(lambda v: float(pb.gradient(rule, v)), x, 1e-3)
    assert pb.hessian(rule, x) == pytest.approx(numeric, rel=1e-7, abs=1e-9)


def test_second_derivatives_of_binary_ops() -> None:
    f = trace(lambda x: (x * x) / (1.0 + x) - (x - 3.0) * x + x)
    d = trace(lambda x: pb.gradient(f, x))
    for x in (0.3, 2.0):
        assert pb.gradient(d, x) == pytest.approx(
            five_point(lambda v: float(pb.gradient(f, v)), x, 1e-3), rel=1e-7
        )


def test_third_derivative_of_x4() -> None:
    f = trace(lambda x: x**4)
    d1 = trace(lambda x: pb.gradient(f, x))
    d2 = trace(lambda x: pb.gradient(d1, x))
    assert pb.gradient(f, 2.0) == 32.0
    assert pb.gradient(d1, 2.0) == 48.0
    assert pb.gradient(d2, 2.0) == 48.0  # d³/dx³ x⁴ = 24x


def test_rosenbrock_hessian_is_the_analytic_one() -> None:
    rosenbrock = trace(lambda v: (1.0 - v[0]) ** 2 + 100.0 * (v[1] - v[0] ** 2) ** 2)
    for x, y in [(1.0, 1.0), (0.5, 2.0), (-1.2, 1.0)]:
        expected = np.array([[1200 * x * x - 400 * y + 2, -400 * x], [-400 * x, 200.0]])
        assert np.allclose(pb.hessian(rosenbrock, np.array([x, y])), expected, rtol=1e-12)
        gx = -2 * (1 - x) - 400 * x * (y - x * x)
        assert np.allclose(pb.gradient(rosenbrock, np.array([x, y])), [gx, 200 * (y - x * x)])


def test_jacobian_of_a_vector_function() -> None:
    f = trace(lambda v: ops.sin(v) * v[0])
    x = np.array([0.5, 1.5, -1.0])
    j = pb.jacobian(f, x)
    expected = np.diag(np.cos(x) * x[0])
    expected[:, 0] += np.sin(x)
    assert j.shape == (3, 3) and np.allclose(j, expected, rtol=1e-14)


def test_parameter_trees() -> None:
    rng = np.random.default_rng(1)
    params: dict[str, Any] = {
        "w": rng.normal(size=(3,)),
        "b": 0.5,
        "extra": [1.0, (2.0, np.ones(2))],
    }

    def loss(p: dict[str, Any], x: Any) -> Any:
        z = ops.sum(p["w"] * x) + p["b"]
        return ops.square(z) + p["extra"][0] * ops.sum(p["extra"][1][1])

    x = np.array([1.0, -2.0, 0.5])
    grads, gx = pb.gradient(trace(loss), params, x)
    assert set(grads) == {"w", "b", "extra"}
    z = float(np.sum(params["w"] * x) + params["b"])
    assert np.allclose(grads["w"], 2 * z * x)
    assert grads["b"] == pytest.approx(2 * z)
    assert grads["extra"][0] == pytest.approx(2.0)
    assert grads["extra"][1][0] == 0.0
    assert np.array_equal(grads["extra"][1][1], [1.0, 1.0])
    assert np.allclose(gx, 2 * z * params["w"])
    assert isinstance(grads["extra"], list) and isinstance(grads["extra"][1], tuple)


def test_arrays_broadcast_as_in_the_core() -> None:
    a = np.arange(6.0).reshape(2, 3)
    row = np.array([1.0, 2.0, 3.0])
    ga, grow = pb.gradient(trace(lambda m, r: ops.sum(m * r)), a, row)
    assert np.array_equal(ga, np.broadcast_to(row, (2, 3)))
    assert np.array_equal(grow, a.sum(axis=0))


def test_hundred_thousand_operations() -> None:
    @trace
    def long(x: float) -> float:
        for _ in range(100_000):
            x = x * 1.00001
        return x

    assert pb.gradient(long, 1.0) == pytest.approx(1.00001**100_000, rel=1e-9)


def test_threads() -> None:
    f = trace(lambda a, b: ops.sin(a) * ops.exp(b) + a * b)
    expected = [pb.gradient(f, float(v), 0.5) for v in range(32)]
    barrier = threading.Barrier(8)

    def run(i: int) -> list[tuple[float, float]]:
        barrier.wait()
        return [pb.gradient(f, float(v), 0.5) for v in range(32)]

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(run, range(8)))
    assert all(r == expected for r in results)
    _, back = pb.pullback(f, 0.3, 0.4)
    with ThreadPoolExecutor(8) as pool:
        pulled = list(pool.map(lambda _: back(1.0), range(64)))
    assert all(p == pulled[0] for p in pulled)


def test_lift_a_user_rule() -> None:
    def cube(x: float) -> tuple[float, Any]:
        return x**3, lambda dy: dy * 3 * x * x

    lifted = pb.lift(cube)
    assert pb.gradient(trace(lambda x: lifted(x) + x), 2.0) == 13.0
    with pytest.raises(TypeError, match=r"nested differentiation needs a pullback written"):
        pb.gradient(trace(lambda x: pb.gradient(trace(lambda y: lifted(y)), x)), 2.0)
    assert pb.gradient(trace(pb.lift(pb.compose(pb.sin, pb.exp))), 0.0) == pytest.approx(
        math.cos(1.0)
    )
    two = pb.lift(pb.mul)
    assert pb.gradient(trace(lambda a, b: two(a, b)), 2.0, 5.0) == (5.0, 2.0)


def test_errors_name_the_function_and_the_fix() -> None:
    with pytest.raises(TypeError, match=r"^trace\(bad\): the function returned str"):

        def bad(x: float) -> str:
            return "no"

        pb.gradient(trace(bad), 1.0)  # type: ignore[type-var]
    with pytest.raises(TypeError, match=r"returned NoneType None"):
        pb.gradient(trace(lambda x: None), 1.0)
    with pytest.raises(TypeError, match=r"math.exp\(x\) would drop its derivative.*np.exp"):
        pb.gradient(trace(lambda x: math.exp(x)), 1.0)
    with pytest.raises(TypeError, match=r"float\(x\)"):
        pb.gradient(trace(lambda x: float(x)), 1.0)
    with pytest.raises(TypeError, match=r"^np.linalg.eig has no derivative rule.*lift"):
        pb.gradient(trace(lambda x: np.linalg.eig(x)[0].sum()), np.eye(2))
    with pytest.raises(TypeError, match=r"^trace\(<lambda>\), argument 1: expected a value"):
        pb.gradient(trace(lambda x: x), "1.0")
    with pytest.raises(TypeError, match=r"^trace: expected a function"):
        trace(3)  # type: ignore[call-overload]


def test_a_trace_does_not_keep_state_between_calls() -> None:
    f: Any = trace(lambda x: x * x)
    _, back1 = f(2.0)
    _, back2 = f(5.0)
    assert back1(1.0) == 4.0 and back2(1.0) == 10.0 and back1(1.0) == 4.0


def test_random_expression_trees_match_finite_differences() -> None:
    from hypothesis import given, settings
    from hypothesis import strategies as st

    unary = [ops.sin, ops.cos, ops.tanh, ops.sigmoid, ops.exp]
    leaf = st.sampled_from(["x", "y"])

    def node(children: Any) -> Any:
        return st.one_of(
            st.tuples(st.sampled_from(range(len(unary))), children),
            st.tuples(st.sampled_from(["+", "-", "*"]), children, children),
        )

    trees = st.recursive(leaf, node, max_leaves=12)

    def evaluate(tree: Any, x: Any, y: Any) -> Any:
        if tree == "x":
            return x
        if tree == "y":
            return y
        if len(tree) == 2:
            return unary[tree[0]](evaluate(tree[1], x, y) * 0.5)
        a, b = evaluate(tree[1], x, y), evaluate(tree[2], x, y)
        return a + b if tree[0] == "+" else a - b if tree[0] == "-" else a * b

    @settings(max_examples=80, deadline=None)
    @given(trees, st.floats(-1.5, 1.5), st.floats(-1.5, 1.5))
    def check(tree: Any, x: float, y: float) -> None:
        gx, gy = pb.gradient(trace(lambda a, b: evaluate(tree, a, b) + 0.0 * a * b), x, y)
        nx = five_point(lambda v: float(evaluate(tree, v, y)), x, 1e-3)
        ny = five_point(lambda v: float(evaluate(tree, x, v)), y, 1e-3)
        assert math.isclose(gx, nx, rel_tol=1e-6, abs_tol=1e-8)
        assert math.isclose(gy, ny, rel_tol=1e-6, abs_tol=1e-8)

    check()


def test_division_at_floats_pulls_back_as_the_rule_does() -> None:
    # Found by fuzzing: stored partials -y/b overflow where dy/b does not, and
    # 0 * inf = nan; the rule divides the cotangent first and gives -0.
    def tanh_of_ratio(x: Any, y: Any) -> Any:
        return ops.tanh(x / y)

    f = trace(tanh_of_ratio)
    _, (gx, gy) = pb.value_and_gradient(f, 1.0, 4.7e-272)
    _, (gxa, gya) = pb.value_and_gradient(f, np.array([1.0]), np.array([4.7e-272]))
    assert gy == 0.0 and gya[0] == 0.0 and not math.isnan(gy)
    assert gx == gxa[0] == 0.0


def test_a_value_used_many_times_sums_into_arrays_of_its_own_only() -> None:
    # The backward pass adds a third term and more into the sum it made for a value,
    # in place; never into g itself (add's vjp returns g for both operands), a user's
    # cotangent or an argument. The numbers are those of the walkthrough's pass, which
    # makes a new array for every sum.
    x = np.linspace(-1.0, 1.0, 7)
    x_before = x.copy()

    def f(v: Any) -> Any:
        u = v + v  # g itself to both operands
        return v * 2.0 + u + np.sin(v) * u + v  # v's first cotangent: dy itself

    _, back = trace(f)(x)
    dy = np.linspace(0.5, 2.0, 7)
    dy_before = dy.copy()
    got = back(dy)
    again = back(dy)  # a second call: the same numbers (nothing was changed in place)
    np.testing.assert_array_equal(got, again)
    np.testing.assert_array_equal(dy, dy_before)
    np.testing.assert_array_equal(x, x_before)
    assert not np.shares_memory(got, dy) and not np.shares_memory(got, x)
    expected = dy * (5.0 + 2.0 * np.sin(x) + 2.0 * x * np.cos(x))
    np.testing.assert_allclose(got, expected, rtol=1e-14)
    arrived, _ = TracedRule(f).record(x).pull_back(dy)
    np.testing.assert_array_equal(got, arrived[0])


def test_the_backward_pass_drops_each_cotangent_once_pulled_back() -> None:
    # Array cotangents are released while the pass runs (not kept to its end): only
    # the arguments' remain in the table.
    from pullback._trace import backward

    x = np.linspace(0.1, 1.0, 5)
    _, back = trace(lambda v: np.sum(np.exp(np.sin(v) * v) / (1.0 + v)))(x)
    root, parents, backs, leaves = back.graph()  # type: ignore[attr-defined]
    table = backward(parents, backs, root, len(leaves), 1.0)
    assert table[0] is not None
    assert all(g is None for g in table[len(leaves) :])
