"""Base class of estimators fitted from numpy chunks and predicting with expressions."""

from __future__ import annotations

from typing import Any

import numpy as np
import polars as pl
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted

from scaleml._validation import Data, check_numeric, input_data

__all__ = ["Y_PREFIX", "BatchEstimator", "FitInput", "linear_expr"]

#: Prefix of the columns an in-memory ``y`` is attached to the data under.
Y_PREFIX = "__scaleml_y"


class FitInput:
    """What a fit reads: the frame, its feature columns and its label columns.

    Attributes
    ----------
    data : the normalised input (see :class:`scaleml._validation.Data`).
    lf : LazyFrame holding the features and the label (an in-memory ``y`` attached).
    columns : feature column names.
    y_columns : label column names in `lf` (empty when unsupervised).
    """

    def __init__(self, data: Data, lf: pl.LazyFrame, y_columns: list[str]) -> None:
        self.data = data
        self.lf = lf
        self.columns = data.columns
        self.y_columns = y_columns


class BatchEstimator(BaseEstimator):  # type: ignore[misc]
    """An estimator whose fit folds ``(X, y)`` numpy chunks (``chunk_kind="numpy"``).

    Subclasses implement the mergeable-state parts of :mod:`scaleml._fit`, call
    :meth:`_fit_input` at the start of ``fit`` and :meth:`_predict_output` to predict.
    Features are every column but the label; they must be numeric.
    """

    chunk_kind = "numpy"
    _allow_nan = False

    def _fit_input(self, X: Any, y: Any = None, *, reset: bool = True) -> FitInput:
        data = input_data(self, X, y, reset=reset, numeric=True, allow_nan=self._allow_nan)
        check_numeric(self, data.lf.collect_schema(), data.columns)
        if data.y_column is not None:
            return FitInput(data, data.lf, [data.y_column])
        if data.y is None:
            return FitInput(data, data.lf, [])
        y_arr = data.y.reshape(len(data.y), -1)
        names = [f"{Y_PREFIX}{j}" for j in range(y_arr.shape[1])]
        y_frame = pl.DataFrame({n: y_arr[:, j] for j, n in enumerate(names)}).lazy()
        lf = pl.concat([data.lf.select(data.columns), y_frame], how="horizontal")
        return FitInput(data, lf, names)

    def _predict_input(self, X: Any) -> Data:
        check_is_fitted(self)
        data = input_data(self, X, reset=False, numeric=True, allow_nan=self._allow_nan)
        check_numeric(self, data.lf.collect_schema(), data.columns)
        return data

    def _predict_output(self, data: Data, exprs: list[pl.Expr], *, ravel: bool = True) -> Any:
        """A LazyFrame of `exprs` for lazy input; a numpy array for in-memory input."""
        lf = data.lf.select(exprs)
        if data.lazy:
            return lf
        out = lf.collect().to_numpy()
        return out.ravel() if ravel and out.shape[1] == 1 else out

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = self._allow_nan
        return tags


def linear_expr(columns: list[str], coef: np.ndarray, intercept: float) -> pl.Expr:
    """``sum_j coef[j] * x_j + intercept`` as one Polars expression.

    A missing feature gives a missing result (null), never a silently dropped term.
    """
    terms = [pl.col(c).cast(pl.Float64) * float(w) for c, w in zip(columns, coef, strict=True)]
    return pl.sum_horizontal(terms, ignore_nulls=False) + float(intercept)
