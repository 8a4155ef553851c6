"""Writes about scoring forms: import, export, publish. Functions take (session, actor, ...)."""

from __future__ import annotations

import weakref
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, object_session

from qm import audit, versioning
from qm.auth.permissions import require
from qm.db import remember, remembered
from qm.errors import InvalidInput, NotFound
from scoring.forms import rules
from scoring.forms.models import FormStatus, FormVersion, ScoringForm


def export_form(version: FormVersion) -> dict[str, Any]:
    """A form version in the JSON shape that ``import_form`` reads back."""
    return {"name": version.form.name, "description": version.form.description,
            "version": version.number, "status": version.status,
            "sections": version.definition["sections"]}


def import_form(session: Session, actor: Any, data: dict[str, Any], *,
                publish: bool = False, new_only: bool = False,
                expected: tuple[int, int] | None = None) -> FormVersion:
    """Create a form, or a new draft of an existing one (matched by name), from JSON.

    A published version is never changed: different content becomes the next draft. The same
    content as the latest version changes nothing, so importing one file twice is harmless.
    ``new_only`` (the builder's "new form") refuses a name that exists rather than adding a
    draft to that form. ``expected`` is the (number, version) of the latest version the editor
    started from: if another save came in between, nothing is written (StaleEdit).
    """
    require(actor, "form.manage")
    name = str(data.get("name") or "").strip()
    if not name:
        raise InvalidInput("The form JSON needs a 'name'.")
    try:
        rules.form_from_dict(data)
    except rules.FormError as exc:
        raise InvalidInput(str(exc)) from None
    definition = {"sections": data["sections"]}
    form = session.scalar(select(ScoringForm).where(ScoringForm.name == name))
    if form is not None and new_only:
        message = (f"A form named {name!r} exists already: open it and choose Edit to change "
                   "it, or pick another name.")
        raise InvalidInput(message, {"name": message})
    if form is None:
        form = ScoringForm(name=name, description=str(data.get("description") or ""))
        session.add(form)
        session.flush()
        audit.record(session, actor, "form.created", form, after=audit.snapshot(form))
    version = versioning.save_draft(
        session, actor, form, definition, action="form_version", expected=expected,
        stale="form", make_version=lambda **values: FormVersion(form=form, **values))
    if publish and version.status == FormStatus.DRAFT.value:
        version = publish_form(session, actor, form.id)
    return version


def publish_form(session: Session, actor: Any, form_id: int, *,
                 expected: tuple[int, int] | None = None) -> FormVersion:
    """Publish the form's draft: it is frozen from now on; the version it replaces retires.

    ``expected`` is the (number, version) of the draft the publisher looked at: a draft changed
    since is refused, so nobody publishes content they have not seen.
    """
    require(actor, "form.manage")
    form = session.get(ScoringForm, form_id)
    if form is None:
        raise NotFound("Scoring form", form_id)
    return versioning.publish(session, actor, form, action="form_version", what="Form",
                              expected=expected)


def form_version(session: Session, form_id: int, number: int | None = None) -> FormVersion:
    """A given version, or the published one (else the newest) when no number is given."""
    form = session.get(ScoringForm, form_id)
    if form is None or not form.versions:
        raise NotFound("Scoring form", form_id)
    version = versioning.current(form, number)
    if version is None:
        raise NotFound(f"Version of form {form.name!r}", number)
    return version


def rules_of(version: FormVersion) -> rules.Form:
    """A form version as rules: parsed once per process for a version no longer a draft,
    whose definition never changes (``qm.versioning``); a ``rules.Form`` is frozen. For an
    evaluation's and a calibration session's version alike."""
    if version.status == FormStatus.DRAFT.value:
        return rules.form_from_dict(version.definition)
    session = object_session(version)
    if session is None:
        return rules.form_from_dict(version.definition)
    form = remembered(session, _RULES).get(version.id)
    if form is None:
        form = rules.form_from_dict(version.definition)
        remember(session, _RULES, RULES_KEPT, version.id, form)
    return form


_RULES: weakref.WeakKeyDictionary[Any, dict[int, rules.Form]] = weakref.WeakKeyDictionary()
"""Per database, the rules of the form versions read so far (published or retired)."""

RULES_KEPT = 256
