"""/api/v1/complaints: the register with its filters, a complaint with its clock, opening and
changing one, the steps of its life, its linked interactions, the overdue list, the root-cause
trend and the holidays; the same services and scope as the pages."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from qm.auth.access import api_permission, api_user
from qm.db import utcnow
from qm.inputs import Count, Id, Text
from qm.timestamps import in_range, today_in
from qm.web import db, settings
from scoring.complaints import clock, queries, services
from scoring.complaints.models import CATEGORIES, ROOT_CAUSES, Complaint, Holiday

blp = Blueprint("api-complaints", __name__, url_prefix="/api/v1",
                description="The complaint register (ISO 10002): complaints, their clock, "
                            "holidays")


def _moment(**kwargs: Any) -> fields.AwareDateTime:
    return fields.AwareDateTime(default_timezone=dt.UTC, validate=in_range, **kwargs)


class ComplaintRegisterQuery(Schema):
    status = fields.Str(load_default=None, validate=validate.OneOf(services.STATUSES))
    category = fields.Str(load_default=None, validate=validate.OneOf(tuple(CATEGORIES)))
    severity = fields.Str(load_default=None, validate=validate.OneOf(services.SEVERITIES))
    owner_id = Id(load_default=None)
    overdue = fields.Bool(load_default=False)
    received_from = fields.Date(load_default=None, metadata={
        "description": "received on or after this day (in the caller's time zone)"})
    received_to = fields.Date(load_default=None, metadata={
        "description": "received on or before this day (in the caller's time zone)"})


class NewComplaintSchema(Schema):
    customer_ref = Text(required=True, validate=validate.Length(max=services.MAX_REF))
    summary = Text(required=True, validate=validate.Length(max=services.MAX_TEXT))
    category = fields.Str(required=True, validate=validate.OneOf(tuple(CATEGORIES)))
    severity = fields.Str(load_default="medium", validate=validate.OneOf(services.SEVERITIES))
    received_at = _moment(load_default=None, metadata={"description": "default: now"})
    interaction_ids = fields.List(Id(), load_default=list,
                                  validate=validate.Length(max=services.MAX_LINKS))
    owner_id = Id(load_default=None, metadata={"description": "default: the caller"})
    source = fields.Str(load_default="manual", validate=validate.OneOf(services.SOURCES))


class ComplaintUpdateSchema(Schema):
    customer_ref = Text(validate=validate.Length(max=services.MAX_REF))
    summary = Text(validate=validate.Length(max=services.MAX_TEXT))
    category = fields.Str(validate=validate.OneOf(tuple(CATEGORIES)))
    severity = fields.Str(validate=validate.OneOf(services.SEVERITIES))
    owner_id = Id()
    version = Count(1, required=True, metadata={
        "description": "the complaint's version as read: one saved since answers 409"})


class ComplaintStepSchema(Schema):
    at = _moment(load_default=None, metadata={"description": "when it was done; default now"})
    version = Count(1, load_default=None)


class ComplaintEscalateSchema(ComplaintStepSchema):
    reason = Text(required=True, validate=validate.Length(max=services.MAX_TEXT))


class ComplaintAnswerSchema(ComplaintStepSchema):
    answer = Text(required=True, validate=validate.Length(max=services.MAX_TEXT))


class ComplaintResolveSchema(ComplaintStepSchema):
    outcome = Text(required=True, validate=validate.Length(max=services.MAX_TEXT))
    root_cause = fields.Str(required=True, validate=validate.OneOf(tuple(ROOT_CAUSES)))


class ComplaintVersionSchema(Schema):
    version = Count(1, load_default=None)


class ComplaintLinkSchema(ComplaintVersionSchema):
    interaction_id = Id(required=True)


class HolidaySchema(Schema):
    date = fields.Date(required=True)
    name = Text(required=True, validate=validate.Length(max=services.MAX_HOLIDAY_NAME))


class ComplaintTrendQuery(Schema):
    months = Count(1, 60, load_default=queries.TREND_MONTHS)


def _iso(value: dt.datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _deadline_out(found: clock.Deadline) -> dict[str, Any]:
    return {"key": found.key, "due_at": found.due_at.isoformat(),
            "done_at": _iso(found.done_at), "state": found.state,
            "seconds_left": int(found.left.total_seconds()) if found.left is not None
            else None, "describe": found.describe}


def _complaint_out(item: Complaint, found: clock.Clock) -> dict[str, Any]:
    return {"id": item.id, "customer_ref": item.customer_ref, "summary": item.summary,
            "category": item.category, "severity": item.severity, "status": item.status,
            "source": item.source, "owner_id": item.owner_id,
            "interaction_ids": item.interaction_ids,
            **{name: _iso(getattr(item, name)) for name in (
                "received_at", "acknowledged_at", "responded_at", "escalated_at",
                "escalation_answered_at", "resolved_at", "closed_at", "reopened_at",
                "created_at")},
            "escalation_reason": item.escalation_reason,
            "escalation_answer": item.escalation_answer, "outcome": item.outcome,
            "root_cause": item.root_cause, "created_by_id": item.created_by_id,
            "version": item.version, "overdue": found.is_overdue,
            "deadlines": [_deadline_out(d) for d in found.deadlines]}


def _site() -> queries.SiteClock:
    return queries.site_clock(db.session, settings(), utcnow())


def _out(item: Complaint) -> dict[str, Any]:
    return _complaint_out(item, _site().of(item))


def _saved(item: Complaint) -> dict[str, Any]:
    db.session.commit()
    return _out(item)


@blp.get("/complaints")
@api_permission(services.VIEW)
@blp.arguments(ComplaintRegisterQuery, location="query")
@blp.response(200, description="the register: complaints the caller may see, latest received "
                               "first, each with its clock")
def register(query: dict[str, Any]) -> Any:
    user = api_user()
    filters = queries.Filters(**query, zone=user.timezone or "UTC")
    return [_complaint_out(r.complaint, r.clock)
            for r in queries.register(db.session, user, filters, _site())]


@blp.post("/complaints")
@api_permission(services.MANAGE)
@blp.arguments(NewComplaintSchema)
@blp.response(201, description="the complaint registered (an interaction you cannot see: 400; "
                               "the same one sent twice within a minute: 409)")
def open_complaint(data: dict[str, Any]) -> Any:
    values = {k: v for k, v in data.items() if v is not None}
    return _saved(services.open_complaint(db.session, api_user(), values))


@blp.get("/complaints/overdue")
@api_permission(services.VIEW)
@blp.response(200, description="complaints with a step past its deadline, the longest "
                               "overdue first")
def overdue() -> Any:
    return [_complaint_out(r.complaint, r.clock)
            for r in queries.overdue(db.session, api_user(), _site())]


@blp.get("/complaints/trends")
@api_permission(services.VIEW)
@blp.arguments(ComplaintTrendQuery, location="query")
@blp.response(200, description="complaints resolved per month by root cause (the site's "
                               "months), and received per month")
def trends(query: dict[str, Any]) -> Any:
    zone = settings().timezone or "UTC"
    found = queries.trend(db.session, api_user(), as_of=today_in(zone), zone=zone,
                          months=query["months"])
    return {"months": found.months, "root_causes": found.counts, "resolved": found.totals,
            "received": found.received, "time_zone": zone}


@blp.get("/complaints/<int:complaint_id>")
@api_permission(services.VIEW)
@blp.response(200, description="one complaint with its clock")
def get_complaint(complaint_id: int) -> Any:
    return _out(services.get(db.session, api_user(), complaint_id))


@blp.patch("/complaints/<int:complaint_id>")
@api_permission(services.MANAGE)
@blp.arguments(ComplaintUpdateSchema)
@blp.response(200, description="the complaint as saved (saved by someone since: 409)")
def update_complaint(data: dict[str, Any], complaint_id: int) -> Any:
    version = data.pop("version")
    return _saved(services.update(db.session, api_user(), complaint_id, data,
                                  expected_version=version))


@blp.post("/complaints/<int:complaint_id>/acknowledge")
@api_permission(services.MANAGE)
@blp.arguments(ComplaintStepSchema)
@blp.response(200, description="acknowledged (again: unchanged)")
def acknowledge(data: dict[str, Any], complaint_id: int) -> Any:
    return _saved(services.acknowledge(db.session, api_user(), complaint_id, at=data["at"],
                                       expected_version=data["version"]))


@blp.post("/complaints/<int:complaint_id>/respond")
@api_permission(services.MANAGE)
@blp.arguments(ComplaintStepSchema)
@blp.response(200, description="responded (again: unchanged)")
def respond(data: dict[str, Any], complaint_id: int) -> Any:
    return _saved(services.respond(db.session, api_user(), complaint_id, at=data["at"],
                                   expected_version=data["version"]))


@blp.post("/complaints/<int:complaint_id>/escalate")
@api_permission(services.MANAGE)
@blp.arguments(ComplaintEscalateSchema)
@blp.response(200, description="escalated; its answer is due within the escalation hours")
def escalate(data: dict[str, Any], complaint_id: int) -> Any:
    return _saved(services.escalate(db.session, api_user(), complaint_id, reason=data["reason"],
                                    at=data["at"], expected_version=data["version"]))


@blp.post("/complaints/<int:complaint_id>/answer-escalation")
@api_permission(services.MANAGE)
@blp.arguments(ComplaintAnswerSchema)
@blp.response(200, description="the escalation answered")
def answer_escalation(data: dict[str, Any], complaint_id: int) -> Any:
    return _saved(services.answer_escalation(
        db.session, api_user(), complaint_id, answer=data["answer"], at=data["at"],
        expected_version=data["version"]))


@blp.post("/complaints/<int:complaint_id>/resolve")
@api_permission(services.MANAGE)
@blp.arguments(ComplaintResolveSchema)
@blp.response(200, description="resolved, with the outcome and the root cause")
def resolve(data: dict[str, Any], complaint_id: int) -> Any:
    return _saved(services.resolve(
        db.session, api_user(), complaint_id, outcome=data["outcome"],
        root_cause=data["root_cause"], at=data["at"], expected_version=data["version"]))


@blp.post("/complaints/<int:complaint_id>/close")
@api_permission(services.MANAGE)
@blp.arguments(ComplaintStepSchema)
@blp.response(200, description="closed (only once resolved)")
def close(data: dict[str, Any], complaint_id: int) -> Any:
    return _saved(services.close(db.session, api_user(), complaint_id, at=data["at"],
                                 expected_version=data["version"]))


@blp.post("/complaints/<int:complaint_id>/reopen")
@api_permission(services.MANAGE)
@blp.arguments(ComplaintVersionSchema)
@blp.response(200, description="reopened: its clock runs again")
def reopen(data: dict[str, Any], complaint_id: int) -> Any:
    return _saved(services.reopen(db.session, api_user(), complaint_id,
                                  expected_version=data["version"]))


@blp.post("/complaints/<int:complaint_id>/interactions")
@api_permission(services.MANAGE)
@blp.arguments(ComplaintLinkSchema)
@blp.response(200, description="the complaint, linked to one more interaction you may see")
def add_interaction(data: dict[str, Any], complaint_id: int) -> Any:
    return _saved(services.add_interaction(db.session, api_user(), complaint_id,
                                           data["interaction_id"],
                                           expected_version=data["version"]))


@blp.delete("/complaints/<int:complaint_id>/interactions/<int:interaction_id>")
@api_permission(services.MANAGE)
@blp.response(200, description="the complaint, that interaction unlinked")
def remove_interaction(complaint_id: int, interaction_id: int) -> Any:
    return _saved(services.remove_interaction(db.session, api_user(), complaint_id,
                                              interaction_id))


def _holiday_out(holiday: Holiday) -> dict[str, Any]:
    return {"id": holiday.id, "date": holiday.day.isoformat(), "name": holiday.name}


@blp.get("/complaints/holidays")
@api_permission(services.VIEW)
@blp.response(200, description="the holidays of the working-day calendar, by date")
def holidays() -> Any:
    return [_holiday_out(h) for h in queries.holidays(db.session)]


@blp.post("/complaints/holidays")
@api_permission(services.CALENDAR)
@blp.arguments(HolidaySchema)
@blp.response(201, description="the holiday added (a date already there: 409)")
def add_holiday(data: dict[str, Any]) -> Any:
    holiday = services.add_holiday(db.session, api_user(), data["date"], data["name"])
    db.session.commit()
    return _holiday_out(holiday)


@blp.delete("/complaints/holidays/<int:holiday_id>")
@api_permission(services.CALENDAR)
@blp.response(204, description="the holiday removed")
def delete_holiday(holiday_id: int) -> Any:
    services.delete_holiday(db.session, api_user(), holiday_id)
    db.session.commit()
    return None
