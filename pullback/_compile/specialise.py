"""Vjps written out for the shapes of a recording: the entry's products, the summing back resolved.

A vjp made by ``summed_back`` (the binary entries', ``where``'s) is its
entry's products summed back to the operand's shape by ``unbroadcast``; one
made by ``reduced`` (max, min, prod) is the cotangent with the reduced axes
restored, times the entry's factor. Both branch on shapes only, and a compiled
variant's signature fixes every shape: so the code generator calls the
products (or the factor) itself and writes what ``unbroadcast`` or
``expand_reduced`` would do at those shapes: nothing where the shapes agree,
else one ``np.add.reduce`` (the call ``np.sum`` makes) and a reshape. The
derivative stays the entry's: only the shape bookkeeping around it is decided
once, at compile time, instead of on every call.

A products function that, given operands it cannot have read (any use of them
raises), returns the cotangent itself or the cotangent times a float (add's
``g``, sub's ``g * -1.0``) does so for every operand: it is written as that
expression, with no call.
"""

from __future__ import annotations

from typing import Any, NoReturn

import numpy as np

from .symbolic import literal

__all__ = ["products_constant", "restored", "shape_of_value", "summed_back", "unbroadcast_text"]


def _refuse(*_: Any, **__: Any) -> NoReturn:
    raise TypeError("an operand of a products function was read")


class _Opaque:
    """An operand that refuses every use: a products function that returns without one
    did not read it."""

    __slots__ = ()
    __array_ufunc__ = None  # NumPy's ufuncs and operators refuse it
    __array_function__ = __array__ = __bool__ = __len__ = __iter__ = _refuse
    __eq__ = __ne__ = __lt__ = __le__ = __gt__ = __ge__ = _refuse
    __add__ = __radd__ = __sub__ = __rsub__ = __mul__ = __rmul__ = _refuse
    __truediv__ = __rtruediv__ = __neg__ = __float__ = __index__ = _refuse
    __hash__ = None  # type: ignore[assignment]

    @property
    def shape(self) -> NoReturn:  # shape_of asks for it: refused too
        _refuse()

    @property
    def ndim(self) -> NoReturn:
        _refuse()


class _Cotangent(_Opaque):
    """The cotangent, opaque but for one multiplication by a float."""

    __slots__ = ("scale",)

    def __init__(self, scale: float | None = None) -> None:
        self.scale = scale

    def __mul__(self, other: Any) -> _Cotangent:  # type: ignore[override]
        if self.scale is None and type(other) is float:
            return _Cotangent(other)
        _refuse()


def products_constant(products: Any, operands: int, params: dict[str, Any]) -> Any:
    """What ``products(g, y, *xs)`` is without reading ``y`` or ``xs``, or None if it reads them.

    Returns:
        ``True`` for ``g`` itself, a float ``c`` for ``g * c``, None otherwise.
    """
    g = _Cotangent()
    try:
        out = products(g, _Opaque(), *(_Opaque() for _ in range(operands)), **params)
    except Exception:  # it read an operand (or did more than scale g): called at run time
        return None
    if out is g:
        return True
    if type(out) is _Cotangent and out.scale is not None:
        return out.scale
    return None


def unbroadcast_text(text: str, gshape: tuple[int, ...], shape: tuple[int, ...]) -> str | None:
    """``unbroadcast(g, shape)`` for a ``g`` of shape ``gshape``, as code (None: not decided).

    The same steps as ``unbroadcast`` takes at those shapes: the same sum (the
    ufunc reduction ``np.sum`` calls, over the same axes), the same reshape,
    a float for shape ``()``. Where the shapes agree it is ``g`` as it is.
    """
    if gshape == shape:
        return text
    lead = len(gshape) - len(shape)
    if lead < 0:
        return None
    axes = tuple(range(lead)) + tuple(
        lead + i for i, n in enumerate(shape) if n == 1 and gshape[lead + i] != 1
    )
    summed = gshape
    if axes:
        text = f"ADDRED({text}, {axes!r})"
        summed = tuple(n for k, n in enumerate(gshape) if k not in axes)
    if summed != shape:
        text = f"{text}.reshape({shape!r})"
    return f"float({text})" if shape == () else text


def summed_back(
    writer: Any, vjp: Any, g: str, args: str, operands: int, shapes: Any, params: dict[str, Any]
) -> str | None:
    """The code of a ``summed_back`` vjp at these shapes, or None (then it is called).

    Args:
        writer: the code generator (it names the functions the code calls).
        vjp: the entry's vjp, with its ``products`` and ``position``.
        g: the cotangent's text; ``args``: the text of ``g, y, *xs``.
        operands: how many operands (``xs``) the entry takes.
        shapes: the cotangent's shape (the output's) and the operand's.
        params: the operation's parameters.
    """
    products = vjp.products
    constant = writer.products_constant(products, operands, params)
    if constant is True:
        text = g
    elif constant is not None and literal(constant) is not None:
        text = f"({g} * {literal(constant)})"
    else:
        text = writer.call(products, args, params)
    return unbroadcast_text(text, *shapes)


def restored(
    writer: Any, vjp: Any, g: str, args: str, g_ndim: int, shape: Any, params: dict[str, Any]
) -> str | None:
    """The code of a ``reduced`` vjp: ``expand_reduced``'s branch taken now, the factor called.

    Args:
        writer: the code generator; ``vjp``: the entry's vjp, with its ``factor``.
        g: the cotangent's text; ``args``: the text of ``y, x``.
        g_ndim: the cotangent's number of dimensions (0: a number, which
            ``np.reshape`` makes an array, as in ``expand_reduced``).
        shape: the operand's shape.
        params: ``axis`` and ``keepdims``, the vjp's parameters.
    """
    if set(params) != {"axis", "keepdims"}:
        return None
    axes, keepdims = params["axis"], params["keepdims"]
    kept: tuple[int, ...] | None = None
    if keepdims or (axes is None and g_ndim == len(shape)):
        pass
    elif axes is None:
        kept = (1,) * len(shape) if shape else None
    else:
        listed = list(shape)
        for a in axes:
            listed[a] = 1
        kept = tuple(listed)
    expanded = g
    if kept is not None:
        expanded = f"{g}.reshape({kept!r})" if g_ndim else f"RESHAPE({g}, {kept!r})"
    factor = writer.function(vjp.factor)
    return f"({expanded} * {factor}({args}, {writer.render(axes)}, {writer.render(keepdims)}))"


def shape_of_value(value: Any) -> tuple[int, ...]:
    """The shape of a recorded value (a float: ``()``)."""
    return value.shape if type(value) is np.ndarray else ()
