"""Linear algebra: matmul, tensordot, einsum, inv, solve, det, slogdet, cholesky.

Six primitives; ``dot``, ``inner``, ``outer``, ``cross`` and ``kron`` are
written with them and with the elementwise entries. The derivatives are the
standard matrix identities (Giles, "An extended collection of matrix
derivative results", 2008), written with NumPy calls so that they trace.
"""

from __future__ import annotations

import string
from collections import namedtuple
from typing import Any

import numpy as np

from .entry import (
    Composite,
    Primitive,
    Shape,
    constant,
    ndim_of,
    shape_of,
    unbroadcast,
    unbroadcast_batch,
)

__all__ = ["FUNCTIONS", "MATMUL", "UFUNCS"]

FUNCTIONS: dict[Any, Composite | Primitive] = {}
"""Each NumPy function of this family and its entry."""


def _swap(x: Any) -> Any:
    return np.swapaxes(x, -1, -2)


# -- matmul ----------------------------------------------------------------------------------


def _matmul_products_a(g: Any, a: Any, b: Any) -> Any:
    if ndim_of(b) == 1:
        return g * b if ndim_of(a) == 1 else np.expand_dims(g, -1) * b
    if ndim_of(a) == 1:
        return np.squeeze(np.matmul(np.expand_dims(g, -2), _swap(b)), -2)
    return np.matmul(g, _swap(b))


def _matmul_products_b(g: Any, a: Any, b: Any) -> Any:
    if ndim_of(a) == 1:
        return g * a if ndim_of(b) == 1 else np.expand_dims(a, -1) * np.expand_dims(g, -2)
    if ndim_of(b) == 1:
        return np.squeeze(np.matmul(_swap(a), np.expand_dims(g, -1)), -1)
    return np.matmul(_swap(a), g)


def matmul_pullback_a(g: Any, y: Any, a: Any, b: Any) -> Any:
    return unbroadcast(_matmul_products_a(g, a, b), shape_of(a))


def matmul_pullback_b(g: Any, y: Any, a: Any, b: Any) -> Any:
    return unbroadcast(_matmul_products_b(g, a, b), shape_of(b))


def matmul_batch_a(gs: Any, y: Any, a: Any, b: Any) -> Any:
    if ndim_of(a) == 1 and ndim_of(b) == 1:  # a dot product: each cotangent a number
        return np.multiply.outer(gs, b)
    # Otherwise the vjp's own products broadcast over a leading axis of gs.
    return unbroadcast_batch(_matmul_products_a(gs, a, b), shape_of(a))


def matmul_batch_b(gs: Any, y: Any, a: Any, b: Any) -> Any:
    if ndim_of(a) == 1 and ndim_of(b) == 1:
        return np.multiply.outer(gs, a)
    if ndim_of(b) == 1 and ndim_of(a) == 2:
        # aᵀ g for each g of the stack is (g a) for the stack: one matrix product,
        # not a stacked product of B matrix-vector products.
        return np.matmul(gs, a)
    return unbroadcast_batch(_matmul_products_b(gs, a, b), shape_of(b))


MATMUL = Primitive(
    "matmul",
    np.matmul,
    (matmul_pullback_a, matmul_pullback_b),
    2,
    batch=(matmul_batch_a, matmul_batch_b),
    doc="Matrix product (1-d, 2-d, batched; a @ b); da = dy bᵀ, db = aᵀ dy.",
)

UFUNCS: dict[Any, Primitive] = {np.matmul: MATMUL}
"""NumPy's matmul is a (generalized) ufunc: ``a @ b`` reaches ``__array_ufunc__``."""


def _axes_pair(axes: Any, na: int, nb: int) -> tuple[tuple[int, ...], tuple[int, ...]]:
    if isinstance(axes, int | np.integer):
        k = int(axes)
        return tuple(range(na - k, na)), tuple(range(k))
    first, second = axes
    first = (first,) if isinstance(first, int | np.integer) else tuple(first)
    second = (second,) if isinstance(second, int | np.integer) else tuple(second)
    return tuple(int(i) % na for i in first), tuple(int(i) % nb for i in second)


# -- tensordot ---------------------------------------------------------------------------


def _tensordot_forward(a: Any, b: Any, axes: tuple[tuple[int, ...], tuple[int, ...]]) -> Any:
    return np.tensordot(a, b, axes=axes)


def tensordot_pullback_a(g: Any, y: Any, a: Any, b: Any, axes: Any) -> Any:
    ax_a, ax_b = axes
    na, nb = ndim_of(a), ndim_of(b)
    free_a = [i for i in range(na) if i not in ax_a]
    free_b = [i for i in range(nb) if i not in ax_b]
    # g's axes are free_a then free_b; contracting free_b leaves free_a, then b's
    # contracted axes in b's own (ascending) order, each standing for its partner
    # in a: not ax_a's order unless ax_b is sorted (axes=([1, 0], [0, 1])).
    ga = np.tensordot(g, b, axes=(list(range(len(free_a), len(free_a) + len(free_b))), free_b))
    partners = [ax_a[ax_b.index(j)] for j in sorted(ax_b)]
    return np.transpose(ga, tuple(np.argsort(free_a + partners))) if ndim_of(ga) else ga


def tensordot_pullback_b(g: Any, y: Any, a: Any, b: Any, axes: Any) -> Any:
    ax_a, ax_b = axes
    na, nb = ndim_of(a), ndim_of(b)
    free_a = [i for i in range(na) if i not in ax_a]
    free_b = [i for i in range(nb) if i not in ax_b]
    # a's contracted axes come first, in a's own order, each standing for its partner in b.
    gb = np.tensordot(a, g, axes=(free_a, list(range(len(free_a)))))
    partners = [ax_b[ax_a.index(i)] for i in sorted(ax_a)]
    return np.transpose(gb, tuple(np.argsort(partners + free_b))) if ndim_of(gb) else gb


# A stack of cotangents is a tensordot with one more free axis, the stack's,
# first: the vjps at a stand-in operand with that axis, the axes one along.


def tensordot_batch_a(gs: Any, y: Any, a: Any, b: Any, axes: Any) -> Any:
    ax_a, ax_b = axes
    stand_in = Shape((shape_of(gs)[0], *shape_of(a)))
    return tensordot_pullback_a(gs, y, stand_in, b, (tuple(i + 1 for i in ax_a), ax_b))


def tensordot_batch_b(gs: Any, y: Any, a: Any, b: Any, axes: Any) -> Any:
    ax_a, ax_b = axes
    stand_in = Shape((shape_of(gs)[0], *shape_of(b)))
    # The vjp reads g's axes as a's free ones then b's: the stack's axis is b's first.
    g = np.moveaxis(gs, 0, ndim_of(a) - len(ax_a))
    return tensordot_pullback_b(g, y, a, stand_in, (ax_a, tuple(j + 1 for j in ax_b)))


TENSORDOT = Primitive(
    "tensordot",
    _tensordot_forward,
    (tensordot_pullback_a, tensordot_pullback_b),
    2,
    batch=(tensordot_batch_a, tensordot_batch_b),
    doc="Sum of products over the given axes.",
)


def tensordot_(a: Any, b: Any, axes: Any = 2) -> Any:
    return TENSORDOT(a, b, axes=_axes_pair(axes, ndim_of(a), ndim_of(b)))


# -- einsum -----------------------------------------------------------------------------------


def _einsum_forward(*operands: Any, subscripts: str, optimize: Any = False) -> Any:
    # optimize is passed on: NumPy's optimized paths (BLAS) round differently.
    return np.einsum(subscripts, *operands, optimize=optimize)


def einsum_pullback(
    i: int, g: Any, y: Any, *operands: Any, subscripts: str, optimize: Any = False
) -> Any:
    inputs, output = subscripts.split("->")
    terms = inputs.split(",")
    mine = terms[i]
    others = [t for k, t in enumerate(terms) if k != i]
    seen = set(output).union(*others) if others else set(output)
    kept = "".join(c for c in mine if c in seen)
    spec = ",".join([output, *others]) + "->" + kept
    gi = np.einsum(spec, g, *[op for k, op in enumerate(operands) if k != i], optimize=optimize)
    if kept == mine:
        return gi
    # An index summed only in this operand: its cotangent is the same along it.
    shape = shape_of(operands[i])
    view = tuple(shape[k] if c in seen else 1 for k, c in enumerate(mine))
    return np.broadcast_to(np.reshape(gi, view), shape)


def einsum_batch(
    i: int, gs: Any, y: Any, *operands: Any, subscripts: str, optimize: Any = False
) -> Any:
    # One more index, the stack's, in front of the output and of this operand
    # (a stand-in: the vjp reads only its shape).
    letter = next(c for c in string.ascii_letters if c not in subscripts)
    inputs, output = subscripts.split("->")
    terms = inputs.split(",")
    terms[i] = letter + terms[i]
    moved = list(operands)
    moved[i] = Shape((shape_of(gs)[0], *shape_of(operands[i])))
    batched = ",".join(terms) + "->" + letter + output
    return einsum_pullback(i, gs, y, *moved, subscripts=batched, optimize=optimize)


EINSUM = Primitive(
    "einsum",
    _einsum_forward,
    (einsum_pullback,),
    -1,
    batch=(einsum_batch,),
    doc="Einstein summation with explicit or implicit subscripts (and ... for broadcast axes).",
    edge="an index repeated within one operand (a diagonal) is refused: use np.diagonal",
)


def _without_ellipsis(subscripts: str, arrays: list[Any]) -> str:
    """The subscripts with each ``...`` spelled out as letters of their own (NumPy's meaning).

    The dimensions an ellipsis stands for are right-aligned across the operands,
    as NumPy broadcasts them; they must be equal here (a dimension of 1 against
    n would need its cotangent summed, which the entry does not do).
    """
    inputs, arrow, output = subscripts.partition("->")
    terms = inputs.split(",")
    if len(terms) != len(arrays):
        raise ValueError(f"np.einsum: {len(terms)} subscripts given for {len(arrays)} operands")
    counts = [
        ndim_of(a) - (len(t) - 3) if "..." in t else 0 for t, a in zip(terms, arrays, strict=True)
    ]
    for k, count in enumerate(counts):
        if count < 0:
            raise ValueError(
                "np.einsum: einstein sum subscripts string contains too many subscripts "
                f"for operand {k}"
            )
    width = max(counts)
    letters = [c for c in string.ascii_letters if c not in subscripts][:width]
    sizes: dict[str, int] = {}
    for count, array in zip(counts, arrays, strict=True):
        for letter, size in zip(letters[width - count :], shape_of(array)[:count], strict=True):
            if sizes.setdefault(letter, size) != size:
                raise TypeError(
                    "np.einsum: an ellipsis whose dimensions broadcast (1 against n) is not "
                    "supported in traced code; np.broadcast_to the operands first"
                )
    spelled = [
        t.replace("...", "".join(letters[width - n :])) for t, n in zip(terms, counts, strict=True)
    ]
    ellipsis = "".join(letters)
    if arrow:
        if "..." not in output and width:
            raise ValueError(
                "np.einsum: output has more dimensions than subscripts given in einstein sum, "
                "but no '...' ellipsis provided to broadcast the extra dimensions."
            )
        return ",".join(spelled) + "->" + output.replace("...", ellipsis)
    # Implicit output: the ellipsis' dimensions, then the indices used once, sorted.
    named = inputs.replace("...", "").replace(",", "")
    once = "".join(sorted(c for c in set(named) if named.count(c) == 1))
    return ",".join(spelled) + "->" + ellipsis + once


def einsum_(*operands: Any, out: Any = None, optimize: Any = False, **kwargs: Any) -> Any:
    if out is not None or kwargs:
        raise TypeError(
            "np.einsum: out=, dtype= and the other keywords are not supported in traced code"
        )
    subscripts, *arrays = operands
    if not isinstance(subscripts, str):
        raise TypeError("np.einsum: give the subscripts as a string ('ij,jk->ik') in traced code")
    subscripts = subscripts.replace(" ", "")
    if "..." in subscripts:
        subscripts = _without_ellipsis(subscripts, arrays)
    if "->" not in subscripts:
        letters = subscripts.replace(",", "")
        subscripts += "->" + "".join(sorted(c for c in set(letters) if letters.count(c) == 1))
    for term in subscripts.split("->")[0].split(","):
        if len(set(term)) != len(term):
            raise TypeError(
                f"np.einsum: the subscript {term!r} repeats an index within one operand, which "
                "has no derivative rule; take np.diagonal (or np.trace) first"
            )
    return EINSUM(*arrays, subscripts=subscripts, optimize=optimize)


# -- products written with the primitives ----------------------------------------------------


def _dot_forward(a: Any, b: Any) -> Any:
    return np.dot(a, b)


def _dot_axes(a: Any, b: Any) -> tuple[tuple[int, ...], tuple[int, ...]]:
    return (ndim_of(a) - 1,), (max(ndim_of(b) - 2, 0),)


def dot_pullback_a(g: Any, y: Any, a: Any, b: Any) -> Any:
    return tensordot_pullback_a(g, y, a, b, _dot_axes(a, b))


def dot_pullback_b(g: Any, y: Any, a: Any, b: Any) -> Any:
    return tensordot_pullback_b(g, y, a, b, _dot_axes(a, b))


def dot_batch_a(gs: Any, y: Any, a: Any, b: Any) -> Any:
    return tensordot_batch_a(gs, y, a, b, _dot_axes(a, b))


def dot_batch_b(gs: Any, y: Any, a: Any, b: Any) -> Any:
    return tensordot_batch_b(gs, y, a, b, _dot_axes(a, b))


DOT = Primitive(
    "dot",
    _dot_forward,
    (dot_pullback_a, dot_pullback_b),
    2,
    batch=(dot_batch_a, dot_batch_b),
    doc="np.dot past 2-d: a's last axis against b's second-to-last (or only) axis.",
)
"""Its own forward: NumPy's N-d dot takes one dot product per output element, whose
rounding differs from tensordot's matrix product in the last bit."""


def dot_(a: Any, b: Any, out: Any = None) -> Any:
    if out is not None:
        raise TypeError("np.dot: out= writes in place; use the returned value")
    na, nb = ndim_of(a), ndim_of(b)
    if na == 0 or nb == 0:
        return np.multiply(a, b)
    if na <= 2 and nb <= 2:
        return MATMUL(a, b)
    return DOT(a, b)


def inner_(a: Any, b: Any) -> Any:
    # NumPy's inner is dot with b's last two axes swapped (its C code does just
    # that), and past 2-d its rounding differs from tensordot's: so written as dot.
    na, nb = ndim_of(a), ndim_of(b)
    if na == 0 or nb == 0:
        return np.multiply(a, b)
    return dot_(a, b if nb == 1 else _swap(b))


def outer_(a: Any, b: Any, out: Any = None) -> Any:
    if out is not None:
        raise TypeError("np.outer: out= writes in place; use the returned value")
    return np.multiply(np.reshape(a, (-1, 1)), np.reshape(b, (1, -1)))


def cross_(
    a: Any, b: Any, axisa: int = -1, axisb: int = -1, axisc: int = -1, axis: Any = None
) -> Any:
    if axis is not None or (axisa, axisb, axisc) != (-1, -1, -1):
        raise TypeError("np.cross: only vectors along the last axis are supported in traced code")
    if shape_of(a)[-1] != 3 or shape_of(b)[-1] != 3:
        raise ValueError("np.cross: traced code supports 3-vectors (the last axis of length 3)")
    a0, a1, a2 = (a[..., k] for k in range(3))
    b0, b1, b2 = (b[..., k] for k in range(3))
    return np.stack([a1 * b2 - a2 * b1, a2 * b0 - a0 * b2, a0 * b1 - a1 * b0], axis=-1)


def kron_(a: Any, b: Any) -> Any:
    sa, sb = shape_of(a), shape_of(b)
    n = max(len(sa), len(sb))
    sa, sb = (1,) * (n - len(sa)) + sa, (1,) * (n - len(sb)) + sb
    spread_a = np.reshape(a, tuple(s for k in sa for s in (k, 1)))
    spread_b = np.reshape(b, tuple(s for k in sb for s in (1, k)))
    return np.reshape(spread_a * spread_b, tuple(x * y for x, y in zip(sa, sb, strict=True)))


# -- inverse, solve, determinants, Cholesky -----------------------------------------------


def inv_pullback(g: Any, y: Any, a: Any) -> Any:
    return -np.matmul(np.matmul(_swap(y), g), _swap(y))


INV = Primitive("linalg.inv", np.linalg.inv, (inv_pullback,), 1, doc="Inverse; da = -yᵀ dy yᵀ.")


def _solve_b(g: Any, a: Any, b: Any) -> Any:
    if ndim_of(b) == 1:
        # b is one vector (NumPy 2: only when b is 1-d), so y and g are vectors
        # per batch, but np.linalg.solve would read a 2-d g as one matrix: solve
        # with g as a column.
        return np.squeeze(np.linalg.solve(_swap(a), np.expand_dims(g, -1)), -1)
    return np.linalg.solve(_swap(a), g)


def solve_pullback_a(g: Any, y: Any, a: Any, b: Any) -> Any:
    gb = _solve_b(g, a, b)
    if ndim_of(b) == 1:
        ga = -(np.expand_dims(gb, -1) * np.expand_dims(y, -2))
    else:
        ga = -np.matmul(gb, _swap(y))
    return unbroadcast(ga, shape_of(a))


def solve_pullback_b(g: Any, y: Any, a: Any, b: Any) -> Any:
    return unbroadcast(_solve_b(g, a, b), shape_of(b))


SOLVE = Primitive(
    "linalg.solve",
    np.linalg.solve,
    (solve_pullback_a, solve_pullback_b),
    2,
    doc="x with a x = b; db = a⁻ᵀ dy, da = -db xᵀ.",
)


def _batch_scalar(x: Any) -> Any:
    return np.expand_dims(np.expand_dims(x, -1), -1)


def det_pullback(g: Any, y: Any, a: Any) -> Any:
    return _batch_scalar(g * y) * _swap(np.linalg.inv(a))


DET = Primitive(
    "linalg.det",
    np.linalg.det,
    (det_pullback,),
    1,
    doc="Determinant; da = dy det(a) a⁻ᵀ.",
    edge="a singular matrix raises LinAlgError in the pullback (a⁻¹ does not exist)",
)


def _logabsdet(a: Any) -> Any:
    return np.linalg.slogdet(a)[1]


def logabsdet_pullback(g: Any, y: Any, a: Any) -> Any:
    return _batch_scalar(g) * _swap(np.linalg.inv(a))


LOGABSDET = Primitive(
    "linalg.slogdet", _logabsdet, (logabsdet_pullback,), 1, doc="log |det a|; da = dy a⁻ᵀ."
)

SlogdetResult = namedtuple("SlogdetResult", ["sign", "logabsdet"])


def _slogdet_sign(a: Any) -> Any:
    # The sign from slogdet itself, not sign(det(a)): det underflows to 0 (and
    # overflows) where slogdet's sign is still ±1 (0.001 I of size 120).
    sign = np.linalg.slogdet(a)[0]
    return sign if np.ndim(sign) else float(sign)


def slogdet_(a: Any) -> Any:
    # The sign is a constant function of a (no derivative), computed on its value
    # each call (a compiled function records it rather than freezing it).
    return SlogdetResult(constant(_slogdet_sign, a), LOGABSDET(a))


def _cholesky_forward(a: Any) -> Any:
    return np.linalg.cholesky(a)


def cholesky_pullback(g: Any, y: Any, a: Any) -> Any:
    # Murray (2016): with Φ(X) the lower triangle with its diagonal halved,
    # S = L⁻ᵀ Φ(Lᵀ Ḡ) L⁻¹ and da = (S + Sᵀ)/2 (the symmetric part: a is symmetric).
    n = shape_of(y)[-1]
    lower = np.tri(n, dtype=bool)
    half = np.where(np.eye(n, dtype=bool), 0.5, 1.0)
    phi = np.where(lower, np.matmul(_swap(y), g), 0.0) * half
    left = np.linalg.solve(_swap(y), phi)
    s = _swap(np.linalg.solve(_swap(y), _swap(left)))
    return 0.5 * (s + _swap(s))


CHOLESKY = Primitive(
    "linalg.cholesky",
    _cholesky_forward,
    (cholesky_pullback,),
    1,
    doc="Lower Cholesky factor of a symmetric positive-definite matrix.",
    edge="the gradient is the symmetric part (the input is taken as symmetric)",
)


def cholesky_(a: Any, /, *, upper: bool = False) -> Any:
    if upper:
        return _swap(CHOLESKY(a))
    return CHOLESKY(a)


FUNCTIONS.update(
    {
        np.matmul: MATMUL,
        np.dot: Composite(
            "dot", dot_, "Dot product (np.dot, x.dot): matmul, or tensordot past 2-d."
        ),
        np.inner: Composite("inner", inner_, "Sum of products over the last axes."),
        np.outer: Composite("outer", outer_, "Outer product of the flattened inputs."),
        np.cross: Composite("cross", cross_, "Cross product of 3-vectors along the last axis."),
        np.kron: Composite("kron", kron_, "Kronecker product."),
        np.tensordot: Composite("tensordot", tensordot_, TENSORDOT.doc),
        np.einsum: Composite("einsum", einsum_, EINSUM.doc, EINSUM.edge),
        np.linalg.inv: INV,
        np.linalg.solve: SOLVE,
        np.linalg.det: DET,
        np.linalg.slogdet: Composite(
            "linalg.slogdet", slogdet_, "(sign, log|det|); the sign is a constant."
        ),
        np.linalg.cholesky: Composite("linalg.cholesky", cholesky_, CHOLESKY.doc, CHOLESKY.edge),
    }
)
