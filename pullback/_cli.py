"""``python -m pullback``: the chain rule, step by step, for the sigmoid chain or an expression."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import Any

from . import _expression as expression
from ._compose import Composition, compose
from ._rules.elementwise import exp
from ._rules.factories import add_const, power, scale
from ._trace import TracedRule
from ._walkthrough import GraphvizMissing, Walkthrough, walkthrough

__all__ = ["main", "sigmoid_chain"]

_EPILOG = """\
examples:
  python -m pullback                              the sigmoid chain at x = 1.0
  python -m pullback --at x=0.5                   the same at x = 0.5
  python -m pullback "x * y + sin(x)" --at x=1 --at y=2
  python -m pullback "(a*n + o*m) * t" --at a=100 --at n=2 --at o=150 \\
      --at m=3 --at t=1.1 --svg apples.svg

An expression may use numbers, its variables, + - * / **, unary minus and the
functions abs, cos, exp, log, relu, sigmoid, sin, square, tanh. Anything else is
refused (exit code 2) before any of it is evaluated.
"""


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


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m pullback",
        description="Show the chain rule step by step: values forward, cotangents backward.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "expression", nargs="?", help="a mathematical expression (default: the sigmoid chain)"
    )
    parser.add_argument(
        "--at",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a variable and its value; repeat for several (default for the chain: x=1.0)",
    )
    parser.add_argument("--dot", metavar="FILE", help="write the graph as Graphviz DOT")
    parser.add_argument("--svg", metavar="FILE", help="render the graph as SVG (needs [graph])")
    parser.add_argument("--json", action="store_true", help="print the walkthrough as JSON")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return its exit code.

    Args:
        argv: the arguments (default: ``sys.argv[1:]``).

    Returns:
        0 on success, 2 for an expression or a value that is refused, 1 when a
        picture cannot be rendered.

    >>> main(["x * y", "--at", "x=2", "--at", "y=3"])  # doctest: +ELLIPSIS
    walkthrough of x * y at x=2.0, y=3.0
    ...
    gradient: d/dx = 3.0, d/dy = 2.0
    0
    """
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        at = _values(args.at)
        result = _walk(args.expression, at)
    except (expression.ExpressionError, ValueError, TypeError) as err:
        print(f"python -m pullback: {err}", file=sys.stderr)
        return 2
    if args.json:
        print(result.to_json())
    else:
        if args.expression is None:
            print("pullback: the chain rule, step by step")
        print(result)
    if args.dot:
        with open(args.dot, "w", encoding="utf-8") as handle:
            handle.write(result.to_dot())
    if args.svg:
        try:
            result.render(args.svg)
        except GraphvizMissing as err:
            print(f"python -m pullback: {err}", file=sys.stderr)
            return 1
    return 0


def _values(pairs: Sequence[str]) -> dict[str, float]:
    values: dict[str, float] = {}
    for pair in pairs:
        name, sep, text = pair.partition("=")
        name = name.strip()
        if not sep or not name.isidentifier():
            raise ValueError(f"--at takes NAME=VALUE, such as x=1.0, not {pair!r}")
        if name in expression.FUNCTIONS:
            raise ValueError(f"{name!r} is a function; choose another variable name")
        try:
            values[name] = float(text)
        except ValueError:
            raise ValueError(f"--at {name}: {text!r} is not a number") from None
    return values


def _walk(text: str | None, at: dict[str, float]) -> Walkthrough:
    if text is None:
        unknown = set(at) - {"x"}
        if unknown:
            raise ValueError(f"the sigmoid chain has one variable, x; not {sorted(unknown)}")
        return walkthrough(sigmoid_chain(), at.get("x", 1.0))
    names = list(at)
    tree = expression.check(text, names)  # everything is checked before anything runs
    if not names:
        raise ValueError("give each variable a value with --at NAME=VALUE")

    def function(*xs: Any) -> Any:
        return expression.evaluate(tree, dict(zip(names, xs, strict=True)))

    function.__signature__ = _signature(names)  # type: ignore[attr-defined]
    function.__name__ = text
    return walkthrough(TracedRule(function), *(at[n] for n in names), name=text)


def _signature(names: Sequence[str]) -> Any:
    import inspect

    parameter = inspect.Parameter.POSITIONAL_OR_KEYWORD
    return inspect.Signature([inspect.Parameter(n, parameter) for n in names])
