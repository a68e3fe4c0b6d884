"""Peak-memory measurement of one call, isolated in a fresh ``spawn`` subprocess.

A fresh interpreter is the only way to get a peak RSS that belongs to the measured call
alone: in the pytest process the high-water mark is shared with everything that ran
before. On Linux the child reads its own ``VmHWM`` rather than ``ru_maxrss``, which is
inherited across ``execve`` from the launching process. The child's baseline (the
interpreter plus whatever the function imports) is included, as it is for a user.
"""

from __future__ import annotations

import multiprocessing
import resource
import sys
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

__all__ = ["peak_rss_of", "record_peak_rss"]


def peak_rss_of(func: Callable[..., Any], *args: Any, **kwargs: Any) -> tuple[float, float]:
    """Run ``func(*args, **kwargs)`` once in a fresh subprocess and measure it.

    Parameters
    ----------
    func : callable
        A module-level (picklable) function; the module must be importable in the child,
        which inherits the parent's ``sys.path``.
    *args, **kwargs
        Picklable arguments of `func`.

    Returns
    -------
    seconds : float
        Wall time of the call, measured inside the child: excludes interpreter start-up
        and unpickling, includes imports that `func` itself performs (a cold first call).
    peak_rss_mb : float
        The child's peak resident set size in MiB at the end of the call: ``VmHWM`` of
        ``/proc/self/status`` on Linux, ``ru_maxrss`` elsewhere.

    Raises
    ------
    Exception
        Whatever `func` raised in the child.
    concurrent.futures.process.BrokenProcessPool
        If the child died, e.g. killed by the OOM killer.
    """
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=1, mp_context=context) as pool:
        return pool.submit(_timed_call, func, args, kwargs).result()


def record_peak_rss(
    benchmark: Any, func: Callable[..., Any], *args: Any, **kwargs: Any
) -> tuple[float, float]:
    """Measure `func` with :func:`peak_rss_of` and store it in ``benchmark.extra_info``.

    Parameters
    ----------
    benchmark : pytest_benchmark.fixture.BenchmarkFixture
        The ``benchmark`` fixture of the running test.
    func : callable
        A module-level (picklable) function.
    *args, **kwargs
        Picklable arguments of `func`.

    Returns
    -------
    seconds, peak_rss_mb : float
        As returned by :func:`peak_rss_of`; also stored under the ``extra_info`` keys
        ``subprocess_seconds`` and ``peak_rss_mb``.
    """
    seconds, peak_mb = peak_rss_of(func, *args, **kwargs)
    benchmark.extra_info["subprocess_seconds"] = seconds
    benchmark.extra_info["peak_rss_mb"] = peak_mb
    return seconds, peak_mb


def _timed_call(
    func: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]
) -> tuple[float, float]:
    start = time.perf_counter()
    result = func(*args, **kwargs)
    seconds = time.perf_counter() - start
    peak_mb = _peak_rss_mb()
    del result
    return seconds, peak_mb


def _peak_rss_mb() -> float:
    # On Linux, ru_maxrss survives execve(): a spawned child reports at least the peak RSS
    # of the process that launched it (the pytest process, which may have held GBs).
    # VmHWM belongs to the child's own address space, so it is the child's true peak.
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 2**10
    maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    # ru_maxrss is in bytes on macOS and in KiB elsewhere.
    return maxrss / 2**20 if sys.platform == "darwin" else maxrss / 2**10
