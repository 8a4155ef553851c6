"""The coaching pages and /api/v1/coaching over real HTTP: a lead plans a session from an
evaluation, holds it, agrees action items; the agent acknowledges and closes theirs; stale
saves and double submits; who sees what; the log's CSV; the home cards."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re

import factories
import pytest
from sqlalchemy import func, select

from competencies.coaching import queries, services
from competencies.coaching.models import ActionItem, CoachingSession
from qm.auth import tokens


def _today():
    return dt.date.today()


@pytest.fixture
def planned(session, people):
    item = services.open_session(session, people["lead_a"], people["agent_a"].id, {
        "kind": "one_to_one", "planned_on": _today(), "focus_competencies": ["6.3.2"],
        "notes": "=HYPERLINK(\"x\") <b>tone</b>"})
    session.commit()
    return item


def _token(client, page):
    html = client.get(page).get_data(as_text=True)
    return re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html).group(1)


def test_a_lead_plans_from_an_evaluation_holds_and_agrees_actions(client, auth, session,
                                                                    people):
    factories.create_form(session)
    evaluation = factories.create_dispute(session, people["qa"], factories.create_interaction(
        session, people["agent_a"])).evaluation
    session.commit()
    auth.login("lead.a")
    page = client.get(f"/coaching/new?agent_id={people['agent_a'].id}"
                      f"&evaluation_id={evaluation.id}").get_data(as_text=True)
    assert f"From evaluation {evaluation.id}" in page
    assert "agent.b" not in page  # not in lead.a's teams
    made = client.post_form("/coaching/new", {
        "agent_id": people["agent_a"].id, "kind": "side_by_side",
        "planned_on": _today().isoformat(), "focus_questions": "greet, verify",
        "focus_competencies": "6.3.2", "notes": "Verify first.", "source": "evaluation",
        "evaluation_ids": str(evaluation.id)}, page="/coaching/new")
    assert made.status_code == 302
    item = session.scalars(select(CoachingSession)).one()
    assert (item.source, item.evaluation_ids, item.focus_questions) == (
        "evaluation", [evaluation.id], ["greet", "verify"])
    url = f"/coaching/{item.id}"
    held = client.post_form(f"{url}/held", {"held_on": _today().isoformat(),
                                            "version": str(item.version)}, page=url)
    assert held.status_code == 302
    refused = client.post_form(f"{url}/actions", {
        "text": "Verify before any change", "owner_id": people["agent_a"].id,
        "due_on": (_today() - dt.timedelta(days=1)).isoformat()}, page=url)
    assert refused.status_code == 400
    body = refused.get_data(as_text=True)
    assert "cannot be due before its session" in body and "Verify before any change" in body
    agreed = client.post_form(f"{url}/actions", {
        "text": "Verify before any change", "owner_id": people["agent_a"].id,
        "due_on": (_today() + dt.timedelta(days=7)).isoformat()}, page=url)
    assert agreed.status_code == 302
    assert session.scalar(select(func.count(ActionItem.id))) == 1
    auth.logout()
    # the agent reads it, acknowledges with a comment, closes their action
    auth.login("agent.a")
    html = client.get(url).get_data(as_text=True)
    assert "Verify before any change" in html and "Record as held" not in html
    assert client.post_form(f"{url}/acknowledge", {"comment": "Agreed."},
                            page=url).status_code == 302
    action = session.scalars(select(ActionItem)).one()
    assert client.post_form(f"{url}/actions/{action.id}/done", {}, page=url).status_code == 302
    session.expire_all()
    assert item.agent_comment == "Agreed." and action.done_at is not None


def test_a_stale_edit_answers_409_and_keeps_the_input(client, auth, session, people, planned):
    auth.login("lead.a")
    url = f"/coaching/{planned.id}/edit"
    token = _token(client, url)
    form = {"csrf_token": token, "kind": "one_to_one", "planned_on": _today().isoformat(),
            "focus_questions": "", "focus_competencies": "6.3.2"}
    first = client.post(url, data={**form, "notes": "First.", "version": str(planned.version)})
    assert first.status_code == 302
    stale = client.post(url, data={**form, "notes": "Second, from an old page.",
                                   "version": str(planned.version)})
    assert stale.status_code == 409
    assert "Second, from an old page." in stale.get_data(as_text=True)
    session.expire_all()
    assert planned.notes == "First."


def test_who_sees_and_changes_a_session(client, auth, session, people, planned):
    url = f"/coaching/{planned.id}"
    for username, status in (("lead.a", 200), ("agent.a", 200), ("hr", 200), ("auditor", 200),
                             ("lead.b", 404), ("agent.a2", 404), ("qa", 403)):
        auth.login(username)
        assert client.get(url).status_code == status, username
        auth.logout()
    auth.login("hr")  # HR reads coaching logs, does not coach
    assert client.get("/coaching/new").status_code == 403
    assert client.post(f"{url}/cancel", data={"csrf_token": _token(client, "/coaching")}
                       ).status_code == 403
    auth.logout()
    auth.login("lead.a")
    html = client.get(url).get_data(as_text=True)
    assert "&lt;b&gt;tone&lt;/b&gt;" in html  # notes are text, never HTML
    assert client.post(f"{url}/cancel").status_code == 400  # no CSRF token: refused
    session.expire_all()
    assert planned.status == "scheduled"


def test_the_log_its_csv_and_the_home_cards(client, auth, session, people, planned):
    services.add_action(session, people["lead_a"], planned.id, text="Listen first",
                        owner_id=people["agent_a"].id, due_on=_today())
    late = services.open_session(session, people["lead_a"], people["agent_a2"].id, {
        "kind": "group", "planned_on": _today() - dt.timedelta(days=10)})
    services.add_action(session, people["lead_a"], late.id, text="Shadow a senior",
                        owner_id=people["lead_a"].id,
                        due_on=_today() - dt.timedelta(days=2))
    session.commit()
    auth.login("lead.a")
    log = client.get("/coaching").get_data(as_text=True)
    assert "Listen first" in log and "Shadow a senior" in log and "overdue" in log
    rows = list(csv.DictReader(io.StringIO(client.get("/coaching/log.csv").get_data(
        as_text=True))))
    assert {r["agent"] for r in rows} == {"agent.a", "agent.a2"}
    assert next(r for r in rows if r["agent"] == "agent.a")["notes"].startswith("'=")
    filtered = client.get(f"/coaching?agent_id={people['agent_a'].id}").get_data(as_text=True)
    assert "Shadow a senior" in filtered  # open actions stay listed; the sessions narrow
    assert client.get("/coaching?status=lost").status_code == 400
    home = client.get("/").get_data(as_text=True)
    assert "Coaching actions overdue" in home and "Shadow a senior" in home
    auth.logout()
    auth.login("agent.a")
    mine = client.get("/coaching").get_data(as_text=True)
    assert "Listen first" in mine and "Shadow a senior" not in mine


def test_coaching_through_the_api(client, session, people, planned):
    def headers(who):
        _t, plaintext = tokens.create_token(session, factories.SYSTEM, people[who].id,
                                            name="t")
        session.commit()
        return {"Authorization": f"Bearer {plaintext}"}

    lead, agent = headers("lead_a"), headers("agent_a")
    outside = client.post("/api/v1/coaching/sessions", headers=lead, json={
        "agent_id": people["agent_b"].id, "kind": "one_to_one",
        "planned_on": _today().isoformat()})
    assert outside.status_code == 400 and "in the teams you coach" in outside.json["message"]
    url = f"/api/v1/coaching/sessions/{planned.id}"
    stale = client.patch(url, headers=lead, json={"notes": "x", "version": planned.version + 5})
    assert stale.status_code == 409
    held = client.post(f"{url}/held", headers=lead, json={"held_on": _today().isoformat()})
    assert held.json["status"] == "held"
    action = client.post(f"{url}/actions", headers=lead, json={
        "text": "Listen first", "owner_id": people["agent_a"].id,
        "due_on": _today().isoformat()})
    assert action.status_code == 201
    assert client.post(f"{url}/actions", headers=lead, json={
        "text": "No owner", "due_on": _today().isoformat()}).status_code == 422
    assert client.post(f"{url}/acknowledge", headers=agent,
                       json={"comment": "Thanks"}).json["agent_comment"] == "Thanks"
    assert client.post(f"{url}/acknowledge", headers=lead, json={}).status_code == 409
    assert [a["text"] for a in client.get("/api/v1/coaching/actions", headers=agent).json] == [
        "Listen first"]
    done = client.post(f"/api/v1/coaching/actions/{action.json['id']}/done", headers=agent,
                       json={})
    assert done.json["done_at"] is not None
    assert client.get("/api/v1/coaching/sessions", headers=headers("agent_a2")).json == []
    assert client.get(url, headers=headers("lead_b")).status_code == 404


# --- whether coaching worked ------------------------------------------------------------------

TAGGED_FORM = {"name": "Tagged form", "sections": [{"key": "s", "title": "Basics", "weight": 1,
               "questions": [
                   {"key": "greet", "text": "Greets", "type": "yes_no", "points": 1,
                    "competencies": ["6.3.2"]},
                   {"key": "close", "text": "Closes", "type": "yes_no", "points": 1}]}]}


def _scored(session, people, on, greet, close="yes", targeted=False):
    from scoring.evaluations import services as ev

    interaction = factories.create_interaction(session, people["agent_a"])
    evaluation = ev.start_evaluation(session, people["qa"], interaction)
    ev.submit(session, people["qa"], evaluation.id, {"greet": greet, "close": close})
    evaluation.submitted_at = dt.datetime.combine(on, dt.time(12), tzinfo=dt.UTC)
    evaluation.targeted = targeted
    return evaluation


def test_the_effect_of_a_session_on_its_focus(client, auth, runner, session, people):
    factories.create_form(session, TAGGED_FORM)
    held_on = _today() - dt.timedelta(days=40)
    item = services.open_session(session, people["lead_a"], people["agent_a"].id, {
        "kind": "one_to_one", "planned_on": held_on, "focus_competencies": ["6.3.2"]})
    services.hold(session, people["lead_a"], item.id, held_on=held_on, today=_today())
    # before: greets 1 time in 6 (16.7); after: every time (100); "close" is not the focus
    for i, greet in enumerate(["no"] * 5 + ["yes"]):
        _scored(session, people, held_on - dt.timedelta(days=2 + i), greet, close="yes")
    for i in range(6):
        _scored(session, people, held_on + dt.timedelta(days=2 + i), "yes", close="no")
    _scored(session, people, held_on + dt.timedelta(days=3), "no", targeted=True)  # left out
    _scored(session, people, held_on + dt.timedelta(days=31), "no")  # outside the window
    _scored(session, people, held_on, "no")  # the session's own day: neither side
    session.commit()
    found = queries.session_effect(session, item)
    assert (found.n_before, found.n_after) == (6, 6)
    assert found.mean_before == pytest.approx(100 / 6) and found.mean_after == 100
    assert found.verdict == "improved" and found.ci_low > 0
    auth.login("lead.a")
    page = client.get(f"/coaching/{item.id}").get_data(as_text=True)
    assert "Did it help?" in page and "improved" in page
    report = client.get("/coaching/effectiveness").get_data(as_text=True)
    assert "Lead.A" in report and "Only 1 session with enough evaluations" in report
    auth.logout()
    auth.login("lead.b")  # not their team: nothing to show
    assert "No held session yet." in client.get("/coaching/effectiveness").get_data(
        as_text=True)
    _t, plaintext = tokens.create_token(session, factories.SYSTEM, people["lead_a"].id, name="t")
    session.commit()
    api = client.get("/api/v1/coaching/effectiveness?days=30",
                     headers={"Authorization": f"Bearer {plaintext}"}).json
    assert [(s["verdict"], s["n_before"]) for s in api["sessions"]] == [("improved", 6)]
    result = runner.invoke("coaching", "effectiveness", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert [s["verdict"] for s in data["sessions"]] == ["improved"]
    assert data["by_team"]["Team A"]["share"] is None  # under 5 judged sessions: no share
    assert runner.invoke("coaching", "effectiveness", "--team", "Nope").exit_code == 1


def test_the_agents_pages_show_their_coaching(client, auth, session, people, planned):
    from competencies.frameworks import services as framework_services

    framework_services.import_framework(session, factories.SYSTEM, {
        "name": "Coaching framework", "groups": [{"code": "6.3.2", "competencies": [
            {"code": "6.3.2", "name": "Communication"}]}]}, publish=True)
    services.add_action(session, people["lead_a"], planned.id, text="Listen first",
                        owner_id=people["agent_a"].id, due_on=_today())
    session.commit()
    auth.login("lead.a")
    skills = client.get(f"/skills/{people['agent_a'].id}").get_data(as_text=True)
    assert "To do: Listen first" in skills and "Plan a coaching session" in skills
    card = client.get(f"/scorecards/{people['agent_a'].id}").get_data(as_text=True)
    assert "To do: Listen first" in card
    auth.logout()
    auth.login("agent.a")
    mine = client.get(f"/scorecards/{people['agent_a'].id}").get_data(as_text=True)
    assert "To do: Listen first" in mine and "Coaching log" in mine
    assert "Plan a coaching session" not in mine
    auth.logout()
    auth.login("qa")  # reads scorecards, not coaching logs
    assert "Listen first" not in client.get(
        f"/scorecards/{people['agent_a'].id}").get_data(as_text=True)
    auth.logout()
    # the panel's read is built once per shape of the viewer's scope: whoever sees every
    # team's coaching sees it, and another agent's own coaching is not theirs
    auth.login("admin")
    assert "To do: Listen first" in client.get(
        f"/scorecards/{people['agent_a'].id}").get_data(as_text=True)
    auth.logout()
    auth.login("agent.a2")
    assert "Listen first" not in client.get(
        f"/scorecards/{people['agent_a2'].id}").get_data(as_text=True)


def test_coach_from_an_evaluation_is_offered_to_its_agents_lead(client, auth, session, people):
    factories.create_form(session)
    evaluation = factories.create_dispute(session, people["qa"], factories.create_interaction(
        session, people["agent_a"])).evaluation
    session.commit()
    link = f"/coaching/new?agent_id={people['agent_a'].id}&amp;evaluation_id={evaluation.id}"
    for username, shown in (("lead.a", True), ("qa", False), ("agent.a", False),
                            ("admin", True)):
        auth.login(username)
        page = client.get(f"/evaluations/{evaluation.id}").get_data(as_text=True)
        assert (link in page) is shown, username
        auth.logout()


def test_coach_on_a_weak_question_from_the_scorecard(client, auth, session, people):
    factories.create_form(session, TAGGED_FORM)
    for i in range(3):
        _scored(session, people, _today() - dt.timedelta(days=3 + i), "no")
    session.commit()
    link = f"/coaching/new?agent_id={people['agent_a'].id}&amp;question=greet"
    for username, shown in (("lead.a", True), ("qa", False), ("agent.a", False),
                            ("hr", False), ("lead.b", False)):
        auth.login(username)
        page = client.get(f"/scorecards/{people['agent_a'].id}")
        if username == "lead.b":  # not their team: no scorecard at all
            assert page.status_code == 404
        else:
            assert (link in page.get_data(as_text=True)) is shown, username
        auth.logout()
    auth.login("lead.a")
    form = client.get(link.replace("&amp;", "&")).get_data(as_text=True)
    assert 'value="greet"' in form
