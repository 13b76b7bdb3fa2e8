"""The library's own functions, for what NumPy lacks: sigmoid, relu, softplus, log-sum-exp, softmax.

They are entries like NumPy's; in traced code they are called as
``pullback.ops.sigmoid(x)`` or ``ops.softmax(x, axis=1)``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .._ieee import restore, silence
from .._values import concrete_of, describe
from . import kernels as k
from .elementwise import unary
from .entry import (
    Primitive,
    batch_of_axis,
    expand_reduced,
    ndim_of,
    normalize_axes,
    reduced,
    shape_of,
)

__all__ = [
    "AFFINE",
    "LOGSUMEXP",
    "LOG_SOFTMAX",
    "RELU",
    "SIGMOID",
    "SOFTMAX",
    "SOFTMAX_CROSS_ENTROPY",
    "SOFTPLUS",
    "class_indices",
    "logsumexp_axes",
]


def _sigmoid_value(x: Any) -> Any:
    # Two branches from e = exp(-|x|), which cannot overflow: σ(|x|) = 1/(1+e),
    # σ(-|x|) = e/(1+e), each one rounding (no overflow at ±1000).
    e = np.exp(-np.abs(x))
    return np.where(np.greater_equal(x, 0.0), 1.0, e) / (1.0 + e)


def _relu_value(x: Any) -> Any:
    return np.where(np.less_equal(x, 0.0), 0.0, x)  # -0.0 becomes +0.0; nan stays nan


def _softplus_value(x: Any) -> Any:
    return np.log1p(np.exp(-np.abs(x))) + np.maximum(x, 0.0)


@unary(
    forward=_sigmoid_value,
    edge="σ'(x) = σ(x)·σ(-x) = e/(1+e)² with e = exp(-|x|): σ'(40) = 4.2e-18, not 0",
    # The two tails as in _sigmoid_value: exp(-|x|) cannot overflow. (A nan
    # takes the else branch: exp(nan) is nan.)
    float_code=(
        "if x >= 0.0:",
        "    e = exp(-x)",
        "    t = 1.0 + e",
        "    x = 1.0 / t",
        "else:",
        "    e = exp(x)",
        "    t = 1.0 + e",
        "    x = e / t",
        "{d} = e / (t * t)",
    ),
    array_kernel=k.sigmoid_kernel,
)
def sigmoid(x: Any, y: Any) -> Any:
    """Logistic sigmoid 1/(1 + e^-x), exact in both tails; d = σ(x)·σ(-x)."""
    # σ(x)·σ(-x) = e/(1+e)² for e = exp(-|x|): one expression for both signs,
    # traceable (|x|'s kink at 0 is where e/(1+e)² is flat).
    e = np.exp(-np.abs(x))
    t = 1.0 + e
    return e / (t * t)


SIGMOID: Primitive = sigmoid


@unary(
    forward=_relu_value,
    edge="kink: relu'(0) = 0; relu(nan) = nan with derivative nan",
    float_code=("x = 0.0 if x <= 0.0 else x", "{d} = 1.0 if x > 0.0 else x * 0.0"),
    array_kernel=k.relu_kernel,
)
def relu(x: Any, y: Any) -> Any:
    """Rectifier max(x, 0); d = 1 where x > 0, else 0."""
    # 0 * |x| is +0 on the flat piece (x * 0 would be -0 for x < 0) and nan at nan.
    return np.where(np.greater(x, 0.0), 1.0, np.multiply(np.abs(x), 0.0))


RELU: Primitive = relu


def _relu_residuals(x: Any) -> tuple[Any, Any]:
    # relu's value, and its derivative kept where it is a mask: on a finite array
    # (its sum says so, in one reduction) relu'(x) is 1 where x > 0 and +0 elsewhere,
    # which is x > 0 as bools (they multiply as 1.0 and 0.0). Elsewhere nothing is
    # kept (None): the vjp computes relu'(x) itself, nan at nan.
    # np.add.reduce, not x.sum(): the method runs NumPy's Python-level _methods._sum.
    if type(x) is np.ndarray and x.ndim and math.isfinite(np.add.reduce(x, axis=None)):
        positive = np.greater(x, 0.0)
        return np.where(positive, x, 0.0), positive  # _relu_value's numbers, at finite x
    return _relu_value(x), None


_relu_times_derivative = relu.vjps[0]  # type: ignore[index]


def relu_pullback(g: Any, y: Any, x: Any, res: Any = None) -> Any:
    """g · relu'(x), with relu'(x) kept by the forward as a mask (res) where it is one."""
    if res is None:
        return _relu_times_derivative(g, y, x)  # type: ignore[misc]
    # The same g · relu'(x), relu'(x) given as the mask: g·0 keeps g's sign and inf·0
    # is nan, as with the float derivative; strong_zero would change nothing (g·d is
    # nan only where g is nan or infinite, never where g is 0): one multiply.
    return g * res


relu.vjps = (relu_pullback,)
relu.residuals = _relu_residuals


@unary(forward=_softplus_value, edge="log1p(e^-|x|) + max(x, 0): no overflow at ±1000")
def softplus(x: Any, y: Any) -> Any:
    """Softplus log(1 + e^x); d = σ(x)."""
    return SIGMOID(x)


SOFTPLUS: Primitive = softplus


# -- over an axis -------------------------------------------------------------------------------


def logsumexp_axes(x: Any, axis: Any, where: str) -> tuple[int, ...] | None:
    """The axes of a log-sum-exp or softmax, normalized (negative allowed)."""
    return normalize_axes(axis, ndim_of(x), where)


def _exp_shifted(x: Any, axis: tuple[int, ...] | None) -> tuple[Any, Any, Any, Any]:
    # The largest element m, z = x - m, e^z and Σ e^z (on concrete values); an all
    # -inf slice has m = 0 and Σ = 0 (log Σ = -inf), with no nan from -inf - -inf.
    m = np.max(x, axis=axis, keepdims=True)
    m = np.where(np.isfinite(m), m, 0.0)
    z = x - m
    e = np.exp(z)
    return m, z, e, np.sum(e, axis=axis, keepdims=True)


def _shifted(x: Any, axis: tuple[int, ...] | None) -> tuple[Any, Any, Any]:
    # The largest element m, x - m and log Σ e^(x - m) (see _exp_shifted).
    m, z, _, total = _exp_shifted(x, axis)
    return m, z, np.log(total)


def _logsumexp_forward(x: Any, axis: tuple[int, ...] | None, keepdims: bool) -> Any:
    m, _, log_total = _shifted(x, axis)
    y = log_total + m
    return y if keepdims else np.reshape(y, shape_of(np.sum(m, axis=axis)))


def _logsumexp_weights(y: Any, x: Any, axis: tuple[int, ...] | None, keepdims: bool) -> Any:
    ye = expand_reduced(y, shape_of(x), axis, keepdims)
    empty = np.equal(ye, -np.inf)
    e = np.where(empty, 0.0, np.exp(x - np.where(empty, 0.0, ye)))
    # Normalized, e / Σ e (Σ e is 1 but for rounding): where y rounds to the
    # largest x (x = [1e300, 1e300]: y = 1e300), e^(x - y) alone gave weights 1, not 1/2.
    return e / np.where(empty, 1.0, np.sum(e, axis=axis, keepdims=True))


logsumexp_pullback, _logsumexp_batch = reduced(_logsumexp_weights, "logsumexp_pullback")


LOGSUMEXP = Primitive(
    "logsumexp",
    _logsumexp_forward,
    (logsumexp_pullback,),
    1,
    doc="log Σ e^x over axes, shifted by the max; dx = dy softmax(x).",
    edge="all -inf: value -inf, gradient 0 (not nan)",
    batch=(_logsumexp_batch,),
)


def _softmax_forward(x: Any, axis: tuple[int, ...]) -> Any:
    # e / Σ e with e = e^(x - max), not e^(x - logsumexp(x)): logsumexp rounds to
    # x at large x (softmax([1e300, 1e300]) was [1, 1], not [1/2, 1/2]).
    _, _, e, total = _exp_shifted(x, axis)
    return e / total


def softmax_pullback(g: Any, y: Any, x: Any, axis: tuple[int, ...]) -> Any:
    return y * (g - np.sum(g * y, axis=axis, keepdims=True))


SOFTMAX = Primitive(
    "softmax",
    _softmax_forward,
    (softmax_pullback,),
    1,
    doc="e^x / Σ e^x over an axis; dx = y (dy - Σ dy·y).",
    batch=(batch_of_axis(softmax_pullback),),
)


def _log_softmax_forward(x: Any, axis: tuple[int, ...]) -> Any:
    # (x - max) - log Σ e^(x - max), not x - logsumexp(x): the difference of two
    # large numbers loses digits (log_softmax([1e300, 1e300]) was [0, 0], not -ln 2).
    _, z, log_total = _shifted(x, axis)
    return z - log_total


def log_softmax_pullback(g: Any, y: Any, x: Any, axis: tuple[int, ...]) -> Any:
    return g - np.exp(y) * np.sum(g, axis=axis, keepdims=True)


LOG_SOFTMAX = Primitive(
    "log_softmax",
    _log_softmax_forward,
    (log_softmax_pullback,),
    1,
    doc="x - log Σ e^x over an axis; dx = dy - softmax(x) Σ dy.",
    batch=(batch_of_axis(log_softmax_pullback),),
)


# -- the seeds' network layers ---------------------------------------------------------------
#
# Each has one derivative, its vjps (traceable: second derivatives, forward mode,
# batches of cotangents). The cross-entropy's forward keeps its residuals (e^z and
# Σ e^z, for the softmax) where traced code runs it at concrete values, and its vjps
# read them instead of computing the softmax again; without them they compute it
# (tests/test_nn.py checks the two give the same numbers to the last bit).


def _affine_forward(x: Any, w: Any, b: Any) -> Any:
    return np.matmul(x, w) + b


# The ndarray methods, not NumPy's Python-level wrappers (a microsecond each, on the
# training step's path); a traced value has them too (nested differentiation).


def affine_pullback_x(g: Any, y: Any, x: Any, w: Any, b: Any) -> Any:
    return np.matmul(g, w.swapaxes(-1, -2))


def affine_pullback_w(g: Any, y: Any, x: Any, w: Any, b: Any) -> Any:
    return np.matmul(x.swapaxes(-1, -2), g)


def affine_pullback_b(g: Any, y: Any, x: Any, w: Any, b: Any) -> Any:
    # The ufunc's reduce (np.sum's numbers): g.sum() runs a Python-level wrapper
    # first; a traced g answers it too (__array_ufunc__'s reduce).
    return np.add.reduce(g, axis=0)


def affine_batch_b(gs: Any, y: Any, x: Any, w: Any, b: Any) -> Any:
    return np.sum(gs, axis=1)  # the batch of examples is axis 1 of a stack


AFFINE = Primitive(
    "affine",
    _affine_forward,
    (affine_pullback_x, affine_pullback_w, affine_pullback_b),
    3,
    # dy Wᵀ and xᵀ dy are matrix products that broadcast over a stack of dy.
    batch=(affine_pullback_x, affine_pullback_w, affine_batch_b),
    doc="The affine layer x W + b of a batch; (dy Wᵀ, xᵀ dy, Σₙ dy).",
)


def class_indices(labels: Any, classes: int) -> Any:
    """Class indices as an int array, or a ValueError: whole numbers in ``[0, classes)``.

    Two reductions over the N labels, done once where the loss is computed (every
    path, the public rule and traced code, comes here): a negative index viewed as
    unsigned is huge, so one ``max`` checks both bounds (nan and ±inf cast to the
    most negative integer, which fails it too); float labels must round-trip.

    >>> class_indices(np.array([2.0, 0.0]), 3)
    array([2, 0])
    >>> class_indices(np.array([0.5]), 3)
    Traceback (most recent call last):
    ...
    ValueError: softmax_cross_entropy: class indices must be whole numbers in [0, 3), got ...
    """
    if type(labels) is not np.ndarray:
        labels = np.asarray(concrete_of(labels))
    # The ufuncs' reduce, not .max() and .any(): the methods run NumPy's Python-level
    # wrappers first, a microsecond each on a training step's path.
    token = silence()  # nan and inf cast with an "invalid value" warning: refused below
    try:
        indices = labels.astype(np.intp)
        wrong = (indices.size and np.maximum.reduce(indices.view(np.uintp)) >= classes) or (
            labels.dtype.kind not in "iu" and np.logical_or.reduce(np.not_equal(indices, labels))
        )
    finally:
        restore(token)
    if wrong:
        raise ValueError(
            f"softmax_cross_entropy: class indices must be whole numbers in [0, {classes}), "
            f"got {describe(labels)}"
        )
    return indices


def _softmax_cross_entropy_forward(logits: Any, labels: Any) -> Any:
    log_probs = _log_softmax_forward(logits, (1,))
    n = shape_of(logits)[0]
    if ndim_of(labels) == 1:  # class indices: pick, no one-hot matrix needed
        return -np.sum(log_probs[np.arange(n), class_indices(labels, shape_of(logits)[1])]) / n
    return -np.sum(labels * log_probs) / n


def _softmax_cross_entropy_residuals(logits: Any, labels: Any) -> tuple[float, Any]:
    # The loss, keeping z = logits - max, e^z, Σ e^z, log Σ e^z and the class indices
    # (None for one-hot rows) for the vjps, which would compute them again.
    n, classes = shape_of(logits)
    indices = class_indices(labels, classes) if ndim_of(labels) == 1 else None
    # Shifted by the row maxima without _exp_shifted's guard first (ndarray methods,
    # no NumPy wrappers): a row whose maximum is not finite makes its Σ e^z, so the
    # loss, nan; only then is it computed again with the guard (m = 0 there). A loss
    # that is not nan had finite maxima, where the guard changes nothing: the numbers
    # are _softmax_cross_entropy_forward's, of softmax and log_softmax.
    # The ufuncs' reduce (the numbers of np.max and np.sum) without their wrappers.
    z = logits - np.maximum.reduce(logits, axis=1, keepdims=True)
    e = np.exp(z)
    total = np.add.reduce(e, axis=1, keepdims=True)
    log_total = np.log(total)
    loss = _cross_entropy(z, log_total, labels, indices, n)
    if loss != loss:
        _, z, e, total = _exp_shifted(logits, (1,))
        log_total = np.log(total)
        loss = _cross_entropy(z, log_total, labels, indices, n)
    return loss, (z, e, total, log_total, indices)


def _cross_entropy(z: Any, log_total: Any, labels: Any, indices: Any, n: int) -> float:
    # -(1/N) Σ log softmax at the labels, log softmax = z - log Σ e^z: for class
    # indices only the N picked entries are computed (as _softmax_cross_entropy_forward
    # picks them from the whole matrix: the same numbers).
    if indices is None:
        return float(-np.add.reduce(labels * (z - log_total), axis=None) / n)
    return float(-np.add.reduce(z[np.arange(n), indices] - log_total[:, 0]) / n)


def softmax_cross_entropy_pullback_logits(
    g: Any, y: Any, logits: Any, labels: Any, res: Any = None
) -> Any:
    n, classes = shape_of(logits)
    if res is None:  # from the operands (traced ones too: nested differentiation)
        probabilities = SOFTMAX(logits, axis=(1,))
        indices = class_indices(labels, classes) if ndim_of(labels) == 1 else None
    else:
        _, e, total, _, indices = res
        probabilities = e / total  # a new array on every call: the one _minus_labels changes
    return _minus_labels(probabilities, labels, indices, classes) * (g / n)


def _minus_labels(probabilities: Any, labels: Any, indices: Any, classes: int) -> Any:
    # softmax - t, t one-hot rows as given (a value, differentiable) or made from
    # class indices (a constant: an index has no derivative).
    if indices is None:
        return probabilities - labels
    if type(probabilities) is np.ndarray:  # concrete, and a new array of the caller's:
        # the 1s subtracted where they are (half a fancy -=), no one-hot matrix made
        np.subtract.at(probabilities, (np.arange(indices.shape[0]), indices), 1.0)
        return probabilities
    return probabilities - np.eye(classes)[indices]


def softmax_cross_entropy_pullback_labels(
    g: Any, y: Any, logits: Any, labels: Any, res: Any = None
) -> Any:
    if ndim_of(labels) == 1:
        return np.zeros(shape_of(labels))  # class indices are not differentiable
    if res is None:
        log_probabilities = LOG_SOFTMAX(logits, axis=(1,))
    else:
        z, _, _, log_total, _ = res
        log_probabilities = z - log_total
    return log_probabilities * (-g / shape_of(logits)[0])


def _of_a_number(vjp: Any) -> Any:
    """The batched vjp of a number-valued entry whose vjp scales by dy: dy as (B, 1, 1)."""

    def batch(gs: Any, y: Any, logits: Any, labels: Any) -> Any:
        return vjp(np.reshape(gs, (-1, 1, 1)), y, logits, labels)

    return batch


SOFTMAX_CROSS_ENTROPY = Primitive(
    "softmax_cross_entropy",
    _softmax_cross_entropy_forward,
    (softmax_cross_entropy_pullback_logits, softmax_cross_entropy_pullback_labels),
    2,
    batch=(
        _of_a_number(softmax_cross_entropy_pullback_logits),
        _of_a_number(softmax_cross_entropy_pullback_labels),
    ),
    doc="Mean cross-entropy of softmax(logits) against one-hot rows or class indices; "
    "dlogits = dy (softmax - t) / N.",
    edge="log-sum-exp stable (logits of ±1e4); class indices get a zero cotangent",
    residuals=_softmax_cross_entropy_residuals,
)
