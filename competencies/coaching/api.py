"""/api/v1/coaching: the coaching log, sessions with their lifecycle, action items, and the
agent's acknowledgement; the same services and scope as the pages."""

from __future__ import annotations

from typing import Any

from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from competencies.coaching import effect, queries, services
from competencies.coaching.models import ActionItem, CoachingSession, CoachingStatus
from qm.auth.access import api_permission, api_user
from qm.inputs import Count, Id, Text
from qm.timestamps import today_in
from qm.web import db

blp = Blueprint("api-coaching", __name__, url_prefix="/api/v1",
                description="Coaching sessions and action items")


class CoachingLogQuery(Schema):
    agent_id = Id(load_default=None)
    team_id = Id(load_default=None)
    status = fields.Str(load_default=None, validate=validate.OneOf(
        [s.value for s in CoachingStatus]))


class CoachingSessionSchema(Schema):
    kind = fields.Str(required=True, validate=validate.OneOf(services.KINDS))
    planned_on = fields.Date(required=True)
    source = fields.Str(load_default="ad_hoc", validate=validate.OneOf(services.SOURCES))
    evaluation_ids = fields.List(Id(), load_default=list, validate=validate.Length(max=50))
    focus_questions = fields.List(Text(validate=validate.Length(max=64)), load_default=list,
                                  validate=validate.Length(max=50))
    focus_competencies = fields.List(Text(validate=validate.Length(max=64)),
                                     load_default=list, validate=validate.Length(max=50))
    notes = fields.Str(load_default="", validate=validate.Length(max=10_000))


class NewCoachingSessionSchema(CoachingSessionSchema):
    agent_id = Id(required=True)


class CoachingUpdateSchema(Schema):
    kind = fields.Str(validate=validate.OneOf(services.KINDS))
    planned_on = fields.Date()
    focus_questions = fields.List(Text(validate=validate.Length(max=64)),
                                  validate=validate.Length(max=50))
    focus_competencies = fields.List(Text(validate=validate.Length(max=64)),
                                     validate=validate.Length(max=50))
    notes = fields.Str(validate=validate.Length(max=10_000))
    version = Count(1, required=True, metadata={
        "description": "the session's version as read: one saved since answers 409"})


class CoachingHoldSchema(Schema):
    held_on = fields.Date(required=True)
    version = Count(1, load_default=None)


class CoachingVersionSchema(Schema):
    version = Count(1, load_default=None)


class CoachingActionSchema(Schema):
    text = Text(required=True, validate=validate.Length(max=1000))
    owner_id = Id(required=True)
    due_on = fields.Date(required=True)


class CoachingAcknowledgeSchema(Schema):
    comment = fields.Str(load_default="", validate=validate.Length(max=10_000))


def _action_out(action: ActionItem) -> dict[str, Any]:
    return {"id": action.id, "session_id": action.session_id, "text": action.text,
            "owner_id": action.owner_id, "due_on": action.due_on.isoformat(),
            "done_at": action.done_at.isoformat() if action.done_at else None,
            "version": action.version}


def _session_out(item: CoachingSession) -> dict[str, Any]:
    return {"id": item.id, "agent_id": item.agent_id, "team_id": item.team_id,
            "coach_id": item.coach_id, "kind": item.kind, "status": item.status,
            "planned_on": item.planned_on.isoformat(),
            "held_on": item.held_on.isoformat() if item.held_on else None,
            "source": item.source, "evaluation_ids": list(item.evaluation_ids),
            "focus_questions": list(item.focus_questions),
            "focus_competencies": list(item.focus_competencies), "notes": item.notes,
            "agent_acknowledged_at": (item.agent_acknowledged_at.isoformat()
                                      if item.agent_acknowledged_at else None),
            "agent_comment": item.agent_comment, "version": item.version,
            "actions": [_action_out(a) for a in item.actions]}


@blp.get("/coaching/sessions")
@api_permission("coaching.view")
@blp.arguments(CoachingLogQuery, location="query")
@blp.response(200, description="the coaching log: sessions the caller may see, latest first")
def log(query: dict[str, Any]) -> Any:
    return [_session_out(s) for s in queries.log(db.session, api_user(), **query)]


@blp.post("/coaching/sessions")
@api_permission("coaching.manage")
@blp.arguments(NewCoachingSessionSchema)
@blp.response(201, description="the session opened (an agent outside your teams: 400)")
def open_session(data: dict[str, Any]) -> Any:
    agent_id = data.pop("agent_id")
    item = services.open_session(db.session, api_user(), agent_id, data)
    db.session.commit()
    return _session_out(item)


@blp.get("/coaching/sessions/<int:session_id>")
@api_permission("coaching.view")
@blp.response(200, description="one session with its action items")
def get_session(session_id: int) -> Any:
    return _session_out(services.get(db.session, api_user(), session_id))


@blp.patch("/coaching/sessions/<int:session_id>")
@api_permission("coaching.manage")
@blp.arguments(CoachingUpdateSchema)
@blp.response(200, description="the session as saved (saved by someone since: 409)")
def update_session(data: dict[str, Any], session_id: int) -> Any:
    version = data.pop("version")
    item = services.update_session(db.session, api_user(), session_id, data,
                                   expected_version=version)
    db.session.commit()
    return _session_out(item)


@blp.post("/coaching/sessions/<int:session_id>/held")
@api_permission("coaching.manage")
@blp.arguments(CoachingHoldSchema)
@blp.response(200, description="the session, held")
def hold(data: dict[str, Any], session_id: int) -> Any:
    user = api_user()
    item = services.hold(db.session, user, session_id, held_on=data["held_on"],
                         today=today_in(user.timezone), expected_version=data["version"])
    db.session.commit()
    return _session_out(item)


@blp.post("/coaching/sessions/<int:session_id>/cancel")
@api_permission("coaching.manage")
@blp.arguments(CoachingVersionSchema)
@blp.response(200, description="the session, cancelled")
def cancel(data: dict[str, Any], session_id: int) -> Any:
    item = services.cancel(db.session, api_user(), session_id,
                           expected_version=data["version"])
    db.session.commit()
    return _session_out(item)


@blp.post("/coaching/sessions/<int:session_id>/acknowledge")
@api_permission("coaching.view")
@blp.arguments(CoachingAcknowledgeSchema)
@blp.response(200, description="acknowledged by the agent (again: the comment is updated)")
def acknowledge(data: dict[str, Any], session_id: int) -> Any:
    item = services.acknowledge(db.session, api_user(), session_id, data["comment"])
    db.session.commit()
    return _session_out(item)


@blp.post("/coaching/sessions/<int:session_id>/actions")
@api_permission("coaching.manage")
@blp.arguments(CoachingActionSchema)
@blp.response(201, description="the action item agreed")
def add_action(data: dict[str, Any], session_id: int) -> Any:
    action = services.add_action(db.session, api_user(), session_id, **data)
    db.session.commit()
    return _action_out(action)


@blp.post("/coaching/actions/<int:action_id>/done")
@api_permission("coaching.view")
@blp.arguments(CoachingVersionSchema)
@blp.response(200, description="the action item, done (by its owner or the coach)")
def complete_action(data: dict[str, Any], action_id: int) -> Any:
    action = services.complete_action(db.session, api_user(), action_id,
                                      expected_version=data["version"])
    db.session.commit()
    return _action_out(action)


@blp.get("/coaching/actions")
@api_permission("coaching.view")
@blp.response(200, description="open action items the caller may see or owns, due first")
def open_actions() -> Any:
    user = api_user()
    as_of = today_in(user.timezone)
    return [{**_action_out(a), "overdue": a.due_on < as_of}
            for a in queries.open_actions(db.session, user, as_of=as_of)]


class CoachingEffectQuery(Schema):
    team_id = Id(load_default=None)
    days = Count(1, queries.MAX_WINDOW_DAYS, load_default=effect.WINDOW_DAYS, metadata={
        "description": "days before and after a session whose scores count"})


def _effect_out(found: Any) -> dict[str, Any]:
    return {"n_before": found.n_before, "n_after": found.n_after,
            "mean_before": found.mean_before, "mean_after": found.mean_after,
            "difference": found.difference, "ci_low": found.ci_low, "ci_high": found.ci_high,
            "verdict": found.verdict, "reason": found.reason}


@blp.get("/coaching/effectiveness")
@api_permission("coaching.view")
@blp.arguments(CoachingEffectQuery, location="query")
@blp.response(200, description="each held session's verdict, and the shares per coach and team")
def effectiveness(query: dict[str, Any]) -> Any:
    found = queries.effectiveness(db.session, api_user(), team_id=query["team_id"],
                                  days=query["days"])
    return {"days": query["days"],
            "sessions": [{"session_id": item.id, "agent_id": item.agent_id,
                          "held_on": item.held_on.isoformat(), **_effect_out(e)}
                         for item, e in found.sessions],
            **{kind: {name: {"n": s.n, "improved": s.improved, "share": s.share,
                             "reason": s.reason} for name, s in group.items()}
               for kind, group in (("by_coach", found.by_coach), ("by_team", found.by_team))}}


@blp.get("/coaching/suggestions")
@api_permission("coaching.manage")
@blp.response(200, description="agents of the caller's teams whose recent scores call for "
                               "coaching, lowest share first")
def suggestions() -> Any:
    user = api_user()
    return [{"agent_id": s.agent.id, "subject": s.found.subject[0], "key": s.found.subject[1],
             "label": s.label, "n": s.found.n, "share": s.found.share,
             "team_share": s.found.team_share, "reason": s.found.reason}
            for s in queries.suggestions(db.session, user, as_of=today_in(user.timezone))]
