"""Read side of the calibration picker: the interactions a session manager may put in a
session, searched and filtered, with what is known of each (flagged, evaluated).

The interactions list (``scoring.interactions.queries``) sits above calibration in the layers;
what the two share is the lower layers': who sees what and the common filters
(``qm.interactions.queries``), what counts as flagged
(``transcription.flagging.queries.flagged_rows``) and what counts as evaluated
(``FINISHED_STATUSES``)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Select, or_, select
from sqlalchemy.orm import Session

from qm.auth.models import User
from qm.auth.permissions import can
from qm.interactions import queries as interaction_queries
from qm.interactions.models import Interaction
from scoring.evaluations.models import FINISHED_STATUSES, Evaluation
from transcription.flagging import queries as flag_queries
from transcription.models import Transcript

PAGE_SIZE = 25


@dataclass
class PickerFilters:
    q: str = ""
    """Words of the (redacted) transcript or text, part of the agent's name or username, or an
    external id or customer reference."""
    team_id: int | None = None
    queue: str = ""
    channel: str = ""
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    timezone: str = "UTC"
    """The zone the dates are days of: the user's."""
    flagged: bool = False
    evaluated: str = ""
    """"yes" (a finished evaluation exists), "no" (none yet) or "" (either)."""

    def active(self) -> bool:
        return any([self.q, self.team_id, self.queue, self.channel, self.date_from,
                    self.date_to, self.flagged, self.evaluated])


@dataclass
class Candidate:
    interaction: Interaction
    flagged: bool
    evaluation: Evaluation | None
    """Its evaluation (one per interaction), if any: the page shows it only where the user may
    see it (``scoring.evaluations.services.visible``)."""


@dataclass
class PickerPage:
    rows: list[Candidate]
    page: int
    more: bool


def _flagged_ids(among: list[int] | None = None) -> Select[Any]:
    rows = flag_queries.flagged_rows().subquery()
    stmt = select(rows.c.interaction_id)
    return stmt if among is None else stmt.where(rows.c.interaction_id.in_(among))


def _evaluated_ids() -> Select[Any]:
    return select(Evaluation.interaction_id).where(Evaluation.status.in_(FINISHED_STATUSES))


def _text_clause(q: str) -> ColumnElement[bool]:
    """Only the redacted words (``Transcript.text``) are searched, never the body as typed: a
    search must not find a contact by the card number nobody may read in it."""
    words = select(Transcript.interaction_id).where(
        Transcript.text.icontains(q, autoescape=True))
    agents = select(User.id).where(or_(User.display_name.icontains(q, autoescape=True),
                                       User.username.icontains(q, autoescape=True)))
    return or_(Interaction.external_id == q, Interaction.customer_ref == q,
               Interaction.agent_id.in_(agents), Interaction.id.in_(words))


def candidates_query(actor: Any, filters: PickerFilters) -> Select[tuple[Interaction]]:
    """Interactions ``actor`` may see (``interaction.view``) that match ``filters``."""
    stmt = interaction_queries.narrowed(
        interaction_queries.visible(actor), team_id=filters.team_id, channel=filters.channel,
        queue=filters.queue, date_from=filters.date_from, date_to=filters.date_to,
        timezone=filters.timezone)
    q = filters.q.strip()
    if q:
        stmt = stmt.where(_text_clause(q))
    if filters.flagged:
        stmt = stmt.where(Interaction.id.in_(_flagged_ids()))
    if filters.evaluated == "yes":
        stmt = stmt.where(Interaction.id.in_(_evaluated_ids()))
    elif filters.evaluated == "no":
        stmt = stmt.where(Interaction.id.not_in(_evaluated_ids()))
    return stmt


def _described(session: Session, rows: list[Interaction]) -> list[Candidate]:
    """Each row with its flag and its evaluation: two queries for the page, not two per row."""
    ids = [row.id for row in rows]
    if not ids:
        return []
    flagged = set(session.scalars(_flagged_ids(ids)))
    evaluations = {e.interaction_id: e for e in session.scalars(
        select(Evaluation).where(Evaluation.interaction_id.in_(ids)))}
    return [Candidate(row, row.id in flagged, evaluations.get(row.id)) for row in rows]


def candidates(session: Session, actor: Any, filters: PickerFilters, *, page: int = 1,
               per_page: int = PAGE_SIZE) -> PickerPage:
    """One page of matches, newest first. Pages by number: a picker's search is narrowed by its
    filters, and the manager goes back and forth between pages while ticking."""
    page = max(page, 1)
    stmt = (candidates_query(actor, filters)
            .order_by(Interaction.started_at.desc(), Interaction.id.desc())
            .offset((page - 1) * per_page).limit(per_page + 1))
    rows = list(session.scalars(stmt).unique())
    return PickerPage(_described(session, rows[:per_page]), page, len(rows) > per_page)


def picked(session: Session, actor: Any, ids: list[int]) -> list[tuple[int, Candidate | None]]:
    """The picked ids in the order they were picked, each with its row, or None where there is
    no such interaction or it is not one ``actor`` may see (the two look the same)."""
    found = {i.id: i for i in session.scalars(select(Interaction).where(
        Interaction.id.in_(ids)))} if ids else {}
    shown = [i for i in found.values() if can(actor, "interaction.view", i)]
    described = {c.interaction.id: c for c in _described(session, shown)}
    return [(i, described.get(i)) for i in ids]
