"""Read side shared by every list of interactions (the interactions list, the calibration
picker): what the viewer may see, narrowed by the filters such lists offer. Each list adds its
own (a search, flagged, evaluated) on top."""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Select, select

from qm.auth.permissions import scope_clause
from qm.interactions.models import Interaction


def day_start(day: dt.date, zone: str) -> dt.datetime:
    """The UTC instant ``day`` begins in ``zone``: the filters' days are the viewer's."""
    return dt.datetime.combine(day, dt.time.min, ZoneInfo(zone)).astimezone(dt.UTC)


def visible(actor: Any) -> Select[tuple[Interaction]]:
    """The interactions ``actor`` may see (``interaction.view``)."""
    return select(Interaction).where(
        scope_clause(actor, "interaction.view", Interaction.agent_id, Interaction.team_id))


def narrowed(stmt: Select[Any], *, agent_id: int | None = None, team_id: int | None = None,
             channel: str = "", direction: str = "", queue: str = "",
             date_from: dt.date | None = None, date_to: dt.date | None = None,
             timezone: str = "UTC") -> Select[Any]:
    """``stmt`` narrowed to an agent, a team, a channel, a direction, a queue, and the days
    ``date_from`` to ``date_to`` (both included) in ``timezone``; an empty filter is none."""
    if agent_id:
        stmt = stmt.where(Interaction.agent_id == agent_id)
    if team_id:
        stmt = stmt.where(Interaction.team_id == team_id)
    if channel:
        stmt = stmt.where(Interaction.channel == channel)
    if direction:
        stmt = stmt.where(Interaction.direction == direction)
    if queue.strip():
        stmt = stmt.where(Interaction.queue == queue.strip())
    if date_from:
        stmt = stmt.where(Interaction.started_at >= day_start(date_from, timezone))
    if date_to:
        stmt = stmt.where(Interaction.started_at < day_start(date_to + dt.timedelta(days=1),
                                                             timezone))
    return stmt
