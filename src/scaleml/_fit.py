"""The one fit driver: every estimator's fit is init / update / merge / finalize.

An estimator taking part implements

    _init_state() -> state             the empty accumulator
    _update_state(state, chunk) -> state
    _merge_states(a, b) -> state       associative, merge(init, a) == a
    _finalize_state(state) -> None     sets the fitted attributes

where a chunk is either a polars LazyFrame partition (``chunk_kind = "frame"``: the
update is one engine query, the push-down path) or a tuple ``(X_block, y_block)`` of
numpy arrays (``chunk_kind = "numpy"``: the update is a kernel). From those parts this
module gives a sequential fold, a parallel fold over partitions with joblib, and
``partial_fit``.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, Protocol, TypeVar

import numpy as np
import polars as pl
from joblib import Parallel, delayed

from scaleml.io import iter_batches

__all__ = ["MergeableFit", "fold", "partitions"]

logger = logging.getLogger(__name__)

S = TypeVar("S")


class MergeableFit(Protocol[S]):
    """What an estimator implements to be fitted by :func:`fold`."""

    chunk_kind: str

    def _init_state(self) -> S: ...

    def _update_state(self, state: S, chunk: Any) -> S: ...

    def _merge_states(self, a: S, b: S) -> S: ...

    def _finalize_state(self, state: S) -> None: ...


def partitions(lf: pl.LazyFrame, n: int) -> list[pl.LazyFrame]:
    """Split `lf` into at most `n` contiguous row ranges of near-equal size."""
    if n <= 1:
        return [lf]
    n_rows = int(lf.select(pl.len()).collect().item())
    bounds = np.linspace(0, n_rows, num=min(n, max(n_rows, 1)) + 1).astype(np.int64)
    return [lf.slice(int(a), int(b - a)) for a, b in zip(bounds[:-1], bounds[1:], strict=True)]


def _numpy_chunks(
    lf: pl.LazyFrame, columns: Sequence[str], y_column: str | None, batch_rows: int | None
) -> Iterator[tuple[np.ndarray, np.ndarray | None]]:
    cols = list(columns) + ([y_column] if y_column else [])
    for block in iter_batches(lf, cols, batch_rows=batch_rows):
        if y_column:
            yield np.ascontiguousarray(block[:, :-1]), block[:, -1]
        else:
            yield block, None


def _fold_partition(est: MergeableFit[S], chunks: Iterable[Any]) -> S:
    state = est._init_state()
    for chunk in chunks:
        state = est._update_state(state, chunk)
    return state


def fold(
    est: MergeableFit[S],
    lf: pl.LazyFrame,
    *,
    columns: Sequence[str] = (),
    y_column: str | None = None,
    batch_rows: int | None = None,
    n_jobs: int | None = None,
    state: S | None = None,
) -> S:
    """Fold every chunk of `lf` into a state, in parallel over `n_jobs` partitions.

    Parameters
    ----------
    est : the estimator (see :class:`MergeableFit`).
    lf : the data.
    columns, y_column, batch_rows : what numpy chunks hold (``chunk_kind="numpy"``).
    n_jobs : number of partitions folded in parallel threads (None/1: sequential;
        -1: one per core). Threads suffice: Polars, DuckDB and our numba kernels
        release the GIL.
    state : a state to merge the result into (``partial_fit``).
    """
    n = _effective_jobs(n_jobs)
    parts = partitions(lf, n)

    def chunks_of(part: pl.LazyFrame) -> Iterable[Any]:
        if est.chunk_kind == "frame":
            return [part]
        return _numpy_chunks(part, columns, y_column, batch_rows)

    if len(parts) == 1:
        states = [_fold_partition(est, chunks_of(parts[0]))]
    else:
        states = Parallel(n_jobs=len(parts), prefer="threads")(
            delayed(_fold_partition)(est, chunks_of(p)) for p in parts
        )
    if state is not None:
        states.insert(0, state)
    return functools.reduce(est._merge_states, states)


def _effective_jobs(n_jobs: int | None) -> int:
    if n_jobs is None:
        return 1
    if n_jobs < 0:
        import os

        return max(1, (os.cpu_count() or 1) + 1 + n_jobs)
    return max(1, n_jobs)
