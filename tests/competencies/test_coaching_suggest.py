"""Suggested coaching (competencies/coaching/suggest.py): worked examples of the rules, and the
page a lead acts from."""

from __future__ import annotations

import datetime as dt

import factories
import pytest

from competencies.coaching import services, suggest

Q = ("question", "greet")
C = ("competency", "6.3.2")


def _answers(*shares_of_one):
    """Answers worth 1 point each: 1 earned or 0, most recent first."""
    return [(float(x), 1.0) for x in shares_of_one]


def test_a_share_under_the_threshold_is_suggested():
    found = suggest.suggest({1: {Q: _answers(1, 0, 0, 1, 0)}}, {1: None}, {})
    assert [(f.agent_id, f.subject, f.n, f.share) for f in found] == [(1, Q, 5, 40.0)]
    assert found[0].reason == "40% of points on the last 5 answers, under 70%."


def test_too_few_answers_suggest_nothing_and_open_coaching_covers_it():
    assert suggest.suggest({1: {Q: _answers(0, 0)}}, {1: None}, {}) == []
    assert suggest.suggest({1: {Q: _answers(0, 0, 0)}}, {1: None}, {1: {Q}}) == []


def test_only_the_most_recent_answers_count():
    # 10 recent full marks outweigh 20 older misses
    assert suggest.suggest({1: {Q: _answers(*([1] * 10 + [0] * 20))}}, {1: None}, {}) == []


def test_far_under_the_team_is_suggested_even_above_the_threshold():
    answers = {1: {C: _answers(1, 1, 1, 0)},  # 75%
               2: {C: _answers(1, 1, 1, 1, 1)},  # 100%
               3: {C: _answers(1, 1, 1, 1, 1)}}  # 100%
    found = suggest.suggest(answers, {1: 7, 2: 7, 3: 7}, {})
    assert [(f.agent_id, f.team_share) for f in found] == [(1, pytest.approx(275 / 3))]
    assert "17 points under the team's 92%" in found[0].reason
    # alone in a team there is nobody to compare with: 75% stands
    assert suggest.suggest({1: answers[1]}, {1: 7}, {}) == []


def test_bad_settings_are_refused():
    with pytest.raises(ValueError):
        suggest.suggest({}, {}, {}, min_n=5, recent=3)


TAGGED = {"name": "Suggest form", "sections": [{"key": "s", "title": "Basics", "weight": 1,
          "questions": [{"key": "greet", "text": "Greets the caller", "type": "yes_no",
                         "points": 1, "competencies": ["6.3.2"]},
                        {"key": "close", "text": "Closes", "type": "yes_no", "points": 1}]}]}


def test_the_lead_sees_suggestions_and_plans_from_them(client, auth, session, people):
    from scoring.evaluations import services as ev

    factories.create_form(session, TAGGED)
    for greet in ("no", "no", "yes", "no"):
        interaction = factories.create_interaction(session, people["agent_a"])
        evaluation = ev.start_evaluation(session, people["qa"], interaction)
        ev.submit(session, people["qa"], evaluation.id, {"greet": greet, "close": "yes"})
    session.commit()
    auth.login("lead.a")
    page = client.get("/coaching/suggestions").get_data(as_text=True)
    assert "Greets the caller" in page and "25%" in page and "Closes" not in page
    assert "competency: 6.3.2" in page
    assert f"/coaching/new?agent_id={people['agent_a'].id}&amp;question=greet" in page
    home = client.get("/").get_data(as_text=True)
    assert "Coaching suggested" in home
    # once a session on it is planned, the question is no longer suggested
    services.open_session(session, people["lead_a"], people["agent_a"].id, {
        "kind": "one_to_one", "planned_on": dt.date.today(), "focus_questions": ["greet"]})
    session.commit()
    page = client.get("/coaching/suggestions").get_data(as_text=True)
    assert "Greets the caller" not in page and "competency: 6.3.2" in page
    from qm.auth import tokens

    _t, plaintext = tokens.create_token(session, factories.SYSTEM, people["lead_a"].id, name="t")
    session.commit()
    api = client.get("/api/v1/coaching/suggestions",
                     headers={"Authorization": f"Bearer {plaintext}"}).json
    assert [(s["subject"], s["key"], s["n"]) for s in api] == [("competency", "6.3.2", 4)]
    auth.logout()
    auth.login("lead.b")
    assert "Greets the caller" not in client.get("/coaching/suggestions").get_data(
        as_text=True)
    auth.logout()
    auth.login("agent.a")
    assert client.get("/coaching/suggestions").status_code == 403
