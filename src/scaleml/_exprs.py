"""Expression helpers that keep a query inside the streaming engine."""

from __future__ import annotations

from typing import Any

import polars as pl

__all__ = ["replace_strict"]

_NO_DEFAULT = object()


def replace_strict(
    expr: pl.Expr,
    old: Any,
    new: Any,
    *,
    default: Any = _NO_DEFAULT,
    return_dtype: pl.DataType | type[pl.DataType] | None = None,
) -> pl.Expr:
    """``expr.replace_strict(old, new, ...)``, evaluated batch by batch.

    Polars 2.1 evaluates ``Expr.replace`` / ``replace_strict`` outside the streaming
    engine: the whole query under it is materialised before the first batch comes
    out (measured: +13 GB for a 20M-row fit that otherwise streams in +0.2 GB). The
    same replacement applied to each batch with ``map_batches(is_elementwise=True)``
    streams. `default` may be a scalar or a literal expression.

    Examples
    --------
    >>> import polars as pl
    >>> lf = pl.LazyFrame({"y": ["b", "a", "b"]})
    >>> lf.select(replace_strict(pl.col("y"), ["a", "b"], [0.0, 1.0],
    ...                          return_dtype=pl.Float64)).collect()["y"].to_list()
    [1.0, 0.0, 1.0]
    """
    kwargs: dict[str, Any] = {"return_dtype": return_dtype}
    if default is not _NO_DEFAULT:
        if isinstance(default, pl.Expr):
            default = pl.select(default).item()
        kwargs["default"] = default

    def apply(series: pl.Series) -> pl.Series:
        return series.replace_strict(old, new, **kwargs)

    return expr.map_batches(apply, return_dtype=return_dtype, is_elementwise=True)
