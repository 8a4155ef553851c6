"""An agent's and an evaluator's day in a real headless Chromium (issue 17): from the home
page's "Evaluations to acknowledge" to exactly those evaluations, a status filter with only the
states an agent sees, a critical fail that says what it zeroed; the evaluator's live score says
the same while the answers change.

The live server, browser and tab fixtures are test_browser.py's.
"""

from __future__ import annotations

import re

import factories
import pytest
import test_browser
from playwright.sync_api import expect
from test_browser import _assets_loaded

from scoring.evaluations import services as ev

pytestmark = [pytest.mark.browser]

browser = test_browser.browser
live_server = test_browser.live_server
tab = test_browser.tab

SECTION_FORM = factories.SECTION_CRITICAL_FORM
PASS = {"ident": "yes", "disclose": "yes", "greet": "yes"}
MISSED = {"ident": "no", "disclose": "yes", "greet": "yes"}


def _released(session, people, answers):
    call = factories.create_interaction(session, people["agent_a"])
    item = ev.start_evaluation(session, people["qa"], call)
    ev.submit(session, people["qa"], item.id, answers)
    return item


def test_an_agent_goes_from_the_home_card_to_exactly_what_waits_for_an_answer(
        tab, people, session):
    factories.create_form(session, SECTION_FORM)
    critical = _released(session, people, MISSED)
    plain = _released(session, people, PASS)
    answered = _released(session, people, PASS)
    ev.acknowledge(session, people["agent_a"], answered.id)
    session.commit()

    page = tab.page
    tab.login("agent.a")
    card = page.locator("#card-acknowledge")
    expect(card.locator(".card-value")).to_have_text("2")
    expect(card).to_contain_text("The soonest can be answered until the end of")
    card.get_by_role("link", name="Read and acknowledge").click()
    page.wait_for_url(re.compile(r"/evaluations\?.*status=to_acknowledge"))
    _assets_loaded(tab)
    rows = page.locator("#evaluation-list tbody tr")
    expect(rows).to_have_count(2)
    assert sorted(int(i) for i in rows.evaluate_all(
        "rs => rs.map(r => r.dataset.evaluation)")) == sorted([critical.id, plain.id])
    # the filter offers only what an agent sees, the current choice selected
    status = page.get_by_label("Status")
    assert status.locator("option").all_inner_texts() == [
        "Any status", "To acknowledge", "Released", "Acknowledged", "Disputed"]
    expect(status).to_have_value("to_acknowledge")
    status.select_option("acknowledged")
    page.get_by_role("button", name="Filter").click()
    page.wait_for_url(re.compile(r"status=acknowledged"))
    expect(rows).to_have_count(1)
    expect(rows.first).to_have_attribute("data-evaluation", str(answered.id))

    # the critical fail says what it zeroed and what the score would have been
    page.goto(f"/evaluations/{critical.id}")
    expect(page.locator("#live-reasons")).to_have_text(
        "Critical question missed: 'Verified identity?' (Compliance). The Compliance section "
        "scores 0 (it would have been 50.00); overall 50.00 instead of 75.00.")
    expect(page.locator("#live-total")).to_have_text("50.00")
    tab.assert_clean()


def test_the_evaluators_live_score_words_the_critical_fail(tab, people, session):
    factories.create_form(session, SECTION_FORM)
    call = factories.create_interaction(session, people["agent_a"])
    item = ev.start_evaluation(session, people["qa"], call)
    session.commit()
    page = tab.page
    tab.login("qa")
    page.goto(f"/evaluations/{item.id}")
    _assets_loaded(tab)
    reasons = page.locator("#live-reasons")
    expect(page.locator("#live-critical")).to_be_hidden()
    page.locator("#wrap-disclose").get_by_label("Yes").check()
    page.locator("#wrap-greet").get_by_label("Yes").check()
    page.locator("#wrap-ident").get_by_label("No").check()
    expect(reasons).to_have_text(
        "Critical question missed: 'Verified identity?' (Compliance). The Compliance section "
        "scores 0 (it would have been 50.00); overall 50.00 instead of 75.00.")
    expect(page.locator("#live-critical")).to_be_visible()
    page.locator("#wrap-ident").get_by_label("Yes").check()
    expect(page.locator("#live-critical")).to_be_hidden()
    expect(page.locator("#live-total")).to_have_text("100.00")
    tab.assert_clean()
