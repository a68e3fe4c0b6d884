"""LinearRegression: exact one-pass OLS against scikit-learn on every input kind."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
import sklearn.linear_model as skl
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose

import scaleml as sm
from tests.conftest import to_numpy
from tests.strategies import regression_problems, splits

COEF = np.array([1.5, -2.0, 0.5])


def _frame(n: int = 60, seed: int = 0, n_targets: int = 1) -> tuple[pl.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3)) * [1.0, 2.0, 0.5] + [0.0, 5.0, -3.0]
    W = np.column_stack([COEF * (j + 1) for j in range(n_targets)])
    Y = X @ W + 0.7 + rng.normal(scale=0.3, size=(n, n_targets))
    return pl.DataFrame(X, schema=["a", "b", "c"]), (Y[:, 0] if n_targets == 1 else Y)


def _sk(X: np.ndarray, y: np.ndarray, **params: object) -> skl.LinearRegression:
    return skl.LinearRegression(**params).fit(X, y)


@pytest.mark.parametrize("y_as", ["array", "column"])
def test_matches_sklearn_on_every_input_kind(constructor, y_as):
    df, y = _frame()
    if y_as == "column" and constructor.kind != "numpy":
        X, target = constructor(df.with_columns(label=pl.Series(y))), "label"
    else:
        X, target = constructor(df), y
    ours = sm.LinearRegression().fit(X, target)
    ref = _sk(df.to_numpy(), y)
    assert_allclose(ours.coef_, ref.coef_, rtol=1e-10)
    assert_allclose(ours.intercept_, ref.intercept_, rtol=1e-10)
    assert ours.rank_ == ref.rank_ == 3
    assert_allclose(ours.singular_, ref.singular_, rtol=1e-8)
    assert ours.n_features_in_ == 3
    pred = ours.predict(constructor(df))
    if constructor.lazy:
        assert isinstance(pred, pl.LazyFrame)
        assert pred.collect_schema().names() == ["prediction"]
    else:
        assert isinstance(pred, np.ndarray) and pred.shape == (60,)
    assert_allclose(to_numpy(pred).ravel(), ref.predict(df.to_numpy()), rtol=1e-10)
    assert_allclose(ours.score(X, target), ref.score(df.to_numpy(), y), rtol=1e-10)


def test_feature_names_in_and_label_column_is_not_a_feature():
    df, y = _frame()
    ours = sm.LinearRegression().fit(df.with_columns(label=pl.Series(y)).lazy(), y="label")
    assert list(ours.feature_names_in_) == ["a", "b", "c"]
    # The label rides along at predict time without being read as a feature.
    pred = ours.predict(df.with_columns(label=pl.Series(y)).lazy())
    assert_allclose(to_numpy(pred).ravel(), ours.predict(df), rtol=1e-12)


@pytest.mark.parametrize("n_targets", [1, 2])
def test_multi_target(constructor, n_targets):
    df, y = _frame(n_targets=n_targets)
    Y = y.reshape(len(y), -1)  # (n, 1) for one target: sklearn keeps coef_ 2-D
    ours = sm.LinearRegression().fit(constructor(df), Y)
    ref = _sk(df.to_numpy(), Y)
    assert ours.coef_.shape == ref.coef_.shape == (n_targets, 3)
    assert_allclose(ours.coef_, ref.coef_, rtol=1e-10)
    assert_allclose(ours.intercept_, ref.intercept_, rtol=1e-10)
    pred = ours.predict(constructor(df))
    if constructor.lazy:
        names = [f"prediction_{j}" for j in range(n_targets)]
        assert pred.collect_schema().names() == names
    assert_allclose(to_numpy(pred), ref.predict(df.to_numpy()), rtol=1e-10)
    assert_allclose(ours.score(constructor(df), Y), ref.score(df.to_numpy(), Y), rtol=1e-10)


def test_without_intercept_and_with_sample_weight(constructor):
    df, y = _frame()
    sw = np.random.default_rng(1).uniform(0, 3, size=len(y))
    sw[:5] = 0.0
    for params in [{"fit_intercept": False}, {}]:
        ours = sm.LinearRegression(**params).fit(constructor(df), y, sample_weight=sw)
        ref = skl.LinearRegression(**params).fit(df.to_numpy(), y, sample_weight=sw)
        assert_allclose(ours.coef_, ref.coef_, rtol=1e-10)
        assert_allclose(ours.intercept_, ref.intercept_, rtol=1e-10, atol=1e-12)
        assert_allclose(ours.singular_, ref.singular_, rtol=1e-8)


def test_zero_weight_equals_dropping_rows():
    df, y = _frame()
    sw = np.ones(len(y))
    sw[::3] = 0
    weighted = sm.LinearRegression().fit(df, y, sample_weight=sw)
    dropped = sm.LinearRegression().fit(df.filter(pl.Series(sw > 0)), y[sw > 0])
    assert_allclose(weighted.coef_, dropped.coef_, rtol=1e-10)


def test_negative_sample_weight_raises():
    df, y = _frame()
    with pytest.raises(ValueError, match="Negative values in data passed to `sample_weight`"):
        sm.LinearRegression().fit(df, y, sample_weight=-np.ones(len(y)))


def test_positive_matches_sklearn(constructor):
    df, y = _frame(n_targets=2)
    y = y * [1.0, -1.0]  # the second target wants negative weights: clipped at 0
    ours = sm.LinearRegression(positive=True).fit(constructor(df), y)
    ref = _sk(df.to_numpy(), y, positive=True)
    assert (ours.coef_ >= 0).all()
    assert_allclose(ours.coef_, ref.coef_, rtol=1e-8, atol=1e-10)
    assert_allclose(ours.intercept_, ref.intercept_, rtol=1e-8)
    assert not hasattr(ours, "rank_")


def test_rank_deficient_gives_minimum_norm_solution_like_lstsq():
    df, y = _frame()
    # A duplicated column, a constant column: rank 3 of 5.
    X = np.column_stack([df.to_numpy(), df["a"].to_numpy(), np.full(len(y), 4.0)])
    ours = sm.LinearRegression().fit(X, y)
    ref = _sk(X, y)
    assert ours.rank_ == ref.rank_ == 3
    assert_allclose(ours.coef_, ref.coef_, rtol=1e-9, atol=1e-12)
    assert_allclose(ours.intercept_, ref.intercept_, rtol=1e-9)
    assert_allclose(ours.singular_[:3], ref.singular_[:3], rtol=1e-8)


def test_more_features_than_rows_matches_lstsq():
    rng = np.random.default_rng(3)
    X, y = rng.normal(size=(4, 6)), rng.normal(size=4)
    ours = sm.LinearRegression().fit(X, y)
    ref = _sk(X, y)
    assert ours.rank_ == ref.rank_ == 3
    assert ours.singular_.shape == ref.singular_.shape == (4,)
    assert_allclose(ours.coef_, ref.coef_, rtol=1e-8, atol=1e-12)
    assert_allclose(ours.predict(X), ref.predict(X), rtol=1e-8)


def test_large_offset_stays_accurate():
    rng = np.random.default_rng(5)
    X = rng.normal(loc=1e6, scale=1.0, size=(2000, 3))
    y = X @ COEF + rng.normal(scale=0.1, size=2000)
    ours = sm.LinearRegression(batch_rows=97, n_jobs=2).fit(pl.DataFrame(X).lazy(), y)
    ref = _sk(X, y)
    assert_allclose(ours.coef_, ref.coef_, rtol=1e-6)
    # The truth up to noise, computed without the offset.
    centred = _sk(X - 1e6, y)
    assert_allclose(ours.coef_, centred.coef_, rtol=1e-6)


def test_partial_fit_equals_fit():
    df, y = _frame()
    whole = sm.LinearRegression().fit(df, y)
    parts = sm.LinearRegression()
    for start in range(0, 60, 25):
        parts.partial_fit(df.slice(start, 25), y[start : start + 25])
    assert_allclose(parts.coef_, whole.coef_, rtol=1e-12)
    assert_allclose(parts.intercept_, whole.intercept_, rtol=1e-12)


@settings(max_examples=25, deadline=None)
@given(data=st.data(), problem=regression_problems())
def test_any_chunking_gives_the_same_coefficients(data, problem):
    X, y = problem
    n = len(X)
    batch_rows = data.draw(st.integers(1, n), label="batch_rows")
    n_jobs = data.draw(st.sampled_from([None, 2, 3]), label="n_jobs")
    cuts = data.draw(splits(n), label="cuts")
    ref = sm.LinearRegression().fit(X, y)
    lf = pl.DataFrame(X).lazy()
    chunked = sm.LinearRegression(batch_rows=batch_rows, n_jobs=n_jobs).fit(lf, y)
    partial = sm.LinearRegression()
    for a, b in zip([0, *cuts], [*cuts, n], strict=True):
        partial.partial_fit(X[a:b], y[a:b])
    scale = np.abs(ref.coef_).max() + 1.0
    for other in (chunked, partial):
        assert_allclose(other.coef_, ref.coef_, rtol=1e-10, atol=1e-10 * scale)
        assert_allclose(other.intercept_, ref.intercept_, rtol=1e-9, atol=1e-7 * scale)


# -- bad input ----------------------------------------------------------------------------
def test_nan_in_a_feature_column_is_named(constructor):
    df, y = _frame()
    bad = df.with_columns(
        pl.when(pl.int_range(pl.len()) == 7).then(np.nan).otherwise("b").alias("b")
    )
    match = "Input contains NaN" if constructor.kind == "numpy" else r"NaN.*\['b'\]"
    with pytest.raises(ValueError, match=match):
        sm.LinearRegression().fit(constructor(bad), y)


def test_null_in_a_lazy_feature_column_is_named():
    df, y = _frame()
    bad = df.with_columns(pl.when(pl.int_range(pl.len()) == 7).then(None).otherwise("c").alias("c"))
    with pytest.raises(ValueError, match=r"null.*\['c'\]"):
        sm.LinearRegression().fit(bad.lazy(), y)


def test_nan_at_predict_raises_for_in_memory_frames_and_is_null_for_lazy():
    df, y = _frame()
    reg = sm.LinearRegression().fit(df, y)
    bad = df.with_columns(pl.lit(None, dtype=pl.Float64).alias("a"))
    with pytest.raises(ValueError, match=r"NaN, null or infinity in column\(s\) \['a'\]"):
        reg.predict(bad)
    assert reg.predict(bad.lazy()).collect()["prediction"].null_count() == len(y)


def test_string_column_is_named():
    df, y = _frame()
    with pytest.raises(TypeError, match=r"non-numeric column\(s\) 'name'"):
        sm.LinearRegression().fit(df.with_columns(name=pl.lit("x")).lazy(), y)


def test_missing_column_at_predict(constructor):
    df, y = _frame()
    if constructor.kind == "numpy":
        reg = sm.LinearRegression().fit(df.to_numpy(), y)
        with pytest.raises(ValueError, match="expecting 3 features"):
            reg.predict(df.drop("b").to_numpy())
        return
    reg = sm.LinearRegression().fit(constructor(df), y)
    with pytest.raises(ValueError, match=r"seen at fit time, yet now missing:\n- b"):
        reg.predict(constructor(df.drop("b")))


def test_zero_rows(constructor):
    df, y = _frame()
    empty = df.head(0)
    with pytest.raises(ValueError, match="0 sample"):
        sm.LinearRegression().fit(constructor(empty), y[:0])


def test_label_column_absent_or_none():
    df, y = _frame()
    with pytest.raises(ValueError, match=r"y='label' is not a column of X"):
        sm.LinearRegression().fit(df.lazy(), y="label")
    with pytest.raises(ValueError, match="requires y to be passed"):
        sm.LinearRegression().fit(df.lazy(), None)
    reg = sm.LinearRegression().fit(df.with_columns(label=pl.Series(y)).lazy(), "label")
    with pytest.raises(ValueError, match=r"y='other' is not a column of X"):
        reg.score(df.lazy(), "other")


def test_nan_or_inf_in_a_lazy_label_column_is_named():
    df, y = _frame()
    y = y.copy()
    y[3] = np.inf
    with pytest.raises(ValueError, match=r"infinity in column\(s\) \['label'\]"):
        sm.LinearRegression().fit(df.with_columns(label=pl.Series(y)).lazy(), "label")


def test_nan_in_array_label_raises_like_sklearn():
    df, y = _frame()
    y = y.copy()
    y[3] = np.nan
    with pytest.raises(ValueError, match="Input y contains NaN"):
        sm.LinearRegression().fit(df.lazy(), y)


def test_streaming_score_refuses_missing_labels():
    df, y = _frame()
    lf = df.with_columns(label=pl.Series(y)).lazy()
    reg = sm.LinearRegression().fit(lf, "label")
    with_null = lf.with_columns(
        pl.when(pl.col("a") > 0).then(None).otherwise("label").alias("label")
    )
    with pytest.raises(ValueError, match=r"missing .* label 'label'"):
        reg.score(with_null, "label")


def test_nan_in_a_zero_weight_row_still_raises():
    df, y = _frame()
    X = df.to_numpy()
    X[:20, 1] = np.nan
    sw = np.ones(len(y))
    sw[:20] = 0.0
    with pytest.raises(ValueError, match=r"NaN, null or infinity in column\(s\) \['column_1'\]"):
        sm.LinearRegression(batch_rows=20).fit(pl.DataFrame(X).lazy(), y, sample_weight=sw)
