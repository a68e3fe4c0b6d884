"""DriftMonitor: statistics against scipy and hand computations, for every input kind."""

from __future__ import annotations

import math
import pickle

import numpy as np
import polars as pl
import pytest
from scipy.spatial.distance import jensenshannon
from scipy.stats import chi2_contingency, ks_2samp
from sklearn.exceptions import NotFittedError
from sklearn.utils._param_validation import InvalidParameterError
from sklearn.utils.estimator_checks import parametrize_with_checks

from scaleml.monitoring import DriftMonitor, profile_data


def _frames(seed: int = 0, n_ref: int = 1500, n_cur: int = 1200, shift: float = 0.3):
    rng = np.random.default_rng(seed)

    def frame(n: int, loc: float, probs: list[float]) -> pl.DataFrame:
        x = rng.normal(loc, 1.0, size=n).round(2)  # ties on purpose
        x[rng.random(n) < 0.05] = np.nan
        return pl.DataFrame(
            {
                "x": x,
                "k": rng.integers(0, 8, size=n).astype(np.float64),
                "c": rng.choice(["a", "b", "c"], n, p=probs),
            }
        )

    return frame(n_ref, 0.0, [0.5, 0.3, 0.2]), frame(n_cur, shift, [0.4, 0.3, 0.3])


def _row(table: pl.DataFrame, column: str) -> dict:
    return table.filter(pl.col("column") == column).row(0, named=True)


@pytest.mark.parametrize("shift", [0.0, 0.3])
def test_ks_equals_scipy_for_every_input_kind(constructor, shift):
    ref, cur = _frames(shift=shift)
    names = ["x0", "x1"] if constructor.kind == "numpy" else ["x", "k"]
    if constructor.kind == "numpy":  # a numeric array cannot hold the string column
        ref, cur = ref.drop("c"), cur.drop("c")
    table = DriftMonitor().fit(constructor(ref)).score(constructor(cur))
    for name, col in zip(names, ["x", "k"], strict=True):
        a = ref[col].drop_nans().to_numpy()
        b = cur[col].drop_nans().to_numpy()
        expected = ks_2samp(a, b, method="asymp")
        row = _row(table, name)
        assert row["ks_statistic"] == expected.statistic  # bit for bit
        assert row["ks_pvalue"] == pytest.approx(expected.pvalue, rel=1e-10, abs=1e-300)
        assert row["ks_error_bound"] == 0.0


def test_psi_and_js_match_a_hand_computation():
    # Three values: one bin each (plus the empty bins below and above).
    ref = pl.DataFrame(
        {"v": [1.0] * 25 + [2.0] * 25 + [3.0] * 50, "s": ["a"] * 25 + ["b"] * 25 + ["c"] * 50}
    )
    cur = pl.DataFrame(
        {"v": [1.0] * 40 + [2.0] * 30 + [3.0] * 30, "s": ["a"] * 40 + ["b"] * 30 + ["c"] * 30}
    )
    table = DriftMonitor(n_bins=3).fit(ref).score(cur)
    # sum (q - p) ln(q / p) over the bins 1, 2, 3 with p = .25 .25 .50, q = .40 .30 .30
    expected = (
        0.15 * math.log(0.40 / 0.25) + 0.05 * math.log(0.30 / 0.25) + 0.20 * math.log(0.50 / 0.30)
    )
    assert expected == pytest.approx(0.1817818, abs=1e-7)
    js = jensenshannon([0.25, 0.25, 0.5], [0.4, 0.3, 0.3], base=2)
    for column in ("v", "s"):
        row = _row(table, column)
        assert row["psi"] == pytest.approx(expected, rel=1e-12)
        assert row["js_distance"] == pytest.approx(js, rel=1e-12)
    assert _row(table, "v")["drifted"] and _row(table, "v")["reasons"] == "js"


def test_psi_on_quantile_bins_matches_numpy():
    ref = pl.DataFrame({"v": np.arange(100.0)})
    cur_values = np.random.default_rng(3).uniform(-10, 120, size=300)
    table = DriftMonitor(n_bins=4).fit(ref).score(pl.DataFrame({"v": cur_values}))
    edges = np.quantile(np.arange(100.0), [0.25, 0.5, 0.75])
    p = np.full(4, 0.25)
    q = np.bincount(np.searchsorted(edges, cur_values, side="left"), minlength=4) / 300
    assert _row(table, "v")["psi"] == pytest.approx(np.sum((q - p) * np.log(q / p)), rel=1e-12)


def test_chi2_matches_scipy_with_unseen_categories():
    ref = pl.DataFrame({"c": ["a"] * 60 + ["b"] * 30 + ["c"] * 10})
    cur = pl.DataFrame({"c": ["a"] * 40 + ["b"] * 35 + ["d"] * 5})
    row = _row(DriftMonitor().fit(ref).score(cur), "c")
    expected = chi2_contingency(np.array([[60, 30, 10, 0], [40, 35, 0, 5]]), correction=False)
    assert row["chi2_statistic"] == pytest.approx(expected.statistic, rel=1e-12)
    assert row["chi2_pvalue"] == pytest.approx(expected.pvalue, rel=1e-10)
    assert row["ks_statistic"] is None and row["kind"] == "categorical"
    assert row["drifted"] and "chi2" in row["reasons"]


def test_null_rate_change_is_reported_and_triggers_drift():
    ref = pl.DataFrame({"x": [1.0, 2.0, None, 4.0] * 25})
    cur = pl.DataFrame({"x": [1.0, None, None, 4.0] * 25})
    monitor = DriftMonitor(psi_threshold=None, js_threshold=None, ks_alpha=None)
    row = _row(monitor.fit(ref).score(cur), "x")
    assert (row["null_rate_ref"], row["null_rate_cur"]) == (0.25, 0.5)
    assert row["null_rate_change"] == pytest.approx(0.25)
    assert row["drifted"] and row["reasons"] == "null_rate"
    monitor.set_params(null_rate_threshold=None)
    assert not monitor.score(cur)["drifted"].any()


def test_identical_data_does_not_drift_and_drift_attributes_are_set():
    ref, cur = _frames(shift=1.0)
    monitor = DriftMonitor().fit(ref.lazy())
    same = monitor.score(ref)
    assert not same["drifted"].any() and not monitor.drifted_ and monitor.drifted_columns_ == []
    assert same["psi"].to_list() == [0.0, 0.0, 0.0]
    assert same["ks_statistic"].to_list()[:2] == [0.0, 0.0]
    table = monitor.score(cur)
    assert monitor.drifted_ and "x" in monitor.drifted_columns_
    assert table.equals(monitor.scores_)
    assert table.columns[:2] == ["column", "kind"] and table.height == 3


def test_partial_fit_over_partitions_equals_fit_on_the_whole(tmp_path):
    ref, cur = _frames()
    for i, start in enumerate(range(0, ref.height, 400)):
        ref.slice(start, 400).write_parquet(tmp_path / f"day-{i}.parquet")
    whole = DriftMonitor().fit(ref).score(cur)
    monitor = DriftMonitor()
    for i in range(4):
        monitor.partial_fit(str(tmp_path / f"day-{i}.parquet"))
    assert monitor.score(cur).equals(whole)
    globbed = DriftMonitor().fit(str(tmp_path / "*.parquet")).score(cur)
    assert globbed.equals(whole)
    # Profiles merge too, and a profile can be the current data.
    merged = profile_data(ref.head(700)).merge(profile_data(ref.tail(800)))
    assert DriftMonitor().fit(merged).score(cur).equals(whole)
    assert (
        DriftMonitor()
        .fit(ref)
        .score(profile_data(cur))
        .drop("psi", "js_distance")
        .equals(whole.drop("psi", "js_distance"))
    )


def test_sketch_fallback_is_within_its_error_bound():
    rng = np.random.default_rng(5)
    ref = pl.DataFrame({"x": rng.normal(size=6000)})
    cur = pl.DataFrame({"x": rng.normal(0.1, size=5000)})
    row = _row(DriftMonitor(max_exact_values=100, sketch_k=64).fit(ref).score(cur), "x")
    exact = ks_2samp(ref["x"].to_numpy(), cur["x"].to_numpy()).statistic
    assert 0 < row["ks_error_bound"] < 0.2
    assert abs(row["ks_statistic"] - exact) <= row["ks_error_bound"]


def test_monitor_pickles_and_scores_the_same():
    ref, cur = _frames()
    monitor = DriftMonitor().fit(ref)
    restored = pickle.loads(pickle.dumps(monitor))
    assert restored.score(cur).equals(monitor.score(cur))


def test_columns_parameter_and_n_jobs():
    ref, cur = _frames()
    import polars.selectors as cs

    table = DriftMonitor(columns=cs.numeric(), n_jobs=2).fit(ref).score(cur)
    assert table["column"].to_list() == ["x", "k"]
    assert table.equals(DriftMonitor(columns=["x", "k"]).fit(ref).score(cur))


def test_bad_input_raises_clear_errors():
    ref, cur = _frames()
    with pytest.raises(NotFittedError):
        DriftMonitor().score(cur)
    monitor = DriftMonitor().fit(ref)
    with pytest.raises(ValueError, match=r"lacks the monitored column\(s\) \['x'\].*Did you mean"):
        monitor.score(cur.rename({"x": "x_"}))
    with pytest.raises(
        TypeError, match="Column 'c' was categorical in the reference but is numeric"
    ):
        monitor.score(cur.with_columns(c=pl.lit(1.0)))
    with pytest.raises(ValueError, match=r"columns=\['nope'\]"):
        DriftMonitor(columns=["nope"]).fit(ref)
    with pytest.raises(InvalidParameterError, match="n_bins"):
        DriftMonitor(n_bins=1).fit(ref)
    with pytest.raises(InvalidParameterError, match="ks_alpha"):
        DriftMonitor(ks_alpha=2.0).fit(ref)


@parametrize_with_checks(
    [DriftMonitor()],
    expected_failed_checks=lambda est: {
        "check_pipeline_consistency": "score returns a table of statistics, not a number"
    },
)
def test_sklearn_compatible(estimator, check):
    check(estimator)


def test_empty_and_sparse_input_raise():
    with pytest.raises(ValueError, match="0 sample"):
        DriftMonitor().fit(pl.DataFrame({"x": []}, schema={"x": pl.Float64}))
    from scipy import sparse

    with pytest.raises(TypeError, match=r"[Ss]parse"):
        DriftMonitor().fit(sparse.csr_matrix(np.eye(3)))
    monitor = DriftMonitor().fit(np.ones((5, 2)))
    with pytest.raises(ValueError, match=r"X has 1 features, but DriftMonitor is expecting 2"):
        monitor.score(np.ones((5, 1)))
