"""Deployment: a fitted estimator or pipeline as SQL, Polars expressions or scikit-learn.

Each exporter is a registry (``functools.singledispatch`` on the estimator class):
:func:`sql_step`, :func:`polars_step`, :func:`sklearn_step`; families register their
estimators there.
"""

from scaleml.export._polars import PolarsPlan, polars_step, to_polars
from scaleml.export._sklearn import sklearn_step, to_sklearn
from scaleml.export._sql import quote_identifier, sql_literal, sql_step, to_sql

__all__ = [
    "PolarsPlan",
    "polars_step",
    "quote_identifier",
    "sklearn_step",
    "sql_literal",
    "sql_step",
    "to_polars",
    "to_sklearn",
    "to_sql",
]
