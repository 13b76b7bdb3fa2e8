"""NumPy's protocols on traced values: dispatch, constants, refusals, the reference page."""

from __future__ import annotations

import math
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import pullback as pb
from pullback import gradient, hessian, ops, trace
from pullback._expression import FUNCTIONS as CLI_FUNCTIONS
from pullback._table.elementwise import UNARY
from pullback._tracing.reference import coverage, render

from .helpers import five_point

ROOT = Path(__file__).resolve().parent.parent


def test_the_reference_page_is_generated_from_the_table() -> None:
    page = (ROOT / "docs" / "numpy.md").read_text(encoding="utf-8")
    assert page == render(), "regenerate: python -m pullback._tracing.reference > docs/numpy.md"


def test_coverage_counts() -> None:
    counts = coverage()
    assert counts["differentiable numpy functions"] >= 100
    assert counts["constant numpy functions"] >= 40
    assert counts["methods and attributes"] >= 30


def test_every_elementwise_entry_is_a_cli_function() -> None:
    names = {entry.name for entry in UNARY.values()} - {"negative", "positive"}
    assert names | {"abs", "sigmoid", "relu", "softplus"} == set(CLI_FUNCTIONS)


@pytest.mark.parametrize("x", [0.3, 1.0, 4.0, 1e-300, 1e300])
def test_derived_sqrt_rule(x: float) -> None:
    y, back = pb.sqrt(x)
    assert type(y) is float and type(back(1.0)) is float
    assert y == math.sqrt(x)
    assert back(1.0) == pytest.approx(0.5 / math.sqrt(x), rel=1e-15)
    if 1e-3 < x < 1e3:
        assert back(1.0) == pytest.approx(five_point(math.sqrt, x, 1e-4), rel=1e-7)


def test_derived_rules_at_edges_and_arrays() -> None:
    assert gradient(pb.sqrt, 0.0) == math.inf
    assert math.isnan(pb.sqrt(-1.0)[0])
    g = gradient(pb.softplus, np.array([-1000.0, 0.0, 40.0, 1000.0]))
    assert isinstance(g, np.ndarray)
    np.testing.assert_allclose(g, [0.0, 0.5, 1.0, 1.0])
    assert pb.softplus(1000.0)[0] == 1000.0  # no overflow
    pb.check_rule(pb.softplus, 0.7)
    pb.check_rule(pb.sqrt, 2.5)
    assert repr(pb.compose(pb.sqrt, pb.exp)) == "compose(sqrt, exp)"


def test_a_leaked_traced_value_is_refused() -> None:
    kept: list[Any] = []

    def keep(x: Any) -> Any:
        kept.append(x)
        return x * 2.0

    gradient(trace(keep), 1.0)
    with pytest.raises(ValueError, match="cannot outlive its call"):
        pb.value_and_gradient(trace(lambda y: kept[0] * 3.0), 5.0)
    with pytest.raises(ValueError, match="cannot outlive its call"):
        pb.value_and_gradient(trace(lambda y: kept[0]), 5.0)


def test_in_place_changes_are_refused_with_what_to_write() -> None:
    def bump(x: Any) -> Any:
        x += 1.0
        return np.sum(x)

    with pytest.raises(TypeError, match=r"x \+= y on a traced array.*x = x \+ y"):
        gradient(trace(bump), np.ones(2))
    assert gradient(trace(bump), 2.0) == 1.0  # a traced float: rebinding, as for any float

    def assign(x: Any) -> Any:
        x[0] = 1.0
        return np.sum(x)

    with pytest.raises(TypeError, match=r"cannot be changed in place.*np.where"):
        gradient(trace(assign), np.ones(2))

    def into(x: Any) -> Any:
        out = np.zeros(2)
        out += x
        return np.sum(out)

    with pytest.raises(TypeError, match=r"np.add: writing into an array in place"):
        gradient(trace(into), np.ones(2))


def test_refusals_name_what_was_called() -> None:
    x = np.ones(3)
    with pytest.raises(TypeError, match=r"^x.item\(\)"):
        gradient(trace(lambda v: v.item()), x)
    with pytest.raises(TypeError, match=r"np.stack"):
        gradient(trace(lambda v: np.sum(np.array([v[0], v[1]]))), x)
    with pytest.raises(TypeError, match=r"^np.add.reduceat has no derivative rule"):
        gradient(trace(lambda v: np.sum(np.add.reduceat(v, [0, 1]))), x)
    with pytest.raises(TypeError, match=r"^np.fft.fft has no derivative rule"):
        gradient(trace(lambda v: np.sum(np.fft.fft(v))), x)  # type: ignore[type-var]
    with pytest.raises(TypeError, match=r"x.astype\(float32\)"):
        gradient(trace(lambda v: np.sum(v.astype(np.float32))), x)
    with pytest.raises(TypeError, match=r"np.sum: out= writes"):
        gradient(trace(lambda v: np.sum(v, out=np.zeros(()))), x)
    with pytest.raises(TypeError, match=r"float\(x\) or math.exp\(x\)"):
        gradient(trace(lambda v: math.exp(v)), 1.0)


def test_constants_in_either_order() -> None:
    seen: dict[str, Any] = {}

    def f(x: Any) -> Any:
        seen["left"] = np.zeros(3) < x
        seen["right"] = x > np.zeros(3)
        seen["argmax"] = np.argmax(x)
        seen["sign"] = np.sign(x)
        return np.sum(x * (x > 0.5))  # a bool mask is a constant

    np.testing.assert_array_equal(gradient(trace(f), np.array([0.1, 1.0, 2.0])), [0.0, 1.0, 1.0])
    assert type(seen["left"]) is np.ndarray and seen["left"].dtype == np.bool_
    np.testing.assert_array_equal(seen["left"], seen["right"])
    assert seen["argmax"] == 2 and type(seen["sign"]) is np.ndarray


def test_ufunc_methods() -> None:
    x = np.arange(6.0).reshape(2, 3) + 1.0
    g = gradient(trace(lambda v: np.sum(np.add.reduce(v, axis=1) ** 2)), x)
    np.testing.assert_allclose(g, 2 * np.sum(x, axis=1, keepdims=True) * np.ones_like(x))
    g = gradient(trace(lambda v: np.sum(np.multiply.outer(v[0], v[1]))), x)
    np.testing.assert_allclose(g, [np.full(3, x[1].sum()), np.full(3, x[0].sum())])
    g = gradient(trace(lambda v: np.sum(np.add.accumulate(v, axis=1))), x)
    np.testing.assert_allclose(g, [[3.0, 2.0, 1.0], [3.0, 2.0, 1.0]])


def test_floats_stay_floats_through_numpy_functions() -> None:
    y, back = pb.pullback(trace(lambda a, b: np.hypot(np.sin(a), b) + np.sum(a)), 0.5, 2.0)
    assert type(y) is float
    da, db = back(1.0)
    assert type(da) is float and type(db) is float


def test_hessian_of_plain_numpy() -> None:
    x = np.array([0.5, -1.0, 2.0])
    h = hessian(trace(lambda v: np.sum(v**3) + np.prod(v)), x)
    expected = np.diag(6 * x) + np.array([[0.0, x[2], x[1]], [x[2], 0.0, x[0]], [x[1], x[0], 0.0]])
    np.testing.assert_allclose(h, expected, rtol=1e-12, atol=1e-12)
    w = np.array([[2.0, 1.0], [1.0, 3.0]])
    h2 = hessian(trace(lambda v: v @ w @ v), np.array([1.0, -1.0]))
    np.testing.assert_allclose(h2, w + w.T)


def test_ops_errors_and_quiet_sums() -> None:
    with pytest.raises(TypeError, match=r"ops.power: the exponent must be a real number"):
        ops.power(1.5, "2")  # type: ignore[arg-type]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert math.isnan(ops.sum(np.array([math.inf, -math.inf])))
        g = gradient(trace(lambda v: np.sum(np.log(v))), np.array([0.0, 1.0]))
    np.testing.assert_array_equal(g, [math.inf, 1.0])


def test_softmax_over_any_axis() -> None:
    x = np.random.default_rng(1).normal(size=(2, 3, 4))
    for axis in (0, 1, -1):
        r = np.random.default_rng(axis + 5).normal(size=x.shape)
        shifted = np.exp(x - x.max(axis=axis, keepdims=True))
        expected = shifted / shifted.sum(axis=axis, keepdims=True)
        np.testing.assert_allclose(ops.softmax(x, axis=axis), expected, rtol=1e-14)

        def weighted(v: Any, a: int = axis, r: Any = r) -> Any:
            return np.sum(ops.softmax(v, axis=a) * r)

        g = gradient(trace(weighted), x)
        s = expected
        np.testing.assert_allclose(g, s * (r - np.sum(r * s, axis=axis, keepdims=True)), atol=1e-14)


def test_more_methods_and_keywords() -> None:
    x = np.array([1.0, 2.0, 4.0])
    g = gradient(trace(lambda v: v.var(correction=1) + v.max(initial=-5.0) + v.real.sum()), x)
    np.testing.assert_allclose(g, 2 * (x - x.mean()) / 2 + np.array([0.0, 0.0, 1.0]) + 1.0)
    np.testing.assert_array_equal(gradient(trace(lambda v: np.max(v, initial=10.0)), x), 0.0)
    np.testing.assert_array_equal(gradient(trace(lambda v: np.sum(v.conj() * 2.0)), x), 2.0)
    seen: dict[str, Any] = {}

    def f(v: Any) -> Any:
        seen["imag"] = v.imag
        seen["text"] = f"{v[0]:.2f}"
        seen["round"] = round(v[1], 0)
        return np.sum(v)

    gradient(trace(f), x)
    np.testing.assert_array_equal(seen["imag"], np.zeros(3))
    assert seen["text"] == "1.00" and seen["round"] == 2.0
    with pytest.raises(TypeError, match=r"x.sort\(\) sorts in place.*np.sort"):
        gradient(trace(lambda v: v.sort()), x)
    with pytest.raises(TypeError, match=r"x.flat"):
        gradient(trace(lambda v: v.flat), x)


def test_floor_division_and_divmod_operators_are_pythons_and_numpys() -> None:
    # x // y is a constant (floor_divide), divmod pairs it with the recorded remainder.
    for x, y in [(7.5, 2.0), (-7.5, 2.0), (7.5, -2.0), (0.5, 0.1)]:
        q, r = divmod(x, y)

        def quotient(v: Any, y: float = y) -> Any:
            return v // y

        def both(v: Any, y: float = y) -> Any:
            return divmod(v, y)[1] + divmod(v, y)[0]

        def remainder_of(w: Any, x: float = x) -> Any:
            return divmod(x, w)[1]  # x - q·w

        assert trace(quotient)(x)[0] == x // y
        assert type(trace(quotient)(x)[0]) is float
        assert trace(both)(x)[0] == q + r
        assert gradient(trace(both), x) == 1.0
        assert gradient(trace(remainder_of), y) == -q
    a = np.array([1.5, -2.25, 3.0])
    assert np.array_equal(trace(lambda v: v // 0.5)(a)[0], a // 0.5)
    np.testing.assert_array_equal(gradient(trace(lambda v: np.sum(v - v // 1)), a), np.ones(3))
