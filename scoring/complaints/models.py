"""The complaint register (ISO 10002 practice): a customer's complaint, the interactions it is
about, its life from receipt to closure (every step's time, for its clock), and the site's
holidays, which its working-day deadlines skip."""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import Date, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from qm.auth.models import User
from qm.db import Base, UTCDateTime, utcnow
from qm.interactions.models import Interaction

# What a complaint is about, for routing and for the register's filters. A fixed list, so that
# counts compare from month to month; "other" for what fits none (review it: a growing
# "other" means a category is missing). Change it here, with a migration of stored values.
CATEGORIES: dict[str, str] = {
    "billing": "Billing",
    "service": "Service",
    "product": "Product",
    "agent_conduct": "Agent conduct",
    "delay": "Delay",
    "data_privacy": "Data / privacy",
    "other": "Other",
}

# Why it happened, found when it is resolved: what the trend report counts per month (ISO
# 10002 8.x, root-cause analysis and reports to management). A fixed list for the same reason.
ROOT_CAUSES: dict[str, str] = {
    "process": "Process or procedure",
    "policy": "Policy or terms",
    "people": "People: knowledge, skill or conduct",
    "system": "System or tool",
    "communication": "Communication or information given",
    "product": "Product or service defect",
    "third_party": "Third party or partner",
    "expectation": "Customer expectation (no fault found)",
    "other": "Other",
}


class Severity(enum.StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"


class ComplaintStatus(enum.StrEnum):
    """Where a complaint stands. It follows from its times (``services.status_of``): the
    latest step done, and "escalated" while an escalation waits for its answer."""

    RECEIVED = "received"
    ACKNOWLEDGED = "acknowledged"
    RESPONDED = "responded"
    ESCALATED = "escalated"
    RESOLVED = "resolved"
    CLOSED = "closed"


OPEN_STATUSES = (ComplaintStatus.RECEIVED.value, ComplaintStatus.ACKNOWLEDGED.value,
                 ComplaintStatus.RESPONDED.value, ComplaintStatus.ESCALATED.value)
"""Not resolved yet: what the clock still runs for."""


class ComplaintSource(enum.StrEnum):
    MANUAL = "manual"  # entered by a person, from any channel
    FLAG = "flag"  # opened from an interaction's confirmed complaint flag


class Complaint(Base):
    """One customer's complaint. Who sees it follows the interactions it is linked to (a lead
    sees those about their teams' contacts); one linked to none is seen by those who see all."""

    __tablename__ = "complaints"

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_ref: Mapped[str] = mapped_column(String(100), index=True)
    summary: Mapped[str] = mapped_column(Text, default="")
    category: Mapped[str] = mapped_column(String(24), index=True)
    severity: Mapped[str] = mapped_column(String(16), default=Severity.MEDIUM.value)
    status: Mapped[str] = mapped_column(String(16), default=ComplaintStatus.RECEIVED.value,
                                        index=True)
    source: Mapped[str] = mapped_column(String(16), default=ComplaintSource.MANUAL.value)
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    received_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, index=True)
    acknowledged_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    responded_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    escalated_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    escalation_reason: Mapped[str] = mapped_column(Text, default="")
    escalation_answered_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    escalation_answer: Mapped[str] = mapped_column(Text, default="")
    resolved_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, index=True)
    outcome: Mapped[str] = mapped_column(Text, default="")
    root_cause: Mapped[str | None] = mapped_column(String(24))
    closed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    reopened_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    version: Mapped[int] = mapped_column(Integer, default=1)

    owner: Mapped[User | None] = relationship(foreign_keys=[owner_id])
    created_by: Mapped[User | None] = relationship(foreign_keys=[created_by_id])
    links: Mapped[list[ComplaintInteraction]] = relationship(
        back_populates="complaint", cascade="all, delete-orphan",
        order_by="ComplaintInteraction.interaction_id")

    __mapper_args__ = {"version_id_col": version}

    @property
    def interaction_ids(self) -> list[int]:
        return [link.interaction_id for link in self.links]

    @property
    def category_label(self) -> str:
        return CATEGORIES.get(self.category, self.category)

    @property
    def root_cause_label(self) -> str:
        return ROOT_CAUSES.get(self.root_cause or "", self.root_cause or "")


class ComplaintInteraction(Base):
    """A complaint is about this interaction. The interaction's agent and team when it was
    linked are kept here: they scope the complaint (as a coaching session keeps its team)."""

    __tablename__ = "complaint_interactions"
    __table_args__ = (UniqueConstraint("complaint_id", "interaction_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    complaint_id: Mapped[int] = mapped_column(
        ForeignKey("complaints.id", ondelete="CASCADE"), index=True)
    interaction_id: Mapped[int] = mapped_column(ForeignKey("interactions.id"), index=True)
    agent_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id"), index=True)
    added_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    added_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    complaint: Mapped[Complaint] = relationship(back_populates="links")
    interaction: Mapped[Interaction] = relationship()

    @property
    def scope_owner_id(self) -> int:
        return self.agent_id

    @property
    def scope_team_id(self) -> int | None:
        return self.team_id


class Holiday(Base):
    """A day the site does not work: working-day deadlines skip it."""

    __tablename__ = "holidays"

    id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[dt.date] = mapped_column(Date, unique=True)
    name: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
