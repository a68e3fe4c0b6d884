"""scaleml's side of the logistic-regression and SGD benchmarks (module-level, picklable).

Each function takes the dataset glob and returns something small (the coefficients).
``scaleml`` is imported inside the functions so the measuring subprocess pays for it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

__all__ = [
    "LOGISTIC_FEATURES",
    "LOGISTIC_MAX_ITER",
    "scaleml_logistic_fit",
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
