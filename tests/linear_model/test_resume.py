"""Resuming a crashed fit from its checkpoint gives the uninterrupted fit's model."""

from __future__ import annotations

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
from numpy.testing import assert_allclose, assert_array_equal

import scaleml as sm
import scaleml.linear_model._logistic as logistic_module
import scaleml.linear_model._sgd as sgd_module

LR_PARAMS = {"tol": 1e-7, "max_iter": 300, "batch_rows": 250}

# The child slows every block down (same arithmetic) so that it is still fitting when
# the test kills it, and streams the file on every pass as a large fit would.
CHILD = textwrap.dedent(
    """
    import sys, time
    import scaleml.linear_model._logistic as m

    m.CACHE_BYTES = 0
    update = m.LogisticRegression._update_state

    def slow_update(self, state, chunk):
        time.sleep(0.02)
        return update(self, state, chunk)

    m.LogisticRegression._update_state = slow_update
    m.LogisticRegression(checkpoint=sys.argv[2], **{params}).fit(sys.argv[1], y="label")
    """
)


def _write_data(tmp_path, n: int = 2000, seed: int = 0) -> str:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 4)) * [1.0, 2.0, 0.5, 1.5]
    score = X @ np.array([1.0, -0.4, 2.0, 0.05]) + rng.normal(size=n)
    label = np.digitize(score, np.quantile(score, [0.3, 0.7]))
    path = tmp_path / "data.parquet"
    pl.DataFrame(X, schema=list("abcd")).with_columns(label=pl.Series(label)).write_parquet(path)
    return str(path)


def _evaluations_in(path: str) -> int:
    try:
        with open(path, "rb") as f:
            return len(pickle.load(f)["state"])
    except (OSError, EOFError, pickle.UnpicklingError):
        return 0


def test_logistic_resumes_after_sigkill_with_the_same_coefficients(tmp_path, monkeypatch):
    data = _write_data(tmp_path)
    ckpt = str(tmp_path / "fit.ckpt")
    command = [sys.executable, "-c", CHILD.format(params=repr(LR_PARAMS)), data, ckpt]
    with subprocess.Popen(command, stderr=subprocess.PIPE) as child:
        try:
            deadline = time.monotonic() + 60
            while _evaluations_in(ckpt) < 2:
                assert child.poll() is None, child.stderr.read().decode()
                assert time.monotonic() < deadline, "the child never wrote 2 evaluations"
                time.sleep(0.05)
            os.kill(child.pid, signal.SIGKILL)
        finally:
            child.wait()
    assert child.returncode == -signal.SIGKILL
    done_before_crash = _evaluations_in(ckpt)

    monkeypatch.setattr(logistic_module, "CACHE_BYTES", 0)
    uninterrupted = sm.LogisticRegression(**LR_PARAMS).fit(data, y="label")
    assert uninterrupted.n_passes_ > done_before_crash
    resumed = sm.LogisticRegression(checkpoint=ckpt, **LR_PARAMS).fit(data, y="label")
    assert_allclose(resumed.coef_, uninterrupted.coef_, rtol=1e-12)
    assert_allclose(resumed.intercept_, uninterrupted.intercept_, rtol=1e-12)
    assert resumed.n_iter_ == uninterrupted.n_iter_
    assert resumed.n_passes_ <= uninterrupted.n_passes_ - done_before_crash
    assert not os.path.exists(ckpt)


def test_logistic_refuses_a_checkpoint_of_another_fit(tmp_path):
    data = _write_data(tmp_path, n=200)
    ckpt = tmp_path / "fit.ckpt"
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(logistic_module._Objective, "minimize", lambda self, x0: self(x0) and 1 / 0)
        with pytest.raises(ZeroDivisionError):
            sm.LogisticRegression(C=0.5, checkpoint=ckpt).fit(data, y="label")
    assert ckpt.exists()
    with pytest.raises(ValueError, match="was written by a different fit"):
        sm.LogisticRegression(C=2.0, checkpoint=ckpt).fit(data, y="label")


class _Crash(Exception):
    pass


def _crash_after(monkeypatch, n_blocks: int) -> None:
    train = sgd_module._CallContext._train
    calls = {"n": 0}

    def crashing(self, rows):
        calls["n"] += 1
        if calls["n"] > n_blocks:
            raise _Crash
        return train(self, rows)

    monkeypatch.setattr(sgd_module._CallContext, "_train", crashing)


def _count_rows(monkeypatch) -> dict[str, int]:
    train = sgd_module._CallContext._train
    seen = {"rows": 0}

    def counting(self, rows):
        seen["rows"] += len(rows)
        return train(self, rows)

    monkeypatch.setattr(sgd_module._CallContext, "_train", counting)
    return seen


@pytest.mark.parametrize(
    ("Est", "params"),
    [
        (sm.SGDClassifier, {"shuffle_buffer_rows": 45}),
        (sm.SGDClassifier, {"loss": "log_loss", "early_stopping": True, "n_iter_no_change": 50}),
        (sm.SGDRegressor, {"shuffle": False, "average": 30, "penalty": "elasticnet"}),
    ],
    ids=["shuffle-buffer", "early-stopping", "regressor-average"],
)
def test_sgd_resumes_mid_epoch_with_the_same_coefficients(tmp_path, monkeypatch, Est, params):
    rng = np.random.default_rng(1)
    X = rng.normal(size=(300, 3))
    y = (X @ [1.0, -1.0, 0.5] > 0).astype(int) if Est is sm.SGDClassifier else X @ [1.0, -1.0, 0.5]
    lf = pl.DataFrame(X, schema=list("abc")).with_columns(label=pl.Series(y)).lazy()
    params = {"random_state": 0, "max_iter": 6, "tol": None, "batch_rows": 40, **params}
    ckpt = tmp_path / "sgd.ckpt"
    monkeypatch.setattr(sgd_module, "CACHE_BYTES", 0)

    with monkeypatch.context() as mp:
        seen = _count_rows(mp)
        uninterrupted = Est(**params).fit(lf, y="label")
        rows_uninterrupted = seen["rows"]
    with monkeypatch.context() as mp:
        _crash_after(mp, 43)  # mid-epoch, in the third epoch or later
        with pytest.raises(_Crash):
            Est(checkpoint=ckpt, checkpoint_every=1, **params).fit(lf, y="label")
    with open(ckpt, "rb") as f:
        epoch, rows_done = pickle.load(f)["position"]
    assert epoch >= 2 and rows_done > 0
    with monkeypatch.context() as mp:
        seen = _count_rows(mp)
        resumed = Est(checkpoint=ckpt, checkpoint_every=1, **params).fit(lf, y="label")
    assert_array_equal(resumed.coef_, uninterrupted.coef_)
    assert_array_equal(resumed.intercept_, uninterrupted.intercept_)
    assert resumed.t_ == uninterrupted.t_ and resumed.n_iter_ == uninterrupted.n_iter_
    assert seen["rows"] < rows_uninterrupted * 0.75  # at least two epochs were not redone
    assert not ckpt.exists()


def test_sgd_unwritable_checkpoint_fails_before_any_work(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        sm.SGDRegressor(checkpoint=tmp_path / "nope" / "x.ckpt").fit(
            str(tmp_path / "missing.parquet"), y="y"
        )


def test_a_checkpoint_of_other_in_memory_data_of_the_same_shape_is_refused(tmp_path):
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(60, 2)), np.arange(60) % 2
    ckpt = tmp_path / "fit.ckpt"
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(logistic_module._Objective, "minimize", lambda self, x0: self(x0) and 1 / 0)
        with pytest.raises(ZeroDivisionError):
            sm.LogisticRegression(checkpoint=ckpt).fit(X, y)
    with pytest.raises(ValueError, match="was written by a different fit"):
        sm.LogisticRegression(checkpoint=ckpt).fit(X + 1.0, y)


def test_checkpoint_key_tells_in_memory_datasets_apart():
    # Two in-memory frames with the same columns have the same query plan.
    import polars as pl

    import scaleml as sm
    from scaleml._checkpoint import fingerprint

    est = sm.KMeans(n_clusters=2)
    a = pl.LazyFrame({"x": [1.0, 2.0, 3.0]})
    b = pl.LazyFrame({"x": [1.0, 2.0, 4.0]})
    assert fingerprint(est, a) != fingerprint(est, b)
    assert fingerprint(est, a) == fingerprint(est, pl.LazyFrame({"x": [1.0, 2.0, 3.0]}))
