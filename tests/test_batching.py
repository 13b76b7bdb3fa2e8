"""Jacobians in one sweep: a stack of seeds pulled back at once equals one pullback per row.

Every comparison is against the per-row pass (``back(seed)`` for each basis
seed), which the rest of the suite checks against finite differences: the
batched pass must give the same numbers (to 1e-12). Walked: every program of
the array tables' cases (first order, and the recorded derivative code of
second order), every elementwise and binary entry, each entry's batch rule
against its vjp, random traced programs (hypothesis), the fallback for an
entry without a rule, a rule that declines, a lifted rule of yours, and
Jacobians inside traced code.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.typing import NDArray

import pullback as pb
from pullback._batching import (
    Unbatchable,
    backward_batch,
    in_stacks,
    pull_back_batch,
    widest,
)
from pullback._graph import Vjp
from pullback._table import UFUNCS, binary, elementwise, library, linalg, reductions, shapes
from pullback._table.entry import Primitive
from pullback._table.shapes import batched_key
from pullback._trace import TracedRule

from .test_table_arrays import CASES, Case, inputs_of

Array = NDArray[np.float64]

RTOL = 1e-12


def per_row(back: Any, shape: tuple[int, ...]) -> Array:
    """The rows of the Jacobian, one pullback per basis seed (the reference)."""
    n = int(np.prod(shape, dtype=np.int64))
    rows = []
    for i in range(n):
        seed = np.zeros(shape)
        seed.flat[i] = 1.0
        rows.append(np.asarray(back(seed if shape else 1.0), dtype=np.float64))
    return np.stack(rows)


def basis(shape: tuple[int, ...]) -> Array:
    n = int(np.prod(shape, dtype=np.int64))
    return np.reshape(np.eye(n), (n, *shape))


def assert_same_rows(batched: Any, rows: Any) -> None:
    assert np.shape(batched) == np.shape(rows)
    np.testing.assert_allclose(batched, rows, rtol=RTOL, atol=RTOL, equal_nan=True)


def vector_of(out: Any) -> Any:
    """Any traced output (a float, an array, a tuple of them) as one 1-d array."""
    if isinstance(out, list | tuple):
        return np.concatenate([vector_of(o) for o in out])
    return np.reshape(out, (-1,)) if np.ndim(out) else np.stack([out])


def recorded_nodes(back: Any) -> list[Vjp]:
    return [vjp for vjp in back.graph()[2] if type(vjp) is Vjp]


def check_both_ways(f: Callable[[Any], Any], x: Array, seen: set[Primitive] | None = None) -> None:
    """Batched against per-row for ``f`` at ``x`` and for the traced gradient of ``sum(f)``.

    The second graph records the entries' derivative code (scatters, sums
    back, broadcasts): the rows of the Hessian of ``sum(f)``.
    """
    traced = TracedRule(lambda v: vector_of(f(v)))
    y, back = traced(x)
    assert_same_rows(pull_back_batch(back, basis(np.shape(y))), per_row(back, np.shape(y)))
    total = TracedRule(lambda u: np.sum(vector_of(f(u))))
    g, second = TracedRule(lambda v: pb.gradient(total, v))(x)
    assert_same_rows(pull_back_batch(second, basis(np.shape(g))), per_row(second, np.shape(g)))
    if seen is not None:
        for pulled in (back, second):
            seen.update(vjp.primitive for vjp in recorded_nodes(pulled))
            check_rules(pulled)


def check_rules(back: Any) -> None:
    """Each recorded entry's batch rule against its vjp, cotangent by cotangent."""
    check_rules_of(recorded_nodes(back))


def check_rules_of(nodes: list[Vjp]) -> None:
    """:func:`check_rules` for the given nodes."""
    rng = np.random.default_rng(7)
    for vjp in nodes:
        primitive = vjp.primitive
        if primitive.batch is None or primitive.vjps is None:
            continue
        y = np.float64(vjp.y) if type(vjp.y) is float else vjp.y
        gs = rng.normal(size=(3, *np.shape(y)))
        variadic = primitive.arity < 0
        for i, p in enumerate(vjp.parents):
            rule = primitive.batch[0 if variadic else i]
            f = primitive.vjps[0 if variadic else i]
            if p < 0 or rule is None or f is None:
                continue
            head = (i,) if variadic else ()
            with np.errstate(all="ignore"):  # the entries' edges (nan at a pole) on purpose
                got = rule(*head, gs, y, *vjp.xs, **vjp.params)
                if got is NotImplemented:  # only indexing declines (apart index arrays)
                    assert primitive in (shapes.INDEX, shapes.SCATTER)
                    continue
                rows = [
                    np.broadcast_to(f(*head, gs[k], y, *vjp.xs, **vjp.params), np.shape(vjp.xs[i]))
                    for k in range(3)
                ]
            assert np.shape(got) == (3, *np.shape(vjp.xs[i])), primitive.name
            assert_same_rows(got, np.stack(rows))


def case_functions(c: Case) -> list[tuple[Callable[[Any], Any], Array]]:
    """The case as a function of each of its inputs in turn, the others held."""
    _, xs = inputs_of(c, 0)
    out: list[tuple[Callable[[Any], Any], Array]] = []
    for i, x in enumerate(xs):

        def f(v: Any, i: int = i, xs: Sequence[Array] = xs) -> Any:
            return c.f(*xs[:i], v, *xs[i + 1 :])

        out.append((f, x))
    return out


def all_cases() -> list[Any]:
    return [
        pytest.param(c, id=f"{function.__name__}-{i}")
        for function, cases in CASES.items()
        for i, c in enumerate(cases)
    ]


UNARY_ENTRIES = sorted(set(elementwise.UNARY.values()), key=lambda e: e.name)
LIBRARY_ENTRIES = [library.SIGMOID, library.RELU, library.SOFTPLUS]
BINARY_ENTRIES = sorted(set(binary.BINARY.values()), key=lambda e: e.name)
X_UNIT = np.array([0.15, 0.4, -0.35, 0.8, -0.6, 0.55])  # inside every domain but arccosh's
X_AB = np.array([0.7, -1.3, 1.9, 0.45, -0.8, 1.2, 0.6, -1.7, 1.1])  # a (2, 3) and b (3,)


W_LAYER = np.linspace(-1.0, 1.0, 12).reshape(3, 4)
ONE_HOT = np.eye(4)[[1, 3]]
LIBRARY_PROGRAMS: list[tuple[Callable[[Any], Any], Array]] = [
    (lambda v: pb.ops.logsumexp(np.reshape(v, (2, 3)), axis=1), X_UNIT),
    (lambda v: pb.ops.logsumexp(np.reshape(v, (2, 3)), axis=0, keepdims=True), X_UNIT),
    (lambda v: pb.ops.logsumexp(v), X_UNIT),
    (lambda v: pb.ops.softmax(np.reshape(v, (2, 3)), axis=0), X_UNIT),
    (lambda v: pb.ops.log_softmax(np.reshape(v, (2, 3))), X_UNIT),
    (lambda v: pb.ops.affine(np.reshape(v, (2, 3)), W_LAYER, np.arange(4.0)), X_UNIT),
    (lambda v: pb.ops.affine(np.ones((2, 3)), np.reshape(v, (3, 2)), v[:2]), X_UNIT),
    (lambda v: pb.ops.softmax_cross_entropy(np.reshape(v[:8], (2, 4)), ONE_HOT), X_AB),
    (lambda v: pb.ops.softmax_cross_entropy(ONE_HOT * 2.0, np.reshape(v[:8], (2, 4))), X_AB),
    (lambda v: pb.ops.softmax_cross_entropy(np.reshape(v[:8], (2, 4)), np.array([1, 3])), X_AB),
]


@pytest.mark.parametrize("program", range(len(LIBRARY_PROGRAMS)))
def test_every_network_entry_batched_is_per_row(program: int) -> None:
    f, x = LIBRARY_PROGRAMS[program]
    check_both_ways(f, x)


@pytest.mark.parametrize("c", all_cases())
def test_every_case_of_the_array_tables_batched_is_per_row(c: Case) -> None:
    for f, x in case_functions(c):
        check_both_ways(f, x)


def unary_program(entry: Primitive, v: Any) -> Any:
    return entry(v) * entry(v[1])  # an array operand, and a float one: a (B,) stack


def broadcast_program(entry: Primitive, v: Any) -> Any:
    return entry(np.reshape(v[:6], (2, 3)), v[6:] + 2.0)  # (2, 3) against (3,)


def float_program(entry: Primitive, v: Any) -> Any:
    return entry(v[:6] + 2.0, v[7])  # an array against a float


@pytest.mark.parametrize("entry", UNARY_ENTRIES + LIBRARY_ENTRIES, ids=lambda e: e.name)
def test_every_elementwise_entry_batched_is_per_row(entry: Primitive) -> None:
    check_both_ways(partial(unary_program, entry), X_UNIT)


@pytest.mark.parametrize("entry", BINARY_ENTRIES, ids=lambda e: e.name)
def test_every_binary_entry_batched_is_per_row(entry: Primitive) -> None:
    check_both_ways(partial(broadcast_program, entry), X_AB)
    check_both_ways(partial(float_program, entry), X_AB)


def test_each_batch_rule_is_its_vjp_cotangent_by_cotangent_and_every_rule_is_walked() -> None:
    seen: set[Primitive] = set()
    for cases in CASES.values():
        for c in cases:
            for f, x in case_functions(c):
                check_both_ways(f, x, seen)
    for entry in UNARY_ENTRIES + LIBRARY_ENTRIES:
        check_both_ways(partial(unary_program, entry), X_UNIT, seen)
    for entry in BINARY_ENTRIES:
        check_both_ways(partial(broadcast_program, entry), X_AB, seen)
        check_both_ways(partial(float_program, entry), X_AB, seen)
    for f, x in LIBRARY_PROGRAMS:
        check_both_ways(f, x, seen)
    # The network entries, their nodes made directly (with both kinds of labels).
    one_pass = [
        (library.AFFINE, (np.reshape(X_UNIT, (2, 3)), W_LAYER, np.arange(4.0))),
        (library.RELU, (X_UNIT - 0.5,)),
        (library.SOFTMAX_CROSS_ENTROPY, (np.reshape(X_AB[:8], (2, 4)), ONE_HOT)),
        (library.SOFTMAX_CROSS_ENTROPY, (np.reshape(X_AB[:8], (2, 4)), np.array([1, 3]))),
    ]
    for entry, xs in one_pass:
        # Class indices are integers: a constant operand, as tracing makes them.
        parents = tuple(i if np.asarray(x).dtype.kind == "f" else -1 for i, x in enumerate(xs))
        check_rules_of([Vjp(entry, entry.forward(*xs), xs, {}, parents)])
        seen.add(entry)
    with_rules = {
        p
        for module in (elementwise, binary, library, linalg, reductions, shapes)
        for p in vars(module).values()
        if isinstance(p, Primitive) and p.batch is not None
    } | {p for p in UFUNCS.values() if p.batch is not None}
    assert with_rules <= seen, sorted(p.name for p in with_rules - seen)


# -- random traced programs ----------------------------------------------------------------

M = np.random.default_rng(3).normal(size=(6, 6)) / 2.0
STEPS: dict[str, Callable[[Any], Any]] = {
    "sin": np.sin,
    "exp": lambda v: np.exp(0.3 * v),
    "times reversed": lambda v: v * v[::-1],
    "matmul": lambda v: M @ v,
    "vecmat": lambda v: v @ M,
    "cumsum": lambda v: np.cumsum(v) / 3.0,
    "column sums": lambda v: np.concatenate([np.sum(np.reshape(v, (2, 3)), axis=0), v[:3]]),
    "where": lambda v: np.where(v > 0, v, 0.5 * v),
    "maximum": lambda v: np.maximum(v, 0.5 * v[::-1]),
    "outer": lambda v: np.ravel(np.outer(v[:2], v[2:5])),
    "ratio": lambda v: v / (1.5 + v * v),
    "transpose": lambda v: np.ravel(np.reshape(v, (2, 3)).T),
    "gather": lambda v: v[[0, 0, 2, 3, 5, 1]],
    "broadcast": lambda v: np.ravel(np.broadcast_to(v[:3], (2, 3)) * v[3:]),
    "pad": lambda v: np.pad(v[1:5], 1),
    "stack": lambda v: np.ravel(np.stack([v[:3], v[3:] ** 2])),
    "squared norm": lambda v: v * np.sum(v * v),
    "tensordot": lambda v: np.tensordot(np.reshape(v, (2, 3)), M[:3, :3], axes=1).ravel(),
    "einsum": lambda v: np.einsum("ij,jk->ik", np.reshape(v, (2, 3)), M[:3, :3]).ravel(),
}


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.sampled_from(sorted(STEPS)), min_size=1, max_size=5),
    st.lists(st.floats(-1.5, 1.5), min_size=6, max_size=6),
)
def test_random_programs_batched_is_per_row(steps: list[str], values: list[float]) -> None:
    def program(v: Any) -> Any:
        for name in steps:
            v = STEPS[name](v)
        return v

    x = np.array(values)
    check_both_ways(program, x)
    reverse = pb.jacobian(pb.trace(program), x, mode="reverse")
    forward = pb.jacobian(pb.trace(program), x, mode="forward")
    np.testing.assert_allclose(forward, reverse, rtol=1e-10, atol=1e-12)


# -- the fallbacks ---------------------------------------------------------------------------

TWICE = Primitive("twice", lambda x: 2.0 * x, (lambda g, y, x: 2.0 * g,), 1)  # no batch rule


def test_an_entry_without_a_batch_rule_runs_its_vjp_per_cotangent() -> None:
    assert TWICE.batch is None
    x = np.array([0.3, -1.2, 2.0])
    f = pb.trace(lambda v: TWICE(np.sin(v)) * v[0])
    _y, back = f(x)
    assert_same_rows(pull_back_batch(back, basis((3,))), per_row(back, (3,)))
    expected = np.diag(2.0 * np.cos(x)) * x[0]
    expected[:, 0] += 2.0 * np.sin(x)
    np.testing.assert_allclose(pb.jacobian(f, x), expected, rtol=1e-14)


def test_a_rule_that_declines_falls_back_per_cotangent() -> None:
    key = ([0, 1, 1], slice(None), [1, 0, 1])  # index arrays apart: NumPy moves their axes first
    assert batched_key(key) is None
    x = np.arange(12.0).reshape(2, 3, 2) / 10.0
    f = pb.trace(lambda v: np.sin(v[key]))
    y, back = f(x)
    assert_same_rows(pull_back_batch(back, basis(np.shape(y))), per_row(back, np.shape(y)))
    j = pb.jacobian(f, x)
    assert j.shape == (3, 3, 2, 3, 2)
    assert j[1, 2, 1, 2, 0] == pytest.approx(np.cos(x[1, 2, 0]))


def cube(x: Any) -> tuple[Any, Callable[[Any], Any]]:
    """A rule of yours: x³ and its pullback."""
    return x**3, lambda g: 3.0 * x**2 * g


def test_a_lifted_rule_of_yours_is_pulled_back_per_cotangent() -> None:
    x = np.array([0.5, -1.5, 2.0])
    once = pb.trace(lambda v: pb.lift(cube)(np.sin(v)))
    _, back = once(x)
    assert_same_rows(pull_back_batch(back, basis((3,))), per_row(back, (3,)))
    np.testing.assert_allclose(
        pb.jacobian(once, x), np.diag(3.0 * np.sin(x) ** 2 * np.cos(x)), rtol=1e-14
    )
    twice = pb.trace(lambda v: pb.lift(cube)(pb.lift(cube)(v)))  # x⁹: an operand of unknown shape
    _y, back = twice(x)
    with pytest.raises(Unbatchable):
        pull_back_batch(back, basis((3,)))
    np.testing.assert_allclose(pb.jacobian(twice, x), np.diag(9.0 * x**8), rtol=1e-14)


def test_a_pullback_that_is_not_a_traced_graph_is_unbatchable() -> None:
    _y, back = pb.pullback(pb.square, np.array([1.0, 2.0]))
    with pytest.raises(Unbatchable):
        pull_back_batch(back, np.eye(2))


def test_large_jacobians_are_pulled_back_in_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    import pullback._batching as batching

    f = pb.trace(lambda v: np.cumsum(np.sin(v)) * v[::-1])
    x = np.linspace(-1.0, 1.0, 9)
    whole = pb.jacobian(f, x)
    monkeypatch.setattr(batching, "_BUDGET", 20)  # two rows of nine per chunk
    calls: list[int] = []
    _y, back = f(x)

    def pull(seeds: Any) -> Any:
        calls.append(len(seeds))
        return pull_back_batch(back, seeds)

    assert widest(back) == 9
    assert_same_rows(in_stacks(pull, (9,), widest(back)), per_row(back, (9,)))
    assert calls == [2, 2, 2, 2, 1]
    np.testing.assert_array_equal(pb.jacobian(f, x), whole)


def test_chunks_are_sized_by_the_widest_cotangent_of_the_graph(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import pullback._batching as batching

    # R^4 -> R^4 through a 4 x 25 intermediate: a chunk of c seeds holds c * 100 numbers there.
    w = np.linspace(0.1, 1.0, 25)
    f = pb.trace(lambda v: np.sum(np.sin(np.outer(v, w)), axis=1))
    x = np.array([0.3, -0.2, 0.9, 0.5])
    whole = pb.jacobian(f, x)
    np.testing.assert_allclose(whole, np.diag(np.cos(np.outer(x, w)) @ w), rtol=1e-13)
    _, back = f(x)
    assert widest(back) == 100
    monkeypatch.setattr(batching, "_BUDGET", 250)  # two seeds per chunk, not all four
    calls: list[int] = []

    def pull(seeds: Any) -> Any:
        calls.append(len(seeds))
        return pull_back_batch(back, seeds)

    assert_same_rows(in_stacks(pull, (4,), widest(back)), whole)
    assert calls == [2, 2]
    assert_same_rows(pb.jacobian(f, x), whole)


def test_a_constant_output_and_an_unused_input_give_zero_rows() -> None:
    _y, back = pb.trace(lambda v: np.ones(3) * 2.0)(np.array([1.0, 2.0]))
    assert np.array_equal(pull_back_batch(back, basis((3,))), np.zeros((3, 2)))
    parents: list[Any] = [(), ()]
    backs: list[Any] = [None, None]
    assert backward_batch(parents, backs, -1, (1.0, 2.0), np.eye(2)) == [None, None]


def test_each_operation_stack_is_released_once_pulled_back() -> None:
    f = pb.trace(lambda v: np.sum(np.sin(v) * v) * np.cos(v))
    x = np.array([0.3, -1.2, 2.0])
    back: Any = f(x)[1]  # the tracer's pullback, whose graph the batched pass reads
    root, parents, backs, leaves = back.graph()
    table = backward_batch(parents, backs, root, leaves, basis((3,)))
    assert len(table) == root + 1 > len(leaves)
    assert all(stack is None for stack in table[len(leaves) :])  # only the answer is held
    assert_same_rows(table[0], per_row(back, (3,)))


# -- the public functions ------------------------------------------------------------------


def test_jacobian_and_hessian_equal_the_per_row_results() -> None:
    rng = np.random.default_rng(0)
    w, b, x = rng.normal(size=(5, 5)), rng.normal(size=5), rng.normal(size=5)
    f = pb.trace(lambda v: np.tanh(w @ v + b) * v + np.sin(v))
    _y, back = f(x)
    assert_same_rows(pb.jacobian(f, x), per_row(back, (5,)))
    assert_same_rows(pb.jacobian(f, x, mode="forward"), per_row(back, (5,)))
    rosenbrock = pb.trace(
        lambda v: np.sum(100.0 * (v[1:] - v[:-1] ** 2) ** 2 + (1.0 - v[:-1]) ** 2)
    )
    _g, second = pb.trace(lambda v: pb.gradient(rosenbrock, v))(x)
    assert_same_rows(pb.hessian(rosenbrock, x), per_row(second, (5,)))


def _central_jacobian(g: Callable[[Array], Any], x: Array, h: float = 1e-5) -> Array:
    """Columns ``(g(x + h e_j) - g(x - h e_j)) / 2h``: the Jacobian of ``g`` by differences."""
    columns = []
    for j in range(x.size):
        e = np.zeros_like(x)
        e[j] = h
        columns.append((np.asarray(g(x + e)) - np.asarray(g(x - e))) / (2 * h))
    return np.stack(columns, axis=-1)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_hessian_against_differences_of_the_gradient_and_forward_over_reverse(
    seed: int,
) -> None:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=4)
    w = rng.normal(size=(4, 4))
    f = pb.trace(lambda v: np.sum(np.sin(w @ v) * v) + np.sum(v**2) * v[0])
    h = pb.hessian(f, x)
    np.testing.assert_allclose(h, _central_jacobian(lambda p: pb.gradient(f, p), x), rtol=1e-6)
    gradient_of = pb.trace(lambda v: pb.gradient(f, v))
    np.testing.assert_allclose(h, pb.jacobian(gradient_of, x, mode="forward"), rtol=1e-12)
    # Nested (a traced x): the third derivative, d/dx of sum(H(x)), against differences of H.
    third = pb.gradient(pb.trace(lambda v: np.sum(pb.hessian(f, v))), x)
    expected = _central_jacobian(lambda p: np.sum(pb.hessian(f, p)), x)
    np.testing.assert_allclose(third, expected, rtol=1e-6, atol=1e-8)


def test_a_float_input_and_a_matrix_output() -> None:
    f = pb.trace(lambda t: np.outer(np.stack([t, t * t]), np.stack([1.0, np.sin(t)])))
    t = 0.7
    expected = np.array(
        [[1.0, np.sin(t) + t * np.cos(t)], [2 * t, 2 * t * np.sin(t) + t * t * np.cos(t)]]
    )
    np.testing.assert_allclose(pb.jacobian(f, t, mode="reverse"), expected, rtol=1e-14)
    np.testing.assert_allclose(pb.jacobian(f, t, mode="forward"), expected, rtol=1e-14)


def test_nested_jacobians_of_traced_inputs_still_work() -> None:
    f = pb.trace(lambda v: np.sin(v) * v[0])
    x = np.array([0.4, -0.9, 1.3])
    jj = pb.jacobian(pb.trace(lambda v: pb.jacobian(f, v)), x)
    # d/dx_k of J[i, j] = d/dx_k (cos(x_i) x_0 δij + sin(x_i) δj0)
    expected = np.zeros((3, 3, 3))
    for i in range(3):
        expected[i, i, i] += -np.sin(x[i]) * x[0]
        expected[i, i, 0] += np.cos(x[i])
        expected[i, 0, i] += np.cos(x[i])
    np.testing.assert_allclose(jj, expected, rtol=1e-13, atol=1e-15)
    inner_hessian = pb.gradient(pb.trace(lambda v: np.sum(pb.hessian(pb.trace(np.sum), v * v))), x)
    np.testing.assert_array_equal(inner_hessian, np.zeros(3))


def test_a_view_of_a_stack_is_never_written_into() -> None:
    # The scatter's batched rule hands back a view of the stack it is given (here the
    # seeds themselves, passed on by the sums of the gradient's graph): the sums the pass
    # adds into in place are its own, and the rows it returns are a copy.
    dy = np.zeros(3)
    seeds = basis((4,))
    rules = shapes.SCATTER.batch
    assert rules is not None and rules[0] is not None
    view = rules[0](seeds, None, dy, key=(slice(1, None),), shape=(4,))
    assert np.shares_memory(view, seeds)
    f = pb.trace(lambda u: np.sum(u[1:] ** 2) + np.sum(u[:-1] * u[1:]))
    x = np.array([0.5, -1.0, 2.0, 0.25])
    _g, second = pb.trace(lambda v: pb.gradient(f, v))(x)
    assert {"index", "scatter"} <= {vjp.primitive.name for vjp in recorded_nodes(second)}
    before = seeds.copy()
    rows = pull_back_batch(second, seeds)
    np.testing.assert_array_equal(seeds, before)
    assert not np.shares_memory(rows, seeds)
    expected = np.diag([0.0, 2.0, 2.0, 2.0]) + np.eye(4, k=1) + np.eye(4, k=-1)
    np.testing.assert_array_equal(rows, expected)
    np.testing.assert_array_equal(pb.hessian(f, x), expected)
    assert_same_rows(rows, per_row(second, (4,)))
