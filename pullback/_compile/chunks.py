"""Straight-line code cut into chunks, each compiled once per shape.

Why: CPython's ``compile`` costs about 20 µs a line in a short function but
nearer 100 µs a line in a function of a few thousand lines, and a loop
recorded 250 times is the same code 250 times. So the lines are cut into
chunks of a few operations, each chunk becomes a function of the values it
reads (its names made canonical: ``a0, a1`` in, ``l0, l1`` its own, ``k0``
its constants, bound as defaults), and chunks of the same shape share one
compiled code object. A small function of chunk calls (the glue) runs them
in order. A chunk call costs a fraction of a microsecond.
"""

from __future__ import annotations

import re
import types
from typing import Any

__all__ = ["CHUNK_OPS", "NAME", "glue"]

CHUNK_OPS = 64
"""Operations a chunk: long enough that the call per chunk costs nothing per operation."""

NAME = re.compile(r"\b(?:[vdpbsgt]\d+|t_g\d+|K\d+|dy)\b")
_SPLIT = re.compile(r"\b([vdpbsgt]\d+|t_g\d+|K\d+|dy)\b")
_LOCAL = re.compile(r"\b[alk]\d+\b")  # a chunk's own names (arguments, locals, constants)
_IDENTIFIER = re.compile(r"[A-Za-z_]\w*")
_RANKS = tuple(f"\0{i}" for i in range(4096))  # a chunk's names by rank, in its shape's key
_PURE = frozenset(
    {"exp", "log", "sin", "cos", "tanh", "cosh", "pow", "abs", "inf", "nan", "if", "else"}
)


def _analysed(
    lines: list[str], targets: list[str | None]
) -> tuple[list[str], list[str], list[str]]:
    """A chunk's text cut at its names, the names it reads first, and those it assigns.

    One regular-expression split of the whole chunk; a name is assigned where
    it is one of the names its line's target gives (at the line's start).
    """
    parts = _SPLIT.split("\n".join(lines))
    inputs: list[str] = []
    defined: list[str] = []
    seen: set[str] = set()  # read or assigned so far
    assigned: set[str] = set()
    assigning: list[str] = []  # the current line's targets: assigned after its reads
    line = 0
    to_assign = _assigned_count(targets[0])
    for k in range(1, len(parts) + 2, 2):
        before = parts[k - 1]
        if "\n" in before or k >= len(parts):  # a new line (or the end): its targets are set
            for name in assigning:
                seen.add(name)
                if name not in assigned:
                    assigned.add(name)
                    defined.append(name)
            if k >= len(parts):
                break
            assigning = []
            line += before.count("\n")
            to_assign = _assigned_count(targets[line])
        name = parts[k]
        if to_assign:
            to_assign -= 1
            assigning.append(name)
        elif name not in seen:
            seen.add(name)
            inputs.append(name)
    return parts, inputs, defined


def _assigned_count(target: str | None) -> int:
    # A line's target is None, or the names it assigns (each one NAME matches).
    return 0 if target is None else target.count(", ") + 1


def _inline(lines: list[str], keep: set[str]) -> list[str]:
    """Locals of a chunk assigned once and read once, by a later line, written into it.

    ``l3 = a2 * 0.001`` then ``l4 = a1 + l3`` becomes ``l4 = a1 + (a2 * 0.001)``:
    the same operations in the same order (Python has no fused multiply-add),
    one store and one load fewer. Only a local not in ``keep`` (the chunk's
    outputs), whose expression is arithmetic and ``math`` calls, is written in.
    """
    assigned: dict[str, int] = {}
    reads: dict[str, int] = {}
    for line in lines:
        names = _LOCAL.findall(line)
        target = line.split(" = ", 1)[0] if not line.startswith(" ") and " = " in line else ""
        start = 0
        if names and names[0] == target:
            assigned[target] = assigned.get(target, 0) + 1
            start = 1
        for name in names[start:]:
            reads[name] = reads.get(name, 0) + 1
    pending: dict[str, str] = {}

    def written_in(match: re.Match[str]) -> str:
        name = match.group(0)
        expression = pending.pop(name, None)
        return name if expression is None else f"({expression})"

    out: list[str] = []
    for line in lines:
        if pending:
            head, sep, tail = line.partition(" = ")
            line = (
                head + sep + _LOCAL.sub(written_in, tail) if sep else _LOCAL.sub(written_in, line)
            )
        target = line.split(" = ", 1)[0] if not line.startswith(" ") and " = " in line else ""
        if (
            target.startswith("l")
            and _LOCAL.fullmatch(target)
            and assigned.get(target) == 1
            and reads.get(target) == 1
            and target not in keep
        ):
            expression = line[len(target) + 3 :]
            if all(n in _PURE for n in _IDENTIFIER.findall(_LOCAL.sub("", expression))):
                pending[target] = expression
                continue
        out.append(line)
    return out


def _chunk_code(
    parts: list[str],
    arguments: list[str],
    constants: list[str],
    defined: list[str],
    outputs: list[str],
) -> Any:
    """A chunk's code object: its names made canonical, its locals read once written in."""
    rename = {n: f"a{i}" for i, n in enumerate(arguments)}
    rename.update({n: f"k{i}" for i, n in enumerate(constants)})
    rename.update({n: f"l{i}" for i, n in enumerate(d for d in defined if d not in rename)})
    renamed = list(parts)
    renamed[1::2] = list(map(rename.__getitem__, parts[1::2]))
    returned = [rename[n] for n in outputs]
    lines = _inline("".join(renamed).split("\n"), set(returned))
    body = "".join("    " + line + "\n" for line in lines)
    parameters = [*(rename[n] for n in arguments), *(f"{rename[n]}=None" for n in constants)]
    source = f"def chunk({', '.join(parameters)}):\n{body}    return {_listed(returned)}\n"
    scope: dict[str, Any] = {}
    exec(compile(source, "<pullback compiled chunk>", "exec"), {}, scope)
    return scope["chunk"].__code__


def _listed(names: list[str]) -> str:
    """Names as a chunk returns them: one name alone (no tuple to make), else a tuple."""
    return names[0] if len(names) == 1 else "(" + "".join(n + ", " for n in names) + ")"


def glue(
    passes: list[tuple[list[str], list[str | None], list[int]]],
    ends: list[set[str]],
    namespace: dict[str, Any],
) -> list[list[str]]:
    """Each pass's lines as chunk calls: ``passes[i] = (lines, targets, op_starts)``.

    ``ends[i]`` are the names the glue of pass ``i`` reads after its chunks
    (its return). Each chunk's names are made canonical first, so chunks of the
    same shape share one inlined, compiled code object (a recorded loop is
    written and compiled once). The chunk functions are put in ``namespace``
    (``CH<n>``); the glue lines of every pass are returned, in order.
    """
    chunks: list[tuple[int, list[str], list[str | None]]] = []
    for index, (lines, targets, starts) in enumerate(passes):
        cuts = [*starts[::CHUNK_OPS][1:], len(lines)]
        start = 0
        for cut in cuts:
            if cut > start:
                chunks.append((index, lines[start:cut], targets[start:cut]))
            start = cut
    # A chunk's shape: its text with each name replaced by its rank of first
    # appearance, and its lines' targets. Chunks of one shape (a loop's) read and
    # assign names at the same ranks, so the per-name analysis runs once a shape.
    shapes: dict[Any, tuple[list[int], list[int]]] = {}
    analysed = []
    last_read: dict[str, float] = {}
    for position, (index, lines, targets) in enumerate(chunks):
        parts = _SPLIT.split("\n".join(lines))
        names = parts[1::2]
        order = list(dict.fromkeys(names))
        ranks = _RANKS if len(order) <= len(_RANKS) else tuple(f"\0{i}" for i in range(len(order)))
        ranked = list(parts)
        ranked[1::2] = list(map(dict(zip(order, ranks, strict=False)).__getitem__, names))
        shape_key = ("".join(ranked), tuple(map(_assigned_count, targets)))
        shape = shapes.get(shape_key)
        if shape is None:
            _, inputs, defined = _analysed(lines, targets)
            rank = {n: i for i, n in enumerate(order)}
            shape = shapes[shape_key] = ([rank[n] for n in inputs], [rank[n] for n in defined])
        last_read.update(dict.fromkeys(names, position))
        analysed.append((index, parts, order, shape_key, shape))
    for index, ends_of in enumerate(ends):
        after = max((p for p, chunk in enumerate(analysed) if chunk[0] == index), default=-1) + 0.5
        for name in ends_of:
            last_read[name] = max(last_read.get(name, -1.0), after)
    compiled: dict[Any, Any] = {}
    out: list[list[str]] = [[] for _ in passes]
    for position, (index, parts, order, shape_key, (input_ranks, defined_ranks)) in enumerate(
        analysed
    ):
        inputs = [order[i] for i in input_ranks]
        defined = [order[i] for i in defined_ranks]
        kept = tuple(last_read.get(n, -1) > position for n in defined)
        constant = tuple(n.startswith("K") for n in inputs)
        outputs = [n for n, k in zip(defined, kept, strict=True) if k]
        constants = [n for n, c in zip(inputs, constant, strict=True) if c]
        arguments = [n for n, c in zip(inputs, constant, strict=True) if not c]
        key = (shape_key, kept, constant)
        code = compiled.get(key)
        if code is None:
            code = compiled[key] = _chunk_code(parts, arguments, constants, defined, outputs)
        defaults = tuple(namespace[n] for n in constants) or None
        name = f"CH{len(namespace)}"
        namespace[name] = types.FunctionType(code, namespace, "chunk", defaults)
        call = f"{name}({', '.join(arguments)})"
        out[index].append(f"{_listed(outputs)} = {call}" if outputs else call)
    return out
