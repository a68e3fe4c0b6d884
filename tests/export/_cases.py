"""The estimators every exporter covers, with the data they are checked on."""

from __future__ import annotations

from typing import Any

import numpy as np
import polars as pl
from sklearn.pipeline import make_pipeline

import scaleml as sm


def make_data(n: int = 150, seed: int = 0) -> pl.DataFrame:
    """Numbers with NaN and nulls, complete numbers, an integer, strings with nulls and
    a rare category, and three labels (binary, 3 classes, real)."""
    rng = np.random.default_rng(seed)
    holes = rng.normal(size=n)
    holes[rng.random(n) < 0.1] = np.nan
    cat = rng.choice(["a", "b", "c", "it's"], size=n, p=[0.45, 0.3, 0.2, 0.05]).astype(object)
    cat[rng.random(n) < 0.08] = None
    x1, x2 = rng.normal(size=n) * 10 + 3, rng.normal(size=n)
    return pl.DataFrame(
        {
            "holes": pl.Series(holes).set(pl.Series(rng.random(n) < 0.05), None),
            "x1": x1,
            "x2": x2,
            "k": rng.integers(0, 6, size=n),
            "cat": pl.Series(cat.tolist(), dtype=pl.String),
            "binary": (x1 / 10 + x2 + rng.normal(size=n) > 0.3).astype(np.int64),
            "three": np.digitize(x2 + rng.normal(scale=0.3, size=n), [-0.5, 0.5]),
            "target": 2.0 * x1 - x2 + rng.normal(size=n),
        }
    )


NUMERIC = ["holes", "x1", "x2", "k"]
COMPLETE = ["x1", "x2", "k"]
MIXED = ["holes", "x1", "cat", "k"]

#: (id, estimator, feature columns, label column or None, methods checked)
CASES: list[tuple[str, Any, list[str], str | None, list[str]]] = [
    ("standard", sm.StandardScaler(), NUMERIC, None, ["transform"]),
    (
        "standard-subset",
        sm.StandardScaler(with_mean=False, columns=["x2", "holes"]),
        NUMERIC,
        None,
        ["transform"],
    ),
    (
        "minmax-clip",
        sm.MinMaxScaler(feature_range=(-1, 2), clip=True),
        NUMERIC,
        None,
        ["transform"],
    ),
    ("maxabs", sm.MaxAbsScaler(columns=["x1"]), NUMERIC, None, ["transform"]),
    ("robust", sm.RobustScaler(columns=["holes", "x2"]), NUMERIC, None, ["transform"]),
    (
        "kbins-ordinal",
        sm.KBinsDiscretizer(n_bins=4, encode="ordinal"),
        COMPLETE,
        None,
        ["transform"],
    ),
    (
        "kbins-onehot",
        sm.KBinsDiscretizer(n_bins=3, encode="onehot-dense", strategy="uniform", columns=["x2"]),
        COMPLETE,
        None,
        ["transform"],
    ),
    ("impute-mean", sm.SimpleImputer(add_indicator=True), NUMERIC, None, ["transform"]),
    (
        "impute-median-subset",
        sm.SimpleImputer(strategy="median", columns=["holes"]),
        NUMERIC,
        None,
        ["transform"],
    ),
    (
        "impute-marker",
        sm.SimpleImputer(missing_values=0, strategy="most_frequent"),
        COMPLETE,
        None,
        ["transform"],
    ),
    (
        "impute-strings",
        sm.SimpleImputer(strategy="most_frequent", columns=["cat"], add_indicator=True),
        MIXED,
        None,
        ["transform"],
    ),
    (
        "impute-constant",
        sm.SimpleImputer(strategy="constant", fill_value="?", columns=["cat"]),
        MIXED,
        None,
        ["transform"],
    ),
    (
        "onehot",
        sm.OneHotEncoder(columns=["cat", "k"], sparse_output=False),
        MIXED,
        None,
        ["transform"],
    ),
    (
        "onehot-drop-ignore",
        sm.OneHotEncoder(
            columns=["cat"], drop="first", handle_unknown="ignore", sparse_output=False
        ),
        MIXED,
        None,
        ["transform"],
    ),
    (
        "onehot-infrequent",
        sm.OneHotEncoder(
            columns=["cat", "k"],
            min_frequency=10,
            handle_unknown="infrequent_if_exist",
            sparse_output=False,
        ),
        MIXED,
        None,
        ["transform"],
    ),
    ("ordinal", sm.OrdinalEncoder(columns=["cat", "k"]), MIXED, None, ["transform"]),
    (
        "ordinal-unknown",
        sm.OrdinalEncoder(
            columns=["cat"],
            handle_unknown="use_encoded_value",
            unknown_value=-1,
            encoded_missing_value=-2,
            max_categories=3,
        ),
        MIXED,
        None,
        ["transform"],
    ),
    ("linear", sm.LinearRegression(), COMPLETE, "target", ["predict"]),
    ("ridge", sm.Ridge(alpha=3.0), COMPLETE, "target", ["predict"]),
    ("ridgecv", sm.RidgeCV(), COMPLETE, "target", ["predict"]),
    ("sgd-regressor", sm.SGDRegressor(random_state=0), COMPLETE, "target", ["predict"]),
    (
        "logistic-binary",
        sm.LogisticRegression(),
        COMPLETE,
        "binary",
        ["predict", "predict_proba", "decision_function"],
    ),
    (
        "logistic-multi",
        sm.LogisticRegression(C=0.5),
        COMPLETE,
        "three",
        ["predict", "predict_proba", "decision_function"],
    ),
    (
        "sgd-hinge",
        sm.SGDClassifier(random_state=0),
        COMPLETE,
        "three",
        ["predict", "decision_function"],
    ),
    (
        "sgd-log",
        sm.SGDClassifier(loss="log_loss", random_state=0),
        COMPLETE,
        "three",
        ["predict", "predict_proba"],
    ),
    (
        "sgd-huber",
        sm.SGDClassifier(loss="modified_huber", random_state=0),
        COMPLETE,
        "binary",
        ["predict_proba"],
    ),
    (
        "kmeans",
        sm.KMeans(n_clusters=3, n_init=1, random_state=0),
        COMPLETE,
        None,
        ["predict", "transform"],
    ),
    (
        "minibatch-kmeans",
        sm.MiniBatchKMeans(n_clusters=4, n_init=1, random_state=0),
        COMPLETE,
        None,
        ["predict", "transform"],
    ),
]


def full_pipeline() -> Any:
    """imputer -> scaler -> one-hot -> logistic regression, each on a column subset."""
    return make_pipeline(
        sm.SimpleImputer(columns=["holes", "x1", "k"], add_indicator=True),
        sm.StandardScaler(columns=["holes", "x1", "k"]),
        sm.OneHotEncoder(columns=["cat"], handle_unknown="ignore", sparse_output=False),
        sm.LogisticRegression(),
    )


def output(est: Any, method: str, X: Any) -> Any:
    return getattr(est, method)(X)
