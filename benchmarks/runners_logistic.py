"""scaleml's side of the logistic-regression and SGD benchmarks (module-level, picklable).

Each function takes the dataset glob and returns something small (the coefficients).
``scaleml`` is imported inside the functions so the measuring subprocess pays for it.
The Newton-Cholesky peer (pandas + scikit-learn) lives here too, with the streaming
log-loss that checks every logistic model against the same objective.
"""

from __future__ import annotations

import glob as _glob
from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = [
    "LOGISTIC_FEATURES",
    "LOGISTIC_MAX_ITER",
    "mean_log_loss",
    "pandas_sklearn_logistic_model",
    "pandas_sklearn_logistic_newton",
    "scaleml_logistic_fit",
    "scaleml_logistic_newton_fit",
    "scaleml_sgd_epoch",
]

#: Null-free features of the benchmark dataset (``f0`` has nulls).
LOGISTIC_FEATURES = [f"f{i}" for i in range(1, 20)]
#: L-BFGS iterations on both sides: the features are deliberately not standardized, so
#: scikit-learn's default 100 does not reach its tolerance.
LOGISTIC_MAX_ITER = 1000


def scaleml_logistic_fit(
    glob: str, cols: Sequence[str], label: str, *, max_iter: int = LOGISTIC_MAX_ITER
) -> Any:
    """Fit ``scaleml.LogisticRegression`` (L-BFGS, one streaming pass per evaluation).

    Parameters
    ----------
    glob : str
        Parquet glob of the dataset.
    cols : sequence of str
        Null-free feature columns.
    label : str
        Binary label column.
    max_iter : int, default 1000
        L-BFGS iterations, as the pandas + sklearn peer.

    Returns
    -------
    numpy.ndarray of shape (1, len(cols))
        The fitted ``coef_``.
    """
    import scaleml as sm

    data = sm.scan(glob).select([*cols, label])
    return sm.LogisticRegression(max_iter=max_iter).fit(data, y=label).coef_


def scaleml_logistic_newton_fit(
    glob: str, cols: Sequence[str], label: str, *, max_iter: int = LOGISTIC_MAX_ITER
) -> dict[str, Any]:
    """Fit ``scaleml.LogisticRegression(solver="newton-cholesky")``: one streaming pass
    per Newton iteration (loss, gradient and Hessian together).

    Parameters
    ----------
    glob : str
        Parquet glob of the dataset.
    cols : sequence of str
        Null-free feature columns.
    label : str
        Binary label column.
    max_iter : int, default 1000
        Newton iterations at most, as the peers.

    Returns
    -------
    dict
        ``coef`` (1, len(cols)), ``intercept`` (1,), ``n_iter`` and ``n_passes``.
    """
    import scaleml as sm

    data = sm.scan(glob).select([*cols, label])
    model = sm.LogisticRegression(solver="newton-cholesky", max_iter=max_iter).fit(data, y=label)
    return {
        "coef": model.coef_,
        "intercept": model.intercept_,
        "n_iter": int(model.n_iter_[0]),
        "n_passes": model.n_passes_,
    }


def pandas_sklearn_logistic_model(
    glob: str,
    cols: Sequence[str],
    label: str,
    *,
    solver: str = "lbfgs",
    max_iter: int = LOGISTIC_MAX_ITER,
) -> dict[str, Any]:
    """Load with pandas and fit scikit-learn's ``LogisticRegression(solver=solver)``.

    Reads the files as ``peers.pandas_sklearn_logistic`` does (sorted paths, one
    ``pandas.read_parquet``), so ``solver="lbfgs"`` gives its coefficients.

    Parameters
    ----------
    glob : str
        Parquet glob of the dataset.
    cols : sequence of str
        Null-free feature columns.
    label : str
        Binary label column.
    solver : str, default "lbfgs"
        scikit-learn's solver.
    max_iter : int, default 1000
        Iterations at most.

    Returns
    -------
    dict
        ``coef`` (1, len(cols)), ``intercept`` (1,) and ``n_iter``.
    """
    import pandas as pd
    from sklearn.linear_model import LogisticRegression

    paths = sorted(_glob.glob(glob))
    if not paths:
        msg = f"The glob {glob!r} matches no file."
        raise FileNotFoundError(msg)
    df = pd.read_parquet(paths, columns=[*cols, label])
    model = LogisticRegression(solver=solver, max_iter=max_iter).fit(df[list(cols)], df[label])
    return {
        "coef": np.asarray(model.coef_),
        "intercept": np.asarray(model.intercept_),
        "n_iter": int(model.n_iter_[0]),
    }


def pandas_sklearn_logistic_newton(
    glob: str, cols: Sequence[str], label: str, *, max_iter: int = LOGISTIC_MAX_ITER
) -> dict[str, Any]:
    """The peer of :func:`scaleml_logistic_newton_fit`: pandas, then scikit-learn's
    ``LogisticRegression(solver="newton-cholesky")`` in memory.

    Returns
    -------
    dict
        As :func:`pandas_sklearn_logistic_model`.
    """
    return pandas_sklearn_logistic_model(
        glob, cols, label, solver="newton-cholesky", max_iter=max_iter
    )


def mean_log_loss(
    glob: str, cols: Sequence[str], label: str, coef: np.ndarray, intercept: np.ndarray
) -> float:
    """Mean log-loss of a binary logistic model on the data, in one streaming query.

    ``log(1 + exp(raw)) - y raw`` written as ``max(raw, 0) + log1p(exp(-|raw|)) - y raw``
    so that no ``exp`` overflows.

    Returns
    -------
    float
    """
    import polars as pl

    raw = pl.lit(float(np.ravel(intercept)[0]))
    for c, w in zip(cols, np.ravel(coef), strict=True):
        raw = raw + pl.col(c) * float(w)
    y = pl.col(label).cast(pl.Float64)
    loss = pl.max_horizontal(raw, pl.lit(0.0)) + (-raw.abs()).exp().log1p() - y * raw
    query = pl.scan_parquet(glob).select(loss.mean())
    return float(query.collect(engine="streaming").item())


def scaleml_sgd_epoch(glob: str, cols: Sequence[str], label: str) -> Any:
    """One epoch of ``scaleml.SGDClassifier(loss="log_loss")`` over the whole dataset.

    ``partial_fit`` on the lazy source is one streaming pass, rows shuffled through the
    bounded buffer, as the peer's ``partial_fit`` shuffles each batch.

    Parameters
    ----------
    glob : str
        Parquet glob of the dataset.
    cols : sequence of str
        Null-free feature columns.
    label : str
        Binary (0/1) label column.

    Returns
    -------
    numpy.ndarray of shape (1, len(cols))
        The ``coef_`` after the epoch.
    """
    import scaleml as sm

    data = sm.scan(glob).select([*cols, label])
    model = sm.SGDClassifier(loss="log_loss", random_state=0)
    return model.partial_fit(data, label, classes=[0, 1]).coef_
