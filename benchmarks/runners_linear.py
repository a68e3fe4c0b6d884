"""scaleml's side of the linear-model benchmarks, as module-level (picklable) functions.

Each function takes the dataset glob and returns something small (the coefficients).
``scaleml`` is imported inside the functions so the measuring subprocess pays for it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

__all__ = ["OLS_FEATURES", "scaleml_linear_regression_fit"]

#: Null-free features of the benchmark dataset (``f0`` has nulls).
OLS_FEATURES = [f"f{i}" for i in range(1, 20)]


def scaleml_linear_regression_fit(glob: str, cols: Sequence[str], target: str) -> Any:
    """Fit ``scaleml.LinearRegression`` on `cols` -> `target` in one streaming pass.

    Parameters
    ----------
    glob : str
        Parquet glob of the dataset.
    cols : sequence of str
        Null-free feature columns.
    target : str
        Target column.

    Returns
    -------
    numpy.ndarray of shape (len(cols),)
        The fitted ``coef_``.
    """
    import scaleml as sm

    data = sm.scan(glob).select([*cols, target])
    return sm.LinearRegression().fit(data, y=target).coef_
