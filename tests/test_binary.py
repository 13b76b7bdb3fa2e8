"""add, sub, mul, div: values, cotangents, broadcasting, the book's apples."""

from __future__ import annotations

import math

import numpy as np
import pytest

import pullback as pb
from pullback import Array


@pytest.mark.parametrize(
    ("rule", "a", "b"),
    [
        (r, a, b)
        for r in (pb.add, pb.sub, pb.mul, pb.div)
        for a, b in [(2.0, 3.0), (-1.5, 0.25), (1e-300, 7.0), (1e150, -3e149), (0.0, 5.0)]
    ],
)
def test_binary_rules_pass_check_rule(rule: object, a: float, b: float) -> None:
    pb.check_rule(rule, a, b)  # type: ignore[arg-type, call-arg]


def test_binary_cotangents_analytic() -> None:
    assert pb.add(2.0, 3.0)[1](1.5) == (1.5, 1.5)
    assert pb.sub(2.0, 3.0)[1](1.5) == (1.5, -1.5)
    assert pb.mul(2.0, 3.0)[1](1.5) == (4.5, 3.0)
    y, back = pb.div(3.0, 2.0)
    assert y == 1.5 and back(1.0) == (0.5, -0.75)


def test_division_by_zero_is_ieee() -> None:
    with np.errstate(all="raise"):
        assert pb.div(1.0, 0.0)[0] == math.inf
        assert pb.div(1.0, -0.0)[0] == -math.inf
        assert math.isnan(pb.div(0.0, 0.0)[0])
        assert pb.div(1.0, 0.0)[1](1.0) == (math.inf, -math.inf)
        ya, _ = pb.div(np.array([1.0, 0.0]), np.array([0.0, 0.0]))
        assert ya[0] == math.inf and math.isnan(ya[1])


def test_apples_by_hand_as_the_book_chains_the_nodes() -> None:
    # apple 100, count 2, tax 1.1: price = apple * count * tax
    apple_price, back_apples = pb.mul(100.0, 2.0)
    price, back_tax = pb.mul(apple_price, 1.1)
    assert price == pytest.approx(220.0)
    d_apple_price, d_tax = back_tax(1.0)
    d_apple, d_count = back_apples(d_apple_price)
    assert (d_apple, d_count, d_tax) == pytest.approx((2.2, 110.0, 200.0))


def test_apples_and_oranges_by_hand() -> None:
    apples, back_apples = pb.mul(100.0, 2.0)
    oranges, back_oranges = pb.mul(150.0, 3.0)
    total, back_total = pb.add(apples, oranges)
    price, back_tax = pb.mul(total, 1.1)
    assert price == pytest.approx(715.0)
    d_total, d_tax = back_tax(1.0)
    d_apples, d_oranges = back_total(d_total)
    d_apple, d_apple_count = back_apples(d_apples)
    d_orange, d_orange_count = back_oranges(d_oranges)
    assert (d_apple, d_apple_count, d_orange, d_orange_count, d_tax) == pytest.approx(
        (2.2, 110.0, 3.3, 165.0, 650.0)
    )


def test_broadcast_cotangents_are_summed_back_to_each_shape() -> None:
    a = np.arange(6.0).reshape(2, 3)
    row = np.array([1.0, 2.0, 3.0])
    col = np.array([[10.0], [20.0]])
    y, back = pb.mul(a, row)
    da, drow = back(np.ones((2, 3)))
    assert np.array_equal(da, np.broadcast_to(row, (2, 3)))
    assert np.array_equal(drow, a.sum(axis=0))
    y, back = pb.add(col, row)
    assert y.shape == (2, 3)
    dcol, drow = back(np.ones((2, 3)))
    assert dcol.shape == (2, 1) and np.array_equal(dcol, [[3.0], [3.0]])
    assert drow.shape == (3,) and np.array_equal(drow, [2.0, 2.0, 2.0])
    # A float against an array: fine at run time; typed rules want one kind.
    y, back = pb.sub(2.0, row)  # type: ignore[arg-type, type-var]
    dscalar, drow = back(np.ones(3))
    assert isinstance(dscalar, float) and dscalar == 3.0
    assert np.array_equal(drow, [-1.0, -1.0, -1.0])


def test_broadcast_gradient_matches_finite_differences() -> None:
    rng = np.random.default_rng(0)
    a = rng.normal(size=(3, 4))
    b = rng.normal(size=(4,)) + 3.0
    for rule in (pb.add, pb.sub, pb.mul, pb.div):
        pb.check_rule(rule, a, b)
        pb.check_rule(rule, 1.5, b)  # type: ignore[arg-type, call-arg, type-var]


def test_shapes_that_cannot_broadcast_are_a_value_error() -> None:
    with pytest.raises(ValueError, match=r"^mul: cannot broadcast shapes \(3,\) and \(4,\)"):
        pb.mul(np.ones(3), np.ones(4))


@pytest.mark.parametrize("bad", ["1", None, 2j, [1.0]])
def test_bad_arguments_name_the_rule_and_position(bad: object) -> None:
    with pytest.raises(TypeError, match=r"^div \(argument 2\): expected a value"):
        pb.div(1.0, bad)  # type: ignore[type-var]
    with pytest.raises(TypeError, match=r"^add \(argument 1\): expected a value"):
        pb.add(bad, 1.0)  # type: ignore[type-var]


def test_unbroadcast_keeps_inputs_unwritten() -> None:
    a: Array = np.ones((2, 3))
    b: Array = np.ones(3)
    a.setflags(write=False)
    b.setflags(write=False)
    dy = np.ones((2, 3))
    dy.setflags(write=False)
    _, back = pb.mul(a, b)
    da, db = back(dy)
    da2, db2 = back(dy)
    assert np.array_equal(da, da2) and np.array_equal(db, db2)
    assert da.flags.writeable and db.flags.writeable
