"""compiled(f): vjps written out for the recorded shapes, and the signature made in one pass.

The summing back of broadcast operands and the restoring of reduced axes are
decided at compile time (see ``pullback._compile.specialise``): every case of
the shapes gives the traced path's gradients, bit for bit. The one-pass
signature tells apart what the general one does (dtypes, shapes, structure).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import pullback as pb
from pullback import compiled, ops, trace
from pullback._compile.specialise import products_constant, unbroadcast_text
from pullback._table.binary import BINARY
from pullback._table.entry import unbroadcast

from .test_compile import _agree as _agree_with_trace
from .test_compile import _variants


def _refuse_traced_path(*xs: Any) -> Any:
    raise AssertionError("the compiled code fell back to the traced path")


def _strict(f: Callable[..., Any]) -> Any:
    """``compiled(f)`` that fails where it would run the traced path (a fallback hides bugs)."""
    rule = compiled(f)
    rule.traced = _refuse_traced_path
    return rule


def _agree(f: Callable[..., Any], *xs: Any, rule: Any = None) -> Any:
    """As test_compile's ``_agree``, with the compiled code alone (no fallback)."""
    return _agree_with_trace(f, *xs, rule=_strict(f) if rule is None else rule)


# Operand shapes NumPy broadcasts: () is a Python float, "0d" a 0-d array.
_PAIRS: list[tuple[Any, Any]] = [
    ((2, 3), (2, 3)),
    ((2, 3), (3,)),  # a row vector
    ((3,), (2, 3)),
    ((2, 3), (2, 1)),  # a column
    ((2, 1), (2, 3)),
    ((1, 3), (2, 1)),  # both broadcast
    ((2, 3), ()),  # a float operand
    ((), (2, 3)),
    ((2, 3), "0d"),
    ((2, 3), (1,)),
    ((1,), ()),
    ((4, 2, 3), (2, 1)),  # a leading axis summed
]


def _operand(shape: Any, seed: int) -> Any:
    rng = np.random.default_rng(seed)
    if shape == ():
        return float(rng.uniform(0.5, 2.0))
    if shape == "0d":
        return np.array(rng.uniform(0.5, 2.0))
    return rng.uniform(0.5, 2.0, shape)


def _weighted(ufunc: Any, a_shape: Any, b_shape: Any) -> Callable[[Any, Any], Any]:
    """``Σ w · ufunc(a, b)`` with weights that are not all one (a cotangent of some shape)."""
    shape = np.broadcast_shapes(np.shape(_operand(a_shape, 0)), np.shape(_operand(b_shape, 0)))
    w = np.arange(1.0, 1.0 + np.prod(shape, dtype=int)).reshape(shape) / 7.0

    def f(a: Any, b: Any) -> Any:
        return np.sum(ufunc(a, b) * w)

    return f


@pytest.mark.parametrize("a_shape, b_shape", _PAIRS)
@pytest.mark.parametrize("ufunc", sorted(set(BINARY), key=str), ids=lambda u: u.__name__)
def test_every_binary_entry_sums_back_as_the_traced_path(
    ufunc: Any, a_shape: Any, b_shape: Any
) -> None:
    f = _weighted(ufunc, a_shape, b_shape)
    a, b = _operand(a_shape, 1), _operand(b_shape, 2)
    rule = _strict(f)
    _agree(f, a, b, rule=rule)
    _agree(f, _operand(a_shape, 3), _operand(b_shape, 4), rule=rule)  # replayed, new values
    assert _variants(rule) == 1


def test_ties_of_maximum_under_broadcasting() -> None:
    def f(a: Any, b: Any) -> Any:
        return np.sum(np.maximum(a, b) * np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]))

    a = np.array([[1.0, 2.0, 3.0], [3.0, 2.0, 1.0]])
    grads = _agree(f, a, np.array([1.0, 2.0, 0.0]))
    assert grads[1].tolist() == [0.5, 3.5, 0.0]  # ties share: 1/2 · 1, 1/2 · (2 + 5), 0


def test_add_and_sub_are_written_without_a_call() -> None:
    w = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])

    def f(a: Any, b: Any, c: Any) -> Any:
        return np.sum((a + b - c) * w)

    a, b, c = np.ones((2, 3)), np.ones(3), np.ones((2, 1))
    grads = _agree(f, a, b, c)
    assert grads[1].tolist() == [5.0, 7.0, 9.0] and grads[2].tolist() == [[-6.0], [-15.0]]
    backward = _strict(f).source(a, b, c).split("# backward\n")[1]
    # a + b's cotangent is the difference's (g4) as it is, and so is a's; b's is it
    # summed over the rows; c's is it times -1.0 summed over the columns, reshaped.
    assert "ADDRED(g4, (0,))" in backward
    assert "ADDRED((g4 * (-1.0)), (1,)).reshape((2, 1))" in backward
    assert "COT(" not in backward  # every operand an array: nothing to convert


def test_the_constant_products_are_found_from_the_entries() -> None:
    def products(ufunc: Any, i: int) -> Any:
        return BINARY[ufunc].vjps[i].products  # type: ignore[index, union-attr]

    assert products_constant(products(np.add, 0), 2, {}) is True
    assert products_constant(products(np.add, 1), 2, {}) is True
    assert products_constant(products(np.subtract, 0), 2, {}) is True
    assert products_constant(products(np.subtract, 1), 2, {}) == -1.0
    for ufunc in (np.multiply, np.true_divide, np.maximum, np.power, np.arctan2):
        for i in (0, 1):
            assert products_constant(products(ufunc, i), 2, {}) is None, (ufunc, i)


@pytest.mark.parametrize("gshape, shape", [p for p in _PAIRS if "0d" not in p])
def test_unbroadcast_written_out_is_unbroadcast(gshape: Any, shape: Any) -> None:
    full = np.broadcast_shapes(gshape, shape)
    g = np.random.default_rng(0).normal(size=full)
    text = unbroadcast_text("g", full, shape)
    assert text is not None
    got = eval(text, {"ADDRED": np.add.reduce, "g": g})  # our own expression
    want = unbroadcast(g, shape)
    assert type(got) is type(want) and np.array_equal(got, want), (text, got, want)
    assert np.shape(got) == shape


_REDUCTIONS = [
    (None, False),
    (None, True),
    (0, False),
    (1, True),
    (-1, False),
    ((0, 1), False),
    ((0, 1), True),
]


@pytest.mark.parametrize("axis, keepdims", _REDUCTIONS)
@pytest.mark.parametrize(
    "reduction", [np.max, np.min, np.prod, ops.logsumexp], ids=lambda r: r.__name__
)
def test_reductions_restore_their_axes_as_the_traced_path(
    reduction: Any, axis: Any, keepdims: bool
) -> None:
    def f(x: Any) -> Any:
        y = reduction(x, axis=axis, keepdims=keepdims)
        return np.sum(y * np.arange(1.0, 1.0 + np.size(y)).reshape(np.shape(y)))

    rule = _strict(f)
    ties = np.array([[1.0, 3.0, 3.0], [2.0, 0.5, 2.0]])  # tied extremes share
    _agree(f, ties, rule=rule)
    _agree(f, np.random.default_rng(5).uniform(0.5, 2.0, (2, 3)), rule=rule)
    assert _variants(rule) == 1


@pytest.mark.parametrize("reduction", [np.max, np.min, np.prod], ids=lambda r: r.__name__)
def test_a_reduction_to_a_number_and_of_a_zero_dimensional_array(reduction: Any) -> None:
    _agree(lambda x: reduction(x), np.array([1.0, 4.0, 4.0]))  # the output: dy itself
    _agree(lambda x: reduction(x) * 3.0, np.array([[2.0, -1.0]]))
    _agree(lambda x: reduction(x) * x, np.array(2.5))  # 0-d: a 0-d cotangent
    _agree(lambda x: np.sum(reduction(x, axis=0) * x), np.array([[1.0, 2.0], [3.0, 4.0]]))


def test_where_sums_back_its_broadcast_branches() -> None:
    def f(x: Any, row: Any, c: Any) -> Any:
        return np.sum(np.where(x > 1.0, x * row, c) * np.array([1.0, 2.0, 3.0]))

    x = np.array([[0.5, 1.5, 2.0], [3.0, 0.2, 1.1]])
    grads = _agree(f, x, np.array([1.0, 2.0, 3.0]), 4.0)
    assert grads[2] == 1.0 + 2.0  # c where x <= 1: the first row's 1, the second's 2


def test_a_guard_with_broadcasting() -> None:
    def f(x: Any, b: Any) -> Any:
        return np.sum((x + b) ** 2) if np.all(x > 0) else np.sum(x - b)

    rule = _strict(f)
    b = np.array([1.0, -2.0])
    _agree(f, np.ones((3, 2)), b, rule=rule)
    assert _agree(f, -np.ones((3, 2)), b, rule=rule)[1].tolist() == [-3.0, -3.0]
    assert _variants(rule) == 2


def test_a_float_output_of_broadcast_float_arithmetic() -> None:
    def f(x: Any, s: Any) -> Any:
        return np.sum(x / s - s) * s

    _agree(f, np.array([1.0, 2.0]), 3.0)
    _agree(f, np.array([[1.0], [2.0]]), np.array(3.0))


# -- the signature in one pass ------------------------------------------------------------------


def _dict_loss(p: Any) -> Any:
    return np.sum(p["w"] * p["b"]) + np.sum(p["b"])


def test_dict_keys_in_another_order_are_the_same_signature() -> None:
    rule = _strict(_dict_loss)
    w, b = np.array([1.0, 2.0]), np.array([3.0, 4.0])
    first = _agree(_dict_loss, {"w": w, "b": b}, rule=rule)
    second = _agree(_dict_loss, {"b": b, "w": w}, rule=rule)
    assert _variants(rule) == 1
    assert first["w"].tolist() == second["w"].tolist() == [3.0, 4.0]
    assert second["b"].tolist() == [2.0, 3.0]


def test_other_names_shapes_kinds_and_dtypes_are_other_signatures() -> None:
    def f(p: Any) -> Any:
        return sum(np.sum(v * v) for v in p.values()) if isinstance(p, dict) else np.sum(p[0])

    rule = _strict(f)
    _agree(f, {"a": np.ones(2), "b": np.ones(2)}, rule=rule)
    _agree(f, {"a": np.ones(2), "c": np.ones(2)}, rule=rule)  # another name
    _agree(f, {"a": np.ones(3), "b": np.ones(2)}, rule=rule)  # another shape
    _agree(f, {"a": 2.0, "b": np.ones(2)}, rule=rule)  # a float leaf
    _agree(f, {"a": np.arange(2), "b": np.ones(2)}, rule=rule)  # an int leaf: general path
    _agree(f, {"a": np.array(1.0), "b": np.ones(2)}, rule=rule)  # a 0-d array, not a float
    _agree(f, [np.ones(2), np.ones(2)], rule=rule)  # a list ...
    _agree(f, (np.ones(2), np.ones(2)), rule=rule)  # ... and a tuple: two structures
    assert _variants(rule) == 8
    grads = pb.gradient(rule, {"a": np.arange(2), "b": np.ones(2)})
    assert grads["a"].dtype == np.float64 and grads["a"].tolist() == [0.0, 2.0]


def test_int_and_float_arrays_and_byte_orders_are_other_signatures() -> None:
    def f(x: Any, n: Any) -> Any:
        return np.sum(x * x) * n

    rule = _strict(f)
    _agree(f, np.array([1.0, 2.0]), 2, rule=rule)  # an int argument: a float value
    _agree(f, np.array([1, 2]), 2.0, rule=rule)  # an int array: converted
    _agree(f, np.array([1.0, 2.0]).astype(">f8"), 2.0, rule=rule)  # big-endian: converted
    _agree(f, np.array([1.0, 2.0]), 2.0, rule=rule)
    assert _variants(rule) == 4
    assert pb.gradient(rule, np.array([3, 4]), 1.0)[0].tolist() == [6.0, 8.0]


def test_traced_arguments_run_the_traced_path() -> None:
    rule = compiled(_dict_loss)

    def outer(x: Any) -> Any:
        grads = pb.gradient(rule, {"w": x * np.ones(2), "b": np.array([3.0, 4.0])})
        return np.sum(grads["w"] * x)  # d/dx Σ b x = Σ b

    assert pb.gradient(trace(outer), 2.0) == 7.0
    inner = compiled(lambda v: np.sum(v * v))
    assert pb.gradient(trace(lambda x: pb.gradient(inner, x * np.ones(2))[0]), 1.5) == 2.0
    assert _variants(rule) == _variants(inner) == 0


def test_cotangents_that_alias_are_copied() -> None:
    rule = compiled(lambda p: p["a"] + p["b"])  # both cotangents are dy itself
    x = np.ones(3)
    _, back = pb.pullback(rule, {"a": x, "b": x})
    dy = np.array([1.0, 2.0, 3.0])
    g = back(dy)
    assert g["a"].tolist() == g["b"].tolist() == [1.0, 2.0, 3.0]
    assert not np.shares_memory(g["a"], dy) and not np.shares_memory(g["a"], g["b"])
    big = np.ones((2, 4))
    view = big[:, :2]
    g2 = pb.gradient(compiled(lambda p: np.sum(p["v"] * 2.0)), {"v": view})["v"]
    assert not np.shares_memory(g2, big) and g2.flags.writeable
    g2[0, 0] = 9.0  # the caller's own
    assert big[0, 0] == 1.0


def test_a_dict_gives_back_the_keys_of_this_call() -> None:
    # 1 and 1.0 are one key (equal, one hash): one signature, and each call's own keys back.
    rule = _strict(lambda p: sum(np.sum(v * v) for v in p.values()))
    first = pb.gradient(rule, {1: np.ones(2)})
    second = pb.gradient(rule, {1.0: np.full(2, 2.0)})
    assert [type(k) for k in first] == [int] and [type(k) for k in second] == [float]
    assert first[1].tolist() == [2.0, 2.0] and second[1.0].tolist() == [4.0, 4.0]
    assert _variants(rule) == 1
