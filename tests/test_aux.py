"""withgradient: a traced loss with auxiliary outputs (metrics, predictions)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import pullback as pb
from pullback import gradient, trace, withgradient


def test_the_gradient_is_the_loss_alone_and_the_aux_is_plain() -> None:
    rng = np.random.default_rng(0)
    w, x = rng.normal(size=3), rng.normal(size=(5, 3))
    labels = (rng.normal(size=5) > 0) * 1.0

    def loss(w: Any, x: Any) -> Any:
        scores = x @ w
        accuracy = np.mean((scores > 0) == (labels > 0))
        return np.mean((scores - labels) ** 2), {"accuracy": accuracy, "scores": scores}

    (value, aux), (dw, dx) = withgradient(trace(loss), w, x)
    expected_value, (ew, ex) = pb.value_and_gradient(trace(lambda w, x: loss(w, x)[0]), w, x)
    assert value == expected_value
    np.testing.assert_array_equal(dw, ew)
    np.testing.assert_array_equal(dx, ex)
    assert set(aux) == {"accuracy", "scores"}
    assert type(aux["scores"]) is np.ndarray and aux["scores"].dtype == np.float64
    np.testing.assert_array_equal(aux["scores"], x @ w)
    assert not np.shares_memory(aux["scores"], w) and not np.shares_memory(aux["scores"], x)
    assert float(aux["accuracy"]) == np.mean(((x @ w) > 0) == (labels > 0))


def test_floats_trees_and_nesting() -> None:
    (value, aux), g = withgradient(trace(lambda a: (a * a, (a, 2.0 * a))), 3.0)
    assert (value, aux, g) == (9.0, (3.0, 6.0), 6.0)
    assert type(aux[0]) is float
    params = {"w": np.array([1.0, 2.0]), "b": 0.5}
    (value, aux), grads = withgradient(
        trace(lambda p: (np.sum(p["w"] ** 2) + p["b"], {"norm": np.linalg.norm(p["w"])})), params
    )
    assert grads["b"] == 1.0
    np.testing.assert_array_equal(grads["w"], [2.0, 4.0])
    assert aux["norm"] == pytest.approx(np.sqrt(5.0))
    # inside traced code the aux of an inner call is a value of the outer trace made plain
    outer = gradient(trace(lambda x: withgradient(trace(lambda y: (x * y * y, y)), 2.0)[1]), 3.0)
    assert outer == 4.0  # d/dx [d/dy x y² at y = 2] = 2y


def test_refusals() -> None:
    with pytest.raises(TypeError, match=r"^withgradient: expected a traced function"):
        withgradient(pb.exp, 1.0)  # type: ignore[misc]
    with pytest.raises(TypeError, match=r"must return a pair \(value, aux\)"):
        withgradient(trace(lambda x: x * 2.0), 1.0)
    with pytest.raises(TypeError, match=r"^withgradient: the first argument must be a rule"):
        withgradient(3, 1.0)  # type: ignore[call-overload]
