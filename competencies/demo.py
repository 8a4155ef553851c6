"""The competencies domain's part of `qm demo`: the clause-6 framework, published, whose codes
match the demo scoring form's tags; the agent role's profile held by every demo agent; a few
assessments by the team leads; two courses with completions, some refreshers due or overdue."""

from __future__ import annotations

import datetime as dt
import json
import random
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from competencies.frameworks import queries, services
from competencies.profiles import services as profiles
from competencies.profiles.models import CompetencyProfile
from competencies.training import services as training
from competencies.training.due import add_months
from qm.auth.models import Team, User, UserRole

FRAMEWORK_FILE = Path(__file__).parent / "data" / "clause6_framework.json"
AGENT_REQUIREMENTS = {"6.3.2": 3, "6.3.3": 2, "6.3.4": 3, "6.3.4.1": 3}
COURSES = [
    {"name": "Induction", "kind": "induction", "refresh_months": None,
     "competencies": ["6.3.2", "6.3.3", "6.3.4"]},
    {"name": "Data protection and identity checks", "kind": "compliance", "refresh_months": 12,
     "competencies": ["6.3.4", "6.3.4.1"]},
]


def seed(session: Session, actor: Any, settings: Any) -> str:
    version = services.import_framework(session, actor,
                                        json.loads(FRAMEWORK_FILE.read_text("utf-8")),
                                        publish=True)
    count = len(queries.parsed(version).competencies)
    message = (f"Competencies: {version.framework.name!r} v{version.number} ({version.status}), "
               f"{count} competencies.")
    if session.scalar(select(CompetencyProfile.id).limit(1)) is not None:
        return message + " Profiles, assessments and training: there already."
    return message + " " + _seed_people(session, actor, version.framework_id)


def _seed_people(session: Session, actor: Any, framework_id: int) -> str:
    agents = list(session.scalars(select(User).join(UserRole).where(UserRole.role == "agent")
                                  .order_by(User.username)))
    profile = profiles.save_profile(session, actor, framework_id=framework_id, kind="role",
                                    name="agent", requirements=AGENT_REQUIREMENTS)
    profiles.assign_profile(session, actor, profile.id, [a.id for a in agents])
    rng = random.Random(18295)
    today = dt.date.today()
    assessed = 0
    for agent in agents:
        team = session.get(Team, agent.team_id) if agent.team_id else None
        lead = team.leads[0] if team is not None and team.leads else None
        if lead is None:
            continue
        for code in ("6.3.2", "6.3.4"):
            profiles.assess(session, lead, user_id=agent.id, framework_id=framework_id,
                            competency_code=code, level=rng.choice((2, 3, 3, 4)),
                            assessed_on=today - dt.timedelta(days=rng.randint(10, 120)),
                            method="observation", evidence="Observed on live calls",
                            today=today)
            assessed += 1
    courses = [training.save_course(session, actor, values) for values in COURSES]
    records = 0
    for i, agent in enumerate(agents):
        started = add_months(today, -(18 + i))
        for course, completed in ((courses[0], started),
                                  (courses[1], add_months(today, -(10 + i % 4)) + dt.timedelta(
                                      days=rng.randint(0, 20)))):
            training.record_completion(session, actor, user_id=agent.id, course_id=course.id,
                                       completed_on=min(completed, today), result="passed",
                                       today=today)
            records += 1
    return (f"{len(agents)} agents hold the agent profile; {assessed} assessments; "
            f"{len(courses)} courses, {records} training records.")
