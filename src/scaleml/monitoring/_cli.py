"""``python -m scaleml drift REFERENCE CURRENT``: exit 1 on drift, 0 without, 2 on errors."""

from __future__ import annotations

import argparse
import sys

__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m scaleml drift",
        description=(
            "Test CURRENT data for drift against REFERENCE data (paths or globs of parquet, "
            "csv or ipc files). Prints one row per column; exits 1 when a column drifted, "
            "0 otherwise, 2 on usage errors."
        ),
    )
    parser.add_argument("reference", help="reference data: path or glob")
    parser.add_argument("current", help="current data: path or glob")
    parser.add_argument("--html", metavar="PATH", help="write the HTML report there")
    parser.add_argument("--columns", help="comma-separated columns to monitor (default: all)")
    parser.add_argument("--bins", type=int, default=20, help="numeric bins (default 20)")
    parser.add_argument("--psi-threshold", type=float, default=0.2)
    parser.add_argument("--ks-alpha", type=float, default=0.01)
    parser.add_argument("--js-threshold", type=float, default=0.1)
    parser.add_argument("--chi2-alpha", type=float, default=0.01)
    parser.add_argument("--null-rate-threshold", type=float, default=0.05)
    return parser


def main(argv: list[str]) -> int:
    """Run the drift command; returns the exit code.

    Examples
    --------
    >>> main(["--help"])  # doctest: +ELLIPSIS
    usage: python -m scaleml drift ...
    0
    """
    try:
        args = _parser().parse_args(argv)
    except SystemExit as exc:  # argparse exits 0 on --help, 2 on a usage error
        return int(exc.code or 0)
    import polars as pl

    from scaleml.monitoring._monitor import DriftMonitor

    columns = [c.strip() for c in args.columns.split(",") if c.strip()] if args.columns else None
    monitor = DriftMonitor(
        columns=columns,
        n_bins=args.bins,
        psi_threshold=args.psi_threshold,
        ks_alpha=args.ks_alpha,
        js_threshold=args.js_threshold,
        chi2_alpha=args.chi2_alpha,
        null_rate_threshold=args.null_rate_threshold,
    )
    try:
        monitor.fit(args.reference)
        report = monitor.report(args.current, path=args.html)
    except (FileNotFoundError, ValueError, TypeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    with pl.Config(tbl_rows=-1, tbl_cols=-1, tbl_width_chars=240, tbl_hide_dataframe_shape=True):
        print(report.table)
    verdict = (
        f"drift in {len(report.drifted_columns)} column(s): {', '.join(report.drifted_columns)}"
        if report.drifted
        else "no drift"
    )
    print(verdict)
    if args.html:
        print(f"report written to {args.html}")
    return 1 if report.drifted else 0
