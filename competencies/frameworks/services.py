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
from qm import audit
from qm.auth.permissions import require
from qm.db import utcnow
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
    latest = framework.versions[-1] if framework.versions else None
    if latest is not None and latest.definition == content:
        version = latest
    elif latest is not None and latest.status == FrameworkStatus.DRAFT.value:
        before = audit.snapshot(latest)
        latest.definition = content
        session.flush()
        audit.record(session, actor, "competency_framework_version.updated", latest,
                     before=before, after=audit.snapshot(latest))
        version = latest
    else:
        version = FrameworkVersion(framework=framework,
                                   number=(latest.number + 1) if latest else 1,
                                   definition=content, created_by_id=getattr(actor, "id", None))
        session.add(version)
        session.flush()
        audit.record(session, actor, "competency_framework_version.created", version,
                     after=audit.snapshot(version))
    if publish and version.status == FrameworkStatus.DRAFT.value:
        version = publish_framework(session, actor, framework.id)
    return version


def publish_framework(session: Session, actor: Any, framework_id: int) -> FrameworkVersion:
    """Publish the framework's draft: frozen from now on; the version it replaces retires."""
    require(actor, "competency.manage")
    framework = session.get(CompetencyFramework, framework_id)
    if framework is None:
        raise NotFound("Competency framework", framework_id)
    draft = next((v for v in framework.versions if v.status == FrameworkStatus.DRAFT.value),
                 None)
    if draft is None:
        raise InvalidInput(f"Framework {framework.name!r} has no draft to publish.")
    for old in framework.versions:
        if old.status == FrameworkStatus.PUBLISHED.value:
            before = audit.snapshot(old)
            old.status = FrameworkStatus.RETIRED.value
            session.flush()
            audit.record(session, actor, "competency_framework_version.retired", old,
                         before=before, after=audit.snapshot(old))
    before = audit.snapshot(draft)
    draft.status = FrameworkStatus.PUBLISHED.value
    draft.published_at = utcnow()
    draft.published_by_id = getattr(actor, "id", None)
    session.flush()
    audit.record(session, actor, "competency_framework_version.published", draft,
                 before=before, after=audit.snapshot(draft))
    return draft
