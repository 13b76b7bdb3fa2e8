"""walkthrough: the steps, the table, the DOT, the JSON, the picture."""

from __future__ import annotations

import json
import shutil
import subprocess
import xml.etree.ElementTree as ElementTree
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import pullback as pb
from pullback import trace, walkthrough

SIGMOID = pb.compose(pb.power(-1), pb.add_const(1), pb.exp, pb.scale(-1))


def price(apple: Any, apples: Any, orange: Any, oranges: Any, tax: Any) -> Any:
    return (apple * apples + orange * oranges) * tax


def apples() -> pb.Walkthrough[Any, Any]:
    return walkthrough(trace(price), 100.0, 2.0, 150.0, 3.0, 1.1)


def test_sigmoid_chain_steps() -> None:
    w = walkthrough(SIGMOID, 1.0)
    assert [s.name for s in w.steps] == ["x", "scale(-1.0)", "exp", "add_const(1.0)", "power(-1)"]
    assert [s.value for s in w.steps[1:]] == pytest.approx(
        [-1.0, 0.36788, 1.36788, 0.73106], abs=5e-6
    )
    sent = [s.sent[0] for s in reversed(w.steps[1:])]
    assert sent == pytest.approx([-0.53445, -0.53445, -0.19661, 0.19661], abs=5e-6)
    assert w.gradient == pytest.approx(0.19661193324148185, rel=1e-15)
    assert w.value == pytest.approx(0.7310585786300049, rel=1e-15)
    table = str(w)
    for text in ["-1", "0.36788", "1.36788", "0.73106", "-0.53445", "-0.19661", "0.19661"]:
        assert text in table


def test_walkthrough_is_immutable() -> None:
    w = walkthrough(SIGMOID, 1.0)
    with pytest.raises(AttributeError):
        w.value = 2.0  # type: ignore[misc]
    with pytest.raises(AttributeError):
        w.steps[0].value = 2.0  # type: ignore[misc]


def test_apples_graph_numbers() -> None:
    w = apples()
    assert w.value == pytest.approx(715.0)
    assert w.gradient == pytest.approx((2.2, 110.0, 3.3, 165.0, 650.0))
    add = next(s for s in w.steps if s.name == "add")
    assert add.cotangent == pytest.approx(1.1)  # the tax flowing into the sum
    assert add.sent == pytest.approx((1.1, 1.1))
    table = str(w)
    for text in ["715", "2.2", "110", "3.3", "165", "650", "1.1"]:
        assert text in table
    assert "d/dapple = 2.2" in table and "d/dtax = 650.0" in table


def test_dot_has_values_above_and_cotangents_below() -> None:
    dot = apples().to_dot()
    assert dot.startswith("digraph walkthrough {") and dot.rstrip().endswith("}")
    assert 'n8 -> n9 [label=<650<br/><font color="#c0392b">1.1</font>>];' in dot
    assert 'n1 -> n6 [label=<100<br/><font color="#c0392b">2.2</font>>];' in dot
    assert 'n9 -> out [label=<715<br/><font color="#c0392b">1</font>>];' in dot
    for number in ["715", "2.2", "110", "3.3", "165", "650"]:
        assert number in dot


def test_dot_parses_and_renders_with_graphviz(tmp_path: Path) -> None:
    # CI installs Graphviz (see .ci/run), so this runs there.
    if shutil.which("dot") is None:
        pytest.skip("Graphviz's dot program is not installed")
    dot = apples().to_dot()
    checked = subprocess.run(["dot", "-Tcanon"], input=dot, capture_output=True, text=True)
    assert checked.returncode == 0, checked.stderr
    path = apples().render(tmp_path / "apples.svg")
    root = ElementTree.parse(path).getroot()
    assert root.tag.endswith("svg")
    text = path.read_text()
    assert "715" in text and "650" in text


def test_render_says_what_to_install(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(shutil, "which", lambda name: None)
    with pytest.raises(pb.GraphvizMissing, match=r"pip install 'pullback\[graph\]'.*graphviz"):
        apples().render(tmp_path / "x.svg")
    with pytest.raises(ValueError, match=r"write \.svg, \.png or \.pdf"):
        apples().render(tmp_path / "x.gif")


def test_json() -> None:
    data = json.loads(apples().to_json())
    assert data["value"] == pytest.approx(715.0)
    assert data["gradient"] == pytest.approx([2.2, 110.0, 3.3, 165.0, 650.0])
    assert data["arguments"] == ["apple", "apples", "orange", "oranges", "tax"]
    assert [s["name"] for s in data["steps"]][-1] == "mul"
    special = json.loads(walkthrough(pb.exp, 1000.0).to_json())
    assert special["value"] == "inf"


def test_other_rules_arrays_and_constants() -> None:
    w = walkthrough(pb.mul, 2.0, 3.0)
    assert w.gradient == (3.0, 2.0) and w.arguments == ("a", "b")
    wa = walkthrough(pb.sigmoid, np.array([0.0, 1.0]))
    assert np.allclose(wa.gradient, [0.25, 0.19661193324148185])
    wc = walkthrough(trace(lambda x: x * 2.0 + 1.0), 3.0)
    mul = wc.steps[1]
    assert mul.inputs == (1, None) and mul.constants == (None, 2.0)
    assert "c2_1" in wc.to_dot()
    with pytest.raises(TypeError, match=r"does not depend on the arguments"):
        walkthrough(trace(lambda x: 1.0), 3.0)
