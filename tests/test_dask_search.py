"""fit_many and the searches with a dask DataFrame, and under joblib's dask backend."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from numpy.testing import assert_allclose

import scaleml as sm
from scaleml import _fit

dd = pytest.importorskip(
    "dask.dataframe", reason="dask is an optional extra: pip install scaleml[dask]"
)
distributed = pytest.importorskip("distributed", reason="dask is an optional extra")
joblib = pytest.importorskip("joblib")
pd = pytest.importorskip("pandas")

GRID = {"C": [0.1, 1.0]}


@pytest.fixture(scope="module")
def client():
    cluster = distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0", host="127.0.0.1"
    )
    with cluster, distributed.Client(cluster) as c:
        yield c


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(1_500, 3))
    df = pd.DataFrame(X, columns=["a", "b", "c"])
    df["label"] = (X @ [1.0, -1.0, 0.5] + rng.normal(size=len(X)) > 0).astype(np.int64)
    return df


def test_fit_many_maps_each_pass_over_the_partitions(client, frame, monkeypatch):
    calls = []
    original = _fit.reduce_partition_states
    monkeypatch.setattr(_fit, "reduce_partition_states", lambda *a: calls.append(1) or original(*a))
    ddf = dd.from_pandas(frame, npartitions=3)
    candidates = [sm.LogisticRegression(C=c, tol=1e-2) for c in GRID["C"]]
    models = sm.fit_many(candidates, ddf, "label", log_to=None)
    for model, C in zip(models, GRID["C"], strict=True):
        ref = sm.LogisticRegression(C=C, tol=1e-2).fit(pl.from_pandas(frame), y="label")
        assert_allclose(model.coef_, ref.coef_, rtol=1e-8)
    # Each candidate's passes ran on the workers (the shared scan is bypassed).
    assert len(calls) == sum(m.n_passes_ for m in models)


def test_search_on_a_dask_dataframe_equals_the_local_search(client, frame):
    ddf = dd.from_pandas(frame, npartitions=4)
    with distributed.get_task_stream(client) as tasks:
        search = sm.GridSearchCV(sm.LogisticRegression(), GRID, cv=3, log_to=None)
        search.fit(ddf, "label")
    assert tasks.data, "no partition was computed on the cluster"
    local = sm.GridSearchCV(sm.LogisticRegression(), GRID, cv=3, log_to=None)
    local.fit(pl.from_pandas(frame).lazy(), "label")
    for key in ["mean_test_score", "split0_test_score", "split2_test_score"]:
        assert_allclose(search.cv_results_[key], local.cv_results_[key], rtol=1e-10)
    assert_allclose(search.best_estimator_.coef_, local.best_estimator_.coef_, rtol=1e-8)


def test_in_memory_search_runs_its_fits_on_the_workers(client, frame):
    X, y = frame[["a", "b", "c"]].to_numpy(), frame["label"].to_numpy()
    with distributed.get_task_stream(client) as tasks, joblib.parallel_config(backend="dask"):
        search = sm.GridSearchCV(sm.LogisticRegression(), GRID, cv=3, n_jobs=2, log_to=None)
        search.fit(X, y)
    assert len(tasks.data) >= 1, "joblib's dask backend sent nothing to the workers"
    local = sm.GridSearchCV(sm.LogisticRegression(), GRID, cv=3, log_to=None).fit(X, y)
    assert_allclose(search.cv_results_["mean_test_score"], local.cv_results_["mean_test_score"])
    assert search.best_params_ == local.best_params_
