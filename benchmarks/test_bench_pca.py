"""``PCA(n_components=10).fit`` on f1..f19: scaleml against pandas + sklearn and against
sklearn's ``IncrementalPCA`` fed with Polars batches.

Goal: scaleml faster than both, with bounded memory, and exact (equal to scikit-learn's
in-memory PCA, signs included); ``IncrementalPCA`` is an approximation.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import runners_decomposition as runners
from _measure import reference_or_none

pytestmark = pytest.mark.benchmark(group="pca_fit")

FEATURES = runners.PCA_FEATURES
N_COMPONENTS = 10
#: Rows per IncrementalPCA.partial_fit call.
BATCH_ROWS = 100_000


@pytest.fixture(scope="module")
def reference(dataset: str) -> tuple[np.ndarray, np.ndarray] | None:
    """scikit-learn's in-memory PCA, computed once (outside the timings); None if it
    runs out of memory."""
    return reference_or_none(runners.pandas_sklearn_pca, dataset, FEATURES, N_COMPONENTS)


def _assert_exact(result: tuple[np.ndarray, np.ndarray], reference: Any) -> None:
    if reference is None:
        return
    variance, components = result
    np.testing.assert_allclose(variance, reference[0], rtol=1e-8)
    np.testing.assert_allclose(components, reference[1], rtol=1e-6, atol=1e-8)


def test_pandas_sklearn_pca(
    measured: Callable[..., Any], dataset: str, reference: tuple[np.ndarray, np.ndarray]
) -> None:
    result = measured(runners.pandas_sklearn_pca, dataset, FEATURES, N_COMPONENTS)
    _assert_exact(result, reference)


def test_sklearn_incremental_pca_partial_fit(
    measured: Callable[..., Any], dataset: str, reference: tuple[np.ndarray, np.ndarray]
) -> None:
    variance, components = measured(
        runners.sklearn_incremental_pca_partial_fit, dataset, FEATURES, N_COMPONENTS, BATCH_ROWS
    )
    assert np.isfinite(variance).all()
    if reference is not None:
        assert components.shape == reference[1].shape


def test_scaleml_pca_fit(
    measured: Callable[..., Any], dataset: str, reference: tuple[np.ndarray, np.ndarray]
) -> None:
    result = measured(runners.scaleml_pca_fit, dataset, FEATURES, N_COMPONENTS)
    _assert_exact(result, reference)
