"""Exact ROC AUC out of core, on DuckDB.

The binary AUC needs the (weighted) number of positives and negatives at every
distinct score, in decreasing score order. Model scores are usually all distinct, so
that table has as many rows as the data: Polars' streaming group-by keeps it in memory
(it has no out-of-core group-by or sort yet), DuckDB's hash aggregate and ORDER BY
spill to its temp directory. So the rows stream once from Polars into DuckDB, which
groups them by ``(score column, score, label)``; each binary problem is then an
``ORDER BY score DESC`` query streamed back in batches, and the trapezoid is summed
batch by batch. Python memory is one batch; DuckDB's is bounded by its
``memory_limit``. Ties are one point of the curve, as in scikit-learn, so the result
is the same trapezoid (up to floating-point summation order).
"""

from __future__ import annotations

import atexit
import functools
import shutil
import tempfile
import warnings
from collections.abc import Iterator
from typing import Any

import numpy as np
import polars as pl
import pyarrow as pa
from sklearn.exceptions import UndefinedMetricWarning

from scaleml.metrics._inputs import MetricFrame, label_expr, length_mismatch, numeric_expr

__all__ = ["ScoreTable"]

#: Rows per batch streamed back from DuckDB (three float64 columns).
_BATCH_ROWS = 1 << 18


@functools.cache
def _database() -> Any:
    """The in-memory DuckDB database the AUC queries run on, spilling to a temp dir."""
    import duckdb

    spill = tempfile.mkdtemp(prefix="scaleml-duckdb-")
    atexit.register(shutil.rmtree, spill, ignore_errors=True)
    return duckdb.connect(config={"temp_directory": spill, "preserve_insertion_order": False})


def _arrow_stream(lf: pl.LazyFrame, errors: list[BaseException]) -> pa.RecordBatchReader:
    """The streaming engine's batches of `lf` as an Arrow reader DuckDB can scan once."""
    batches = iter(lf.collect_batches(engine="streaming", maintain_order=False, lazy=True))
    try:
        first = next(batches, None)
    except pl.exceptions.ShapeError as exc:
        errors.append(exc)
        raise
    table = (first if first is not None else lf.head(0).collect()).to_arrow()

    def generate() -> Iterator[pa.RecordBatch]:
        yield from table.to_batches()
        try:
            for frame in batches:
                yield from frame.to_arrow().cast(table.schema).to_batches()
        except BaseException as exc:
            # DuckDB re-raises it as its own error; keep the original to report it.
            errors.append(exc)
            raise

    return pa.RecordBatchReader.from_batches(table.schema, generate())


class ScoreTable:
    """Weighted counts per distinct ``(k, score, label)``, in a DuckDB table ``g``.

    ``k`` indexes the score columns (one for a binary problem, one per class
    otherwise). Use as a context manager: the table is dropped on exit.
    """

    def __init__(self, frame: MetricFrame, *, check_sums: bool) -> None:
        # A cursor is a connection of its own (own temp tables and views) on the shared
        # database; opening one costs microseconds, a new database tens of milliseconds.
        self.con = _database().cursor()
        self.n_scores = len(frame.columns["y_score"])
        try:
            self._load(frame, check_sums=check_sums)
        except BaseException:
            self.con.close()
            raise

    def __enter__(self) -> ScoreTable:
        return self

    def __exit__(self, *exc: object) -> None:
        self.con.close()

    def _load(self, frame: MetricFrame, *, check_sums: bool) -> None:
        import duckdb

        scores = [
            numeric_expr(frame, "y_score", i).fill_null(float("nan")).alias(f"p{i}")
            for i in range(self.n_scores)
        ]
        columns = [label_expr(frame, "y_true").alias("y"), *scores]
        self.weighted = frame.weight is not None
        if self.weighted:
            columns.append(frame.w().fill_null(float("nan")).alias("w"))
        if check_sums:
            # np.allclose(1, row sum): |1 - s| <= 1e-8 + 1e-5 * |s|.
            total = pl.sum_horizontal(scores)
            columns.append(((1.0 - total).abs() <= 1e-8 + 1e-5 * total.abs()).alias("ok"))
        errors: list[BaseException] = []
        try:
            self.con.register("src", _arrow_stream(frame.lf.select(columns), errors))
            self.con.execute(self._create_sql(check_sums))
        except (duckdb.Error, pl.exceptions.ShapeError) as exc:
            if any(isinstance(e, pl.exceptions.ShapeError) for e in errors):
                raise length_mismatch(frame) from exc
            if errors:
                raise errors[0] from exc
            raise

    def _create_sql(self, check_sums: bool) -> str:
        ok = "bool_and(ok)" if check_sums else "true"
        w = ", w" if self.weighted else ""
        if self.n_scores == 1:
            source = f"(SELECT 0 AS k, p0 AS s, y{w} FROM src)"
        else:
            on = ", ".join(f"p{i}" for i in range(self.n_scores))
            # Scores are never NULL (filled with NaN), so UNPIVOT drops no row.
            extra = w + (", ok" if check_sums else "")
            source = (
                f"(SELECT CAST(substr(k, 2) AS INTEGER) AS k, s, y{extra} "
                f"FROM (UNPIVOT src ON {on} INTO NAME k VALUE s))"
            )
        if self.weighted:
            weights = """coalesce(sum(w) FILTER (WHERE w <> 0), 0) AS w,
                   count(*) FILTER (WHERE w <> 0) AS nz,
                   count(*) FILTER (WHERE isnan(w)) AS w_nan,
                   count(*) FILTER (WHERE isinf(w)) AS w_inf"""
        else:
            weights = "CAST(count(*) AS DOUBLE) AS w, count(*) AS nz, 0 AS w_nan, 0 AS w_inf"
        return f"""
            CREATE TEMP TABLE g AS
            SELECT k, s, y, count(*) AS n, {weights}, {ok} AS ok
            FROM {source}
            GROUP BY k, s, y
        """

    def summary(self) -> dict[str, Any]:
        """Row count and validation counts over the whole input."""
        row = self.con.sql(
            """
            SELECT coalesce(sum(n) FILTER (WHERE k = 0), 0) AS n,
                   coalesce(sum(n) FILTER (WHERE isnan(s)), 0) AS s_nan,
                   coalesce(sum(n) FILTER (WHERE isinf(s)), 0) AS s_inf,
                   coalesce(sum(n) FILTER (WHERE y IS NULL AND k = 0), 0) AS y_null,
                   coalesce(sum(w_nan) FILTER (WHERE k = 0), 0) AS sample_weight__nan,
                   coalesce(sum(w_inf) FILTER (WHERE k = 0), 0) AS sample_weight__inf,
                   coalesce(sum(nz) FILTER (WHERE k = 0), 0) AS sample_weight__nonzero,
                   coalesce(bool_and(ok), true) AS sums_ok
            FROM g
            """
        ).fetchall()[0]
        names = [
            "n",
            "s_nan",
            "s_inf",
            "y_null",
            "sample_weight__nan",
            "sample_weight__inf",
            "sample_weight__nonzero",
            "sums_ok",
        ]
        return dict(zip(names, row, strict=True))

    def labels(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The distinct labels, their row counts and their weights."""
        table = self.con.sql(
            "SELECT y, sum(n) AS n, sum(w) AS w FROM g WHERE k = 0 GROUP BY y"
        ).to_arrow_table()
        return (
            table.column("y").to_numpy(),
            table.column("n").to_numpy().astype(np.int64),
            table.column("w").to_numpy().astype(np.float64),
        )

    def auc(
        self,
        where: str,
        positive: str,
        params: dict[str, Any] | None = None,
        max_fpr: float | None = None,
    ) -> float:
        """Binary ROC AUC of the groups of ``g`` matching `where`.

        `where` and `positive` (which groups are positives) are SQL conditions on
        ``g``'s columns ``k`` (score column) and ``y`` (label), with named `params`
        (``$name``) for the label values.
        """
        n_pos, n_neg, w_pos, w_neg = self.con.sql(
            f"""
            SELECT coalesce(sum(n) FILTER (WHERE {positive}), 0),
                   coalesce(sum(n) FILTER (WHERE NOT ({positive})), 0),
                   coalesce(sum(w) FILTER (WHERE {positive}), 0),
                   coalesce(sum(w) FILTER (WHERE NOT ({positive})), 0)
            FROM g WHERE {where}
            """,
            params=params,
        ).fetchall()[0]
        if n_pos == 0 or n_neg == 0:
            warnings.warn(
                "Only one class is present in y_true. ROC AUC score is not defined in that case.",
                UndefinedMetricWarning,
                stacklevel=4,
            )
            return float("nan")
        if w_neg <= 0 or w_pos <= 0:
            _warn_no_samples(w_neg, w_pos)
            return float("nan")
        # A sort, not a group-by: g already has one row per (k, score, label); the rows
        # of one score (one per label) are merged into one point while streaming.
        reader = self.con.sql(
            f"""
            SELECT s,
                   CASE WHEN {positive} THEN w ELSE 0 END AS tp,
                   CASE WHEN {positive} THEN 0 ELSE w END AS fp
            FROM g WHERE ({where}) AND nz > 0
            ORDER BY s DESC
            """,
            params=params,
        ).to_arrow_reader(_BATCH_ROWS)
        batches = (
            (b.column("s").to_numpy(), b.column("tp").to_numpy(), b.column("fp").to_numpy())
            for b in reader
        )
        return _streamed_area(_merge_ties(batches), float(w_pos), float(w_neg), max_fpr)


def _warn_no_samples(w_neg: float, w_pos: float) -> None:
    if w_neg <= 0:
        warnings.warn(
            "No negative samples in y_true, false positive value should be meaningless",
            UndefinedMetricWarning,
            stacklevel=5,
        )
    if w_pos <= 0:
        warnings.warn(
            "No positive samples in y_true, true positive value should be meaningless",
            UndefinedMetricWarning,
            stacklevel=5,
        )


def _merge_ties(
    batches: Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]],
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Per-distinct-score (tp, fp) sums of score-sorted batches of (score, tp, fp).

    Equal scores are adjacent; the last score of a batch may continue in the next
    one, so it is held back until the next batch starts with another score.
    """
    held: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
    for s, tp, fp in batches:
        if held is not None:
            s, tp, fp = (np.concatenate((h, x)) for h, x in zip(held, (s, tp, fp), strict=True))
        if s.shape[0] == 0:
            continue
        starts = np.flatnonzero(np.concatenate(([True], s[1:] != s[:-1])))
        tps, fps = np.add.reduceat(tp, starts), np.add.reduceat(fp, starts)
        held = (s[starts[-1:]], tps[-1:], fps[-1:])
        if starts.shape[0] > 1:
            yield tps[:-1], fps[:-1]
    if held is not None:
        yield held[1], held[2]


def _streamed_area(
    curve: Iterator[tuple[np.ndarray, np.ndarray]],
    total_pos: float,
    total_neg: float,
    max_fpr: float | None,
) -> float:
    """Trapezoidal area under the ROC curve given by per-threshold (tp, fp) batches.

    The batches hold, in decreasing score order, the weight of positives and
    negatives at each distinct score; the curve starts at (0, 0). With `max_fpr`,
    the area up to ``fpr = max_fpr`` (scikit-learn's partial AUC, before its McClish
    correction), stopping the stream at the crossing.
    """
    x_last = y_last = tp_last = fp_last = 0.0
    area = 0.0
    for tp, fp in curve:
        # Prepending the running totals keeps scikit-learn's sequential cumsum order.
        tps = np.cumsum(np.concatenate(([tp_last], tp)))
        fps = np.cumsum(np.concatenate(([fp_last], fp)))
        tp_last, fp_last = float(tps[-1]), float(fps[-1])
        x = np.concatenate(([x_last], fps[1:] / total_neg))
        y = np.concatenate(([y_last], tps[1:] / total_pos))
        if max_fpr is not None:
            stop = int(np.searchsorted(x, max_fpr, "right"))
            if stop < x.shape[0]:
                y_max = np.interp(max_fpr, x[stop - 1 : stop + 1], y[stop - 1 : stop + 1])
                x, y = np.append(x[:stop], max_fpr), np.append(y[:stop], y_max)
                return area + float(np.trapezoid(y, x))
        area += float(np.trapezoid(y, x))
        x_last, y_last = float(x[-1]), float(y[-1])
    return area
