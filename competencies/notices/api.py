"""/api/v1/notices: the notices one sees, one notice, writing a draft, publishing it to an
audience, withdrawing it, a recipient's acknowledgement, and the acknowledgements outstanding;
the same services and scope as the pages."""

from __future__ import annotations

from typing import Any

from flask import abort
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from competencies.notices import queries, services
from competencies.notices.models import Notice
from qm.auth.access import api_permission, api_user
from qm.inputs import Count, Id, Text
from qm.timestamps import today_in
from qm.web import api_error, db

blp = Blueprint("api-notices", __name__, url_prefix="/api/v1",
                description="Notices to employees and their acknowledgements (ISO 18295-1 6.5)")


class DraftSchema(Schema):
    title = Text(required=True, validate=validate.Length(max=services.MAX_TITLE))
    body = Text(required=True, validate=validate.Length(max=services.MAX_BODY))
    category = fields.Str(required=True, validate=validate.OneOf(services.CATEGORIES))
    acknowledge_by = fields.Date(load_default=None, allow_none=True,
                                 metadata={"description": "the deadline (none: no deadline)"})


class AudienceSchema(Schema):
    all_agents = fields.Bool(load_default=False)
    team_ids = fields.List(Id(), load_default=list)
    profile_ids = fields.List(Id(), load_default=list, metadata={
        "description": "competency profiles: their holders receive it"})
    user_ids = fields.List(Id(), load_default=list)
    version = Count(1, load_default=None, metadata={
        "description": "the notice's version as read (a mismatch is a 409)"})


class VersionSchema(Schema):
    version = Count(1, load_default=None)


class OutstandingQuery(Schema):
    team_id = Id(load_default=None)
    notice_id = Id(load_default=None)
    as_of = fields.Date(load_default=None, metadata={"description": "default: today"})


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def _summary(notice: Notice) -> dict[str, Any]:
    return {"id": notice.id, "title": notice.title, "category": notice.category,
            "status": notice.status, "acknowledge_by": _iso(notice.acknowledge_by),
            "published_at": _iso(notice.published_at),
            "withdrawn_at": _iso(notice.withdrawn_at), "version": notice.version}


def _visible(notice_id: int) -> Notice:
    notice = queries.visible_notice(db.session, api_user(), notice_id)
    if notice is None:
        abort(api_error(404, f"Notice {notice_id} does not exist or is not visible to you."))
    return notice


def _detail(notice: Notice) -> dict[str, Any]:
    user = api_user()
    mine = queries.recipient(db.session, notice.id, user.id)
    out = {**_summary(notice), "body": notice.body, "audience": notice.audience,
           "sent_to_me": mine is not None,
           "acknowledged_at": _iso(mine.acknowledged_at) if mine else None}
    if queries.follows_others(user):
        rows = queries.recipients(db.session, user, notice.id)
        out["recipients"] = [{"user_id": r.user_id, "username": r.user.username,
                              "acknowledged_at": _iso(r.acknowledged_at)} for r in rows]
    return out


@blp.get("/notices")
@api_permission("notice.view")
@blp.response(200, description="the notices sent to the caller and, for HR and leads, those "
                               "they follow with counts among the people they see")
def list_notices() -> Any:
    user = api_user()
    out: dict[int, dict[str, Any]] = {}
    if queries.follows_others(user):
        for c in queries.overview(db.session, user):
            out[c.notice.id] = {**_summary(c.notice), "recipients": c.recipients,
                                "acknowledged": c.acknowledged, "outstanding": c.outstanding}
    for m in queries.notices_for(db.session, user):
        item = out.setdefault(m.notice.id, _summary(m.notice))
        item.update(sent_to_me=True, acknowledged_at=_iso(m.acknowledged_at),
                    to_acknowledge=m.to_acknowledge)
    return list(out.values())


@blp.get("/notices/<int:notice_id>")
@api_permission("notice.view")
@blp.response(200, description="the notice, the caller's acknowledgement, and for HR and "
                               "leads the recipients they see")
def get_notice(notice_id: int) -> Any:
    return _detail(_visible(notice_id))


@blp.post("/notices")
@api_permission("notice.manage")
@blp.arguments(DraftSchema)
@blp.response(201, description="the draft")
def create_notice(data: dict[str, Any]) -> Any:
    notice = services.save_draft(db.session, api_user(), data)
    db.session.commit()
    return _detail(notice)


@blp.post("/notices/<int:notice_id>/publish")
@api_permission("notice.manage")
@blp.arguments(AudienceSchema)
@blp.response(200, description="the notice, published, with its recipients")
def publish(data: dict[str, Any], notice_id: int) -> Any:
    user = api_user()
    version = data.pop("version")
    notice = services.publish(db.session, user, _visible(notice_id).id,
                              services.Audience.of(**data), expected_version=version,
                              today=today_in(user.timezone))
    db.session.commit()
    return _detail(notice)


@blp.post("/notices/<int:notice_id>/withdraw")
@api_permission("notice.manage")
@blp.arguments(VersionSchema)
@blp.response(200, description="the notice, withdrawn")
def withdraw(data: dict[str, Any], notice_id: int) -> Any:
    notice = services.withdraw(db.session, api_user(), _visible(notice_id).id,
                               expected_version=data["version"])
    db.session.commit()
    return _detail(notice)


@blp.post("/notices/<int:notice_id>/acknowledge")
@api_permission("notice.view")
@blp.response(200, description="when the caller acknowledged it (the first time, if twice)")
def acknowledge(notice_id: int) -> Any:
    row = services.acknowledge(db.session, api_user(), notice_id)
    db.session.commit()
    return {"notice_id": row.notice_id, "user_id": row.user_id,
            "acknowledged_at": _iso(row.acknowledged_at)}


@blp.get("/notices/outstanding")
@api_permission("notice.view")
@blp.arguments(OutstandingQuery, location="query")
@blp.response(200, description="per team and notice: recipients, acknowledged, outstanding, "
                               "overdue; and each acknowledgement owed, per person")
def outstanding(query: dict[str, Any]) -> Any:
    user = api_user()
    filters = {"as_of": query["as_of"] or today_in(user.timezone),
               "team_id": query["team_id"], "notice_id": query["notice_id"]}
    return {"as_of": filters["as_of"].isoformat(),
            "teams": [r.as_dict() for r in queries.outstanding_by_team(db.session, user,
                                                                       **filters)],
            "people": [r.as_dict() for r in queries.outstanding_people(db.session, user,
                                                                       **filters)]}
