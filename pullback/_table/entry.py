"""What one entry of the table of primitives is, and the shared helpers of its families.

A primitive is defined once, here: its name, its forward computation (NumPy on
concrete values), and its derivative as a vector-Jacobian product written with
NumPy's own functions. Because traced values implement NumPy's dispatch
protocols, the same derivative code runs on concrete arrays at first order and
is recorded again, as traced code, when it is differentiated a second time:
one derivative, every order.

A *composite* is a NumPy function written with other NumPy calls (``mean`` is
``sum / n``): it needs no derivative of its own. A *constant* function gives a
plain result on traced values (comparisons, ``argmax``, ``floor``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from .._ieee import quiet
from .._values import concrete_of, is_traced
from .scalar import compile_float_code

__all__ = [
    "Composite",
    "Primitive",
    "Shape",
    "batch_of_axis",
    "batch_of_elementwise",
    "batch_of_shapes",
    "batched_axes",
    "constant",
    "expand_reduced",
    "float_if_0d",
    "is_traced",
    "ndim_of",
    "normalize_axes",
    "reduced",
    "refuse_keywords",
    "shape_of",
    "summed_back",
    "unbroadcast",
    "unbroadcast_batch",
]

Vjp = Callable[..., Any]
BatchVjp = Callable[..., Any]


class Primitive:
    """One entry of the table: a named operation and its derivative.

    Args:
        name: the name errors, walkthroughs and the reference page use (``"sqrt"``).
        forward: ``forward(*values, **params) -> y`` on concrete values (NumPy).
        vjps: one vector-Jacobian product per operand, ``vjp(g, y, *xs, **params)``
            giving that operand's cotangent, written with NumPy functions so it
            can be traced again (None: the operand is not differentiable, such
            as a mask). A variadic primitive (``arity=-1``) has one vjp that
            takes the operand's index first: ``vjp(i, g, y, *xs, **params)``.
        arity: the number of operands, or -1 for any number.
        doc: the one-line documentation of the reference page.
        edge: the convention at the edges (a kink, a pole, a tie), or "".
        at_floats: optional ``at_floats(*floats) -> (y, partials)`` for operands
            that are all Python floats (the hot path of traced scalar code); it
            may raise ArithmeticError or ValueError, and then ``forward`` runs.
        rule: ``rule(*xs) -> (y, pullback)`` at concrete values, which traced code
            runs instead of ``forward`` and ``vjps``: a user's rule lifted into
            traced code (``vjps`` is None: first order only).
        residuals: optional ``residuals(*xs, **params) -> (y, res)``, the forward
            that also keeps what the vjps would compute again (the softmax of
            a cross-entropy, relu's mask): ``y`` is ``forward``'s, to the bit, and
            ``res`` (None: nothing kept) is handed to every vjp as ``res=``. Each
            vjp of such an entry takes ``res=None`` and computes the same numbers
            without it, from the operands (then traceably: nested
            differentiation, batched cotangents). One derivative, both paths.
        float_code: for an elementwise entry, its value and derivative at a
            float as straight-line ``math`` code (see ``scalar``); it gives
            ``at_floats`` and the entry's stage in fused chains.
        array_kernel: for an elementwise entry, its value and derivative on an
            array, written into the call's own buffers (see ``kernels``).
        plain: for a binary elementwise entry, ``plain(g, y, a, b) -> (da, db)``,
            the cotangents before summing back, in IEEE arithmetic with no
            strong zero (the public rules' pullback, as a chain of rules
            multiplies: 0 * inf is nan there, as the README says).
        batch: optional, one batched vjp per operand (as ``vjps``, index
            first for a variadic entry): ``batch(gs, y, *xs, **params)`` takes
            ``B`` cotangents stacked along a leading axis, ``gs.shape == (B,
            *shape(y))``, and gives the operand's ``B`` cotangents, shaped
            ``(B, *shape(x))``, equal to ``B`` calls of the vjp (a Jacobian in
            one backward pass). It may return ``NotImplemented`` for a case
            it does not cover; then, as for an entry without one, the batched
            pass calls the vjp once per cotangent. See ``pullback._batching``.
    """

    __slots__ = (
        "arity",
        "array_kernel",
        "at_floats",
        "batch",
        "doc",
        "edge",
        "float_code",
        "forward",
        "name",
        "plain",
        "residuals",
        "rule",
        "vjps",
    )

    def __init__(
        self,
        name: str,
        forward: Callable[..., Any],
        vjps: Sequence[Vjp | None] | None,
        arity: int,
        doc: str = "",
        edge: str = "",
        at_floats: Callable[..., tuple[float, Any]] | None = None,
        rule: Callable[..., tuple[Any, Any]] | None = None,
        float_code: tuple[str, ...] | None = None,
        array_kernel: Callable[..., Any] | None = None,
        plain: Callable[..., tuple[Any, Any]] | None = None,
        batch: Sequence[BatchVjp | None] | None = None,
        residuals: Callable[..., tuple[Any, Any]] | None = None,
    ) -> None:
        self.name = name
        self.forward = forward
        self.vjps = tuple(vjps) if vjps is not None else None
        self.arity = arity
        self.doc = doc
        self.edge = edge
        self.rule = rule
        self.residuals = residuals
        self.float_code = float_code
        self.array_kernel = array_kernel
        self.plain = plain
        self.batch = tuple(batch) if batch is not None else None
        if at_floats is None and float_code is not None:
            at_floats = compile_float_code(name, float_code)
        self.at_floats = at_floats

    @classmethod
    def of_rule(cls, name: str, rule: Callable[..., tuple[Any, Any]], arity: int) -> Primitive:
        """A primitive for a rule that only has a first-order pullback (a user's rule)."""

        def forward(*xs: Any) -> Any:
            return rule(*xs)[0]

        return cls(name, forward, None, arity, rule=rule)

    def __call__(self, *args: Any, **params: Any) -> Any:
        """Apply the primitive: on plain values, its value; on traced values, recorded.

        Traced values answer through ``__pullback_apply__`` (the library's own
        dispatch protocol, as ``__array_function__`` is NumPy's), so the table
        never imports the tracer.
        """
        for a in args:
            hook = getattr(type(a), "__pullback_apply__", None)
            if hook is not None:
                return hook(self, args, params)
        with quiet():
            return as_float_if_scalar(self.forward(*args, **params))

    def __repr__(self) -> str:
        return self.name


def constant(function: Callable[..., Any], *args: Any) -> Any:
    """A constant function of an entry's operands: ``function`` of their plain values.

    What has no derivative (a mask read from a condition, the sign of a
    determinant) is computed on the values under any traced layers, as
    comparisons and ``argmax`` are. A value whose type records such calls (a
    compiled function's staged value, through ``__pullback_constant__``) records
    it, so that it is computed again at every call instead of frozen.

    >>> constant(np.sign, -2.0)
    np.float64(-1.0)
    """
    for a in args:
        hook = getattr(type(a), "__pullback_constant__", None)
        if hook is not None:
            return hook(function, args)
    return function(*(concrete_of(a) for a in args))


class Composite:
    """A NumPy function written with other NumPy calls: its derivative comes from theirs.

    Args:
        name: the name the reference page uses.
        function: the implementation, with NumPy's signature.
        doc: the one-line documentation of the reference page.
        edge: the convention at the edges, or "".
    """

    __slots__ = ("doc", "edge", "function", "name")

    def __init__(self, name: str, function: Callable[..., Any], doc: str = "", edge: str = ""):
        self.name = name
        self.function = function
        self.doc = doc
        self.edge = edge

    def __repr__(self) -> str:
        return self.name


# -- shared helpers, written with NumPy calls so that they trace ----------------------


def shape_of(x: Any) -> tuple[int, ...]:
    """``np.shape(x)`` without NumPy's dispatch (a microsecond on a scalar): () for a number.

    >>> shape_of(2.0), shape_of(np.zeros((2, 3)))
    ((), (2, 3))
    """
    shape = getattr(x, "shape", None)
    if shape is not None:
        return shape  # type: ignore[no-any-return]
    return np.shape(x) if isinstance(x, list | tuple) else ()


def ndim_of(x: Any) -> int:
    """``np.ndim(x)`` without NumPy's dispatch: 0 for a number.

    >>> ndim_of(2.0), ndim_of(np.zeros((2, 3)))
    (0, 2)
    """
    return len(shape_of(x))


def unbroadcast(g: Any, shape: tuple[int, ...]) -> Any:
    """``g`` summed back to ``shape``, undoing NumPy's broadcasting (traceable).

    >>> unbroadcast(np.ones((2, 3)), (3,))
    array([2., 2., 2.])
    >>> unbroadcast(np.ones((2, 3)), ())
    6.0
    """
    gshape = shape_of(g)
    if gshape == shape:
        return g
    lead = len(gshape) - len(shape)
    axes = tuple(range(lead)) + tuple(
        lead + i for i, n in enumerate(shape) if n == 1 and gshape[lead + i] != 1
    )
    if axes:  # the ufunc's reduce: np.sum's numbers without its Python wrapper (hot path)
        g = np.add.reduce(g, axis=axes)
    if shape_of(g) != shape:
        g = np.reshape(g, shape)
    return as_float_if_scalar(g)


def unbroadcast_batch(gs: Any, shape: tuple[int, ...]) -> Any:
    """A stack of cotangents ``gs`` (leading batch axis) summed back to ``(B, *shape)``.

    :func:`unbroadcast` for each cotangent of the stack at once: the batch axis
    is never summed.

    >>> unbroadcast_batch(np.ones((4, 2, 3)), (3,)).shape
    (4, 3)
    >>> unbroadcast_batch(np.ones((4, 2, 3)), ()).tolist()
    [6.0, 6.0, 6.0, 6.0]
    """
    gshape = shape_of(gs)
    target = (gshape[0], *shape)
    if gshape == target:
        return gs
    lead = len(gshape) - 1 - len(shape)
    axes = tuple(range(1, lead + 1)) + tuple(
        1 + lead + i for i, n in enumerate(shape) if n == 1 and gshape[1 + lead + i] != 1
    )
    if axes:
        gs = np.sum(gs, axis=axes)
    return gs if shape_of(gs) == target else np.reshape(gs, target)


def summed_back(products: Vjp, position: int, name: str) -> tuple[Vjp, BatchVjp]:
    """The vjp and the batched vjp of an operand that NumPy broadcast.

    Args:
        products: ``products(g, y, *xs, **params)``, the operand's cotangent
            before it is summed back to the operand's shape; elementwise in
            ``g``, so that it broadcasts over a leading batch axis of ``g``.
        position: which operand (its index in ``xs``).
        name: the vjp's name (``div_pullback_a``); the batched one's adds ``_batch``.

    Returns:
        ``(vjp, batch)``: the products summed back by :func:`unbroadcast`, and
        the same for a stack of cotangents by :func:`unbroadcast_batch`.

    >>> vjp, batch = summed_back(lambda g, y, a, b: g * b, 0, "mul_pullback_a")
    >>> vjp(np.ones(3), None, 0.0, np.arange(3.0)), batch(np.ones((2, 3)), None, 0.0, 1.0)
    (3.0, array([3., 3.]))
    """

    def vjp(g: Any, y: Any, *xs: Any, **params: Any) -> Any:
        return unbroadcast(products(g, y, *xs, **params), shape_of(xs[position]))

    def batch(gs: Any, y: Any, *xs: Any, **params: Any) -> Any:
        return unbroadcast_batch(products(gs, y, *xs, **params), shape_of(xs[position]))

    vjp.__name__ = vjp.__qualname__ = name
    batch.__name__ = batch.__qualname__ = f"{name}_batch"
    # What the vjp is made of, for code that knows the shapes before the call (a
    # compiled function sums back as unbroadcast would, without asking).
    vjp.products = products  # type: ignore[attr-defined]
    vjp.position = position  # type: ignore[attr-defined]
    return vjp, batch


class Shape:
    """A stand-in operand that has only a shape, for vjps that read an operand's shape only.

    A shape entry's batched vjp is its own vjp, called with each operand
    replaced by a ``Shape`` with the batch axis in front and its parameters
    moved one axis along (see :func:`batch_of_shapes`).

    >>> Shape((2, 3)).shape, shape_of(Shape(()))
    ((2, 3), ())
    """

    __slots__ = ("shape",)

    def __init__(self, shape: tuple[int, ...]) -> None:
        self.shape = shape


def batch_of_shapes(
    vjp: Vjp, shifted: Callable[..., dict[str, Any] | None], variadic: bool = False
) -> BatchVjp:
    """The batched vjp of an entry whose vjp reads its operands' shapes only.

    Args:
        vjp: the entry's vjp.
        shifted: ``shifted(*xs, **params)`` -> the parameters for operands
            with a leading batch axis (an axis one further along), or None
            when there are none that fit (then the vjp runs per cotangent).
        variadic: the vjp takes the operand's index first.

    Returns:
        ``batch(gs, y, *xs, **params)``: the vjp at ``gs``, with every operand
        a :class:`Shape` of ``(B, *shape(x))`` and the shifted parameters.

    >>> from pullback._table.shapes import reshape_pullback
    >>> batch = batch_of_shapes(reshape_pullback, lambda x, shape: {"shape": shape})
    >>> batch(np.ones((5, 6)), None, np.zeros((2, 3)), shape=(6,)).shape
    (5, 2, 3)
    """

    def batch(*args: Any, **params: Any) -> Any:
        head = args[:1] if variadic else ()
        gs, y, *xs = args[len(head) :]
        moved = shifted(*xs, **params)
        if moved is None:
            return NotImplemented
        b = shape_of(gs)[0]
        return vjp(*head, gs, y, *(Shape((b, *shape_of(x))) for x in xs), **moved)

    return batch


def batched_axes(x: Any, axis: tuple[int, ...] | None) -> tuple[int, ...]:
    """A reduction's axes for ``x`` with a batch axis in front: one further along (None: all).

    >>> batched_axes(np.zeros((2, 3)), None), batched_axes(np.zeros((2, 3)), (1,))
    ((1, 2), (2,))
    """
    if axis is None:
        return tuple(range(1, ndim_of(x) + 1))
    return tuple(a + 1 for a in axis)


def reduced(factor: Vjp, name: str) -> tuple[Vjp, BatchVjp]:
    """The vjp and batched vjp of a reduction whose cotangent is ``dy`` restored times a factor.

    Args:
        factor: ``factor(y, x, axis, keepdims)``, shaped like ``x``: what the
            cotangent, its reduced axes restored (:func:`expand_reduced`), is
            multiplied by (ones for a sum, the tied extremes' shares for max).
        name: the vjp's name; the batched one's adds ``_batch``.

    Returns:
        ``(vjp, batch)``; the batched one restores the axes of each cotangent
        of the stack, and the factor broadcasts over the stack.

    >>> vjp, batch = reduced(lambda y, x, axis, keepdims: 2.0 * x, "twice_sum_pullback")
    >>> vjp(1.0, None, np.ones(2), None, False), batch(np.ones(3), None, np.ones(2), None, False)
    (array([2., 2.]), array([[2., 2.],
           [2., 2.],
           [2., 2.]]))
    """

    def vjp(g: Any, y: Any, x: Any, axis: tuple[int, ...] | None, keepdims: bool) -> Any:
        return expand_reduced(g, shape_of(x), axis, keepdims) * factor(y, x, axis, keepdims)

    def batch(gs: Any, y: Any, x: Any, axis: tuple[int, ...] | None, keepdims: bool) -> Any:
        shape = (shape_of(gs)[0], *shape_of(x))
        restored = expand_reduced(gs, shape, batched_axes(x, axis), keepdims)
        return restored * factor(y, x, axis, keepdims)

    vjp.__name__ = vjp.__qualname__ = name
    batch.__name__ = batch.__qualname__ = f"{name}_batch"
    vjp.factor = factor  # type: ignore[attr-defined]  # as summed_back's products
    return vjp, batch


def batch_of_axis(vjp: Vjp) -> BatchVjp:
    """The batched vjp of an entry whose ``axis`` is used only on the cotangent's side.

    ``softmax``'s ``y (g - Σ g y)``: with ``g`` a stack, the sum runs one axis
    further along, and ``y`` broadcasts over the stack.

    >>> batch = batch_of_axis(lambda g, y, x, axis: np.sum(g, axis=axis, keepdims=True) * x)
    >>> batch(np.ones((4, 2, 3)), None, np.ones((2, 3)), axis=(1,)).shape
    (4, 2, 3)
    """

    def batch(gs: Any, y: Any, x: Any, axis: tuple[int, ...]) -> Any:
        return vjp(gs, y, x, axis=tuple(a + 1 for a in axis))

    return batch


def batch_of_elementwise(vjp: Vjp) -> tuple[BatchVjp]:
    """The batched vjp of a one-operand elementwise entry: its own vjp.

    Its operand has the output's shape, so NumPy's broadcasting (which aligns
    trailing axes) applies the vjp's derivative to each cotangent of the stack.

    >>> batch_of_elementwise(lambda g, y, x: g * 2.0 * x)[0](np.ones((2, 3)), None, np.ones(3))
    array([[2., 2., 2.],
           [2., 2., 2.]])
    """
    return (vjp,)


def as_float_if_scalar(x: Any) -> Any:
    """A NumPy scalar or 0-d array as a Python float; anything else (traced too) as it is."""
    if isinstance(x, np.generic) or (type(x) is np.ndarray and x.ndim == 0):
        return float(x)
    return x


def float_if_0d(y: Any) -> Any:
    """A 0-d array result (np.where of scalars is one) as a float, traced or not.

    NumPy's reductions give a scalar where a composite's last step may give a
    0-d array: the library's rule is a float there.

    >>> float_if_0d(np.array(2.5)), float_if_0d(np.ones(2))
    (2.5, array([1., 1.]))
    """
    if type(concrete_of(y)) is not np.ndarray or ndim_of(y) != 0:
        return y
    return float(y) if type(y) is np.ndarray else y[()]  # a traced one stays traced


def normalize_axes(axis: Any, ndim: int, where: str) -> tuple[int, ...] | None:
    """``axis`` (None, an int or a tuple, negative allowed) as a sorted tuple, or None for all.

    >>> normalize_axes(-1, 3, "np.sum")
    (2,)
    >>> normalize_axes((0, -1), 2, "np.sum")
    (0, 1)
    """
    if axis is None:
        return None
    items = axis if isinstance(axis, tuple | list) else (axis,)
    out = []
    for a in items:
        if isinstance(a, bool) or not isinstance(a, int | np.integer):
            raise TypeError(f"{where}: axis must be an int or a tuple of ints, got {axis!r}")
        a = int(a)
        if not -ndim <= a < ndim:  # a 0-d value has no axis (see reductions for ufuncs')
            raise np.exceptions.AxisError(a, ndim, where)
        out.append(a % ndim)
    if len(set(out)) != len(out):
        raise ValueError(f"{where}: repeated axis in {axis!r}")
    return tuple(sorted(out))


def expand_reduced(
    g: Any, shape: tuple[int, ...], axes: tuple[int, ...] | None, keepdims: bool
) -> Any:
    """A reduction's cotangent ``g`` with its reduced axes restored as size 1 (traceable)."""
    if keepdims or (axes is None and ndim_of(g) == len(shape)):
        return g
    if axes is None:
        return np.reshape(g, (1,) * len(shape)) if shape else g
    kept = list(shape)
    for a in axes:
        kept[a] = 1
    return np.reshape(g, tuple(kept))


def refuse_keywords(name: str, /, **given: Any) -> None:
    """Refuse NumPy keyword arguments the table does not support, naming them.

    A keyword is refused unless it is None or the sentinel NumPy uses for "not given".
    """
    for key, value in given.items():
        if value is None or value is np._NoValue:
            continue
        if key == "out":
            raise TypeError(
                f"{name}: out= writes into an array in place, which traced code cannot do; "
                "use the returned value (y = f(x)) instead"
            )
        if key == "dtype" and np.dtype(value) == np.float64:
            continue
        raise TypeError(f"{name}: the argument {key}={value!r} is not supported in traced code")
