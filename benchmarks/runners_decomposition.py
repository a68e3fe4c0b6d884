"""The PCA benchmarks' runners: scaleml and its peers, as module-level (picklable)
functions.

Each takes the dataset glob and returns something small (the explained variances and
the components). Libraries are imported inside the functions so the measuring
subprocess only pays for the one it runs.
"""

from __future__ import annotations

import glob as _glob
from collections.abc import Sequence

import numpy as np

__all__ = [
    "PCA_FEATURES",
    "pandas_sklearn_pca",
    "scaleml_pca_fit",
    "sklearn_incremental_pca_partial_fit",
]

#: Null-free features of the benchmark dataset (``f0`` has nulls).
PCA_FEATURES = [f"f{i}" for i in range(1, 20)]


def scaleml_pca_fit(
    glob: str, cols: Sequence[str], n_components: int
) -> tuple[np.ndarray, np.ndarray]:
    """Fit ``scaleml.PCA`` on `cols` in one streaming pass.

    Parameters
    ----------
    glob : str
        Parquet glob of the dataset.
    cols : sequence of str
        Null-free feature columns.
    n_components : int
        Components kept.

    Returns
    -------
    explained_variance, components : numpy.ndarray
    """
    import scaleml as sm

    pca = sm.PCA(n_components=n_components).fit(sm.scan(glob).select(list(cols)))
    return pca.explained_variance_, pca.components_


def pandas_sklearn_pca(
    glob: str, cols: Sequence[str], n_components: int
) -> tuple[np.ndarray, np.ndarray]:
    """Load `cols` with ``pandas.read_parquet`` and fit scikit-learn's ``PCA``.

    The default solver ("auto") picks "covariance_eigh" for this tall data.

    Parameters
    ----------
    glob : str
        Parquet glob of the dataset.
    cols : sequence of str
        Null-free feature columns.
    n_components : int
        Components kept.

    Returns
    -------
    explained_variance, components : numpy.ndarray
    """
    import pandas as pd
    from sklearn.decomposition import PCA

    df = pd.read_parquet(sorted(_glob.glob(glob)), columns=list(cols))
    pca = PCA(n_components=n_components).fit(df)
    return pca.explained_variance_, pca.components_


def sklearn_incremental_pca_partial_fit(
    glob: str, cols: Sequence[str], n_components: int, batch_rows: int
) -> tuple[np.ndarray, np.ndarray]:
    """``IncrementalPCA.partial_fit`` over Polars batches of `batch_rows` rows.

    The out-of-core option scikit-learn offers; approximate when ``n_components`` is
    below the number of features (each step keeps only ``n_components`` directions).

    Parameters
    ----------
    glob : str
        Parquet glob of the dataset.
    cols : sequence of str
        Null-free feature columns.
    n_components : int
        Components kept.
    batch_rows : int
        Rows per ``partial_fit`` call.

    Returns
    -------
    explained_variance, components : numpy.ndarray
    """
    import polars as pl
    from sklearn.decomposition import IncrementalPCA

    pca = IncrementalPCA(n_components=n_components)
    batches = pl.scan_parquet(glob).select(list(cols)).collect_batches(chunk_size=batch_rows)
    for batch in batches:
        pca.partial_fit(batch.to_numpy())
    return pca.explained_variance_, pca.components_
