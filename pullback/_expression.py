"""A safe parser for the command line's mathematical expressions.

The text is parsed with :mod:`ast` and the whole tree is checked before
anything is evaluated: only numbers, the named variables, ``+ - * / **``,
unary minus and the library's functions are allowed, nested no deeper than
:data:`MAX_DEPTH`. Evaluation walks the checked tree with an explicit stack;
nothing is ever given to ``eval`` or ``compile``. Numbers are floats, so
``9**9**9`` is inf, not an endless integer computation.
"""

from __future__ import annotations

import ast
import math
import warnings
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from . import _ieee as ieee
from . import ops
from ._graph import Traced
from ._table.elementwise import UNARY
from ._table.library import RELU, SIGMOID, SOFTPLUS

__all__ = ["FUNCTIONS", "MAX_DEPTH", "ExpressionError", "check", "evaluate"]

MAX_DEPTH = 64
MAX_LENGTH = 10_000


def _functions() -> dict[str, Callable[[Any], Any]]:
    # Every elementwise entry of the table, by its name (and ``abs``): the
    # command line grows with the table and never lists a function of its own.
    table: dict[str, Callable[[Any], Any]] = {
        entry.name: entry for entry in UNARY.values() if entry.name not in _NOT_FUNCTIONS
    }
    for entry in (SIGMOID, RELU, SOFTPLUS):
        table[entry.name] = entry
    table["abs"] = UNARY[np.absolute]
    return dict(sorted(table.items()))


# Spelled as operators in an expression (-x, +x).
_NOT_FUNCTIONS = frozenset({"negative", "positive"})

FUNCTIONS: dict[str, Callable[[Any], Any]] = _functions()
"""The functions an expression may call: the table's elementwise entries."""

_OPERATORS = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.Pow: "**"}

_WHAT = {
    ast.Attribute: "attribute access (a.b)",
    ast.Subscript: "subscripts (a[i])",
    ast.Lambda: "lambda",
    ast.ListComp: "comprehensions",
    ast.SetComp: "comprehensions",
    ast.DictComp: "comprehensions",
    ast.GeneratorExp: "comprehensions",
    ast.Compare: "comparisons",
    ast.BoolOp: "and/or",
    ast.IfExp: "if-else",
    ast.NamedExpr: "assignment (:=)",
    ast.List: "lists",
    ast.Tuple: "tuples",
    ast.Dict: "dicts",
    ast.Set: "sets",
    ast.JoinedStr: "strings",
    ast.Starred: "starred arguments",
    ast.Await: "await",
    ast.Yield: "yield",
    ast.YieldFrom: "yield",
}


class ExpressionError(ValueError):
    """The expression is not one the command line accepts; nothing was evaluated."""


def check(text: str, variables: Sequence[str]) -> ast.expr:
    """Parse ``text`` and check every node; return the tree, evaluate nothing.

    Args:
        text: the expression, e.g. ``"sigmoid(x * y) + x**2"``.
        variables: the names it may use.

    Returns:
        The checked tree.

    Raises:
        ExpressionError: what is not allowed, and where.

    >>> check("x * 2", ["x"]).__class__.__name__
    'BinOp'
    >>> check("__import__('os')", ["x"])  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    pullback._expression.ExpressionError: only the functions ... can be called, not '__import__'
    """
    if len(text) > MAX_LENGTH:
        raise ExpressionError(f"the expression is longer than {MAX_LENGTH} characters")
    try:
        # Python only warns about some malformed text ("1lambda"); refuse it instead.
        with warnings.catch_warnings():
            warnings.simplefilter("error", SyntaxWarning)
            tree = ast.parse(text.strip(), mode="eval")
    except (RecursionError, MemoryError):  # the parser's own stack ran out: no message
        raise ExpressionError("not a valid expression: it is nested too deeply") from None
    except (SyntaxError, SyntaxWarning, ValueError) as err:
        raise ExpressionError(f"not a valid expression: {err or type(err).__name__}") from None
    stack: list[tuple[ast.AST, int]] = [(tree.body, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise ExpressionError(f"the expression is nested deeper than {MAX_DEPTH} levels")
        stack.extend((child, depth + 1) for child in _children(node, variables))
    return tree.body


def _children(node: ast.AST, variables: Sequence[str]) -> list[ast.AST]:
    if isinstance(node, ast.Constant):
        value = node.value
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ExpressionError(f"only numbers are allowed as constants, not {value!r:.40}")
        return []
    if isinstance(node, ast.Name):
        if node.id not in variables:
            known = ", ".join(variables) or "none"
            hint = " (a function must be called)" if node.id in FUNCTIONS else ""
            raise ExpressionError(
                f"unknown name {node.id!r}{hint}; the variables are {known} "
                "(give each with --at NAME=VALUE)"
            )
        return []
    if isinstance(node, ast.BinOp):
        if type(node.op) not in _OPERATORS:
            raise ExpressionError(
                f"operator {type(node.op).__name__} is not allowed; use + - * / **"
            )
        return [node.left, node.right]
    if isinstance(node, ast.UnaryOp):
        if not isinstance(node.op, (ast.USub, ast.UAdd)):
            raise ExpressionError(f"operator {type(node.op).__name__} is not allowed")
        return [node.operand]
    if isinstance(node, ast.Call):
        if not isinstance(node.func, ast.Name) or node.func.id not in FUNCTIONS:
            called = repr(node.func.id) if isinstance(node.func, ast.Name) else "anything else"
            raise ExpressionError(
                f"only the functions {', '.join(sorted(FUNCTIONS))} can be called, not {called}"
            )
        if node.keywords or len(node.args) != 1:
            raise ExpressionError(f"{node.func.id} takes exactly one argument")
        return [node.args[0]]
    what = _WHAT.get(type(node), type(node).__name__)
    raise ExpressionError(f"{what} is not allowed in an expression")


def evaluate(tree: ast.expr, values: dict[str, Any]) -> Any:
    """Evaluate a checked tree with an explicit stack (values may be traced)."""
    results: list[Any] = []
    stack: list[tuple[ast.AST, bool]] = [(tree, False)]
    while stack:
        node, ready = stack.pop()
        if isinstance(node, ast.Constant):
            number = node.value
            assert isinstance(number, (int, float))  # check() let only numbers through
            results.append(_float(number))
        elif isinstance(node, ast.Name):
            results.append(values[node.id])
        elif not ready:
            stack.append((node, True))
            for child in reversed(_operands(node)):
                stack.append((child, False))
        elif isinstance(node, ast.BinOp):
            right = results.pop()
            left = results.pop()
            results.append(_binary(_OPERATORS[type(node.op)], left, right))
        elif isinstance(node, ast.UnaryOp):
            operand = results.pop()
            results.append(-operand if isinstance(node.op, ast.USub) else operand)
        elif isinstance(node, ast.Call):
            assert isinstance(node.func, ast.Name)
            results.append(FUNCTIONS[node.func.id](results.pop()))
    return results.pop()


def _operands(node: ast.AST) -> list[ast.AST]:
    if isinstance(node, ast.BinOp):
        return [node.left, node.right]
    if isinstance(node, ast.UnaryOp):
        return [node.operand]
    if isinstance(node, ast.Call):
        return [node.args[0]]
    raise ExpressionError(f"unchecked node {type(node).__name__}")  # pragma: no cover


def _float(value: float) -> float:
    try:
        return float(value)
    except OverflowError:  # an integer literal beyond float range
        return math.inf


def _binary(op: str, a: Any, b: Any) -> Any:
    if op == "+":
        return ops.add(a, b) if not (isinstance(a, float) and isinstance(b, float)) else a + b
    if op == "-":
        return ops.sub(a, b) if not (isinstance(a, float) and isinstance(b, float)) else a - b
    if op == "*":
        return ops.mul(a, b)
    if op == "/":
        return ops.div(a, b)
    # **: a constant exponent is a power rule; a traced one is exp(b log a).
    if type(b) is Traced:
        return ops.exp(ops.mul(b, ops.log(a)))
    if type(a) is Traced:
        return a**b
    return ieee.pow(a, int(b) if b.is_integer() and abs(b) < 2**53 else b)
