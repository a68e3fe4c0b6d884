"""Ridge regression, exact, and its cross-validation from the same single pass."""

from __future__ import annotations

import functools
import numbers
from numbers import Integral, Real
from typing import Any

import numpy as np
import polars as pl
from scipy.stats import rankdata
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_scalar

from scaleml._hash import ROW_INDEX
from scaleml.linear_model._base import GramState, LinearModelBase, PartialFitMixin, set_intercept
from scaleml.linear_model._gram_solve import eigh_sorted, nnls_gram, solve_spd
from scaleml.model_selection import HashKFold, fold_expr

__all__ = ["Ridge", "RidgeCV"]

#: Fold count when ``cv=None`` (scikit-learn's efficient leave-one-out needs per-row
#: leverages, which a one-pass out-of-core fit does not have).
DEFAULT_FOLDS = 5
#: Name of the fold-id column RidgeCV reads with every chunk.
FOLD_COLUMN = "__scaleml_fold"
_EPS = np.finfo(np.float64).eps


def _ridge_coef(
    state: GramState, alpha: np.ndarray, fit_intercept: bool, positive: bool
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(coef (t, p), x_offset, y_offset)`` of ridge with per-target penalties `alpha`."""
    G, B, x_offset, y_offset = state.system(fit_intercept)
    p, t = B.shape
    if positive:
        return nnls_gram(G, B, alpha).T, x_offset, y_offset
    coef = np.empty((t, p))
    for a in np.unique(alpha):
        cols = np.flatnonzero(alpha == a)
        coef[cols] = solve_spd(G + a * np.eye(p), B[:, cols]).T
    return coef, x_offset, y_offset


class Ridge(PartialFitMixin, LinearModelBase):
    """Linear least squares with l2 regularization, fitted exactly in one pass.

    The scikit-learn estimator of the same name, fitted out-of-core: one streaming
    pass accumulates the centred Gram matrix (see :class:`scaleml.LinearRegression`),
    then ``(X'X + alpha I) w = X'y`` is solved by Cholesky. Whatever `solver` says,
    the solution is the exact one (scikit-learn's ``"cholesky"``).

    Parameters
    ----------
    alpha : float or array-like of shape (n_targets,), default=1.0
        Regularization strength, one per target if an array.
    fit_intercept : bool, default=True
    copy_X : bool, default=True
        Kept for compatibility; inputs are never modified.
    max_iter, tol, random_state :
        Kept for compatibility with scikit-learn's iterative solvers; unused.
    solver : {"auto", "svd", "cholesky", "lsqr", "sparse_cg", "sag", "saga", "lbfgs"}, \
        default="auto"
        Accepted for compatibility and checked as scikit-learn does ("lbfgs" only with
        ``positive=True``); the system is always solved exactly.
    positive : bool, default=False
        Non-negative coefficients: solved exactly as a non-negative least-squares
        problem on the Gram system (scikit-learn approximates it with L-BFGS-B).
    n_jobs : int, default=None
        Number of row partitions folded in parallel threads (-1: one per core).
    batch_rows : int, default=None
        Rows per block read from the data (default: about 8 MiB per block).

    Attributes
    ----------
    coef_ : ndarray of shape (n_features,) or (n_targets, n_features)
    intercept_ : float or ndarray of shape (n_targets,)
    n_iter_ : int
        Passes over the data: always 1 (scikit-learn's Cholesky solver reports None).
    solver_ : str
        ``"cholesky"``, or ``"nnls"`` when ``positive=True``.
    n_features_in_ : int
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Defined when X has column names.

    Examples
    --------
    >>> import numpy as np
    >>> from scaleml import Ridge
    >>> X = np.array([[0.0, 1.0], [1.0, 0.0], [2.0, 1.0], [3.0, 0.0]])
    >>> y = np.array([1.0, 3.0, 7.0, 9.0])
    >>> reg = Ridge(alpha=1.0).fit(X, y)
    >>> reg.coef_.round(4), round(reg.intercept_, 4)
    (array([2.3636, 0.1818]), 1.3636)
    >>> reg.predict(X[:2]).round(4)
    array([1.5455, 3.7273])
    """

    _parameter_constraints: dict[str, list[Any]] = {
        "alpha": [Interval(Real, 0, None, closed="left"), "array-like"],
        "fit_intercept": ["boolean"],
        "copy_X": ["boolean"],
        "max_iter": [Interval(Integral, 1, None, closed="left"), None],
        "tol": [Interval(Real, 0, None, closed="left")],
        "solver": [
            StrOptions({"auto", "svd", "cholesky", "lsqr", "sparse_cg", "sag", "saga", "lbfgs"})
        ],
        "positive": ["boolean"],
        "random_state": ["random_state"],
        "n_jobs": [None, Integral],
        "batch_rows": [None, Interval(Integral, 1, None, closed="left")],
    }

    def __init__(
        self,
        alpha: float | Any = 1.0,
        *,
        fit_intercept: bool = True,
        copy_X: bool = True,
        max_iter: int | None = None,
        tol: float = 1e-4,
        solver: str = "auto",
        positive: bool = False,
        random_state: Any = None,
        n_jobs: int | None = None,
        batch_rows: int | None = None,
    ) -> None:
        self.alpha = alpha
        self.fit_intercept = fit_intercept
        self.copy_X = copy_X
        self.max_iter = max_iter
        self.tol = tol
        self.solver = solver
        self.positive = positive
        self.random_state = random_state
        self.n_jobs = n_jobs
        self.batch_rows = batch_rows

    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> Ridge:
        """Fit ridge regression in one pass over `X`.

        Parameters
        ----------
        X : array-like, DataFrame, LazyFrame, path/glob, DuckDB relation or Arrow data
            Numeric features without missing values.
        y : array-like of shape (n_samples,) or (n_samples, n_targets), or str
            Targets, or the name of the label column of `X` (never a feature).
        sample_weight : float or array-like of shape (n_samples,), optional

        Returns
        -------
        self
        """
        self._fit(X, y, sample_weight, partial=False)
        return self

    def _check_params(self) -> None:
        if self.solver == "lbfgs" and not self.positive:
            msg = "'lbfgs' solver can be used only when positive=True. Please use another solver."
            raise ValueError(msg)
        if self.positive and self.solver not in ("auto", "lbfgs"):
            msg = (
                f"solver={self.solver!r} does not support positive fitting. Please set the "
                "solver to 'auto' or 'lbfgs', or set `positive=False`."
            )
            raise ValueError(msg)

    def _alphas(self, n_targets: int) -> np.ndarray:
        alpha = np.asarray(self.alpha, dtype=np.float64).ravel()
        if alpha.size not in (1, n_targets):
            msg = (
                "Number of targets and number of penalties do not correspond: "
                f"{alpha.size} != {n_targets}"
            )
            raise ValueError(msg)
        if not (alpha >= 0).all():
            msg = f"alpha must be >= 0 for every target; got {self.alpha!r}."
            raise ValueError(msg)
        return np.broadcast_to(alpha, (n_targets,))

    def _solve(self, state: GramState) -> None:
        alpha = self._alphas(self._n_targets)
        coef, x_offset, y_offset = _ridge_coef(state, alpha, self.fit_intercept, self.positive)
        set_intercept(self, coef, x_offset, y_offset)
        self.n_iter_ = 1
        self.solver_ = "nnls" if self.positive else "cholesky"


class RidgeCV(LinearModelBase):
    """Ridge regression with built-in cross-validation, every alpha and fold in one pass.

    The scikit-learn estimator of the same name, fitted out-of-core. Rows are assigned
    to folds by a fixed hash of their position in the data, and one pass accumulates
    the sufficient statistics (centred Gram matrix, cross-products, sums of squares)
    of each fold. Each alpha is then trained on the merged statistics of the other
    folds and scored on the held-out fold exactly: the held-out squared error is a
    quadratic form in the fold's statistics, so no second pass and no stored
    predictions are needed. The model is refitted on all rows with the best alpha.

    Parameters
    ----------
    alphas : array-like of shape (n_alphas,), default=(0.1, 1.0, 10.0)
        Regularization strengths to try (> 0 with ``cv=None``, >= 0 otherwise).
    fit_intercept : bool, default=True
    scoring : {"r2", "neg_mean_squared_error", "neg_root_mean_squared_error", \
"explained_variance"}, default=None
        Metric maximised. None means the negative mean squared error with ``cv=None``
        and R^2 with an integer ``cv``, as in scikit-learn. Scorers that need the
        predictions themselves (callables, other names) are not supported.
    cv : int or scaleml.model_selection.HashKFold, default=None
        The folds: ``HashKFold(cv)`` for an integer, ``HashKFold(5)`` for None, or a
        given ``HashKFold`` (its seed, and `key` columns for group-aware folds). With
        an integer or a splitter, each alpha's score is the mean of the per-fold
        scores (scikit-learn's ``GridSearchCV``); with None it is the score of all
        out-of-fold predictions pooled, the analogue of scikit-learn's leave-one-out
        (which needs per-row leverages, so it is replaced by 5 folds here: results
        differ from scikit-learn's ``cv=None``). Other splitters need row indices
        and are not supported out-of-core.
    gcv_mode : {"auto", "svd", "eigen"}, default=None
        Accepted for compatibility; unused.
    store_cv_results : bool, default=False
        With ``cv=None``, store in ``cv_results_`` the per-fold values (the mean
        squared error, or the score when `scoring` is set) as an array of shape
        (n_folds, n_alphas) or (n_folds, n_targets, n_alphas) -- scikit-learn's
        shape with folds in place of rows. Incompatible with an integer `cv`.
    alpha_per_target : bool, default=False
        With several targets, choose the best alpha of each target separately.
    n_jobs : int, default=None
        Number of row partitions folded in parallel threads (-1: one per core).
    batch_rows : int, default=None
        Rows per block read from the data (default: about 8 MiB per block).

    Attributes
    ----------
    alpha_ : float or ndarray of shape (n_targets,)
    best_score_ : float or ndarray of shape (n_targets,)
    cv_results_ : dict or ndarray
        A ``GridSearchCV``-style dict (``param_alpha``, ``params``,
        ``split<k>_test_score``, ``mean_test_score``, ``std_test_score``,
        ``rank_test_score``; scores averaged over targets), or the array described
        under `store_cv_results`.
    coef_ : ndarray of shape (n_features,) or (n_targets, n_features)
    intercept_ : float or ndarray of shape (n_targets,)
    n_features_in_ : int
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Defined when X has column names.

    Notes
    -----
    Rows get the same folds as :class:`scaleml.model_selection.HashKFold` gives them
    (a stable splitmix64 hash of the row position): the same for any chunking,
    ``n_jobs``, platform or library version, so scikit-learn's
    ``RidgeCV(cv=HashKFold(k))`` selects the same alpha. Hashing by position needs
    a stable row order (parquet files, in-memory data; a DuckDB query without ORDER
    BY may not have one). With very few rows a fold can be empty; it is then left
    out. Unlike scikit-learn, ``sample_weight`` is not supported.

    Examples
    --------
    >>> import numpy as np
    >>> from scaleml import RidgeCV
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(100, 3))
    >>> y = X @ [1.0, 2.0, 3.0] + rng.normal(size=100)
    >>> reg = RidgeCV(alphas=[0.1, 1.0, 100.0], cv=4).fit(X, y)
    >>> float(reg.alpha_), reg.coef_.round(1)
    (0.1, array([1. , 1.9, 2.8]))
    """

    _parameter_constraints: dict[str, list[Any]] = {
        "alphas": ["array-like", Interval(Real, 0, None, closed="neither")],
        "fit_intercept": ["boolean"],
        "scoring": [
            StrOptions(
                {
                    "r2",
                    "neg_mean_squared_error",
                    "neg_root_mean_squared_error",
                    "explained_variance",
                }
            ),
            None,
        ],
        "cv": [Interval(Integral, 2, None, closed="left"), HashKFold, None],
        "gcv_mode": [StrOptions({"auto", "svd", "eigen"}), None],
        "store_cv_results": ["boolean"],
        "alpha_per_target": ["boolean"],
        "n_jobs": [None, Integral],
        "batch_rows": [None, Interval(Integral, 1, None, closed="left")],
    }

    _has_row_index = True
    cv_results_: Any
    alpha_: Any
    best_score_: Any

    def __init__(
        self,
        alphas: Any = (0.1, 1.0, 10.0),
        *,
        fit_intercept: bool = True,
        scoring: str | None = None,
        cv: int | None = None,
        gcv_mode: str | None = None,
        store_cv_results: bool = False,
        alpha_per_target: bool = False,
        n_jobs: int | None = None,
        batch_rows: int | None = None,
    ) -> None:
        self.alphas = alphas
        self.fit_intercept = fit_intercept
        self.scoring = scoring
        self.cv = cv
        self.gcv_mode = gcv_mode
        self.store_cv_results = store_cv_results
        self.alpha_per_target = alpha_per_target
        self.n_jobs = n_jobs
        self.batch_rows = batch_rows

    def fit(self, X: Any, y: Any) -> RidgeCV:
        """Fit every alpha on every fold in one pass, then refit with the best alpha.

        Parameters
        ----------
        X : array-like, DataFrame, LazyFrame, path/glob, DuckDB relation or Arrow data
            Numeric features without missing values.
        y : array-like of shape (n_samples,) or (n_samples, n_targets), or str
            Targets, or the name of the label column of `X` (never a feature).

        Returns
        -------
        self
        """
        self._fit(X, y, None, partial=False)
        return self

    def _splitter(self) -> HashKFold:
        if isinstance(self.cv, HashKFold):
            return self.cv
        return HashKFold(DEFAULT_FOLDS if self.cv is None else int(self.cv))

    @property
    def _n_folds(self) -> int:
        return int(self._splitter().n_splits)

    def _check_params(self) -> None:
        if self.store_cv_results and self.cv is not None:
            msg = "cv!=None and store_cv_results=True are incompatible"
            raise ValueError(msg)
        alphas = np.asarray(self.alphas, dtype=np.float64)
        low = "neither" if self.cv is None else "left"
        for i, a in enumerate(np.atleast_1d(alphas)):
            name = "alphas" if alphas.ndim == 0 else f"alphas[{i}]"
            check_scalar(
                float(a), name, target_type=numbers.Real, min_val=0.0, include_boundaries=low
            )

    def _fold(self, lf: pl.LazyFrame, fit: Any, state: Any = None) -> Any:
        # The fold of a row is HashKFold's: a stable hash of its position (or keys).
        cv = self._splitter()
        fold_id = fold_expr(cv.n_splits, seed=cv.seed, key=cv.key).alias(FOLD_COLUMN)
        fit.y_columns = [*fit.y_columns, fold_id]
        return super()._fold(lf.with_row_index(ROW_INDEX), fit, state)

    # -- mergeable state: one GramState per fold ------------------------------------
    def _init_state(self) -> list[GramState]:
        return [
            GramState.empty(len(self._columns_in), self._n_targets) for _ in range(self._n_folds)
        ]

    def _update_state(self, state: list[GramState], chunk: Any) -> list[GramState]:
        Z, _, index = self._split_chunk(chunk)
        folds = np.asarray(index).astype(np.intp)
        return [s.merge(self._block_state(Z[folds == f])) for f, s in enumerate(state)]

    def _merge_states(self, a: list[GramState], b: list[GramState]) -> list[GramState]:
        return [x.merge(y) for x, y in zip(a, b, strict=True)]

    def _finalize_state(self, state: list[GramState]) -> None:
        total = functools.reduce(GramState.merge, state)
        n_rows, k = total.rows, self._n_folds
        if n_rows < k:
            msg = (
                f"Cannot have number of splits n_splits={k} greater than the number of "
                f"samples: n_samples={n_rows}."
            )
            raise ValueError(msg)
        folds = [f for f, s in enumerate(state) if s.rows > 0]
        alphas = np.atleast_1d(np.asarray(self.alphas, dtype=np.float64))
        sse, resid_mean = _held_out_errors(state, folds, alphas, self.fit_intercept)
        per_fold, score = self._scores(state, folds, total, sse, resid_mean)
        self._select(alphas, score)
        self._set_cv_results(alphas, folds, per_fold, score, sse, state)
        alpha = np.broadcast_to(self.alpha_, (self._n_targets,)).astype(np.float64)
        coef, x_offset, y_offset = _ridge_coef(total, alpha, self.fit_intercept, False)
        set_intercept(self, coef, x_offset, y_offset)

    def _metric(self) -> str:
        if self.scoring is not None:
            return str(self.scoring)
        return "neg_mean_squared_error" if self.cv is None else "r2"

    def _scores(
        self,
        state: list[GramState],
        folds: list[int],
        total: GramState,
        sse: np.ndarray,
        resid_mean: np.ndarray,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Per-fold scores (folds, alphas, targets) and the selection score (alphas, targets)."""
        metric = self._metric()
        n = np.array([state[f].rows for f in folds], dtype=np.float64)[:, None, None]
        syy = np.array([state[f].syy for f in folds])[:, None, :]
        per_fold = _metric(metric, sse / n, resid_mean, syy / n)
        if self.cv is not None:
            return per_fold, per_fold.mean(axis=0)
        # cv=None: score all out-of-fold predictions together, like leave-one-out.
        N = n.sum()
        pooled_mean = (n * resid_mean).sum(axis=0) / N
        return per_fold, _metric(metric, sse.sum(axis=0) / N, pooled_mean, total.syy[None, :] / N)

    def _select(self, alphas: np.ndarray, score: np.ndarray) -> None:
        if self.alpha_per_target and self._n_targets > 1:
            best = np.argmax(score, axis=0)
            self.alpha_ = alphas[best]
            self.best_score_ = score[best, np.arange(score.shape[1])]
        else:
            best_i = int(np.argmax(score.mean(axis=1)))
            self.alpha_ = float(alphas[best_i])
            self.best_score_ = float(score[best_i].mean())

    def _set_cv_results(
        self,
        alphas: np.ndarray,
        folds: list[int],
        per_fold: np.ndarray,
        score: np.ndarray,
        sse: np.ndarray,
        state: list[GramState],
    ) -> None:
        if self.store_cv_results:
            n = np.array([state[f].rows for f in folds], dtype=np.float64)[:, None, None]
            values = sse / n if self.scoring is None else per_fold
            values = values.transpose(0, 2, 1)  # (folds, targets, alphas)
            self.cv_results_ = values[:, 0, :] if self._y_ndim == 1 else values
            return
        split = per_fold.mean(axis=2)  # (folds, alphas), averaged over targets
        mean = score.mean(axis=1)
        results: dict[str, Any] = {
            "param_alpha": alphas.copy(),
            "params": [{"alpha": float(a)} for a in alphas],
        }
        for i, f in enumerate(folds):
            results[f"split{f}_test_score"] = split[i]
        results["mean_test_score"] = mean
        results["std_test_score"] = split.std(axis=0)
        results["rank_test_score"] = rankdata(-mean, method="min").astype(np.int32)
        self.cv_results_ = results


def _held_out_errors(
    state: list[GramState], folds: list[int], alphas: np.ndarray, fit_intercept: bool
) -> tuple[np.ndarray, np.ndarray]:
    """Held-out sum of squared errors and mean residual, shape (folds, alphas, targets).

    For a model ``y ~ b + x'w`` and a fold with weight ``n``, means ``mx, my`` and
    centred statistics ``Sxx, Sxy, Syy``, the residual ``r = (yc - xc'w) + m`` with
    ``m = my - mx'w - b`` constant, and the centred parts sum to zero, so

        sum r^2 = Syy - 2 w'Sxy + w'Sxx w + n m^2.
    """
    sse = np.empty((len(folds), len(alphas), state[0].sxy.shape[1]))
    resid_mean = np.empty_like(sse)
    for i, h in enumerate(folds):
        train = functools.reduce(GramState.merge, [s for f, s in enumerate(state) if f != h])
        G, B, x_off, y_off = train.system(fit_intercept)
        evals, V = eigh_sorted(G)
        VB = V.T @ B
        cut = len(G) * _EPS * (evals[0] if evals.size else 0.0)
        held = state[h]
        for a, alpha in enumerate(alphas):
            d = evals + alpha
            inv = np.divide(1.0, d, out=np.zeros_like(d), where=d > cut)
            W = V @ (VB * inv[:, None])  # (p, t)
            b = y_off - x_off @ W
            m = held.mean_y - held.mean_x @ W - b
            quad = np.einsum("pt,pt->t", W, held.sxx @ W) - 2 * np.einsum("pt,pt->t", W, held.sxy)
            sse[i, a] = np.maximum(held.syy + quad + held.weight * m**2, 0.0)
            resid_mean[i, a] = m
    return sse, resid_mean


def _metric(metric: str, mse: np.ndarray, resid_mean: np.ndarray, var_y: np.ndarray) -> np.ndarray:
    """A scikit-learn regression score from the mean squared error, the mean residual and
    the variance of the target (per target; constant targets as ``force_finite=True``)."""
    if metric == "neg_mean_squared_error":
        return -mse
    if metric == "neg_root_mean_squared_error":
        return -np.asarray(np.sqrt(mse))
    num = mse - resid_mean**2 if metric == "explained_variance" else mse
    num = np.broadcast_to(num, np.broadcast_shapes(num.shape, var_y.shape))
    var_y = np.broadcast_to(var_y, num.shape)
    out = np.where(num == 0.0, 1.0, 0.0)
    ok = var_y > 0
    return np.asarray(
        np.where(ok, 1.0 - np.divide(num, var_y, out=np.ones_like(num), where=ok), out)
    )
