"""Categorical encoders: OneHotEncoder and OrdinalEncoder.

Fit is one streaming ``group_by`` per encoded column (value counts, merged across
chunks by summing); categories, infrequent groups and dropped categories then follow
scikit-learn's rules exactly. Transform is Polars expressions.
"""

from __future__ import annotations

from numbers import Integral
from typing import Any

import numpy as np
import polars as pl
from scipy import sparse
from sklearn.utils._param_validation import Interval, RealNotInt, StrOptions
from sklearn.utils._set_output import _get_output_config
from sklearn.utils.validation import check_array

from scaleml._validation import Data
from scaleml.preprocessing._categories import code_expr, is_missing, member_expr
from scaleml.preprocessing._encoder_base import (
    BaseEncoder,
    Keys,
    align_sparse,
    is_nan,
    polars_dtype,
)

__all__ = ["OneHotEncoder", "OrdinalEncoder"]


class OneHotEncoder(BaseEncoder):
    """Encode categorical features as a one-hot numeric array.

    The scikit-learn estimator of the same name, fitted out-of-core: the categories
    and their counts come from one streaming Polars ``group_by`` per column (merged
    across chunks by summing counts), so memory is O(cardinality), never O(rows).
    Transform is Polars expressions: a lazy input gives a LazyFrame of dense 0/1
    columns named as :meth:`get_feature_names_out`; in-memory input gives what
    scikit-learn gives (a SciPy CSR matrix when ``sparse_output=True``).

    String, categorical/enum, integer, float and boolean columns are supported.
    A missing value (null or NaN) is a category of its own, last, as in
    scikit-learn; it is spelled as scikit-learn spells it for the input (``nan``
    for numbers and pandas string columns, ``None`` for Polars/Arrow strings).

    Parameters
    ----------
    categories : 'auto' or a list of array-like, default='auto'
        Categories per encoded column: 'auto' finds them in the training data;
        ``categories[i]`` lists those of the i-th encoded column (numbers sorted, a
        missing value last).
    drop : {'first', 'if_binary'} or array-like of shape (n_columns,), default=None
        Category to drop per column (after grouping infrequent categories).
    sparse_output : bool, default=True
        In-memory transform returns a SciPy CSR matrix. Lazy output is always dense
        columns.
    dtype : numeric NumPy dtype, default=np.float64
        Output dtype.
    handle_unknown : {'error', 'ignore', 'infrequent_if_exist', 'warn'}, default='error'
        Unknown categories at transform: raise (naming the column and values),
        encode as all zeros, encode as the infrequent category (all zeros if the
        column has none), or warn then do as 'infrequent_if_exist'.
    min_frequency : int or float, default=None
        Categories seen fewer times (int) or in a smaller fraction of rows (float)
        are grouped as infrequent.
    max_categories : int, default=None
        Upper bound of output columns per input column, infrequent one included.
    feature_name_combiner : "concat" or callable, default="concat"
        ``callable(input_feature, category) -> str`` naming the output columns;
        "concat" gives ``f"{feature}_{category}"``.
    columns : str, list of str or polars selector, default=None
        Columns to encode; the others pass through untouched, and each encoded column
        is replaced by its output columns at its position. None means every feature
        column, as in scikit-learn.

    Attributes
    ----------
    categories_ : list of ndarray
        Categories of each encoded column, in the order of the output.
    drop_idx_ : ndarray of shape (n_columns,) or None
        Index in ``categories_[i]`` of the dropped category of column i (None if
        nothing is dropped).
    infrequent_categories_ : list of ndarray or None
        Infrequent categories per column; defined when ``min_frequency`` or
        ``max_categories`` is set.
    n_features_in_ : int
    feature_names_in_ : ndarray of shape (n_features_in_,)

    Notes
    -----
    With ``handle_unknown="error"`` (or ``"warn"``), transforming a lazy source costs
    one extra streaming pass at ``transform()`` call time: a Polars query cannot raise
    when it is later collected, so the distinct unknown values of every encoded column
    are queried then (memory: those distinct values) and reported by column. With
    ``"ignore"`` or ``"infrequent_if_exist"`` nothing is scanned, and scikit-learn's
    warning about unknown categories meeting a dropped one is given for in-memory
    input only.

    Differences from scikit-learn: an object column holding both None and NaN has one
    missing category (scikit-learn keeps two), and an infinity in a lazy source at
    transform is an unknown category rather than an input error.

    Examples
    --------
    >>> import polars as pl
    >>> from scaleml import OneHotEncoder
    >>> lf = pl.LazyFrame({"city": ["Paris", "Oslo", "Paris", None], "n": [1, 2, 3, 4]})
    >>> enc = OneHotEncoder(columns=["city"]).fit(lf)
    >>> enc.categories_
    [array(['Oslo', 'Paris', None], dtype=object)]
    >>> enc.get_feature_names_out()
    array(['city_Oslo', 'city_Paris', 'city_None', 'n'], dtype=object)
    >>> enc.transform(lf).collect().row(0)
    (0.0, 1.0, 0.0, 1)
    >>> OneHotEncoder().fit_transform([["a"], ["b"], ["a"]]).toarray()
    array([[1., 0.],
           [0., 1.],
           [1., 0.]])
    """

    _parameter_constraints: dict[str, list[Any]] = {
        "categories": [StrOptions({"auto"}), list],
        "drop": [StrOptions({"first", "if_binary"}), "array-like", None],
        "dtype": "no_validation",  # type: ignore[dict-item]
        "handle_unknown": [StrOptions({"error", "ignore", "infrequent_if_exist", "warn"})],
        "max_categories": [Interval(Integral, 1, None, closed="left"), None],
        "min_frequency": [
            Interval(Integral, 1, None, closed="left"),
            Interval(RealNotInt, 0, 1, closed="neither"),
            None,
        ],
        "sparse_output": ["boolean"],
        "feature_name_combiner": [StrOptions({"concat"}), callable],
        "columns": [None, str, list, tuple, pl.Expr],
    }

    def __init__(
        self,
        *,
        categories: Any = "auto",
        drop: Any = None,
        sparse_output: bool = True,
        dtype: Any = np.float64,
        handle_unknown: str = "error",
        min_frequency: int | float | None = None,
        max_categories: int | None = None,
        feature_name_combiner: Any = "concat",
        columns: Any = None,
    ) -> None:
        self.categories = categories
        self.drop = drop
        self.sparse_output = sparse_output
        self.dtype = dtype
        self.handle_unknown = handle_unknown
        self.min_frequency = min_frequency
        self.max_categories = max_categories
        self.feature_name_combiner = feature_name_combiner
        self.columns = columns

    _unknown_hint = (
        "handle_unknown='ignore' encodes unknown categories as all zeros, "
        "'infrequent_if_exist' as the infrequent category."
    )

    def _check_params_before_fit(self) -> None:
        polars_dtype(self.dtype)

    # -- fitted attributes (scikit-learn's rules) ------------------------------------
    def _finalize_encoder(self) -> None:
        self._set_drop_idx()
        self._n_features_outs = self._compute_n_features_outs()

    def _map_drop_idx_to_infrequent(self, i: int, drop_idx: int) -> int:
        mapping = self._mapping(i)
        if mapping is None:
            return drop_idx
        infrequent = self._infrequent_indices[i]
        if infrequent is not None and drop_idx in infrequent:
            category = self.categories_[i][drop_idx]
            msg = (
                f"Unable to drop category {category!r} from feature {i} "
                f"({self._fit_columns[i]!r}) because it is infrequent"
            )
            raise ValueError(msg)
        return int(mapping[drop_idx])

    def _set_drop_idx(self) -> None:
        if self.drop is None:
            after = None
        elif isinstance(self.drop, str) and self.drop == "first":
            after = np.zeros(len(self.categories_), dtype=object)
        elif isinstance(self.drop, str):  # "if_binary"
            n_out = [len(cats) for cats in self.categories_]
            if self._infrequent_enabled:
                for i, infrequent in enumerate(self._infrequent_indices):
                    if infrequent is not None:
                        n_out[i] -= infrequent.size - 1
            after = np.array([0 if n == 2 else None for n in n_out], dtype=object)
        else:
            after = self._drop_array_indices()
        self._drop_idx_after_grouping = after
        if not self._infrequent_enabled or after is None:
            self.drop_idx_ = after
            return
        original = []
        for i, idx in enumerate(after):
            mapping = self._default_to_infrequent_mappings[i]
            if idx is None or mapping is None:
                original.append(idx)
            else:
                original.append(int(np.flatnonzero(mapping == idx)[0]))
        self.drop_idx_ = np.asarray(original, dtype=object)

    def _drop_array_indices(self) -> np.ndarray:
        drop = np.asarray(self.drop, dtype=object)
        if len(drop) != len(self.categories_):
            msg = (
                f"`drop` should have length equal to the number of features "
                f"({len(self.categories_)}), got {len(drop)}"
            )
            raise ValueError(msg)
        missing_drops = []
        indices = []
        for i, (value, cats) in enumerate(zip(drop, self.categories_, strict=True)):
            if is_missing(value):
                found = np.asarray([cats.size - 1] if cats.size and is_missing(cats[-1]) else [])
            else:
                found = np.flatnonzero(cats == value)
            if found.size:
                indices.append(self._map_drop_idx_to_infrequent(i, int(found[0])))
            else:
                missing_drops.append((i, value))
        if missing_drops:
            listed = "\n".join(
                f"Category: {v}, Feature: {i} ({self._fit_columns[i]!r})" for i, v in missing_drops
            )
            msg = (
                "The following categories were supposed to be dropped, but were not "
                f"found in the training data.\n{listed}"
            )
            raise ValueError(msg)
        return np.array(indices, dtype=object)

    def _compute_n_features_outs(self) -> list[int]:
        out = [len(cats) for cats in self.categories_]
        if self._drop_idx_after_grouping is not None:
            for i, idx in enumerate(self._drop_idx_after_grouping):
                if idx is not None:
                    out[i] -= 1
        if self._infrequent_enabled:
            for i, infrequent in enumerate(self._infrequent_indices):
                if infrequent is not None:
                    out[i] -= infrequent.size - 1
        return out

    def _grouping(self, i: int) -> np.ndarray:
        """Category index -> output group (before dropping) of column i."""
        mapping = self._mapping(i)
        return np.arange(len(self.categories_[i])) if mapping is None else mapping

    def _dropped(self, i: int) -> int | None:
        after = self._drop_idx_after_grouping
        return None if after is None or after[i] is None else int(after[i])

    def _absorbing_group(self, i: int) -> int | None:
        """The group unknown categories fall into: the infrequent one, if any."""
        if self.handle_unknown not in ("infrequent_if_exist", "warn"):
            return None
        if not self._infrequent_enabled or self._infrequent_indices[i] is None:
            return None
        return int(self._grouping(i).max())

    def _compute_transformed_categories(self, i: int, remove_dropped: bool = True) -> np.ndarray:
        cats = self.categories_[i]
        mapping = self._mapping(i)
        if mapping is not None:
            frequent = mapping < mapping.max()
            cats = np.concatenate((cats[frequent], np.array(["infrequent_sklearn"], dtype=object)))
        drop = self._dropped(i)
        return np.delete(cats, drop) if remove_dropped and drop is not None else cats

    def _check_get_feature_name_combiner(self) -> Any:
        if self.feature_name_combiner == "concat":
            return lambda feature, category: feature + "_" + str(category)
        dry_run = self.feature_name_combiner("feature", "category")
        if not isinstance(dry_run, str):
            msg = (
                "When `feature_name_combiner` is a callable, it should return a Python "
                f"string. Got {type(dry_run)} instead."
            )
            raise TypeError(msg)
        return self.feature_name_combiner

    def _output_names(self, rename: dict[str, str]) -> dict[str, list[str]]:
        combine = self._check_get_feature_name_combiner()
        return {
            col: [combine(rename[col], t) for t in self._compute_transformed_categories(i)]
            for i, col in enumerate(self._fit_columns)
        }

    # -- transforming ----------------------------------------------------------------
    def _unknown_policy(self, data: Data) -> str | None:
        if self.handle_unknown in ("error", "warn"):
            return self.handle_unknown
        # scikit-learn also warns when a dropped category makes unknowns look like it;
        # for a lazy source that warning is not worth a pass over the data.
        return "warn" if self.drop is not None and not data.lazy else None

    def _unknown_warning(self, columns: list[str]) -> str:
        if self.handle_unknown in ("infrequent_if_exist", "warn"):
            tail = "will be encoded as the infrequent category."
        else:
            tail = "will be encoded as all zeros"
        return (
            f"Found unknown categories in columns {columns} during transform. These "
            f"unknown categories {tail}"
        )

    def _column_exprs(self, keys: Keys) -> dict[str, list[pl.Expr]]:
        out_dtype = polars_dtype(self.dtype)
        names = self._output_names({c: c for c in self._fit_columns})
        return {
            col: [
                e.cast(out_dtype).alias(name)
                for e, name in zip(self._indicators(i, *keys[col]), names[col], strict=True)
            ]
            for i, col in enumerate(self._fit_columns)
        }

    def _indicators(self, i: int, key: pl.Expr, dtype: pl.DataType) -> list[pl.Expr]:
        """One boolean expression per output column of column i."""
        info = self._columns[i]
        grouping = self._grouping(i)
        absorb, drop = self._absorbing_group(i), self._dropped(i)
        order = np.argsort(grouping, kind="stable")
        bounds = np.cumsum(np.bincount(grouping))
        n_values = len(info.values)
        exprs = []
        for g, members in enumerate(np.split(order, bounds[:-1])):
            if g == drop:
                continue
            if g == absorb:
                # Unknown values land here too: "not any other known category".
                members = np.setdiff1d(np.arange(grouping.size), members)
            values = [info.values[j] for j in members if j < n_values]
            hit = member_expr(key, dtype, values, info.has_missing and n_values in members)
            exprs.append(~hit if g == absorb else hit)
        return exprs

    def _encode(self, data: Data, keys: Keys) -> Any:
        config = _get_output_config("transform", self)["dense"]
        if not data.lazy and config != "default" and self.sparse_output:
            name = config.capitalize()
            msg = (
                f"{name} output does not support sparse data. Set sparse_output=False "
                f"to output {config} dataframes or disable {name} output via"
                '` ohe.set_output(transform="default").'
            )
            raise ValueError(msg)
        if self._in_memory_array(data):
            schema = data.lf.collect_schema()
            passthrough = [c for c in data.columns if c not in set(self._fit_columns)]
            if all(schema[c].is_numeric() or schema[c] == pl.Boolean for c in passthrough):
                out = self._sparse(data, keys, passthrough)
                return align_sparse(out) if self.sparse_output else out.toarray()
            if self.sparse_output:
                bad = [c for c in passthrough if not schema[c].is_numeric()]
                msg = (
                    f"sparse_output=True cannot hold the non-numeric passthrough column(s) "
                    f"{bad}. Hint: set sparse_output=False, or encode them too (columns=)."
                )
                raise ValueError(msg)
        return self._finish(data, data.lf.select(self._select(data, keys)))

    def _codes(self, data: Data, keys: Keys) -> np.ndarray:
        """The output group of every row and column (-1: all zeros), as sklearn's X_int."""
        exprs = []
        for i, col in enumerate(self._fit_columns):
            info, grouping = self._columns[i], self._grouping(i)
            absorb = self._absorbing_group(i)
            unknown = -1 if absorb is None else absorb
            missing = int(grouping[-1]) if info.has_missing else unknown
            codes = grouping[: len(info.values)].tolist()
            key, dtype = keys[col]
            expr = code_expr(key, dtype, info.values, codes, missing, unknown, pl.Int64())
            exprs.append(expr.alias(col))
        if not exprs:
            return np.zeros((data.lf.select(pl.len()).collect().item(), 0), dtype=np.int64)
        return data.lf.select(exprs).collect().to_numpy().astype(np.int64, copy=False)

    def _sparse(self, data: Data, keys: Keys, passthrough: list[str]) -> sparse.csr_matrix:
        X_int = self._codes(data, keys)
        n = X_int.shape[0]
        mask = X_int >= 0
        for i in range(X_int.shape[1]):
            drop = self._dropped(i)
            if drop is not None:
                col = X_int[:, i]
                mask[:, i] &= col != drop
                col[col > drop] -= 1
        offsets = np.cumsum([0, *self._n_features_outs])
        indices = (X_int + offsets[:-1])[mask]
        indptr = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(mask.sum(axis=1), out=indptr[1:])
        index_dtype = np.int32 if max(indptr[-1], offsets[-1]) < 2**31 else np.int64
        encoded = sparse.csr_matrix(
            (
                np.ones(indices.size, dtype=self.dtype),
                indices.astype(index_dtype),
                indptr.astype(index_dtype),
            ),
            shape=(n, int(offsets[-1])),
        )
        if not passthrough:
            return encoded
        return self._interleave(data, encoded, offsets, passthrough)

    def _interleave(
        self, data: Data, encoded: sparse.csr_matrix, offsets: np.ndarray, passthrough: list[str]
    ) -> sparse.csr_matrix:
        values = data.lf.select(passthrough).collect().to_numpy().astype(np.float64)
        blocks = []
        for col in data.columns:
            if col in passthrough:
                j = passthrough.index(col)
                blocks.append(sparse.csr_matrix(values[:, j : j + 1]))
            else:
                i = self._fit_columns.index(col)
                blocks.append(encoded[:, offsets[i] : offsets[i + 1]])
        return sparse.hstack(blocks, format="csr")

    def inverse_transform(self, X: Any) -> np.ndarray:
        """Convert encoded data back to categories (in-memory input), as scikit-learn.

        All-zero rows give None (``handle_unknown='ignore'``) or the dropped
        category; grouped rows give ``'infrequent_sklearn'``.

        Parameters
        ----------
        X : array-like or sparse matrix of shape (n_samples, n_encoded_features)

        Returns
        -------
        ndarray of shape (n_samples, n_features_in_)
        """
        self._check_inverse_input(X)
        X = check_array(X, accept_sparse="csr")
        n_out = len(self.get_feature_names_out())
        if X.shape[1] != n_out:
            msg = (
                "Shape of the passed X data is not correct. Expected "
                f"{n_out} columns, got {X.shape[1]}."
            )
            raise ValueError(msg)
        transformed = [
            self._compute_transformed_categories(i, remove_dropped=False)
            for i in range(len(self.categories_))
        ]
        passthrough = len(self._columns_in) > len(self._fit_columns)
        dtypes = [t.dtype for t in transformed] + ([np.dtype(object)] if passthrough else [])
        X_tr = np.empty((X.shape[0], len(self._columns_in)), dtype=np.result_type(*dtypes))
        found_unknown = {}
        j = 0
        for pos, col in enumerate(self._columns_in):
            if col not in self._fit_columns:
                X_tr[:, pos] = X[:, [j]].toarray().ravel() if sparse.issparse(X) else X[:, j]
                j += 1
                continue
            i = self._fit_columns.index(col)
            n = self._n_features_outs[i]
            unknown = self._invert_column(i, X[:, j : j + n], transformed[i], X_tr[:, pos])
            if unknown is not None:
                found_unknown[pos] = unknown
            j += n
        if found_unknown:
            X_tr = X_tr.astype(object, copy=False)
            for pos, mask in found_unknown.items():
                X_tr[mask, pos] = None
        return X_tr

    def _invert_column(
        self, i: int, sub: Any, transformed: np.ndarray, out: np.ndarray
    ) -> np.ndarray | None:
        """Fill `out` with the categories of column i; return the rows to set to None."""
        drop = self._dropped(i)
        kept = np.delete(transformed, drop) if drop is not None else transformed
        if kept.shape[0] == 0:
            out[:] = self.categories_[i][drop]
            return None
        out[:] = kept[np.asarray(sub.argmax(axis=1)).ravel()]
        zeros = np.asarray(sub.sum(axis=1) == 0).ravel()
        infrequent = self._infrequent_indices[i] if self._infrequent_enabled else None
        ignoring = self.handle_unknown == "ignore" or (
            self.handle_unknown in ("infrequent_if_exist", "warn") and infrequent is None
        )
        if not zeros.any():
            return None
        if ignoring:
            if drop is None:
                return zeros
            out[zeros] = self.categories_[i][drop]
            return None
        if drop is None:
            msg = (
                f"Samples {np.flatnonzero(zeros)} can not be inverted when drop=None and "
                "handle_unknown='error' because they contain all zeros"
            )
            raise ValueError(msg)
        out[zeros] = transformed[drop]
        return None


class OrdinalEncoder(BaseEncoder):
    """Encode categorical features as an integer array.

    The scikit-learn estimator of the same name, fitted out-of-core from one
    streaming Polars ``group_by`` per column; transform is one ``replace_strict``
    expression per column. Each encoded column keeps its name and position.

    A missing value spelled NaN is encoded as ``encoded_missing_value``; spelled None
    (Polars/Arrow strings, object arrays holding None) it is a category of its own,
    last, exactly as scikit-learn does.

    Parameters
    ----------
    categories : 'auto' or a list of array-like, default='auto'
        Categories per encoded column: 'auto' finds them in the training data;
        ``categories[i]`` lists those of the i-th encoded column.
    dtype : numeric NumPy dtype, default=np.float64
        Output dtype.
    handle_unknown : {'error', 'use_encoded_value'}, default='error'
        Unknown categories at transform raise (naming the column and values) or are
        encoded as ``unknown_value``.
    unknown_value : int or np.nan, default=None
        Code of unknown categories with ``handle_unknown='use_encoded_value'``.
    encoded_missing_value : int or np.nan, default=np.nan
        Code of missing values.
    min_frequency : int or float, default=None
        Categories seen fewer times (int) or in a smaller fraction of rows (float)
        share one code.
    max_categories : int, default=None
        Upper bound of codes per column, the infrequent one included.
    columns : str, list of str or polars selector, default=None
        Columns to encode; the others pass through untouched. None means every
        feature column.

    Attributes
    ----------
    categories_ : list of ndarray
    infrequent_categories_ : list of ndarray or None
        Defined when ``min_frequency`` or ``max_categories`` is set.
    n_features_in_ : int
    feature_names_in_ : ndarray of shape (n_features_in_,)

    Notes
    -----
    With ``handle_unknown="error"``, transforming a lazy source costs one extra
    streaming pass at ``transform()`` call time, a query of the distinct unknown values
    of every encoded column, so that they raise there, by name.

    ``inverse_transform`` also works where scikit-learn 1.9's raises IndexError (a NaN
    category together with infrequent ones), and does not modify its input.

    Examples
    --------
    >>> import polars as pl
    >>> from scaleml import OrdinalEncoder
    >>> lf = pl.LazyFrame({"size": ["S", "M", "L", "M"], "n": [1.0, 2.0, 3.0, 4.0]})
    >>> enc = OrdinalEncoder(columns=["size"]).fit(lf)
    >>> enc.categories_
    [array(['L', 'M', 'S'], dtype=object)]
    >>> enc.transform(lf).collect()["size"].to_list()
    [2.0, 1.0, 0.0, 1.0]
    >>> import numpy as np
    >>> OrdinalEncoder().fit_transform(np.array([["b", 1], ["a", 3]], dtype=object))
    array([[1., 0.],
           [0., 1.]])
    """

    _ignore_missing_for_infrequent = True

    _parameter_constraints: dict[str, list[Any]] = {
        "categories": [StrOptions({"auto"}), list],
        "dtype": "no_validation",  # type: ignore[dict-item]
        "encoded_missing_value": [Integral, type(np.nan)],
        "handle_unknown": [StrOptions({"error", "use_encoded_value"})],
        "unknown_value": [Integral, type(np.nan), None],
        "max_categories": [Interval(Integral, 1, None, closed="left"), None],
        "min_frequency": [
            Interval(Integral, 1, None, closed="left"),
            Interval(RealNotInt, 0, 1, closed="neither"),
            None,
        ],
        "columns": [None, str, list, tuple, pl.Expr],
    }

    def __init__(
        self,
        *,
        categories: Any = "auto",
        dtype: Any = np.float64,
        handle_unknown: str = "error",
        unknown_value: int | float | None = None,
        encoded_missing_value: int | float = np.nan,
        min_frequency: int | float | None = None,
        max_categories: int | None = None,
        columns: Any = None,
    ) -> None:
        self.categories = categories
        self.dtype = dtype
        self.handle_unknown = handle_unknown
        self.unknown_value = unknown_value
        self.encoded_missing_value = encoded_missing_value
        self.min_frequency = min_frequency
        self.max_categories = max_categories
        self.columns = columns

    _unknown_hint = (
        "handle_unknown='use_encoded_value' with unknown_value= encodes unknown "
        "categories as that value."
    )

    def _check_params_before_fit(self) -> None:
        polars_dtype(self.dtype)
        if self.handle_unknown == "use_encoded_value":
            if is_nan(self.unknown_value):
                if np.dtype(self.dtype).kind != "f":
                    msg = (
                        "When unknown_value is np.nan, the dtype parameter should be a "
                        f"float dtype. Got {self.dtype}."
                    )
                    raise ValueError(msg)
            elif not isinstance(self.unknown_value, Integral):
                msg = (
                    "unknown_value should be an integer or np.nan when handle_unknown "
                    f"is 'use_encoded_value', got {self.unknown_value}."
                )
                raise TypeError(msg)
        elif self.unknown_value is not None:
            msg = (
                "unknown_value should only be set when handle_unknown is "
                f"'use_encoded_value', got {self.unknown_value}."
            )
            raise TypeError(msg)

    def _finalize_encoder(self) -> None:
        cardinalities = [len(cats) for cats in self.categories_]
        if self._infrequent_enabled:
            for i, infrequent in enumerate(self.infrequent_categories_):
                if infrequent is not None:
                    cardinalities[i] -= len(infrequent)
        for i in self._missing_indices:
            cardinalities[i] -= 1
        if self.handle_unknown == "use_encoded_value":
            for cardinality in cardinalities:
                if 0 <= self.unknown_value < cardinality:  # type: ignore[operator]
                    msg = (
                        f"The used value for unknown_value {self.unknown_value} is one of "
                        "the values already used for encoding the seen categories."
                    )
                    raise ValueError(msg)
        if not self._missing_indices:
            return
        if np.dtype(self.dtype).kind != "f" and is_nan(self.encoded_missing_value):
            msg = (
                f"There are missing values in features {list(self._missing_indices)}. For "
                f"OrdinalEncoder to encode missing values with dtype: {self.dtype}, set "
                "encoded_missing_value to a non-nan value, or set dtype to a float"
            )
            raise ValueError(msg)
        if not is_nan(self.encoded_missing_value):
            invalid = [
                self._fit_columns[i]
                for i, cardinality in enumerate(cardinalities)
                if i in self._missing_indices and 0 <= self.encoded_missing_value < cardinality
            ]
            if invalid:
                msg = (
                    f"encoded_missing_value ({self.encoded_missing_value}) is already used "
                    f"to encode a known category in features: {invalid}"
                )
                raise ValueError(msg)

    def _regular_codes(self, i: int) -> np.ndarray:
        """Code of each category of column i but a NaN one."""
        n_regular = len(self.categories_[i]) - (1 if i in self._missing_indices else 0)
        mapping = self._mapping(i)
        return np.arange(n_regular) if mapping is None else mapping

    def _column_exprs(self, keys: Keys) -> dict[str, list[pl.Expr]]:
        out_dtype = polars_dtype(self.dtype)
        work = pl.Float64() if out_dtype.is_float() else pl.Int64()
        unknown = self.unknown_value if self.handle_unknown == "use_encoded_value" else None
        exprs = {}
        for i, col in enumerate(self._fit_columns):
            info, codes = self._columns[i], self._regular_codes(i)
            if not info.has_missing:
                missing = unknown
            elif i in self._missing_indices:
                missing = self.encoded_missing_value
            else:
                missing = int(codes[-1])
            key, dtype = keys[col]
            values_codes = codes[: len(info.values)].tolist()
            expr = code_expr(key, dtype, info.values, values_codes, missing, unknown, work)
            exprs[col] = [expr.cast(out_dtype).alias(col)]
        return exprs

    def _encode(self, data: Data, keys: Keys) -> Any:
        lf = data.lf.select(self._select(data, keys))
        if self._in_memory_array(data) and len(data.columns) == len(self._fit_columns):
            return lf.collect().to_numpy().astype(self.dtype, copy=False)
        return self._finish(data, lf)

    def inverse_transform(self, X: Any) -> np.ndarray:
        """Convert codes back to categories (in-memory input), as scikit-learn.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features_in_)

        Returns
        -------
        ndarray of shape (n_samples, n_features_in_)
            Unknown codes give None, infrequent ones ``'infrequent_sklearn'``.
        """
        self._check_inverse_input(X)
        X = check_array(X, ensure_all_finite="allow-nan", dtype=None)
        if X.shape[1] != len(self._columns_in):
            msg = (
                "Shape of the passed X data is not correct. Expected "
                f"{len(self._columns_in)} columns, got {X.shape[1]}."
            )
            raise ValueError(msg)
        passthrough = len(self._columns_in) > len(self._fit_columns)
        dtypes = [c.dtype for c in self.categories_] + ([np.dtype(object)] if passthrough else [])
        X_tr = np.empty(X.shape, dtype=np.result_type(*dtypes))
        masks: dict[int, tuple[np.ndarray | None, np.ndarray | None]] = {}
        for pos, col in enumerate(self._columns_in):
            if col not in self._fit_columns:
                X_tr[:, pos] = X[:, pos]
                continue
            labels = np.array(X[:, pos], dtype=np.float64)
            masks[pos] = self._invert_column(self._fit_columns.index(col), labels, X_tr[:, pos])
        if any(u is not None or f is not None for u, f in masks.values()):
            X_tr = X_tr.astype(object, copy=False)
        for pos, (unknown, infrequent) in masks.items():
            if unknown is not None:
                X_tr[unknown, pos] = None
            if infrequent is not None:
                X_tr[infrequent, pos] = "infrequent_sklearn"
        return X_tr

    def _invert_column(
        self, i: int, labels: np.ndarray, out: np.ndarray
    ) -> tuple[np.ndarray | None, np.ndarray | None]:
        """Fill `out` from codes; return the unknown and the infrequent rows.

        Unlike scikit-learn 1.9 (which raises IndexError), a NaN category together
        with infrequent ones inverts correctly: the infrequent code is counted among
        the regular categories only.
        """
        cats = self.categories_[i]
        rows = np.ones(labels.shape[0], dtype=bool)
        missing_rows = None
        if i in self._missing_indices:
            code = self.encoded_missing_value
            missing_rows = np.isnan(labels) if is_nan(code) else labels == code
            rows &= ~missing_rows
            out[missing_rows] = cats[-1]
            cats = cats[:-1]
        infrequent_rows = unknown_rows = None
        infrequent = self._infrequent_indices[i] if self._infrequent_enabled else None
        if infrequent is not None:
            infrequent_rows = rows & (labels == len(cats) - len(infrequent))
            rows &= ~infrequent_rows
            cats = np.delete(cats, infrequent)
        if self.handle_unknown == "use_encoded_value":
            value = self.unknown_value
            unknown_rows = rows & (np.isnan(labels) if is_nan(value) else labels == value)
            rows &= ~unknown_rows
        out[rows] = cats[labels[rows].astype(np.int64)]
        return unknown_rows, infrequent_rows
