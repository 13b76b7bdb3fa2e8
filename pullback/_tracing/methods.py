"""The ndarray methods and attributes of traced values, each the NumPy function of its name.

``x.sum(axis=1)`` is ``np.sum(x, axis=1)``, ``x.T`` is ``np.transpose(x)``,
``x @ w`` is ``np.matmul(x, w)``: they dispatch to the same table entries, so
a method has no derivative of its own to get wrong.
"""

from __future__ import annotations

from typing import Any, NoReturn

import numpy as np

__all__ = ["ArrayMethods"]

# NumPy's stubs do not know traced values (they dispatch at run time): untyped here.
_np: Any = np


def _method(function: Any) -> Any:
    """``x.f(*args, **kwargs)`` is ``np.f(x, *args, **kwargs)``.

    NumPy's method and function take the same arguments, so the method is the
    function's own entry (or, for argmax, round and the other constants, its
    plain result): no second spelling to keep in step.
    """

    def method(self: Any, *args: Any, **kwargs: Any) -> Any:
        return function(self, *args, **kwargs)

    method.__name__ = method.__qualname__ = function.__name__
    return method


def _shape_args(shape: tuple[Any, ...]) -> Any:
    return shape[0] if len(shape) == 1 else shape


class ArrayMethods:
    """The ndarray methods of a traced value (a mixin: the value lives in the subclass)."""

    __slots__ = ()

    # -- attributes ----------------------------------------------------------------------

    @property
    def shape(self) -> tuple[int, ...]:
        shape: tuple[int, ...] = np.shape(self.__pullback_concrete__())
        return shape

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def size(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64))

    @property
    def dtype(self) -> np.dtype[np.float64]:
        return np.dtype(np.float64)

    @property
    def real(self) -> Any:
        return self  # a float64 value is its own real part

    @property
    def imag(self) -> Any:
        return _np.zeros_like(self.__pullback_concrete__())  # a constant

    @property
    def flat(self) -> NoReturn:
        raise TypeError("x.flat: iterate over x.ravel() instead, which stays traced")

    def conj(self) -> Any:
        return self

    conjugate = conj

    @property
    def T(self) -> Any:
        return _np.transpose(self)

    def __pullback_concrete__(self) -> Any:  # pragma: no cover - the subclass defines it
        raise NotImplementedError

    # -- shape ----------------------------------------------------------------------------

    def reshape(self, *shape: Any, order: str = "C") -> Any:
        return _np.reshape(self, _shape_args(shape), order=order)

    def transpose(self, *axes: Any) -> Any:
        return _np.transpose(self, None if not axes else _shape_args(axes))

    def ravel(self, order: str = "C") -> Any:
        return _np.ravel(self, order)

    def flatten(self, order: str = "C") -> Any:
        return _np.ravel(self, order)

    def copy(self, order: str = "C") -> Any:
        return _np.copy(self)

    def clip(self, min: Any = None, max: Any = None) -> Any:
        return _np.clip(self, min, max)

    def astype(self, dtype: Any, copy: bool = True, **kwargs: Any) -> Any:
        if np.dtype(dtype) != np.float64:
            raise TypeError(
                f"x.astype({np.dtype(dtype)}): a traced value is float64 and its derivative "
                "needs it to stay float64; compare (x > 0) for a mask, or np.floor for integers"
            )
        return _np.positive(self) if copy else self

    # -- NumPy's functions as methods: shapes, reductions, products, constants ----------

    swapaxes = _method(np.swapaxes)
    squeeze = _method(np.squeeze)
    diagonal = _method(np.diagonal)
    take = _method(np.take)
    repeat = _method(np.repeat)
    sum = _method(np.sum)
    prod = _method(np.prod)
    mean = _method(np.mean)
    var = _method(np.var)
    std = _method(np.std)
    max = _method(np.max)
    min = _method(np.min)
    cumsum = _method(np.cumsum)
    cumprod = _method(np.cumprod)
    trace = _method(np.trace)
    dot = _method(np.dot)
    argmax = _method(np.argmax)
    argmin = _method(np.argmin)
    argsort = _method(np.argsort)
    round = _method(np.round)
    any = _method(np.any)
    all = _method(np.all)
    nonzero = _method(np.nonzero)

    # -- refused, with what to write instead -------------------------------------------------

    def item(self, *args: Any) -> NoReturn:
        raise TypeError(
            "x.item() would turn a traced value into a plain number and drop its derivative; "
            "index it instead (x[0], x[i, j]), which stays traced"
        )

    def tolist(self) -> NoReturn:
        raise TypeError(
            "x.tolist() would turn a traced value into plain numbers and drop its derivative; "
            "index it (x[i]) or iterate over it (for row in x), which stays traced"
        )

    def __setitem__(self, key: Any, value: Any) -> NoReturn:
        raise TypeError(
            "x[...] = v: traced arrays cannot be changed in place; build the new value, e.g. "
            "np.where(mask, v, x), np.concatenate([...]) or x + np.eye(...) * v"
        )

    def sort(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise TypeError(
            "x.sort() sorts in place, which traced arrays cannot do; write x = np.sort(x)"
        )

    def fill(self, value: Any) -> NoReturn:
        raise TypeError(
            "x.fill(v): traced arrays cannot be changed in place; use np.full_like(x, v)"
        )
