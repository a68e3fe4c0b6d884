"""Base class of scaleml transformers: fitted transformers are Polars expressions."""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
import polars as pl
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils._set_output import _get_output_config
from sklearn.utils.validation import _check_feature_names_in, check_is_fitted

from scaleml._fit import fold
from scaleml._validation import Data, check_numeric, input_data, resolve_columns

__all__ = ["AffineExprMixin", "ExprTransformer", "SetOutputMixin"]


class SetOutputMixin:
    """``set_output`` as in scikit-learn, for estimators that build their own output.

    scikit-learn's own mixin wraps ``transform`` to convert a numpy result; scaleml's
    transforms return a LazyFrame for lazy input, which must not be wrapped, so the
    configuration is stored here and applied by the estimator itself.
    """

    def __init_subclass__(cls, **kwargs: Any) -> None:
        # scikit-learn re-enables its wrapping in every subclass that does not repeat
        # ``auto_wrap_output_keys=None``; it would wrap an encoder's own
        # ``transform`` and try to make a DataFrame of a LazyFrame.
        from sklearn.utils._set_output import _SetOutputMixin

        if issubclass(cls, _SetOutputMixin):
            kwargs["auto_wrap_output_keys"] = None
        super().__init_subclass__(**kwargs)

    def set_output(self, *, transform: Literal["default", "pandas", "polars"] | None = None) -> Any:
        """Choose the container of in-memory ``transform`` output, as in scikit-learn.

        A lazy input always gives a LazyFrame.

        Returns
        -------
        self
        """
        if transform is None:
            return self
        if not hasattr(self, "_sklearn_output_config"):
            self._sklearn_output_config: dict[str, Any] = {}
        self._sklearn_output_config["transform"] = transform
        return self


class ExprTransformer(SetOutputMixin, TransformerMixin, BaseEstimator, auto_wrap_output_keys=None):  # type: ignore[misc]
    """A transformer whose fit is a mergeable state and whose transform is expressions.

    Subclasses set ``_numeric`` / ``_allow_nan``, implement the mergeable-state parts
    (see :mod:`scaleml._fit`) and ``_output_exprs``. The ``columns`` parameter picks the
    transformed columns; all other columns pass through untouched, and a label column
    given as ``y="name"`` is never a feature.
    """

    chunk_kind = "frame"
    _numeric = True
    _allow_nan = True

    # -- fitting ---------------------------------------------------------------------
    def fit(self, X: Any, y: Any = None) -> ExprTransformer:
        """Fit on `X`: any source :func:`scaleml.scan` reads, or in-memory data.

        Parameters
        ----------
        X : array-like, DataFrame, LazyFrame, path/glob, DuckDB relation or Arrow data
        y : None, array-like or str
            Ignored by unsupervised transformers; a string names a label column that is
            excluded from the features and passed through by ``transform``.

        Returns
        -------
        self
        """
        self._reset()
        return self._partial(X, y, reset=True)

    def partial_fit(self, X: Any, y: Any = None) -> ExprTransformer:
        """Update the fit with one more chunk of data; the result does not depend on
        how the data was split into chunks.

        Returns
        -------
        self
        """
        first = not hasattr(self, "_state")
        return self._partial(X, y, reset=first)

    def _reset(self) -> None:
        for attr in ("_state", "n_features_in_", "feature_names_in_"):
            if hasattr(self, attr):
                delattr(self, attr)

    def _partial(self, X: Any, y: Any, *, reset: bool) -> ExprTransformer:
        self._validate_params()
        data = input_data(self, X, y, reset=reset, numeric=self._numeric, allow_nan=self._allow_nan)
        if reset:
            schema = data.lf.collect_schema()
            self._schema_in = pl.Schema({c: schema[c] for c in data.columns})
            self._fit_columns = resolve_columns(self, self.columns, self._schema_in)
            if self._numeric:
                check_numeric(self, self._schema_in, self._fit_columns)
            self._check_fit_columns(self._fit_columns)
        state = fold(self, data.lf, state=getattr(self, "_state", None))
        self._state = state
        self._finalize_state(state)
        return self

    def _check_fit_columns(self, columns: list[str]) -> None:
        """Hook for subclasses to refuse a column selection."""

    # -- transforming ----------------------------------------------------------------
    def transform(self, X: Any) -> Any:
        """Transform `X`; a lazy source gives a LazyFrame, in-memory data what
        scikit-learn gives (see ``set_output``).

        Parameters
        ----------
        X : array-like, DataFrame, LazyFrame, path/glob, DuckDB relation or Arrow data

        Returns
        -------
        LazyFrame, ndarray or DataFrame
        """
        check_is_fitted(self, "_state")
        data = input_data(self, X, reset=False, numeric=self._numeric, allow_nan=self._allow_nan)
        self._check_transform_input(data)
        return self._finish(data, self._transform_lf(data))

    def fit_transform(self, X: Any, y: Any = None, **fit_params: Any) -> Any:
        """Fit to `X`, then transform it."""
        return self.fit(X, y, **fit_params).transform(X)

    def inverse_transform(self, X: Any) -> Any:
        """Map transformed data back: lazy in, lazy out; in-memory data as scikit-learn.

        Available when the transformer defines ``_inverse_exprs``.

        Returns
        -------
        LazyFrame, ndarray or DataFrame
        """
        check_is_fitted(self, "_state")
        data = input_data(self, X, reset=False, numeric=True, allow_nan=True)
        exprs = self._inverse_exprs()
        out = [exprs[c].alias(c) if c in exprs else pl.col(c) for c in data.columns]
        return self._finish(data, data.lf.select(out))

    def _inverse_exprs(self) -> dict[str, pl.Expr]:
        """Map each fitted column to the expression that undoes its transform."""
        msg = f"{type(self).__name__} has no inverse_transform."
        raise AttributeError(msg)

    def _check_transform_input(self, data: Data) -> None:
        """Hook: validate the transform input (finite values, dtypes...)."""
        if self._numeric:
            check_numeric(self, data.lf.collect_schema(), self._fit_columns)

    def _transform_lf(self, data: Data) -> pl.LazyFrame:
        mapping = self._output_exprs()
        one_to_one = all(
            len(exprs) == 1 and exprs[0].meta.output_name() == col for col, exprs in mapping.items()
        )
        if one_to_one:
            # Columns keep their place: with_columns lets Polars leave the rest untouched.
            return data.lf.with_columns(e for exprs in mapping.values() for e in exprs)
        return data.lf.select(self._select_exprs(data))

    def _select_exprs(self, data: Data) -> list[pl.Expr]:
        mapping = self._output_exprs()
        exprs: list[pl.Expr] = []
        for col in data.columns:
            exprs.extend(mapping.get(col, [pl.col(col)]))
        if data.y_column and data.y_column in data.lf.collect_schema().names():
            exprs.append(pl.col(data.y_column))
        return exprs

    def _output_exprs(self) -> dict[str, list[pl.Expr]]:
        """Map each fitted column to the aliased expressions that replace it."""
        raise NotImplementedError

    def _finish(self, data: Data, lf: pl.LazyFrame) -> Any:
        if data.lazy:
            return lf
        frame = lf.collect()
        out = _get_output_config("transform", self)["dense"]
        if out == "polars":
            return frame
        if out == "pandas":
            pdf = frame.to_pandas()
            if data.pandas_index is not None:
                pdf.index = data.pandas_index
            return pdf
        if data.y_column and data.y_column in frame.columns:
            # The label rides along by name; a bare array would make it a feature.
            return frame
        return _to_numpy(frame)

    # -- feature names ---------------------------------------------------------------
    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        """Output column names, passthrough columns included, in output order.

        Returns
        -------
        ndarray of str objects
        """
        check_is_fitted(self, "_state")
        names = _check_feature_names_in(self, input_features)
        rename = dict(zip(self._columns_in, names, strict=True))
        out: list[str] = []
        mapping = self._output_names(rename)
        for col in self._columns_in:
            out.extend(mapping.get(col, [rename[col]]))
        return np.asarray(out, dtype=object)

    def _output_names(self, rename: dict[str, str]) -> dict[str, list[str]]:
        """Output names of the fitted columns that do not map 1:1 to an input column."""
        return {}

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = self._allow_nan
        tags.input_tags.string = not self._numeric
        tags.input_tags.categorical = not self._numeric
        tags.transformer_tags.preserves_dtype = ["float64"]
        return tags


def _to_numpy(frame: pl.DataFrame) -> np.ndarray:
    if all(dt.is_numeric() or dt == pl.Boolean for dt in frame.dtypes):
        return frame.to_numpy(order="c").astype(np.float64, copy=False)
    return frame.to_numpy()


class AffineExprMixin:
    """Transform ``(x - offset) / scale`` per column; subclasses give ``_offset_scale``."""

    _fit_columns: list[str]

    def _offset_scale(self) -> tuple[np.ndarray, np.ndarray]:
        raise NotImplementedError

    def _output_exprs(self) -> dict[str, list[pl.Expr]]:
        offset, scale = self._offset_scale()
        return {
            c: [((pl.col(c).cast(pl.Float64) - float(o)) / float(s)).alias(c)]
            for c, o, s in zip(self._fit_columns, offset, scale, strict=True)
        }

    def _inverse_exprs(self) -> dict[str, pl.Expr]:
        offset, scale = self._offset_scale()
        return {
            c: pl.col(c).cast(pl.Float64) * float(s) + float(o)
            for c, o, s in zip(self._fit_columns, offset, scale, strict=True)
        }
