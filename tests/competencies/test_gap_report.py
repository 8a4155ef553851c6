"""The competency gap report (/skills/gaps) over real HTTP on SQLite: per competency, the agents
required to hold it, those short of the level, the share, the mean gap and who was never
assessed; per team, the share with any gap; the chart and its table; the CSV and XLSX exports
holding the page's numbers; each viewer's scope; and the same answer whatever the block size."""

from __future__ import annotations

import datetime as dt
import io
import re

import factories
import pandas as pd
import pytest
from openpyxl import load_workbook

from competencies.frameworks import services as framework_services
from competencies.profiles import queries, services

TODAY = dt.date.today()

FRAMEWORK = {
    "name": "Gap framework",
    "groups": [
        {"code": "6.3.2", "competencies": [{"code": "6.3.2", "name": "Communication"}]},
        {"code": "6.3.4", "competencies": [{"code": "6.3.4", "name": "Client procedures"}]},
        {"code": "6.3.3", "competencies": [{"code": "7.1", "name": "Complaints"}]},
    ],
}


@pytest.fixture
def world(session, people):
    """Five agents. The role profile asks 6.3.2 at 3 and 6.3.4 at 2 of agent.a, agent.a2,
    agent.b and agent.b2; a queue profile asks 6.3.2 at 4 of agent.b (the higher counts);
    nobody is asked for 7.1; agent.free holds no profile.

    agent.a: 6.3.2 3 (met), 6.3.4 1 (short 1). agent.a2: never assessed (short 3 and 2).
    agent.b: 6.3.2 3 then, later, 2 (short 2 of 4), 6.3.4 2 (met). agent.b2: all met."""
    framework = framework_services.import_framework(session, factories.SYSTEM, FRAMEWORK,
                                                    publish=True).framework
    b2 = factories.create_user(session, "agent.b2", team=people["team_b"])
    free = factories.create_user(session, "agent.free", team=people["team_a"])
    role = services.save_profile(session, factories.SYSTEM, framework_id=framework.id,
                                 kind="role", name="agent",
                                 requirements={"6.3.2": 3, "6.3.4": 2})
    queue = services.save_profile(session, factories.SYSTEM, framework_id=framework.id,
                                  kind="queue", name="escalations", requirements={"6.3.2": 4})
    services.assign_profile(session, factories.SYSTEM, role.id,
                            [people["agent_a"].id, people["agent_a2"].id, people["agent_b"].id,
                             b2.id])
    services.assign_profile(session, factories.SYSTEM, queue.id, [people["agent_b"].id])

    def assess(user, code, level, days_ago):
        services.assess(session, people["hr"], user_id=user.id, framework_id=framework.id,
                        competency_code=code, level=level,
                        assessed_on=TODAY - dt.timedelta(days=days_ago), method="observation")

    assess(people["agent_a"], "6.3.2", 3, 10)
    assess(people["agent_a"], "6.3.4", 1, 10)
    assess(people["agent_b"], "6.3.2", 3, 40)
    assess(people["agent_b"], "6.3.2", 2, 5)  # the latest counts
    assess(people["agent_b"], "6.3.4", 2, 5)
    assess(b2, "6.3.2", 3, 5)
    assess(b2, "6.3.4", 2, 5)
    assess(free, "6.3.2", 1, 5)  # assessed, but nothing is required of them
    session.commit()
    return framework



_rows = factories.table_rows


def test_the_report_counts_each_competency_and_team(session, people, world):
    report = queries.gap_report(session, people["hr"], world.id,
                                [("6.3.2", "Communication"), ("6.3.4", "Client procedures"),
                                 ("7.1", "Complaints")])
    assert report.agents == 5  # agent.free is shown, but holds no requirement
    by_code = {c.code: c for c in report.competencies}
    comms, client, complaints = by_code["6.3.2"], by_code["6.3.4"], by_code["7.1"]
    assert (comms.required, comms.gaps, comms.short_by, comms.not_assessed) == (4, 2, 5, 1)
    assert comms.share == 50 and comms.mean_gap == 2.5
    assert (client.required, client.gaps, client.short_by, client.not_assessed) == (4, 2, 3, 1)
    assert client.share == 50 and client.mean_gap == 1.5
    assert complaints.required == 0 and complaints.share is None
    assert complaints.mean_gap is None
    # equal shares: the larger mean gap first; nobody required: not ranked
    assert [c.code for c in report.by_share()] == ["6.3.2", "6.3.4"]
    assert [(t.team, t.agents, t.with_gap, t.share) for t in report.teams] == [
        ("Team A", 2, 2, 100), ("Team B", 2, 1, 50)]


def test_the_block_size_changes_nothing(session, people, world):
    codes = [("6.3.2", "C"), ("6.3.4", "P"), ("7.1", "X")]
    whole = queries.gap_report(session, people["hr"], world.id, codes)
    for block in (1, 2, 3):
        assert queries.gap_report(session, people["hr"], world.id, codes,
                                  block=block) == whole


def test_the_page_shows_the_chart_and_its_table(client, auth, world):
    auth.login("hr")
    response = client.get("/skills/gaps")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert _rows(page, "gaps") == [
        ["6.3.2 Communication", "4", "2", "50.0%", "2.50", "1"],
        ["6.3.4 Client procedures", "4", "2", "50.0%", "1.50", "1"]]
    assert _rows(page, "team-gaps") == [["Team A", "2", "2", "100.0%"],
                                        ["Team B", "2", "1", "50.0%"]]
    assert 'aria-label="Share of agents below the required level, per competency' in page
    bars = re.findall(r'<rect class="bar"[^>]*><title>([^<]+)</title>', page)
    assert bars == ["6.3.2 Communication: 50%", "6.3.4 Client procedures: 50%",
                    "Team A: 100%", "Team B: 50%"]
    assert 'id="not-required"' in page and "Complaints" in page
    # the matrix links here, with its framework
    matrix = client.get("/skills").get_data(as_text=True)
    assert f'href="/skills/gaps?framework_id={world.id}" id="gaps-link"' in matrix


def test_the_team_filter_and_each_viewers_scope(client, auth, people, world):
    auth.login("hr")
    team_b = client.get(f"/skills/gaps?team_id={people['team_b'].id}").get_data(as_text=True)
    assert _rows(team_b, "gaps") == [
        ["6.3.2 Communication", "2", "1", "50.0%", "2.00", "0"],
        ["6.3.4 Client procedures", "2", "0", "0.0%", "–", "0"]]
    assert _rows(team_b, "team-gaps") == [["Team B", "2", "1", "50.0%"]]
    auth.logout()
    auth.login("lead.a")  # team A only: agent.a and agent.a2
    page = client.get("/skills/gaps").get_data(as_text=True)
    assert _rows(page, "gaps") == [
        ["6.3.4 Client procedures", "2", "2", "100.0%", "1.50", "1"],
        ["6.3.2 Communication", "2", "1", "50.0%", "3.00", "1"]]
    assert _rows(page, "team-gaps") == [["Team A", "2", "2", "100.0%"]]
    # another team asked for by hand: nobody (the scope still applies)
    other = client.get(f"/skills/gaps?team_id={people['team_b'].id}").get_data(as_text=True)
    assert "No agent shown holds a profile" in other and "Agent.B" not in other
    csv_rows = pd.read_csv(io.BytesIO(client.get("/skills/gaps?format=csv").data))
    assert csv_rows["agents required"].tolist() == [2, 2]
    auth.logout()
    auth.login("agent.b")  # themselves only
    page = client.get("/skills/gaps").get_data(as_text=True)
    assert _rows(page, "gaps") == [
        ["6.3.2 Communication", "1", "1", "100.0%", "2.00", "0"],
        ["6.3.4 Client procedures", "1", "0", "0.0%", "–", "0"]]


def test_the_exports_hold_the_pages_numbers(client, auth, people, world):
    auth.login("hr")
    csv_response = client.get("/skills/gaps?format=csv")
    assert csv_response.status_code == 200 and csv_response.mimetype == "text/csv"
    assert f"competency-gaps-{world.id}.csv" in csv_response.headers["Content-Disposition"]
    frame = pd.read_csv(io.BytesIO(csv_response.data), dtype={"code": str})
    assert frame.columns.tolist() == ["code", "competency", "agents required",
                                      "agents with a gap", "share with a gap %",
                                      "mean gap (levels)", "not assessed"]
    assert frame.values.tolist() == [["6.3.2", "Communication", 4, 2, 50.0, 2.5, 1],
                                     ["6.3.4", "Client procedures", 4, 2, 50.0, 1.5, 1]]
    xlsx = client.get("/skills/gaps?format=xlsx&table=competencies")
    assert xlsx.status_code == 200 and xlsx.mimetype.endswith("spreadsheetml.sheet")
    sheet = load_workbook(io.BytesIO(xlsx.data)).active
    rows = [[c.value for c in row] for row in sheet.iter_rows()]
    assert rows[1:] == [["6.3.2", "Communication", 4, 2, 50, 2.5, 1],
                        ["6.3.4", "Client procedures", 4, 2, 50, 1.5, 1]]
    teams = pd.read_excel(io.BytesIO(client.get("/skills/gaps?format=xlsx&table=teams").data))
    assert teams.values.tolist() == [["Team A", 2, 2, 100], ["Team B", 2, 1, 50]]
    teams_csv = pd.read_csv(io.BytesIO(client.get("/skills/gaps?format=csv&table=teams").data))
    assert teams_csv.values.tolist() == teams.values.tolist()
    # the filter travels with the export
    only_b = pd.read_csv(io.BytesIO(client.get(
        f"/skills/gaps?format=csv&table=teams&framework_id={world.id}&team_id="
        f"{people['team_b'].id}").data))
    assert only_b.values.tolist() == [["Team B", 2, 1, 50.0]]
    assert client.get("/skills/gaps?format=pdf").status_code == 400
    assert client.get("/skills/gaps?format=csv&table=agents").status_code == 400


def test_without_a_framework_and_with_an_unknown_one(client, auth, people):
    auth.login("hr")
    page = client.get("/skills/gaps")
    assert page.status_code == 200
    assert "No published competency framework yet." in page.get_data(as_text=True)
    empty = client.get("/skills/gaps?format=csv")  # the table's header, no rows
    assert empty.status_code == 200
    assert empty.get_data(as_text=True).splitlines() == [
        "code,competency,agents required,agents with a gap,share with a gap %,"
        "mean gap (levels),not assessed"]
    assert client.get("/skills/gaps?framework_id=999").status_code == 404
    assert client.get("/skills/gaps?framework_id=x").status_code == 400


def test_nobody_required_anything(client, auth, session, people):
    framework_services.import_framework(session, factories.SYSTEM, FRAMEWORK, publish=True)
    session.commit()
    auth.login("hr")
    page = client.get("/skills/gaps").get_data(as_text=True)
    assert "No agent shown holds a profile" in page and "No team to show." in page
    frame = pd.read_csv(io.BytesIO(client.get("/skills/gaps?format=csv").data))
    assert frame.empty and "share with a gap %" in frame.columns


def test_the_reports_home_lists_the_report(client, auth, people, world):
    auth.login("hr")
    home = client.get("/reports").get_data(as_text=True)
    assert 'href="/skills/gaps" id="report-gaps"' in home
    auth.logout()
    auth.login("agent.a")
    assert 'id="report-gaps"' not in client.get("/reports").get_data(as_text=True)
