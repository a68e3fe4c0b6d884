"""accuracy_score, confusion_matrix, log_loss against scikit-learn, in every input form."""

from __future__ import annotations

import warnings

import numpy as np
import polars as pl
import pytest
import sklearn.metrics as skm
from hypothesis import given, settings
from numpy.testing import assert_allclose, assert_array_equal

import scaleml as sm
from scaleml.metrics import accuracy_score, confusion_matrix, log_loss
from tests.strategies import metric_frames

CLASSES = np.array(["ant", "bird", "cat"])


def _frame(n: int = 300, seed: int = 0) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, n)
    pred = np.where(rng.random(n) < 0.6, y, rng.integers(0, 3, n))
    proba = rng.dirichlet([1.0, 2.0, 3.0], n)
    proba[:5] = np.eye(3)[y[:5]]  # exact 0 and 1: clipped to [eps, 1 - eps]
    return pl.DataFrame(
        {
            "y": y,
            "pred": pred,
            "label": CLASSES[y],
            "label_pred": CLASSES[pred],
            "proba_ant": proba[:, 0],
            "proba_bird": proba[:, 1],
            "proba_cat": proba[:, 2],
            "yb": y % 2,
            "pb": rng.random(n),
            "w": rng.uniform(0.0, 3.0, n),
            "wi": rng.integers(0, 4, n),
        }
    )


PROBAS = ["proba_ant", "proba_bird", "proba_cat"]


@pytest.mark.parametrize("weight", [None, "w"])
@pytest.mark.parametrize("columns", [("y", "pred"), ("label", "label_pred")], ids=["int", "str"])
def test_accuracy_matches_sklearn(form, weight, columns):
    df = _frame()
    y_true, y_pred = columns
    sw = df[weight].to_numpy() if weight else None
    expected = skm.accuracy_score(df[y_true], df[y_pred], sample_weight=sw)
    result = accuracy_score(**form(df, y_true=y_true, y_pred=y_pred, sample_weight=weight))
    assert isinstance(result, float)
    assert_allclose(result, expected, rtol=1e-12)


@pytest.mark.parametrize("weight", [None, "w"])
def test_accuracy_count_matches_sklearn(weight):
    df = _frame()
    sw = df[weight].to_numpy() if weight else None
    expected = skm.accuracy_score(df["y"], df["pred"], normalize=False, sample_weight=sw)
    result = accuracy_score("y", "pred", normalize=False, sample_weight=weight, data=df.lazy())
    assert_allclose(result, expected, rtol=1e-12)


@pytest.mark.parametrize("weight", [None, "w", "wi"])
def test_confusion_matrix_matches_sklearn(form, weight):
    df = _frame()
    sw = df[weight].to_numpy() if weight else None
    expected = skm.confusion_matrix(df["label"], df["label_pred"], sample_weight=sw)
    result = confusion_matrix(**form(df, y_true="label", y_pred="label_pred", sample_weight=weight))
    assert result.dtype == expected.dtype  # int64 unless the weights are floats
    assert_allclose(result, expected, rtol=1e-12)


@pytest.mark.parametrize("weight", [None, "w"])
@pytest.mark.parametrize("normalize", ["true", "pred", "all"])
def test_confusion_matrix_normalize_matches_sklearn(weight, normalize):
    df = _frame()
    sw = df[weight].to_numpy() if weight else None
    expected = skm.confusion_matrix(df["y"], df["pred"], sample_weight=sw, normalize=normalize)
    lf = df.lazy()
    result = confusion_matrix("y", "pred", sample_weight=weight, normalize=normalize, data=lf)
    assert_allclose(result, expected, rtol=1e-12)


@pytest.mark.parametrize("labels", [[2, 0], [0, 1, 2, 7], [5, 1]])
def test_confusion_matrix_labels_select_and_reorder(lazy_form, labels):
    df = _frame()
    expected = skm.confusion_matrix(df["y"], df["pred"], labels=labels)
    result = confusion_matrix(labels=labels, **lazy_form(df, y_true="y", y_pred="pred"))
    assert_array_equal(result, expected)


def test_confusion_matrix_single_label_warns_like_sklearn():
    lf = pl.LazyFrame({"y": [1, 1, 1], "p": [1, 1, 1]})
    with pytest.warns(UserWarning, match="A single label was found"):
        result = confusion_matrix("y", "p", data=lf)
    assert_array_equal(result, [[3]])


def test_confusion_matrix_empty_with_labels_is_zeros():
    lf = pl.LazyFrame({"y": [1, 2], "p": [1, 2]}).head(0)
    assert_array_equal(confusion_matrix("y", "p", data=lf, labels=[1, 2]), np.zeros((2, 2)))


@pytest.mark.parametrize("weight", [None, "w"])
@pytest.mark.parametrize("normalize", [True, False])
def test_log_loss_multiclass_matches_sklearn(form, weight, normalize):
    df = _frame()
    sw = df[weight].to_numpy() if weight else None
    expected = skm.log_loss(
        df["label"], df.select(PROBAS).to_numpy(), sample_weight=sw, normalize=normalize
    )
    kwargs = form(df, y_true="label", y_proba=PROBAS, sample_weight=weight)
    assert_allclose(log_loss(normalize=normalize, **kwargs), expected, rtol=1e-12)


@pytest.mark.parametrize("weight", [None, "w"])
def test_log_loss_binary_single_column_matches_sklearn(form, weight):
    df = _frame()
    sw = df[weight].to_numpy() if weight else None
    expected = skm.log_loss(df["yb"], df["pb"], sample_weight=sw)
    kwargs = form(df, y_true="yb", y_proba="pb", sample_weight=weight)
    assert_allclose(log_loss(**kwargs), expected, rtol=1e-12)


def test_log_loss_labels_with_an_unseen_class():
    df = _frame().filter(pl.col("y") < 2)
    proba = df.select(PROBAS).to_numpy()
    expected = skm.log_loss(df["y"], proba, labels=[0, 1, 2])
    assert_allclose(log_loss("y", PROBAS, labels=[0, 1, 2], data=df.lazy()), expected, rtol=1e-12)


def test_log_loss_warns_like_sklearn():
    lf = pl.LazyFrame(
        {"y": [0, 1, 2], "a": [0.5, 0.2, 0.1], "b": [0.2, 0.2, 0.1], "c": [0.3, 0.6, 0.8]}
    )
    with pytest.warns(UserWarning, match="assumes labels are ordered lexicographically"):
        log_loss("y", ["a", "b", "c"], data=lf, labels=[2, 1, 0])
    with pytest.warns(UserWarning, match="do not sum to one"):
        log_loss("y", ["a", "b", "a"], data=lf)


def test_log_loss_y_pred_is_deprecated_like_sklearn():
    lf = pl.LazyFrame({"y": [0, 1, 1], "p": [0.2, 0.7, 0.9]})
    with pytest.warns(FutureWarning, match="`y_pred` was renamed to `y_proba`"):
        result = log_loss("y", y_pred="p", data=lf)
    assert_allclose(result, skm.log_loss([0, 1, 1], [0.2, 0.7, 0.9]), rtol=1e-12)
    with pytest.raises(ValueError, match="Cannot use both `y_pred` and `y_proba`"):
        log_loss("y", "p", y_pred="p", data=lf)


def test_float32_probabilities_clip_at_float32_eps():
    p = np.array([0.0, 1.0, 0.25], dtype=np.float32)
    lf = pl.LazyFrame({"y": [1, 0, 1], "p": p})
    # scikit-learn computes in float32; the lazy path clips at float32's eps, in float64.
    assert_allclose(log_loss("y", "p", data=lf), skm.log_loss([1, 0, 1], p), rtol=1e-6)


def test_prediction_columns_of_a_lazy_estimator_output():
    """What an estimator's ``score`` does on lazy data: name its output columns."""
    df = _frame()
    lf = df.lazy().rename({"label": "target", "label_pred": "prediction"})
    expected = skm.accuracy_score(df["label"], df["label_pred"])
    assert accuracy_score("target", "prediction", data=lf) == expected
    assert sm.metrics.accuracy_score is accuracy_score


def test_eager_inputs_return_sklearns_result():
    df = _frame()
    assert accuracy_score(df["y"], df["pred"]) == skm.accuracy_score(df["y"], df["pred"])
    assert_array_equal(
        confusion_matrix(list(df["y"]), list(df["pred"])), skm.confusion_matrix(df["y"], df["pred"])
    )


@pytest.mark.parametrize(
    ("columns", "kwargs", "error", "match"),
    [
        (("y", "pf"), {}, ValueError, r"Input y_pred contains NaN\. \(y_pred \(column 'pf'\)"),
        (("yf", "y"), {}, ValueError, "Input y_true contains NaN"),
        (("y", "cont"), {}, ValueError, "can't handle a mix of multiclass and continuous targets"),
        (("ys", "y"), {}, ValueError, r"Mix of label input types \(string and number\)"),
        (("y", "yn"), {}, ValueError, r"Input y_pred contains missing values \(null\)"),
        (("y", "y"), {"sample_weight": "wn"}, ValueError, "Input sample_weight contains NaN"),
        (("y", "y"), {"sample_weight": "w0"}, ValueError, "at least one non-zero number"),
        (("y", "y"), {"sample_weight": "ys"}, ValueError, "sample_weight must be numeric"),
        (("y", "prediction"), {}, ValueError, r"y_pred='prediction' is not a column of data"),
        (("y", "lst"), {}, ValueError, "must hold class labels"),
    ],
)
def test_accuracy_bad_input(columns, kwargs, error, match):
    lf = pl.LazyFrame(
        {
            "y": [0, 1, 2],
            "pf": [0.0, np.nan, 2.0],
            "yf": [np.nan, 1.0, 1.0],
            "cont": [0.5, 1.0, 2.0],
            "ys": ["a", "b", "c"],
            "yn": [0, None, 1],
            "wn": [1.0, np.nan, 1.0],
            "w0": [0.0, 0.0, 0.0],
            "lst": [[1], [2], [3]],
        }
    )
    with pytest.raises(error, match=match):
        accuracy_score(*columns, data=lf, **kwargs)


def test_confusion_matrix_bad_labels():
    lf = pl.LazyFrame({"y": [0, 1], "p": [0, 1]})
    with pytest.raises(ValueError, match="At least one label specified must be in y_true"):
        confusion_matrix("y", "p", data=lf, labels=[5, 6])
    with pytest.raises(ValueError, match="'labels' should contain at least one label"):
        confusion_matrix("y", "p", data=lf, labels=[])


@pytest.mark.parametrize(
    ("proba", "kwargs", "match"),
    [
        (
            ["a", "b"],
            {"labels": [0, 1]},
            r"y_true contains values \{2\} not belonging to the passed labels",
        ),
        (["a", "b"], {}, "y_true and y_prob contain different number of classes: 3 vs 2"),
        (["a", "b", "big"], {}, "y_prob contains values greater than 1: 1.5"),
        (["a", "b", "neg"], {}, "y_prob contains values lower than 0: -0.5"),
        (["a", "b", "nan"], {}, r"Input contains NaN\. \(y_proba \(column 'nan'\)"),
        (["a", "b", "a"], {"labels": [0, 1, 2, 3]}, "number of classes in labels is different"),
    ],
)
def test_log_loss_bad_input(proba, kwargs, match):
    lf = pl.LazyFrame(
        {
            "y": [0, 1, 2],
            "a": [0.2, 0.3, 0.5],
            "b": [0.3, 0.3, 0.2],
            "big": [1.5, 0.4, 0.3],
            "neg": [0.5, -0.5, 0.3],
            "nan": [0.5, np.nan, 0.3],
        }
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        with pytest.raises(ValueError, match=match):
            log_loss("y", proba, data=lf, **kwargs)


def test_log_loss_single_class_is_an_error_like_sklearn():
    lf = pl.LazyFrame({"y": [1, 1], "p": [0.2, 0.9]})
    with pytest.raises(ValueError, match=r"y_true contains only one label \(1\)"):
        log_loss("y", "p", data=lf)


@settings(max_examples=40, deadline=None)
@given(df=metric_frames())
def test_lazy_equals_sklearn_on_random_data(df):
    y, pred, w = df["y"].to_numpy(), df["pred"].to_numpy(), df["w"].to_numpy()
    probas = [c for c in df.columns if c.startswith("p") and c[1:].isdigit()]
    lf = df.lazy()
    assert_allclose(
        accuracy_score("y", "pred", data=lf, sample_weight="w"),
        skm.accuracy_score(y, pred, sample_weight=w),
        rtol=1e-12,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # a single label in a tiny frame
        assert_array_equal(confusion_matrix("y", "pred", data=lf), skm.confusion_matrix(y, pred))
    assert_allclose(
        log_loss("y", probas, data=lf, sample_weight="w"),
        skm.log_loss(y, df.select(probas).to_numpy(), sample_weight=w),
        rtol=1e-12,
    )
