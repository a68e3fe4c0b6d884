"""Hash-based splits and folds, shared-scan training of many models, the run log."""

from scaleml.model_selection._fit_many import fit_many
from scaleml.model_selection._runlog import RunLog, read_runs
from scaleml.model_selection._search import GridSearchCV, RandomizedSearchCV
from scaleml.model_selection._split import (
    HashKFold,
    HashStratifiedKFold,
    fold_expr,
    train_test_split,
)

__all__ = [
    "GridSearchCV",
    "HashKFold",
    "HashStratifiedKFold",
    "RandomizedSearchCV",
    "RunLog",
    "fit_many",
    "fold_expr",
    "read_runs",
    "train_test_split",
]
