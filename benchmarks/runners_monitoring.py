"""The drift-monitoring benchmarks' runners, as module-level (picklable) functions.

The "current" data is the dataset itself with ``f1`` shifted by 0.1 (a Polars
expression, nothing materialised), so every run tests the same drift. Libraries are
imported inside the functions so the measuring subprocess only pays for the one it
runs.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "COLUMNS",
    "pandas_scipy_ks",
    "polars_exact_quantile_bins",
    "scaleml_drift_fit",
    "scaleml_drift_fit_score",
]

#: The monitored columns: 20 floats (f0 with nulls) and two string columns.
COLUMNS = [*(f"f{i}" for i in range(20)), "cat10", "cat1000"]


def _current(dataset: str) -> Any:
    import polars as pl

    return pl.scan_parquet(dataset).with_columns(pl.col("f1") + 0.1)


def scaleml_drift_fit(dataset: str) -> int:
    """Profile the reference (one streaming pass); returns its row count."""
    from scaleml.monitoring import DriftMonitor

    return DriftMonitor(columns=COLUMNS).fit(dataset).profile_.n_rows


def scaleml_drift_fit_score(dataset: str) -> list[str]:
    """Profile the reference, then score the shifted data; returns the drifted columns."""
    from scaleml.monitoring import DriftMonitor

    monitor = DriftMonitor(columns=COLUMNS, ks_alpha=None, ks_threshold=0.02).fit(dataset)
    monitor.score(_current(dataset))
    return list(monitor.drifted_columns_)


def polars_exact_quantile_bins(dataset: str) -> int:
    """Peer (speed limit): exact 20-bin quantile edges of every float column in one
    Polars query (no counts, no categories, no test); returns the number of edges."""
    import polars as pl

    qs = [i / 20 for i in range(1, 20)]
    floats = [c for c in COLUMNS if c.startswith("f")]
    exprs = [pl.col(c).quantile(q).alias(f"{c}_{q}") for c in floats for q in qs]
    return pl.scan_parquet(dataset).select(exprs).collect(engine="streaming").width


def pandas_scipy_ks(dataset: str) -> list[str]:
    """Peer: pandas in memory and ``scipy.stats.ks_2samp`` per float column, the
    current data being the reference with f1 shifted; returns the drifted columns."""
    import pandas as pd
    from scipy.stats import ks_2samp

    floats = [c for c in COLUMNS if c.startswith("f")]
    ref = pd.read_parquet(dataset.rsplit("/", 1)[0], columns=floats)
    cur = ref.assign(f1=ref["f1"] + 0.1)
    return [c for c in floats if ks_2samp(ref[c].dropna(), cur[c].dropna()).statistic > 0.02]
