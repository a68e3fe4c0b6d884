"""Streaming metrics on the whole dataset: scaleml (one out-of-core query) against
``pandas.read_parquet`` + ``sklearn.metrics``.

Goal: the same value as scikit-learn (rtol 1e-12), with a peak RSS that does not grow
with the rows for accuracy / log loss / R^2 (a Polars reduction). ROC AUC's curve has
one point per distinct score (here every row): scaleml builds it in DuckDB, which
spills to disk, against the faster but in-memory Polars group-by shown alongside.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import runners_metrics as runners
from _measure import reference_or_none

METRICS = list(runners.COLUMNS)


@pytest.fixture(scope="module")
def reference(dataset: str) -> dict[str, float | None]:
    """scikit-learn's values, computed once (outside the timings); None where it runs
    out of memory."""
    return {m: reference_or_none(runners.pandas_sklearn, dataset, m) for m in METRICS}


@pytest.mark.parametrize("metric", METRICS)
def test_pandas_sklearn(
    measured: Callable[..., Any],
    benchmark: Any,
    dataset: str,
    reference: dict[str, float],
    metric: str,
) -> None:
    benchmark.group = f"metric_{metric}"
    result = measured(runners.pandas_sklearn, dataset, metric)
    np.testing.assert_allclose(result, reference[metric], rtol=1e-12)


@pytest.mark.parametrize("metric", METRICS)
def test_scaleml_metric(
    measured: Callable[..., Any],
    benchmark: Any,
    dataset: str,
    reference: dict[str, float],
    metric: str,
) -> None:
    benchmark.group = f"metric_{metric}"
    result = measured(runners.scaleml_metric, dataset, metric)
    if reference[metric] is not None:
        np.testing.assert_allclose(result, reference[metric], rtol=1e-12)


def test_polars_groupby_roc_auc(
    measured: Callable[..., Any], benchmark: Any, dataset: str, reference: dict[str, float]
) -> None:
    benchmark.group = "metric_roc_auc_score"
    result = measured(runners.polars_groupby_roc_auc, dataset)
    if reference["roc_auc_score"] is not None:
        np.testing.assert_allclose(result, reference["roc_auc_score"], rtol=1e-12)
