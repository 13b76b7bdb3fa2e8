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

__all__ = ["CHUNK_OPS", "glue", "inline"]

CHUNK_OPS = 16
"""Operations a chunk: long enough that the call per chunk costs nothing per operation."""

NAME = re.compile(r"\b(?:[vdpbsgt]\d+|t_g\d+|K\d+|dy)\b")
_SPLIT = re.compile(r"\b([vdpbsgt]\d+|t_g\d+|K\d+|dy)\b")


def _names(lines: list[str], targets: list[str | None]) -> tuple[list[str], list[str]]:
    """A chunk's names: those it reads before assigning them, and those it assigns, in order."""
    inputs: list[str] = []
    seen: set[str] = set()  # read or assigned so far
    assigned_so_far: set[str] = set()
    defined: list[str] = []
    for line, target in zip(lines, targets, strict=True):
        if target is None:
            reads = NAME.findall(line)
            assigned: list[str] = []
        else:
            reads = NAME.findall(line, len(target) + 3)  # the right-hand side
            assigned = [t for t in target.split(", ") if NAME.fullmatch(t)]
        for name in reads:
            if name not in seen:
                seen.add(name)
                inputs.append(name)
        for name in assigned:
            seen.add(name)
            if name not in assigned_so_far:
                assigned_so_far.add(name)
                defined.append(name)
    return inputs, defined


_IDENTIFIER = re.compile(r"[A-Za-z_]\w*")
_PURE = frozenset(
    {"exp", "log", "sin", "cos", "tanh", "cosh", "pow", "abs", "inf", "nan", "if", "else"}
)


def inline(
    lines: list[str], targets: list[str | None], starts: list[int], used_after: set[str]
) -> tuple[list[str], list[str | None], list[int]]:
    """Values of the forward pass read once, by a later line of it, written into that line.

    ``v3 = v2 * 0.001`` then ``v4 = v1 + v3`` becomes ``v4 = v1 + (v2 * 0.001)``:
    the same operations in the same order (Python has no fused multiply-add),
    one store and one load fewer. Only a name assigned once and read once,
    not by ``used_after`` (the backward pass, the output), whose expression is
    arithmetic and ``math`` calls on such names, is written in.
    """
    assigned: dict[str, int] = {}
    reads: dict[str, int] = {}
    for line, target in zip(lines, targets, strict=True):
        if target is not None:
            assigned[target] = assigned.get(target, 0) + 1
            rhs = NAME.findall(line, len(target) + 3)
        else:
            rhs = NAME.findall(line)
        for name in rhs:
            reads[name] = reads.get(name, 0) + 1
    pending: dict[str, str] = {}

    def written_in(match: re.Match[str]) -> str:
        name = match.group(0)
        expression = pending.pop(name, None)
        return name if expression is None else f"({expression})"

    out: list[str] = []
    out_targets: list[str | None] = []
    moved = [0] * (len(lines) + 1)
    for i, (line, target) in enumerate(zip(lines, targets, strict=True)):
        moved[i] = len(out)
        if pending:
            line = NAME.sub(written_in, line)
        if (
            target is not None
            and target[0] in "vsg"
            and NAME.fullmatch(target)
            and assigned[target] == 1
            and reads.get(target) == 1
            and target not in used_after
            and not line.startswith(" ")
        ):
            expression = line[len(target) + 3 :]
            if all(n in _PURE for n in _IDENTIFIER.findall(NAME.sub("", expression))):
                pending[target] = expression
                continue
        out.append(line)
        out_targets.append(target)
    moved[len(lines)] = len(out)
    return out, out_targets, [moved[s] for s in starts]


def glue(
    passes: list[tuple[list[str], list[str | None], list[int]]],
    ends: list[set[str]],
    namespace: dict[str, Any],
) -> list[list[str]]:
    """Each pass's lines as chunk calls: ``passes[i] = (lines, targets, op_starts)``.

    ``ends[i]`` are the names the glue of pass ``i`` reads after its chunks
    (its return). The chunk functions are put in ``namespace`` (``CH<n>``);
    the glue lines of every pass are returned, in order.
    """
    chunks: list[tuple[int, list[str], list[str | None]]] = []
    for index, (lines, targets, starts) in enumerate(passes):
        cuts = [*starts[::CHUNK_OPS][1:], len(lines)]
        start = 0
        for cut in cuts:
            if cut > start:
                chunks.append((index, lines[start:cut], targets[start:cut]))
            start = cut
    analysed = []
    last_read: dict[str, float] = {}
    for position, (index, lines, targets) in enumerate(chunks):
        parts = _SPLIT.split("\n".join(lines))
        inputs, defined = _names(lines, targets)
        for name in parts[1::2]:
            last_read[name] = position
        analysed.append((index, parts, inputs, defined))
    for index, names in enumerate(ends):
        after = max((p for p, chunk in enumerate(analysed) if chunk[0] == index), default=-1) + 0.5
        for name in names:
            last_read[name] = max(last_read.get(name, -1.0), after)
    compiled: dict[str, Any] = {}
    out: list[list[str]] = [[] for _ in passes]
    for position, (index, parts, inputs, defined) in enumerate(analysed):
        outputs = [n for n in defined if last_read.get(n, -1) > position]
        constants = [n for n in inputs if n.startswith("K")]
        arguments = [n for n in inputs if not n.startswith("K")]
        rename = {n: f"a{i}" for i, n in enumerate(arguments)}
        rename.update({n: f"k{i}" for i, n in enumerate(constants)})
        rename.update({n: f"l{i}" for i, n in enumerate(d for d in defined if d not in rename)})
        renamed = list(parts)
        renamed[1::2] = [rename[n] for n in parts[1::2]]
        body = "    " + "".join(renamed).replace("\n", "\n    ") + "\n"
        parameters = [*(rename[n] for n in arguments), *(f"{rename[n]}=None" for n in constants)]
        returned = "".join(rename[n] + ", " for n in outputs)
        source = f"def chunk({', '.join(parameters)}):\n{body}    return ({returned})\n"
        code = compiled.get(source)
        if code is None:
            scope: dict[str, Any] = {}
            exec(compile(source, "<pullback compiled chunk>", "exec"), namespace, scope)
            code = compiled[source] = scope["chunk"].__code__
        defaults = tuple(namespace[n] for n in constants) or None
        name = f"CH{len(namespace)}"
        namespace[name] = types.FunctionType(code, namespace, "chunk", defaults)
        call = f"{name}({', '.join(arguments)})"
        out[index].append(f"{''.join(n + ', ' for n in outputs)} = {call}" if outputs else call)
    return out
