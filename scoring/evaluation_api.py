"""/api/v1 for evaluations, disputes, scorecards and sampling: the services the pages use."""

from __future__ import annotations

from typing import Any

from flask import abort, current_app
from flask_smorest import Api, Blueprint
from marshmallow import Schema, fields, validate
from sqlalchemy import select

from qm.auth.models import User
from qm.auth.permissions import can
from qm.errors import NotFound
from qm.inputs import Count, Id, Text
from qm.web import api_error, api_permission, api_user, db
from scoring import evaluations as ev
from scoring import queries, reports, sampling
from scoring.models import Channel, Dispute, Evaluation, Interaction, SamplingRule

blp = Blueprint("api-evaluations", __name__, url_prefix="/api/v1",
                description="Evaluations, disputes, scorecards and sampling")


def _policy() -> ev.Policy:
    return ev.Policy.from_settings(current_app.extensions["qm"]["settings"])


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


class RuleSchema(Schema):
    id = fields.Int(dump_only=True)
    name = Text(required=True)
    team_id = Id(load_default=None, allow_none=True)
    queue = fields.Str(load_default="")
    channel = fields.Str(load_default="", validate=validate.OneOf(
        ["", *(c.value for c in Channel)]))
    per_agent = Count(1, 20, load_default=2)
    flagged_per_agent = Count(0, 20, load_default=0, metadata={
        "description": "on top of per_agent: the agent's interactions flagged for review, "
                       "most likely problem first; their evaluations are targeted"})
    evaluator_daily_cap = Count(1, 500, load_default=20)
    form_id = Id(required=True)
    active = fields.Bool(load_default=True)
    version = fields.Int(dump_only=True)


class RunSchema(Schema):
    week = fields.Str(required=True, validate=validate.Regexp(
        r"^\d{4}-W\d{2}$", error="An ISO week, like 2026-W47."),
        metadata={"description": "ISO week, e.g. 2026-W47"})
    seed = Count(0, 2**32 - 1, load_default=0)


@blp.get("/evaluations")
@api_permission("evaluation.view")
@blp.arguments(ListQuery, location="query")
@blp.response(200, description="{items, before}: pass 'before' for the next page")
def list_evaluations(args: dict[str, Any]) -> Any:
    user = api_user()
    if args["queue"]:
        page = queries.evaluator_queue(db.session, user, limit=args["limit"])
    else:
        page = queries.list_evaluations(db.session, user, status=args["status"],
                                        agent_id=args.get("agent_id"),
                                        evaluator_id=args.get("evaluator_id"),
                                        before=args.get("before"), limit=args["limit"])
    return {"items": [dump_evaluation(e, user, full=False) for e in page.rows],
            "before": page.before}


@blp.post("/interactions/<int:interaction_id>/evaluations")
@api_permission("evaluation.score")
@blp.response(201, description="the new evaluation, in the caller's queue")
def start_evaluation(interaction_id: int) -> Any:
    user = api_user()
    interaction = db.session.get(Interaction, interaction_id)
    if interaction is None or not can(user, "interaction.view", interaction):
        abort(api_error(404, f"Interaction {interaction_id} does not exist or is not visible "
                             "to you."))
    item = ev.start_evaluation(db.session, user, interaction)
    db.session.commit()
    return dump_evaluation(item, user)


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
    return [dump_dispute(d) for d in ev.list_disputes(db.session, api_user(), limit=500)]


@blp.post("/disputes/<int:dispute_id>/decision")
@api_permission("dispute.review")
@blp.arguments(DecisionSchema)
@blp.response(200, description="the decided dispute")
def decide(data: dict[str, Any], dispute_id: int) -> Any:
    item = ev.decide(db.session, api_user(), dispute_id, data["outcome"], data["comment"],
                     answers=data["answers"], notes=data["notes"],
                     expected_version=data["version"])
    db.session.commit()
    return dump_dispute(item)


@blp.get("/scorecards/<int:user_id>")
@api_permission("evaluation.view")
@blp.response(200, description="mean with 95% CI, 12-month trend, weakest questions")
def scorecard(user_id: int) -> Any:
    agent = db.session.get(User, user_id)
    if agent is None or not can(api_user(), "evaluation.view", agent):
        abort(api_error(404, f"User {user_id} does not exist or is not visible to you."))
    card = reports.scorecard(db.session, agent,
                             timezone=current_app.extensions["qm"]["settings"].timezone,
                             visible=ev.visible_clause(api_user()))
    s = card.summary
    return {"agent_id": agent.id, "n": s.n, "mean": s.mean, "sd": s.sd,
            "ci95": [s.low, s.high] if s.low is not None else None,
            "conclusive": s.conclusive, "verdict": s.verdict, "peer_mean": card.peer_mean,
            "critical_fails": card.critical_fails, "targeted": card.targeted,
            "trend": card.trend,
            "weakest_questions": card.weakest,
            "recent": [dump_evaluation(e, api_user(), full=False) for e in card.recent]}


@blp.get("/sampling-rules")
@api_permission("sampling.view")
@blp.response(200, RuleSchema(many=True))
def list_rules() -> Any:
    return db.session.scalars(select(SamplingRule).order_by(SamplingRule.name)).all()


@blp.post("/sampling-rules")
@api_permission("sampling.manage")
@blp.arguments(RuleSchema)
@blp.response(201, RuleSchema)
def create_rule(data: dict[str, Any]) -> Any:
    rule = sampling.save_rule(db.session, api_user(), data)
    db.session.commit()
    return rule


@blp.post("/sampling/runs")
@api_permission("sampling.manage")
@blp.arguments(RunSchema)
@blp.response(201, description="what was created, per rule")
def run_sampling(data: dict[str, Any]) -> Any:
    report = sampling.run_sampling(db.session, api_user(), data["week"], seed=data["seed"],
                                   timezone=current_app.extensions["qm"]["settings"].timezone)
    db.session.commit()
    return {"week": report.week, "seed": report.seed, "created": report.created,
            "unassigned": report.unassigned, "evaluation_ids": report.created_ids,
            "rules": [vars(r) for r in report.rules], "summary": report.lines()}


def register(api: Api) -> None:
    api.register_blueprint(blp)
