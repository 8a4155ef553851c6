"""/api/v1/forms: list, export, import and publish form versions, as the pages do."""

from __future__ import annotations

from typing import Any

from flask import abort, request
from flask_smorest import Blueprint
from marshmallow import Schema, fields
from sqlalchemy import select

from qm.auth.access import api_permission, api_user
from qm.web import api_error, db
from scoring.forms import services as form_services
from scoring.forms.models import ScoringForm

blp = Blueprint("api-forms", __name__, url_prefix="/api/v1",
                      description="Scoring forms and their versions")


class FormSummarySchema(Schema):
    id = fields.Int()
    name = fields.Str()
    description = fields.Str()
    versions = fields.List(fields.Dict(), metadata={"description": "number and status of each"})


class FormImportQuerySchema(Schema):
    publish = fields.Bool(load_default=False)


@blp.get("/forms")
@api_permission("form.view")
@blp.response(200, FormSummarySchema(many=True))
def list_forms() -> Any:
    forms = db.session.scalars(select(ScoringForm).order_by(ScoringForm.name)).all()
    return [{"id": f.id, "name": f.name, "description": f.description,
             "versions": [{"number": v.number, "status": v.status} for v in f.versions]}
            for f in forms]


@blp.get("/forms/<int:form_id>/versions/<int:number>")
@api_permission("form.view")
@blp.response(200, description="the version in the JSON import/export format")
def get_form_version(form_id: int, number: int) -> Any:
    return form_services.export_form(form_services.form_version(db.session, form_id, number))


@blp.post("/forms")
@api_permission("form.manage")
@blp.arguments(FormImportQuerySchema, location="query")
@blp.response(201, description="the version created or found, as JSON")
@blp.doc(requestBody={"required": True, "content": {"application/json": {"schema": {
    "type": "object", "required": ["name", "sections"],
    "description": "a scoring form in the export format (see `qm forms export`)",
    "properties": {
        "name": {"type": "string", "minLength": 1, "pattern": r"[\s\S]*\S"},
        "description": {"type": "string"},
        "sections": {"type": "array", "minItems": 1, "items": {"type": "object"}}}}}}})
def import_form(args: dict[str, Any]) -> Any:
    """Import a form (JSON body, the export format); same content twice changes nothing."""
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        abort(api_error(400, "Send the form as a JSON object."))
    version = form_services.import_form(db.session, api_user(), data, publish=args["publish"])
    db.session.commit()
    return form_services.export_form(version)


@blp.post("/forms/<int:form_id>/publish")
@api_permission("form.manage")
@blp.response(200, description="the published version, as JSON")
def publish_form(form_id: int) -> Any:
    """Publish the form's draft; the version it replaces retires."""
    version = form_services.publish_form(db.session, api_user(), form_id)
    db.session.commit()
    return form_services.export_form(version)
