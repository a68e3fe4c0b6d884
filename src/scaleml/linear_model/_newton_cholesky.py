"""scikit-learn's Newton-Cholesky solver, one streaming pass per Newton iteration.

The algorithm is scikit-learn 1.9's ``NewtonCholeskySolver``
(``sklearn/linear_model/_glm/_newton_solver.py``) step for step: the same Newton step
(``scipy.linalg.solve(H, -g, assume_a="sym")``), the same backtracking Armijo line
search, the same convergence test (``max|g| <= tol`` and half the squared Newton
decrement ``<= tol``), the same multinomial parametrisation and the same fallback to
L-BFGS (with the same warnings) when the Hessian is singular or the line search fails.

What changes is where the numbers come from. scikit-learn computes the loss at a trial
point in the line search and, once the point is accepted, its gradient and Hessian.
Here one pass over the data computes all three at a point (:class:`Evaluation`): an
accepted trial point already carries what the next Newton step needs, so a Newton
iteration costs one pass, and a rejected trial point one more.

The solver is a small state machine (:class:`NewtonState`) advanced by one evaluation
at a time. After every pass the state and the evaluation are saved to the checkpoint;
a fit restarted after a crash loads them and continues exactly where it stopped.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.linalg
from sklearn.exceptions import ConvergenceWarning

from scaleml._checkpoint import Checkpoint

__all__ = [
    "Evaluation",
    "NewtonCholesky",
    "NewtonState",
    "add_binomial_hessian",
    "add_multinomial_hessian",
    "assemble_hessian",
]

#: scikit-learn's line search: step shrink factor and Armijo slope fraction (1/2**11).
_BETA, _SIGMA = 0.5, 0.00048828125
#: Trial steps before the line search gives up (t = 1 down to beta**20).
_MAX_LINE_SEARCH = 21


# -- the Hessian of one block, with BLAS ---------------------------------------------------
def add_binomial_hessian(hess: np.ndarray, X: np.ndarray, w: np.ndarray) -> None:
    """Add ``X1' diag(w) X1`` to `hess` (``(d + 1, d + 1)``), with ``X1 = [X, 1]``.

    The column of ones is never built: its row and column are ``X' w`` and ``sum(w)``.
    """
    d = X.shape[1]
    hess[:d, :d] += X.T @ (X * w[:, None])
    xw = X.T @ w
    hess[:d, d] += xw
    hess[d, :d] += xw
    hess[d, d] += w.sum()


def add_multinomial_hessian(
    blocks: np.ndarray, X: np.ndarray, proba: np.ndarray, sw: np.ndarray
) -> None:
    """Add the block's multinomial Hessian to `blocks` (``(K, K, d + 1, d + 1)``).

    Block ``(k, m)`` is ``X1' diag(h_km) X1`` with scikit-learn's pointwise Hessian
    ``h_km = sw (p_k delta_km - p_k p_m)``, computed as ``p_k (1 - p_k)`` on the
    diagonal (no cancellation when ``p_k`` is near 1). Only ``k <= m`` is accumulated:
    :func:`assemble_hessian` mirrors the rest.
    """
    n_classes = proba.shape[1]
    for k in range(n_classes):
        pk = proba[:, k]
        for m in range(k, n_classes):
            h = sw * pk * (1.0 - pk) if m == k else -(sw * pk * proba[:, m])
            add_binomial_hessian(blocks[k, m], X, h)


def assemble_hessian(
    hess_sum: np.ndarray, sw_sum: float, l2: float, fit_intercept: bool
) -> np.ndarray:
    """The Hessian of the objective from the summed blocks, in scikit-learn's layout.

    Binary: ``(n_dof, n_dof)``. Multinomial: ``(K n_dof, K n_dof)`` for the flat
    coefficients ``W.ravel(order="F")`` (the classes of one feature contiguous), i.e.
    ``H[j K + k, i K + l] = blocks[k, l, j, i]``. The L2 term enters the diagonal of
    the (penalised) feature coefficients only.
    """
    n_dof = hess_sum.shape[-1] - (0 if fit_intercept else 1)
    n_features = hess_sum.shape[-1] - 1
    if hess_sum.ndim == 2:
        hess = hess_sum[:n_dof, :n_dof] / sw_sum
        hess[np.arange(n_features), np.arange(n_features)] += l2
        return np.ascontiguousarray(hess)
    n_classes = hess_sum.shape[0]
    blocks = hess_sum[:, :, :n_dof, :n_dof] / sw_sum
    for k in range(n_classes):
        for m in range(k + 1, n_classes):
            blocks[m, k] = blocks[k, m].T
    hess = np.ascontiguousarray(blocks.transpose(2, 0, 3, 1).reshape(n_classes * n_dof, -1))
    diag = np.arange(n_classes * n_features)
    hess[diag, diag] += l2
    return hess


# -- the solver -------------------------------------------------------------------------
@dataclass
class Evaluation:
    """The objective at one point, from one pass: value, gradient, Hessian."""

    loss: float
    grad: np.ndarray
    hessian: np.ndarray
    #: More than 25% of the (weighted) pointwise Hessians are not positive.
    hessian_warning: bool = False


@dataclass
class NewtonState:
    """Everything the solver knows between two passes (saved in the checkpoint).

    ``phase`` is "start" (``x`` is the initial point), "search" (``x`` is a trial point
    of the line search from ``x_old`` along ``newton``), "fallback" (continue with
    L-BFGS from ``x``) or "done".
    """

    x: np.ndarray
    iteration: int = 1
    #: Evaluations of the objective (passes over the data) so far, resumed ones included.
    n_evaluations: int = 0
    phase: str = "start"
    converged: bool = False
    fell_back: bool = False
    x_old: np.ndarray | None = None
    loss_old: float = 0.0
    grad_old: np.ndarray | None = None
    newton: np.ndarray | None = None
    gradient_times_newton: float = 0.0
    #: ``newton @ H @ newton`` at ``x_old``: the squared Newton decrement.
    decrement2: float = 0.0
    t: float = 1.0
    line_search_step: int = 0
    sum_abs_grad_old: float = -1.0
    lbfgs_cache: dict[bytes, Any] = field(default_factory=dict)


#: ``fallback(x, maxiter, cache, save) -> (x, n_iter, converged)``: L-BFGS from `x`.
Fallback = Callable[
    [np.ndarray, int, dict[bytes, Any], Callable[[dict[bytes, Any]], None]],
    tuple[np.ndarray, int, bool],
]


class NewtonCholesky:
    """Minimise the logistic objective with scikit-learn's Newton-Cholesky iterations.

    Parameters
    ----------
    evaluate : callable
        ``evaluate(x) -> Evaluation``: one pass over the data.
    fallback : callable
        L-BFGS from a point (see :data:`Fallback`), used where scikit-learn falls back.
    n_classes : int
        2 for the binary model (one coefficient vector), K >= 3 for the multinomial.
    fit_intercept : bool
    l2 : float
        L2 strength ``1 / (C sum(sw))`` (0: no penalty).
    tol : float
    max_iter : int
    checkpoint : Checkpoint
        Saved after every pass.
    """

    def __init__(
        self,
        evaluate: Callable[[np.ndarray], Evaluation],
        fallback: Fallback,
        *,
        n_classes: int,
        fit_intercept: bool,
        l2: float,
        tol: float,
        max_iter: int,
        checkpoint: Checkpoint,
    ) -> None:
        self.evaluate = evaluate
        self.fallback = fallback
        self.n_classes = n_classes
        self.multinomial = n_classes > 2
        self.fit_intercept = fit_intercept
        self.l2 = l2
        self.tol = tol
        self.max_iter = max_iter
        self.checkpoint = checkpoint
        self.no_penalty = self.multinomial and l2 == 0
        self.with_intercept = self.multinomial and fit_intercept and not self.no_penalty

    # -- driver -------------------------------------------------------------------------
    def solve(self, x0: np.ndarray, saved: Any = None) -> tuple[np.ndarray, int]:
        """Return the solution (flat, scikit-learn's layout) and scikit-learn's n_iter.

        `saved` is what ``checkpoint.load()`` returned: the fit resumes from it.
        """
        if saved is not None:
            state, evaluation = saved[0]
        else:
            state, evaluation = NewtonState(x=self._setup(x0)), None
            if self.max_iter < 1:  # scikit-learn's loop does not run
                state.phase = "done"
        while state.phase in ("start", "search"):
            if evaluation is None:
                evaluation = self.evaluate(state.x)
                state.n_evaluations += 1
                self.checkpoint.save((state, evaluation), position=state.n_evaluations)
            self._advance(state, evaluation)
            evaluation = None
        if state.phase == "fallback":
            self._fall_back(state)
        if not state.converged and not state.fell_back:
            warnings.warn(
                f"Newton solver did not converge after {state.iteration - 1} iterations.",
                ConvergenceWarning,
                stacklevel=4,
            )
        return self._finalize(state.x), state.iteration - 1

    def _advance(self, state: NewtonState, ev: Evaluation) -> None:
        if state.phase == "start":
            self._inner_solve(state, ev)
        else:
            self._line_search(state, ev)

    # -- scikit-learn's steps -------------------------------------------------------------
    def _setup(self, x0: np.ndarray) -> np.ndarray:
        """The multinomial's free parameters of the last class are set to zero."""
        x = np.array(x0, dtype=np.float64)
        k = self.n_classes
        if self.no_penalty:
            W = x.reshape((k, -1), order="F")
            W -= W[-1].copy()
            return np.asarray(W.ravel(order="F"))
        if self.with_intercept:
            x[-k:] -= x[-1]
        return x

    def _finalize(self, x: np.ndarray) -> np.ndarray:
        """Back to the symmetric parametrisation (classes summing to zero)."""
        x = x.copy()
        k = self.n_classes
        if self.no_penalty:
            W = x.reshape((k, -1), order="F")
            W -= W.mean(axis=0)
            return np.asarray(W.ravel(order="F"))
        if self.with_intercept:
            x[-k:] -= np.mean(x[-k:])
        return x

    def _reduced(self, grad: np.ndarray, hess: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Gradient and Hessian without the fixed parameters (zeroed in place, as
        scikit-learn does: the zeroed gradient is the one the line search keeps)."""
        k = self.n_classes
        if self.no_penalty:
            n_dof = grad.size // k
            n = grad.size - n_dof
            grad[k - 1 :: k] = 0
            hess[k - 1 :: k, :] = 0
            hess[:, k - 1 :: k] = 0
            reduced = hess.reshape(n_dof, k, n_dof, k)[:, :-1, :, :-1].reshape(n, n)
            return grad.reshape(-1, k)[:, :-1].flatten(), reduced
        if self.with_intercept:
            grad[-1] = 0
            hess[-1, :] = 0
            hess[:, -1] = 0
            return grad[:-1], hess[:-1, :-1]
        return grad, hess

    def _expanded(self, step: np.ndarray, size: int) -> np.ndarray:
        if self.no_penalty:
            n_dof = size // self.n_classes
            full = np.c_[step.reshape(n_dof, self.n_classes - 1), np.zeros(n_dof)]
            return np.asarray(full.reshape(-1))
        if self.with_intercept:
            return np.asarray(np.r_[step, 0])
        return step

    def _inner_solve(self, state: NewtonState, ev: Evaluation) -> None:
        """The Newton step at ``state.x``, then the first trial point (t = 1)."""
        if ev.hessian_warning:
            warnings.warn(
                "The inner solver of NewtonCholeskySolver detected a pointwise hessian "
                f"with many negative values at iteration #{state.iteration}. It will now "
                "resort to lbfgs instead.",
                ConvergenceWarning,
                stacklevel=5,
            )
            state.phase = "fallback"
            return
        grad, hess = ev.grad.copy(), ev.hessian.copy()
        grad_r, hess_r = self._reduced(grad, hess)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("error", scipy.linalg.LinAlgWarning)
                step = scipy.linalg.solve(hess_r, -grad_r, check_finite=False, assume_a="sym")
        except (np.linalg.LinAlgError, scipy.linalg.LinAlgWarning) as e:
            warnings.warn(
                "The inner solver of NewtonCholeskySolver stumbled upon a singular or "
                f"very ill-conditioned Hessian matrix at iteration {state.iteration}. It "
                "will now resort to lbfgs instead.\nFurther options are to use another "
                "solver or to avoid such situation in the first place. Possible remedies "
                "are removing collinear features of X or increasing the penalization "
                "strengths.\nThe original Linear Algebra message was:\n" + str(e),
                scipy.linalg.LinAlgWarning,
                stacklevel=5,
            )
            state.phase = "fallback"
            return
        newton = self._expanded(step, grad.size)
        gradient_times_newton = float(grad @ newton)
        if gradient_times_newton > 0:  # not a descent direction: scikit-learn says nothing
            state.phase = "fallback"
            return
        state.x_old, state.loss_old, state.grad_old = state.x, ev.loss, grad
        state.newton, state.gradient_times_newton = newton, gradient_times_newton
        state.decrement2 = float(newton @ hess @ newton)
        state.t, state.line_search_step, state.sum_abs_grad_old = 1.0, 0, -1.0
        state.x = state.x_old + newton
        state.phase = "search"

    def _line_search(self, state: NewtonState, ev: Evaluation) -> None:
        """scikit-learn's backtracking test of the trial point ``state.x``."""
        assert state.x_old is not None and state.newton is not None
        loss_improvement = ev.loss - state.loss_old
        accepted = bool(loss_improvement <= state.t * _SIGMA * state.gradient_times_newton)
        # Relative loss differences around machine precision: the sum of the absolute
        # gradient decides instead.
        if not accepted and abs(loss_improvement) <= abs(state.loss_old * 16 * np.finfo(float).eps):
            if state.sum_abs_grad_old < 0:
                state.sum_abs_grad_old = float(scipy.linalg.norm(state.grad_old, ord=1))
            accepted = bool(scipy.linalg.norm(ev.grad, ord=1) < state.sum_abs_grad_old)
        if not accepted:
            state.t *= _BETA
            state.line_search_step += 1
            if state.line_search_step == _MAX_LINE_SEARCH:
                warnings.warn(
                    "Line search of Newton solver NewtonCholeskySolver at iteration "
                    f"#{state.iteration} did not converge after 21 line search refinement "
                    "iterations. It will now resort to lbfgs instead.",
                    ConvergenceWarning,
                    stacklevel=5,
                )
                state.phase = "fallback"
                return
            state.x = state.x_old + state.t * state.newton
            return
        state.converged = bool(
            np.max(np.abs(ev.grad)) <= self.tol and 0.5 * state.decrement2 <= self.tol
        )
        state.iteration += 1
        if state.converged or state.iteration > self.max_iter:
            state.phase = "done"
            return
        self._inner_solve(state, ev)

    def _fall_back(self, state: NewtonState) -> None:
        """L-BFGS for the remaining iterations; its evaluations are checkpointed too."""

        def save(cache: dict[bytes, Any]) -> None:
            state.lbfgs_cache = cache
            self.checkpoint.save((state, None), position=state.n_evaluations + len(cache))

        x, n_iter, converged = self.fallback(
            state.x, self.max_iter - state.iteration, state.lbfgs_cache, save
        )
        state.x, state.converged, state.fell_back = x, converged, True
        state.iteration += n_iter
        state.phase = "done"
