"""``KMeans.fit`` on f1..f19, k=8, 20 Lloyd iterations from the same initial centres:
scaleml (out of core, one streaming pass per iteration) against pandas + sklearn (Lloyd).

Goal on 10M rows: at most 1.3x scikit-learn's time at under 10 % of its peak memory, and
the same inertia (rtol 1e-6).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import runners_cluster as runners
from _measure import reference_or_none

pytestmark = pytest.mark.benchmark(group="kmeans_fit")

FEATURES = runners.KMEANS_FEATURES
N_CLUSTERS = 8
MAX_ITER = 20


@pytest.fixture(scope="module")
def init(dataset: str) -> np.ndarray:
    """The initial centres both fits start from (the first rows of the data)."""
    return runners.initial_centers(dataset, FEATURES, N_CLUSTERS)


@pytest.fixture(scope="module")
def reference(dataset: str, init: np.ndarray) -> tuple[np.ndarray, float] | None:
    """scikit-learn's result, computed once (outside the timings); None if it runs out
    of memory."""
    return reference_or_none(runners.pandas_sklearn_kmeans, dataset, FEATURES, init, MAX_ITER)


def _assert_same(result: tuple[np.ndarray, float], reference: Any) -> None:
    if reference is None:
        return
    centers, inertia = result
    np.testing.assert_allclose(inertia, reference[1], rtol=1e-6)
    np.testing.assert_allclose(centers, reference[0], rtol=1e-6, atol=1e-9)


def test_pandas_sklearn_kmeans(
    measured: Callable[..., Any], dataset: str, init: np.ndarray, reference: Any
) -> None:
    result = measured(runners.pandas_sklearn_kmeans, dataset, FEATURES, init, MAX_ITER)
    _assert_same(result, reference)


def test_scaleml_kmeans_fit(
    measured: Callable[..., Any], dataset: str, init: np.ndarray, reference: Any
) -> None:
    result = measured(runners.scaleml_kmeans_fit, dataset, FEATURES, init, MAX_ITER)
    _assert_same(result, reference)
