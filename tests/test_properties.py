"""Hypothesis: random compositions against finite differences; linearity; purity."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

import pullback as pb
from pullback import Composition

from .helpers import five_point, same

# Rules that are smooth on the whole line, with moderate derivatives.
SMOOTH = [pb.sin, pb.cos, pb.tanh, pb.sigmoid]
constants = st.floats(min_value=-2.0, max_value=2.0, allow_nan=False).filter(
    lambda c: abs(c) > 1e-3
)
smooth_rule = st.one_of(
    st.sampled_from(SMOOTH),
    constants.map(pb.scale),
    constants.map(pb.add_const),
)
points = st.floats(min_value=-3.0, max_value=3.0, allow_nan=False)


@settings(max_examples=150, deadline=None)
@given(st.lists(smooth_rule, min_size=1, max_size=8), points)
def test_random_compositions_match_finite_differences(rules: list[Any], x: float) -> None:
    f = pb.compose(*rules)
    analytic = pb.gradient(f, x)
    numeric = five_point(lambda v: f(v)[0], x, 1e-3)
    assert math.isclose(analytic, numeric, rel_tol=1e-6, abs_tol=1e-8)


@settings(max_examples=100, deadline=None)
@given(st.lists(smooth_rule, min_size=1, max_size=8), points)
def test_fused_and_stage_by_stage_agree_bit_for_bit(rules: list[Any], x: float) -> None:
    f = pb.compose(*rules)
    assert isinstance(f, Composition)
    y, g = f.value_and_gradient(x)
    ys, back = f.forward(x)
    assert same(y, ys) and same(g, back(1.0))


@settings(max_examples=100, deadline=None)
@given(
    st.lists(smooth_rule, min_size=1, max_size=6),
    st.lists(points, min_size=1, max_size=5),
    st.floats(min_value=-10, max_value=10, allow_nan=False),
)
def test_pullbacks_are_linear_and_pure(rules: list[Any], xs: list[float], a: float) -> None:
    f = pb.compose(*rules)
    x = np.array(xs)
    dy = np.linspace(-1.0, 1.0, len(xs))
    _y, back = pb.pullback(f, x)
    first = back(dy)
    assert np.array_equal(back(dy), first)  # called twice: same answer
    assert np.allclose(back(a * dy), a * first, rtol=1e-12, atol=1e-300)
    assert np.array_equal(x, np.array(xs))  # the input is untouched


@settings(max_examples=60, deadline=None)
@given(st.lists(smooth_rule, min_size=1, max_size=6), st.lists(points, min_size=1, max_size=4))
def test_array_gradient_is_the_float_gradient_elementwise(
    rules: list[Any], xs: list[float]
) -> None:
    f = pb.compose(*rules)
    ga = pb.gradient(f, np.array(xs))
    for i, x in enumerate(xs):
        assert math.isclose(ga[i], pb.gradient(f, x), rel_tol=1e-13, abs_tol=1e-300)


@settings(max_examples=60, deadline=None)
@given(
    st.sampled_from([pb.add, pb.sub, pb.mul, pb.div]),
    st.floats(min_value=-5, max_value=5),
    st.floats(min_value=0.5, max_value=5),
)
def test_binary_rules_match_finite_differences(rule: Any, a: float, b: float) -> None:
    da, db = pb.gradient(rule, a, b)
    assert math.isclose(
        da, five_point(lambda v: rule(v, b)[0], a, 1e-3), rel_tol=1e-7, abs_tol=1e-9
    )
    assert math.isclose(
        db, five_point(lambda v: rule(a, v)[0], b, 1e-3), rel_tol=1e-7, abs_tol=1e-9
    )


# Every library rule, constants of any size, and the special points: the fused
# paths (floats and arrays) must agree with the stages, special values included.
EVERY_RULE = st.one_of(
    st.sampled_from([pb.square, pb.exp, pb.log, pb.sin, pb.cos, pb.tanh, pb.sigmoid, pb.relu]),
    st.floats(-3, 3, allow_nan=False).map(pb.scale),
    st.floats(-3, 3, allow_nan=False).map(pb.add_const),
    st.sampled_from([-3, -2, -1, 0, 1, 2, 3, 0.5, 1.5, -0.5]).map(pb.power),
)
SPECIAL_POINTS = st.one_of(
    st.floats(-50, 50),
    st.sampled_from([0.0, -0.0, 1e-300, -1e-300, 1e300, -1e300, math.inf, -math.inf, math.nan]),
)


@settings(max_examples=400, deadline=None)
@given(st.lists(EVERY_RULE, min_size=1, max_size=10), SPECIAL_POINTS)
def test_fused_paths_agree_with_the_stages_at_special_points(rules: list[Any], x: float) -> None:
    f = pb.compose(*rules)
    assert isinstance(f, Composition)
    y, g = f.value_and_gradient(x)
    ys, back = f.forward(x)
    assert same(y, ys) and same(g, back(1.0))
    xs = np.array([x, x])
    ya, ga = f.value_and_gradient(xs)
    ysa, backa = f.forward(xs)
    gsa = backa(np.ones(2))
    assert np.array_equal(ya, ysa, equal_nan=True)
    assert same(ga, gsa)
