"""Reviewing a dispute as the reviewer does it: the call's transcript beside the audio, the
evaluator's feedback (only for those who may read it), an outcome nobody preselected, feedback
that belongs to the revision that wrote it; the agent's window to dispute, counted in the
agent's time zone; how long each open dispute has waited. All on the real database."""

from __future__ import annotations

import datetime as dt
import html as htmlmod
import re

import factories
import pytest

from qm.auth.permissions import PERMISSIONS, Role, Scope
from qm.db import utcnow
from scoring.evaluations import disputes as dispute_rules
from scoring.evaluations import services as ev
from scoring.evaluations.models import Dispute, Evaluation, EvaluationRevision

AUDIO = factories.RECORDED_AUDIO

OVERALL = "Warm opening; the disclosure is missing."
GREET_NOTE = "Greet the customer by name."
VERIFY_NOTE = "Disclosure was not read."


def disputed_call(app, session, people) -> Dispute:
    """agent.a's call, with its recording and transcript, scored by qa on the simple form with
    feedback (greet yes, verify no: a critical fail), released and disputed; committed."""
    factories.create_form(session)
    call = factories.recorded_call(app, session)
    item = ev.start_evaluation(session, people["qa"], call)
    ev.submit(session, people["qa"], item.id, {"greet": "yes", "verify": "no"},
              notes={"greet": GREET_NOTE, "verify": VERIFY_NOTE}, comment=OVERALL)
    dispute = ev.dispute(session, people["agent_a"], item.id,
                         "I read the disclosure at 0:26, please listen again.")
    session.commit()
    return dispute


def _evaluation(session, evaluation_id: int) -> Evaluation:
    session.expire_all()
    return session.get(Evaluation, evaluation_id)


def _question(html: str, key: str) -> str:
    """The first rendering of question ``key`` on a page (the current answers; the revision
    history comes after them)."""
    start = html.index(f'id="wrap-{key}"')
    end = html.find('id="wrap-', start + 1)
    return html[start:end if end != -1 else len(html)]


# --- 1. the transcript and the evaluator's feedback on the review screen ----------------------

def test_the_review_screen_has_the_transcript_and_the_evaluators_feedback(app, client, auth,
                                                                         session, people):
    dispute = disputed_call(app, session, people)
    auth.login("lead.a")
    html = client.get(f"/disputes/{dispute.id}").get_data(as_text=True)
    # the player the transcript seeks, and each line with the second it starts at
    assert re.search(r'<audio[^>]*id="player"', html)
    assert 'id="transcript"' in html
    assert re.search(r'class="qm-segment qm-customer" data-start="4.75"', html)
    assert "charged twice for my broadband" in html
    assert "qm/evaluate.js" in html  # the script that wires a click to the player
    # what the agent disputes, and what the evaluator told them
    assert "I read the disclosure at 0:26" in html
    assert re.search(r'id="evaluator-feedback">\s*' + re.escape(OVERALL), html)
    verify = _question(html, "verify")
    assert 'id="prior-note-verify"' in verify and VERIFY_NOTE in verify
    assert "revision 1, Qa" in verify
    # the feedback in force is beside the input, which holds only new feedback
    assert re.search(r'name="note-verify" value=""', verify)
    recording = client.get(f"/interactions/{dispute.evaluation.interaction_id}/recording")
    assert recording.status_code == 200 and recording.data == AUDIO.read_bytes()


def test_the_review_screen_says_what_the_critical_fail_did(app, client, auth, session, people):
    dispute = disputed_call(app, session, people)
    auth.login("lead.a")
    html = htmlmod.unescape(client.get(f"/disputes/{dispute.id}").get_data(as_text=True))
    panel = re.search(r'id="live-critical".*?</div>', html, re.S).group(0)
    # greet yes, verify (critical for the form) no: 1 of 3 points had it not been critical
    assert "Critical question missed: 'Verifies identity' (Basics)." in panel
    assert "The whole evaluation scores 0 (it would have been 33.33)." in panel
    assert "data-words" in panel  # the live score keeps saying it in words


def test_a_reviewer_who_may_not_read_comments_sees_the_call_but_no_feedback(
        app, client, auth, session, people, monkeypatch):
    dispute = disputed_call(app, session, people)
    # a site whose team leads decide disputes but do not read evaluators' comments
    table = {role: scope for role, scope in PERMISSIONS["evaluation.read_comments"].items()
             if role is not Role.TEAM_LEAD}
    assert table[Role.QA_EVALUATOR] is Scope.ALL
    monkeypatch.setitem(PERMISSIONS, "evaluation.read_comments", table)
    auth.login("lead.a")
    html = client.get(f"/disputes/{dispute.id}").get_data(as_text=True)
    assert 'id="transcript"' in html and 'data-start="8.54"' in html
    assert 'name="outcome"' in html  # still the reviewer
    for secret in (OVERALL, VERIFY_NOTE, GREET_NOTE, 'id="evaluator-feedback"',
                   'id="prior-note-'):
        assert secret not in html
    # the evaluation's own page says no more
    page = client.get(f"/evaluations/{dispute.evaluation_id}").get_data(as_text=True)
    assert VERIFY_NOTE not in page and OVERALL not in page
    auth.logout()
    auth.login("admin")  # who may read them sees them on the same page
    html = client.get(f"/disputes/{dispute.id}").get_data(as_text=True)
    assert OVERALL in html and VERIFY_NOTE in html


# --- 2. no default outcome ---------------------------------------------------------------------

def test_the_outcome_has_no_default_and_a_decision_without_one_keeps_what_was_typed(
        app, client, auth, session, people):
    dispute = disputed_call(app, session, people)
    url = f"/disputes/{dispute.id}"
    auth.login("lead.a")
    html = client.get(url).get_data(as_text=True)
    radios = re.findall(r'<input[^>]*name="outcome"[^>]*>', html)
    assert len(radios) == 2 and not any("checked" in r for r in radios)

    response = client.post_form(url, {
        "q-greet": "yes", "q-verify": "yes", "note-verify": "Read in full at 0:26.",
        "comment": "The disclosure is on the recording at 0:26.", "version": "1"})
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "Choose an outcome, upheld or adjusted." in html
    assert "Nothing was decided" in html
    assert re.search(r'name="q-verify"[^>]*value="yes" checked', html)  # the changed answer
    assert 'value="Read in full at 0:26."' in html  # the new feedback
    assert "The disclosure is on the recording at 0:26.</textarea>" in html  # the note
    assert 'id="live-total">100.00<' in html  # the score of the answers as typed
    session.expire_all()
    assert session.get(Dispute, dispute.id).status == "open"
    assert _evaluation(session, dispute.evaluation_id).revision == 1

    # A value that is no outcome is refused the same way.
    response = client.post_form(url, {"q-greet": "yes", "q-verify": "no", "outcome": "maybe",
                                       "comment": "Stands.", "version": "1"})
    assert response.status_code == 400
    assert "Choose an outcome, upheld or adjusted." in response.get_data(as_text=True)
    # chosen, it goes through
    response = client.post_form(url, {"q-greet": "yes", "q-verify": "no", "outcome": "upheld",
                                       "comment": "Stands.", "version": "1"})
    assert response.status_code == 302
    session.expire_all()
    assert session.get(Dispute, dispute.id).status == "upheld"


# --- 3. feedback belongs to the revision that wrote it -----------------------------------------

def test_a_changed_answer_shows_the_reviewers_feedback_and_the_old_one_stays_in_history(
        app, client, auth, session, people):
    dispute = disputed_call(app, session, people)
    auth.login("lead.a")
    response = client.post_form(f"/disputes/{dispute.id}", {
        "q-greet": "yes", "q-verify": "yes", "note-verify": "Read in full at 0:26.",
        "outcome": "adjusted", "comment": "The disclosure is on the recording.",
        "version": "1"})
    assert response.status_code == 302, response.get_data(as_text=True)
    item = _evaluation(session, dispute.evaluation_id)
    assert item.revision == 2
    assert item.notes == {"greet": GREET_NOTE, "verify": "Read in full at 0:26."}
    first, second = item.revisions
    assert first.notes["verify"] == VERIFY_NOTE  # history is not overwritten
    assert second.notes["verify"] == "Read in full at 0:26." and second.kind == "adjusted"
    auth.logout()

    auth.login("agent.a")
    html = client.get(f"/evaluations/{item.id}").get_data(as_text=True)
    verify = _question(html, "verify")
    assert re.search(r"<div>Yes</div>", verify)
    assert "Read in full at 0:26." in verify and "revision 2, Lead.A" in verify
    assert VERIFY_NOTE not in verify
    greet = _question(html, "greet")  # unchanged: the evaluator's feedback, as written
    assert GREET_NOTE in greet and "revision" not in greet
    history = html[html.index("Answers of revision 1"):]
    assert VERIFY_NOTE in history  # the old feedback, with the old answer


def test_a_changed_answer_without_new_feedback_loses_the_old_one(session, people, app):
    dispute = disputed_call(app, session, people)
    dispute_rules.decide(session, people["lead_a"], dispute.id, "adjusted", "Heard it.",
                         answers={"greet": "yes", "verify": "yes"},
                         notes={"greet": "Good greeting, by name."})
    session.commit()
    item = _evaluation(session, dispute.evaluation_id)
    # verify changed and got nothing new: no feedback; greet kept its answer, and its
    # feedback was replaced (optional, on any question)
    assert item.notes == {"greet": "Good greeting, by name."}
    shown = ev.feedback_history(item.revisions)
    assert {k: (f.text, f.revision) for k, f in shown[-1].items()} == {
        "greet": ("Good greeting, by name.", 2)}
    assert shown[0]["verify"].text == VERIFY_NOTE


def test_upholding_may_replace_feedback_in_the_new_revision(session, people, app):
    dispute = disputed_call(app, session, people)
    dispute_rules.decide(session, people["lead_a"], dispute.id, "upheld", "It stands.",
                         answers={"greet": "yes", "verify": "no"},
                         notes={"verify": "No disclosure anywhere in the call."})
    session.commit()
    item = _evaluation(session, dispute.evaluation_id)
    assert [r.kind for r in item.revisions] == ["submitted", "upheld"]
    assert item.answers == {"greet": "yes", "verify": "no"}
    assert item.notes["verify"] == "No disclosure anywhere in the call."
    assert item.revisions[0].notes["verify"] == VERIFY_NOTE


def test_feedback_carried_over_under_a_changed_answer_is_not_shown_under_it():
    """Revisions decided before feedback followed its answer carried the old feedback over;
    the page does not show it under the new answer (worked example, no database)."""
    def revision(number, answers, notes):
        return EvaluationRevision(number=number, answers=answers, notes=notes, author=None)

    revisions = [
        revision(1, {"greet": "yes", "verify": "no"},
                 {"greet": GREET_NOTE, "verify": VERIFY_NOTE}),
        revision(2, {"greet": "yes", "verify": "yes"},  # adjusted, old feedback carried
                 {"greet": GREET_NOTE, "verify": VERIFY_NOTE}),
        revision(3, {"greet": "yes", "verify": "yes"},  # upheld later: still not shown
                 {"greet": GREET_NOTE, "verify": VERIFY_NOTE}),
        revision(4, {"greet": "no", "verify": "yes"},  # greet changed, new feedback on it
                 {"greet": "No greeting.", "verify": VERIFY_NOTE}),
    ]
    history = ev.feedback_history(revisions)
    texts = [{k: (f.text, f.revision) for k, f in h.items()} for h in history]
    assert texts == [
        {"greet": (GREET_NOTE, 1), "verify": (VERIFY_NOTE, 1)},
        {"greet": (GREET_NOTE, 1)},
        {"greet": (GREET_NOTE, 1)},
        {"greet": ("No greeting.", 4)},
    ]
    assert history[-1]["greet"].source == "revision 4, system"


def test_revised_notes_follow_the_answers():
    before = {"greet": "yes", "verify": "no", "empathy": "3"}
    after = {"greet": "yes", "verify": "yes", "empathy": "4"}
    notes = {"greet": "a", "verify": "b", "empathy": "c"}
    assert ev.revised_notes(before, after, notes, {"empathy": "d"}) == {"greet": "a",
                                                                         "empathy": "d"}
    assert ev.revised_notes(before, before, notes, {"greet": "e"}) == {
        "greet": "e", "verify": "b", "empathy": "c"}
    # the old feedback typed again under the changed answer is still the old feedback
    assert ev.revised_notes(before, after, notes, {"verify": "b"}) == {"greet": "a"}


# --- 4. the deadline: the end of the 14th day after release, in the agent's zone ---------------

def test_the_deadline_is_the_14th_day_after_release_in_the_agents_zone(client, auth, session,
                                                                      people):
    factories.create_form(session)
    agent = people["agent_a"]
    agent.timezone = "America/New_York"
    item = ev.start_evaluation(session, people["qa"], factories.create_interaction(session, agent))
    # Released at 22:00 on 2 December in New York (already the 3rd in UTC).
    released = dt.datetime(2026, 12, 3, 3, 0, tzinfo=dt.UTC)
    ev.submit(session, people["qa"], item.id, {"greet": "yes", "verify": "yes"}, now=released)
    session.commit()
    policy = ev.Policy(dispute_window_days=14)
    assert ev.last_day_to_dispute(item, policy) == dt.date(2026, 12, 16)
    assert ev.respond_by(item, policy).isoformat() == "2026-12-17T00:00:00-05:00"

    # What the agent reads on release day: the last day itself, in their zone.
    auth.login("agent.a")
    html = client.get(f"/evaluations/{item.id}").get_data(as_text=True)
    assert "the end of 2026-12-16 (your time zone, America/New_York)" in html
    assert "2026-12-17" not in html
    auth.logout()

    new_york = dt.timezone(dt.timedelta(hours=-5))
    reason = "The greeting was there at 0:02."
    with pytest.raises(ev.Conflict, match="14-day window .* closed at the end of 2026-12-16"):
        ev.dispute(session, agent, item.id, reason, policy=policy,
                   now=dt.datetime(2026, 12, 17, 0, 0, tzinfo=new_york))  # the 15th day
    assert _evaluation(session, item.id).status == "released"
    agent = session.get(type(agent), agent.id)
    ev.dispute(session, agent, item.id, reason, policy=policy,
               now=dt.datetime(2026, 12, 16, 23, 59, tzinfo=new_york))  # the 14th, 23:59
    session.commit()
    assert _evaluation(session, item.id).status == "disputed"


def test_the_dispute_form_goes_once_the_window_has_closed(client, auth, session, people):
    factories.create_form(session)
    item = ev.start_evaluation(session, people["qa"],
                               factories.create_interaction(session, people["agent_a"]))
    long_ago = utcnow() - dt.timedelta(days=30)
    ev.submit(session, people["qa"], item.id, {"greet": "yes", "verify": "yes"}, now=long_ago)
    session.commit()
    auth.login("agent.a")
    html = client.get(f"/evaluations/{item.id}").get_data(as_text=True)
    last_day = (long_ago + dt.timedelta(days=14)).date().isoformat()
    assert f"The window to dispute closed at the end of {last_day}" in html
    assert "Acknowledge" in html and 'name="reason"' not in html
    refused = client.post_form(f"/evaluations/{item.id}/dispute",
                               {"reason": "The greeting was there at 0:02."})
    assert refused.status_code == 409
    html = refused.get_data(as_text=True)
    assert f"closed at the end of {last_day}" in html
    assert "The greeting was there at 0:02." in html  # what was typed stays


# --- 5. how long open disputes have waited ------------------------------------------------------

def test_the_disputes_list_shows_each_open_disputes_age_and_marks_the_overdue(
        app, client, auth, session, people):
    factories.create_form(session)
    old = factories.create_dispute(session, people["qa"],
                                   factories.create_interaction(session, people["agent_a"]))
    new = factories.create_dispute(session, people["qa"],
                                   factories.create_interaction(session, people["agent_a2"]))
    now = utcnow()
    old.raised_at = now - dt.timedelta(days=63, hours=5)
    new.raised_at = now - dt.timedelta(days=1, hours=1)
    session.commit()
    auth.login("lead.a")
    html = client.get("/disputes").get_data(as_text=True)
    assert "The review target is 5 day(s)" in html
    old_row = re.search(rf'id="dispute-{old.id}".*?</tr>', html, re.S).group(0)
    new_row = re.search(rf'id="dispute-{new.id}".*?</tr>', html, re.S).group(0)
    assert re.search(r"open\s*<span[^>]*>63 days</span>", old_row) and "overdue" in old_row
    assert "1 day</span>" in new_row and "overdue" not in new_row
    # the site's target is a setting
    app.extensions["qm"]["settings"].dispute_review_days = 70
    html = client.get("/disputes").get_data(as_text=True)
    assert "overdue</span>" not in html and "The review target is 70 day(s)" in html


def test_an_open_dispute_is_overdue_from_the_day_after_the_target():
    raised = dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.UTC)
    item = Dispute(raised_at=raised, status="open")
    on_target = dispute_rules.waiting(item, 5, raised + dt.timedelta(days=5, hours=23))
    assert (on_target.age_days, on_target.overdue) == (5, False)
    late = dispute_rules.waiting(item, 5, raised + dt.timedelta(days=6))
    assert (late.age_days, late.overdue) == (6, True)
    decided = dispute_rules.waiting(Dispute(raised_at=raised, status="upheld"), 5,
                                    raised + dt.timedelta(days=60))
    assert (decided.age_days, decided.overdue) == (None, False)
