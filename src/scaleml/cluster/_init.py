"""Initial centres: k-means++ and random on a uniform sample, k-means|| over the stream.

:func:`kmeans_plusplus` and :func:`init_centroids` are scikit-learn's ``_kmeans_plusplus``
and ``_BaseKMeans._init_centroids``, operation for operation, so the same data and
random state pick the same centres. Out of core they run on a :class:`Reservoir`: a
uniform sample drawn in one pass, which is the whole data when it is small enough.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import numpy as np
from sklearn.utils import check_array
from sklearn.utils.extmath import row_norms

__all__ = [
    "KMEANS_PARALLEL_ROUNDS",
    "Reservoir",
    "init_centroids",
    "kmeans_parallel",
    "kmeans_plusplus",
    "stream_seed",
    "validate_center_shape",
]

#: Sampling rounds of k-means|| (Bahmani et al. found 5 rounds of 2k points enough).
KMEANS_PARALLEL_ROUNDS = 5
_MASK64 = 2**64 - 1


def stream_seed(seed: int, *ids: int) -> int:
    """A 63-bit seed for one random stream, derived from `seed` and stream ids."""
    h = seed & _MASK64
    for i in ids:
        h = (h ^ (i + 0x9E3779B97F4A7C15 + (h << 6) + (h >> 2))) & _MASK64
        h = ((h ^ (h >> 30)) * 0xBF58476D1CE4E5B9) & _MASK64
        h = ((h ^ (h >> 27)) * 0x94D049BB133111EB) & _MASK64
        h ^= h >> 31
    # 63 bits: the kernels take the seed as a signed 64-bit integer.
    return h >> 1


class Reservoir:
    """A uniform sample without replacement of at most `size` rows, drawn in one pass.

    Every row gets a key, a uniform hash of its position in the stream; the sample is
    the `size` rows with the smallest keys (a bottom-k sketch). It depends on the seed
    and the data only, not on the chunking; it is returned in stream order, so a
    stream of at most `size` rows is returned whole, in order.
    """

    def __init__(self, size: int, n_features: int, seed: int) -> None:
        self.size = size
        self.seed = seed
        self._keys: list[np.ndarray] = []
        self._index: list[np.ndarray] = []
        self._rows: list[np.ndarray] = [np.empty((0, n_features))]
        self._held = 0
        self._threshold = np.inf

    def update(self, offset: int, block: np.ndarray) -> None:
        """Offer the rows ``offset .. offset + len(block) - 1`` of the stream."""
        from scaleml._kernels._kmeans import hash_uniform  # numba: imported on first fit

        keys = hash_uniform(self.seed, offset, len(block))
        # Rows at or above the size-th smallest key seen so far never make the sample.
        take = np.flatnonzero(keys < self._threshold)
        if take.size == 0:
            return
        self._keys.append(keys[take])
        self._index.append(offset + take)
        self._rows.append(block[take])
        self._held += take.size
        # Select only when the buffer has doubled: amortised O(1) per row.
        if self._held >= 2 * self.size:
            self._select()

    def _select(self) -> tuple[np.ndarray, np.ndarray]:
        keys = np.concatenate(self._keys) if self._keys else np.empty(0)
        index = np.concatenate(self._index) if self._index else np.empty(0, dtype=np.int64)
        rows = np.concatenate(self._rows)
        if len(keys) > self.size:
            keep = np.lexsort((index, keys))[: self.size]
            keys, index, rows = keys[keep], index[keep], rows[keep]
        if len(keys) >= self.size:
            self._threshold = float(keys.max())
        self._keys, self._index, self._rows = [keys], [index], [rows]
        self._held = len(keys)
        return index, rows

    def sample(self) -> np.ndarray:
        """The sampled rows, in stream order."""
        index, rows = self._select()
        return np.ascontiguousarray(rows[np.argsort(index, kind="stable")])


def validate_center_shape(X: np.ndarray, centers: np.ndarray, n_centroids: int) -> None:
    """scikit-learn's check of the shape of initial centres."""
    if centers.shape[0] != n_centroids:
        msg = (
            f"The shape of the initial centers {centers.shape} does not match the number "
            f"of clusters {n_centroids}."
        )
        raise ValueError(msg)
    if centers.shape[1] != X.shape[1]:
        msg = (
            f"The shape of the initial centers {centers.shape} does not match the number "
            f"of features of the data {X.shape[1]}."
        )
        raise ValueError(msg)


def _sq_euclidean(X: np.ndarray, Y: np.ndarray, y_norm_squared: np.ndarray) -> np.ndarray:
    # scikit-learn's _euclidean_distances(X, Y, Y_norm_squared=..., squared=True) for
    # float64, in the same order of operations (so k-means++ draws the same points).
    distances: np.ndarray = -2 * (X @ Y.T)
    distances += row_norms(X, squared=True)[:, None]
    distances += y_norm_squared.reshape(1, -1)
    np.maximum(distances, 0, out=distances)
    return distances


def kmeans_plusplus(
    X: np.ndarray,
    n_clusters: int,
    x_squared_norms: np.ndarray,
    sample_weight: np.ndarray,
    random_state: np.random.RandomState,
    n_local_trials: int | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Greedy k-means++ (scikit-learn's ``_kmeans_plusplus``); returns centres, indices."""
    n_samples, n_features = X.shape
    centers = np.empty((n_clusters, n_features), dtype=X.dtype)
    if n_local_trials is None:
        # Arthur & Vassilvitskii's choice, as in scikit-learn.
        n_local_trials = 2 + int(np.log(n_clusters))
    center_id = random_state.choice(n_samples, p=sample_weight / sample_weight.sum())
    indices = np.full(n_clusters, -1, dtype=int)
    centers[0] = X[center_id]
    indices[0] = center_id
    closest_dist_sq = _sq_euclidean(centers[0, np.newaxis], X, x_squared_norms)
    current_pot = closest_dist_sq @ sample_weight
    for c in range(1, n_clusters):
        rand_vals = random_state.uniform(size=n_local_trials) * current_pot
        candidate_ids = np.searchsorted(np.cumsum(sample_weight * closest_dist_sq), rand_vals)
        # Rounding can put a candidate one past the end.
        np.clip(candidate_ids, None, closest_dist_sq.size - 1, out=candidate_ids)
        distance_to_candidates = _sq_euclidean(X[candidate_ids], X, x_squared_norms)
        np.minimum(closest_dist_sq, distance_to_candidates, out=distance_to_candidates)
        candidates_pot = distance_to_candidates @ sample_weight.reshape(-1, 1)
        best_candidate = np.argmin(candidates_pot)
        current_pot = candidates_pot[best_candidate]
        closest_dist_sq = distance_to_candidates[best_candidate]
        best_candidate = candidate_ids[best_candidate]
        centers[c] = X[best_candidate]
        indices[c] = best_candidate
    return centers, indices


def init_centroids(
    X: np.ndarray,
    init: Any,
    n_clusters: int,
    random_state: np.random.RandomState,
    *,
    sample_weight: np.ndarray | None = None,
    init_size: int | None = None,
) -> np.ndarray:
    """scikit-learn's ``_BaseKMeans._init_centroids`` for dense float64 data."""
    n_samples = X.shape[0]
    weight = np.ones(n_samples) if sample_weight is None else sample_weight
    if init_size is not None and init_size < n_samples:
        init_indices = random_state.randint(0, n_samples, init_size)
        X = X[init_indices]
        n_samples = X.shape[0]
        weight = weight[init_indices]
    if isinstance(init, str) and init == "k-means++":
        centers, _ = kmeans_plusplus(
            X, n_clusters, row_norms(X, squared=True), weight, random_state
        )
    elif isinstance(init, str) and init == "random":
        seeds = random_state.choice(
            n_samples, size=n_clusters, replace=False, p=weight / weight.sum()
        )
        centers = X[seeds]
    elif callable(init):
        centers = init(X, n_clusters, random_state=random_state)
        centers = check_array(centers, dtype=X.dtype, copy=False, order="C")
        validate_center_shape(X, centers, n_clusters)
    else:
        centers = init
    return np.array(centers, dtype=np.float64, order="C")


def kmeans_parallel(
    passes: Callable[[], Iterable[tuple[int, np.ndarray]]],
    sample: np.ndarray,
    n_rows: int,
    n_clusters: int,
    n_runs: int,
    random_state: np.random.RandomState,
    seed: int,
    rounds: int = KMEANS_PARALLEL_ROUNDS,
) -> list[np.ndarray]:
    """k-means|| (Bahmani et al., 2012): `n_runs` independent seedings, sharing passes.

    Each round is one pass: every row joins the candidates of a run with probability
    ``min(1, l * d^2(x) / psi)``, ``l = 2 * n_clusters``, where ``d^2`` is its squared
    distance to the run's candidates and ``psi`` their cost, estimated on the uniform
    `sample` (so sampling needs no pass of its own). One last pass weights each
    candidate by the rows closest to it; weighted k-means++ on the candidates then
    picks the centres.

    Parameters
    ----------
    passes : callable returning an iterable of ``(offset, block)``
        One pass over the data per call.
    sample : ndarray
        A uniform sample of the data (the first candidate of each run is drawn from it).
    n_rows : int
        Rows of the data.
    """
    from scaleml._kernels._kmeans import assign, hash_uniform  # numba: on first fit

    oversampling = 2.0 * n_clusters
    scale = n_rows / len(sample)
    candidates = [sample[[random_state.randint(len(sample))]] for _ in range(n_runs)]
    for rnd in range(rounds):
        psi = [scale * assign(sample, np.ascontiguousarray(c.T))[1].sum() for c in candidates]
        seeds = [stream_seed(seed, 2 + rnd, run) for run in range(n_runs)]
        found: list[list[np.ndarray]] = [[] for _ in range(n_runs)]
        for offset, block in passes():
            for run, cand in enumerate(candidates):
                if psi[run] <= 0:
                    continue
                _, d2 = assign(block, np.ascontiguousarray(cand.T))
                u = hash_uniform(seeds[run], offset, len(block))
                picked = np.flatnonzero(u < oversampling * d2 / psi[run])
                if picked.size:
                    found[run].append(block[picked])
        candidates = [np.concatenate([c, *f]) for c, f in zip(candidates, found, strict=True)]
    weights = [np.zeros(len(c)) for c in candidates]
    for _, block in passes():
        for run, cand in enumerate(candidates):
            labels, _ = assign(block, np.ascontiguousarray(cand.T))
            weights[run] += np.bincount(labels, minlength=len(cand))
    centers = []
    for cand, w in zip(candidates, weights, strict=True):
        keep = w > 0
        cand, w = cand[keep], w[keep]
        if len(cand) < n_clusters:
            # Fewer distinct candidates than clusters (tiny or degenerate data): seed
            # from the sample instead, as k-means++ would.
            cand, w = sample, np.ones(len(sample))
        mean = np.average(cand, axis=0, weights=w)
        centred = cand - mean
        found_centers, _ = kmeans_plusplus(
            centred, n_clusters, row_norms(centred, squared=True), w, random_state
        )
        centers.append(found_centers + mean)
    return centers
