"""/api/v1: the review queue, the flags with how they measure, an interaction's flags, and
verdicts; the same services and scope as the pages."""

from __future__ import annotations

from typing import Any

from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from qm.auth.access import api_permission, api_user
from qm.auth.permissions import can, require
from qm.errors import NotFound
from qm.inputs import Id, Text
from qm.interactions.models import Interaction
from qm.web import db
from scoring.review import queries
from transcription.flagging import queries as flag_queries
from transcription.flagging import services as flags
from transcription.models import FlagVerdictKind

blp = Blueprint("api-review", __name__, url_prefix="/api/v1",
                description="Named flags, the review queue and evaluators' verdicts")


class QueueQuery(Schema):
    flag_id = Id(load_default=None, metadata={"description": "only this flag's items"})
    page = fields.Int(load_default=1, validate=validate.Range(min=1, max=100_000))


class VerdictSchema(Schema):
    flag_id = Id(required=True)
    verdict = fields.Str(required=True,
                         validate=validate.OneOf([k.value for k in FlagVerdictKind]))
    reason = Text(load_default="", validate=validate.Length(max=2000),
                  metadata={"description": "required to reject (dismiss) a flag"})


def _reason_out(reason: queries.Reason) -> dict[str, Any]:
    return {"flag_id": reason.flag_id, "flag": reason.flag, "score": reason.score,
            "version": reason.version, "evidence": reason.evidence}


@blp.get("/review-queue")
@api_permission("flag.review")
@blp.arguments(QueueQuery, location="query")
@blp.response(200, description="flagged interactions nobody has judged or taken, riskiest "
                               "first, with each flag's evidence in words")
def review_queue(query: dict[str, Any]) -> Any:
    items, total = queries.queue(db.session, api_user(), flag_id=query["flag_id"],
                                 page=query["page"])
    return {"total": total, "page": query["page"], "per_page": queries.PAGE,
            "items": [{"interaction_id": i.interaction.id, "agent": i.agent, "risk": i.risk,
                       "started_at": i.interaction.started_at.isoformat(),
                       "reasons": [_reason_out(r) for r in i.reasons]} for i in items]}


@blp.get("/flags")
@api_permission("flag.view")
@blp.response(200, description="every flag: the version in use, how it measured when trained, "
                               "what evaluators' verdicts say")
def flag_list() -> Any:
    return flag_queries.overview(db.session)


@blp.get("/review-queue/<int:interaction_id>")
@api_permission("flag.view")
@blp.response(200, description="what fired on the interaction, with evidence and verdicts")
def interaction_flags(interaction_id: int) -> Any:
    interaction = db.session.get(Interaction, interaction_id)
    if interaction is None or not can(api_user(), "interaction.view", interaction):
        raise NotFound("Interaction", interaction_id)  # out of scope reads as absent
    require(api_user(), "flag.view", interaction)
    shown, _missed = flag_queries.of_interaction(db.session, interaction)
    return [{"flag_id": s.flag.id, "flag": s.flag.name, "score": s.score,
             "version": s.version, "evidence": s.evidence,
             "verdict": s.verdict.verdict if s.verdict else None,
             "reason": s.verdict.reason if s.verdict else None} for s in shown]


@blp.post("/review-queue/<int:interaction_id>/verdicts")
@api_permission("flag.review")
@blp.arguments(VerdictSchema)
@blp.response(201, description="the verdict recorded (and any complaint it opened)")
def record_verdict(data: dict[str, Any], interaction_id: int) -> Any:
    verdict, opened = flags.record_verdict(db.session, api_user(), interaction_id,
                                           data["flag_id"], data["verdict"], data["reason"])
    db.session.commit()
    return {"id": verdict.id, "interaction_id": verdict.interaction_id,
            "flag_id": verdict.flag_id, "version_id": verdict.version_id,
            "verdict": verdict.verdict, "reason": verdict.reason, "complaints": opened}
