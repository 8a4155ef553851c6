"""/api/v1/competencies: the frameworks and their versions as JSON, as the pages show them."""

from __future__ import annotations

from typing import Any

from flask import abort
from flask_smorest import Blueprint

from competencies.frameworks import queries, services
from competencies.frameworks.models import CompetencyFramework
from qm.auth.access import api_permission
from qm.errors import NotFound
from qm.web import api_error, db

blp = Blueprint("api-competencies", __name__, url_prefix="/api/v1",
                description="Competency frameworks (ISO 18295-1 6.3)")


@blp.get("/competencies")
@api_permission("competency.view")
@blp.response(200, description="the frameworks, each with its versions and their status")
def list_frameworks() -> Any:
    return [{"id": f.id, "name": f.name, "description": f.description,
             "versions": [{"number": v.number, "status": v.status} for v in f.versions]}
            for f in queries.frameworks(db.session)]


@blp.get("/competencies/<int:framework_id>/versions/<int:number>")
@api_permission("competency.view")
@blp.response(200, description="the version in the JSON import/export format")
def get_version(framework_id: int, number: int) -> Any:
    framework = db.session.get(CompetencyFramework, framework_id)
    try:
        if framework is None:
            raise NotFound("Competency framework", framework_id)
        return services.export_framework(queries.version_of(framework, number))
    except NotFound as exc:
        abort(api_error(404, str(exc)))
