"""Data profiles: exact counts, sketches within their bound, merges of any split."""

from __future__ import annotations

import itertools
import pickle

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.testing import assert_array_equal

from scaleml.monitoring import ColumnProfile, DataProfile, profile_data
from tests.strategies import drift_frames


def _assert_same_profile(a: DataProfile, b: DataProfile, *, sketch_tol: float) -> None:
    assert a.n_rows == b.n_rows
    assert a.column_names == b.column_names
    for c in a.column_names:
        pa, pb = a[c], b[c]
        assert (pa.kind, pa.n_rows, pa.n_missing) == (pb.kind, pb.n_rows, pb.n_missing), c
        if pa.kind == "categorical":
            assert pa.category_counts() == pb.category_counts()
            continue
        assert (pa.values is None) == (pb.values is None)
        if pa.values is not None:
            assert_array_equal(pa.values, pb.values)
            assert_array_equal(pa.counts, pb.counts)
        assert pa.sketch.n == pb.sketch.n
        if pa.sketch.n:
            assert (pa.sketch.min, pa.sketch.max) == (pb.sketch.min, pb.sketch.max)
            # Each merged sketch's quantile has a true rank within the bound of q (the
            # rank of a tied value is the interval of its positions).
            if pb.values is None:
                continue
            cum = np.concatenate([[0], np.cumsum(pb.counts)]) / pb.n_present
            slack = sketch_tol + 1.0 / pb.n_present + 1e-12
            for q in (0.1, 0.5, 0.9):
                est = pa.sketch.quantile(q)
                below = cum[np.searchsorted(pb.values, est, side="left")]
                at_or_below = cum[np.searchsorted(pb.values, est, side="right")]
                assert below - slack <= q <= at_or_below + slack


@settings(max_examples=40, deadline=None)
@given(
    df=drift_frames(min_rows=2),
    cuts=st.lists(st.floats(0, 1), max_size=4),
    cap=st.sampled_from([3, 100_000]),
)
def test_merged_profiles_of_a_split_equal_the_profile_of_the_whole(df, cuts, cap):
    bounds = sorted({0, df.height, *(int(c * df.height) for c in cuts)})
    kwargs = {"sketch_k": 16, "max_exact_values": cap}
    parts = [profile_data(df.slice(a, b - a), **kwargs) for a, b in itertools.pairwise(bounds)]
    merged = parts[0]
    for p in parts[1:]:
        merged = merged.merge(p)
    whole = profile_data(df, **kwargs)
    # Counts are exact; quantiles within the sketch's a-priori bound (k=16: 22%).
    _assert_same_profile(merged, whole, sketch_tol=3.5 / 16)


def test_profile_counts_match_a_direct_computation():
    df = pl.DataFrame(
        {
            "x": [1.0, 2.0, 2.0, None, float("nan"), 5.0],
            "s": ["a", None, "b", "a", "a", "b"],
            "b": [True, False, True, None, True, True],
        }
    )
    p = profile_data(df.lazy())
    assert p.n_rows == 6
    assert p["x"].n_missing == 2 and p["x"].null_rate == pytest.approx(2 / 6)
    assert_array_equal(p["x"].values, [1.0, 2.0, 5.0])
    assert_array_equal(p["x"].counts, [1, 2, 1])
    assert p["s"].category_counts() == {"a": 3, "b": 2}
    assert p["b"].category_counts() == {"false": 1, "true": 4}
    assert p["b"].n_missing == 1


def test_too_many_distinct_values_drop_the_exact_counts_but_keep_the_sketch():
    x = np.arange(1000.0)
    p = profile_data(pl.DataFrame({"x": x}), max_exact_values=50, sketch_k=64)
    assert p["x"].values is None and not p["x"].exact
    assert p["x"].sketch.n == 1000
    assert 0 < p["x"].rank_error() <= 3.5 / 64
    assert abs(p["x"].quantiles(np.array([0.5]))[0] - 499.5) <= 1000 * 3.5 / 64


def test_exact_quantiles_follow_numpy_linear_definition():
    rng = np.random.default_rng(1)
    x = rng.integers(0, 20, size=301).astype(float)
    p = profile_data(pl.DataFrame({"x": x}))
    qs = np.linspace(0, 1, 11)
    np.testing.assert_allclose(p["x"].quantiles(qs), np.quantile(x, qs), rtol=0, atol=1e-12)


def test_bin_counts_are_exact_from_counts_and_histogram():
    x = np.array([0.0, 1.0, 1.0, 2.0, 3.0, 3.0, 3.0, 9.0])
    edges = np.array([1.0, 3.0])
    p = profile_data(pl.DataFrame({"x": x}), bin_edges={"x": edges})
    from_hist, exact = p["x"].bin_counts(edges)
    assert exact
    assert_array_equal(from_hist, [3, 4, 1])  # (-inf, 1], (1, 3], (3, inf)
    p["x"].histogram = None
    assert_array_equal(p["x"].bin_counts(edges)[0], [3, 4, 1])


def test_parallel_profile_equals_sequential(tmp_path):
    rng = np.random.default_rng(0)
    df = pl.DataFrame({"x": rng.normal(size=500).round(2), "s": rng.choice(["a", "b"], 500)})
    seq = profile_data(df.lazy())
    par = profile_data(df.lazy(), n_jobs=2)
    _assert_same_profile(par, seq, sketch_tol=0.0)


def test_profile_pickles():
    df = pl.DataFrame({"x": [1.0, 2.0, 3.0], "s": ["a", "b", None]})
    p = profile_data(df)
    q = pickle.loads(pickle.dumps(p))
    _assert_same_profile(p, q, sketch_tol=0.0)


def test_merging_different_profiles_raises():
    a = profile_data(pl.DataFrame({"x": [1.0]}))
    b = profile_data(pl.DataFrame({"y": [1.0]}))
    with pytest.raises(ValueError, match="different columns"):
        a.merge(b)
    c = profile_data(pl.DataFrame({"x": ["a"]}))
    with pytest.raises(ValueError, match="column 'x' \\(numeric"):
        a.merge(c)
    with pytest.raises(TypeError, match="DataProfile"):
        a.merge(a["x"])
    assert isinstance(a["x"], ColumnProfile)


def test_unsupported_dtype_and_unknown_column_raise():
    df = pl.DataFrame({"l": [[1, 2]], "x": [1.0]})
    with pytest.raises(TypeError, match="column 'l' of dtype List"):
        profile_data(df)
    with pytest.raises(ValueError, match=r"column\(s\) \['nope'\]"):
        profile_data(df, columns=["nope"])
