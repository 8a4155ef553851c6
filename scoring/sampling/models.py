"""Sampling rules."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    Boolean,
    ForeignKey,
    Integer,
    String,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from qm.auth.models import Team
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
