"""What the pipeline stores: one job per audio file (by content), one transcript per interaction.

A transcript is written in one transaction together with its job's "done": a process killed at
any moment leaves either no transcript or a whole one, and the next run redoes what is not done.
"""

from __future__ import annotations

import datetime as dt
import enum
from typing import TYPE_CHECKING

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


class OfInteraction:
    """A record about one interaction is scoped as the interaction is: its agent's, its
    team's. (The class that uses it maps ``interaction``.)"""

    if TYPE_CHECKING:
        interaction: Interaction

    @property
    def scope_owner_id(self) -> int:
        return self.interaction.agent_id

    @property
    def scope_team_id(self) -> int | None:
        return self.interaction.team_id


class Transcript(OfInteraction, Base):
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


# --- named flags (issue 16) ------------------------------------------------------------------


class FlagKind(enum.StrEnum):
    RULE = "rule"  # phrases, silence, hold, overtalk, talk share, repeat contact
    CLASSIFIER = "classifier"  # a text classifier trained on labelled texts and verdicts
    EVALUATIONS = "evaluations"  # the model learnt from evaluation scores ("found a problem")


class FlagVerdictKind(enum.StrEnum):
    CONFIRMED = "confirmed"  # the flag was right
    REJECTED = "rejected"  # the flag fired and was wrong (a dismissal, with its reason)
    MISSED = "missed"  # the flag should have fired and did not


class Flag(Base):
    """A named flag: what it looks for, in words, and which of its versions is in use.

    A flag is switched on by activating one of its versions (``active_number``) and off by
    deactivating it; every change of its rule or model is a new ``FlagVersion``, so a result
    and a verdict always name the version that made or judged them."""

    __tablename__ = "flags"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(80), unique=True)
    kind: Mapped[str] = mapped_column(String(16))
    description: Mapped[str] = mapped_column(Text, default="")
    opens_complaint: Mapped[bool] = mapped_column(default=False)
    """Confirming this flag on an interaction opens a complaint in the register."""
    speakers: Mapped[list] = mapped_column(JSON, default=list)
    """Whose words a classifier reads (``["customer"]``); empty: anyone's."""
    target: Mapped[str] = mapped_column(String(16), default="precision")
    target_value: Mapped[float | None] = mapped_column(Float)
    """A classifier's threshold is chosen for this precision (or recall), not fixed at 0.5."""
    active_number: Mapped[int | None] = mapped_column(Integer)
    version: Mapped[int] = mapped_column(Integer, default=1)  # edits: optimistic locking
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    versions: Mapped[list[FlagVersion]] = relationship(
        back_populates="flag", order_by="FlagVersion.number")

    __mapper_args__ = {"version_id_col": version}


class FlagVersion(Base):
    """One version of a flag: a rule's parameters, or a trained classifier with the SHA-256 of
    its stored bytes (checked before they are unpickled), its threshold and what training
    measured. Never changed once written, except when it was last activated."""

    __tablename__ = "flag_versions"
    __table_args__ = (Index("uq_flag_versions_flag_number", "flag_id", "number", unique=True),)

    id: Mapped[int] = mapped_column(primary_key=True)
    flag_id: Mapped[int] = mapped_column(ForeignKey("flags.id"))
    number: Mapped[int] = mapped_column(Integer)
    params: Mapped[dict] = mapped_column(JSON, default=dict)
    threshold: Mapped[float | None] = mapped_column(Float)
    # loaded only when a model is first loaded (``services.trained_of``), never with a listing:
    # a classifier is 60-200 KB, and a queue page joins a version to every result
    payload: Mapped[bytes | None] = mapped_column(LargeBinary, deferred=True)
    sha256: Mapped[str | None] = mapped_column(String(64))
    """Set for a trained classifier only: what tells one from a rule's version."""
    model_version: Mapped[str] = mapped_column(String(64), default="")
    report: Mapped[dict] = mapped_column(JSON, default=dict)
    note: Mapped[str] = mapped_column(Text, default="")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    activated_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    flag: Mapped[Flag] = relationship(back_populates="versions")


class FlagResult(Base):
    """A flag version fired on an interaction: how strongly (0..1, the queue's order by risk)
    and its evidence (``Evidence.as_dict`` each). Only what fired is kept: a large centre's
    95,000 contacts a day times a dozen flags would otherwise be a million rows a day of
    "nothing found". A re-score with another version adds its own rows beside these."""

    __tablename__ = "flag_results"
    __table_args__ = (
        Index("uq_flag_results_interaction_version", "interaction_id", "version_id",
              unique=True),
        Index("ix_flag_results_version_score", "version_id", "score"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    interaction_id: Mapped[int] = mapped_column(ForeignKey("interactions.id"))
    version_id: Mapped[int] = mapped_column(ForeignKey("flag_versions.id"))
    score: Mapped[float] = mapped_column(Float)
    evidence: Mapped[list] = mapped_column(JSON, default=list)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    version: Mapped[FlagVersion] = relationship()


class FlagVerdict(OfInteraction, Base):
    """An evaluator's word on a flag for one interaction: confirmed, rejected (dismissed, with
    the reason) or missed. It names the version it judged, so a retrain learns from it and an
    older version's measures stay as they were. One per interaction and flag: a change of mind
    replaces it, and the audit log keeps what it was."""

    __tablename__ = "flag_verdicts"
    __table_args__ = (
        Index("uq_flag_verdicts_interaction_flag", "interaction_id", "flag_id", unique=True),
        Index("ix_flag_verdicts_flag", "flag_id", "verdict"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    interaction_id: Mapped[int] = mapped_column(ForeignKey("interactions.id"))
    flag_id: Mapped[int] = mapped_column(ForeignKey("flags.id"))
    version_id: Mapped[int | None] = mapped_column(ForeignKey("flag_versions.id"))
    verdict: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(Text, default="")
    text: Mapped[str] = mapped_column(Text, default="")
    """What the flag read that the verdict is about (the turn that fired it, or for a missed
    flag all the customer said): the labelled text a retrain learns from, kept as judged."""
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    flag: Mapped[Flag] = relationship()
    interaction: Mapped[Interaction] = relationship()
