"""The families beside ``test_table_arrays``' three, walked as it walks its tables: statistics
(cumprod, average, ptp, the nan-skipping reductions, median, quantiles), spectral decompositions
(eigh, eigvalsh, svd, pinv), chained products (matrix_power, multi_dot, vdot), and the reductions'
``where=`` and ``initial=``.

Each program is checked the same four ways: its whole Jacobian against 5-point
central differences of NumPy's own function, its traced value against NumPy's
bit for bit, its method spelling, and a Hessian-vector product against
differences of the gradient. Then the edges: zeros in a running product, nan
in the nan-skipping family and in order statistics, equal eigenvalues, the
errors NumPy gives.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import pullback as pb
from pullback._table import FUNCTIONS
from pullback._table.ufunc_composites import UFUNC_COMPOSITES

from . import test_table_arrays as arrays
from .helpers import five_point
from .test_table_arrays import Array, Case, Sampler, case, distinct, gram, well_conditioned

MASK = np.array([[True, False, True, True], [False, True, True, True], [True, True, False, True]])
ROW_MASK = np.array([True, False, True, True])
WEIGHTS = np.array([1.0, 2.0, 0.5, 3.0])
NO_RTOL: Any = None  # pinv's rtol=None: NumPy's default cutoff (its stubs do not take None)


def with_zeros(*shape: int) -> Sampler:
    """Normal entries with two of them exactly 0 (where y/x would be 0/0)."""

    def sample(rng: np.random.Generator) -> Array:
        x = rng.normal(size=shape).ravel()
        x[rng.choice(x.size, 2, replace=False)] = 0.0
        return x.reshape(shape)

    return sample


def with_nans(*shape: int) -> Sampler:
    """Distinct entries with two of them nan, never a whole row or column."""

    def sample(rng: np.random.Generator) -> Array:
        x = distinct(*shape)(rng)
        x[0, 1] = x[-1, -1] = np.nan
        return x

    return sample


def mantissas(*shape: int) -> Sampler:
    """±[0.55, 0.95]·2^k: away from the powers of two, where frexp's mantissa jumps."""

    def sample(rng: np.random.Generator) -> Array:
        m = rng.uniform(0.55, 0.95, size=shape) * rng.choice([-1.0, 1.0], size=shape)
        return np.asarray(np.ldexp(m, rng.integers(-3, 4, size=shape)), dtype=np.float64)

    return sample


NOT_WHOLE = arrays.away_from([float(k) for k in range(-4, 5)], 5)


def positive(*shape: int) -> Sampler:
    """Entries in [0.5, 2]: weights that do not sum to zero."""

    def sample(rng: np.random.Generator) -> Array:
        return rng.uniform(0.5, 2.0, size=shape)

    return sample


def separated(*shape: int) -> Sampler:
    """Matrices near diag(k, ..., 2, 1) (rectangular): singular values 1 apart, none near 0.

    Where two singular values are close, the SVD's vectors turn fast (1/(s_j² - s_i²)),
    and differences of step 1e-3 lose their digits; these stay well away.
    """

    def sample(rng: np.random.Generator) -> Array:
        m, n = shape[-2:]
        k = min(m, n)
        base = np.zeros((m, n))
        base[range(k), range(k)] = np.arange(k, 0, -1) + 0.5
        return base + rng.normal(size=shape) * 0.15

    return sample


WINDOWS = np.lib.stride_tricks.sliding_window_view
XP = np.array([-1.0, 0.0, 0.5, 2.0])  # interp's breakpoints


def conv(x: Any, w: Any) -> Any:
    """A convolution layer (N, C, H, W) * (F, C, 3, 3), padding 1, stride 1: a functional im2col."""
    cols = WINDOWS(np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1))), (3, 3), axis=(2, 3))
    return np.einsum("nchwij,fcij->nfhw", cols, w)


def max_pool(x: Any) -> Any:
    """2 x 2 max pooling, stride 2."""
    return np.max(WINDOWS(x, (2, 2), axis=(2, 3))[:, :, ::2, ::2], axis=(-2, -1))


CASES: dict[Any, list[Case]] = {
    np.cumprod: [
        case(lambda x: np.cumprod(x), (3, 4), methods=[lambda x: x.cumprod()]),
        case(lambda x: np.cumprod(x, axis=1), (3, 4), methods=[lambda x: x.cumprod(axis=1)]),
        case(lambda x: np.cumprod(x, axis=-2), (3, 2, 2)),
        case(lambda x: np.cumprod(x, axis=0), with_zeros(4, 3)),
        case(lambda x: np.cumprod(x), with_zeros(2, 3)),
    ],
    np.average: [
        case(lambda x: np.average(x), (3, 4)),
        case(lambda x: np.average(x, axis=1, weights=WEIGHTS), (3, 4)),
        case(lambda x: np.average(x, axis=0, weights=WEIGHTS[:3], keepdims=True), (3, 4)),
        case(lambda x, w: np.average(x, weights=w), (3, 4), positive(3, 4)),
        case(lambda x, w: np.average(x, axis=(0, 1), weights=w), (2, 3, 2), positive(2, 3)),
        case(lambda x, w: np.average(x, axis=1, weights=w, returned=True), (3, 4), positive(4)),
        case(lambda x: np.average(x, axis=1, returned=True), (3, 4)),
    ],
    np.ptp: [
        case(lambda x: np.ptp(x), distinct(3, 4)),
        case(lambda x: np.ptp(x, axis=1, keepdims=True), distinct(3, 4)),
    ],
    np.nansum: [
        case(lambda x: np.nansum(x), with_nans(3, 4)),
        case(lambda x: np.nansum(x, axis=0, keepdims=True), with_nans(3, 4)),
    ],
    np.nanprod: [case(lambda x: np.nanprod(x, axis=1), with_nans(3, 4))],
    np.nanmean: [
        case(lambda x: np.nanmean(x), with_nans(3, 4)),
        case(lambda x: np.nanmean(x, axis=1), with_nans(3, 4)),
    ],
    np.nanmax: [case(lambda x: np.nanmax(x, axis=0), with_nans(3, 4))],
    np.nanmin: [case(lambda x: np.nanmin(x), with_nans(3, 4))],
    np.nanvar: [
        case(lambda x: np.nanvar(x, axis=1), with_nans(3, 4)),
        case(lambda x: np.nanvar(x, ddof=1), with_nans(3, 4)),
    ],
    np.nanstd: [
        case(lambda x: np.nanstd(x, axis=0, keepdims=True), with_nans(4, 3)),
        case(lambda x: np.nanstd(x, axis=1, correction=1), with_nans(4, 3)),
    ],
    np.median: [
        case(lambda x: np.median(x), distinct(3, 4)),
        case(lambda x: np.median(x, axis=0), distinct(3, 4)),
        case(lambda x: np.median(x, axis=1), distinct(3, 4)),
        case(lambda x: np.median(x, axis=(0, 2), keepdims=True), distinct(3, 2, 3)),
    ],
    np.quantile: [
        case(lambda x: np.quantile(x, 0.3), distinct(3, 4)),
        case(lambda x: np.quantile(x, [0.0, 0.1, 0.5, 0.77, 1.0], axis=1), distinct(3, 4)),
        case(lambda x: np.quantile(x, [0.25, 0.9], axis=0, keepdims=True), distinct(3, 4)),
        case(lambda x: np.quantile(x, np.array([[0.2], [0.6]]), axis=-1), distinct(2, 5)),
    ],
    np.percentile: [
        case(lambda x: np.percentile(x, 37.5, axis=1), distinct(3, 4)),
        case(lambda x: np.percentile(x, [10, 90]), distinct(3, 4)),
    ],
    # -- spectral (symmetric inputs through gram: its gradient is the symmetric part)
    np.linalg.eigh: [
        case(lambda x: np.linalg.eigh(gram(x)), (3, 3)),
        case(lambda x: np.linalg.eigh(gram(x), UPLO="U").eigenvectors ** 2, (3, 3)),
        case(lambda x: np.linalg.eigh(gram(x)), (2, 3, 3)),
    ],
    np.linalg.eigvalsh: [
        case(lambda x: np.linalg.eigvalsh(gram(x)), (3, 3)),
        case(lambda x: np.linalg.eigvalsh(gram(x), UPLO="U"), (2, 3, 3)),
    ],
    np.linalg.svd: [
        case(lambda x: np.linalg.svd(x), separated(3, 3)),
        case(lambda x: np.linalg.svd(x, full_matrices=False), separated(4, 2)),
        case(lambda x: np.linalg.svd(x, full_matrices=False), separated(2, 4)),
        case(lambda x: np.linalg.svd(x, full_matrices=False).U, separated(2, 3, 2)),
        case(lambda x: np.linalg.svd(x, compute_uv=False), separated(3, 4)),
        case(lambda x: np.linalg.svd(x, compute_uv=False), separated(2, 4, 3)),
    ],
    np.linalg.pinv: [
        case(lambda x: np.linalg.pinv(x), separated(3, 2)),
        case(lambda x: np.linalg.pinv(x, rtol=NO_RTOL), separated(2, 4)),
        case(lambda x: np.linalg.pinv(x, rcond=1e-10), separated(2, 3, 3)),
    ],
    # -- chained products
    np.linalg.matrix_power: [
        case(lambda x: np.linalg.matrix_power(x, 0) * x, (3, 3)),
        case(lambda x: np.linalg.matrix_power(x, 1), (3, 3)),
        case(lambda x: np.linalg.matrix_power(x, 3), (3, 3)),
        case(lambda x: np.linalg.matrix_power(x, 7), (2, 3, 3)),
        case(lambda x: np.linalg.matrix_power(x, -2), well_conditioned(3)),
    ],
    np.linalg.multi_dot: [
        case(lambda a, b: np.linalg.multi_dot([a, b]), (3, 4), (4, 2)),
        case(lambda a, b, c: np.linalg.multi_dot([a, b, c]), (3, 4), (4, 2), (2, 5)),
        case(lambda a, b, c: np.linalg.multi_dot([a, b, c]), (5, 2), (2, 4), (4, 3)),
        case(lambda a, b, c, d: np.linalg.multi_dot([a, b, c, d]), (3, 4), (4, 2), (2, 5), (5, 2)),
        case(lambda a, b, c, d: np.linalg.multi_dot([a, b, c, d]), (4,), (4, 2), (2, 5), (5,)),
        case(lambda a, b, c: np.linalg.multi_dot([a, b, c]), (4,), (4, 2), (2, 5)),
    ],
    np.vdot: [
        case(lambda a, b: np.vdot(a, b), (2, 3), (3, 2)),
        case(lambda a, b: np.vdot(a, b), (4,), (4,)),
    ],
    # -- sliding windows: the functional im2col of convolution and pooling layers
    np.lib.stride_tricks.sliding_window_view: [
        case(lambda x: WINDOWS(x, 3), (6,)),
        case(lambda x: WINDOWS(x, (2, 3)), (4, 5)),
        case(lambda x: WINDOWS(x, 2, axis=1), (3, 4)),
        case(lambda x: WINDOWS(x, (2, 3), axis=(-1, 0)), (4, 5)),
        case(lambda x: WINDOWS(x, (3, 3), axis=(2, 3))[:, :, ::2, ::2], (2, 1, 6, 6)),
        case(conv, (2, 2, 4, 4), (3, 2, 3, 3)),
        case(max_pool, distinct(1, 2, 4, 4)),
    ],
    # -- arrangements
    np.fliplr: [case(lambda x: np.fliplr(x), (3, 4))],
    np.flipud: [case(lambda x: np.flipud(x), (3, 4))],
    np.rot90: [
        case(lambda x: np.rot90(x), (3, 4)),
        case(lambda x: np.rot90(x, 2), (3, 4)),
        case(lambda x: np.rot90(x, -1), (3, 4)),
        case(lambda x: np.rot90(x, 4) * 2.0, (3, 4)),
        case(lambda x: np.rot90(x, 1, axes=(2, 0)), (2, 3, 4)),
    ],
    np.column_stack: [case(lambda a, b: np.column_stack([a, b]), (3,), (3, 2))],
    np.dstack: [case(lambda a, b: np.dstack([a, b]), (3, 2), (3, 2))],
    np.hsplit: [
        case(lambda x: np.hsplit(x, 2)[1], (3, 4)),
        case(lambda x: np.hsplit(x, [1, 3])[1], (5,)),
    ],
    np.vsplit: [case(lambda x: np.vsplit(x, [1])[1], (3, 4))],
    np.dsplit: [case(lambda x: np.dsplit(x, 2)[0], (2, 3, 4))],
    np.delete: [
        case(lambda x: np.delete(x, [0, 2], axis=1), (3, 4)),
        case(lambda x: np.delete(x, 5), (3, 4)),
        case(lambda x: np.delete(x, slice(0, 3, 2), axis=0), (3, 4)),
    ],
    np.ediff1d: [
        case(lambda x: np.ediff1d(x), (3, 4)),
        case(lambda x: np.ediff1d(x, to_begin=[1.0], to_end=x[0, :2]), (3, 4)),
    ],
    np.select: [
        case(
            lambda x: np.select([x > 0.5, x < -0.5], [x**2, -x], default=0.1),
            arrays.away_from([0.5, -0.5], 3, 4),
        )
    ],
    np.real: [case(lambda x: np.real(x) * 2.0, (3,))],
    np.imag: [case(lambda x: np.imag(x) + x, (3,))],
    np.apply_along_axis: [
        case(lambda x: np.apply_along_axis(lambda r: np.sum(r**2), 1, x), (3, 4)),
        case(lambda x: np.apply_along_axis(np.cumsum, 0, x), (3, 4)),
        case(lambda x: np.apply_along_axis(lambda r: np.outer(r, r), 1, x), (2, 3, 2)),
    ],
    # -- numerical calculus and signals
    np.trapezoid: [
        case(lambda y: np.trapezoid(y), (5,)),
        case(lambda y: np.trapezoid(y, dx=0.3, axis=0), (5, 2)),
        case(lambda y, x: np.trapezoid(y, x), (5,), (5,)),
        case(lambda y, x: np.trapezoid(y, x, axis=0), (5, 2), (5, 2)),
    ],
    np.polyval: [
        case(lambda p, x: np.polyval(p, x), (4,), (3,)),
        case(lambda p: np.polyval(p, 0.7), (3,)),
    ],
    np.interp: [
        case(lambda x, fp: np.interp(x, XP, fp), arrays.away_from(list(XP), 7), (4,)),
        case(
            lambda x, fp: np.interp(x, XP, fp, left=-3.0, right=fp[1]),
            arrays.away_from(list(XP), 7),
            (4,),
        ),
    ],
    np.convolve: [
        case(lambda a, v: np.convolve(a, v), (6,), (3,)),
        case(lambda a, v: np.convolve(a, v, mode="same"), (6,), (4,)),
        case(lambda a, v: np.convolve(a, v, mode="valid"), (6,), (3,)),
        case(lambda a, v: np.convolve(a, v), (3,), (6,)),
    ],
    np.correlate: [
        case(lambda a, v: np.correlate(a, v), (6,), (3,)),
        case(lambda a, v: np.correlate(a, v, "full"), (6,), (3,)),
        case(lambda a, v: np.correlate(a, v, "same"), (7,), (4,)),
        case(lambda a, v: np.correlate(a, v), (3,), (6,)),
    ],
    np.cov: [
        case(lambda x: np.cov(x), (3, 6)),
        case(lambda x: np.cov(x), (6,)),
        case(lambda x: np.cov(x, rowvar=False, bias=True), (6, 3)),
        case(lambda x, y: np.cov(x, y), (6,), (6,)),
    ],
    np.corrcoef: [
        case(lambda x: np.corrcoef(x), (3, 6)),
        case(lambda x: np.corrcoef(x), (6,)),
    ],
    # -- ufuncs written with entries
    np.divmod: [case(lambda a, b: np.divmod(a, b), NOT_WHOLE, positive(5))],
    np.modf: [case(lambda x: np.modf(x), NOT_WHOLE)],
    np.frexp: [case(lambda x: np.frexp(x)[0] + np.frexp(x)[1], mantissas(5))],
    np.copysign: [
        case(lambda a, b: np.copysign(a, b), (5,), (5,)),
        case(lambda a, b: np.copysign(a, b), (2, 3), (3,)),
    ],
    np.ldexp: [
        case(lambda x: np.ldexp(x, np.array([1, -2, 3, 0, 5])), (5,)),
        case(lambda x: np.ldexp(x, np.array([[3], [-2]])), (2, 3)),
        case(lambda x: np.ldexp(x, 60), (3,)),
    ],
    np.conjugate: [case(lambda x: np.conjugate(x) * x, (5,))],
    np.heaviside: [
        case(lambda x, h: np.heaviside(x, h) * x + h, arrays.away_from([0.0], 5), (5,)),
        case(lambda h: np.heaviside(np.array([0.0, 1.0, -1.0, 0.0]), h), (4,)),
    ],
    np.vecdot: [
        case(lambda a, b: np.vecdot(a, b), (3, 4), (3, 4)),
        case(lambda a, b: np.vecdot(a, b, axis=0), (3, 4), (3, 1)),  # type: ignore[call-overload]
    ],
    np.matvec: [case(lambda a, b: np.matvec(a, b), (2, 3, 4), (4,))],
    np.vecmat: [case(lambda a, b: np.vecmat(a, b), (3,), (2, 3, 4))],
}
"""One list per function of the families."""

OPTIONS: list[Case] = [
    case(lambda x: np.sum(x, axis=1, where=MASK), (3, 4)),
    case(lambda x: np.sum(x, where=MASK), (3, 4), methods=[lambda x: x.sum(where=MASK)]),
    case(lambda x: np.sum(x, axis=0, where=ROW_MASK, keepdims=True), (3, 4)),
    case(lambda x: np.sum(x, axis=0, initial=2.5), (3, 4)),
    case(lambda x: np.sum(x, initial=-1.0, where=MASK), (3, 4)),
    case(lambda x: np.prod(x, axis=1, where=MASK), (3, 4)),
    case(lambda x: np.max(x, axis=1, where=MASK, initial=-5.0), distinct(3, 4)),
    case(lambda x: x.min(axis=0, where=MASK, initial=9.0), distinct(3, 4)),
    case(lambda x: np.mean(x, axis=1, where=MASK), (3, 4)),
    case(lambda x: np.mean(x, where=MASK), (3, 4), methods=[lambda x: x.mean(where=MASK)]),
    case(lambda x: np.mean(x, axis=0, where=MASK, keepdims=True), (3, 4)),
    case(lambda x: np.var(x, axis=1, where=MASK), (3, 4)),
    case(lambda x: np.var(x, where=MASK, ddof=1), (3, 4)),
    case(lambda x: np.std(x, axis=1, where=MASK, keepdims=True), (3, 4)),
    # einsum's ellipsis, spelled out as letters of its own
    case(lambda a, b: np.einsum("...i,...i", a, b), (2, 3), (2, 3)),
    case(lambda a, b: np.einsum("...ij,...jk->...ik", a, b), (2, 3, 4), (2, 4, 2)),
    case(lambda a, b: np.einsum("...ij,jk->...ik", a, b), (2, 2, 3, 4), (4, 2)),
    case(lambda a, b: np.einsum("...ij,jk", a, b), (2, 3, 4), (4, 2)),
    case(lambda a: np.einsum("i...j->ji...", a), (2, 3, 4)),
    case(lambda a, b: np.einsum("...i,...i", a, b), (3,), (3,)),
]
"""Options of ``test_table_arrays``' functions: the reductions' ``where=`` and ``initial=``,
einsum's ellipsis."""


def all_cases() -> list[Any]:
    named = [(f.__name__, c) for f, cases in CASES.items() for c in cases]
    named += [("option", c) for c in OPTIONS]
    return [pytest.param(c, id=f"{name}-{i}") for i, (name, c) in enumerate(named)]


def method_cases() -> list[Any]:
    every = [c for cases in CASES.values() for c in cases] + OPTIONS
    return [
        pytest.param(c, m, id=f"{i}-method{k}")
        for i, c in enumerate(every)
        for k, m in enumerate(c.methods)
    ]


def test_every_entry_of_the_families_has_cases() -> None:
    # Every function of the table not walked by test_table_arrays is walked here: a
    # family added to the table without cases fails this test.
    families = set(FUNCTIONS) - set(arrays.TABLES) | set(UFUNC_COMPOSITES)
    assert set(CASES) == families
    assert all(CASES.values())


@pytest.mark.parametrize("c", all_cases())
def test_gradient_is_the_whole_jacobian(c: Case) -> None:
    for seed in range(arrays.POINTS):
        rng, xs = arrays.inputs_of(c, seed)
        scalar = arrays.weighed(c.f, xs, rng)
        analytic = arrays.gradients(scalar, xs)
        numeric = arrays.numerical_gradients(scalar, xs)
        for a, n in zip(analytic, numeric, strict=True):
            assert type(a) is np.ndarray
            arrays.assert_close(a, np.where(np.isnan(n), 0.0, n))


ROUNDED = [c for f in (np.convolve, np.correlate) for c in CASES[f]]
"""NumPy sums these in another order (a BLAS dot per lag): equal to rounding, not to the bit."""


@pytest.mark.parametrize("c", all_cases())
def test_forward_value_is_numpys_bit_for_bit(c: Case) -> None:
    for seed in range(arrays.POINTS):
        rng, xs = arrays.inputs_of(c, seed)
        expected = c.f(*xs)
        scalar = arrays.weighed(c.f, xs, rng)
        pb.pullback(pb.trace(scalar), *xs)
        if c in ROUNDED:
            assert type(scalar.seen[0]) is np.ndarray
            np.testing.assert_allclose(scalar.seen[0], expected, rtol=1e-13, atol=1e-15)
        else:
            arrays.assert_same(scalar.seen[0], expected)


@pytest.mark.parametrize(("c", "method"), method_cases())
def test_method_spelling_is_the_function(c: Case, method: Any) -> None:
    rng, xs = arrays.inputs_of(c, 0)
    by_method = arrays.weighed(method, xs, rng)
    pb.trace(by_method)(*xs)
    arrays.assert_same(by_method.seen[0], c.f(*xs))


@pytest.mark.parametrize("c", all_cases())
def test_nested_gradients_of_every_case(c: Case) -> None:
    rng, xs = arrays.inputs_of(c, 1)
    scalar = arrays.weighed(c.f, xs, rng)
    for i, x in enumerate(xs):
        if np.isnan(x).any():
            continue  # the nan cases: differences through nan are nan (their gradient is tested)
        u = rng.normal(size=x.shape)
        arrays.check_hessian_vector_product(arrays.Squared(scalar, xs, i), x, u)


# -- the edges ---------------------------------------------------------------------------


def test_cumprod_at_zeros_is_exact_at_first_and_second_order() -> None:
    x = np.array([2.0, 0.0, 3.0, -1.0])
    w = np.array([1.0, 2.0, -1.0, 0.5])
    f = pb.trace(lambda v: np.cumprod(v) @ w)
    # y = (2, 0, 0, 0): dy/dx_1 = 2·(w_1 + w_2·3 + w_3·3·(-1)) = 2·(2 - 3 - 1.5)
    assert np.array_equal(pb.gradient(f, x), [1.0, -5.0, 0.0, 0.0])
    h = pb.hessian(f, x)
    assert_close_hessian(lambda v: np.cumprod(v) @ w, x, h)
    two = np.array([0.0, 1.5, 0.0, 2.0])
    # Two zeros: only x_0's derivative, 1 + 2·1.5 (the products before the second zero).
    assert np.array_equal(pb.gradient(f, two), [4.0, 0.0, 0.0, 0.0])
    assert_close_hessian(lambda v: np.cumprod(v) @ w, two, pb.hessian(f, two))


def assert_close_hessian(f: Any, x: Array, h: Array) -> None:
    arrays.assert_close(h, arrays.numerical_hessian(f, x), rtol=1e-6, atol=1e-6)


def test_the_nan_skipping_family_gives_nan_no_cotangent() -> None:
    x = np.array([[1.0, np.nan, 3.0], [np.nan, np.nan, np.nan]])
    skipping: list[Callable[..., Any]] = [
        np.nansum,
        np.nanmean,
        np.nanmax,
        np.nanmin,
        np.nanprod,
        np.nanvar,
        np.nanstd,
    ]
    for f in skipping:

        def finite_part(v: Any, f: Callable[..., Any] = f) -> Any:
            y = f(v, axis=1)  # the all-nan row is nan (or 0): only the first row counts
            return np.sum(np.where(np.isnan(y), 0.0, y))

        g = pb.gradient(pb.trace(finite_part), x)
        assert np.all(g[np.isnan(x)] == 0.0), f  # a nan has no cotangent
        assert not np.isnan(g).any(), f


def test_all_nan_slices_are_nan_as_numpy_says() -> None:
    x = np.array([[1.0, 2.0], [np.nan, np.nan]])
    with np.errstate(all="ignore"), pytest.warns(RuntimeWarning):
        expected = [np.nanmean(x, axis=1), np.nanmax(x, axis=1), np.nanvar(x, axis=1, ddof=1)]
    programs: list[Callable[[Any], Any]] = [
        lambda v: np.nanmean(v, axis=1),
        lambda v: np.nanmax(v, axis=1),
        lambda v: np.nanvar(v, axis=1, ddof=1),
    ]
    for f, e in zip(programs, expected, strict=True):
        y, _ = pb.trace(f)(x)
        assert np.array_equal(y, e, equal_nan=True)


def test_a_nan_makes_median_and_quantiles_nan() -> None:
    x = np.array([[3.0, np.nan, 1.0], [2.0, 5.0, 4.0]])
    programs: list[Callable[[Any], Any]] = [
        lambda v: np.median(v, axis=1),
        lambda v: np.quantile(v, [0.2, 0.8], axis=1),
        lambda v: np.percentile(v, 50.0, axis=1),
    ]
    for f in programs:
        y, back = pb.trace(f)(x)
        assert np.array_equal(y, f(x), equal_nan=True)
        g = back(np.ones_like(y))
        assert np.all(np.isfinite(g[1])) and np.sum(g[1]) > 0.0  # the finite row still has one


def test_median_of_an_odd_and_an_even_count_picks_the_middles() -> None:
    odd = np.array([5.0, 1.0, 3.0])
    even = np.array([5.0, 1.0, 3.0, 2.0])
    assert np.array_equal(pb.gradient(pb.trace(np.median), odd), [0.0, 0.0, 1.0])
    assert np.array_equal(pb.gradient(pb.trace(np.median), even), [0.0, 0.0, 0.5, 0.5])


def test_quantile_interpolates_between_the_two_neighbours() -> None:
    x = np.array([4.0, 1.0, 3.0, 2.0])  # sorted 1, 2, 3, 4: q = 0.5 is at index 1.5
    g = pb.gradient(pb.trace(lambda v: np.quantile(v, 0.5)), x)
    assert np.array_equal(g, [0.0, 0.0, 0.5, 0.5])
    g = pb.gradient(pb.trace(lambda v: np.quantile(v, 0.1)), x)  # index 0.3: 0.7 and 0.3
    np.testing.assert_allclose(g, [0.0, 0.7, 0.0, 0.3], rtol=1e-12)
    assert np.array_equal(pb.gradient(pb.trace(lambda v: np.quantile(v, 1.0)), x), [1, 0, 0, 0])


def test_average_differentiates_the_weights_too() -> None:
    x = np.array([1.0, 2.0, 4.0])
    w = np.array([1.0, 1.0, 2.0])
    gx, gw = pb.gradient(pb.trace(lambda a, b: np.average(a, weights=b)), x, w)
    np.testing.assert_allclose(gx, w / w.sum(), rtol=1e-15)
    np.testing.assert_allclose(gw, (x - np.average(x, weights=w)) / w.sum(), rtol=1e-15)


def test_max_with_where_shares_ties_with_initial() -> None:
    x = np.array([[1.0, 7.0, 2.0], [3.0, 3.0, 9.0]])
    mask = np.array([[True, False, True], [True, True, False]])
    g = pb.gradient(pb.trace(lambda v: np.sum(np.max(v, axis=1, where=mask, initial=2.0))), x)
    # Row 0: 2 ties initial (half of the cotangent); row 1: the two 3s share it.
    assert np.array_equal(g, [[0.0, 0.0, 0.5], [0.5, 0.5, 0.0]])


@pytest.mark.parametrize(
    ("f", "error", "message"),
    [
        (lambda v: np.quantile(v, 1.5), ValueError, r"np\.quantile: Quantiles must be in"),
        (lambda v: np.percentile(v, -1.0), ValueError, r"np\.percentile: Percentiles must be"),
        (lambda v: np.quantile(v, 0.5, method="nearest"), TypeError, r"method='nearest'"),
        (lambda v: np.quantile(v, v[0] * 0.0), TypeError, r"q must be a plain"),
        (lambda v: np.max(v, where=v > 0), ValueError, r"np\.max: with where=, initial="),
        (lambda v: np.prod(v, initial=2.0), TypeError, r"np\.prod: the argument initial="),
        (lambda v: np.sum(v, where=np.ones(4, bool)), ValueError, r"np\.sum: where= of shape"),
        (lambda v: np.average(v, weights=np.ones(2)), TypeError, r"axis must be specified"),
        (lambda v: np.average(v, axis=0, weights=np.ones(2)), ValueError, r"shape of weights"),
        (lambda v: np.average(v, weights=v * 0.0), ZeroDivisionError, r"weights sum to zero"),
        (lambda v: np.cumprod(v, out=np.zeros(3)), TypeError, r"np\.cumprod: out="),
    ],
)
def test_refused_with_numpys_error_and_the_name_of_the_call(
    f: Any, error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        pb.gradient(pb.trace(lambda v: np.sum(f(v))), np.array([1.0, 2.0, 3.0]))


def test_interp_at_its_breakpoints_takes_the_slope_to_the_right() -> None:
    fp = np.array([0.0, 3.0, -1.0, 2.0])
    x = np.array([0.0, 0.5, -1.0, 0.25, 2.0])  # four breakpoints (the last: flat beyond)
    f = pb.trace(lambda v: np.sum(np.interp(v, XP, fp)))
    assert np.array_equal(pb.gradient(f, x), [-8.0, 2.0, 3.0, -8.0, 0.0])
    assert f(x)[0] == np.sum(np.interp(x, XP, fp))
    # fp as a list, as NumPy takes it
    listed = pb.trace(lambda v: np.interp(v, [0.0, 1.0, 2.0], [0.0, 1.0, 4.0]))
    assert np.array_equal(listed(np.array([0.5, 1.5]))[0], [0.5, 2.5])


def test_heaviside_is_differentiable_in_its_value_at_zero() -> None:
    x = np.array([0.0, 1.0, -1.0, np.nan])
    assert pb.gradient(pb.trace(lambda h: np.nansum(np.heaviside(x, h))), 0.5) == 1.0
    y, _ = pb.trace(lambda h: np.heaviside(x, h))(0.5)
    assert np.array_equal(y, np.heaviside(x, 0.5), equal_nan=True)


def test_cumprod_past_an_overflow_keeps_a_zero_cotangent_zero() -> None:
    g = pb.gradient(pb.trace(lambda v: np.cumprod(v)[0]), np.array([1e200, 1e200, 2.0]))
    assert np.array_equal(g, [1.0, 0.0, 0.0])


def test_average_takes_its_axes_in_the_order_given() -> None:
    rng = np.random.default_rng(3)
    a, w = rng.normal(size=(2, 3, 4)), rng.uniform(0.5, 1.5, size=(4, 2))
    f = pb.trace(lambda v, u: np.average(v, axis=(2, 0), weights=u))
    y, _ = f(a, w)
    assert np.array_equal(y, np.average(a, axis=(2, 0), weights=w))
    for analytic, numeric in zip(
        pb.gradient(pb.trace(lambda v, u: np.sum(np.average(v, axis=(2, 0), weights=u))), a, w),
        arrays.numerical_gradients(
            lambda v, u: np.sum(np.average(v, axis=(2, 0), weights=u)), [a, w]
        ),
        strict=True,
    ):
        arrays.assert_close(analytic, numeric)


def test_empty_inputs_are_numpys() -> None:
    ones = np.ones((2, 3))
    # A window of size 0 holds nothing: its cotangent is 0 (the sum's is 1).
    g = pb.gradient(pb.trace(lambda v: np.sum(WINDOWS(v, 0, axis=1)) + np.sum(v)), ones)
    assert np.array_equal(g, ones)
    # max and min of an empty slice with initial= are initial, as NumPy's
    y, _ = pb.trace(lambda v: np.max(v[:, :0], axis=1, initial=-1.5) + np.sum(v))(ones)
    assert np.array_equal(y, np.max(ones[:, :0], axis=1, initial=-1.5) + 6.0)
    assert pb.trace(lambda v: np.min(v[:0], initial=2.0) + v[0, 0])(ones)[0] == 3.0


def test_cov_of_no_variables_is_numpys_empty_matrix() -> None:
    y, _ = pb.trace(lambda v: np.cov(v[:0].reshape(0, 3)) + 0.0 * np.sum(v))(np.ones(3))
    assert np.shape(y) == np.shape(np.cov(np.ones((0, 3))))


def test_select_takes_a_traced_default_and_refuses_conditions_that_are_not_bool() -> None:
    choose = pb.trace(lambda d: np.sum(np.select([np.array([True, False])], [d * 2.0], d)))
    assert np.array_equal(pb.gradient(choose, np.array([5.0, 6.0])), [2.0, 1.0])
    with pytest.raises(TypeError, match="invalid entry 0 in condlist"):
        pb.trace(lambda d: np.sum(np.select([np.array([1, 0])], [d], 0.0)))(np.ones(2))


def test_einsum_with_more_subscripts_than_dimensions_is_numpys_error() -> None:
    with pytest.raises(ValueError, match="too many subscripts for operand 0"):
        pb.trace(lambda a: np.sum(np.einsum("...ij", a)))(np.ones(3))


def test_ldexp_past_the_range_of_a_power_of_two_is_numpys() -> None:
    # 2^1100 alone overflows; ldexp(1e-300, 1100) is 1.36e31, and so is the traced value.
    x = np.array([1e-300, -3e-310, 5e300])
    n = np.array([1100, 1080, -1100])
    y, _ = pb.trace(lambda v: np.ldexp(v, n))(x)
    assert np.array_equal(y, np.ldexp(x, n))


def test_eigenvalues_of_equal_eigenvalues_have_their_gradient() -> None:
    # At a = I every eigenvalue is 1: Σ w is the trace (gradient I), and the top
    # eigenvalue's gradient is vvᵀ for the vector eigvalsh's pullback picks.
    a = np.eye(3)
    assert np.array_equal(pb.gradient(pb.trace(lambda a: np.sum(np.linalg.eigvalsh(a))), a), a)
    g = pb.gradient(pb.trace(lambda a: np.linalg.eigvalsh(a)[-1]), a)
    v = np.linalg.eigh(a).eigenvectors[:, -1]
    np.testing.assert_allclose(g, np.outer(v, v), atol=1e-15)


def test_a_projector_onto_equal_eigenvalues_has_a_finite_gradient() -> None:
    # diag(1, 1, 3) plus a symmetric perturbation: the projector onto the two equal
    # eigenvalues' span depends on the vectors only through the span, so its
    # derivative is finite and the 1/(w_j - w_i) terms of the tie are rightly 0.
    base = np.diag([1.0, 1.0, 3.0])
    d = np.array([[0.0, 0.3, 0.2], [0.3, 0.0, -0.1], [0.2, -0.1, 0.0]])

    def projector(t: Any) -> Any:
        v = np.linalg.eigh(base + t * d).eigenvectors[:, :2]
        return np.sum((v @ v.T) * d)

    g = pb.gradient(pb.trace(projector), 0.0)
    assert np.isfinite(g)
    np.testing.assert_allclose(g, five_point(lambda t: float(projector(t)), 0.0, 1e-4), rtol=1e-6)


def test_singular_values_of_equal_singular_values_have_their_gradient() -> None:
    a = np.diag([2.0, 2.0])
    g = pb.gradient(pb.trace(lambda a: np.sum(np.linalg.svd(a, compute_uv=False))), a)
    np.testing.assert_allclose(g, np.eye(2), atol=1e-15)  # the nuclear norm's gradient U Vᵀ


@pytest.mark.parametrize(
    ("f", "error", "message"),
    [
        (lambda v: np.linalg.svd(v), TypeError, r"full_matrices=True of a non-square"),
        (lambda v: np.linalg.svd(v, hermitian=True), TypeError, r"hermitian=True"),
        (lambda v: np.linalg.eigh(v), ValueError, r"np\.linalg\.eigh: expected .* square"),
        (lambda v: np.linalg.eigvalsh(v[:2, :2], UPLO="X"), ValueError, r"UPLO argument"),  # type: ignore[call-overload]
        (lambda v: np.linalg.matrix_power(v[:2, :2], 1.5), TypeError, r"must be an integer"),  # type: ignore[arg-type]
        (lambda v: np.linalg.multi_dot([v, v.T, v[None]]), ValueError, r"3-dimensional"),
        (lambda v: np.linalg.multi_dot([v]), ValueError, r"at least two arrays"),
        (lambda v: np.linalg.pinv(v, rcond=1e-3, rtol=1e-3), ValueError, r"can't be both set"),
        (lambda v: WINDOWS(v, 2), ValueError, r"window_shape must have one entry per"),
        (lambda v: WINDOWS(v, (2, 2), axis=(1, 1)), TypeError, r"a repeated axis"),
        (lambda v: WINDOWS(v, 4, axis=1), ValueError, r"cannot be larger"),
        (lambda v: WINDOWS(v, 2, axis=1, writeable=True), TypeError, r"writeable=True"),
        (lambda v: np.interp(v[0], v[1], v[0]), TypeError, r"xp \(the breakpoints\) must be"),
        (lambda v: np.interp(v[0], XP[:3], v[0], period=2.0), TypeError, r"period="),
        (lambda v: np.interp(v[0], XP, v[0]), ValueError, r"not of the same length"),
        (lambda v: np.convolve(v[0], v[1], mode="middle"), ValueError, r"mode must be one"),  # type: ignore[call-overload]
        (lambda v: np.correlate(v, v[0]), ValueError, r"a and v must be 1-d"),
        (lambda v: np.cov(v, fweights=np.ones(3, dtype=int)), TypeError, r"fweights="),
        (lambda v: np.fliplr(v[0]), ValueError, r"Input must be >= 2-d"),
        (lambda v: np.rot90(v, axes=(1, 1)), ValueError, r"Axes must be different"),
        (lambda v: np.select([v > 0], [v, v]), ValueError, r"same length"),
        (lambda v: np.vsplit(v[0], 1), ValueError, r"2 or more dimensions"),
    ],
)
def test_linear_algebra_refusals_name_the_call(
    f: Any, error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        pb.gradient(pb.trace(lambda v: np.sum(f(v))), np.arange(6.0).reshape(2, 3) + 1.0)


# -- properties ---------------------------------------------------------------------------


@settings(max_examples=40, deadline=None)
@given(
    n=st.integers(1, 9),
    q=st.floats(0.0, 1.0),
    seed=st.integers(0, 2**16),
)
def test_quantiles_are_numpys_and_their_gradients_sum_to_one(n: int, q: float, seed: int) -> None:
    x = np.random.default_rng(seed).normal(size=n)
    quantile = pb.trace(lambda v: np.quantile(v, q))
    assert quantile(x)[0] == np.quantile(x, q)  # bit for bit
    g = pb.gradient(quantile, x)
    np.testing.assert_allclose(np.sum(g), 1.0, rtol=1e-12)  # a convex combination of two
    assert np.count_nonzero(g) <= 2 and np.all(g >= -1e-15)


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**16), rows=st.integers(1, 4), cols=st.integers(1, 40))
def test_masked_sums_and_means_are_numpys_bit_for_bit(seed: int, rows: int, cols: int) -> None:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(rows, cols))
    mask = rng.uniform(size=(rows, cols)) < 0.6
    mask[:, 0] = True  # every row keeps one element (no 0/0 in the means)
    for f in (
        lambda v: np.sum(v, axis=1, where=mask),
        lambda v: np.sum(v, where=mask, initial=0.5),
        lambda v: np.mean(v, axis=1, where=mask),
        lambda v: np.var(v, where=mask),
    ):
        y, back = pb.trace(f)(x)
        assert np.array_equal(y, f(x))
        g = back(np.ones_like(y) if np.ndim(y) else 1.0)
        assert np.all(g[~mask] == 0.0)  # what the mask leaves out has no cotangent


# -- random programs of the families ----------------------------------------------------------

FamilyStep = Callable[[Any], Any]


@st.composite
def family_steps(draw: st.DrawFn, shape: tuple[int, ...]) -> tuple[str, FamilyStep]:
    """One step of the families that keeps the value smooth (no sort, no kink), for ``shape``."""
    ndim = len(shape)
    axis = draw(st.integers(-ndim, ndim - 1))
    n = shape[axis]
    options: list[tuple[str, FamilyStep]] = [
        (f"cumprod axis {axis}", lambda v: np.cumprod(v, axis=axis)),
        ("polyval", lambda v: np.polyval([0.5, -1.0, 2.0], v)),
        # (no rot90 or flip before a product here: NumPy's own products round a view
        # differently from a copy of it, np.vecdot of np.rot90(x) and of its copy differ
        # in the last bit, and traced intermediates need not keep NumPy's memory layout;
        # rot90 and flip are checked bit for bit on their own in CASES)
        ("ldexp", lambda v: np.ldexp(v, 1)),
    ]
    if ndim >= 2:
        w = np.linspace(0.5, 1.5, n)
        along = np.reshape(w, [n if i == axis % ndim else 1 for i in range(ndim)])
        options += [
            (f"average axis {axis}", lambda v: np.average(v, axis=axis, weights=w)),
            (f"trapezoid axis {axis}", lambda v: np.trapezoid(v, axis=axis)),
            (f"vecdot axis {axis}", lambda v: np.vecdot(v, along, axis=axis)),  # type: ignore[call-overload]
            (f"nanmean axis {axis}", lambda v: np.nanmean(v, axis=axis)),
        ]
    if n >= 2:
        windows = np.lib.stride_tricks.sliding_window_view
        options.append(
            (f"window sums axis {axis}", lambda v: np.sum(windows(v, 2, axis=axis), axis=-1))
        )
    return draw(st.sampled_from(options))


@st.composite
def family_programs(draw: st.DrawFn) -> tuple[tuple[int, ...], list[tuple[str, FamilyStep]]]:
    shape = tuple(draw(st.lists(st.integers(2, 4), min_size=1, max_size=3)))
    steps: list[tuple[str, FamilyStep]] = []
    current: Any = np.ones(shape)
    for _ in range(draw(st.integers(1, 3))):
        step = draw(family_steps(np.shape(current)))
        steps.append(step)
        current = step[1](current)
        if np.ndim(current) == 0:
            break
    return shape, steps


@settings(max_examples=40, deadline=None)
@given(family_programs(), st.integers(0, 2**16))
def test_random_programs_of_the_families_match_numpy_and_differences(
    program: tuple[tuple[int, ...], list[tuple[str, FamilyStep]]], seed: int
) -> None:
    shape, steps = program
    rng = np.random.default_rng(seed)
    x = rng.uniform(0.5, 1.5, size=shape)  # products of moderate factors: no overflow, no 0

    def run(v: Any) -> Any:
        for _, step in steps:
            v = step(v)
        return v

    expected = run(x)
    weights = rng.normal(size=np.shape(expected))
    scalar = arrays.Weighed(run, weights)
    _, back = pb.pullback(pb.trace(scalar), x)
    arrays.assert_same(scalar.seen[0], expected)  # NumPy's value, bit for bit
    (numeric,) = arrays.numerical_gradients(scalar, [x])
    arrays.assert_close(back(1.0), numeric)


# -- compiled: what the families read from values is computed at every call ------------------

COMPILED: dict[str, Callable[[Any], Any]] = {
    "interp's segments": lambda x: np.sum(np.interp(x, XP, np.array([0.0, 3.0, -1.0, 2.0]))),
    "copysign's signs": lambda x: np.sum(np.copysign(x, x - 1.0)),
    "modf's signs": lambda x: np.sum(np.modf(x * np.array([1.0, np.inf, 3.0]))[0]),
    "frexp's exponents": lambda x: np.sum(np.frexp(x)[0]),
    "ldexp's powers": lambda x: np.sum(np.ldexp(x, np.array([1, -3, 2]))),
    "cumprod's zeros": lambda x: np.sum(np.cumprod(np.round(x))),
    "median's order": lambda x: np.median(x),
    "quantile's order": lambda x: np.quantile(x, 0.3),
    "nanmax's nans": lambda x: np.nanmax(np.log(x)),
    "select's conditions": lambda x: np.sum(np.select([x > 1.0], [x**2], 0.5)),
    "sum's where": lambda x: np.sum(x, where=x > 1.0),
    "polyval": lambda x: np.sum(np.polyval(x, x)),
}


NOT_COMPILED = {"sum's where"}
"""A mask given to sum(where=) is a parameter, which compiled code cannot take: traced."""


@pytest.mark.parametrize("name", sorted(COMPILED))
def test_compiled_functions_of_the_families_are_the_traced_ones_at_every_call(name: str) -> None:
    # Values chosen so that each reading differs between calls (signs, order, zeros
    # after rounding, nan from log of a negative, exponents): a frozen one would show.
    f = COMPILED[name]
    compiled, traced = pb.compiled(f), pb.trace(f)
    points = [
        np.array([0.5, 1.5, 0.25]),
        np.array([1.7, -0.3, 2.5]),
        np.array([-0.45, 2.2, 0.3]),
        np.array([3.1, 0.2, -1.6]),
    ]
    with np.errstate(invalid="ignore"):
        for x in points:
            yc, gc = pb.value_and_gradient(compiled, x)
            yt, gt = pb.value_and_gradient(traced, x)
            assert np.array_equal(yc, yt, equal_nan=True), name
            assert np.array_equal(gc, gt, equal_nan=True), name
    # The calls ran compiled code (a variant per outcome of the guards), not the
    # traced path a call falls back to; sum(where=) is the one that is not compiled.
    variants = compiled.variants()
    assert (variants == 0) if name in NOT_COMPILED else (1 <= variants <= len(points)), name
