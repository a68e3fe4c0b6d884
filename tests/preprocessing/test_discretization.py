"""KBinsDiscretizer against scikit-learn on every input kind; exact and sketch modes."""

from __future__ import annotations

import warnings

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose, assert_array_equal
from scipy import sparse
from sklearn import preprocessing as skp

from scaleml import KBinsDiscretizer
from scaleml.preprocessing._sketch import k_for_subsample, rank_error_bound
from tests.conftest import to_numpy
from tests.strategies import quantile_columns

METHODS = [
    "inverted_cdf",
    "averaged_inverted_cdf",
    "closest_observation",
    "interpolated_inverted_cdf",
    "hazen",
    "weibull",
    "linear",
    "median_unbiased",
    "normal_unbiased",
]


def _frame(X: np.ndarray) -> pl.DataFrame:
    return pl.DataFrame(X, schema=[f"x{i}" for i in range(X.shape[1])])


def _data(n: int = 240, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.column_stack(
        [rng.normal(size=n), np.round(rng.exponential(size=n), 1), rng.integers(0, 6, n)]
    ).astype(np.float64)


def _fit_both(X, params, ours_input=None):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # tiny-bin warnings of both
        ours = KBinsDiscretizer(**params).fit(X if ours_input is None else ours_input)
        ref = skp.KBinsDiscretizer(**params).fit(X)
    return ours, ref


def _assert_same_edges(ours, ref):
    assert_array_equal(ours.n_bins_, ref.n_bins_)
    for a, b in zip(ours.bin_edges_, ref.bin_edges_, strict=True):
        assert_allclose(a, b, rtol=1e-12)


@pytest.mark.parametrize("strategy", ["uniform", "quantile", "kmeans"])
@pytest.mark.parametrize("encode", ["ordinal", "onehot-dense", "onehot"])
def test_matches_sklearn_on_every_input_kind(constructor, strategy, encode):
    X = _data()
    params = {"n_bins": 4, "strategy": strategy, "encode": encode}
    ours, ref = _fit_both(X, params, constructor(_frame(X)))
    _assert_same_edges(ours, ref)
    out = ours.transform(constructor(_frame(X)))
    assert isinstance(out, pl.LazyFrame) == constructor.lazy
    if encode == "onehot" and not constructor.lazy and constructor.kind == "numpy":
        assert sparse.issparse(out)
    assert_allclose(to_numpy(out), to_numpy(ref.transform(X)))
    if encode != "onehot":
        assert list(ours.get_feature_names_out()) == list(ref.get_feature_names_out())
    assert_allclose(
        ours.inverse_transform(ref.transform(X)), ref.inverse_transform(ref.transform(X))
    )


@settings(max_examples=30, deadline=None)
@given(
    X=quantile_columns(min_rows=3).map(lambda X: np.nan_to_num(X, nan=1.0)),
    method=st.sampled_from(METHODS),
    n_bins=st.integers(2, 6),
)
def test_every_quantile_method_equals_sklearn(X, method, n_bins):
    params = {"n_bins": n_bins, "encode": "ordinal", "quantile_method": method}
    ours, ref = _fit_both(X, params)
    _assert_same_edges(ours, ref)
    assert_allclose(ours.transform(X), ref.transform(X))


def test_per_column_bins_and_constant_column():
    X = np.column_stack([np.arange(20.0), np.ones(20), np.arange(20.0) ** 2])
    with pytest.warns(UserWarning, match="Feature 1 is constant"):
        ours = KBinsDiscretizer(n_bins=[2, 3, 5], encode="ordinal").fit(X)
    with pytest.warns(UserWarning, match="Feature 1 is constant"):
        ref = skp.KBinsDiscretizer(n_bins=[2, 3, 5], encode="ordinal").fit(X)
    _assert_same_edges(ours, ref)
    assert_allclose(ours.transform(X), ref.transform(X))
    with pytest.raises(ValueError, match="invalid number of bins at indices 1"):
        KBinsDiscretizer(n_bins=[2, 1, 3]).fit(X)
    with pytest.raises(
        ValueError, match=r"n_bins must be a scalar or array of shape \(n_features,\)"
    ):
        KBinsDiscretizer(n_bins=[2, 3]).fit(X)


def test_sketch_mode_edges_within_the_bound():
    rng = np.random.default_rng(2)
    X = rng.gamma(2.0, size=(40_000, 1))
    est = KBinsDiscretizer(n_bins=10, encode="ordinal", subsample=5_000).fit(X)
    assert not est._state.exact
    eps = rank_error_bound(k_for_subsample(5_000))
    xs = np.sort(X[:, 0])
    ranks = np.searchsorted(xs, est.bin_edges_[0]) / len(xs)
    assert np.abs(ranks - np.linspace(0, 1, 11)).max() <= eps + 1 / len(xs)
    counts = np.bincount(est.transform(X)[:, 0].astype(int), minlength=10) / len(xs)
    assert np.abs(counts - 0.1).max() <= 2 * eps


def test_sketch_mode_kmeans_is_close_to_exact():
    rng = np.random.default_rng(3)
    X = np.concatenate([rng.normal(0, 1, 20_000), rng.normal(10, 1, 20_000)])[:, None]
    params = {"n_bins": 2, "strategy": "kmeans", "encode": "ordinal"}
    sketched = KBinsDiscretizer(subsample=2_000, **params).fit(X)
    exact = KBinsDiscretizer(subsample=None, **params).fit(X)
    assert abs(sketched.bin_edges_[0][1] - exact.bin_edges_[0][1]) < 0.1


def test_nan_names_the_column():
    df = pl.DataFrame({"a": [1.0, 2.0, 3.0], "b": [1.0, None, 2.0]})
    with pytest.raises(ValueError, match=r"NaN or null in column\(s\) \['b'\]"):
        KBinsDiscretizer(n_bins=2).fit(df)
    with pytest.raises(ValueError, match=r"NaN or null in column\(s\) \['b'\]"):
        KBinsDiscretizer(n_bins=2, subsample=1).fit(df)
    est = KBinsDiscretizer(n_bins=2, encode="ordinal").fit(df.select("a"))
    with pytest.raises(ValueError, match=r"NaN or null in column\(s\) \['a'\]"):
        est.transform(pl.DataFrame({"a": [np.nan]}))
    # A lazy input gives a null bin instead (no extra pass over the data).
    assert est.transform(pl.LazyFrame({"a": [np.nan, 2.5]})).collect()["a"].to_list() == [None, 1.0]


def test_float32_output_and_columns():
    df = pl.DataFrame({"a": np.arange(10.0), "s": list("abcdefghij")})
    est = KBinsDiscretizer(n_bins=2, encode="onehot-dense", dtype=np.float32, columns="a").fit(df)
    out = est.set_output(transform="polars").transform(df)
    assert out.columns == ["a_0.0", "a_1.0", "s"]
    assert out.schema["a_0.0"] == pl.Float32
