"""A row hash that is the same on every run, machine and library version.

Polars' ``Expr.hash`` is documented as stable only within one Polars version, so a
split made with it could change on upgrade. splitmix64 (Steele, Lea & Flood 2014) is a
handful of wrapping UInt64 multiplications, xors and shifts, which Polars evaluates
exactly: the same bits everywhere, in any chunking, streamed.
"""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

__all__ = ["ROW_INDEX", "hash_fraction", "splitmix64", "stable_hash"]

#: Name of the temporary row-index column used when rows are hashed by position.
ROW_INDEX = "__scaleml_row"

_GOLDEN = 0x9E3779B97F4A7C15
_M1 = 0xBF58476D1CE4E5B9
_M2 = 0x94D049BB133111EB


def _u64(value: int) -> pl.Expr:
    return pl.lit(value, dtype=pl.UInt64)


def splitmix64(x: pl.Expr) -> pl.Expr:
    """splitmix64's finaliser of a UInt64 expression (wrapping arithmetic).

    Examples
    --------
    >>> import polars as pl
    >>> pl.select(splitmix64(pl.lit(0, dtype=pl.UInt64))).item()
    16294208416658607535
    """
    x = x + _u64(_GOLDEN)
    # Shifts written as floor divisions: Polars has no shift operator on expressions,
    # and for unsigned integers x // 2**k == x >> k.
    z = (x ^ (x // (1 << 30))) * _u64(_M1)
    z = (z ^ (z // (1 << 27))) * _u64(_M2)
    return z ^ (z // (1 << 31))


def stable_hash(columns: Sequence[str] = (), *, seed: int = 0) -> pl.Expr:
    """A UInt64 hash of integer `columns` (or of the row index when empty).

    Integer and boolean keys are hashed by value; the row index is ``ROW_INDEX``, which
    the caller adds with ``lf.with_row_index(ROW_INDEX)``.
    """
    keys = list(columns) or [ROW_INDEX]
    h = splitmix64(_u64(seed % (1 << 64)))
    for key in keys:
        value = pl.col(key).cast(pl.Int64).cast(pl.UInt64, wrap_numerical=True)
        h = splitmix64(h ^ splitmix64(value))
    return h


def hash_fraction(columns: Sequence[str] = (), *, seed: int = 0) -> pl.Expr:
    """A number in [0, 1) per row, uniform and stable: the top 53 bits of the hash.

    Examples
    --------
    >>> import polars as pl
    >>> lf = pl.LazyFrame({"a": [10, 20, 30]}).with_row_index(ROW_INDEX)
    >>> u = lf.select(hash_fraction(seed=1)).collect().to_series()
    >>> bool(((u >= 0) & (u < 1)).all())
    True
    """
    top = (stable_hash(columns, seed=seed) // (1 << 11)).cast(pl.Float64)
    return top * (1.0 / (1 << 53))
