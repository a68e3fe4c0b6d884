"""GridSearchCV and RandomizedSearchCV: every candidate on every fold, in shared scans.

On lazy data (a LazyFrame, files, a DuckDB relation, a dask DataFrame, or a DataFrame
with ``y`` naming its label column) every (candidate, fold) fit runs in a thread of one
:func:`scaleml._shared_scan.run_shared`: the folds are masks of one hashed base frame
(:func:`scaleml._shared_scan.shared_view`), so each pass of every fit, and the scoring
of every held-out fold, is served by one scan of the data. In-memory data gets
scikit-learn's own search (joblib over candidates and folds), with hash folds.
"""

from __future__ import annotations

import functools
import os
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from numbers import Integral
from traceback import format_exc
from typing import Any

import numpy as np
import polars as pl
from sklearn.base import clone, is_classifier
from sklearn.metrics import check_scoring
from sklearn.model_selection import GridSearchCV as _SkGridSearchCV
from sklearn.model_selection import ParameterGrid, ParameterSampler
from sklearn.model_selection import RandomizedSearchCV as _SkRandomizedSearchCV
from sklearn.model_selection._search import _check_refit
from sklearn.model_selection._validation import _warn_or_raise_about_fit_failures
from sklearn.pipeline import Pipeline
from sklearn.utils import get_tags
from sklearn.utils.multiclass import type_of_target
from sklearn.utils.validation import _num_samples, check_is_fitted

from scaleml import _shared_scan
from scaleml._fit import fold
from scaleml._hash import ROW_INDEX
from scaleml._predictor import Y_PREFIX
from scaleml._validation import _hint, is_eager
from scaleml.io import scan
from scaleml.model_selection._fit_many import shared_source
from scaleml.model_selection._runlog import RunLog, data_fingerprint
from scaleml.model_selection._scoring import FoldScore, resolve_scoring
from scaleml.model_selection._split import HashKFold, HashStratifiedKFold, _check_keys, _keys

__all__ = ["GridSearchCV", "RandomizedSearchCV"]

#: Name of the fold-id column of the hashed base frame of a lazy search.
FOLD = "__scaleml_fold"
_HIDDEN = [ROW_INDEX, FOLD]


def _hash_folds(cv: Any, estimator: Any, y: Any = None) -> HashKFold:
    """`cv` as hash folds: an int (or None: 5) becomes HashKFold, stratified for classifiers."""
    if isinstance(cv, HashKFold):
        return cv
    n = 5 if cv is None else cv
    if not isinstance(n, Integral):
        msg = (
            f"cv={cv!r}: a search on lazy data needs hash folds, an int or a "
            "scaleml.model_selection.HashKFold / HashStratifiedKFold (index-based "
            "splitters need the rows in memory)."
        )
        raise TypeError(msg)
    stratify = is_classifier(estimator) and (
        isinstance(y, str) or y is None or _target_type(y) in ("binary", "multiclass")
    )
    return HashStratifiedKFold(int(n)) if stratify else HashKFold(int(n))


def _target_type(y: Any) -> str:
    with warnings.catch_warnings():
        # Casting inf to int warns before scikit-learn raises its clear error on it.
        warnings.simplefilter("ignore", RuntimeWarning)
        return str(type_of_target(y, input_name="y"))


class _RowFolds:
    """Hash folds of in-memory rows as index arrays, for scikit-learn's search loop.

    Folds by row position need only the number of rows, so any array-like (sparse
    matrices too) can be split; a column-vector ``y`` is stratified as a 1-D one.
    """

    def __init__(self, cv: HashKFold) -> None:
        self.cv = cv

    def get_n_splits(self, X: Any = None, y: Any = None, groups: Any = None) -> int:
        return int(self.cv.get_n_splits())

    def split(self, X: Any, y: Any = None, groups: Any = None) -> Any:
        n_rows = _num_samples(X)
        if n_rows < self.cv.n_splits:
            msg = (
                f"Cannot have number of splits n_splits={self.cv.n_splits} greater than the "
                f"number of samples: n_samples={n_rows}."
            )
            raise ValueError(msg)
        if y is not None and np.ndim(y) == 2 and np.shape(y)[1] == 1:
            y = np.ravel(y)
        rows = X if _keys(self.cv.key) else np.zeros((n_rows, 1))
        return self.cv.split(rows, y, groups)


def _split_params(estimator: Any, params: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """``(preprocessing, final)`` parameters of a candidate of a Pipeline."""
    if not _has_prefix(estimator):
        return {}, params
    name = estimator.steps[-1][0]
    final = {k: v for k, v in params.items() if k == name or k.startswith(f"{name}__")}
    return {k: v for k, v in params.items() if k not in final}, final


def _has_prefix(estimator: Any) -> bool:
    return isinstance(estimator, Pipeline) and len(estimator.steps) > 1


def _with_label(lf: pl.LazyFrame, y: Any) -> tuple[pl.LazyFrame, str | None]:
    """`lf` holding the label; an in-memory `y` is attached as a column."""
    names = lf.collect_schema().names()
    if isinstance(y, str):
        if y not in names:
            msg = f"y={y!r} is not a column of X. {_hint(y, names)}".rstrip()
            raise ValueError(msg)
        return lf, y
    if y is None:
        return lf, None
    arr = np.asarray(y)
    n_rows = int(lf.select(pl.len()).collect().item())
    if arr.ndim != 1 or len(arr) != n_rows:
        msg = (
            f"y must be a column name or a 1-D array of X's {n_rows} rows; got an array of "
            f"shape {arr.shape}."
        )
        raise ValueError(msg)
    name = f"{Y_PREFIX}0"
    return pl.concat([lf, pl.DataFrame({name: arr}).lazy()], how="horizontal"), name


def _fold_score(model: Any, lf: pl.LazyFrame, y: str | None, metric: str) -> tuple[float, int]:
    """Score of a fitted `model` on `lf` in one pass (shared inside a shared scan)."""
    if metric == "score":
        return float(model.score(lf) if y is None else model.score(lf, y)), 0
    if y is None:
        msg = f"scoring={metric!r} needs y (the label column's name or an array)."
        raise ValueError(msg)
    final, data = model, lf
    if isinstance(model, Pipeline):
        final, data = model[-1], model[:-1].transform(lf)
    return _final_score(final, data, y, metric)


def _final_score(final: Any, data: pl.LazyFrame, y: str, metric: str) -> tuple[float, int]:
    scorer = FoldScore(final, metric)
    state = fold(scorer, data, columns=scorer.columns, y_columns=[scorer.y_expr(y)], allow_nan=True)
    return scorer.value(state, functools.partial(_exact_auc, final, data, y)), scorer.n_rows(state)


def _exact_auc(final: Any, data: pl.LazyFrame, y: str) -> float:
    """ROC AUC out of core (DuckDB, spills) when a fold has too many rows to keep."""
    from scaleml.metrics import roc_auc_score

    if hasattr(final, "decision_function"):
        scores = final.decision_function(data)
    else:
        scores = final.predict_proba(data).select(pl.nth(1))
    both = pl.concat(
        [data.select(pl.col(y)), scores.select(pl.first().alias("__scaleml_score"))],
        how="horizontal",
    )
    return float(roc_auc_score(y, "__scaleml_score", data=both))


@dataclass
class _Fold:
    """One fold of one preprocessing group: its fitted preprocessing and views."""

    prefix: Any  # fitted Pipeline of the preprocessing steps, None, or its fit's error
    seconds: float
    train: pl.LazyFrame  # views the final step reads (mapped by the preprocessing)
    test: pl.LazyFrame
    raw_train: pl.LazyFrame  # the same rows before preprocessing
    raw_test: pl.LazyFrame


@dataclass
class _Outcome:
    """What one (candidate, fold) task gives."""

    fit_time: float = 0.0
    score_time: float = 0.0
    test: float = np.nan
    train: float = np.nan
    n_test: int = 0
    fit_error: BaseException | None = None
    fit_trace: str | None = None
    score_error: BaseException | None = None
    score_trace: str | None = None
    final: Any = None


class _LazySearch:
    """The candidates x folds of a search on lazy data, fitted and scored in shared scans.

    Pipelines: the preprocessing steps are fitted once per fold and group of candidates
    sharing their parameters (ordinary fits: engine queries); the final steps then fit
    on a view mapped by that fitted preprocessing, still served by the one shared scan.
    """

    def __init__(self, search: Any, X: Any, y: Any) -> None:
        self.search = search
        self.y_input = y
        self.source = scan(shared_source(X))
        lf, self.y = _with_label(self.source, y)
        self.metric = resolve_scoring(search.scoring, search.estimator)
        if self.metric != "score" and self.y is None:
            msg = f"scoring={self.metric!r} needs y (the label column's name or an array)."
            raise ValueError(msg)
        self.cv = _hash_folds(search.cv, search.estimator, self.y)
        self.cv._check()
        if _keys(self.cv.key):
            _check_keys(lf, _keys(self.cv.key))
        indexed = lf.with_row_index(ROW_INDEX)
        self.base = indexed.with_columns(self.cv._folds(indexed, self.y).alias(FOLD))

    def views(self, k: int, then: Callable[[pl.LazyFrame], pl.LazyFrame] | None = None) -> Any:
        """``(train, test)`` views of fold `k` (mapped by `then`)."""
        fold_id = pl.col(FOLD)
        return (
            _shared_scan.shared_view(self.base, fold_id != k, drop=_HIDDEN, then=then),
            _shared_scan.shared_view(self.base, fold_id == k, drop=_HIDDEN, then=then),
        )

    def run(self, candidates: list[dict[str, Any]]) -> tuple[list[_Outcome], Any]:
        """Fit and score every candidate on every fold; return the outcomes and the scan."""
        est, n_splits = self.search.estimator, self.cv.n_splits
        folds: dict[str, list[_Fold]] = {}
        tasks = []
        for params in candidates:
            pre, _ = _split_params(est, params)
            key = repr(sorted(pre.items(), key=lambda kv: kv[0]))
            if key not in folds:
                folds[key] = [self._fold(pre, k) for k in range(n_splits)]
            for k in range(n_splits):
                model = clone(est).set_params(**clone(params, safe=False))
                tasks.append(functools.partial(self._task, model, folds[key][k]))
        outcomes, shared = _shared_scan.run_shared(tasks, self.search.n_jobs)
        for o in outcomes:
            if isinstance(o, BaseException):  # not an Exception: an interrupt
                raise o
        return outcomes, shared

    def _fold(self, params: dict[str, Any], k: int) -> _Fold:
        """Fold `k`, its preprocessing (parameters `params`) fitted on its train rows."""
        raw_train, raw_test = self.views(k)
        if not _has_prefix(self.search.estimator):
            return _Fold(None, 0.0, raw_train, raw_test, raw_train, raw_test)
        start = time.perf_counter()
        prefix = clone(self.search.estimator).set_params(**clone(params, safe=False))[:-1]
        try:
            prefix.fit(raw_train) if self.y is None else prefix.fit(raw_train, self.y)
        except Exception as exc:
            return _Fold(exc, time.perf_counter() - start, raw_train, raw_test, raw_train, raw_test)
        train, test = self.views(k, prefix.transform)
        return _Fold(prefix, time.perf_counter() - start, train, test, raw_train, raw_test)

    def _task(self, model: Any, fold_: _Fold) -> _Outcome:
        out = _Outcome()
        final = model[-1] if _has_prefix(model) else model
        out.final = final
        start = time.perf_counter()
        try:
            if isinstance(fold_.prefix, Exception):
                raise fold_.prefix
            with _shared_scan.fitting_on(fold_.train):
                final.fit(fold_.train) if self.y is None else final.fit(fold_.train, self.y)
        except Exception as exc:
            out.fit_error, out.fit_trace = exc, format_exc()
        out.fit_time = time.perf_counter() - start + fold_.seconds
        if out.fit_error is not None:
            return out
        start = time.perf_counter()
        try:
            out.test, out.n_test = self._score(model, final, fold_, fold_.test, fold_.raw_test)
            if self.search.return_train_score:
                out.train, _ = self._score(model, final, fold_, fold_.train, fold_.raw_train)
        except Exception as exc:
            out.score_error, out.score_trace = exc, format_exc()
        out.score_time = time.perf_counter() - start
        return out

    def _score(
        self, model: Any, final: Any, fold_: _Fold, view: pl.LazyFrame, raw: pl.LazyFrame
    ) -> tuple[float, int]:
        if self.metric != "score":
            assert self.y is not None
            return _final_score(final, view, self.y, self.metric)
        # The estimator's own score method, on the rows before preprocessing.
        fitted = final if fold_.prefix is None else Pipeline([*fold_.prefix.steps, model.steps[-1]])
        return _fold_score(fitted, raw, self.y, "score")


class _HashSearchMixin:
    """What scaleml's searches add to scikit-learn's: hash folds, lazy data, a run log."""

    estimator: Any
    scoring: Any
    cv: Any
    refit: Any
    verbose: int
    error_score: Any
    return_train_score: bool
    log_to: Any
    n_jobs: int | None

    def fit(self, X: Any, y: Any = None, **params: Any) -> Any:
        """Run fit with all sets of parameters, then refit the best on all of `X`.

        Parameters
        ----------
        X : any input of :func:`scaleml.scan`, a dask DataFrame, or in-memory data
        y : array-like, str or None
            The target, or the name of the label column of `X` (out-of-core).
        **params : dict
            Fit parameters (in-memory data only), as in scikit-learn.

        Returns
        -------
        self
        """
        self._validate_params()  # type: ignore[attr-defined]
        if is_eager(X) and not isinstance(y, str):
            return self._fit_in_memory(X, y, **params)
        if params:
            msg = (
                f"Fit parameters {sorted(params)} are supported for in-memory data only; "
                "out of core, keep sample weights in a column of X."
            )
            raise ValueError(msg)
        return self._fit_lazy(X, y)

    # -- in memory: scikit-learn's search with hash folds ------------------------------
    def _fit_in_memory(self, X: Any, y: Any, **params: Any) -> Any:
        hashed = self.cv is None or isinstance(self.cv, (Integral, HashKFold))
        self._cv_in_memory = _RowFolds(_hash_folds(self.cv, self.estimator, y)) if hashed else None
        try:
            super().fit(X, y, **params)  # type: ignore[misc]
        finally:
            del self._cv_in_memory
            captured = self.__dict__.pop("_search_out", None)
        candidates, n_splits, out = captured
        self._log(candidates, n_splits, out, "in-memory", {})
        return self

    def _run_search(self, evaluate_candidates: Any, *, callback_ctx: Any = None) -> None:
        cv = getattr(self, "_cv_in_memory", None)
        if cv is not None:
            evaluate_candidates = functools.partial(evaluate_candidates, cv=cv)
        super()._run_search(evaluate_candidates, callback_ctx=callback_ctx)  # type: ignore[misc]

    def _format_results(
        self, candidate_params: Any, n_splits: int, out: Any, more_results: Any = None
    ) -> dict[str, Any]:
        # Kept for the run log: the per-fold times and errors cv_results_ does not hold.
        self._search_out = (list(candidate_params), n_splits, list(out))
        results: dict[str, Any] = super()._format_results(  # type: ignore[misc]
            candidate_params, n_splits, out, more_results
        )
        return results

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()  # type: ignore[misc]
        # The targets the estimator accepts, the search accepts too.
        target = get_tags(self.estimator).target_tags
        tags.target_tags.multi_output = target.multi_output
        tags.target_tags.single_output = target.single_output
        return tags

    # -- lazy: shared scans ---------------------------------------------------------------
    def _candidates(self) -> list[dict[str, Any]]:
        raise NotImplementedError

    def _fit_lazy(self, X: Any, y: Any) -> Any:
        search = _LazySearch(self, X, y)
        candidates = self._candidates()
        n_splits = search.cv.n_splits
        if self.verbose > 0:
            print(
                f"Fitting {n_splits} folds for each of {len(candidates)} candidates, "
                f"totalling {len(candidates) * n_splits} fits"
            )
        outcomes, shared = search.run(candidates)
        out = self._outcomes_to_out(candidates, outcomes, n_splits)
        self.n_splits_ = n_splits
        self.multimetric_ = False
        try:
            results = self._format_results(candidates, n_splits, out)
        finally:
            self.__dict__.pop("_search_out", None)
        rows_seen = {i: shared.rows_seen.get(id(o.final)) for i, o in enumerate(outcomes)}
        self._log(candidates, n_splits, out, data_fingerprint(search.source), rows_seen)
        self._select_and_refit(results, search)
        self.scorer_ = check_scoring(self.estimator, self.scoring)
        self.cv_results_ = results
        return self

    def _outcomes_to_out(
        self, candidates: list[dict[str, Any]], outcomes: list[_Outcome], n_splits: int
    ) -> list[dict[str, Any]]:
        """The per-fit dicts of scikit-learn's ``_fit_and_score``, from the outcomes."""
        out = []
        for i, o in enumerate(outcomes):
            if self.error_score == "raise" and (o.fit_error or o.score_error):
                raise o.fit_error or o.score_error  # type: ignore[misc]
            if o.score_error is not None:
                warnings.warn(
                    "Scoring failed. The score on this train-test partition for these "
                    f"parameters will be set to {self.error_score}. Details: \n"
                    f"{o.score_trace}",
                    UserWarning,
                    stacklevel=3,
                )
            failed = o.fit_error is not None or o.score_error is not None
            test = self.error_score if failed else o.test
            entry = {
                "fit_error": o.fit_trace,
                "test_scores": test,
                "n_test_samples": o.n_test,
                "fit_time": o.fit_time,
                "score_time": o.score_time,
            }
            if self.return_train_score:
                entry["train_scores"] = self.error_score if failed else o.train
            out.append(entry)
            if self.verbose > 1:
                k, n = i % n_splits, len(candidates)
                print(
                    f"[CV {k + 1}/{n_splits}; {i // n_splits + 1}/{n}] END "
                    f"{candidates[i // n_splits]}; score={test:.3f}; "
                    f"total time={o.fit_time + o.score_time:.1f}s"
                )
        _warn_or_raise_about_fit_failures(out, self.error_score)
        return out

    def _select_and_refit(self, results: dict[str, Any], search: _LazySearch) -> None:
        """scikit-learn's choice of the best candidate, then its fit on all the data."""
        self.best_index_ = self._select_best_index(self.refit, "score", results)  # type: ignore[attr-defined]
        if not callable(self.refit):
            self.best_score_ = results["mean_test_score"][self.best_index_]
        self.best_params_ = results["params"][self.best_index_]
        if not self.refit:
            return
        best = clone(self.estimator).set_params(**clone(self.best_params_, safe=False))
        start = time.time()
        if search.y_input is None:
            best.fit(search.source)
        else:
            best.fit(search.source, search.y_input)
        self.refit_time_ = time.time() - start
        self.best_estimator_ = best
        if hasattr(best, "feature_names_in_"):
            self.feature_names_in_ = best.feature_names_in_

    def _log(
        self,
        candidates: list[dict[str, Any]],
        n_splits: int,
        out: list[dict[str, Any]],
        fingerprint: str,
        rows_seen: dict[int, int | None],
    ) -> None:
        if self.log_to is None:
            return
        log = RunLog(self.log_to)
        run = log.new_run()
        name = type(self.estimator).__name__
        if isinstance(self.estimator, Pipeline):
            name += f"[{', '.join(type(step).__name__ for _, step in self.estimator.steps)}]"
        scoring = self.scoring if isinstance(self.scoring, str) else repr(self.scoring)
        rows = []
        for i, o in enumerate(out):
            metrics = {"scoring": scoring, "test_score": o["test_scores"]}
            if "train_scores" in o:
                metrics["train_score"] = o["train_scores"]
            rows.append(
                {
                    "run_id": run,
                    "kind": "search",
                    "candidate": i // n_splits,
                    "fold": i % n_splits,
                    "estimator": name,
                    "params": candidates[i // n_splits],
                    "metrics": metrics,
                    "fit_seconds": o["fit_time"],
                    "rows_seen": rows_seen.get(i),
                    "data_fingerprint": fingerprint,
                    "error": o["fit_error"],
                }
            )
        log.append(rows)

    def score(self, X: Any, y: Any = None, **params: Any) -> float:
        """The score of the best estimator on `X`, by ``scoring`` (its ``score`` if None).

        On lazy data (or ``y`` a column name) the score is one streaming pass.

        Parameters
        ----------
        X : any input of :func:`scaleml.scan`, or in-memory data
        y : array-like, str or None

        Returns
        -------
        float
        """
        if is_eager(X) and not isinstance(y, str):
            return float(super().score(X, y, **params))  # type: ignore[misc]
        _check_refit(self, "score")
        check_is_fitted(self)
        lf, label = _with_label(scan(X), y)
        metric = resolve_scoring(self.scoring, self.estimator)
        return _fold_score(self.best_estimator_, lf, label, metric)[0]


_LOG_TO = [None, str, os.PathLike]


class GridSearchCV(_HashSearchMixin, _SkGridSearchCV):  # type: ignore[misc]
    """Exhaustive search over a parameter grid, every fold of every candidate shared.

    scikit-learn's ``GridSearchCV`` (same parameters, attributes and ``cv_results_``),
    with hash folds and out-of-core data:

    - On lazy data (a LazyFrame, files, a DuckDB relation, a dask DataFrame, or any
      frame with ``y`` naming its label column), all candidates x folds fit in threads
      whose passes over the data meet at one barrier: each pass is one scan feeding
      every fit its fold's rows (folds are hash masks of one base query), and each
      held-out fold is scored from the same scans with a streaming metric. A search of
      40 single-pass candidates (Ridge) on 5 folds reads the data twice (fits, then
      scores), plus once to refit the best; an L-BFGS one about as often as its
      slowest fit makes passes. ``n_jobs`` threads update the fits on each batch. Fit
      times include the waits at the barrier.
    - Pipelines: the preprocessing steps are fitted once per fold and per group of
      candidates with the same preprocessing parameters (cheap engine queries); the
      final steps' passes are shared.
    - In-memory data (with an array ``y``) is scikit-learn's own search, with
      ``cv=int`` meaning hash folds: the results equal scikit-learn's given the same
      folds. ``n_jobs`` dispatches candidates x folds through joblib, so under
      ``joblib.parallel_config(backend="dask")`` they run on the Dask workers.
    - With a dask DataFrame, the partitions are computed by the workers and streamed
      to the process that runs the shared scans (the barrier is one machine's); the
      refit maps its passes over the partitions on the workers (see
      :func:`scaleml._fit.fold`).

    Parameters
    ----------
    estimator : estimator or sklearn Pipeline of scaleml steps
    param_grid : dict or list of dicts
        Grid keys as in scikit-learn (``"ridge__alpha"`` for a Pipeline step).
    scoring : str, callable or None, default=None
        None is the estimator's ``score`` (accuracy for classifiers, R^2 for
        regressors). Lazy data accepts None, "accuracy", "neg_log_loss", "roc_auc"
        (binary), "r2" and "neg_mean_squared_error"; in-memory data any scikit-learn
        scoring.
    n_jobs : int, default=None
    refit : bool, str or callable, default=True
    cv : int, HashKFold, or (in memory) any scikit-learn splitter, default=None
        int (None: 5) means ``HashStratifiedKFold(cv)`` for classifiers and
        ``HashKFold(cv)`` otherwise.
    verbose : int, default=0
    pre_dispatch : int or str, default="2*n_jobs"
        In-memory data only (joblib).
    error_score : "raise" or float, default=np.nan
    return_train_score : bool, default=False
    log_to : str, path or None, default="runs.duckdb"
        DuckDB run log receiving one row per candidate and fold (kind "search":
        parameters, scores, fit time, rows seen, data fingerprint, versions); None to
        not log.

    Attributes
    ----------
    cv_results_ : dict of numpy (masked) ndarrays
    best_estimator_ : estimator
    best_score_ : float
    best_params_ : dict
    best_index_ : int
    scorer_ : function or dict
    n_splits_ : int
    refit_time_ : float
    multimetric_ : bool

    Examples
    --------
    >>> import numpy as np
    >>> import polars as pl
    >>> import scaleml as sm
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(500, 3))
    >>> lf = pl.LazyFrame(X, schema=["a", "b", "c"]).with_columns(
    ...     y=pl.Series(X @ [1.0, 2.0, 0.0] + rng.normal(size=500)))
    >>> search = sm.GridSearchCV(sm.Ridge(), {"alpha": [0.1, 100.0, 1000.0]}, cv=3,
    ...                          log_to=None).fit(lf, "y")
    >>> search.best_params_
    {'alpha': 0.1}
    >>> search.cv_results_["rank_test_score"].tolist()
    [1, 2, 3]
    """

    _parameter_constraints: dict[str, list[Any]] = {
        **_SkGridSearchCV._parameter_constraints,
        "log_to": _LOG_TO,
    }

    def __init__(
        self,
        estimator: Any,
        param_grid: Any,
        *,
        scoring: Any = None,
        n_jobs: int | None = None,
        refit: Any = True,
        cv: Any = None,
        verbose: int = 0,
        pre_dispatch: Any = "2*n_jobs",
        error_score: Any = np.nan,
        return_train_score: bool = False,
        log_to: str | os.PathLike[str] | None = "runs.duckdb",
    ) -> None:
        super().__init__(
            estimator,
            param_grid,
            scoring=scoring,
            n_jobs=n_jobs,
            refit=refit,
            cv=cv,
            verbose=verbose,
            pre_dispatch=pre_dispatch,
            error_score=error_score,
            return_train_score=return_train_score,
        )
        self.log_to = log_to

    def _candidates(self) -> list[dict[str, Any]]:
        return list(ParameterGrid(self.param_grid))


class RandomizedSearchCV(_HashSearchMixin, _SkRandomizedSearchCV):  # type: ignore[misc]
    """Randomized search over parameters, every fold of every candidate shared.

    scikit-learn's ``RandomizedSearchCV`` (same parameters, attributes and
    ``cv_results_``, the same candidates for the same `random_state`), on lazy data
    in shared scans and with hash folds: see :class:`GridSearchCV` for what runs where.

    Parameters
    ----------
    estimator : estimator or sklearn Pipeline of scaleml steps
    param_distributions : dict or list of dicts
        Lists are sampled uniformly, distributions (``scipy.stats``) with ``rvs``.
    n_iter : int, default=10
    scoring, n_jobs, refit, cv, verbose, pre_dispatch, error_score, return_train_score :
        As in :class:`GridSearchCV`.
    random_state : int, RandomState instance or None, default=None
    log_to : str, path or None, default="runs.duckdb"

    Attributes
    ----------
    cv_results_ : dict of numpy (masked) ndarrays
    best_estimator_ : estimator
    best_score_ : float
    best_params_ : dict
    best_index_ : int
    scorer_ : function or dict
    n_splits_ : int
    refit_time_ : float
    multimetric_ : bool

    Examples
    --------
    >>> import numpy as np
    >>> import polars as pl
    >>> import scaleml as sm
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(400, 2))
    >>> lf = pl.LazyFrame(X, schema=["a", "b"]).with_columns(
    ...     label=pl.Series((X[:, 0] + rng.normal(size=400) > 0).astype(int)))
    >>> search = sm.RandomizedSearchCV(
    ...     sm.LogisticRegression(), {"C": [0.001, 0.01, 1.0]}, n_iter=2, cv=3,
    ...     random_state=0, log_to=None).fit(lf, "label")
    >>> len(search.cv_results_["params"]), search.n_splits_
    (2, 3)
    """

    _parameter_constraints: dict[str, list[Any]] = {
        **_SkRandomizedSearchCV._parameter_constraints,
        "log_to": _LOG_TO,
    }

    def __init__(
        self,
        estimator: Any,
        param_distributions: Any,
        *,
        n_iter: int = 10,
        scoring: Any = None,
        n_jobs: int | None = None,
        refit: Any = True,
        cv: Any = None,
        verbose: int = 0,
        pre_dispatch: Any = "2*n_jobs",
        random_state: Any = None,
        error_score: Any = np.nan,
        return_train_score: bool = False,
        log_to: str | os.PathLike[str] | None = "runs.duckdb",
    ) -> None:
        super().__init__(
            estimator,
            param_distributions,
            n_iter=n_iter,
            scoring=scoring,
            n_jobs=n_jobs,
            refit=refit,
            cv=cv,
            verbose=verbose,
            pre_dispatch=pre_dispatch,
            random_state=random_state,
            error_score=error_score,
            return_train_score=return_train_score,
        )
        self.log_to = log_to

    def _candidates(self) -> list[dict[str, Any]]:
        return list(
            ParameterSampler(self.param_distributions, self.n_iter, random_state=self.random_state)
        )
