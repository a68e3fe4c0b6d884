"""GaussianNB, MultinomialNB, BernoulliNB against scikit-learn, on every input kind."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
import sklearn.naive_bayes as skn
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose, assert_array_equal

import scaleml as sm
from tests.conftest import to_numpy
from tests.strategies import labelled_counts, splits

DISCRETE_ATTRS = ["class_count_", "feature_count_", "feature_log_prob_", "class_log_prior_"]
MODELS = [
    (sm.GaussianNB, skn.GaussianNB, ["class_count_", "class_prior_", "theta_", "var_", "epsilon_"]),
    (sm.MultinomialNB, skn.MultinomialNB, DISCRETE_ATTRS),
    (sm.BernoulliNB, skn.BernoulliNB, DISCRETE_ATTRS),
]
IDS = [m[0].__name__ for m in MODELS]


def _frame(n: int = 90, seed: int = 0) -> tuple[pl.DataFrame, np.ndarray]:
    """Non-negative count-like features whose distribution depends on a string class."""
    rng = np.random.default_rng(seed)
    y = rng.choice(np.array(["ham", "spam", "eggs"]), size=n)
    rate = np.where(y[:, None] == "spam", [4.0, 1.0, 0.5], [1.0, 3.0, 0.5])
    rate = np.where(y[:, None] == "eggs", [0.5, 0.5, 5.0], rate)
    X = rng.poisson(rate).astype(np.float64) + rng.random((n, 3)) * (y[:, None] == "ham")
    return pl.DataFrame(X, schema=["a", "b", "c"]), y


def _assert_same(ours, ref, attrs, rtol=1e-10):
    assert_array_equal(ours.classes_, ref.classes_)
    for attr in attrs:
        assert_allclose(getattr(ours, attr), getattr(ref, attr), rtol=rtol, err_msg=attr)


@pytest.mark.parametrize(("ours_cls", "ref_cls", "attrs"), MODELS, ids=IDS)
def test_matches_sklearn_on_every_input_kind(constructor, ours_cls, ref_cls, attrs):
    df, y = _frame()
    X = df.to_numpy()
    if constructor.kind == "numpy":
        data, target = constructor(df), y
    else:
        data, target = constructor(df.with_columns(label=pl.Series(y))), "label"
    ours = ours_cls().fit(data, target)
    ref = ref_cls().fit(X, y)
    _assert_same(ours, ref, attrs)
    features = constructor(df)
    pred = ours.predict(features)
    proba = ours.predict_proba(features)
    if constructor.lazy:
        assert pred.collect_schema().names() == ["prediction"]
        assert proba.collect_schema().names() == ["proba_eggs", "proba_ham", "proba_spam"]
        names = ours.predict_log_proba(features).collect_schema().names()
        assert names == ["log_proba_eggs", "log_proba_ham", "log_proba_spam"]
        pred = pred.collect().to_series().to_numpy()
    else:
        assert isinstance(proba, np.ndarray) and proba.shape == (90, 3)
    assert_array_equal(pred, ref.predict(X))
    assert_allclose(to_numpy(proba), ref.predict_proba(X), rtol=1e-9, atol=1e-15)
    log_proba = to_numpy(ours.predict_log_proba(features))
    assert_allclose(log_proba, ref.predict_log_proba(X), rtol=1e-9, atol=1e-12)
    joint = to_numpy(ours.predict_joint_log_proba(features))
    assert_allclose(joint, ref.predict_joint_log_proba(X), rtol=1e-9)
    assert ours.score(data, target) == pytest.approx(ref.score(X, y), abs=1e-12)


@pytest.mark.parametrize(
    ("ours_cls", "ref_cls", "attrs", "params"),
    [
        (*MODELS[0], {"priors": [0.2, 0.5, 0.3], "var_smoothing": 1e-3}),
        (*MODELS[1], {"alpha": 0.3, "fit_prior": False}),
        (*MODELS[1], {"alpha": [0.1, 1.0, 2.0], "class_prior": [0.2, 0.5, 0.3]}),
        (*MODELS[1], {"alpha": 0.0}),
        (*MODELS[2], {"binarize": 1.5, "alpha": 2.0}),
        (*MODELS[2], {"binarize": None}),
    ],
)
def test_parameters(ours_cls, ref_cls, attrs, params):
    df, y = _frame()
    X = df.to_numpy()
    if params.get("binarize", 0.0) is None:
        X = (X > 1).astype(np.float64)
        df = pl.DataFrame(X, schema=df.columns)
    ours = ours_cls(**params).fit(df.lazy().with_columns(label=pl.Series(y)), "label")
    ref = ref_cls(**params).fit(X, y)
    _assert_same(ours, ref, attrs)
    with np.errstate(divide="ignore"):
        expected = ref.predict_joint_log_proba(X)
    assert_allclose(to_numpy(ours.predict_joint_log_proba(df.lazy())), expected, rtol=1e-9)


def test_small_alpha_warns_as_sklearn():
    df, y = _frame()
    with pytest.warns(UserWarning, match="alpha too small will result in numeric errors"):
        ours = sm.MultinomialNB(alpha=0.0, force_alpha=False).fit(df, y)
    with pytest.warns(UserWarning, match="alpha too small"):
        ref = skn.MultinomialNB(alpha=0.0, force_alpha=False).fit(df.to_numpy(), y)
    _assert_same(ours, ref, DISCRETE_ATTRS)


@pytest.mark.parametrize(("ours_cls", "ref_cls", "attrs"), MODELS, ids=IDS)
def test_partial_fit_with_sklearn_semantics(ours_cls, ref_cls, attrs):
    df, y = _frame()
    X = df.to_numpy()
    ours, ref = ours_cls(), ref_cls()
    classes = np.array(["eggs", "ham", "spam"])
    for part in np.array_split(np.arange(90), 3):
        ours.partial_fit(X[part], y[part], classes=classes if part[0] == 0 else None)
        ref.partial_fit(X[part], y[part], classes=classes if part[0] == 0 else None)
    if ours_cls is sm.GaussianNB:
        # sklearn's partial_fit takes epsilon_ from the last chunk only; ours from all
        # rows, as its fit does.
        whole = ref_cls().fit(X, y)
        assert_allclose(ours.epsilon_, whole.epsilon_, rtol=1e-10)
        assert_allclose(ours.var_, whole.var_, rtol=1e-10)
        attrs = ["class_count_", "class_prior_", "theta_"]
    _assert_same(ours, ref, attrs)
    with pytest.raises(ValueError, match=r"`classes=.*` is not the same as on last call"):
        ours.partial_fit(X, y, classes=["eggs", "ham"])
    with pytest.raises(ValueError, match=r"The target label\(s\) \['bacon'\] in y do not exist"):
        ours.partial_fit(X[:2], np.array(["bacon", "ham"]))
    with pytest.raises(ValueError, match="classes must be passed on the first call"):
        ours_cls().partial_fit(X, y)


def test_partial_fit_declared_class_never_seen():
    df, y = _frame()
    X = df.to_numpy()
    classes = ["eggs", "ham", "spam", "toast"]
    ours = sm.MultinomialNB().partial_fit(
        df.lazy().with_columns(label=pl.Series(y)), "label", classes
    )
    ref = skn.MultinomialNB().partial_fit(X, y, classes=classes)
    _assert_same(ours, ref, DISCRETE_ATTRS)
    assert ours.class_log_prior_[3] == -np.inf


@settings(max_examples=90, deadline=None)
@given(data=st.data(), kind=st.sampled_from(IDS))
def test_any_chunking_gives_the_same_result(data, kind):
    ours_cls, _, attrs = MODELS[IDS.index(kind)]
    X, y = data.draw(labelled_counts())
    batch_rows = data.draw(st.integers(1, X.shape[0]))
    cuts = data.draw(splits(X.shape[0]))
    whole = ours_cls().fit(X, y)
    frame = pl.DataFrame(X).with_columns(label=pl.Series(y))
    chunked = ours_cls(batch_rows=batch_rows).fit(frame.lazy(), "label")
    inc = ours_cls()
    for part in np.split(np.arange(X.shape[0]), cuts):
        inc.partial_fit(X[part], y[part], classes=np.unique(y))
    for est in (chunked, inc):
        assert_array_equal(est.classes_, whole.classes_)
        for attr in attrs:
            got, want = getattr(est, attr), np.asarray(getattr(whole, attr))
            scale = np.abs(want[np.isfinite(want)]).max(initial=1.0)
            assert_allclose(got, want, rtol=1e-10, atol=1e-12 * scale, err_msg=attr)


def test_n_jobs_gives_the_same_result():
    df, y = _frame(n=300)
    frame = df.with_columns(label=pl.Series(y)).lazy()
    for ours_cls, _, attrs in MODELS:
        whole = ours_cls().fit(df, y)
        parallel = ours_cls(n_jobs=2, batch_rows=16).fit(frame, "label")
        _assert_same(parallel, whole, attrs)


def test_integer_labels_keep_their_dtype_in_lazy_predictions():
    df, _ = _frame()
    label = pl.Series("label", np.arange(90) % 2, dtype=pl.Int8)
    est = sm.GaussianNB().fit(df.with_columns(label).lazy(), "label")
    assert est.classes_.dtype == np.int8
    pred = est.predict(df.lazy()).collect()
    assert pred.schema["prediction"] == pl.Int8
    assert_array_equal(pred["prediction"].to_numpy(), est.predict(df))


def test_bad_input_messages():
    df, y = _frame(n=20)
    frame = df.with_columns(label=pl.Series(y))
    negative = "Negative values in data passed to MultinomialNB \\(input X\\)"
    with pytest.raises(ValueError, match=negative):
        sm.MultinomialNB().fit(-df.to_numpy(), y)
    with pytest.raises(
        ValueError, match=negative + r"\. Column\(s\) with negative values: \['b'\]"
    ):
        sm.MultinomialNB().fit(frame.with_columns(b=-pl.col("b")).lazy(), "label")
    with pytest.raises(ValueError, match=r"NaN or null in column\(s\) \['a'\]"):
        sm.GaussianNB().fit(frame.with_columns(a=pl.lit(None, dtype=pl.Float64)).lazy(), "label")
    with pytest.raises(ValueError, match=r"label column 'label' contains missing values"):
        sm.GaussianNB().fit(frame.with_columns(label=pl.lit(None, dtype=pl.String)).lazy(), "label")
    with pytest.raises(ValueError, match="Unknown label type: continuous"):
        sm.BernoulliNB().fit(df, np.linspace(0, 1, 20))
    with pytest.raises(ValueError, match="Unknown label type: continuous"):
        sm.BernoulliNB().fit(frame.with_columns(label=pl.col("a") + 0.5).lazy(), "label")
    with pytest.raises(ValueError, match="requires y to be passed"):
        sm.GaussianNB().fit(df, None)
    with pytest.raises(ValueError, match="y='lbl' is not a column of X"):
        sm.GaussianNB().fit(frame.lazy(), "lbl")
    with pytest.raises(ValueError, match="Number of priors must match number of classes"):
        sm.GaussianNB(priors=[0.5, 0.5]).fit(df, y)
    with pytest.raises(ValueError, match="The sum of the priors should be 1"):
        sm.GaussianNB(priors=[0.5, 0.5, 0.5]).fit(df, y)
    with pytest.raises(ValueError, match="When alpha is an array, it should contains `n_features`"):
        sm.MultinomialNB(alpha=[1.0, 1.0]).fit(df, y)
    est = sm.GaussianNB().fit(frame.lazy(), "label")
    with pytest.raises(ValueError, match=r"seen at fit time, yet now missing:\n- c"):
        est.predict(df.drop("c").lazy())
    with pytest.raises(TypeError, match=r"non-numeric column\(s\) 'c' \(String\)"):
        est.predict(df.with_columns(c=pl.lit("x")).lazy())


@pytest.mark.parametrize("model", [m[0] for m in MODELS], ids=IDS)
def test_lazy_missing_values_give_null_not_a_guess(model):
    df, y = _frame(n=6)
    frame = df.with_columns(label=pl.Series(y))
    est = model().fit(frame.lazy(), "label")
    holes = frame.with_columns(a=pl.Series([None, 1.0, float("nan"), 2.0, 0.0, 3.0]))
    pred = est.predict(holes.lazy()).collect()["prediction"]
    assert pred.is_null().to_list() == [True, False, True, False, False, False]
    assert_array_equal(
        pred.to_numpy()[[1, 3, 4, 5]], est.predict(holes.drop("label")[[1, 3, 4, 5]])
    )
    proba = est.predict_proba(holes.lazy()).collect()
    assert proba.null_count().row(0) == (2, 2, 2)
