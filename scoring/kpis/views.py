"""The KPI page (each team's month against its targets, beside its QA score, and a 12-month
trend) and the upload of the telephony and survey exports."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, render_template, request
from flask_login import current_user

from qm.auth.access import permission_required
from qm.inputs import BadInput, id_arg
from qm.spreadsheets import export_format, table_response
from qm.timestamps import today_in
from qm.web import db, import_page, settings
from scoring.kpis import metrics, queries, services
from scoring.kpis.forms import KpiImportForm
from scoring.kpis.models import CHANNELS

bp = Blueprint("kpis", __name__)


def _month_arg(name: str) -> queries.Month | None:
    raw = request.args.get(name)
    if not raw:
        return None
    month = queries.parse_month(raw)
    if month is None:
        raise BadInput(f"The parameter {name!r} must be a month as YYYY-MM.")
    return month


@bp.get("/kpis")
@permission_required("kpi.view")
def kpis() -> Any:
    """One month's KPIs per team and channel against the targets, beside the QA mean, and one
    team's 12 months on one channel."""
    site = settings()
    teams = queries.visible_teams(db.session, current_user)
    team_id = id_arg(request.args, "team_id")
    chosen = [t for t in teams if t.id == team_id] if team_id else teams
    if team_id and not chosen:
        abort(404)
    channel = request.args.get("channel") or None
    if channel is not None and channel not in CHANNELS:
        raise BadInput(f"The parameter 'channel' must be one of {', '.join(CHANNELS)}.")
    ids = [t.id for t in chosen]
    today = today_in(site.timezone)
    month = (_month_arg("month") or queries.latest_month(db.session, ids)
             or (today.year, today.month))
    site_targets = queries.targets(site)
    rows = queries.lines(db.session, chosen, month, month, site_targets, site.timezone, channel)
    known = queries.channels(db.session, ids)
    trend_team = chosen[0] if chosen else None
    trend_channel = channel or ("voice" if "voice" in known else (known[0] if known else None))
    trend = (queries.trend(db.session, trend_team, trend_channel, month, site_targets,
                           site.timezone) if trend_team and trend_channel else [])
    fmt = export_format(request.args)
    if fmt:
        table = request.args.get("table") or "month"
        if table not in ("month", "trend"):
            raise BadInput(f"The parameter 'table' is 'month' or 'trend', not {table[:20]!r}.")
        label = queries.month_label(month)
        if table == "trend":
            name = (f"kpis-{trend_team.name if trend_team else 'none'}-{trend_channel or ''}"
                    f"-12-months-to-{label}")
            return table_response(fmt, name, "KPIs, 12 months", queries.table_header(),
                                  map(queries.table_row, trend))
        return table_response(fmt, f"kpis-{label}", f"KPIs {label}", queries.table_header(),
                              map(queries.table_row, rows))
    return render_template(
        "scoring/kpis/kpis.html", rows=rows, teams=teams, team_id=team_id, channel=channel,
        channels=CHANNELS, month=queries.month_label(month), trend=trend, trend_team=trend_team,
        trend_channel=trend_channel, kpis=metrics.KPIS, small=queries.SMALL_SURVEY)


@bp.route("/kpis/import", methods=["GET", "POST"])
@permission_required("kpi.import")
def import_kpis() -> Any:
    """The telephony or survey system's CSV export, as `qm kpis import` and the API take it."""
    form = KpiImportForm()
    report, status = import_page(
        form, lambda: services.import_kpis(db.session, current_user, form.file.data.stream,
                                           today=today_in(settings().timezone)),
        lambda report: f"{report.created} added, {report.replaced} corrected, "
                       f"{report.already_there} already there, {len(report.errors)} rows with "
                       "errors.")
    return render_template("scoring/kpis/import.html", form=form, report=report,
                           columns=services.OPTIONAL_COLUMNS), status
