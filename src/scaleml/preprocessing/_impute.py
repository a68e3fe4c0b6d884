"""SimpleImputer: fill missing values with a per-column statistic, out-of-core."""

from __future__ import annotations

import numbers
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl
from sklearn.impute import MissingIndicator
from sklearn.utils._missing import is_pandas_na, is_scalar_nan
from sklearn.utils._param_validation import MissingValues, StrOptions
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import _check_feature_names_in, check_is_fitted

from scaleml._base import ExprTransformer
from scaleml._fit import fold
from scaleml._stats import ColumnStats
from scaleml._validation import (
    Data,
    _array_to_frame,
    check_finite_stats,
    input_data,
    is_eager,
    resolve_columns,
)
from scaleml.io import batch_rows_for, scan

__all__ = ["SimpleImputer"]

_NUMERIC_STRATEGIES = ("mean", "median")
_STRING_TYPES = (pl.String, pl.Categorical, pl.Enum)


@dataclass
class _ImputerState:
    """Mergeable fit state of :class:`SimpleImputer`.

    ``rows`` and ``n_missing`` (per column) always; ``mean`` (ColumnStats) for
    "mean"; ``counts`` (per column a frame ``value, count`` of the non-missing
    values) for "most_frequent"; ``exact`` (the statistics of one whole partition) for
    "median" and a callable, which have no mergeable form.
    """

    rows: int
    n_missing: np.ndarray
    mean: ColumnStats | None = None
    counts: list[pl.DataFrame] | None = None
    exact: np.ndarray | None = None


def _is_nan_marker(missing_values: Any) -> bool:
    return bool(is_scalar_nan(missing_values) or is_pandas_na(missing_values))


def _is_numeric(dtype: pl.DataType) -> bool:
    return dtype.is_numeric() or dtype == pl.Boolean


def _missing_mask(name: str, dtype: pl.DataType, missing_values: Any) -> pl.Expr:
    """True where the value of column `name` counts as missing (never null)."""
    col = pl.col(name)
    if _is_nan_marker(missing_values):
        # Polars has two missing markers: null (pandas NaN/None, SQL NULL) and NaN.
        return col.is_null() | col.is_nan() if dtype.is_float() else col.is_null()
    if missing_values is None:
        return col.is_null()
    if isinstance(missing_values, str):
        matches = isinstance(dtype, _STRING_TYPES)
    else:
        matches = dtype.is_numeric()
    return (col == missing_values).fill_null(False) if matches else pl.lit(False)


def _fill_literal(value: Any, dtype: pl.DataType) -> pl.Expr:
    """`value` as a literal of the column's dtype where that is lossless."""
    if dtype == pl.Null:
        return pl.lit(value)
    if isinstance(value, (numbers.Real, np.number)) and _is_numeric(dtype):
        if dtype.is_integer() and not float(value).is_integer():
            return pl.lit(float(value))
        return pl.lit(value).cast(dtype)
    if isinstance(value, str) and isinstance(dtype, _STRING_TYPES):
        return pl.lit(value).cast(dtype)
    return pl.lit(value)


def _never(est: Any) -> bool:
    return False


class SimpleImputer(ExprTransformer):
    """Replace missing values with a per-column statistic or a constant.

    The scikit-learn estimator of the same name (same parameters, attributes and
    results), fitted out-of-core: every statistic of every column comes from one
    streaming engine query, and ``transform`` is a Polars expression per column
    (``when(missing).then(statistic).otherwise(value)``), so a lazy input gives a lazy
    output.

    Memory of ``fit``: bounded by the engine's batch for "mean" and "constant"; by the
    number of distinct non-missing values per column for "most_frequent" (the value
    counts, grouped by the engine); **O(n_rows) for "median"** — Polars' exact
    ``median()`` keeps every value of the column (8 bytes per row and column) — and for
    a callable strategy, which receives each column's non-missing values as one array.

    Parameters
    ----------
    missing_values : int, float, str, np.nan, None or pandas.NA, default=np.nan
        The placeholder for missing values. With ``np.nan`` (or ``pandas.NA``) both
        NaN and null are missing; with ``None`` null is; with a number or a string,
        the values equal to it are (and, as in scikit-learn, NaN or null in a numeric
        column is then an error).
    strategy : {"mean", "median", "most_frequent", "constant"} or callable, default="mean"
        "mean" and "median" need numeric columns; "most_frequent" (ties: the smallest
        value) and "constant" also work on strings. A callable receives a column's
        non-missing values as a float64 array and returns a scalar.
    fill_value : str or number, default=None
        The value of ``strategy="constant"``; None means 0 for numeric columns and
        ``"missing_value"`` for string columns.
    copy : bool, default=True
        Kept for compatibility with scikit-learn; inputs are never modified in place.
    add_indicator : bool, default=False
        Append a boolean column ``missingindicator_<col>`` for every column that had
        missing values at fit.
    keep_empty_features : bool, default=False
        Keep the columns that are entirely missing at fit (filled with 0, or with
        ``fill_value`` for "constant") instead of dropping them.
    columns : str, list of str or polars selector, default=None
        Columns to impute; the others pass through untouched. None means every
        feature column.

    Attributes
    ----------
    statistics_ : ndarray of shape (n_columns,)
        The fill value of each imputed column; NaN for the dropped (entirely
        missing) ones. float64, except for "constant" and for "most_frequent" with a
        non-numeric column (object, as in scikit-learn).
    indicator_ : sklearn.impute.MissingIndicator or None
        ``indicator_.features_`` are the indices (into ``statistics_``) of the
        columns that get a missing indicator. None unless ``add_indicator``.
    n_features_in_ : int
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Defined when X has column names.

    Notes
    -----
    Differences from scikit-learn: there is no sparse input; with ``np.nan`` as
    marker a null in a string column is missing (scikit-learn only treats a float
    NaN in an object array as missing, not ``None``); ``fill_value=None`` gives 0 or
    "missing_value" per column rather than per array, so a frame mixing numbers and
    strings keeps its column types. SimpleImputer has no ``partial_fit`` (as in
    scikit-learn): an exact median cannot be merged across chunks.

    Examples
    --------
    >>> import polars as pl
    >>> from scaleml import SimpleImputer
    >>> lf = pl.LazyFrame({"a": [1.0, None, 3.0], "b": ["x", "y", None]})
    >>> imp = SimpleImputer(strategy="most_frequent").fit(lf)
    >>> imp.statistics_
    array([1.0, 'x'], dtype=object)
    >>> SimpleImputer(columns="a").fit(lf).transform(lf).collect()["a"].to_list()
    [1.0, 2.0, 3.0]
    """

    _parameter_constraints: dict[str, list[Any]] = {
        "missing_values": [MissingValues()],
        "strategy": [StrOptions({"mean", "median", "most_frequent", "constant"}), callable],
        "fill_value": "no_validation",  # type: ignore[dict-item]
        "copy": ["boolean"],
        "add_indicator": ["boolean"],
        "keep_empty_features": ["boolean"],
        "columns": [None, str, list, tuple, pl.Expr],
    }

    def __init__(
        self,
        *,
        missing_values: Any = np.nan,
        strategy: str | Callable[[np.ndarray], float] = "mean",
        fill_value: Any = None,
        copy: bool = True,
        add_indicator: bool = False,
        keep_empty_features: bool = False,
        columns: Any = None,
    ) -> None:
        self.missing_values = missing_values
        self.strategy = strategy
        self.fill_value = fill_value
        self.copy = copy
        self.add_indicator = add_indicator
        self.keep_empty_features = keep_empty_features
        self.columns = columns

    # The input checks of ExprTransformer depend on the parameters here.
    @property
    def _numeric(self) -> bool:  # type: ignore[override]
        return self.strategy in _NUMERIC_STRATEGIES or callable(self.strategy)

    @property
    def _allow_nan(self) -> bool:  # type: ignore[override]
        return _is_nan_marker(self.missing_values)

    # -- fitting ---------------------------------------------------------------------
    @available_if(_never)  # type: ignore[untyped-decorator]
    def partial_fit(self, X: Any, y: Any = None) -> SimpleImputer:
        """Not available: scikit-learn's SimpleImputer has no ``partial_fit``.

        Returns
        -------
        self
        """
        raise AttributeError("partial_fit")  # pragma: no cover

    def fit(self, X: Any, y: Any = None) -> SimpleImputer:
        """Fit the imputer on `X` in one streaming pass.

        Parameters
        ----------
        X : array-like, DataFrame, LazyFrame, path/glob, DuckDB relation or Arrow data
        y : None, array-like or str
            Ignored; a string names a label column excluded from the features.

        Returns
        -------
        self
        """
        try:
            super().fit(X, y)
        except ValueError as exc:
            if "could not convert" not in str(exc):
                raise
            msg = f"Cannot use {self.strategy} strategy with non-numeric data:\n{exc}"
            raise ValueError(msg) from None
        return self

    def _reset(self) -> None:
        super()._reset()
        for attr in ("statistics_", "indicator_"):
            if hasattr(self, attr):
                delattr(self, attr)

    def _partial(self, X: Any, y: Any, *, reset: bool) -> SimpleImputer:
        self._validate_params()
        data = input_data(self, X, y, reset=True, numeric=self._numeric, allow_nan=self._allow_nan)
        schema = data.lf.collect_schema()
        self._schema_in = pl.Schema({c: schema[c] for c in data.columns})
        self._fit_columns = resolve_columns(self, self.columns, self._schema_in)
        self._check_fit_dtypes()
        state = fold(self, data.lf)
        self._state = state
        self._finalize_state(state)
        return self

    def _check_fit_dtypes(self) -> None:
        dtypes = {c: self._schema_in[c] for c in self._fit_columns}
        self._check_kinds(dtypes)
        marker = self.missing_values
        numeric_marker = isinstance(marker, numbers.Real) or _is_nan_marker(marker)
        if not numeric_marker and dtypes and all(_is_numeric(dt) for dt in dtypes.values()):
            msg = (
                "'X' and 'missing_values' types are expected to be both numerical. Got "
                f"numeric columns {list(dtypes)} and type(missing_values)={type(marker)!r}."
            )
            raise ValueError(msg)
        if self.strategy == "constant" and self.fill_value is not None:
            for c, dt in dtypes.items():
                self._check_fill_value(c, dt)

    def _check_kinds(self, dtypes: dict[str, pl.DataType]) -> None:
        """Numbers for "mean", "median" and a callable; nothing nested for any."""
        if self._numeric:
            bad = {c: dt for c, dt in dtypes.items() if not (_is_numeric(dt) or dt == pl.Null)}
            if bad:
                msg = (
                    f"Cannot use strategy={self.strategy!r} with non-numeric column(s) "
                    f"{_listed(bad)}. Hint: use strategy='most_frequent' or 'constant' for "
                    "them, or restrict this step with columns=polars.selectors.numeric()."
                )
                raise ValueError(msg)
        nested = {c: dt for c, dt in dtypes.items() if dt.is_nested() or dt == pl.Object}
        if nested:
            msg = (
                f"{type(self).__name__} imputes columns of numbers, strings or dates: each "
                f"argument must be a string or a number, but got column(s) {_listed(nested)}."
            )
            raise TypeError(msg)

    def _check_fill_value(self, column: str, dtype: pl.DataType) -> None:
        # scikit-learn's rule (numpy "same_kind" casting), applied per column.
        value = self.fill_value
        if _is_numeric(dtype):
            target = np.float64 if dtype.is_float() else np.int64 if dtype.is_numeric() else bool
            ok = not isinstance(value, str) and np.can_cast(
                np.asarray(value).dtype, target, casting="same_kind"
            )
        else:
            ok = isinstance(value, str) or not isinstance(dtype, _STRING_TYPES)
        if not ok:
            msg = (
                f"fill_value={value!r} (of type {type(value)!r}) cannot be cast to column "
                f"{column!r} of dtype {dtype}. Hint: impute numeric and string columns "
                "with separate imputers (columns=polars.selectors.numeric() / "
                "polars.selectors.string())."
            )
            raise ValueError(msg)

    # -- the mergeable state -------------------------------------------------------
    def _init_state(self) -> _ImputerState:
        k = len(self._fit_columns)
        state = _ImputerState(rows=0, n_missing=np.zeros(k, dtype=np.int64))
        if self.strategy == "mean":
            state.mean = ColumnStats.empty(k)
        elif self.strategy == "most_frequent":
            state.counts = [self._empty_counts(c) for c in self._fit_columns]
        return state

    def _empty_counts(self, column: str) -> pl.DataFrame:
        return pl.DataFrame(schema={"value": self._schema_in[column], "count": pl.Int64})

    def _masks(self, schema: pl.Schema) -> dict[str, pl.Expr]:
        return {c: _missing_mask(c, schema[c], self.missing_values) for c in self._fit_columns}

    def _update_state(self, state: _ImputerState, chunk: pl.LazyFrame) -> _ImputerState:
        if self.strategy == "most_frequent":
            part = self._count_values(chunk)
        else:
            part = self._aggregate(chunk)
        return self._merge_states(state, part)

    def _aggregate(self, chunk: pl.LazyFrame) -> _ImputerState:
        """Missing counts, finiteness and the statistic of every column: one query."""
        schema = chunk.collect_schema()
        exprs: list[pl.Expr] = [pl.len().alias("rows")]
        for i, (c, mask) in enumerate(self._masks(schema).items()):
            exprs += [mask.sum().alias(f"miss{i}"), *self._check_exprs(i, c, schema[c])]
            exprs += self._statistic_exprs(i, pl.col(c).cast(pl.Float64), mask)
        row = chunk.select(exprs).collect(engine="streaming").row(0, named=True)
        self._raise_on_checks(row)
        k = len(self._fit_columns)
        state = _ImputerState(
            rows=int(row["rows"]),
            n_missing=np.array([row[f"miss{i}"] for i in range(k)], dtype=np.int64),
        )
        if self.strategy == "mean":
            state.mean = self._column_stats(row, state.rows)
        elif self.strategy == "median":
            state.exact = np.array([_nan_if_none(row[f"stat{i}"]) for i in range(k)])
        elif callable(self.strategy):
            state.exact = self._apply_callable(row)
        return state

    def _statistic_exprs(self, i: int, raw: pl.Expr, mask: pl.Expr) -> list[pl.Expr]:
        value = pl.when(mask).then(None).otherwise(raw)
        if self.strategy == "mean":
            # The parts of a ColumnStats, merged with Chan et al.'s update.
            return [
                value.count().alias(f"n{i}"),
                value.mean().alias(f"mean{i}"),
                value.var(ddof=0).alias(f"var{i}"),
                value.min().alias(f"min{i}"),
                value.max().alias(f"max{i}"),
            ]
        if self.strategy == "median":
            # Exact: the engine keeps every value of the column (O(n_rows) memory).
            return [value.median().alias(f"stat{i}")]
        if callable(self.strategy):
            return [raw.filter(~mask).implode().alias(f"values{i}")]
        return []

    def _column_stats(self, row: dict[str, Any], rows: int) -> ColumnStats:
        k = len(self._fit_columns)
        count = np.array([row[f"n{i}"] for i in range(k)], dtype=np.int64)

        def vec(prefix: str, fill: float) -> np.ndarray:
            return np.array([_or(row[f"{prefix}{i}"], fill) for i in range(k)], dtype=np.float64)

        return ColumnStats(
            rows=rows,
            count=count,
            mean=vec("mean", 0.0),
            m2=vec("var", 0.0) * count,
            min=vec("min", np.inf),
            max=vec("max", -np.inf),
            has_inf=np.zeros(k, dtype=bool),
        )

    def _apply_callable(self, row: dict[str, Any]) -> np.ndarray:
        stats = np.empty(len(self._fit_columns))
        for i in range(len(self._fit_columns)):
            values = np.asarray(row[f"values{i}"] or [], dtype=np.float64)
            stats[i] = self.strategy(values)  # type: ignore[operator]
        return stats

    def _check_exprs(self, i: int, column: str, dtype: pl.DataType) -> list[pl.Expr]:
        """Flags of values scikit-learn refuses: inf, and NaN/null when they are not
        the missing marker."""
        col = pl.col(column)
        exprs = []
        if dtype.is_float():
            exprs.append(col.is_infinite().any().alias(f"inf{i}"))
        if self._nan_is_invalid(dtype):
            bad = col.is_null() | col.is_nan() if dtype.is_float() else col.is_null()
            exprs.append(bad.any().alias(f"nan{i}"))
        return exprs

    def _nan_is_invalid(self, dtype: pl.DataType) -> bool:
        marker = self.missing_values
        return (
            _is_numeric(dtype) and isinstance(marker, numbers.Real) and not _is_nan_marker(marker)
        )

    def _raise_on_checks(self, row: dict[str, Any]) -> None:
        cols = self._fit_columns
        check_finite_stats(self, cols, [bool(row.get(f"inf{i}")) for i in range(len(cols))])
        bad = [c for i, c in enumerate(cols) if row.get(f"nan{i}")]
        if bad:
            msg = (
                f"Input X contains NaN or null in column(s) {bad}, but "
                f"missing_values={self.missing_values!r}; {type(self).__name__} accepts "
                "NaN/null only when missing_values=np.nan. Hint: use missing_values=np.nan "
                "or fill them first."
            )
            raise ValueError(msg)

    def _count_values(self, chunk: pl.LazyFrame) -> _ImputerState:
        """Missing count and value counts of every column: one streaming pass.

        The engine streams the masks and values of all columns once, in batches; each
        batch's value counts (one in-memory group-by per column, run in parallel) are
        added to the running counts, so memory is one batch plus the distinct values.
        A union of per-column streaming group-bys would scan the source once per column
        (and a DuckDB relation refuses concurrent scans).
        """
        k = len(self._fit_columns)
        if k == 0:
            rows = int(chunk.select(pl.len()).collect(engine="streaming").item())
            return _ImputerState(rows=rows, n_missing=np.zeros(0, dtype=np.int64), counts=[])
        masks = self._masks(chunk.collect_schema())
        exprs = [
            e
            for i, (c, m) in enumerate(masks.items())
            for e in (m.alias(f"m{i}"), pl.col(c).alias(f"v{i}"))
        ]
        running = [_RunningCounts(self._empty_counts(c)) for c in self._fit_columns]
        state = _ImputerState(rows=0, n_missing=np.zeros(k, dtype=np.int64))
        batches = chunk.select(exprs).collect_batches(
            chunk_size=batch_rows_for(2 * k), engine="streaming"
        )
        for batch in batches:
            state.rows += batch.height
            state.n_missing += np.array([batch[f"m{i}"].sum() for i in range(k)], dtype=np.int64)
            tables = pl.collect_all(
                batch.lazy()
                .filter(~pl.col(f"m{i}"))
                .group_by(pl.col(f"v{i}").alias("value"))
                .agg(pl.len().cast(pl.Int64).alias("count"))
                for i in range(k)
            )
            for acc, table in zip(running, tables, strict=True):
                acc.add(table)
        state.counts = [acc.result() for acc in running]
        for c, counts in zip(self._fit_columns, state.counts, strict=True):
            self._check_values(c, counts["value"])
        return state

    def _check_values(self, column: str, values: pl.Series) -> None:
        dtype = values.dtype
        row: dict[str, Any] = {}
        i = self._fit_columns.index(column)
        if dtype.is_float():
            row[f"inf{i}"] = values.is_infinite().any()
        if self._nan_is_invalid(dtype):
            row[f"nan{i}"] = values.is_null().any() or (dtype.is_float() and values.is_nan().any())
        if row:
            self._raise_on_checks(row)

    def _merge_states(self, a: _ImputerState, b: _ImputerState) -> _ImputerState:
        if a.rows == 0 or b.rows == 0:
            # The empty state is the identity, whatever the strategy.
            return b if a.rows == 0 else a
        if a.exact is not None or b.exact is not None:
            msg = (
                f"SimpleImputer(strategy={self.strategy!r}) computes an exact statistic of "
                "the whole data in one query; it has no mergeable state, so it cannot be "
                "fitted chunk by chunk. Use strategy='mean', 'most_frequent' or 'constant'."
            )
            raise NotImplementedError(msg)
        merged = _ImputerState(rows=a.rows + b.rows, n_missing=a.n_missing + b.n_missing)
        if a.mean is not None and b.mean is not None:
            merged.mean = a.mean.merge(b.mean)
        if a.counts is not None and b.counts is not None:
            merged.counts = [_add_counts(x, y) for x, y in zip(a.counts, b.counts, strict=True)]
        return merged

    def _finalize_state(self, state: _ImputerState) -> None:
        if state.rows == 0:
            msg = (
                "Found array with 0 sample(s) while a minimum of 1 is required by "
                f"{type(self).__name__}."
            )
            raise ValueError(msg)
        empty = state.n_missing == state.rows
        self.statistics_ = self._statistics(state, empty)
        if self.add_indicator:
            indicator = MissingIndicator(missing_values=self.missing_values, error_on_new=False)
            indicator._precomputed = True
            indicator._n_features = len(self._fit_columns)
            indicator.features_ = np.flatnonzero(state.n_missing > 0)
            self.indicator_ = indicator
        else:
            self.indicator_ = None

    def _statistics(self, state: _ImputerState, empty: np.ndarray) -> np.ndarray:
        drop = 0 if self.keep_empty_features else np.nan
        if self.strategy == "constant":
            stats = np.array([self._fill_value_for(c) for c in self._fit_columns], dtype=object)
            stats[empty] = drop
            return stats
        if self.strategy == "mean":
            assert state.mean is not None
            return np.where(empty, drop, state.mean.mean)
        if self.strategy == "most_frequent":
            assert state.counts is not None
            values = [_mode(counts) for counts in state.counts]
            numeric = all(_is_numeric(self._schema_in[c]) for c in self._fit_columns)
            stats = np.array(values, dtype=np.float64 if numeric else object)
            stats[empty] = drop
            return stats
        assert state.exact is not None
        if callable(self.strategy):
            # As in scikit-learn, the callable also decides for empty columns.
            return state.exact
        return np.where(empty, drop, state.exact)

    def _fill_value_for(self, column: str) -> Any:
        if self.fill_value is not None:
            return self.fill_value
        dtype = self._schema_in[column]
        return 0 if _is_numeric(dtype) or dtype == pl.Null else "missing_value"

    # -- transforming ----------------------------------------------------------------
    def _kept(self) -> list[bool]:
        if self.keep_empty_features:
            return [True] * len(self._fit_columns)
        return [not _is_nan_value(s) for s in self.statistics_]

    def _indicator_columns(self) -> list[str]:
        if self.indicator_ is None:
            return []
        return [self._fit_columns[i] for i in self.indicator_.features_]

    def _transform_lf(self, data: Data) -> pl.LazyFrame:
        schema = data.lf.collect_schema()
        self._warn_dropped()
        fills = self._fill_exprs(schema)
        if all(fills.values()) and not self._indicator_columns():
            # Every column keeps its place: with_columns leaves the others untouched.
            return data.lf.with_columns(e for exprs in fills.values() for e in exprs)
        return data.lf.select(self._select_exprs(data))

    def _fill_exprs(self, schema: pl.Schema) -> dict[str, list[pl.Expr]]:
        masks = self._masks(schema)
        fills: dict[str, list[pl.Expr]] = {}
        for c, stat, kept in zip(self._fit_columns, self.statistics_, self._kept(), strict=True):
            fills[c] = [self._fill_expr(c, schema[c], masks[c], stat)] if kept else []
        return fills

    def _select_exprs(self, data: Data) -> list[pl.Expr]:
        schema = data.lf.collect_schema()
        masks = self._masks(schema)
        fills = self._fill_exprs(schema)
        exprs = [e for col in data.columns for e in fills.get(col, [pl.col(col)])]
        exprs += [masks[c].alias(f"missingindicator_{c}") for c in self._indicator_columns()]
        if data.y_column and data.y_column in schema.names():
            exprs.append(pl.col(data.y_column))
        return exprs

    def _fill_expr(self, column: str, dtype: pl.DataType, mask: pl.Expr, stat: Any) -> pl.Expr:
        if self._numeric:
            # Numeric strategies give floats; float32 columns stay float32.
            target = dtype if dtype.is_float() else pl.Float64
            value = pl.col(column).cast(target)
            return (
                pl.when(mask).then(pl.lit(float(stat)).cast(target)).otherwise(value).alias(column)
            )
        return (
            pl.when(mask).then(_fill_literal(stat, dtype)).otherwise(pl.col(column)).alias(column)
        )

    def _warn_dropped(self) -> None:
        kept = np.asarray(self._kept())
        if kept.all():
            return
        idx = np.flatnonzero(~kept)
        if hasattr(self, "feature_names_in_"):
            dropped: Any = np.asarray(self._fit_columns, dtype=object)[idx]
        else:
            dropped = np.array([self._columns_in.index(self._fit_columns[i]) for i in idx])
        warnings.warn(
            f"Skipping features without any observed values: {dropped}. At least one "
            f"non-missing value is needed for imputation with strategy='{self.strategy}'.",
            UserWarning,
            stacklevel=3,
        )

    def _check_transform_input(self, data: Data) -> None:
        # In-memory frames are checked as scikit-learn checks them (numpy arrays
        # already were, by check_array); a lazy source is not read here.
        if data.lazy:
            return
        schema = data.lf.collect_schema()
        exprs = [
            e for i, c in enumerate(self._fit_columns) for e in self._check_exprs(i, c, schema[c])
        ]
        if exprs:
            self._raise_on_checks(data.lf.select(exprs).collect().row(0, named=True))

    def inverse_transform(self, X: Any) -> Any:
        """Put the missing marker back where the indicator columns say so.

        Only with ``add_indicator=True``, as in scikit-learn. `X` is a transform
        output: an array with the columns of ``get_feature_names_out()``, or a frame or
        lazy source with those column names. Columns dropped at fit come back entirely
        missing.

        Returns
        -------
        LazyFrame, ndarray or DataFrame
            With the input columns of fit, in their order.
        """
        check_is_fitted(self, "_state")
        if not self.add_indicator:
            msg = (
                "'inverse_transform' works only when 'SimpleImputer' is instantiated with "
                f"'add_indicator=True'. Got 'add_indicator={self.add_indicator}' instead."
            )
            raise ValueError(msg)
        names = list(self.get_feature_names_out())
        eager = is_eager(X)
        if isinstance(X, np.ndarray):
            if X.ndim != 2 or X.shape[1] != len(names):
                msg = f"X has shape {X.shape}, expected (n_samples, {len(names)}) columns {names}."
                raise ValueError(msg)
            lf = _array_to_frame(X, names).lazy()
        else:
            lf = scan(X)
        available = lf.collect_schema().names()
        missing = [n for n in names if n not in available]
        if missing:
            msg = f"X lacks the transform output column(s) {missing} of {type(self).__name__}."
            raise ValueError(msg)
        exprs = self._inverse_exprs()
        y_column = getattr(self, "_y_column", None)
        out = [exprs.get(c, pl.col(c)) for c in self._columns_in]
        if y_column and y_column in available:
            out.append(pl.col(y_column))
        data = Data(lf, not eager, list(self._columns_in), y_column=y_column)
        if type(X).__module__.split(".")[0] == "pandas":
            data.pandas_index = X.index
        return self._finish(data, lf.select(out))

    def _inverse_exprs(self) -> dict[str, pl.Expr]:
        marker = None if _is_nan_marker(self.missing_values) else self.missing_values
        flagged = set(self._indicator_columns())
        exprs = {}
        for c, kept in zip(self._fit_columns, self._kept(), strict=True):
            if not kept:
                exprs[c] = pl.lit(marker).cast(self._schema_in[c]).alias(c)
            elif c in flagged:
                flag = pl.col(f"missingindicator_{c}").cast(pl.Boolean)
                exprs[c] = pl.when(flag).then(pl.lit(marker)).otherwise(pl.col(c)).alias(c)
        return exprs

    # -- feature names and tags ------------------------------------------------------
    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        """Output column names: the kept columns, then ``missingindicator_<col>``.

        Returns
        -------
        ndarray of str objects
        """
        check_is_fitted(self, "_state")
        names = _check_feature_names_in(self, input_features)
        rename = dict(zip(self._columns_in, names, strict=True))
        dropped = {c for c, kept in zip(self._fit_columns, self._kept(), strict=True) if not kept}
        out = [rename[c] for c in self._columns_in if c not in dropped]
        out += [f"missingindicator_{rename[c]}" for c in self._indicator_columns()]
        return np.asarray(out, dtype=object)

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = self._allow_nan
        tags.input_tags.string = False
        tags.input_tags.categorical = False
        return tags


class _RunningCounts:
    """Value counts added batch by batch.

    New tables wait in a list and are folded in only once they outgrow the total
    counts, so a high-cardinality column costs amortised O(distinct) per fold, not
    O(distinct) per batch.
    """

    def __init__(self, empty: pl.DataFrame) -> None:
        self._total = empty
        self._pending: list[pl.DataFrame] = []
        self._pending_rows = 0

    def add(self, table: pl.DataFrame) -> None:
        self._pending.append(table)
        self._pending_rows += table.height
        if self._pending_rows > max(self._total.height, 2**16):
            self._fold()

    def result(self) -> pl.DataFrame:
        self._fold()
        return self._total

    def _fold(self) -> None:
        if self._pending:
            both = pl.concat([self._total, *self._pending], how="vertical_relaxed")
            self._total = both.group_by("value").agg(pl.col("count").sum())
            self._pending, self._pending_rows = [], 0


def _add_counts(a: pl.DataFrame, b: pl.DataFrame) -> pl.DataFrame:
    """Merge two value-count tables: counts of the same value add up."""
    if a.height == 0 or b.height == 0:
        return b if a.height == 0 else a
    both = pl.concat([a, b], how="vertical_relaxed")
    return both.group_by("value").agg(pl.col("count").sum())


def _mode(counts: pl.DataFrame) -> Any:
    """The most frequent value; among ties the smallest (null first), as scikit-learn."""
    if counts.height == 0:
        return np.nan
    ties = counts.filter(pl.col("count") == pl.col("count").max())["value"]
    if ties.null_count():
        # scikit-learn orders mixed types by type name: None comes before str.
        return None
    if isinstance(ties.dtype, (pl.Categorical, pl.Enum)):
        ties = ties.cast(pl.String)
    return ties.min()


def _listed(dtypes: dict[str, pl.DataType]) -> str:
    return ", ".join(f"{c!r} ({dt})" for c, dt in dtypes.items())


def _is_nan_value(value: Any) -> bool:
    return isinstance(value, (float, np.floating)) and bool(np.isnan(value))


def _nan_if_none(value: float | None) -> float:
    return np.nan if value is None else float(value)


def _or(value: float | None, fill: float) -> float:
    return fill if value is None else value
