"""``compiled(f)``: a traced function as straight-line code, guarded, cached per signature.

The first call with a given signature (the arguments' structure, kinds,
shapes and dtypes) records the function on staged values and writes the
program out as two Python functions (see ``codegen``). Later calls with that
signature run them, checking the guards the recording made (a comparison's
outcome, an index's value); a failed guard records the function again for
this call, and that variant is kept beside the others. The cache belongs to
the compiled rule alone and is guarded by its lock.

The traced path (``trace(f)``) stays the definition of the results: a call
that cannot be compiled runs it (traced arguments, nested differentiation,
too many variants), and so does a call whose float code meets a special
value (``math`` raises where IEEE 754 gives inf or nan).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import numpy as np

from .._trace import TracedRule, _is_output_value, _like
from .._trees import flatten, unflatten
from .._values import as_value, cotangent_for, describe, is_traced, owned
from .codegen import Compiled, Retrace, generate
from .program import Const, Program, Unstageable
from .staged import Staged

__all__ = ["MAX_VARIANTS", "CompiledRule"]

MAX_VARIANTS = 8
"""Programs kept per signature; past that, a call whose guards all fail runs the traced path."""

_MISSING: Any = object()
_FAST: Any = object()  # the first item of a key made in one pass (see CompiledRule._signature)


class _Variant:
    """One recorded program: its compiled functions, how its output is made a value, and
    the arguments' tree specs as recorded (a one-pass key determines them: calls with such
    a key take these, not made again per call)."""

    __slots__ = ("compiled", "plain_root", "specs")

    def __init__(self, compiled: Compiled, plain_root: bool, specs: Any) -> None:
        self.compiled = compiled
        self.plain_root = plain_root
        self.specs = specs


def _frozen(spec: Any) -> Any:
    """A tree spec as a hashable key."""
    if spec is None:
        return None
    kind, keys, children = spec
    frozen_keys = None if keys is None else tuple(keys)
    if children.count(None) == len(children):  # one level of leaves (a dict of arrays)
        return (kind, frozen_keys, len(children))
    return (kind, frozen_keys, tuple(_frozen(c) for c in children))


_FLOAT64 = np.dtype(np.float64)


def _leaf_key(leaf: Any) -> Any:
    kind = type(leaf)
    if kind is float:
        return kind
    if isinstance(leaf, np.ndarray):
        return (kind, leaf.shape, leaf.dtype.str)
    if is_traced(leaf):
        raise _TracedArgument
    return kind


def _leaves_of(arg_leaves: list[Any], key: list[Any], leaves: list[Any], where: Any) -> None:
    """Each leaf's part of the key, and the leaf as a value (float64 arrays as they are)."""
    for leaf in arg_leaves:
        kind = type(leaf)
        if kind is float:
            key.append(kind)
            leaves.append(leaf)
        elif kind is np.ndarray and leaf.dtype is _FLOAT64:
            key.append((kind, leaf.shape, "<f8"))
            leaves.append(leaf)
        else:
            key.append(_leaf_key(leaf))
            leaves.append(as_value(leaf, where))


def _specs_of(xs: tuple[Any, ...]) -> tuple[tuple[Any, int], ...]:
    """Each argument's tree spec (None: a single value) and its number of leaves."""
    specs = []
    for x in xs:
        kind = type(x)
        if kind is dict or kind is list or kind is tuple:
            arg_leaves, spec = flatten(x)
            specs.append((spec, len(arg_leaves)))
        else:
            specs.append((None, 1))
    return tuple(specs)


def _rebuild(leaves: list[Any], specs: Any) -> list[Any]:
    """One value or tree per argument, from the leaves and the specs."""
    out = []
    start = 0
    for spec, count in specs:
        part = leaves[start : start + count]
        out.append(part[0] if spec is None else unflatten(spec, part))
        start += count
    return out


def _owned_cotangents(raw: tuple[Any, ...], leaves: list[Any], dy: Any, y: Any) -> list[Any]:
    """Each leaf's cotangent of its kind (``_like``), each array the caller's own (``owned``).

    In one pass for the common case, a fresh float64 array for each array leaf
    and a float for each float: arrays that own their memory (``base`` None),
    are writable, and are neither each other nor an input. (An array that owns
    its memory is the root of an input's view only if it is that view's base
    itself, which no NumPy function gives traced code.) Anything else goes
    through ``_like`` and ``owned``, which copy what they must.
    """
    cotangents = []
    ids = []
    for g, leaf in zip(raw, leaves, strict=True):
        kind = type(g)
        if kind is np.ndarray:
            if not (
                type(leaf) is np.ndarray
                and g.shape == leaf.shape
                and g.dtype is _FLOAT64
                and g.base is None
                and g.flags.writeable
            ):
                break
            ids.append(id(g))
        elif not (kind is float and type(leaf) is float):
            break
        cotangents.append(g)
    else:
        fresh = set(ids)
        if (
            len(fresh) == len(ids)
            and fresh.isdisjoint(map(id, leaves))
            and id(dy) not in fresh
            and id(y) not in fresh
        ):
            return cotangents
    cotangents = [_like(g, leaf) for g, leaf in zip(raw, leaves, strict=True)]
    return owned(cotangents, (*leaves, dy, y))


class _Argument:
    """Which argument of which compiled function: written out only for an error."""

    __slots__ = ("name", "position")

    def __init__(self, name: str, position: int) -> None:
        self.name = name
        self.position = position

    def __repr__(self) -> str:
        return f"compiled({self.name}), argument {self.position}"


class _TracedArgument(Exception):
    """An argument is traced (nested differentiation): the traced path handles it."""


class CompiledRule:
    """The rule that :func:`pullback.compiled` makes of a function (see there)."""

    __slots__ = ("__name__", "__wrapped__", "_cache", "_lock", "function", "traced")
    # The API layer passes trees of values through to us and leaves the
    # cotangents as we shape them, as for a traced rule.
    __pullback_checks_arguments__ = True
    function: Callable[..., Any]
    traced: TracedRule

    def __init__(self, function: Callable[..., Any]) -> None:
        if isinstance(function, CompiledRule):
            function = function.traced
        if isinstance(function, TracedRule):
            traced = function
            function = traced.function
        elif callable(function):
            traced = TracedRule(function)
        else:
            raise TypeError(f"compiled: expected a function, got {describe(function)}")
        self.function = function
        self.traced = traced
        self.__wrapped__ = function
        self.__name__ = traced.__name__
        self._cache: dict[Any, tuple[_Variant, ...] | None] = {}
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"compiled({self.__name__})"

    def variants(self) -> int:
        """How many programs are compiled, over every signature (for tests and tuning).

        Returns:
            The number of compiled variants kept: one per signature and outcome
            of the guards; 0 when every call so far ran the traced path.

        >>> import numpy as np
        >>> from pullback import compiled
        >>> f = compiled(lambda x: np.sum(x * x) if np.all(x > 0) else np.sum(x))
        >>> f(np.ones(2))[0], f(-np.ones(2))[0], f.variants()  # a guard failed: two variants
        (2.0, -2.0, 2)
        """
        with self._lock:
            return sum(len(v) for v in self._cache.values() if v is not None)

    def source(self, *xs: Any) -> str:
        """The generated lines of the program that runs for ``xs`` (for reading).

        Its forward and backward lines as written, before they are cut into
        chunks and values read once are written into the lines that read them.

        Args:
            *xs: the arguments of a call (it is made, and compiled if needed).

        Returns:
            The program's lines, forward then backward (v: values, g: cotangents).

        Raises:
            ValueError: these arguments run the traced path (nothing compiled).

        >>> from pullback import compiled
        >>> print(compiled(lambda x: x * x).source(3.0))
        # forward
        v1 = v0 * v0
        # backward
        g0 = ((dy * v0)) + (dy * v0)
        """
        self(*xs)
        key, leaves, _ = (
            self._signature(xs) if any(type(x) is not float for x in xs) else (len(xs), xs, None)
        )
        for variant in self._cache.get(key) or ():
            try:
                variant.compiled.forward(*leaves)
            except Retrace:
                continue
            return variant.compiled.source
        raise ValueError(f"compiled({self.__name__}): these arguments run the traced path")

    def _signature(self, xs: tuple[Any, ...]) -> tuple[Any, list[Any], Any]:
        """The cache key, the leaves (as values) and the tree specs, in one pass where it can be.

        The common arguments (floats, arrays, dicts of them with str keys, one
        level deep) give the key without walking a tree: marked ``_FAST``, dict
        keys sorted as ``flatten`` sorts them, a shape for each float64 array, a
        shape and dtype for any other. That key determines the specs (None here:
        those kept with the variant). Anything else takes the general path (see
        ``_general_key``), which gives this call's specs.
        """
        key: list[Any] = [_FAST]
        leaves: list[Any] = []
        for position, x in enumerate(xs, start=1):
            kind = type(x)
            if kind is np.ndarray and x.dtype is _FLOAT64:
                key.append(x.shape)
                leaves.append(x)
            elif kind is float:
                key.append(float)
                leaves.append(x)
            elif kind is dict:
                names = list(x)
                try:  # noqa: SIM105  (as flatten orders a dict's leaves)
                    names.sort()
                except TypeError:
                    pass
                key.append(dict)
                key.append(tuple(names))
                for name in names:
                    v = x[name]
                    kind = type(v)
                    if type(name) is not str:  # 1 and 1.0 are one key: the general path
                        return self._general_key(xs)
                    if kind is np.ndarray and v.dtype is _FLOAT64:
                        key.append(v.shape)
                    elif kind is float:
                        key.append(float)
                    else:  # another kind inside: the general path
                        return self._general_key(xs)
                    leaves.append(v)
            elif kind is np.ndarray and x.dtype.kind in "iuf":
                # as_value's conversion of a plain real array (a new float64 array),
                # without making the name its errors would give.
                key.append((x.shape, x.dtype))
                leaves.append(np.array(x, dtype=np.float64))
            elif kind is np.ndarray or kind is int:  # converted to a value, or refused
                key.append((x.shape, x.dtype) if kind is np.ndarray else int)
                leaves.append(as_value(x, _Argument(self.__name__, position)))
            else:
                return self._general_key(xs)
        return tuple(key), leaves, None

    def _general_key(self, xs: tuple[Any, ...]) -> tuple[Any, list[Any], Any]:
        """The cache key, the leaves and the specs of any arguments (trees walked by flatten)."""
        key: list[Any] = []
        leaves: list[Any] = []
        specs: list[tuple[Any, int]] = []
        for position, x in enumerate(xs, start=1):
            kind = type(x)
            if kind is dict or kind is list or kind is tuple:
                arg_leaves, spec = flatten(x)
                key.append(_frozen(spec))
            else:
                arg_leaves, spec = [x], None
            _leaves_of(arg_leaves, key, leaves, _Argument(self.__name__, position))
            specs.append((spec, len(arg_leaves)))
        return tuple(key), leaves, tuple(specs)

    def __call__(self, *xs: Any) -> tuple[Any, Callable[[Any], Any]]:
        key: Any = len(xs)  # floats only (the hot path): their number is the signature
        leaves: Any = xs
        specs: Any = None  # None: the variant's
        for x in xs:
            if type(x) is not float:
                try:
                    key, leaves, specs = self._signature(xs)
                except _TracedArgument:  # nested differentiation: the tracer's business
                    return self.traced(*xs)
                break
        variants = self._cache.get(key, _MISSING)
        if variants is None:  # this signature cannot be compiled
            return self.traced(*xs)
        if variants is not _MISSING:
            for variant in variants:
                try:
                    y, saved = variant.compiled.forward(*leaves)
                except Retrace:
                    continue
                except (ArithmeticError, ValueError):  # a special value: the IEEE path
                    return self.traced(*xs)
                shaped = variant.specs if specs is None else specs
                if type(y) is float:  # a value as it is (plain or not): nothing to shape
                    return y, CompiledPullback(self, variant, saved, leaves, xs, y, shaped)
                return self._result(variant, y, saved, leaves, xs, shaped)
            if len(variants) >= MAX_VARIANTS:
                return self.traced(*xs)
        try:
            if leaves is not xs and specs is None:
                specs = _specs_of(xs)
            variant = self._record(leaves, specs)
        except Unstageable as why:
            if why.permanent:
                with self._lock:
                    self._cache[key] = None
            return self.traced(*xs)
        except TypeError:
            # Something staged values do not take that traced values do (a traced
            # function called inside on them): if the traced path runs, it is the
            # path for this signature; if it raises too, that is the user's error.
            result = self.traced(*xs)
            with self._lock:
                self._cache[key] = None
            return result
        with self._lock:
            held = self._cache.get(key)
            self._cache[key] = (*(held or ()), variant)
        try:
            y, saved = variant.compiled.forward(*leaves)
        except (Retrace, ArithmeticError, ValueError):
            # A special value, or a function that is not one of its arguments alone.
            return self.traced(*xs)
        return self._result(variant, y, saved, leaves, xs, specs)

    def _record(self, leaves: list[Any], specs: Any) -> _Variant:
        program = Program()
        staged = [Staged(leaf, program, program.new_variable(leaf, True), True) for leaf in leaves]
        out = self.function(*(staged if specs is None else _rebuild(staged, specs)))
        plain = False
        root: Any
        if type(out) is Staged:
            if out.program is not program:
                raise Unstageable("the output comes from another call", permanent=False)
            root = out.var
            plain = not out.diff
            if plain and not _is_output_value(out.value):
                raise self._not_a_value(out.value)
        elif is_traced(out):
            raise Unstageable("the output is a value of an enclosing trace", permanent=False)
        elif _is_output_value(out):
            root = Const(as_value(out, f"compiled({self.__name__})"))
        else:
            raise self._not_a_value(out)
        return _Variant(generate(program, len(leaves), root), plain, specs)

    def _not_a_value(self, out: Any) -> TypeError:
        return TypeError(
            f"compiled({self.__name__}): the function returned {describe(out)}; a compiled "
            "function must return a value (a float or a float64 array)"
        )

    def _result(
        self,
        variant: _Variant,
        y: Any,
        saved: tuple[Any, ...],
        leaves: list[Any],
        xs: tuple[Any, ...],
        specs: Any,
    ) -> tuple[Any, Callable[[Any], Any]]:
        if variant.plain_root:
            raw = y
            y = as_value(y, f"compiled({self.__name__})")
            if type(y) is np.ndarray and y is raw:
                y = y.copy()
        if type(y) is np.ndarray:
            y = owned([y], tuple(leaves))[0]
        return y, CompiledPullback(self, variant, saved, leaves, xs, y, specs)


class CompiledPullback:
    """The backward pass of one compiled call: the compiled backward function, then shaping."""

    __slots__ = ("_leaves", "_rule", "_saved", "_specs", "_variant", "_xs", "_y")

    def __init__(
        self,
        rule: CompiledRule,
        variant: _Variant,
        saved: tuple[Any, ...],
        leaves: list[Any],
        xs: tuple[Any, ...],
        y: Any,
        specs: Any,
    ) -> None:
        self._rule = rule
        self._variant = variant
        self._saved = saved
        self._leaves = leaves
        self._xs = xs
        self._y = y
        self._specs = specs

    def __repr__(self) -> str:
        return f"<pullback of {self._rule!r}>"

    def __call__(self, dy: Any) -> Any:
        y = self._y
        if not (type(dy) is float and type(y) is float):
            if is_traced(dy):  # nested differentiation: the traced path's pullback
                return self._rule.traced(*self._xs)[1](dy)
            dy = cotangent_for(dy, y, f"the pullback of {self._rule!r}")
        try:
            raw = self._variant.compiled.backward(dy, self._saved)
        except (ArithmeticError, ValueError):  # a special value: the IEEE path
            return self._rule.traced(*self._xs)[1](dy)
        leaves = self._leaves
        specs = self._specs
        if specs is None:  # float arguments: float cotangents (0.0 where none arrived)
            for g in raw:
                if type(g) is not float:
                    cotangents = [_like(g, 0.0) for g in raw]
                    return cotangents[0] if len(cotangents) == 1 else tuple(cotangents)
            return raw[0] if len(raw) == 1 else raw
        cotangents = _owned_cotangents(raw, leaves, dy, y)
        per_argument = _rebuild(cotangents, specs)
        return per_argument[0] if len(per_argument) == 1 else tuple(per_argument)
