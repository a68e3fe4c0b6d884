"""A fitted estimator or pipeline as Polars expressions.

Each estimator class registers with :func:`polars_step` (``functools.singledispatch``)
a function giving the expressions of its transform or prediction, written over its
fitted input columns and holding the fitted values as literals: the expressions do not
refer to the estimator, so a plan pickles, ships and runs without scaleml's estimators.
A pipeline is a :class:`PolarsPlan`: one ``select`` per step, with a positional rename
between steps where a step was fitted on differently named columns (a numpy fit
names them ``x0, x1, ...``).
"""

from __future__ import annotations

import functools
from typing import Any

import polars as pl

from scaleml._predictor import linear_expr
from scaleml._validation import Data
from scaleml.cluster import KMeans, MiniBatchKMeans
from scaleml.export._common import default_method, input_columns, pipeline_steps, unsupported
from scaleml.linear_model import (
    LinearRegression,
    LogisticRegression,
    Ridge,
    RidgeCV,
    SGDClassifier,
    SGDRegressor,
)
from scaleml.preprocessing import (
    KBinsDiscretizer,
    MaxAbsScaler,
    MinMaxScaler,
    OneHotEncoder,
    OrdinalEncoder,
    RobustScaler,
    SimpleImputer,
    StandardScaler,
)

__all__ = ["PolarsPlan", "polars_step", "to_polars"]


class PolarsPlan:
    """Steps of Polars expressions, each applied as one ``select``.

    Call it on a LazyFrame (gives a LazyFrame) or a DataFrame (gives a DataFrame);
    ``steps`` holds the expression lists, ``exprs`` those of a one-step plan.

    Examples
    --------
    >>> import polars as pl
    >>> from scaleml import MinMaxScaler
    >>> from scaleml.export import to_polars
    >>> plan = to_polars(MinMaxScaler().fit(pl.DataFrame({"a": [1.0, 3.0]})))
    >>> plan(pl.DataFrame({"a": [2.0]}))["a"].to_list()
    [0.5]
    """

    def __init__(self, steps: list[list[pl.Expr]]) -> None:
        self.steps = steps

    @property
    def exprs(self) -> list[pl.Expr]:
        """The expressions of a one-step plan (a single estimator)."""
        if len(self.steps) != 1:
            msg = f"This plan has {len(self.steps)} steps; apply it with plan(lf) or read .steps."
            raise ValueError(msg)
        return self.steps[0]

    def __call__(self, data: pl.LazyFrame | pl.DataFrame) -> Any:
        lf = data.lazy() if isinstance(data, pl.DataFrame) else data
        for exprs in self.steps:
            lf = lf.select(exprs)
        return lf.collect() if isinstance(data, pl.DataFrame) else lf

    def __repr__(self) -> str:
        return f"PolarsPlan({len(self.steps)} step(s))"


@functools.singledispatch
def polars_step(est: Any, method: str) -> list[pl.Expr]:
    """The Polars expressions of one fitted estimator (a singledispatch registry).

    The expressions read the columns `est` was fitted on (``est._columns_in``) and are
    applied with one ``select``. Register a class with
    ``@polars_step.register(MyEstimator)``.
    """
    raise unsupported(est, method, "to_polars")


def _expect(est: Any, method: str, *allowed: str) -> None:
    if method not in allowed:
        raise unsupported(est, method, "to_polars")


def _data(est: Any) -> Data:
    # An empty frame of the fitted schema: the expressions depend on dtypes only.
    return Data(pl.LazyFrame(schema=est._schema_in), True, input_columns(est))


@polars_step.register(StandardScaler)
@polars_step.register(MinMaxScaler)
@polars_step.register(MaxAbsScaler)
@polars_step.register(SimpleImputer)
@polars_step.register(RobustScaler)
@polars_step.register(KBinsDiscretizer)
def _expr_transformer(est: Any, method: str) -> list[pl.Expr]:
    _expect(est, method, "transform")
    return list(est._select_exprs(_data(est)))


@polars_step.register(OneHotEncoder)
@polars_step.register(OrdinalEncoder)
def _encoder(est: Any, method: str) -> list[pl.Expr]:
    _expect(est, method, "transform")
    return list(est._select(_data(est), est._keys(est._schema_in)))


@polars_step.register(LinearRegression)
@polars_step.register(Ridge)
@polars_step.register(RidgeCV)
def _linear_model(est: Any, method: str) -> list[pl.Expr]:
    _expect(est, method, "predict")
    return list(est._prediction_exprs())


@polars_step.register(SGDRegressor)
def _sgd_regressor(est: SGDRegressor, method: str) -> list[pl.Expr]:
    _expect(est, method, "predict")
    return [linear_expr(input_columns(est), est.coef_, est.intercept_[0]).alias("prediction")]


@polars_step.register(LogisticRegression)
@polars_step.register(SGDClassifier)
def _linear_classifier(est: Any, method: str) -> list[pl.Expr]:
    _expect(est, method, "predict", "predict_proba", "decision_function")
    columns = input_columns(est)
    if method == "predict":
        return [est._predict_expr(columns)]
    if method == "decision_function":
        return list(est._decision_exprs(columns))
    if isinstance(est, SGDClassifier):
        est._check_proba()
    exprs = est._proba_exprs(columns)
    return [e.alias(n) for e, n in zip(exprs, est._proba_names(), strict=True)]


@polars_step.register(KMeans)
@polars_step.register(MiniBatchKMeans)
def _kmeans(est: Any, method: str) -> list[pl.Expr]:
    _expect(est, method, "predict", "transform")
    columns = input_columns(est)
    if method == "predict":
        return [est._prediction_expr(columns)]
    names = [str(n) for n in est.get_feature_names_out()]
    exprs = est._sq_distance_exprs(columns)
    return [e.sqrt().alias(n) for e, n in zip(exprs, names, strict=True)]


def to_polars(fitted: Any, *, method: str | None = None) -> PolarsPlan:
    """Polars expressions reproducing a fitted estimator or pipeline.

    Parameters
    ----------
    fitted : fitted scaleml estimator, or a fitted sklearn Pipeline of them
    method : {"transform", "predict", "predict_proba", "decision_function"}, optional
        What the last step computes (default: predict, or transform for a
        transformer).

    Returns
    -------
    PolarsPlan
        ``plan(lf)`` gives the output LazyFrame (columns named as scaleml's lazy
        output: ``get_feature_names_out()``, ``prediction``, ``proba_<class>``...).

    Notes
    -----
    A plan never raises on unknown categories (``handle_unknown="error"``): scaleml's
    own ``transform`` runs an extra query for that, a plan is expressions only.

    Examples
    --------
    >>> import polars as pl
    >>> from sklearn.pipeline import make_pipeline
    >>> from scaleml import LinearRegression, StandardScaler
    >>> X = pl.DataFrame({"a": [0.0, 1.0, 2.0, 3.0]})
    >>> pipe = make_pipeline(StandardScaler(), LinearRegression()).fit(X, [1.0, 3.0, 5.0, 7.0])
    >>> to_polars(pipe)(X)["prediction"].round(6).to_list()
    [1.0, 3.0, 5.0, 7.0]
    """
    steps = pipeline_steps(fitted)
    plan: list[list[pl.Expr]] = []
    incoming = input_columns(steps[0][1])
    for i, (name, est) in enumerate(steps):
        columns = input_columns(est)
        if len(columns) != len(incoming):
            msg = (
                f"Step {name!r} was fitted on {len(columns)} columns but the previous step "
                f"outputs {len(incoming)}."
            )
            raise ValueError(msg)
        if columns != incoming:
            plan.append([pl.col(a).alias(b) for a, b in zip(incoming, columns, strict=True)])
        exprs = polars_step(est, default_method(est, method, last=i == len(steps) - 1))
        plan.append(exprs)
        incoming = [e.meta.output_name() for e in exprs]
    return PolarsPlan(plan)
