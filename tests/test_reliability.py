"""Regression tests from the reliability audit, one section per kind of failure."""

from __future__ import annotations

import gc
import math
import time
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

import pullback as pb
from pullback import Composition

from .helpers import same


@contextmanager
def no_cycle_collector() -> Iterator[None]:
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


# -- fused float chains of any length give the stages' bits ---------------------------

CHAIN_RULE = st.one_of(
    st.sampled_from([pb.square, pb.exp, pb.log, pb.sin, pb.cos, pb.tanh, pb.sigmoid, pb.relu]),
    st.floats(-3, 3, allow_nan=False).map(pb.scale),
    st.floats(-3, 3, allow_nan=False).map(pb.add_const),
    st.sampled_from([-3, -2, -1, 0, 1, 2, 3, 0.5, -0.5]).map(pb.power),
)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(CHAIN_RULE, min_size=1, max_size=12),
    st.integers(1, 40),
    st.lists(CHAIN_RULE, max_size=70),
    st.floats(-3, 3, allow_nan=False),
)
def test_fused_and_stage_by_stage_results_are_identical_for_chains_of_any_length(
    cycle: list[Any], repeats: int, tail: list[Any], x: float
) -> None:
    # A repeated cycle (chunks share code) and an irregular tail, from one to ~550 stages.
    f = pb.compose(*(cycle * repeats + tail))
    assert isinstance(f, Composition)
    ys, back = f.forward(x)
    gs = back(1.0)
    y, g = f.value_and_gradient(x)
    assert same(y, ys) and same(g, gs)
    assert same(pb.gradient(f, x), gs)
    assert same(pb.value_and_gradient(f, x)[1], gs)
    assert same(pb.pullback(f, x)[1](1.0), gs)


def test_chunk_products_do_not_overflow_where_the_running_product_does_not() -> None:
    k = 10 ** (200 / 64)
    f = pb.compose(*([pb.scale(1 / k)] * 64 + [pb.scale(k * k)] * 64 + [pb.scale(1 / k)] * 64))
    expected = f.forward(1.0)[1](1.0)  # type: ignore[attr-defined]
    assert pb.gradient(f, 1.0) == expected == 0.9999999999999915
    assert pb.value_and_gradient(f, 1.0)[1] == expected
    assert pb.gradient(f, np.ones(2))[0] == expected


# -- building compositions: linear in the nesting, no reference cycles ----------------


def test_nested_compositions_build_in_linear_time() -> None:
    start = time.perf_counter()
    f: Any = pb.exp
    for _ in range(20_000):
        f = pb.compose(pb.sin, f)  # quadratic re-planning took minutes at this depth
    assert isinstance(f, Composition)
    assert pb.gradient(f, 0.3) == f.forward(0.3)[1](1.0)
    assert len(f.stages) == 20_001 and f.stages[-1] is pb.exp
    assert time.perf_counter() - start < 10.0


def test_a_dropped_composition_is_freed_without_the_cycle_collector() -> None:
    with no_cycle_collector():
        f = pb.compose(*([pb.sigmoid, pb.scale(2.0)] * 100))
        assert isinstance(f, Composition) and f.fused is not None
        pb.gradient(f, 0.5)
        pb.value_and_gradient(f, 0.5)
        pb.gradient(f, np.ones(3))
        dead_composition, dead_fused = weakref.ref(f), weakref.ref(f.fused)
        del f
        assert dead_composition() is None and dead_fused() is None


def test_nested_compositions_keep_their_stages_and_fusion() -> None:
    inner = pb.compose(pb.exp, pb.compose(), pb.scale(2.0))
    outer = pb.compose(pb.sin, inner, pb.compose(pb.square))
    assert isinstance(outer, Composition)
    assert outer.stages == (pb.sin, pb.exp, pb.scale(2.0), pb.square)
    assert repr(outer) == "compose(sin, exp, scale(2.0), square)"
    assert outer.fused is not None
    user: Any = pb.compose(pb.sin, pb.compose(lambda x: (x, lambda dy: dy)))
    assert user.fused is None
    assert math.isclose(pb.gradient(outer, 0.7), outer.forward(0.7)[1](1.0), rel_tol=0.0)
