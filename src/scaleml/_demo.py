"""``python -m scaleml demo``: an out-of-core fit of a whole pipeline on generated data."""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

__all__ = ["main", "peak_rss_mb"]


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far, in MiB (Linux: VmHWM)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m scaleml demo",
        description="Generate a parquet dataset and fit a scaleml pipeline on it out-of-core.",
    )
    parser.add_argument("--rows", type=int, default=20_000_000, help="rows to generate")
    parser.add_argument(
        "--data",
        type=Path,
        default=Path("scaleml-demo-data"),
        help="directory the dataset is cached in",
    )
    parser.add_argument("--max-iter", type=int, default=30, help="Newton iterations at most")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Run the demo; returns the process exit status."""
    args = _parse(argv)
    import polars.selectors as cs
    from sklearn.pipeline import make_pipeline

    import scaleml as sm
    from scaleml.datasets import make_dataset

    t0 = time.perf_counter()
    path = make_dataset(args.rows, args.data)
    size = sum(p.stat().st_size for p in path.glob("*.parquet"))
    print(
        f"data: {args.rows:,} rows in {path} ({size / 2**30:.2f} GiB parquet, "
        f"{args.rows * 25 * 8 / 2**30:.1f} GiB as float64 in memory) "
        f"[{time.perf_counter() - t0:.1f} s]"
    )

    files = sorted(str(p) for p in path.glob("*.parquet"))
    # The last file is held out: a split that needs no pass over the data.
    train = sm.scan(files[:-1]).drop("target", "cat100k")
    test = sm.scan(files[-1:]).drop("target", "cat100k")
    pipe = make_pipeline(
        sm.SimpleImputer(strategy="mean", columns=cs.numeric()),
        sm.StandardScaler(columns=cs.numeric()),
        sm.OneHotEncoder(
            columns=["cat10", "cat1000"],
            handle_unknown="ignore",
            min_frequency=0.002,
            sparse_output=False,
        ),
        # Newton-Cholesky: one pass per Newton step, ~5-10 passes instead of ~50-100.
        sm.LogisticRegression(C=1.0, solver="newton-cholesky", max_iter=args.max_iter, verbose=1),
    )
    t1 = time.perf_counter()
    pipe.fit(train, y="label")
    fit_s = time.perf_counter() - t1
    t2 = time.perf_counter()
    accuracy = pipe.score(test, y="label")
    score_s = time.perf_counter() - t2
    model = pipe[-1]
    print(
        f"fit: {fit_s:.1f} s, {int(model.n_iter_[0])} Newton iterations "
        f"({model.n_passes_} passes over the data), "
        f"{model.n_features_in_} features after encoding"
    )
    print(f"held-out accuracy: {accuracy:.4f} [{score_s:.1f} s]")
    print(f"peak memory (RSS): {peak_rss_mb():,.0f} MiB, with {os.cpu_count()} cores")
    return 0


if __name__ == "__main__":
    sys.exit(main())
