"""``OneHotEncoder.fit`` on a 1000-level string column: scaleml against distinct queries."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import peers
import pytest
import runners

pytestmark = pytest.mark.benchmark(group="onehot_fit")

COLUMN = "cat1000"


def test_polars_unique(measured: Callable[..., Any], dataset: str) -> None:
    categories = measured(peers.polars_unique, dataset, COLUMN)
    assert len(categories) > 1


def test_duckdb_distinct(measured: Callable[..., Any], dataset: str) -> None:
    categories = measured(peers.duckdb_distinct, dataset, COLUMN)
    assert len(categories) > 1


def test_scaleml_onehot_fit(measured: Callable[..., Any], dataset: str) -> None:
    categories = measured(runners.scaleml_onehot_fit, dataset, [COLUMN])
    assert len(categories[0]) > 1
