"""to_sklearn: the scikit-learn namesake predicts and transforms as the scaleml estimator."""

from __future__ import annotations

import importlib.util
import pickle

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.base import clone
from sklearn.compose import ColumnTransformer
from sklearn.pipeline import Pipeline, make_pipeline

import scaleml as sm
from scaleml.export import to_sklearn
from tests.conftest import to_numpy
from tests.export._cases import CASES, COMPLETE, MIXED, NUMERIC, full_pipeline, make_data


def _compare(a, b, method: str) -> None:
    a, b = np.asarray(to_numpy(a) if method != "predict" else a), np.asarray(b)
    if method == "predict" and a.dtype.kind not in "f":
        assert_array_equal(a, b)
    else:
        assert_allclose(to_numpy(a), to_numpy(b), rtol=1e-12, atol=1e-12, equal_nan=True)


def _sklearn_part(sk):
    first = sk.steps[0][1] if isinstance(sk, Pipeline) else sk
    return first.transformers_[0][1] if isinstance(first, ColumnTransformer) else first


def _round_trip(sk):
    restored = pickle.loads(pickle.dumps(sk))
    if importlib.util.find_spec("skops") is not None:  # optional: not a dependency
        import skops.io as sio

        dumped = sio.dumps(restored)
        restored = sio.loads(dumped, trusted=sio.get_untrusted_types(data=dumped))
    return restored


_NUMERIC_CASES = [c for c in CASES if c[0] not in ("impute-strings", "impute-constant")]
_KIND_CASES = [
    (kind, *case)
    for case in _NUMERIC_CASES
    for kind in ("numpy", "polars")
    if kind == "polars" or "cat" not in case[2]  # a numeric array cannot hold strings
]


@pytest.mark.parametrize(
    ("kind", "case", "est", "features", "label", "methods"),
    _KIND_CASES,
    ids=[f"{c[0]}-{c[1]}" for c in _KIND_CASES],
)
def test_namesake_equals_the_estimator(kind, case, est, features, label, methods):
    df = make_data()
    X_frame = df.select(features)
    y = None if label is None else df[label].to_numpy()
    if kind == "numpy":
        X = X_frame.to_numpy()
        if "columns" in est.get_params() and est.get_params()["columns"] is not None:
            cols = est.get_params()["columns"]
            est = clone(est).set_params(columns=[f"x{features.index(c)}" for c in cols])
    else:
        X = X_frame
    fitted = clone(est).fit(X, y)
    sk = to_sklearn(fitted)
    assert type(_sklearn_part(sk)).__module__.startswith("sklearn.")
    assert type(_sklearn_part(sk)).__name__ == type(est).__name__
    assert "columns" not in _sklearn_part(sk).get_params()
    for method in methods:
        _compare(getattr(sk, method)(X), getattr(fitted, method)(X), method)
    restored = _round_trip(sk)
    _compare(getattr(restored, methods[0])(X), getattr(fitted, methods[0])(X), methods[0])


def test_string_imputer_namesake():
    df = make_data().select(MIXED)
    fitted = sm.SimpleImputer(strategy="most_frequent").fit(df.select("cat"))
    sk = to_sklearn(fitted)
    assert (
        sk.transform(df.select("cat").to_pandas()).ravel().tolist()
        == fitted.transform(df.select("cat")).ravel().tolist()
    )


def test_pipeline_with_column_subsets_fitted_lazily():
    df = make_data()
    pipe = full_pipeline().fit(df.select(*MIXED, "binary").lazy(), y="binary")
    sk = to_sklearn(pipe)
    names = [n for n, _ in sk.steps]
    assert names[-1] == "logisticregression" and "simpleimputer_reorder" in names
    assert all(type(s).__module__.startswith("sklearn.") for _, s in sk.steps)
    X = df.select(MIXED)
    expected = pipe.predict_proba(X.lazy()).collect().to_numpy()
    assert_allclose(sk.predict_proba(X), expected, rtol=1e-12, atol=1e-12)
    assert_array_equal(sk.predict(X), pipe.predict(X.lazy()).collect()["prediction"].to_numpy())
    assert_allclose(_round_trip(sk).predict_proba(X), expected, rtol=1e-12)
    out_names = list(sk[:-1].get_feature_names_out())
    assert out_names == list(pipe[:-1].get_feature_names_out())


def test_numpy_pipeline_with_a_subset_keeps_scaleml_column_order():
    X = make_data().select(NUMERIC).to_numpy()
    X = np.nan_to_num(X)
    pipe = make_pipeline(
        sm.MinMaxScaler(columns=["x1", "x3"]),
        sm.KMeans(n_clusters=3, n_init=1, random_state=0),
    ).fit(X)
    sk = to_sklearn(pipe)
    assert [n for n, _ in sk.steps] == ["minmaxscaler", "minmaxscaler_reorder", "kmeans"]
    assert_array_equal(sk.predict(X), pipe.predict(X))
    assert_allclose(sk[:-1].transform(X), pipe[:-1].transform(X), rtol=1e-12)


def test_single_estimator_with_a_subset_becomes_a_column_transformer():
    df = make_data().select(NUMERIC)
    est = sm.StandardScaler(columns=["x1", "x2"]).fit(df)  # transformed columns in place
    sk = to_sklearn(est)
    assert isinstance(sk, Pipeline) and isinstance(sk[0], ColumnTransformer)
    assert_allclose(sk.transform(df), est.transform(df), rtol=1e-12, equal_nan=True)
    first = sm.StandardScaler(columns=["holes", "x1"]).fit(df)  # already sklearn's order
    assert isinstance(to_sklearn(first), ColumnTransformer)


def test_unsupported_estimator_raises():
    X = make_data().select(COMPLETE)
    with pytest.raises(NotImplementedError, match="no conversion for PCA"):
        to_sklearn(sm.PCA(n_components=1).fit(X))
