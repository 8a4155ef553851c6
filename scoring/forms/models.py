"""Scoring forms and their versions."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from qm.db import Base, UTCDateTime, utcnow
from qm.versioning import VersionColumns, VersionStatus

FormStatus = VersionStatus


class ScoringForm(Base):
    """A scoring form: a name over a series of versions. Evaluations point at a version."""

    __tablename__ = "scoring_forms"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    version: Mapped[int] = mapped_column(Integer, default=1)

    versions: Mapped[list[FormVersion]] = relationship(
        back_populates="form", order_by="FormVersion.number"
    )

    __mapper_args__ = {"version_id_col": version}


class FormVersion(VersionColumns, Base):
    """One version of a form. Published versions are frozen: an edit makes a new draft. Its
    ``definition`` holds the sections and questions, in the shape of
    ``scoring.forms.rules.form_from_dict``."""

    __tablename__ = "form_versions"
    __table_args__ = (UniqueConstraint("form_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    form_id: Mapped[int] = mapped_column(ForeignKey("scoring_forms.id"), index=True)

    form: Mapped[ScoringForm] = relationship(back_populates="versions")
