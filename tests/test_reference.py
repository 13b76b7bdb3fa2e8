"""The numbers that anchor the design (from the source material)."""

from __future__ import annotations

import math
import subprocess
import sys

import pytest

import pullback as pb
from pullback import Composition
from pullback._cli import main


def sigmoid_chain() -> Composition[float, float]:
    chain = pb.compose(pb.power(-1), pb.add_const(1), pb.exp, pb.scale(-1))
    assert isinstance(chain, Composition)
    return chain


def test_sigmoid_chain_value_and_gradient() -> None:
    y, g = pb.value_and_gradient(sigmoid_chain(), 1.0)
    assert y == pytest.approx(0.7310585786300049, rel=1e-15)
    assert g == pytest.approx(0.19661193324148185, rel=1e-15)
    assert g == pytest.approx(pb.sigmoid(1.0)[1](1.0), rel=1e-15)


def test_sigmoid_chain_stage_values_forward_and_backward() -> None:
    chain = sigmoid_chain()
    values, pullbacks = [], []
    x = 1.0
    for stage in chain.stages[::-1]:
        x, back = stage(x)
        values.append(x)
        pullbacks.append(back)
    assert values == pytest.approx([-1.0, 0.36788, 1.36788, 0.73106], abs=5e-6)
    cotangents = []
    dy = 1.0
    for back in reversed(pullbacks):
        dy = back(dy)
        cotangents.append(dy)
    assert cotangents == pytest.approx([-0.53445, -0.53445, -0.19661, 0.19661], abs=5e-6)


def test_exp_of_square_squared() -> None:
    f = pb.compose(pb.square, pb.exp, pb.square)
    x = 0.5
    assert pb.gradient(f, x) == pytest.approx(4 * x * math.exp(2 * x * x), rel=1e-15)
    assert pb.gradient(f, x) == pytest.approx(3.297442541400256, rel=1e-15)
    assert pb.numerical_gradient(f, x, eps=1e-3) == pytest.approx(3.2974513, abs=1e-7)


def test_main_job_prints_the_walkthrough(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 0
    out = capsys.readouterr().out
    for number in ["-1", "0.36788", "1.36788", "0.73106", "-0.53445", "-0.19661", "0.19661"]:
        assert number in out
    assert out.splitlines()[-1] == f"gradient: {pb.gradient(sigmoid_chain(), 1.0)!r}"


def test_python_dash_m_pullback() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "pullback"], capture_output=True, text=True, check=True
    ).stdout
    lines = out.splitlines()
    assert lines[0] == "pullback: the chain rule, step by step"
    assert "4  add_const(1.0)  #3          1.36788   -0.53445  -0.53445" in out
    assert "5  power(-1)       #4          0.73106          1  -0.53445" in out
    assert lines[-1].startswith("gradient: 0.196611933241481")
