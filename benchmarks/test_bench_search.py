"""Many models, one pass: forty candidates, and a fit through a Dask cluster.

Groups
------
forty_candidates
    ``LogisticRegression`` over 20 ``C`` (f1..f19 -> label) and ``Ridge`` over 20
    ``alpha`` (f1..f19 -> target): ``fit_many`` (shared scans, the binary L-BFGS passes
    of the 20 classifiers fused into one kernel call per batch) against one
    ``LogisticRegression(C=1)`` fit (the unit), a loop of the 40 scaleml fits, and
    ``pandas.read_parquet`` + the 40 scikit-learn fits. Goal: the 40 in at most 3x the
    time of one fit. The loops are timed once (no warm-up) and run up to
    :data:`LOOP_MAX_ROWS` rows: at 10M rows scikit-learn's 20 in-memory L-BFGS fits
    alone take about 20 minutes here, and the check needs them three times (reference,
    timing, memory). Above it, the 40 are checked against scikit-learn's Ridge (exact)
    and the solo fit of ``C=1`` (equal: sharing a scan does not change a model).
dask_vs_local
    ``make_pipeline(StandardScaler(), LinearRegression())`` on ``dd.read_parquet``
    through a 2-worker ``LocalCluster`` against the same fit in one process. The
    cluster is started outside the timing; the peak RSS is the client process's.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pytest
import runners_search as runners
from _measure import record_peak_rss
from conftest import bench_rows

FEATURES = runners.FEATURES


#: Largest dataset the two loops of 40 sequential fits run on (see the module docstring).
LOOP_MAX_ROWS = 2_000_000


@pytest.fixture(scope="module")
def forty_reference(dataset: str) -> np.ndarray | None:
    """scikit-learn's 40 coefficient vectors, computed once (not timed); None above
    :data:`LOOP_MAX_ROWS` rows."""
    if bench_rows() > LOOP_MAX_ROWS:
        return None
    return runners.sklearn_loop_forty(dataset, FEATURES)


@pytest.fixture(scope="module")
def ridge_reference(dataset: str, forty_reference: np.ndarray | None) -> np.ndarray:
    """scikit-learn's 20 Ridge coefficient vectors (exact solutions)."""
    if forty_reference is not None:
        return forty_reference[20:]
    return runners.sklearn_ridge_twenty(dataset, FEATURES)


@pytest.fixture(scope="module")
def unit_reference(dataset: str) -> np.ndarray:
    """The solo ``LogisticRegression(C=1)`` fit (not timed)."""
    return runners.scaleml_one_fit(dataset, FEATURES)


@pytest.fixture
def measured_once(benchmark: Any) -> Callable[..., Any]:
    """Time one call (no warm-up), then its peak RSS in a fresh subprocess."""

    def run(func: Callable[..., Any], *args: Any) -> Any:
        result = benchmark.pedantic(func, args=args, rounds=1, iterations=1, warmup_rounds=0)
        if not benchmark.disabled:
            record_peak_rss(benchmark, func, *args)
        return result

    return run


def _check_forty(
    coefs: np.ndarray,
    reference: np.ndarray | None,
    ridge: np.ndarray,
    unit: np.ndarray | None = None,
) -> None:
    assert coefs.shape == (40, len(FEATURES))
    np.testing.assert_allclose(coefs[20:], ridge, rtol=1e-8)  # Ridge is exact
    if unit is not None:  # a model fitted in a shared scan is the model fitted alone
        np.testing.assert_allclose(coefs[runners.CS.index(1.0)], unit[0], rtol=1e-12)
    if reference is not None:
        # L-BFGS-B is the same call on both sides (see test_bench_logistic).
        np.testing.assert_allclose(coefs[:20], reference[:20], rtol=1e-3, atol=1e-4)


def _loops_run(reference: np.ndarray | None) -> None:
    if reference is None:
        pytest.skip(f"the loops of 40 sequential fits run up to {LOOP_MAX_ROWS:,} rows")


@pytest.mark.benchmark(group="forty_candidates")
def test_scaleml_fit_many_forty(
    measured: Callable[..., Any],
    dataset: str,
    forty_reference: np.ndarray | None,
    ridge_reference: np.ndarray,
    unit_reference: np.ndarray,
) -> None:
    coefs = measured(runners.scaleml_fit_many_forty, dataset, FEATURES)
    _check_forty(coefs, forty_reference, ridge_reference, unit_reference)


@pytest.mark.benchmark(group="forty_candidates")
def test_scaleml_one_fit(
    measured: Callable[..., Any], dataset: str, forty_reference: np.ndarray | None
) -> None:
    coef = measured(runners.scaleml_one_fit, dataset, FEATURES)
    assert coef.shape == (1, len(FEATURES)) and np.isfinite(coef).all()
    if forty_reference is not None:
        unit = runners.CS.index(1.0)
        np.testing.assert_allclose(coef[0], forty_reference[unit], rtol=1e-3, atol=1e-4)


@pytest.mark.benchmark(group="forty_candidates")
def test_scaleml_loop_forty(
    measured_once: Callable[..., Any], dataset: str, forty_reference: np.ndarray | None
) -> None:
    _loops_run(forty_reference)
    coefs = measured_once(runners.scaleml_loop_forty, dataset, FEATURES)
    _check_forty(coefs, forty_reference, forty_reference[20:])


@pytest.mark.benchmark(group="forty_candidates")
def test_pandas_sklearn_loop_forty(
    measured_once: Callable[..., Any], dataset: str, forty_reference: np.ndarray | None
) -> None:
    _loops_run(forty_reference)
    # Threaded BLAS makes scikit-learn's L-BFGS reproducible to about 1e-5 only.
    coefs = measured_once(runners.sklearn_loop_forty, dataset, FEATURES)
    _check_forty(coefs, forty_reference, forty_reference[20:])


@pytest.fixture(scope="module")
def cluster_address() -> Iterator[str]:
    """A 2-worker LocalCluster on 127.0.0.1, started once (outside the timings)."""
    distributed = pytest.importorskip("distributed")
    pytest.importorskip("dask.dataframe")
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0", host="127.0.0.1"
    ) as cluster:
        yield cluster.scheduler_address


@pytest.fixture(scope="module")
def pipeline_reference(dataset: str) -> np.ndarray:
    return runners.local_pipeline_fit(dataset, FEATURES)


@pytest.mark.benchmark(group="dask_vs_local")
def test_scaleml_pipeline_local(
    measured: Callable[..., Any], dataset: str, pipeline_reference: np.ndarray
) -> None:
    coef = measured(runners.local_pipeline_fit, dataset, FEATURES)
    np.testing.assert_allclose(coef, pipeline_reference, rtol=1e-8)


@pytest.mark.benchmark(group="dask_vs_local")
def test_scaleml_pipeline_dask_cluster(
    measured: Callable[..., Any], dataset: str, cluster_address: str, pipeline_reference: np.ndarray
) -> None:
    coef = measured(runners.dask_pipeline_fit, dataset, FEATURES, cluster_address)
    np.testing.assert_allclose(coef, pipeline_reference, rtol=1e-8)
