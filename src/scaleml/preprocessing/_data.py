"""Scalers: StandardScaler, MinMaxScaler, MaxAbsScaler."""

from __future__ import annotations

from typing import Any

import numpy as np
import polars as pl

from scaleml._base import AffineExprMixin, ExprTransformer
from scaleml._stats import ColumnStats, column_stats
from scaleml._validation import check_finite_stats

__all__ = ["MaxAbsScaler", "MinMaxScaler", "StandardScaler"]

_EPS = np.finfo(np.float64).eps


def _is_constant_feature(var: np.ndarray, mean: np.ndarray, n: np.ndarray) -> np.ndarray:
    # The two-pass variance of a constant feature is not exactly 0 in floating point;
    # this bound is its theoretical error (Chan, Golub & LeVeque), as in scikit-learn.
    upper_bound = n * _EPS * var + (n * mean * _EPS) ** 2
    return np.asarray(var <= upper_bound)


def _handle_zeros_in_scale(
    scale: np.ndarray, constant_mask: np.ndarray | None = None
) -> np.ndarray:
    scale = np.array(scale, dtype=np.float64, copy=True)
    mask = scale < 10 * _EPS if constant_mask is None else constant_mask
    scale[mask] = 1.0
    return scale


def _count_or_counts(counts: np.ndarray) -> int | np.ndarray:
    """scikit-learn's ``n_samples_seen_``: an int unless missing values make it vary."""
    if counts.size and np.ptp(counts) == 0:
        return int(counts[0])
    return counts


class _ColumnStatsScaler(AffineExprMixin, ExprTransformer):
    """A scaler fitted from :class:`ColumnStats`, one engine query per partition."""

    def _init_state(self) -> ColumnStats:
        return ColumnStats.empty(len(self._fit_columns))

    #: Which statistics the fit needs: moments (mean, var) and/or extrema (min, max).
    _moments = True
    _extrema = False

    def _update_state(self, state: ColumnStats, chunk: pl.LazyFrame) -> ColumnStats:
        stats = column_stats(chunk, self._fit_columns, moments=self._moments, extrema=self._extrema)
        check_finite_stats(self, self._fit_columns, stats.has_inf)
        return state.merge(stats)

    def _merge_states(self, a: ColumnStats, b: ColumnStats) -> ColumnStats:
        return a.merge(b)

    def _check_state(self, state: ColumnStats) -> None:
        if state.rows == 0:
            msg = (
                f"Found array with 0 sample(s) while a minimum of 1 is required by "
                f"{type(self).__name__}."
            )
            raise ValueError(msg)


class StandardScaler(_ColumnStatsScaler):
    """Standardize features by removing the mean and scaling to unit variance.

    The scikit-learn estimator of the same name, fitted out-of-core: the mean and
    variance of every column come from one streaming Polars query (or one per
    partition, merged with Chan et al.'s update). NaN and null are ignored in fit and
    kept in transform.

    Parameters
    ----------
    copy : bool, default=True
        Kept for compatibility with scikit-learn; inputs are never modified in place.
    with_mean : bool, default=True
        Center the data before scaling.
    with_std : bool, default=True
        Scale the data to unit variance.
    columns : str, list of str or polars selector, default=None
        Columns to scale; the others pass through untouched. None means every feature
        column (all must be numeric).

    Attributes
    ----------
    scale_ : ndarray of shape (n_columns,) or None
        Per-column scale; 1.0 for constant columns. None when ``with_std=False``.
    mean_ : ndarray of shape (n_columns,) or None
    var_ : ndarray of shape (n_columns,) or None
    n_samples_seen_ : int or ndarray of shape (n_columns,)
        Non-missing values per column; an int when it is the same for all columns.
    n_features_in_ : int
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Defined when X has column names.

    Examples
    --------
    >>> import polars as pl
    >>> from scaleml import StandardScaler
    >>> lf = pl.LazyFrame({"a": [0.0, 2.0, 4.0], "label": [0, 1, 1]})
    >>> scaler = StandardScaler().fit(lf, y="label")
    >>> scaler.mean_, scaler.scale_
    (array([2.]), array([1.63299316]))
    >>> scaler.transform(lf).collect()["a"].round(4).to_list()
    [-1.2247, 0.0, 1.2247]
    """

    _parameter_constraints: dict[str, list[Any]] = {
        "copy": ["boolean"],
        "with_mean": ["boolean"],
        "with_std": ["boolean"],
        "columns": [None, str, list, tuple, pl.Expr],
    }

    def __init__(
        self,
        *,
        copy: bool = True,
        with_mean: bool = True,
        with_std: bool = True,
        columns: Any = None,
    ) -> None:
        self.copy = copy
        self.with_mean = with_mean
        self.with_std = with_std
        self.columns = columns

    def _finalize_state(self, state: ColumnStats) -> None:
        self._check_state(state)
        self.n_samples_seen_ = _count_or_counts(state.count)
        if not self.with_mean and not self.with_std:
            self.mean_ = None
            self.var_ = None
            self.scale_ = None
            return
        self.mean_ = state.mean.copy()
        if self.with_std:
            self.var_ = state.var
            constant = _is_constant_feature(self.var_, self.mean_, state.count)
            self.scale_ = _handle_zeros_in_scale(np.sqrt(self.var_), constant)
        else:
            self.var_ = None
            self.scale_ = None

    def _offset_scale(self) -> tuple[np.ndarray, np.ndarray]:
        k = len(self._fit_columns)
        offset = self.mean_ if self.with_mean and self.mean_ is not None else np.zeros(k)
        scale = self.scale_ if self.with_std and self.scale_ is not None else np.ones(k)
        return offset, scale


class MinMaxScaler(_ColumnStatsScaler):
    """Transform features by scaling each column to a given range.

    The scikit-learn estimator of the same name; minimum and maximum of every column
    come from one streaming engine query. NaN and null are ignored in fit and kept in
    transform.

    Parameters
    ----------
    feature_range : tuple (min, max), default=(0, 1)
    copy : bool, default=True
        Kept for compatibility with scikit-learn.
    clip : bool, default=False
        Clip transformed values of held-out data to ``feature_range``.
    columns : str, list of str or polars selector, default=None
        Columns to scale; None means every feature column.

    Attributes
    ----------
    min_, scale_, data_min_, data_max_, data_range_ : ndarray of shape (n_columns,)
    n_samples_seen_ : int
    n_features_in_ : int
    feature_names_in_ : ndarray of shape (n_features_in_,)

    Examples
    --------
    >>> import numpy as np
    >>> from scaleml import MinMaxScaler
    >>> MinMaxScaler().fit_transform(np.array([[1.0], [3.0], [5.0]])).ravel()
    array([0. , 0.5, 1. ])
    """

    _moments = False
    _extrema = True

    _parameter_constraints: dict[str, list[Any]] = {
        "feature_range": [tuple],
        "copy": ["boolean"],
        "clip": ["boolean"],
        "columns": [None, str, list, tuple, pl.Expr],
    }

    def __init__(
        self,
        feature_range: tuple[float, float] = (0, 1),
        *,
        copy: bool = True,
        clip: bool = False,
        columns: Any = None,
    ) -> None:
        self.feature_range = feature_range
        self.copy = copy
        self.clip = clip
        self.columns = columns

    def _check_fit_columns(self, columns: list[str]) -> None:
        lo, hi = self.feature_range
        if lo >= hi:
            msg = (
                "Minimum of desired feature range must be smaller than maximum. "
                f"Got {self.feature_range!r}."
            )
            raise ValueError(msg)

    def _finalize_state(self, state: ColumnStats) -> None:
        self._check_state(state)
        lo, hi = self.feature_range
        missing = state.count == 0
        self.data_min_ = np.where(missing, np.nan, state.min)
        self.data_max_ = np.where(missing, np.nan, state.max)
        self.data_range_ = self.data_max_ - self.data_min_
        self.scale_ = (hi - lo) / _handle_zeros_in_scale(self.data_range_)
        self.min_ = lo - self.data_min_ * self.scale_
        self.n_samples_seen_ = state.rows

    def _offset_scale(self) -> tuple[np.ndarray, np.ndarray]:
        # x * scale_ + min_  ==  (x - (-min_ / scale_)) / (1 / scale_)
        return -self.min_ / self.scale_, 1.0 / self.scale_

    def _output_exprs(self) -> dict[str, list[pl.Expr]]:
        lo, hi = self.feature_range
        exprs = {}
        for c, s, m in zip(self._fit_columns, self.scale_, self.min_, strict=True):
            e = pl.col(c).cast(pl.Float64) * float(s) + float(m)
            exprs[c] = [(e.clip(lo, hi) if self.clip else e).alias(c)]
        return exprs


class MaxAbsScaler(_ColumnStatsScaler):
    """Scale each column by its maximum absolute value.

    The scikit-learn estimator of the same name; the maximum absolute value of every
    column comes from one streaming engine query.

    Parameters
    ----------
    copy : bool, default=True
        Kept for compatibility with scikit-learn.
    columns : str, list of str or polars selector, default=None
        Columns to scale; None means every feature column.

    Attributes
    ----------
    scale_ : ndarray of shape (n_columns,)
    max_abs_ : ndarray of shape (n_columns,)
    n_samples_seen_ : int
    n_features_in_ : int
    feature_names_in_ : ndarray of shape (n_features_in_,)

    Examples
    --------
    >>> import numpy as np
    >>> from scaleml import MaxAbsScaler
    >>> MaxAbsScaler().fit_transform(np.array([[-4.0], [2.0]])).ravel()
    array([-1. ,  0.5])
    """

    _moments = False
    _extrema = True

    _parameter_constraints: dict[str, list[Any]] = {
        "copy": ["boolean"],
        "columns": [None, str, list, tuple, pl.Expr],
    }

    def __init__(self, *, copy: bool = True, columns: Any = None) -> None:
        self.copy = copy
        self.columns = columns

    def _finalize_state(self, state: ColumnStats) -> None:
        self._check_state(state)
        max_abs = np.fmax(np.abs(state.min), np.abs(state.max))
        self.max_abs_ = np.where(state.count == 0, np.nan, max_abs)
        self.scale_ = _handle_zeros_in_scale(self.max_abs_)
        self.n_samples_seen_ = state.rows

    def _offset_scale(self) -> tuple[np.ndarray, np.ndarray]:
        return np.zeros(len(self._fit_columns)), self.scale_
