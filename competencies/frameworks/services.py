"""Writes about competency frameworks: import, publish, export. Functions take
``(session, actor, ...)`` and flush, never commit."""

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
from qm.errors import InvalidInput, NotFound


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
    if not isinstance(data, dict):
        raise InvalidInput("A framework is a JSON object with a 'name' and 'groups'.")
    name = str(data.get("name") or "").strip()
    if not name or len(name) > 120:
        raise InvalidInput("The framework JSON needs a 'name' of 1 to 120 characters.")
    try:
        parsed = defs.framework_from_dict(data)
    except defs.FrameworkError as exc:
        raise InvalidInput(str(exc)) from None
    content = defs.to_dict(parsed)
    framework = session.scalar(select(CompetencyFramework).where(
        CompetencyFramework.name == name))
    if framework is None:
        framework = CompetencyFramework(name=name, description=str(data.get("description") or ""))
        session.add(framework)
        session.flush()
        audit.record(session, actor, "competency_framework.created", framework,
                     after=audit.snapshot(framework))
    version = versioning.save_draft(
        session, actor, framework, content, action="competency_framework_version",
        make_version=lambda **values: FrameworkVersion(framework=framework, **values))
    if publish and version.status == FrameworkStatus.DRAFT.value:
        version = publish_framework(session, actor, framework.id)
    return version


def publish_framework(session: Session, actor: Any, framework_id: int) -> FrameworkVersion:
    """Publish the framework's draft: frozen from now on; the version it replaces retires."""
    require(actor, "competency.manage")
    framework = session.get(CompetencyFramework, framework_id)
    if framework is None:
        raise NotFound("Competency framework", framework_id)
    return versioning.publish(session, actor, framework,
                              action="competency_framework_version", what="Framework")
