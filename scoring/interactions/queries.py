"""Read side for interactions: the scoped, filtered, keyset-paginated list."""

from __future__ import annotations

import base64
import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Select, literal, select, tuple_
from sqlalchemy.orm import Session, aliased

from qm.auth.models import Team, User
from qm.db import UTCDateTime
from qm.errors import InvalidInput
from qm.inputs import MAX_ID
from qm.interactions import queries as interaction_queries
from qm.interactions.models import Interaction, duration_label
from qm.timestamps import to_utc
from transcription.flagging import queries as flag_queries


@dataclass
class InteractionFilters:
    q: str = ""
    agent_id: int | None = None
    team_id: int | None = None
    channel: str = ""
    direction: str = ""
    queue: str = ""
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    timezone: str = "UTC"
    flagged: bool = False
    """Only what the current flagging model flagged for review (transcription.flagging)."""

    def active(self) -> bool:
        return any([self.q, self.agent_id, self.team_id, self.channel, self.direction,
                    self.queue, self.date_from, self.date_to, self.flagged])


@dataclass
class Page:
    rows: list[Any]
    """``Interaction`` objects (``list_interactions``) or ``Listed`` rows (``list_shown``)."""
    next_cursor: str | None
    filters: InteractionFilters = field(default_factory=InteractionFilters)


def encode_cursor(row: Any) -> str:
    raw = f"{row.started_at.astimezone(dt.UTC).isoformat()}|{row.id}"
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[dt.datetime, int]:
    """The position a cursor of ``encode_cursor`` names; anything else is refused, in words
    (a made-up cursor must neither fail on the database nor quietly restart the list)."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        stamp, _, ident = base64.urlsafe_b64decode(padded.encode()).decode().partition("|")
        when = dt.datetime.fromisoformat(stamp)
        position = int(ident)
        if when.tzinfo is None or not 0 < position <= MAX_ID:
            raise ValueError("not a position")
        return to_utc(when), position
    except (ValueError, UnicodeDecodeError):
        raise InvalidInput("The page cursor is not one this site gave out; start again from "
                           "the first page.", {"cursor": "Not a cursor of this list."}) from None


def filtered(actor: Any, filters: InteractionFilters) -> Select[tuple[Interaction]]:
    stmt = interaction_queries.narrowed(
        interaction_queries.visible(actor), agent_id=filters.agent_id, team_id=filters.team_id,
        channel=filters.channel, direction=filters.direction, queue=filters.queue,
        date_from=filters.date_from, date_to=filters.date_to, timezone=filters.timezone)
    if filters.q:
        q = filters.q.strip()
        stmt = stmt.where((Interaction.external_id == q) | (Interaction.customer_ref == q))
    if filters.flagged:
        flagged = flag_queries.flagged_rows().subquery()
        stmt = stmt.where(Interaction.id.in_(select(flagged.c.interaction_id)))
    return stmt


@dataclass(frozen=True, slots=True)
class Listed:
    """An interaction as the list page and its exports show it: its columns and its agent's
    and team's names, read as the connection's rows (no ORM object: fifty rows a page, and
    never a chat's or an e-mail's body, nor the recording's or the people's other columns)."""

    id: int
    started_at: dt.datetime
    agent_id: int
    agent_name: str
    team_id: int | None
    team_name: str | None
    channel: str
    direction: str
    queue: str
    duration_s: int | None
    customer_ref: str | None
    source: str
    external_id: str

    @property
    def duration_label(self) -> str:
        return duration_label(self.duration_s)


_AGENT, _TEAM = aliased(User), aliased(Team)
_LISTED = (Interaction.id, Interaction.started_at, Interaction.agent_id, _AGENT.display_name,
           Interaction.team_id, _TEAM.name, Interaction.channel, Interaction.direction,
           Interaction.queue, Interaction.duration_s, Interaction.customer_ref,
           Interaction.source, Interaction.external_id)


def list_interactions(
    session: Session,
    actor: Any,
    filters: InteractionFilters,
    *,
    cursor: str | None = None,
    limit: int = 50,
) -> Page:
    """Newest first, as ORM objects (the API's list). Keyset pagination: page 1,000 costs what
    page 1 costs."""
    stmt = _keyset(filtered(actor, filters), cursor, limit)
    return _paged(list(session.scalars(stmt).unique()), limit, filters)


def list_shown(session: Session, actor: Any, filters: InteractionFilters, *,
               cursor: str | None = None, limit: int = 50) -> Page:
    """``list_interactions`` as the list page and its exports show it: ``Listed`` rows, in
    one statement through the session's connection."""
    stmt = _keyset(filtered(actor, filters)
                   .with_only_columns(*_LISTED, maintain_column_froms=False)
                   .select_from(Interaction)
                   .join(_AGENT, _AGENT.id == Interaction.agent_id)
                   .outerjoin(_TEAM, _TEAM.id == Interaction.team_id), cursor, limit)
    return _paged([Listed(*row) for row in session.connection().execute(stmt)], limit, filters)


def _keyset(stmt: Select[Any], cursor: str | None, limit: int) -> Select[Any]:
    """``stmt`` from the position ``cursor`` names (none: the newest), newest first, one row
    beyond ``limit`` to tell whether there is a next page."""
    if cursor:
        stamp, ident = decode_cursor(cursor)
        stmt = stmt.where(tuple_(Interaction.started_at, Interaction.id)
                          < tuple_(literal(stamp, UTCDateTime()), literal(ident)))
    return stmt.order_by(Interaction.started_at.desc(), Interaction.id.desc()).limit(limit + 1)


def _paged(rows: list[Any], limit: int, filters: InteractionFilters) -> Page:
    next_cursor = encode_cursor(rows[limit - 1]) if len(rows) > limit else None
    return Page(rows[:limit], next_cursor, filters)
