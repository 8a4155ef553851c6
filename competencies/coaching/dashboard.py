"""The home page's coaching cards (action items overdue, a lead's teams' or an agent's own;
sessions planned; coaching suggested to a lead) and the coaching panel of an agent's other
pages (their skills profile, their scorecard)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import url_for
from sqlalchemy.orm import Session

from competencies.coaching import queries, services
from competencies.coaching.models import CoachingStatus
from qm.auth.permissions import OWN, can, scope_for
from qm.timestamps import today_in
from scoring.evaluations.models import RELEASED_STATUSES

SHOWN = 5


def cards(session: Session, actor: Any) -> list[dict[str, Any]]:
    if not can(actor, "coaching.view"):
        return []
    as_of = today_in(actor.timezone)
    overdue = queries.open_actions(session, actor, as_of=as_of, overdue_only=True)
    planned = [s for s in queries.log(session, actor, status=CoachingStatus.SCHEDULED.value)
               if s.planned_on >= as_of]
    link = url_for("coaching.log_page")
    lines = [f"{a.session.agent.display_name}: {a.text} (due {a.due_on}, {a.owner.display_name})"
             for a in overdue[:SHOWN]]
    out = [{"title": "Coaching actions overdue", "value": len(overdue), "detail": lines,
            "link": link, "link_text": "Coaching log"}]
    if can(actor, "coaching.manage") and getattr(actor, "led_team_ids", None):
        # a lead's teams only: across a whole centre it is a report, not a home card
        suggested = queries.suggestions(session, actor, as_of=as_of)
        out.append({"title": "Coaching suggested", "value": len(suggested),
                    "detail": [f"{s.agent.display_name}: {s.label} ({s.found.share:.0f}%)"
                               for s in suggested[:SHOWN]],
                    "link": url_for("coaching.suggestions_page"),
                    "link_text": "Suggested coaching"})
    if planned:
        out.append({"title": "Coaching sessions planned", "value": len(planned),
                    "detail": [f"{s.agent.display_name} on {s.planned_on}"
                               for s in sorted(planned, key=lambda s: s.planned_on)[:SHOWN]],
                    "link": link, "link_text": "Coaching log"})
    return out


def person_panels(session: Session, viewer: Any, person: Any) -> list[dict[str, Any]]:
    """An agent's open action items and latest coaching sessions, for a page about them."""
    if not can(viewer, "coaching.view", services.PersonScope(person)):
        return []
    sessions = queries.of_agent(session, viewer, person.id)
    if not sessions and not can(viewer, "coaching.manage", services.PersonScope(person)):
        return []
    as_of = today_in(viewer.timezone)
    lines = [f"To do: {a.text} (due {a.due_on}{', overdue' if a.due_on < as_of else ''})"
             for s in sessions for a in s.actions
             if a.done_at is None and s.status != CoachingStatus.CANCELLED.value]
    lines += [f"{s.planned_on}: {s.kind.replace('_', ' ')}, {s.status}"
              + (f" ({', '.join(s.focus_questions + s.focus_competencies)})"
                 if s.focus_questions or s.focus_competencies else "")
              for s in sessions[:3]]
    if can(viewer, "coaching.manage", services.PersonScope(person)) and viewer.id != person.id:
        link = url_for("coaching.new_session", agent_id=person.id)
        text = "Plan a coaching session"
    else:
        link, text = url_for("coaching.log_page", agent_id=person.id), "Coaching log"
    return [{"title": "Coaching", "lines": lines or ["No coaching yet."], "link": link,
             "link_text": text}]


def evaluation_links(session: Session, viewer: Any, evaluation: Any) -> list[dict[str, str]]:
    """"Coach from this evaluation" on a released evaluation of an agent the viewer coaches."""
    if evaluation.status not in RELEASED_STATUSES or evaluation.agent is None:
        return []
    if not can(viewer, "coaching.manage", services.PersonScope(evaluation.agent)) or \
            viewer.id == evaluation.agent_id:
        return []
    return [{"text": "Coach from this evaluation",
             "href": url_for("coaching.new_session", agent_id=evaluation.agent_id,
                             evaluation_id=evaluation.id)}]


def gap_notes(session: Session, viewer: Any, person_ids: list[int],
              as_of: dt.date) -> dict[int, list[tuple[str, str, list[str]]]]:
    """For the skills matrix: each person's coaching planned, or held lately, on competencies
    (``queries.coaching_on_competencies``), as ("C", text, competency codes)."""
    if not can(viewer, "coaching.view"):
        return {}
    return {person: [("C", text, codes) for text, codes in found] for person, found in
            queries.coaching_on_competencies(session, viewer, person_ids, as_of).items()}


def question_links(session: Session, viewer: Any, found: dict[str, Any]) -> list[dict[str, str]]:
    """"Coach on this" beside a question in an agent's "what to work on next" (the scorecard):
    ``found`` has the agent and the question's key."""
    agent = found["agent"]
    if viewer.id == agent.id or not can(viewer, "coaching.manage", services.PersonScope(agent)):
        return []
    return [{"text": "Coach on this",
             "href": url_for("coaching.new_session", agent_id=agent.id, question=found["key"])}]


def reports(actor: Any) -> list[dict[str, Any]]:
    """Coaching effectiveness on the reports home, for whoever follows others' coaching."""
    if not can(actor, "coaching.view") or scope_for(actor, "coaching.view") is OWN:
        return []
    return [{"group": "Competencies", "title": "Coaching effectiveness",
             "id": "report-coaching-effectiveness",
             "text": "Scores on the coached questions before and after each coaching session.",
             "link": url_for("coaching.effectiveness_page")}]
