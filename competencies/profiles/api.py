"""/api/v1/skills: an agent's required and current levels, gaps and QA suggestions, and
recording an assessment; the same services and scope as the pages."""

from __future__ import annotations

from typing import Any

from flask import abort
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from competencies.profiles import queries, services
from competencies.profiles.models import AssessmentMethod
from qm.auth.access import api_permission, api_user
from qm.auth.models import User
from qm.auth.permissions import can
from qm.inputs import Count, Id, Text
from qm.web import api_error, db

blp = Blueprint("api-skills", __name__, url_prefix="/api/v1",
                description="Skills: profiles, assessments, gaps")


class FrameworkQuery(Schema):
    framework = Id(load_default=None, metadata={
        "description": "the framework (default: the first with a published version)"})


class AssessmentSchema(Schema):
    competency_code = Text(required=True, validate=validate.Length(max=32))
    level = Count(0, 10, required=True)
    assessed_on = fields.Date(required=True)
    method = fields.Str(required=True,
                        validate=validate.OneOf([m.value for m in AssessmentMethod]))
    evidence = fields.Str(load_default="", validate=validate.Length(max=2000))
    suggested_level = Count(0, 10, load_default=None, allow_none=True)
    override_reason = fields.Str(load_default="", validate=validate.Length(max=2000))


def _person(user_id: int) -> User:
    user = db.session.get(User, user_id)
    if user is None or not can(api_user(), "skills.view", user):
        abort(api_error(404, f"User {user_id} does not exist or is not visible to you."))
    return user


def _framework(framework_id: int | None) -> Any:
    framework = queries.framework_for(db.session, framework_id)
    if framework is None:
        abort(api_error(404, "There is no such competency framework, or none is published."))
    return framework


@blp.get("/skills/<int:user_id>")
@api_permission("skills.view")
@blp.arguments(FrameworkQuery, location="query")
@blp.response(200, description="required and current levels, gaps, QA suggestions")
def skills(query: dict[str, Any], user_id: int) -> Any:
    user = _person(user_id)
    framework = _framework(query["framework"])
    return {
        "user_id": user.id, "framework_id": framework.id,
        "required": queries.required_levels(db.session, framework.id, [user.id])[user.id],
        "current": queries.current_levels(db.session, framework.id, [user.id])[user.id],
        "gaps": [{"code": g.code, "required": g.required, "current": g.current,
                  "short_by": g.short_by}
                 for g in queries.gaps_of(db.session, framework.id, user.id)],
        "suggestions": {code: {"level": s.level, "n": s.n, "enough": s.enough,
                               "share": None if s.share is None else float(s.share)}
                        for code, s in queries.suggestions(db.session, user.id).items()},
    }


@blp.post("/skills/<int:user_id>/assessments")
@api_permission("competency.assess")
@blp.arguments(FrameworkQuery, location="query")
@blp.arguments(AssessmentSchema)
@blp.response(201, description="the assessment recorded")
def assess(query: dict[str, Any], data: dict[str, Any], user_id: int) -> Any:
    user = _person(user_id)
    framework = _framework(query["framework"])
    item = services.assess(db.session, api_user(), user_id=user.id, framework_id=framework.id,
                           **data)
    db.session.commit()
    return {"id": item.id, "user_id": item.user_id, "competency_code": item.competency_code,
            "level": item.level, "assessed_on": item.assessed_on.isoformat(),
            "method": item.method, "evidence": item.evidence,
            "suggested_level": item.suggested_level, "override_reason": item.override_reason,
            "assessor_id": item.assessor_id}
