"""Competency frameworks and their versions."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from qm.db import Base, UTCDateTime, utcnow
from qm.versioning import VersionColumns, VersionStatus

FrameworkStatus = VersionStatus


class CompetencyFramework(Base):
    """A framework: a name over a series of versions; assessments and role profiles name a
    competency by its code within the framework."""

    __tablename__ = "competency_frameworks"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    version: Mapped[int] = mapped_column(Integer, default=1)

    versions: Mapped[list[FrameworkVersion]] = relationship(
        back_populates="framework", order_by="FrameworkVersion.number")

    __mapper_args__ = {"version_id_col": version}


class FrameworkVersion(VersionColumns, Base):
    """One version of a framework. A published version is frozen: a change is a new draft. Its
    ``definition`` holds the scale and the grouped competencies, in the shape of
    ``definition.framework_from_dict``."""

    __tablename__ = "competency_framework_versions"
    __table_args__ = (UniqueConstraint("framework_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    framework_id: Mapped[int] = mapped_column(ForeignKey("competency_frameworks.id"), index=True)

    framework: Mapped[CompetencyFramework] = relationship(back_populates="versions")
