"""What every naive Bayes classifier shares: labels, the fit driver, predictions."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import polars as pl
from scipy.special import logsumexp
from sklearn.base import ClassifierMixin
from sklearn.metrics import accuracy_score
from sklearn.utils.multiclass import (
    _check_partial_fit_first_call,
    check_classification_targets,
    unique_labels,
)
from sklearn.utils.validation import _check_y

from scaleml._exprs import replace_strict
from scaleml._fit import _check_finite_block, fold
from scaleml._predictor import BatchEstimator, FitInput
from scaleml._validation import Data
from scaleml.io import scan

__all__ = ["BaseNB", "class_sums", "feature_exprs", "linear_combination"]


def class_sums(X: np.ndarray, codes: np.ndarray, n_classes: int) -> np.ndarray:
    """``(n_classes, n_features)`` sums of the rows of `X` of each class code."""
    out = np.empty((n_classes, X.shape[1]))
    for j in range(X.shape[1]):
        out[:, j] = np.bincount(codes, weights=X[:, j], minlength=n_classes)
    return out


def feature_exprs(columns: Sequence[str]) -> list[pl.Expr]:
    """The features as float64 expressions, NaN read as null: a row with a missing
    value gets a null prediction, never a silently made-up one."""
    return [pl.col(c).cast(pl.Float64).fill_nan(None) for c in columns]


def linear_combination(exprs: Sequence[pl.Expr], coef: np.ndarray, intercept: float) -> pl.Expr:
    """``sum_j coef[j] * exprs[j] + intercept``; a null input gives a null result."""
    terms = [e * float(w) for e, w in zip(exprs, coef, strict=True)]
    if not terms:
        return pl.lit(float(intercept), dtype=pl.Float64)
    return pl.sum_horizontal(terms, ignore_nulls=False) + float(intercept)


class BaseNB(ClassifierMixin, BatchEstimator):  # type: ignore[misc]
    """Naive Bayes fitted from per-class sufficient statistics in one pass.

    Subclasses implement the mergeable-state parts (chunks are ``(X, codes)`` with
    ``codes`` the position of each label in ``classes_``), ``_finalize_state`` and the
    joint log-likelihood as an array (``_jll``) and as expressions (``_jll_exprs``).
    """

    _allow_nan = False

    # -- fitting ---------------------------------------------------------------------
    def fit(self, X: Any, y: Any) -> BaseNB:
        """Fit on `X` and `y` in one pass over the data.

        Parameters
        ----------
        X : array-like, DataFrame, LazyFrame, path/glob, DuckDB relation or Arrow data
        y : array-like of shape (n_samples,) or str
            The labels, or the name of the label column of `X`.

        Returns
        -------
        self
        """
        self._validate_params()
        for attr in ("_state", "classes_", "n_features_in_", "feature_names_in_"):
            if hasattr(self, attr):
                delattr(self, attr)
        return self._partial(X, y, None, first=True)

    def partial_fit(self, X: Any, y: Any, classes: Any = None) -> BaseNB:
        """Add a chunk of labelled rows; the fit does not depend on the split.

        Parameters
        ----------
        X : array-like, DataFrame, LazyFrame, path/glob, DuckDB relation or Arrow data
        y : array-like of shape (n_samples,) or str
        classes : array-like of shape (n_classes,), optional
            Every class that can appear in `y`; required on the first call.

        Returns
        -------
        self
        """
        self._validate_params()
        first = not hasattr(self, "_state")
        if first and getattr(self, "classes_", None) is None and classes is None:
            msg = "classes must be passed on the first call to partial_fit."
            raise ValueError(msg)
        _check_partial_fit_first_call(self, classes)
        return self._partial(X, y, self.classes_, first=first)

    def _partial(self, X: Any, y: Any, classes: np.ndarray | None, *, first: bool) -> BaseNB:
        if y is None:
            msg = f"{type(self).__name__} requires y to be passed, but the target y is None."
            raise ValueError(msg)
        fit_input, label = self._labelled_input(X, y, classes, reset=first)
        state = fold(
            self, fit_input.lf, columns=fit_input.columns, y_columns=[label],
            batch_rows=self.batch_rows, n_jobs=self.n_jobs, allow_nan=False,
            state=None if first else getattr(self, "_state", None),
        )  # fmt: skip
        self._state = state
        self._finalize_state(state)
        return self

    def _labelled_input(
        self, X: Any, y: Any, classes: np.ndarray | None, *, reset: bool
    ) -> tuple[FitInput, str | pl.Expr]:
        """The fit input and its label as class codes; sets ``classes_`` on a fit."""
        if isinstance(y, str):
            fit_input = self._fit_input(X, y, reset=reset)
            found = self._column_classes(fit_input.lf, y)
        else:
            y = _check_y(y, estimator=self)
            check_classification_targets(y)
            found = unique_labels(y)
        if classes is None:
            self.classes_ = found
        else:
            self._check_known(found)
        if isinstance(y, str):
            codes = replace_strict(
                pl.col(y),
                self.classes_.tolist(),
                list(range(len(self.classes_))),
                return_dtype=pl.Float64,
            )
            return fit_input, codes
        codes_arr = np.searchsorted(self.classes_, y).astype(np.float64)
        fit_input = self._fit_input(X, codes_arr, reset=reset)
        return fit_input, fit_input.y_columns[0]

    def _column_classes(self, lf: pl.LazyFrame, y: str) -> np.ndarray:
        """The distinct labels of column `y`, from one engine query."""
        values = lf.select(pl.col(y).unique()).collect(engine="streaming").to_series()
        nan = values.dtype.is_float() and values.is_nan().any()
        if values.null_count() or nan:
            msg = (
                f"The label column {y!r} contains missing values (null or NaN); "
                f"{type(self).__name__} needs a label for every row."
            )
            raise ValueError(msg)
        found = values.to_numpy()
        if found.dtype.kind == "U":
            found = found.astype(object)
        check_classification_targets(found)
        return np.asarray(unique_labels(found))

    def _check_known(self, found: np.ndarray) -> None:
        unseen = np.setdiff1d(found, self.classes_)
        if unseen.size:
            msg = (
                f"The target label(s) {unseen} in y do not exist in the initial classes "
                f"{self.classes_}"
            )
            raise ValueError(msg)

    @staticmethod
    def _codes(y: np.ndarray) -> np.ndarray:
        return y.astype(np.intp)

    def _merge_states(self, a: Any, b: Any) -> Any:
        return a.merge(b)

    # -- predicting ------------------------------------------------------------------
    def _jll(self, X: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def _jll_exprs(self, columns: list[str]) -> list[pl.Expr]:
        raise NotImplementedError

    def _collect(self, data: Data) -> np.ndarray:
        X = (
            data.lf.select(data.columns)
            .collect()
            .to_numpy(order="c")
            .astype(np.float64, copy=False)
        )
        _check_finite_block(self, X, data.columns)
        return X

    def _names(self, prefix: str) -> list[str]:
        return [f"{prefix}_{c}" for c in self.classes_]

    def predict_joint_log_proba(self, X: Any) -> Any:
        """Joint log-probability ``log P(x, c)`` of each class (columns
        ``joint_log_proba_<class>`` for lazy input).

        Returns
        -------
        LazyFrame or ndarray of shape (n_samples, n_classes)
        """
        data = self._predict_input(X)
        if data.lazy:
            exprs = self._jll_exprs(data.columns)
            names = self._names("joint_log_proba")
            return data.lf.select(e.alias(n) for e, n in zip(exprs, names, strict=True))
        return self._jll(self._collect(data))

    def predict(self, X: Any) -> Any:
        """The most probable class (column ``prediction`` for lazy input).

        Returns
        -------
        LazyFrame or ndarray of shape (n_samples,)
        """
        data = self._predict_input(X)
        if data.lazy:
            return data.lf.select(self._prediction_expr(data.columns))
        return self.classes_[np.argmax(self._jll(self._collect(data)), axis=1)]

    def _prediction_expr(self, columns: list[str]) -> pl.Expr:
        best = pl.concat_list(self._jll_exprs(columns)).list.arg_max()
        label = replace_strict(
            best,
            list(range(len(self.classes_))),
            self.classes_.tolist(),
            return_dtype=pl.Series(self.classes_).dtype,
        )
        return label.alias("prediction")

    def predict_log_proba(self, X: Any) -> Any:
        """Log-probability of each class (columns ``log_proba_<class>`` for lazy input).

        Returns
        -------
        LazyFrame or ndarray of shape (n_samples, n_classes)
        """
        return self._log_proba(X, exp=False)

    def predict_proba(self, X: Any) -> Any:
        """Probability of each class (columns ``proba_<class>`` for lazy input).

        Returns
        -------
        LazyFrame or ndarray of shape (n_samples, n_classes)
        """
        return self._log_proba(X, exp=True)

    def _log_proba(self, X: Any, *, exp: bool) -> Any:
        data = self._predict_input(X)
        if not data.lazy:
            jll = self._jll(self._collect(data))
            log_proba = jll - np.atleast_2d(logsumexp(jll, axis=1)).T
            return np.exp(log_proba) if exp else log_proba
        jll_exprs = self._jll_exprs(data.columns)
        top = pl.max_horizontal(jll_exprs)
        log_norm = top + pl.sum_horizontal([(e - top).exp() for e in jll_exprs]).log()
        names = self._names("proba" if exp else "log_proba")
        exprs = [(e - log_norm).exp() if exp else e - log_norm for e in jll_exprs]
        return data.lf.select(e.alias(n) for e, n in zip(exprs, names, strict=True))

    def score(self, X: Any, y: Any, sample_weight: Any = None) -> float:
        """Accuracy on `X` and `y`; `y` may name a label column of `X`, then the
        accuracy is one streaming engine query.

        Returns
        -------
        float
        """
        if isinstance(y, str):
            lf = scan(X)
            data = self._predict_input(lf.drop(y))
            correct = (self._prediction_expr(data.columns) == pl.col(y)).cast(pl.Float64)
            return float(lf.select(correct.mean()).collect(engine="streaming").item())
        pred = self.predict(X)
        if isinstance(pred, pl.LazyFrame):
            pred = pred.collect().to_series().to_numpy()
        return float(accuracy_score(y, pred, sample_weight=sample_weight))
