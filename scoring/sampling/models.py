"""Sampling rules, and the runs that drew from them (kept as history)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from qm.auth.models import Team, User
from qm.db import Base, UTCDateTime, utcnow
from qm.interactions.models import TeamScoped
from scoring.forms.models import ScoringForm


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


class SamplingRun(Base):
    """One run of the weekly sampling (page, API or ``qm sample``): who ran it, when, for which
    week and seed, and per rule what was drawn and what did not fit. Written in the run's own
    transaction, so a run that failed left no history and every assignment has its run."""

    __tablename__ = "sampling_runs"
    __table_args__ = (Index("ix_sampling_runs_ran_at", "ran_at", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    week: Mapped[str] = mapped_column(String(8))
    # Seeds go up to 2**32 - 1: wider than a PostgreSQL INTEGER.
    seed: Mapped[int] = mapped_column(BigInteger)
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    run_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # The name as it was (a shell operator has no user row).
    run_by_name: Mapped[str] = mapped_column(String(120))
    ran_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    created: Mapped[int] = mapped_column(Integer, default=0)
    unassigned: Mapped[int] = mapped_column(Integer, default=0)

    run_by: Mapped[User | None] = relationship(lazy="joined")
    rules: Mapped[list[SamplingRunRule]] = relationship(
        back_populates="run", order_by="SamplingRunRule.id", cascade="all, delete-orphan")


class SamplingRunRule(TeamScoped, Base):
    """What one rule did in one run. The rule's name and team are copied: the history reads the
    same after the rule is renamed or moved. A lead sees the lines of the teams they lead."""

    __tablename__ = "sampling_run_rules"

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("sampling_runs.id", ondelete="CASCADE"),
                                        index=True)
    rule_id: Mapped[int | None] = mapped_column(ForeignKey("sampling_rules.id"))
    rule_name: Mapped[str] = mapped_column(String(120))
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id"), index=True)
    agents: Mapped[int] = mapped_column(Integer, default=0)
    candidates: Mapped[int] = mapped_column(Integer, default=0)
    created: Mapped[int] = mapped_column(Integer, default=0)
    targeted: Mapped[int] = mapped_column(Integer, default=0)
    already: Mapped[int] = mapped_column(Integer, default=0)
    unassigned: Mapped[int] = mapped_column(Integer, default=0)
    # Why the rule drew nothing (no published form), or a note on its targeted picks.
    problem: Mapped[str] = mapped_column(Text, default="")
    note: Mapped[str] = mapped_column(Text, default="")
    evaluation_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    # The drawn interactions no evaluator could take (caps reached, or only the agent left).
    unassigned_interaction_ids: Mapped[list[int]] = mapped_column(JSON, default=list)

    run: Mapped[SamplingRun] = relationship(back_populates="rules")
    team: Mapped[Team | None] = relationship(lazy="joined")
