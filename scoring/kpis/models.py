"""Operational KPI figures as the telephony and survey exports give them: one row per day, team,
queue and channel, holding raw sums (contacts and those resolved first time, total wait and
calls answered, ...), never rates, so that any period aggregates correctly."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, Date, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from qm.auth.models import Team
from qm.db import Base, UTCDateTime, utcnow

CHANNELS = ("voice", "chat", "email", "messaging", "social")
"""The interaction channels (``qm.interactions.models.Channel``): ASA targets differ by channel."""


class KpiRecord(Base):
    """One day's figures of one team on one queue and channel. The key (day, team, queue,
    channel) is what makes a re-import add nothing: a row for a key already held is the same
    figures (left alone) or a correction (replaces them, audited). A figure an export does not
    carry stays NULL: unknown, not zero."""

    __tablename__ = "kpi_records"
    __table_args__ = (
        UniqueConstraint("day", "team_id", "queue", "channel"),
        Index("ix_kpi_records_team_day", "team_id", "day"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[dt.date] = mapped_column(Date)
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id"))
    queue: Mapped[str] = mapped_column(String(80), default="")  # "" when the export has none
    channel: Mapped[str] = mapped_column(String(16))
    # contacts offered to the queue, answered, abandoned before an answer, and the total
    # seconds the answered ones waited (ASA = wait_seconds / answered)
    offered: Mapped[int | None] = mapped_column(Integer)
    answered: Mapped[int | None] = mapped_column(Integer)
    abandoned: Mapped[int | None] = mapped_column(Integer)
    wait_seconds: Mapped[int | None] = mapped_column(BigInteger)
    # contacts handled and their total talk + hold + wrap-up seconds (AHT)
    handled: Mapped[int | None] = mapped_column(Integer)
    handle_seconds: Mapped[int | None] = mapped_column(BigInteger)
    # contacts judged for first-contact resolution, and those resolved at the first contact
    contacts: Mapped[int | None] = mapped_column(Integer)
    resolved_first: Mapped[int | None] = mapped_column(Integer)
    # CSAT survey: responses, satisfied (top-box) ones and the sum of their scores (mean)
    csat_responses: Mapped[int | None] = mapped_column(Integer)
    csat_satisfied: Mapped[int | None] = mapped_column(Integer)
    csat_score_sum: Mapped[int | None] = mapped_column(Integer)
    # NPS survey answers by group (0-6 detractors, 7-8 passives, 9-10 promoters)
    nps_promoters: Mapped[int | None] = mapped_column(Integer)
    nps_passives: Mapped[int | None] = mapped_column(Integer)
    nps_detractors: Mapped[int | None] = mapped_column(Integer)
    imported_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    team: Mapped[Team] = relationship(lazy="joined")

    @property
    def scope_team_id(self) -> int:
        return self.team_id

    @property
    def scope_owner_id(self) -> None:
        return None
