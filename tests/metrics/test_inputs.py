"""How every metric takes its inputs: arrays, column names of data=, lazy frames."""

from __future__ import annotations

import duckdb
import numpy as np
import polars as pl
import pytest
import sklearn.metrics as skm
from numpy.testing import assert_allclose

import scaleml as sm
from scaleml import metrics

# (ours, scikit-learn's, the second argument's column): every metric on the same frame.
METRICS = [
    (metrics.accuracy_score, skm.accuracy_score, "pred"),
    (metrics.confusion_matrix, skm.confusion_matrix, "pred"),
    (metrics.log_loss, skm.log_loss, "proba"),
    (metrics.roc_auc_score, skm.roc_auc_score, "proba"),
    (metrics.mean_squared_error, skm.mean_squared_error, "proba"),
    (metrics.r2_score, skm.r2_score, "proba"),
]
IDS = [m[0].__name__ for m in METRICS]


def _frame(n: int = 50) -> pl.DataFrame:
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, n)
    return pl.DataFrame(
        {"y": y, "pred": rng.integers(0, 2, n), "proba": rng.random(n), "w": rng.random(n)}
    )


def test_metrics_is_a_public_subpackage():
    assert sm.metrics is metrics
    assert set(metrics.__all__) == {m[0].__name__ for m in METRICS}


@pytest.mark.parametrize(("ours", "theirs", "second"), METRICS, ids=IDS)
def test_every_lazy_combination_matches_sklearn(ours, theirs, second):
    df = _frame()
    expected = theirs(df["y"].to_numpy(), df[second].to_numpy(), sample_weight=df["w"].to_numpy())
    lf = df.lazy()
    relation = duckdb.connect().from_arrow(df.select(second).to_arrow())
    combos = [
        ours("y", second, sample_weight="w", data=lf),
        ours("y", second, sample_weight=df["w"].to_numpy(), data=lf),  # in-memory weights
        ours(lf.select("y"), lf.select(second), sample_weight=lf.select("w")),
        ours(lf.select("y"), relation, sample_weight=df["w"]),  # mixed sources
        ours("y", second, sample_weight="w", data=df.to_pandas()),  # in-memory data=
    ]
    for result in combos:
        assert_allclose(result, expected, rtol=1e-12)


@pytest.mark.parametrize(("ours", "theirs", "second"), METRICS, ids=IDS)
def test_in_memory_inputs_are_sklearns(ours, theirs, second):
    df = _frame()
    for y, other in [(df["y"], df[second]), (df["y"].to_pandas(), df[second].to_list())]:
        assert_allclose(ours(y, other), theirs(np.asarray(y), np.asarray(other)))


@pytest.mark.parametrize(("ours", "theirs", "second"), METRICS, ids=IDS)
def test_inputs_of_different_lengths(ours, theirs, second):
    df = _frame()
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        ours(df.lazy().select("y"), df.lazy().select(second).head(40))


@pytest.mark.parametrize(("ours", "theirs", "second"), METRICS, ids=IDS)
def test_a_column_name_needs_data(ours, theirs, second):
    with pytest.raises(ValueError, match=r"y_true='y' is a column name, but data= was not given"):
        ours("y", second)


@pytest.mark.parametrize(("ours", "theirs", "second"), METRICS, ids=IDS)
def test_unknown_column_names_it_with_a_hint(ours, theirs, second):
    with pytest.raises(ValueError, match=r"y_true='yy' is not a column of data\. Hint: .*\['y'"):
        ours("yy", second, data=_frame().lazy())
    with pytest.raises(ValueError, match=r"sample_weight='ww' is not a column of data"):
        ours("y", second, sample_weight="ww", data=_frame().lazy())


def test_data_with_no_named_column():
    df = _frame()
    with pytest.raises(ValueError, match="none of the arguments names one of its columns"):
        metrics.accuracy_score(df["y"].to_numpy(), df["pred"].to_numpy(), data=df.lazy())


@pytest.mark.parametrize("ours", [metrics.accuracy_score, metrics.confusion_matrix])
def test_label_arguments_are_single_columns(ours):
    lf = _frame().lazy()
    with pytest.raises(
        ValueError, match=r"y_true must be a single column; got 2 columns \['y', 'pred'\]"
    ):
        ours(lf.select("y", "pred"), lf.select("pred"))
