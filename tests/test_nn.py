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
