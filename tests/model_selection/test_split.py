"""Hash-based splits: lazy, reproducible, partitioning every row exactly once."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.linear_model import Ridge
from sklearn.model_selection import cross_val_score

from scaleml._hash import ROW_INDEX, splitmix64, stable_hash
from scaleml.model_selection import HashKFold, HashStratifiedKFold, train_test_split


def test_splitmix64_matches_the_reference_values():
    # Reference outputs of splitmix64 seeded 0 (Vigna's splitmix64.c): pinning them
    # means an upgrade of Polars cannot silently change any split.
    got = pl.select(splitmix64(pl.lit(np.arange(3), dtype=pl.UInt64))).to_series().to_list()
    assert got == [16294208416658607535, 10451216379200822465, 10905525725756348110]


def test_hash_is_the_same_streamed_and_in_memory():
    lf = pl.LazyFrame({"k": np.arange(10_000)})
    eager = lf.select(stable_hash(["k"])).collect()
    streamed = lf.select(stable_hash(["k"])).collect(engine="streaming")
    assert eager.equals(streamed)


def test_train_test_split_partitions_rows(tmp_path):
    df = pl.DataFrame({"x": np.arange(5_000), "y": np.arange(5_000) % 3})
    df.write_parquet(tmp_path / "d.parquet")
    train, test = train_test_split(str(tmp_path / "d.parquet"), test_size=0.2, seed=3)
    assert isinstance(train, pl.LazyFrame)
    tr, te = train.collect()["x"], test.collect()["x"]
    assert set(tr).isdisjoint(set(te))
    assert len(tr) + len(te) == 5_000
    assert 0.17 < len(te) / 5_000 < 0.23
    # Reproducible: same seed, same split; another seed, another split.
    again = train_test_split(df, test_size=0.2, seed=3)[1].collect()["x"]
    assert again.to_list() == te.to_list()
    other = train_test_split(df, test_size=0.2, seed=4)[1].collect()["x"]
    assert other.to_list() != te.to_list()


def test_split_by_key_keeps_entities_together():
    df = pl.DataFrame({"user": np.repeat(np.arange(200), 5), "x": np.arange(1000)})
    train, test = train_test_split(df, test_size=0.3, key="user")
    assert set(train.collect()["user"]).isdisjoint(set(test.collect()["user"]))


def test_bad_arguments_are_named():
    lf = pl.LazyFrame({"s": ["a", "b"], "x": [1, 2]})
    with pytest.raises(ValueError, match="test_size must be a fraction"):
        train_test_split(lf, test_size=1.5)
    with pytest.raises(ValueError, match="key='nope' is not a column"):
        train_test_split(lf, key="nope")
    with pytest.raises(TypeError, match="key column 's' has dtype String"):
        train_test_split(lf, key="s")
    with pytest.raises(ValueError, match="n_splits must be an integer >= 2"):
        next(HashKFold(n_splits=1).split(lf))


@settings(max_examples=20, deadline=None)
@given(n=st.integers(10, 300), k=st.integers(2, 6), seed=st.integers(0, 2**32))
def test_kfold_test_sets_partition_the_rows(n, k, seed):
    folds = list(HashKFold(n_splits=k, seed=seed).split(np.zeros((n, 1))))
    assert len(folds) == k
    tests = np.concatenate([t for _, t in folds])
    assert np.array_equal(np.sort(tests), np.arange(n))
    for train, test in folds:
        assert np.intersect1d(train, test).size == 0
        assert train.size + test.size == n


def test_lazy_folds_equal_in_memory_folds():
    df = pl.DataFrame({"x": np.arange(500)})
    cv = HashKFold(n_splits=4, seed=7)
    eager = [test for _, test in cv.split(df.to_numpy())]
    lazy = [test.collect()["x"].to_numpy() for _, test in cv.split(df.lazy())]
    for a, b in zip(eager, lazy, strict=True):
        assert np.array_equal(a, b)


def test_works_as_cv_of_sklearn_tools():
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(120, 3)), rng.normal(size=120)
    scores = cross_val_score(Ridge(), X, y, cv=HashKFold(n_splits=4))
    assert scores.shape == (4,)


def test_stratified_folds_are_exact_in_memory_and_close_lazily():
    y = np.array([0] * 9000 + [1] * 1000)
    cv = HashStratifiedKFold(n_splits=5)
    for _, test in cv.split(np.zeros((10_000, 1)), y):
        assert np.bincount(y[test]).tolist() == [1800, 200]
    lf = pl.LazyFrame({"x": np.zeros(10_000), "label": y})
    for _, test in cv.split(lf, "label"):
        share = test.select(pl.col("label").mean()).collect().item()
        assert 0.08 < share < 0.12
    with pytest.raises(ValueError, match="needs y"):
        next(HashStratifiedKFold().split(np.zeros((10, 1))))


def test_row_index_column_never_leaks():
    train, test = train_test_split(pl.LazyFrame({"x": [1, 2, 3]}))
    assert ROW_INDEX not in train.collect_schema().names()
    assert test.collect_schema().names() == ["x"]
