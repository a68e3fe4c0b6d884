"""K-means numba kernels against their numpy references."""

from __future__ import annotations

import itertools

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose, assert_array_equal

from scaleml._kernels import _kmeans
from scaleml._kernels._kmeans import (
    GROUP_ROWS,
    assign,
    assign_ref,
    column_moments,
    column_moments_ref,
    hash_uniform,
    hash_uniform_ref,
    lloyd_chunk,
    lloyd_chunk_ref,
    minibatch_update,
    minibatch_update_ref,
    sq_distances,
    sq_distances_ref,
)
from tests.strategies import kmeans_problems, splits


def _lloyd(X: np.ndarray, centers: np.ndarray, cuts: list[int]) -> list[np.ndarray]:
    """A whole pass of lloyd_chunk over X cut at `cuts`, for two runs side by side."""
    runs = np.stack([centers, centers[::-1]])
    R, k, d = runs.shape
    state = [np.zeros((R, k, d)), np.zeros((R, k)), np.zeros(R)]
    carry = [np.zeros((R, k, d)), np.zeros((R, k)), np.zeros(R)]
    ct = np.ascontiguousarray(runs.transpose(0, 2, 1))
    bounds = [0, *cuts, len(X)]
    for a, b in itertools.pairwise(bounds):
        lloyd_chunk(X[a:b], ct, a, *state, *carry)
    return [s + c for s, c in zip(state, carry, strict=True)]


@settings(max_examples=40, deadline=None)
@given(kmeans_problems())
def test_assign_and_distances_match_reference(problem):
    X, centers = problem
    labels, min_sq = assign(X, np.ascontiguousarray(centers.T))
    ref_labels, ref_min = assign_ref(X, centers)
    assert labels.dtype == np.int32
    assert_array_equal(labels, ref_labels)
    assert_allclose(min_sq, ref_min, rtol=1e-12, atol=1e-9)
    assert_allclose(
        sq_distances(X, np.ascontiguousarray(centers.T)),
        sq_distances_ref(X, centers),
        rtol=1e-12,
        atol=1e-9,
    )


@settings(max_examples=40, deadline=None)
@given(kmeans_problems(max_rows=3 * GROUP_ROWS), st.data())
def test_lloyd_chunk_matches_reference_and_ignores_chunking(problem, data):
    X, centers = problem
    cuts = data.draw(splits(len(X), max_parts=6))
    whole = _lloyd(X, centers, [])
    split = _lloyd(X, centers, cuts)
    # Bit for bit: rows are grouped by their position in the stream, not by chunk.
    for a, b in zip(whole, split, strict=True):
        assert_array_equal(a, b)
    for r, c in enumerate([centers, centers[::-1]]):
        sums, counts, inertia = lloyd_chunk_ref(X, c)
        assert_allclose(whole[0][r], sums, rtol=1e-10, atol=1e-7)
        assert_array_equal(whole[1][r], counts)
        assert_allclose(whole[2][r], inertia[0], rtol=1e-10, atol=1e-7)


@settings(max_examples=15, deadline=None)
@given(kmeans_problems(min_rows=1500, max_rows=5000))
def test_parallel_kernels_equal_serial_ones(problem):
    # The public wrappers go parallel on large blocks only; compare the twins directly.
    X, centers = problem
    ct = np.ascontiguousarray(centers.T)
    for parallel, serial in [
        (_kmeans._assign_parallel, _kmeans._assign_serial),
        (_kmeans._distances_parallel, _kmeans._distances_serial),
    ]:
        for a, b in zip(np.atleast_1d(parallel(X, ct)), np.atleast_1d(serial(X, ct)), strict=True):
            assert_array_equal(a, b)
    results = []
    for kernel in (_kmeans._lloyd_parallel, _kmeans._lloyd_serial):
        runs = np.stack([ct, ct[:, ::-1]])
        R, d, k = runs.shape
        state = [np.zeros((R, k, d)), np.zeros((R, k)), np.zeros(R)]
        carry = [np.zeros((R, k, d)), np.zeros((R, k)), np.zeros(R)]
        kernel(X[:777], runs, 0, *state, *carry)
        kernel(X[777:], runs, 777, *state, *carry)
        results.append([s + c for s, c in zip(state, carry, strict=True)])
    for a, b in zip(*results, strict=True):
        assert_array_equal(a, b)


@settings(max_examples=40, deadline=None)
@given(kmeans_problems(), st.data())
def test_minibatch_update_matches_reference(problem, data):
    X, centers = problem
    k = len(centers)
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))
    weights = rng.uniform(0.1, 2.0, size=len(X))
    weight_sums = rng.choice([0.0, 1.0, 7.5], size=k)
    labels = rng.integers(0, k, size=len(X)).astype(np.int32)
    ref_centers, ref_sums = minibatch_update_ref(X, weights, centers, weight_sums, labels)
    # In place, as partial_fit calls it (centers_new is centers_old).
    out, sums = centers.copy(), weight_sums.copy()
    minibatch_update(X, weights, out, out, sums, labels)
    assert_allclose(out, ref_centers, rtol=1e-10, atol=1e-9)
    assert_allclose(sums, ref_sums, rtol=1e-12)


@settings(max_examples=40, deadline=None)
@given(kmeans_problems())
def test_column_moments_match_reference(problem):
    X, _ = problem
    for ours, ref in zip(column_moments(X), column_moments_ref(X), strict=True):
        assert_allclose(ours, ref, rtol=1e-10, atol=1e-6)


@settings(deadline=None)
@given(st.integers(0, 2**63 - 1), st.integers(0, 2**40), st.integers(0, 300))
def test_hash_uniform_matches_reference(seed, start, n):
    values = hash_uniform(seed, start, n)
    assert_array_equal(values, hash_uniform_ref(seed, start, n))
    assert ((values >= 0) & (values < 1)).all()
    # A position's value does not depend on where the range starts.
    if n > 1:
        assert_array_equal(hash_uniform(seed, start + 1, n - 1), values[1:])


def test_hash_uniform_is_uniform():
    values = hash_uniform(12345, 0, 200_000)
    counts = np.histogram(values, bins=10, range=(0, 1))[0]
    assert np.abs(counts / 20_000 - 1).max() < 0.03
