"""Spectral decompositions: eigh, eigvalsh, svd (and svd's singular values), pinv.

``eigh`` and ``svd`` give several arrays; each is one primitive whose value is
its arrays packed into one (rows stacked along the second-last axis), which the
NumPy-signature function unpacks by indexing, so one vjp sees every output's
cotangent at once. The derivatives are the standard ones (Giles 2008 for eigh,
Townsend 2016 for the SVD), written with NumPy calls so that they trace; the
eigenvalues-only forms recompute the vectors in their pullback instead of
computing them on every forward pass.

Conventions: a symmetric input's gradient is the symmetric part, as
``cholesky``'s (the decomposition reads one triangle); where two eigenvalues
(singular values) are equal, the vectors' terms that would divide by their
difference are 0 (the loss is taken to depend on the vectors only through their
span there, as projections do), not inf.

>>> import numpy as np
>>> from pullback import gradient, trace
>>> a = np.array([[2.0, 1.0], [1.0, 3.0]])
>>> g = gradient(trace(lambda a: np.linalg.eigvalsh(a)[-1]), a)  # the top eigenvector's vvᵀ
>>> v = np.linalg.eigh(a).eigenvectors[:, -1]
>>> bool(np.allclose(g, np.outer(v, v)))
True
"""

from __future__ import annotations

from collections import namedtuple
from typing import Any

import numpy as np

from .entry import Composite, Primitive, ndim_of, shape_of

__all__ = ["EIGH", "EIGVALSH", "FUNCTIONS", "SVD", "SVDVALS"]

FUNCTIONS: dict[Any, Composite | Primitive] = {}
"""Each NumPy function of this family and its entry."""

# NumPy's stubs take UPLO as a Literal; here it is a checked str.
_np: Any = np

EighResult = namedtuple("EighResult", ["eigenvalues", "eigenvectors"])
SVDResult = namedtuple("SVDResult", ["U", "S", "Vh"])


def _swap(x: Any) -> Any:
    return np.swapaxes(x, -1, -2)


def _symmetric(x: Any) -> Any:
    return 0.5 * (x + _swap(x))


def _inverse_gaps(w: Any) -> Any:
    """``F[i, j] = 1 / (w_j - w_i)`` off the diagonal, 0 on it and wherever ``w_i = w_j``."""
    gaps = w[..., None, :] - w[..., :, None]
    tie = np.equal(gaps, 0.0)  # a constant: the diagonal, and degenerate pairs
    return np.where(tie, 0.0, 1.0 / np.where(tie, 1.0, gaps))


def _square(a: Any, where: str) -> None:
    shape = shape_of(a)
    if len(shape) < 2 or shape[-1] != shape[-2]:
        raise ValueError(f"{where}: expected (a stack of) square matrices, got shape {shape}")


# -- the symmetric eigenproblem ----------------------------------------------------------------


def _eigh_packed(a: Any, uplo: str) -> Any:
    w, v = _np.linalg.eigh(a, UPLO=uplo)
    return np.concatenate([w[..., None, :], v], axis=-2)


def eigh_pullback(g: Any, y: Any, a: Any, uplo: str) -> Any:
    # ā = V (diag(w̄) + F ∘ (Vᵀ V̄)) Vᵀ, its symmetric part.
    w, v = y[..., 0, :], y[..., 1:, :]
    gw, gv = g[..., 0, :], g[..., 1:, :]
    inner = _inverse_gaps(w) * np.matmul(_swap(v), gv)
    middle = inner + gw[..., None, :] * np.eye(shape_of(w)[-1])
    return _symmetric(np.matmul(np.matmul(v, middle), _swap(v)))


EIGH = Primitive(
    "linalg.eigh",
    _eigh_packed,
    (eigh_pullback,),
    1,
    doc="Eigenvalues and eigenvectors of a symmetric matrix, packed [w; V].",
    edge="equal eigenvalues: the vectors' 1/(w_j - w_i) terms are 0, not inf",
)


def eigh_(a: Any, UPLO: str = "L") -> Any:
    _square(a, "np.linalg.eigh")
    packed = EIGH(a, uplo=_uplo(UPLO, "np.linalg.eigh"))
    return EighResult(packed[..., 0, :], packed[..., 1:, :])


def _uplo(uplo: str, where: str) -> str:
    if uplo not in ("L", "U"):
        raise ValueError(f"{where}: UPLO argument must be 'L' or 'U', got {uplo!r}")
    return uplo


def eigvalsh_pullback(g: Any, y: Any, a: Any, uplo: str) -> Any:
    # ā = V diag(w̄) Vᵀ (symmetric): no division, so equal eigenvalues are fine.
    v = eigh_(a, uplo).eigenvectors
    return np.matmul(v * g[..., None, :], _swap(v))


EIGVALSH = Primitive(
    "linalg.eigvalsh",
    lambda a, uplo: _np.linalg.eigvalsh(a, UPLO=uplo),
    (eigvalsh_pullback,),
    1,
    doc="Eigenvalues of a symmetric matrix; da = V diag(dw) Vᵀ.",
)


def eigvalsh_(a: Any, UPLO: str = "L") -> Any:
    _square(a, "np.linalg.eigvalsh")
    return EIGVALSH(a, uplo=_uplo(UPLO, "np.linalg.eigvalsh"))


# -- the singular value decomposition --------------------------------------------------------


def _svd_packed(a: Any) -> Any:
    u, s, vh = np.linalg.svd(a, full_matrices=False)
    return np.concatenate([u, s[..., None, :], _swap(vh)], axis=-2)


def _unpack(y: Any, m: int) -> tuple[Any, Any, Any]:
    return y[..., :m, :], y[..., m, :], y[..., m + 1 :, :]  # U, s and V (not Vh)


def svd_pullback(g: Any, y: Any, a: Any) -> Any:
    # Townsend (2016), thin SVD a = U S Vᵀ with F_ij = 1/(s_j² - s_i²):
    # ā = U [(F ∘ (UᵀŪ - ŪᵀU)) S + diag(s̄) + S (F ∘ (VᵀV̄ - V̄ᵀV))] Vᵀ
    #     + (I - UUᵀ) Ū S⁻¹ Vᵀ + U S⁻¹ V̄ᵀ (I - VVᵀ)
    # (the last two terms only for a non-square a: they are 0 when U or V is square).
    m, n = shape_of(a)[-2:]
    u, s, v = _unpack(y, m)
    gu, gs, gv = _unpack(g, m)
    f = _inverse_gaps(s * s)
    ut_gu = np.matmul(_swap(u), gu)
    vt_gv = np.matmul(_swap(v), gv)
    k = shape_of(s)[-1]
    core = (
        (f * (ut_gu - _swap(ut_gu))) * s[..., None, :]
        + gs[..., None, :] * np.eye(k)
        + s[..., :, None] * (f * (vt_gv - _swap(vt_gv)))
    )
    ga = np.matmul(np.matmul(u, core), _swap(v))
    if m > k:
        outside = gu - np.matmul(u, ut_gu)
        ga = ga + np.matmul(outside / s[..., None, :], _swap(v))
    if n > k:
        outside = gv - np.matmul(v, vt_gv)
        ga = ga + np.matmul(u / s[..., None, :], _swap(outside))
    return ga


SVD = Primitive(
    "linalg.svd",
    _svd_packed,
    (svd_pullback,),
    1,
    doc="Thin singular value decomposition, packed [U; s; V].",
    edge="equal singular values: the 1/(s_j² - s_i²) terms are 0, not inf",
)


def svdvals_pullback(g: Any, y: Any, a: Any) -> Any:
    # ā = U diag(s̄) Vᵀ: no division, so equal singular values are fine.
    u, _, vh = svd_(a, full_matrices=False)
    return np.matmul(u * g[..., None, :], vh)


SVDVALS = Primitive(
    "linalg.svdvals",
    lambda a: np.linalg.svd(a, compute_uv=False),
    (svdvals_pullback,),
    1,
    doc="Singular values; da = U diag(ds) Vᵀ.",
)


def svd_(
    a: Any, full_matrices: bool = True, compute_uv: bool = True, hermitian: bool = False
) -> Any:
    shape = shape_of(a)
    if len(shape) < 2:
        raise ValueError(f"np.linalg.svd: expected (a stack of) matrices, got shape {shape}")
    if hermitian:
        raise TypeError(
            "np.linalg.svd: hermitian=True is not supported in traced code; "
            "for a symmetric matrix use np.linalg.eigh"
        )
    if not compute_uv:
        return SVDVALS(a)
    m, n = shape[-2:]
    if full_matrices and m != n:
        raise TypeError(
            "np.linalg.svd: full_matrices=True of a non-square matrix has no derivative rule "
            "in traced code (the extra singular vectors are not unique); pass full_matrices=False"
        )
    u, s, v = _unpack(SVD(a), m)
    return SVDResult(u, s, _swap(v))


def pinv_(a: Any, rcond: Any = None, hermitian: bool = False, *, rtol: Any = np._NoValue) -> Any:
    # NumPy's own steps: a thin SVD, 1/s where s exceeds the cutoff (a constant
    # choice of which singular values count), V diag(1/s) Uᵀ.
    if ndim_of(a) < 2:
        raise ValueError(f"np.linalg.pinv: expected (a stack of) matrices, got shape {shape_of(a)}")
    if rcond is None:  # NumPy's defaults, in its order
        if rtol is np._NoValue:
            rcond = 1e-15
        elif rtol is None:
            rcond = max(shape_of(a)[-2:]) * np.finfo(np.float64).eps
        else:
            rcond = rtol
    elif rtol is not np._NoValue:
        raise ValueError("np.linalg.pinv: `rtol` and `rcond` can't be both set.")
    if hermitian:
        raise TypeError("np.linalg.pinv: hermitian=True is not supported in traced code")
    u, s, vt = svd_(a, full_matrices=False)
    cutoff = np.asarray(rcond)[..., None] * np.max(s, axis=-1, keepdims=True)
    large = np.greater(s, cutoff)
    inverse = np.where(large, 1.0 / np.where(large, s, 1.0), 0.0)
    return np.matmul(_swap(vt), inverse[..., None] * _swap(u))


FUNCTIONS.update(
    {
        np.linalg.eigh: Composite("linalg.eigh", eigh_, EIGH.doc, EIGH.edge),
        np.linalg.eigvalsh: Composite("linalg.eigvalsh", eigvalsh_, EIGVALSH.doc),
        np.linalg.svd: Composite(
            "linalg.svd",
            svd_,
            "Singular value decomposition (thin, or of a square matrix); singular values only "
            "with compute_uv=False.",
            SVD.edge,
        ),
        np.linalg.pinv: Composite(
            "linalg.pinv",
            pinv_,
            "Pseudo-inverse by the SVD, as NumPy's; the cutoff's choice is a constant.",
        ),
    }
)
