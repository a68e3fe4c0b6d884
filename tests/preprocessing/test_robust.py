"""RobustScaler against scikit-learn on every input kind; exact and sketch modes."""

from __future__ import annotations

import pickle

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from numpy.testing import assert_allclose
from sklearn import preprocessing as skp

from scaleml import RobustScaler
from scaleml.preprocessing._sketch import k_for_subsample, rank_error_bound
from tests.conftest import to_numpy
from tests.strategies import quantile_columns, splits


def _frame(X: np.ndarray) -> pl.DataFrame:
    return pl.DataFrame(X, schema=[f"x{i}" for i in range(X.shape[1])])


def _data(n: int = 201, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    X = np.column_stack(
        [rng.normal(size=n), np.round(rng.exponential(size=n), 1), rng.integers(0, 4, n)]
    )
    X[::9, 0] = np.nan
    return X.astype(np.float64)


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"with_centering": False},
        {"with_scaling": False},
        {"quantile_range": (10.0, 95.0), "unit_variance": True},
    ],
)
def test_matches_sklearn_on_every_input_kind(constructor, params):
    X = _data()
    ours = RobustScaler(**params).fit(constructor(_frame(X)))
    ref = skp.RobustScaler(**params).fit(X)
    for attr in ("center_", "scale_"):
        a, b = getattr(ours, attr), getattr(ref, attr)
        assert (a is None) == (b is None)
        if a is not None:
            assert_allclose(a, b, rtol=1e-10)
    out = ours.transform(constructor(_frame(X)))
    assert isinstance(out, pl.LazyFrame) == constructor.lazy
    assert_allclose(to_numpy(out), ref.transform(X), rtol=1e-10, equal_nan=True)
    back = ours.inverse_transform(constructor(_frame(ref.transform(X))))
    assert_allclose(to_numpy(back), X, rtol=1e-10, atol=1e-12, equal_nan=True)


@settings(max_examples=30, deadline=None)
@given(X=quantile_columns())
def test_exact_mode_equals_sklearn(X):
    ours = RobustScaler(subsample=None).fit(X)
    ref = skp.RobustScaler().fit(X)
    assert_allclose(ours.center_, ref.center_, rtol=1e-12, atol=1e-13)
    assert_allclose(ours.scale_, ref.scale_, rtol=1e-12, atol=1e-13)


@settings(max_examples=20, deadline=None)
@given(
    data=quantile_columns(min_rows=4).flatmap(lambda X: splits(X.shape[0]).map(lambda c: (X, c)))
)
def test_chunking_gives_the_same_result(data, tmp_path_factory):
    X, cuts = data
    whole = RobustScaler().fit(X)
    parts = np.split(X, cuts)
    incremental = RobustScaler()
    for part in parts:
        incremental.partial_fit(part)
    folder = tmp_path_factory.mktemp("split")
    for i, part in enumerate(parts):
        _frame(part).write_parquet(folder / f"p{i}.parquet")
    files = RobustScaler().fit(str(folder / "*.parquet"))
    for other in (incremental, files):
        assert_allclose(other.center_, whole.center_, rtol=1e-12)
        assert_allclose(other.scale_, whole.scale_, rtol=1e-12)


def test_sketch_mode_is_within_the_bound():
    rng = np.random.default_rng(0)
    x = rng.standard_cauchy(size=(60_000, 1))
    est = RobustScaler(subsample=1_000).fit(x)
    assert not est._state.exact
    eps = rank_error_bound(k_for_subsample(1_000))
    xs = np.sort(x[:, 0])
    rank = np.searchsorted(xs, est.center_[0]) / len(xs)
    assert abs(rank - 0.5) <= eps
    q1, q3 = est.center_[0] - est.scale_[0] / 2, est.center_[0] + est.scale_[0] / 2
    assert est.scale_[0] > 0 and np.isfinite([q1, q3]).all()


def test_sketch_state_survives_pickle_and_merges(tmp_path):
    X = _data(3000)
    est = RobustScaler(subsample=500).partial_fit(X[:2000])
    restored = pickle.loads(pickle.dumps(est))
    restored.partial_fit(X[2000:])
    est.partial_fit(X[2000:])
    ref = skp.RobustScaler().fit(X)
    eps = rank_error_bound(k_for_subsample(500))
    for j in range(X.shape[1]):
        col = np.sort(X[~np.isnan(X[:, j]), j])
        for m in (est, restored):
            lo = np.searchsorted(col, m.center_[j], side="left") / len(col)
            hi = np.searchsorted(col, m.center_[j], side="right") / len(col)
            assert lo - eps <= 0.5 <= hi + eps
    assert np.isfinite(ref.center_).all()


def test_exact_state_pickles_as_sketches():
    df = _frame(_data())
    est = RobustScaler().partial_fit(df.lazy())
    assert est._state.exact
    restored = pickle.loads(pickle.dumps(est))
    assert not restored._state.exact
    assert_allclose(restored.center_, est.center_)


def test_infinity_names_the_column():
    df = pl.DataFrame({"a": [1.0, 2.0], "b": [1.0, np.inf]})
    with pytest.raises(ValueError, match=r"infinity in column\(s\) \['b'\]"):
        RobustScaler().fit(df)
    with pytest.raises(ValueError, match=r"infinity in column\(s\) \['b'\]"):
        RobustScaler(subsample=1).fit(df)


def test_bad_parameters_and_columns():
    with pytest.raises(ValueError, match="Invalid quantile range"):
        RobustScaler(quantile_range=(80.0, 20.0)).fit(np.ones((3, 1)))
    df = pl.DataFrame({"a": [1.0, 2.0], "s": ["x", "y"]})
    with pytest.raises(TypeError, match=r"'s' \(String\)"):
        RobustScaler().fit(df)
    out = RobustScaler(columns=["a"]).fit(df).set_output(transform="polars").transform(df)
    assert out.columns == ["a", "s"] and out["s"].to_list() == ["x", "y"]


def test_label_column_is_not_a_feature():
    df = pl.DataFrame({"a": [1.0, 2.0, 10.0], "y": [0, 1, 1]})
    est = RobustScaler().fit(df.lazy(), y="y")
    assert est.n_features_in_ == 1
    assert est.transform(df.lazy()).collect().columns == ["a", "y"]
