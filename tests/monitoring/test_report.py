"""The HTML drift report and the ``python -m scaleml drift`` command."""

from __future__ import annotations

import re
import subprocess
import sys

import numpy as np
import polars as pl
import pytest

from scaleml.__main__ import _main
from scaleml.monitoring import DriftMonitor, DriftReport


def _data(tmp_path, shift: float):
    rng = np.random.default_rng(0)

    def frame(n: int, loc: float) -> pl.DataFrame:
        return pl.DataFrame(
            {
                "amount": rng.normal(loc, 1.0, size=n),
                "city": rng.choice(["Paris", "Oslo", "Lima"], n),
                "flag": rng.random(n) < 0.4,
            }
        )

    ref, cur = frame(800, 0.0), frame(600, shift)
    for name, df in (("ref", ref), ("cur", cur)):
        (tmp_path / name).mkdir()
        df.head(400).write_parquet(tmp_path / name / "part-0.parquet")
        df.tail(df.height - 400).write_parquet(tmp_path / name / "part-1.parquet")
    return ref, cur


def test_html_is_self_contained_with_one_plot_per_column(tmp_path):
    ref, cur = _data(tmp_path, shift=1.0)
    path = tmp_path / "drift.html"
    report = DriftMonitor().fit(ref).report(cur, path=path)
    assert isinstance(report, DriftReport)
    page = path.read_text(encoding="utf-8")
    assert page == report.to_html()
    assert page.startswith("<!DOCTYPE html>") and page.rstrip().endswith("</html>")
    for forbidden in ("http://", "https://", "<script", "<link", "<img", "src=", "url("):
        assert forbidden not in page
    assert page.count("<svg") == 3 and page.count("</svg>") == 3
    for column in ("amount", "city", "flag"):
        assert f'data-column="{column}"' in page
    assert "Drift detected in 1 of 3 column(s): amount." in page
    assert re.search(r'<tr class="drifted"><td class="text">amount</td>', page)


def test_html_escapes_hostile_column_names():
    name = '<script>alert("x")</script> & co'
    df = pl.DataFrame({name: [1.0, 2.0, 3.0], "s": ["<b>", "a&b", '"q"']})
    page = DriftMonitor(n_bins=2).fit(df).report(df).to_html()
    assert "<script" not in page and "<b>" not in page
    assert "&lt;script&gt;" in page and page.count("<svg") == 2


def test_no_drift_report():
    df = pl.DataFrame({"x": np.arange(50.0)})
    report = DriftMonitor().fit(df).report(df)
    assert not report.drifted and report.drifted_columns == []
    assert "No drift detected in 1 column(s)." in report.to_html()


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "scaleml", "drift", *args],
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_cli_exit_codes_and_html(tmp_path):
    _data(tmp_path, shift=1.0)
    ref, cur = str(tmp_path / "ref" / "*.parquet"), str(tmp_path / "cur" / "*.parquet")
    html = tmp_path / "out.html"
    drift = _run(ref, cur, "--html", str(html))
    assert drift.returncode == 1, drift.stderr
    assert "amount" in drift.stdout and "drift in 1 column(s): amount" in drift.stdout
    assert html.read_text(encoding="utf-8").count("<svg") == 3
    same = _run(ref, ref)
    assert same.returncode == 0, same.stderr
    assert "no drift" in same.stdout
    missing = _run(ref, str(tmp_path / "nothing" / "*.parquet"))
    assert missing.returncode == 2 and "matches no file" in missing.stderr


def test_cli_in_process(tmp_path, capsys):
    _data(tmp_path, shift=1.0)
    ref, cur = str(tmp_path / "ref" / "*.parquet"), str(tmp_path / "cur" / "*.parquet")
    assert _main(["drift", ref, cur, "--columns", "city,flag"]) == 0
    assert "amount" not in capsys.readouterr().out
    assert _main(["drift", ref, cur, "--columns", "nope"]) == 2
    assert "nope" in capsys.readouterr().err
    assert _main(["drift", ref]) == 2  # CURRENT missing
    assert _main(["drift", ref, cur, "--bins", "x"]) == 2
    assert _main(["nope"]) == 2


@pytest.mark.parametrize("argv", [["--help"], ["-h"]])
def test_cli_help(argv, capsys):
    assert _main(["drift", *argv]) == 0
    assert "REFERENCE" in capsys.readouterr().out.upper()
