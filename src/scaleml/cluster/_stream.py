"""The feature matrix of a multi-pass fit, read pass after pass in bounded memory."""

from __future__ import annotations

import mmap
import os
import tempfile
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import polars as pl

from scaleml._fit import _check_finite_block
from scaleml._stats import ColumnStats
from scaleml.io import batch_rows_for, iter_batches

__all__ = ["BLOCK_BYTES", "BlockStream", "block_stats"]

_PAGE = mmap.PAGESIZE
#: Default bytes of one block: large enough that the kernels' per-call cost vanishes,
#: small next to the interpreter and libraries (the peak memory of a fit is about
#: this, twice, in the first pass: the engine's frame and its numpy copy).
BLOCK_BYTES = 16 * 2**20
#: Bytes of the spool mapped at most at once, beyond the current block.
_RELEASE_BYTES = 8 * 2**20


def block_stats(block: np.ndarray) -> ColumnStats:
    """The :class:`ColumnStats` of one finite block (merge them with ``merge``)."""
    from scaleml._kernels._kmeans import column_moments

    n, d = block.shape
    if n == 0:
        return ColumnStats.empty(d)
    mean, m2, lo, hi = column_moments(block)
    return ColumnStats(
        rows=n,
        count=np.full(d, n, dtype=np.int64),
        mean=mean,
        m2=m2,
        min=lo,
        max=hi,
        has_inf=np.zeros(d, dtype=bool),
    )


class BlockStream:
    """Passes over the float64 feature blocks of `lf`, as ``(offset, block)`` pairs.

    The first pass reads the source through :func:`scaleml.io.iter_batches`, computes
    the column statistics (:attr:`stats`) and checks that every value is finite (the
    error names the columns). With `cache`, it also
    writes the blocks to a raw float64 spool file; every later pass then maps that file
    one block at a time, without copying or decoding, and gives each block's pages
    back once it is used, so resident memory stays about one block. Without `cache`,
    every pass reads the source again.

    Blocks of the spool are read-only views, valid until the next block is requested:
    copy what must outlive them.

    Parameters
    ----------
    est : the estimator (named in error messages).
    lf : the data.
    columns : the feature columns.
    batch_rows : rows per block (default: about :data:`BLOCK_BYTES` per block).
    cache : bool, str or PathLike
        Spool in the temporary directory (True), not at all (False), or in the given
        directory.
    """

    def __init__(
        self,
        est: Any,
        lf: pl.LazyFrame,
        columns: Sequence[str],
        *,
        batch_rows: int | None,
        cache: Any,
    ) -> None:
        self.est = est
        self.lf = lf
        self.columns = list(columns)
        self.n_features = len(self.columns)
        self.batch_rows = batch_rows or batch_rows_for(self.n_features, batch_bytes=BLOCK_BYTES)
        self.cache = cache
        self.n_rows: int | None = None
        self.stats = ColumnStats.empty(self.n_features)
        self._spool: str | None = None

    # -- passes --------------------------------------------------------------------------
    def blocks(self) -> Iterator[tuple[int, np.ndarray]]:
        """One pass over the data."""
        if self.n_rows is not None and self._spool is not None:
            yield from self._spool_blocks()
        else:
            yield from self._source_blocks()

    def _source_blocks(self) -> Iterator[tuple[int, np.ndarray]]:
        spool = self._open_spool() if self.cache is not False and self.n_rows is None else None
        offset = 0
        completed = False
        stats = ColumnStats.empty(self.n_features)
        try:
            for block in iter_batches(self.lf, self.columns, batch_rows=self.batch_rows):
                block_stat = block_stats(block)
                # A NaN or inf makes its column's sums non-finite: only then look for
                # it (a finite overflow passes the search).
                if not np.isfinite(block_stat.mean + block_stat.m2).all():
                    _check_finite_block(self.est, block, self.columns)
                stats = stats.merge(block_stat)
                if spool is not None:
                    block.tofile(spool)
                yield offset, block
                offset += len(block)
            completed = True
        finally:
            if spool is not None:
                spool.close()
                if not completed:
                    self._remove_spool()
        self.n_rows = offset
        self.stats = stats

    def _open_spool(self) -> Any:
        directory = None if self.cache is True else os.fspath(self.cache)
        fd, path = tempfile.mkstemp(prefix="scaleml-kmeans-", suffix=".f64", dir=directory)
        self._spool = path
        return os.fdopen(fd, "wb")

    def _spool_blocks(self) -> Iterator[tuple[int, np.ndarray]]:
        assert self._spool is not None and self.n_rows is not None
        if self.n_rows == 0:
            return
        row_bytes = 8 * self.n_features
        with open(self._spool, "rb") as f:
            mm = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
        try:
            done = 0
            for start in range(0, self.n_rows, self.batch_rows):
                rows = min(self.batch_rows, self.n_rows - start)
                view = np.frombuffer(
                    mm, dtype=np.float64, count=rows * self.n_features, offset=start * row_bytes
                ).reshape(rows, self.n_features)
                try:
                    yield start, view
                finally:
                    del view
                # Unmap the pages of the blocks used: they stay in the page cache (the
                # next pass is a memory-speed read) but leave this process's RSS. In
                # steps of a few MiB: each call costs a TLB flush on every core.
                end = ((start + rows) * row_bytes) // _PAGE * _PAGE
                if end - done >= _RELEASE_BYTES and hasattr(mm, "madvise"):
                    mm.madvise(mmap.MADV_DONTNEED, done, end - done)
                    done = end
        finally:
            try:
                mm.close()
            except BufferError:
                # A caller still holds a block; the map goes when that block does.
                pass

    # -- lifetime -----------------------------------------------------------------------
    def _remove_spool(self) -> None:
        if self._spool is not None:
            try:
                os.remove(self._spool)
            except OSError:
                pass
            self._spool = None

    def close(self) -> None:
        """Delete the spool file."""
        self._remove_spool()

    def __enter__(self) -> BlockStream:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:
        self._remove_spool()
