"""Gaussian naive Bayes from per-class moments merged with Chan et al.'s update."""

from __future__ import annotations

from dataclasses import dataclass
from numbers import Integral, Real
from typing import Any

import numpy as np
import polars as pl
from sklearn.utils._param_validation import Interval

from scaleml.naive_bayes._base import BaseNB, class_sums, feature_exprs

__all__ = ["GaussianNB"]


@dataclass
class ClassMoments:
    """Per-class row count, mean and centred sum of squares ``m2`` of every feature."""

    count: np.ndarray
    mean: np.ndarray
    m2: np.ndarray

    @classmethod
    def empty(cls, n_classes: int, n_features: int) -> ClassMoments:
        shape = (n_classes, n_features)
        return cls(np.zeros(n_classes), np.zeros(shape), np.zeros(shape))

    @classmethod
    def of(cls, X: np.ndarray, codes: np.ndarray, n_classes: int) -> ClassMoments:
        count = np.bincount(codes, minlength=n_classes).astype(np.float64)
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = np.where(
                count[:, None] > 0, class_sums(X, codes, n_classes) / count[:, None], 0.0
            )
        # Two passes over the block: squares of deviations from the block's class mean,
        # never the cancellation-prone sum(x^2) - n mean^2.
        deviation = X - mean[codes]
        return cls(count, mean, class_sums(deviation * deviation, codes, n_classes))

    def merge(self, other: ClassMoments) -> ClassMoments:
        n = self.count + other.count
        safe = np.maximum(n, 1.0)[:, None]
        delta = other.mean - self.mean
        return ClassMoments(
            n,
            self.mean + delta * (other.count[:, None] / safe),
            self.m2 + other.m2 + delta**2 * (self.count * other.count)[:, None] / safe,
        )

    def pooled_variance(self) -> np.ndarray:
        """Variance of every feature over all classes (law of total variance)."""
        n = self.count.sum()
        mean = self.count @ self.mean / n
        m2 = self.m2.sum(axis=0) + self.count @ (self.mean - mean) ** 2
        return np.asarray(m2 / n)


class GaussianNB(BaseNB):
    """Gaussian naive Bayes, fitted out-of-core in one pass.

    The scikit-learn estimator of the same name. Per class, the count, mean and
    centred sum of squares of every feature are computed per chunk and merged with
    Chan, Golub & LeVeque's pairwise update, so ``fit``, any ``batch_rows``, any
    ``n_jobs`` and any sequence of ``partial_fit`` calls give the same model.
    Prediction on lazy input is Polars expressions.

    Parameters
    ----------
    priors : array-like of shape (n_classes,), default=None
        Prior probabilities of the classes; by default the class frequencies.
    var_smoothing : float, default=1e-9
        Fraction of the largest feature variance added to every variance.
    batch_rows : int, optional
        Rows per chunk (default: about 16 MiB of float64 per chunk).
    n_jobs : int, optional
        Row partitions folded in parallel threads (-1: one per core).

    Attributes
    ----------
    class_count_ : ndarray of shape (n_classes,)
    class_prior_ : ndarray of shape (n_classes,)
    classes_ : ndarray of shape (n_classes,)
    epsilon_ : float
        The variance added to every variance. Unlike scikit-learn's ``partial_fit``
        (which uses the last chunk only), it comes from all the rows seen, so it does
        not depend on how the data was split.
    theta_ : ndarray of shape (n_classes, n_features)
    var_ : ndarray of shape (n_classes, n_features)
    n_features_in_ : int
    feature_names_in_ : ndarray of shape (n_features_in_,)

    Examples
    --------
    >>> import numpy as np
    >>> from scaleml import GaussianNB
    >>> X = np.array([[-1, -1], [-2, -1], [-3, -2], [1, 1], [2, 1], [3, 2]])
    >>> y = np.array([1, 1, 1, 2, 2, 2])
    >>> GaussianNB().fit(X, y).predict([[-0.8, -1]])
    array([1])

    A label column and lazy prediction:

    >>> import polars as pl
    >>> lf = pl.LazyFrame({"a": [-1.0, -2.0, 1.0, 2.0], "label": ["x", "x", "y", "y"]})
    >>> clf = GaussianNB().fit(lf, y="label")
    >>> clf.predict(lf).collect()["prediction"].to_list()
    ['x', 'x', 'y', 'y']
    """

    _parameter_constraints: dict[str, list[Any]] = {
        "priors": ["array-like", None],
        "var_smoothing": [Interval(Real, 0, None, closed="left")],
        "batch_rows": [None, Interval(Integral, 1, None, closed="left")],
        "n_jobs": [None, Integral],
    }

    def __init__(
        self,
        *,
        priors: Any = None,
        var_smoothing: float = 1e-9,
        batch_rows: int | None = None,
        n_jobs: int | None = None,
    ) -> None:
        self.priors = priors
        self.var_smoothing = var_smoothing
        self.batch_rows = batch_rows
        self.n_jobs = n_jobs

    def _init_state(self) -> ClassMoments:
        return ClassMoments.empty(len(self.classes_), self.n_features_in_)

    def _update_state(
        self, state: ClassMoments, chunk: tuple[np.ndarray, np.ndarray]
    ) -> ClassMoments:
        X, y = chunk
        return state.merge(ClassMoments.of(X, self._codes(y), len(self.classes_)))

    def _finalize_state(self, state: ClassMoments) -> None:
        n_classes = len(self.classes_)
        if self.priors is not None:
            priors = np.asarray(self.priors, dtype=np.float64)
            if priors.shape[0] != n_classes:
                msg = "Number of priors must match number of classes."
                raise ValueError(msg)
            if not np.isclose(priors.sum(), 1.0):
                msg = "The sum of the priors should be 1."
                raise ValueError(msg)
            if (priors < 0).any():
                msg = "Priors must be non-negative."
                raise ValueError(msg)
        if state.count.sum() == 0:
            msg = "Found array with 0 sample(s) while a minimum of 1 is required by GaussianNB."
            raise ValueError(msg)
        self.epsilon_ = float(self.var_smoothing * state.pooled_variance().max())
        with np.errstate(invalid="ignore", divide="ignore"):
            var = np.where(state.count[:, None] > 0, state.m2 / state.count[:, None], 0.0)
        self.theta_ = state.mean.copy()
        self.var_ = var + self.epsilon_
        self.class_count_ = state.count.copy()
        self.class_prior_ = priors if self.priors is not None else state.count / state.count.sum()

    def _log_prior(self) -> np.ndarray:
        with np.errstate(divide="ignore"):
            return np.log(self.class_prior_)

    def _jll(self, X: np.ndarray) -> np.ndarray:
        out = np.empty((X.shape[0], len(self.classes_)))
        log_prior = self._log_prior()
        for i in range(len(self.classes_)):
            n_ij = -0.5 * np.sum(np.log(2.0 * np.pi * self.var_[i, :]))
            n_ij = n_ij - 0.5 * np.sum(((X - self.theta_[i, :]) ** 2) / self.var_[i, :], axis=1)
            out[:, i] = log_prior[i] + n_ij
        return out

    def _jll_exprs(self, columns: list[str]) -> list[pl.Expr]:
        x = feature_exprs(columns)
        exprs = []
        for i, log_prior in enumerate(self._log_prior()):
            const = log_prior - 0.5 * np.sum(np.log(2.0 * np.pi * self.var_[i, :]))
            terms = [
                (xj - float(t)).pow(2) * float(-0.5 / v)
                for xj, t, v in zip(x, self.theta_[i], self.var_[i], strict=True)
            ]
            exprs.append(pl.sum_horizontal(terms, ignore_nulls=False) + float(const))
        return exprs
