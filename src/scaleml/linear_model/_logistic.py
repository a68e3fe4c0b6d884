"""LogisticRegression: full-batch L-BFGS, one streaming pass per loss evaluation."""

from __future__ import annotations

import hashlib
import logging
import os
import warnings
from numbers import Integral, Real
from typing import Any

import numpy as np
import polars as pl
from scipy import optimize
from sklearn.base import ClassifierMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils._param_validation import Hidden, Interval, StrOptions

from scaleml import _shared_scan
from scaleml._checkpoint import Checkpoint, fingerprint
from scaleml._fit import _numpy_chunks, fold
from scaleml._predictor import BatchEstimator, FitInput
from scaleml._progress import Progress
from scaleml.io import DEFAULT_BATCH_BYTES
from scaleml.linear_model._linear_classifier import (
    Labels,
    LinearClassifierOutputMixin,
    check_y,
    class_weight_vector,
    data_digest,
    label_codes,
    labels_of,
)

__all__ = ["LogisticRegression"]

logger = logging.getLogger(__name__)

_State = tuple[np.ndarray, np.ndarray]

#: Data up to this size (one block's budget) is read once and kept for every pass.
CACHE_BYTES = DEFAULT_BATCH_BYTES


class LogisticRegression(LinearClassifierOutputMixin, ClassifierMixin, BatchEstimator):  # type: ignore[misc]
    """Logistic regression (binary and multinomial) fitted out-of-core with L-BFGS.

    The scikit-learn estimator of the same name with ``solver="lbfgs"``: the same
    objective (mean of the sample losses plus ``||w||^2 / (2 C n)``, intercept not
    penalised; multinomial with one coefficient row per class), the same SciPy
    L-BFGS-B call, hence the same coefficients. Each evaluation of the loss and its
    gradient is one streaming pass over the data: a numba kernel per block, summed
    over blocks (and over ``n_jobs`` partitions in threads). Memory stays one block
    plus the model, whatever the number of rows.

    Parameters
    ----------
    penalty : {"l2", None}, default="deprecated"
        As in scikit-learn 1.9 (deprecated there: use ``C=np.inf`` for no penalty).
        Only the L2 penalty (or none) is available: L1 and elastic-net need other
        solvers.
    C : float, default=1.0
        Inverse of the regularization strength.
    l1_ratio : float, default=0.0
        Only 0 (pure L2) is supported.
    dual : bool, default=False
        Only False is supported.
    tol : float, default=1e-4
        L-BFGS stops when the largest gradient component is below `tol`.
    fit_intercept : bool, default=True
    intercept_scaling : float, default=1
        Unused (liblinear only); kept for compatibility.
    class_weight : dict, "balanced" or None, default=None
        Weights of the classes; "balanced" uses the class counts of the first query.
    random_state : int, RandomState instance or None, default=None
        Unused (lbfgs is deterministic); kept for compatibility.
    solver : {"lbfgs"}, default="lbfgs"
        Other scikit-learn solvers raise a ValueError.
    max_iter : int, default=100
        Maximum number of L-BFGS iterations.
    verbose : int, default=0
        Show a progress line (rows/s, pass k of n, ETA) and the loss of every pass.
    warm_start : bool, default=False
        Start from the previous fit's coefficients.
    n_jobs : int or None, default=None
        Partitions of the data read in parallel threads in every pass (-1: all
        cores). Unlike scikit-learn 1.9, where it has no effect, it is used.
    batch_rows : int or None, default=None
        Rows per block handed to the kernel (default: about 64 MiB per block).
    checkpoint : str, path or None, default=None
        File where every evaluation of the loss is saved, atomically, as the fit
        goes. After a crash, the same fit replays L-BFGS from it without reading the
        data again for the evaluations already done, then continues: the result is
        identical to an uninterrupted fit. The file is removed when the fit ends.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
    coef_ : ndarray of shape (1, n_features) or (n_classes, n_features)
    intercept_ : ndarray of shape (1,) or (n_classes,)
    n_iter_ : ndarray of shape (1,)
        L-BFGS iterations.
    n_passes_ : int
        Passes over the data made by the last ``fit`` call (evaluations of the loss
        answered from a checkpoint are not passes).
    n_features_in_ : int
    feature_names_in_ : ndarray of shape (n_features_in_,)

    Examples
    --------
    >>> import polars as pl
    >>> from scaleml import LogisticRegression
    >>> lf = pl.LazyFrame({"x": [0.0, 1.0, 2.0, 3.0], "label": ["a", "a", "b", "b"]})
    >>> clf = LogisticRegression().fit(lf, y="label")
    >>> clf.classes_.tolist()
    ['a', 'b']
    >>> clf.predict(lf.drop("label")).collect()["prediction"].to_list()
    ['a', 'a', 'b', 'b']
    >>> round(clf.score(lf, y="label"), 2)
    1.0
    """

    _parameter_constraints: dict[str, list[Any]] = {
        "penalty": [
            StrOptions({"l1", "l2", "elasticnet"}),
            None,
            Hidden(StrOptions({"deprecated"})),
        ],
        "C": [Interval(Real, 0, None, closed="right")],
        "l1_ratio": [Interval(Real, 0, 1, closed="both"), None],
        "dual": ["boolean"],
        "tol": [Interval(Real, 0, None, closed="left")],
        "fit_intercept": ["boolean"],
        "intercept_scaling": [Interval(Real, 0, None, closed="neither")],
        "class_weight": [dict, StrOptions({"balanced"}), None],
        "random_state": ["random_state"],
        "solver": [
            StrOptions({"lbfgs", "liblinear", "newton-cg", "newton-cholesky", "sag", "saga"})
        ],
        "max_iter": [Interval(Integral, 0, None, closed="left")],
        "verbose": ["verbose"],
        "warm_start": ["boolean"],
        "n_jobs": [None, Integral],
        "batch_rows": [None, Interval(Integral, 1, None, closed="left")],
        "checkpoint": [None, str, os.PathLike],
    }

    def __init__(
        self,
        penalty: str | None = "deprecated",
        *,
        C: float = 1.0,
        l1_ratio: float | None = 0.0,
        dual: bool = False,
        tol: float = 1e-4,
        fit_intercept: bool = True,
        intercept_scaling: float = 1,
        class_weight: Any = None,
        random_state: Any = None,
        solver: str = "lbfgs",
        max_iter: int = 100,
        verbose: int = 0,
        warm_start: bool = False,
        n_jobs: int | None = None,
        batch_rows: int | None = None,
        checkpoint: str | os.PathLike[str] | None = None,
    ) -> None:
        self.penalty = penalty
        self.C = C
        self.l1_ratio = l1_ratio
        self.dual = dual
        self.tol = tol
        self.fit_intercept = fit_intercept
        self.intercept_scaling = intercept_scaling
        self.class_weight = class_weight
        self.random_state = random_state
        self.solver = solver
        self.max_iter = max_iter
        self.verbose = verbose
        self.warm_start = warm_start
        self.n_jobs = n_jobs
        self.batch_rows = batch_rows
        self.checkpoint = checkpoint

    # -- parameters ---------------------------------------------------------------------
    def _effective_C(self) -> float:
        """scikit-learn 1.9's reading of penalty / l1_ratio / C, with its warnings."""
        if self.penalty == "deprecated":
            if self.l1_ratio == 0 or self.l1_ratio is None:
                penalty: str | None = "l2"
                if self.l1_ratio is None:
                    warnings.warn(
                        "'l1_ratio=None' was deprecated in version 1.8 and will trigger an "
                        "error in 1.10. Use 0<=l1_ratio<=1 instead.",
                        FutureWarning,
                        stacklevel=3,
                    )
            else:
                penalty = "l1" if self.l1_ratio == 1 else "elasticnet"
            if self.C == np.inf:
                penalty = None
        else:
            penalty = self.penalty
            warnings.warn(
                "'penalty' was deprecated in version 1.8 and will be removed in 1.10. To "
                "avoid this warning, leave 'penalty' set to its default value and use "
                "'l1_ratio' or 'C' instead. Use l1_ratio=0 instead of penalty='l2', "
                "l1_ratio=1 instead of penalty='l1', l1_ratio set to a float between 0 "
                "and 1 instead of penalty='elasticnet', and C=np.inf instead of "
                "penalty=None.",
                FutureWarning,
                stacklevel=3,
            )
        if self.solver != "lbfgs":
            msg = (
                f"scaleml's LogisticRegression supports solver='lbfgs' only (full-batch "
                f"L-BFGS, one streaming pass over the data per evaluation); got "
                f"solver={self.solver!r}. For stochastic training on huge data use "
                "scaleml.SGDClassifier(loss='log_loss')."
            )
            raise ValueError(msg)
        if penalty not in ("l2", None):
            msg = (
                f"Solver lbfgs supports only 'l2' or None penalties, got {penalty} penalty "
                f"(l1_ratio={self.l1_ratio!r}). Use l1_ratio=0."
            )
            raise ValueError(msg)
        if self.dual:
            msg = f"Solver lbfgs supports only dual=False, got dual={self.dual}"
            raise ValueError(msg)
        if self.penalty is None:
            if self.C != 1.0:
                warnings.warn(
                    "Setting penalty=None will ignore the C and l1_ratio parameters",
                    UserWarning,
                    stacklevel=3,
                )
            return float(np.inf)
        return float(self.C) if penalty is not None else float(np.inf)

    # -- mergeable state of one pass: compensated (loss, gradient) totals ---------------
    def _init_state(self) -> _State:
        return np.zeros(2), np.zeros((2, *self._grad_shape))

    def _update_state(self, state: _State, chunk: tuple[np.ndarray, np.ndarray]) -> _State:
        from scaleml._kernels._logistic import binomial_loss_grad, multinomial_loss_grad

        X, codes = chunk
        loss, grad = state
        coef, intercept = self._pass_model
        if coef.ndim == 1:
            binomial_loss_grad(X, codes, self._class_weight, coef, float(intercept), grad, loss)
        else:
            multinomial_loss_grad(X, codes, self._class_weight, coef, intercept, grad, loss)
        return loss, grad

    def _merge_states(self, a: _State, b: _State) -> _State:
        from scaleml._kernels._logistic import add_compensated

        return add_compensated(a[0], b[0]), add_compensated(a[1], b[1])

    def _finalize_state(self, state: _State) -> None:
        """Unused: the state of a pass is one evaluation of the L-BFGS objective."""

    # -- fitting --------------------------------------------------------------------------
    def fit(self, X: Any, y: Any) -> LogisticRegression:
        """Fit the model on `X`, `y`, streaming the data once per L-BFGS evaluation.

        Parameters
        ----------
        X : array-like, DataFrame, LazyFrame, path/glob, DuckDB relation or Arrow data
        y : array-like of shape (n_samples,) or str
            The labels, or the name of the label column of `X`.

        Returns
        -------
        self
        """
        self._validate_params()
        C = self._effective_C()
        Checkpoint(self.checkpoint, key="").ensure_writable()
        fit = self._fit_input(X, check_y(self, y))
        labels = labels_of(self, fit)
        self._check_labels(labels)
        warm = self._warm_start_coef(len(labels.classes), len(fit.columns))
        self.classes_ = labels.classes
        n_classes, n_features = len(labels.classes), len(fit.columns)
        self._class_weight = (
            np.ones(n_classes)
            if self.class_weight is None
            else class_weight_vector(self.class_weight, labels)
        )
        # scikit-learn's objective is the weighted *mean* loss, so the L2 strength is
        # scaled by the sum of sample weights: 1 / (C * sum(sw)).
        sw_sum = float(labels.counts @ self._class_weight)
        l2 = 0.0 if np.isinf(C) else 1.0 / (C * sw_sum)
        binary = n_classes == 2
        self._grad_shape = (n_features + 1,) if binary else (n_classes, n_features + 1)
        x0 = self._x0(warm, n_classes, n_features)
        objective = _Objective(self, fit, labels, l2, sw_sum, x0)
        result = objective.minimize(x0)
        self.n_passes_ = objective.n_passes
        self.n_iter_ = np.asarray([self._check_result(result)], dtype=np.int32)
        self._set_coef(result.x, n_classes, n_features)
        objective.checkpoint.remove()
        del self._pass_model
        return self

    def _check_labels(self, labels: Labels) -> None:
        if labels.n_rows == 0:
            msg = (
                "Found array with 0 sample(s) while a minimum of 1 is required by "
                f"{type(self).__name__}."
            )
            raise ValueError(msg)
        if len(labels.classes) < 2:
            msg = (
                "This solver needs samples of at least 2 classes in the data, but the "
                f"data contains only one class: {labels.classes[0]!r}"
            )
            raise ValueError(msg)

    def _warm_start_coef(self, n_classes: int, n_features: int) -> np.ndarray | None:
        if not self.warm_start or not hasattr(self, "coef_"):
            return None
        coef = np.asarray(self.coef_)
        if self.fit_intercept:
            coef = np.concatenate([coef, np.asarray(self.intercept_)[:, None]], axis=1)
        rows = 1 if n_classes == 2 else n_classes
        expected = (rows, n_features + int(self.fit_intercept))
        if coef.shape != expected:
            msg = f"Initialization coef is of shape {coef.shape}, expected shape {expected}"
            raise ValueError(msg)
        return coef

    def _x0(self, warm: np.ndarray | None, n_classes: int, n_features: int) -> np.ndarray:
        n_dof = n_features + int(self.fit_intercept)
        if n_classes == 2:
            return np.zeros(n_dof) if warm is None else warm[0].astype(np.float64)
        # scikit-learn's layout: (n_classes, n_dof) ravelled in Fortran order, the
        # classes of one feature contiguous.
        W = np.zeros((n_classes, n_dof), order="F") if warm is None else np.asfortranarray(warm)
        return W.ravel(order="F").astype(np.float64)

    def _unpack(self, x: np.ndarray, n_classes: int, n_features: int) -> tuple[np.ndarray, Any]:
        """``(coef, intercept)`` of the flat L-BFGS vector `x`."""
        if n_classes == 2:
            return x[:n_features].copy(), (x[n_features] if self.fit_intercept else 0.0)
        W = x.reshape((n_classes, -1), order="F")
        intercept = W[:, n_features].copy() if self.fit_intercept else np.zeros(n_classes)
        return np.ascontiguousarray(W[:, :n_features]), intercept

    def _set_coef(self, x: np.ndarray, n_classes: int, n_features: int) -> None:
        coef, intercept = self._unpack(x, n_classes, n_features)
        self.coef_ = coef[None, :] if n_classes == 2 else coef
        self.intercept_ = np.atleast_1d(np.asarray(intercept, dtype=np.float64)).copy()

    def _check_result(self, result: Any) -> int:
        n_iter = min(int(result.nit), self.max_iter)
        if result.status != 0:
            msg = (
                f"lbfgs failed to converge after {n_iter} iteration(s) "
                f"(status={result.status}):\n{result.message}\n"
            )
            if n_iter == self.max_iter:
                msg += (
                    "\nIncrease the number of iterations to improve the convergence "
                    f"(max_iter={self.max_iter})."
                )
            msg += (
                "\nYou might also want to scale the data as shown in:\n"
                "    https://scikit-learn.org/stable/modules/preprocessing.html"
            )
            warnings.warn(msg, ConvergenceWarning, stacklevel=3)
        return n_iter

    # -- predicting -------------------------------------------------------------------------
    def _proba_array(self, scores: np.ndarray) -> np.ndarray:
        return self._softmax_array(scores)

    def _proba_exprs(self, columns: list[str]) -> list[pl.Expr]:
        return self._softmax_exprs(columns)

    def predict_proba(self, X: Any) -> Any:
        """Probability of each class (logistic for binary, softmax for multinomial).

        Returns
        -------
        ndarray of shape (n_samples, n_classes), or a LazyFrame with columns
        "proba_<class>".
        """
        return self._predict_proba(X)

    def predict_log_proba(self, X: Any) -> Any:
        """Logarithm of :meth:`predict_proba`.

        Returns
        -------
        ndarray of shape (n_samples, n_classes), or a LazyFrame with columns
        "log_proba_<class>".
        """
        return self._predict_log_proba(X)


class _Objective:
    """The L-BFGS objective of a fit: one streaming pass per new evaluation.

    Every evaluation is cached under the exact bytes of its argument and saved to the
    checkpoint. L-BFGS-B is deterministic given the values it receives, so a fit
    restarted after a crash replays the same sequence of arguments: those already in
    the checkpoint are answered from it with no pass over the data.
    """

    def __init__(
        self,
        est: LogisticRegression,
        fit: FitInput,
        labels: Labels,
        l2: float,
        sw_sum: float,
        x0: np.ndarray,
    ) -> None:
        self.est = est
        self.fit = fit
        self.l2 = l2
        self.sw_sum = sw_sum
        self.n_classes = len(labels.classes)
        self.n_features = len(fit.columns)
        self.y_expr = label_codes(fit.y_columns[0], labels.classes)
        key = fingerprint(est, fit.lf, hashlib.sha256(x0.tobytes()).hexdigest(), data_digest(fit))
        self.checkpoint = Checkpoint(est.checkpoint, key=key)
        saved = self.checkpoint.load()
        self.cache: dict[bytes, tuple[float, np.ndarray]] = saved[0] if saved else {}
        self.n_passes = 0
        self.blocks = self._small_data_blocks(labels.n_rows)
        self.progress = Progress(
            est.verbose, type(est).__name__, n_passes=max(est.max_iter, 1), total_rows=labels.n_rows
        )

    def minimize(self, x0: np.ndarray) -> Any:
        return optimize.minimize(
            self,
            x0,
            method="L-BFGS-B",
            jac=True,
            options={
                "maxiter": self.est.max_iter,
                "maxls": 50,
                "gtol": self.est.tol,
                "ftol": 64 * np.finfo(float).eps,
            },
        )

    def _small_data_blocks(self, n_rows: int) -> list[tuple[np.ndarray, np.ndarray]] | None:
        """Data that fits in ``CACHE_BYTES`` is read once and kept for every pass.

        Not in a shared scan of lazy data (fit_many, a search): there each pass is one
        read for every fit, where caches would hold one copy of the data per fit.
        """
        shared = _shared_scan.current() is not None and self.fit.data.lazy
        if shared or n_rows * (self.n_features + 1) * 8 > CACHE_BYTES:
            return None
        chunks = _numpy_chunks(
            self.est, self.fit.lf, self.fit.columns, [self.y_expr], self.est.batch_rows, False
        )
        # Copy the label so the reader's block (features and label) can be freed.
        return [(X, y.copy()) for X, y in chunks if y is not None]

    def __call__(self, x: np.ndarray) -> tuple[float, np.ndarray]:
        key = x.tobytes()
        if key not in self.cache:
            self.cache[key] = self._evaluate(x)
            self.checkpoint.save(self.cache, position=len(self.cache))
        else:
            logger.debug("evaluation answered from the checkpoint, no pass over the data")
        value, grad = self.cache[key]
        return value, grad.copy()

    def _evaluate(self, x: np.ndarray) -> tuple[float, np.ndarray]:
        est = self.est
        coef, intercept = est._unpack(x, self.n_classes, self.n_features)
        est._pass_model = (coef, intercept)
        self.progress.start_pass(self.n_passes)
        if self.blocks is not None:
            loss_sum, grad_sum = est._init_state()
            for chunk in self.blocks:
                loss_sum, grad_sum = est._update_state((loss_sum, grad_sum), chunk)
                self.progress.update(len(chunk[0]))
        else:
            loss_sum, grad_sum = fold(
                est,
                self.fit.lf,
                columns=self.fit.columns,
                y_columns=[self.y_expr],
                batch_rows=est.batch_rows,
                n_jobs=est.n_jobs,
                allow_nan=False,
                progress=self.progress,
            )
        self.n_passes += 1
        loss_sum, grad_sum = loss_sum[0] + loss_sum[1], grad_sum[0] + grad_sum[1]
        value = loss_sum / self.sw_sum + 0.5 * self.l2 * float(np.sum(coef * coef))
        grad = grad_sum / self.sw_sum
        d = self.n_features
        if grad.ndim == 1:
            grad[:d] += self.l2 * coef
            grad = grad if est.fit_intercept else grad[:d]
        else:
            grad[:, :d] += self.l2 * coef
            grad = (grad if est.fit_intercept else grad[:, :d]).ravel(order="F")
        self.progress.end_pass(loss=value, max_abs_grad=float(np.max(np.abs(grad))))
        return value, np.ascontiguousarray(grad)
