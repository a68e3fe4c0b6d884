"""Regression metrics: mean squared error and R^2.

Out of core both are weighted sums per output from one streaming Polars query. R^2's
denominator ``sum(w * (y - mean)^2)`` is taken from the same sums
(``S_wyy - S_wy^2 / S_w``) when that loses no accuracy, i.e. when the target's mean is
not large next to its spread; otherwise (cancellation would cost digits) a second
streaming pass centres on the first pass's mean, which is scikit-learn's two-pass
computation.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import polars as pl
import sklearn.metrics as skm
from sklearn.exceptions import UndefinedMetricWarning
from sklearn.utils._param_validation import StrOptions

from scaleml.metrics._inputs import (
    MetricFrame,
    check_weight_stats,
    collect,
    finite_checks,
    metric_frame,
    numeric_expr,
    raise_empty,
    raise_not_finite,
    validated,
    weight_checks,
)

__all__ = ["mean_squared_error", "r2_score"]

#: Largest S_wyy / (S_wyy - S_wy^2/S_w) for which the one-pass R^2 denominator is
#: kept: the sums' rounding error (a few ulps of S_wyy) then stays a few ulps of the
#: result. Beyond it, a second centred pass.
_MAX_CANCELLATION = 8.0


class _Sums:
    """Per-output weighted sums of one streaming query, inputs validated."""

    def __init__(self, frame: MetricFrame, *, squares: bool) -> None:
        n_true, n_pred = len(frame.columns["y_true"]), len(frame.columns["y_pred"])
        if n_true != n_pred:
            msg = f"y_true and y_pred have different number of output ({n_true}!={n_pred})"
            raise ValueError(msg)
        self.frame, self.n_outputs = frame, n_true
        w = frame.w()
        aggs = [pl.len().alias("n"), frame.w_sum().alias("sw"), *weight_checks(frame)]
        for j in range(n_true):
            t, p = numeric_expr(frame, "y_true", j), numeric_expr(frame, "y_pred", j)
            aggs += [*finite_checks(t, f"t{j}"), *finite_checks(p, f"p{j}")]
            aggs.append((w * (t - p) ** 2).sum().alias(f"sse{j}"))
            if squares:
                aggs += [(w * t).sum().alias(f"swt{j}"), (w * t * t).sum().alias(f"swtt{j}")]
        self.stats = collect(frame.lf.select(aggs), frame).row(0, named=True)
        self._validate()

    def _validate(self) -> None:
        stats, frame = self.stats, self.frame
        if stats["n"] == 0:
            raise_empty((0,) if self.n_outputs == 1 else (0, self.n_outputs))
        for role, key in (("y_true", "t"), ("y_pred", "p")):
            for j in range(self.n_outputs):
                raise_not_finite(stats, f"{key}{j}", frame.describe(role, j))
        check_weight_stats(frame, stats)

    def vector(self, key: str) -> np.ndarray:
        return np.array([self.stats[f"{key}{j}"] for j in range(self.n_outputs)], dtype=np.float64)


def _check_multioutput(multioutput: Any, n_outputs: int) -> Any:
    if isinstance(multioutput, str) or multioutput is None:
        return multioutput
    weights = np.asarray(multioutput, dtype=np.float64)
    if n_outputs == 1:
        msg = "Custom weights are useful only in multi-output cases."
        raise ValueError(msg)
    if weights.shape[0] != n_outputs:
        msg = (
            f"There must be equally many custom weights ({weights.shape[0]}) as outputs "
            f"({n_outputs})."
        )
        raise ValueError(msg)
    return weights


@validated(
    {
        "multioutput": [StrOptions({"raw_values", "uniform_average"}), "array-like"],
    }
)
def mean_squared_error(
    y_true: Any,
    y_pred: Any,
    *,
    sample_weight: Any = None,
    multioutput: Any = "uniform_average",
    data: Any = None,
) -> float | np.ndarray:
    """Mean squared error, in memory or streamed out of core.

    Same as :func:`sklearn.metrics.mean_squared_error` for array-likes. Out of
    core, one streaming Polars query sums ``w * (y_true - y_pred)^2`` per output.

    Parameters
    ----------
    y_true : array-like, str, list of str, or LazyFrame / DuckDB relation
        True targets, or the name(s) of their column(s) in `data` (one per output).
    y_pred : array-like, str, list of str, or LazyFrame / DuckDB relation
        Predictions, or the name(s) of their column(s) in `data`.
    sample_weight : array-like, str or single-column lazy frame, default=None
        Sample weights, or the name of their column in `data`.
    multioutput : {"raw_values", "uniform_average"} or array-like, default="uniform_average"
        How to average the errors of several outputs.
    data : LazyFrame, path, glob, DuckDB relation..., default=None
        Any input of :func:`scaleml.scan` holding the named columns.

    Returns
    -------
    float or ndarray of shape (n_outputs,)

    Examples
    --------
    >>> import polars as pl
    >>> from scaleml.metrics import mean_squared_error
    >>> lf = pl.LazyFrame({"y": [3.0, -0.5, 2.0, 7.0], "prediction": [2.5, 0.0, 2.0, 8.0]})
    >>> mean_squared_error("y", "prediction", data=lf)
    0.375
    """
    frame = metric_frame(
        {"y_true": y_true, "y_pred": y_pred},
        data=data,
        sample_weight=sample_weight,
        multi=["y_true", "y_pred"],
    )
    if frame is None:
        error: float | np.ndarray = skm.mean_squared_error(
            y_true, y_pred, sample_weight=sample_weight, multioutput=multioutput
        )
        return error
    sums = _Sums(frame, squares=False)
    multioutput = _check_multioutput(multioutput, sums.n_outputs)
    errors = sums.vector("sse") / float(sums.stats["sw"])
    if isinstance(multioutput, str):
        if multioutput == "raw_values":
            return errors
        multioutput = None
    return float(np.average(errors, weights=multioutput))


@validated(
    {
        "multioutput": [
            StrOptions({"raw_values", "uniform_average", "variance_weighted"}),
            "array-like",
            None,
        ],
        "force_finite": ["boolean"],
    }
)
def r2_score(
    y_true: Any,
    y_pred: Any,
    *,
    sample_weight: Any = None,
    multioutput: Any = "uniform_average",
    force_finite: bool = True,
    data: Any = None,
) -> float | np.ndarray:
    """:math:`R^2` (coefficient of determination), in memory or streamed out of core.

    Same as :func:`sklearn.metrics.r2_score` for array-likes. Out of core, one
    streaming Polars query gives the residual sum of squares and the target's
    weighted sums; a second pass runs only when the target's mean is large next to
    its spread (see the module notes).

    Parameters
    ----------
    y_true : array-like, str, list of str, or LazyFrame / DuckDB relation
        True targets, or the name(s) of their column(s) in `data` (one per output).
    y_pred : array-like, str, list of str, or LazyFrame / DuckDB relation
        Predictions, or the name(s) of their column(s) in `data`.
    sample_weight : array-like, str or single-column lazy frame, default=None
        Sample weights, or the name of their column in `data`.
    multioutput : {"raw_values", "uniform_average", "variance_weighted"}, array-like or None, \
default="uniform_average"
        How to average the scores of several outputs.
    force_finite : bool, default=True
        Replace the NaN / -inf of constant targets by 1.0 / 0.0, as scikit-learn.
    data : LazyFrame, path, glob, DuckDB relation..., default=None
        Any input of :func:`scaleml.scan` holding the named columns.

    Returns
    -------
    float or ndarray of shape (n_outputs,)

    Examples
    --------
    >>> import polars as pl
    >>> from scaleml.metrics import r2_score
    >>> lf = pl.LazyFrame({"y": [3.0, -0.5, 2.0, 7.0], "prediction": [2.5, 0.0, 2.0, 8.0]})
    >>> round(r2_score("y", "prediction", data=lf), 6)
    0.948608
    """
    frame = metric_frame(
        {"y_true": y_true, "y_pred": y_pred},
        data=data,
        sample_weight=sample_weight,
        multi=["y_true", "y_pred"],
    )
    if frame is None:
        score: float | np.ndarray = skm.r2_score(
            y_true,
            y_pred,
            sample_weight=sample_weight,
            multioutput=multioutput,
            force_finite=force_finite,
        )
        return score
    sums = _Sums(frame, squares=True)
    multioutput = _check_multioutput(multioutput, sums.n_outputs)
    if sums.stats["n"] < 2:
        warnings.warn(
            "R^2 score is not well-defined with less than two samples.",
            UndefinedMetricWarning,
            stacklevel=3,
        )
        return float("nan")
    numerator = sums.vector("sse")
    denominator = _centred_squares(sums)
    return _assemble(numerator, denominator, multioutput, force_finite=force_finite)


def _centred_squares(sums: _Sums) -> np.ndarray:
    """``sum(w * (y - mean_w(y))^2)`` per output, in one pass when that is accurate."""
    sw, swt, swtt = float(sums.stats["sw"]), sums.vector("swt"), sums.vector("swtt")
    one_pass: np.ndarray = swtt - swt * swt / sw
    accurate = one_pass * _MAX_CANCELLATION >= swtt
    if np.all(accurate):
        return one_pass
    # |mean| >> std: S_wyy - S_wy^2/S_w cancels; centre on the mean as scikit-learn does.
    frame, w = sums.frame, sums.frame.w()
    means = swt / sw
    aggs = [
        (w * (numeric_expr(frame, "y_true", j) - float(means[j])) ** 2).sum().alias(f"c{j}")
        for j in range(sums.n_outputs)
    ]
    row = collect(frame.lf.select(aggs), frame).row(0)
    return np.where(accurate, one_pass, np.asarray(row, dtype=np.float64))


def _assemble(
    numerator: np.ndarray, denominator: np.ndarray, multioutput: Any, *, force_finite: bool
) -> float | np.ndarray:
    """scikit-learn's ``_assemble_fraction_of_explained_deviance``."""
    nonzero_denominator = denominator != 0
    scores: np.ndarray
    if not force_finite:
        scores = 1 - numerator / denominator  # NaN / -inf, with numpy's warning
    else:
        nonzero_numerator = numerator != 0
        scores = np.ones(numerator.shape[0])
        valid = nonzero_denominator & nonzero_numerator
        scores[valid] = 1 - numerator[valid] / denominator[valid]
        scores[nonzero_numerator & ~nonzero_denominator] = 0.0
    weights: Any
    if isinstance(multioutput, str):
        if multioutput == "raw_values":
            return scores
        weights = None
        if multioutput == "variance_weighted" and np.any(nonzero_denominator):
            weights = denominator
    else:
        weights = multioutput
    result = np.average(scores, weights=weights)
    return float(result) if np.size(result) == 1 else result
