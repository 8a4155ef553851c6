"""/api/v1/notices: the same services, rules and scope as the pages."""

from __future__ import annotations

import factories
from sqlalchemy import select

from competencies.notices.models import NoticeRecipient
from qm.audit import AuditEntry
from qm.auth import tokens


def _headers(session, user) -> dict[str, str]:
    _token, plaintext = tokens.create_token(session, factories.SYSTEM, user.id, name="t")
    session.commit()
    return {"Authorization": f"Bearer {plaintext}"}


DRAFT = {"title": "Card payments", "body": "Never read a card number back.",
         "category": "procedure", "acknowledge_by": "2099-01-31"}


def test_a_notice_from_draft_to_acknowledgement(client, session, people):
    hr = _headers(session, people["hr"])
    agent = _headers(session, people["agent_a"])
    assert client.post("/api/v1/notices", json=DRAFT, headers=agent).status_code == 403
    bad = client.post("/api/v1/notices", json={**DRAFT, "category": "gossip"}, headers=hr)
    assert bad.status_code == 422
    made = client.post("/api/v1/notices", json=DRAFT, headers=hr)
    assert made.status_code == 201
    draft = made.json
    assert (draft["status"], draft["acknowledge_by"], draft["version"]) == (
        "draft", "2099-01-31", 1)
    nid = draft["id"]
    # agents do not see drafts
    assert client.get(f"/api/v1/notices/{nid}", headers=agent).status_code == 404
    nobody = client.post(f"/api/v1/notices/{nid}/publish", json={}, headers=hr)
    assert nobody.status_code == 400 and "Choose whom" in nobody.json["message"]
    stale = client.post(f"/api/v1/notices/{nid}/publish",
                        json={"all_agents": True, "version": 7}, headers=hr)
    assert stale.status_code == 409
    published = client.post(f"/api/v1/notices/{nid}/publish",
                            json={"team_ids": [people["team_a"].id], "version": 1},
                            headers=hr)
    assert published.status_code == 200 and published.json["status"] == "published"
    assert sorted(r["username"] for r in published.json["recipients"]) == [
        "agent.a", "agent.a2"]
    again = client.post(f"/api/v1/notices/{nid}/publish", json={"all_agents": True},
                        headers=hr)
    assert again.status_code == 409

    one = client.get(f"/api/v1/notices/{nid}", headers=agent).json
    assert one["sent_to_me"] and one["acknowledged_at"] is None and "recipients" not in one
    assert one["body"] == DRAFT["body"]
    listing = client.get("/api/v1/notices", headers=agent).json
    assert [(n["id"], n["to_acknowledge"]) for n in listing] == [(nid, True)]
    first = client.post(f"/api/v1/notices/{nid}/acknowledge", headers=agent)
    assert first.status_code == 200 and first.json["acknowledged_at"]
    second = client.post(f"/api/v1/notices/{nid}/acknowledge", headers=agent)
    assert second.json["acknowledged_at"] == first.json["acknowledged_at"]
    outsider = client.post(f"/api/v1/notices/{nid}/acknowledge",
                           headers=_headers(session, people["agent_b"]))
    assert outsider.status_code == 403
    assert client.post("/api/v1/notices/99999/acknowledge", headers=agent).status_code == 404

    followed = {n["id"]: n for n in client.get("/api/v1/notices", headers=hr).json}
    assert (followed[nid]["recipients"], followed[nid]["acknowledged"],
            followed[nid]["outstanding"]) == (2, 1, 1)
    assert session.scalars(select(AuditEntry.action).where(
        AuditEntry.entity_type == "notices").order_by(AuditEntry.seq)).all() == [
        "notice.created", "notice.published", "notice.acknowledged"]

    withdrawn = client.post(f"/api/v1/notices/{nid}/withdraw", json={}, headers=hr)
    assert withdrawn.status_code == 200 and withdrawn.json["status"] == "withdrawn"
    late = client.post(f"/api/v1/notices/{nid}/acknowledge",
                       headers=_headers(session, people["agent_a2"]))
    assert late.status_code == 409 and "withdrawn" in late.json["message"]
    assert session.scalar(select(NoticeRecipient.acknowledged_at).where(
        NoticeRecipient.user_id == people["agent_a2"].id)) is None


def test_outstanding_over_the_api_is_scoped(client, session, people):
    hr = _headers(session, people["hr"])
    nid = client.post("/api/v1/notices", json={**DRAFT, "acknowledge_by": None},
                      headers=hr).json["id"]
    client.post(f"/api/v1/notices/{nid}/publish", json={"all_agents": True}, headers=hr)
    every = client.get("/api/v1/notices/outstanding", headers=hr).json
    assert {(t["team"], t["outstanding"], t["overdue"]) for t in every["teams"]} == {
        ("Team A", 2, 0), ("Team B", 1, 0)}
    assert len(every["people"]) == 3
    lead = client.get("/api/v1/notices/outstanding",
                      headers=_headers(session, people["lead_a"])).json
    assert {t["team"] for t in lead["teams"]} == {"Team A"}
    assert {p["username"] for p in lead["people"]} == {"agent.a", "agent.a2"}
    assert client.get(f"/api/v1/notices/{nid}", headers=_headers(
        session, people["lead_b"])).json["recipients"][0]["username"] == "agent.b"
    agent = client.get(f"/api/v1/notices/outstanding?team_id={people['team_a'].id}",
                       headers=_headers(session, people["agent_b"])).json
    assert agent["teams"] == [] and agent["people"] == []
    assert client.get("/api/v1/notices/outstanding?as_of=nope",
                      headers=hr).status_code == 422
