"""Peak-memory measurement of one call, isolated in a fresh ``spawn`` subprocess.

A fresh interpreter is the only way to get a peak RSS that belongs to the measured call
alone: in the pytest process the high-water mark is shared with everything that ran
before. On Linux the child reads its own ``VmHWM`` rather than ``ru_maxrss``, which is
inherited across ``execve`` from the launching process. The child's baseline (the
interpreter plus whatever the function imports) is included, as it is for a user.

The child's memory is capped (:func:`memory_cap_bytes`): the parent polls the resident
set of the child and its descendants and kills them past the cap, raising
``MemoryError``, so a peer that needs more memory than the machine has is recorded as
out of memory instead of pushing the machine into the kernel's out-of-memory killer.
(An ``RLIMIT_AS`` cap in the child was tried first: Polars deadlocks when a thread or an
allocation fails under it, instead of raising.)
"""

from __future__ import annotations

import multiprocessing
import os
import resource
import signal
import sys
import time
from collections.abc import Callable
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Any

__all__ = [
    "call_capped",
    "memory_cap_bytes",
    "peak_rss_of",
    "record_peak_rss",
    "reference_or_none",
]

#: Default memory cap of a measured child, in GiB (``SCALEML_BENCH_MEMORY_CAP_GB``).
DEFAULT_MEMORY_CAP_GB = 20.0
#: Seconds between two looks at the child's resident memory.
POLL_SECONDS = 0.1


def memory_cap_bytes() -> int | None:
    """The resident-memory cap of measured children: ``SCALEML_BENCH_MEMORY_CAP_GB`` GiB.

    Returns
    -------
    int or None
        Bytes; None (no cap) when the variable is 0 or negative.
    """
    gb = float(os.environ.get("SCALEML_BENCH_MEMORY_CAP_GB", DEFAULT_MEMORY_CAP_GB))
    return int(gb * 2**30) if gb > 0 else None


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
        Whatever `func` raised in the child; ``MemoryError`` when it needed more than
        :func:`memory_cap_bytes` of resident memory.
    concurrent.futures.process.BrokenProcessPool
        If the child died, e.g. killed by the OOM killer.
    """
    return call_capped(_timed_call, func, args, kwargs)


def call_capped(func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Return ``func(*args, **kwargs)`` computed in a fresh, memory-capped subprocess.

    The child is a ``spawn``-ed interpreter; while it runs, the resident memory of it and
    its descendants is read every :data:`POLL_SECONDS` and the whole tree is killed past
    :func:`memory_cap_bytes`. `func`, its arguments and its result must be picklable.

    Raises
    ------
    MemoryError
        When the child went past the cap (or raised it itself).
    Exception
        Whatever else `func` raised in the child.
    concurrent.futures.process.BrokenProcessPool
        If the child died, e.g. killed by the OOM killer.
    """
    cap = memory_cap_bytes()
    context = multiprocessing.get_context("spawn")
    receive, send = context.Pipe(duplex=False)
    child = context.Process(target=_child_main, args=(send, func, args, kwargs))
    child.start()
    send.close()
    try:
        while not receive.poll(POLL_SECONDS):
            rss, tree = _tree_rss(child.pid)
            if cap is not None and rss > cap:
                _kill(tree)
                msg = (
                    f"{_name(func, args)} went past the memory cap: "
                    f"{rss / 2**30:.1f} GiB resident > {cap / 2**30:.1f} GiB "
                    "(SCALEML_BENCH_MEMORY_CAP_GB)"
                )
                raise MemoryError(msg)
            if not child.is_alive() and not receive.poll(0):
                break
        try:
            ok, payload = receive.recv()
        except EOFError:
            msg = (
                f"the measured child process died with exit code {child.exitcode} "
                "(killed, e.g. by the out-of-memory killer, or crashed)"
            )
            raise BrokenProcessPool(msg) from None
    finally:
        if child.is_alive():
            _kill(_tree_rss(child.pid)[1])
        child.join()
        receive.close()
    if ok:
        return payload
    raise payload


def _name(func: Callable[..., Any], args: tuple[Any, ...]) -> str:
    target = args[0] if func is _timed_call and args else func
    return str(getattr(target, "__name__", target))


def _child_main(
    conn: Any, func: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]
) -> None:
    try:
        outcome: tuple[bool, Any] = (True, func(*args, **kwargs))
    except BaseException as exc:  # handed to the parent, which re-raises it
        outcome = (False, exc)
    try:
        conn.send(outcome)
    except Exception as exc:  # an unpicklable result or exception
        conn.send((False, RuntimeError(f"{outcome[1]!r} could not be sent back: {exc}")))
    conn.close()


def _tree_rss(pid: int) -> tuple[int, list[int]]:
    """Resident bytes of `pid` and its descendants (Linux ``/proc``; 0 elsewhere)."""
    total, seen, stack = 0, [], [pid]
    while stack:
        p = stack.pop()
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1]) * 1024
            for task in Path(f"/proc/{p}/task").iterdir():
                stack += [int(c) for c in (task / "children").read_text().split()]
        except (OSError, ValueError):
            continue
        seen.append(p)
    return total, seen


def _kill(pids: list[int]) -> None:
    for p in pids:
        try:
            os.kill(p, signal.SIGKILL)
        except OSError:
            pass


def reference_or_none(func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """``func(*args, **kwargs)`` computed by :func:`call_capped`; None if out of memory.

    For the reference result a benchmark checks its output against (scikit-learn on
    pandas): at sizes where scikit-learn cannot run, None means "no check", and the
    benchmark of scaleml still runs.
    """
    try:
        return call_capped(func, *args, **kwargs)
    except (MemoryError, BrokenProcessPool):
        return None


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
