"""The home page's skills card: the largest competency gaps among the agents one sees."""

from __future__ import annotations

from typing import Any

from flask import url_for
from sqlalchemy import select
from sqlalchemy.orm import Session

from competencies.profiles import gaps, queries
from qm.auth.models import User, UserRole
from qm.auth.permissions import Role, can, scope_clause

SHOWN = 5


def cards(session: Session, actor: Any) -> list[dict[str, Any]]:
    if not can(actor, "skills.view"):
        return []
    framework = queries.framework_for(session)
    if framework is None:
        return []
    agents = {u.id: u for u in session.scalars(
        select(User).join(UserRole).where(UserRole.role == Role.AGENT.value, User.active,
                                          scope_clause(actor, "skills.view", User.id,
                                                       User.team_id)))}
    required = queries.required_levels(session, framework.id, agents)
    current = queries.current_levels(session, framework.id, agents)
    found = sorted(((gap.short_by, agents[user_id].display_name, gap.code)
                    for user_id in agents
                    for gap in gaps.gaps(required[user_id], current[user_id])),
                   key=lambda g: (-g[0], g[1], g[2]))
    lines = [f"{name}: {code} short by {short}" for short, name, code in found[:SHOWN]]
    return [{"title": "Competency gaps", "value": len(found), "detail": lines,
             "link": url_for("skills.matrix"), "link_text": "Skills matrix"}]
