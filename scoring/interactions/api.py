"""/api/v1/interactions: the same services and permission checks as the web pages."""

from __future__ import annotations

import datetime as dt
import io
from typing import Any

from flask import abort, request
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from qm import audit
from qm.auth.access import api_permission, api_user
from qm.auth.permissions import can
from qm.inputs import Count, Id
from qm.interactions import importing
from qm.interactions import services as interactions
from qm.interactions.models import Channel, Direction, Interaction
from qm.schemas import AuditEntrySchema
from qm.timestamps import in_range
from qm.web import api_error, db, send_recording
from scoring.evaluations import services as ev
from scoring.evaluations.api import dump_evaluation
from scoring.interactions import queries
from scoring.sampling import services as sampling
from transcription import texts

blp = Blueprint("api-interactions", __name__, url_prefix="/api/v1",
                description="Interactions: calls, chats, e-mails")


class InteractionSchema(Schema):
    id = fields.Int(dump_only=True)
    source = fields.Str(load_default="api", metadata={"description": "system the record is from"})
    external_id = fields.Str(load_default="", metadata={"description": "id in that system; "
                             "(source, external_id) is unique"})
    agent = fields.Str(required=True, load_only=True,
                       metadata={"description": "the agent's username or e-mail"})
    agent_id = fields.Int(dump_only=True)
    team_id = fields.Int(dump_only=True, allow_none=True)
    channel = fields.Str(required=True, validate=validate.OneOf([c.value for c in Channel]))
    direction = fields.Str(load_default="inbound",
                           validate=validate.OneOf([d.value for d in Direction]))
    queue = fields.Str(load_default="")
    started_at = fields.AwareDateTime(required=True, default_timezone=dt.UTC,
                                      validate=in_range)
    duration_s = Count(load_default=0, maximum=interactions.MAX_DURATION_S)
    customer_ref = fields.Str(allow_none=True, load_default=None)
    body = fields.Str(allow_none=True, load_default=None, metadata={
        "description": "a chat's or e-mail's text: sent as typed, always answered redacted"})
    body_as_typed = fields.Str(dump_only=True, allow_none=True, metadata={
        "description": "the text as typed: only for holders of transcript.read_raw, "
                       "else null"})
    has_recording = fields.Method("_has_recording", dump_only=True)
    created_at = fields.DateTime(dump_only=True)
    version = fields.Int(dump_only=True)

    def _has_recording(self, obj: Interaction) -> bool:
        return bool(obj.recording_path)


class Shown:
    """An interaction as it leaves through the API: its body redacted (``texts.shown_bodies``,
    as on the pages); the text as typed only for holders of ``transcript.read_raw``."""

    def __init__(self, item: Interaction, body: str | None, as_typed: str | None) -> None:
        self._item, self.body, self.body_as_typed = item, body, as_typed

    def __getattr__(self, name: str) -> Any:
        return getattr(self._item, name)


def shown(items: list[Interaction]) -> list[Shown]:
    bodies = texts.shown_bodies(db.session, items)
    raw = can(api_user(), "transcript.read_raw")
    return [Shown(i, bodies[i.id], i.body if raw else None) for i in items]


class InteractionQuerySchema(Schema):
    q = fields.Str(load_default="", metadata={"description": "external id or customer ref"})
    agent_id = Id()
    team_id = Id()
    channel = fields.Str(load_default="")
    direction = fields.Str(load_default="")
    queue = fields.Str(load_default="")
    date_from = fields.Date()
    date_to = fields.Date()
    cursor = fields.Str(metadata={"description": "next_cursor of the previous page"})
    limit = fields.Int(load_default=50, validate=validate.Range(1, 500))


class InteractionPageSchema(Schema):
    items = fields.List(fields.Nested(InteractionSchema))
    next_cursor = fields.Str(allow_none=True)


class ImportResultSchema(Schema):
    rows = fields.Int()
    created = fields.Int()
    already_imported = fields.Int()
    failed = fields.Int()
    errors = fields.List(fields.Dict())
    warnings = fields.List(fields.Str())


def _visible(interaction_id: int, permission: str = "interaction.view") -> Interaction:
    item = db.session.get(Interaction, interaction_id)
    if item is None or not can(api_user(), permission, item):
        abort(api_error(404, f"Interaction {interaction_id} does not exist or is not visible "
                             "to you."))
    return item


@blp.get("/interactions")
@api_permission("interaction.view")
@blp.arguments(InteractionQuerySchema, location="query")
@blp.response(200, InteractionPageSchema)
def list_interactions(args: dict[str, Any]) -> Any:
    """Interactions the caller may see, newest first, a page at a time."""
    cursor, limit = args.pop("cursor", None), args.pop("limit")
    filters = queries.InteractionFilters(**args, timezone=api_user().timezone or "UTC")
    page = queries.list_interactions(db.session, api_user(), filters, cursor=cursor, limit=limit)
    return {"items": shown(page.rows), "next_cursor": page.next_cursor}


@blp.post("/interactions")
@api_permission("interaction.create")
@blp.arguments(InteractionSchema)
@blp.response(201, InteractionSchema)
def create_interaction(data: dict[str, Any]) -> Any:
    """Create one interaction; a repeated (source, external_id) answers 409."""
    item = interactions.create_interaction(db.session, api_user(), data)
    db.session.commit()
    return shown([item])[0]


@blp.get("/interactions/<int:interaction_id>")
@api_permission("interaction.view")
@blp.response(200, InteractionSchema)
def get_interaction(interaction_id: int) -> Any:
    return shown([_visible(interaction_id)])[0]


@blp.get("/interactions/<int:interaction_id>/history")
@api_permission("interaction.view")
@blp.response(200, AuditEntrySchema(many=True))
def interaction_history(interaction_id: int) -> Any:
    """The interaction's audit trail, newest first."""
    item = _visible(interaction_id)
    return audit.history(db.session, "interactions", item.id)


@blp.get("/interactions/<int:interaction_id>/recording")
@api_permission("recording.listen")
@blp.response(200, description="the audio file (supports Range requests)")
def interaction_recording(interaction_id: int) -> Any:
    return send_recording(_visible(interaction_id, "recording.listen"))


@blp.post("/interactions/import")
@api_permission("interaction.import")
@blp.response(200, ImportResultSchema)
@blp.doc(requestBody={"content": {"text/csv": {"schema": {"type": "string"}}}},
         parameters=[{"in": "query", "name": "source", "schema": {"type": "string"}},
                     {"in": "query", "name": "timezone", "schema": {"type": "string"}}])
def import_interactions() -> Any:
    """Import a CSV sent as the request body (text/csv). Bad rows come back with line numbers."""
    report = importing.import_csv(
        db.session, api_user(), io.BytesIO(request.get_data()),
        source=request.args.get("source", "csv"), timezone=request.args.get("timezone", "UTC"),
        on_chunk=lambda _report: db.session.commit(),  # short transactions; a retry resumes
    )
    db.session.commit()
    return report.as_dict()


@blp.post("/interactions/<int:interaction_id>/evaluations")
@api_permission("evaluation.score")
@blp.response(201, description="the new evaluation, in the caller's queue")
def start_evaluation(interaction_id: int) -> Any:
    user = api_user()
    interaction = db.session.get(Interaction, interaction_id)
    if interaction is None or not can(user, "interaction.view", interaction):
        abort(api_error(404, f"Interaction {interaction_id} does not exist or is not visible "
                             "to you."))
    item = ev.start_evaluation(db.session, user, interaction,
                               form_id=sampling.rule_form_for(db.session, interaction))
    db.session.commit()
    return dump_evaluation(item, user)
