"""Drift monitoring on the whole dataset: scaleml's one-pass profiles (sketch, exact
value counts up to 100k distinct values, category counts) against the engine's exact
quantiles and pandas + scipy's in-memory KS test.

Goal: a peak RSS that does not grow with the rows (pandas' does), and the same drifted
column (f1, shifted by 0.1 standard deviations) as the in-memory KS test.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import runners_monitoring as runners

pytestmark = pytest.mark.benchmark(group="drift_monitor")


def test_scaleml_drift_fit(measured: Callable[..., Any], dataset: str) -> None:
    assert measured(runners.scaleml_drift_fit, dataset) > 0


def test_scaleml_drift_fit_score(measured: Callable[..., Any], dataset: str) -> None:
    assert measured(runners.scaleml_drift_fit_score, dataset) == ["f1"]


def test_polars_exact_quantile_bins(measured: Callable[..., Any], dataset: str) -> None:
    assert measured(runners.polars_exact_quantile_bins, dataset) == 20 * 19


def test_pandas_scipy_ks(measured: Callable[..., Any], dataset: str) -> None:
    assert measured(runners.pandas_scipy_ks, dataset) == ["f1"]
