"""Mergeable sufficient statistics of PCA: the centred scatter matrix and its sketches.

Both states hold ``n``, the mean and centred sums of squares, and merge with Chan,
Golub & LeVeque's pairwise update, generalised from variances to cross-products:

    S = S_a + S_b + (n_a n_b / n) d d',   d = mean_b - mean_a

so a fit over any split of the rows (chunks, partitions, ``partial_fit`` calls) gives
the same matrix up to rounding, and the data is never centred with a stale mean.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.linalg import blas

__all__ = ["ScatterState", "SketchState", "nystrom_eigh"]


def _centre(X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The block's mean and the block centred in place (blocks are owned by the fit)."""
    mean = X.mean(axis=0)
    X -= mean
    return mean, X


@dataclass
class ScatterState:
    """``n``, ``mean`` and ``scatter = sum (x - mean)(x - mean)'`` of the rows seen."""

    n: int
    mean: np.ndarray
    scatter: np.ndarray

    @classmethod
    def empty(cls, n_features: int) -> ScatterState:
        return cls(0, np.zeros(n_features), np.zeros((n_features, n_features)))

    @classmethod
    def of(cls, X: np.ndarray) -> ScatterState:
        """The state of one block (modified in place)."""
        if X.shape[0] == 0:
            return cls.empty(X.shape[1])
        mean, Xc = _centre(X)
        # syrk on the F-ordered view Xc.T computes Xc' Xc without a copy, at half the
        # flops of a general product; it fills the upper triangle only.
        upper = blas.dsyrk(1.0, Xc.T, trans=0)
        scatter = np.triu(upper) + np.triu(upper, 1).T
        return cls(X.shape[0], mean, scatter)

    def merge(self, other: ScatterState) -> ScatterState:
        if other.n == 0:
            return self
        if self.n == 0:
            return other
        n = self.n + other.n
        delta = other.mean - self.mean
        mean = self.mean + delta * (other.n / n)
        scatter = self.scatter + other.scatter + np.outer(delta, delta) * (self.n * other.n / n)
        return ScatterState(n, mean, scatter)


@dataclass
class SketchState:
    """``n``, ``mean``, the centred sums of squares ``m2`` and ``sketch = S @ basis``.

    ``S`` is the scatter matrix of :class:`ScatterState`, never formed: one pass over
    the data gives its product with a thin ``(n_features, l)`` basis, which is what
    the randomized solver needs and fits in memory for any number of features.
    """

    n: int
    mean: np.ndarray
    m2: np.ndarray
    sketch: np.ndarray
    basis: np.ndarray

    @classmethod
    def empty(cls, basis: np.ndarray) -> SketchState:
        p = basis.shape[0]
        return cls(0, np.zeros(p), np.zeros(p), np.zeros_like(basis), basis)

    @classmethod
    def of(cls, X: np.ndarray, basis: np.ndarray) -> SketchState:
        """The state of one block (modified in place)."""
        if X.shape[0] == 0:
            return cls.empty(basis)
        mean, Xc = _centre(X)
        sketch = Xc.T @ (Xc @ basis)
        m2 = np.einsum("ij,ij->j", Xc, Xc)
        return cls(X.shape[0], mean, m2, sketch, basis)

    def merge(self, other: SketchState) -> SketchState:
        if other.n == 0:
            return self
        if self.n == 0:
            return other
        n = self.n + other.n
        delta = other.mean - self.mean
        w = self.n * other.n / n
        return SketchState(
            n,
            self.mean + delta * (other.n / n),
            self.m2 + other.m2 + delta**2 * w,
            self.sketch + other.sketch + np.outer(delta, delta @ self.basis) * w,
            self.basis,
        )


def nystrom_eigh(basis: np.ndarray, sketch: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The top `k` eigenpairs of the PSD ``S`` known only through ``sketch = S @ basis``.

    ``basis`` has orthonormal columns. The Nystrom approximation
    ``S ~ Y (Q' Y)^+ Y'`` (``Y = sketch``, ``Q = basis``) is what randomized SVD of the
    centred data computes, ``X' P X`` with ``P`` the projector on ``range(X Q)``, so
    this gives scikit-learn's randomized PCA from statistics of the covariance only.

    Returns
    -------
    eigenvalues : ndarray of shape (k,), descending
    vectors : ndarray of shape (n_features, k), orthonormal columns
    """
    core = basis.T @ sketch
    core = (core + core.T) / 2
    w, W = np.linalg.eigh(core)
    keep = w > max(w.max(initial=0.0), 0.0) * np.finfo(np.float64).eps * core.shape[0]
    F = (sketch @ W[:, keep]) / np.sqrt(w[keep])
    U, s, _ = np.linalg.svd(F, full_matrices=False)
    values, vectors = s**2, U
    if vectors.shape[1] < k:
        # Rank-deficient data: complete with directions of range(basis) orthogonal to
        # the found ones; their eigenvalue is 0 in the approximation.
        rest = basis - vectors @ (vectors.T @ basis)
        extra = np.linalg.svd(rest, full_matrices=False)[0][:, : k - vectors.shape[1]]
        vectors = np.hstack([vectors, extra])
        values = np.concatenate([values, np.zeros(extra.shape[1])])
    return values[:k], vectors[:, :k]
