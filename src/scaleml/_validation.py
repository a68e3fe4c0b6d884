"""Input handling shared by every estimator: what came in, which columns, which label."""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl
import polars.selectors as cs
from sklearn.utils.validation import (
    _check_feature_names,
    _check_n_features,
    _get_feature_names,
    check_array,
)

from scaleml.io import _is_path_list, scan

__all__ = [
    "Data",
    "check_finite_stats",
    "check_numeric",
    "input_data",
    "resolve_columns",
]


@dataclass
class Data:
    """A fit or transform input, normalised.

    Attributes
    ----------
    lf : LazyFrame with the input columns under their fitted names.
    lazy : whether the caller gave an out-of-core source (and gets a LazyFrame back).
    columns : the feature columns, in input order (label excluded).
    y_column : the label column's name when ``y`` was given as a string.
    y : the label as an array when ``y`` was given in memory.
    pandas_index : the index of a pandas input, to restore on pandas output.
    """

    lf: pl.LazyFrame
    lazy: bool
    columns: list[str]
    y_column: str | None = None
    y: np.ndarray | None = None
    pandas_index: Any = None


def is_eager(X: Any) -> bool:
    """Whether `X` is in-memory data that gets scikit-learn's output conventions."""
    if _is_path_list(X):
        return False
    if isinstance(X, (pl.DataFrame, np.ndarray, list)):
        return True
    module = type(X).__module__.split(".")[0]
    if module in ("pandas", "scipy"):
        return True
    if module == "pyarrow":
        import pyarrow as pa

        return isinstance(X, pa.Table)
    # Other array-likes (objects with __array__) are in-memory data too.
    return module not in ("duckdb", "dask") and hasattr(X, "__array__")


def _est_name(est: Any) -> str:
    return type(est).__name__


def _array_to_frame(X: np.ndarray, names: Sequence[str]) -> pl.DataFrame:
    if X.dtype == object:
        # Object arrays (mixed strings, None) are converted column by column so each
        # column gets its own dtype instead of one Object column. A float NaN among
        # strings is the object-array missing marker: it becomes null, not "NaN".
        return pl.DataFrame(
            {
                n: pl.Series(n, _nan_to_none(X[:, i].tolist()), strict=False)
                for i, n in enumerate(names)
            }
        )
    return pl.DataFrame(X, schema=list(names), orient="row")


def _nan_to_none(values: list[Any]) -> list[Any]:
    if any(isinstance(v, str) for v in values):
        return [None if isinstance(v, float) and v != v else v for v in values]
    return values


def input_data(
    est: Any,
    X: Any,
    y: Any = None,
    *,
    reset: bool,
    numeric: bool = True,
    allow_nan: bool = True,
) -> Data:
    """Normalise `X` (and `y`) for `est` and check it against what was seen at fit.

    With ``reset=True`` (fit) this sets ``n_features_in_`` and ``feature_names_in_``;
    otherwise it checks the input matches them.
    """
    y_column = y if isinstance(y, str) else (getattr(est, "_y_column", None) if not reset else None)
    if is_eager(X):
        return _eager_data(est, X, y, y_column, reset=reset, numeric=numeric, allow_nan=allow_nan)
    return _lazy_data(est, scan(X), y, y_column, reset=reset)


def _eager_data(
    est: Any, X: Any, y: Any, y_column: str | None, *, reset: bool, numeric: bool, allow_nan: bool
) -> Data:
    module = type(X).__module__.split(".")[0]
    index = X.index if module == "pandas" else None
    if module not in ("pandas", "polars", "pyarrow"):
        X = check_array(
            X,
            dtype="numeric" if numeric else None,
            ensure_all_finite="allow-nan" if allow_nan else True,
            estimator=est,
        )
        if numeric and X.dtype.kind not in "fiub":
            X = X.astype(np.float64)
        _check_feature_names(est, X, reset=reset)
        _check_n_features(est, X, reset=reset)
        names = _fitted_columns(est) if not reset and hasattr(est, "_columns_in") else None
        frame = _array_to_frame(X, names or [f"x{i}" for i in range(X.shape[1])])
        if reset:
            est._columns_in = frame.columns
        return Data(frame.lazy(), False, list(frame.columns), y=_as_y(y, frame.height))
    frame = pl.from_pandas(X) if module == "pandas" else pl.DataFrame(X)
    frame = frame.rename({c: str(c) for c in frame.columns})
    _check_shape(est, frame, y_column)
    features = frame.drop(y_column) if y_column and y_column in frame.columns else frame
    if y_column is None:
        _check_feature_names(est, X, reset=reset)
    data = _named_data(est, frame.lazy(), features.columns, y, y_column, reset=reset, lazy=False)
    if reset and y_column is None and _get_feature_names(X) is None:
        # Non-string pandas column names (0, 1, ...) are not feature names to sklearn.
        del est.feature_names_in_
    data.pandas_index = index
    return data


def _check_shape(est: Any, frame: pl.DataFrame, y_column: str | None) -> None:
    n_cols = frame.width - (1 if y_column in frame.columns else 0)
    if frame.height == 0 or n_cols == 0:
        what = "sample" if frame.height == 0 else "feature"
        msg = (
            f"Found array with 0 {what}(s) (shape=({frame.height}, {n_cols})) while a "
            f"minimum of 1 is required by {_est_name(est)}."
        )
        raise ValueError(msg)


def _lazy_data(est: Any, lf: pl.LazyFrame, y: Any, y_column: str | None, *, reset: bool) -> Data:
    names = lf.collect_schema().names()
    features = [c for c in names if c != y_column]
    if reset and y_column is not None and y_column not in names:
        msg = f"y={y_column!r} is not a column of X. {_hint(y_column, names)}"
        raise ValueError(msg)
    return _named_data(est, lf, features, y, y_column, reset=reset, lazy=True)


def _named_data(
    est: Any,
    lf: pl.LazyFrame,
    features: list[str],
    y: Any,
    y_column: str | None,
    *,
    reset: bool,
    lazy: bool,
) -> Data:
    if reset:
        est.n_features_in_ = len(features)
        est.feature_names_in_ = np.asarray(features, dtype=object)
        est._columns_in = list(features)
        est._y_column = y_column
    else:
        _check_columns(est, features)
        features = _fitted_columns(est)
    y_arr = None if isinstance(y, str) or y is None else np.asarray(y)
    return Data(lf, lazy, features, y_column=y_column, y=y_arr)


def _fitted_columns(est: Any) -> list[str]:
    return list(est._columns_in)


def _check_columns(est: Any, received: list[str]) -> None:
    expected = _fitted_columns(est)
    missing = [c for c in expected if c not in received]
    extra = [c for c in received if c not in expected]
    if not missing and not extra:
        return
    msg = f"The feature names should match those that were passed during fit to {_est_name(est)}.\n"
    if extra:
        msg += "Feature names unseen at fit time:\n" + "".join(f"- {c}\n" for c in extra)
    if missing:
        msg += "Feature names seen at fit time, yet now missing:\n" + "".join(
            f"- {c}\n" for c in missing
        )
        msg += _hint(missing[0], extra) if extra else ""
    raise ValueError(msg.rstrip())


def _as_y(y: Any, n_rows: int) -> np.ndarray | None:
    if y is None:
        return None
    y_arr = np.asarray(y)
    if y_arr.shape[0] != n_rows:
        msg = f"X has {n_rows} rows but y has {y_arr.shape[0]}; they must have the same length."
        raise ValueError(msg)
    return y_arr


def _hint(name: str, candidates: Sequence[str]) -> str:
    close = difflib.get_close_matches(name, list(candidates), n=3)
    return f"Hint: Did you mean one of these columns: {close}?" if close else ""


def resolve_columns(est: Any, selection: Any, schema: pl.Schema) -> list[str]:
    """The feature columns `selection` picks: None (all), a name, a list, or a selector.

    `schema` holds the feature columns only (the label is never a feature). The result
    follows the input's column order.
    """
    available = schema.names()
    if selection is None:
        return available
    if isinstance(selection, (cs.Selector, pl.Expr)):
        return list(cs.expand_selector(schema, selection, strict=False))
    names = [selection] if isinstance(selection, str) else list(selection)
    unknown = [c for c in names if c not in available]
    if unknown:
        msg = (
            f"columns={names!r} of {_est_name(est)} names columns that are not features of "
            f"X: {unknown}. {_hint(unknown[0], available)}"
        ).rstrip()
        raise ValueError(msg)
    wanted = set(names)
    return [c for c in available if c in wanted]


def check_numeric(est: Any, schema: pl.Schema, columns: Sequence[str]) -> None:
    """Raise naming every non-numeric column among `columns`."""
    bad = {c: schema[c] for c in columns if not (schema[c].is_numeric() or schema[c] == pl.Boolean)}
    if bad:
        listed = ", ".join(f"{c!r} ({dt})" for c, dt in bad.items())
        msg = (
            f"{_est_name(est)} needs numeric columns, but got non-numeric column(s) {listed}. "
            "Hint: encode them first (OneHotEncoder, OrdinalEncoder) or restrict this step "
            "with columns=polars.selectors.numeric()."
        )
        raise TypeError(msg)


def check_finite_stats(
    est: Any, columns: Sequence[str], has_inf: Sequence[bool] | np.ndarray
) -> None:
    """Raise naming the columns in which the engine found an infinite value."""
    bad = [c for c, flag in zip(columns, has_inf, strict=True) if flag]
    if bad:
        msg = (
            f"Input X contains infinity in column(s) {bad}; {_est_name(est)} accepts "
            "finite values and NaN/null only."
        )
        raise ValueError(msg)
