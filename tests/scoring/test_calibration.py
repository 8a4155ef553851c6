"""Calibration sessions end to end: create, score blind, close, compare, agree, export; blind
mode really hides scores; calibration never reaches an agent; evaluator drift."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re

import factories
import pytest
from sqlalchemy import func, select

from qm.audit import AuditEntry
from scoring.calibration import results as cal_results
from scoring.calibration import services as cal
from scoring.calibration.models import CalibrationItem, CalibrationScore, CalibrationSession
from scoring.evaluations import services as ev
from scoring.evaluations.models import Evaluation
from scoring.reports import drift as drift_report

YES_ALL = {"greet": "yes", "verify": "yes"}


def _answers(**values: str) -> dict[str, str]:
    return {f"q-{k}": v for k, v in values.items()}


@pytest.fixture
def setting(session, people):
    """Two contacts of team A, a published form, a second evaluator."""
    factories.create_form(session)
    contacts = [factories.create_interaction(session, people["agent_a"]) for _ in range(3)]
    qa2 = factories.create_user(session, "qa2", roles=["qa_evaluator"])
    session.commit()
    return {"contacts": contacts, "qa2": qa2}


def test_a_blind_session_from_start_to_record(client, auth, session, people, setting):
    contacts, qa2 = setting["contacts"], setting["qa2"]
    auth.login("lead.a")
    page = client.get("/calibration/new").get_data(as_text=True)
    assert "Team A" in page and "Team B" not in page  # a lead runs sessions for their teams
    form_id = re.search(r'<option[^>]*value="(\d+)"[^>]*>Test form', page).group(1)
    response = client.post_form("/calibration/new", {
        "title": "November calibration", "form_id": form_id,
        "team_id": str(people["team_a"].id), "mode": "blind", "due_on": "2026-11-30",
        "interactions": f"{contacts[0].external_id}\n{contacts[1].id}",
        "participants": [str(people["qa"].id), str(qa2.id), str(people["lead_a"].id)],
        "expert_id": "0"}, page="/calibration/new")
    assert response.status_code == 302, response.get_data(as_text=True)
    calibration = session.scalar(select(CalibrationSession))
    items = {i.position: i.id for i in session.scalars(select(CalibrationItem))}
    auth.logout()

    # The participants score on their own; a submission is final.
    def score(username: str, item: int, **values: str) -> None:
        auth.login(username)
        url = f"/calibration/items/{items[item]}"
        response = client.post_form(url, {**_answers(**values), "action": "submit"}, page=url)
        assert response.status_code == 302, response.get_data(as_text=True)
        auth.logout()

    score("qa", 1, greet="yes", verify="yes")
    score("qa", 2, greet="no", verify="yes")
    score("qa2", 1, greet="no", verify="yes")

    # Blind: before closing, nobody sees another participant's score, not even the lead.
    auth.login("qa2")
    item_page = client.get(f"/calibration/items/{items[1]}").get_data(as_text=True)
    assert "Other participants" not in item_page and "Qa:" not in item_page
    results = client.get(f"/calibration/{calibration.id}/results")
    assert results.status_code == 302
    assert client.get(f"/calibration/{calibration.id}/export.csv").status_code == 404
    again = client.post_form(f"/calibration/items/{items[1]}",
                             {**_answers(greet="yes", verify="yes"), "action": "submit"},
                             page=f"/calibration/{calibration.id}")
    assert again.status_code == 409 and "submitted this item already" in again.get_data(
        as_text=True)
    auth.logout()
    auth.login("lead.a")
    assert client.get(f"/calibration/{calibration.id}/results").status_code == 302
    session_page = client.get(f"/calibration/{calibration.id}").get_data(as_text=True)
    assert "2 / 2 submitted" in session_page and "1 / 2 submitted" in session_page

    response = client.post_form(f"/calibration/{calibration.id}/close", {},
                                page=f"/calibration/{calibration.id}")
    assert response.status_code == 302
    results = client.get(f"/calibration/{calibration.id}/results").get_data(as_text=True)
    assert "Krippendorff&#39;s alpha" in results and "Percent agreement" in results
    assert "Mean |deviation|" in results

    # The lead records the consensus of item 1: the reference for the deviations.
    response = client.post_form(f"/calibration/items/{items[1]}/consensus", {
        **_answers(greet="no", verify="yes"), "note-greet": "No greeting before 0:05.",
        "version": "1"}, page=f"/calibration/{calibration.id}/results")
    assert response.status_code == 302
    session.expire_all()
    first = session.get(CalibrationItem, items[1])
    assert str(first.consensus_score) == "66.67"
    assert first.consensus == {"greet": "no", "verify": "yes"}
    data = cal_results.results(session, session.get(CalibrationSession, calibration.id))
    item1 = data.items[0]
    assert item1.reference(people["qa"].id)[0] == "consensus"
    assert item1.deviation(people["qa"].id) == pytest.approx(100 - 66.67)
    assert item1.deviation(setting["qa2"].id) == pytest.approx(0)
    assert data.missing == {people["lead_a"].id: [1, 2], setting["qa2"].id: [2]}

    export = client.get(f"/calibration/{calibration.id}/export.csv")
    assert export.status_code == 200
    rows = list(csv.DictReader(io.StringIO(export.get_data(as_text=True))))
    greet = [r for r in rows if r["item"] == "1" and r["question"] == "greet"
             and r["evaluator"] in ("qa", "qa2")]
    assert {(r["evaluator"], r["answer"], r["consensus"]) for r in greet} == {
        ("qa", "yes", "no"), ("qa2", "no", "no")}
    printable = client.get(f"/calibration/{calibration.id}/results?print=1").get_data(
        as_text=True)
    assert "Calibration record: November calibration" in printable
    assert "Save the consensus" not in printable
    auth.logout()

    # Calibration never reaches an agent: no evaluation, nothing on the scorecard.
    assert session.scalar(select(func.count(Evaluation.id))) == 0
    auth.login("agent.a")
    card = client.get(f"/scorecards/{people['agent_a'].id}").get_data(as_text=True)
    assert re.search(r'id="scorecard-n">0<', card)
    assert client.get(f"/calibration/{calibration.id}").status_code == 403
    actions = set(session.scalars(select(AuditEntry.action)))
    assert {"calibration.created", "calibration_score.submitted", "calibration.closed",
            "calibration.consensus"} <= actions


def _session(session, people, setting, mode="blind", **kwargs):
    return cal.create_session(
        session, people["lead_a"], title=f"{mode} session", form_id=None,
        interaction_ids=[c.id for c in setting["contacts"][:2]],
        participant_ids=[people["qa"].id, setting["qa2"].id], mode=mode,
        team_id=people["team_a"].id, **kwargs)


def test_an_open_session_shows_submitted_scores_to_participants(client, auth, session, people,
                                                                setting):
    item = _session(session, people, setting, mode="open")
    first = item.items[0]
    cal.save_score(session, people["qa"], first.id, YES_ALL, submit=True)
    session.commit()
    auth.login("qa2")
    page = client.get(f"/calibration/items/{first.id}").get_data(as_text=True)
    assert "Other participants" in page and "Qa: 100.00" in page
    assert client.get(f"/calibration/{item.id}/results").status_code == 200


def test_who_may_create_see_and_score(session, people, setting):
    with pytest.raises(cal.PermissionDenied):  # lead B, for team A
        cal.create_session(session, people["lead_b"], title="x", form_id=None,
                           interaction_ids=[setting["contacts"][0].id],
                           participant_ids=[people["qa"].id, setting["qa2"].id],
                           team_id=people["team_a"].id)
    with pytest.raises(cal.InvalidInput) as info:
        cal.create_session(session, people["lead_a"], title="", form_id=None,
                           interaction_ids=[], participant_ids=[people["agent_a"].id],
                           team_id=people["team_a"].id)
    assert set(info.value.errors) == {"title", "interactions", "participants"}
    item = _session(session, people, setting)
    with pytest.raises(cal.NotFound):  # not a participant, not their team
        cal.get_session(session, people["lead_b"], item.id)
    with pytest.raises(cal.PermissionDenied, match="not invited"):
        cal.save_score(session, people["admin"], item.items[0].id, YES_ALL)
    with pytest.raises(cal.Conflict, match="two submitted scores"):
        cal.close_session(session, people["lead_a"], item.id)
    with pytest.raises(cal.Conflict, match="Close the session first"):
        cal.record_consensus(session, people["lead_a"], item.items[0].id, YES_ALL)
    draft = cal.save_score(session, people["qa"], item.items[0].id, {"greet": "yes"})
    with pytest.raises(cal.StaleEdit):  # a second tab that never saw the draft
        cal.save_score(session, people["qa"], item.items[0].id, {"greet": "no"})
    with pytest.raises(cal.InvalidInput, match="still need an answer"):
        cal.save_score(session, people["qa"], item.items[0].id, {"greet": "yes"}, submit=True,
                       expected_version=draft.version)
    cal.save_score(session, people["qa"], item.items[0].id, YES_ALL, submit=True,
                   expected_version=draft.version)
    with pytest.raises(cal.Conflict, match="two submitted scores"):  # one score: no comparison
        cal.close_session(session, people["lead_a"], item.id)
    cal.save_score(session, setting["qa2"], item.items[0].id, YES_ALL, submit=True)
    cal.close_session(session, people["lead_a"], item.id)
    with pytest.raises(cal.Conflict, match="closed"):
        cal.save_score(session, setting["qa2"], item.items[0].id, YES_ALL)


def test_agreement_is_measured_across_questions_and_items(session, people, setting):
    item = _session(session, people, setting, expert_id=people["admin"].id)
    first, second = item.items
    plans = {people["qa"]: [YES_ALL, {"greet": "no", "verify": "yes"}],
             setting["qa2"]: [YES_ALL, {"greet": "no", "verify": "yes"}],
             people["admin"]: [YES_ALL, {"greet": "no", "verify": "no"}]}
    for user, answers in plans.items():
        cal.save_score(session, user, first.id, answers[0], submit=True)
        cal.save_score(session, user, second.id, answers[1], submit=True)
    cal.close_session(session, people["lead_a"], item.id)
    data = cal_results.results(session, item)
    stats = {s.name: s for s in data.statistics}
    agreement = stats["Percent agreement, answers"]
    # Units: 2 items x 2 questions, 3 raters each: 3 pairs a unit, 12 pairs; 2 disagree.
    assert agreement.value == pytest.approx(10 / 12)
    alpha = stats["Krippendorff's alpha, answers (nominal)"]
    assert alpha.value is not None and -1 <= alpha.value < 1
    # The expert is the reference: qa scored item 2 at 66.67 where the expert scored 0.
    assert data.items[1].reference(people["qa"].id)[0] == "expert"
    # The expert's own total is compared with the others, not with itself.
    assert data.items[1].reference(people["admin"].id)[0] == "mean of the others"
    assert data.items[1].deviation(people["qa"].id) == pytest.approx(66.67)
    assert data.items[1].questions[1].spread == pytest.approx(100)
    per_question = {q.key: q for q in data.questions}
    assert per_question["greet"].agreement.value == 1.0
    assert per_question["greet"].alpha.value == pytest.approx(1.0)
    assert per_question["verify"].agreement.value == pytest.approx(4 / 6)
    assert data.matches_reference(people["qa"].id) == pytest.approx(3 / 4)
    assert data.matches_reference(people["admin"].id) is None  # the expert is the reference
    assert "Cohen's kappa, answers" not in stats  # three raters


def test_drift_alerts_on_a_lenient_evaluator(session, people, setting):
    lenient = factories.create_user(session, "qa.soft", roles=["qa_evaluator"])
    now = dt.datetime(2026, 11, 20, 12, tzinfo=dt.UTC)
    contacts = [factories.create_interaction(session, people["agent_a"]) for _ in range(12)]
    for i, contact in enumerate(contacts):
        evaluator = lenient if i % 2 else people["qa"]
        item = ev.start_evaluation(session, evaluator, contact)
        answers = YES_ALL if evaluator is lenient else {"greet": "no", "verify": "yes"}
        ev.submit(session, evaluator, item.id, answers, now=now - dt.timedelta(days=i))
    calibration = _session(session, people, setting)
    cal.save_score(session, people["qa"], calibration.items[0].id, YES_ALL, submit=True)
    cal.save_score(session, setting["qa2"], calibration.items[0].id,
                   {"greet": "no", "verify": "no"}, submit=True)
    cal.close_session(session, people["lead_a"], calibration.id)
    session.commit()
    rows = {r.evaluator.username: r for r in drift_report.evaluator_drift(
        session, people["admin"], threshold=5, now=now)}
    soft = rows["qa.soft"]
    assert soft.months[-1]["diff"] == pytest.approx(100 - 66.67)
    assert soft.alerts and "points above peers in 2026-11" in soft.alerts[0]
    assert rows["qa"].calibrations[-1]["deviation"] == pytest.approx(100)
    assert any("calibration" in a for a in rows["qa2"].alerts)


def test_the_score_table_is_separate(session, people, setting):
    item = _session(session, people, setting)
    cal.save_score(session, people["qa"], item.items[0].id, YES_ALL, submit=True)
    assert session.scalar(select(func.count(CalibrationScore.id))) == 1
    assert session.scalar(select(func.count(Evaluation.id))) == 0


def test_the_api_keeps_blind_sessions_blind(client, session, people, setting):
    from qm.auth import tokens

    def token(user):
        _row, plaintext = tokens.create_token(session, factories.SYSTEM, user.id,
                                                     name="t")
        return {"Authorization": f"Bearer {plaintext}"}

    lead, qa, qa2 = token(people["lead_a"]), token(people["qa"]), token(setting["qa2"])
    session.commit()
    created = client.post("/api/v1/calibration-sessions", headers=lead, json={
        "title": "API session", "team_id": people["team_a"].id,
        "interaction_ids": [setting["contacts"][0].id],
        "participant_ids": [people["qa"].id, setting["qa2"].id]})
    assert created.status_code == 201, created.json
    session_id, item_id = created.json["id"], created.json["items"][0]["id"]
    for headers, answers in ((qa, YES_ALL), (qa2, {"greet": "no", "verify": "yes"})):
        done = client.post(f"/api/v1/calibration-items/{item_id}/score", headers=headers,
                           json={"answers": answers, "submit": True})
        assert done.status_code == 200 and done.json["status"] == "submitted"
    seen = client.get(f"/api/v1/calibration-sessions/{session_id}", headers=qa2).json
    assert [s["evaluator_id"] for s in seen["scores"]] == [setting["qa2"].id]
    assert "statistics" not in seen
    assert client.post(f"/api/v1/calibration-sessions/{session_id}/close",
                       headers=qa).status_code == 403
    closed = client.post(f"/api/v1/calibration-sessions/{session_id}/close", headers=lead)
    assert closed.status_code == 200
    seen = client.get(f"/api/v1/calibration-sessions/{session_id}", headers=qa2).json
    assert len(seen["scores"]) == 2
    agreement = next(s for s in seen["statistics"] if s["name"].startswith("Percent"))
    assert agreement["value"] == 0.5  # greet differs, verify agrees
    consensus = client.post(f"/api/v1/calibration-items/{item_id}/consensus", headers=lead,
                            json={"answers": YES_ALL, "version": 1})
    assert consensus.status_code == 200 and consensus.json["consensus_score"] == "100.00"
    other_lead = token(people["lead_b"])
    session.commit()
    assert client.get(f"/api/v1/calibration-sessions/{session_id}",
                      headers=other_lead).status_code == 404


def test_review_findings_blindness_record_and_raters(client, auth, session, people, setting):
    """The audit log stays blind while the session is open; the statistics are frozen at
    closing; an invitee who never scored neither voids the ICC nor counts as a rater;
    conditional questions are compared; auditors read the record; a refused consensus keeps
    what the lead typed."""
    from qm.audit import AuditEntry

    workflow = factories.create_form(session, factories.WORKFLOW_FORM)
    calibration = cal.create_session(
        session, people["lead_a"], title="Conditional", form_id=workflow.form_id,
        interaction_ids=[c.id for c in setting["contacts"][:2]],
        participant_ids=[people["qa"].id, setting["qa2"].id, people["admin"].id],
        team_id=people["team_a"].id)
    base = {"greet": "yes", "verify": "yes", "empathy": "5", "reason": "complaint"}
    for item in calibration.items:
        cal.save_score(session, people["qa"], item.id, {**base, "sorry": "yes"}, submit=True)
        cal.save_score(session, setting["qa2"], item.id, {**base, "sorry": "no"}, submit=True)
    session.commit()
    logged = [e.after for e in session.scalars(select(AuditEntry).where(
        AuditEntry.entity_type == "calibration_scores"))]
    assert logged and all("answers" not in e and "score" not in e for e in logged)

    cal.close_session(session, people["lead_a"], calibration.id)
    session.commit()
    disclosed = session.scalar(select(AuditEntry).where(
        AuditEntry.action == "calibration.scores_disclosed"))
    assert len(disclosed.after["scores"]) == 4
    assert calibration.statistics and calibration.statistics[0]["name"].startswith("Kripp")
    data = cal_results.results(session, calibration)
    sorry = next(row for row in data.items[0].questions if row.key == "sorry")
    assert sorry.shares == {people["qa"].id: 1.0, setting["qa2"].id: 0.0}
    assert sorry.spread == pytest.approx(100)
    icc = next(s for s in data.statistics if s.name.startswith("ICC"))
    assert "every rater" not in icc.note  # admin never scored: not a rater
    assert data.missing == {people["admin"].id: [1, 2]}

    auth.login("auditor")
    assert client.get(f"/calibration/{calibration.id}/results").status_code == 200
    assert client.get(f"/calibration/{calibration.id}/export.csv").status_code == 200
    auth.logout()
    auth.login("lead.a")
    item_id = calibration.items[0].id
    response = client.post_form(f"/calibration/items/{item_id}/consensus", {
        "q-greet": "yes", "note-greet": "Greeting heard at 0:01.", "version": "1"},
        page=f"/calibration/{calibration.id}/results")
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "Greeting heard at 0:01." in page and "not answered" in page
