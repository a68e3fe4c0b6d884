"""Principal component analysis from one pass over the data."""

from __future__ import annotations

import os
from math import log
from numbers import Integral, Real
from typing import Any

import numpy as np
import polars as pl
from scipy import linalg
from sklearn.base import ClassNamePrefixFeaturesOutMixin, TransformerMixin
from sklearn.decomposition._pca import _infer_dimension
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, RealNotInt, StrOptions
from sklearn.utils._set_output import _get_output_config
from sklearn.utils.extmath import fast_logdet, svd_flip
from sklearn.utils.validation import check_array, check_is_fitted

from scaleml._base import SetOutputMixin
from scaleml._fit import _check_finite_block, fold
from scaleml._predictor import BatchEstimator, linear_expr
from scaleml._validation import Data, is_eager
from scaleml.decomposition._scatter import ScatterState, SketchState, nystrom_eigh
from scaleml.io import cache_ipc, scan

__all__ = ["PCA"]

#: Above this many features "auto" prefers the randomized solver: the exact one holds
#: an (n_features, n_features) matrix and its eigendecomposition costs n_features**3.
_MAX_AUTO_EXACT_FEATURES = 1_000


class PCA(
    ClassNamePrefixFeaturesOutMixin,  # type: ignore[misc]
    SetOutputMixin,
    TransformerMixin,  # type: ignore[misc]
    BatchEstimator,
    auto_wrap_output_keys=None,
):
    """Principal component analysis, fitted out-of-core and exactly.

    The scikit-learn estimator of the same name. One pass over the data accumulates
    the float64 mean and centred scatter matrix ``sum (x - mean)(x - mean)'`` of every
    chunk (a BLAS ``syrk``), merged across chunks and partitions with Chan et al.'s
    pairwise update; its eigendecomposition gives the components. The result equals
    ``sklearn.decomposition.PCA(svd_solver="full")`` to float precision, signs
    included (scikit-learn's ``svd_flip`` convention: the largest entry of each
    component is positive), for every ``svd_solver`` except ``"randomized"``.

    ``svd_solver="randomized"`` is for wide data, where the scatter matrix does not
    fit in memory: each power iteration is one pass over the data computing the
    product of the scatter matrix with a thin basis, and the final pass gives the
    same Nystrom approximation scikit-learn's randomized SVD computes.

    Parameters
    ----------
    n_components : int, float, "mle" or None, default=None
        Number of components to keep: all (``min(n_samples, n_features)``) when None;
        the smallest number explaining more than this fraction of the variance when a
        float in (0, 1); Minka's MLE when ``"mle"``.
    copy : bool, default=True
        Kept for compatibility; inputs are never modified.
    whiten : bool, default=False
        Scale the projections to unit variance.
    svd_solver : {"auto", "full", "covariance_eigh", "arpack", "randomized"}, default="auto"
        ``"randomized"`` runs the multi-pass randomized solver. Every other value
        computes the exact decomposition from the scatter matrix, with the validation
        rules of scikit-learn's solver of that name (``"arpack"`` keeps at most
        ``min(n_samples, n_features) - 1`` components). ``"auto"`` is exact unless
        there are more than 1000 features and ``n_components`` is an int below 80% of
        them.
    tol : float, default=0.0
        Kept for compatibility (ARPACK's tolerance); the exact solver does not need it.
    iterated_power : int or "auto", default="auto"
        Power iterations of the randomized solver, each one pass over the data;
        ``"auto"`` is 7 when ``n_components < 0.1 * min(X.shape)``, else 4.
    n_oversamples : int, default=10
        Extra random directions of the randomized solver.
    power_iteration_normalizer : {"auto", "QR", "LU", "none"}, default="auto"
        Normalisation between power iterations ("auto": "none" for at most 2
        iterations, else "LU").
    random_state : int, RandomState instance or None, default=None
        Seed of the randomized solver's starting directions.
    batch_rows : int, optional
        Rows per chunk (default: about 16 MiB of float64 per chunk).
    n_jobs : int, optional
        Row partitions folded in parallel threads (-1: one per core).
    cache : bool or str, default=False
        For the randomized solver, which reads the data several times: first write the
        input columns to a local Arrow IPC file (True: a temporary file; a string:
        this path) and read every pass from it.

    Attributes
    ----------
    components_ : ndarray of shape (n_components_, n_features)
    explained_variance_ : ndarray of shape (n_components_,)
    explained_variance_ratio_ : ndarray of shape (n_components_,)
    singular_values_ : ndarray of shape (n_components_,)
    mean_ : ndarray of shape (n_features,)
    n_components_ : int
    n_samples_ : int
    noise_variance_ : float
    n_features_in_ : int
    feature_names_in_ : ndarray of shape (n_features_in_,)

    Examples
    --------
    >>> import numpy as np
    >>> from scaleml import PCA
    >>> X = np.array([[-1, -1], [-2, -1], [-3, -2], [1, 1], [2, 1], [3, 2]])
    >>> pca = PCA(n_components=2).fit(X)
    >>> pca.explained_variance_ratio_.round(4)
    array([0.9924, 0.0076])
    >>> pca.singular_values_.round(4)
    array([6.3006, 0.5498])

    A lazy input gives a lazy output, one linear expression per component:

    >>> import polars as pl
    >>> lf = pl.LazyFrame({"a": [-1.0, -2.0, -3.0, 1.0], "b": [-1.0, -1.0, -2.0, 1.0]})
    >>> PCA(n_components=1).fit(lf).transform(lf).collect_schema().names()
    ['pca0']
    """

    _allow_nan = False

    _parameter_constraints: dict[str, list[Any]] = {
        "n_components": [
            Interval(Integral, 0, None, closed="left"),
            Interval(RealNotInt, 0, 1, closed="neither"),
            StrOptions({"mle"}),
            None,
        ],
        "copy": ["boolean"],
        "whiten": ["boolean"],
        "svd_solver": [StrOptions({"auto", "full", "covariance_eigh", "arpack", "randomized"})],
        "tol": [Interval(Real, 0, None, closed="left")],
        "iterated_power": [StrOptions({"auto"}), Interval(Integral, 0, None, closed="left")],
        "n_oversamples": [Interval(Integral, 1, None, closed="left")],
        "power_iteration_normalizer": [StrOptions({"auto", "QR", "LU", "none"})],
        "random_state": ["random_state"],
        "batch_rows": [None, Interval(Integral, 1, None, closed="left")],
        "n_jobs": [None, Integral],
        "cache": ["boolean", str, os.PathLike],
    }

    def __init__(
        self,
        n_components: int | float | str | None = None,
        *,
        copy: bool = True,
        whiten: bool = False,
        svd_solver: str = "auto",
        tol: float = 0.0,
        iterated_power: int | str = "auto",
        n_oversamples: int = 10,
        power_iteration_normalizer: str = "auto",
        random_state: Any = None,
        batch_rows: int | None = None,
        n_jobs: int | None = None,
        cache: bool | str = False,
    ) -> None:
        self.n_components = n_components
        self.copy = copy
        self.whiten = whiten
        self.svd_solver = svd_solver
        self.tol = tol
        self.iterated_power = iterated_power
        self.n_oversamples = n_oversamples
        self.power_iteration_normalizer = power_iteration_normalizer
        self.random_state = random_state
        self.batch_rows = batch_rows
        self.n_jobs = n_jobs
        self.cache = cache

    # -- fitting ---------------------------------------------------------------------
    def fit(self, X: Any, y: Any = None) -> PCA:
        """Fit the model on `X` in one pass (the randomized solver: a few passes).

        Parameters
        ----------
        X : array-like, DataFrame, LazyFrame, path/glob, DuckDB relation or Arrow data
        y : None or str
            Ignored, except that a string names a label column of `X`, which is then
            not a feature and is passed through by ``transform``.

        Returns
        -------
        self
        """
        self._validate_params()
        self._reset()
        fit_input = self._fit_input(X, y if isinstance(y, str) else None)
        self._fit_svd_solver = self._resolve_solver(len(fit_input.columns))
        if self._fit_svd_solver == "randomized":
            self._fit_randomized(fit_input.lf, fit_input.columns)
            return self
        return self._fold(fit_input.lf, fit_input.columns, None)

    def partial_fit(self, X: Any, y: Any = None) -> PCA:
        """Add a chunk of rows to the fit; the result is the exact PCA of every row
        seen so far, whatever the split (unlike scikit-learn's ``IncrementalPCA``).

        ``partial_fit`` always accumulates the exact scatter matrix (the randomized
        solver needs several passes over the same rows). Until enough rows are seen
        for ``n_components`` (and at least 2), the rows are kept in the state and the
        estimator is not fitted yet.

        Returns
        -------
        self
        """
        self._validate_params()
        first = not hasattr(self, "_state")
        fit_input = self._fit_input(X, y if isinstance(y, str) else None, reset=first)
        if first:
            solver = self._resolve_solver(len(fit_input.columns))
            self._fit_svd_solver = "covariance_eigh" if solver == "randomized" else solver
        state = getattr(self, "_state", None)
        return self._fold(fit_input.lf, fit_input.columns, state, partial=True)

    def fit_transform(self, X: Any, y: Any = None, **fit_params: Any) -> Any:
        """Fit to `X`, then project it (lazy in, lazy out).

        Returns
        -------
        LazyFrame or ndarray of shape (n_samples, n_components_)
        """
        return self.fit(X, y, **fit_params).transform(X)

    def _reset(self) -> None:
        for attr in ("_state", "components_", "n_features_in_", "feature_names_in_"):
            if hasattr(self, attr):
                delattr(self, attr)

    def _resolve_solver(self, n_features: int) -> str:
        if self.svd_solver != "auto":
            return self.svd_solver
        k = self.n_components
        if (
            n_features > _MAX_AUTO_EXACT_FEATURES
            and isinstance(k, Integral)
            and 1 <= k < 0.8 * n_features
        ):
            return "randomized"
        return "covariance_eigh"

    def _fold(
        self, lf: pl.LazyFrame, columns: list[str], state: Any, *, partial: bool = False
    ) -> PCA:
        self._basis: np.ndarray | None = None
        state = fold(
            self, lf, columns=columns, batch_rows=self.batch_rows, n_jobs=self.n_jobs,
            allow_nan=False, state=state,
        )  # fmt: skip
        self._state = state
        if partial and self._needs_more_rows(state.n, state.mean.shape[0]):
            for attr in ("components_", "mean_", "n_samples_"):
                if hasattr(self, attr):
                    delattr(self, attr)
            return self
        self._finalize_state(state)
        return self

    def _needs_more_rows(self, n: int, p: int) -> bool:
        k = self.n_components
        if n < 2 or (k == "mle" and n < p):
            return True
        return isinstance(k, Integral) and n < k <= p

    # mergeable-state protocol (scaleml._fit); the state is the scatter matrix, or its
    # product with ``self._basis`` during a pass of the randomized solver.
    def _init_state(self) -> Any:
        if self._basis is None:
            return ScatterState.empty(self.n_features_in_)
        return SketchState.empty(self._basis)

    def _update_state(self, state: Any, chunk: tuple[np.ndarray, Any]) -> Any:
        X = chunk[0]
        new = ScatterState.of(X) if self._basis is None else SketchState.of(X, self._basis)
        return state.merge(new)

    def _merge_states(self, a: Any, b: Any) -> Any:
        return a.merge(b)

    def _finalize_state(self, state: ScatterState) -> None:
        n, p = state.n, state.mean.shape[0]
        self._check_samples(n)
        n_components = self._checked_n_components(n, p)
        eigenvalues, vectors = np.linalg.eigh(state.scatter / (n - 1))
        # Descending order; the PSD matrix can have tiny negative eigenvalues by
        # rounding, clipped as scikit-learn's covariance solver does.
        r = min(n, p)
        explained_variance = np.maximum(eigenvalues[::-1][:r], 0.0)
        _, components = svd_flip(
            None, np.ascontiguousarray(vectors[:, ::-1][:, :r].T), u_based_decision=False
        )
        total_var = explained_variance.sum()
        with np.errstate(invalid="ignore", divide="ignore"):
            ratio = explained_variance / total_var
        if n_components == "mle":
            n_components = int(_infer_dimension(explained_variance, n))
        elif 0 < n_components < 1.0:
            # side="right": the kept variance is strictly greater than the fraction.
            n_components = int(np.searchsorted(np.cumsum(ratio), n_components, side="right")) + 1
            n_components = min(n_components, r)
        k = int(n_components)
        noise = float(explained_variance[k:].mean()) if k < r else 0.0
        self._set_fitted(state, components[:k], explained_variance[:k], ratio[:k], noise)

    def _set_fitted(
        self,
        state: Any,
        components: np.ndarray,
        variance: np.ndarray,
        ratio: np.ndarray,
        noise: float,
    ) -> None:
        n = state.n
        self.n_samples_ = n
        self.mean_ = state.mean.copy()
        self.components_ = np.ascontiguousarray(components)
        self.n_components_ = components.shape[0]
        self.explained_variance_ = variance.copy()
        self.explained_variance_ratio_ = ratio.copy()
        self.singular_values_ = np.sqrt(variance * (n - 1))
        self.noise_variance_ = noise

    def _check_samples(self, n: int) -> None:
        if n == 0:
            msg = "Found array with 0 sample(s) while a minimum of 1 is required by PCA."
            raise ValueError(msg)
        if n == 1:
            msg = (
                "PCA needs at least 2 samples to estimate variances (n_samples - 1 degrees "
                "of freedom); got n_samples=1."
            )
            raise ValueError(msg)

    def _checked_n_components(self, n: int, p: int) -> Any:
        """``n_components`` resolved and checked as scikit-learn's solver does."""
        solver = self._fit_svd_solver
        k = self.n_components
        if k is None:
            return min(n, p) - 1 if solver == "arpack" else min(n, p)
        if solver in ("arpack", "randomized"):
            if isinstance(k, str):
                msg = f"n_components={k!r} cannot be a string with svd_solver={solver!r}"
                raise ValueError(msg)
            if not 1 <= k <= min(n, p):
                msg = (
                    f"n_components={k!r} must be between 1 and min(n_samples, n_features)="
                    f"{min(n, p)!r} with svd_solver={solver!r}"
                )
                raise ValueError(msg)
            if solver == "arpack" and k == min(n, p):
                msg = (
                    f"n_components={k!r} must be strictly less than min(n_samples, "
                    f"n_features)={min(n, p)!r} with svd_solver={solver!r}"
                )
                raise ValueError(msg)
            return k
        if k == "mle":
            if n < p:
                msg = "n_components='mle' is only supported if n_samples >= n_features"
                raise ValueError(msg)
            return k
        if not 0 <= float(k) <= min(n, p):
            msg = (
                f"n_components={k} must be between 0 and min(n_samples, n_features)="
                f"{min(n, p)} with svd_solver={solver!r}"
            )
            raise ValueError(msg)
        return k

    # -- randomized solver -----------------------------------------------------------
    def _fit_randomized(self, lf: pl.LazyFrame, columns: list[str]) -> None:
        if isinstance(self.n_components, str):
            self._checked_n_components(0, 0)
        if self.cache is not False:
            path = None if self.cache is True else self.cache
            lf = cache_ipc(lf.select(columns), path)
        p = len(columns)
        rng = check_random_state(self.random_state)
        k_guess = p if self.n_components is None else int(self.n_components)
        width = min(k_guess + self.n_oversamples, p)
        basis = rng.normal(size=(p, width))
        n_iter = None if self.iterated_power == "auto" else int(self.iterated_power)
        # n_iter + 1 passes; the first also gives n_samples, which "auto" depends on.
        if n_iter == 0:
            basis = linalg.qr(basis, mode="economic", check_finite=False)[0]
        state = self._sketch_pass(lf, columns, basis)
        self._check_samples(state.n)
        k = self._checked_n_components(state.n, p)
        if n_iter is None:
            n_iter = 7 if k < 0.1 * min(state.n, p) else 4
        for step in range(1, n_iter + 1):
            basis = self._normalize(state.sketch, n_iter)
            if step == n_iter:
                # The final pass needs an orthonormal basis for the Nystrom step.
                basis = linalg.qr(basis, mode="economic", check_finite=False)[0]
            state = self._sketch_pass(lf, columns, basis)
        self._finalize_sketch(state, k)

    def _sketch_pass(self, lf: pl.LazyFrame, columns: list[str], basis: np.ndarray) -> SketchState:
        self._basis = basis
        try:
            state: SketchState = fold(
                self, lf, columns=columns, batch_rows=self.batch_rows, n_jobs=self.n_jobs,
                allow_nan=False,
            )  # fmt: skip
        finally:
            self._basis = None
        return state

    def _normalize(self, sketch: np.ndarray, n_iter: int) -> np.ndarray:
        how = self.power_iteration_normalizer
        if how == "auto":
            how = "none" if n_iter <= 2 else "LU"
        if how == "QR":
            return np.asarray(linalg.qr(sketch, mode="economic", check_finite=False)[0])
        if how == "LU":
            return np.asarray(linalg.lu(sketch, permute_l=True, check_finite=False)[0])
        return sketch

    def _finalize_sketch(self, state: SketchState, k: int) -> None:
        n, p = state.n, state.mean.shape[0]
        eigenvalues, vectors = nystrom_eigh(state.basis, state.sketch, k)
        _, components = svd_flip(None, np.ascontiguousarray(vectors.T), u_based_decision=False)
        variance = eigenvalues / (n - 1)
        total_var = state.m2.sum() / (n - 1)
        with np.errstate(invalid="ignore", divide="ignore"):
            ratio = variance / total_var
        r = min(n, p)
        noise = float((total_var - variance.sum()) / (r - k)) if k < r else 0.0
        self._set_fitted(state, components, variance, ratio, noise)

    # -- transforming ----------------------------------------------------------------
    @property
    def _n_features_out(self) -> int:
        return int(self.components_.shape[0])

    def _projection(self) -> tuple[np.ndarray, np.ndarray]:
        """``(W, b)`` with ``transform(x) = x @ W + b``."""
        W = self.components_.T.copy()
        b = -(self.mean_ @ W)
        if self.whiten:
            scale = self._whiten_scale()
            W /= scale
            b /= scale
        return W, b

    def _whiten_scale(self) -> np.ndarray:
        # Components of (near) zero variance would give non-finite projections.
        scale = np.sqrt(self.explained_variance_)
        return np.asarray(np.maximum(scale, np.finfo(scale.dtype).eps))

    def transform(self, X: Any) -> Any:
        """Project `X` on the components: lazy in, lazy out (columns ``pca0`` ..).

        Returns
        -------
        LazyFrame or ndarray of shape (n_samples, n_components_)
        """
        data = self._predict_input(X)
        if data.lazy:
            W, b = self._projection()
            exprs = [
                linear_expr(data.columns, W[:, j], b[j]).alias(name)
                for j, name in enumerate(self.get_feature_names_out())
            ]
            return data.lf.select(exprs + self._label(data))
        Xa = self._collect(data)
        out = Xa @ self.components_.T
        out -= self.mean_ @ self.components_.T
        if self.whiten:
            out /= self._whiten_scale()
        return self._container(data, out, list(self.get_feature_names_out()))

    def inverse_transform(self, X: Any) -> Any:
        """Map projections back to the feature space (lazy in, lazy out).

        A lazy input's columns (the label excepted) are read as the components in order.

        Returns
        -------
        LazyFrame or ndarray of shape (n_samples, n_features_in_)
        """
        check_is_fitted(self)
        back = self.components_
        if self.whiten:
            back = np.sqrt(self.explained_variance_)[:, np.newaxis] * back
        names = list(self._columns_in)
        if is_eager(X):
            Xa = check_array(X, dtype=np.float64, input_name="X")
            self._check_width(Xa.shape[1])
            return Xa @ back + self.mean_
        lf = scan(X)
        label = getattr(self, "_y_column", None)
        all_cols = lf.collect_schema().names()
        cols = [c for c in all_cols if c != label]
        self._check_width(len(cols))
        exprs = [linear_expr(cols, back[:, i], self.mean_[i]).alias(c) for i, c in enumerate(names)]
        return lf.select(exprs + ([pl.col(label)] if label in all_cols else []))

    def _check_width(self, width: int) -> None:
        if width != self.n_components_:
            msg = (
                f"inverse_transform expects {self.n_components_} columns (one per "
                f"component), got {width}."
            )
            raise ValueError(msg)

    # -- probabilistic model ---------------------------------------------------------
    def get_covariance(self) -> np.ndarray:
        """Data covariance under the probabilistic PCA model.

        Returns
        -------
        ndarray of shape (n_features, n_features)
        """
        check_is_fitted(self)
        components, diff = self._scaled_components()
        cov: np.ndarray = (components.T * diff) @ components
        cov.flat[:: cov.shape[0] + 1] += self.noise_variance_
        return cov

    def get_precision(self) -> np.ndarray:
        """Inverse of :meth:`get_covariance`, by the matrix inversion lemma.

        Returns
        -------
        ndarray of shape (n_features, n_features)
        """
        check_is_fitted(self)
        n_features = self.components_.shape[1]
        if self.n_components_ == 0:
            return np.eye(n_features) / self.noise_variance_
        if self.noise_variance_ == 0.0:
            return np.asarray(linalg.inv(self.get_covariance()))
        components, diff = self._scaled_components()
        precision: np.ndarray = components @ components.T / self.noise_variance_
        precision.flat[:: precision.shape[0] + 1] += 1.0 / diff
        precision = components.T @ np.asarray(linalg.inv(precision)) @ components
        precision /= -(self.noise_variance_**2)
        precision.flat[:: precision.shape[0] + 1] += 1.0 / self.noise_variance_
        return precision

    def _scaled_components(self) -> tuple[np.ndarray, np.ndarray]:
        components = self.components_
        variance = self.explained_variance_
        if self.whiten:
            components = components * np.sqrt(variance[:, np.newaxis])
        diff = np.where(variance > self.noise_variance_, variance - self.noise_variance_, 0.0)
        return components, diff

    def score_samples(self, X: Any) -> Any:
        """Log-likelihood of each sample under the probabilistic PCA model.

        Returns
        -------
        LazyFrame (column ``log_likelihood``) or ndarray of shape (n_samples,)
        """
        data = self._predict_input(X)
        precision = self.get_precision()
        const = -0.5 * (len(data.columns) * log(2.0 * np.pi) - fast_logdet(precision))
        if data.lazy:
            return data.lf.select(self._log_likelihood_expr(data.columns, precision, const))
        Xr = self._collect(data) - self.mean_
        return -0.5 * np.sum(Xr * (Xr @ precision), axis=1) + const

    def score(self, X: Any, y: Any = None) -> float:
        """Average log-likelihood of the samples (one streaming query for lazy input).

        Returns
        -------
        float
        """
        data = self._predict_input(X)
        if not data.lazy:
            return float(np.mean(self.score_samples(X)))
        precision = self.get_precision()
        const = -0.5 * (len(data.columns) * log(2.0 * np.pi) - fast_logdet(precision))
        expr = self._log_likelihood_expr(data.columns, precision, const).mean()
        return float(data.lf.select(expr).collect(engine="streaming").item())

    def _log_likelihood_expr(
        self, columns: list[str], precision: np.ndarray, const: float
    ) -> pl.Expr:
        # x' P x as a sum of squares of linear forms: P = U diag(s) U'.
        s, U = np.linalg.eigh(precision)
        terms = [
            linear_expr(columns, U[:, j], -(self.mean_ @ U[:, j])).pow(2) * float(s[j])
            for j in range(len(s))
        ]
        quad = pl.sum_horizontal(terms, ignore_nulls=False)
        return (quad * -0.5 + float(const)).alias("log_likelihood")

    # -- output ----------------------------------------------------------------------
    def _collect(self, data: Data) -> np.ndarray:
        Xa = (
            data.lf.select(data.columns)
            .collect()
            .to_numpy(order="c")
            .astype(np.float64, copy=False)
        )
        _check_finite_block(self, Xa, data.columns)
        return Xa

    def _label(self, data: Data) -> list[pl.Expr]:
        present = data.y_column and data.y_column in data.lf.collect_schema().names()
        return [pl.col(data.y_column)] if present else []  # type: ignore[arg-type]

    def _container(self, data: Data, out: np.ndarray, names: list[str]) -> Any:
        label = self._label(data)
        config = _get_output_config("transform", self)["dense"]
        if label or config == "polars":
            frame = pl.DataFrame(out, schema=names, orient="row")
            # The label rides along by name; a bare array would make it a feature.
            return frame.hstack(data.lf.select(label).collect()) if label else frame
        if config == "pandas":
            import pandas as pd

            return pd.DataFrame(out, columns=names, index=data.pandas_index)
        return out

    def __sklearn_is_fitted__(self) -> bool:
        return hasattr(self, "components_")

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float64"]
        return tags
