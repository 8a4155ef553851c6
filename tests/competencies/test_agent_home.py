"""What an agent sees of their own development: the next goal (pure), their home page's cards
and the panels of their scorecard: gaps, the next goal with its behavioural indicator, training
due and sessions booked. And what HR's home page sums up."""

from __future__ import annotations

import datetime as dt

import factories
import pytest

from competencies.frameworks import services as framework_services
from competencies.profiles import gaps
from competencies.profiles import services as profiles
from competencies.training import services as training
from competencies.training import sessions

FRAMEWORK = {
    "name": "Home framework",
    "groups": [{"code": "6.3.2", "competencies": [
        {"code": "COM-1", "name": "Listening", "indicators": {"2": "Summarises the request"}},
        {"code": "COM-2", "name": "Empathy"}]}],
}


def test_the_next_goal_is_one_step_on_the_largest_gap():
    found = gaps.gaps({"A": 3, "B": 4, "C": 1}, {"A": 2, "B": 1, "C": 1})
    assert gaps.next_goal(found) == gaps.Goal("B", 1, 2, 4)
    # never assessed counts as 0; the step never passes the requirement
    assert gaps.next_goal(gaps.gaps({"A": 1}, {})) == gaps.Goal("A", None, 1, 1)
    assert gaps.next_goal(gaps.gaps({"A": 1}, {"A": 3})) is None


@pytest.fixture
def world(session, people):
    return _world(session, people)


def _world(session, people):
    framework = framework_services.import_framework(session, factories.SYSTEM, FRAMEWORK,
                                                    publish=True).framework
    role = profiles.save_profile(session, factories.SYSTEM, framework_id=framework.id,
                                 kind="role", name="agent",
                                 requirements={"COM-1": 3, "COM-2": 1})
    profiles.assign_profile(session, factories.SYSTEM, role.id, [people["agent_a"].id])
    profiles.assess(session, people["lead_a"], user_id=people["agent_a"].id,
                    framework_id=framework.id, competency_code="COM-1", level=1,
                    assessed_on=dt.date.today() - dt.timedelta(days=10), method="observation")
    # completed a year ago less a week: due within 30 days
    course = _trained(session, people["agent_a"], "Data protection", "compliance", 12, 358)
    _booked(session, people["agent_a"], course, 5)
    session.commit()
    return framework


def _trained(session, agent, name: str, kind: str, refresh_months: int, days_ago: int):
    """A course ``agent`` completed ``days_ago`` days ago."""
    course = training.save_course(session, factories.SYSTEM, {
        "name": name, "kind": kind, "refresh_months": refresh_months})
    training.record_completion(session, factories.SYSTEM, user_id=agent.id,
                               course_id=course.id,
                               completed_on=dt.date.today() - dt.timedelta(days=days_ago))
    return course


def _booked(session, agent, course, in_days: int) -> None:
    """``agent`` booked on a session of ``course`` in ``in_days`` days (< 0: past)."""
    held = sessions.schedule(session, factories.SYSTEM, {
        "course_id": course.id, "held_on": dt.date.today() + dt.timedelta(days=in_days)})
    sessions.enrol(session, factories.SYSTEM, held.id, [agent.id])


def test_the_agents_home_shows_their_next_goal_and_training(client, auth, world):
    auth.login("agent.a")
    html = client.get("/").get_data(as_text=True)
    assert "My next goal" in html
    # the largest gap: COM-1 at level 1 of 3 (COM-2, never assessed, is short by 1)
    assert "Next goal: COM-1 Listening, from 1 aware to 2 practising." in html
    assert "At level 2: Summarises the request" in html
    assert "My training due" in html and "Data protection: due, refresh by" in html
    assert "Booked: Data protection on" in html
    # the team-wide cards are not an agent's
    assert "Competency gaps" not in html and "Refreshers overdue" not in html


def test_an_agent_without_a_profile_gets_no_goal_card(client, auth, world):
    auth.login("agent.b")
    html = client.get("/").get_data(as_text=True)
    assert "My next goal" not in html
    assert "My training due" in html  # with nothing due: the count is 0


def test_the_scorecard_shows_the_skills_and_training_panels(client, auth, world, people):
    auth.login("lead.a")
    html = client.get(f"/scorecards/{people['agent_a'].id}").get_data(as_text=True)
    assert 'id="person-panels"' in html
    assert "Next goal: COM-1 Listening" in html and "Data protection: due" in html
    auth.logout()
    auth.login("agent.a")
    own = client.get(f"/scorecards/{people['agent_a'].id}").get_data(as_text=True)
    assert "Next goal: COM-1 Listening" in own


def test_a_framework_published_through_this_worker_shows_on_the_next_scorecard(
        client, auth, session, people):
    """Which framework the panels use is kept a while by each worker (none at first: nothing
    asked of the database on every scorecard); a commit through this process that publishes
    one shows on the next page."""
    auth.login("admin")
    url = f"/scorecards/{people['agent_a'].id}"
    assert "Next goal" not in client.get(url).get_data(as_text=True)
    _world(session, people)
    assert "Next goal: COM-1 Listening" in client.get(url).get_data(as_text=True)


def test_a_qa_evaluator_sees_the_scorecard_without_skills_panels(client, auth, world, people):
    auth.login("qa")  # QA evaluators read scorecards, not skills records
    response = client.get(f"/scorecards/{people['agent_a'].id}")
    assert response.status_code == 200
    assert 'id="person-panels"' not in response.get_data(as_text=True)


def test_hrs_home_sums_up_gaps_and_refreshers(client, auth, world):
    auth.login("hr")
    html = client.get("/").get_data(as_text=True)
    assert "Competency gaps" in html and "Agent.A: COM-1 short by 2" in html
    assert "Refreshers due in 30 days" in html
    assert "My next goal" not in html


def test_the_training_panel_reads_records_and_bookings_in_one_statement(session, world,
                                                                        people):
    """The latest completion of each course and the sessions booked as (course, day): one
    statement however many records and bookings (a scorecard shows this on every view), with
    the refreshers ``person_training`` gives, in its order."""
    from sqlalchemy import event

    from competencies.training import dashboard, queries

    other = _trained(session, people["agent_a"], "Complaints handling", "refresher", 6, 200)
    _booked(session, people["agent_a"], other, 9)
    _booked(session, people["agent_a"], other, -1)  # held yesterday: not listed
    # taken twice: the old completion would be overdue, the latest is in date
    again = _trained(session, people["agent_a"], "Call handling", "refresher", 12, 400)
    training.record_completion(session, factories.SYSTEM, user_id=people["agent_a"].id,
                               course_id=again.id,
                               completed_on=dt.date.today() - dt.timedelta(days=10))
    session.commit()
    session.expire_all()
    agent = people["agent_a"]
    assert agent.id  # loaded again before counting
    reads = []
    engine = session.get_bind()
    listen = lambda *a: reads.append(a[2])  # noqa: E731
    event.listen(engine, "before_cursor_execute", listen)
    try:
        due, booked = dashboard._own_lines(session, agent, dt.date.today())
    finally:
        event.remove(engine, "before_cursor_execute", listen)
    assert len(reads) == 1
    # overdue first, then due
    assert [line.split(":")[0] for line in due] == ["Complaints handling", "Data protection"]
    assert due[0].startswith("Complaints handling: overdue, refresh by ")
    standing = queries.person_training(session, agent.id, dt.date.today())
    assert [f"{c.course.name}: {c.status}, refresh by {c.due_on}" for c in standing
            if c.status in ("overdue", "due")] == due
    assert {c.course.name: c.status for c in standing}["Call handling"] == "ok"
    soon, nine = (dt.date.today() + dt.timedelta(days=d) for d in (5, 9))
    assert booked == [f"Booked: Data protection on {soon}",
                      f"Booked: Complaints handling on {nine}"]
