"""Scores of fitted models as mergeable states, so a search scores its folds in shared scans.

A :class:`FoldScore` looks like an estimator to the fit driver (``chunk_kind="numpy"``):
each ``(X, y)`` block is predicted by the fitted model in memory and reduced to the
metric's sufficient statistics (hit counts, sums of squares, log-loss sums), which merge
exactly. The metric of a fold is then computed from the merged state. ROC AUC needs
every (score, label) pair: they are kept up to :data:`ROC_AUC_MAX_PAIRS`, beyond which
the exact out-of-core :func:`scaleml.metrics.roc_auc_score` runs over the fold instead.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import polars as pl
from sklearn.base import is_classifier, is_regressor
from sklearn.metrics import roc_auc_score as _sk_roc_auc

__all__ = ["LAZY_SCORINGS", "ROC_AUC_MAX_PAIRS", "FoldScore", "resolve_scoring"]

#: The ``scoring`` values a search supports on lazy data.
LAZY_SCORINGS = ("accuracy", "neg_log_loss", "roc_auc", "r2", "neg_mean_squared_error")
#: (score, label) pairs of one fold kept in memory for ROC AUC (about 16 bytes each).
ROC_AUC_MAX_PAIRS = 4_000_000


def resolve_scoring(scoring: Any, estimator: Any) -> str:
    """The metric of `scoring` on lazy data: one of :data:`LAZY_SCORINGS`, or "score".

    ``None`` means the estimator's own ``score``: accuracy for classifiers, R^2 for
    regressors, and otherwise its ``score`` method called on each lazy fold ("score").
    """
    if scoring is None:
        if is_classifier(estimator):
            return "accuracy"
        return "r2" if is_regressor(estimator) else "score"
    if isinstance(scoring, str) and scoring in LAZY_SCORINGS:
        return scoring
    msg = (
        f"scoring={scoring!r} is not supported on lazy data; use None or one of "
        f"{list(LAZY_SCORINGS)}. (In-memory data accepts every scikit-learn scorer.)"
    )
    raise ValueError(msg)


class FoldScore:
    """The streaming score of a fitted `model` on the blocks it is fed.

    Parameters
    ----------
    model : fitted estimator
        Predicts in memory on polars DataFrames with its ``feature_names_in_``.
    metric : str
        One of :data:`LAZY_SCORINGS`.
    """

    chunk_kind = "numpy"
    # Blocks are only read (shared read-only between the scores of one batch).
    chunk_readonly = True

    def __init__(self, model: Any, metric: str) -> None:
        self.model = model
        self.metric = metric
        self.columns = [str(c) for c in model.feature_names_in_]
        self.classes = getattr(model, "classes_", None)
        if metric == "roc_auc" and (self.classes is None or len(self.classes) != 2):
            msg = "scoring='roc_auc' on lazy data needs a binary classifier."
            raise ValueError(msg)

    def y_expr(self, y: str) -> pl.Expr:
        """The label column as floats: class codes (-1 for unseen labels) or values."""
        if self.classes is not None and self.metric in ("accuracy", "neg_log_loss", "roc_auc"):
            # Imported here: linear_model imports model_selection.
            from scaleml.linear_model._linear_classifier import label_codes

            return label_codes(y, np.asarray(self.classes), default=-1.0)
        return pl.col(y)

    # -- mergeable state ---------------------------------------------------------------
    def _init_state(self) -> Any:
        if self.metric in ("r2", "neg_mean_squared_error"):
            return (0, 0.0, 0.0, 0.0)  # rows, mean of y, centred sum of squares, SSE
        if self.metric == "roc_auc":
            return ([], 0, False)  # (scores, labels) blocks, pairs, overflowed
        return (0, 0.0)  # rows, hits or log-loss sum

    def _update_state(self, state: Any, chunk: tuple[np.ndarray, np.ndarray]) -> Any:
        X, y = chunk
        frame = pl.DataFrame(X, schema=self.columns, orient="row")
        if self.metric in ("r2", "neg_mean_squared_error"):
            pred = np.asarray(self.model.predict(frame), dtype=np.float64).ravel()
            _check_labels(y, "the target")
            mean = float(y.mean())
            block = (len(y), mean, float(((y - mean) ** 2).sum()), float(((y - pred) ** 2).sum()))
            return self._merge_states(state, block)
        codes = y.astype(np.int64)
        _check_labels(y, "the label")
        if self.metric == "accuracy":
            pred = np.asarray(self.model.predict(frame))
            hit = (codes >= 0) & (pred == np.asarray(self.classes)[codes.clip(0)])
            return (state[0] + len(y), state[1] + float(hit.sum()))
        if (codes < 0).any():
            msg = (
                f"The scored rows hold labels the model was not fitted on (classes: "
                f"{np.asarray(self.classes).tolist()}); scoring={self.metric!r} is undefined "
                "for them."
            )
            raise ValueError(msg)
        if self.metric == "neg_log_loss":
            proba = np.asarray(self.model.predict_proba(frame), dtype=np.float64)
            eps = np.finfo(proba.dtype).eps
            p = np.clip(proba[np.arange(len(codes)), codes], eps, 1 - eps)
            return (state[0] + len(y), state[1] - float(np.log(p).sum()))
        return self._merge_states(state, ([(self._binary_scores(frame), codes)], len(y), False))

    def _binary_scores(self, frame: pl.DataFrame) -> np.ndarray:
        # scikit-learn's roc_auc scorer: decision_function if any, else P(classes_[1]).
        if hasattr(self.model, "decision_function"):
            return np.asarray(self.model.decision_function(frame), dtype=np.float64).ravel()
        return np.asarray(self.model.predict_proba(frame), dtype=np.float64)[:, 1]

    def _merge_states(self, a: Any, b: Any) -> Any:
        if self.metric in ("r2", "neg_mean_squared_error"):
            (na, ma, sa, ea), (nb, mb, sb, eb) = a, b
            n = na + nb
            if n == 0:
                return a
            # Chan et al.'s pairwise update of the centred sum of squares.
            delta = mb - ma
            return (n, ma + delta * nb / n, sa + sb + delta**2 * na * nb / n, ea + eb)
        if self.metric == "roc_auc":
            pairs, overflow = a[1] + b[1], a[2] or b[2]
            if overflow or pairs > ROC_AUC_MAX_PAIRS:
                return ([], pairs, True)
            return (a[0] + b[0], pairs, False)
        return (a[0] + b[0], a[1] + b[1])

    def _finalize_state(self, state: Any) -> None:
        """Unused: :meth:`value` reads the state."""

    # -- the metric ----------------------------------------------------------------------
    def n_rows(self, state: Any) -> int:
        """Rows scored."""
        return int(state[1] if self.metric == "roc_auc" else state[0])

    def value(self, state: Any, exact_auc: Callable[[], float] | None = None) -> float:
        """The metric of the merged `state` (`exact_auc`: out-of-core AUC on overflow)."""
        if self.n_rows(state) == 0:
            msg = "Cannot score a fold with 0 rows."
            raise ValueError(msg)
        if self.metric == "accuracy":
            return float(state[1] / state[0])
        if self.metric == "neg_log_loss":
            return float(-state[1] / state[0])
        if self.metric == "neg_mean_squared_error":
            return float(-state[3] / state[0])
        if self.metric == "r2":
            ss_tot, ss_res = state[2], state[3]
            if ss_tot == 0.0:  # scikit-learn's force_finite convention for a constant y
                return 1.0 if ss_res == 0.0 else 0.0
            return float(1.0 - ss_res / ss_tot)
        if state[2]:
            if exact_auc is None:
                msg = "The fold has too many rows to keep its scores for ROC AUC."
                raise ValueError(msg)
            return float(exact_auc())
        scores = np.concatenate([s for s, _ in state[0]])
        labels = np.concatenate([c for _, c in state[0]])
        return float(_sk_roc_auc(labels, scores))


def _check_labels(y: np.ndarray, what: str) -> None:
    if np.isnan(y).any():
        msg = f"{what.capitalize()} of the scored rows has missing values (NaN or null)."
        raise ValueError(msg)
