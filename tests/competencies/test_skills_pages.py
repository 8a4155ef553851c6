"""The competency and skills pages over real HTTP: who sees which rows of the matrix, an agent's
page with gaps and QA evidence, recording an assessment (and a refused one), the CSV export."""

from __future__ import annotations

import csv
import datetime as dt
import io

import factories
import pytest
from sqlalchemy import func, select

from competencies.frameworks import services as framework_services
from competencies.profiles import services
from competencies.profiles.models import Assessment
from scoring.evaluations import services as ev

FRAMEWORK = {
    "name": "Agent competencies",
    "groups": [
        {"code": "6.3.2", "competencies": [{"code": "6.3.2", "name": "Communication",
                                            "indicators": {"3": "Adapts tone every time"}}]},
        {"code": "6.3.4", "competencies": [{"code": "6.3.4", "name": "Client procedures"}]},
    ],
}


@pytest.fixture
def world(session, people):
    framework = framework_services.import_framework(session, factories.SYSTEM, FRAMEWORK,
                                                    publish=True).framework
    role = services.save_profile(session, factories.SYSTEM, framework_id=framework.id,
                                 kind="role", name="agent",
                                 requirements={"6.3.2": 3, "6.3.4": 2})
    services.assign_profile(session, factories.SYSTEM, role.id,
                            [people["agent_a"].id, people["agent_a2"].id, people["agent_b"].id])
    services.assess(session, people["lead_a"], user_id=people["agent_a"].id,
                    framework_id=framework.id, competency_code="6.3.2", level=3,
                    assessed_on=dt.date(2026, 11, 1), method="observation")
    session.commit()
    return framework


def test_the_framework_pages_show_groups_indicators_and_json(client, auth, world):
    auth.login("agent.a")
    listing = client.get("/competencies")
    assert listing.status_code == 200 and "Agent competencies" in listing.get_data(as_text=True)
    page = client.get(f"/competencies/{world.id}").get_data(as_text=True)
    assert "6.3.2 Communication and customer service" in page
    assert "Adapts tone every time" in page
    exported = client.get(f"/competencies/{world.id}/versions/1.json")
    assert exported.json["groups"][0]["competencies"][0]["code"] == "6.3.2"
    assert client.get("/competencies/999").status_code == 404


def test_the_matrix_shows_each_viewer_their_rows(client, auth, world):
    auth.login("hr")
    page = client.get("/skills").get_data(as_text=True)
    for name in ("agent.a", "agent.a2", "agent.b"):
        assert f">{name.title()}<" in page
    assert page.count('class="table-danger gap"') == 5  # 6 required cells, 1 met
    auth.logout()
    auth.login("lead.a")
    page = client.get("/skills").get_data(as_text=True)
    assert ">Agent.A2<" in page and ">Agent.B<" not in page
    auth.logout()
    auth.login("agent.b")
    page = client.get("/skills").get_data(as_text=True)
    assert ">Agent.B<" in page and ">Agent.A<" not in page


def test_the_csv_export_has_a_row_per_agent_and_competency(client, auth, world):
    auth.login("lead.a")
    response = client.get("/skills/matrix.csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert {r["username"] for r in rows} == {"agent.a", "agent.a2"}
    met = next(r for r in rows if r["username"] == "agent.a" and r["competency"] == "6.3.2")
    assert (met["required"], met["current"], met["gap"]) == ("3", "3", "0")
    short = next(r for r in rows if r["username"] == "agent.a2" and r["competency"] == "6.3.4")
    assert (short["required"], short["current"], short["gap"]) == ("2", "", "2")


def test_an_agents_page_and_recording_an_assessment(client, auth, session, people, world):
    agent = people["agent_a2"]
    factories.create_form(session, {"name": "Tagged", "sections": [
        {"key": "s", "title": "S", "weight": 1, "questions": [
            {"key": "greet", "text": "Greets", "type": "yes_no", "points": 1,
             "competencies": ["6.3.2"]}]}]})
    for _ in range(5):
        evaluation = ev.start_evaluation(session, people["qa"],
                                         factories.create_interaction(session, agent))
        ev.submit(session, people["qa"], evaluation.id, {"greet": "yes"})
    session.commit()
    auth.login("lead.a")
    page = client.get(f"/skills/{agent.id}").get_data(as_text=True)
    assert "short by 3" in page and "short by 2" in page
    assert "4 expert" in page and "n=5" in page  # what QA evidence suggests
    url = f"/skills/{agent.id}/assessments?framework={world.id}"
    form = {"competency_code": "6.3.2", "level": "2", "assessed_on": "2026-11-20",
            "method": "observation", "evidence": "Sat in on 3 calls", "suggested_level": "4"}
    refused = client.post_form(url, form, page=f"/skills/{agent.id}")
    assert refused.status_code == 400
    assert "QA evidence suggests level 4; say why you chose 2." in refused.get_data(as_text=True)
    assert session.scalar(select(func.count(Assessment.id))) == 1
    done = client.post_form(url, {**form, "override_reason": "Calls this month were weaker"},
                            page=f"/skills/{agent.id}")
    assert done.status_code == 302
    page = client.get(done.location).get_data(as_text=True)
    assert "Recorded: 6.3.2 at level 2." in page and "Calls this month were weaker" in page
    assert "short by 1" in page
    # another team's lead cannot see the agent, nor assess them
    auth.logout()
    auth.login("lead.b")
    assert client.get(f"/skills/{agent.id}").status_code == 404
    assert client.post_form(url, form, page="/skills").status_code == 404


def test_training_due_page_and_the_home_cards(client, auth, session, people, world):
    from competencies.training import services as training
    from competencies.training.due import add_months

    today = dt.date.today()
    course = training.save_course(session, factories.SYSTEM, {
        "name": "Data protection refresher", "kind": "compliance", "refresh_months": 12,
        "competencies": ["6.3.4"]})
    year_ago = add_months(today, -12)
    for user, completed in ((people["agent_a"], year_ago - dt.timedelta(days=3)),
                            (people["agent_b"], year_ago + dt.timedelta(days=10))):
        training.record_completion(session, factories.SYSTEM, user_id=user.id,
                                   course_id=course.id, completed_on=completed, today=today)
    session.commit()
    auth.login("hr")
    page = client.get("/training").get_data(as_text=True)
    assert "Data protection refresher" in page
    assert page.count("<td>overdue</td>") == 1 and page.count("<td>due</td>") == 1
    home = client.get("/").get_data(as_text=True)
    assert "Refreshers overdue" in home and "Competency gaps" in home
    assert "Nothing here for your role yet" not in home
    auth.logout()
    auth.login("lead.a")  # team A only: agent.a's overdue refresher
    page = client.get("/training").get_data(as_text=True)
    assert page.count("<td>overdue</td>") == 1 and "<td>due</td>" not in page


def test_training_records_import_from_the_page(client, auth, session, people, world):
    from competencies.training import services as training
    from competencies.training.models import TrainingRecord

    training.save_course(session, factories.SYSTEM, {"name": "Induction", "kind": "induction"})
    session.commit()
    data = (b"username,course,completed_on\n"
            b"agent.a,Induction,2026-01-05\n"
            b"agent.a,Nope,2026-01-05\n"
            b"agent.b,Induction,2999-01-01\n")
    auth.login("lead.a")
    assert client.get("/training/import").status_code == 403
    auth.logout()
    auth.login("hr")
    response = client.post_form("/training/import",
                                {"file": (io.BytesIO(data), "records.csv")},
                                page="/training/import", content_type="multipart/form-data")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "3 rows: 1 recorded, 0 already there, 2 failed." in page
    assert "<td>3</td>" in page and "<td>4</td>" in page
    again = client.post_form("/training/import", {"file": (io.BytesIO(data), "records.csv")},
                             page="/training/import", content_type="multipart/form-data")
    assert "1 already there" in again.get_data(as_text=True)
    assert session.scalar(select(func.count(TrainingRecord.id))) == 1
    missing = client.post_form("/training/import",
                               {"file": (io.BytesIO(b"username,completed_on\n"), "r.csv")},
                               page="/training/import", content_type="multipart/form-data")
    assert missing.status_code == 400 and "lacks the column(s) course" in \
        missing.get_data(as_text=True)


def test_the_xlsx_export_matches_the_page(client, auth, world):
    from openpyxl import load_workbook

    auth.login("hr")
    response = client.get("/skills/matrix.xlsx")
    assert response.status_code == 200 and response.mimetype.endswith("spreadsheetml.sheet")
    sheet = load_workbook(io.BytesIO(response.data)).active
    rows = [[c.value for c in row] for row in sheet.iter_rows()]
    assert rows[0] == ["Agent", "Username", "Team", "6.3.2", "6.3.4"]
    by_user = {r[1]: r for r in rows[1:]}
    assert set(by_user) == {"agent.a", "agent.a2", "agent.b"}
    assert by_user["agent.a"][3:] == ["3 / 3", "- / 2"]
    fills = {c.value: c.fill.fgColor.rgb for c in sheet[2 + sorted(by_user).index("agent.a")]}
    assert fills["3 / 3"].endswith("D1E7DD") and fills["- / 2"].endswith("F8D7DA")
