"""Cached synthetic datasets for the benchmarks (see :mod:`scaleml.datasets`).

Run as a script to pre-generate one::

    python benchmarks/_data.py --rows 20000000 --out DIR
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from scaleml.datasets import CATEGORICALS, feature_names
from scaleml.datasets import make_dataset as _make_dataset

__all__ = ["CATEGORICALS", "DEFAULT_ROOT", "feature_names", "make_dataset"]

#: Where datasets are cached by default (gitignored).
DEFAULT_ROOT = Path(__file__).resolve().parent / "_data"


def make_dataset(
    n_rows: int,
    *,
    n_features: int = 20,
    n_files: int = 8,
    seed: int = 0,
    root: Path | None = None,
) -> Path:
    """Return the directory of the cached dataset, generating it under `root` if needed.

    Returns
    -------
    Path
    """
    return _make_dataset(
        n_rows, root or DEFAULT_ROOT, n_features=n_features, n_files=n_files, seed=seed
    )


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Generate a cached synthetic parquet dataset.")
    parser.add_argument("--rows", type=int, required=True, help="total number of rows")
    parser.add_argument("--features", type=int, default=20, help="number of float features")
    parser.add_argument("--files", type=int, default=8, help="number of parquet files")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--out", type=Path, default=None, help=f"cache root directory (default: {DEFAULT_ROOT})"
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point; prints the dataset directory, build time and size.

    Parameters
    ----------
    argv : list of str, optional
        Arguments; ``sys.argv[1:]`` by default.

    Returns
    -------
    int
        Process exit status.
    """
    args = _parse_args(argv)
    start = time.perf_counter()
    path = make_dataset(
        args.rows, n_features=args.features, n_files=args.files, seed=args.seed, root=args.out
    )
    seconds = time.perf_counter() - start
    size = sum(p.stat().st_size for p in path.glob("*.parquet"))
    print(f"{path}\n{seconds:.1f} s, {size / 2**20:.0f} MiB on disk")
    return 0


if __name__ == "__main__":
    sys.exit(main())
