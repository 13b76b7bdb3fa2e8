"""Symbolic floats: an entry's float form, run once on names, written out as lines of code.

The binary entries give their value and partials at two floats as Python
functions (``mul_at_floats(a, b) -> (a * b, (b, a))``; ``div`` returns a
pullback closure). Run on :class:`Sym` values, that same code writes itself
out as straight-line statements, one per arithmetic operation, in the order
it would compute them: the compiled code does the entry's own arithmetic, so
it gives its bits, and no derivative is written a second time here. Code
that branches on a value, or calls anything but arithmetic, raises a
TypeError here, and the compiler then calls the entry's function instead.
"""

from __future__ import annotations

from typing import Any

__all__ = ["Emitter", "Sym", "literal"]


def literal(x: Any) -> str | None:
    """Python source for a float or int constant (exact: ``repr`` round-trips), or None."""
    kind = type(x)
    if kind is float:
        if x != x:
            return "nan"
        if x in (float("inf"), float("-inf")):
            return "inf" if x > 0 else "(-inf)"
        text = repr(x)
        return f"({text})" if text.startswith("-") else text
    if kind is int:
        return f"({x})" if x < 0 else repr(x)
    return None


class Emitter:
    """Where symbolic arithmetic writes its statements: one list at a time, fresh names."""

    __slots__ = ("count", "lines", "targets")

    def __init__(self) -> None:
        self.count = 0
        self.lines: list[str] = []
        self.targets: list[str | None] = []  # each line's assigned name (None: not a plain one)

    def assign(self, expression: str) -> Sym:
        """A statement ``s<n> = expression``; its name as a symbol."""
        self.count += 1
        name = f"s{self.count}"
        self.lines.append(f"{name} = {expression}")
        self.targets.append(name)
        return Sym(name, self)

    def line(self, text: str, target: str | None = None) -> None:
        """A statement written as it is (``target``: the name it assigns, if any)."""
        self.lines.append(text)
        self.targets.append(target)

    def take_last(self, sym: Sym) -> str | None:
        """The expression of ``sym`` if its statement is the last one (removed), else None.

        Only a statement this emitter made (``s<n> = ...``) is taken: a name of
        the caller's (an operand, a cotangent) stays where it is.
        """
        if self.targets and self.targets[-1] == sym.text and sym.text.startswith("s"):
            self.targets.pop()
            return self.lines.pop().split(" = ", 1)[1]
        return None


class Sym:
    """A float known by name: its arithmetic writes statements instead of computing."""

    __slots__ = ("emitter", "text")

    def __init__(self, text: str, emitter: Emitter) -> None:
        self.text = text
        self.emitter = emitter

    def _operand(self, other: Any) -> str:
        if type(other) is Sym:
            return other.text
        text = literal(other)
        if text is None:
            raise TypeError(f"symbolic float: cannot take {type(other).__name__}")
        return text

    def _binary(self, op: str, other: Any, reflected: bool) -> Sym:
        o = self._operand(other)
        a, b = (o, self.text) if reflected else (self.text, o)
        return self.emitter.assign(f"{a} {op} {b}")

    def __add__(self, other: Any) -> Sym:
        return self._binary("+", other, False)

    def __radd__(self, other: Any) -> Sym:
        return self._binary("+", other, True)

    def __sub__(self, other: Any) -> Sym:
        return self._binary("-", other, False)

    def __rsub__(self, other: Any) -> Sym:
        return self._binary("-", other, True)

    def __mul__(self, other: Any) -> Sym:
        # x * 1.0 is x and x * -1.0 is -x, bit for bit (IEEE 754): no statement.
        if type(other) is float and other == 1.0:
            return self
        if type(other) is float and other == -1.0:
            return -self
        return self._binary("*", other, False)

    def __rmul__(self, other: Any) -> Sym:
        if type(other) is float and other == 1.0:
            return self
        return self._binary("*", other, True)

    def __truediv__(self, other: Any) -> Sym:
        return self._binary("/", other, False)

    def __rtruediv__(self, other: Any) -> Sym:
        return self._binary("/", other, True)

    def __neg__(self) -> Sym:
        return self.emitter.assign(f"-{self.text}")

    def __bool__(self) -> bool:
        raise TypeError("symbolic float: a branch on a value cannot be written out")
