"""Shared fixtures: every behavioural test runs once per input kind."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import duckdb
import numpy as np
import polars as pl
import pytest

#: Every kind of input scaleml accepts, in-memory first.
INPUT_KINDS = ["numpy", "pandas", "polars", "arrow", "lazy", "parquet", "duckdb"]
#: Kinds for which transform/predict return a LazyFrame.
LAZY_KINDS = {"lazy", "parquet", "duckdb"}


class Constructor:
    """Build the same data as one input kind: ``constructor(df)``.

    ``numpy`` drops the column names (columns become ``x0..``); every other kind keeps
    them. ``lazy`` tells whether outputs are LazyFrames.
    """

    def __init__(self, kind: str, tmp_path: Any) -> None:
        self.kind = kind
        self.lazy = kind in LAZY_KINDS
        self._tmp = tmp_path
        self._n = 0
        self._con = duckdb.connect()

    def __call__(self, df: pl.DataFrame) -> Any:
        if self.kind == "numpy":
            return df.to_numpy()
        if self.kind == "pandas":
            return df.to_pandas()
        if self.kind == "polars":
            return df
        if self.kind == "arrow":
            return df.to_arrow()
        if self.kind == "lazy":
            return df.lazy()
        if self.kind == "parquet":
            self._n += 1
            path = self._tmp / f"data{self._n}.parquet"
            df.write_parquet(path)
            return str(path)
        return self._con.from_arrow(df.to_arrow())

    def __repr__(self) -> str:
        return self.kind


@pytest.fixture(params=INPUT_KINDS)
def constructor(request: pytest.FixtureRequest, tmp_path: Any) -> Constructor:
    """One input kind; use as ``X = constructor(df)``."""
    return Constructor(request.param, tmp_path)


def to_numpy(result: Any) -> np.ndarray:
    """Any transform/predict output (LazyFrame, DataFrame, ndarray) as a float array."""
    if isinstance(result, pl.LazyFrame):
        result = result.collect()
    if isinstance(result, pl.DataFrame):
        result = result.to_numpy()
    if hasattr(result, "to_numpy"):
        result = result.to_numpy()
    if hasattr(result, "toarray"):  # scipy sparse output (OneHotEncoder)
        result = result.toarray()
    return np.asarray(result, dtype=np.float64)


@pytest.fixture
def as_numpy() -> Callable[[Any], np.ndarray]:
    """The :func:`to_numpy` helper as a fixture."""
    return to_numpy
