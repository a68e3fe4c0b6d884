"""What linear classifiers share: labels, class weights, and predicting as expressions.

The classes of a fit come from one engine query over the label (distinct values and
their counts); the label is then encoded in the batch reader by a Polars expression
(``replace_strict``), so kernels only ever see float codes ``0 .. K-1``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl
from scipy.special import expit
from sklearn.metrics import accuracy_score
from sklearn.utils import compute_class_weight
from sklearn.utils.extmath import softmax
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import _check_y, check_is_fitted

from scaleml._exprs import replace_strict
from scaleml._predictor import FitInput, linear_expr
from scaleml._validation import Data, check_numeric, input_data

__all__ = [
    "Labels",
    "LinearClassifierOutputMixin",
    "check_y",
    "class_weight_vector",
    "data_digest",
    "label_codes",
    "labels_of",
]


def check_y(est: Any, y: Any) -> Any:
    """scikit-learn's checks of an in-memory classification target; a str passes."""
    if y is None:
        msg = (
            f"{type(est).__name__} requires y to be passed, but the target y is None. "
            "Pass an array of labels or the name of the label column of X."
        )
        raise ValueError(msg)
    if isinstance(y, str):
        return y
    y = _check_y(y, estimator=est)
    check_classification_targets(y)
    return y


@dataclass
class Labels:
    """The distinct labels of a fit, sorted as ``np.unique`` sorts, with their counts."""

    classes: np.ndarray
    counts: np.ndarray

    @property
    def n_rows(self) -> int:
        return int(self.counts.sum())


def labels_of(est: Any, fit: FitInput) -> Labels:
    """Classes and counts: from the in-memory ``y``, or one engine query on the column."""
    if fit.data.y is not None:
        classes, counts = np.unique(fit.data.y, return_counts=True)
        return Labels(classes, counts.astype(np.int64))
    column = fit.y_columns[0]
    frame = fit.lf.group_by(column).agg(pl.len().alias("n")).collect(engine="streaming")
    values = frame[column]
    if values.null_count():
        msg = (
            f"The label column y={column!r} contains missing values (null); "
            f"{type(est).__name__} needs a label on every row."
        )
        raise ValueError(msg)
    if values.dtype.is_float() and values.is_nan().any():
        msg = f"Input y contains NaN (label column {column!r})."
        raise ValueError(msg)
    frame = frame.sort(column)
    classes = frame[column].to_numpy()
    if classes.dtype == object:
        classes = classes.astype(str)
    check_classification_targets(classes)
    return Labels(classes, frame["n"].to_numpy().astype(np.int64))


def label_codes(column: str, classes: np.ndarray, default: float | None = None) -> pl.Expr:
    """``column`` mapped to the float codes ``0 .. K-1`` of `classes`.

    With a `default`, labels not among `classes` map to it instead of failing.
    """
    codes = [float(i) for i in range(len(classes))]
    kwargs: dict[str, Any] = {"return_dtype": pl.Float64}
    if default is not None:
        kwargs["default"] = default
    return replace_strict(pl.col(column), classes.tolist(), codes, **kwargs).alias(column)


def class_weight_vector(class_weight: Any, labels: Labels) -> np.ndarray:
    """The weight of each class, as scikit-learn's ``compute_class_weight``.

    "balanced" needs only the class counts: ``n_samples / (n_classes * count)``.
    """
    if isinstance(class_weight, str) and class_weight == "balanced":
        counts = labels.counts.astype(np.float64)
        return np.asarray(counts.sum() / (len(counts) * counts), dtype=np.float64)
    return np.asarray(
        compute_class_weight(class_weight, classes=labels.classes, y=labels.classes),
        dtype=np.float64,
    )


def data_digest(fit: FitInput) -> str:
    """A digest of in-memory data, for checkpoint keys.

    The query plan of an in-memory frame names its columns but not its values, so
    a checkpoint of another dataset of the same shape must be told apart by content.
    Sources read from files are identified by their plan (empty digest).
    """
    if fit.data.lazy:
        return ""
    row_hashes = pl.struct(pl.all()).hash(seed=0)
    aggregates = [row_hashes.sum().alias("sum"), row_hashes.max().alias("max"), pl.len()]
    return str(fit.lf.select(aggregates).collect().row(0))


def _eager_matrix(est: Any, data: Data) -> np.ndarray:
    """The features of in-memory input as one float64 array, refusing NaN/inf."""
    X = data.lf.select(pl.col(c).cast(pl.Float64) for c in data.columns).collect().to_numpy()
    X = np.ascontiguousarray(X, dtype=np.float64)
    bad = ~np.isfinite(X).all(axis=0)
    if bad.any():
        names = [c for c, b in zip(data.columns, bad, strict=True) if b]
        msg = (
            f"Input X contains NaN, null or infinity in column(s) {names}, which "
            f"{type(est).__name__} does not accept."
        )
        raise ValueError(msg)
    return X


class LinearClassifierOutputMixin:
    """decision_function / predict / predict_proba / score of a linear classifier.

    Needs ``classes_``, ``coef_`` (1 or K rows) and ``intercept_``. In-memory input
    gets exactly scikit-learn's arrays (same numpy arithmetic); lazy input gets a
    LazyFrame of expressions: "decision" or "decision_<class>", "prediction",
    "proba_<class>", "log_proba_<class>". Subclasses define ``_proba_array`` and
    ``_proba_exprs``.
    """

    classes_: np.ndarray
    coef_: np.ndarray
    intercept_: np.ndarray

    # -- in-memory: scikit-learn's arithmetic --------------------------------------
    def _decision_array(self, X: np.ndarray) -> np.ndarray:
        scores = X @ self.coef_.T + self.intercept_
        return np.asarray(scores.ravel() if scores.shape[1] == 1 else scores)

    def _predict_array(self, scores: np.ndarray) -> np.ndarray:
        idx = (scores > 0).astype(int) if scores.ndim == 1 else scores.argmax(axis=1)
        return np.take(self.classes_, idx, axis=0)

    def _proba_lr_array(self, scores: np.ndarray) -> np.ndarray:
        """scikit-learn's ``_predict_proba_lr``: logistic per class, normalised (OvR)."""
        prob = expit(scores)
        if prob.ndim == 1:
            return np.vstack([1 - prob, prob]).T
        return np.asarray(prob / prob.sum(axis=1).reshape((prob.shape[0], -1)))

    def _softmax_array(self, scores: np.ndarray) -> np.ndarray:
        if scores.ndim == 1:
            return self._proba_lr_array(scores)
        return np.asarray(softmax(scores.copy(), copy=False))

    # -- lazy: expressions ----------------------------------------------------------
    def _decision_exprs(self, columns: list[str]) -> list[pl.Expr]:
        exprs = [
            linear_expr(columns, w, b) for w, b in zip(self.coef_, self.intercept_, strict=True)
        ]
        if len(exprs) == 1:
            return [exprs[0].alias("decision")]
        return [e.alias(f"decision_{c}") for e, c in zip(exprs, self.classes_, strict=True)]

    def _predict_expr(self, columns: list[str]) -> pl.Expr:
        decisions = self._decision_exprs(columns)
        labels = self.classes_.tolist()
        dtype = pl.Series(self.classes_).dtype  # the labels' own type (Int8 stays Int8)
        if len(decisions) == 1:
            d = decisions[0]
            # NaN/null decisions give a null prediction, never a silent class.
            first, second = pl.lit(labels[0], dtype=dtype), pl.lit(labels[1], dtype=dtype)
            out = pl.when(d > 0).then(second).when(d <= 0).then(first)
            return out.alias("prediction")
        missing = pl.any_horizontal([d.is_null() | d.is_nan() for d in decisions])
        best = pl.concat_list(decisions).list.arg_max()
        named = replace_strict(best, list(range(len(labels))), labels, return_dtype=dtype)
        return pl.when(missing).then(None).otherwise(named).alias("prediction")

    def _proba_names(self) -> list[str]:
        return [f"proba_{c}" for c in self.classes_]

    def _sigmoid_exprs(self, columns: list[str]) -> list[pl.Expr]:
        decisions = self._decision_exprs(columns)
        probs = [1.0 / (1.0 + (-d).exp()) for d in decisions]
        if len(probs) == 1:
            return [1.0 - probs[0], probs[0]]
        total = pl.sum_horizontal(probs)
        return [p / total for p in probs]

    def _softmax_exprs(self, columns: list[str]) -> list[pl.Expr]:
        decisions = self._decision_exprs(columns)
        if len(decisions) == 1:
            return self._sigmoid_exprs(columns)
        top = pl.max_horizontal(decisions)
        exps = [(d - top).exp() for d in decisions]
        total = pl.sum_horizontal(exps)
        return [e / total for e in exps]

    # -- public API -----------------------------------------------------------------
    def decision_function(self, X: Any) -> Any:
        """Confidence scores: signed distance to the hyperplane, one per class.

        Parameters
        ----------
        X : array-like, DataFrame, LazyFrame, path/glob, DuckDB relation or Arrow data

        Returns
        -------
        ndarray of shape (n_samples,) or (n_samples, n_classes), or a LazyFrame with
        column "decision" (binary) or "decision_<class>".
        """
        data = self._predict_input(X)  # type: ignore[attr-defined]
        if data.lazy:
            return data.lf.select(self._decision_exprs(data.columns))
        return self._decision_array(_eager_matrix(self, data))

    def predict(self, X: Any) -> Any:
        """Predict class labels.

        Returns
        -------
        ndarray of shape (n_samples,), or a LazyFrame with column "prediction".
        """
        data = self._predict_input(X)  # type: ignore[attr-defined]
        if data.lazy:
            return data.lf.select(self._predict_expr(data.columns))
        return self._predict_array(self._decision_array(_eager_matrix(self, data)))

    def _predict_proba(self, X: Any) -> Any:
        data = self._predict_input(X)  # type: ignore[attr-defined]
        if data.lazy:
            exprs = self._proba_exprs(data.columns)
            return data.lf.select(
                e.alias(n) for e, n in zip(exprs, self._proba_names(), strict=True)
            )
        return self._proba_array(self._decision_array(_eager_matrix(self, data)))

    def _predict_log_proba(self, X: Any) -> Any:
        proba = self._predict_proba(X)
        if isinstance(proba, pl.LazyFrame):
            return proba.select(pl.all().log().name.map(lambda n: "log_" + n))
        return np.log(proba)

    def _proba_array(self, scores: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def _proba_exprs(self, columns: list[str]) -> list[pl.Expr]:
        raise NotImplementedError

    def score(self, X: Any, y: Any, sample_weight: Any = None) -> float:
        """Mean accuracy on `X` against `y` (an array, or the name of a label column).

        With a label column the accuracy is one streaming query: nothing is
        collected but the result.

        Returns
        -------
        float
        """
        if isinstance(y, str):
            check_is_fitted(self)
            data = input_data(self, X, y, reset=False, numeric=True, allow_nan=False)
            check_numeric(self, data.lf.collect_schema(), data.columns)
            if sample_weight is not None:
                msg = "sample_weight is not supported with y given as a column name."
                raise ValueError(msg)
            hit = (self._predict_expr(data.columns) == pl.col(y)).fill_null(False)
            return float(
                data.lf.select(hit.cast(pl.Float64).mean()).collect(engine="streaming").item()
            )
        pred = self.predict(X)
        if isinstance(pred, pl.LazyFrame):
            pred = pred.collect(engine="streaming").to_series().to_numpy()
        return float(accuracy_score(y, pred, sample_weight=sample_weight))
