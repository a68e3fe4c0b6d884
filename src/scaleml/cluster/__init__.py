"""Out-of-core clustering: KMeans and MiniBatchKMeans."""

from scaleml.cluster._kmeans import KMeans
from scaleml.cluster._minibatch import MiniBatchKMeans

__all__ = ["KMeans", "MiniBatchKMeans"]
