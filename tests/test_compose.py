"""compose: order, identity, nesting, names, errors by stage, long chains, the fused path."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import pullback as pb
from pullback import Composition

from .helpers import same


def as_composition(f: object) -> Composition[Any, Any]:
    assert isinstance(f, Composition)
    return f


def cube(x: float) -> tuple[float, Callable[[float], float]]:
    def cube_pullback(dy: float) -> float:
        return dy * 3.0 * x * x

    return x**3, cube_pullback


def test_order_is_mathematical() -> None:
    f = pb.compose(pb.add_const(1.0), pb.scale(2.0))  # 2x + 1
    assert f(3.0)[0] == 7.0
    g = pb.compose(pb.scale(2.0), pb.add_const(1.0))  # 2(x + 1)
    assert g(3.0)[0] == 8.0


def test_identity() -> None:
    ident = pb.compose()
    y, back = ident(2.5)
    assert y == 2.5 and back(3.0) == 3.0
    assert pb.gradient(ident, 2.0) == 1.0
    x = np.arange(3.0)
    assert np.array_equal(ident(x)[0], x)
    assert repr(ident) == "compose()"
    with pytest.raises(TypeError, match=r"^compose\(\): expected a value"):
        ident("a")  # type: ignore[type-var]


def test_nesting_flattens_and_keeps_meaning() -> None:
    inner = pb.compose(pb.exp, pb.square)
    outer = pb.compose(pb.sin, inner, pb.scale(0.5))
    flat = pb.compose(pb.sin, pb.exp, pb.square, pb.scale(0.5))
    assert isinstance(outer, Composition) and isinstance(flat, Composition)
    assert outer.stages == flat.stages
    assert repr(outer) == "compose(sin, exp, square, scale(0.5))"
    assert outer(0.7)[0] == flat(0.7)[0]
    assert pb.gradient(outer, 0.7) == pb.gradient(flat, 0.7)


def test_user_rules_compose_with_library_rules() -> None:
    f = pb.compose(pb.exp, cube, pb.scale(2.0))  # exp((2x)^3)
    x = 0.4
    expected = math.exp((2 * x) ** 3) * 3 * (2 * x) ** 2 * 2
    assert pb.gradient(f, x) == pytest.approx(expected, rel=1e-14)
    pb.check_rule(f, x)
    assert "cube" in repr(f)


def test_lambda_rules_are_accepted() -> None:
    def double(x: float) -> tuple[float, Callable[[float], float]]:
        return 2 * x, lambda dy: 2 * dy

    f = pb.compose(double, pb.exp)
    assert pb.gradient(f, 0.0) == 2.0


def test_non_callable_is_refused_when_compose_is_called() -> None:
    with pytest.raises(TypeError, match=r"^compose: argument 2 is not a rule \(got int 3\)"):
        pb.compose(pb.exp, 3)  # type: ignore[call-overload]
    with pytest.raises(TypeError, match=r"^compose: argument 1 is not a rule \(got str"):
        pb.compose("exp")  # type: ignore[call-overload]


def test_a_failure_inside_names_its_stage() -> None:
    def broken(x: float) -> tuple[float, Callable[[float], float]]:
        raise ValueError("no good")

    f = pb.compose(pb.power(-1), broken, pb.exp, pb.scale(-1))
    with pytest.raises(ValueError, match=r"^stage 3 of 4: broken: no good$"):
        f(1.0)
    with pytest.raises(ValueError, match=r"^stage 3 of 4: broken: no good$"):
        pb.gradient(f, 1.0)


def test_bad_input_names_the_first_stage() -> None:
    f = pb.compose(pb.power(-1), pb.add_const(1), pb.exp, pb.scale(-1))
    with pytest.raises(TypeError, match=r"^stage 1 of 4: scale\(-1\.0\): expected a value"):
        f("1.0")  # type: ignore[type-var]


def test_a_stage_that_returns_garbage_is_named() -> None:
    def not_a_rule(x: float) -> float:
        return x

    f: Any = pb.compose(pb.exp, not_a_rule)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"^stage 1 of 2: not_a_rule: cannot unpack"):
        f(1.0)


def test_a_failing_pullback_names_its_stage() -> None:
    def bad_back(x: float) -> tuple[float, Callable[[float], float]]:
        def bad_back_pullback(dy: float) -> float:
            raise ArithmeticError("backward broke")

        return x, bad_back_pullback

    f = pb.compose(pb.exp, bad_back, pb.sin)
    _, back = f(1.0)
    with pytest.raises(ArithmeticError, match=r"^stage 2 of 3: bad_back: backward broke$"):
        back(1.0)


def test_compositions_are_immutable() -> None:
    f = pb.compose(pb.exp)
    with pytest.raises(AttributeError):
        f.stages = ()  # type: ignore[misc]


@pytest.mark.parametrize("n", [10, 1000, 100_000])
def test_long_chains_run_in_a_loop(n: int) -> None:
    cycle = [pb.sigmoid, pb.scale(4.0), pb.add_const(-2.0)]
    stages = [cycle[i % 3] for i in range(n)][::-1]  # outermost first
    f = as_composition(pb.compose(*stages))
    # The chain rule by hand, in a loop: x -> 2 tanh(x/2) keeps values bounded.
    x, d = 1.0, 1.0
    for i in range(n):
        op: Any = cycle[i % 3]
        y, back = op(x)
        d *= back(1.0)
        x = y
    value, grad = pb.value_and_gradient(f, 1.0)
    assert value == pytest.approx(x, rel=1e-12)
    assert grad == pytest.approx(d, rel=1e-9)
    # The stage-by-stage path: no recursion either.
    y, back = f.forward(1.0)
    assert back(1.0) == pytest.approx(d, rel=1e-9)


def test_long_chain_of_user_rules_is_not_recursive() -> None:
    def halve(x: float) -> tuple[float, Callable[[float], float]]:
        return x * 0.5, halve_pullback

    def halve_pullback(dy: float) -> float:
        return dy * 0.5

    f = pb.compose(*([halve] * 100_000))
    assert pb.gradient(f, 1.0) == 0.0  # 0.5**100000 underflows, without RecursionError
    f = pb.compose(*([halve] * 1000))
    assert pb.gradient(f, 1.0) == 0.5**1000


FUSIBLE = [
    pb.square, pb.exp, pb.log, pb.sin, pb.cos, pb.tanh, pb.sigmoid, pb.relu,
    pb.scale(-1.5), pb.add_const(0.25), pb.power(3), pb.power(-2), pb.power(0.5),
    pb.power(0), pb.power(1), pb.power(12), pb.scale(math.inf),
]  # fmt: skip


@pytest.mark.parametrize("rule", FUSIBLE, ids=repr)
@pytest.mark.parametrize(
    "x", [0.0, -0.0, 1e-300, 0.3, -0.7, 2.0, 40.0, -40.0, 710.0, -1000.0, math.inf, math.nan]
)
def test_fused_path_gives_the_same_bits_as_the_stages(rule: object, x: float) -> None:
    chain = as_composition(pb.compose(pb.scale(1.0), rule, pb.scale(1.0)))  # type: ignore[arg-type]
    fused_value, fused_grad = chain.value_and_gradient(x)
    y, back = chain.forward(x)
    assert same(fused_value, y)
    assert same(fused_grad, back(1.0))
    assert same(pb.gradient(chain, x), back(1.0))
    with np.errstate(all="raise"):
        ya, _backa = chain(np.array([x]))
        assert ya[0] == pytest.approx(y, rel=5e-16, abs=0, nan_ok=True)


def test_fused_pullback_is_the_derivative_times_the_cotangent() -> None:
    f = as_composition(pb.compose(pb.sin, pb.exp))
    _y, back = f(0.3)
    assert back(2.0) == 2.0 * back(1.0)
    assert back(1.0) == f.forward(0.3)[1](1.0)


ARRAY_POINTS = np.array(
    [0.0, -0.0, 1e-300, 0.3, -0.7, 2.0, 40.0, -40.0, 710.0, -1000.0, math.inf, -math.inf, math.nan]
)


@pytest.mark.parametrize("rule", FUSIBLE, ids=repr)
def test_fused_array_path_matches_the_stages(rule: object) -> None:
    chain = as_composition(pb.compose(pb.scale(1.0), rule, pb.add_const(0.0)))  # type: ignore[arg-type]
    x = ARRAY_POINTS.copy()
    x.setflags(write=False)
    with np.errstate(all="raise"):
        values, grads = chain.value_and_gradient(x)
        y, back = chain.forward(x)
        stage_grads = back(np.ones_like(x))
    assert same(values, y)  # each stage's value is the rule's, bit for bit
    assert same(grads, stage_grads)  # and the products are taken in the same order
    assert same(pb.gradient(chain, x), grads)
    assert same(pb.gradient(rule, x), pb.gradient(rule, x))  # type: ignore[arg-type]


def test_fused_array_pullback_checks_its_cotangent() -> None:
    chain = pb.compose(pb.sin, pb.exp)
    x = np.linspace(0.0, 1.0, 4)
    _, typed_back = chain(x)
    back: Any = typed_back  # the wrong calls below are type errors too
    assert np.array_equal(back(np.full(4, 2.0)), 2.0 * back(np.ones(4)))
    with pytest.raises(TypeError, match=r"the value is an array of shape \(4,\), so the cotangent"):
        back(2.0)
    with pytest.raises(ValueError, match=r"the cotangent has shape \(3,\) but the value"):
        back(np.ones(3))
    with pytest.raises(TypeError, match=r"^the pullback of compose\(sin, exp\): expected a value"):
        back("2")
    back_float: Any = chain(0.5)[1]
    with pytest.raises(TypeError, match=r"the value is a float, so the cotangent must be a float"):
        back_float(np.ones(2))


def test_long_chains_with_different_constants_share_compiled_code() -> None:
    rng = np.random.default_rng(5)
    scales = [pb.scale(float(c)) for c in rng.uniform(0.5, 1.5, 200)]
    stages: list[Any] = []
    for s in scales:
        stages += [s, pb.sigmoid]
    chain = as_composition(pb.compose(*stages))
    fused_value, fused_grad = chain.value_and_gradient(0.3)
    y, back = chain.forward(0.3)
    assert fused_value == pytest.approx(y, rel=1e-15)
    assert fused_grad == pytest.approx(back(1.0), rel=1e-12)
    assert chain.fused is not None
    chunks = chain.fused.value_and_gradient.chunks  # type: ignore[attr-defined]
    assert len(chunks) > 1
    assert len({c.__code__ for c in chunks[:-1]}) == 1  # one code object, many constants
    assert len({c.__defaults__ for c in chunks}) == len(chunks)


def test_fused_arrays_regressions_found_by_fuzzing() -> None:
    # exp as the last derivative-bearing stage: its derivative is its value, and a
    # constant applied to the derivative afterwards must not change the value.
    chain = as_composition(pb.compose(pb.exp, pb.scale(0.0)))
    values, grads = chain.value_and_gradient(np.zeros(2))
    assert np.array_equal(values, [1.0, 1.0]) and np.array_equal(grads, [0.0, 0.0])
    # Folding tiny constants would underflow to 0 and make 0 * inf = nan; the stages give inf.
    c = 1.0236415868366425e-243
    chain = as_composition(pb.compose(pb.log, pb.scale(c), pb.scale(c)))
    _, grads = chain.value_and_gradient(np.zeros(1))
    _, back = chain.forward(np.zeros(1))
    assert same(grads, back(np.ones(1))) and grads[0] == math.inf
