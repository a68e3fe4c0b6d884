"""Category counts and the Polars expressions of the categorical encoders.

The fit state of an encoder is, per column, the count of every distinct value plus the
count of missing values: one streaming ``group_by`` per column, merged across chunks by
summing counts. Memory is O(cardinality), never O(rows).
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import polars as pl
from sklearn.utils._missing import is_scalar_nan

from scaleml._exprs import replace_strict
from scaleml._validation import check_finite_stats

__all__ = [
    "CategoryCounts",
    "categories_array",
    "code_expr",
    "count_categories",
    "identify_infrequent",
    "infrequent_mapping",
    "is_missing",
    "key_expr",
    "kind_of",
    "member_expr",
    "observed",
    "unknown_values",
]

#: Values of an unknown-category report shown in an error message.
UNKNOWN_SHOWN = 10


def kind_of(dtype: pl.DataType) -> str | None:
    """The category kind of a Polars dtype: string, int, float, bool, null, or None."""
    if dtype == pl.Null:
        return "null"
    if dtype == pl.String or isinstance(dtype, (pl.Categorical, pl.Enum)):
        return "string"
    if dtype == pl.Boolean:
        return "bool"
    if dtype.is_integer():
        return "int"
    if dtype.is_float():
        return "float"
    return None


def _compatible(a: str, b: str) -> bool:
    numeric = {"int", "float"}
    return a == b or "null" in (a, b) or (a in numeric and b in numeric)


def is_missing(value: Any) -> bool:
    """Whether `value` is a missing value (None or NaN), as scikit-learn's encoders see it."""
    return value is None or bool(is_scalar_nan(value))


@dataclass
class CategoryCounts:
    """Per-column value counts: ``counts[col]`` has columns ``value`` and ``count``.

    A missing value (null, and NaN in float columns) is counted under a null ``value``.
    ``merge`` sums the counts of equal values, so it is associative and the empty state
    is its identity.
    """

    rows: int = 0
    counts: dict[str, pl.DataFrame] = field(default_factory=dict)

    def merge(self, other: CategoryCounts) -> CategoryCounts:
        counts = dict(self.counts)
        for col, frame in other.counts.items():
            counts[col] = _merge_counts(col, counts[col], frame) if col in counts else frame
        return CategoryCounts(self.rows + other.rows, counts)


def _merge_counts(col: str, a: pl.DataFrame, b: pl.DataFrame) -> pl.DataFrame:
    ka, kb = kind_of(a.schema["value"]), kind_of(b.schema["value"])
    if not _compatible(str(ka), str(kb)):
        msg = (
            f"Column {col!r} held {a.schema['value']} values in one chunk and "
            f"{b.schema['value']} values in another; an encoder needs one kind of values "
            "per column (strings, numbers or booleans)."
        )
        raise TypeError(msg)
    both = pl.concat([a, b], how="vertical_relaxed")
    return both.group_by("value").agg(pl.col("count").sum())


def _count_query(lf: pl.LazyFrame, col: str, dtype: pl.DataType) -> pl.LazyFrame:
    value = pl.col(col)
    if isinstance(dtype, (pl.Categorical, pl.Enum)):
        # Counted as strings: merges across chunks need no shared category mapping.
        value = value.cast(pl.String)
    elif dtype.is_float():
        value = value.fill_nan(None)
    counts = pl.len().cast(pl.Int64).alias("count")
    return lf.select(value.alias("value")).group_by("value").agg(counts)


def count_categories(est: Any, lf: pl.LazyFrame, columns: Sequence[str]) -> CategoryCounts:
    """Value counts of `columns` of `lf`, one streaming group-by per column."""
    schema = lf.collect_schema()
    queries = [_count_query(lf, c, schema[c]) for c in columns]
    if not columns:
        queries = [lf.select(pl.len().cast(pl.Int64).alias("count"))]
    frames = pl.collect_all(queries, engine="streaming")
    rows = int(frames[0]["count"].sum())
    if not columns:
        return CategoryCounts(rows, {})
    has_inf = [
        schema[c].is_float() and bool(f["value"].is_infinite().any())
        for c, f in zip(columns, frames, strict=True)
    ]
    check_finite_stats(est, columns, has_inf)
    return CategoryCounts(rows, dict(zip(columns, frames, strict=True)))


def observed(frame: pl.DataFrame) -> tuple[pl.Series, np.ndarray, int]:
    """The sorted non-missing values of a count frame, their counts, the missing count."""
    present = frame.filter(pl.col("value").is_not_null()).sort("value")
    missing = int(frame.filter(pl.col("value").is_null())["count"].sum())
    return present["value"], present["count"].to_numpy().astype(np.int64), missing


def categories_array(
    values: pl.Series, kind: str, missing: Any, has_missing: bool, as_object: bool
) -> np.ndarray:
    """``categories_[i]`` as scikit-learn builds it: typed unless it cannot be.

    Strings, object input and booleans or integers whose missing value is None give an
    object array; integers with NaN as missing value become float, as NumPy (and so
    scikit-learn) turns them.
    """
    tail = [missing] if has_missing else []
    typed_missing = missing is not None and kind in ("int", "float")
    if kind in ("string", "null") or as_object or (has_missing and not typed_missing):
        return np.array(values.to_list() + tail, dtype=object)
    arr = values.to_numpy()
    if not has_missing:
        return arr
    dtype = arr.dtype if arr.dtype.kind == "f" else np.float64
    return np.append(arr.astype(dtype), np.array([np.nan], dtype=dtype))


# -- infrequent categories (scikit-learn's rules) -------------------------------------
def identify_infrequent(
    counts: np.ndarray, n_samples: int, min_frequency: Any, max_categories: int | None
) -> np.ndarray | None:
    """Indices of the infrequent categories, or None (``_identify_infrequent``)."""
    if isinstance(min_frequency, numbers.Integral):
        mask = counts < min_frequency
    elif isinstance(min_frequency, numbers.Real):
        mask = counts < n_samples * min_frequency
    else:
        mask = np.zeros(counts.shape[0], dtype=bool)
    n_current = counts.size - mask.sum() + 1
    if max_categories is not None and max_categories < n_current:
        # max_categories counts the one infrequent output among the categories.
        n_frequent = max_categories - 1
        if n_frequent == 0:
            mask[:] = True
        else:
            # A stable sort keeps ties in category order, as scikit-learn does.
            mask[np.argsort(counts, kind="mergesort")[:-n_frequent]] = True
    out = np.flatnonzero(mask)
    return out if out.size else None


def infrequent_mapping(n_cats: int, infrequent: np.ndarray) -> np.ndarray:
    """Category index -> grouped index: frequent ones in order, then the infrequent one."""
    mapping = np.empty(n_cats, dtype=np.int64)
    n_frequent = n_cats - infrequent.size
    mapping[infrequent] = n_frequent
    frequent = np.setdiff1d(np.arange(n_cats), infrequent)
    mapping[frequent] = np.arange(n_frequent)
    return mapping


# -- transform expressions ------------------------------------------------------------
_VALUE_DTYPE: dict[str, pl.DataType] = {
    "string": pl.String(),
    "int": pl.Int64(),
    "float": pl.Float64(),
    "bool": pl.Boolean(),
    "null": pl.String(),
}


def key_expr(est: Any, col: str, kind: str, dtype: pl.DataType) -> tuple[pl.Expr, pl.DataType]:
    """Column `col` as a lookup key comparable with categories of `kind`.

    Missing values (null, NaN) become null. Integers meet floats as Float64, so that
    ``2.0`` finds category ``2`` and ``2.5`` finds nothing.
    """
    in_kind = kind_of(dtype)
    if in_kind is None:
        msg = (
            f"{type(est).__name__} encodes string, categorical, integer, float and boolean "
            f"columns; column {col!r} has dtype {dtype}."
        )
        raise TypeError(msg)
    if not _compatible(kind, in_kind):
        msg = (
            f"Column {col!r} had {kind} values at fit but has dtype {dtype} now; "
            f"{type(est).__name__} cannot compare them with the fitted categories."
        )
        raise TypeError(msg)
    kinds = {kind, in_kind} - {"null"}
    target = "float" if "float" in kinds else (kinds.pop() if kinds else "null")
    key = pl.col(col).cast(_VALUE_DTYPE[target])
    if target == "float":
        key = key.fill_nan(None)
    return key, _VALUE_DTYPE[target]


def member_expr(key: pl.Expr, dtype: pl.DataType, values: list[Any], with_missing: bool) -> pl.Expr:
    """True where `key` is one of `values` (or missing, if `with_missing`), never null."""
    if len(values) == 1:
        hit = (key == pl.lit(values[0], dtype=dtype)).fill_null(False)
    elif values:
        hit = key.is_in(pl.Series(values, dtype=dtype).implode()).fill_null(False)
    else:
        hit = pl.lit(False)
    return hit | key.is_null() if with_missing else hit


def code_expr(
    key: pl.Expr,
    dtype: pl.DataType,
    values: list[Any],
    codes: Sequence[Any],
    missing_code: Any,
    unknown_code: Any,
    out: pl.DataType,
) -> pl.Expr:
    """The code of each row: ``codes[j]`` for ``values[j]``, `missing_code` for a missing
    value, `unknown_code` for anything else."""
    unknown = pl.lit(unknown_code, dtype=out)
    if values:
        mapped = replace_strict(
            key,
            pl.Series(values, dtype=dtype),
            pl.Series(list(codes), dtype=out),
            default=unknown,
            return_dtype=out,
        )
    else:
        mapped = unknown
    return pl.when(key.is_null()).then(pl.lit(missing_code, dtype=out)).otherwise(mapped)


def unknown_values(
    lf: pl.LazyFrame, known: dict[str, tuple[pl.Expr, pl.DataType, list[Any], bool]]
) -> dict[str, list[Any]]:
    """The distinct values of each column that are not known categories.

    One streaming query per column, all run together; each keeps only the distinct
    unknown values (sorted, at most ``UNKNOWN_SHOWN + 1``), so memory stays bounded by
    the number of distinct unknown values. Returns only the columns with unknowns.
    """
    queries = []
    for key, dtype, values, with_missing in known.values():
        hit = member_expr(key, dtype, values, with_missing)
        query = lf.select(key.alias("value"), hit.alias("known")).filter(~pl.col("known"))
        queries.append(
            query.select("value").unique().sort("value", nulls_last=True).head(UNKNOWN_SHOWN + 1)
        )
    frames = pl.collect_all(queries, engine="streaming") if queries else []
    return {
        col: frame["value"].to_list()
        for col, frame in zip(known, frames, strict=True)
        if frame.height
    }
