"""TargetEncoder against scikit-learn: encodings, transform and cross-fitting with the
same folds (hash folds given to scikit-learn as a PredefinedSplit)."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose, assert_array_equal
from sklearn import preprocessing as skp
from sklearn.model_selection import KFold, PredefinedSplit

from scaleml import TargetEncoder
from scaleml.preprocessing._target_encoder import fold_expr, hash_folds
from tests.conftest import to_numpy


def _problem(kind: str, n: int = 240, seed: int = 0) -> tuple[pl.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    df = pl.DataFrame(
        {
            "s": pl.Series(rng.choice(["a", "b", "c", "d", "e"], n).tolist(), dtype=pl.String),
            "i": rng.integers(0, 6, n),
        }
    ).with_columns(
        pl.when(pl.int_range(pl.len()) % 17 == 0).then(None).otherwise(pl.col("s")).alias("s")
    )
    if kind == "continuous":
        y = rng.normal(size=n) * 3 + df["i"].to_numpy()
    elif kind == "binary":
        y = np.where(rng.random(n) < 0.3 + 0.1 * df["i"].to_numpy(), "yes", "no")
    else:
        y = rng.integers(0, 3, n)
    return df, y


def _sk_input(df: pl.DataFrame) -> np.ndarray:
    return df.to_pandas().to_numpy(dtype=object)


def _as_numpy_like(constructor, df):
    return constructor(df) if constructor.kind != "numpy" else _sk_input(df)


@pytest.mark.parametrize("kind", ["continuous", "binary", "multiclass"])
@pytest.mark.parametrize("smooth", ["auto", 3.0])
def test_fit_and_transform_match_sklearn(constructor, kind, smooth):
    df, y = _problem(kind)
    ours = TargetEncoder(smooth=smooth).fit(_as_numpy_like(constructor, df), y)
    ref = skp.TargetEncoder(smooth=smooth).fit(_sk_input(df), y)
    assert ours.target_type_ == ref.target_type_
    assert_allclose(ours.target_mean_, ref.target_mean_, rtol=1e-12)
    if ref.classes_ is not None:
        assert_array_equal(ours.classes_, ref.classes_)
    for a, b in zip(ours.encodings_, ref.encodings_, strict=True):
        assert_allclose(a, b, rtol=1e-10)
    # Held-out data with an unknown category and an unseen integer.
    test = pl.DataFrame({"s": ["a", "zzz", None], "i": [0, 99, 5]})
    out = ours.transform(_as_numpy_like(constructor, test))
    assert isinstance(out, pl.LazyFrame) == constructor.lazy
    assert_allclose(to_numpy(out), ref.transform(_sk_input(test)), rtol=1e-10)
    if constructor.kind != "numpy":
        assert list(ours.get_feature_names_out()) == list(ref.get_feature_names_out(["s", "i"]))


@pytest.mark.parametrize("kind", ["continuous", "binary", "multiclass"])
@pytest.mark.parametrize("cv", [2, 5])
def test_cross_fitting_matches_sklearn_given_the_same_folds(kind, cv):
    df, y = _problem(kind)
    ours = TargetEncoder(cv=cv).fit_transform(df, y)
    folds = hash_folds(df.height, cv)
    ref = skp.TargetEncoder(cv=PredefinedSplit(folds)).fit_transform(_sk_input(df), y)
    assert_allclose(to_numpy(ours), ref, rtol=1e-10)


def test_cross_fitting_with_a_label_column_and_lazy_input(tmp_path):
    df, y = _problem("continuous")
    data = df.with_columns(target=pl.Series(y))
    data.write_parquet(tmp_path / "d.parquet")
    enc = TargetEncoder(random_state=7)
    out = enc.fit_transform(str(tmp_path / "d.parquet"), y="target")
    assert isinstance(out, pl.LazyFrame)
    assert out.collect_schema().names() == ["s", "i", "target"]
    ref = skp.TargetEncoder(cv=PredefinedSplit(hash_folds(df.height, 5, seed=7))).fit_transform(
        _sk_input(df), y
    )
    assert_allclose(out.drop("target").collect().to_numpy(), ref, rtol=1e-10)
    in_memory = TargetEncoder().fit(df, y)
    for a, b in zip(enc.encodings_, in_memory.encodings_, strict=True):
        assert_allclose(a, b, rtol=1e-10)


def test_unshuffled_folds_are_kfold():
    df, y = _problem("continuous")
    with pytest.warns(FutureWarning, match="shuffle"):
        ours = TargetEncoder(cv=4, shuffle=False).fit_transform(df, y)
    ref = skp.TargetEncoder(cv=KFold(4)).fit_transform(_sk_input(df), y)
    assert_allclose(to_numpy(ours), ref, rtol=1e-10)


def test_a_splitter_is_accepted_for_in_memory_data():
    df, y = _problem("binary")
    splitter = KFold(3, shuffle=True, random_state=0)
    ours = TargetEncoder(cv=splitter).fit_transform(df, y)
    ref = skp.TargetEncoder(cv=splitter).fit_transform(_sk_input(df), y)
    assert_allclose(to_numpy(ours), ref, rtol=1e-10)


@settings(max_examples=30, deadline=None)
@given(n=st.integers(1, 500), cv=st.integers(2, 10), seed=st.integers(0, 2**64 - 1))
def test_fold_expression_matches_its_reference(n, cv, seed):
    expr = pl.select(fold_expr(pl.int_range(n), cv, seed)).to_series().to_numpy()
    assert_array_equal(expr, hash_folds(n, cv, seed))


def test_folds_are_balanced_and_stable():
    folds = hash_folds(100_000, 5)
    assert np.abs(np.bincount(folds) / 100_000 - 0.2).max() < 0.01
    # Pinned: folds must never change across versions (results would).
    assert hash_folds(10, 5).tolist() == [0, 0, 0, 4, 4, 2, 0, 3, 0, 4]


def test_given_categories():
    X = np.array([["a"], ["b"], ["a"], ["c"]], dtype=object)
    y = np.array([1.0, 2.0, 3.5, 10.0])
    ours = TargetEncoder(categories=[["a", "b"]], smooth=1.0).fit(X, y)
    assert_array_equal(ours.categories_[0], ["a", "b"])
    # The row of "c" (not a category) counts in no category's statistics; the target
    # mean is that of every row. (scikit-learn 1.9 counts it in "a": its encoding of
    # "a" is (1 + 3.5 + 10 + 4.125) / 4; ours is (1 + 3.5 + 4.125) / 3.)
    mean = y.mean()
    assert_allclose(ours.encodings_[0], [(4.5 + mean) / 3, (2.0 + mean) / 2])
    assert_allclose(ours.transform(X).ravel(), [2.875, 3.0625, 2.875, mean])
    ref = skp.TargetEncoder(categories=[["a", "b"]], smooth=1.0).fit(X, y)
    assert_allclose(ours.encodings_[0][1], ref.encodings_[0][1])


def test_bad_input():
    X = np.array([["a"], ["b"]], dtype=object)
    with pytest.raises(ValueError, match="requires y"):
        TargetEncoder().fit(X)
    with pytest.raises(ValueError, match="NaN or infinity"):
        TargetEncoder(target_type="continuous").fit(X, [1.0, np.nan])
    df = pl.DataFrame({"c": ["a", "b"], "t": [1.0, None]})
    with pytest.raises(ValueError, match="null or NaN"):
        TargetEncoder().fit(df.lazy(), y="t")
    with pytest.raises(ValueError, match="Unknown label type"):
        TargetEncoder().fit(X, np.array([[1, 0], [0, 1]]))
    with pytest.raises(ValueError, match=r"infinity in column\(s\) \['f'\]"):
        TargetEncoder().fit(pl.DataFrame({"f": [1.0, np.inf]}), [1.0, 2.0])
    assert not hasattr(TargetEncoder(), "partial_fit")
