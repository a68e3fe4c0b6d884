"""MiniBatchKMeans: scikit-learn's mini-batch steps, batches streamed from any input."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
import sklearn.cluster as skc
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.metrics import adjusted_rand_score
from threadpoolctl import threadpool_limits

import scaleml as sm
from tests.conftest import to_numpy


@pytest.fixture(autouse=True)
def _single_threaded_sklearn():
    with threadpool_limits(limits=1, user_api="openmp"):
        yield


def _blobs(n: int = 600, seed: int = 0, k: int = 4) -> tuple[pl.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    centers = rng.normal(scale=30.0, size=(k, 3))
    truth = rng.integers(0, k, size=n)
    X = centers[truth] + rng.normal(size=(n, 3))
    return pl.DataFrame(X, schema=["a", "b", "c"]), truth


@pytest.mark.parametrize(
    "params",
    [
        {"init": "array", "reassignment_ratio": 0.0},
        {"init": "array"},
        {"init": "array", "reassignment_ratio": 0.5},
        {"init": "k-means++"},
        {"init": "random", "init_size": 30},
    ],
    ids=["no-reassign", "reassign", "heavy-reassign", "k-means++", "random"],
)
def test_partial_fit_matches_sklearn_on_every_input_kind(constructor, params):
    df, _ = _blobs()
    X = df.to_numpy()
    params = dict(params)
    if params["init"] == "array":
        params["init"] = X[[0, 1, 2, 3, 4]].copy()
    ref = skc.MiniBatchKMeans(5, random_state=0, batch_size=50, **params)
    ours = sm.MiniBatchKMeans(5, random_state=0, batch_size=50, **params)
    for start in range(0, 600, 50):
        ref.partial_fit(X[start : start + 50])
        ours.partial_fit(constructor(df.slice(start, 50)))
    assert_allclose(ours.cluster_centers_, ref.cluster_centers_, rtol=1e-6)
    assert_allclose(ours._counts, ref._counts)
    assert_array_equal(ours.labels_, ref.labels_)
    assert_allclose(ours.inertia_, ref.inertia_, rtol=1e-6)
    assert ours.n_steps_ == ref.n_steps_ == 12


def test_partial_fit_with_sample_weight_matches_sklearn():
    df, _ = _blobs()
    X = df.to_numpy()
    w = np.random.default_rng(1).uniform(0.5, 2.0, size=len(X))
    ref = skc.MiniBatchKMeans(4, init=X[:4].copy(), random_state=0)
    ours = sm.MiniBatchKMeans(4, init=X[:4].copy(), random_state=0)
    for start in range(0, 600, 100):
        ref.partial_fit(X[start : start + 100], sample_weight=w[start : start + 100])
        ours.partial_fit(X[start : start + 100], sample_weight=w[start : start + 100])
    assert_allclose(ours.cluster_centers_, ref.cluster_centers_, rtol=1e-6)


def test_fit_finds_the_clusters_like_sklearn(constructor):
    df, truth = _blobs()
    X = df.to_numpy()
    ref = skc.MiniBatchKMeans(4, random_state=0, batch_size=64).fit(X)
    ours = sm.MiniBatchKMeans(4, random_state=0, batch_size=64).fit(constructor(df))
    assert_allclose(ours.inertia_, ref.inertia_, rtol=0.02)
    pred = to_numpy(ours.predict(constructor(df))).ravel()
    assert adjusted_rand_score(truth, pred) == 1.0
    if constructor.lazy:
        assert not hasattr(ours, "labels_")
    else:
        assert_array_equal(ours.labels_, pred)
    assert 1 <= ours.n_iter_ <= 100
    assert ours.n_steps_ >= 1
    out = ours.transform(constructor(df))
    if constructor.lazy:
        assert out.collect_schema().names() == [f"minibatchkmeans{j}" for j in range(4)]
    eager = ours.transform(X if constructor.kind == "numpy" else df)
    assert_allclose(to_numpy(out), eager, rtol=1e-9)


def test_fit_on_data_sorted_by_cluster():
    # Sorted data: the window shuffle still mixes the clusters within every batch.
    df, truth = _blobs(n=2000)
    order = np.argsort(truth, kind="stable")
    ours = sm.MiniBatchKMeans(4, random_state=0, batch_size=100).fit(df[order].lazy())
    pred = ours.predict(df.lazy()).collect()["prediction"].to_numpy()
    assert adjusted_rand_score(truth, pred) == 1.0


def test_tol_stops_early():
    df, _ = _blobs()
    loose = sm.MiniBatchKMeans(
        4, random_state=0, batch_size=50, tol=1.0, max_no_improvement=None
    ).fit(df)
    assert loose.n_steps_ < (100 * 600) // 50


def test_compute_labels_false_estimates_the_inertia():
    df, _ = _blobs()
    exact = sm.MiniBatchKMeans(4, random_state=0, batch_size=64).fit(df)
    rough = sm.MiniBatchKMeans(4, random_state=0, batch_size=64, compute_labels=False).fit(df)
    assert not hasattr(rough, "labels_")
    assert_allclose(rough.inertia_, exact.inertia_, rtol=0.3)


@settings(max_examples=15, deadline=None)
@given(st.integers(1, 700), st.sampled_from([1, 2, None]), st.booleans())
def test_batch_rows_and_threads_do_not_change_the_fit(batch_rows, n_jobs, cache):
    df, _ = _blobs()
    params = {"n_clusters": 4, "random_state": 0, "batch_size": 40, "max_iter": 3}
    whole = sm.MiniBatchKMeans(**params).fit(df.lazy())
    split = sm.MiniBatchKMeans(**params, batch_rows=batch_rows, n_jobs=n_jobs, cache=cache).fit(
        df.lazy()
    )
    assert_array_equal(split.cluster_centers_, whole.cluster_centers_)
    assert split.n_steps_ == whole.n_steps_


@pytest.mark.parametrize("kind", ["polars", "lazy"])
def test_nan_is_refused_naming_the_column(kind):
    df, _ = _blobs()
    df = df.with_columns(
        c=pl.when(pl.int_range(600) == 5).then(float("nan")).otherwise(pl.col("c"))
    )
    X = df.lazy() if kind == "lazy" else df
    with pytest.raises(ValueError, match=r"column\(s\) \['c'\], which MiniBatchKMeans"):
        sm.MiniBatchKMeans(4).fit(X)
    with pytest.raises(ValueError, match=r"column\(s\) \['c'\], which MiniBatchKMeans"):
        sm.MiniBatchKMeans(4).partial_fit(X)


@pytest.mark.parametrize("method", ["fit", "partial_fit"])
def test_more_clusters_than_samples_gives_sklearns_message(method):
    X = pl.DataFrame(np.arange(10.0).reshape(5, 2)).lazy()
    with pytest.raises(ValueError, match=r"^n_samples=5 should be >= n_clusters=8\.$"):
        getattr(sm.MiniBatchKMeans(), method)(X)


def test_partial_fit_with_other_columns_is_refused():
    df, _ = _blobs()
    km = sm.MiniBatchKMeans(4).partial_fit(df)
    with pytest.raises(ValueError, match="Feature names seen at fit time, yet now missing"):
        km.partial_fit(df.drop("c"))


def test_small_init_size_warns_like_sklearn():
    df, _ = _blobs()
    with pytest.warns(RuntimeWarning, match="init_size=2 should be larger than n_clusters=4"):
        sm.MiniBatchKMeans(4, init_size=2, random_state=0).fit(df)
