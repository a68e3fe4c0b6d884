"""Feature hashing: scikit-learn's FeatureHasher, and a columnar HashingEncoder.

Both hash with MurmurHash3 x86_32, seed 0, as scikit-learn does: the column of a
feature is ``abs(h) % n_features`` and, with ``alternate_sign``, its sign is that of
``h``. The hashes come from a numba kernel reading Arrow string buffers directly
(:mod:`scaleml._kernels._murmur`), so they are identical across runs, machines and
versions, and a string column is hashed without creating one Python string.
"""

from __future__ import annotations

from collections.abc import Iterable
from itertools import chain
from numbers import Integral
from typing import Any

import numpy as np
import polars as pl
import scipy.sparse as sp
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils import _align_api_if_sparse
from sklearn.utils._param_validation import Interval, StrOptions

from scaleml._base import ExprTransformer
from scaleml._validation import Data
from scaleml.preprocessing._categories import kind_of

__all__ = ["FeatureHasher", "HashingEncoder", "bucket_and_sign"]

_INT32_MIN = -(2**31)


def bucket_and_sign(hashes: np.ndarray, n_features: int) -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's column index and sign of signed 32-bit hashes.

    ``abs(h) % n_features``, with ``abs(INT32_MIN)`` (which overflows in C) mapped as
    scikit-learn's ``_hashing_fast`` maps it; the sign is +1 for ``h >= 0``.

    Examples
    --------
    >>> bucket_and_sign(np.array([-7, 7, -(2**31)], dtype=np.int32), 4)
    (array([3, 3, 0]), array([-1,  1, -1]))
    """
    h = hashes.astype(np.int64)
    index = np.abs(h) % n_features
    index = np.where(h == _INT32_MIN, (2**31 - 1 - (n_features - 1)) % n_features, index)
    return index, np.where(h >= 0, 1, -1)


def _hash_names(names: list[Any]) -> np.ndarray:
    """Signed MurmurHash3 of feature names (str hashed as UTF-8, bytes as they are)."""
    import pyarrow as pa

    from scaleml._kernels._murmur import hash_arrow

    try:
        # Arrow encodes str to UTF-8 in C; any bytes name sends us the slow way.
        arr = pa.array(names, type=pa.large_string())
    except (pa.ArrowTypeError, pa.ArrowInvalid):
        arr = pa.array(
            [n.encode("utf-8") if isinstance(n, str) else n for n in names], type=pa.large_binary()
        )
    hashes, _ = hash_arrow(arr)
    return hashes


class FeatureHasher(TransformerMixin, BaseEstimator):  # type: ignore[misc]
    """Implement feature hashing, aka the hashing trick.

    The scikit-learn estimator of the same name, with the same output: the hashes of
    all feature names of a call are computed in one numba pass over an Arrow buffer.
    For string *columns* of a table (lazy or not), see :class:`HashingEncoder`.

    Parameters
    ----------
    n_features : int, default=2**20
        Number of output columns.
    input_type : {"dict", "pair", "string"}, default="dict"
        ``dict``: each sample is a mapping feature name -> value (a string value
        ``v`` of feature ``f`` becomes feature ``"f=v"`` with value 1); ``pair``:
        an iterable of ``(name, value)``; ``string``: an iterable of names (value 1).
    dtype : numpy dtype, default=np.float64
    alternate_sign : bool, default=True
        Give each feature the sign of its hash, so collisions tend to cancel.

    Examples
    --------
    >>> from scaleml import FeatureHasher
    >>> h = FeatureHasher(n_features=10)
    >>> h.transform([{"dog": 1, "cat": 2, "elephant": 4}, {"dog": 2, "run": 5}]).toarray()
    array([[ 0.,  0., -4., -1.,  0.,  0.,  0.,  0.,  0.,  2.],
           [ 0.,  0.,  0., -2., -5.,  0.,  0.,  0.,  0.,  0.]])
    """

    _parameter_constraints: dict[str, Any] = {
        "n_features": [Interval(Integral, 1, np.iinfo(np.int32).max, closed="both")],
        "input_type": [StrOptions({"dict", "pair", "string"})],
        "dtype": "no_validation",
        "alternate_sign": ["boolean"],
    }

    def __init__(
        self,
        n_features: int = 2**20,
        *,
        input_type: str = "dict",
        dtype: Any = np.float64,
        alternate_sign: bool = True,
    ) -> None:
        self.n_features = n_features
        self.input_type = input_type
        self.dtype = dtype
        self.alternate_sign = alternate_sign

    def fit(self, X: Any = None, y: Any = None) -> FeatureHasher:
        """Only validate the parameters (hashing is stateless).

        Returns
        -------
        self
        """
        self._validate_params()
        return self

    def transform(self, raw_X: Iterable[Any]) -> Any:
        """Hash a sequence of samples into a sparse matrix.

        Parameters
        ----------
        raw_X : iterable over iterable over raw features, length n_samples

        Returns
        -------
        scipy sparse matrix of shape (n_samples, n_features)
        """
        self._validate_params()
        names, values, indptr = self._flatten(raw_X)
        n_samples = len(indptr) - 1
        if n_samples == 0:
            msg = "Cannot vectorize empty sequence."
            raise ValueError(msg)
        hashes = _hash_names(names) if names else np.zeros(0, dtype=np.int32)
        index, sign = bucket_and_sign(hashes, self.n_features)
        vals = np.asarray(values, dtype=np.float64)
        if self.alternate_sign:
            vals = vals * sign
        indptr_arr = np.asarray(indptr, dtype=np.int64)
        if indptr_arr[-1] <= np.iinfo(np.int32).max:
            indptr_arr = indptr_arr.astype(np.int32)
        index = index.astype(indptr_arr.dtype)
        X = sp.csr_array(
            (vals.astype(self.dtype), index, indptr_arr),
            dtype=self.dtype,
            shape=(n_samples, self.n_features),
        )
        X.sum_duplicates()  # also sorts the indices, as scikit-learn
        return _align_api_if_sparse(X)

    def _flatten(self, raw_X: Iterable[Any]) -> tuple[list[Any], Any, list[int]]:
        """Feature names, values and row pointers, as scikit-learn reads them."""
        samples = iter(raw_X)
        if self.input_type == "string":
            try:
                first = next(samples)
            except StopIteration:
                return [], [], [0]
            if isinstance(first, str):
                msg = (
                    "Samples can not be a single string. The input must be an iterable "
                    "over iterables of strings."
                )
                raise ValueError(msg)
            names: list[Any] = []
            indptr = [0]
            for x in chain([first], samples):
                names.extend(x)
                indptr.append(len(names))
            _check_names(names)
            return names, np.ones(len(names)), indptr
        pairs: Iterable[Any] = (
            (_items(d) for d in samples) if self.input_type == "dict" else samples
        )
        pair_names: list[Any] = []
        values: list[float] = []
        indptr = [0]
        for x in pairs:
            for f, v in x:
                if isinstance(v, str):
                    f = f"{f}={v}"
                    value = 1.0
                else:
                    value = float(v)
                if value == 0:
                    continue
                pair_names.append(f)
                values.append(value)
            indptr.append(len(pair_names))
        _check_names(pair_names)
        return pair_names, values, indptr

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False
        if self.input_type == "string":
            tags.input_tags.string = True
        elif self.input_type == "dict":
            tags.input_tags.dict = True
        tags.requires_fit = False
        return tags


def _items(d: Any) -> Iterable[Any]:
    items: Iterable[Any] = d.items() if hasattr(d, "items") else d
    return items


def _check_names(names: list[Any]) -> None:
    if not all(issubclass(t, (str, bytes)) for t in set(map(type, names))):
        msg = "feature names must be strings"
        raise TypeError(msg)


def _hash_series(s: pl.Series) -> pl.Series:
    """Signed MurmurHash3 of each value of a string Series (null stays null)."""
    from scaleml._kernels._murmur import hash_arrow

    hashes, valid = hash_arrow(s.cast(pl.String).to_arrow())
    out = pl.Series(s.name, hashes, dtype=pl.Int32)
    if valid is not None:
        out = pl.select(pl.when(pl.Series(valid)).then(out)).to_series().alias(s.name)
    return out


class HashingEncoder(ExprTransformer):
    """Encode high-cardinality categorical columns into a few hashed indicator columns.

    Each value ``v`` of a column ``c`` sets one of the `n_components` output columns
    ``c_hash0 .. c_hash{n-1}`` to 1 (or to the sign of its hash with
    ``alternate_sign``): the same column and sign as scikit-learn's
    ``FeatureHasher(n_components, input_type="string")`` gives for ``[[v]]``. A null
    sets none. Values of non-string columns are hashed as their string form.

    Nothing is learned, so ``fit`` costs no pass over the data; ``transform`` of a lazy
    input is a streamable Polars query: the hashes come from a numba MurmurHash3 kernel
    over each batch's Arrow string buffers (``map_batches``, elementwise).

    Parameters
    ----------
    n_components : int, default=8
        Output columns per encoded column.
    alternate_sign : bool, default=False
        Use the sign of the hash instead of 1.
    dtype : {np.float64, np.float32}, default=np.float64
    columns : str, list of str or polars selector, default=None
        Columns to encode; the others pass through. None means every feature column.

    Attributes
    ----------
    n_features_in_ : int
    feature_names_in_ : ndarray of shape (n_features_in_,)

    Examples
    --------
    >>> import polars as pl
    >>> from scaleml import HashingEncoder
    >>> df = pl.DataFrame({"city": ["Paris", "Oslo", None], "x": [1.0, 2.0, 3.0]})
    >>> enc = HashingEncoder(n_components=4, columns="city").fit(df)
    >>> list(enc.get_feature_names_out())
    ['city_hash0', 'city_hash1', 'city_hash2', 'city_hash3', 'x']
    >>> enc.transform(df)[:, :4]
    array([[0., 0., 1., 0.],
           [0., 1., 0., 0.],
           [0., 0., 0., 0.]])
    """

    _numeric = False
    _allow_nan = True

    _parameter_constraints: dict[str, list[Any]] = {
        "n_components": [Interval(Integral, 1, 2**16, closed="both")],
        "alternate_sign": ["boolean"],
        "dtype": [type],
        "columns": [None, str, list, tuple, pl.Expr],
    }

    def __init__(
        self,
        n_components: int = 8,
        *,
        alternate_sign: bool = False,
        dtype: Any = np.float64,
        columns: Any = None,
    ) -> None:
        self.n_components = n_components
        self.alternate_sign = alternate_sign
        self.dtype = dtype
        self.columns = columns

    def _check_fit_columns(self, columns: list[str]) -> None:
        for c in columns:
            if kind_of(self._schema_in[c]) is None:
                msg = (
                    f"HashingEncoder hashes string, categorical, integer, float and boolean "
                    f"columns; column {c!r} has dtype {self._schema_in[c]}."
                )
                raise TypeError(msg)

    def _init_state(self) -> int:
        return 0

    def _update_state(self, state: int, chunk: pl.LazyFrame) -> int:
        # Stateless: no pass over the data; only the schema was read.
        return state

    def _merge_states(self, a: int, b: int) -> int:
        return a + b

    def _finalize_state(self, state: int) -> None:
        self.n_components_ = int(self.n_components)

    def _out_dtype(self) -> pl.DataType:
        return pl.Float32() if self.dtype is np.float32 else pl.Float64()

    def _hash_expr(self, c: str) -> pl.Expr:
        key = pl.col(c)
        if self._schema_in[c] != pl.String:
            key = key.cast(pl.String)
        return key.map_batches(_hash_series, return_dtype=pl.Int32, is_elementwise=True)

    def _indicators(self, c: str, h: pl.Expr) -> list[pl.Expr]:
        n = self.n_components
        hh = h.cast(pl.Int64)
        bucket = pl.when(hh == _INT32_MIN).then((2**31 - 1 - (n - 1)) % n).otherwise(hh.abs() % n)
        value = pl.when(hh >= 0).then(1.0).otherwise(-1.0) if self.alternate_sign else pl.lit(1.0)
        out = self._out_dtype()
        return [
            pl.when(bucket == i)
            .then(value)
            .otherwise(0.0)
            .fill_null(0.0)
            .cast(out)
            .alias(f"{c}_hash{i}")
            for i in range(n)
        ]

    def _output_exprs(self) -> dict[str, list[pl.Expr]]:
        return {c: self._indicators(c, self._hash_expr(c)) for c in self._fit_columns}

    def _transform_lf(self, data: Data) -> pl.LazyFrame:
        # Hash once per column into a temporary column, then derive the indicators:
        # the expressions of _output_exprs would call the kernel once per indicator.
        temp = {c: f"__scaleml_hash{j}" for j, c in enumerate(self._fit_columns)}
        lf = data.lf.with_columns(self._hash_expr(c).alias(t) for c, t in temp.items())
        mapping = {c: self._indicators(c, pl.col(temp[c])) for c in self._fit_columns}
        exprs: list[pl.Expr] = []
        for col in data.columns:
            exprs.extend(mapping.get(col, [pl.col(col)]))
        if data.y_column and data.y_column in data.lf.collect_schema().names():
            exprs.append(pl.col(data.y_column))
        return lf.select(exprs)

    def _output_names(self, rename: dict[str, str]) -> dict[str, list[str]]:
        return {
            c: [f"{rename[c]}_hash{i}" for i in range(self.n_components)] for c in self._fit_columns
        }

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = []
        return tags
