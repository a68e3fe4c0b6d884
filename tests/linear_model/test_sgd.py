"""SGDClassifier and SGDRegressor against scikit-learn's, on every input kind."""

from __future__ import annotations

import warnings

import numpy as np
import polars as pl
import pytest
import sklearn.linear_model as skl
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.exceptions import ConvergenceWarning

import scaleml as sm
import scaleml.linear_model._sgd as sgd_module
from tests.conftest import to_numpy

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


def _frame(
    n_classes: int = 2, n: int = 240, seed: int = 0, labels: list | None = None
) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3))
    score = X @ np.array([1.5, -1.0, 0.5]) + rng.normal(scale=0.5, size=n)
    if n_classes == 0:  # regression
        return pl.DataFrame(X, schema=["a", "b", "c"]).with_columns(label=pl.Series(score + 2.0))
    codes = np.searchsorted(np.quantile(score, np.linspace(0, 1, n_classes + 1)[1:-1]), score)
    y = np.asarray(labels)[codes] if labels is not None else codes
    return pl.DataFrame(X, schema=["a", "b", "c"]).with_columns(label=pl.Series(y))


def _xy(df: pl.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    return df.drop("label").to_numpy(), df["label"].to_numpy()


def _assert_same(ours, ref, rtol: float = 1e-8) -> None:
    assert_allclose(ours.coef_, ref.coef_, rtol=rtol, atol=1e-12)
    assert_allclose(ours.intercept_, ref.intercept_, rtol=rtol, atol=1e-12)
    assert ours.t_ == ref.t_
    assert ours.n_iter_ == ref.n_iter_


BATCHES = [slice(0, 37), slice(37, 120), slice(120, 240)]


@pytest.mark.parametrize("loss", ["hinge", "log_loss", "modified_huber"])
@pytest.mark.parametrize("learning_rate", ["constant", "optimal"])
@pytest.mark.parametrize("n_classes", [2, 3])
def test_classifier_partial_fit_matches_sklearn(loss, learning_rate, n_classes):
    X, y = _xy(_frame(n_classes))
    params = {"loss": loss, "learning_rate": learning_rate, "shuffle": False, "eta0": 0.05}
    ours, ref = sm.SGDClassifier(**params), skl.SGDClassifier(**params)
    for rows in BATCHES:
        ours.partial_fit(X[rows], y[rows], classes=np.unique(y))
        ref.partial_fit(X[rows], y[rows], classes=np.unique(y))
        _assert_same(ours, ref)


@pytest.mark.parametrize("loss", ["squared_error", "huber", "epsilon_insensitive"])
@pytest.mark.parametrize("learning_rate", ["constant", "optimal", "invscaling"])
def test_regressor_partial_fit_matches_sklearn(loss, learning_rate):
    X, y = _xy(_frame(0))
    params = {"loss": loss, "learning_rate": learning_rate, "shuffle": False}
    ours, ref = sm.SGDRegressor(**params), skl.SGDRegressor(**params)
    for rows in BATCHES:
        ours.partial_fit(X[rows], y[rows])
        ref.partial_fit(X[rows], y[rows])
        _assert_same(ours, ref)


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"loss": "log_loss", "penalty": "elasticnet", "l1_ratio": 0.4},
        {"loss": "squared_hinge", "penalty": "l1", "alpha": 0.01},
        {"loss": "perceptron", "penalty": None, "learning_rate": "invscaling", "eta0": 0.5},
        {"loss": "hinge", "learning_rate": "adaptive", "eta0": 0.1, "max_iter": 60},
        {"loss": "hinge", "learning_rate": "pa1", "eta0": 0.5},
        {"loss": "hinge", "learning_rate": "pa2", "eta0": 0.5},
        {"loss": "log_loss", "average": True},
        {"loss": "modified_huber", "average": 100, "penalty": "elasticnet"},
        {"class_weight": "balanced"},
        {"class_weight": {0: 2.0, 2: 0.3}},
        {"fit_intercept": False, "tol": None, "max_iter": 7},
    ],
    ids=lambda p: ",".join(f"{k}={v}" for k, v in p.items()) or "defaults",
)
@pytest.mark.parametrize("n_classes", [2, 3])
def test_classifier_fit_without_shuffle_is_sklearn_exactly(params, n_classes):
    if isinstance(params.get("class_weight"), dict) and n_classes == 2:
        params = {**params, "class_weight": {0: 2.0, 1: 0.3}}
    X, y = _xy(_frame(n_classes, seed=1))
    ours = sm.SGDClassifier(shuffle=False, **params).fit(X, y)
    ref = skl.SGDClassifier(shuffle=False, **params).fit(X, y)
    _assert_same(ours, ref)
    assert_array_equal(ours.predict(X), ref.predict(X))


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"loss": "huber", "penalty": "elasticnet", "learning_rate": "optimal"},
        {"loss": "epsilon_insensitive", "learning_rate": "pa1"},
        {"loss": "squared_epsilon_insensitive", "learning_rate": "adaptive"},
        {"average": 10},
        {"penalty": "l1", "alpha": 0.01, "learning_rate": "constant"},
    ],
    ids=lambda p: ",".join(f"{k}={v}" for k, v in p.items()) or "defaults",
)
def test_regressor_fit_without_shuffle_is_sklearn_exactly(params):
    X, y = _xy(_frame(0, seed=2))
    ours = sm.SGDRegressor(shuffle=False, **params).fit(X, y)
    ref = skl.SGDRegressor(shuffle=False, **params).fit(X, y)
    _assert_same(ours, ref)
    assert_allclose(ours.predict(X), ref.predict(X), rtol=1e-12)


@pytest.mark.parametrize("n_classes", [2, 3])
def test_classifier_on_every_input_kind(constructor, n_classes):
    df = _frame(n_classes)
    X, y = _xy(df)
    params = {"loss": "log_loss", "shuffle": False, "max_iter": 30, "tol": None}
    ref = skl.SGDClassifier(**params).fit(X, y)
    if constructor.lazy:
        ours = sm.SGDClassifier(**params).fit(constructor(df), y="label")
    else:
        ours = sm.SGDClassifier(**params).fit(constructor(df.drop("label")), y)
    _assert_same(ours, ref, rtol=1e-10)
    features = constructor(df.drop("label"))
    pred = ours.predict(features)
    assert isinstance(pred, pl.LazyFrame) == constructor.lazy
    assert_array_equal(to_numpy(pred).ravel(), ref.predict(X))
    assert_allclose(
        to_numpy(ours.predict_proba(features)), ref.predict_proba(X), rtol=1e-9, atol=1e-12
    )
    dec = to_numpy(ours.decision_function(features))
    assert_allclose(
        dec.reshape(ref.decision_function(X).shape), ref.decision_function(X), rtol=1e-9, atol=1e-12
    )


def test_regressor_on_every_input_kind(constructor):
    df = _frame(0)
    X, y = _xy(df)
    params = {"shuffle": False, "max_iter": 30, "tol": None}
    ref = skl.SGDRegressor(**params).fit(X, y)
    if constructor.lazy:
        ours = sm.SGDRegressor(**params).fit(constructor(df), y="label")
    else:
        ours = sm.SGDRegressor(**params).fit(constructor(df.drop("label")), y)
    _assert_same(ours, ref, rtol=1e-10)
    pred = ours.predict(constructor(df.drop("label")))
    assert isinstance(pred, pl.LazyFrame) == constructor.lazy
    assert_allclose(to_numpy(pred).ravel(), ref.predict(X), rtol=1e-10)


def test_partial_fit_on_lazy_sources_with_string_labels(tmp_path):
    df = _frame(3, labels=["x", "y", "z"])
    X, y = _xy(df)
    ours, ref = sm.SGDClassifier(shuffle=False), skl.SGDClassifier(shuffle=False)
    for i, rows in enumerate(BATCHES):
        path = tmp_path / f"part{i}.parquet"
        df[rows].write_parquet(path)
        ours.partial_fit(str(path), "label", classes=["x", "y", "z"] if i == 0 else None)
        ref.partial_fit(X[rows], y[rows], classes=np.array(["x", "y", "z"]))
    _assert_same(ours, ref)
    pred = ours.predict(str(tmp_path / "*.parquet")).collect()["prediction"]
    assert_array_equal(pred.to_numpy(), ref.predict(X))
    assert ours.score(str(tmp_path / "*.parquet"), "label") == pytest.approx(ref.score(X, y))


@pytest.mark.parametrize("loss", ["log_loss", "modified_huber"])
@pytest.mark.parametrize("n_classes", [2, 3])
def test_lazy_probabilities_equal_sklearn(loss, n_classes):
    df = _frame(n_classes)
    X, y = _xy(df)
    ours = sm.SGDClassifier(loss=loss, shuffle=False, tol=None, max_iter=5).fit(X, y)
    ref = skl.SGDClassifier(loss=loss, shuffle=False, tol=None, max_iter=5).fit(X, y)
    lazy = ours.predict_proba(pl.DataFrame(X, schema=["x0", "x1", "x2"]).lazy())
    assert lazy.collect_schema().names() == [f"proba_{c}" for c in ref.classes_]
    assert_allclose(to_numpy(lazy), ref.predict_proba(X), rtol=1e-9, atol=1e-12)
    with np.errstate(divide="ignore"):  # probabilities of exactly 0, as in sklearn
        assert_allclose(ours.predict_log_proba(X), ref.predict_log_proba(X), rtol=1e-9)


def test_predict_proba_is_only_offered_by_probabilistic_losses():
    X, y = _xy(_frame(2))
    est = sm.SGDClassifier(loss="hinge", max_iter=5, tol=None).fit(X, y)
    assert not hasattr(est, "predict_proba")
    with pytest.raises(AttributeError, match="has no attribute 'predict_proba'"):
        est.predict_proba(X)


# -- shuffling, early stopping -----------------------------------------------------------


@settings(max_examples=10, deadline=None)
@given(batch_rows=st.integers(3, 120), buffer_rows=st.sampled_from([5, 64, 1000]))
def test_shuffled_fit_does_not_depend_on_how_the_stream_is_cut(batch_rows, buffer_rows):
    df = _frame(3, n=150)
    params = {"random_state": 7, "max_iter": 5, "tol": None, "shuffle_buffer_rows": buffer_rows}
    whole = sm.SGDClassifier(**params).fit(df.lazy(), y="label")
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(sgd_module, "CACHE_BYTES", 0)  # read the source every epoch
        cut = sm.SGDClassifier(batch_rows=batch_rows, **params).fit(df.lazy(), y="label")
    assert_array_equal(cut.coef_, whole.coef_)
    assert_array_equal(cut.intercept_, whole.intercept_)


def test_shuffle_is_seeded_and_learns_as_well_as_sklearn():
    X, y = _xy(_frame(3, n=600))
    a = sm.SGDClassifier(random_state=0).fit(X, y)
    b = sm.SGDClassifier(random_state=0).fit(X, y)
    c = sm.SGDClassifier(random_state=1).fit(X, y)
    assert_array_equal(a.coef_, b.coef_)
    assert not np.array_equal(a.coef_, c.coef_)
    ref = skl.SGDClassifier(random_state=0).fit(X, y)
    assert a.score(X, y) > ref.score(X, y) - 0.05


def test_early_stopping_holds_out_rows_and_stops():
    X, y = _xy(_frame(2, n=400))
    est = sm.SGDClassifier(early_stopping=True, random_state=0, max_iter=200).fit(X, y)
    assert est.n_iter_ < 200
    again = sm.SGDClassifier(early_stopping=True, random_state=0, max_iter=200).fit(X, y)
    assert_array_equal(est.coef_, again.coef_)


@pytest.mark.parametrize("Est", [sm.SGDClassifier, sm.SGDRegressor])
def test_early_stopping_scores_held_out_rows_by_streaming_when_they_are_many(monkeypatch, Est):
    df = _frame(2 if Est is sm.SGDClassifier else 0, n=400)
    params = {"early_stopping": True, "random_state": 3, "max_iter": 100, "shuffle_buffer_rows": 50}
    kept = Est(**params).fit(df.lazy(), y="label")
    monkeypatch.setattr(sgd_module, "DEFAULT_BATCH_BYTES", 0)
    monkeypatch.setattr(sgd_module, "CACHE_BYTES", 0)
    streamed = Est(batch_rows=64, **params).fit(df.lazy(), y="label")
    assert streamed.n_iter_ == kept.n_iter_
    assert_array_equal(streamed.coef_, kept.coef_)


def test_early_stopping_with_an_empty_validation_set_is_refused():
    X, y = _xy(_frame(2, n=12))
    with pytest.raises(ValueError, match="led to an empty set"):
        sm.SGDClassifier(early_stopping=True, validation_fraction=0.001, random_state=0).fit(X, y)


def test_regressor_score_on_a_lazy_column_is_r2():
    df = _frame(0)
    y = df["label"].to_numpy()
    est = sm.SGDRegressor(max_iter=20, random_state=0).fit(df.lazy(), y="label")
    assert est.score(df.lazy(), "label") == pytest.approx(est.score(df.drop("label"), y), rel=1e-10)


def test_verbose_reports_every_epoch(capsys):
    X, y = _xy(_frame(2))
    sm.SGDClassifier(verbose=1, max_iter=3, tol=None).fit(X, y)
    err = capsys.readouterr().err
    assert "SGDClassifier: pass 3/3" in err and "avg_loss=" in err


def test_convergence_warning_like_sklearn():
    X, y = _xy(_frame(2))
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        with pytest.raises(ConvergenceWarning, match="Maximum number of iteration reached"):
            sm.SGDClassifier(max_iter=2).fit(X, y)


# -- bad input -------------------------------------------------------------------------


def test_partial_fit_needs_classes_first():
    X, y = _xy(_frame(2))
    with pytest.raises(ValueError, match="classes must be passed on the first call"):
        sm.SGDClassifier().partial_fit(X, y)
    est = sm.SGDClassifier().partial_fit(X, y, classes=[0, 1])
    with pytest.raises(ValueError, match="is not the same as on last call"):
        est.partial_fit(X, y, classes=[0, 1, 2])


@pytest.mark.parametrize("lazy", [False, True])
def test_partial_fit_refuses_labels_outside_classes(lazy):
    df = _frame(3)
    X, y = _xy(df)
    est = sm.SGDClassifier()
    with pytest.raises(ValueError, match=r"not in classes \[0, 1\]"):
        if lazy:
            est.partial_fit(df.lazy(), "label", classes=[0, 1])
        else:
            est.partial_fit(X, y, classes=[0, 1])


@pytest.mark.parametrize(
    ("Est", "params", "match"),
    [
        (
            sm.SGDClassifier,
            {"early_stopping": True},
            "early_stopping should be False with partial_fit",
        ),
        (
            sm.SGDClassifier,
            {"class_weight": "balanced"},
            "'balanced' is not supported for partial_fit",
        ),
        (sm.SGDRegressor, {"learning_rate": "optimal", "alpha": 0}, "alpha must be > 0"),
    ],
)
def test_partial_fit_refuses_what_sklearn_refuses(Est, params, match):
    X, y = _xy(_frame(2))
    kwargs = {"classes": [0, 1]} if Est is sm.SGDClassifier else {}
    with pytest.raises(ValueError, match=match):
        Est(**params).partial_fit(X, y, **kwargs)


def test_pa_learning_rate_needs_hinge():
    X, y = _xy(_frame(2))
    with pytest.raises(ValueError, match="only works with loss 'hinge'"):
        sm.SGDClassifier(loss="log_loss", learning_rate="pa1").fit(X, y)


def test_nan_in_a_feature_names_the_column():
    df = _frame(2).with_columns(c=pl.when(pl.int_range(pl.len()) == 3).then(None).otherwise("c"))
    with pytest.raises(ValueError, match=r"NaN or null in column\(s\) \['c'\]"):
        sm.SGDClassifier().fit(df.lazy(), y="label")


def test_one_class_is_refused_like_sklearn():
    df = _frame(2).with_columns(label=pl.lit("only"))
    with pytest.raises(
        ValueError, match="The number of classes has to be greater than one; got 1 class"
    ):
        sm.SGDClassifier().fit(df.lazy(), y="label")


@pytest.mark.parametrize("Est", [sm.SGDClassifier, sm.SGDRegressor])
def test_empty_lazy_input_is_refused(Est, tmp_path):
    df = _frame(2 if Est is sm.SGDClassifier else 0).head(0)
    df.write_parquet(tmp_path / "empty.parquet")
    with pytest.raises(ValueError, match="0 sample"):
        Est().fit(str(tmp_path / "empty.parquet"), y="label")
