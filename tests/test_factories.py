"""scale, add_const, power: constants, names, the power table at 0, never complex."""

from __future__ import annotations

import math

import numpy as np
import pytest

import pullback as pb

from .helpers import five_point, same, value_of


@pytest.mark.parametrize("c", [-1.0, 0.0, 2.5, 1e-300, 1e300, 4])
@pytest.mark.parametrize("x", [0.0, -3.0, 1e-300, 1e300, 0.7])
def test_scale_and_add_const(c: float, x: float) -> None:
    y, back = pb.scale(c)(x)
    assert y == c * x and back(1.0) == float(c) and back(-2.0) == -2.0 * c
    y, back = pb.add_const(c)(x)
    assert y == x + c and back(1.0) == 1.0 and back(3.5) == 3.5


@pytest.mark.parametrize("n", [-3, -2, -1, -0.5, 0.5, 1, 1.5, 2, 3, 10, 2.0])
@pytest.mark.parametrize("x", [0.3, 1.0, 2.5, 1e-3, 40.0])
def test_power_matches_finite_differences(n: float, x: float) -> None:
    rule = pb.power(n)
    numeric = five_point(value_of(rule), x, x * 1e-3)
    analytic = rule(x)[1](1.0)
    assert analytic == pytest.approx(numeric, rel=1e-7)
    assert analytic == pytest.approx(n * x ** (n - 1), rel=1e-13)
    pb.check_rule(rule, x, eps=1e-3 * min(1.0, x))


@pytest.mark.parametrize("n", [-3, -2, -1, 1, 2, 3])
@pytest.mark.parametrize("x", [-0.3, -2.5])
def test_integral_power_of_a_negative_base_keeps_its_sign(n: int, x: float) -> None:
    y, back = pb.power(n)(x)
    assert y == pytest.approx(x**n, rel=1e-15)
    assert back(1.0) == pytest.approx(n * x ** (n - 1), rel=1e-15)


@pytest.mark.parametrize(
    ("n", "x", "value", "derivative"),
    [
        # The ChainRules table at x = 0.
        (1, 0.0, 0.0, 1.0),
        (0, 0.0, 1.0, 0.0),
        (2, 0.0, 0.0, 0.0),
        (3.5, 0.0, 0.0, 0.0),
        (0.5, 0.0, 0.0, math.inf),
        (-1, 0.0, math.inf, -math.inf),
        (-1, -0.0, -math.inf, -math.inf),
        (-2, 0.0, math.inf, -math.inf),
        (-2, -0.0, math.inf, math.inf),
        (-0.5, 0.0, math.inf, -math.inf),
        # Negative base to a non-integral power: nan, never complex.
        (0.5, -4.0, math.nan, math.nan),
        (1 / 3, -8.0, math.nan, math.nan),
        # x**0 is 1 everywhere, and its derivative 0, even at nan and inf.
        (0, math.nan, 1.0, 0.0),
        (0, math.inf, 1.0, 0.0),
        # Overflow is inf, not OverflowError.
        (400, 10.0, math.inf, math.inf),
        (2.5, 1e300, math.inf, math.inf),
    ],
)
def test_power_edges(n: float, x: float, value: float, derivative: float) -> None:
    with np.errstate(all="raise"):
        y, back = pb.power(n)(x)
        assert same(y, value)
        assert same(back(1.0), derivative)
        ya, backa = pb.power(n)(np.array([x]))
        assert same(ya, np.array([value]))
        assert same(backa(np.ones(1)), np.array([derivative]))


def test_names_and_immutability() -> None:
    assert repr(pb.scale(-1)) == "scale(-1.0)"
    assert repr(pb.add_const(1)) == "add_const(1.0)"
    assert repr(pb.power(-1)) == "power(-1)"
    assert repr(pb.power(2.0)) == "power(2)"
    assert repr(pb.power(0.5)) == "power(0.5)"
    assert pb.scale(2) == pb.scale(2.0) and hash(pb.scale(2)) == hash(pb.scale(2.0))
    assert pb.scale(2) != pb.add_const(2)
    rule = pb.scale(2.0)
    with pytest.raises(AttributeError, match="immutable"):
        rule.c = 3.0
    _, back = pb.scale(3.0)(1.0)
    assert getattr(back, "__name__", None) == "scale_pullback"
    assert getattr(pb.power(2)(1.0)[1], "__name__", None) == "power_pullback"


@pytest.mark.parametrize("factory", [pb.scale, pb.add_const, pb.power])
@pytest.mark.parametrize("bad", ["2", None, 1j, [1.0], True, np.array([1.0])])
def test_bad_constant_is_a_type_error_naming_the_factory(factory: object, bad: object) -> None:
    name = factory.__name__  # type: ignore[attr-defined]
    with pytest.raises(TypeError, match=rf"^{name}: the constant must be a real number"):
        factory(bad)  # type: ignore[operator]


def test_bad_input_names_the_rule_with_its_constant() -> None:
    with pytest.raises(TypeError, match=r"^scale\(2\.0\): expected a value"):
        pb.scale(2.0)("x")  # type: ignore[type-var]


def test_numpy_scalar_constants_are_accepted() -> None:
    assert pb.scale(np.float64(2.0))(3.0)[0] == 6.0
    assert pb.power(np.int64(2))(3.0)[0] == 9.0  # type: ignore[arg-type]


def test_square_root_power_keeps_pow_semantics_on_arrays() -> None:
    # NumPy's x**0.5 is sqrt, which gives -0 at -0 and nan at -inf; pow gives +0 and +inf.
    x = np.array([-0.0, -math.inf, 4.0, -4.0])
    ya, _ = pb.power(0.5)(x)
    for i, xi in enumerate(x):
        assert same(float(ya[i]), pb.power(0.5)(float(xi))[0])
    assert math.copysign(1.0, ya[0]) == 1.0
