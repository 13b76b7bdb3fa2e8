"""The elementwise rule table: values, derivatives, edges, kinds, errors."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import pullback as pb
from pullback import Array

from .helpers import five_point, same, value_of

RULES = {
    "square": pb.square,
    "exp": pb.exp,
    "log": pb.log,
    "sin": pb.sin,
    "cos": pb.cos,
    "tanh": pb.tanh,
    "sigmoid": pb.sigmoid,
    "relu": pb.relu,
}

# The derivative written independently of the library, in the most direct form.
ANALYTIC: dict[str, Callable[[float], float]] = {
    "square": lambda x: 2 * x,
    "exp": math.exp,
    "log": lambda x: 1 / x,
    "sin": math.cos,
    "cos": lambda x: -math.sin(x),
    "tanh": lambda x: 4 / (math.exp(x) + math.exp(-x)) ** 2,
    "sigmoid": lambda x: math.exp(-abs(x)) / (1 + math.exp(-abs(x))) ** 2,
    "relu": lambda x: 1.0 if x > 0 else 0.0,
}

# Points with a well-conditioned finite difference: 0, tiny, huge, ordinary,
# and the tails where the function is still representable.
FD_POINTS = {
    "square": [0.0, 1e-150, -3.0, 1e150, 2.5],
    "exp": [0.0, 1e-300, -1.5, 700.0, -700.0],
    "log": [1e-300, 0.5, 1.0, 1e300, 3.7],
    "sin": [0.0, 1e-300, -2.0, 1.2, 100.0],
    "cos": [0.0, 1e-300, -2.0, 1.2, 100.0],
    "tanh": [0.0, 1e-300, -0.7, 1.3, 3.0],
    "sigmoid": [0.0, 1e-300, -40.0, -700.0, 2.0, -3.0],
    "relu": [1e-300, -1e-300, 2.0, -2.0, 1e300],
}


@pytest.mark.parametrize(("name", "x"), [(n, x) for n, points in FD_POINTS.items() for x in points])
def test_pullback_matches_five_point_difference(name: str, x: float) -> None:
    rule = RULES[name]
    # x², log and relu look the same at every scale, so their step scales with
    # x (tiny or huge); the others vary on a scale of 1, so their step is 1e-3.
    h = abs(x) * 1e-3 if name in ("square", "log", "relu") and x != 0 else 1e-3
    numeric = five_point(value_of(rule), x, h)
    _, back = rule(x)
    analytic = back(1.0)
    assert analytic == pytest.approx(numeric, rel=1e-6, abs=1e-10 if x == 0 or h == 1e-3 else 0)
    assert analytic == pytest.approx(ANALYTIC[name](x), rel=1e-12, abs=1e-300)


@pytest.mark.parametrize("name", sorted(RULES))
@pytest.mark.parametrize("x", [-5.0, -1.0, -1e-8, 0.0, 1e-8, 0.3, 1.0, 5.0])
def test_check_rule_accepts_every_rule(name: str, x: float) -> None:
    if name == "log" and x < 1e-3:
        x = abs(x) + 0.5  # check_rule's step (1e-3) must stay inside log's domain
    if name == "relu" and abs(x) < 1e-3:
        x = 0.5  # the kink: finite differences straddle it
    pb.check_rule(RULES[name], x)


def test_sigmoid_tails_are_exact() -> None:
    # σ'(40) = e^-40 / (1 + e^-40)^2: 4.248e-18, where y(1-y) would give 0.
    _, back = pb.sigmoid(40.0)
    assert back(1.0) == pytest.approx(4.248354255291589e-18, rel=1e-14)
    assert pb.sigmoid(40.0)[1](1.0) == pb.sigmoid(-40.0)[1](1.0)
    assert pb.sigmoid(1000.0)[0] == 1.0
    assert pb.sigmoid(-1000.0)[0] == 0.0
    assert pb.sigmoid(-1000.0)[1](1.0) == 0.0
    assert pb.sigmoid(-40.0)[0] == pytest.approx(4.248354255291589e-18, rel=1e-14)


def test_tanh_derivative_keeps_its_tails() -> None:
    for x in (20.0, -20.0):
        assert pb.tanh(x)[1](1.0) == pytest.approx(ANALYTIC["tanh"](x), rel=1e-13)
        assert pb.tanh(x)[1](1.0) > 0.0
    assert pb.tanh(1000.0)[0] == 1.0
    assert pb.tanh(1000.0)[1](1.0) == 0.0


@pytest.mark.parametrize(
    ("rule", "x", "value", "derivative"),
    [
        (pb.exp, 1000.0, math.inf, math.inf),
        (pb.exp, -1000.0, 0.0, 0.0),
        (pb.log, 0.0, -math.inf, math.inf),
        (pb.log, -0.0, -math.inf, -math.inf),
        (pb.log, -1.0, math.nan, -1.0),
        (pb.log, math.inf, math.inf, 0.0),
        (pb.sin, math.inf, math.nan, math.nan),
        (pb.cos, -math.inf, math.nan, math.nan),
        (pb.relu, 0.0, 0.0, 0.0),
        (pb.relu, -0.0, 0.0, 0.0),
        (pb.relu, math.nan, math.nan, math.nan),
        (pb.relu, math.inf, math.inf, 1.0),
        (pb.square, 1e200, math.inf, 2e200),
        (pb.sigmoid, math.nan, math.nan, math.nan),
        (pb.exp, math.nan, math.nan, math.nan),
    ],
)
def test_ieee_special_values_same_for_floats_and_arrays(
    rule: Any, x: float, value: float, derivative: float
) -> None:
    with np.errstate(all="raise"):  # a RuntimeWarning that leaked would raise here
        y, back = rule(x)
        ya, backa = rule(np.array([x]))
        assert same(y, value)
        assert same(back(1.0), derivative)
        assert same(ya, np.array([value]))
        assert same(backa(np.ones(1)), np.array([derivative]))


@pytest.mark.parametrize("name", sorted(RULES))
def test_floats_stay_floats_and_arrays_keep_their_shape(name: str) -> None:
    rule = RULES[name]
    y, back = rule(0.5)
    assert type(y) is float
    assert type(back(1.0)) is float
    for shape in [(), (3,), (2, 3)]:
        x = np.full(shape, 0.5)
        ya, backa = rule(x)
        assert type(ya) is np.ndarray and ya.shape == shape
        assert np.asarray(backa(np.ones(shape))).shape == shape
        assert np.allclose(ya, y, rtol=1e-15)


@pytest.mark.parametrize("name", sorted(RULES))
def test_ints_are_taken_as_floats(name: str) -> None:
    rule = RULES[name]
    y, back = rule(2)
    assert type(y) is float
    assert y == rule(2.0)[0]
    assert back(1.0) == rule(2.0)[1](1.0)
    ya, _ = rule(np.array([2, 3]))
    assert ya.dtype == np.float64


@pytest.mark.parametrize("name", sorted(RULES))
def test_arrays_are_never_written(name: str) -> None:
    x = np.linspace(0.1, 2.0, 7)
    x.setflags(write=False)
    dy = np.linspace(-1.0, 1.0, 7)
    dy.setflags(write=False)
    before = x.copy()
    _y, back = RULES[name](x)
    back(dy)
    back(dy)
    assert np.array_equal(x, before)


@pytest.mark.parametrize("name", sorted(RULES))
@pytest.mark.parametrize("bad", ["1.0", None, 1 + 2j, [1.0, 2.0], object(), True, np.array(["a"])])
def test_bad_input_is_a_type_error_naming_the_rule(name: str, bad: object) -> None:
    with pytest.raises(TypeError, match=rf"^{name}: expected a value"):
        RULES[name](bad)  # type: ignore[type-var]


def test_arrays_match_floats_elementwise() -> None:
    x = np.array([-3.0, -0.5, 0.0, 1e-300, 0.5, 2.0, 40.0, -40.0])
    for name, rule in RULES.items():
        xs = np.abs(x) + 0.1 if name == "log" else x
        ya, backa = rule(xs)
        ga: Array = backa(np.ones_like(xs))
        for i, xi in enumerate(xs):
            y, back = rule(float(xi))
            # NumPy's vectorised exp/sin/log may differ from libm's in the last bit.
            assert float(ya[i]) == pytest.approx(y, rel=5e-16, abs=0), (name, xi)
            assert float(ga[i]) == pytest.approx(back(1.0), rel=5e-16, abs=0), (name, xi)
