"""Classification metrics: accuracy, confusion matrix, log loss.

Out of core, each is one streaming Polars aggregation grouped by the labels, so its
state is O(n_classes) (log loss) or O(n_classes**2) (accuracy, confusion matrix)
whatever the number of rows; the label checks then run on the distinct labels with
scikit-learn's own ``type_of_target`` / ``unique_labels``, so errors match it.
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np
import polars as pl
import sklearn.metrics as skm
from sklearn.preprocessing import LabelBinarizer
from sklearn.utils._param_validation import StrOptions
from sklearn.utils.multiclass import type_of_target, unique_labels

from scaleml.metrics._inputs import (
    MetricFrame,
    check_weight_stats,
    collect,
    finite_checks,
    label_expr,
    metric_frame,
    numeric_expr,
    raise_empty,
    raise_not_finite,
    totals,
    validated,
    weight_checks,
)

__all__ = ["accuracy_score", "confusion_matrix", "log_loss"]


# --------------------------------------------------------------------------- labels


class _Pairs:
    """Weight (and row count) of every distinct (y_true, y_pred) pair."""

    def __init__(self, frame: MetricFrame) -> None:
        t, p = label_expr(frame, "y_true"), label_expr(frame, "y_pred")
        aggs = [pl.len().alias("n"), *weight_checks(frame)]
        if frame.weight is not None:
            w = pl.col(frame.weight)
            aggs.append(
                (w.cast(pl.Int64) if frame.weight_is_integer() else w.cast(pl.Float64))
                .sum()
                .alias("w")
            )
        query = frame.lf.group_by(t.alias("t"), p.alias("p")).agg(aggs)
        table = collect(query, frame)
        self.n_rows = int(table["n"].sum())
        check_weight_stats(frame, totals(table, [c for c in table.columns if "__" in c]))
        for key, role in (("t", "y_true"), ("p", "y_pred")):
            if table[key].null_count():
                msg = f"Input {role} contains missing values (null) in {frame.describe(role)}."
                raise ValueError(msg)
            if table[key].dtype.is_float() and table[key].is_nan().any():
                msg = f"Input {role} contains NaN. ({frame.describe(role)} has NaN values.)"
                raise ValueError(msg)
        self.t = table["t"].to_numpy()
        self.p = table["p"].to_numpy()
        self.n = table["n"].to_numpy().astype(np.int64)
        self.w = table["w"].to_numpy() if frame.weight is not None else None

    @property
    def weights(self) -> np.ndarray:
        """Per-pair sum of weights, or of rows without weights."""
        return self.w if self.w is not None else self.n

    def check_targets(self) -> tuple[str, np.ndarray]:
        """scikit-learn's ``_check_targets`` on the distinct labels: (type, labels)."""
        if self.n_rows == 0:
            msg = (
                "Found empty input array (e.g., `y_true` or `y_pred`) while a minimum "
                "of 1 sample is required."
            )
            raise ValueError(msg)
        t_u, p_u = np.unique(self.t), np.unique(self.p)
        type_true = type_of_target(t_u, input_name="y_true")
        type_pred = type_of_target(p_u, input_name="y_pred")
        y_type = {type_true, type_pred}
        if y_type == {"binary", "multiclass"}:
            y_type = {"multiclass"}
        if len(y_type) > 1:
            msg = (
                f"Classification metrics can't handle a mix of {type_true} and {type_pred} targets"
            )
            raise ValueError(msg)
        kind = y_type.pop()
        if kind not in ("binary", "multiclass"):
            msg = f"{kind} is not supported"
            raise ValueError(msg)
        labels = unique_labels(t_u, p_u)
        if kind == "binary" and labels.shape[0] > 2:
            kind = "multiclass"
        return kind, labels


# ------------------------------------------------------------------------- accuracy


@validated(
    {
        "normalize": ["boolean"],
    }
)
def accuracy_score(
    y_true: Any,
    y_pred: Any,
    *,
    normalize: bool = True,
    sample_weight: Any = None,
    data: Any = None,
) -> float:
    """Accuracy classification score, in memory or streamed out of core.

    Same as :func:`sklearn.metrics.accuracy_score` for array-likes. Out of core, one
    streaming Polars query counts the (weighted) rows per distinct
    ``(y_true, y_pred)`` pair; memory is O(n_classes**2).

    Parameters
    ----------
    y_true : array-like, str, or single-column LazyFrame / DuckDB relation
        True labels, or the name of their column in `data`.
    y_pred : array-like, str, or single-column LazyFrame / DuckDB relation
        Predicted labels, or the name of their column in `data` (e.g. the
        ``"prediction"`` column of a lazy ``predict``).
    normalize : bool, default=True
        Return the fraction of correctly classified samples; otherwise their number.
    sample_weight : array-like, str or single-column lazy frame, default=None
        Sample weights, or the name of their column in `data`.
    data : LazyFrame, path, glob, DuckDB relation..., default=None
        Any input of :func:`scaleml.scan` holding the named columns.

    Returns
    -------
    float

    Examples
    --------
    >>> import polars as pl
    >>> from scaleml.metrics import accuracy_score
    >>> lf = pl.LazyFrame({"y": [0, 1, 2, 3], "prediction": [0, 2, 1, 3]})
    >>> accuracy_score("y", "prediction", data=lf)
    0.5
    >>> accuracy_score([0, 1, 2, 3], [0, 2, 1, 3], normalize=False)
    2.0
    """
    frame = metric_frame(
        {"y_true": y_true, "y_pred": y_pred}, data=data, sample_weight=sample_weight
    )
    if frame is None:
        score: float = skm.accuracy_score(
            y_true, y_pred, normalize=normalize, sample_weight=sample_weight
        )
        return score
    pairs = _Pairs(frame)
    pairs.check_targets()
    weights = pairs.weights.astype(np.float64)
    correct = float(weights[pairs.t == pairs.p].sum())
    if not normalize:
        return correct
    total = float(weights.sum())
    if total == 0:
        msg = "Weights sum to zero, can't be normalized"
        raise ZeroDivisionError(msg)
    return correct / total


# ------------------------------------------------------------------ confusion matrix


@validated(
    {
        "labels": ["array-like", None],
        "normalize": [StrOptions({"true", "pred", "all"}), None],
    }
)
def confusion_matrix(
    y_true: Any,
    y_pred: Any,
    *,
    labels: Any = None,
    sample_weight: Any = None,
    normalize: str | None = None,
    data: Any = None,
) -> np.ndarray:
    """Confusion matrix, in memory or streamed out of core.

    Same as :func:`sklearn.metrics.confusion_matrix` for array-likes. Out of core,
    one streaming Polars ``group_by(y_true, y_pred)`` gives the (weighted) count of
    every pair, laid out as the ``(n_classes, n_classes)`` array.

    Parameters
    ----------
    y_true, y_pred : array-like, str, or single-column LazyFrame / DuckDB relation
        True and predicted labels, or the names of their columns in `data`.
    labels : array-like of shape (n_classes,), default=None
        The labels indexing the matrix; by default the sorted labels seen in
        `y_true` or `y_pred`.
    sample_weight : array-like, str or single-column lazy frame, default=None
        Sample weights, or the name of their column in `data`.
    normalize : {"true", "pred", "all"}, default=None
        Normalise over rows, columns or the whole matrix.
    data : LazyFrame, path, glob, DuckDB relation..., default=None
        Any input of :func:`scaleml.scan` holding the named columns.

    Returns
    -------
    ndarray of shape (n_classes, n_classes)

    Examples
    --------
    >>> import polars as pl
    >>> from scaleml.metrics import confusion_matrix
    >>> lf = pl.LazyFrame({"y": ["cat", "ant", "cat"], "pred": ["ant", "ant", "cat"]})
    >>> confusion_matrix("y", "pred", data=lf)
    array([[1, 0],
           [1, 1]])
    """
    frame = metric_frame(
        {"y_true": y_true, "y_pred": y_pred}, data=data, sample_weight=sample_weight
    )
    if frame is None:
        cm: np.ndarray = skm.confusion_matrix(
            y_true, y_pred, labels=labels, sample_weight=sample_weight, normalize=normalize
        )
        return cm
    pairs = _Pairs(frame)
    if labels is not None:
        labels = np.asarray(labels)
        if labels.size == 0:
            msg = "'labels' should contain at least one label."
            raise ValueError(msg)
        if pairs.n_rows == 0:
            return np.zeros((labels.size, labels.size), dtype=int)
    _, seen = pairs.check_targets()
    if labels is None:
        labels = seen
    elif len(np.intersect1d(np.unique(pairs.t), labels)) == 0:
        msg = "At least one label specified must be in y_true"
        raise ValueError(msg)
    return _layout(pairs, labels, frame.weight_is_integer(), normalize)


def _layout(pairs: _Pairs, labels: np.ndarray, integer: bool, normalize: str | None) -> np.ndarray:
    index = {label: i for i, label in enumerate(labels.tolist())}
    k = len(labels)
    rows = np.array([index.get(v, -1) for v in pairs.t.tolist()], dtype=np.int64)
    cols = np.array([index.get(v, -1) for v in pairs.p.tolist()], dtype=np.int64)
    keep = (rows >= 0) & (cols >= 0)
    cm = np.zeros((k, k), dtype=np.int64 if integer else np.float64)
    np.add.at(cm, (rows[keep], cols[keep]), pairs.weights[keep])
    with np.errstate(all="ignore"):
        if normalize == "true":
            cm = cm / cm.sum(axis=1, keepdims=True)
        elif normalize == "pred":
            cm = cm / cm.sum(axis=0, keepdims=True)
        elif normalize == "all":
            cm = cm / cm.sum()
        cm = np.nan_to_num(cm)
    if cm.shape == (1, 1):
        warnings.warn(
            "A single label was found in 'y_true' and 'y_pred'. For the confusion "
            "matrix to have the correct shape, use the 'labels' parameter to pass "
            "all known labels.",
            UserWarning,
            stacklevel=3,
        )
    return cm


# ------------------------------------------------------------------------- log loss


@validated(
    {
        "normalize": ["boolean"],
        "labels": ["array-like", None],
    }
)
def log_loss(
    y_true: Any,
    y_proba: Any = None,
    *,
    normalize: bool = True,
    sample_weight: Any = None,
    labels: Any = None,
    y_pred: Any = "deprecated",
    data: Any = None,
) -> float:
    """Log loss (cross-entropy), in memory or streamed out of core.

    Same as :func:`sklearn.metrics.log_loss` (scikit-learn 1.9: the probabilities
    are ``y_proba``, ``y_pred`` is its deprecated alias) for array-likes. Out of
    core, one streaming Polars query grouped by ``y_true`` sums
    ``-log(clip(p_k, eps, 1 - eps))`` for every probability column ``k``; the loss is
    the sum, over the distinct labels, of the entry of the label's own column.

    Parameters
    ----------
    y_true : array-like, str, or single-column LazyFrame / DuckDB relation
        True labels, or the name of their column in `data`.
    y_proba : array-like, str, list of str, or LazyFrame / DuckDB relation
        Probabilities: ``(n_samples, n_classes)`` with columns in the sorted label
        order (e.g. ``["proba_a", "proba_b"]``, or the LazyFrame returned by a lazy
        ``predict_proba``), or the positive class's probability alone.
    normalize : bool, default=True
        Return the mean loss per sample; otherwise the sum.
    sample_weight : array-like, str or single-column lazy frame, default=None
        Sample weights, or the name of their column in `data`.
    labels : array-like, default=None
        The classes; by default the labels seen in `y_true`.
    y_pred : deprecated
        Former name of `y_proba` (deprecated in scikit-learn 1.9).
    data : LazyFrame, path, glob, DuckDB relation..., default=None
        Any input of :func:`scaleml.scan` holding the named columns.

    Returns
    -------
    float

    Examples
    --------
    >>> import polars as pl
    >>> from scaleml.metrics import log_loss
    >>> lf = pl.LazyFrame({
    ...     "y": ["spam", "ham", "ham", "spam"],
    ...     "proba_ham": [0.1, 0.9, 0.8, 0.35],
    ...     "proba_spam": [0.9, 0.1, 0.2, 0.65],
    ... })
    >>> round(log_loss("y", ["proba_ham", "proba_spam"], data=lf), 5)
    0.21616
    """
    if not (isinstance(y_pred, str) and y_pred == "deprecated"):
        if y_proba is not None:
            msg = (
                "Cannot use both `y_pred` and `y_proba`. `y_pred` is deprecated, use "
                "`y_proba` instead."
            )
            raise ValueError(msg)
        warnings.warn(
            "`y_pred` was renamed to `y_proba` in version 1.9 and will be removed in "
            "1.11. Use `y_proba` instead.",
            FutureWarning,
            stacklevel=3,
        )
        y_proba = y_pred
    frame = metric_frame(
        {"y_true": y_true, "y_proba": y_proba},
        data=data,
        sample_weight=sample_weight,
        multi=["y_proba"],
    )
    if frame is None:
        loss: float = skm.log_loss(
            y_true, y_proba, normalize=normalize, sample_weight=sample_weight, labels=labels
        )
        return loss
    return _LogLoss(frame).loss(labels, normalize=normalize)


class _LogLoss:
    """Per-label sums of ``-log(clip(p_k))`` for every probability column ``k``."""

    def __init__(self, frame: MetricFrame) -> None:
        self.frame = frame
        k = len(frame.columns["y_proba"])
        raw = [numeric_expr(frame, "y_proba", i) for i in range(k)]
        # A single column is the positive class; scikit-learn stacks [1 - p, p].
        probas = [1.0 - raw[0], raw[0]] if k == 1 else raw
        self.n_columns = len(probas)
        eps = self._eps()
        w = frame.w()
        total = pl.sum_horizontal(probas)
        not_one = (total - 1.0).abs() > 1e-8 + math.sqrt(eps)
        aggs = [
            pl.len().alias("n"),
            frame.w_sum().alias("w"),
            not_one.sum().alias("not_one"),
            *weight_checks(frame),
            *(c for i, e in enumerate(raw) for c in finite_checks(e, f"p{i}")),
            *(e.min().alias(f"min{i}") for i, e in enumerate(raw)),
            *(e.max().alias(f"max{i}") for i, e in enumerate(raw)),
            *(
                (w * -p.clip(eps, 1.0 - eps).log()).sum().alias(f"loss{i}")
                for i, p in enumerate(probas)
            ),
        ]
        t = label_expr(frame, "y_true").alias("t")
        self.table = collect(frame.lf.group_by(t).agg(aggs), frame)
        self.raw = len(raw)

    def _eps(self) -> float:
        dtypes = {self.frame.schema[c] for c in self.frame.columns["y_proba"]}
        return float(np.finfo(np.float32 if dtypes == {pl.Float32} else np.float64).eps)

    def _check_probas(self) -> None:
        table, frame = self.table, self.frame
        if table["n"].sum() == 0:
            raise_empty((0, self.raw) if self.raw > 1 else (0,))
        stats = totals(table, [c for c in table.columns if "__" in c])
        for i in range(self.raw):
            raise_not_finite(stats, f"p{i}", frame.describe("y_proba", i))
        top = float(table.select(f"max{i}" for i in range(self.raw)).to_numpy().max())
        low = float(table.select(f"min{i}" for i in range(self.raw)).to_numpy().min())
        if top > 1:
            msg = f"y_prob contains values greater than 1: {top}"
            raise ValueError(msg)
        if low < 0:
            msg = f"y_prob contains values lower than 0: {low}"
            raise ValueError(msg)
        check_weight_stats(frame, stats)

    def loss(self, labels: Any, *, normalize: bool) -> float:
        self._check_probas()
        if self.table["t"].null_count():
            msg = f"Input y_true contains missing values (null) in {self.frame.describe('y_true')}."
            raise ValueError(msg)
        seen = self.table["t"].to_numpy()
        classes = _classes(seen, labels)
        if self.table["not_one"].sum():
            warnings.warn(
                "The y_prob values do not sum to one. Make sure to pass probabilities.",
                UserWarning,
                stacklevel=4,
            )
        _check_n_classes(classes, self.n_columns, labels)
        column = {c: i for i, c in enumerate(classes.tolist())}
        total = sum(
            self.table[f"loss{column[label]}"][row] for row, label in enumerate(seen.tolist())
        )
        if not normalize:
            return float(total)
        return float(total / self.table["w"].sum())


def _classes(seen: np.ndarray, labels: Any) -> np.ndarray:
    """``LabelBinarizer`` classes, with scikit-learn's checks on the distinct labels."""
    lb = LabelBinarizer()
    if labels is not None:
        lb.fit(labels)
        if not np.all(lb.classes_ == labels):
            warnings.warn(
                f"Labels passed were {labels}. But this function assumes labels are "
                f"ordered lexicographically. Pass the ordered labels={lb.classes_.tolist()} "
                "and ensure that the columns of y_prob correspond to this ordering.",
                UserWarning,
                stacklevel=5,
            )
        undeclared = set(seen.tolist()) - set(np.asarray(labels).tolist())
        if undeclared:
            msg = (
                f"y_true contains values {undeclared} not belonging to the passed labels {labels}."
            )
            raise ValueError(msg)
    else:
        lb.fit(seen)
    if lb.classes_.shape[0] == 1:
        if labels is None:
            msg = (
                f"y_true contains only one label ({lb.classes_[0]}). Please provide the "
                "list of all expected class labels explicitly through the labels argument."
            )
        else:
            msg = f"The labels array needs to contain at least two labels, got {lb.classes_}."
        raise ValueError(msg)
    return np.asarray(lb.classes_)


def _check_n_classes(classes: np.ndarray, n_columns: int, labels: Any) -> None:
    if classes.shape[0] == n_columns:
        return
    if labels is None:
        msg = (
            f"y_true and y_prob contain different number of classes: {classes.shape[0]} vs "
            f"{n_columns}. Please provide the true labels explicitly through the labels "
            f"argument. Classes found in y_true: {classes}"
        )
    else:
        msg = (
            "The number of classes in labels is different from that in y_prob. Classes "
            f"found in labels: {classes}"
        )
    raise ValueError(msg)
