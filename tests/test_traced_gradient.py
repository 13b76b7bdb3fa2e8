"""``gradient`` of a traced rule through its ``__pullback_gradient__``, and the step's fast paths.

The protocol runs forward and backward without making a pullback object: it
must give the bits of calling the rule and its seeded pullback, for every kind
of argument and output (floats, trees, arrays, nested traces, an output that
does not depend on the arguments). The training step's paths (integer class
indices as arguments, NumPy's error state without a context manager) keep
their errors and leave nothing behind.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import pullback as pb
from pullback import ops, trace
from pullback._ieee import restore, silence

from .helpers import same


def _by_the_pullback(f: Any, *xs: Any) -> tuple[Any, Any]:
    """The value and gradient the long way: the rule, then its pullback seeded with ones."""
    y, back = f(*xs)
    return y, back(1.0 if type(y) is float else np.ones_like(y))


def _equal(a: Any, b: Any) -> bool:
    """Equal to the bit, tree by tree, floats staying floats and arrays arrays."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return bool(a.keys() == b.keys()) and all(_equal(a[k], b[k]) for k in a)
    if isinstance(a, (tuple, list)):
        return len(a) == len(b) and all(_equal(u, v) for u, v in zip(a, b, strict=True))
    if isinstance(a, np.ndarray):
        return bool(a.shape == b.shape and a.tobytes() == b.tobytes())
    return same(a, b)


CASES: dict[str, tuple[Any, tuple[Any, ...]]] = {
    "one float": (lambda x: np.sin(x) * x, (0.3,)),
    "three floats": (lambda a, b, c: np.sin(a * b) + np.exp(c) / (1.0 + a * a), (0.7, 1.3, 0.4)),
    "an argument not reached": (lambda a, b: a * 2.0, (1.5, 2.5)),
    "the output is an argument": (lambda a, b: b, (1.5, 2.5)),
    "a constant output": (lambda x: 3.0, (1.0,)),
    "an int argument": (lambda x: x * x, (3,)),
    "a division by zero": (lambda x: 1.0 / x, (0.0,)),
    "an array": (lambda x: np.sum(np.tanh(x) * x), (np.linspace(-1.0, 1.0, 5),)),
    "an array value": (lambda x: np.exp(x), (np.array([0.0, 1.0]),)),
    "a dict of arrays": (
        lambda p, x: np.sum(np.maximum(x @ p["w"] + p["b"], 0.0)),
        ({"w": np.arange(6.0).reshape(3, 2) - 2.0, "b": np.array([0.5, -0.5])}, np.ones((4, 3))),
    ),
    "a float and an array": (lambda s, x: np.sum(s * x), (2.0, np.array([1.0, -2.0]))),
}


@pytest.mark.parametrize("name", list(CASES))
def test_the_protocol_gives_the_bits_of_the_pullback(name: str) -> None:
    function, xs = CASES[name]
    f = trace(function)
    y, g = _by_the_pullback(f, *xs)
    assert _equal(f.__pullback_gradient__(xs), (y, g))
    got_y, got_g = pb.value_and_gradient(f, *xs)
    assert _equal(got_y, y) and _equal(got_g, g)
    assert _equal(pb.gradient(f, *xs), g)


def test_the_gradient_of_floats_is_floats_and_arrays_are_the_callers_own() -> None:
    f = trace(lambda a, b: a * b)
    assert pb.gradient(f, 2.0, 3.0) == (3.0, 2.0)
    assert all(type(g) is float for g in pb.gradient(f, 2.0, 3.0))
    x = np.array([1.0, 2.0])
    g = pb.gradient(trace(lambda v: np.sum(v)), x)
    g[0] = 99.0  # the caller's own: writing into it changes no argument
    assert x.tolist() == [1.0, 2.0]


def test_nested_gradients_take_the_general_path_and_agree() -> None:
    # The inner gradient's value is a traced value of the outer call: not the float path.
    inner = trace(lambda x: x * x * x)
    outer = trace(lambda x: pb.gradient(inner, x))
    assert pb.gradient(outer, 2.0) == 12.0  # d/dx 3x² = 6x
    assert pb.value_and_gradient(outer, 2.0) == (12.0, 12.0)


def test_the_api_calls_the_protocol_once_and_no_pullback() -> None:
    calls: list[tuple[Any, ...]] = []

    class Own:
        def __call__(self, *xs: Any) -> Any:  # pragma: no cover - must not be called
            raise AssertionError("the rule itself was called")

        def __pullback_gradient__(self, xs: tuple[Any, ...]) -> tuple[Any, Any]:
            calls.append(xs)
            return 5.0, (1.0, 2.0)

    assert pb.gradient(Own(), 1.0, 2.0) == (1.0, 2.0)
    assert pb.value_and_gradient(Own(), 1.0, 2.0) == (5.0, (1.0, 2.0))
    assert calls == [(1.0, 2.0), (1.0, 2.0)]


def test_a_failing_traced_call_is_refused_with_its_message() -> None:
    f = trace(lambda x: "not a value")
    with pytest.raises(TypeError, match="must return a value"):
        pb.gradient(f, 1.0)
    with pytest.raises(TypeError, match=r"trace\(<lambda>\), argument 1"):
        pb.gradient(trace(lambda x: x), "1.0")


# -- the training step's paths --------------------------------------------------------------


def _network(params: dict[str, Any], x: Any, labels: Any) -> Any:
    hidden = ops.relu(ops.affine(x, params["W1"], params["b1"]))
    return ops.softmax_cross_entropy(ops.affine(hidden, params["W2"], params["b2"]), labels)


def _params() -> dict[str, Any]:
    rng = np.random.default_rng(0)
    return {
        "W1": rng.normal(size=(4, 3)),
        "b1": rng.normal(size=3),
        "W2": rng.normal(size=(3, 2)),
        "b2": rng.normal(size=2),
    }


def test_integer_class_indices_give_the_bits_of_float_ones() -> None:
    params, x = _params(), np.arange(20.0).reshape(5, 4) / 10.0 - 1.0
    labels = np.array([0, 1, 1, 0, 1])
    f = trace(_network)
    by_int = pb.value_and_gradient(f, params, x, labels)
    by_float = pb.value_and_gradient(f, params, x, labels.astype(np.float64))
    assert _equal(by_int, by_float)
    assert by_int[1][2].dtype == np.float64 and not by_int[1][2].any()  # no derivative
    assert labels.dtype.kind == "i" and labels.tolist() == [0, 1, 1, 0, 1]  # untouched


@pytest.mark.parametrize(
    "labels", [np.array([0, 2, 1, 0, 1]), np.array([0, -1, 1, 0, 1]), np.array([0.0, 0.5, 1, 0, 1])]
)
def test_class_indices_out_of_range_are_refused_in_traced_code(labels: Any) -> None:
    params, x = _params(), np.ones((5, 4))
    before = np.geterr()
    with pytest.raises(ValueError, match=r"class indices must be whole numbers in \[0, 2\)"):
        pb.gradient(trace(_network), params, x, labels)
    assert np.geterr() == before  # the silenced error state was restored on the way out


def test_silence_and_restore_leave_the_error_state_as_it_was() -> None:
    before = np.geterr()
    with np.errstate(all="raise"):
        token = silence()
        try:
            assert np.isinf(np.array(1.0) / np.array(0.0))  # no FloatingPointError
        finally:
            restore(token)
        with pytest.raises(FloatingPointError):
            np.array(1.0) / np.array(0.0)
    assert np.geterr() == before


def test_relu_at_nan_and_inf_keeps_its_convention_in_a_step() -> None:
    # The mask is kept only where the pre-activations are finite (their sum says so).
    x = np.array([[np.nan, 1.0, -1.0], [np.inf, -np.inf, 0.0]])
    f = trace(lambda v: np.sum(ops.relu(v)))
    g = pb.gradient(f, x)
    with np.errstate(invalid="ignore"):  # relu'(x) = 1 where x > 0, else |x|·0 (nan at ±inf·0)
        by_the_convention = np.where(x > 0.0, 1.0, np.abs(x) * 0.0)
    assert np.isnan(g[0, 0]) and np.isnan(g[1, 1])
    assert same(g, by_the_convention)
    finite = np.array([[0.5, -0.5], [0.0, 2.0]])
    assert pb.gradient(f, finite).tolist() == [[1.0, 0.0], [0.0, 1.0]]
