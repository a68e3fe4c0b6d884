"""Mergeable per-column profiles of a dataset, built in one streaming pass.

A :class:`DataProfile` holds, for every profiled column, what drift tests need:

- numeric columns: a KLL quantile sketch (:class:`~scaleml.preprocessing._sketch.
  QuantileSketch`, rank error bounded), the exact count of every distinct value while
  there are at most ``max_exact_values`` of them (O(distinct) memory, dropped beyond),
  and optionally exact counts in given bins;
- categorical columns (strings, categoricals, enums, booleans): the count of every
  category;
- the number of rows and of missing values (null, and NaN in float columns).

Profiles merge (:meth:`DataProfile.merge`): counts add exactly, sketches merge within
their error bound, so the profile of daily partitions merged equals the profile of the
whole (exactly for counts).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import polars as pl

from scaleml._fit import fold
from scaleml.io import batch_rows_for, scan
from scaleml.preprocessing._sketch import QuantileSketch

__all__ = ["ColumnProfile", "DataProfile", "column_kind", "profile_data"]

NUMERIC = "numeric"
CATEGORICAL = "categorical"


def column_kind(name: str, dtype: pl.DataType) -> str:
    """ "numeric" or "categorical" for a column dtype; raise naming the column otherwise."""
    if dtype == pl.Boolean or dtype == pl.String or isinstance(dtype, (pl.Categorical, pl.Enum)):
        return CATEGORICAL
    if dtype.is_numeric() or dtype.is_temporal() or dtype == pl.Null:
        return NUMERIC
    msg = (
        f"Cannot profile column {name!r} of dtype {dtype}: drift monitoring handles numeric, "
        "temporal, string, categorical and boolean columns. Hint: leave it out with columns=."
    )
    raise TypeError(msg)


def _value_expr(name: str, dtype: pl.DataType, kind: str) -> pl.Expr:
    col = pl.col(name)
    if kind == CATEGORICAL:
        return col.cast(pl.String)
    if dtype.is_temporal():
        col = col.to_physical()
    return col.cast(pl.Float64)


@dataclass
class ColumnProfile:
    """What the drift tests need to know about one column.

    Attributes
    ----------
    name, kind, dtype : the column, "numeric" or "categorical", and its dtype (str).
    n_rows : rows seen.
    n_missing : null values (and NaN in float columns).
    sketch : QuantileSketch or None
        Numeric columns: the sketch of the non-missing values.
    values, counts : ndarray or None
        Numeric columns: the sorted distinct non-missing values and their counts, or
        None once there were more than ``max_exact_values`` distinct values.
    categories : polars.DataFrame or None
        Categorical columns: ``value`` (str) and ``count``, sorted by value.
    histogram : tuple (edges, counts) or None
        Exact counts of the non-missing values in the bins ``(-inf, e0], (e0, e1], ...,
        (e_last, inf)`` when the profile was built with bin edges for this column.
    """

    name: str
    kind: str
    dtype: str
    max_exact_values: int
    n_rows: int = 0
    n_missing: int = 0
    sketch: QuantileSketch | None = None
    values: np.ndarray | None = None
    counts: np.ndarray | None = None
    categories: pl.DataFrame | None = None
    histogram: tuple[np.ndarray, np.ndarray] | None = None

    @property
    def n_present(self) -> int:
        """Number of non-missing values."""
        return self.n_rows - self.n_missing

    @property
    def null_rate(self) -> float:
        """Fraction of missing values (NaN for an empty profile)."""
        return self.n_missing / self.n_rows if self.n_rows else math.nan

    @property
    def exact(self) -> bool:
        """Whether the distribution is known exactly (value or category counts)."""
        return self.kind == CATEGORICAL or self.values is not None

    # -- updating -----------------------------------------------------------------------
    def _update(self, series: pl.Series) -> None:
        self.n_rows += series.len()
        if self.kind == CATEGORICAL:
            self.n_missing += series.null_count()
            counts = _category_counts(series.drop_nulls())
            self.categories = _merge_categories(self.categories, counts)
            return
        x = series.to_numpy()
        x = np.sort(x[~np.isnan(x)])
        self.n_missing += series.len() - x.size
        assert self.sketch is not None
        self.sketch.update(x)
        if self.values is not None:
            self.values, self.counts = _merge_counts(
                (self.values, self.counts), _distinct(x), self.max_exact_values
            )
        if self.histogram is not None:
            edges, hist = self.histogram
            # Bins are right-closed: bin i holds edges[i-1] < x <= edges[i].
            idx = np.searchsorted(edges, x, side="left")
            self.histogram = (edges, hist + np.bincount(idx, minlength=edges.size + 1))

    def merge(self, other: ColumnProfile) -> ColumnProfile:
        """A new profile of both columns' data; neither input is modified.

        Raises
        ------
        ValueError
            If the two profiles describe different columns, kinds or settings.
        """
        if (self.name, self.kind, self.max_exact_values) != (
            other.name,
            other.kind,
            other.max_exact_values,
        ):
            msg = (
                f"Cannot merge the profile of column {self.name!r} ({self.kind}, "
                f"max_exact_values={self.max_exact_values}) with that of column "
                f"{other.name!r} ({other.kind}, max_exact_values={other.max_exact_values})."
            )
            raise ValueError(msg)
        out = ColumnProfile(
            self.name,
            self.kind,
            self.dtype,
            self.max_exact_values,
            n_rows=self.n_rows + other.n_rows,
            n_missing=self.n_missing + other.n_missing,
        )
        if self.kind == CATEGORICAL:
            out.categories = _merge_categories(self.categories, other.categories)
            return out
        assert self.sketch is not None and other.sketch is not None
        out.sketch = self.sketch.merge(other.sketch)
        if self.values is not None and other.values is not None:
            out.values, out.counts = _merge_counts(
                (self.values, self.counts), (other.values, other.counts), self.max_exact_values
            )
        if (
            self.histogram is not None
            and other.histogram is not None
            and np.array_equal(self.histogram[0], other.histogram[0])
        ):
            out.histogram = (self.histogram[0], self.histogram[1] + other.histogram[1])
        return out

    # -- queries ------------------------------------------------------------------------
    def quantiles(self, qs: np.ndarray) -> np.ndarray:
        """Quantiles of the non-missing values (NumPy's "linear"), exact when known."""
        if self.values is None:
            assert self.sketch is not None
            return np.asarray(self.sketch.quantile(qs), dtype=np.float64)
        assert self.counts is not None
        cum = np.cumsum(self.counts)
        pos = qs * (self.n_present - 1)
        lo = np.floor(pos).astype(np.int64)
        hi = np.minimum(lo + 1, self.n_present - 1)
        a = self.values[np.searchsorted(cum, lo, side="right")]
        b = self.values[np.searchsorted(cum, hi, side="right")]
        gamma = pos - lo
        return np.asarray(np.where(gamma >= 0.5, b - (b - a) * (1 - gamma), a + (b - a) * gamma))

    def bin_edges(self, n_bins: int) -> np.ndarray:
        """Right-closed bin edges for the histograms of the drift tests.

        With at most `n_bins` distinct values (known exactly), one bin per value, plus
        one below the smallest and one above the largest; otherwise the
        ``1/n_bins .. (n_bins-1)/n_bins`` quantiles (duplicates removed).
        """
        if self.kind != NUMERIC or self.n_present == 0:
            return np.empty(0)
        if self.values is not None and self.values.size <= n_bins:
            first = np.nextafter(self.values[0], -np.inf)
            return np.concatenate([[first], self.values])
        qs = np.linspace(0.0, 1.0, n_bins + 1)[1:-1]
        return np.unique(self.quantiles(qs))

    def bin_counts(self, edges: np.ndarray) -> tuple[np.ndarray, bool]:
        """Counts of the non-missing values in the bins of `edges`, and whether exact.

        From the exact histogram or value counts when there are any, else estimated
        from the sketch's ranks (within its rank-error bound per edge).
        """
        if self.histogram is not None and np.array_equal(self.histogram[0], edges):
            return self.histogram[1].astype(np.float64), True
        if self.values is not None:
            assert self.counts is not None
            cum = np.concatenate([[0], np.cumsum(self.counts)])
            below = cum[np.searchsorted(self.values, edges, side="right")]
            exact = True
        elif self.n_present:
            assert self.sketch is not None
            below = np.asarray(self.sketch.rank(edges)) * self.n_present
            exact = False
        else:
            return np.zeros(edges.size + 1), True
        return np.diff(np.concatenate([[0.0], below, [float(self.n_present)]])), exact

    def category_counts(self) -> dict[str, int]:
        """``{category: count}`` of a categorical column."""
        if self.categories is None:
            return {}
        return dict(
            zip(self.categories["value"].to_list(), self.categories["count"].to_list(), strict=True)
        )

    def rank_error(self, delta: float = 0.01) -> float:
        """Normalised rank-error bound of the column's distribution (0 when exact)."""
        if self.exact or self.sketch is None:
            return 0.0
        return self.sketch.normalized_rank_error(delta)


def _distinct(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distinct values of a sorted array and their counts."""
    if not x.size:
        return np.empty(0), np.empty(0, dtype=np.int64)
    starts = np.flatnonzero(np.concatenate([[True], x[1:] != x[:-1]]))
    return x[starts], np.diff(np.append(starts, x.size)).astype(np.int64)


def _merge_counts(
    a: tuple[np.ndarray | None, np.ndarray | None],
    b: tuple[np.ndarray | None, np.ndarray | None],
    cap: int,
) -> tuple[np.ndarray | None, np.ndarray | None]:
    """Sum the counts of equal values; None once more than `cap` distinct values.

    Dropping depends only on the distinct values of the union, which no split of the
    data can lower, so a merge of parts gives the same result as the whole.
    """
    if a[0] is None or b[0] is None:
        return None, None
    values = np.concatenate([a[0], b[0]])
    counts = np.concatenate([a[1], b[1]])
    order = np.argsort(values, kind="stable")
    values, counts = values[order], counts[order]
    if not values.size:
        return values, counts.astype(np.int64)
    starts = np.flatnonzero(np.concatenate([[True], values[1:] != values[:-1]]))
    if starts.size > cap:
        return None, None
    return values[starts], np.add.reduceat(counts, starts).astype(np.int64)


def _category_counts(series: pl.Series) -> pl.DataFrame:
    frame = (
        series.rename("value")
        .to_frame()
        .group_by("value")
        .agg(pl.len().cast(pl.Int64).alias("count"))
    )
    return frame.sort("value")


def _merge_categories(a: pl.DataFrame | None, b: pl.DataFrame | None) -> pl.DataFrame | None:
    if a is None or b is None:
        return b if a is None else a
    both = pl.concat([a, b])
    return both.group_by("value").agg(pl.col("count").sum()).sort("value")


@dataclass
class DataProfile:
    """Per-column profiles of a dataset; mergeable and picklable.

    Build one with :func:`profile_data` (or :meth:`DriftMonitor.fit
    <scaleml.monitoring.DriftMonitor.fit>`); combine the profiles of partitions with
    :meth:`merge`.

    Attributes
    ----------
    n_rows : int
    columns : dict of str to ColumnProfile

    Examples
    --------
    >>> import polars as pl
    >>> from scaleml.monitoring import profile_data
    >>> day1 = profile_data(pl.DataFrame({"x": [1.0, 2.0, None], "c": ["a", "b", "a"]}))
    >>> day2 = profile_data(pl.DataFrame({"x": [2.0, 5.0], "c": ["b", None]}))
    >>> both = day1.merge(day2)
    >>> both.n_rows, both["x"].n_missing, both["c"].category_counts()
    (5, 1, {'a': 2, 'b': 2})
    """

    n_rows: int = 0
    columns: dict[str, ColumnProfile] = field(default_factory=dict)

    def __getitem__(self, name: str) -> ColumnProfile:
        return self.columns[name]

    @property
    def column_names(self) -> list[str]:
        """The profiled columns, in order."""
        return list(self.columns)

    def merge(self, other: DataProfile) -> DataProfile:
        """The profile of both datasets; neither input is modified.

        Raises
        ------
        ValueError
            If the profiles do not describe the same columns.
        """
        if not isinstance(other, DataProfile):
            msg = f"Cannot merge a DataProfile with an object of type {type(other).__qualname__!r}."
            raise TypeError(msg)
        if self.column_names != other.column_names:
            msg = (
                "Cannot merge profiles of different columns: "
                f"{self.column_names} vs {other.column_names}."
            )
            raise ValueError(msg)
        merged = {c: p.merge(other.columns[c]) for c, p in self.columns.items()}
        return DataProfile(self.n_rows + other.n_rows, merged)


class _ProfileBuilder:
    """The mergeable-state parts :func:`scaleml._fit.fold` drives: one streaming read
    of each partition in batches, every column updated from each batch."""

    chunk_kind = "frame"

    def __init__(
        self,
        schema: pl.Schema,
        kinds: dict[str, str],
        sketch_k: int,
        max_exact_values: int,
        batch_rows: int | None,
        edges: dict[str, np.ndarray],
    ) -> None:
        self.schema = schema
        self.kinds = kinds
        self.sketch_k = sketch_k
        self.max_exact_values = max_exact_values
        self.batch_rows = batch_rows or batch_rows_for(max(1, len(kinds)))
        self.edges = edges

    def _init_state(self) -> DataProfile:
        columns = {}
        for c, kind in self.kinds.items():
            prof = ColumnProfile(c, kind, str(self.schema[c]), self.max_exact_values)
            if kind == NUMERIC:
                prof.sketch = QuantileSketch(self.sketch_k)
                prof.values, prof.counts = np.empty(0), np.empty(0, dtype=np.int64)
                if c in self.edges:
                    edges = np.asarray(self.edges[c], dtype=np.float64)
                    prof.histogram = (edges, np.zeros(edges.size + 1, dtype=np.int64))
            columns[c] = prof
        return DataProfile(0, columns)

    def _update_state(self, state: DataProfile, chunk: pl.LazyFrame) -> DataProfile:
        exprs = [_value_expr(c, self.schema[c], k).alias(c) for c, k in self.kinds.items()]
        for batch in chunk.select(exprs).collect_batches(
            chunk_size=self.batch_rows, engine="streaming"
        ):
            state.n_rows += batch.height
            for c in self.kinds:
                state.columns[c]._update(batch[c])
        return state

    def _merge_states(self, a: DataProfile, b: DataProfile) -> DataProfile:
        return a.merge(b)


def profile_data(
    X: Any,
    *,
    columns: Sequence[str] | None = None,
    sketch_k: int = 1000,
    max_exact_values: int = 100_000,
    bin_edges: dict[str, np.ndarray] | None = None,
    batch_rows: int | None = None,
    n_jobs: int | None = None,
) -> DataProfile:
    """Profile the columns of `X` in one streaming pass.

    Parameters
    ----------
    X : any source :func:`scaleml.scan` reads
    columns : list of str, optional
        The columns to profile (default: all).
    sketch_k : int, default=1000
        Accuracy of the quantile sketches: rank error at most ``3.5 / sketch_k``
        (99%).
    max_exact_values : int, default=100_000
        Numeric columns keep the exact count of each distinct value up to this many
        distinct values (exact KS tests and bins); beyond, only the sketch.
    bin_edges : dict of str to array, optional
        Exact counts in these right-closed bins are kept for those columns.
    batch_rows : int, optional
        Rows per batch read from the engine.
    n_jobs : int, optional
        Partitions profiled in parallel threads, then merged.

    Returns
    -------
    DataProfile

    Examples
    --------
    >>> import numpy as np
    >>> p = profile_data(np.array([[1.0], [2.0], [np.nan]]))
    >>> p.column_names, p["x0"].null_rate
    (['x0'], 0.3333333333333333)
    """
    lf = scan(X)
    schema = lf.collect_schema()
    names = schema.names() if columns is None else list(columns)
    unknown = [c for c in names if c not in schema]
    if unknown:
        msg = f"Cannot profile column(s) {unknown}: not in the data (columns: {schema.names()})."
        raise ValueError(msg)
    if not names:
        msg = "Nothing to profile: the data has no columns (or columns=[] was given)."
        raise ValueError(msg)
    kinds = {c: column_kind(c, schema[c]) for c in names}
    builder = _ProfileBuilder(
        schema, kinds, sketch_k, max_exact_values, batch_rows, bin_edges or {}
    )
    return fold(builder, lf, n_jobs=n_jobs)  # type: ignore[arg-type]
