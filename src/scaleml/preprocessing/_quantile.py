"""Column quantiles out-of-core: exact through the engine while the data is small
enough, a mergeable :class:`~scaleml.preprocessing.QuantileSketch` beyond.

The fit state of the quantile-based transformers (RobustScaler, QuantileTransformer,
KBinsDiscretizer) is a :class:`QuantileState`. While the rows seen stay within a limit
(the estimators' ``subsample``; None means no limit), the state holds the chunks
themselves as lazy frames, so nothing is read twice or copied, and the quantiles are
computed at the end by the engine in one query over all columns: Polars'
``quantile(q, "linear")``,
or for NumPy's other methods the exact order statistics NumPy would interpolate
(``sort().gather``), so the results equal scikit-learn's ``np.nanpercentile`` to the
last bits. Past the limit, the chunks are streamed once into one KLL sketch per column
(memory ``O(k)`` per column) and the quantiles come with the sketch's rank-error bound.
Merging two states is associative in both modes.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import polars as pl
from numpy.lib import _function_base_impl
from sklearn.utils.validation import check_is_fitted

from scaleml._base import ExprTransformer
from scaleml.io import iter_batches
from scaleml.preprocessing._sketch import QuantileSketch, k_for_subsample

__all__ = ["ColumnSummary", "QuantileState", "QuantileTransformerBase", "exact_order_statistics"]

#: NumPy's private quantile machinery, followed step by step for bit-equal results.
_npq: Any = _function_base_impl

#: NumPy quantile methods the Polars engine computes itself (NumPy name -> Polars name).
_ENGINE_METHODS = {"linear": "linear"}
#: Rows of a chunk kept as a lazy frame; the exact limit when ``subsample=None``.
_NO_LIMIT = None


@dataclass
class ColumnSummary:
    """Per-column count of non-missing values, missing values, infinity flag, extremes."""

    count: np.ndarray
    missing: np.ndarray
    has_inf: np.ndarray
    min: np.ndarray
    max: np.ndarray


@dataclass
class QuantileState:
    """The mergeable fit state: the chunks (exact mode) or one sketch per column.

    Attributes
    ----------
    columns : the columns whose quantiles are wanted.
    limit : rows up to which quantiles stay exact (None: always exact).
    k, seed : parameters of the sketches (sketch mode).
    rows : rows seen, missing values included.
    frames : the chunks seen, lazily (exact mode), or None once sketched.
    sketches : one sketch per column (sketch mode).
    missing, has_inf : missing-value count and infinity flag per column, gathered while
        streaming (sketch mode; exact mode gets them from the final query).

    In exact mode the state references the chunks (at most ``limit`` rows), so that a
    later ``partial_fit`` stays exact; pickling turns them into sketches, so a pickled
    model holds ``O(k)`` values per column, never data.
    """

    columns: list[str]
    limit: int | None
    k: int
    seed: int = 0
    rows: int = 0
    frames: list[pl.LazyFrame] | None = field(default_factory=list)
    sketches: list[QuantileSketch] | None = None
    missing: np.ndarray | None = None
    has_inf: np.ndarray | None = None

    @property
    def exact(self) -> bool:
        return self.sketches is None

    def update(self, chunk: pl.LazyFrame) -> QuantileState:
        """The state with `chunk` (a LazyFrame holding at least ``columns``) added."""
        lf = chunk.select(self.columns)
        n = int(lf.select(pl.len()).collect().item())
        if self.exact and (self.limit is None or self.rows + n <= self.limit):
            return replace(self, rows=self.rows + n, frames=[*(self.frames or []), lf])
        state = self.to_sketches()
        return state._stream(lf, n)

    def merge(self, other: QuantileState) -> QuantileState:
        """Both states together; exact while the rows stay within the limit."""
        if self.exact and other.exact:
            rows = self.rows + other.rows
            if self.limit is None or rows <= self.limit:
                return replace(
                    self, rows=rows, frames=[*(self.frames or []), *(other.frames or [])]
                )
        a, b = self.to_sketches(), other.to_sketches()
        assert a.sketches is not None and b.sketches is not None
        return replace(
            a,
            rows=a.rows + b.rows,
            sketches=[x.merge(y) for x, y in zip(a.sketches, b.sketches, strict=True)],
            missing=_add(a.missing, b.missing),
            has_inf=_or(a.has_inf, b.has_inf),
        )

    def to_sketches(self) -> QuantileState:
        """The same data as one sketch per column (streams the held chunks once)."""
        if not self.exact:
            return self
        k = len(self.columns)
        state = replace(
            self,
            rows=0,
            frames=None,
            sketches=[QuantileSketch(self.k, seed=self.seed) for _ in range(k)],
            missing=np.zeros(k, dtype=np.int64),
            has_inf=np.zeros(k, dtype=bool),
        )
        for lf in self.frames or []:
            state = state._stream(lf, None)
        return replace(state, rows=self.rows)

    def _stream(self, lf: pl.LazyFrame, n: int | None) -> QuantileState:
        assert self.sketches is not None
        sketches = [QuantileSketch(self.k, seed=self.seed) for _ in self.columns]
        missing = np.zeros(len(self.columns), dtype=np.int64)
        has_inf = np.zeros(len(self.columns), dtype=bool)
        workers = min(len(self.columns), os.cpu_count() or 1)
        with ThreadPoolExecutor(max_workers=workers) as pool:
            for block in iter_batches(lf, self.columns, order="F"):
                missing += np.isnan(block).sum(axis=0)
                has_inf |= np.isinf(block).any(axis=0)
                # np.sort releases the GIL: columns are sketched in parallel threads.
                list(pool.map(QuantileSketch.update, sketches, block.T))
        return replace(
            self,
            rows=self.rows + (n or 0),
            sketches=[a.merge(b) for a, b in zip(self.sketches, sketches, strict=True)],
            missing=_add(self.missing, missing),
            has_inf=_or(self.has_inf, has_inf),
        )

    # -- queries ----------------------------------------------------------------------
    def _frame(self) -> pl.LazyFrame:
        frames = self.frames or []
        if not frames:
            return pl.LazyFrame({c: pl.Series(c, [], dtype=pl.Float64) for c in self.columns})
        return frames[0] if len(frames) == 1 else pl.concat(frames, how="vertical_relaxed")

    def summary_and_quantiles(
        self,
        quantiles: Sequence[np.ndarray] | None,
        method: str = "linear",
        *,
        engine: bool = True,
    ) -> tuple[ColumnSummary, list[np.ndarray]]:
        """Column summary and, per column, the quantiles ``quantiles[j]`` (in [0, 1]).

        Exact mode runs one engine query (two for NumPy methods the engine lacks, or
        with ``engine=False``: NumPy's own interpolation of the engine's order
        statistics, bit-equal to NumPy where an ulp matters, e.g. for bin edges that
        data points may sit on); sketch mode answers from the sketches, with
        ``method`` approximated by NumPy's linear definition (less than one rank off).
        """
        if self.exact:
            return _exact(self._frame(), self.columns, quantiles, method, engine)
        assert self.sketches is not None and self.missing is not None
        sks = self.sketches
        summary = ColumnSummary(
            count=np.array([s.n for s in sks], dtype=np.int64),
            missing=self.missing.copy(),
            has_inf=self.has_inf.copy() if self.has_inf is not None else np.zeros(len(sks), bool),
            min=np.array([s.min for s in sks]),
            max=np.array([s.max for s in sks]),
        )
        out = []
        for j, s in enumerate(sks):
            qs = np.asarray(quantiles[j]) if quantiles is not None else np.zeros(0)
            out.append(np.asarray(s.quantile(qs)) if s.n and qs.size else np.full(qs.size, np.nan))
        return summary, out

    def weighted_values(self, j: int) -> tuple[np.ndarray, np.ndarray]:
        """Column ``j``'s non-missing values with weights: all values (exact mode) or
        the sketch's weighted summary."""
        if not self.exact:
            assert self.sketches is not None
            values, weights = self.sketches[j].weighted_items()
            return values, weights.astype(np.float64)
        col = pl.col(self.columns[j]).cast(pl.Float64).fill_nan(None).drop_nulls()
        values = self._frame().select(col).collect()[self.columns[j]].to_numpy()
        return values, np.ones(len(values))

    def __getstate__(self) -> dict[str, Any]:
        # A pickle holds sketches, never the chunks (data, or a DuckDB relation that
        # would not pickle): the fitted attributes are already computed, and a
        # partial_fit after unpickling continues within the sketch's error bound.
        return dict(self.to_sketches().__dict__) if self.frames else dict(self.__dict__)


def _add(a: np.ndarray | None, b: np.ndarray | None) -> np.ndarray | None:
    return b if a is None else (a if b is None else a + b)


def _or(a: np.ndarray | None, b: np.ndarray | None) -> np.ndarray | None:
    return b if a is None else (a if b is None else a | b)


def _exact(
    lf: pl.LazyFrame,
    columns: list[str],
    quantiles: Sequence[np.ndarray] | None,
    method: str,
    use_engine: bool,
) -> tuple[ColumnSummary, list[np.ndarray]]:
    engine = use_engine and method in _ENGINE_METHODS
    exprs: list[pl.Expr] = []
    for i, c in enumerate(columns):
        x = pl.col(c).cast(pl.Float64)
        xf = x.fill_nan(None)
        exprs += [
            xf.count().alias(f"n{i}"),
            (x.null_count() + x.is_nan().sum()).alias(f"miss{i}"),
            x.is_infinite().any().alias(f"inf{i}"),
            xf.min().alias(f"min{i}"),
            xf.max().alias(f"max{i}"),
        ]
        if engine and quantiles is not None and len(quantiles[i]):
            qs = [float(q) for q in quantiles[i]]
            engine_method: Any = _ENGINE_METHODS[method]
            exprs.append(xf.quantile(qs, engine_method).alias(f"q{i}"))
    row = lf.select(exprs).collect(engine="streaming").row(0, named=True)
    k = len(columns)
    summary = ColumnSummary(
        count=np.array([row[f"n{i}"] for i in range(k)], dtype=np.int64),
        missing=np.array([row[f"miss{i}"] or 0 for i in range(k)], dtype=np.int64),
        has_inf=np.array([bool(row[f"inf{i}"]) for i in range(k)]),
        min=np.array([_num(row[f"min{i}"]) for i in range(k)]),
        max=np.array([_num(row[f"max{i}"]) for i in range(k)]),
    )
    if quantiles is None:
        return summary, [np.zeros(0) for _ in columns]
    if engine:
        out = []
        for i in range(k):
            got = row.get(f"q{i}")
            vals = [np.nan] * len(quantiles[i]) if got is None else got
            out.append(np.array([_num(v) for v in vals], dtype=np.float64))
        return summary, out
    return summary, exact_order_statistics(lf, columns, summary.count, quantiles, method)


def _num(v: Any) -> float:
    return np.nan if v is None else float(v)


def exact_order_statistics(
    lf: pl.LazyFrame,
    columns: Sequence[str],
    counts: np.ndarray,
    quantiles: Sequence[np.ndarray],
    method: str,
) -> list[np.ndarray]:
    """NumPy's ``nanquantile(x, q, method=method)`` of each column, computed from the
    few order statistics NumPy interpolates, gathered by the engine in one query.

    Follows ``numpy.lib._function_base_impl._quantile`` (virtual index, neighbouring
    indexes, gamma, symmetric lerp), so the results are NumPy's bit for bit.
    """
    plans = [
        _plan(int(n), np.asarray(q, dtype=np.float64), method)
        for n, q in zip(counts, quantiles, strict=True)
    ]
    exprs = []
    for i, (c, plan) in enumerate(zip(columns, plans, strict=True)):
        idx = (
            np.unique(np.concatenate([plan[0], plan[1]]))
            if plan is not None
            else np.zeros(0, np.int64)
        )
        x = pl.col(c).cast(pl.Float64).fill_nan(None).drop_nulls().sort()
        exprs.append(x.gather(pl.Series(idx, dtype=pl.Int64)).implode().alias(f"g{i}"))
    row = lf.select(exprs).collect().row(0, named=True)
    out = []
    for i, plan in enumerate(plans):
        if plan is None:
            out.append(np.full(len(quantiles[i]), np.nan))
            continue
        prev, nxt, gamma = plan
        idx = np.unique(np.concatenate([prev, nxt]))
        values = np.asarray(row[f"g{i}"], dtype=np.float64)
        lookup = dict(zip(idx.tolist(), values.tolist(), strict=True))
        a = np.array([lookup[j] for j in prev.tolist()], dtype=np.float64)
        if gamma is None:
            out.append(a)
            continue
        b = np.array([lookup[j] for j in nxt.tolist()], dtype=np.float64)
        # An infinite order statistic gives NaN here, as in NumPy; callers reject
        # infinite columns from the summary.
        with np.errstate(invalid="ignore"):
            out.append(np.asarray(_npq._lerp(a, b, gamma), dtype=np.float64))
    return out


def _plan(n: int, q: np.ndarray, method: str) -> tuple[np.ndarray, np.ndarray, Any] | None:
    """(previous, next, gamma) order-statistic indexes of NumPy's quantile method, or
    None for an empty column (whose quantiles are NaN, as in ``np.nanpercentile``)."""
    if n == 0 or not q.size:
        return None if n == 0 else (np.zeros(0, np.int64), np.zeros(0, np.int64), None)
    props = _npq._QuantileMethods[method]
    virtual = np.asanyarray(props["get_virtual_index"](n, q))
    if props["fix_gamma"] is None:
        idx = virtual.astype(np.int64) % n
        return idx, idx, None
    prev, nxt = _npq._get_indexes(np.empty(0, dtype=np.float64), virtual, n)
    gamma = np.asanyarray(_npq._get_gamma(virtual, prev, props))
    return prev.astype(np.int64) % n, nxt.astype(np.int64) % n, gamma


class QuantileTransformerBase(ExprTransformer):
    """An ExprTransformer fitted from a :class:`QuantileState` of its columns.

    Subclasses give ``_exact_limit()`` (rows up to which quantiles are exact) and
    ``_seed()``; ``fit`` drops the held chunks once the model is computed.
    """

    _allow_nan = True

    def _exact_limit(self) -> int | None:
        return getattr(self, "subsample", None)

    def _seed(self) -> int:
        rs = getattr(self, "random_state", None)
        if rs is None or isinstance(rs, str):
            return 0
        if isinstance(rs, (int, np.integer)):
            return int(rs)
        return int(np.random.RandomState(rs.randint(2**31)).randint(2**31))

    def _init_state(self) -> QuantileState:
        limit = self._exact_limit()
        k = k_for_subsample(limit) if limit is not None else 200
        return QuantileState(list(self._fit_columns), limit, k, self._seed())

    def _update_state(self, state: QuantileState, chunk: pl.LazyFrame) -> QuantileState:
        return state.update(chunk)

    def _merge_states(self, a: QuantileState, b: QuantileState) -> QuantileState:
        return a.merge(b)

    def _check_summary(self, summary: ColumnSummary, *, allow_nan: bool = True) -> None:
        if summary.has_inf.any():
            bad = [c for c, f in zip(self._fit_columns, summary.has_inf, strict=True) if f]
            msg = (
                f"Input X contains infinity in column(s) {bad}; {type(self).__name__} "
                "accepts finite values" + (" and NaN/null only." if allow_nan else " only.")
            )
            raise ValueError(msg)
        if not allow_nan and summary.missing.any():
            bad = [c for c, m in zip(self._fit_columns, summary.missing, strict=True) if m]
            msg = (
                f"Input X contains NaN or null in column(s) {bad}, which "
                f"{type(self).__name__} does not accept. Hint: impute missing values "
                "first (scaleml.SimpleImputer) or drop those rows."
            )
            raise ValueError(msg)

    def _check_fitted(self) -> None:
        check_is_fitted(self, "_state")
