"""More of NumPy's arrangements, each written with the shape entries: flips and rotations,
column and depth stacks, splits, delete, ediff1d, select, real and imag, apply_along_axis.

They follow NumPy's own implementations step for step (``rot90`` is NumPy's
flips and transposes, ``select`` its reversed ``where``), so the values are
NumPy's and the derivatives are those of the entries they are made of.

>>> import numpy as np
>>> from pullback import gradient, trace
>>> gradient(trace(lambda x: np.sum(np.rot90(x) * np.arange(4.0).reshape(2, 2))), np.ones((2, 2)))
array([[2., 0.],
       [3., 1.]])
"""

from __future__ import annotations

import operator
from typing import Any

import numpy as np

from .._values import concrete_of
from .entry import Composite, Primitive, ndim_of, normalize_axes, shape_of

__all__ = ["FUNCTIONS"]

FUNCTIONS: dict[Any, Composite | Primitive] = {}
"""Each NumPy function of this family and its entry."""


# -- flips and rotations ---------------------------------------------------------------------


def fliplr_(m: Any) -> Any:
    if ndim_of(m) < 2:
        raise ValueError("np.fliplr: Input must be >= 2-d.")
    return m[:, ::-1]


def flipud_(m: Any) -> Any:
    if ndim_of(m) < 1:
        raise ValueError("np.flipud: Input must be >= 1-d.")
    return m[::-1, ...]


def rot90_(m: Any, k: int = 1, axes: Any = (0, 1)) -> Any:
    axes = tuple(axes)
    ndim = ndim_of(m)
    if len(axes) != 2:
        raise ValueError("np.rot90: len(axes) must be 2.")
    if axes[0] == axes[1] or abs(axes[0] - axes[1]) == ndim:
        raise ValueError("np.rot90: Axes must be different.")
    if not (-ndim <= axes[0] < ndim and -ndim <= axes[1] < ndim):
        raise ValueError(f"np.rot90: Axes={axes} out of range for array of ndim={ndim}.")
    k = operator.index(k) % 4
    if k == 0:
        return m[:]
    if k == 2:
        return np.flip(np.flip(m, axes[0]), axes[1])
    order = list(range(ndim))
    order[axes[0]], order[axes[1]] = order[axes[1]], order[axes[0]]
    if k == 1:
        return np.transpose(np.flip(m, axes[1]), order)
    return np.flip(np.transpose(m, order), axes[1])


# -- stacks and splits -----------------------------------------------------------------------


def column_stack_(tup: Any) -> Any:
    # 1-d arrays become columns; the rest join along axis 1 (NumPy's rule).
    columns = [np.reshape(v, (-1, 1)) if ndim_of(v) < 2 else v for v in tup]
    return np.concatenate(columns, axis=1)


def dstack_(tup: Any) -> Any:
    return np.concatenate([np.atleast_3d(v) for v in tup], axis=2)


def _split_along(name: str, least: int, axis: int) -> Any:
    def split(ary: Any, indices_or_sections: Any) -> Any:
        if ndim_of(ary) < least:
            raise ValueError(f"np.{name} only works on arrays of {least} or more dimensions")
        along = 0 if name == "hsplit" and ndim_of(ary) == 1 else axis
        return np.split(ary, indices_or_sections, along)

    split.__name__ = split.__qualname__ = name
    return split


hsplit_ = _split_along("hsplit", 1, 1)
vsplit_ = _split_along("vsplit", 2, 0)
dsplit_ = _split_along("dsplit", 3, 2)


# -- removing and differencing ---------------------------------------------------------------


def delete_(arr: Any, obj: Any, axis: Any = None) -> Any:
    # The kept positions are a constant index: take them (np.take's entry).
    if axis is None:
        arr = np.reshape(arr, (-1,))
        axis = 0
    (axis,) = normalize_axes(axis, ndim_of(arr), "np.delete") or (0,)
    n = shape_of(arr)[axis]
    keep = np.ones(n, dtype=bool)
    keep[np.arange(n)[obj]] = False
    return np.take(arr, np.flatnonzero(keep), axis=axis)


def ediff1d_(ary: Any, to_end: Any = None, to_begin: Any = None) -> Any:
    flat = np.reshape(ary, (-1,))
    parts = [flat[1:] - flat[:-1]]
    if to_begin is not None:
        parts.insert(0, np.reshape(to_begin, (-1,)))
    if to_end is not None:
        parts.append(np.reshape(to_end, (-1,)))
    return parts[0] if len(parts) == 1 else np.concatenate(parts)


# -- choosing --------------------------------------------------------------------------------


def select_(condlist: Any, choicelist: Any, default: Any = 0) -> Any:
    if len(condlist) != len(choicelist):
        raise ValueError("np.select: list of cases must be same length as list of conditions")
    if len(choicelist) == 0:
        raise ValueError("np.select with an empty condition list is not possible")
    for i, condition in enumerate(condlist):
        if np.asarray(concrete_of(condition)).dtype != bool:
            raise TypeError(f"np.select: invalid entry {i} in condlist: should be boolean ndarray")
    # NumPy's order: the default, then each choice where its condition holds, the
    # first condition last (so it wins): nested where, whose derivative picks; the
    # result broadcasts the conditions, the choices and the default, as NumPy's.
    shape = np.broadcast_shapes(
        *(shape_of(c) for c in condlist), *(shape_of(c) for c in choicelist), shape_of(default)
    )
    result: Any = default
    for condition, choice in zip(condlist[::-1], choicelist[::-1], strict=True):
        result = np.where(condition, choice, result)
    return result if shape_of(result) == shape else np.broadcast_to(result, shape)


def real_(val: Any) -> Any:
    return val  # a real value is its own real part


def imag_(val: Any) -> Any:
    return np.zeros(shape_of(val)) if shape_of(val) else 0.0  # a constant


# -- a function along an axis ----------------------------------------------------------------


def apply_along_axis_(func1d: Any, axis: int, arr: Any, *args: Any, **kwargs: Any) -> Any:
    # Every 1-d slice along the axis, through func1d one by one (as NumPy's loop),
    # the results stacked where the axis was.
    ndim = ndim_of(arr)
    (axis,) = normalize_axes(axis, ndim, "np.apply_along_axis") or (0,)
    moved = np.moveaxis(arr, axis, -1)
    outer = shape_of(moved)[:-1]
    results = [func1d(moved[index], *args, **kwargs) for index in np.ndindex(*outer)]
    if not results:
        raise ValueError(
            "np.apply_along_axis: cannot apply_along_axis when any iteration dimensions are 0"
        )
    inner = shape_of(results[0])
    stacked = np.reshape(np.stack(results), outer + inner)
    # The result's own axes go where the slice's axis was (NumPy's rule).
    order = (*range(axis), *range(len(outer), len(outer) + len(inner)), *range(axis, len(outer)))
    return np.transpose(stacked, order) if inner else stacked


FUNCTIONS.update(
    {
        np.fliplr: Composite("fliplr", fliplr_, "Reverse the columns: m[:, ::-1]."),
        np.flipud: Composite("flipud", flipud_, "Reverse the rows: m[::-1]."),
        np.rot90: Composite(
            "rot90", rot90_, "Rotate by 90° k times: NumPy's flips and transposes."
        ),
        np.column_stack: Composite("column_stack", column_stack_, "1-d arrays as columns, joined."),
        np.dstack: Composite("dstack", dstack_, "Join along the third axis."),
        np.hsplit: Composite("hsplit", hsplit_, "split along axis 1 (axis 0 for 1-d)."),
        np.vsplit: Composite("vsplit", vsplit_, "split along axis 0."),
        np.dsplit: Composite("dsplit", dsplit_, "split along axis 2."),
        np.delete: Composite("delete", delete_, "Drop entries along an axis: take the rest."),
        np.ediff1d: Composite("ediff1d", ediff1d_, "Differences of the flattened array, padded."),
        np.select: Composite(
            "select", select_, "The first choice whose condition holds: nested where."
        ),
        np.real: Composite("real", real_, "A real value's real part: itself."),
        np.imag: Composite("imag", imag_, "A real value's imaginary part: 0, a constant."),
        np.apply_along_axis: Composite(
            "apply_along_axis",
            apply_along_axis_,
            "func1d on every 1-d slice, traced one by one, stacked.",
        ),
    }
)
