"""The competencies domain's part of `qm demo`: the clause-6 framework, published, whose codes
match the demo scoring form's tags; the agent role's profile held by every demo agent, the other
roles' profiles and a queue's; a few assessments by the team leads; two courses with
completions, some refreshers due or overdue; a refresher session held (with levels before and
after) and one planned."""

from __future__ import annotations

import datetime as dt
import json
import random
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from competencies.coaching import services as coaching
from competencies.coaching.models import CoachingSession
from competencies.frameworks import queries, services
from competencies.notices import services as notices
from competencies.notices.models import Notice, NoticeRecipient
from competencies.profiles import services as profiles
from competencies.profiles.models import CompetencyProfile
from competencies.training import services as training
from competencies.training import sessions
from competencies.training.due import add_months
from qm.auth.models import Team, User, UserRole
from scoring.evaluations.models import COUNTED, Evaluation

FRAMEWORK_FILE = Path(__file__).parent / "data" / "clause6_framework.json"
AGENT_REQUIREMENTS = {"6.3.2": 3, "6.3.3": 2, "6.3.4": 3, "6.3.4.1": 3}
# The other role profiles clause 6 speaks of, and what a queue adds; (kind, name, requirements,
# who holds it: a role's users, or a team's agents)
OTHER_PROFILES = [
    ("role", "new agent", {"6.3.2": 2, "6.3.3": 1, "6.3.4": 2, "6.3.4.1": 3}, None),
    ("role", "senior agent", {"6.3.2": 4, "6.3.2.1": 3, "6.3.2.2": 3, "6.3.3": 3, "6.3.3.1": 3,
                              "6.3.4": 3, "6.3.4.1": 4}, None),
    ("role", "team lead", {"6.3.2": 4, "6.3.3": 3, "6.3.4": 3, "6.3.4.1": 4}, "team_lead"),
    ("role", "QA evaluator", {"6.3.2": 4, "6.3.3": 3, "6.3.4": 4, "6.3.4.1": 4}, "qa_evaluator"),
    ("queue", "outages", {"6.3.3": 3, "6.3.3.1": 3}, "team:Technical support"),
]
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
    sent_notices = " " + _seed_notices(session, actor)
    sent_notices += " " + _seed_coaching(session)
    if session.scalar(select(CompetencyProfile.id).limit(1)) is not None:
        return message + " Profiles, assessments and training: there already." + sent_notices
    return message + " " + _seed_people(session, actor, version.framework_id) + sent_notices


NOTICE_PUBLISHED = {
    "title": "New identity check before any account change", "category": "procedure",
    "body": "From Monday, ask two security questions before changing any account detail.\n\n"
            "If the caller cannot answer both, offer a call back to the number on file.",
}
NOTICE_DRAFT = {
    "title": "Holiday opening hours", "category": "policy",
    "body": "The centre closes at 18:00 on 24 and 31 December.",
}


def _seed_notices(session: Session, actor: Any) -> str:
    """A notice published to all agents with a deadline, acknowledged by half of them, and a
    draft. Known by its title: a second run adds nothing."""
    if session.scalar(select(Notice.id).where(
            Notice.title == NOTICE_PUBLISHED["title"]).limit(1)) is not None:
        return "Notices: there already."
    today = dt.date.today()
    sent = notices.save_draft(session, actor, {
        **NOTICE_PUBLISHED, "acknowledge_by": today + dt.timedelta(days=7)})
    notices.publish(session, actor, sent.id, notices.Audience(all_agents=True), today=today)
    agents = sorted(session.scalars(select(User).join(NoticeRecipient).where(
        NoticeRecipient.notice_id == sent.id)), key=lambda u: u.username)
    for agent in agents[: len(agents) // 2]:
        notices.acknowledge(session, agent, sent.id)
    notices.save_draft(session, actor, NOTICE_DRAFT)
    return (f"Notices: one sent to {len(agents)} agents ({len(agents) // 2} acknowledged), "
            "one draft.")


def _seed_people(session: Session, actor: Any, framework_id: int) -> str:
    agents = list(session.scalars(select(User).join(UserRole).where(UserRole.role == "agent")
                                  .order_by(User.username)))
    profile = profiles.save_profile(session, actor, framework_id=framework_id, kind="role",
                                    name="agent", requirements=AGENT_REQUIREMENTS)
    profiles.assign_profile(session, actor, profile.id, [a.id for a in agents])
    for kind, name, requirements, holders in OTHER_PROFILES:
        other = profiles.save_profile(session, actor, framework_id=framework_id, kind=kind,
                                      name=name, requirements=requirements)
        if holders is None:
            continue
        if holders.startswith("team:"):
            holding = [a.id for a in agents if a.team_id is not None
                       and session.get(Team, a.team_id).name == holders[5:]]
        else:
            holding = list(session.scalars(select(User.id).join(UserRole).where(
                UserRole.role == holders)))
        profiles.assign_profile(session, actor, other.id, holding)
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
    held, planned = _seed_sessions(session, actor, courses[1], agents, framework_id, today)
    return (f"{len(agents)} agents hold the agent profile, {len(OTHER_PROFILES)} more profiles "
            f"(other roles, a queue); {assessed} assessments; "
            f"{len(courses)} courses, {records} training records; a session held for "
            f"{held} agents (re-assessed since), one planned for {planned}.")


def _seed_sessions(session: Session, actor: Any, course: Any, agents: list[User],
                   framework_id: int, today: dt.date) -> tuple[int, int]:
    """A refresher session held 60 days ago, attended by half the agents (one absent), whom
    their leads re-assessed since, so the course page shows levels before and after; and one
    planned in two weeks for the others."""
    held_on = today - dt.timedelta(days=60)
    first, rest = agents[: len(agents) // 2], agents[len(agents) // 2:]
    held = sessions.schedule(session, actor, {
        "course_id": course.id, "held_on": held_on, "trainer": "Compliance team",
        "location": "Training room 1", "capacity": max(1, len(first))})
    sessions.enrol(session, actor, held.id, [a.id for a in first])
    marks = {a.id: ("attended", "passed") for a in first}
    if first:
        marks[first[-1].id] = ("absent", "")
    sessions.record_attendance(session, actor, held.id, marks, today=today)
    for i, agent in enumerate(first):
        team = session.get(Team, agent.team_id) if agent.team_id else None
        if team is None or not team.leads:
            continue
        lead = team.leads[0]
        # the quiz before the refresher, and (for those who attended) what the lead saw after
        profiles.assess(session, lead, user_id=agent.id, framework_id=framework_id,
                        competency_code="6.3.4.1", level=2,
                        assessed_on=held_on - dt.timedelta(days=14), method="test",
                        evidence="Identity-check quiz: 6 of 10", today=today)
        if agent is first[-1]:
            continue  # absent
        profiles.assess(session, lead, user_id=agent.id, framework_id=framework_id,
                        competency_code="6.3.4.1", level=3 + i % 2,
                        assessed_on=held_on + dt.timedelta(days=20), method="observation",
                        evidence="Identity checks done in full after the refresher", today=today)
    planned = sessions.schedule(session, actor, {
        "course_id": course.id, "held_on": today + dt.timedelta(days=14),
        "trainer": "Compliance team", "location": "Training room 1", "capacity": 20})
    sessions.enrol(session, actor, planned.id, [a.id for a in rest[:20]])
    return len(first) - 1, min(len(rest), 20)


def _seed_coaching(session: Session) -> str:
    """Each lead's first agent: a session held a fortnight ago from their latest released
    evaluation, with an action item each (one overdue), and one planned next week. Known by
    its existence: a second run adds nothing."""
    if session.scalar(select(CoachingSession.id).limit(1)) is not None:
        return "Coaching: there already."
    today = dt.date.today()
    held = planned = 0
    for team in session.scalars(select(Team).order_by(Team.name)):
        if not team.leads:
            continue
        lead = team.leads[0]
        agents = list(session.scalars(select(User).where(User.team_id == team.id)
                                      .order_by(User.username)))
        if not agents:
            continue
        agent = agents[0]
        evaluation = session.scalar(select(Evaluation).where(
            Evaluation.agent_id == agent.id, *COUNTED).order_by(Evaluation.submitted_at.desc())
            .limit(1))
        values = {"kind": "one_to_one", "planned_on": today - dt.timedelta(days=14),
                  "focus_competencies": ["6.3.4.1"],
                  "notes": "Identity checks skipped on two calls; walked through the script."}
        if evaluation is not None:
            values |= {"source": "evaluation", "evaluation_ids": [evaluation.id]}
        item = coaching.open_session(session, lead, agent.id, values)
        coaching.hold(session, lead, item.id, held_on=today - dt.timedelta(days=14),
                      today=today)
        coaching.add_action(session, lead, item.id, text="Ask both security questions on "
                            "every account change", owner_id=agent.id,
                            due_on=today - dt.timedelta(days=2))
        coaching.add_action(session, lead, item.id, text="Listen to two model calls together",
                            owner_id=lead.id, due_on=today + dt.timedelta(days=5))
        held += 1
        if len(agents) > 1:
            coaching.open_session(session, lead, agents[1].id, {
                "kind": "side_by_side", "planned_on": today + dt.timedelta(days=7),
                "focus_competencies": ["6.3.2.2"], "notes": "Tone on complaint calls."})
            planned += 1
    return f"Coaching: {held} sessions held with action items, {planned} planned."
