"""The home page's coaching cards: action items overdue (a lead's teams', an agent's own) and
sessions planned."""

from __future__ import annotations

from typing import Any

from flask import url_for
from sqlalchemy.orm import Session

from competencies.coaching import queries
from competencies.coaching.models import CoachingStatus
from qm.auth.permissions import can
from qm.timestamps import today_in

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
    if planned:
        out.append({"title": "Coaching sessions planned", "value": len(planned),
                    "detail": [f"{s.agent.display_name} on {s.planned_on}"
                               for s in sorted(planned, key=lambda s: s.planned_on)[:SHOWN]],
                    "link": link, "link_text": "Coaching log"})
    return out
