"""Statistics over axes: running products, averages, ranges, the nan-skipping family, quantiles.

``cumprod`` is a primitive; the rest are written with other entries (``sort``,
``sum``, ``max``, ``where``), so their derivatives are those entries' and every
order comes with them. Values are NumPy's, computed in NumPy's own order of
operations, so a traced forward pass gives NumPy's numbers bit for bit.

>>> import numpy as np
>>> from pullback import gradient, trace
>>> gradient(trace(np.median), np.array([5.0, 1.0, 3.0, 2.0]))  # the two middles share
array([0. , 0. , 0.5, 0.5])
>>> gradient(trace(lambda x: np.nanmean(x)), np.array([1.0, np.nan, 3.0]))
array([0.5, 0. , 0.5])
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .._values import is_traced
from .elementwise import strong_product
from .entry import (
    Composite,
    Primitive,
    float_if_0d,
    ndim_of,
    normalize_axes,
    refuse_keywords,
    shape_of,
)

__all__ = ["CUMPROD", "FUNCTIONS"]

# NumPy's stubs do not know traced values, nor keyword arguments passed on as a dict.
_np: Any = np

FUNCTIONS: dict[Any, Primitive | Composite] = {}
"""Each NumPy function of this family and its entry."""


# -- the running product ---------------------------------------------------------------


def cumprod_pullback(g: Any, y: Any, x: Any, axis: int | None) -> Any:
    shape = shape_of(x)
    if axis is None:  # NumPy flattens: the running product of x.ravel()
        x = np.reshape(x, (-1,))
    along = 0 if axis is None else axis
    if not np.any(np.equal(x, 0.0)):  # a comparison: a plain array, read on x's value
        # dx_i = Σ_{j ≥ i} g_j y_j / x_i: the running sum of g·y from the other end.
        # (g·y with the strong zero: a 0 cotangent where y overflowed stays 0, not nan)
        dx = np.flip(np.cumsum(np.flip(strong_product(g, y), along), along), along) / x
    else:
        dx = _cumprod_pullback_at_zeros(g, x, along)
    return np.reshape(dx, shape) if axis is None else dx


def _cumprod_pullback_at_zeros(g: Any, x: Any, axis: int) -> Any:
    # y/x is 0/0 at a zero. Instead dx_i = L_i Σ_{j ≥ i} g_j R_ij, with L_i the
    # product of the elements before i and R_ij that of those in (i, j]: no
    # division, so exact at zeros, and written with entries (cumprod itself), so
    # its derivatives are exact too. n² numbers per slice, only where x has a zero.
    x = np.moveaxis(x, axis, -1)
    g = np.moveaxis(g, axis, -1)
    n = shape_of(x)[-1]
    ones = np.ones((*shape_of(x)[:-1], 1))
    before = np.cumprod(np.concatenate([ones, x[..., :-1]], axis=-1), axis=-1)
    later = np.greater.outer(np.arange(n), np.arange(n)).T  # [i, k]: k > i
    between = np.cumprod(np.where(later, x[..., None, :], 1.0), axis=-1)  # R_ij
    onwards = np.less_equal.outer(np.arange(n), np.arange(n))  # [i, j]: j ≥ i
    dx = before * np.sum(np.where(onwards, g[..., None, :] * between, 0.0), axis=-1)
    return np.moveaxis(dx, -1, axis)


CUMPROD = Primitive(
    "cumprod",
    np.cumprod,
    (cumprod_pullback,),
    1,
    doc="Running product along an axis (flattened for axis=None).",
    edge="zeros in x are exact (no y/x), at every order",
)


def cumprod_(a: Any, axis: Any = None, dtype: Any = None, out: Any = None) -> Any:
    refuse_keywords("np.cumprod", dtype=dtype, out=out)
    if axis is not None:
        (axis,) = normalize_axes(axis, max(ndim_of(a), 1), "np.cumprod") or (0,)
    if ndim_of(a) == 0:
        a = np.reshape(a, (1,))
    return CUMPROD(a, axis=axis)


# -- averages and ranges ------------------------------------------------------------------


def average_(
    a: Any,
    axis: Any = None,
    weights: Any = None,
    returned: bool = False,
    *,
    keepdims: Any = np._NoValue,
) -> Any:
    keep = {} if keepdims is np._NoValue else {"keepdims": bool(keepdims)}
    axes = normalize_axes(axis, ndim_of(a), "np.average")
    # The axes in the order given (normalize_axes sorts them): weights of shape
    # (4, 2) for axis=(2, 0) follow axis 2, then axis 0, as NumPy's.
    given = None if axes is None else _in_given_order(axis, ndim_of(a))
    if weights is None:
        avg = _np.mean(a, axis=axes, **keep)
        scale = float(math.prod(shape_of(a)) / max(math.prod(shape_of(avg)), 1))
        return (avg, _like(scale, avg)) if returned else avg
    w = weights
    if shape_of(w) != shape_of(a):
        # NumPy's rule: weights along the axes given, of their lengths, broadcast over the rest.
        if axes is None:
            raise TypeError(
                "np.average: axis must be specified when shapes of a and weights differ"
            )
        assert given is not None
        if shape_of(w) != tuple(shape_of(a)[i] for i in given):
            raise ValueError(
                "np.average: shape of weights must be consistent with shape of a "
                f"along the specified axis, got {shape_of(w)} for a of shape {shape_of(a)}"
            )
        w = np.transpose(w, tuple(int(i) for i in np.argsort(given)))
        w = np.reshape(w, tuple(s if i in axes else 1 for i, s in enumerate(shape_of(a))))
    # NumPy's order of operations: Σ w, then Σ a·w, divided.
    scale = _np.sum(w, axis=axes, **keep)
    if np.any(np.equal(scale, 0.0)):
        raise ZeroDivisionError("np.average: weights sum to zero, can't be normalized")
    avg = _np.sum(np.multiply(a, w), axis=axes, **keep) / scale
    if not returned:
        return avg
    return avg, scale if shape_of(scale) == shape_of(avg) else np.broadcast_to(scale, shape_of(avg))


def _in_given_order(axis: Any, ndim: int) -> tuple[int, ...]:
    return tuple(int(i) % ndim for i in ((axis,) if isinstance(axis, int) else axis))


def _like(scale: float, avg: Any) -> Any:
    # The sum of the weights (a constant count here), shaped like the average.
    return np.full(shape_of(avg), scale) if ndim_of(avg) else scale


def ptp_(a: Any, axis: Any = None, out: Any = None, keepdims: Any = np._NoValue) -> Any:
    refuse_keywords("np.ptp", out=out)
    keep = False if keepdims is np._NoValue else bool(keepdims)
    return np.max(a, axis=axis, keepdims=keep) - np.min(a, axis=axis, keepdims=keep)


# -- skipping nan -------------------------------------------------------------------------


def _without_nan(a: Any, fill: float) -> tuple[Any, Any]:
    # The nans of a, a constant mask (a nan has no derivative to keep), and a
    # with each replaced by fill: the nan-skipping reduction is the plain one of that.
    missing = np.isnan(a)
    return missing, np.where(missing, fill, a)


def _skipping_nan(name: str, body: Any) -> Any:
    """A nan-skipping reduction with NumPy's signature: ``body(a, axis, keepdims)``."""

    def reduction(
        a: Any,
        axis: Any = None,
        dtype: Any = None,
        out: Any = None,
        keepdims: Any = np._NoValue,
        **kw: Any,
    ) -> Any:
        refuse_keywords(f"np.{name}", dtype=dtype, out=out, **kw)
        return body(a, axis, False if keepdims is np._NoValue else bool(keepdims))

    reduction.__name__ = reduction.__qualname__ = name
    return reduction


def _nansum(a: Any, axis: Any, keep: bool) -> Any:
    return np.sum(_without_nan(a, 0.0)[1], axis=axis, keepdims=keep)


def _nanprod(a: Any, axis: Any, keep: bool) -> Any:
    return np.prod(_without_nan(a, 1.0)[1], axis=axis, keepdims=keep)


def _nanmean(a: Any, axis: Any, keep: bool) -> Any:
    missing, filled = _without_nan(a, 0.0)
    # NumPy's order: the sum of the rest over their count (0/0 is nan: an all-nan slice).
    # Not mean(where=): NumPy sums the filled array, whose rounding a masked sum does not share.
    count = np.sum(np.logical_not(missing), axis=axis, keepdims=keep).astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.sum(filled, axis=axis, keepdims=keep) / _plain_float(count)


nansum_ = _skipping_nan("nansum", _nansum)
nanprod_ = _skipping_nan("nanprod", _nanprod)
nanmean_ = _skipping_nan("nanmean", _nanmean)


def _plain_float(count: Any) -> Any:
    return float(count) if np.ndim(count) == 0 else count


def _nan_extreme(name: str, extreme: Any, fill: float) -> Any:
    def reduction(
        a: Any, axis: Any = None, out: Any = None, keepdims: Any = np._NoValue, **kw: Any
    ) -> Any:
        refuse_keywords(f"np.{name}", out=out, **kw)
        keep = False if keepdims is np._NoValue else bool(keepdims)
        missing, filled = _without_nan(a, fill)
        y = extreme(filled, axis=axis, keepdims=keep)
        # An all-nan slice is nan, as NumPy's (which warns): nothing to take.
        empty = np.all(missing, axis=axis, keepdims=keep)
        return float_if_0d(np.where(empty, np.nan, y)) if np.any(empty) else y

    reduction.__name__ = reduction.__qualname__ = name
    return reduction


nanmax_ = _nan_extreme("nanmax", np.max, -np.inf)
nanmin_ = _nan_extreme("nanmin", np.min, np.inf)


def _nanvar(a: Any, axis: Any, ddof: float, keepdims: bool) -> Any:
    missing, filled = _without_nan(a, 0.0)
    present = np.logical_not(missing)
    count = np.sum(present, axis=axis, keepdims=True).astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        centred = np.where(present, a - np.sum(filled, axis=axis, keepdims=True) / count, 0.0)
        total = np.sum(centred * centred, axis=axis, keepdims=keepdims)
        dof = (np.sum(present, axis=axis, keepdims=keepdims) - ddof).astype(np.float64)
        # No degrees of freedom left (dof <= 0) is nan, as NumPy's, not ±inf.
        return float_if_0d(np.where(dof > 0.0, total / np.where(dof > 0.0, dof, 1.0), np.nan))


def _ddof(name: str, ddof: float, kw: dict[str, Any]) -> float:
    # NumPy's correction= is ddof by its array-API name; both at once is its error.
    correction = kw.pop("correction", np._NoValue)
    if correction is np._NoValue:
        return ddof
    if ddof != 0:
        raise ValueError(f"{name}: ddof and correction can't be provided simultaneously.")
    return float(correction)


def _nan_spread(name: str, finish: Any) -> Any:
    """nanvar (``finish`` None) or nanstd (np.sqrt) with NumPy's signature."""

    def spread(
        a: Any,
        axis: Any = None,
        dtype: Any = None,
        out: Any = None,
        ddof: float = 0,
        keepdims: Any = np._NoValue,
        **kw: Any,
    ) -> Any:
        ddof = _ddof(f"np.{name}", ddof, kw)
        refuse_keywords(f"np.{name}", dtype=dtype, out=out, **kw)
        var = _nanvar(a, axis, ddof, False if keepdims is np._NoValue else bool(keepdims))
        return var if finish is None else finish(var)

    spread.__name__ = spread.__qualname__ = name
    return spread


nanvar_ = _nan_spread("nanvar", None)
nanstd_ = _nan_spread("nanstd", np.sqrt)


# -- order statistics ---------------------------------------------------------------------


def _lerp(a: Any, b: Any, t: Any) -> Any:
    # NumPy's own interpolation: from a below t = 1/2, from b above, so that
    # t = 1 gives b exactly (a + (b - a)·1 need not).
    d = b - a
    return np.where(np.greater_equal(t, 0.5), b - d * (1.0 - t), a + d * t)


def _quantile(a: Any, q: Any, axis: Any, keepdims: bool, where: str, percent: bool) -> Any:
    if is_traced(q):
        raise TypeError(f"{where}: q must be a plain number or array (a constant), not traced")
    q = np.true_divide(q, 100) if percent else np.asarray(q, dtype=np.float64)
    if not np.all((q >= 0.0) & (q <= 1.0)):  # nan fails both
        bound = (
            "Percentiles must be in the range [0, 100]"
            if percent
            else ("Quantiles must be in the range [0, 1]")
        )
        raise ValueError(f"{where}: {bound}")
    shape = shape_of(a)
    axes = normalize_axes(axis, len(shape), where)
    data, rest = _reduced_first(a, axes)
    n = shape_of(data)[0]
    if n == 0:
        raise IndexError(f"{where}: cannot take a quantile of an empty slice")
    ordered = np.sort(data, axis=0)
    # NumPy's linear method: the virtual index (n - 1)·q between two sorted elements.
    virtual = (n - 1) * q
    below = np.floor(virtual)
    above = np.minimum(below + 1.0, n - 1.0)
    t = np.reshape(virtual - below, q.shape + (1,) * len(rest))
    y = _lerp(ordered[below.astype(np.intp)], ordered[above.astype(np.intp)], t)
    y = _nan_where_nan(ordered, y)
    return _kept(y, q.shape, shape, axes) if keepdims else float_if_0d(y)


def _quantile_function(name: str, percent: bool) -> Any:
    """np.quantile, or np.percentile (q in percent), with NumPy's signature."""

    def quantiles(
        a: Any,
        q: Any,
        axis: Any = None,
        out: Any = None,
        overwrite_input: bool = False,
        method: str = "linear",
        keepdims: bool = False,
        *,
        weights: Any = None,
        interpolation: Any = None,
    ) -> Any:
        where = f"np.{name}"
        refuse_keywords(where, out=out, weights=weights, interpolation=interpolation)
        _linear_only(where, method)
        return _quantile(a, q, axis, bool(keepdims), where, percent=percent)

    quantiles.__name__ = quantiles.__qualname__ = name
    return quantiles


quantile_ = _quantile_function("quantile", percent=False)
percentile_ = _quantile_function("percentile", percent=True)


def median_(
    a: Any, axis: Any = None, out: Any = None, overwrite_input: bool = False, keepdims: bool = False
) -> Any:
    refuse_keywords("np.median", out=out)
    shape = shape_of(a)
    axes = normalize_axes(axis, len(shape), "np.median")
    data, rest = _reduced_first(a, axes)
    n = shape_of(data)[0]
    if n == 0:  # NumPy's mean of an empty slice (it warns): nan, a constant
        y: Any = np.full(rest, np.nan) if rest else np.nan
    else:
        # The mean of the one or two middle elements, as NumPy's median (not the
        # 0.5 quantile, whose interpolation rounds differently).
        ordered = np.sort(data, axis=0)
        y = np.mean(ordered[(n - 1) // 2 : n // 2 + 1], axis=0)
        y = _nan_where_nan(ordered, y)
    return _kept(y, (), shape, axes) if keepdims else float_if_0d(y)


def _reduced_first(a: Any, axes: tuple[int, ...] | None) -> tuple[Any, tuple[int, ...]]:
    # The reduced axes moved to the front and made one (as NumPy does), and the rest's shape.
    if axes is None:
        return np.reshape(a, (-1,)), ()
    moved = np.moveaxis(a, axes, tuple(range(len(axes))))
    rest = shape_of(moved)[len(axes) :]
    return np.reshape(moved, (-1, *rest)), rest


def _nan_where_nan(ordered: Any, y: Any) -> Any:
    # A nan in a slice sorts last and makes the slice's result nan (as NumPy checks).
    nan = np.isnan(ordered[shape_of(ordered)[0] - 1])
    return np.where(nan, np.nan, y) if np.any(nan) else y


def _kept(y: Any, lead: tuple[int, ...], shape: tuple[int, ...], axes: Any) -> Any:
    kept = tuple(1 if (axes is None or i in axes) else s for i, s in enumerate(shape))
    return np.reshape(y, lead + kept)


def _linear_only(where: str, method: str) -> None:
    if method != "linear":
        raise TypeError(
            f"{where}: method={method!r} has no derivative rule in traced code; "
            "the supported method is 'linear' (NumPy's default)"
        )


FUNCTIONS.update(
    {
        np.cumprod: Composite("cumprod", cumprod_, "Running product along an axis.", CUMPROD.edge),
        np.average: Composite("average", average_, "Weighted mean: Σ a·w / Σ w (weights too)."),
        np.ptp: Composite("ptp", ptp_, "Range, max - min.", "ties share, as max and min"),
        np.nansum: Composite("nansum", nansum_, "Sum skipping nan (a nan gets cotangent 0)."),
        np.nanprod: Composite("nanprod", nanprod_, "Product skipping nan."),
        np.nanmean: Composite("nanmean", nanmean_, "Mean skipping nan.", "all-nan slice: nan"),
        np.nanmax: Composite("nanmax", nanmax_, "Largest element skipping nan.", "all-nan: nan"),
        np.nanmin: Composite("nanmin", nanmin_, "Smallest element skipping nan.", "all-nan: nan"),
        np.nanvar: Composite("nanvar", nanvar_, "Variance skipping nan (ddof)."),
        np.nanstd: Composite("nanstd", nanstd_, "Standard deviation skipping nan."),
        np.median: Composite(
            "median", median_, "Middle element (mean of the two middles) by sort.", "nan: nan"
        ),
        np.quantile: Composite(
            "quantile", quantile_, "Quantiles by sort and NumPy's linear interpolation."
        ),
        np.percentile: Composite("percentile", percentile_, "quantile of q / 100."),
    }
)
