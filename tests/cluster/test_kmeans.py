"""KMeans: out-of-core Lloyd against scikit-learn, on every input kind."""

from __future__ import annotations

import itertools
import os
import pickle
import signal
import subprocess
import sys
import time
import warnings

import numpy as np
import polars as pl
import pytest
import sklearn.cluster as skc
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.exceptions import ConvergenceWarning
from threadpoolctl import threadpool_limits

import scaleml as sm
from scaleml.cluster._init import Reservoir
from scaleml.cluster._stream import BlockStream
from tests.conftest import to_numpy
from tests.strategies import kmeans_problems

COLUMNS = ["a", "b", "c"]


@pytest.fixture(autouse=True)
def _single_threaded_sklearn():
    # scikit-learn's OpenMP loops on tiny data are slow on a busy machine; our kernels
    # pick their own thread count.
    with threadpool_limits(limits=1, user_api="openmp"):
        yield


def _frame(n: int = 300, seed: int = 0, offset: float = 50.0) -> pl.DataFrame:
    """Four overlapping blobs far from the origin (Lloyd needs several iterations)."""
    rng = np.random.default_rng(seed)
    centers = rng.normal(scale=3.0, size=(4, 3)) + offset
    X = centers[rng.integers(0, 4, size=n)] + rng.normal(size=(n, 3))
    return pl.DataFrame(X, schema=COLUMNS)


def _init(df: pl.DataFrame, k: int = 4) -> np.ndarray:
    return df.to_numpy()[:k].copy()


def _assert_same_model(ours: sm.KMeans, ref: skc.KMeans, rtol: float = 1e-6) -> None:
    assert_allclose(ours.cluster_centers_, ref.cluster_centers_, rtol=rtol)
    assert_allclose(ours.inertia_, ref.inertia_, rtol=rtol)
    assert ours.n_iter_ == ref.n_iter_


def test_same_init_matches_sklearn_lloyd_on_every_input_kind(constructor):
    df = _frame()
    X = df.to_numpy()
    ref = skc.KMeans(4, init=_init(df), n_init=1).fit(X)
    ours = sm.KMeans(4, init=_init(df), n_init=1).fit(constructor(df))
    _assert_same_model(ours, ref)
    if constructor.lazy:
        # labels_ would be O(n_samples): out-of-core input gets predict instead.
        assert not hasattr(ours, "labels_")
        pred = ours.predict(constructor(df))
        assert isinstance(pred, pl.LazyFrame)
        assert pred.collect_schema().names() == ["prediction"]
        assert_array_equal(pred.collect()["prediction"].to_numpy(), ref.labels_)
    else:
        assert ours.labels_.dtype == np.int32
        assert_array_equal(ours.labels_, ref.labels_)
        assert_array_equal(ours.predict(constructor(df)), ref.predict(X))


@pytest.mark.parametrize("init", ["k-means++", "random"])
def test_default_inits_match_sklearn_on_small_data(constructor, init):
    # A sample of at most init_sample_size rows is the whole data: the same seeding.
    df = _frame(seed=1)
    ref = skc.KMeans(4, init=init, random_state=0).fit(df.to_numpy())
    ours = sm.KMeans(4, init=init, random_state=0).fit(constructor(df))
    _assert_same_model(ours, ref)


def test_transform_score_and_feature_names_match_sklearn(constructor):
    df = _frame()
    X = df.to_numpy()
    ref = skc.KMeans(4, init=_init(df), n_init=1).fit(X)
    ours = sm.KMeans(4, init=_init(df), n_init=1).fit(constructor(df))
    names = ["kmeans0", "kmeans1", "kmeans2", "kmeans3"]
    assert list(ours.get_feature_names_out()) == names
    out = ours.transform(constructor(df))
    if constructor.lazy:
        assert isinstance(out, pl.LazyFrame)
        assert out.collect_schema().names() == names
    assert_allclose(to_numpy(out), ref.transform(X), rtol=1e-7)
    assert_allclose(ours.score(constructor(df)), ref.score(X), rtol=1e-6)
    fitted = to_numpy(sm.KMeans(4, init=_init(df), n_init=1).fit_transform(constructor(df)))
    assert_allclose(fitted, ref.transform(X), rtol=1e-7)


def test_fit_predict(constructor):
    df = _frame()
    ref = skc.KMeans(4, init=_init(df), n_init=1).fit(df.to_numpy())
    labels = sm.KMeans(4, init=_init(df), n_init=1).fit_predict(constructor(df))
    assert_array_equal(to_numpy(labels).ravel(), ref.labels_)


def test_set_output_containers():
    df = _frame()
    km = sm.KMeans(4, init=_init(df), n_init=1).fit(df)
    pdf = km.set_output(transform="pandas").transform(df.to_pandas())
    assert list(pdf.columns) == list(km.get_feature_names_out())
    assert km.set_output(transform="polars").transform(df).columns == list(pdf.columns)


def test_n_init_runs_share_passes_and_keep_sklearns_best():
    df = _frame(seed=3)
    ref = skc.KMeans(4, init="random", n_init=6, random_state=2).fit(df.to_numpy())
    ours = sm.KMeans(4, init="random", n_init=6, random_state=2).fit(df)
    _assert_same_model(ours, ref)


def test_empty_cluster_is_relocated_like_sklearn():
    df = _frame()
    init = _init(df)
    init[2] = 1e6  # no row is closest to this centre
    ref = skc.KMeans(4, init=init, n_init=1).fit(df.to_numpy())
    ours = sm.KMeans(4, init=init, n_init=1, batch_rows=64).fit(df.lazy())
    _assert_same_model(ours, ref)


def test_elkan_runs_lloyd():
    df = _frame()
    lloyd = sm.KMeans(4, init=_init(df), n_init=1).fit(df)
    elkan = sm.KMeans(4, init=_init(df), n_init=1, algorithm="elkan").fit(df)
    assert_array_equal(lloyd.cluster_centers_, elkan.cluster_centers_)


def test_callable_init_gets_the_centred_sample():
    df = _frame()
    X = df.to_numpy()

    def first_rows(data, n_clusters, random_state):
        return data[:n_clusters].copy()

    ref = skc.KMeans(4, init=first_rows, n_init=1).fit(X)
    ours = sm.KMeans(4, init=first_rows, n_init=1).fit(df)
    _assert_same_model(ours, ref, rtol=1e-9)


def test_kmeans_parallel_init_finds_the_blobs():
    rng = np.random.default_rng(0)
    centers = rng.normal(scale=20.0, size=(5, 2))
    X = centers[np.repeat(np.arange(5), 200)] + rng.normal(size=(1000, 2))
    ours = sm.KMeans(5, init="k-means||", random_state=0, batch_rows=100).fit(
        pl.DataFrame(X).lazy()
    )
    best = skc.KMeans(5, n_init=10, random_state=0).fit(X)
    assert_allclose(ours.inertia_, best.inertia_, rtol=1e-6)


def test_label_column_is_not_a_feature():
    df = _frame().with_columns(label=pl.Series(np.arange(300) % 2))
    km = sm.KMeans(4, init=_init(df.drop("label")), n_init=1).fit(df.lazy(), y="label")
    assert list(km.feature_names_in_) == COLUMNS


def test_lazy_predict_is_null_where_a_feature_is_missing():
    df = _frame()
    km = sm.KMeans(4, init=_init(df), n_init=1).fit(df)
    bad = df.head(3).with_columns(a=pl.Series([None, float("nan"), 1.0]))
    pred = km.predict(bad.lazy()).collect()["prediction"].to_list()
    assert pred[:2] == [None, None]
    assert pred[2] == km.predict(bad.tail(1))[0]


def test_duplicate_points_warn_like_sklearn():
    X = np.repeat([[0.0, 0.0], [1.0, 1.0], [5.0, 5.0]], 4, axis=0)
    with pytest.warns(
        ConvergenceWarning,
        match=r"Number of distinct clusters \(3\) found smaller than n_clusters \(4\)",
    ):
        sm.KMeans(4, random_state=0).fit(pl.DataFrame(X).lazy())


def test_explicit_init_with_several_inits_warns_like_sklearn():
    df = _frame()
    with pytest.warns(
        RuntimeWarning, match="performing only one init in KMeans instead of n_init=3"
    ):
        sm.KMeans(4, init=_init(df), n_init=3).fit(df)


# -- chunking ----------------------------------------------------------------------------
@settings(max_examples=25, deadline=None)
@given(kmeans_problems(min_rows=8, max_rows=1200), st.data())
def test_any_batch_rows_gives_identical_centres(problem, data):
    X, centers = problem
    k = len(centers)
    batch_rows = data.draw(st.integers(1, len(X)))
    n_jobs = data.draw(st.sampled_from([1, 2, None]))
    cache = data.draw(st.booleans())
    lf = pl.DataFrame(X).lazy()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        whole = sm.KMeans(k, init=centers, n_init=1, max_iter=30).fit(lf)
        split = sm.KMeans(
            k,
            init=centers,
            n_init=1,
            max_iter=30,
            batch_rows=batch_rows,
            n_jobs=n_jobs,
            cache=cache,
        ).fit(lf)
    # Rows are accumulated in fixed groups of the stream: bit for bit the same.
    assert_array_equal(split.cluster_centers_, whole.cluster_centers_)
    assert split.inertia_ == whole.inertia_
    assert split.n_iter_ == whole.n_iter_


@settings(max_examples=30, deadline=None)
@given(st.integers(1, 400), st.integers(1, 150), st.data())
def test_reservoir_is_a_chunking_free_uniform_sample(n, size, data):
    X = np.arange(2.0 * n).reshape(n, 2)
    cuts = sorted(data.draw(st.sets(st.integers(1, max(1, n - 1)), max_size=5)))
    samples = []
    for bounds in ([0, n], [0, *[c for c in cuts if c < n], n]):
        reservoir = Reservoir(size, 2, seed=7)
        for a, b in itertools.pairwise(bounds):
            reservoir.update(a, X[a:b])
        samples.append(reservoir.sample())
    assert_array_equal(samples[0], samples[1])
    assert len(samples[0]) == min(n, size)
    # Distinct rows of the stream, in stream order: all of it when it fits.
    assert (np.diff(samples[0][:, 0]) > 0).all()
    if n <= size:
        assert_array_equal(samples[0], X)


def test_file_split_and_sample_do_not_depend_on_chunking(tmp_path):
    df = _frame(n=2000)
    for i in range(4):
        df.slice(500 * i, 500).write_parquet(tmp_path / f"part-{i}.parquet")
    params = {"n_clusters": 4, "random_state": 0, "init_sample_size": 300}
    whole = sm.KMeans(**params).fit(df.lazy())
    split = sm.KMeans(**params, batch_rows=123).fit(str(tmp_path / "*.parquet"))
    assert_array_equal(split.cluster_centers_, whole.cluster_centers_)


def test_spool_goes_to_the_cache_directory_and_is_removed(tmp_path, monkeypatch):
    seen = []
    original = BlockStream._open_spool

    def spy(self):
        handle = original(self)
        seen.append(self._spool)
        return handle

    monkeypatch.setattr(BlockStream, "_open_spool", spy)
    df = _frame()
    km = sm.KMeans(4, init=_init(df), n_init=1, cache=str(tmp_path)).fit(df.lazy())
    assert len(seen) == 1 and os.path.dirname(seen[0]) == str(tmp_path)
    assert os.listdir(tmp_path) == []
    with pytest.raises(ValueError, match="NaN"):
        km.fit(df.with_columns(a=pl.lit(float("nan"))).lazy())
    assert os.listdir(tmp_path) == []


# -- bad input ---------------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["polars", "lazy"])
@pytest.mark.parametrize(
    ("value", "what"),
    [(None, "NaN or null"), (float("nan"), "NaN or null"), (float("inf"), "NaN, null or infinity")],
    ids=["null", "nan", "inf"],
)
def test_missing_or_infinite_values_are_refused_naming_the_column(kind, value, what):
    df = _frame().with_columns(
        b=pl.when(pl.int_range(300) == 7).then(pl.lit(value, pl.Float64)).otherwise(pl.col("b"))
    )
    X = df.lazy() if kind == "lazy" else df
    with pytest.raises(ValueError, match=rf"{what} in column\(s\) \['b'\], which KMeans"):
        sm.KMeans(4).fit(X)


def test_nan_at_predict_is_refused_naming_the_column():
    df = _frame()
    km = sm.KMeans(4, init=_init(df), n_init=1).fit(df)
    with pytest.raises(ValueError, match=r"column\(s\) \['c'\]"):
        km.predict(df.with_columns(c=pl.lit(float("nan"))))


@pytest.mark.parametrize("kind", ["numpy", "lazy"])
def test_more_clusters_than_samples_gives_sklearns_message(kind):
    X = np.arange(10.0).reshape(5, 2)
    data = X if kind == "numpy" else pl.DataFrame(X).lazy()
    with pytest.raises(ValueError, match=r"^n_samples=5 should be >= n_clusters=8\.$"):
        sm.KMeans().fit(data)


def test_non_numeric_column_is_refused():
    df = _frame().with_columns(s=pl.lit("x"))
    with pytest.raises(TypeError, match=r"non-numeric column\(s\) 's'"):
        sm.KMeans(4).fit(df.lazy())


def test_empty_lazy_input_is_refused():
    with pytest.raises(ValueError, match="Found array with 0 sample"):
        sm.KMeans(2).fit(_frame().lazy().head(0))


def test_init_of_the_wrong_shape_is_refused():
    df = _frame()
    with pytest.raises(ValueError, match=r"does not match the number of clusters 5"):
        sm.KMeans(5, init=_init(df, 4)).fit(df)
    with pytest.raises(ValueError, match=r"does not match the number of features of the data 3"):
        sm.KMeans(4, init=np.zeros((4, 2))).fit(df)


def test_sample_smaller_than_n_clusters_is_refused():
    with pytest.raises(ValueError, match=r"init_sample_size=3 should be >= n_clusters=4"):
        sm.KMeans(4, init_sample_size=3).fit(_frame())


# -- checkpoints -------------------------------------------------------------------------
def test_unwritable_checkpoint_fails_before_any_work(tmp_path):
    def boom(s: pl.Series) -> pl.Series:
        raise AssertionError("the data was read")

    lf = pl.LazyFrame({"a": [1.0, 2.0, 3.0]}).select(
        pl.col("a").map_batches(boom, return_dtype=pl.Float64)
    )
    with pytest.raises(FileNotFoundError, match="does not exist"):
        sm.KMeans(2, checkpoint=tmp_path / "missing" / "fit.ckpt").fit(lf)


_FIT_SCRIPT = """
import sys
import scaleml as sm
params = eval(sys.argv[1])
sm.KMeans(**params, cache=False, checkpoint=sys.argv[2]).fit(sys.argv[3])
"""


def _position(path: str) -> int:
    try:
        with open(path, "rb") as f:
            return int(pickle.load(f)["position"])
    except (OSError, EOFError, pickle.UnpicklingError):
        return -1


def _count_passes(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    calls = [0]
    original = BlockStream.blocks

    def counting(self):
        calls[0] += 1
        return original(self)

    monkeypatch.setattr(BlockStream, "blocks", counting)
    return calls


def test_resume_after_a_kill_ends_with_the_same_model(tmp_path, monkeypatch):
    rng = np.random.default_rng(0)
    data = str(tmp_path / "data.parquet")
    pl.DataFrame(rng.uniform(size=(40_000, 2)), schema=["a", "b"]).write_parquet(data)
    ckpt = str(tmp_path / "fit.ckpt")
    # Small blocks make the killed fit (which reads the parquet file every pass) slow
    # enough to be caught midway; 40 iterations keep the two fits here short.
    params = {
        "n_clusters": 30,
        "init": "random",
        "n_init": 1,
        "tol": 0.0,
        "random_state": 0,
        "max_iter": 40,
        "batch_rows": 200,
    }
    proc = subprocess.Popen([sys.executable, "-c", _FIT_SCRIPT, repr(params), ckpt, data])
    try:
        deadline = time.monotonic() + 60
        while _position(ckpt) < 3 and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.01)
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait()
    assert proc.returncode == -signal.SIGKILL, "the fit ended before it could be killed"
    assert _position(ckpt) >= 3
    passes = _count_passes(monkeypatch)
    resumed = sm.KMeans(**params, checkpoint=ckpt).fit(data)
    resumed_passes = passes[0]
    reference = sm.KMeans(**params).fit(data)
    assert resumed_passes < passes[0] - resumed_passes  # it did resume
    assert not os.path.exists(ckpt)
    assert_array_equal(resumed.cluster_centers_, reference.cluster_centers_)
    assert resumed.inertia_ == reference.inertia_
    assert resumed.n_iter_ == reference.n_iter_


def test_checkpoint_of_another_fit_is_refused(tmp_path):
    df = _frame()
    ckpt = tmp_path / "fit.ckpt"
    from scaleml._checkpoint import Checkpoint

    Checkpoint(ckpt, key="another fit").save({"runs": []}, position=1)
    with pytest.raises(ValueError, match="written by a different fit"):
        sm.KMeans(4, checkpoint=ckpt).fit(df.lazy())
