"""mean_squared_error and r2_score against scikit-learn, in every input form."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
import sklearn.metrics as skm
from hypothesis import given, settings
from numpy.testing import assert_allclose
from sklearn.exceptions import UndefinedMetricWarning

from scaleml.metrics import _regression, mean_squared_error, r2_score
from tests.strategies import metric_frames

METRICS = [(mean_squared_error, skm.mean_squared_error), (r2_score, skm.r2_score)]
IDS = ["mse", "r2"]


def _frame(n: int = 200, seed: int = 0, offset: float = 0.0) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    t = rng.normal(offset, [1.0, 3.0], size=(n, 2))
    p = t + rng.normal(0.0, 0.5, size=(n, 2))
    return pl.DataFrame(
        {"t0": t[:, 0], "t1": t[:, 1], "p0": p[:, 0], "p1": p[:, 1], "w": rng.uniform(0, 2, n)}
    )


@pytest.mark.parametrize(("ours", "theirs"), METRICS, ids=IDS)
@pytest.mark.parametrize("weight", [None, "w"])
def test_single_output_matches_sklearn(form, ours, theirs, weight):
    df = _frame()
    sw = df[weight].to_numpy() if weight else None
    expected = theirs(df["t0"], df["p0"], sample_weight=sw)
    result = ours(**form(df, y_true="t0", y_pred="p0", sample_weight=weight))
    assert isinstance(result, float)
    assert_allclose(result, expected, rtol=1e-12)


@pytest.mark.parametrize(("ours", "theirs"), METRICS, ids=IDS)
@pytest.mark.parametrize("multioutput", ["raw_values", "uniform_average", [0.3, 0.7]])
def test_multioutput_matches_sklearn(lazy_form, ours, theirs, multioutput):
    df = _frame()
    t, p = df.select("t0", "t1").to_numpy(), df.select("p0", "p1").to_numpy()
    expected = theirs(t, p, sample_weight=df["w"].to_numpy(), multioutput=multioutput)
    kwargs = lazy_form(df, y_true=["t0", "t1"], y_pred=["p0", "p1"], sample_weight="w")
    assert_allclose(ours(multioutput=multioutput, **kwargs), expected, rtol=1e-12)


@pytest.mark.parametrize("multioutput", ["variance_weighted", None])
def test_r2_variance_weighted_matches_sklearn(multioutput):
    df = _frame()
    t, p = df.select("t0", "t1").to_numpy(), df.select("p0", "p1").to_numpy()
    expected = skm.r2_score(t, p, multioutput=multioutput)
    result = r2_score(["t0", "t1"], ["p0", "p1"], multioutput=multioutput, data=df.lazy())
    assert_allclose(result, expected, rtol=1e-12)


@pytest.mark.parametrize("weight", [None, "w"])
def test_r2_large_mean_takes_a_centred_second_pass(monkeypatch, weight):
    """|mean| >> std makes S_wyy - S_wy^2/S_w cancel: the second pass keeps R^2 exact."""
    df = _frame(offset=1e6)
    calls = []
    centred = _regression._centred_squares

    def spy(sums):
        calls.append(sums)
        return centred(sums)

    monkeypatch.setattr(_regression, "_centred_squares", spy)
    sw = df[weight].to_numpy() if weight else None
    expected = skm.r2_score(df["t0"], df["p0"], sample_weight=sw)
    result = r2_score("t0", "p0", sample_weight=weight, data=df.lazy())
    assert_allclose(result, expected, rtol=1e-12)
    one_pass = calls[0].stats["swtt0"] - calls[0].stats["swt0"] ** 2 / calls[0].stats["sw"]
    assert abs(one_pass / expected - 1) > 1e-6 or expected == 0  # the one pass would be wrong


@pytest.mark.parametrize("force_finite", [True, False])
@pytest.mark.parametrize("pred", [[2.0, 2.0, 2.0], [1.0, 2.0, 3.0]], ids=["perfect", "off"])
def test_r2_constant_target_matches_sklearn(force_finite, pred):
    lf = pl.LazyFrame({"t": [2.0, 2.0, 2.0], "p": pred})
    with np.errstate(divide="ignore", invalid="ignore"):
        expected = skm.r2_score([2.0, 2.0, 2.0], pred, force_finite=force_finite)
        result = r2_score("t", "p", force_finite=force_finite, data=lf)
    assert_allclose(result, expected)


def test_r2_single_sample_warns_like_sklearn():
    lf = pl.LazyFrame({"t": [1.0], "p": [2.0]})
    with pytest.warns(UndefinedMetricWarning, match="less than two samples"):
        assert np.isnan(r2_score("t", "p", data=lf))


def test_integer_and_boolean_columns_are_numbers():
    lf = pl.LazyFrame({"t": [1, 2, 3], "p": [True, False, True]})
    assert mean_squared_error("t", "p", data=lf) == skm.mean_squared_error([1, 2, 3], [1, 0, 1])


@pytest.mark.parametrize("metric", [mean_squared_error, r2_score], ids=IDS)
@pytest.mark.parametrize(
    ("args", "kwargs", "match"),
    [
        (("t", "nan"), {}, r"Input contains NaN\. \(y_pred \(column 'nan'\)"),
        (("inf", "t"), {}, r"Input contains infinity .*y_true \(column 'inf'\)"),
        (("t", "s"), {}, r"y_pred \(column 's'\) must be numeric; got dtype String"),
        (("t", ["t", "t"]), {}, r"different number of output \(1!=2\)"),
        (("t", "t"), {"multioutput": [0.5, 0.5]}, "Custom weights are useful only in multi-output"),
        ((["t", "t"], ["t", "t"]), {"multioutput": [1.0]}, "equally many custom weights"),
        (("t", "t"), {"sample_weight": "nan"}, "Input sample_weight contains NaN"),
        (("t", "tt"), {}, r"y_pred='tt' is not a column of data\. Hint: .*\['t'"),
    ],
)
def test_bad_input(metric, args, kwargs, match):
    lf = pl.LazyFrame(
        {
            "t": [1.0, 2.0, 3.0],
            "nan": [1.0, None, 2.0],
            "inf": [np.inf, 1.0, 2.0],
            "s": ["a", "b", "c"],
        }
    )
    with pytest.raises(ValueError, match=match):
        metric(*args, data=lf, **kwargs)


@settings(max_examples=40, deadline=None)
@given(df=metric_frames())
def test_lazy_equals_sklearn_on_random_data(df):
    t, r, w = df["t"].to_numpy(), df["r"].to_numpy(), df["w"].to_numpy()
    for ours, theirs in METRICS:
        expected = theirs(t, r, sample_weight=w)
        assert_allclose(ours("t", "r", sample_weight="w", data=df.lazy()), expected, rtol=1e-12)
        expected = theirs(t, r)
        assert_allclose(ours(pl.LazyFrame({"t": t}), pl.LazyFrame({"r": r})), expected, rtol=1e-12)
