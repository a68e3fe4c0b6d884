"""Peer implementations that scaleml is benchmarked against.

Every function is module-level so it can be pickled into a ``spawn`` subprocess for the
peak-RSS measurement, takes the dataset glob, and returns something small so the result
is not what dominates memory. Libraries are imported inside each function so a child
process only pays the import footprint of the library it actually benchmarks.

Functions that hand data to scikit-learn need null-free columns: ``f0`` has nulls.
"""

from __future__ import annotations

import glob as _glob
import os
from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = [
    "duckdb_distinct",
    "duckdb_mean_var",
    "pandas_sklearn_linear_regression",
    "pandas_sklearn_logistic",
    "pandas_sklearn_standard_scaler",
    "polars_handwritten_scale_sink",
    "polars_mean_var",
    "polars_unique",
    "sklearn_sgd_partial_fit_epoch",
]


def polars_mean_var(glob: str, cols: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """Mean and population variance of `cols` in one streaming Polars query.

    The engine limit: a single aggregation pass that any out-of-core fit must read.

    Parameters
    ----------
    glob : str
        Parquet glob of the dataset.
    cols : sequence of str
        Float columns; nulls are ignored.

    Returns
    -------
    mean, var : numpy.ndarray of shape (len(cols),)
    """
    import polars as pl

    exprs = [pl.col(c).mean().alias(f"mean_{i}") for i, c in enumerate(cols)]
    exprs += [pl.col(c).var(ddof=0).alias(f"var_{i}") for i, c in enumerate(cols)]
    row = pl.scan_parquet(glob).select(exprs).collect(engine="streaming").row(0)
    n = len(cols)
    return np.array(row[:n], dtype=np.float64), np.array(row[n:], dtype=np.float64)


def duckdb_mean_var(glob: str, cols: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """Mean and population variance of `cols` in one DuckDB query over the parquet glob.

    Parameters
    ----------
    glob : str
        Parquet glob of the dataset.
    cols : sequence of str
        Float columns; nulls are ignored.

    Returns
    -------
    mean, var : numpy.ndarray of shape (len(cols),)
    """
    aggs = [f"avg({_quote(c)})" for c in cols] + [f"var_pop({_quote(c)})" for c in cols]
    sql = f"SELECT {', '.join(aggs)} FROM read_parquet(?)"
    row = _duckdb_fetch(sql, [glob])[0]
    n = len(cols)
    return np.array(row[:n], dtype=np.float64), np.array(row[n:], dtype=np.float64)


def pandas_sklearn_standard_scaler(glob: str, cols: Sequence[str]) -> np.ndarray:
    """Load `cols` with pandas and fit scikit-learn's ``StandardScaler``.

    Parameters
    ----------
    glob : str
        Parquet glob of the dataset.
    cols : sequence of str
        Float columns; NaNs are ignored by the scaler.

    Returns
    -------
    numpy.ndarray of shape (len(cols),)
        The fitted ``mean_``.
    """
    from sklearn.preprocessing import StandardScaler

    return np.asarray(StandardScaler().fit(_read_pandas(glob, cols)).mean_)


def polars_unique(glob: str, col: str) -> list[Any]:
    """Sorted distinct values of `col` with a streaming Polars query (``OneHotEncoder.fit``).

    Parameters
    ----------
    glob : str
        Parquet glob of the dataset.
    col : str
        A (string) column.

    Returns
    -------
    list
        The sorted distinct values, as ``OneHotEncoder.categories_`` holds them.
    """
    import polars as pl

    query = pl.scan_parquet(glob).select(pl.col(col).unique().sort())
    return query.collect(engine="streaming").to_series().to_list()


def duckdb_distinct(glob: str, col: str) -> list[Any]:
    """Sorted distinct values of `col` with DuckDB (``OneHotEncoder.fit``).

    Parameters
    ----------
    glob : str
        Parquet glob of the dataset.
    col : str
        A (string) column.

    Returns
    -------
    list
        The sorted distinct values.
    """
    sql = f"SELECT DISTINCT {_quote(col)} FROM read_parquet(?) ORDER BY 1"
    return [row[0] for row in _duckdb_fetch(sql, [glob])]


def polars_handwritten_scale_sink(
    glob: str,
    cols: Sequence[str],
    means: Sequence[float],
    stds: Sequence[float],
    out_path: str,
) -> str:
    """Standardize `cols` with hand-written Polars expressions and sink to parquet.

    The peer of a lazy ``transform(...).sink_parquet(...)``: other columns pass through.

    Parameters
    ----------
    glob : str
        Parquet glob of the dataset.
    cols : sequence of str
        Columns to standardize.
    means, stds : sequence of float
        Per-column mean and (population) standard deviation, fitted beforehand.
    out_path : str
        Parquet file written.

    Returns
    -------
    str
        `out_path`.
    """
    import polars as pl

    exprs = [(pl.col(c) - m) / s for c, m, s in zip(cols, means, stds, strict=True)]
    pl.scan_parquet(glob).with_columns(exprs).sink_parquet(out_path)
    return out_path


def pandas_sklearn_linear_regression(glob: str, cols: Sequence[str], target: str) -> np.ndarray:
    """Load with pandas and fit scikit-learn's ``LinearRegression``.

    Parameters
    ----------
    glob : str
        Parquet glob of the dataset.
    cols : sequence of str
        Null-free feature columns.
    target : str
        Target column.

    Returns
    -------
    numpy.ndarray of shape (len(cols),)
        The fitted ``coef_``.
    """
    from sklearn.linear_model import LinearRegression

    df = _read_pandas(glob, [*cols, target])
    return np.asarray(LinearRegression().fit(df[list(cols)], df[target]).coef_)


def pandas_sklearn_logistic(
    glob: str, cols: Sequence[str], label: str, *, max_iter: int = 1000
) -> np.ndarray:
    """Load with pandas and fit scikit-learn's ``LogisticRegression`` (lbfgs).

    Parameters
    ----------
    glob : str
        Parquet glob of the dataset.
    cols : sequence of str
        Null-free feature columns.
    label : str
        Binary label column.
    max_iter : int, default 1000
        lbfgs iterations; the features are deliberately not standardized, so the default
        100 does not reach sklearn's tolerance.

    Returns
    -------
    numpy.ndarray of shape (1, len(cols))
        The fitted ``coef_``.
    """
    from sklearn.linear_model import LogisticRegression

    df = _read_pandas(glob, [*cols, label])
    model = LogisticRegression(solver="lbfgs", max_iter=max_iter)
    return np.asarray(model.fit(df[list(cols)], df[label]).coef_)


def sklearn_sgd_partial_fit_epoch(
    glob: str, cols: Sequence[str], label: str, batch_rows: int
) -> np.ndarray:
    """One epoch of ``SGDClassifier(loss="log_loss").partial_fit`` over Polars batches.

    The batches come from ``LazyFrame.collect_batches(chunk_size=batch_rows)``, which
    yields DataFrames of exactly `batch_rows` rows (the last one shorter), re-chunked
    across file boundaries by the streaming engine.

    Parameters
    ----------
    glob : str
        Parquet glob of the dataset.
    cols : sequence of str
        Null-free feature columns.
    label : str
        Binary (0/1) label column.
    batch_rows : int
        Rows per ``partial_fit`` call.

    Returns
    -------
    numpy.ndarray of shape (1, len(cols))
        The ``coef_`` after the epoch.
    """
    import polars as pl
    from sklearn.linear_model import SGDClassifier

    model = SGDClassifier(loss="log_loss", random_state=0)
    classes = np.array([0, 1], dtype=np.int8)
    batches = pl.scan_parquet(glob).select([*cols, label]).collect_batches(chunk_size=batch_rows)
    for batch in batches:
        x = batch.select(cols).to_numpy()
        y = batch.get_column(label).to_numpy()
        model.partial_fit(x, y, classes=classes)
    return np.asarray(model.coef_)


def _read_pandas(glob: str, cols: Sequence[str]) -> Any:
    import pandas as pd

    paths = sorted(_glob.glob(glob))
    if not paths:
        msg = f"The glob {glob!r} matches no file."
        raise FileNotFoundError(msg)
    return pd.read_parquet(paths, columns=list(cols))


def _duckdb_fetch(sql: str, params: list[Any]) -> list[tuple[Any, ...]]:
    import duckdb

    con = duckdb.connect(config={"threads": os.cpu_count() or 1})
    try:
        return con.execute(sql, params).fetchall()
    finally:
        con.close()


def _quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'
