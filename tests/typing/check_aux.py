"""Type tests for ``withgradient`` (checked by ``mypy --strict``, never run)."""

from __future__ import annotations

from typing import assert_type

import numpy as np

import pullback as pb
from pullback import Array


def loss_and_accuracy(w: Array) -> tuple[float, float]:
    return float(np.sum(w)), 1.0


def two_arguments(w: Array, b: float) -> tuple[float, dict[str, Array]]:
    return float(np.sum(w)) + b, {"w": w}


def withgradient_types() -> None:
    w = np.ones(3)
    assert_type(pb.withgradient(pb.trace(loss_and_accuracy), w), tuple[tuple[float, float], Array])
    assert_type(
        pb.withgradient(pb.trace(two_arguments), w, 2.0),
        tuple[tuple[float, dict[str, Array]], tuple[Array, float]],
    )
    pb.withgradient(pb.trace(loss_and_accuracy), 1.0)  # type: ignore[misc]
