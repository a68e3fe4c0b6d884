"""LogisticRegression against scikit-learn's lbfgs, on every input kind."""

from __future__ import annotations

import logging
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
import scaleml.linear_model._logistic as logistic_module
from tests.conftest import to_numpy
from tests.strategies import classification_data

TIGHT = {"tol": 1e-10, "max_iter": 1000}


def _frame(
    n_classes: int = 2, n: int = 300, seed: int = 0, labels: list | None = None
) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    X = rng.normal([0.0, 3.0, -1.0], [1.0, 2.0, 0.5], size=(n, 3))
    score = X @ np.array([1.0, -0.5, 2.0]) + rng.normal(size=n)
    codes = np.searchsorted(np.quantile(score, np.linspace(0, 1, n_classes + 1)[1:-1]), score)
    y = np.asarray(labels)[codes] if labels is not None else codes
    return pl.DataFrame(X, schema=["a", "b", "c"]).with_columns(label=pl.Series(y))


def _fit_both(constructor, df: pl.DataFrame, **params):
    """Our fit on the constructor's kind (label column for lazy kinds) and sklearn's."""
    X, y = df.drop("label").to_numpy(), df["label"].to_numpy()
    ref = skl.LogisticRegression(**params).fit(X, y)
    if constructor.lazy:
        ours = sm.LogisticRegression(**params).fit(constructor(df), y="label")
    else:
        ours = sm.LogisticRegression(**params).fit(constructor(df.drop("label")), y)
    return ours, ref, X


def _assert_same_model(ours, ref, rtol: float = 1e-4) -> None:
    assert_array_equal(ours.classes_, ref.classes_)
    assert ours.coef_.shape == ref.coef_.shape
    assert_allclose(ours.coef_, ref.coef_, rtol=rtol, atol=1e-7)
    assert_allclose(ours.intercept_, ref.intercept_, rtol=rtol, atol=1e-7)


@pytest.mark.parametrize("n_classes", [2, 3])
def test_matches_sklearn_on_every_input_kind(constructor, n_classes):
    df = _frame(n_classes)
    ours, ref, X = _fit_both(constructor, df, **TIGHT)
    _assert_same_model(ours, ref)
    features = constructor(df.drop("label"))
    pred = ours.predict(features)
    assert isinstance(pred, pl.LazyFrame) == constructor.lazy
    if constructor.lazy:
        assert pred.collect_schema().names() == ["prediction"]
        names = ["decision"] if n_classes == 2 else [f"decision_{c}" for c in ref.classes_]
        assert ours.decision_function(features).collect_schema().names() == names
        assert ours.predict_proba(features).collect_schema().names() == [
            f"proba_{c}" for c in ref.classes_
        ]
    assert_array_equal(to_numpy(pred).ravel(), ref.predict(X))
    assert_allclose(
        to_numpy(ours.predict_proba(features)), ref.predict_proba(X), rtol=1e-5, atol=1e-8
    )
    assert_allclose(
        to_numpy(ours.predict_log_proba(features)), ref.predict_log_proba(X), rtol=1e-5, atol=1e-6
    )
    dec = to_numpy(ours.decision_function(features))
    assert_allclose(
        dec.reshape(ref.decision_function(X).shape), ref.decision_function(X), rtol=1e-5, atol=1e-6
    )


def test_in_memory_outputs_are_sklearn_arrays():
    df = _frame(3)
    X, y = df.drop("label").to_numpy(), df["label"].to_numpy()
    ours, ref = sm.LogisticRegression(**TIGHT).fit(X, y), skl.LogisticRegression(**TIGHT).fit(X, y)
    for method in ("predict", "predict_proba", "decision_function", "predict_log_proba"):
        a, b = getattr(ours, method)(X), getattr(ref, method)(X)
        assert type(a) is type(b) and a.shape == b.shape and a.dtype == b.dtype, method
    assert ours.n_iter_.dtype == ref.n_iter_.dtype and ours.n_iter_.shape == (1,)
    assert ours.score(X, y) == ref.score(X, y)


@pytest.mark.parametrize(
    "params",
    [
        {"class_weight": "balanced"},
        {"class_weight": {0: 3.0, 1: 0.5}},
        {"fit_intercept": False},
        {"C": 0.01},
        {"C": np.inf},
    ],
    ids=["balanced", "dict", "no-intercept", "strong-C", "no-penalty"],
)
@pytest.mark.parametrize("n_classes", [2, 3])
def test_options_match_sklearn(params, n_classes):
    df = _frame(n_classes, seed=1)
    X, y = df.drop("label").to_numpy(), df["label"].to_numpy()
    ours = sm.LogisticRegression(**TIGHT, **params).fit(X, y)
    ref = skl.LogisticRegression(**TIGHT, **params).fit(X, y)
    _assert_same_model(ours, ref)


def test_string_labels_and_label_column(tmp_path):
    df = _frame(3, labels=["cat", "dog", "emu"])
    path = tmp_path / "d.parquet"
    df.write_parquet(path)
    ours = sm.LogisticRegression(**TIGHT).fit(str(path), y="label")
    ref = skl.LogisticRegression(**TIGHT).fit(df.drop("label").to_numpy(), df["label"].to_numpy())
    _assert_same_model(ours, ref)
    pred = ours.predict(str(path)).collect()["prediction"]
    assert pred.dtype == pl.String
    assert_array_equal(pred.to_numpy(), ref.predict(df.drop("label").to_numpy()))
    expected = ref.score(df.drop("label").to_numpy(), df["label"].to_numpy())
    assert ours.score(str(path), "label") == pytest.approx(expected)


def test_penalty_none_warns_as_sklearn_and_equals_infinite_C():
    df = _frame(2)
    X, y = df.drop("label").to_numpy(), df["label"].to_numpy()
    with pytest.warns(FutureWarning, match="'penalty' was deprecated"):
        ours = sm.LogisticRegression(penalty=None, **TIGHT).fit(X, y)
    _assert_same_model(ours, sm.LogisticRegression(C=np.inf, **TIGHT).fit(X, y), rtol=1e-12)


@settings(max_examples=8, deadline=None)
@given(
    data=classification_data(max_rows=120),
    batch_rows=st.integers(5, 60),
    n_jobs=st.sampled_from([None, 2, 3]),
)
def test_any_chunking_or_parallelism_gives_the_same_coefficients(data, batch_rows, n_jobs):
    X, y = data
    whole = sm.LogisticRegression(tol=1e-10, max_iter=500).fit(X, y)
    with pytest.MonkeyPatch.context() as mp:
        # Force the streaming path (small data is otherwise read once and kept).
        mp.setattr(logistic_module, "CACHE_BYTES", 0)
        chunked = sm.LogisticRegression(
            tol=1e-10, max_iter=500, batch_rows=batch_rows, n_jobs=n_jobs
        )
        chunked.fit(pl.DataFrame(X).with_columns(y=pl.Series(y)).lazy(), y="y")
    assert_allclose(chunked.coef_, whole.coef_, rtol=1e-8, atol=1e-10)
    assert_allclose(chunked.intercept_, whole.intercept_, rtol=1e-8, atol=1e-10)


def test_streaming_path_with_threads_matches_sklearn(monkeypatch, tmp_path):
    monkeypatch.setattr(logistic_module, "CACHE_BYTES", 0)
    df = _frame(3, n=500)
    for i in range(4):
        df.slice(i * 125, 125).write_parquet(tmp_path / f"p{i}.parquet")
    ours = sm.LogisticRegression(**TIGHT, n_jobs=2, batch_rows=40).fit(
        str(tmp_path / "*.parquet"), y="label"
    )
    ref = skl.LogisticRegression(**TIGHT).fit(df.drop("label").to_numpy(), df["label"].to_numpy())
    _assert_same_model(ours, ref)


def test_warm_start_continues_from_the_previous_solution():
    df = _frame(3)
    X, y = df.drop("label").to_numpy(), df["label"].to_numpy()
    est = sm.LogisticRegression(warm_start=True, **TIGHT).fit(X, y)
    first = est.coef_.copy()
    est.fit(X, y)
    assert est.n_iter_[0] <= 2
    assert_allclose(est.coef_, first, rtol=1e-6)


def test_convergence_warning_when_max_iter_is_reached():
    df = _frame(3)
    with pytest.warns(ConvergenceWarning, match=r"max_iter=2"):
        est = sm.LogisticRegression(max_iter=2).fit(
            df.drop("label").to_numpy(), df["label"].to_numpy()
        )
    assert est.n_iter_[0] == 2


def test_verbose_shows_progress_and_logs_the_loss_of_every_pass(capsys, caplog):
    df = _frame(2)
    with caplog.at_level(logging.INFO, logger="scaleml"):
        est = sm.LogisticRegression(verbose=1).fit(df.lazy(), y="label")
    err = capsys.readouterr().err
    assert "LogisticRegression: pass 1/100" in err and "rows/s" in err and "loss=" in err
    losses = [r for r in caplog.records if "loss=" in r.getMessage()]
    assert len(losses) == est.n_passes_


def test_score_on_a_lazy_label_column_is_one_query_equal_to_accuracy():
    df = _frame(3)
    est = sm.LogisticRegression().fit(df.lazy(), y="label")
    expected = est.score(df.drop("label"), df["label"].to_numpy())
    assert est.score(df.lazy(), "label") == pytest.approx(expected)
    assert est.score(df.drop("label").lazy(), df["label"].to_numpy()) == pytest.approx(expected)


def test_null_feature_gives_null_prediction_lazily_and_an_error_eagerly():
    df = _frame(2)
    est = sm.LogisticRegression().fit(df.lazy(), y="label")
    holed = df.drop("label").with_columns(
        b=pl.when(pl.int_range(pl.len()) == 0).then(None).otherwise("b")
    )
    pred = est.predict(holed.lazy()).collect()["prediction"]
    assert pred[0] is None and pred.null_count() == 1
    with pytest.raises(ValueError, match=r"NaN, null or infinity in column\(s\) \['b'\]"):
        est.predict(holed)


# -- bad input --------------------------------------------------------------------------


def test_nan_in_a_feature_names_the_column():
    df = _frame(2).with_columns(
        b=pl.when(pl.int_range(pl.len()) == 5).then(float("nan")).otherwise("b")
    )
    with pytest.raises(ValueError, match=r"NaN or null in column\(s\) \['b'\]"):
        sm.LogisticRegression().fit(df.lazy(), y="label")


def test_one_class_is_refused_like_sklearn():
    df = _frame(2).with_columns(label=pl.lit(1))
    with pytest.raises(
        ValueError,
        match=r"at least 2 classes in the data, but the data contains only one class: np.int32",
    ):
        sm.LogisticRegression().fit(df.lazy(), y="label")


def test_null_label_is_refused_naming_the_column():
    df = _frame(2).with_columns(label=pl.when(pl.col("a") > 0).then(pl.col("label")))
    with pytest.raises(ValueError, match=r"label column y='label' contains missing values"):
        sm.LogisticRegression().fit(df.lazy(), y="label")


def test_continuous_target_is_refused():
    df = _frame(2)
    with pytest.raises(ValueError, match="Unknown label type: continuous"):
        sm.LogisticRegression().fit(df.drop("label"), df["a"].to_numpy())


@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"solver": "saga"}, "solver='lbfgs' only"),
        ({"l1_ratio": 0.5}, "supports only 'l2' or None penalties"),
        ({"dual": True}, "dual=False"),
    ],
)
def test_unsupported_options_fail_clearly(params, match):
    df = _frame(2)
    with pytest.raises(ValueError, match=match):
        sm.LogisticRegression(**params).fit(df.lazy(), y="label")


def test_missing_column_at_predict_is_named():
    df = _frame(2)
    est = sm.LogisticRegression().fit(df.lazy(), y="label")
    with pytest.raises(ValueError, match="- c"):
        est.predict(df.drop("c", "label").lazy())


def test_y_none_is_refused():
    with pytest.raises(ValueError, match="requires y to be passed"):
        sm.LogisticRegression().fit(_frame(2).drop("label"), None)


def test_unwritable_checkpoint_fails_before_reading_data(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        sm.LogisticRegression(checkpoint=tmp_path / "missing" / "fit.ckpt").fit(
            str(tmp_path / "no-such-file.parquet"), y="label"
        )


def test_no_warning_at_default_settings_on_scaled_data():
    df = _frame(3)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        sm.LogisticRegression().fit(df.lazy(), y="label")


def test_empty_lazy_input_is_refused(tmp_path):
    _frame(2).head(0).write_parquet(tmp_path / "empty.parquet")
    with pytest.raises(ValueError, match="0 sample"):
        sm.LogisticRegression().fit(str(tmp_path / "empty.parquet"), y="label")


@pytest.mark.parametrize("cls", [sm.LogisticRegression, sm.SGDClassifier])
@pytest.mark.parametrize(
    "labels",
    [
        np.array([0, 1, 0, 1, 1, 0], dtype=np.int8),
        np.array([0, 1, 0, 1, 2, 2], dtype=np.int16),
        np.array(["a", "b", "a", "b", "c", "c"]),
        np.array([True, False, True, False, False, True]),
    ],
    ids=["int8-binary", "int16-multiclass", "str", "bool"],
)
def test_lazy_prediction_keeps_the_labels_type(cls, labels):
    X = pl.DataFrame({"f": [0.0, 1.0, 0.1, 0.9, 2.0, 2.1]})
    clf = cls().fit(X, labels)
    lazy = clf.predict(X.lazy()).collect()["prediction"]
    eager = clf.predict(X)
    assert lazy.dtype == pl.Series(labels).dtype
    assert_array_equal(lazy.to_numpy(), eager)
