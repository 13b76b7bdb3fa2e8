"""compiled(f): the traced path's results, bit for bit; every guard passing and failing."""

from __future__ import annotations

import math
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import pullback as pb
from pullback import compiled, ops, trace
from pullback._compile.rule import MAX_VARIANTS, CompiledRule

from .helpers import five_point, same


def _same_tree(a: Any, b: Any) -> bool:
    if isinstance(a, tuple | list):
        return type(a) is type(b) and len(a) == len(b) and all(map(_same_tree, a, b))
    if isinstance(a, dict):
        return type(b) is dict and a.keys() == b.keys() and all(_same_tree(a[k], b[k]) for k in a)
    return same(a, b)


def _agree(f: Callable[..., Any], *xs: Any, rule: Any = None) -> Any:
    """Value and gradient of ``compiled(f)`` equal ``trace(f)``'s, bit for bit; the gradient."""
    rule = compiled(f) if rule is None else rule
    want = pb.value_and_gradient(trace(f), *xs)
    got = pb.value_and_gradient(rule, *xs)
    assert _same_tree(got, want), (got, want)
    return got[1]


def _variants(rule: Any) -> int:
    assert isinstance(rule, CompiledRule)
    return rule.variants()


# -- the benchmark's functions, against trace and finite differences --------------------


def expression(a: Any, b: Any, c: Any) -> Any:
    return np.sin(a * b) + np.exp(c) / (1 + a * a) - np.tanh(b * c) * a


def loop(x: Any) -> Any:
    for _ in range(50):
        x = x * 0.999 + np.sin(x) * 1e-3
    return x


def test_expression_equals_trace_and_finite_differences() -> None:
    rule = compiled(expression)
    for point in [(0.5, 0.7, 0.3), (-1.2, 0.4, 2.0), (3.0, -2.0, -1.0)]:
        grads = _agree(expression, *point, rule=rule)
        for i in range(3):

            def along(t: float, i: int = i, point: tuple[float, ...] = point) -> float:
                moved = list(point)
                moved[i] = t
                return float(expression(*moved))

            assert grads[i] == pytest.approx(five_point(along, point[i], 1e-3), rel=1e-8)
    assert _variants(rule) == 1  # one signature, no branch: one program


def test_loop_equals_trace_and_its_analytic_derivative() -> None:
    rule = compiled(loop)
    for x in (0.5, -2.0, 10.0):
        g = _agree(loop, x, rule=rule)
        d, v = 1.0, x
        for _ in range(50):
            d *= 0.999 + math.cos(v) * 1e-3
            v = v * 0.999 + math.sin(v) * 1e-3
        assert g == pytest.approx(d, rel=1e-13)


def test_the_scalar_loop_runs_as_plain_float_code() -> None:
    rule = compiled(loop)
    assert isinstance(rule, CompiledRule)
    source = rule.source(0.5)
    forward = source.split("# backward")[0]
    assert "K" not in forward  # no call of a NumPy forward: Python float arithmetic only
    assert "sin(v0)" in forward and "cos(v0)" in forward


# -- random programs (hypothesis) -------------------------------------------------------

_UNARY: list[Callable[[Any], Any]] = [
    np.sin, np.cos, np.tanh, np.exp, ops.sigmoid, ops.relu, np.abs, np.negative, np.square,
    lambda x: x * 0.5, lambda x: 2.0 - x, lambda x: x / 3.0, lambda x: 1.5 / (1.0 + x * x),
    lambda x: x ** 2, lambda x: np.log(1.0 + x * x), lambda x: np.sqrt(1.0 + x * x),
]  # fmt: skip
_BINARY: list[Callable[[Any, Any], Any]] = [
    lambda a, b: a + b, lambda a, b: a - b, lambda a, b: a * b,
    lambda a, b: a / (1.0 + b * b), np.maximum, lambda a, b: np.where(a > b, a, b * 2.0),
]  # fmt: skip

_STEP = st.tuples(st.booleans(), st.integers(0, 100), st.integers(0, 100), st.integers(0, 100))


def _program(steps: list[tuple[bool, int, int, int]], branch: bool) -> Callable[..., Any]:
    def f(a: Any, b: Any, c: Any) -> Any:
        values = [a, b, c]
        for binary, k, i, j in steps:
            x, y = values[i % len(values)], values[j % len(values)]
            if binary:
                values.append(_BINARY[k % len(_BINARY)](x, y))
            else:
                values.append(_UNARY[k % len(_UNARY)](x))
            values[-1] = np.tanh(values[-1])  # keep the values of a long program moderate
        out = values[-1] + values[len(values) // 2] * values[0]
        if branch and np.sum(out) > 0:  # control flow on a value: a guard
            return out * a
        return out

    return f


_FLOAT = st.floats(-3.0, 3.0, allow_nan=False)


@settings(max_examples=60, deadline=None)
@given(st.lists(_STEP, min_size=1, max_size=12), st.booleans(), _FLOAT, _FLOAT, _FLOAT, _FLOAT)
def test_random_float_programs_equal_trace(
    steps: list[tuple[bool, int, int, int]], branch: bool, a: float, b: float, c: float, d: float
) -> None:
    f = _program(steps, branch)
    rule = compiled(f)
    _agree(f, a, b, c, rule=rule)
    _agree(f, d, c, b, rule=rule)  # a second call: replayed (or a guard fails and it records)


_ARRAY = st.lists(_FLOAT, min_size=6, max_size=6).map(lambda v: np.array(v).reshape(2, 3))


@settings(max_examples=40, deadline=None)
@given(st.lists(_STEP, min_size=1, max_size=8), st.booleans(), _ARRAY, _ARRAY, _FLOAT)
def test_random_array_programs_equal_trace(
    steps: list[tuple[bool, int, int, int]], branch: bool, a: Any, b: Any, c: float
) -> None:
    f = _program(steps, branch)

    def g(a: Any, b: Any, c: Any) -> Any:
        out = f(a, b, c)
        return np.sum(out * np.array([1.0, -2.0, 0.5]), axis=1) @ np.array([0.25, 1.0]) + np.mean(
            out.T[1:] ** 2
        )

    rule = compiled(g)
    _agree(g, a, b, c, rule=rule)
    _agree(g, b, a * 2.0, -c, rule=rule)


def test_trees_and_the_network_rules_equal_trace() -> None:
    rng = np.random.default_rng(0)
    params = {"W1": rng.normal(size=(4, 5)), "b1": np.zeros(5), "W2": rng.normal(size=(5, 3))}
    x, labels = rng.normal(size=(6, 4)), np.array([0, 2, 1, 1, 0, 2])

    def loss(params: Any, x: Any, labels: Any) -> Any:
        hidden = ops.relu(ops.affine(x, params["W1"], params["b1"]))
        return ops.softmax_cross_entropy(hidden @ params["W2"], labels)

    rule = compiled(loss)
    grads = _agree(loss, params, x, labels, rule=rule)
    assert set(grads[0]) == {"W1", "b1", "W2"}
    _agree(loss, {k: v * 0.5 for k, v in params.items()}, x, labels, rule=rule)
    assert _variants(rule) == 1


# -- guards: each kind, passing and failing --------------------------------------------


def test_guard_on_a_comparison() -> None:
    def f(x: Any) -> Any:
        return np.exp(x) if x > 0 else x * x

    rule = compiled(f)
    assert _agree(f, 1.0, rule=rule) == math.exp(1.0)
    assert _agree(f, 2.0, rule=rule) == math.exp(2.0)  # the guard passes: replayed
    assert _variants(rule) == 1
    assert _agree(f, -3.0, rule=rule) == -6.0  # the guard fails: recorded again
    assert _variants(rule) == 2
    assert _agree(f, 0.5, rule=rule) == math.exp(0.5)  # both variants kept
    assert _variants(rule) == 2


def test_guard_on_np_all_of_a_mask() -> None:
    def f(x: Any) -> Any:
        return np.sum(np.log(x)) if np.all(x > 0) else np.sum(x**2)

    rule = compiled(f)
    _agree(f, np.array([1.0, 2.0]), rule=rule)
    assert _agree(f, np.array([1.0, -2.0]), rule=rule).tolist() == [2.0, -4.0]
    assert _variants(rule) == 2


def test_a_mask_is_recomputed_at_replay() -> None:
    def f(x: Any) -> Any:
        return np.sum(np.where(x > 0.5, x * 3.0, -x))

    rule = compiled(f)
    _agree(f, np.array([0.0, 1.0, 2.0]), rule=rule)
    assert _agree(f, np.array([1.0, 0.0, 0.7]), rule=rule).tolist() == [3.0, -1.0, 3.0]
    assert _variants(rule) == 1  # no guard: the mask is part of the program


def test_signature_guards_shape_dtype_kind_and_structure() -> None:
    def f(x: Any) -> Any:
        if isinstance(x, dict):
            return np.sum(x["a"] * x["b"])
        return np.sum(x * x) if np.ndim(x) else x * x

    rule = compiled(f)
    _agree(f, np.ones(3), rule=rule)
    _agree(f, np.ones((2, 2)), rule=rule)  # another shape
    _agree(f, np.arange(3), rule=rule)  # an int array: another dtype, taken as float64
    _agree(f, 3.0, rule=rule)  # a float
    _agree(f, {"a": np.ones(2), "b": np.arange(2.0)}, rule=rule)  # a tree
    _agree(f, np.ones(3) * 2.0, rule=rule)  # the first signature again
    assert _variants(rule) == 5


def test_guard_on_an_index() -> None:
    def f(x: Any) -> Any:
        i = int(np.argmax(x))
        return x[i] * x[(i + 1) % len(x)]

    rule = compiled(f)
    _agree(f, np.array([3.0, 1.0, 2.0]), rule=rule)
    _agree(f, np.array([4.0, 0.0, 1.0]), rule=rule)
    assert _variants(rule) == 1
    assert _agree(f, np.array([0.0, 1.0, 5.0]), rule=rule).tolist() == [5.0, 0.0, 0.0]
    assert _variants(rule) == 2


def test_guard_on_an_array_made_plain() -> None:
    def f(x: Any) -> Any:
        order = np.asarray(np.argsort(x))  # a plain array: its value is guarded
        return np.sum(x[order] * np.array([1.0, 2.0, 3.0]))

    rule = compiled(f)
    _agree(f, np.array([3.0, 1.0, 2.0]), rule=rule)
    _agree(f, np.array([30.0, 10.0, 20.0]), rule=rule)
    assert _variants(rule) == 1
    assert _agree(f, np.array([1.0, 2.0, 3.0]), rule=rule).tolist() == [1.0, 2.0, 3.0]
    assert _variants(rule) == 2


def test_guard_on_a_float_made_plain() -> None:
    def f(x: Any) -> Any:
        count = float(np.count_nonzero(x > 0))
        return np.sum(x) * count

    rule = compiled(f)
    _agree(f, np.array([1.0, -1.0]), rule=rule)
    _agree(f, np.array([2.0, -3.0]), rule=rule)
    assert _variants(rule) == 1
    assert _agree(f, np.array([1.0, 1.0]), rule=rule).tolist() == [2.0, 2.0]
    assert _variants(rule) == 2


def test_guard_on_a_data_dependent_shape() -> None:
    def f(x: Any) -> Any:
        (where,) = np.nonzero(x > 0)
        return np.sum(x[np.asarray(where)] ** 2) * len(where)

    rule = compiled(f)
    _agree(f, np.array([1.0, -1.0, 2.0]), rule=rule)
    _agree(f, np.array([-1.0, 2.0, 3.0]), rule=rule)
    _agree(f, np.array([1.0, 2.0, 3.0]), rule=rule)


def test_too_many_variants_run_the_traced_path() -> None:
    def f(x: Any) -> Any:
        return x * float(np.floor(x))  # a guard on each floor: a variant per integer part

    rule = compiled(f)
    for x in range(MAX_VARIANTS + 3):
        assert _agree(f, x + 0.5, rule=rule) == float(x)  # d/dx x floor(x) = floor(x)
    assert _variants(rule) == MAX_VARIANTS
    assert pb.gradient(rule, 20.5) == 20.0  # past the cap: the traced path, still right


# -- special values, nesting, the contract ------------------------------------------------


def test_a_special_value_runs_the_ieee_path() -> None:
    def f(x: Any) -> Any:
        return np.exp(x * 1000.0) + x

    rule = compiled(f)
    _agree(f, 0.001, rule=rule)
    value, grad = pb.value_and_gradient(rule, 1.0)  # math.exp overflows: IEEE inf instead
    assert value == math.inf and grad == math.inf
    assert _agree(f, 0.002, rule=rule) == pytest.approx(1000.0 * math.exp(2.0) + 1.0)


def test_nested_differentiation_runs_the_traced_path() -> None:
    rule = compiled(lambda x: np.sin(x) * x)
    second = pb.gradient(trace(lambda x: pb.gradient(rule, x)), 0.7)
    assert second == pytest.approx(2 * math.cos(0.7) - 0.7 * math.sin(0.7), rel=1e-14)


def test_a_derivative_inside_runs_the_traced_path() -> None:
    def f(x: Any) -> Any:
        return pb.gradient(trace(lambda y: y * y * x), x)  # 2 x^2: its derivative is 4 x

    rule = compiled(f)
    assert pb.gradient(rule, 2.0) == pb.gradient(trace(f), 2.0) == 8.0
    assert pb.gradient(rule, 3.0) == 12.0
    assert _variants(rule) == 0


def test_a_value_of_an_enclosing_trace_runs_the_traced_path() -> None:
    def outer(a: Any) -> Any:
        inner = compiled(lambda x: x * a)  # closes over a traced value
        return pb.gradient(inner, 3.0) * a

    assert pb.gradient(trace(outer), 2.0) == 4.0  # d/da a*a


def test_values_read_from_elsewhere_are_frozen() -> None:
    scale = np.array([2.0])

    def f(x: Any) -> Any:
        return np.sum(x * scale)

    rule = compiled(f)
    assert pb.gradient(rule, np.ones(1)).tolist() == [2.0]
    scale[0] = 5.0  # the contract: the compiled code keeps the value it saw
    assert pb.gradient(rule, np.ones(1)).tolist() == [2.0]
    assert pb.gradient(trace(f), np.ones(1)).tolist() == [5.0]


def test_a_traced_rule_can_be_compiled_and_apis_take_it() -> None:
    rule = compiled(trace(lambda a, b: a * np.exp(b)))
    y, back = pb.pullback(rule, 2.0, 0.0)
    assert y == 2.0 and back(3.0) == (3.0, 6.0)
    assert pb.gradient(rule, 2.0, 0.0) == (1.0, 2.0)
    assert repr(rule) == "compiled(<lambda>)"


def test_outputs_and_cotangents_are_the_callers_own() -> None:
    rule = compiled(lambda v: v)
    x = np.ones(3)
    y, back = pb.pullback(rule, x)
    dy = np.full(3, 2.0)
    g = back(dy)
    assert y is not x and g is not dy and not np.shares_memory(g, dy)
    y[0] = 7.0
    assert x[0] == 1.0 and pb.pullback(rule, x)[0][0] == 1.0


def test_a_constant_output_and_an_unused_argument() -> None:
    def f(x: Any, y: Any) -> Any:
        return np.sum(x) + 1.0

    _agree(f, np.ones(2), 3.0)
    _agree(lambda x: 4.0, np.ones(2))


# -- errors --------------------------------------------------------------------------------


def test_errors_name_what_was_wrong() -> None:
    with pytest.raises(TypeError, match="compiled: expected a function"):
        compiled(3)  # type: ignore[call-overload]
    with pytest.raises(TypeError, match="must return a value"):
        pb.gradient(compiled(lambda x: "no"), 1.0)
    with pytest.raises(TypeError, match="cannot become a plain number"):
        pb.gradient(compiled(lambda x: float(x) * x), 1.0)
    with pytest.raises(TypeError, match="changed in"):

        def in_place(x: Any) -> Any:
            x += 1.0
            return np.sum(x)

        pb.gradient(compiled(in_place), np.ones(2))
    with pytest.raises(ValueError, match="shape"):
        pb.pullback(compiled(lambda x: x * 2.0), np.ones(2))[1](np.ones(3))


# -- threads ---------------------------------------------------------------------------------


def test_threads_share_one_compiled_rule() -> None:
    def f(x: Any) -> Any:
        return np.sin(x) * x if x > 0 else np.cos(x) - x

    rule = compiled(f)
    points = [(-1.0) ** i * (0.1 + i / 7) for i in range(64)]
    want = [pb.gradient(trace(f), p) for p in points]
    barrier = threading.Barrier(4)

    def work(offset: int) -> list[float]:
        barrier.wait()
        return [pb.gradient(rule, p) for p in points[offset:] + points[:offset]]

    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(work, range(4)))
    for offset, got in enumerate(results):
        assert got == want[offset:] + want[:offset]
    assert _variants(rule) <= MAX_VARIANTS


# -- more of NumPy and the library, against trace ----------------------------------------


def _cube(x: Any) -> tuple[Any, Any]:
    return x**3, lambda dy: dy * 3.0 * x * x


def test_a_lifted_rule_and_variadic_entries() -> None:
    cube = pb.lift(_cube)

    def f(x: Any, y: Any) -> Any:
        joined = np.concatenate([x, y * 2.0, np.stack([x[0], y[1]])])
        return np.sum(cube(joined)) + cube(x[1]) * np.sum(np.cumsum(y))

    rule = compiled(f)
    _agree(f, np.array([0.5, -1.0]), np.array([2.0, 0.25]), rule=rule)
    _agree(f, np.array([1.5, 1.0]), np.array([-2.0, 0.75]), rule=rule)
    assert _variants(rule) == 1


def test_shapes_reductions_and_library_functions() -> None:
    def f(w: Any, x: Any, scale: Any) -> Any:
        z = (x @ w).T.reshape(-1, 2)
        soft = ops.softmax(z, axis=-1)
        picked = z[1:, ::-1] * np.max(z, axis=0, keepdims=True)
        return np.mean(soft * scale) + np.sum(picked**2) / z.shape[0] + ops.logsumexp(z)

    rule = compiled(f)
    rng = np.random.default_rng(3)
    for _ in range(2):
        _agree(f, rng.normal(size=(3, 2)), rng.normal(size=(4, 3)), float(rng.normal()), rule=rule)
    _agree(f, np.ones((3, 2)), np.ones((4, 3)), 2, rule=rule)  # an int argument: taken as float
    assert _variants(rule) == 2  # two signatures (a float, an int); no guard failed


def test_a_differentiable_condition_and_zero_dimensional_arrays() -> None:
    def f(x: Any, c: Any) -> Any:
        return np.sum(np.where(np.tanh(x), x * c, c)) + c * c

    rule = compiled(f)
    _agree(f, np.array([0.0, 1.0, -2.0]), np.array(1.5), rule=rule)
    _agree(f, np.array([3.0, 0.0, 0.0]), np.array(-0.5), rule=rule)
    assert _variants(rule) == 1


@settings(max_examples=30, deadline=None)
@given(st.lists(_STEP, min_size=1, max_size=8), _FLOAT, _ARRAY)
def test_random_programs_mixing_floats_and_arrays_equal_trace(
    steps: list[tuple[bool, int, int, int]], c: float, a: Any
) -> None:
    f = _program(steps, False)

    def g(c: Any, a: Any) -> Any:
        s = f(c, c * 0.5, c**3)  # float code, its partials called or written out
        return np.sum(a * s) + s * np.sum(a**2) + c**2

    _agree(g, c, a)


def test_the_sign_of_slogdet_is_computed_at_every_call() -> None:
    def f(a: Any) -> Any:
        sign, logabsdet = np.linalg.slogdet(a)
        return sign * logabsdet

    rule = compiled(f)
    positive = np.array([[3.0, 1.0], [1.0, 2.0]])
    negative = np.array([[1.0, 3.0], [2.0, 1.0]])
    for a in (positive, negative, positive):
        sign, logabsdet = np.linalg.slogdet(a)
        y, back = pb.pullback(rule, a)
        assert y == sign * logabsdet
        assert np.allclose(back(1.0), sign * np.linalg.inv(a).T, rtol=1e-12, atol=0.0)
        _agree(f, a, rule=rule)
    assert _variants(rule) == 1  # no guard on the sign: it is part of the program
    assert "SAME" not in rule.source(negative)


def test_a_mask_read_from_a_float_condition_is_not_frozen() -> None:
    def f(x: Any) -> Any:
        return np.sum(np.where(x - 1.0, x * 2.0, x**3))

    rule = compiled(f)
    _agree(f, np.array([1.0, 2.0, 0.5]), rule=rule)
    assert _agree(f, np.array([3.0, 1.0, 1.0]), rule=rule).tolist() == [2.0, 3.0, 3.0]
    assert _variants(rule) == 1
    assert "SAME" not in rule.source(np.array([1.0, 2.0]))
