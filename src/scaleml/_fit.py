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
import itertools
import logging
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any, Literal, Protocol, TypeVar

import numpy as np
import polars as pl
from joblib import Parallel, delayed

from scaleml import _shared_scan
from scaleml._dask import dask_source, reduce_partition_states
from scaleml.io import annotate_read_errors, batch_rows_for, is_serial_source, iter_frames

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
    """Split `lf` into at most `n` contiguous row ranges of near-equal size.

    A source that refuses concurrent reads (a DuckDB relation) stays whole: its engine
    parallelises the one query.
    """
    if n <= 1 or is_serial_source(lf):
        return [lf]
    n_rows = int(lf.select(pl.len()).collect().item())
    bounds = np.linspace(0, n_rows, num=min(n, max(n_rows, 1)) + 1).astype(np.int64)
    return [lf.slice(int(a), int(b - a)) for a, b in itertools.pairwise(bounds)]


def _numpy_chunks(
    est: Any,
    lf: pl.LazyFrame,
    columns: Sequence[str | pl.Expr],
    y_columns: Sequence[str | pl.Expr],
    batch_rows: int | None,
    allow_nan: bool,
) -> Iterator[tuple[np.ndarray, np.ndarray | None]]:
    k = len(columns)
    # An estimator whose kernel takes column-major blocks sets ``chunk_order = "F"``:
    # Polars converts to Fortran order several times faster than to C order.
    order: Literal["fortran", "c"] = "fortran" if getattr(est, "chunk_order", "C") == "F" else "c"
    rows = batch_rows or batch_rows_for(k + len(y_columns))
    for frame in iter_frames(lf, [*columns, *y_columns], batch_rows=rows):
        # Features and label are converted separately: slicing one block would copy it.
        X = frame[:, :k].to_numpy(order=order)
        y = frame[:, k:].to_numpy(order="fortran") if y_columns else None
        if not allow_nan:
            _check_finite_block(est, X, columns)
            if y is not None:
                _check_finite_block(est, y, y_columns)
        if y is None:
            yield X, None
        elif len(y_columns) == 1:
            yield X, y[:, 0]
        else:
            yield X, np.ascontiguousarray(y)


def _check_finite_block(est: Any, block: np.ndarray, columns: Sequence[str | pl.Expr]) -> None:
    bad = ~np.isfinite(block).all(axis=0)
    if bad.any():
        names = [_name(c) for c, b in zip(columns, bad, strict=True) if b]
        has_inf = np.isinf(block[:, bad]).any()
        what = "NaN, null or infinity" if has_inf else "NaN or null"
        msg = (
            f"Input contains {what} in column(s) {names}, which {type(est).__name__} does "
            "not accept. Hint: impute missing values first (scaleml.SimpleImputer) or drop "
            "those rows."
        )
        raise ValueError(msg)


def _name(c: str | pl.Expr) -> str:
    return c if isinstance(c, str) else c.meta.output_name()


def _fold_lazy_partition(
    est: MergeableFit[S], chunks_of: Callable[[pl.LazyFrame], Iterable[Any]], part: pl.LazyFrame
) -> S:
    return _fold_partition(est, chunks_of(part))


def _fold_partition(est: MergeableFit[S], chunks: Iterable[Any], progress: Any = None) -> S:
    state = est._init_state()
    for chunk in chunks:
        state = est._update_state(state, chunk)
        if progress is not None and isinstance(chunk, tuple):
            progress.update(len(chunk[0]))
    return state


def fold(
    est: MergeableFit[S],
    lf: pl.LazyFrame,
    *,
    columns: Sequence[str | pl.Expr] = (),
    y_columns: Sequence[str | pl.Expr] = (),
    batch_rows: int | None = None,
    n_jobs: int | None = None,
    allow_nan: bool = True,
    state: S | None = None,
    progress: Any = None,
) -> S:
    """Fold every chunk of `lf` into a state, in parallel over `n_jobs` partitions.

    Parameters
    ----------
    est : the estimator (see :class:`MergeableFit`).
    lf : the data.
    columns, y_columns : names or expressions of the feature and label columns of
        numpy chunks (``chunk_kind="numpy"``); chunks are ``(X, y)`` tuples, ``y`` None
        without label columns, 1-D with one, 2-D with several.
    batch_rows : rows per numpy chunk (default: about 16 MiB per chunk, ``io.DEFAULT_BATCH_BYTES``).
    n_jobs : number of partitions folded in parallel threads (None/1: sequential;
        -1: one per core). Threads suffice: Polars, DuckDB and our numba kernels
        release the GIL.
    allow_nan : when False, a chunk with NaN, null or inf raises, naming the columns.
    state : a state to merge the result into (``partial_fit``).
    progress : a :class:`scaleml._progress.Progress` told the rows of each chunk.
    """

    def chunks_of(part: pl.LazyFrame) -> Iterable[Any]:
        if est.chunk_kind == "frame":
            return [part]
        return _numpy_chunks(est, part, columns, y_columns, batch_rows, allow_nan)

    ddf = dask_source(lf)
    shared = _shared_scan.current()
    if shared is not None and est.chunk_kind == "numpy" and ddf is None:
        # Part of fit_many / a search: this pass is one request of a shared scan.
        result = shared.request(est, lf, columns, y_columns, batch_rows, allow_nan)
        return result if state is None else est._merge_states(state, result)
    if ddf is not None:
        states = [
            reduce_partition_states(
                ddf, functools.partial(_fold_lazy_partition, est, chunks_of), est._merge_states
            )
        ]
        if state is not None:
            states.insert(0, state)
        merged: S = functools.reduce(est._merge_states, states)
        return merged

    with annotate_read_errors(lf):  # a corrupt file is named in the error
        parts = partitions(lf, _effective_jobs(n_jobs))
        if len(parts) == 1:
            states = [_fold_partition(est, chunks_of(parts[0]), progress)]
        else:
            states = Parallel(n_jobs=len(parts), prefer="threads")(
                delayed(_fold_partition)(est, chunks_of(p), progress) for p in parts
            )
    if state is not None:
        states.insert(0, state)
    folded: S = functools.reduce(est._merge_states, states)
    return folded


def _effective_jobs(n_jobs: int | None) -> int:
    if n_jobs is None:
        return 1
    if n_jobs < 0:
        import os

        return max(1, (os.cpu_count() or 1) + 1 + n_jobs)
    return max(1, n_jobs)
