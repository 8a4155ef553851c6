"""What the pipeline stores: one job per audio file (by content), one transcript per interaction.

A transcript is written in one transaction together with its job's "done": a process killed at
any moment leaves either no transcript or a whole one, and the next run redoes what is not done.
"""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import (
    JSON,
    BigInteger,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from qm.db import Base, UTCDateTime, utcnow
from qm.interactions.models import Interaction


class JobStatus(enum.StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


class TranscriptionJob(Base):
    """One audio file, known by the SHA-256 of its content: the same file twice is one job."""

    __tablename__ = "transcription_jobs"
    __table_args__ = (Index("ix_transcription_jobs_status", "status", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64), unique=True)
    path: Mapped[str] = mapped_column(String(1000))
    size_bytes: Mapped[int] = mapped_column(BigInteger, default=0)
    status: Mapped[str] = mapped_column(String(16), default=JobStatus.PENDING.value)
    error: Mapped[str] = mapped_column(Text, default="")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    interaction_id: Mapped[int | None] = mapped_column(ForeignKey("interactions.id"))
    worker: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    started_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class Transcript(Base):
    """The redacted, speaker-labelled transcript of an interaction, with its call metrics.

    ``segments`` holds the timeline as JSON (start, end, speaker, text, confidence and words
    with their timings), written in one piece. ``raw_text`` (before redaction) is kept only
    when the site allows it (``QM_KEEP_RAW_TRANSCRIPTS``) and is shown only to admins.
    """

    __tablename__ = "transcripts"

    id: Mapped[int] = mapped_column(primary_key=True)
    interaction_id: Mapped[int] = mapped_column(ForeignKey("interactions.id"), unique=True)
    audio_sha256: Mapped[str | None] = mapped_column(String(64), index=True)
    source: Mapped[str] = mapped_column(String(16), default="audio")  # audio, text
    language: Mapped[str] = mapped_column(String(16), default="")
    duration_s: Mapped[float] = mapped_column(Float, default=0.0)
    model: Mapped[str] = mapped_column(String(300), default="")
    settings: Mapped[dict] = mapped_column(JSON, default=dict)
    text: Mapped[str] = mapped_column(Text, default="")
    raw_text: Mapped[str | None] = mapped_column(Text)
    segments: Mapped[list] = mapped_column(JSON, default=list)
    metrics: Mapped[dict] = mapped_column(JSON, default=dict)
    redactions: Mapped[dict] = mapped_column(JSON, default=dict)
    # What the audio said about itself, e.g. a truncated file: nobody should score half a call
    # without knowing it.
    warnings: Mapped[list] = mapped_column(JSON, default=list)
    processing_s: Mapped[float] = mapped_column(Float, default=0.0)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    interaction: Mapped[Interaction] = relationship()

    @property
    def scope_owner_id(self) -> int:
        return self.interaction.agent_id

    @property
    def scope_team_id(self) -> int | None:
        return self.interaction.team_id


class ReviewFlag(Base):
    """A flagging model's verdict on one interaction: how likely its evaluation would find
    something wrong (``flagging``). One row per interaction and model version, so every
    prediction names the model that made it and an older verdict stays readable after a
    retrain."""

    __tablename__ = "review_flags"
    __table_args__ = (Index("uq_review_flags_interaction_model", "interaction_id",
                            "model_version", unique=True),
                      Index("ix_review_flags_model_flagged", "model_version", "flagged"))

    id: Mapped[int] = mapped_column(primary_key=True)
    interaction_id: Mapped[int] = mapped_column(ForeignKey("interactions.id"))
    model_version: Mapped[str] = mapped_column(String(64))
    probability: Mapped[float] = mapped_column(Float)
    flagged: Mapped[bool] = mapped_column(default=False)
    reasons: Mapped[list] = mapped_column(JSON, default=list)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class FlaggingModel(Base):
    """A trained flagging model, kept whole in the database (a scikit-learn Pipeline, pickled
    with joblib): every worker that reaches the database can use it, with no shared model
    folder to set up, and a retrain never overwrites the model an older flag came from.

    The newest row is the one in use. ``report`` holds what training measured."""

    __tablename__ = "flagging_models"

    id: Mapped[int] = mapped_column(primary_key=True)
    version: Mapped[str] = mapped_column(String(64), unique=True)
    examples: Mapped[int] = mapped_column(Integer)
    report: Mapped[dict] = mapped_column(JSON, default=dict)
    payload: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
