"""Shapes and selections: reshape, transpose, broadcast, join, index, pad, where.

Seven primitives carry every function of this family: ``reshape``,
``transpose``, ``broadcast_to``, ``concatenate``, indexing with its scatter,
``pad`` and ``where``. The others (``swapaxes``, ``stack``, ``flip``,
``roll``, ``sort``, ``split`` ...) are written with them, so their derivatives
come for free. Integer and boolean arrays (indices, masks) are constants.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any, TypeVar

import numpy as np

from .._values import is_traced
from .entry import (
    Composite,
    Primitive,
    as_float_if_scalar,
    batch_of_shapes,
    constant,
    ndim_of,
    normalize_axes,
    shape_of,
    summed_back,
    unbroadcast,
    unbroadcast_batch,
)

__all__ = ["FUNCTIONS", "INDEX", "SCATTER", "index_key"]

FUNCTIONS: dict[Any, Composite | Primitive] = {}
"""Each NumPy function of this family and its entry."""


_F = TypeVar("_F", bound=Callable[..., Any])


def _entry(numpy_function: Any, doc: str, edge: str = "") -> Callable[[_F], _F]:
    """Register the decorated implementation (with NumPy's signature) for a NumPy function."""

    def register(function: _F) -> _F:
        name = function.__name__.rstrip("_")
        FUNCTIONS[numpy_function] = Composite(name, function, doc, edge)
        return function

    return register


# -- the primitives ------------------------------------------------------------------------


def _reshape_forward(x: Any, shape: tuple[int, ...]) -> Any:
    return np.reshape(x, shape)


def reshape_pullback(g: Any, y: Any, x: Any, shape: tuple[int, ...]) -> Any:
    return np.reshape(g, shape_of(x))


# The batched vjps below are the vjps themselves, at operands with a batch axis
# in front (see entry.batch_of_shapes): only the parameters move one axis along.
RESHAPE = Primitive(
    "reshape",
    _reshape_forward,
    (reshape_pullback,),
    1,
    doc="A new shape.",
    batch=(batch_of_shapes(reshape_pullback, lambda x, shape: {"shape": shape}),),
)


def _transpose_forward(x: Any, axes: tuple[int, ...]) -> Any:
    return np.transpose(x, axes)


def transpose_pullback(g: Any, y: Any, x: Any, axes: tuple[int, ...]) -> Any:
    return np.transpose(g, tuple(np.argsort(axes)))


TRANSPOSE = Primitive(
    "transpose",
    _transpose_forward,
    (transpose_pullback,),
    1,
    doc="Axes permuted.",
    batch=(
        batch_of_shapes(transpose_pullback, lambda x, axes: {"axes": (0, *(a + 1 for a in axes))}),
    ),
)


def _broadcast_forward(x: Any, shape: tuple[int, ...]) -> Any:
    return np.broadcast_to(x, shape)


def broadcast_to_pullback(g: Any, y: Any, x: Any, shape: tuple[int, ...]) -> Any:
    return unbroadcast(g, shape_of(x))


def broadcast_to_batch(gs: Any, y: Any, x: Any, shape: tuple[int, ...]) -> Any:
    return unbroadcast_batch(gs, shape_of(x))


BROADCAST_TO = Primitive(
    "broadcast_to",
    _broadcast_forward,
    (broadcast_to_pullback,),
    1,
    doc="Broadcast to a shape; dx = dy summed back.",
    batch=(broadcast_to_batch,),
)


def _concatenate_forward(*xs: Any, axis: int) -> Any:
    return np.concatenate(xs, axis=axis)


def concatenate_pullback(i: int, g: Any, y: Any, *xs: Any, axis: int) -> Any:
    start = sum(shape_of(x)[axis] for x in xs[:i])
    stop = start + shape_of(xs[i])[axis]
    key = (slice(None),) * axis + (slice(start, stop),)
    return g[key]


CONCATENATE = Primitive(
    "concatenate",
    _concatenate_forward,
    (concatenate_pullback,),
    -1,
    doc="Arrays joined along an axis; each gets its slice of dy.",
    batch=(batch_of_shapes(concatenate_pullback, lambda *xs, axis: {"axis": axis + 1}, True),),
)


def index_key(key: Any) -> Any:
    """A key for ``x[key]``, refusing traced indices (an index has no derivative)."""
    parts = key if isinstance(key, tuple) else (key,)
    for part in parts:
        if is_traced(part):
            raise TypeError(
                "indexing with a traced value: an index has no derivative; index with "
                "ints, slices, or int/bool arrays (np.argmax(x) gives a plain int)"
            )
    return key


def _is_basic(key: Any) -> bool:
    # Basic indexing (ints, slices, ..., None) and boolean masks select each
    # element at most once, so the scatter can assign; integer arrays may
    # repeat an index, and then the cotangents must add up.
    # A list or a tuple inside the key is an index array too (x[((0, 0, 1),)]
    # is x[[0, 0, 1]]), so it may repeat an index.
    parts = key if isinstance(key, tuple) else (key,)
    for part in parts:
        if isinstance(part, np.ndarray) and part.dtype != np.bool_:
            return False
        if isinstance(part, list | tuple):
            return False
    return True


def batched_key(key: Any) -> Any:
    """``key`` for an array with a batch axis in front, or None where NumPy would move it.

    A leading full slice keeps the batch axis first, unless the key has index
    arrays apart from each other (NumPy then puts their axes first).

    >>> batched_key((0, slice(1, None))), batched_key(([0], slice(None), [1]))
    ((slice(None, None, None), 0, slice(1, None, None)), None)
    """
    parts = key if isinstance(key, tuple) else (key,)
    arrays = [i for i, part in enumerate(parts) if isinstance(part, np.ndarray | list | tuple)]
    if arrays and arrays[-1] - arrays[0] + 1 != len(arrays):
        return None
    return (slice(None), *parts)


def _index_forward(x: Any, key: Any) -> Any:
    part = x[key]
    return as_float_if_scalar(part) if ndim_of(part) == 0 else np.array(part)


def index_pullback(g: Any, y: Any, x: Any, key: Any) -> Any:
    return SCATTER(g, key=key, shape=shape_of(x))


def _index_batch(gs: Any, y: Any, x: Any, key: Any) -> Any:
    # index_pullback on a stack: the scatter's own forward at the key moved one axis
    # along. A batched pass's stacks are concrete arrays, so the entry's dispatch (its
    # check for traced operands and its Shape stand-ins) is skipped: it cost more than
    # the scatter itself, ~7 us a node, three nodes of the Rosenbrock Hessian's pass.
    moved = batched_key(key)
    if moved is None:
        return NotImplemented
    return _scatter_forward(gs, moved, (shape_of(gs)[0], *shape_of(x)))


INDEX = Primitive(
    "index",
    _index_forward,
    (index_pullback,),
    1,
    doc="x[key]: basic, advanced and boolean indexing; repeated indices add up.",
    batch=(_index_batch,),
)


def _scatter_forward(g: Any, key: Any, shape: tuple[int, ...]) -> Any:
    out = np.zeros(shape)
    if _is_basic(key):
        out[key] = g
    else:
        np.add.at(out, key, g)
    return out


def scatter_pullback(g: Any, y: Any, dy: Any, key: Any, shape: tuple[int, ...]) -> Any:
    return INDEX(g, key=key)


def _scatter_batch(gs: Any, y: Any, dy: Any, key: Any, shape: tuple[int, ...]) -> Any:
    # scatter_pullback on a stack: the stack indexed at the key moved one axis along.
    # A view, where the entry's forward copies (a value is its caller's own): a batched
    # pass never writes into a stack it did not make, and copies the one it returns.
    moved = batched_key(key)
    return NotImplemented if moved is None else gs[moved]


SCATTER = Primitive(
    "scatter",
    _scatter_forward,
    (scatter_pullback,),
    1,
    doc="The adjoint of indexing: zeros with dy added at key.",
    batch=(_scatter_batch,),
)


def _pad_forward(x: Any, widths: tuple[tuple[int, int], ...], value: float) -> Any:
    return np.pad(x, widths, mode="constant", constant_values=value)


def pad_pullback(g: Any, y: Any, x: Any, widths: tuple[tuple[int, int], ...], value: float) -> Any:
    return g[tuple(slice(lo, lo + n) for (lo, _), n in zip(widths, shape_of(x), strict=True))]


PAD = Primitive(
    "pad",
    _pad_forward,
    (pad_pullback,),
    1,
    doc="Constant padding; dx = dy's middle.",
    batch=(
        batch_of_shapes(
            pad_pullback, lambda x, widths, value: {"widths": ((0, 0), *widths), "value": value}
        ),
    ),
)


def _where_forward(condition: Any, a: Any, b: Any) -> Any:
    return np.where(condition, a, b)


def _where_products_a(g: Any, y: Any, condition: Any, a: Any, b: Any) -> Any:
    return np.where(condition, g, 0.0)


def _where_products_b(g: Any, y: Any, condition: Any, a: Any, b: Any) -> Any:
    return np.where(condition, 0.0, g)


where_pullback_a, _where_batch_a = summed_back(_where_products_a, 1, "where_pullback_a")
where_pullback_b, _where_batch_b = summed_back(_where_products_b, 2, "where_pullback_b")

WHERE = Primitive(
    "where",
    _where_forward,
    (None, where_pullback_a, where_pullback_b),
    3,
    batch=(None, _where_batch_a, _where_batch_b),
    doc="Elementwise choice; the branch not taken gets an exact 0.",
    edge="np.where(x > 0, np.sqrt(x), 0.0) has gradient 0 at x <= 0 (JAX: nan)",
)


# -- NumPy's functions, written with the primitives --------------------------------------


def _shape_arg(shape: Any) -> tuple[int, ...]:
    if isinstance(shape, int | np.integer):
        return (int(shape),)
    return tuple(int(n) for n in shape)


@_entry(np.reshape, "A new shape (order 'C'); -1 infers one length.")
def reshape_(
    a: Any, shape: Any = None, order: str = "C", *, newshape: Any = None, copy: Any = None
) -> Any:
    if order != "C":
        raise TypeError("np.reshape: only order='C' is supported in traced code")
    shape = newshape if shape is None else shape
    return RESHAPE(a, shape=tuple(np.empty(shape_of(a), bool).reshape(_shape_arg(shape)).shape))


@_entry(np.transpose, "Axes reversed, or permuted by axes.")
def transpose_(a: Any, axes: Any = None) -> Any:
    ndim = ndim_of(a)
    order = tuple(range(ndim))[::-1] if axes is None else tuple(int(i) % ndim for i in axes)
    if order == tuple(range(ndim)):
        return np.positive(a)
    return TRANSPOSE(a, axes=order)


@_entry(np.swapaxes, "Two axes exchanged.")
def swapaxes_(a: Any, axis1: int, axis2: int) -> Any:
    order = list(range(ndim_of(a)))
    i, j = order[axis1], order[axis2]
    order[i], order[j] = j, i
    return transpose_(a, order)


@_entry(np.moveaxis, "Axes moved to new positions.")
def moveaxis_(a: Any, source: Any, destination: Any) -> Any:
    ndim = ndim_of(a)
    # An int, a sequence or an int array, as NumPy takes them.
    sources = [int(s) % ndim for s in np.ravel(np.asarray(source))]
    dests = [int(d) % ndim for d in np.ravel(np.asarray(destination))]
    order = [n for n in range(ndim) if n not in sources]
    for dest, src in sorted(zip(dests, sources, strict=True)):
        order.insert(dest, src)
    return transpose_(a, order)


@_entry(np.expand_dims, "New axes of length 1.")
def expand_dims_(a: Any, axis: Any) -> Any:
    return RESHAPE(a, shape=np.expand_dims(np.empty(shape_of(a), bool), axis).shape)


@_entry(np.squeeze, "Axes of length 1 removed.")
def squeeze_(a: Any, axis: Any = None) -> Any:
    return RESHAPE(a, shape=np.squeeze(np.empty(shape_of(a), bool), axis).shape)


@_entry(np.ravel, "Flattened to one axis (order 'C').")
def ravel_(a: Any, order: str = "C") -> Any:
    if order != "C":
        raise TypeError("np.ravel: only order='C' is supported in traced code")
    return RESHAPE(a, shape=(int(np.prod(shape_of(a), dtype=np.int64)),))


def _at_least(n: int, a: Any) -> Any:
    shape = shape_of(a)
    if len(shape) >= n:
        return a
    if n == 3 and len(shape) == 2:
        return RESHAPE(a, shape=(*shape, 1))
    if n == 3 and len(shape) == 1:
        return RESHAPE(a, shape=(1, *shape, 1))
    return RESHAPE(a, shape=(1,) * (n - len(shape)) + shape)


def _at_least_all(n: int, arys: tuple[Any, ...]) -> Any:
    out = [_at_least(n, a) for a in arys]
    return out[0] if len(out) == 1 else tuple(out)


@_entry(np.atleast_1d, "At least one axis.")
def atleast_1d_(*arys: Any) -> Any:
    return _at_least_all(1, arys)


@_entry(np.atleast_2d, "At least two axes (a 1-d array becomes a row).")
def atleast_2d_(*arys: Any) -> Any:
    return _at_least_all(2, arys)


@_entry(np.atleast_3d, "At least three axes (NumPy's placement of the new ones).")
def atleast_3d_(*arys: Any) -> Any:
    return _at_least_all(3, arys)


@_entry(np.broadcast_to, "Broadcast to a shape; the cotangent is summed back.")
def broadcast_to_(array: Any, shape: Any, subok: bool = False) -> Any:
    shape = _shape_arg(shape)
    if shape_of(array) == shape:
        return np.positive(array)
    return BROADCAST_TO(array, shape=shape)


@_entry(np.concatenate, "Arrays joined along an existing axis (axis=None flattens).")
def concatenate_(
    arrays: Any, axis: Any = 0, out: Any = None, *, dtype: Any = None, casting: str = "same_kind"
) -> Any:
    if out is not None:
        raise TypeError("np.concatenate: out= writes in place; use the returned value")
    pieces = list(arrays)
    if axis is None:
        pieces = [ravel_(p) for p in pieces]
        axis = 0
    ndim = ndim_of(pieces[0])
    (axis,) = normalize_axes(axis, ndim, "np.concatenate") or (0,)
    return CONCATENATE(*pieces, axis=axis)


@_entry(np.stack, "Arrays joined along a new axis.")
def stack_(
    arrays: Any, axis: int = 0, out: Any = None, *, dtype: Any = None, casting: str = "same_kind"
) -> Any:
    if out is not None:
        raise TypeError("np.stack: out= writes in place; use the returned value")
    pieces = list(arrays)
    if not pieces:
        raise ValueError("np.stack: need at least one array to stack")
    ndim = ndim_of(pieces[0]) + 1
    (axis,) = normalize_axes(axis, ndim, "np.stack") or (0,)
    return CONCATENATE(*[expand_dims_(p, axis) for p in pieces], axis=axis)


@_entry(np.hstack, "Arrays joined column-wise (1-d: end to end).")
def hstack_(tup: Any, *, dtype: Any = None, casting: str = "same_kind") -> Any:
    pieces = [_at_least(1, p) for p in tup]
    return concatenate_(pieces, axis=0 if ndim_of(pieces[0]) == 1 else 1)


@_entry(np.vstack, "Arrays joined row-wise (1-d arrays become rows).")
def vstack_(tup: Any, *, dtype: Any = None, casting: str = "same_kind") -> Any:
    return concatenate_([_at_least(2, p) for p in tup], axis=0)


@_entry(np.append, "Values appended (axis=None flattens both).")
def append_(arr: Any, values: Any, axis: Any = None) -> Any:
    if axis is None:
        return concatenate_([ravel_(arr), ravel_(values)], axis=0)
    return concatenate_([arr, values], axis=axis)


def _split_points(length: int, sections: Any, even: bool, where: str) -> list[int]:
    if isinstance(sections, int | np.integer):
        count = int(sections)
        if count <= 0:
            raise ValueError(f"{where}: the number of sections must be larger than 0")
        if even and length % count:
            raise ValueError(f"{where}: array split does not result in an equal division")
        size, extra = divmod(length, count)
        points, at = [], 0
        for k in range(count - 1):
            at += size + (1 if k < extra else 0)
            points.append(at)
        return points
    return [int(p) for p in sections]


def _split(ary: Any, sections: Any, axis: int, even: bool, where: str) -> list[Any]:
    ndim = ndim_of(ary)
    (axis,) = normalize_axes(axis, ndim, where) or (0,)
    length = shape_of(ary)[axis]
    bounds = [0, *_split_points(length, sections, even, where), length]
    lead = (slice(None),) * axis
    return [INDEX(ary, key=(*lead, slice(lo, hi))) for lo, hi in itertools.pairwise(bounds)]


@_entry(np.split, "Pieces along an axis (a list of traced arrays).")
def split_(ary: Any, indices_or_sections: Any, axis: int = 0) -> Any:
    return _split(ary, indices_or_sections, axis, True, "np.split")


@_entry(np.array_split, "Pieces along an axis, of lengths that may differ by one.")
def array_split_(ary: Any, indices_or_sections: Any, axis: int = 0) -> Any:
    return _split(ary, indices_or_sections, axis, False, "np.array_split")


@_entry(np.flip, "Order reversed along axes.")
def flip_(m: Any, axis: Any = None) -> Any:
    ndim = ndim_of(m)
    if ndim == 0 and axis is None:  # NumPy: a 0-d value flipped is itself
        return np.positive(m)
    axes = normalize_axes(axis, ndim, "np.flip")
    flipped = range(ndim) if axes is None else axes
    return INDEX(
        m, key=tuple(slice(None, None, -1) if i in flipped else slice(None) for i in range(ndim))
    )


@_entry(np.roll, "Elements shifted cyclically along an axis (axis=None: flattened).")
def roll_(a: Any, shift: Any, axis: Any = None) -> Any:
    if axis is None:
        return reshape_(roll_(ravel_(a), shift, 0), shape_of(a))
    # As NumPy: shift and axis broadcast against each other (np.roll(x, 1,
    # axis=(0, 1)) rolls both axes by 1), and shifts along one axis add up.
    pairs = np.broadcast(np.asarray(shift), np.asarray(axis))
    if pairs.ndim > 1:
        raise ValueError("np.roll: 'shift' and 'axis' should be scalars or 1D sequences")
    ndim = ndim_of(a)
    total = [0] * ndim
    for s, ax in pairs:
        (ax,) = normalize_axes(int(ax), ndim, "np.roll") or (0,)
        total[ax] += int(s)
    out = a
    for ax, s in enumerate(total):
        n = shape_of(a)[ax]
        if n and s % n:
            order = (np.arange(n) - s) % n
            out = INDEX(out, key=(slice(None),) * ax + (order,))
    return out if out is not a else np.positive(a)


@_entry(np.tile, "Repeated as whole blocks.")
def tile_(A: Any, reps: Any) -> Any:
    reps = _shape_arg(reps)
    shape = shape_of(A)
    ndim = max(len(shape), len(reps))
    shape = (1,) * (ndim - len(shape)) + shape
    reps = (1,) * (ndim - len(reps)) + reps
    spread = RESHAPE(A, shape=tuple(s for n in shape for s in (1, n)))
    target = tuple(s for r, n in zip(reps, shape, strict=True) for s in (r, n))
    full = BROADCAST_TO(spread, shape=target) if target != shape_of(spread) else spread
    return RESHAPE(full, shape=tuple(r * n for r, n in zip(reps, shape, strict=True)))


@_entry(np.repeat, "Each element repeated (axis=None: flattened).")
def repeat_(a: Any, repeats: Any, axis: Any = None) -> Any:
    if axis is None:
        a = ravel_(a)
        axis = 0
    ax = int(axis) % ndim_of(a)
    order = np.repeat(np.arange(shape_of(a)[ax]), repeats)
    return INDEX(a, key=(slice(None),) * ax + (order,))


@_entry(np.pad, "Constant padding (mode='constant' only).")
def pad_(array: Any, pad_width: Any, mode: str = "constant", **kwargs: Any) -> Any:
    if mode != "constant" or set(kwargs) - {"constant_values"}:
        raise TypeError(
            "np.pad: only mode='constant' (with constant_values) is supported in traced code"
        )
    value = kwargs.get("constant_values", 0.0)
    if ndim_of(value) or is_traced(value):
        raise TypeError("np.pad: constant_values must be one plain number in traced code")
    ndim = ndim_of(array)
    if ndim == 0:  # NumPy: a 0-d value has no axis to pad
        return np.positive(array)
    widths = np.broadcast_to(np.asarray(pad_width, dtype=np.intp), (ndim, 2))
    return PAD(array, widths=tuple((int(lo), int(hi)) for lo, hi in widths), value=float(value))


def _triangle(m: Any, k: int, upper: bool) -> Any:
    # NumPy's mask: tri(*shape[-2:]), so a 1-d array of length n is the rows
    # of an n x n matrix (it broadcasts against the mask).
    rows, cols = (shape_of(m) * 2)[-2:]  # (n,) gives (n, n), as tri(*shape[-2:]) does
    mask = np.tri(rows, cols, k - 1 if upper else k, dtype=bool)
    return np.where(~mask if upper else mask, m, 0.0)


@_entry(np.triu, "The upper triangle, the rest 0.")
def triu_(m: Any, k: int = 0) -> Any:
    return _triangle(m, k, True)


@_entry(np.tril, "The lower triangle, the rest 0.")
def tril_(m: Any, k: int = 0) -> Any:
    return _triangle(m, k, False)


@_entry(np.take, "Elements at indices (axis=None: of the flattened array).")
def take_(a: Any, indices: Any, axis: Any = None, out: Any = None, mode: str = "raise") -> Any:
    if out is not None or mode != "raise":
        raise TypeError("np.take: out= and mode= are not supported in traced code")
    if axis is None:
        return INDEX(ravel_(a), key=np.asarray(indices))
    ax = int(axis) % ndim_of(a)
    return INDEX(a, key=(slice(None),) * ax + (np.asarray(indices),))


@_entry(np.take_along_axis, "Elements picked along an axis by an index array.")
def take_along_axis_(arr: Any, indices: Any, axis: Any = -1) -> Any:
    if axis is None:
        return INDEX(ravel_(arr), key=np.asarray(indices))
    shape = shape_of(arr)
    ax = int(axis) % len(shape)
    indices = np.asarray(indices)
    key = []
    for i in range(len(shape)):
        if i == ax:
            key.append(indices)
        else:
            view = [1] * len(shape)
            view[i] = shape[i]
            key.append(np.arange(shape[i]).reshape(view))
    return INDEX(arr, key=tuple(key))


@_entry(np.diff, "Differences of neighbours, n times, along an axis.")
def diff_(
    a: Any, n: int = 1, axis: int = -1, prepend: Any = np._NoValue, append: Any = np._NoValue
) -> Any:
    if prepend is not np._NoValue or append is not np._NoValue:
        pieces = ([prepend] if prepend is not np._NoValue else []) + [a]
        pieces += [append] if append is not np._NoValue else []
        a = concatenate_(
            [np.broadcast_to(p, _like_along(p, a, axis)) if ndim_of(p) == 0 else p for p in pieces],
            axis=axis,
        )
    if n < 0:
        raise ValueError(f"np.diff: order must be non-negative but got {n!r}")
    ax = int(axis) % ndim_of(a)
    lead = (slice(None),) * ax
    for _ in range(n):
        a = INDEX(a, key=(*lead, slice(1, None))) - INDEX(a, key=(*lead, slice(None, -1)))
    return a


def _like_along(p: Any, a: Any, axis: int) -> tuple[int, ...]:
    shape = list(shape_of(a))
    shape[int(axis) % len(shape)] = 1
    return tuple(shape)


@_entry(np.sort, "Sorted along an axis; ties keep NumPy's stable order.")
def sort_(
    a: Any, axis: Any = -1, kind: Any = None, order: Any = None, *, stable: Any = None
) -> Any:
    order_ = np.argsort(a, axis=axis, kind="stable")
    return take_along_axis_(a, order_, axis=axis)


@_entry(np.where, "Elementwise choice (one argument: the indices, a constant).", WHERE.edge)
def where_(condition: Any, x: Any = np._NoValue, y: Any = np._NoValue) -> Any:
    if x is np._NoValue and y is np._NoValue:
        return np.nonzero(condition)
    # The condition is WHERE's constant operand, read as NumPy reads any number
    # (nonzero is True); a compiled function computes it again at every call.
    return WHERE(constant(_as_condition, condition), x, y)


def _as_condition(condition: Any) -> Any:
    return np.asarray(condition, dtype=bool)


@_entry(np.clip, "Values limited to [a_min, a_max]; the gradient passes at the bounds.")
def clip_(
    a: Any,
    a_min: Any = np._NoValue,
    a_max: Any = np._NoValue,
    out: Any = None,
    *,
    min: Any = np._NoValue,
    max: Any = np._NoValue,
    **kwargs: Any,
) -> Any:
    if out is not None:
        raise TypeError("np.clip: out= writes in place; use the returned value")
    low = min if a_min is np._NoValue else a_min
    high = max if a_max is np._NoValue else a_max
    out_ = a
    if low is not None and low is not np._NoValue:
        out_ = WHERE(np.less(out_, low), low, out_)
    if high is not None and high is not np._NoValue:
        out_ = WHERE(np.greater(out_, high), high, out_)
    return out_ if out_ is not a else np.positive(a)


@_entry(np.nan_to_num, "nan and ±inf replaced by numbers (constants: no gradient there).")
def nan_to_num_(
    x: Any, copy: bool = True, nan: float = 0.0, posinf: Any = None, neginf: Any = None
) -> Any:
    if not copy:
        raise TypeError(
            "np.nan_to_num: copy=False writes into x in place, which traced code cannot do; "
            "use the returned value (x = np.nan_to_num(x))"
        )
    big = np.finfo(np.float64).max
    out = WHERE(np.isnan(x), float(nan), x)
    out = WHERE(np.equal(x, np.inf), big if posinf is None else float(posinf), out)
    return WHERE(np.equal(x, -np.inf), -big if neginf is None else float(neginf), out)


@_entry(np.copy, "A copy (the same value; traced values are immutable).")
def copy_(a: Any, order: str = "K", subok: bool = False) -> Any:
    return np.positive(a)


@_entry(np.diagonal, "A diagonal of two axes.")
def diagonal_(a: Any, offset: int = 0, axis1: int = 0, axis2: int = 1) -> Any:
    shape = shape_of(a)
    ndim = len(shape)
    a1, a2 = int(axis1) % ndim, int(axis2) % ndim
    n1, n2 = shape[a1], shape[a2]
    start1, start2 = (0, offset) if offset >= 0 else (-offset, 0)
    length = max(0, min(n1 - start1, n2 - start2))
    i = np.arange(length)
    rest = [k for k in range(ndim) if k not in (a1, a2)]
    moved = transpose_(a, [*rest, a1, a2])
    return INDEX(moved, key=(Ellipsis, i + start1, i + start2))


@_entry(np.trace, "The sum of a diagonal.")
def trace_(
    a: Any, offset: int = 0, axis1: int = 0, axis2: int = 1, dtype: Any = None, out: Any = None
) -> Any:
    if out is not None:
        raise TypeError("np.trace: out= writes in place; use the returned value")
    return np.sum(diagonal_(a, offset, axis1, axis2), axis=-1)


@_entry(np.diag, "A 1-d array as a diagonal matrix, or a matrix's diagonal.")
def diag_(v: Any, k: int = 0) -> Any:
    if ndim_of(v) == 2:
        return diagonal_(v, k)
    if ndim_of(v) != 1:
        raise ValueError("np.diag: input must be 1-d or 2-d")
    n = shape_of(v)[0] + abs(k)
    i = np.arange(shape_of(v)[0])
    rows, cols = (i, i + k) if k >= 0 else (i - k, i)
    return SCATTER(v, key=(rows, cols), shape=(n, n))
