"""``LinearRegression.fit`` (OLS on f1..f19 -> target): scaleml against pandas + sklearn.

Goal (10M rows): scaleml at least 8x faster than ``pandas.read_parquet`` + scikit-learn,
with a peak RSS under 0.5 GB. ``f0`` has nulls, so it is left out of both fits.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import peers
import pytest
import runners_linear
from _measure import reference_or_none

pytestmark = pytest.mark.benchmark(group="ols_fit")

FEATURES = runners_linear.OLS_FEATURES
TARGET = "target"


@pytest.fixture(scope="module")
def reference_coef(dataset: str) -> np.ndarray | None:
    """scikit-learn's coefficients, computed once (outside the timings); None if it
    runs out of memory."""
    return reference_or_none(peers.pandas_sklearn_linear_regression, dataset, FEATURES, TARGET)


def test_pandas_sklearn_linear_regression(
    measured: Callable[..., Any], dataset: str, reference_coef: np.ndarray
) -> None:
    coef = measured(peers.pandas_sklearn_linear_regression, dataset, FEATURES, TARGET)
    np.testing.assert_allclose(coef, reference_coef, rtol=1e-8)


def test_scaleml_linear_regression_fit(
    measured: Callable[..., Any], dataset: str, reference_coef: np.ndarray
) -> None:
    coef = measured(runners_linear.scaleml_linear_regression_fit, dataset, FEATURES, TARGET)
    if reference_coef is not None:
        np.testing.assert_allclose(coef, reference_coef, rtol=1e-8)
