"""QuantileTransformer against scikit-learn; the interpolation and normal-quantile
expressions against NumPy and SciPy."""

from __future__ import annotations

import warnings

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from numpy.testing import assert_allclose, assert_array_equal
from scipy.special import ndtri
from sklearn import preprocessing as skp

from scaleml import QuantileTransformer
from scaleml.preprocessing._quantile_transformer import interp_expr, ndtri_expr, ndtri_ref
from scaleml.preprocessing._sketch import k_for_subsample, rank_error_bound
from tests.conftest import to_numpy
from tests.strategies import quantile_columns, splits


def _frame(X: np.ndarray) -> pl.DataFrame:
    return pl.DataFrame(X, schema=[f"x{i}" for i in range(X.shape[1])])


def _data(n: int = 300, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    X = np.column_stack(
        [rng.normal(size=n), np.round(rng.exponential(size=n)), rng.integers(0, 3, n)]
    )
    X[::13, 0] = np.nan
    return X.astype(np.float64)


@pytest.mark.parametrize("output_distribution", ["uniform", "normal"])
def test_matches_sklearn_on_every_input_kind(constructor, output_distribution):
    X = _data()
    params = {"n_quantiles": 50, "output_distribution": output_distribution}
    ours = QuantileTransformer(**params).fit(constructor(_frame(X)))
    ref = skp.QuantileTransformer(**params).fit(X)
    assert ours.n_quantiles_ == ref.n_quantiles_
    assert_allclose(ours.references_, ref.references_)
    assert_allclose(ours.quantiles_, ref.quantiles_, rtol=1e-12)
    # Held-out values beyond the extremes, on quantiles and between them.
    Z = np.vstack([X, [[-50.0, 50.0, 0.5]], ref.quantiles_[[0, 7, -1]]])
    out = ours.transform(constructor(_frame(Z)))
    assert isinstance(out, pl.LazyFrame) == constructor.lazy
    assert_allclose(to_numpy(out), ref.transform(Z), rtol=1e-10, atol=1e-12, equal_nan=True)
    back = ours.inverse_transform(constructor(_frame(ref.transform(Z))))
    assert_allclose(
        to_numpy(back), ref.inverse_transform(ref.transform(Z)), rtol=1e-10, equal_nan=True
    )


@settings(max_examples=30, deadline=None)
@given(X=quantile_columns(), n_quantiles=st.integers(1, 30), normal=st.booleans())
def test_exact_mode_equals_sklearn(X, n_quantiles, normal):
    dist = "normal" if normal else "uniform"
    params = {"n_quantiles": min(n_quantiles, X.shape[0]), "output_distribution": dist}
    ours = QuantileTransformer(subsample=None, **params).fit(X)
    ref = skp.QuantileTransformer(subsample=None, **params).fit(X)
    # Polars interpolates as a + (b - a) t, NumPy symmetrically: they differ by an ulp
    # of the operands (not of a result that cancels to ~1e-16).
    assert_allclose(ours.quantiles_, ref.quantiles_, rtol=1e-12, atol=1e-13)
    assert_allclose(ours.transform(X), ref.transform(X), rtol=1e-10, atol=1e-12, equal_nan=True)


@settings(max_examples=15, deadline=None)
@given(
    data=quantile_columns(min_rows=4).flatmap(lambda X: splits(X.shape[0]).map(lambda c: (X, c)))
)
def test_chunking_gives_the_same_result(data):
    X, cuts = data
    whole = QuantileTransformer(n_quantiles=3).fit(X)
    incremental = QuantileTransformer(n_quantiles=3)
    for part in np.split(X, cuts):
        with warnings.catch_warnings():
            # A first chunk of fewer rows than n_quantiles warns, as scikit-learn.
            warnings.simplefilter("ignore", UserWarning)
            incremental.partial_fit(part)
    assert_allclose(incremental.quantiles_, whole.quantiles_, rtol=1e-12)


def test_sketch_mode_quantiles_within_the_bound():
    rng = np.random.default_rng(1)
    X = rng.lognormal(size=(50_000, 1))
    est = QuantileTransformer(n_quantiles=101, subsample=2_000).fit(X)
    assert not est._state.exact
    eps = rank_error_bound(k_for_subsample(2_000))
    xs = np.sort(X[:, 0])
    ranks = np.searchsorted(xs, est.quantiles_[:, 0]) / len(xs)
    assert np.abs(ranks - est.references_).max() <= eps + 1 / len(xs)
    u = est.transform(X)[:, 0]
    assert np.abs(np.sort(u) - np.linspace(0, 1, len(u))).max() <= eps + 0.01


def test_lazy_transform_streams_to_parquet(tmp_path):
    X = _data(2000)
    _frame(X).write_parquet(tmp_path / "in.parquet")
    est = QuantileTransformer(n_quantiles=30, output_distribution="normal").fit(
        str(tmp_path / "in.parquet")
    )
    est.transform(str(tmp_path / "in.parquet")).sink_parquet(
        tmp_path / "out.parquet", engine="streaming"
    )
    out = pl.read_parquet(tmp_path / "out.parquet").to_numpy()
    ref = skp.QuantileTransformer(n_quantiles=30, output_distribution="normal").fit(X).transform(X)
    assert_allclose(out, ref, rtol=1e-10, atol=1e-12, equal_nan=True)


def test_warnings_and_errors_as_sklearn():
    with pytest.warns(
        UserWarning, match=r"n_quantiles \(100\) is greater than the total number of samples \(5\)"
    ):
        est = QuantileTransformer(n_quantiles=100).fit(np.arange(5.0).reshape(-1, 1))
    assert est.n_quantiles_ == 5
    with pytest.raises(ValueError, match="cannot be greater than the number of samples used"):
        QuantileTransformer(n_quantiles=100, subsample=10).fit(np.ones((20, 1)))
    with pytest.warns(UserWarning, match="ignore_implicit_zeros"):
        QuantileTransformer(n_quantiles=2, ignore_implicit_zeros=True).fit(np.ones((3, 1)))
    with pytest.raises(ValueError, match=r"infinity in column\(s\) \['b'\]"):
        QuantileTransformer(n_quantiles=2).fit(pl.DataFrame({"a": [1.0, 2.0], "b": [np.inf, 1.0]}))


@settings(max_examples=50, deadline=None)
@given(p=arrays(np.float64, st.integers(1, 50), elements=st.floats(0, 1)))
def test_ndtri_expression_matches_scipy(p):
    expr = pl.DataFrame({"p": p}).select(ndtri_expr(pl.col("p"))).to_series().to_numpy()
    assert_allclose(expr, ndtri_ref(p), rtol=0, atol=0)
    assert_allclose(expr, ndtri(p), rtol=1e-14, atol=1e-300)


def test_ndtri_extreme_tails():
    p = np.array([1e-300, 1e-100, 1e-20, 1e-8, 0.02425, 0.5, 1 - 1e-9, 1 - 1e-16, 0.0, 1.0])
    assert_allclose(ndtri_ref(p), ndtri(p), rtol=1e-14)


@settings(max_examples=50, deadline=None)
@given(
    xp=arrays(
        np.float64, st.integers(1, 12), elements=st.sampled_from([-2.0, -1.0, 0.0, 0.5, 3.0])
    ),
    x=arrays(np.float64, st.integers(1, 20), elements=st.floats(-5, 5)),
)
def test_interp_expression_matches_numpy(xp, x):
    xp = np.sort(xp)  # repeated points included
    fp = np.linspace(0, 1, len(xp))
    got = pl.DataFrame({"x": x}).select(interp_expr(pl.col("x"), xp, fp)).to_series().to_numpy()
    assert_allclose(got, np.interp(x, xp, fp), rtol=0, atol=0)


def test_exact_quantiles_are_numpys_to_the_bit_on_ties():
    # Found by hypothesis: Polars interpolates a + (b - a) t, NumPy's lerp gives
    # -1.8e-15 for this quantile; the transform averages over tied quantiles, so that
    # ulp moved every 0 from 0.545 to 0.5. The quantiles now follow NumPy exactly.
    codes = "zZnzazzpnzaqpzazZapnbZzpzbpanpqZZZabZbzZaqppzZZnZpZpaaaZZzqb"
    values = {"z": -0.0, "Z": 0.0, "n": np.nan, "a": -1.0, "p": 1.0, "q": 2.0, "b": -2.0}
    X = np.array([[values[c]] for c in codes])
    ours = QuantileTransformer(subsample=None, n_quantiles=12).fit(X)
    ref = skp.QuantileTransformer(subsample=None, n_quantiles=12).fit(X)
    assert_array_equal(ours.quantiles_, ref.quantiles_)
    assert_allclose(ours.transform(X), ref.transform(X), rtol=1e-12, equal_nan=True)
