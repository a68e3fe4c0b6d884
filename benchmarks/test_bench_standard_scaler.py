"""``StandardScaler.fit``: scaleml against one-pass aggregations and pandas + sklearn."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import peers
import pytest
import runners

pytestmark = pytest.mark.benchmark(group="standard_scaler_fit")


def test_polars_mean_var(
    measured: Callable[..., Any], dataset: str, feature_columns: list[str]
) -> None:
    mean, _ = measured(peers.polars_mean_var, dataset, feature_columns)
    assert np.isfinite(mean).all()


def test_duckdb_mean_var(
    measured: Callable[..., Any], dataset: str, feature_columns: list[str]
) -> None:
    mean, _ = measured(peers.duckdb_mean_var, dataset, feature_columns)
    assert np.isfinite(mean).all()


def test_pandas_sklearn_standard_scaler(
    measured: Callable[..., Any], dataset: str, feature_columns: list[str]
) -> None:
    mean = measured(peers.pandas_sklearn_standard_scaler, dataset, feature_columns)
    assert np.isfinite(mean).all()


def test_scaleml_standard_scaler_fit(
    measured: Callable[..., Any], dataset: str, feature_columns: list[str]
) -> None:
    mean = measured(runners.scaleml_standard_scaler_fit, dataset, feature_columns)
    assert np.isfinite(np.asarray(mean)).all()
