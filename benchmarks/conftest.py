"""Fixtures of the scaleml benchmark suite.

Environment variables
---------------------
SCALEML_BENCH_ROWS
    Rows of the synthetic dataset (default 10_000_000); generated once and cached in
    ``benchmarks/_data/``.
SCALEML_BENCH_ROUNDS
    Timed in-process rounds per benchmark (default 3), after one warm-up round.
SCALEML_BENCH_MEMORY_CAP_GB
    Address-space cap of the subprocess that measures peak memory (default 20; 0: no
    cap). A benchmark that runs out of memory there is skipped and listed under
    ``scaleml.out_of_memory`` in the ``--benchmark-json`` output.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Sequence
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Any

import pytest

# The spawn subprocess of the RSS measurement unpickles functions by module name, so the
# helper modules must be importable as top-level modules (the child inherits sys.path).
_HERE = str(Path(__file__).resolve().parent)
if _HERE not in sys.path:
    sys.path.insert(0, _HERE)

from _data import feature_names, make_dataset  # noqa: E402
from _measure import memory_cap_bytes, record_peak_rss  # noqa: E402

DEFAULT_ROWS = 10_000_000
DEFAULT_ROUNDS = 3
N_FEATURES = 20
#: Benchmarks that ran out of memory in this session (written to the JSON output).
OUT_OF_MEMORY: list[dict[str, Any]] = []


def bench_rows() -> int:
    """Return the dataset size from ``SCALEML_BENCH_ROWS``.

    Returns
    -------
    int
    """
    return int(os.environ.get("SCALEML_BENCH_ROWS", DEFAULT_ROWS))


def bench_rounds() -> int:
    """Return the number of timed rounds from ``SCALEML_BENCH_ROUNDS``.

    Returns
    -------
    int
    """
    return int(os.environ.get("SCALEML_BENCH_ROUNDS", DEFAULT_ROUNDS))


@pytest.fixture(scope="session")
def dataset() -> str:
    """Glob ``"<dir>/*.parquet"`` of the cached synthetic dataset."""
    return str(make_dataset(bench_rows(), n_features=N_FEATURES) / "*.parquet")


@pytest.fixture(scope="session")
def feature_columns() -> list[str]:
    """Names of the float feature columns ``f0 .. f19`` (``f0`` has nulls)."""
    return feature_names(N_FEATURES)


@pytest.fixture
def measured(benchmark: Any) -> Callable[..., Any]:
    """Return ``run(func, *args, **kwargs)``: time `func` in-process, then its peak RSS.

    The timing is ``benchmark.pedantic`` with one warm-up round and
    ``SCALEML_BENCH_ROUNDS`` rounds of one iteration; the peak RSS comes from one extra
    run in a fresh, memory-capped subprocess and lands in ``extra_info``
    (``peak_rss_mb``, ``subprocess_seconds``). That run comes first: when it runs out of
    memory the benchmark is recorded in :data:`OUT_OF_MEMORY` and skipped, never run
    in-process. `func` must be module-level (picklable). ``run`` returns the result of
    the last timed call.
    """

    def run(func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        if not benchmark.disabled:
            try:
                record_peak_rss(benchmark, func, *args, **kwargs)
            except (MemoryError, BrokenProcessPool) as exc:
                _record_out_of_memory(benchmark, exc)
        return benchmark.pedantic(
            func, args=args, kwargs=kwargs, rounds=bench_rounds(), iterations=1, warmup_rounds=1
        )

    return run


def _record_out_of_memory(benchmark: Any, exc: BaseException) -> None:
    cap = memory_cap_bytes()
    OUT_OF_MEMORY.append(
        {
            "name": benchmark.name,
            "fullname": benchmark.fullname,
            "group": benchmark.group,
            "memory_cap_gb": None if cap is None else round(cap / 2**30, 2),
            "error": f"{type(exc).__name__}: {exc}"[:300],
        }
    )
    pytest.skip(f"out of memory (cap {cap} bytes): {type(exc).__name__}")


def pytest_benchmark_update_json(
    config: pytest.Config, benchmarks: Sequence[Any], output_json: dict[str, Any]
) -> None:
    """Record the dataset size, round count and out-of-memory benchmarks in the JSON."""
    output_json["scaleml"] = {
        "rows": bench_rows(),
        "rounds": bench_rounds(),
        "out_of_memory": OUT_OF_MEMORY,
    }
