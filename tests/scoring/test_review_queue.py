"""The review queue: riskiest first, filtered per flag, scoped; an item taken (an evaluation
starts) or dismissed with a reason (a verdict) leaves it; a confirmed complaint flag opens a
complaint; the interaction page highlights the words a flag fired on; the flags' pages and
the API, with their permissions."""

from __future__ import annotations

import factories
import pytest
from sqlalchemy import select

from qm.auth import tokens
from scoring.complaints.models import Complaint
from scoring.review import queries
from transcription.flagging import queries as flag_queries
from transcription.flagging import services as flags
from transcription.models import Flag, FlagVerdict, FlagVersion


def _chat(session, agent, *lines, **fields):
    item = factories.create_interaction(session, agent, channel="chat", body="\n".join(lines),
                                        **fields)
    session.flush()
    return item


@pytest.fixture
def flagged(session, people):
    """Starter flags (rules in use, complaint classifier trained and in use) and four chats:
    one that cancels (a phrase), one that cancels twice and complains, one of team B that
    cancels, and one calm."""
    factories.flags_in_use(session, "complaint")
    chats = {
        "cancel": _chat(session, people["agent_a"], "Customer: please cancel my account",
                        "Agent: of course"),
        "worst": _chat(session, people["agent_a"],
                       "Customer: cancel my account, cancel my contract, i am fed up with "
                       "your useless service and i want to make a complaint",
                       "Agent: I am sorry"),
        "team_b": _chat(session, people["agent_b"], "Customer: cancel my account now",
                        "Agent: ok"),
        "calm": _chat(session, people["agent_a"], "Customer: what time do you open",
                      "Agent: nine"),
    }
    factories.create_form(session)
    session.commit()
    return chats


def _ids(items):
    return [item.interaction.id for item in items]


def test_the_queue_is_ordered_by_risk_filtered_and_scoped(session, people, flagged):
    items, total = queries.queue(session, people["qa"])
    ids = _ids(items)
    assert flagged["calm"].id not in ids and total == len(ids) == 3
    risks = [item.risk for item in items]
    assert risks == sorted(risks, reverse=True)
    assert ids[0] == flagged["worst"].id  # two phrases and a complaint outrank one phrase
    worst = items[0]
    assert {r.flag for r in worst.reasons} >= {"cancellation (phrases)", "complaint"}
    assert any("cancel my account" in e["text"] for r in worst.reasons for e in r.evidence)
    # per flag
    complaint = flags.get_flag(session, "complaint")
    only, _ = queries.queue(session, people["qa"], flag_id=complaint.id)
    assert _ids(only) == [flagged["worst"].id]
    # a lead sees their team's only; an agent has no queue
    lead_items, _ = queries.queue(session, people["lead_a"])
    assert flagged["team_b"].id not in _ids(lead_items) and lead_items
    assert queries.queue(session, people["agent_a"]) == ([], 0)


def test_taking_and_dismissing_leave_the_queue_and_a_dismissal_is_a_verdict(
        client, auth, session, people, flagged):
    auth.login("qa")
    page = client.get("/review").get_data(as_text=True)
    assert "cancel my account" in page and f"#{flagged['worst'].id}" in page
    # dismiss without a reason: refused in words, nothing written
    flag = flags.get_flag(session, "cancellation (phrases)")
    response = client.post_form(f"/review/{flagged['cancel'].id}",
                                {"flag_id": flag.id, "verdict": "rejected", "reason": "",
                                 "next": "/review"}, page="/review")
    assert response.status_code == 400 and "Say why" in response.get_data(as_text=True)
    assert session.scalar(select(FlagVerdict)) is None
    response = client.post_form(f"/review/{flagged['cancel'].id}",
                                {"flag_id": flag.id, "verdict": "rejected",
                                 "reason": "asked about cancelling an order, not the account",
                                 "next": "/review"}, page="/review")
    assert response.status_code == 302 and response.headers["Location"].endswith("/review")
    verdict = session.scalar(select(FlagVerdict))
    assert verdict.verdict == "rejected" and verdict.version_id is not None
    # taking an item starts an evaluation: it leaves the queue
    response = client.post_form(f"/interactions/{flagged['worst'].id}/evaluate", {},
                                page="/review")
    assert response.status_code == 302
    # the scoring screen says what flagged it and highlights the words
    screen = client.get(response.headers["Location"]).get_data(as_text=True)
    assert 'id="flags-shown"' in screen and '<mark class="qm-flagged">' in screen
    items, _ = queries.queue(session, people["qa"])
    assert flagged["worst"].id not in _ids(items) and flagged["cancel"].id not in _ids(items)
    assert _ids(items) == [flagged["team_b"].id]
    # an open redirect is not followed
    response = client.post_form(f"/review/{flagged['team_b'].id}",
                                {"flag_id": flag.id, "verdict": "confirmed",
                                 "next": "https://example.org/"}, page="/review")
    assert response.headers["Location"].endswith(f"/interactions/{flagged['team_b'].id}")


def test_confirming_a_complaint_flag_opens_one_complaint(client, auth, session, people,
                                                         flagged):
    auth.login("qa")
    complaint = flags.get_flag(session, "complaint")
    url = f"/interactions/{flagged['worst'].id}"
    page = client.get(url).get_data(as_text=True)
    assert 'id="flags-panel"' in page and "Right: open a complaint" in page
    assert '<mark class="qm-flagged">' in page  # the words it fired on, highlighted
    response = client.post_form(f"/review/{flagged['worst'].id}", {"flag_id": complaint.id,
                                                 "verdict": "confirmed"}, page=url,
                                follow_redirects=True)
    assert "opened from the &#39;complaint&#39; flag" in response.get_data(as_text=True)
    opened = session.scalars(select(Complaint)).all()
    assert len(opened) == 1 and opened[0].source == "flag"
    assert opened[0].interaction_ids == [flagged["worst"].id]
    # confirming again opens no second complaint
    response = client.post_form(f"/review/{flagged['worst'].id}", {"flag_id": complaint.id,
                                                 "verdict": "confirmed"}, page=url,
                                follow_redirects=True)
    assert "already covers this interaction" in response.get_data(as_text=True)
    assert len(session.scalars(select(Complaint)).all()) == 1


def test_a_missed_flag_is_recorded_from_the_interaction_page(client, auth, session, people,
                                                             flagged):
    auth.login("qa")
    url = f"/interactions/{flagged['calm'].id}"
    page = client.get(url).get_data(as_text=True)
    assert 'id="missed-form"' in page
    complaint = flags.get_flag(session, "complaint")
    response = client.post_form(f"/review/{flagged['calm'].id}", {"flag_id": complaint.id,
                                                                  "verdict": "missed"},
                                page=url)
    assert response.status_code == 302
    verdict = session.scalar(select(FlagVerdict))
    assert verdict.verdict == "missed" and "what time" in verdict.text


def test_flag_pages_edit_phrases_as_a_new_version_and_keep_a_stale_edit(client, auth, session,
                                                                        people, flagged):
    auth.login("agent.a")
    assert client.get("/flags").status_code == 403
    assert client.get("/review").status_code == 403
    auth.logout()
    auth.login("qa")
    listing = client.get("/flags").get_data(as_text=True)
    assert "cross-validated on" in listing and "not judged by an evaluator yet" in listing
    flag = flags.get_flag(session, "cancellation (phrases)")
    assert client.post_form(f"/flags/{flag.id}/phrases", {"phrases": "x"},
                            page="/flags").status_code == 403
    auth.logout()
    auth.login("admin")
    page = f"/flags/{flag.id}"
    response = client.post_form(f"{page}/phrases", {
        "phrases": "cancel my account\nclose my account\n", "speakers": "customer",
        "note": "narrower", "expected": "1"}, page=page)
    assert response.status_code == 302
    session.expire_all()
    assert flags.get_flag(session, flag.id).active_number == 2
    # an editor who saw version 1 is told, and keeps what they typed
    response = client.post_form(f"{page}/phrases", {
        "phrases": "switch provider", "speakers": "customer", "expected": "1"}, page=page)
    assert response.status_code == 409
    html = response.get_data(as_text=True)
    assert "Someone saved version 2" in html and "switch provider" in html
    # activating the old version again is explicit and keeps both versions' results
    response = client.post_form(f"{page}/versions/1/activate", {}, page=page)
    assert response.status_code == 302
    session.expire_all()
    assert flags.get_flag(session, flag.id).active_number == 1
    assert session.scalar(select(FlagVersion).where(FlagVersion.flag_id == flag.id,
                                                    FlagVersion.number == 2)) is not None


def test_the_api_lists_the_queue_and_records_verdicts_with_permissions(client, session, people,
                                                                       flagged):
    def bearer(user):
        _token, plaintext = tokens.create_token(session, factories.SYSTEM, user.id, name="t")
        session.commit()
        return {"Authorization": f"Bearer {plaintext}"}

    qa, agent = bearer(people["qa"]), bearer(people["agent_a"])
    body = client.get("/api/v1/review-queue", headers=qa).get_json()
    assert body["total"] == 3 and body["items"][0]["interaction_id"] == flagged["worst"].id
    assert body["items"][0]["reasons"][0]["evidence"]
    assert client.get("/api/v1/review-queue", headers=agent).status_code == 403
    lead_b = bearer(people["lead_b"])  # another team's interaction reads as absent
    assert client.get(f"/api/v1/review-queue/{flagged['cancel'].id}",
                      headers=lead_b).status_code == 404
    assert client.post(f"/api/v1/review-queue/{flagged['cancel'].id}/verdicts",
                       json={"flag_id": 1, "verdict": "confirmed"},
                       headers=lead_b).status_code == 404
    flag = session.scalar(select(Flag).where(Flag.name == "cancellation (phrases)"))
    response = client.post(f"/api/v1/review-queue/{flagged['cancel'].id}/verdicts",
                           json={"flag_id": flag.id, "verdict": "rejected"}, headers=qa)
    assert response.status_code == 400 and "Say why" in response.get_json()["message"]
    response = client.post(f"/api/v1/review-queue/{flagged['cancel'].id}/verdicts",
                           json={"flag_id": flag.id, "verdict": "confirmed"}, headers=qa)
    assert response.status_code == 201 and response.get_json()["verdict"] == "confirmed"
    shown = client.get(f"/api/v1/review-queue/{flagged['cancel'].id}",
                       headers=qa).get_json()
    assert any(s["flag"] == "cancellation (phrases)" and s["verdict"] == "confirmed"
               for s in shown)
    listed = client.get("/api/v1/flags", headers=qa).get_json()
    assert any(r["name"] == "complaint" and r["active"] == 1 for r in listed)


def test_a_rules_numbers_are_edited_on_its_page_as_a_new_version(client, auth, session,
                                                                  people, flagged):
    auth.login("admin")
    silence = flags.get_flag(session, "long silence")
    page = f"/flags/{silence.id}"
    html = client.get(page).get_data(as_text=True)
    assert 'id="settings-form"' in html and 'name="min_s" value="30.0"' in html
    response = client.post_form(f"{page}/settings", {"min_s": "lots", "expected": "1"},
                                page=page)
    assert response.status_code == 400 and 'value="lots"' in response.get_data(as_text=True)
    response = client.post_form(f"{page}/settings", {"min_s": "-5", "expected": "1"},
                                page=page)
    assert response.status_code == 400
    assert "min_s must be a number of seconds above 0" in response.get_data(as_text=True)
    response = client.post_form(f"{page}/settings", {"min_s": "45", "expected": "1",
                                                     "note": "fewer, longer"}, page=page)
    assert response.status_code == 302
    session.expire_all()
    version = flags.active_version(session, flags.get_flag(session, silence.id))
    assert version.number == 2 and version.params["min_s"] == 45.0
    assert version.note == "fewer, longer"
    assert "45 s" in flags.get_flag(session, silence.id).description
    response = client.post_form(f"{page}/settings", {"min_s": "50", "expected": "1"},
                                page=page)
    assert response.status_code == 409 and "Someone saved version 2" in \
        response.get_data(as_text=True)


def test_the_interactions_list_flagged_filter_reads_the_named_flags(client, auth, session,
                                                                    people, flagged):
    auth.login("qa")
    page = client.get("/interactions?flagged=1").get_data(as_text=True)
    for name in ("worst", "cancel", "team_b"):
        assert f'/interactions/{flagged[name].id}"' in page
    assert f'/interactions/{flagged["calm"].id}"' not in page
    # rejected where it fired, the only flag of "cancel" no longer counts
    shown = [s.flag.name for s in flag_queries.of_interaction(session, flagged["cancel"])[0]]
    for name in shown:
        flags.record_verdict(session, people["qa"], flagged["cancel"].id, name, "rejected",
                             "not what the customer meant")
    session.commit()
    page = client.get("/interactions?flagged=1").get_data(as_text=True)
    assert f'/interactions/{flagged["cancel"].id}"' not in page


def test_the_leads_digest_counts_their_teams_flagged_contacts_per_flag(runner, session, people,
                                                                       flagged):
    import json

    body = json.loads(runner.invoke("report", "digest", "--lead", "lead.a", "--json").output)
    item = {i["title"]: i for i in body["items"]}["Flagged contacts waiting for review"]
    lead_items, total = queries.queue(session, people["lead_a"])
    assert item["value"] == total == 2  # team A's two that cancel; not team B's
    assert "cancellation (phrases): 2" in item["detail"]
    assert "complaint: 1" in item["detail"]
    hr = json.loads(runner.invoke("report", "digest", "--lead", "hr", "--json").output)
    assert "Flagged contacts waiting for review" not in {i["title"] for i in hr["items"]}
