"""``python -m pullback``: the chain rule, step by step, for the sigmoid chain or an expression."""

from __future__ import annotations

import argparse
import contextlib
import errno
import os
import sys
import unicodedata
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


def sigmoid_chain() -> Composition[float, float]:
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
        0 on success; 2 for anything refused (an expression, a value, a repeated
        variable), for a file that cannot be written, a picture that cannot be
        rendered, or output that cannot be printed, each with a one-line message
        on stderr and never a traceback.

    >>> main(["x * y", "--at", "x=2", "--at", "y=3"])  # doctest: +ELLIPSIS
    walkthrough of x * y at x=2.0, y=3.0
    ...
    gradient: d/dx = 3.0, d/dy = 2.0
    0
    """
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        for option, path in (("--dot", args.dot), ("--svg", args.svg)):
            if path is not None and not path.strip():
                raise ValueError(f"{option} needs a file name")
        at = _values(args.at)
        result = _walk(args.expression, at)
        if args.dot is not None:
            _write(args.dot, "--dot", result.to_dot())
        if args.svg is not None:
            _render(args.svg, result)
    except (expression.ExpressionError, ValueError, TypeError, ArithmeticError) as err:
        return _refuse(str(err))
    except (OSError, GraphvizMissing) as err:
        return _refuse(str(err))
    if args.json:
        text = result.to_json()
    else:
        header = "pullback: the chain rule, step by step\n" if args.expression is None else ""
        text = header + str(result)
    try:
        _emit(text, sys.stdout)
    except OSError as err:
        # The reader went away (``python -m pullback | head -1``), the disk is
        # full, or there is no stdout at all. Point stdout at /dev/null, so that
        # Python's own flush at exit does not fail again with a traceback.
        with contextlib.suppress(OSError, ValueError, AttributeError):
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
        if isinstance(err, BrokenPipeError):
            return _refuse("the output was closed before the walkthrough was written")
        return _refuse(f"cannot write the walkthrough: {err.strerror or err}")
    return 0


def _refuse(message: str) -> int:
    with contextlib.suppress(OSError, ValueError):
        _emit(f"python -m pullback: {message}", sys.stderr)
    return 2


def _emit(text: str, stream: Any) -> None:
    if stream is None:  # Python found the descriptor closed at start-up
        raise OSError(errno.EBADF, "the stream is closed")
    # A terminal that cannot show a character (PYTHONIOENCODING=ascii and a name
    # like ｘ) gets its escape, \uff58, rather than a UnicodeEncodeError.
    encoding = getattr(stream, "encoding", None) or "utf-8"
    stream.write(text.encode(encoding, "backslashreplace").decode(encoding) + "\n")
    stream.flush()


def _write(path: str, option: str, text: str) -> None:
    try:
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(text)
    except OSError as err:
        raise OSError(f"{option}: cannot write {path!r}: {err.strerror or err}") from None
    except ValueError as err:  # a name with a NUL byte, say
        raise ValueError(f"{option}: cannot write {path!r}: {err}") from None


def _render(path: str, result: Walkthrough[Any, Any]) -> None:
    try:
        result.render(path)
    except (ValueError, GraphvizMissing) as err:
        raise ValueError(f"--svg: {err}") from None
    except OSError as err:
        raise OSError(f"--svg: cannot write {path!r}: {err.strerror or err}") from None
    except Exception as err:  # Graphviz's own failures: its program exited with an error
        raise ValueError(f"--svg: Graphviz could not render {path!r}: {err}") from None


def _values(pairs: Sequence[str]) -> dict[str, float]:
    values: dict[str, float] = {}
    for pair in pairs:
        raw, sep, text = pair.partition("=")
        # Python reads identifiers in NFKC form (the full-width ｘ is x), so the
        # names given here are read the same way as the expression's.
        name = unicodedata.normalize("NFKC", raw.strip())
        if not sep or not name.isidentifier():
            raise ValueError(f"--at takes NAME=VALUE, such as x=1.0, not {pair!r}")
        if name in expression.FUNCTIONS:
            raise ValueError(f"{name!r} is a function; choose another variable name")
        if name in values:
            raise ValueError(f"--at {name} is given twice; give each variable one value")
        try:
            values[name] = float(text)
        except ValueError:
            raise ValueError(f"--at {name}: {text!r} is not a number") from None
    return values


def _walk(text: str | None, at: dict[str, float]) -> Walkthrough[Any, Any]:
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
