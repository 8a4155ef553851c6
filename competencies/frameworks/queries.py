"""Read side for competency frameworks."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from competencies.frameworks import definition as defs
from competencies.frameworks.models import (
    CompetencyFramework,
    FrameworkVersion,
)
from qm import versioning
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
    version = versioning.current(framework, number)
    if version is None:
        raise NotFound(f"Version of competency framework {framework.name!r}",
                       number if number is not None else "")
    return version


def parsed(version: FrameworkVersion) -> defs.Framework:
    """A stored version as a ``definition.Framework`` (stored versions were checked on import)."""
    return defs.framework_from_dict(version.definition)
