"""LogisticRegression: full-batch L-BFGS or Newton-Cholesky, streaming the data.

L-BFGS makes one pass over the data per evaluation of the loss; Newton-Cholesky one
pass per Newton iteration (loss, gradient and Hessian together).
"""

from __future__ import annotations

import hashlib
import logging
import os
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from numbers import Integral, Real
from typing import Any

import numpy as np
import polars as pl
from scipy import optimize
from sklearn.base import ClassifierMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils._param_validation import Hidden, Interval, StrOptions

from scaleml import _shared_scan
from scaleml._blas import single_blas_thread
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
from scaleml.linear_model._newton_cholesky import (
    Evaluation,
    NewtonCholesky,
    add_binomial_hessian,
    add_multinomial_hessian,
    assemble_hessian,
)

__all__ = ["LogisticRegression"]

logger = logging.getLogger(__name__)

#: One pass: compensated (loss, gradient) totals; for Newton-Cholesky also the summed
#: Hessian blocks and the weight of non-positive pointwise Hessians.
_State = tuple[np.ndarray, ...]

#: The solvers implemented (scikit-learn's others raise a ValueError at fit).
_SOLVERS = ("lbfgs", "newton-cholesky")

#: Data up to this size (one block's budget) is read once and kept for every pass.
CACHE_BYTES = DEFAULT_BATCH_BYTES


class LogisticRegression(LinearClassifierOutputMixin, ClassifierMixin, BatchEstimator):  # type: ignore[misc]
    """Logistic regression (binary and multinomial) fitted out-of-core.

    The scikit-learn estimator of the same name with ``solver="lbfgs"`` or
    ``solver="newton-cholesky"``: the same objective (mean of the sample losses plus
    ``||w||^2 / (2 C n)``, intercept not penalised; multinomial with one coefficient
    row per class), the same solvers step for step, hence the same coefficients.
    Every pass over the data is a numba kernel per block, summed over blocks (and over
    ``n_jobs`` partitions in threads). Memory stays one block plus the model, whatever
    the number of rows.

    - ``"lbfgs"`` (the default, as in scikit-learn): SciPy's L-BFGS-B, one streaming
      pass per evaluation of the loss and its gradient; typically 50 to 100 passes.
    - ``"newton-cholesky"``: Newton's method; one pass computes the loss, the gradient
      and the Hessian at a point (the Hessian with BLAS, ``d^2`` operations per row for
      ``d`` coefficients: ``n_features + 1``, times ``n_classes`` for the multinomial),
      so a Newton iteration costs one pass and a fit typically 5 to 15 passes. It is
      the recommended solver for out-of-core data with up to a few hundred features
      (times classes), where reading the data dominates the cost of a pass.

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
        L-BFGS stops when the largest gradient component is below `tol`;
        Newton-Cholesky when that holds and half the squared Newton decrement
        (``g' H^-1 g / 2``, the predicted decrease of the objective) is below `tol`.
    fit_intercept : bool, default=True
    intercept_scaling : float, default=1
        Unused (liblinear only); kept for compatibility.
    class_weight : dict, "balanced" or None, default=None
        Weights of the classes; "balanced" uses the class counts of the first query.
    random_state : int, RandomState instance or None, default=None
        Unused (lbfgs is deterministic); kept for compatibility.
    solver : {"lbfgs", "newton-cholesky"}, default="lbfgs"
        Other scikit-learn solvers raise a ValueError. Newton-Cholesky falls back to
        L-BFGS, with scikit-learn's warnings, where scikit-learn's does (singular
        Hessian, failed line search).
    max_iter : int, default=100
        Maximum number of L-BFGS or Newton iterations.
    verbose : int, default=0
        Show a progress line (rows/s, pass k of n, ETA) and the loss of every pass.
    warm_start : bool, default=False
        Start from the previous fit's coefficients.
    n_jobs : int or None, default=None
        Partitions of the data read in parallel threads in every pass (-1: all
        cores). Unlike scikit-learn 1.9, where it has no effect, it is used.
    batch_rows : int or None, default=None
        Rows per block handed to the kernel (default: about 16 MiB per block).
    checkpoint : str, path or None, default=None
        File where the fit is saved, atomically, after every pass over the data: with
        L-BFGS every evaluation of the loss, replayed after a crash without reading the
        data again; with Newton-Cholesky the solver's state (coefficients, iteration,
        line search) and the last evaluation, from which it continues. Either way the
        result is identical to an uninterrupted fit. The file is removed when the fit
        ends.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
    coef_ : ndarray of shape (1, n_features) or (n_classes, n_features)
    intercept_ : ndarray of shape (1,) or (n_classes,)
    n_iter_ : ndarray of shape (1,)
        L-BFGS or Newton iterations (as scikit-learn counts them).
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
    >>> newton = LogisticRegression(solver="newton-cholesky").fit(lf, y="label")
    >>> newton.n_passes_ <= 10
    True
    >>> bool(abs(newton.coef_ - clf.coef_).max() < 1e-3)
    True
    """

    # The kernel only reads its blocks: fits sharing a scan share one read-only copy.
    chunk_readonly = True

    @property
    def chunk_order(self) -> str:
        """Layout of the blocks of a pass: column-major for binary L-BFGS passes (Polars
        converts to it ten times faster; the kernel gives the same sums either way)."""
        return "F" if self._binary_lbfgs_pass() else "C"

    def _binary_lbfgs_pass(self) -> bool:
        """Whether the pass under way is a binary L-BFGS one (the fused kernel's)."""
        model = getattr(self, "_pass_model", None)
        binary = model is not None and np.ndim(model[0]) == 1
        return binary and not getattr(self, "_pass_hessian", False)

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
        if self.solver not in _SOLVERS:
            msg = (
                "scaleml's LogisticRegression supports solver='newton-cholesky' (one "
                "streaming pass over the data per Newton iteration) and solver='lbfgs' "
                f"only (one pass per evaluation); got solver={self.solver!r}. For "
                "stochastic training on huge data use scaleml.SGDClassifier(loss='log_loss')."
            )
            raise ValueError(msg)
        if penalty not in ("l2", None):
            msg = (
                f"Solver {self.solver} supports only 'l2' or None penalties, got {penalty} "
                f"penalty (l1_ratio={self.l1_ratio!r}). Use l1_ratio=0."
            )
            raise ValueError(msg)
        if self.dual:
            msg = f"Solver {self.solver} supports only dual=False, got dual={self.dual}"
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

    # -- mergeable state of one pass ------------------------------------------------------
    # L-BFGS: compensated (loss, gradient) totals. Newton-Cholesky (``_pass_hessian``):
    # also the Hessian blocks, summed in float64 with BLAS (only the solver's step
    # depends on them, never the point it converges to), and the weight of rows whose
    # pointwise Hessian underflowed, for scikit-learn's hessian_warning.
    def _init_state(self) -> _State:
        state = (np.zeros(2), np.zeros((2, *self._grad_shape)))
        if not getattr(self, "_pass_hessian", False):
            return state
        d1 = self._grad_shape[-1]  # features + intercept
        k = self._grad_shape[0]
        blocks = (d1, d1) if len(self._grad_shape) == 1 else (k, k, d1, d1)
        return (*state, np.zeros(blocks), np.zeros(2))

    def _update_state(self, state: _State, chunk: tuple[np.ndarray, np.ndarray]) -> _State:
        from scaleml._kernels._logistic import multinomial_loss_grad

        X, codes = chunk
        if len(state) == 4:
            return self._update_newton_state(state, X, codes)
        coef, intercept = self._pass_model
        if coef.ndim == 1:
            return self._update_states([self], [state], chunk)[0]
        loss, grad = state
        multinomial_loss_grad(X, codes, self._class_weight, coef, intercept, grad, loss)
        return loss, grad

    # -- fused updates of many fits sharing a scan (scaleml._shared_scan) ------------------
    def _fusion_key(self) -> Any:
        """Fits of equal keys reading the same columns are updated together by
        :meth:`_update_states`: binary L-BFGS passes (one kernel call for all)."""
        return "binomial-loss-grad" if self._binary_lbfgs_pass() else None

    @classmethod
    def _update_states(
        cls,
        ests: list[LogisticRegression],
        states: list[_State],
        chunk: tuple[np.ndarray, np.ndarray],
    ) -> list[_State]:
        """The binary L-BFGS update of every fit in `ests` by one kernel call; each
        state is bit for bit what its own ``_update_state`` gives."""
        from scaleml._kernels._logistic import binomial_loss_grad

        X, codes = chunk
        loss = np.stack([s[0] for s in states])
        grad = np.stack([s[1] for s in states])
        binomial_loss_grad(
            X,
            codes,
            np.stack([e._class_weight for e in ests]),
            np.stack([e._pass_model[0] for e in ests]),
            np.array([float(e._pass_model[1]) for e in ests]),
            grad,
            loss,
        )
        return [(loss[k], grad[k]) for k in range(len(ests))]

    def _update_newton_state(self, state: _State, X: np.ndarray, codes: np.ndarray) -> _State:
        from scaleml._kernels._logistic import binomial_loss_grad_hess, multinomial_loss_grad_proba

        loss, grad, hess, nonpos = state
        coef, intercept = self._pass_model
        cw = self._class_weight
        if coef.ndim == 1:
            weights = np.empty(len(X))
            binomial_loss_grad_hess(
                X, codes, cw, coef, float(intercept), grad, loss, weights, nonpos
            )
            add_binomial_hessian(hess, X, weights)
        else:
            # Column-major: each class's probabilities are contiguous for the products.
            proba = np.empty((len(X), len(coef)), order="F")
            multinomial_loss_grad_proba(X, codes, cw, coef, intercept, grad, loss, proba)
            add_multinomial_hessian(hess, X, proba, cw[codes.astype(np.intp)])
        return loss, grad, hess, nonpos

    def _merge_states(self, a: _State, b: _State) -> _State:
        from scaleml._kernels._logistic import add_compensated

        merged = add_compensated(a[0], b[0]), add_compensated(a[1], b[1])
        return merged if len(a) == 2 else (*merged, a[2] + b[2], a[3] + b[3])

    def _finalize_state(self, state: _State) -> None:
        """Unused: the state of a pass is one evaluation of the objective."""

    # -- fitting --------------------------------------------------------------------------
    def fit(self, X: Any, y: Any) -> LogisticRegression:
        """Fit the model on `X`, `y`, streaming the data once per L-BFGS evaluation or
        Newton iteration.

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
        key = fingerprint(self, fit.lf, hashlib.sha256(x0.tobytes()).hexdigest(), data_digest(fit))
        checkpoint = Checkpoint(self.checkpoint, key=key)
        try:
            if self.solver == "newton-cholesky":
                x, n_iter, passes = self._solve_newton(fit, labels, l2, sw_sum, x0, checkpoint)
            else:
                saved = checkpoint.load()
                passes = _Passes(self, fit, labels, l2, sw_sum)
                objective = _Objective(
                    passes,
                    saved[0] if saved else {},
                    lambda cache: checkpoint.save(cache, position=len(cache)),
                )
                result = objective.minimize(x0)
                x, n_iter = result.x, self._check_result(result)
        finally:
            for name in ("_pass_model", "_pass_hessian"):
                self.__dict__.pop(name, None)
        self.n_passes_ = passes.n_passes
        self.n_iter_ = np.asarray([n_iter], dtype=np.int32)
        self._set_coef(x, n_classes, n_features)
        checkpoint.remove()
        return self

    def _solve_newton(
        self,
        fit: FitInput,
        labels: Labels,
        l2: float,
        sw_sum: float,
        x0: np.ndarray,
        checkpoint: Checkpoint,
    ) -> tuple[np.ndarray, int, _Passes]:
        """scikit-learn's NewtonCholeskySolver, one pass per evaluation of the objective."""
        saved = checkpoint.load()  # a checkpoint of another fit fails before any read
        passes = _Passes(self, fit, labels, l2, sw_sum)

        def fallback(
            x: np.ndarray, maxiter: int, cache: dict[bytes, Any], save: Callable[..., None]
        ) -> tuple[np.ndarray, int, bool]:
            result = _Objective(passes, cache, save).minimize(x, maxiter=maxiter)
            return result.x, self._check_result(result, maxiter, hint=False), result.status == 0

        solver = NewtonCholesky(
            passes.evaluate_newton,
            fallback,
            n_classes=len(labels.classes),
            fit_intercept=self.fit_intercept,
            l2=l2,
            tol=self.tol,
            max_iter=self.max_iter,
            checkpoint=checkpoint,
        )
        x, n_iter = solver.solve(x0, saved)
        return x, n_iter, passes

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

    def _check_result(self, result: Any, max_iter: int | None = None, hint: bool = True) -> int:
        """scikit-learn's ``_check_optimize_result``: iterations, ConvergenceWarning."""
        max_iter = self.max_iter if max_iter is None else max_iter
        n_iter = min(int(result.nit), max_iter)
        if result.status != 0:
            msg = (
                f"lbfgs failed to converge after {n_iter} iteration(s) "
                f"(status={result.status}):\n{result.message}\n"
            )
            if n_iter == max_iter:
                msg += (
                    "\nIncrease the number of iterations to improve the convergence "
                    f"(max_iter={max_iter})."
                )
            if hint:
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


@dataclass
class _Passes:
    """The streaming passes of one fit: each evaluates the objective at one point.

    Data that fits in ``CACHE_BYTES`` is read once and kept for every pass.
    """

    est: LogisticRegression
    fit: FitInput
    labels: Labels
    l2: float
    sw_sum: float
    n_passes: int = 0

    def __post_init__(self) -> None:
        self.n_classes = len(self.labels.classes)
        self.n_features = len(self.fit.columns)
        self.y_expr = label_codes(self.fit.y_columns[0], self.labels.classes)
        self.blocks = self._small_data_blocks(self.labels.n_rows)
        self.progress = Progress(
            self.est.verbose,
            type(self.est).__name__,
            n_passes=max(self.est.max_iter, 1),
            total_rows=self.labels.n_rows,
        )

    def _small_data_blocks(self, n_rows: int) -> list[tuple[np.ndarray, np.ndarray]] | None:
        """The blocks of data that fits in ``CACHE_BYTES``, else None.

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

    def _run(self, x: np.ndarray, hessian: bool) -> tuple[np.ndarray, ...]:
        """One pass at `x`: the summed state, compensations folded in."""
        est = self.est
        coef, intercept = est._unpack(x, self.n_classes, self.n_features)
        est._pass_model = (coef, intercept)
        est._pass_hessian = hessian
        self.progress.start_pass(self.n_passes)
        # One BLAS thread for the Hessian's products of tall, thin blocks (see _blas).
        with single_blas_thread():
            if self.blocks is not None:
                state = est._init_state()
                for chunk in self.blocks:
                    state = est._update_state(state, chunk)
                    self.progress.update(len(chunk[0]))
            else:
                state = fold(
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
        return (state[0][0] + state[0][1], state[1][0] + state[1][1], *state[2:])

    def _objective(
        self, x: np.ndarray, loss_sum: float, grad_sum: np.ndarray
    ) -> tuple[float, np.ndarray]:
        """Mean loss plus L2 term and its gradient, flat in scikit-learn's layout."""
        est = self.est
        coef, _ = est._unpack(x, self.n_classes, self.n_features)
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

    def evaluate(self, x: np.ndarray) -> tuple[float, np.ndarray]:
        """Loss and gradient at `x` (one pass)."""
        loss_sum, grad_sum = self._run(x, hessian=False)
        return self._objective(x, float(loss_sum), grad_sum)

    def evaluate_newton(self, x: np.ndarray) -> Evaluation:
        """Loss, gradient and Hessian at `x` (one pass)."""
        loss_sum, grad_sum, hess_sum, nonpos = self._run(x, hessian=True)
        value, grad = self._objective(x, float(loss_sum), grad_sum)
        hessian = assemble_hessian(hess_sum, self.sw_sum, self.l2, self.est.fit_intercept)
        # scikit-learn's test: more than 25% of the (weighted) pointwise Hessians <= 0.
        warn = bool(nonpos[1] > 0 and nonpos[0] / nonpos[1] > 0.25)
        return Evaluation(value, grad, hessian, warn)


class _Objective:
    """The L-BFGS objective of a fit: one streaming pass per new evaluation.

    Every evaluation is cached under the exact bytes of its argument and saved (by
    `save`, to the checkpoint). L-BFGS-B is deterministic given the values it
    receives, so a fit restarted after a crash replays the same sequence of
    arguments: those already in the checkpoint are answered from it with no pass over
    the data.
    """

    def __init__(
        self,
        passes: _Passes,
        cache: dict[bytes, tuple[float, np.ndarray]],
        save: Callable[[dict[bytes, tuple[float, np.ndarray]]], None],
    ) -> None:
        self.passes = passes
        self.cache = cache
        self.save = save

    def minimize(self, x0: np.ndarray, maxiter: int | None = None) -> Any:
        est = self.passes.est
        return optimize.minimize(
            self,
            x0,
            method="L-BFGS-B",
            jac=True,
            options={
                "maxiter": est.max_iter if maxiter is None else maxiter,
                "maxls": 50,
                "gtol": est.tol,
                "ftol": 64 * np.finfo(float).eps,
            },
        )

    def __call__(self, x: np.ndarray) -> tuple[float, np.ndarray]:
        key = x.tobytes()
        if key not in self.cache:
            self.cache[key] = self.passes.evaluate(x)
            self.save(self.cache)
        else:
            logger.debug("evaluation answered from the checkpoint, no pass over the data")
        value, grad = self.cache[key]
        return value, grad.copy()
