"""K-means kernels: nearest centre, fused Lloyd accumulation, mini-batch update.

Every kernel takes the centres transposed, ``centers_t`` of shape ``(d, k)`` (or
``(runs, d, k)``), so the innermost loop runs over centres with unit stride and
vectorises. Squared distances are computed directly, ``sum_f (x_f - c_f) ** 2``: no
cancellation, hence no need to centre the data as scikit-learn does before its
``||x||^2 - 2 x.c + ||c||^2`` products.

Determinism: :func:`lloyd_chunk` accumulates rows in fixed groups of
:data:`GROUP_ROWS` consecutive rows of the whole stream (rows are added to their
group's sums in row order; complete groups are added to the totals in group order).
The partial group at the end of a chunk is carried into the next call, so the result
is bitwise the same whatever the chunking of the stream and the number of threads.

Each kernel has a pure-numpy reference (``*_ref``) it is tested against.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numba import get_num_threads, njit, prange, set_parallel_chunksize

__all__ = [
    "GROUP_ROWS",
    "PARALLEL_MIN_ROWS",
    "assign",
    "assign_ref",
    "column_moments",
    "column_moments_ref",
    "hash_uniform",
    "hash_uniform_ref",
    "lloyd_chunk",
    "lloyd_chunk_ref",
    "minibatch_update",
    "minibatch_update_ref",
    "sq_distances",
    "sq_distances_ref",
]

#: Rows per accumulation group of :func:`lloyd_chunk` (fixed: results depend on it).
GROUP_ROWS = 512
#: Rows per parallel work item of the row-wise kernels.
_BLOCK = 1024
#: Upper bound, in float64 values, of the per-group buffers of one parallel wave.
_WAVE_VALUES = 2**21
#: Groups of one parallel wave at least, whatever their size (keeps all cores busy).
_MIN_WAVE = 16
#: Work items (blocks or groups) a thread takes at a time: dynamic scheduling, so a
#: thread slowed down by a busy machine does not hold the others up at the barrier.
_CHUNK = 4
#: Fewer rows run on one thread: waking the others costs more than it saves.
PARALLEL_MIN_ROWS = 32_768


def _parallel(n_rows: int) -> bool:
    return n_rows >= PARALLEL_MIN_ROWS and get_num_threads() > 1


def _run_parallel(kernel: Any, *args: Any) -> Any:
    """Call a parallel kernel with dynamic scheduling of its work items."""
    before = set_parallel_chunksize(_CHUNK)
    try:
        return kernel(*args)
    finally:
        set_parallel_chunksize(before)


# -- squared distances of up to four rows ---------------------------------------------
@njit(cache=True, nogil=True, inline="always")
def _tile(X, i, m, ct, dist):  # type: ignore[no-untyped-def]
    """``dist[r, j] = ||X[i + r] - c_j||^2`` for the ``m <= 4`` rows from ``i``.

    Four rows share each centre load and give four independent dependency chains,
    which is what makes this loop fast (one row at a time is latency bound).
    """
    d, k = ct.shape
    dist[:m] = 0.0
    if m == 4:
        for f in range(d):
            x0 = X[i, f]
            x1 = X[i + 1, f]
            x2 = X[i + 2, f]
            x3 = X[i + 3, f]
            for j in range(k):
                c = ct[f, j]
                t0 = x0 - c
                t1 = x1 - c
                t2 = x2 - c
                t3 = x3 - c
                dist[0, j] += t0 * t0
                dist[1, j] += t1 * t1
                dist[2, j] += t2 * t2
                dist[3, j] += t3 * t3
    else:
        for r in range(m):
            for f in range(d):
                x = X[i + r, f]
                for j in range(k):
                    t = x - ct[f, j]
                    dist[r, j] += t * t


@njit(cache=True, nogil=True, inline="always")
def _argmin(dist, r, k):  # type: ignore[no-untyped-def]
    """First index of the smallest of ``dist[r, :k]`` (ties go to the lowest index)."""
    best = 0
    value = dist[r, 0]
    for j in range(1, k):
        if dist[r, j] < value:
            value = dist[r, j]
            best = j
    return best, value


# -- nearest centre -------------------------------------------------------------------
@njit(cache=True, nogil=True)
def _assign_block(X, centers_t, b, labels, min_sq):  # type: ignore[no-untyped-def]
    n = X.shape[0]
    k = centers_t.shape[1]
    dist = np.empty((4, k))
    stop = min(n, (b + 1) * _BLOCK)
    i = b * _BLOCK
    while i < stop:
        m = min(4, stop - i)
        _tile(X, i, m, centers_t, dist)
        for r in range(m):
            best, value = _argmin(dist, r, k)
            labels[i + r] = best
            min_sq[i + r] = value
        i += m


@njit(cache=True, nogil=True, parallel=True)
def _assign_parallel(X, centers_t):  # type: ignore[no-untyped-def]
    n = X.shape[0]
    labels = np.empty(n, dtype=np.int32)
    min_sq = np.empty(n, dtype=np.float64)
    for b in prange((n + _BLOCK - 1) // _BLOCK):
        _assign_block(X, centers_t, b, labels, min_sq)
    return labels, min_sq


@njit(cache=True, nogil=True)
def _assign_serial(X, centers_t):  # type: ignore[no-untyped-def]
    n = X.shape[0]
    labels = np.empty(n, dtype=np.int32)
    min_sq = np.empty(n, dtype=np.float64)
    for b in range((n + _BLOCK - 1) // _BLOCK):
        _assign_block(X, centers_t, b, labels, min_sq)
    return labels, min_sq


def assign(X: np.ndarray, centers_t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Nearest centre of every row and its squared distance.

    Parameters
    ----------
    X : ndarray of shape (n, d), float64, C-contiguous
    centers_t : ndarray of shape (d, k), float64
        The centres, transposed.

    Returns
    -------
    labels : ndarray of shape (n,), int32
        The first nearest centre (ties go to the lowest index).
    min_sq_dist : ndarray of shape (n,), float64
    """
    if _parallel(len(X)):
        return _run_parallel(_assign_parallel, X, centers_t)  # type: ignore[no-any-return]
    return _assign_serial(X, centers_t)  # type: ignore[no-any-return]


def assign_ref(X: np.ndarray, centers: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """numpy reference of :func:`assign` (takes the centres untransposed)."""
    sq = sq_distances_ref(X, centers)
    labels = np.argmin(sq, axis=1).astype(np.int32) if sq.size else np.zeros(len(X), np.int32)
    return labels, sq[np.arange(len(X)), labels] if sq.size else np.zeros(len(X))


@njit(cache=True, nogil=True)
def _distances_block(X, centers_t, b, out):  # type: ignore[no-untyped-def]
    n = X.shape[0]
    k = centers_t.shape[1]
    dist = np.empty((4, k))
    stop = min(n, (b + 1) * _BLOCK)
    i = b * _BLOCK
    while i < stop:
        m = min(4, stop - i)
        _tile(X, i, m, centers_t, dist)
        for r in range(m):
            for j in range(k):
                out[i + r, j] = dist[r, j]
        i += m


@njit(cache=True, nogil=True, parallel=True)
def _distances_parallel(X, centers_t):  # type: ignore[no-untyped-def]
    out = np.empty((X.shape[0], centers_t.shape[1]))
    for b in prange((X.shape[0] + _BLOCK - 1) // _BLOCK):
        _distances_block(X, centers_t, b, out)
    return out


@njit(cache=True, nogil=True)
def _distances_serial(X, centers_t):  # type: ignore[no-untyped-def]
    out = np.empty((X.shape[0], centers_t.shape[1]))
    for b in range((X.shape[0] + _BLOCK - 1) // _BLOCK):
        _distances_block(X, centers_t, b, out)
    return out


def sq_distances(X: np.ndarray, centers_t: np.ndarray) -> np.ndarray:
    """Squared euclidean distance of every row to every centre, shape ``(n, k)``."""
    if _parallel(len(X)):
        return _run_parallel(_distances_parallel, X, centers_t)  # type: ignore[no-any-return]
    return _distances_serial(X, centers_t)  # type: ignore[no-any-return]


def sq_distances_ref(X: np.ndarray, centers: np.ndarray) -> np.ndarray:
    """numpy reference of :func:`sq_distances` (takes the centres untransposed)."""
    diff = X[:, None, :] - centers[None, :, :]
    return np.asarray((diff * diff).sum(axis=2), dtype=np.float64)


# -- fused Lloyd step -----------------------------------------------------------------
@njit(cache=True, nogil=True)
def _group(X, lo, hi, ct, sums, counts, inertia):  # type: ignore[no-untyped-def]
    """Add rows ``lo..hi`` of X to one group's per-centre sums, counts and inertia."""
    d, k = ct.shape
    dist = np.empty((4, k))
    # Continue from the group's running inertia: the same additions in the same order
    # whether or not a chunk boundary cuts the group.
    acc = inertia[0]
    i = lo
    while i < hi:
        m = min(4, hi - i)
        _tile(X, i, m, ct, dist)
        for r in range(m):
            best, value = _argmin(dist, r, k)
            counts[best] += 1.0
            for f in range(d):
                sums[best, f] += X[i + r, f]
            acc += value
        i += m
    inertia[0] = acc


@njit(cache=True, nogil=True)
def _fill_group(X, ct, offset, g, first, buf_s, buf_c, buf_i, carry_s, carry_c, carry_i):  # type: ignore[no-untyped-def]
    """The sums of group `g` (rows of X in it), continuing the carry if `first`."""
    R = ct.shape[0]
    lo = max(g * GROUP_ROWS, offset) - offset
    hi = min((g + 1) * GROUP_ROWS, offset + X.shape[0]) - offset
    for r in range(R):
        if first:
            buf_s[r] = carry_s[r]
            buf_c[r] = carry_c[r]
            buf_i[r] = carry_i[r]
        else:
            buf_s[r] = 0.0
            buf_c[r] = 0.0
            buf_i[r] = 0.0
        _group(X, lo, hi, ct[r], buf_s[r], buf_c[r], buf_i[r : r + 1])


@njit(cache=True, nogil=True)
def _fold_wave(end, g_start, n_in_wave, buf_s, buf_c, buf_i, state, carry):  # type: ignore[no-untyped-def]
    """Add the complete groups of a wave to the totals, in stream order; keep the
    incomplete last group as the carry."""
    sums, counts, inertia = state
    carry_s, carry_c, carry_i = carry
    for q in range(n_in_wave):
        complete = (g_start + q + 1) * GROUP_ROWS <= end
        for r in range(sums.shape[0]):
            if complete:
                sums[r] += buf_s[q, r]
                counts[r] += buf_c[q, r]
                inertia[r] += buf_i[q, r]
            else:
                carry_s[r] = buf_s[q, r]
                carry_c[r] = buf_c[q, r]
                carry_i[r] = buf_i[q, r]
    if end % GROUP_ROWS == 0:
        carry_s[:] = 0.0
        carry_c[:] = 0.0
        carry_i[:] = 0.0


@njit(cache=True, nogil=True)
def _wave_size(n_groups, R, k, d):  # type: ignore[no-untyped-def]
    wave = max(1, min(n_groups, _WAVE_VALUES // max(1, R * k * (d + 1))))
    return max(wave, min(n_groups, _MIN_WAVE))


@njit(cache=True, nogil=True, parallel=True)
def _lloyd_parallel(X, ct, offset, sums, counts, inertia, carry_s, carry_c, carry_i):  # type: ignore[no-untyped-def]
    R, d, k = ct.shape
    g0 = offset // GROUP_ROWS
    n_groups = (offset + X.shape[0] - 1) // GROUP_ROWS - g0 + 1
    wave = _wave_size(n_groups, R, k, d)
    buf_s = np.empty((wave, R, k, d))
    buf_c = np.empty((wave, R, k))
    buf_i = np.empty((wave, R))
    for w0 in range(0, n_groups, wave):
        n_in_wave = min(n_groups, w0 + wave) - w0
        for q in prange(n_in_wave):
            g = g0 + w0 + q
            _fill_group(
                X,
                ct,
                offset,
                g,
                g == g0,
                buf_s[q],
                buf_c[q],
                buf_i[q],
                carry_s,
                carry_c,
                carry_i,
            )
        _fold_wave(
            offset + X.shape[0],
            g0 + w0,
            n_in_wave,
            buf_s,
            buf_c,
            buf_i,
            (sums, counts, inertia),
            (carry_s, carry_c, carry_i),
        )


@njit(cache=True, nogil=True)
def _lloyd_serial(X, ct, offset, sums, counts, inertia, carry_s, carry_c, carry_i):  # type: ignore[no-untyped-def]
    R, d, k = ct.shape
    g0 = offset // GROUP_ROWS
    n_groups = (offset + X.shape[0] - 1) // GROUP_ROWS - g0 + 1
    buf_s = np.empty((1, R, k, d))
    buf_c = np.empty((1, R, k))
    buf_i = np.empty((1, R))
    for q in range(n_groups):
        g = g0 + q
        _fill_group(
            X, ct, offset, g, g == g0, buf_s[0], buf_c[0], buf_i[0], carry_s, carry_c, carry_i
        )
        _fold_wave(
            offset + X.shape[0],
            g,
            1,
            buf_s,
            buf_c,
            buf_i,
            (sums, counts, inertia),
            (carry_s, carry_c, carry_i),
        )


def lloyd_chunk(
    X: np.ndarray,
    centers_t: np.ndarray,
    offset: int,
    sums: np.ndarray,
    counts: np.ndarray,
    inertia: np.ndarray,
    carry_sums: np.ndarray,
    carry_counts: np.ndarray,
    carry_inertia: np.ndarray,
) -> None:
    """One chunk of a Lloyd pass for ``R`` sets of centres at once.

    For every row and every run ``r``: the nearest centre of ``centers_t[r]``; the
    row is added to that centre's sum and count, its squared distance to the inertia.

    Parameters
    ----------
    X : ndarray of shape (n, d)
        Rows ``offset .. offset + n - 1`` of the stream.
    centers_t : ndarray of shape (R, d, k)
    offset : int
        Index in the stream of the first row of X.
    sums, counts, inertia : ndarrays of shape (R, k, d), (R, k), (R,)
        Totals over the complete groups so far; updated in place.
    carry_sums, carry_counts, carry_inertia : same shapes
        The partial group the chunk starts in (zeros at a group boundary); on return,
        the partial group it ends in. Add them to the totals at the end of the pass.
    """
    if len(X) == 0:
        return
    args = (X, centers_t, offset, sums, counts, inertia, carry_sums, carry_counts, carry_inertia)
    if _parallel(len(X)):
        _run_parallel(_lloyd_parallel, *args)
    else:
        _lloyd_serial(*args)


def lloyd_chunk_ref(
    X: np.ndarray, centers: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """numpy reference of a whole :func:`lloyd_chunk` pass over X for one set of centres.

    Returns the per-centre sums ``(k, d)``, counts ``(k,)`` and the inertia.
    """
    k = centers.shape[0]
    labels, min_sq = assign_ref(X, centers)
    sums = np.zeros((k, X.shape[1]))
    np.add.at(sums, labels, X)
    counts = np.bincount(labels, minlength=k).astype(np.float64)
    return sums, counts, np.array([min_sq.sum()])


# -- mini-batch update ----------------------------------------------------------------
@njit(cache=True, nogil=True)
def minibatch_update(X, sample_weight, centers_old, centers_new, weight_sums, labels):  # type: ignore[no-untyped-def]
    """scikit-learn's ``_minibatch_update_dense``: move each centre to the running mean.

    For a centre with new members: ``c <- (c * w_c + sum_i w_i x_i) / (w_c + sum_i w_i)``
    (accumulated in sample order, then multiplied by the reciprocal, as scikit-learn
    does); a centre with no member is copied. `centers_new` may be `centers_old`.
    `weight_sums` is updated in place.
    """
    n, d = X.shape
    k = centers_old.shape[0]
    acc = np.empty((k, d))
    for c in range(k):
        for f in range(d):
            acc[c, f] = centers_old[c, f] * weight_sums[c]
    wsum = np.zeros(k)
    for i in range(n):
        c = labels[i]
        w = sample_weight[i]
        wsum[c] += w
        for f in range(d):
            acc[c, f] += X[i, f] * w
    for c in range(k):
        if wsum[c] > 0:
            weight_sums[c] += wsum[c]
            alpha = 1.0 / weight_sums[c]
            for f in range(d):
                centers_new[c, f] = acc[c, f] * alpha
        else:
            for f in range(d):
                centers_new[c, f] = centers_old[c, f]


def minibatch_update_ref(
    X: np.ndarray,
    sample_weight: np.ndarray,
    centers_old: np.ndarray,
    weight_sums: np.ndarray,
    labels: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """numpy reference of :func:`minibatch_update`; returns new centres and weight sums."""
    centers = centers_old.copy()
    sums = weight_sums.copy()
    for c in range(centers_old.shape[0]):
        members = labels == c
        wsum = sample_weight[members].sum()
        if wsum > 0:
            total = centers_old[c] * weight_sums[c] + sample_weight[members] @ X[members]
            sums[c] = weight_sums[c] + wsum
            centers[c] = total / sums[c]
    return centers, sums


# -- column moments -------------------------------------------------------------------
@njit(cache=True, nogil=True)
def column_moments(X):  # type: ignore[no-untyped-def]
    """Per-column mean, sum of squared deviations (M2), min and max of a finite block.

    Two passes over the rows, no temporary of the block's size; merge blocks with
    Chan et al.'s update (:meth:`scaleml._stats.ColumnStats.merge`).
    """
    n, d = X.shape
    mean = np.zeros(d)
    m2 = np.zeros(d)
    lo = np.full(d, np.inf)
    hi = np.full(d, -np.inf)
    for i in range(n):
        for f in range(d):
            x = X[i, f]
            mean[f] += x
            lo[f] = min(lo[f], x)
            hi[f] = max(hi[f], x)
    if n > 0:
        mean /= n
    for i in range(n):
        for f in range(d):
            t = X[i, f] - mean[f]
            m2[f] += t * t
    return mean, m2, lo, hi


def column_moments_ref(X: np.ndarray) -> tuple[np.ndarray, ...]:
    """numpy reference of :func:`column_moments`."""
    mean = X.mean(axis=0)
    return mean, ((X - mean) ** 2).sum(axis=0), X.min(axis=0), X.max(axis=0)


# -- counter-based uniforms -----------------------------------------------------------
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)


@njit(cache=True, nogil=True)
def hash_uniform(seed, start, n):  # type: ignore[no-untyped-def]
    """Uniforms in [0, 1) for the stream positions ``start .. start + n - 1``.

    splitmix64 of ``seed + (position + 1) * golden``: the value of a row depends on its
    position and the seed only, never on how the stream was chunked.
    """
    out = np.empty(n)
    s = np.uint64(seed)
    for i in range(n):
        z = s + np.uint64(start + i + 1) * _GOLDEN
        z = (z ^ (z >> np.uint64(30))) * _MIX1
        z = (z ^ (z >> np.uint64(27))) * _MIX2
        z = z ^ (z >> np.uint64(31))
        out[i] = np.float64(z >> np.uint64(11)) * (1.0 / 9007199254740992.0)
    return out


def hash_uniform_ref(seed: int, start: int, n: int) -> np.ndarray:
    """numpy reference of :func:`hash_uniform`."""
    with np.errstate(over="ignore"):
        pos = np.arange(start + 1, start + n + 1, dtype=np.uint64)
        z = np.uint64(seed) + pos * _GOLDEN
        z = (z ^ (z >> np.uint64(30))) * _MIX1
        z = (z ^ (z >> np.uint64(27))) * _MIX2
        z = z ^ (z >> np.uint64(31))
    return (z >> np.uint64(11)).astype(np.float64) / 9007199254740992.0
