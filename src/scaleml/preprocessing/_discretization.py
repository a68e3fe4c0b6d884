"""KBinsDiscretizer: bin continuous data into intervals."""

from __future__ import annotations

import warnings
from numbers import Integral
from typing import Any

import numpy as np
import polars as pl
from scipy import sparse
from sklearn.utils._param_validation import Interval, Options, StrOptions
from sklearn.utils.validation import check_array, check_is_fitted

from scaleml._base import _to_numpy
from scaleml._validation import Data
from scaleml.preprocessing._quantile import QuantileState, QuantileTransformerBase

__all__ = ["KBinsDiscretizer"]

_QUANTILE_METHODS = {
    "inverted_cdf",
    "averaged_inverted_cdf",
    "closest_observation",
    "interpolated_inverted_cdf",
    "hazen",
    "weibull",
    "linear",
    "median_unbiased",
    "normal_unbiased",
}


class KBinsDiscretizer(QuantileTransformerBase):
    """Bin continuous data into intervals.

    The scikit-learn estimator of the same name, fitted out-of-core. ``uniform`` bins
    need each column's extremes only (exact, one streaming query). ``quantile`` bins
    are exact while the data has at most `subsample` rows (or with ``subsample=None``),
    computed by the engine with NumPy's `quantile_method`, and equal scikit-learn's;
    beyond, where scikit-learn bins a random subsample of `subsample` rows, they come
    from a mergeable KLL sketch per column (:class:`scaleml.preprocessing.QuantileSketch`)
    at least as accurate, in bounded memory. ``kmeans`` runs scikit-learn's 1-D k-means
    (same initialisation) on the exact values while they are few, else on the sketch's
    weighted summary of each column (a few thousand weighted points).

    The transform is one ``search_sorted`` per column (a Polars expression). With a
    lazy input, a NaN or null gives a null output (an in-memory input raises, as in
    scikit-learn).

    Parameters
    ----------
    n_bins : int or array-like of shape (n_columns,), default=5
        Number of bins (at least 2).
    encode : {"onehot", "onehot-dense", "ordinal"}, default="onehot"
        ``onehot``: a sparse matrix for in-memory input (a LazyFrame of indicator
        columns for lazy input); ``onehot-dense``: dense indicators; ``ordinal``: the
        bin index.
    strategy : {"uniform", "quantile", "kmeans"}, default="quantile"
    quantile_method : str, default="averaged_inverted_cdf"
        NumPy's percentile method for ``strategy="quantile"``.
    dtype : {np.float32, np.float64}, default=None
        Output dtype (None: float64).
    subsample : int or None, default=200_000
        Rows up to which quantiles (and k-means inputs) are exact; above, a sketch as
        accurate as a random subsample of this size. None: always exact.
    random_state : int, RandomState instance or None, default=None
        Seed of the sketch's coin flips (None: 0, deterministic).
    columns : str, list of str or polars selector, default=None
        Columns to bin; None means every feature column.

    Attributes
    ----------
    bin_edges_ : ndarray of ndarray, shape (n_columns,)
    n_bins_ : ndarray of shape (n_columns,), dtype int
    n_features_in_ : int
    feature_names_in_ : ndarray of shape (n_features_in_,)

    Examples
    --------
    >>> import numpy as np
    >>> from scaleml import KBinsDiscretizer
    >>> X = np.array([[-2.0, 1.0], [-1.0, 2.0], [0.0, 3.0], [1.0, 4.0]])
    >>> est = KBinsDiscretizer(n_bins=3, encode="ordinal", strategy="uniform").fit(X)
    >>> est.transform(X)
    array([[0., 0.],
           [1., 1.],
           [2., 2.],
           [2., 2.]])
    """

    _allow_nan = False

    _parameter_constraints: dict[str, list[Any]] = {
        "n_bins": [Interval(Integral, 2, None, closed="left"), "array-like"],
        "encode": [StrOptions({"onehot", "onehot-dense", "ordinal"})],
        "strategy": [StrOptions({"uniform", "quantile", "kmeans"})],
        "quantile_method": [StrOptions(_QUANTILE_METHODS)],
        "dtype": [Options(type, {np.float64, np.float32}), None],
        "subsample": [Interval(Integral, 1, None, closed="left"), None],
        "random_state": ["random_state"],
        "columns": [None, str, list, tuple, pl.Expr],
    }

    def __init__(
        self,
        n_bins: Any = 5,
        *,
        encode: str = "onehot",
        strategy: str = "quantile",
        quantile_method: str = "averaged_inverted_cdf",
        dtype: Any = None,
        subsample: int | None = 200_000,
        random_state: Any = None,
        columns: Any = None,
    ) -> None:
        self.n_bins = n_bins
        self.encode = encode
        self.strategy = strategy
        self.quantile_method = quantile_method
        self.dtype = dtype
        self.subsample = subsample
        self.random_state = random_state
        self.columns = columns

    # -- fitting ---------------------------------------------------------------------
    def _check_fit_columns(self, columns: list[str]) -> None:
        self._validate_n_bins(len(columns))

    def _validate_n_bins(self, n_features: int) -> np.ndarray:
        """``n_bins_`` before constant columns and tiny bins are handled (scikit-learn's)."""
        orig_bins = self.n_bins
        if isinstance(orig_bins, Integral):
            return np.full(n_features, orig_bins, dtype=int)
        n_bins = check_array(orig_bins, dtype=int, copy=True, ensure_2d=False)
        if n_bins.ndim > 1 or n_bins.shape[0] != n_features:
            msg = "n_bins must be a scalar or array of shape (n_features,)."
            raise ValueError(msg)
        bad = np.where((n_bins < 2) | (n_bins != orig_bins))[0]
        if bad.shape[0] > 0:
            indices = ", ".join(str(i) for i in bad)
            msg = (
                f"KBinsDiscretizer received an invalid number of bins at indices {indices}. "
                "Number of bins must be at least 2, and must be an int."
            )
            raise ValueError(msg)
        return np.asarray(n_bins)

    def _finalize_state(self, state: QuantileState) -> None:
        n_features = len(self._fit_columns)
        n_bins = self._validate_n_bins(n_features)
        quantiles = None
        if self.strategy == "quantile":
            # np.percentile divides the percentages by 100 the same way.
            quantiles = [np.true_divide(np.linspace(0, 100, b + 1), 100) for b in n_bins]
        # Bit-equal edges: a data point sitting on an edge must fall in the same bin.
        summary, qs = state.summary_and_quantiles(quantiles, self.quantile_method, engine=False)
        self._check_summary(summary, allow_nan=False)
        if state.rows == 0:
            msg = (
                "Found array with 0 sample(s) while a minimum of 1 is required by "
                f"{type(self).__name__}."
            )
            raise ValueError(msg)
        bin_edges = np.zeros(n_features, dtype=object)
        for jj in range(n_features):
            col_min, col_max = summary.min[jj], summary.max[jj]
            if col_min == col_max:
                warnings.warn(
                    f"Feature {jj} is constant and will be replaced with 0.", stacklevel=4
                )
                n_bins[jj] = 1
                bin_edges[jj] = np.array([-np.inf, np.inf])
                continue
            if self.strategy == "uniform":
                bin_edges[jj] = np.linspace(col_min, col_max, n_bins[jj] + 1)
            elif self.strategy == "quantile":
                bin_edges[jj] = np.asarray(qs[jj], dtype=np.float64)
            else:
                bin_edges[jj] = self._kmeans_edges(state, jj, int(n_bins[jj]), col_min, col_max)
            if self.strategy in ("quantile", "kmeans"):
                mask = np.ediff1d(bin_edges[jj], to_begin=np.inf) > 1e-8
                bin_edges[jj] = bin_edges[jj][mask]
                if len(bin_edges[jj]) - 1 != n_bins[jj]:
                    warnings.warn(
                        "Bins whose width are too small (i.e., <= 1e-8) in feature "
                        f"{jj} are removed. Consider decreasing the number of bins.",
                        stacklevel=4,
                    )
                    n_bins[jj] = len(bin_edges[jj]) - 1
        self.bin_edges_ = bin_edges
        self.n_bins_ = n_bins

    def _kmeans_edges(
        self, state: QuantileState, jj: int, n_bins: int, col_min: float, col_max: float
    ) -> np.ndarray:
        from sklearn.cluster import KMeans

        values, weights = state.weighted_values(jj)
        uniform_edges = np.linspace(col_min, col_max, n_bins + 1)
        init = (uniform_edges[1:] + uniform_edges[:-1])[:, None] * 0.5
        km = KMeans(n_clusters=n_bins, init=init, n_init=1)
        # Exact mode: the values themselves, unweighted, exactly as scikit-learn.
        sample_weight = None if state.exact else weights
        centers = km.fit(values[:, None], sample_weight=sample_weight).cluster_centers_[:, 0]
        centers.sort()
        edges = (centers[1:] + centers[:-1]) * 0.5
        return np.asarray(np.r_[col_min, edges, col_max])

    # -- transforming ----------------------------------------------------------------
    def _out_dtype(self) -> pl.DataType:
        return pl.Float32() if self.dtype is np.float32 else pl.Float64()

    def _bin_index(self, c: str, edges: np.ndarray) -> pl.Expr:
        x = pl.col(c).cast(pl.Float64)
        inner = edges[1:-1]
        if not inner.size:
            idx = pl.lit(0, dtype=pl.Int64)
        else:
            idx = pl.lit(pl.Series(inner)).search_sorted(x, side="right").cast(pl.Int64)
        # Polars sorts NaN above every number: a missing value has no bin.
        return pl.when(x.is_nan() | x.is_null()).then(None).otherwise(idx)

    def _output_exprs(self) -> dict[str, list[pl.Expr]]:
        check_is_fitted(self, "bin_edges_")
        out = self._out_dtype()
        exprs: dict[str, list[pl.Expr]] = {}
        for c, edges, n in zip(self._fit_columns, self.bin_edges_, self.n_bins_, strict=True):
            idx = self._bin_index(c, edges)
            if self.encode == "ordinal":
                exprs[c] = [idx.cast(out).alias(c)]
            else:
                exprs[c] = [(idx == b).cast(out).alias(f"{c}_{float(b)}") for b in range(int(n))]
        return exprs

    def _output_names(self, rename: dict[str, str]) -> dict[str, list[str]]:
        if self.encode == "ordinal":
            return {}
        return {
            c: [f"{rename[c]}_{float(b)}" for b in range(int(n))]
            for c, n in zip(self._fit_columns, self.n_bins_, strict=True)
        }

    def _check_transform_input(self, data: Data) -> None:
        super()._check_transform_input(data)
        if data.lazy:
            return
        found = (
            data.lf.select(
                (pl.col(c).cast(pl.Float64).is_nan() | pl.col(c).is_null()).any()
                for c in self._fit_columns
            )
            .collect()
            .row(0)
        )
        bad = [c for c, f in zip(self._fit_columns, found, strict=True) if f]
        if bad:
            msg = (
                f"Input X contains NaN or null in column(s) {bad}, which "
                f"{type(self).__name__} does not accept."
            )
            raise ValueError(msg)

    def _finish(self, data: Data, lf: pl.LazyFrame) -> Any:
        out = super()._finish(data, lf)
        if self.encode == "onehot" and isinstance(out, np.ndarray):
            return sparse.csr_matrix(out)
        if isinstance(out, np.ndarray) and self.dtype is np.float32:
            return out.astype(np.float32)
        return out

    def inverse_transform(self, X: Any) -> np.ndarray:
        """Map binned data back to the bin centres (in-memory data, as scikit-learn).

        Parameters
        ----------
        X : array-like or sparse matrix
            Output of :meth:`transform` for the binned columns (all columns must be
            binned).

        Returns
        -------
        ndarray
        """
        check_is_fitted(self, "bin_edges_")
        if hasattr(X, "collect"):
            X = X.collect()
        if isinstance(X, pl.DataFrame):
            X = _to_numpy(X)
        X = check_array(X, accept_sparse="csr", dtype=(np.float64, np.float32))
        if sparse.issparse(X):
            X = X.toarray()
        if "onehot" in self.encode:
            X = self._decode_onehot(X)
        n_features = self.n_bins_.shape[0]
        if X.shape[1] != n_features:
            msg = f"Incorrect number of features. Expecting {n_features}, received {X.shape[1]}."
            raise ValueError(msg)
        Xinv = np.array(X, dtype=X.dtype, copy=True)
        for jj in range(n_features):
            edges = self.bin_edges_[jj]
            centers = (edges[1:] + edges[:-1]) * 0.5
            Xinv[:, jj] = centers[Xinv[:, jj].astype(np.int64)]
        return Xinv

    def _decode_onehot(self, X: np.ndarray) -> np.ndarray:
        total = int(self.n_bins_.sum())
        if X.shape[1] != total:
            msg = f"Incorrect number of features. Expecting {total}, received {X.shape[1]}."
            raise ValueError(msg)
        starts = np.concatenate([[0], np.cumsum(self.n_bins_)[:-1]])
        cols = [
            np.argmax(X[:, s : s + n], axis=1) for s, n in zip(starts, self.n_bins_, strict=True)
        ]
        return np.column_stack(cols).astype(X.dtype)
