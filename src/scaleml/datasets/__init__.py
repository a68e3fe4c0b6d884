"""Synthetic datasets of any size, written to parquet in bounded memory."""

from scaleml.datasets._synthetic import CATEGORICALS, feature_names, make_dataset

__all__ = ["CATEGORICALS", "feature_names", "make_dataset"]
