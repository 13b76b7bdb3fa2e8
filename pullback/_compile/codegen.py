"""A recorded program written out as straight-line Python: a forward and a backward function.

The forward function takes the arguments' leaves, recomputes every value (the
entries' forwards, or their float forms inline), checks every guard (raising
:class:`Retrace` where the call differs from the recording), and returns the
output and the values the backward function needs. The backward function
takes the cotangent and those values and runs each entry's vjps, last
operation first, exactly as the tracer's backward loop calls them: floats
handed to the vjps as ``np.float64`` (IEEE arithmetic), cotangents of a value
used several times added in the order the tracer adds them, operations whose
output no cotangent reaches skipped. Every derivative is its entry's: the
float forms are the entries' ``float_code`` lines, or their ``at_floats``
functions (written out symbolically, see ``symbolic``, or called); a vjp
that sums back a broadcast operand or restores reduced axes has that shape
bookkeeping decided here, for the recorded shapes, around its entry's own
products (see ``specialise``).
"""

from __future__ import annotations

import operator
import re
from typing import Any

import numpy as np

from .._ieee import add as ieee_add
from .._ieee import quiet
from .._table.entry import as_float_if_scalar
from .._table.scalar import MATH
from .chunks import NAME, glue
from .program import Op, Program, Var
from .specialise import products_constant, restored, shape_of_value, summed_back
from .symbolic import Emitter, Sym, literal

__all__ = ["Compiled", "Retrace", "generate"]


class Retrace(Exception):  # a signal: a guard failed
    """A guard failed: this call differs from the recording in something the trace used."""


def _same(value: Any, expected: Any) -> bool:
    """Whether a value seen at replay is the one the recording saw (kind, shape, bits)."""
    if type(expected) is np.ndarray:
        return (
            type(value) is np.ndarray
            and value.shape == expected.shape
            and value.dtype == expected.dtype
            and bool(np.array_equal(value, expected, equal_nan=value.dtype.kind in "fc"))
        )
    if type(value) is not type(expected):
        return False
    return bool(value == expected) or (value != value and expected != expected)


def _cotangent(g: Any) -> Any:
    """A vjp's result as the tracer keeps it: a float, or an array of one or more dimensions."""
    kind = type(g)
    if kind is float or (kind is np.ndarray and g.ndim):
        return g
    return float(g)


_BASE: dict[str, Any] = {
    **MATH,
    "QUIET": quiet,
    "RETRACE": Retrace,
    "SAME": _same,
    "COT": _cotangent,
    "ADD": ieee_add,
    "F64": np.float64,
    "ASF": as_float_if_scalar,
    "ARRAY64": lambda y: np.array(y, dtype=np.float64),
    "INDEX": operator.index,
    "ADDRED": np.add.reduce,
    "RESHAPE": np.reshape,
    "abs": abs,
}

_X = re.compile(r"\bx\b")
_BARE = re.compile(r"\(?(g\d+|dy)\)?")
_ASSIGNED = re.compile(r"\s*(\w+) = ")
_BINARY_MODULE = "pullback._table.binary"


class Compiled:
    """The two compiled functions of one program, and its source (for reading and tests)."""

    __slots__ = ("backward", "forward", "source")

    def __init__(self, forward: Any, backward: Any, source: str) -> None:
        self.forward = forward
        self.backward = backward
        self.source = source


class _Writer:
    """The state of one program's code generation."""

    def __init__(self, program: Program, n_leaves: int, root: Any) -> None:
        self.program = program
        self.n_leaves = n_leaves
        self.root = root
        self.namespace: dict[str, Any] = dict(_BASE)
        self.emitter = Emitter()
        self.defined: set[str] = {f"v{i}" for i in range(n_leaves)}
        self.partials: dict[int, Any] = {}  # a float op's derivative, for the backward pass
        self.forms: dict[Any, Any] = {}  # each entry's float form, prepared (see _float_form)
        self.alias: dict[int, str] = {}  # a cotangent that is another's, unchanged
        self.probes: dict[Any, Any] = {}  # products functions probed (see specialise)
        self.quiet = False

    # -- constants and templates ----------------------------------------------------------

    def constant(self, value: Any) -> str:
        text = literal(value)
        if text is not None:
            return text
        if value is None or type(value) is bool:
            return repr(value)
        name = f"K{len(self.namespace)}"
        self.namespace[name] = value
        return name

    def operand(self, o: Any) -> str:
        return f"v{o}" if type(o) is int else self.constant(o.value)

    def render(self, x: Any) -> str:
        kind = type(x)
        if kind is Var:
            return f"v{x.index}"
        if kind is list:
            return "[" + ", ".join(self.render(i) for i in x) + "]"
        if kind is tuple:
            return "(" + "".join(self.render(i) + ", " for i in x) + ")"
        if kind is dict and all(type(k) is str for k in x):
            return "{" + ", ".join(f"{k!r}: {self.render(v)}" for k, v in x.items()) + "}"
        return self.constant(x)

    def call(self, function: Any, args: str, params: dict[str, Any]) -> str:
        name = self.function(function)
        keywords = "".join(f", {k}={self.render(v)}" for k, v in params.items())
        if args and not keywords:
            return f"{name}({args})"
        return f"{name}({args}{keywords})" if args else f"{name}({keywords.lstrip(', ')})"

    def function(self, f: Any) -> str:
        name = f"K{len(self.namespace)}"
        self.namespace[name] = f
        return name

    def line(self, text: str, target: str | None = None) -> None:
        self.emitter.lines.append(text)
        self.emitter.targets.append(target)
        if target is not None:
            if ", " in target:
                self.defined.update(target.split(", "))
            else:
                self.defined.add(target)

    # -- the forward pass -----------------------------------------------------------------

    def forward_op(self, op: Op) -> None:
        kind = op[0]
        if kind == "float":
            self.float_forward(op)
        elif kind == "numpy":
            _, var, entry, operands, params, conversion = op
            args = ", ".join(self.operand(o) for o in operands)
            self.quiet = True
            if entry.residuals is None:
                self.line(f"v{var} = {self.call(entry.forward, args, params)}", f"v{var}")
            else:  # the value, and b: what the entry's vjps read (as the tracer keeps it)
                call = self.call(entry.residuals, args, params)
                self.line(f"v{var}, b{var} = {call}", f"v{var}, b{var}")
                self.defined.add(f"b{var}")
            if conversion == "float":
                self.line(f"v{var} = float(v{var})", f"v{var}")
            elif conversion == "array0":
                self.line(f"v{var} = ARRAY64(v{var})", f"v{var}")
            elif conversion == "astype":
                self.line(f"v{var} = v{var}.astype(F64)", f"v{var}")
        elif kind == "rule":
            _, var, entry, operands = op
            args = ", ".join(self.operand(o) for o in operands)
            self.quiet = True
            self.line(f"v{var}, b{var} = {self.function(entry.rule)}({args})", f"v{var}, b{var}")
            self.defined.add(f"b{var}")
        elif kind == "plain":
            _, var, function, args, kwargs, conversion = op
            self.quiet = True
            rendered = ", ".join(self.render(a) for a in args)
            if function in _OPERATORS:
                a, b = (self.render(a) for a in args)
                expression = f"({a} {_OPERATORS[function]} {b})"
            elif function is operator.getitem:
                expression = f"{self.render(args[0])}[{args[1]!r}]"
            else:
                expression = self.call(function, rendered, kwargs)
            if conversion == "scalar":
                expression = f"ASF({expression})"
            self.line(f"v{var} = {expression}", f"v{var}")
        else:  # a guard
            _, var, check, expected = op
            v = f"v{var}"
            if check == "bool":
                self.line(f"if {'not ' if expected else ''}{v}: raise RETRACE")
            elif check == "shape":
                self.line(f"if {v}.shape != {self.constant(expected)}: raise RETRACE")
            elif check == "index":
                self.line(f"if INDEX({v}) != {self.constant(expected)}: raise RETRACE")
            elif check in ("int", "float"):
                self.line(f"if not SAME({check}({v}), {self.constant(expected)}): raise RETRACE")
            else:
                self.line(f"if not SAME({v}, {self.constant(expected)}): raise RETRACE")

    def float_forward(self, op: Op) -> None:
        _, var, entry, operands = op
        at_floats = entry.at_floats
        form = self.forms.get(entry)
        if form is None:
            form = self.forms[entry] = _float_form(entry)
        if type(form) is list:
            self.float_code_forward(var, form, self.operand(operands[0]))
            return
        if form:
            mark = len(self.emitter.lines)
            try:
                syms = [Sym(f"v{o}", self.emitter) if type(o) is int else o.value for o in operands]
                y, partials = at_floats(*syms)
                self.bind_result(var, y)
            except Exception:  # the code does more than arithmetic: call it instead
                del self.emitter.lines[mark:]
                del self.emitter.targets[mark:]
            else:
                for target in self.emitter.targets[mark:]:
                    if target is not None:
                        self.defined.add(target)
                self.partials[var] = ("sym", partials)
                return
        args = ", ".join(self.operand(o) for o in operands)
        self.line(f"v{var}, p{var} = {self.function(at_floats)}({args})", f"v{var}, p{var}")
        self.defined.add(f"p{var}")
        self.partials[var] = ("call", f"p{var}")

    def bind_result(self, var: int, y: Any) -> None:
        name = f"v{var}"
        if type(y) is Sym:
            expression = self.emitter.take_last(y)
            self.line(f"{name} = {expression if expression is not None else y.text}", name)
            y.text = name  # a pullback closure that holds it now reads the variable
        else:
            text = literal(y)
            if text is None:
                raise TypeError("symbolic float: the value is not a float")
            self.line(f"{name} = {text}", name)

    def float_code_forward(self, var: int, code: list[tuple[str, Any]], x: str) -> None:
        d = f"d{var}"
        out = f"v{var}"
        if code[0][0] == "":  # branches: the lines run as written, on a local x
            self.line(f"x = {x}")
            for line in code[0][1]:
                line = line.format(d=d)
                assigned = _ASSIGNED.match(line)
                self.line(line, _named(assigned.group(1)) if assigned else None)
            self.line(f"{out} = x", out)
            self.defined.add(d)
            self.partials[var] = ("d", d)
            return
        current = x
        for target, parts in code:
            expression = current.join(parts)
            if "{d}" in expression:
                expression = expression.replace("{d}", d)
            if target == "x":
                target = current = out
                self.line(f"{target} = {expression}", target)
            elif target == "{d}":
                self.line(f"{d} = {expression}", d)
            else:
                self.line(f"{target} = {expression}", _named(target))
        if current != out:
            self.line(f"{out} = {current}", out)
        self.partials[var] = ("d", d)

    # -- the backward pass ----------------------------------------------------------------

    def backward(self) -> tuple[list[str], list[str | None], list[int], list[bool]]:
        program = self.program
        self.emitter.lines = []
        self.emitter.targets = []
        reached = [False] * len(program.floats)
        root = self.root
        if type(root) is int and program.diff[root]:
            reached[root] = True
            self.alias[root] = "dy"
        starts = []
        for op in reversed(program.ops):
            kind = op[0]
            if kind in ("plain", "guard") or not reached[op[1]]:
                continue
            starts.append(len(self.emitter.lines))
            operands = op[3]
            for i, expression in self.cotangents(op):
                o = operands[i]
                self.accumulate(o, expression, reached[o])
                reached[o] = True
        return self.emitter.lines, self.emitter.targets, starts, reached

    def needed(self, op: Op) -> list[int]:
        diff = self.program.diff
        vjps = op[2].vjps
        out = []
        for i, o in enumerate(op[3]):
            if type(o) is not int or not diff[o]:
                continue
            if op[0] == "numpy" and vjps is not None and op[2].arity >= 0 and vjps[i] is None:
                continue
            out.append(i)
        return out

    def cotangents(self, op: Op) -> list[tuple[int, str]]:
        kind, var = op[0], op[1]
        g = self.alias.get(var, f"g{var}")
        needed = self.needed(op)
        if kind == "float":
            how, partial = self.partials[var]
            if how == "d":
                return [(i, f"{g} * {partial}") for i in needed]
            if how == "call":
                return self.called_partials(g, partial, len(op[3]), needed, var)
            return self.symbolic_partials(g, partial, needed)
        if kind == "rule":
            if len(op[3]) == 1:
                return [(i, f"b{var}({g})") for i in needed]
            self.emitter.line(f"t{var} = b{var}({g})", f"t{var}")
            return [(i, f"t{var}[{i}]") for i in needed]
        return self.vjp_calls(op, needed)

    def called_partials(self, g: str, p: str, arity: int, needed: list[int], var: int) -> list[Any]:
        # As the tracer's backward loop reads a float node: a number for one
        # operand, a pair for two, else a pullback.
        if arity == 1:
            return [(i, f"({g} * {p} if type({p}) is float else {p}({g}))") for i in needed]
        self.emitter.line(
            f"t_g{var} = ({g} * {p}[0], {g} * {p}[1]) if type({p}) is tuple else {p}({g})",
            f"t_g{var}",
        )
        return [(i, f"t_g{var}[{i}]") for i in needed]

    def symbolic_partials(self, g: str, partials: Any, needed: list[int]) -> list[Any]:
        if not callable(partials):  # numbers and names: g * partial written directly
            each = partials if type(partials) is tuple else (partials,)
            products = [_times(g, each[i]) for i in needed]
            if None not in products:
                return list(zip(needed, products, strict=True))
        gsym = Sym(g, self.emitter)
        if callable(partials):
            results = partials(gsym)
            results = results if type(results) is tuple else (results,)
        elif type(partials) is tuple:  # the tracer's g * partial, for the operands needed only
            results = tuple(gsym * p if i in needed else None for i, p in enumerate(partials))
        else:
            results = (gsym * partials,)
        out = []
        for i in needed:
            r = results[i]
            if type(r) is Sym:
                taken = self.emitter.take_last(r)
                out.append((i, f"({taken})" if taken is not None else r.text))
            else:
                out.append((i, self.constant(r)))
        return out

    def vjp_calls(self, op: Op, needed: list[int]) -> list[tuple[int, str]]:
        _, var, entry, operands, params, _ = op
        floats = self.program.floats
        vjps = entry.vjps
        assert vjps is not None
        g = self.alias.get(var, f"g{var}")
        g = f"F64({g})" if floats[var] else g
        y = f"F64(v{var})" if floats[var] else f"v{var}"
        xs = []
        for o in operands:
            if type(o) is int:
                xs.append(f"F64(v{o})" if floats[o] else f"v{o}")
            elif type(o.value) is float:
                xs.append(self.constant(np.float64(o.value)))
            else:
                xs.append(self.constant(o.value))
        args = ", ".join([g, y, *xs])
        if entry.residuals is not None:  # the vjps read what the forward kept
            args += f", res=b{var}"
        values = self.program.values
        shapes = [shape_of_value(values[o] if type(o) is int else o.value) for o in operands]
        gshape = shape_of_value(values[var])
        out = []
        for i in needed:
            if entry.arity < 0:
                call = self.call(vjps[0], f"{i}, {args}", params)
            else:
                written = self.specialised(entry, vjps[i], i, args, gshape, shapes, params)
                call = written or self.call(vjps[i], args, params)
            # An array operand of one or more dimensions gets an array cotangent, as
            # it is (the vjps sum back to the operand's shape): no conversion to make.
            out.append((i, call if shapes[i] else f"COT({call})"))
        return out

    def specialised(
        self, entry: Any, vjp: Any, i: int, args: str, gshape: Any, shapes: Any, params: Any
    ) -> str | None:
        """A vjp written out for the recorded shapes (see ``specialise``), or None."""
        if entry.residuals is not None:
            return None
        if hasattr(vjp, "products") and vjp.position == i:
            return summed_back(
                self, vjp, args.split(", ", 1)[0], args, len(shapes), (gshape, shapes[i]), params
            )
        if hasattr(vjp, "factor") and len(shapes) == 1:
            g, rest = args.split(", ", 1)
            return restored(self, vjp, g, rest, len(gshape), shapes[0], params)
        return None

    def products_constant(self, products: Any, operands: int, params: Any) -> Any:
        """What ``products`` is without its operands (see ``specialise``), probed once."""
        if params:  # probed with the parameters it is given, each time
            return products_constant(products, operands, params)
        key = (products, operands)
        if key not in self.probes:
            self.probes[key] = products_constant(products, operands, params)
        return self.probes[key]

    def accumulate(self, o: int, expression: str, held: bool) -> None:
        g = f"g{o}"
        if not held:
            if _BARE.fullmatch(expression):  # another cotangent as it is: a name for it
                self.alias[o] = expression.strip("()")
            else:
                self.emitter.line(f"{g} = {expression}", g)
            return
        held_as = self.alias.pop(o, g)  # a sum is a new value: the alias ends here
        emitter = self.emitter
        if emitter.targets and emitter.targets[-1] == g:
            # g was assigned by the line just before: one statement, the same
            # operations in the same order (its value first, then the addend).
            emitter.targets.pop()
            held_as = "(" + emitter.lines.pop().split(" = ", 1)[1] + ")"
        value = self.program.values[o]
        if self.program.floats[o] or (type(value) is np.ndarray and value.ndim):
            # Floats, or arrays of the variable's shape (inside QUIET: ADD's context)
            # whose sum is an array: ADD's own a + b.
            self.emitter.line(f"{g} = {held_as} + {expression}", g)
        else:
            self.emitter.line(f"{g} = ADD({held_as}, {expression})", g)


_OPERATORS = {
    operator.lt: "<",
    operator.le: "<=",
    operator.gt: ">",
    operator.ge: ">=",
    operator.eq: "==",
    operator.ne: "!=",
}


def generate(program: Program, n_leaves: int, root: Any) -> Compiled:
    """Write ``program`` out and compile it (``root``: the output's variable, or a Const)."""
    writer = _Writer(program, n_leaves, root)
    forward_starts = []
    for op in program.ops:
        forward_starts.append(len(writer.emitter.lines))
        writer.forward_op(op)
    forward_lines, forward_targets = writer.emitter.lines, writer.emitter.targets
    output = f"v{root}" if type(root) is int else writer.constant(root.value)
    backward_lines, backward_targets, backward_starts, reached = writer.backward()
    backward_names = set(NAME.findall("\n".join(backward_lines)))
    saved = sorted(backward_names & writer.defined, key=_natural)
    # A float argument no cotangent reached gets 0.0 here, as the tracer gives it.
    floats = program.floats
    cotangents = [
        writer.alias.get(i, f"g{i}") if reached[i] else "0.0" if floats[i] else "None"
        for i in range(n_leaves)
    ]
    namespace = writer.namespace
    forward_glue, backward_glue = glue(
        [
            (forward_lines, forward_targets, forward_starts),
            (backward_lines, backward_targets, backward_starts),
        ],
        [{output, *saved}, {c for c in cotangents if c not in ("None", "0.0")}],
        namespace,
    )
    leaves = ", ".join(f"v{i}" for i in range(n_leaves))
    indent = "        " if writer.quiet else "    "
    body = "".join(indent + line + "\n" for line in forward_glue)
    if writer.quiet:
        body = "    with QUIET():\n" + body
    saved_tuple = "(" + "".join(f"{s}, " for s in saved) + ")"
    # Float code alone (no NumPy call forward, so none backward) needs no quiet
    # context: Python's float arithmetic raises where NumPy would warn.
    back_body = "".join(indent + line + "\n" for line in backward_glue)
    if writer.quiet and back_body:
        back_body = "    with QUIET():\n" + back_body
    # The saved values come back as one tuple, unpacked in one statement (cheaper
    # to compile and to call than as many parameters).
    unpack = f"    {saved_tuple} = saved\n" if saved else ""
    source = (
        f"def forward({leaves}):\n{body}    return {output}, {saved_tuple}\n\n"
        f"def backward(dy, saved):\n{unpack}{back_body}"
        f"    return ({''.join(c + ', ' for c in cotangents)})\n"
    )
    exec(compile(source, "<pullback compiled>", "exec"), namespace)
    listing = "\n".join(["# forward", *forward_lines, "# backward", *backward_lines])
    return Compiled(namespace.pop("forward"), namespace.pop("backward"), listing)


def _float_form(entry: Any) -> Any:
    """How an entry's float form is written out: its float code's lines, prepared
    (``(target, pieces around x)``, or ``[("", lines)]`` for code with branches);
    True for a binary entry's ``at_floats`` (run on symbols); False: called.
    """
    code = entry.float_code
    name = getattr(entry.at_floats, "__name__", "")
    if code is not None and name == f"{entry.name}_at_float":
        if any(line.startswith(" ") or line.rstrip().endswith(":") for line in code):
            return [("", code)]
        return [(t, _X.split(e)) for t, e in (line.split(" = ", 1) for line in code)]
    return getattr(entry.at_floats, "__module__", "") == _BINARY_MODULE


def _times(g: str, partial: Any) -> str | None:
    """``g * partial`` as ``Sym`` writes it (x * 1.0 is x, x * -1.0 is -x), or None."""
    if type(partial) is Sym:
        return f"({g} * {partial.text})"
    if type(partial) is float and partial == 1.0:
        return g
    if type(partial) is float and partial == -1.0:
        return f"(-{g})"
    text = literal(partial)
    return None if text is None else f"({g} * {text})"


def _named(target: str) -> str | None:
    """A float code line's target as a line's target: None for its own locals (``r``, ``x``)."""
    return target if NAME.fullmatch(target) else None


def _natural(name: str) -> tuple[str, int]:
    return name[0], int(name[1:])
