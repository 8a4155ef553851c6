"""The home page's training cards: refreshers overdue and due soon, for the people one sees."""

from __future__ import annotations

from typing import Any

from flask import url_for
from sqlalchemy.orm import Session

from competencies.training import queries
from qm.auth.permissions import can
from qm.timestamps import today_in


def cards(session: Session, actor: Any) -> list[dict[str, Any]]:
    if not can(actor, "skills.view"):
        return []
    rows = queries.due_list(session, as_of=today_in(actor.timezone), visible_to=actor)
    overdue = sum(r.status == "overdue" for r in rows)
    link = url_for("training.due_page")
    return [{"title": "Refreshers overdue", "value": overdue, "link": link,
             "link_text": "Training due"},
            {"title": "Refreshers due in 30 days", "value": len(rows) - overdue, "link": link,
             "link_text": "Training due"}]
