"""Mergeable per-column statistics computed by the engine in one query."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import polars as pl

__all__ = ["ColumnStats", "column_stats"]


@dataclass
class ColumnStats:
    """Per-column count of non-missing values, rows, mean, M2, min, max, max |x|.

    ``merge`` is associative and ``ColumnStats.empty(k)`` is its identity, so a fit
    over any split of the data gives the same state (up to float rounding).
    """

    rows: int
    count: np.ndarray
    mean: np.ndarray
    m2: np.ndarray
    min: np.ndarray
    max: np.ndarray
    has_inf: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))

    @classmethod
    def empty(cls, n: int) -> ColumnStats:
        return cls(
            rows=0,
            count=np.zeros(n, dtype=np.int64),
            mean=np.zeros(n),
            m2=np.zeros(n),
            min=np.full(n, np.inf),
            max=np.full(n, -np.inf),
            has_inf=np.zeros(n, dtype=bool),
        )

    @property
    def var(self) -> np.ndarray:
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(self.count > 0, self.m2 / np.maximum(self.count, 1), np.nan)

    def merge(self, other: ColumnStats) -> ColumnStats:
        """Combine two states with Chan, Golub & LeVeque's pairwise update."""
        n = self.count + other.count
        safe_n = np.maximum(n, 1)
        delta = other.mean - self.mean
        # Weighting the delta by the other side's share keeps the update stable when
        # one side is much larger (Chan et al. 1983, eq. 2.1b).
        mean = np.where(n > 0, self.mean + delta * (other.count / safe_n), 0.0)
        m2 = self.m2 + other.m2 + delta**2 * (self.count * other.count / safe_n)
        return ColumnStats(
            rows=self.rows + other.rows,
            count=n,
            mean=mean,
            m2=np.where(n > 0, m2, 0.0),
            min=np.fmin(self.min, other.min),
            max=np.fmax(self.max, other.max),
            has_inf=self.has_inf | other.has_inf,
        )


def column_stats(
    lf: pl.LazyFrame, columns: Sequence[str], *, moments: bool = True, extrema: bool = False
) -> ColumnStats:
    """The statistics of `columns` an estimator needs, in one streaming engine query.

    NaN and null are both missing: they are left out of every statistic, as
    scikit-learn's scalers do. Infinities are detected without an extra aggregation:
    once NaN is removed, only an infinity (or an overflow, which scikit-learn refuses
    too) makes a mean, minimum or maximum non-finite.
    """
    exprs: list[pl.Expr] = [pl.len().alias("__rows")]
    for i, c in enumerate(columns):
        x = pl.col(c).cast(pl.Float64).fill_nan(None)
        exprs.append(x.count().alias(f"n{i}"))
        if moments:
            exprs += [x.mean().alias(f"mean{i}"), x.var(ddof=0).alias(f"var{i}")]
        if extrema:
            exprs += [x.min().alias(f"min{i}"), x.max().alias(f"max{i}")]
    row = lf.select(exprs).collect(engine="streaming").row(0, named=True)
    k = len(columns)

    def vec(prefix: str, fill: float) -> np.ndarray:
        if f"{prefix}0" not in row:
            return np.full(k, fill)
        return np.array([_or(row[f"{prefix}{i}"], fill) for i in range(k)], dtype=np.float64)

    count = np.array([row[f"n{i}"] for i in range(k)], dtype=np.int64)
    mean, var = vec("mean", 0.0), vec("var", 0.0)
    lo, hi = vec("min", np.inf), vec("max", -np.inf)
    has_inf = (count > 0) & (~np.isfinite(mean) | ~np.isfinite(var))
    if extrema:
        has_inf |= (count > 0) & (np.isinf(lo) | np.isinf(hi))
    return ColumnStats(
        rows=int(row["__rows"]),
        count=count,
        mean=np.where(np.isfinite(mean), mean, 0.0),
        m2=np.where(np.isfinite(var), var, 0.0) * count,
        min=lo,
        max=hi,
        has_inf=has_inf,
    )


def _or(value: float | None, fill: float) -> float:
    return fill if value is None else value
