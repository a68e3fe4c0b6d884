"""One BLAS thread around streaming passes, cheaply and once per pass of many fits."""

from __future__ import annotations

import functools
from contextlib import AbstractContextManager, nullcontext
from typing import Any

from threadpoolctl import ThreadpoolController

from scaleml import _shared_scan

__all__ = ["one_blas_thread", "single_blas_thread"]


@functools.cache
def _controller() -> ThreadpoolController:
    # Listing the loaded BLAS libraries walks every shared object of the process
    # (milliseconds); ``threadpool_limits`` does it at each call, 40 concurrent fits
    # did it twice per pass each, holding the GIL. The libraries are all loaded by
    # the time a fit first asks (NumPy's and SciPy's, imported with scaleml).
    return ThreadpoolController()


def single_blas_thread() -> AbstractContextManager[Any]:
    """Limit BLAS to one thread for a pass over the data.

    The per-block products of tall, thin blocks are memory-bound, and OpenBLAS workers
    spinning next to the engine's decoding threads oversubscribe the cores (measured:
    several times slower, up to 100 times, on 2 busy cores); parallelism comes from
    ``n_jobs`` partitions instead. Inside a shared scan the scan sets the limit once
    for all its fits (a no-op here): the limit is process-wide, and fits entering and
    leaving it concurrently would restore each other's settings.
    """
    if _shared_scan.current() is not None:
        return nullcontext()
    return one_blas_thread()


def one_blas_thread() -> AbstractContextManager[Any]:
    """Limit BLAS to one thread (unconditionally; see :func:`single_blas_thread`)."""
    limit: AbstractContextManager[Any] = _controller().limit(limits=1, user_api="blas")
    return limit
