"""``walkthrough``: the chain rule, step by step, as a table, a Graphviz graph or JSON.

Like the computational graphs of the textbooks: every step's forward value,
the cotangent that reached it, and the cotangents it sent back to its inputs.
"""

from __future__ import annotations

import json
import math
import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, TypeVar, overload

import numpy as np
from typing_extensions import TypeVarTuple, Unpack

from ._compose import Composition
from ._stage_errors import rule_name
from ._trace import TracedRule, lift, trace
from ._types import Array, MultiRule, RealArray, Rule, Value, Y
from ._values import as_value, cotangent_for, require_callable

__all__ = ["GraphvizMissing", "Step", "Walkthrough", "walkthrough"]

_X = TypeVar("_X")
_Value = TypeVar("_Value")
_Gradient = TypeVar("_Gradient")
_Args = TypeVarTuple("_Args")

# The textbook figures draw add and multiply nodes as symbols.
_SYMBOLS = {"add": "+", "sub": "−", "mul": "×", "div": "÷", "neg": "−x"}


@dataclass(frozen=True)
class Step:
    """One step: an argument (no inputs) or an operation.

    Attributes:
        index: the step's number, from 1.
        name: the argument's name or the rule's (``x``, ``scale(-1.0)``, ``mul``).
        inputs: for each input, the number of the step it comes from, or None
            for a constant.
        constants: for each input, the constant's value (None where it is a step).
        value: the forward value.
        cotangent: the cotangent that reached this step (None if none did).
        sent: the cotangent sent back to each input.
    """

    index: int
    name: str
    inputs: tuple[int | None, ...]
    constants: tuple[Value | None, ...]
    value: Value
    cotangent: Value | None
    sent: tuple[Value, ...]


@dataclass(frozen=True)
class Walkthrough(Generic[_Value, _Gradient]):
    """Every step of one forward and one backward pass, immutable.

    ``str(w)`` is an aligned text table; :meth:`to_dot` is a Graphviz graph
    with the forward value above and the cotangent below each edge;
    :meth:`to_json` is for other tools; :meth:`render` draws a picture.
    """

    title: str
    steps: tuple[Step, ...]
    output: int
    seed: _Value
    value: _Value
    gradient: _Gradient
    arguments: tuple[str, ...]

    def __str__(self) -> str:
        return self.table()

    def table(self) -> str:
        """The steps as an aligned text table, then the value and the gradient.

        Returns:
            The table (``str(walkthrough)`` is the same).

        >>> from pullback import mul, walkthrough
        >>> print(walkthrough(mul, 2.0, 3.0).table())
        walkthrough of mul at a=2.0, b=3.0
          step  name  inputs      value  cotangent  sent back
             1  a     (argument)      2          3
             2  b     (argument)      3          2
             3  mul   #1, #2          6          1  3, 2
        value: 6.0
        gradient: d/da = 3.0, d/db = 2.0
        """
        rows = [("step", "name", "inputs", "value", "cotangent", "sent back")]
        for step in self.steps:
            inputs = ", ".join(
                f"#{i}" if i is not None else _num(c)
                for i, c in zip(step.inputs, step.constants, strict=True)
            )
            rows.append(
                (
                    str(step.index),
                    step.name,
                    inputs or "(argument)",
                    _num(step.value),
                    "" if step.cotangent is None else _num(step.cotangent),
                    ", ".join(_num(s) for s in step.sent),
                )
            )
        widths = [max(len(row[k]) for row in rows) for k in range(len(rows[0]))]
        right = {0, 3, 4}
        lines = [self.title]
        for row in rows:
            cells = [
                c.rjust(w) if k in right else c.ljust(w)
                for k, (c, w) in enumerate(zip(row, widths, strict=True))
            ]
            lines.append("  " + "  ".join(cells).rstrip())
        lines.append(f"value: {_show(self.value)}")
        if len(self.arguments) == 1:
            lines.append(f"gradient: {_show(self.gradient)}")
        else:
            gradients: tuple[Value, ...] = self.gradient  # type: ignore[assignment]
            pairs = zip(self.arguments, gradients, strict=True)
            lines.append("gradient: " + ", ".join(f"d/d{n} = {_show(g)}" for n, g in pairs))
        return "\n".join(lines)

    def to_dot(self) -> str:
        """Graphviz DOT: steps as nodes, forward values above and cotangents below edges.

        Returns:
            The DOT text; ``dot -Tsvg`` draws it (or :meth:`render`).

        >>> from pullback import mul, walkthrough
        >>> dot = walkthrough(mul, 2.0, 3.0).to_dot()
        >>> print([line for line in dot.splitlines() if "->" in line][0])
          n1 -> n3 [label=<2<br/><font color="#c0392b">3</font>>];
        """
        lines = [
            "digraph walkthrough {",
            "  rankdir=LR;",
            '  graph [fontname="Helvetica", label=' + _quote(self.title) + ", labelloc=t];",
            '  node [fontname="Helvetica"];',
            '  edge [fontname="Helvetica", fontsize=11];',
        ]
        for step in self.steps:
            if step.inputs:
                label = _SYMBOLS.get(step.name, step.name)
                shape = "circle" if label in _SYMBOLS.values() else "box"
                lines.append(f"  n{step.index} [label={_quote(label)}, shape={shape}];")
            else:
                lines.append(f"  n{step.index} [label={_quote(step.name)}, shape=plaintext];")
        for step in self.steps:
            for k, (source, constant) in enumerate(zip(step.inputs, step.constants, strict=True)):
                sent = step.sent[k] if k < len(step.sent) else None
                if source is None:
                    name = f"c{step.index}_{k}"
                    lines.append(f"  {name} [label={_quote(_num(constant))}, shape=plaintext];")
                    lines.append(f"  {name} -> n{step.index} [label={_edge(constant, None)}];")
                else:
                    value = self.steps[source - 1].value
                    lines.append(f"  n{source} -> n{step.index} [label={_edge(value, sent)}];")
        lines.append('  out [label="", shape=point];')
        lines.append(f"  n{self.output} -> out [label={_edge(self.value, self.seed)}];")
        lines.append("}")
        return "\n".join(lines) + "\n"

    def as_dict(self) -> dict[str, Any]:
        """The walkthrough as plain data (lists, floats, strings).

        Returns:
            A dict with the title, arguments, value, seed, gradient and steps.

        >>> from pullback import mul, walkthrough
        >>> walkthrough(mul, 2.0, 3.0).as_dict()["gradient"]
        [3.0, 2.0]
        """
        return {
            "title": self.title,
            "arguments": list(self.arguments),
            "value": _plain(self.value),
            "seed": _plain(self.seed),
            "gradient": _plain(self.gradient),
            "steps": [
                {
                    "index": s.index,
                    "name": s.name,
                    "inputs": list(s.inputs),
                    "constants": [_plain(c) for c in s.constants],
                    "value": _plain(s.value),
                    "cotangent": _plain(s.cotangent),
                    "sent": [_plain(x) for x in s.sent],
                }
                for s in self.steps
            ],
        }

    def to_json(self) -> str:
        """:meth:`as_dict` as JSON (inf and nan as the strings "inf", "-inf", "nan").

        Returns:
            The JSON text.

        >>> import json
        >>> from pullback import exp, walkthrough
        >>> json.loads(walkthrough(exp, 1000.0).to_json())["value"]
        'inf'
        """
        return json.dumps(self.as_dict(), indent=2)

    def render(self, path: str | Path) -> Path:
        """Draw the graph to ``path``; the format is the file's suffix (``.svg``, ``.png``).

        Args:
            path: where to write the picture.

        Returns:
            The path written.

        Raises:
            GraphvizMissing: the ``graphviz`` Python package or the ``dot``
                program is not installed; the message says how to install them.
            ValueError: the suffix is not a format Graphviz writes.

        >>> from pullback import mul, walkthrough
        >>> walkthrough(mul, 2.0, 3.0).render("picture.gif")
        Traceback (most recent call last):
        ...
        ValueError: render: write .svg, .png or .pdf, not 'picture.gif'
        """
        path = Path(path)
        fmt = path.suffix.lstrip(".").lower()
        if fmt not in {"svg", "png", "pdf"}:
            raise ValueError(f"render: write .svg, .png or .pdf, not {path.name!r}")
        try:
            import graphviz  # type: ignore[import-untyped]
        except ImportError:
            raise GraphvizMissing(_INSTALL) from None
        if shutil.which("dot") is None:
            raise GraphvizMissing(_INSTALL)
        data = graphviz.Source(self.to_dot()).pipe(format=fmt)
        path.write_bytes(data)
        return path


class GraphvizMissing(RuntimeError):
    """Rendering needs the graphviz package and Graphviz's ``dot`` program."""


_INSTALL = (
    "rendering a walkthrough needs the graphviz Python package and Graphviz's dot program: "
    "pip install 'pullback[graph]', then install Graphviz itself "
    "(apt-get install graphviz, brew install graphviz, or your system's package); "
    "to_dot() works without them"
)


@overload
def walkthrough(
    f: Rule[float, Y], x: float, /, *, seed: Y | None = None, name: str | None = None
) -> Walkthrough[Y, float]: ...
@overload
def walkthrough(
    f: Rule[Array, Y], x: RealArray, /, *, seed: Y | None = None, name: str | None = None
) -> Walkthrough[Y, Array]: ...
@overload
def walkthrough(
    f: Rule[_X, Y], x: _X, /, *, seed: Y | None = None, name: str | None = None
) -> Walkthrough[Y, _X]: ...
@overload
def walkthrough(
    f: MultiRule[float, float, Y],
    x: float,
    y: float,
    /,
    *,
    seed: Y | None = None,
    name: str | None = None,
) -> Walkthrough[Y, tuple[float, float]]: ...
@overload
def walkthrough(
    f: MultiRule[Unpack[_Args], Y],
    /,
    *xs: Unpack[_Args],
    seed: Y | None = None,
    name: str | None = None,
) -> Walkthrough[Y, tuple[Unpack[_Args]]]: ...
def walkthrough(  # type: ignore[misc]
    f: Callable[..., Any], /, *xs: Any, seed: Any = None, name: str | None = None
) -> Walkthrough[Any, Any]:
    """Run ``f`` forward and backward once and keep every step.

    For a composition the steps are its stages in a line; for a traced function
    (or a rule of several arguments) they are the nodes of its graph.

    Args:
        f: a rule: a composition, a traced function, a library primitive, ...
        *xs: the arguments.
        seed: the cotangent fed to the output (default 1.0, or ones for an array).
        name: what the title calls ``f`` (default: its name).

    Returns:
        A :class:`Walkthrough`; print it for the table.

    Raises:
        TypeError: ``f`` is not a rule, an argument is not a value, or the
            output does not depend on the arguments.

    >>> from pullback import add_const, compose, exp, power, scale, walkthrough
    >>> w = walkthrough(compose(power(-1), add_const(1), exp, scale(-1)), 1.0)
    >>> [round(s.value, 5) for s in w.steps]
    [1.0, -1.0, 0.36788, 1.36788, 0.73106]
    >>> [round(s.cotangent, 5) for s in w.steps]
    [0.19661, -0.19661, -0.53445, -0.53445, 1.0]
    """
    require_callable(f, "walkthrough")
    title = name if name is not None else rule_name(f)
    if not xs:
        raise TypeError(
            f"walkthrough({title}): no argument to walk through; call walkthrough(f, x)"
        )
    if type(f) is Composition:
        return _chain_walkthrough(f, xs, seed, title)
    if isinstance(f, TracedRule):
        return _traced_walkthrough(f, xs, seed, title)
    if len(xs) == 1:
        return _chain_walkthrough(Composition([f]), xs, seed, title)  # a line of one stage
    return _traced_walkthrough(trace(lift(f)), xs, seed, title)


def _chain_walkthrough(
    chain: Composition[Any, Any], xs: Sequence[Any], seed: Any, name: str
) -> Walkthrough[Any, Any]:
    if len(xs) != 1:
        raise TypeError(f"walkthrough: {chain!r} takes one argument, got {len(xs)}")
    x = as_value(xs[0], f"walkthrough({chain!r})")
    values = [_own(x)]
    pullbacks = []
    for stage in chain.stages[::-1]:
        y, back = stage(values[-1])
        values.append(y)
        pullbacks.append(back)
    seed = _checked_seed(seed, values[-1], name)
    cotangents: list[Any] = [None] * len(values)
    cotangents[-1] = seed
    for i in range(len(pullbacks), 0, -1):
        cotangents[i - 1] = pullbacks[i - 1](cotangents[i])
    names = ["x", *(rule_name(s) for s in chain.stages[::-1])]
    steps = tuple(
        Step(
            index=i + 1,
            name=names[i],
            inputs=(i,) if i else (),
            constants=(None,) if i else (),
            value=values[i],
            cotangent=cotangents[i],
            sent=(cotangents[i - 1],) if i else (),
        )
        for i in range(len(values))
    )
    title = f"walkthrough of {name} at x = {_show(x)}"
    # The value and the gradient are the caller's own, not the steps' (nor the seed's).
    value, gradient = _own(values[-1]), _own(cotangents[0])
    return Walkthrough(title, steps, len(steps), seed, value, gradient, ("x",))


def _traced_walkthrough(
    traced: TracedRule, xs: Sequence[Any], seed: Any, name: str
) -> Walkthrough[Any, Any]:
    recording = traced.record(*xs)
    output = recording.values[recording.root]
    seed = _checked_seed(seed, output, name)
    arrived, sent = recording.pull_back(seed)
    steps = []
    for i in range(recording.root + 1):
        steps.append(
            Step(
                index=i + 1,
                name=recording.names[i],
                inputs=tuple(p + 1 if p >= 0 else None for p in recording.parents[i]),
                constants=recording.constants[i],
                value=_own(recording.values[i]) if i < recording.arguments else recording.values[i],
                cotangent=arrived[i],
                sent=sent[i],
            )
        )
    args = ", ".join(
        f"{recording.names[i]}={_show(recording.values[i])}" for i in range(recording.arguments)
    )
    # An argument the output does not use has the zero cotangent of its kind: 0.0
    # for a float (not np.float64, and not 0 * inf = nan with a RuntimeWarning).
    gradient = tuple(
        _own(arrived[i]) if arrived[i] is not None else _zero_like(recording.values[i])
        for i in range(recording.arguments)
    )
    title = f"walkthrough of {name} at {args}"
    return Walkthrough(
        title,
        tuple(steps),
        recording.root + 1,
        seed,
        _own(output),
        gradient[0] if len(gradient) == 1 else gradient,
        recording.names[: recording.arguments],
    )


def _own(x: Any) -> Any:
    """An argument as the walkthrough keeps it: a copy of an array, never the caller's."""
    return x.copy() if isinstance(x, np.ndarray) else x


def _zero_like(x: Any) -> Any:
    return 0.0 if isinstance(x, float) else np.zeros_like(x)


def _checked_seed(seed: Any, y: Any, name: str) -> Any:
    """The seed: 1.0 or ones by default; else checked as every cotangent is (kind, shape)."""
    if seed is None:
        return 1.0 if isinstance(y, float) else np.ones_like(y)
    return _own(cotangent_for(seed, y, f"walkthrough({name}): the seed"))


def _num(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, float):
        # Up to five decimals, as the book's figures (2.2, 110, 0.36788); %g where
        # decimals would hide the number.
        if v == 0.0 or (math.isfinite(v) and 1e-3 <= abs(v) < 1e6):
            text = f"{v:.5f}".rstrip("0").rstrip(".")
            return "0" if text in ("-0", "") else text
        return f"{v:.5g}"
    return np.array2string(np.asarray(v), precision=5, threshold=6, separator=", ")


def _show(v: Any) -> str:
    if isinstance(v, tuple):
        return "(" + ", ".join(_show(x) for x in v) + ")"
    return repr(v) if isinstance(v, float) else _num(v)


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _edge(value: Any, cotangent: Any) -> str:
    below = (
        "" if cotangent is None else f'<br/><font color="#c0392b">{_html(_num(cotangent))}</font>'
    )
    return f"<{_html(_num(value))}{below}>"


def _html(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _plain(v: Any) -> Any:
    if v is None:
        return None
    if isinstance(v, tuple):
        return [_plain(x) for x in v]
    if isinstance(v, np.ndarray):
        return [_plain(float(x)) for x in v.ravel()] if v.ndim <= 1 else _plain_nested(v)
    x = float(v)
    return x if math.isfinite(x) else ("nan" if x != x else ("inf" if x > 0 else "-inf"))


def _plain_nested(v: np.ndarray) -> Any:
    return [_plain(row) for row in v]
