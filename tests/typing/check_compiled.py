"""Type tests for ``compiled`` (checked by ``mypy --strict``, never run)."""

from __future__ import annotations

from typing import assert_type

import numpy as np

import pullback as pb
from pullback import Array, MultiRule, Pullback, Rule


def price(apple: float, count: float, tax: float) -> float:
    return apple * count * tax


def norm(w: Array) -> float:
    return float(np.sum(w * w))


def loss(params: dict[str, Array], x: Array) -> float:
    return pb.ops.sum(x @ params["w"])


def compiled_types() -> None:
    w: Array = np.ones(3)
    assert_type(pb.compiled(norm), Rule[Array, float])
    assert_type(pb.compiled(price), MultiRule[float, float, float, float])
    assert_type(pb.gradient(pb.compiled(norm), w), Array)
    assert_type(pb.gradient(pb.compiled(price), 100.0, 2.0, 1.1), tuple[float, float, float])
    params: dict[str, Array] = {"w": np.ones((3, 2))}
    assert_type(
        pb.gradient(pb.compiled(loss), params, np.ones((4, 3))), tuple[dict[str, Array], Array]
    )
    assert_type(pb.compiled(pb.trace(norm)), Rule[Array, float])  # a traced rule keeps its type
    assert_type(pb.pullback(pb.compiled(norm), w), tuple[float, Pullback[float, Array]])
    assert_type(pb.value_and_gradient(pb.compiled(norm), w), tuple[float, Array])
    pb.gradient(pb.compiled(price), 100.0, 2.0)  # type: ignore[arg-type, call-arg]
    pb.gradient(pb.compiled(norm), 1.0)  # type: ignore[arg-type]
    pb.compiled(3.0)  # type: ignore[arg-type]
