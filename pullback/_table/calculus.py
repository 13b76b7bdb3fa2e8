"""Numerical calculus and signals: trapezoid, polyval, interp, convolve, correlate, cov, corrcoef.

Each is NumPy's own algorithm written with other entries (the trapezoid rule's
sum, Horner's scheme, linear interpolation between the two neighbours found by
``searchsorted``, a dot product per window), so the values are NumPy's and the
derivatives come from the entries. ``xp`` of ``interp`` is a constant: its
breakpoints are read, not differentiated.

>>> import numpy as np
>>> from pullback import gradient, trace
>>> gradient(trace(lambda p: np.polyval(p, 2.0)), np.array([1.0, 0.0, 3.0]))  # (x², x, 1)
array([4., 2., 1.])
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._values import is_traced
from .entry import Composite, Primitive, float_if_0d, ndim_of, shape_of

__all__ = ["FUNCTIONS"]

FUNCTIONS: dict[Any, Composite | Primitive] = {}
"""Each NumPy function of this family and its entry."""

_windows = np.lib.stride_tricks.sliding_window_view


def trapezoid_(y: Any, x: Any = None, dx: float = 1.0, axis: int = -1) -> Any:
    ndim = ndim_of(y)
    if x is None:
        d: Any = dx
    elif ndim_of(x) == 1:
        d = np.diff(x)
        shape = [1] * ndim
        shape[axis] = shape_of(d)[0]
        d = np.reshape(d, tuple(shape))
    else:
        d = np.diff(x, axis=axis)
    upper = [slice(None)] * ndim
    lower = [slice(None)] * ndim
    upper[axis] = slice(1, None)
    lower[axis] = slice(None, -1)
    # NumPy's order: d · (y_{i+1} + y_i) / 2, summed.
    return np.sum(d * (y[tuple(upper)] + y[tuple(lower)]) / 2.0, axis=axis)


def polyval_(p: Any, x: Any) -> Any:
    # Horner's scheme from the highest coefficient, as NumPy's loop.
    y: Any = np.zeros_like(x) if shape_of(x) else 0.0  # a constant
    for coefficient in p:
        y = y * x + coefficient
    return y


def interp_(
    x: Any, xp: Any, fp: Any, left: Any = None, right: Any = None, period: Any = None
) -> Any:
    if period is not None:
        raise TypeError("np.interp: period= is not supported in traced code")
    if is_traced(xp):
        raise TypeError("np.interp: xp (the breakpoints) must be a plain array, a constant")
    xp = np.asarray(xp, dtype=np.float64)
    if isinstance(fp, list | tuple):  # NumPy takes a sequence: of plain or traced values
        fp = np.stack(fp) if any(is_traced(v) for v in fp) else np.asarray(fp, np.float64)
    if ndim_of(xp) != 1 or ndim_of(fp) != 1:
        raise ValueError("np.interp: xp and fp must be 1-d sequences")
    n = shape_of(xp)[0]
    if n == 0:
        raise ValueError("np.interp: array of sample points is empty")
    if shape_of(fp)[0] != n:
        raise ValueError("np.interp: fp and xp are not of the same length.")
    first = fp[0] if left is None else left
    last = fp[n - 1] if right is None else right
    if n == 1:
        y: Any = np.where(np.less(x, xp[0]), first, np.where(np.greater(x, xp[0]), last, fp[0]))
        return float_if_0d(y)
    # The segment [xp_j, xp_{j+1}) of each x (searchsorted is a constant function),
    # and NumPy's line through its ends: slope·(x - xp_j) + fp_j. At a breakpoint
    # that is fp_j itself, with the slope to the right as its derivative; only a
    # slope that is not finite (a repeated breakpoint, an infinite fp) makes the
    # line nan there, and then it is fp_j.
    j = np.clip(np.searchsorted(xp, x, side="right") - 1, 0, n - 2)
    lo, hi = fp[j], fp[j + 1]
    slope = (hi - lo) / (xp[j + 1] - xp[j])
    inside = slope * (x - xp[j]) + lo
    y = np.where(np.equal(x, xp[j]) & ~np.isfinite(slope), lo, inside)
    y = np.where(np.equal(x, xp[n - 1]), fp[n - 1], y)
    y = np.where(np.less(x, xp[0]), first, np.where(np.greater(x, xp[n - 1]), last, y))
    return float_if_0d(y)


def _check_1d(where: str, a: Any, v: Any) -> None:
    if ndim_of(a) != 1 or ndim_of(v) != 1:
        raise ValueError(f"{where}: object too deep for desired array (a and v must be 1-d)")
    if shape_of(a)[0] == 0 or shape_of(v)[0] == 0:
        raise ValueError(f"{where}: a and v cannot be empty")


def _correlated(a: Any, v: Any, mode: str, where: str) -> Any:
    # Σ_k a_{n+k} v_k for each lag n: the windows of a (padded with zeros for
    # "same" and "full"), each against v, in one matrix-vector product. NumPy's
    # loop takes one BLAS dot per lag over the overlap only: the same sums, equal
    # to rounding, not always to the last bit.
    if mode not in ("valid", "same", "full"):
        raise ValueError(f"{where}: mode must be one of 'valid', 'same', or 'full', got {mode!r}")
    swapped = shape_of(v)[0] > shape_of(a)[0]
    if swapped:  # NumPy slides the longer one and reverses the result
        a, v = v, a
    m = shape_of(v)[0]
    pad = {"valid": (0, 0), "same": (m // 2, m - 1 - m // 2), "full": (m - 1, m - 1)}[mode]
    padded = np.pad(a, pad) if pad != (0, 0) else a
    out = np.matmul(_windows(padded, m), v)
    return out[::-1] if swapped else out


def correlate_(a: Any, v: Any, mode: str = "valid") -> Any:
    _check_1d("np.correlate", a, v)
    return _correlated(a, v, mode, "np.correlate")


def convolve_(a: Any, v: Any, mode: str = "full") -> Any:
    _check_1d("np.convolve", a, v)
    if shape_of(v)[0] > shape_of(a)[0]:
        a, v = v, a  # convolution commutes: NumPy reverses the shorter one
    return _correlated(a, v[::-1], mode, "np.convolve")


def cov_(
    m: Any,
    y: Any = None,
    rowvar: bool = True,
    bias: bool = False,
    ddof: Any = None,
    fweights: Any = None,
    aweights: Any = None,
    *,
    dtype: Any = None,
) -> Any:
    if fweights is not None or aweights is not None:
        raise TypeError("np.cov: fweights= and aweights= are not supported in traced code")
    if dtype is not None and np.dtype(dtype) != np.float64:
        raise TypeError(f"np.cov: the argument dtype={dtype!r} is not supported in traced code")
    x = np.atleast_2d(m)
    if not rowvar and ndim_of(m) != 1:
        x = np.transpose(x)
    if shape_of(x)[0] == 0:  # no variables: NumPy's empty (0, 0) matrix
        return np.zeros((0, 0))
    if y is not None:
        other = np.atleast_2d(y)
        if not rowvar and shape_of(other)[0] != 1:
            other = np.transpose(other)
        x = np.concatenate([x, other], axis=0)
    if ddof is None:
        ddof = 1 if not bias else 0
    fact = max(shape_of(x)[1] - ddof, 0.0)  # NumPy warns of fact <= 0 and divides by 0
    centred = x - np.mean(x, axis=1)[:, None]
    with np.errstate(divide="ignore"):
        scale = np.true_divide(1, fact)
    return float_if_0d(np.squeeze(np.dot(centred, np.transpose(centred)) * scale))


def corrcoef_(x: Any, y: Any = None, rowvar: bool = True, *, dtype: Any = None) -> Any:
    c = cov_(x, y, rowvar, dtype=dtype)
    if ndim_of(c) == 0:
        return c / c
    stddev = np.sqrt(np.diagonal(c))
    c = c / stddev[:, None]
    c = c / stddev[None, :]
    return np.clip(c, -1.0, 1.0)  # NumPy's clip against rounding past ±1


_ROUNDING = "NumPy's value to rounding (its sums run in another order), not bit for bit"

FUNCTIONS.update(
    {
        np.trapezoid: Composite("trapezoid", trapezoid_, "The trapezoid rule along an axis."),
        np.polyval: Composite("polyval", polyval_, "A polynomial by Horner's scheme (p and x)."),
        np.interp: Composite(
            "interp",
            interp_,
            "Piecewise-linear interpolation (x and fp; xp a constant).",
            "at a breakpoint, the slope of the segment to its right",
        ),
        np.convolve: Composite(
            "convolve", convolve_, "1-d convolution: windows · reversed v.", _ROUNDING
        ),
        np.correlate: Composite(
            "correlate", correlate_, "1-d cross-correlation: windows · v.", _ROUNDING
        ),
        np.cov: Composite("cov", cov_, "Covariance matrix: centred X Xᵀ / (N - ddof)."),
        np.corrcoef: Composite("corrcoef", corrcoef_, "Correlation matrix: cov over σσᵀ."),
    }
)
