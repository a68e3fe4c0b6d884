"""KMeans: Lloyd's algorithm out of core, one streaming pass per iteration."""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass, field
from numbers import Integral
from typing import Any

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import _is_arraylike_not_scalar

from scaleml._checkpoint import Checkpoint, fingerprint
from scaleml._progress import Progress
from scaleml.cluster._base import (
    BaseKMeans,
    centers_t,
    check_n_samples,
    derive_seed,
    numba_threads,
    tolerance,
)
from scaleml.cluster._init import (
    Reservoir,
    init_centroids,
    kmeans_parallel,
    stream_seed,
)
from scaleml.cluster._stream import BLOCK_BYTES, BlockStream
from scaleml.io import batch_rows_for

__all__ = ["KMeans"]

#: Default size of the k-means++ sample: rows, capped at about BLOCK_BYTES of features.
_DEFAULT_SAMPLE_ROWS = 100_000


# -- Lloyd ------------------------------------------------------------------------------
@dataclass
class _Run:
    """One k-means run: its centres and where it stands.

    ``status`` is "lloyd" (the next pass is an iteration), "final" (the next pass is
    the final E-step giving the inertia of the final centres) or "done".
    """

    centers: np.ndarray
    n_iter: int = 0
    status: str = "lloyd"
    inertia: float = float("nan")
    counts: np.ndarray | None = field(default=None, repr=False)


class _PassSums:
    """Per-centre sums, counts and inertia of one pass, for several runs at once."""

    def __init__(self, centers: list[np.ndarray]) -> None:
        R = len(centers)
        k, d = centers[0].shape
        self.centers_t = np.ascontiguousarray(np.stack([c.T for c in centers]))
        self.state = [np.zeros((R, k, d)), np.zeros((R, k)), np.zeros(R)]
        self.carry = [np.zeros((R, k, d)), np.zeros((R, k)), np.zeros(R)]

    def update(self, offset: int, block: np.ndarray) -> None:
        from scaleml._kernels._kmeans import lloyd_chunk

        lloyd_chunk(block, self.centers_t, offset, *self.state, *self.carry)

    def result(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        sums, counts, inertia = (s + c for s, c in zip(self.state, self.carry, strict=True))
        return sums, counts, inertia


class _Farthest:
    """The `m` rows farthest from their nearest centre (ties: first in the stream)."""

    def __init__(self, centers: np.ndarray, m: int) -> None:
        self.ct = centers_t(centers)
        self.m = m
        self.dist = np.empty(0)
        self.index = np.empty(0, dtype=np.int64)
        self.labels = np.empty(0, dtype=np.int32)
        self.rows = np.empty((0, centers.shape[1]))

    def update(self, offset: int, block: np.ndarray) -> None:
        from scaleml._kernels._kmeans import assign

        labels, dist = assign(block, self.ct)
        if len(dist) > self.m:
            # Keep everything tied with the m-th largest; the exact order is settled below.
            cut = np.partition(dist, len(dist) - self.m)[len(dist) - self.m]
            take = np.flatnonzero(dist >= cut)
        else:
            take = np.arange(len(dist))
        dist = np.concatenate([self.dist, dist[take]])
        index = np.concatenate([self.index, offset + take])
        order = np.lexsort((index, -dist))[: self.m]
        self.dist, self.index = dist[order], index[order]
        self.labels = np.concatenate([self.labels, labels[take]])[order]
        self.rows = np.concatenate([self.rows, block[take]])[order]


def _relocate_empty_clusters(far: _Farthest, sums: np.ndarray, counts: np.ndarray) -> None:
    """scikit-learn's ``_relocate_empty_clusters_dense`` on the pass totals.

    Each empty cluster takes one of the rows farthest from their centre (farthest
    first), which leaves its old cluster. In place.
    """
    empty = np.flatnonzero(counts == 0)
    if far.dist.size == 0 or far.dist.max() == 0:
        # More clusters than distinct points: relocating is pointless.
        return
    for new_id, row, old_id in zip(empty, far.rows, far.labels, strict=False):
        sums[old_id] -= row
        sums[new_id] = row
        counts[new_id] = 1.0
        counts[old_id] -= 1.0


def _average_centers(sums: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """scikit-learn's ``_average_centers``, quirks included.

    An empty cluster is put on the largest cluster's row as it stands when the loop
    reaches it (already averaged or not), exactly as scikit-learn does.
    """
    centers = sums.copy()
    biggest = int(np.argmax(counts))
    for j in range(len(counts)):
        if counts[j] > 0:
            centers[j] *= 1.0 / counts[j]
        else:
            centers[j] = centers[biggest]
    return centers


def _same_centers(a: np.ndarray, b: np.ndarray) -> bool:
    """Whether two runs found the same clustering (the same centres, in any order)."""
    a_sorted = a[np.lexsort(a.T[::-1])]
    b_sorted = b[np.lexsort(b.T[::-1])]
    return bool(np.allclose(a_sorted, b_sorted, rtol=1e-9, atol=0))


class KMeans(BaseKMeans):
    """K-Means clustering, fitted out of core.

    The scikit-learn estimator of the same name. Every Lloyd iteration is one
    streaming pass over the data with one fused numba kernel per block (nearest centre,
    per-centre sums and counts, inertia); memory stays one block plus the centres.
    The first pass spools the features to a raw float64 file (``cache``) so that later
    passes are memory-speed reads. With the same initial centres, the result is
    scikit-learn's Lloyd result; it does not depend on ``batch_rows`` or ``n_jobs``
    (bit for bit).

    Parameters
    ----------
    n_clusters : int, default=8
        The number of clusters.
    init : {"k-means++", "random", "k-means||"}, callable or array-like of shape \
            (n_clusters, n_features), default="k-means++"
        "k-means++" (greedy, as scikit-learn) and "random" run on a uniform sample of
        ``init_sample_size`` rows drawn in the first pass (the whole data when it is
        smaller). "k-means||" (Bahmani et al., 2012) samples about ``2 * n_clusters``
        candidates in each of 5 passes over all the data, then runs weighted k-means++
        on them. A callable gets the (centred) sample, as scikit-learn's gets the data.
    n_init : "auto" or int, default="auto"
        Runs from different initial centres (the best inertia wins): 10 for "random"
        or a callable, else 1. The runs share their passes over the data.
    max_iter : int, default=300
        Maximum number of Lloyd iterations.
    tol : float, default=1e-4
        Convergence when the squared centre shift is at most ``tol`` times the mean
        variance of the features (scikit-learn's criterion).
    verbose : int, default=0
        Show a progress line per pass.
    random_state : int, RandomState instance or None, default=None
        Seeds the initialisation. Use an int to resume from a checkpoint.
    copy_x : bool, default=True
        Kept for compatibility: the input is never modified.
    algorithm : {"lloyd", "elkan"}, default="lloyd"
        Accepted for compatibility; "elkan" also runs Lloyd's algorithm, whose
        one-pass iterations suit out-of-core data (Elkan's bounds are O(n) state).
    batch_rows : int, optional
        Rows per block handed to the kernel (default: about 16 MiB per block).
    n_jobs : int, optional
        Threads of the kernels: None keeps numba's thread count (all cores, as
        scikit-learn's OpenMP loops use, unless set otherwise), -1 all cores.
    checkpoint : str or PathLike, optional
        A file where the fit saves its state after every pass, atomically; a fit
        killed midway resumes from it and ends with the same model.
    init_sample_size : int, optional
        Rows of the uniform sample k-means++ and "random" run on (default 100 000,
        at most about 16 MiB).
    cache : bool, str or PathLike, default=True
        Spool the features to a raw float64 file in the temporary directory (True),
        in the given directory, or not at all (False: every pass reads the source).

    Attributes
    ----------
    cluster_centers_ : ndarray of shape (n_clusters, n_features)
    labels_ : ndarray of shape (n_samples,)
        Cluster of every row, for in-memory input only (an out-of-core input gets no
        O(n_samples) attribute: use ``predict``).
    inertia_ : float
        Sum of squared distances of the rows to their closest centre.
    n_iter_ : int
        Lloyd iterations of the best run.
    n_features_in_ : int
    feature_names_in_ : ndarray of shape (n_features_in_,)

    Notes
    -----
    Differences from scikit-learn, all deliberate:

    - k-means++ and "random" seed on a uniform sample, not on all rows: on data of at
      most ``init_sample_size`` rows they pick exactly scikit-learn's centres.
    - Distances are computed directly, ``sum (x - c)^2`` (scikit-learn uses dot
      products on centred data): labels can differ on exact ties only.
    - Of several runs, the lowest inertia wins unless its centres equal the best
      run's (scikit-learn compares the labels).
    - Empty clusters take the farthest rows, farthest first (scikit-learn's order
      among several far rows is arbitrary).
    - No ``sample_weight``; the spool needs ``n_samples * n_features * 8`` bytes of
      disk (use ``cache=False`` to re-read the source every pass instead).

    Examples
    --------
    >>> import numpy as np
    >>> from scaleml import KMeans
    >>> X = np.array([[1, 2], [1, 4], [1, 0], [10, 2], [10, 4], [10, 0]])
    >>> km = KMeans(n_clusters=2, random_state=0).fit(X)
    >>> km.labels_
    array([1, 1, 1, 0, 0, 0], dtype=int32)
    >>> km.cluster_centers_
    array([[10.,  2.],
           [ 1.,  2.]])
    >>> import polars as pl
    >>> new = pl.LazyFrame({"x0": [0.0, 12.0], "x1": [0.0, 3.0]})
    >>> km.predict(new).collect()["prediction"].to_list()
    [1, 0]
    """

    _parameter_constraints: dict[str, list[Any]] = {
        **BaseKMeans._parameter_constraints,
        "init": [StrOptions({"k-means++", "random", "k-means||"}), callable, "array-like"],
        "copy_x": ["boolean"],
        "algorithm": [StrOptions({"lloyd", "elkan"})],
        "batch_rows": [Interval(Integral, 1, None, closed="left"), None],
        "n_jobs": [Integral, None],
        "checkpoint": [str, os.PathLike, None],
        "init_sample_size": [Interval(Integral, 1, None, closed="left"), None],
        "cache": ["boolean", str, os.PathLike],
    }

    def __init__(
        self,
        n_clusters: int = 8,
        *,
        init: Any = "k-means++",
        n_init: Any = "auto",
        max_iter: int = 300,
        tol: float = 1e-4,
        verbose: int = 0,
        random_state: Any = None,
        copy_x: bool = True,
        algorithm: str = "lloyd",
        batch_rows: int | None = None,
        n_jobs: int | None = None,
        checkpoint: Any = None,
        init_sample_size: int | None = None,
        cache: Any = True,
    ) -> None:
        self.n_clusters = n_clusters
        self.init = init
        self.n_init = n_init
        self.max_iter = max_iter
        self.tol = tol
        self.verbose = verbose
        self.random_state = random_state
        self.copy_x = copy_x
        self.algorithm = algorithm
        self.batch_rows = batch_rows
        self.n_jobs = n_jobs
        self.checkpoint = checkpoint
        self.init_sample_size = init_sample_size
        self.cache = cache

    def fit(self, X: Any, y: Any = None) -> KMeans:
        """Compute k-means clustering.

        Parameters
        ----------
        X : array-like, DataFrame, LazyFrame, path/glob, DuckDB relation or Arrow data
        y : None, array-like or str
            Ignored; a string names a label column, which is then not a feature.

        Returns
        -------
        self
        """
        self._validate_params()
        for attr in ("labels_", "cluster_centers_"):
            if hasattr(self, attr):
                delattr(self, attr)
        data = self._input(X, y, reset=True)
        n_features = len(data.columns)
        init = self._check_init(n_features)
        Checkpoint(self.checkpoint, key="").ensure_writable()  # before any data is read
        ckpt = Checkpoint(self.checkpoint, fingerprint(self, data.lf))
        self._sample_rows = self._sample_size(n_features)
        n_init = self._resolve_n_init(default_n_init=10)
        random_state = check_random_state(self.random_state)
        stream = BlockStream(
            self, data.lf, data.columns, batch_rows=self.batch_rows, cache=self.cache
        )
        with stream, numba_threads(self.n_jobs):
            runs = self._lloyd(stream, init, n_init, random_state, ckpt)
            best = self._best(runs)
            if not data.lazy:
                self.cluster_centers_ = best.centers
                self.labels_ = self._labels(block for _, block in stream.blocks())
        ckpt.remove()
        self.cluster_centers_ = best.centers
        self._n_features_out = self.cluster_centers_.shape[0]
        self.inertia_ = float(best.inertia)
        self.n_iter_ = best.n_iter
        distinct = int(np.count_nonzero(best.counts if best.counts is not None else 0))
        if distinct < self.n_clusters:
            warnings.warn(
                f"Number of distinct clusters ({distinct}) found smaller than n_clusters "
                f"({self.n_clusters}). Possibly due to duplicate points in X.",
                ConvergenceWarning,
                stacklevel=2,
            )
        return self

    def _sample_size(self, n_features: int) -> int:
        if self.init_sample_size is None:
            cap = batch_rows_for(n_features, batch_bytes=BLOCK_BYTES)
            return max(min(_DEFAULT_SAMPLE_ROWS, cap), self.n_clusters)
        if self.init_sample_size < self.n_clusters:
            msg = (
                f"init_sample_size={self.init_sample_size} should be >= "
                f"n_clusters={self.n_clusters}."
            )
            raise ValueError(msg)
        return int(self.init_sample_size)

    # -- the passes ---------------------------------------------------------------------
    def _lloyd(
        self,
        stream: BlockStream,
        init: Any,
        n_init: int,
        random_state: np.random.RandomState,
        ckpt: Checkpoint,
    ) -> list[_Run]:
        progress = Progress(self.verbose, "KMeans", n_passes=self.max_iter + 2)
        saved = ckpt.load()
        runs: list[_Run] | None = None
        if saved is not None:
            runs, self._tol = saved[0]["runs"], saved[0]["tol"]
        elif _is_arraylike_not_scalar(init):
            runs = [_Run(init.copy())]
        seed = derive_seed(random_state)
        sample = Reservoir(self._sample_rows, len(stream.columns), stream_seed(seed, 0))

        def scan(offset: int, block: np.ndarray) -> None:
            if runs is None:
                sample.update(offset, block)

        # First pass, from the source: statistics, the sample, and a Lloyd iteration
        # too when the centres are already known.
        results = self._pass(stream, runs or [], progress, 0, extra=scan)
        assert stream.n_rows is not None
        check_n_samples(self, stream.n_rows, len(stream.columns))
        if saved is None:
            self._tol = tolerance(stream.stats, self.tol)
        if runs is None:
            runs = [
                _Run(c) for c in self._initial_centers(stream, sample, n_init, random_state, seed)
            ]
        else:
            self._advance(stream, runs, results)
        ckpt.save({"runs": runs, "tol": self._tol}, position=0)
        n_pass = 1
        while any(run.status != "done" for run in runs):
            results = self._pass(stream, runs, progress, n_pass)
            self._advance(stream, runs, results)
            ckpt.save({"runs": runs, "tol": self._tol}, position=n_pass)
            n_pass += 1
        return runs

    def _pass(
        self,
        stream: BlockStream,
        runs: list[_Run],
        progress: Progress,
        index: int,
        extra: Any = None,
    ) -> tuple[list[_Run], tuple[np.ndarray, np.ndarray, np.ndarray] | None]:
        """One pass: Lloyd sums of every run that is not done (and `extra` per block)."""
        active = [run for run in runs if run.status != "done"]
        sums = _PassSums([run.centers for run in active]) if active else None
        progress.start_pass(index)
        for offset, block in stream.blocks():
            if sums is not None:
                sums.update(offset, block)
            if extra is not None:
                extra(offset, block)
            progress.update(len(block))
        result = sums.result() if sums is not None else None
        if result is not None:
            progress.end_pass(inertia=float(result[2].min()))
        else:
            progress.end_pass()
        return active, result

    def _advance(
        self,
        stream: BlockStream,
        runs: list[_Run],
        results: tuple[list[_Run], tuple[np.ndarray, np.ndarray, np.ndarray] | None],
    ) -> None:
        active, result = results
        if result is None:
            return
        sums, counts, inertia = result
        empty = [
            i for i, run in enumerate(active) if run.status == "lloyd" and (counts[i] == 0).any()
        ]
        if empty:
            self._relocate(
                stream,
                [active[i] for i in empty],
                [sums[i] for i in empty],
                [counts[i] for i in empty],
            )
        for i, run in enumerate(active):
            if run.status == "final":
                run.inertia, run.counts, run.status = float(inertia[i]), counts[i], "done"
                continue
            old = run.centers
            run.counts = counts[i].copy()
            new = _average_centers(sums[i], counts[i])
            run.n_iter += 1
            shift = np.sqrt(((new - old) ** 2).sum(axis=1))
            run.centers = new
            if np.array_equal(new, old):
                # Same centres, so the same labels as the previous iteration: strict
                # convergence, and this pass's inertia is the final centres' inertia.
                run.inertia, run.status = float(inertia[i]), "done"
            elif (shift**2).sum() <= self._tol or run.n_iter >= self.max_iter:
                # Re-run the E-step so that inertia_ (and labels_) match the centres.
                run.status = "final"

    def _relocate(
        self,
        stream: BlockStream,
        runs: list[_Run],
        sums: list[np.ndarray],
        counts: list[np.ndarray],
    ) -> None:
        """One extra pass finding far rows for the empty clusters (a rare event)."""
        far = [
            _Farthest(run.centers, int((c == 0).sum())) for run, c in zip(runs, counts, strict=True)
        ]
        for offset, block in stream.blocks():
            for f in far:
                f.update(offset, block)
        for f, s, c in zip(far, sums, counts, strict=True):
            _relocate_empty_clusters(f, s, c)

    def _initial_centers(
        self,
        stream: BlockStream,
        sample: Reservoir,
        n_init: int,
        random_state: np.random.RandomState,
        seed: int,
    ) -> list[np.ndarray]:
        rows = sample.sample()
        if self.init == "k-means||":
            assert stream.n_rows is not None
            return kmeans_parallel(
                lambda: (pair for pair in stream.blocks()),
                rows,
                stream.n_rows,
                self.n_clusters,
                n_init,
                random_state,
                seed,
            )
        # As scikit-learn, seed on centred data: the dot-product distances of k-means++
        # lose precision far from the origin.
        mean = rows.mean(axis=0)
        centred = rows - mean
        return [
            init_centroids(centred, self.init, self.n_clusters, random_state) + mean
            for _ in range(n_init)
        ]

    def _best(self, runs: list[_Run]) -> _Run:
        """The run of lowest inertia (scikit-learn keeps the first of equal clusterings)."""
        best = runs[0]
        for run in runs[1:]:
            if run.inertia < best.inertia and not _same_centers(run.centers, best.centers):
                best = run
        return best
