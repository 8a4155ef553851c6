"""The skills matrix's filters (team, role, queue, client profile, gaps only), the same filters on
the CSV and XLSX exports, the printable version, the viewer's scope under every filter, and the
latest assessment per cell as the database picks it."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re

import factories
import pytest

from competencies.frameworks import services as framework_services
from competencies.profiles import queries, services

FRAMEWORK = {
    "name": "Matrix competencies",
    "groups": [
        {"code": "6.3.2", "competencies": [{"code": "COM", "name": "Communication"}]},
        {"code": "6.3.3", "competencies": [{"code": "CRM", "name": "CRM tool"}]},
        {"code": "6.3.4", "competencies": [{"code": "ACME", "name": "Acme procedures",
                                            "client": "Acme"}]},
    ],
}
GAP_CELL = 'class="table-danger gap"'


@pytest.fixture
def world(session, people):
    """agent.a: role "agent", queue "billing", every requirement met. agent.a2: role "senior",
    short on COM and CRM. agent.b (team B): role "agent", client "Acme", short on ACME."""
    framework = framework_services.import_framework(session, factories.SYSTEM, FRAMEWORK,
                                                    publish=True).framework

    def profile(kind, name, requirements, holders):
        saved = services.save_profile(session, factories.SYSTEM, framework_id=framework.id,
                                      kind=kind, name=name, requirements=requirements)
        services.assign_profile(session, factories.SYSTEM, saved.id,
                                [people[h].id for h in holders])
        return saved.id

    ids = {
        "agent": profile("role", "agent", {"COM": 2}, ["agent_a", "agent_b"]),
        "senior": profile("role", "senior", {"COM": 3, "CRM": 3}, ["agent_a2"]),
        "billing": profile("queue", "billing", {"CRM": 2}, ["agent_a"]),
        "acme": profile("client", "Acme", {"ACME": 2}, ["agent_b"]),
    }
    day = dt.date(2026, 11, 1)
    for agent, code, level in (("agent_a", "COM", 2), ("agent_a", "CRM", 3),
                               ("agent_a2", "COM", 2), ("agent_b", "COM", 4)):
        services.assess(session, factories.SYSTEM, user_id=people[agent].id,
                        framework_id=framework.id, competency_code=code, level=level,
                        assessed_on=day, method="observation")
    session.commit()
    return framework, ids


def rows_of(page: str) -> list[str]:
    """The agents the matrix shows, in order (the first cell of each body row)."""
    return [name.strip() for name in
            re.findall(r'class="text-start agent">(?:<a href="[^"]*">)?([^<]+)<', page)]


def csv_users(response) -> set[str]:
    assert response.status_code == 200 and response.mimetype == "text/csv"
    return {r["username"] for r in csv.DictReader(io.StringIO(response.get_data(as_text=True)))}


def test_each_filter_narrows_the_matrix(client, auth, people, world):
    _framework, ids = world
    auth.login("hr")
    assert rows_of(client.get("/skills").get_data(as_text=True)) == [
        "Agent.A", "Agent.A2", "Agent.B"]
    cases = {
        f"role_id={ids['agent']}": ["Agent.A", "Agent.B"],
        f"role_id={ids['senior']}": ["Agent.A2"],
        f"queue_id={ids['billing']}": ["Agent.A"],
        f"client_id={ids['acme']}": ["Agent.B"],
        f"team_id={people['team_a'].id}": ["Agent.A", "Agent.A2"],
        f"role_id={ids['agent']}&team_id={people['team_b'].id}": ["Agent.B"],
        "gaps=1": ["Agent.A2", "Agent.B"],  # agent.a meets every requirement
        f"role_id={ids['agent']}&gaps=1": ["Agent.B"],
        "gaps=0": ["Agent.A", "Agent.A2", "Agent.B"],
    }
    for query, expected in cases.items():
        response = client.get(f"/skills?{query}")
        assert response.status_code == 200, query
        assert rows_of(response.get_data(as_text=True)) == expected, query
    # the chosen values stay selected in the form
    page = client.get(f"/skills?queue_id={ids['billing']}&gaps=1").get_data(as_text=True)
    assert f'<option value="{ids["billing"]}" selected>billing</option>' in page
    assert re.search(r'id="gaps"\s+checked', page)


def test_unknown_ids_match_nobody_like_the_team_filter_and_bad_ones_are_400(client, auth,
                                                                         world):
    _framework, ids = world
    auth.login("hr")
    # an id that names nothing, or a profile of another kind, keeps nobody: as a team that
    # does not exist does
    for query in ("team_id=999", "role_id=999", "queue_id=999", "client_id=999",
                  f"role_id={ids['billing']}", f"queue_id={ids['agent']}"):
        response = client.get(f"/skills?{query}")
        page = response.get_data(as_text=True)
        assert response.status_code == 200 and "No agents to show." in page, query
        assert rows_of(page) == [], query
        assert csv_users(client.get(f"/skills/matrix.csv?{query}")) == set(), query
    for query in ("role_id=x", "queue_id=-1", "client_id=0", "team_id=1.5",
                  "role_id=99999999999"):
        assert client.get(f"/skills?{query}").status_code == 400, query
        assert client.get(f"/skills/matrix.csv?{query}").status_code == 400, query


def test_the_exports_take_the_pages_filters(client, auth, world):
    from openpyxl import load_workbook

    _framework, ids = world
    auth.login("hr")
    assert csv_users(client.get(f"/skills/matrix.csv?role_id={ids['agent']}")) == {
        "agent.a", "agent.b"}
    assert csv_users(client.get("/skills/matrix.csv?gaps=1")) == {"agent.a2", "agent.b"}
    response = client.get(f"/skills/matrix.xlsx?role_id={ids['senior']}")
    assert response.status_code == 200
    rows = [[c.value for c in row]
            for row in load_workbook(io.BytesIO(response.data)).active.iter_rows()]
    assert rows == [["Agent", "Username", "Team", "COM", "CRM", "ACME"],
                    ["Agent.A2", "agent.a2", "Team A", "2 / 3", "- / 3", "-"]]
    # the page's export and print links carry the filters shown
    page = client.get(f"/skills?queue_id={ids['billing']}&gaps=1").get_data(as_text=True)
    for route in ("/skills/matrix.csv", "/skills/matrix.xlsx", "/skills"):
        links = re.findall(rf'href="({re.escape(route)}\?[^"]*)"', page)
        assert any(f"queue_id={ids['billing']}" in link and "gaps=1" in link
                   for link in links), route


def test_the_xlsx_fills_every_gap_cell_even_repeated_ones(client, auth, session, people,
                                                           world):
    """One styled cell object serves every cell of the same text and fill: each must still
    come out in its own column, filled."""
    from openpyxl import load_workbook

    framework, ids = world
    services.save_profile(session, factories.SYSTEM, framework_id=framework.id, kind="role",
                          name="senior", requirements={"COM": 3, "CRM": 3, "ACME": 3})
    session.commit()
    auth.login("hr")
    sheet = load_workbook(io.BytesIO(client.get(
        f"/skills/matrix.xlsx?role_id={ids['senior']}").data)).active
    cells = list(sheet.iter_rows(min_row=2))[0][3:]
    assert [c.value for c in cells] == ["2 / 3", "- / 3", "- / 3"]
    assert all(c.fill.fgColor.rgb.endswith("F8D7DA") for c in cells)


def test_the_printable_matrix(client, auth, people, world):
    framework, ids = world
    auth.login("hr")
    response = client.get(f"/skills?print=1&team_id={people['team_a'].id}"
                          f"&role_id={ids['senior']}")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "navbar" not in page and "<script" not in page  # a document, not the app's page
    assert "Matrix competencies, version 1 (published)" in page
    assert "team Team A, role senior" in page  # the filters, by name
    assert "Printed" in page and dt.date.today().isoformat() in page
    assert 'id="matrix-legend"' in page and "a gap" in page
    assert "<thead>" in page and "qm/matrix.css" in page  # the print stylesheet
    assert "cdn" not in page.lower() and "http" not in page  # vendored assets only
    assert rows_of(page) == ["Agent.A2"]
    # a gap reads without colour: marked and bold (matrix.css), not only red
    cells = re.findall(r'<td class="([^"]*)">([^<]*)</td>', page)
    assert cells == [("table-danger gap", "\u25bc2/3"), ("table-danger gap", "\u25bc\u2013/3"),
                     ("text-muted", "\u2013")]
    assert "\u25bc" in page.split('id="matrix-legend"')[1].split("</dd>")[0]
    # the whole matrix prints too, and the page links to its printable version
    whole = client.get("/skills?print=1").get_data(as_text=True)
    assert rows_of(whole) == ["Agent.A", "Agent.A2", "Agent.B"]
    assert "every agent you may see" in whole
    assert re.search(r'href="/skills\?[^"]*print=1[^"]*">Printable version',
                     client.get("/skills").get_data(as_text=True))


def test_a_lead_sees_only_their_teams_under_every_filter(client, auth, people, world):
    _framework, ids = world
    auth.login("lead.a")
    assert rows_of(client.get("/skills").get_data(as_text=True)) == ["Agent.A", "Agent.A2"]
    assert rows_of(client.get(f"/skills?role_id={ids['agent']}").get_data(
        as_text=True)) == ["Agent.A"]  # agent.b holds it too, in team B
    for query in (f"client_id={ids['acme']}", f"team_id={people['team_b'].id}"):
        assert rows_of(client.get(f"/skills?{query}").get_data(as_text=True)) == [], query
        assert csv_users(client.get(f"/skills/matrix.csv?{query}")) == set(), query
    assert rows_of(client.get("/skills?print=1&gaps=1").get_data(as_text=True)) == [
        "Agent.A2"]
    assert csv_users(client.get("/skills/matrix.csv?gaps=1")) == {"agent.a2"}
    auth.logout()
    auth.login("agent.b")  # an agent: their own row only
    assert rows_of(client.get("/skills?print=1").get_data(as_text=True)) == ["Agent.B"]
    assert csv_users(client.get(f"/skills/matrix.csv?role_id={ids['agent']}")) == {"agent.b"}


def test_gap_cells_are_marked_and_counted(client, auth, world):
    auth.login("hr")
    page = client.get("/skills").get_data(as_text=True)
    # agent.a2: COM 2/3 and CRM -/3; agent.b: ACME -/2; agent.a none
    assert page.count(GAP_CELL) == 3
    assert page.count("\u25bc") == 3 + 1  # the cells, and the legend


def test_the_latest_assessment_wins_by_date_then_by_recording(session, people, world):
    framework, _ids = world
    agent = people["agent_b"]

    def assess(code, level, day):
        services.assess(session, factories.SYSTEM, user_id=agent.id, framework_id=framework.id,
                        competency_code=code, level=level, assessed_on=day,
                        method="observation")

    assess("CRM", 3, dt.date(2026, 9, 1))
    assess("CRM", 1, dt.date(2026, 3, 1))  # recorded later, dated earlier: not current
    assess("ACME", 1, dt.date(2026, 5, 5))
    assess("ACME", 2, dt.date(2026, 5, 5))  # the same day, recorded later: current
    levels = queries.current_levels(session, framework.id, [agent.id, people["agent_a2"].id])
    assert levels == {agent.id: {"COM": 4, "CRM": 3, "ACME": 2},
                      people["agent_a2"].id: {"COM": 2}}
    assert queries.current_levels(session, framework.id, []) == {}
    agents = queries.matrix_agents(session, people["hr"], framework.id,
                                   queries.MatrixFilters(client_id=_ids["acme"]))
    assert [(a.username, a.team) for a in agents] == [("agent.b", "Team B")]
