"""Shared machinery of the exact one-pass linear models.

Every fit reduces the data to sufficient statistics, :class:`GramState`: the (weighted)
row count, the means of the features and targets and their *centred* cross-products.
Chunks are centred on their own means before the BLAS Gram product and merged with
Chan, Golub & LeVeque's pairwise update, so a large common offset (features around
1e6 with unit spread) does not cancel away the information the solve needs, and the
result does not depend on how the data was chunked.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl
from sklearn.base import RegressorMixin
from sklearn.metrics import r2_score
from sklearn.utils.validation import _check_sample_weight, _check_y, check_is_fitted

from scaleml._blas import single_blas_thread
from scaleml._fit import fold
from scaleml._predictor import BatchEstimator, FitInput, linear_expr
from scaleml._validation import check_numeric, input_data
from scaleml.io import batch_rows_for

__all__ = [
    "BATCH_BYTES",
    "SW_COLUMN",
    "GramState",
    "LinearModelBase",
    "PartialFitMixin",
    "set_intercept",
    "streaming_r2",
]

#: Name under which an in-memory ``sample_weight`` is attached to the data.
SW_COLUMN = "__scaleml_sample_weight"
#: Default bytes per chunk: the Gram update is memory-bound, so a few MiB keep its
#: passes over a chunk in cache; larger chunks only add to the peak memory.
BATCH_BYTES = 8 * 2**20


@dataclass
class GramState:
    """Sufficient statistics of a least-squares problem, mergeable across chunks.

    Attributes
    ----------
    rows : number of rows seen (zero-weight rows included).
    weight : sum of the sample weights (``rows`` when unweighted).
    mean_x : (p,) weighted feature means.
    mean_y : (t,) weighted target means.
    sxx : (p, p) centred cross-products ``sum w (x - mean_x)(x - mean_x)'``.
    sxy : (p, t) centred cross-products ``sum w (x - mean_x)(y - mean_y)'``.
    syy : (t,) centred sums of squares of each target.
    """

    rows: int
    weight: float
    mean_x: np.ndarray
    mean_y: np.ndarray
    sxx: np.ndarray
    sxy: np.ndarray
    syy: np.ndarray

    @classmethod
    def empty(cls, n_features: int, n_targets: int) -> GramState:
        """The identity of :meth:`merge`."""
        p, t = n_features, n_targets
        return cls(
            0, 0.0, np.zeros(p), np.zeros(t), np.zeros((p, p)), np.zeros((p, t)), np.zeros(t)
        )

    @classmethod
    def from_block(cls, Z: np.ndarray, n_features: int, sw: np.ndarray | None = None) -> GramState:
        """Statistics of one block ``Z = [X | Y]`` (n, p + t), optional weights (n,).

        One Gram product of the centred augmented block gives ``Sxx``, ``Sxy`` and
        ``Syy`` at once. A non-finite value anywhere shows in the means or the
        diagonal (see :meth:`is_finite`), so the block needs no separate NaN scan.
        """
        n, k = Z.shape
        p = n_features
        if n == 0:
            return cls.empty(p, k - p)
        weight = float(n) if sw is None else float(sw.sum())
        if weight == 0.0:
            state = cls.empty(p, k - p)
            state.rows = n
            # Zero-weight rows still must not hold NaN/inf (as in scikit-learn).
            nan = np.where(np.isfinite(Z).all(axis=0), 0.0, np.nan)
            state.mean_x, state.mean_y = nan[:p], nan[p:]
            return state
        # NaN/inf propagate silently into the statistics, where is_finite sees them.
        with np.errstate(invalid="ignore", over="ignore"):
            mz = Z.mean(axis=0) if sw is None else (sw @ Z) / weight
            Zc = Z - mz
            Zw = Zc if sw is None else Zc * sw[:, None]
            # Corrected two-pass: the rounding residue of the mean (dz) is removed
            # from the cross-products instead of costing a second centring pass.
            dz = Zw.sum(axis=0) / weight
            S = Zw.T @ Zc  # BLAS syrk when unweighted (Zw is Zc)
            S -= weight * np.outer(dz, dz)
        mz = mz + dz
        return cls(n, weight, mz[:p], mz[p:], S[:p, :p], S[:p, p:], np.diag(S)[p:].copy())

    def is_finite(self) -> bool:
        """False when the data held NaN or infinity (it propagates to these)."""
        return bool(
            np.isfinite(self.mean_x).all()
            and np.isfinite(self.mean_y).all()
            and np.isfinite(np.diag(self.sxx)).all()
            and np.isfinite(self.syy).all()
        )

    def merge(self, other: GramState) -> GramState:
        """Combine two states (Chan et al.'s update); associative, ``empty`` is neutral."""
        rows = self.rows + other.rows
        if other.weight == 0.0 or self.weight == 0.0:
            base = self if other.weight == 0.0 else other
            return GramState(
                rows, base.weight, base.mean_x, base.mean_y, base.sxx, base.sxy, base.syy
            )
        w = self.weight + other.weight
        dx = other.mean_x - self.mean_x
        dy = other.mean_y - self.mean_y
        f = self.weight * other.weight / w
        return GramState(
            rows,
            w,
            self.mean_x + dx * (other.weight / w),
            self.mean_y + dy * (other.weight / w),
            self.sxx + other.sxx + f * np.outer(dx, dx),
            self.sxy + other.sxy + f * np.outer(dx, dy),
            self.syy + other.syy + f * dy**2,
        )

    def system(self, fit_intercept: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """``(G, B, x_offset, y_offset)``: the normal equations ``G w = B`` to solve.

        With an intercept the system is the centred one and the intercept is
        ``y_offset - x_offset @ w``; without, it is the raw ``X'WX`` / ``X'Wy``.
        """
        if fit_intercept:
            return self.sxx, self.sxy, self.mean_x, self.mean_y
        G = self.sxx + self.weight * np.outer(self.mean_x, self.mean_x)
        B = self.sxy + self.weight * np.outer(self.mean_x, self.mean_y)
        return G, B, np.zeros_like(self.mean_x), np.zeros_like(self.mean_y)


def streaming_r2(lf: pl.LazyFrame, y: str, prediction: pl.Expr) -> float:
    """R^2 of `prediction` against column `y`, in one streaming Polars aggregation.

    The total sum of squares comes from the engine's (stable) variance, so no second
    pass over the data is needed. Rows with a missing label or prediction raise.
    """
    yt = pl.col(y).cast(pl.Float64)
    bad = yt.is_null() | yt.is_nan() | prediction.is_null() | prediction.is_nan()
    row = (
        lf.select(
            n=pl.len(),
            bad=bad.sum(),
            ss_res=((yt - prediction) ** 2).sum(),
            var=yt.var(ddof=0),
        )
        .collect(engine="streaming")
        .row(0, named=True)
    )
    if row["n"] == 0:
        msg = "Cannot compute R^2 on 0 rows."
        raise ValueError(msg)
    if row["bad"]:
        msg = (
            f"{row['bad']} row(s) of the scored data have a missing (NaN or null) label "
            f"{y!r} or feature; R^2 is undefined there. Hint: impute or drop them first."
        )
        raise ValueError(msg)
    ss_tot = row["var"] * row["n"]
    ss_res = row["ss_res"]
    if ss_tot == 0.0:
        # scikit-learn's r2_score(force_finite=True) convention for a constant label.
        return 1.0 if ss_res == 0.0 else 0.0
    return float(1.0 - ss_res / ss_tot)


class LinearModelBase(RegressorMixin, BatchEstimator):  # type: ignore[misc]
    """Fit plumbing shared by the Gram-matrix models: inputs, fold, predict, score.

    Subclasses implement ``_solve(state)`` (set ``coef_``/``intercept_`` and any other
    fitted attribute from a :class:`GramState`).
    """

    batch_rows: int | None
    n_jobs: int | None
    fit_intercept: bool
    _n_targets: int
    _y_ndim: int
    _state: Any
    _fold_columns: list[str]
    # Column-major chunks: Polars builds them fastest, and the column reductions and
    # the Gram product do not care about the layout.
    chunk_order = "F"

    # -- mergeable state -----------------------------------------------------------------
    def _init_state(self) -> Any:
        return GramState.empty(len(self._columns_in), self._n_targets)

    def _update_state(self, state: Any, chunk: tuple[np.ndarray, np.ndarray | None]) -> Any:
        Z, sw, _ = self._split_chunk(chunk)
        return state.merge(self._block_state(Z, sw))

    def _block_state(self, Z: np.ndarray, sw: np.ndarray | None = None) -> GramState:
        state = GramState.from_block(Z, len(self._columns_in), sw)
        if not state.is_finite():
            _raise_non_finite(self, Z, self._fold_columns)
        return state

    def _merge_states(self, a: Any, b: Any) -> Any:
        return a.merge(b)

    def _finalize_state(self, state: Any) -> None:
        _check_rows(self, state.rows)
        self._solve(state)

    def _solve(self, state: GramState) -> None:
        raise NotImplementedError

    def _split_chunk(
        self, chunk: tuple[np.ndarray, np.ndarray | None]
    ) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
        """``(Z, sample_weight, row_index)`` of a chunk; ``Z = [X | Y]`` is a view.

        Chunks hold every fold column (features, targets, then the optional weight and
        row-index columns) as one block, so no per-chunk copy splits X from y.
        """
        block, _ = chunk
        k = len(self._columns_in) + self._n_targets
        sw = block[:, k] if self._weighted else None
        extra = block[:, -1] if self._has_row_index else None
        return block[:, :k], sw, extra

    # -- fitting -------------------------------------------------------------------------
    _has_row_index = False
    _weighted = False

    def _reset(self) -> None:
        for attr in ("_state", "coef_", "intercept_", "n_features_in_", "feature_names_in_"):
            if hasattr(self, attr):
                delattr(self, attr)

    def _prepare(
        self, X: Any, y: Any, sample_weight: Any, *, reset: bool
    ) -> tuple[pl.LazyFrame, FitInput]:
        """Validate `y` and `sample_weight`, and return the frame the fold reads."""
        if y is None:
            msg = f"{type(self).__name__} requires y to be passed, but the target y is None."
            raise ValueError(msg)
        if not isinstance(y, str):
            y = _check_y(y, multi_output=True, y_numeric=True, estimator=self)
        y_ndim = 1 if isinstance(y, str) else y.ndim
        fit = self._fit_input(X, y, reset=reset)
        n_targets = len(fit.y_columns)
        if not reset and (n_targets != self._n_targets or y_ndim != self._y_ndim):
            msg = (
                f"y has {n_targets} target(s) (ndim={y_ndim}) but {type(self).__name__} "
                f"was fitted on {self._n_targets} (ndim={self._y_ndim})."
            )
            raise ValueError(msg)
        self._n_targets, self._y_ndim = n_targets, y_ndim
        lf = fit.lf.select([*fit.columns, *fit.y_columns])
        self._weighted = sample_weight is not None
        if self._weighted:
            n_rows = int(lf.select(pl.len()).collect().item())
            sw = _check_sample_weight(
                sample_weight, np.empty((n_rows, 0)), dtype=np.float64, **self._sw_options()
            )
            lf = pl.concat([lf, pl.DataFrame({SW_COLUMN: sw}).lazy()], how="horizontal")
            fit.y_columns = [*fit.y_columns, SW_COLUMN]
        return lf, fit

    def _sw_options(self) -> dict[str, Any]:
        return {}

    def _fold(self, lf: pl.LazyFrame, fit: FitInput, state: Any = None) -> Any:
        # Features and labels are read as one block (see ``_split_chunk``); NaN and
        # infinity are caught from the block's statistics (``_block_state``).
        # One BLAS thread: the per-chunk Gram product is memory-bound (see _blas).
        self._fold_columns = [*fit.columns, *fit.y_columns]
        with single_blas_thread():
            return fold(
                self,
                lf,
                columns=self._fold_columns,
                batch_rows=self.batch_rows
                or batch_rows_for(len(self._fold_columns), 8, BATCH_BYTES),
                n_jobs=self.n_jobs,
                allow_nan=True,
                state=state,
            )

    def _fit(self, X: Any, y: Any, sample_weight: Any, *, partial: bool) -> None:
        self._validate_params()
        self._check_params()
        first = not (partial and hasattr(self, "_state"))
        if first:
            self._reset()
        lf, fit = self._prepare(X, y, sample_weight, reset=first)
        state = self._fold(lf, fit, None if first else self._state)
        self._finalize_state(state)
        self._state = state

    def _check_params(self) -> None:
        """Hook: checks between parameters beyond ``_parameter_constraints``."""

    # -- predicting ----------------------------------------------------------------------
    def _prediction_exprs(self) -> list[pl.Expr]:
        columns = list(self._columns_in)
        if np.ndim(self.coef_) == 1:
            return [linear_expr(columns, self.coef_, float(self.intercept_)).alias("prediction")]
        intercept = np.broadcast_to(self.intercept_, (self.coef_.shape[0],))
        return [
            linear_expr(columns, w, float(b)).alias(f"prediction_{j}")
            for j, (w, b) in enumerate(zip(self.coef_, intercept, strict=True))
        ]

    def predict(self, X: Any) -> Any:
        """Predict with the linear model.

        Parameters
        ----------
        X : array-like, DataFrame, LazyFrame, path/glob, DuckDB relation or Arrow data

        Returns
        -------
        LazyFrame or ndarray of shape (n_samples,) or (n_samples, n_targets)
            A lazy input gives a LazyFrame with column ``prediction`` (one per target,
            ``prediction_0``... for a 2-D ``y``); a missing feature gives a null
            prediction. In-memory input gives what scikit-learn gives.
        """
        data = self._predict_input(X)
        if data.lazy:
            return data.lf.select(self._prediction_exprs())
        Xn = data.lf.select(pl.col(c).cast(pl.Float64) for c in data.columns).collect().to_numpy()
        _check_finite(self, Xn, data.columns)
        return Xn @ self.coef_.T + self.intercept_

    def score(self, X: Any, y: Any, sample_weight: Any = None) -> float:
        """Coefficient of determination R^2 of the prediction.

        With ``y`` a column name and no weights, R^2 is one streaming aggregation over
        the data (nothing is collected); otherwise scikit-learn's ``r2_score``.

        Parameters
        ----------
        X : any input :func:`scaleml.scan` reads, or in-memory data
        y : array-like or str
            True values, or the name of the label column of `X`.
        sample_weight : array-like of shape (n_samples,), optional

        Returns
        -------
        float
        """
        check_is_fitted(self)
        if not isinstance(y, str):
            pred = self.predict(X)
            if isinstance(pred, pl.LazyFrame):
                pred = pred.collect().to_numpy()
                pred = pred.ravel() if np.ndim(self.coef_) == 1 else pred
            return float(r2_score(y, pred, sample_weight=sample_weight))
        data = input_data(self, X, y, reset=False, numeric=True, allow_nan=True)
        check_numeric(self, data.lf.collect_schema(), data.columns)
        if y not in data.lf.collect_schema().names():
            msg = f"y={y!r} is not a column of X."
            raise ValueError(msg)
        exprs = self._prediction_exprs()
        if sample_weight is None and len(exprs) == 1:
            return streaming_r2(data.lf, y, exprs[0])
        frame = data.lf.select(pl.col(y).cast(pl.Float64), *exprs).collect()
        pred = frame.select(frame.columns[1:]).to_numpy()
        pred = pred.ravel() if np.ndim(self.coef_) == 1 else pred
        return float(r2_score(frame[y].to_numpy(), pred, sample_weight=sample_weight))

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        tags.target_tags.single_output = True
        return tags


def set_intercept(est: Any, coef: np.ndarray, x_offset: np.ndarray, y_offset: np.ndarray) -> None:
    """Set ``coef_`` ((t, p) solved) and ``intercept_`` with scikit-learn's shapes."""
    if est._y_ndim == 1:
        est.coef_ = coef[0].copy()
        est.intercept_ = float(y_offset[0] - x_offset @ est.coef_) if est.fit_intercept else 0.0
    else:
        est.coef_ = coef
        est.intercept_ = y_offset - coef @ x_offset if est.fit_intercept else 0.0


def _check_rows(est: Any, rows: int) -> None:
    if rows == 0:
        msg = (
            f"Found array with 0 sample(s) (shape=(0, {est.n_features_in_})) while a "
            f"minimum of 1 is required by {type(est).__name__}."
        )
        raise ValueError(msg)


def _raise_non_finite(est: Any, Z: np.ndarray, columns: list[str]) -> None:
    """Name the columns of `Z` holding NaN/null or infinity (the slow path)."""
    _check_finite(est, Z, columns[: Z.shape[1]])
    msg = (
        f"Input values of {type(est).__name__} are too large: their sums of squares "
        "overflow float64. Hint: rescale the features (StandardScaler)."
    )
    raise ValueError(msg)


def _check_finite(est: Any, X: np.ndarray, columns: list[str]) -> None:
    bad = ~np.isfinite(X).all(axis=0)
    if bad.any():
        names = [c for c, b in zip(columns, bad, strict=True) if b]
        msg = (
            f"Input contains NaN, null or infinity in column(s) {names}, which "
            f"{type(est).__name__} does not accept. Hint: impute missing values first "
            "(scaleml.SimpleImputer) or drop those rows."
        )
        raise ValueError(msg)


class PartialFitMixin:
    """``partial_fit`` for the one-pass linear models (not RidgeCV, as in scikit-learn)."""

    def partial_fit(self, X: Any, y: Any, sample_weight: Any = None) -> Any:
        """Add a chunk of rows to the fit; any split of the data gives the same model.

        Parameters
        ----------
        X, y, sample_weight : as in :meth:`fit`

        Returns
        -------
        self
        """
        self._fit(X, y, sample_weight, partial=True)  # type: ignore[attr-defined]
        return self
