"""Neural-network rules: ``affine``, ``softmax``, ``log_softmax``, ``softmax_cross_entropy``.

The layers of the book's two-layer network, as pure rules: nothing is stored
on a layer between the forward and the backward pass; what the backward pass
needs is captured by the pullback of one call.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from .. import _ieee as ieee
from .._table.entry import Primitive
from .._table.library import AFFINE, LOG_SOFTMAX, SOFTMAX, SOFTMAX_CROSS_ENTROPY
from .._types import Array, Labels, Pullback
from .._values import as_value, describe

__all__ = ["affine", "check_shapes", "log_softmax", "softmax", "softmax_cross_entropy"]


def _vjp(entry: Primitive, i: int = 0) -> Callable[..., Any]:
    vjps = entry.vjps
    assert vjps is not None
    vjp = vjps[i]
    assert vjp is not None
    return vjp


softmax_vjp = _vjp(SOFTMAX)
log_softmax_vjp = _vjp(LOG_SOFTMAX)


def _one_pass(entry: Primitive, xs: tuple[Any, ...]) -> tuple[Any, Callable[[Any], Any]]:
    """The entry at concrete values, as traced code runs it: its value and its pullback.

    Its forward keeps its residuals where it has them (the cross-entropy's softmax),
    and the pullback runs the entry's vjps on them: the table's one derivative.
    """
    vjps = entry.vjps
    assert vjps is not None
    residuals = entry.residuals
    with ieee.quiet():
        if residuals is None:
            y, keywords = entry.forward(*xs), {}
        else:
            y, res = residuals(*xs)
            keywords = {"res": res}

    def pullback(dy: Any) -> tuple[Any, ...]:
        # dy is an array or a number, or a traced one when this pullback runs inside
        # an outer trace (its operations then record there). A float as float64: IEEE.
        g = np.float64(dy) if type(dy) is float else dy
        with ieee.quiet():
            return tuple(vjp(g, y, *xs, **keywords) for vjp in vjps if vjp is not None)

    pullback.__name__ = pullback.__qualname__ = f"{entry.name}_pullback"
    return y, pullback


def _matrix(x: Any, rule: str, what: str, ndim: int) -> Array:
    value = as_value(x, f"{rule} ({what})")
    if not isinstance(value, np.ndarray) or value.ndim != ndim:
        raise ValueError(f"{rule}: {what} must be a {ndim}-d array, got {describe(value)}")
    return value


def affine(
    x: Array, w: Array, b: Array, /
) -> tuple[Array, Pullback[Array, tuple[Array, Array, Array]]]:
    """The affine layer of a batch: ``y = x W + b``; ``(dx, dW, db) = (dy Wᵀ, xᵀ dy, Σₙ dy)``.

    Args:
        x: the batch, shape ``(N, D)``.
        w: the weights, shape ``(D, H)``.
        b: the bias, shape ``(H,)``.

    Returns:
        ``(y, affine_pullback)`` with ``y`` of shape ``(N, H)``.

    Raises:
        TypeError: an argument is not a real array.
        ValueError: the shapes do not fit together.

    >>> import numpy as np
    >>> y, back = affine(np.ones((2, 3)), np.ones((3, 4)), np.zeros(4))
    >>> y.shape, [g.shape for g in back(np.ones((2, 4)))]
    ((2, 4), [(2, 3), (3, 4), (4,)])
    """
    x = _matrix(x, "affine", "x", 2)
    w = _matrix(w, "affine", "W", 2)
    b = _matrix(b, "affine", "b", 1)
    if x.shape[1] != w.shape[0] or w.shape[1] != b.shape[0]:
        raise ValueError(
            f"affine: shapes x {x.shape}, W {w.shape}, b {b.shape} do not fit: "
            "x is (N, D), W is (D, H), b is (H,)"
        )
    y, affine_pullback = _one_pass(AFFINE, (x, w, b))  # the table's entry
    return y, affine_pullback


def check_shapes(name: str, *shapes: tuple[int, ...]) -> None:
    """The shape checks of ``affine`` and ``softmax_cross_entropy``, for traced code too.

    >>> check_shapes("affine", (2, 3), (3, 4), (4,))
    >>> check_shapes("affine", (2, 3), (2, 4), (4,))
    Traceback (most recent call last):
    ...
    ValueError: affine: shapes x (2, 3), W (2, 4), b (4,) do not fit: ...
    """
    if name == "affine":
        x, w, b = shapes
        if len(x) != 2 or len(w) != 2 or len(b) != 1 or x[1] != w[0] or w[1] != b[0]:
            raise ValueError(
                f"affine: shapes x {x}, W {w}, b {b} do not fit: "
                "x is (N, D), W is (D, H), b is (H,)"
            )
        return
    logits, labels = shapes
    if len(logits) != 2 or 0 in logits or labels not in (logits[:1], logits):
        raise ValueError(
            f"softmax_cross_entropy: logits {logits} must be (N, C) with N, C > 0, and labels "
            f"{labels} one-hot rows (N, C) or class indices (N,)"
        )


def _array(x: Any, rule: str) -> Array:
    value = as_value(x, rule)
    if not isinstance(value, np.ndarray) or value.ndim == 0:
        raise ValueError(f"{rule}: x must be an array of scores (classes on the last axis)")
    if value.shape[-1] == 0:
        raise ValueError(f"{rule}: x has no classes (its last axis is empty), {describe(value)}")
    return value


def softmax(x: Array, /) -> tuple[Array, Pullback[Array, Array]]:
    """Softmax over the last axis: ``y = exp(x) / Σ exp(x)``; ``dx = y (dy − Σ dy·y)``.

    Args:
        x: an array of scores (the last axis is the classes).

    Returns:
        ``(y, softmax_pullback)``.

    Raises:
        TypeError: ``x`` is not a real array.
        ValueError: ``x`` is a float or has no classes (an empty last axis).

    >>> import numpy as np
    >>> y, back = softmax(np.array([0.0, 0.0]))
    >>> y, back(np.array([1.0, 0.0]))
    (array([0.5, 0.5]), array([ 0.25, -0.25]))
    """
    x = _array(x, "softmax")
    axis = (x.ndim - 1,)
    with ieee.quiet():
        y = SOFTMAX.forward(x, axis=axis)  # the table's entry: its value and its vjp

    def softmax_pullback(dy: Array) -> Array:
        with ieee.quiet():
            dx: Array = softmax_vjp(dy, y, x, axis=axis)
        return dx

    return y, softmax_pullback


def log_softmax(x: Array, /) -> tuple[Array, Pullback[Array, Array]]:
    """Log-softmax over the last axis: ``y = x − log Σ exp(x)``; ``dx = dy − softmax(x) Σ dy``.

    Args:
        x: an array of scores (the last axis is the classes).

    Returns:
        ``(y, log_softmax_pullback)``.

    Raises:
        TypeError: ``x`` is not a real array.
        ValueError: ``x`` is a float or has no classes (an empty last axis).

    >>> import numpy as np
    >>> y, back = log_softmax(np.array([0.0, 0.0]))
    >>> np.round(y, 6), back(np.array([1.0, 0.0]))
    (array([-0.693147, -0.693147]), array([ 0.5, -0.5]))
    """
    x = _array(x, "log_softmax")
    axis = (x.ndim - 1,)
    with ieee.quiet():
        y = LOG_SOFTMAX.forward(x, axis=axis)  # the table's entry: its value and its vjp

    def log_softmax_pullback(dy: Array) -> Array:
        with ieee.quiet():
            dx: Array = log_softmax_vjp(np.asarray(dy), y, x, axis=axis)
        return dx

    return y, log_softmax_pullback


def softmax_cross_entropy(
    logits: Array, labels: Labels, /
) -> tuple[float, Pullback[float, tuple[Array, Array]]]:
    """Mean cross-entropy of softmax(logits) against labels: the book's Softmax-with-Loss.

    ``loss = −(1/N) Σₙ log softmax(logits)[n, label]``, computed by log-sum-exp,
    so logits of ±1e4 give neither nan nor inf. ``dlogits = dy (softmax − t) / N``.

    Args:
        logits: shape ``(N, C)``.
        labels: one-hot (or probability) rows of shape ``(N, C)``, or class
            indices of shape ``(N,)`` (ints, or floats holding whole numbers).

    Returns:
        ``(loss, softmax_cross_entropy_pullback)``; the pullback returns the
        cotangents of the logits and of the labels (zeros for class indices,
        which are not differentiable; ``−dy log softmax / N`` for rows).

    Raises:
        TypeError: an argument is not a real array.
        ValueError: the shapes do not fit, the batch or the classes are empty, or
            an index is not a class.

    >>> import numpy as np
    >>> loss, back = softmax_cross_entropy(np.array([[0.0, 0.0]]), np.array([1]))
    >>> round(loss, 6), back(1.0)[0]
    (0.693147, array([[ 0.5, -0.5]]))
    """
    logits = _matrix(logits, "softmax_cross_entropy", "logits", 2)
    n, classes = logits.shape
    if n == 0 or classes == 0:  # the mean over no rows, or a softmax over no classes
        raise ValueError(
            f"softmax_cross_entropy: logits must have at least one row and one class, "
            f"got shape {logits.shape}"
        )
    loss, softmax_cross_entropy_pullback = _one_pass(
        SOFTMAX_CROSS_ENTROPY, (logits, _labels(labels, n, classes))
    )  # the table's entry, in one pass: it checks that class indices are classes
    return loss, softmax_cross_entropy_pullback


def _labels(labels: Any, n: int, classes: int) -> Array:
    """One-hot rows as a value, or class indices as given (ints are not made floats)."""
    if type(labels) is np.ndarray and labels.dtype.kind in "iu" and labels.shape == (n,):
        return labels
    value = as_value(labels, "softmax_cross_entropy (labels)")
    if isinstance(value, np.ndarray) and value.shape in ((n,), (n, classes)):
        return value
    raise ValueError(
        f"softmax_cross_entropy: labels must be one-hot rows {(n, classes)} or class indices "
        f"{(n,)}, got {describe(labels)}"
    )


# The table's entries of these rules, so that lifting them (and differentiating
# them again, or pushing forward) takes the entry's traceable vjps. softmax and
# log_softmax take an axis, which their rules fix to the last one (see lift).
affine.entry = AFFINE  # type: ignore[attr-defined]
softmax_cross_entropy.entry = SOFTMAX_CROSS_ENTROPY  # type: ignore[attr-defined]
