"""A recorded program: what one call of a function did, operation by operation.

Recording runs the user's function once on staged values (see ``staged``).
Each operation is kept as a small tuple, in the order it ran (a topological
order), with what the replay needs to do it again: the table entry and its
static parameters, the operands (a variable, or a constant captured at that
moment), how its value was computed (the entry's float form or its NumPy
forward, chosen exactly as the tracer chooses), and the guards, the facts the
trace depended on (a comparison's outcome, an index's value). Nothing here
refers to the tracer's own nodes: the program is this package's own.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._ieee import quiet
from .._table.entry import Primitive, as_float_if_scalar
from .._values import is_traced

__all__ = ["Const", "Op", "Program", "Unstageable", "Var"]

Op = tuple[Any, ...]
"""One recorded operation; its first item says its kind (see :class:`Program`)."""


class Unstageable(Exception):  # a signal, caught by the compiled rule
    """The call cannot be compiled; the compiled rule runs the traced path instead.

    ``permanent`` is True when it is the function itself that cannot be compiled
    (a derivative taken inside it), False when it is this call's context (a
    value of an enclosing trace).
    """

    def __init__(self, why: str, permanent: bool) -> None:
        super().__init__(why)
        self.permanent = permanent


class Const:
    """A constant operand, captured when the operation ran (an array is copied then)."""

    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        # Frozen at compile time, as the contract says: a later change to the
        # array the function read must not reach the compiled code.
        self.value = value.copy() if type(value) is np.ndarray else value


class Var:
    """A variable inside the arguments of a plain operation (a template)."""

    __slots__ = ("index",)

    def __init__(self, index: int) -> None:
        self.index = index


class Program:
    """The operations of one recorded call, and the kind of every variable.

    Variables are numbered: the arguments' leaves first, then each result.
    ``floats[v]`` says whether variable ``v`` is a Python float, ``diff[v]``
    whether it depends on an argument through a differentiable operation.
    Operations are tuples:

    - ``("float", v, entry, operands)``: the entry's float form (``at_floats``),
      taken where the tracer takes it (every operand a float, no parameters);
    - ``("numpy", v, entry, operands, params, conversion)``: the entry's NumPy
      forward (its ``residuals`` where it has them), and the tracer's conversion
      of its result (see ``as_value_of``);
    - ``("rule", v, entry, operands)``: a lifted rule, with its own pullback;
    - ``("plain", v, function, args, kwargs, conversion)``: a value with no
      derivative (a comparison, a mask, ``argmax``), recomputed at replay;
    - ``("guard", v, check, expected)``: a fact the trace depended on.
    """

    __slots__ = ("diff", "floats", "ops", "values")

    def __init__(self) -> None:
        self.ops: list[Op] = []
        self.floats: list[bool] = []
        self.diff: list[bool] = []
        self.values: list[Any] = []  # the values seen while recording (for the tests)

    def new_variable(self, value: Any, diff: bool) -> int:
        """A new variable for ``value``; its number."""
        self.floats.append(type(value) is float)
        self.diff.append(diff)
        self.values.append(value)
        return len(self.floats) - 1

    def guard(self, var: int, check: str, expected: Any) -> None:
        """Record that the trace depended on ``check`` of variable ``var`` giving ``expected``."""
        if type(expected) is np.ndarray:
            expected = expected.copy()
        self.ops.append(("guard", var, check, expected))

    def apply(
        self, primitive: Primitive, operands: list[Any], values: list[Any], params: dict[str, Any]
    ) -> tuple[Any, int, bool]:
        """Record a table entry on ``operands`` (variables or :class:`Const`); return its value.

        The value is computed as the tracer computes it, so the recorded
        program, replayed, gives the tracer's bits: the entry's float form
        where every operand is a float and there are no parameters, else its
        NumPy forward (in IEEE arithmetic, quietly) and the same conversion of
        the result.
        """
        diff = False
        floats = not params  # every operand a float, no parameters: the float form's case
        for o in operands:
            if type(o) is int:
                diff = diff or self.diff[o]
                floats = floats and self.floats[o]
            else:
                floats = floats and type(o.value) is float
        if not diff:  # no derivative flows through: a plain value, as NumPy would give it
            with quiet():
                y = as_float_if_scalar(primitive.forward(*values, **params))
            var = self.new_variable(y, False)
            args = tuple(Var(o) if type(o) is int else o.value for o in operands)
            self.ops.append(("plain", var, primitive.forward, args, params, "scalar"))
            return y, var, False
        at_floats = primitive.at_floats
        if at_floats is not None and floats:
            try:
                y = at_floats(*values)[0]
            except (ArithmeticError, ValueError):
                # A special value: the tracer's NumPy form gives it. The replay
                # raises here too, and that call runs the traced path.
                with quiet():
                    y = as_value_of(primitive.forward(*values), primitive, values)[0]
            var = self.new_variable(y, True)
            self.ops.append(("float", var, primitive, tuple(operands)))
            return y, var, True
        # In the tracer's order: the float form first, then a rule, then the vjps.
        if primitive.rule is not None:  # its own pullback (a lifted rule)
            y = primitive.rule(*values)[0]
            var = self.new_variable(y, True)
            self.ops.append(("rule", var, primitive, tuple(operands)))
            return y, var, True
        residuals = primitive.residuals  # a forward that keeps what the vjps read: its value
        with quiet():
            if residuals is None:
                raw = primitive.forward(*values, **params)
            else:
                raw = residuals(*values, **params)[0]
        y, conversion = as_value_of(raw, primitive, values)
        var = self.new_variable(y, True)
        self.ops.append(("numpy", var, primitive, tuple(operands), params, conversion))
        return y, var, True

    def plain(self, function: Any, args: Any, kwargs: dict[str, Any], value: Any) -> int:
        """Record a value with no derivative: ``function(*args, **kwargs)`` (templates)."""
        var = self.new_variable(value, False)
        self.ops.append(("plain", var, function, args, kwargs, None))
        return var


def as_value_of(y: Any, primitive: Primitive, values: list[Any]) -> tuple[Any, str | None]:
    """A forward's result as the tracer keeps it, and the name of the conversion made.

    A traced value is a float or a float64 array: NumPy's scalars become
    floats, a 0-d result stays a 0-d array where an operand was one, other
    real dtypes become float64. The conversion's name is replayed.
    """
    if type(y) is float:
        return y, None
    if (type(y) is np.ndarray and y.ndim == 0) or isinstance(y, (np.floating, np.integer)):
        if any(type(v) is np.ndarray and v.ndim == 0 for v in values):
            return np.array(y, dtype=np.float64), "array0"
        return float(y), "float"
    if type(y) is np.ndarray:
        if y.dtype != np.float64:
            if y.dtype.kind not in "iufb":
                raise TypeError(f"{primitive.name}: gave an array of dtype {y.dtype}")
            return y.astype(np.float64), "astype"
        return y, None
    if isinstance(y, (float, int, np.floating, np.integer)):
        return float(y), "float"
    if is_traced(y):
        raise Unstageable(f"{primitive.name} gave a traced value", permanent=False)
    raise TypeError(f"{primitive.name}: gave {type(y).__name__}, not a value")
