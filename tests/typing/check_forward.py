"""Type tests for forward mode, checked by ``mypy --strict`` (never run).

``assert_type`` lines state what mypy must infer; a line ending in
``# type: ignore[code]`` must be an error of that code (mypy --strict warns
about an unused ignore, so an error that goes missing fails the check).
"""

from __future__ import annotations

from typing import assert_type

import numpy as np

import pullback as pb
from pullback import Array
from pullback._forward import MultiPushforward, Pushforward

from .check_public_api import cube, row_sum


def pushforwards() -> None:
    a: Array = np.zeros(3)
    assert_type(pb.pushforward(pb.exp, 1.0), tuple[float, Pushforward[float, float]])
    assert_type(pb.pushforward(pb.exp, a), tuple[Array, Pushforward[Array, Array]])
    y, push = pb.pushforward(pb.sin, 0.5)
    assert_type(y, float)
    assert_type(push(1.0), float)
    _ya, push_array = pb.pushforward(pb.tanh, a)
    assert_type(push_array(a), Array)
    _ym, push_mul = pb.pushforward(pb.mul, 2.0, 3.0)
    assert_type(push_mul, MultiPushforward[float, float, float])
    assert_type(push_mul(1.0, 0.0), float)
    assert_type(pb.pushforward(pb.div, a, a)[1](a, a), Array)
    assert_type(pb.pushforward(cube, 1.0), tuple[float, Pushforward[float, float]])
    chain = pb.compose(pb.power(-1), pb.add_const(1), pb.exp, pb.scale(-1))
    assert_type(pb.pushforward(chain, 1.0)[1](1.0), float)
    assert_type(pb.pushforward(pb.compose(row_sum, pb.exp), a)[1](a), Array)


def jvps() -> None:
    a: Array = np.zeros(3)
    assert_type(pb.jvp(pb.exp, (1.0,), (1.0,)), tuple[float, float])
    assert_type(pb.jvp(pb.exp, (a,), (a,)), tuple[Array, Array])
    assert_type(pb.jvp(pb.mul, (2.0, 3.0), (1.0, 0.0)), tuple[float, float])
    assert_type(pb.jvp(pb.affine, (a, a, a), (a, a, a)), tuple[Array, Array])
    assert_type(pb.jvp(cube, (1.0,), (1.0,)), tuple[float, float])


def hvps() -> None:
    a: Array = np.zeros(3)
    assert_type(pb.hvp(pb.sin, 1.0, 1.0), float)
    assert_type(pb.hvp(pb.tanh, a, a), Array)
    assert_type(pb.hvp(pb.compose(pb.exp, pb.square), 0.5, 1.0), float)
    assert_type(pb.hvp(cube, 1.0, 1.0), float)


def expected_errors() -> None:
    a: Array = np.zeros(3)
    # A string where a value belongs.
    pb.pushforward(pb.exp, "1.0")  # type: ignore[arg-type, type-var]
    # A float pushforward given an array tangent.
    _y, push = pb.pushforward(pb.exp, 1.0)
    push(a)  # type: ignore[arg-type]
    # An array tangent for a float argument, in jvp and hvp.
    pb.jvp(pb.exp, (1.0,), (a,))  # type: ignore[arg-type]
    pb.hvp(pb.exp, 1.0, a)  # type: ignore[arg-type, type-var]
    # jvp takes tuples, not bare values.
    pb.jvp(pb.exp, 1.0, 1.0)  # type: ignore[call-overload]
    # mul with one tangent too few.
    _ym, push_mul = pb.pushforward(pb.mul, 2.0, 3.0)
    push_mul(1.0)  # type: ignore[call-arg]
    # A float rule at an array.
    pb.hvp(cube, a, a)  # type: ignore[arg-type]
    # Something that is not a rule.
    pb.pushforward(3.0, 1.0)  # type: ignore[arg-type]
    # A float tangent is not a str.
    _s: str = pb.jvp(pb.exp, (1.0,), (1.0,))[1]  # type: ignore[assignment]
