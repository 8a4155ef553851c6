"""Competency framework pages: the frameworks, one version with its indicators, its JSON."""

from __future__ import annotations

import json
from typing import Any

from flask import Blueprint, Response, render_template, request

from competencies.frameworks import definition as defs
from competencies.frameworks import queries, services
from competencies.frameworks.models import CompetencyFramework
from qm.auth.access import permission_required
from qm.errors import NotFound
from qm.inputs import id_arg
from qm.web import db

bp = Blueprint("frameworks", __name__)


def _framework(framework_id: int) -> CompetencyFramework:
    framework = db.session.get(CompetencyFramework, framework_id)
    if framework is None:
        raise NotFound("Competency framework", framework_id)
    return framework


@bp.get("/competencies")
@permission_required("competency.view")
def frameworks() -> Any:
    return render_template("competencies/frameworks/list.html",
                           frameworks=queries.frameworks(db.session))


@bp.get("/competencies/<int:framework_id>")
@permission_required("competency.view")
def framework(framework_id: int) -> Any:
    item = _framework(framework_id)
    version = queries.version_of(item, id_arg(request.args, "number"))
    return render_template("competencies/frameworks/detail.html", framework=item,
                           version=version, parsed=queries.parsed(version), groups=defs.GROUPS)


@bp.get("/competencies/<int:framework_id>/versions/<int:number>.json")
@permission_required("competency.view")
def export_version(framework_id: int, number: int) -> Any:
    version = queries.version_of(_framework(framework_id), number)
    body = json.dumps(services.export_framework(version), indent=2, ensure_ascii=False) + "\n"
    return Response(body, mimetype="application/json", headers={
        "Content-Disposition": f'attachment; filename="framework-{framework_id}-v{number}.json"'})
