"""Checks every public estimator passes: scikit-learn's contract and our own."""

from __future__ import annotations

import pytest
from sklearn.utils.estimator_checks import parametrize_with_checks

from tests._estimators import ALL_ESTIMATORS


@parametrize_with_checks(ALL_ESTIMATORS)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)
