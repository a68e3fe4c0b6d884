"""A dependency-free progress line for long fits (``verbose=True``)."""

from __future__ import annotations

import logging
import sys
import time
from typing import TextIO

__all__ = ["Progress"]

logger = logging.getLogger("scaleml")


class Progress:
    """Rows/s, pass k of n and ETA on one terminal line; silent unless `verbose`.

    Parameters
    ----------
    verbose : bool or int
    desc : str
        What is being fitted, shown first.
    n_passes : int
        Passes over the data the fit will make at most.
    total_rows : int, optional
        Rows per pass, for the ETA.
    """

    def __init__(
        self,
        verbose: bool | int,
        desc: str,
        n_passes: int = 1,
        total_rows: int | None = None,
        stream: TextIO | None = None,
        interval: float = 0.5,
    ) -> None:
        self.verbose = bool(verbose)
        self.desc = desc
        self.n_passes = n_passes
        self.total_rows = total_rows
        self.stream = stream or sys.stderr
        self.interval = interval
        self.pass_index = 0
        self.rows = 0
        self._start = self._last = time.perf_counter()

    def start_pass(self, index: int) -> None:
        self.pass_index = index
        self.rows = 0
        self._start = time.perf_counter()

    def update(self, rows: int) -> None:
        self.rows += rows
        now = time.perf_counter()
        if self.verbose and now - self._last >= self.interval:
            self._last = now
            self._draw(now)

    def end_pass(self, **metrics: float) -> None:
        shown = " ".join(f"{k}={v:.6g}" for k, v in metrics.items())
        logger.info(
            "%s pass %d/%d: %d rows %s",
            self.desc,
            self.pass_index + 1,
            self.n_passes,
            self.rows,
            shown,
        )
        if self.verbose:
            self._draw(time.perf_counter(), suffix=" " + shown if shown else "")
            self.stream.write("\n")
            self.stream.flush()

    def _draw(self, now: float, suffix: str = "") -> None:
        elapsed = max(now - self._start, 1e-9)
        rate = self.rows / elapsed
        eta = ""
        if self.total_rows and rate > 0:
            left = (
                self.total_rows
                - self.rows
                + self.total_rows * (self.n_passes - self.pass_index - 1)
            )
            eta = f" ETA {max(left, 0) / rate:,.0f}s"
        line = (
            f"\r{self.desc}: pass {self.pass_index + 1}/{max(self.n_passes, self.pass_index + 1)} "
            f"{self.rows:,} rows {rate:,.0f} rows/s{eta}{suffix}"
        )
        self.stream.write(line)
        self.stream.flush()
