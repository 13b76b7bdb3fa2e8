"""The elementwise tables walked entry by entry: every entry has test points, or this fails.

``UNARY`` (NumPy's ufuncs of one operand), ``BINARY`` (of two) and the library's
own entries (sigmoid, relu, softplus, logsumexp, softmax, log_softmax) are each
checked at ordinary points against 5-point central differences, at first and
second order, at floats and at arrays; at their edges (0, 1e-300, 1e300, the
sigmoid tails) against exact values worked out with ``decimal``; for the
agreement of their spellings (``np.negative(x)``, ``-x``, ``x.__neg__()``); for
NumPy's own value (bit for bit on arrays; floats stay floats); for the conventions
their edges state; and, by hypothesis, in random compositions and for linearity.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal, getcontext
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.typing import NDArray

import pullback as pb
from pullback import ops, trace
from pullback._table import library
from pullback._table.binary import BINARY
from pullback._table.elementwise import UNARY
from pullback._table.entry import Primitive

from .helpers import five_point

# A RuntimeWarning leaking out of an entry is a failure: the entries handle their edges.
pytestmark = pytest.mark.filterwarnings("error")

getcontext().prec = 60
inf = math.inf
nan = math.nan
F1 = Callable[[Any], Any]
F2 = Callable[[Any, Any], Any]
Array = NDArray[np.float64]


# -- exact references --------------------------------------------------------------------


def D(x: float) -> Decimal:
    """The float ``x`` exactly, as a Decimal."""
    return Decimal(x)


def dexp(x: float) -> Decimal:
    return D(x).exp()


def inv_sqrt_one_minus_square(x: float) -> float:
    """1/√(1 - x²), exactly rounded (arcsin')."""
    return float(1 / ((1 - D(x)) * (1 + D(x))).sqrt())


def inv_sqrt_square_minus_one(x: float) -> float:
    """1/√(x² - 1), exactly rounded (arccosh')."""
    return float(1 / ((D(x) - 1) * (D(x) + 1)).sqrt())


def sigmoid_exact(x: float) -> Decimal:
    return 1 / (1 + (-D(x)).exp())


def sigmoid_derivative_exact(x: float) -> float:
    s = sigmoid_exact(x)
    return float(s * (1 - s))


def tanh_derivative_exact(x: float) -> float:
    e = dexp(x)
    return float(4 / (e + 1 / e) ** 2)


NEAR_ONE = 1.0 - 1e-10  # 1 - x*x in floats would lose 6 of its digits here
ABOVE_ONE = 1.0 + 1e-10


# -- the test points of every entry --------------------------------------------------------


@dataclass(frozen=True)
class Unary:
    """Points inside the domain (checked by differences) and edges (exact derivatives)."""

    points: tuple[float, ...]
    edges: dict[float, float] = field(default_factory=dict)


UNARY_CASES: dict[str, Unary] = {
    "exp": Unary(
        (-3.0, -0.5, 0.0, 0.7, 2.5),
        {0.0: 1.0, 1e-300: 1.0, -1000.0: 0.0, 1000.0: inf, 700.0: float(dexp(700.0))},
    ),
    "exp2": Unary(
        (-3.0, -0.5, 0.0, 0.7, 2.5),
        {0.0: math.log(2.0), 1e-300: math.log(2.0), -1100.0: 0.0, 1100.0: inf},
    ),
    "expm1": Unary(
        (-3.0, -0.5, 1e-3, 0.7, 2.5),
        # e^-40 = 4.2e-18: y + 1 with y = expm1(-40) = -1.0 would give 0
        {0.0: 1.0, 1e-300: 1.0, -40.0: float(dexp(-40.0)), -1000.0: 0.0, 1000.0: inf},
    ),
    "log": Unary(
        (0.05, 0.5, 1.0, 3.0, 40.0),
        {0.0: inf, 1e-300: float(1 / D(1e-300)), 1e300: float(1 / D(1e300))},
    ),
    "log2": Unary(
        (0.05, 0.5, 1.0, 3.0, 40.0),
        {
            0.0: inf,
            1e-300: float(1 / (D(1e-300) * Decimal(2).ln())),
            1e300: 1 / (1e300 * 0.6931471805599453),
        },
    ),
    "log10": Unary(
        (0.05, 0.5, 1.0, 3.0, 40.0),
        {0.0: inf, 1e-300: float(1 / (D(1e-300) * Decimal(10).ln()))},
    ),
    "log1p": Unary(
        (-0.9, -0.3, 0.0, 0.5, 4.0),
        {-1.0: inf, 0.0: 1.0, 1e-300: 1.0, 1e300: float(1 / D(1e300))},
    ),
    "sqrt": Unary(
        (0.01, 0.5, 2.0, 9.0),
        {
            0.0: inf,
            1e-300: float(1 / (2 * D(1e-300).sqrt())),
            1e300: float(1 / (2 * D(1e300).sqrt())),
        },
    ),
    "cbrt": Unary(
        (-8.0, -0.3, 0.2, 27.0),
        {
            0.0: inf,
            -8.0: 1.0 / 12.0,
            1e-300: float(1 / (3 * (D(1e-300).ln() * 2 / 3).exp())),
            1e300: float(1 / (3 * (D(1e300).ln() * 2 / 3).exp())),
        },
    ),
    "square": Unary(
        (-3.0, -0.5, 0.0, 1.2),
        {1e-300: 2e-300, 1e300: 2e300, -1e200: -2e200},
    ),
    "reciprocal": Unary(
        (-2.0, -0.3, 0.4, 5.0),
        # -1/x² overflows to -inf at 1e-300 and underflows to -0 at 1e300, as it should
        {0.0: -inf, 2.0: -0.25, 1e-300: -inf, 1e300: 0.0},
    ),
    "sin": Unary((-2.0, -0.4, 0.0, 1.1, 3.0), {0.0: 1.0, 1e-300: 1.0}),
    "cos": Unary((-2.0, -0.4, 0.0, 1.1, 3.0), {0.0: 0.0, 1e-300: -1e-300}),
    "tan": Unary((-1.2, -0.3, 0.0, 0.8, 1.4), {0.0: 1.0, 1e-300: 1.0}),
    "arcsin": Unary(
        (-0.9, -0.3, 0.0, 0.5, 0.95),
        {1.0: inf, -1.0: inf, 0.0: 1.0, 1e-300: 1.0, NEAR_ONE: inv_sqrt_one_minus_square(NEAR_ONE)},
    ),
    "arccos": Unary(
        (-0.9, -0.3, 0.0, 0.5, 0.95),
        {1.0: -inf, -1.0: -inf, 0.0: -1.0, NEAR_ONE: -inv_sqrt_one_minus_square(NEAR_ONE)},
    ),
    "arctan": Unary(
        (-5.0, -0.5, 0.0, 0.7, 20.0),
        {0.0: 1.0, 1e-300: 1.0, 1e10: float(1 / (1 + D(1e10) ** 2)), 1e300: 0.0},
    ),
    "deg2rad": Unary((-100.0, 0.0, 3.5, 720.0), {1e300: math.pi / 180.0}),
    "rad2deg": Unary((-100.0, 0.0, 3.5, 720.0), {1e300: 180.0 / math.pi}),
    "sinh": Unary((-3.0, -0.2, 0.0, 0.6, 2.5), {0.0: 1.0, 1e-300: 1.0, 1000.0: inf, -1000.0: inf}),
    "cosh": Unary(
        (-3.0, -0.2, 0.0, 0.6, 2.5), {0.0: 0.0, 1e-300: 1e-300, 1000.0: inf, -1000.0: -inf}
    ),
    "tanh": Unary(
        (-3.0, -0.2, 0.0, 0.6, 2.5),
        {
            0.0: 1.0,
            1e-300: 1.0,
            20.0: tanh_derivative_exact(20.0),  # 1 - y² would round to 0
            -20.0: tanh_derivative_exact(-20.0),
            1000.0: 0.0,
        },
    ),
    "arcsinh": Unary(
        (-4.0, -0.3, 0.0, 0.8, 10.0),
        {0.0: 1.0, 1e-300: 1.0, 1e300: float(1 / D(1e300)), -1e300: float(1 / D(1e300))},
    ),
    "arccosh": Unary(
        (1.2, 2.0, 5.0, 30.0),
        {1.0: inf, ABOVE_ONE: inv_sqrt_square_minus_one(ABOVE_ONE), 1e300: float(1 / D(1e300))},
    ),
    "arctanh": Unary(
        (-0.9, -0.3, 0.0, 0.5, 0.95),
        {
            1.0: inf,
            -1.0: inf,
            0.0: 1.0,
            NEAR_ONE: float(1 / ((1 - D(NEAR_ONE)) * (1 + D(NEAR_ONE)))),
        },
    ),
    "absolute": Unary((-3.0, -0.4, 0.6, 2.0), {0.0: 0.0, 1e-300: 1.0, -1e300: -1.0}),
    "negative": Unary((-3.0, 0.0, 2.0), {1e300: -1.0, 1e-300: -1.0}),
    "positive": Unary((-3.0, 0.0, 2.0), {1e300: 1.0, 1e-300: 1.0}),
    # the library's own
    "sigmoid": Unary(
        (-3.0, -0.5, 0.0, 0.7, 2.5),
        {
            0.0: 0.25,
            1e-300: 0.25,
            40.0: sigmoid_derivative_exact(40.0),  # 4.248e-18, not 0
            -40.0: sigmoid_derivative_exact(-40.0),
            1000.0: 0.0,
            -1000.0: 0.0,
        },
    ),
    "relu": Unary((-3.0, -0.5, 0.7, 2.5), {0.0: 0.0, 1e-300: 1.0, -1e-300: 0.0, 1e300: 1.0}),
    "softplus": Unary(
        (-3.0, -0.5, 0.0, 0.7, 2.5),
        {
            0.0: 0.5,
            40.0: float(sigmoid_exact(40.0)),
            -40.0: float(sigmoid_exact(-40.0)),
            1000.0: 1.0,
            -1000.0: 0.0,
        },
    ),
}


@dataclass(frozen=True)
class Binary:
    """Pairs inside the domain (checked by differences) and edges (exact partials)."""

    points: tuple[tuple[float, float], ...]
    edges: dict[tuple[float, float], tuple[float, float]] = field(default_factory=dict)


ORDINARY_PAIRS = ((1.5, -0.7), (-2.0, 3.0), (0.4, 0.25), (2.2, 1.9))
POSITIVE_PAIRS = ((1.5, 2.3), (0.4, -1.2), (2.0, 3.0), (3.7, 0.5))
MOD_PAIRS = ((5.3, 2.0), (-5.3, 2.0), (5.3, -2.0), (0.7, 0.3))
SQRT_HALF = math.sqrt(0.5)

BINARY_CASES: dict[str, Binary] = {
    "add": Binary(ORDINARY_PAIRS, {(1e300, 1e300): (1.0, 1.0), (0.0, 0.0): (1.0, 1.0)}),
    "sub": Binary(ORDINARY_PAIRS, {(1e300, -1e300): (1.0, -1.0)}),
    "mul": Binary(ORDINARY_PAIRS, {(0.0, 0.0): (0.0, 0.0), (1e300, 1e-300): (1e-300, 1e300)}),
    "div": Binary(
        ORDINARY_PAIRS,
        {
            (1e-300, 1e-300): (1e300, -1e300),  # 1/b and -a/b² would overflow first
            (1.0, 0.0): (inf, -inf),
            (1e300, 1e-300): (1e300, -inf),
        },
    ),
    "power": Binary(
        POSITIVE_PAIRS,
        {
            (0.0, 2.5): (0.0, 0.0),
            (0.0, 0.0): (0.0, 0.0),
            (0.0, 1.0): (1.0, 0.0),
            (0.0, 2.0): (0.0, 0.0),
            (0.0, 0.5): (inf, 0.0),
            (0.0, -1.0): (-inf, 0.0),
            (2.0, 3.0): (12.0, 8.0 * math.log(2.0)),
            (-1.5, 3.0): (6.75, nan),
            (1e300, 0.5): (
                float(1 / (2 * D(1e300).sqrt())),
                float(D(1e300).sqrt() * D(1e300).ln()),
            ),
        },
    ),
    "float_power": Binary(
        POSITIVE_PAIRS,
        {
            (0.0, 2.5): (0.0, 0.0),
            (0.0, 0.0): (0.0, 0.0),
            (0.0, 1.0): (1.0, 0.0),
            (0.0, 0.5): (inf, 0.0),
            (0.0, -1.0): (-inf, 0.0),
            (2.0, 3.0): (12.0, 8.0 * math.log(2.0)),
        },
    ),
    # At a kink (a/b an integer k) the derivative is that of the piece a - k b whose
    # value the function takes there; 1.0 % 0.1 is 1 - 9 (0.1), though 1.0/0.1 rounds to 10.
    "remainder": Binary(
        MOD_PAIRS,
        {
            (4.0, 2.0): (1.0, -2.0),
            (-4.0, 2.0): (1.0, 2.0),
            (4.0, -2.0): (1.0, 2.0),
            (1.0, 0.1): (1.0, -9.0),
        },
    ),
    "fmod": Binary(
        MOD_PAIRS,
        {
            (4.0, 2.0): (1.0, -2.0),
            (-4.0, 2.0): (1.0, 2.0),
            (4.0, -2.0): (1.0, 2.0),
            (1.0, 0.1): (1.0, -9.0),
        },
    ),
    "maximum": Binary(
        ORDINARY_PAIRS,
        {
            (1.0, 1.0): (0.5, 0.5),
            (nan, 1.0): (1.0, 0.0),
            (1.0, nan): (0.0, 1.0),
            (2.0, -1.0): (1.0, 0.0),
        },
    ),
    "minimum": Binary(
        ORDINARY_PAIRS,
        {
            (1.0, 1.0): (0.5, 0.5),
            (nan, 1.0): (1.0, 0.0),
            (1.0, nan): (0.0, 1.0),
            (2.0, -1.0): (0.0, 1.0),
        },
    ),
    "fmax": Binary(
        ORDINARY_PAIRS,
        {
            (1.0, 1.0): (0.5, 0.5),
            (nan, 1.0): (0.0, 1.0),
            (1.0, nan): (1.0, 0.0),
            (2.0, -1.0): (1.0, 0.0),
        },
    ),
    "fmin": Binary(
        ORDINARY_PAIRS,
        {
            (1.0, 1.0): (0.5, 0.5),
            (nan, 1.0): (0.0, 1.0),
            (1.0, nan): (1.0, 0.0),
            (2.0, -1.0): (0.0, 1.0),
        },
    ),
    "hypot": Binary(
        ORDINARY_PAIRS,
        {
            (0.0, 0.0): (0.0, 0.0),
            (3.0, 4.0): (0.6, 0.8),
            (1e300, 1e300): (SQRT_HALF, SQRT_HALF),
            (1e-300, 1e-300): (SQRT_HALF, SQRT_HALF),
        },
    ),
    "arctan2": Binary(
        ORDINARY_PAIRS,
        {
            (0.0, 0.0): (0.0, 0.0),
            (1.0, 0.0): (0.0, -1.0),
            (1e300, 1e300): (float(1 / (2 * D(1e300))), -float(1 / (2 * D(1e300)))),
            (1e-300, 1e-300): (float(1 / (2 * D(1e-300))), -float(1 / (2 * D(1e-300)))),
        },
    ),
    "logaddexp": Binary(
        ORDINARY_PAIRS,
        {
            (-inf, -inf): (0.0, 0.0),
            (-inf, 1.0): (0.0, 1.0),
            (inf, 1.0): (1.0, 0.0),
            (0.0, 0.0): (0.5, 0.5),
            (1000.0, 1000.0): (0.5, 0.5),
            (1e300, 1e300): (0.5, 0.5),  # exp(a - y) would be 1 each: y rounds to a
        },
    ),
    "logaddexp2": Binary(
        ORDINARY_PAIRS,
        {
            (-inf, -inf): (0.0, 0.0),
            (-inf, 1.0): (0.0, 1.0),
            (inf, 1.0): (1.0, 0.0),
            (0.0, 0.0): (0.5, 0.5),
            (1e300, 1e300): (0.5, 0.5),
        },
    ),
}

# The library's entries over axes: (x, axis) pairs, axis as the ops functions take it.
AXIS_POINTS: tuple[tuple[Array, int | None], ...] = (
    (np.array([0.3, -1.2, 2.0]), -1),
    (np.array([[0.3, -1.2, 2.0], [1.5, 0.1, -0.4]]), 0),
    (np.array([[0.3, -1.2, 2.0], [1.5, 0.1, -0.4]]), 1),
)
AXIS_CASES: dict[str, tuple[tuple[Array, int | None], ...]] = {
    "logsumexp": (*AXIS_POINTS, (np.array([[0.3, -1.2, 2.0], [1.5, 0.1, -0.4]]), None)),
    "softmax": AXIS_POINTS,
    "log_softmax": AXIS_POINTS,
}


def axis_function(name: str, axis: int | None) -> F1:
    if name == "logsumexp":
        return lambda x: ops.logsumexp(x, axis=axis)
    assert axis is not None
    if name == "softmax":
        return lambda x: ops.softmax(x, axis=axis)
    return lambda x: ops.log_softmax(x, axis=axis)


LIBRARY_ELEMENTWISE = {
    "sigmoid": library.SIGMOID,
    "relu": library.RELU,
    "softplus": library.SOFTPLUS,
}
LIBRARY_OPS: dict[str, F1] = {"sigmoid": ops.sigmoid, "relu": ops.relu, "softplus": ops.softplus}

# -- walking the tables ---------------------------------------------------------------------

UNARY_NAMES = sorted({entry.name for entry in UNARY.values()})
ELEMENTWISE_NAMES = [*UNARY_NAMES, *LIBRARY_ELEMENTWISE]
BINARY_NAMES = sorted({entry.name for entry in BINARY.values()})


def ufuncs_of(table: dict[Any, Primitive], name: str) -> list[Any]:
    return [ufunc for ufunc, entry in table.items() if entry.name == name]


def unary_function(name: str) -> F1:
    """The entry as a function of plain or traced values (its first NumPy ufunc)."""
    if name in LIBRARY_ELEMENTWISE:
        return LIBRARY_ELEMENTWISE[name]
    return ufuncs_of(UNARY, name)[0]  # type: ignore[no-any-return]


def binary_function(name: str) -> F2:
    return ufuncs_of(BINARY, name)[0]  # type: ignore[no-any-return]


def test_every_unary_entry_has_test_points() -> None:
    assert set(UNARY_CASES) == set(ELEMENTWISE_NAMES)


def test_every_binary_entry_has_test_points() -> None:
    assert set(BINARY_CASES) == set(BINARY_NAMES)


def test_every_library_entry_has_test_points() -> None:
    entries = {v.name for v in vars(library).values() if isinstance(v, Primitive)}
    assert entries == set(LIBRARY_ELEMENTWISE) | set(AXIS_CASES) | set(NETWORK_CASES)
    assert set(NETWORK_CASES) == {library.AFFINE.name, library.SOFTMAX_CROSS_ENTROPY.name}
    assert set(LIBRARY_ELEMENTWISE) | set(AXIS_CASES) == {
        e.name
        for e in (
            library.SIGMOID,
            library.RELU,
            library.SOFTPLUS,
            library.LOGSUMEXP,
            library.SOFTMAX,
            library.LOG_SOFTMAX,
        )
    }


# -- helpers ------------------------------------------------------------------------------


SQRT: F1 = np.sqrt
TANH: F1 = np.tanh


def with_first(f: F2, a: Any) -> F1:
    return lambda v: f(a, v)


def with_second(f: F2, b: Any) -> F1:
    return lambda v: f(v, b)


def weighted(f: F1, w: Any) -> F1:
    return lambda v: np.sum(w * f(v))


def cos_sum(f: F1) -> F1:
    return lambda v: np.sum(np.cos(f(v)))


def with_params(entry: Primitive, params: dict[str, Any]) -> F1:
    return lambda v: entry(v, **params)


def step(x: float) -> float:
    return 1e-4 * max(1.0, abs(x))


def plain(f: F1) -> Callable[[float], float]:
    """``f`` on a float, through NumPy alone (no tracing)."""

    def at(v: float) -> float:
        with np.errstate(all="ignore"):
            return float(f(np.float64(v)))

    return at


def as_float(f: F1) -> Callable[[float], float]:
    return lambda v: float(f(v))


def derivative(f: F1) -> Callable[[float], float]:
    """The first derivative of ``f`` at a float, by the library."""

    def at(v: float) -> float:
        g = pb.gradient(trace(f), v)
        assert type(g) is float
        return g

    return at


def close(actual: float, expected: float, rel: float = 1e-6, abs_: float = 1e-9) -> bool:
    if math.isnan(expected):
        return math.isnan(actual)
    if math.isinf(expected):
        return actual == expected
    return math.isclose(actual, expected, rel_tol=rel, abs_tol=abs_)


def exactly(actual: Any, expected: Any) -> bool:
    """Bitwise equal (nan equal to nan, -0.0 not equal to +0.0) and of the same kind."""
    if type(actual) is not type(expected):
        return False
    a = np.asarray(actual, dtype=np.float64)
    b = np.asarray(expected, dtype=np.float64)
    return a.shape == b.shape and a.tobytes() == b.tobytes()


def ulps_apart(a: float, b: float) -> float:
    if a == b or (math.isnan(a) and math.isnan(b)):
        return 0.0
    return abs(a - b) / math.ulp(max(abs(a), abs(b)))


# -- (1) first derivatives against differences ----------------------------------------------


@pytest.mark.parametrize("name", ELEMENTWISE_NAMES)
def test_unary_first_derivative_at_floats_and_arrays(name: str) -> None:
    f = unary_function(name)
    points = UNARY_CASES[name].points
    value = plain(f)
    expected = [five_point(value, x, step(x)) for x in points]
    for x, numeric in zip(points, expected, strict=True):
        g = pb.gradient(trace(f), x)
        assert type(g) is float
        assert close(g, numeric), (name, x, g, numeric)
    ga = pb.gradient(trace(f), np.array(points))
    assert isinstance(ga, np.ndarray) and ga.shape == (len(points),)
    np.testing.assert_allclose(ga, expected, rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("name", BINARY_NAMES)
def test_binary_first_derivatives_at_floats_and_arrays(name: str) -> None:
    f = binary_function(name)
    pairs = BINARY_CASES[name].points
    expected = [
        (
            five_point(plain(with_second(f, b)), a, step(a)),
            five_point(plain(with_first(f, a)), b, step(b)),
        )
        for a, b in pairs
    ]
    for (a, b), (da, db) in zip(pairs, expected, strict=True):
        ga, gb = pb.gradient(trace(f), a, b)
        assert type(ga) is float and type(gb) is float
        assert close(ga, da) and close(gb, db), (name, a, b, (ga, gb), (da, db))
    A = np.array([a for a, _ in pairs])
    B = np.array([b for _, b in pairs])
    gA, gB = pb.gradient(trace(f), A, B)
    np.testing.assert_allclose(gA, [da for da, _ in expected], rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(gB, [db for _, db in expected], rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("name", sorted(AXIS_CASES))
def test_axis_entries_first_derivative(name: str) -> None:
    for x, axis in AXIS_CASES[name]:
        f = axis_function(name, axis)
        weights = np.linspace(-1.0, 2.0, np.size(f(x))).reshape(np.shape(f(x)))

        def loss(v: Any, f: F1 = f, w: Any = weights) -> Any:
            return np.sum(w * f(v))

        g = pb.gradient(trace(loss), x)
        assert isinstance(g, np.ndarray) and g.shape == x.shape
        for i in np.ndindex(x.shape):

            def along(t: float, i: tuple[int, ...] = i, loss: F1 = loss, x: Array = x) -> float:
                v = x.copy()
                v[i] = t
                return float(loss(v))

            assert close(float(g[i]), five_point(along, float(x[i]), 1e-4)), (name, axis, i)


# -- (2) second derivatives: the derivative traced again -------------------------------------


@pytest.mark.parametrize("name", ELEMENTWISE_NAMES)
def test_unary_second_derivative(name: str) -> None:
    f = unary_function(name)
    points = UNARY_CASES[name].points
    first = derivative(f)
    expected = [five_point(first, x, step(x)) for x in points]
    for x, numeric in zip(points, expected, strict=True):
        second = pb.gradient(trace(lambda v: pb.gradient(trace(f), v)), x)
        assert type(second) is float
        assert close(second, numeric, abs_=1e-8), (name, x, second, numeric)
        assert pb.hessian(trace(f), x) == second
    arrays = pb.gradient(trace(lambda v: np.sum(pb.gradient(trace(f), v))), np.array(points))
    np.testing.assert_allclose(arrays, expected, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("name", BINARY_NAMES)
def test_binary_second_derivatives(name: str) -> None:
    f = binary_function(name)
    for a, b in BINARY_CASES[name].points:

        def partial(i: int) -> F2:
            return lambda u, v: pb.gradient(trace(f), u, v)[i]

        for i in (0, 1):
            daa, dab = pb.gradient(trace(partial(i)), a, b)
            p = partial(i)
            na = five_point(as_float(with_second(p, b)), a, step(a))
            nb = five_point(as_float(with_first(p, a)), b, step(b))
            assert close(daa, na, abs_=1e-8) and close(dab, nb, abs_=1e-8), (name, a, b, i)


@pytest.mark.parametrize("name", sorted(AXIS_CASES))
def test_axis_entries_second_derivative(name: str) -> None:
    for x, axis in AXIS_CASES[name]:
        f = axis_function(name, axis)
        weights = np.linspace(-1.0, 2.0, np.size(f(x))).reshape(np.shape(f(x)))
        loss = trace(weighted(f, weights))
        h = pb.hessian(loss, x)
        assert h.shape == x.shape + x.shape
        for i in np.ndindex(x.shape):

            def grad_along(
                t: float, i: tuple[int, ...] = i, loss: Any = loss, x: Array = x
            ) -> Array:
                v = x.copy()
                v[i] = t
                return np.asarray(pb.gradient(loss, v))

            numeric = (
                -grad_along(float(x[i]) + 2e-4)
                + 8 * grad_along(float(x[i]) + 1e-4)
                - 8 * grad_along(float(x[i]) - 1e-4)
                + grad_along(float(x[i]) - 2e-4)
            ) / 12e-4
            np.testing.assert_allclose(h[(..., *i)], numeric, rtol=1e-6, atol=1e-8)


# -- the edges: exact derivatives where differences cannot look -------------------------------


@pytest.mark.parametrize("name", ELEMENTWISE_NAMES)
def test_unary_edges(name: str) -> None:
    f = unary_function(name)
    edges = UNARY_CASES[name].edges
    for x, d in edges.items():
        g = pb.gradient(trace(f), x)
        assert type(g) is float
        assert close(g, d, rel=1e-10, abs_=0.0), (name, x, g, d)
    if edges:
        xs = np.array(list(edges))
        ga = pb.gradient(trace(f), xs)
        for x, d, g in zip(edges, edges.values(), ga, strict=True):
            assert close(float(g), d, rel=1e-10, abs_=0.0), (name, x, g, d)


@pytest.mark.parametrize("name", BINARY_NAMES)
def test_binary_edges(name: str) -> None:
    f = binary_function(name)
    edges = BINARY_CASES[name].edges
    for (a, b), (da, db) in edges.items():
        ga, gb = pb.gradient(trace(f), a, b)
        assert type(ga) is float and type(gb) is float
        assert close(ga, da, rel=1e-10, abs_=0.0), (name, a, b, ga, da)
        assert close(gb, db, rel=1e-10, abs_=0.0), (name, a, b, gb, db)
    A = np.array([a for a, _ in edges])
    B = np.array([b for _, b in edges])
    gA, gB = pb.gradient(trace(f), A, B)
    for (a, b), (da, db), ga_, gb_ in zip(edges, edges.values(), gA, gB, strict=True):
        assert close(float(ga_), da, rel=1e-10, abs_=0.0), (name, a, b, ga_, da)
        assert close(float(gb_), db, rel=1e-10, abs_=0.0), (name, a, b, gb_, db)


@pytest.mark.parametrize("name", ["remainder", "fmod"])
def test_a_kink_of_a_remainder_takes_the_piece_of_its_value(name: str) -> None:
    # y = a - k b on the piece the value belongs to: dy/db = -k = -(a - y)/b.
    f = binary_function(name)
    rng = np.random.default_rng(7)
    b = rng.choice([0.1, 0.3, 0.7, -0.2, 1.1, 2.5], size=200)
    a = rng.integers(-30, 30, size=200) * b  # ratios at or next to an integer
    with np.errstate(all="ignore"):
        y = f(a, b)
        k = np.rint((a - y) / b)
    _, gb = pb.gradient(trace(f), a, b)
    np.testing.assert_array_equal(gb, -k)


# -- (3) spellings agree --------------------------------------------------------------------

UNARY_SPELLINGS: dict[str, list[F1]] = {
    "negative": [operator.neg, lambda x: x.__neg__()],
    "absolute": [abs, lambda x: x.__abs__(), np.abs],
    "positive": [operator.pos, lambda x: x.__pos__(), lambda x: x.astype(np.float64)],
}


def spellings_of(name: str) -> list[F1]:
    if name in LIBRARY_ELEMENTWISE:
        return [LIBRARY_ELEMENTWISE[name], LIBRARY_OPS[name]]
    return [*ufuncs_of(UNARY, name), *UNARY_SPELLINGS.get(name, [])]


@pytest.mark.parametrize("name", ELEMENTWISE_NAMES)
def test_unary_spellings_agree(name: str) -> None:
    spellings = spellings_of(name)
    xs = UNARY_CASES[name].points
    for x in (*xs, np.array(xs)):
        results = [pb.value_and_gradient(trace(s), x) for s in spellings]
        for y, g in results[1:]:
            assert exactly(y, results[0][0]) and exactly(g, results[0][1]), (name, x)


def _m(method: str) -> F2:
    return lambda a, b: getattr(a, method)(b)


BINARY_SPELLINGS: dict[str, list[F2]] = {
    "add": [operator.add, _m("__add__"), lambda a, b: b.__radd__(a)],
    "sub": [operator.sub, _m("__sub__"), lambda a, b: b.__rsub__(a)],
    "mul": [operator.mul, _m("__mul__"), lambda a, b: b.__rmul__(a)],
    "div": [operator.truediv, _m("__truediv__"), lambda a, b: b.__rtruediv__(a)],
    "power": [operator.pow, _m("__pow__")],
    "remainder": [operator.mod, _m("__mod__"), lambda a, b: b.__rmod__(a)],
}
# One operand a constant: the operators may take another path (x ** 2.5 is power(2.5),
# 2.0 ** x is exp(x ln 2)), which must give the same numbers to rounding.
CONSTANT_SPELLINGS: dict[str, tuple[F2, ...]] = {
    "add": (operator.add,),
    "sub": (operator.sub,),
    "mul": (operator.mul,),
    "div": (operator.truediv,),
    "power": (operator.pow,),
    "remainder": (operator.mod,),
}


@pytest.mark.parametrize("name", BINARY_NAMES)
def test_binary_spellings_agree(name: str) -> None:
    spellings: list[F2] = [*ufuncs_of(BINARY, name), *BINARY_SPELLINGS.get(name, [])]
    pairs = BINARY_CASES[name].points
    A = np.array([a for a, _ in pairs])
    B = np.array([b for _, b in pairs])
    for a, b in (*pairs, (A, B)):
        results = [pb.value_and_gradient(trace(s), a, b) for s in spellings]
        for y, g in results[1:]:
            assert exactly(y, results[0][0]), (name, a, b)
            assert exactly(g[0], results[0][1][0]) and exactly(g[1], results[0][1][1])


@pytest.mark.parametrize("name", sorted(CONSTANT_SPELLINGS))
def test_binary_spellings_with_a_constant_agree(name: str) -> None:
    ufunc = binary_function(name)
    for op in CONSTANT_SPELLINGS[name]:
        for a, b in BINARY_CASES[name].points:
            # the constant on the right (a float, or an array), then on the left
            for x, c in ((a, b), (np.array([a, a]), b), (np.array([a, a]), np.array([b, b]))):
                y1, g1 = pb.value_and_gradient(trace(with_second(op, c)), x)
                y2, g2 = pb.value_and_gradient(trace(with_second(ufunc, c)), x)
                assert type(y1) is type(y2) and type(g1) is type(g2)
                np.testing.assert_allclose(y1, y2, rtol=1e-15)
                np.testing.assert_allclose(g1, g2, rtol=1e-14)
            for x, c in ((b, a), (np.array([b, b]), a), (np.array([b, b]), np.array([a, a]))):
                y1, g1 = pb.value_and_gradient(trace(with_first(op, c)), x)
                y2, g2 = pb.value_and_gradient(trace(with_first(ufunc, c)), x)
                assert type(y1) is type(y2) and type(g1) is type(g2)
                np.testing.assert_allclose(y1, y2, rtol=1e-15)
                np.testing.assert_allclose(g1, g2, rtol=1e-14)


@pytest.mark.parametrize("name", BINARY_NAMES)
def test_binary_outer_is_the_broadcast_call(name: str) -> None:
    ufunc: Any = binary_function(name)
    pairs = BINARY_CASES[name].points
    a = np.array([p[0] for p in pairs])
    b = np.array([p[1] for p in pairs[:3]])

    def outer(u: Any, v: Any) -> Any:
        return ufunc.outer(u, v)

    def broadcast(u: Any, v: Any) -> Any:
        return ufunc(u[:, None], v)

    y1, g1 = pb.value_and_gradient(trace(outer), a, b)
    y2, g2 = pb.value_and_gradient(trace(broadcast), a, b)
    assert exactly(y1, ufunc.outer(a, b)) and exactly(y1, y2)
    assert exactly(g1[0], g2[0]) and exactly(g1[1], g2[1])


@pytest.mark.parametrize("name", sorted(AXIS_CASES))
def test_axis_entries_spellings_agree(name: str) -> None:
    entry = {"logsumexp": library.LOGSUMEXP, "softmax": library.SOFTMAX}.get(
        name, library.LOG_SOFTMAX
    )
    for x, axis in AXIS_CASES[name]:
        axes = None if axis is None else (axis % x.ndim,)
        params: dict[str, Any] = {"axis": axes}
        if name == "logsumexp":
            params["keepdims"] = False
        f = axis_function(name, axis)
        y1, g1 = pb.value_and_gradient(trace(cos_sum(f)), x)
        y2, g2 = pb.value_and_gradient(trace(cos_sum(with_params(entry, params))), x)
        assert exactly(y1, y2) and exactly(g1, g2)
        # the same thing in plain NumPy
        lse = ops.logsumexp(x, axis=axis, keepdims=True)
        by_hand = {
            "logsumexp": np.squeeze(lse, axis=axes),
            "softmax": np.exp(x - lse),
            "log_softmax": x - lse,
        }
        np.testing.assert_allclose(entry(x, **params), by_hand[name], rtol=1e-14, atol=1e-15)


# -- (4) values: NumPy's own, bit for bit; floats stay floats ----------------------------------


@pytest.mark.parametrize("name", UNARY_NAMES)
def test_unary_values_are_numpys(name: str) -> None:
    case = UNARY_CASES[name]
    xs = (*case.points, *case.edges)
    arr = np.array(xs)
    for ufunc in ufuncs_of(UNARY, name):
        with np.errstate(all="ignore"):
            expected = ufunc(arr)
        assert exactly(trace(ufunc)(arr)[0], expected), name
        assert exactly(UNARY[ufunc](arr), expected), name
        for x, e in zip(xs, expected, strict=True):
            y, back = trace(ufunc)(x)
            assert type(y) is float and type(back(1.0)) is float
            assert exactly(UNARY[ufunc](x), float(e))  # the entry on a plain float
            # traced floats take the compiled fast path, which may differ by an ulp (libm)
            assert ulps_apart(y, float(e)) <= 1.0, (name, x, y, float(e))


@pytest.mark.parametrize("name", BINARY_NAMES)
def test_binary_values_are_numpys(name: str) -> None:
    case = BINARY_CASES[name]
    pairs = (*case.points, *case.edges)
    A = np.array([a for a, _ in pairs])
    B = np.array([b for _, b in pairs])
    for ufunc in ufuncs_of(BINARY, name):
        with np.errstate(all="ignore"):
            expected = ufunc(A, B)
        assert exactly(trace(ufunc)(A, B)[0], expected), name
        assert exactly(BINARY[ufunc](A, B), expected), name
        for (a, b), e in zip(pairs, expected, strict=True):
            y, back = trace(ufunc)(a, b)
            ga, gb = back(1.0)
            assert type(y) is float and type(ga) is float and type(gb) is float
            assert exactly(y, float(e)), (name, a, b, y, e)
            assert exactly(BINARY[ufunc](a, b), float(e))


def softplus_exact(x: float) -> float:
    return float((1 + D(x).exp()).ln())


LIBRARY_EXACT: dict[str, Callable[[float], float]] = {
    "sigmoid": lambda x: float(sigmoid_exact(x)),
    "relu": lambda x: max(x, 0.0),
    "softplus": softplus_exact,
}


@pytest.mark.parametrize("name", sorted(LIBRARY_ELEMENTWISE))
def test_library_elementwise_values(name: str) -> None:
    entry = LIBRARY_ELEMENTWISE[name]
    case = UNARY_CASES[name]
    xs = (*case.points, *case.edges)
    arr = np.array(xs)
    ya = trace(entry)(arr)[0]
    assert exactly(entry(arr), ya)
    for x, y_array in zip(xs, ya, strict=True):
        exact = LIBRARY_EXACT[name](x)
        y, back = trace(entry)(x)
        assert type(y) is float and type(back(1.0)) is float and type(entry(x)) is float
        assert ulps_apart(float(y_array), exact) <= 2.0, (name, x, y_array, exact)
        assert ulps_apart(y, exact) <= 2.0, (name, x, y, exact)
        assert ulps_apart(entry(x), exact) <= 2.0, (name, x, exact)


def test_relu_conventions() -> None:
    assert math.copysign(1.0, ops.relu(-0.0)) == 1.0  # -0.0 becomes +0.0
    assert math.isnan(ops.relu(nan))
    assert math.isnan(pb.gradient(trace(ops.relu), np.array([nan]))[0])


def exact_over_axis(name: str, x: Array, axis: int | None) -> Array:
    """The entry over ``axis``, each element exactly rounded (decimal)."""
    moved = x.reshape(1, -1) if axis is None else np.moveaxis(x, axis, -1)
    out = np.empty(moved.shape[:-1] if name == "logsumexp" else moved.shape)
    for index in np.ndindex(moved.shape[:-1]):
        row = [D(float(v)) for v in moved[index]]
        lse = sum((v.exp() for v in row), Decimal(0)).ln()
        if name == "logsumexp":
            out[index] = float(lse)
        elif name == "softmax":
            out[index] = [float((v - lse).exp()) for v in row]
        else:
            out[index] = [float(v - lse) for v in row]
    if axis is None:
        return out.reshape(())
    return out if name == "logsumexp" else np.moveaxis(out, -1, axis)


@pytest.mark.parametrize("name", sorted(AXIS_CASES))
def test_axis_entries_values(name: str) -> None:
    for x, axis in AXIS_CASES[name]:
        y = axis_function(name, axis)(x)
        assert exactly(trace(axis_function(name, axis))(x)[0], y)
        exact = exact_over_axis(name, x, axis)
        assert np.shape(y) == exact.shape
        for got, e in zip(np.ravel(y), exact.ravel(), strict=True):
            assert ulps_apart(float(got), float(e)) <= 4.0, (name, axis, got, e)
        if axis is None:
            assert type(y) is float and type(trace(axis_function(name, axis))(x)[0]) is float


def test_axis_entries_at_huge_values() -> None:
    # y = lse(x) rounds to x at 1e300: the weights must still be 1/2, not exp(x - y) = 1
    x = np.array([1e300, 1e300])
    assert ops.logsumexp(x) == 1e300
    np.testing.assert_array_equal(pb.gradient(trace(ops.logsumexp), x), [0.5, 0.5])
    np.testing.assert_array_equal(ops.softmax(x), [0.5, 0.5])
    np.testing.assert_array_equal(ops.log_softmax(x), [-math.log(2.0)] * 2)
    x = np.array([1000.0, 1000.0, -inf])
    np.testing.assert_array_equal(pb.gradient(trace(ops.logsumexp), x), [0.5, 0.5, 0.0])
    np.testing.assert_array_equal(ops.softmax(x), [0.5, 0.5, 0.0])
    w = np.array([1.0, 2.0, 3.0])
    g = pb.gradient(trace(lambda v: np.sum(w * ops.softmax(v))), np.array([1e300, 1e300, 0.0]))
    np.testing.assert_allclose(g, [-0.25, 0.25, 0.0])


# -- (5) the edge conventions the entries state -----------------------------------------------


def test_sqrt_at_zero_is_plus_infinity() -> None:
    assert pb.gradient(trace(SQRT), 0.0) == inf
    np.testing.assert_array_equal(pb.gradient(trace(SQRT), np.array([0.0, 4.0])), [inf, 0.25])


def test_where_guarding_sqrt_has_gradient_zero_off_its_branch() -> None:
    def guarded(x: Any) -> Any:
        return np.where(x > 0, np.sqrt(x), 0.0)

    for x in (0.0, -1.0, -0.0):
        g = pb.gradient(trace(guarded), x)
        assert type(g) is float and g == 0.0
    assert pb.gradient(trace(guarded), 4.0) == 0.25
    g = pb.gradient(trace(guarded), np.array([-1.0, 0.0, 4.0]))
    np.testing.assert_array_equal(g, [0.0, 0.0, 0.25])
    # and its second derivative, traced again
    g2 = pb.gradient(
        trace(lambda x: np.sum(pb.gradient(trace(guarded), x))), np.array([-1.0, 0.0, 4.0])
    )
    np.testing.assert_array_equal(g2, [0.0, 0.0, -0.25 / 8.0])


@pytest.mark.parametrize("ufunc", [np.arctan2, np.hypot])
def test_arctan2_and_hypot_at_the_origin(ufunc: Any) -> None:
    assert pb.gradient(trace(ufunc), 0.0, 0.0) == (0.0, 0.0)
    ga, gb = pb.gradient(trace(ufunc), np.zeros(2), np.array([0.0, 1.0]))
    # off the origin, at (0, 1): hypot's partials are (0, 1), arctan2's (1, 0)
    np.testing.assert_array_equal(ga, [0.0, 0.0] if ufunc is np.hypot else [0.0, 1.0])
    np.testing.assert_array_equal(gb, [0.0, 1.0] if ufunc is np.hypot else [0.0, 0.0])


@pytest.mark.parametrize("ufunc", [np.logaddexp, np.logaddexp2])
def test_logaddexp_of_minus_infinities(ufunc: Any) -> None:
    y, back = pb.pullback(trace(ufunc), -inf, -inf)
    assert y == -inf and back(1.0) == (0.0, 0.0)
    ga, gb = pb.gradient(trace(ufunc), np.array([-inf, 0.0]), np.array([-inf, 0.0]))
    np.testing.assert_array_equal(ga, [0.0, 0.5])
    np.testing.assert_array_equal(gb, [0.0, 0.5])


@pytest.mark.parametrize("ufunc", [np.logaddexp, np.logaddexp2])
def test_logaddexp_second_derivative_at_a_tie(ufunc: Any) -> None:
    # σ'(0) = 1/4 (times ln 2 for base 2): smooth at a = b, where differences would
    # not notice a kink of |a - b| in the derivative's formula.
    scale = 0.25 if ufunc is np.logaddexp else 0.25 * math.log(2.0)
    for a in (0.0, 3.0, 1e300):
        daa, dab = pb.gradient(trace(lambda u, v: pb.gradient(trace(ufunc), u, v)[0]), a, a)
        assert daa == pytest.approx(scale, rel=1e-15) and dab == pytest.approx(-scale, rel=1e-15)


@pytest.mark.parametrize("ufunc", [np.maximum, np.minimum, np.fmax, np.fmin])
def test_ties_share_the_cotangent(ufunc: Any) -> None:
    assert pb.gradient(trace(ufunc), 2.0, 2.0) == (0.5, 0.5)
    ga, gb = pb.gradient(trace(ufunc), np.array([1.0, 3.0, 2.0]), np.array([1.0, 0.0, 5.0]))
    bigger = ufunc in (np.maximum, np.fmax)
    np.testing.assert_array_equal(ga, [0.5, 1.0, 0.0] if bigger else [0.5, 0.0, 1.0])
    np.testing.assert_array_equal(gb, [0.5, 0.0, 1.0] if bigger else [0.5, 1.0, 0.0])


@pytest.mark.parametrize("ufunc", [np.power, np.float_power])
def test_power_with_a_traced_exponent_at_a_zero_base(ufunc: Any) -> None:
    for b in (2.5, 1.0, 0.0, -1.0):
        assert pb.gradient(trace(lambda e: ufunc(0.0, e)), b) == 0.0
    g = pb.gradient(trace(lambda e: ufunc(np.zeros(3), e)), np.array([2.5, 0.0, -1.0]))
    np.testing.assert_array_equal(g, [0.0, 0.0, 0.0])
    assert pb.gradient(trace(lambda a, e: a**e), 0.0, 2.5) == (0.0, 0.0)


@pytest.mark.parametrize("ufunc", [np.power, np.float_power])
def test_power_second_derivatives_at_a_zero_exponent(ufunc: Any) -> None:
    # y = a^b at (2, 0): ∂²y/∂a² = b(b - 1)a^(b-2) = 0, ∂²y/∂a∂b = a^(b-1)(1 + b ln a) = 1/2
    daa, dab = pb.gradient(trace(lambda u, v: pb.gradient(trace(ufunc), u, v)[0]), 2.0, 0.0)
    dba, dbb = pb.gradient(trace(lambda u, v: pb.gradient(trace(ufunc), u, v)[1]), 2.0, 0.0)
    assert (daa, dab, dba) == (0.0, 0.5, 0.5)
    assert dbb == pytest.approx(math.log(2.0) ** 2, rel=1e-15)


def test_logsumexp_of_minus_infinities() -> None:
    y, back = pb.pullback(trace(ops.logsumexp), np.full(3, -inf))
    assert y == -inf
    np.testing.assert_array_equal(back(1.0), [0.0, 0.0, 0.0])
    x = np.array([[-inf, -inf], [0.0, 0.0]])
    y2, back2 = pb.pullback(trace(lambda v: ops.logsumexp(v, axis=1)), x)
    np.testing.assert_array_equal(y2, [-inf, math.log(2.0)])
    np.testing.assert_array_equal(back2(np.ones(2)), [[0.0, 0.0], [0.5, 0.5]])


def test_tanh_derivative_is_subnormal_before_it_underflows() -> None:
    # (1/cosh)², not 1/cosh²: cosh² overflows past 355, 1/cosh² is a number to 372.
    # Arrays run the entry; traced floats take the compiled fast path (_fused), which
    # still gives 0 here.
    g = pb.gradient(trace(TANH), np.array([360.0, -360.0]))
    np.testing.assert_allclose(g, [tanh_derivative_exact(360.0)] * 2, rtol=1e-10)


def test_sigmoid_tails() -> None:
    g = pb.gradient(trace(ops.sigmoid), 40.0)
    assert g == pytest.approx(4.248e-18, rel=1e-3)
    assert g == pytest.approx(sigmoid_derivative_exact(40.0), rel=1e-15)
    for x in (1000.0, -1000.0):
        assert pb.gradient(trace(ops.sigmoid), x) == 0.0
    assert ops.sigmoid(1000.0) == 1.0 and ops.sigmoid(-1000.0) == 0.0
    ga = pb.gradient(trace(ops.sigmoid), np.array([-1000.0, -40.0, 40.0, 1000.0]))
    np.testing.assert_allclose(
        ga, [0.0, 4.248354255291589e-18, 4.248354255291589e-18, 0.0], rtol=1e-15
    )


# -- broadcasting: cotangents summed back to each operand's shape -------------------------------


@pytest.mark.parametrize("name", BINARY_NAMES)
def test_binary_broadcasting_sums_cotangents_back(name: str) -> None:
    f = binary_function(name)
    pairs = BINARY_CASES[name].points
    row = np.array([a for a, _ in pairs[:3]])
    grid = np.array([[b for _, b in pairs[:3]], [b for _, b in pairs[1:4]]])
    full_a, full_b = pb.gradient(trace(f), np.broadcast_to(row, (2, 3)).copy(), grid)
    ga, gb = pb.gradient(trace(f), row, grid)
    assert ga.shape == (3,) and gb.shape == (2, 3)
    np.testing.assert_allclose(ga, full_a.sum(axis=0), rtol=1e-15)
    np.testing.assert_array_equal(gb, full_b)
    gb2, ga2 = pb.gradient(trace(lambda u, v: f(v, u)), row, grid)  # (2,3) first, (3,) second
    assert gb2.shape == (3,) and ga2.shape == (2, 3)
    col = grid[:, :1]
    flat = row[None, :]
    gc, gf = pb.gradient(trace(f), col, flat)
    assert gc.shape == (2, 1) and gf.shape == (1, 3)
    fc, ff = pb.gradient(
        trace(f), np.broadcast_to(col, (2, 3)).copy(), np.broadcast_to(flat, (2, 3)).copy()
    )
    np.testing.assert_allclose(gc, fc.sum(axis=1, keepdims=True), rtol=1e-15)
    np.testing.assert_allclose(gf, ff.sum(axis=0, keepdims=True), rtol=1e-15)
    a0 = pairs[0][0]
    gs, garr = pb.gradient(trace(f), a0, grid)
    assert type(gs) is float and garr.shape == (2, 3)
    fs, _ = pb.gradient(trace(f), np.full((2, 3), a0), grid)
    assert gs == pytest.approx(float(fs.sum()), rel=1e-15)
    garr2, gs2 = pb.gradient(trace(f), grid, a0)
    assert type(gs2) is float and garr2.shape == (2, 3)


# -- hypothesis: compositions and linearity ------------------------------------------------------

# Each entry's input as c + s tanh(u): inside its domain with a margin, for any u.
SAFE: dict[str, tuple[float, float]] = {
    "exp": (0.0, 2.0),
    "exp2": (0.0, 2.0),
    "expm1": (0.0, 2.0),
    "log": (1.5, 1.0),
    "log2": (1.5, 1.0),
    "log10": (1.5, 1.0),
    "log1p": (0.5, 1.0),
    "sqrt": (1.5, 1.0),
    "cbrt": (1.5, 1.0),
    "square": (0.0, 2.0),
    "reciprocal": (1.5, 1.0),
    "sin": (0.0, 3.0),
    "cos": (0.0, 3.0),
    "tan": (0.0, 1.2),
    "arcsin": (0.0, 0.9),
    "arccos": (0.0, 0.9),
    "arctan": (0.0, 3.0),
    "deg2rad": (0.0, 3.0),
    "rad2deg": (0.0, 0.05),
    "sinh": (0.0, 2.0),
    "cosh": (0.0, 2.0),
    "tanh": (0.0, 3.0),
    "arcsinh": (0.0, 3.0),
    "arccosh": (2.5, 1.0),
    "arctanh": (0.0, 0.9),
    "absolute": (1.5, 1.0),
    "negative": (0.0, 2.0),
    "positive": (0.0, 2.0),
    "sigmoid": (0.0, 3.0),
    "relu": (1.5, 1.0),
    "softplus": (0.0, 3.0),
}


def test_every_unary_entry_has_a_safe_domain() -> None:
    assert set(SAFE) == set(ELEMENTWISE_NAMES)


def composition(names: list[str]) -> F1:
    stages = [(unary_function(n), *SAFE[n]) for n in names]

    def f(x: Any) -> Any:
        for function, c, s in stages:
            x = function(c + s * np.tanh(x))
        return x

    return f


@settings(max_examples=120, deadline=None)
@given(
    st.lists(st.sampled_from(sorted(SAFE)), min_size=2, max_size=4),
    st.floats(min_value=-2.0, max_value=2.0, allow_nan=False),
)
def test_random_compositions_match_differences(names: list[str], x: float) -> None:
    f = composition(names)
    g = pb.gradient(trace(f), x)
    assert type(g) is float
    assert close(g, five_point(plain(f), x, 1e-4), abs_=1e-8), names


LINEAR_CASES: list[tuple[str, Callable[..., Any], tuple[Any, ...]]] = [
    *((n, unary_function(n), (x,)) for n in ELEMENTWISE_NAMES for x in UNARY_CASES[n].points),
    *((n, unary_function(n), (np.array(UNARY_CASES[n].points),)) for n in ELEMENTWISE_NAMES),
    *((n, binary_function(n), p) for n in BINARY_NAMES for p in BINARY_CASES[n].points),
    *((n, axis_function(n, axis), (x,)) for n in AXIS_CASES for x, axis in AXIS_CASES[n]),
]


@settings(max_examples=150, deadline=None)
@given(
    st.sampled_from(LINEAR_CASES),
    # 2·(g·d) = (2g)·d exactly unless it underflows: seeds away from the subnormals
    st.floats(min_value=-10.0, max_value=10.0, allow_nan=False).filter(lambda c: abs(c) > 1e-6),
)
def test_pullbacks_are_linear(
    case: tuple[str, Callable[..., Any], tuple[Any, ...]], c: float
) -> None:
    name, f, xs = case
    y, back = pb.pullback(trace(f), *xs)
    seed = c * np.cos(np.arange(np.size(y)) + 1.0).reshape(np.shape(y))
    g = float(seed) if type(y) is float else seed
    once = back(g)
    twice = back(2.0 * g)
    if len(xs) == 1:
        once, twice = (once,), (twice,)
    for o, t in zip(once, twice, strict=True):
        assert exactly(t, 2.0 * o if type(o) is float else 2.0 * np.asarray(o)), name


# -- the network layers: ops, the public rules and plain NumPy agree; derivatives of every order --

_RNG = np.random.default_rng(7)
_X, _W, _B = _RNG.normal(size=(4, 3)), _RNG.normal(size=(3, 5)), _RNG.normal(size=5)
_LOGITS = _RNG.normal(size=(4, 5)) * 3.0
_ONE_HOT = np.eye(5)[[0, 3, 1, 4]]
_INDICES = np.array([0, 3, 1, 4])


def _plain_sce(logits: Any, t: Any) -> Any:
    shifted = logits - np.max(logits, axis=1, keepdims=True)
    log_probs = shifted - np.log(np.sum(np.exp(shifted), axis=1, keepdims=True))
    return -np.sum(t * log_probs) / len(logits)


NETWORK_CASES: dict[str, tuple[Callable[..., Any], Callable[..., Any], tuple[Array, ...]]] = {
    "affine": (
        lambda x, w, b: np.sum(np.sin(ops.affine(x, w, b))),
        lambda x, w, b: np.sum(np.sin(x @ w + b)),
        (_X, _W, _B),
    ),
    "softmax_cross_entropy": (
        lambda z, t: ops.softmax_cross_entropy(z, t),
        _plain_sce,
        (_LOGITS, _ONE_HOT),
    ),
}


@pytest.mark.parametrize("name", sorted(NETWORK_CASES))
def test_network_entries_first_and_second_derivatives(name: str) -> None:
    with_ops, plain, args = NETWORK_CASES[name]
    got = pb.value_and_gradient(trace(with_ops), *args)
    want = pb.value_and_gradient(trace(plain), *args)
    assert got[0] == pytest.approx(want[0], rel=1e-13)
    for g, w in zip(got[1], want[1], strict=True):
        np.testing.assert_allclose(g, w, rtol=1e-12, atol=1e-13)
    # second derivatives: the Hessian in the first argument, against the plain NumPy one
    first = args[0]

    def in_first(v: Any) -> Any:
        return with_ops(v, *args[1:])

    def plain_in_first(v: Any) -> Any:
        return plain(v, *args[1:])

    h = pb.hessian(trace(in_first), first)
    np.testing.assert_allclose(h, pb.hessian(trace(plain_in_first), first), rtol=1e-10, atol=1e-12)
    # and the gradient against 5-point differences, element by element
    g0 = pb.gradient(trace(in_first), first)
    for index in [(0, 0), (1, 2), (3, 1)]:

        def along(t: float, index: tuple[int, ...] = index) -> float:
            v = first.copy()
            v[index] += t
            return float(plain_in_first(v))

        assert g0[index] == pytest.approx(five_point(along, 0.0, 1e-4), rel=1e-7, abs=1e-9)


def test_network_rules_agree_with_their_entries() -> None:
    y, back = pb.affine(_X, _W, _B)
    np.testing.assert_array_equal(y, ops.affine(_X, _W, _B))
    dx, dw, db = back(np.ones_like(y))
    np.testing.assert_allclose(dx, np.ones_like(y) @ _W.T)
    np.testing.assert_allclose(dw, _X.T @ np.ones_like(y))
    np.testing.assert_allclose(db, np.full(5, 4.0))
    for labels in (_ONE_HOT, _INDICES):
        loss, back2 = pb.softmax_cross_entropy(_LOGITS, labels)
        assert loss == pytest.approx(float(_plain_sce(_LOGITS, _ONE_HOT)), rel=1e-13)
        dlogits, dlabels = back2(1.0)
        probabilities = np.exp(_LOGITS - _LOGITS.max(1, keepdims=True))
        probabilities /= probabilities.sum(1, keepdims=True)
        np.testing.assert_allclose(dlogits, (probabilities - _ONE_HOT) / 4, rtol=1e-12, atol=1e-15)
        assert dlabels.shape == labels.shape
    # class indices as a constant in traced code, differentiated twice
    h = pb.hessian(trace(lambda z: ops.softmax_cross_entropy(z, _INDICES)), _LOGITS)
    h2 = pb.hessian(trace(lambda z: _plain_sce(z, _ONE_HOT)), _LOGITS)
    np.testing.assert_allclose(h, h2, rtol=1e-10, atol=1e-12)
    with pytest.raises(ValueError, match=r"^affine: shapes"):
        pb.gradient(trace(lambda x: np.sum(ops.affine(x, _W.T, _B))), _X)
