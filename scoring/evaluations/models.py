"""Evaluations, their answers and revisions, disputes; the statuses, and what finished,
released and counted mean, defined once."""

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

from qm.auth.models import User
from qm.db import Base, UTCDateTime, utcnow
from qm.interactions.models import AgentScoped, Interaction
from scoring.forms.models import FormVersion


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
"""Released to the agent: what the agent sees, and what the averages read (``COUNTED``
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
        # scan (bench/README.md measured the team average at 4-10 ms without, 0.6 ms with; a
        # scorecard's year of 165 evaluations at 1.1-1.3 ms without id and version, 0.2 ms with).
        Index("ix_evaluations_agent_submitted", "agent_id", "submitted_at",
              postgresql_include=["status", "score", "critical_fail", "team_id", "targeted",
                                  "id", "version"]),
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


COUNTED = (Evaluation.status.in_(RELEASED_STATUSES), Evaluation.targeted.is_(False))
"""What the averages read: released to the agent, and drawn at random or chosen by hand."""


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
