"""A metric's inputs: in-memory arrays, or columns of one lazy frame.

Every metric takes its targets either as array-likes (scikit-learn computes the
metric) or out of core: column names of ``data=`` (anything :func:`scaleml.scan`
reads), or LazyFrames / DuckDB relations holding the columns. The out-of-core inputs
become ONE :class:`polars.LazyFrame` whose columns are renamed to internal role names
(``y_true0``, ``y_pred0``, ``sample_weight``), so queries never collide with user
column names; messages use the user's names.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar, cast

import numpy as np
import polars as pl
from sklearn.utils._param_validation import validate_params

from scaleml._validation import _hint, is_eager
from scaleml.io import scan

__all__ = [
    "MetricFrame",
    "check_weight_stats",
    "collect",
    "finite_checks",
    "label_expr",
    "metric_frame",
    "numeric_expr",
    "raise_empty",
    "raise_not_finite",
    "totals",
    "validated",
    "weight_checks",
]

#: Internal name of the sample-weight column.
WEIGHT = "sample_weight"

F = TypeVar("F", bound=Callable[..., Any])


def validated(constraints: dict[str, list[Any]]) -> Callable[[F], F]:
    """scikit-learn's ``validate_params`` for a metric's options (typed).

    The data arguments are left out of `constraints`: :func:`metric_frame` checks them.
    """
    return cast(
        "Callable[[F], F]", validate_params(constraints, prefer_skip_nested_validation=True)
    )


@dataclass
class MetricFrame:
    """Out-of-core metric inputs: one LazyFrame, one or more columns per role.

    Attributes
    ----------
    lf : the columns, under internal names.
    columns : role -> internal column names, in the user's order.
    names : role -> the user's names for those columns (for messages), the weight's too.
    weight : the internal sample-weight column, or None.
    schema : dtypes of ``lf``'s columns.
    """

    lf: pl.LazyFrame
    columns: dict[str, list[str]]
    names: dict[str, list[str]]
    weight: str | None = None
    schema: pl.Schema = field(default_factory=pl.Schema)

    def col(self, role: str, i: int = 0) -> str:
        """Internal name of `role`'s `i`-th column."""
        return self.columns[role][i]

    def describe(self, role: str, i: int = 0) -> str:
        """How a message names `role`'s `i`-th column."""
        return f"{role} (column {self.names[role][i]!r})"

    def w(self) -> pl.Expr:
        """The sample weight as a float64 expression (1.0 without weights)."""
        return pl.col(self.weight).cast(pl.Float64) if self.weight else pl.lit(1.0)

    def w_sum(self) -> pl.Expr:
        """Aggregate: the float64 sum of weights (the row count without weights)."""
        return self.w().sum() if self.weight else pl.len().cast(pl.Float64)

    def weight_is_integer(self) -> bool:
        """Whether there are no weights or integer/boolean ones (int64 sums)."""
        if self.weight is None:
            return True
        dtype = self.schema[self.weight]
        return dtype.is_integer() or dtype == pl.Boolean


def _is_lazy_source(value: Any) -> bool:
    """An object scaleml.scan reads lazily (LazyFrame, DuckDB relation, dataset...)."""
    if value is None or isinstance(value, (str, tuple, list)):
        return False
    return not is_eager(value)


def _is_names(value: Any) -> bool:
    return isinstance(value, str) or (
        isinstance(value, (list, tuple))
        and len(value) > 0
        and all(isinstance(v, str) for v in value)
    )


def metric_frame(
    roles: dict[str, Any],
    *,
    data: Any,
    sample_weight: Any,
    multi: Sequence[str] = (),
) -> MetricFrame | None:
    """Resolve a metric's inputs; None when everything is in memory.

    Parameters
    ----------
    roles : role name -> the argument (column name(s), lazy source or array-like).
    data : the ``data=`` argument (None or anything :func:`scaleml.scan` reads).
    sample_weight : None, a column name of `data`, a lazy source or an array-like.
    multi : roles that may span several columns (probabilities, multi-output).
    """
    args = {**roles, WEIGHT: sample_weight}
    if data is None:
        named = [r for r, v in args.items() if isinstance(v, str)]
        if named:
            role = named[0]
            msg = (
                f"{role}={args[role]!r} is a column name, but data= was not given. Pass "
                f"the table holding the columns as data= (a LazyFrame, a parquet path or "
                f"glob, a DuckDB relation...), or pass {role} as an array."
            )
            raise ValueError(msg)
        if not any(_is_lazy_source(v) for v in args.values()):
            return None
    return _build(args, scan(data) if data is not None else None, multi)


def _build(args: dict[str, Any], data: pl.LazyFrame | None, multi: Sequence[str]) -> MetricFrame:
    available = data.collect_schema().names() if data is not None else []
    parts: list[pl.LazyFrame] = []
    from_data: list[pl.Expr] = []
    columns: dict[str, list[str]] = {}
    names: dict[str, list[str]] = {}
    for role, value in args.items():
        if value is None:
            continue
        if data is not None and _is_names(value):
            user = [value] if isinstance(value, str) else list(value)
            _check_known(role, user, available)
            source_names = user
        else:
            source = _as_lazy(role, value)
            source_names = source.collect_schema().names()
            user = source_names
        internal = _internal_names(role, len(user))
        if role not in multi and len(user) != 1:
            msg = f"{role} must be a single column; got {len(user)} columns {user}."
            raise ValueError(msg)
        if not user:
            msg = f"{role} has no column."
            raise ValueError(msg)
        exprs = [pl.col(s).alias(i) for s, i in zip(source_names, internal, strict=True)]
        if data is not None and _is_names(value):
            from_data.extend(exprs)
        else:
            parts.append(source.select(exprs))
        columns[role], names[role] = internal, user
    if data is not None:
        if not from_data:
            msg = "data= was given, but none of the arguments names one of its columns."
            raise ValueError(msg)
        parts.insert(0, data.select(from_data))
    lf = parts[0] if len(parts) == 1 else pl.concat(parts, how="horizontal")
    weight = columns.pop(WEIGHT, [None])[0]
    frame = MetricFrame(lf, columns, names, weight, lf.collect_schema())
    if weight is not None:
        _check_weight_dtype(frame)
    return frame


def _internal_names(role: str, n: int) -> list[str]:
    return [WEIGHT] if role == WEIGHT else [f"{role}{i}" for i in range(n)]


def _check_known(role: str, wanted: list[str], available: list[str]) -> None:
    for name in wanted:
        if name not in available:
            msg = f"{role}={name!r} is not a column of data. {_hint(name, available)}".rstrip()
            raise ValueError(msg)


def _as_lazy(role: str, value: Any) -> pl.LazyFrame:
    """A lazy source as is; an in-memory array-like as a small LazyFrame."""
    if _is_lazy_source(value) or isinstance(value, pl.DataFrame):
        return scan(value)
    if isinstance(value, pl.Series):
        return value.to_frame("c0").lazy()
    array = np.asarray(value)
    if array.ndim == 1:
        return pl.Series("c0", array).to_frame().lazy()
    if array.ndim == 2:
        return pl.DataFrame({f"c{i}": array[:, i] for i in range(array.shape[1])}).lazy()
    msg = f"{role} must be 1-D or 2-D; got an array with {array.ndim} dimensions."
    raise ValueError(msg)


def _check_weight_dtype(frame: MetricFrame) -> None:
    dtype = frame.schema[WEIGHT]
    if not (dtype.is_numeric() or dtype == pl.Boolean):
        msg = f"sample_weight must be numeric; got a column of dtype {dtype}."
        raise ValueError(msg)


def collect(lf: pl.LazyFrame, frame: MetricFrame) -> pl.DataFrame:
    """Run one aggregation query on the streaming engine."""
    try:
        return lf.collect(engine="streaming")
    except pl.exceptions.ShapeError as exc:
        raise length_mismatch(frame) from exc


def length_mismatch(frame: MetricFrame) -> ValueError:
    """The error for inputs of different lengths (seen when they are zipped)."""
    roles = [*frame.columns, *([WEIGHT] if frame.weight else [])]
    listed = " and ".join([", ".join(roles[:-1]), roles[-1]])
    msg = (
        "Found input variables with inconsistent numbers of samples: "
        f"{listed} must have the same number of rows."
    )
    return ValueError(msg)


def label_expr(frame: MetricFrame, role: str, i: int = 0) -> pl.Expr:
    """A class-label column, categoricals as strings; other dtypes rejected."""
    name = frame.col(role, i)
    dtype = frame.schema[name]
    if isinstance(dtype, (pl.Categorical, pl.Enum)):
        return pl.col(name).cast(pl.String)
    if dtype.is_numeric() or dtype in (pl.String, pl.Boolean):
        return pl.col(name)
    msg = (
        f"{frame.describe(role, i)} must hold class labels (numbers, strings or "
        f"booleans); got dtype {dtype}."
    )
    raise ValueError(msg)


def numeric_expr(frame: MetricFrame, role: str, i: int = 0) -> pl.Expr:
    """A numeric column as float64; non-numeric columns rejected as scikit-learn does."""
    name = frame.col(role, i)
    dtype = frame.schema[name]
    if not (dtype.is_numeric() or dtype == pl.Boolean):
        msg = f"{frame.describe(role, i)} must be numeric; got dtype {dtype}."
        raise ValueError(msg)
    return pl.col(name).cast(pl.Float64)


def finite_checks(expr: pl.Expr, alias: str) -> list[pl.Expr]:
    """Aggregates counting NaN/null and infinite values of a float64 expression."""
    return [
        (expr.is_null() | expr.is_nan()).sum().alias(f"{alias}__nan"),
        expr.is_infinite().sum().alias(f"{alias}__inf"),
    ]


def raise_not_finite(
    stats: dict[str, Any], alias: str, label: str, *, prefix: str = "Input"
) -> None:
    """Raise scikit-learn's message if the `finite_checks` of `alias` found any."""
    n_nan, n_inf = stats[f"{alias}__nan"], stats[f"{alias}__inf"]
    if n_nan:
        msg = f"{prefix} contains NaN. ({label} has {n_nan} NaN or null value(s).)"
        raise ValueError(msg)
    if n_inf:
        msg = (
            f"{prefix} contains infinity or a value too large for dtype('float64'). "
            f"({label} has {n_inf} infinite value(s).)"
        )
        raise ValueError(msg)


def weight_checks(frame: MetricFrame) -> list[pl.Expr]:
    """Aggregates validating the sample weights (none without weights)."""
    if frame.weight is None:
        return []
    w = frame.w()
    return [*finite_checks(w, WEIGHT), (w != 0).sum().alias(f"{WEIGHT}__nonzero")]


def check_weight_stats(frame: MetricFrame, stats: dict[str, Any]) -> None:
    """scikit-learn's ``_check_sample_weight`` from the `weight_checks` aggregates."""
    if frame.weight is None:
        return
    raise_not_finite(stats, WEIGHT, frame.describe(WEIGHT), prefix="Input sample_weight")
    if stats[f"{WEIGHT}__nonzero"] == 0:
        msg = "Sample weights must contain at least one non-zero number."
        raise ValueError(msg)


def totals(table: pl.DataFrame, columns: Sequence[str]) -> dict[str, Any]:
    """Sum per-group check counts of a group-by result into one dict."""
    return {c: table[c].sum() for c in columns}


def raise_empty(shape: tuple[int, ...]) -> None:
    """scikit-learn's ``check_array`` message for 0 rows."""
    msg = f"Found array with 0 sample(s) (shape={shape}) while a minimum of 1 is required."
    raise ValueError(msg)
