"""Lazy, reproducible splits: rows are assigned by a stable hash, never shuffled."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from numbers import Integral, Real
from typing import Any

import numpy as np
import polars as pl

from scaleml._hash import ROW_INDEX, hash_fraction
from scaleml._validation import is_eager
from scaleml.io import scan

__all__ = ["HashKFold", "HashStratifiedKFold", "fold_expr", "train_test_split"]


def _keys(key: str | Sequence[str] | None) -> list[str]:
    if key is None:
        return []
    return [key] if isinstance(key, str) else list(key)


def _check_keys(lf: pl.LazyFrame, keys: list[str]) -> None:
    schema = lf.collect_schema()
    for k in keys:
        if k not in schema:
            msg = f"key={k!r} is not a column of the data; columns are {schema.names()}."
            raise ValueError(msg)
        dtype = schema[k]
        if not (dtype.is_integer() or dtype.is_temporal() or dtype == pl.Boolean):
            msg = (
                f"key column {k!r} has dtype {dtype}; hash keys must be integer, boolean, "
                "date or datetime columns. Hint: map string ids to integers first, or split "
                "by row position with key=None."
            )
            raise TypeError(msg)


def _with_fraction(lf: pl.LazyFrame, keys: list[str], seed: int, name: str) -> pl.LazyFrame:
    if keys:
        _check_keys(lf, keys)
        return lf.with_columns(hash_fraction(keys, seed=seed).alias(name))
    return (
        lf.with_row_index(ROW_INDEX)
        .with_columns(hash_fraction(seed=seed).alias(name))
        .drop(ROW_INDEX)
    )


def train_test_split(
    data: Any,
    *,
    test_size: float | None = None,
    train_size: float | None = None,
    seed: int = 0,
    key: str | Sequence[str] | None = None,
) -> tuple[pl.LazyFrame, pl.LazyFrame]:
    """Split `data` lazily into train and test LazyFrames by a stable row hash.

    A row goes to the test set when the hash of its `key` columns (or of its position
    in the data, when `key` is None) falls below `test_size`. Nothing is read: both
    parts are queries over the source, identical on every run and machine. The test
    fraction is exact in expectation (binomial noise, about ``sqrt(n)`` rows).

    Parameters
    ----------
    data : any input of :func:`scaleml.scan`
    test_size : float in (0, 1), default 0.25
        Expected fraction of rows in the test set.
    train_size : float in (0, 1), optional
        Complement of `test_size`; give one of them.
    seed : int, default 0
        Different seeds give independent splits.
    key : str or list of str, optional
        Integer/date columns whose hash decides the split, so that all rows of one
        entity (a user, a day) land on the same side. Default: the row position, which
        requires the source to have a stable order (files are read in sorted order).

    Returns
    -------
    train, test : polars.LazyFrame

    Examples
    --------
    >>> import polars as pl
    >>> from scaleml.model_selection import train_test_split
    >>> lf = pl.LazyFrame({"x": range(1000)})
    >>> train, test = train_test_split(lf, test_size=0.2, seed=0)
    >>> n_test = test.select(pl.len()).collect().item()
    >>> 150 < n_test < 250, train.select(pl.len()).collect().item() + n_test
    (True, 1000)
    """
    fraction = _test_fraction(test_size, train_size)
    lf = scan(data)
    name = "__scaleml_u"
    hashed = _with_fraction(lf, _keys(key), seed, name)
    test = hashed.filter(pl.col(name) < fraction).drop(name)
    train = hashed.filter(pl.col(name) >= fraction).drop(name)
    return train, test


def _test_fraction(test_size: float | None, train_size: float | None) -> float:
    if test_size is not None and train_size is not None and abs(test_size + train_size - 1) > 1e-12:
        msg = f"test_size + train_size must be 1; got {test_size} + {train_size}."
        raise ValueError(msg)
    size = (
        test_size if test_size is not None else (1 - train_size if train_size is not None else 0.25)
    )
    if not isinstance(size, Real) or not 0 < size < 1:
        msg = f"test_size must be a fraction in (0, 1); got {size!r}."
        raise ValueError(msg)
    return float(size)


def fold_expr(n_splits: int, *, seed: int = 0, key: str | Sequence[str] | None = None) -> pl.Expr:
    """The fold (0 .. n_splits-1) of each row as an expression.

    With ``key=None`` it reads the row index column ``scaleml._hash.ROW_INDEX``, which
    the caller adds with ``with_row_index``.
    """
    u = hash_fraction(_keys(key), seed=seed)
    return (u * n_splits).floor().cast(pl.UInt32)


class HashKFold:
    """K folds assigned by a stable row hash: lazy, reproducible, any data size.

    Like scikit-learn's ``KFold(shuffle=True)``, except that the assignment is a hash
    of the row (or of `key` columns), so folds are identical across runs and machines
    and need no pass over the data. Fold sizes are equal in expectation.

    ``split(X)`` yields ``(train, test)`` LazyFrames for lazy `X`, and index arrays for
    in-memory `X`, so the splitter also works as ``cv=`` of scikit-learn's tools.

    Parameters
    ----------
    n_splits : int, default 5
    seed : int, default 0
    key : str or list of str, optional
        Integer/date columns hashed instead of the row position (group-aware folds).

    Examples
    --------
    >>> import numpy as np
    >>> from scaleml.model_selection import HashKFold
    >>> folds = list(HashKFold(n_splits=3).split(np.zeros((9, 2))))
    >>> sorted(np.concatenate([test for _, test in folds]).tolist()) == list(range(9))
    True
    """

    def __init__(
        self, n_splits: int = 5, *, seed: int = 0, key: str | Sequence[str] | None = None
    ) -> None:
        self.n_splits = n_splits
        self.seed = seed
        self.key = key

    def get_n_splits(self, X: Any = None, y: Any = None, groups: Any = None) -> int:
        """Number of folds."""
        return self.n_splits

    def _check(self) -> None:
        if not isinstance(self.n_splits, Integral) or self.n_splits < 2:
            msg = f"n_splits must be an integer >= 2; got {self.n_splits!r}."
            raise ValueError(msg)

    def _folds(self, lf: pl.LazyFrame, y: Any = None) -> pl.Expr:
        return fold_expr(self.n_splits, seed=self.seed, key=self.key)

    def _eager_folds(self, u: np.ndarray, y: Any) -> np.ndarray:
        """Folds of in-memory rows from their hash fractions `u`."""
        folds: np.ndarray = np.floor(u * self.n_splits).astype(np.int64)
        return folds

    def split(self, X: Any, y: Any = None, groups: Any = None) -> Iterator[tuple[Any, Any]]:
        """Yield ``(train, test)``: LazyFrames for lazy `X`, index arrays otherwise."""
        self._check()
        eager = is_eager(X)
        lf = scan(X if not isinstance(X, list) else np.asarray(X))
        keys = _keys(self.key)
        if keys:
            _check_keys(lf, keys)
        name = "__scaleml_fold"
        with_index = lf.with_row_index(ROW_INDEX)
        folded = with_index.with_columns(self._folds(with_index, y).alias(name))
        if eager:
            u = with_index.select(hash_fraction(keys, seed=self.seed)).collect().to_series()
            fold = self._eager_folds(u.to_numpy(), y)
            for k in range(self.n_splits):
                yield np.flatnonzero(fold != k), np.flatnonzero(fold == k)
            return
        for k in range(self.n_splits):
            yield (
                folded.filter(pl.col(name) != k).drop(name, ROW_INDEX),
                folded.filter(pl.col(name) == k).drop(name, ROW_INDEX),
            )

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(n_splits={self.n_splits}, seed={self.seed}, key={self.key!r})"
        )


class HashStratifiedKFold(HashKFold):
    """K folds by a stable hash, stratified by class.

    In-memory data is stratified exactly, as scikit-learn's ``StratifiedKFold``: the
    rows of each class, ordered by their hash, are dealt round-robin to the folds.
    Out-of-core, that rank of a row among its class would cost a pass over the data;
    lazy folds are instead stratified in expectation: each row's fold is independent
    and uniform, so class proportions per fold match the data's up to binomial noise
    (relative error about ``sqrt(n_splits / n_class)``, under 1 % for classes of 10^5
    rows).

    ``y`` is an array for in-memory data, or the label column's name for lazy data.

    Examples
    --------
    >>> import numpy as np
    >>> from scaleml.model_selection import HashStratifiedKFold
    >>> y = np.array([0, 1] * 50)
    >>> folds = list(HashStratifiedKFold(n_splits=2).split(np.zeros((100, 1)), y))
    >>> len(folds)
    2
    """

    def _eager_folds(self, u: np.ndarray, y: Any) -> np.ndarray:
        y = np.asarray(y)
        if y.shape[0] != u.shape[0]:
            msg = f"y has {y.shape[0]} rows but X has {u.shape[0]}."
            raise ValueError(msg)
        # Rows ordered by class, then by hash; each class is dealt round-robin.
        order = np.lexsort((u, y))
        _, starts, counts = np.unique(y[order], return_index=True, return_counts=True)
        rank_in_class = np.arange(len(order)) - np.repeat(starts, counts)
        folds = np.empty(len(order), dtype=np.int64)
        folds[order] = rank_in_class % self.n_splits
        return folds

    def split(self, X: Any, y: Any = None, groups: Any = None) -> Iterator[tuple[Any, Any]]:
        """Yield ``(train, test)``: LazyFrames for lazy `X`, index arrays otherwise."""
        if y is None:
            msg = "HashStratifiedKFold.split needs y (an array, or the label column's name)."
            raise ValueError(msg)
        return super().split(X, y, groups)
