"""The complaint register over real HTTP on a real database: opening a complaint from an
interaction's page, its life through the page's buttons, a stale save (409, the input kept), a
double submit, bad input, who sees what, the register's CSV and XLSX, the overdue list, the
trend, the holidays page, /api/v1/complaints, and `qm complaints`."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re

import factories
import pytest
from sqlalchemy import func, select

from qm.auth import tokens
from qm.db import utcnow
from scoring.complaints import services
from scoring.complaints.models import Complaint, Holiday
from scoring.complaints.views import HEADER


@pytest.fixture
def calls(session, people):
    out = {"a": factories.create_interaction(session, people["agent_a"], customer_ref="CUST-A"),
           "a2": factories.create_interaction(session, people["agent_a2"],
                                              customer_ref="CUST-A2"),
           "b": factories.create_interaction(session, people["agent_b"], customer_ref="CUST-B")}
    session.commit()
    return out


@pytest.fixture
def filed(session, people, calls):
    """Team A's complaint, received three days ago and never acknowledged (overdue), with words
    that look like a formula; team B's, received an hour ago."""
    now = utcnow()
    a = services.open_complaint(session, people["lead_a"], {
        "customer_ref": "CUST-A", "summary": "=HYPERLINK(\"http://x\") charged twice",
        "category": "billing", "severity": "high", "interaction_ids": [calls["a"].id],
        "received_at": now - dt.timedelta(days=3)}, now=now)
    b = services.open_complaint(session, people["lead_b"], {
        "customer_ref": "CUST-B", "summary": "Waited an hour.", "category": "delay",
        "severity": "low", "interaction_ids": [calls["b"].id],
        "received_at": now - dt.timedelta(hours=1)}, now=now)
    session.commit()
    return {"a": a, "b": b}


def _token(client, page):
    html = client.get(page).get_data(as_text=True)
    return re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html).group(1)


def _count(session):
    return session.scalar(select(func.count(Complaint.id)))


def test_a_lead_opens_a_complaint_from_the_interaction_page(client, auth, session, people,
                                                            calls):
    auth.login("lead.a")
    page = client.get(f"/interactions/{calls['a'].id}").get_data(as_text=True)
    assert "Open a complaint" in page
    new = f"/complaints/new?interaction_id={calls['a'].id}"
    form = client.get(new).get_data(as_text=True)
    assert 'value="CUST-A"' in form and "Lead.B" not in form  # not an owner of team A's
    made = client.post_form(new, {
        "customer_ref": "CUST-A", "summary": "Charged twice.", "category": "billing",
        "severity": "high", "received_at": "", "owner_id": people["lead_a"].id,
        "interaction_ids": str(calls["a2"].id)}, page=new)
    assert made.status_code == 302
    item = session.scalars(select(Complaint)).one()
    assert made.location.endswith(f"/complaints/{item.id}")
    assert item.interaction_ids == [calls["a"].id, calls["a2"].id]
    # the same form sent again at once: the same complaint, refused
    again = client.post_form(new, {
        "customer_ref": "CUST-A", "summary": "Charged twice.", "category": "billing",
        "severity": "high", "owner_id": people["lead_a"].id, "interaction_ids": ""}, page=new)
    assert again.status_code == 409 and f"#{item.id}" in again.get_data(as_text=True)
    assert _count(session) == 1
    # the interaction's page now lists it
    assert f"Complaint #{item.id}" in client.get(
        f"/interactions/{calls['a'].id}").get_data(as_text=True)


def test_who_is_offered_to_open_a_complaint(client, auth, people, calls):
    for username, offered in (("qa", True), ("admin", True), ("auditor", False)):
        auth.login(username)
        page = client.get(f"/interactions/{calls['a'].id}").get_data(as_text=True)
        assert ("Open a complaint" in page) is offered, username
        auth.logout()


def test_bad_input_shows_each_sentence_and_writes_nothing(client, auth, session, people):
    auth.login("qa")
    page = client.post_form("/complaints/new", {
        "customer_ref": "", "summary": "", "category": "billing", "severity": "low",
        "received_at": "yesterday", "owner_id": people["qa"].id, "interaction_ids": ""},
        page="/complaints/new")
    assert page.status_code == 400
    assert "date and time" in page.get_data(as_text=True)
    page = client.post_form("/complaints/new", {
        "customer_ref": "", "summary": "", "category": "billing", "severity": "low",
        "received_at": "", "owner_id": people["qa"].id, "interaction_ids": "12, x"},
        page="/complaints/new")
    assert page.status_code == 400
    page = client.post_form("/complaints/new", {
        "customer_ref": " ", "summary": "", "category": "billing", "severity": "low",
        "received_at": "", "owner_id": people["qa"].id, "interaction_ids": ""},
        page="/complaints/new")
    html = page.get_data(as_text=True)
    assert page.status_code == 400
    assert html.count("is required.") >= 2  # the reference and the summary, each beside its field
    assert _count(session) == 0


def test_the_life_of_a_complaint_through_its_page(client, auth, session, people, filed):
    item = filed["a"]
    url = f"/complaints/{item.id}"
    auth.login("lead.a")
    page = client.get(url).get_data(as_text=True)
    assert 'data-step="acknowledge" data-state="overdue"' in page
    for step in ("acknowledge", "respond"):
        token = _token(client, url)
        session.refresh(item)
        assert client.post(f"{url}/{step}", data={"csrf_token": token,
                                                  "version": str(item.version)}).status_code == 302
    token = _token(client, url)
    session.refresh(item)
    assert client.post(f"{url}/escalate", data={
        "csrf_token": token, "reason": "Wants the manager.",
        "version": str(item.version)}).status_code == 302
    token = _token(client, url)
    session.refresh(item)
    assert client.post(f"{url}/answer-escalation", data={
        "csrf_token": token, "answer": "Refund approved.",
        "version": str(item.version)}).status_code == 302
    token = _token(client, url)
    session.refresh(item)
    missing = client.post(f"{url}/resolve", data={
        "csrf_token": token, "outcome": "Refunded.", "root_cause": "",
        "version": str(item.version)})
    assert missing.status_code == 400 and "root cause" in missing.get_data(as_text=True)
    assert client.post(f"{url}/resolve", data={
        "csrf_token": token, "outcome": "Refunded.", "root_cause": "system",
        "version": str(item.version)}).status_code == 302
    session.refresh(item)
    assert (item.status, item.root_cause, item.outcome) == ("resolved", "system", "Refunded.")
    page = client.get(url).get_data(as_text=True)
    for words in ("Escalation answered", "Refund approved.", "Wants the manager.",
                  "complaint.resolved"):
        assert words in page
    # a button without its CSRF token does nothing
    assert client.post(f"{url}/close", data={"version": str(item.version)}).status_code == 400
    session.refresh(item)
    assert item.closed_at is None


def test_a_stale_save_answers_409_and_keeps_the_input(client, auth, session, people, filed):
    item = filed["a"]
    url = f"/complaints/{item.id}"
    seen = item.version
    auth.login("lead.a")
    token = _token(client, f"{url}/edit")
    form = {"csrf_token": token, "customer_ref": "CUST-A", "summary": "Charged twice.",
            "category": "billing", "owner_id": people["lead_a"].id, "version": str(seen)}
    assert client.post(f"{url}/edit", data={**form, "severity": "critical"}).status_code == 302
    stale = client.post(f"{url}/edit", data={**form, "severity": "low",
                                             "summary": "Second, from an old page."})
    assert stale.status_code == 409
    assert "Second, from an old page." in stale.get_data(as_text=True)
    late = client.post(f"{url}/resolve", data={
        "csrf_token": token, "outcome": "Refunded from an old page.", "root_cause": "system",
        "version": str(seen)})
    assert late.status_code == 409
    assert "Refunded from an old page." in late.get_data(as_text=True)
    session.refresh(item)
    assert (item.severity, item.summary, item.resolved_at) == ("critical", "Charged twice.",
                                                               None)


def test_who_sees_what(client, auth, session, people, filed):
    a, b = filed["a"], filed["b"]
    for username, register_status, shown, hidden in (
            ("lead.a", 200, ["CUST-A"], ["CUST-B"]), ("lead.b", 200, ["CUST-B"], ["CUST-A"]),
            ("qa", 200, ["CUST-A", "CUST-B"], []), ("auditor", 200, ["CUST-A", "CUST-B"], []),
            ("agent.a", 403, [], []), ("hr", 403, [], [])):
        auth.login(username)
        response = client.get("/complaints")
        assert response.status_code == register_status, username
        page = response.get_data(as_text=True)
        assert all(ref in page for ref in shown) and not any(ref in page for ref in hidden)
        auth.logout()
    auth.login("lead.b")
    assert client.get(f"/complaints/{a.id}").status_code == 404
    assert client.post_form(f"/complaints/{a.id}/acknowledge", {"version": "1"},
                            page=f"/complaints/{b.id}").status_code == 404
    auth.logout()
    auth.login("auditor")
    page = client.get(f"/complaints/{a.id}").get_data(as_text=True)
    assert 'id="lifecycle"' not in page and "resolve-form" not in page
    assert client.post_form(f"/complaints/{a.id}/acknowledge", {},
                            page=f"/complaints/{a.id}").status_code == 403
    session.refresh(a)
    assert a.acknowledged_at is None


def test_the_register_as_csv_and_xlsx_with_the_pages_filters(client, auth, session, people,
                                                             filed):
    from openpyxl import load_workbook

    services.acknowledge(session, people["qa"], filed["b"].id)
    session.commit()
    auth.login("qa")
    rows = list(csv.reader(io.StringIO(client.get("/complaints/register.csv").get_data(
        as_text=True))))
    assert rows[0] == HEADER
    for column in ("received_at", "acknowledged_at", "acknowledge_due", "resolved_at",
                   "resolve_due", "escalation_answered_at", "closed_at", "outcome",
                   "root_cause"):
        assert column in rows[0]
    by_id = {row[0]: dict(zip(rows[0], row, strict=True)) for row in rows[1:]}
    a = by_id[str(filed["a"].id)]
    assert a["summary"].startswith("'=HYPERLINK")  # never a formula
    assert a["overdue"] == "yes" and a["acknowledged_at"] == ""
    assert dt.datetime.fromisoformat(a["received_at"]) == filed["a"].received_at
    assert by_id[str(filed["b"].id)]["acknowledged_at"] != ""
    filtered = list(csv.reader(io.StringIO(client.get(
        "/complaints/register.csv?category=delay").get_data(as_text=True))))
    assert [row[0] for row in filtered[1:]] == [str(filed["b"].id)]
    overdue = list(csv.reader(io.StringIO(client.get(
        "/complaints/register.csv?overdue=1").get_data(as_text=True))))
    assert [row[0] for row in overdue[1:]] == [str(filed["a"].id)]
    response = client.get("/complaints/register.xlsx?severity=high")
    sheet = load_workbook(io.BytesIO(response.data)).active
    header, *data = [[c.value for c in row] for row in sheet.iter_rows()]
    assert header[0] == "complaint" and "received_at (UTC)" in header
    assert len(header) == len(HEADER) and [r[0] for r in data] == [filed["a"].id]
    summary = data[0][header.index("summary")]
    assert summary.startswith("=HYPERLINK")  # the text as typed, stored as text
    assert isinstance(data[0][header.index("received_at (UTC)")], dt.datetime)
    auth.logout()
    auth.login("lead.b")  # the export is scoped as the page is
    rows = list(csv.reader(io.StringIO(client.get("/complaints/register.csv").get_data(
        as_text=True))))
    assert [row[0] for row in rows[1:]] == [str(filed["b"].id)]


def test_bad_filters_are_a_400_that_says_why(client, auth, people):
    auth.login("qa")
    for query in ("status=lost", "category=weather", "received_from=yesterday",
                  "owner_id=x"):
        response = client.get(f"/complaints?{query}")
        assert response.status_code == 400, query
        assert query.split("=")[0] in response.get_data(as_text=True)


def test_the_overdue_list_the_home_card_and_the_trend(client, auth, session, people, filed):
    services.resolve(session, people["lead_b"], filed["b"].id, outcome="Apologised.",
                     root_cause="people")
    session.commit()
    auth.login("qa")
    page = client.get("/complaints/overdue").get_data(as_text=True)
    assert "CUST-A" in page and "CUST-B" not in page and "overdue by" in page
    home = client.get("/").get_data(as_text=True)
    assert "Complaints overdue" in home and f"#{filed['a'].id} CUST-A" in home
    trend = client.get("/complaints/trends").get_data(as_text=True)
    assert 'data-cause="people"' in trend and 'data-cause="system"' not in trend
    auth.logout()
    auth.login("lead.b")
    assert "CUST-A" not in client.get("/complaints/overdue").get_data(as_text=True)
    assert 'data-cause="people"' in client.get("/complaints/trends").get_data(as_text=True)


def test_the_holidays_page(client, auth, session, people):
    auth.login("admin")
    added = client.post_form("/complaints/holidays", {"day": "2026-12-25",
                                                      "name": "Christmas"},
                             page="/complaints/holidays")
    assert added.status_code == 302
    twice = client.post_form("/complaints/holidays", {"day": "2026-12-25", "name": "Again"},
                             page="/complaints/holidays")
    assert twice.status_code == 409
    holiday = session.scalars(select(Holiday)).one()
    auth.logout()
    auth.login("lead.a")
    page = client.get("/complaints/holidays").get_data(as_text=True)
    assert "Christmas" in page and "Remove" not in page
    assert client.post_form(f"/complaints/holidays/{holiday.id}/delete", {},
                            page="/complaints/holidays").status_code == 403
    auth.logout()
    auth.login("admin")
    assert client.post_form(f"/complaints/holidays/{holiday.id}/delete", {},
                            page="/complaints/holidays").status_code == 302
    assert session.scalar(select(func.count(Holiday.id))) == 0


def _bearer(session, user):
    _token, plaintext = tokens.create_token(session, factories.SYSTEM, user.id, name="t")
    session.commit()
    return {"Authorization": f"Bearer {plaintext}"}


def test_the_api(client, session, people, calls):
    lead = _bearer(session, people["lead_a"])
    other = _bearer(session, people["lead_b"])
    auditor = _bearer(session, people["auditor"])
    admin = _bearer(session, people["admin"])
    body = {"customer_ref": "CUST-A", "summary": "Charged twice.", "category": "billing",
            "interaction_ids": [calls["a"].id],
            "received_at": (utcnow() - dt.timedelta(days=2)).isoformat()}
    made = client.post("/api/v1/complaints", headers=lead, json=body)
    assert made.status_code == 201, made.json
    item = made.json
    assert item["owner_id"] == people["lead_a"].id and item["overdue"] is True
    assert [d["key"] for d in item["deadlines"]] == ["acknowledge", "respond", "resolve"]
    assert client.post("/api/v1/complaints", headers=lead, json=body).status_code == 409
    outside = client.post("/api/v1/complaints", headers=lead, json={
        **body, "customer_ref": "CUST-B", "interaction_ids": [calls["b"].id]})
    assert outside.status_code == 400 and "interaction_ids" in outside.json["errors"]
    assert client.post("/api/v1/complaints", headers=lead, json={
        **body, "category": "weather"}).status_code == 422
    url = f"/api/v1/complaints/{item['id']}"
    patched = client.patch(url, headers=lead, json={"severity": "critical",
                                                    "version": item["version"]})
    assert patched.status_code == 200 and patched.json["severity"] == "critical"
    stale = client.patch(url, headers=lead, json={"severity": "low",
                                                  "version": item["version"]})
    assert stale.status_code == 409
    acknowledged = client.post(f"{url}/acknowledge", headers=lead, json={
        "at": (utcnow() - dt.timedelta(days=1)).isoformat()})
    assert acknowledged.json["status"] == "acknowledged"
    assert acknowledged.json["deadlines"][0]["state"] == "late"
    assert client.post(f"{url}/escalate", headers=lead, json={}).status_code == 422
    assert client.post(f"{url}/escalate", headers=lead,
                       json={"reason": "Legal threat."}).json["status"] == "escalated"
    assert client.post(f"{url}/answer-escalation", headers=lead,
                       json={"answer": "Refund."}).json["status"] == "acknowledged"
    resolved = client.post(f"{url}/resolve", headers=lead, json={
        "outcome": "Refunded.", "root_cause": "system"})
    assert resolved.json["status"] == "resolved" and resolved.json["overdue"] is False
    assert client.post(f"{url}/close", headers=lead, json={}).json["status"] == "closed"
    assert client.post(f"{url}/reopen", headers=lead, json={}).json["status"] == "responded"
    linked = client.post(f"{url}/interactions", headers=lead,
                         json={"interaction_id": calls["a2"].id})
    assert linked.json["interaction_ids"] == [calls["a"].id, calls["a2"].id]
    unlinked = client.delete(f"{url}/interactions/{calls['a2'].id}", headers=lead)
    assert unlinked.json["interaction_ids"] == [calls["a"].id]
    assert client.get(url, headers=other).status_code == 404
    assert client.get("/api/v1/complaints", headers=other).json == []
    assert [c["id"] for c in client.get("/api/v1/complaints?status=responded",
                                        headers=auditor).json] == [item["id"]]
    assert client.post(f"{url}/acknowledge", headers=auditor, json={}).status_code == 403
    assert client.get("/api/v1/complaints/overdue", headers=lead).json == []
    trend = client.get("/api/v1/complaints/trends", headers=lead).json
    assert len(trend["months"]) == 12 and sum(trend["received"]) == 1
    # holidays: everyone who sees complaints reads them; the admin keeps them
    assert client.post("/api/v1/complaints/holidays", headers=lead, json={
        "date": "2026-12-25", "name": "Christmas"}).status_code == 403
    added = client.post("/api/v1/complaints/holidays", headers=admin, json={
        "date": "2026-12-25", "name": "Christmas"})
    assert added.status_code == 201
    assert client.get("/api/v1/complaints/holidays", headers=lead).json == [
        {"id": added.json["id"], "date": "2026-12-25", "name": "Christmas"}]
    assert client.delete(f"/api/v1/complaints/holidays/{added.json['id']}",
                         headers=admin).status_code == 204
    history = [e["action"] for e in client.get("/api/v1/audit", headers=admin).json
               if e.get("entity_type") == "complaints"]
    assert "complaint.resolved" in history and "complaint.reopened" in history


def test_the_cli_lists_what_is_overdue_and_imports_holidays(runner, session, people, filed,
                                                            tmp_path):
    result = runner.invoke("complaints", "overdue", "--json")
    assert result.exit_code == 0, result.output
    found = json.loads(result.output)
    assert [row["id"] for row in found] == [filed["a"].id]
    assert {d["step"] for d in found[0]["overdue"]} >= {"acknowledge"}
    assert found[0]["overdue"][0]["hours_overdue"] > 40
    text = runner.invoke("complaints", "overdue")
    assert f"#{filed['a'].id} CUST-A" in text.output
    scoped = runner.invoke("complaints", "overdue", "--json", "--as", "lead.b")
    assert json.loads(scoped.output) == []
    path = tmp_path / "holidays.csv"
    path.write_text("date,name\n2026-12-25,Christmas\n2026-13-01,Nonsense\n2027-01-01,"
                    "New Year\n", encoding="utf-8")
    result = runner.invoke("complaints", "holidays", "import", str(path))
    assert result.exit_code == 1
    assert "holidays.csv:3:" in result.output and "2 added" in result.output
    assert [h.day.isoformat() for h in session.scalars(select(Holiday).order_by(
        Holiday.day))] == ["2026-12-25", "2027-01-01"]
    again = runner.invoke("complaints", "holidays", "import", str(path))
    assert "0 added, 2 already there" in again.output
    listed = runner.invoke("complaints", "holidays", "list")
    assert "2026-12-25  Christmas" in listed.output
    refused = runner.invoke("complaints", "holidays", "import", str(path), "--as", "qa")
    assert refused.exit_code == 1 and "calendar.manage" in refused.output


def test_a_bad_clock_setting_names_its_variable(runner, app_config, monkeypatch):
    from qm.app import create_app

    with pytest.raises(ValueError, match="QM_COMPLAINT_RESOLVE_WORKING_DAYS"):
        create_app({**app_config, "complaint_resolve_working_days": "fifteen"})
    monkeypatch.setitem(runner.env, "QM_COMPLAINT_ACK_HOURS", "0")
    result = runner.invoke("complaints", "overdue")
    assert result.exit_code == 1 and "QM_COMPLAINT_ACK_HOURS" in result.output
