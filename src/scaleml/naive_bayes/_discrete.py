"""Naive Bayes on counts and binary features: MultinomialNB, BernoulliNB."""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from numbers import Integral, Real
from typing import Any

import numpy as np
import polars as pl
from sklearn.utils._param_validation import Interval

from scaleml.naive_bayes._base import BaseNB, class_sums, feature_exprs, linear_combination

__all__ = ["BernoulliNB", "MultinomialNB"]

#: Below this, alpha is raised to it unless ``force_alpha`` (as in scikit-learn).
_ALPHA_LOWER_BOUND = 1e-10


@dataclass
class ClassCounts:
    """Rows per class and the per-class sum of every feature; merging is a sum."""

    class_count: np.ndarray
    feature_count: np.ndarray

    def merge(self, other: ClassCounts) -> ClassCounts:
        return ClassCounts(
            self.class_count + other.class_count, self.feature_count + other.feature_count
        )


class _BaseDiscreteNB(BaseNB):
    _parameter_constraints: dict[str, list[Any]] = {
        "alpha": [Interval(Real, 0, None, closed="left"), "array-like"],
        "fit_prior": ["boolean"],
        "class_prior": ["array-like", None],
        "force_alpha": ["boolean"],
        "batch_rows": [None, Interval(Integral, 1, None, closed="left")],
        "n_jobs": [None, Integral],
    }

    def _init_state(self) -> ClassCounts:
        k = len(self.classes_)
        return ClassCounts(np.zeros(k), np.zeros((k, self.n_features_in_)))

    def _update_state(
        self, state: ClassCounts, chunk: tuple[np.ndarray, np.ndarray]
    ) -> ClassCounts:
        X, y = chunk
        X = self._prepare_block(X)
        codes = self._codes(y)
        k = len(self.classes_)
        counts = np.bincount(codes, minlength=k).astype(np.float64)
        return state.merge(ClassCounts(counts, class_sums(X, codes, k)))

    def _prepare_block(self, X: np.ndarray) -> np.ndarray:
        return X

    def _finalize_state(self, state: ClassCounts) -> None:
        if state.class_count.sum() == 0:
            msg = (
                f"Found array with 0 sample(s) while a minimum of 1 is required by "
                f"{type(self).__name__}."
            )
            raise ValueError(msg)
        self.class_count_ = state.class_count.copy()
        self.feature_count_ = state.feature_count.copy()
        self._update_feature_log_prob(self._check_alpha())
        self._update_class_log_prior()

    def _check_alpha(self) -> Any:
        alpha: Any = np.asarray(self.alpha) if not isinstance(self.alpha, Real) else self.alpha
        alpha_min = np.min(alpha)
        if isinstance(alpha, np.ndarray):
            if alpha.shape[0] != self.n_features_in_:
                msg = (
                    "When alpha is an array, it should contains `n_features`. "
                    f"Got {alpha.shape[0]} elements instead of {self.n_features_in_}."
                )
                raise ValueError(msg)
            if alpha_min < 0:
                msg = "All values in alpha must be greater than 0."
                raise ValueError(msg)
        if alpha_min < _ALPHA_LOWER_BOUND and not self.force_alpha:
            warnings.warn(
                "alpha too small will result in numeric errors, setting alpha ="
                f" {_ALPHA_LOWER_BOUND:.1e}. Use `force_alpha=True` to keep alpha"
                " unchanged.",
                stacklevel=3,
            )
            return np.maximum(alpha, _ALPHA_LOWER_BOUND)
        return alpha

    def _update_class_log_prior(self) -> None:
        n_classes = len(self.classes_)
        if self.class_prior is not None:
            if len(self.class_prior) != n_classes:
                msg = "Number of priors must match number of classes."
                raise ValueError(msg)
            self.class_log_prior_ = np.log(self.class_prior)
        elif self.fit_prior:
            # A class declared to partial_fit but not seen yet has log prior -inf.
            with np.errstate(divide="ignore"):
                log_class_count = np.log(self.class_count_)
            self.class_log_prior_ = log_class_count - np.log(self.class_count_.sum())
        else:
            self.class_log_prior_ = np.full(n_classes, -np.log(n_classes))

    def _update_feature_log_prob(self, alpha: Any) -> None:
        raise NotImplementedError

    def _features(self, columns: list[str]) -> list[pl.Expr]:
        return feature_exprs(columns)

    def _linear_parts(self) -> tuple[np.ndarray, np.ndarray]:
        """``(W, b)`` with ``jll = X @ W.T + b``."""
        raise NotImplementedError

    def _jll(self, X: np.ndarray) -> np.ndarray:
        W, b = self._linear_parts()
        return self._prepare_block(X) @ W.T + b  # type: ignore[no-any-return]

    def _jll_exprs(self, columns: list[str]) -> list[pl.Expr]:
        W, b = self._linear_parts()
        x = self._features(columns)
        return [linear_combination(x, W[i], b[i]) for i in range(len(self.classes_))]

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.classifier_tags.poor_score = True
        return tags


class MultinomialNB(_BaseDiscreteNB):
    """Naive Bayes for count features, fitted out-of-core in one pass.

    The scikit-learn estimator of the same name. The per-class feature sums are
    accumulated chunk by chunk (a sum merges exactly), so ``fit``, ``partial_fit``,
    any ``batch_rows`` and any ``n_jobs`` give the same model. Prediction on lazy
    input is one linear Polars expression per class.

    Parameters
    ----------
    alpha : float or array-like of shape (n_features,), default=1.0
        Additive (Laplace/Lidstone) smoothing.
    force_alpha : bool, default=True
        If False, an alpha below 1e-10 is raised to 1e-10 (with a warning).
    fit_prior : bool, default=True
        Learn the class priors; if False, use a uniform prior.
    class_prior : array-like of shape (n_classes,), default=None
        Fixed prior probabilities of the classes.
    batch_rows : int, optional
        Rows per chunk (default: about 16 MiB of float64 per chunk).
    n_jobs : int, optional
        Row partitions folded in parallel threads (-1: one per core).

    Attributes
    ----------
    class_count_ : ndarray of shape (n_classes,)
    class_log_prior_ : ndarray of shape (n_classes,)
    classes_ : ndarray of shape (n_classes,)
    feature_count_ : ndarray of shape (n_classes, n_features)
    feature_log_prob_ : ndarray of shape (n_classes, n_features)
    n_features_in_ : int
    feature_names_in_ : ndarray of shape (n_features_in_,)

    Examples
    --------
    >>> import numpy as np
    >>> from scaleml import MultinomialNB
    >>> rng = np.random.RandomState(1)
    >>> X = rng.randint(5, size=(6, 100))
    >>> y = np.array([1, 2, 3, 4, 5, 6])
    >>> MultinomialNB().fit(X, y).predict(X[2:3])
    array([3])
    """

    def __init__(
        self,
        *,
        alpha: Any = 1.0,
        force_alpha: bool = True,
        fit_prior: bool = True,
        class_prior: Any = None,
        batch_rows: int | None = None,
        n_jobs: int | None = None,
    ) -> None:
        self.alpha = alpha
        self.force_alpha = force_alpha
        self.fit_prior = fit_prior
        self.class_prior = class_prior
        self.batch_rows = batch_rows
        self.n_jobs = n_jobs

    def _update_state(
        self, state: ClassCounts, chunk: tuple[np.ndarray, np.ndarray]
    ) -> ClassCounts:
        X = chunk[0]
        negative = np.asarray((X < 0).any(axis=0))
        if negative.any():
            names = [c for c, bad in zip(self._columns_in, negative, strict=True) if bad]
            msg = (
                f"Negative values in data passed to MultinomialNB (input X). "
                f"Column(s) with negative values: {names}."
            )
            raise ValueError(msg)
        return super()._update_state(state, chunk)

    def _update_feature_log_prob(self, alpha: Any) -> None:
        smoothed_fc = self.feature_count_ + alpha
        smoothed_cc = smoothed_fc.sum(axis=1)
        self.feature_log_prob_ = np.log(smoothed_fc) - np.log(smoothed_cc.reshape(-1, 1))

    def _linear_parts(self) -> tuple[np.ndarray, np.ndarray]:
        return self.feature_log_prob_, self.class_log_prior_

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.positive_only = True
        return tags


class BernoulliNB(_BaseDiscreteNB):
    """Naive Bayes for binary features, fitted out-of-core in one pass.

    The scikit-learn estimator of the same name: features are binarized at
    ``binarize`` (in the chunk for fit, in the expression for lazy prediction), then
    counted per class; counts merge exactly, so ``fit``, ``partial_fit``, any
    ``batch_rows`` and any ``n_jobs`` give the same model.

    Parameters
    ----------
    alpha : float or array-like of shape (n_features,), default=1.0
        Additive (Laplace/Lidstone) smoothing.
    force_alpha : bool, default=True
        If False, an alpha below 1e-10 is raised to 1e-10 (with a warning).
    binarize : float or None, default=0.0
        Threshold: a feature is 1 where it is greater. None: the features are
        already binary.
    fit_prior : bool, default=True
        Learn the class priors; if False, use a uniform prior.
    class_prior : array-like of shape (n_classes,), default=None
        Fixed prior probabilities of the classes.
    batch_rows : int, optional
        Rows per chunk (default: about 16 MiB of float64 per chunk).
    n_jobs : int, optional
        Row partitions folded in parallel threads (-1: one per core).

    Attributes
    ----------
    class_count_ : ndarray of shape (n_classes,)
    class_log_prior_ : ndarray of shape (n_classes,)
    classes_ : ndarray of shape (n_classes,)
    feature_count_ : ndarray of shape (n_classes, n_features)
    feature_log_prob_ : ndarray of shape (n_classes, n_features)
    n_features_in_ : int
    feature_names_in_ : ndarray of shape (n_features_in_,)

    Examples
    --------
    >>> import numpy as np
    >>> from scaleml import BernoulliNB
    >>> rng = np.random.RandomState(1)
    >>> X = rng.randint(5, size=(6, 100))
    >>> Y = np.array([1, 2, 3, 4, 4, 5])
    >>> BernoulliNB().fit(X, Y).predict(X[2:3])
    array([3])
    """

    _parameter_constraints: dict[str, list[Any]] = {
        **_BaseDiscreteNB._parameter_constraints,
        "binarize": [None, Interval(Real, 0, None, closed="left")],
    }

    def __init__(
        self,
        *,
        alpha: Any = 1.0,
        force_alpha: bool = True,
        binarize: float | None = 0.0,
        fit_prior: bool = True,
        class_prior: Any = None,
        batch_rows: int | None = None,
        n_jobs: int | None = None,
    ) -> None:
        self.alpha = alpha
        self.force_alpha = force_alpha
        self.binarize = binarize
        self.fit_prior = fit_prior
        self.class_prior = class_prior
        self.batch_rows = batch_rows
        self.n_jobs = n_jobs

    def _prepare_block(self, X: np.ndarray) -> np.ndarray:
        if self.binarize is None:
            return X
        return (X > self.binarize).astype(np.float64)

    def _features(self, columns: list[str]) -> list[pl.Expr]:
        x = super()._features(columns)
        if self.binarize is None:
            return x
        return [(e > float(self.binarize)).cast(pl.Float64) for e in x]

    def _update_feature_log_prob(self, alpha: Any) -> None:
        smoothed_fc = self.feature_count_ + alpha
        smoothed_cc = self.class_count_ + alpha * 2
        self.feature_log_prob_ = np.log(smoothed_fc) - np.log(smoothed_cc.reshape(-1, 1))

    def _linear_parts(self) -> tuple[np.ndarray, np.ndarray]:
        # jll = X @ (log p - log(1 - p)).T + sum log(1 - p) + log prior
        neg_prob = np.log(1 - np.exp(self.feature_log_prob_))
        return self.feature_log_prob_ - neg_prob, self.class_log_prior_ + neg_prob.sum(axis=1)
