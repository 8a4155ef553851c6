"""Competency framework pages: the frameworks, one version with its indicators, its JSON, and
for HR a new framework, an import from JSON, the draft editor and publishing.

Every write goes through ``competencies.frameworks.services`` (``create_framework``,
``save_definition``, ``import_framework``, ``publish_framework``), as the API and the CLI do;
these handlers only parse the request and render."""

from __future__ import annotations

import json
from typing import Any

from flask import Blueprint, Response, redirect, render_template, request, url_for
from flask_login import current_user

from competencies.frameworks import definition as defs
from competencies.frameworks import queries, services
from competencies.frameworks.forms import (
    FrameworkEditForm,
    FrameworkImportForm,
    PublishForm,
    editor_data,
)
from competencies.frameworks.models import CompetencyFramework, FrameworkStatus, FrameworkVersion
from qm.auth.access import permission_required
from qm.errors import InvalidInput, NotFound
from qm.inputs import BadInput, id_arg, load_json
from qm.web import db, publish_page, save_form

bp = Blueprint("frameworks", __name__)


def _framework(framework_id: int) -> CompetencyFramework:
    framework = db.session.get(CompetencyFramework, framework_id)
    if framework is None:
        raise NotFound("Competency framework", framework_id)
    return framework


def _draft(framework: CompetencyFramework) -> FrameworkVersion | None:
    return next((v for v in framework.versions if v.status == FrameworkStatus.DRAFT.value), None)


def _detail(version: FrameworkVersion) -> Any:
    return redirect(url_for("frameworks.framework", framework_id=version.framework_id,
                            number=version.number))


def _saved(version: FrameworkVersion) -> str:
    if version.status == FrameworkStatus.DRAFT.value:
        return (f"{version.framework.name}: draft version {version.number} saved; publish it "
                "to use it for profiles and assessments.")
    return (f"{version.framework.name}: nothing changed, this is the content of version "
            f"{version.number} ({version.status}).")


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
    draft = _draft(item)
    publish = PublishForm(formdata=None, number=draft.number,
                          version=draft.version) if draft is not None else None
    return render_template("competencies/frameworks/detail.html", framework=item,
                           version=version, parsed=queries.parsed(version), groups=defs.GROUPS,
                           draft=draft, publish=publish)


@bp.get("/competencies/<int:framework_id>/versions/<int:number>.json")
@permission_required("competency.view")
def export_version(framework_id: int, number: int) -> Any:
    version = queries.version_of(_framework(framework_id), number)
    body = json.dumps(services.export_framework(version), indent=2, ensure_ascii=False) + "\n"
    return Response(body, mimetype="application/json", headers={
        "Content-Disposition": f'attachment; filename="framework-{framework_id}-v{number}.json"'})


@bp.route("/competencies/new", methods=["GET", "POST"])
@permission_required("competency.manage")
def new_framework() -> Any:
    if request.method == "POST":
        form = FrameworkEditForm()
    else:
        form = FrameworkEditForm(data={"scale": list(defs.DEFAULT_SCALE),
                                       "competencies": [{"group": next(iter(defs.GROUPS))}]})
    return _editor(form, None, None)


@bp.route("/competencies/<int:framework_id>/edit", methods=["GET", "POST"])
@permission_required("competency.manage")
def edit_framework(framework_id: int) -> Any:
    item = _framework(framework_id)
    if not item.versions:
        raise NotFound("Competency framework", framework_id)
    base = item.versions[-1]  # the draft if there is one, else the newest version
    if request.method == "POST":
        form = FrameworkEditForm()
    else:
        form = FrameworkEditForm(data={**editor_data(base.definition),
                                       "base_number": base.number,
                                       "base_version": base.version})
    return _editor(form, item, base)


def _editor(form: FrameworkEditForm, framework: CompetencyFramework | None,
            base: FrameworkVersion | None) -> Any:
    """Save the editor's content, or (another button) change its rows and show it again."""
    action = request.form.get("action", "save") if request.method == "POST" else "show"
    if action == "save":
        def write() -> FrameworkVersion:
            if framework is None:
                return services.create_framework(db.session, current_user, form.definition())
            return services.save_definition(
                db.session, current_user, framework.id, form.definition(),
                expected=(form.base_number.data or 0, form.base_version.data or 0))

        outcome = save_form(form, write, _detail, _saved)
        if not isinstance(outcome, int):
            return outcome
        status = outcome
    else:
        _rearrange(form, action)
        status = 200
    _pad(form)
    return render_template("competencies/frameworks/edit.html", form=form, framework=framework,
                           base=base, groups=defs.GROUPS, levels=form.levels()), status


def _rearrange(form: FrameworkEditForm, action: str) -> None:
    """The editor's buttons other than Save: "add-<group>" adds a blank row to a group,
    "remove-<n>" drops the n-th row; any of them (and "refresh") brings the indicator fields
    in line with the scale. Nothing is written."""
    kind, _, arg = action.partition("-")
    if kind == "add":
        form.competencies.append_entry({"group": arg if arg in defs.GROUPS
                                        else next(iter(defs.GROUPS))})
    elif kind == "remove" and arg.isascii() and arg.isdigit() \
            and int(arg) < len(form.competencies.entries):
        form.competencies.pop_entry(int(arg))


def _pad(form: FrameworkEditForm) -> None:
    """An indicator field for every level above 0, and a blank level to fill in for one more."""
    top = max(len(form.levels()) - 1, 1)
    for row in form.competencies:
        while len(row.form.indicators.entries) < top:
            row.form.indicators.append_entry()
    while len(form.scale.entries) > len(form.levels()) + 1:
        form.scale.entries.pop()
    if len(form.scale.entries) == len(form.levels()) < 11:
        form.scale.append_entry()


@bp.route("/competencies/import", methods=["GET", "POST"])
@permission_required("competency.manage")
def import_framework() -> Any:
    """A framework from a JSON file, as `qm competencies import` and the API take it: a new
    framework, or a new draft of the one of the same name."""
    form = FrameworkImportForm()

    def write() -> FrameworkVersion:
        return services.import_framework(db.session, current_user, _read_json(form.file.data),
                                         publish=bool(form.publish.data))

    def imported(version: FrameworkVersion) -> str:
        if form.publish.data and version.status == FrameworkStatus.PUBLISHED.value:
            return (f"{version.framework.name}: version {version.number} is published; "
                    "profiles and assessments use it.")
        return _saved(version)

    outcome = save_form(form, write, _detail, imported)
    if not isinstance(outcome, int):
        return outcome
    return render_template("competencies/frameworks/import.html", form=form), outcome


def _read_json(upload: Any) -> Any:
    """The uploaded file's JSON, or a sentence saying why it is not JSON we can store."""
    try:
        text = upload.read().decode("utf-8-sig")
    except UnicodeDecodeError:
        message = "The file is not UTF-8 text; save it as JSON in UTF-8."
        raise InvalidInput(message, {"file": message}) from None
    try:
        json.loads(text)
    except json.JSONDecodeError as exc:
        message = (f"The file is not valid JSON: {exc.msg} at line {exc.lineno}, "
                   f"column {exc.colno}.")
        raise InvalidInput(message, {"file": message}) from None
    except RecursionError:
        pass  # load_json says it in words
    try:
        return load_json(text)  # also refuses what no database stores (NUL characters)
    except BadInput as exc:
        raise InvalidInput(f"The file was refused: {exc}", {"file": str(exc)}) from None


@bp.post("/competencies/<int:framework_id>/publish")
@permission_required("competency.manage")
def publish(framework_id: int) -> Any:
    _framework(framework_id)  # 404 before the CSRF and form checks
    form = PublishForm()

    def write() -> FrameworkVersion:
        return services.publish_framework(db.session, current_user, framework_id,
                                          expected=(form.number.data, form.version.data))

    def published(version: FrameworkVersion) -> str:
        return (f"Version {version.number} published: profiles, assessments and the skills "
                "matrix use it now. The version it replaces is retired and stays readable.")

    return publish_page(form, write, _detail, published, what="framework",
                        back=url_for("frameworks.framework", framework_id=framework_id))
