"""The staged value: a value seen while a function is recorded for compiling.

It answers what a traced value answers (the table's ``__pullback_apply__``,
NumPy's ``__array_ufunc__`` and ``__array_function__``, the operators, the
ndarray methods), computing the concrete value as the tracer would and
recording each operation in its program. What has no derivative (a
comparison, ``argmax``, a mask) is recorded too, before it is made concrete,
so that the replay recomputes it; turning a staged value into a Python bool,
int or index records a guard with the value seen, which the replay checks.
"""

from __future__ import annotations

import operator
from typing import Any, NoReturn

import numpy as np

from .. import _traced_ops as _ops
from .._table import UFUNCS
from .._table.entry import Primitive
from .._tracing import dispatch
from .._tracing.methods import ArrayMethods
from .._values import is_traced
from .program import Const, Program, Unstageable, Var

__all__ = ["Staged", "template"]

# Functions that read only shapes and dtypes, which the signature guards: plain results.
_STATIC = frozenset(
    {
        np.shape, np.ndim, np.size, np.result_type, np.can_cast, np.isrealobj,
        np.iscomplexobj, np.may_share_memory, np.shares_memory,
    }
)  # fmt: skip

# Functions whose result's shape depends on the values: the replay checks the shape.
_DATA_SHAPED = frozenset({np.nonzero, np.argwhere, np.flatnonzero, np.unique, np.bincount})

_TO_PLAIN = (
    "compiled: a value that depends on the arguments through a derivative cannot become a "
    "plain number ({what}): its derivative would be lost. Use NumPy's functions on the value "
    "itself, and compare values with <, > for control flow"
)


def _foreign(x: Any) -> NoReturn:
    raise Unstageable(
        f"a traced value of an enclosing trace ({type(x).__name__}) is used inside the "
        "compiled function",
        permanent=False,
    )


def template(program: Program, x: Any) -> Any:
    """``x`` with its staged values replaced by :class:`Var` (lists, tuples, dicts walked)."""
    kind = type(x)
    if kind is Staged:
        if x.program is not program:
            _foreign(x)
        return Var(x.var)
    if kind is list or kind is tuple:
        return kind(template(program, item) for item in x)
    if kind is dict:
        return {k: template(program, v) for k, v in x.items()}
    if is_traced(x):
        _foreign(x)
    return x.copy() if kind is np.ndarray else x


def _concrete(x: Any) -> Any:
    kind = type(x)
    if kind is Staged:
        return x.value
    if kind is list or kind is tuple:
        return kind(_concrete(item) for item in x)
    if kind is dict:
        return {k: _concrete(v) for k, v in x.items()}
    return x


def _program_of(*items: Any) -> Program:
    for x in items:
        kind = type(x)
        if kind is Staged:
            program: Program = x.program
            return program
        if kind is list or kind is tuple:
            for item in x:
                if type(item) is Staged:
                    inner: Program = item.program
                    return inner
    raise AssertionError("a staged operation without a staged operand")  # pragma: no cover


def _stage_plain(program: Program, function: Any, args: tuple[Any, ...], kwargs: Any) -> Any:
    """Run ``function`` on the concrete values and record it: a staged result, no derivative."""
    arg_template = template(program, args)
    kw_template = template(program, kwargs)
    value = function(*_concrete(args), **_concrete(kwargs))
    return _staged_result(program, function, arg_template, kw_template, value)


def _staged_result(program: Program, function: Any, args: Any, kwargs: Any, value: Any) -> Any:
    kind = type(value)
    if kind is tuple or kind is list:  # several results (np.nonzero): one staged item each
        var = program.plain(function, args, kwargs, value)
        items = []
        for i, item in enumerate(value):
            items.append(_staged_result(program, operator.getitem, (Var(var), i), {}, item))
        return kind(items)
    if not isinstance(value, (np.ndarray, np.generic, bool, int, float)):
        return value  # a dtype, None: depends on shapes and dtypes only
    var = program.plain(function, args, kwargs, value)
    if function in _DATA_SHAPED and type(value) is np.ndarray:
        program.guard(var, "shape", value.shape)
    return Staged(value, program, var, False)


def _concretized(program: Program, x: Any) -> Any:
    """A parameter or an index with its staged parts made plain, each guarded by its value."""
    kind = type(x)
    if kind is Staged:
        return x._guarded("value")
    if kind is tuple or kind is list:
        return kind(_concretized(program, item) for item in x)
    if is_traced(x):
        _foreign(x)
    return x


def _operators(primitive: Primitive) -> tuple[Any, Any]:
    """``x op y`` and ``y op x`` for staged ``x``: the entry, recorded."""

    def method(self: Staged, other: Any) -> Any:
        return _binary(primitive, self, other)

    def reflected(self: Staged, other: Any) -> Any:
        return _binary(primitive, other, self)

    return method, reflected


def _in_place(op: str, primitive: Primitive) -> Any:
    def method(self: Staged, other: Any) -> Any:
        if type(self.value) is np.ndarray:
            raise TypeError(
                f"x {op}= y on an array in a compiled function: arrays cannot be changed in "
                f"place there; write x = x {op} y, which makes a new value"
            )
        return _binary(primitive, self, other)

    return method


def _comparison(function: Any) -> Any:
    def method(self: Staged, other: Any) -> Any:
        return _compare(function, self, other)

    return method


class Staged(ArrayMethods):
    """A value inside a function being compiled: its value, its program, its variable."""

    __slots__ = ("diff", "program", "value", "var")

    def __init__(self, value: Any, program: Program, var: int, diff: bool) -> None:
        self.value = value
        self.program = program
        self.var = var
        self.diff = diff

    def __pullback_concrete__(self) -> Any:
        return self.value

    @staticmethod
    def __pullback_constant__(function: Any, args: tuple[Any, ...]) -> Any:
        # A constant function of staged operands (an entry's mask, a sign): recorded.
        return _stage_plain(_program_of(*args), function, args, {})

    @staticmethod
    def __pullback_differentiate__(rule: Any) -> NoReturn:
        raise Unstageable("a derivative is taken inside the compiled function", permanent=True)

    @staticmethod
    def __pullback_apply__(
        primitive: Primitive, args: tuple[Any, ...], params: dict[str, Any]
    ) -> Any:
        program = _program_of(*args)
        operands: list[Any] = []
        values: list[Any] = []
        for a in args:
            if type(a) is Staged:
                if a.program is not program:
                    _foreign(a)
                operands.append(a.var)
                values.append(a.value)
            elif is_traced(a):
                _foreign(a)
            else:
                c = Const(a)
                operands.append(c)
                values.append(c.value)
        if params:
            params = {k: _concretized(program, v) for k, v in params.items()}
        y, var, diff = program.apply(primitive, operands, values, params)
        return Staged(y, program, var, diff)

    def _guarded(self, check: str) -> Any:
        """The plain value, with a guard that the replay sees the same (no derivative only)."""
        if self.diff:
            raise TypeError(_TO_PLAIN.format(what=f"{check} of it"))
        value = self.value
        if check == "bool":
            value = bool(value)
        elif check == "index":
            value = operator.index(value)
        elif check == "float":
            value = float(value)
        elif check == "int":
            value = int(value)
        self.program.guard(self.var, check, value)
        return value

    def __repr__(self) -> str:
        return f"Staged({self.value!r})"

    def __format__(self, spec: str) -> str:
        return format(self.value, spec)

    def __len__(self) -> int:
        return len(self.value)  # a shape: guarded by the signature

    def __iter__(self) -> Any:
        for i in range(len(self)):
            yield self[i]

    def __getitem__(self, key: Any) -> Any:
        return _ops.index(self, _concretized(self.program, key))

    def __array_ufunc__(self, ufunc: Any, method: str, *inputs: Any, **kwargs: Any) -> Any:
        if method == "__call__" and ufunc in dispatch.CONSTANT_UFUNCS and "out" not in kwargs:
            return _stage_plain(_program_of(*inputs), ufunc, inputs, kwargs)
        for x in inputs:
            if is_traced(x) and type(x) is not Staged:
                _foreign(x)
        if method == "__call__" and not kwargs:  # np.sin(x): the entry, as dispatch calls it
            entry = UFUNCS.get(ufunc)
            if entry is not None:
                return entry(*inputs)
        return dispatch.array_ufunc(ufunc, method, inputs, kwargs)

    def __array_function__(self, func: Any, types: Any, args: Any, kwargs: Any) -> Any:
        if func in dispatch.CONSTANT_FUNCTIONS:
            if func in _STATIC:
                return func(*_concrete(args), **_concrete(kwargs))
            return _stage_plain(_program_of(*args, *kwargs.values()), func, args, kwargs)
        return dispatch.array_function(func, args, kwargs)

    def __array__(self, *args: Any, **kwargs: Any) -> Any:
        return np.asarray(self._guarded("value")).copy()

    # -- operators: the table's entries, as the tracer's operators record them --------

    __add__, __radd__ = _operators(_ops.ADD)
    __sub__, __rsub__ = _operators(_ops.SUB)
    __mul__, __rmul__ = _operators(_ops.MUL)
    __truediv__, __rtruediv__ = _operators(_ops.DIV)
    __matmul__, __rmatmul__ = _operators(_ops.MATMUL)
    __mod__, __rmod__ = _operators(_ops.REMAINDER)

    def __pow__(self, exponent: Any) -> Any:
        return _ops.power_of(self, exponent)

    def __rpow__(self, base: Any) -> Any:
        return _ops.exponential_of(base, self)

    def __neg__(self) -> Any:
        return _ops.NEG(self)

    def __pos__(self) -> Any:
        return self

    def __abs__(self) -> Any:
        return _ops.ABS(self)

    # x += y rebinds a float (as for any float); an array would change in place: refused.
    __iadd__ = _in_place("+", _ops.ADD)
    __isub__ = _in_place("-", _ops.SUB)
    __imul__ = _in_place("*", _ops.MUL)
    __itruediv__ = _in_place("/", _ops.DIV)

    # Comparisons are recorded (no derivative): the replay recomputes them.
    __lt__ = _comparison(operator.lt)
    __le__ = _comparison(operator.le)
    __gt__ = _comparison(operator.gt)
    __ge__ = _comparison(operator.ge)
    __eq__ = _comparison(operator.eq)
    __ne__ = _comparison(operator.ne)
    __hash__ = object.__hash__

    def __bool__(self) -> bool:
        value: bool = self._guarded("bool")
        return value

    def __index__(self) -> int:
        value: int = self._guarded("index")
        return value

    def __int__(self) -> int:
        value: int = self._guarded("int")
        return value

    def __float__(self) -> float:
        value: float = self._guarded("float")
        return value

    def __complex__(self) -> NoReturn:
        raise TypeError(_TO_PLAIN.format(what="complex(x)"))

    def item(self, *args: Any) -> Any:
        return np.asarray(self._guarded("value")).item(*args)

    def tolist(self) -> Any:
        return np.asarray(self._guarded("value")).tolist()


def _is_operand(x: Any) -> bool:
    """An operand of staged arithmetic: a staged value, a number, or a real or boolean array."""
    kind = type(x)
    if kind is Staged or kind is float or kind is int:
        return True
    if kind is np.ndarray:
        return bool(x.dtype.kind in "iufb")
    if is_traced(x):
        _foreign(x)
    return isinstance(x, (float, int, np.floating, np.integer, np.bool_))


def _binary(primitive: Primitive, a: Any, b: Any) -> Any:
    if not (_is_operand(a) and _is_operand(b)):
        return NotImplemented
    return Staged.__pullback_apply__(primitive, (a, b), {})  # what primitive(a, b) calls


def _compare(function: Any, a: Any, b: Any) -> Any:
    if not (_is_operand(a) and _is_operand(b)):
        return NotImplemented
    return _stage_plain(_program_of(a, b), function, (a, b), {})
