"""One instance of every public estimator, as the common tests see it."""

from __future__ import annotations

import scaleml as sm

ALL_ESTIMATORS = [
    sm.StandardScaler(),
    sm.MinMaxScaler(),
    sm.MaxAbsScaler(),
]
