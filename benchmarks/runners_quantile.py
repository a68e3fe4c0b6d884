"""Runners and peers of the quantile and hashing benchmarks (module-level, picklable).

Every function takes the dataset glob and returns something small. Libraries are
imported inside the functions, so a measuring subprocess pays only for what it runs.
Functions that hand data to pandas/scikit-learn use null-free columns (not ``f0``).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = [
    "QUANTILES",
    "duckdb_approx_quantile",
    "duckdb_quantile_cont",
    "pandas_sklearn_robust_scaler",
    "polars_quantile",
    "scaleml_feature_hasher",
    "scaleml_hashing_encoder",
    "scaleml_robust_scaler_exact",
    "scaleml_robust_scaler_sketch",
    "sklearn_feature_hasher",
]

#: The quantiles RobustScaler needs: the median and the default quantile range.
QUANTILES = (0.25, 0.5, 0.75)


def scaleml_robust_scaler_sketch(glob: str, cols: Sequence[str]) -> np.ndarray:
    """Fit ``scaleml.RobustScaler`` through its quantile sketch (the default above
    100 000 rows).

    Returns
    -------
    numpy.ndarray
        The fitted ``center_``.
    """
    import scaleml as sm

    est = sm.RobustScaler(columns=list(cols), subsample=100_000).fit(sm.scan(glob))
    return np.asarray(est.center_)


def scaleml_robust_scaler_exact(glob: str, cols: Sequence[str]) -> np.ndarray:
    """Fit ``scaleml.RobustScaler`` with exact quantiles (one engine query).

    Returns
    -------
    numpy.ndarray
        The fitted ``center_``.
    """
    import scaleml as sm

    est = sm.RobustScaler(columns=list(cols), subsample=None).fit(sm.scan(glob))
    return np.asarray(est.center_)


def polars_quantile(glob: str, cols: Sequence[str]) -> np.ndarray:
    """The engine's own exact query: Polars ``quantile(q, "linear")`` of every column.

    Returns
    -------
    numpy.ndarray of shape (len(cols), 3)
    """
    import polars as pl

    exprs = [pl.col(c).quantile(list(QUANTILES), "linear").alias(c) for c in cols]
    row = pl.scan_parquet(glob).select(exprs).collect(engine="streaming").row(0)
    return np.array([list(v) for v in row], dtype=np.float64)


def duckdb_quantile_cont(glob: str, cols: Sequence[str]) -> np.ndarray:
    """DuckDB's exact ``quantile_cont`` of every column in one query.

    Returns
    -------
    numpy.ndarray of shape (len(cols), 3)
    """
    return _duckdb_quantiles(glob, cols, "quantile_cont")


def duckdb_approx_quantile(glob: str, cols: Sequence[str]) -> np.ndarray:
    """DuckDB's approximate (T-Digest) ``approx_quantile`` of every column in one query.

    Returns
    -------
    numpy.ndarray of shape (len(cols), 3)
    """
    return _duckdb_quantiles(glob, cols, "approx_quantile")


def _duckdb_quantiles(glob: str, cols: Sequence[str], func: str) -> np.ndarray:
    import duckdb

    qs = ", ".join(str(q) for q in QUANTILES)
    aggs = ", ".join(f"{func}({_quote(c)}, [{qs}])" for c in cols)
    con = duckdb.connect(config={"threads": os.cpu_count() or 1})
    try:
        row = con.execute(f"SELECT {aggs} FROM read_parquet(?)", [glob]).fetchone()
    finally:
        con.close()
    assert row is not None
    return np.array([list(v) for v in row], dtype=np.float64)


def pandas_sklearn_robust_scaler(glob: str, cols: Sequence[str]) -> np.ndarray:
    """Load `cols` with pandas and fit scikit-learn's ``RobustScaler``.

    Returns
    -------
    numpy.ndarray
        The fitted ``center_``.
    """
    import pandas as pd
    from sklearn.preprocessing import RobustScaler

    frame = pd.read_parquet(os.path.dirname(glob), columns=list(cols))
    return np.asarray(RobustScaler().fit(frame.to_numpy()).center_)


def scaleml_hashing_encoder(glob: str, col: str, n_components: int = 16) -> np.ndarray:
    """Hash a string column with ``scaleml.HashingEncoder`` in a streaming query and
    sum every output column (the throughput of the lazy transform, nothing written).

    Returns
    -------
    numpy.ndarray of shape (n_components,)
    """
    import polars as pl

    import scaleml as sm

    lf = sm.scan(glob).select(col)
    enc = sm.HashingEncoder(n_components=n_components).fit(lf)
    sums = enc.transform(lf).select(pl.all().sum()).collect(engine="streaming")
    return sums.to_numpy().ravel()


def scaleml_feature_hasher(glob: str, col: str, n_features: int = 16) -> np.ndarray:
    """``scaleml.FeatureHasher`` (``input_type="string"``) on the column's strings.

    Returns
    -------
    numpy.ndarray of shape (n_features,)
        Column sums of the hashed matrix.
    """
    import scaleml as sm

    return _hash_with(sm.FeatureHasher, glob, col, n_features)


def sklearn_feature_hasher(glob: str, col: str, n_features: int = 16) -> np.ndarray:
    """scikit-learn's ``FeatureHasher`` (``input_type="string"``) on the same strings.

    Returns
    -------
    numpy.ndarray of shape (n_features,)
        Column sums of the hashed matrix.
    """
    from sklearn.feature_extraction import FeatureHasher

    return _hash_with(FeatureHasher, glob, col, n_features)


def _hash_with(cls: Any, glob: str, col: str, n_features: int) -> np.ndarray:
    import polars as pl

    values = pl.scan_parquet(glob).select(pl.col(col).drop_nulls()).collect()[col].to_list()
    X = cls(n_features=n_features, input_type="string").transform([v] for v in values)
    return np.asarray(X.sum(axis=0)).ravel()


def _quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'
