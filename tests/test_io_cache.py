"""scaleml.io.cache_ipc: run a query once, read it back memory-mapped for later passes."""

from __future__ import annotations

import gc
import glob
import os
import tempfile

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from scaleml.io import cache_ipc


def _counted(calls: list[int]) -> pl.LazyFrame:
    """A LazyFrame that records every time the engine evaluates it."""

    def count(df: pl.DataFrame) -> pl.DataFrame:
        calls.append(df.height)
        return df.with_columns(c=pl.col("a") * 2)

    source = pl.LazyFrame({"a": list(range(1000)), "b": ["x", "y"] * 500})
    return source.map_batches(count, schema={"a": pl.Int64, "b": pl.String, "c": pl.Int64})


def test_the_query_runs_once_and_later_passes_read_the_file():
    calls: list[int] = []
    lf = _counted(calls)
    expected = lf.collect()
    calls.clear()
    cached = cache_ipc(lf)
    evaluated = len(calls)
    assert evaluated >= 1
    for _ in range(3):
        assert_frame_equal(cached.collect(), expected)
    assert len(calls) == evaluated


def test_temporary_file_is_removed_with_the_frame():
    pattern = os.path.join(tempfile.gettempdir(), "scaleml-cache-*")
    before = set(glob.glob(pattern))
    cached = cache_ipc(pl.LazyFrame({"a": [1.0, 2.0]}))
    after = set(glob.glob(pattern))
    (path,) = after - before
    assert cached.collect()["a"].to_list() == [1.0, 2.0]
    del cached
    gc.collect()
    assert not os.path.exists(path)


def test_given_path_is_kept_and_written_atomically(tmp_path):
    path = tmp_path / "data.arrow"
    cached = cache_ipc(pl.LazyFrame({"a": [1, 2, 3]}), path)
    del cached
    gc.collect()
    assert path.exists()
    assert pl.scan_ipc(path).collect()["a"].to_list() == [1, 2, 3]
    assert [p.name for p in tmp_path.iterdir()] == ["data.arrow"]


def test_failed_query_leaves_no_file(tmp_path):
    path = tmp_path / "data.arrow"
    bad = pl.LazyFrame({"a": ["1", "x"]}).select(pl.col("a").cast(pl.Int64, strict=True))
    with pytest.raises(pl.exceptions.InvalidOperationError):
        cache_ipc(bad, path)
    assert list(tmp_path.iterdir()) == []
