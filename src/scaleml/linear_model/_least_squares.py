"""Ordinary least squares, exact, in one pass over the data."""

from __future__ import annotations

from numbers import Integral, Real
from typing import Any

import numpy as np
from sklearn.utils._param_validation import Interval

from scaleml.linear_model._base import GramState, LinearModelBase, PartialFitMixin, set_intercept
from scaleml.linear_model._gram_solve import eigh_sorted, nnls_gram, pinv_solve, solve_spd

__all__ = ["LinearRegression"]

_EPS = np.finfo(np.float64).eps


class LinearRegression(PartialFitMixin, LinearModelBase):
    """Ordinary least squares linear regression, fitted exactly in one pass.

    The scikit-learn estimator of the same name, fitted out-of-core: one streaming pass
    accumulates the centred Gram matrix ``X'X`` and ``X'y`` (float64, merged across
    chunks with Chan et al.'s update, so large feature offsets stay accurate), then a
    small ``(n_features, n_features)`` system is solved. Memory is one batch of rows
    plus the Gram matrix, whatever the number of rows.

    Parameters
    ----------
    fit_intercept : bool, default=True
        Whether to fit an intercept (centre the data); without it the line goes
        through the origin.
    copy_X : bool, default=True
        Kept for compatibility with scikit-learn; inputs are never modified.
    tol : float, default=1e-6
        Relative cutoff on the singular values of (centred) ``X`` below which they
        count as zero, as ``scipy.linalg.lstsq``'s ``cond`` in scikit-learn. The
        singular values come from the eigenvalues of ``X'X``, which resolve them down
        to about ``sqrt(n_features * eps) ~ 1e-7`` of the largest; a smaller `tol`
        acts as that.
    n_jobs : int, default=None
        Number of row partitions folded in parallel threads (-1: one per core).
    positive : bool, default=False
        Constrain the coefficients to be non-negative (non-negative least squares on
        the Gram system, as scikit-learn's ``scipy.optimize.nnls`` on the data).
    batch_rows : int, default=None
        Rows per block read from the data (default: about 8 MiB per block).

    Attributes
    ----------
    coef_ : ndarray of shape (n_features,) or (n_targets, n_features)
    intercept_ : float or ndarray of shape (n_targets,)
    rank_ : int
        Rank of (centred) ``X``. Not set when ``positive=True``.
    singular_ : ndarray of shape (min(n_samples, n_features),)
        Singular values of (centred, weighted) ``X``, as square roots of the
        eigenvalues of the Gram matrix: the small ones are accurate to about
        ``1e-8 * singular_[0]`` only. Not set when ``positive=True``.
    n_features_in_ : int
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Defined when X has column names.

    Notes
    -----
    On full-rank data the coefficients equal scikit-learn's to about ``1e-12`` times
    the condition number of ``X`` squared (they come from a Cholesky solve of the
    equilibrated normal equations, not a QR/SVD of the data). On rank-deficient data
    (collinear or constant columns, fewer rows than features) the result is the
    minimum-norm solution from the eigendecomposition of the Gram matrix, the
    solution ``lstsq`` returns too; nearly collinear data may be judged rank-deficient
    where ``lstsq`` is not, since the Gram matrix squares the condition number.

    Examples
    --------
    >>> import polars as pl
    >>> from scaleml import LinearRegression
    >>> lf = pl.LazyFrame({"a": [0.0, 1.0, 2.0, 3.0], "b": [1.0, 0.0, 1.0, 0.0],
    ...                    "y": [1.0, 3.0, 7.0, 9.0]})
    >>> reg = LinearRegression().fit(lf, y="y")
    >>> reg.coef_.round(6), round(reg.intercept_, 6)
    (array([3., 1.]), 0.0)
    >>> reg.predict(lf).collect()["prediction"].round(6).to_list()
    [1.0, 3.0, 7.0, 9.0]
    >>> reg.score(lf, y="y")
    1.0
    """

    _parameter_constraints: dict[str, list[Any]] = {
        "fit_intercept": ["boolean"],
        "copy_X": ["boolean"],
        "tol": [Interval(Real, 0, None, closed="left")],
        "n_jobs": [None, Integral],
        "positive": ["boolean"],
        "batch_rows": [None, Interval(Integral, 1, None, closed="left")],
    }

    def __init__(
        self,
        *,
        fit_intercept: bool = True,
        copy_X: bool = True,
        tol: float = 1e-6,
        n_jobs: int | None = None,
        positive: bool = False,
        batch_rows: int | None = None,
    ) -> None:
        self.fit_intercept = fit_intercept
        self.copy_X = copy_X
        self.tol = tol
        self.n_jobs = n_jobs
        self.positive = positive
        self.batch_rows = batch_rows

    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> LinearRegression:
        """Fit the linear model in one pass over `X`.

        Parameters
        ----------
        X : array-like, DataFrame, LazyFrame, path/glob, DuckDB relation or Arrow data
            Numeric features without missing values.
        y : array-like of shape (n_samples,) or (n_samples, n_targets), or str
            Targets, or the name of the label column of `X` (never a feature).
        sample_weight : array-like of shape (n_samples,), optional
            Non-negative individual weights.

        Returns
        -------
        self
        """
        self._fit(X, y, sample_weight, partial=False)
        return self

    def _sw_options(self) -> dict[str, Any]:
        return {"ensure_non_negative": True}

    def _reset(self) -> None:
        super()._reset()
        for attr in ("rank_", "singular_"):
            if hasattr(self, attr):
                delattr(self, attr)

    def _solve(self, state: GramState) -> None:
        G, B, x_offset, y_offset = state.system(self.fit_intercept)
        p = G.shape[0]
        if self.positive:
            set_intercept(self, nnls_gram(G, B).T, x_offset, y_offset)
            return
        evals, evecs = eigh_sorted(G)
        singular = np.sqrt(evals)
        cond = max(self.tol, np.sqrt(p * _EPS))
        rank = int((singular > cond * singular[0]).sum()) if p else 0
        if rank == p:
            coef = solve_spd(G, B)
        else:
            coef = pinv_solve(G, B, cond=cond, eig=(evals, evecs))[0]
        self.rank_ = rank
        self.singular_ = singular[: min(state.rows, p)]
        set_intercept(self, coef.T, x_offset, y_offset)
