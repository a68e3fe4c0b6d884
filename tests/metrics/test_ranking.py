"""roc_auc_score against scikit-learn, in every input form: exact, ties included."""

from __future__ import annotations

import warnings

import numpy as np
import polars as pl
import pytest
import sklearn.metrics as skm
from hypothesis import given, settings
from numpy.testing import assert_allclose
from sklearn.exceptions import UndefinedMetricWarning

from scaleml.metrics import _auc, roc_auc_score
from tests.strategies import metric_frames

PROBAS = ["proba_a", "proba_b", "proba_c"]


def _frame(n: int = 300, seed: int = 0) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, n)
    # Coarse scores: many ties, handled as one point of the curve.
    tied = np.round(rng.random(n) * 0.6 + 0.4 * (y % 2), 1)
    proba = rng.dirichlet([1.0, 1.0, 1.0], n) * 0.5 + 0.5 * np.eye(3)[y]
    return pl.DataFrame(
        {
            "y": y,
            "label": np.array(["no", "yes", "maybe"])[y],
            "yb": y % 2,
            "sb": np.array(["no", "yes"])[y % 2],
            "score": rng.normal(size=n) + (y % 2),
            "tied": tied,
            **{name: proba[:, i] for i, name in enumerate(PROBAS)},
            "w": rng.uniform(0.0, 2.0, n),
        }
    )


@pytest.mark.parametrize("weight", [None, "w"])
@pytest.mark.parametrize("score", ["score", "tied"])
def test_binary_matches_sklearn(form, weight, score):
    df = _frame()
    sw = df[weight].to_numpy() if weight else None
    expected = skm.roc_auc_score(df["yb"], df[score], sample_weight=sw)
    result = roc_auc_score(**form(df, y_true="yb", y_score=score, sample_weight=weight))
    assert isinstance(result, float)
    assert_allclose(result, expected, rtol=1e-12)


def test_string_labels_take_the_greater_label_as_positive(lazy_form):
    df = _frame()
    expected = skm.roc_auc_score(df["sb"], df["tied"])
    assert_allclose(
        roc_auc_score(**lazy_form(df, y_true="sb", y_score="tied")), expected, rtol=1e-12
    )


@pytest.mark.parametrize("weight", [None, "w"])
@pytest.mark.parametrize("max_fpr", [0.05, 0.3, 0.5, 1.0])
def test_partial_auc_matches_sklearn(weight, max_fpr):
    df = _frame()
    sw = df[weight].to_numpy() if weight else None
    for score in ("score", "tied"):
        expected = skm.roc_auc_score(df["yb"], df[score], sample_weight=sw, max_fpr=max_fpr)
        result = roc_auc_score("yb", score, sample_weight=weight, max_fpr=max_fpr, data=df.lazy())
        assert_allclose(result, expected, rtol=1e-12)


@pytest.mark.parametrize("max_fpr", [None, 0.2])
def test_curve_streamed_in_many_batches(monkeypatch, max_fpr):
    """The running totals carried from batch to batch give the one-batch result."""
    monkeypatch.setattr(_auc, "_BATCH_ROWS", 7)
    df = _frame()
    for score, weight in (("score", None), ("tied", "w")):
        sw = df[weight].to_numpy() if weight else None
        expected = skm.roc_auc_score(df["yb"], df[score], sample_weight=sw, max_fpr=max_fpr)
        result = roc_auc_score("yb", score, sample_weight=weight, max_fpr=max_fpr, data=df.lazy())
        assert_allclose(result, expected, rtol=1e-12)


@pytest.mark.parametrize("weight", [None, "w"])
def test_multiclass_ovr_matches_sklearn(lazy_form, weight):
    df = _frame()
    sw = df[weight].to_numpy() if weight else None
    proba = df.select(PROBAS).to_numpy()
    expected = skm.roc_auc_score(df["label"], proba, multi_class="ovr", sample_weight=sw)
    kwargs = lazy_form(df, y_true="label", y_score=PROBAS, sample_weight=weight)
    assert_allclose(roc_auc_score(multi_class="ovr", **kwargs), expected, rtol=1e-12)


@pytest.mark.parametrize("weight", [None, "w"])
@pytest.mark.parametrize("average", ["weighted", "micro", None])
def test_multiclass_ovr_averages_match_sklearn(weight, average):
    df = _frame()
    sw = df[weight].to_numpy() if weight else None
    proba = df.select(PROBAS).to_numpy()
    expected = skm.roc_auc_score(
        df["label"], proba, multi_class="ovr", average=average, sample_weight=sw
    )
    lf = df.lazy()
    kwargs = {"multi_class": "ovr", "average": average, "sample_weight": weight}
    assert_allclose(roc_auc_score("label", PROBAS, data=lf, **kwargs), expected, rtol=1e-12)


@pytest.mark.parametrize("average", ["macro", "weighted"])
def test_multiclass_ovo_matches_sklearn(average):
    df = _frame()
    expected = skm.roc_auc_score(
        df["y"], df.select(PROBAS).to_numpy(), multi_class="ovo", average=average
    )
    result = roc_auc_score("y", PROBAS, multi_class="ovo", average=average, data=df.lazy())
    assert_allclose(result, expected, rtol=1e-12)


@pytest.mark.parametrize("multi_class", ["ovr", "ovo"])
def test_multiclass_labels_with_a_class_absent_from_y_true(multi_class):
    df = _frame().filter(pl.col("y") < 2)
    proba = df.select(PROBAS).to_numpy()
    kwargs = {"multi_class": multi_class, "labels": [0, 1, 2]}
    with warnings.catch_warnings(record=True):
        warnings.simplefilter("always")
        expected = skm.roc_auc_score(df["y"], proba, **kwargs)
        result = roc_auc_score("y", PROBAS, data=df.lazy(), **kwargs)
    assert_allclose(result, expected, rtol=1e-12, equal_nan=True)


def test_a_single_class_warns_and_returns_nan_like_sklearn():
    lf = pl.LazyFrame({"y": [1, 1, 1], "s": [0.1, 0.5, 0.9]})
    with pytest.warns(UndefinedMetricWarning, match="Only one class is present in y_true"):
        assert np.isnan(roc_auc_score("y", "s", data=lf))


def test_zero_weights_drop_their_rows_like_sklearn():
    y, s, w = [0, 1, 0, 1, 1], [0.2, 0.2, 0.7, 0.9, 0.1], [1.0, 0.0, 2.0, 1.0, 0.0]
    lf = pl.LazyFrame({"y": y, "s": s, "w": w})
    expected = skm.roc_auc_score(y, s, sample_weight=w)
    assert_allclose(roc_auc_score("y", "s", sample_weight="w", data=lf), expected, rtol=1e-12)


@pytest.mark.parametrize(
    ("args", "kwargs", "match"),
    [
        (("y", "nan"), {}, r"Input contains NaN\. \(y_score \(column\(s\) \['nan'\]\)"),
        (("y", "inf"), {}, "Input contains infinity"),
        (("y", ["s", "s2"]), {}, r"y should be a 1d array, got an array of shape \(4, 2\).*Hint"),
        (("s", "s"), {}, "continuous format is not supported"),
        (("y3", "s"), {}, r"multi_class must be in \('ovo', 'ovr'\)"),
        (("y3", "s"), {"multi_class": "ovr"}, r"`y_score` needs to be of shape"),
        (("y3", ["s", "s2"]), {"multi_class": "ovr"}, "Number of classes in y_true not equal"),
        (("y3", ["s", "s2", "s"]), {"multi_class": "ovr"}, "should sum up to 1.0 over classes"),
        (("y3", ["p0", "p1", "p2"]), {"multi_class": "ovr", "max_fpr": 0.5}, "Partial AUC"),
        (
            ("y3", ["p0", "p1", "p2"]),
            {"multi_class": "ovr", "labels": [0, 1, 3]},
            "not in parameter",
        ),
        (
            ("y3", ["p0", "p1", "p2"]),
            {"multi_class": "ovr", "labels": [2, 1, 0]},
            "must be ordered",
        ),
        (
            ("y3", ["p0", "p1", "p2"]),
            {"multi_class": "ovr", "average": "samples"},
            "average must be",
        ),
        (("y3", ["p0", "p1", "p2"]), {"multi_class": "ovo", "sample_weight": "s"}, "not supported"),
        (("y", "s"), {"sample_weight": "nan"}, "Input sample_weight contains NaN"),
        (("y", "s"), {"sample_weight": "zero"}, "at least one non-zero number"),
        (("y", "yn"), {}, r"y_score='yn' is not a column of data\. Hint: .*'y'"),
    ],
)
def test_bad_input(args, kwargs, match):
    lf = pl.LazyFrame(
        {
            "y": [0, 1, 1, 0],
            "y3": [0, 1, 2, 2],
            "s": [0.1, 0.4, 0.35, 0.8],
            "s2": [0.9, 0.6, 0.65, 0.2],
            "nan": [0.1, np.nan, 0.3, 0.2],
            "inf": [0.1, np.inf, 0.3, 0.2],
            "p0": [0.5, 0.2, 0.1, 0.1],
            "p1": [0.3, 0.6, 0.1, 0.2],
            "p2": [0.2, 0.2, 0.8, 0.7],
            "zero": [0.0, 0.0, 0.0, 0.0],
        }
    )
    with pytest.raises((ValueError, NotImplementedError), match=match):
        roc_auc_score(*args, data=lf, **kwargs)


def test_length_mismatch_is_reported_through_duckdb():
    y, s = pl.LazyFrame({"y": [0, 1] * 5000}), pl.LazyFrame({"s": np.linspace(0, 1, 9999)})
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        roc_auc_score(y, s)


@settings(max_examples=25, deadline=None)
@given(df=metric_frames())
def test_lazy_equals_sklearn_on_random_data(df):
    """Ties (scores on a coarse grid) and weights included."""
    yb, score, w = df["y"].to_numpy() % 2, df["score"].to_numpy(), df["w"].to_numpy()
    lf = df.lazy().with_columns(yb=pl.col("y") % 2)
    for sw, weight in ((None, None), (w, "w")):
        expected = skm.roc_auc_score(yb, score, sample_weight=sw)
        assert_allclose(
            roc_auc_score("yb", "score", sample_weight=weight, data=lf), expected, rtol=1e-12
        )
    probas = [c for c in df.columns if c.startswith("p") and c[1:].isdigit()]
    if len(probas) > 2:
        expected = skm.roc_auc_score(
            df["y"], df.select(probas).to_numpy(), multi_class="ovr", sample_weight=w
        )
        result = roc_auc_score("y", probas, multi_class="ovr", sample_weight="w", data=lf)
        assert_allclose(result, expected, rtol=1e-12)
