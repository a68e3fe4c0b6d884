"""Lazy, reproducible splits and folds assigned by a stable row hash."""

from scaleml.model_selection._split import (
    HashKFold,
    HashStratifiedKFold,
    fold_expr,
    train_test_split,
)

__all__ = ["HashKFold", "HashStratifiedKFold", "fold_expr", "train_test_split"]
