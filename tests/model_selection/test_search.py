"""GridSearchCV / RandomizedSearchCV: scikit-learn's results, every fold in shared scans."""

from __future__ import annotations

import json

import numpy as np
import polars as pl
import pytest
import scipy.stats
import sklearn.linear_model as sklm
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose
from sklearn.exceptions import FitFailedWarning
from sklearn.metrics import log_loss, roc_auc_score
from sklearn.model_selection import GridSearchCV as SkGridSearchCV
from sklearn.model_selection import KFold
from sklearn.model_selection import RandomizedSearchCV as SkRandomizedSearchCV
from sklearn.pipeline import make_pipeline

import scaleml as sm
from scaleml import _shared_scan
from scaleml._fit import fold
from scaleml.model_selection import (
    GridSearchCV,
    HashKFold,
    HashStratifiedKFold,
    RandomizedSearchCV,
    _scoring,
    read_runs,
)

FEATURES = ["f0", "f1", "f2", "f3"]
ALPHAS = [0.1, 10.0, 1000.0]


def _frame(n: int = 600, seed: int = 0) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 4))
    label = (X @ [1.0, -1.0, 0.5, 2.0] + rng.normal(size=n) > 0).astype(np.int64)
    target = X @ [2.0, 1.0, 0.0, -1.0] + rng.normal(size=n)
    return pl.DataFrame(X, schema=FEATURES).with_columns(
        label=pl.Series(label), target=pl.Series(target)
    )


@pytest.fixture(scope="module")
def frame() -> pl.DataFrame:
    return _frame()


@pytest.fixture
def parquet(tmp_path, frame):
    path = tmp_path / "data.parquet"
    frame.write_parquet(path)
    return str(path)


@pytest.fixture
def scans(monkeypatch):
    """Count the scans the shared scans make (of views, and of plain sources)."""
    calls = []
    frames, batches = _shared_scan._frames, _shared_scan.iter_batches
    monkeypatch.setattr(_shared_scan, "_frames", lambda *a, **k: calls.append(1) or frames(*a, **k))
    monkeypatch.setattr(
        _shared_scan, "iter_batches", lambda *a, **k: calls.append(1) or batches(*a, **k)
    )
    return calls


# -- equal to scikit-learn -----------------------------------------------------------------
def test_ridge_search_equals_sklearn_for_every_input_kind(constructor, frame):
    features = frame.select(FEATURES)
    if constructor.lazy:
        X, y = constructor(frame.drop("label")), "target"
    else:
        X, y = constructor(features), frame["target"].to_numpy()
    search = GridSearchCV(sm.Ridge(), {"alpha": ALPHAS}, cv=3, log_to=None).fit(X, y)
    ref = SkGridSearchCV(sklm.Ridge(), {"alpha": ALPHAS}, cv=HashKFold(3))
    ref.fit(features.to_numpy(), frame["target"].to_numpy())
    for key in ["mean_test_score", "std_test_score", *(f"split{k}_test_score" for k in range(3))]:
        assert_allclose(search.cv_results_[key], ref.cv_results_[key], rtol=1e-10)
    assert (
        search.cv_results_["rank_test_score"].tolist()
        == ref.cv_results_["rank_test_score"].tolist()
    )
    assert search.best_params_ == ref.best_params_ and search.best_index_ == ref.best_index_
    assert search.n_splits_ == 3
    assert search.cv_results_["param_alpha"].tolist() == ALPHAS
    assert_allclose(search.best_estimator_.coef_, ref.best_estimator_.coef_, rtol=1e-10)
    pred = search.predict(constructor(features) if not constructor.lazy else X)
    expected = ref.predict(features.to_numpy())
    got = pred.collect().to_series().to_numpy() if constructor.lazy else pred
    assert_allclose(got, expected, rtol=1e-10)


def test_logistic_search_in_memory_equals_sklearn(frame):
    X, y = frame.select(FEATURES).to_numpy(), frame["label"].to_numpy()
    grid = {"C": [0.01, 0.1, 10.0]}
    for scoring in [None, "neg_log_loss"]:
        search = GridSearchCV(sm.LogisticRegression(), grid, cv=3, scoring=scoring, log_to=None)
        search.fit(X, y)
        ref = SkGridSearchCV(
            sklm.LogisticRegression(), grid, cv=HashStratifiedKFold(3), scoring=scoring
        ).fit(X, y)
        assert_allclose(
            search.cv_results_["mean_test_score"], ref.cv_results_["mean_test_score"], rtol=1e-6
        )
        assert search.best_params_ == ref.best_params_
        assert_allclose(search.predict_proba(X), ref.predict_proba(X), rtol=1e-5)


def test_randomized_search_samples_sklearns_candidates(frame):
    X, y = frame.select(FEATURES).to_numpy(), frame["target"].to_numpy()
    dist = {"alpha": scipy.stats.loguniform(1e-2, 1e3), "fit_intercept": [True, False]}
    kwargs = {"n_iter": 4, "random_state": 0, "cv": HashKFold(3)}
    search = RandomizedSearchCV(sm.Ridge(), dist, log_to=None, **kwargs).fit(X, y)
    ref = SkRandomizedSearchCV(sklm.Ridge(), dist, **kwargs).fit(X, y)
    assert search.cv_results_["params"] == ref.cv_results_["params"]
    assert_allclose(search.cv_results_["mean_test_score"], ref.cv_results_["mean_test_score"])
    lazy = RandomizedSearchCV(sm.Ridge(), dist, log_to=None, **kwargs)
    lazy.fit(frame.lazy().drop("label"), "target")
    assert lazy.cv_results_["params"] == ref.cv_results_["params"]
    assert_allclose(lazy.cv_results_["mean_test_score"], ref.cv_results_["mean_test_score"])


# -- lazy: folds, scans, metrics --------------------------------------------------------------
def test_ridge_candidates_and_folds_share_two_scans(parquet, scans):
    data = sm.scan(parquet).drop("label")
    search = GridSearchCV(sm.Ridge(), {"alpha": ALPHAS}, cv=4, log_to=None).fit(data, "target")
    # Twelve fits in one pass, the twelve held-out folds scored in a second one.
    assert len(scans) == 2
    for k, (train, test) in enumerate(HashKFold(4).split(data)):
        model = sm.Ridge(alpha=ALPHAS[1]).fit(train, y="target")
        assert search.cv_results_[f"split{k}_test_score"][1] == pytest.approx(
            model.score(test, "target"), rel=1e-12
        )


def test_logistic_passes_are_shared_and_metrics_are_exact(parquet, scans):
    data = sm.scan(parquet).drop("target")
    grid = {"C": [0.01, 1.0]}
    search = GridSearchCV(
        sm.LogisticRegression(), grid, cv=3, scoring="neg_log_loss", log_to=None
    ).fit(data, "label")
    passes = []
    for k, (train, test) in enumerate(HashStratifiedKFold(3).split(data, "label")):
        y_test = test.select("label").collect().to_series().to_numpy()
        for i, C in enumerate(grid["C"]):
            model = sm.LogisticRegression(C=C).fit(train, y="label")
            passes.append(model.n_passes_)
            proba = model.predict_proba(test.drop("label")).collect().to_numpy()
            assert search.cv_results_[f"split{k}_test_score"][i] == pytest.approx(
                -log_loss(y_test, proba), rel=1e-9
            )
    # One scan per pass of the slowest fit, plus the scoring of the last ones to finish.
    assert max(passes) <= len(scans) <= max(passes) + 1 < sum(passes) / 2


@pytest.mark.parametrize("scoring", ["accuracy", "roc_auc"])
def test_classification_metrics_equal_sklearn_on_each_fold(frame, scoring, monkeypatch):
    data = (
        frame.lazy()
        .drop("target")
        .with_columns(
            label=pl.when(pl.col("label") == 1).then(pl.lit("yes")).otherwise(pl.lit("no"))
        )
    )
    search = GridSearchCV(
        sm.LogisticRegression(), {"C": [1.0]}, cv=3, scoring=scoring, log_to=None
    ).fit(data, "label")
    # The same scores when a fold's (score, label) pairs overflow to the DuckDB path.
    monkeypatch.setattr(_scoring, "ROC_AUC_MAX_PAIRS", 10)
    spilled = GridSearchCV(
        sm.LogisticRegression(), {"C": [1.0]}, cv=3, scoring=scoring, log_to=None
    ).fit(data, "label")
    for k, (train, test) in enumerate(HashStratifiedKFold(3).split(data, "label")):
        model = sm.LogisticRegression().fit(train, y="label")
        y_test = test.select("label").collect().to_series().to_numpy()
        features = test.drop("label").collect()
        if scoring == "accuracy":
            expected = float(np.mean(model.predict(features) == y_test))
        else:
            expected = roc_auc_score(y_test == "yes", model.decision_function(features))
        got = search.cv_results_[f"split{k}_test_score"][0]
        assert got == pytest.approx(expected, rel=1e-12)
        assert spilled.cv_results_[f"split{k}_test_score"][0] == pytest.approx(got, rel=1e-12)


def test_pipeline_preprocessing_fitted_once_per_fold_and_group(parquet, scans, monkeypatch):
    fits = []
    original = sm.StandardScaler.fit
    monkeypatch.setattr(
        sm.StandardScaler, "fit", lambda self, *a: fits.append(1) or original(self, *a)
    )
    data = sm.scan(parquet).drop("label")
    pipe = make_pipeline(sm.StandardScaler(), sm.Ridge())
    grid = {"ridge__alpha": ALPHAS, "standardscaler__with_std": [True, False]}
    search = GridSearchCV(
        pipe, grid, cv=3, scoring="neg_mean_squared_error", return_train_score=True, log_to=None
    ).fit(data, "target")
    # 2 preprocessing groups x 3 folds, plus the refit; 18 final fits in one scan.
    assert len(fits) == 2 * 3 + 1
    assert len(scans) == 3  # fit, test scores, train scores
    i = search.cv_results_["params"].index(
        {"ridge__alpha": 1000.0, "standardscaler__with_std": False}
    )
    for k, (train, test) in enumerate(HashKFold(3).split(data)):
        model = make_pipeline(sm.StandardScaler(with_std=False), sm.Ridge(alpha=1000.0))
        model.fit(train, "target")
        for part, view in [("test", test), ("train", train)]:
            y_true = view.select("target").collect().to_series().to_numpy()
            pred = model.predict(view).collect().to_series().to_numpy()
            assert search.cv_results_[f"split{k}_{part}_score"][i] == pytest.approx(
                -np.mean((y_true - pred) ** 2), rel=1e-10
            )
    assert search.best_params_["standardscaler__with_std"] in (True, False)
    assert isinstance(search.predict(data), pl.LazyFrame)


def test_score_is_streamed_on_lazy_data(frame):
    data = frame.lazy().drop("label")
    search = GridSearchCV(sm.Ridge(), {"alpha": ALPHAS}, cv=3, log_to=None).fit(data, "target")
    expected = search.best_estimator_.score(data, "target")
    assert search.score(data, "target") == pytest.approx(expected, rel=1e-12)
    in_memory = search.score(frame.drop("label").lazy(), frame["target"].to_numpy())
    assert in_memory == pytest.approx(expected, rel=1e-12)
    features = frame.select(FEATURES)
    assert search.score(features, frame["target"].to_numpy()) == pytest.approx(
        search.best_estimator_.score(features, frame["target"].to_numpy()), rel=1e-12
    )


def test_lazy_data_with_an_array_target(frame):
    data = frame.lazy().select(FEATURES)
    search = GridSearchCV(sm.Ridge(), {"alpha": ALPHAS}, cv=3, log_to=None)
    search.fit(data, frame["target"].to_numpy())
    ref = GridSearchCV(sm.Ridge(), {"alpha": ALPHAS}, cv=3, log_to=None)
    ref.fit(frame.lazy().drop("label"), "target")
    assert_allclose(search.cv_results_["mean_test_score"], ref.cv_results_["mean_test_score"])
    assert search.best_estimator_.feature_names_in_.tolist() == FEATURES


@settings(max_examples=5, deadline=None)
@given(batch_rows=st.integers(min_value=5, max_value=400), n_jobs=st.sampled_from([None, 2, -1]))
def test_any_chunking_gives_the_same_results(batch_rows, n_jobs):
    data = _frame(300, seed=1).lazy().drop("label")
    grid = {"alpha": ALPHAS}
    chunked = GridSearchCV(sm.Ridge(batch_rows=batch_rows), grid, cv=3, n_jobs=n_jobs, log_to=None)
    whole = GridSearchCV(sm.Ridge(), grid, cv=3, log_to=None)
    chunked.fit(data, "target")
    whole.fit(data, "target")
    assert_allclose(
        chunked.cv_results_["mean_test_score"], whole.cv_results_["mean_test_score"], rtol=1e-10
    )


def test_folds_by_key_keep_entities_together(frame):
    data = frame.lazy().drop("label").with_columns(user=pl.int_range(pl.len()) // 4)
    cv = HashKFold(3, key="user")
    search = GridSearchCV(sm.Ridge(), {"alpha": [1.0]}, cv=cv, log_to=None).fit(data, "target")
    for k, (train, test) in enumerate(cv.split(data)):
        assert set(train.collect()["user"]).isdisjoint(set(test.collect()["user"]))
        model = sm.Ridge().fit(train, y="target")
        assert search.cv_results_[f"split{k}_test_score"][0] == pytest.approx(
            model.score(test, "target"), rel=1e-12
        )


# -- run log, failures, bad input -----------------------------------------------------------
def test_every_candidate_and_fold_is_logged(parquet, tmp_path):
    log = tmp_path / "runs.duckdb"
    data = sm.scan(parquet).drop("label")
    search = GridSearchCV(sm.Ridge(), {"alpha": ALPHAS}, cv=3, log_to=log).fit(data, "target")
    X, y = pl.read_parquet(parquet).select(FEATURES).to_numpy(), pl.read_parquet(parquet)["target"]
    GridSearchCV(sm.Ridge(), {"alpha": ALPHAS[:2]}, cv=3, log_to=log).fit(X, y.to_numpy())
    runs = read_runs(log).filter(pl.col("kind") == "search")
    assert runs.height == 3 * 3 + 2 * 3
    assert runs["run_id"].n_unique() == 2
    lazy = runs.filter(pl.col("data_fingerprint") != "in-memory").sort("candidate", "fold")
    assert lazy["candidate"].to_list() == [0, 0, 0, 1, 1, 1, 2, 2, 2]
    assert lazy["fold"].to_list() == [0, 1, 2] * 3
    assert '"alpha": 10.0' in lazy["params"][3]
    scores = [search.cv_results_[f"split{k}_test_score"][c] for c in range(3) for k in range(3)]
    logged = [json.loads(m)["test_score"] for m in lazy["metrics"]]
    assert_allclose(logged, scores)
    train_rows = [t.select(pl.len()).collect().item() for t, _ in HashKFold(3).split(data)]
    assert lazy["rows_seen"].to_list() == train_rows * 3
    assert (lazy["fit_seconds"] > 0).all() and lazy["error"].is_null().all()
    assert "polars" in lazy["versions"][0]


def test_failing_candidates_get_error_score(frame):
    data = frame.lazy().drop("target")
    grid = {"C": [1.0, -1.0]}
    search = GridSearchCV(sm.LogisticRegression(), grid, cv=3, log_to=None)
    with (
        pytest.warns(FitFailedWarning, match="3 fits failed out of a total of 6"),
        pytest.warns(UserWarning, match="test scores are non-finite"),
    ):
        search.fit(data, "label")
    assert np.isnan(search.cv_results_["mean_test_score"][1])
    assert search.best_params_ == {"C": 1.0}
    with pytest.raises(ValueError, match="parameter of LogisticRegression must be"):
        GridSearchCV(sm.LogisticRegression(), grid, cv=3, error_score="raise", log_to=None).fit(
            data, "label"
        )
    with pytest.raises(ValueError, match="All the 3 fits failed"):
        GridSearchCV(sm.LogisticRegression(), {"C": [-1.0]}, cv=3, log_to=None).fit(data, "label")


def test_bad_input_is_named(frame):
    data = frame.lazy().drop("label")
    search = GridSearchCV(sm.Ridge(), {"alpha": [1.0]}, cv=3, log_to=None)
    with pytest.raises(ValueError, match="scoring='explained_variance' is not supported on lazy"):
        search.set_params(scoring="explained_variance").fit(data, "target")
    with pytest.raises(TypeError, match="needs hash folds"):
        search.set_params(scoring=None, cv=KFold(3)).fit(data, "target")
    with pytest.raises(ValueError, match="y='targt' is not a column of X"):
        search.set_params(cv=3).fit(data, "targt")
    with pytest.raises(ValueError, match="Fit parameters \\['sample_weight'\\]"):
        search.fit(data, "target", sample_weight=np.ones(600))
    with pytest.raises(ValueError, match="1-D array of X's 600 rows"):
        search.fit(data.drop("target"), np.ones(5))
    with pytest.raises(ValueError, match="needs a binary classifier"):
        GridSearchCV(
            sm.LogisticRegression(),
            {"C": [1.0]},
            scoring="roc_auc",
            error_score="raise",
            log_to=None,
        ).fit(data.with_columns(c=(pl.col("f0") > 0).cast(int) + (pl.col("f1") > 0).cast(int)), "c")
    with pytest.raises(ValueError, match="greater than the number of samples: n_samples=2"):
        search.fit(np.ones((2, 2)), np.ones(2))


# -- the shared-scan views ----------------------------------------------------------------------
class _Sum:
    """A pseudo-estimator summing its feature blocks."""

    chunk_kind = "numpy"

    def _init_state(self):
        return 0.0

    def _update_state(self, state, chunk):
        return state + float(chunk[0].sum())

    def _merge_states(self, a, b):
        return a + b


def _summed(view):
    return lambda: fold(_Sum(), view, columns=["x"], batch_rows=3)


def test_views_of_one_base_are_served_by_one_scan(scans):
    base = pl.LazyFrame({"x": np.arange(10.0), "g": np.arange(10) % 2})
    even = _shared_scan.shared_view(base, pl.col("g") == 0, drop=["g"])
    odd = _shared_scan.shared_view(
        base, pl.col("g") == 1, drop=["g"], then=lambda lf: lf.select(pl.col("x") * 10)
    )
    assert odd.collect()["x"].to_list() == [10.0, 30.0, 50.0, 70.0, 90.0]
    results, shared = _shared_scan.run_shared([_summed(even), _summed(odd)])
    assert results == [20.0, 250.0]
    assert shared.n_scans == 1 and len(scans) == 1
    # A selection of a view's columns joins its scan when the thread fits on that view.
    with_y = base.with_columns(y=pl.col("x") * 2)
    view = _shared_scan.shared_view(with_y, pl.col("g") == 0, drop=["g"])
    other = _shared_scan.shared_view(with_y, pl.col("g") == 1, drop=["g"])
    model = sm.LinearRegression()

    def fit():
        with _shared_scan.fitting_on(view):
            return model.fit(view, "y")

    results, shared = _shared_scan.run_shared([fit, _summed(other)])
    assert shared.n_scans == 1 and results[1] == 25.0
    assert model.coef_ == pytest.approx([2.0])


def test_in_memory_frames_of_one_schema_are_not_confused():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(100, 2))
    a, b = sm.Ridge(), sm.Ridge()
    _shared_scan.run_shared(
        [lambda: a.fit(X[:50], X[:50, 0]), lambda: b.fit(X[50:] * 5, X[50:, 1])]
    )
    assert_allclose(a.coef_, sm.Ridge().fit(X[:50], X[:50, 0]).coef_)
    assert_allclose(b.coef_, sm.Ridge().fit(X[50:] * 5, X[50:, 1]).coef_)


def test_columns_differing_in_long_literals_are_not_merged():
    # str() of an expression abbreviates long lists ([0, 1, … 99]): two label encodings
    # printing alike must still be read as two columns.
    lf = pl.LazyFrame({"y": np.arange(100)})
    keys = list(range(100))
    same = pl.col("y").replace_strict(keys, [float(k) for k in keys])
    other = pl.col("y").replace_strict(keys, [7.0 if k == 50 else float(k) for k in keys])
    assert str(same) == str(other)
    fits = [lambda e=e: fold(_Sum(), lf, columns=[e]) for e in (same, other)]
    results, shared = _shared_scan.run_shared(fits)
    assert results == [4950.0, 4907.0] and shared.n_scans == 1
