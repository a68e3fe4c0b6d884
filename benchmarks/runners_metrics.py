"""The metric benchmarks' runners: scaleml and its peers, as module-level (picklable)
functions.

Each takes the dataset glob and returns the metric (a float). The predictions are
derived from the features (``f1`` as a score, ``f1 > 0`` as a prediction,
``sigmoid(f1)`` as a probability, ``f2`` as a regression prediction), so no model is
fitted. Libraries are imported inside the functions so the measuring subprocess only
pays for the one it runs.
"""

from __future__ import annotations

import glob as _glob
from typing import Any

__all__ = [
    "pandas_sklearn",
    "polars_groupby_roc_auc",
    "scaleml_metric",
]

#: metric name -> (y_true column, prediction column) in the derived frame.
COLUMNS = {
    "roc_auc_score": ("label", "score"),
    "accuracy_score": ("label", "prediction"),
    "log_loss": ("label", "proba"),
    "r2_score": ("target", "estimate"),
}


def _derived(lf: Any) -> Any:
    """The dataset's label/target and the predictions derived from its features."""
    import polars as pl

    return lf.select(
        "label",
        "target",
        score=pl.col("f1"),
        prediction=(pl.col("f1") > 0).cast(pl.Int8),
        proba=1.0 / (1.0 + (-pl.col("f1")).exp()),
        estimate=pl.col("f2"),
    )


def scaleml_metric(glob: str, metric: str) -> float:
    """``scaleml.metrics.<metric>(y_true, y_pred, data=lazy frame)``: one streaming query.

    Parameters
    ----------
    glob : str
        Parquet glob of the dataset.
    metric : str
        A key of :data:`COLUMNS`.

    Returns
    -------
    float
    """
    import scaleml as sm

    y_true, y_pred = COLUMNS[metric]
    return float(getattr(sm.metrics, metric)(y_true, y_pred, data=_derived(sm.scan(glob))))


def pandas_sklearn(glob: str, metric: str) -> float:
    """``pandas.read_parquet`` of the needed columns, then ``sklearn.metrics.<metric>``.

    Parameters
    ----------
    glob : str
        Parquet glob of the dataset.
    metric : str
        A key of :data:`COLUMNS`.

    Returns
    -------
    float
    """
    import numpy as np
    import pandas as pd
    import sklearn.metrics as skm

    df = pd.read_parquet(sorted(_glob.glob(glob)), columns=["label", "target", "f1", "f2"])
    f1 = df["f1"].to_numpy()
    derived = {
        "score": f1,
        "prediction": (f1 > 0).astype(np.int8),
        "proba": 1.0 / (1.0 + np.exp(-f1)),
        "estimate": df["f2"].to_numpy(),
    }
    y_true, y_pred = COLUMNS[metric]
    return float(getattr(skm, metric)(df[y_true].to_numpy(), derived[y_pred]))


def polars_groupby_roc_auc(glob: str) -> float:
    """The in-memory alternative to scaleml's DuckDB path: a Polars streaming
    group-by per distinct score (held in memory: Polars has no out-of-core group-by),
    sorted, then the trapezoid in numpy.

    Parameters
    ----------
    glob : str
        Parquet glob of the dataset.

    Returns
    -------
    float
    """
    import numpy as np
    import polars as pl

    positive = pl.col("label") == 1
    curve = (
        pl.scan_parquet(glob)
        .group_by(pl.col("f1").alias("s"))
        .agg(tp=positive.sum(), fp=(~positive).sum())
        .sort("s", descending=True)
        .collect(engine="streaming")
    )
    tps = np.concatenate(([0.0], np.cumsum(curve["tp"].to_numpy(), dtype=np.float64)))
    fps = np.concatenate(([0.0], np.cumsum(curve["fp"].to_numpy(), dtype=np.float64)))
    return float(np.trapezoid(tps / tps[-1], fps / fps[-1]))
