"""/api/v1/training: refreshers due and overdue, and importing completions from CSV; the same
services and scope as the pages and the ``qm training`` commands."""

from __future__ import annotations

import io
from typing import Any

from flask import request
from flask_smorest import Blueprint
from marshmallow import Schema, fields

from competencies.training import queries, services
from qm.auth.access import api_permission, api_user
from qm.inputs import Id
from qm.timestamps import today_in
from qm.web import db

blp = Blueprint("api-training", __name__, url_prefix="/api/v1",
                description="Training records and refreshers (ISO 18295-1 6.4)")


class DueQuery(Schema):
    team_id = Id(load_default=None)
    as_of = fields.Date(load_default=None, metadata={"description": "default: today"})


@blp.get("/training/due")
@api_permission("skills.view")
@blp.arguments(DueQuery, location="query")
@blp.response(200, description="overdue first, then due within 30 days, for those one sees")
def due(query: dict[str, Any]) -> Any:
    user = api_user()
    rows = queries.due_list(db.session, as_of=query["as_of"] or today_in(user.timezone),
                            team_id=query["team_id"], visible_to=user)
    return [row.as_dict() for row in rows]


@blp.post("/training/import")
@api_permission("skills.manage")
@blp.response(200, description="rows, created, already_there, and each bad row by line")
@blp.doc(requestBody={"content": {"text/csv": {"schema": {"type": "string"}}}})
def import_records() -> Any:
    """Import completions from a CSV sent as the body (username, course, completed_on[,
    result, expires_on, certificate]); bad rows come back with their line and reason."""
    report = services.import_records(db.session, api_user(), io.BytesIO(request.get_data()))
    db.session.commit()
    return {"rows": report.rows, "created": report.created,
            "already_there": report.already_there,
            "errors": [{"line": e.line, "reason": e.reason} for e in report.errors]}
