"""Fit many estimators in one pass over the data (per pass of the slowest)."""

from __future__ import annotations

import functools
import os
import time
from collections.abc import Sequence
from typing import Any

from scaleml._shared_scan import run_shared
from scaleml._validation import is_eager
from scaleml.io import cache_ipc, is_serial_source, scan
from scaleml.model_selection._runlog import RunLog, data_fingerprint

__all__ = ["fit_many", "shared_source"]


def shared_source(X: Any) -> Any:
    """`X` prepared for concurrent fits: lazy sources become one LazyFrame, and a
    source that refuses concurrent queries (DuckDB) is cached once to a local Arrow
    file."""
    if is_eager(X):
        return X
    lf = scan(X)
    return cache_ipc(lf) if is_serial_source(lf) else lf


def fit_many(
    estimators: Sequence[Any],
    X: Any,
    y: Any = None,
    *,
    n_jobs: int | None = None,
    log_to: str | os.PathLike[str] | None = "runs.duckdb",
) -> list[Any]:
    """Fit every estimator on the same data, reading each batch once for all of them.

    Each estimator fits in its own thread; whenever fits need a pass over the data,
    one scan feeds every batch to all of them (see :mod:`scaleml._shared_scan`).
    Single-pass estimators (LinearRegression, Ridge, PCA, naive Bayes) share the one
    pass; multi-pass ones (LogisticRegression) share each L-BFGS pass, so 40
    candidates cost about as many scans as the slowest one. Each model equals the one
    its own ``fit`` gives.

    What runs where: the fits and the shared scans are threads of this process (the
    barrier is one machine's; joblib's backend is not used). With a dask DataFrame,
    a pass over the dask data itself (LogisticRegression's) maps the partitions on
    the workers and tree-merges the states there, candidate by candidate, bypassing
    the shared scan; a pass over a query derived from it (Ridge selects its columns
    first) is a shared scan here, of partitions computed by the workers.

    Parameters
    ----------
    estimators : sequence of scaleml estimators
        Fitted in place, as ``fit`` does.
    X : any input of :func:`scaleml.scan`, or in-memory data
    y : array-like, str or None
        As in each estimator's ``fit``.
    n_jobs : int, optional
        Threads updating the estimators' states on each batch.
    log_to : path or None, default="runs.duckdb"
        DuckDB file the run is appended to (one row per estimator: parameters, fit
        time, rows seen, data fingerprint, library versions); None to not log.

    Returns
    -------
    list
        The fitted estimators.

    Raises
    ------
    RuntimeError
        When a fit failed; the message names the estimator and the cause is chained.

    Examples
    --------
    >>> import numpy as np
    >>> import scaleml as sm
    >>> X = np.random.default_rng(0).normal(size=(200, 3))
    >>> y = X @ [1.0, 2.0, 3.0]
    >>> models = sm.model_selection.fit_many(
    ...     [sm.Ridge(alpha=a) for a in (0.1, 1.0, 10.0)], X, y, log_to=None)
    >>> [round(float(m.coef_[2]), 2) for m in models]
    [3.0, 2.98, 2.84]
    """
    source = shared_source(X)
    seconds: list[float] = [0.0] * len(estimators)

    def timed(i: int, est: Any) -> Any:
        start = time.perf_counter()
        try:
            return est.fit(source, y)
        finally:
            seconds[i] = time.perf_counter() - start

    results, shared = run_shared(
        [functools.partial(timed, i, e) for i, e in enumerate(estimators)], n_jobs
    )
    if log_to is not None:
        _log(log_to, estimators, results, seconds, source, shared.rows_seen)
    for i, result in enumerate(results):
        if isinstance(result, BaseException):
            msg = f"fit_many: estimator {i} ({estimators[i]!r}) failed: {result}"
            raise RuntimeError(msg) from result
    return list(estimators)


def _log(
    path: Any,
    estimators: Sequence[Any],
    results: list[Any],
    seconds: list[float],
    source: Any,
    rows_seen: dict[int, int],
) -> None:
    log = RunLog(path)
    run = log.new_run()
    fingerprint = data_fingerprint(source) if not is_eager(source) else "in-memory"
    log.append(
        [
            {
                "run_id": run,
                "kind": "fit_many",
                "candidate": i,
                "estimator": type(est).__name__,
                "params": est.get_params(deep=False),
                "fit_seconds": seconds[i],
                "rows_seen": rows_seen.get(id(est)),
                "data_fingerprint": fingerprint,
                "error": repr(res) if isinstance(res, BaseException) else None,
            }
            for i, (est, res) in enumerate(zip(estimators, results, strict=True))
        ]
    )
