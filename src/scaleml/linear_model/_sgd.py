"""SGDClassifier and SGDRegressor: scikit-learn's plain SGD over a stream of blocks.

Every epoch streams the data once through :func:`scaleml._kernels._sgd.sgd_block`,
which runs scikit-learn's per-sample update rule exactly; a multiclass fit trains its
one-vs-all problems side by side in the same pass. Rows are shuffled by a bounded,
seeded reservoir buffer, early stopping holds out rows by a stable hash of their
values, and the whole state of a fit (weights, epoch, row position, buffer, stopping
bookkeeping) can be checkpointed and resumed.
"""

from __future__ import annotations

import hashlib
import logging
import os
import warnings
from collections.abc import Iterator
from numbers import Integral
from typing import Any

import numpy as np
import polars as pl
from sklearn.base import ClassifierMixin, RegressorMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import SGDClassifier as _SkSGDClassifier
from sklearn.linear_model import SGDRegressor as _SkSGDRegressor
from sklearn.metrics import r2_score
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import unique_labels
from sklearn.utils.validation import _check_y, check_is_fitted

from scaleml._checkpoint import Checkpoint, fingerprint
from scaleml._fit import _check_finite_block
from scaleml._predictor import BatchEstimator, FitInput, linear_expr
from scaleml._progress import Progress
from scaleml._validation import check_numeric, input_data
from scaleml.io import DEFAULT_BATCH_BYTES, batch_rows_for, iter_batches
from scaleml.linear_model._linear_classifier import (
    Labels,
    LinearClassifierOutputMixin,
    _eager_matrix,
    check_y,
    class_weight_vector,
    data_digest,
    label_codes,
    labels_of,
)

__all__ = ["SGDClassifier", "SGDRegressor"]

logger = logging.getLogger(__name__)

_MAX_INT = np.iinfo(np.int32).max
_EMPTY = "Found array with 0 sample(s) while a minimum of 1 is required by {}."
_SGD_BLOCK_BYTES = DEFAULT_BATCH_BYTES // 4
#: Data up to this size is kept in memory after its first pass (multi-epoch fits).
CACHE_BYTES = DEFAULT_BATCH_BYTES
_LEARNING_RATES = {"constant": 1, "optimal": 2, "invscaling": 3, "adaptive": 4, "pa1": 5, "pa2": 6}
_PENALTIES = {"none": 0, "l1": 1, "l2": 2, "elasticnet": 3}
# loss name -> (kernel loss kind, fixed loss parameter or None for ``epsilon``)
_LOSSES = {
    "hinge": (0, 1.0),
    "perceptron": (0, 0.0),
    "squared_hinge": (1, 1.0),
    "log_loss": (2, 0.0),
    "modified_huber": (3, 0.0),
    "squared_error": (4, 0.0),
    "huber": (5, None),
    "epsilon_insensitive": (6, None),
    "squared_epsilon_insensitive": (7, None),
}
_EXTRA_CONSTRAINTS: dict[str, list[Any]] = {
    "batch_rows": [None, Interval(Integral, 1, None, closed="left")],
    "shuffle_buffer_rows": [None, Interval(Integral, 1, None, closed="left")],
    "checkpoint": [None, str, os.PathLike],
    "checkpoint_every": [Interval(Integral, 1, None, closed="left")],
}


class _ShuffleBuffer:
    """A bounded reservoir that emits rows in a seeded random order.

    The first `capacity` rows fill it; from then on each incoming row replaces a
    uniformly drawn buffered row, which is emitted; at the end of the epoch the rest
    is emitted in a random permutation. One uniform double is drawn per row, so the
    emitted order depends only on the row order and the seed, never on how the rows
    were cut into blocks. Data smaller than `capacity` is fully shuffled.
    """

    def __init__(self, capacity: int, seed: int, epoch: int) -> None:
        self.capacity = capacity
        self.rng = np.random.default_rng([seed, epoch])
        self.data: np.ndarray | None = None
        self.size = 0

    def feed(self, block: np.ndarray) -> np.ndarray:
        from scaleml._kernels._sgd import shuffle_swap

        take = min(self.capacity - self.size, len(block))
        if take:
            self._grow(self.size + take, block.shape[1])
            assert self.data is not None
            self.data[self.size : self.size + take] = block[:take]
            self.size += take
        rest = block[take:]
        if not len(rest):
            return rest
        out = np.empty_like(rest)
        assert self.data is not None
        shuffle_swap(self.data, np.ascontiguousarray(rest), self.rng.random(len(rest)), out)
        return out

    def drain(self, piece_rows: int) -> Iterator[np.ndarray]:
        """The buffered rows in a random order, in pieces of at most `piece_rows`."""
        if self.data is None or not self.size:
            return
        order = self.rng.permutation(self.size)
        for start in range(0, self.size, piece_rows):
            yield self.data[order[start : start + piece_rows]]
        self.size = 0

    def _grow(self, needed: int, width: int) -> None:
        have = 0 if self.data is None else len(self.data)
        if needed <= have:
            return
        new = np.empty((min(self.capacity, max(needed, 2 * have)), width))
        if self.data is not None:
            new[: self.size] = self.data[: self.size]
        self.data = new

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["data"] = None if self.data is None else self.data[: self.size].copy()
        return state


class _Run:
    """Everything an SGD call carries between blocks; pickled as the checkpoint.

    ``W``, ``AW``, ``Q``, ``S`` are the kernel's state (see
    :mod:`scaleml._kernels._sgd`); the rest is the position in the stream (epoch,
    rows done in it) and scikit-learn's stopping bookkeeping per problem.
    """

    def __init__(self, W: np.ndarray, intercept: np.ndarray, seed: int) -> None:
        from scaleml._kernels import _sgd as K

        k, d = W.shape
        self.W = np.ascontiguousarray(W, dtype=np.float64).copy()
        self.AW = np.zeros((k, d))
        self.Q = np.zeros((k, d))
        self.S = np.zeros((k, K.N_SCALARS))
        self.S[:, K.INTERCEPT] = intercept
        self.S[:, K.WSCALE] = 1.0
        self.S[:, K.SQ_NORM] = (self.W * self.W).sum(axis=1)
        self.S[:, K.L1_NORM] = np.abs(self.W).sum(axis=1)
        self.S[:, K.AVG_B] = 1.0
        self.S[:, K.ACTIVE] = 1.0
        self.seed = seed
        self.epoch = 0
        self.rows_done = 0
        self.train_rows = 0
        self.n_rows = 0
        self.best = np.full(k, np.nan)
        self.no_improvement = np.zeros(k, dtype=np.int64)
        self.n_iter = np.zeros(k, dtype=np.int64)
        self.buffer: _ShuffleBuffer | None = None
        self.validation: list[np.ndarray] | None = []
        self.n_validation = 0

    @property
    def active(self) -> np.ndarray:
        from scaleml._kernels._sgd import ACTIVE

        return np.asarray(self.S[:, ACTIVE] != 0.0)


class _BaseSGD(BatchEstimator):
    """The streaming SGD fit shared by the classifier and the regressor."""

    _is_classifier = False

    # -- parameters ------------------------------------------------------------------
    def _more_validate_params(self, for_partial_fit: bool = False) -> None:
        if self.early_stopping and for_partial_fit:
            msg = "early_stopping should be False with partial_fit"
            raise ValueError(msg)
        if self.learning_rate == "optimal" and self.alpha == 0:
            msg = (
                "alpha must be > 0 since learning_rate is 'optimal'. alpha is used to "
                "compute the optimal learning rate."
            )
            raise ValueError(msg)
        if self.learning_rate in ("pa1", "pa2"):
            needed = "hinge" if self._is_classifier else "epsilon_insensitive"
            if self.loss != needed:
                msg = f"Learning rate '{self.learning_rate}' only works with loss '{needed}'."
                raise ValueError(msg)
        if self.penalty == "elasticnet" and self.l1_ratio is None:
            msg = "l1_ratio must be set when penalty is 'elasticnet'"
            raise ValueError(msg)

    def _kernel_params(self) -> tuple[np.ndarray, np.ndarray]:
        from scaleml._kernels import _sgd as K

        kind, param = _LOSSES[self.loss]
        loss_param = float(self.epsilon) if param is None else param
        penalty = _PENALTIES[str(self.penalty).lower()]
        l1_ratio = 0.0 if self.l1_ratio is None else float(self.l1_ratio)
        l1_ratio = {K.L2: 0.0, K.L1: 1.0}.get(penalty, l1_ratio)
        lr = _LEARNING_RATES[self.learning_rate]
        optimal_init = 0.0
        if lr == K.OPTIMAL:
            # Bottou's heuristic: the initial step is about 1 / sqrt(alpha) so that the
            # weights of a typical sample neither vanish nor explode.
            typw = np.sqrt(1.0 / np.sqrt(self.alpha))
            initial_eta0 = typw / max(1.0, K.dloss(kind, loss_param, 1.0, -typw))
            optimal_init = 1.0 / (initial_eta0 * self.alpha)
        neg_label = 0.0 if self.loss == "log_loss" and self._is_classifier else -1.0
        fparams = np.array(
            [
                self.alpha,
                l1_ratio,
                self.eta0,
                self.power_t,
                optimal_init,
                1.0,
                loss_param,
                neg_label,
            ],
            dtype=np.float64,
        )
        iparams = np.array(
            [
                kind,
                penalty,
                lr,
                int(self.fit_intercept),
                int(self.average),
                int(not self._is_classifier),
            ],
            dtype=np.int64,
        )
        return fparams, iparams

    # -- one SGD call: epochs over the stream ---------------------------------------
    def _sgd_call(
        self,
        fit: FitInput,
        y_expr: pl.Expr,
        run: _Run,
        *,
        max_epochs: int,
        pos_label: np.ndarray,
        class_weight: tuple[np.ndarray, np.ndarray],
        total_rows: int | None,
    ) -> _Run:
        from scaleml._kernels import _sgd as K

        fparams, iparams = self._kernel_params()
        key = fingerprint(
            self, fit.lf, max_epochs, _digest(run.W, run.S, pos_label), data_digest(fit)
        )
        ckpt = Checkpoint(self.checkpoint, key=key)
        saved = ckpt.load()
        if saved is not None:
            run = saved[0]
            logger.info(
                "resuming from %s at epoch %d, row %d", self.checkpoint, run.epoch, run.rows_done
            )
        else:
            run.S[:, K.POS_WEIGHT], run.S[:, K.NEG_WEIGHT] = class_weight
        ctx = _CallContext(self, fit, y_expr, run, fparams, iparams, pos_label, ckpt)
        ctx.keep = max_epochs > 1
        progress = Progress(
            self.verbose, type(self).__name__, n_passes=max_epochs, total_rows=total_rows
        )
        while run.epoch < max_epochs and run.active.any():
            progress.start_pass(run.epoch)
            ctx.epoch(progress)
            self._end_epoch(ctx)
            progress.total_rows = run.n_rows
            objective = run.S[:, K.OBJECTIVE] / max(run.train_rows, 1)
            progress.end_pass(
                avg_loss=float(np.mean(run.S[:, K.SUMLOSS]) / max(run.train_rows, 1)),
                objective=float(np.mean(objective)),
            )
            run.epoch += 1
            run.rows_done = 0
            ckpt.save(run, position=(run.epoch, 0))
        run.n_iter[run.active] = run.epoch
        for k in range(len(run.W)):
            K.reset_wscale(run.W, run.AW, run.S, k, int(iparams[4]))
        ckpt.remove()
        return run

    def _end_epoch(self, ctx: _CallContext) -> None:
        """scikit-learn's end-of-epoch checks, per still-active problem."""
        from scaleml._kernels import _sgd as K

        run = ctx.run
        if run.n_rows == 0:
            msg = _EMPTY.format(type(self).__name__)
            raise ValueError(msg)
        if self.early_stopping:
            ctx.check_validation_split()
            scores = ctx.validation_scores()
        tol = -np.inf if self.tol is None else self.tol
        for k in np.flatnonzero(run.active):
            if not (np.isfinite(run.S[k, K.INTERCEPT]) and np.isfinite(run.W[k]).all()):
                msg = (
                    f"Floating-point under-/overflow occurred at epoch #{run.epoch + 1}. "
                    "Scaling input data with StandardScaler or MinMaxScaler might help."
                )
                raise ValueError(msg)
            if self.early_stopping:
                value, better = scores[k], -np.inf if np.isnan(run.best[k]) else run.best[k]
                stalled = tol > -np.inf and value < better + tol
                improved = value > better
            else:
                value = run.S[k, K.OBJECTIVE] / run.train_rows
                better = np.inf if np.isnan(run.best[k]) else run.best[k]
                stalled = tol > -np.inf and value > better - tol
                improved = value < better
            run.no_improvement[k] = run.no_improvement[k] + 1 if stalled else 0
            if improved:
                run.best[k] = value
            if run.no_improvement[k] >= self.n_iter_no_change:
                if self.learning_rate == "adaptive" and run.S[k, K.ETA] > 1e-6:
                    run.S[k, K.ETA] /= 5
                    run.no_improvement[k] = 0
                else:
                    run.S[k, K.ACTIVE] = 0.0
                    run.n_iter[k] = run.epoch + 1

    def _new_run(self, coef: np.ndarray, intercept: np.ndarray, t: float) -> _Run:
        from scaleml._kernels._sgd import AVG_INTERCEPT, ETA, T

        seed = int(check_random_state(self.random_state).randint(_MAX_INT))
        run = _Run(coef, intercept, seed)
        run.S[:, T] = t
        run.S[:, ETA] = self.eta0
        if self.average:
            run.AW[:] = self._average_coef_2d()
            run.S[:, AVG_INTERCEPT] = self._average_intercept_1d()
        return run

    def _average_coef_2d(self) -> np.ndarray:
        return np.asarray(getattr(self, "_average_coef", 0.0))

    def _average_intercept_1d(self) -> np.ndarray:
        return np.asarray(getattr(self, "_average_intercept", 0.0))

    def _store(self, run: _Run, n_rows: int, t_start: float) -> None:
        """Fitted attributes from the final state, as scikit-learn sets them."""
        from scaleml._kernels._sgd import AVG_INTERCEPT, INTERCEPT

        self.n_iter_ = int(run.n_iter.max())
        self.t_ = float(t_start + self.n_iter_ * n_rows)
        self._standard_coef = run.W.copy()
        self._standard_intercept = run.S[:, INTERCEPT].copy()
        if self.average:
            self._average_coef = run.AW.copy()
            self._average_intercept = run.S[:, AVG_INTERCEPT].copy()
        use_average = bool(self.average) and self.average <= self.t_ - 1
        coef = self._average_coef if use_average else self._standard_coef
        intercept = self._average_intercept if use_average else self._standard_intercept
        self._set_coef(coef.copy(), intercept.copy())

    def _set_coef(self, coef: np.ndarray, intercept: np.ndarray) -> None:
        raise NotImplementedError

    def _warn_after_fit(self) -> None:
        if self.tol is not None and self.tol > -np.inf and self.n_iter_ == self.max_iter:
            warnings.warn(
                "Maximum number of iteration reached before convergence. Consider "
                "increasing max_iter to improve the fit.",
                ConvergenceWarning,
                stacklevel=3,
            )
        if self.power_t < 0:
            warnings.warn(
                "Negative values for `power_t` are deprecated in version 1.8 and will "
                "raise an error in 1.10. Use values in the range [0.0, inf) instead.",
                FutureWarning,
                stacklevel=3,
            )

    def _init_coef(
        self, coef_init: Any, intercept_init: Any, k: int, d: int
    ) -> tuple[np.ndarray, np.ndarray]:
        """scikit-learn's ``_allocate_parameter_mem`` checks, as (k, d) and (k,) arrays."""
        coef = np.zeros((k, d))
        intercept = np.zeros(k)
        if coef_init is not None:
            c = np.asarray(coef_init, dtype=np.float64)
            if k > 1 and c.shape != (k, d):
                raise ValueError("Provided ``coef_`` does not match dataset. ")
            if k == 1 and c.ravel().shape != (d,):
                raise ValueError("Provided coef_init does not match dataset.")
            coef = c.reshape(k, d).copy()
        if intercept_init is not None:
            b = np.asarray(intercept_init, dtype=np.float64)
            if (k > 1 and b.shape != (k,)) or (k == 1 and b.shape not in ((1,), ())):
                raise ValueError("Provided intercept_init does not match dataset.")
            intercept = b.reshape(k).copy()
        return coef, intercept

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.non_deterministic = self.random_state is None and self.shuffle
        return tags


class _CallContext:
    """The data side of one SGD call: the block stream, validation rows, training."""

    def __init__(
        self,
        est: _BaseSGD,
        fit: FitInput,
        y_expr: pl.Expr,
        run: _Run,
        fparams: np.ndarray,
        iparams: np.ndarray,
        pos_label: np.ndarray,
        ckpt: Checkpoint,
    ) -> None:
        self.est = est
        self.fit = fit
        self.y_expr = y_expr
        self.run = run
        self.fparams = fparams
        self.iparams = iparams
        self.pos_label = pos_label
        self.ckpt = ckpt
        self.d = len(fit.columns)
        self.names = [*fit.columns, fit.y_columns[0]]
        self.hash_seed = np.uint64(run.seed)
        width = self.d + 1
        self.buffer_rows = est.shuffle_buffer_rows or batch_rows_for(width)
        # SGD's cost is per row, not per block: smaller blocks than the default cost
        # nothing and lower the peak memory (block, its copy and the shuffled output).
        self.batch_rows = est.batch_rows or batch_rows_for(width, batch_bytes=_SGD_BLOCK_BYTES)
        self.cached: list[np.ndarray] | None = None
        self.keep = True

    def blocks(self) -> Iterator[np.ndarray]:
        """The checked ``[X | y]`` blocks of one pass over the data.

        Data that fits in ``CACHE_BYTES`` (one block's budget) is kept after its first
        full pass when there are more epochs, so small fits do not pay a query per epoch.
        """
        if self.cached is not None:
            yield from self.cached
            return
        kept: list[np.ndarray] | None = [] if self.keep else None
        size = 0
        for block in iter_batches(
            self.fit.lf, [*self.fit.columns, self.y_expr], batch_rows=self.batch_rows
        ):
            _check_finite_block(self.est, block, self.names)
            if self.est._is_classifier and (block[:, self.d] < 0).any():
                msg = (
                    f"y contains labels that are not in classes {self.est.classes_.tolist()}; "
                    "classes should include all valid labels that can be in y."
                )
                raise ValueError(msg)
            size += block.nbytes
            if kept is not None and size <= CACHE_BYTES:
                kept.append(block)
            else:
                kept = None
            yield block
        self.cached = kept

    def epoch(self, progress: Progress) -> None:
        """One pass: skip the rows a resumed run already did, train on the rest."""
        from scaleml._kernels._sgd import COUNT, OBJECTIVE, SUMLOSS

        run, est = self.run, self.est
        if run.rows_done == 0:
            run.S[:, [SUMLOSS, OBJECTIVE, COUNT]] = 0.0
            run.train_rows = 0
            run.buffer = (
                _ShuffleBuffer(self.buffer_rows, run.seed, run.epoch) if est.shuffle else None
            )
        seen = since_save = 0
        for block in self.blocks():
            start, seen = seen, seen + len(block)
            if seen <= run.rows_done:
                continue
            block = block[max(run.rows_done - start, 0) :]
            train = self._hold_out(block)
            run.train_rows += len(train)
            self._train(run.buffer.feed(train) if run.buffer is not None else train)
            run.rows_done = seen
            progress.update(len(block))
            since_save += 1
            if self.ckpt and since_save >= est.checkpoint_every:
                self.ckpt.save(run, position=(run.epoch, run.rows_done))
                since_save = 0
        if run.buffer is not None:
            for rows in run.buffer.drain(self.batch_rows):
                self._train(rows)
        run.n_rows = seen

    def _train(self, rows: np.ndarray) -> None:
        from scaleml._kernels._sgd import sgd_block

        if not len(rows):
            return
        run = self.run
        X, y = rows[:, : self.d], rows[:, self.d]  # views: the kernel reads strided rows
        sgd_block(
            X,
            y,
            np.ones(len(y)),
            self.pos_label,
            run.W,
            run.AW,
            run.Q,
            run.S,
            self.fparams,
            self.iparams,
        )

    # -- early stopping ----------------------------------------------------------------
    def _validation_mask(self, block: np.ndarray) -> np.ndarray:
        from scaleml._kernels._sgd import row_hash_unit

        bits = np.ascontiguousarray(block).view(np.uint64)
        return np.asarray(row_hash_unit(bits, self.hash_seed) < self.est.validation_fraction)

    def _hold_out(self, block: np.ndarray) -> np.ndarray:
        """The training rows of `block`; validation rows are kept while they fit."""
        if not self.est.early_stopping:
            return block
        run = self.run
        mask = self._validation_mask(block)
        if run.epoch == 0:
            run.n_validation += int(mask.sum())
            if run.validation is not None and mask.any():
                run.validation.append(block[mask])
                if sum(v.nbytes for v in run.validation) > DEFAULT_BATCH_BYTES:
                    # Too many to keep: score them with an extra pass per epoch instead.
                    run.validation = None
        return np.asarray(block[~mask])

    def check_validation_split(self) -> None:
        run = self.run
        if run.n_validation == 0 or run.train_rows == 0:
            msg = (
                f"Splitting {run.n_rows} samples into a train set and a validation set "
                f"with validation_fraction={self.est.validation_fraction!r} led to an empty "
                f"set ({run.train_rows} and {run.n_validation} samples). Please either "
                "change validation_fraction, increase number of samples, or disable "
                "early_stopping."
            )
            raise ValueError(msg)

    def validation_scores(self) -> np.ndarray:
        """Accuracy (per binary problem) or R^2 of the current weights on held-out rows."""
        from scaleml._kernels._sgd import INTERCEPT, WSCALE

        run = self.run
        W = run.W * run.S[:, [WSCALE]]
        b = run.S[:, INTERCEPT]
        blocks = run.validation if run.validation is not None else self._validation_stream()
        acc = _ScoreAccumulator(len(W), regression=not self.est._is_classifier)
        for block in blocks:
            acc.add(block[:, : self.d] @ W.T + b, block[:, self.d], self.pos_label)
        return acc.result()

    def _validation_stream(self) -> Iterator[np.ndarray]:
        for block in self.blocks():
            mask = self._validation_mask(block)
            if mask.any():
                yield block[mask]


class _ScoreAccumulator:
    """Streaming accuracy of each binary problem, or R^2 (Chan's merge of moments)."""

    def __init__(self, k: int, *, regression: bool) -> None:
        self.regression = regression
        self.hits = np.zeros(k)
        self.n = 0.0
        self.mean = 0.0
        self.m2 = 0.0
        self.sse = np.zeros(k)

    def add(self, scores: np.ndarray, y: np.ndarray, pos_label: np.ndarray) -> None:
        if not self.regression:
            self.hits += ((scores > 0) == (y[:, None] == pos_label[None, :])).sum(axis=0)
            self.n += len(y)
            return
        n_b, mean_b = float(len(y)), float(y.mean())
        m2_b = float(((y - mean_b) ** 2).sum())
        total = self.n + n_b
        delta = mean_b - self.mean
        self.m2 += m2_b + delta * delta * self.n * n_b / total
        self.mean += delta * n_b / total
        self.n = total
        self.sse += ((y[:, None] - scores) ** 2).sum(axis=0)

    def result(self) -> np.ndarray:
        if not self.regression:
            return np.asarray(self.hits / self.n)
        if self.m2 == 0.0:
            return np.where(self.sse == 0.0, 1.0, 0.0)
        return np.asarray(1.0 - self.sse / self.m2)


def _digest(*arrays: np.ndarray) -> str:
    h = hashlib.sha256()
    for a in arrays:
        h.update(np.ascontiguousarray(a).tobytes())
    return h.hexdigest()


class SGDClassifier(LinearClassifierOutputMixin, ClassifierMixin, _BaseSGD):  # type: ignore[misc]
    """Linear classifiers (SVM, logistic regression, ...) trained by SGD, out-of-core.

    The scikit-learn estimator of the same name and parameters, with its exact
    per-sample update rule (a numba kernel): with ``shuffle=False``, ``fit`` and
    ``partial_fit`` give scikit-learn's coefficients. Each epoch is one streaming pass
    over the data; multiclass problems train their one-vs-all classifiers in the same
    pass.

    Parameters
    ----------
    loss, penalty, alpha, l1_ratio, fit_intercept, max_iter, tol, verbose, epsilon, \
random_state, learning_rate, eta0, power_t, n_iter_no_change, class_weight, \
warm_start, average
        As in scikit-learn's ``SGDClassifier``.
    shuffle : bool, default=True
        Shuffle the rows of each epoch through a bounded reservoir buffer of
        `shuffle_buffer_rows` rows, seeded by `random_state` (data smaller than the
        buffer is shuffled completely). scikit-learn shuffles with its own generator,
        so only ``shuffle=False`` reproduces its coefficients exactly.
    n_jobs : int or None, default=None
        Accepted for compatibility; the one-vs-all problems share one pass instead.
    early_stopping : bool, default=False
        Hold out rows whose stable hash falls below `validation_fraction` and stop
        when their accuracy stops improving (scikit-learn draws a stratified random
        split instead).
    validation_fraction : float, default=0.1
    batch_rows : int or None, default=None
        Rows per block read from the data (default: about 4 MiB per block).
    shuffle_buffer_rows : int or None, default=None
        Capacity of the shuffle buffer (default: about 16 MiB of rows).
    checkpoint : str, path or None, default=None
        File where the whole state of the fit is saved atomically every
        `checkpoint_every` blocks and at the end of each epoch; the same fit started
        again resumes from it exactly. Removed when the fit ends.
    checkpoint_every : int, default=10
        Blocks between two checkpoints.

    Attributes
    ----------
    coef_ : ndarray of shape (1, n_features) or (n_classes, n_features)
    intercept_ : ndarray of shape (1,) or (n_classes,)
    n_iter_ : int
        Epochs run (the largest over the one-vs-all problems).
    classes_ : ndarray of shape (n_classes,)
    t_ : float
        Number of weight updates performed during training, plus one.
    n_features_in_ : int
    feature_names_in_ : ndarray of shape (n_features_in_,)

    Examples
    --------
    >>> import numpy as np
    >>> from scaleml import SGDClassifier
    >>> X = np.array([[-1.0, -1.0], [-2.0, -1.0], [1.0, 1.0], [2.0, 1.0]])
    >>> y = np.array([1, 1, 2, 2])
    >>> clf = SGDClassifier(max_iter=20, tol=None, random_state=0).fit(X, y)
    >>> clf.predict([[-0.8, -1.0]])
    array([1])
    """

    _is_classifier = True
    _parameter_constraints: dict[str, list[Any]] = {
        **_SkSGDClassifier._parameter_constraints,
        **_EXTRA_CONSTRAINTS,
    }

    def __init__(
        self,
        loss: str = "hinge",
        *,
        penalty: str | None = "l2",
        alpha: float = 0.0001,
        l1_ratio: float | None = 0.15,
        fit_intercept: bool = True,
        max_iter: int = 1000,
        tol: float | None = 1e-3,
        shuffle: bool = True,
        verbose: int = 0,
        epsilon: float = 0.1,
        n_jobs: int | None = None,
        random_state: Any = None,
        learning_rate: str = "optimal",
        eta0: float = 0.01,
        power_t: float = 0.5,
        early_stopping: bool = False,
        validation_fraction: float = 0.1,
        n_iter_no_change: int = 5,
        class_weight: Any = None,
        warm_start: bool = False,
        average: bool | int = False,
        batch_rows: int | None = None,
        shuffle_buffer_rows: int | None = None,
        checkpoint: str | os.PathLike[str] | None = None,
        checkpoint_every: int = 10,
    ) -> None:
        self.loss = loss
        self.penalty = penalty
        self.alpha = alpha
        self.l1_ratio = l1_ratio
        self.fit_intercept = fit_intercept
        self.max_iter = max_iter
        self.tol = tol
        self.shuffle = shuffle
        self.verbose = verbose
        self.epsilon = epsilon
        self.n_jobs = n_jobs
        self.random_state = random_state
        self.learning_rate = learning_rate
        self.eta0 = eta0
        self.power_t = power_t
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.class_weight = class_weight
        self.warm_start = warm_start
        self.average = average
        self.batch_rows = batch_rows
        self.shuffle_buffer_rows = shuffle_buffer_rows
        self.checkpoint = checkpoint
        self.checkpoint_every = checkpoint_every

    def fit(
        self, X: Any, y: Any, coef_init: Any = None, intercept_init: Any = None
    ) -> SGDClassifier:
        """Fit with `max_iter` epochs of SGD over the stream (fewer when it converges).

        Parameters
        ----------
        X : array-like, DataFrame, LazyFrame, path/glob, DuckDB relation or Arrow data
        y : array-like of shape (n_samples,) or str
            The labels, or the name of the label column of `X`.
        coef_init : ndarray of shape (n_classes, n_features), optional
        intercept_init : ndarray of shape (n_classes,), optional

        Returns
        -------
        self
        """
        self._validate_params()
        self._more_validate_params()
        Checkpoint(self.checkpoint, key="").ensure_writable()
        fit = self._fit_input(X, check_y(self, y))
        labels = labels_of(self, fit)
        if labels.n_rows == 0:
            msg = _EMPTY.format(type(self).__name__)
            raise ValueError(msg)
        if len(labels.classes) < 2:
            msg = (
                f"The number of classes has to be greater than one; got {len(labels.classes)} class"
            )
            raise ValueError(msg)
        if self.warm_start and hasattr(self, "coef_"):
            coef_init = self.coef_ if coef_init is None else coef_init
            intercept_init = self.intercept_ if intercept_init is None else intercept_init
        for attr in ("_average_coef", "_average_intercept"):
            self.__dict__.pop(attr, None)
        self.classes_ = labels.classes
        cw = class_weight_vector(self.class_weight, labels)
        self._train(fit, labels, cw, coef_init, intercept_init, t=1.0, max_epochs=self.max_iter)
        self._warn_after_fit()
        return self

    def partial_fit(self, X: Any, y: Any, classes: Any = None) -> SGDClassifier:
        """One epoch of SGD over `X` (a batch, or a whole out-of-core source).

        Parameters
        ----------
        X : array-like, DataFrame, LazyFrame, path/glob, DuckDB relation or Arrow data
        y : array-like of shape (n_samples,) or str
        classes : array-like of shape (n_classes,), optional
            All the classes; required on the first call.

        Returns
        -------
        self
        """
        first = not hasattr(self, "classes_")
        if first:
            self._validate_params()
            self._more_validate_params(for_partial_fit=True)
            if self.class_weight == "balanced":
                msg = (
                    "class_weight 'balanced' is not supported for partial_fit. In order "
                    "to use 'balanced' weights, use compute_class_weight('balanced', "
                    "classes=classes, y=y). In place of y you can use a large enough sample "
                    "of the full training set target to properly estimate the class "
                    "frequency distributions. Pass the resulting weights as the "
                    "class_weight parameter."
                )
                raise ValueError(msg)
        Checkpoint(self.checkpoint, key="").ensure_writable()
        self._check_partial_fit_classes(classes)
        fit = self._fit_input(X, check_y(self, y), reset=first)
        labels = Labels(self.classes_, np.ones(len(self.classes_), dtype=np.int64))
        cw = class_weight_vector(self.class_weight, labels)
        if first:
            k = 1 if len(self.classes_) == 2 else len(self.classes_)
            self._standard_coef = np.zeros((k, len(fit.columns)))
            self._standard_intercept = np.zeros(k)
            self.t_ = 1.0
        self._train(
            fit, labels, cw, self._standard_coef, self._standard_intercept, t=self.t_, max_epochs=1
        )
        return self

    def _check_partial_fit_classes(self, classes: Any) -> None:
        if classes is None:
            if not hasattr(self, "classes_"):
                msg = "classes must be passed on the first call to partial_fit."
                raise ValueError(msg)
            return
        if hasattr(self, "classes_"):
            if not np.array_equal(self.classes_, unique_labels(classes)):
                msg = (
                    f"`classes={classes!r}` is not the same as on last call to "
                    f"partial_fit, was: {self.classes_!r}"
                )
                raise ValueError(msg)
            return
        self.classes_ = unique_labels(classes)
        if len(self.classes_) < 2:
            del self.classes_
            msg = f"The number of classes has to be greater than one; got {len(classes)} class"
            raise ValueError(msg)

    def _train(
        self,
        fit: FitInput,
        labels: Labels,
        cw: np.ndarray,
        coef_init: Any,
        intercept_init: Any,
        *,
        t: float,
        max_epochs: int,
    ) -> None:
        n_classes = len(self.classes_)
        k = 1 if n_classes == 2 else n_classes
        coef, intercept = self._init_coef(coef_init, intercept_init, k, len(fit.columns))
        if n_classes == 2:
            pos_label, weights = np.array([1.0]), (np.array([cw[1]]), np.array([cw[0]]))
        else:
            pos_label, weights = np.arange(float(n_classes)), (cw, np.ones(n_classes))
        y_expr = label_codes(fit.y_columns[0], self.classes_, default=-1.0)
        run = self._new_run(coef, intercept, t)
        run = self._sgd_call(
            fit,
            y_expr,
            run,
            max_epochs=max_epochs,
            pos_label=pos_label,
            class_weight=weights,
            total_rows=labels.n_rows if max_epochs > 1 else None,
        )
        self._store(run, run.n_rows, t)

    def _set_coef(self, coef: np.ndarray, intercept: np.ndarray) -> None:
        self.coef_ = coef
        self.intercept_ = intercept

    # -- probabilities ------------------------------------------------------------------
    def _check_proba(self) -> bool:
        if self.loss not in ("log_loss", "modified_huber"):
            msg = f"probability estimates are not available for loss={self.loss!r}"
            raise AttributeError(msg)
        return True

    def _proba_array(self, scores: np.ndarray) -> np.ndarray:
        if self.loss == "log_loss":
            return self._proba_lr_array(scores)
        binary = scores.ndim == 1
        prob = (np.clip(scores, -1, 1) + 1.0) / 2.0
        if binary:
            return np.vstack([1.0 - prob, prob]).T
        prob_sum = prob.sum(axis=1)
        all_zero = prob_sum == 0
        if np.any(all_zero):
            prob[all_zero, :] = 1
            prob_sum[all_zero] = len(self.classes_)
        return np.asarray(prob / prob_sum.reshape((prob.shape[0], -1)))

    def _proba_exprs(self, columns: list[str]) -> list[pl.Expr]:
        if self.loss == "log_loss":
            return self._sigmoid_exprs(columns)
        probs = [(d.clip(-1.0, 1.0) + 1.0) / 2.0 for d in self._decision_exprs(columns)]
        if len(probs) == 1:
            return [1.0 - probs[0], probs[0]]
        total = pl.sum_horizontal(probs)
        uniform = 1.0 / len(probs)
        return [pl.when(total == 0).then(uniform).otherwise(p / total) for p in probs]

    @available_if(_check_proba)  # type: ignore[untyped-decorator]
    def predict_proba(self, X: Any) -> Any:
        """Probability estimates (``loss="log_loss"`` or ``"modified_huber"`` only).

        Returns
        -------
        ndarray of shape (n_samples, n_classes), or a LazyFrame with columns
        "proba_<class>".
        """
        return self._predict_proba(X)

    @available_if(_check_proba)  # type: ignore[untyped-decorator]
    def predict_log_proba(self, X: Any) -> Any:
        """Logarithm of :meth:`predict_proba`.

        Returns
        -------
        ndarray of shape (n_samples, n_classes), or a LazyFrame with columns
        "log_proba_<class>".
        """
        return self._predict_log_proba(X)


class SGDRegressor(RegressorMixin, _BaseSGD):  # type: ignore[misc]
    """Linear regression trained by SGD, out-of-core.

    The scikit-learn estimator of the same name and parameters, with its exact
    per-sample update rule: with ``shuffle=False``, ``fit`` and ``partial_fit`` give
    scikit-learn's coefficients. Each epoch is one streaming pass over the data.

    Parameters
    ----------
    loss, penalty, alpha, l1_ratio, fit_intercept, max_iter, tol, verbose, epsilon, \
random_state, learning_rate, eta0, power_t, n_iter_no_change, warm_start, average
        As in scikit-learn's ``SGDRegressor``.
    shuffle : bool, default=True
        Shuffle through a bounded, seeded reservoir buffer (see
        :class:`SGDClassifier`).
    early_stopping : bool, default=False
        Hold out rows by a stable hash of their values and stop when their R^2 stops
        improving.
    validation_fraction : float, default=0.1
    batch_rows, shuffle_buffer_rows, checkpoint, checkpoint_every
        See :class:`SGDClassifier`.

    Attributes
    ----------
    coef_ : ndarray of shape (n_features,)
    intercept_ : ndarray of shape (1,)
    n_iter_ : int
    t_ : float
    n_features_in_ : int
    feature_names_in_ : ndarray of shape (n_features_in_,)

    Examples
    --------
    >>> import polars as pl
    >>> from scaleml import SGDRegressor
    >>> lf = pl.LazyFrame({"x": [0.0, 1.0, 2.0, 3.0] * 25, "y": [1.0, 3.0, 5.0, 7.0] * 25})
    >>> reg = SGDRegressor(max_iter=50, random_state=0).fit(lf, y="y")
    >>> reg.predict(pl.LazyFrame({"x": [4.0]})).collect()["prediction"].round(0).to_list()
    [9.0]
    """

    _parameter_constraints: dict[str, list[Any]] = {
        **_SkSGDRegressor._parameter_constraints,
        **_EXTRA_CONSTRAINTS,
    }

    def __init__(
        self,
        loss: str = "squared_error",
        *,
        penalty: str | None = "l2",
        alpha: float = 0.0001,
        l1_ratio: float | None = 0.15,
        fit_intercept: bool = True,
        max_iter: int = 1000,
        tol: float | None = 1e-3,
        shuffle: bool = True,
        verbose: int = 0,
        epsilon: float = 0.1,
        random_state: Any = None,
        learning_rate: str = "invscaling",
        eta0: float = 0.01,
        power_t: float = 0.25,
        early_stopping: bool = False,
        validation_fraction: float = 0.1,
        n_iter_no_change: int = 5,
        warm_start: bool = False,
        average: bool | int = False,
        batch_rows: int | None = None,
        shuffle_buffer_rows: int | None = None,
        checkpoint: str | os.PathLike[str] | None = None,
        checkpoint_every: int = 10,
    ) -> None:
        self.loss = loss
        self.penalty = penalty
        self.alpha = alpha
        self.l1_ratio = l1_ratio
        self.fit_intercept = fit_intercept
        self.max_iter = max_iter
        self.tol = tol
        self.shuffle = shuffle
        self.verbose = verbose
        self.epsilon = epsilon
        self.random_state = random_state
        self.learning_rate = learning_rate
        self.eta0 = eta0
        self.power_t = power_t
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.warm_start = warm_start
        self.average = average
        self.batch_rows = batch_rows
        self.shuffle_buffer_rows = shuffle_buffer_rows
        self.checkpoint = checkpoint
        self.checkpoint_every = checkpoint_every

    def _check_target(self, y: Any) -> Any:
        if y is None:
            msg = (
                f"{type(self).__name__} requires y to be passed, but the target y is None. "
                "Pass an array of targets or the name of the target column of X."
            )
            raise ValueError(msg)
        return y if isinstance(y, str) else _check_y(y, y_numeric=True, estimator=self)

    def fit(
        self, X: Any, y: Any, coef_init: Any = None, intercept_init: Any = None
    ) -> SGDRegressor:
        """Fit with `max_iter` epochs of SGD over the stream (fewer when it converges).

        Parameters
        ----------
        X : array-like, DataFrame, LazyFrame, path/glob, DuckDB relation or Arrow data
        y : array-like of shape (n_samples,) or str
            The targets, or the name of the target column of `X`.
        coef_init : ndarray of shape (n_features,), optional
        intercept_init : ndarray of shape (1,), optional

        Returns
        -------
        self
        """
        self._validate_params()
        self._more_validate_params()
        Checkpoint(self.checkpoint, key="").ensure_writable()
        fit = self._fit_input(X, self._check_target(y))
        if self.warm_start and hasattr(self, "coef_"):
            coef_init = self.coef_ if coef_init is None else coef_init
            intercept_init = self.intercept_ if intercept_init is None else intercept_init
        for attr in ("_average_coef", "_average_intercept"):
            self.__dict__.pop(attr, None)
        self._train(fit, coef_init, intercept_init, t=1.0, max_epochs=self.max_iter)
        self._warn_after_fit()
        return self

    def partial_fit(self, X: Any, y: Any) -> SGDRegressor:
        """One epoch of SGD over `X` (a batch, or a whole out-of-core source).

        Returns
        -------
        self
        """
        first = not hasattr(self, "coef_")
        if first:
            self._validate_params()
            self._more_validate_params(for_partial_fit=True)
        Checkpoint(self.checkpoint, key="").ensure_writable()
        fit = self._fit_input(X, self._check_target(y), reset=first)
        if first:
            self._standard_coef = np.zeros((1, len(fit.columns)))
            self._standard_intercept = np.zeros(1)
            self.t_ = 1.0
        self._train(fit, self._standard_coef, self._standard_intercept, t=self.t_, max_epochs=1)
        return self

    def _train(
        self, fit: FitInput, coef_init: Any, intercept_init: Any, *, t: float, max_epochs: int
    ) -> None:
        coef, intercept = self._init_coef(coef_init, intercept_init, 1, len(fit.columns))
        run = self._new_run(coef, intercept, t)
        run = self._sgd_call(
            fit,
            pl.col(fit.y_columns[0]),
            run,
            max_epochs=max_epochs,
            pos_label=np.zeros(1),
            class_weight=(np.ones(1), np.ones(1)),
            total_rows=None,
        )
        self._store(run, run.n_rows, t)

    def _set_coef(self, coef: np.ndarray, intercept: np.ndarray) -> None:
        self.coef_ = coef[0]
        self.intercept_ = intercept

    def predict(self, X: Any) -> Any:
        """Predict with the linear model.

        Returns
        -------
        ndarray of shape (n_samples,), or a LazyFrame with column "prediction".
        """
        data = self._predict_input(X)
        if data.lazy:
            return data.lf.select(
                linear_expr(data.columns, self.coef_, self.intercept_[0]).alias("prediction")
            )
        X_arr = _eager_matrix(self, data)
        return (X_arr @ self.coef_.T + self.intercept_).ravel()

    def score(self, X: Any, y: Any, sample_weight: Any = None) -> float:
        """R^2 of the predictions; with `y` a column name, one streaming query.

        Returns
        -------
        float
        """
        if not isinstance(y, str):
            pred = self.predict(X)
            if isinstance(pred, pl.LazyFrame):
                pred = pred.collect(engine="streaming").to_series().to_numpy()
            return float(r2_score(y, pred, sample_weight=sample_weight))
        check_is_fitted(self)
        data = input_data(self, X, y, reset=False, numeric=True, allow_nan=False)
        check_numeric(self, data.lf.collect_schema(), data.columns)
        pred = linear_expr(data.columns, self.coef_, self.intercept_[0])
        target = pl.col(y).cast(pl.Float64)
        row = (
            data.lf.select(sse=((target - pred) ** 2).sum(), var=target.var(ddof=0), n=pl.len())
            .collect(engine="streaming")
            .row(0, named=True)
        )
        ss_tot = row["var"] * row["n"]
        if ss_tot == 0.0:
            return 1.0 if row["sse"] == 0.0 else 0.0
        return float(1.0 - row["sse"] / ss_tot)
