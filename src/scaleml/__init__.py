"""scaleml: scikit-learn estimators that fit on data larger than memory.

Every input becomes a :class:`polars.LazyFrame` (:func:`scan`); fits stream it in
bounded memory, transforms return lazy queries.
"""

from scaleml import export as export
from scaleml import metrics as metrics
from scaleml import model_selection as model_selection
from scaleml import monitoring as monitoring
from scaleml.cluster import KMeans, MiniBatchKMeans
from scaleml.decomposition import PCA
from scaleml.export import to_polars, to_sklearn, to_sql
from scaleml.io import scan
from scaleml.linear_model import (
    LinearRegression,
    LogisticRegression,
    Ridge,
    RidgeCV,
    SGDClassifier,
    SGDRegressor,
)
from scaleml.model_selection import (
    GridSearchCV,
    RandomizedSearchCV,
    fit_many,
    train_test_split,
)
from scaleml.monitoring import DriftMonitor
from scaleml.naive_bayes import BernoulliNB, GaussianNB, MultinomialNB
from scaleml.preprocessing import (
    FeatureHasher,
    HashingEncoder,
    KBinsDiscretizer,
    MaxAbsScaler,
    MinMaxScaler,
    OneHotEncoder,
    OrdinalEncoder,
    QuantileTransformer,
    RobustScaler,
    SimpleImputer,
    StandardScaler,
    TargetEncoder,
)

__all__ = [
    "PCA",
    "BernoulliNB",
    "DriftMonitor",
    "FeatureHasher",
    "GaussianNB",
    "GridSearchCV",
    "HashingEncoder",
    "KBinsDiscretizer",
    "KMeans",
    "LinearRegression",
    "LogisticRegression",
    "MaxAbsScaler",
    "MinMaxScaler",
    "MiniBatchKMeans",
    "MultinomialNB",
    "OneHotEncoder",
    "OrdinalEncoder",
    "QuantileTransformer",
    "RandomizedSearchCV",
    "Ridge",
    "RidgeCV",
    "RobustScaler",
    "SGDClassifier",
    "SGDRegressor",
    "SimpleImputer",
    "StandardScaler",
    "TargetEncoder",
    "export",
    "fit_many",
    "metrics",
    "model_selection",
    "monitoring",
    "scan",
    "to_polars",
    "to_sklearn",
    "to_sql",
    "train_test_split",
]

__version__ = "0.1.0"
