"""/api/v1/kpis: each team's months against the targets beside its QA score, and the import of
the telephony and survey exports; the same services and scope as the page and `qm kpis`."""

from __future__ import annotations

import io
from typing import Any

from flask import abort, request
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from qm.auth.access import api_permission, api_user
from qm.inputs import Id
from qm.timestamps import today_in
from qm.web import api_error, db, settings
from scoring.kpis import queries, services
from scoring.kpis.models import CHANNELS

blp = Blueprint("api-kpis", __name__, url_prefix="/api/v1",
                description="Operational KPIs (FCR, ASA, abandonment, AHT, CSAT, NPS)")

MONTH = validate.Regexp(r"^\d{4}-(0[1-9]|1[0-2])$", error="a month as YYYY-MM")


class KpiQuery(Schema):
    team_id = Id(load_default=None)
    from_ = fields.Str(data_key="from", load_default=None, validate=MONTH,
                       metadata={"description": "YYYY-MM; default: 11 months before `to`"})
    to = fields.Str(load_default=None, validate=MONTH,
                    metadata={"description": "YYYY-MM; default: the latest month with figures"})
    channel = fields.Str(load_default=None, validate=validate.OneOf(CHANNELS))


@blp.get("/kpis")
@api_permission("kpi.view")
@blp.arguments(KpiQuery, location="query")
@blp.response(200, description="per team, month and channel: each KPI with its target and "
                               "verdict, CSAT and NPS with sample size and 95% interval, and "
                               "the team's QA mean of that month")
def kpis(query: dict[str, Any]) -> Any:
    user, site = api_user(), settings()
    teams = queries.visible_teams(db.session, user)
    if query["team_id"] is not None:
        teams = [t for t in teams if t.id == query["team_id"]]
        if not teams:
            abort(404)
    today = today_in(site.timezone)
    last = (queries.parse_month(query["to"])
            or queries.latest_month(db.session, [t.id for t in teams])
            or (today.year, today.month))
    first = queries.parse_month(query["from_"]) or queries.months_before(last, 11)
    if first > last:
        return api_error(400, "`from` is after `to`.")
    if len(queries.months_between(first, last)) > queries.MAX_MONTHS:
        return api_error(400, f"At most {queries.MAX_MONTHS} months at a time: from "
                              f"{queries.month_label(first)} to {queries.month_label(last)} is "
                              "longer; ask for them in parts.")
    rows = queries.lines(db.session, teams, first, last, queries.targets(site), site.timezone,
                         query["channel"])
    return {"from": queries.month_label(first), "to": queries.month_label(last),
            "rows": [row.as_dict() for row in rows]}


@blp.post("/kpis")
@api_permission("kpi.import")
@blp.response(200, description="rows, created, replaced, already_there, and each bad row by "
                               "line")
@blp.doc(requestBody={"content": {"text/csv": {"schema": {"type": "string"}},
                                  "multipart/form-data": {"schema": {
                                      "type": "object",
                                      "properties": {"file": {"type": "string",
                                                              "format": "binary"}}}}}})
def import_kpis() -> Any:
    """Import KPI figures from a CSV sent as the body or as the multipart field ``file``
    (date, team, channel[, queue and figures]); bad rows come back with their line and
    reason."""
    upload = request.files.get("file")
    stream = upload.stream if upload is not None else io.BytesIO(request.get_data())
    report = services.import_kpis(db.session, api_user(), stream,
                                  today=today_in(settings().timezone))
    db.session.commit()
    return {"rows": report.rows, "created": report.created, "replaced": report.replaced,
            "already_there": report.already_there,
            "errors": [{"line": e.line, "reason": e.reason} for e in report.errors]}
