"""Linear models: exact one-pass least squares and ridge, logistic regression, SGD."""

from scaleml.linear_model._least_squares import LinearRegression
from scaleml.linear_model._logistic import LogisticRegression
from scaleml.linear_model._ridge import Ridge, RidgeCV
from scaleml.linear_model._sgd import SGDClassifier, SGDRegressor

__all__ = [
    "LinearRegression",
    "LogisticRegression",
    "Ridge",
    "RidgeCV",
    "SGDClassifier",
    "SGDRegressor",
]
