"""Sliding windows: ``np.lib.stride_tricks.sliding_window_view``, the functional im2col.

Convolution and pooling layers, written in plain NumPy, take the windows of
their input and reduce them (an ``einsum`` with the filters, a ``max``): no
buffer is filled in place, so the code traces. The windows of a traced value
are a copy (NumPy's are a read-only view: the same numbers), and the pullback
adds each window's cotangent back where the window was, as many times as an
element appears in windows.

>>> import numpy as np
>>> from pullback import gradient, trace
>>> windows = np.lib.stride_tricks.sliding_window_view
>>> gradient(trace(lambda x: np.sum(windows(x, 3))), np.zeros(5))  # in 1, 2, 3, 2, 1 windows
array([1., 2., 3., 2., 1.])
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np

from .entry import Composite, Primitive, normalize_axes, shape_of

__all__ = ["FUNCTIONS", "WINDOWS"]

FUNCTIONS: dict[Any, Composite | Primitive] = {}
"""Each NumPy function of this family and its entry."""

_windows = np.lib.stride_tricks.sliding_window_view


def _windows_forward(x: Any, window: tuple[int, ...], axes: tuple[int, ...]) -> Any:
    return np.array(_windows(x, window, axis=axes))  # a copy: the view is read-only


def windows_pullback(g: Any, y: Any, x: Any, window: tuple[int, ...], axes: tuple[int, ...]) -> Any:
    # Window offset k holds x shifted by k along the axes: its cotangent goes back
    # there, padded to x's shape; the offsets' contributions add up.
    shape = shape_of(x)
    out: Any = None
    lead = (slice(None),) * len(shape)
    for offset in itertools.product(*(range(w) for w in window)):
        widths = [(0, 0)] * len(shape)
        for axis, k, w in zip(axes, offset, window, strict=True):
            widths[axis] = (k, w - 1 - k)
        part = np.pad(g[(*lead, *offset)], widths)
        out = part if out is None else out + part
    return np.zeros(shape) if out is None else out  # a window of size 0 holds nothing


WINDOWS = Primitive(
    "sliding_window_view",
    _windows_forward,
    (windows_pullback,),
    1,
    doc="Every window of the given shape along the axes; dx = the windows' cotangents added back.",
)


def sliding_window_view_(
    x: Any,
    window_shape: Any,
    axis: Any = None,
    *,
    subok: bool = False,
    writeable: bool = False,
) -> Any:
    where = "np.lib.stride_tricks.sliding_window_view"
    if writeable:
        raise TypeError(
            f"{where}: writeable=True makes a view to write into, which traced code cannot "
            "do; use the windows as values"
        )
    window = (window_shape,) if isinstance(window_shape, int) else tuple(window_shape)
    ndim = len(shape_of(x))
    if axis is None:
        if len(window) != ndim:
            raise ValueError(
                f"{where}: since axis is None, window_shape must have one entry per "
                f"dimension of x ({ndim}), got {window}"
            )
        axes = tuple(range(ndim))
    else:
        given = (axis,) if isinstance(axis, int) else tuple(axis)
        if len(given) != len(window):
            raise ValueError(
                f"{where}: window_shape and axis must have the same length, got {window} "
                f"and {given}"
            )
        # The windows' axes come in the order given (axis=(1, 0) puts axis 1's first).
        axes = tuple(int(a) % ndim if -ndim <= int(a) < ndim else a for a in given)
        if len(set(axes)) != len(axes):
            raise TypeError(f"{where}: a repeated axis is not supported in traced code")
        normalize_axes(axes, ndim, where)  # NumPy's AxisError for an axis out of range
    for a, w in zip(axes, window, strict=True):
        if not 0 <= w <= shape_of(x)[a]:
            raise ValueError(
                f"{where}: window shape {window} cannot be larger than x's shape {shape_of(x)} "
                "along the axes, nor negative"
            )
    return WINDOWS(x, window=tuple(int(w) for w in window), axes=axes)


FUNCTIONS[np.lib.stride_tricks.sliding_window_view] = Composite(
    "sliding_window_view", sliding_window_view_, WINDOWS.doc
)
