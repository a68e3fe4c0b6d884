"""The drift report: the score table and one small plot per column, as one HTML page.

The page is self-contained: inline CSS, and plots drawn as inline SVG by this module
(no JavaScript, no external resource, no plotting library), so it can be mailed,
archived or opened offline.
"""

from __future__ import annotations

import html
import math
import os
from dataclasses import dataclass
from typing import Any

import polars as pl

__all__ = ["DriftReport", "PlotData"]

_REF_COLOR = "#5b7db1"
_CUR_COLOR = "#e07b39"


@dataclass
class PlotData:
    """One column's plot: bar labels and the reference and current fractions."""

    column: str
    kind: str
    labels: list[str]
    reference: list[float]
    current: list[float]
    drifted: bool


@dataclass
class DriftReport:
    """The result of :meth:`DriftMonitor.compare <scaleml.monitoring.DriftMonitor.compare>`.

    Attributes
    ----------
    table : polars.DataFrame
        One row of statistics per column (see :meth:`DriftMonitor.score
        <scaleml.monitoring.DriftMonitor.score>`).
    plots : list of PlotData
    thresholds : dict
        The thresholds the ``drifted`` column was decided with.

    Examples
    --------
    >>> import polars as pl
    >>> from scaleml.monitoring import DriftMonitor
    >>> ref = pl.DataFrame({"x": [1.0, 2.0, 3.0, 4.0]})
    >>> report = DriftMonitor(n_bins=2).fit(ref).report(ref)
    >>> report.drifted, report.to_html().count("<svg")
    (False, 1)
    """

    table: pl.DataFrame
    plots: list[PlotData]
    thresholds: dict[str, float | None]

    @property
    def drifted(self) -> bool:
        """Whether any column drifted."""
        return bool(self.table["drifted"].any())

    @property
    def drifted_columns(self) -> list[str]:
        """The columns that drifted."""
        return self.table.filter(pl.col("drifted"))["column"].to_list()

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write :meth:`to_html` to `path` (UTF-8)."""
        with open(path, "w", encoding="utf-8") as f:
            f.write(self.to_html())

    def _repr_html_(self) -> str:
        return self.to_html()

    def to_html(self, title: str = "Drift report") -> str:
        """A self-contained HTML page: summary, table, one plot per column.

        Returns
        -------
        str
        """
        n, k = self.table.height, len(self.drifted_columns)
        verdict = (
            f"Drift detected in {k} of {n} column(s): "
            f"{html.escape(', '.join(self.drifted_columns))}."
            if k
            else f"No drift detected in {n} column(s)."
        )
        shown = ", ".join(
            f"{_LABELS.get(name, name)} {'<' if name.endswith('pvalue') else '>'} {value:g}"
            for name, value in self.thresholds.items()
            if value is not None
        )
        figures = "\n".join(_figure(p) for p in self.plots)
        return _PAGE.format(
            title=html.escape(title),
            css=_CSS,
            status="drift" if k else "ok",
            verdict=verdict,
            thresholds=html.escape(shown),
            table=_table_html(self.table),
            ref=_REF_COLOR,
            cur=_CUR_COLOR,
            figures=figures,
        )


_LABELS = {"null_rate_change": "|null_rate_change|"}

_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{title}</title>
<style>{css}</style>
</head>
<body>
<h1>{title}</h1>
<p class="verdict {status}">{verdict}</p>
<p class="note">Drift when {thresholds}.</p>
{table}
<h2>Distributions</h2>
<p class="legend"><span class="swatch" style="background:{ref}"></span>reference
<span class="swatch" style="background:{cur}"></span>current
(fraction of non-missing values per bin or category)</p>
<div class="grid">
{figures}
</div>
</body>
</html>
"""

_CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 24px;
       color: #222; }
h1 { font-size: 22px; margin-bottom: 4px; }
h2 { font-size: 18px; margin-top: 28px; }
.verdict { font-weight: 600; padding: 8px 12px; border-radius: 4px; display: inline-block; }
.verdict.drift { background: #fde2e1; color: #9b1c1c; }
.verdict.ok { background: #e3f6e5; color: #1e6b2b; }
.note { color: #666; font-size: 13px; }
.table-wrap { overflow-x: auto; max-width: 100%; }
table { border-collapse: collapse; font-size: 12px; }
th, td { padding: 4px 7px; border-bottom: 1px solid #ddd; text-align: right;
         white-space: nowrap; }
th { background: #f4f4f4; position: sticky; top: 0; }
td.text, th.text { text-align: left; }
tr.drifted td { background: #fff1f0; }
td.flag { font-weight: 700; color: #9b1c1c; }
.legend { font-size: 13px; color: #444; }
.swatch { display: inline-block; width: 12px; height: 12px; margin: 0 4px 0 10px;
          vertical-align: middle; }
.grid { display: flex; flex-wrap: wrap; gap: 16px; }
figure { margin: 0; border: 1px solid #e3e3e3; border-radius: 4px; padding: 6px; }
figure.drifted { border-color: #e8a09a; }
figcaption { font-size: 13px; font-weight: 600; margin-bottom: 2px; }
figcaption .badge { color: #9b1c1c; font-weight: 400; margin-left: 6px; }
svg text { font-family: inherit; }
"""

_FORMATS = {
    "rows_ref": "{:,}",
    "rows_cur": "{:,}",
}


def _fmt(name: str, value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if name.endswith("pvalue") and 0 < value < 1e-3:
            return f"{value:.2e}"
        return f"{value:.4g}"
    if name in _FORMATS:
        return _FORMATS[name].format(value)
    return html.escape(str(value))


def _table_html(table: pl.DataFrame) -> str:
    text = {"column", "kind", "reasons"}
    head = "".join(
        f'<th class="{"text" if c in text else "num"}">{html.escape(c)}</th>' for c in table.columns
    )
    rows = []
    for row in table.iter_rows(named=True):
        cells = []
        for c, v in row.items():
            cls = "text" if c in text else ("flag" if c == "drifted" and v else "num")
            cells.append(f'<td class="{cls}">{_fmt(c, v)}</td>')
        tr = ' class="drifted"' if row["drifted"] else ""
        rows.append(f"<tr{tr}>{''.join(cells)}</tr>")
    body = "\n".join(rows)
    return (
        f'<div class="table-wrap"><table>\n<thead><tr>{head}</tr></thead>\n<tbody>\n{body}\n'
        "</tbody>\n</table></div>"
    )


def _figure(plot: PlotData) -> str:
    badge = '<span class="badge">drifted</span>' if plot.drifted else ""
    cls = ' class="drifted"' if plot.drifted else ""
    caption = f"{html.escape(plot.column)} <small>({plot.kind})</small>{badge}"
    return (
        f'<figure{cls} data-column="{html.escape(plot.column, quote=True)}">'
        f"<figcaption>{caption}</figcaption>{svg_bars(plot)}</figure>"
    )


def svg_bars(plot: PlotData, width: int = 380, height: int = 190) -> str:
    """A grouped bar chart (reference vs current fractions) as an inline SVG element.

    Examples
    --------
    >>> svg = svg_bars(PlotData("x", "numeric", ["a", "b"], [0.5, 0.5], [0.2, 0.8], False))
    >>> svg.startswith("<svg") and svg.count("<rect") == 5
    True
    """
    left, right, top, bottom = 40, 8, 10, 58 if plot.kind == "categorical" else 34
    w, h = width - left - right, height - top - bottom
    n = max(1, len(plot.labels))
    peak = max([*plot.reference, *plot.current, 1e-12])
    group = w / n
    bar = group * 0.4
    parts = [
        f'<svg width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
        f'role="img" aria-label="{html.escape(plot.column, quote=True)}">',
        f'<rect x="{left}" y="{top}" width="{w}" height="{h}" fill="#fafafa" stroke="#ddd"/>',
    ]
    for i, label in enumerate(plot.labels):
        x0 = left + i * group + group * 0.1
        for j, (value, color, who) in enumerate(
            ((plot.reference[i], _REF_COLOR, "reference"), (plot.current[i], _CUR_COLOR, "current"))
        ):
            bh = h * value / peak
            tip = html.escape(f"{label}: {who} {value:.2%}")
            parts.append(
                f'<rect x="{x0 + j * bar:.2f}" y="{top + h - bh:.2f}" width="{bar:.2f}" '
                f'height="{bh:.2f}" fill="{color}"><title>{tip}</title></rect>'
            )
    parts.append(_axis_labels(plot, left, top, w, h, group, peak))
    parts.append("</svg>")
    return "".join(parts)


def _axis_labels(
    plot: PlotData, left: int, top: int, w: float, h: float, group: float, peak: float
) -> str:
    out = [
        f'<text x="{left - 4}" y="{top + 9}" font-size="10" text-anchor="end">{peak:.0%}</text>',
        f'<text x="{left - 4}" y="{top + h}" font-size="10" text-anchor="end">0%</text>',
    ]
    base = top + h + 12
    if plot.kind == "categorical":
        for i, label in enumerate(plot.labels):
            x = left + (i + 0.5) * group
            short = label if len(label) <= 12 else label[:11] + "\u2026"
            out.append(
                f'<text x="{x:.2f}" y="{base}" font-size="9" text-anchor="end" '
                f'transform="rotate(-40 {x:.2f} {base})">{html.escape(short)}</text>'
            )
    elif plot.labels:
        first, last = html.escape(plot.labels[0]), html.escape(plot.labels[-1])
        out.append(f'<text x="{left}" y="{base}" font-size="10">{first}</text>')
        out.append(
            f'<text x="{left + w}" y="{base}" font-size="10" text-anchor="end">{last}</text>'
        )
        out.append(
            f'<text x="{left + w / 2}" y="{base + 14}" font-size="10" text-anchor="middle" '
            f'fill="#666">{len(plot.labels)} bins (reference quantiles)</text>'
        )
    return "".join(out)
