"""The array families of the table (reductions, shapes, linear algebra), walked entry by entry.

``CASES`` holds, for every NumPy function of ``reductions.FUNCTIONS``,
``shapes.FUNCTIONS`` and ``linalg.FUNCTIONS``, programs written in plain NumPy;
a test asserts its keys are exactly the tables' keys, so no entry goes
untested (and every primitive of the three families is recorded by some case).
Each program is checked four ways: its whole Jacobian (the gradient of
``sum(f(x) * R)`` for a random ``R``) against 5-point central differences of
NumPy's own function on plain arrays; its traced forward value against NumPy's
result bit for bit; its method spelling (``x.sum(axis=1)``) against the
function's; and a Hessian-vector product, which traces the entries' derivative
code again, against differences of the gradient. Then: second derivatives,
indexing, NumPy's semantics spelled out, the edges, what traced code refuses,
and random traced programs (hypothesis).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from numpy.typing import NDArray

import pullback as pb
from pullback._table import linalg, reductions, shapes
from pullback._table.entry import Primitive
from pullback._trace import TracedRule

from .helpers import five_point

Array = NDArray[np.float64]
Sampler = Callable[[np.random.Generator], Array]
Program = Callable[..., Any]

H = 1e-3  # the step of the finite differences
POINTS = 3  # random points per case


# -- inputs ----------------------------------------------------------------------------------


def normal(*shape: int) -> Sampler:
    """Standard normal entries."""

    def sample(rng: np.random.Generator) -> Array:
        return rng.normal(size=shape)

    return sample


def distinct(*shape: int) -> Sampler:
    """Entries at least 0.2 apart and 0.02 from 0 (no ties or kinks within the steps)."""

    def sample(rng: np.random.Generator) -> Array:
        n = int(np.prod(shape, dtype=np.int64))
        grid = (rng.permutation(n) - (n - 1) / 2) * 0.3 + 0.07
        return (grid + rng.uniform(-0.05, 0.05, n)).reshape(shape)

    return sample


def away_from(points: Sequence[float], *shape: int) -> Sampler:
    """Normal entries, none within 0.05 of the given points (kinks of clip or where)."""

    def sample(rng: np.random.Generator) -> Array:
        x = rng.normal(size=shape)
        for p in points:
            near = np.abs(x - p) < 0.05
            x = np.where(near, p + np.where(x >= p, 0.1, -0.1), x)
        return x

    return sample


def well_conditioned(n: int, *batch: int, sign: float = 1.0) -> Sampler:
    """A (batch of) n x n matrices near 3I (or near diag(3, ..., 3, 3 * sign))."""

    def sample(rng: np.random.Generator) -> Array:
        diagonal = np.full(n, 3.0)
        diagonal[-1] *= sign
        return rng.normal(size=(*batch, n, n)) * 0.3 + np.diag(diagonal)

    return sample


def gram(x: Any) -> Any:
    """``x xᵀ + I``: symmetric positive definite whatever x is (for Cholesky)."""
    return x @ np.swapaxes(x, -1, -2) + np.eye(np.shape(x)[-1])


# -- cases ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    """A program in plain NumPy, its inputs, and its method spellings (if any)."""

    f: Program
    inputs: tuple[Sampler, ...]
    methods: tuple[Program, ...] = ()
    label: str = ""


def case(f: Program, *inputs: Sampler | tuple[int, ...], methods: Sequence[Program] = ()) -> Case:
    samplers = tuple(normal(*s) if isinstance(s, tuple) else s for s in inputs)
    return Case(f, samplers, tuple(methods))


DOT_W = np.linspace(-1.0, 1.0, 6).reshape(3, 2)
FRO: Any = "f"  # NumPy's other spelling of 'fro' (not in its stubs)
IDX = np.array([[2, 0, 0], [1, 1, 2]])
MASK = np.array([[True, False, True], [False, True, True]])

CASES: dict[Any, list[Case]] = {
    # -- reductions
    np.sum: [
        case(
            lambda x: np.sum(x, axis=(0, -1), keepdims=True),
            (2, 3, 4),
            methods=[lambda x: x.sum(axis=(0, -1), keepdims=True)],
        ),
        case(lambda x: np.sum(x), (2, 3), methods=[lambda x: x.sum()]),
        case(lambda x: np.sum(x, axis=1), (2, 3), methods=[lambda x: x.sum(axis=1)]),
        case(lambda x: np.sum(x, axis=-1, keepdims=True), (2, 3, 2)),
        case(lambda x: np.sum(x, axis=()), (2, 3)),
        case(lambda x: np.sum(x, keepdims=True), (2, 3)),
    ],
    np.prod: [
        case(lambda x: np.prod(x, axis=1), (3, 4), methods=[lambda x: x.prod(axis=1)]),
        case(lambda x: np.prod(x), (2, 3), methods=[lambda x: x.prod()]),
        case(lambda x: np.prod(x, axis=(0, 2), keepdims=True), (2, 3, 2)),
        case(lambda x: np.prod(x, axis=-1), (3, 1)),
    ],
    np.max: [
        case(lambda x: np.max(x, axis=0), distinct(3, 4), methods=[lambda x: x.max(axis=0)]),
        case(lambda x: np.max(x), distinct(2, 3), methods=[lambda x: x.max()]),
        case(lambda x: np.max(x, axis=(0, 2), keepdims=True), distinct(2, 3, 2)),
    ],
    np.amax: [case(lambda x: np.amax(x, axis=-1), distinct(3, 4))],
    np.min: [
        case(lambda x: np.min(x, axis=1), distinct(3, 4), methods=[lambda x: x.min(axis=1)]),
        case(lambda x: np.min(x), distinct(2, 3), methods=[lambda x: x.min()]),
    ],
    np.amin: [case(lambda x: np.amin(x, axis=(0, 1)), distinct(2, 2, 3))],
    np.cumsum: [
        case(lambda x: np.cumsum(x), (2, 3), methods=[lambda x: x.cumsum()]),
        case(lambda x: np.cumsum(x, axis=1), (2, 3), methods=[lambda x: x.cumsum(axis=1)]),
        case(lambda x: np.cumsum(x, axis=-2), (2, 3, 2)),
    ],
    np.mean: [
        case(lambda x: np.mean(x), (2, 3), methods=[lambda x: x.mean()]),
        case(
            lambda x: np.mean(x, axis=(0, 2), keepdims=True),
            (2, 3, 2),
            methods=[lambda x: x.mean(axis=(0, 2), keepdims=True)],
        ),
        case(lambda x: np.mean(x, axis=-1), (3, 4)),
    ],
    np.var: [
        case(lambda x: np.var(x), (2, 3), methods=[lambda x: x.var()]),
        case(
            lambda x: np.var(x, axis=1, ddof=1),
            (3, 4),
            methods=[lambda x: x.var(axis=1, ddof=1)],
        ),
        case(lambda x: np.var(x, axis=(0, 1), keepdims=True), (2, 3, 2)),
        case(lambda x: np.var(x, axis=-1, ddof=2), (2, 5)),
    ],
    np.std: [
        case(lambda x: np.std(x), (2, 3), methods=[lambda x: x.std()]),
        case(
            lambda x: np.std(x, axis=0, ddof=1),
            (3, 4),
            methods=[lambda x: x.std(axis=0, ddof=1)],
        ),
        case(lambda x: np.std(x, axis=-1, keepdims=True), (2, 3, 4)),
    ],
    np.linalg.norm: [
        case(lambda x: np.linalg.norm(x), (5,)),
        case(lambda x: np.linalg.norm(x), (2, 3)),
        case(lambda x: np.linalg.norm(x, None, None, keepdims=True), (2, 3)),
        case(lambda x: np.linalg.norm(x, 2), (4,)),
        case(lambda x: np.linalg.norm(x, ord=1), distinct(5)),
        case(lambda x: np.linalg.norm(x, ord=np.inf), distinct(5)),
        case(lambda x: np.linalg.norm(x, "fro"), (3, 3)),
        case(lambda x: np.linalg.norm(x, axis=1, keepdims=True), (3, 4)),
        case(lambda x: np.linalg.norm(x, axis=(1, 2)), (2, 2, 3)),
        case(lambda x: np.linalg.norm(x, ord=1, axis=0), distinct(3, 4)),
        case(lambda x: np.linalg.norm(x, -np.inf, axis=-1, keepdims=True), distinct(3, 4)),
        case(lambda x: np.linalg.norm(x, 0), (5,)),
        case(lambda x: np.linalg.norm(x, FRO), (2, 3)),
        case(lambda x: np.linalg.norm(x, 1), distinct(3, 4)),
        case(lambda x: np.linalg.norm(x, -1, axis=(1, 0), keepdims=True), distinct(3, 4)),
        case(lambda x: np.linalg.norm(x, np.inf, axis=(2, 0)), distinct(3, 2, 4)),
        case(lambda x: np.linalg.norm(x, -np.inf), distinct(4, 3)),
    ],
    # -- shapes
    np.reshape: [
        case(lambda x: np.reshape(x, (3, -1)), (2, 3), methods=[lambda x: x.reshape(3, 2)]),
        case(lambda x: np.reshape(x, 6), (2, 3), methods=[lambda x: x.reshape(6)]),
        case(
            lambda x: np.reshape(x, (2, 1, 2, 3)),
            (4, 3),
            methods=[lambda x: x.reshape((2, 1, 2, 3))],
        ),
    ],
    np.transpose: [
        case(lambda x: np.transpose(x), (2, 3), methods=[lambda x: x.T, lambda x: x.transpose()]),
        case(lambda x: np.transpose(x, (1, 0)), (2, 3), methods=[lambda x: x.transpose(1, 0)]),
        case(
            lambda x: np.transpose(x, (1, 2, 0)),
            (2, 3, 4),
            methods=[lambda x: x.transpose(1, 2, 0), lambda x: x.transpose((1, -1, 0))],
        ),
        case(lambda x: np.transpose(x, (0, 1)), (2, 3)),
        case(lambda x: np.transpose(x), (2, 3, 4), methods=[lambda x: x.T]),
    ],
    np.swapaxes: [
        case(lambda x: np.swapaxes(x, 0, 2), (2, 3, 4), methods=[lambda x: x.swapaxes(0, 2)]),
        case(lambda x: np.swapaxes(x, 0, -1), (2, 3), methods=[lambda x: x.swapaxes(0, -1)]),
    ],
    np.moveaxis: [
        case(lambda x: np.moveaxis(x, 0, -1), (2, 3, 4)),
        case(lambda x: np.moveaxis(x, (0, 1), (-1, 0)), (2, 3, 4)),
        case(lambda x: np.moveaxis(x, np.array([2, 0]), [0, 1]), (2, 3, 4)),
    ],
    np.expand_dims: [
        case(lambda x: np.expand_dims(x, 1), (2, 3)),
        case(lambda x: np.expand_dims(x, (0, 3)), (2, 3)),
    ],
    np.squeeze: [
        case(lambda x: np.squeeze(x), (1, 3, 1), methods=[lambda x: x.squeeze()]),
        case(lambda x: np.squeeze(x, axis=2), (1, 3, 1), methods=[lambda x: x.squeeze(axis=2)]),
    ],
    np.ravel: [
        case(lambda x: np.ravel(x), (2, 3), methods=[lambda x: x.ravel(), lambda x: x.flatten()]),
    ],
    np.atleast_1d: [
        case(lambda x: np.atleast_1d(x), (3,)),
        case(lambda x: np.atleast_1d(x), (2, 3)),
        case(lambda x, y: np.atleast_1d(x, y), (3,), (2, 2)),
    ],
    np.atleast_2d: [
        case(lambda x: np.atleast_2d(x), (3,)),
        case(lambda x, y: np.atleast_2d(x, y), (3,), (2, 2, 1)),
    ],
    np.atleast_3d: [
        case(lambda x: np.atleast_3d(x), (3,)),
        case(lambda x: np.atleast_3d(x), (2, 3)),
        case(lambda x, y: np.atleast_3d(x, y), (2,), (1, 2, 2, 1)),
    ],
    np.broadcast_to: [
        case(lambda x: np.broadcast_to(x, (2, 3)), (3,)),
        case(lambda x: np.broadcast_to(x, (4, 2, 3)), (2, 1)),
        case(lambda x: np.broadcast_to(x, (2, 3)), (2, 3)),
    ],
    np.concatenate: [
        case(lambda a, b: np.concatenate([a, b]), (2, 3), (1, 3)),
        case(lambda a, b: np.concatenate((a, b, a), axis=-1), (2, 1), (2, 3)),
        case(lambda a, b: np.concatenate([a, b], axis=None), (2, 2), (3,)),
    ],
    np.stack: [
        case(lambda a, b, c: np.stack([a, b, c], axis=1), (2, 3), (2, 3), (2, 3)),
        case(lambda a, b: np.stack((a, b), axis=-1), (3,), (3,)),
        case(lambda a, b: np.stack([a, b]), (2, 2), (2, 2)),
    ],
    np.hstack: [
        case(lambda a, b: np.hstack([a, b]), (3,), (2,)),
        case(lambda a, b: np.hstack((a, b)), (2, 1), (2, 3)),
    ],
    np.vstack: [
        case(lambda a, b: np.vstack([a, b]), (3,), (3,)),
        case(lambda a, b: np.vstack((a, b)), (1, 3), (2, 3)),
    ],
    np.append: [
        case(lambda a, b: np.append(a, b), (2, 2), (3,)),
        case(lambda a, b: np.append(a, b, axis=0), (2, 3), (1, 3)),
    ],
    np.split: [
        case(lambda x: np.split(x, 3), (6,)),
        case(lambda x: np.split(x, [1, 3], axis=1), (2, 5)),
        case(lambda x: np.split(x, 2, axis=-1), (3, 4)),
    ],
    np.array_split: [
        case(lambda x: np.array_split(x, 3), (7,)),
        case(lambda x: np.array_split(x, 2, axis=1), (2, 5)),
    ],
    np.flip: [
        case(lambda x: np.flip(x), (2, 3)),
        case(lambda x: np.flip(x, axis=1), (2, 3)),
        case(lambda x: np.flip(x, axis=(0, -1)), (2, 3, 2)),
    ],
    np.roll: [
        case(lambda x: np.roll(x, 2), (2, 3)),
        case(lambda x: np.roll(x, -1, axis=1), (2, 3)),
        case(lambda x: np.roll(x, (1, 2), axis=(0, 1)), (2, 3)),
        case(lambda x: np.roll(x, 1, axis=(0, 1)), (2, 3)),
        case(lambda x: np.roll(x, (1, 2), axis=1), (2, 4)),
    ],
    np.tile: [
        case(lambda x: np.tile(x, 2), (3,)),
        case(lambda x: np.tile(x, (2, 1, 2)), (2, 3)),
        case(lambda x: np.tile(x, (2,)), (2, 2)),
    ],
    np.repeat: [
        case(lambda x: np.repeat(x, 2), (2, 2)),
        case(
            lambda x: np.repeat(x, [1, 0, 2], axis=1),
            (2, 3),
            methods=[lambda x: x.repeat([1, 0, 2], axis=1)],
        ),
        case(lambda x: np.repeat(x, 3, axis=0), (2, 2), methods=[lambda x: x.repeat(3, axis=0)]),
    ],
    np.pad: [
        case(lambda x: np.pad(x, 1), (2, 3)),
        case(lambda x: np.pad(x, ((1, 0), (2, 1)), constant_values=0.5), (2, 3)),
        case(lambda x: np.pad(x, (0, 2)), (3,)),
    ],
    np.triu: [
        case(lambda x: np.triu(x), (3, 3)),
        case(lambda x: np.triu(x, 1), (3, 4)),
        case(lambda x: np.triu(x, -1), (2, 3, 3)),
        case(lambda x: np.triu(x), (3,)),
    ],
    np.tril: [
        case(lambda x: np.tril(x), (3, 4)),
        case(lambda x: np.tril(x, -1), (3, 3)),
        case(lambda x: np.tril(x, 1), (3,)),
    ],
    np.take: [
        case(lambda x: np.take(x, [0, 2, 2]), (2, 3), methods=[lambda x: x.take([0, 2, 2])]),
        case(lambda x: np.take(x, [[0, 1], [1, 1]], axis=1), (2, 3)),
        case(lambda x: np.take(x, 1, axis=0), (2, 3), methods=[lambda x: x.take(1, 0)]),
        case(lambda x: np.take(x, [-1, 0], axis=-1), (2, 3)),
    ],
    np.take_along_axis: [
        case(lambda x: np.take_along_axis(x, IDX, axis=1), (2, 3)),
        case(lambda x: np.take_along_axis(x, IDX.T, axis=0), (3, 2)),
        case(lambda x: np.take_along_axis(x, np.array([3, 0, 0]), axis=None), (4,)),
    ],
    np.diff: [
        case(lambda x: np.diff(x), (2, 4)),
        case(lambda x: np.diff(x, n=2, axis=0), (4, 3)),
        case(lambda x: np.diff(x, axis=1, prepend=1.5), (2, 3)),
        case(lambda x: np.diff(x, prepend=np.ones((2, 1)), append=0.0), (2, 3)),
    ],
    np.sort: [
        case(lambda x: np.sort(x), distinct(3, 4)),
        case(lambda x: np.sort(x, axis=0), distinct(3, 4)),
        case(lambda x: np.sort(x, axis=None), distinct(2, 3)),
    ],
    np.where: [
        case(lambda x, y: np.where(x > 0, x, y), away_from([0.0], 2, 3), (2, 3)),
        case(lambda x: np.where(MASK, x, 2.0), (2, 3)),
        case(lambda x, y: np.where(x < 0, 3.0 * x, y), away_from([0.0], 2, 3), (3,)),
        case(lambda x: np.where(x > 0, np.sqrt(np.abs(x)), 0.0), away_from([0.0], 2, 3)),
        case(lambda x, y: np.where(x * (x > 0), x, y), away_from([0.0], 2, 3), (2, 3)),
    ],
    np.clip: [
        case(
            lambda x: np.clip(x, -0.5, 0.5),
            away_from([-0.5, 0.5], 3, 3),
            methods=[lambda x: x.clip(-0.5, 0.5)],
        ),
        case(
            lambda x: np.clip(x, 0, 1),
            away_from([0.0, 1.0], 3, 3),
            methods=[lambda x: x.clip(0, 1)],
        ),
        case(
            lambda x: np.clip(x, None, 0.2),
            away_from([0.2], 3, 3),
            methods=[lambda x: x.clip(max=0.2)],
        ),
    ],
    np.nan_to_num: [case(lambda x: np.nan_to_num(x), (2, 3))],
    np.copy: [
        case(lambda x: np.copy(x), (2, 3), methods=[lambda x: x.copy(), lambda x: x.astype(float)])
    ],
    np.diagonal: [
        case(lambda x: np.diagonal(x), (3, 3), methods=[lambda x: x.diagonal()]),
        case(lambda x: np.diagonal(x, 1), (3, 4), methods=[lambda x: x.diagonal(1)]),
        case(
            lambda x: np.diagonal(x, -1, 0, 2), (3, 2, 3), methods=[lambda x: x.diagonal(-1, 0, 2)]
        ),
    ],
    np.trace: [
        case(lambda x: np.trace(x), (3, 3), methods=[lambda x: x.trace()]),
        case(lambda x: np.trace(x, 1), (3, 4), methods=[lambda x: x.trace(1)]),
        case(lambda x: np.trace(x, 0, 1, 2), (2, 3, 3), methods=[lambda x: x.trace(0, 1, 2)]),
    ],
    np.diag: [
        case(lambda x: np.diag(x), (3,)),
        case(lambda x: np.diag(x, 1), (3,)),
        case(lambda x: np.diag(x, -1), (3, 4)),
        case(lambda x: np.diag(x), (3, 3)),
    ],
    # -- linear algebra
    np.matmul: [
        case(lambda a, b: np.matmul(a, b), (3, 4), (4, 2)),
        case(lambda a, b: a @ b, (3, 4), (4, 2)),
        case(lambda a, b: a @ b, (4,), (4, 2)),
        case(lambda a, b: a @ b, (3, 4), (4,)),
        case(lambda a, b: a @ b, (4,), (4,)),
        case(lambda a, b: a @ b, (2, 3, 4), (4, 5)),
        case(lambda a, b: a @ b, (2, 1, 3, 4), (3, 4, 2)),
        case(lambda a, b: a @ b, (3,), (2, 3, 4)),
        case(lambda a, b: a @ b, (2, 3, 4), (4,)),
        case(lambda a: np.arange(6.0).reshape(2, 3) @ a, (3, 2)),
    ],
    np.dot: [
        case(lambda a, b: np.dot(a, b), (3, 4), (4, 2), methods=[lambda a, b: a.dot(b)]),
        case(lambda a: np.dot(a, DOT_W), (2, 3), methods=[lambda a: a.dot(DOT_W)]),
        case(lambda a, b: np.dot(a, b), (4,), (4,), methods=[lambda a, b: a.dot(b)]),
        case(lambda a, b: np.dot(a, b), (3, 4), (4,)),
        case(lambda a, b: np.dot(a, b), (2, 3, 4), (3, 4, 2)),
        case(lambda a, b: np.dot(a, b), (2, 3, 4), (4, 5), methods=[lambda a, b: a.dot(b)]),
        case(lambda a, b: np.dot(a, b), (2, 3, 4), (4,)),
        case(lambda a, b: np.dot(a, b), (4,), (2, 4, 3)),
    ],
    np.inner: [
        case(lambda a, b: np.inner(a, b), (4,), (4,)),
        case(lambda a, b: np.inner(a, b), (2, 3), (4, 3)),
        case(lambda a, b: np.inner(a, b), (2, 3, 4), (5, 4)),
        case(lambda a, b: np.inner(a, b), (3,), (2, 2, 3)),
        case(lambda a, b: np.inner(a, b), (2, 3), (3,)),
    ],
    np.outer: [
        case(lambda a, b: np.outer(a, b), (3,), (4,)),
        case(lambda a, b: np.outer(a, b), (2, 2), (3,)),
    ],
    np.cross: [
        case(lambda a, b: np.cross(a, b), (3,), (3,)),
        case(lambda a, b: np.cross(a, b), (2, 3), (2, 3)),
    ],
    np.kron: [
        case(lambda a, b: np.kron(a, b), (2, 2), (2, 3)),
        case(lambda a, b: np.kron(a, b), (3,), (2,)),
    ],
    np.tensordot: [
        case(lambda a, b: np.tensordot(a, b, axes=1), (3, 4), (4, 2)),
        case(lambda a, b: np.tensordot(a, b), (2, 3, 4), (3, 4, 2)),
        case(lambda a, b: np.tensordot(a, b, axes=([1, 0], [0, 1])), (3, 4), (4, 3)),
        case(lambda a, b: np.tensordot(a, b, axes=([0, 2], [2, 0])), (2, 3, 4), (4, 5, 2)),
        case(lambda a, b: np.tensordot(a, b, axes=([0], [1])), (3, 2), (4, 3)),
        case(lambda a, b: np.tensordot(a, b, axes=0), (2,), (3,)),
    ],
    np.einsum: [
        case(lambda a, b: np.einsum("ij,jk->ik", a, b), (3, 4), (4, 2)),
        case(lambda a, b: np.einsum("ij,jk", a, b), (3, 4), (4, 2)),
        case(lambda a, b: np.einsum("i,i", a, b), (4,), (4,)),
        case(lambda a: np.einsum("ij->", a), (2, 3)),
        case(lambda a: np.einsum("ji", a), (2, 3)),
        case(lambda a, b: np.einsum("ijk,kj->i", a, b), (2, 3, 4), (4, 3)),
        case(lambda a, b: np.einsum("bij,bjk->bik", a, b), (2, 3, 4), (2, 4, 2)),
        case(lambda a, b, c: np.einsum("ij,j,jk->ik", a, b, c), (2, 3), (3,), (3, 2)),
        case(lambda a, b: np.einsum("ij,kl->ilk", a, b), (2, 3), (2, 2)),
        case(lambda a, b: np.einsum("ij,jk->ik", a, b, optimize=True), (5, 6), (6, 4)),
        case(lambda a, b: np.einsum("i,i->", a, b), (3,), (3,)),
    ],
    np.linalg.inv: [
        case(lambda a: np.linalg.inv(a), well_conditioned(3)),
        case(lambda a: np.linalg.inv(a), well_conditioned(3, 2)),
    ],
    np.linalg.solve: [
        case(lambda a, b: np.linalg.solve(a, b), well_conditioned(3), (3,)),
        case(lambda a, b: np.linalg.solve(a, b), well_conditioned(3), (3, 2)),
        case(lambda a, b: np.linalg.solve(a, b), well_conditioned(3, 2), (2, 3, 2)),
        case(lambda a, b: np.linalg.solve(a, b), well_conditioned(3, 2), (3,)),
        case(lambda a, b: np.linalg.solve(a, b), well_conditioned(3), (2, 3, 2)),
    ],
    np.linalg.det: [
        case(lambda a: np.linalg.det(a), well_conditioned(3)),
        case(lambda a: np.linalg.det(a), well_conditioned(3, 2)),
        case(lambda a: np.linalg.det(a), well_conditioned(2, sign=-1.0)),
    ],
    np.linalg.slogdet: [
        case(lambda a: np.linalg.slogdet(a), well_conditioned(3)),
        case(lambda a: np.linalg.slogdet(a), well_conditioned(3, sign=-1.0)),
        case(lambda a: np.linalg.slogdet(a).logabsdet, well_conditioned(3, 2)),
    ],
    np.linalg.cholesky: [
        case(lambda x: np.linalg.cholesky(gram(x)), (3, 3)),
        case(lambda x: np.linalg.cholesky(gram(x), upper=True), (3, 3)),
        case(lambda x: np.linalg.cholesky(gram(x)), (2, 3, 3)),
    ],
}


def all_cases() -> list[Any]:
    return [
        pytest.param(c, id=f"{function.__name__}-{i}")
        for function, cases in CASES.items()
        for i, c in enumerate(cases)
    ]


def method_cases() -> list[Any]:
    return [
        pytest.param(c, m, id=f"{function.__name__}-{i}-method{k}")
        for function, cases in CASES.items()
        for i, c in enumerate(cases)
        for k, m in enumerate(c.methods)
    ]


# -- helpers ---------------------------------------------------------------------------------


def is_traced(x: Any) -> bool:
    return hasattr(type(x), "__pullback_apply__")


def plain(out: Any) -> Any:
    """A traced result (a value, or a list/tuple of them) as concrete values."""
    if isinstance(out, list | tuple) and not is_traced(out):
        items = [plain(o) for o in out]
        return type(out)(*items) if hasattr(out, "_fields") else type(out)(items)
    if is_traced(out):
        return out.__pullback_concrete__()
    return out


def weights_for(out: Any, rng: np.random.Generator) -> Any:
    """Random weights shaped like an output (a tree for a list or tuple)."""
    if isinstance(out, list | tuple):
        return [weights_for(o, rng) for o in out]
    return rng.normal(size=np.shape(out)) if np.ndim(out) else float(rng.normal())


def weigh(out: Any, weights: Any) -> Any:
    """``sum(out * R)`` over every output: a number whose gradient is the whole Jacobian."""
    if isinstance(out, list | tuple):
        total: Any = 0.0
        for o, w in zip(out, weights, strict=True):
            total = total + weigh(o, w)
        return total
    return np.sum(out * weights)


class Weighed:
    """``sum(f(x) * R)``: a number whose gradient is the whole Jacobian of ``f``.

    It keeps the concrete outputs of ``f`` it sees (traced ones too), for
    comparing the traced forward value with NumPy's.
    """

    def __init__(self, f: Program, weights: Any) -> None:
        self.f = f
        self.weights = weights
        self.seen: list[Any] = []

    def __call__(self, *v: Any) -> Any:
        out = self.f(*v)
        self.seen.append(plain(out))
        return weigh(out, self.weights)


def weighed(f: Program, xs: Sequence[Array], rng: np.random.Generator) -> Weighed:
    """:class:`Weighed` with random weights shaped like ``f``'s output at ``xs``."""
    return Weighed(f, weights_for(f(*xs), rng))


def inputs_of(c: Case, seed: int) -> tuple[np.random.Generator, list[Array]]:
    rng = np.random.default_rng(seed)
    return rng, [sample(rng) for sample in c.inputs]


def numerical_gradients(f: Callable[..., Any], xs: Sequence[Array], h: float = H) -> list[Array]:
    """5-point central differences of a number-valued ``f``, element by element of each input."""
    grads = []
    for i, x in enumerate(xs):
        g = np.zeros_like(x)
        for j in np.ndindex(x.shape):

            def along(t: float, i: int = i, j: tuple[int, ...] = j) -> float:
                moved = list(xs)
                y = moved[i].copy()
                y[j] = t
                moved[i] = y
                return float(f(*moved))

            g[j] = five_point(along, float(x[j]), h)
        grads.append(g)
    return grads


def five_point_array(f: Callable[[float], Array], t: float, h: float) -> Array:
    """The 5-point central difference of an array-valued function of one float, elementwise."""
    return (-f(t + 2 * h) + 8 * f(t + h) - 8 * f(t - h) + f(t - 2 * h)) / (12 * h)


def gradients(f: Callable[..., Any], xs: Sequence[Array]) -> list[Any]:
    g = pb.gradient(pb.trace(f), *xs)
    return list(g) if len(xs) > 1 else [g]


def assert_close(actual: Any, expected: Any, rtol: float = 1e-6, atol: float = 1e-7) -> None:
    assert np.shape(actual) == np.shape(expected)
    np.testing.assert_allclose(actual, expected, rtol=rtol, atol=atol)


def assert_same(actual: Any, expected: Any) -> None:
    """Bitwise the same numbers and shape; a float where NumPy gives a scalar."""
    if isinstance(expected, list | tuple):
        assert type(actual) is type(expected) or (
            hasattr(actual, "_fields") and hasattr(expected, "_fields")
        )
        assert len(actual) == len(expected)
        for a, e in zip(actual, expected, strict=True):
            assert_same(a, e)
        return
    if np.ndim(expected) == 0:
        assert type(actual) is float, f"expected a float, got {type(actual).__name__}"
    else:
        assert type(actual) is np.ndarray and actual.dtype == np.float64
    assert np.shape(actual) == np.shape(expected)
    assert np.array_equal(actual, expected, equal_nan=True), f"{actual!r} != {expected!r}"


# -- the walk ---------------------------------------------------------------------------------


TABLES: dict[Any, Any] = {
    **reductions.FUNCTIONS,
    **shapes.FUNCTIONS,
    **linalg.FUNCTIONS,
}


def test_every_entry_of_the_tables_has_cases() -> None:
    sizes = len(reductions.FUNCTIONS) + len(shapes.FUNCTIONS) + len(linalg.FUNCTIONS)
    assert len(TABLES) == sizes  # no function in two families
    assert set(CASES) == set(TABLES)
    assert all(CASES.values())


def test_every_primitive_of_the_families_is_recorded_by_some_case() -> None:
    primitives = {
        p.name
        for module in (reductions, shapes, linalg)
        for p in vars(module).values()
        if isinstance(p, Primitive)
    }
    seen: set[str] = set()
    for cases in CASES.values():
        for c in cases:
            rng, xs = inputs_of(c, 0)
            scalar = weighed(c.f, xs, rng)
            # (+ 0 · sum(x): a constant output, as np.linalg.norm(x, 0), records too)
            recorded = TracedRule(lambda *v, f=scalar: f(*v) + 0.0 * np.sum(v[0]))
            seen.update(recorded.record(*xs).names)
    assert primitives <= seen, sorted(primitives - seen)


@pytest.mark.parametrize("c", all_cases())
def test_gradient_is_the_whole_jacobian(c: Case) -> None:
    for seed in range(POINTS):
        rng, xs = inputs_of(c, seed)
        scalar = weighed(c.f, xs, rng)
        analytic = gradients(scalar, xs)
        numeric = numerical_gradients(scalar, xs)
        for a, n in zip(analytic, numeric, strict=True):
            assert type(a) is np.ndarray
            assert_close(a, n)


@pytest.mark.parametrize("c", all_cases())
def test_forward_value_is_numpys_bit_for_bit(c: Case) -> None:
    for seed in range(POINTS):
        rng, xs = inputs_of(c, seed)
        expected = c.f(*xs)
        scalar = weighed(c.f, xs, rng)
        y, _ = pb.pullback(pb.trace(scalar), *xs)
        assert_same(scalar.seen[0], expected)
        assert y == weigh(expected, scalar.weights)


@pytest.mark.parametrize(("c", "method"), method_cases())
def test_method_spelling_is_the_function(c: Case, method: Program) -> None:
    rng, xs = inputs_of(c, 0)
    expected = c.f(*xs)
    by_method = weighed(method, xs, rng)
    pb.trace(by_method)(*xs)
    assert_same(by_method.seen[0], expected)
    by_function = gradients(Weighed(c.f, by_method.weights), xs)
    for a, b in zip(gradients(by_method, xs), by_function, strict=True):
        assert np.array_equal(a, b)


# -- second derivatives -------------------------------------------------------------------

W = np.linspace(-1.0, 1.0, 6).reshape(3, 2)
R33 = np.linspace(-1.0, 2.0, 9).reshape(3, 3)
R3 = np.array([0.5, -1.0, 2.0])

SECOND: dict[str, tuple[Callable[[Any], Any], Sampler]] = {
    "sum of squares through matmul": (lambda x: np.sum((x @ W) ** 2), normal(2, 3)),
    "matmul with itself": (lambda x: np.sum((x @ x.T) * R33[:2, :2]), normal(2, 3)),
    "matmul 1-d": (lambda x: (x @ R33) @ x, normal(3)),
    "inv": (lambda x: np.sum(np.linalg.inv(x) * R33), well_conditioned(3)),
    "det": (lambda x: np.linalg.det(x), well_conditioned(3)),
    "slogdet": (lambda x: np.linalg.slogdet(x)[1], well_conditioned(3, sign=-1.0)),
    "solve": (lambda x: np.linalg.solve(x, R3) @ R3, well_conditioned(3)),
    "cholesky": (lambda x: np.sum(np.linalg.cholesky(gram(x)) * R33), normal(3, 3)),
    "norm": (lambda x: np.linalg.norm(x), normal(2, 3)),
    "norm over an axis": (lambda x: np.linalg.norm(x, axis=0) @ R3, normal(2, 3)),
    "var": (lambda x: np.var(x, axis=0, ddof=1) @ R3, normal(4, 3)),
    "std": (lambda x: np.std(x), normal(2, 3)),
    "prod": (lambda x: np.prod(x), normal(2, 3)),
    "prod over an axis": (lambda x: np.prod(x, axis=0) @ R3, normal(2, 3)),
    "max": (lambda x: np.max(x, axis=1) @ np.max(x, axis=1), distinct(2, 3)),
    "cumsum": (lambda x: np.cumsum(x) @ np.cumsum(x), normal(3)),
    "einsum": (lambda x: np.einsum("ij,jk,ki", x, x, x), normal(3, 3)),
    "einsum summed in one operand": (lambda x: np.einsum("ij,j->", x, x[0]), normal(3, 3)),
    "tensordot": (lambda x: np.tensordot(x, x * x, axes=([1, 0], [0, 1])), normal(3, 3)),
    "dot past 2-d": (lambda x: np.sum(np.dot(np.stack([x, x * x]), x) * R33), normal(3, 3)),
    "sort": (lambda x: np.sort(x, axis=None) ** 3 @ np.arange(6.0), distinct(2, 3)),
    "repeated indices": (lambda x: np.sum(x[[0, 0, 2]] ** 3), normal(3)),
    "concatenate and split": (
        lambda x: np.prod(np.concatenate([*np.split(x, 3), x * x])),
        normal(3),
    ),
    "where": (lambda x: np.sum(np.where(x > 0, x**3, -x)), away_from([0.0], 2, 3)),
    "pad, roll, tile": (lambda x: np.sum(np.tile(np.roll(np.pad(x, 1), 1), 2) ** 3), normal(3)),
}


def numerical_hessian(f: Callable[[Any], Any], x: Array, h: float = H) -> Array:
    """5-point differences of the library's gradient, one column per element of x."""
    traced = pb.trace(f)
    out = np.zeros(x.shape + x.shape)
    for j in np.ndindex(x.shape):
        step = np.zeros_like(x)
        step[j] = 1.0

        def grad(t: float, step: Array = step) -> Array:
            return np.asarray(pb.gradient(traced, x + t * step))

        out[(Ellipsis, *j)] = five_point_array(grad, 0.0, h)
    return out


@pytest.mark.parametrize("name", sorted(SECOND))
def test_second_derivatives_against_differences_of_the_first(name: str) -> None:
    f, sample = SECOND[name]
    for seed in range(2):
        x = sample(np.random.default_rng(seed))
        assert_close(pb.gradient(pb.trace(f), x), numerical_gradients(f, [x])[0])
        hessian = pb.hessian(pb.trace(f), x)
        assert_close(hessian, numerical_hessian(f, x), rtol=1e-6, atol=1e-6)
        n = x.size
        assert_close(hessian.reshape(n, n), hessian.reshape(n, n).T, rtol=1e-9, atol=1e-9)


class Squared:
    """``weigh(f(..., x, ...))²`` as a function of input ``i`` alone: every case, nonlinear."""

    def __init__(self, scalar: Weighed, xs: Sequence[Array], i: int) -> None:
        self.scalar, self.xs, self.i = scalar, list(xs), i

    def __call__(self, x: Any) -> Any:
        v = self.scalar(*self.xs[: self.i], x, *self.xs[self.i + 1 :])
        return v * v


@pytest.mark.parametrize("c", all_cases())
def test_nested_gradients_of_every_case(c: Case) -> None:
    # A Hessian-vector product, the gradient of (gradient · u), which traces every
    # entry's derivative code again, against differences of the first gradient along u.
    rng, xs = inputs_of(c, 1)
    scalar = weighed(c.f, xs, rng)
    for i, x in enumerate(xs):
        check_hessian_vector_product(Squared(scalar, xs, i), x, rng.normal(size=x.shape))


def check_hessian_vector_product(f: Callable[[Any], Any], x: Array, u: Array) -> None:
    traced = pb.trace(f)
    hvp = pb.gradient(pb.trace(lambda v: np.sum(pb.gradient(traced, v) * u)), x)

    def along(t: float) -> Array:
        return np.asarray(pb.gradient(traced, x + t * u))

    assert_close(hvp, five_point_array(along, 0.0, H), rtol=1e-6, atol=1e-6)


THIRD: dict[str, tuple[Callable[[Any], Any], Array]] = {
    "prod at a zero": (lambda v: np.prod(v), np.array([1.5, 0.0, 2.0, -1.0])),
    "det": (lambda v: np.linalg.det(v), np.eye(3) * 3.0 + np.linspace(-0.5, 0.5, 9).reshape(3, 3)),
    "inv": (lambda v: np.sum(np.linalg.inv(v)), np.eye(2) * 2.0 + 0.25),
    "norm": (lambda v: np.linalg.norm(v), np.array([0.5, -1.0, 2.0])),
    "std": (lambda v: np.std(v), np.array([0.5, -1.0, 2.0, 0.1])),
    "cholesky": (
        lambda v: np.sum(np.linalg.cholesky(gram(v)) * R33),
        np.linspace(-1.0, 1.0, 9).reshape(3, 3),
    ),
    "max": (lambda v: np.max(v) ** 4, np.array([1.0, 2.0, 0.5])),
}


@pytest.mark.parametrize("name", sorted(THIRD))
def test_third_derivatives_along_a_direction(name: str) -> None:
    # (u·∇)³f: the derivative code of the derivative code is traced once more.
    f, x = THIRD[name]
    u = np.random.default_rng(10).normal(size=x.shape)
    first = pb.trace(f)
    second = pb.trace(lambda v: np.sum(pb.gradient(first, v) * u))
    third = pb.trace(lambda v: np.sum(pb.gradient(second, v) * u))

    def along(t: float) -> Array:
        return np.asarray(pb.gradient(second, x + t * u))

    assert_close(pb.gradient(third, x), five_point_array(along, 0.0, H), rtol=1e-6, atol=1e-7)


def test_prod_at_zeros_is_exact_at_first_and_second_order() -> None:
    x = np.array([2.0, 0.0, 3.0])
    prod = pb.trace(lambda v: np.prod(v))
    assert np.array_equal(pb.gradient(prod, x), [0.0, 6.0, 0.0])
    assert np.array_equal(pb.hessian(prod, x), [[0.0, 3.0, 0.0], [3.0, 0.0, 2.0], [0.0, 2.0, 0.0]])
    two_zeros = np.array([2.0, 0.0, 0.0, 5.0])
    assert np.array_equal(pb.gradient(prod, two_zeros), np.zeros(4))
    expected = np.zeros((4, 4))
    expected[1, 2] = expected[2, 1] = 10.0
    assert np.array_equal(pb.hessian(prod, two_zeros), expected)
    m = np.array([[2.0, 0.0, 3.0], [1.0, 2.0, 4.0]])

    def weighted_rows(v: Any) -> Any:
        return np.prod(v, axis=1) @ np.array([1.0, 2.0])

    rows = pb.trace(weighted_rows)
    assert np.array_equal(pb.gradient(rows, m), [[0.0, 6.0, 0.0], [16.0, 8.0, 4.0]])
    assert_close(pb.hessian(rows, m), numerical_hessian(weighted_rows, m))


# -- indexing ----------------------------------------------------------------------------------

X34 = normal(3, 4)

INDEXING: dict[str, Callable[[Any], Any]] = {
    "an int": lambda x: x[1],
    "two ints": lambda x: x[1, 2],
    "a negative int": lambda x: x[-1, -2],
    "slices": lambda x: x[:, 1:3],
    "steps": lambda x: x[::-1, ::2],
    "an ellipsis and a new axis": lambda x: x[..., None, 1],
    "None first": lambda x: x[None, 0],
    "repeated rows": lambda x: x[[0, 0, 2]],
    "repeated pairs": lambda x: x[[0, 0, 1], [1, 1, 3]],
    "an int array of repeats": lambda x: x[:, np.array([1, 1, 1, 0])],
    "a 2-d int array": lambda x: x[np.array([[0, 2], [2, 2]])],
    "a boolean mask": lambda x: x[np.array([[True, False, True, False]] * 3)],
    "a boolean row mask": lambda x: x[np.array([True, False, True])],
    "a mask from a comparison": lambda x: x[x > 0],
    "a slice and an int array": lambda x: x[1:, [3, 0, 3]],
    "a tuple of repeats inside the key": lambda x: x[((0, 0, 2),)],
    "a list of bools": lambda x: x[[True, False, True]],
    "iteration": lambda x: np.stack([row * (i + 1.0) for i, row in enumerate(x)]),
}


@pytest.mark.parametrize("name", sorted(INDEXING))
def test_indexing_matches_numpy_and_differences(name: str) -> None:
    f = INDEXING[name]
    for seed in range(POINTS):
        rng = np.random.default_rng(seed)
        x = X34(rng)
        scalar = weighed(f, [x], rng)
        pb.trace(scalar)(x)
        assert_same(scalar.seen[0], f(x))
        assert_close(pb.gradient(pb.trace(scalar), x), numerical_gradients(scalar, [x])[0])


def test_repeated_indices_add_their_cotangents() -> None:
    x = np.arange(5.0)
    assert np.array_equal(
        pb.gradient(pb.trace(lambda v: np.sum(v[[0, 0, 2, 0, 4, 2]])), x), [3, 0, 2, 0, 1]
    )
    m = np.zeros((2, 3))
    grad = pb.gradient(pb.trace(lambda v: np.sum(v[[1, 1], [2, 2]] * np.array([2.0, 5.0]))), m)
    assert np.array_equal(grad, [[0, 0, 0], [0, 0, 7]])
    # np.take and np.repeat index with repeats too
    assert np.array_equal(
        pb.gradient(pb.trace(lambda v: np.sum(np.take(v, [1, 1, 1]))), x), [0, 3, 0, 0, 0]
    )


def test_a_boolean_mask_is_a_constant() -> None:
    x = np.array([[-1.0, 2.0], [3.0, -4.0]])
    mask = x > 0
    grad = pb.gradient(pb.trace(lambda v: np.sum(v[v > 0] ** 2)), x)
    assert np.array_equal(grad, np.where(mask, 2 * x, 0.0))
    assert np.array_equal(pb.gradient(pb.trace(lambda v: np.sum(v * (v > 0))), x), mask * 1.0)


def test_a_traced_index_is_refused() -> None:
    with pytest.raises(TypeError, match="indexing with a traced value"):
        pb.gradient(pb.trace(lambda v: v[v[0:1]]), np.array([0.0, 1.0]))


# -- NumPy's semantics, spelled out -----------------------------------------------------------


@pytest.mark.parametrize(
    ("axis", "keepdims", "shape"),
    [
        (None, False, ()),
        (None, True, (1, 1, 1)),
        (1, False, (2, 4)),
        (-1, False, (2, 3)),
        (-3, True, (1, 3, 4)),
        ((0, 2), False, (3,)),
        ((-1, 0), True, (1, 3, 1)),
        ((), False, (2, 3, 4)),
    ],
)
def test_reduction_axes_and_keepdims_shape_the_value_and_the_gradient(
    axis: Any, keepdims: bool, shape: tuple[int, ...]
) -> None:
    x = np.random.default_rng(5).normal(size=(2, 3, 4))
    for reduce in (np.sum, np.mean, np.max, np.prod, np.var):
        expected = reduce(x, axis=axis, keepdims=keepdims)
        scalar = Weighed(lambda v, r=reduce: r(v, axis=axis, keepdims=keepdims), 1.5)
        grad = pb.gradient(pb.trace(scalar), x)
        assert_same(scalar.seen[0], expected)
        assert np.shape(expected) == shape
        assert grad.shape == x.shape
        assert_close(grad, numerical_gradients(scalar, [x])[0])


NOT_AN_AXIS: Any = 1.0


def test_ufunc_reductions_take_axis_0_of_a_float_as_numpy_does() -> None:
    for reduce in (np.sum, np.prod, np.max, np.min, np.amax, np.amin):
        for axis in (0, -1):
            scalar = Weighed(lambda v, r=reduce, a=axis: 3.0 * r(v, axis=a), 1.0)
            assert pb.gradient(pb.trace(scalar), 1.5) == 3.0
            assert_same(scalar.seen[0], 3.0 * reduce(1.5, axis=axis))
    with pytest.raises(np.exceptions.AxisError):
        pb.trace(lambda v: np.mean(v, axis=0))(1.5)
    with pytest.raises(np.exceptions.AxisError):
        pb.trace(lambda v: np.sum(v, axis=(0,)))(1.5)


def test_bad_axes_are_numpys_errors() -> None:
    x = np.ones((2, 3))
    with pytest.raises(np.exceptions.AxisError):
        pb.trace(lambda v: np.sum(v, axis=2))(x)
    with pytest.raises(ValueError, match="repeated axis"):
        pb.trace(lambda v: np.sum(v, axis=(1, -1)))(x)
    with pytest.raises(TypeError, match="axis must be an int"):
        pb.trace(lambda v: np.max(v, axis=NOT_AN_AXIS))(x)


@pytest.mark.parametrize("ddof", [0, 1, 2])
def test_ddof_divides_by_n_minus_ddof(ddof: int) -> None:
    x = np.random.default_rng(6).normal(size=(3, 5))
    for f in (np.var, np.std):
        spread = Weighed(lambda v, f=f: f(v, axis=1, ddof=ddof), 1.0)
        pb.trace(spread)(x)
        assert_same(spread.seen[0], f(x, axis=1, ddof=ddof))
    centred = x - x.mean(axis=1, keepdims=True)
    grad = pb.gradient(pb.trace(lambda v: np.sum(np.var(v, axis=1, ddof=ddof))), x)
    assert_close(grad, 2 * centred / (5 - ddof), rtol=1e-12, atol=1e-14)


def test_matmul_shapes_follow_numpy() -> None:
    rng = np.random.default_rng(7)
    shapes_ = [
        ((4,), (4, 2), (2,)),
        ((3, 4), (4,), (3,)),
        ((4,), (4,), ()),
        ((2, 3, 4), (4, 5), (2, 3, 5)),
        ((2, 1, 3, 4), (3, 4, 2), (2, 3, 3, 2)),
        ((5, 4), (2, 4, 1), (2, 5, 1)),
    ]
    for sa, sb, sy in shapes_:
        a, b = rng.normal(size=sa), rng.normal(size=sb)
        scalar = weighed(lambda u, v: u @ v, [a, b], rng)
        ga, gb = pb.gradient(pb.trace(scalar), a, b)
        assert_same(scalar.seen[0], a @ b)
        assert np.shape(scalar.seen[0]) == sy and ga.shape == sa and gb.shape == sb
        na, nb = numerical_gradients(scalar, [a, b])
        assert_close(ga, na)
        assert_close(gb, nb)


def test_einsum_implicit_output_is_numpys() -> None:
    rng = np.random.default_rng(8)
    a, b = rng.normal(size=(2, 3)), rng.normal(size=(3, 2))
    for spec in ("ij,jk", "ij,jk->ik", "ba", "ij,ji", "ij,ij", "ij,jk->ki", "i,j"):
        operands = (a, b) if "," in spec else (a,)
        if spec == "ij,ij":
            operands = (a, a)
        if spec == "i,j":
            operands = (a[0], b[0])
        scalar = weighed(lambda *v, s=spec: np.einsum(s, *v), operands, rng)
        pb.trace(scalar)(*operands)
        assert_same(scalar.seen[0], np.einsum(spec, *operands))
        for g, n in zip(
            gradients(scalar, list(operands)), numerical_gradients(scalar, operands), strict=True
        ):
            assert_close(g, n)


def test_einsum_refuses_what_it_cannot_differentiate() -> None:
    x = np.ones((3, 3))
    with pytest.raises(TypeError, match="repeats an index"):
        pb.trace(lambda v: np.einsum("ii", v))(x)
    with pytest.raises(TypeError, match="an ellipsis whose dimensions broadcast"):
        pb.trace(lambda v: np.sum(np.einsum("...i,...i", v, v[:1])))(x)
    with pytest.raises(ValueError, match=r"no '\.\.\.' ellipsis provided"):
        pb.trace(lambda v: np.sum(np.einsum("...i->i", v[None])))(x)


def test_split_gives_a_list_of_traced_pieces() -> None:
    x = np.arange(6.0)
    pieces: list[Any] = []

    def f(v: Any) -> Any:
        parts = np.split(v, [1, 4])
        pieces.extend(parts)
        return np.sum(parts[0]) + 2.0 * np.sum(parts[1]) + 3.0 * np.sum(parts[2])

    assert np.array_equal(pb.gradient(pb.trace(f), x), [1, 2, 2, 2, 3, 3])
    assert [np.shape(p) for p in pieces] == [(1,), (3,), (2,)]
    assert all(is_traced(p) for p in pieces)
    with pytest.raises(ValueError, match="equal division"):
        pb.trace(lambda v: np.split(v, 4)[0][0])(x)
    assert [np.shape(p) for p in np.array_split(x, 4)] == [(2,), (2,), (1,), (1,)]


def test_cholesky_gradient_is_the_symmetric_part() -> None:
    rng = np.random.default_rng(9)
    a = gram(rng.normal(size=(3, 3)))
    r = rng.normal(size=(3, 3))
    grad = pb.gradient(pb.trace(lambda v: np.sum(np.linalg.cholesky(v) * r)), a)
    assert_close(grad, grad.T, rtol=1e-12, atol=1e-12)
    for _ in range(3):
        e = rng.normal(size=(3, 3))
        e = e + e.T  # a symmetric direction: a stays symmetric

        def along(t: float, e: Array = e) -> float:
            return float(np.sum(np.linalg.cholesky(a + t * e) * r))

        assert np.sum(grad * e) == pytest.approx(five_point(along, 0.0, H), rel=1e-7)


# -- edges -------------------------------------------------------------------------------------


def test_norm_of_the_zero_vector_has_gradient_zero() -> None:
    for f in (
        lambda v: np.linalg.norm(v),
        lambda v: np.linalg.norm(v, 2),
        lambda v: np.linalg.norm(v, None, None, keepdims=True)[0],
    ):
        grad = pb.gradient(pb.trace(f), np.zeros(3))
        assert np.array_equal(grad, np.zeros(3)) and not np.isnan(grad).any()
    m = np.array([[0.0, 0.0], [3.0, 4.0]])
    grad = pb.gradient(pb.trace(lambda v: np.sum(np.linalg.norm(v, axis=1))), m)
    assert np.array_equal(grad, [[0.0, 0.0], [0.6, 0.8]])
    assert np.array_equal(
        pb.gradient(pb.trace(lambda v: np.linalg.norm(v)), np.zeros((2, 2))), np.zeros((2, 2))
    )


def test_ties_of_max_and_min_share_the_cotangent_equally() -> None:
    x = np.array([2.0, 1.0, 2.0])
    for f in (np.max, np.amax):
        assert np.array_equal(pb.gradient(pb.trace(Weighed(f, 1.0)), x), [0.5, 0.0, 0.5])
    assert np.array_equal(pb.gradient(pb.trace(lambda v: v.max()), x), [0.5, 0.0, 0.5])
    y = np.array([1.0, 1.0, 1.0, 3.0])
    for f in (np.min, np.amin):
        third = 1.0 / 3.0
        assert np.array_equal(pb.gradient(pb.trace(Weighed(f, 1.0)), y), [third] * 3 + [0.0])
    m = np.array([[1.0, 5.0, 5.0], [0.0, 0.0, -1.0]])
    grad = pb.gradient(pb.trace(lambda v: np.max(v, axis=1) @ np.array([2.0, 3.0])), m)
    assert np.array_equal(grad, [[0.0, 1.0, 1.0], [1.5, 1.5, 0.0]])
    m[0, 1] = 0.0
    grad = pb.gradient(pb.trace(lambda v: np.sum(np.min(v, axis=0, keepdims=True))), m)
    assert np.array_equal(grad, [[0.0, 0.5, 0.0], [1.0, 0.5, 1.0]])


def test_slogdet_sign_where_det_underflows() -> None:
    a = 1e-3 * np.eye(120)
    a[0, 0] = -1e-3
    seen: list[Any] = []

    def f(v: Any) -> Any:
        sign, logabsdet = np.linalg.slogdet(v)
        seen.append(sign)
        return logabsdet

    y, back = pb.pullback(pb.trace(f), a)
    assert np.linalg.det(a) == 0.0  # what sign(det) would read
    assert seen == [-1.0] and y == np.linalg.slogdet(a)[1]
    assert_close(back(1.0), np.linalg.inv(a).T, rtol=1e-12, atol=0.0)


def test_nan_to_num_has_no_gradient_where_it_replaced() -> None:
    x = np.array([1.5, np.nan, np.inf, -np.inf, -2.0])
    seen: list[Any] = []

    def f(v: Any) -> Any:
        out = np.nan_to_num(v, posinf=7.0)
        seen.append(plain(out))
        return np.sum(out * np.arange(1.0, 6.0))

    assert np.array_equal(pb.gradient(pb.trace(f), x), [1.0, 0.0, 0.0, 0.0, 5.0])
    assert_same(seen[0], np.nan_to_num(x, posinf=7.0))


# -- what traced code refuses, and what it gives as constants ---------------------------------


def run(f: Callable[[Any], Any]) -> Any:
    return pb.gradient(pb.trace(f), np.array([1.0, 2.0, 3.0]))


def in_place_add(v: Any) -> Any:
    v += 1
    return np.sum(v)


def assign(v: Any) -> Any:
    v[0] = 1.0
    return np.sum(v)


@pytest.mark.parametrize(
    ("f", "message"),
    [
        (lambda v: v.item(), r"x\.item\(\)"),
        (assign, r"x\[\.\.\.\] = v"),
        (in_place_add, r"x \+= y"),
        (lambda v: np.sum(v, out=np.zeros(())), r"np\.sum: out="),
        (lambda v: np.sum(np.linalg.eigvals(np.outer(v, v))), r"np\.linalg\.eigvals"),
        (lambda v: np.sum(np.array([v[0], v[1]])), r"np\.stack"),
        (lambda v: np.sum(np.asarray(v)), r"np\.asarray"),
        (lambda v: np.sum(np.unwrap(v)), r"np\.unwrap"),
        (lambda v: np.linalg.norm(np.outer(v, v), ord=2), r"ord=2 over 2 axes"),
        (lambda v: np.sum(np.reshape(v, (3, 1), order="F")), r"order='C'"),
        (lambda v: np.sum(np.stack([v, v], out=np.zeros((2, 3)))), r"np\.stack: out="),
        (lambda v: np.sum(np.nan_to_num(v, copy=False)), r"np\.nan_to_num: copy=False"),
    ],
)
def test_refused_with_a_message_naming_the_call(f: Callable[[Any], Any], message: str) -> None:
    with pytest.raises(TypeError, match=message):
        run(f)


def test_comparisons_in_either_order_are_plain_bool_arrays() -> None:
    x = np.array([1.0, 2.0, 3.0])
    c = np.array([2.0, 2.0, 2.0])
    seen: list[Any] = []

    def f(v: Any) -> Any:
        seen.extend([c < v, v < c, v >= 2.0, 2.0 < v, np.less(v, c), v == c])  # noqa: SIM300
        return np.sum(v)

    pb.trace(f)(x)
    expected = [x > c, x < c, x >= 2.0, x > 2.0, x < c, x == c]
    for got, want in zip(seen, expected, strict=True):
        assert type(got) is np.ndarray and got.dtype == np.bool_
        assert np.array_equal(got, want)


def test_argmax_and_argsort_are_plain_integers() -> None:
    x = np.array([[3.0, 1.0, 2.0], [0.0, 5.0, 4.0]])
    seen: list[Any] = []

    def f(v: Any) -> Any:
        seen.extend([np.argmax(v), np.argmin(v, axis=1), np.argsort(v), v.argmax(axis=0)])
        return np.sum(v[np.arange(2), np.argmax(v, axis=1)])

    grad = pb.gradient(pb.trace(f), x)
    assert isinstance(seen[0], np.integer) and seen[0] == 4
    for got, want in zip(
        seen[1:], [np.argmin(x, axis=1), np.argsort(x), x.argmax(axis=0)], strict=True
    ):
        assert type(got) is np.ndarray and got.dtype.kind == "i" and np.array_equal(got, want)
    assert np.array_equal(grad, [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])


# -- random traced programs -------------------------------------------------------------------

Step = tuple[str, Any]
REDUCTIONS: dict[str, Callable[..., Any]] = {
    "sum": np.sum,
    "mean": np.mean,
    "prod": np.prod,
    "max": np.max,
    "var": np.var,
}


def run_step(step: Step, v: Any) -> Any:
    name, params = step
    if name in REDUCTIONS:
        axis, keepdims = params
        return REDUCTIONS[name](v, axis=axis, keepdims=keepdims)
    if name == "reshape":
        return np.reshape(v, params)
    if name == "transpose":
        return np.transpose(v, params)
    if name == "matmul right":
        return v @ params
    assert name == "matmul left"
    return params @ v


@st.composite
def steps_on(draw: st.DrawFn, shape: tuple[int, ...]) -> Step:
    ndim = len(shape)
    size = int(np.prod(shape, dtype=np.int64))
    kinds = ["reshape"] if ndim == 0 else [*REDUCTIONS, "reshape", "transpose", "matmul right"]
    if ndim >= 1:
        kinds.append("matmul left")
    kind = draw(st.sampled_from(kinds))
    if kind in REDUCTIONS:
        axes = draw(st.lists(st.integers(-ndim, ndim - 1), unique_by=lambda a: a % ndim))
        axis: Any = draw(st.sampled_from([None, tuple(axes), *(axes[:1])]))
        return kind, (axis, draw(st.booleans()))
    if kind == "reshape":
        divisors = [d for d in range(1, size + 1) if size % d == 0]
        d = draw(st.sampled_from(divisors))
        return kind, draw(st.sampled_from([(size,), (d, -1), (1, d, size // d), (size // d, d)]))
    if kind == "transpose":
        return kind, tuple(draw(st.permutations(range(ndim))))
    seed = draw(st.integers(0, 2**16))
    k = draw(st.integers(1, 3))
    rng = np.random.default_rng(seed)
    if kind == "matmul right":
        return kind, rng.normal(size=(shape[-1], k))
    return kind, rng.normal(size=(k, shape[-2] if ndim >= 2 else shape[0]))


@st.composite
def programs(draw: st.DrawFn) -> tuple[tuple[int, ...], list[Step]]:
    shape = tuple(draw(st.lists(st.integers(1, 4), min_size=1, max_size=3)))
    steps: list[Step] = []
    current: Any = np.zeros(shape)
    for _ in range(draw(st.integers(2, 4))):
        step = draw(steps_on(np.shape(current)))
        steps.append(step)
        current = run_step(step, current)
    return shape, steps


def clear_maxima(steps: list[Step], x: Array) -> bool:
    """No max step has a runner-up within 0.05 (finite differences would cross a kink)."""
    v: Any = x
    for step in steps:
        if step[0] == "max":
            axis, _ = step[1]
            top = np.max(v, axis=axis, keepdims=True)
            if np.any(np.sum(v >= top - 0.05, axis=axis) > 1):
                return False
        v = run_step(step, v)
    return True


@settings(max_examples=60, deadline=None)
@given(programs(), st.integers(0, 2**16))
def test_random_programs_match_finite_differences(
    program: tuple[tuple[int, ...], list[Step]], seed: int
) -> None:
    shape, steps = program
    rng = np.random.default_rng(seed)
    x = rng.normal(size=shape)
    assume(clear_maxima(steps, x))

    def f(v: Any) -> Any:
        for step in steps:
            v = run_step(step, v)
        return v

    scalar = weighed(f, [x], rng)
    grad = pb.gradient(pb.trace(scalar), x)
    assert_same(scalar.seen[0], f(x))
    numeric = numerical_gradients(scalar, [x])[0]
    scale = max(1.0, float(np.max(np.abs(numeric))))
    assert_close(grad, numeric, rtol=1e-6, atol=1e-7 * scale)


FLOAT_PROGRAMS: dict[str, Callable[[Any], Any]] = {
    "flip": lambda v: np.flip(v),
    "pad": lambda v: np.pad(v, 1),
    "roll": lambda v: np.roll(v, 1),
    "squeeze": lambda v: np.squeeze(v),
    "ravel": lambda v: np.ravel(v),
    "tile": lambda v: np.tile(v, 3),
    "repeat": lambda v: np.repeat(v, 2),
    "take": lambda v: np.take(v, 0),
    "transpose": lambda v: np.transpose(v),
    "atleast_1d": lambda v: np.atleast_1d(v),
    "atleast_2d": lambda v: np.atleast_2d(v),
    "atleast_3d": lambda v: np.atleast_3d(v),
    "expand_dims": lambda v: np.expand_dims(v, 0),
    "broadcast_to": lambda v: np.broadcast_to(v, (2, 2)),
    "reshape": lambda v: np.reshape(v, (1, 1)),
    "stack": lambda v: np.stack([v, 2.0 * v]),
    "hstack": lambda v: np.hstack([v, v]),
    "append": lambda v: np.append(v, 2.0),
    "cumsum": lambda v: np.cumsum(v),
    "sum, axis 0": lambda v: np.sum(v, axis=0),
    "max": lambda v: np.max(v),
    "norm": lambda v: np.linalg.norm(v),
    "outer": lambda v: np.outer(v, [1.0, 2.0]),
    "kron": lambda v: np.kron(v, np.ones((2, 1))),
    "dot": lambda v: np.dot(v, np.ones(2)),
}


@pytest.mark.parametrize("name", sorted(FLOAT_PROGRAMS))
def test_float_inputs_follow_numpys_0_d_semantics(name: str) -> None:
    f = FLOAT_PROGRAMS[name]
    x = -1.5
    scalar = weighed(f, [np.asarray(x)], np.random.default_rng(0))
    grad = pb.gradient(pb.trace(scalar), x)
    assert_same(scalar.seen[0], f(x))
    assert type(grad) is float
    assert grad == pytest.approx(five_point(scalar, x, H), rel=1e-9, abs=1e-12)


def test_prod_over_an_empty_axis_is_one_with_no_gradient() -> None:
    x = np.ones((2, 0))
    scalar = Weighed(lambda v: np.prod(v, axis=1), np.array([2.0, 3.0]))
    y, back = pb.pullback(pb.trace(scalar), x)
    assert y == 5.0 and back(1.0).shape == (2, 0)
    assert_same(scalar.seen[0], np.ones(2))


def test_numpys_argument_errors() -> None:
    x = np.ones((2, 3))
    with pytest.raises(ValueError, match="order must be non-negative"):
        pb.trace(lambda v: np.sum(np.diff(v, n=-1)))(x)
    with pytest.raises(ValueError, match="ddof and correction"):
        pb.trace(lambda v: np.var(v, ddof=1, correction=1))(x)
    with pytest.raises(ValueError, match="equal division"):
        pb.trace(lambda v: np.sum(np.split(v, 2, axis=1)[0]))(x)
