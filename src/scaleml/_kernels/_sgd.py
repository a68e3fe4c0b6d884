"""Plain stochastic gradient descent over one block of rows: scikit-learn's update rule.

:func:`sgd_block` is ``_plain_sgd`` of ``sklearn/linear_model/_sgd_fast.pyx.tp`` (one
epoch's inner loop, cut at block boundaries) together with the ``WeightVector`` it
updates (``sklearn/utils/_weight_vector.pyx.tp``): the weights are stored as
``wscale * W`` so that the L2 shrinkage of every step is one multiplication, averaged
SGD uses Bottou's ``average_a`` / ``average_b`` trick, L1 uses the truncated gradient
with the cumulative penalty ``u`` and ``q``. Several binary problems (one-vs-all) are
trained side by side, each with its own row of state, so a multiclass fit reads the
data once per epoch. All state lives in arrays the caller owns, so an epoch can stop
after any block and resume (checkpoints) with no change to the arithmetic.

:func:`sgd_block_reference` is the same algorithm written plainly with numpy (explicit
scaling, explicit running average), the reference the kernel is tested against.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numba import njit

__all__ = [
    "ADAPTIVE",
    "CONSTANT",
    "ELASTICNET",
    "EPSILON_INSENSITIVE",
    "HINGE",
    "HUBER",
    "INVSCALING",
    "L1",
    "L2",
    "LOG_LOSS",
    "MODIFIED_HUBER",
    "NO_PENALTY",
    "N_SCALARS",
    "OPTIMAL",
    "PA1",
    "PA2",
    "SQUARED_EPSILON_INSENSITIVE",
    "SQUARED_ERROR",
    "SQUARED_HINGE",
    "dloss",
    "loss",
    "reset_wscale",
    "row_hash_unit",
    "row_hash_unit_reference",
    "sgd_block",
    "sgd_block_reference",
    "shuffle_swap",
    "shuffle_swap_reference",
]

# Loss kinds; the loss parameter (hinge threshold, huber delta, epsilon) rides along.
HINGE, SQUARED_HINGE, LOG_LOSS, MODIFIED_HUBER = 0, 1, 2, 3
SQUARED_ERROR, HUBER, EPSILON_INSENSITIVE, SQUARED_EPSILON_INSENSITIVE = 4, 5, 6, 7
# scikit-learn's penalty and learning-rate constants.
NO_PENALTY, L1, L2, ELASTICNET = 0, 1, 2, 3
CONSTANT, OPTIMAL, INVSCALING, ADAPTIVE, PA1, PA2 = 1, 2, 3, 4, 5, 6

# Columns of the per-problem scalar state ``S``.
WSCALE, INTERCEPT, SQ_NORM, L1_NORM, AVG_A, AVG_B, AVG_INTERCEPT, U = 0, 1, 2, 3, 4, 5, 6, 7
T, ETA, SUMLOSS, OBJECTIVE, COUNT, POS_WEIGHT, NEG_WEIGHT, ACTIVE = 8, 9, 10, 11, 12, 13, 14, 15
N_SCALARS = 16

_MAX_DLOSS = 1e12
_RESET_WSCALE_BELOW = 1e-9


@njit(cache=True, nogil=True)
def _log1pexp(x: float) -> float:
    if x <= -37.0:
        return math.exp(x)
    if x <= -2.0:
        return math.log1p(math.exp(x))
    if x <= 18.0:
        return math.log(1.0 + math.exp(x))
    if x <= 33.3:
        return x + math.exp(-x)
    return x


@njit(cache=True, nogil=True)
def loss(kind: int, param: float, y: float, p: float) -> float:
    """The loss of prediction `p` for target `y` (scikit-learn's ``cy_loss``)."""
    if kind == HINGE:
        z = p * y
        return param - z if z <= param else 0.0
    if kind == SQUARED_HINGE:
        z = param - p * y
        return z * z if z > 0 else 0.0
    if kind == LOG_LOSS:
        return _log1pexp(p) - y * p
    if kind == MODIFIED_HUBER:
        z = p * y
        if z >= 1.0:
            return 0.0
        if z >= -1.0:
            return (1.0 - z) * (1.0 - z)
        return -4.0 * z
    if kind == SQUARED_ERROR:
        return 0.5 * (p - y) * (p - y)
    if kind == HUBER:
        abserr = abs(y - p)
        if abserr <= param:
            return 0.5 * abserr * abserr
        return param * (abserr - 0.5 * param)
    ret = abs(y - p) - param
    if kind == EPSILON_INSENSITIVE:
        return ret if ret > 0 else 0.0
    return ret * ret if ret > 0 else 0.0


@njit(cache=True, nogil=True)
def dloss(kind: int, param: float, y: float, p: float) -> float:
    """The derivative of :func:`loss` in `p` (scikit-learn's ``cy_gradient``)."""
    if kind == HINGE:
        return -y if p * y <= param else 0.0
    if kind == SQUARED_HINGE:
        z = param - p * y
        return -2.0 * y * z if z > 0 else 0.0
    if kind == LOG_LOSS:
        if p > -37.0:
            e = math.exp(-p)
            return ((1.0 - y) - y * e) / (1.0 + e)
        return math.exp(p) - y
    if kind == MODIFIED_HUBER:
        z = p * y
        if z >= 1.0:
            return 0.0
        if z >= -1.0:
            return 2.0 * (1.0 - z) * -y
        return -4.0 * y
    if kind == SQUARED_ERROR:
        return p - y
    if kind == HUBER:
        res = p - y
        if abs(res) <= param:
            return res
        return param if res >= 0 else -param
    if kind == EPSILON_INSENSITIVE:
        if y - p > param:
            return -1.0
        if p - y > param:
            return 1.0
        return 0.0
    z = y - p
    if z > param:
        return -2.0 * (z - param)
    if z < -param:
        return 2.0 * (-z - param)
    return 0.0


@njit(cache=True, nogil=True)
def reset_wscale(W: np.ndarray, AW: np.ndarray, S: np.ndarray, k: int, average: int) -> None:
    """Fold ``wscale`` (and the lazy average) into the stored weights of problem `k`."""
    d = W.shape[1]
    if average > 0:
        a = S[k, AVG_A]
        inv_b = 1.0 / S[k, AVG_B]
        for j in range(d):
            AW[k, j] = (AW[k, j] + a * W[k, j]) * inv_b
        S[k, AVG_A] = 0.0
        S[k, AVG_B] = 1.0
    wscale = S[k, WSCALE]
    for j in range(d):
        W[k, j] *= wscale
    S[k, WSCALE] = 1.0


@njit(cache=True, nogil=True)
def _scale(W: np.ndarray, AW: np.ndarray, S: np.ndarray, k: int, c: float, average: int) -> None:
    S[k, WSCALE] *= c
    S[k, SQ_NORM] *= c * c
    S[k, L1_NORM] *= abs(c)
    if S[k, WSCALE] < _RESET_WSCALE_BELOW:
        reset_wscale(W, AW, S, k, average)


@njit(cache=True, nogil=True)
def _add(W: np.ndarray, S: np.ndarray, k: int, x: np.ndarray, c: float) -> None:
    wscale = S[k, WSCALE]
    step = c / wscale
    l2 = 0.0
    l1 = 0.0
    for j in range(x.shape[0]):
        W[k, j] += x[j] * step
        l2 += W[k, j] * W[k, j]
        l1 += abs(W[k, j])
    S[k, SQ_NORM] = l2 * (wscale * wscale)
    S[k, L1_NORM] = l1 * wscale


@njit(cache=True, nogil=True)
def _add_average(
    AW: np.ndarray, S: np.ndarray, k: int, x: np.ndarray, c: float, num_iter: float
) -> None:
    # Bottou's trick: the average is (AW + average_a * W) / average_b, kept exact
    # under the lazy scaling without touching every weight at every step.
    mu = 1.0 / num_iter
    a = S[k, AVG_A]
    wscale = S[k, WSCALE]
    step = -c / wscale
    for j in range(x.shape[0]):
        AW[k, j] += a * x[j] * step
    if num_iter > 1:
        S[k, AVG_B] /= 1.0 - mu
    S[k, AVG_A] += mu * S[k, AVG_B] * wscale


@njit(cache=True, nogil=True)
def _l1_penalty(W: np.ndarray, Q: np.ndarray, S: np.ndarray, k: int) -> None:
    # Truncated gradient with cumulative penalty (Tsuruoka et al., 2009).
    wscale = S[k, WSCALE]
    u = S[k, U]
    for j in range(W.shape[1]):
        z = W[k, j]
        if wscale * z > 0.0:
            W[k, j] = max(0.0, W[k, j] - (u + Q[k, j]) / wscale)
        elif wscale * z < 0.0:
            W[k, j] = min(0.0, W[k, j] + (u - Q[k, j]) / wscale)
        Q[k, j] += wscale * (W[k, j] - z)


@njit(cache=True, nogil=True)
def sgd_block(
    X: np.ndarray,
    y: np.ndarray,
    sample_weight: np.ndarray,
    pos_label: np.ndarray,
    W: np.ndarray,
    AW: np.ndarray,
    Q: np.ndarray,
    S: np.ndarray,
    fparams: np.ndarray,
    iparams: np.ndarray,
) -> None:
    """Run SGD steps on every row of `X`, in order, for every active problem.

    Parameters
    ----------
    X : (n, d) rows; y : (n,) targets or label codes; sample_weight : (n,).
    pos_label : (K,) the code that is the positive class of problem k (ignored for
        regression, where `y` is the target itself).
    W, AW, Q : (K, d) stored weights (times ``wscale``), lazy averages, L1 state.
    S : (K, N_SCALARS) scalar state (see the column constants).
    fparams : alpha, l1_ratio, eta0, power_t, optimal_init, intercept_decay,
        loss parameter, label of the negative class (0 for log_loss, else -1).
    iparams : loss kind, penalty, learning rate, fit_intercept, average, regression.
    """
    alpha, l1_ratio, eta0, power_t = fparams[0], fparams[1], fparams[2], fparams[3]
    optimal_init, intercept_decay, loss_param, neg_label = (
        fparams[4],
        fparams[5],
        fparams[6],
        fparams[7],
    )
    kind, penalty, lr = iparams[0], iparams[1], iparams[2]
    fit_intercept, average, regression = iparams[3], iparams[4], iparams[5]
    n, d = X.shape
    for i in range(n):
        x = X[i]
        for k in range(W.shape[0]):
            if S[k, ACTIVE] == 0.0:
                continue
            if regression:
                yk = y[i]
            else:
                yk = 1.0 if y[i] == pos_label[k] else neg_label
            dot = 0.0
            for j in range(d):
                dot += W[k, j] * x[j]
            p = dot * S[k, WSCALE] + S[k, INTERCEPT]
            t = S[k, T]
            if lr == OPTIMAL:
                eta = 1.0 / (alpha * (optimal_init + t - 1.0))
            elif lr == INVSCALING:
                eta = eta0 / t**power_t
            else:
                eta = S[k, ETA]
            cur = loss(kind, loss_param, yk, p)
            S[k, SUMLOSS] += cur
            S[k, OBJECTIVE] += cur
            if lr != PA1 and lr != PA2 and penalty > 0:
                # SGD's L2 term is 0.5 * ||w||^2 (weight decay); scikit-learn's norm.
                norm = math.sqrt(S[k, SQ_NORM])
                S[k, OBJECTIVE] += alpha * (
                    (1.0 - l1_ratio) * 0.5 * norm**2 + l1_ratio * S[k, L1_NORM]
                )
            class_weight = S[k, POS_WEIGHT] if yk > 0.0 else S[k, NEG_WEIGHT]
            if lr == PA1 or lr == PA2:
                sq = 0.0
                for j in range(d):
                    sq += x[j] * x[j]
                if lr == PA1:
                    if sq == 0.0:
                        continue
                    update = min(eta0, cur / sq)
                else:
                    update = cur / (sq + 0.5 / eta0)
                if kind == HINGE:
                    update *= yk
                elif yk - p < 0:
                    update *= -1.0
            else:
                dl = dloss(kind, loss_param, yk, p)
                dl = min(max(dl, -_MAX_DLOSS), _MAX_DLOSS)
                update = -eta * dl
            update *= class_weight * sample_weight[i]
            if penalty >= L2:
                _scale(W, AW, S, k, max(0.0, 1.0 - ((1.0 - l1_ratio) * eta * alpha)), average)
            if update != 0.0:
                _add(W, S, k, x, update)
                if fit_intercept:
                    S[k, INTERCEPT] += update * intercept_decay
            if 0 < average <= t:
                num_iter = t - average + 1.0
                _add_average(AW, S, k, x, update, num_iter)
                S[k, AVG_INTERCEPT] += (S[k, INTERCEPT] - S[k, AVG_INTERCEPT]) / num_iter
            if penalty == L1 or penalty == ELASTICNET:
                S[k, U] += l1_ratio * eta * alpha
                _l1_penalty(W, Q, S, k)
            S[k, T] = t + 1.0
            S[k, COUNT] += 1.0


@njit(cache=True, nogil=True)
def shuffle_swap(
    buffer: np.ndarray, incoming: np.ndarray, draws: np.ndarray, out: np.ndarray
) -> None:
    """Reservoir-style shuffle step: each incoming row takes the place of a random
    buffered row, which is emitted (``out[i] = buffer[j]; buffer[j] = incoming[i]``)."""
    size = buffer.shape[0]
    for i in range(incoming.shape[0]):
        j = min(int(draws[i] * size), size - 1)
        for c in range(buffer.shape[1]):
            out[i, c] = buffer[j, c]
            buffer[j, c] = incoming[i, c]


_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)


@njit(cache=True, nogil=True)
def row_hash_unit(bits: np.ndarray, seed: np.uint64) -> np.ndarray:
    """A stable hash of each row's float64 bit patterns, mapped to [0, 1).

    splitmix64 folded over the row: the same row gives the same value whatever the
    batch, file or partition it arrives in.
    """
    n, d = bits.shape
    out = np.empty(n)
    for i in range(n):
        h = seed
        for j in range(d):
            z = (h ^ bits[i, j]) + _GOLDEN
            z = (z ^ (z >> np.uint64(30))) * _MIX1
            z = (z ^ (z >> np.uint64(27))) * _MIX2
            h = z ^ (z >> np.uint64(31))
        out[i] = (h >> np.uint64(11)) * (1.0 / 9007199254740992.0)
    return out


# -- numpy references ----------------------------------------------------------------


def row_hash_unit_reference(bits: np.ndarray, seed: int) -> np.ndarray:
    """Pure-numpy :func:`row_hash_unit`."""
    with np.errstate(over="ignore"):
        h = np.full(bits.shape[0], np.uint64(seed), dtype=np.uint64)
        for j in range(bits.shape[1]):
            z = (h ^ bits[:, j]) + _GOLDEN
            z = (z ^ (z >> np.uint64(30))) * _MIX1
            z = (z ^ (z >> np.uint64(27))) * _MIX2
            h = z ^ (z >> np.uint64(31))
    return (h >> np.uint64(11)).astype(np.float64) / 9007199254740992.0


def shuffle_swap_reference(
    buffer: np.ndarray, incoming: np.ndarray, draws: np.ndarray
) -> np.ndarray:
    """Pure-numpy :func:`shuffle_swap`; returns the emitted rows (updates `buffer`)."""
    out = np.empty_like(incoming)
    for i, u in enumerate(draws):
        j = min(int(u * len(buffer)), len(buffer) - 1)
        out[i] = buffer[j]
        buffer[j] = incoming[i]
    return out


def sgd_block_reference(
    X: np.ndarray,
    y: np.ndarray,
    sample_weight: np.ndarray,
    pos_label: np.ndarray,
    coef: np.ndarray,
    intercept: np.ndarray,
    t: float,
    *,
    params: dict[str, Any],
    class_weight: tuple[np.ndarray, np.ndarray] | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The SGD steps of :func:`sgd_block` with explicit numpy arithmetic.

    No lazy scaling: every step shrinks the weight vector, adds the gradient step and
    (with averaging) moves the running average ``avg += (w - avg) / num_iter``. L1 is
    the same truncated gradient. Starts from `coef` (K, d), `intercept` (K,), step
    count `t`; returns ``(coef, intercept, avg_coef, avg_intercept)``.
    """
    p_ = params
    W = np.array(coef, dtype=np.float64, copy=True)
    b = np.array(intercept, dtype=np.float64, copy=True)
    AW = np.zeros_like(W)
    ab = np.zeros_like(b)
    Q = np.zeros_like(W)
    u = np.zeros(len(b))
    ts = np.full(len(b), float(t))
    pos_w, neg_w = class_weight if class_weight is not None else (np.ones(len(b)), np.ones(len(b)))
    l1_ratio, alpha, lr = p_["l1_ratio"], p_["alpha"], p_["learning_rate"]
    for i in range(X.shape[0]):
        x = X[i]
        for k in range(W.shape[0]):
            yk = y[i] if p_["regression"] else (1.0 if y[i] == pos_label[k] else p_["neg_label"])
            p = float(W[k] @ x + b[k])
            if lr == OPTIMAL:
                eta = 1.0 / (alpha * (p_["optimal_init"] + ts[k] - 1.0))
            elif lr == INVSCALING:
                eta = p_["eta0"] / ts[k] ** p_["power_t"]
            else:
                eta = p_["eta0"]
            cw = pos_w[k] if yk > 0 else neg_w[k]
            if lr in (PA1, PA2):
                cur = loss(p_["kind"], p_["loss_param"], yk, p)
                sq = float(x @ x)
                if lr == PA1 and sq == 0.0:
                    continue
                step = min(p_["eta0"], cur / sq) if lr == PA1 else cur / (sq + 0.5 / p_["eta0"])
                step *= yk if p_["kind"] == HINGE else (-1.0 if yk - p < 0 else 1.0)
            else:
                g = float(
                    np.clip(dloss(p_["kind"], p_["loss_param"], yk, p), -_MAX_DLOSS, _MAX_DLOSS)
                )
                step = -eta * g
            step *= cw * sample_weight[i]
            if p_["penalty"] >= L2:
                W[k] *= max(0.0, 1.0 - (1.0 - l1_ratio) * eta * alpha)
            W[k] += step * x
            if p_["fit_intercept"] and step != 0.0:
                b[k] += step * p_["intercept_decay"]
            avg = p_["average"]
            if 0 < avg <= ts[k]:
                num_iter = ts[k] - avg + 1.0
                AW[k] += (W[k] - AW[k]) / num_iter
                ab[k] += (b[k] - ab[k]) / num_iter
            if p_["penalty"] in (L1, ELASTICNET):
                u[k] += l1_ratio * eta * alpha
                z = W[k].copy()
                W[k] = np.where(z > 0, np.maximum(0.0, z - (u[k] + Q[k])), W[k])
                W[k] = np.where(z < 0, np.minimum(0.0, z + (u[k] - Q[k])), W[k])
                Q[k] += W[k] - z
            ts[k] += 1.0
    return W, b, AW, ab
