"""The evaluation workflow as its users go through it: sample, score, release, dispute, adjust,
acknowledge; double submits, stale edits, windows and limits; all on the real database."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import factories
import pytest
from sqlalchemy import func, select

from qm.audit import AuditEntry
from qm.auth import tokens
from scoring.evaluations import disputes as dispute_rules
from scoring.evaluations import services as ev
from scoring.evaluations.models import Dispute, Evaluation, EvaluationAnswer, EvaluationRevision
from scoring.sampling import services as sampling

WEEK = "2026-W45"  # factories.create_interaction starts contacts on Monday 2026-11-02

FORM = factories.WORKFLOW_FORM


def _token(session, user) -> dict[str, str]:
    _token_row, plaintext = tokens.create_token(session, factories.SYSTEM, user.id,
                                                       name="test")
    session.commit()
    return {"Authorization": f"Bearer {plaintext}"}


def _answers(**values: str) -> dict[str, str]:
    return {f"q-{k}": v for k, v in values.items()}


def _evaluation(session, evaluation_id: int) -> Evaluation:
    session.expire_all()
    item = session.get(Evaluation, evaluation_id)
    assert item is not None
    return item


def test_the_whole_workflow_through_the_web(client, auth, session, people):
    agent, qa, lead = people["agent_a"], people["qa"], people["lead_a"]
    for _ in range(3):
        factories.create_interaction(session, agent)
    session.commit()
    admin_api = _token(session, people["admin"])

    # An admin publishes the form (the JSON import the builder also uses) and a rule.
    response = client.post("/api/v1/forms?publish=true", json=FORM, headers=admin_api)
    assert response.status_code == 201, response.json
    auth.login("admin")
    form_id = client.get("/api/v1/forms", headers=admin_api).json[0]["id"]
    response = client.post_form("/sampling", {
        "name": "Team A weekly", "team_id": str(people["team_a"].id), "channel": "",
        "queue": "", "per_agent": "1", "evaluator_daily_cap": "5", "form_id": str(form_id),
        "active": "y"}, page="/sampling")
    assert response.status_code == 302, response.get_data(as_text=True)
    response = client.post_form("/sampling/run", {"week": WEEK, "seed": "3"}, page="/sampling")
    assert response.status_code == 200
    assert "1 assignment(s) created for 2026-W45" in response.get_data(as_text=True)
    auth.logout()

    # The evaluator finds it in their queue and scores it, with a live score on the way.
    auth.login("qa")
    queue = client.get("/evaluations").get_data(as_text=True)
    evaluation_id = int(re.search(r'/evaluations/(\d+)"', queue).group(1))
    page = client.get(f"/evaluations/{evaluation_id}").get_data(as_text=True)
    assert "Greets the customer" in page and 'name="q-greet"' in page
    preview = client.post_form(f"/evaluations/{evaluation_id}/preview",
                               _answers(greet="yes", verify="yes", empathy="3"),
                               page=f"/evaluations/{evaluation_id}")
    assert preview.status_code == 200
    assert preview.json["total"] == "75.00"  # opening 100, care 2/4 = 50
    version = _evaluation(session, evaluation_id).version

    # Submitting with a question left open: a precise message, and the answers stay typed.
    response = client.post_form(f"/evaluations/{evaluation_id}", {
        **_answers(greet="yes", empathy="4"), "version": str(version), "action": "submit",
        "comment": "Good warm opening."}, page=f"/evaluations/{evaluation_id}")
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "question(s) still need an answer" in html
    assert re.search(r'name="q-empathy"[^>]*value="4" checked', html)
    assert "Good warm opening." in html
    assert _evaluation(session, evaluation_id).status == "assigned"

    response = client.post_form(f"/evaluations/{evaluation_id}", {
        **_answers(greet="yes", verify="no", empathy="5", reason="question"),
        "note-verify": "Ask for the date of birth first.", "version": str(version),
        "action": "submit", "comment": "Good warm opening."},
        page=f"/evaluations/{evaluation_id}")
    assert response.status_code == 302
    item = _evaluation(session, evaluation_id)
    assert (item.status, item.score, item.critical_fail) == ("released", Decimal("0.00"), True)
    assert item.critical_reasons == ["Opening: Verifies identity"]
    assert item.revision == 1

    # A second submit (a double click, a back button) changes nothing and says why.
    again = client.post_form(f"/evaluations/{evaluation_id}", {
        **_answers(greet="no", verify="yes", empathy="1", reason="question"),
        "version": str(version), "action": "submit"}, page="/evaluations")
    assert again.status_code == 409
    assert "already submitted" in again.get_data(as_text=True)
    assert _evaluation(session, evaluation_id).answers["greet"] == "yes"
    auth.logout()

    # The agent sees it with the feedback and disputes it.
    auth.login("agent.a")
    page = client.get(f"/evaluations/{evaluation_id}").get_data(as_text=True)
    assert "Ask for the date of birth first." in page and "Acknowledge" in page
    response = client.post_form(f"/evaluations/{evaluation_id}/dispute",
                                {"reason": "I verified the caller by PIN at 0:40."},
                                page=f"/evaluations/{evaluation_id}")
    assert response.status_code == 302
    assert _evaluation(session, evaluation_id).status == "disputed"
    auth.logout()

    # The evaluator cannot decide their own evaluation's dispute; the team lead can.
    dispute_id = session.scalar(select(Dispute.id))
    auth.login("qa")
    assert "Disputes to review" in client.get("/evaluations").get_data(as_text=True)
    assert f"/disputes/{dispute_id}" not in client.get("/disputes").get_data(as_text=True)
    auth.logout()
    auth.login("lead.a")
    assert f"/disputes/{dispute_id}" in client.get("/disputes").get_data(as_text=True)
    response = client.post_form(f"/disputes/{dispute_id}", {
        **_answers(greet="yes", verify="yes", empathy="5", reason="question"),
        "outcome": "adjusted", "comment": "The PIN check is on the recording at 0:40.",
        "version": "1"}, page=f"/disputes/{dispute_id}")
    assert response.status_code == 302, response.get_data(as_text=True)
    item = _evaluation(session, evaluation_id)
    assert (item.status, item.score, item.critical_fail, item.revision) == (
        "released", Decimal("100.00"), False, 2)
    auth.logout()

    # Both revisions stay readable; the agent acknowledges the adjusted result.
    auth.login("agent.a")
    page = client.get(f"/evaluations/{evaluation_id}").get_data(as_text=True)
    assert "Answers of revision 1" in page and "adjusted" in page
    assert "The PIN check is on the recording at 0:40." in page
    response = client.post_form(f"/evaluations/{evaluation_id}/acknowledge",
                                {"comment": "Thanks."}, page=f"/evaluations/{evaluation_id}")
    assert response.status_code == 302
    assert _evaluation(session, evaluation_id).status == "acknowledged"
    card = client.get(f"/scorecards/{agent.id}").get_data(as_text=True)
    assert "Too few evaluations to conclude: 1" in card
    assert re.search(r'id="scorecard-mean">100.0<', card)

    revisions = session.scalars(select(EvaluationRevision).order_by(
        EvaluationRevision.number)).all()
    assert [(r.kind, r.score) for r in revisions] == [("submitted", Decimal("0.00")),
                                                      ("adjusted", Decimal("100.00"))]
    assert revisions[0].answers["verify"] == "no"  # history is not overwritten
    actions = set(session.scalars(select(AuditEntry.action)))
    assert {"evaluation.assigned", "evaluation.submitted", "dispute.raised", "dispute.adjusted",
            "evaluation.revised", "evaluation.acknowledged", "sampling_rule.created"} <= actions
    del qa, lead


@pytest.fixture
def scored(session, people):
    """An evaluation of agent.a's contact, scored by qa on the simple form: released."""
    factories.create_form(session)
    interaction = factories.create_interaction(session, people["agent_a"])
    item = ev.start_evaluation(session, people["qa"], interaction)
    ev.submit(session, people["qa"], item.id, {"greet": "yes", "verify": "yes"})
    session.commit()
    return item


def test_a_stale_draft_is_refused_and_keeps_what_was_typed(client, auth, session, people):
    factories.create_form(session)
    interaction = factories.create_interaction(session, people["agent_a"])
    item = ev.start_evaluation(session, people["qa"], interaction)
    session.commit()
    auth.login("qa")
    url = f"/evaluations/{item.id}"
    first = client.post_form(url, {**_answers(greet="yes"), "version": str(item.version),
                                   "action": "draft"}, page=url)
    assert first.status_code == 302
    late = client.post_form(url, {**_answers(greet="no", verify="no"),
                                  "version": str(item.version), "action": "draft",
                                  "comment": "my long feedback"}, page=url)
    assert late.status_code == 409
    html = late.get_data(as_text=True)
    assert "Someone else saved this evaluation" in html
    assert re.search(r'name="q-verify"[^>]*value="no" checked', html)
    assert "my long feedback" in html
    assert _evaluation(session, item.id).answers == {"greet": "yes"}
    # The page now carries the version it was rebuilt from: saving again, knowingly, works.
    version = re.search(r'name="version" value="(\d+)"', html).group(1)
    assert int(version) == _evaluation(session, item.id).version
    again = client.post_form(url, {**_answers(greet="no", verify="no"), "version": version,
                                   "action": "draft", "comment": "my long feedback"}, page=url)
    assert again.status_code == 302
    assert _evaluation(session, item.id).answers == {"greet": "no", "verify": "no"}


def test_only_the_assigned_evaluator_scores(client, auth, session, people, scored):
    other = factories.create_interaction(session, people["agent_a2"])
    item = ev.start_evaluation(session, people["qa"], other)
    session.commit()
    auth.login("admin")
    response = client.post_form(f"/evaluations/{item.id}", {
        **_answers(greet="yes", verify="yes"), "action": "submit"},
        page=f"/evaluations/{scored.id}")
    assert response.status_code == 409
    assert "assigned to Qa, not to you" in response.get_data(as_text=True)
    assert _evaluation(session, item.id).status == "assigned"


def test_nobody_evaluates_their_own_contact(session, people):
    both = factories.create_user(session, "qa.agent", roles=["qa_evaluator", "agent"])
    factories.create_form(session)
    interaction = factories.create_interaction(session, both)
    with pytest.raises(ev.Conflict, match="own interactions"):
        ev.start_evaluation(session, both, interaction)


def test_release_after_review_hides_it_from_the_agent_until_released(app, client, auth,
                                                                     session, people):
    app.extensions["qm"]["settings"].release_mode = "review"
    factories.create_form(session)
    interaction = factories.create_interaction(session, people["agent_a"])
    item = ev.start_evaluation(session, people["qa"], interaction)
    session.commit()
    auth.login("qa")
    client.post_form(f"/evaluations/{item.id}", {**_answers(greet="yes", verify="yes"),
                                                "action": "submit"},
                     page=f"/evaluations/{item.id}")
    assert _evaluation(session, item.id).status == "submitted"
    auth.logout()
    auth.login("agent.a")
    assert client.get(f"/evaluations/{item.id}").status_code == 404
    assert f"/evaluations/{item.id}\"" not in client.get("/evaluations").get_data(as_text=True)
    auth.logout()
    auth.login("lead.b")  # another team's lead: not theirs to release
    assert client.get(f"/evaluations/{item.id}").status_code == 404
    auth.logout()
    auth.login("lead.a")
    response = client.post_form(f"/evaluations/{item.id}/release", {},
                                page=f"/evaluations/{item.id}")
    assert response.status_code == 302
    auth.logout()
    auth.login("agent.a")
    assert client.get(f"/evaluations/{item.id}").status_code == 200
    assert _evaluation(session, item.id).released_by_id == people["lead_a"].id


def test_dispute_window_limit_and_reason(session, people, scored):
    agent = people["agent_a"]
    policy = ev.Policy(dispute_window_days=14, max_disputes=1)
    with pytest.raises(ev.InvalidInput, match="Say what you disagree with"):
        ev.dispute(session, agent, scored.id, "wrong", policy=policy)
    late = scored.released_at + dt.timedelta(days=15)
    with pytest.raises(ev.Conflict, match="14-day window"):
        ev.dispute(session, agent, scored.id, "The greeting was there at 0:02.", policy=policy,
                   now=late)
    item = ev.dispute(session, agent, scored.id, "The greeting was there at 0:02.",
                      policy=policy)
    dispute_rules.decide(session, people["lead_a"], item.id, "upheld", "The greeting was missing.")
    with pytest.raises(ev.Conflict, match="the most allowed"):
        ev.dispute(session, agent, scored.id, "Still think it was there.", policy=policy)
    assert [r.kind for r in _evaluation(session, scored.id).revisions] == ["submitted",
                                                                           "upheld"]


def test_a_decision_is_made_once_and_not_by_the_evaluator(session, people, scored):
    item = ev.dispute(session, people["agent_a"], scored.id, "The greeting was there at 0:02.")
    with pytest.raises(ev.Conflict, match="neither scored"):
        dispute_rules.decide(session, people["qa"], item.id, "upheld", "It stands.")
    with pytest.raises(ev.InvalidInput, match="changes at least one answer"):
        dispute_rules.decide(session, people["admin"], item.id, "adjusted", "Same answers.",
                  answers={"greet": "yes", "verify": "yes"})
    dispute_rules.decide(session, people["admin"], item.id, "upheld", "It stands.")
    with pytest.raises(ev.Conflict, match="already decided"):
        dispute_rules.decide(session, people["lead_a"], item.id, "upheld", "Again.")


def test_the_agent_cannot_see_or_answer_someone_elses(client, auth, session, people, scored):
    auth.login("agent.a2")
    assert client.get(f"/evaluations/{scored.id}").status_code == 404
    response = client.post_form(f"/evaluations/{scored.id}/acknowledge", {},
                                page="/evaluations")
    assert response.status_code == 404
    assert _evaluation(session, scored.id).status == "released"


def test_answers_rows_follow_the_latest_revision(session, people, scored):
    rows = dict(session.execute(select(EvaluationAnswer.question_key, EvaluationAnswer.earned)
                                .where(EvaluationAnswer.evaluation_id == scored.id)).all())
    assert rows == {"greet": Decimal("1.0000"), "verify": Decimal("2.0000")}
    item = ev.dispute(session, people["agent_a"], scored.id, "Please look at the greeting.")
    dispute_rules.decide(session, people["lead_a"], item.id, "adjusted", "No greeting after all.",
              answers={"greet": "no", "verify": "yes"})
    session.commit()
    rows = dict(session.execute(select(EvaluationAnswer.question_key, EvaluationAnswer.earned)
                                .where(EvaluationAnswer.evaluation_id == scored.id)).all())
    assert rows == {"greet": Decimal("0.0000"), "verify": Decimal("2.0000")}
    assert session.scalar(select(func.count()).select_from(EvaluationRevision)) == 2


def test_the_api_walks_the_same_workflow(client, session, people):
    factories.create_form(session)
    interaction = factories.create_interaction(session, people["agent_a"])
    qa, agent, lead = (_token(session, people[k]) for k in ("qa", "agent_a", "lead_a"))
    created = client.post(f"/api/v1/interactions/{interaction.id}/evaluations", headers=qa)
    assert created.status_code == 201
    evaluation_id, version = created.json["id"], created.json["version"]
    queue = client.get("/api/v1/evaluations?queue=true", headers=qa).json["items"]
    assert [e["id"] for e in queue] == [evaluation_id]
    draft = client.put(f"/api/v1/evaluations/{evaluation_id}", headers=qa,
                       json={"answers": {"greet": "yes"}, "version": version})
    assert draft.status_code == 200
    stale = client.put(f"/api/v1/evaluations/{evaluation_id}", headers=qa,
                       json={"answers": {"greet": "no"}, "version": version})
    assert stale.status_code == 409
    version = draft.json["version"]
    unlocked = client.post(f"/api/v1/evaluations/{evaluation_id}/submit", headers=qa,
                           json={"answers": {"greet": "no", "verify": "yes"}})
    assert unlocked.status_code == 422 and "version" in unlocked.json["errors"]["json"]
    bad = client.post(f"/api/v1/evaluations/{evaluation_id}/submit", headers=qa,
                      json={"answers": {"greet": "maybe", "verify": "yes"},
                            "version": version})
    assert bad.status_code == 400 and bad.json["errors"] == {"greet": "answer yes or no"}
    done = client.post(f"/api/v1/evaluations/{evaluation_id}/submit", headers=qa,
                       json={"answers": {"greet": "no", "verify": "yes"},
                             "comment": "Greet first.", "version": version})
    assert done.status_code == 200 and done.json["score"] == "66.67"
    assert client.post(f"/api/v1/evaluations/{evaluation_id}/release",
                       headers=agent).status_code == 403
    dispute = client.post(f"/api/v1/evaluations/{evaluation_id}/disputes", headers=agent,
                          json={"reason": "I greeted the customer at 0:01."})
    assert dispute.status_code == 201
    listed = client.get("/api/v1/disputes", headers=lead).json
    assert [d["id"] for d in listed] == [dispute.json["id"]]
    decided = client.post(f"/api/v1/disputes/{dispute.json['id']}/decision", headers=lead,
                          json={"outcome": "adjusted", "comment": "Greeting heard at 0:01.",
                                "answers": {"greet": "yes", "verify": "yes"},
                                "version": dispute.json["version"]})
    assert decided.status_code == 200 and decided.json["status"] == "adjusted"
    detail = client.get(f"/api/v1/evaluations/{evaluation_id}", headers=agent).json
    assert detail["score"] == "100.00"
    assert [r["score"] for r in detail["revisions"]] == ["66.67", "100.00"]
    ack = client.post(f"/api/v1/evaluations/{evaluation_id}/acknowledge", headers=agent,
                      json={"comment": "ok"})
    assert ack.status_code == 200 and ack.json["status"] == "acknowledged"
    card = client.get(f"/api/v1/scorecards/{people['agent_a'].id}", headers=lead).json
    assert (card["n"], card["mean"], card["conclusive"]) == (1, 100.0, False)
    other_team = _token(session, people["lead_b"])
    assert client.get(f"/api/v1/scorecards/{people['agent_a'].id}",
                      headers=other_team).status_code == 404


def test_the_home_page_says_what_waits_for_each_user(client, auth, session, people, scored):
    other = factories.create_interaction(session, people["agent_a2"])
    ev.start_evaluation(session, people["qa"], other)
    ev.dispute(session, people["agent_a"], scored.id, "The greeting was there at 0:02.")
    session.commit()
    auth.login("qa")
    home = client.get("/").get_data(as_text=True)
    assert re.search(r"My evaluation queue.*?>\s*1\s*<", home, re.S)
    auth.logout()
    auth.login("lead.a")
    home = client.get("/").get_data(as_text=True)
    assert re.search(r"Disputes to review.*?>\s*1\s*<", home, re.S)
    auth.logout()
    auth.login("agent.a")
    home = client.get("/").get_data(as_text=True)
    assert "Evaluations to acknowledge" in home and "My scorecard" in home


def test_a_lead_who_is_also_evaluated_cannot_see_or_release_their_own(app, client, auth,
                                                                       session, people):
    app.extensions["qm"]["settings"].release_mode = "review"
    both = factories.create_user(session, "lead.agent", roles=["team_lead", "agent"],
                                 team=people["team_a"])
    people["team_a"].leads.append(both)
    factories.create_form(session)
    item = ev.start_evaluation(session, people["qa"], factories.create_interaction(session, both))
    ev.submit(session, people["qa"], item.id, {"greet": "yes", "verify": "yes"},
              policy=ev.Policy(release="review"))
    session.commit()
    auth.login("lead.agent")
    assert client.get(f"/evaluations/{item.id}").status_code == 404
    listing = client.get("/evaluations?tab=all").get_data(as_text=True)
    assert f"/evaluations/{item.id}\"" not in listing
    assert client.post_form(f"/evaluations/{item.id}/release", {},
                            page="/evaluations").status_code == 404
    session.expire_all()
    with pytest.raises(ev.NotFound):  # the service says the same as the page
        ev.release(session, session.get(type(both), both.id), item.id)
    assert _evaluation(session, item.id).status == "submitted"


def test_a_scorecard_shows_a_lead_only_what_was_scored_in_their_teams(client, auth, session,
                                                                      people, scored):
    agent = people["agent_a"]
    agent.team_id = people["team_b"].id  # the agent moves to team B after the evaluation
    session.commit()
    auth.login("lead.b")
    card = client.get(f"/scorecards/{agent.id}").get_data(as_text=True)
    assert re.search(r'id="scorecard-n">0<', card)
    auth.logout()
    auth.login("lead.a")
    assert client.get(f"/scorecards/{agent.id}").status_code == 404  # no longer their agent
    auth.logout()
    auth.login("qa")
    assert re.search(r'id="scorecard-n">1<', client.get(f"/scorecards/{agent.id}")
                     .get_data(as_text=True))


def test_the_visible_clause_with_named_parameters_keeps_what_the_literal_one_keeps(
        session, people, scored):
    """The scorecard builds its statements once per shape of the viewer's scope and binds each
    viewer's id and teams: the same rows as the clause with the values written in, and one
    statement for two leads of different teams."""
    b = ev.start_evaluation(session, people["qa"], factories.create_interaction(
        session, people["agent_b"]))
    ev.submit(session, people["qa"], b.id, {"greet": "no", "verify": "yes"})
    draft = ev.start_evaluation(session, people["qa"], factories.create_interaction(
        session, people["agent_a2"]))  # the team's lead sees it; its agent does not yet
    session.commit()
    kept = {}
    for name, actor in people.items():
        if name.startswith("team"):
            continue
        literal = set(session.scalars(select(Evaluation.id).where(ev.visible_clause(actor))))
        shaped = ev.visible_shape(actor)
        named = set(session.scalars(select(Evaluation.id).where(shaped.clause), shaped.params))
        assert named == literal, name
        built: dict = {}  # the clause kept for the shape binds what building it afresh would
        assert shaped.clause.compare(ev.visible_clause(actor, built)) and shaped.params == built
        kept[name] = named
    assert kept["lead_a"] == {scored.id, draft.id} and kept["lead_b"] == {b.id}
    assert kept["agent_a"] == {scored.id} and kept["agent_a2"] == set()
    assert len(kept["admin"]) == 3
    lead_a, lead_b = ev.visible_shape(people["lead_a"]), ev.visible_shape(people["lead_b"])
    assert lead_a.shape == lead_b.shape and lead_a.params != lead_b.params
    assert (select(Evaluation.id).where(lead_a.clause)._generate_cache_key()
            == select(Evaluation.id).where(lead_b.clause)._generate_cache_key())
    assert ev.visible_shape(people["agent_a"]).shape != lead_a.shape


def test_an_interaction_is_evaluated_once_even_in_a_race(session, people, scored):
    from sqlalchemy.exc import IntegrityError

    session.add(Evaluation(interaction_id=scored.interaction_id, agent_id=scored.agent_id,
                           evaluator_id=people["admin"].id,
                           form_version_id=scored.form_version_id, answers={}, notes={},
                           critical_reasons=[], section_scores={}))
    with pytest.raises(IntegrityError):
        session.flush()


def test_the_dispute_window_ends_with_its_last_day(session, people, scored):
    scored.released_at = dt.datetime(2026, 1, 1, 15, 0, tzinfo=dt.UTC)
    session.flush()
    policy = ev.Policy(dispute_window_days=14)
    assert ev.respond_by(scored, policy) == dt.datetime(2026, 1, 16, tzinfo=dt.UTC)
    with pytest.raises(ev.Conflict, match="closed at the end of 2026-01-15"):
        ev.dispute(session, people["agent_a"], scored.id, "The greeting was there at 0:02.",
                   policy=policy, now=dt.datetime(2026, 1, 16, 0, 0, tzinfo=dt.UTC))
    ev.dispute(session, people["agent_a"], scored.id, "The greeting was there at 0:02.",
               policy=policy, now=dt.datetime(2026, 1, 15, 23, 59, tzinfo=dt.UTC))
    # The days are counted in the agent's zone (ahead of UTC, the same release falls on the
    # same local day); an agent without a zone has the site's.
    scored.agent.timezone = "Europe/Berlin"
    assert ev.respond_by(scored, policy).isoformat() == "2026-01-16T00:00:00+01:00"
    scored.agent.timezone = ""
    berlin = ev.Policy(dispute_window_days=14, timezone="Europe/Berlin")
    assert ev.respond_by(scored, berlin).isoformat() == "2026-01-16T00:00:00+01:00"
    assert ev.last_day_to_dispute(scored, berlin) == dt.date(2026, 1, 15)


def test_a_scorecards_weakest_questions_are_reused_until_an_evaluation_changes(
        session, people, scored):
    """The weakest questions are kept by the (id, version) of the evaluations they come from:
    read again, nothing is aggregated; a dispute that changes answers changes the list."""
    from sqlalchemy import event

    from scoring.reports import queries as reports

    agent = people["agent_a"]
    reads: list[str] = []
    engine = session.get_bind()
    listen = lambda *a: reads.append(a[2])  # noqa: E731
    event.listen(engine, "before_cursor_execute", listen)
    try:
        first = reports.scorecard(session, agent)
        aggregated = [s for s in reads if "evaluation_answers" in s]
        reads.clear()
        again = reports.scorecard(session, agent)
        assert [s for s in reads if "evaluation_answers" in s] == []
        assert again.weakest == first.weakest
        assert {q["key"]: q["percent"] for q in first.weakest} == {"greet": 100.0,
                                                                  "verify": 100.0}
        assert len(aggregated) == 1
        # read inside a transaction that wrote, then undone: what it read is not kept (the
        # same version number comes back below with other answers)
        item = ev.dispute(session, agent, scored.id, "The verification was skipped.")
        dispute_rules.decide(session, people["lead_a"], item.id, "adjusted", "Skipped.",
                             answers={"greet": "yes", "verify": "no"})
        assert {q["key"]: q["percent"] for q in reports.scorecard(session, agent).weakest} == {
            "greet": 100.0, "verify": 0.0}
        session.rollback()
        item = ev.dispute(session, agent, scored.id, "The greeting was there at 0:02.")
        dispute_rules.decide(session, people["lead_a"], item.id, "adjusted", "Not heard.",
                             answers={"greet": "no", "verify": "yes"})
        session.commit()
        reads.clear()
        changed = reports.scorecard(session, agent)
        assert [s for s in reads if "evaluation_answers" in s]  # aggregated afresh
    finally:
        event.remove(engine, "before_cursor_execute", listen)
    assert {q["key"]: q["percent"] for q in changed.weakest} == {"greet": 0.0, "verify": 100.0}
    assert changed.weakest[0]["key"] == "greet"


def test_upholding_does_not_swallow_changed_answers(session, people, scored):
    item = ev.dispute(session, people["agent_a"], scored.id, "The greeting was there at 0:02.")
    with pytest.raises(ev.InvalidInput, match="choose 'adjusted'"):
        dispute_rules.decide(session, people["lead_a"], item.id, "upheld", "Stands.",
                  answers={"greet": "no", "verify": "yes"})
    dispute_rules.decide(session, people["lead_a"], item.id, "upheld", "Stands.",
              answers={"greet": "yes", "verify": "yes"})
    assert _evaluation(session, scored.id).revision == 2


def test_read_only_pages_leave_out_unmet_conditional_questions(client, auth, session, people):
    factories.create_form(session, FORM)
    item = ev.start_evaluation(session, people["qa"],
                               factories.create_interaction(session, people["agent_a"]))
    ev.submit(session, people["qa"], item.id,
              {"greet": "yes", "verify": "yes", "empathy": "4", "reason": "question"})
    session.commit()
    auth.login("agent.a")
    page = client.get(f"/evaluations/{item.id}").get_data(as_text=True)
    assert "Shows empathy" in page and "Apologises for the trouble" not in page


def test_an_ad_hoc_evaluation_uses_the_form_of_the_matching_rule(session, people):
    factories.create_form(session)  # "Test form", first by name
    chat_form = factories.create_form(session, {**FORM, "name": "Zeta chat form"})
    sampling.save_rule(session, factories.SYSTEM, {"name": "Chats of team A",
                                                   "team_id": people["team_a"].id,
                                                   "channel": "chat",
                                                   "form_id": chat_form.form_id})
    chat = factories.create_interaction(session, people["agent_a"], channel="chat")
    voice = factories.create_interaction(session, people["agent_a"], channel="voice")
    # the pages and the API ask sampling for the form, and start the evaluation on it
    assert sampling.rule_form_for(session, chat) == chat_form.form_id
    assert sampling.rule_form_for(session, voice) is None
    started = ev.start_evaluation(session, people["qa"], chat,
                                  form_id=sampling.rule_form_for(session, chat))
    assert started.form_version_id == chat_form.id
    assert ev.start_evaluation(session, people["qa"], voice).form_version_id != chat_form.id


def test_flagged_interactions_per_agent_through_the_web_and_the_targeted_mark(
        client, auth, session, people):
    from scoring.sampling.models import SamplingRule

    version = factories.create_form(session, FORM)
    session.commit()
    auth.login("admin")
    fields = {"name": "With flagged", "team_id": "", "channel": "", "queue": "",
              "per_agent": "2", "evaluator_daily_cap": "5", "form_id": str(version.form_id),
              "active": "y"}
    refused = client.post_form("/sampling", {**fields, "flagged_per_agent": "21"},
                               page="/sampling")
    assert refused.status_code == 400
    assert "between 0 and 20" in refused.get_data(as_text=True)
    assert session.scalar(select(func.count(SamplingRule.id))) == 0
    response = client.post_form("/sampling", {**fields, "flagged_per_agent": "2"},
                                page="/sampling")
    assert response.status_code == 302, response.get_data(as_text=True)
    rule = session.scalar(select(SamplingRule))
    assert rule.flagged_per_agent == 2
    assert "Flagged, on top" in client.get("/sampling").get_data(as_text=True)
    auth.logout()
    admin_api = _token(session, people["admin"])
    body = {"name": "API rule", "form_id": version.form_id, "flagged_per_agent": 25}
    refused = client.post("/api/v1/sampling-rules", json=body, headers=admin_api)
    # The API's schema states the range (0-20), so it refuses first, as a 422 naming the field.
    assert refused.status_code == 422 and "flagged_per_agent" in refused.get_data(as_text=True)
    created = client.post("/api/v1/sampling-rules", json={**body, "flagged_per_agent": 3},
                          headers=admin_api)
    assert created.status_code == 201 and created.json["flagged_per_agent"] == 3

    item = ev.start_evaluation(session, people["qa"],
                               factories.create_interaction(session, people["agent_a"]))
    item.targeted = True
    session.commit()
    auth.login("qa")
    page = client.get(f"/evaluations/{item.id}").get_data(as_text=True)
    assert 'id="targeted"' in page and "not counted in averages" in page
    api = client.get(f"/api/v1/evaluations/{item.id}", headers=_token(session, people["qa"]))
    assert api.json["targeted"] is True
    ev.submit(session, people["qa"], item.id, {"greet": "no", "verify": "no", "empathy": 1,
                                               "reason": "question"})
    session.commit()
    agent_id = people["agent_a"].id
    card = client.get(f"/scorecards/{agent_id}").get_data(as_text=True)
    assert '<span id="scorecard-targeted">1</span> targeted' in card
    assert '<span id="scorecard-n">0</span>' in card
    api = client.get(f"/api/v1/scorecards/{agent_id}", headers=admin_api).json
    assert (api["n"], api["targeted"], api["critical_fails"]) == (0, 1, 1)


def test_a_published_forms_rules_are_parsed_once_and_a_drafts_every_time(session, people):
    """``form_of`` reuses the rules of a version no longer a draft (its definition never
    changes) and parses a draft's afresh: an edit of a draft shows at once."""
    published = factories.create_form(session)
    session.commit()
    item = ev.start_evaluation(session, people["qa"], factories.create_interaction(
        session, people["agent_a"]))
    session.commit()
    first = ev.form_of(item)
    assert ev.form_of(item) is first  # the same frozen rules, not parsed again
    assert first == ev.rules.form_from_dict(published.definition)
    version = factories.create_form(session, dict(factories.SIMPLE_FORM, name="Drafted"),
                                    publish=False)
    session.commit()
    assert version.status == "draft"
    item.form_version = version
    assert ev.form_of(item) is not ev.form_of(item)  # a draft: parsed every time
    edited = dict(version.definition, sections=version.definition["sections"][:1])
    version.definition = edited
    assert ev.form_of(item) == ev.rules.form_from_dict(edited)
    session.rollback()
