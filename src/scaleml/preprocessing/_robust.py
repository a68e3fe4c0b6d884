"""RobustScaler: scale with statistics robust to outliers (median and quantile range)."""

from __future__ import annotations

from numbers import Integral
from typing import Any

import numpy as np
import polars as pl
from scipy import stats
from sklearn.utils._param_validation import Interval

from scaleml._base import AffineExprMixin
from scaleml.preprocessing._data import _handle_zeros_in_scale
from scaleml.preprocessing._quantile import QuantileState, QuantileTransformerBase

__all__ = ["RobustScaler"]


class RobustScaler(AffineExprMixin, QuantileTransformerBase):
    """Scale features using statistics that are robust to outliers.

    The scikit-learn estimator of the same name, fitted out-of-core: ``(x - median) /
    (q_max - q_min)`` per column, where the quantiles ignore NaN and null. While the
    data has at most `subsample` rows (or with ``subsample=None``) the median and
    quantiles are exact, computed by the engine in one query, and equal scikit-learn's;
    beyond, they come from a mergeable KLL sketch per column (see
    :class:`scaleml.preprocessing.QuantileSketch`) whose rank error is at most that of a
    uniform random subsample of `subsample` rows, in ``O(subsample ** 0.5)`` memory.

    Parameters
    ----------
    with_centering : bool, default=True
        Center the data on the median.
    with_scaling : bool, default=True
        Scale the data to the quantile range.
    quantile_range : tuple (q_min, q_max), 0.0 < q_min < q_max < 100.0, default=(25.0, 75.0)
        Quantile range used to calculate ``scale_``, in percent.
    copy : bool, default=True
        Kept for compatibility with scikit-learn; inputs are never modified in place.
    unit_variance : bool, default=False
        Scale so that normally distributed features have a variance of 1.
    subsample : int or None, default=100_000
        Not in scikit-learn (whose RobustScaler is always exact): rows up to which the
        quantiles are exact; above, a sketch as accurate as a random subsample of
        that many rows is used. None: always exact (the engine then holds each column
        in memory to sort it).
    columns : str, list of str or polars selector, default=None
        Columns to scale; the others pass through untouched. None means every feature
        column (all must be numeric).

    Attributes
    ----------
    center_ : ndarray of shape (n_columns,) or None
    scale_ : ndarray of shape (n_columns,) or None
    n_features_in_ : int
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Defined when X has column names.

    Examples
    --------
    >>> import numpy as np
    >>> from scaleml import RobustScaler
    >>> X = np.array([[1.0, -2.0], [-2.0, 1.0], [4.0, 3.0], [10.0, 4.0]])
    >>> scaler = RobustScaler().fit(X)
    >>> scaler.center_, scaler.scale_
    (array([2.5, 2. ]), array([5.25, 3.  ]))
    >>> scaler.transform(X)[:, 0]
    array([-0.28571429, -0.85714286,  0.28571429,  1.42857143])
    """

    _parameter_constraints: dict[str, list[Any]] = {
        "with_centering": ["boolean"],
        "with_scaling": ["boolean"],
        "quantile_range": [tuple],
        "copy": ["boolean"],
        "unit_variance": ["boolean"],
        "subsample": [Interval(Integral, 1, None, closed="left"), None],
        "columns": [None, str, list, tuple, pl.Expr],
    }

    def __init__(
        self,
        *,
        with_centering: bool = True,
        with_scaling: bool = True,
        quantile_range: tuple[float, float] = (25.0, 75.0),
        copy: bool = True,
        unit_variance: bool = False,
        subsample: int | None = 100_000,
        columns: Any = None,
    ) -> None:
        self.with_centering = with_centering
        self.with_scaling = with_scaling
        self.quantile_range = quantile_range
        self.copy = copy
        self.unit_variance = unit_variance
        self.subsample = subsample
        self.columns = columns

    def _check_fit_columns(self, columns: list[str]) -> None:
        q_min, q_max = self.quantile_range
        if not 0 <= q_min <= q_max <= 100:
            msg = f"Invalid quantile range: {self.quantile_range!s}"
            raise ValueError(msg)

    def _finalize_state(self, state: QuantileState) -> None:
        q_min, q_max = self.quantile_range
        # np.nanpercentile divides percentages by 100 the same way.
        qs = np.true_divide(np.array([50.0, q_min, q_max]), 100)
        summary, quantiles = state.summary_and_quantiles([qs] * len(self._fit_columns))
        self._check_summary(summary)
        if state.rows == 0:
            msg = (
                "Found array with 0 sample(s) while a minimum of 1 is required by "
                f"{type(self).__name__}."
            )
            raise ValueError(msg)
        q = np.array(quantiles).reshape(len(self._fit_columns), 3)
        self.center_: np.ndarray | None = q[:, 0].copy() if self.with_centering else None
        self.scale_: np.ndarray | None
        if self.with_scaling:
            scale = _handle_zeros_in_scale(q[:, 2] - q[:, 1])
            if self.unit_variance:
                scale = scale / (stats.norm.ppf(q_max / 100.0) - stats.norm.ppf(q_min / 100.0))
            self.scale_ = scale
        else:
            self.scale_ = None

    def _offset_scale(self) -> tuple[np.ndarray, np.ndarray]:
        k = len(self._fit_columns)
        offset = self.center_ if self.center_ is not None else np.zeros(k)
        scale = self.scale_ if self.scale_ is not None else np.ones(k)
        return offset, scale
