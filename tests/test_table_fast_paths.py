"""The table's fast paths give the numbers of the forms they stand in for, bit for bit.

``strong_product(g, d)`` checks the strong zero on the derivative instead of on
the product: it must equal ``strong_zero(g, g * d)``, specials included, for
stacks of cotangents too. The power entry's partials skip their masks where no
base is 0: they must equal the masked formula everywhere.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

import pullback as pb
from pullback._table.binary import BINARY, _power_da, _power_db
from pullback._table.elementwise import strong_product, strong_zero
from pullback._table.library import SIGMOID

SPECIALS = [0.0, -0.0, math.inf, -math.inf, math.nan, 1e308, 5e-324, -2.5, 3.0]
numbers = st.one_of(st.sampled_from(SPECIALS), st.floats(allow_nan=True, allow_infinity=True))


def _bits(x: Any) -> tuple[tuple[int, ...], bytes]:
    # Every nan is one nan here: IEEE leaves the sign and payload of nan * nan
    # to the hardware (x86 keeps the first operand's), and NumPy may swap the
    # operands of a product, so only "is nan" is a semantics to test.
    a = np.array(x, dtype=np.float64)
    a[np.isnan(a)] = np.nan
    return a.shape, a.tobytes()


def _same(got: Any, expected: Any) -> bool:
    # The same shape and the same bits (the sign of a zero; nan as nan).
    return _bits(got) == _bits(expected)


@given(g=numbers, d=numbers)
def test_strong_product_at_floats(g: float, d: float) -> None:
    with np.errstate(all="ignore"):
        assert _same(strong_product(g, d), strong_zero(g, g * d))
        assert _same(strong_product(g, np.float64(d)), strong_zero(g, g * np.float64(d)))


# (the cotangent's shape, the derivative's): a stack against one operand's size,
# equal shapes, a 0-d derivative, a 2-d one (which takes the other check).
SHAPES = [
    ((6,), ()),
    ((4, 3), (3,)),
    ((4, 2, 3), (2, 3)),
    ((2, 3), (2, 3)),
    ((2, 1), (1,)),
    ((), (3,)),
]


@given(
    values=st.lists(numbers, min_size=30, max_size=30),
    shapes=st.sampled_from(SHAPES),
)
def test_strong_product_at_arrays_and_stacks(values: list[float], shapes: Any) -> None:
    g_shape, d_shape = shapes
    size = math.prod(g_shape)
    g = np.array(values[:size]).reshape(g_shape)
    d = np.array(values[size : size + math.prod(d_shape)]).reshape(d_shape)
    with np.errstate(all="ignore"):
        assert _same(strong_product(g, d), strong_zero(g, g * d))
        assert _same(strong_product(values[-1], d), strong_zero(values[-1], values[-1] * d))


def test_strong_product_of_a_zero_cotangent_at_a_pole_is_zero() -> None:
    d = np.array([math.inf, 2.0, math.nan])
    with np.errstate(all="ignore"):
        np.testing.assert_array_equal(strong_product(np.zeros((4, 3)), d), np.zeros((4, 3)))
        assert math.isnan(strong_product(np.ones((4, 3)), d)[0, 2])


def _masked_power_partials(a: Any, b: Any, y: Any) -> tuple[Any, Any]:
    # The formula with its masks always applied (the table's before the fast path).
    zero_base = np.equal(a, 0)
    da = np.where(np.equal(b, 0) & zero_base, 0.0, b * np.power(a, b - 1.0))
    return da, np.where(zero_base, 0.0, y * np.log(np.where(zero_base, 1.0, a)))


@given(
    a=st.lists(numbers, min_size=3, max_size=3),
    b=st.lists(
        st.one_of(st.sampled_from([0.0, 1.0, 2.0, -1.0, 0.5]), numbers), min_size=3, max_size=3
    ),
)
def test_power_partials_equal_the_masked_formula(a: list[float], b: list[float]) -> None:
    with np.errstate(all="ignore"):
        cases: list[tuple[Any, Any]] = [
            (np.array(a), np.array(b)),
            (a[0], b[0]),
            (np.array(a), b[1]),
        ]
        for x, e in cases:
            y = np.power(x, e)
            da, db = _masked_power_partials(x, e, y)
            assert _same(_power_da(x, e, y), da)
            assert _same(_power_db(x, e, y), db)


def test_power_second_derivatives_off_and_at_a_zero_base() -> None:
    # The traced pullback differentiated again, against the analytic Hessian of a**b.
    def f(v: Any) -> Any:
        return np.power(v[0], v[1])

    for a, b in [(1.5, 2.5), (0.7, -1.25)]:
        h = pb.hessian(pb.trace(f), np.array([a, b]))
        la = math.log(a)
        expected = [
            [b * (b - 1) * a ** (b - 2), a ** (b - 1) * (1 + b * la)],
            [a ** (b - 1) * (1 + b * la), a**b * la * la],
        ]
        np.testing.assert_allclose(h, expected, rtol=1e-12)
    h0 = pb.hessian(pb.trace(f), np.array([0.0, 3.0]))
    np.testing.assert_array_equal(h0, [[0.0, 0.0], [0.0, 0.0]])  # 0**b is constant in b


def _masked_geometry(ufunc: Any, a: Any, b: Any, y: Any) -> tuple[Any, Any]:
    # hypot's and arctan2's partials with the origin's mask always applied.
    r = y if ufunc is np.hypot else np.hypot(a, b)
    origin = np.equal(r, 0.0)
    safe = np.where(origin, 1.0, r)
    if ufunc is np.hypot:
        return np.where(origin, 0.0, a / safe), np.where(origin, 0.0, b / safe)
    return np.where(origin, 0.0, b / safe / safe), np.where(origin, 0.0, -a / safe / safe)


def _masked_log_space(ufunc: Any, a: Any, b: Any) -> tuple[Any, Any]:
    # logaddexp's and logaddexp2's partials with both masks always applied.
    same = np.equal(a, b) & np.isinf(a)
    d = np.where(same, 0.0, a - np.where(same, 0.0, b))
    if ufunc is np.logaddexp2:
        d = d * math.log(2.0)
    empty = np.equal(a, -math.inf) & np.equal(b, -math.inf)
    return np.where(empty, 0.0, SIGMOID(d)), np.where(empty, 0.0, SIGMOID(-d))


edge_numbers = st.one_of(st.sampled_from([0.0, -0.0, math.inf, -math.inf, 1.0]), numbers)


@given(
    a=st.lists(edge_numbers, min_size=3, max_size=3),
    b=st.lists(edge_numbers, min_size=3, max_size=3),
    ufunc=st.sampled_from([np.hypot, np.arctan2, np.logaddexp, np.logaddexp2]),
)
def test_edge_masks_are_skipped_with_the_same_numbers(
    a: list[float], b: list[float], ufunc: Any
) -> None:
    products = BINARY[ufunc].plain  # (1.0 * ∂y/∂a, 1.0 * ∂y/∂b): the partials' bits
    assert products is not None
    with np.errstate(all="ignore"):
        cases: list[tuple[Any, Any]] = [
            (np.array(a), np.array(b)),
            (a[0], b[0]),
            (a[1], np.array(b)),
        ]
        for x, z in cases:
            y = ufunc(x, z)
            got = products(1.0, y, x, z)
            expected = (
                _masked_geometry(ufunc, x, z, y)
                if ufunc in (np.hypot, np.arctan2)
                else _masked_log_space(ufunc, x, z)
            )
            assert _same(got[0], 1.0 * expected[0]) and _same(got[1], 1.0 * expected[1])
