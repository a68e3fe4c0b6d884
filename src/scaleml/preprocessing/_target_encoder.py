"""TargetEncoder: encode categories by the (shrunk) mean of the target per category.

Fit is one streaming engine group-by per column: for every (category, fold) pair, the
count, the sum of the encoded target and, for a continuous target, the sum of squared
deviations (merged across chunks with Chan et al.'s update). The encodings of ``fit``
use all folds; the cross-fitted encodings of ``fit_transform`` use, for the rows of
fold ``f``, the statistics of every other fold -- both from the same state.

Folds are not scikit-learn's (Stratified)KFold: a row's fold is a stable hash of its
position (splitmix64 of the row index and the seed, modulo ``cv``), computable in a
streaming query with no shuffle of the data, identical across runs, machines and
versions. :func:`hash_folds` gives those fold ids, so scikit-learn's TargetEncoder
given ``cv=PredefinedSplit(hash_folds(n, cv, seed))`` returns the same encoding.
"""

from __future__ import annotations

import numbers
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import polars as pl
from sklearn.utils._available_if import available_if
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.multiclass import type_of_target
from sklearn.utils.validation import check_is_fitted

from scaleml._base import ExprTransformer
from scaleml._validation import Data, check_finite_stats, input_data, resolve_columns
from scaleml.preprocessing._categories import (
    categories_array,
    code_expr,
    is_missing,
    key_expr,
    kind_of,
)
from scaleml.preprocessing._encoder_base import _prepare_input

__all__ = ["TargetEncoder", "fold_expr", "hash_folds"]

_Y = "__scaleml_te_y"
_ROW = "__scaleml_te_row"
_FOLD = "__scaleml_te_fold"
_GOLDEN = 0x9E3779B97F4A7C15
_MIX1 = 0xBF58476D1CE4E5B9
_MIX2 = 0x94D049BB133111EB


def hash_folds(n_rows: int, cv: int, seed: int = 0) -> np.ndarray:
    """Fold id of each of `n_rows` rows: splitmix64(row * golden + seed) % cv.

    The NumPy reference of :func:`fold_expr`.

    Examples
    --------
    >>> hash_folds(8, 3)
    array([0, 1, 0, 1, 1, 1, 0, 2])
    """
    with np.errstate(over="ignore"):
        z = np.arange(n_rows, dtype=np.uint64) * np.uint64(_GOLDEN) + np.uint64(seed % 2**64)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(_MIX1)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(_MIX2)
        z = z ^ (z >> np.uint64(31))
    return (z % np.uint64(cv)).astype(np.int64)


def fold_expr(row: pl.Expr, cv: int, seed: int = 0) -> pl.Expr:
    """:func:`hash_folds` as a Polars expression of a row-index expression."""

    def u(v: int) -> pl.Expr:
        return pl.lit(v, dtype=pl.UInt64)

    z = row.cast(pl.UInt64) * u(_GOLDEN) + u(seed % 2**64)
    # Unsigned integer division by 2**s is a logical shift; UInt64 products wrap.
    z = z.xor(z // u(2**30)) * u(_MIX1)
    z = z.xor(z // u(2**27)) * u(_MIX2)
    z = z.xor(z // u(2**31))
    return (z % u(cv)).cast(pl.Int64)


@dataclass
class _Moments:
    """Count, sums (one per target column) and M2 (continuous) of groups, arrays."""

    n: np.ndarray
    s: np.ndarray  # (..., n_targets)
    m2: np.ndarray

    def merge(self, o: _Moments) -> _Moments:
        n = self.n + o.n
        safe = np.maximum(n, 1)
        with np.errstate(invalid="ignore", divide="ignore"):
            delta = o.s[..., 0] / np.maximum(o.n, 1) - self.s[..., 0] / np.maximum(self.n, 1)
        m2 = (
            self.m2 + o.m2 + np.where((self.n > 0) & (o.n > 0), delta**2 * self.n * o.n / safe, 0.0)
        )
        return _Moments(n, self.s + o.s, m2)


@dataclass
class _TargetState:
    """Per column, the group-by frame ``value, fold, n, s0.., m2``; globally, per fold."""

    rows: int = 0
    columns: dict[str, pl.DataFrame] = field(default_factory=dict)
    totals: pl.DataFrame | None = None


def _merge_frames(a: pl.DataFrame, b: pl.DataFrame, keys: list[str]) -> pl.DataFrame:
    both = pl.concat([a, b], how="vertical_relaxed")
    sums = [c for c in both.columns if c.startswith("s")]
    mean = pl.col("s0") / pl.col("n")
    total_mean = pl.col("s0").sum() / pl.col("n").sum()
    return both.group_by(keys, maintain_order=True).agg(
        pl.col("n").sum(),
        *[pl.col(s).sum() for s in sums],
        # Chan et al.: M2 of a union = sum of M2 + n_i (mean_i - mean)^2.
        (pl.col("m2") + pl.col("n") * (mean - total_mean) ** 2).sum().alias("m2"),
    )


class TargetEncoder(ExprTransformer):
    """Target Encoder for regression and classification targets.

    The scikit-learn estimator of the same name (1.9 semantics), fitted out-of-core:
    each category is encoded by a shrunk estimate of the target mean of its rows
    (empirical Bayes with ``smooth="auto"``, as scikit-learn), one engine group-by per
    column. ``fit_transform`` cross-fits: the rows of each fold are encoded with the
    statistics of the other folds. Folds come from a stable hash of the row position
    (see :func:`hash_folds`), not from (Stratified)KFold; give scikit-learn
    ``cv=PredefinedSplit(hash_folds(n, cv, seed))`` to reproduce its output.

    One deliberate difference: with explicit ``categories``, rows whose value is not
    among them are left out of the statistics of every category. scikit-learn 1.9
    counts them in the *first* category (its ordinal code for "unknown" is 0 there).

    Parameters
    ----------
    categories : "auto" or list of array-like, default="auto"
    target_type : {"auto", "continuous", "binary", "multiclass"}, default="auto"
    smooth : "auto" or float, default="auto"
    cv : int or cross-validation splitter, default=5
        Number of hash folds; a splitter (or iterable of splits) is accepted for
        in-memory data.
    shuffle : bool, default="deprecated"
        As in scikit-learn 1.9 (deprecated): ``False`` makes contiguous folds in row
        order (KFold without shuffling); otherwise folds are hashed.
    random_state : int or None, default="deprecated"
        Seed of the fold hash (default seed 0). Deprecated in scikit-learn 1.9, where
        it seeds the shuffling of KFold; here it is not deprecated and gives no warning.
    columns : str, list of str or polars selector, default=None
        Columns to encode; the others pass through. None means every feature column.

    Attributes
    ----------
    encodings_ : list of ndarray
        Per encoded column (and class, for multiclass: column-major), the encoding of
        each category of ``categories_``.
    categories_ : list of ndarray
    target_type_ : str
    target_mean_ : float or ndarray
    classes_ : ndarray or None
    n_features_in_ : int
    feature_names_in_ : ndarray of shape (n_features_in_,)

    Examples
    --------
    >>> import numpy as np
    >>> from scaleml import TargetEncoder
    >>> X = np.array([["dog"] * 20 + ["cat"] * 30 + ["snake"] * 38], dtype=object).T
    >>> y = np.array([90.3] * 5 + [80.1] * 15 + [20.4] * 5 + [20.1] * 25 + [21.2] * 8 + [49] * 30)
    >>> enc = TargetEncoder(smooth=5.0).fit(X, y)
    >>> enc.target_mean_.round(4), [e.round(2) for e in enc.encodings_]
    (np.float64(44.2852), [array([23.6 , 74.98, 43.28])])
    """

    _numeric = False
    _allow_nan = True

    _parameter_constraints: dict[str, list[Any]] = {
        "categories": [StrOptions({"auto"}), list],
        "target_type": [StrOptions({"auto", "continuous", "binary", "multiclass"})],
        "smooth": [StrOptions({"auto"}), Interval(numbers.Real, 0, None, closed="left")],
        "cv": ["cv_object"],
        "shuffle": ["boolean", StrOptions({"deprecated"})],
        "random_state": ["random_state", StrOptions({"deprecated"})],
        "columns": [None, str, list, tuple, pl.Expr],
    }

    def __init__(
        self,
        categories: Any = "auto",
        target_type: str = "auto",
        smooth: Any = "auto",
        cv: Any = 5,
        shuffle: Any = "deprecated",
        random_state: Any = "deprecated",
        *,
        columns: Any = None,
    ) -> None:
        self.categories = categories
        self.target_type = target_type
        self.smooth = smooth
        self.cv = cv
        self.shuffle = shuffle
        self.random_state = random_state
        self.columns = columns

    @available_if(lambda self: False)  # type: ignore[untyped-decorator]
    def partial_fit(self, X: Any, y: Any = None) -> TargetEncoder:  # pragma: no cover
        """Not available: as in scikit-learn, fit at once (the fit still streams)."""
        raise AttributeError("partial_fit")

    # -- fitting ---------------------------------------------------------------------
    def fit(self, X: Any, y: Any = None) -> TargetEncoder:
        """Fit the encodings on `X` and the target `y`.

        Parameters
        ----------
        X : array-like, DataFrame, LazyFrame, path/glob, DuckDB relation or Arrow data
        y : array-like or str
            The target, or the name of the target column of `X`.

        Returns
        -------
        self
        """
        self._reset()
        self._fit(X, y, fold_ids=None)
        return self

    def _fit(self, X: Any, y: Any, fold_ids: np.ndarray | None) -> Data:
        self._validate_params()
        X, spelling = _prepare_input(X)
        self._spelling = spelling
        if y is None:
            msg = (
                "TargetEncoder requires y to be passed, but the target y is None. Hint: "
                "pass the target as an array or as the name of a column of X."
            )
            raise ValueError(msg)
        data = input_data(self, X, y, reset=True, numeric=False, allow_nan=True)
        schema = data.lf.collect_schema()
        self._schema_in = pl.Schema({c: schema[c] for c in data.columns})
        self._fit_columns = resolve_columns(self, self.columns, self._schema_in)
        for c in self._fit_columns:
            if kind_of(self._schema_in[c]) is None:
                key_expr(self, c, "null", self._schema_in[c])  # raises, naming the column
        if self.categories != "auto" and len(self.categories) != len(self._fit_columns):
            msg = (
                "Shape mismatch: if categories is an array, it has to be of shape "
                f"(n_features,): {len(self._fit_columns)} encoded column(s), got "
                f"{len(self.categories)} list(s) of categories."
            )
            raise ValueError(msg)
        lf, y_expr = self._with_target(data)
        self._n_folds = self._fold_count(fold_ids)
        lf = lf.with_row_index(_ROW).with_columns(self._fold_column(lf, fold_ids).alias(_FOLD))
        state = self._stats(lf, y_expr)
        self._state = state
        self._finalize_state(state)
        return data

    def _fold_count(self, fold_ids: np.ndarray | None) -> int:
        if fold_ids is not None:
            return int(fold_ids.max()) + 1
        return int(self.cv) if isinstance(self.cv, numbers.Integral) else 1

    def _seed(self) -> int:
        rs = self.random_state
        return int(rs) if isinstance(rs, numbers.Integral) else 0

    def _fold_column(self, lf: pl.LazyFrame, fold_ids: np.ndarray | None) -> pl.Expr:
        if fold_ids is not None:
            return pl.lit(pl.Series(fold_ids, dtype=pl.Int64))
        k = self._n_folds
        if self.shuffle is False:
            # KFold(shuffle=False): contiguous folds, the first n % k one row larger.
            n = int(lf.select(pl.len()).collect().item())
            sizes = np.full(k, n // k, dtype=np.int64)
            sizes[: n % k] += 1
            bounds = pl.Series(np.cumsum(sizes)[:-1], dtype=pl.Int64)
            return (
                pl.lit(bounds)
                .search_sorted(pl.col(_ROW).cast(pl.Int64), side="right")
                .cast(pl.Int64)
            )
        return fold_expr(pl.col(_ROW), k, self._seed())

    def _with_target(self, data: Data) -> tuple[pl.LazyFrame, list[pl.Expr]]:
        """The frame with the target as column ``_Y``, and the encoded-target columns."""
        lf = data.lf.select([*self._fit_columns, *([data.y_column] if data.y_column else [])])
        if data.y_column is not None:
            lf = lf.rename({data.y_column: _Y})
            self._target_info_lazy(lf)
        else:
            y = np.asarray(data.y)
            self._target_info(y)
            if self.target_type_ == "continuous":
                y_col = pl.Series(_Y, y.astype(np.float64))
            else:
                assert self.classes_ is not None
                y_col = pl.Series(_Y, np.searchsorted(self.classes_, y), dtype=pl.Int64)
            lf = pl.concat([lf, pl.DataFrame([y_col]).lazy()], how="horizontal")
        return lf, self._encoded_target()

    def _target_info(self, y: np.ndarray) -> None:
        if self.target_type == "auto":
            accepted = ("binary", "multiclass", "continuous")
            inferred = type_of_target(y, input_name="y")
            if inferred not in accepted:
                msg = (
                    f"Unknown label type: Target type was inferred to be {inferred!r}. Only "
                    f"{accepted} are supported."
                )
                raise ValueError(msg)
            self.target_type_ = inferred
        else:
            self.target_type_ = self.target_type
        if self.target_type_ == "continuous":
            y = np.asarray(y, dtype=np.float64)
            if not np.isfinite(y).all():
                msg = "Input y contains NaN or infinity; TargetEncoder needs a finite target."
                raise ValueError(msg)
            self.classes_ = None
            self._y_is_code = False
            return
        self.classes_ = np.unique(y)
        if self.target_type_ == "binary" and len(self.classes_) > 2:
            msg = f"Expected binary target, got {len(self.classes_)} classes: {self.classes_!r}."
            raise ValueError(msg)
        self._y_is_code = True

    def _target_info_lazy(self, lf: pl.LazyFrame) -> None:
        """Target type and classes of a target column, in one or two small queries."""
        dtype = lf.collect_schema()[_Y]
        y = pl.col(_Y)
        checks = [y.null_count().alias("nulls"), y.n_unique().alias("n_unique")]
        if dtype.is_float():
            checks += [y.is_nan().any().alias("nan"), (y != y.floor()).any().alias("frac")]
        row = lf.select(checks).collect(engine="streaming").row(0, named=True)
        if row["nulls"] or row.get("nan"):
            msg = "The target y contains null or NaN; TargetEncoder needs a target for every row."
            raise ValueError(msg)
        if self.target_type != "auto":
            self.target_type_ = self.target_type
        elif dtype.is_float() and row["frac"]:
            self.target_type_ = "continuous"
        else:
            self.target_type_ = "binary" if row["n_unique"] <= 2 else "multiclass"
        self._y_is_code = False
        if self.target_type_ == "continuous":
            self.classes_ = None
            return
        classes = lf.select(y.unique().sort()).collect(engine="streaming")[_Y]
        self.classes_ = classes.to_numpy()
        self._class_values = classes

    def _encoded_target(self) -> list[pl.Expr]:
        y = pl.col(_Y)
        if self.target_type_ == "continuous":
            return [y.cast(pl.Float64).alias("t0")]
        assert self.classes_ is not None
        k = len(self.classes_)
        if self._y_is_code:
            codes = [y == i for i in range(k)]
        else:
            codes = [y == pl.lit(v) for v in self._class_values.to_list()]
        if self.target_type_ == "binary":
            # LabelEncoder: the second class is 1 (a single class is all 0).
            return [codes[1].cast(pl.Float64).alias("t0")] if k > 1 else [pl.lit(0.0).alias("t0")]
        return [c.cast(pl.Float64).alias(f"t{i}") for i, c in enumerate(codes)]

    def _stats(self, lf: pl.LazyFrame, targets: list[pl.Expr]) -> _TargetState:
        n_t = len(targets)
        lf = lf.with_columns(targets)
        aggs = [
            pl.len().cast(pl.Int64).alias("n"),
            *[pl.col(f"t{i}").sum().alias(f"s{i}") for i in range(n_t)],
        ]
        m2 = (pl.col("t0").var(ddof=0).fill_null(0.0) * pl.len()).alias("m2")
        aggs.append(m2 if self.target_type_ == "continuous" else pl.lit(0.0).alias("m2"))
        queries = [lf.group_by(_FOLD).agg(aggs)]
        for c in self._fit_columns:
            key, _ = self._key(c)
            queries.append(lf.with_columns(key.alias("value")).group_by("value", _FOLD).agg(aggs))
        frames = pl.collect_all(queries, engine="streaming")
        totals = frames[0]
        rows = int(totals["n"].sum())
        floats = [c for c in self._fit_columns if self._schema_in[c].is_float()]
        has_inf = [
            bool(f["value"].is_infinite().any())
            for c, f in zip(self._fit_columns, frames[1:], strict=True)
            if c in floats
        ]
        check_finite_stats(self, floats, has_inf)
        return _TargetState(rows, dict(zip(self._fit_columns, frames[1:], strict=True)), totals)

    def _key(self, c: str) -> tuple[pl.Expr, pl.DataType]:
        kind = kind_of(self._schema_in[c]) or "string"
        return key_expr(self, c, kind, self._schema_in[c])

    # -- finalizing ------------------------------------------------------------------
    def _finalize_state(self, state: _TargetState) -> None:
        if state.rows == 0:
            msg = (
                "Found array with 0 sample(s) while a minimum of 1 is required by "
                f"{type(self).__name__}."
            )
            raise ValueError(msg)
        assert state.totals is not None
        self._fold_totals = self._moments(state.totals.with_columns(value=pl.lit(0)), [0])
        total = _sum_folds(self._fold_totals)
        self.target_mean_ = total.s[0] / total.n[0]
        if self.target_type_ != "multiclass":
            self.target_mean_ = np.float64(self.target_mean_[0])
        self.categories_ = []
        self._fold_stats: list[_Moments] = []
        for i, c in enumerate(self._fit_columns):
            cats, values = self._column_categories(i, c, state.columns[c])
            self.categories_.append(cats)
            self._fold_stats.append(self._moments(state.columns[c], values))
        self.encodings_ = self._encodings(total, [_sum_folds(m) for m in self._fold_stats])

    def _column_categories(
        self, i: int, c: str, frame: pl.DataFrame
    ) -> tuple[np.ndarray, list[Any]]:
        """``categories_[i]`` and the matching list of lookup values (None = missing)."""
        present = frame.filter(pl.col("value").is_not_null())["value"].unique().sort()
        n_missing = frame.filter(pl.col("value").is_null()).height
        kind = str(kind_of(frame.schema["value"]))
        as_object, missing = self._spelling.get(c, (False, None))
        if c not in self._spelling:
            missing = np.nan if kind in ("int", "float") else None
        if self.categories == "auto":
            cats = categories_array(present, kind, missing, n_missing > 0, as_object)
        else:
            cats = np.array(self.categories[i], dtype=object if kind == "string" else None)
        values = [None if is_missing(v) else v for v in cats.tolist()]
        return cats, values

    def _moments(self, frame: pl.DataFrame, values: list[Any]) -> _Moments:
        """Dense (len(values), folds) moments of a group-by frame."""
        k = self._n_folds
        n_t = sum(1 for col in frame.columns if col.startswith("s"))
        index = {("missing",) if v is None else v: j for j, v in enumerate(values)}
        n = np.zeros((len(values), k))
        s = np.zeros((len(values), k, n_t))
        m2 = np.zeros((len(values), k))
        for row in frame.iter_rows(named=True):
            v = row["value"]
            j = index.get(("missing",) if v is None else v)
            if j is None:
                continue  # a value outside the given categories: unknown, not counted
            f = row[_FOLD]
            n[j, f] += row["n"]
            s[j, f] += [row[f"s{t}"] for t in range(n_t)]
            m2[j, f] += row["m2"]
        return _Moments(n, s, m2)

    def _encodings(self, total: _Moments, per_column: list[_Moments]) -> list[np.ndarray]:
        """scikit-learn's encodings from moments: per column (and class)."""
        y_mean = total.s[0] / total.n[0]
        y_var = self._target_variance(total)
        out: list[np.ndarray] = []
        for m in per_column:
            for t in range(m.s.shape[-1]):
                out.append(self._encode(m, t, y_mean[t], y_var[t]))
        return out

    def _target_variance(self, total: _Moments) -> np.ndarray:
        n = total.n[0]
        if self.target_type_ == "continuous":
            return np.array([total.m2[0] / n])
        p = np.asarray(total.s[0] / n)
        return np.asarray(p - p * p)

    def _encode(self, m: _Moments, t: int, y_mean: float, y_var: float) -> np.ndarray:
        n, s = m.n, m.s[..., t]
        with np.errstate(invalid="ignore", divide="ignore"):
            if self.smooth == "auto":
                mean = s / n
                # Sum of squared deviations within each category: stored for a
                # continuous target, n p (1 - p) for a 0/1 class indicator.
                ssd = (
                    m.m2 if self.target_type_ == "continuous" else s - s * s / np.where(n > 0, n, 1)
                )
                lam = y_var * n / (y_var * n + ssd / n)
                enc = lam * mean + (1 - lam) * y_mean
                return np.where(np.isnan(lam), y_mean, enc)
            smooth = float(self.smooth)
            counts = n + smooth
            enc = (s + smooth * y_mean) / counts
            return np.where(counts == 0, y_mean, enc)

    # -- transforming ----------------------------------------------------------------
    def _class_names(self) -> list[str]:
        if self.target_type_ != "multiclass" or self.classes_ is None:
            return []
        return [str(c) for c in self.classes_]

    def _output_exprs(self) -> dict[str, list[pl.Expr]]:
        check_is_fitted(self, "encodings_")
        means = np.atleast_1d(self.target_mean_)
        n_t = len(means)
        exprs: dict[str, list[pl.Expr]] = {}
        for i, c in enumerate(self._fit_columns):
            key, dtype = self._key(c)
            cats = self.categories_[i]
            values = [v for v in cats.tolist() if not is_missing(v)]
            missing_at = next((j for j, v in enumerate(cats.tolist()) if is_missing(v)), None)
            known = [j for j, v in enumerate(cats.tolist()) if not is_missing(v)]
            outs = []
            for t in range(n_t):
                enc = self.encodings_[i * n_t + t]
                missing_code = float(enc[missing_at]) if missing_at is not None else float(means[t])
                e = code_expr(
                    key,
                    dtype,
                    values,
                    enc[known].tolist(),
                    missing_code,
                    float(means[t]),
                    pl.Float64(),
                )
                name = c if self.target_type_ != "multiclass" else f"{c}_{self._class_names()[t]}"
                outs.append(e.alias(name))
            exprs[c] = outs
        return exprs

    def _output_names(self, rename: dict[str, str]) -> dict[str, list[str]]:
        if self.target_type_ != "multiclass":
            return {}
        return {c: [f"{rename[c]}_{k}" for k in self._class_names()] for c in self._fit_columns}

    def transform(self, X: Any) -> Any:
        """Encode `X` with the encodings learned on all the data; unknown categories
        get ``target_mean_``.

        Returns
        -------
        LazyFrame, ndarray or DataFrame
        """
        X, _ = _prepare_input(X)
        return super().transform(X)

    def _check_transform_input(self, data: Data) -> None:
        schema = data.lf.collect_schema()
        for c in self._fit_columns:
            key_expr(self, c, kind_of(self._schema_in[c]) or "string", schema[c])

    def fit_transform(self, X: Any, y: Any = None, **fit_params: Any) -> Any:
        """Fit, then encode `X` by cross fitting: the rows of each fold with the
        statistics of the other folds.

        Returns
        -------
        LazyFrame, ndarray or DataFrame
        """
        if self.shuffle != "deprecated":
            # random_state is not deprecated here: it seeds the fold hash.
            warnings.warn(
                "`TargetEncoder.shuffle` is deprecated in version 1.9 and will be removed "
                "in version 1.11. Pass a cross-validation generator as `cv` argument to "
                "specify the shuffling behaviour instead.",
                FutureWarning,
                stacklevel=2,
            )
        self._reset()
        fold_ids = self._splitter_folds(X, y)
        data = self._fit(X, y, fold_ids)
        return self._finish(data, self._cross_fit_lf(data, fold_ids))

    def _splitter_folds(self, X: Any, y: Any) -> np.ndarray | None:
        if isinstance(self.cv, numbers.Integral):
            return None
        from sklearn.model_selection import check_cv

        y_arr = None if isinstance(y, str) else np.asarray(y)
        if y_arr is None or not hasattr(X, "__len__"):
            msg = (
                "TargetEncoder(cv=<splitter>) needs in-memory X and y; for out-of-core data "
                "pass an int cv (hash folds)."
            )
            raise TypeError(msg)
        splitter = check_cv(self.cv, y_arr, classifier=True)
        n = len(y_arr)
        fold_ids = np.full(n, -1, dtype=np.int64)
        seen = np.zeros(n)
        for f, (_, test) in enumerate(splitter.split(np.zeros((n, 1)), y_arr)):
            fold_ids[test] = f
            seen[test] += 1
        if not np.all(seen == 1):
            msg = (
                "Validation indices from `cv` must cover each sample index exactly once with "
                "no overlap. Pass a splitter with non-overlapping validation folds as `cv` or "
                "refer to the docs for other options."
            )
            raise ValueError(msg)
        return fold_ids

    def _cross_fit_lf(self, data: Data, fold_ids: np.ndarray | None) -> pl.LazyFrame:
        k = self._n_folds
        means = np.atleast_1d(self.target_mean_)
        n_t = len(means)
        # Per fold: the moments of every other fold, hence its encodings.
        train_totals = [_others(self._fold_totals, f) for f in range(k)]
        tables: list[list[np.ndarray]] = []  # [column*target] -> (n_cats + 1, k)
        for f in range(k):
            per_col = [_others(m, f) for m in self._fold_stats]
            tables.append(self._encodings(train_totals[f], per_col))
        # scikit-learn gives unknown rows the train mean of its last fold iteration.
        last_mean = train_totals[-1].s[0] / train_totals[-1].n[0]
        lf = data.lf.with_row_index(_ROW)
        lf = lf.with_columns(self._fold_column(lf, fold_ids).alias(_FOLD))
        mapping: dict[str, list[pl.Expr]] = {}
        for i, c in enumerate(self._fit_columns):
            key, dtype = self._key(c)
            cats = self.categories_[i].tolist()
            values = [v for v in cats if not is_missing(v)]
            known = [j for j, v in enumerate(cats) if not is_missing(v)]
            missing_at = next((j for j, v in enumerate(cats) if is_missing(v)), len(cats))
            code = code_expr(key, dtype, values, known, missing_at, len(cats), pl.Int64())
            outs = []
            for t in range(n_t):
                table = np.stack([tables[f][i * n_t + t] for f in range(k)], axis=1)
                table = np.vstack([table, np.full((1, k), last_mean[t])])
                idx = code * k + pl.col(_FOLD)
                name = c if self.target_type_ != "multiclass" else f"{c}_{self._class_names()[t]}"
                outs.append(pl.lit(pl.Series(table.ravel())).gather(idx).alias(name))
            mapping[c] = outs
        exprs: list[pl.Expr] = []
        for col in data.columns:
            exprs.extend(mapping.get(col, [pl.col(col)]))
        if data.y_column:
            exprs.append(pl.col(data.y_column))
        return lf.select(exprs)

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.target_tags.required = True
        return tags


def _sum_folds(m: _Moments) -> _Moments:
    """Moments over all folds (axis 1), merged with Chan's update."""
    out = _Moments(m.n[:, 0], m.s[:, 0], m.m2[:, 0])
    for f in range(1, m.n.shape[1]):
        out = out.merge(_Moments(m.n[:, f], m.s[:, f], m.m2[:, f]))
    return out


def _others(m: _Moments, fold: int) -> _Moments:
    """Moments of every fold but `fold`."""
    keep = [f for f in range(m.n.shape[1]) if f != fold]
    return _sum_folds(_Moments(m.n[:, keep], m.s[:, keep], m.m2[:, keep]))
