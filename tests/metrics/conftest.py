"""The forms a metric's inputs take: in memory, or out of core in every lazy kind."""

from __future__ import annotations

from typing import Any

import duckdb
import numpy as np
import polars as pl
import pytest

#: ``numpy``: arrays (scikit-learn's path); ``lazy`` / ``parquet`` / ``duckdb``: column
#: names of ``data=``; ``frames``: one LazyFrame per argument (horizontally combined).
FORMS = ["numpy", "lazy", "parquet", "duckdb", "frames"]
LAZY_FORMS = FORMS[1:]


class Form:
    """``form(df, y_true="y", y_pred="p", sample_weight="w")`` -> a metric's kwargs."""

    def __init__(self, kind: str, tmp_path: Any) -> None:
        self.kind = kind
        self._tmp = tmp_path
        self._n = 0

    def __call__(self, df: pl.DataFrame, **roles: str | list[str] | None) -> dict[str, Any]:
        given = {role: cols for role, cols in roles.items() if cols is not None}
        if self.kind == "numpy":
            return {role: _array(df, cols) for role, cols in given.items()}
        if self.kind == "frames":
            return {role: df.lazy().select(cols) for role, cols in given.items()}
        return {**given, "data": self._data(df)}

    def _data(self, df: pl.DataFrame) -> Any:
        if self.kind == "lazy":
            return df.lazy()
        if self.kind == "parquet":
            self._n += 1
            path = self._tmp / f"metric{self._n}.parquet"
            df.write_parquet(path)
            return str(path)
        return duckdb.connect().from_arrow(df.to_arrow())

    def __repr__(self) -> str:
        return self.kind


def _array(df: pl.DataFrame, cols: str | list[str]) -> np.ndarray:
    if isinstance(cols, str):
        return df[cols].to_numpy()
    return df.select(cols).to_numpy()


@pytest.fixture(params=FORMS)
def form(request: pytest.FixtureRequest, tmp_path: Any) -> Form:
    """Every form of input, in memory first."""
    return Form(request.param, tmp_path)


@pytest.fixture(params=LAZY_FORMS)
def lazy_form(request: pytest.FixtureRequest, tmp_path: Any) -> Form:
    """Every out-of-core form of input."""
    return Form(request.param, tmp_path)
