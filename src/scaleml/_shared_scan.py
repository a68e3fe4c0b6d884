"""Shared scans: many fits, each batch read once.

Inside :func:`sharing`, every estimator fit runs in its own thread. When such a fit
asks the driver for a pass over numpy chunks (:func:`scaleml._fit.fold`), the request
waits at a barrier until every other live fit is also waiting for a pass (or has
finished). Then one scan reads the union of all requested columns once, and each batch
is handed to every request's ``_update_state``. Multi-pass fits (L-BFGS) meet at the
barrier once per pass, so 40 candidates cost about as many scans as the slowest one.

Because every estimator's state is exact under any chunking (a tested property), a fit
gives the same model shared or alone.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import polars as pl

from scaleml.io import annotate_read_errors, iter_batches

__all__ = ["SharedScan", "current", "sharing"]

_local = threading.local()


def current() -> SharedScan | None:
    """The shared scan the calling thread takes part in, if any."""
    return getattr(_local, "scan", None)


@dataclass
class _Request:
    est: Any
    lf: pl.LazyFrame
    columns: list[pl.Expr]
    y_columns: list[pl.Expr]
    batch_rows: int | None
    allow_nan: bool
    state: Any = None
    error: BaseException | None = None
    done: bool = False
    rows: int = 0
    slots: list[int] = field(default_factory=list)


def _as_expr(c: str | pl.Expr) -> pl.Expr:
    return pl.col(c) if isinstance(c, str) else c


def _source_key(lf: pl.LazyFrame) -> str:
    # Two scans of the same files (or the same LazyFrame) have the same plan.
    return lf.explain(optimized=False)


class SharedScan:
    """A barrier where the passes of `n_fits` concurrent fits become shared scans.

    Parameters
    ----------
    n_fits : int
        Number of fits (threads) taking part.
    n_jobs : int, optional
        Threads updating the fits' states on each batch (kernels release the GIL).
    """

    def __init__(self, n_fits: int, n_jobs: int | None = None) -> None:
        self._cond = threading.Condition()
        self._live = n_fits
        self._pending: list[_Request] = []
        self._running = False
        self.n_jobs = n_jobs or 1
        #: Number of scans made (each reads its source once).
        self.n_scans = 0
        #: Rows each estimator (by ``id``) was fed, over all its passes.
        self.rows_seen: dict[int, int] = {}

    @contextmanager
    def participant(self) -> Iterator[None]:
        """Make the calling thread one of the fits; it leaves when the block ends."""
        _local.scan = self
        try:
            yield
        finally:
            _local.scan = None
            with self._cond:
                self._live -= 1
                self._cond.notify_all()

    def request(
        self,
        est: Any,
        lf: pl.LazyFrame,
        columns: Sequence[str | pl.Expr],
        y_columns: Sequence[str | pl.Expr],
        batch_rows: int | None,
        allow_nan: bool,
    ) -> Any:
        """Fold one pass of `est` over `lf` as part of the next shared scan."""
        req = _Request(
            est,
            lf,
            [_as_expr(c) for c in columns],
            [_as_expr(c) for c in y_columns],
            batch_rows,
            allow_nan,
            state=est._init_state(),
        )
        with self._cond:
            self._pending.append(req)
            self._cond.notify_all()
            while not req.done:
                if not self._running and len(self._pending) >= self._live:
                    batch, self._pending = self._pending, []
                    self._running = True
                    self._cond.release()
                    try:
                        self._run(batch)
                    finally:
                        self._cond.acquire()
                        self._running = False
                        self._cond.notify_all()
                else:
                    self._cond.wait()
        if req.error is not None:
            raise req.error
        return req.state

    def _run(self, requests: list[_Request]) -> None:
        groups: dict[str, list[_Request]] = {}
        for req in requests:
            groups.setdefault(_source_key(req.lf), []).append(req)
        for group in groups.values():
            try:
                self._scan(group)
            except BaseException as exc:  # a read error fails every fit of the group
                for req in group:
                    req.error = req.error or exc
            for req in group:
                self.rows_seen[id(req.est)] = self.rows_seen.get(id(req.est), 0) + req.rows
                req.done = True

    def _scan(self, group: list[_Request]) -> None:
        union: list[pl.Expr] = []
        names: dict[str, int] = {}
        for req in group:
            req.slots = []
            for e in [*req.columns, *req.y_columns]:
                key = str(e)
                if key not in names:
                    names[key] = len(union)
                    union.append(e.alias(f"__scaleml_{len(union)}"))
                req.slots.append(names[key])
        rows = [r.batch_rows for r in group if r.batch_rows]
        self.n_scans += 1
        lf = group[0].lf
        with annotate_read_errors(lf), ThreadPoolExecutor(self.n_jobs) as pool:
            for block in iter_batches(lf, union, batch_rows=min(rows) if rows else None):
                live = [r for r in group if r.error is None]
                list(pool.map(_update(block), live))

    def leave_all(self) -> None:
        """Wake every waiting fit (used when the coordinating call is interrupted)."""
        with self._cond:
            self._live = 0
            self._cond.notify_all()


def _update(block: np.ndarray) -> Callable[[_Request], None]:
    from scaleml._fit import _check_finite_block

    def apply(req: _Request) -> None:
        try:
            cols = block[:, req.slots]
            k = len(req.columns)
            if not req.allow_nan:
                _check_finite_block(req.est, cols, [*req.columns, *req.y_columns])
            X = np.ascontiguousarray(cols[:, :k])
            if not req.y_columns:
                y = None
            elif len(req.y_columns) == 1:
                y = np.ascontiguousarray(cols[:, k])
            else:
                y = np.ascontiguousarray(cols[:, k:])
            if getattr(req.est, "chunk_order", "C") == "F":
                X = np.asfortranarray(X)
            req.state = req.est._update_state(req.state, (X, y))
            req.rows += len(X)
        except BaseException as exc:
            req.error = exc

    return apply


@contextmanager
def sharing(n_fits: int, n_jobs: int | None = None) -> Iterator[SharedScan]:
    """A :class:`SharedScan` for `n_fits` fits run in threads (see :func:`run_shared`)."""
    scan = SharedScan(n_fits, n_jobs)
    try:
        yield scan
    finally:
        scan.leave_all()


def run_shared(
    fits: Sequence[Callable[[], Any]], n_jobs: int | None = None
) -> tuple[list[Any], SharedScan]:
    """Run every callable in `fits` in its own thread, their passes shared.

    Returns the results (an exception instance where a fit failed) and the scan.
    """
    results: list[Any] = [None] * len(fits)
    with sharing(len(fits), n_jobs) as scan:

        def run(i: int, fit: Callable[[], Any]) -> None:
            with scan.participant():
                try:
                    results[i] = fit()
                except BaseException as exc:
                    results[i] = exc

        threads = [
            threading.Thread(target=run, args=(i, f), daemon=True) for i, f in enumerate(fits)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    return results, scan
