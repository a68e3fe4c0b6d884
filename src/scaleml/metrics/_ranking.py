"""ROC AUC, exact, in memory or out of core (binary, and multiclass one-vs-rest/one)."""

from __future__ import annotations

from itertools import combinations
from numbers import Real
from typing import Any

import numpy as np
import sklearn.metrics as skm
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.multiclass import type_of_target

from scaleml.metrics._auc import ScoreTable
from scaleml.metrics._inputs import MetricFrame, check_weight_stats, metric_frame, validated

__all__ = ["roc_auc_score"]


@validated(
    {
        "average": [StrOptions({"micro", "macro", "samples", "weighted"}), None],
        "max_fpr": [Interval(Real, 0.0, 1, closed="right"), None],
        "multi_class": [StrOptions({"raise", "ovr", "ovo"})],
        "labels": ["array-like", None],
    }
)
def roc_auc_score(
    y_true: Any,
    y_score: Any,
    *,
    average: str | None = "macro",
    sample_weight: Any = None,
    max_fpr: float | None = None,
    multi_class: str = "raise",
    labels: Any = None,
    data: Any = None,
) -> float | np.ndarray:
    """Area under the ROC curve, exact, in memory or streamed out of core.

    Same as :func:`sklearn.metrics.roc_auc_score` for array-likes (binary,
    multiclass and multilabel). Out of core (binary, and multiclass ``"ovr"`` /
    ``"ovo"``), the exact AUC, not a binned one: the rows stream once from Polars
    into DuckDB, which groups them by score and label; the curve is then streamed
    back in decreasing score order and integrated batch by batch, tied scores forming
    one point as in scikit-learn. DuckDB's group-by and sort spill to disk, so memory
    stays bounded even when every score is distinct (its table then has one row per
    input row, on disk if need be).

    Parameters
    ----------
    y_true : array-like, str, or single-column LazyFrame / DuckDB relation
        True labels, or the name of their column in `data`.
    y_score : array-like, str, list of str, or LazyFrame / DuckDB relation
        Scores: one column for a binary target (the greater label's probability or a
        decision function), or one column per class in label order for
        multiclass (e.g. ``["proba_a", "proba_b", "proba_c"]`` or the LazyFrame of a
        lazy ``predict_proba``).
    average : {"micro", "macro", "samples", "weighted"} or None, default="macro"
        Averaging of the per-class scores (ignored for a binary target).
    sample_weight : array-like, str or single-column lazy frame, default=None
        Sample weights, or the name of their column in `data`.
    max_fpr : float in (0, 1], default=None
        Return the standardised partial AUC over ``[0, max_fpr]`` (binary only).
    multi_class : {"raise", "ovr", "ovo"}, default="raise"
        Multiclass strategy; must be set for multiclass targets.
    labels : array-like, default=None
        Multiclass only: the labels indexing the columns of `y_score`.
    data : LazyFrame, path, glob, DuckDB relation..., default=None
        Any input of :func:`scaleml.scan` holding the named columns.

    Returns
    -------
    float or ndarray of shape (n_classes,)

    Examples
    --------
    >>> import polars as pl
    >>> from scaleml.metrics import roc_auc_score
    >>> lf = pl.LazyFrame({"y": [0, 0, 1, 1], "score": [0.1, 0.4, 0.35, 0.8]})
    >>> roc_auc_score("y", "score", data=lf)
    0.75
    """
    frame = metric_frame(
        {"y_true": y_true, "y_score": y_score},
        data=data,
        sample_weight=sample_weight,
        multi=["y_score"],
    )
    if frame is None:
        score: float | np.ndarray = skm.roc_auc_score(
            y_true,
            y_score,
            average=average,
            sample_weight=sample_weight,
            max_fpr=max_fpr,
            multi_class=multi_class,
            labels=labels,
        )
        return score
    n_scores = len(frame.columns["y_score"])
    with ScoreTable(frame, check_sums=n_scores > 1) as table:
        return _LazyRoc(frame, table).score(average, max_fpr, multi_class, labels)


class _LazyRoc:
    """scikit-learn's ``roc_auc_score`` dispatch and checks, on a :class:`ScoreTable`."""

    def __init__(self, frame: MetricFrame, table: ScoreTable) -> None:
        self.frame, self.table = frame, table
        self.stats = table.summary()
        self.seen, self.counts, self.weights = table.labels()

    def score(
        self, average: str | None, max_fpr: float | None, multi_class: str, labels: Any
    ) -> float | np.ndarray:
        stats, n_scores = self.stats, self.table.n_scores
        if stats["n"] == 0:
            msg = (
                "Found empty input array (e.g., `y_true` or `y_score`) while a minimum "
                "of 1 sample is required."
            )
            raise ValueError(msg)
        if stats["y_null"]:
            msg = f"Input y_true contains missing values (null) in {self.frame.describe('y_true')}."
            raise ValueError(msg)
        y_type = type_of_target(np.unique(self.seen), input_name="y_true")
        self._check_scores()
        check_weight_stats(self.frame, stats)
        if y_type == "multiclass" or (y_type == "binary" and n_scores > 2):
            if max_fpr is not None and max_fpr != 1.0:
                msg = (
                    "Partial AUC computation not available in multiclass setting, 'max_fpr' "
                    f"must be set to `None`, received `max_fpr={max_fpr}` instead"
                )
                raise ValueError(msg)
            if multi_class == "raise":
                msg = "multi_class must be in ('ovo', 'ovr')"
                raise ValueError(msg)
            return self._multiclass(labels, multi_class, average)
        if y_type != "binary":
            msg = f"{y_type} format is not supported"
            raise ValueError(msg)
        if n_scores != 1:
            msg = (
                f"y should be a 1d array, got an array of shape ({stats['n']}, {n_scores}) "
                "instead. Hint: for a binary target pass the greater label's score column "
                f"only, e.g. y_score={self.frame.names['y_score'][-1]!r}."
            )
            raise ValueError(msg)
        return self._binary(max_fpr)

    def _check_scores(self) -> None:
        where = f"y_score (column(s) {self.frame.names['y_score']})"
        if self.stats["s_nan"]:
            msg = f"Input contains NaN. ({where} has {self.stats['s_nan']} NaN or null value(s).)"
            raise ValueError(msg)
        if self.stats["s_inf"]:
            msg = (
                "Input contains infinity or a value too large for dtype('float64'). "
                f"({where} has {self.stats['s_inf']} infinite value(s).)"
            )
            raise ValueError(msg)

    def _binary(self, max_fpr: float | None) -> float:
        classes = np.unique(self.seen)
        # The greater label is the positive class (label_binarize(...)[:, 0]).
        if classes.shape[0] == 2:
            area = self.table.auc("k = 0", "y = $pos", {"pos": classes.tolist()[1]}, max_fpr)
        else:
            area = self.table.auc("k = 0", "false", None, max_fpr)
        if max_fpr is None or max_fpr == 1 or np.isnan(area):
            return area
        # McClish correction: 0.5 for a non-discriminant curve, 1 for a perfect one.
        min_area, max_area = 0.5 * max_fpr**2, max_fpr
        return 0.5 * (1 + (area - min_area) / (max_area - min_area))

    def _multiclass(self, labels: Any, multi_class: str, average: str | None) -> float | np.ndarray:
        if self.table.n_scores == 1:
            msg = (
                "`y_score` needs to be of shape `(n_samples, n_classes)`, since `y_true` "
                f"contains multiple classes. Got `y_score.shape=({self.stats['n']},)`."
            )
            raise ValueError(msg)
        if not self.stats["sums_ok"]:
            msg = (
                "Target scores need to be probabilities for multiclass roc_auc, i.e. they "
                "should sum up to 1.0 over classes"
            )
            raise ValueError(msg)
        options: tuple[str | None, ...] = ("macro", "weighted", None)
        if multi_class == "ovr":
            options = ("micro", *options)
        if average not in options:
            msg = f"average must be one of {options} for multiclass problems"
            raise ValueError(msg)
        if average is None and multi_class == "ovo":
            msg = "average=None is not implemented for multi_class='ovo'."
            raise NotImplementedError(msg)
        classes = self._classes(labels)
        if multi_class == "ovo":
            if self.frame.weight is not None:
                msg = (
                    "sample_weight is not supported for multiclass one-vs-one ROC AUC, "
                    "'sample_weight' must be None in this case."
                )
                raise ValueError(msg)
            return self._ovo(classes, average)
        return self._ovr(classes, average)

    def _classes(self, labels: Any) -> np.ndarray:
        n_scores = self.table.n_scores
        if labels is None:
            classes = np.unique(self.seen)
            if classes.shape[0] != n_scores:
                msg = "Number of classes in y_true not equal to the number of columns in 'y_score'"
                raise ValueError(msg)
            return classes
        labels = np.ravel(np.asarray(labels))
        classes = np.unique(labels)
        if classes.shape[0] != labels.shape[0]:
            msg = "Parameter 'labels' must be unique"
            raise ValueError(msg)
        if not np.array_equal(classes, labels):
            msg = "Parameter 'labels' must be ordered"
            raise ValueError(msg)
        if classes.shape[0] != n_scores:
            msg = (
                f"Number of given labels, {classes.shape[0]}, not equal to the number of "
                f"columns in 'y_score', {n_scores}"
            )
            raise ValueError(msg)
        if len(np.setdiff1d(self.seen, classes)):
            msg = "'y_true' contains labels not in parameter 'labels'"
            raise ValueError(msg)
        return classes

    def _ovr(self, classes: np.ndarray, average: str | None) -> float | np.ndarray:
        if average == "micro":
            # The raveled one-hot target: column k is positive where y is class k.
            return self.table.auc("true", "y = $classes[k + 1]", {"classes": classes.tolist()})
        support = self._support(classes)
        if average == "weighted" and np.isclose(support.sum(), 0):
            return 0
        scores = np.array(
            [self.table.auc(f"k = {c}", "y = $c", {"c": v}) for c, v in enumerate(classes.tolist())]
        )
        if average is None:
            return scores
        if average == "weighted":
            scores[support == 0] = 0
            return float(np.average(scores, weights=support))
        return float(np.average(scores))

    def _support(self, classes: np.ndarray) -> np.ndarray:
        """Per-class weight (row count without weights), for average="weighted"."""
        position = {c: i for i, c in enumerate(classes.tolist())}
        support = np.zeros(classes.shape[0])
        for value, w in zip(self.seen.tolist(), self.weights, strict=True):
            if value in position:
                support[position[value]] += w
        return support

    def _ovo(self, classes: np.ndarray, average: str | None) -> float:
        position = {c: i for i, c in enumerate(classes.tolist())}
        present = sorted({position[v] for v in self.seen.tolist()})
        n_total = float(self.counts.sum())
        count = {
            position[v]: float(n) for v, n in zip(self.seen.tolist(), self.counts, strict=True)
        }
        pair_scores, prevalence = [], []
        values = classes.tolist()
        for a, b in combinations(present, 2):
            params = {"a": values[a], "b": values[b]}
            a_score = self.table.auc(f"k = {a} AND y IN ($a, $b)", "y = $a", params)
            b_score = self.table.auc(f"k = {b} AND y IN ($a, $b)", "y = $b", params)
            pair_scores.append((a_score + b_score) / 2)
            prevalence.append((count[a] + count[b]) / n_total)
        weights = prevalence if average == "weighted" else None
        return float(np.average(pair_scores, weights=weights))
