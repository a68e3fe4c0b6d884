"""The logistic and SGD numba kernels against their pure-numpy references."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose, assert_array_equal

from scaleml._kernels import _logistic
from scaleml._kernels import _sgd as K
from scaleml._kernels._logistic import (
    add_compensated,
    binomial_loss_grad,
    binomial_loss_grad_reference,
    multinomial_loss_grad,
    multinomial_loss_grad_reference,
)
from tests.strategies import classification_data


def _weights(rng: np.random.Generator, k: int) -> np.ndarray:
    return rng.uniform(0.2, 3.0, size=k)


@settings(max_examples=40, deadline=None)
@given(
    data=classification_data(max_classes=2),
    seed=st.integers(0, 2**32 - 1),
    scale=st.sampled_from([0.1, 5.0, 60.0]),
)
def test_binomial_kernel_matches_reference(data, seed, scale):
    X, y = data
    rng = np.random.default_rng(seed)
    coef, b, cw = rng.normal(scale=scale, size=X.shape[1]), rng.normal(), _weights(rng, 2)
    codes = y.astype(np.float64)
    grad, loss = np.zeros((1, 2, X.shape[1] + 1)), np.zeros((1, 2))
    binomial_loss_grad(X, codes, cw[None], coef[None], np.array([b]), grad, loss)
    ref_loss, ref_grad = binomial_loss_grad_reference(X, codes, cw, coef, b)
    assert_allclose(loss[0].sum(), ref_loss, rtol=1e-10)
    assert_allclose(grad[0].sum(axis=0), ref_grad, rtol=1e-9, atol=1e-12 * len(X))


@settings(max_examples=25, deadline=None)
@given(
    data=classification_data(max_classes=2),
    seed=st.integers(0, 2**32 - 1),
    n_models=st.sampled_from([2, 3, 5, 9, 16, 21]),  # both accumulation orders
    batch=st.integers(1, 5000),
)
def test_binomial_kernel_of_many_models_is_each_model_alone(data, seed, n_models, batch):
    # Fused updates (fit_many, searches) must give every model its solo totals exactly,
    # whatever the kernel's steps (the models' steps then cover different rows).
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(_logistic, "_STEP_VALUES", batch)
        _check_many_models(data, seed, n_models)


def _check_many_models(data, seed, n_models):
    X, y = data
    rng = np.random.default_rng(seed)
    d = X.shape[1]
    coef = rng.normal(scale=3.0, size=(n_models, d))
    b, cw = rng.normal(size=n_models), rng.uniform(0.2, 3.0, size=(n_models, 2))
    cw[0] = 1.0  # unweighted and weighted models together
    codes = y.astype(np.float64)
    grad, loss = np.zeros((n_models, 2, d + 1)), np.zeros((n_models, 2))
    binomial_loss_grad(X, codes, cw, coef, b, grad, loss)
    # Column-major blocks (L-BFGS passes read them) give the same sums, bit for bit.
    grad_f, loss_f = np.zeros_like(grad), np.zeros_like(loss)
    binomial_loss_grad(np.asfortranarray(X), codes, cw, coef, b, grad_f, loss_f)
    assert_array_equal(grad_f, grad)
    assert_array_equal(loss_f, loss)
    for k in range(n_models):
        g, l_ = np.zeros((1, 2, d + 1)), np.zeros((1, 2))
        binomial_loss_grad(X, codes, cw[k : k + 1], coef[k : k + 1], b[k : k + 1], g, l_)
        assert_array_equal(grad[k], g[0])
        assert_array_equal(loss[k], l_[0])
        ref_loss, ref_grad = binomial_loss_grad_reference(X, codes, cw[k], coef[k], b[k])
        assert_allclose(loss[k].sum(), ref_loss, rtol=1e-10)
        assert_allclose(grad[k].sum(axis=0), ref_grad, rtol=1e-9, atol=1e-12 * len(X))


@settings(max_examples=40, deadline=None)
@given(
    data=classification_data(),
    seed=st.integers(0, 2**32 - 1),
    scale=st.sampled_from([0.1, 5.0, 300.0]),
)
def test_multinomial_kernel_matches_reference(data, seed, scale):
    X, y = data
    k = int(y.max()) + 1
    rng = np.random.default_rng(seed)
    coef, b, cw = (
        rng.normal(scale=scale, size=(k, X.shape[1])),
        rng.normal(size=k),
        _weights(rng, k),
    )
    codes = y.astype(np.float64)
    grad, loss = np.zeros((2, k, X.shape[1] + 1)), np.zeros(2)
    multinomial_loss_grad(X, codes, cw, coef, b, grad, loss)
    ref_loss, ref_grad = multinomial_loss_grad_reference(X, codes, cw, coef, b)
    assert_allclose(loss.sum(), ref_loss, rtol=1e-10)
    assert_allclose(grad.sum(axis=0), ref_grad, rtol=1e-9, atol=1e-12 * len(X))


def _multinomial_totals(X, codes, coef, parts):
    """Compensated totals of the row ranges `parts`, merged with TwoSum."""
    k = coef.shape[0]
    totals = None
    for rows in parts:
        grad, loss = np.zeros((2, k, X.shape[1] + 1)), np.zeros(2)
        multinomial_loss_grad(X[rows], codes[rows], np.ones(k), coef, np.zeros(k), grad, loss)
        totals = (
            (loss, grad)
            if totals is None
            else (add_compensated(totals[0], loss), add_compensated(totals[1], grad))
        )
    return totals[0].sum(), totals[1].sum(axis=0)


@settings(max_examples=25, deadline=None)
@given(data=classification_data(), cuts=st.lists(st.floats(0.0, 1.0), max_size=4))
def test_compensated_totals_do_not_depend_on_the_split(data, cuts):
    X, y = data
    k = int(y.max()) + 1
    codes = y.astype(np.float64)
    coef = np.linspace(-3, 3, k * X.shape[1]).reshape(k, -1)
    whole = _multinomial_totals(X, codes, coef, [slice(None)])
    bounds = [0, *sorted(int(c * len(X)) for c in cuts), len(X)]
    parts = [slice(a, b) for a, b in itertools.pairwise(bounds)]
    split = _multinomial_totals(X, codes, coef, parts[::-1])  # any order of partitions
    assert_allclose(split[0], whole[0], rtol=4e-16)
    assert_allclose(split[1], whole[1], rtol=4e-16, atol=1e-300)


def test_binomial_kernel_is_stable_for_huge_scores():
    X = np.array([[1e4], [-1e4], [40.0], [-40.0]])
    grad, loss = np.zeros((1, 2, 2)), np.zeros((1, 2))
    codes = np.array([0.0, 1.0, 1.0, 0.0])
    binomial_loss_grad(X, codes, np.ones((1, 2)), np.ones((1, 1)), np.zeros(1), grad, loss)
    assert np.isfinite(loss).all() and np.isfinite(grad).all()
    assert_allclose(loss.sum(), 2e4, rtol=1e-12)


# -- SGD -----------------------------------------------------------------------------

_CLASSIFICATION = [K.HINGE, K.LOG_LOSS, K.MODIFIED_HUBER, K.SQUARED_HINGE]
_REGRESSION = [K.SQUARED_ERROR, K.HUBER, K.EPSILON_INSENSITIVE, K.SQUARED_EPSILON_INSENSITIVE]


def _run_kernel(X, y, pos_label, params, coef, intercept, t, class_weight=None):
    k, d = coef.shape
    W, AW, Q = coef.copy(), np.zeros((k, d)), np.zeros((k, d))
    S = np.zeros((k, K.N_SCALARS))
    S[:, K.INTERCEPT] = intercept
    S[:, [K.WSCALE, K.AVG_B, K.ACTIVE]] = 1.0
    S[:, K.SQ_NORM] = (W * W).sum(axis=1)
    S[:, K.L1_NORM] = np.abs(W).sum(axis=1)
    S[:, K.T] = t
    S[:, K.ETA] = params["eta0"]
    pos_w, neg_w = class_weight if class_weight is not None else (np.ones(k), np.ones(k))
    S[:, K.POS_WEIGHT], S[:, K.NEG_WEIGHT] = pos_w, neg_w
    f = np.array(
        [
            params[n]
            for n in (
                "alpha",
                "l1_ratio",
                "eta0",
                "power_t",
                "optimal_init",
                "intercept_decay",
                "loss_param",
                "neg_label",
            )
        ]
    )
    ip = np.array(
        [
            params[n]
            for n in ("kind", "penalty", "learning_rate", "fit_intercept", "average", "regression")
        ],
        dtype=np.int64,
    )
    K.sgd_block(X, y, np.ones(len(y)), pos_label, W, AW, Q, S, f, ip)
    for j in range(k):
        K.reset_wscale(W, AW, S, j, params["average"])
    return W, S[:, K.INTERCEPT], AW, S[:, K.AVG_INTERCEPT]


@st.composite
def sgd_params(draw: st.DrawFn, regression: bool) -> dict:
    kind = draw(st.sampled_from(_REGRESSION if regression else _CLASSIFICATION))
    lr = draw(st.sampled_from([K.CONSTANT, K.OPTIMAL, K.INVSCALING]))
    penalty = draw(st.sampled_from([K.NO_PENALTY, K.L2, K.L1, K.ELASTICNET]))
    alpha = draw(st.sampled_from([1e-4, 1e-2]))
    l1_ratio = {K.L2: 0.0, K.L1: 1.0}.get(penalty, 0.3)
    typw = np.sqrt(1.0 / np.sqrt(alpha))
    return {
        "kind": kind,
        "learning_rate": lr,
        "penalty": penalty,
        "alpha": alpha,
        "l1_ratio": l1_ratio,
        "eta0": draw(st.sampled_from([0.001, 0.05])),
        "power_t": 0.5,
        "optimal_init": 1.0 / (typw / max(1.0, K.dloss(kind, 0.1, 1.0, -typw)) * alpha),
        "intercept_decay": 1.0,
        "loss_param": 1.0 if kind == K.HINGE else 0.1,
        "neg_label": 0.0 if kind == K.LOG_LOSS else -1.0,
        "fit_intercept": int(draw(st.booleans())),
        # Bottou's lazy average is exact only while L1 truncation leaves w alone.
        "average": draw(st.sampled_from([0, 1, 7])) if penalty in (K.NO_PENALTY, K.L2) else 0,
        "regression": int(regression),
    }


@settings(max_examples=60, deadline=None)
@given(
    data=classification_data(max_rows=80),
    params=sgd_params(regression=False),
    t=st.sampled_from([1.0, 250.0]),
)
def test_sgd_kernel_matches_reference_classification(data, params, t):
    X, y = data
    k = int(y.max()) + 1
    pos_label = np.array([1.0]) if k == 2 else np.arange(float(k))
    rows = len(pos_label)
    rng = np.random.default_rng(0)
    coef, intercept = rng.normal(scale=0.1, size=(rows, X.shape[1])), np.zeros(rows)
    cw = (rng.uniform(0.5, 2, rows), rng.uniform(0.5, 2, rows))
    got = _run_kernel(X, y.astype(float), pos_label, params, coef, intercept, t, cw)
    ref = K.sgd_block_reference(
        X,
        y.astype(float),
        np.ones(len(y)),
        pos_label,
        coef,
        intercept,
        t,
        params=params,
        class_weight=cw,
    )
    for a, b in zip(got, ref, strict=True):
        assert_allclose(a, b, rtol=1e-8, atol=1e-10)


@settings(max_examples=40, deadline=None)
@given(data=classification_data(max_rows=80), params=sgd_params(regression=True))
def test_sgd_kernel_matches_reference_regression(data, params):
    X, _ = data
    y = X @ np.linspace(1.0, -1.0, X.shape[1]) + 0.3
    got = _run_kernel(X, y, np.zeros(1), params, np.zeros((1, X.shape[1])), np.zeros(1), 1.0)
    ref = K.sgd_block_reference(
        X,
        y,
        np.ones(len(y)),
        np.zeros(1),
        np.zeros((1, X.shape[1])),
        np.zeros(1),
        1.0,
        params=params,
    )
    for a, b in zip(got, ref, strict=True):
        assert_allclose(a, b, rtol=1e-8, atol=1e-10)


@pytest.mark.parametrize("kind", _CLASSIFICATION + _REGRESSION)
def test_dloss_is_the_derivative_of_loss(kind):
    h = 1e-6
    for y in (-1.0, 0.0, 1.0, 2.5):
        for p in np.linspace(-3.1, 3.3, 23):
            numeric = (K.loss(kind, 0.3, y, p + h) - K.loss(kind, 0.3, y, p - h)) / (2 * h)
            assert_allclose(K.dloss(kind, 0.3, y, p), numeric, rtol=1e-5, atol=1e-5)


@settings(max_examples=30, deadline=None)
@given(n=st.integers(0, 50), d=st.integers(1, 5), seed=st.integers(0, 2**63 - 1))
def test_row_hash_matches_reference(n, d, seed):
    X = np.random.default_rng(seed % 2**32).normal(size=(n, d))
    bits = X.view(np.uint64)
    got = K.row_hash_unit(bits, np.uint64(seed))
    assert_array_equal(got, K.row_hash_unit_reference(bits, seed))
    assert ((got >= 0) & (got < 1)).all()


def test_row_hash_is_uniform():
    X = np.arange(20000, dtype=np.float64).reshape(-1, 2)
    u = K.row_hash_unit(X.view(np.uint64), np.uint64(3))
    assert abs(np.mean(u < 0.1) - 0.1) < 0.02


@settings(max_examples=30, deadline=None)
@given(size=st.integers(1, 10), n=st.integers(0, 30), seed=st.integers(0, 2**32 - 1))
def test_shuffle_swap_matches_reference(size, n, seed):
    rng = np.random.default_rng(seed)
    buffer, incoming, draws = rng.normal(size=(size, 3)), rng.normal(size=(n, 3)), rng.random(n)
    ref_buffer = buffer.copy()
    out = np.empty_like(incoming)
    K.shuffle_swap(buffer, incoming, draws, out)
    assert_array_equal(out, K.shuffle_swap_reference(ref_buffer, incoming, draws))
    assert_array_equal(buffer, ref_buffer)
