"""The KMeans benchmark's runners: scaleml and its peer, as module-level (picklable) functions.

Each function takes the dataset glob and returns something small (centres and inertia).
Libraries are imported inside the functions so the measuring subprocess pays only for
the library it benchmarks.
"""

from __future__ import annotations

import glob as _glob
from collections.abc import Sequence

import numpy as np

__all__ = [
    "KMEANS_FEATURES",
    "initial_centers",
    "pandas_sklearn_kmeans",
    "scaleml_kmeans_fit",
]

#: Null-free features of the benchmark dataset (``f0`` has nulls).
KMEANS_FEATURES = [f"f{i}" for i in range(1, 20)]


def initial_centers(glob: str, cols: Sequence[str], n_clusters: int) -> np.ndarray:
    """The first `n_clusters` rows of `cols`: the initial centres both fits start from.

    Parameters
    ----------
    glob : str
        Parquet glob of the dataset.
    cols : sequence of str
        Feature columns.
    n_clusters : int
        Number of centres.

    Returns
    -------
    numpy.ndarray of shape (n_clusters, len(cols))
    """
    import polars as pl

    frame = pl.scan_parquet(glob).select(cols).head(n_clusters).collect()
    return np.ascontiguousarray(frame.to_numpy(), dtype=np.float64)


def scaleml_kmeans_fit(
    glob: str, cols: Sequence[str], init: np.ndarray, max_iter: int
) -> tuple[np.ndarray, float]:
    """Fit ``scaleml.KMeans`` (Lloyd, one streaming pass per iteration) from `init`.

    Parameters
    ----------
    glob : str
        Parquet glob of the dataset.
    cols : sequence of str
        Null-free feature columns.
    init : numpy.ndarray of shape (n_clusters, len(cols))
        Initial centres.
    max_iter : int
        Lloyd iterations (``tol=0``: all of them run).

    Returns
    -------
    centers : numpy.ndarray of shape (n_clusters, len(cols))
    inertia : float
    """
    import scaleml as sm

    km = sm.KMeans(len(init), init=init, n_init=1, max_iter=max_iter, tol=0.0)
    km.fit(sm.scan(glob).select(list(cols)))
    return km.cluster_centers_, float(km.inertia_)


def pandas_sklearn_kmeans(
    glob: str, cols: Sequence[str], init: np.ndarray, max_iter: int
) -> tuple[np.ndarray, float]:
    """Load `cols` with pandas and fit scikit-learn's ``KMeans`` (Lloyd) from `init`.

    Parameters
    ----------
    glob : str
        Parquet glob of the dataset.
    cols : sequence of str
        Null-free feature columns.
    init : numpy.ndarray of shape (n_clusters, len(cols))
        Initial centres.
    max_iter : int
        Lloyd iterations (``tol=0``: all of them run).

    Returns
    -------
    centers : numpy.ndarray of shape (n_clusters, len(cols))
    inertia : float
    """
    import pandas as pd
    from sklearn.cluster import KMeans

    frame = pd.read_parquet(sorted(_glob.glob(glob)), columns=list(cols))
    km = KMeans(len(init), init=init, n_init=1, max_iter=max_iter, tol=0.0, algorithm="lloyd")
    km.fit(frame)
    return km.cluster_centers_, float(km.inertia_)
