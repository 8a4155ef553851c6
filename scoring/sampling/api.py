"""/api/v1 for sampling rules and sampling runs."""

from __future__ import annotations

from typing import Any

from flask import request
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate
from sqlalchemy import select

from qm.auth.access import api_permission, api_user
from qm.inputs import Count, Id, Text
from qm.interactions.models import Channel
from qm.web import db, settings
from scoring.sampling import queries
from scoring.sampling import services as sampling
from scoring.sampling.models import SamplingRule

blp = Blueprint("api-sampling", __name__, url_prefix="/api/v1",
                description="Sampling rules and weekly sampling runs")


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


class RunLineSchema(Schema):
    rule_id = fields.Int(allow_none=True)
    rule_name = fields.Str()
    team_id = fields.Int(allow_none=True)
    agents = fields.Int()
    candidates = fields.Int()
    created = fields.Int()
    targeted = fields.Int()
    already = fields.Int()
    unassigned = fields.Int()
    problem = fields.Str()
    note = fields.Str()
    evaluation_ids = fields.List(fields.Int())
    unassigned_interaction_ids = fields.List(fields.Int(), metadata={
        "description": "drawn, but no evaluator could take them (caps reached)"})


class PastRunSchema(Schema):
    id = fields.Int()
    week = fields.Str()
    seed = fields.Int()
    timezone = fields.Str()
    run_by_id = fields.Int(allow_none=True)
    run_by_name = fields.Str()
    ran_at = fields.DateTime()
    created = fields.Int()
    unassigned = fields.Int()
    rules = fields.List(fields.Nested(RunLineSchema))


@blp.get("/sampling/runs")
@api_permission("sampling.view")
@blp.response(200, PastRunSchema(many=True))
def list_runs() -> Any:
    """Past sampling runs, newest first, 20 a page (``?page=2``); a lead's own teams' lines."""
    user = api_user()
    page = queries.runs(db.session, user, request.args.get("page", 1, type=int) or 1)
    return [{**{k: getattr(r, k) for k in PastRunSchema().fields if k != "rules"},
             "rules": queries.run_lines(user, r)} for r in page.runs]


@blp.post("/sampling/runs")
@api_permission("sampling.run")
@blp.arguments(RunSchema)
@blp.response(201, description="what was created, per rule")
def run_sampling(data: dict[str, Any]) -> Any:
    report = sampling.run_sampling(db.session, api_user(), data["week"], seed=data["seed"],
                                   timezone=settings().timezone)
    db.session.commit()
    return {"run_id": report.run_id, "week": report.week, "seed": report.seed,
            "created": report.created,
            "unassigned": report.unassigned, "evaluation_ids": report.created_ids,
            "rules": [vars(r) for r in report.rules], "summary": report.lines()}
