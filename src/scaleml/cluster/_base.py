"""What KMeans and MiniBatchKMeans share: prediction, transform, scoring, helpers."""

from __future__ import annotations

import contextlib
import copy
import warnings
from collections.abc import Iterable, Iterator
from numbers import Integral, Real
from typing import Any

import numpy as np
import polars as pl
from sklearn.base import ClassNamePrefixFeaturesOutMixin, ClusterMixin, TransformerMixin
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils._set_output import _get_output_config
from sklearn.utils.validation import _is_arraylike_not_scalar, check_array

from scaleml._base import SetOutputMixin
from scaleml._fit import _check_finite_block
from scaleml._predictor import BatchEstimator
from scaleml._stats import ColumnStats
from scaleml._validation import Data, check_numeric, input_data
from scaleml.cluster._init import validate_center_shape
from scaleml.io import iter_batches

__all__ = [
    "BaseKMeans",
    "centers_t",
    "check_n_samples",
    "derive_seed",
    "numba_threads",
    "tolerance",
]


@contextlib.contextmanager
def numba_threads(n_jobs: int | None) -> Iterator[None]:
    """Run the numba kernels on `n_jobs` threads.

    None keeps numba's current count (all cores unless the caller set it otherwise),
    -1 means all cores, -2 all but one, and so on.
    """
    import numba

    before = numba.get_num_threads()
    if n_jobs is None:
        yield
        return
    available = int(numba.config.NUMBA_NUM_THREADS)  # type: ignore[attr-defined]
    wanted = max(1, available + 1 + n_jobs) if n_jobs < 0 else max(1, min(n_jobs, available))
    numba.set_num_threads(wanted)
    try:
        yield
    finally:
        numba.set_num_threads(before)


def derive_seed(random_state: np.random.RandomState) -> int:
    """A seed for the hashed random streams, drawn from a copy of `random_state`.

    The copy leaves `random_state` untouched, so k-means++ then draws exactly the
    numbers scikit-learn draws from the same random state.
    """
    return int(copy.deepcopy(random_state).randint(np.iinfo(np.int32).max))


def check_n_samples(est: Any, n_rows: int, n_features: int) -> None:
    """scikit-learn's errors for an empty input and for fewer rows than clusters."""
    if n_rows == 0:
        msg = (
            f"Found array with 0 sample(s) (shape=(0, {n_features})) while a minimum of 1 "
            f"is required by {type(est).__name__}."
        )
        raise ValueError(msg)
    if n_rows < est.n_clusters:
        msg = f"n_samples={n_rows} should be >= n_clusters={est.n_clusters}."
        raise ValueError(msg)


def tolerance(stats: ColumnStats, tol: float) -> float:
    """scikit-learn's ``_tolerance``: `tol` times the mean variance of the features."""
    if tol == 0:
        return 0.0
    return float(np.mean(stats.var) * tol)


def centers_t(centers: np.ndarray) -> np.ndarray:
    """The layout the kernels take: centres transposed, C-contiguous."""
    return np.ascontiguousarray(np.asarray(centers, dtype=np.float64).T)


class BaseKMeans(
    ClassNamePrefixFeaturesOutMixin,  # type: ignore[misc]
    SetOutputMixin,
    TransformerMixin,  # type: ignore[misc]
    ClusterMixin,  # type: ignore[misc]
    BatchEstimator,
    auto_wrap_output_keys=None,
):
    """Prediction, transform and scoring shared by KMeans and MiniBatchKMeans.

    ``predict`` and ``transform`` of a lazy input are Polars expressions (nothing is
    read); in-memory input goes through the numba kernels and gives what
    scikit-learn gives.
    """

    _parameter_constraints: dict[str, list[Any]] = {
        "n_clusters": [Interval(Integral, 1, None, closed="left")],
        "init": [StrOptions({"k-means++", "random"}), callable, "array-like"],
        "n_init": [StrOptions({"auto"}), Interval(Integral, 1, None, closed="left")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="left")],
        "verbose": ["verbose"],
        "random_state": ["random_state"],
    }

    # -- input --------------------------------------------------------------------------
    def _input(self, X: Any, y: Any, *, reset: bool) -> Data:
        # y is ignored, except that a column named by a string is not a feature.
        data = input_data(
            self, X, y if isinstance(y, str) else None, reset=reset, numeric=True, allow_nan=False
        )
        check_numeric(self, data.lf.collect_schema(), data.columns)
        return data

    def _check_init(self, n_features: int) -> Any:
        init = self.init
        if _is_arraylike_not_scalar(init):
            init = check_array(init, dtype=np.float64, copy=True, order="C")
            validate_center_shape(np.empty((0, n_features)), init, self.n_clusters)
        return init

    def _resolve_n_init(self, default_n_init: int) -> int:
        """scikit-learn's choice of the number of initialisations."""
        n_init: int
        if self.n_init == "auto":
            is_random = isinstance(self.init, str) and self.init == "random"
            n_init = default_n_init if is_random or callable(self.init) else 1
        else:
            n_init = self.n_init
        if _is_arraylike_not_scalar(self.init) and n_init != 1:
            warnings.warn(
                "Explicit initial center position passed: performing only one init in "
                f"{type(self).__name__} instead of n_init={n_init}.",
                RuntimeWarning,
                stacklevel=3,
            )
            n_init = 1
        return n_init

    def _eager_blocks(self, data: Data) -> Iterator[np.ndarray]:
        for block in iter_batches(
            data.lf, data.columns, batch_rows=getattr(self, "batch_rows", None)
        ):
            _check_finite_block(self, block, data.columns)
            yield block

    # -- expressions --------------------------------------------------------------------
    def _sq_distance_exprs(self, columns: list[str]) -> list[pl.Expr]:
        exprs = []
        for center in self.cluster_centers_:
            terms = []
            for col, value in zip(columns, center, strict=True):
                diff = pl.col(col).cast(pl.Float64) - float(value)
                terms.append(diff * diff)
            exprs.append(pl.sum_horizontal(terms, ignore_nulls=False))
        return exprs

    def _prediction_expr(self, columns: list[str]) -> pl.Expr:
        nearest = pl.concat_list(self._sq_distance_exprs(columns)).list.arg_min().cast(pl.Int32)
        # A row with a missing or infinite feature has no nearest centre: null, never a
        # silently wrong cluster.
        valid = pl.all_horizontal([pl.col(c).cast(pl.Float64).is_finite() for c in columns])
        return pl.when(valid).then(nearest).otherwise(None).alias("prediction")

    # -- prediction ---------------------------------------------------------------------
    def predict(self, X: Any) -> Any:
        """Index of the closest centre of each row.

        Parameters
        ----------
        X : array-like, DataFrame, LazyFrame, path/glob, DuckDB relation or Arrow data

        Returns
        -------
        ndarray of shape (n_samples,), int32, or LazyFrame
            A lazy input gives a LazyFrame with one column ``"prediction"`` (null where
            a feature is missing or infinite).
        """
        data = self._predict_input(X)
        if data.lazy:
            return data.lf.select(self._prediction_expr(data.columns))
        return self._labels(self._eager_blocks(data))

    def _labels(self, blocks: Iterable[np.ndarray]) -> np.ndarray:
        from scaleml._kernels._kmeans import assign

        ct = centers_t(self.cluster_centers_)
        parts = [assign(block, ct)[0] for block in blocks]
        return np.concatenate(parts) if parts else np.empty(0, dtype=np.int32)

    def transform(self, X: Any) -> Any:
        """Distances of each row to every centre.

        Parameters
        ----------
        X : array-like, DataFrame, LazyFrame, path/glob, DuckDB relation or Arrow data

        Returns
        -------
        ndarray of shape (n_samples, n_clusters), DataFrame or LazyFrame
            A lazy input gives a LazyFrame with the columns of
            :meth:`get_feature_names_out` (``"kmeans0"``, ...).
        """
        data = self._predict_input(X)
        names = list(self.get_feature_names_out())
        if data.lazy:
            exprs = self._sq_distance_exprs(data.columns)
            return data.lf.select(e.sqrt().alias(n) for e, n in zip(exprs, names, strict=True))
        from scaleml._kernels._kmeans import sq_distances

        ct = centers_t(self.cluster_centers_)
        parts = [np.sqrt(sq_distances(block, ct)) for block in self._eager_blocks(data)]
        out = np.concatenate(parts) if parts else np.empty((0, len(names)))
        return self._wrap(out, names, data)

    def _wrap(self, out: np.ndarray, names: list[str], data: Data) -> Any:
        container = _get_output_config("transform", self)["dense"]
        if container == "polars":
            return pl.DataFrame(out, schema=names, orient="row")
        if container == "pandas":
            import pandas as pd

            return pd.DataFrame(out, columns=names, index=data.pandas_index)
        return out

    def fit_transform(self, X: Any, y: Any = None) -> Any:
        """Fit, then return the distances of each row of `X` to every centre.

        Returns
        -------
        ndarray of shape (n_samples, n_clusters), DataFrame or LazyFrame
        """
        return self.fit(X, y).transform(X)

    def fit_predict(self, X: Any, y: Any = None) -> Any:
        """Fit, then return the cluster of every row (``labels_`` for in-memory data).

        Returns
        -------
        ndarray of shape (n_samples,) or LazyFrame
        """
        self.fit(X, y)
        if hasattr(self, "labels_"):
            return self.labels_
        return self.predict(X)

    def score(self, X: Any, y: Any = None) -> float:
        """Opposite of the k-means objective (sum of squared distances) on `X`.

        Any input is streamed; the result is a number.

        Returns
        -------
        float
        """
        from scaleml._kernels._kmeans import assign

        data = self._predict_input(X)
        ct = centers_t(self.cluster_centers_)
        return -float(sum(assign(block, ct)[1].sum() for block in self._eager_blocks(data)))

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = False
        tags.transformer_tags.preserves_dtype = ["float64"]
        return tags
