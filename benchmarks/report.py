"""Summarize a pytest-benchmark JSON file as one markdown table per benchmark group.

Usage::

    python benchmarks/report.py results.json

A benchmark whose name contains ``scaleml`` is scaleml's own; every other one is a peer.
The ratio column divides each mean time by the fastest peer's mean in the same group (or by
the fastest benchmark when a group has no peer).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

__all__ = ["format_report", "main"]


def format_report(results: dict[str, Any]) -> str:
    """Render pytest-benchmark results as markdown.

    Parameters
    ----------
    results : dict
        The parsed ``--benchmark-json`` output.

    Returns
    -------
    str
        A header line and one markdown table per group, groups sorted by name.
    """
    groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for bench in results.get("benchmarks", []):
        groups[bench.get("group") or "(no group)"].append(bench)
    sections = [_header(results)]
    sections += [_group_table(name, groups[name]) for name in sorted(groups)]
    return "\n\n".join(sections) + "\n"


def _header(results: dict[str, Any]) -> str:
    meta = results.get("scaleml", {})
    cpu = results.get("machine_info", {}).get("cpu", {})
    parts = []
    if "rows" in meta:
        parts.append(f"{meta['rows']:,} rows")
    if "rounds" in meta:
        parts.append(f"{meta['rounds']} rounds")
    if cpu:
        parts.append(f"{cpu.get('count', '?')} CPUs ({cpu.get('brand_raw', 'unknown CPU')})")
    if results.get("datetime"):
        parts.append(results["datetime"])
    return "# Benchmarks" + (f"\n\n{', '.join(parts)}" if parts else "")


def _group_table(group: str, benches: list[dict[str, Any]]) -> str:
    benches = sorted(benches, key=lambda b: b["stats"]["mean"])
    baseline = _fastest_peer_mean(benches)
    lines = [
        f"## {group}",
        "",
        "| benchmark | mean s | peak RSS MB | vs fastest peer |",
        "|---|---:|---:|---:|",
    ]
    for bench in benches:
        mean = bench["stats"]["mean"]
        rss = bench.get("extra_info", {}).get("peak_rss_mb")
        rss_cell = f"{rss:,.0f}" if rss is not None else "n/a"
        ratio = f"{mean / baseline:.2f}x" if baseline > 0 else "n/a"
        lines.append(f"| {_display_name(bench)} | {mean:.3f} | {rss_cell} | {ratio} |")
    return "\n".join(lines)


def _fastest_peer_mean(benches: list[dict[str, Any]]) -> float:
    peers = [b for b in benches if not _is_scaleml(b)] or benches
    return min(float(b["stats"]["mean"]) for b in peers)


def _is_scaleml(bench: dict[str, Any]) -> bool:
    return "scaleml" in bench["name"]


def _display_name(bench: dict[str, Any]) -> str:
    name = bench["name"].removeprefix("test_")
    return f"**{name}**" if _is_scaleml(bench) else name


def main(argv: list[str] | None = None) -> int:
    """Print the markdown report of a ``--benchmark-json`` file.

    Parameters
    ----------
    argv : list of str, optional
        Arguments; ``sys.argv[1:]`` by default.

    Returns
    -------
    int
        Process exit status.
    """
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("json_file", type=Path, help="output of pytest --benchmark-json")
    args = parser.parse_args(argv)
    print(format_report(json.loads(args.json_file.read_text())), end="")
    return 0


if __name__ == "__main__":
    sys.exit(main())
