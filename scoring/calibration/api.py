"""/api/v1 for calibration sessions: the same services and blind-mode rules as the pages."""

from __future__ import annotations

from typing import Any

from flask import abort
from flask_smorest import Api, Blueprint
from marshmallow import Schema, fields, validate
from sqlalchemy import select

from qm.auth.access import api_permission, api_user
from qm.errors import NotFound
from qm.inputs import Count, Id, Text
from qm.web import api_error, db
from scoring.calibration import results as cal_results
from scoring.calibration import services as cal
from scoring.calibration.models import CalibrationMode, CalibrationSession

blp = Blueprint("api-calibration", __name__, url_prefix="/api/v1",
                description="Calibration sessions and their agreement statistics")


def _session(session_id: int) -> CalibrationSession:
    try:
        return cal.get_session(db.session, api_user(), session_id)
    except NotFound as exc:
        abort(api_error(404, str(exc)))


def dump_session(item: CalibrationSession, actor: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": item.id, "title": item.title, "form_version_id": item.form_version_id,
        "team_id": item.team_id, "mode": item.mode, "expert_id": item.expert_id,
        "due_on": item.due_on.isoformat() if item.due_on else None, "status": item.status,
        "closed_at": item.closed_at.isoformat() if item.closed_at else None,
        "participants": sorted(item.participant_ids()), "version": item.version,
        "items": [{"id": i.id, "position": i.position, "interaction_id": i.interaction_id,
                   "consensus": i.consensus, "consensus_score": None if i.consensus_score
                   is None else str(i.consensus_score)} for i in item.items],
    }
    visible = cal.scores_visible(actor, item)
    data["scores"] = [{
        "item_id": s.item_id, "evaluator_id": s.evaluator_id, "status": s.status,
        "answers": s.answers, "score": None if s.score is None else str(s.score),
        "version": s.version,
    } for i in item.items for s in i.scores
        if s.evaluator_id == actor.id or (visible and s.status == "submitted")]
    if visible:
        results = cal_results.results(db.session, item)
        data["statistics"] = [{"name": s.name, "value": s.value, "ci_low": s.ci_low,
                               "ci_high": s.ci_high, "note": s.note}
                              for s in results.statistics]
        data["deviations"] = {str(u.id): results.mean_abs_deviation(u.id)
                              for u in results.evaluators}
    return data


class SessionSchema(Schema):
    title = Text(required=True)
    form_id = Id(load_default=None, allow_none=True)
    team_id = Id(load_default=None, allow_none=True)
    mode = fields.Str(load_default="blind",
                      validate=validate.OneOf([m.value for m in CalibrationMode]))
    due_on = fields.Date(load_default=None, allow_none=True)
    interaction_ids = fields.List(Id(), required=True, validate=validate.Length(1, cal.MAX_ITEMS))
    participant_ids = fields.List(Id(), required=True, validate=validate.Length(min=1))
    expert_id = Id(load_default=None, allow_none=True)


class ScoreSchema(Schema):
    answers = fields.Dict(required=True)
    notes = fields.Dict(load_default=dict)
    comment = fields.Str(load_default="")
    submit = fields.Bool(load_default=False)
    version = Count(load_default=None, allow_none=True,
                         metadata={"description": "your draft's version; required once a "
                                                  "draft exists"})


class ConsensusSchema(Schema):
    answers = fields.Dict(required=True)
    notes = fields.Dict(load_default=dict)
    version = Count(required=True)


@blp.get("/calibration-sessions")
@api_permission("calibration.view")
@blp.response(200, description="sessions the caller takes part in or may see")
def list_sessions() -> Any:
    rows = db.session.scalars(select(CalibrationSession).where(cal.visible_clause(api_user()))
                              .order_by(CalibrationSession.id.desc()).limit(500)).all()
    return [{"id": s.id, "title": s.title, "status": s.status, "mode": s.mode,
             "team_id": s.team_id, "due_on": s.due_on.isoformat() if s.due_on else None}
            for s in rows]


@blp.post("/calibration-sessions")
@api_permission("calibration.manage")
@blp.arguments(SessionSchema)
@blp.response(201, description="the new session")
def create_session(data: dict[str, Any]) -> Any:
    item = cal.create_session(db.session, api_user(), **data)
    db.session.commit()
    return dump_session(item, api_user())


@blp.get("/calibration-sessions/<int:session_id>")
@api_permission("calibration.view")
@blp.response(200, description="the session; others' scores and the statistics once visible")
def get_session(session_id: int) -> Any:
    return dump_session(_session(session_id), api_user())


@blp.post("/calibration-items/<int:item_id>/score")
@api_permission("calibration.score")
@blp.arguments(ScoreSchema)
@blp.response(200, description="the caller's score of the item")
def save_score(data: dict[str, Any], item_id: int) -> Any:
    score = cal.save_score(db.session, api_user(), item_id, data["answers"],
                           notes=data["notes"], comment=data["comment"], submit=data["submit"],
                           expected_version=data["version"])
    db.session.commit()
    return {"item_id": score.item_id, "status": score.status, "answers": score.answers,
            "score": None if score.score is None else str(score.score),
            "version": score.version}


@blp.post("/calibration-sessions/<int:session_id>/close")
@api_permission("calibration.manage")
@blp.response(200, description="the closed session with its statistics")
def close_session(session_id: int) -> Any:
    item = cal.close_session(db.session, api_user(), _session(session_id).id)
    db.session.commit()
    return dump_session(item, api_user())


@blp.post("/calibration-items/<int:item_id>/consensus")
@api_permission("calibration.manage")
@blp.arguments(ConsensusSchema)
@blp.response(200, description="the item with its consensus")
def record_consensus(data: dict[str, Any], item_id: int) -> Any:
    item = cal.record_consensus(db.session, api_user(), item_id, data["answers"],
                                data["notes"], expected_version=data["version"])
    db.session.commit()
    return {"id": item.id, "consensus": item.consensus, "consensus_notes": item.consensus_notes,
            "consensus_score": None if item.consensus_score is None
            else str(item.consensus_score), "version": item.version}


def register(api: Api) -> None:
    api.register_blueprint(blp)
