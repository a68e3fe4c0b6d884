"""to_polars: the expressions equal transform / predict, for every covered estimator."""

from __future__ import annotations

import pickle

import numpy as np
import polars as pl
import pytest
from numpy.testing import assert_array_equal
from polars.testing import assert_frame_equal
from sklearn.base import clone
from sklearn.pipeline import make_pipeline

import scaleml as sm
from scaleml.export import PolarsPlan, to_polars
from tests.export._cases import CASES, COMPLETE, MIXED, full_pipeline, make_data


@pytest.mark.parametrize(
    ("case", "est", "features", "label", "methods"), CASES, ids=[c[0] for c in CASES]
)
def test_plan_equals_the_estimator(case, est, features, label, methods):
    df = make_data()
    est = clone(est).fit(df.select(*features, *([label] if label else [])).lazy(), y=label)
    X = df.select(features)
    for method in methods:
        plan = to_polars(est, method=method)
        assert isinstance(plan, PolarsPlan) and len(plan.exprs) >= 1
        expected = getattr(est, method)(X.lazy()).collect()
        assert_frame_equal(
            plan(X.lazy()).collect(), expected, check_exact=False, rel_tol=1e-12, abs_tol=1e-12
        )
        # A plan holds literals only: it survives a pickle round trip.
        restored = pickle.loads(pickle.dumps(plan))
        assert_frame_equal(restored(X), expected, check_exact=False, rel_tol=1e-12, abs_tol=1e-12)


def test_pipeline_plan():
    df = make_data()
    pipe = full_pipeline().fit(df.select(*MIXED, "binary").lazy(), y="binary")
    X = df.select(MIXED)
    for method in ("predict", "predict_proba", "decision_function"):
        got = to_polars(pipe, method=method)(X)
        assert_frame_equal(got, getattr(pipe, method)(X.lazy()).collect())
    plan = to_polars(pipe)
    assert len(plan.steps) == 4
    with pytest.raises(ValueError, match="has 4 steps"):
        _ = plan.exprs


def test_numpy_fitted_pipeline_renames_by_position():
    X = make_data().select(COMPLETE).to_numpy()
    y = X[:, 0] * 2 - X[:, 1]
    pipe = make_pipeline(sm.MinMaxScaler(), sm.Ridge()).fit(X, y)
    frame = pl.DataFrame(X, schema=["x0", "x1", "x2"], orient="row")
    got = to_polars(pipe)(frame)["prediction"].to_numpy()
    np.testing.assert_allclose(got, pipe.predict(X), rtol=1e-12)
    onehot = make_pipeline(
        sm.OneHotEncoder(sparse_output=False), sm.KMeans(n_clusters=2, n_init=1, random_state=0)
    )
    ints = np.random.default_rng(0).integers(0, 3, size=(40, 2)).astype(float)
    onehot.fit(ints)
    plan = to_polars(onehot)
    assert len(plan.steps) == 3  # one-hot, rename to x0..x5, k-means
    got = plan(pl.DataFrame(ints, schema=["x0", "x1"], orient="row"))["prediction"].to_numpy()
    assert_array_equal(got, onehot.predict(ints))


def test_unsupported_raises():
    X = make_data().select(COMPLETE)
    with pytest.raises(NotImplementedError, match="no 'transform' export for GaussianNB"):
        to_polars(sm.GaussianNB().fit(X, np.arange(X.height) % 2), method="transform")
    with pytest.raises(NotImplementedError, match="'predict' export for StandardScaler"):
        to_polars(sm.StandardScaler().fit(X), method="predict")
    with pytest.raises(AttributeError, match="probability estimates are not available"):
        to_polars(
            sm.SGDClassifier(random_state=0).fit(X, np.arange(X.height) % 2), method="predict_proba"
        )
