"""Run the benchmark suite at several sizes and render the documentation's benchmark page.

Usage::

    python benchmarks/make_report.py                      # 2M, 10M and 40M rows
    python benchmarks/make_report.py --rows 20000 50000   # a quick check of the pipeline
    python benchmarks/make_report.py --groups logistic,kmeans
    python benchmarks/make_report.py --skip-run           # re-render from saved results
    python benchmarks/make_report.py --rows 10000000 --groups fit_many --merge
                                                          # re-run some, keep the rest

For every row count the suite (``pytest benchmarks``) runs with ``SCALEML_BENCH_ROWS``
set, and its ``--benchmark-json`` output is saved as ``benchmarks/results/rows<N>.json``
(with the pytest log and a JUnit XML file beside it, and ``machine.json`` describing the
machine). Then ``docs/benchmarks.rst`` is written from every saved result: per group of
benchmarks, a table of mean time, peak resident memory and the ratio to the fastest
peer, and a plot of time and peak memory against rows (``docs/_static/bench/*.png``).

A benchmark that runs out of memory in its memory-capped subprocess (see
``benchmarks/_measure.py``; ``--memory-cap-gb``) is skipped and shown as "out of
memory". The pytest process itself is watched too: past the cap plus
``PARENT_HEADROOM_GB`` of resident memory it is killed (that size is then reported as
not run), so nothing the suite runs can push the machine into the kernel's
out-of-memory killer.
"""

from __future__ import annotations

import argparse
import ast
import datetime as dt
import json
import os
import platform
import signal
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections import defaultdict
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

__all__ = ["Result", "load_results", "main", "render_page", "run_suite"]

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
DEFAULT_ROWS = [2_000_000, 10_000_000, 40_000_000]
RESULTS = HERE / "results"
DOCS = ROOT / "docs"
#: Benchmarks that are a group's unit of measure, left out of the summary's best.
UNITS = {"scaleml_one_fit"}
#: Headroom of the pytest process over the measured children's cap (GiB): it runs the
#: in-process timing rounds of the benchmarks that fit under the cap in their child.
PARENT_HEADROOM_GB = 2.0
LIBRARIES = [
    "scaleml", "polars", "duckdb", "pyarrow", "numpy", "scipy", "scikit-learn", "pandas",
    "numba", "dask",
]  # fmt: skip


# -- running ----------------------------------------------------------------------------
def run_suite(
    rows: int,
    *,
    groups: list[str],
    results: Path,
    memory_cap_gb: float,
    extra_args: list[str],
    merge: bool = False,
) -> int:
    """Run the benchmark modules at `rows` rows, one pytest process each; merge their
    results into ``rows<N>.json``. Returns 0, or 1 if a module failed or was killed.

    One process per module keeps a pytest process killed for its memory from taking the
    results of the other modules with it.
    """
    parts = results / f"rows{rows}"
    parts.mkdir(parents=True, exist_ok=True)
    for old in parts.iterdir():
        old.unlink()
    env = {
        **os.environ,
        "SCALEML_BENCH_ROWS": str(rows),
        "SCALEML_BENCH_MEMORY_CAP_GB": str(memory_cap_gb),
    }
    parent_cap = (memory_cap_gb + PARENT_HEADROOM_GB) * 2**30 if memory_cap_gb > 0 else None
    log = results / f"rows{rows}.log"
    failed = 0
    killed = []
    with log.open("w") as f:
        for module in sorted(HERE.glob("test_bench_*.py")):
            command = [
                sys.executable, "-m", "pytest", str(module.relative_to(ROOT)),
                "-p", "no:cacheprovider", "-q", "-rfEs",
                "--benchmark-json", str(parts / f"{module.stem}.json"),
                "--junitxml", str(parts / f"{module.stem}.xml"),
                # A module whose benchmarks all ran out of memory saves no JSON; that
                # warning must not fail the run (pytest turns warnings into errors).
                "-W", "ignore::pytest_benchmark.logger.PytestBenchmarkWarning",
                *(["-k", " or ".join(groups)] if groups else []),
                *extra_args,
            ]  # fmt: skip
            print(f"[make_report] {rows:,} rows: {module.name}", flush=True)
            f.write(f"\n=== {' '.join(command)}\n")
            f.flush()
            proc = subprocess.Popen(
                command, cwd=ROOT, env=env, stdout=f, stderr=subprocess.STDOUT,
                start_new_session=True,
            )  # fmt: skip
            status = _watch(proc, parent_cap)
            if status is None:
                killed.append(str(module.relative_to(ROOT)))
                print("[make_report]   killed: its pytest process went past the cap", flush=True)
            elif status not in (0, 5):  # 5: every test of the module deselected by -k
                failed = 1
                print(f"[make_report]   pytest exited with {status} (see {log})", flush=True)
    out = results / f"rows{rows}.json"
    previous = json.loads(out.read_text()) if merge and out.exists() else None
    _merge(parts, rows, killed, out)
    if previous is not None:
        _keep_previous(out, previous)
    merged = json.loads(out.read_text())
    merged["scaleml"]["memory_cap_gb"] = memory_cap_gb
    out.write_text(json.dumps(merged, indent=1))
    return 1 if failed or killed else 0


def _keep_previous(out: Path, previous: dict[str, Any]) -> None:
    """Add to `out` the benchmarks of `previous` (an older ``rows<N>.json``) it lacks."""
    merged = json.loads(out.read_text())
    names = {b["fullname"] for b in merged["benchmarks"]}
    names |= {b["fullname"] for b in merged["scaleml"]["out_of_memory"]}
    merged["benchmarks"] = [
        *(b for b in previous.get("benchmarks", []) if b["fullname"] not in names),
        *merged["benchmarks"],
    ]
    oom = previous.get("scaleml", {}).get("out_of_memory", [])
    merged["scaleml"]["out_of_memory"] = [
        *(b for b in oom if b["fullname"] not in names),
        *merged["scaleml"]["out_of_memory"],
    ]
    out.write_text(json.dumps(merged, indent=1))


def _merge(parts: Path, rows: int, killed: list[str], out: Path) -> None:
    """One ``--benchmark-json``-like file from the modules' files and JUnit reports."""
    merged: dict[str, Any] = {"benchmarks": [], "scaleml": {"rows": rows, "out_of_memory": []}}
    for part in sorted(parts.glob("*.json")):
        data = json.loads(part.read_text())
        merged.update({k: v for k, v in data.items() if k not in ("benchmarks", "scaleml")})
        merged["benchmarks"] += data.get("benchmarks", [])
        merged["scaleml"].update({k: v for k, v in data.get("scaleml", {}).items()
                                  if k != "out_of_memory"})  # fmt: skip
        merged["scaleml"]["out_of_memory"] += data.get("scaleml", {}).get("out_of_memory", [])
    merged["scaleml"]["killed_modules"] = killed
    out.write_text(json.dumps(merged, indent=1))
    suites = ET.Element("testsuites")
    for xml in sorted(parts.glob("*.xml")):
        suites.extend(ET.parse(xml).getroot().iter("testsuite"))
    ET.ElementTree(suites).write(out.with_suffix(".xml"))


def _watch(proc: subprocess.Popen[bytes], cap: float | None) -> int | None:
    """Wait for `proc`; kill its session past `cap` resident bytes (then return None)."""
    status = Path(f"/proc/{proc.pid}/status")
    while True:
        try:
            return proc.wait(timeout=0.5)
        except subprocess.TimeoutExpired:
            pass
        try:
            rss = next(
                int(line.split()[1]) * 1024
                for line in status.read_text().splitlines()
                if line.startswith("VmRSS:")
            )
        except (OSError, StopIteration):
            continue
        if cap is not None and rss > cap:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            return None


def describe_machine(memory_cap_gb: float) -> dict[str, Any]:
    """CPU, cores, memory, OS and library versions of this machine."""
    cpu = "unknown CPU"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    ram_gib = None
    meminfo = Path("/proc/meminfo")
    if meminfo.exists():
        for line in meminfo.read_text().splitlines():
            if line.startswith("MemTotal:"):
                ram_gib = int(line.split()[1]) / 2**20
    os_name = platform.platform()
    release = Path("/etc/os-release")
    if release.exists():
        for line in release.read_text().splitlines():
            if line.startswith("PRETTY_NAME="):
                os_name = f"{line.split('=', 1)[1].strip(chr(34))}, Linux {platform.release()}"
    versions = {}
    for name in LIBRARIES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "ram_gib": ram_gib,
        "os": os_name,
        "python": platform.python_version(),
        "versions": versions,
        "memory_cap_gb": memory_cap_gb,
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
    }


# -- loading ----------------------------------------------------------------------------
@dataclass
class Result:
    """One benchmark at one size."""

    group: str
    name: str
    rows: int
    status: str  # "ok", "out of memory", "failed" or "error"
    mean_s: float | None = None
    peak_rss_mb: float | None = None
    module: str = ""

    @property
    def is_scaleml(self) -> bool:
        return "scaleml" in self.name

    @property
    def is_unit(self) -> bool:
        """A reference point of its group (one fit of forty), not a contender."""
        return self.name in UNITS


def _display_name(test_name: str) -> str:
    return test_name.removeprefix("test_")


def _module_of(fullname: str) -> str:
    return fullname.split("::", 1)[0]


def load_results(results: Path) -> list[Result]:
    """Every benchmark of every ``rows<N>.json`` in `results`, with the ones that ran out
    of memory, failed or were killed (from the JSON and the JUnit XML) included."""
    found: list[Result] = []
    seen: dict[int, set[str]] = defaultdict(set)
    files = sorted(results.glob("rows*.json"), key=lambda p: int(p.stem[4:]))
    for path in files:
        data = json.loads(path.read_text())
        meta = data.get("scaleml", {})
        rows = int(meta.get("rows") or path.stem[4:])
        for module in meta.get("killed_modules", []):
            # The tests of a killed module are unknown: one entry under the module's name,
            # put in the groups its tests ran in at other sizes (see _killed_groups).
            found.append(Result("", "(whole module)", rows, "killed: out of memory", module=module))
        for bench in data.get("benchmarks", []):
            seen[rows].add(bench["name"])
            found.append(
                Result(
                    group=bench.get("group") or "(no group)",
                    name=_display_name(bench["name"]),
                    rows=rows,
                    status="ok",
                    mean_s=float(bench["stats"]["mean"]),
                    peak_rss_mb=bench.get("extra_info", {}).get("peak_rss_mb"),
                    module=_module_of(bench.get("fullname", "")),
                )
            )
        for oom in meta.get("out_of_memory", []):
            seen[rows].add(oom["name"])
            found.append(
                Result(
                    group=oom.get("group") or "(no group)",
                    name=_display_name(oom["name"]),
                    rows=rows,
                    status="out of memory",
                    module=_module_of(oom.get("fullname", "")),
                )
            )
    groups = {(r.module, r.name): r.group for r in found if r.group}
    for path in files:
        rows = int(json.loads(path.read_text()).get("scaleml", {}).get("rows") or path.stem[4:])
        found += _from_junit(path.with_suffix(".xml"), rows, seen[rows], groups)
    return _killed_groups(found)


def _from_junit(
    xml: Path, rows: int, seen: set[str], groups: dict[tuple[str, str], str]
) -> list[Result]:
    """Tests of one run that failed, or were skipped as out of memory without a JSON
    record (pytest-benchmark saves no JSON when every benchmark of a module was skipped)."""
    if not xml.exists():
        return []
    extra = []
    for case in ET.parse(xml).getroot().iter("testcase"):
        name = case.get("name", "")
        status = None
        for child in case:
            if child.tag in ("failure", "error"):
                status = "failed"
            elif child.tag == "skipped" and "out of memory" in child.get("message", ""):
                status = "out of memory"
        if status is None or name in seen:
            continue
        module = "benchmarks/" + case.get("classname", "").split(".")[-1] + ".py"
        group = groups.get((module, _display_name(name)))
        group = group or Path(module).stem.removeprefix("test_bench_")
        extra.append(Result(group, _display_name(name), rows, status, module=module))
    return extra


def _killed_groups(found: list[Result]) -> list[Result]:
    """Put a killed module's entry in every group its tests ran in at other sizes."""
    groups_of: dict[str, set[str]] = defaultdict(set)
    for r in found:
        if r.group:
            groups_of[r.module].add(r.group)
    out = [r for r in found if r.group]
    for r in found:
        if not r.group:
            for group in sorted(groups_of.get(r.module) or {Path(r.module).stem}):
                out.append(Result(group, r.name, r.rows, r.status, module=r.module))
    return out


# -- rendering --------------------------------------------------------------------------
def _fmt_rows(n: int) -> str:
    for unit, size in (("M", 1_000_000), ("k", 1_000)):
        if n >= size and n % (size // 10) == 0:
            return f"{n / size:g}{unit}"
    return f"{n:,}"


def _ratio_baselines(results: list[Result]) -> dict[tuple[str, int], float]:
    """Fastest peer's mean per (group, rows); the fastest of all when no peer ran."""
    base: dict[tuple[str, int], float] = {}
    by_key: dict[tuple[str, int], list[Result]] = defaultdict(list)
    for r in results:
        if r.status == "ok" and r.mean_s is not None:
            by_key[(r.group, r.rows)].append(r)
    has_peers = {r.group for r in results if not r.is_scaleml}
    for (group, rows), rs in by_key.items():
        # A group with peers is compared with them only: if none ran at this size (out
        # of memory), there is no ratio rather than a ratio to scaleml itself.
        candidates = [r for r in rs if not r.is_scaleml] if group in has_peers else rs
        if candidates:
            base[(group, rows)] = min(r.mean_s for r in candidates if r.mean_s is not None)
    return base


def _cells(r: Result | None, base: dict[tuple[str, int], float]) -> list[str]:
    if r is None:
        return ["", "", ""]
    if r.status != "ok" or r.mean_s is None:
        return [r.status, "", ""]
    rss = f"{r.peak_rss_mb:,.0f}" if r.peak_rss_mb is not None else "n/a"
    b = base.get((r.group, r.rows))
    ratio = f"{r.mean_s / b:.2f}" if b else "n/a"
    return [f"{r.mean_s:.3g}", rss, ratio]


def _group_table(group: str, rs: list[Result], sizes: list[int], base: Any) -> list[str]:
    names = sorted({r.name for r in rs}, key=lambda n: ("scaleml" not in n, n))
    lookup = {(r.name, r.rows): r for r in rs}
    header = ["implementation"]
    for n in sizes:
        header += [
            f"{_fmt_rows(n)}: time (s)",
            f"{_fmt_rows(n)}: peak RSS (MiB)",
            f"{_fmt_rows(n)}: vs fastest peer",
        ]
    lines = [".. list-table::", "   :header-rows: 1", ""]
    for row in [header] + [
        [f"**{n}**" if "scaleml" in n else n]
        + [c for size in sizes for c in _cells(lookup.get((n, size)), base)]
        for n in names
    ]:
        lines.append(f"   * - {row[0]}")
        lines += [f"     - {cell}" if cell else "     -" for cell in row[1:]]
    return lines


def _plot(group: str, rs: list[Result], out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FixedLocator, FuncFormatter, LogLocator, NullFormatter

    fig, (ax_t, ax_m) = plt.subplots(1, 2, figsize=(10, 3.8), constrained_layout=True)
    names = sorted({r.name for r in rs}, key=lambda n: ("scaleml" not in n, n))
    for name in names:
        mine = sorted((r for r in rs if r.name == name), key=lambda r: r.rows)
        ok = [r for r in mine if r.status == "ok" and r.mean_s is not None]
        style = {"linewidth": 2.5, "zorder": 3} if "scaleml" in name else {"linewidth": 1.5}
        label = name + (
            " (out of memory beyond)" if any(r.status == "out of memory" for r in mine) else ""
        )
        if ok:
            (line,) = ax_t.plot(
                [r.rows for r in ok], [r.mean_s for r in ok], "o-", label=label, **style
            )
            mem = [r for r in ok if r.peak_rss_mb is not None]
            ax_m.plot(
                [r.rows for r in mem],
                [r.peak_rss_mb for r in mem],
                "o-",
                color=line.get_color(),
                **style,
            )
    for ax, title, unit in ((ax_t, "time", "seconds"), (ax_m, "peak memory", "MiB (RSS)")):
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.xaxis.set_major_locator(FixedLocator(sorted({r.rows for r in rs})))
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: _fmt_rows(int(v))))
        ax.yaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
        ax.xaxis.set_minor_formatter(NullFormatter())
        ax.yaxis.set_minor_formatter(NullFormatter())
        ax.set_xlabel("rows")
        ax.set_ylabel(unit)
        ax.set_title(f"{group}: {title}")
        ax.grid(True, which="both", alpha=0.3)
    if ax_t.get_legend_handles_labels()[0]:
        ax_t.legend(fontsize=7, loc="upper left")
    else:
        for ax in (ax_t, ax_m):
            ax.text(0.5, 0.5, "no run finished", ha="center", transform=ax.transAxes)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110)
    plt.close(fig)


def _module_summary(module: str) -> str:
    path = ROOT / module
    if not module or not path.exists():
        return ""
    doc = ast.get_docstring(ast.parse(path.read_text())) or ""
    return doc.split("\n\n")[0].replace("\n", " ").strip()


def _machine_section(machine: dict[str, Any] | None) -> list[str]:
    if machine is None:
        machine = describe_machine(0)
        lines = ["(No ``machine.json`` was saved with these results: this machine is shown.)", ""]
    else:
        lines = []
    versions = ", ".join(f"{k} {v}" for k, v in machine.get("versions", {}).items())
    ram = machine.get("ram_gib")
    lines += [
        f"- **CPU**: {machine.get('cpu')}, {machine.get('cores')} cores",
        f"- **Memory**: {ram:.1f} GiB" if ram else "- **Memory**: unknown",
        f"- **OS**: {machine.get('os')}",
        f"- **Python** {machine.get('python')}; {versions}",
    ]
    runs = machine.get("runs")
    if not runs:
        lines.append(
            f"- **Run**: {machine.get('date', 'unknown date')}; measured subprocesses capped "
            f"at {machine.get('memory_cap_gb')} GiB of resident memory"
        )
        return lines
    lines += ["- **Runs** (measured subprocesses capped at the resident memory shown):", ""]
    lines += [
        f"  - {int(rows):,} rows: {run['date']}, cap {run['memory_cap_gb']} GiB"
        for rows, run in sorted(runs.items(), key=lambda item: int(item[0]))
    ]
    return lines


def _runs(results: Path) -> dict[str, dict[str, Any]]:
    """Date and memory cap of each saved size (results saved without a cap used the
    default of the time, 20 GiB)."""
    runs = {}
    for path in results.glob("rows*.json"):
        data = json.loads(path.read_text())
        meta = data.get("scaleml", {})
        rows = str(meta.get("rows") or path.stem[4:])
        date = str(data.get("datetime", "unknown date"))[:16].replace("T", " ") + " UTC"
        runs[rows] = {"date": date, "memory_cap_gb": meta.get("memory_cap_gb", 20.0)}
    return runs


def _summary(results: list[Result], base: dict[tuple[str, int], float]) -> list[str]:
    """One line per group at its largest size: scaleml's best against the fastest peer."""
    rows = []
    for group in sorted({r.group for r in results}):
        size = max(r.rows for r in results if r.group == group)
        rs = [r for r in results if r.group == group and r.rows == size]
        ours = [
            r
            for r in rs
            if r.is_scaleml and r.status == "ok" and r.mean_s is not None and not r.is_unit
        ]
        peers = [r for r in rs if not r.is_scaleml]
        if not ours or not peers:
            continue
        best = min(ours, key=lambda r: r.mean_s or 0.0)
        ran = [r for r in peers if r.status == "ok" and r.mean_s is not None]
        fastest = min(ran, key=lambda r: r.mean_s or 0.0) if ran else None
        oom = ", ".join(r.name for r in peers if r.status != "ok") or ""
        rows.append(
            [
                f"``{group}`` ({size:,} rows)",
                f"{best.name}: {best.mean_s:.3g} s, {best.peak_rss_mb or 0:,.0f} MiB",
                f"{fastest.name}: {fastest.mean_s:.3g} s, {fastest.peak_rss_mb or 0:,.0f} MiB"
                if fastest
                else "",
                f"{(best.mean_s or 0.0) / base[(group, size)]:.2f}"
                if (group, size) in base
                else "",
                oom,
            ]
        )
    if not rows:
        return []
    lines = [
        "Summary",
        "-------",
        "",
        "At the largest size each group ran: the fastest scaleml benchmark of the group "
        "against the fastest peer (time, peak RSS), and the peers that did not finish.",
        "",
        ".. list-table::",
        "   :header-rows: 1",
        "",
    ]
    header = ["group", "scaleml", "fastest peer", "time vs fastest peer", "did not finish"]
    for row in [header, *rows]:
        lines.append(f"   * - {row[0]}")
        lines += [f"     - {cell}" if cell else "     -" for cell in row[1:]]
    return [*lines, ""]


def render_page(results: list[Result], machine: dict[str, Any] | None, docs: Path) -> Path:
    """Write ``docs/benchmarks.rst`` and its plots; return the page's path."""
    sizes = sorted({r.rows for r in results})
    base = _ratio_baselines(results)
    groups: dict[str, list[Result]] = defaultdict(list)
    for r in results:
        groups[r.group].append(r)
    static = docs / "_static" / "bench"
    for old in static.glob("*.png") if static.exists() else []:
        old.unlink()
    lines = [
        ".. This page is generated by benchmarks/make_report.py; do not edit.",
        "",
        "Benchmarks",
        "==========",
        "",
        "scaleml against its peers on synthetic parquet data "
        "(:func:`scaleml.datasets.make_dataset`: 20 float features, three string columns "
        "of 10, 1,000 and 100,000 levels, a target and a binary label, in 8 files) at "
        + ", ".join(f"{n:,}" for n in sizes)
        + " rows. "
        "A peer is the same computation done another way: pandas + scikit-learn "
        "(everything in memory), a hand-written Polars or DuckDB query (the engine's "
        "speed limit for a one-pass statistic), or scikit-learn's own out-of-core tool.",
        "",
        "- **time**: mean wall time of the in-process timed rounds (after one warm-up).",
        "- **peak RSS**: peak resident memory (``VmHWM``) of one run in a fresh "
        "subprocess, interpreter and imports included.",
        "- **vs fastest peer**: time divided by the fastest peer's time in the same group "
        "and size; below 1 is faster.",
        "- **out of memory**: the run needed more memory than the cap "
        "and was stopped (it would not fit on this machine).",
        "",
        "Regenerate this page (it takes hours at the default sizes) with:",
        "",
        ".. code-block:: bash",
        "",
        "   python benchmarks/make_report.py            # or --rows 2000000 10000000 40000000",
        "",
        "Machine",
        "-------",
        "",
        *_machine_section(machine),
        "",
        *_summary(results, base),
    ]
    for group in sorted(groups):
        rs = groups[group]
        image = static / f"{group}.png"
        _plot(group, rs, image)
        title = f"``{group}``"
        summary = _module_summary(next((r.module for r in rs if r.module), ""))
        lines += [title, "-" * len(title), ""]
        if summary:
            lines += [summary, ""]
        lines += [
            f".. image:: /_static/bench/{group}.png",
            f"   :alt: {group}: time and peak memory against rows",
            "",
            *_group_table(group, rs, sizes, base),
            "",
        ]
    page = docs / "benchmarks.rst"
    page.write_text("\n".join(lines) + "\n")
    return page


# -- command line -----------------------------------------------------------------------
def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--rows",
        type=int,
        nargs="+",
        default=None,
        help="dataset sizes (default: 2M 10M 40M; with --skip-run: every saved size)",
    )
    parser.add_argument(
        "--groups", default="", help="comma-separated pytest -k keywords selecting benchmarks"
    )
    parser.add_argument(
        "--skip-run", action="store_true", help="only re-render the page from the saved results"
    )
    parser.add_argument(
        "--memory-cap-gb",
        type=float,
        default=20.0,
        help="address-space cap of each measured subprocess (0: none)",
    )
    parser.add_argument(
        "--merge",
        action="store_true",
        help="keep the saved results of the benchmarks not run this time (with --groups)",
    )
    parser.add_argument("--results", type=Path, default=RESULTS, help="results directory")
    parser.add_argument("--docs", type=Path, default=DOCS, help="documentation directory")
    parser.add_argument("pytest_args", nargs="*", help="extra arguments for pytest (after --)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Run the suite at every size (unless ``--skip-run``), then write the page.

    Returns
    -------
    int
        0, or 1 when a pytest run failed (the page is written all the same).
    """
    args = _parse(argv)
    status = 0
    if not args.skip_run and args.rows is None:
        args.rows = DEFAULT_ROWS
    if not args.skip_run:
        groups = [g.strip() for g in args.groups.split(",") if g.strip()]
        machine = describe_machine(args.memory_cap_gb)
        args.results.mkdir(parents=True, exist_ok=True)
        (args.results / "machine.json").write_text(json.dumps(machine, indent=1))
        for rows in args.rows:
            code = run_suite(
                rows,
                groups=groups,
                results=args.results,
                memory_cap_gb=args.memory_cap_gb,
                extra_args=args.pytest_args,
                merge=args.merge,
            )
            status = status or int(code not in (0, 5))
    results = load_results(args.results)
    if args.rows is not None:
        results = [r for r in results if r.rows in set(args.rows)]
    if not results:
        print(f"[make_report] no results in {args.results}", file=sys.stderr)
        return 1
    machine_file = args.results / "machine.json"
    machine = json.loads(machine_file.read_text()) if machine_file.exists() else None
    if machine is not None:
        sizes = {str(r.rows) for r in results}
        machine["runs"] = {k: v for k, v in _runs(args.results).items() if k in sizes}
    page = render_page(results, machine, args.docs)
    print(f"[make_report] wrote {page} and {len({r.group for r in results})} plots")
    return status


if __name__ == "__main__":
    sys.exit(main())
