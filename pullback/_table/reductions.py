"""Reductions over axes (``axis`` an int, a tuple or None; ``keepdims``), as NumPy has them.

``sum``, ``prod``, ``max``/``min`` and ``cumsum`` are primitives; ``mean``,
``var``, ``std`` and ``linalg.norm`` are written with them. Ties of max/min
share the cotangent equally among the tied elements (JAX's and PyTorch's
convention for ``amax``), as ties of ``np.maximum`` do.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from .._values import is_traced
from .entry import (
    Composite,
    Primitive,
    as_float_if_scalar,
    batch_of_shapes,
    batched_axes,
    expand_reduced,
    ndim_of,
    normalize_axes,
    reduced,
    refuse_keywords,
    shape_of,
)

__all__ = ["FUNCTIONS"]

FUNCTIONS: dict[Any, Primitive | Composite] = {}
"""Each NumPy function of this family and its entry."""

_np: Any = np  # NumPy's stubs do not take initial= of an Any


def _axes_of(where: str, x: Any, axis: Any) -> tuple[int, ...] | None:
    return normalize_axes(axis, ndim_of(x), where)


def _ufunc_axes_of(where: str, x: Any, axis: Any) -> tuple[int, ...] | None:
    # np.sum, np.prod, np.max and np.min are ufunc reductions, which take an int
    # axis 0 or -1 of a 0-d value as no axis at all: np.sum(1.5, axis=0) is 1.5
    # (a tuple (0,) is NumPy's AxisError, and so is np.mean(1.5, axis=0)).
    if ndim_of(x) == 0 and type(axis) is int and axis in (0, -1):
        return ()
    return normalize_axes(axis, ndim_of(x), where)


# -- sum ---------------------------------------------------------------------------------


def sum_pullback(
    g: Any,
    y: Any,
    x: Any,
    axis: tuple[int, ...] | None,
    keepdims: bool,
    where: Any = None,
    initial: Any = None,
) -> Any:
    # where= (a constant mask, already x's shape) keeps the cotangent of the
    # selected elements only; initial= is a constant, with no cotangent.
    shape = shape_of(x)
    back = np.broadcast_to(expand_reduced(g, shape, axis, keepdims), shape)
    return back if where is None else np.where(where, back, 0.0)


def _sum_shifted(
    x: Any, axis: tuple[int, ...] | None, keepdims: bool, where: Any = None, initial: Any = None
) -> dict[str, Any]:
    # The mask has x's shape, so it broadcasts over a leading batch axis as it is.
    moved = {"axis": batched_axes(x, axis), "keepdims": keepdims}
    return moved if where is None else {**moved, "where": where}


SUM = Primitive(
    "sum",
    np.sum,
    (sum_pullback,),
    1,
    doc="Sum over axes (where=, initial= as NumPy's); dx = dy broadcast back, where selected.",
    batch=(batch_of_shapes(sum_pullback, _sum_shifted),),
)


# -- prod ------------------------------------------------------------------------------


def _prod_others(y: Any, x: Any, axis: tuple[int, ...] | None, keepdims: bool) -> Any:
    # The product of the *other* elements, by products from the left and from
    # the right (exclusive), so a zero in x gives the right answer where y/x
    # would be 0/0. That code is NumPy's cumprod, which has no entry: when x is
    # traced (nested differentiation) it is written with entries instead, as
    # y/x where x has no zero (the same function near this x, so every
    # derivative is right), and at a zero as the product of x with its own
    # element replaced by 1, one row per element (n² numbers per reduced group,
    # only there), so second derivatives at a zero are exact too, not nan.
    if not is_traced(x):
        return _others(np.asarray(x, dtype=np.float64), axis)
    if not np.any(np.equal(x, 0.0)):  # a comparison: a plain array, read on x's value
        return expand_reduced(y, shape_of(x), axis, keepdims) / x
    return _others_traceable(x, axis)


prod_pullback, _prod_batch = reduced(_prod_others, "prod_pullback")


def _others(x: Any, axis: tuple[int, ...] | None) -> Any:
    axes = tuple(range(x.ndim)) if axis is None else axis
    if not axes:
        return np.ones_like(x)
    if x.size == 0:  # nothing to multiply (and reshape(..., -1) cannot infer a length of 0)
        return np.zeros_like(x)
    moved = np.moveaxis(x, axes, tuple(range(-len(axes), 0)))
    flat = moved.reshape((*moved.shape[: moved.ndim - len(axes)], -1))
    ones = np.ones((*flat.shape[:-1], 1))
    left = np.cumprod(np.concatenate([ones, flat[..., :-1]], axis=-1), axis=-1)
    right = np.cumprod(np.concatenate([ones, flat[..., :0:-1]], axis=-1), axis=-1)[..., ::-1]
    return np.moveaxis((left * right).reshape(moved.shape), tuple(range(-len(axes), 0)), axes)


def _others_traceable(x: Any, axis: tuple[int, ...] | None) -> Any:
    shape = shape_of(x)
    axes = tuple(range(len(shape))) if axis is None else axis
    if not axes:
        return np.ones(shape)
    tail = tuple(range(-len(axes), 0))
    moved = np.moveaxis(x, axes, tail)
    moved_shape = shape_of(moved)
    n = 1
    for a in axes:
        n *= shape[a]
    flat = np.reshape(moved, (*moved_shape[: len(moved_shape) - len(axes)], 1, n))
    # Row k is x with its k-th element replaced by 1; its product is "the others" of k.
    others = np.prod(np.where(np.eye(n, dtype=bool), 1.0, flat), axis=-1)
    return np.moveaxis(np.reshape(others, moved_shape), tail, axes)


PROD = Primitive(
    "prod",
    np.prod,
    (prod_pullback,),
    1,
    doc="Product over axes; dx = dy × the product of the other elements.",
    edge="zeros in x are exact (no y/x), at every order",
    batch=(_prod_batch,),
)


# -- max and min -------------------------------------------------------------------------


def _extreme_shares(y: Any, x: Any, axis: tuple[int, ...] | None, keepdims: bool) -> Any:
    """Each element's share of the cotangent of max and min: equal among the tied extremes."""
    ye = expand_reduced(y, shape_of(x), axis, keepdims)
    hits = np.equal(x, ye) | (np.isnan(x) & np.isnan(ye))  # a constant: where the extreme is
    count = np.sum(hits, axis=axis, keepdims=True)
    return hits / count


extreme_pullback, _extreme_batch = reduced(_extreme_shares, "extreme_pullback")

_TIES = "ties share the cotangent equally; a nan is the extreme (as NumPy)"
MAX, MIN = (
    Primitive(name, function, (extreme_pullback,), 1, doc, _TIES, batch=(_extreme_batch,))
    for name, function, doc in (
        ("max", np.max, "Largest element over axes."),
        ("min", np.min, "Smallest element over axes."),
    )
)


# -- NumPy's signatures for the reductions -------------------------------------------------


def _summing(name: str, entry: Primitive) -> Callable[..., Any]:
    """``np.sum``/``np.prod`` with NumPy's signature, for the entry."""

    def reduction(
        a: Any,
        axis: Any = None,
        dtype: Any = None,
        out: Any = None,
        keepdims: bool = False,
        initial: Any = np._NoValue,
        where: Any = np._NoValue,
    ) -> Any:
        axes = _ufunc_axes_of(name, a, axis)
        if entry is SUM:
            # NumPy's masked and seeded sums round differently from a sum of the
            # masked array (another loop): the mask and the seed go to np.sum itself.
            refuse_keywords(name, dtype=dtype, out=out)
            params = {} if where is np._NoValue else {"where": _mask(name, where, a)}
            if initial is not np._NoValue:
                if is_traced(initial):
                    raise TypeError(f"{name}: initial= must be a plain number, not traced")
                params["initial"] = float(initial)
            return entry(a, axis=axes, keepdims=bool(keepdims), **params)
        # A product: the masked-out elements are 1 (the same numbers as NumPy's mask).
        refuse_keywords(name, dtype=dtype, out=out, initial=initial)
        if where is not np._NoValue:
            a = np.where(_mask(name, where, a), a, 1.0)
        return entry(a, axis=axes, keepdims=bool(keepdims))

    reduction.__name__ = reduction.__qualname__ = name[len("np.") :]
    return reduction


def _mask(name: str, where: Any, a: Any) -> Any:
    """A reduction's ``where=``: a boolean constant, broadcast to ``a``'s shape as NumPy does."""
    if is_traced(where):
        raise TypeError(f"{name}: where= must be a plain boolean array (a constant), not traced")
    try:
        return np.broadcast_to(np.asarray(where, dtype=bool), shape_of(a))
    except ValueError:
        raise ValueError(
            f"{name}: where= of shape {np.shape(where)} does not broadcast to the "
            f"array's shape {shape_of(a)}"
        ) from None


def _extreme(name: str, entry: Primitive, pairwise: Any, fill: float) -> Callable[..., Any]:
    """``np.max``/``np.min`` with NumPy's signature, for the entry."""

    def reduction(
        a: Any,
        axis: Any = None,
        out: Any = None,
        keepdims: bool = False,
        initial: Any = np._NoValue,
        where: Any = np._NoValue,
    ) -> Any:
        refuse_keywords(name, out=out)
        axes = _ufunc_axes_of(name, a, axis)
        if where is not np._NoValue:
            mask = _mask(name, where, a)
            if initial is np._NoValue:
                raise ValueError(
                    f"{name}: with where=, initial= must be given too (as NumPy's: "
                    f"{name[3:]} has no identity for the elements left out)"
                )
            # Masked-out elements become the far end (-inf for max): never the extreme
            # unless the slice's own extreme is that infinity, which then shares its
            # cotangent with them (and their shares are dropped by where).
            a = np.where(mask, a, fill)
        if initial is not np._NoValue and _count(a, axes) == 0:
            # An empty slice is initial alone (NumPy's), a constant.
            plain = np.zeros(shape_of(a))
            return as_float_if_scalar(
                _np.max(plain, axis=axes, keepdims=bool(keepdims), initial=initial)
                if fill < 0
                else _np.min(plain, axis=axes, keepdims=bool(keepdims), initial=initial)
            )
        y = entry(a, axis=axes, keepdims=bool(keepdims))
        # initial= is one more element of every slice: a tie with it shares, as
        # np.maximum's and np.minimum's do.
        return y if initial is np._NoValue else pairwise(y, initial)

    reduction.__name__ = reduction.__qualname__ = name[len("np.") :]
    return reduction


sum_ = _summing("np.sum", SUM)
prod_ = _summing("np.prod", PROD)
max_ = _extreme("np.max", MAX, np.maximum, -np.inf)
min_ = _extreme("np.min", MIN, np.minimum, np.inf)


# -- cumulative sums ---------------------------------------------------------------------


def cumsum_pullback(g: Any, y: Any, x: Any, axis: int | None) -> Any:
    # The adjoint of a running sum is the running sum from the other end.
    if axis is None:
        flat = np.flip(np.cumsum(np.flip(g, 0), 0), 0)
        return np.reshape(flat, shape_of(x))
    return np.flip(np.cumsum(np.flip(g, axis), axis), axis)


def cumsum_batch(gs: Any, y: Any, x: Any, axis: int | None) -> Any:
    # The stack's rows are flat for axis=None: the running sum runs along axis 1.
    out = cumsum_pullback(gs, y, x, 1 if axis is None else axis + 1)
    return np.reshape(out, (shape_of(gs)[0], *shape_of(x)))


CUMSUM = Primitive(
    "cumsum",
    np.cumsum,
    (cumsum_pullback,),
    1,
    doc="Running sum along an axis (flattened for axis=None).",
    batch=(cumsum_batch,),
)


def cumsum_(a: Any, axis: Any = None, dtype: Any = None, out: Any = None) -> Any:
    refuse_keywords("np.cumsum", dtype=dtype, out=out)
    if axis is not None:
        (axis,) = normalize_axes(axis, max(ndim_of(a), 1), "np.cumsum") or (0,)
    if ndim_of(a) == 0:
        a = np.reshape(a, (1,))
    return CUMSUM(a, axis=axis)


# -- written with the primitives ------------------------------------------------------


def _count(a: Any, axes: tuple[int, ...] | None) -> int:
    shape = shape_of(a)
    n = 1
    for i in range(len(shape)) if axes is None else axes:
        n *= shape[i]
    return n


def mean_(
    a: Any,
    axis: Any = None,
    dtype: Any = None,
    out: Any = None,
    keepdims: bool = False,
    *,
    where: Any = np._NoValue,
) -> Any:
    refuse_keywords("np.mean", dtype=dtype, out=out)
    axes = _axes_of("np.mean", a, axis)
    selected, count = _selected(a, axes, where, bool(keepdims), "np.mean")
    return SUM(a, axis=axes, keepdims=bool(keepdims), **selected) / count


def _selected(a: Any, axes: Any, where: Any, keepdims: bool, name: str) -> tuple[Any, Any]:
    """``where=`` as SUM's parameter (or none), and the count of the selected elements.

    The count is a float, or an array shaped like the reduction for a mask that
    leaves different numbers in different slices (0/0 is then nan, as NumPy's).
    """
    if where is np._NoValue:
        return {}, float(_count(a, axes))
    mask = _mask(name, where, a)
    count = np.sum(mask, axis=axes, keepdims=keepdims).astype(np.float64)
    return {"where": mask}, (float(count) if count.ndim == 0 else count)


def var_(
    a: Any,
    axis: Any = None,
    dtype: Any = None,
    out: Any = None,
    ddof: float = 0,
    keepdims: bool = False,
    *,
    where: Any = np._NoValue,
    mean: Any = np._NoValue,
    correction: Any = np._NoValue,
) -> Any:
    refuse_keywords("np.var", dtype=dtype, out=out, mean=mean)
    if correction is not np._NoValue:
        if ddof != 0:
            raise ValueError("np.var: ddof and correction can't be provided simultaneously")
        ddof = correction
    axes = _axes_of("np.var", a, axis)
    if where is np._NoValue:
        centred = a - SUM(a, axis=axes, keepdims=True) / float(_count(a, axes))
        return SUM(centred * centred, axis=axes, keepdims=bool(keepdims)) / float(
            max(_count(a, axes) - ddof, 0)
        )
    # NumPy's order with a mask: the mean of the selected, their squared deviations summed.
    selected, count = _selected(a, axes, where, True, "np.var")
    centred = a - SUM(a, axis=axes, keepdims=True, **selected) / count
    dof = np.sum(selected["where"], axis=axes, keepdims=bool(keepdims)) - ddof
    dof = np.maximum(dof, 0).astype(np.float64)
    squares = SUM(centred * centred, axis=axes, keepdims=bool(keepdims), **selected)
    return squares / (float(dof) if dof.ndim == 0 else dof)


def std_(
    a: Any,
    axis: Any = None,
    dtype: Any = None,
    out: Any = None,
    ddof: float = 0,
    keepdims: bool = False,
    *,
    where: Any = np._NoValue,
    mean: Any = np._NoValue,
    correction: Any = np._NoValue,
) -> Any:
    refuse_keywords("np.std", dtype=dtype, out=out, mean=mean)
    return np.sqrt(
        var_(a, axis=axis, ddof=ddof, keepdims=keepdims, where=where, correction=correction)
    )


# -- norms ---------------------------------------------------------------------------------


def _norm2_forward(x: Any, axis: tuple[int, ...] | None, keepdims: bool) -> Any:
    if axis is None:
        # NumPy's own fast path for axis=None: the dot product of the flattened
        # array with itself (BLAS), whose rounding differs from a pairwise sum
        # of squares in the last bit; the same call gives NumPy's number.
        flat = np.ravel(x)
        y = np.sqrt(np.dot(flat, flat))
        return np.reshape(y, (1,) * ndim_of(x)) if keepdims else y
    return np.sqrt(np.sum(x * x, axis=axis, keepdims=keepdims))


def _norm2_direction(y: Any, x: Any, axis: tuple[int, ...] | None, keepdims: bool) -> Any:
    # x/‖x‖, taken as 0 where ‖x‖ = 0: the norm's subgradient of least size,
    # where x/0 would be nan (the complaint of PyTorch #2421 and JAX #4177).
    ye = expand_reduced(y, shape_of(x), axis, keepdims)
    zero = np.equal(ye, 0.0)
    return np.where(zero, 0.0, x / np.where(zero, 1.0, ye))


norm2_pullback, _norm2_batch = reduced(_norm2_direction, "norm2_pullback")


NORM2 = Primitive(
    "norm",
    _norm2_forward,
    (norm2_pullback,),
    1,
    doc="Euclidean (Frobenius) norm over axes; dx = dy x/‖x‖.",
    edge="the gradient at the zero vector is 0, not nan",
    batch=(_norm2_batch,),
)


def norm_(x: Any, ord: Any = None, axis: Any = None, keepdims: bool = False) -> Any:
    ndim = ndim_of(x)
    axes = _axes_of("np.linalg.norm", x, axis)
    reduced = ndim if axes is None else len(axes)
    keep = bool(keepdims)
    if (
        ord is None
        or (ord == 2 and reduced == 1)
        or (isinstance(ord, str) and ord in ("fro", "f") and reduced == 2)
    ):
        return NORM2(x, axis=axes, keepdims=keep)
    if reduced == 1 and not isinstance(ord, str):
        if ord == 1:
            return SUM(np.abs(x), axis=axes, keepdims=keep)
        if ord == np.inf:
            return MAX(np.abs(x), axis=axes, keepdims=keep)
        if ord == -np.inf:
            return MIN(np.abs(x), axis=axes, keepdims=keep)
        if ord == 0:  # the count of nonzeros: a constant, as NumPy's float
            count = np.sum(np.not_equal(x, 0.0).astype(np.float64), axis=axes, keepdims=keep)
            return as_float_if_scalar(count)
    if reduced == 2 and not isinstance(ord, str) and ord in (1, -1, np.inf, -np.inf):
        # NumPy's matrix norms: the largest (smallest) absolute column sum for
        # ord=±1, row sum for ±inf, in NumPy's order of reductions (so the same
        # bits); the axes keep the caller's order (axis=(1, 0) transposes).
        rows, cols = (0, 1) if axis is None else (int(a) % ndim for a in axis)
        if ord in (np.inf, -np.inf):
            rows, cols = cols, rows
        sums = SUM(np.abs(x), axis=(rows,), keepdims=False)
        extreme = MAX if ord > 0 else MIN
        out = extreme(sums, axis=(cols - 1 if cols > rows else cols,), keepdims=False)
        if keep:
            shape = list(shape_of(x))
            shape[rows] = shape[cols] = 1
            out = np.reshape(out, tuple(shape))
        return out
    raise TypeError(
        f"np.linalg.norm: ord={ord!r} over {reduced} axes has no derivative rule in traced code; "
        "the supported norms are vectors' 0, ±1, 2 and ±inf, and matrices' 'fro', ±1 and ±inf"
    )


FUNCTIONS.update(
    {
        np.sum: Composite("sum", sum_, "Sum over axes (np.sum, x.sum; where=, initial=)."),
        np.prod: Composite("prod", prod_, "Product over axes (np.prod, x.prod)."),
        np.max: Composite("max", max_, "Largest element (np.max, np.amax, x.max).", _TIES),
        np.amax: Composite("max", max_, "Largest element (np.max, np.amax, x.max).", _TIES),
        np.min: Composite("min", min_, "Smallest element (np.min, np.amin, x.min).", _TIES),
        np.amin: Composite("min", min_, "Smallest element (np.min, np.amin, x.min).", _TIES),
        np.cumsum: Composite("cumsum", cumsum_, "Running sum along an axis."),
        np.mean: Composite("mean", mean_, "Mean over axes (where=): sum / count."),
        np.var: Composite("var", var_, "Variance over axes (ddof): mean squared deviation."),
        np.std: Composite(
            "std", std_, "Standard deviation: sqrt of var.", "at zero spread: nan, as sqrt'(0)·0"
        ),
        np.linalg.norm: Composite(
            "linalg.norm",
            norm_,
            "Vector norms 0, ±1, 2, ±inf; matrix norms 'fro', ±1, ±inf.",
            "the gradient at the zero vector is 0, not nan",
        ),
    }
)
