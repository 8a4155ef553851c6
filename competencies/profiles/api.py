"""/api/v1/skills: an agent's required and current levels, gaps and QA suggestions,
recording an assessment, and the role, queue and client profiles with their holders; the same
services and scope as the pages."""

from __future__ import annotations

from typing import Any

from flask import abort
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from competencies.profiles import queries, services
from competencies.profiles.models import (
    AssessmentMethod,
    CompetencyProfile,
    ProfileKind,
    ProfileMember,
)
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


# --- role profiles ----------------------------------------------------------------------------


class ProfileSchema(Schema):
    framework_id = Id(required=True)
    kind = fields.Str(required=True, validate=validate.OneOf([k.value for k in ProfileKind]))
    name = Text(required=True, validate=validate.Length(max=120))
    requirements = fields.Dict(keys=Text(validate=validate.Length(max=32)),
                               values=Count(0, 10), required=True,
                               validate=validate.Length(max=500),
                               metadata={"description": "competency code -> minimum level"})


class ProfileUpdateSchema(Schema):
    kind = fields.Str(required=True, validate=validate.OneOf([k.value for k in ProfileKind]))
    name = Text(required=True, validate=validate.Length(max=120))
    requirements = fields.Dict(keys=Text(validate=validate.Length(max=32)),
                               values=Count(0, 10), required=True,
                               validate=validate.Length(max=500))
    version = Count(1, required=True, metadata={
        "description": "the profile's version as read: a profile saved since answers 409"})


class MembersSchema(Schema):
    user_ids = fields.List(Id(), required=True, validate=validate.Length(min=1, max=1000))


def _profile_out(profile: CompetencyProfile, viewer: Any) -> dict[str, Any]:
    """A profile with the holders ``viewer`` may see (a lead: their teams'; an agent:
    themselves) and how many hold it in all."""
    return {"id": profile.id, "framework_id": profile.framework_id, "kind": profile.kind,
            "name": profile.name, "requirements": dict(profile.requirements),
            "holders": sorted(m.user_id for m in profile.members
                              if can(viewer, "skills.view", m.user)),
            "holders_count": len(profile.members), "version": profile.version}


@blp.get("/skills/profiles")
@api_permission("skills.view")
@blp.response(200, description="every role, queue and client profile with its holders")
def profiles() -> Any:
    user = api_user()
    return [_profile_out(p, user) for p in db.session.scalars(
        select(CompetencyProfile).options(selectinload(CompetencyProfile.members)
                                          .selectinload(ProfileMember.user))
        .order_by(CompetencyProfile.kind, CompetencyProfile.name))]


@blp.post("/skills/profiles")
@api_permission("competency.manage")
@blp.arguments(ProfileSchema)
@blp.response(201, description="the profile created (one of the same kind and name: 409)")
def create_profile(data: dict[str, Any]) -> Any:
    profile = services.create_profile(db.session, api_user(), **data)
    db.session.commit()
    return _profile_out(profile, api_user())


@blp.put("/skills/profiles/<int:profile_id>")
@api_permission("competency.manage")
@blp.arguments(ProfileUpdateSchema)
@blp.response(200, description="the profile as saved")
def update_profile(data: dict[str, Any], profile_id: int) -> Any:
    version = data.pop("version")
    profile = services.update_profile(db.session, api_user(), profile_id,
                                      expected_version=version, **data)
    db.session.commit()
    return _profile_out(profile, api_user())


@blp.post("/skills/profiles/<int:profile_id>/members")
@api_permission("competency.manage")
@blp.arguments(MembersSchema)
@blp.response(200, description="the ids newly given the profile, and the profile")
def assign(data: dict[str, Any], profile_id: int) -> Any:
    added = services.assign_profile(db.session, api_user(), profile_id, data["user_ids"])
    db.session.commit()
    return {"assigned": added,
            "profile": _profile_out(db.session.get(CompetencyProfile, profile_id), api_user())}


@blp.delete("/skills/profiles/<int:profile_id>/members/<int:user_id>")
@api_permission("competency.manage")
@blp.response(204, description="the holder no longer holds the profile")
def unassign(profile_id: int, user_id: int) -> Any:
    services.unassign_profile(db.session, api_user(), profile_id, user_id)
    db.session.commit()
    return None
