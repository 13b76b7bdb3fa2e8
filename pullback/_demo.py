"""The main job: the sigmoid chain at x = 1.0, stage by stage (``python -m pullback``)."""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from ._compose import Composition, compose
from ._rules.elementwise import exp
from ._rules.factories import add_const, power, scale
from ._stage_errors import rule_name

__all__ = ["main", "sigmoid_chain", "stage_table"]


def sigmoid_chain() -> Composition:
    """The book's sigmoid as a chain: ``1 / (1 + exp(-x))``.

    Returns:
        ``compose(power(-1), add_const(1), exp, scale(-1))``.

    >>> sigmoid_chain()
    compose(power(-1), add_const(1.0), exp, scale(-1.0))
    """
    chain = compose(power(-1), add_const(1), exp, scale(-1))
    assert isinstance(chain, Composition)
    return chain


def stage_table(chain: Composition, x: float, seed: float = 1.0) -> str:
    """A text table of every stage's forward value and the cotangents of the backward pass.

    Args:
        chain: a composition of one-argument rules.
        x: the input.
        seed: the cotangent fed to the last stage.

    Returns:
        The forward section (stage 1 first), the backward section (last stage
        first) and the gradient, as lines of text.

    >>> print(stage_table(compose(exp, scale(2.0)), 0.0))
    forward, x = 0.0
      stage 1  scale(2.0)  value   0.00000
      stage 2  exp         value   1.00000
    backward, seed dy = 1.0
      stage 2  exp         dy   1.00000  ->  dx   1.00000
      stage 1  scale(2.0)  dy   1.00000  ->  dx   2.00000
    gradient: 2.0
    """
    order = chain.stages[::-1]
    names = [rule_name(stage) for stage in order]
    width = max((len(n) for n in names), default=0)
    values = []
    pullbacks = []
    value = x
    for stage in order:
        value, back = stage(value)
        values.append(value)
        pullbacks.append(back)
    lines = [f"forward, x = {x!r}"]
    for i, (name, v) in enumerate(zip(names, values, strict=True), start=1):
        lines.append(f"  stage {i}  {name:<{width}}  value {_num(v)}")
    lines.append(f"backward, seed dy = {seed!r}")
    dy = seed
    for i in range(len(order), 0, -1):
        dx = pullbacks[i - 1](dy)
        lines.append(f"  stage {i}  {names[i - 1]:<{width}}  dy {_num(dy)}  ->  dx {_num(dx)}")
        dy = dx
    lines.append(f"gradient: {dy!r}")
    return "\n".join(lines)


def _num(v: float) -> str:
    # Five decimals, as the book's figures; %g where that would hide the number.
    if v == 0.0 or 1e-3 <= abs(v) < 1e6:
        return f"{v:>9.5f}"
    return f"{v:>9.5g}"


def main(argv: Sequence[str] | None = None) -> int:
    """Print the sigmoid walkthrough; the entry point of ``python -m pullback``.

    Args:
        argv: command-line arguments (default: ``sys.argv[1:]``).

    Returns:
        The exit code, 0.

    >>> main(["--x", "0.0"])  # doctest: +ELLIPSIS
    pullback: the chain rule, stage by stage
    sigmoid = compose(power(-1), add_const(1.0), exp, scale(-1.0))
    forward, x = 0.0
    ...
    gradient: 0.25
    0
    """
    parser = argparse.ArgumentParser(
        prog="python -m pullback",
        description="Show the chain rule stage by stage for the book's sigmoid chain.",
    )
    parser.add_argument("--x", type=float, default=1.0, help="the input (default 1.0)")
    args = parser.parse_args(argv)
    chain = sigmoid_chain()
    print("pullback: the chain rule, stage by stage")
    print(f"sigmoid = {chain!r}")
    print(stage_table(chain, args.x))
    return 0
