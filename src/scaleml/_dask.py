"""Dask DataFrames as a source: a LazyFrame for correctness, partitions for distribution.

A ``dask.dataframe.DataFrame`` becomes a LazyFrame through a Polars IO plugin that
computes one partition at a time, so every code path reads it correctly in bounded
memory. The driver (:func:`scaleml._fit.fold`) recognises such a LazyFrame and instead
maps the estimator's state update over the partitions on the Dask workers, then
tree-reduces the states with ``merge``: the fit runs where the data is, and a task lost
with its worker is recomputed by Dask from the same partition, so the result equals
the serial one. dask is never imported unless a dask collection is given.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Iterator
from typing import Any

import polars as pl

__all__ = ["dask_source", "is_dask_dataframe", "reduce_partition_states", "scan_dask"]

#: ``id(LazyFrame) -> dask DataFrame`` for the LazyFrames made by :func:`scan_dask`.
_DASK_SOURCES: dict[int, Any] = {}


def is_dask_dataframe(obj: Any) -> bool:
    """Whether `obj` is a dask DataFrame (checked without importing dask)."""
    return type(obj).__module__.split(".")[0] == "dask" and hasattr(obj, "to_delayed")


def _schema(ddf: Any) -> pl.Schema:
    meta = pl.from_pandas(ddf._meta)
    # An empty object column carries no dtype; dask's object columns hold strings.
    return pl.Schema(
        {c: (pl.String if dt in (pl.Null, pl.Object) else dt) for c, dt in meta.schema.items()}
    )


def _to_polars(pdf: Any, schema: pl.Schema) -> pl.DataFrame:
    frame = pl.from_pandas(pdf)
    return frame.cast({c: schema[c] for c in frame.columns}, strict=False)


def scan_dask(ddf: Any) -> pl.LazyFrame:
    """A LazyFrame over a dask DataFrame, read one computed partition at a time."""
    schema = _schema(ddf)

    def source(
        with_columns: list[str] | None, predicate: pl.Expr | None, n_rows: int | None, _: Any
    ) -> Iterator[pl.DataFrame]:
        parts = ddf[with_columns] if with_columns is not None else ddf
        left = n_rows
        for i in range(parts.npartitions):
            frame = _to_polars(parts.get_partition(i).compute(), schema)
            if predicate is not None:
                frame = frame.filter(predicate)
            if left is not None:
                frame = frame.head(left)
                left -= frame.height
            yield frame
            if left is not None and left <= 0:
                return

    from polars.io.plugins import register_io_source

    lf = register_io_source(source, schema=schema, explain_name="dask")
    _DASK_SOURCES[id(lf)] = ddf
    weakref.finalize(lf, _DASK_SOURCES.pop, id(lf), None)
    return lf


def dask_source(lf: pl.LazyFrame) -> Any:
    """The dask DataFrame behind `lf`, or None when `lf` was not made from one."""
    return _DASK_SOURCES.get(id(lf))


def _partition_state(
    fold_partition: Callable[[pl.LazyFrame], Any], pdf: Any, schema: pl.Schema
) -> Any:
    return fold_partition(_to_polars(pdf, schema).lazy())


def reduce_partition_states(
    ddf: Any, fold_partition: Callable[[pl.LazyFrame], Any], merge: Callable[[Any, Any], Any]
) -> Any:
    """Fold every partition into a state on the workers, then merge them as a tree."""
    from dask.base import compute
    from dask.delayed import delayed

    schema = _schema(ddf)
    fold_d = delayed(fold_partition, pure=True)
    merge_d = delayed(merge, pure=True)
    states = [
        delayed(_partition_state, pure=True)(fold_d, part, schema) for part in ddf.to_delayed()
    ]
    while len(states) > 1:
        paired = [merge_d(a, b) for a, b in zip(states[::2], states[1::2], strict=False)]
        states = paired + ([states[-1]] if len(states) % 2 else [])
    (state,) = compute(states[0])  # type: ignore[no-untyped-call]
    return state
