"""MurmurHash3 kernel, FeatureHasher and HashingEncoder against scikit-learn."""

from __future__ import annotations

import numpy as np
import polars as pl
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.feature_extraction import FeatureHasher as SkFeatureHasher
from sklearn.utils import murmurhash3_32

from scaleml import FeatureHasher, HashingEncoder
from scaleml._kernels._murmur import hash_arrow, murmur3_32_offsets, murmur3_32_ref
from tests.conftest import to_numpy

#: Any Unicode text that has a UTF-8 encoding (no lone surrogates).
texts = st.text(st.characters(blacklist_categories=("Cs",)), max_size=40)


@settings(max_examples=100, deadline=None)
@given(strings=st.lists(texts, min_size=1, max_size=30), seed=st.integers(0, 2**32 - 1))
def test_kernel_matches_sklearn_murmurhash(strings, seed):
    expected = [murmurhash3_32(s, seed=seed) for s in strings]
    for arr in (pa.array(strings, pa.string()), pa.array(strings, pa.large_string())):
        hashes, valid = hash_arrow(arr, seed)
        assert valid is None
        assert hashes.tolist() == expected
    assert [murmur3_32_ref(s, seed) for s in strings] == expected


@settings(max_examples=30, deadline=None)
@given(
    strings=st.lists(st.one_of(st.none(), texts), min_size=2, max_size=30), start=st.integers(0, 1)
)
def test_kernel_reads_sliced_arrays_with_nulls(strings, start):
    arr = pa.array(strings, pa.large_string()).slice(start)
    hashes, valid = hash_arrow(arr)
    values = strings[start:]
    expected = [0 if s is None else murmurhash3_32(s, seed=0) for s in values]
    assert hashes.tolist() == expected
    if any(s is None for s in values):
        assert valid.tolist() == [s is not None for s in values]


def test_kernel_on_raw_buffers():
    data = np.frombuffer(b"foobar", dtype=np.uint8)
    offsets = np.array([0, 3, 6, 6], dtype=np.int64)
    assert murmur3_32_offsets(offsets, data, 0).tolist() == [
        murmurhash3_32("foo", 0),
        murmurhash3_32("bar", 0),
        murmurhash3_32("", 0),
    ]


@pytest.mark.parametrize("alternate_sign", [True, False])
@pytest.mark.parametrize(
    ("input_type", "raw"),
    [
        ("dict", [{"dog": 1, "cat": 2.5, "color": "red"}, {}, {"dog": 0, "run": -5}]),
        ("pair", [[("a", 1.5), ("b", 0), (b"raw", 2)], [("é", -2), ("a", 1)]]),
        ("string", [["a", "b", "a"], ["zz", "日本"], []]),
    ],
)
def test_feature_hasher_matches_sklearn(input_type, raw, alternate_sign):
    params = {"n_features": 32, "input_type": input_type, "alternate_sign": alternate_sign}
    ours = FeatureHasher(**params).transform(raw)
    ref = SkFeatureHasher(**params).transform(raw)
    assert type(ours) is type(ref)
    assert ours.dtype == ref.dtype and ours.shape == ref.shape
    assert_array_equal(ours.indptr, ref.indptr)
    assert_array_equal(ours.indices, ref.indices)
    assert_array_equal(ours.data, ref.data)


@settings(max_examples=30, deadline=None)
@given(rows=st.lists(st.lists(texts, max_size=5), min_size=1, max_size=10), n=st.integers(1, 64))
def test_feature_hasher_strings_property(rows, n):
    ours = FeatureHasher(n, input_type="string", dtype=np.float32).transform(rows)
    ref = SkFeatureHasher(n, input_type="string", dtype=np.float32).transform(rows)
    assert ours.dtype == np.float32
    assert_array_equal(ours.toarray(), ref.toarray())


def test_feature_hasher_errors_as_sklearn():
    with pytest.raises(ValueError, match="Samples can not be a single string"):
        FeatureHasher(input_type="string").transform(["abc"])
    with pytest.raises(TypeError, match="feature names must be strings"):
        FeatureHasher(input_type="pair").transform([[(1, 2.0)]])
    with pytest.raises(ValueError, match="Cannot vectorize empty sequence"):
        FeatureHasher().transform([])


def _expected(values: list, n: int, alternate_sign: bool) -> np.ndarray:
    rows = [[] if v is None else [str(v)] for v in values]
    return (
        SkFeatureHasher(n, input_type="string", alternate_sign=alternate_sign)
        .transform(rows)
        .toarray()
    )


@pytest.mark.parametrize("alternate_sign", [False, True])
def test_hashing_encoder_matches_feature_hasher(constructor, alternate_sign):
    rng = np.random.default_rng(0)
    df = pl.DataFrame(
        {
            "city": pl.Series(
                [None if i % 7 == 0 else f"c{i % 23}é" for i in range(60)], dtype=pl.String
            ),
            "code": rng.integers(0, 1000, 60),
        }
    )
    X = constructor(df) if constructor.kind != "numpy" else df.to_numpy()
    enc = HashingEncoder(n_components=8, alternate_sign=alternate_sign).fit(X)
    out = enc.transform(X)
    assert isinstance(out, pl.LazyFrame) == constructor.lazy
    got = to_numpy(out)
    assert_allclose(got[:, :8], _expected(df["city"].to_list(), 8, alternate_sign))
    assert_allclose(got[:, 8:], _expected(df["code"].to_list(), 8, alternate_sign))
    names = ["x0", "x1"] if constructor.kind == "numpy" else ["city", "code"]
    assert list(enc.get_feature_names_out()) == [f"{c}_hash{i}" for c in names for i in range(8)]


def test_hashing_encoder_streams_and_passes_columns_through(tmp_path):
    values = [f"user_{i * 7919 % 5003}" for i in range(30_000)]
    df = pl.DataFrame({"user": values, "x": np.arange(30_000.0)})
    df.write_parquet(tmp_path / "in.parquet")
    enc = HashingEncoder(n_components=16, columns="user").fit(str(tmp_path / "in.parquet"))
    lf = enc.transform(str(tmp_path / "in.parquet"))
    lf.sink_parquet(tmp_path / "out.parquet", engine="streaming")
    out = pl.read_parquet(tmp_path / "out.parquet")
    assert out.columns == [f"user_hash{i}" for i in range(16)] + ["x"]
    assert_allclose(out.select(pl.exclude("x")).to_numpy(), _expected(values, 16, False))
    assert_array_equal(out["x"].to_numpy(), df["x"].to_numpy())


def test_hashing_encoder_refuses_nested_columns():
    df = pl.DataFrame({"l": [[1, 2], [3]]})
    with pytest.raises(TypeError, match=r"column 'l' has dtype List"):
        HashingEncoder().fit(df)
