"""Products of several matrices: matrix_power, multi_dot, vdot, written with matmul and dot.

Each follows NumPy's own order of products (the binary powers of
``matrix_power``, the cheapest parenthesization of ``multi_dot``), so a traced
value is NumPy's bit for bit; the derivatives are matmul's.

>>> import numpy as np
>>> from pullback import gradient, trace
>>> a = np.array([[1.0, 2.0], [0.0, 1.0]])
>>> g = gradient(trace(lambda a: np.linalg.matrix_power(a, 3)[0, 1]), a)
>>> e = np.outer([1.0, 0.0], [0.0, 1.0])  # d(a³)₀₁ = Σₖ (aᵏ)ᵀ e (a²⁻ᵏ)ᵀ
>>> bool(np.allclose(g, sum(np.linalg.matrix_power(a, k).T @ e @ np.linalg.matrix_power(a, 2 - k).T
...                         for k in range(3))))
True
"""

from __future__ import annotations

import operator
from typing import Any

import numpy as np

from .entry import Composite, Primitive, ndim_of, shape_of

__all__ = ["FUNCTIONS"]

FUNCTIONS: dict[Any, Composite | Primitive] = {}
"""Each NumPy function of this family and its entry."""


def matrix_power_(a: Any, n: Any) -> Any:
    shape = shape_of(a)
    if len(shape) < 2 or shape[-1] != shape[-2]:
        raise ValueError(f"np.linalg.matrix_power: expected square matrices, got shape {shape}")
    try:
        n = operator.index(n)
    except TypeError:
        raise TypeError("np.linalg.matrix_power: exponent must be an integer") from None
    if n == 0:  # the identity, a constant
        return np.broadcast_to(np.eye(shape[-1]), shape).copy()
    if n < 0:
        a = np.linalg.inv(a)
        n = -n
    if n == 1:
        return a
    if n == 2:
        return np.matmul(a, a)
    if n == 3:
        return np.matmul(np.matmul(a, a), a)
    # NumPy's binary powers: a^(2^k) by squaring, multiplied in where n's bit k is set.
    z: Any = None
    result: Any = None
    while n > 0:
        z = a if z is None else np.matmul(z, z)
        n, bit = divmod(n, 2)
        if bit:
            result = z if result is None else np.matmul(result, z)
    return result


def _chain_order(dims: list[int]) -> list[list[int]]:
    # The textbook dynamic programme NumPy's multi_dot uses (Cormen, 15.2): the
    # cheapest split of each run of matrices; ties go to the first split, as NumPy's.
    n = len(dims) - 1
    cost = [[0] * n for _ in range(n)]
    split = [[0] * n for _ in range(n)]
    for length in range(1, n):
        for i in range(n - length):
            j = i + length
            cost[i][j] = -1
            for k in range(i, j):
                c = cost[i][k] + cost[k + 1][j] + dims[i] * dims[k + 1] * dims[j + 1]
                if cost[i][j] < 0 or c < cost[i][j]:
                    cost[i][j] = c
                    split[i][j] = k
    return split


def _chained(arrays: list[Any], split: list[list[int]], i: int, j: int) -> Any:
    if i == j:
        return arrays[i]
    k = split[i][j]
    return np.dot(_chained(arrays, split, i, k), _chained(arrays, split, k + 1, j))


def multi_dot_(arrays: Any, *, out: Any = None) -> Any:
    if out is not None:
        raise TypeError(
            "np.linalg.multi_dot: out= writes into an array in place, which traced code cannot "
            "do; use the returned value"
        )
    arrays = list(arrays)
    if len(arrays) < 2:
        raise ValueError("np.linalg.multi_dot: expecting at least two arrays.")
    if len(arrays) == 2:
        return np.dot(arrays[0], arrays[1])
    first, last = ndim_of(arrays[0]), ndim_of(arrays[-1])
    # 1-d ends are a row and a column, dropped again from the result (NumPy's rule).
    if first == 1:
        arrays[0] = np.reshape(arrays[0], (1, -1))
    if last == 1:
        arrays[-1] = np.reshape(arrays[-1], (-1, 1))
    for x in arrays:
        if ndim_of(x) != 2:
            raise ValueError(
                f"np.linalg.multi_dot: {ndim_of(x)}-dimensional array given; "
                "the inner arrays must be two-dimensional"
            )
    if len(arrays) == 3:
        (a0, a1b0), (b1c0, c1) = shape_of(arrays[0]), shape_of(arrays[2])
        a, b, c = arrays
        # NumPy's two costs, (AB)C against A(BC), the first taken only if smaller.
        if a0 * b1c0 * (a1b0 + c1) < a1b0 * c1 * (a0 + b1c0):
            result = np.dot(np.dot(a, b), c)
        else:
            result = np.dot(a, np.dot(b, c))
    else:
        dims = [shape_of(x)[0] for x in arrays] + [shape_of(arrays[-1])[1]]
        result = _chained(arrays, _chain_order(dims), 0, len(arrays) - 1)
    if first == 1 and last == 1:
        return result[0, 0]
    if first == 1 or last == 1:
        return np.reshape(result, (-1,))
    return result


def vdot_(a: Any, b: Any) -> Any:
    # The dot product of the flattened arrays (a real a needs no conjugate).
    return np.dot(np.reshape(a, (-1,)), np.reshape(b, (-1,)))


FUNCTIONS.update(
    {
        np.linalg.matrix_power: Composite(
            "linalg.matrix_power",
            matrix_power_,
            "Integer power by NumPy's binary powers (negative: of the inverse).",
        ),
        np.linalg.multi_dot: Composite(
            "linalg.multi_dot", multi_dot_, "Chained dot products in NumPy's cheapest order."
        ),
        np.vdot: Composite("vdot", vdot_, "Dot product of the flattened arrays."),
    }
)
