"""The reference page ``docs/numpy.md``, generated from the table (never written by hand).

Regenerate with ``python -m pullback._tracing.reference > docs/numpy.md``; a
test fails when the page and the table disagree.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterable
from typing import Any

from .._table import (
    FUNCTIONS,
    UFUNCS,
    arrangements,
    binary,
    calculus,
    chains,
    elementwise,
    library,
    linalg,
    reductions,
    shapes,
    spectral,
    statistics,
    windows,
)
from .._table.entry import Composite, Primitive
from .._table.ufunc_composites import UFUNC_COMPOSITES
from .dispatch import CONSTANT_FUNCTIONS, CONSTANT_UFUNCS, numpy_name
from .methods import ArrayMethods

__all__ = ["coverage", "render"]

_OPERATORS = {
    "np.add": "`a + b`",
    "np.subtract": "`a - b`",
    "np.multiply": "`a * b`",
    "np.true_divide": "`a / b`",
    "np.power": "`a ** b`",
    "np.remainder": "`a % b`",
    "np.negative": "`-a`",
    "np.absolute": "`abs(a)`",
    "np.matmul": "`a @ b`",
}

_LIBRARY = (
    ("ops.sigmoid", library.SIGMOID),
    ("ops.relu", library.RELU),
    ("ops.softplus", library.SOFTPLUS),
    ("ops.logsumexp(x, axis, keepdims)", library.LOGSUMEXP),
    ("ops.softmax(x, axis)", library.SOFTMAX),
    ("ops.log_softmax(x, axis)", library.LOG_SOFTMAX),
    ("ops.affine(x, W, b)", library.AFFINE),
    ("ops.softmax_cross_entropy(logits, labels)", library.SOFTMAX_CROSS_ENTROPY),
)


def _cell(text: str) -> str:
    return text.replace("|", "\\|") or "—"


def _grouped(table: dict[Any, Primitive | Composite]) -> list[tuple[list[str], Any]]:
    groups: dict[int, tuple[list[str], Any]] = {}
    for function, entry in table.items():
        names, _ = groups.setdefault(id(entry), ([], entry))
        names.append(numpy_name(function))
    return list(groups.values())


def _rows(groups: Iterable[tuple[list[str], Any]]) -> list[str]:
    lines = [
        "| NumPy | entry | derivative / meaning | edge convention |",
        "| --- | --- | --- | --- |",
    ]
    for names, entry in sorted(groups, key=lambda item: item[0][0]):
        spelled = ", ".join(
            f"`{n}`" + (f" ({_OPERATORS[n]})" if n in _OPERATORS else "") for n in names
        )
        kind = "primitive" if type(entry) is Primitive else "written with primitives"
        lines.append(
            f"| {spelled} | `{entry.name}` ({kind}) | {_cell(entry.doc)} | {_cell(entry.edge)} |"
        )
    return lines


def _methods() -> list[str]:
    names = []
    for name, member in inspect.getmembers(ArrayMethods):
        if name.startswith("_"):
            continue
        names.append(f"`.{name}`" if isinstance(member, property) else f"`.{name}()`")
    return names


def coverage() -> dict[str, int]:
    """How many NumPy ufuncs and functions, methods and library functions traced code supports.

    >>> counts = coverage()
    >>> counts["numpy functions"] > 100
    True
    """
    # The table's own maps (a function answered by a ufunc entry too counted once).
    differentiable = len(UFUNCS) + len(UFUNC_COMPOSITES)
    functions = FUNCTIONS
    functions_only = [f for f in functions if f not in linalg.UFUNCS]
    return {
        "numpy functions": differentiable
        + len(functions_only)
        + len(CONSTANT_UFUNCS)
        + len(CONSTANT_FUNCTIONS),
        "differentiable numpy functions": differentiable + len(functions_only),
        "constant numpy functions": len(CONSTANT_UFUNCS) + len(CONSTANT_FUNCTIONS),
        "methods and attributes": len(_methods()),
        "library functions": len(_LIBRARY),
    }


def render() -> str:
    """The Markdown of ``docs/numpy.md``."""
    counts = coverage()
    out = [
        "# NumPy inside `trace`: what is supported",
        "",
        "Generated from the table of primitives (`python -m pullback._tracing.reference > "
        "docs/numpy.md`); a test keeps it current. Inside `trace`, write ordinary NumPy: each "
        "function below is recorded with its entry's derivative, which is itself NumPy code, "
        "so it can be differentiated again. A NumPy function that is not listed raises a "
        "TypeError that names it.",
        "",
        f"Coverage: {counts['differentiable numpy functions']} differentiable NumPy functions, "
        f"{counts['constant numpy functions']} that give plain (constant) results, "
        f"{counts['methods and attributes']} ndarray methods and attributes, "
        f"{counts['library functions']} library functions.",
        "",
        "Conventions for all entries: a float in gives a float out; NumPy's broadcasting, "
        "`axis` (int, negative, tuple, None) and `keepdims`; IEEE 754 special values with no "
        "RuntimeWarning; a cotangent of exactly 0 stays 0 through an elementwise function "
        "whose derivative is inf or nan there; max/min ties share the cotangent equally.",
        "",
        "## Elementwise, one operand",
        "",
        *_rows(_grouped(dict(elementwise.UNARY))),
        "",
        "## Elementwise, two operands (broadcasting)",
        "",
        *_rows(_grouped(dict(binary.BINARY))),
        "",
        "## Ufuncs written with entries (several outputs, vector products)",
        "",
        *_rows(_grouped(dict(UFUNC_COMPOSITES))),
        "",
        "## Reductions",
        "",
        *_rows(_grouped(reductions.FUNCTIONS)),
        "",
        "## Statistics (running products, averages, skipping nan, quantiles)",
        "",
        *_rows(_grouped(statistics.FUNCTIONS)),
        "",
        "## Linear algebra",
        "",
        *_rows(_grouped(linalg.FUNCTIONS)),
        "",
        "## Decompositions and chained products",
        "",
        *_rows(_grouped({**spectral.FUNCTIONS, **chains.FUNCTIONS})),
        "",
        "## Numerical calculus and signals",
        "",
        *_rows(_grouped(calculus.FUNCTIONS)),
        "",
        "## Shapes, joins and selections",
        "",
        *_rows(_grouped({**shapes.FUNCTIONS, **windows.FUNCTIONS, **arrangements.FUNCTIONS})),
        "",
        "Indexing `x[key]` (basic, advanced, boolean) is the `index` primitive; repeated "
        "indices add their cotangents. Integer and boolean arrays are constants.",
        "",
        "## The library's own functions",
        "",
        "| function | derivative / meaning | edge convention |",
        "| --- | --- | --- |",
        *(f"| `{name}` | {_cell(e.doc)} | {_cell(e.edge)} |" for name, e in _LIBRARY),
        "",
        "## Constants: plain results, no derivative",
        "",
        ", ".join(sorted(f"`{numpy_name(f)}`" for f in CONSTANT_UFUNCS | CONSTANT_FUNCTIONS)),
        "",
        "## ndarray methods and attributes of traced values",
        "",
        ", ".join(_methods()) + ". Operators: `+ - * / ** % @`, unary `-`, `abs`, "
        "comparisons (plain bools, for control flow), `len`, iteration.",
        "",
        "`x.item()`, `x.tolist()`, `x[i] = v`, `x += y` on a traced array, `out=`, and "
        "`np.asarray(x)` are refused with a message saying what to write instead.",
        "",
    ]
    return "\n".join(out)


if __name__ == "__main__":
    print(render(), end="")
