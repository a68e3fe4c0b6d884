"""Out-of-core matrix decomposition: exact PCA from one pass over the data."""

from scaleml.decomposition._pca import PCA

__all__ = ["PCA"]
