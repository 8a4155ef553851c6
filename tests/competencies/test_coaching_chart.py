"""The coaching effectiveness page's charts and exports over real HTTP on SQLite: the share of
judged sessions followed by improvement per coach and per team, drawn as bars only where there
are enough sessions for a share, each beside its table; the sessions, coaches and teams tables
as CSV and XLSX with the page's numbers; the window and each viewer's scope."""

from __future__ import annotations

import datetime as dt
import io
import re

import factories
import pandas as pd
import pytest
from openpyxl import load_workbook

from competencies.coaching import services

TODAY = dt.date.today()
FORM = {"name": "One question", "sections": [{"key": "s", "title": "Basics", "weight": 1,
        "questions": [{"key": "greet", "text": "Greets", "type": "yes_no", "points": 1}]}]}

# the answers before and after a session, 2, 3 and 4 days away: "yes" scores 100, "no" 0
IMPROVED = (["no"] * 3, ["yes"] * 3)
WORSE = (["yes"] * 3, ["no"] * 3)
UNCLEAR = (["no", "yes", "yes"], ["yes", "no", "yes"])  # 66.7 both sides


def _scored(session, people, agent, on, answer):
    from scoring.evaluations import services as ev

    evaluation = ev.start_evaluation(session, people["qa"],
                                     factories.create_interaction(session, agent))
    ev.submit(session, people["qa"], evaluation.id, {"greet": answer})
    evaluation.submitted_at = dt.datetime.combine(on, dt.time(12), tzinfo=dt.UTC)


@pytest.fixture
def coached(session, people):
    """lead.a: six sessions of team A (four improved, one worse, one no clear change): 4 of 6
    judged, 67%. lead.b: two improved sessions of team B and one with no evaluation near it
    (not judged): too few for a share. Sessions 70 days apart, so no window holds another's
    evaluations."""
    factories.create_form(session, FORM)
    plan = [("lead_a", "agent_a", IMPROVED), ("lead_a", "agent_a", IMPROVED),
            ("lead_a", "agent_a", WORSE), ("lead_a", "agent_a", IMPROVED),
            ("lead_a", "agent_a2", IMPROVED), ("lead_a", "agent_a2", UNCLEAR),
            ("lead_b", "agent_b", IMPROVED), ("lead_b", "agent_b", IMPROVED),
            ("lead_b", "agent_b", None)]
    start = TODAY - dt.timedelta(days=70 * len(plan) + 10)
    for n, (lead, agent, answers) in enumerate(plan):
        held_on = start + dt.timedelta(days=70 * n)
        item = services.open_session(session, people[lead], people[agent].id, {
            "kind": "one_to_one", "planned_on": held_on})
        services.hold(session, people[lead], item.id, held_on=held_on, today=TODAY)
        if answers is None:
            continue
        before, after = answers
        for offset, (b, a) in enumerate(zip(before, after, strict=True), start=2):
            _scored(session, people, people[agent], held_on - dt.timedelta(days=offset), b)
            _scored(session, people, people[agent], held_on + dt.timedelta(days=offset), a)
    session.commit()


def _bars(page):
    return re.findall(r'<rect class="bar"[^>]*><title>([^<]+)</title>', page)



_rows = factories.table_rows


def test_bars_per_coach_and_team_beside_their_tables(client, auth, coached):
    auth.login("hr")
    response = client.get("/coaching/effectiveness")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert _bars(page) == ["Lead.A: 67%", "Team A: 67%"]  # lead.b, team B: too few sessions
    assert 'aria-label="Share of judged sessions followed by improvement, per coach"' in page
    assert 'aria-label="Share of judged sessions followed by improvement, per team"' in page
    coaches = _rows(page, "by-coach")
    assert [row[:4] for row in coaches] == [["Lead.A", "6", "4", "67%"],
                                            ["Lead.B", "2", "2", coaches[1][3]]]
    assert "at least 5 are needed" in coaches[1][3]
    assert [row[:3] for row in _rows(page, "by-team")] == [["Team A", "6", "4"],
                                                           ["Team B", "2", "2"]]
    assert len(_rows(page, "sessions")) == 9
    for table in ("coaches", "teams", "sessions"):
        assert f"table={table}" in page  # its export buttons


def test_the_exports_hold_the_pages_numbers(client, auth, coached):
    auth.login("hr")
    coaches = pd.read_csv(io.BytesIO(
        client.get("/coaching/effectiveness?format=csv&table=coaches").data))
    assert coaches.columns.tolist() == ["coach", "judged sessions", "improved",
                                        "share improved %", "not judged", "note"]
    assert coaches.iloc[0, :5].tolist() == ["Lead.A", 6, 4, 67.0, 0]
    assert coaches.iloc[1, :3].tolist() == ["Lead.B", 2, 2]
    assert pd.isna(coaches.iloc[1, 3]) and coaches.iloc[1, 4] == 1
    assert "at least 5 are needed" in coaches.iloc[1, 5]
    xlsx = client.get("/coaching/effectiveness?format=xlsx&table=coaches")
    assert xlsx.status_code == 200 and xlsx.mimetype.endswith("spreadsheetml.sheet")
    sheet = load_workbook(io.BytesIO(xlsx.data)).active
    rows = [[c.value for c in row] for row in sheet.iter_rows()]
    assert rows[1][:5] == ["Lead.A", 6, 4, 67, 0] and rows[2][3] is None
    teams = pd.read_excel(io.BytesIO(
        client.get("/coaching/effectiveness?format=xlsx&table=teams").data))
    assert teams.iloc[:, :3].values.tolist() == [["Team A", 6, 4], ["Team B", 2, 2]]
    sessions = pd.read_csv(io.BytesIO(client.get("/coaching/effectiveness?format=csv").data))
    assert len(sessions) == 9
    assert sessions["verdict"].value_counts().to_dict() == {
        "improved": 6, "worse": 1, "no clear change": 1, "no evaluations": 1}
    worse = sessions[sessions["verdict"] == "worse"].iloc[0]
    assert (worse["agent"], worse["coach"], worse["n before"], worse["mean before"],
            worse["n after"], worse["mean after"], worse["change"]) == (
        "agent.a", "Lead.A", 3, 100.0, 3, 0.0, -100.0)
    sessions_xlsx = pd.read_excel(io.BytesIO(
        client.get("/coaching/effectiveness?format=xlsx&table=sessions").data))
    assert sessions_xlsx["verdict"].tolist() == sessions["verdict"].tolist()
    assert client.get("/coaching/effectiveness?format=csv&table=agents").status_code == 400
    assert client.get("/coaching/effectiveness?format=doc").status_code == 400


def test_the_window_and_each_viewers_scope(client, auth, coached):
    auth.login("hr")
    narrow = client.get("/coaching/effectiveness?days=1").get_data(as_text=True)
    assert _bars(narrow) == []  # no evaluation within a day of any session: nothing judged
    assert 'id="by-coach-no-chart"' in narrow
    auth.logout()
    auth.login("lead.b")
    page = client.get("/coaching/effectiveness").get_data(as_text=True)
    assert _bars(page) == [] and "No coach has 5 judged sessions yet" in page
    assert [row[0] for row in _rows(page, "by-coach")] == ["Lead.B"]
    frame = pd.read_csv(io.BytesIO(client.get("/coaching/effectiveness?format=csv").data))
    assert set(frame["agent"]) == {"agent.b"} and len(frame) == 3
    auth.logout()
    auth.login("lead.a")
    page = client.get("/coaching/effectiveness").get_data(as_text=True)
    assert _bars(page) == ["Lead.A: 67%", "Team A: 67%"]
    auth.logout()
    auth.login("agent.a2")  # their own two sessions
    frame = pd.read_csv(io.BytesIO(client.get("/coaching/effectiveness?format=csv").data))
    assert set(frame["agent"]) == {"agent.a2"} and len(frame) == 2


def test_nothing_held_yet(client, auth, people):
    auth.login("hr")
    page = client.get("/coaching/effectiveness").get_data(as_text=True)
    assert "No held session yet." in page and _bars(page) == []
    frame = pd.read_csv(io.BytesIO(client.get("/coaching/effectiveness?format=csv").data))
    assert frame.empty and "verdict" in frame.columns
