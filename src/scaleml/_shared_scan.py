"""Shared scans: many fits, each batch read once.

Inside :func:`sharing`, every estimator fit runs in its own thread. When such a fit
asks the driver for a pass over numpy chunks (:func:`scaleml._fit.fold`), the request
waits at a barrier until every other live fit is also waiting for a pass (or has
finished). Then one scan reads the union of all requested columns once, and each batch
is handed to every request's ``_update_state``. Multi-pass fits (L-BFGS) meet at the
barrier once per pass, so 40 candidates cost about as many scans as the slowest one.

Because every estimator's state is exact under any chunking (a tested property), a fit
gives the same model shared or alone.

Requests are grouped by source: the same query plan over files, or the very same
LazyFrame for in-memory and Python sources (whose plans name only their schema, so two
of them with the same schema but different rows would look alike). A *view* made by
:func:`shared_view` (the rows of a base LazyFrame where a mask holds, optionally mapped
by a row-wise function such as a fitted pipeline's ``transform``) is grouped with every
other view of its base: the cross-validation folds of a search, their train and test
sides, are all served by one scan of the base, each request getting only its rows.

Each fit gets its own copy of its columns of a batch (fits may modify their chunks),
unless its estimator declares ``chunk_readonly = True``: fits of those reading the same
columns share one read-only copy per batch. Fits whose estimators return the same
``_fusion_key()`` (say, binary L-BFGS passes of LogisticRegression candidates) are
updated together by one call of their class's ``_update_states(ests, states, chunk)``:
one kernel reads each row once for all of them, each state what it would be alone.
"""

from __future__ import annotations

import os
import threading
import weakref
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import polars as pl

from scaleml.io import annotate_read_errors, batch_rows_for, iter_batches

__all__ = ["SharedScan", "View", "current", "fitting_on", "run_shared", "shared_view", "sharing"]

_local = threading.local()


def current() -> SharedScan | None:
    """The shared scan the calling thread takes part in, if any."""
    return getattr(_local, "scan", None)


@dataclass(frozen=True, eq=False)
class View:
    """Rows of `base` where `mask` holds, with `columns`, then mapped by `then`.

    Attributes
    ----------
    base : the LazyFrame every view of the group is read from, once per pass.
    mask : a Boolean expression over `base` selecting the view's rows.
    columns : the view's columns before `then` (columns of `base`).
    then : a row-wise map of a LazyFrame (a fitted pipeline's ``transform``), or None.
    """

    base: pl.LazyFrame
    mask: pl.Expr
    columns: tuple[str, ...]
    then: Callable[[pl.LazyFrame], pl.LazyFrame] | None = None


#: ``id(LazyFrame) -> View`` for the LazyFrames made by :func:`shared_view`.
_VIEWS: dict[int, View] = {}


def shared_view(
    base: pl.LazyFrame,
    mask: pl.Expr,
    *,
    drop: Sequence[str] = (),
    then: Callable[[pl.LazyFrame], pl.LazyFrame] | None = None,
) -> pl.LazyFrame:
    """The rows of `base` where `mask` holds, as a LazyFrame a shared scan recognises.

    Outside a shared scan it is an ordinary query (``base.filter(mask).drop(drop)``,
    passed to `then`). Inside one, the passes requested over it (or over a selection of
    its columns, see :func:`fitting_on`) join one scan of `base` with every other view
    of `base`. `then` must map rows one to one (it is applied batch by batch).

    Examples
    --------
    >>> import polars as pl
    >>> base = pl.LazyFrame({"x": [1.0, 2.0, 3.0], "fold": [0, 1, 0]})
    >>> shared_view(base, pl.col("fold") == 0, drop=["fold"]).collect()["x"].to_list()
    [1.0, 3.0]
    """
    raw = base.filter(mask).drop(list(drop))
    lf = then(raw) if then is not None else raw
    _VIEWS[id(lf)] = View(base, mask, tuple(raw.collect_schema().names()), then)
    weakref.finalize(lf, _VIEWS.pop, id(lf), None)
    return lf


@contextmanager
def fitting_on(*views: pl.LazyFrame) -> Iterator[None]:
    """Let this thread's requests over a column selection of `views` join their scans.

    Estimators often fit ``X.select(columns)`` rather than ``X`` itself; such a query
    is recognised as a selection of a view when its plan is the view's plan with that
    selection on top.
    """
    previous = getattr(_local, "hints", ())
    _local.hints = (*previous, *views)
    try:
        yield
    finally:
        _local.hints = previous


def _view_of(lf: pl.LazyFrame) -> View | None:
    view = _VIEWS.get(id(lf))
    if view is not None:
        return view
    for hint in getattr(_local, "hints", ()):
        view = _VIEWS.get(id(hint))
        if view is not None and _is_selection_of(lf, hint):
            return view
    return None


def _is_selection_of(lf: pl.LazyFrame, view: pl.LazyFrame) -> bool:
    names = lf.collect_schema().names()
    return lf.explain(optimized=False) == view.select(names).explain(optimized=False)


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
    view: View | None = None
    keys: list[Any] = field(default_factory=list)


def _as_expr(c: str | pl.Expr) -> pl.Expr:
    return pl.col(c) if isinstance(c, str) else c


def _source_key(lf: pl.LazyFrame) -> str:
    # Two scans of the same files have the same plan. An in-memory frame ("DF") or a
    # Python source is named by its schema only: only the same LazyFrame is the same data.
    plan = lf.explain(optimized=False)
    if "DF [" in plan or "PYTHON" in plan:
        return f"id {id(lf)}"
    return plan


def _threads(n_jobs: int | None) -> int:
    """Threads for `n_jobs`, counted as joblib does (-1: one per core)."""
    if n_jobs is None:
        return 1
    if n_jobs < 0:
        return max(1, (os.cpu_count() or 1) + 1 + n_jobs)
    return max(1, n_jobs)


class SharedScan:
    """A barrier where the passes of `n_fits` concurrent fits become shared scans.

    Parameters
    ----------
    n_fits : int
        Number of fits (threads) taking part.
    n_jobs : int, optional
        Threads updating the fits' states on each batch (kernels release the GIL);
        -1: one per core.
    """

    def __init__(self, n_fits: int, n_jobs: int | None = None) -> None:
        self._cond = threading.Condition()
        self._live = n_fits
        self._pending: list[_Request] = []
        self._running = False
        self.n_jobs = _threads(n_jobs)
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
            view=_view_of(lf),
            keys=[_expr_key(c) for c in [*columns, *y_columns]],
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
        from scaleml._blas import one_blas_thread

        with one_blas_thread():  # once for every fit of the scan (see scaleml._blas)
            self._run_groups(requests)

    def _run_groups(self, requests: list[_Request]) -> None:
        groups: dict[str, list[_Request]] = {}
        for req in requests:
            key = f"view {id(req.view.base)}" if req.view else _source_key(req.lf)
            groups.setdefault(key, []).append(req)
        for group in groups.values():
            try:
                if group[0].view is not None:
                    self._scan_views(group)
                else:
                    self._scan(group)
            except BaseException as exc:  # a read error fails every fit of the group
                for req in group:
                    req.error = req.error or exc
            for req in group:
                self.rows_seen[id(req.est)] = self.rows_seen.get(id(req.est), 0) + req.rows
                req.done = True

    def _scan(self, group: list[_Request]) -> None:
        union = _union(group)
        rows = [r.batch_rows for r in group if r.batch_rows]
        self.n_scans += 1
        lf = group[0].lf
        with annotate_read_errors(lf), ThreadPoolExecutor(self.n_jobs) as pool:
            blocks = iter_batches(lf, union, batch_rows=min(rows) if rows else None, order="F")
            for block in _prefetched(blocks):
                _feed(pool, self.n_jobs, block, [r for r in group if r.error is None])

    def _scan_views(self, group: list[_Request]) -> None:
        """One scan of the views' base; each batch is split by mask, then fed per view."""
        by_view: dict[int, list[_Request]] = {}
        for req in group:
            by_view.setdefault(id(req.view), []).append(req)
        aliases: dict[Any, str] = {}  # mask -> its column in the scan
        select: list[pl.Expr] = []
        needed: dict[str, None] = {}
        plans = []
        for reqs in by_view.values():
            view = reqs[0].view
            assert view is not None
            mask = _expr_key(view.mask)
            if mask not in aliases:
                aliases[mask] = f"__scaleml_mask{len(aliases)}"
                select.append(view.mask.alias(aliases[mask]))
            # A mapped view needs all its input columns; a plain one only what it reads.
            exprs = [e for r in reqs for e in [*r.columns, *r.y_columns]]
            roots = [n for e in exprs for n in e.meta.root_names()]
            needed.update(dict.fromkeys(view.columns if view.then else roots))
            plans.append((view, reqs, aliases[mask], _union(reqs)))
        select = [*(pl.col(c) for c in needed), *select]
        rows = [r.batch_rows for r in group if r.batch_rows]
        batch = min(rows) if rows else batch_rows_for(len(select))
        base = plans[0][0].base
        self.n_scans += 1
        with annotate_read_errors(base), ThreadPoolExecutor(self.n_jobs) as pool:
            for frame in _prefetched(_frames(base.select(select), batch)):
                for view, reqs, alias, union in plans:
                    live = [r for r in reqs if r.error is None]
                    if live:
                        _feed_view(
                            pool, self.n_jobs, view, frame.filter(pl.col(alias)), union, live
                        )

    def leave_all(self) -> None:
        """Wake every waiting fit (used when the coordinating call is interrupted)."""
        with self._cond:
            self._live = 0
            self._cond.notify_all()


def _expr_key(e: str | pl.Expr) -> Any:
    """An exact identity of a column: ``str(expr)`` abbreviates literals (``[0, 1, … 9]``)."""
    if isinstance(e, str):
        return ("col", e)
    try:
        return e.meta.serialize()
    except Exception:  # not serialisable (a Python function): never merged with another
        return ("unique", id(e))


def _union(group: list[_Request]) -> list[pl.Expr]:
    """The distinct column expressions of `group`, aliased; sets each request's slots."""
    union: list[pl.Expr] = []
    names: dict[Any, int] = {}
    for req in group:
        req.slots = []
        for e, key in zip([*req.columns, *req.y_columns], req.keys, strict=True):
            if key not in names:
                names[key] = len(union)
                union.append(e.alias(f"__scaleml_{len(union)}"))
            req.slots.append(names[key])
    return union


_END = object()


def _prefetched(items: Iterator[Any]) -> Iterator[Any]:
    """The items of `items`, each next one read in a background thread while the
    caller feeds the fits this one: the engine decodes while the kernels compute.
    At most two items (batches) exist at a time."""
    with ThreadPoolExecutor(1) as reader:
        future = reader.submit(next, items, _END)
        while (item := future.result()) is not _END:
            future = reader.submit(next, items, _END)
            yield item


def _frames(lf: pl.LazyFrame, rows: int) -> Iterator[pl.DataFrame]:
    """Streamed frames of at most `rows` rows."""
    # Morsels capped at the batch too (see scaleml.io.iter_frames).
    with pl.Config(streaming_chunk_size=max(rows, 1024)):
        for frame in lf.collect_batches(chunk_size=rows, engine="streaming"):
            # The streaming engine may hand back morsels larger than chunk_size.
            for start in range(0, frame.height, rows):
                yield frame.slice(start, rows)


def _feed_view(
    pool: ThreadPoolExecutor,
    n_jobs: int,
    view: View,
    rows: pl.DataFrame,
    union: list[pl.Expr],
    requests: list[_Request],
) -> None:
    """Hand the rows of one view in a batch to its requests."""
    try:
        lf = rows.select(view.columns).lazy() if view.then else rows.lazy()
        if view.then is not None:
            lf = view.then(lf)
        frame = lf.select(e.cast(pl.Float64) for e in union).collect()
        block = frame.to_numpy(order="fortran")
    except BaseException as exc:  # a failing map fails this view's requests only
        for req in requests:
            req.error = exc
        return
    if len(block):
        _feed(pool, n_jobs, block, requests)


def _feed(
    pool: ThreadPoolExecutor, n_jobs: int, block: np.ndarray, requests: list[_Request]
) -> None:
    """Update every request's state with its columns of `block`, in `pool`.

    Requests whose estimators declare the same ``_fusion_key()`` (and read the same
    columns) are updated together by their class's ``_update_states``, split into
    `n_jobs` groups so that every thread has work: one kernel call reads each row once
    for many models.
    """
    units: list[list[_Request]] = []
    fused: dict[Any, list[_Request]] = {}
    for req in requests:
        fusion_key = getattr(req.est, "_fusion_key", None)
        key = fusion_key() if fusion_key is not None else None
        if key is None:
            units.append([req])
        else:
            unit_key = (type(req.est), key, tuple(req.slots), len(req.columns), req.allow_nan)
            fused.setdefault(unit_key, []).append(req)
    for group in fused.values():
        parts = min(n_jobs, len(group))
        units += [group[i::parts] for i in range(parts)]
    list(pool.map(_update(block), units))


_Chunk = tuple[np.ndarray, np.ndarray | None, bool]


def _chunk(block: np.ndarray, slots: list[int], k: int, order: str) -> _Chunk:
    """``(X, y, finite)``: new arrays of the columns `slots` of `block` (`k` features)."""
    X = block[:, slots[:k]]  # fancy indexing: one new array (of the block's layout)
    X = np.asfortranarray(X) if order == "F" else np.ascontiguousarray(X)
    y: np.ndarray | None = None
    if len(slots) == k + 1:
        y = np.ascontiguousarray(block[:, slots[k]])
    elif len(slots) > k:
        y = block[:, slots[k:]]
    finite = bool(np.isfinite(X).all() and (y is None or np.isfinite(y).all()))
    return X, y, finite


def _update(block: np.ndarray) -> Callable[[list[_Request]], None]:
    from scaleml._fit import _check_finite_block

    # Estimators may own (and modify) their chunks, so each gets its own copy, except
    # those declaring ``chunk_readonly = True``: they share one read-only copy per batch.
    shared: dict[tuple[Any, ...], _Chunk] = {}
    lock = threading.Lock()

    def chunk_of(req: _Request) -> _Chunk:
        k, order = len(req.columns), getattr(req.est, "chunk_order", "C")
        if not getattr(req.est, "chunk_readonly", False):
            return _chunk(block, req.slots, k, order)
        key = (tuple(req.slots), k, order)
        with lock:
            if key not in shared:
                X, y, finite = _chunk(block, req.slots, k, order)
                for a in (X, y):
                    if a is not None:
                        a.flags.writeable = False
                shared[key] = X, y, finite
            return shared[key]

    def apply(unit: list[_Request]) -> None:
        first = unit[0]
        try:
            X, y, finite = chunk_of(first)
            if not finite and not first.allow_nan:  # a unit shares allow_nan (_feed)
                _check_finite_block(
                    first.est, block[:, first.slots], [*first.columns, *first.y_columns]
                )
            if len(unit) == 1:
                first.state = first.est._update_state(first.state, (X, y))
            else:
                states = type(first.est)._update_states(
                    [r.est for r in unit], [r.state for r in unit], (X, y)
                )
                for req, state in zip(unit, states, strict=True):
                    req.state = state
            for req in unit:
                req.rows += len(X)
        except BaseException as exc:
            for req in unit:
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
