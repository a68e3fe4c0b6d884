"""Turn any supported source into a :class:`polars.LazyFrame` and read it in batches.

Everything in scaleml reads data through two functions of this module: :func:`scan`
(the boundary: any source becomes a LazyFrame) and :func:`iter_batches` (a LazyFrame
becomes contiguous numpy blocks of bounded size). Nothing downstream special-cases the
source.
"""

from __future__ import annotations

import contextlib
import glob as _glob
import os
import tempfile
import weakref
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

__all__ = [
    "DEFAULT_BATCH_BYTES",
    "annotate_read_errors",
    "batch_rows_for",
    "cache_ipc",
    "is_serial_source",
    "iter_batches",
    "iter_frames",
    "scan",
]

#: Target size of one numpy block handed to a kernel (rows x features x itemsize).
DEFAULT_BATCH_BYTES = 16 * 2**20

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
    """Return a lazy view of `source` without reading its data.

    Files get their schema read at once (a parquet/IPC footer, the first rows of a
    csv), so a missing or corrupt file fails here, naming its path; later read
    errors of a fit name the unreadable files too (:func:`annotate_read_errors`).

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
    if module == "dask":
        from scaleml._dask import is_dask_dataframe, scan_dask

        if is_dask_dataframe(source):
            return scan_dask(source)
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
    for p in paths:
        if not _glob.has_magic(p) and not Path(p).exists():
            msg = f"No such file: {p!r}."
            raise FileNotFoundError(msg)
        if _glob.has_magic(p) and not _glob.glob(p):
            msg = f"The glob {p!r} matches no file."
            raise FileNotFoundError(msg)
    fmt = format or _infer_format(paths[0])
    if fmt == "csv" and Path(paths[0]).suffix.lower() == ".tsv":
        kwargs = {"separator": "\t", **kwargs}
    readers: dict[str, Callable[..., pl.LazyFrame]] = {
        "parquet": pl.scan_parquet,
        "csv": pl.scan_csv,
        "ipc": pl.scan_ipc,
    }
    if fmt not in readers:
        msg = f"format must be one of 'parquet', 'csv', 'ipc'; got {fmt!r}."
        raise ValueError(msg)
    lf: pl.LazyFrame = readers[fmt](paths if len(paths) > 1 else paths[0], **kwargs)
    _FILE_SOURCES[id(lf)] = (fmt, paths)
    weakref.finalize(lf, _FILE_SOURCES.pop, id(lf), None)
    with annotate_read_errors(lf):
        # Only metadata is read (a parquet/IPC footer, the first rows of a csv), so a
        # corrupt file fails here, by name, rather than deep inside a fit.
        lf.collect_schema()
    return lf


#: ``id(LazyFrame) -> (format, paths)`` of the file scans made by :func:`scan`.
_FILE_SOURCES: dict[int, tuple[str, list[str]]] = {}


@contextlib.contextmanager
def annotate_read_errors(lf: pl.LazyFrame) -> Iterator[None]:
    """Re-raise an error reading the files behind `lf` with the names of those files.

    Polars' errors about a corrupt or unreadable file do not say which file (``File
    out of specification: The file must end with PAR1``). For a LazyFrame made by
    :func:`scan` from paths, a ``ComputeError`` or ``OSError`` gets the unreadable
    files (or, failing to single them out, the scanned paths) appended to its
    message; the exception type is kept. Other LazyFrames pass errors through.

    Examples
    --------
    >>> import polars as pl
    >>> with annotate_read_errors(pl.LazyFrame({"a": [1]})):
    ...     pass
    """
    try:
        yield
    except (pl.exceptions.ComputeError, OSError) as exc:
        source = _FILE_SOURCES.get(id(lf))
        if source is None or any(p in str(exc) for p in source[1]):
            raise
        msg = f"{exc}\n{_describe_files(*source)}"
        raise type(exc)(msg) from exc


def _describe_files(fmt: str, paths: list[str]) -> str:
    files = sorted({f for p in paths for f in _expand(p)})
    bad = _unreadable(fmt, files) if len(files) > 1 else []
    shown = bad or files or paths
    listed = ", ".join(repr(f) for f in shown[:5])
    if len(shown) > 5:
        listed += f" and {len(shown) - 5} more"
    if bad:
        return f"Unreadable {fmt} file(s): {listed}."
    return f"The error occurred reading the {fmt} file(s) {listed}."


def _expand(path: str) -> list[str]:
    if _glob.has_magic(path):
        return _glob.glob(path)
    if Path(path).is_dir():
        return [str(f) for f in Path(path).rglob("*") if f.is_file()]
    return [path]


def _unreadable(fmt: str, files: list[str], limit: int = 1000) -> list[str]:
    """The files whose metadata cannot be read (only on the error path)."""
    read_schema = {"parquet": pl.read_parquet_schema, "ipc": pl.read_ipc_schema}.get(fmt)
    if read_schema is None or len(files) > limit:
        return []
    bad = []
    for f in files:
        try:
            read_schema(f)
        except (pl.exceptions.PolarsError, OSError):
            bad.append(f)
    return bad


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
    lf: pl.LazyFrame = relation.pl(lazy=True)
    # A DuckDB connection refuses a second concurrent query ("connection is busy"), so
    # this source is read by one query at a time; DuckDB parallelises that query itself.
    _SERIAL_SOURCES.add(id(lf))
    weakref.finalize(lf, _SERIAL_SOURCES.discard, id(lf))
    return lf


#: ``id`` of the LazyFrames that must not be read by concurrent queries.
_SERIAL_SOURCES: set[int] = set()


def is_serial_source(lf: pl.LazyFrame) -> bool:
    """Whether `lf` must be read by one query at a time (a DuckDB relation)."""
    return id(lf) in _SERIAL_SOURCES


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


def cache_ipc(lf: pl.LazyFrame, path: str | os.PathLike[str] | None = None) -> pl.LazyFrame:
    """Write `lf` once to a local Arrow IPC file and return a scan of that file.

    For multi-pass fits over an expensive source (csv, a DuckDB query, remote
    parquet): the query runs once, streamed to disk in bounded memory, and every later
    pass is a memory-mapped read. The file is written under a temporary name and moved
    into place, so `path` is never left half-written.

    Parameters
    ----------
    lf : polars.LazyFrame
        The data to cache.
    path : str or PathLike, optional
        Where to write the file. By default a temporary file, removed when the
        returned LazyFrame is garbage collected (keep it alive while it is read).

    Returns
    -------
    polars.LazyFrame

    Examples
    --------
    >>> import polars as pl
    >>> cached = cache_ipc(pl.LazyFrame({"a": [1, 2, 3]}).with_columns(b=pl.col("a") * 2))
    >>> cached.collect()["b"].to_list()
    [2, 4, 6]
    """
    if path is None:
        fd, target = tempfile.mkstemp(prefix="scaleml-cache-", suffix=".arrow")
        os.close(fd)
    else:
        target = os.fspath(path)
    partial = f"{target}.{os.getpid()}.partial"
    try:
        lf.sink_ipc(partial, engine="streaming")
        os.replace(partial, target)
    except BaseException:
        _remove_quietly(partial)
        if path is None:
            _remove_quietly(target)
        raise
    cached = pl.scan_ipc(target)
    if path is None:
        weakref.finalize(cached, _remove_quietly, target)
    return cached


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
    262144
    """
    return max(1024, batch_bytes // max(1, n_columns * itemsize))


def iter_frames(
    lf: pl.LazyFrame, columns: Sequence[str | pl.Expr], *, batch_rows: int
) -> Iterator[pl.DataFrame]:
    """Yield float64 DataFrames of `columns` with at most `batch_rows` rows each.

    The engine's morsels are capped at `batch_rows` too: its default morsel size is a
    row count whatever the width, so a wide query (hundreds of one-hot columns) would
    otherwise buffer several times the batch.
    """
    exprs = [pl.col(c) if isinstance(c, str) else c for c in columns]
    query = lf.select(e.cast(pl.Float64) for e in exprs)
    with annotate_read_errors(lf), pl.Config(streaming_chunk_size=max(batch_rows, 1024)):
        for frame in query.collect_batches(chunk_size=batch_rows, engine="streaming"):
            # The streaming engine may still hand back morsels larger than chunk_size.
            for start in range(0, frame.height, batch_rows):
                yield frame.slice(start, batch_rows)


def iter_batches(
    lf: pl.LazyFrame,
    columns: Sequence[str | pl.Expr],
    *,
    batch_rows: int | None = None,
    dtype: type[np.floating[Any]] | np.dtype[Any] = np.float64,
    order: str = "C",
) -> Iterator[np.ndarray]:
    """Yield C-contiguous ``(rows, len(columns))`` blocks of at most `batch_rows` rows.

    ``order="F"`` yields Fortran-contiguous blocks instead, which Polars builds
    several times faster (a copy per column rather than a row interleave).

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
    rows = batch_rows or batch_rows_for(len(columns), np.dtype(dtype).itemsize)
    for frame in iter_frames(lf, columns, batch_rows=rows):
        block = frame.to_numpy(order="fortran" if order == "F" else "c")
        yield np.require(block, dtype=dtype, requirements=["F" if order == "F" else "C"])
