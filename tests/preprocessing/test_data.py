"""StandardScaler, MinMaxScaler, MaxAbsScaler against scikit-learn, on every input kind."""

from __future__ import annotations

import pickle

import numpy as np
import polars as pl
import polars.selectors as cs
import pytest
import sklearn.preprocessing as skp
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose
from sklearn.pipeline import make_pipeline

import scaleml as sm
from tests.conftest import to_numpy
from tests.strategies import float_matrices, splits

SCALERS = [
    (sm.StandardScaler, skp.StandardScaler, ["mean_", "var_", "scale_", "n_samples_seen_"]),
    (
        sm.MinMaxScaler,
        skp.MinMaxScaler,
        ["min_", "scale_", "data_min_", "data_max_", "data_range_", "n_samples_seen_"],
    ),
    (sm.MaxAbsScaler, skp.MaxAbsScaler, ["scale_", "max_abs_", "n_samples_seen_"]),
]
IDS = [s[0].__name__ for s in SCALERS]


def _frame(seed: int = 0, n: int = 200) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    X = rng.normal([5.0, -3.0, 1e4], [2.0, 0.5, 1.0], size=(n, 3))
    X[rng.random(X.shape) < 0.05] = np.nan
    return pl.DataFrame(X, schema=["a", "b", "c"])


@pytest.mark.parametrize(("ours", "theirs", "attrs"), SCALERS, ids=IDS)
def test_matches_sklearn_on_every_input_kind(constructor, ours, theirs, attrs):
    df = _frame()
    X = df.to_numpy()
    ref = theirs().fit(X)
    est = ours().fit(constructor(df))
    for attr in attrs:
        assert_allclose(getattr(est, attr), getattr(ref, attr), rtol=1e-10, err_msg=attr)
    out = est.transform(constructor(df))
    assert isinstance(out, pl.LazyFrame) == constructor.lazy
    assert_allclose(to_numpy(out), ref.transform(X), rtol=1e-10, atol=1e-12)
    back = est.inverse_transform(constructor(df))
    assert_allclose(to_numpy(back), ref.inverse_transform(X), rtol=1e-10)


@pytest.mark.parametrize(
    "params", [{"with_mean": False}, {"with_std": False}, {"with_mean": False, "with_std": False}]
)
def test_standard_scaler_options(params):
    X = _frame().to_numpy()
    ref = skp.StandardScaler(**params).fit(X)
    est = sm.StandardScaler(**params).fit(X)
    for attr in ("mean_", "var_", "scale_"):
        if getattr(ref, attr) is None:
            assert getattr(est, attr) is None
        else:
            assert_allclose(getattr(est, attr), getattr(ref, attr), rtol=1e-10)
    assert_allclose(est.transform(X), ref.transform(X), rtol=1e-10)


def test_minmax_clip_and_range():
    X = _frame().to_numpy()
    est = sm.MinMaxScaler(feature_range=(-1, 2), clip=True).fit(X[:100])
    ref = skp.MinMaxScaler(feature_range=(-1, 2), clip=True).fit(X[:100])
    assert_allclose(est.transform(X), ref.transform(X), rtol=1e-12)


def test_constant_column_scale_is_one():
    X = np.column_stack([np.full(50, 3.0), np.arange(50.0)])
    for ours, theirs, _ in SCALERS:
        assert_allclose(ours().fit(X).scale_, theirs().fit(X).scale_)


def test_label_column_is_passed_through_and_never_a_feature():
    lf = pl.LazyFrame({"a": [0.0, 2.0, 4.0], "s": ["x", "y", "z"], "label": [0, 1, 1]})
    est = sm.StandardScaler(columns=cs.numeric()).fit(lf, y="label")
    assert est.feature_names_in_.tolist() == ["a", "s"]
    assert est.n_features_in_ == 2
    out = est.transform(lf).collect()
    assert out.columns == ["a", "s", "label"]
    assert out["label"].to_list() == [0, 1, 1]
    assert out["s"].to_list() == ["x", "y", "z"]
    assert_allclose(out["a"].to_numpy(), [-1.224744871391589, 0.0, 1.224744871391589])
    assert est.get_feature_names_out().tolist() == ["a", "s"]
    # At predict time the label is often absent: that is fine.
    assert est.transform(lf.drop("label")).collect().columns == ["a", "s"]


def test_columns_list_keeps_other_columns_untouched():
    df = _frame()
    est = sm.MinMaxScaler(columns=["b"]).fit(df)
    out = est.set_output(transform="polars").transform(df)
    assert out.columns == ["a", "b", "c"]
    assert_allclose(out["a"].to_numpy(), df["a"].to_numpy())
    assert np.nanmin(out["b"].to_numpy()) == 0.0


@pytest.mark.parametrize("output", ["pandas", "polars"])
def test_set_output(output):
    pd = pytest.importorskip("pandas")
    df = _frame().to_pandas()
    df.index = np.arange(100, 100 + len(df))
    out = sm.StandardScaler().set_output(transform=output).fit_transform(df)
    ref = skp.StandardScaler().set_output(transform=output).fit_transform(df)
    if output == "pandas":
        assert isinstance(out, pd.DataFrame)
        assert out.index.equals(ref.index)
    else:
        assert isinstance(out, pl.DataFrame)
    assert list(out.columns) == list(ref.columns)
    assert_allclose(np.asarray(out, dtype=float), np.asarray(ref, dtype=float), rtol=1e-10)


@settings(max_examples=25, deadline=None)
@given(data=st.data(), X=float_matrices(min_rows=3))
@pytest.mark.parametrize("ours", [s[0] for s in SCALERS], ids=IDS)
def test_any_chunking_gives_the_same_fit(ours, data, X):
    cuts = data.draw(splits(len(X)))
    whole = ours().fit(X)
    parts = ours()
    for chunk in np.split(X, cuts):
        parts.partial_fit(chunk)
    for attr in ("scale_", "n_samples_seen_"):
        assert_allclose(getattr(parts, attr), getattr(whole, attr), rtol=1e-9, atol=1e-12)
    assert_allclose(parts.transform(X), whole.transform(X), rtol=1e-8, atol=1e-9)


@settings(max_examples=10, deadline=None)
@given(data=st.data(), X=float_matrices(min_rows=3))
def test_any_file_split_gives_the_same_fit(tmp_path_factory, data, X):
    cuts = data.draw(splits(len(X)))
    root = tmp_path_factory.mktemp("split")
    for i, chunk in enumerate(np.split(X, cuts)):
        pl.DataFrame(chunk, schema=[f"x{j}" for j in range(X.shape[1])]).write_parquet(
            root / f"part-{i:03d}.parquet"
        )
    ref = skp.StandardScaler().fit(X)
    est = sm.StandardScaler().fit(str(root / "*.parquet"))
    assert_allclose(est.mean_, ref.mean_, rtol=1e-9, atol=1e-9)
    assert_allclose(est.scale_, ref.scale_, rtol=1e-9, atol=1e-9)


def test_driver_n_jobs_partitions_give_the_same_state():
    from scaleml._fit import fold

    df = _frame(n=1000)
    est = sm.StandardScaler().fit(df)
    state = fold(est, df.lazy(), n_jobs=3)
    assert_allclose(state.mean, est._state.mean, rtol=1e-12)
    assert_allclose(state.var, est._state.var, rtol=1e-10)


def test_pickle_mid_fit_then_continue():
    X = _frame().to_numpy()
    est = sm.StandardScaler().partial_fit(X[:50])
    resumed = pickle.loads(pickle.dumps(est)).partial_fit(X[50:])
    assert_allclose(resumed.mean_, sm.StandardScaler().fit(X).mean_, rtol=1e-12)


# -- bad input ----------------------------------------------------------------------------
def test_inf_is_refused_naming_the_column():
    lf = pl.LazyFrame({"ok": [1.0, 2.0], "bad": [1.0, float("inf")]})
    with pytest.raises(ValueError, match=r"infinity in column\(s\) \['bad'\]"):
        sm.StandardScaler().fit(lf)


def test_non_numeric_column_is_refused_naming_it():
    lf = pl.LazyFrame({"a": [1.0, 2.0], "carrier": ["AA", "UA"]})
    with pytest.raises(TypeError, match=r"'carrier' \(String\).*columns=polars.selectors.numeric"):
        sm.StandardScaler().fit(lf)


def test_missing_and_extra_columns_at_transform_are_named():
    lf = pl.LazyFrame({"a": [1.0, 2.0], "b": [3.0, 4.0]})
    est = sm.StandardScaler().fit(lf)
    with pytest.raises(ValueError, match=r"seen at fit time, yet now missing:\n- b"):
        est.transform(pl.LazyFrame({"a": [1.0]}))
    with pytest.raises(ValueError, match=r"unseen at fit time:\n- c"):
        est.transform(pl.LazyFrame({"a": [1.0], "b": [1.0], "c": [1.0]}))


def test_unknown_column_in_columns_param_gets_a_hint():
    lf = pl.LazyFrame({"distance": [1.0, 2.0]})
    with pytest.raises(ValueError, match=r"\['distanse'\].*Did you mean.*'distance'"):
        sm.StandardScaler(columns=["distanse"]).fit(lf)


def test_empty_lazy_input_is_refused(tmp_path):
    path = tmp_path / "empty.parquet"
    pl.DataFrame({"a": pl.Series([], dtype=pl.Float64)}).write_parquet(path)
    with pytest.raises(ValueError, match="0 sample"):
        sm.StandardScaler().fit(str(path))


def test_invalid_feature_range():
    with pytest.raises(ValueError, match="feature range must be smaller"):
        sm.MinMaxScaler(feature_range=(1, 0)).fit(np.ones((3, 1)))


# -- sklearn's Pipeline ---------------------------------------------------------------------
def test_pipeline_on_lazyframe_returns_lazyframe_and_matches_sklearn():
    df = _frame().with_columns(label=pl.Series(np.arange(200) % 2))
    pipe = make_pipeline(sm.StandardScaler(), sm.MinMaxScaler(feature_range=(-1, 1)))
    out = pipe.fit(df.lazy(), y="label").transform(df.lazy())
    assert isinstance(out, pl.LazyFrame)
    assert out.collect_schema().names() == ["a", "b", "c", "label"]
    X = df.drop("label").to_numpy()
    ref = make_pipeline(skp.StandardScaler(), skp.MinMaxScaler(feature_range=(-1, 1))).fit(X)
    assert_allclose(to_numpy(out.drop("label")), ref.transform(X), rtol=1e-10, atol=1e-12)
    ours_np = make_pipeline(sm.StandardScaler(), sm.MinMaxScaler(feature_range=(-1, 1))).fit(X)
    assert_allclose(ours_np.transform(X), ref.transform(X), rtol=1e-10, atol=1e-12)


def test_n_jobs_on_a_duckdb_relation_reads_it_with_one_query():
    # DuckDB refuses concurrent queries on one connection ("connection is busy").
    import duckdb

    from scaleml._fit import fold

    rel = duckdb.connect().sql("select range::DOUBLE as a from range(10000)")
    lf = sm.scan(rel)
    est = sm.StandardScaler().fit(lf)
    assert_allclose(fold(est, lf, n_jobs=2).mean, [4999.5])
