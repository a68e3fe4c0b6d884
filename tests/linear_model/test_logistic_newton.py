"""LogisticRegression(solver="newton-cholesky") against scikit-learn, on every input kind."""

from __future__ import annotations

import logging
import os
import pickle
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import polars as pl
import pytest
import scipy.linalg
import sklearn.linear_model as skl
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose, assert_array_equal
from sklearn._loss.loss import HalfBinomialLoss, HalfMultinomialLoss
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model._linear_loss import LinearModelLoss

import scaleml as sm
import scaleml.linear_model._logistic as logistic_module
from scaleml._kernels._logistic import (
    binomial_hessian_weights_reference,
    binomial_loss_grad_hess,
    binomial_loss_grad_reference,
    multinomial_loss_grad_proba,
    multinomial_loss_grad_reference,
)
from scaleml.linear_model._newton_cholesky import (
    add_binomial_hessian,
    add_multinomial_hessian,
    assemble_hessian,
)
from tests.conftest import to_numpy
from tests.strategies import classification_data

NEWTON = {"solver": "newton-cholesky", "tol": 1e-10}
LBFGS = {"tol": 1e-10, "max_iter": 1000}


def _frame(
    n_classes: int = 2, n: int = 300, seed: int = 0, labels: list | None = None
) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    X = rng.normal([0.0, 3.0, -1.0], [1.0, 2.0, 0.5], size=(n, 3))
    score = X @ np.array([1.0, -0.5, 2.0]) + rng.normal(size=n)
    codes = np.searchsorted(np.quantile(score, np.linspace(0, 1, n_classes + 1)[1:-1]), score)
    y = np.asarray(labels)[codes] if labels is not None else codes
    return pl.DataFrame(X, schema=["a", "b", "c"]).with_columns(label=pl.Series(y))


def _xy(df: pl.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    return df.drop("label").to_numpy(), df["label"].to_numpy()


def _assert_same_model(ours, ref, rtol: float) -> None:
    assert_array_equal(ours.classes_, ref.classes_)
    assert ours.coef_.shape == ref.coef_.shape
    assert_allclose(ours.coef_, ref.coef_, rtol=rtol, atol=1e-9)
    assert_allclose(ours.intercept_, ref.intercept_, rtol=rtol, atol=1e-9)


def _assert_matches_sklearn(ours, X, y, **params) -> None:
    """Equal to scikit-learn's newton-cholesky (same iterations) and to its lbfgs."""
    newton = skl.LogisticRegression(**NEWTON, **params).fit(X, y)
    _assert_same_model(ours, newton, rtol=1e-6)
    assert_array_equal(ours.n_iter_, newton.n_iter_)
    assert ours.n_iter_.dtype == newton.n_iter_.dtype
    _assert_same_model(ours, skl.LogisticRegression(**LBFGS, **params).fit(X, y), rtol=1e-4)


@pytest.mark.parametrize("n_classes", [2, 3])
def test_matches_sklearn_on_every_input_kind(constructor, n_classes):
    df = _frame(n_classes)
    X, y = _xy(df)
    if constructor.lazy:
        ours = sm.LogisticRegression(**NEWTON).fit(constructor(df), y="label")
    else:
        ours = sm.LogisticRegression(**NEWTON).fit(constructor(df.drop("label")), y)
    _assert_matches_sklearn(ours, X, y)
    # One pass per Newton iteration, plus the pass at the starting point.
    assert ours.n_passes_ == ours.n_iter_[0] + 1
    features = constructor(df.drop("label"))
    pred = ours.predict(features)
    assert isinstance(pred, pl.LazyFrame) == constructor.lazy
    ref = skl.LogisticRegression(**NEWTON).fit(X, y)
    assert_array_equal(to_numpy(pred).ravel(), ref.predict(X))
    assert_allclose(to_numpy(ours.predict_proba(features)), ref.predict_proba(X), rtol=1e-6)


@pytest.mark.parametrize(
    "params",
    [
        {"class_weight": "balanced"},
        {"class_weight": {0: 3.0, 1: 0.5}},
        {"fit_intercept": False},
        {"C": 0.01},
        {"C": np.inf},
        {"C": np.inf, "fit_intercept": False},
    ],
    ids=["balanced", "dict", "no-intercept", "strong-C", "no-penalty", "no-penalty-no-intercept"],
)
@pytest.mark.parametrize("n_classes", [2, 4])
def test_options_match_sklearn(params, n_classes):
    X, y = _xy(_frame(n_classes, seed=1))
    ours = sm.LogisticRegression(**NEWTON, **params).fit(X, y)
    _assert_matches_sklearn(ours, X, y, **params)


def test_default_tol_gives_sklearn_iterations_in_few_passes():
    X, y = _xy(_frame(3, n=400, seed=2))
    ours = sm.LogisticRegression(solver="newton-cholesky").fit(X, y)
    ref = skl.LogisticRegression(solver="newton-cholesky").fit(X, y)
    _assert_same_model(ours, ref, rtol=1e-6)
    assert ours.n_iter_ == ref.n_iter_
    lbfgs = sm.LogisticRegression().fit(X, y)
    assert ours.n_passes_ < lbfgs.n_passes_ / 2


def test_string_labels_from_a_label_column(tmp_path):
    df = _frame(3, labels=["cat", "dog", "emu"])
    path = tmp_path / "d.parquet"
    df.write_parquet(path)
    ours = sm.LogisticRegression(**NEWTON).fit(str(path), y="label")
    X, y = _xy(df)
    _assert_matches_sklearn(ours, X, y)
    pred = ours.predict(str(path)).collect()["prediction"]
    assert pred.dtype == pl.String
    assert_array_equal(pred.to_numpy(), skl.LogisticRegression(**NEWTON).fit(X, y).predict(X))


def test_warm_start_continues_from_the_previous_solution():
    X, y = _xy(_frame(3))
    est = sm.LogisticRegression(warm_start=True, **NEWTON).fit(X, y)
    first = est.coef_.copy()
    est.fit(X, y)
    ref = skl.LogisticRegression(warm_start=True, **NEWTON).fit(X, y).fit(X, y)
    assert est.n_iter_ == ref.n_iter_ and est.n_iter_[0] <= 2
    assert_allclose(est.coef_, first, rtol=1e-8)


def test_streaming_path_with_threads_matches_sklearn(monkeypatch, tmp_path):
    monkeypatch.setattr(logistic_module, "CACHE_BYTES", 0)
    df = _frame(3, n=500)
    for i in range(4):
        df.slice(i * 125, 125).write_parquet(tmp_path / f"p{i}.parquet")
    ours = sm.LogisticRegression(**NEWTON, n_jobs=2, batch_rows=40).fit(
        str(tmp_path / "*.parquet"), y="label"
    )
    _assert_matches_sklearn(ours, *_xy(df))


@settings(max_examples=8, deadline=None)
@given(
    data=classification_data(max_rows=120),
    batch_rows=st.integers(5, 60),
    n_jobs=st.sampled_from([None, 2, 3]),
    C=st.sampled_from([1.0, 50.0]),
)
def test_any_chunking_or_parallelism_gives_the_same_coefficients(data, batch_rows, n_jobs, C):
    X, y = data
    params = {"C": C, "max_iter": 50, **{k: v for k, v in NEWTON.items() if k != "tol"}}
    whole = sm.LogisticRegression(tol=1e-8, **params).fit(X, y)
    with pytest.MonkeyPatch.context() as mp:
        # Force the streaming path (small data is otherwise read once and kept).
        mp.setattr(logistic_module, "CACHE_BYTES", 0)
        chunked = sm.LogisticRegression(tol=1e-8, batch_rows=batch_rows, n_jobs=n_jobs, **params)
        chunked.fit(pl.DataFrame(X).with_columns(y=pl.Series(y)).lazy(), y="y")
    assert_allclose(chunked.coef_, whole.coef_, rtol=1e-10, atol=1e-12)
    assert_allclose(chunked.intercept_, whole.intercept_, rtol=1e-10, atol=1e-12)
    assert chunked.n_iter_ == whole.n_iter_


# -- the pass: kernels and Hessian against references and scikit-learn ----------------------


def _our_gradient_hessian(X, codes, cw, coef, intercept, l2, fit_intercept):
    d = X.shape[1]
    loss, sw = np.zeros(2), cw[codes.astype(np.intp)]
    if coef.ndim == 1:
        grad, hess, nonpos = np.zeros((2, d + 1)), np.zeros((d + 1, d + 1)), np.zeros(2)
        weights = np.empty(len(X))
        binomial_loss_grad_hess(X, codes, cw, coef, intercept, grad, loss, weights, nonpos)
        assert_allclose(
            weights, binomial_hessian_weights_reference(X, codes, cw, coef, intercept), rtol=1e-12
        )
        add_binomial_hessian(hess, X, weights)
        ref_loss, ref_grad = binomial_loss_grad_reference(X, codes, cw, coef, intercept)
    else:
        k = len(coef)
        grad, hess = np.zeros((2, k, d + 1)), np.zeros((k, k, d + 1, d + 1))
        proba = np.empty((len(X), k), order="F")
        multinomial_loss_grad_proba(X, codes, cw, coef, intercept, grad, loss, proba)
        add_multinomial_hessian(hess, X, proba, sw)
        ref_loss, ref_grad = multinomial_loss_grad_reference(X, codes, cw, coef, intercept)
    assert loss[0] + loss[1] == pytest.approx(ref_loss, rel=1e-12)
    assert_allclose(grad[0] + grad[1], ref_grad, rtol=1e-9, atol=1e-12)
    return assemble_hessian(hess, sw.sum(), l2, fit_intercept)


@settings(max_examples=15, deadline=None)
@given(
    data=classification_data(max_rows=80),
    fit_intercept=st.booleans(),
    l2=st.sampled_from([0.0, 0.3]),
    seed=st.integers(0, 2**16),
)
def test_kernels_and_hessian_equal_sklearn_gradient_hessian(data, fit_intercept, l2, seed):
    X, y = data
    rng = np.random.default_rng(seed)
    k, d = int(y.max()) + 1, X.shape[1]
    cw = rng.uniform(0.5, 2.0, size=k)
    coef = rng.normal(scale=2.0, size=d if k == 2 else (k, d))
    intercept = rng.normal() if k == 2 else rng.normal(size=k)
    intercept *= fit_intercept
    codes = y.astype(np.float64)
    hess = _our_gradient_hessian(X, codes, cw, coef, intercept, l2, fit_intercept)
    base = HalfBinomialLoss() if k == 2 else HalfMultinomialLoss(n_classes=k)
    if k == 2:
        flat = np.r_[coef, intercept] if fit_intercept else coef
    else:
        W = np.c_[coef, intercept] if fit_intercept else coef
        flat = W.ravel(order="F")
    _, ref, _ = LinearModelLoss(base, fit_intercept).gradient_hessian(
        flat, X, codes, sample_weight=cw[y], l2_reg_strength=l2
    )
    assert_allclose(hess, ref, rtol=1e-9, atol=1e-12)


# -- convergence, fallback, progress --------------------------------------------------------


def test_convergence_warning_and_n_iter_at_max_iter_as_sklearn():
    X, y = _xy(_frame(3))
    with pytest.warns(ConvergenceWarning, match=r"Newton solver did not converge after 1 iter"):
        ours = sm.LogisticRegression(solver="newton-cholesky", max_iter=1).fit(X, y)
    with pytest.warns(ConvergenceWarning):
        ref = skl.LogisticRegression(solver="newton-cholesky", max_iter=1).fit(X, y)
    _assert_same_model(ours, ref, rtol=1e-6)
    assert ours.n_iter_ == ref.n_iter_ == 1 and ours.n_passes_ == 2


def test_max_iter_zero_reads_nothing():
    X, y = _xy(_frame(2))
    with pytest.warns(ConvergenceWarning, match=r"after 0 iterations"):
        est = sm.LogisticRegression(solver="newton-cholesky", max_iter=0).fit(X, y)
    assert est.n_passes_ == 0 and est.n_iter_ == 0 and not est.coef_.any()


def test_singular_hessian_falls_back_to_lbfgs_as_sklearn():
    X, y = _xy(_frame(2))
    X = np.c_[X, X[:, 0]]  # a duplicated column: without penalty the Hessian is singular
    with pytest.warns(scipy.linalg.LinAlgWarning, match="singular or very ill-conditioned"):
        ours = sm.LogisticRegression(solver="newton-cholesky", C=np.inf).fit(X, y)
    with pytest.warns(scipy.linalg.LinAlgWarning):
        ref = skl.LogisticRegression(solver="newton-cholesky", C=np.inf).fit(X, y)
    _assert_same_model(ours, ref, rtol=1e-6)
    assert ours.n_iter_ == ref.n_iter_


def test_verbose_shows_progress_and_logs_the_loss_of_every_pass(capsys, caplog):
    with caplog.at_level(logging.INFO, logger="scaleml"):
        est = sm.LogisticRegression(solver="newton-cholesky", verbose=1).fit(
            _frame(2).lazy(), y="label"
        )
    err = capsys.readouterr().err
    assert "LogisticRegression: pass 1/100" in err and "rows/s" in err and "loss=" in err
    assert len([r for r in caplog.records if "loss=" in r.getMessage()]) == est.n_passes_


# -- checkpoint and resume ------------------------------------------------------------------

PARAMS = {"solver": "newton-cholesky", "tol": 1e-12, "batch_rows": 250}

# The child slows every block down (same arithmetic) so that it is still fitting when
# the test kills it, and streams the file on every pass as a large fit would.
CHILD = textwrap.dedent(
    """
    import sys, time
    import scaleml.linear_model._logistic as m

    m.CACHE_BYTES = 0
    update = m.LogisticRegression._update_state

    def slow_update(self, state, chunk):
        time.sleep(0.04)
        return update(self, state, chunk)

    m.LogisticRegression._update_state = slow_update
    m.LogisticRegression(checkpoint=sys.argv[2], **{params}).fit(sys.argv[1], y="label")
    """
)


def _write_data(tmp_path, n: int = 2000) -> str:
    path = tmp_path / "data.parquet"
    _frame(3, n=n, seed=3).write_parquet(path)
    return str(path)


def _passes_in(path: str) -> int:
    try:
        with open(path, "rb") as f:
            return int(pickle.load(f)["position"])
    except (OSError, EOFError, pickle.UnpicklingError):
        return 0


def test_resumes_after_sigkill_with_the_same_coefficients(tmp_path, monkeypatch):
    data = _write_data(tmp_path)
    ckpt = str(tmp_path / "fit.ckpt")
    command = [sys.executable, "-c", CHILD.format(params=repr(PARAMS)), data, ckpt]
    with subprocess.Popen(command, stderr=subprocess.PIPE) as child:
        try:
            deadline = time.monotonic() + 60
            while _passes_in(ckpt) < 2:
                assert child.poll() is None, child.stderr.read().decode()
                assert time.monotonic() < deadline, "the child never wrote 2 passes"
                time.sleep(0.02)
            os.kill(child.pid, signal.SIGKILL)
        finally:
            child.wait()
    assert child.returncode == -signal.SIGKILL
    done_before_crash = _passes_in(ckpt)

    monkeypatch.setattr(logistic_module, "CACHE_BYTES", 0)
    uninterrupted = sm.LogisticRegression(**PARAMS).fit(data, y="label")
    assert uninterrupted.n_passes_ > done_before_crash
    resumed = sm.LogisticRegression(checkpoint=ckpt, **PARAMS).fit(data, y="label")
    assert_array_equal(resumed.coef_, uninterrupted.coef_)
    assert_array_equal(resumed.intercept_, uninterrupted.intercept_)
    assert resumed.n_iter_ == uninterrupted.n_iter_
    assert resumed.n_passes_ == uninterrupted.n_passes_ - done_before_crash
    assert not os.path.exists(ckpt)


class _Crash(Exception):
    pass


def test_refuses_a_checkpoint_of_another_fit(tmp_path):
    data = _write_data(tmp_path, n=200)
    ckpt = tmp_path / "fit.ckpt"
    with pytest.MonkeyPatch.context() as mp:
        evaluate = logistic_module._Passes.evaluate_newton
        calls = {"n": 0}

        def crash_on_second(self, x):
            calls["n"] += 1
            if calls["n"] > 1:
                raise _Crash
            return evaluate(self, x)

        mp.setattr(logistic_module._Passes, "evaluate_newton", crash_on_second)
        with pytest.raises(_Crash):
            sm.LogisticRegression(solver="newton-cholesky", checkpoint=ckpt).fit(data, y="label")
    assert ckpt.exists()
    with pytest.raises(ValueError, match="was written by a different fit"):
        sm.LogisticRegression(solver="newton-cholesky", C=2.0, checkpoint=ckpt).fit(data, y="label")
    with pytest.raises(ValueError, match="was written by a different fit"):
        sm.LogisticRegression(checkpoint=ckpt).fit(data, y="label")  # lbfgs


# -- bad input --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"l1_ratio": 0.5}, "Solver newton-cholesky supports only 'l2' or None penalties"),
        ({"dual": True}, "Solver newton-cholesky supports only dual=False"),
        ({"solver": "sag"}, "supports solver='newton-cholesky'.*got solver='sag'"),
        ({"max_iter": -1}, "'max_iter' parameter of LogisticRegression must be"),
    ],
)
def test_unsupported_options_fail_clearly(params, match):
    with pytest.raises(ValueError, match=match):
        sm.LogisticRegression(**{"solver": "newton-cholesky", **params}).fit(
            _frame(2).lazy(), y="label"
        )


def test_nan_in_a_feature_names_the_column():
    df = _frame(2).with_columns(
        b=pl.when(pl.int_range(pl.len()) == 5).then(float("nan")).otherwise("b")
    )
    with pytest.raises(ValueError, match=r"NaN or null in column\(s\) \['b'\]"):
        sm.LogisticRegression(solver="newton-cholesky").fit(df.lazy(), y="label")


def test_one_class_is_refused():
    df = _frame(2).with_columns(label=pl.lit(1))
    with pytest.raises(ValueError, match=r"at least 2 classes in the data"):
        sm.LogisticRegression(solver="newton-cholesky").fit(df.lazy(), y="label")


def test_unwritable_checkpoint_fails_before_reading_data(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        sm.LogisticRegression(
            solver="newton-cholesky", checkpoint=tmp_path / "missing" / "fit.ckpt"
        ).fit(str(tmp_path / "no-such-file.parquet"), y="label")
