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

    def swapaxes(self, axis1: int, axis2: int) -> Any:
        return _np.swapaxes(self, axis1, axis2)

    def ravel(self, order: str = "C") -> Any:
        return _np.ravel(self, order)

    def flatten(self, order: str = "C") -> Any:
        return _np.ravel(self, order)

    def squeeze(self, axis: Any = None) -> Any:
        return _np.squeeze(self, axis)

    def copy(self, order: str = "C") -> Any:
        return _np.copy(self)

    def diagonal(self, offset: int = 0, axis1: int = 0, axis2: int = 1) -> Any:
        return _np.diagonal(self, offset, axis1, axis2)

    def take(self, indices: Any, axis: Any = None) -> Any:
        return _np.take(self, indices, axis)

    def repeat(self, repeats: Any, axis: Any = None) -> Any:
        return _np.repeat(self, repeats, axis)

    def clip(self, min: Any = None, max: Any = None) -> Any:
        return _np.clip(self, min, max)

    def astype(self, dtype: Any, copy: bool = True, **kwargs: Any) -> Any:
        if np.dtype(dtype) != np.float64:
            raise TypeError(
                f"x.astype({np.dtype(dtype)}): a traced value is float64 and its derivative "
                "needs it to stay float64; compare (x > 0) for a mask, or np.floor for integers"
            )
        return _np.positive(self) if copy else self

    # -- reductions -----------------------------------------------------------------------

    def sum(
        self, axis: Any = None, dtype: Any = None, out: Any = None, keepdims: bool = False
    ) -> Any:
        return _np.sum(self, axis=axis, dtype=dtype, out=out, keepdims=keepdims)

    def prod(
        self, axis: Any = None, dtype: Any = None, out: Any = None, keepdims: bool = False
    ) -> Any:
        return _np.prod(self, axis=axis, dtype=dtype, out=out, keepdims=keepdims)

    def mean(
        self, axis: Any = None, dtype: Any = None, out: Any = None, keepdims: bool = False
    ) -> Any:
        return _np.mean(self, axis=axis, dtype=dtype, out=out, keepdims=keepdims)

    def var(
        self,
        axis: Any = None,
        dtype: Any = None,
        out: Any = None,
        ddof: float = 0,
        keepdims: bool = False,
        **kwargs: Any,
    ) -> Any:
        return _np.var(
            self, axis=axis, dtype=dtype, out=out, ddof=ddof, keepdims=keepdims, **kwargs
        )

    def std(
        self,
        axis: Any = None,
        dtype: Any = None,
        out: Any = None,
        ddof: float = 0,
        keepdims: bool = False,
        **kwargs: Any,
    ) -> Any:
        return _np.std(
            self, axis=axis, dtype=dtype, out=out, ddof=ddof, keepdims=keepdims, **kwargs
        )

    def max(self, axis: Any = None, out: Any = None, keepdims: bool = False, **kwargs: Any) -> Any:
        return _np.max(self, axis=axis, out=out, keepdims=keepdims, **kwargs)

    def min(self, axis: Any = None, out: Any = None, keepdims: bool = False, **kwargs: Any) -> Any:
        return _np.min(self, axis=axis, out=out, keepdims=keepdims, **kwargs)

    def cumsum(self, axis: Any = None, dtype: Any = None, out: Any = None) -> Any:
        return _np.cumsum(self, axis=axis, dtype=dtype, out=out)

    def trace(self, offset: int = 0, axis1: int = 0, axis2: int = 1) -> Any:
        return _np.trace(self, offset, axis1, axis2)

    def dot(self, b: Any) -> Any:
        return _np.dot(self, b)

    # -- constants: no derivative ----------------------------------------------------------

    def argmax(self, axis: Any = None, keepdims: bool = False) -> Any:
        return _np.argmax(self.__pullback_concrete__(), axis=axis, keepdims=keepdims)

    def argmin(self, axis: Any = None, keepdims: bool = False) -> Any:
        return _np.argmin(self.__pullback_concrete__(), axis=axis, keepdims=keepdims)

    def argsort(self, axis: int = -1, kind: Any = None) -> Any:
        return _np.argsort(self.__pullback_concrete__(), axis=axis, kind=kind)

    def round(self, decimals: int = 0) -> Any:
        return _np.round(self.__pullback_concrete__(), decimals)

    def any(self, axis: Any = None, keepdims: bool = False) -> Any:
        return _np.any(self.__pullback_concrete__(), axis=axis, keepdims=keepdims)

    def all(self, axis: Any = None, keepdims: bool = False) -> Any:
        return _np.all(self.__pullback_concrete__(), axis=axis, keepdims=keepdims)

    def nonzero(self) -> Any:
        return _np.nonzero(self.__pullback_concrete__())

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
