"""Logistic models on f1..f19 -> label: scaleml against pandas + scikit-learn.

Groups
------
logistic_fit
    ``LogisticRegression(max_iter=1000)`` (lbfgs): scaleml streams the files once per
    L-BFGS evaluation; the peer loads everything with pandas first. Both must give the
    same coefficients. And ``solver="newton-cholesky"``: scaleml streams the files once
    per Newton iteration, the peer fits in memory; both must reach the lbfgs peer's
    log-loss (relative 1e-6).
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
from _measure import reference_or_none

FEATURES = runners.LOGISTIC_FEATURES
LABEL = "label"
#: Rows per scikit-learn ``partial_fit`` call in the SGD peer.
SGD_BATCH_ROWS = 100_000


@pytest.fixture(scope="module")
def reference_model(dataset: str) -> dict[str, Any] | None:
    """scikit-learn's lbfgs model (coefficients, intercept), computed once outside the
    timings, as the lbfgs peer computes it; None if it runs out of memory."""
    return reference_or_none(
        runners.pandas_sklearn_logistic_model,
        dataset,
        FEATURES,
        LABEL,
        solver="lbfgs",
        max_iter=runners.LOGISTIC_MAX_ITER,
    )


@pytest.fixture(scope="module")
def reference_coef(reference_model: dict[str, Any] | None) -> np.ndarray | None:
    """scikit-learn's lbfgs coefficients; None if it ran out of memory."""
    return None if reference_model is None else reference_model["coef"]


@pytest.fixture(scope="module")
def reference_log_loss(dataset: str, reference_model: dict[str, Any] | None) -> float | None:
    """Mean log-loss of the lbfgs peer's model on the data; None if it ran out of memory."""
    if reference_model is None:
        return None
    return runners.mean_log_loss(
        dataset, FEATURES, LABEL, reference_model["coef"], reference_model["intercept"]
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
    if reference_coef is not None:
        np.testing.assert_allclose(coef, reference_coef, rtol=1e-3, atol=1e-4)


def _check_log_loss(
    model: dict[str, Any], dataset: str, reference_log_loss: float | None, benchmark: Any
) -> None:
    benchmark.extra_info["n_iter"] = model["n_iter"]
    if "n_passes" in model:
        benchmark.extra_info["n_passes"] = model["n_passes"]
    assert np.isfinite(model["coef"]).all()
    if reference_log_loss is None:
        return
    loss = runners.mean_log_loss(dataset, FEATURES, LABEL, model["coef"], model["intercept"])
    assert loss == pytest.approx(reference_log_loss, rel=1e-6)


@pytest.mark.benchmark(group="logistic_fit")
def test_pandas_sklearn_logistic_newton(
    measured: Callable[..., Any], benchmark: Any, dataset: str, reference_log_loss: float | None
) -> None:
    model = measured(
        runners.pandas_sklearn_logistic_newton,
        dataset,
        FEATURES,
        LABEL,
        max_iter=runners.LOGISTIC_MAX_ITER,
    )
    _check_log_loss(model, dataset, reference_log_loss, benchmark)


@pytest.mark.benchmark(group="logistic_fit")
def test_scaleml_logistic_newton_fit(
    measured: Callable[..., Any], benchmark: Any, dataset: str, reference_log_loss: float | None
) -> None:
    model = measured(runners.scaleml_logistic_newton_fit, dataset, FEATURES, LABEL)
    _check_log_loss(model, dataset, reference_log_loss, benchmark)


def _check_sgd(coef: np.ndarray, reference_coef: np.ndarray | None) -> None:
    assert np.isfinite(coef).all()
    if reference_coef is None:
        return
    # One SGD epoch does not reach the lbfgs optimum; it must point the same way.
    assert coef.shape == reference_coef.shape
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
