"""Logistic models on f1..f19 -> label: scaleml against pandas + scikit-learn.

Groups
------
logistic_fit
    ``LogisticRegression(max_iter=1000)`` (lbfgs): scaleml streams the files once per
    L-BFGS evaluation; the peer loads everything with pandas first. Both must give the
    same coefficients.
sgd_epoch
    One epoch of ``SGDClassifier(loss="log_loss")``: scaleml's ``partial_fit`` on the
    lazy source against scikit-learn's ``partial_fit`` looped over Polars batches.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import peers
import pytest
import runners_logistic as runners

FEATURES = runners.LOGISTIC_FEATURES
LABEL = "label"
#: Rows per scikit-learn ``partial_fit`` call in the SGD peer.
SGD_BATCH_ROWS = 100_000


@pytest.fixture(scope="module")
def reference_coef(dataset: str) -> np.ndarray:
    """scikit-learn's lbfgs coefficients, computed once (outside the timings)."""
    return np.asarray(
        peers.pandas_sklearn_logistic(dataset, FEATURES, LABEL, max_iter=runners.LOGISTIC_MAX_ITER)
    )


@pytest.mark.benchmark(group="logistic_fit")
def test_pandas_sklearn_logistic(
    measured: Callable[..., Any], dataset: str, reference_coef: np.ndarray
) -> None:
    coef = measured(
        peers.pandas_sklearn_logistic, dataset, FEATURES, LABEL, max_iter=runners.LOGISTIC_MAX_ITER
    )
    np.testing.assert_allclose(coef, reference_coef, rtol=1e-8)


@pytest.mark.benchmark(group="logistic_fit")
def test_scaleml_logistic_fit(
    measured: Callable[..., Any], dataset: str, reference_coef: np.ndarray
) -> None:
    coef = measured(runners.scaleml_logistic_fit, dataset, FEATURES, LABEL)
    np.testing.assert_allclose(coef, reference_coef, rtol=1e-3, atol=1e-4)


def _check_sgd(coef: np.ndarray, reference_coef: np.ndarray) -> None:
    # One SGD epoch does not reach the lbfgs optimum; it must point the same way.
    assert coef.shape == reference_coef.shape and np.isfinite(coef).all()
    assert np.corrcoef(coef.ravel(), reference_coef.ravel())[0, 1] > 0.9


@pytest.mark.benchmark(group="sgd_epoch")
def test_sklearn_sgd_partial_fit_epoch(
    measured: Callable[..., Any], dataset: str, reference_coef: np.ndarray
) -> None:
    coef = measured(peers.sklearn_sgd_partial_fit_epoch, dataset, FEATURES, LABEL, SGD_BATCH_ROWS)
    _check_sgd(np.asarray(coef), reference_coef)


@pytest.mark.benchmark(group="sgd_epoch")
def test_scaleml_sgd_epoch(
    measured: Callable[..., Any], dataset: str, reference_coef: np.ndarray
) -> None:
    coef = measured(runners.scaleml_sgd_epoch, dataset, FEATURES, LABEL)
    _check_sgd(np.asarray(coef), reference_coef)
