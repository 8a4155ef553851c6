"""The skills matrix shows what is being done about each gap (issue 14): coaching planned or
recently held on the competency (C), training booked or recently done on a course that covers
it (T), on the page, in print, in the CSV and on the agent's page; only for gaps, only for
coaching the viewer may see, and in a fixed number of queries for the whole matrix."""

from __future__ import annotations

import csv
import datetime as dt
import io

import factories
import pytest
from sqlalchemy import event, select

from competencies.coaching import services as coaching
from competencies.frameworks import services as framework_services
from competencies.profiles import services
from competencies.profiles.models import CompetencyProfile
from competencies.training import services as training
from competencies.training import sessions as training_sessions

FRAMEWORK = {
    "name": "Agent competencies",
    "groups": [
        {"code": "6.3.2", "competencies": [{"code": "6.3.2", "name": "Communication"}]},
        {"code": "6.3.4", "competencies": [{"code": "6.3.4", "name": "Client procedures"}]},
    ],
}


@pytest.fixture
def world(session, people):
    today = dt.date.today()
    framework = framework_services.import_framework(session, factories.SYSTEM, FRAMEWORK,
                                                    publish=True).framework
    role = services.save_profile(session, factories.SYSTEM, framework_id=framework.id,
                                 kind="role", name="agent",
                                 requirements={"6.3.2": 3, "6.3.4": 2})
    services.assign_profile(session, factories.SYSTEM, role.id,
                            [people["agent_a"].id, people["agent_a2"].id, people["agent_b"].id])
    # agent.a: coaching planned on 6.3.2 (a gap); agent.b: a course on 6.3.4 booked, and one
    # on 6.3.2 done last month; agent.a2: coaching on 6.3.2 held long ago (not shown)
    coaching.open_session(session, people["lead_a"], people["agent_a"].id, {
        "kind": "one_to_one", "planned_on": today + dt.timedelta(days=3),
        "focus_competencies": ["6.3.2"]})
    old = coaching.open_session(session, people["lead_a"], people["agent_a2"].id, {
        "kind": "one_to_one", "planned_on": today - dt.timedelta(days=200),
        "focus_competencies": ["6.3.2"]})
    coaching.hold(session, people["lead_a"], old.id, held_on=today - dt.timedelta(days=200),
                 today=today)
    procedures = training.save_course(session, factories.SYSTEM, {
        "name": "Client procedures <refresher>", "kind": "refresher",
        "competencies": ["6.3.4"]})
    talk = training.save_course(session, factories.SYSTEM, {
        "name": "Tone", "kind": "product", "competencies": ["6.3.2"]})
    planned = training_sessions.schedule(session, factories.SYSTEM, {
        "course_id": procedures.id, "held_on": today + dt.timedelta(days=10)})
    training_sessions.enrol(session, factories.SYSTEM, planned.id, [people["agent_b"].id])
    training.record_completion(session, factories.SYSTEM, user_id=people["agent_b"].id,
                               course_id=talk.id, completed_on=today - dt.timedelta(days=30))
    session.commit()
    return framework


def _cells(page: str) -> list[str]:
    return [cell.split("</td>")[0] for cell in page.split('<td class="table-danger gap">')[1:]]


def test_the_matrix_marks_gaps_with_coaching_and_training(client, auth, world, people):
    auth.login("hr")
    page = client.get("/skills").get_data(as_text=True)
    marked = [c for c in _cells(page) if "qm-mark" in c]
    assert len(marked) == 3  # agent.a 6.3.2 (C), agent.b 6.3.2 (T) and 6.3.4 (T)
    assert sum(">C</sup>" in c for c in marked) == 1
    assert sum(">T</sup>" in c for c in marked) == 2
    assert "coaching planned for" in page and "training booked: Client procedures" in page
    # a course name is text: escaped in the tooltip
    assert "&lt;refresher&gt;" in page and "<refresher>" not in page
    printed = client.get("/skills?print=1").get_data(as_text=True)
    assert printed.count("qm-mark") == 3 and "C has coaching" in printed


def test_only_gaps_carry_marks_and_the_csv_says_what(client, auth, world, session, people):
    # agent.b reaches 6.3.2: the course done is no longer beside a gap
    services.assess(session, people["lead_b"], user_id=people["agent_b"].id,
                    framework_id=world.id, competency_code="6.3.2", level=3,
                    assessed_on=dt.date.today(), method="observation")
    session.commit()
    auth.login("hr")
    page = client.get("/skills").get_data(as_text=True)
    assert sum("qm-mark" in c for c in _cells(page)) == 2
    rows = list(csv.DictReader(io.StringIO(client.get("/skills/matrix.csv").get_data(
        as_text=True))))
    noted = {(r["username"], r["competency"]): r["coaching_training"] for r in rows}
    assert noted["agent.a", "6.3.2"].startswith("coaching planned for")
    assert noted["agent.b", "6.3.2"] == ""  # met: nothing to say
    assert noted["agent.b", "6.3.4"].startswith("training booked: Client procedures")
    assert noted["agent.a2", "6.3.2"] == ""  # held 200 days ago


def test_coaching_marks_follow_who_may_see_coaching(client, auth, world, app):
    # an agent sees their own matrix row with their own coaching; nobody else's
    auth.login("agent.a")
    cells = _cells(client.get("/skills").get_data(as_text=True))
    assert sum(">C</sup>" in c for c in cells) == 1
    auth.logout()
    auth.login("agent.b")
    cells = _cells(client.get("/skills").get_data(as_text=True))
    assert sum(">C</sup>" in c for c in cells) == 0
    assert sum(">T</sup>" in c for c in cells) == 2


def test_the_agent_page_lists_them_beside_the_gap(client, auth, world, people):
    auth.login("lead.a")
    page = client.get(f"/skills/{people['agent_a'].id}").get_data(as_text=True)
    gaps = page.split('id="gaps"')[1].split("</ul>")[0]
    assert "qm-gap-notes" in gaps and "coaching planned for" in gaps


def test_the_notes_cost_a_fixed_number_of_queries(client, auth, world, app, session, people):
    def count() -> int:
        seen: list[str] = []

        def before(conn, cursor, statement, *args):  # noqa: ANN001
            seen.append(statement)

        engine = app.extensions["qm"]["engine"]
        event.listen(engine, "before_cursor_execute", before)
        try:
            assert client.get("/skills").status_code == 200
        finally:
            event.remove(engine, "before_cursor_execute", before)
        return len(seen)

    auth.login("hr")
    few = count()
    role_id = session.scalar(select(CompetencyProfile.id))
    for n in range(12):
        user = factories.create_user(session, f"extra{n}", team=people["team_a"])
        services.assign_profile(session, factories.SYSTEM, role_id, [user.id])
        coaching.open_session(session, people["lead_a"], user.id, {
            "kind": "one_to_one", "planned_on": dt.date.today() + dt.timedelta(days=1),
            "focus_competencies": ["6.3.4"]})
    session.commit()
    assert count() == few
