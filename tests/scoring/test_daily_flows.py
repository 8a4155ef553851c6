"""What agents and evaluators meet every day (issue 17): a status filter that offers each role
only what it can see, "to acknowledge" from the home page to exactly those evaluations, a
scorecard that says how many it lists and links to the rest, a critical fail that says what it
zeroed and what the score would have been, and what is late (the evaluator's queue, disputes)
marked where it waits and counted on the home page. All on the real database."""

from __future__ import annotations

import datetime as dt
import html as htmlmod
import re
from decimal import Decimal

import factories
import pytest
from sqlalchemy import select

from qm.auth import tokens
from qm.db import utcnow
from scoring.evaluations import disputes as dispute_rules
from scoring.evaluations import queries as evaluation_queries
from scoring.evaluations import services as ev
from scoring.evaluations.models import Evaluation
from scoring.forms import rules

SECTION_FORM = factories.SECTION_CRITICAL_FORM


def _options(html: str) -> list[str]:
    select_ = re.search(r'<select[^>]*name="status".*?</select>', html, re.S).group(0)
    return re.findall(r'<option value="([^"]*)"', select_)


def _listed(html: str) -> set[int]:
    return {int(i) for i in re.findall(r'<tr data-evaluation="(\d+)"', html)}


def _scored(session, people, answers=None, **fields) -> Evaluation:
    """An evaluation of a new call of agent.a, scored by qa and released at once."""
    call = factories.create_interaction(session, people["agent_a"], **fields)
    item = ev.start_evaluation(session, people["qa"], call)
    ev.submit(session, people["qa"], item.id, answers or {"greet": "yes", "verify": "yes"})
    return item


def _policy(app) -> ev.Policy:
    return ev.Policy.from_settings(app.extensions["qm"]["settings"])


# --- 1. the critical fail in words: a pure function with worked examples -------------------------

def test_a_section_critical_says_what_it_zeroed_and_what_the_score_would_have_been():
    form = rules.form_from_dict(SECTION_FORM)
    result = rules.score(form, {"ident": "no", "disclose": "yes", "greet": "yes"})
    # Compliance earned 1 of 2 (50.00) but is zeroed: (0 + 100) / 2 = 50.00; without: 75.00
    assert result.total == Decimal("50.00")
    effect = rules.critical_effect(form, result)
    assert effect.sections == (("Compliance", Decimal("50.00")),)
    assert (effect.total, effect.total_without, effect.whole_form) == (
        Decimal("50.00"), Decimal("75.00"), False)
    assert effect.sentences() == [
        "Critical question missed: 'Verified identity?' (Compliance).",
        "The Compliance section scores 0 (it would have been 50.00); overall 50.00 instead of "
        "75.00."]
    assert rules.critical_effect(form, rules.score(
        form, {"ident": "yes", "disclose": "yes", "greet": "yes"})) is None


def test_a_form_critical_says_the_whole_evaluation_scores_zero():
    form = rules.form_from_dict(factories.SIMPLE_FORM)
    result = rules.score(form, {"greet": "yes", "verify": "no"})
    effect = rules.critical_effect(form, result)
    # 1 of 3 points without the critical effect: 33.33
    assert (result.total, effect.total_without) == (Decimal("0.00"), Decimal("33.33"))
    assert effect.sentences() == [
        "Critical question missed: 'Verifies identity' (Basics).",
        "The whole evaluation scores 0 (it would have been 33.33)."]


def test_the_evaluation_page_and_the_live_score_say_what_the_critical_fail_did(
        app, client, auth, session, people):
    factories.create_form(session, SECTION_FORM)
    item = _scored(session, people, {"ident": "no", "disclose": "yes", "greet": "yes"})
    session.commit()
    auth.login("agent.a")
    page = htmlmod.unescape(client.get(f"/evaluations/{item.id}").get_data(as_text=True))
    panel = re.search(r'id="live-critical".*?</div>', page, re.S).group(0)
    assert "Critical question missed: 'Verified identity?' (Compliance)." in panel
    assert "The Compliance section scores 0 (it would have been 50.00); overall 50.00 " \
           "instead of 75.00." in panel
    assert "critical: a miss zeroes the section" in page
    # the evaluator's live score says the same while scoring
    auth.logout()
    auth.login("qa")
    call = factories.create_interaction(session, people["agent_a2"])
    draft = ev.start_evaluation(session, people["qa"], call)
    session.commit()
    data = client.post_form(f"/evaluations/{draft.id}/preview",
                            {"q-ident": "no", "q-disclose": "no", "q-greet": "yes"},
                            page=f"/evaluations/{draft.id}").get_json()
    assert data["critical_text"] == (
        "Critical question missed: 'Verified identity?' (Compliance). The Compliance section "
        "scores 0 (it would have been 0.00); overall 50.00 instead of 50.00.")


# --- 2. the status filter, and "to acknowledge" from the home page ------------------------------

def test_an_agent_is_offered_only_the_states_an_agent_sees(client, auth, session, people):
    auth.login("agent.a")
    html = client.get("/evaluations").get_data(as_text=True)
    assert _options(html) == ["", "to_acknowledge", "released", "acknowledged", "disputed"]
    # a state the agent never sees is refused in words, not answered with an empty list
    response = client.get("/evaluations?tab=all&status=assigned")
    assert response.status_code == 400
    assert "To acknowledge, Released, Acknowledged, Disputed" in htmlmod.unescape(
        response.get_data(as_text=True))
    auth.logout()
    auth.login("lead.a")
    options = _options(client.get("/evaluations").get_data(as_text=True))
    assert options == ["", "with_agent", "assigned", "draft", "submitted", "released",
                       "acknowledged", "disputed"]


def test_the_home_card_links_to_exactly_the_evaluations_to_acknowledge(
        app, client, auth, session, people):
    factories.create_form(session)
    waiting = [_scored(session, people) for _ in range(2)]
    answered = _scored(session, people)
    ev.acknowledge(session, people["agent_a"], answered.id)
    disputed = _scored(session, people)
    ev.dispute(session, people["agent_a"], disputed.id, "The customer asked me to skip it.")
    closed = _scored(session, people)  # released 20 days ago: the 14-day window has closed
    closed.released_at = utcnow() - dt.timedelta(days=20)
    waiting[0].released_at = utcnow() - dt.timedelta(days=3)  # the soonest to close
    session.commit()
    last_day = ev.last_day_to_dispute(waiting[0], _policy(app))

    auth.login("agent.a")
    home = client.get("/").get_data(as_text=True)
    card = re.search(r'id="card-acknowledge".*?</div></div>', home, re.S).group(0)
    assert re.search(r'class="card-value">2\b', card)
    assert f"until the end of {last_day:%Y-%m-%d}" in card
    link = htmlmod.unescape(re.search(r'href="([^"]+)" class="card-link"', card).group(1))
    assert "status=to_acknowledge" in link
    listed = client.get(link).get_data(as_text=True)
    assert _listed(listed) == {e.id for e in waiting}
    assert 'value="to_acknowledge" selected' in listed
    # the API answers the same filter the same way
    _row, token = tokens.create_token(session, factories.SYSTEM, people["agent_a"].id, name="t")
    session.commit()
    items = client.get("/api/v1/evaluations?status=to_acknowledge",
                       headers={"Authorization": f"Bearer {token}"}).json["items"]
    assert {i["id"] for i in items} == {e.id for e in waiting}


@pytest.mark.parametrize("zone", ["UTC", "Pacific/Auckland", "America/Los_Angeles"])
def test_to_acknowledge_ends_with_the_window_to_dispute(app, session, people, zone):
    """The list's clause and the window the agent is shown agree at the last instant, in the
    agent's own zone."""
    factories.create_form(session)
    people["agent_a"].timezone = zone
    item = _scored(session, people)
    item.released_at = dt.datetime(2026, 12, 2, 23, 30, tzinfo=dt.UTC)
    session.commit()
    policy = _policy(app)
    closes = ev.respond_by(item, policy)
    for now, open_ in ((closes - dt.timedelta(seconds=1), True), (closes, False)):
        assert ev.window_open(item, policy, now) is open_
        found = session.scalars(select(Evaluation.id).where(
            evaluation_queries.to_acknowledge_clause(people["agent_a"], policy, now))).all()
        assert (item.id in found) is open_, (zone, now)


# --- 3. the scorecard says how many it lists, and links to the rest ----------------------------

def test_the_scorecard_says_20_of_21_and_links_to_all_21(app, client, auth, session, people):
    factories.create_form(session)
    now = utcnow()
    items = [_scored(session, people, started_at=(now - dt.timedelta(hours=i + 1)).isoformat())
             for i in range(21)]
    old = _scored(session, people)  # released before the scorecard's 12 months
    old.submitted_at = old.released_at = now - dt.timedelta(days=400)
    session.commit()
    auth.login("lead.a")
    page = htmlmod.unescape(client.get(
        f"/scorecards/{people['agent_a'].id}").get_data(as_text=True))
    said = re.search(r'id="scorecard-recent-count">(.*?)</p>', page, re.S).group(1)
    assert "The newest 20 of 21" in said and "see all 21" in said
    link = re.search(r'id="scorecard-all-link" href="([^"]+)"|href="([^"]+)" '
                     r'id="scorecard-all-link"', page)
    link = link.group(1) or link.group(2)
    assert f"agent_id={people['agent_a'].id}" in link and "since=" in link
    listed = client.get(link).get_data(as_text=True)
    assert _listed(listed) == {e.id for e in items}
    shown = re.search(r'id="active-filters">(.*?)</div>', listed, re.S).group(1)
    assert f"Agent: <strong>{people['agent_a'].display_name}</strong>" in shown


# --- 4. what is late: the evaluator's queue, disputes, counted on the home page ----------------

def test_the_queue_shows_age_and_overdue_and_the_home_page_counts_them(
        app, client, auth, session, people):
    factories.create_form(session)
    today = evaluation_queries.site_today(_policy(app), utcnow())
    late = ev.start_evaluation(session, people["qa"],
                               factories.create_interaction(session, people["agent_a"]))
    late.due_on = today - dt.timedelta(days=1)
    late.created_at = utcnow() - dt.timedelta(days=9, hours=2)
    due_today = ev.start_evaluation(session, people["qa"],
                                    factories.create_interaction(session, people["agent_b"]))
    session.commit()
    auth.login("qa")
    queue = client.get("/evaluations?tab=queue").get_data(as_text=True)
    late_row = re.search(rf'<tr data-evaluation="{late.id}".*?</tr>', queue, re.S).group(0)
    today_row = re.search(rf'<tr data-evaluation="{due_today.id}".*?</tr>', queue,
                          re.S).group(0)
    assert "overdue" in late_row and "9 days" in late_row
    assert "overdue" not in today_row and "0 days" in today_row
    home = client.get("/").get_data(as_text=True)
    card = re.search(r'id="card-queue".*?</div></div>', home, re.S).group(0)
    assert re.search(r'class="card-value">2 <span[^>]*>1 overdue', card)


def test_the_reviewers_card_counts_open_disputes_and_the_overdue_ones(
        app, client, auth, session, people):
    factories.create_form(session)
    old = factories.create_dispute(session, people["qa"],
                                   factories.create_interaction(session, people["agent_a"]))
    new = factories.create_dispute(session, people["qa"],
                                   factories.create_interaction(session, people["agent_a2"]))
    now = utcnow()
    old.raised_at = now - dt.timedelta(days=6, minutes=1)
    new.raised_at = now - dt.timedelta(days=5, hours=23)
    session.commit()
    policy = _policy(app)
    # the count's overdue is the list's overdue
    assert [dispute_rules.waiting(d, policy.review_days, now).overdue for d in (old, new)] == [
        True, False]
    assert evaluation_queries.disputes_backlog(session, people["lead_a"], policy, now) == \
        evaluation_queries.Backlog(2, 1)
    auth.login("lead.a")
    card = re.search(r'id="card-disputes".*?</div></div>', client.get("/").get_data(
        as_text=True), re.S).group(0)
    assert re.search(r'class="card-value">2 <span[^>]*>1 overdue', card)
    assert "waiting more than 5 days" in card


def test_the_review_queue_shows_how_old_each_contact_is(client, auth, session, people):
    factories.flags_in_use(session)
    started = utcnow() - dt.timedelta(days=3, hours=2)
    leaving = factories.create_interaction(
        session, people["agent_a"], channel="chat", started_at=started.isoformat(),
        body="Customer: please cancel my account\nAgent: of course")
    session.commit()
    auth.login("qa")
    html = client.get("/review").get_data(as_text=True)
    row = re.search(rf'<tr data-interaction="{leaving.id}".*?</tr>', html, re.S).group(0)
    assert re.search(r'class="text-nowrap age">3 days<', row)
