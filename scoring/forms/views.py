"""Scoring form pages: list, view a version, the form builder, import, export, publish.

Every write goes through ``scoring.services`` (``import_form``, ``publish_form``), the same
functions the API and the CLI call; these handlers only parse the request and translate errors.
"""

from __future__ import annotations

import json
from typing import Any

from flask import Blueprint, Response, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import selectinload
from werkzeug.utils import secure_filename

from qm.auth.access import permission_required
from qm.errors import InvalidInput, NotFound
from qm.inputs import id_arg
from qm.web import db, publish_page, save_form
from scoring.forms import diff, rules
from scoring.forms import services as form_services
from scoring.forms.forms import FormDefinitionForm, FormImportForm, PublishForm
from scoring.forms.models import FormStatus, FormVersion, ScoringForm

bp = Blueprint("forms", __name__)


# The words evaluators read for each question type, kind and critical setting; the builder's
# selects offer the same (passed to the script as data attributes, so the lists live here).
TYPE_LABELS = {"yes_no": "Yes / no", "scale": "Scale", "single": "Single choice",
               "multi": "Multiple choice", "text": "Free text (not scored)",
               "date": "Date (not scored)"}


KIND_LABELS = {"normal": "Normal", "bonus": "Bonus (adds points)",
               "penalty": "Penalty (takes points off)"}


CRITICAL_LABELS = {"": "Not critical", "section": "Failing it zeroes the section",
                   "form": "Failing it zeroes the whole form"}


EXAMPLE = ('{"sections": [{"key": "opening", "title": "Opening", "weight": 1, "questions": '
           '[{"key": "greeting", "text": "Greets the customer", "type": "yes_no", '
           '"points": 1}]}]}')


def _scoring_form(form_id: int) -> ScoringForm:
    scoring_form = db.session.get(ScoringForm, form_id)
    if scoring_form is None or not scoring_form.versions:
        raise NotFound("Scoring form", form_id)
    return scoring_form


def _draft(scoring_form: ScoringForm) -> FormVersion | None:
    return next((v for v in scoring_form.versions if v.status == FormStatus.DRAFT.value), None)


def _parse_json(text: str, field: str) -> dict[str, Any]:
    """The JSON object in ``text``; an InvalidInput naming the line and column if it is not."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        message = f"The JSON is not valid: {exc.msg} at line {exc.lineno}, column {exc.colno}."
        raise InvalidInput(message, {field: message}) from None
    if not isinstance(data, dict):
        message = 'The JSON must be one object: {"name": ..., "sections": [...]}.'
        raise InvalidInput(message, {field: message})
    return data


def _detail(version: FormVersion) -> Any:
    return redirect(url_for("forms.form_detail", form_id=version.form_id,
                            number=version.number))


def _saved(version: FormVersion) -> str:
    if version.status == FormStatus.DRAFT.value:
        return (f"Draft version {version.number} saved; publish it to use it for new "
                "evaluations.")
    return (f"Nothing changed: this is the content of version {version.number} "
            f"({version.status}).")


def _labels() -> dict[str, Any]:
    return {"type_labels": TYPE_LABELS, "kind_labels": KIND_LABELS,
            "critical_labels": CRITICAL_LABELS}


@bp.get("/forms")
@permission_required("form.view")
def forms_list() -> Any:
    forms = db.session.scalars(select(ScoringForm).options(selectinload(ScoringForm.versions))
                               .order_by(ScoringForm.name)).all()
    return render_template("scoring/forms/forms.html", forms=forms)


@bp.get("/forms/<int:form_id>")
@permission_required("form.view")
def form_detail(form_id: int) -> Any:
    version = form_services.form_version(db.session, form_id, id_arg(request.args, "number"))
    draft = _draft(version.form)
    publish = PublishForm(formdata=None, number=draft.number,
                          version=draft.version) if draft is not None else None
    return render_template("scoring/forms/form.html", scoring_form=version.form, version=version,
                           definition=rules.form_from_dict(version.definition), draft=draft,
                           publish=publish, **_labels())


@bp.get("/forms/<int:form_id>/versions/<int:number>.json")
@permission_required("form.view")
def export_version(form_id: int, number: int) -> Any:
    version = form_services.form_version(db.session, form_id, number)
    body = json.dumps(form_services.export_form(version), indent=2, ensure_ascii=False) + "\n"
    response = Response(body, mimetype="application/json")
    filename = f"{secure_filename(version.form.name) or 'form'}-v{version.number}.json"
    response.headers.set("Content-Disposition", "attachment", filename=filename)
    return response


@bp.route("/forms/new", methods=["GET", "POST"])
@permission_required("form.manage")
def new_form() -> Any:
    form = FormDefinitionForm() if request.method == "POST" else FormDefinitionForm(
        data={"definition": json.dumps({"sections": []}, indent=2)})
    return _builder(form, None, None)


@bp.route("/forms/<int:form_id>/edit", methods=["GET", "POST"])
@permission_required("form.manage")
def edit_form(form_id: int) -> Any:
    scoring_form = _scoring_form(form_id)
    base = scoring_form.versions[-1]  # the draft if there is one, else the newest version
    form = FormDefinitionForm() if request.method == "POST" else FormDefinitionForm(data={
        "definition": json.dumps({"sections": base.definition["sections"]}, indent=2,
                                 ensure_ascii=False),
        "base_number": base.number, "base_version": base.version})
    # Renaming is out of scope: whatever name is posted, the draft belongs to this form
    # (import_form matches by name, so another name would silently start another form).
    form.name.data = scoring_form.name
    form.description.data = scoring_form.description
    return _builder(form, scoring_form, base)


def _builder(form: FormDefinitionForm, scoring_form: ScoringForm | None,
             base: FormVersion | None) -> Any:
    def write() -> FormVersion:
        data = _parse_json(form.definition.data or "", "definition")
        name = (form.name.data or "").strip()
        if not isinstance(data.get("sections"), list):
            message = 'The JSON needs a list of sections: {"sections": [...]}.'
            raise InvalidInput(message, {"definition": message})
        return form_services.import_form(db.session, current_user, {
            "name": name, "description": form.description.data or "",
            "sections": data["sections"]}, new_only=scoring_form is None,
            expected=(form.base_number.data, form.base_version.data)
            if scoring_form is not None and form.base_number.data else None)

    outcome = save_form(form, write, _detail, _saved)
    if not isinstance(outcome, int):
        return outcome
    return render_template("scoring/forms/form_edit.html", form=form, scoring_form=scoring_form,
                           base=base, example=EXAMPLE, **_labels()), outcome


@bp.route("/forms/import", methods=["GET", "POST"])
@permission_required("form.manage")
def import_form() -> Any:
    form = FormImportForm()

    def write() -> FormVersion:
        if form.file.data:
            try:
                text = form.file.data.read().decode("utf-8-sig")
            except UnicodeDecodeError:
                message = "The file is not UTF-8 text; save it as JSON in UTF-8."
                raise InvalidInput(message, {"file": message}) from None
            data = _parse_json(text, "file")
        elif (form.text.data or "").strip():
            data = _parse_json(form.text.data, "text")
        else:
            message = "Choose a JSON file or paste the JSON."
            raise InvalidInput(message, {"file": message})
        return form_services.import_form(db.session, current_user, data,
                                    publish=bool(form.publish.data))

    def imported(version: FormVersion) -> str:
        if version.status == FormStatus.PUBLISHED.value:
            return (f"{version.form.name}: version {version.number} is published; new "
                    "evaluations use it.")
        return f"{version.form.name}: {_saved(version)}"

    outcome = save_form(form, write, _detail, imported)
    if not isinstance(outcome, int):
        return outcome
    return render_template("scoring/forms/form_import.html", form=form), outcome


@bp.get("/forms/<int:form_id>/publish")
@permission_required("form.manage")
def confirm_publish(form_id: int) -> Any:
    """Before a draft is frozen: what it changes from the version it replaces, in words, and
    the button that publishes exactly this draft (its number and version go with the POST)."""
    scoring_form = _scoring_form(form_id)
    draft = _draft(scoring_form)
    if draft is None:
        flash(f"Form {scoring_form.name!r} has no draft to publish.", "warning")
        return redirect(url_for("forms.form_detail", form_id=form_id))
    published = next((v for v in scoring_form.versions
                      if v.status == FormStatus.PUBLISHED.value), None)
    changes = diff.differences(
        rules.form_from_dict(published.definition) if published is not None else None,
        rules.form_from_dict(draft.definition))
    # The draft's page sends the number and version it showed: say so if it changed since.
    seen = (id_arg(request.args, "number"), id_arg(request.args, "version"))
    changed_since = seen != (None, None) and seen != (draft.number, draft.version)
    return render_template("scoring/forms/publish.html", scoring_form=scoring_form,
                           draft=draft, published=published, changes=changes,
                           changed_since=changed_since,
                           publish=PublishForm(formdata=None, number=draft.number,
                                               version=draft.version))


@bp.post("/forms/<int:form_id>/publish")
@permission_required("form.manage")
def publish(form_id: int) -> Any:
    _scoring_form(form_id)  # 404 before the CSRF and form checks
    form = PublishForm()

    def write() -> FormVersion:
        return form_services.publish_form(db.session, current_user, form_id,
                                          expected=(form.number.data, form.version.data))

    def published(version: FormVersion) -> str:
        return (f"Version {version.number} published: new evaluations use it. Evaluations "
                "already made keep the version they were scored on.")

    # A refusal goes back to the confirmation, which shows the draft as it is now (the draft
    # changed since it was shown), or to the form's page when there is no draft to publish.
    back = ("forms.confirm_publish" if _draft(_scoring_form(form_id)) is not None
            else "forms.form_detail")
    return publish_page(form, write, _detail, published, what="form",
                        back=url_for(back, form_id=form_id))
