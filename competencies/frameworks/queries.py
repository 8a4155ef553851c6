"""Read side for competency frameworks."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from competencies.frameworks import definition as defs
from competencies.frameworks.models import (
    CompetencyFramework,
    FrameworkStatus,
    FrameworkVersion,
)
from qm.errors import NotFound


def frameworks(session: Session) -> list[CompetencyFramework]:
    return list(session.scalars(select(CompetencyFramework).order_by(CompetencyFramework.name)))


def framework_named(session: Session, name: str) -> CompetencyFramework:
    found = session.scalar(select(CompetencyFramework).where(CompetencyFramework.name == name))
    if found is None:
        raise NotFound("Competency framework", name)
    return found


def version_of(framework: CompetencyFramework, number: int | None = None) -> FrameworkVersion:
    """A given version, or the published one (else the newest) when no number is given."""
    if not framework.versions:
        raise NotFound("Version of competency framework", framework.name)
    if number is None:
        published = [v for v in framework.versions
                     if v.status == FrameworkStatus.PUBLISHED.value]
        return published[-1] if published else framework.versions[-1]
    for version in framework.versions:
        if version.number == number:
            return version
    raise NotFound(f"Version of competency framework {framework.name!r}", number)


def parsed(version: FrameworkVersion) -> defs.Framework:
    """A stored version as a ``definition.Framework`` (stored versions were checked on import)."""
    return defs.framework_from_dict(version.definition)
