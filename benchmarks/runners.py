"""scaleml's side of the benchmarks, as module-level (picklable) functions.

Mirrors :mod:`peers`: each function takes the dataset glob and returns something small.
``scaleml`` is imported inside the functions so the subprocess only pays for it when run.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

__all__ = [
    "fit_standard_scaler",
    "scaleml_onehot_fit",
    "scaleml_standard_scaler_fit",
    "scaleml_standard_scaler_transform_sink",
]


def scaleml_standard_scaler_fit(glob: str, cols: Sequence[str]) -> Any:
    """Fit ``scaleml.StandardScaler`` on the dataset.

    Parameters
    ----------
    glob : str
        Parquet glob of the dataset.
    cols : sequence of str
        Columns to scale.

    Returns
    -------
    numpy.ndarray
        The fitted ``mean_``.
    """
    import scaleml as sm

    return sm.StandardScaler(columns=list(cols)).fit(sm.scan(glob)).mean_


def scaleml_onehot_fit(glob: str, cols: Sequence[str]) -> Any:
    """Fit ``scaleml.OneHotEncoder`` on the dataset.

    Parameters
    ----------
    glob : str
        Parquet glob of the dataset.
    cols : sequence of str
        Categorical columns to encode.

    Returns
    -------
    list
        The fitted ``categories_``.
    """
    import scaleml as sm

    return sm.OneHotEncoder(columns=list(cols)).fit(sm.scan(glob)).categories_


def scaleml_standard_scaler_transform_sink(glob: str, scaler: Any, out_path: str) -> str:
    """Lazily transform the dataset with a fitted scaler and sink it to parquet.

    Parameters
    ----------
    glob : str
        Parquet glob of the dataset.
    scaler : scaleml.StandardScaler
        Fitted beforehand, so fitting is outside the measured region.
    out_path : str
        Parquet file written.

    Returns
    -------
    str
        `out_path`.
    """
    import scaleml as sm

    scaler.transform(sm.scan(glob)).sink_parquet(out_path)
    return out_path


def fit_standard_scaler(glob: str, cols: Sequence[str]) -> Any:
    """Return a ``scaleml.StandardScaler`` fitted on the dataset (benchmark setup).

    Parameters
    ----------
    glob : str
        Parquet glob of the dataset.
    cols : sequence of str
        Columns to scale.

    Returns
    -------
    scaleml.StandardScaler
    """
    import scaleml as sm

    return sm.StandardScaler(columns=list(cols)).fit(sm.scan(glob))
