"""Turn any supported source into a :class:`polars.LazyFrame` and read it in batches.

Everything in scaleml reads data through two functions of this module: :func:`scan`
(the boundary: any source becomes a LazyFrame) and :func:`iter_batches` (a LazyFrame
becomes contiguous numpy blocks of bounded size). Nothing downstream special-cases the
source.
"""

from __future__ import annotations

import glob as _glob
import os
import tempfile
import weakref
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

__all__ = ["DEFAULT_BATCH_BYTES", "batch_rows_for", "iter_batches", "scan"]

#: Target size of one numpy block handed to a kernel (rows x features x itemsize).
DEFAULT_BATCH_BYTES = 64 * 2**20

_SUFFIX_FORMAT = {
    ".parquet": "parquet",
    ".pq": "parquet",
    ".csv": "csv",
    ".tsv": "csv",
    ".ipc": "ipc",
    ".arrow": "ipc",
    ".feather": "ipc",
}


def scan(
    source: Any, *, connection: Any = None, format: str | None = None, **kwargs: Any
) -> pl.LazyFrame:
    """Return a lazy view of `source` without reading it.

    Parameters
    ----------
    source : path, glob, list of paths, SQL string, or an in-memory / lazy table
        A parquet, csv or Arrow IPC file path or glob (``"data/*.parquet"``), a list
        of them, a DuckDB relation, a SQL string (with ``connection``), a pyarrow
        ``Table``/``Dataset``/``RecordBatchReader`` or any object with
        ``__arrow_c_stream__``, a pandas or polars DataFrame, a polars LazyFrame
        (returned as is) or a 2-D numpy array (columns ``x0 .. x{n-1}``).
    connection : duckdb.DuckDBPyConnection, optional
        The connection a SQL string runs on.
    format : {"parquet", "csv", "ipc"}, optional
        File format; by default inferred from the file suffix.
    **kwargs
        Passed to the Polars ``scan_*`` function for files.

    Returns
    -------
    polars.LazyFrame

    Examples
    --------
    >>> import numpy as np
    >>> import scaleml as sm
    >>> sm.scan(np.array([[1.0, 2.0], [3.0, 4.0]])).collect_schema().names()
    ['x0', 'x1']
    """
    if isinstance(source, pl.LazyFrame):
        return source
    if isinstance(source, pl.DataFrame):
        return source.lazy()
    if isinstance(source, (str, os.PathLike)) and connection is not None:
        return _scan_duckdb(connection.sql(str(source)))
    if isinstance(source, (str, os.PathLike)) or _is_path_list(source):
        return _scan_files(source, format, kwargs)
    module = type(source).__module__.split(".")[0]
    if module == "duckdb":
        return _scan_duckdb(source)
    if module == "pyarrow":
        return _scan_arrow(source)
    if module == "pandas":
        return pl.from_pandas(source).lazy()
    if isinstance(source, np.ndarray):
        return _scan_numpy(source)
    if hasattr(source, "__arrow_c_stream__"):
        return _spool_stream(source)
    msg = (
        f"scaleml.scan cannot read a source of type {type(source).__qualname__!r}. "
        "Expected a file path or glob, a list of paths, a DuckDB relation, a SQL string "
        "with connection=, a pyarrow Table/Dataset/RecordBatchReader, a pandas or polars "
        "DataFrame, a polars LazyFrame or a 2-D numpy array."
    )
    raise TypeError(msg)


def _is_path_list(source: Any) -> bool:
    return (
        isinstance(source, (list, tuple))
        and len(source) > 0
        and all(isinstance(s, (str, os.PathLike)) for s in source)
    )


def _scan_files(source: Any, format: str | None, kwargs: dict[str, Any]) -> pl.LazyFrame:
    paths = [str(p) for p in source] if _is_path_list(source) else [str(source)]
    fmt = format or _infer_format(paths[0])
    for p in paths:
        if not _glob.has_magic(p) and not Path(p).exists():
            msg = f"No such file: {p!r}."
            raise FileNotFoundError(msg)
        if _glob.has_magic(p) and not _glob.glob(p):
            msg = f"The glob {p!r} matches no file."
            raise FileNotFoundError(msg)
    target: Any = paths if len(paths) > 1 else paths[0]
    if fmt == "parquet":
        return pl.scan_parquet(target, **kwargs)
    if fmt == "csv":
        return pl.scan_csv(target, **kwargs)
    if fmt == "ipc":
        return pl.scan_ipc(target, **kwargs)
    msg = f"format must be one of 'parquet', 'csv', 'ipc'; got {fmt!r}."
    raise ValueError(msg)


def _infer_format(path: str) -> str:
    suffix = Path(path.rstrip("*")).suffix.lower()
    if suffix in _SUFFIX_FORMAT:
        return _SUFFIX_FORMAT[suffix]
    if Path(path).is_dir():
        return "parquet"
    msg = (
        f"Cannot infer the file format of {path!r} from its suffix {suffix!r}; "
        f"pass format= one of 'parquet', 'csv', 'ipc'."
    )
    raise ValueError(msg)


def _scan_duckdb(relation: Any) -> pl.LazyFrame:
    # ``relation.pl(lazy=True)`` re-executes the query on every collect; scanning the
    # relation's Arrow stream instead would yield 0 rows on the second pass of a fit.
    return relation.pl(lazy=True)  # type: ignore[no-any-return]


def _scan_arrow(source: Any) -> pl.LazyFrame:
    import pyarrow as pa
    import pyarrow.dataset as pads

    if isinstance(source, pa.Table):
        return pl.from_arrow(source).lazy()  # type: ignore[union-attr]
    if isinstance(source, pa.RecordBatch):
        return pl.from_arrow(pa.Table.from_batches([source])).lazy()  # type: ignore[union-attr]
    if isinstance(source, pads.Dataset):
        return pl.scan_pyarrow_dataset(source)
    return _spool_stream(source)


def _spool_stream(stream: Any) -> pl.LazyFrame:
    """Write a one-shot Arrow stream to a temporary IPC file and scan that.

    A stream can be read once, but multi-pass fits (and a pipeline's fit then
    transform) read their input several times. Spooling keeps memory bounded by one
    record batch and makes every later pass a memory-mapped read.
    """
    import pyarrow as pa
    import pyarrow.ipc as ipc

    reader = pa.RecordBatchReader.from_stream(stream)
    fd, path = tempfile.mkstemp(prefix="scaleml-spool-", suffix=".arrow")
    os.close(fd)
    with pa.OSFile(path, "wb") as sink, ipc.new_file(sink, reader.schema) as writer:
        for batch in reader:
            writer.write_batch(batch)
    lf = pl.scan_ipc(path)
    weakref.finalize(lf, _remove_quietly, path)
    return lf


def _remove_quietly(path: str) -> None:
    try:
        os.remove(path)
    except OSError:
        pass


def _scan_numpy(array: np.ndarray) -> pl.LazyFrame:
    if array.ndim == 1:
        msg = (
            f"Expected a 2-D array, got a 1-D array of shape {array.shape}. Reshape it "
            "with array.reshape(-1, 1) for a single feature or array.reshape(1, -1) for "
            "a single sample."
        )
        raise ValueError(msg)
    if array.ndim != 2:
        msg = f"Expected a 2-D array, got an array with {array.ndim} dimensions."
        raise ValueError(msg)
    names = [f"x{i}" for i in range(array.shape[1])]
    return pl.DataFrame(array, schema=names, orient="row").lazy()


def batch_rows_for(
    n_columns: int, itemsize: int = 8, batch_bytes: int = DEFAULT_BATCH_BYTES
) -> int:
    """Number of rows whose ``n_columns`` values fill about ``batch_bytes`` bytes.

    Examples
    --------
    >>> batch_rows_for(8)
    1048576
    """
    return max(1024, batch_bytes // max(1, n_columns * itemsize))


def iter_batches(
    lf: pl.LazyFrame,
    columns: Sequence[str | pl.Expr],
    *,
    batch_rows: int | None = None,
    dtype: type[np.floating[Any]] | np.dtype[Any] = np.float64,
) -> Iterator[np.ndarray]:
    """Yield C-contiguous ``(rows, len(columns))`` blocks of at most `batch_rows` rows.

    `columns` are names or expressions (e.g. a label encoded with ``replace_strict``).
    Nulls become NaN. The source is streamed by the Polars engine, so peak memory is
    one batch plus the engine's read buffers, whatever the number of rows.

    Examples
    --------
    >>> import polars as pl
    >>> lf = pl.LazyFrame({"a": [1, 2, 3], "b": [4.0, None, 6.0]})
    >>> [b.shape for b in iter_batches(lf, ["a", "b"], batch_rows=2)]
    [(2, 2), (1, 2)]
    """
    exprs = [pl.col(c) if isinstance(c, str) else c for c in columns]
    rows = batch_rows or batch_rows_for(len(exprs), np.dtype(dtype).itemsize)
    query = lf.select(e.cast(pl.Float64) for e in exprs)
    for frame in query.collect_batches(chunk_size=rows, engine="streaming"):
        # The streaming engine may hand back morsels larger than chunk_size.
        for start in range(0, frame.height, rows):
            block = frame.slice(start, rows).to_numpy(order="c")
            yield np.ascontiguousarray(block, dtype=dtype)
