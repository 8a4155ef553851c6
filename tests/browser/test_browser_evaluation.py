"""The scoring screen in a real headless Chromium: conditional questions appear as answers
change, the live score comes from the server's scoring function under the CSP, and a submit
lands once; the agent then acknowledges in the browser.

The live server, browser and tab fixtures are test_browser.py's.
"""

from __future__ import annotations

import re

import factories
import pytest
import test_browser
from playwright.sync_api import expect
from sqlalchemy import select
from test_browser import _assets_loaded

from scoring.evaluations import services as ev
from scoring.evaluations.models import Evaluation

pytestmark = [pytest.mark.browser]

browser = test_browser.browser
live_server = test_browser.live_server
tab = test_browser.tab


def test_an_evaluator_scores_with_a_live_score_and_the_agent_acknowledges(tab, people,
                                                                          session):
    factories.create_form(session, factories.WORKFLOW_FORM)
    contact = factories.create_interaction(session, people["agent_a"], channel="chat",
                                           body="Customer: my bill is wrong\nAgent: sorry!")
    item = ev.start_evaluation(session, people["qa"], contact)
    session.commit()
    page = tab.page
    tab.login("qa")
    tab.nav_link("Evaluations").click()
    page.get_by_role("link", name=str(item.id), exact=True).click()
    page.wait_for_url(re.compile(rf"/evaluations/{item.id}$"))
    _assets_loaded(tab)
    assert "my bill is wrong" in page.locator(".qm-transcript").inner_text()

    sorry = page.locator("#wrap-sorry")
    assert sorry.is_hidden()  # shown only for complaints
    page.get_by_label("complaint").check()
    sorry.wait_for(state="visible")

    page.locator("#q-greet-1").check()   # yes
    page.locator("#q-verify-1").check()  # yes
    page.locator("#q-empathy-3").check()  # 3 of 1..5: half the points
    page.locator("#q-sorry-2").check()  # no
    live = page.locator("#live-total")
    # Opening 100; care: empathy 2/4 + sorry 0/1 = 40.00; the mean of the two: 70.00.
    expect(live).to_have_text("70.00")
    page.locator("#q-verify-2").check()  # no: critical for the whole form
    page.locator("#live-critical").wait_for(state="visible")
    expect(live).to_have_text("0.00")

    page.locator("#q-verify-1").check()
    page.get_by_label("Overall feedback to the agent").fill("Warm and clear.")
    page.keyboard.press("Control+s")  # the keyboard saves a draft; the page comes back
    expect(page.locator(".alert-success")).to_have_text("Draft saved.")
    expect(live).to_have_text("70.00")
    assert page.locator("#q-sorry-2").is_checked()
    assert page.get_by_label("Overall feedback to the agent").input_value() == "Warm and clear."
    page.locator("#submit-evaluation").dblclick()  # a double click posts once
    page.wait_for_url(re.compile(r"/evaluations$"))
    assert "Evaluation submitted and released" in page.locator(".alert-success").inner_text()
    tab.assert_clean()
    session.expire_all()
    saved = session.scalar(select(Evaluation).where(Evaluation.id == item.id))
    assert (saved.status, str(saved.score), saved.revision) == ("released", "70.00", 1)

    page.context.clear_cookies()
    tab.login("agent.a")
    page.goto(f"/evaluations/{item.id}")
    assert "Warm and clear." in page.content()
    page.get_by_label("Comment (optional)").fill("Thanks, noted.")
    page.get_by_role("button", name="Acknowledge").click()
    page.wait_for_url(re.compile(rf"/evaluations/{item.id}$"))
    assert "acknowledged" in page.locator(".alert-success").inner_text()
    tab.nav_link("My scorecard").click()
    assert page.locator("#scorecard-n").inner_text() == "1"
    tab.assert_clean()
