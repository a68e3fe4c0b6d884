"""Streaming metrics: scikit-learn's metrics on arrays, or out of core on lazy data.

Every function takes array-likes (scikit-learn's own result) or out-of-core inputs:
column names of ``data=`` (anything :func:`scaleml.scan` reads), or LazyFrames /
DuckDB relations holding the columns. Out of core, each metric is one streaming
aggregation in bounded memory.
"""

from scaleml.metrics._classification import accuracy_score, confusion_matrix, log_loss
from scaleml.metrics._ranking import roc_auc_score
from scaleml.metrics._regression import mean_squared_error, r2_score

__all__ = [
    "accuracy_score",
    "confusion_matrix",
    "log_loss",
    "mean_squared_error",
    "r2_score",
    "roc_auc_score",
]
