"""Checks every public estimator passes: scikit-learn's contract and our own.

Our own checks, for every estimator in ``tests/_estimators.py``:
- a lazy input gives a LazyFrame equal to the in-memory result;
- fitting on the data split across parquet files gives the same model;
- a fitted estimator survives a pickle round trip;
- the public API (``__all__``) is consistent.
"""

from __future__ import annotations

import importlib
import pickle
import pkgutil
from typing import Any

import numpy as np
import polars as pl
import pytest
from numpy.testing import assert_allclose
from sklearn.base import clone
from sklearn.utils.estimator_checks import parametrize_with_checks

import scaleml
from tests._estimators import ALL_ESTIMATORS
from tests.conftest import to_numpy


@parametrize_with_checks(ALL_ESTIMATORS)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)


def _ids(est: Any) -> str:
    return type(est).__name__


def _dataset(est: Any) -> tuple[pl.DataFrame, str | None]:
    """Small well-conditioned data with a label column fitting `est`'s kind."""
    rng = np.random.default_rng(0)
    X = np.abs(rng.normal(size=(120, 4))) + 0.1
    df = pl.DataFrame(X, schema=[f"f{i}" for i in range(4)])
    tags = est.__sklearn_tags__()
    if tags.estimator_type == "classifier":
        y = (X[:, 0] + X[:, 1] > np.median(X[:, 0] + X[:, 1])).astype(np.int64)
    elif tags.estimator_type == "regressor" or tags.target_tags.required:
        y = X @ np.array([1.0, -2.0, 0.5, 3.0]) + rng.normal(scale=0.1, size=len(X))
    else:
        return df, None
    return df.with_columns(label=pl.Series(y)), "label"


def _output(est: Any, X: Any) -> Any:
    return est.transform(X) if hasattr(est, "transform") else est.predict(X)


@pytest.mark.parametrize("estimator", ALL_ESTIMATORS, ids=_ids)
def test_lazy_output_equals_eager_output(estimator):
    df, label = _dataset(estimator)
    est = clone(estimator).fit(df, y=label)
    features = df.drop(label) if label else df
    lazy = _output(est, features.lazy())
    assert isinstance(lazy, pl.LazyFrame)
    eager = to_numpy(_output(est, features))
    # A lazy prediction is a one-column frame where scikit-learn returns a 1-D array.
    assert_allclose(to_numpy(lazy).reshape(eager.shape), eager, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("estimator", ALL_ESTIMATORS, ids=_ids)
def test_file_split_gives_the_same_model(estimator, tmp_path):
    df, label = _dataset(estimator)
    for i, start in enumerate(range(0, df.height, 37)):
        df.slice(start, 37).write_parquet(tmp_path / f"part-{i}.parquet")
    whole = clone(estimator).fit(df, y=label)
    split = clone(estimator).fit(str(tmp_path / "*.parquet"), y=label)
    features = df.drop(label) if label else df
    assert_allclose(
        to_numpy(_output(split, features)), to_numpy(_output(whole, features)), rtol=1e-7, atol=1e-9
    )


@pytest.mark.parametrize("estimator", ALL_ESTIMATORS, ids=_ids)
def test_pickle_round_trip(estimator):
    df, label = _dataset(estimator)
    est = clone(estimator).fit(df.lazy(), y=label)
    features = df.drop(label) if label else df
    restored = pickle.loads(pickle.dumps(est))
    assert_allclose(to_numpy(_output(restored, features)), to_numpy(_output(est, features)))


def _modules() -> list[Any]:
    found = [scaleml]
    for info in pkgutil.walk_packages(scaleml.__path__, prefix="scaleml."):
        if info.name.startswith("scaleml.__"):
            continue
        found.append(importlib.import_module(info.name))
    return found


@pytest.mark.parametrize("module", _modules(), ids=lambda m: m.__name__)
def test_all_names_exist(module):
    assert hasattr(module, "__all__"), f"{module.__name__} has no __all__"
    missing = [name for name in module.__all__ if not hasattr(module, name)]
    assert missing == []


def test_every_estimator_is_exported_from_the_top_level():
    names = {type(est).__name__ for est in ALL_ESTIMATORS}
    assert names <= set(scaleml.__all__)
