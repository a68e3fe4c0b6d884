"""Loss and gradient of (multinomial) logistic regression over one block of rows.

Each kernel *adds* the block's weighted loss and gradient to running totals, row by
row, with compensated summation (Knuth's TwoSum: every total is a pair ``sum +
compensation``). The totals are then exact to about one rounding whatever the order
of the rows, so splitting the data into blocks or parallel partitions does not move
the L-BFGS trajectory. The formulas are scikit-learn's (``sklearn/_loss/_loss.pyx.tp``:
``closs_grad_half_binomial`` and ``CyHalfMultinomialLoss.loss_gradient``); the
normalisation by the sum of weights and the L2 term are added by the caller.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

__all__ = [
    "add_compensated",
    "binomial_hessian_weights_reference",
    "binomial_loss_grad",
    "binomial_loss_grad_hess",
    "binomial_loss_grad_reference",
    "multinomial_loss_grad",
    "multinomial_loss_grad_proba",
    "multinomial_loss_grad_reference",
]


@njit(cache=True, nogil=True)
def _loss_grad_half_binomial(y: float, raw: float) -> tuple[float, float]:
    # The branches of scikit-learn's log1pexp: exp() never overflows and log1p keeps
    # the precision of tiny probabilities.
    if raw <= -37.0:
        tmp = math.exp(raw)
        return tmp - y * raw, tmp - y
    if raw <= -2.0:
        tmp = math.exp(raw)
        return math.log1p(tmp) - y * raw, ((1.0 - y) * tmp - y) / (1.0 + tmp)
    tmp = math.exp(-raw)
    grad = ((1.0 - y) - y * tmp) / (1.0 + tmp)
    if raw <= 18.0:
        return math.log1p(tmp) + (1.0 - y) * raw, grad
    return tmp + (1.0 - y) * raw, grad


@njit(cache=True, nogil=True, inline="always")
def _two_sum(s: float, x: float) -> tuple[float, float]:
    # Knuth's TwoSum, branch-free: s + x == t + err exactly.
    t = s + x
    bp = t - s
    return t, (s - (t - bp)) + (x - bp)


#: Scores per step of :func:`binomial_loss_grad` (rows times models): its temporaries
#: stay in the CPU cache, and NumPy's per-call cost is spread over many values.
_STEP_VALUES = 32768


def binomial_loss_grad(
    X: np.ndarray,
    codes: np.ndarray,
    class_weight: np.ndarray,
    coef: np.ndarray,
    intercept: np.ndarray,
    grad: np.ndarray,
    loss: np.ndarray,
) -> None:
    """Add the block's half-binomial loss and gradient of `c` models to their totals.

    Every model's totals are bit for bit those it gets alone (``c = 1``): the models
    share the reading of each row, not their arithmetic. The scores and the
    compensated sums are numba loops vectorised over the models; the pointwise loss and
    gradient use NumPy's vectorised ``exp`` and ``log1p`` (scalar ones were most of the
    cost of a row).

    Parameters
    ----------
    X : (n, d) float64 block.
    codes : (n,) float64 labels encoded 0.0 / 1.0 (1 is ``classes_[1]``).
    class_weight : (c, 2) weight of each code, per model.
    coef : (c, d) and intercept : (c,) the models.
    grad : (c, 2, d + 1) accumulators: per model, row 0 the sums, row 1 their
        compensations; column d takes the intercept's gradient.
    loss : (c, 2) accumulators of the weighted loss: sum, compensation.
    """
    c = len(coef)
    coef_t = np.ascontiguousarray(coef.T)
    intercept = np.ascontiguousarray(intercept, dtype=np.float64)
    # Model-major accumulators: the kernel's inner loops run over the models.
    sums, errs = np.ascontiguousarray(grad[:, 0].T), np.ascontiguousarray(grad[:, 1].T)
    loss_sums, loss_errs = loss[:, 0].copy(), loss[:, 1].copy()
    weighted = not np.all(class_weight == 1.0)
    # Column-major (rows adjacent in memory): a block, or a slice of one, in Fortran order.
    column_major = X.ndim == 2 and X.shape[1] > 1 and X.strides[0] < X.strides[1]
    step_rows = max(_STEP_VALUES // c, 1)
    raw = np.empty((min(len(X), step_rows), c))
    for start in range(0, len(X), step_rows):
        rows = X[start : start + step_rows]
        step = raw[: len(rows)]
        (_binomial_raw_f if column_major else _binomial_raw)(rows, coef_t, intercept, step)
        y = codes[start : start + step_rows, None]
        loss_i, grad_i = _binomial_pointwise(step, y)
        if weighted:
            sw = class_weight[:, 0] * (1.0 - y) + class_weight[:, 1] * y  # y is 0 or 1
            loss_i *= sw
            grad_i *= sw
        # Feature by feature pays for many models (measured: from about 16); for fewer,
        # each total's chain of additions is the bottleneck and interleaving the
        # features hides it.
        add = _add_binomial_f if column_major and c >= 16 else _add_binomial
        add(rows, loss_i, grad_i, sums, errs, loss_sums, loss_errs)
    grad[:, 0], grad[:, 1] = sums.T, errs.T
    loss[:, 0], loss[:, 1] = loss_sums, loss_errs


def _binomial_pointwise(raw: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's half-binomial loss and gradient at `raw` for labels `y` (0 or 1).

    With ``t = exp(-|raw|)``, which never overflows: the loss is ``log1p(t) + max(raw,
    0) - y raw`` and the gradient ``sigmoid(raw) - y``, which is ``1``, ``t``, ``-t``
    or ``-1`` over ``1 + t``, free of cancellation (as ``closs_grad_half_binomial``).
    """
    t = np.abs(raw)
    np.negative(t, out=t)
    np.exp(t, out=t)
    loss = np.log1p(t)
    loss += np.maximum(raw, 0.0)
    loss -= y * raw
    grad = np.where((raw > 0.0) != (y > 0.5), 1.0, t)
    grad *= 1.0 - 2.0 * y
    t += 1.0
    grad /= t
    return loss, grad


@njit(cache=True, nogil=True)
def _binomial_raw(
    X: np.ndarray, coef_t: np.ndarray, intercept: np.ndarray, raw: np.ndarray
) -> None:
    # raw[i, k] = intercept[k] + sum_j X[i, j] coef[k, j], summed in the order of j
    # whatever the number of models.
    n, d = X.shape
    c = coef_t.shape[1]
    for i in range(n):
        for k in range(c):
            raw[i, k] = intercept[k]
        for j in range(d):
            x = X[i, j]
            for k in range(c):
                raw[i, k] += x * coef_t[j, k]


@njit(cache=True, nogil=True)
def _binomial_raw_f(
    X: np.ndarray, coef_t: np.ndarray, intercept: np.ndarray, raw: np.ndarray
) -> None:
    # _binomial_raw for a column-major X: the same sums, feature by feature.
    n, d = X.shape
    c = coef_t.shape[1]
    for i in range(n):
        for k in range(c):
            raw[i, k] = intercept[k]
    for j in range(d):
        for i in range(n):
            x = X[i, j]
            for k in range(c):
                raw[i, k] += x * coef_t[j, k]


@njit(cache=True, nogil=True)
def _add_binomial(
    X: np.ndarray,
    loss_i: np.ndarray,
    grad_i: np.ndarray,
    sums: np.ndarray,
    errs: np.ndarray,
    loss_sums: np.ndarray,
    loss_errs: np.ndarray,
) -> None:
    # Row by row, TwoSum into (d + 1, c) sums and compensations: each model's totals
    # see the rows in order, as a model alone would.
    n, d = X.shape
    c = loss_i.shape[1]
    for i in range(n):
        for k in range(c):
            t, err = _two_sum(loss_sums[k], loss_i[i, k])
            loss_sums[k] = t
            loss_errs[k] += err
        for j in range(d):
            x = X[i, j]
            for k in range(c):
                t, err = _two_sum(sums[j, k], grad_i[i, k] * x)
                sums[j, k] = t
                errs[j, k] += err
        for k in range(c):
            t, err = _two_sum(sums[d, k], grad_i[i, k])
            sums[d, k] = t
            errs[d, k] += err


@njit(cache=True, nogil=True)
def _add_binomial_f(
    X: np.ndarray,
    loss_i: np.ndarray,
    grad_i: np.ndarray,
    sums: np.ndarray,
    errs: np.ndarray,
    loss_sums: np.ndarray,
    loss_errs: np.ndarray,
) -> None:
    # _add_binomial for a column-major X: feature by feature, each total still takes
    # the rows in order, so the results are bit for bit the same.
    n, d = X.shape
    c = loss_i.shape[1]
    for i in range(n):
        for k in range(c):
            t, err = _two_sum(loss_sums[k], loss_i[i, k])
            loss_sums[k] = t
            loss_errs[k] += err
    for j in range(d):
        for i in range(n):
            x = X[i, j]
            for k in range(c):
                t, err = _two_sum(sums[j, k], grad_i[i, k] * x)
                sums[j, k] = t
                errs[j, k] += err
    for i in range(n):
        for k in range(c):
            t, err = _two_sum(sums[d, k], grad_i[i, k])
            sums[d, k] = t
            errs[d, k] += err


@njit(cache=True, nogil=True)
def multinomial_loss_grad(
    X: np.ndarray,
    codes: np.ndarray,
    class_weight: np.ndarray,
    coef: np.ndarray,
    intercept: np.ndarray,
    grad: np.ndarray,
    loss: np.ndarray,
) -> None:
    """Add the block's half-multinomial loss and gradient to the compensated totals.

    Parameters
    ----------
    X : (n, d) float64 block.
    codes : (n,) float64 labels encoded 0.0 .. K-1.
    class_weight : (K,) weight of each code.
    coef : (K, d) and intercept : (K,) the current model.
    grad : (2, K, d + 1) accumulator: sums and compensations; column d takes the
        intercepts' gradient.
    loss : (2,) accumulator of the weighted loss: sum, compensation.
    """
    n, d = X.shape
    k_classes = coef.shape[0]
    raw = np.empty(k_classes)
    for i in range(n):
        top = -np.inf
        for k in range(k_classes):
            r = intercept[k]
            for j in range(d):
                r += X[i, j] * coef[k, j]
            raw[k] = r
            top = max(top, r)
        # log-sum-exp shifted by the largest score: no overflow, full precision.
        sum_exps = 0.0
        for k in range(k_classes):
            sum_exps += math.exp(raw[k] - top)
        code = int(codes[i])
        sw = class_weight[code]
        loss[0], err = _two_sum(loss[0], sw * (math.log(sum_exps) + top - raw[code]))
        loss[1] += err
        for k in range(k_classes):
            gk = math.exp(raw[k] - top) / sum_exps
            if k == code:
                gk -= 1.0
            gk *= sw
            for j in range(d):
                grad[0, k, j], err = _two_sum(grad[0, k, j], gk * X[i, j])
                grad[1, k, j] += err
            grad[0, k, d], err = _two_sum(grad[0, k, d], gk)
            grad[1, k, d] += err


@njit(cache=True, nogil=True, inline="always")
def _hess_half_binomial(raw: float) -> float:
    # scikit-learn's cgrad_hess_half_binomial: p (1 - p) = exp(-raw) / (1 + exp(-raw))^2,
    # and its first-order Taylor term exp(raw) far in the left tail.
    if raw > -37.0:
        tmp = math.exp(-raw)
        return tmp / (1.0 + tmp) ** 2
    return math.exp(raw)


@njit(cache=True, nogil=True)
def binomial_loss_grad_hess(
    X: np.ndarray,
    codes: np.ndarray,
    class_weight: np.ndarray,
    coef: np.ndarray,
    intercept: float,
    grad: np.ndarray,
    loss: np.ndarray,
    hess_weights: np.ndarray,
    nonpos: np.ndarray,
) -> None:
    """:func:`binomial_loss_grad`, plus the pointwise Hessian of every row.

    The caller turns ``hess_weights`` into the block's Hessian with one BLAS product,
    ``X1' diag(hess_weights) X1``.

    Parameters
    ----------
    X, codes, class_weight, coef, intercept, grad, loss
        As :func:`binomial_loss_grad`.
    hess_weights : (n,) output: ``sw_i * p_i (1 - p_i)`` of every row.
    nonpos : (2,) accumulator: the weight of the rows whose pointwise Hessian is not
        positive (underflow), and the total weight (scikit-learn's hessian_warning).
    """
    n, d = X.shape
    for i in range(n):
        raw = intercept
        for j in range(d):
            raw += X[i, j] * coef[j]
        y = codes[i]
        sw = class_weight[int(y)]
        li, gi = _loss_grad_half_binomial(y, raw)
        h = _hess_half_binomial(raw)
        hess_weights[i] = sw * h
        if h <= 0.0:
            nonpos[0] += sw
        nonpos[1] += sw
        loss[0], err = _two_sum(loss[0], sw * li)
        loss[1] += err
        gi *= sw
        for j in range(d):
            grad[0, j], err = _two_sum(grad[0, j], gi * X[i, j])
            grad[1, j] += err
        grad[0, d], err = _two_sum(grad[0, d], gi)
        grad[1, d] += err


@njit(cache=True, nogil=True)
def multinomial_loss_grad_proba(
    X: np.ndarray,
    codes: np.ndarray,
    class_weight: np.ndarray,
    coef: np.ndarray,
    intercept: np.ndarray,
    grad: np.ndarray,
    loss: np.ndarray,
    proba: np.ndarray,
) -> None:
    """:func:`multinomial_loss_grad`, plus the predicted probabilities of every row.

    The caller builds the block's Hessian from ``proba`` with one BLAS product per
    pair of classes.

    Parameters
    ----------
    X, codes, class_weight, coef, intercept, grad, loss
        As :func:`multinomial_loss_grad`.
    proba : (n, K) output: the softmax of every row's scores.
    """
    n, d = X.shape
    k_classes = coef.shape[0]
    raw = np.empty(k_classes)
    for i in range(n):
        top = -np.inf
        for k in range(k_classes):
            r = intercept[k]
            for j in range(d):
                r += X[i, j] * coef[k, j]
            raw[k] = r
            top = max(top, r)
        sum_exps = 0.0
        for k in range(k_classes):
            sum_exps += math.exp(raw[k] - top)
        code = int(codes[i])
        sw = class_weight[code]
        loss[0], err = _two_sum(loss[0], sw * (math.log(sum_exps) + top - raw[code]))
        loss[1] += err
        for k in range(k_classes):
            p = math.exp(raw[k] - top) / sum_exps
            proba[i, k] = p
            gk = p - 1.0 if k == code else p
            gk *= sw
            for j in range(d):
                grad[0, k, j], err = _two_sum(grad[0, k, j], gk * X[i, j])
                grad[1, k, j] += err
            grad[0, k, d], err = _two_sum(grad[0, k, d], gk)
            grad[1, k, d] += err


def add_compensated(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Merge two compensated totals (leading axis: sum, compensation) with TwoSum."""
    t = a[0] + b[0]
    bp = t - a[0]
    err = (a[0] - (t - bp)) + (b[0] - bp)
    return np.stack([t, a[1] + b[1] + err])


def binomial_loss_grad_reference(
    X: np.ndarray, codes: np.ndarray, class_weight: np.ndarray, coef: np.ndarray, intercept: float
) -> tuple[float, np.ndarray]:
    """Pure-numpy :func:`binomial_loss_grad` from zero: ``(loss, grad)``."""
    raw = X @ coef + intercept
    sw = class_weight[codes.astype(np.int64)]
    loss = np.logaddexp(0.0, raw) - codes * raw
    g = sw * (1.0 / (1.0 + np.exp(-raw)) - codes)
    return float(sw @ loss), np.concatenate([X.T @ g, [g.sum()]])


def multinomial_loss_grad_reference(
    X: np.ndarray,
    codes: np.ndarray,
    class_weight: np.ndarray,
    coef: np.ndarray,
    intercept: np.ndarray,
) -> tuple[float, np.ndarray]:
    """Pure-numpy :func:`multinomial_loss_grad` from zero: ``(loss, grad)``."""
    raw = X @ coef.T + intercept
    idx = codes.astype(np.int64)
    sw = class_weight[idx]
    top = raw.max(axis=1, keepdims=True)
    lse = np.log(np.exp(raw - top).sum(axis=1)) + top[:, 0]
    loss = lse - raw[np.arange(len(idx)), idx]
    G = np.exp(raw - lse[:, None])
    G[np.arange(len(idx)), idx] -= 1.0
    G *= sw[:, None]
    return float(sw @ loss), np.hstack([G.T @ X, G.sum(axis=0)[:, None]])


def binomial_hessian_weights_reference(
    X: np.ndarray, codes: np.ndarray, class_weight: np.ndarray, coef: np.ndarray, intercept: float
) -> np.ndarray:
    """Pure-numpy ``hess_weights`` of :func:`binomial_loss_grad_hess`."""
    raw = X @ coef + intercept
    # p (1 - p) as p(raw) p(-raw): no cancellation in 1 - p where p is near 1.
    p, q = 1.0 / (1.0 + np.exp(-raw)), 1.0 / (1.0 + np.exp(raw))
    return np.asarray(class_weight[codes.astype(np.int64)] * p * q)
