from __future__ import annotations

import datetime as dt
import enum
from decimal import Decimal

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from qm.auth.models import Team, User
from qm.db import Base, UTCDateTime, utcnow

# The interaction and the scoping mixins live in the core (qm.interactions); they are named here
# too, since scoring's modules and the tests read them from here.
from qm.interactions.models import (  # noqa: E402, F401
    AgentScoped,
    Channel,
    Direction,
    Interaction,
    TeamScoped,
)


class FormStatus(enum.StrEnum):
    DRAFT = "draft"
    PUBLISHED = "published"
    RETIRED = "retired"


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


class FormVersion(Base):
    """One version of a form. Published versions are frozen: an edit makes a new draft."""

    __tablename__ = "form_versions"
    __table_args__ = (UniqueConstraint("form_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    form_id: Mapped[int] = mapped_column(ForeignKey("scoring_forms.id"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16), default=FormStatus.DRAFT.value)
    # The sections and questions, in the JSON shape of scoring.rules.form_from_dict.
    definition: Mapped[dict] = mapped_column(JSON)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    published_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    published_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    version: Mapped[int] = mapped_column(Integer, default=1)

    form: Mapped[ScoringForm] = relationship(back_populates="versions")

    __mapper_args__ = {"version_id_col": version}


class SamplingRule(TeamScoped, Base):
    """Which interactions to sample each week, how many per agent, and on which form."""

    __tablename__ = "sampling_rules"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    # Empty means "any": a rule for one team, one queue, one channel, or the whole site.
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id"))
    queue: Mapped[str] = mapped_column(String(100), default="")
    channel: Mapped[str] = mapped_column(String(16), default="")
    per_agent: Mapped[int] = mapped_column(Integer, default=2)
    # On top of the random ``per_agent``: this many of the agent's interactions flagged for
    # review by the current flagging model, the most likely problems first (0: none).
    flagged_per_agent: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    evaluator_daily_cap: Mapped[int] = mapped_column(Integer, default=20)
    form_id: Mapped[int] = mapped_column(ForeignKey("scoring_forms.id"))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    version: Mapped[int] = mapped_column(Integer, default=1)

    team: Mapped[Team | None] = relationship(lazy="joined")
    form: Mapped[ScoringForm] = relationship(lazy="joined")

    __mapper_args__ = {"version_id_col": version}


class EvaluationStatus(enum.StrEnum):
    ASSIGNED = "assigned"  # in an evaluator's queue, not started
    DRAFT = "draft"  # answers saved, not submitted
    SUBMITTED = "submitted"  # waiting to be released to the agent (release after review)
    RELEASED = "released"  # the agent can see it, and acknowledge or dispute it
    ACKNOWLEDGED = "acknowledged"
    DISPUTED = "disputed"  # a dispute is open

    @property
    def label(self) -> str:
        return self.value.capitalize()


OPEN_STATUSES = (EvaluationStatus.ASSIGNED.value, EvaluationStatus.DRAFT.value)
# Evaluations the agent sees and reports count: submitted and released to the agent.
RELEASED_STATUSES = (EvaluationStatus.RELEASED.value, EvaluationStatus.ACKNOWLEDGED.value,
                     EvaluationStatus.DISPUTED.value)
"""Released to the agent: what the agent sees, and what the averages read (``reports.COUNTED``
adds: not targeted)."""
FINISHED_STATUSES = (EvaluationStatus.SUBMITTED.value, *RELEASED_STATUSES)
"""Scored and submitted, released or not: an evaluator's verdict that stands (what flagging
learns from)."""


class Evaluation(AgentScoped, Base):
    """One interaction scored on one form version by one evaluator.

    The score columns hold the latest revision, which is what reports use; every revision
    (the submission, each dispute outcome) is kept whole in ``EvaluationRevision``.
    """

    __tablename__ = "evaluations"
    __table_args__ = (
        Index("ix_evaluations_queue", "evaluator_id", "status", "due_on", "id"),
        # Scorecards and team averages read only these columns: on PostgreSQL an index-only
        # scan (bench/README.md measured the team average at 4-10 ms without, 0.6 ms with).
        Index("ix_evaluations_agent_submitted", "agent_id", "submitted_at",
              postgresql_include=["status", "score", "critical_fail", "team_id", "targeted"]),
        Index("ix_evaluations_team_submitted", "team_id", "submitted_at",
              postgresql_include=["agent_id", "status", "score", "targeted"]),
        Index("ix_evaluations_rule_week", "sampling_rule_id", "sample_week", "agent_id"),
        Index("ix_evaluations_status_submitted", "status", "submitted_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # One evaluation per interaction: two sampling runs or two "Evaluate" clicks racing each
    # other cannot assign it twice. (Calibration keeps its own scores.)
    interaction_id: Mapped[int] = mapped_column(ForeignKey("interactions.id"), index=True,
                                                unique=True)
    agent_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id"))
    evaluator_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    form_version_id: Mapped[int] = mapped_column(ForeignKey("form_versions.id"))
    status: Mapped[str] = mapped_column(String(16), default=EvaluationStatus.ASSIGNED.value)
    answers: Mapped[dict] = mapped_column(JSON, default=dict)
    notes: Mapped[dict] = mapped_column(JSON, default=dict)  # per-question feedback
    comment: Mapped[str] = mapped_column(Text, default="")
    score: Mapped[Decimal | None] = mapped_column(Numeric(5, 2))
    critical_fail: Mapped[bool] = mapped_column(Boolean, default=False)
    critical_reasons: Mapped[list] = mapped_column(JSON, default=list)
    section_scores: Mapped[dict] = mapped_column(JSON, default=dict)
    revision: Mapped[int] = mapped_column(Integer, default=0)
    sampling_rule_id: Mapped[int | None] = mapped_column(ForeignKey("sampling_rules.id"))
    sample_week: Mapped[str | None] = mapped_column(String(8))
    # Drawn because the flagging model flagged it (a rule's ``flagged_per_agent``), not at
    # random: it shows where problems are, but an average over such picks would understate the
    # agent, so the scorecards, team and evaluator reports and drift leave it out.
    targeted: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    due_on: Mapped[dt.date | None] = mapped_column(Date)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    submitted_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    released_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    released_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    acknowledged_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    acknowledgement: Mapped[str] = mapped_column(Text, default="")
    dispute_count: Mapped[int] = mapped_column(Integer, default=0)
    version: Mapped[int] = mapped_column(Integer, default=1)

    interaction: Mapped[Interaction] = relationship(lazy="joined")
    agent: Mapped[User] = relationship(foreign_keys=[agent_id], lazy="joined")
    evaluator: Mapped[User] = relationship(foreign_keys=[evaluator_id], lazy="joined")
    form_version: Mapped[FormVersion] = relationship()  # its definition is large: on demand
    revisions: Mapped[list[EvaluationRevision]] = relationship(
        back_populates="evaluation", order_by="EvaluationRevision.number"
    )
    disputes: Mapped[list[Dispute]] = relationship(
        back_populates="evaluation", order_by="Dispute.number"
    )

    __mapper_args__ = {"version_id_col": version}

    @property
    def status_label(self) -> str:
        return EvaluationStatus(self.status).label

    @property
    def open_dispute(self) -> Dispute | None:
        return next((d for d in self.disputes if d.status == DisputeStatus.OPEN.value), None)

    def __repr__(self) -> str:
        return f"<Evaluation {self.id} {self.status}>"


class EvaluationRevision(Base):
    """A frozen state of an evaluation: the submission (1), then one per dispute outcome."""

    __tablename__ = "evaluation_revisions"
    __table_args__ = (UniqueConstraint("evaluation_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    evaluation_id: Mapped[int] = mapped_column(ForeignKey("evaluations.id"))
    number: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(20))  # submitted, upheld, adjusted
    form_version_id: Mapped[int] = mapped_column(ForeignKey("form_versions.id"))
    answers: Mapped[dict] = mapped_column(JSON)
    notes: Mapped[dict] = mapped_column(JSON, default=dict)
    comment: Mapped[str] = mapped_column(Text, default="")
    score: Mapped[Decimal | None] = mapped_column(Numeric(5, 2))
    critical_fail: Mapped[bool] = mapped_column(Boolean, default=False)
    critical_reasons: Mapped[list] = mapped_column(JSON, default=list)
    section_scores: Mapped[dict] = mapped_column(JSON, default=dict)
    dispute_id: Mapped[int | None] = mapped_column(ForeignKey("disputes.id"))
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    evaluation: Mapped[Evaluation] = relationship(back_populates="revisions")
    author: Mapped[User | None] = relationship(lazy="joined")


class EvaluationAnswer(Base):
    """One scored question of an evaluation's latest revision, for per-question reports.

    Derived from the latest revision's answers (replaced when a dispute adjusts them); the
    revisions keep every earlier state.
    """

    __tablename__ = "evaluation_answers"
    __table_args__ = (Index("ix_evaluation_answers_question", "question_key"),)

    evaluation_id: Mapped[int] = mapped_column(
        ForeignKey("evaluations.id", ondelete="CASCADE"), primary_key=True
    )
    question_key: Mapped[str] = mapped_column(String(64), primary_key=True)
    section_key: Mapped[str] = mapped_column(String(64))
    earned: Mapped[Decimal] = mapped_column(Numeric(9, 4))
    possible: Mapped[Decimal] = mapped_column(Numeric(9, 4))
    failed: Mapped[bool] = mapped_column(Boolean, default=False)


class DisputeStatus(enum.StrEnum):
    OPEN = "open"
    UPHELD = "upheld"  # the evaluation stands
    ADJUSTED = "adjusted"  # the reviewer changed answers: a new revision with a new score


class Dispute(Base):
    """An agent's challenge of an evaluation, decided by a reviewer who did not score it."""

    __tablename__ = "disputes"
    __table_args__ = (UniqueConstraint("evaluation_id", "number"),
                      Index("ix_disputes_status", "status", "raised_at"))

    id: Mapped[int] = mapped_column(primary_key=True)
    evaluation_id: Mapped[int] = mapped_column(ForeignKey("evaluations.id"))
    number: Mapped[int] = mapped_column(Integer)
    raised_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    raised_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    reason: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default=DisputeStatus.OPEN.value)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    outcome: Mapped[str] = mapped_column(Text, default="")
    version: Mapped[int] = mapped_column(Integer, default=1)

    evaluation: Mapped[Evaluation] = relationship(back_populates="disputes", lazy="joined")
    raised_by: Mapped[User] = relationship(foreign_keys=[raised_by_id], lazy="joined")
    decided_by: Mapped[User | None] = relationship(foreign_keys=[decided_by_id], lazy="joined")

    __mapper_args__ = {"version_id_col": version}

    @property
    def scope_owner_id(self) -> int:
        return self.evaluation.agent_id

    @property
    def scope_team_id(self) -> int | None:
        return self.evaluation.team_id


class CalibrationMode(enum.StrEnum):
    BLIND = "blind"  # nobody sees anyone else's scores until the session closes
    OPEN = "open"


class CalibrationSession(TeamScoped, Base):
    """Evaluators score the same interactions on the same form version, to see whether they
    agree. Calibration scores never reach an agent's evaluations or scorecard."""

    __tablename__ = "calibration_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    form_version_id: Mapped[int] = mapped_column(ForeignKey("form_versions.id"))
    # The team whose lead runs it (scope of calibration.manage); empty: site-wide.
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id"), index=True)
    mode: Mapped[str] = mapped_column(String(8), default=CalibrationMode.BLIND.value)
    expert_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    due_on: Mapped[dt.date | None] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(8), default="open")  # open, closed
    minutes: Mapped[str] = mapped_column(Text, default="")  # what the group agreed, overall
    # The agreement statistics, computed once at closing (the scores are frozen from then on).
    statistics: Mapped[list] = mapped_column(JSON, default=list)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    closed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    closed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    version: Mapped[int] = mapped_column(Integer, default=1)

    form_version: Mapped[FormVersion] = relationship()
    team: Mapped[Team | None] = relationship(lazy="joined")
    expert: Mapped[User | None] = relationship(foreign_keys=[expert_id], lazy="joined")
    created_by: Mapped[User | None] = relationship(foreign_keys=[created_by_id])
    items: Mapped[list[CalibrationItem]] = relationship(
        back_populates="session", order_by="CalibrationItem.position")
    participants: Mapped[list[CalibrationParticipant]] = relationship(
        back_populates="session", order_by="CalibrationParticipant.user_id")

    __mapper_args__ = {"version_id_col": version}

    @property
    def is_open(self) -> bool:
        return self.status == "open"

    def participant_ids(self) -> set[int]:
        return {p.user_id for p in self.participants}


class CalibrationParticipant(Base):
    __tablename__ = "calibration_participants"

    session_id: Mapped[int] = mapped_column(ForeignKey("calibration_sessions.id"),
                                            primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True, index=True)

    session: Mapped[CalibrationSession] = relationship(back_populates="participants")
    user: Mapped[User] = relationship(lazy="joined")


class CalibrationItem(Base):
    """One interaction of a session, with the consensus the group agreed on after closing."""

    __tablename__ = "calibration_items"
    __table_args__ = (UniqueConstraint("session_id", "interaction_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("calibration_sessions.id"))
    interaction_id: Mapped[int] = mapped_column(ForeignKey("interactions.id"))
    position: Mapped[int] = mapped_column(Integer, default=1)
    consensus: Mapped[dict] = mapped_column(JSON, default=dict)  # question key -> answer
    consensus_notes: Mapped[dict] = mapped_column(JSON, default=dict)  # question key -> note
    consensus_score: Mapped[Decimal | None] = mapped_column(Numeric(5, 2))
    version: Mapped[int] = mapped_column(Integer, default=1)

    session: Mapped[CalibrationSession] = relationship(back_populates="items")
    interaction: Mapped[Interaction] = relationship(lazy="joined")
    scores: Mapped[list[CalibrationScore]] = relationship(
        back_populates="item", order_by="CalibrationScore.evaluator_id")

    __mapper_args__ = {"version_id_col": version}


class CalibrationScore(Base):
    """One participant's scoring of one item: the same answers and rules as an evaluation."""

    __tablename__ = "calibration_scores"
    # While a session is open its scores must stay blind, the audit log included: entries say
    # that a score was saved or submitted; the closing entry records every score in full.
    __audit_exclude__ = ("answers", "notes", "comment", "score", "critical_fail",
                         "section_scores")
    __table_args__ = (UniqueConstraint("item_id", "evaluator_id"),
                      Index("ix_calibration_scores_evaluator", "evaluator_id", "submitted_at"))

    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("calibration_items.id"))
    evaluator_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    status: Mapped[str] = mapped_column(String(12), default="draft")  # draft, submitted
    answers: Mapped[dict] = mapped_column(JSON, default=dict)
    notes: Mapped[dict] = mapped_column(JSON, default=dict)
    comment: Mapped[str] = mapped_column(Text, default="")
    score: Mapped[Decimal | None] = mapped_column(Numeric(5, 2))
    critical_fail: Mapped[bool] = mapped_column(Boolean, default=False)
    section_scores: Mapped[dict] = mapped_column(JSON, default=dict)
    submitted_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    version: Mapped[int] = mapped_column(Integer, default=1)

    item: Mapped[CalibrationItem] = relationship(back_populates="scores")
    evaluator: Mapped[User] = relationship(lazy="joined")

    __mapper_args__ = {"version_id_col": version}
