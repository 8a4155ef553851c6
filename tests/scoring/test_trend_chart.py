"""The scorecard's trend chart, drawn in Python for speed, is the SVG the Jinja macro drew."""
# ruff: noqa: E501  (the macro as it was, line for line)

from __future__ import annotations

import re

from jinja2 import Environment

from scoring.reports.charts import trend_chart

# The macro the scorecard used before (templates/scoring/reports/_charts.html), as it was.
MACRO = """{% macro trend_chart(trend, peer=None) %}
<svg class="qm-chart" viewBox="0 0 600 200" role="img" aria-label="Average score per month, last 12 months">
  {% for y in (0, 50, 100) %}<text x="0" y="{{ 170 - y * 1.5 + 3 }}">{{ y }}</text>{% endfor %}
  {% for m in trend %}
    {% set x = 30 + loop.index0 * 47 %}
    {% if m.mean is not none %}
      <rect class="bar" x="{{ x }}" y="{{ 170 - m.mean * 1.5 }}" width="34" height="{{ m.mean * 1.5 }}"><title>{{ m.month }}: {{ "%.1f"|format(m.mean) }} ({{ m.n }})</title></rect>
      <text x="{{ x }}" y="{{ 165 - m.mean * 1.5 }}">{{ "%.0f"|format(m.mean) }}</text>
    {% endif %}
    <text x="{{ x }}" y="185">{{ m.month[2:] }}</text>
    <text x="{{ x + 10 }}" y="197">n={{ m.n }}</text>
  {% endfor %}
  {% if peer is not none %}<line class="peer" x1="30" x2="594" y1="{{ 170 - peer * 1.5 }}" y2="{{ 170 - peer * 1.5 }}"><title>team peers {{ "%.1f"|format(peer) }}</title></line>{% endif %}
</svg>
{% endmacro %}"""


def _macro(trend, peer):
    env = Environment(autoescape=True)
    return env.from_string(MACRO).module.trend_chart(trend, peer)


def _squeezed(svg: str) -> str:
    return re.sub(r">\s+<", "><", str(svg)).strip()


def test_the_trend_chart_is_the_macros_svg():
    trend = [{"month": "2026-01", "n": 0, "mean": None},
             {"month": "2026-02", "n": 3, "mean": 66.66666666666667},
             {"month": "2026-03", "n": 1, "mean": 100.0},
             {"month": "2026-04", "n": 2, "mean": 0.0},
             {"month": "2026-05", "n": 7, "mean": 87.45}]
    for peer in (None, 79.65497248968363, 0.0):
        drawn = trend_chart(trend, peer)
        assert _squeezed(drawn) == _squeezed(_macro(trend, peer))
    assert drawn.count('<rect class="bar"') == 4  # no bar for a month without a mean
    assert "<title>2026-02: 66.7 (3)</title>" in drawn and ">n=0</text>" in drawn


def test_a_month_label_is_escaped():
    drawn = trend_chart([{"month": "20<b>", "n": 1, "mean": 50.0}])
    assert "<b>" not in drawn and "20&lt;b&gt;" in drawn


# The scorecard's recent list before (templates/scoring/reports/scorecard.html), as it was,
# with ``localtime`` in a given zone.
RECENT = """<tbody>{% for e in recent %}<tr><td><a href="{{ evaluation_href(e.id) }}">{{ e.id }}</a></td><td>{{ e.submitted_at|localtime("%Y-%m-%d") }}</td><td>{{ e.status_label }}{% if e.targeted %} <span class="badge text-bg-info" title="Drawn because it was flagged for review: not counted in averages">targeted</span>{% endif %}</td><td class="text-end">{{ e.score if e.score is not none else "N/A" }}{% if e.critical_fail %} <span class="badge text-bg-danger">critical</span>{% endif %}</td></tr>{% endfor %}</tbody>"""


def test_the_recent_rows_are_the_templates():
    import datetime as dt
    from decimal import Decimal
    from zoneinfo import ZoneInfo

    from scoring.reports.charts import recent_rows
    from scoring.reports.queries import RecentEvaluation

    zone = ZoneInfo("America/New_York")
    env = Environment(autoescape=True)
    env.filters["localtime"] = lambda value, fmt: value.astimezone(zone).strftime(fmt)
    utc = dt.UTC
    recent = [
        RecentEvaluation(7, dt.datetime(2026, 11, 3, 3, 30, tzinfo=utc), "released",
                         Decimal("83.33"), False, False, 2),
        RecentEvaluation(12, dt.datetime(2026, 11, 2, 12, tzinfo=utc), "acknowledged", None,
                         True, True, 1),
        RecentEvaluation(3, dt.datetime(2026, 10, 1, tzinfo=utc), "disputed", Decimal("0"),
                         True, False, 4),
    ]

    def href(value: int) -> str:
        return f"/qm/evaluations/{value}?a=1&b=2"

    drawn = recent_rows(recent, href, zone)
    assert f"<tbody>{drawn}</tbody>" == env.from_string(RECENT).render(
        recent=recent, evaluation_href=href)
    assert "<td>2026-11-02</td>" in drawn  # 03:30 UTC is the evening before in New York
    assert "&amp;b=2" in drawn and "N/A" in drawn and drawn.count("critical</span>") == 2
