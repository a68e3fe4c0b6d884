"""Ridge and RidgeCV: exact one-pass ridge and its single-pass cross-validation."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
import sklearn.linear_model as skl
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose
from sklearn.metrics import r2_score
from sklearn.model_selection import PredefinedSplit, cross_val_predict

import scaleml as sm
from scaleml.model_selection import HashKFold
from tests.conftest import to_numpy
from tests.strategies import regression_problems, splits

ALPHAS = (0.01, 0.3, 3.0, 30.0, 300.0)


def _frame(n: int = 80, seed: int = 0, n_targets: int = 1) -> tuple[pl.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 4)) * [1.0, 2.0, 0.5, 3.0] + [0.0, 5.0, -3.0, 1.0]
    W = rng.normal(size=(4, n_targets))
    Y = X @ W + 0.7 + rng.normal(scale=2.0, size=(n, n_targets))
    return pl.DataFrame(X, schema=["a", "b", "c", "d"]), (Y[:, 0] if n_targets == 1 else Y)


def _fit_args(constructor, df: pl.DataFrame, y: np.ndarray):
    """`X, y` for a fit: the label as a column of X where X has columns."""
    if constructor.kind == "numpy" or y.ndim == 2:
        return constructor(df), y
    return constructor(df.with_columns(label=pl.Series(y))), "label"


def _sk_folds(n: int, k: int) -> PredefinedSplit:
    """The folds RidgeCV(cv=k) uses on `n` rows, for scikit-learn's side."""
    test_fold = np.empty(n, dtype=np.int64)
    for i, (_, test) in enumerate(HashKFold(k).split(np.zeros((n, 1)))):
        test_fold[test] = i
    return PredefinedSplit(test_fold)


# -- Ridge --------------------------------------------------------------------------------
def test_ridge_matches_sklearn_on_every_input_kind(constructor):
    df, y = _frame()
    ours = sm.Ridge(alpha=2.5).fit(*_fit_args(constructor, df, y))
    ref = skl.Ridge(alpha=2.5).fit(df.to_numpy(), y)
    assert_allclose(ours.coef_, ref.coef_, rtol=1e-10)
    assert_allclose(ours.intercept_, ref.intercept_, rtol=1e-10)
    pred = ours.predict(constructor(df))
    assert isinstance(pred, pl.LazyFrame) == constructor.lazy
    assert_allclose(to_numpy(pred).ravel(), ref.predict(df.to_numpy()), rtol=1e-10)
    X, target = _fit_args(constructor, df, y)
    assert_allclose(ours.score(X, target), ref.score(df.to_numpy(), y), rtol=1e-10)
    assert ours.n_iter_ == 1 and ours.solver_ == "cholesky"


@pytest.mark.parametrize("alpha", [1.0, np.array([0.5, 50.0])])
@pytest.mark.parametrize("fit_intercept", [True, False])
def test_ridge_multi_target_alpha_per_target(constructor, alpha, fit_intercept):
    df, Y = _frame(n_targets=2)
    ours = sm.Ridge(alpha=alpha, fit_intercept=fit_intercept).fit(constructor(df), Y)
    ref = skl.Ridge(alpha=alpha, fit_intercept=fit_intercept).fit(df.to_numpy(), Y)
    assert ours.coef_.shape == (2, 4)
    assert_allclose(ours.coef_, ref.coef_, rtol=1e-10)
    assert_allclose(ours.intercept_, ref.intercept_, rtol=1e-10, atol=1e-12)
    pred = ours.predict(constructor(df))
    assert_allclose(to_numpy(pred), ref.predict(df.to_numpy()), rtol=1e-10)


def test_ridge_sample_weight(constructor):
    df, y = _frame()
    sw = np.random.default_rng(2).uniform(0, 4, size=len(y))
    ours = sm.Ridge(alpha=3.0).fit(constructor(df), y, sample_weight=sw)
    ref = skl.Ridge(alpha=3.0).fit(df.to_numpy(), y, sample_weight=sw)
    assert_allclose(ours.coef_, ref.coef_, rtol=1e-10)
    assert_allclose(ours.intercept_, ref.intercept_, rtol=1e-10)


def test_ridge_solver_is_accepted_and_solution_is_exact():
    df, y = _frame()
    X = df.to_numpy()
    exact = skl.Ridge(alpha=1.0, solver="cholesky").fit(X, y)
    for solver in ["auto", "svd", "lsqr", "sag"]:
        ours = sm.Ridge(alpha=1.0, solver=solver, random_state=0).fit(X, y)
        assert_allclose(ours.coef_, exact.coef_, rtol=1e-10)


def test_ridge_alpha_zero_is_least_squares():
    df, y = _frame()
    ours = sm.Ridge(alpha=0.0).fit(df, y)
    assert_allclose(ours.coef_, skl.LinearRegression().fit(df.to_numpy(), y).coef_, rtol=1e-10)


def test_ridge_positive_is_the_exact_constrained_optimum():
    df, Y = _frame(n_targets=2, seed=4)
    Y = Y * [1.0, -1.0]
    X = df.to_numpy()
    ours = sm.Ridge(alpha=5.0, positive=True).fit(df.lazy(), Y)
    ref = skl.Ridge(alpha=5.0, positive=True).fit(X, Y)
    assert ours.solver_ == "nnls"
    assert (ours.coef_ >= 0).all()
    assert_allclose(ours.coef_, ref.coef_, atol=1e-3)

    def objective(coef: np.ndarray, intercept: np.ndarray) -> np.ndarray:
        return ((Y - X @ coef.T - intercept) ** 2).sum(axis=0) + 5.0 * (coef**2).sum(axis=1)

    # L-BFGS-B is approximate; the exact solution is never worse.
    assert (
        objective(ours.coef_, ours.intercept_) <= objective(ref.coef_, ref.intercept_) + 1e-9
    ).all()


def test_ridge_partial_fit_equals_fit():
    df, y = _frame()
    whole = sm.Ridge(alpha=2.0).fit(df, y)
    parts = sm.Ridge(alpha=2.0)
    for start in range(0, 80, 30):
        parts.partial_fit(df.slice(start, 30).lazy(), y[start : start + 30])
    assert_allclose(parts.coef_, whole.coef_, rtol=1e-12)


@settings(max_examples=20, deadline=None)
@given(data=st.data(), problem=regression_problems())
def test_ridge_any_chunking_gives_the_same_coefficients(data, problem):
    X, y = problem
    n = len(X)
    batch_rows = data.draw(st.integers(1, n), label="batch_rows")
    n_jobs = data.draw(st.sampled_from([None, 2, 3]), label="n_jobs")
    cuts = data.draw(splits(n), label="cuts")
    ref = sm.Ridge(alpha=0.5).fit(X, y)
    chunked = sm.Ridge(alpha=0.5, batch_rows=batch_rows, n_jobs=n_jobs).fit(
        pl.DataFrame(X).lazy(), y
    )
    partial = sm.Ridge(alpha=0.5)
    for a, b in zip([0, *cuts], [*cuts, n], strict=True):
        partial.partial_fit(X[a:b], y[a:b])
    scale = np.abs(ref.coef_).max() + 1.0
    for other in (chunked, partial):
        assert_allclose(other.coef_, ref.coef_, rtol=1e-10, atol=1e-10 * scale)


def test_ridge_large_offset_stays_accurate():
    rng = np.random.default_rng(5)
    X = rng.normal(loc=1e6, scale=1.0, size=(2000, 3))
    y = X @ [1.0, -2.0, 3.0] + rng.normal(scale=0.1, size=2000)
    ours = sm.Ridge(alpha=10.0, batch_rows=101).fit(pl.DataFrame(X).lazy(), y)
    assert_allclose(ours.coef_, skl.Ridge(alpha=10.0).fit(X, y).coef_, rtol=1e-6)


def test_ridge_bad_parameters():
    df, y = _frame()
    with pytest.raises(ValueError, match="'lbfgs' solver can be used only when positive=True"):
        sm.Ridge(solver="lbfgs").fit(df, y)
    with pytest.raises(ValueError, match="solver='svd' does not support positive fitting"):
        sm.Ridge(solver="svd", positive=True).fit(df, y)
    with pytest.raises(ValueError, match="number of penalties do not correspond: 3 != 1"):
        sm.Ridge(alpha=[1.0, 2.0, 3.0]).fit(df, y)
    with pytest.raises(ValueError, match="alpha must be >= 0"):
        sm.Ridge(alpha=[-1.0]).fit(df, y)
    with pytest.raises(ValueError, match="The 'alpha' parameter of Ridge must be"):
        sm.Ridge(alpha=-1.0).fit(df, y)


def test_ridge_bad_input():
    df, y = _frame()
    bad = df.with_columns(pl.lit(None, dtype=pl.Float64).alias("d"))
    with pytest.raises(ValueError, match=r"NaN, null or infinity in column\(s\) \['d'\]"):
        sm.Ridge().fit(bad.lazy(), y)
    with pytest.raises(TypeError, match=r"non-numeric column\(s\) 's'"):
        sm.Ridge().fit(df.with_columns(s=pl.lit("x")).lazy(), y)
    with pytest.raises(ValueError, match="0 sample"):
        sm.Ridge().fit(df.head(0).lazy(), y[:0])
    with pytest.raises(ValueError, match=r"y='label' is not a column of X"):
        sm.Ridge().fit(df.lazy(), "label")
    reg = sm.Ridge().fit(df.lazy(), y)
    with pytest.raises(ValueError, match=r"yet now missing:\n- c"):
        reg.predict(df.drop("c").lazy())


# -- RidgeCV ------------------------------------------------------------------------------
def test_ridge_cv_folds_are_hash_kfold_folds():
    df, y = _frame(n=90, seed=2)
    ours = sm.RidgeCV(alphas=ALPHAS, cv=3).fit(df.lazy(), y)
    ref = skl.RidgeCV(alphas=ALPHAS, cv=HashKFold(3)).fit(df.to_numpy(), y)
    assert ours.alpha_ == ref.alpha_
    assert_allclose(ours.best_score_, ref.best_score_, rtol=1e-9)


def test_ridge_cv_accepts_a_hash_kfold_with_seed_and_key():
    df, y = _frame(n=90, seed=2)
    df = df.with_columns(group=pl.Series(np.arange(90) % 7))
    cv = HashKFold(3, seed=4, key="group")
    ours = sm.RidgeCV(alphas=ALPHAS, cv=cv).fit(df.lazy(), y)
    ref = skl.RidgeCV(alphas=ALPHAS, cv=cv).fit(df.to_pandas(), y)
    assert ours.alpha_ == ref.alpha_
    assert_allclose(ours.best_score_, ref.best_score_, rtol=1e-9)
    assert_allclose(ours.coef_, ref.coef_, rtol=1e-10)


@pytest.mark.parametrize("scoring", [None, "r2", "neg_mean_squared_error", "explained_variance"])
def test_ridge_cv_matches_grid_search_on_the_same_folds(constructor, scoring):
    df, y = _frame(n=90)
    ours = sm.RidgeCV(alphas=ALPHAS, cv=4, scoring=scoring).fit(*_fit_args(constructor, df, y))
    ref = skl.RidgeCV(alphas=ALPHAS, cv=_sk_folds(90, 4), scoring=scoring).fit(df.to_numpy(), y)
    assert ours.alpha_ == ref.alpha_
    assert_allclose(ours.best_score_, ref.best_score_, rtol=1e-9)
    assert_allclose(ours.coef_, ref.coef_, rtol=1e-10)
    assert_allclose(ours.intercept_, ref.intercept_, rtol=1e-10)
    assert ours.cv_results_["rank_test_score"].tolist() == [
        int(r) for r in np.argsort(np.argsort(-ours.cv_results_["mean_test_score"])) + 1
    ]
    pred = ours.predict(constructor(df))
    assert_allclose(to_numpy(pred).ravel(), ref.predict(df.to_numpy()), rtol=1e-10)


def test_ridge_cv_split_scores_equal_grid_search_cv_results():
    df, y = _frame(n=90, seed=3)
    X = df.to_numpy()
    ours = sm.RidgeCV(alphas=ALPHAS, cv=3).fit(X, y)
    from sklearn.model_selection import GridSearchCV

    grid = GridSearchCV(skl.Ridge(), {"alpha": ALPHAS}, cv=_sk_folds(90, 3)).fit(X, y)
    for key in ["split0_test_score", "split2_test_score", "mean_test_score", "std_test_score"]:
        assert_allclose(ours.cv_results_[key], grid.cv_results_[key], rtol=1e-9)
    assert (
        ours.cv_results_["rank_test_score"].tolist() == grid.cv_results_["rank_test_score"].tolist()
    )


@pytest.mark.parametrize("scoring", [None, "r2", "neg_root_mean_squared_error"])
def test_ridge_cv_none_pools_out_of_fold_predictions(scoring):
    df, Y = _frame(n=70, seed=1, n_targets=2)
    X = df.to_numpy()
    ours = sm.RidgeCV(alphas=ALPHAS, scoring=scoring).fit(df.lazy(), Y)
    folds = _sk_folds(70, 5)
    scores = []
    for alpha in ALPHAS:
        oof = cross_val_predict(skl.Ridge(alpha=alpha), X, Y, cv=folds)
        if scoring == "r2":
            scores.append(r2_score(Y, oof))
        elif scoring is None:
            scores.append(-((Y - oof) ** 2).mean())
        else:
            scores.append(-np.sqrt(((Y - oof) ** 2).mean(axis=0)).mean())
    best = int(np.argmax(scores))
    assert ours.alpha_ == ALPHAS[best]
    assert_allclose(ours.best_score_, scores[best], rtol=1e-9)
    assert_allclose(ours.cv_results_["mean_test_score"], scores, rtol=1e-9)
    assert_allclose(ours.coef_, skl.Ridge(alpha=ALPHAS[best]).fit(X, Y).coef_, rtol=1e-10)


def test_ridge_cv_alpha_per_target():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(120, 3))
    # One target is almost noise-free (small alpha wins), the other pure noise.
    Y = np.column_stack([X @ [1.0, 2.0, 3.0] + 0.01 * rng.normal(size=120), rng.normal(size=120)])
    ours = sm.RidgeCV(alphas=ALPHAS, alpha_per_target=True).fit(X, Y)
    folds = _sk_folds(120, 5)
    for j in range(2):
        errors = [
            ((Y[:, j] - cross_val_predict(skl.Ridge(alpha=a), X, Y[:, j], cv=folds)) ** 2).mean()
            for a in ALPHAS
        ]
        assert ours.alpha_[j] == ALPHAS[int(np.argmin(errors))]
        assert_allclose(ours.best_score_[j], -min(errors), rtol=1e-9)
        ref = skl.Ridge(alpha=ours.alpha_[j]).fit(X, Y[:, j])
        assert_allclose(ours.coef_[j], ref.coef_, rtol=1e-10)
    assert ours.alpha_[0] < ours.alpha_[1]


def test_ridge_cv_store_cv_results_shapes():
    df, y = _frame()
    one = sm.RidgeCV(alphas=ALPHAS, store_cv_results=True).fit(df, y)
    assert one.cv_results_.shape == (5, len(ALPHAS))
    _, Y = _frame(n_targets=3)
    many = sm.RidgeCV(alphas=ALPHAS, store_cv_results=True).fit(df, Y)
    assert many.cv_results_.shape == (5, 3, len(ALPHAS))
    # Per-fold mean squared errors, weighted by fold size, give the pooled score.
    sizes = np.bincount(_sk_folds(80, 5).test_fold)
    pooled = -(many.cv_results_ * sizes[:, None, None]).sum(axis=0).mean(axis=0) / 80
    assert_allclose(pooled.max(), many.best_score_, rtol=1e-10)


@settings(max_examples=15, deadline=None)
@given(data=st.data(), problem=regression_problems(min_rows=20))
def test_ridge_cv_any_chunking_gives_the_same_model(data, problem):
    X, y = problem
    batch_rows = data.draw(st.integers(1, len(X)), label="batch_rows")
    n_jobs = data.draw(st.sampled_from([None, 2, 3]), label="n_jobs")
    ref = sm.RidgeCV(alphas=ALPHAS, cv=3).fit(X, y)
    chunked = sm.RidgeCV(alphas=ALPHAS, cv=3, batch_rows=batch_rows, n_jobs=n_jobs)
    chunked.fit(pl.DataFrame(X).lazy(), y)
    assert_allclose(
        chunked.cv_results_["mean_test_score"],
        ref.cv_results_["mean_test_score"],
        rtol=1e-9,
        atol=1e-12,
    )
    assert chunked.alpha_ == ref.alpha_
    scale = np.abs(ref.coef_).max() + 1.0
    assert_allclose(chunked.coef_, ref.coef_, rtol=1e-10, atol=1e-10 * scale)


def test_ridge_cv_file_split_gives_the_same_folds(tmp_path):
    df, y = _frame(n=90)
    data = df.with_columns(label=pl.Series(y))
    for i, start in enumerate(range(0, 90, 25)):
        data.slice(start, 25).write_parquet(tmp_path / f"part-{i}.parquet")
    whole = sm.RidgeCV(alphas=ALPHAS, cv=4).fit(data, "label")
    split = sm.RidgeCV(alphas=ALPHAS, cv=4, n_jobs=2).fit(str(tmp_path / "*.parquet"), "label")
    assert_allclose(
        split.cv_results_["mean_test_score"], whole.cv_results_["mean_test_score"], rtol=1e-10
    )


def test_ridge_cv_bad_parameters_and_input():
    df, y = _frame()
    with pytest.raises(ValueError, match="cv!=None and store_cv_results=True are incompatible"):
        sm.RidgeCV(cv=3, store_cv_results=True).fit(df, y)
    with pytest.raises(ValueError, match=r"alphas\[1\] == 0.0, must be > 0.0"):
        sm.RidgeCV(alphas=[1.0, 0.0]).fit(df, y)
    sm.RidgeCV(alphas=[1.0, 0.0], cv=3).fit(df, y)  # alpha=0 is fine with k folds
    with pytest.raises(ValueError, match="The 'scoring' parameter of RidgeCV must be"):
        sm.RidgeCV(scoring="max_error").fit(df, y)
    with pytest.raises(ValueError, match="n_splits=5 greater than the number of samples"):
        sm.RidgeCV().fit(df.head(3), y[:3])
    with pytest.raises(ValueError, match=r"NaN, null or infinity in column\(s\) \['a'\]"):
        sm.RidgeCV().fit(df.with_columns(a=pl.lit(None, dtype=pl.Float64)).lazy(), y)
