"""The notice pages over real HTTP with CSRF on: writing and publishing a notice, acknowledging
it (and a refused acknowledgement), the outstanding page and its CSV, the home cards."""

from __future__ import annotations

import csv
import datetime as dt
import io

import factories
import pytest
from sqlalchemy import select

from competencies.notices import services
from competencies.notices.models import Notice, NoticeRecipient
from qm.audit import AuditEntry
from qm.timestamps import today_in

Audience = services.Audience


def _publish(session, title="Fire drill", body="Leave by the stairs.", audience=None,
             **values):
    notice = services.save_draft(session, factories.SYSTEM, {
        "title": title, "body": body, "category": "policy", **values})
    services.publish(session, factories.SYSTEM, notice.id,
                     audience or Audience(all_agents=True))
    session.commit()
    return notice


def test_hr_writes_publishes_and_follows_a_notice(client, auth, session, people):
    auth.login("hr")
    assert client.get("/notices/new").status_code == 200
    refused = client.post_form("/notices/new", {"title": "", "body": "x", "category": "policy"})
    assert refused.status_code == 400
    made = client.post_form("/notices/new", {
        "title": "Refund rules", "category": "client",
        "body": "Refunds over 100 need a lead.\n<b>Not bold</b>", "acknowledge_by": ""})
    assert made.status_code == 302
    notice = session.scalars(select(Notice)).one()
    assert made.location.endswith(f"/notices/{notice.id}")
    page = client.get(f"/notices/{notice.id}").get_data(as_text=True)
    assert "&lt;b&gt;Not bold&lt;/b&gt;" in page and "<b>Not bold" not in page
    assert 'id="publish"' in page
    edited = client.post_form(f"/notices/{notice.id}/edit", {
        "title": "Refund rules (client Acme)", "category": "client", "version": "1",
        "body": "Refunds over 100 need a lead."})
    assert edited.status_code == 302
    stale = client.post_form(f"/notices/{notice.id}/edit", {
        "title": "Late edit", "category": "client", "version": "1", "body": "x"})
    assert stale.status_code == 409 and "Someone else saved this notice" in \
        stale.get_data(as_text=True)
    nobody = client.post_form(f"/notices/{notice.id}/publish", {"version": "2"},
                              page=f"/notices/{notice.id}")
    assert nobody.status_code == 400 and "Choose whom the notice goes to" in \
        nobody.get_data(as_text=True)
    published = client.post_form(f"/notices/{notice.id}/publish", {
        "version": "2", "team_ids": [str(people["team_a"].id)]}, page=f"/notices/{notice.id}")
    assert published.status_code == 302
    session.expire_all()
    assert sorted(session.scalars(select(NoticeRecipient.user_id))) == sorted(
        [people["agent_a"].id, people["agent_a2"].id])
    page = client.get(f"/notices/{notice.id}").get_data(as_text=True)
    assert "0/2 acknowledged" in page and 'id="publish"' not in page
    # frozen: the edit page sends back to the notice, a POST is refused
    assert client.get(f"/notices/{notice.id}/edit").status_code == 302
    frozen = client.post_form(f"/notices/{notice.id}/edit", {
        "title": "Changed", "category": "client", "version": "3", "body": "x"},
        page=f"/notices/{notice.id}")
    assert frozen.status_code == 409
    listing = client.get("/notices").get_data(as_text=True)
    assert "Refund rules (client Acme)" in listing and "0/2" in listing
    added = client.post_form(f"/notices/{notice.id}/recipients", {
        "user_ids": [str(people["agent_b"].id)]}, page=f"/notices/{notice.id}")
    assert added.status_code == 302
    withdrawn = client.post_form(f"/notices/{notice.id}/withdraw", {"version": "3"},
                                 page=f"/notices/{notice.id}")
    assert withdrawn.status_code == 302
    session.expire_all()
    assert session.get(Notice, notice.id).status == "withdrawn"
    actions = session.scalars(select(AuditEntry.action).where(
        AuditEntry.entity_type == "notices").order_by(AuditEntry.seq)).all()
    assert actions == ["notice.created", "notice.updated", "notice.published",
                       "notice.recipients_added", "notice.withdrawn"]


def test_an_agent_acknowledges_from_the_list_with_csrf(client, auth, session, people):
    notice = _publish(session, body="Line one\nLine two")
    auth.login("agent.a")
    listing = client.get("/notices").get_data(as_text=True)
    assert "Fire drill" in listing and ">Acknowledge</button>" in listing
    # no CSRF token: refused, nothing written
    assert client.post(f"/notices/{notice.id}/acknowledge", data={}).status_code == 400
    assert session.get(NoticeRecipient, (notice.id, people["agent_a"].id)).acknowledged_at \
        is None
    done = client.post_form(f"/notices/{notice.id}/acknowledge", {"back": "list"},
                            page="/notices")
    assert done.status_code == 302 and done.location.endswith("/notices")
    session.expire_all()
    first = session.get(NoticeRecipient, (notice.id, people["agent_a"].id)).acknowledged_at
    assert first is not None
    again = client.post_form(f"/notices/{notice.id}/acknowledge", page=f"/notices/{notice.id}")
    assert again.status_code == 302
    session.expire_all()
    assert session.get(NoticeRecipient, (notice.id, people["agent_a"].id)).acknowledged_at \
        == first
    page = client.get(f"/notices/{notice.id}").get_data(as_text=True)
    assert "You acknowledged it on" in page and 'id="recipients"' not in page
    assert ">Acknowledge</button>" not in client.get("/notices").get_data(as_text=True)


def test_a_non_recipient_cannot_acknowledge_or_read(client, auth, session, people):
    notice = _publish(session, audience=Audience(user_ids=(people["agent_b"].id,)))
    auth.login("agent.a")
    assert client.get(f"/notices/{notice.id}").status_code == 404
    refused = client.post_form(f"/notices/{notice.id}/acknowledge", page="/notices")
    assert refused.status_code == 403
    assert "Only someone this notice was sent to" in refused.get_data(as_text=True)
    assert client.get("/notices/new").status_code == 403
    assert session.scalar(select(NoticeRecipient.acknowledged_at)) is None


def test_acknowledging_a_withdrawn_notice_is_a_sentence(client, auth, session, people):
    notice = _publish(session)
    auth.login("agent.a")
    token = client.csrf_token("/notices")
    services.withdraw(session, factories.SYSTEM, notice.id)
    session.commit()
    answer = client.post(f"/notices/{notice.id}/acknowledge",
                         data={"csrf_token": token}, follow_redirects=True)
    assert "it no longer needs acknowledging" in answer.get_data(as_text=True)
    assert session.scalar(select(NoticeRecipient.acknowledged_at).where(
        NoticeRecipient.user_id == people["agent_a"].id)) is None


@pytest.fixture
def overdue(session, people):
    """A notice to all agents whose deadline passed (published before it), acknowledged by
    agent.a only."""
    notice = services.save_draft(session, factories.SYSTEM, {
        "title": "=Overdue rule", "body": "x", "category": "procedure",
        "acknowledge_by": dt.date(2026, 1, 10)})
    services.publish(session, factories.SYSTEM, notice.id, Audience(all_agents=True),
                     today=dt.date(2026, 1, 1))
    services.acknowledge(session, people["agent_a"], notice.id)
    session.commit()
    return notice


def test_the_outstanding_page_per_team_and_its_csv(client, auth, session, people, overdue):
    auth.login("lead.a")
    page = client.get("/notices/outstanding").get_data(as_text=True)
    assert "Team A" in page and "Team B" not in page and "Agent.A2" in page
    assert "1 outstanding, 1 overdue" in page
    auth.logout()
    auth.login("hr")
    page = client.get("/notices/outstanding").get_data(as_text=True)
    assert "2 outstanding, 2 overdue" in page and "Team B" in page
    filtered = client.get(f"/notices/outstanding?team_id={people['team_b'].id}")
    assert "1 outstanding, 1 overdue" in filtered.get_data(as_text=True)
    assert client.get("/notices/outstanding?team_id=x").status_code == 400
    exported = client.get("/notices/outstanding.csv")
    assert exported.status_code == 200 and exported.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(exported.get_data(as_text=True))))
    assert rows[0] == ["username", "name", "team", "notice_id", "title", "published_on",
                       "acknowledge_by", "overdue"]
    assert sorted((r[0], r[2], r[4], r[6], r[7]) for r in rows[1:]) == [
        ("agent.a2", "Team A", "'=Overdue rule", "2026-01-10", "yes"),
        ("agent.b", "Team B", "'=Overdue rule", "2026-01-10", "yes")]
    only_a = client.get(f"/notices/outstanding.csv?team_id={people['team_a'].id}")
    assert [r[0] for r in csv.reader(io.StringIO(only_a.get_data(as_text=True)))][1:] == [
        "agent.a2"]
    auth.logout()
    auth.login("agent.b")
    mine = list(csv.reader(io.StringIO(client.get("/notices/outstanding.csv")
                                       .get_data(as_text=True))))
    assert [r[0] for r in mine[1:]] == ["agent.b"]


def test_the_home_cards(client, auth, session, people, overdue):
    auth.login("agent.a2")
    home = client.get("/").get_data(as_text=True)
    assert "Notices to acknowledge" in home and ">Notices<" in home
    assert "Acknowledgements outstanding" not in home
    auth.logout()
    auth.login("agent.a")  # acknowledged it: nothing to do
    assert "Notices to acknowledge" not in client.get("/").get_data(as_text=True)
    auth.logout()
    auth.login("lead.a")
    home = client.get("/").get_data(as_text=True)
    assert "Acknowledgements outstanding" in home and "1 overdue (past the deadline)" in home
    auth.logout()
    auth.login("hr")
    home = client.get("/").get_data(as_text=True)
    assert "2 overdue (past the deadline)" in home


def test_the_cards_count_what_waits_today(app, session, people):
    _publish(session, audience=Audience(user_ids=(people["hr"].id, people["agent_b"].id)),
             acknowledge_by=today_in("UTC") + dt.timedelta(days=3))
    from competencies.notices import dashboard

    with app.test_request_context():
        hr_cards = {c["title"]: c for c in dashboard.cards(session, people["hr"])}
        agent_cards = {c["title"]: c for c in dashboard.cards(session, people["agent_a"])}
    assert hr_cards["Notices to acknowledge"]["value"] == 1
    assert hr_cards["Acknowledgements outstanding"]["value"] == 2
    assert hr_cards["Acknowledgements outstanding"]["detail"] == [
        "0 overdue (past the deadline)"]
    assert agent_cards == {}
