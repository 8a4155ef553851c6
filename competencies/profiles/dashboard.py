"""The home page's skills cards and the skills panel of an agent's other pages: the largest
competency gaps among the agents one sees, and an agent's own gaps and next goal."""

from __future__ import annotations

from typing import Any

from flask import url_for
from sqlalchemy import select
from sqlalchemy.orm import Session

from competencies.frameworks import queries as framework_queries
from competencies.frameworks.models import CompetencyFramework, FrameworkVersion
from competencies.profiles import gaps, queries
from qm.auth.models import User, UserRole
from qm.auth.permissions import OWN, Role, can, scope_clause, scope_for
from qm.db import change_version
from qm.web import kept

SHOWN = 5


def _framework(session: Session) -> CompetencyFramework | None:
    """``queries.framework_for(session)`` for the panels of every scorecard and home page: which
    framework it is is kept a while like a filter's list (``qm.web.kept``; a framework published
    through this worker shows at once, through another within ``LIST_TTL_S``), so a site
    without one asks nothing, and one with it reads it by id."""
    framework_id = kept(("first-published-framework",),
                        lambda: queries.first_published_id(session),
                        version=change_version(CompetencyFramework, FrameworkVersion))
    return None if framework_id is None else session.get(CompetencyFramework, framework_id)


def _own_lines(session: Session, person: Any) -> tuple[gaps.Goal | None, list[str]] | None:
    """An agent's next goal and the lines that say it, or None without a framework or a
    profile."""
    framework = _framework(session)
    if framework is None:
        return None
    required = queries.required_levels(session, framework.id, [person.id])[person.id]
    if not required:
        return None
    parsed = framework_queries.parsed(framework_queries.version_of(framework))
    current = queries.current_levels(session, framework.id, [person.id])[person.id]
    found = gaps.gaps(required, current)
    goal = gaps.next_goal(found)
    names = parsed.by_code()

    def level(value: int | None) -> str:
        if value is None:
            return "not assessed"
        return f"{value} {parsed.scale[value]}" if value < len(parsed.scale) else str(value)

    if goal is None:
        return None, [f"Every required level is met ({len(required)} competencies)."]
    competency = names.get(goal.code)
    lines = [f"Next goal: {goal.code} {competency.name if competency else ''}, from "
             f"{level(goal.current)} to {level(goal.target)}."]
    indicator = competency.indicators.get(goal.target) if competency else None
    if indicator:
        lines.append(f"At level {goal.target}: {indicator}")
    lines += [f"{gap.code} {names[gap.code].name if gap.code in names else ''}: "
              f"{level(gap.current)}, {gap.required} required" for gap in found[:SHOWN]]
    return goal, lines


def person_panels(session: Session, viewer: Any, person: Any) -> list[dict[str, Any]]:
    """The skills panel of a page about ``person`` (their scorecard): gaps and next goal."""
    if not can(viewer, "skills.view", person):
        return []
    own = _own_lines(session, person)
    if own is None:
        return []
    return [{"title": "Competencies", "source": "skills", "lines": own[1],
             "link": url_for("skills.person", user_id=person.id),
             "link_text": "Skills profile"}]


def cards(session: Session, actor: Any) -> list[dict[str, Any]]:
    if not can(actor, "skills.view"):
        return []
    if scope_for(actor, "skills.view") == OWN:  # an agent: their own next goal
        own = _own_lines(session, actor)
        if own is None:
            return []
        goal, lines = own
        return [{"title": "My next goal",
                 "value": f"{goal.code}: level {goal.target}" if goal else "All met",
                 "detail": lines, "link": url_for("skills.person", user_id=actor.id),
                 "link_text": "My skills profile"}]
    framework = _framework(session)
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


def reports(actor: Any) -> list[dict[str, Any]]:
    """The skills matrix and the gap report on the reports home, for whoever follows others'
    skills."""
    if not can(actor, "skills.view") or scope_for(actor, "skills.view") is OWN:
        return []
    return [{"group": "Competencies", "title": "Skills matrix", "id": "report-skills",
             "text": "Each person's level against their role profile, with the gaps to close.",
             "link": url_for("skills.matrix")},
            {"group": "Competencies", "title": "Competency gaps", "id": "report-gaps",
             "text": "Per competency, the share of agents below the level their profiles "
                     "require, and per team the share with any gap.",
             "link": url_for("skills.gaps_page")}]
