"""Charts and tables drawn in Python where a page draws them on every view: the scorecard's
trend (the same SVG as the macros of ``templates/scoring/reports/_charts.html``: no script, no
external library, readable without colour) and its recent evaluations, at a fraction of a
Jinja loop's cost per element."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any
from zoneinfo import ZoneInfo

from markupsafe import Markup, escape


def trend_chart(trend: list[dict[str, Any]], peer: float | None = None) -> Markup:
    """Bars of the mean per month (``trend``: month "YYYY-MM", n, mean or None) on 0-100,
    each with its n, and the peers' mean as a dashed line."""
    parts = ['<svg class="qm-chart" viewBox="0 0 600 200" role="img" '
             'aria-label="Average score per month, last 12 months">']
    parts += [f'<text x="0" y="{170 - y * 1.5 + 3}">{y}</text>' for y in (0, 50, 100)]
    for i, m in enumerate(trend):
        x = 30 + i * 47
        month, n, mean = escape(m["month"]), int(m["n"]), m["mean"]
        if mean is not None:
            parts.append(f'<rect class="bar" x="{x}" y="{170 - mean * 1.5}" width="34" '
                         f'height="{mean * 1.5}"><title>{month}: {mean:.1f} ({n})</title></rect>'
                         f'<text x="{x}" y="{165 - mean * 1.5}">{mean:.0f}</text>')
        parts.append(f'<text x="{x}" y="185">{month[2:]}</text>'
                     f'<text x="{x + 10}" y="197">n={n}</text>')
    if peer is not None:
        parts.append(f'<line class="peer" x1="30" x2="594" y1="{170 - peer * 1.5}" '
                     f'y2="{170 - peer * 1.5}"><title>team peers {peer:.1f}</title></line>')
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - numbers and escaped month labels only


_TARGETED = (' <span class="badge text-bg-info" title="Drawn because it was flagged for review: '
             'not counted in averages">targeted</span>')
_CRITICAL = ' <span class="badge text-bg-danger">critical</span>'


def recent_rows(recent: Iterable[Any], href: Callable[[int], str], zone: ZoneInfo) -> Markup:
    """The scorecard's recent evaluations as table rows: the id linked (``href``), the day
    submitted in ``zone`` (the viewer's), the status with "targeted" where it was drawn for
    being flagged, the score ("N/A" without one) with "critical" where one failed."""
    return Markup("".join(  # noqa: S704 - ids, dates, numbers and escaped labels only
        f'<tr><td><a href="{escape(href(e.id))}">{int(e.id)}</a></td>'
        f'<td>{e.submitted_at.astimezone(zone).strftime("%Y-%m-%d")}</td>'
        f'<td>{escape(e.status_label)}{_TARGETED if e.targeted else ""}</td>'
        f'<td class="text-end">{escape(e.score) if e.score is not None else "N/A"}'
        f'{_CRITICAL if e.critical_fail else ""}</td></tr>' for e in recent))
