"""fit_many: every batch read once for all candidates, models equal to solo fits."""

from __future__ import annotations

import duckdb
import numpy as np
import polars as pl
import pytest
from numpy.testing import assert_allclose
from sklearn.base import clone

import scaleml as sm
from scaleml import _shared_scan
from scaleml.linear_model import _logistic
from scaleml.model_selection import fit_many, read_runs


@pytest.fixture
def parquet(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(3_000, 4))
    label = (X @ [1.0, -1.0, 0.5, 2.0] + rng.normal(size=3_000) > 0).astype(np.int64)
    df = pl.DataFrame(X, schema=[f"f{i}" for i in range(4)]).with_columns(
        label=pl.Series(label), target=pl.Series(X @ [2.0, 1.0, 0.0, -1.0])
    )
    path = tmp_path / "data.parquet"
    df.write_parquet(path)
    return str(path)


@pytest.fixture
def count_scans(monkeypatch):
    calls = []
    original = _shared_scan.iter_batches

    def counting(*args, **kwargs):
        calls.append(1)
        return original(*args, **kwargs)

    monkeypatch.setattr(_shared_scan, "iter_batches", counting)
    # Make LogisticRegression stream every pass instead of caching small data.
    monkeypatch.setattr(_logistic, "CACHE_BYTES", 0)
    return calls


def test_candidates_share_scans_and_equal_solo_fits(parquet, count_scans, tmp_path):
    Cs = [0.01, 0.1, 1.0, 10.0]
    candidates = [sm.LogisticRegression(C=c) for c in Cs]
    data = sm.scan(parquet).drop("target")
    fitted = fit_many(candidates, data, "label", log_to=tmp_path / "runs.duckdb")
    solo = [sm.LogisticRegression(C=c).fit(data, y="label") for c in Cs]
    for shared, alone in zip(fitted, solo, strict=True):
        assert_allclose(shared.coef_, alone.coef_, rtol=1e-12)
        assert_allclose(shared.intercept_, alone.intercept_, rtol=1e-12)
    total_passes = sum(m.n_passes_ for m in solo)
    assert len(count_scans) == max(m.n_passes_ for m in solo)
    assert len(count_scans) <= total_passes / len(Cs) + 3


def test_binary_lbfgs_candidates_are_fused_and_exactly_their_solo_fits(
    parquet, count_scans, monkeypatch
):
    # One kernel call per batch (and thread) updates every binary L-BFGS candidate; a
    # Newton-Cholesky one and a multiclass one take their own path. Every model is bit
    # for bit its solo fit (in memory, where the solo fits read row-major cached blocks).
    calls = []
    original = sm.LogisticRegression._update_states.__func__

    def counting(cls, ests, states, chunk):
        calls.append(len(ests))
        return original(cls, ests, states, chunk)

    monkeypatch.setattr(sm.LogisticRegression, "_update_states", classmethod(counting))
    binary = [
        sm.LogisticRegression(C=0.1),
        sm.LogisticRegression(C=10.0, class_weight={0: 2.0, 1: 0.5}),
        sm.LogisticRegression(C=1.0, fit_intercept=False),
    ]
    others = [sm.LogisticRegression(solver="newton-cholesky")]
    data = sm.scan(parquet)
    three = (pl.col("f0") > 0.5).cast(pl.Int64) + pl.col("label")
    fit_many([*binary, *others], data.drop("target"), "label", n_jobs=2, log_to=None)
    multi = sm.LogisticRegression()
    fit_many(
        [sm.LogisticRegression(C=0.1), multi],
        data.drop("target").with_columns(three.alias("label")),
        "label",
        log_to=None,
    )
    assert max(calls) >= 2  # fused: several candidates in one call
    monkeypatch.undo()
    frame = pl.read_parquet(parquet)
    for est in [*binary, *others]:
        alone = clone(est).fit(frame.drop("target"), y="label")
        np.testing.assert_array_equal(est.coef_, alone.coef_)
        np.testing.assert_array_equal(est.intercept_, alone.intercept_)
    assert multi.coef_.shape == (3, 4)
    alone = sm.LogisticRegression().fit(
        frame.drop("target").with_columns(three.alias("label")), y="label"
    )
    np.testing.assert_array_equal(multi.coef_, alone.coef_)


def test_run_log_has_a_row_per_candidate(parquet, tmp_path):
    log = tmp_path / "runs.duckdb"
    data = sm.scan(parquet).drop("label")
    fit_many([sm.Ridge(alpha=a) for a in (0.1, 1.0)], data, "target", log_to=log)
    fit_many([sm.LinearRegression()], data, "target", log_to=log)
    runs = read_runs(log)
    assert isinstance(runs, pl.DataFrame)
    assert runs.height == 3
    assert runs["run_id"].n_unique() == 2
    assert runs["estimator"].to_list() == ["Ridge", "Ridge", "LinearRegression"]
    assert '"alpha": 0.1' in runs["params"][0]
    assert runs["rows_seen"].to_list() == [3_000, 3_000, 3_000]
    assert (runs["fit_seconds"] > 0).all()
    assert runs["data_fingerprint"].n_unique() == 1
    assert "polars" in runs["versions"][0]


def test_mixed_estimators_and_a_duckdb_source(parquet):
    rel = duckdb.connect().read_parquet(parquet)
    models = fit_many(
        [sm.Ridge(alpha=1.0), sm.LinearRegression(), sm.PCA(n_components=2)],
        rel.select("f0", "f1", "f2", "f3", "target"),
        "target",
        log_to=None,
    )
    ref = sm.LinearRegression().fit(pl.read_parquet(parquet).drop("label"), y="target")
    assert_allclose(models[1].coef_, ref.coef_, rtol=1e-10)


def test_a_failing_candidate_is_named(parquet):
    data = sm.scan(parquet).drop("target")
    with pytest.raises(RuntimeError, match=r"estimator 1 \(LogisticRegression\(C=-1\)\) failed"):
        fit_many([sm.LogisticRegression(), sm.LogisticRegression(C=-1)], data, "label", log_to=None)
