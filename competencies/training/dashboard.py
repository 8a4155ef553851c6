"""The home page's training cards (refreshers overdue and due soon, for the people one sees;
an agent's own) and the training panel of an agent's other pages."""

from __future__ import annotations

from typing import Any

from flask import url_for
from sqlalchemy.orm import Session

from competencies.training import queries
from qm.auth.permissions import OWN, can, scope_for
from qm.timestamps import today_in


def _own_lines(session: Session, person: Any, as_of: Any) -> tuple[list[str], list[str]]:
    """A person's refreshers overdue or due soon, and the sessions they are booked on."""
    due, booked = queries.panel(session, person.id, as_of)
    return ([f"{name}: {status}, refresh by {due_on}" for name, status, due_on in due],
            [f"Booked: {name} on {held_on}" for name, held_on in booked])


def person_panels(session: Session, viewer: Any, person: Any) -> list[dict[str, Any]]:
    if not can(viewer, "skills.view", person):
        return []
    due, booked = _own_lines(session, person, today_in(viewer.timezone))
    return [{"title": "Training", "lines": due + booked or ["Nothing due; no session booked."],
             "link": url_for("training.person", user_id=person.id),
             "link_text": "Training record"}]


def cards(session: Session, actor: Any) -> list[dict[str, Any]]:
    if not can(actor, "skills.view"):
        return []
    as_of = today_in(actor.timezone)
    if scope_for(actor, "skills.view") == OWN:  # an agent: their own refreshers and bookings
        due, booked = _own_lines(session, actor, as_of)
        return [{"title": "My training due", "value": len(due), "detail": due + booked,
                 "link": url_for("training.person", user_id=actor.id),
                 "link_text": "My training record"}]
    rows = queries.due_list(session, as_of=as_of, visible_to=actor)
    overdue = sum(r.status == "overdue" for r in rows)
    link = url_for("training.due_page")
    return [{"title": "Refreshers overdue", "value": overdue, "link": link,
             "link_text": "Training due"},
            {"title": "Refreshers due in 30 days", "value": len(rows) - overdue, "link": link,
             "link_text": "Training due"}]


def gap_notes(session: Session, viewer: Any, person_ids: list[int],
              as_of: Any) -> dict[int, list[tuple[str, str, list[str]]]]:
    """For the skills matrix: the training booked or recently done by each of ``person_ids``
    (whom the matrix already shows ``viewer``), as ("T", text, competency codes)."""
    if not can(viewer, "skills.view"):
        return {}
    return {person: [("T", text, codes) for text, codes in found] for person, found in
            queries.training_on_competencies(session, person_ids, as_of).items()}


def reports(actor: Any) -> list[dict[str, Any]]:
    """The due list and refresher compliance on the reports home, for whoever follows others'
    training."""
    if not can(actor, "skills.view") or scope_for(actor, "skills.view") is OWN:
        return []
    return [{"group": "Competencies", "title": "Training due and overdue",
             "id": "report-training",
             "text": "Who is due or overdue for a refresher or required course.",
             "link": url_for("training.due_page")},
            {"group": "Competencies", "title": "Refresher compliance",
             "id": "report-refreshers",
             "text": "Per course, the share of holders whose refresher is in date, and the "
                     "same at the end of each of the last 12 months.",
             "link": url_for("training.compliance_page")}]
