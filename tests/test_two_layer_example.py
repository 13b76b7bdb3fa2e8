"""examples/two_layer_net.py: the plain-NumPy traced loss, its gradient, a short training run."""

from __future__ import annotations

import ast
import importlib.util
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import pullback as pb
from pullback import ops

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "two_layer_net.py"


@pytest.fixture(scope="module")
def example() -> Any:
    spec = importlib.util.spec_from_file_location("two_layer_net", EXAMPLE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["two_layer_net"] = module
    spec.loader.exec_module(module)
    return module


def small_batch(example: Any) -> tuple[dict[str, Any], Any, Any, Any]:
    """Parameters of a 6 → 5 → 3 network, a batch of 4, its class labels and one-hot rows."""
    rng = np.random.default_rng(3)
    params = example.init_params((6, 5, 3), seed=1)
    params["b1"] = rng.normal(size=5)  # nonzero biases, so their gradients are tested too
    params["b2"] = rng.normal(size=3)
    labels = np.array([0, 2, 1, 2])
    return params, rng.normal(size=(4, 6)), labels, example.one_hot(labels, 3)


@pb.trace
def rules_loss(params: dict[str, Any], x: Any, labels: Any) -> Any:
    """The same network with the library's network rules (class indices)."""
    hidden = ops.relu(ops.affine(x, params["W1"], params["b1"]))
    return ops.softmax_cross_entropy(ops.affine(hidden, params["W2"], params["b2"]), labels)


def test_the_loss_is_plain_numpy_traced_by_the_table(example: Any) -> None:
    params, x, _, t = small_batch(example)
    assert repr(example.loss) == "trace(loss)"
    names = example.loss.record(params, x, t).names
    # the NumPy calls of the source, recorded one by one (no fused network rule)
    assert names[6:] == (
        "matmul", "add", "maximum", "matmul", "add",  # predict
        "max", "sub", "exp", "sum", "log", "sub",  # log-softmax
        "mul", "sum", "negative", "div",  # mean cross-entropy
    )  # fmt: skip
    # and the example's code never names pullback's ops
    tree = ast.parse(EXAMPLE.read_text())
    identifiers = {node.id for node in ast.walk(tree) if isinstance(node, ast.Name)}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import | ast.ImportFrom):
            identifiers |= {alias.name for alias in node.names}
    assert "ops" not in identifiers and "pullback.ops" not in identifiers


def test_one_hot_rows(example: Any) -> None:
    t = example.one_hot(np.array([2, 0, 1]), 4)
    assert t.dtype == np.float64
    assert np.array_equal(t, [[0, 0, 1, 0], [1, 0, 0, 0], [0, 1, 0, 0]])
    assert example.one_hot(np.array([9])).shape == (1, example.CLASSES)


def test_plain_numpy_gradient_equals_the_network_rules_gradient(example: Any) -> None:
    params, x, labels, t = small_batch(example)
    value, (grads, _, _) = pb.value_and_gradient(example.loss, params, x, t)
    rules_value, (rules_grads, _, _) = pb.value_and_gradient(rules_loss, params, x, labels)
    assert isinstance(value, float)
    assert abs(value - rules_value) <= 1e-12
    assert set(grads) == set(rules_grads) == set(params)
    for name in params:
        assert grads[name].shape == params[name].shape
        assert np.max(np.abs(grads[name] - rules_grads[name])) <= 1e-12, name


def test_traced_loss_is_the_same_code_as_on_plain_arrays(example: Any) -> None:
    params, x, _, t = small_batch(example)
    plain = example.loss.__wrapped__(params, x, t)  # the undecorated function on arrays
    assert float(example.loss(params, x, t)[0]) == pytest.approx(float(plain), abs=1e-15)
    scores = example.predict(params, x)
    hidden = ops.relu(ops.affine(x, params["W1"], params["b1"]))
    expected = ops.affine(hidden, params["W2"], params["b2"])
    assert np.array_equal(scores, expected)


def test_network_gradient_matches_numerical_gradient(example: Any) -> None:
    params, x, _, t = small_batch(example)
    grads = pb.gradient(example.loss, params, x, t)[0]
    assert example.gradient_check(params, x, t) < 1e-7
    for name, value in params.items():
        numeric = pb.numerical_gradient(
            lambda v, name=name: example.loss({**params, name: v}, x, t)[0], value
        )
        assert np.allclose(grads[name], numeric, atol=1e-7), name


def test_the_log_softmax_shift_keeps_huge_scores_finite(example: Any) -> None:
    params, x, _, t = small_batch(example)
    big = {**params, "W2": params["W2"] * 1e4}  # scores of order 1e4: exp would overflow
    value, (grads, _, _) = pb.value_and_gradient(example.loss, big, x, t)
    assert np.isfinite(value)
    assert all(np.all(np.isfinite(g)) for g in grads.values())


def test_sgd_returns_new_parameters_and_mutates_nothing(example: Any) -> None:
    params = example.init_params((6, 5, 3), seed=1)
    before = {k: v.copy() for k, v in params.items()}
    for v in params.values():
        v.setflags(write=False)
    x, t = np.ones((2, 6)), example.one_hot(np.array([0, 1]), 3)
    new, value = example.train_step(params, x, t, 0.1)
    assert all(np.array_equal(params[k], before[k]) for k in params)
    assert any(not np.array_equal(new[k], params[k]) for k in params)
    assert value == pytest.approx(float(example.loss(params, x, t)[0]))
    grads = pb.gradient(example.loss, params, x, t)[0]
    assert all(np.array_equal(new[k], params[k] - 0.1 * grads[k]) for k in params)


def test_sgd_step_in_place_equals_the_functional_step(example: Any) -> None:
    params, x, _, t = small_batch(example)
    functional, _ = example.train_step(params, x, t, 0.1)
    arrays = dict(params)  # the very arrays, updated in place
    grads = pb.gradient(example.loss, params, x, t)[0]
    kept = dict(grads)
    example.sgd_step_in_place(params, grads, 0.1)
    for k in params:
        assert params[k] is arrays[k]  # no new arrays
        np.testing.assert_array_equal(params[k], functional[k])  # the same arithmetic
        assert grads[k] is kept[k]


def test_training_on_a_small_subset_lowers_the_loss(example: Any) -> None:
    _, history = example.train(epochs=15, limit=400, seed=0, progress=False)
    assert history.train_loss[-1] < 0.5 * history.train_loss[0]
    assert history.test_accuracy[-1] > 0.8
    again = example.train(epochs=15, limit=400, seed=0, progress=False)[1]
    assert again == history  # a fixed seed: reproducible


def test_the_command_line_checks_trains_and_plots(
    example: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "curve.png"
    assert example.main(["--epochs", "2", "--plot", str(path)]) == 0
    out = capsys.readouterr().out
    worst = float(out.split("max |difference| = ")[1].split()[0])
    assert worst < 1e-7
    assert "trained 2 epochs" in out and "test accuracy" in out
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
