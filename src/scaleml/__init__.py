"""scaleml: scikit-learn estimators that fit on data larger than memory.

Every input becomes a :class:`polars.LazyFrame` (:func:`scan`); fits stream it in
bounded memory, transforms return lazy queries.
"""

from scaleml.io import scan
from scaleml.preprocessing import MaxAbsScaler, MinMaxScaler, StandardScaler

__all__ = ["MaxAbsScaler", "MinMaxScaler", "StandardScaler", "scan"]

__version__ = "0.1.0"
