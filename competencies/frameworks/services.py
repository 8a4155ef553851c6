"""Writes about competency frameworks: import, create, edit a draft, publish, export. Functions
take ``(session, actor, ...)`` and flush, never commit."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from competencies.frameworks import definition as defs
from competencies.frameworks.models import (
    CompetencyFramework,
    FrameworkStatus,
    FrameworkVersion,
)
from qm import audit, versioning
from qm.auth.permissions import require
from qm.errors import Conflict, InvalidInput, NotFound


def export_framework(version: FrameworkVersion) -> dict[str, Any]:
    """A framework version in the JSON shape that ``import_framework`` reads back."""
    return {"name": version.framework.name, "description": version.framework.description,
            "version": version.number, "status": version.status, **version.definition}


def import_framework(session: Session, actor: Any, data: Any, *,
                     publish: bool = False) -> FrameworkVersion:
    """Create a framework, or a new draft of the one of the same name, from JSON.

    A published version is never changed: different content becomes the next draft. The same
    content as the latest version changes nothing, so importing one file twice is harmless.
    A definition that does not hold (``definition.framework_from_dict``) writes nothing.
    """
    require(actor, "competency.manage")
    name = _name(data)
    content = _content(data)
    framework = _named(session, name)
    if framework is None:
        framework = _create(session, actor, name, data)
    version = _save(session, actor, framework, content)
    if publish and version.status == FrameworkStatus.DRAFT.value:
        version = publish_framework(session, actor, framework.id)
    return version


def create_framework(session: Session, actor: Any, data: Any) -> FrameworkVersion:
    """A new framework and its draft version 1, from the import's JSON shape; a name in use
    is refused (``import_framework`` would make a new draft of that framework instead)."""
    require(actor, "competency.manage")
    name = _name(data)
    content = _content(data)
    if _named(session, name) is not None:
        message = f"A framework named {name!r} exists already; edit its draft instead."
        raise Conflict(message)
    return _save(session, actor, _create(session, actor, name, data), content)


def save_definition(session: Session, actor: Any, framework_id: int, data: Any,
                    expected: tuple[int, int] | None = None) -> FrameworkVersion:
    """Save ``data`` (the scale and the groups) as the framework's draft: the draft updated, or
    a new draft after a published version, which stays as it was.

    ``expected`` is the (number, version) of the latest version the editor started from: a save
    over a version someone changed since raises ``StaleEdit`` and writes nothing.
    """
    require(actor, "competency.manage")
    framework = session.get(CompetencyFramework, framework_id)
    if framework is None:
        raise NotFound("Competency framework", framework_id)
    return _save(session, actor, framework, _content(data), expected=expected)


def publish_framework(session: Session, actor: Any, framework_id: int, *,
                      expected: tuple[int, int] | None = None) -> FrameworkVersion:
    """Publish the framework's draft: frozen from now on; the version it replaces retires.
    ``expected`` is the (number, version) of the draft the publisher looked at."""
    require(actor, "competency.manage")
    framework = session.get(CompetencyFramework, framework_id)
    if framework is None:
        raise NotFound("Competency framework", framework_id)
    return versioning.publish(session, actor, framework, expected=expected,
                              action="competency_framework_version", what="Framework")


def _name(data: Any) -> str:
    if not isinstance(data, dict):
        raise InvalidInput("A framework is a JSON object with a 'name' and 'groups'.")
    name = str(data.get("name") or "").strip()
    if not name or len(name) > 120:
        raise InvalidInput("A framework needs a 'name' of 1 to 120 characters.",
                           {"name": "1 to 120 characters."})
    return name


def _content(data: Any) -> dict[str, Any]:
    """The definition as stored, or the definition's sentence as ``InvalidInput``."""
    try:
        return defs.to_dict(defs.framework_from_dict(data))
    except defs.FrameworkError as exc:
        raise InvalidInput(str(exc)) from None


def _named(session: Session, name: str) -> CompetencyFramework | None:
    return session.scalar(select(CompetencyFramework).where(CompetencyFramework.name == name))


def _create(session: Session, actor: Any, name: str, data: dict[str, Any]
            ) -> CompetencyFramework:
    framework = CompetencyFramework(name=name, description=str(data.get("description") or ""))
    session.add(framework)
    session.flush()
    audit.record(session, actor, "competency_framework.created", framework,
                 after=audit.snapshot(framework))
    return framework


def _save(session: Session, actor: Any, framework: CompetencyFramework,
          content: dict[str, Any], expected: tuple[int, int] | None = None) -> FrameworkVersion:
    return versioning.save_draft(
        session, actor, framework, content, action="competency_framework_version",
        expected=expected, stale="framework draft",
        make_version=lambda **values: FrameworkVersion(framework=framework, **values))
