"""Regression tests from the reliability audit, one section per kind of failure."""

from __future__ import annotations

import contextlib
import gc
import io
import math
import os
import subprocess
import sys
import tempfile
import time
import warnings
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import pullback as pb
from pullback import Composition
from pullback._cli import main

from .helpers import same


@contextmanager
def no_cycle_collector() -> Iterator[None]:
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


# -- fused float chains of any length give the stages' bits ---------------------------

# Stages that keep a long chain finite (so the fused path is taken, not the fallback)
# with derivatives that are not powers of two (so the order of the products shows).
CHAIN_RULE = st.one_of(
    st.sampled_from([pb.sin, pb.cos, pb.tanh, pb.sigmoid, pb.power(1), pb.power(0)]),
    st.floats(0.3, 3.0).map(pb.scale),
    st.floats(-3.0, -0.3).map(pb.scale),
    st.floats(-3, 3).map(pb.add_const),
)


@settings(max_examples=80, deadline=None)
@given(
    st.lists(CHAIN_RULE, min_size=1, max_size=12),
    st.integers(1, 40),
    st.lists(CHAIN_RULE, max_size=70),
    st.floats(-3, 3),
)
def test_fused_and_stage_by_stage_results_are_identical_for_chains_of_any_length(
    cycle: list[Any], repeats: int, tail: list[Any], x: float
) -> None:
    # A repeated cycle (chunks share code) and an irregular tail, from one to ~550 stages.
    f = pb.compose(*(cycle * repeats + tail))
    assert isinstance(f, Composition)
    ys, back = f.forward(x)
    gs = back(1.0)
    y, g = f.value_and_gradient(x)
    assert same(y, ys) and same(g, gs)
    assert same(pb.gradient(f, x), gs)
    assert same(pb.value_and_gradient(f, x)[1], gs)
    assert same(pb.pullback(f, x)[1](1.0), gs)
    xs = np.array([x, -x, 0.5 * x])  # and the fused array path, element by element
    ya, ga = f.value_and_gradient(xs)
    ysa, backa = f.forward(xs)
    assert same(ya, ysa) and same(ga, backa(np.ones(3)))


def test_chunk_products_do_not_overflow_where_the_running_product_does_not() -> None:
    k = 10 ** (200 / 64)
    f = pb.compose(*([pb.scale(1 / k)] * 64 + [pb.scale(k * k)] * 64 + [pb.scale(1 / k)] * 64))
    expected = f.forward(1.0)[1](1.0)
    assert pb.gradient(f, 1.0) == expected == 0.9999999999999915
    assert pb.value_and_gradient(f, 1.0)[1] == expected
    assert pb.gradient(f, np.ones(2))[0] == expected


# -- building compositions: linear in the nesting, no reference cycles ----------------


def test_nested_compositions_build_in_linear_time() -> None:
    start = time.perf_counter()
    f: Any = pb.exp
    for _ in range(20_000):
        f = pb.compose(pb.sin, f)  # quadratic re-planning took minutes at this depth
    assert isinstance(f, Composition)
    assert pb.gradient(f, 0.3) == f.forward(0.3)[1](1.0)
    assert len(f.stages) == 20_001 and f.stages[-1] is pb.exp
    assert time.perf_counter() - start < 10.0


def test_a_dropped_composition_is_freed_without_the_cycle_collector() -> None:
    with no_cycle_collector():
        f = pb.compose(*([pb.sigmoid, pb.scale(2.0)] * 100))
        assert isinstance(f, Composition) and f.fused is not None
        pb.gradient(f, 0.5)
        pb.value_and_gradient(f, 0.5)
        pb.gradient(f, np.ones(3))
        dead_composition, dead_fused = weakref.ref(f), weakref.ref(f.fused)
        del f
        assert dead_composition() is None and dead_fused() is None


def test_nested_compositions_keep_their_stages_and_fusion() -> None:
    inner = pb.compose(pb.exp, pb.compose(), pb.scale(2.0))
    outer = pb.compose(pb.sin, inner, pb.compose(pb.square))
    assert isinstance(outer, Composition)
    assert outer.stages == (pb.sin, pb.exp, pb.scale(2.0), pb.square)
    assert repr(outer) == "compose(sin, exp, scale(2.0), square)"
    assert outer.fused is not None
    user: Any = pb.compose(pb.sin, pb.compose(lambda x: (x, lambda dy: dy)))
    assert user.fused is None
    assert math.isclose(pb.gradient(outer, 0.7), outer.forward(0.7)[1](1.0), rel_tol=0.0)


# -- every returned array is the caller's own ------------------------------------------


def passthrough(x: Any) -> tuple[Any, Any]:
    """A user rule that hands back its argument and its cotangent (the library copies)."""
    return x, lambda dy: dy


# Rules of one array argument; the second entry says whether calling the rule itself
# is the library's doing (a user rule that returns its argument is the user's own).
ONE_ARGUMENT: list[tuple[Any, bool]] = [
    (pb.exp, True),
    (pb.sigmoid, True),
    (pb.relu, True),
    (pb.square, True),
    (pb.scale(2.0), True),
    (pb.add_const(1.0), True),
    (pb.power(1), True),
    (pb.compose(), True),
    (pb.compose(pb.add_const(1.0)), True),
    (pb.compose(pb.exp, pb.sin), True),
    (pb.compose(passthrough, pb.exp), False),
    (pb.compose(pb.exp, passthrough), False),
    (passthrough, False),
    (pb.trace(lambda v: v), True),
    (pb.trace(lambda v: +v), True),
    (pb.trace(lambda v: v + 1.0), True),
    (pb.trace(lambda v: v * 1.0), True),
    (pb.trace(lambda v: pb.ops.square(v) + v), True),
    (pb.trace(lambda v: pb.lift(pb.compose())(v)), True),
]
TWO_ARGUMENTS: list[Any] = [
    pb.add,
    pb.sub,
    pb.mul,
    pb.div,
]


def _sum(a: Any, b: Any) -> Any:
    return a + b


def _first(a: Any, b: Any) -> Any:
    return a


def _mixed(a: Any, b: Any) -> Any:
    return a * b + a


TWO_ARGUMENTS += [pb.trace(_sum), pb.trace(_first), pb.trace(_mixed)]
SHAPES = st.sampled_from([(), (1,), (3,), (2, 3)])


def arrays_in(tree: Any) -> list[Any]:
    """Every ndarray in nested tuples, lists and dicts (iteratively)."""
    found, stack = [], [tree]
    while stack:
        item = stack.pop()
        if isinstance(item, np.ndarray):
            found.append(item)
        elif isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, (tuple, list)):
            stack.extend(item)
    return found


def assert_owned(outputs: list[Any], inputs: list[Any]) -> None:
    returned = arrays_in(outputs)
    given = arrays_in(inputs)
    for i, a in enumerate(returned):
        assert type(a) is np.ndarray and a.dtype == np.float64 and a.flags.writeable
        assert not any(np.shares_memory(a, x) for x in given), "shares memory with an input"
        assert not any(np.shares_memory(a, b) for b in returned[i + 1 :]), "two share memory"


def calls(f: Any, xs: tuple[Any, ...], direct: bool) -> Iterator[tuple[list[Any], list[Any]]]:
    """(returned, given) for every way of differentiating ``f`` at ``xs``."""
    yield [pb.gradient(f, *xs)], list(xs)
    if isinstance(f, Composition):
        yield list(f.value_and_gradient(*xs)), list(xs)
    yield list(pb.value_and_gradient(f, *xs)), list(xs)
    y, back = pb.pullback(f, *xs)
    dy = 1.0 if type(y) is float else np.ones_like(y)
    yield [y, back(dy), back(dy)], [*xs, dy]
    if direct:
        y, back = f(*xs)
        dy = 1.0 if type(y) is float else np.ones_like(y)
        yield [y, back(dy), back(dy)], [*xs, dy]


@settings(max_examples=150, deadline=None)
@given(st.sampled_from(ONE_ARGUMENT), SHAPES, st.floats(-2, 2))
def test_no_two_returned_arrays_share_memory_none_shares_with_an_input(
    rule: tuple[Any, bool], shape: tuple[int, ...], value: float
) -> None:
    f, direct = rule
    x = np.full(shape, value)
    for returned, given_ in calls(f, (x,), direct):
        assert_owned(returned, given_)
    view = np.full((2, *shape), value)[1, ...]  # a view of another array as the argument
    for returned, given_ in calls(f, (view,), direct):
        assert_owned(returned, [*given_, view.base])


@settings(max_examples=80, deadline=None)
@given(st.sampled_from(TWO_ARGUMENTS), SHAPES, st.floats(0.5, 2))
def test_rules_of_two_arguments_return_arrays_of_their_own(
    f: Any, shape: tuple[int, ...], value: float
) -> None:
    a, b = np.full(shape, value), np.full(shape, -value)
    for returned, given_ in calls(f, (a, b), True):
        assert_owned(returned, given_)
    for returned, given_ in calls(f, (a, a), True):  # the same array twice
        assert_owned(returned, given_)


_X, _W = np.ones((2, 3)), np.ones((3, 4))
MORE_RULES: list[tuple[Any, tuple[Any, ...]]] = [
    (pb.affine, (_X, _W, np.zeros(4))),
    (pb.softmax, (_X,)),
    (pb.log_softmax, (_X,)),
    (pb.softmax_cross_entropy, (_X, np.eye(3)[:2])),
    (pb.softmax_cross_entropy, (_X, np.array([0, 1]))),
    (pb.trace(lambda v: v[0]), (_X,)),
    (pb.trace(lambda v: pb.ops.sum(v)), (_X,)),
    (pb.trace(lambda p: p["a"]), ({"a": _X, "b": _X},)),
    (pb.trace(lambda p: p[0] + p[1]), ([_X, _X],)),
    (pb.trace(lambda v: v + np.ones(3)), (_X,)),
    (pb.trace(lambda v: pb.ops.affine(v, _W, np.zeros(4))), (_X,)),
    (pb.trace(lambda v: pb.gradient(pb.trace(lambda u: pb.ops.sum(u * u)), v)), (_X,)),
    (pb.add, (_X, np.ones(3))),
    (pb.sub, (_X, _X)),
]


@pytest.mark.parametrize(("f", "xs"), MORE_RULES)
def test_network_rules_trees_and_nesting_return_arrays_of_their_own(
    f: Any, xs: tuple[Any, ...]
) -> None:
    for returned, given_ in calls(f, xs, True):
        assert_owned(returned, given_)


def test_lifted_identity_returns_an_array_of_its_own() -> None:
    x = np.ones(2)
    assert not np.shares_memory(pb.lift(pb.compose())(x), x)


def test_gradients_of_a_tree_do_not_alias() -> None:
    loss = pb.trace(lambda p: pb.ops.sum(pb.ops.square(p["w"] + p["b"])))
    params = {"w": np.ones(3), "b": np.zeros(3)}
    g = pb.gradient(loss, params)
    assert_owned([g], [params])
    g["w"] *= 0.5  # a training loop's in-place update changes one gradient only
    assert np.array_equal(g["b"], [2.0, 2.0, 2.0])


# -- every checked pullback: a cotangent of the value's kind and shape ------------------

# (rule, arguments) at floats and at arrays: fused and stage-by-stage compositions,
# primitives, binary rules, traced code, the network rules, a user rule.
CHECKED: list[tuple[Any, tuple[Any, ...]]] = [
    (pb.exp, (1.0,)),
    (pb.exp, (np.ones(3),)),
    (pb.scale(2.0), (np.ones((2, 2)),)),
    (pb.compose(pb.sin, pb.exp), (0.5,)),
    (pb.compose(pb.sin, pb.exp), (np.ones(3),)),
    (pb.compose(passthrough, pb.exp), (0.5,)),
    (pb.compose(passthrough, pb.exp), (np.ones(3),)),
    (pb.compose(), (np.ones(3),)),
    (passthrough, (2.0,)),
    (pb.mul, (2.0, 3.0)),
    (pb.mul, (np.ones(3), 2.0)),
    (pb.add, (np.ones((2, 3)), np.ones(3))),
    (pb.trace(lambda x: x * 2.0), (1.0,)),
    (pb.trace(lambda x: x * 2.0), (np.ones(3),)),
    (pb.trace(lambda p: pb.ops.sum(p["w"] * p["b"])), ({"w": np.ones(2), "b": 1.0},)),
    (pb.softmax, (np.zeros((2, 3)),)),
    (pb.softmax_cross_entropy, (np.zeros((2, 3)), np.array([0, 1]))),
    (pb.affine, (np.ones((2, 3)), np.ones((3, 4)), np.zeros(4))),
]


def wrong_cotangents(y: Any) -> list[Any]:
    """Cotangents of the wrong kind or shape for the value ``y``."""
    if type(y) is float:
        return [np.ones(3), np.ones(()), np.ones((1,)), "1", None, 1j]
    return [1.0, 2, np.ones((*y.shape, 2)), np.ones(y.shape[1:] or (5,)), "1", None]


@settings(max_examples=120, deadline=None)
@given(st.sampled_from(CHECKED), st.data())
def test_every_checked_pullback_rejects_a_cotangent_of_the_wrong_kind_or_shape(
    case: tuple[Any, tuple[Any, ...]], data: st.DataObject
) -> None:
    f, xs = case
    checked = [pb.pullback(f, *xs)]
    if isinstance(f, (type(pb.trace(abs)), Composition)):
        checked.append(f(*xs))  # a traced rule's and a composition's own are checked too
    for y, back in checked:
        dy = data.draw(st.sampled_from(wrong_cotangents(y)))
        with pytest.raises((TypeError, ValueError), match=r"the pullback of "):
            back(dy)
        back(np.ones_like(y) if type(y) is np.ndarray else 1.0)  # the right one still works


# -- 0-d arrays are arrays: 0-d arrays back, on every path -----------------------------

ZERO_D_RULES: list[Any] = [
    pb.sigmoid,
    pb.tanh,
    pb.cos,
    pb.square,
    pb.sin,
    pb.log,
    pb.relu,
    pb.scale(3.0),
    pb.power(-1),
    pb.compose(pb.sin, pb.exp),
    pb.compose(pb.power(-1), pb.add_const(1), pb.exp, pb.scale(-1)),
    pb.compose(passthrough, pb.exp),
    pb.trace(lambda v: pb.ops.sigmoid(v) * v),
]


@pytest.mark.parametrize("f", ZERO_D_RULES, ids=lambda f: getattr(f, "__name__", repr(f)))
def test_a_0d_array_gives_0d_arrays_on_every_path(f: Any) -> None:
    x = np.array(0.5)
    results = [
        pb.gradient(f, x),
        *pb.value_and_gradient(f, x),
        pb.pullback(f, x)[0],
        pb.pullback(f, x)[1](np.array(1.0)),
        pb.jacobian(f, x),
    ]
    for r in results:
        assert type(r) is np.ndarray and r.shape == () and r.dtype == np.float64
    # NumPy's arithmetic makes NumPy scalars of 0-d arrays: one is a 0-d cotangent
    assert pb.pullback(f, x)[1](np.float64(2.0)).shape == ()
    pb.check_rule(f, x)
    # and the numbers are those of the float path
    assert float(pb.gradient(f, x)) == pb.gradient(f, 0.5)
    assert float(pb.value_and_gradient(f, x)[0]) == pb.value_and_gradient(f, 0.5)[0]


def test_a_0d_array_in_a_binary_rule_keeps_its_kind() -> None:
    mul: Any = pb.mul  # a 0-d array against a float: broadcasting, typed for one kind
    da, db = pb.gradient(mul, np.array(2.0), 3.0)
    assert type(da) is np.ndarray and da.shape == () and float(da) == 3.0
    assert type(db) is float and db == 2.0


# -- values refused or converted explicitly ------------------------------------------


@pytest.mark.filterwarnings("ignore:the matrix subclass:PendingDeprecationWarning")
@pytest.mark.parametrize("rule", [pb.square, pb.exp, pb.scale(2.0), pb.compose(pb.sin, pb.exp)])
def test_matrices_and_masked_arrays_are_refused_with_what_to_do(rule: Any) -> None:
    with pytest.raises(TypeError, match=r"np\.matrix.*pass np\.asarray\(m\)"):
        pb.gradient(rule, np.matrix([[1.0, 2.0], [3.0, 4.0]]))
    with pytest.raises(TypeError, match=r"masked array.*m\.filled"):
        pb.gradient(rule, np.ma.masked_array([1.0, 2.0], mask=[False, True]))
    with pytest.raises(TypeError, match=r"np\.matrix"):
        rule(np.matrix([[1.0]]))


def test_other_float_dtypes_and_subclasses_become_plain_float64() -> None:
    class Tagged(np.ndarray):
        pass

    square: Any = pb.square  # the types say float64; at run time others are converted
    for x in (
        np.array([0.5, 2.0], dtype=np.float32),
        np.array([0.5, 2.0], dtype=np.float16),
        np.array([0.5, 2.0], dtype=np.longdouble),
        np.array([0.5, 2.0]).view(Tagged),
    ):
        y, g = pb.value_and_gradient(square, x)
        assert type(y) is np.ndarray and y.dtype == np.float64 and np.array_equal(y, [0.25, 4.0])
        assert type(g) is np.ndarray and g.dtype == np.float64 and np.array_equal(g, [1.0, 4.0])
    assert pb.gradient(square, np.float32(0.5)) == 1.0


# -- errors name the function and say what was expected --------------------------------


NOT_A_RULE: Any = "3"


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda: pb.scale(10**400), ValueError, r"^scale: the constant int .* too large"),
        (lambda: pb.power(-(10**400)), ValueError, r"^power: the constant"),
        (
            lambda: pb.numerical_gradient(NOT_A_RULE, 1.0),
            TypeError,
            r"^numerical_gradient: the first",
        ),
        (lambda: pb.walkthrough(NOT_A_RULE, 1.0), TypeError, r"^walkthrough: the first argument"),
        (lambda: pb.jacobian(NOT_A_RULE, 1.0), TypeError, r"^jacobian: the first argument"),
        (lambda: pb.hessian(NOT_A_RULE, 1.0), TypeError, r"^hessian: the first argument"),
        (lambda: pb.check_rule(NOT_A_RULE, 1.0), TypeError, r"^check_rule: the first argument"),
        (
            lambda: pb.numerical_gradient(pb.exp, 1.0, eps=0.0),
            ValueError,
            r"^numerical_gradient: eps must be a positive finite number",
        ),
        (lambda: pb.check_rule(pb.exp, 1.0, eps=math.nan), ValueError, r"^check_rule: eps"),
        (lambda: pb.check_rule(pb.exp, 1.0, rtol=NOT_A_RULE), TypeError, r"^check_rule: rtol must"),
        (lambda: pb.check_rule(pb.exp, 1.0, atol=-1.0), ValueError, r"^check_rule: atol must"),
        (lambda: pb.numerical_gradient(pb.exp), TypeError, r"^numerical_gradient\(exp\): no arg"),  # type: ignore[arg-type, call-arg]
        (
            lambda: pb.numerical_gradient(lambda x: "a", 1.0),  # type: ignore[arg-type]
            TypeError,
            r"^numerical_gradient\(<lambda>\): the value of <lambda>: expected a value",
        ),
        (lambda: pb.walkthrough(pb.exp), TypeError, r"^walkthrough\(exp\): no argument"),  # type: ignore[arg-type, call-arg]
        (lambda: pb.walkthrough(pb.exp, 1.0, seed="x"), TypeError, r"^walkthrough\(exp\): the"),  # type: ignore[call-overload]
        (
            lambda: pb.walkthrough(pb.exp, 1.0, seed=np.ones(3)),  # type: ignore[misc]
            TypeError,
            r"^walkthrough\(exp\): the seed: the value is a float, so the cotangent must be",
        ),
        (
            lambda: pb.walkthrough(pb.mul, 1.0, 2.0, seed=np.ones(2)),  # type: ignore[call-arg, misc]
            TypeError,
            r"^walkthrough\(mul\): the seed",
        ),
        (lambda: pb.softmax(np.zeros((2, 0))), ValueError, r"^softmax: x has no classes"),
        (lambda: pb.log_softmax(np.zeros((2, 0))), ValueError, r"^log_softmax: x has no"),
        (
            lambda: pb.softmax_cross_entropy(np.zeros((0, 3)), np.zeros(0)),
            ValueError,
            r"^softmax_cross_entropy: logits must have at least one row and one class",
        ),
        (
            lambda: pb.gradient(lambda x: (x, lambda dy: 1j), 1.0),
            TypeError,
            r"^the pullback of <lambda> returned complex 1j for argument 1; a cotangent is real",
        ),
        (
            lambda: pb.gradient(lambda x: (x, lambda dy: dy * 1j), np.ones(2)),
            TypeError,
            r"^the pullback of <lambda> returned an array of dtype complex128",
        ),
    ],
)
def test_errors_name_the_function_and_what_was_expected(
    call: Any, error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        call()


def test_jacobians_of_empty_arrays_are_empty() -> None:
    assert pb.jacobian(pb.exp, np.zeros(0)).shape == (0, 0)
    assert pb.jacobian(pb.exp, np.zeros((2, 0))).shape == (2, 0, 2, 0)
    assert pb.hessian(pb.trace(lambda v: pb.ops.sum(v * v)), np.zeros(0)).shape == (0, 0)


# -- floats and arrays agree at the special points -----------------------------------

EDGE_POINTS = [0.0, -0.0, 5e-324, 1e-160, 1e-110, 1e-77, 1e77, 1e110, 1e160, 1e308]
EDGE_POINTS += [-x for x in EDGE_POINTS] + [math.inf, -math.inf, math.nan]


def is_special(v: float) -> bool:
    """Zero (either sign), subnormal, infinite or nan: where floats and arrays must agree."""
    return not (2.2250738585072014e-308 <= abs(v) < math.inf)


@pytest.mark.parametrize("n", [-8, -5, -3, -2, -1, 2, 3, 4, 5, 8])
@pytest.mark.parametrize("x", EDGE_POINTS)
def test_integral_powers_agree_on_floats_and_arrays_at_the_edges(n: int, x: float) -> None:
    y, back = pb.power(n)(x)
    ya, backa = pb.power(n)(np.array([x]))
    for a, b in ((y, float(ya[0])), (back(1.0), float(backa(np.ones(1))[0]))):
        if is_special(a) or is_special(b):
            assert same(a, b) and math.copysign(1.0, a) == math.copysign(1.0, b)
        else:
            assert math.isclose(a, b, rel_tol=4e-16)


def test_absolute_has_derivative_plus_zero_at_both_zeros() -> None:
    from pullback._rules.elementwise import absolute

    for x in (0.0, -0.0):
        d = absolute(x)[1](1.0)
        da = absolute(np.array([x]))[1](np.ones(1))[0]
        assert d == 0.0 and math.copysign(1.0, d) == 1.0 == math.copysign(1.0, da)
    traced = pb.gradient(pb.trace(lambda v: abs(v)), -0.0)
    assert math.copysign(1.0, traced) == 1.0


# -- parameter trees of any depth -------------------------------------------------------


def deep_tree(depth: int, leaf: Any) -> Any:
    """Lists, dicts and tuples in turn, ``depth`` levels, with a float beside each."""
    tree = leaf
    for i in range(depth):
        tree = [tree] if i % 3 == 0 else ({"a": tree, "b": 1.0} if i % 3 == 1 else (tree, 2.0))
    return tree


def innermost(tree: Any) -> Any:
    while isinstance(tree, (list, tuple, dict)):
        tree = tree["a"] if isinstance(tree, dict) else tree[0]
    return tree


def same_structure(a: Any, b: Any) -> bool:
    stack = [(a, b)]
    while stack:
        x, y = stack.pop()
        if type(x) is not type(y):
            return False
        if isinstance(x, dict):
            if sorted(x) != sorted(y):
                return False
            stack.extend((x[k], y[k]) for k in x)
        elif isinstance(x, (list, tuple)):
            if len(x) != len(y):
                return False
            stack.extend(zip(x, y, strict=True))
    return True


@pytest.mark.parametrize("depth", [2_000, 6_000])
def test_parameter_trees_nested_thousands_of_levels_deep(depth: int) -> None:
    from pullback._trees import flatten, leaf_paths, unflatten

    tree = deep_tree(depth, np.array([1.0, 3.0]))
    leaves, spec = flatten(tree)
    assert same_structure(unflatten(spec, leaves), tree)
    path, node = "p", tree
    while isinstance(node, (list, tuple, dict)):
        path += "['a']" if isinstance(node, dict) else "[0]"
        node = node["a"] if isinstance(node, dict) else node[0]
    assert leaf_paths(tree, "p")[0] == path  # depth first: the innermost leaf comes first
    loss = pb.trace(lambda p: pb.ops.sum(innermost(p) * innermost(p)))
    value, g = pb.value_and_gradient(loss, tree)
    assert value == 10.0 and same_structure(g, tree)
    assert np.array_equal(innermost(g), [2.0, 6.0])
    with pytest.raises(TypeError, match="nested too deeply to show"):
        pb.gradient(pb.exp, tree)


# -- the command line: exit 0 or 2 with a message, never a traceback ------------------


def run_cli(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pullback", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **env},
    )


def run_main(argv: list[str]) -> tuple[int, str, str]:
    """``main(argv)`` in this process: its exit code, stdout and stderr."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(argv)
        except SystemExit as exit_:  # argparse's own refusals
            code = int(exit_.code or 0)
    return code, out.getvalue(), err.getvalue()


PATHS = st.one_of(
    st.sampled_from(
        ["", " ", "{tmp}", "{tmp}/no/such/dir/g.dot", "/proc/g.dot", "/dev/full", "{tmp}/g.svg"]
    ),
    st.sampled_from(["{tmp}/g.gif", "{tmp}/g.SVG", "{tmp}/.svg", "{tmp}/g\x00.dot", "{tmp}/g"]),
    st.text(max_size=12).filter(lambda name: ".." not in name).map(lambda name: "{tmp}/" + name),
)
TEXTS = st.one_of(
    st.sampled_from(["x * y", "sin(x) + y", "y * 3", "x +", "", "-x**2", "ｘ + 1", "9**9**9"]),
    st.text(max_size=20),
)


@settings(max_examples=150, deadline=None)
@given(TEXTS, PATHS, PATHS, st.booleans())
def test_the_cli_exits_0_or_2_on_any_text_and_any_dot_or_svg_path(
    text: str, dot: str, svg: str, use_svg: bool
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        argv = ["--at", "x=0.5", "--at", "y=-2", "--dot", dot.replace("{tmp}", tmp)]
        if use_svg:
            argv += ["--svg", svg.replace("{tmp}", tmp)]
        code, out, err = run_main([*argv, "--", text])
    assert code in (0, 2), err
    if code == 2:
        assert err.startswith("python -m pullback: ") or err.startswith("usage:"), err
        assert err.strip().splitlines()[-1].split(": ", 1)[1].strip()  # a message, never empty
        assert "Traceback" not in err and out == ""


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--dot", "/no/such/dir/g.dot"], "--dot: cannot write '/no/such/dir/g.dot': No such"),
        (["--dot", "/"], "--dot: cannot write '/': Is a directory"),
        (["--dot", "/dev/full"], "--dot: cannot write '/dev/full': No space left on device"),
        (["--dot", ""], "--dot needs a file name"),
        (["--svg", ""], "--svg needs a file name"),
        (["--svg", "g.gif"], "--svg: render: write .svg, .png or .pdf, not 'g.gif'"),
        (["--at", "x=1", "--at", "x=2"], "--at x is given twice"),
        (["--at", "x=1", "--at", "ｘ=2"], "--at x is given twice"),
        (["--at", "x=1", "--", "-" * 9_000 + "x"], "not a valid expression: it is nested too"),
    ],
)
def test_cli_refusals_are_one_line_messages(argv: list[str], message: str) -> None:
    code, out, err = run_main(argv)
    assert code == 2 and out == ""
    assert err.startswith(f"python -m pullback: {message}")
    assert len(err.strip().splitlines()) == 1


def test_cli_unicode_names_unused_variables_and_ascii_terminals() -> None:
    code, out, _ = run_main(["--at", "ｘ=1", "--", "ｘ + 1"])  # full-width x is x to Python
    assert code == 0 and out.splitlines()[-1] == "gradient: 1.0"
    code, out, _ = run_main(["--at", "x=1", "--at", "y=2", "--", "y*3"])
    assert code == 0 and out.splitlines()[-1] == "gradient: d/dx = 0.0, d/dy = 3.0"
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no RuntimeWarning from 0 * inf
        code, out, _ = run_main(["--at", "x=inf", "--at", "y=2", "--", "y*3"])
    assert code == 0 and out.splitlines()[-1] == "gradient: d/dx = 0.0, d/dy = 3.0"
    ascii_only = run_cli("--at", "ｘ=1", "--", "ｘ + 1", PYTHONIOENCODING="ascii")
    assert ascii_only.returncode == 0, ascii_only.stderr
    assert "walkthrough of \\uff58 + 1 at x=1.0" in ascii_only.stdout


def test_cli_output_closed_early_is_a_message_not_a_traceback() -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "pullback", "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert process.stdout is not None and process.stderr is not None
    process.stdout.close()  # the reader goes away before anything is written
    err = process.stderr.read().decode()
    assert process.wait(timeout=60) == 2
    assert err == "python -m pullback: the output was closed before the walkthrough was written\n"


def _times_three_of_first(a: Any, b: Any) -> Any:
    return a * 3.0


def _times_three_of_second(a: Any, b: Any) -> Any:
    return b * 3.0


def test_cli_output_to_a_full_device_or_a_closed_stdout_is_a_message() -> None:
    with open("/dev/full", "w") as full:
        result = subprocess.run(
            [sys.executable, "-m", "pullback"], stdout=full, stderr=subprocess.PIPE, timeout=60
        )
    assert result.returncode == 2
    assert result.stderr.decode() == (
        "python -m pullback: cannot write the walkthrough: No space left on device\n"
    )
    closed = subprocess.run(
        ["sh", "-c", f"'{sys.executable}' -m pullback >&-"], capture_output=True, timeout=60
    )
    assert closed.returncode == 2 and b"Traceback" not in closed.stderr
    assert closed.stderr.startswith(b"python -m pullback: cannot write the walkthrough")


def test_walkthrough_zero_cotangent_of_an_unused_argument_has_its_kind() -> None:
    w = pb.walkthrough(pb.trace(_times_three_of_second), 1.0, np.ones(2))
    g = w.gradient
    assert type(g[0]) is float and g[0] == 0.0
    w = pb.walkthrough(pb.trace(_times_three_of_first), 1.0, np.ones(2))
    assert type(w.gradient[1]) is np.ndarray and np.array_equal(w.gradient[1], [0.0, 0.0])
    x, seed = np.ones(2), np.full(2, 2.0)
    for w in (
        pb.walkthrough(pb.exp, x, seed=seed),
        pb.walkthrough(pb.trace(lambda v: v * 2.0), x, seed=seed),
    ):
        assert all(not np.shares_memory(s.value, x) for s in w.steps)
        kept = [s.value for s in w.steps] + [s.cotangent for s in w.steps] + [w.seed]
        assert_owned([w.value, w.gradient], [x, seed, *kept])
