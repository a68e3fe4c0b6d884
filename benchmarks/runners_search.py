"""Runners of the many-models benchmarks (module-level, picklable).

Forty candidates on the benchmark dataset: ``LogisticRegression`` over a grid of 20 ``C``
(f1..f19 -> label) and ``Ridge`` over a grid of 20 ``alpha`` (f1..f19 -> target). Each
runner returns the 40 (or 1) coefficient vectors, stacked. ``scaleml`` and scikit-learn
are imported inside the functions so the measuring subprocess pays for them.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np

__all__ = [
    "ALPHAS",
    "CS",
    "FEATURES",
    "MAX_ITER",
    "dask_pipeline_fit",
    "local_pipeline_fit",
    "scaleml_fit_many_forty",
    "scaleml_loop_forty",
    "scaleml_one_fit",
    "sklearn_loop_forty",
    "sklearn_ridge_twenty",
]

#: Null-free features of the benchmark dataset (``f0`` has nulls).
FEATURES = [f"f{i}" for i in range(1, 20)]
#: The candidates' grids: 20 logistic ``C`` and 20 ridge ``alpha``, 10^-3 .. 10^3.33 in
#: steps of 10^(1/3); ``C=1`` (the unit fit) is one of them.
CS = [10.0 ** (k / 3) for k in range(-9, 11)]
ALPHAS = list(CS)
#: scikit-learn's default L-BFGS budget, on both sides.
MAX_ITER = 100


@contextmanager
def _budgeted() -> Iterator[None]:
    from sklearn.exceptions import ConvergenceWarning

    with warnings.catch_warnings():
        # Both sides stop at the same L-BFGS budget: a candidate that has not converged
        # by then is a result, not an error.
        warnings.simplefilter("ignore", ConvergenceWarning)
        yield


def _candidates() -> tuple[list[Any], list[Any]]:
    import scaleml as sm

    return (
        [sm.LogisticRegression(C=c, max_iter=MAX_ITER) for c in CS],
        [sm.Ridge(alpha=a) for a in ALPHAS],
    )


def _coefs(logistic: Sequence[Any], ridge: Sequence[Any]) -> np.ndarray:
    return np.vstack([np.ravel(m.coef_) for m in [*logistic, *ridge]])


def scaleml_fit_many_forty(glob: str, cols: Sequence[str]) -> np.ndarray:
    """The 40 candidates with ``scaleml.model_selection.fit_many`` (shared scans).

    The classifiers and the regressors have different labels, hence two calls: the 20
    logistic fits share every L-BFGS pass, the 20 ridge fits their one pass. Every core
    updates the candidates on each batch (``n_jobs=-1``).

    Parameters
    ----------
    glob : str
        Parquet glob of the dataset.
    cols : sequence of str
        Null-free feature columns.

    Returns
    -------
    numpy.ndarray of shape (40, len(cols))
    """
    import scaleml as sm

    with _budgeted():
        data = sm.scan(glob)
        logistic, ridge = _candidates()
        sm.fit_many(logistic, data.select([*cols, "label"]), "label", n_jobs=-1, log_to=None)
        sm.fit_many(ridge, data.select([*cols, "target"]), "target", n_jobs=-1, log_to=None)
        return _coefs(logistic, ridge)


def scaleml_one_fit(glob: str, cols: Sequence[str]) -> np.ndarray:
    """One ``LogisticRegression(C=1)`` fit: the unit of the "40 in 3x one fit" goal.

    Parameters
    ----------
    glob : str
        Parquet glob of the dataset.
    cols : sequence of str
        Null-free feature columns.

    Returns
    -------
    numpy.ndarray of shape (1, len(cols))
    """
    import scaleml as sm

    with _budgeted():
        data = sm.scan(glob).select([*cols, "label"])
        return sm.LogisticRegression(C=1.0, max_iter=MAX_ITER).fit(data, "label").coef_


def scaleml_loop_forty(glob: str, cols: Sequence[str]) -> np.ndarray:
    """The 40 candidates fitted one after the other, each streaming its own passes.

    Parameters
    ----------
    glob : str
        Parquet glob of the dataset.
    cols : sequence of str
        Null-free feature columns.

    Returns
    -------
    numpy.ndarray of shape (40, len(cols))
    """
    import scaleml as sm

    with _budgeted():
        data = sm.scan(glob)
        logistic, ridge = _candidates()
        for m in logistic:
            m.fit(data.select([*cols, "label"]), "label")
        for m in ridge:
            m.fit(data.select([*cols, "target"]), "target")
        return _coefs(logistic, ridge)


def sklearn_loop_forty(glob: str, cols: Sequence[str]) -> np.ndarray:
    """The peer: ``pandas.read_parquet`` once, then the 40 scikit-learn fits in memory.

    Parameters
    ----------
    glob : str
        Parquet glob of the dataset.
    cols : sequence of str
        Null-free feature columns.

    Returns
    -------
    numpy.ndarray of shape (40, len(cols))
    """
    from sklearn.linear_model import LogisticRegression, Ridge

    with _budgeted():
        X, (label, target) = _read_pandas(glob, cols, ["label", "target"])
        logistic = [LogisticRegression(C=c, max_iter=MAX_ITER).fit(X, label) for c in CS]
        ridge = [Ridge(alpha=a).fit(X, target) for a in ALPHAS]
        return _coefs(logistic, ridge)


def sklearn_ridge_twenty(glob: str, cols: Sequence[str]) -> np.ndarray:
    """scikit-learn's 20 Ridge fits in memory (exact solutions: the reference at sizes
    where the 20 L-BFGS fits are not run).

    Parameters
    ----------
    glob : str
        Parquet glob of the dataset.
    cols : sequence of str
        Null-free feature columns.

    Returns
    -------
    numpy.ndarray of shape (20, len(cols))
    """
    from sklearn.linear_model import Ridge

    X, (target,) = _read_pandas(glob, cols, ["target"])
    return np.vstack([Ridge(alpha=a).fit(X, target).coef_ for a in ALPHAS])


def _read_pandas(
    glob: str, cols: Sequence[str], labels: Sequence[str]
) -> tuple[np.ndarray, list[np.ndarray]]:
    """The peers' read: ``pandas.read_parquet`` of every file, then numpy arrays."""
    import glob as globbing

    import pandas as pd

    files = sorted(globbing.glob(glob))
    df = pd.concat([pd.read_parquet(f, columns=[*cols, *labels]) for f in files], ignore_index=True)
    return df[list(cols)].to_numpy(dtype=np.float64), [df[c].to_numpy() for c in labels]


def _pipeline() -> Any:
    from sklearn.pipeline import make_pipeline

    import scaleml as sm

    return make_pipeline(sm.StandardScaler(), sm.LinearRegression())


def dask_pipeline_fit(glob: str, cols: Sequence[str], address: str) -> np.ndarray:
    """StandardScaler + LinearRegression on ``dd.read_parquet`` through a Dask cluster.

    The scaler's statistics are mapped over the partitions on the workers; the
    regression streams the scaled partitions, computed by the workers, to this process.

    Parameters
    ----------
    glob : str
        Parquet glob of the dataset.
    cols : sequence of str
        Null-free feature columns.
    address : str
        The scheduler of a running cluster (its start-up is not timed).

    Returns
    -------
    numpy.ndarray of shape (len(cols),)
    """
    import dask.dataframe as dd
    import distributed

    with distributed.Client(address):
        ddf = dd.read_parquet(glob, columns=[*cols, "target"])
        return _pipeline().fit(ddf, "target")[-1].coef_


def local_pipeline_fit(glob: str, cols: Sequence[str]) -> np.ndarray:
    """StandardScaler + LinearRegression on the parquet files, in this process.

    Parameters
    ----------
    glob : str
        Parquet glob of the dataset.
    cols : sequence of str
        Null-free feature columns.

    Returns
    -------
    numpy.ndarray of shape (len(cols),)
    """
    import scaleml as sm

    data = sm.scan(glob).select([*cols, "target"])
    return _pipeline().fit(data, "target")[-1].coef_
