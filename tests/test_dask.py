"""Fitting on a dask DataFrame: partitions folded on the workers, states merged as a tree."""

from __future__ import annotations

import os
import threading
import time

import numpy as np
import polars as pl
import pytest
from numpy.testing import assert_allclose

import scaleml as sm
from scaleml import _fit

dd = pytest.importorskip(
    "dask.dataframe", reason="dask is an optional extra: pip install scaleml[dask]"
)
distributed = pytest.importorskip("distributed", reason="dask is an optional extra")
pd = pytest.importorskip("pandas")


def _frame(n: int = 2_000) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    df = pd.DataFrame(
        rng.normal([1.0, -2.0, 5.0], [1.0, 3.0, 0.5], size=(n, 3)), columns=list("abc")
    )
    df["s"] = np.where(df["a"] > 1.0, "hi", "lo")
    return df


@pytest.fixture(scope="module")
def client():
    cluster = distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None, host="127.0.0.1"
    )
    with cluster, distributed.Client(cluster) as c:
        yield c


def test_dask_dataframe_scans_as_a_lazyframe():
    df = _frame()
    lf = sm.scan(dd.from_pandas(df, npartitions=5))
    assert isinstance(lf, pl.LazyFrame)
    assert lf.collect_schema() == pl.Schema(
        {"a": pl.Float64, "b": pl.Float64, "c": pl.Float64, "s": pl.String}
    )
    assert (
        lf.filter(pl.col("s") == "hi").select(pl.len()).collect().item() == (df["s"] == "hi").sum()
    )


def test_fit_maps_partitions_on_the_cluster_and_equals_serial(client, monkeypatch):
    calls = []
    original = _fit.reduce_partition_states
    monkeypatch.setattr(_fit, "reduce_partition_states", lambda *a: calls.append(1) or original(*a))
    df = _frame()
    ddf = dd.from_pandas(df, npartitions=7)
    est = sm.StandardScaler(columns=["a", "b", "c"]).fit(ddf)
    ref = sm.StandardScaler(columns=["a", "b", "c"]).fit(df)
    assert calls, "the fit did not go through the distributed driver"
    assert_allclose(est.mean_, ref.mean_, rtol=1e-12)
    assert_allclose(est.scale_, ref.scale_, rtol=1e-12)
    enc = sm.OneHotEncoder(columns=["s"]).fit(ddf)
    assert enc.categories_[0].tolist() == ["hi", "lo"]
    out = est.transform(ddf)
    assert isinstance(out, pl.LazyFrame)
    assert_allclose(
        out.select("a").collect().to_numpy().ravel(),
        ref.transform(df)[:, 0].astype(float),
        rtol=1e-12,
    )


def _slow(pdf: pd.DataFrame) -> pd.DataFrame:
    time.sleep(0.25)
    return pdf


def test_worker_killed_mid_fit_is_retried_and_result_equals_serial(client):
    df = _frame(6_000)
    ddf = dd.from_pandas(df, npartitions=16).map_partitions(_slow)
    result: dict[str, object] = {}
    fit = threading.Thread(
        target=lambda: result.update(est=sm.StandardScaler(columns=["a", "b", "c"]).fit(ddf))
    )
    fit.start()
    deadline = time.monotonic() + 30
    while not any(client.processing().values()) and time.monotonic() < deadline:
        time.sleep(0.05)
    victim = next(iter(client.scheduler_info()["workers"]))
    try:
        client.run(os._exit, 1, workers=[victim])
    except Exception:  # the worker dies before it can answer
        pass
    fit.join(timeout=120)
    assert "est" in result, "the fit did not finish after a worker was killed"
    ref = sm.StandardScaler(columns=["a", "b", "c"]).fit(df)
    assert_allclose(result["est"].mean_, ref.mean_, rtol=1e-12)
    assert_allclose(result["est"].var_, ref.var_, rtol=1e-12)
