"""The shared part of the categorical encoders: input as scikit-learn's encoders read
it, fit from value counts, and the transform plumbing (unknown categories, output)."""

from __future__ import annotations

import os
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl
from scipy import sparse
from sklearn import get_config
from sklearn.utils._set_output import _get_output_config
from sklearn.utils.validation import check_array, check_is_fitted

from scaleml._base import ExprTransformer
from scaleml._validation import Data, check_finite_stats, input_data, is_eager
from scaleml.preprocessing._categories import (
    UNKNOWN_SHOWN,
    CategoryCounts,
    categories_array,
    count_categories,
    identify_infrequent,
    infrequent_mapping,
    is_missing,
    key_expr,
    kind_of,
    observed,
    unknown_values,
)

__all__ = ["BaseEncoder", "Keys", "align_sparse", "is_nan", "polars_dtype"]

_DEFAULT = object()
Keys = dict[str, tuple[pl.Expr, pl.DataType]]


@dataclass(frozen=True)
class _Column:
    """What transform needs of a fitted column besides ``categories_``."""

    kind: str
    values: list[Any]  # the non-missing categories, as Python scalars
    has_missing: bool  # whether the last category is the missing value


# -- input as scikit-learn's encoders read it -----------------------------------------
def _prepare_input(X: Any) -> tuple[Any, dict[str, tuple[bool, Any]]]:
    """Convert in-memory input the way scikit-learn's encoders do, and tell how each
    column spells a missing value: ``{name: (object_column, None or nan)}``.

    scikit-learn keeps the Python objects of object columns (so ``[1, None]`` gives
    categories ``[1, None]``) while typed columns give typed categories with NaN.
    """
    module = type(X).__module__.split(".")[0]
    if module == "pandas" and hasattr(X, "columns"):
        return X, _pandas_spelling(X)
    if isinstance(X, (list, tuple)) and X and not all(isinstance(r, (str, os.PathLike)) for r in X):
        X_temp = check_array(X, dtype=None, ensure_all_finite=False)
        as_text = X_temp.dtype.kind == "U"
        X = check_array(X, dtype=object, ensure_all_finite=False) if as_text else X_temp
    if isinstance(X, np.ndarray) and X.dtype == object and X.ndim == 2:
        return _object_array(X)
    return X, {}


def _pandas_spelling(X: Any) -> dict[str, tuple[bool, Any]]:
    spelling: dict[str, tuple[bool, Any]] = {}
    for name in X.columns:
        col = X[name]
        if col.dtype == object:
            na = col[col.isna()]
            spelling[str(name)] = (True, None if not len(na) or na.iloc[0] is None else np.nan)
        elif getattr(col.dtype, "kind", "O") not in "biuf":
            # pandas string and categorical columns hold missing values as NaN.
            spelling[str(name)] = (False, np.nan)
    return spelling


def _object_array(X: np.ndarray) -> tuple[np.ndarray, dict[str, tuple[bool, Any]]]:
    X = X.copy()
    spelling: dict[str, tuple[bool, Any]] = {}
    for j in range(X.shape[1]):
        col = X[:, j]
        missing = np.fromiter((is_missing(v) for v in col), dtype=bool, count=col.shape[0])
        types = {type(v) for v in col[~missing]}
        if len(types) > 1 and any(issubclass(t, str) for t in types):
            names = sorted(t.__qualname__ for t in types)
            msg = (
                "Encoders require their input argument must be uniformly strings or "
                f"numbers. Got {names} in column {j}."
            )
            raise TypeError(msg)
        first = col[missing][0] if missing.any() else None
        spelling[f"x{j}"] = (True, None if first is None else np.nan)
        # Null, not NaN: Polars would turn a NaN among strings into the string "NaN".
        col[missing] = None
    return X, spelling


def is_nan(value: Any) -> bool:
    """Whether `value` is NaN (None is not): scikit-learn's ``is_scalar_nan``."""
    return value is not None and is_missing(value)


def _shown(values: Sequence[Any]) -> str:
    shown = f"{list(values[:UNKNOWN_SHOWN])}"
    return shown if len(values) <= UNKNOWN_SHOWN else f"{shown} and more"


def polars_dtype(dtype: Any) -> pl.DataType:
    """The Polars dtype of the numeric NumPy dtype `dtype` (the ``dtype`` parameter)."""
    out = pl.Series(np.zeros(0, dtype=np.dtype(dtype))).dtype
    if not (out.is_numeric() or out == pl.Boolean):
        msg = f"dtype must be a numeric NumPy dtype; got {dtype!r}."
        raise ValueError(msg)
    return out


def align_sparse(X: sparse.csr_matrix) -> Any:
    """`X` as the sparse container scikit-learn's ``sparse_interface`` config asks for."""
    if get_config().get("sparse_interface", "spmatrix") == "sparray":
        return sparse.csr_array(X)
    return X


class BaseEncoder(ExprTransformer):
    """Shared fit (value counts per column) and transform plumbing of the encoders."""

    _numeric = False
    _allow_nan = True
    #: OrdinalEncoder leaves a NaN category out of the infrequent grouping.
    _ignore_missing_for_infrequent = False

    # -- fitting ---------------------------------------------------------------------
    def _partial(self, X: Any, y: Any, *, reset: bool) -> BaseEncoder:
        X, spelling = _prepare_input(X)
        if reset:
            self._spelling = spelling
        super()._partial(X, y, reset=reset)
        return self

    def _check_fit_columns(self, columns: list[str]) -> None:
        for c in columns:
            if kind_of(self._schema_in[c]) is None:
                key_expr(self, c, "null", self._schema_in[c])  # raises, naming the column
        if self.categories != "auto" and len(self.categories) != len(columns):
            msg = (
                "Shape mismatch: if categories is an array, it has to be of shape "
                f"(n_features,): {len(columns)} encoded column(s), got "
                f"{len(self.categories)} list(s) of categories."
            )
            raise ValueError(msg)
        self._check_params_before_fit()

    def _check_params_before_fit(self) -> None:
        """Hook: parameter checks that need no data."""

    def _init_state(self) -> CategoryCounts:
        return CategoryCounts()

    def _update_state(self, state: CategoryCounts, chunk: pl.LazyFrame) -> CategoryCounts:
        return state.merge(count_categories(self, chunk, self._fit_columns))

    def _merge_states(self, a: CategoryCounts, b: CategoryCounts) -> CategoryCounts:
        return a.merge(b)

    def _finalize_state(self, state: CategoryCounts) -> None:
        if state.rows == 0:
            msg = (
                "Found array with 0 sample(s) (shape=(0, "
                f"{len(self._columns_in)})) while a minimum of 1 is required by "
                f"{type(self).__name__}."
            )
            raise ValueError(msg)
        max_categories = self.max_categories
        self._infrequent_enabled = (
            max_categories is not None and max_categories >= 1
        ) or self.min_frequency is not None
        self.categories_: list[np.ndarray] = []
        self._columns: list[_Column] = []
        counts_per_column = []
        for i, col in enumerate(self._fit_columns):
            frame = state.counts[col]
            kind = str(kind_of(frame.schema["value"]))
            cats, counts = self._column_categories(i, col, kind, frame)
            has_missing = bool(cats.size) and is_missing(cats[-1])
            values = (cats[:-1] if has_missing else cats).tolist()
            if kind == "int" and cats.dtype.kind == "f":
                kind = "float"  # integers with NaN as missing value became floats
            self.categories_.append(cats)
            self._columns.append(_Column(kind, values, has_missing))
            counts_per_column.append(counts)
        self._missing_indices = {
            i: cats.size - 1
            for i, cats in enumerate(self.categories_)
            if self._ignore_missing_for_infrequent and cats.size and is_nan(cats[-1])
        }
        for attr in ("_infrequent_indices", "_default_to_infrequent_mappings"):
            if hasattr(self, attr):
                delattr(self, attr)
        if self._infrequent_enabled:
            self._fit_infrequent_category_mapping(state.rows, counts_per_column)
        self._finalize_encoder()

    def _finalize_encoder(self) -> None:
        """Hook: the encoder's own fitted attributes."""

    def _column_categories(
        self, i: int, col: str, kind: str, frame: pl.DataFrame
    ) -> tuple[np.ndarray, np.ndarray]:
        values, counts, n_missing = observed(frame)
        as_object, missing = self._spelling.get(col, (False, _DEFAULT))
        if missing is _DEFAULT:
            missing = np.nan if kind in ("int", "float") else None
        cats = categories_array(values, kind, missing, n_missing > 0, as_object)
        all_counts = np.append(counts, n_missing) if n_missing else counts
        if self.categories == "auto":
            return cats, all_counts
        return self._given_categories(i, col, cats, values.to_list(), counts, n_missing)

    def _given_categories(
        self,
        i: int,
        col: str,
        observed_cats: np.ndarray,
        values: list[Any],
        counts: np.ndarray,
        n_missing: int,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Validate ``categories[i]`` as scikit-learn does and count its categories."""
        cats = np.array(self.categories[i], dtype=observed_cats.dtype)
        for category in cats[:-1]:
            if is_missing(category):
                msg = (
                    "Nan should be the last element in user provided categories, see "
                    f"categories {cats} in column #{i} ({col!r})"
                )
                raise ValueError(msg)
        listed = cats.tolist()
        if len({("missing",) if is_missing(c) else c for c in listed}) != len(listed):
            msg = f"In column {i} ({col!r}), the predefined categories contain duplicate elements."
            raise ValueError(msg)
        if cats.dtype.kind not in "OUS":
            sorted_cats = np.sort(cats)
            stop = -1 if np.isnan(sorted_cats[-1]) else None
            if np.any(sorted_cats[:stop] != cats[:stop]):
                msg = "Unsorted categories are not supported for numerical categories"
                raise ValueError(msg)
        has_missing = bool(listed) and is_missing(listed[-1])
        known = set(listed[:-1] if has_missing else listed)
        diff = [v for v in values if v not in known]
        if n_missing and not has_missing:
            diff.append(observed_cats[-1])
        if diff and self.handle_unknown == "error":
            msg = f"Found unknown categories {_shown(diff)} in column {i} ({col!r}) during fit"
            raise ValueError(msg)
        count_of = dict(zip(values, counts.tolist(), strict=True))
        aligned = [n_missing if is_missing(c) else count_of.get(c, 0) for c in listed]
        return cats, np.asarray(aligned, dtype=np.int64)

    def _fit_infrequent_category_mapping(self, n_samples: int, counts: list[np.ndarray]) -> None:
        # A NaN category of OrdinalEncoder is never infrequent: drop its count first.
        counts = [
            np.delete(c, self._missing_indices[i]) if i in self._missing_indices else c
            for i, c in enumerate(counts)
        ]
        self._infrequent_indices = [
            identify_infrequent(c, n_samples, self.min_frequency, self.max_categories)
            for c in counts
        ]
        self._default_to_infrequent_mappings: list[np.ndarray | None] = []
        for i, infrequent in enumerate(self._infrequent_indices):
            if infrequent is None:
                self._default_to_infrequent_mappings.append(None)
                continue
            n_cats = len(self.categories_[i]) - (1 if i in self._missing_indices else 0)
            self._default_to_infrequent_mappings.append(infrequent_mapping(n_cats, infrequent))

    def _mapping(self, i: int) -> np.ndarray | None:
        """Category index -> grouped index of column i, None without infrequent ones."""
        if not self._infrequent_enabled:
            return None
        return self._default_to_infrequent_mappings[i]

    @property
    def infrequent_categories_(self) -> list[np.ndarray | None]:
        """Infrequent categories of each encoded column (None where there are none)."""
        return [
            None if idx is None else cats[idx]
            for cats, idx in zip(self.categories_, self._infrequent_indices, strict=True)
        ]

    # -- transforming ----------------------------------------------------------------
    def transform(self, X: Any) -> Any:
        """Encode `X`; a lazy source gives a LazyFrame, in-memory data what
        scikit-learn gives.

        With ``handle_unknown="error"`` (and ``"warn"``) a lazy input costs one extra
        streaming pass at call time: a query of the distinct unknown values of each
        encoded column, so that unknown categories raise here, naming the column and
        the values, instead of encoding silently.

        Parameters
        ----------
        X : array-like, DataFrame, LazyFrame, path/glob, DuckDB relation or Arrow data

        Returns
        -------
        LazyFrame, ndarray, sparse matrix or DataFrame
        """
        check_is_fitted(self, "_state")
        return self._transform(X, check_unknown=True)

    def fit_transform(self, X: Any, y: Any = None, **fit_params: Any) -> Any:
        """Fit to `X`, then encode it (without a second look for unknown categories
        when none can exist).

        Returns
        -------
        LazyFrame, ndarray, sparse matrix or DataFrame
        """
        self.fit(X, y, **fit_params)
        return self._transform(X, check_unknown=self.handle_unknown != "error")

    def _transform(self, X: Any, *, check_unknown: bool) -> Any:
        X, _ = _prepare_input(X)
        data = input_data(self, X, reset=False, numeric=False, allow_nan=True)
        schema = data.lf.collect_schema()
        keys = self._keys(schema)
        if not data.lazy:
            self._check_finite(data, schema)
        if check_unknown:
            self._check_unknown(data, keys)
        return self._encode(data, keys)

    def _keys(self, schema: pl.Schema) -> Keys:
        return {
            c: key_expr(self, c, info.kind, schema[c])
            for c, info in zip(self._fit_columns, self._columns, strict=True)
        }

    def _check_finite(self, data: Data, schema: pl.Schema) -> None:
        floats = [c for c in self._fit_columns if schema[c].is_float()]
        if floats:
            found = data.lf.select(pl.col(c).is_infinite().any() for c in floats).collect()
            check_finite_stats(self, floats, [bool(v) for v in found.row(0)])

    def _unknown_policy(self, data: Data) -> str | None:
        """ "error", "warn" or None: what to do about unknown categories at transform."""
        return "error" if self.handle_unknown == "error" else None

    def _check_unknown(self, data: Data, keys: Keys) -> None:
        policy = self._unknown_policy(data)
        if policy is None:
            return
        known = {
            c: (*keys[c], info.values, info.has_missing)
            for c, info in zip(self._fit_columns, self._columns, strict=True)
        }
        found = unknown_values(data.lf, known)
        if not found:
            return
        if policy == "warn":
            warnings.warn(self._unknown_warning(list(found)), UserWarning, stacklevel=3)
            return
        lines = []
        for col, values in found.items():
            missing = self._missing_spelling(col)
            shown = [missing if v is None else v for v in values]
            lines.append(
                f"Found unknown categories {_shown(shown)} in column {col!r} during transform"
            )
        msg = "\n".join(lines) + f"\nHint: {self._unknown_hint}"
        raise ValueError(msg)

    _unknown_hint = ""

    def _unknown_warning(self, columns: list[str]) -> str:
        return f"Found unknown categories in columns {columns} during transform."

    def _missing_spelling(self, col: str) -> Any:
        i = self._fit_columns.index(col)
        cats = self.categories_[i]
        if self._columns[i].has_missing:
            return cats[-1]
        _, missing = self._spelling.get(col, (False, _DEFAULT))
        if missing is _DEFAULT:
            return np.nan if self._columns[i].kind in ("int", "float") else None
        return missing

    def _encode(self, data: Data, keys: Keys) -> Any:
        raise NotImplementedError

    def _select(self, data: Data, keys: Keys) -> list[pl.Expr]:
        """The output expressions: encoded columns in place, others passed through."""
        mapping = self._column_exprs(keys)
        exprs: list[pl.Expr] = []
        for col in data.columns:
            exprs.extend(mapping.get(col, [pl.col(col)]))
        if data.y_column and data.y_column in data.lf.collect_schema().names():
            exprs.append(pl.col(data.y_column))
        names = [e.meta.output_name() for e in exprs]
        if len(set(names)) != len(names):
            dups = sorted({n for n in names if names.count(n) > 1})
            msg = (
                f"The output columns of {type(self).__name__} would have duplicate names "
                f"{dups}. Hint: rename the input columns or pass feature_name_combiner=."
            )
            raise ValueError(msg)
        return exprs

    def _column_exprs(self, keys: Keys) -> dict[str, list[pl.Expr]]:
        raise NotImplementedError

    def _output_exprs(self) -> dict[str, list[pl.Expr]]:
        return self._column_exprs(self._keys(self._schema_in))

    def _in_memory_array(self, data: Data) -> bool:
        """Whether in-memory output is a bare array of encoded columns only."""
        return (
            not data.lazy
            and _get_output_config("transform", self)["dense"] == "default"
            and not (data.y_column and data.y_column in data.lf.collect_schema().names())
        )

    def _check_inverse_input(self, X: Any) -> None:
        check_is_fitted(self, "_state")
        if not is_eager(X):
            msg = (
                f"{type(self).__name__}.inverse_transform reads in-memory data (an array, "
                "a sparse matrix or a DataFrame); got a lazy source. Hint: collect the "
                "encoded columns first."
            )
            raise TypeError(msg)
