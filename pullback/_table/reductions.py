"""Reductions over axes (``axis`` an int, a tuple or None; ``keepdims``), as NumPy has them.

``sum``, ``prod``, ``max``/``min`` and ``cumsum`` are primitives; ``mean``,
``var``, ``std`` and ``linalg.norm`` are written with them. Ties of max/min
share the cotangent equally among the tied elements (JAX's and PyTorch's
convention for ``amax``), as ties of ``np.maximum`` do.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .entry import Composite, Primitive, expand_reduced, normalize_axes, refuse_keywords

__all__ = ["FUNCTIONS"]

FUNCTIONS: dict[Any, Primitive | Composite] = {}
"""Each NumPy function of this family and its entry."""


def _axes_of(where: str, x: Any, axis: Any) -> tuple[int, ...] | None:
    return normalize_axes(axis, np.ndim(x), where)


# -- sum ---------------------------------------------------------------------------------


def _sum_forward(x: Any, axis: tuple[int, ...] | None, keepdims: bool) -> Any:
    return np.sum(x, axis=axis, keepdims=keepdims)


def sum_pullback(g: Any, y: Any, x: Any, axis: tuple[int, ...] | None, keepdims: bool) -> Any:
    shape = np.shape(x)
    return np.broadcast_to(expand_reduced(g, shape, axis, keepdims), shape)


SUM = Primitive(
    "sum", _sum_forward, (sum_pullback,), 1, doc="Sum over axes; dx = dy broadcast back."
)


def sum_(
    a: Any,
    axis: Any = None,
    dtype: Any = None,
    out: Any = None,
    keepdims: bool = False,
    initial: Any = np._NoValue,
    where: Any = np._NoValue,
) -> Any:
    refuse_keywords("np.sum", dtype=dtype, out=out, initial=initial, where=where)
    return SUM(a, axis=_axes_of("np.sum", a, axis), keepdims=bool(keepdims))


FUNCTIONS[np.sum] = SUM


# -- prod ------------------------------------------------------------------------------


def _prod_forward(x: Any, axis: tuple[int, ...] | None, keepdims: bool) -> Any:
    return np.prod(x, axis=axis, keepdims=keepdims)


def prod_pullback(g: Any, y: Any, x: Any, axis: tuple[int, ...] | None, keepdims: bool) -> Any:
    # The product of the *other* elements, by products from the left and from
    # the right (exclusive), so a zero in x gives the right answer where y/x
    # would be 0/0. Nested, the same is written with traced cumprod-free code:
    # y/x, exact unless x has zeros.
    shape = np.shape(x)
    ge = expand_reduced(g, shape, axis, keepdims)
    if hasattr(type(x), "__pullback_apply__") or hasattr(type(g), "__pullback_apply__"):
        return ge * (expand_reduced(y, shape, axis, keepdims) / x)
    return ge * _others(np.asarray(x, dtype=np.float64), axis)


def _others(x: Any, axis: tuple[int, ...] | None) -> Any:
    axes = tuple(range(x.ndim)) if axis is None else axis
    if not axes:
        return np.ones_like(x)
    moved = np.moveaxis(x, axes, tuple(range(-len(axes), 0)))
    flat = moved.reshape((*moved.shape[: moved.ndim - len(axes)], -1))
    ones = np.ones((*flat.shape[:-1], 1))
    left = np.cumprod(np.concatenate([ones, flat[..., :-1]], axis=-1), axis=-1)
    right = np.cumprod(np.concatenate([ones, flat[..., :0:-1]], axis=-1), axis=-1)[..., ::-1]
    return np.moveaxis((left * right).reshape(moved.shape), tuple(range(-len(axes), 0)), axes)


PROD = Primitive(
    "prod",
    _prod_forward,
    (prod_pullback,),
    1,
    doc="Product over axes; dx = dy × the product of the other elements.",
    edge="zeros in x are exact (no y/x) at first order",
)


def prod_(
    a: Any,
    axis: Any = None,
    dtype: Any = None,
    out: Any = None,
    keepdims: bool = False,
    initial: Any = np._NoValue,
    where: Any = np._NoValue,
) -> Any:
    refuse_keywords("np.prod", dtype=dtype, out=out, initial=initial, where=where)
    return PROD(a, axis=_axes_of("np.prod", a, axis), keepdims=bool(keepdims))


# -- max and min -------------------------------------------------------------------------


def _extreme_pullback(g: Any, y: Any, x: Any, axis: tuple[int, ...] | None, keepdims: bool) -> Any:
    shape = np.shape(x)
    ye = expand_reduced(y, shape, axis, keepdims)
    hits = np.equal(x, ye) | (np.isnan(x) & np.isnan(ye))  # a constant: where the extreme is
    count = np.sum(hits, axis=axis, keepdims=True)
    return expand_reduced(g, shape, axis, keepdims) * (hits / count)


def _max_forward(x: Any, axis: tuple[int, ...] | None, keepdims: bool) -> Any:
    return np.max(x, axis=axis, keepdims=keepdims)


def _min_forward(x: Any, axis: tuple[int, ...] | None, keepdims: bool) -> Any:
    return np.min(x, axis=axis, keepdims=keepdims)


def max_pullback(g: Any, y: Any, x: Any, axis: tuple[int, ...] | None, keepdims: bool) -> Any:
    return _extreme_pullback(g, y, x, axis, keepdims)


def min_pullback(g: Any, y: Any, x: Any, axis: tuple[int, ...] | None, keepdims: bool) -> Any:
    return _extreme_pullback(g, y, x, axis, keepdims)


_TIES = "ties share the cotangent equally; a nan is the extreme (as NumPy)"
MAX = Primitive(
    "max", _max_forward, (max_pullback,), 1, doc="Largest element over axes.", edge=_TIES
)
MIN = Primitive(
    "min", _min_forward, (min_pullback,), 1, doc="Smallest element over axes.", edge=_TIES
)


def max_(
    a: Any,
    axis: Any = None,
    out: Any = None,
    keepdims: bool = False,
    initial: Any = np._NoValue,
    where: Any = np._NoValue,
) -> Any:
    refuse_keywords("np.max", out=out, initial=initial, where=where)
    return MAX(a, axis=_axes_of("np.max", a, axis), keepdims=bool(keepdims))


def min_(
    a: Any,
    axis: Any = None,
    out: Any = None,
    keepdims: bool = False,
    initial: Any = np._NoValue,
    where: Any = np._NoValue,
) -> Any:
    refuse_keywords("np.min", out=out, initial=initial, where=where)
    return MIN(a, axis=_axes_of("np.min", a, axis), keepdims=bool(keepdims))


# -- cumulative sums ---------------------------------------------------------------------


def _cumsum_forward(x: Any, axis: int | None) -> Any:
    return np.cumsum(x, axis=axis)


def cumsum_pullback(g: Any, y: Any, x: Any, axis: int | None) -> Any:
    # The adjoint of a running sum is the running sum from the other end.
    if axis is None:
        flat = np.flip(np.cumsum(np.flip(g, 0), 0), 0)
        return np.reshape(flat, np.shape(x))
    return np.flip(np.cumsum(np.flip(g, axis), axis), axis)


CUMSUM = Primitive(
    "cumsum",
    _cumsum_forward,
    (cumsum_pullback,),
    1,
    doc="Running sum along an axis (flattened for axis=None).",
)


def cumsum_(a: Any, axis: Any = None, dtype: Any = None, out: Any = None) -> Any:
    refuse_keywords("np.cumsum", dtype=dtype, out=out)
    if axis is not None:
        (axis,) = normalize_axes(axis, max(np.ndim(a), 1), "np.cumsum") or (0,)
    if np.ndim(a) == 0:
        a = np.reshape(a, (1,))
    return CUMSUM(a, axis=axis)


# -- written with the primitives ------------------------------------------------------


def _count(a: Any, axes: tuple[int, ...] | None) -> int:
    shape = np.shape(a)
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
    refuse_keywords("np.mean", dtype=dtype, out=out, where=where)
    axes = _axes_of("np.mean", a, axis)
    return SUM(a, axis=axes, keepdims=bool(keepdims)) / float(_count(a, axes))


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
    refuse_keywords("np.var", dtype=dtype, out=out, where=where, mean=mean)
    if correction is not np._NoValue:
        ddof = correction
    axes = _axes_of("np.var", a, axis)
    centred = a - SUM(a, axis=axes, keepdims=True) / float(_count(a, axes))
    return SUM(centred * centred, axis=axes, keepdims=bool(keepdims)) / float(
        max(_count(a, axes) - ddof, 0)
    )


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
    refuse_keywords("np.std", dtype=dtype, out=out, where=where, mean=mean)
    return np.sqrt(var_(a, axis=axis, ddof=ddof, keepdims=keepdims, correction=correction))


# -- norms ---------------------------------------------------------------------------------


def _norm2_forward(x: Any, axis: tuple[int, ...] | None, keepdims: bool) -> Any:
    return np.sqrt(np.sum(x * x, axis=axis, keepdims=keepdims))


def norm2_pullback(g: Any, y: Any, x: Any, axis: tuple[int, ...] | None, keepdims: bool) -> Any:
    # x/‖x‖, taken as 0 where ‖x‖ = 0: the norm's subgradient of least size,
    # where x/0 would be nan (the complaint of PyTorch #2421 and JAX #4177).
    shape = np.shape(x)
    ye = expand_reduced(y, shape, axis, keepdims)
    zero = np.equal(ye, 0.0)
    return expand_reduced(g, shape, axis, keepdims) * np.where(
        zero, 0.0, x / np.where(zero, 1.0, ye)
    )


NORM2 = Primitive(
    "norm",
    _norm2_forward,
    (norm2_pullback,),
    1,
    doc="Euclidean (Frobenius) norm over axes; dx = dy x/‖x‖.",
    edge="the gradient at the zero vector is 0, not nan",
)


def norm_(x: Any, ord: Any = None, axis: Any = None, keepdims: bool = False) -> Any:
    ndim = np.ndim(x)
    axes = _axes_of("np.linalg.norm", x, axis)
    reduced = ndim if axes is None else len(axes)
    if ord is None or (ord == 2 and reduced == 1) or (ord == "fro" and reduced == 2):
        return NORM2(x, axis=axes, keepdims=bool(keepdims))
    if reduced == 1:
        if ord == 1:
            return SUM(np.abs(x), axis=axes, keepdims=bool(keepdims))
        if ord == np.inf:
            return MAX(np.abs(x), axis=axes, keepdims=bool(keepdims))
    raise TypeError(
        f"np.linalg.norm: ord={ord!r} over {reduced} axes has no derivative rule in traced code; "
        "the supported norms are vectors' 1, 2 and inf, and matrices' 'fro'"
    )


FUNCTIONS.update(
    {
        np.sum: Composite("sum", sum_, "Sum over axes (np.sum, x.sum)."),
        np.prod: Composite("prod", prod_, "Product over axes (np.prod, x.prod)."),
        np.max: Composite("max", max_, "Largest element (np.max, np.amax, x.max).", _TIES),
        np.amax: Composite("max", max_, "Largest element (np.max, np.amax, x.max).", _TIES),
        np.min: Composite("min", min_, "Smallest element (np.min, np.amin, x.min).", _TIES),
        np.amin: Composite("min", min_, "Smallest element (np.min, np.amin, x.min).", _TIES),
        np.cumsum: Composite("cumsum", cumsum_, "Running sum along an axis."),
        np.mean: Composite("mean", mean_, "Mean over axes: sum / count."),
        np.var: Composite("var", var_, "Variance over axes (ddof): mean squared deviation."),
        np.std: Composite(
            "std", std_, "Standard deviation: sqrt of var.", "at zero spread: nan, as sqrt'(0)·0"
        ),
        np.linalg.norm: Composite(
            "linalg.norm",
            norm_,
            "Vector norms 1, 2, inf; matrix norm 'fro'.",
            "the gradient at the zero vector is 0, not nan",
        ),
    }
)
