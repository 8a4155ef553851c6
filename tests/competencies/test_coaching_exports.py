"""The coaching log as evidence and whether coaching worked, over real HTTP on SQLite: the log's
XLSX (the CSV's rows and columns, typed, its notes never formulas) and its printable version,
both filtered and scoped as the page is; /coaching/effectiveness?days=; and the batched
effectiveness, which must give exactly what one session at a time gives, in a number of
queries that does not grow with the sessions."""

from __future__ import annotations

import csv
import datetime as dt
import io
import random
import re
from urllib.parse import parse_qs, urlsplit

import factories
import pytest
from sqlalchemy import event

from competencies.coaching import effect, queries, services

TODAY = dt.date.today()


def _xlsx(response):
    from openpyxl import load_workbook

    assert response.status_code == 200, response.status_code
    assert response.mimetype == ("application/vnd.openxmlformats-officedocument."
                                 "spreadsheetml.sheet")
    sheet = load_workbook(io.BytesIO(response.data)).active
    header, *rows = sheet.iter_rows()
    return [c.value for c in header], rows


@pytest.fixture
def logged(session, people):
    """Three sessions: agent.a's held one (notes that look like a formula and like HTML, two
    action items, acknowledged with a comment), agent.a2's scheduled one (by lead.a), agent.b's
    (by lead.b)."""
    held = services.open_session(session, people["lead_a"], people["agent_a"].id, {
        "kind": "side_by_side", "planned_on": TODAY - dt.timedelta(days=20),
        "focus_questions": ["greet"], "focus_competencies": ["6.3.2"],
        "notes": "=HYPERLINK(\"http://x\")\n<b>tone</b>"})
    services.hold(session, people["lead_a"], held.id, held_on=TODAY - dt.timedelta(days=19),
                  today=TODAY)
    services.add_action(session, people["lead_a"], held.id, text="Listen before answering",
                        owner_id=people["agent_a"].id, due_on=TODAY - dt.timedelta(days=5))
    done = services.add_action(session, people["lead_a"], held.id, text="Shadow a senior",
                               owner_id=people["lead_a"].id, due_on=TODAY)
    services.complete_action(session, people["lead_a"], done.id)
    services.acknowledge(session, people["agent_a"], held.id, "Agreed, <i>mostly</i>.")
    held.agent_acknowledged_at = dt.datetime(2026, 1, 15, 12, 30, tzinfo=dt.UTC)
    planned = services.open_session(session, people["lead_a"], people["agent_a2"].id, {
        "kind": "group", "planned_on": TODAY})
    other = services.open_session(session, people["lead_b"], people["agent_b"].id, {
        "kind": "one_to_one", "planned_on": TODAY, "notes": "Team B only"})
    session.commit()
    return {"held": held, "planned": planned, "other": other}


# --- XLSX ---------------------------------------------------------------------------------------


def test_the_xlsx_has_the_csvs_rows_and_columns_typed(client, auth, session, people, logged):
    people["lead_a"].timezone = "Europe/Paris"
    session.commit()
    auth.login("lead.a")
    header, rows = _xlsx(client.get("/coaching/log.xlsx"))
    csv_rows = list(csv.DictReader(io.StringIO(client.get("/coaching/log.csv").get_data(
        as_text=True))))
    assert header == ["session", "agent", "agent_name", "coach", "planned_on", "held_on",
                      "status", "kind", "source", "focus_questions", "focus_competencies",
                      "actions", "actions_open", "acknowledged_at (Europe/Paris)", "notes"]
    assert [r[0].value for r in rows] == [int(r["session"]) for r in csv_rows]
    assert {r[0].value for r in rows} == {logged["held"].id, logged["planned"].id}  # scope
    by_id = {r[0].value: dict(zip(header, r, strict=True)) for r in rows}
    for expected in csv_rows:
        got = by_id[int(expected["session"])]
        for name in ("agent", "status", "kind", "source", "focus_questions",
                     "focus_competencies"):
            assert (got[name].value or "") == expected[name], name
        for name in ("actions", "actions_open"):
            assert got[name].value == int(expected[name]), name
        assert got["planned_on"].is_date and got["planned_on"].value.date().isoformat() == \
            expected["planned_on"]
        held_on = got["held_on"].value
        assert (held_on.date().isoformat() if held_on else "") == expected["held_on"]
    held = by_id[logged["held"].id]
    assert (held["agent_name"].value, held["coach"].value) == (
        people["agent_a"].display_name, people["lead_a"].display_name)
    assert (held["actions"].value, held["actions_open"].value) == (2, 1)
    # 12:30 UTC in January is 13:30 in Paris: the viewer's zone, named in the header
    assert held["acknowledged_at (Europe/Paris)"].value == dt.datetime(2026, 1, 15, 13, 30)
    # the notes are the characters typed, a text cell, never a formula
    assert held["notes"].value == "=HYPERLINK(\"http://x\")\n<b>tone</b>"
    assert held["notes"].data_type == "s"
    assert by_id[logged["planned"].id]["held_on"].value is None


def test_the_exports_and_the_print_keep_the_pages_filters_and_scope(client, auth, people,
                                                                     logged):
    auth.login("lead.a")
    agent_a = people["agent_a"].id
    _header, rows = _xlsx(client.get(f"/coaching/log.xlsx?agent_id={agent_a}"))
    assert [r[0].value for r in rows] == [logged["held"].id]
    _header, rows = _xlsx(client.get("/coaching/log.xlsx?status=scheduled"))
    assert [r[0].value for r in rows] == [logged["planned"].id]
    assert client.get("/coaching/log.xlsx?status=lost").status_code == 400
    assert client.get("/coaching/log.xlsx?agent_id=x").status_code == 400
    assert client.get("/coaching?print=1&team_id=x").status_code == 400
    # the page links its exports and its print with its own filters, and nothing else
    page = client.get(f"/coaching?agent_id={agent_a}&status=held&junk=1").get_data(
        as_text=True)
    links = {urlsplit(href).path + ("?print" if "print=" in href else ""):
             parse_qs(urlsplit(href).query)
             for href in re.findall(r'href="([^"]+)"', page.replace("&amp;", "&"))
             if "log." in href or "print=" in href}
    expected = {"agent_id": [str(agent_a)], "status": ["held"]}
    assert links == {"/coaching/log.csv": expected, "/coaching/log.xlsx": expected,
                     "/coaching?print": {**expected, "print": ["1"]}}
    auth.logout()
    auth.login("lead.b")  # another team: only their own session
    _header, rows = _xlsx(client.get("/coaching/log.xlsx"))
    assert [r[0].value for r in rows] == [logged["other"].id]
    printed = client.get("/coaching?print=1").get_data(as_text=True)
    assert "Team B only" in printed and "Listen before answering" not in printed
    auth.logout()
    auth.login("qa")  # scores evaluations, reads no coaching log
    for url in ("/coaching/log.xlsx", "/coaching?print=1"):
        assert client.get(url).status_code == 403, url
    auth.logout()
    assert client.get("/coaching/log.xlsx").status_code in (302, 401)  # not logged in


def test_the_printable_log_holds_each_session_whole(client, auth, people, logged):
    auth.login("lead.a")
    response = client.get(f"/coaching?print=1&agent_id={people['agent_a'].id}")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "navbar" not in html and "<script" not in html  # a document, not a page
    meta = html[html.index('id="log-meta"'):html.index("</dl>")]
    agent = people["agent_a"]
    assert f">1: agent {agent.display_name} ({agent.username})<" in meta  # count, filter
    assert f"by {people['lead_a'].display_name}" in meta and 'id="log-legend"' in meta
    section = html[html.index(f'id="session-{logged["held"].id}"'):]
    for text in ("side by side", "greet, 6.3.2", people["lead_a"].display_name,
                 "Listen before answering", "Shadow a senior", (TODAY - dt.timedelta(
                     days=5)).isoformat(), "overdue", "done ", "Acknowledged",
                 "Agreed, &lt;i&gt;mostly&lt;/i&gt;."):
        assert text in section, text
    # the notes: escaped, their line break kept without an inline style (the CSP refuses one)
    assert "=HYPERLINK(&#34;http://x&#34;)<br>&lt;b&gt;tone&lt;/b&gt;" in section
    assert "<b>tone</b>" not in html and "style=" not in html
    assert f'id="session-{logged["planned"].id}"' not in html  # agent.a2's: filtered out
    everything = client.get("/coaching?print=1").get_data(as_text=True)
    assert f'id="session-{logged["planned"].id}"' in everything
    assert "every session you may see" in everything
    assert "No acknowledgement: the session is scheduled." in everything


# --- the effectiveness window -------------------------------------------------------------------


TAGGED = {"name": "Tagged form", "sections": [{"key": "s", "title": "Basics", "weight": 1,
          "questions": [
              {"key": "greet", "text": "Greets", "type": "yes_no", "points": 1,
               "competencies": ["6.3.2"]},
              {"key": "close", "text": "Closes", "type": "yes_no", "points": 1},
              {"key": "listen", "text": "Listens", "type": "yes_no", "points": 2,
               "competencies": ["6.3.2", "7.1"]}]}]}
# the same keys tagged otherwise: which questions a focus covers depends on the form version
OTHER = {"name": "Other form", "sections": [{"key": "s", "title": "Basics", "weight": 1,
         "questions": [
             {"key": "greet", "text": "Greets", "type": "yes_no", "points": 1},
             {"key": "close", "text": "Closes", "type": "yes_no", "points": 3,
              "competencies": ["6.3.2"]}]}]}


def _evaluate(session, qa, agent, version, when, answers, *, targeted=False):
    from scoring.evaluations import services as ev

    interaction = factories.create_interaction(session, agent)
    evaluation = ev.start_evaluation(session, qa, interaction, form_id=version.form_id)
    ev.submit(session, qa, evaluation.id, answers)
    evaluation.submitted_at = when
    evaluation.targeted = targeted
    return evaluation


def _history(session, people, agent, forms, start, days, seed, better_from):
    """An evaluation every other day for ``days`` days from ``start``, on the two forms in
    turn, answers drawn at random (more "yes" from ``better_from`` on), at hours that include
    the first and the last instant of a day, so windows' edges are met; made in a shuffled
    order, so that ids do not follow the days."""
    rng = random.Random(seed)
    order = list(range(0, days, 2))
    rng.shuffle(order)
    for i in order:
        day = start + dt.timedelta(days=i)
        version = forms[(i // 2) % 2]
        keys = [q["key"] for s in version.definition["sections"] for q in s["questions"]]
        p = 0.8 if day >= better_from else 0.35
        at = dt.time(0, 0) if i % 6 == 0 else dt.time(23, 59, 59) if i % 6 == 2 else \
            dt.time(rng.randrange(24), rng.randrange(60))
        _evaluate(session, people["qa"], agent, version, dt.datetime.combine(
            day, at, tzinfo=dt.UTC), {k: "yes" if rng.random() < p else "no" for k in keys})


def _held(session, lead, agent, held_on, **fields):
    item = services.open_session(session, lead, agent.id, {
        "kind": "one_to_one", "planned_on": held_on, **fields})
    services.hold(session, lead, item.id, held_on=held_on, today=TODAY)
    return item


@pytest.fixture
def coached(session, people):
    """Sessions of three agents by two leads with overlapping windows, each focus kind (a
    question, a competency, both, none), one with no evaluation near it, one scheduled and one
    cancelled; evaluations on two forms that tag the same questions differently, and a
    targeted one (left out)."""
    forms = [factories.create_form(session, TAGGED), factories.create_form(session, OTHER)]
    start = TODAY - dt.timedelta(days=200)
    for n, (agent, better) in enumerate((("agent_a", 60), ("agent_a2", 45), ("agent_b", 70))):
        _history(session, people, people[agent], forms, start, 110, seed=n,
                 better_from=start + dt.timedelta(days=better))
    _evaluate(session, people["qa"], people["agent_a"], forms[0], dt.datetime.combine(
        start + dt.timedelta(days=61), dt.time(9), tzinfo=dt.UTC),
        {"greet": "no", "close": "no", "listen": "no"}, targeted=True)
    lead_a, lead_b = people["lead_a"], people["lead_b"]
    day = lambda n: start + dt.timedelta(days=n)  # noqa: E731 - reads as a table
    items = [
        _held(session, lead_a, people["agent_a"], day(58), focus_competencies=["6.3.2"]),
        _held(session, lead_a, people["agent_a"], day(66), focus_questions=["close"]),
        _held(session, lead_a, people["agent_a"], day(80)),
        _held(session, lead_a, people["agent_a2"], day(44), focus_questions=["close"],
              focus_competencies=["7.1"]),
        _held(session, lead_a, people["agent_a2"], day(46), focus_questions=["greet"]),
        _held(session, lead_b, people["agent_b"], day(69), focus_competencies=["6.3.2"]),
        _held(session, lead_b, people["agent_b"], day(180), focus_questions=["greet"]),
    ]
    scheduled = services.open_session(session, lead_a, people["agent_a2"].id, {
        "kind": "group", "planned_on": TODAY})
    cancelled = services.open_session(session, lead_b, people["agent_b"].id, {
        "kind": "group", "planned_on": TODAY})
    services.cancel(session, lead_b, cancelled.id)
    session.commit()
    return items + [scheduled, cancelled]


@pytest.mark.parametrize("days", [5, 12, 30, 90])
def test_the_batch_gives_what_one_session_at_a_time_gives(session, people, coached, days):
    one_by_one = [queries.session_effect(session, item, days=days) for item in coached]
    batched = queries.session_effects(session, coached, days=days)
    assert batched == one_by_one  # frozen dataclasses: every count, mean and bound exactly
    assert batched[-2:] == [None, None]  # scheduled, cancelled
    assert all(found is not None for found in batched[:-2])
    verdicts = {found.verdict for found in batched[:-2]}
    assert len(verdicts) >= 2, verdicts  # the sessions do differ
    assert sum(found.n_before + found.n_after for found in batched[:-2]) > 0
    # the report rests on the batch: the same sessions, the same effects
    report = queries.effectiveness(session, people["hr"], days=days)
    assert {item.id: found for item, found in report.sessions} == {
        item.id: found for item, found in zip(coached, one_by_one, strict=True)
        if found is not None}


def test_the_batch_follows_each_sessions_focus_and_window(session, people, coached):
    first, second = coached[0], coached[1]  # agent.a, 8 days apart: windows overlap
    wide = queries.session_effects(session, [first, second], days=30)
    assert wide[0].n_before + wide[0].n_after > wide[1].n_before  # different windows
    narrow = queries.session_effects(session, [first], days=5)[0]
    assert narrow.n_before + narrow.n_after < wide[0].n_before + wide[0].n_after
    assert queries.session_effects(session, [], days=30) == []
    assert queries.session_effects(session, coached[-2:]) == [None, None]


def _statements(session, run):
    """How many SQL statements ``run()`` sends, every object read afresh."""
    session.expire_all()
    seen = []

    def count(_conn, _cursor, statement, *_args):
        seen.append(statement)

    engine = session.get_bind()
    event.listen(engine, "before_cursor_execute", count)
    try:
        run()
    finally:
        event.remove(engine, "before_cursor_execute", count)
    return len(seen)


def test_the_report_needs_the_same_queries_for_many_sessions(session, people):
    forms = [factories.create_form(session, TAGGED), factories.create_form(session, OTHER)]
    start = TODAY - dt.timedelta(days=120)
    _history(session, people, people["agent_a"], forms, start, 60, seed=1,
             better_from=start + dt.timedelta(days=30))
    _held(session, people["lead_a"], people["agent_a"], start + dt.timedelta(days=30),
          focus_competencies=["6.3.2"])
    session.commit()
    hr = people["hr"]

    def report():
        return queries.effectiveness(session, hr, days=30)

    def one_by_one():
        for item in queries.log(session, hr, status="held"):
            queries.session_effect(session, item, days=30)

    few, few_slow = _statements(session, report), _statements(session, one_by_one)
    assert len(report().sessions) == 1
    # more sessions, more agents (one of another team), another coach, more evaluations
    more = [factories.create_user(session, f"agent.x{i}", team=people["team_a"])
            for i in range(3)] + [people["agent_b"]]
    for n, agent in enumerate(more):
        _history(session, people, agent, forms, start, 60, seed=10 + n,
                 better_from=start + dt.timedelta(days=20))
        lead = people["lead_b"] if agent is people["agent_b"] else people["lead_a"]
        for offset in (20, 26, 40):
            _held(session, lead, agent, start + dt.timedelta(days=offset),
                  focus_questions=["greet"] if offset == 26 else [])
    session.commit()
    many, many_slow = _statements(session, report), _statements(session, one_by_one)
    assert len(report().sessions) == 13
    assert many == few, (few, many)
    assert many_slow > few_slow  # the counter does see a query per session


# --- /coaching/effectiveness?days= --------------------------------------------------------------


def test_the_window_is_chosen_on_the_page_and_in_the_api(client, auth, session, people,
                                                          coached):
    from qm.auth import tokens

    auth.login("lead.a")
    default = client.get("/coaching/effectiveness").get_data(as_text=True)
    assert re.search(rf'id="window">{effect.WINDOW_DAYS} days<', default)
    page = client.get("/coaching/effectiveness?days=12").get_data(as_text=True)
    assert re.search(r'id="window">12 days<', page) and 'name="days"' in page
    assert 'value="12"' in page
    expected = queries.effectiveness(session, people["lead_a"], days=12)
    assert expected.sessions != queries.effectiveness(session, people["lead_a"]).sessions
    for item, found in expected.sessions:  # the page shows the 12-day counts
        row = page[page.index(f'/coaching/{item.id}"'):]
        row = row[:row.index("</tr>")]
        cells = re.findall(r"<td[^>]*>(.*?)</td>", row)
        assert str(found.n_before) in cells and str(found.n_after) in cells
    for bad in ("0", "366", "-3", "x", "1.5"):
        response = client.get(f"/coaching/effectiveness?days={bad}")
        assert response.status_code == 400, bad
        assert "days" in response.get_data(as_text=True)
    assert client.get("/coaching/effectiveness?days=365").status_code == 200
    _t, plaintext = tokens.create_token(session, factories.SYSTEM, people["lead_a"].id,
                                        name="t")
    session.commit()
    headers = {"Authorization": f"Bearer {plaintext}"}
    api = client.get("/api/v1/coaching/effectiveness?days=12", headers=headers).json
    assert api["days"] == 12
    assert [(s["session_id"], s["n_before"], s["n_after"], s["verdict"])
            for s in api["sessions"]] == [(item.id, f.n_before, f.n_after, f.verdict)
                                          for item, f in expected.sessions]
    assert client.get("/api/v1/coaching/effectiveness", headers=headers).json["days"] == \
        effect.WINDOW_DAYS
    assert client.get("/api/v1/coaching/effectiveness?days=366",
                      headers=headers).status_code == 422
