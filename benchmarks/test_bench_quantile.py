"""Quantile fits (RobustScaler: sketch and exact) and hashing throughput, with peers.

Groups: ``quantile_fit`` (scaleml sketch / exact against Polars' and DuckDB's exact
quantiles, DuckDB's approximate ones and pandas + scikit-learn) and ``hashing``
(``HashingEncoder`` / ``FeatureHasher`` against scikit-learn's ``FeatureHasher`` on the
strings of ``cat100k``). The goal on 10M rows: within 1.5x of the engine's own query,
with bounded peak RSS for the sketch.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import runners_quantile as rq

#: Null-free float columns (``f0`` has nulls, which pandas + sklearn would not ignore).
COLUMNS = [f"f{i}" for i in range(1, 20)]
HASHED = "cat100k"


@pytest.mark.benchmark(group="quantile_fit")
def test_scaleml_robust_scaler_sketch(measured: Callable[..., Any], dataset: str) -> None:
    center = measured(rq.scaleml_robust_scaler_sketch, dataset, COLUMNS)
    exact = rq.polars_quantile(dataset, COLUMNS)[:, 1]
    # Within the sketch's bound of the exact median (standard-normal-like columns).
    assert np.abs(center - exact).max() < 0.05


@pytest.mark.benchmark(group="quantile_fit")
def test_scaleml_robust_scaler_exact(measured: Callable[..., Any], dataset: str) -> None:
    center = measured(rq.scaleml_robust_scaler_exact, dataset, COLUMNS)
    np.testing.assert_allclose(center, rq.polars_quantile(dataset, COLUMNS)[:, 1], rtol=1e-12)


@pytest.mark.benchmark(group="quantile_fit")
def test_polars_quantile(measured: Callable[..., Any], dataset: str) -> None:
    assert np.isfinite(measured(rq.polars_quantile, dataset, COLUMNS)).all()


@pytest.mark.benchmark(group="quantile_fit")
def test_duckdb_quantile_cont(measured: Callable[..., Any], dataset: str) -> None:
    assert np.isfinite(measured(rq.duckdb_quantile_cont, dataset, COLUMNS)).all()


@pytest.mark.benchmark(group="quantile_fit")
def test_duckdb_approx_quantile(measured: Callable[..., Any], dataset: str) -> None:
    assert np.isfinite(measured(rq.duckdb_approx_quantile, dataset, COLUMNS)).all()


@pytest.mark.benchmark(group="quantile_fit")
def test_pandas_sklearn_robust_scaler(measured: Callable[..., Any], dataset: str) -> None:
    assert np.isfinite(measured(rq.pandas_sklearn_robust_scaler, dataset, COLUMNS)).all()


@pytest.mark.benchmark(group="hashing")
def test_scaleml_hashing_encoder(measured: Callable[..., Any], dataset: str) -> None:
    sums = measured(rq.scaleml_hashing_encoder, dataset, HASHED)
    # Same buckets as scikit-learn's FeatureHasher (alternate_sign=False there too).
    assert sums.sum() > 0


@pytest.mark.benchmark(group="hashing")
def test_scaleml_feature_hasher(measured: Callable[..., Any], dataset: str) -> None:
    ours = measured(rq.scaleml_feature_hasher, dataset, HASHED)
    assert np.abs(ours).sum() > 0


@pytest.mark.benchmark(group="hashing")
def test_sklearn_feature_hasher(measured: Callable[..., Any], dataset: str) -> None:
    theirs = measured(rq.sklearn_feature_hasher, dataset, HASHED)
    np.testing.assert_allclose(rq.scaleml_feature_hasher(dataset, HASHED), theirs)
