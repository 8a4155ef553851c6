"""/api/v1 for evaluations and disputes: the services the pages use."""

from __future__ import annotations

from typing import Any

from flask import abort
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from qm.auth.access import api_permission, api_user
from qm.errors import NotFound
from qm.inputs import Count, Id, Text
from qm.web import api_error, db, settings
from scoring.evaluations import disputes as dispute_rules
from scoring.evaluations import queries as evaluation_queries
from scoring.evaluations import services as ev
from scoring.evaluations.models import Dispute, Evaluation

blp = Blueprint("api-evaluations", __name__, url_prefix="/api/v1",
                description="Evaluations and disputes")


def _policy() -> ev.Policy:
    return ev.Policy.from_settings(settings())


def _dec(value: Any) -> str | None:
    return None if value is None else str(value)


def dump_evaluation(item: Evaluation, actor: Any, *, full: bool = True) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": item.id, "interaction_id": item.interaction_id, "agent_id": item.agent_id,
        "team_id": item.team_id, "evaluator_id": item.evaluator_id,
        "form_version_id": item.form_version_id, "status": item.status,
        "score": _dec(item.score), "critical_fail": item.critical_fail,
        "critical_reasons": item.critical_reasons, "section_scores": item.section_scores,
        "revision": item.revision, "sample_week": item.sample_week, "targeted": item.targeted,
        "due_on": item.due_on.isoformat() if item.due_on else None,
        "submitted_at": item.submitted_at.isoformat() if item.submitted_at else None,
        "released_at": item.released_at.isoformat() if item.released_at else None,
        "acknowledged_at": item.acknowledged_at.isoformat() if item.acknowledged_at else None,
        "dispute_count": item.dispute_count, "version": item.version,
    }
    if not full:
        return data
    comments = ev.can_read_comments(actor, item)
    data["answers"] = item.answers
    data["form"] = {"form_id": item.form_version.form_id,
                    "number": item.form_version.number}
    if comments:
        data.update(notes=item.notes, comment=item.comment,
                    acknowledgement=item.acknowledgement)
    data["revisions"] = [{
        "number": r.number, "kind": r.kind, "score": _dec(r.score),
        "critical_fail": r.critical_fail, "answers": r.answers,
        "author_id": r.author_id, "created_at": r.created_at.isoformat(),
        "dispute_id": r.dispute_id, **({"notes": r.notes, "comment": r.comment}
                                       if comments else {}),
    } for r in item.revisions]
    data["disputes"] = [dump_dispute(d, comments) for d in item.disputes]
    return data


def dump_dispute(item: Dispute, comments: bool = True) -> dict[str, Any]:
    data = {"id": item.id, "evaluation_id": item.evaluation_id, "number": item.number,
            "status": item.status, "raised_by_id": item.raised_by_id,
            "raised_at": item.raised_at.isoformat(), "decided_by_id": item.decided_by_id,
            "decided_at": item.decided_at.isoformat() if item.decided_at else None,
            "version": item.version}
    if comments:
        data.update(reason=item.reason, outcome=item.outcome)
    return data


def _evaluation(evaluation_id: int) -> Evaluation:
    try:
        return ev.get_evaluation(db.session, api_user(), evaluation_id)
    except NotFound as exc:
        abort(api_error(404, str(exc)))


class ListQuery(Schema):
    queue = fields.Bool(load_default=False, metadata={"description": "my assignments to do"})
    status = fields.Str(load_default="")
    agent_id = Id()
    evaluator_id = Id()
    before = Id(metadata={"description": "the 'before' of the previous page"})
    limit = fields.Int(load_default=50, validate=validate.Range(1, 500))


class AnswersSchema(Schema):
    answers = fields.Dict(required=True, metadata={"description": "question key -> value "
                          "('yes'/'no', a number, an option value, a list, 'n/a')"})
    notes = fields.Dict(load_default=dict)
    comment = fields.Str(load_default="")
    version = Count(required=True, metadata={
        "description": "the evaluation's version as you read it; a newer one answers 409"})


class CommentSchema(Schema):
    comment = fields.Str(load_default="")


class DisputeSchema(Schema):
    reason = Text(required=True, min_length=ev.MIN_REASON,
                  metadata={"description": "what the agent disagrees with, and why"})


class DecisionSchema(Schema):
    outcome = fields.Str(required=True, validate=validate.OneOf(["upheld", "adjusted"]))
    comment = Text(required=True, metadata={"description": "the decision, explained"})
    answers = fields.Dict(load_default=None, allow_none=True)
    notes = fields.Dict(load_default=dict)
    version = Count(required=True, metadata={
        "description": "the dispute's version as you read it; a newer one answers 409"})


@blp.get("/evaluations")
@api_permission("evaluation.view")
@blp.arguments(ListQuery, location="query")
@blp.response(200, description="{items, before}: pass 'before' for the next page")
def list_evaluations(args: dict[str, Any]) -> Any:
    user = api_user()
    if args["queue"]:
        page = evaluation_queries.evaluator_queue(db.session, user, limit=args["limit"])
    else:
        page = evaluation_queries.list_evaluations(db.session, user, status=args["status"],
                                        agent_id=args.get("agent_id"),
                                        evaluator_id=args.get("evaluator_id"),
                                        before=args.get("before"), limit=args["limit"],
                                        policy=_policy())
    return {"items": [dump_evaluation(e, user, full=False) for e in page.rows],
            "before": page.before}


@blp.get("/evaluations/<int:evaluation_id>")
@api_permission("evaluation.view")
@blp.response(200, description="the evaluation with answers, revisions and disputes")
def get_evaluation(evaluation_id: int) -> Any:
    return dump_evaluation(_evaluation(evaluation_id), api_user())


@blp.put("/evaluations/<int:evaluation_id>")
@api_permission("evaluation.score")
@blp.arguments(AnswersSchema)
@blp.response(200, description="the draft as saved")
def save_draft(data: dict[str, Any], evaluation_id: int) -> Any:
    user = api_user()
    item = ev.save_draft(db.session, user, _evaluation(evaluation_id).id, data["answers"],
                         notes=data["notes"], comment=data["comment"],
                         expected_version=data["version"])
    db.session.commit()
    return dump_evaluation(item, user)


@blp.post("/evaluations/<int:evaluation_id>/submit")
@api_permission("evaluation.score")
@blp.arguments(AnswersSchema)
@blp.response(200, description="the submitted evaluation with its score")
def submit(data: dict[str, Any], evaluation_id: int) -> Any:
    user = api_user()
    item = ev.submit(db.session, user, _evaluation(evaluation_id).id, data["answers"],
                     notes=data["notes"], comment=data["comment"],
                     expected_version=data["version"], policy=_policy())
    db.session.commit()
    return dump_evaluation(item, user)


@blp.post("/evaluations/<int:evaluation_id>/release")
@api_permission("evaluation.release")
@blp.response(200, description="the released evaluation")
def release(evaluation_id: int) -> Any:
    user = api_user()
    item = ev.release(db.session, user, _evaluation(evaluation_id).id)
    db.session.commit()
    return dump_evaluation(item, user)


@blp.post("/evaluations/<int:evaluation_id>/acknowledge")
@api_permission("evaluation.respond")
@blp.arguments(CommentSchema)
@blp.response(200, description="the acknowledged evaluation")
def acknowledge(data: dict[str, Any], evaluation_id: int) -> Any:
    user = api_user()
    item = ev.acknowledge(db.session, user, _evaluation(evaluation_id).id, data["comment"],
                          policy=_policy())
    db.session.commit()
    return dump_evaluation(item, user)


@blp.post("/evaluations/<int:evaluation_id>/disputes")
@api_permission("evaluation.respond")
@blp.arguments(DisputeSchema)
@blp.response(201, description="the dispute")
def raise_dispute(data: dict[str, Any], evaluation_id: int) -> Any:
    item = ev.dispute(db.session, api_user(), _evaluation(evaluation_id).id, data["reason"],
                      policy=_policy())
    db.session.commit()
    return dump_dispute(item)


@blp.get("/disputes")
@api_permission("dispute.view")
@blp.response(200, description="disputes the caller may decide, open first (an auditor: "
                               "every dispute)")
def list_disputes() -> Any:
    return [dump_dispute(d) for d in dispute_rules.list_disputes(db.session, api_user(), limit=500)]


@blp.post("/disputes/<int:dispute_id>/decision")
@api_permission("dispute.review")
@blp.arguments(DecisionSchema)
@blp.response(200, description="the decided dispute")
def decide(data: dict[str, Any], dispute_id: int) -> Any:
    item = dispute_rules.decide(db.session, api_user(), dispute_id, data["outcome"],
                                data["comment"],
                     answers=data["answers"], notes=data["notes"],
                     expected_version=data["version"])
    db.session.commit()
    return dump_dispute(item)
