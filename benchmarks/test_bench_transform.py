"""Lazy ``StandardScaler.transform(...).sink_parquet``: scaleml against hand-written Polars.

Fitting happens in fixtures, outside the timed region.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import peers
import pytest
import runners

pytestmark = pytest.mark.benchmark(group="lazy_transform_sink")


@pytest.fixture(scope="module")
def mean_std(dataset: str, feature_columns: list[str]) -> tuple[list[float], list[float]]:
    """Per-column mean and population standard deviation, as ``StandardScaler`` fits."""
    mean, var = peers.polars_mean_var(dataset, feature_columns)
    return mean.tolist(), np.sqrt(var).tolist()


def test_polars_handwritten_scale_sink(
    measured: Callable[..., Any],
    dataset: str,
    feature_columns: list[str],
    mean_std: tuple[list[float], list[float]],
    tmp_path: Path,
) -> None:
    means, stds = mean_std
    out = str(tmp_path / "scaled.parquet")
    measured(peers.polars_handwritten_scale_sink, dataset, feature_columns, means, stds, out)
    assert Path(out).stat().st_size > 0


def test_scaleml_standard_scaler_transform_sink(
    measured: Callable[..., Any], dataset: str, feature_columns: list[str], tmp_path: Path
) -> None:
    scaler = runners.fit_standard_scaler(dataset, feature_columns)
    out = str(tmp_path / "scaled.parquet")
    measured(runners.scaleml_standard_scaler_transform_sink, dataset, scaler, out)
    assert Path(out).stat().st_size > 0
