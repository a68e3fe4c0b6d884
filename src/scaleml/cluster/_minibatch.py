"""MiniBatchKMeans: scikit-learn's mini-batch steps over batches streamed from disk."""

from __future__ import annotations

import os
import warnings
from collections.abc import Generator
from numbers import Integral, Real
from typing import Any

import numpy as np
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval
from sklearn.utils.validation import _check_sample_weight

from scaleml._progress import Progress
from scaleml.cluster._base import (
    BaseKMeans,
    centers_t,
    check_n_samples,
    derive_seed,
    numba_threads,
    tolerance,
)
from scaleml.cluster._init import Reservoir, init_centroids, stream_seed
from scaleml.cluster._stream import BlockStream
from scaleml.io import batch_rows_for

__all__ = ["MiniBatchKMeans", "mini_batch_step"]

#: Bytes of the window whose rows are shuffled before being cut into mini-batches.
_WINDOW_BYTES = 8 * 2**20


def _labels_inertia(
    X: np.ndarray, sample_weight: np.ndarray, centers: np.ndarray
) -> tuple[np.ndarray, float]:
    from scaleml._kernels._kmeans import assign

    labels, min_sq = assign(X, centers_t(centers))
    return labels, float(min_sq @ sample_weight)


def mini_batch_step(
    X: np.ndarray,
    sample_weight: np.ndarray,
    centers: np.ndarray,
    centers_new: np.ndarray,
    weight_sums: np.ndarray,
    random_state: np.random.RandomState,
    random_reassign: bool = False,
    reassignment_ratio: float = 0.01,
) -> float:
    """scikit-learn's ``_mini_batch_step``, random state usage included.

    Assigns the rows to their nearest centre, moves the centres (counts-based learning
    rate, :func:`scaleml._kernels._kmeans.minibatch_update`) and, when
    `random_reassign`, moves the centres with very low counts onto random rows of the
    batch. Updates `centers_new` and `weight_sums` in place; returns the inertia of the
    batch before the update.
    """
    from scaleml._kernels._kmeans import minibatch_update

    labels, inertia = _labels_inertia(X, sample_weight, centers)
    minibatch_update(X, sample_weight, centers, centers_new, weight_sums, labels)
    if random_reassign and reassignment_ratio > 0:
        to_reassign = weight_sums < reassignment_ratio * weight_sums.max()
        # At most half of the batch becomes new centres.
        if to_reassign.sum() > 0.5 * X.shape[0]:
            indices_dont_reassign = np.argsort(weight_sums)[int(0.5 * X.shape[0]) :]
            to_reassign[indices_dont_reassign] = False
        n_reassigns = to_reassign.sum()
        if n_reassigns:
            new_centers = random_state.choice(X.shape[0], replace=False, size=n_reassigns)
            centers_new[to_reassign] = X[new_centers]
        # As scikit-learn: reset the counts of the moved centres, but not so low that
        # they are reassigned again at once.
        weight_sums[to_reassign] = np.min(weight_sums[~to_reassign])
    return inertia


class MiniBatchKMeans(BaseKMeans):
    """Mini-batch K-Means clustering, fitted out of core.

    The scikit-learn estimator of the same name: the same parameters, the same
    mini-batch update (counts-based learning rate, reassignment of small clusters,
    early stopping on the smoothed batch inertia). ``partial_fit`` on the same batches
    from the same initial centres gives scikit-learn's centres.

    The first pass spools the features to disk (``cache``), computes the statistics
    and draws the initialisation and validation samples; every later pass (epoch) is
    streamed from the spool.

    Parameters
    ----------
    n_clusters : int, default=8
    init : {"k-means++", "random"}, callable or array-like, default="k-means++"
        Run on a uniform sample of ``init_size`` rows.
    max_iter : int, default=100
        Maximum number of passes (epochs) over the data.
    batch_size : int, default=1024
    verbose : int, default=0
        Show a progress line per pass.
    compute_labels : bool, default=True
        Compute the inertia (and, for in-memory input, ``labels_``) of the final centres
        with one more pass.
    random_state : int, RandomState instance or None, default=None
    tol : float, default=0.0
        Early stopping on the centre change, relative to the mean feature variance.
    max_no_improvement : int or None, default=10
        Early stopping after that many batches without improvement of the smoothed
        inertia.
    init_size : int, optional
        Rows of the initialisation sample (default ``3 * batch_size``).
    n_init : "auto" or int, default="auto"
        Initialisations tried (3 for "random" or a callable, else 1); the best on a
        validation sample is used.
    reassignment_ratio : float, default=0.01
    batch_rows : int, optional
        Rows per block read from the data (default: about 16 MiB per block).
    n_jobs : int, optional
        Threads of the kernels: None keeps numba's thread count (all cores unless set
        otherwise), -1 all cores.
    cache : bool, str or PathLike, default=True
        Spool the features to a raw float64 file in the temporary directory (True),
        in the given directory, or not at all (False: every pass reads the source).

    Attributes
    ----------
    cluster_centers_ : ndarray of shape (n_clusters, n_features)
    labels_ : ndarray of shape (n_samples,)
        For in-memory input with ``compute_labels=True`` (``partial_fit``: of the batch).
    inertia_ : float
    n_iter_ : int
    n_steps_ : int
    n_features_in_ : int
    feature_names_in_ : ndarray of shape (n_features_in_,)

    Notes
    -----
    ``fit`` differs from scikit-learn's in how rows are drawn, all else being the same:
    scikit-learn samples every batch with replacement from the whole in-memory data;
    here each epoch streams the data, shuffled within windows of about 8 MiB of rows
    (a seeded permutation of the row positions), cut into batches of ``batch_size``
    rows. The initialisation and validation samples are uniform samples without
    replacement, drawn in the first pass; the ``n_init`` seedings share one sample.
    ``fit`` takes no ``sample_weight`` (``partial_fit`` does).

    Examples
    --------
    >>> import numpy as np
    >>> from scaleml import MiniBatchKMeans
    >>> X = np.array([[1, 2], [1, 4], [1, 0], [4, 2], [4, 0], [4, 4],
    ...               [4, 5], [0, 1], [2, 2], [3, 2], [5, 5], [1, -1]])
    >>> km = MiniBatchKMeans(n_clusters=2, random_state=0, batch_size=6)
    >>> km = km.partial_fit(X[0:6, :]).partial_fit(X[6:12, :])
    >>> km.cluster_centers_
    array([[3.375, 3.   ],
           [0.75 , 0.5  ]])
    >>> km.predict(np.array([[0, 0], [4, 4]]))
    array([1, 0], dtype=int32)
    """

    _parameter_constraints: dict[str, list[Any]] = {
        **BaseKMeans._parameter_constraints,
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "compute_labels": ["boolean"],
        "max_no_improvement": [Interval(Integral, 0, None, closed="left"), None],
        "init_size": [Interval(Integral, 1, None, closed="left"), None],
        "reassignment_ratio": [Interval(Real, 0, None, closed="left")],
        "batch_rows": [Interval(Integral, 1, None, closed="left"), None],
        "n_jobs": [Integral, None],
        "cache": ["boolean", str, os.PathLike],
    }

    def __init__(
        self,
        n_clusters: int = 8,
        *,
        init: Any = "k-means++",
        max_iter: int = 100,
        batch_size: int = 1024,
        verbose: int = 0,
        compute_labels: bool = True,
        random_state: Any = None,
        tol: float = 0.0,
        max_no_improvement: int | None = 10,
        init_size: int | None = None,
        n_init: Any = "auto",
        reassignment_ratio: float = 0.01,
        batch_rows: int | None = None,
        n_jobs: int | None = None,
        cache: Any = True,
    ) -> None:
        self.n_clusters = n_clusters
        self.init = init
        self.max_iter = max_iter
        self.batch_size = batch_size
        self.verbose = verbose
        self.compute_labels = compute_labels
        self.random_state = random_state
        self.tol = tol
        self.max_no_improvement = max_no_improvement
        self.init_size = init_size
        self.n_init = n_init
        self.reassignment_ratio = reassignment_ratio
        self.batch_rows = batch_rows
        self.n_jobs = n_jobs
        self.cache = cache

    # -- sizes, as scikit-learn's _check_params_vs_input --------------------------------
    def _init_capacity(self, batch_size: int, *, warn: bool = True) -> int:
        size = self.init_size
        if size is None:
            size = 3 * batch_size
            if size < self.n_clusters:
                size = 3 * self.n_clusters
        elif size < self.n_clusters:
            if warn:
                warnings.warn(
                    f"init_size={size} should be larger than n_clusters={self.n_clusters}. "
                    "Setting it to min(3*n_clusters, n_samples)",
                    RuntimeWarning,
                    stacklevel=3,
                )
            size = 3 * self.n_clusters
        return size

    def _check_params_vs_input(self, n_rows: int, n_features: int) -> None:
        check_n_samples(self, n_rows, n_features)
        self._n_init = self._resolve_n_init(default_n_init=3)
        self._batch_size = min(self.batch_size, n_rows)
        self._init_size = min(self._init_capacity(self._batch_size), n_rows)

    # -- fit ----------------------------------------------------------------------------
    def fit(self, X: Any, y: Any = None) -> MiniBatchKMeans:
        """Compute the centroids on X by streaming it in mini-batches.

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
        for attr in ("labels_", "cluster_centers_", "_random_state", "n_steps_"):
            if hasattr(self, attr):
                delattr(self, attr)
        data = self._input(X, y, reset=True)
        n_features = len(data.columns)
        init = self._check_init(n_features)
        random_state = check_random_state(self.random_state)
        seed = derive_seed(random_state)
        capacity = self._init_capacity(self.batch_size, warn=False)
        stream = BlockStream(
            self, data.lf, data.columns, batch_rows=self.batch_rows, cache=self.cache
        )
        progress = Progress(self.verbose, "MiniBatchKMeans", n_passes=self.max_iter + 2)
        with stream, numba_threads(self.n_jobs):
            sample = Reservoir(capacity, n_features, stream_seed(seed, 0))
            valid = Reservoir(capacity, n_features, stream_seed(seed, 1))
            progress.start_pass(0)
            for offset, block in stream.blocks():
                sample.update(offset, block)
                valid.update(offset, block)
                progress.update(len(block))
            progress.end_pass()
            n_rows = stream.n_rows
            assert n_rows is not None
            self._check_params_vs_input(n_rows, n_features)
            self._tol = tolerance(stream.stats, self.tol)
            centers = self._best_init(init, sample.sample(), valid.sample(), random_state)
            centers, n_steps = self._steps(stream, centers, n_rows, random_state, seed, progress)
            self.cluster_centers_ = centers
            self._n_features_out = centers.shape[0]
            self.n_steps_ = n_steps
            self.n_iter_ = int(np.ceil(n_steps * self._batch_size / n_rows))
            if self.compute_labels:
                self._final_pass(stream, lazy=data.lazy)
            else:
                # scikit-learn's estimate: the smoothed batch inertia, per row.
                ewa = self._ewa_inertia if self._ewa_inertia is not None else self._last_inertia
                self.inertia_ = float(ewa * n_rows)
        return self

    def _best_init(
        self, init: Any, sample: np.ndarray, valid: np.ndarray, random_state: np.random.RandomState
    ) -> np.ndarray:
        """The initialisation of lowest inertia on the validation sample."""
        best_inertia = None
        best = None
        for _ in range(self._n_init):
            centers = init_centroids(sample, init, self.n_clusters, random_state)
            _, inertia = _labels_inertia(valid, np.ones(len(valid)), centers)
            if best_inertia is None or inertia < best_inertia:
                best, best_inertia = centers, inertia
        assert best is not None
        return best

    def _steps(
        self,
        stream: BlockStream,
        centers: np.ndarray,
        n_rows: int,
        random_state: np.random.RandomState,
        seed: int,
        progress: Progress,
    ) -> tuple[np.ndarray, int]:
        """Mini-batch steps until ``max_iter`` epochs or early stopping."""
        centers_new = np.empty_like(centers)
        self._counts = np.zeros(self.n_clusters)
        self._ewa_inertia: float | None = None
        self._ewa_inertia_min: float | None = None
        self._no_improvement = 0
        self._n_since_last_reassign = 0
        n_steps = (self.max_iter * n_rows) // self._batch_size
        unit_weight = np.ones(self._batch_size)
        i = -1
        batches = self._minibatches(stream, seed, progress)
        try:
            for i, batch in zip(range(n_steps), batches, strict=False):
                batch_inertia = mini_batch_step(
                    batch,
                    unit_weight,
                    centers,
                    centers_new,
                    self._counts,
                    random_state,
                    random_reassign=self._random_reassign(),
                    reassignment_ratio=self.reassignment_ratio,
                )
                diff = float(np.sum((centers_new - centers) ** 2)) if self._tol > 0 else 0.0
                centers, centers_new = centers_new, centers
                if self._mini_batch_convergence(i, n_rows, diff, batch_inertia):
                    break
        finally:
            batches.close()
        return centers, i + 1

    def _minibatches(
        self, stream: BlockStream, seed: int, progress: Progress
    ) -> Generator[np.ndarray, None, None]:
        """Batches of ``_batch_size`` rows, epoch after epoch.

        Each epoch is cut into windows of consecutive rows; the rows of a window are
        shuffled by a seeded permutation (a function of the epoch and the row
        positions only, so the batches do not depend on ``batch_rows``).
        """
        bs = self._batch_size
        window = max(4 * bs, batch_rows_for(len(stream.columns), batch_bytes=_WINDOW_BYTES))
        pending = np.empty((0, len(stream.columns)))
        epoch = 0
        from scaleml._kernels._kmeans import hash_uniform

        while True:
            key_seed = stream_seed(seed, 100, epoch)
            progress.start_pass(epoch + 1)
            parts: list[np.ndarray] = []
            filled = 0
            start = 0
            for _offset, block in stream.blocks():
                progress.update(len(block))
                at = 0
                while at < len(block):
                    take = min(window - filled, len(block) - at)
                    parts.append(block[at : at + take].copy())
                    filled += take
                    at += take
                    if filled == window:
                        pending = self._shuffled(pending, parts, key_seed, start, hash_uniform)
                        start += filled
                        parts, filled = [], 0
                        while len(pending) >= bs:
                            yield pending[:bs]
                            pending = pending[bs:]
            if parts:
                pending = self._shuffled(pending, parts, key_seed, start, hash_uniform)
                while len(pending) >= bs:
                    yield pending[:bs]
                    pending = pending[bs:]
            progress.end_pass()
            epoch += 1

    @staticmethod
    def _shuffled(
        pending: np.ndarray, parts: list[np.ndarray], key_seed: int, start: int, hash_uniform: Any
    ) -> np.ndarray:
        rows = np.concatenate(parts)
        order = np.argsort(hash_uniform(key_seed, start, len(rows)), kind="stable")
        return np.ascontiguousarray(np.concatenate([pending, rows[order]]))

    def _final_pass(self, stream: BlockStream, *, lazy: bool) -> None:
        """Inertia (and labels of in-memory input) of the final centres."""
        from scaleml._kernels._kmeans import assign

        ct = centers_t(self.cluster_centers_)
        labels = []
        inertia = 0.0
        for _, block in stream.blocks():
            block_labels, min_sq = assign(block, ct)
            inertia += float(min_sq.sum())
            if not lazy:
                labels.append(block_labels)
        self.inertia_ = inertia
        if not lazy:
            self.labels_ = np.concatenate(labels)

    # -- scikit-learn's convergence and reassignment bookkeeping ------------------------
    def _mini_batch_convergence(
        self, step: int, n_samples: int, centers_squared_diff: float, batch_inertia: float
    ) -> bool:
        """scikit-learn's early stopping on the smoothed (EWA) batch inertia."""
        batch_inertia /= self._batch_size
        self._last_inertia = batch_inertia
        step = step + 1
        # The first step's inertia is the initialisation's.
        if step == 1:
            return False
        if self._ewa_inertia is None:
            self._ewa_inertia = batch_inertia
        else:
            alpha = min(self._batch_size * 2.0 / (n_samples + 1), 1)
            self._ewa_inertia = self._ewa_inertia * (1 - alpha) + batch_inertia * alpha
        if self._tol > 0.0 and centers_squared_diff <= self._tol:
            return True
        if self._ewa_inertia_min is None or self._ewa_inertia < self._ewa_inertia_min:
            self._no_improvement = 0
            self._ewa_inertia_min = self._ewa_inertia
        else:
            self._no_improvement += 1
        return (
            self.max_no_improvement is not None and self._no_improvement >= self.max_no_improvement
        )

    def _random_reassign(self) -> bool:
        """Reassign every ``10 * n_clusters`` samples, or whenever a cluster is empty."""
        self._n_since_last_reassign += self._batch_size
        if (self._counts == 0).any() or self._n_since_last_reassign >= 10 * self.n_clusters:
            self._n_since_last_reassign = 0
            return True
        return False

    # -- partial_fit --------------------------------------------------------------------
    def partial_fit(self, X: Any, y: Any = None, sample_weight: Any = None) -> MiniBatchKMeans:
        """Update the centres with one mini-batch, exactly as scikit-learn does.

        `X` is one batch and is read whole into memory (a lazy source too).

        Parameters
        ----------
        X : array-like, DataFrame, LazyFrame, path/glob, DuckDB relation or Arrow data
        y : None, array-like or str
            Ignored; a string names a label column, which is then not a feature.
        sample_weight : array-like of shape (n_samples,), optional

        Returns
        -------
        self
        """
        self._validate_params()
        has_centers = hasattr(self, "cluster_centers_")
        data = self._input(X, y, reset=not has_centers)
        blocks = list(self._eager_blocks(data))
        batch = np.concatenate(blocks) if blocks else np.empty((0, len(data.columns)))
        self._random_state = getattr(self, "_random_state", check_random_state(self.random_state))
        weight = _check_sample_weight(sample_weight, batch, dtype=np.float64)
        self.n_steps_ = getattr(self, "n_steps_", 0)
        with numba_threads(self.n_jobs):
            if not has_centers:
                self._check_params_vs_input(len(batch), batch.shape[1])
                self._tol = float(np.mean(np.var(batch, axis=0)) * self.tol) if self.tol else 0.0
                init = self._check_init(batch.shape[1])
                self.cluster_centers_ = init_centroids(
                    batch,
                    init,
                    self.n_clusters,
                    self._random_state,
                    sample_weight=weight,
                    init_size=self._init_size,
                )
                self._counts = np.zeros(self.n_clusters)
                self._n_since_last_reassign = 0
            mini_batch_step(
                batch,
                weight,
                self.cluster_centers_,
                self.cluster_centers_,
                self._counts,
                self._random_state,
                random_reassign=self._random_reassign(),
                reassignment_ratio=self.reassignment_ratio,
            )
            if self.compute_labels:
                self.labels_, self.inertia_ = _labels_inertia(batch, weight, self.cluster_centers_)
        self.n_steps_ += 1
        self._n_features_out = self.cluster_centers_.shape[0]
        return self
