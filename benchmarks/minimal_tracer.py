"""The reference row of the tracer benchmark: the smallest reverse-mode tracer worth writing.

One object per operation, one node list, one backward loop of multiply-adds:
what a traced scalar operation costs at the least in Python (and, answering
NumPy's ``__array_ufunc__`` with a dict lookup, what ``np.sin(x)`` costs at the
least). It has no checks, no nesting, no IEEE fallbacks and no arrays; it is
here to be timed against (``bench_tracer.py``), never used.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

__all__ = ["Var", "cos", "exp", "gradient", "sin", "tanh"]


class Var:
    """A traced float: its value, the node list it records into, and its position there."""

    __slots__ = ("i", "nodes", "v")

    def __init__(self, v: float, nodes: list[Any], i: int) -> None:
        self.v = v
        self.nodes = nodes
        self.i = i

    def _push(self, value: float, node: tuple[tuple[int, float], ...]) -> Var:
        nodes = self.nodes
        nodes.append(node)
        return Var(value, nodes, len(nodes) - 1)

    def __add__(self, o: Any) -> Var:
        if type(o) is Var:
            return self._push(self.v + o.v, ((self.i, 1.0), (o.i, 1.0)))
        return self._push(self.v + o, ((self.i, 1.0),))

    __radd__ = __add__

    def __sub__(self, o: Any) -> Var:
        if type(o) is Var:
            return self._push(self.v - o.v, ((self.i, 1.0), (o.i, -1.0)))
        return self._push(self.v - o, ((self.i, 1.0),))

    def __rsub__(self, o: Any) -> Var:
        return self._push(o - self.v, ((self.i, -1.0),))

    def __mul__(self, o: Any) -> Var:
        if type(o) is Var:
            return self._push(self.v * o.v, ((self.i, o.v), (o.i, self.v)))
        return self._push(self.v * o, ((self.i, o),))

    __rmul__ = __mul__

    def __truediv__(self, o: Any) -> Var:
        if type(o) is Var:
            y = self.v / o.v
            return self._push(y, ((self.i, 1.0 / o.v), (o.i, -y / o.v)))
        return self._push(self.v / o, ((self.i, 1.0 / o),))

    def __rtruediv__(self, o: Any) -> Var:
        y = o / self.v
        return self._push(y, ((self.i, -y / self.v),))

    def __array_ufunc__(self, ufunc: Any, method: str, *inputs: Any, **kwargs: Any) -> Var:
        # np.sin(x) as well as sin(x): what NumPy's protocol costs a tracer at the least.
        return _UFUNCS[ufunc](*inputs)  # type: ignore[no-any-return]


def sin(x: Var) -> Var:
    return x._push(math.sin(x.v), ((x.i, math.cos(x.v)),))


def cos(x: Var) -> Var:
    return x._push(math.cos(x.v), ((x.i, -math.sin(x.v)),))


def exp(x: Var) -> Var:
    y = math.exp(x.v)
    return x._push(y, ((x.i, y),))


def tanh(x: Var) -> Var:
    y = math.tanh(x.v)
    return x._push(y, ((x.i, 1.0 - y * y),))


def gradient(f: Callable[..., Var], *xs: float) -> tuple[float, ...]:
    """The gradient of ``f`` at ``xs``: record, then one backward loop of multiply-adds."""
    nodes: list[Any] = [()] * len(xs)
    out = f(*(Var(x, nodes, i) for i, x in enumerate(xs)))
    g = [0.0] * len(nodes)
    g[out.i] = 1.0
    for i in range(out.i, len(xs) - 1, -1):
        gi = g[i]
        for p, d in nodes[i]:
            g[p] += gi * d
    return tuple(g[: len(xs)])


_UFUNCS = {np.sin: sin, np.cos: cos, np.exp: exp, np.tanh: tanh}
