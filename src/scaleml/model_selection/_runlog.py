"""The run log: one row per candidate fit, appended to an embedded DuckDB file."""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import uuid
from collections.abc import Sequence
from importlib import metadata
from typing import Any

import polars as pl

__all__ = ["RunLog", "data_fingerprint", "library_versions", "read_runs"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    run_id VARCHAR, started_at TIMESTAMP, kind VARCHAR, candidate INTEGER,
    estimator VARCHAR, params VARCHAR, fold INTEGER, metrics VARCHAR,
    fit_seconds DOUBLE, rows_seen BIGINT, data_fingerprint VARCHAR, versions VARCHAR,
    error VARCHAR
)
"""
_LIBRARIES = ("scaleml", "scikit-learn", "polars", "duckdb", "pyarrow", "numpy", "numba")


def library_versions() -> dict[str, str]:
    """Versions of Python and the libraries a result depends on."""
    versions = {"python": platform.python_version()}
    for name in _LIBRARIES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def data_fingerprint(lf: pl.LazyFrame) -> str:
    """What the data was: the query plan (files, filters, columns) and, for files, the
    size and modification time of each one, hashed."""
    import hashlib

    plan = lf.explain(optimized=False)
    stats = []
    for token in plan.replace(",", " ").replace("[", " ").replace("]", " ").split():
        if os.path.isfile(token):
            st = os.stat(token)
            stats.append(f"{token}:{st.st_size}:{st.st_mtime_ns}")
    return hashlib.sha256("\n".join([plan, *stats]).encode()).hexdigest()[:16]


def _json(value: Any) -> str:
    return json.dumps(value, default=repr, sort_keys=True)


class RunLog:
    """Append-only log of fits in a DuckDB file, read back as a polars DataFrame.

    Parameters
    ----------
    path : str or PathLike
        The DuckDB database file (created if absent).

    Examples
    --------
    >>> import tempfile, os
    >>> log = RunLog(os.path.join(tempfile.mkdtemp(), "runs.duckdb"))
    >>> run = log.new_run()
    >>> log.append([{"run_id": run, "kind": "fit_many", "candidate": 0,
    ...              "estimator": "Ridge", "params": {"alpha": 1.0}}])
    >>> log.read().select("estimator", "params").row(0)
    ('Ridge', '{"alpha": 1.0}')
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = os.fspath(path)

    @staticmethod
    def new_run() -> str:
        """A fresh run id."""
        return uuid.uuid4().hex[:12]

    def append(self, rows: Sequence[dict[str, Any]]) -> None:
        """Append `rows` (dicts; params/metrics/versions may be dicts) in one transaction."""
        import duckdb

        now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
        versions = _json(library_versions())
        records = [
            (
                r.get("run_id"),
                r.get("started_at", now),
                r.get("kind"),
                r.get("candidate"),
                r.get("estimator"),
                _json(r.get("params", {})),
                r.get("fold"),
                _json(r.get("metrics", {})),
                r.get("fit_seconds"),
                r.get("rows_seen"),
                r.get("data_fingerprint"),
                versions,
                r.get("error"),
            )
            for r in rows
        ]
        with duckdb.connect(self.path) as con:
            con.execute(_SCHEMA)
            con.executemany(
                "INSERT INTO runs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", records
            )

    def read(self) -> pl.DataFrame:
        """Every logged row, oldest first."""
        return read_runs(self.path)


def read_runs(path: str | os.PathLike[str]) -> pl.DataFrame:
    """The run log at `path` as a polars DataFrame (empty if there is none yet)."""
    import duckdb

    if not os.path.exists(path):
        msg = f"No run log at {os.fspath(path)!r}."
        raise FileNotFoundError(msg)
    with duckdb.connect(os.fspath(path), read_only=True) as con:
        runs: pl.DataFrame = con.sql("SELECT * FROM runs ORDER BY started_at, candidate, fold").pl()
        return runs
