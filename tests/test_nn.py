"""affine, softmax, log_softmax, softmax_cross_entropy: gradients, stability, label forms."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import pullback as pb
from pullback import Array

RNG = np.random.default_rng(7)


def test_affine_matches_finite_differences_and_formulas() -> None:
    x, w, b = RNG.normal(size=(4, 3)), RNG.normal(size=(3, 5)), RNG.normal(size=5)
    pb.check_rule(pb.affine, x, w, b)
    y, back = pb.affine(x, w, b)
    dy = RNG.normal(size=(4, 5))
    dx, dw, db = back(dy)
    assert np.allclose(y, x @ w + b)
    assert np.allclose(dx, dy @ w.T) and np.allclose(dw, x.T @ dy) and np.allclose(db, dy.sum(0))


def test_softmax_and_log_softmax() -> None:
    x = RNG.normal(size=(3, 4))
    pb.check_rule(pb.softmax, x)
    pb.check_rule(pb.log_softmax, x)
    y, _ = pb.softmax(x)
    assert np.allclose(y.sum(axis=1), 1.0)
    assert np.allclose(pb.log_softmax(x)[0], np.log(y))
    pb.check_rule(pb.softmax, RNG.normal(size=5))


def logits_only(labels: Array) -> Callable[[Array], tuple[float, Any]]:
    def loss_of_logits(z: Array) -> tuple[float, Any]:
        value, back = pb.softmax_cross_entropy(z, labels)
        return value, lambda dy: back(dy)[0]

    return loss_of_logits


def test_softmax_cross_entropy_with_indices_and_one_hot_rows() -> None:
    logits = RNG.normal(size=(5, 3))
    indices = np.array([0, 2, 1, 1, 0])
    one_hot = np.eye(3)[indices]
    loss_i, back_i = pb.softmax_cross_entropy(logits, indices)
    loss_h, _ = pb.softmax_cross_entropy(logits, one_hot)
    assert loss_i == pytest.approx(loss_h, rel=1e-15)
    probabilities = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    expected = -np.mean(np.log(probabilities[np.arange(5), indices]))
    assert loss_i == pytest.approx(expected, rel=1e-13)
    assert np.allclose(back_i(1.0)[0], (probabilities - one_hot) / 5)
    assert np.array_equal(back_i(1.0)[1], np.zeros(5))  # class indices: not differentiable
    pb.check_rule(logits_only(indices), logits)
    pb.check_rule(pb.softmax_cross_entropy, logits, one_hot)  # rows: both arguments


def test_softmax_cross_entropy_is_stable_at_huge_logits() -> None:
    logits = np.array([[1e4, -1e4, 0.0], [-1e4, -1e4, 1e4]])
    with np.errstate(all="raise"):
        value, back = pb.softmax_cross_entropy(logits, np.array([0, 1]))
        dlogits, _ = back(1.0)
    assert np.isfinite(value) and value == pytest.approx(1e4, rel=1e-12)  # -log σ of a 2e4 gap / 2
    assert np.all(np.isfinite(dlogits))
    y, _ = pb.softmax(logits)
    assert np.all(np.isfinite(y))


def test_errors_name_the_rule() -> None:
    with pytest.raises(ValueError, match=r"^affine: shapes x \(2, 3\), W \(4, 5\)"):
        pb.affine(np.ones((2, 3)), np.ones((4, 5)), np.ones(5))
    with pytest.raises(ValueError, match=r"^affine: x must be a 2-d array"):
        pb.affine(np.ones(3), np.ones((3, 5)), np.ones(5))
    with pytest.raises(TypeError, match=r"^affine \(W\): expected a value"):
        pb.affine(np.ones((2, 3)), "W", np.ones(5))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"class indices must be whole numbers in \[0, 3\)"):
        pb.softmax_cross_entropy(np.ones((2, 3)), np.array([0, 3]))
    with pytest.raises(ValueError, match=r"labels must be one-hot rows \(2, 3\)"):
        pb.softmax_cross_entropy(np.ones((2, 3)), np.ones((2, 4)))


def test_network_rules_in_traced_code() -> None:
    w, b = RNG.normal(size=(3, 2)), RNG.normal(size=2)
    x, labels = RNG.normal(size=(4, 3)), np.array([0, 1, 1, 0])

    @pb.trace
    def loss(w: Array, b: Array) -> float:
        return pb.ops.softmax_cross_entropy(pb.ops.affine(x, w, b), labels)

    gw, gb = pb.gradient(loss, w, b)
    nw, nb = pb.numerical_gradient(lambda w, b: loss(w, b)[0], w, b)
    assert np.allclose(gw, nw, atol=1e-8) and np.allclose(gb, nb, atol=1e-8)


@pytest.mark.parametrize(
    "labels",
    [np.array([0.5, 1.0]), np.array([-1, 1]), np.array([3, 1]), np.array([np.nan, 1.0])],
    ids=["fraction", "negative", "too-large", "nan"],
)
def test_class_indices_are_checked_in_traced_code_too(labels: Array) -> None:
    # Once per call, where the loss is computed: the rule and traced code alike
    # (a -1 used to wrap around to the last class there, and 0.5 to become 0).
    logits = np.zeros((2, 3))
    expected = r"^softmax_cross_entropy: class indices must be whole numbers in \[0, 3\)"
    traced = pb.trace(lambda z, t: pb.ops.softmax_cross_entropy(z, t))
    with pytest.raises(ValueError, match=expected):
        pb.gradient(traced, logits, labels)
    with pytest.raises(ValueError, match=expected):
        pb.softmax_cross_entropy(logits, labels)


def test_the_network_entries_have_one_derivative_each() -> None:
    # One primitive, one entry: no one-pass rule beside the vjps; the cross-entropy
    # and relu keep residuals for them instead (Primitive.residuals).
    from pullback._table.library import AFFINE, RELU, SOFTMAX_CROSS_ENTROPY

    for entry in (AFFINE, RELU, SOFTMAX_CROSS_ENTROPY):
        assert entry.rule is None and entry.vjps is not None
    assert AFFINE.residuals is None
    assert RELU.residuals is not None and SOFTMAX_CROSS_ENTROPY.residuals is not None


@pytest.mark.parametrize("scale", [1.0, 30.0])
def test_cross_entropy_residuals_give_the_vjps_numbers_to_the_last_bit(scale: float) -> None:
    # Traced code runs the forward that keeps e^z and Σ e^z, and the vjps read them;
    # nested differentiation runs the vjps without them (from the logits). The same
    # arithmetic: the same bits. The public rule takes the first path too.
    from pullback._table.library import SOFTMAX_CROSS_ENTROPY as SCE

    assert SCE.vjps is not None and SCE.residuals is not None
    logits = RNG.normal(size=(5, 3)) * scale
    indices = np.array([0, 2, 1, 1, 0])
    for labels in (indices, indices.astype(float), np.eye(3)[indices]):
        loss, res = SCE.residuals(logits, labels)
        assert loss == float(SCE.forward(logits, labels))
        public_loss, public_back = pb.softmax_cross_entropy(logits, labels)
        assert public_loss == loss
        for g in (np.float64(0.7), np.float64(-2.5)):
            for vjp, public in zip(SCE.vjps, public_back(float(g)), strict=True):
                assert vjp is not None
                with_res = vjp(g, loss, logits, labels, res=res)
                np.testing.assert_array_equal(with_res, vjp(g, loss, logits, labels))
                np.testing.assert_array_equal(with_res, public)
        # The pullback may be called again: the residuals are not changed by a call.
        first = SCE.vjps[0](np.float64(1.0), loss, logits, labels, res=res)  # type: ignore[misc]
        again = SCE.vjps[0](np.float64(1.0), loss, logits, labels, res=res)  # type: ignore[misc]
        np.testing.assert_array_equal(first, again)


def test_affine_public_rule_runs_the_entrys_vjps() -> None:
    from pullback._table.library import AFFINE

    x, w, b = RNG.normal(size=(4, 3)), RNG.normal(size=(3, 5)), RNG.normal(size=5)
    dy = RNG.normal(size=(4, 5))
    y, back = pb.affine(x, w, b)
    assert AFFINE.vjps is not None
    np.testing.assert_array_equal(y, AFFINE.forward(x, w, b))
    for got, vjp in zip(back(dy), AFFINE.vjps, strict=True):
        assert vjp is not None
        np.testing.assert_array_equal(got, vjp(dy, y, x, w, b))


def test_a_row_of_infinite_logits_takes_the_guarded_path() -> None:
    # A row maximum that is not finite makes the unguarded loss nan; the rule then
    # computes it again shifted by 0 there, as the entry's forward does: inf, not nan.
    from pullback._table.library import SOFTMAX_CROSS_ENTROPY

    logits, labels = np.array([[np.inf, 0.0], [0.0, 1.0]]), np.array([1, 1])
    with np.errstate(all="raise"):  # and quietly: the special values are the answer
        loss, back = pb.softmax_cross_entropy(logits, labels)
        dlogits, _ = back(1.0)
    assert SOFTMAX_CROSS_ENTROPY.vjps is not None and SOFTMAX_CROSS_ENTROPY.vjps[0] is not None
    with np.errstate(all="ignore"):
        expected = SOFTMAX_CROSS_ENTROPY.forward(logits, labels)
        expected_d = SOFTMAX_CROSS_ENTROPY.vjps[0](np.float64(1.0), loss, logits, labels)
    assert loss == expected == np.inf
    np.testing.assert_array_equal(dlogits, expected_d)
    assert np.isnan(dlogits[0, 0]) and dlogits[0, 1] == -0.5


def test_one_pass_rules_pull_back_a_traced_cotangent() -> None:
    # An inner trace whose affine and cross-entropy do not depend on the outer
    # variable runs their one-pass rules; the cotangent reaching them does (it is
    # s), so their pullbacks must record in the outer trace: d/ds of |s G|² = 2 s |G|².
    x, w, b = RNG.normal(size=(4, 3)), RNG.normal(size=(3, 5)), RNG.normal(size=5)
    indices = np.array([0, 4, 2, 1])
    for labels in (indices, np.eye(5)[indices]):

        def loss(v: Array, t: Array) -> Any:
            return pb.ops.softmax_cross_entropy(pb.ops.affine(x, v, b), t)

        def squared_gradient(s: Any, labels: Array = labels) -> Any:
            gw, gt = pb.gradient(pb.trace(lambda v, t: loss(v, t) * s), w, labels)
            return np.sum(gw * gw) + np.sum(gt * gt)

        gw, gt = pb.gradient(pb.trace(loss), w, labels)
        expected = 2 * 1.5 * (np.sum(gw * gw) + np.sum(gt * gt))
        assert pb.gradient(pb.trace(squared_gradient), 1.5) == pytest.approx(expected, rel=1e-12)


def test_relu_residuals_give_its_vjps_numbers_to_the_last_bit() -> None:
    # Traced code runs relu's forward that keeps its derivative as a mask on finite
    # arrays (nothing when a nan or an infinity is present), and the vjp multiplies by
    # it; without it the vjp computes relu'(x): the same numbers, signs of zeros too.
    from pullback._table.library import RELU

    assert RELU.residuals is not None and RELU.vjps is not None and RELU.vjps[0] is not None
    vjp = RELU.vjps[0]
    finite = np.array([[-2.0, -0.0, 0.0, 3.0], [1e-300, -1e300, 5.0, -1.0]])
    special = np.array([[np.nan, -np.inf, np.inf, 0.0], [-1.0, 2.0, -0.0, 4.0]])
    g = np.array([[1.0, -2.0, np.inf, -np.inf], [np.nan, 0.0, -0.0, 3.0]])
    for x in (finite, special):
        y, res = RELU.residuals(x)
        assert (res is None) == (x is special)
        with np.errstate(all="ignore"):
            np.testing.assert_array_equal(y, RELU.forward(x))
            assert np.array_equal(np.signbit(y), np.signbit(RELU.forward(x)))
            for dy in (g, RNG.normal(size=x.shape)):
                expected = vjp(dy, y, x)
                got = vjp(dy, y, x, res=res)
                np.testing.assert_array_equal(got, expected)
                assert np.array_equal(np.signbit(got), np.signbit(expected))
    traced = pb.gradient(pb.trace(lambda v: np.sum(pb.ops.relu(v) * finite)), finite)
    np.testing.assert_array_equal(traced, np.where(finite > 0, finite, 0.0))
    special_g = pb.gradient(pb.trace(lambda v: np.sum(pb.ops.relu(v))), special)
    with np.errstate(all="ignore"):
        expected = vjp(np.ones_like(special), RELU.forward(special), special)
    np.testing.assert_array_equal(special_g, expected)


def test_compiled_network_runs_the_residuals_and_gives_the_traced_bits() -> None:
    # compiled writes the layers' forwards that keep their residuals, and passes them
    # to the vjps (res=): the one-pass code, with the traced path's numbers.
    from pullback._compile.rule import CompiledRule

    w1, b1 = RNG.normal(size=(4, 5)), RNG.normal(size=5)
    w2, b2 = RNG.normal(size=(5, 3)), RNG.normal(size=3)
    x, labels = RNG.normal(size=(6, 4)), np.array([0, 2, 1, 1, 0, 2])

    def loss(w1: Array, b1: Array, w2: Array, b2: Array) -> Any:
        hidden = pb.ops.relu(pb.ops.affine(x, w1, b1))
        return pb.ops.softmax_cross_entropy(pb.ops.affine(hidden, w2, b2), labels)

    rule = CompiledRule(loss)
    traced = pb.gradient(pb.trace(loss), w1, b1, w2, b2)
    for _ in range(2):  # recorded, then replayed
        for got, expected in zip(pb.gradient(rule, w1, b1, w2, b2), traced, strict=True):
            np.testing.assert_array_equal(got, expected)
    assert rule.source(w1, b1, w2, b2).count("res=b") == 2  # the logits vjp, relu's
