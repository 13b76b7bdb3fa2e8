"""examples/two_layer_net.py: the network's gradient and a short training run."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import pullback as pb

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "two_layer_net.py"


@pytest.fixture(scope="module")
def example() -> Any:
    spec = importlib.util.spec_from_file_location("two_layer_net", EXAMPLE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["two_layer_net"] = module
    spec.loader.exec_module(module)
    return module


def test_network_gradient_matches_numerical_gradient(example: Any) -> None:
    rng = np.random.default_rng(3)
    params = example.init_params((6, 5, 3), seed=1)
    x, labels = rng.normal(size=(4, 6)), np.array([0, 2, 1, 2])
    grads = pb.gradient(example.loss, params, x, labels)[0]
    assert example.gradient_check(params, x, labels) < 1e-7
    for name, value in params.items():
        numeric = pb.numerical_gradient(
            lambda v, name=name: example.loss({**params, name: v}, x, labels)[0], value
        )
        assert np.allclose(grads[name], numeric, atol=1e-7), name


def test_sgd_returns_new_parameters_and_mutates_nothing(example: Any) -> None:
    params = example.init_params((6, 5, 3), seed=1)
    before = {k: v.copy() for k, v in params.items()}
    for v in params.values():
        v.setflags(write=False)
    x, labels = np.ones((2, 6)), np.array([0, 1])
    new, value = example.train_step(params, x, labels, 0.1)
    assert all(np.array_equal(params[k], before[k]) for k in params)
    assert any(not np.array_equal(new[k], params[k]) for k in params)
    assert value == pytest.approx(float(example.loss(params, x, labels)[0]))


def test_training_on_a_small_subset_lowers_the_loss(example: Any) -> None:
    _, history = example.train(epochs=15, limit=400, seed=0, progress=False)
    assert history.train_loss[-1] < 0.5 * history.train_loss[0]
    assert history.test_accuracy[-1] > 0.8
    again = example.train(epochs=15, limit=400, seed=0, progress=False)[1]
    assert again == history  # a fixed seed: reproducible


def test_the_curve_is_saved(example: Any, tmp_path: Path) -> None:
    _, history = example.train(epochs=2, limit=200, seed=0, progress=False)
    path = tmp_path / "curve.png"
    example.plot(history, path)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
