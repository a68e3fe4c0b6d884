"""PCA: exact one-pass PCA against scikit-learn's full SVD, on every input kind."""

from __future__ import annotations

import numpy as np
import pandas as pd
import polars as pl
import pytest
import sklearn.decomposition as skd
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose

import scaleml as sm
from tests.conftest import to_numpy
from tests.strategies import pca_matrices, splits

ATTRS = [
    "components_",
    "explained_variance_",
    "explained_variance_ratio_",
    "singular_values_",
    "mean_",
    "noise_variance_",
]


def _frame(n: int = 120, seed: int = 0) -> pl.DataFrame:
    """Correlated features with well-separated variances and a large offset."""
    rng = np.random.default_rng(seed)
    mixing = np.linalg.qr(rng.normal(size=(5, 5)))[0] * [6.0, 3.0, 1.5, 0.7, 0.2]
    X = rng.normal(size=(n, 5)) @ mixing.T + [1e3, -5.0, 0.0, 2.0, 40.0]
    return pl.DataFrame(X, schema=["a", "b", "c", "d", "e"])


def _sk(X: np.ndarray, **params: object) -> skd.PCA:
    return skd.PCA(svd_solver="full", **params).fit(X)


def _assert_same_fit(ours: sm.PCA, ref: skd.PCA, rtol: float = 1e-9) -> None:
    assert ours.n_components_ == ref.n_components_
    assert ours.n_samples_ == ref.n_samples_
    for attr in ATTRS:
        assert_allclose(
            getattr(ours, attr), getattr(ref, attr), rtol=rtol, atol=1e-10, err_msg=attr
        )


@pytest.mark.parametrize(
    "params",
    [{}, {"n_components": 2}, {"n_components": 0.97}, {"n_components": "mle"}, {"whiten": True}],
    ids=["all", "int", "float", "mle", "whiten"],
)
def test_matches_sklearn_on_every_input_kind(constructor, params):
    df = _frame()
    X = df.to_numpy()
    ours = sm.PCA(**params).fit(constructor(df))
    ref = _sk(X, **params)
    _assert_same_fit(ours, ref)
    out = ours.transform(constructor(df))
    if constructor.lazy:
        assert isinstance(out, pl.LazyFrame)
        assert out.collect_schema().names() == [f"pca{j}" for j in range(ref.n_components_)]
    else:
        assert isinstance(out, np.ndarray) and out.shape == (120, ref.n_components_)
    assert_allclose(to_numpy(out), ref.transform(X), rtol=1e-8, atol=1e-8)
    back = ours.inverse_transform(out)
    assert_allclose(to_numpy(back), ref.inverse_transform(ref.transform(X)), rtol=1e-9)
    assert_allclose(to_numpy(ours.fit_transform(constructor(df))), ref.transform(X), atol=1e-8)


def test_score_and_generative_model(constructor):
    df = _frame()
    X = df.to_numpy()
    ours = sm.PCA(n_components=3, whiten=True).fit(constructor(df))
    ref = _sk(X, n_components=3, whiten=True)
    assert_allclose(ours.get_covariance(), ref.get_covariance(), rtol=1e-9)
    assert_allclose(ours.get_precision(), ref.get_precision(), rtol=1e-7, atol=1e-12)
    samples = ours.score_samples(constructor(df))
    if constructor.lazy:
        assert samples.collect_schema().names() == ["log_likelihood"]
    assert_allclose(to_numpy(samples).ravel(), ref.score_samples(X), rtol=1e-9)
    assert_allclose(ours.score(constructor(df)), ref.score(X), rtol=1e-10)


def test_sign_convention_is_sklearns():
    X = _frame().to_numpy()
    ours = sm.PCA().fit(X)
    rows = np.arange(5)
    largest = ours.components_[rows, np.abs(ours.components_).argmax(axis=1)]
    assert (largest > 0).all()
    # Same signs as scikit-learn, whatever its solver.
    for solver in ("full", "covariance_eigh"):
        ref = skd.PCA(svd_solver=solver).fit(X)
        assert_allclose(ours.components_, ref.components_, rtol=1e-8, atol=1e-12)


@pytest.mark.parametrize("solver", ["full", "covariance_eigh", "arpack", "auto"])
def test_solver_names_are_exact(solver):
    X = _frame().to_numpy()
    ours = sm.PCA(n_components=3, svd_solver=solver).fit(X)
    _assert_same_fit(ours, _sk(X, n_components=3))


def test_arpack_keeps_all_but_one_component_by_default():
    X = _frame().to_numpy()
    ours = sm.PCA(svd_solver="arpack", random_state=0).fit(X)
    ref = skd.PCA(svd_solver="arpack", random_state=0).fit(X)
    assert ours.n_components_ == ref.n_components_ == 4
    assert_allclose(ours.explained_variance_, ref.explained_variance_, rtol=1e-8)
    assert_allclose(ours.noise_variance_, ref.noise_variance_, rtol=1e-8)


def test_more_features_than_samples():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(8, 12)) * np.linspace(3, 1, 12)
    ours = sm.PCA(batch_rows=3).fit(X)
    ref = _sk(X)
    assert ours.n_components_ == ref.n_components_ == 8
    # The last component spans the null space of the centred data: any direction.
    for attr in ("explained_variance_", "explained_variance_ratio_", "singular_values_"):
        assert_allclose(getattr(ours, attr)[:7], getattr(ref, attr)[:7], rtol=1e-9, err_msg=attr)
    assert_allclose(ours.components_[:7], ref.components_[:7], rtol=1e-7, atol=1e-9)
    assert_allclose(ours.transform(X)[:, :7], ref.transform(X)[:, :7], rtol=1e-7, atol=1e-9)


def _wide(n: int = 200, p: int = 150, seed: int = 2) -> np.ndarray:
    rng = np.random.default_rng(seed)
    spectrum = 20.0 * 0.8 ** np.arange(p) + 0.05
    return rng.normal(size=(n, p)) * spectrum + 3.0


@pytest.mark.parametrize("cache", [False, True, "path"])
def test_randomized_on_wide_data_is_close_to_full(cache, tmp_path):
    X = _wide()
    lf = pl.DataFrame(X, schema=[f"f{i}" for i in range(X.shape[1])]).lazy()
    cache = str(tmp_path / "cache.arrow") if cache == "path" else cache
    ours = sm.PCA(n_components=5, svd_solver="randomized", random_state=0, cache=cache).fit(lf)
    full = _sk(X, n_components=5)
    assert_allclose(ours.explained_variance_, full.explained_variance_, rtol=1e-6)
    assert_allclose(ours.explained_variance_ratio_, full.explained_variance_ratio_, rtol=1e-6)
    assert_allclose(ours.noise_variance_, full.noise_variance_, rtol=1e-6)
    assert_allclose(ours.components_, full.components_, atol=1e-5)
    assert_allclose(to_numpy(ours.transform(lf)), full.transform(X), rtol=1e-4, atol=1e-4)
    # The same random start as scikit-learn's randomized solver: the same approximation.
    ref = skd.PCA(n_components=5, svd_solver="randomized", random_state=0).fit(X)
    assert_allclose(ours.explained_variance_, ref.explained_variance_, rtol=1e-9)
    if cache == "path":
        assert (tmp_path / "cache.arrow").exists()


@pytest.mark.parametrize("normalizer", ["QR", "LU", "none"])
def test_randomized_power_iterations(normalizer):
    X = _wide(p=60)
    params = {"n_components": 3, "iterated_power": 2, "power_iteration_normalizer": normalizer}
    ours = sm.PCA(svd_solver="randomized", random_state=0, batch_rows=50, **params).fit(X)
    ref = skd.PCA(svd_solver="randomized", random_state=0, **params).fit(X)
    assert_allclose(ours.explained_variance_, ref.explained_variance_, rtol=1e-8)
    assert_allclose(ours.components_, ref.components_, atol=1e-6)


def test_auto_is_randomized_only_for_many_features():
    X = _wide(n=30, p=1001)
    est = sm.PCA(n_components=2, random_state=0).fit(X)
    assert est._fit_svd_solver == "randomized"
    assert sm.PCA(n_components=2).fit(_frame()).n_components_ == 2


def test_partial_fit_and_n_jobs_give_the_fit():
    X = _frame(n=300).to_numpy()
    whole = sm.PCA().fit(X)
    inc = sm.PCA()
    for part in np.array_split(X, 4):
        inc.partial_fit(part)
    parallel = sm.PCA(n_jobs=2, batch_rows=17).fit(pl.DataFrame(X).lazy())
    for est in (inc, parallel):
        _assert_same_fit(est, whole, rtol=1e-11)  # type: ignore[arg-type]


@settings(max_examples=100, deadline=None)
@given(data=st.data())
def test_any_chunking_gives_the_same_result(data):
    X = data.draw(pca_matrices())
    batch_rows = data.draw(st.integers(1, X.shape[0]))
    cuts = data.draw(splits(X.shape[0]))
    whole = sm.PCA().fit(X)
    chunked = sm.PCA(batch_rows=batch_rows).fit(pl.DataFrame(X).lazy())
    inc = sm.PCA()
    for part in np.split(X, cuts):
        inc.partial_fit(part)
    scale = max(np.abs(whole.get_covariance()).max(), 1e-300)
    for est in (chunked, inc):
        assert_allclose(est.mean_, whole.mean_, rtol=1e-10, atol=1e-10 * np.abs(X).max())
        assert_allclose(
            est.get_covariance(), whole.get_covariance(), rtol=1e-10, atol=1e-10 * scale
        )
        assert_allclose(
            est.explained_variance_, whole.explained_variance_, rtol=1e-10, atol=1e-10 * scale
        )


def test_label_column_is_passed_through():
    df = _frame().with_columns(label=pl.Series(np.arange(120) % 2))
    est = sm.PCA(n_components=2).fit(df.lazy(), y="label")
    assert list(est.feature_names_in_) == ["a", "b", "c", "d", "e"]
    out = est.transform(df.lazy()).collect()
    assert out.columns == ["pca0", "pca1", "label"]
    back = est.inverse_transform(out.lazy()).collect()
    assert back.columns == ["a", "b", "c", "d", "e", "label"]
    assert_allclose(out.drop("label").to_numpy(), est.transform(df.drop("label")), rtol=1e-10)


@pytest.mark.parametrize("container", ["pandas", "polars"])
def test_set_output(container):
    df = _frame()
    out = sm.PCA(n_components=2).set_output(transform=container).fit(df).transform(df)
    assert isinstance(out, pd.DataFrame if container == "pandas" else pl.DataFrame)
    assert list(out.columns) == ["pca0", "pca1"]


def test_bad_input_messages():
    df = _frame(n=20)
    with pytest.raises(ValueError, match=r"Input contains NaN"):
        sm.PCA().fit(np.array([[1.0, np.nan], [2.0, 3.0]]))
    with pytest.raises(ValueError, match=r"NaN or null in column\(s\) \['b'\]"):
        sm.PCA().fit(df.lazy().with_columns(b=pl.lit(None, dtype=pl.Float64)))
    with pytest.raises(TypeError, match=r"non-numeric column\(s\) 's' \(String\)"):
        sm.PCA().fit(df.with_columns(s=pl.lit("x")).lazy())
    bounds = r"n_components=6 must be between 0 and min\(n_samples, n_features\)=5"
    with pytest.raises(ValueError, match=bounds):
        sm.PCA(n_components=6).fit(df.lazy())
    with pytest.raises(ValueError, match=r"got n_samples=1"):
        sm.PCA().fit(df.head(1).lazy())
    with pytest.raises(ValueError, match=r"0 sample\(s\)"):
        sm.PCA().fit(df.head(0).lazy())
    with pytest.raises(ValueError, match=r"only supported if n_samples >= n_features"):
        sm.PCA(n_components="mle").fit(df.head(3))
    with pytest.raises(ValueError, match=r"cannot be a string with svd_solver='randomized'"):
        sm.PCA(n_components="mle", svd_solver="randomized").fit(df.lazy())
    with pytest.raises(ValueError, match=r"n_components=5 must be strictly less than"):
        sm.PCA(n_components=5, svd_solver="arpack").fit(df)
    est = sm.PCA(n_components=2).fit(df.lazy())
    with pytest.raises(ValueError, match=r"seen at fit time, yet now missing:\n- e"):
        est.transform(df.drop("e").lazy())
    with pytest.raises(ValueError, match=r"expects 2 columns \(one per component\), got 3"):
        est.inverse_transform(pl.LazyFrame({"a": [1.0], "b": [1.0], "c": [1.0]}))
    with pytest.raises(ValueError, match=r"NaN or null in column\(s\) \['a'\]"):
        est.transform(df.with_columns(a=pl.lit(float("nan"))))
