"""The scoring domain's cards on the home page."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import url_for
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from qm.auth.permissions import can, scope_clause
from qm.db import utcnow
from scoring.models import Interaction


def cards(session: Session, actor: Any) -> list[dict[str, Any]]:
    if not can(actor, "interaction.view"):
        return []
    since = utcnow() - dt.timedelta(days=7)
    count = session.scalar(
        select(func.count(Interaction.id)).where(
            scope_clause(actor, "interaction.view", Interaction.agent_id, Interaction.team_id),
            Interaction.started_at >= since,
        )
    )
    return [{"title": "Interactions, last 7 days", "value": count,
             "link": url_for("scoring.interactions"), "link_text": "Browse interactions"}]
