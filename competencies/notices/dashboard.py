"""The home page's notice cards: the notices waiting for one's own acknowledgement, and for HR
and leads the acknowledgements outstanding (and overdue) among the people they see."""

from __future__ import annotations

from typing import Any

from flask import url_for
from sqlalchemy.orm import Session

from competencies.notices import queries
from qm.auth.permissions import can
from qm.timestamps import today_in


def cards(session: Session, actor: Any) -> list[dict[str, Any]]:
    if not can(actor, "notice.view"):
        return []
    out = []
    waiting = queries.to_acknowledge_count(session, actor)
    if waiting:
        out.append({"title": "Notices to acknowledge", "value": waiting,
                    "link": url_for("notices.notices"), "link_text": "Read and acknowledge"})
    if queries.follows_others(actor):
        rows = queries.outstanding_by_team(session, actor, as_of=today_in(actor.timezone))
        outstanding, overdue = queries.totals(rows)
        out.append({"title": "Acknowledgements outstanding", "value": outstanding,
                    "detail": [f"{overdue} overdue (past the deadline)"],
                    "link": url_for("notices.outstanding"), "link_text": "Who has not yet"})
    return out
