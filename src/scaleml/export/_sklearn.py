"""A fitted scaleml estimator or pipeline as the equivalent fitted scikit-learn one.

Each estimator class registers with :func:`sklearn_step` (``functools.singledispatch``)
a function building the scikit-learn namesake: the same parameters (minus the
scaleml-only ones scikit-learn lacks, such as ``columns`` or ``batch_rows``) and the
fitted attributes copied, so that predictions agree to rounding. A step fitted on a
subset of its input columns (``columns=``) becomes a ``ColumnTransformer`` (remainder
passed through); when scikit-learn's output order (transformed columns first) differs
from scaleml's (transformed columns in place), a second, passthrough-only
``ColumnTransformer`` restores scaleml's order, so a following step sees the columns
it was fitted on.
"""

from __future__ import annotations

import copy
import functools
import importlib
import inspect
from typing import Any

import numpy as np

from scaleml.cluster import KMeans, MiniBatchKMeans
from scaleml.export._common import input_columns, pipeline_steps
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

__all__ = ["sklearn_step", "to_sklearn"]

#: scikit-learn modules searched for a class of the same name.
_MODULES = (
    "sklearn.preprocessing",
    "sklearn.impute",
    "sklearn.linear_model",
    "sklearn.cluster",
    "sklearn.decomposition",
    "sklearn.naive_bayes",
)


def _sklearn_class(est: Any) -> type:
    name = type(est).__name__
    for module in _MODULES:
        cls = getattr(importlib.import_module(module), name, None)
        if cls is not None:
            return cls  # type: ignore[no-any-return]
    msg = f"scikit-learn has no estimator named {name!r}."
    raise NotImplementedError(msg)


def _namesake(est: Any, private: tuple[str, ...] = (), **overrides: Any) -> Any:
    """The scikit-learn estimator of the same class name: shared parameters, public
    fitted attributes and the listed private ones copied."""
    cls = _sklearn_class(est)
    accepted = inspect.signature(cls).parameters
    params = {k: v for k, v in est.get_params(deep=False).items() if k in accepted}
    params.update(overrides)
    out = cls(**params)
    fitted = {k: v for k, v in vars(est).items() if k.endswith("_") and not k.startswith("_")}
    fitted.update({k: getattr(est, k) for k in private if hasattr(est, k)})
    for key, value in fitted.items():
        setattr(out, key, copy.deepcopy(value))
    return out


@functools.singledispatch
def sklearn_step(est: Any, *, dense_output: bool = False) -> Any:
    """The fitted scikit-learn namesake of one fitted estimator (a singledispatch
    registry; register a class with ``@sklearn_step.register(MyEstimator)``).

    ``dense_output=True`` asks for dense output where scikit-learn offers sparse
    (the pipeline then outputs DataFrames, which cannot be sparse).
    """
    msg = (
        f"to_sklearn has no conversion for {type(est).__qualname__}. Covered estimators "
        "register one with scaleml.export.sklearn_step.register."
    )
    raise NotImplementedError(msg)


@sklearn_step.register(StandardScaler)
@sklearn_step.register(MinMaxScaler)
@sklearn_step.register(MaxAbsScaler)
@sklearn_step.register(RobustScaler)
@sklearn_step.register(LinearRegression)
@sklearn_step.register(Ridge)
@sklearn_step.register(RidgeCV)
@sklearn_step.register(LogisticRegression)
@sklearn_step.register(SGDClassifier)
@sklearn_step.register(SGDRegressor)
def _plain(est: Any, *, dense_output: bool = False) -> Any:
    return _namesake(est)


@sklearn_step.register(SimpleImputer)
def _simple_imputer(est: SimpleImputer, *, dense_output: bool = False) -> Any:
    out = _namesake(est)
    numeric = est._numeric or all(
        est._schema_in[c].is_numeric() or est._schema_in[c].is_float() for c in est._fit_columns
    )
    # The dtype scikit-learn would have seen: float for numbers, object otherwise.
    out._fit_dtype = out._fill_dtype = np.dtype(np.float64 if numeric else object)
    if out.indicator_ is not None:
        out.indicator_.n_features_in_ = len(est._fit_columns)
        if hasattr(est, "feature_names_in_"):
            out.indicator_.feature_names_in_ = np.asarray(est._fit_columns, dtype=object)
    return out


_ENCODER_PRIVATE = (
    "_infrequent_enabled",
    "_infrequent_indices",
    "_default_to_infrequent_mappings",
    "_missing_indices",
)


@sklearn_step.register(OneHotEncoder)
def _one_hot_encoder(est: OneHotEncoder, *, dense_output: bool = False) -> Any:
    private = (*_ENCODER_PRIVATE, "_drop_idx_after_grouping", "_n_features_outs")
    overrides = {"sparse_output": False} if dense_output else {}
    return _namesake(est, private, **overrides)


@sklearn_step.register(OrdinalEncoder)
def _ordinal_encoder(est: OrdinalEncoder, *, dense_output: bool = False) -> Any:
    return _namesake(est, _ENCODER_PRIVATE)


@sklearn_step.register(KBinsDiscretizer)
def _kbins_discretizer(est: KBinsDiscretizer, *, dense_output: bool = False) -> Any:
    from sklearn.preprocessing import OneHotEncoder as SkOneHotEncoder

    out = _namesake(est)
    if "onehot" in est.encode:
        # As scikit-learn's fit: an encoder of the bin indices, fitted on a toy row.
        sparse = est.encode == "onehot" and not dense_output
        out._encoder = SkOneHotEncoder(
            categories=[np.arange(n) for n in est.n_bins_],
            sparse_output=sparse,
            dtype=est.dtype or np.float64,
        ).fit(np.zeros((1, len(est.n_bins_))))
    return out


@sklearn_step.register(KMeans)
@sklearn_step.register(MiniBatchKMeans)
def _kmeans(est: Any, *, dense_output: bool = False) -> Any:
    from sklearn.utils._openmp_helpers import _openmp_effective_n_threads

    out = _namesake(est)
    out._n_threads = _openmp_effective_n_threads()
    return out


# -- column subsets -----------------------------------------------------------------------
def _identity(n: int, names: list[str] | None) -> Any:
    """A fitted passthrough, as ColumnTransformer makes one."""
    from sklearn.preprocessing import FunctionTransformer

    out = FunctionTransformer(
        accept_sparse=True, check_inverse=False, feature_names_out="one-to-one"
    )
    out.n_features_in_ = n
    if names is not None:
        out.feature_names_in_ = np.asarray(names, dtype=object)
    return out


def fitted_column_transformer(
    parts: list[tuple[str, Any, list[int], int]],
    n_features_in: int,
    names_in: list[str] | None,
    *,
    remainder: list[int] | None = None,
    sparse_output: bool = False,
) -> Any:
    """A fitted ``ColumnTransformer`` from fitted parts ``(name, transformer or
    "passthrough", input column indices, number of output columns)``.

    It holds what ``ColumnTransformer.fit`` would have set; `remainder` are the
    passed-through remaining columns (``remainder="passthrough"``), if any.
    """
    from sklearn.compose import ColumnTransformer

    ct = ColumnTransformer(
        [(name, trans, cols) for name, trans, cols, _ in parts],
        remainder="passthrough" if remainder is not None else "drop",
        verbose_feature_names_out=False,
    )
    ct.n_features_in_ = n_features_in
    if names_in is not None:
        ct.feature_names_in_ = np.asarray(names_in, dtype=object)
    rest = list(remainder or [])
    ct._columns = [cols for _, _, cols, _ in parts]
    ct._transformer_to_input_indices = {name: list(cols) for name, _, cols, _ in parts}
    ct._transformer_to_input_indices["remainder"] = rest
    ct._remainder = ("remainder", ct.remainder, rest)
    fitted = list(parts)
    if rest:
        fitted.append(("remainder", "passthrough", rest, len(rest)))
    ct.transformers_ = []
    ct.output_indices_ = {}
    start = 0
    for name, trans, cols, n_out in fitted:
        if trans == "passthrough":
            trans = _identity(len(cols), None if names_in is None else [names_in[c] for c in cols])
        ct.transformers_.append((name, trans, cols))
        ct.output_indices_[name] = slice(start, start + n_out)
        start += n_out
    if not rest:
        ct.transformers_.append(("remainder", ct.remainder, rest))
        ct.output_indices_["remainder"] = slice(0, 0)
    ct.sparse_output_ = sparse_output
    return ct


def _converted(name: str, est: Any, *, dense_output: bool) -> list[tuple[str, Any]]:
    """The scikit-learn step(s) of one scaleml step."""
    inner = sklearn_step(est, dense_output=dense_output)
    columns = input_columns(est)
    fit_columns = list(getattr(est, "_fit_columns", columns))
    if fit_columns == columns:
        return [(name, inner)]
    named = hasattr(est, "feature_names_in_")
    inner.n_features_in_ = len(fit_columns)
    if named:
        inner.feature_names_in_ = np.asarray(fit_columns, dtype=object)
    elif hasattr(inner, "feature_names_in_"):
        del inner.feature_names_in_
    out_names = [str(n) for n in est.get_feature_names_out()]
    rest = [c for c in columns if c not in set(fit_columns)]
    transformed = [n for n in out_names if n not in set(rest)]
    sparse = bool(getattr(inner, "sparse_output", False))
    ct = fitted_column_transformer(
        [(name, inner, [columns.index(c) for c in fit_columns], len(transformed))],
        len(columns),
        columns if named else None,
        remainder=[columns.index(c) for c in rest],
        sparse_output=sparse,
    )
    steps = [(name, ct)]
    sk_order = transformed + rest
    perm = [sk_order.index(n) for n in out_names]
    if perm != list(range(len(perm))):
        # scikit-learn puts the transformed columns first; scaleml keeps them in place.
        reorder = fitted_column_transformer(
            [("reorder", "passthrough", perm, len(perm))],
            len(perm),
            sk_order if named else None,
            sparse_output=sparse,
        )
        steps.append((f"{name}_reorder", reorder))
    return steps


def to_sklearn(fitted: Any) -> Any:
    """The equivalent fitted scikit-learn estimator (or Pipeline) of a fitted scaleml
    estimator or pipeline.

    Same class names and parameters (scaleml-only ones such as ``columns``,
    ``batch_rows`` or ``checkpoint`` left out), fitted attributes copied: the
    predictions and transforms of the result equal scaleml's on in-memory data to
    rounding. Steps fitted on a column subset become a ``ColumnTransformer``
    (``remainder="passthrough"``, ``verbose_feature_names_out=False``), followed where
    needed by a passthrough ``ColumnTransformer`` named ``<step>_reorder`` that puts
    the columns back in scaleml's order.

    A pipeline whose inner steps were fitted with column names (a DataFrame or lazy
    fit) is returned with ``set_output(transform="polars")``, so each step sees the
    names it expects; its one-hot encoders then give dense output.

    Parameters
    ----------
    fitted : fitted scaleml estimator, or a fitted sklearn Pipeline of them

    Returns
    -------
    sklearn estimator or sklearn.pipeline.Pipeline

    Examples
    --------
    >>> import numpy as np
    >>> from scaleml import StandardScaler
    >>> X = np.array([[0.0, 1.0], [2.0, 3.0]])
    >>> sk = to_sklearn(StandardScaler().fit(X))
    >>> type(sk).__module__.split(".")[0], sk.transform(X).tolist()
    ('sklearn', [[-1.0, -1.0], [1.0, 1.0]])
    """
    from sklearn.pipeline import Pipeline

    steps = pipeline_steps(fitted)
    is_pipeline = isinstance(fitted, Pipeline)
    named = is_pipeline and any(hasattr(est, "feature_names_in_") for _, est in steps[1:])
    out = [s for name, est in steps for s in _converted(name, est, dense_output=named)]
    if not is_pipeline and len(out) == 1:
        return out[0][1]
    pipe = Pipeline(out)
    if named:
        pipe.set_output(transform="polars")
    return pipe
